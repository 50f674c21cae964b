//! Inbound dedup: a bounded registry of recently seen [`DedupKey`] fingerprints.
//!
//! A [`BoundedSet`] of 64-bit fingerprints: the last `capacity` keys by first sighting, evicted
//! in arrival order. The set hashes the already well-mixed fingerprints with an identity hasher,
//! so there is no per-process random state and runs stay reproducible.

use super::bounded::BoundedSet;
use crate::ids::DedupKey;
use std::hash::{BuildHasherDefault, Hasher};

/// Remembers the last `capacity` keys.
#[derive(Debug)]
pub(crate) struct Dedup {
    set: BoundedSet<u64, BuildHasherDefault<IdHasher>>,
}

impl Dedup {
    pub(crate) fn new(capacity: usize) -> Dedup {
        Dedup {
            set: BoundedSet::new(capacity),
        }
    }

    /// Records `key`; returns `false` if it was already among the remembered keys.
    pub(crate) fn insert(&mut self, key: &DedupKey) -> bool {
        self.set.insert(key.fingerprint())
    }

    pub(crate) fn len(&self) -> usize {
        self.set.len()
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
        for i in 0..100_000u64 {
            d.insert(&DedupKey::Id(format!("e{i}")));
        }
        assert_eq!(d.len(), 1024);
        assert_eq!(d.set.capacity(), 1024);
        // the window is the last 1024 keys by arrival
        assert!(!d.insert(&DedupKey::Id("e99999".into())));
        assert!(d.insert(&DedupKey::Id("e98975".into())), "evicted");
    }
}
