//! One streamed reply of the `ai-sdk` dialect: folds UI message chunks into normalized events
//! (turn, message, text with offsets, reasoning, tool calls, structured data parts) and knows
//! when the reply has finished.
//!
//! Chunks carry no sequence number, and a repeated token is a byte-identical chunk
//! (`{"type":"text-delta","id":"0","delta":" the"}`), so a chunk is keyed by its position in the
//! reply (`<turn>:chunk:<ordinal>`), never by its content. A resumed stream
//! (`GET {api}/{chatId}/stream`) that starts again with `start` replays the reply from its first
//! chunk: the chunks already seen are skipped by ordinal; one that does not start with `start`
//! continues where the cut stream stopped.

use std::collections::BTreeMap;

use serde_json::Value;

use super::wire::{self, Chunk, Data};
use crate::dialect::codec_kit::errors::protocol_error;
use crate::dialect::{Actions, Decoded};
use crate::event::{ErrorKind, Event, Role, TextChannel, TurnError, TurnErrorCode};
use crate::ids::{ClientId, DedupKey, RequestId};

/// Tool calls tracked in one reply; chunks of further calls are reported once and ignored.
const MAX_TOOLS: usize = 128;

/// The state of the reply in flight.
#[derive(Debug)]
pub(super) struct Reply {
    pub request: RequestId,
    pub client_id: ClientId,
    /// `<client id>` for the first attempt, `<client id>#<n>` for re-sends.
    pub turn: String,
    /// `<client id>:reply`, the same for every attempt.
    pub message: String,
    /// The SDK's `messageId` from `start`.
    pub sdk_message_id: Option<String>,
    /// Visible text so far (every text part, in order).
    pub text: String,
    text_chars: u64,
    reasoning_chars: u64,
    /// The next text delta replaces the message's text (first delta of a re-sent turn).
    replace_next: bool,
    started: bool,
    /// Tool calls by `toolCallId`: name, input when available, whether they ended.
    tools: BTreeMap<String, Tool>,
    tools_overflowed: bool,
    /// Chunks of this attempt handled so far (the ordinal of the next new one).
    pub chunks: u64,
    /// Chunks of a replaying resumed stream still to skip (`None`: not decided yet).
    skip: Option<u64>,
    /// Position in the current response body (reset when a resumed stream starts).
    position: u64,
    /// A 2xx answer arrived on this attempt (the reply streamed at some point: resumable).
    pub streaming: bool,
    /// `finish` arrived, with its `finishReason`.
    finish_reason: Option<Option<String>>,
    /// `error`, `abort` or `[DONE]` arrived (or `finish` and the end of the body).
    pub finished: bool,
}

#[derive(Debug)]
struct Tool {
    input: Option<Value>,
    ended: bool,
}

impl Reply {
    pub(super) fn new(request: RequestId, client_id: ClientId, attempt: u32) -> Reply {
        Reply {
            request,
            client_id,
            turn: super::super::codec_kit::attempt_turn_id(client_id, attempt),
            message: format!("{client_id}:reply"),
            sdk_message_id: None,
            text: String::new(),
            text_chars: 0,
            reasoning_chars: 0,
            replace_next: attempt > 1,
            started: false,
            tools: BTreeMap::new(),
            tools_overflowed: false,
            chunks: 0,
            skip: Some(0),
            position: 0,
            streaming: false,
            finish_reason: None,
            finished: false,
        }
    }

    /// The same reply continues on a resumed stream (`request`): a replay from `start` skips
    /// the chunks already handled.
    pub(super) fn resume_on(&mut self, request: RequestId) {
        self.request = request;
        self.skip = None;
        self.position = 0;
    }

    fn decorate(&self, d: Decoded) -> Decoded {
        d.turn(self.turn.clone()).message(self.message.clone())
    }

    /// Handles one `data:` payload.
    pub(super) fn on_data(&mut self, data: &str, out: &mut Actions) {
        if self.finished {
            return;
        }
        let parsed = wire::parse_data(data);
        if self.skip.is_none() {
            // the first chunk of a resumed stream: a replay starts again with `start`
            let replay = matches!(&parsed, Ok(Data::Chunk(c)) if c.kind == "start");
            self.skip = Some(if replay { self.chunks } else { 0 });
        }
        self.position = self.position.saturating_add(1);
        if self.position <= self.skip.unwrap_or(0) {
            return;
        }
        match parsed {
            Ok(Data::Chunk(chunk)) => {
                let ordinal = self.chunks;
                self.chunks = self.chunks.saturating_add(1);
                let key = format!("{}:chunk:{ordinal}", self.turn);
                let raw = Value::Object(chunk.raw.clone());
                let events = match self.on_chunk(&chunk) {
                    Ok(events) => events,
                    Err(why) => vec![protocol_error(&why, data.as_bytes())],
                };
                let count = events.len();
                for (i, d) in events.into_iter().enumerate() {
                    // one chunk may yield several events: numbered under the chunk's key
                    let k = if count > 1 {
                        format!("{key}:{i}")
                    } else {
                        key.clone()
                    };
                    out.emit(self.decorate(d).dedup(DedupKey::Id(k)).raw(raw.clone()));
                }
            }
            Ok(Data::Done) => self.close(out),
            Err(why) => out.emit(self.decorate(protocol_error(&why, data.as_bytes()))),
        }
    }

    /// The body ended: whether the reply counts as finished (a `finish` without `[DONE]`
    /// completes it here).
    pub(super) fn end_of_body(&mut self, out: &mut Actions) -> bool {
        if self.finish_reason.is_some() {
            self.close(out);
        }
        self.finished
    }

    /// `[DONE]` (or the end of a body after `finish`): the message and the turn end, with the
    /// `finishReason` of `finish` (`stop` when there was none).
    fn close(&mut self, out: &mut Actions) {
        if self.finished {
            return;
        }
        let reason = self.finish_reason.take().flatten();
        let events = self.complete(reason.as_deref());
        self.emit_closing(events, "done", out);
    }

    /// Maps one chunk (see `wire.rs` for the schema).
    fn on_chunk(&mut self, c: &Chunk) -> Result<Vec<Decoded>, String> {
        let mut events = self.open();
        match c.kind.as_str() {
            // start {messageId?, messageMetadata?}
            "start" => {
                if let Some(id) = c.str("messageId") {
                    self.sdk_message_id = Some(id.to_string());
                }
                events.extend(metadata(c));
            }
            // start-step {} / finish-step {}: one call of the model
            "start-step" => events.push(Decoded::new(processing("step"))),
            "finish-step" => events.push(Decoded::new(processing("step-finished"))),
            // text-start {id} / text-end {id}: the part's bounds; deltas carry the text
            "text-start" | "text-end" | "reasoning-start" | "reasoning-end" => {
                c.need("id")?;
            }
            // text-delta {id, delta}
            "text-delta" => {
                c.need("id")?;
                let delta = c.need("delta")?.to_string();
                if !delta.is_empty() {
                    events.push(self.text_delta(&delta));
                }
            }
            // reasoning-delta {id, delta}
            "reasoning-delta" => {
                let id = c.need("id")?.to_string();
                let delta = c.need("delta")?;
                let offset = self.reasoning_chars;
                self.reasoning_chars += delta.chars().count() as u64;
                let d = Decoded::text(TextChannel::Reasoning, delta, Some(offset));
                events.push(d.part(format!("reasoning:{id}")));
            }
            // tool-input-start {toolCallId, toolName}
            "tool-input-start" => {
                let id = c.need("toolCallId")?;
                let name = c.need("toolName")?;
                events.extend(self.tool_started(id, name, None));
            }
            // tool-input-delta {toolCallId, inputTextDelta}
            "tool-input-delta" => {
                let tool_id = c.need("toolCallId")?.to_string();
                let delta = c.need("inputTextDelta")?.to_string();
                if !self.tools.contains_key(&tool_id) {
                    return Err(format!(
                        "`tool-input-delta` of unknown tool call {tool_id:?}"
                    ));
                }
                events.push(Decoded::new(Event::ToolArgsDelta { tool_id, delta }));
            }
            // tool-input-available {toolCallId, toolName, input}
            "tool-input-available" => {
                let id = c.need("toolCallId")?;
                let name = c.need("toolName")?;
                let input = c.value("input");
                match self.tools.get_mut(id) {
                    Some(tool) => tool.input = Some(input),
                    None => events.extend(self.tool_started(id, name, Some(input))),
                }
            }
            // tool-output-available {toolCallId, output, preliminary?}
            "tool-output-available" => {
                let tool_id = c.need("toolCallId")?.to_string();
                let output = c.value("output");
                if c.raw.get("preliminary").and_then(Value::as_bool) == Some(true) {
                    let message = output.to_string();
                    events.push(Decoded::new(Event::ToolProgress { tool_id, message }));
                } else {
                    self.end_tool(&tool_id);
                    events.push(Decoded::new(Event::ToolCompleted { tool_id, output }));
                }
            }
            // tool-input-error / tool-output-error {toolCallId, errorText}
            "tool-input-error" | "tool-output-error" => {
                let tool_id = c.need("toolCallId")?.to_string();
                let error = c.need("errorText")?.to_string();
                self.end_tool(&tool_id);
                events.push(Decoded::new(Event::ToolFailed { tool_id, error }));
            }
            // tool-output-denied {toolCallId}
            "tool-output-denied" => {
                let tool_id = c.need("toolCallId")?.to_string();
                self.end_tool(&tool_id);
                let error = "the tool call was denied".to_string();
                events.push(Decoded::new(Event::ToolFailed { tool_id, error }));
            }
            // source-url {sourceId, url}, source-document {sourceId, mediaType, title}
            "source-url" | "source-document" => {
                let id = c.need("sourceId")?.to_string();
                events.push(data_event(c, Some(id)));
            }
            // file / reasoning-file {url, mediaType}, custom {kind}, tool approvals
            "file"
            | "reasoning-file"
            | "custom"
            | "tool-approval-request"
            | "tool-approval-response"
            | "reset-step" => events.push(data_event(c, None)),
            // message-metadata {messageMetadata}
            "message-metadata" => events.extend(metadata(c)),
            // data-${string} {id?, data, transient?}
            kind if kind.starts_with("data-") => {
                let id = c.str("id").map(str::to_string);
                let name = kind.to_string();
                let data = c.value("data");
                events.push(Decoded::new(Event::Data { name, id, data }));
            }
            // error {errorText}
            "error" => {
                let message = c.need("errorText")?.to_string();
                self.finished = true;
                events.push(Decoded::new(Event::Error {
                    kind: ErrorKind::Server,
                    code: None,
                    message: message.clone(),
                    retryable: false,
                }));
                events.push(Decoded::new(Event::TurnFailed {
                    error: TurnError::new(TurnErrorCode::Server, message),
                }));
            }
            // abort {reason?}
            "abort" => {
                self.finished = true;
                events.push(Decoded::new(Event::TurnCancelled));
            }
            // finish {finishReason?, messageMetadata?}
            // (the turn ends at the closing `[DONE]` that follows, or at the end of the body)
            "finish" => {
                events.extend(metadata(c));
                self.finish_reason = Some(c.str("finishReason").map(str::to_string));
            }
            other => events.push(Decoded::new(Event::Unknown {
                name: other.to_string(),
            })),
        }
        Ok(events)
    }

    /// `TurnStarted` + `MessageStarted` before the first event of the reply.
    fn open(&mut self) -> Vec<Decoded> {
        if std::mem::replace(&mut self.started, true) {
            return Vec::new();
        }
        vec![
            Decoded::new(Event::TurnStarted {
                reply_to: Some(self.client_id.to_string()),
            }),
            Decoded::new(Event::MessageStarted {
                role: Role::Assistant,
            }),
        ]
    }

    fn text_delta(&mut self, text: &str) -> Decoded {
        self.text.push_str(text);
        let offset = self.text_chars;
        self.text_chars += text.chars().count() as u64;
        if std::mem::take(&mut self.replace_next) {
            Decoded::replace(TextChannel::Text, self.text.clone())
        } else {
            Decoded::text(TextChannel::Text, text, Some(offset))
        }
    }

    fn tool_started(&mut self, id: &str, name: &str, input: Option<Value>) -> Vec<Decoded> {
        if self.tools.contains_key(id) {
            return Vec::new();
        }
        if self.tools.len() >= MAX_TOOLS {
            if std::mem::replace(&mut self.tools_overflowed, true) {
                return Vec::new();
            }
            return vec![Decoded::new(Event::Error {
                kind: ErrorKind::Protocol,
                code: Some("too_many_tool_calls".into()),
                message: format!(
                    "more than {MAX_TOOLS} tool calls in one reply: the rest are ignored"
                ),
                retryable: false,
            })];
        }
        self.tools.insert(
            id.to_string(),
            Tool {
                input: input.clone(),
                ended: false,
            },
        );
        vec![Decoded::new(Event::ToolStarted {
            tool_id: id.to_string(),
            name: name.to_string(),
            args: input,
        })]
    }

    fn end_tool(&mut self, id: &str) {
        if let Some(tool) = self.tools.get_mut(id) {
            tool.ended = true;
        }
    }

    /// `finish` or `[DONE]`: calls the server did not run end with their input (running them
    /// is the app's business, as with `finishReason: "tool-calls"`), then the message and turn.
    fn complete(&mut self, reason: Option<&str>) -> Vec<Decoded> {
        let mut events = self.open();
        self.finished = true;
        for (tool_id, tool) in std::mem::take(&mut self.tools) {
            if !tool.ended {
                let output = tool.input.unwrap_or(Value::Null);
                events.push(Decoded::new(Event::ToolCompleted { tool_id, output }));
            }
        }
        events.push(Decoded::new(Event::MessageCompleted {
            text: self.text.clone(),
        }));
        events.push(Decoded::new(Event::TurnCompleted {
            finish_reason: Some(reason.unwrap_or("stop").to_string()),
            usage: None,
        }));
        events
    }

    fn emit_closing(&self, events: Vec<Decoded>, tag: &str, out: &mut Actions) {
        for (i, d) in events.into_iter().enumerate() {
            let key = DedupKey::Id(format!("{}:{tag}:{i}", self.turn));
            out.emit(self.decorate(d).dedup(key));
        }
    }
}

/// `Status{Processing{stage}}`.
fn processing(stage: &str) -> Event {
    Event::Status {
        status: crate::event::AgentStatus::Processing {
            stage: Some(stage.to_string()),
        },
    }
}

/// A chunk kept whole as a `Data` event named by its type.
fn data_event(c: &Chunk, id: Option<String>) -> Decoded {
    Decoded::new(Event::Data {
        name: c.kind.clone(),
        id,
        data: c.body(),
    })
}

/// `messageMetadata` of `start`, `finish` or `message-metadata`, as a `Data` event.
fn metadata(c: &Chunk) -> Option<Decoded> {
    let data = c.raw.get("messageMetadata")?.clone();
    Some(Decoded::new(Event::Data {
        name: "message-metadata".into(),
        id: None,
        data,
    }))
}
