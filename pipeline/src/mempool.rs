//! The mempool: verified transactions waiting for a block, best fee per byte first.
//!
//! Bounded: when full, a new transaction paying more per byte than the cheapest one
//! held evicts it; otherwise the new one is refused. Ties go to the earlier arrival.

use std::cmp::Reverse;
use std::collections::BTreeMap;

use foldhash::{HashMap, HashMapExt};

use aether_types::Hash;

use crate::sigverify::VerifiedTransaction;

/// Priority key: fee per byte (in 1/1000 base units, so small differences count),
/// then arrival order.
type Priority = (Reverse<u64>, u64);

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
    by_priority: BTreeMap<Priority, Hash>,
    entries: HashMap<Hash, (Priority, VerifiedTransaction)>,
    arrivals: u64,
}

fn fee_per_kilobyte(transaction: &VerifiedTransaction) -> u64 {
    transaction.transaction.body.fee.saturating_mul(1000) / u64::from(transaction.wire_bytes.max(1))
}

impl Mempool {
    /// A mempool holding at most `capacity` transactions.
    pub fn new(capacity: usize) -> Self {
        assert!(capacity > 0);
        Self {
            capacity,
            by_priority: BTreeMap::new(),
            entries: HashMap::with_capacity(capacity),
            arrivals: 0,
        }
    }

    /// Adds `transaction`; on success returns the transaction it evicted, if any.
    pub fn insert(
        &mut self,
        transaction: VerifiedTransaction,
    ) -> Result<Option<VerifiedTransaction>, MempoolRefusal> {
        if self.entries.contains_key(&transaction.id) {
            return Err(MempoolRefusal::Duplicate);
        }
        let priority = (Reverse(fee_per_kilobyte(&transaction)), self.arrivals);
        let mut evicted = None;
        if self.entries.len() == self.capacity {
            let (&cheapest, _) = self
                .by_priority
                .last_key_value()
                .expect("a full mempool has entries");
            if priority.0 >= cheapest.0 {
                return Err(MempoolRefusal::Full);
            }
            let id = self.by_priority.remove(&cheapest).expect("present");
            evicted = self.entries.remove(&id).map(|(_, transaction)| transaction);
        }
        self.arrivals += 1;
        self.by_priority.insert(priority, transaction.id);
        self.entries.insert(transaction.id, (priority, transaction));
        assert!(self.entries.len() <= self.capacity);
        Ok(evicted)
    }

    /// Removes and returns up to `count` transactions, best first.
    pub fn pop_best(&mut self, count: usize) -> Vec<VerifiedTransaction> {
        let mut taken = Vec::with_capacity(count.min(self.entries.len()));
        while taken.len() < count {
            let Some((_, id)) = self.by_priority.pop_first() else {
                break;
            };
            let (_, transaction) = self.entries.remove(&id).expect("indexes agree");
            taken.push(transaction);
        }
        debug_assert_eq!(self.by_priority.len(), self.entries.len());
        taken
    }

    /// Transactions held.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
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
            }
            let popped: Vec<(u64, u64)> = mempool
                .pop_best(usize::MAX)
                .iter()
                .map(|entry| (entry.transaction.body.fee, entry.transaction.body.validity.first_slot))
                .collect();
            prop_assert_eq!(popped, model);
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
