//! Shared helpers for chatwire's cross-crate test suites (the suites live in `tests/tests/`):
//! spawning `chatwire-mock`, building a [`Client`] for any dialect with test-friendly timings,
//! recording the event stream with a hang guard, and the checks every suite makes on both sides
//! of the wire — assembled text, one terminal event per turn and per tool call, no event twice,
//! each client message recorded once by the server.
//!
//! Waiting is always for a condition (an event, a state, a receipt), with [`HANG_GUARD`] as an
//! overall limit that only turns a hang into a readable failure; nothing here sleeps to assert.

#![allow(clippy::unwrap_used, clippy::missing_panics_doc)] // test support: panics are the point

mod checks;
pub mod raw_chat_interfaces;
pub mod raw_chat_v2;
pub mod raw_hostile;
pub mod raw_http;
pub mod raw_miptech;
pub mod raw_parlant;
pub mod raw_server;
pub mod raw_ws;
mod session;

pub use checks::*;
pub use session::Session;

use chatwire::backoff::BackoffPolicy;
use chatwire::client::ClientBuilder;
use chatwire::{Client, DialectKind};
use chatwire_mock::{FaultSpec, MockConfig, MockServer};
use std::time::Duration;

pub use chatwire;
pub use chatwire_mock;

/// Overall limit of any single wait: generous, only there to turn a hang into a failure.
pub const HANG_GUARD: Duration = Duration::from_secs(30);

/// Backoff for tests: the engine's schedule and floors, scaled down to tens of milliseconds.
pub fn fast_backoff() -> BackoffPolicy {
    BackoffPolicy {
        base: Duration::from_millis(20),
        cap: Duration::from_millis(500),
        restart_max: Duration::from_millis(100),
        rate_limit_min: Duration::from_millis(50),
        initializing_min: Duration::from_millis(50),
        network_min: Duration::from_millis(30),
        ..BackoffPolicy::default()
    }
}

/// A mock server with the default scripted agent, seeded.
pub async fn spawn_mock(seed: u64) -> MockServer {
    spawn_mock_with(MockConfig::default().seed(seed)).await
}

/// A mock server with `config`.
pub async fn spawn_mock_with(config: MockConfig) -> MockServer {
    chatwire_mock::spawn(config).await.unwrap()
}

/// A builder for `kind` against `mock`, seeded, with [`fast_backoff`]. Every dialect param keeps
/// its default (each one `chatwire-mock` accepts).
pub fn builder(kind: DialectKind, mock: &MockServer, seed: u64) -> ClientBuilder {
    Client::builder(kind, mock.base_url())
        .seed(seed)
        .backoff(fast_backoff())
}

/// Whether the dialect resumes a cut stream (no `Discontinuity` expected after a reconnect).
pub fn resumes(client: &Client) -> bool {
    client.capabilities().resume
}

/// A client of `kind` against a mock with `spec` installed, after `hello` and `again` were
/// each answered.
pub async fn two_exchanges(kind: DialectKind, spec: FaultSpec, seed: u64) -> (Session, MockServer) {
    let mock = spawn_mock(seed).await;
    mock.set_faults(spec).unwrap();
    let mut s = Session::start(builder(kind, &mock, seed));
    s.exchange("hello").await;
    s.exchange("again").await;
    (s, mock)
}

/// The dialect named like a test function (`chat_v2` -> `chat-v2`).
pub fn dialect(name: &str) -> DialectKind {
    name.parse().unwrap()
}

/// Generates, in a module named after `case`, one `#[tokio::test]` per dialect (all six, or
/// the ones listed after a colon), each calling `case(kind).await`.
#[macro_export]
macro_rules! per_dialect {
    ($case:ident) => {
        $crate::per_dialect!($case: native, miptech, chat_v2, chat_interfaces, parlant, openai);
    };
    ($case:ident: $($d:ident),+ $(,)?) => {
        mod $case {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $d() {
                    super::$case($crate::dialect(stringify!($d))).await
                }
            )+
        }
    };
}
