//! One streamed completion of the `openai` dialect: folds `chat.completion.chunk`s into
//! normalized events (turn, message, text with offsets, reasoning, tool calls, usage) and knows
//! when the completion has finished.
//!
//! Chunks carry no sequence number, and a real backend sends byte-identical chunks whenever a
//! token repeats (same `id`, `created`, `model`, content `" the"` or `"\n\n"`), so chunks are
//! never deduplicated by content: each is keyed by its attempt (the turn id) and its ordinal in
//! that attempt's body. One HTTP body does not duplicate chunks by itself, and a re-sent attempt
//! has its own turn id and replaces the text, so nothing real is lost or doubled. The trade-off:
//! a chunk duplicated on the wire by a faulty intermediary cannot be told from a repeated token
//! and goes through as text (there is no final full text to repair it with).

use crate::seqmap::SeqMap;

/// Tool calls tracked in one completion (by `index`); fragments of further indices are ignored.
const MAX_TOOLS: usize = 128;

use serde_json::Value;

use super::wire::{self, Chunk, Data};
use crate::dialect::codec_kit::errors::{error_event, protocol_error, turn_failed};
use crate::dialect::{Actions, Decoded};
use crate::event::{Event, Role, TextChannel, Usage};
use crate::ids::{ClientId, DedupKey, RequestId};

/// The state of the completion in flight.
#[derive(Debug)]
pub(super) struct Completion {
    pub request: RequestId,
    pub client_id: ClientId,
    /// `<client id>` for the first attempt, `<client id>#<n>` for re-sends.
    pub turn: String,
    /// `<client id>:reply`, the same for every attempt.
    pub message: String,
    /// The backend's completion id (`chatcmpl-..`).
    pub completion_id: Option<String>,
    /// Visible text so far.
    pub text: String,
    text_chars: u64,
    reasoning_chars: u64,
    /// The next text delta replaces the part (first delta of a re-sent turn).
    replace_next: bool,
    started: bool,
    finish_reason: Option<String>,
    usage: Option<Usage>,
    /// Tool calls by their `index`: id, name, accumulated arguments.
    tools: SeqMap<(String, String, String)>,
    /// More than `MAX_TOOLS` tool calls were streamed (reported once).
    tools_overflowed: bool,
    /// Chunks received in this attempt: the ordinal of the next one, its dedup key.
    chunks: u64,
    /// `[DONE]` or a streamed error arrived.
    pub finished: bool,
}

impl Completion {
    pub(super) fn new(request: RequestId, client_id: ClientId, attempt: u32) -> Completion {
        Completion {
            request,
            client_id,
            turn: super::super::codec_kit::attempt_turn_id(client_id, attempt),
            message: format!("{client_id}:reply"),
            completion_id: None,
            text: String::new(),
            text_chars: 0,
            reasoning_chars: 0,
            replace_next: attempt > 1,
            started: false,
            finish_reason: None,
            usage: None,
            tools: SeqMap::new(),
            tools_overflowed: false,
            chunks: 0,
            finished: false,
        }
    }

    /// Stamps turn and message on an event.
    pub(super) fn decorate(&self, d: Decoded) -> Decoded {
        let mut d = d.turn(self.turn.clone()).message(self.message.clone());
        if let Some(id) = &self.completion_id {
            d = d.conversation(id.clone());
        }
        d
    }

    /// Handles one `data:` payload.
    pub(super) fn on_data(&mut self, data: &str, dedup: bool, out: &mut Actions) {
        if self.finished {
            return;
        }
        match wire::parse_data(data) {
            Ok(Data::Chunk(chunk)) => {
                // Keyed by position in the attempt, never by content: identical chunks are
                // repeated tokens, all of them text.
                let ordinal = self.chunks;
                self.chunks = self.chunks.saturating_add(1);
                let key = dedup.then(|| format!("{}:chunk:{ordinal}", self.turn));
                self.on_chunk(chunk, data, key, out);
            }
            Ok(Data::Done) => self.complete(out),
            Ok(Data::Error(body)) => {
                self.open(out, None);
                out.emit(self.decorate(Decoded::new(error_event(None, &body))));
                out.emit(self.decorate(Decoded::new(turn_failed(&body))));
                self.finished = true;
            }
            Err(why) => out.emit(self.decorate(protocol_error(&why, data.as_bytes()))),
        }
    }

    /// The body ended; returns whether the completion counts as finished (it had a
    /// `finish_reason`, some servers omit `[DONE]`).
    pub(super) fn end_of_body(&mut self, out: &mut Actions) -> bool {
        if !self.finished && self.finish_reason.is_some() {
            self.complete(out);
        }
        self.finished
    }

    fn on_chunk(&mut self, chunk: Chunk, data: &str, key: Option<String>, out: &mut Actions) {
        if self.completion_id.is_none() {
            self.completion_id = chunk.id.clone();
        }
        let raw: Value = serde_json::from_str(data).unwrap_or(Value::Null);
        self.open(out, Some(&raw));
        let mut events: Vec<Decoded> = Vec::new();
        for choice in chunk.choices.iter().filter(|c| c.index == 0) {
            if let Some(text) = choice.delta.content.as_deref().filter(|t| !t.is_empty()) {
                events.push(self.text_delta(TextChannel::Text, text));
            }
            let reasoning = choice
                .delta
                .reasoning_content
                .as_deref()
                .filter(|t| !t.is_empty());
            if let Some(text) = reasoning {
                let offset = self.reasoning_chars;
                self.reasoning_chars += text.chars().count() as u64;
                let d = Decoded::text(TextChannel::Reasoning, text, Some(offset));
                events.push(d.part("reasoning"));
            }
            for call in &choice.delta.tool_calls {
                events.extend(self.tool_fragment(call));
            }
            if let Some(reason) = &choice.finish_reason {
                self.finish_reason = Some(reason.clone());
                if reason == "tool_calls" {
                    events.extend(self.tools_completed());
                }
            }
        }
        if let Some(u) = chunk.usage {
            self.usage = Some(Usage::new(
                u.prompt_tokens,
                u.completion_tokens,
                u.total_tokens,
            ));
        }
        let count = events.len();
        for (i, d) in events.into_iter().enumerate() {
            // One wire chunk may yield several events: number them under the chunk's key.
            let d = match &key {
                Some(k) if count > 1 => d.dedup(DedupKey::Id(format!("{k}:{i}"))),
                Some(k) => d.dedup(DedupKey::Id(k.clone())),
                None => d,
            };
            out.emit(self.decorate(d).raw(raw.clone()));
        }
    }

    /// `TurnStarted` + `MessageStarted` before the first event of the completion.
    fn open(&mut self, out: &mut Actions, raw: Option<&Value>) {
        if std::mem::replace(&mut self.started, true) {
            return;
        }
        let reply_to = Some(self.client_id.to_string());
        let keys = [
            format!("{}:started", self.turn),
            format!("{}:message", self.turn),
        ];
        let events = [
            Event::TurnStarted { reply_to },
            Event::MessageStarted {
                role: Role::Assistant,
            },
        ];
        for (event, key) in events.into_iter().zip(keys) {
            let mut d = self.decorate(Decoded::new(event)).dedup(DedupKey::Id(key));
            if let Some(raw) = raw {
                d = d.raw(raw.clone());
            }
            out.emit(d);
        }
    }

    fn text_delta(&mut self, channel: TextChannel, text: &str) -> Decoded {
        self.text.push_str(text);
        let offset = self.text_chars;
        self.text_chars += text.chars().count() as u64;
        if std::mem::take(&mut self.replace_next) {
            Decoded::replace(channel, self.text.clone())
        } else {
            Decoded::text(channel, text, Some(offset))
        }
    }

    fn tool_fragment(&mut self, call: &wire::ToolCallDelta) -> Vec<Decoded> {
        let mut events = Vec::new();
        let function = call.function.clone().unwrap_or_default();
        if !self.tools.contains_key(&u64::from(call.index)) && self.tools.len() >= MAX_TOOLS {
            // a hostile stream cannot grow this map without bound; said once, not silently
            if !std::mem::replace(&mut self.tools_overflowed, true) {
                events.push(Decoded::new(Event::Error {
                    kind: crate::event::ErrorKind::Protocol,
                    code: Some("too_many_tool_calls".into()),
                    message: format!(
                        "more than {MAX_TOOLS} tool calls in one completion: the rest are ignored"
                    ),
                    retryable: false,
                }));
            }
            return events;
        }
        if !self.tools.contains_key(&u64::from(call.index)) {
            let id = call
                .id
                .clone()
                .unwrap_or_else(|| format!("{}:tool{}", self.turn, call.index));
            let name = function.name.clone().unwrap_or_else(|| "function".into());
            events.push(Decoded::new(Event::ToolStarted {
                tool_id: id.clone(),
                name: name.clone(),
                args: None,
            }));
            self.tools
                .insert(u64::from(call.index), (id, name, String::new()));
        }
        if let (Some(args), Some(entry)) = (
            function.arguments,
            self.tools.get_mut(&u64::from(call.index)),
        ) && !args.is_empty()
        {
            entry.2.push_str(&args);
            let tool_id = entry.0.clone();
            events.push(Decoded::new(Event::ToolArgsDelta {
                tool_id,
                delta: args,
            }));
        }
        events
    }

    fn tools_completed(&mut self) -> Vec<Decoded> {
        std::mem::take(&mut self.tools)
            .into_values()
            .map(|(tool_id, _, args)| {
                let output = serde_json::from_str(&args).unwrap_or(Value::String(args));
                Decoded::new(Event::ToolCompleted { tool_id, output })
            })
            .collect()
    }

    /// `[DONE]`: close the message and the turn.
    fn complete(&mut self, out: &mut Actions) {
        self.open(out, None);
        self.finished = true;
        let mut events = Vec::new();
        if self.finish_reason.as_deref() == Some("tool_calls") || !self.tools.is_empty() {
            events.extend(self.tools_completed());
        }
        events.push(Decoded::new(Event::MessageCompleted {
            text: self.text.clone(),
        }));
        let reason = self.finish_reason.clone().or(Some("stop".into()));
        events.push(Decoded::new(Event::TurnCompleted {
            finish_reason: reason,
            usage: self.usage,
        }));
        for (i, d) in events.into_iter().enumerate() {
            let key = DedupKey::Id(format!("{}:done:{i}", self.turn));
            out.emit(self.decorate(d).dedup(key));
        }
    }
}
