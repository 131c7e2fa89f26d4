//! Building this validator's block for a round it leads: on the certified parent, from
//! the waiting transactions, signed with the KES key evolved to the slot's period.

use std::sync::Arc;

use aether_consensus::{Proposal, vrf_input};
use aether_crypto::vrf::{VrfProof, proof_to_hash};
use aether_pipeline::leader::KesEvolveError;
use aether_pipeline::replay::ParentView;
use aether_types::{Block, Hash, QuorumCertificate, TimeoutCertificate, Transaction};

use super::{BLOCK_TRANSACTIONS_MAX, Driver, Outbound, proposal_of};

/// What the core asked to propose.
#[derive(Debug, Clone)]
pub(super) struct ProposeRequest {
    pub(super) round: u64,
    pub(super) parent: Hash,
    pub(super) justify: QuorumCertificate,
    pub(super) tc: Option<TimeoutCertificate>,
}

impl Driver {
    /// Builds, executes and seals this validator's block for the requested round on
    /// its parent.
    pub(super) fn build_now(&mut self, request: ProposeRequest) -> Option<Proposal> {
        let ProposeRequest {
            round,
            parent,
            justify,
            tc,
        } = request;
        let build_started = std::time::Instant::now();
        self.last_block_ms = Some(self.now_ms);
        // The nonce along the parent's chain (the core asked for a round it leads on
        // this parent, so it is known).
        let nonce = self.core.epoch_nonce_after(round, &parent)?;
        let period = round / self.cluster.kes_slots_per_period.get();
        let period_before = self.keys.kes.period();
        let evolved = u32::try_from(period)
            .map_err(|_| KesEvolveError::Expired { period: u32::MAX })
            .and_then(|period| self.keys.evolve_to(period));
        if let Err(error) = evolved {
            // The round times out; the operator sees why.
            tracing::warn!(round, %error, "cannot sign a block in this slot's KES period");
            self.count_rejection("kes_key_unusable");
            return None;
        }
        if self.keys.kes.period() != period_before
            && let Some(saver) = &mut self.kes_saver
            && let Err(error) = saver(&self.keys.kes)
        {
            // The block is still signed (missing the slot helps nobody); the old
            // period's key stays on disk until a later save succeeds.
            tracing::error!(%error, "the evolved KES key could not be saved");
            self.count_rejection("kes_key_not_saved");
        }
        let mut accounts = self.accounts.write().expect("accounts lock");
        let Some(parent_id) = accounts.block_id(&parent) else {
            // Certified but never seen here (lost in a restart): ask peers for it; the
            // round times out meanwhile.
            drop(accounts);
            self.count_rejection("parent_missing");
            self.outbox.push(Outbound::FetchBlock {
                hash: parent,
                from: None,
            });
            return None;
        };
        let take = self.pending.len().min(BLOCK_TRANSACTIONS_MAX);
        let candidates: Vec<(Transaction, Hash)> = self.pending.drain(..take).collect();
        let execution = {
            let view = ParentView {
                accounts: &accounts,
                parent,
            };
            self.builder
                .execute(&view, &candidates, round, &self.params)
        };
        // Rejected transactions (spent inputs, expired windows) are dropped here.
        let (transactions, ids): (Vec<Transaction>, Vec<Hash>) = candidates
            .into_iter()
            .zip(&execution.outcomes)
            .filter(|(_, outcome)| outcome.is_ok())
            .map(|(pair, _)| pair)
            .unzip();
        let mut header =
            self.keys
                .unsealed_header(round, &parent_id, self.me, &ids, &vrf_input(&nonce, round));
        let sealed = accounts.apply_block_sealed(parent, round, execution.writes, |state_root| {
            header.state_root = state_root;
            header.hash()
        });
        drop(accounts);
        if sealed.is_err() {
            self.count_rejection("build_failed");
            return None;
        }
        let block = Block {
            header: self.keys.seal(header),
            justify: Some(justify.clone()),
            transactions,
        };
        let Ok(vrf_output) = proof_to_hash(&VrfProof(block.header.header.vrf_proof)) else {
            self.count_rejection("build_failed");
            return None;
        };
        let proposal = proposal_of(&block, justify, tc, true, vrf_output);
        self.seen_ms.insert(block.hash(), self.now_ms);
        if let Some(store) = &self.pending_blocks
            && let Err(error) = store.save(&block)
        {
            // Not proposed: a block that a restart could lose is not offered.
            tracing::error!(%error, round, "could not keep the built block; not proposing it");
            self.count_rejection("pending_block_not_saved");
            return None;
        }
        tracing::debug!(
            round,
            transactions = block.transactions.len(),
            build_ms = build_started.elapsed().as_millis() as u64,
            "block built"
        );
        self.blocks.insert(block.hash(), Arc::new(block));
        Some(proposal)
    }
}
