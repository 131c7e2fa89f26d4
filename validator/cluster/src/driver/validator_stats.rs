//! What the final chain shows about each validator: its last certified vote and the
//! leader slots it skipped (for `getValidators`).

use aether_consensus::BlockMeta;
use aether_types::QuorumCertificate;

use super::Driver;

/// What the final chain shows about one validator.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ValidatorStats {
    /// Highest round of a committed QC it signed, or of a vote of it this validator
    /// verified (0: none seen yet).
    pub last_vote_round: u64,
    /// Rounds it led that have no block in the final chain.
    pub skipped_slots: u64,
}

impl Driver {
    pub(super) fn record_validator_stats(
        &mut self,
        blocks: &[BlockMeta],
        certificate: &QuorumCertificate,
    ) {
        for signer in certificate.signers.iter() {
            if let Some(stats) = self.validator_stats.get_mut(signer.0 as usize) {
                stats.last_vote_round = stats.last_vote_round.max(certificate.round);
            }
        }
        let mut previous = self.last_committed_round;
        for meta in blocks {
            // Rounds strictly between two final blocks had no final block: their
            // leaders' slots were skipped (known only from the first commit seen here).
            if let Some(previous) = previous {
                for round in previous + 1..meta.round {
                    if let Some(leader) = self.core.schedule().leader(round)
                        && let Some(stats) = self.validator_stats.get_mut(leader.0 as usize)
                    {
                        stats.skipped_slots += 1;
                    }
                }
            }
            previous = Some(meta.round);
        }
        self.last_committed_round = previous;
    }
}
