//! What the rest of the node (RPC, metrics, tools) may read about the chain while the
//! pipeline runs: slots, recent rejections, and an index of unspent outputs by owner.

use std::collections::VecDeque;

use foldhash::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, RwLock};

use aether_ledger::{CreatedOutput, SpentOutput, Writes};
use aether_types::{Hash, OutputReference};

/// How many rejection reasons are remembered for `getTransaction`.
pub const REJECTIONS_REMEMBERED: usize = 65_536;

/// Unspent outputs by lock hash (an address), for `getUtxos`, `getBalance` and the faucet.
///
/// Every block updates it (two creates and one spend per transfer), so it is built
/// for writes: each address holds a hash map from state key to its output. A spend is
/// removed with the owner execution reported for it ([`SpentOutput`]): execution
/// decodes every input it spends anyway, so the index keeps no key-to-owner map (a
/// second map as large as state, touched at random on every spend). Likewise a block
/// the leader executed is indexed from the outputs execution reports creating
/// ([`CreatedOutput`]), not by reading and decoding the block's stored values again,
/// which are cold in cache by the time the block is sealed. Readers sort an address's
/// outputs by reference when they ask (reads are rare next to writes).
#[derive(Debug, Default)]
pub struct AddressIndex {
    by_address: HashMap<Hash, HashMap<Hash, (OutputReference, u64)>>,
}

impl AddressIndex {
    /// Applies a block from its writes (a replayed block):
    /// first `replaced`, the previous owner of every key the block deletes or
    /// overwrites (what execution reports as spent; a key that was never indexed, such
    /// as an output created and spent in the same block, is ignored); then every output
    /// `writes` stores is decoded and indexed under its lock. Values that are not
    /// outputs are not indexed.
    pub fn apply(&mut self, writes: &Writes, replaced: &[SpentOutput]) {
        self.remove(replaced);
        for (key, value) in writes {
            if let Some(output) = value
                .as_deref()
                .and_then(|bytes| CreatedOutput::from_state_value(*key, bytes))
            {
                self.insert(&output);
            }
        }
    }

    /// Applies a block as its execution reported it: every output its transactions
    /// created, then every input they spent, each list in block order. Creates go
    /// first, so an output created and spent within the block ends up absent; that
    /// order is right because a created key is new (an output's key names its
    /// transaction, which commits once), unlike the overwrites [`AddressIndex::apply`]
    /// allows.
    pub fn apply_executed(&mut self, created: &[CreatedOutput], spent: &[SpentOutput]) {
        for output in created {
            self.insert(output);
        }
        self.remove(spent);
    }

    /// Indexes one output (a rebuild from state streams them in).
    pub fn insert(&mut self, output: &CreatedOutput) {
        self.by_address
            .entry(output.owner)
            .or_default()
            .insert(output.key, (output.reference, output.aeth));
    }

    /// Removes every spend whose key the index holds under its owner.
    fn remove(&mut self, spent: &[SpentOutput]) {
        // Look every spend up first, for the caches: the lookups are independent, so
        // their cache misses overlap, and the removals below find their entries in cache.
        let present = spent
            .iter()
            .filter(|spent| {
                self.by_address
                    .get(&spent.owner)
                    .is_some_and(|outputs| outputs.contains_key(&spent.key))
            })
            .count();
        std::hint::black_box(present);
        for input in spent {
            if let Some(outputs) = self.by_address.get_mut(&input.owner) {
                outputs.remove(&input.key);
                if outputs.is_empty() {
                    self.by_address.remove(&input.owner);
                }
            }
        }
    }

    /// Unspent outputs of `address`, in reference order.
    pub fn outputs(&self, address: &Hash) -> Vec<(OutputReference, u64)> {
        let mut outputs: Vec<(OutputReference, u64)> = self
            .by_address
            .get(address)
            .map(|outputs| outputs.values().copied().collect())
            .unwrap_or_default();
        outputs.sort_unstable();
        outputs
    }

    /// Total AETH of `address`.
    pub fn balance(&self, address: &Hash) -> u64 {
        self.by_address.get(address).map_or(0, |outputs| {
            outputs.values().map(|(_, amount)| amount).sum()
        })
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
    use std::collections::BTreeMap;
    use std::sync::Arc;

    use aether_ledger::rules::{decode_state_output, output_state_value};
    use aether_types::{Lock, Output, Value};
    use proptest::prelude::*;

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
        let mut writes = Writes::default();
        for (reference, aeth) in references.iter().zip([10, 20, 30]) {
            writes.insert(
                reference.key(),
                Some(output_state_value(reference, &output(aeth))),
            );
        }
        index.apply(&writes, &[]);
        assert_eq!(index.balance(&owner), 60);
        let spent = |reference: &OutputReference| SpentOutput {
            key: reference.key(),
            owner,
        };
        let mut spend = Writes::default();
        spend.insert(references[1].key(), None);
        index.apply(&spend, &[spent(&references[1])]);
        assert_eq!(index.balance(&owner), 40);
        assert_eq!(
            index.outputs(&owner),
            vec![(references[0], 10), (references[2], 30)]
        );
        spend.insert(references[0].key(), None);
        spend.insert(references[2].key(), None);
        index.apply(&spend, &[spent(&references[0]), spent(&references[2])]);
        assert_eq!(index.balance(&owner), 0);
        assert!(index.by_address.is_empty());
    }

    /// One write of a generated block: `key_number` picks one of a few keys (so keys
    /// are created, overwritten and deleted again), `owner_number` one of a few owners.
    #[derive(Debug, Clone)]
    enum GeneratedWrite {
        Output {
            key_number: u8,
            owner_number: u8,
            aeth: u64,
        },
        NotAnOutput {
            key_number: u8,
        },
        Delete {
            key_number: u8,
        },
    }

    fn generated_write() -> impl Strategy<Value = GeneratedWrite> {
        prop_oneof![
            3 => (0..24u8, 0..4u8, 1..1_000u64).prop_map(|(key_number, owner_number, aeth)| {
                GeneratedWrite::Output { key_number, owner_number, aeth }
            }),
            1 => (0..24u8).prop_map(|key_number| GeneratedWrite::NotAnOutput { key_number }),
            2 => (0..24u8).prop_map(|key_number| GeneratedWrite::Delete { key_number }),
        ]
    }

    fn reference_of(key_number: u8) -> OutputReference {
        OutputReference {
            transaction_id: Hash([key_number; 32]),
            index: u16::from(key_number),
        }
    }

    proptest! {
        /// Model: the live state as key -> (owner, reference, amount); an address's
        /// outputs are a filter over it. The index must answer exactly that after every
        /// block, whatever mix of creates, overwrites and deletes the blocks hold, given
        /// the previous owner of every key a block deletes or overwrites (the caller's
        /// part of the contract), plus spends of keys that were never stored (an output
        /// created and spent within one block), which must change nothing.
        #[test]
        fn index_answers_what_a_scan_of_state_answers(
            blocks in proptest::collection::vec(proptest::collection::vec(generated_write(), 0..12), 1..12),
            unstored_spend_owner in 0..4usize,
        ) {
            let owners: Vec<Hash> = (0..4u8).map(|number| Hash([100 + number; 32])).collect();
            let mut model: BTreeMap<Hash, (Hash, OutputReference, u64)> = BTreeMap::new();
            let mut index = AddressIndex::default();
            for block in blocks {
                let mut writes = Writes::default();
                for write in block {
                    match write {
                        GeneratedWrite::Output { key_number, owner_number, aeth } => {
                            let reference = reference_of(key_number);
                            let output = Output {
                                lock: Lock::PublicKeyHash(owners[owner_number as usize]),
                                value: Value::from_aeth(aeth),
                                datum: None,
                            };
                            writes.insert(reference.key(), Some(output_state_value(&reference, &output)));
                        }
                        GeneratedWrite::NotAnOutput { key_number } => {
                            writes.insert(reference_of(key_number).key(), Some(Arc::from(vec![0xff, key_number])));
                        }
                        GeneratedWrite::Delete { key_number } => {
                            writes.insert(reference_of(key_number).key(), None);
                        }
                    }
                }
                let mut replaced: Vec<SpentOutput> = Vec::new();
                for key in writes.keys() {
                    match model.get(key) {
                        Some((owner, _, _)) => replaced.push(SpentOutput { key: *key, owner: *owner }),
                        None => replaced.push(SpentOutput {
                            key: *key,
                            owner: owners[unstored_spend_owner],
                        }),
                    }
                }
                for (key, value) in &writes {
                    match value.as_deref().and_then(decode_state_output) {
                        Some((reference, output)) => {
                            let Lock::PublicKeyHash(owner) = output.lock else { unreachable!() };
                            model.insert(*key, (owner, reference, output.value.aeth()));
                        }
                        None => {
                            model.remove(key);
                        }
                    }
                }
                index.apply(&writes, &replaced);
                for owner in &owners {
                    let mut expected: Vec<(OutputReference, u64)> = model
                        .values()
                        .filter(|(holder, _, _)| holder == owner)
                        .map(|(_, reference, amount)| (*reference, *amount))
                        .collect();
                    expected.sort_unstable();
                    prop_assert_eq!(index.balance(owner), expected.iter().map(|(_, amount)| amount).sum::<u64>());
                    prop_assert_eq!(index.outputs(owner), expected);
                }
                prop_assert_eq!(
                    index.by_address.values().map(HashMap::len).sum::<usize>(),
                    model.len()
                );
            }
        }

        /// A leader's blocks indexed from what execution reported (`apply_executed`)
        /// leave the index exactly as indexing the same blocks from their writes does
        /// (`apply`), and both hold exactly the model's live outputs. Blocks spend
        /// outputs of earlier blocks and outputs created earlier in the same block.
        #[test]
        fn executed_blocks_index_as_their_writes_do(
            blocks in proptest::collection::vec(
                proptest::collection::vec((any::<bool>(), 0..4usize, 1..1_000u64, any::<proptest::sample::Index>()), 0..16),
                1..10,
            ),
        ) {
            let owners: Vec<Hash> = (0..4u8).map(|number| Hash([100 + number; 32])).collect();
            let mut live: BTreeMap<Hash, CreatedOutput> = BTreeMap::new();
            let (mut from_execution, mut from_writes) = (AddressIndex::default(), AddressIndex::default());
            let mut next_transaction = 0u32;
            for block in blocks {
                let before = live.clone();
                let (mut created, mut spent, mut writes) = (Vec::new(), Vec::new(), Writes::default());
                for (create, owner_number, aeth, pick) in block {
                    if create || live.is_empty() {
                        next_transaction += 1;
                        let mut transaction_id = Hash::ZERO;
                        transaction_id.0[..4].copy_from_slice(&next_transaction.to_le_bytes());
                        let reference = OutputReference { transaction_id, index: 0 };
                        let output = Output {
                            lock: Lock::PublicKeyHash(owners[owner_number]),
                            value: Value::from_aeth(aeth),
                            datum: None,
                        };
                        let value = output_state_value(&reference, &output);
                        let reported = CreatedOutput {
                            key: reference.key(),
                            reference,
                            owner: owners[owner_number],
                            aeth,
                        };
                        prop_assert_eq!(CreatedOutput::from_state_value(reported.key, &value), Some(reported));
                        writes.insert(reported.key, Some(value));
                        created.push(reported);
                        live.insert(reported.key, reported);
                    } else {
                        let key = *pick.get(&live.keys().copied().collect::<Vec<_>>());
                        let output = live.remove(&key).expect("picked from live");
                        writes.insert(key, None);
                        spent.push(SpentOutput { key, owner: output.owner });
                    }
                }
                let replaced: Vec<SpentOutput> = spent
                    .iter()
                    .filter(|spent| before.contains_key(&spent.key))
                    .copied()
                    .collect();
                from_execution.apply_executed(&created, &spent);
                from_writes.apply(&writes, &replaced);
                for owner in &owners {
                    let mut expected: Vec<(OutputReference, u64)> = live
                        .values()
                        .filter(|output| output.owner == *owner)
                        .map(|output| (output.reference, output.aeth))
                        .collect();
                    expected.sort_unstable();
                    prop_assert_eq!(from_execution.outputs(owner), expected.clone());
                    prop_assert_eq!(from_writes.outputs(owner), expected);
                    prop_assert_eq!(from_execution.balance(owner), from_writes.balance(owner));
                }
            }
        }
    }
}
