//! The mempool: verified transactions waiting for a block, best fee per byte first.
//!
//! Bounded: when full, a new transaction paying more per byte than the cheapest one
//! held evicts it; otherwise the new one is refused. Ties go to the earlier arrival.
//!
//! Layout: transactions sit in a slab of slots that is never larger than the capacity,
//! and a slot freed by a pop or an eviction is the next one filled (so the slots in use
//! stay few and warm in cache). The priority order maps to slot numbers and a set of
//! ids refuses duplicates, so each transaction is moved in and out exactly once and the
//! maps hold only small keys. Invariant: the order, the id set and the occupied slots
//! always name the same transactions.
//!
//! The order is a queue of slots per fee rate, in a map from rate to queue: arrivals
//! only grow, so each rate's queue is in arrival order by construction, and an insert
//! is a push onto its rate's queue (transactions mostly pay a few distinct rates)
//! instead of an insert into an ordered map of every transaction. The id set grows
//! with what the mempool holds rather than being sized for its capacity: a mempool
//! drained every few milliseconds holds hundreds, and their set stays in cache.

use std::cmp::Reverse;
use std::collections::{BTreeMap, VecDeque};

use foldhash::{HashSet, HashSetExt};

use aether_types::Hash;

use crate::sigverify::VerifiedTransaction;

/// The largest capacity a mempool takes: ten million transactions, about 2.5 GiB of
/// slots when full. Slot numbers are `u32`.
pub const MEMPOOL_CAPACITY_MAX: usize = 10_000_000;

const _: () = assert!(MEMPOOL_CAPACITY_MAX <= u32::MAX as usize);

/// Fee per byte in 1/1000 base units (so small differences count), highest first.
type Rate = Reverse<u64>;

/// Why the mempool refused a transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MempoolRefusal {
    /// Already held.
    Duplicate,
    /// Full, and it pays no more than the cheapest held.
    Full,
}

/// See the module docs.
pub struct Mempool {
    capacity: usize,
    /// Slots by fee rate, best rate first, each rate's slots in arrival order; no
    /// queue is empty.
    by_rate: BTreeMap<Rate, VecDeque<u32>>,
    /// The transactions; `None` in a free slot.
    slots: Vec<Option<VerifiedTransaction>>,
    /// Free slots, the most recently freed last.
    free_slots: Vec<u32>,
    /// Ids of the transactions held.
    ids: HashSet<Hash>,
}

fn fee_per_kilobyte(transaction: &VerifiedTransaction) -> u64 {
    transaction.transaction.body.fee.saturating_mul(1000) / u64::from(transaction.wire_bytes.max(1))
}

impl Mempool {
    /// A mempool holding at most `capacity` transactions (1 to [`MEMPOOL_CAPACITY_MAX`]).
    pub fn new(capacity: usize) -> Self {
        assert!((1..=MEMPOOL_CAPACITY_MAX).contains(&capacity));
        Self {
            capacity,
            by_rate: BTreeMap::new(),
            slots: Vec::new(),
            free_slots: Vec::new(),
            ids: HashSet::new(),
        }
    }

    /// Adds `transaction`; on success returns the transaction it evicted, if any.
    pub fn insert(
        &mut self,
        transaction: VerifiedTransaction,
    ) -> Result<Option<VerifiedTransaction>, MempoolRefusal> {
        if self.ids.contains(&transaction.id) {
            return Err(MempoolRefusal::Duplicate);
        }
        let rate = Reverse(fee_per_kilobyte(&transaction));
        let mut evicted = None;
        if self.ids.len() == self.capacity {
            let mut cheapest = self
                .by_rate
                .last_entry()
                .expect("a full mempool has entries");
            if rate >= *cheapest.key() {
                return Err(MempoolRefusal::Full);
            }
            // The latest arrival of the cheapest rate: the last in priority order.
            let slot = cheapest.get_mut().pop_back().expect("no queue is empty");
            if cheapest.get().is_empty() {
                cheapest.remove();
            }
            evicted = Some(self.take(slot));
        }
        let slot = match self.free_slots.pop() {
            Some(slot) => slot,
            None => {
                self.slots.push(None);
                u32::try_from(self.slots.len() - 1).expect("capacity fits in u32")
            }
        };
        assert!(self.slots.len() <= self.capacity);
        self.ids.insert(transaction.id);
        self.by_rate.entry(rate).or_default().push_back(slot);
        let previous = self.slots[slot as usize].replace(transaction);
        assert!(previous.is_none(), "a free slot is empty");
        Ok(evicted)
    }

    /// Removes and returns up to `count` transactions, best first.
    pub fn pop_best(&mut self, count: usize) -> Vec<VerifiedTransaction> {
        let mut taken = Vec::with_capacity(count.min(self.ids.len()));
        while taken.len() < count {
            let Some(mut best) = self.by_rate.first_entry() else {
                break;
            };
            let slot = best.get_mut().pop_front().expect("no queue is empty");
            if best.get().is_empty() {
                best.remove();
            }
            taken.push(self.take(slot));
        }
        debug_assert_eq!(self.queued(), self.ids.len());
        taken
    }

    /// Empties `slot` (already out of the priority order) and frees it.
    fn take(&mut self, slot: u32) -> VerifiedTransaction {
        let transaction = self.slots[slot as usize]
            .take()
            .expect("the priority order names occupied slots");
        let held = self.ids.remove(&transaction.id);
        assert!(held, "an occupied slot's id is in the set");
        self.free_slots.push(slot);
        transaction
    }

    /// Slots in the priority order (equal to [`Mempool::len`] by the invariant).
    fn queued(&self) -> usize {
        self.by_rate.values().map(VecDeque::len).sum()
    }

    /// Transactions held.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aether_types::transaction::TRANSACTION_VERSION;
    use aether_types::{Transaction, TransactionBody, ValidityWindow};
    use proptest::prelude::*;
    use std::time::Instant;

    fn transaction(fee: u64, nonce: u64) -> VerifiedTransaction {
        let body = TransactionBody {
            version: TRANSACTION_VERSION,
            inputs: Vec::new(),
            reference_inputs: Vec::new(),
            outputs: Vec::new(),
            state_reads: Vec::new(),
            state_writes: Vec::new(),
            fee,
            validity: ValidityWindow {
                first_slot: nonce,
                last_slot: nonce,
            },
            program_calls: Vec::new(),
        };
        let transaction = Transaction {
            body,
            signatures: Vec::new(),
        };
        VerifiedTransaction {
            id: transaction.transaction_id(),
            transaction,
            wire_bytes: 100,
            received_at: Instant::now(),
        }
    }

    proptest! {
        /// Model: the mempool always holds the `capacity` best transactions seen
        /// (by fee, then arrival), and pops them best first.
        #[test]
        fn keeps_the_best_and_pops_in_order(fees in prop::collection::vec(0u64..50, 1..200), capacity in 1usize..20) {
            let mut mempool = Mempool::new(capacity);
            let mut model: Vec<(u64, u64)> = Vec::new();
            for (nonce, fee) in fees.iter().enumerate() {
                let _ = mempool.insert(transaction(*fee, nonce as u64));
                model.push((*fee, nonce as u64));
                model.sort_by_key(|(fee, nonce)| (Reverse(*fee), *nonce));
                model.truncate(capacity);
                prop_assert_eq!(mempool.len(), model.len());
                prop_assert!(mempool.slots.len() <= capacity);
                prop_assert_eq!(
                    mempool.slots.iter().filter(|slot| slot.is_some()).count(),
                    mempool.len()
                );
                prop_assert_eq!(mempool.queued(), mempool.len());
                prop_assert!(mempool.by_rate.values().all(|queue| !queue.is_empty()));
            }
            let popped: Vec<(u64, u64)> = mempool
                .pop_best(usize::MAX)
                .iter()
                .map(|entry| (entry.transaction.body.fee, entry.transaction.body.validity.first_slot))
                .collect();
            prop_assert_eq!(popped, model);
        }
    }

    proptest! {
        /// Model, with pops between inserts (so freed slots are refilled): every pop
        /// returns the model's best, every insert is accepted, refused or evicts exactly
        /// as the model says, and the slab never outgrows the capacity.
        #[test]
        fn interleaved_inserts_and_pops_follow_the_model(
            operations in prop::collection::vec(prop_oneof![
                (0u64..30).prop_map(Some),
                Just(None),
            ], 1..300),
            capacity in 1usize..12,
        ) {
            let mut mempool = Mempool::new(capacity);
            let mut model: Vec<(u64, u64)> = Vec::new();
            for (nonce, operation) in operations.iter().enumerate() {
                match operation {
                    Some(fee) => {
                        let result = mempool.insert(transaction(*fee, nonce as u64));
                        model.push((*fee, nonce as u64));
                        model.sort_by_key(|(fee, nonce)| (Reverse(*fee), *nonce));
                        let dropped = (model.len() > capacity).then(|| model.pop().expect("over capacity"));
                        match (result, dropped) {
                            (Ok(None), None) => {}
                            (Ok(Some(evicted)), Some(dropped)) => prop_assert_eq!(
                                (evicted.transaction.body.fee, evicted.transaction.body.validity.first_slot),
                                dropped
                            ),
                            (Err(MempoolRefusal::Full), Some(dropped)) => {
                                prop_assert_eq!(dropped, (*fee, nonce as u64))
                            }
                            (result, dropped) => prop_assert!(false, "{:?} vs {:?}", result.map(|e| e.is_some()), dropped),
                        }
                    }
                    None => {
                        let popped = mempool.pop_best(2);
                        let expected: Vec<(u64, u64)> = model.drain(..model.len().min(2)).collect();
                        let popped: Vec<(u64, u64)> = popped
                            .iter()
                            .map(|entry| (entry.transaction.body.fee, entry.transaction.body.validity.first_slot))
                            .collect();
                        prop_assert_eq!(popped, expected);
                    }
                }
                prop_assert_eq!(mempool.len(), model.len());
                prop_assert!(mempool.slots.len() <= capacity);
                prop_assert_eq!(mempool.slots.len() - mempool.free_slots.len(), mempool.len());
            }
        }
    }

    #[test]
    fn refuses_duplicates_and_cheap_ones_when_full() {
        let mut mempool = Mempool::new(1);
        assert!(mempool.insert(transaction(10, 0)).is_ok());
        assert_eq!(
            mempool.insert(transaction(10, 0)).unwrap_err(),
            MempoolRefusal::Duplicate
        );
        assert_eq!(
            mempool.insert(transaction(10, 1)).unwrap_err(),
            MempoolRefusal::Full
        );
        let evicted = mempool
            .insert(transaction(11, 2))
            .expect("pays more")
            .expect("evicts");
        assert_eq!(evicted.transaction.body.fee, 10);
    }
}
