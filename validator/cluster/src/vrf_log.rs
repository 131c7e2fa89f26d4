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
//! Record: `slot (u64 LE) ‖ output (64 bytes) ‖ BLAKE3(slot ‖ output)[..8]`, 80 bytes. At
//! open, a torn last record is cut off; a damaged record elsewhere is an error. When the
//! file holds far more records than the nonces still need, it is rewritten (temporary
//! file, sync, rename) with only the needed ones.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use aether_crypto::vrf::VrfOutput;

const OUTPUT_BYTES: usize = 64;
const CHECKSUM_BYTES: usize = 8;
const RECORD_BYTES: usize = 8 + OUTPUT_BYTES + CHECKSUM_BYTES;

/// The log could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum VrfLogError {
    /// Reading or writing failed.
    #[error("VRF output log {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A record before the last one is damaged.
    #[error("VRF output log {path}: record {index} is damaged")]
    Damaged {
        /// The file.
        path: PathBuf,
        /// Its position.
        index: usize,
    },
}

/// The log. See the module docs.
#[derive(Debug)]
pub struct VrfLog {
    path: PathBuf,
    file: File,
    records: usize,
}

fn checksum(slot: u64, output: &VrfOutput) -> [u8; CHECKSUM_BYTES] {
    let mut hasher = blake3::Hasher::new();
    hasher.update(&slot.to_le_bytes());
    hasher.update(&output.0);
    let mut sum = [0; CHECKSUM_BYTES];
    sum.copy_from_slice(&hasher.finalize().as_bytes()[..CHECKSUM_BYTES]);
    sum
}

fn encode_record(slot: u64, output: &VrfOutput, out: &mut Vec<u8>) {
    out.extend_from_slice(&slot.to_le_bytes());
    out.extend_from_slice(&output.0);
    out.extend_from_slice(&checksum(slot, output));
}

impl VrfLog {
    /// Opens (or creates) the log at `path`: the log and every output in it, by slot.
    pub fn open(
        path: impl Into<PathBuf>,
    ) -> Result<(VrfLog, BTreeMap<u64, VrfOutput>), VrfLogError> {
        let path = path.into();
        let io = |source| VrfLogError::Io {
            path: path.clone(),
            source,
        };
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(&path)
            .map_err(io)?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).map_err(io)?;
        let mut outputs = BTreeMap::new();
        let mut valid = 0;
        let whole = bytes.len() / RECORD_BYTES;
        for (index, record) in bytes.chunks_exact(RECORD_BYTES).enumerate() {
            let slot = u64::from_le_bytes(record[..8].try_into().expect("8 bytes"));
            let output = VrfOutput(record[8..8 + OUTPUT_BYTES].try_into().expect("64 bytes"));
            if record[8 + OUTPUT_BYTES..] != checksum(slot, &output) {
                if index + 1 == whole && bytes.len() % RECORD_BYTES == 0 {
                    // The last record, written as a whole but not its contents: torn.
                    file.set_len((index * RECORD_BYTES) as u64).map_err(io)?;
                    break;
                }
                return Err(VrfLogError::Damaged { path, index });
            }
            outputs.insert(slot, output);
            valid += 1;
        }
        if bytes.len() % RECORD_BYTES != 0 {
            file.set_len((valid * RECORD_BYTES) as u64).map_err(io)?;
        }
        let records = valid;
        Ok((
            VrfLog {
                path,
                file,
                records,
            },
            outputs,
        ))
    }

    /// Appends `outputs` and syncs them.
    pub fn append(&mut self, outputs: &[(u64, VrfOutput)]) -> Result<(), VrfLogError> {
        if outputs.is_empty() {
            return Ok(());
        }
        let mut bytes = Vec::with_capacity(outputs.len() * RECORD_BYTES);
        for (slot, output) in outputs {
            encode_record(*slot, output, &mut bytes);
        }
        let io = |source| VrfLogError::Io {
            path: self.path.clone(),
            source,
        };
        self.file.write_all(&bytes).map_err(io)?;
        self.file.sync_data().map_err(io)?;
        self.records += outputs.len();
        Ok(())
    }

    /// Rewrites the log with only `keep` when it holds more than twice as many records
    /// (and at least 1,024): the outputs no nonce still needs go.
    pub fn compact(&mut self, keep: &BTreeMap<u64, VrfOutput>) -> Result<(), VrfLogError> {
        if self.records <= (2 * keep.len()).max(1_024) {
            return Ok(());
        }
        let mut bytes = Vec::with_capacity(keep.len() * RECORD_BYTES);
        for (slot, output) in keep {
            encode_record(*slot, output, &mut bytes);
        }
        let temporary = self.path.with_extension("tmp");
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| VrfLogError::Io { path, source }
        };
        {
            let mut file = File::create(&temporary).map_err(io(&temporary))?;
            file.write_all(&bytes).map_err(io(&temporary))?;
            file.sync_all().map_err(io(&temporary))?;
        }
        std::fs::rename(&temporary, &self.path).map_err(io(&self.path))?;
        self.file = OpenOptions::new()
            .append(true)
            .open(&self.path)
            .map_err(io(&self.path))?;
        self.records = keep.len();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn output(byte: u8) -> VrfOutput {
        VrfOutput([byte; OUTPUT_BYTES])
    }

    #[test]
    fn outputs_survive_reopening_torn_tails_are_cut_and_compaction_keeps_what_is_asked() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("vrf.log");
        let (mut log, outputs) = VrfLog::open(&path).unwrap();
        assert!(outputs.is_empty());
        log.append(&[(3, output(3)), (4, output(4))]).unwrap();
        log.append(&[(6, output(6))]).unwrap();
        drop(log);
        let (log, outputs) = VrfLog::open(&path).unwrap();
        assert_eq!(outputs.keys().copied().collect::<Vec<_>>(), vec![3, 4, 6]);
        assert_eq!(outputs[&4], output(4));
        drop(log);

        // A crash in the middle of an append.
        let mut bytes = std::fs::read(&path).unwrap();
        let whole = bytes.clone();
        bytes.extend_from_slice(&[7; RECORD_BYTES - 3]);
        std::fs::write(&path, &bytes).unwrap();
        let (_, outputs) = VrfLog::open(&path).unwrap();
        assert_eq!(outputs.len(), 3);
        assert_eq!(std::fs::read(&path).unwrap(), whole);
        // A whole last record with garbage content is torn too.
        let mut bytes = whole.clone();
        bytes.extend_from_slice(&[9; RECORD_BYTES]);
        std::fs::write(&path, &bytes).unwrap();
        let (mut log, outputs) = VrfLog::open(&path).unwrap();
        assert_eq!(outputs.len(), 3);
        // Damage before the end is an error.
        drop(log);
        let mut damaged = whole.clone();
        damaged[10] ^= 1;
        std::fs::write(&path, &damaged).unwrap();
        assert!(matches!(
            VrfLog::open(&path),
            Err(VrfLogError::Damaged { index: 0, .. })
        ));

        // Compaction rewrites only when the log is much larger than what is kept.
        std::fs::write(&path, &whole).unwrap();
        let (reopened, _) = VrfLog::open(&path).unwrap();
        log = reopened;
        let many: Vec<(u64, VrfOutput)> = (10..2_100).map(|slot| (slot, output(1))).collect();
        log.append(&many).unwrap();
        let keep: BTreeMap<u64, VrfOutput> = (2_000..2_100).map(|slot| (slot, output(1))).collect();
        log.compact(&keep).unwrap();
        log.append(&[(2_100, output(2))]).unwrap();
        drop(log);
        let (_, outputs) = VrfLog::open(&path).unwrap();
        assert_eq!(outputs.len(), 101);
        assert_eq!(outputs.keys().next(), Some(&2_000));
    }
}
