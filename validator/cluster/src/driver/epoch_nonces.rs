//! Epoch nonces from the final chain: the VRF outputs of final blocks, and the nonce
//! of each epoch once the blocks it depends on are final.

use aether_consensus::{Event, next_epoch_nonce};
use aether_crypto::vrf::VrfOutput;

use super::{Driver, DriverError};

impl Driver {
    /// Derives nonces only for epochs from `epoch` on: a validator that booted from a
    /// snapshot knows the nonce of the snapshot's epoch (`epoch - 1`) and the VRF
    /// outputs after it, not the final blocks of earlier epochs.
    pub fn derive_epoch_nonces_from(&mut self, epoch: u64) {
        self.nonce_epoch_floor = self.nonce_epoch_floor.max(epoch);
    }

    /// Records VRF outputs of final blocks read back at start (slot order not
    /// required), so nonces of later epochs can be derived after a restart.
    pub fn seed_final_vrf_outputs(&mut self, outputs: impl IntoIterator<Item = (u64, VrfOutput)>) {
        self.final_vrf.extend(outputs);
    }

    /// Derives every epoch nonce the final chain now determines: once a block of epoch
    /// `e - 1` is final, epoch `e - 2` is complete and `nonce(e)` =
    /// `next_epoch_nonce(nonce(e - 1), VRF outputs of epoch e - 2 in slot order)`.
    /// The schedule and the core both learn it.
    pub fn advance_epoch_nonces(&mut self, final_slot: u64) -> Result<(), DriverError> {
        let epochs = self.cluster.schedule.epochs();
        let final_epoch = epochs.epoch_of(final_slot);
        let mut epoch = self.nonce_epoch_floor;
        while epoch <= final_epoch + 1 {
            if self
                .cluster
                .schedule
                .nonce_for_slot(epochs.first_slot(epoch))
                .is_none()
            {
                let Some(&previous) = self
                    .cluster
                    .schedule
                    .nonce_for_slot(epochs.first_slot(epoch - 1))
                else {
                    break;
                };
                let start = epochs.first_slot(epoch - 2);
                let end = epochs.first_slot(epoch - 1);
                let outputs: Vec<VrfOutput> = self
                    .final_vrf
                    .range(start..end)
                    .map(|(_, output)| *output)
                    .collect();
                let nonce = next_epoch_nonce(&previous, &outputs);
                self.cluster.schedule.add_epoch_nonce(epoch, nonce);
                let actions = self.core.handle(Event::EpochNonce { epoch, nonce });
                self.carry_out(actions)?;
                // Blocks held for this epoch can be judged now.
                let held = std::mem::take(&mut self.awaiting_nonce);
                for (block, tc) in held {
                    self.on_block(block, tc)?;
                }
            }
            epoch += 1;
        }
        // Outputs of epochs whose successors' nonces are all known are not needed.
        let keep_from = epochs.first_slot(final_epoch.saturating_sub(1));
        self.final_vrf = self.final_vrf.split_off(&keep_from);
        Ok(())
    }
}
