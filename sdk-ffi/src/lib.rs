//! chatwire for Kotlin, Swift and Python (uniffi proc-macros) and for C (`c_api`).
//!
//! Both surfaces are thin: they validate what a foreign caller hands over, call into the core
//! crate `chatwire`, and turn failures into [`ChatError`] (uniffi) or a `cw_status` code (C). The
//! shared validation lives in [`backoff`], so a value rejected in Kotlin is rejected in C too.
//!
//! `unsafe_code` is denied workspace-wide and allowed only in [`c_api`]. The uniffi scaffolding
//! (`#[unsafe(no_mangle)] extern "C"` functions expanded from `setup_scaffolding!` and
//! `#[uniffi::export]`) needs no allow: rustc does not report that lint inside the expansion of an
//! external proc-macro.

uniffi::setup_scaffolding!();

pub mod backoff;
pub mod c_api;
mod error;

pub use backoff::{BackoffSchedule, RetryContext, backoff_delay_ms};
pub use error::ChatError;

/// The version of the chatwire core this library was built from.
///
/// ```
/// assert_eq!(chatwire_ffi::version(), chatwire::version());
/// ```
#[uniffi::export]
pub fn version() -> String {
    chatwire::version().to_owned()
}
