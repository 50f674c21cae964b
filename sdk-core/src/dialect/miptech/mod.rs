//! The `miptech` dialect: the MIPTech AI platform's REST + WebSocket protocol
//! (`miptech-websocket-integration.md`).
//!
//! # Connection plan (seed, "End-to-End Connection Process")
//!
//! 1. `GET /healthz` (must answer 200; a 503 with `PLATFORM_INITIALIZING` is retried with the
//!    initializing floor);
//! 2. `POST /api/v1/chat` creates the chat and answers its id — skipped on reconnection, which
//!    re-joins the same chat (the chat id is also the dialect's resume cursor, so an app that
//!    persists `Envelope::cursor` re-joins after a restart);
//! 3. WebSocket `/api/v1/ws/chat?tenant_id=..&chat_id=..[&client_id=..]`, answered by
//!    `connection_established` then `connection_ready` (within 10 s: the engine's ready timeout);
//! 4. on `connection_ready` the dialect sends `join_chat` and reports ready, so `join_chat` is on
//!    the wire before any queued message.
//!
//! Every request carries the seed's tenant headers (`X-Tenant-ID`, `X-Tenant`, `Tenant-ID`) and
//! `X-API-Key` when configured.
//!
//! # Events
//!
//! `message_received` acks the user message (by the echoed client id, else the oldest unacked
//! one) and opens the turn, keyed by the server's id of the user message (`reply_to` and the
//! `message_id` of `processing`/`error` refer to it); `processing` -> `Status{Processing}`, or,
//! with stage `tool_call`/`tool_progress`/`tool_result` and a `tool` object, `ToolStarted`/
//! `ToolProgress`/`ToolCompleted`/`ToolFailed`; `response_start` -> `MessageStarted`;
//! `response_chunk` -> `TextDelta`s ordered and deduplicated by `chunk_index`. A chunk without an
//! index is deduplicated by its `event_id` when it has one, and otherwise never: a real backend
//! sends byte-identical chunks whenever a token repeats, so a content hash would silently drop
//! text; such a chunk is keyed by its position (connection, ordinal on it). The trade-off: a
//! frame duplicated on the wire with neither index nor event id cannot be told from a repeated
//! token and goes through; `response_complete` then repairs the text (a `Replace` with its full
//! content when the streamed text is not a prefix of it). `response_complete` -> `MessageCompleted`
//! (or a complete `Message` when nothing was streamed) and `TurnCompleted` with the token usage;
//! `error` -> `Error`, plus `TurnFailed` (`TurnCancelled` for `PROCESSING_CANCELLED`) when it
//! names a turn; auth, restart and initializing errors (`PLATFORM_NOT_READY`) also fail the
//! connection. The server's `event_id` is the dedup key wherever it is present. Unknown events
//! become `Unknown` with the raw frame; unreadable frames become `Error{Protocol}`.
//!
//! # Resume
//!
//! Re-joining keeps the chat, and the platform goes on streaming a turn that is still running to
//! the re-joined socket. An **acked message is never sent again** (a backend that does not
//! deduplicate by client id would answer it twice): a turn cut by a dropped socket is recovered
//! from the chat's history, `GET /api/v1/chat/{id}/messages`, fetched right after `join_chat`.
//! A reply listed there — paired with its message by `reply_to`, or by the reply id seen
//! streaming — completes the turn (the text the chunks did not deliver, `MessageCompleted`,
//! `TurnCompleted`); a reply not listed yet is still running and arrives on the socket. A turn
//! that ended on the server without a reply while the socket was down (an error) ends with the
//! engine's turn timeout. Messages sent but not acked are re-sent by the engine under the same
//! `clientId`, which the platform deduplicates. A turn this client did not start cannot be
//! recovered and is reported as a discontinuity. The dedup keys of recovered and streamed events
//! are the same, so a reply completed by both the socket and the history is shown once.
//!
//! Params: `tenant_id` (default `demo-tenant`), `api_key`, `token` (bearer), `chat_id` (join an
//! existing chat), `client_id` (WebSocket `client_id`), `title`, `header.<Name>`.

mod inbound;
mod recover;
mod wire;

use serde_json::json;

use super::codec_kit::errors::{close_failure, http_failure, protocol_error};
use super::codec_kit::order::Streams;
use super::codec_kit::{
    Params, Secret, credentials, custom_headers, join_url, opt_param, param, to_ws_url, url_encode,
};
use super::{
    Actions, Capabilities, ConnectContext, Dialect, Disconnect, Failure, HttpSpec, Liveness,
    Outbound, TransportEvent,
};
use crate::engine::bounded::{BoundedMap, BoundedSet};
use crate::error::DialectError;
use crate::ids::{ClientId, ConnId, RequestId};
use wire::{ChatMessageData, ChatRef};

/// Driver-side timeout of the REST calls (health check, chat creation).
const REST_TIMEOUT_MS: u64 = 30_000;

/// Most entries kept in each id map and set (evicted oldest first, by insertion).
const MAP_CAP: usize = 256;

/// The default tenant, accepted by `chatwire-mock`.
pub const DEFAULT_TENANT: &str = "demo-tenant";

/// The MIPTech dialect. See the [module docs](self) for the protocol.
///
/// ```
/// use chatwire::dialect::{Dialect, miptech::Miptech};
/// let mut params = std::collections::BTreeMap::new();
/// params.insert("tenant_id".to_string(), "acme".to_string());
/// let d = Miptech::from_params("https://api.example.com", &params);
/// assert_eq!(d.name(), "miptech");
/// assert!(d.capabilities().acks && d.capabilities().typing);
/// ```
#[derive(Debug)]
pub struct Miptech {
    base: String,
    tenant: String,
    api_key: Option<Secret>,
    token: Option<Secret>,
    extra_headers: Vec<(String, String)>,
    ws_client_id: Option<String>,
    title: String,
    /// The chat joined; kept across reconnections (re-join).
    chat_id: Option<String>,
    step: Step,
    /// The turn in progress.
    turn: Option<Turn>,
    /// Server user message id -> client id (from `message_received`).
    users: BoundedMap<String, ClientId>,
    /// Reply message id -> turn id (from `response_start`).
    replies: BoundedMap<String, String>,
    /// Messages sent and not yet acked, oldest first.
    unacked: BoundedSet<ClientId>,
    /// Turns (user message ids) of acked messages that have not ended: recovered from the
    /// history after a re-join, never by sending the message again.
    unfinished: BoundedMap<String, ClientId>,
    /// The history request in flight, if any.
    history_req: Option<RequestId>,
    streams: Streams,
    /// Turns opened so far (names turns the platform did not identify).
    turns_opened: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Idle,
    Health(RequestId),
    CreateChat(RequestId),
    AwaitReady(ConnId),
    Ready(ConnId),
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Turn {
    /// The server's id of the user message the turn answers (or a synthesized id).
    id: String,
    /// The reply being streamed, if any.
    reply: Option<String>,
}

impl Miptech {
    /// A dialect for the platform at `base_url` (`http(s)://host[:port]`), tenant
    /// [`DEFAULT_TENANT`], no API key.
    pub fn new(base_url: &str) -> Miptech {
        Miptech::from_params(base_url, &Params::new())
    }

    /// A dialect configured from params (see the [module docs](self)).
    pub fn from_params(base_url: &str, params: &Params) -> Miptech {
        let (api_key, token) = credentials(params);
        Miptech {
            base: base_url.trim_end_matches('/').to_string(),
            tenant: param(params, "tenant_id", DEFAULT_TENANT),
            api_key,
            token,
            extra_headers: custom_headers(params),
            ws_client_id: opt_param(params, "client_id"),
            title: param(params, "title", "chatwire"),
            chat_id: opt_param(params, "chat_id"),
            step: Step::Idle,
            turn: None,
            users: BoundedMap::new(MAP_CAP),
            replies: BoundedMap::new(MAP_CAP),
            unacked: BoundedSet::new(MAP_CAP),
            unfinished: BoundedMap::new(MAP_CAP),
            history_req: None,
            streams: Streams::new(32),
            turns_opened: 0,
        }
    }

    /// The chat currently joined (or to be re-joined).
    pub fn chat_id(&self) -> Option<&str> {
        self.chat_id.as_deref()
    }
}

impl Dialect for Miptech {
    fn name(&self) -> &'static str {
        "miptech"
    }

    fn capabilities(&self) -> Capabilities {
        let mut c = Capabilities::none();
        c.acks = true;
        c.resume = true;
        c.typing = true;
        c.tools = true;
        c.liveness = Liveness::Ping;
        c
    }

    fn connect(&mut self, cx: &ConnectContext<'_>, out: &mut Actions) {
        if self.chat_id.is_none() {
            self.chat_id = cx
                .resume
                .map(|c| c.as_str().to_string())
                .filter(|c| !c.is_empty());
        }
        let spec = self.request(HttpSpec::get(join_url(&self.base, "/healthz")));
        self.step = Step::Health(out.http(spec));
    }

    fn on_transport(&mut self, event: TransportEvent<'_>, out: &mut Actions) {
        match event {
            TransportEvent::HttpResponse {
                id,
                status,
                headers,
                body,
            } if Some(id) == self.history_req => {
                self.history_req = None;
                return self.on_history(Ok((status, headers, body)), out);
            }
            TransportEvent::HttpFailed { id, error } if Some(id) == self.history_req => {
                self.history_req = None;
                return self.on_history(Err(error), out);
            }
            _ => {}
        }
        match (self.step, event) {
            (
                Step::Health(id),
                TransportEvent::HttpResponse {
                    id: rid,
                    status,
                    headers,
                    body,
                },
            ) if id == rid => {
                if !(200..300).contains(&status) {
                    return out.fail(http_failure(status, headers, body));
                }
                match self.chat_id.clone() {
                    Some(chat) => self.open_socket(&chat, out),
                    None => {
                        let body = json!({"tenant_id": self.tenant, "title": self.title});
                        let url = join_url(&self.base, "/api/v1/chat");
                        let spec = self.request(HttpSpec::post_json(url, &body));
                        self.step = Step::CreateChat(out.http(spec));
                    }
                }
            }
            (
                Step::CreateChat(id),
                TransportEvent::HttpResponse {
                    id: rid,
                    status,
                    headers,
                    body,
                },
            ) if id == rid => {
                if !(200..300).contains(&status) {
                    return out.fail(http_failure(status, headers, body));
                }
                match wire::parse_created_chat(body) {
                    Some(chat) => {
                        self.chat_id = Some(chat.clone());
                        self.open_socket(&chat, out);
                    }
                    None => out.fail(Failure::protocol("chat creation answered no chat id")),
                }
            }
            (_, TransportEvent::HttpFailed { error, .. }) => out.fail(Failure::network(error)),
            (Step::AwaitReady(c) | Step::Ready(c), TransportEvent::SocketText { conn, text })
                if c == conn =>
            {
                match wire::parse_frame(text.as_bytes()) {
                    Ok(frame) => self.on_frame(frame, out),
                    Err(why) => out.emit(protocol_error(&why, text.as_bytes())),
                }
            }
            (_, TransportEvent::SocketBinary { bytes, .. }) => {
                out.emit(protocol_error(
                    "binary frame where text was expected",
                    bytes,
                ));
            }
            (_, TransportEvent::SocketClosed { reason, .. }) => out.fail(close_failure(reason)),
            _ => {}
        }
    }

    fn encode(&mut self, command: Outbound<'_>, out: &mut Actions) -> Result<(), DialectError> {
        let Step::Ready(conn) = self.step else {
            return Err(DialectError::NotConnected);
        };
        let frame = match command {
            Outbound::Message {
                client_id, text, ..
            } => {
                self.unacked.insert(client_id);
                self.chat_message(client_id, text)
            }
            Outbound::Typing { active } => wire::encode(&wire::Outbound {
                kind: if active {
                    "typing_start"
                } else {
                    "typing_stop"
                },
                data: json!({"chat_id": self.chat_id}),
                timestamp: None,
                client_id: None,
            }),
            Outbound::Ping { nonce } => wire::encode(&wire::Outbound {
                kind: "ping",
                data: json!({"nonce": nonce}),
                timestamp: None,
                client_id: None,
            }),
            Outbound::Audio { .. } => return Err(DialectError::Unsupported("audio")),
            Outbound::CancelTurn => return Err(DialectError::Unsupported("cancel")),
        };
        out.send_text(conn, frame);
        Ok(())
    }

    fn disconnect(&mut self, reason: Disconnect, out: &mut Actions) {
        if let (Step::Ready(conn), Disconnect::Closed, Some(chat)) =
            (self.step, reason, self.chat_id.clone())
        {
            let leave = wire::Outbound {
                kind: "leave_chat",
                data: ChatRef { chat_id: chat },
                timestamp: None,
                client_id: None,
            };
            out.send_text(conn, wire::encode(&leave));
        }
        self.step = Step::Idle;
        self.history_req = None;
    }
}

impl Miptech {
    /// Adds the tenant, API key, bearer and custom headers to a request.
    fn request(&self, mut spec: HttpSpec) -> HttpSpec {
        for (k, v) in self.headers() {
            spec = spec.header(k, v);
        }
        spec.timeout_ms(REST_TIMEOUT_MS)
    }

    fn headers(&self) -> Vec<(String, String)> {
        let mut h = vec![
            ("X-Tenant-ID".to_string(), self.tenant.clone()),
            ("X-Tenant".to_string(), self.tenant.clone()),
            ("Tenant-ID".to_string(), self.tenant.clone()),
        ];
        if let Some(key) = &self.api_key {
            h.push(("X-API-Key".into(), key.expose().to_string()));
        }
        if let Some(token) = &self.token {
            h.push(("Authorization".into(), format!("Bearer {}", token.expose())));
        }
        h.extend(self.extra_headers.iter().cloned());
        h
    }

    /// A `chat_message` frame; `clientId` (and `data.client_message_id`) carry the idempotency
    /// key, the timestamp is the client id's (UUIDv7) creation time.
    fn chat_message(&self, client_id: ClientId, text: &str) -> String {
        wire::encode(&wire::Outbound {
            kind: "chat_message",
            data: ChatMessageData {
                message: text.to_string(),
                chat_id: self.chat_id.clone(),
                tenant_id: self.tenant.clone(),
                client_message_id: client_id.to_string(),
            },
            timestamp: i64::try_from(client_id.unix_millis()).ok(),
            client_id: Some(client_id.to_string()),
        })
    }

    fn open_socket(&mut self, chat: &str, out: &mut Actions) {
        let mut url = format!(
            "{}?tenant_id={}&chat_id={}",
            join_url(&to_ws_url(&self.base), "/api/v1/ws/chat"),
            url_encode(&self.tenant),
            url_encode(chat)
        );
        if let Some(client) = &self.ws_client_id {
            url.push_str(&format!("&client_id={}", url_encode(client)));
        }
        self.step = Step::AwaitReady(out.open_socket(url, self.headers()));
    }
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_repeats;
#[cfg(test)]
mod tests_resume;
#[cfg(test)]
mod tests_tools;
#[cfg(test)]
mod tests_wire;
