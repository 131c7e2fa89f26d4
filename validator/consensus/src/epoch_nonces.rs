//! The epoch nonces as a chain of blocks determines them.
//!
//! The nonce of epoch `e` for a block `B` is a function of `B`'s ancestors only
//! (Ouroboros Praos' rule, with [`next_epoch_nonce`] as the step):
//!
//! ```text
//! nonce(0) = nonce(1) = genesis nonce
//! nonce(e) = next_epoch_nonce(nonce(e-1), VRF outputs of B's ancestors in epoch e-2)
//! ```
//!
//! An ancestor in epoch `e - 2` has a slot below `first_slot(e - 1)`, so the nonce of a
//! block's own epoch, and of the next one, never depends on the block's own epoch.
//!
//! Why ancestry and not finality: the nonce used to be derived once a block of epoch
//! `e - 1` was final. An epoch in which no block became final (its leaders down, or a
//! partition) then left `nonce(e + 1)` unknown for good: no validator knew the leaders
//! of the next epoch, nobody could propose, nothing could become final, and the chain
//! halted. Along a chain every nonce is defined whether or not anything is final, and
//! every validator checking a block computes it from the same parent chain.
//!
//! What is final is the same on every chain that extends it, so the nonces the final
//! chain determines (every epoch up to `epoch(final slot) + 1`) are kept here once
//! (`known`), with the VRF outputs of the final blocks that later epochs' nonces still
//! need. A nonce along an un-final chain is derived from those and the outputs of the
//! chain's un-final blocks ([`EpochNonces::on_chain`]).
//!
//! Two forks that diverged more than an epoch back may give different nonces, and so
//! different leaders, for one epoch; each block is judged against its own parent chain,
//! so safety does not depend on it, and validators' choices of chain converge as their
//! highest QCs do. A leader can withhold its block (dropping its output from the
//! nonce) but cannot choose its output (one VRF output per slot and key).

use std::collections::BTreeMap;

use aether_crypto::vrf::VrfOutput;
use aether_types::Hash;

use crate::epoch::{EpochSchedule, next_epoch_nonce};

/// Most epochs a nonce along a chain is derived past the final chain's newest nonce
/// (one BLAKE3 step each): beyond it a round's leader is unknown. 4,096 epochs of
/// 432 slots at 500 ms are more than ten days without a final block.
pub const CHAIN_NONCE_EPOCHS_MAX: u64 = 4_096;

/// The final chain's nonces and the VRF outputs of final blocks later nonces still
/// need. See the module docs.
#[derive(Debug, Clone)]
pub struct EpochNonces {
    epochs: EpochSchedule,
    /// Nonces of the final chain (or given from a snapshot or the log), by epoch.
    known: BTreeMap<u64, Hash>,
    /// VRF outputs of final blocks by slot, from two epochs below the next nonce to
    /// derive on.
    final_outputs: BTreeMap<u64, VrfOutput>,
    /// The newest final slot recorded.
    final_slot: u64,
    /// The next epoch whose nonce the final chain may derive.
    next_to_derive: u64,
}

impl EpochNonces {
    /// Epochs 0 and 1 use `genesis_nonce`; the final chain derives the rest.
    pub fn new(epochs: EpochSchedule, genesis_nonce: Hash) -> EpochNonces {
        EpochNonces {
            epochs,
            known: BTreeMap::from([(0, genesis_nonce), (1, genesis_nonce)]),
            final_outputs: BTreeMap::new(),
            final_slot: 0,
            next_to_derive: 2,
        }
    }

    /// The epoch lengths.
    pub fn epochs(&self) -> EpochSchedule {
        self.epochs
    }

    /// Takes the nonce of `epoch` from a trusted source (a checked snapshot bundle, the
    /// node's own log); a nonce once set is never replaced.
    pub fn insert(&mut self, epoch: u64, nonce: Hash) {
        self.known.entry(epoch).or_insert(nonce);
    }

    /// Derives nonces only from `epoch` on: a validator that booted from a snapshot, or
    /// resumed from its log, has the nonces before it but not the outputs they came from.
    pub fn derive_from(&mut self, epoch: u64) {
        self.next_to_derive = self.next_to_derive.max(epoch);
    }

    /// Records final blocks' VRF outputs (any order) and the newest final slot, and
    /// derives every nonce the final chain now determines: `nonce(e)` once the final
    /// slot reaches epoch `e - 1` (every final block of epoch `e - 2` is then known).
    /// Returns the nonces derived by this call, oldest first.
    pub fn record_final(
        &mut self,
        outputs: impl IntoIterator<Item = (u64, VrfOutput)>,
        final_slot: u64,
    ) -> Vec<(u64, Hash)> {
        self.final_outputs.extend(outputs);
        self.final_slot = self.final_slot.max(final_slot);
        let final_epoch = self.epochs.epoch_of(self.final_slot);
        let mut derived = Vec::new();
        while self.next_to_derive <= final_epoch + 1 {
            let epoch = self.next_to_derive;
            if !self.known.contains_key(&epoch) {
                let Some(previous) = self.known.get(&(epoch - 1)) else {
                    break;
                };
                let outputs: Vec<VrfOutput> = self
                    .final_outputs
                    .range(self.epochs.first_slot(epoch - 2)..self.epochs.first_slot(epoch - 1))
                    .map(|(_, output)| *output)
                    .collect();
                let nonce = next_epoch_nonce(previous, &outputs);
                self.known.insert(epoch, nonce);
                derived.push((epoch, nonce));
            }
            self.next_to_derive += 1;
        }
        // Kept: the nonces of the final epoch on (snapshot bundles carry the final
        // block's), and the outputs of the epochs the next derivations read.
        let keep_epoch = final_epoch.min(self.next_to_derive.saturating_sub(2));
        self.known = self.known.split_off(&keep_epoch.saturating_sub(1));
        self.final_outputs = self
            .final_outputs
            .split_off(&self.epochs.first_slot(keep_epoch.saturating_sub(1)));
        derived
    }

    /// The nonce of `epoch` when the final chain determines it (or it was given).
    pub fn final_nonce(&self, epoch: u64) -> Option<&Hash> {
        self.known.get(&epoch)
    }

    /// The nonce of `epoch` for a block whose un-final ancestors (those above the
    /// newest final slot; any order, others ignored) have the VRF outputs `chain`.
    /// `None` below the kept nonces, while the final chain's own nonces lag (a
    /// validator resuming without the outputs it needs), or more than
    /// [`CHAIN_NONCE_EPOCHS_MAX`] epochs past them.
    pub fn on_chain(&self, epoch: u64, chain: &[(u64, VrfOutput)]) -> Option<Hash> {
        if let Some(nonce) = self.known.get(&epoch) {
            return Some(*nonce);
        }
        let (&newest, &newest_nonce) = self.known.last_key_value()?;
        // Deriving on needs every final output from epoch `newest - 1` on.
        if epoch < newest
            || newest < self.epochs.epoch_of(self.final_slot) + 1
            || epoch - newest > CHAIN_NONCE_EPOCHS_MAX
        {
            return None;
        }
        let mut above_final: Vec<(u64, VrfOutput)> = chain
            .iter()
            .copied()
            .filter(|(slot, _)| *slot > self.final_slot)
            .collect();
        above_final.sort_by_key(|(slot, _)| *slot);
        let mut nonce = newest_nonce;
        for next in newest + 1..=epoch {
            let start = self.epochs.first_slot(next - 2);
            let end = self.epochs.first_slot(next - 1);
            let from_chain = above_final
                .iter()
                .filter(|(slot, _)| (start..end).contains(slot));
            // Outputs logged past the final slot (a node resuming from an older root)
            // come from the chain instead. Final slots are below every un-final one:
            // slot order is kept.
            let final_end = end.min(self.final_slot + 1).max(start);
            let outputs: Vec<VrfOutput> = self
                .final_outputs
                .range(start..final_end)
                .chain(from_chain.map(|(slot, output)| (slot, output)))
                .map(|(_, output)| *output)
                .collect();
            nonce = next_epoch_nonce(&nonce, &outputs);
        }
        Some(nonce)
    }

    /// The known nonces, by epoch (what a node logs to resume from).
    pub fn known(&self) -> &BTreeMap<u64, Hash> {
        &self.known
    }

    /// The final VRF outputs still needed, by slot (what a node logs to resume from).
    pub fn final_outputs(&self) -> &BTreeMap<u64, VrfOutput> {
        &self.final_outputs
    }
}

#[cfg(test)]
mod tests;
