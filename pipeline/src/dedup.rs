//! A bounded filter of recently seen transaction ids.
//!
//! Holds at most `capacity` ids; the oldest is forgotten first (FIFO). A forgotten id
//! that comes back passes the filter and is then stopped by the ledger (its inputs are
//! spent), so the bound costs only CPU, never correctness.

use std::collections::VecDeque;

use foldhash::{HashSet, HashSetExt};

use aether_types::Hash;

/// Recently accepted ids.
pub struct DedupFilter {
    capacity: usize,
    order: VecDeque<Hash>,
    seen: HashSet<Hash>,
}

impl DedupFilter {
    /// A filter remembering up to `capacity` ids.
    pub fn new(capacity: usize) -> Self {
        assert!(capacity > 0);
        Self {
            capacity,
            order: VecDeque::with_capacity(capacity),
            seen: HashSet::with_capacity(capacity),
        }
    }

    /// Whether `id` was recorded and not yet forgotten.
    pub fn contains(&self, id: &Hash) -> bool {
        self.seen.contains(id)
    }

    /// Records `id`; returns false when it was already present.
    pub fn insert(&mut self, id: Hash) -> bool {
        if !self.seen.insert(id) {
            return false;
        }
        if self.order.len() == self.capacity {
            let oldest = self.order.pop_front().expect("full means non-empty");
            self.seen.remove(&oldest);
        }
        self.order.push_back(id);
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
}
