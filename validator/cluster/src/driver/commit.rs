//! Commits: finalizing the accounts-db at the 2-chain's blocks, and what follows from
//! them (the finality proof, the log of VRF outputs and epoch nonces, the root record, pruning of
//! held blocks and waiting transactions), plus the snapshot bundle of the last one.

use std::collections::HashSet;

use aether_accounts_db::{AccountsDb, Writes};
use aether_consensus::BlockMeta;
use aether_ledger::SpentOutput;
use aether_ledger::rules::decode_state_output;
use aether_types::{Hash, QuorumCertificate, SignedBlockHeader, Transaction};

use super::{CommittedBlock, Driver, DriverError, FINAL_HISTORY_ROUNDS};
use crate::finality_proof::FinalityProof;
use crate::snapshot_bundle::SnapshotBundle;
use aether_consensus::Root;

impl Driver {
    /// The bundle a snapshot at the last final block travels with: its finality proof,
    /// its epoch's nonce and the final headers back to the start of the previous epoch,
    /// read from memory or, for older ones, from `older(slot, hash)` (the blockstore);
    /// the walk ends there or at the block after `genesis`. `None` when a piece is
    /// missing.
    pub fn snapshot_bundle(
        &self,
        genesis: &Hash,
        older: impl Fn(u64, &Hash) -> Option<SignedBlockHeader>,
    ) -> Option<SnapshotBundle> {
        let proof = self.finality_proof.clone()?;
        let slot = proof.block.header.slot;
        let epochs = self.core.schedule().epochs();
        let from = epochs.first_slot(epochs.epoch_of(slot).saturating_sub(1));
        let mut headers = vec![proof.block.clone()];
        let mut cursor = proof.block.header.clone();
        while cursor.parent_slot >= from && cursor.parent_hash != *genesis {
            let parent = self
                .blocks
                .get(&cursor.parent_hash)
                .map(|block| block.header.clone())
                .or_else(|| older(cursor.parent_slot, &cursor.parent_hash))?;
            cursor = parent.header.clone();
            headers.push(parent);
        }
        headers.reverse();
        Some(SnapshotBundle {
            epoch_nonce: *self.core.schedule().nonce_for_slot(slot)?,
            proof,
            headers,
        })
    }

    pub(super) fn commit(
        &mut self,
        blocks: Vec<BlockMeta>,
        certificate: QuorumCertificate,
        commit_certificate: QuorumCertificate,
    ) -> Result<(), DriverError> {
        let Some(last) = blocks.last() else {
            return Ok(());
        };
        if let (Some(block), Some(child)) = (
            self.blocks.get(&last.hash),
            self.blocks.get(&commit_certificate.block_hash),
        ) {
            self.finality_proof = Some(FinalityProof {
                block: block.header.clone(),
                certificate: certificate.clone(),
                child: child.header.clone(),
                child_certificate: commit_certificate,
            });
        }
        // The root is saved before the accounts-db finalizes its block: a crash in
        // between resumes from the root before it, which the store still holds, and
        // commits these blocks again (see `RootStore`).
        if let Some(roots) = &self.roots {
            roots.save(&Root {
                block: *last,
                certificate: certificate.clone(),
            })?;
        }
        let mut accounts = self.accounts.write().expect("accounts lock");
        let mut included = HashSet::new();
        for meta in &blocks {
            if let (Some(block), Some(writes)) = (
                self.blocks.get(&meta.hash),
                accounts.block_writes(&meta.hash),
            ) {
                // Each committed block's ids are hashed once: for the waiting queue
                // here and for the shred stage's statuses.
                let ids: Vec<Hash> = block
                    .transactions
                    .iter()
                    .map(Transaction::transaction_id)
                    .collect();
                included.extend(ids.iter().copied());
                let replaced =
                    replaced_outputs(&accounts, &block.header.header.parent_hash, &writes);
                self.newly_committed.push(CommittedBlock {
                    block: block.clone(),
                    writes,
                    replaced,
                    transaction_ids: ids,
                });
            }
        }
        accounts
            .finalize(&last.hash)
            .map_err(|error| DriverError::Finalize {
                block: last.hash,
                reason: error.to_string(),
            })?;
        drop(accounts);
        // Transactions another leader included (e.g. forwarded) leave the waiting
        // queue; a conflicting one left behind is refused by the builder's execution.
        if !included.is_empty() {
            self.pending.retain(|(_, id)| !included.contains(id));
        }
        self.record_validator_stats(&blocks, &certificate);
        let final_slot = last.round;
        if let Some(log) = &mut self.vrf_log {
            log.compact(self.core.schedule())?;
        }
        for meta in &blocks {
            if let Some(seen) = self.seen_ms.remove(&meta.hash) {
                self.finality_latencies_ms
                    .push(self.now_ms.saturating_sub(seen));
            }
        }
        self.committed.extend(blocks);
        // Blocks at or below the final round are final or on dead forks; a window of
        // them stays to answer peers catching up.
        let keep_from = final_slot.saturating_sub(FINAL_HISTORY_ROUNDS);
        self.blocks
            .retain(|_, block| block.header.header.slot > keep_from);
        let blocks = &self.blocks;
        self.seen_ms.retain(|hash, _| blocks.contains_key(hash));
        // Latencies the caller never takes are dropped, never accumulated.
        if self.finality_latencies_ms.len() > 4_096 {
            self.finality_latencies_ms.drain(..2_048);
        }
        Ok(())
    }
}

/// The owner of every output that a block's `writes` delete or overwrite, read from the
/// state at the block's parent: the address index's input for every block a cluster
/// commits (a single-node chain's banking stage takes it from execution instead). A key
/// the parent does not hold as an output (created within the block, or not an output)
/// has no owner to report; a storage read error reads as absent, as in replay, and can
/// only leave a spent output listed in RPC's index, never change state.
fn replaced_outputs(accounts: &AccountsDb, parent: &Hash, writes: &Writes) -> Vec<SpentOutput> {
    writes
        .keys()
        .filter_map(|key| {
            let previous = accounts.get(parent, key).ok().flatten()?;
            let (_, output) = decode_state_output(&previous)?;
            Some(SpentOutput {
                key: *key,
                owner: output.lock.hash(),
            })
        })
        .collect()
}
