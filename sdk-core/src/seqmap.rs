//! `SeqMap<V>`: the small ordered map, keyed by a `u64` sequence number, id or index, behind the
//! reorder buffers of the codecs (events held past a gap, text parts waiting for an earlier
//! index, tool calls by index) and the engine's live transport handles.
//!
//! Guarantees:
//! - **Ordered like a `BTreeMap<u64, V>`:** iteration, `first_key_value`, `pop_first` and
//!   `keys_up_to` go in ascending key order; one value per key (`insert` replaces and returns the
//!   old value).
//! - **Small code, not asymptotics:** the entries are one sorted `Vec`, so lookup is O(log n)
//!   and insert/remove O(n). Every user bounds its map to a few hundred entries at most (their
//!   `MAX_HELD`/`MAX_PENDING`/`MAX_TOOLS` caps, or the handful of live requests), where a shift
//!   of a short `Vec` costs less than B-tree node code. The WebAssembly build carried one copy of
//!   the B-tree code per value type (about 84 KB before `wasm-opt` for 14 copies); this type's
//!   code is a binary search and a `Vec` shift.

/// An ordered map from `u64` to `V` over a sorted `Vec` (see the module docs): inserting 7, 3
/// and 5 iterates 3, 5, 7, as the unit tests below check against `BTreeMap`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SeqMap<V> {
    entries: Vec<(u64, V)>,
}

impl<V> Default for SeqMap<V> {
    fn default() -> Self {
        SeqMap::new()
    }
}

impl<V> IntoIterator for SeqMap<V> {
    type Item = (u64, V);
    type IntoIter = std::vec::IntoIter<(u64, V)>;

    /// The entries in key order.
    fn into_iter(self) -> Self::IntoIter {
        self.entries.into_iter()
    }
}

impl<V> SeqMap<V> {
    /// An empty map.
    pub(crate) const fn new() -> Self {
        SeqMap {
            entries: Vec::new(),
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub(crate) fn clear(&mut self) {
        self.entries.clear();
    }

    pub(crate) fn contains_key(&self, key: &u64) -> bool {
        self.find(*key).is_ok()
    }

    pub(crate) fn get(&self, key: &u64) -> Option<&V> {
        let at = self.find(*key).ok()?;
        self.entries.get(at).map(|(_, v)| v)
    }

    pub(crate) fn get_mut(&mut self, key: &u64) -> Option<&mut V> {
        let at = self.find(*key).ok()?;
        self.entries.get_mut(at).map(|(_, v)| v)
    }

    /// Inserts `value` under `key`; returns the value it replaced.
    pub(crate) fn insert(&mut self, key: u64, value: V) -> Option<V> {
        match self.find(key) {
            Ok(at) => self
                .entries
                .get_mut(at)
                .map(|slot| std::mem::replace(&mut slot.1, value)),
            Err(at) => {
                self.entries.insert(at, (key, value));
                None
            }
        }
    }

    /// The value under `key`, inserting `make()` first when there is none
    /// (`BTreeMap::entry(key).or_insert_with(make)`).
    pub(crate) fn get_or_insert_with(&mut self, key: u64, make: impl FnOnce() -> V) -> &mut V {
        let at = match self.find(key) {
            Ok(at) => at,
            Err(at) => {
                self.entries.insert(at, (key, make()));
                at
            }
        };
        &mut self.entries[at].1
    }

    pub(crate) fn remove(&mut self, key: &u64) -> Option<V> {
        let at = self.find(*key).ok()?;
        Some(self.entries.remove(at).1)
    }

    pub(crate) fn first_key_value(&self) -> Option<(&u64, &V)> {
        self.entries.first().map(|(k, v)| (k, v))
    }

    pub(crate) fn last_key(&self) -> Option<u64> {
        self.entries.last().map(|(k, _)| *k)
    }

    #[cfg(test)]
    pub(crate) fn pop_first(&mut self) -> Option<(u64, V)> {
        if self.entries.is_empty() {
            return None;
        }
        Some(self.entries.remove(0))
    }

    /// Keeps the entries for which `keep` says yes, in order.
    pub(crate) fn retain(&mut self, mut keep: impl FnMut(&u64, &mut V) -> bool) {
        self.entries.retain_mut(|(k, v)| keep(k, v));
    }

    /// Removes and returns, in key order, every entry whose key is `<= last`.
    pub(crate) fn drain_up_to(&mut self, last: u64) -> impl Iterator<Item = V> + '_ {
        let end = self.entries.partition_point(|(k, _)| *k <= last);
        self.entries.drain(..end).map(|(_, v)| v)
    }

    /// The values in key order.
    pub(crate) fn values(&self) -> impl Iterator<Item = &V> {
        self.entries.iter().map(|(_, v)| v)
    }

    /// The values in key order, consuming the map.
    pub(crate) fn into_values(self) -> impl Iterator<Item = V> {
        self.entries.into_iter().map(|(_, v)| v)
    }

    /// The entries in key order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&u64, &V)> {
        self.entries.iter().map(|(k, v)| (k, v))
    }

    fn find(&self, key: u64) -> Result<usize, usize> {
        self.entries.binary_search_by(|(k, _)| k.cmp(&key))
    }
}

#[cfg(test)]
mod tests {
    use super::SeqMap;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    #[test]
    fn keeps_key_order_whatever_the_insertion_order() {
        let mut m = SeqMap::new();
        assert_eq!(m.insert(7, "seven"), None);
        assert_eq!(m.insert(3, "three"), None);
        assert_eq!(m.insert(5, "five"), None);
        assert_eq!(m.insert(5, "FIVE"), Some("five"));
        assert_eq!(m.iter().map(|(k, _)| *k).collect::<Vec<_>>(), [3, 5, 7]);
        assert_eq!(m.first_key_value(), Some((&3, &"three")));
        assert_eq!(m.last_key(), Some(7));
        assert_eq!(m.drain_up_to(5).collect::<Vec<_>>(), ["three", "FIVE"]);
        assert_eq!(m.pop_first(), Some((7, "seven")));
        assert_eq!(m.pop_first(), None);
        assert!(m.is_empty());
    }

    #[derive(Debug, Clone)]
    enum Op {
        Insert(u64, u8),
        Remove(u64),
        PopFirst,
        Retain(u64),
        DrainUpTo(u64),
        GetOrInsert(u64, u8),
    }

    fn op() -> impl Strategy<Value = Op> {
        let key = 0u64..40;
        prop_oneof![
            (key.clone(), any::<u8>()).prop_map(|(k, v)| Op::Insert(k, v)),
            key.clone().prop_map(Op::Remove),
            Just(Op::PopFirst),
            key.clone().prop_map(Op::Retain),
            key.clone().prop_map(Op::DrainUpTo),
            (key, any::<u8>()).prop_map(|(k, v)| Op::GetOrInsert(k, v)),
        ]
    }

    proptest! {
        /// Every operation answers what `BTreeMap<u64, V>` answers, and leaves the same entries.
        #[test]
        fn behaves_like_a_btreemap(ops in proptest::collection::vec(op(), 0..200)) {
            let mut ours = SeqMap::new();
            let mut std = BTreeMap::new();
            for op in ops {
                match op {
                    Op::Insert(k, v) => prop_assert_eq!(ours.insert(k, v), std.insert(k, v)),
                    Op::Remove(k) => prop_assert_eq!(ours.remove(&k), std.remove(&k)),
                    Op::PopFirst => prop_assert_eq!(ours.pop_first(), std.pop_first()),
                    Op::Retain(k) => {
                        ours.retain(|key, _| *key % (k + 1) != 0);
                        std.retain(|key, _| *key % (k + 1) != 0);
                    }
                    Op::DrainUpTo(k) => {
                        let gone: Vec<u8> = ours.drain_up_to(k).collect();
                        let keys: Vec<u64> = std.range(..=k).map(|(key, _)| *key).collect();
                        let want: Vec<u8> = keys.iter().filter_map(|key| std.remove(key)).collect();
                        prop_assert_eq!(gone, want);
                    }
                    Op::GetOrInsert(k, v) => {
                        prop_assert_eq!(*ours.get_or_insert_with(k, || v), *std.entry(k).or_insert(v));
                    }
                }
                prop_assert_eq!(ours.len(), std.len());
                prop_assert_eq!(
                    ours.iter().map(|(k, v)| (*k, *v)).collect::<Vec<_>>(),
                    std.iter().map(|(k, v)| (*k, *v)).collect::<Vec<_>>()
                );
                for k in 0..40 {
                    prop_assert_eq!(ours.get(&k), std.get(&k));
                    prop_assert_eq!(ours.contains_key(&k), std.contains_key(&k));
                }
            }
        }
    }
}
