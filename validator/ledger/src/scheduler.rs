//! Conflict levels: which transactions of a block may run at the same time.
//!
//! `level(j) = 1 + max(level(i))` over earlier transactions `i` that conflict with `j`
//! (0 when none). A write conflicts with any earlier access of the key; a read
//! conflicts with an earlier write. One pass, O(total keys) with a hash map per key:
//! the last level that wrote it and the highest level that read it.

use aether_types::{Hash, Transaction};
use foldhash::HashMapExt;

use crate::rules::created_output_keys;

/// The keys a transaction declares it touches.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccessSet {
    /// Written: consumed inputs, state-cell writes, created outputs.
    pub writes: Vec<Hash>,
    /// Only read: reference inputs and state-cell reads.
    pub reads: Vec<Hash>,
}

impl AccessSet {
    /// The access set of `transaction` (whose id is `transaction_id`).
    ///
    /// Created outputs count as writes so that a transaction spending an output made
    /// earlier in the same block is ordered after its creator.
    pub fn of(transaction: &Transaction, transaction_id: Hash) -> AccessSet {
        let mut writes: Vec<Hash> = transaction.write_keys().collect();
        writes.extend(created_output_keys(
            transaction_id,
            transaction.body.outputs.len(),
        ));
        AccessSet {
            writes,
            reads: transaction.read_keys().collect(),
        }
    }

    /// Whether `self` and `other` may not run at the same time.
    pub fn conflicts_with(&self, other: &AccessSet) -> bool {
        let writes_touch = |writes: &[Hash], other: &AccessSet| {
            writes
                .iter()
                .any(|key| other.writes.contains(key) || other.reads.contains(key))
        };
        writes_touch(&self.writes, other) || writes_touch(&other.writes, self)
    }
}

#[derive(Clone, Copy, Default)]
struct KeyLevels {
    /// 1 + the level of the last writer (0 = none).
    written_after: u32,
    /// 1 + the highest level of a reader (0 = none).
    read_after: u32,
}

/// The level of each transaction, in block order (see the module docs).
pub fn schedule_levels(access_sets: &[AccessSet]) -> Vec<u32> {
    let mut keys: foldhash::HashMap<Hash, KeyLevels> =
        foldhash::HashMap::with_capacity(access_sets.len() * 4);
    let mut levels = Vec::with_capacity(access_sets.len());
    for access in access_sets {
        let mut level = 0u32;
        for key in &access.writes {
            if let Some(seen) = keys.get(key) {
                level = level.max(seen.written_after).max(seen.read_after);
            }
        }
        for key in &access.reads {
            if let Some(seen) = keys.get(key) {
                level = level.max(seen.written_after);
            }
        }
        for key in &access.writes {
            keys.entry(*key).or_default().written_after = level + 1;
        }
        for key in &access.reads {
            let entry = keys.entry(*key).or_default();
            entry.read_after = entry.read_after.max(level + 1);
        }
        levels.push(level);
    }
    levels
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> Hash {
        Hash([byte; 32])
    }

    fn access(writes: &[u8], reads: &[u8]) -> AccessSet {
        AccessSet {
            writes: writes.iter().copied().map(key).collect(),
            reads: reads.iter().copied().map(key).collect(),
        }
    }

    #[test]
    fn levels_follow_conflicts() {
        let sets = [
            access(&[1], &[]),  // 0
            access(&[2], &[]),  // 0: disjoint
            access(&[3], &[1]), // 1: reads what 0 wrote
            access(&[4], &[1]), // 1: reading together is fine
            access(&[1], &[]),  // 2: writes what 2 and 3 read
            access(&[5], &[]),  // 0
            access(&[2], &[]),  // 1: after 1
        ];
        assert_eq!(schedule_levels(&sets), vec![0, 0, 1, 1, 2, 0, 1]);
    }

    #[test]
    fn no_level_holds_two_conflicting_transactions() {
        let mut sets = Vec::new();
        for index in 0..200u32 {
            let a = (index * 7 % 13) as u8;
            let b = (index * 5 % 11) as u8 + 20;
            sets.push(if index % 3 == 0 {
                access(&[a], &[b])
            } else {
                access(&[b], &[a])
            });
        }
        let levels = schedule_levels(&sets);
        for i in 0..sets.len() {
            for j in i + 1..sets.len() {
                if sets[i].conflicts_with(&sets[j]) {
                    assert!(levels[j] > levels[i], "{i} and {j} conflict");
                }
            }
        }
    }
}
