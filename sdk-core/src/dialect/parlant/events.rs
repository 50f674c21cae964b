//! Decoding of Parlant events into normalized events: turn tracking from `status` events,
//! complete and streamed (growing `chunks`) agent messages, tool calls, cursors and dedup keys.
//!
//! A `ready` status that arrives while a message of its turn is still growing is held back
//! until the message's last snapshot has been delivered, so the turn never ends before its text.
//!
//! Dedup keys are the event id, refined where one event is served several times: a streamed
//! message yields `<id>#start`, one `<id>#<chunk count>` per snapshot and `<id>#done`, so a
//! re-served snapshot is dropped and a grown one is not. Cursors are `<session>@<offset>` and
//! never pass an unfinished message.

use std::collections::BTreeMap;

use serde_json::json;

use super::wire::{self, Event};
use crate::dialect::{Actions, Decoded};
use crate::event::{
    AgentStatus, ErrorKind, Event as Ev, Role, TextChannel, TurnError, TurnErrorCode,
};
use crate::ids::{ClientId, Cursor, DedupKey};

/// What the decoder remembers between polls.
#[derive(Debug, Default)]
pub(super) struct State {
    /// The open turn's id.
    turn: Option<String>,
    /// Unfinished streamed messages: offset -> event id.
    unfinished: BTreeMap<u64, String>,
    /// The app's own messages: offset -> client id (for `reply_to`).
    own: BTreeMap<u64, ClientId>,
    /// The last poll brought events past the previous offset.
    progress: bool,
    /// The turn's completion, held while one of its messages is unfinished (the `ready` status
    /// is served before the message's last snapshot is re-fetched).
    held: Vec<Decoded>,
}

impl State {
    /// The offset to poll from to see unfinished messages grow: only right after a poll that
    /// brought something new, so an unchanged message is never polled for in a loop.
    pub(super) fn refetch_from(&self) -> Option<u64> {
        if self.progress {
            self.unfinished.keys().next().copied()
        } else {
            None
        }
    }

    /// Records whether the last poll made progress.
    pub(super) fn set_progress(&mut self, progress: bool) {
        self.progress = progress;
    }

    /// Records the offset of a message the app sent.
    pub(super) fn own_message(&mut self, offset: u64, client_id: ClientId) {
        self.own.insert(offset, client_id);
        while self.own.len() > 256 {
            self.own.pop_first();
        }
    }

    /// Decodes one event of `session`.
    pub(super) fn decode(&mut self, session: &str, event: Event, out: &mut Actions) {
        if event.deleted {
            return;
        }
        let mut emitted = Vec::new();
        match event.kind.as_str() {
            "message" => self.message(&event, &mut emitted),
            "status" => self.status(&event, &mut emitted),
            "tool" => self.tools(&event, &mut emitted),
            other => {
                let name = if other.is_empty() { "event" } else { other };
                emitted.push(
                    Decoded::new(Ev::Unknown {
                        name: name.to_string(),
                    })
                    .dedup(key(&event.id)),
                );
            }
        }
        let cursor = self
            .cursor_offset(event.offset)
            .map(|o| Cursor::new(format!("{session}@{o}")));
        for d in emitted {
            let mut d = d.conversation(session).raw(event.raw.clone());
            if let Some(c) = &cursor {
                d = d.cursor(c.clone());
            }
            if let Some(ts) = event.timestamp_ms.and_then(|t| u64::try_from(t).ok()) {
                d = d.timestamp(ts);
            }
            if matches!(d.event, Ev::TurnCompleted { .. }) && !self.unfinished.is_empty() {
                self.held.push(d);
            } else {
                out.emit(d);
            }
        }
        if self.unfinished.is_empty() && !self.held.is_empty() {
            for d in std::mem::take(&mut self.held) {
                if self.turn.as_deref() == d.turn_id.as_deref() {
                    self.turn = None;
                }
                out.emit(d);
            }
        }
    }

    /// The offset a resume may start after: this event's, unless an older message is unfinished.
    fn cursor_offset(&self, offset: u64) -> Option<u64> {
        match self.unfinished.keys().next() {
            Some(&first) if first <= offset => first.checked_sub(1),
            _ => Some(offset),
        }
    }

    /// The open turn, opened when there is none.
    fn ensure_turn(
        &mut self,
        offset: u64,
        reply_to: Option<String>,
        emitted: &mut Vec<Decoded>,
    ) -> String {
        if let Some(turn) = &self.turn {
            return turn.clone();
        }
        let id = format!("turn@{offset}");
        self.turn = Some(id.clone());
        let started = Decoded::new(Ev::TurnStarted { reply_to }).turn(id.clone());
        emitted.push(started.dedup(key(&format!("{id}#started"))));
        id
    }

    fn message(&mut self, event: &Event, emitted: &mut Vec<Decoded>) {
        let role = match event.source.as_str() {
            "customer" => return,
            "system" => Role::System,
            _ => Role::Assistant,
        };
        let turn = self.ensure_turn(event.offset, None, emitted);
        let text = wire::message_text(&event.data);
        let id = &event.id;
        let scoped = |d: Decoded| d.turn(turn.clone()).message(id.clone());
        if text.chunks == 0 && text.complete {
            let participant = event.data.get("participant").cloned();
            let metadata = Some(json!({"source": event.source, "participant": participant}));
            let d = Decoded::new(Ev::Message {
                role,
                content: text.text,
                metadata,
            });
            emitted.push(scoped(d).dedup(key(id)));
            return;
        }
        emitted.push(
            scoped(Decoded::new(Ev::MessageStarted { role })).dedup(key(&format!("{id}#start"))),
        );
        if !text.text.is_empty() {
            let d = Decoded::replace(TextChannel::Text, text.text.clone());
            emitted.push(scoped(d).dedup(key(&format!("{id}#{}", text.chunks))));
        }
        if text.complete {
            self.unfinished.remove(&event.offset);
            let d = Decoded::new(Ev::MessageCompleted { text: text.text });
            emitted.push(scoped(d).dedup(key(&format!("{id}#done"))));
        } else {
            self.unfinished.insert(event.offset, id.clone());
        }
    }

    fn status(&mut self, event: &Event, emitted: &mut Vec<Decoded>) {
        let st = wire::status(&event.data);
        let ack_offset = event
            .data
            .get("acknowledged_offset")
            .and_then(serde_json::Value::as_u64);
        let reply_to = ack_offset
            .and_then(|o| self.own.get(&o))
            .map(ClientId::to_string);
        let origin = ack_offset.unwrap_or(event.offset);
        let k = key(&event.id);
        let status = |s: AgentStatus| Decoded::new(Ev::Status { status: s });
        match st.status.as_str() {
            "acknowledged" => {
                let turn = self.ensure_turn(origin, reply_to, emitted);
                emitted.push(status(AgentStatus::Acknowledged).turn(turn).dedup(k));
            }
            "processing" => {
                let turn = self.ensure_turn(origin, reply_to, emitted);
                let s = AgentStatus::Processing { stage: st.stage };
                emitted.push(status(s).turn(turn).dedup(k));
            }
            "typing" => {
                let turn = self.ensure_turn(origin, reply_to, emitted);
                emitted.push(status(AgentStatus::Typing).turn(turn).dedup(k));
            }
            "ready" => match self.turn.clone() {
                Some(turn) => {
                    // Closed here, or when its unfinished message completes (see `decode`).
                    if self.unfinished.is_empty() {
                        self.turn = None;
                    }
                    let done = Ev::TurnCompleted {
                        finish_reason: Some("stop".into()),
                        usage: None,
                    };
                    emitted.push(Decoded::new(done).turn(turn).dedup(k));
                }
                None => emitted.push(status(AgentStatus::Ready).dedup(k)),
            },
            "cancelled" => {
                if let Some(turn) = self.turn.take() {
                    emitted.push(Decoded::new(Ev::TurnCancelled).turn(turn).dedup(k));
                }
            }
            "error" => {
                let message = st.exception.unwrap_or_else(|| "the agent failed".into());
                let error = Ev::Error {
                    kind: ErrorKind::Server,
                    code: Some("agent_error".into()),
                    message: message.clone(),
                    retryable: false,
                };
                let mut d = Decoded::new(error).dedup(key(&format!("{}#error", event.id)));
                if let Some(turn) = self.turn.take() {
                    d = d.turn(turn.clone());
                    emitted.push(d);
                    let failed = TurnError::new(TurnErrorCode::Server, message);
                    emitted.push(
                        Decoded::new(Ev::TurnFailed { error: failed })
                            .turn(turn)
                            .dedup(k),
                    );
                } else {
                    emitted.push(d);
                }
            }
            other => {
                let name = format!("status:{other}");
                emitted.push(Decoded::new(Ev::Unknown { name }).dedup(k));
            }
        }
    }

    fn tools(&mut self, event: &Event, emitted: &mut Vec<Decoded>) {
        let turn = self.ensure_turn(event.offset, None, emitted);
        for (i, call) in wire::tool_calls(&event.data).into_iter().enumerate() {
            let tool_id = format!("{}:{i}", event.id);
            let args = (!call.arguments.is_null()).then_some(call.arguments);
            let start = Ev::ToolStarted {
                tool_id: tool_id.clone(),
                name: call.tool_id,
                args,
            };
            emitted.push(
                Decoded::new(start)
                    .turn(turn.clone())
                    .dedup(key(&format!("{tool_id}:start"))),
            );
            let end = match call.error {
                Some(error) => Ev::ToolFailed {
                    tool_id: tool_id.clone(),
                    error,
                },
                None => Ev::ToolCompleted {
                    tool_id: tool_id.clone(),
                    output: call.result,
                },
            };
            emitted.push(
                Decoded::new(end)
                    .turn(turn.clone())
                    .dedup(key(&format!("{tool_id}:end"))),
            );
        }
    }
}

fn key(s: &str) -> DedupKey {
    DedupKey::Id(s.to_string())
}
