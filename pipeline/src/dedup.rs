//! A bounded filter of recently seen transaction ids.
//!
//! Holds at most `capacity` ids; the oldest is forgotten first (FIFO). A forgotten id
//! that comes back passes the filter and is then stopped by the ledger (its inputs are
//! spent), so the bound costs only CPU, never correctness.
//!
//! Ids are kept as 64-bit fingerprints: a hash of all 32 bytes under a key drawn at
//! random when the filter is made. A million 32-byte ids in a set and a queue took about
//! 100 MB, and each check, insert and eviction was a cache miss there; fingerprints make
//! both a quarter of the size. Two ids share a fingerprint with probability about
//! `capacity / 2^64` per insert (5·10^-14 at a million), and the key is per process and
//! never leaves it, so nobody can search for a colliding id offline. A collision drops a
//! transaction as a duplicate (counted as one), which its sender sees as a lost
//! transaction; nothing is ever wrongly let through.

use std::collections::VecDeque;
use std::hash::BuildHasher;

use foldhash::quality::RandomState;
use foldhash::{HashSet, HashSetExt};

use aether_types::Hash;

/// Recently accepted ids.
pub struct DedupFilter {
    capacity: usize,
    fingerprint_key: RandomState,
    order: VecDeque<u64>,
    seen: HashSet<u64>,
}

impl DedupFilter {
    /// A filter remembering up to `capacity` ids.
    pub fn new(capacity: usize) -> Self {
        assert!(capacity > 0);
        Self {
            capacity,
            fingerprint_key: RandomState::default(),
            order: VecDeque::with_capacity(capacity),
            seen: HashSet::with_capacity(capacity),
        }
    }

    fn fingerprint(&self, id: &Hash) -> u64 {
        self.fingerprint_key.hash_one(id.0)
    }

    /// Whether `id` was recorded and not yet forgotten.
    pub fn contains(&self, id: &Hash) -> bool {
        self.seen.contains(&self.fingerprint(id))
    }

    /// Records `id`; returns false when it was already present.
    pub fn insert(&mut self, id: Hash) -> bool {
        let fingerprint = self.fingerprint(&id);
        if !self.seen.insert(fingerprint) {
            return false;
        }
        if self.order.len() == self.capacity {
            let oldest = self.order.pop_front().expect("full means non-empty");
            self.seen.remove(&oldest);
        }
        self.order.push_back(fingerprint);
        debug_assert_eq!(self.order.len(), self.seen.len());
        true
    }

    /// Ids held.
    pub fn len(&self) -> usize {
        self.order.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_up_to_capacity_then_forgets_the_oldest() {
        let mut filter = DedupFilter::new(3);
        let id = |byte: u8| Hash([byte; 32]);
        assert!(filter.insert(id(1)));
        assert!(!filter.insert(id(1)));
        assert!(filter.insert(id(2)));
        assert!(filter.insert(id(3)));
        assert!(filter.insert(id(4)));
        assert_eq!(filter.len(), 3);
        assert!(!filter.contains(&id(1)));
        assert!(filter.contains(&id(2)) && filter.contains(&id(4)));
    }

    proptest::proptest! {
        /// Against a model that keeps whole ids: the filter answers the same for every
        /// insert and lookup, and never holds more than its capacity (ids are distinct
        /// digests, so a fingerprint collision is out of reach here).
        #[test]
        fn fingerprints_answer_like_whole_ids(
            capacity in 1usize..40,
            operations in proptest::collection::vec((proptest::bool::ANY, 0u32..60), 0..400),
        ) {
            let mut filter = DedupFilter::new(capacity);
            let mut model: std::collections::VecDeque<Hash> = Default::default();
            for (insert, number) in operations {
                let id = Hash::digest(&number.to_le_bytes());
                if insert {
                    let fresh = !model.contains(&id);
                    proptest::prop_assert_eq!(filter.insert(id), fresh);
                    if fresh {
                        if model.len() == capacity {
                            model.pop_front();
                        }
                        model.push_back(id);
                    }
                } else {
                    proptest::prop_assert_eq!(filter.contains(&id), model.contains(&id));
                }
                proptest::prop_assert_eq!(filter.len(), model.len());
                proptest::prop_assert!(filter.len() <= capacity);
            }
        }
    }
}
