//! Ordered text assembly for backends that number their chunks (`chunk_index`, `index`, `seq`)
//! but not their character offsets: [`ChunkOrder`] turns chunks that may arrive duplicated or
//! reordered into in-order appends with exact character offsets, so the engine's
//! `(message, part, offset)` assembly can never double or shuffle text.
//!
//! Guarantees: every index is delivered at most once; indices are delivered in increasing order
//! with no gap, except when a gap is given up on explicitly ([`ChunkOrder::flush`]) or the
//! reorder buffer overflows ([`MAX_PENDING`] chunks), in which case the buffered chunks are
//! delivered in index order after the gap and the caller learns that a gap was skipped.
//!
//! Chunks without an index ([`ChunkOrder::push_unindexed`]) are never deduplicated by their
//! content: a real backend sends byte-identical chunks whenever a token repeats (`" the"`,
//! `"\n\n"`, a repeated silence frame), and one socket or HTTP body does not duplicate frames by
//! itself. Such a chunk is identified by its position instead: the connection (or attempt)
//! generation it arrived on and its ordinal within that generation. Only when the wire carries a
//! real key (a server event id) is a repeat of that key dropped. The trade-off: frames truly
//! duplicated on the wire by a faulty intermediary cannot be told apart from repeated tokens when
//! the wire has no key; [`ChunkOrder::close`] then repairs the text with a `Replace` of the final
//! full text, when the backend sends one.

use crate::seqmap::SeqMap;
use std::hash::BuildHasherDefault;

use crate::engine::IdHasher;
use crate::engine::bounded::{BoundedMap, BoundedSet};

/// Most chunks held back waiting for a missing index before the gap is skipped.
pub(crate) const MAX_PENDING: usize = 256;

/// Wire keys (server event ids) of unindexed chunks remembered per message.
pub(crate) const SEEN_KEYS: usize = 1024;

/// One chunk ready to append: its index, its character offset in the message, its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Ready {
    pub index: u64,
    pub offset: u64,
    pub text: String,
}

/// An unindexed chunk accepted by [`ChunkOrder::push_unindexed`]: the chunk to append and its
/// position on the wire, `(generation, ordinal)`, the dedup key of a chunk the wire gives none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Unindexed {
    pub ready: Ready,
    pub generation: u64,
    pub ordinal: u64,
}

/// What [`ChunkOrder::close`] has left to deliver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Closing {
    /// The text delivered so far is a prefix of the full text: append the rest.
    Tail(Ready),
    /// The text delivered so far is not a prefix of the full text (a chunk was lost in the
    /// middle, or a repeat went through): replace the whole part with this full text.
    Replace(String),
}

/// The ordering state of one streamed message.
#[derive(Debug, Clone)]
pub(crate) struct ChunkOrder {
    /// The next index to deliver.
    next: u64,
    /// Chunks that arrived ahead of `next`, by index (an order buffer: it drains in index
    /// order, so it is kept sorted; at `MAX_PENDING` it is flushed, never evicted).
    pending: SeqMap<String>,
    /// Characters delivered so far.
    chars: u64,
    /// The text delivered so far.
    text: String,
    /// Fingerprints of the wire keys (server event ids) of unindexed chunks seen.
    seen: BoundedSet<u64, BuildHasherDefault<IdHasher>>,
    /// The generation of the unindexed chunks counted by `ordinal`.
    generation: u64,
    /// Unindexed chunks accepted on `generation` so far.
    ordinal: u64,
    /// Whether a gap was ever skipped (text is then known to be incomplete).
    pub gapped: bool,
    /// The message is complete: later chunks are ignored.
    closed: bool,
}

impl Default for ChunkOrder {
    fn default() -> ChunkOrder {
        ChunkOrder::starting_at(0)
    }
}

impl ChunkOrder {
    /// A stream whose first chunk has index `first` (0 or 1 depending on the backend).
    pub(crate) fn starting_at(first: u64) -> ChunkOrder {
        ChunkOrder {
            next: first,
            pending: SeqMap::new(),
            chars: 0,
            text: String::new(),
            seen: BoundedSet::new(SEEN_KEYS),
            generation: 0,
            ordinal: 0,
            gapped: false,
            closed: false,
        }
    }

    /// Accepts chunk `index`; returns the chunks now deliverable, in order. Repeats (an index
    /// already delivered or already buffered) return nothing.
    pub(crate) fn push(&mut self, index: u64, text: String) -> Vec<Ready> {
        if self.closed || index < self.next || self.pending.contains_key(&index) {
            return Vec::new();
        }
        self.pending.insert(index, text);
        let mut out = self.drain_contiguous();
        if self.pending.len() > MAX_PENDING {
            out.extend(self.flush());
        }
        out
    }

    /// Appends a chunk without an index at the current end (for backends that do not number
    /// chunks), received on connection or attempt `generation`. `wire_key` is the fingerprint of
    /// a key the server put on the frame (an event id, stable across replays): a repeat of it
    /// returns `None`. Without a wire key nothing is ever dropped, whatever the content: the
    /// chunk is numbered by its ordinal within `generation` instead.
    pub(crate) fn push_unindexed(
        &mut self,
        generation: u64,
        wire_key: Option<u64>,
        text: String,
    ) -> Option<Unindexed> {
        if self.closed {
            return None;
        }
        if let Some(key) = wire_key
            && !self.seen.insert(key)
        {
            return None;
        }
        if generation != self.generation {
            self.generation = generation;
            self.ordinal = 0;
        }
        let ordinal = self.ordinal;
        self.ordinal = self.ordinal.saturating_add(1);
        let ready = Ready {
            index: self.next,
            offset: self.chars,
            text,
        };
        self.next = self.next.saturating_add(1);
        self.chars = self.chars.saturating_add(ready.text.chars().count() as u64);
        self.text.push_str(&ready.text);
        Some(Unindexed {
            ready,
            generation,
            ordinal,
        })
    }

    /// Gives up on missing indices: delivers everything buffered, in index order.
    pub(crate) fn flush(&mut self) -> Vec<Ready> {
        if let Some((&first, _)) = self.pending.first_key_value()
            && first > self.next
        {
            self.gapped = true;
            self.next = first;
        }
        let mut out = Vec::new();
        while let Some((&index, _)) = self.pending.first_key_value() {
            if index != self.next {
                self.gapped = true;
                self.next = index;
            }
            out.extend(self.drain_contiguous());
        }
        out
    }

    /// The text delivered so far.
    pub(crate) fn text(&self) -> &str {
        &self.text
    }

    /// Characters delivered so far.
    #[cfg(test)]
    pub(crate) fn chars(&self) -> u64 {
        self.chars
    }

    /// The message is complete with `full` text; later chunks are ignored. Returns what is left
    /// to deliver: the tail after the text delivered so far when that text is a prefix of `full`
    /// (chunks lost at the end or still in flight), a [`Closing::Replace`] with `full` when it is
    /// not (a chunk lost in the middle: appending would put the wrong tail at the wrong offset),
    /// `None` when everything was delivered.
    pub(crate) fn close(&mut self, full: &str) -> Option<Closing> {
        self.closed = true;
        self.pending.clear();
        if self.text == full {
            return None;
        }
        let closing = match full.strip_prefix(self.text.as_str()) {
            Some(tail) => Closing::Tail(Ready {
                index: self.next,
                offset: self.chars,
                text: tail.to_string(),
            }),
            None => Closing::Replace(full.to_string()),
        };
        self.chars = full.chars().count() as u64;
        self.text = full.to_string();
        Some(closing)
    }

    /// The next index expected.
    #[cfg(test)]
    pub(crate) fn next_index(&self) -> u64 {
        self.next
    }

    fn drain_contiguous(&mut self) -> Vec<Ready> {
        let mut out = Vec::new();
        while let Some(text) = self.pending.remove(&self.next) {
            let offset = self.chars;
            self.chars = self.chars.saturating_add(text.chars().count() as u64);
            self.text.push_str(&text);
            out.push(Ready {
                index: self.next,
                offset,
                text,
            });
            self.next = self.next.saturating_add(1);
        }
        out
    }
}

/// The ordering states of the most recent streamed messages, by message id (bounded: the
/// oldest is forgotten beyond `capacity`).
#[derive(Debug, Clone)]
pub(crate) struct Streams {
    map: BoundedMap<String, ChunkOrder>,
}

impl Streams {
    /// At most `capacity` messages remembered (at least 1).
    pub(crate) fn new(capacity: usize) -> Streams {
        Streams {
            map: BoundedMap::new(capacity),
        }
    }

    /// The state of `message_id`, created with first index `first` when unknown.
    pub(crate) fn get(&mut self, message_id: &str, first: u64) -> &mut ChunkOrder {
        self.map
            .get_or_insert_with(message_id.to_string(), || ChunkOrder::starting_at(first))
    }

    /// Whether `message_id` has been seen.
    pub(crate) fn contains(&self, message_id: &str) -> bool {
        self.map.contains_key(message_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(v: &[Ready]) -> Vec<(u64, u64, &str)> {
        v.iter()
            .map(|r| (r.index, r.offset, r.text.as_str()))
            .collect()
    }

    #[test]
    fn in_order_chunks_get_offsets() {
        let mut o = ChunkOrder::default();
        assert_eq!(texts(&o.push(0, "You".into())), vec![(0, 0, "You")]);
        assert_eq!(texts(&o.push(1, " said".into())), vec![(1, 3, " said")]);
        assert_eq!(texts(&o.push(2, ": héllo".into())), vec![(2, 8, ": héllo")]);
        assert_eq!(o.chars(), 15);
        assert_eq!(o.text(), "You said: héllo");
    }

    #[test]
    fn duplicates_are_dropped_and_reordering_is_undone() {
        let mut o = ChunkOrder::default();
        assert_eq!(o.push(1, "b".into()), vec![]);
        assert_eq!(o.push(1, "b".into()), vec![], "a buffered repeat");
        assert_eq!(
            texts(&o.push(0, "a".into())),
            vec![(0, 0, "a"), (1, 1, "b")]
        );
        assert_eq!(o.push(0, "a".into()), vec![], "a delivered repeat");
        assert_eq!(texts(&o.push(2, "c".into())), vec![(2, 2, "c")]);
        assert!(!o.gapped);
    }

    #[test]
    fn flush_skips_gaps_and_marks_them() {
        let mut o = ChunkOrder::starting_at(1);
        assert!(o.push(3, "c".into()).is_empty());
        assert!(o.push(5, "e".into()).is_empty());
        assert_eq!(texts(&o.flush()), vec![(3, 0, "c"), (5, 1, "e")]);
        assert!(o.gapped);
        assert_eq!(o.next_index(), 6);
        assert!(
            o.push(4, "late".into()).is_empty(),
            "behind the skipped gap"
        );
    }

    #[test]
    fn overflowing_the_buffer_skips_the_gap() {
        let mut o = ChunkOrder::default();
        let mut delivered = 0;
        for i in 1..=(MAX_PENDING as u64 + 1) {
            delivered += o.push(i, "x".into()).len();
        }
        assert_eq!(delivered, MAX_PENDING + 1);
        assert!(o.gapped);
    }

    #[test]
    fn close_delivers_the_missing_tail_once() {
        let mut o = ChunkOrder::default();
        o.push(0, "You ".into());
        assert!(
            o.push(2, "hello".into()).is_empty(),
            "index 1 still in flight"
        );
        let Some(Closing::Tail(tail)) = o.close("You said: hello") else {
            panic!("a tail is due");
        };
        assert_eq!((tail.offset, tail.text.as_str()), (4, "said: hello"));
        assert!(
            o.push(1, "said: ".into()).is_empty(),
            "late chunks are ignored"
        );
        assert_eq!(o.close("You said: hello"), None);
        assert_eq!(o.text(), "You said: hello");
        let mut done = ChunkOrder::default();
        done.push(0, "ok".into());
        assert_eq!(done.close("ok"), None);
    }

    #[test]
    fn close_replaces_when_a_middle_chunk_was_lost() {
        let mut o = ChunkOrder::default();
        o.push_unindexed(1, None, "You".into());
        // " said" was lost on the wire
        o.push_unindexed(1, None, ": hello".into());
        assert_eq!(o.text(), "You: hello");
        assert_eq!(
            o.close("You said: hello"),
            Some(Closing::Replace("You said: hello".into()))
        );
        assert_eq!(o.text(), "You said: hello");
        assert_eq!(o.chars(), 15);
        assert!(o.push_unindexed(1, None, "late".into()).is_none());
        let mut longer = ChunkOrder::default();
        longer.push_unindexed(1, None, "ab".into());
        longer.push_unindexed(1, None, "ab".into());
        assert_eq!(
            longer.close("ab"),
            Some(Closing::Replace("ab".into())),
            "delivered text longer than the full text is replaced too"
        );
    }

    #[test]
    fn unindexed_repeats_are_kept_and_numbered_by_position() {
        let mut o = ChunkOrder::default();
        let a = o.push_unindexed(7, None, " the".into()).unwrap();
        let b = o.push_unindexed(7, None, " the".into()).unwrap();
        assert_eq!((a.ready.offset, a.generation, a.ordinal), (0, 7, 0));
        assert_eq!((b.ready.offset, b.generation, b.ordinal), (4, 7, 1));
        let c = o.push_unindexed(8, None, " the".into()).unwrap();
        assert_eq!((c.ready.offset, c.generation, c.ordinal), (8, 8, 0));
        assert_eq!(o.text(), " the the the");
    }

    #[test]
    fn unindexed_repeats_of_a_wire_key_are_dropped() {
        let mut o = ChunkOrder::default();
        assert!(o.push_unindexed(1, Some(42), "ab".into()).is_some());
        assert_eq!(
            o.push_unindexed(2, Some(42), "ab".into()),
            None,
            "a replayed event id"
        );
        let c = o.push_unindexed(2, Some(43), "ab".into()).unwrap();
        assert_eq!(c.ready.offset, 2);
        assert_eq!(o.text(), "abab");
    }

    #[test]
    fn streams_are_bounded() {
        let mut s = Streams::new(2);
        s.get("a", 0).push(0, "x".into());
        s.get("b", 0);
        s.get("c", 0);
        assert!(!s.contains("a") && s.contains("b") && s.contains("c"));
        assert_eq!(s.get("b", 0).chars(), 0);
    }
}
