//! The SSE side of the chat-interfaces dialect: stream events to normalized events, with the
//! SSE `id` as dedup key and cursor, executions as turns, and the gap check of the `connected`
//! event after a reconnection.

use super::wire::{self, HistoryMessage, Inbound, Parsed};
use crate::dialect::codec_kit::errors::{error_event, protocol_error};
use crate::dialect::{Actions, Decoded};
use crate::engine::bounded::{BoundedMap, BoundedSet};
use crate::event::{Event, Role, TextChannel, TurnError, TurnErrorCode, Usage};
use crate::ids::{ClientId, Cursor, DedupKey};
use crate::sse;

/// Most entries kept in each map and set (evicted oldest first, by insertion).
pub(super) const CAP: usize = 256;

/// What the decoder remembers.
#[derive(Debug)]
pub(super) struct State {
    /// The cursor the current stream resumed from (`Last-Event-ID`), until `connected` is seen.
    pub resume_from: Option<String>,
    /// Where this session's stream has got to: the id of the last event delivered, or of the
    /// last `connected` (the position a stream starts after). A stream that breaks before any
    /// event still resumes from its `connected` id, so an execution that runs while the client
    /// is away is replayed rather than skipped (a stream opened without `Last-Event-ID` starts
    /// at the execution in progress, or at new events when none is).
    position: Option<String>,
    /// Executions started by this client: execution id -> client id.
    executions: BoundedMap<String, ClientId>,
    /// Replies that had tokens (their `message` event completes them).
    streamed: BoundedSet<String>,
    /// The execution each reply belongs to.
    reply_exec: BoundedMap<String, String>,
    /// Bumped for every new session: SSE ids restart with a session, so keys carry it.
    generation: u32,
}

impl Default for State {
    fn default() -> State {
        State {
            resume_from: None,
            position: None,
            executions: BoundedMap::new(CAP),
            streamed: BoundedSet::new(CAP),
            reply_exec: BoundedMap::new(CAP),
            generation: 0,
        }
    }
}

impl State {
    /// A new session starts: its SSE ids start over.
    pub(super) fn new_session(&mut self) {
        self.generation = self.generation.wrapping_add(1);
        self.resume_from = None;
        self.position = None;
    }

    /// The `Last-Event-ID` of the next stream: this session's own position, else the engine's
    /// cursor (a client built with a saved resume cursor).
    pub(super) fn resume_point(&mut self, engine_cursor: Option<&Cursor>) {
        self.resume_from = self
            .position
            .clone()
            .or_else(|| engine_cursor.map(|c| c.as_str().to_string()));
    }

    /// Records an execution started by `client_id`.
    pub(super) fn own_execution(&mut self, execution: String, client_id: ClientId) {
        let _ = self.executions.insert(execution, client_id);
    }

    /// Decodes one event; returns `true` when the stream restarted past the cursor (a gap the
    /// caller fills from the history endpoint).
    pub(super) fn decode(&mut self, event: &sse::Event, out: &mut Actions) -> bool {
        let parsed = match wire::parse_event(&event.event, &event.data) {
            Ok(p) => p,
            Err(why) => {
                out.emit(protocol_error(&why, event.data.as_bytes()));
                return false;
            }
        };
        if event.id.is_some() {
            self.position.clone_from(&event.id);
        }
        if let Inbound::Connected = parsed.kind {
            return self.check_gap(event.id.as_deref(), out);
        }
        let key = event
            .id
            .as_deref()
            .map(|id| sse_key(self.generation, id, event));
        let cursor = event.id.clone().map(Cursor::new);
        for d in self.events(&parsed, key) {
            let mut d = d.raw(serde_json::Value::Object(parsed.fields.clone()));
            if let Some(c) = &cursor {
                d = d.cursor(c.clone());
            }
            if let (None, Some(ts)) = (d.timestamp_ms, parsed.timestamp_ms) {
                d.timestamp_ms = u64::try_from(ts).ok();
            }
            out.emit(d);
        }
        false
    }

    /// The assistant messages of the history endpoint, delivered after a gap (dedup by message
    /// id, so those already streamed are dropped by the engine).
    pub(super) fn on_history(&mut self, body: &[u8], out: &mut Actions) {
        let Some(list) = wire::parse_history(body) else {
            out.emit(protocol_error("unreadable message history", body));
            return;
        };
        for m in list.into_iter().filter(|m| m.role == "assistant") {
            let Some(id) = m.id.clone() else { continue };
            let event = Event::Message {
                role: Role::Assistant,
                content: m.content,
                metadata: None,
            };
            let mut d = Decoded::new(event)
                .message(id.clone())
                .dedup(DedupKey::Id(format!("msg:{id}")));
            if let Some(ts) = m.timestamp_ms.and_then(|t| u64::try_from(t).ok()) {
                d = d.timestamp(ts);
            }
            out.emit(d);
        }
    }

    /// `connected` after a reconnection: its id is where the stream starts. Past the cursor
    /// means the server did not replay the gap.
    fn check_gap(&mut self, start: Option<&str>, out: &mut Actions) -> bool {
        let Some(from) = self.resume_from.take() else {
            return false;
        };
        let gap = match (from.parse::<u64>(), start.map(str::parse::<u64>)) {
            (Ok(from), Some(Ok(start))) => start > from,
            (_, None) => false,
            _ => from.as_str() != start.unwrap_or_default(),
        };
        if gap {
            out.discontinuity(format!(
                "the stream restarted at {} instead of after {from}; missed messages come from the history",
                start.unwrap_or("?")
            ));
        }
        gap
    }

    fn events(&mut self, p: &Parsed, key: Option<DedupKey>) -> Vec<Decoded> {
        let with_key = |d: Decoded| match &key {
            Some(k) => d.dedup(k.clone()),
            None => d,
        };
        match p.kind.clone() {
            Inbound::Connected => Vec::new(),
            Inbound::Token {
                execution_id,
                message_id,
                text,
                ..
            } => {
                let turn = execution_id.clone();
                let reply = message_id
                    .or_else(|| turn.as_ref().map(|e| format!("{e}:reply")))
                    .unwrap_or_else(|| "reply".into());
                let mut v = Vec::new();
                if let Some(t) = &turn {
                    v.push(self.started(t));
                    let _ = self.reply_exec.insert(reply.clone(), t.clone());
                }
                if self.streamed.insert(reply.clone()) {
                    let start = Decoded::new(Event::MessageStarted {
                        role: Role::Assistant,
                    });
                    v.push(
                        start
                            .message(reply.clone())
                            .dedup(DedupKey::Id(format!("{reply}:start"))),
                    );
                }
                v.push(with_key(
                    Decoded::text(TextChannel::Text, text, None).message(reply),
                ));
                in_turn(v, turn)
            }
            Inbound::Message(m) => self.message(m),
            Inbound::ToolStarted {
                tool_id,
                name,
                args,
            } => self.turn_event(
                p,
                key,
                Event::ToolStarted {
                    tool_id,
                    name,
                    args,
                },
            ),
            Inbound::ToolCompleted { tool_id, output } => {
                self.turn_event(p, key, Event::ToolCompleted { tool_id, output })
            }
            Inbound::ToolFailed { tool_id, error } => {
                self.turn_event(p, key, Event::ToolFailed { tool_id, error })
            }
            Inbound::ExecutionStarted { .. } => {
                let turn = exec_of(p);
                turn.map(|t| vec![self.started(&t).turn(t)])
                    .unwrap_or_default()
            }
            Inbound::ExecutionCompleted { usage, .. } => {
                let usage = usage.map(|(i, o, t)| Usage::new(pos(i), pos(o), pos(t)));
                let done = Event::TurnCompleted {
                    finish_reason: Some("stop".into()),
                    usage,
                };
                self.turn_event(p, key, done)
            }
            Inbound::ExecutionFailed { error, .. } => {
                let failed = Event::TurnFailed {
                    error: TurnError::new(TurnErrorCode::Server, error),
                };
                self.turn_event(p, key, failed)
            }
            Inbound::Heartbeat => vec![Decoded::new(Event::Heartbeat)],
            Inbound::Error(body) => vec![with_key(Decoded::new(error_event(None, &body)))],
            Inbound::Unknown => vec![with_key(Decoded::new(Event::Unknown {
                name: p.name.clone(),
            }))],
        }
    }

    /// A complete message: it ends a streamed reply or stands alone.
    fn message(&mut self, m: HistoryMessage) -> Vec<Decoded> {
        let id = m.id.clone().unwrap_or_else(|| "message".into());
        let ts = m.timestamp_ms.and_then(|t| u64::try_from(t).ok());
        let turn = m
            .execution_id
            .clone()
            .or_else(|| self.reply_exec.get(id.as_str()).cloned());
        let role = match m.role.as_str() {
            "user" => Role::User,
            "system" => Role::System,
            "tool" => Role::Tool,
            _ => Role::Assistant,
        };
        let event = if self.streamed.contains(id.as_str()) {
            Event::MessageCompleted { text: m.content }
        } else {
            Event::Message {
                role,
                content: m.content,
                metadata: None,
            }
        };
        let mut v = Vec::new();
        if let Some(t) = &turn {
            v.push(self.started(t));
        }
        let mut d = Decoded::new(event)
            .message(id.clone())
            .dedup(DedupKey::Id(format!("msg:{id}")));
        d.timestamp_ms = ts;
        v.push(d);
        in_turn(v, turn)
    }

    /// An event of the execution named in `p` (a turn event), keyed by its SSE id.
    fn turn_event(&mut self, p: &Parsed, key: Option<DedupKey>, event: Event) -> Vec<Decoded> {
        let turn = exec_of(p);
        let mut v = Vec::new();
        if let Some(t) = &turn {
            v.push(self.started(t));
        }
        let d = Decoded::new(event);
        v.push(match key {
            Some(k) => d.dedup(k),
            None => d,
        });
        in_turn(v, turn)
    }

    /// `TurnStarted` for execution `t` (dropped by the engine when already delivered).
    fn started(&self, t: &str) -> Decoded {
        let reply_to = self.executions.get(t).map(ClientId::to_string);
        Decoded::new(Event::TurnStarted { reply_to }).dedup(DedupKey::Id(format!("{t}:started")))
    }
}

fn exec_of(p: &Parsed) -> Option<String> {
    let inner = match p.fields.get("data") {
        Some(serde_json::Value::Object(d)) => d.clone(),
        _ => p.fields.clone(),
    };
    crate::dialect::codec_kit::str_field(&inner, &["executionId", "execution_id"]).or_else(|| {
        crate::dialect::codec_kit::str_field(&p.fields, &["executionId", "execution_id"])
    })
}

fn in_turn(v: Vec<Decoded>, turn: Option<String>) -> Vec<Decoded> {
    match turn {
        Some(t) => v.into_iter().map(|d| d.turn(t.clone())).collect(),
        None => v,
    }
}

/// The dedup key of an event: its SSE id (scoped to the session generation) and a hash of its
/// name and data. A duplicated event matches exactly; an event without an `id:` line of its own
/// (which inherits the previous id, per the SSE rules) differs by its content.
fn sse_key(generation: u32, id: &str, event: &sse::Event) -> DedupKey {
    let body = format!("{}\u{0}{}", event.event, event.data);
    match DedupKey::content_hash(body.as_bytes()) {
        DedupKey::Hash(h) => DedupKey::Id(format!("sse:{generation}:{id}:{h:016x}")),
        _ => DedupKey::Id(format!("sse:{generation}:{id}")),
    }
}

fn pos(n: Option<i64>) -> Option<u64> {
    n.and_then(|n| u64::try_from(n).ok())
}
