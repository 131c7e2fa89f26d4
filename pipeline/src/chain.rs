//! What the rest of the node (RPC, metrics, tools) may read about the chain while the
//! pipeline runs: slots, recent rejections, and an index of unspent outputs by owner.

use std::collections::{BTreeMap, VecDeque};

use foldhash::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, RwLock};

use aether_ledger::Writes;
use aether_ledger::rules::decode_state_output;
use aether_types::{Hash, Lock, OutputReference};

/// How many rejection reasons are remembered for `getTransaction`.
pub const REJECTIONS_REMEMBERED: usize = 65_536;

/// Unspent outputs by lock hash (an address): reference -> AETH amount.
#[derive(Debug, Default)]
pub struct AddressIndex {
    by_address: HashMap<Hash, BTreeMap<OutputReference, u64>>,
    /// State key -> (address, reference), so a spend is removed without a scan.
    owner_of: HashMap<Hash, (Hash, OutputReference)>,
}

impl AddressIndex {
    /// Applies a block's writes (outputs created and spent).
    pub fn apply(&mut self, writes: &Writes) {
        for (key, value) in writes {
            match value {
                Some(bytes) => {
                    if let Some((reference, output)) = decode_state_output(bytes) {
                        let address = match output.lock {
                            Lock::PublicKeyHash(hash) | Lock::Program(hash) => hash,
                        };
                        self.by_address
                            .entry(address)
                            .or_default()
                            .insert(reference, output.value.aeth());
                        self.owner_of.insert(*key, (address, reference));
                    }
                }
                None => {
                    if let Some((address, reference)) = self.owner_of.remove(key)
                        && let Some(outputs) = self.by_address.get_mut(&address)
                    {
                        outputs.remove(&reference);
                        if outputs.is_empty() {
                            self.by_address.remove(&address);
                        }
                    }
                }
            }
        }
    }

    /// Unspent outputs of `address`, in reference order.
    pub fn outputs(&self, address: &Hash) -> Vec<(OutputReference, u64)> {
        self.by_address
            .get(address)
            .map(|outputs| {
                outputs
                    .iter()
                    .map(|(reference, amount)| (*reference, *amount))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Total AETH of `address`.
    pub fn balance(&self, address: &Hash) -> u64 {
        self.by_address
            .get(address)
            .map_or(0, |outputs| outputs.values().sum())
    }
}

/// Shared, read-mostly chain status.
#[derive(Default)]
pub struct ChainState {
    processed_slot: AtomicU64,
    finalized_slot: AtomicU64,
    committed_transactions_total: AtomicU64,
    mempool_depth: AtomicU64,
    rejections: Mutex<(VecDeque<Hash>, HashMap<Hash, String>)>,
    /// Unspent outputs by owner, as of the last finalized block.
    pub addresses: RwLock<AddressIndex>,
}

impl ChainState {
    /// Slot of the newest block executed.
    pub fn processed_slot(&self) -> u64 {
        self.processed_slot.load(Ordering::Acquire)
    }

    /// Slot of the newest block that is final (durable in accounts-db and blockstore).
    pub fn finalized_slot(&self) -> u64 {
        self.finalized_slot.load(Ordering::Acquire)
    }

    /// Transactions committed in blocks since start.
    pub fn committed_transactions(&self) -> u64 {
        self.committed_transactions_total.load(Ordering::Relaxed)
    }

    /// Transactions waiting in the mempool (last reported by banking).
    pub fn mempool_depth(&self) -> u64 {
        self.mempool_depth.load(Ordering::Relaxed)
    }

    pub(crate) fn set_mempool_depth(&self, depth: usize) {
        self.mempool_depth.store(depth as u64, Ordering::Relaxed);
    }

    /// Records a block as executed.
    pub fn set_processed(&self, slot: u64) {
        self.processed_slot.fetch_max(slot, Ordering::AcqRel);
    }

    /// Records a block as final with its transaction count.
    pub fn set_finalized(&self, slot: u64, transactions: usize) {
        self.committed_transactions_total
            .fetch_add(transactions as u64, Ordering::Relaxed);
        self.finalized_slot.fetch_max(slot, Ordering::AcqRel);
    }

    /// Remembers why `id` was rejected (bounded; the oldest is forgotten).
    pub fn record_rejection(&self, id: Hash, reason: String) {
        let mut guard = self.rejections.lock().expect("rejections lock");
        let (order, reasons) = &mut *guard;
        if reasons.insert(id, reason).is_none() {
            order.push_back(id);
            if order.len() > REJECTIONS_REMEMBERED {
                let oldest = order.pop_front().expect("non-empty");
                reasons.remove(&oldest);
            }
        }
    }

    /// Why `id` was rejected, if it was recently.
    pub fn rejection(&self, id: &Hash) -> Option<String> {
        self.rejections
            .lock()
            .expect("rejections lock")
            .1
            .get(id)
            .cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aether_ledger::rules::output_state_value;
    use aether_types::{Output, Value};

    #[test]
    fn index_follows_creates_and_spends() {
        let owner = Hash([7; 32]);
        let output = |aeth| Output {
            lock: Lock::PublicKeyHash(owner),
            value: Value::from_aeth(aeth),
            datum: None,
        };
        let references: Vec<OutputReference> = (0..3)
            .map(|index| OutputReference {
                transaction_id: Hash([1; 32]),
                index,
            })
            .collect();
        let mut index = AddressIndex::default();
        let mut writes = Writes::new();
        for (reference, aeth) in references.iter().zip([10, 20, 30]) {
            writes.insert(
                reference.key(),
                Some(output_state_value(reference, &output(aeth))),
            );
        }
        index.apply(&writes);
        assert_eq!(index.balance(&owner), 60);
        let mut spend = Writes::new();
        spend.insert(references[1].key(), None);
        index.apply(&spend);
        assert_eq!(index.balance(&owner), 40);
        assert_eq!(
            index.outputs(&owner),
            vec![(references[0], 10), (references[2], 30)]
        );
        spend.insert(references[0].key(), None);
        spend.insert(references[2].key(), None);
        index.apply(&spend);
        assert_eq!(index.balance(&owner), 0);
        assert!(index.by_address.is_empty() && index.owner_of.is_empty());
    }
}
