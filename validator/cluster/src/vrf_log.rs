//! The epoch-nonce record of the final chain, kept durably by the consensus driver: the
//! VRF outputs of final blocks and the nonces derived from them, which every validator
//! must derive identically.
//!
//! The outputs used to be read back from the blockstore after a restart, but the
//! blockstore is written after finality, asynchronously: a crash in between lost the
//! outputs of the newest final blocks, and a validator restarting then derived a
//! different nonce than its peers and disagreed with them on every leader of an epoch.
//! So the outputs of the blocks of a commit, and the nonces the commit determined, are
//! appended here and synced before the accounts-db finalizes the blocks (a crash in
//! between leaves records of blocks the cluster already committed, which is right).
//!
//! Nonces are logged, not only outputs, because each nonce chains from the previous
//! one back to genesis: once old outputs are compacted away, only a logged nonce lets a
//! restart go on from where it stopped ([`LoggedNonces::resume`]).
//!
//! Records (in a [`RecordLog`]), told apart by length:
//! - output: `slot (u64 LE) ‖ output (64 bytes)`;
//! - nonce: `epoch (u64 LE) ‖ nonce (32 bytes)`.
//!
//! When the file holds far more records than the nonces still need, it is rewritten
//! with only the needed ones.

use std::collections::BTreeMap;
use std::path::PathBuf;

use aether_consensus::LeaderSchedule;
use aether_crypto::vrf::VrfOutput;
use aether_types::Hash;

use crate::record_log::{RecordLog, RecordLogError};

const OUTPUT_BYTES: usize = 64;
const OUTPUT_RECORD_BYTES: usize = 8 + OUTPUT_BYTES;
const NONCE_RECORD_BYTES: usize = 8 + Hash::LEN;

/// The log could not be read or written, or holds damage.
pub type VrfLogError = RecordLogError;

/// The log. See the module docs.
#[derive(Debug)]
pub struct VrfLog {
    log: RecordLog,
}

/// What a log holds: final blocks' outputs by slot, nonces by epoch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoggedNonces {
    /// VRF outputs of final blocks, by slot.
    pub outputs: BTreeMap<u64, VrfOutput>,
    /// Epoch nonces, by epoch.
    pub nonces: BTreeMap<u64, Hash>,
}

impl LoggedNonces {
    /// Brings `schedule` to where the node stopped, its final chain ending at
    /// `final_slot`: the logged nonces are taken, derivation goes on after the newest
    /// of them, and the logged outputs (with `more_outputs`, e.g. read from the
    /// blockstore) are recorded as final. Epochs beyond `derive_after` (a snapshot's
    /// epoch, whose nonce the caller gave) are derived in any case.
    pub fn resume(
        self,
        schedule: &mut LeaderSchedule,
        more_outputs: impl IntoIterator<Item = (u64, VrfOutput)>,
        derive_after: Option<u64>,
        final_slot: u64,
    ) {
        for (epoch, nonce) in &self.nonces {
            schedule.add_epoch_nonce(*epoch, *nonce);
        }
        let newest = self.nonces.keys().last().copied().max(derive_after);
        let nonces = schedule.nonces_mut();
        if let Some(newest) = newest {
            nonces.derive_from(newest + 1);
        }
        let mut outputs = self.outputs;
        outputs.extend(more_outputs);
        nonces.record_final(outputs, final_slot);
    }
}

fn encode_output(slot: u64, output: &VrfOutput) -> Vec<u8> {
    let mut record = Vec::with_capacity(OUTPUT_RECORD_BYTES);
    record.extend_from_slice(&slot.to_le_bytes());
    record.extend_from_slice(&output.0);
    record
}

fn encode_nonce(epoch: u64, nonce: &Hash) -> Vec<u8> {
    let mut record = Vec::with_capacity(NONCE_RECORD_BYTES);
    record.extend_from_slice(&epoch.to_le_bytes());
    record.extend_from_slice(nonce.as_bytes());
    record
}

impl VrfLog {
    /// Opens (or creates) the log at `path`: the log and everything in it.
    pub fn open(path: impl Into<PathBuf>) -> Result<(VrfLog, LoggedNonces), VrfLogError> {
        let opened = RecordLog::open(path)?;
        let mut logged = LoggedNonces::default();
        for payload in &opened.payloads {
            let key = payload
                .get(..8)
                .map(|bytes| u64::from_le_bytes(bytes.try_into().expect("8 bytes")));
            match (payload.len(), key) {
                (OUTPUT_RECORD_BYTES, Some(slot)) => {
                    let output = payload[8..].try_into().expect("64 bytes");
                    logged.outputs.insert(slot, VrfOutput(output));
                }
                (NONCE_RECORD_BYTES, Some(epoch)) => {
                    let nonce = payload[8..].try_into().expect("32 bytes");
                    logged.nonces.insert(epoch, Hash(nonce));
                }
                _ => {
                    return Err(RecordLogError::Damaged {
                        path: opened.log.path().to_path_buf(),
                        offset: 0,
                    });
                }
            }
        }
        Ok((VrfLog { log: opened.log }, logged))
    }

    /// Appends `outputs` and `nonces` and syncs them.
    pub fn append(
        &mut self,
        outputs: &[(u64, VrfOutput)],
        nonces: &[(u64, Hash)],
    ) -> Result<(), VrfLogError> {
        let records: Vec<Vec<u8>> = outputs
            .iter()
            .map(|(slot, output)| encode_output(*slot, output))
            .chain(
                nonces
                    .iter()
                    .map(|(epoch, nonce)| encode_nonce(*epoch, nonce)),
            )
            .collect();
        self.log.append(records.iter().map(Vec::as_slice))
    }

    /// Rewrites the log with only what `schedule`'s nonces still keep when it holds
    /// more than twice as many records (and at least 1,024).
    pub fn compact(&mut self, schedule: &LeaderSchedule) -> Result<(), VrfLogError> {
        let nonces = schedule.nonces();
        let kept = nonces.final_outputs().len() + nonces.known().len();
        if self.log.records() <= (2 * kept).max(1_024) {
            return Ok(());
        }
        let records: Vec<Vec<u8>> = nonces
            .final_outputs()
            .iter()
            .map(|(slot, output)| encode_output(*slot, output))
            .chain(
                nonces
                    .known()
                    .iter()
                    .map(|(epoch, nonce)| encode_nonce(*epoch, nonce)),
            )
            .collect();
        self.log.rewrite(records.iter().map(Vec::as_slice))
    }
}

#[cfg(test)]
mod tests {
    use aether_consensus::testing::validator_set;
    use aether_consensus::{EpochSchedule, LeaderSchedule};

    use super::*;

    fn output(byte: u8) -> VrfOutput {
        VrfOutput([byte; OUTPUT_BYTES])
    }

    fn schedule() -> LeaderSchedule {
        LeaderSchedule::new(
            validator_set(1, &[1, 1, 1, 1]),
            EpochSchedule::new(10, 1),
            Hash([2; 32]),
        )
    }

    #[test]
    fn outputs_and_nonces_survive_reopening_and_compaction_keeps_what_is_needed() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("vrf.log");
        let (mut log, logged) = VrfLog::open(&path).unwrap();
        assert_eq!(logged, LoggedNonces::default());
        log.append(&[(3, output(3)), (4, output(4))], &[(2, Hash([7; 32]))])
            .unwrap();
        log.append(&[(6, output(6))], &[]).unwrap();
        drop(log);
        let (mut log, logged) = VrfLog::open(&path).unwrap();
        assert_eq!(
            logged.outputs.keys().copied().collect::<Vec<_>>(),
            vec![3, 4, 6]
        );
        assert_eq!(logged.outputs[&4], output(4));
        assert_eq!(logged.nonces, BTreeMap::from([(2, Hash([7; 32]))]));

        // A running node's schedule after 2,100 final slots keeps two epochs of
        // outputs and a few nonces; compaction keeps exactly that.
        let mut running = schedule();
        let many: Vec<(u64, VrfOutput)> = (10..2_100).map(|slot| (slot, output(1))).collect();
        let derived = running.nonces_mut().record_final(many.clone(), 2_099);
        log.append(&many, &derived).unwrap();
        log.compact(&running).unwrap();
        log.append(&[(2_100, output(2))], &[]).unwrap();
        drop(log);
        let (_, logged) = VrfLog::open(&path).unwrap();
        let kept = running.nonces();
        assert_eq!(logged.outputs.len(), kept.final_outputs().len() + 1);
        assert_eq!(logged.outputs[&2_100], output(2));
        assert_eq!(&logged.nonces, kept.known());

        // Resuming from the compacted log gives the running node's nonces.
        let mut resumed = schedule();
        logged.resume(&mut resumed, [], None, 2_100);
        running
            .nonces_mut()
            .record_final([(2_100, output(2))], 2_100);
        for epoch in 209..=212 {
            assert_eq!(
                resumed.nonces().on_chain(epoch, &[]),
                running.nonces().on_chain(epoch, &[])
            );
            assert!(resumed.nonces().on_chain(epoch, &[]).is_some());
        }
    }

    #[test]
    fn a_record_of_another_length_is_damage() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("vrf.log");
        let (mut log, _) = VrfLog::open(&path).unwrap();
        log.log.append([&[1u8, 2, 3][..]]).unwrap();
        drop(log);
        assert!(matches!(
            VrfLog::open(&path),
            Err(RecordLogError::Damaged { .. })
        ));
    }
}
