//! The `parlant` dialect: the Parlant server's REST API (sessions and events), read by
//! long-polling (`parlant-react-chat-architecture.md`; wire details in `wire.rs`).
//!
//! # Connection plan
//!
//! `POST /sessions?allow_greeting=false` with `{"agent_id"}` creates the session (skipped when
//! the session is known: param `session_id`, the resume cursor, or an earlier connection); the
//! dialect is then ready and keeps one long-poll running:
//! `GET /sessions/{id}/events?min_offset=N&wait_for_data=S`. A `504` means "nothing new" and is
//! simply re-issued; other failures are classified (429 + `Retry-After`, 503, 401/403, ...).
//!
//! # Messages, acks, resume
//!
//! A message is `POST /sessions/{id}/events?moderation=auto` with
//! `{"kind":"message","source":"customer","message"}` and an `Idempotency-Key` header; the stored
//! event in the answer acks it (server id = event id); one message POST is in flight at a time
//! (capability `ordered_sends`), so the session stores messages in send order. Parlant keeps
//! every event, so resume is exact: the cursor is `<session id>@<offset>` and the poll after a
//! reconnection starts at `min_offset = offset + 1`.
//!
//! # Events
//!
//! `status` events drive the turn: `acknowledged` opens it (`TurnStarted{reply_to}` from
//! `acknowledged_offset`), `processing` (with its `stage`) and `typing` become `Status`, `ready`
//! completes it, `cancelled` -> `TurnCancelled`, `error` -> `Error` + `TurnFailed`. Agent
//! messages become a complete `Message`, or, when streamed as growing `chunks`, `MessageStarted`,
//! cumulative `TextDelta::Replace` snapshots and `MessageCompleted` once the chunks end with
//! `null`. `tool` events become `ToolStarted` + `ToolCompleted`/`ToolFailed` per call. Customer
//! messages (the app's own) are not echoed; `custom` and unknown kinds become `Unknown`.
//!
//! A streamed message is re-served at the same offset as it grows, and `min_offset` is
//! inclusive, so polling from it would return at once forever. The dialect waits from the next
//! offset instead and re-fetches the unfinished message from its offset whenever a poll brought
//! something new; the cursor never moves past an unfinished message.
//!
//! Params: `agent_id` (default `demo-agent`), `session_id`, `customer_id`, `token` / `api_key`
//! (sent as `Authorization: Bearer`), `wait_for_data` (seconds, default 30), `header.<Name>`.

mod events;
mod wire;

use super::codec_kit::errors::{error_event, http_failure};
use super::codec_kit::{
    ErrorBody, Params, Secret, credentials, custom_headers, join_url, opt_param, param, url_encode,
};
use super::{
    Actions, Capabilities, ConnectContext, Decoded, Dialect, Disconnect, Failure, FailureKind,
    HttpSpec, Outbound, TransportEvent,
};
use crate::engine::bounded::BoundedMap;
use crate::error::DialectError;
use crate::event::FailReason;
use crate::ids::{ClientId, RequestId};
use crate::io::Method;
use wire::{CreateMessageEvent, CreateSession};

/// Driver-side timeout of the REST calls (the long-poll sets its own: `wait_for_data` + 15 s).
const REST_TIMEOUT_MS: u64 = 30_000;

/// Message POSTs in flight remembered (more than the engine's queue ever holds at once).
const POSTS_CAP: usize = 256;

/// The default agent id, accepted by `chatwire-mock`.
pub const DEFAULT_AGENT: &str = "demo-agent";

/// The Parlant dialect. See the [module docs](self) for the protocol.
///
/// ```
/// use chatwire::dialect::{Dialect, parlant::Parlant};
/// let d = Parlant::new("http://localhost:8800");
/// assert_eq!(d.name(), "parlant");
/// assert!(d.capabilities().resume && d.capabilities().acks);
/// ```
#[derive(Debug)]
pub struct Parlant {
    base: String,
    agent_id: String,
    customer_id: Option<String>,
    token: Option<Secret>,
    wait_s: u64,
    extra_headers: Vec<(String, String)>,
    /// The session; kept across reconnections.
    session: Option<String>,
    step: Step,
    /// The next poll's `min_offset` when nothing is unfinished.
    next_offset: u64,
    /// Message POSTs in flight.
    posts: BoundedMap<RequestId, ClientId>,
    /// Decoding state: turn, unfinished messages, our customer messages.
    state: events::State,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Idle,
    CreateSession(RequestId),
    Polling(RequestId),
}

impl Parlant {
    /// A dialect for the Parlant server at `base_url`, agent [`DEFAULT_AGENT`].
    ///
    /// ```
    /// # fn first_request(dialect: impl chatwire::dialect::Dialect + 'static) -> chatwire::HttpRequest {
    /// #     let config = chatwire::Config::default();
    /// #     let mut engine = chatwire::Engine::new(config, Box::new(dialect)).unwrap();
    /// #     engine.connect(chatwire::Instant::ZERO).unwrap();
    /// #     std::iter::from_fn(|| engine.poll_output())
    /// #         .find_map(|o| match o { chatwire::Output::HttpRequest(r) => Some(r), _ => None })
    /// #         .unwrap()
    /// # }
    /// use chatwire::dialect::parlant::{DEFAULT_AGENT, Parlant};
    /// let request = first_request(Parlant::new("http://localhost:8800"));
    /// // connecting starts by creating a session with the default agent
    /// assert_eq!(request.url, "http://localhost:8800/sessions?allow_greeting=false");
    /// assert!(String::from_utf8_lossy(&request.body).contains(DEFAULT_AGENT));
    /// ```
    pub fn new(base_url: &str) -> Parlant {
        Parlant::from_params(base_url, &Params::new())
    }

    /// A dialect configured from params (see the [module docs](self)).
    ///
    /// ```
    /// # fn first_request(dialect: impl chatwire::dialect::Dialect + 'static) -> chatwire::HttpRequest {
    /// #     let config = chatwire::Config::default();
    /// #     let mut engine = chatwire::Engine::new(config, Box::new(dialect)).unwrap();
    /// #     engine.connect(chatwire::Instant::ZERO).unwrap();
    /// #     std::iter::from_fn(|| engine.poll_output())
    /// #         .find_map(|o| match o { chatwire::Output::HttpRequest(r) => Some(r), _ => None })
    /// #         .unwrap()
    /// # }
    /// use chatwire::dialect::parlant::Parlant;
    /// let params = [("session_id", "s-9")]
    ///     .map(|(k, v)| (k.to_string(), v.to_string())).into();
    /// let request = first_request(Parlant::from_params("http://localhost:8800", &params));
    /// // a known session skips session creation: polling its events starts at once
    /// assert!(request.url.starts_with("http://localhost:8800/sessions/s-9/events?"));
    /// ```
    pub fn from_params(base_url: &str, params: &Params) -> Parlant {
        let (api_key, token) = credentials(params);
        let wait_s = opt_param(params, "wait_for_data").and_then(|w| w.parse().ok());
        Parlant {
            base: base_url.trim_end_matches('/').to_string(),
            agent_id: param(params, "agent_id", DEFAULT_AGENT),
            customer_id: opt_param(params, "customer_id"),
            token: token.or(api_key),
            wait_s: wait_s.unwrap_or(30).clamp(1, 600),
            extra_headers: custom_headers(params),
            session: opt_param(params, "session_id"),
            step: Step::Idle,
            next_offset: 0,
            posts: BoundedMap::new(POSTS_CAP),
            state: events::State::default(),
        }
    }

    /// The session in use, once known.
    pub fn session_id(&self) -> Option<&str> {
        self.session.as_deref()
    }
}

impl Dialect for Parlant {
    fn name(&self) -> &'static str {
        "parlant"
    }

    fn capabilities(&self) -> Capabilities {
        let mut c = Capabilities::none();
        c.acks = true;
        c.resume = true;
        c.tools = true;
        c.ordered_sends = true;
        c
    }

    fn connect(&mut self, cx: &ConnectContext<'_>, out: &mut Actions) {
        if let Some((session, offset)) = cx.resume.and_then(|c| parse_cursor(c.as_str())) {
            if self.session.as_deref().is_none_or(|s| s == session) {
                self.session = Some(session.to_string());
                self.next_offset = self.next_offset.max(offset.saturating_add(1));
            }
        }
        if self.session.is_some() {
            out.connected();
            out.ready();
            return self.poll(out);
        }
        let url = format!("{}?allow_greeting=false", join_url(&self.base, "/sessions"));
        let body = wire::encode(&CreateSession {
            agent_id: &self.agent_id,
            customer_id: self.customer_id.as_deref(),
            title: None,
        });
        self.step = Step::CreateSession(out.http(self.request(Method::Post, url).body(body)));
    }

    fn on_transport(&mut self, event: TransportEvent<'_>, out: &mut Actions) {
        match event {
            TransportEvent::HttpResponse {
                id,
                status,
                headers,
                body,
            } => {
                if let Some(client_id) = self.posts.remove(&id) {
                    return self.on_posted(client_id, status, headers, body, out);
                }
                match self.step {
                    Step::CreateSession(s) if s == id => {
                        if !(200..300).contains(&status) {
                            return out.fail(http_failure(status, headers, body));
                        }
                        match wire::parse_session_id(body) {
                            Some(session) => {
                                self.session = Some(session);
                                self.next_offset = 0;
                                out.connected();
                                out.ready();
                                self.poll(out);
                            }
                            None => out.fail(Failure::protocol("session creation answered no id")),
                        }
                    }
                    Step::Polling(p) if p == id => self.on_poll(status, headers, body, out),
                    _ => {}
                }
            }
            TransportEvent::HttpFailed { id, error } => {
                // A failed post or poll: the engine re-sends unacked messages after reconnecting.
                self.posts.remove(&id);
                out.fail(Failure::network(error));
            }
            _ => {}
        }
    }

    fn encode(&mut self, command: Outbound<'_>, out: &mut Actions) -> Result<(), DialectError> {
        let Some(session) = self.session.clone() else {
            return Err(DialectError::NotConnected);
        };
        match command {
            Outbound::Message {
                client_id, text, ..
            } => {
                // Each message is a POST of its own, and concurrent POSTs can reach the server in
                // any order (Parlant gives each the next offset as it arrives): `ordered_sends`
                // makes the engine hand over the next message only once this POST is answered.
                let path = format!("/sessions/{}/events", url_encode(&session));
                let url = format!("{}?moderation=auto", join_url(&self.base, &path));
                let body = CreateMessageEvent {
                    kind: "message",
                    source: "customer",
                    message: text,
                };
                let spec = self
                    .request(Method::Post, url)
                    .header("Idempotency-Key", client_id.to_string())
                    .body(wire::encode(&body));
                let _ = self.posts.insert(out.http(spec), client_id);
                Ok(())
            }
            Outbound::Audio { .. } => Err(DialectError::Unsupported("audio")),
            Outbound::Typing { .. } => Err(DialectError::Unsupported("typing")),
            Outbound::CancelTurn => Err(DialectError::Unsupported("cancel")),
            Outbound::Ping { .. } => Err(DialectError::Unsupported("ping")),
        }
    }

    fn disconnect(&mut self, _reason: Disconnect, _out: &mut Actions) {
        self.step = Step::Idle;
        self.posts.clear();
    }
}

impl Parlant {
    fn request(&self, method: Method, url: String) -> HttpSpec {
        let mut spec = HttpSpec::new(method, url);
        if method == Method::Post {
            spec = spec.header("Content-Type", "application/json");
        }
        if let Some(token) = &self.token {
            spec = spec.header("Authorization", format!("Bearer {}", token.expose()));
        }
        for (k, v) in &self.extra_headers {
            spec = spec.header(k.clone(), v.clone());
        }
        spec.timeout_ms(REST_TIMEOUT_MS)
    }

    /// Issues the long-poll from `min_offset` (the oldest unfinished message, else the next
    /// offset).
    fn poll(&mut self, out: &mut Actions) {
        let Some(session) = &self.session else {
            return;
        };
        let min = self.state.refetch_from().unwrap_or(self.next_offset);
        let path = format!("/sessions/{}/events", url_encode(session));
        let url = format!(
            "{}?min_offset={min}&wait_for_data={}",
            join_url(&self.base, &path),
            self.wait_s
        );
        let spec = self
            .request(Method::Get, url)
            .timeout_ms((self.wait_s + 15) * 1000);
        self.step = Step::Polling(out.http(spec));
    }

    fn on_poll(
        &mut self,
        status: u16,
        headers: &[(String, String)],
        body: &[u8],
        out: &mut Actions,
    ) {
        match status {
            200..=299 => {}
            504 => return self.poll(out),
            _ => return out.fail(http_failure(status, headers, body)),
        }
        let mut list = match wire::parse_events(body) {
            Ok(list) => list,
            Err(why) => {
                out.emit(super::codec_kit::errors::protocol_error(&why, body));
                return self.poll(out);
            }
        };
        // The offset is the event's place in the session (the poll answers "the events with
        // `offset >= N`"); the array's order is not, when something on the way reorders it. So
        // events are decoded by offset: a `ready` decoded before the message at a lower offset
        // would end the turn without its text. Entries without an offset are reported first.
        list.sort_by_key(|item| item.as_ref().map_or(0, |e| e.offset));
        let session = self.session.clone().unwrap_or_default();
        let before = self.next_offset;
        for item in list {
            match item {
                Ok(event) => {
                    self.next_offset = self.next_offset.max(event.offset.saturating_add(1));
                    self.state.decode(&session, event, out);
                }
                Err(why) => out.emit(super::codec_kit::errors::protocol_error(&why, b"")),
            }
        }
        self.state.set_progress(self.next_offset > before);
        self.poll(out);
    }

    fn on_posted(
        &mut self,
        client_id: ClientId,
        status: u16,
        headers: &[(String, String)],
        body: &[u8],
        out: &mut Actions,
    ) {
        if (200..300).contains(&status) {
            let event = wire::parse_json_event(body);
            let server_id = event.as_ref().map(|e| e.id.clone());
            if let Some(e) = event {
                self.state.own_message(e.offset, client_id);
            }
            return out.ack(client_id, server_id);
        }
        let failure = http_failure(status, headers, body);
        if failure.kind == FailureKind::Fatal {
            out.emit(Decoded::new(error_event(
                Some(status),
                &ErrorBody::parse(body),
            )));
            out.reject(client_id, FailReason::Rejected);
        } else {
            out.fail(failure);
        }
    }
}

/// `"<session>@<offset>"` -> `(session, offset)`.
fn parse_cursor(cursor: &str) -> Option<(&str, u64)> {
    let (session, offset) = cursor.rsplit_once('@')?;
    Some((session, offset.parse().ok()?)).filter(|(s, _)| !s.is_empty())
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_wire;
