//! chatwire: one client core that keeps a chat app connected to an AI-agent backend and hands it
//! a clean, deduplicated, ordered stream of typed events.
//!
//! The crate is organised around a sans-IO [`Engine`]: nothing in the engine modules reads a
//! clock, touches a socket or draws from a global RNG. Time and randomness are inputs, so every run
//! can be replayed exactly. Drivers (tokio, browser, mobile hosts) only move bytes and arm timers;
//! a [`dialect::Dialect`] supplies each backend's wire protocol.
//!
//! # The driving contract
//!
//! 1. Call [`Engine::handle`] (or a command shorthand such as [`Engine::send`]) with the current
//!    monotonic time and one [`Input`]: a command, a transport report, or [`Input::Timeout`].
//! 2. Then drain [`Engine::poll_output`] until it returns `None`, performing each [`Output`]:
//!    open/send/close sockets, run HTTP requests, deliver [`Output::Event`]s to the app.
//! 3. Then sleep until [`Engine::poll_timeout`] (or until a transport report or a command
//!    arrives) and call `handle(now, Input::Timeout)` when it passes. `None` means no timer.
//!
//! Misuse is a typed [`EngineError`]: a `now` earlier than a previous one, a command after
//! `close`, an oversized message. Reports about transport handles the engine already closed are
//! ignored, because they are normal (a frame racing a close).
//!
//! ```
//! use chatwire::dialect::native::{NativeConfig, NativeDialect};
//! use chatwire::event::{DeliveryStatus, Event};
//! use chatwire::{Config, ConnectionState, Engine, EngineError, Frame, Input, Instant, Output};
//! use std::time::Duration;
//!
//! let dialect = NativeDialect::new(NativeConfig::new("http://localhost:8080", "c-1"));
//! let mut engine = Engine::new(Config::default(), Box::new(dialect)).unwrap();
//! let mut now = Instant::ZERO;
//!
//! // Drain outputs the way a driver would; here we only record them.
//! fn drain(engine: &mut Engine, sent: &mut Vec<String>, events: &mut Vec<Event>) -> Option<chatwire::ConnId> {
//!     let mut opened = None;
//!     while let Some(output) = engine.poll_output() {
//!         match output {
//!             Output::OpenSocket { conn, .. } => opened = Some(conn),
//!             Output::SendText { text, .. } => sent.push(text),
//!             Output::Event(envelope) => events.push(envelope.event),
//!             _ => {}
//!         }
//!     }
//!     opened
//! }
//! let (mut sent, mut events) = (Vec::new(), Vec::new());
//!
//! // Lazy connect: the first send opens the socket.
//! let id = engine.send(now, "hello").unwrap();
//! let conn = drain(&mut engine, &mut sent, &mut events).expect("socket requested");
//! assert_eq!(engine.state(), ConnectionState::Connecting);
//!
//! // The driver reports the socket open; the dialect says hello; the server welcomes us.
//! now = now + Duration::from_millis(20);
//! engine.handle(now, Input::SocketOpened { conn }).unwrap();
//! let welcome = r#"{"type":"welcome","conversation_id":"c-1","last_seq":0,"resumed":true}"#;
//! engine.handle(now, Input::SocketFrame { conn, frame: Frame::Text(welcome.into()) }).unwrap();
//! drain(&mut engine, &mut sent, &mut events);
//! assert_eq!(engine.state(), ConnectionState::Ready);
//! assert!(sent[0].contains("\"hello\"") && sent[1].contains("\"send\""));
//!
//! // The server acks the message by its client id.
//! let ack = format!(r#"{{"type":"ack","client_id":"{id}","message_id":"m-1"}}"#);
//! engine.handle(now, Input::SocketFrame { conn, frame: Frame::Text(ack) }).unwrap();
//! drain(&mut engine, &mut sent, &mut events);
//! let statuses: Vec<_> = events.iter().filter_map(|e| match e {
//!     Event::MessageStatus { status, .. } => Some(status.clone()),
//!     _ => None,
//! }).collect();
//! assert_eq!(statuses, [DeliveryStatus::Queued, DeliveryStatus::Sent, DeliveryStatus::Acked]);
//!
//! // The next timer is the idle ping; time never goes backwards.
//! assert_eq!(engine.poll_timeout(), Some(now + Duration::from_secs(30)));
//! assert!(matches!(
//!     engine.handle(Instant::ZERO, Input::Timeout),
//!     Err(EngineError::TimeWentBackwards { .. })
//! ));
//! engine.close(now).unwrap();
//! assert_eq!(engine.send(now, "late"), Err(EngineError::Closed));
//! ```

pub mod backoff;
#[cfg(feature = "tokio")]
pub mod client;
pub mod config;
pub mod dialect;
#[cfg(feature = "tokio")]
pub mod driver;
pub mod engine;
pub mod error;
pub mod error_code;
pub mod event;
pub mod ids;
pub mod io;
pub mod options;
// A build with some dialects uses only part of it.
#[cfg_attr(not(feature = "all-dialects"), allow(dead_code))]
pub(crate) mod seqmap;
pub mod session;
pub mod sse;
pub mod state;
pub mod time;
#[cfg(feature = "uniffi")]
pub mod uniffi_types;

// The uniffi namespace of the event model (feature `uniffi`; see `uniffi_types`). It must sit at
// the crate root: the derives refer to `crate::UniFfiTag`.
#[cfg(feature = "uniffi")]
uniffi::setup_scaffolding!("chatwire_core");

#[cfg(feature = "tokio")]
pub use client::Client;
pub use config::{Config, OverflowPolicy};
pub use dialect::{DialectKind, UnknownDialect};
pub use engine::Engine;
pub use error::{BuildError, ConfigError, DialectError, EngineError};
pub use error_code::ErrorCode;
pub use event::{Envelope, Event};
pub use ids::{ClientId, ConnId, Cursor, DedupKey, RequestId};
pub use io::{CloseReason, Command, Frame, FrameRef, HttpRequest, Input, Method, Output};
pub use options::ClientOptions;
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
