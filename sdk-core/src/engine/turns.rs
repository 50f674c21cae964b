//! Turn tracking and text assembly (DESIGN §3.2 and §3.4).
//!
//! - Every turn the app sees starts with exactly one `TurnStarted` (synthesized when the backend
//!   skips it) and ends with exactly one of `TurnCompleted`, `TurnCancelled`, `TurnFailed`;
//!   every tool call ends with exactly one of `ToolCompleted`, `ToolFailed`. Terminal events are
//!   synthesized on timeout (no event for the turn within `turn_timeout`), abort, end of stream
//!   and disconnect without resume; late events of an ended turn are dropped.
//! - Streamed text is assembled by (message, part, channel) and character offset: a replayed
//!   delta is dropped, an overlapping one is trimmed, so the app never sees text twice.
//! - Optional coalescing merges consecutive appends to the same part for `delta_coalesce`; any
//!   other event flushes the held text first, so the output order is the input order.
//!
//! Memory is bounded: the open turns are those the backend has running (plus the timeout), ended
//! turn ids and text parts are kept in fixed-size rings.

use super::item::{FnvBuild, Item};
use crate::Instant;
use crate::event::{Event, TextChannel, TextUpdate, TurnError, TurnErrorCode};
use std::collections::{HashSet, VecDeque};
use std::time::Duration;

const CLOSED_TURNS: usize = 256;
const PARTS: usize = 256;
const TOOLS_PER_TURN: usize = 256;

/// What to do with an event after turn bookkeeping.
enum Keep {
    Yes,
    Drop,
    Terminal,
}

#[derive(Debug)]
struct OpenTurn {
    id: String,
    conversation_id: Option<String>,
    open_tools: Vec<String>,
    closed_tools: VecDeque<String>,
    deadline: Instant,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct PartKey {
    /// Unique per tracked part (cheap identity for coalescing).
    id: usize,
    message: Option<String>,
    part: Option<String>,
    channel: TextChannel,
}

/// Length of a part's text in characters: on the wire (the backend's offsets) and as shown to
/// the app (shorter only after text was lost to a gap).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct PartLen {
    wire: u64,
    app: u64,
}

#[derive(Debug)]
struct Held {
    key: usize,
    /// The held item already merges several wire events (its `raw` is an array of them).
    merged: bool,
    item: Item,
    deadline: Instant,
}

#[derive(Debug)]
pub(crate) struct Turns {
    timeout: Duration,
    coalesce: Duration,
    open: Vec<OpenTurn>,
    closed: HashSet<String, FnvBuild>,
    closed_order: VecDeque<String>,
    parts: VecDeque<(PartKey, PartLen)>,
    next_part: usize,
    held: Option<Held>,
}

impl Turns {
    pub(crate) fn new(timeout: Duration, coalesce: Duration) -> Turns {
        Turns {
            timeout,
            coalesce,
            open: Vec::new(),
            closed: HashSet::with_capacity_and_hasher(CLOSED_TURNS, FnvBuild::default()),
            closed_order: VecDeque::with_capacity(CLOSED_TURNS),
            parts: VecDeque::with_capacity(16),
            next_part: 0,
            held: None,
        }
    }

    /// Runs one inbound item through turn tracking and text assembly; pushes what to emit.
    pub(crate) fn process(
        &mut self,
        now: Instant,
        mut item: Item,
        offset: Option<u64>,
        out: &mut Vec<Item>,
    ) {
        if let Some(turn) = item.turn_id.take() {
            let keep = self.track_turn(now, &turn, &item, out);
            item.turn_id = Some(turn);
            match keep {
                Keep::Drop => return,
                Keep::Terminal => {
                    self.flush(out);
                    let id = item.turn_id.clone().unwrap_or_default();
                    self.close_turn(&id, out, Some(item));
                    return;
                }
                Keep::Yes => {}
            }
        }
        match &mut item.event {
            Event::TextDelta { channel, update } => {
                let (message, part) = (item.message_id.as_deref(), item.part_id.as_deref());
                let slot = self.part_slot(message, part, *channel);
                match update {
                    TextUpdate::Append { text, offset: at } => {
                        let known = slot.map_or(PartLen::default(), |i| self.parts[i].1);
                        let start = offset.unwrap_or(known.wire);
                        let n = text.chars().count() as u64;
                        if start.saturating_add(n) <= known.wire {
                            return; // replayed text
                        }
                        if start < known.wire {
                            let skip = usize::try_from(known.wire - start).unwrap_or(usize::MAX);
                            let cut = text.char_indices().nth(skip).map_or(text.len(), |(i, _)| i);
                            text.drain(..cut);
                        }
                        // After a gap (text lost with a reported discontinuity) the app's text is
                        // shorter than the wire's: offsets given to the app stay contiguous.
                        let m = text.chars().count() as u64;
                        *at = known.app;
                        let len = PartLen {
                            wire: start.max(known.wire) + m,
                            app: known.app + m,
                        };
                        let key = self.set_part_len(slot, message, part, *channel, len);
                        if !self.coalesce.is_zero() {
                            self.hold(now, key, item, out);
                            return;
                        }
                    }
                    TextUpdate::Replace { text } => {
                        let n = text.chars().count() as u64;
                        let len = PartLen { wire: n, app: n };
                        self.set_part_len(slot, message, part, *channel, len);
                    }
                }
            }
            Event::MessageCompleted { .. } => {
                let message = item.message_id.clone();
                self.parts
                    .retain(|(k, _)| k.message != message || message.is_none());
            }
            _ => {}
        }
        self.flush(out);
        out.push(item);
    }

    /// Emits the held (coalesced) text, if any.
    pub(crate) fn flush(&mut self, out: &mut Vec<Item>) {
        if let Some(held) = self.held.take() {
            out.push(held.item);
        }
    }

    /// Flushes coalesced text whose window ended and fails turns that timed out.
    pub(crate) fn on_time(&mut self, now: Instant, out: &mut Vec<Item>) {
        if self.held.as_ref().is_some_and(|h| h.deadline <= now) {
            self.flush(out);
        }
        while let Some(i) = self.open.iter().position(|t| t.deadline <= now) {
            self.flush(out);
            let id = self.open[i].id.clone();
            let error = TurnError::new(
                TurnErrorCode::Timeout,
                format!("no event for {} ms", self.timeout.as_millis()),
            );
            let terminal = self.synth(i, error);
            self.close_turn(&id, out, Some(terminal));
        }
    }

    /// Ends every open turn with `TurnFailed{code}` (tool calls with `ToolFailed`).
    pub(crate) fn fail_all(&mut self, code: TurnErrorCode, message: &str, out: &mut Vec<Item>) {
        self.flush(out);
        while !self.open.is_empty() {
            let id = self.open[0].id.clone();
            let terminal = self.synth(0, TurnError::new(code, message));
            self.close_turn(&id, out, Some(terminal));
        }
    }

    /// Ends every open turn with `TurnCancelled`.
    pub(crate) fn cancel_all(&mut self, out: &mut Vec<Item>) {
        self.flush(out);
        while !self.open.is_empty() {
            let t = &self.open[0];
            let id = t.id.clone();
            let mut terminal = Item::new(Event::TurnCancelled);
            terminal.turn_id = Some(id.clone());
            terminal.conversation_id = t.conversation_id.clone();
            self.close_turn(&id, out, Some(terminal));
        }
    }

    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        let held = self.held.as_ref().map(|h| h.deadline);
        let turns = self.open.iter().map(|t| t.deadline).min();
        match (held, turns) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    pub(crate) fn open_turns(&self) -> usize {
        self.open.len()
    }

    pub(crate) fn tracked_parts(&self) -> usize {
        self.parts.len()
    }

    fn synth(&self, i: usize, error: TurnError) -> Item {
        let t = &self.open[i];
        let mut item = Item::new(Event::TurnFailed { error });
        item.turn_id = Some(t.id.clone());
        item.conversation_id = t.conversation_id.clone();
        item
    }

    /// Turn bookkeeping for an event of turn `turn` (whose `turn_id` is taken out of `item`).
    fn track_turn(&mut self, now: Instant, turn: &str, item: &Item, out: &mut Vec<Item>) -> Keep {
        if self.closed.contains(turn) {
            return Keep::Drop; // late event of an ended turn
        }
        let deadline = now + self.timeout;
        let is_start = matches!(item.event, Event::TurnStarted { .. });
        match self.open.iter_mut().find(|t| t.id == turn) {
            Some(_) if is_start => return Keep::Drop, // a repeated start
            Some(t) => t.deadline = deadline,
            None => {
                self.flush(out);
                if !is_start {
                    let mut start = Item::new(Event::TurnStarted { reply_to: None });
                    start.conversation_id = item.conversation_id.clone();
                    start.turn_id = Some(turn.to_string());
                    out.push(start);
                }
                self.open.push(OpenTurn {
                    id: turn.to_string(),
                    conversation_id: item.conversation_id.clone(),
                    open_tools: Vec::new(),
                    closed_tools: VecDeque::new(),
                    deadline,
                });
            }
        }
        if !self.track_tool(turn, &item.event) {
            return Keep::Drop;
        }
        if item.event.is_turn_terminal() {
            Keep::Terminal
        } else {
            Keep::Yes
        }
    }

    /// Applies tool bookkeeping; `false` means the event is a repeat and must be dropped.
    fn track_tool(&mut self, turn: &str, event: &Event) -> bool {
        let Some(t) = self.open.iter_mut().find(|t| t.id == turn) else {
            return true;
        };
        match event {
            Event::ToolStarted { tool_id, .. } => {
                if t.open_tools.contains(tool_id) || t.closed_tools.contains(tool_id) {
                    return false;
                }
                if t.open_tools.len() < TOOLS_PER_TURN {
                    t.open_tools.push(tool_id.clone());
                }
                true
            }
            Event::ToolArgsDelta { tool_id, .. } | Event::ToolProgress { tool_id, .. } => {
                if t.closed_tools.contains(tool_id) {
                    return false;
                }
                // its start was lost (gap): track it anyway so it still gets a terminal event
                if !t.open_tools.contains(tool_id) && t.open_tools.len() < TOOLS_PER_TURN {
                    t.open_tools.push(tool_id.clone());
                }
                true
            }
            Event::ToolCompleted { tool_id, .. } | Event::ToolFailed { tool_id, .. } => {
                if t.closed_tools.contains(tool_id) {
                    return false;
                }
                t.open_tools.retain(|x| x != tool_id);
                if t.closed_tools.len() >= TOOLS_PER_TURN {
                    t.closed_tools.pop_front();
                }
                t.closed_tools.push_back(tool_id.clone());
                true
            }
            _ => true,
        }
    }

    /// Fails the turn's open tools, emits `terminal`, and remembers the turn as ended.
    fn close_turn(&mut self, id: &str, out: &mut Vec<Item>, terminal: Option<Item>) {
        let Some(i) = self.open.iter().position(|t| t.id == id) else {
            return;
        };
        let turn = self.open.remove(i);
        for tool_id in turn.open_tools {
            let mut item = Item::new(Event::ToolFailed {
                tool_id,
                error: "the turn ended before the tool call".into(),
            });
            item.turn_id = Some(turn.id.clone());
            item.conversation_id = turn.conversation_id.clone();
            out.push(item);
        }
        if let Some(t) = terminal {
            out.push(t);
        }
        if self.closed_order.len() >= CLOSED_TURNS {
            if let Some(old) = self.closed_order.pop_front() {
                self.closed.remove(&old);
            }
        }
        self.closed.insert(turn.id.clone());
        self.closed_order.push_back(turn.id);
    }

    fn hold(&mut self, now: Instant, key: usize, item: Item, out: &mut Vec<Item>) {
        if let Some(h) = self.held.as_mut().filter(|h| h.key == key) {
            if let (
                Event::TextDelta {
                    update: TextUpdate::Append { text: acc, .. },
                    ..
                },
                Event::TextDelta {
                    update: TextUpdate::Append { text, .. },
                    ..
                },
            ) = (&mut h.item.event, &item.event)
            {
                acc.push_str(text);
                if item.cursor.is_some() {
                    h.item.cursor = item.cursor;
                }
                h.item.raw = match (h.item.raw.take(), item.raw) {
                    (Some(serde_json::Value::Array(mut xs)), Some(b)) if h.merged => {
                        xs.push(b);
                        Some(serde_json::Value::Array(xs))
                    }
                    (Some(a), Some(b)) => Some(serde_json::Value::Array(vec![a, b])),
                    (a, b) => a.or(b),
                };
                h.merged = true;
                return;
            }
        }
        self.flush(out);
        self.held = Some(Held {
            key,
            item,
            merged: false,
            deadline: now + self.coalesce,
        });
    }

    fn part_slot(
        &self,
        message: Option<&str>,
        part: Option<&str>,
        channel: TextChannel,
    ) -> Option<usize> {
        self.parts.iter().rposition(|(k, _)| {
            k.channel == channel && k.message.as_deref() == message && k.part.as_deref() == part
        })
    }

    /// Stores the length in `slot` (or a new entry, evicting the oldest at the bound); returns
    /// the part's key index for coalescing.
    fn set_part_len(
        &mut self,
        slot: Option<usize>,
        message: Option<&str>,
        part: Option<&str>,
        channel: TextChannel,
        len: PartLen,
    ) -> usize {
        if let Some(i) = slot {
            self.parts[i].1 = len;
            return self.parts[i].0.id;
        }
        if self.parts.len() >= PARTS {
            self.parts.pop_front();
        }
        self.next_part += 1;
        let key = PartKey {
            id: self.next_part,
            message: message.map(str::to_string),
            part: part.map(str::to_string),
            channel,
        };
        self.parts.push_back((key, len));
        self.next_part
    }
}

#[cfg(test)]
mod tests;
