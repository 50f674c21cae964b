//! The `native` dialect: chatwire's own WebSocket protocol, the reference for what the guarantees
//! look like when the server cooperates (sequence numbers, acks by client id, resume).
//!
//! # Wire format (version 1)
//!
//! Transport: one WebSocket at `GET {base}/native/v1/ws` (`http` -> `ws`, `https` -> `wss`).
//! Every frame is a UTF-8 **text** frame holding one JSON object with a string field `type`.
//! Unknown fields are ignored by both sides; unknown `type`s from the server are surfaced to the
//! app as `Unknown` events. Binary frames are a protocol error. Frames are at most 1 MiB.
//!
//! ## Handshake
//!
//! The client speaks first, once per connection:
//!
//! ```json
//! {"type":"hello","conversation_id":"c-42","since_seq":17,"token":"optional bearer token"}
//! ```
//!
//! - `conversation_id` (string, required): the server creates the conversation on first use.
//! - `since_seq` (integer >= 0, optional, default 0): the highest `seq` the client has already
//!   processed. The server replays every retained event with `seq > since_seq`, in order, right
//!   after `welcome`.
//! - `token` (string, optional): checked only when the server is configured with one. The same
//!   token may instead arrive as an `Authorization: Bearer` header on the upgrade request.
//!
//! The server answers with exactly one `welcome` (or an `error` followed by a close):
//!
//! ```json
//! {"type":"welcome","conversation_id":"c-42","last_seq":23,"resumed":true,"heartbeat_ms":30000}
//! ```
//!
//! - `last_seq`: the highest `seq` assigned in this conversation so far (0 when none).
//! - `resumed`: `true` when every event after `since_seq` is still retained and will be replayed;
//!   `false` when some were evicted (the server keeps at least the last 1000 events per
//!   conversation). On `false` the server replays what it still has and the client reports one
//!   `Discontinuity` to the app.
//! - `heartbeat_ms`: how often the server pings; the client may ping on its own schedule too.
//!
//! A client must not send anything but `hello` before `welcome`; the connection is *ready* once
//! `welcome` arrived.
//!
//! ## Client -> server
//!
//! | frame | meaning |
//! |---|---|
//! | `{"type":"send","client_id":"<uuid>","text":"hi"}` | a user message; `client_id` is the idempotency key |
//! | `{"type":"typing","active":true}` | user typing indicator |
//! | `{"type":"cancel"}` | cancel the turn in progress (no-op when none) |
//! | `{"type":"ping","nonce":7}` | liveness probe; the server answers `pong` with the same nonce |
//! | `{"type":"pong","nonce":7}` | answer to a server `ping` |
//!
//! ## Server -> client
//!
//! Control frames carry no `seq`:
//!
//! | frame | meaning |
//! |---|---|
//! | `{"type":"ack","client_id":"<uuid>","message_id":"m-3","duplicate":false}` | the message with that client id is stored; a re-send of a known client id gets an ack with the **same** `message_id` and `"duplicate":true` and starts no new turn |
//! | `{"type":"ping","nonce":9}` / `{"type":"pong","nonce":7}` | liveness |
//! | `{"type":"error","code":"bad_request","message":"...","retryable":false}` | a problem with the last client frame or the connection; codes: `bad_request`, `unauthorized`, `rate_limited`, `server_error`, `restarting`. Optional `client_id`: present when the error refuses a `send`; that message is not stored and will not be acked |
//! | `{"type":"goodbye","reason":"restart","retry_after_ms":500}` | the server is about to close; `reason` is `restart`, `shutdown` or `idle`; the client should reconnect (and resume) after `retry_after_ms` |
//!
//! Conversation events carry a per-conversation `seq` (1, 2, 3, ... with no gaps, assigned by the
//! server, retained for resume), a server timestamp `ts` (Unix milliseconds) and a `kind`:
//!
//! ```json
//! {"type":"event","seq":18,"ts":1763800000000,"kind":"text_delta","turn_id":"t-5",
//!  "message_id":"m-6","offset":9,"text":"world "}
//! ```
//!
//! | `kind` | extra fields | meaning |
//! |---|---|---|
//! | `turn_started` | `turn_id`, `reply_to` (client id) | the agent starts answering |
//! | `status` | `turn_id`, `stage` (`acknowledged`, `processing`, `typing`, `ready`) | agent progress |
//! | `message_started` | `turn_id`, `message_id`, `role` (`assistant`) | a streamed message begins |
//! | `text_delta` | `turn_id`, `message_id`, `offset`, `text` | `text` goes at character (Unicode scalar) `offset` of the message; offsets make replays idempotent |
//! | `message_completed` | `turn_id`, `message_id`, `text` | the full text of the message |
//! | `tool_started` | `turn_id`, `tool_id`, `name`, `args` (JSON) | a tool call begins |
//! | `tool_progress` | `turn_id`, `tool_id`, `message` | progress text |
//! | `tool_completed` | `turn_id`, `tool_id`, `output` (JSON) | the tool call ended well |
//! | `tool_failed` | `turn_id`, `tool_id`, `error` | the tool call failed |
//! | `turn_completed` | `turn_id`, `finish_reason` (`stop`, `length`, `tool_error`) | the turn ended well |
//! | `turn_failed` | `turn_id`, `error` | the turn failed |
//! | `turn_cancelled` | `turn_id` | the turn was cancelled |
//! | `typing` | `participant`, `active` | someone (agent or other participant) types |
//!
//! Every turn ends with exactly one of `turn_completed`, `turn_failed`, `turn_cancelled`; every
//! tool call with exactly one of `tool_completed`, `tool_failed`. A turn's events are appended to
//! the conversation log in the order above, so a resumed client sees them exactly as a connected
//! one would.
//!
//! ## Resume and idempotency, end to end
//!
//! After a disconnect the client reconnects, sends `hello` with the highest `seq` it processed,
//! receives the missed events, then re-sends every message that was not yet acked with the same
//! `client_id`. The server acks known ids again (`duplicate: true`) without a second turn, so
//! nothing is lost and nothing is doubled.
//!
//! # Client behaviour (this implementation)
//!
//! - `since_seq` is the engine's resume cursor (the decimal `seq` of the last event delivered).
//! - Events are delivered strictly in `seq` order: a `seq` at or below the last one is a replay
//!   and is dropped; an event past a jump (`seq > last + 1`) is held, in `seq` order, for the
//!   missing one to arrive (frames reordered by an intermediary); when more than
//!   [`MAX_HELD`] are held, or a frame other than `event` arrives behind them (a pong, an ack),
//!   the missing one was lost, so the client reconnects and resumes (a reconnect that delivers
//!   nothing new counts towards `max_attempts`). After `"resumed":false` the first replayed event may jump. A `welcome` whose
//!   `last_seq` is below `since_seq` means the server lost its history: one `Discontinuity`.
//! - A frame other than `event` arriving while events up to the `welcome`'s `last_seq` are still
//!   missing means the replay lost some: the client reconnects and resumes.
//! - `error` codes map to failures: `unauthorized` (no retry), `rate_limited`, `restarting`,
//!   retryable `server_error`; `goodbye` reconnects after `retry_after_ms`.

use super::{
    Actions, Capabilities, ConnectContext, Decoded, Dialect, Disconnect, Failure, FailureKind,
    Liveness, Outbound, TransportEvent,
};
use crate::error::DialectError;
use crate::event::{
    AgentStatus, ErrorKind, Event, FailReason, Role, TextChannel, TurnError, TurnErrorCode, Usage,
};
use crate::ids::{ClientId, ConnId, Cursor, DedupKey};
use crate::seqmap::SeqMap;
use serde_json::{Value, json};
use std::time::Duration;

/// Where and as whom to connect.
///
/// ```
/// use chatwire::dialect::native::NativeConfig;
/// let c = NativeConfig::new("https://chat.example/", "c-42").token("secret");
/// assert_eq!(c.ws_url(), "wss://chat.example/native/v1/ws");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct NativeConfig {
    /// Base URL (`http(s)://` or `ws(s)://`).
    pub url: String,
    /// Conversation to join (created by the server on first use).
    pub conversation_id: String,
    /// Bearer token, sent in `hello` and as an `Authorization` header.
    pub token: Option<String>,
}

impl NativeConfig {
    /// Base URL and conversation id, no token.
    pub fn new(url: impl Into<String>, conversation_id: impl Into<String>) -> NativeConfig {
        NativeConfig {
            url: url.into(),
            conversation_id: conversation_id.into(),
            token: None,
        }
    }

    /// Sets the bearer token.
    pub fn token(mut self, token: impl Into<String>) -> NativeConfig {
        self.token = Some(token.into());
        self
    }

    /// The WebSocket URL: `{base}/native/v1/ws` with `http` -> `ws`, `https` -> `wss`.
    pub fn ws_url(&self) -> String {
        let base = self.url.trim_end_matches('/');
        let base = if let Some(rest) = base.strip_prefix("https://") {
            format!("wss://{rest}")
        } else if let Some(rest) = base.strip_prefix("http://") {
            format!("ws://{rest}")
        } else {
            base.to_string()
        };
        format!("{base}/native/v1/ws")
    }
}

/// The native dialect codec. See the [module docs](self) for the wire format.
#[derive(Debug)]
pub struct NativeDialect {
    config: NativeConfig,
    conn: Option<ConnId>,
    welcomed: bool,
    /// Highest `seq` delivered (contiguous).
    last_seq: u64,
    /// The next event may skip ahead (after `resumed: false` or a history reset).
    accept_gap: bool,
    /// Incremented when the server's history restarts, so dedup keys of the new history differ.
    history_epoch: u64,
    /// `last_seq` announced by `welcome`: the replay must reach it before any later frame.
    replay_until: u64,
    /// Events past a gap, by `seq`, waiting for the missing one (an order buffer: drained in
    /// `seq` order, at most `MAX_HELD`, cleared with the connection).
    held: SeqMap<Value>,
}

/// Most events held past a gap before the missing one is presumed lost.
pub const MAX_HELD: usize = 8;

impl NativeDialect {
    /// A codec for `config`.
    pub fn new(config: NativeConfig) -> NativeDialect {
        NativeDialect {
            config,
            conn: None,
            welcomed: false,
            last_seq: 0,
            accept_gap: false,
            history_epoch: 0,
            replay_until: 0,
            held: SeqMap::new(),
        }
    }

    /// Highest `seq` delivered so far.
    pub fn last_seq(&self) -> u64 {
        self.last_seq
    }
}

impl Dialect for NativeDialect {
    fn name(&self) -> &'static str {
        "native"
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            acks: true,
            resume: true,
            typing: true,
            audio: false,
            tools: true,
            cancel: true,
            ordered_sends: false, // one socket: frames arrive in order
            liveness: Liveness::Ping,
        }
    }

    fn connect(&mut self, cx: &ConnectContext<'_>, out: &mut Actions) {
        if let Some(seq) = cx.resume.and_then(|c| c.as_str().parse::<u64>().ok()) {
            if seq > self.last_seq || self.last_seq == 0 {
                self.last_seq = seq;
            }
        }
        let mut headers = Vec::new();
        if let Some(token) = &self.config.token {
            headers.push(("Authorization".to_string(), format!("Bearer {token}")));
        }
        self.welcomed = false;
        self.accept_gap = false;
        self.conn = Some(out.open_socket(self.config.ws_url(), headers));
    }

    /// "The token (hello field or `Authorization: Bearer` on the upgrade)": a provider's token
    /// travels in `hello` too, which works where the upgrade cannot carry headers.
    fn set_token(&mut self, token: &str) {
        self.config.token = Some(token.to_string());
    }

    fn on_transport(&mut self, event: TransportEvent<'_>, out: &mut Actions) {
        match event {
            TransportEvent::SocketOpened { conn } if self.conn == Some(conn) => {
                let mut hello = json!({
                    "type": "hello",
                    "conversation_id": self.config.conversation_id,
                    "since_seq": self.last_seq,
                });
                if let Some(token) = &self.config.token {
                    hello["token"] = json!(token);
                }
                out.send_text(conn, hello.to_string());
            }
            TransportEvent::SocketText { conn, text } if self.conn == Some(conn) => {
                self.decode(conn, text, out);
            }
            TransportEvent::SocketBinary { conn, bytes } if self.conn == Some(conn) => {
                out.emit(Decoded::protocol_error("binary frame", bytes));
            }
            TransportEvent::SocketClosed { conn, reason } if self.conn == Some(conn) => {
                self.conn = None;
                let message = format!("socket closed: {}", reason.reason);
                let failure = match (reason.http_status, reason.code) {
                    (Some(status), _) if reason.failed_to_open => {
                        let f = Failure::from_http_status(status, &[], &reason.reason);
                        match reason.retry_after {
                            Some(wait) => f.with_retry_after(wait),
                            None => f,
                        }
                    }
                    // a frame that is not UTF-8, too big, or otherwise broke the protocol
                    (_, Some(1002 | 1003 | 1007 | 1009)) => Failure::protocol(message),
                    _ => Failure::network(message),
                };
                out.fail(failure);
            }
            _ => {}
        }
    }

    fn encode(&mut self, command: Outbound<'_>, out: &mut Actions) -> Result<(), DialectError> {
        let conn = match self.conn {
            Some(conn) if self.welcomed => conn,
            _ => return Err(DialectError::NotConnected),
        };
        let frame = match command {
            Outbound::Message {
                client_id, text, ..
            } => json!({"type": "send", "client_id": client_id, "text": text}),
            Outbound::Typing { active } => json!({"type": "typing", "active": active}),
            Outbound::CancelTurn => json!({"type": "cancel"}),
            Outbound::Ping { nonce } => json!({"type": "ping", "nonce": nonce}),
            _ => return Err(DialectError::Unsupported("audio")),
        };
        out.send_text(conn, frame.to_string());
        Ok(())
    }

    fn disconnect(&mut self, _reason: Disconnect, _out: &mut Actions) {
        self.conn = None;
        self.welcomed = false;
        self.accept_gap = false;
        self.replay_until = 0;
        self.held.clear();
    }
}

impl NativeDialect {
    fn decode(&mut self, conn: ConnId, text: &str, out: &mut Actions) {
        // Without the raw event kept, the fast path (`fast.rs`) takes the next in-order event of
        // a common kind with a borrowing typed parse; anything else, or anything it does not
        // accept, is decoded from a `Value` below (with the raw event kept, the `Value` is needed
        // anyway, and decoding from it allocates no more than the fast path). The WebAssembly
        // build leaves the fast path out (about 5 KiB gzip of module for no change in behaviour:
        // there every event crosses to JavaScript as JSON anyway).
        #[cfg(not(target_arch = "wasm32"))]
        if !out.keep_raw() {
            if let Some((seq, decoded)) = self.fast_event(fast::EventFrame::from_text(text)) {
                return self.deliver_decoded(seq, decoded, out);
            }
        }
        let parsed = serde_json::from_str::<Value>(text);
        let value: Value = match parsed {
            Ok(v @ Value::Object(_)) => v,
            Ok(_) => {
                return out.emit(Decoded::protocol_error(
                    "not a JSON object",
                    text.as_bytes(),
                ));
            }
            Err(_) => return out.emit(Decoded::protocol_error("invalid JSON", text.as_bytes())),
        };
        let kind = str_field(&value, "type").unwrap_or_default();
        if kind != "event" && !self.held.is_empty() {
            // Reordering mixes events among themselves; a frame of another kind behind the
            // held ones means the missing event is not coming on this socket.
            let expected = self.last_seq + 1;
            self.held.clear();
            return out.fail(Failure::protocol(format!(
                "sequence gap: event {expected} missing before a `{kind}` frame"
            )));
        }
        if self.welcomed && kind != "event" && kind != "welcome" {
            if self.last_seq < self.replay_until {
                // Frames are in order on the socket, so a control frame after `welcome` means
                // the replay is over: events up to the announced `last_seq` went missing.
                let (got, want) = (self.last_seq, self.replay_until);
                return out.fail(Failure::protocol(format!(
                    "replay incomplete: got events up to {got} of {want}"
                )));
            }
            self.replay_until = 0;
        }
        match kind {
            "event" => self.on_event(value, out),
            "ack" => match str_field(&value, "client_id").map(str::parse::<ClientId>) {
                Some(Ok(id)) => out.ack(id, str_field(&value, "message_id").map(str::to_string)),
                _ => out.emit(Decoded::protocol_error(
                    "ack without a valid client_id",
                    text.as_bytes(),
                )),
            },
            "welcome" => self.on_welcome(&value, out),
            "ping" => {
                let nonce = value.get("nonce").cloned().unwrap_or(Value::Null);
                out.send_text(conn, json!({"type": "pong", "nonce": nonce}).to_string());
                out.emit(Decoded::new(Event::Heartbeat).conversation(&self.config.conversation_id));
            }
            "pong" => {}
            "error" => self.on_error(value, out),
            "goodbye" => {
                let reason = str_field(&value, "reason").unwrap_or("unspecified");
                let kind = match reason {
                    "restart" => FailureKind::ServerRestart,
                    "idle" => FailureKind::Network,
                    _ => FailureKind::Server,
                };
                let mut f = Failure::new(kind, format!("server said goodbye: {reason}"));
                if let Some(ms) = value.get("retry_after_ms").and_then(Value::as_u64) {
                    f = f.with_retry_after(Duration::from_millis(ms));
                }
                out.fail(f);
            }
            "" => out.emit(Decoded::protocol_error(
                "frame without a type",
                text.as_bytes(),
            )),
            other => {
                let name = other.to_string();
                out.emit(Decoded::new(Event::Unknown { name }).raw(value));
            }
        }
    }

    fn on_welcome(&mut self, value: &Value, out: &mut Actions) {
        if self.welcomed {
            return;
        }
        self.welcomed = true;
        let last = value.get("last_seq").and_then(Value::as_u64).unwrap_or(0);
        let resumed = value
            .get("resumed")
            .and_then(Value::as_bool)
            .unwrap_or(true);
        self.replay_until = last;
        if last < self.last_seq {
            out.discontinuity(format!(
                "the server's history restarted (its last seq {last} is below ours {})",
                self.last_seq
            ));
            self.history_epoch += 1;
            self.last_seq = last;
            self.accept_gap = true;
        } else if !resumed {
            // also for since_seq 0: the app asked for the whole history and cannot have it
            out.discontinuity(format!(
                "events after seq {} were evicted by the server",
                self.last_seq
            ));
            self.accept_gap = true;
        }
        out.ready();
    }

    fn on_error(&mut self, value: Value, out: &mut Actions) {
        let code = str_field(&value, "code").unwrap_or("unknown").to_string();
        let message = str_field(&value, "message").unwrap_or("").to_string();
        let retryable = value
            .get("retryable")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        if let Some(Ok(id)) = str_field(&value, "client_id").map(str::parse::<ClientId>) {
            out.reject(id, FailReason::Rejected);
        } else {
            let fail = |kind| Failure::new(kind, format!("server error {code}: {message}"));
            match code.as_str() {
                "unauthorized" => return out.fail(fail(FailureKind::Auth)),
                "rate_limited" => return out.fail(fail(FailureKind::RateLimited)),
                "restarting" => return out.fail(fail(FailureKind::ServerRestart)),
                "server_error" if retryable => return out.fail(fail(FailureKind::Server)),
                _ if !self.welcomed => return out.fail(fail(FailureKind::Fatal)),
                _ => {}
            }
        }
        let kind = if code == "bad_request" {
            ErrorKind::InvalidInput
        } else {
            ErrorKind::Server
        };
        let event = Event::Error {
            kind,
            code: Some(code),
            message,
            retryable,
        };
        out.emit(
            Decoded::new(event)
                .conversation(&self.config.conversation_id)
                .raw(value),
        );
    }

    fn on_event(&mut self, value: Value, out: &mut Actions) {
        let Some(seq) = value.get("seq").and_then(Value::as_u64) else {
            let raw = value.to_string();
            return out.emit(Decoded::protocol_error("event without seq", raw.as_bytes()));
        };
        if seq <= self.last_seq {
            return; // replay of an event already delivered
        }
        if seq != self.last_seq + 1 && !self.accept_gap {
            if self.held.len() < MAX_HELD {
                self.held.insert(seq, value); // ahead of a gap: wait for the missing one
                return;
            }
            let expected = self.last_seq + 1;
            self.held.clear();
            return out.fail(Failure::protocol(format!(
                "sequence gap: expected {expected}, got {seq}"
            )));
        }
        self.deliver(seq, value, out);
        while let Some(next) = self.held.remove(&(self.last_seq + 1)) {
            self.deliver(self.last_seq + 1, next, out);
        }
        let last = self.last_seq;
        self.held.retain(|s, _| *s > last);
    }

    fn deliver(&mut self, seq: u64, value: Value, out: &mut Actions) {
        let mut decoded = match native_event(&value) {
            Some(d) => d,
            None => Decoded::protocol_error("malformed event", value.to_string().as_bytes()),
        };
        decoded.turn_id = str_field(&value, "turn_id").map(str::to_string);
        decoded.message_id = str_field(&value, "message_id").map(str::to_string);
        decoded.timestamp_ms = value.get("ts").and_then(Value::as_u64);
        decoded.raw = Some(value);
        self.deliver_decoded(seq, decoded, out);
    }

    /// Emits the event `seq` (ids, timestamp and raw already set): dedup key, cursor,
    /// conversation.
    fn deliver_decoded(&mut self, seq: u64, mut decoded: Decoded, out: &mut Actions) {
        self.accept_gap = false;
        self.last_seq = seq;
        decoded.dedup = Some(if self.history_epoch == 0 {
            DedupKey::Seq(seq)
        } else {
            DedupKey::Id(format!("{}:{seq}", self.history_epoch))
        });
        decoded.cursor = Some(Cursor::seq(seq));
        decoded.conversation_id = Some(self.config.conversation_id.clone());
        out.emit(decoded);
    }

    /// The fast path's event with its `seq`, when the frame is the next event in order with
    /// nothing held (so `on_event` would deliver it at once and nothing after it) and of a kind
    /// the fast path maps; `None` sends the frame down the general path.
    #[cfg(not(target_arch = "wasm32"))]
    fn fast_event(&self, frame: Option<fast::EventFrame<'_>>) -> Option<(u64, Decoded)> {
        let frame = frame.as_ref().filter(|f| f.is_event())?;
        let seq = frame.seq?;
        let in_order = seq == self.last_seq + 1 || (self.accept_gap && seq > self.last_seq);
        if !in_order || !self.held.is_empty() {
            return None;
        }
        let mut decoded = frame.event()?;
        decoded.turn_id = frame.turn_id.map(str::to_string);
        decoded.message_id = frame.message_id.map(str::to_string);
        decoded.timestamp_ms = frame.ts;
        Some((seq, decoded))
    }
}

/// Maps one `event` frame to a normalized event; `None` when a required field is missing.
fn native_event(v: &Value) -> Option<Decoded> {
    let s = |name| str_field(v, name).map(str::to_string);
    let kind = str_field(v, "kind")?;
    let event = match kind {
        "turn_started" => Event::TurnStarted {
            reply_to: s("reply_to"),
        },
        "status" => Event::Status {
            status: match str_field(v, "stage")? {
                "acknowledged" => AgentStatus::Acknowledged,
                "processing" => AgentStatus::Processing { stage: None },
                "typing" => AgentStatus::Typing,
                "ready" => AgentStatus::Ready,
                other => AgentStatus::Processing {
                    stage: Some(other.to_string()),
                },
            },
        },
        "message_started" => Event::MessageStarted {
            role: role(str_field(v, "role").unwrap_or("assistant")),
        },
        "text_delta" => {
            let offset = v.get("offset").and_then(Value::as_u64)?;
            return Some(Decoded::text(TextChannel::Text, s("text")?, Some(offset)));
        }
        "message_completed" => Event::MessageCompleted { text: s("text")? },
        "tool_started" => Event::ToolStarted {
            tool_id: s("tool_id")?,
            name: s("name")?,
            args: v.get("args").cloned(),
        },
        "tool_progress" => Event::ToolProgress {
            tool_id: s("tool_id")?,
            message: s("message").unwrap_or_default(),
        },
        "tool_completed" => Event::ToolCompleted {
            tool_id: s("tool_id")?,
            output: v.get("output").cloned().unwrap_or(Value::Null),
        },
        "tool_failed" => Event::ToolFailed {
            tool_id: s("tool_id")?,
            error: s("error").unwrap_or_default(),
        },
        "turn_completed" => Event::TurnCompleted {
            finish_reason: s("finish_reason"),
            usage: v.get("usage").map(|u| {
                let n = |k: &str| u.get(k).and_then(Value::as_u64);
                Usage::new(n("input_tokens"), n("output_tokens"), n("total_tokens"))
            }),
        },
        "turn_failed" => Event::TurnFailed {
            error: TurnError::new(TurnErrorCode::Server, s("error").unwrap_or_default()),
        },
        "turn_cancelled" => Event::TurnCancelled,
        "typing" => Event::Typing {
            participant: s("participant").unwrap_or_else(|| "agent".into()),
            active: v.get("active").and_then(Value::as_bool)?,
        },
        other => Event::Unknown {
            name: other.to_string(),
        },
    };
    Some(Decoded::new(event))
}

fn role(s: &str) -> Role {
    match s {
        "user" => Role::User,
        "system" => Role::System,
        "tool" => Role::Tool,
        _ => Role::Assistant,
    }
}

fn str_field<'a>(v: &'a Value, name: &str) -> Option<&'a str> {
    v.get(name).and_then(Value::as_str)
}

#[cfg(not(target_arch = "wasm32"))]
mod fast;

#[cfg(test)]
mod tests;
