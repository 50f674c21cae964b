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

use super::bounded::{BoundedMap, BoundedSet};
use super::item::Item;
use crate::Instant;
use crate::event::{Event, TextChannel, TextUpdate, TurnError, TurnErrorCode};
use std::borrow::Borrow;
use std::hash::{Hash, Hasher};
use std::time::Duration;

/// Ended turn ids remembered (late events of these are dropped).
const CLOSED_TURNS: usize = 256;
/// Text parts whose length is tracked.
const PARTS: usize = 256;
/// Open and ended tool calls tracked per turn.
const TOOLS_PER_TURN: usize = 256;
/// Turns open at once; opening one more fails the oldest (`TurnFailed{Timeout}`), so a backend
/// that opens turns without end cannot grow the engine's memory.
pub(crate) const OPEN_TURNS: usize = 64;

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
    open_tools: BoundedSet<String>,
    closed_tools: BoundedSet<String>,
    deadline: Instant,
}

/// A text part: (message, part, channel). Looked up by a borrowed [`PartRef`] (through
/// `dyn PartId`), so a delta of a known part copies no id.
#[derive(Debug, Clone)]
struct PartKey {
    message: Option<String>,
    part: Option<String>,
    channel: TextChannel,
}

/// A text part's identity, borrowed from an item.
type PartRef<'a> = (Option<&'a str>, Option<&'a str>, TextChannel);

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
    closed: BoundedSet<String>,
    /// Each part's length, with an id unique per tracked part (cheap identity for coalescing).
    parts: BoundedMap<PartKey, (usize, PartLen)>,
    next_part: usize,
    held: Option<Held>,
}

impl Turns {
    pub(crate) fn new(timeout: Duration, coalesce: Duration) -> Turns {
        Turns {
            timeout,
            coalesce,
            open: Vec::new(),
            closed: BoundedSet::new(CLOSED_TURNS),
            parts: BoundedMap::new(PARTS),
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
                let slot: PartRef<'_> = (
                    item.message_id.as_deref(),
                    item.part_id.as_deref(),
                    *channel,
                );
                match update {
                    TextUpdate::Append { text, offset: at } => {
                        let known = self
                            .parts
                            .get(&slot as &dyn PartId)
                            .map_or(PartLen::default(), |p| p.1);
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
                        let key = self.set_part_len(slot, len);
                        if !self.coalesce.is_zero() {
                            self.hold(now, key, item, out);
                            return;
                        }
                    }
                    TextUpdate::Replace { text } => {
                        let n = text.chars().count() as u64;
                        let len = PartLen { wire: n, app: n };
                        self.set_part_len(slot, len);
                    }
                }
            }
            Event::MessageCompleted { .. } => {
                let message = item.message_id.clone();
                self.parts
                    .retain(|k, _| k.message != message || message.is_none());
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
                if self.open.len() >= OPEN_TURNS {
                    let id = self.open[0].id.clone();
                    let why = format!("more than {OPEN_TURNS} turns open at once: the oldest ends");
                    let terminal = self.synth(0, TurnError::new(TurnErrorCode::Timeout, why));
                    self.close_turn(&id, out, Some(terminal));
                }
                if !is_start {
                    let mut start = Item::new(Event::TurnStarted { reply_to: None });
                    start.conversation_id = item.conversation_id.clone();
                    start.turn_id = Some(turn.to_string());
                    out.push(start);
                }
                self.open.push(OpenTurn {
                    id: turn.to_string(),
                    conversation_id: item.conversation_id.clone(),
                    open_tools: BoundedSet::new(TOOLS_PER_TURN),
                    closed_tools: BoundedSet::new(TOOLS_PER_TURN),
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
                t.open_tools.insert(tool_id.clone());
                true
            }
            Event::ToolArgsDelta { tool_id, .. } | Event::ToolProgress { tool_id, .. } => {
                if t.closed_tools.contains(tool_id) {
                    return false;
                }
                // its start was lost (gap): track it anyway so it still gets a terminal event
                t.open_tools.insert(tool_id.clone());
                true
            }
            Event::ToolCompleted { tool_id, .. } | Event::ToolFailed { tool_id, .. } => {
                if t.closed_tools.contains(tool_id) {
                    return false;
                }
                t.open_tools.remove(tool_id.as_str());
                t.closed_tools.insert(tool_id.clone());
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
        for tool_id in turn.open_tools.iter().cloned() {
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
        self.closed.insert(turn.id);
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

    /// Stores the length of part `slot` (a new entry evicts the oldest part at the bound);
    /// returns the part's id for coalescing.
    fn set_part_len(&mut self, slot: PartRef<'_>, len: PartLen) -> usize {
        if let Some((id, known)) = self.parts.get_mut(&slot as &dyn PartId) {
            *known = len;
            return *id;
        }
        self.next_part += 1;
        let key = PartKey {
            message: slot.0.map(str::to_string),
            part: slot.1.map(str::to_string),
            channel: slot.2,
        };
        let _ = self.parts.insert(key, (self.next_part, len));
        self.next_part
    }
}

/// What owned and borrowed part keys have in common: hashing and equality go through `id`, so
/// the map finds an owned [`PartKey`] from a [`PartRef`].
trait PartId {
    fn id(&self) -> PartRef<'_>;
}

impl PartId for PartKey {
    fn id(&self) -> PartRef<'_> {
        (self.message.as_deref(), self.part.as_deref(), self.channel)
    }
}

impl PartId for PartRef<'_> {
    fn id(&self) -> PartRef<'_> {
        *self
    }
}

impl<'a> Borrow<dyn PartId + 'a> for PartKey {
    fn borrow(&self) -> &(dyn PartId + 'a) {
        self
    }
}

impl Hash for dyn PartId + '_ {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.id().hash(state);
    }
}

impl PartialEq for dyn PartId + '_ {
    fn eq(&self, other: &Self) -> bool {
        self.id() == other.id()
    }
}

impl Eq for dyn PartId + '_ {}

impl Hash for PartKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.id().hash(state); // the same as `dyn PartId`, as `Borrow` requires
    }
}

impl PartialEq for PartKey {
    fn eq(&self, other: &Self) -> bool {
        self.id() == other.id()
    }
}

impl Eq for PartKey {}

#[cfg(test)]
mod tests;
