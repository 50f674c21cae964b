//! Backend dialects: stateful codecs between the engine's commands and a backend's wire frames.
//!
//! A dialect does no IO and reads no clock. The engine drives it through the [`Dialect`] trait and
//! the dialect answers by writing [`Action`]s into an [`Actions`] collector: transport operations
//! (open/send/close a WebSocket, HTTP requests, plain or streamed), decoded events with their dedup
//! key and cursor, acks for client ids, readiness and failures. The engine owns everything that is
//! the same for all backends — connection states, timeouts, backoff, the outbound queue, dedup,
//! turn tracking, text assembly, SSE parsing — so a dialect stays a few hundred lines of mapping.
//!
//! # Life of a connection
//!
//! 1. The engine calls [`Dialect::connect`] with the attempt number and the resume cursor. The
//!    dialect starts its plan: e.g. `GET /healthz` ([`Actions::http`]), or opens the socket
//!    ([`Actions::open_socket`]). Handles are allocated by `Actions` and unique in the engine.
//! 2. Every transport report for a handle the engine still tracks comes back through
//!    [`Dialect::on_transport`] ([`TransportEvent`]). The dialect continues its plan (create the
//!    chat when the health check answered 200, open the socket with the chat id, send `join`),
//!    and eventually calls [`Actions::ready`]. Opening a socket moves the state to `Connected`
//!    automatically; request-only dialects call [`Actions::connected`] themselves.
//! 3. While ready, the engine calls [`Dialect::encode`] for messages (client id = idempotency
//!    key), typing, cancel and pings. Inbound frames, responses and server-sent events are decoded
//!    into [`Decoded`] events ([`Actions::emit`]), acks ([`Actions::ack`]) and refusals.
//! 4. When the dialect sees the connection break (socket closed, stream ended, 5xx, error frame,
//!    restart notice) it calls [`Actions::fail`] with a classified [`Failure`]. The engine also
//!    fails the connection itself on connect/ready/pong/idle timeouts. Either way the engine
//!    calls [`Dialect::disconnect`], closes every handle still open, computes the backoff from
//!    [`Dialect::classify`] and later calls `connect` again with the latest cursor.
//!
//! Transports: WebSocket ([`Actions::open_socket`], [`Actions::send_text`]); one-shot HTTP
//! (REST calls, long-polls: a 504 "nothing new" is just another response, re-issue the poll);
//! streamed HTTP ([`HttpSpec::sse`]: the engine runs [`crate::sse::Parser`] and hands over
//! [`TransportEvent::SseEvent`]s; [`HttpSpec::streaming`] hands over raw chunks).
//!
//! # Example: a minimal WebSocket dialect
//!
//! ```
//! use chatwire::dialect::*;
//! use chatwire::event::{Event, TextChannel};
//! use chatwire::{ConnId, DedupKey, Cursor, DialectError};
//!
//! /// Wire: client sends `{"send":"<client id>","text":"..."}`; server sends
//! /// `ready`, `ack <client id>` and `<seq> <text>` lines.
//! #[derive(Default)]
//! struct Lines { conn: Option<ConnId> }
//!
//! impl Dialect for Lines {
//!     fn name(&self) -> &'static str { "lines" }
//!     fn capabilities(&self) -> Capabilities {
//!         let mut c = Capabilities::none();
//!         c.acks = true;
//!         c.resume = true;
//!         c
//!     }
//!     fn connect(&mut self, cx: &ConnectContext<'_>, out: &mut Actions) {
//!         let since = cx.resume.map(|c| c.as_str()).unwrap_or("0");
//!         self.conn = Some(out.open_socket(format!("ws://x.test/lines?since={since}"), vec![]));
//!     }
//!     fn on_transport(&mut self, ev: TransportEvent<'_>, out: &mut Actions) {
//!         match ev {
//!             TransportEvent::SocketText { text: "ready", .. } => out.ready(),
//!             TransportEvent::SocketText { text, .. } => {
//!                 if let Some(id) = text.strip_prefix("ack ") {
//!                     if let Ok(id) = id.parse() { out.ack(id, None) }
//!                 } else if let Some((seq, body)) = text.split_once(' ') {
//!                     let Ok(seq) = seq.parse::<u64>() else {
//!                         return out.fail(Failure::protocol("bad line"));
//!                     };
//!                     out.emit(Decoded::new(Event::Message {
//!                             role: chatwire::event::Role::Assistant,
//!                             content: body.to_string(),
//!                             metadata: None,
//!                         })
//!                         .dedup(DedupKey::Seq(seq))
//!                         .cursor(Cursor::new(seq.to_string())));
//!                 }
//!             }
//!             TransportEvent::SocketClosed { reason, .. } => {
//!                 out.fail(Failure::network(reason.reason.clone()))
//!             }
//!             _ => {}
//!         }
//!     }
//!     fn encode(&mut self, cmd: Outbound<'_>, out: &mut Actions) -> Result<(), DialectError> {
//!         let conn = self.conn.ok_or(DialectError::NotConnected)?;
//!         match cmd {
//!             Outbound::Message { client_id, text, .. } => {
//!                 let frame = serde_json::json!({"send": client_id, "text": text});
//!                 out.send_text(conn, frame.to_string());
//!                 Ok(())
//!             }
//!             _ => Err(DialectError::Unsupported("only messages")),
//!         }
//!     }
//!     fn disconnect(&mut self, _reason: Disconnect, _out: &mut Actions) { self.conn = None; }
//! }
//!
//! // Dialects are unit-tested without an engine:
//! let mut d = Lines::default();
//! let mut out = Actions::new(1);
//! d.connect(&ConnectContext::new(1, None), &mut out);
//! d.on_transport(TransportEvent::SocketText { conn: ConnId(1), text: "ready" }, &mut out);
//! d.on_transport(TransportEvent::SocketText { conn: ConnId(1), text: "5 hello" }, &mut out);
//! let actions = out.take();
//! assert!(matches!(&actions[0], Action::OpenSocket { url, .. } if url.ends_with("since=0")));
//! assert_eq!(actions[1], Action::Ready);
//! assert!(matches!(&actions[2], Action::Emit(d) if d.dedup == Some(DedupKey::Seq(5))));
//! # let _ = TextChannel::Text;
//! ```

mod actions;
mod failure;
mod sink;

pub use actions::{
    Capabilities, ConnectContext, Decoded, HttpSpec, Liveness, Outbound, ResponseKind,
    TransportEvent,
};
pub use failure::{
    Failure, FailureKind, RetryAfter, RetryHint, parse_retry_after, retry_after,
    retry_after_header, retry_after_wait,
};
pub use sink::{Action, Actions};

use crate::error::DialectError;

// Dialect modules (one line each), each behind its cargo feature `dialect-<name>` (all in
// `default`; the registry refuses a dialect whose feature is off with `UNSUPPORTED`).
#[cfg(feature = "dialect-ai-sdk")]
pub mod ai_sdk;
#[cfg(feature = "dialect-chat-interfaces")]
pub mod chat_interfaces;
#[cfg(feature = "dialect-chat-v2")]
pub mod chat_v2;
mod codec_kit;
#[cfg(feature = "dialect-miptech")]
pub mod miptech;
#[cfg(feature = "dialect-native")]
pub mod native;
#[cfg(feature = "dialect-openai")]
pub mod openai;
#[cfg(feature = "dialect-parlant")]
pub mod parlant;
mod registry;
mod socket;

pub use registry::{DialectKind, Params, UnknownDialect};
pub use socket::SocketNeeds;

/// Why the engine ends a connection (passed to [`Dialect::disconnect`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Disconnect {
    /// The connection failed or is being replaced; `connect` follows later.
    Reconnecting,
    /// The app closed the client (or the engine gave up). No `connect` follows unless
    /// `reconnect_now` is called after a give-up.
    Closed,
}

/// A backend protocol as a stateful, IO-free codec. See the [module docs](self) for the life of a
/// connection and a complete example.
///
/// Implementations keep per-connection state (socket handle, chat id, session token, cursor of
/// the current stream) and forget the connection-scoped part in [`Dialect::disconnect`]. They
/// must never panic on server input: malformed data becomes an `Event::Error{kind: Protocol}`
/// (emit it) and, if the connection cannot continue, an [`Actions::fail`].
pub trait Dialect: Send + 'static {
    /// Short lowercase name (`native`, `miptech`, ...), used in errors and logs.
    fn name(&self) -> &'static str;

    /// What the backend supports. Must not change over the dialect's life.
    fn capabilities(&self) -> Capabilities;

    /// Starts a connection attempt: issue the first step of the connection plan. `cx.resume` is
    /// the latest cursor delivered to the app; dialects that can resume put it in the handshake
    /// (native `since_seq`, SSE `Last-Event-ID`, Parlant `min_offset`) and report
    /// [`Actions::discontinuity`] if the backend cannot fill the gap.
    fn connect(&mut self, cx: &ConnectContext<'_>, out: &mut Actions);

    /// A transport report for one of the dialect's live handles: continue the connection plan,
    /// decode inbound data, detect failures.
    fn on_transport(&mut self, event: TransportEvent<'_>, out: &mut Actions);

    /// Encodes an outbound command. Only called while `Ready` (the engine queues otherwise) and
    /// only for commands the capabilities allow. `Ok` means the command was handed to the
    /// transport (a message becomes `Sent`); an error makes a message `Failed{Invalid}`.
    fn encode(&mut self, command: Outbound<'_>, out: &mut Actions) -> Result<(), DialectError>;

    /// Maps a failure to a retry decision. The default follows [`Failure::default_hint`]
    /// (auth and fatal: give up; rate limit, restart, initializing, network: their backoff
    /// contexts; server hints kept).
    fn classify(&self, failure: &Failure) -> RetryHint {
        failure.default_hint()
    }

    /// The connection ends. Drop connection-scoped state; optionally send a last frame (e.g.
    /// `leave_chat`) on a socket that is still open. The engine closes all remaining handles
    /// afterwards. The default does nothing.
    fn disconnect(&mut self, reason: Disconnect, out: &mut Actions) {
        let _ = (reason, out);
    }

    /// The app's token provider handed out `token` (the session calls this before each
    /// connection attempt once a token exists). Dialects whose backend also reads the bearer
    /// token outside the `Authorization` header (a first frame, a query parameter) put it there
    /// from the next connection on, so it reaches the backend where a platform cannot set
    /// upgrade headers (a browser WebSocket). The default does nothing: the session already
    /// sets the header on every socket and request.
    fn set_token(&mut self, token: &str) {
        let _ = token;
    }
}

impl<'a> ConnectContext<'a> {
    /// A context for tests and tools: `attempt`, optional resume cursor, not a reconnection,
    /// wall clock 0.
    pub fn new(attempt: u32, resume: Option<&'a crate::ids::Cursor>) -> ConnectContext<'a> {
        ConnectContext {
            attempt,
            reconnect: false,
            resume,
            unix_ms: 0,
        }
    }
}
