//! The `chat-v2` dialect: one WebSocket at `/v2/chat/{session_id}` carrying text and audio
//! (PCM16, base64) messages, streamed tokens with `is_final`, tool `start`/`progress`/`end`,
//! transcripts, synthesized audio and ping/pong (`chat-v2-websocket-architecture.md`; wire
//! details in `wire.rs`).
//!
//! # Connection
//!
//! The socket is ready as soon as it is open (a `connected` frame, when the server sends one, is
//! informational). A bearer token goes both in the `Authorization` header and as `?token=`, since
//! browsers cannot set headers on a WebSocket.
//!
//! # Turns and acks
//!
//! The server answers each message with `ack {id, message_id}` and runs turns in order, so acked
//! messages form a queue and the turn frames (`status`, `tool`, `token`, the final `message`,
//! `error`, `cancelled`) belong to its head. A message is acked (for the engine) at the server's
//! `ack` (or when its turn ends, if the ack was lost), and **an acked message is never sent
//! again**: a backend that does not deduplicate by id would answer it twice.
//!
//! # Resume: the session history
//!
//! The socket has no resume position, but a new socket on the same session receives the turns
//! that are still running, and the session's history (`GET /v2/chat/{session_id}/history`, on
//! the same host over HTTP) lists every completed reply. So after a reconnection the acked turns
//! the old socket cut stay open: the dialect fetches the history once the new socket is open,
//! and a reply listed there — paired with its message by `reply_to`, or by the reply id seen
//! streaming, never by position — completes its turn (the text the tokens did not deliver,
//! `MessageCompleted`, `TurnCompleted`, with the same dedup keys a final `message` would have,
//! so a reply that also arrives on the socket is shown once). A reply not listed yet is still
//! running and finishes on the socket; a turn that ended without a reply while the socket was
//! down fails (`TurnFailed{discontinuity}`) once the history lists the reply of a later turn
//! (turns run in order), else it ends with the engine's turn timeout. Live frames name no user
//! message, so a turn the server lost in a restart (acked, never ended) holds the head of the
//! queue and the next reply streams to it; the history is asked again as soon as a reply
//! completes on a cut turn, and when it pairs that reply with a later message, that message's
//! turn ends (`TurnCompleted`, the reply not shown twice) and the queue is back in step. What
//! this cannot guarantee: that one reply is credited to the right turn. A message sent but never
//! acked is re-sent by the engine under the same `id` (the server acks it as a duplicate without
//! running it twice); the re-sent turn gets a new turn id (`<client id>#<attempt>`), and its first
//! text delta is a `Replace`, so partial text of the interrupted attempt is replaced, never
//! doubled. The turns a dropped socket leaves unrecoverable — of a message not acked yet (re-sent
//! as that new turn), or of another client — end there with `TurnFailed{disconnected}`.
//!
//! Tokens are ordered and deduplicated by `index` within their message when the server numbers
//! them; every dedup key is scoped to the turn attempt. The protocol document defines no index,
//! and a token without one is never deduplicated by its content: a real backend sends the same
//! token twice whenever it repeats (`" the"`, `"\n\n"`), and one socket does not duplicate
//! frames by itself. Such a token is keyed by its position instead (the connection it arrived on
//! and its ordinal there); a re-sent turn is a new attempt with its own stream, so the server's
//! replay never mixes with it. The trade-off: a frame duplicated on the wire by a faulty
//! intermediary is indistinguishable from a repeated token when there is no index, so it goes
//! through as text; the final `message` then repairs the reply (a `Replace` with its full text
//! when the streamed text is not a prefix of it). `audio` frames carry no key either and are kept
//! by position the same way (repeated silence is repeated audio). `transcript` ->
//! `Transcript`; `audio` -> `AudioChunk` (base64 as on the wire); `ping` -> `pong`; unknown
//! frames -> `Unknown`; malformed or binary frames -> `Error{Protocol}`.
//!
//! Params: `session_id` (default `demo-session`), `token` / `api_key` (bearer), `sample_rate`
//! (audio, default 16000), `header.<Name>`.

mod inbound;
mod recover;
mod wire;

use std::collections::VecDeque;

use super::codec_kit::errors::{close_failure, protocol_error};
use super::codec_kit::order::Streams;
use super::codec_kit::{
    Params, Secret, credentials, custom_headers, join_url, opt_param, param, to_http_url,
    to_ws_url, url_encode,
};
use super::{
    Actions, Capabilities, ConnectContext, Dialect, Disconnect, Liveness, Outbound, TransportEvent,
};
use crate::engine::bounded::{BoundedMap, BoundedSet};
use crate::error::DialectError;
use crate::ids::{ClientId, ConnId, RequestId};
use wire::{AudioMessage, Bare, TextMessage};

/// The default session id (any id works with `chatwire-mock`).
pub const DEFAULT_SESSION: &str = "demo-session";

/// The chat-v2 dialect. See the [module docs](self) for the protocol.
///
/// ```
/// use chatwire::dialect::{Dialect, chat_v2::ChatV2};
/// let d = ChatV2::new("https://chat.example.com");
/// assert_eq!(d.name(), "chat-v2");
/// assert!(d.capabilities().audio && d.capabilities().cancel && d.capabilities().resume);
/// ```
#[derive(Debug)]
pub struct ChatV2 {
    session: String,
    /// The socket URL without credentials (the token is added at connect time).
    url: String,
    /// `GET` URL of the session history (recovery of cut replies).
    history_url: String,
    /// The history request in flight, if any.
    history_req: Option<RequestId>,
    token: Option<Secret>,
    sample_rate: u32,
    extra_headers: Vec<(String, String)>,
    conn: Option<ConnId>,
    /// Acked turns waiting or running, in server order: client id and user message id.
    turns: VecDeque<Queued>,
    /// Messages sent and not acked yet, oldest first: a turn frame that overtakes its `ack`
    /// belongs to the oldest of them.
    sent: VecDeque<ClientId>,
    /// The running turn's id, once its first frame arrived.
    current: Option<String>,
    /// How many times each recent message was sent.
    attempts: BoundedMap<ClientId, u32>,
    /// Messages already acked to the engine.
    acked: BoundedSet<ClientId>,
    /// Messages (client id -> server id) and reply ids of recently ended turns: a repeated
    /// `ack`, token, final `message`, `error` or `cancelled` arriving after its turn ended is a
    /// duplicate, never the start or the end of the next turn.
    ended_messages: BoundedMap<ClientId, Option<String>>,
    ended_replies: BoundedSet<String>,
    streams: Streams,
    /// The connection generation and ordinal of the last `audio` frame: its dedup key.
    audio_seq: (u64, u64),
    /// Turns the server ran that this client did not start.
    foreign_turns: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Queued {
    /// `None` for a turn this client did not start.
    client_id: Option<ClientId>,
    /// `<client id>` or `<client id>#<attempt>`.
    turn: String,
    /// The server's id of the user message (`ack.message_id`).
    user_msg: Option<String>,
    /// The next text delta replaces the reply (first text of a re-sent turn).
    replace_next: bool,
    /// The reply's id, once a token or the final message named it.
    reply: Option<String>,
    /// A dropped socket cut the turn (acked on an earlier connection): a reply streamed to it
    /// on a later socket may be the next turn's, if the server lost this one in a restart.
    cut: bool,
}

/// Bounds of the id maps (attempts, acked) and of the rings of ended messages and replies.
const IDS_CAP: usize = 256;
const ENDED_CAP: usize = 64;
/// Most turns queued (acked and not ended) or messages awaiting their ack; past it the oldest
/// is forgotten (its turn then ends with the engine's turn timeout).
const QUEUE_CAP: usize = 256;

impl ChatV2 {
    /// A dialect for the server at `base_url`, session [`DEFAULT_SESSION`].
    pub fn new(base_url: &str) -> ChatV2 {
        ChatV2::from_params(base_url, &Params::new())
    }

    /// A dialect configured from params (see the [module docs](self)).
    pub fn from_params(base_url: &str, params: &Params) -> ChatV2 {
        let session = param(params, "session_id", DEFAULT_SESSION);
        let (api_key, token) = credentials(params);
        let token = token.or(api_key);
        let path = format!("/v2/chat/{}", url_encode(&session));
        let url = join_url(&to_ws_url(base_url.trim_end_matches('/')), &path);
        let history_url =
            join_url(&to_http_url(base_url.trim_end_matches('/')), &path) + "/history";
        ChatV2 {
            session,
            url,
            history_url,
            history_req: None,
            token,
            sample_rate: opt_param(params, "sample_rate")
                .and_then(|s| s.parse().ok())
                .unwrap_or(16_000),
            extra_headers: custom_headers(params),
            conn: None,
            turns: VecDeque::new(),
            sent: VecDeque::new(),
            current: None,
            attempts: BoundedMap::new(IDS_CAP),
            acked: BoundedSet::new(IDS_CAP),
            ended_messages: BoundedMap::new(ENDED_CAP),
            ended_replies: BoundedSet::new(ENDED_CAP),
            streams: Streams::new(32),
            audio_seq: (0, 0),
            foreign_turns: 0,
        }
    }
}

impl Dialect for ChatV2 {
    fn name(&self) -> &'static str {
        "chat-v2"
    }

    fn capabilities(&self) -> Capabilities {
        let mut c = Capabilities::none();
        c.acks = true;
        c.resume = true;
        c.audio = true;
        c.tools = true;
        c.cancel = true;
        c.liveness = Liveness::Ping;
        c
    }

    fn connect(&mut self, _cx: &ConnectContext<'_>, out: &mut Actions) {
        let mut headers = self.extra_headers.clone();
        let mut url = self.url.clone();
        if let Some(t) = &self.token {
            headers.push(("Authorization".into(), format!("Bearer {}", t.expose())));
            url.push_str(&format!("?token={}", url_encode(t.expose())));
        }
        self.conn = Some(out.open_socket(url, headers));
    }

    /// A provider's token also travels as `?token=` (see the module docs), like a configured one.
    fn set_token(&mut self, token: &str) {
        self.token = Some(Secret::new(token.to_string()));
    }

    fn on_transport(&mut self, event: TransportEvent<'_>, out: &mut Actions) {
        match event {
            TransportEvent::SocketOpened { conn } if Some(conn) == self.conn => {
                out.ready();
                self.fetch_history(out);
            }
            TransportEvent::HttpResponse {
                id,
                status,
                headers,
                body,
            } if Some(id) == self.history_req => {
                self.history_req = None;
                self.on_history(Ok((status, headers, body)), out);
            }
            TransportEvent::HttpFailed { id, error } if Some(id) == self.history_req => {
                self.history_req = None;
                self.on_history(Err(error), out);
            }
            TransportEvent::SocketText { conn, text } if Some(conn) == self.conn => {
                match wire::parse_frame(text.as_bytes()) {
                    Ok(frame) => self.on_frame(frame, out),
                    Err(why) => out.emit(protocol_error(&why, text.as_bytes())),
                }
            }
            TransportEvent::SocketBinary { bytes, .. } => {
                out.emit(protocol_error(
                    "binary frame where text was expected",
                    bytes,
                ));
            }
            TransportEvent::SocketClosed { reason, .. } => out.fail(close_failure(reason)),
            _ => {}
        }
    }

    fn encode(&mut self, command: Outbound<'_>, out: &mut Actions) -> Result<(), DialectError> {
        let conn = self.conn.ok_or(DialectError::NotConnected)?;
        let frame = match command {
            Outbound::Message {
                client_id, text, ..
            } => {
                self.attempt(client_id);
                wire::encode(&TextMessage {
                    kind: "text",
                    content: text,
                    id: client_id.to_string(),
                    client_id: client_id.to_string(),
                })
            }
            Outbound::Audio {
                client_id,
                format,
                data,
                ..
            } => {
                if !format.eq_ignore_ascii_case("pcm16") {
                    return Err(DialectError::Invalid(format!(
                        "audio format {format}: pcm16 only"
                    )));
                }
                self.attempt(client_id);
                wire::encode(&AudioMessage {
                    kind: "audio",
                    data: data.to_string(),
                    format: "pcm16",
                    sample_rate: self.sample_rate,
                    id: client_id.to_string(),
                    client_id: client_id.to_string(),
                })
            }
            Outbound::CancelTurn => wire::encode(&Bare { kind: "cancel" }),
            Outbound::Ping { .. } => wire::encode(&Bare { kind: "ping" }),
            Outbound::Typing { .. } => return Err(DialectError::Unsupported("typing")),
        };
        out.send_text(conn, frame);
        Ok(())
    }

    fn disconnect(&mut self, _reason: Disconnect, out: &mut Actions) {
        // Acked turns stay queued for recovery (history, or the new socket); the others end
        // here; the engine re-sends the unacked messages.
        self.conn = None;
        self.history_req = None;
        self.sent.clear();
        self.current = None;
        self.fail_unrecoverable_turns(out);
    }
}

impl ChatV2 {
    /// Counts a send of `client_id` (1 for the first, 2, 3, ... for re-sends).
    fn attempt(&mut self, client_id: ClientId) -> u32 {
        if !self.sent.contains(&client_id)
            && !self.turns.iter().any(|q| q.client_id == Some(client_id))
        {
            self.sent.push_back(client_id);
        }
        let n = self
            .attempts
            .get(&client_id)
            .copied()
            .unwrap_or(0)
            .saturating_add(1);
        let _ = self.attempts.insert(client_id, n);
        if self.sent.len() > QUEUE_CAP {
            self.sent.pop_front();
        }
        n
    }
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_repeats;
#[cfg(test)]
mod tests_restart;
#[cfg(test)]
mod tests_wire;
