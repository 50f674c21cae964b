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
//! `error`, `cancelled`) belong to its head. A message is acked (for the engine) when its turn has
//! ended — the final `message`, an `error` or `cancelled` — not at the server's `ack`: the
//! protocol has no resume, so a turn cut by a dropped connection must be re-sent. The engine then
//! reports a `Discontinuity`, fails the interrupted turn and re-sends the message with the same
//! `id` (the server acks it as a duplicate without running it twice, and replays its frames). The
//! re-sent turn gets a new turn id (`<client id>#<attempt>`), and its first text delta is a
//! `Replace`, so the partial text of the interrupted attempt is replaced, never doubled.
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
mod wire;

use std::collections::{BTreeMap, VecDeque};

use super::codec_kit::errors::{close_failure, protocol_error};
use super::codec_kit::order::Streams;
use super::codec_kit::{
    Params, Secret, credentials, custom_headers, join_url, opt_param, param, to_ws_url, url_encode,
};
use super::{
    Actions, Capabilities, ConnectContext, Dialect, Disconnect, Liveness, Outbound, TransportEvent,
};
use crate::error::DialectError;
use crate::ids::{ClientId, ConnId};
use wire::{AudioMessage, Bare, TextMessage};

/// The default session id (any id works with `chatwire-mock`).
pub const DEFAULT_SESSION: &str = "demo-session";

/// The chat-v2 dialect. See the [module docs](self) for the protocol.
///
/// ```
/// use chatwire::dialect::{Dialect, chat_v2::ChatV2};
/// let d = ChatV2::new("https://chat.example.com");
/// assert_eq!(d.name(), "chat-v2");
/// assert!(d.capabilities().audio && d.capabilities().cancel && !d.capabilities().resume);
/// ```
#[derive(Debug)]
pub struct ChatV2 {
    session: String,
    /// The socket URL without credentials (the token is added at connect time).
    url: String,
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
    attempts: BTreeMap<ClientId, u32>,
    /// Messages (client id, server id) and reply ids of recently ended turns: a repeated
    /// `ack`, token, final `message`, `error` or `cancelled` arriving after its turn ended is a
    /// duplicate, never the start or the end of the next turn.
    ended_messages: VecDeque<(ClientId, Option<String>)>,
    ended_replies: VecDeque<String>,
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
}

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
        ChatV2 {
            session,
            url,
            token,
            sample_rate: opt_param(params, "sample_rate")
                .and_then(|s| s.parse().ok())
                .unwrap_or(16_000),
            extra_headers: custom_headers(params),
            conn: None,
            turns: VecDeque::new(),
            sent: VecDeque::new(),
            current: None,
            attempts: BTreeMap::new(),
            ended_messages: VecDeque::new(),
            ended_replies: VecDeque::new(),
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

    fn on_transport(&mut self, event: TransportEvent<'_>, out: &mut Actions) {
        match event {
            TransportEvent::SocketOpened { conn } if Some(conn) == self.conn => out.ready(),
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

    fn disconnect(&mut self, _reason: Disconnect, _out: &mut Actions) {
        // The engine fails the open turns and re-sends the unacked messages.
        self.conn = None;
        self.turns.clear();
        self.sent.clear();
        self.current = None;
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
        let n = self.attempts.entry(client_id).or_insert(0);
        *n = n.saturating_add(1);
        let n = *n;
        while self.attempts.len() > 256 {
            self.attempts.pop_first();
        }
        n
    }
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_repeats;
#[cfg(test)]
mod tests_wire;
