//! Inbound dedup: a bounded registry of recently seen [`DedupKey`] fingerprints.
//!
//! A hash set plus a ring buffer of insertion order: lookup, insert and eviction are O(1), and
//! memory is fixed by the capacity (both structures are allocated once, up front), whatever the
//! traffic. The set hashes the already well-mixed 64-bit fingerprints with an identity hasher, so
//! there is no per-process random state and runs stay reproducible.

use crate::ids::DedupKey;
use std::collections::{HashSet, VecDeque};
use std::hash::{BuildHasherDefault, Hasher};

/// Remembers the last `capacity` keys.
#[derive(Debug)]
pub(crate) struct Dedup {
    capacity: usize,
    set: HashSet<u64, BuildHasherDefault<IdHasher>>,
    order: VecDeque<u64>,
}

impl Dedup {
    pub(crate) fn new(capacity: usize) -> Dedup {
        let capacity = capacity.max(1);
        Dedup {
            capacity,
            // twice the key count: with tombstones from evictions the table then rehashes in
            // place instead of growing, so its size is fixed from the start
            set: HashSet::with_capacity_and_hasher(capacity * 2, BuildHasherDefault::default()),
            order: VecDeque::with_capacity(capacity),
        }
    }

    /// Records `key`; returns `false` if it was already among the remembered keys.
    pub(crate) fn insert(&mut self, key: &DedupKey) -> bool {
        let fp = key.fingerprint();
        if self.set.contains(&fp) {
            return false;
        }
        if self.order.len() == self.capacity {
            if let Some(old) = self.order.pop_front() {
                self.set.remove(&old);
            }
        }
        self.order.push_back(fp);
        self.set.insert(fp);
        true
    }

    pub(crate) fn len(&self) -> usize {
        self.order.len()
    }
}

/// Identity hasher for pre-mixed `u64` fingerprints.
#[derive(Debug, Default)]
pub(crate) struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8) | u64::from(b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drops_repeats_within_window_and_forgets_beyond() {
        let mut d = Dedup::new(3);
        assert!(d.insert(&DedupKey::Seq(1)));
        assert!(!d.insert(&DedupKey::Seq(1)));
        assert!(d.insert(&DedupKey::Seq(2)));
        assert!(d.insert(&DedupKey::Seq(3)));
        assert!(d.insert(&DedupKey::Seq(4))); // evicts 1
        assert_eq!(d.len(), 3);
        assert!(!d.insert(&DedupKey::Seq(4)));
        assert!(d.insert(&DedupKey::Seq(1)));
    }

    #[test]
    fn memory_stays_bounded_under_heavy_traffic() {
        let mut d = Dedup::new(1024);
        let cap_before = d.set.capacity();
        for i in 0..100_000u64 {
            d.insert(&DedupKey::Id(format!("e{i}")));
        }
        assert_eq!(d.len(), 1024);
        assert_eq!(d.set.len(), 1024);
        assert!(d.set.capacity() <= cap_before);
        assert!(d.order.capacity() <= 2048);
    }
}
