//! Decoding of Parlant events into normalized events: turn tracking from `status` events,
//! complete and streamed (growing `chunks`) agent messages, tool calls, cursors and dedup keys.
//!
//! Turns are told apart by Parlant's own correlation: every event an agent run emits carries the
//! `correlation_id` of the customer message that caused it (the part before the first `::`; a
//! nested scope adds `::<scope>`), and `status` events name that message in
//! `acknowledged_offset`. An event goes to the turn of its correlation (and, for statuses, of
//! its acknowledged message), so turns that overlap (the next one starts while the previous one's
//! streamed message is still being fetched) never mix; events without a correlation fall back
//! to the acknowledged offset and then to the newest open turn. The turn id is
//! `turn@<offset of the customer message>`.
//!
//! A `ready` status that arrives while a message of its own turn is still growing is held back
//! until that message's last snapshot has been delivered, so a turn never ends before its text;
//! other turns are not held.
//!
//! Dedup keys are the event id, refined where one event is served several times: a streamed
//! message yields `<id>#start`, one `<id>#<chunk count>` per snapshot and `<id>#done`, so a
//! re-served snapshot is dropped and a grown one is not. Cursors are `<session>@<offset>` and
//! never pass an unfinished message.

use std::collections::VecDeque;

use serde_json::json;

use super::wire::{self, Event};
use crate::dialect::{Actions, Decoded};
use crate::engine::bounded::BoundedMap;
use crate::event::{
    AgentStatus, ErrorKind, Event as Ev, Role, TextChannel, TurnError, TurnErrorCode,
};
use crate::ids::{ClientId, Cursor, DedupKey};

/// How many turns and customer-message correlations are remembered (re-served events of a
/// remembered turn never open a new one).
const REMEMBERED: usize = 256;

/// What the decoder remembers between polls.
#[derive(Debug)]
pub(super) struct State {
    /// The turns seen, oldest first (open ones and the last ended ones); past `REMEMBERED` the
    /// oldest *ended* turn is forgotten (an open one never is: it still needs its end).
    turns: VecDeque<Turn>,
    /// Unfinished streamed messages: offset -> (event id, turn id).
    unfinished: BoundedMap<u64, (String, String)>,
    /// The app's own messages: offset -> client id (for `reply_to`).
    own: BoundedMap<u64, ClientId>,
    /// Customer messages seen: correlation -> offset, latest sighting last.
    origins: BoundedMap<String, u64>,
    /// The last poll brought events past the previous offset.
    progress: bool,
}

/// One turn: the agent's run for one customer message.
#[derive(Debug)]
struct Turn {
    id: String,
    /// The correlation root of its events (`None`: the backend sent none).
    correlation: Option<String>,
    /// The customer message its statuses acknowledge.
    ack: Option<u64>,
    /// A terminal status was seen (its completion may still be held).
    ended: bool,
    /// Its completion, held while one of its own messages is unfinished (the `ready` status is
    /// served before the message's last snapshot is re-fetched).
    held: Vec<Decoded>,
}

impl Default for State {
    fn default() -> State {
        State {
            turns: VecDeque::new(),
            unfinished: BoundedMap::new(REMEMBERED),
            own: BoundedMap::new(REMEMBERED),
            origins: BoundedMap::new(REMEMBERED),
            progress: false,
        }
    }
}

impl State {
    /// The offset to poll from to see unfinished messages grow: only right after a poll that
    /// brought something new, so an unchanged message is never polled for in a loop.
    pub(super) fn refetch_from(&self) -> Option<u64> {
        if self.progress {
            self.unfinished.keys().min().copied()
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
        let _ = self.own.insert(offset, client_id);
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
            let held = match (&d.event, d.turn_id.as_deref()) {
                (Ev::TurnCompleted { .. }, Some(turn)) if self.has_unfinished(turn) => {
                    self.turn_by_id(turn)
                }
                _ => None,
            };
            match held {
                Some(i) => self.turns[i].held.push(d),
                None => out.emit(d),
            }
        }
        for i in 0..self.turns.len() {
            if !self.turns[i].held.is_empty() && !self.has_unfinished(&self.turns[i].id) {
                for d in std::mem::take(&mut self.turns[i].held) {
                    out.emit(d);
                }
            }
        }
    }

    /// The offset a resume may start after: this event's, unless an older message is unfinished.
    fn cursor_offset(&self, offset: u64) -> Option<u64> {
        match self.unfinished.keys().min() {
            Some(&first) if first <= offset => first.checked_sub(1),
            _ => Some(offset),
        }
    }

    /// Whether a message of turn `id` is still growing.
    fn has_unfinished(&self, id: &str) -> bool {
        self.unfinished.values().any(|(_, turn)| turn == id)
    }

    fn turn_by_id(&self, id: &str) -> Option<usize> {
        self.turns.iter().rposition(|t| t.id == id)
    }

    /// The turn a status of `correlation` acknowledging `ack` belongs to: the one with that
    /// acknowledged message, else an open one of the correlation that has none yet; without
    /// `ack`, the newest open turn of the correlation (or, correlated, its newest turn).
    fn status_turn(&self, correlation: Option<&str>, ack: Option<u64>) -> Option<usize> {
        let same = |t: &Turn| t.correlation.as_deref() == correlation;
        match ack {
            Some(a) => self
                .turns
                .iter()
                .rposition(|t| same(t) && t.ack == Some(a))
                .or_else(|| {
                    self.turns
                        .iter()
                        .rposition(|t| same(t) && t.ack.is_none() && !t.ended)
                }),
            None => self.content_turn(correlation),
        }
    }

    /// The turn a message or tool call of `correlation` belongs to: its newest open turn, else
    /// (correlated: a late or re-served event) its newest turn.
    fn content_turn(&self, correlation: Option<&str>) -> Option<usize> {
        let same = |t: &Turn| t.correlation.as_deref() == correlation;
        let open = self.turns.iter().rposition(|t| same(t) && !t.ended);
        open.or_else(|| {
            correlation
                .is_some()
                .then(|| self.turns.iter().rposition(same))
                .flatten()
        })
    }

    /// The turn at `found`, or a new one opened (`TurnStarted`) for the customer message its
    /// statuses acknowledge, the correlation's customer message, or else this event.
    fn ensure_turn(
        &mut self,
        found: Option<usize>,
        event: &Event,
        ack: Option<u64>,
        emitted: &mut Vec<Decoded>,
    ) -> String {
        let correlation = correlation_root(event);
        if let Some(i) = found {
            let turn = &mut self.turns[i];
            turn.ack = turn.ack.or(ack);
            return turn.id.clone();
        }
        let origin = ack
            .or_else(|| {
                let c = correlation.as_deref()?;
                self.origins.get(c).copied()
            })
            .unwrap_or(event.offset);
        let mut id = format!("turn@{origin}");
        if self.turn_by_id(&id).is_some() {
            id = format!("turn@{origin}.{}", event.offset);
        }
        let reply_to = self.own.get(&origin).map(ClientId::to_string);
        self.turns.push_back(Turn {
            id: id.clone(),
            correlation,
            ack,
            ended: false,
            held: Vec::new(),
        });
        while self.turns.len() > REMEMBERED {
            match self.turns.iter().position(|t| t.ended && t.held.is_empty()) {
                Some(i) => drop(self.turns.remove(i)),
                // Every remembered turn is open: a backend opening turns without end. The
                // oldest goes (its held completion is delivered, not dropped), so this list stays
                // bounded; the engine ends that turn by its timeout if nothing else does.
                None => match self.turns.pop_front() {
                    Some(old) => emitted.extend(old.held),
                    None => break,
                },
            }
        }
        let started = Decoded::new(Ev::TurnStarted { reply_to }).turn(id.clone());
        emitted.push(started.dedup(key(&format!("{id}#started"))));
        id
    }

    fn message(&mut self, event: &Event, emitted: &mut Vec<Decoded>) {
        let role = match event.source.as_str() {
            "customer" => {
                if let Some(c) = correlation_root(event) {
                    // the latest sighting counts and is the newest entry
                    self.origins.remove(c.as_str());
                    let _ = self.origins.insert(c, event.offset);
                }
                return;
            }
            "system" => Role::System,
            _ => Role::Assistant,
        };
        // A re-served snapshot of a growing message stays in the turn it started in.
        let found = match self.unfinished.get(&event.offset) {
            Some((_, turn)) => self.turn_by_id(turn),
            None => self.content_turn(correlation_root(event).as_deref()),
        };
        let turn = self.ensure_turn(found, event, None, emitted);
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
            let _ = self
                .unfinished
                .insert(event.offset, (id.clone(), turn.clone()));
        }
    }

    fn status(&mut self, event: &Event, emitted: &mut Vec<Decoded>) {
        let st = wire::status(&event.data);
        let ack = event
            .data
            .get("acknowledged_offset")
            .and_then(serde_json::Value::as_u64);
        let found = self.status_turn(correlation_root(event).as_deref(), ack);
        let k = key(&event.id);
        let status = |s: AgentStatus| Decoded::new(Ev::Status { status: s });
        let progress = match st.status.as_str() {
            "acknowledged" => Some(AgentStatus::Acknowledged),
            "processing" => Some(AgentStatus::Processing { stage: st.stage }),
            "typing" => Some(AgentStatus::Typing),
            _ => None,
        };
        if let Some(s) = progress {
            let turn = self.ensure_turn(found, event, ack, emitted);
            emitted.push(status(s).turn(turn).dedup(k));
            return;
        }
        // A terminal status ends its turn once. Repeated (re-served) for an ended turn, it is
        // decoded as if the turn were unknown, with the same key (dropped by the engine), or
        // not at all while that turn's completion is held (it must not claim the key first).
        let found = match found.map(|i| &self.turns[i]) {
            Some(t) if t.ended && !t.held.is_empty() => return,
            Some(t) if t.ended => None,
            _ => found,
        };
        let end = |state: &mut State| {
            found.map(|i| {
                state.turns[i].ended = true;
                state.turns[i].id.clone()
            })
        };
        match st.status.as_str() {
            "ready" => match end(self) {
                Some(turn) => {
                    // Held by `decode` while a message of this turn is unfinished.
                    let done = Ev::TurnCompleted {
                        finish_reason: Some("stop".into()),
                        usage: None,
                    };
                    emitted.push(Decoded::new(done).turn(turn).dedup(k));
                }
                None => emitted.push(status(AgentStatus::Ready).dedup(k)),
            },
            "cancelled" => {
                if let Some(turn) = end(self) {
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
                if let Some(turn) = end(self) {
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
        let found = self.content_turn(correlation_root(event).as_deref());
        let turn = self.ensure_turn(found, event, None, emitted);
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

/// The correlation of the customer message behind `event`: its `correlation_id` up to the first
/// `::` (Parlant appends `::<scope>` for the steps of a run).
fn correlation_root(event: &Event) -> Option<String> {
    let id = event.correlation_id.as_deref()?;
    let root = id.split("::").next().unwrap_or(id);
    (!root.is_empty()).then(|| root.to_string())
}

fn key(s: &str) -> DedupKey {
    DedupKey::Id(s.to_string())
}
