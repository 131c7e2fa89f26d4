//! The shred stage: a sealed block becomes signed Merkle shreds with Reed-Solomon
//! coding (`aether-shred`); its data shreds are stored with the block's metadata and
//! transaction statuses in one atomic blockstore write per slot. Once written, the slot
//! is reported final.
//!
//! Coding shreds are not stored: they exist to survive losses in transit, a stored
//! block is whole without them, nothing reads them back, and they are a deterministic
//! function of the data shreds (which carry the signed set root) should a repair
//! server ever need them. Storing them cost a third of the stage's RocksDB writes.

use std::sync::Arc;
use std::time::Instant;

use aether_blockstore::{
    BlockMeta, Blockstore, ShredWrite, SlotWrite, TransactionOutcome, TransactionStatus,
};
use aether_crypto::ed25519::Ed25519SecretKey;
use aether_shred::{ShredderConfig, SlotContext, shred_block};
use aether_types::{ShredFlags, ShredKind};

use crate::banking::SealedBlock;
use crate::chain::ChainState;
use crate::metrics::StageMetrics;
use crate::runner::Stage;

/// Drop reasons of the shred stage (a block that cannot be shredded or stored).
pub const SHRED_DROP_REASONS: &[&str] = &["shred_error", "blockstore_error"];

/// Bounded record of inclusion latencies (receive -> final), for benchmarks.
pub trait LatencySink: Send + Sync {
    /// Records one transaction's latency.
    fn record(&self, latency: std::time::Duration);
}

/// The stage's state.
pub struct ShredStage {
    identity: Ed25519SecretKey,
    shred_version: u16,
    config: ShredderConfig,
    blockstore: Arc<Blockstore>,
    chain: Arc<ChainState>,
    latencies: Option<Arc<dyn LatencySink>>,
}

impl ShredStage {
    /// A stage signing FEC sets with `identity` and storing into `blockstore`.
    pub fn new(
        identity: Ed25519SecretKey,
        shred_version: u16,
        blockstore: Arc<Blockstore>,
        chain: Arc<ChainState>,
        latencies: Option<Arc<dyn LatencySink>>,
    ) -> Self {
        Self {
            identity,
            shred_version,
            config: ShredderConfig::default(),
            blockstore,
            chain,
            latencies,
        }
    }

    /// Shreds and stores one block; returns the number of shreds written.
    pub fn store(&self, sealed: &SealedBlock, metrics: &StageMetrics) -> Option<usize> {
        let header = &sealed.block.header.header;
        let context = SlotContext {
            slot: header.slot,
            parent_slot: header.parent_slot,
            shred_version: self.shred_version,
        };
        let shreds = match shred_block(&sealed.encoded, &context, &self.config, &self.identity) {
            Ok(shreds) => shreds,
            Err(error) => {
                tracing::error!(slot = header.slot, %error, "cannot shred block");
                metrics.add_drop("shred_error", 1);
                return None;
            }
        };
        let writes: Vec<ShredWrite<'_>> = shreds
            .iter()
            .filter(|shred| shred.header().kind == ShredKind::Data)
            .map(|shred| ShredWrite {
                kind: shred.header().kind,
                index: shred.header().index,
                bytes: shred.as_bytes(),
                last_in_slot: shred.header().flags.contains(ShredFlags::LAST_IN_SLOT),
            })
            .collect();
        let statuses: Vec<_> = sealed
            .transaction_ids
            .iter()
            .map(|id| {
                (
                    *id,
                    TransactionStatus {
                        slot: header.slot,
                        outcome: TransactionOutcome::Succeeded,
                    },
                )
            })
            .collect();
        let meta = BlockMeta {
            slot: header.slot,
            hash: sealed.hash,
            parent_slot: header.parent_slot,
            parent_hash: header.parent_hash,
            state_root: header.state_root,
            transaction_ids: sealed.transaction_ids.clone(),
        };
        let write = SlotWrite {
            slot: header.slot,
            parent_slot: Some(header.parent_slot),
            shreds: &writes,
            block: Some(&meta),
            transaction_statuses: &statuses,
            finalized: true,
        };
        if let Err(error) = self.blockstore.write_slot(&write) {
            tracing::error!(slot = header.slot, %error, "cannot store block");
            metrics.add_drop("blockstore_error", 1);
            return None;
        }
        Some(writes.len())
    }
}

impl Stage for ShredStage {
    type Input = SealedBlock;
    type Output = ();

    fn process(&mut self, sealed: SealedBlock, _out: &mut Vec<()>, metrics: &StageMetrics) {
        let transactions = sealed.block.transactions.len();
        metrics.add_in(transactions);
        if self.store(&sealed, metrics).is_some() {
            metrics.add_out(transactions);
            let slot = sealed.block.header.header.slot;
            self.chain.set_finalized(slot, transactions);
            if let Some(sink) = &self.latencies {
                let now = Instant::now();
                for received in &sealed.received_at {
                    sink.record(now.saturating_duration_since(*received));
                }
            }
        }
    }
}
