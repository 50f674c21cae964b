//! chatwire: one client core that keeps a chat app connected to an AI-agent backend and hands it
//! a clean, deduplicated, ordered stream of typed events.
//!
//! The crate is organised around a sans-IO engine: nothing in the engine modules reads a clock,
//! touches a socket or draws from a global RNG. Time and randomness are inputs, so every run can be
//! replayed exactly. Drivers (tokio, browser, mobile hosts) only move bytes and arm timers.

pub mod backoff;
pub mod config;
pub mod dialect;
pub mod engine;
pub mod error;
pub mod event;
pub mod ids;
pub mod io;
pub mod sse;
pub mod state;
pub mod time;

pub use config::{Config, OverflowPolicy};
pub use engine::Engine;
pub use error::{ConfigError, DialectError, EngineError};
pub use event::{Envelope, Event};
pub use ids::{ClientId, ConnId, Cursor, DedupKey, RequestId};
pub use io::{CloseReason, Command, Frame, HttpRequest, Input, Method, Output};
pub use state::ConnectionState;
pub use time::Instant;

/// The crate version, as compiled (`CARGO_PKG_VERSION`).
///
/// ```
/// assert!(!chatwire::version().is_empty());
/// ```
pub fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}
