//! Restores the order of a chat-interfaces SSE stream from its event ids.
//!
//! The backend numbers the events of a session (`id:` 1, 2, 3, ... with no gaps) and starts
//! every stream with `connected`, whose id is the position the stream starts after. Tokens carry
//! no index of their own, so the ids are the only way to put reordered events back in order: an
//! event is delivered when every earlier id has been, repeats (an id already passed) go through
//! at once for the engine's dedup to drop, and events ahead of a gap wait.
//!
//! Bounded and never stuck for good: ids that are not numbers switch the buffer off; before
//! `connected` arrives, and behind a gap, at most [`MAX_HELD`] events wait, then they are
//! delivered in id order and the gap is given up; when the stream ends everything held is
//! delivered ([`SseOrder::flush`]).

use crate::seqmap::SeqMap;

use crate::sse;

/// Most events held back behind a gap (or before `connected`).
pub(super) const MAX_HELD: usize = 32;

/// The reorder state of one stream.
#[derive(Debug, Default)]
pub(super) struct SseOrder {
    /// The id expected next, once known (`connected` id + 1).
    next: Option<u64>,
    held: SeqMap<sse::Event>,
    /// Off after a non-numeric id, or by configuration.
    pub off: bool,
}

impl SseOrder {
    /// A reorder buffer, switched off when `enabled` is false.
    pub(super) fn new(enabled: bool) -> SseOrder {
        SseOrder {
            off: !enabled,
            ..SseOrder::default()
        }
    }

    /// Accepts one event; returns the events now deliverable, in order.
    pub(super) fn accept(&mut self, event: &sse::Event) -> Vec<sse::Event> {
        if self.off {
            return vec![event.clone()];
        }
        let Some(id) = event.id.as_deref().and_then(|i| i.parse::<u64>().ok()) else {
            if event.id.is_some() {
                self.off = true;
                let mut out = self.flush();
                out.push(event.clone());
                return out;
            }
            return vec![event.clone()];
        };
        if event.event == "connected" {
            // Events held before `connected` that belong before its position are stale: out.
            let mut out = vec![event.clone()];
            // Only forward: a repeated `connected` must not move the position back.
            self.next = Some(self.next.unwrap_or(0).max(id.saturating_add(1)));
            out.extend(self.held.drain_up_to(id));
            out.extend(self.drain());
            return out;
        }
        match self.next {
            Some(next) if id < next => vec![event.clone()],
            Some(next) if id == next => {
                let mut out = vec![event.clone()];
                self.next = Some(id.saturating_add(1));
                out.extend(self.drain());
                out
            }
            _ => {
                self.held.get_or_insert_with(id, || event.clone());
                if self.held.len() > MAX_HELD {
                    self.flush()
                } else {
                    Vec::new()
                }
            }
        }
    }

    /// Delivers everything held, in id order, giving up on the gaps.
    pub(super) fn flush(&mut self) -> Vec<sse::Event> {
        let held = std::mem::take(&mut self.held);
        if let Some(last) = held.last_key() {
            self.next = Some(last.saturating_add(1));
        }
        held.into_values().collect()
    }

    /// A new stream starts.
    pub(super) fn reset(&mut self) {
        self.next = None;
        self.held.clear();
    }

    fn drain(&mut self) -> Vec<sse::Event> {
        let mut out = Vec::new();
        while let Some(next) = self.next {
            let Some(e) = self.held.remove(&next) else {
                break;
            };
            out.push(e);
            self.next = Some(next.saturating_add(1));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(id: &str, name: &str) -> sse::Event {
        sse::Event {
            event: name.into(),
            data: "{}".into(),
            id: Some(id.into()),
        }
    }

    fn ids(v: &[sse::Event]) -> Vec<String> {
        v.iter().map(|e| e.id.clone().unwrap_or_default()).collect()
    }

    #[test]
    fn reordered_events_come_out_in_id_order() {
        let mut o = SseOrder::default();
        assert!(
            o.accept(&ev("5", "token")).is_empty(),
            "held until connected"
        );
        assert_eq!(ids(&o.accept(&ev("3", "connected"))), ["3"]);
        assert_eq!(ids(&o.accept(&ev("4", "token"))), ["4", "5"]);
        assert!(o.accept(&ev("7", "token")).is_empty());
        assert_eq!(ids(&o.accept(&ev("6", "token"))), ["6", "7"]);
        assert_eq!(
            ids(&o.accept(&ev("6", "token"))),
            ["6"],
            "a repeat goes through for dedup"
        );
    }

    #[test]
    fn gaps_are_given_up_when_too_many_wait_or_the_stream_ends() {
        let mut o = SseOrder::default();
        o.accept(&ev("0", "connected"));
        let mut delivered = Vec::new();
        for i in 2..=(MAX_HELD as u64 + 2) {
            delivered.extend(o.accept(&ev(&i.to_string(), "token")));
        }
        assert_eq!(delivered.len(), MAX_HELD + 1, "the gap at 1 is given up");
        assert_eq!(
            ids(&o.accept(&ev("1", "token"))),
            ["1"],
            "late: delivered, the engine dedups or appends"
        );
        assert!(o.accept(&ev("40", "token")).is_empty());
        assert_eq!(ids(&o.flush()), ["40"]);
    }

    #[test]
    fn non_numeric_ids_and_missing_ids_pass_through() {
        let mut o = SseOrder::default();
        let no_id = sse::Event {
            event: "token".into(),
            data: "{}".into(),
            id: None,
        };
        assert_eq!(o.accept(&no_id).len(), 1);
        assert!(o.accept(&ev("9", "token")).is_empty());
        assert_eq!(ids(&o.accept(&ev("1712-0", "token"))), ["9", "1712-0"]);
        assert!(o.off);
        assert_eq!(o.accept(&ev("3", "token")).len(), 1);
        o.reset();
    }
}
