//! The `openai` dialect: OpenAI-compatible Chat Completions streaming
//! (`POST /v1/chat/completions` with `stream: true`), as spoken by OpenAI and most compatible
//! backends (the "OpenAI-style API" of `nextchat-sillytavern-architecture.md`).
//!
//! # Turns
//!
//! The protocol is stateless: every turn is one POST carrying the whole conversation, so the
//! dialect keeps the history (user messages by client id, each followed by its assistant reply)
//! and runs one completion at a time; messages sent meanwhile wait in the dialect and are posted
//! when the running completion ends. Each POST carries `Idempotency-Key: <client id>`.
//!
//! A completion is mapped as: first chunk -> `TurnStarted{reply_to}` + `MessageStarted`;
//! `delta.content` -> `TextDelta` appends with character offsets; `delta.reasoning_content` ->
//! `TextDelta` on the `Reasoning` channel; `delta.tool_calls[i]` -> `ToolStarted` (first fragment,
//! with id and name) and `ToolArgsDelta` (argument fragments); `finish_reason` -> stored, and
//! `"tool_calls"` ends every tool call with `ToolCompleted{output: <parsed arguments>}` (the
//! model has finished the call; running the tool is the app's business); the usage chunk ->
//! `TurnCompleted{usage}`; `[DONE]` (or the end of the body after a `finish_reason`) ->
//! `MessageCompleted` + `TurnCompleted`. A streamed `{"error":..}` -> `Error` + `TurnFailed`.
//!
//! # Acks, no resume: the one dialect that re-sends a cut turn
//!
//! A message is acked when its completion has ended (the backend answered it in full), not when
//! the response headers arrive: the turn lives in one HTTP response, and the protocol has no
//! history or resume to recover a cut reply from. So if the stream is cut, the message is still
//! unacked and the engine re-sends it after reconnecting, with the same `Idempotency-Key` (a
//! backend that honours it replays the same completion; one that does not generates a new one
//! and records the message twice — the only dialect where that can happen, by design). A
//! message whose completion ended is never sent again. The protocol has no
//! resume, so the engine reports a `Discontinuity` and fails the interrupted turn; the re-sent
//! turn gets a new turn id (`<client id>#<attempt>`) but the same message id
//! (`<client id>:reply`), and its first text delta is a `Replace`, so the partial text of the
//! interrupted attempt is replaced, never doubled.
//!
//! # Dedup
//!
//! Chunks carry no sequence number, and real backends send byte-identical chunks whenever a
//! token repeats (same `id`, `created`, `model`, content `" the"`), so a chunk is never
//! deduplicated by its content: its dedup key is its position, `(attempt, ordinal in the
//! attempt's body)`. One HTTP body does not duplicate chunks by itself, and a re-sent attempt has
//! its own turn id and replaces the text. The trade-off: a chunk duplicated on the wire by a
//! faulty intermediary cannot be told apart from a repeated token and goes through as text (the
//! protocol has no final full text to repair it with); correctness for real backends comes
//! first. Param `dedup=none` leaves chunks without a dedup key. Reordered chunks cannot be
//! detected.
//!
//! Params: `model` (default `mock-gpt`), `api_key` / `token` (sent as `Authorization: Bearer`),
//! `user`, `system_prompt`, `dedup`, `timeout_ms` (one completion, default 120 s),
//! `max_history` (messages of the conversation kept and sent, default 256, the oldest dropped
//! first), `header.<Name>`. A base URL ending in `/v1` is used as is.

mod stream;
mod wire;

use super::codec_kit::transcript::Transcript;

use super::codec_kit::errors::{error_event, http_failure};
use super::codec_kit::{
    ErrorBody, Params, Secret, credentials, custom_headers, opt_param, param, positive_param,
};
use super::{
    Actions, Capabilities, ConnectContext, Dialect, Disconnect, Failure, FailureKind, HttpSpec,
    Liveness, Outbound, TransportEvent,
};
use crate::engine::bounded::BoundedMap;
use crate::error::DialectError;
use crate::event::FailReason;
use crate::ids::ClientId;
use crate::io::Method;
use stream::Completion;
use wire::{ChatMessage, Request, StreamOptions};

/// Default timeout of one completion (enforced by the engine) (param `timeout_ms`): a stalled stream fails
/// and its message is re-sent, instead of holding up the messages queued behind it.
pub const DEFAULT_TIMEOUT_MS: u64 = 120_000;

/// Messages of the conversation kept (and sent with each completion) by default.
pub const DEFAULT_MAX_HISTORY: usize = 256;

/// The default model, accepted by `chatwire-mock`.
pub const DEFAULT_MODEL: &str = "mock-gpt";

/// The OpenAI-compatible dialect. See the [module docs](self) for the mapping.
///
/// ```
/// use chatwire::dialect::{Dialect, openai::OpenAi};
/// let d = OpenAi::new("https://api.openai.com/v1");
/// assert_eq!(d.name(), "openai");
/// assert!(d.capabilities().acks && !d.capabilities().resume);
/// ```
#[derive(Debug)]
pub struct OpenAi {
    url: String,
    model: String,
    key: Option<Secret>,
    user: Option<String>,
    system: Option<String>,
    dedup: bool,
    timeout_ms: u64,
    extra_headers: Vec<(String, String)>,
    /// The conversation (at most `max_history` messages) and the messages waiting for the
    /// running completion to end.
    history: Transcript<ChatMessage>,
    /// How many times each recent message was posted.
    attempts: BoundedMap<ClientId, u32>,
    ready: bool,
    /// The completion in flight.
    running: Option<Completion>,
}

impl OpenAi {
    /// A dialect for the API at `base_url` with model [`DEFAULT_MODEL`] and no key.
    pub fn new(base_url: &str) -> OpenAi {
        OpenAi::from_params(base_url, &Params::new())
    }

    /// A dialect configured from params (see the [module docs](self)).
    pub fn from_params(base_url: &str, params: &Params) -> OpenAi {
        let base = base_url.trim_end_matches('/');
        let url = if base.ends_with("/v1") {
            format!("{base}/chat/completions")
        } else {
            format!("{base}/v1/chat/completions")
        };
        let (api_key, token) = credentials(params);
        OpenAi {
            url,
            model: param(params, "model", DEFAULT_MODEL),
            key: api_key.or(token),
            user: opt_param(params, "user"),
            system: opt_param(params, "system_prompt"),
            dedup: opt_param(params, "dedup").as_deref() != Some("none"),
            timeout_ms: positive_param(params, "timeout_ms", DEFAULT_TIMEOUT_MS),
            extra_headers: custom_headers(params),
            history: Transcript::new(positive_param(params, "max_history", DEFAULT_MAX_HISTORY)),
            attempts: BoundedMap::new(256),
            ready: false,
            running: None,
        }
    }
}

impl Dialect for OpenAi {
    fn name(&self) -> &'static str {
        "openai"
    }

    fn capabilities(&self) -> Capabilities {
        let mut c = Capabilities::none();
        c.acks = true;
        c.tools = true;
        // A completion that stops streaming mid-reply (half-open) is found by `idle_timeout`.
        c.liveness = Liveness::IdleDuringTurn;
        c
    }

    fn connect(&mut self, _cx: &ConnectContext<'_>, out: &mut Actions) {
        self.ready = true;
        out.connected();
        out.ready();
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
                if (200..300).contains(&status) {
                    return;
                }
                let failure = http_failure(status, headers, body);
                if failure.kind == FailureKind::Fatal {
                    // The request itself is refused (400, 404, 422): retrying cannot help. No
                    // turn started, so the error belongs to none (a turn id would open a turn
                    // that nothing ends).
                    let client = run.client_id;
                    let error = error_event(Some(status), &ErrorBody::parse(body));
                    out.emit(super::Decoded::new(error));
                    out.reject(client, FailReason::Rejected);
                    self.running = None;
                    self.start_next(out);
                } else {
                    out.fail(failure);
                }
            }
            TransportEvent::SseEvent { id, event } if id == run.request => {
                run.on_data(&event.data, self.dedup, out);
                if run.finished {
                    self.finish(out);
                }
            }
            TransportEvent::HttpEnd { id } if id == run.request => {
                if run.end_of_body(out) {
                    self.finish(out);
                } else {
                    out.fail(Failure::network(
                        "the completion stream ended before it finished",
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
                let running = self.running.as_ref().map(|r| r.client_id);
                self.history.enqueue(client_id, running, || ChatMessage {
                    role: "user",
                    content: text.to_string(),
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

    fn disconnect(&mut self, _reason: Disconnect, _out: &mut Actions) {
        // Unacked messages come back from the engine as re-sends; forget the local queue.
        self.ready = false;
        self.running = None;
        self.history.clear_waiting();
    }
}

impl OpenAi {
    /// Posts the oldest waiting message.
    fn start_next(&mut self, out: &mut Actions) {
        let Some((client_id, context)) = self.history.next() else {
            return;
        };
        let mut messages = Vec::with_capacity(context.len() + 1);
        if let Some(system) = &self.system {
            messages.push(ChatMessage {
                role: "system",
                content: system.clone(),
            });
        }
        messages.extend(context);
        let body = wire::encode(&Request {
            model: &self.model,
            messages: &messages,
            stream: true,
            stream_options: StreamOptions {
                include_usage: true,
            },
            user: self.user.as_deref(),
        });
        let mut spec = HttpSpec::new(Method::Post, self.url.clone())
            .header("Content-Type", "application/json")
            .header("Idempotency-Key", client_id.to_string())
            .body(body);
        if let Some(key) = &self.key {
            spec = spec.header("Authorization", format!("Bearer {}", key.expose()));
        }
        for (k, v) in &self.extra_headers {
            spec = spec.header(k.clone(), v.clone());
        }
        let attempt = self
            .attempts
            .get(&client_id)
            .copied()
            .unwrap_or(0)
            .saturating_add(1);
        let _ = self.attempts.insert(client_id, attempt);
        let request = out.http(spec.sse().timeout_ms(self.timeout_ms));
        self.running = Some(Completion::new(request, client_id, attempt));
    }

    /// The running completion ended: ack, record the reply, start the next one.
    fn finish(&mut self, out: &mut Actions) {
        let Some(run) = self.running.take() else {
            return;
        };
        out.ack(run.client_id, run.completion_id.clone());
        let reply = ChatMessage {
            role: "assistant",
            content: run.text.clone(),
        };
        self.history.record_reply(run.client_id, reply);
        self.start_next(out);
    }
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_errors;
#[cfg(test)]
mod tests_wire;
