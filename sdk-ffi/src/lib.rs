//! chatwire for Kotlin, Swift and Python (uniffi proc-macros) and for C (`c_api`).
//!
//! Both surfaces are thin: they validate what a foreign caller hands over, call into the core
//! crate `chatwire`, and turn failures into [`ChatError`] (uniffi) or a `cw_status` code (C), both
//! one to one with the core's `ErrorCode` table. The client ([`ChatClient`]) runs on one tokio
//! runtime the library owns; events are pulled ([`EventSubscription`]) first of all; pushing them
//! to a foreign [`EventListener`] or a C callback is a convenience that runs on a thread of its
//! own, never on a runtime thread. Both surfaces share the client code and the validation, so a value rejected
//! in Kotlin is rejected in C too.
//!
//! `unsafe_code` is denied workspace-wide and allowed only in [`c_api`]. The uniffi scaffolding
//! (`#[unsafe(no_mangle)] extern "C"` functions expanded from `setup_scaffolding!` and
//! `#[uniffi::export]`) needs no allow: rustc does not report that lint inside the expansion of an
//! external proc-macro.

uniffi::setup_scaffolding!();

pub mod backoff;
pub mod c_api;
mod client;
mod error;
mod listener;
mod statuses;
mod subscription;
mod types;

pub use backoff::{BackoffSchedule, RetryContext, backoff_delay_ms};
pub use client::{ChatClient, DEFAULT_TOKEN_TIMEOUT_MS, TokenError, TokenProvider};
pub use error::ChatError;
pub use listener::{EventListener, ListenerHandle};
pub use statuses::StatusSubscription;
pub use subscription::{EventSubscription, Receipt, StateSubscription};
pub use types::{
    AgentStatus, Capabilities, ClientStats, ConnectionState, DeliveryStatus, Envelope, ErrorKind,
    Event, FailReason, Role, TextChannel, TextUpdate, TurnError, TurnErrorCode, Usage,
};

/// The version of the chatwire core this library was built from.
///
/// ```
/// assert_eq!(chatwire_ffi::version(), chatwire::version());
/// ```
#[uniffi::export]
pub fn version() -> String {
    chatwire::version().to_owned()
}
