//! chatwire-mock: a backend that speaks every chatwire dialect on one port, runs a deterministic
//! scripted agent, injects seeded faults and records what clients sent.
//!
//! Use it in-process with [`spawn`] or as the `chatwire-mock` binary. Defaults need no
//! configuration: any miptech tenant (e.g. `demo-tenant`), chat-interfaces slug (e.g. `demo`),
//! Parlant agent (default `demo-agent`), OpenAI model (e.g. `mock-gpt`), chat-v2 session, AI SDK
//! chat id and native conversation works; API keys and bearer tokens are checked only when configured.
//!
//! | dialect | routes | details |
//! |---|---|---|
//! | `native` | WS `/native/v1/ws` | [`native`] |
//! | `openai` | `POST /v1/chat/completions`, `GET /v1/models` | [`openai`] |
//! | `miptech` | `GET /healthz`, `POST /api/v1/chat`, `POST /api/v1/chat/{id}/messages`, WS `/api/v1/ws/chat` | [`miptech`] |
//! | `chat-v2` | WS `/v2/chat/{session_id}`, `POST /v2/chat` | [`chat_v2`] |
//! | `chat-interfaces` | `/api/public/chat-interfaces/{slug}/...` (sessions, messages, stream, history, upload) | [`chat_interfaces`] |
//! | `parlant` | `/sessions`, `/sessions/{id}/events`, `/agents` | [`parlant`] |
//! | `ai-sdk` | `POST /api/chat`, `GET /api/chat/{chat_id}/stream` | [`ai_sdk`] |
//! | control | `/_mock/faults`, `/_mock/restart`, `/_mock/received`, `/_mock/reset` | [`control`] |
//!
//! Each dialect module documents its exact routes, JSON fields and event names; the scripted
//! agent is described in [`agent`] and fault injection in [`faults`].
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), chatwire_mock::MockError> {
//! use chatwire_mock::{FaultSpec, MockConfig};
//!
//! let server = chatwire_mock::spawn(MockConfig::default().seed(7)).await?;
//! server.set_faults(FaultSpec { drop_after_frames: Some(5), once: Some(true), ..FaultSpec::default() })?;
//! println!("mock at {}", server.base_url());
//! assert!(server.received().is_empty());
//! server.shutdown().await;
//! # Ok(())
//! # }
//! ```

pub mod agent;
pub mod ai_sdk;
pub mod chat_interfaces;
pub mod chat_v2;
mod config;
mod conn;
pub mod control;
mod conv;
mod cors;
mod dialect;
pub mod faults;
mod hub;
pub mod miptech;
pub mod native;
pub mod openai;
mod outlet;
pub mod parlant;
mod restart;
mod server;
mod util;

pub use config::MockConfig;
pub use dialect::Dialect;
pub use faults::{FaultSpec, HttpErrorSpec};
pub use hub::Received;
pub use server::{MockServer, spawn};

/// Errors starting or configuring a mock server.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MockError {
    /// The address could not be bound.
    #[error("cannot bind: {0}")]
    Bind(#[source] std::io::Error),
    /// A fault spec was rejected (unknown dialect, value out of range).
    #[error("invalid fault spec: {0}")]
    InvalidFaults(String),
    /// A scenario file could not be read or parsed.
    #[error("invalid scenario: {0}")]
    Scenario(String),
}
