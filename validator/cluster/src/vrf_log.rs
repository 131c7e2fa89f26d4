//! The VRF outputs of final blocks, kept durably by the consensus driver: the inputs of
//! the epoch nonces, which every validator must derive identically.
//!
//! They used to be read back from the blockstore after a restart, but the blockstore is
//! written after finality, asynchronously: a crash in between lost the outputs of the
//! newest final blocks, and a validator restarting then derived a different nonce than
//! its peers and disagreed with them on every leader of an epoch. So the outputs of the
//! blocks of a commit are appended here, and synced, before the accounts-db finalizes
//! them (a crash in between leaves outputs of blocks the cluster already committed,
//! which is right).
//!
//! Each record (in a [`RecordLog`]): `slot (u64 LE) ‖ output (64 bytes)`. When the
//! file holds far more records than the nonces still need, it is rewritten with only
//! the needed ones.

use std::collections::BTreeMap;
use std::path::PathBuf;

use aether_crypto::vrf::VrfOutput;

use crate::record_log::{RecordLog, RecordLogError};

const OUTPUT_BYTES: usize = 64;
const RECORD_BYTES: usize = 8 + OUTPUT_BYTES;

/// The log could not be read or written, or holds damage.
pub type VrfLogError = RecordLogError;

/// The log. See the module docs.
#[derive(Debug)]
pub struct VrfLog {
    log: RecordLog,
}

fn encode_record(slot: u64, output: &VrfOutput) -> [u8; RECORD_BYTES] {
    let mut record = [0; RECORD_BYTES];
    record[..8].copy_from_slice(&slot.to_le_bytes());
    record[8..].copy_from_slice(&output.0);
    record
}

impl VrfLog {
    /// Opens (or creates) the log at `path`: the log and every output in it, by slot.
    pub fn open(
        path: impl Into<PathBuf>,
    ) -> Result<(VrfLog, BTreeMap<u64, VrfOutput>), VrfLogError> {
        let opened = RecordLog::open(path)?;
        let mut outputs = BTreeMap::new();
        for payload in &opened.payloads {
            let record: &[u8; RECORD_BYTES] =
                payload
                    .as_slice()
                    .try_into()
                    .map_err(|_| RecordLogError::Damaged {
                        path: opened.log.path().to_path_buf(),
                        offset: 0,
                    })?;
            let slot = u64::from_le_bytes(record[..8].try_into().expect("8 bytes"));
            outputs.insert(slot, VrfOutput(record[8..].try_into().expect("64 bytes")));
        }
        Ok((VrfLog { log: opened.log }, outputs))
    }

    /// Appends `outputs` and syncs them.
    pub fn append(&mut self, outputs: &[(u64, VrfOutput)]) -> Result<(), VrfLogError> {
        let records: Vec<[u8; RECORD_BYTES]> = outputs
            .iter()
            .map(|(slot, output)| encode_record(*slot, output))
            .collect();
        self.log.append(records.iter().map(|record| &record[..]))
    }

    /// Rewrites the log with only `keep` when it holds more than twice as many records
    /// (and at least 1,024): the outputs no nonce still needs go.
    pub fn compact(&mut self, keep: &BTreeMap<u64, VrfOutput>) -> Result<(), VrfLogError> {
        if self.log.records() <= (2 * keep.len()).max(1_024) {
            return Ok(());
        }
        let records: Vec<[u8; RECORD_BYTES]> = keep
            .iter()
            .map(|(slot, output)| encode_record(*slot, output))
            .collect();
        self.log.rewrite(records.iter().map(|record| &record[..]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn output(byte: u8) -> VrfOutput {
        VrfOutput([byte; OUTPUT_BYTES])
    }

    #[test]
    fn outputs_survive_reopening_and_compaction_keeps_what_is_asked() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("vrf.log");
        let (mut log, outputs) = VrfLog::open(&path).unwrap();
        assert!(outputs.is_empty());
        log.append(&[(3, output(3)), (4, output(4))]).unwrap();
        log.append(&[(6, output(6))]).unwrap();
        drop(log);
        let (mut log, outputs) = VrfLog::open(&path).unwrap();
        assert_eq!(outputs.keys().copied().collect::<Vec<_>>(), vec![3, 4, 6]);
        assert_eq!(outputs[&4], output(4));

        // Compaction rewrites only when the log is much larger than what is kept.
        let many: Vec<(u64, VrfOutput)> = (10..2_100).map(|slot| (slot, output(1))).collect();
        log.append(&many).unwrap();
        let keep: BTreeMap<u64, VrfOutput> = (2_000..2_100).map(|slot| (slot, output(1))).collect();
        log.compact(&keep).unwrap();
        log.append(&[(2_100, output(2))]).unwrap();
        drop(log);
        let (_, outputs) = VrfLog::open(&path).unwrap();
        assert_eq!(outputs.len(), 101);
        assert_eq!(outputs.keys().next(), Some(&2_000));
        assert_eq!(outputs[&2_100], output(2));
    }
}
