//! The one bounded, insertion-ordered map and set used by every capped collection of the engine
//! and the codecs: dedup windows, ended-turn and tool registries, text parts, reply-id sets,
//! acked-message lists and the per-dialect id maps.
//!
//! Guarantees:
//! - **Bounded:** never more than `capacity` entries; inserting a new key into a full map evicts
//!   the entry inserted **earliest** (insertion order, never the key's sort order: a map of
//!   `msg-9999` and `msg-10000` evicts whichever came first, whatever they look like as text).
//! - **Re-inserting a key keeps its place:** `insert` of a key already present replaces its
//!   value and leaves its position unchanged (it is not refreshed to "newest"), so a key that a
//!   hostile peer repeats cannot keep itself alive, and a dedup window stays a window of first
//!   sightings.
//! - **Deterministic:** keys are hashed with a fixed hasher (no per-process random state), so a
//!   run replays from its seed; iteration is in insertion order, oldest first.
//!
//! Lookup is O(1), insert, remove and eviction O(log n). The entries live in one dense `Vec` of
//! slots (insertion counter, key, value); the hash map only maps a key to its slot, and a
//! `BTreeMap` maps the insertion counter to the slot, so removing an entry from the middle leaves
//! no tombstone (the last slot moves into the hole) and the slots never outnumber the entries.
//! Both index maps have value type `usize` whatever `V` is, so the WebAssembly build carries one
//! copy of the B-tree code for all bounded maps and one copy of the hash table code per key
//! type, instead of one per key and value type.

use super::item::FnvBuild;
use std::borrow::Borrow;
use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasher, Hash};

/// A map that keeps at most `capacity` entries, evicting the earliest inserted: with capacity 2,
/// inserting `msg-9999`, `msg-10000`, `msg-10001` leaves `msg-10000` and `msg-10001` (the unit
/// tests below check exactly this).
#[derive(Debug, Clone)]
pub(crate) struct BoundedMap<K, V, S = FnvBuild> {
    capacity: usize,
    /// Key -> index into `slots`.
    entries: HashMap<K, usize, S>,
    /// Insertion counter -> index into `slots`.
    order: BTreeMap<u64, usize>,
    /// The entries, dense (no free slots), in no particular order.
    slots: Vec<Slot<K, V>>,
    next: u64,
}

#[derive(Debug, Clone)]
struct Slot<K, V> {
    /// The insertion counter when the key was first inserted.
    n: u64,
    key: K,
    value: V,
}

/// A set that keeps at most `capacity` keys, evicting the earliest inserted (see
/// [`BoundedMap`] for the guarantees).
#[derive(Debug, Clone)]
pub(crate) struct BoundedSet<K, S = FnvBuild> {
    map: BoundedMap<K, (), S>,
}

impl<K: Hash + Eq + Clone, V, S: BuildHasher + Default> BoundedMap<K, V, S> {
    /// An empty map holding at most `capacity` entries (at least one).
    pub(crate) fn new(capacity: usize) -> Self {
        BoundedMap {
            capacity: capacity.max(1),
            entries: HashMap::with_hasher(S::default()),
            order: BTreeMap::new(),
            slots: Vec::new(),
            next: 0,
        }
    }

    /// The bound.
    #[cfg(test)]
    pub(crate) fn capacity(&self) -> usize {
        self.capacity
    }

    pub(crate) fn len(&self) -> usize {
        self.slots.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    pub(crate) fn contains_key<Q>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.entries.contains_key(key)
    }

    pub(crate) fn get<Q>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let slot = *self.entries.get(key)?;
        self.slots.get(slot).map(|s| &s.value)
    }

    pub(crate) fn get_mut<Q>(&mut self, key: &Q) -> Option<&mut V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let slot = *self.entries.get(key)?;
        self.slots.get_mut(slot).map(|s| &mut s.value)
    }

    /// Inserts `key -> value`. A new key goes last in the order, evicting the oldest entry when
    /// the map is full (returned as `evicted`); a key already present keeps its place and gets
    /// the new value (the old one is returned as `replaced`).
    pub(crate) fn insert(&mut self, key: K, value: V) -> Inserted<K, V> {
        if let Some(old) = self.get_mut(&key) {
            return Inserted {
                replaced: Some(std::mem::replace(old, value)),
                evicted: None,
            };
        }
        let evicted = self.make_room();
        self.push(key, value);
        Inserted {
            replaced: None,
            evicted,
        }
    }

    /// The value of `key`, inserted with `make` first when absent (evicting the oldest entry
    /// when the map is full).
    pub(crate) fn get_or_insert_with(&mut self, key: K, make: impl FnOnce() -> V) -> &mut V {
        let slot = match self.entries.get(&key) {
            Some(&slot) => slot,
            None => {
                let _ = self.make_room();
                self.push(key, make())
            }
        };
        // In range: `entries` only holds indices of `slots` (every move below updates them).
        &mut self.slots[slot].value
    }

    /// Removes `key`, returning its value.
    pub(crate) fn remove<Q>(&mut self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let slot = self.entries.remove(key)?;
        let removed = self.take_slot(slot)?;
        self.order.remove(&removed.n);
        Some(removed.value)
    }

    /// Removes and returns the earliest inserted entry.
    pub(crate) fn pop_oldest(&mut self) -> Option<(K, V)> {
        let (_, slot) = self.order.pop_first()?;
        let removed = self.take_slot(slot)?;
        self.entries.remove(&removed.key);
        Some((removed.key, removed.value))
    }

    /// The earliest inserted entry.
    #[cfg(test)]
    pub(crate) fn oldest(&self) -> Option<(&K, &V)> {
        let (_, slot) = self.order.first_key_value()?;
        self.slots.get(*slot).map(|s| (&s.key, &s.value))
    }

    /// Entries in insertion order, oldest first.
    pub(crate) fn iter(&self) -> impl DoubleEndedIterator<Item = (&K, &V)> + '_ {
        self.order
            .values()
            .filter_map(|slot| self.slots.get(*slot).map(|s| (&s.key, &s.value)))
    }

    /// Keys in insertion order, oldest first.
    pub(crate) fn keys(&self) -> impl DoubleEndedIterator<Item = &K> + '_ {
        self.iter().map(|(k, _)| k)
    }

    /// Values in insertion order, oldest first.
    pub(crate) fn values(&self) -> impl DoubleEndedIterator<Item = &V> + '_ {
        self.iter().map(|(_, v)| v)
    }

    /// Keeps the entries for which `keep` is true (order unchanged).
    pub(crate) fn retain(&mut self, mut keep: impl FnMut(&K, &V) -> bool) {
        let before = self.slots.len();
        self.slots.retain(|s| keep(&s.key, &s.value));
        if self.slots.len() == before {
            return;
        }
        // Slots moved: index them again.
        self.entries.clear();
        self.order.clear();
        for (at, s) in self.slots.iter().enumerate() {
            self.entries.insert(s.key.clone(), at);
            self.order.insert(s.n, at);
        }
    }

    /// Removes everything (the insertion counter goes on).
    pub(crate) fn clear(&mut self) {
        self.entries.clear();
        self.order.clear();
        self.slots.clear();
    }

    /// Evicts the oldest entry when the map is full.
    fn make_room(&mut self) -> Option<(K, V)> {
        if self.slots.len() >= self.capacity {
            self.pop_oldest()
        } else {
            None
        }
    }

    /// Appends a new key (not present) as the newest entry; returns its slot.
    fn push(&mut self, key: K, value: V) -> usize {
        let n = self.next;
        self.next = self.next.wrapping_add(1);
        let slot = self.slots.len();
        self.entries.insert(key.clone(), slot);
        self.order.insert(n, slot);
        self.slots.push(Slot { n, key, value });
        slot
    }

    /// Takes `slot` out, moving the last slot into its place (and re-pointing that entry's key
    /// and insertion counter at it). The caller removes the taken entry's own index entries.
    fn take_slot(&mut self, slot: usize) -> Option<Slot<K, V>> {
        if slot >= self.slots.len() {
            return None;
        }
        let removed = self.slots.swap_remove(slot);
        if let Some(moved) = self.slots.get(slot) {
            if let Some(at) = self.entries.get_mut(&moved.key) {
                *at = slot;
            }
            self.order.insert(moved.n, slot);
        }
        Some(removed)
    }
}

/// What [`BoundedMap::insert`] displaced.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use = "an eviction may need handling; use `let _ =` when it does not"]
pub(crate) struct Inserted<K, V> {
    /// The previous value of a key that was already present.
    pub replaced: Option<V>,
    /// The oldest entry, evicted to make room for a new key.
    pub evicted: Option<(K, V)>,
}

impl<K: Hash + Eq + Clone, S: BuildHasher + Default> BoundedSet<K, S> {
    /// An empty set holding at most `capacity` keys (at least one).
    pub(crate) fn new(capacity: usize) -> Self {
        BoundedSet {
            map: BoundedMap::new(capacity),
        }
    }

    /// Adds `key` (evicting the oldest key when full); `false` if it was already present, in
    /// which case nothing changes (its place is kept).
    pub(crate) fn insert(&mut self, key: K) -> bool {
        if self.map.contains_key(&key) {
            return false;
        }
        let _ = self.map.insert(key, ());
        true
    }

    pub(crate) fn contains<Q>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.map.contains_key(key)
    }

    pub(crate) fn remove<Q>(&mut self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.map.remove(key).is_some()
    }

    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }

    #[cfg(test)]
    pub(crate) fn capacity(&self) -> usize {
        self.map.capacity()
    }

    /// Keys in insertion order, oldest first.
    pub(crate) fn iter(&self) -> impl DoubleEndedIterator<Item = &K> + '_ {
        self.map.keys()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::VecDeque;

    #[test]
    fn removed_slots_are_reused_so_churn_around_an_old_entry_stays_small() {
        let mut m: BoundedMap<String, u32> = BoundedMap::new(8);
        let _ = m.insert("old".into(), 0);
        for i in 0..10_000u32 {
            let _ = m.insert(format!("k{i}"), i);
            if i % 3 != 0 {
                assert_eq!(m.remove(&format!("k{i}")), Some(i));
            }
        }
        assert!(m.slots.len() <= 9, "slots grew to {}", m.slots.len());
        assert_eq!(m.len(), 8);
        // Insertion order survives slot reuse: the oldest remaining first.
        let keys: Vec<&str> = m.keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "k9978", "k9981", "k9984", "k9987", "k9990", "k9993", "k9996", "k9999"
            ]
        );
        m.retain(|k, _| k != "k9990");
        let _ = m.get_or_insert_with("new".into(), || 1);
        let keys: Vec<&str> = m.keys().map(String::as_str).collect();
        assert_eq!(keys.last(), Some(&"new"));
        assert_eq!(keys.len(), 8);
        assert!(!keys.contains(&"k9990"));
        assert_eq!(m.pop_oldest(), Some(("k9978".into(), 9978)));
    }

    #[test]
    fn evicts_by_insertion_order_across_a_digit_boundary() {
        let mut s: BoundedSet<String> = BoundedSet::new(3);
        for n in 9_998..10_003 {
            assert!(s.insert(format!("msg-{n}")));
        }
        let kept: Vec<&String> = s.iter().collect();
        assert_eq!(kept, ["msg-10000", "msg-10001", "msg-10002"]);
        assert!(!s.insert("msg-10001".into()), "a repeat is reported");
        assert_eq!(s.len(), 3);
    }

    #[test]
    fn reinsert_replaces_the_value_and_keeps_the_place() {
        let mut m: BoundedMap<&str, u32> = BoundedMap::new(2);
        assert_eq!(m.insert("a", 1).evicted, None);
        let _ = m.insert("b", 2);
        let again = m.insert("a", 10);
        assert_eq!((again.replaced, again.evicted), (Some(1), None));
        assert_eq!(m.get("a"), Some(&10));
        let full = m.insert("c", 3);
        assert_eq!(full.evicted, Some(("a", 10)), "a stayed oldest");
        assert_eq!(m.keys().copied().collect::<Vec<_>>(), ["b", "c"]);
    }

    #[test]
    fn remove_retain_and_pop_keep_the_order_consistent() {
        let mut m: BoundedMap<u32, u32> = BoundedMap::new(4);
        for k in 0..4 {
            let _ = m.insert(k, k * 10);
        }
        assert_eq!(m.remove(&1), Some(10));
        m.retain(|k, _| *k != 2);
        assert_eq!(m.keys().copied().collect::<Vec<_>>(), [0, 3]);
        assert_eq!(m.oldest(), Some((&0, &0)));
        for k in 4..7 {
            let _ = m.insert(k, 0);
        }
        assert_eq!(m.keys().copied().collect::<Vec<_>>(), [3, 4, 5, 6]);
        assert_eq!(m.pop_oldest(), Some((3, 30)));
        assert_eq!(m.len(), 3);
        *m.get_or_insert_with(4, || 99) += 1;
        assert_eq!(m.get(&4), Some(&1), "present: kept, not re-made");
        assert_eq!(*m.get_or_insert_with(7, || 70), 70);
        assert_eq!(m.keys().copied().collect::<Vec<_>>(), [4, 5, 6, 7]);
        assert_eq!(*m.get_or_insert_with(8, || 80), 80);
        assert_eq!(
            m.keys().copied().collect::<Vec<_>>(),
            [5, 6, 7, 8],
            "full: oldest out"
        );
        m.clear();
        assert!(m.is_empty() && m.oldest().is_none());
        assert_eq!(BoundedSet::<u8>::new(0).capacity(), 1, "at least one");
    }

    /// Keys as they come from servers: ids with growing digit counts, UUID-ish and arbitrary text.
    fn key() -> impl Strategy<Value = String> {
        prop_oneof![
            (0u64..2_000_000).prop_map(|n| format!("msg-{n}")),
            "[a-z0-9-]{1,12}",
            any::<String>(),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// After inserting n > capacity distinct keys, in any textual order, exactly the last
        /// `capacity` remain, oldest first.
        #[test]
        fn exactly_the_last_capacity_keys_remain(
            keys in proptest::collection::hash_set(key(), 1..300),
            capacity in 1usize..64,
        ) {
            let keys: Vec<String> = keys.into_iter().collect(); // arbitrary textual order
            let mut set: BoundedSet<String> = BoundedSet::new(capacity);
            let mut map: BoundedMap<String, usize> = BoundedMap::new(capacity);
            for (i, k) in keys.iter().enumerate() {
                prop_assert!(set.insert(k.clone()));
                prop_assert_eq!(map.insert(k.clone(), i).replaced, None);
            }
            let expected = &keys[keys.len().saturating_sub(capacity)..];
            prop_assert_eq!(set.iter().cloned().collect::<Vec<_>>(), expected);
            prop_assert_eq!(map.keys().cloned().collect::<Vec<_>>(), expected);
            for k in expected {
                prop_assert!(set.contains(k.as_str()));
            }
            for k in &keys[..keys.len().saturating_sub(capacity)] {
                prop_assert!(!map.contains_key(k.as_str()));
            }
        }

        /// Any sequence of inserts (repeats included) and removals behaves like the reference
        /// model: a queue of first insertions, repeats neither move nor duplicate a key.
        #[test]
        fn matches_a_reference_model(
            ops in proptest::collection::vec((0u8..40, any::<bool>()), 0..400),
            capacity in 1usize..16,
        ) {
            let mut model: VecDeque<(u8, usize)> = VecDeque::new();
            let mut map: BoundedMap<u8, usize> = BoundedMap::new(capacity);
            for (i, (k, is_remove)) in ops.into_iter().enumerate() {
                if is_remove {
                    let expected = model.iter().position(|(m, _)| *m == k)
                        .and_then(|p| model.remove(p)).map(|(_, v)| v);
                    prop_assert_eq!(map.remove(&k), expected);
                } else if let Some(slot) = model.iter_mut().find(|(m, _)| *m == k) {
                    let old = std::mem::replace(&mut slot.1, i);
                    prop_assert_eq!(map.insert(k, i).replaced, Some(old));
                } else {
                    let evicted = (model.len() == capacity).then(|| model.pop_front()).flatten();
                    model.push_back((k, i));
                    prop_assert_eq!(map.insert(k, i).evicted, evicted);
                }
                prop_assert!(map.len() <= capacity);
                let got: Vec<(u8, usize)> = map.iter().map(|(k, v)| (*k, *v)).collect();
                prop_assert_eq!(got, model.iter().copied().collect::<Vec<_>>());
            }
        }
    }
}
