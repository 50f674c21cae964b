//! The `ai-sdk` dialect: backends that answer with the Vercel AI SDK's UI message stream
//! (`streamText(...).toUIMessageStreamResponse()`), the protocol `useChat`'s
//! `DefaultChatTransport` speaks.
//!
//! # Turns
//!
//! Every turn is one `POST {api}` (default `{base}/api/chat`) carrying the SDK's body
//! `{id: <chat id>, messages: [UI messages], trigger: "submit-message", messageId: <client id>}`:
//! the whole conversation, as the SDK sends it, with the user message's id = the client id. The
//! dialect keeps the history (user messages by client id, each followed by its reply) and runs
//! one reply at a time; messages sent meanwhile wait in the dialect.
//!
//! The answer is SSE, one UI message chunk per `data:` line and a closing `data: [DONE]`
//! (`wire.rs` quotes the SDK's schema). Mapping: `start` -> `TurnStarted{reply_to}` +
//! `MessageStarted`; `start-step` / `finish-step` -> `Status{processing, stage: "step" /
//! "step-finished"}`; `text-delta` -> `TextDelta` appends with character offsets (every text part
//! of the message assembles into one text; `text-start` / `text-end` only bound parts);
//! `reasoning-*` -> `TextDelta` on the `Reasoning` channel; `tool-input-start` -> `ToolStarted`,
//! `tool-input-delta` -> `ToolArgsDelta`, `tool-input-available` -> `ToolStarted{args}` when no
//! start came first; `tool-output-available` -> `ToolCompleted` (`preliminary` ones ->
//! `ToolProgress`); `tool-output-error`, `tool-input-error`, `tool-output-denied` ->
//! `ToolFailed`; `data-<name>`, `source-url`, `source-document`, `file`, `reasoning-file`,
//! `custom`, tool approvals, `reset-step` and message metadata -> `Data{name: <chunk type>}`;
//! `error` -> `Error` + `TurnFailed`; `abort` -> `TurnCancelled`; `finish` keeps its
//! `finishReason`, and the closing `[DONE]` (or the end of the body after `finish`; `[DONE]`
//! alone too) -> `ToolCompleted{output: input}` for calls the server did not run,
//! `MessageCompleted`, `TurnCompleted{finishReason}`. An unknown chunk type becomes `Unknown`
//! (its chunk in `raw`); a chunk without a field its type requires is a protocol `Error`.
//!
//! # Acks and resume
//!
//! A message is acked when its reply has finished. A cut stream (the body ends or fails before
//! `finish`, `error`, `abort` or `[DONE]`) fails the connection; on reconnecting the dialect asks
//! the SDK's resumable-stream route `GET {api}/{chat id}/stream` before it reports ready:
//! - `200`: the reply continues there (a stream that starts again with `start` is a replay from
//!   the first chunk; the chunks already delivered are skipped), no `Discontinuity`;
//! - `204` ("no active stream found") or any other refusal (`404` where the backend has no such
//!   route): a `Discontinuity`, the interrupted turn fails, and the engine re-sends the message
//!   under the same `messageId` (a backend that deduplicates by message id answers it once);
//!   the re-sent turn has turn id `<client id>#<n>`, the same message id `<client id>:reply`,
//!   and its first text delta replaces the partial text;
//! - a network error, `429` or `5xx`: the connection fails again and the resume is retried.
//!
//! Chunks carry no sequence number and repeated tokens are byte-identical chunks, so a chunk's
//! dedup key is its position in the reply (`stream.rs`); a chunk duplicated on the wire by a
//! faulty intermediary cannot be told from a repeated token (SSE over one connection does not
//! duplicate). Reordered chunks cannot be detected.
//!
//! # What it cannot do
//!
//! The protocol has no server-side cancel (`useChat`'s `stop()` only aborts the fetch), no
//! typing indicators and no audio: `cancel` is answered locally by the engine.
//!
//! Params: `api` (the chat route, default `/api/chat`, or an absolute URL), `chat_id` (default
//! `chat-<seed as hex>`), `api_key` / `token` (sent as `Authorization: Bearer`), `timeout_ms`
//! (one reply, default 120 s), `max_history` (messages kept and sent, default 256),
//! `header.<Name>`.

mod stream;
mod wire;

use super::codec_kit::transcript::Transcript;

use super::codec_kit::errors::{error_event, http_failure};
use super::codec_kit::{
    ErrorBody, Params, Secret, credentials, custom_headers, opt_param, positive_param,
};
use super::{
    Actions, Capabilities, ConnectContext, Decoded, Dialect, Disconnect, Failure, FailureKind,
    HttpSpec, Liveness, Outbound, TransportEvent,
};
use crate::engine::bounded::BoundedMap;
use crate::error::DialectError;
use crate::event::FailReason;
use crate::ids::ClientId;
use crate::io::Method;
use stream::Reply;
use wire::{Request, UiMessage};

/// Default driver-side timeout of one reply (param `timeout_ms`).
pub const DEFAULT_TIMEOUT_MS: u64 = 120_000;

/// Messages of the conversation kept (and sent with each request) by default.
pub const DEFAULT_MAX_HISTORY: usize = 256;

/// The default chat route, the one `DefaultChatTransport` uses.
pub const DEFAULT_API: &str = "/api/chat";

/// The AI SDK UI message stream dialect. See the [module docs](self) for the mapping.
///
/// ```
/// use chatwire::dialect::{Dialect, ai_sdk::AiSdk};
/// let d = AiSdk::new("https://app.example.com", "chat-1");
/// assert_eq!(d.name(), "ai-sdk");
/// assert!(d.capabilities().resume && !d.capabilities().cancel);
/// ```
#[derive(Debug)]
pub struct AiSdk {
    api: String,
    chat_id: String,
    key: Option<Secret>,
    timeout_ms: u64,
    extra_headers: Vec<(String, String)>,
    /// The conversation as UI messages (at most `max_history`) and the messages waiting for the
    /// running reply to end.
    history: Transcript<UiMessage>,
    /// How many times each recent message was posted.
    attempts: BoundedMap<ClientId, u32>,
    ready: bool,
    /// The reply in flight (posted, or resuming).
    running: Option<Reply>,
    /// The running reply is being asked for on the resume route.
    resuming: bool,
    /// A reply cut mid-stream, to resume on the next connection.
    interrupted: Option<Reply>,
}

impl AiSdk {
    /// A dialect for the app at `base_url` (route [`DEFAULT_API`]) and chat `chat_id`.
    pub fn new(base_url: &str, chat_id: &str) -> AiSdk {
        let mut params = Params::new();
        params.insert("chat_id".into(), chat_id.into());
        AiSdk::from_params(base_url, &params, 0)
    }

    /// A dialect configured from params (see the [module docs](self)); `seed` names the default
    /// chat.
    pub fn from_params(base_url: &str, params: &Params, seed: u64) -> AiSdk {
        let route = opt_param(params, "api").unwrap_or_else(|| DEFAULT_API.into());
        let api = if route.starts_with("http://") || route.starts_with("https://") {
            route
        } else {
            let route = route.trim_start_matches('/');
            format!("{}/{route}", base_url.trim_end_matches('/'))
        };
        let (api_key, token) = credentials(params);
        AiSdk {
            api,
            chat_id: opt_param(params, "chat_id").unwrap_or_else(|| format!("chat-{seed:016x}")),
            key: api_key.or(token),
            timeout_ms: positive_param(params, "timeout_ms", DEFAULT_TIMEOUT_MS),
            extra_headers: custom_headers(params),
            history: Transcript::new(positive_param(params, "max_history", DEFAULT_MAX_HISTORY)),
            attempts: BoundedMap::new(256),
            ready: false,
            running: None,
            resuming: false,
            interrupted: None,
        }
    }
}

impl Dialect for AiSdk {
    fn name(&self) -> &'static str {
        "ai-sdk"
    }

    fn capabilities(&self) -> Capabilities {
        let mut c = Capabilities::none();
        c.acks = true;
        c.tools = true;
        // a cut reply is resumed through `GET {api}/{chat id}/stream` (or re-sent)
        c.resume = true;
        // a reply stream that stalls mid-turn (half-open) is found by `idle_timeout`
        c.liveness = Liveness::IdleDuringTurn;
        c
    }

    fn connect(&mut self, _cx: &ConnectContext<'_>, out: &mut Actions) {
        out.connected();
        let Some(mut reply) = self.interrupted.take() else {
            self.ready = true;
            return out.ready();
        };
        let url = format!("{}/{}/stream", self.api, self.chat_id);
        let request = out.http(
            self.headers(HttpSpec::get(url))
                .sse()
                .timeout_ms(self.timeout_ms),
        );
        reply.resume_on(request);
        self.running = Some(reply);
        self.resuming = true;
    }

    fn on_transport(&mut self, event: TransportEvent<'_>, out: &mut Actions) {
        let Some(run) = self.running.as_mut() else {
            return;
        };
        match event {
            TransportEvent::HttpResponse {
                id,
                status,
                headers,
                body,
            } if id == run.request => {
                if (200..300).contains(&status) && status != 204 {
                    run.streaming = true;
                    if std::mem::take(&mut self.resuming) {
                        self.ready = true;
                        out.ready();
                    }
                    return;
                }
                let failure = http_failure(status, headers, body);
                if self.resuming && (status == 204 || failure.kind == FailureKind::Fatal) {
                    let reason = if status == 204 {
                        "the backend has no stream to resume (204): the message is sent again"
                            .to_string()
                    } else {
                        format!(
                            "the backend refused to resume the stream (HTTP {status}): the message is sent again"
                        )
                    };
                    return self.abandon_resume(&reason, out);
                }
                if failure.kind == FailureKind::Fatal && !self.resuming {
                    // the request itself is refused (400, 404, 422): retrying cannot help, and
                    // no turn started
                    let client = run.client_id;
                    let error = error_event(Some(status), &ErrorBody::parse(body));
                    out.emit(Decoded::new(error));
                    out.reject(client, FailReason::Rejected);
                    self.running = None;
                    return self.start_next(out);
                }
                out.fail(failure);
            }
            TransportEvent::SseEvent { id, event } if id == run.request => {
                run.on_data(&event.data, out);
                if run.finished {
                    self.finish(out);
                }
            }
            TransportEvent::HttpEnd { id } if id == run.request => {
                if run.end_of_body(out) {
                    self.finish(out);
                } else {
                    out.fail(Failure::network(
                        "the reply stream ended before it finished",
                    ));
                }
            }
            TransportEvent::HttpFailed { id, error } if id == run.request => {
                out.fail(Failure::network(error));
            }
            _ => {}
        }
    }

    fn encode(&mut self, command: Outbound<'_>, out: &mut Actions) -> Result<(), DialectError> {
        if !self.ready {
            return Err(DialectError::NotConnected);
        }
        match command {
            Outbound::Message {
                client_id, text, ..
            } => {
                if self
                    .running
                    .as_ref()
                    .is_some_and(|r| r.client_id == client_id)
                {
                    // its reply is streaming already (a resumed stream): nothing to post
                    return Ok(());
                }
                let running = self.running.as_ref().map(|r| r.client_id);
                self.history.enqueue(client_id, running, || {
                    UiMessage::text(client_id.to_string(), "user", text.to_string())
                });
                if self.running.is_none() {
                    self.start_next(out);
                }
                Ok(())
            }
            Outbound::Audio { .. } => Err(DialectError::Unsupported("audio")),
            Outbound::Typing { .. } => Err(DialectError::Unsupported("typing")),
            Outbound::CancelTurn => Err(DialectError::Unsupported("cancel")),
            Outbound::Ping { .. } => Err(DialectError::Unsupported("ping")),
        }
    }

    fn disconnect(&mut self, reason: Disconnect, _out: &mut Actions) {
        // A reply cut mid-stream is resumed on the next connection; unacked messages come back
        // from the engine as re-sends, so the local queue is forgotten.
        self.ready = false;
        self.resuming = false;
        let cut = self.running.take().filter(|r| r.streaming && !r.finished);
        self.interrupted = match reason {
            Disconnect::Reconnecting => cut,
            _ => None,
        };
        self.history.clear_waiting();
    }
}

impl AiSdk {
    /// Auth and custom headers on a request.
    fn headers(&self, mut spec: HttpSpec) -> HttpSpec {
        if let Some(key) = &self.key {
            spec = spec.header("Authorization", format!("Bearer {}", key.expose()));
        }
        for (k, v) in &self.extra_headers {
            spec = spec.header(k.clone(), v.clone());
        }
        spec
    }

    /// Nothing to resume: report the gap, get ready, let the engine re-send the message.
    fn abandon_resume(&mut self, reason: &str, out: &mut Actions) {
        self.running = None;
        self.resuming = false;
        out.discontinuity(reason);
        self.ready = true;
        out.ready();
    }

    /// Posts the oldest waiting message with the conversation up to it.
    fn start_next(&mut self, out: &mut Actions) {
        let Some((client_id, messages)) = self.history.next() else {
            return;
        };
        let message_id = client_id.to_string();
        let body = wire::encode(&Request {
            id: &self.chat_id,
            messages: &messages,
            trigger: "submit-message",
            message_id: &message_id,
        });
        let spec = HttpSpec::new(Method::Post, self.api.clone())
            .header("Content-Type", "application/json")
            .body(body);
        let attempt = self
            .attempts
            .get(&client_id)
            .copied()
            .unwrap_or(0)
            .saturating_add(1);
        let _ = self.attempts.insert(client_id, attempt);
        let request = out.http(self.headers(spec).sse().timeout_ms(self.timeout_ms));
        self.running = Some(Reply::new(request, client_id, attempt));
    }

    /// The running reply ended: ack, record it, start the next one.
    fn finish(&mut self, out: &mut Actions) {
        let Some(run) = self.running.take() else {
            return;
        };
        out.ack(run.client_id, run.sdk_message_id.clone());
        let id = run.sdk_message_id.clone().unwrap_or(run.message.clone());
        let reply = UiMessage::text(id, "assistant", run.text.clone());
        self.history.record_reply(run.client_id, reply);
        self.start_next(out);
    }
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_wire;
