//! The banking stage: mempool, execution and block production for the leader.
//!
//! Verified transactions enter a fee-ordered [`Mempool`]. While its slot lasts, the
//! leader repeatedly takes the best chunk from the mempool, executes it with the
//! parallel executor on the state of the block so far (parent state plus this block's
//! writes), and appends the accepted transactions in priority order; rejected ones are
//! counted by reason and remembered for `getTransaction`. When the slot clock passes
//! the end of the slot the block is sealed: its writes go into accounts-db's fork
//! overlay as one batch (giving the state root), the header (slot, parent, transactions
//! root, state root, VRF proof, operational certificate) is signed with the KES key,
//! the block is committed durably (on a single node, committed = final), and the
//! sealed block goes downstream to the shred stage. Every slot gets a block, empty
//! or not.
//!
//! Invariant: sequential replay of a sealed block on its parent state accepts every
//! transaction and yields the header's state root (accepted-only blocks plus the
//! executor's parallel = sequential property).
//!
//! Known gap: the state is committed here, before the shred stage writes the block to
//! the blockstore. A crash between the two leaves the last block's state durable
//! without its block record (the chain continues from that state; `getBlock` for that
//! slot answers null). Replay from the blockstore, which arrives with consensus,
//! closes it by committing state only after the block is stored.

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use aether_accounts_db::{AccountsDb, BlockId};
use aether_ledger::{
    CreatedOutput, Executor, LedgerParams, RejectReason, SpentOutput, StateValue, StateView, Writes,
};
use aether_types::codec::Encode;
use aether_types::signers::ValidatorIndex;
use aether_types::transaction::MAX_WIRE_TRANSACTION_BYTES;
use aether_types::{Block, Hash, MAX_BLOCK_BYTES, OutputReference, Transaction};
use foldhash::HashMapExt;

use crate::chain::ChainState;
use crate::leader::{LeaderKeys, vrf_input};
use crate::mempool::{Mempool, MempoolRefusal};
use crate::metrics::StageMetrics;
use crate::runner::Stage;
use crate::sigverify::VerifiedBatch;

/// Drop reasons of the banking stage: mempool refusals, then every ledger rule.
pub const BANKING_DROP_REASONS: &[&str] = &[
    "mempool_full",
    "duplicate",
    "validity_window",
    "no_inputs",
    "input_also_referenced",
    "fee_too_low",
    "programs_not_enabled",
    "unknown_input",
    "not_an_output",
    "missing_signature",
    "program_lock",
    "zero_output",
    "value_overflow",
    "value_not_conserved",
];

/// Maps wall time to slots.
#[derive(Debug, Clone, Copy)]
pub struct SlotClock {
    started: Instant,
    first_slot: u64,
    slot_duration: Duration,
}

impl SlotClock {
    /// A clock whose slot `first_slot` begins at `started`.
    pub fn new(started: Instant, first_slot: u64, slot_duration: Duration) -> Self {
        assert!(!slot_duration.is_zero());
        Self {
            started,
            first_slot,
            slot_duration,
        }
    }

    /// The slot in progress at `now`.
    pub fn slot_at(&self, now: Instant) -> u64 {
        let elapsed = now.saturating_duration_since(self.started);
        self.first_slot + (elapsed.as_nanos() / self.slot_duration.as_nanos()) as u64
    }
}

/// Banking limits.
#[derive(Debug, Clone, Copy)]
pub struct BankingConfig {
    /// Most transactions waiting in the mempool.
    pub mempool_capacity: usize,
    /// Most transactions executed per step.
    pub execute_chunk: usize,
    /// Most transactions in one block.
    pub block_transactions_max: usize,
    /// Ledger parameters.
    pub params: LedgerParams,
}

/// A block the leader sealed and committed, on its way to the shredder.
pub struct SealedBlock {
    /// The block.
    pub block: Block,
    /// Its canonical encoding (what is shredded).
    pub encoded: Vec<u8>,
    /// Its hash.
    pub hash: Hash,
    /// Its transaction ids, in block order (computed once, when admitted).
    pub transaction_ids: Vec<Hash>,
    /// When each transaction was received, in block order (latency metrics).
    pub received_at: Vec<Instant>,
}

/// Bytes of a block's encoding left for its transactions: [`MAX_BLOCK_BYTES`] less room
/// for the header, the certificate and the count prefix.
const BLOCK_TRANSACTION_BYTES_MAX: usize = MAX_BLOCK_BYTES - 64 * 1024;

/// How many more transactions a block holding `taken` of them in `taken_bytes` may
/// take: by count, and by bytes counting each new one at the largest wire size, so a
/// sealed block always fits [`MAX_BLOCK_BYTES`] (what one slot's shreds carry). For
/// transfers the byte bound binds only in a block's last tenth or so.
fn block_room(transactions_max: usize, taken: usize, taken_bytes: usize) -> usize {
    let by_count = transactions_max.saturating_sub(taken);
    let by_bytes =
        BLOCK_TRANSACTION_BYTES_MAX.saturating_sub(taken_bytes) / MAX_WIRE_TRANSACTION_BYTES;
    by_count.min(by_bytes)
}

struct BlockInProgress {
    slot: u64,
    /// Bytes the transactions add to the block's encoding.
    transaction_bytes: usize,
    transactions: Vec<(Transaction, Hash)>,
    received_at: Vec<Instant>,
    writes: Writes,
    /// Inputs the block's transactions spent, with their owners (for the address index).
    spent: Vec<SpentOutput>,
    /// Outputs the block's transactions created (for the address index).
    created: Vec<CreatedOutput>,
}

impl BlockInProgress {
    /// An empty block with room for `writes_expected` writes (the previous block's
    /// count: blocks under steady load are alike, and a map grown by doubling rehashes
    /// every key it holds at each step).
    fn new(slot: u64, writes_expected: usize) -> Self {
        Self {
            slot,
            transaction_bytes: 0,
            transactions: Vec::new(),
            received_at: Vec::new(),
            writes: Writes::with_capacity(writes_expected),
            spent: Vec::new(),
            created: Vec::new(),
        }
    }
}

/// State at the parent block with this block's writes on top.
struct BlockView<'a> {
    accounts: &'a AccountsDb,
    parent: Hash,
    writes: &'a Writes,
}

impl StateView for BlockView<'_> {
    fn get(&self, key: &Hash) -> Option<StateValue> {
        match self.writes.get(key) {
            Some(value) => value.clone(),
            // A storage read error surfaces as "absent": the transaction is rejected
            // (never wrongly accepted); storage errors are logged by accounts-db.
            None => self.accounts.get(&self.parent, key).ok().flatten(),
        }
    }
}

/// The stage's state.
pub struct BankingStage {
    config: BankingConfig,
    mempool: Mempool,
    executor: Executor,
    accounts: Arc<RwLock<AccountsDb>>,
    keys: LeaderKeys,
    clock: SlotClock,
    chain: Arc<ChainState>,
    parent: BlockId,
    current: BlockInProgress,
    /// The input keys of the chunk being executed (kept to reuse its allocation).
    input_keys: Vec<Hash>,
}

/// Sealing failed: the accounts-db refused the block or could not make it durable.
#[derive(Debug, thiserror::Error)]
#[error("sealing slot {slot} failed: {source}")]
pub struct SealError {
    slot: u64,
    #[source]
    source: Box<aether_accounts_db::AccountsDbError>,
}

impl BankingStage {
    /// A leader building on `accounts`' last finalized block.
    pub fn new(
        config: BankingConfig,
        executor: Executor,
        accounts: Arc<RwLock<AccountsDb>>,
        keys: LeaderKeys,
        clock: SlotClock,
        chain: Arc<ChainState>,
    ) -> Self {
        let parent = accounts.read().expect("accounts lock").last_finalized();
        let first_slot = clock.slot_at(Instant::now()).max(parent.slot + 1);
        chain.set_processed(parent.slot);
        chain.set_finalized(parent.slot, 0);
        Self {
            mempool: Mempool::new(config.mempool_capacity),
            config,
            executor,
            accounts,
            keys,
            clock,
            chain,
            parent,
            current: BlockInProgress::new(first_slot, 0),
            input_keys: Vec::new(),
        }
    }

    fn admit(&mut self, batch: VerifiedBatch, metrics: &StageMetrics) {
        metrics.add_in(batch.transactions.len());
        for transaction in batch.transactions {
            match self.mempool.insert(transaction) {
                Ok(Some(evicted)) => {
                    metrics.add_drop("mempool_full", 1);
                    self.chain
                        .record_rejection(evicted.id, "evicted from a full mempool".into());
                }
                Ok(None) => {}
                Err(MempoolRefusal::Full) => metrics.add_drop("mempool_full", 1),
                Err(MempoolRefusal::Duplicate) => metrics.add_drop("duplicate", 1),
            }
        }
    }

    /// Executes one chunk from the mempool into the current block.
    fn execute_chunk(&mut self, metrics: &StageMetrics) {
        let room = block_room(
            self.config.block_transactions_max,
            self.current.transactions.len(),
            self.current.transaction_bytes,
        );
        let chunk = self.mempool.pop_best(room.min(self.config.execute_chunk));
        if chunk.is_empty() {
            return;
        }
        let mut received_at = Vec::with_capacity(chunk.len());
        let pairs: Vec<(Transaction, Hash)> = chunk
            .into_iter()
            .map(|verified| {
                received_at.push(verified.received_at);
                (verified.transaction, verified.id)
            })
            .collect();
        let execution = {
            let accounts = self.accounts.read().expect("accounts lock");
            // Most inputs are older outputs read from storage, each read a chain of cache
            // misses: load them all together first (see `AccountStorage::warm`).
            self.input_keys.clear();
            self.input_keys
                .extend(pairs.iter().flat_map(|(transaction, _)| {
                    transaction.body.inputs.iter().map(OutputReference::key)
                }));
            accounts.storage().warm(&self.input_keys);
            let view = BlockView {
                accounts: &accounts,
                parent: self.parent.hash,
                writes: &self.current.writes,
            };
            self.executor
                .execute(&view, &pairs, self.current.slot, &self.config.params)
        };
        self.current.writes.extend(execution.writes);
        self.current.spent.extend(execution.spent);
        self.current.created.extend(execution.created);
        for ((pair, received), outcome) in
            pairs.into_iter().zip(received_at).zip(execution.outcomes)
        {
            match outcome {
                Ok(()) => {
                    self.current.transaction_bytes += pair.0.encoded_len();
                    self.current.transactions.push(pair);
                    self.current.received_at.push(received);
                }
                Err(reason) => self.reject(pair.1, &reason, metrics),
            }
        }
    }

    fn reject(&self, id: Hash, reason: &RejectReason, metrics: &StageMetrics) {
        metrics.add_drop(reason.label(), 1);
        self.chain.record_rejection(id, reason.to_string());
    }

    /// Seals the current block and starts the next one at `next_slot`.
    fn seal(&mut self, next_slot: u64) -> Result<SealedBlock, SealError> {
        let writes_expected = self.current.writes.len();
        let finished = std::mem::replace(
            &mut self.current,
            BlockInProgress::new(next_slot, writes_expected),
        );
        let slot = finished.slot;
        let ids: Vec<Hash> = finished.transactions.iter().map(|(_, id)| *id).collect();
        let mut header = self.keys.unsealed_header(
            slot,
            &self.parent,
            ValidatorIndex(0),
            &ids,
            &vrf_input(slot),
        );
        let writes = finished.writes;
        // The owner index is updated before the writes move into the accounts-db (no
        // copy of the block's writes); a failure below stops the node anyway.
        self.chain
            .addresses
            .write()
            .expect("address index lock")
            .apply_executed(&finished.created, &finished.spent);
        let (hash, state_root) = {
            let mut accounts = self.accounts.write().expect("accounts lock");
            // A single-node chain: the block is final once durable, and its state tree
            // is the parent's, updated in place.
            accounts
                .apply_block_sealed_final(self.parent.hash, slot, writes, |state_root| {
                    header.state_root = state_root;
                    header.hash()
                })
                .map_err(|source| SealError {
                    slot,
                    source: Box::new(source),
                })?
        };
        assert_eq!(header.state_root, state_root);
        self.parent = BlockId {
            hash,
            slot,
            state_root,
        };
        self.chain.set_processed(slot);
        let block = Block {
            header: self.keys.seal(header),
            justify: None,
            transactions: finished
                .transactions
                .into_iter()
                .map(|(transaction, _)| transaction)
                .collect(),
        };
        assert_eq!(block.hash(), hash);
        let mut encoded = Vec::with_capacity(block.encoded_len());
        block.encode_to(&mut encoded);
        assert!(
            encoded.len() <= MAX_BLOCK_BYTES,
            "the byte budget keeps blocks shreddable"
        );
        Ok(SealedBlock {
            block,
            encoded,
            hash,
            transaction_ids: ids,
            received_at: finished.received_at,
        })
    }
}

impl Stage for BankingStage {
    type Input = VerifiedBatch;
    type Output = SealedBlock;

    fn process(
        &mut self,
        input: VerifiedBatch,
        _out: &mut Vec<SealedBlock>,
        metrics: &StageMetrics,
    ) {
        self.admit(input, metrics);
        self.execute_chunk(metrics);
        self.chain.set_mempool_depth(self.mempool.len());
    }

    fn housekeeping(&mut self, now: Instant, out: &mut Vec<SealedBlock>, metrics: &StageMetrics) {
        let slot_now = self.clock.slot_at(now);
        if slot_now > self.current.slot {
            match self.seal(slot_now) {
                Ok(sealed) => {
                    metrics.add_out(sealed.block.transactions.len());
                    out.push(sealed);
                }
                Err(error) => {
                    // Accounts-db could not commit: continuing would build on state that
                    // is not durable. Stop the node rather than lose final data.
                    tracing::error!(%error, "cannot commit a block; stopping banking");
                    panic!("{error}");
                }
            }
        }
        self.execute_chunk(metrics);
        self.chain.set_mempool_depth(self.mempool.len());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Filling a block chunk by chunk, every chunk as large as the room allows and
        /// every transaction of any size up to the largest, never passes either limit.
        #[test]
        fn a_block_filled_to_its_room_fits_both_limits(
            transactions_max in 1..=aether_types::MAX_BLOCK_TRANSACTIONS,
            sizes in proptest::collection::vec(200..=MAX_WIRE_TRANSACTION_BYTES, 1..64),
            chunk_max in 1usize..20_000,
        ) {
            let (mut taken, mut taken_bytes, mut step) = (0usize, 0usize, 0usize);
            loop {
                let chunk = block_room(transactions_max, taken, taken_bytes).min(chunk_max);
                if chunk == 0 {
                    break;
                }
                for _ in 0..chunk {
                    taken_bytes += sizes[step % sizes.len()];
                    step += 1;
                }
                taken += chunk;
                prop_assert!(taken <= transactions_max);
                prop_assert!(taken_bytes <= BLOCK_TRANSACTION_BYTES_MAX);
            }
            // Full means the count is reached or not even one more largest transaction fits.
            prop_assert!(
                taken == transactions_max
                    || BLOCK_TRANSACTION_BYTES_MAX - taken_bytes < MAX_WIRE_TRANSACTION_BYTES
            );
        }
    }

    #[test]
    fn the_byte_bound_binds_for_large_transactions_only() {
        // 65,536 transfers of about 250 bytes fit by count long before bytes matter.
        assert_eq!(
            block_room(aether_types::MAX_BLOCK_TRANSACTIONS, 60_000, 60_000 * 250),
            5_536
        );
        // After 20,000 of the largest transactions (24,640,000 bytes) the byte budget
        // (27 MiB less 64 KiB: 28,246,016 bytes) leaves room for 2,926 more at 1,232
        // bytes, not the 45,536 the count allows.
        assert_eq!(
            block_room(
                aether_types::MAX_BLOCK_TRANSACTIONS,
                20_000,
                20_000 * MAX_WIRE_TRANSACTION_BYTES
            ),
            2_926
        );
        assert_eq!(block_room(10, 10, 0), 0);
        assert_eq!(block_room(10, 0, BLOCK_TRANSACTION_BYTES_MAX), 0);
    }
}
