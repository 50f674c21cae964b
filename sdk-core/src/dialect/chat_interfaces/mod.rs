//! The `chat-interfaces` dialect: public chat interfaces over REST + SSE
//! (`chat-interfaces-phase2-sse.md`; wire details in `wire.rs`). All routes live under
//! `/api/public/chat-interfaces/{slug}`.
//!
//! # Connection plan
//!
//! `POST .../sessions` creates a session (skipped when the session token is known: param
//! `session_token` or an earlier connection), then `GET .../stream?sessionToken=..` opens the
//! session's SSE stream, with `Last-Event-ID: <cursor>` on reconnection. The dialect is ready when
//! the stream answers 2xx. The server sends a `: heartbeat` comment every 15 s, so liveness is
//! the engine's idle timeout. The session token is sent as `sessionToken` and
//! `X-Session-Token`.
//!
//! # Messages and turns
//!
//! `POST .../messages` `{sessionToken, message, clientMessageId}` with `Idempotency-Key: <client
//! id>` answers `{executionId, threadId}`: the message is acked (server id = execution id) and
//! the execution is the turn (turn id = execution id, `TurnStarted{reply_to: client id}`). Stream
//! events map as: `token` -> `MessageStarted` + `TextDelta` appends; `tool_call_started/
//! completed/failed` -> `ToolStarted/ToolCompleted/ToolFailed`; `message` -> `MessageCompleted`
//! (or a complete `Message` when nothing was streamed); `execution:completed` ->
//! `TurnCompleted`; `execution:failed` -> `TurnFailed`; `error` -> `Error`; others -> `Unknown`.
//! One message POST is in flight at a time (capability `ordered_sends`), so the server gets the
//! messages in send order.
//! `429` + `Retry-After`, `503` and `401`/`403` are classified for the engine's retry; a
//! `404 SESSION_NOT_FOUND` drops the session so the next attempt creates a new one.
//!
//! # Resume
//!
//! Every event carries an SSE `id` (the session's event sequence): it is the dedup key and the
//! cursor, the reconnection sends the last one delivered as `Last-Event-ID` (or, when the stream
//! broke before its first event, the `connected` id: an execution that ran while the client was
//! away is then replayed, not skipped), and it restores the order of reordered
//! events (tokens have no index of their own; see `reorder`, param `reorder=off`). The `connected` event's id is where
//! the new stream starts; if it is past the cursor the server could not replay the gap, so the
//! dialect reports a discontinuity and fetches `GET .../sessions/{token}/messages` to deliver the
//! missed assistant messages (deduplicated by message id against the ones already streamed).
//!
//! Params: `slug` (default `demo`), `session_token`, `token` / `api_key` (bearer), `header.<Name>`.

mod reorder;
mod stream;
mod wire;

use super::codec_kit::errors::{error_event, http_failure};
use super::codec_kit::{
    ErrorBody, Params, Secret, credentials, custom_headers, join_url, opt_param, param, url_encode,
};
use super::{
    Actions, Capabilities, ConnectContext, Decoded, Dialect, Disconnect, Failure, FailureKind,
    HttpSpec, Liveness, Outbound, TransportEvent,
};
use crate::engine::bounded::BoundedMap;
use crate::error::DialectError;
use crate::event::{Event, FailReason};
use crate::ids::{ClientId, DedupKey, RequestId};
use crate::io::Method;
use wire::SendMessage;

/// Driver-side timeout of the REST calls (not the event stream, watched by the idle timeout).
const REST_TIMEOUT_MS: u64 = 30_000;

/// Message POSTs in flight remembered (more than the engine's queue ever holds at once).
const POSTS_CAP: usize = 256;

/// The default interface slug, accepted by `chatwire-mock`.
pub const DEFAULT_SLUG: &str = "demo";

/// The chat-interfaces dialect. See the [module docs](self) for the protocol.
///
/// ```
/// use chatwire::dialect::{Dialect, chat_interfaces::ChatInterfaces};
/// let d = ChatInterfaces::new("https://app.example.com");
/// assert_eq!(d.name(), "chat-interfaces");
/// assert!(d.capabilities().resume && d.capabilities().acks);
/// ```
#[derive(Debug)]
pub struct ChatInterfaces {
    /// `{base}/api/public/chat-interfaces/{slug}`.
    root: String,
    bearer: Option<Secret>,
    extra_headers: Vec<(String, String)>,
    /// The session token (a credential: never in `Debug` output or cursors).
    session: Option<Secret>,
    step: Step,
    /// Message POSTs in flight.
    posts: BoundedMap<RequestId, ClientId>,
    history: Option<RequestId>,
    /// Decoding state of the stream.
    state: stream::State,
    /// Order of the stream's events, restored from their ids.
    order: reorder::SseOrder,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Idle,
    CreateSession(RequestId),
    Stream(RequestId),
}

impl ChatInterfaces {
    /// A dialect for the backend at `base_url`, interface [`DEFAULT_SLUG`].
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
    /// use chatwire::dialect::chat_interfaces::ChatInterfaces;
    /// let request = first_request(ChatInterfaces::new("https://app.example.com"));
    /// // connecting starts by creating a session of the `demo` interface
    /// assert_eq!(request.url, "https://app.example.com/api/public/chat-interfaces/demo/sessions");
    /// ```
    pub fn new(base_url: &str) -> ChatInterfaces {
        ChatInterfaces::from_params(base_url, &Params::new())
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
    /// use chatwire::dialect::chat_interfaces::ChatInterfaces;
    /// let params = [("slug", "support"), ("session_token", "st-1")]
    ///     .map(|(k, v)| (k.to_string(), v.to_string())).into();
    /// let request = first_request(ChatInterfaces::from_params("https://app.example.com", &params));
    /// // a known session token skips session creation: the event stream opens at once
    /// assert!(request.url.starts_with("https://app.example.com/api/public/chat-interfaces/support/stream?"));
    /// ```
    pub fn from_params(base_url: &str, params: &Params) -> ChatInterfaces {
        let slug = param(params, "slug", DEFAULT_SLUG);
        let path = format!("/api/public/chat-interfaces/{}", url_encode(&slug));
        let (api_key, token) = credentials(params);
        ChatInterfaces {
            root: join_url(base_url.trim_end_matches('/'), &path),
            bearer: token.or(api_key),
            extra_headers: custom_headers(params),
            session: opt_param(params, "session_token").map(Secret::new),
            step: Step::Idle,
            posts: BoundedMap::new(POSTS_CAP),
            history: None,
            state: stream::State::default(),
            order: reorder::SseOrder::new(opt_param(params, "reorder").as_deref() != Some("off")),
        }
    }
}

impl Dialect for ChatInterfaces {
    fn name(&self) -> &'static str {
        "chat-interfaces"
    }

    fn capabilities(&self) -> Capabilities {
        let mut c = Capabilities::none();
        c.acks = true;
        c.resume = true;
        c.tools = true;
        c.ordered_sends = true;
        c.liveness = Liveness::Idle;
        c
    }

    fn connect(&mut self, cx: &ConnectContext<'_>, out: &mut Actions) {
        self.state.resume_point(cx.resume);
        if self.session.is_some() {
            return self.open_stream(out);
        }
        let url = join_url(&self.root, "/sessions");
        let spec = self.request(Method::Post, url).body(b"{}".to_vec());
        self.step = Step::CreateSession(out.http(spec.timeout_ms(REST_TIMEOUT_MS)));
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
                if self.history == Some(id) {
                    self.history = None;
                    if (200..300).contains(&status) {
                        self.state.on_history(body, out);
                    }
                    return;
                }
                match self.step {
                    Step::CreateSession(s) if s == id => {
                        if !(200..300).contains(&status) {
                            return out.fail(http_failure(status, headers, body));
                        }
                        match wire::parse_session_response(body) {
                            Some(token) => {
                                self.session = Some(Secret::new(token));
                                self.state.new_session();
                                self.open_stream(out);
                            }
                            None => out.fail(Failure::protocol("session answer without a token")),
                        }
                    }
                    Step::Stream(s) if s == id => {
                        if (200..300).contains(&status) {
                            out.connected();
                            out.ready();
                        } else {
                            out.fail(self.post_failure(status, headers, body));
                        }
                    }
                    _ => {}
                }
            }
            TransportEvent::SseEvent { id, event } if self.step == Step::Stream(id) => {
                let ready = self.order.accept(event);
                self.decode_all(ready, out);
            }
            TransportEvent::HttpEnd { id } if self.step == Step::Stream(id) => {
                let held = self.order.flush();
                self.decode_all(held, out);
                out.fail(Failure::network("the event stream ended"));
            }
            TransportEvent::HttpFailed { id, error } => {
                if self.history == Some(id) {
                    self.history = None;
                    return;
                }
                self.posts.remove(&id);
                if self.step == Step::Stream(id) {
                    let held = self.order.flush();
                    self.decode_all(held, out);
                }
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
                // any order: `ordered_sends` makes the engine hand over the next message only
                // once this POST is answered (acked or rejected), so messages arrive in send order.
                let body = wire::encode(&SendMessage {
                    message: text,
                    session_token: session.expose(),
                    client_message_id: client_id.to_string(),
                    attachments: Vec::new(),
                });
                let spec = self
                    .request(Method::Post, join_url(&self.root, "/messages"))
                    .header("Idempotency-Key", client_id.to_string())
                    .body(body)
                    .timeout_ms(REST_TIMEOUT_MS);
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
        self.history = None;
        self.order.reset();
    }
}

impl ChatInterfaces {
    /// A request with the session, bearer and custom headers.
    fn request(&self, method: Method, url: String) -> HttpSpec {
        let mut spec = HttpSpec::new(method, url);
        if method == Method::Post {
            spec = spec.header("Content-Type", "application/json");
        }
        if let Some(s) = &self.session {
            spec = spec.header("X-Session-Token", s.expose());
        }
        if let Some(b) = &self.bearer {
            spec = spec.header("Authorization", format!("Bearer {}", b.expose()));
        }
        for (k, v) in &self.extra_headers {
            spec = spec.header(k.clone(), v.clone());
        }
        spec
    }

    /// Decodes events in order; a stream that restarted past the cursor has its gap filled
    /// from the history.
    fn decode_all(&mut self, events: Vec<crate::sse::Event>, out: &mut Actions) {
        for event in &events {
            if self.state.decode(event, out) {
                self.fetch_history(out);
            }
        }
    }

    fn open_stream(&mut self, out: &mut Actions) {
        let Some(session) = &self.session else {
            return;
        };
        let url = format!(
            "{}?sessionToken={}",
            join_url(&self.root, "/stream"),
            url_encode(session.expose())
        );
        let mut spec = self.request(Method::Get, url).sse();
        if let Some(last) = &self.state.resume_from {
            spec = spec.header("Last-Event-ID", last.clone());
        }
        self.step = Step::Stream(out.http(spec));
    }

    fn fetch_history(&mut self, out: &mut Actions) {
        let Some(session) = &self.session else {
            return;
        };
        let path = format!("/sessions/{}/messages", url_encode(session.expose()));
        let spec = self.request(Method::Get, join_url(&self.root, &path));
        self.history = Some(out.http(spec.timeout_ms(REST_TIMEOUT_MS)));
    }

    /// The failure for an unsuccessful answer. A `404 SESSION_NOT_FOUND` means the session
    /// expired: it is forgotten and the failure retried, so the next attempt creates a new one.
    fn post_failure(&mut self, status: u16, headers: &[(String, String)], body: &[u8]) -> Failure {
        let code = ErrorBody::parse(body).code.unwrap_or_default();
        if status == 404 && code.eq_ignore_ascii_case("SESSION_NOT_FOUND") {
            self.session = None;
            return Failure::new(
                FailureKind::Server,
                "the session expired; starting a new one",
            );
        }
        http_failure(status, headers, body)
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
            let Some((execution, _thread)) = wire::parse_send_response(body) else {
                return out.fail(Failure::protocol("message answer without an executionId"));
            };
            out.ack(client_id, Some(execution.clone()));
            self.state.own_execution(execution.clone(), client_id);
            let started = Decoded::new(Event::TurnStarted {
                reply_to: Some(client_id.to_string()),
            });
            let key = DedupKey::Id(format!("{execution}:started"));
            let raw = serde_json::from_slice(body).unwrap_or(serde_json::Value::Null);
            out.emit(started.turn(execution).dedup(key).raw(raw));
            return;
        }
        let failure = self.post_failure(status, headers, body);
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

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_wire;
