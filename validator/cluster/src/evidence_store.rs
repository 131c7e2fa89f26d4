//! Equivocation evidence on disk, kept for the staking work to slash: an append-only
//! file of checksummed records, one per offence.
//!
//! Record: `length (u32 LE) ‖ payload ‖ BLAKE3(payload)[..8]`; payload: `kind (u8: 1
//! double proposal, 2 double vote) ‖ offender (u32) ‖ round (u64) ‖ first ‖ second`,
//! each of `first`/`second` as `length (u32) ‖ bytes`: the two KES-signed headers of a
//! double proposal, or the two encoded votes of a double vote. The proofs stand on their
//! own signatures, so anyone holding the validator set can check a record.
//!
//! Invariants: an offence (kind, offender, round) is stored once; a record is fsynced
//! before `append` returns, and a failed append is cut back off (the file never keeps a
//! partial record behind later ones); at open, a torn last record (a crash mid-append:
//! short, or full-length but not matching its checksum) is cut off and reported, while
//! a damaged record followed by others is an error, never silently skipped; the file
//! holds at most [`EVIDENCE_RECORDS_MAX`] records (later offences are counted, not
//! stored).

use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use aether_consensus::Evidence;
use aether_types::ValidatorIndex;
use aether_types::codec::encode;

/// Most records kept in one evidence file.
pub const EVIDENCE_RECORDS_MAX: usize = 65_536;
/// Largest payload of one record (two signed headers or votes fit many times over).
const PAYLOAD_BYTES_MAX: usize = 64 * 1024;
const CHECKSUM_BYTES: usize = 8;

/// What was equivocated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EvidenceKind {
    /// Two different proposals for one round.
    DoubleProposal = 1,
    /// Two different votes for one round.
    DoubleVote = 2,
}

impl EvidenceKind {
    /// Stable label.
    pub fn label(self) -> &'static str {
        match self {
            EvidenceKind::DoubleProposal => "double_proposal",
            EvidenceKind::DoubleVote => "double_vote",
        }
    }
}

/// One stored offence with its two signed proofs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvidenceRecord {
    /// What was equivocated.
    pub kind: EvidenceKind,
    /// The validator that signed both.
    pub offender: ValidatorIndex,
    /// The round of both.
    pub round: u64,
    /// The first signed header or vote seen.
    pub first: Vec<u8>,
    /// The conflicting one.
    pub second: Vec<u8>,
}

impl EvidenceRecord {
    /// The record of the core's `evidence`.
    pub fn from_evidence(evidence: &Evidence) -> EvidenceRecord {
        match evidence {
            Evidence::DoubleProposal { first, second } => EvidenceRecord {
                kind: EvidenceKind::DoubleProposal,
                offender: first.block.proposer,
                round: first.block.round,
                first: first.signed_header.clone(),
                second: second.signed_header.clone(),
            },
            Evidence::DoubleVote { first, second } => EvidenceRecord {
                kind: EvidenceKind::DoubleVote,
                offender: first.voter,
                round: first.round,
                first: encode(first.as_ref()),
                second: encode(second.as_ref()),
            },
        }
    }

    fn payload(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(25 + self.first.len() + self.second.len());
        out.push(self.kind as u8);
        out.extend_from_slice(&self.offender.0.to_le_bytes());
        out.extend_from_slice(&self.round.to_le_bytes());
        for proof in [&self.first, &self.second] {
            out.extend_from_slice(&(proof.len() as u32).to_le_bytes());
            out.extend_from_slice(proof);
        }
        out
    }

    fn from_payload(payload: &[u8]) -> Option<EvidenceRecord> {
        let (&kind, rest) = payload.split_first()?;
        let kind = match kind {
            1 => EvidenceKind::DoubleProposal,
            2 => EvidenceKind::DoubleVote,
            _ => return None,
        };
        let (offender, rest) = rest.split_first_chunk::<4>()?;
        let (round, mut rest) = rest.split_first_chunk::<8>()?;
        let mut proofs = Vec::with_capacity(2);
        for _ in 0..2 {
            let (length, after) = rest.split_first_chunk::<4>()?;
            let length = u32::from_le_bytes(*length) as usize;
            if after.len() < length {
                return None;
            }
            let (proof, after) = after.split_at(length);
            proofs.push(proof.to_vec());
            rest = after;
        }
        if !rest.is_empty() {
            return None;
        }
        let second = proofs.pop()?;
        let first = proofs.pop()?;
        Some(EvidenceRecord {
            kind,
            offender: ValidatorIndex(u32::from_le_bytes(*offender)),
            round: u64::from_le_bytes(*round),
            first,
            second,
        })
    }

    fn key(&self) -> (EvidenceKind, ValidatorIndex, u64) {
        (self.kind, self.offender, self.round)
    }
}

/// The evidence file could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum EvidenceStoreError {
    /// Reading or writing failed.
    #[error("evidence file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A record before the last one is damaged.
    #[error("evidence file {path}: record at byte {offset} is damaged")]
    Damaged {
        /// The file.
        path: PathBuf,
        /// Where the damaged record starts.
        offset: u64,
    },
}

/// What [`EvidenceStore::append`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Appended {
    /// Stored and synced.
    Stored,
    /// The offence is stored already.
    AlreadyStored,
    /// The file is full ([`EVIDENCE_RECORDS_MAX`]).
    Full,
}

/// The evidence file. See the module docs.
#[derive(Debug)]
pub struct EvidenceStore {
    path: PathBuf,
    file: File,
    /// Bytes of whole, synced records (where the next append starts).
    length: u64,
    stored: HashSet<(EvidenceKind, ValidatorIndex, u64)>,
    /// Bytes cut off at open (a torn last record), for the operator's log.
    pub torn_bytes: u64,
}

impl EvidenceStore {
    /// Opens (or creates) the file at `path`, checking every record.
    pub fn open(
        path: impl Into<PathBuf>,
    ) -> Result<(EvidenceStore, Vec<EvidenceRecord>), EvidenceStoreError> {
        let path = path.into();
        let io = |source| EvidenceStoreError::Io {
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
        let (records, valid_length) =
            parse(&bytes).map_err(|offset| EvidenceStoreError::Damaged {
                path: path.clone(),
                offset,
            })?;
        let torn_bytes = bytes.len() as u64 - valid_length;
        if torn_bytes > 0 {
            file.set_len(valid_length).map_err(io)?;
            file.sync_all().map_err(io)?;
        }
        file.seek(SeekFrom::End(0)).map_err(io)?;
        let stored = records.iter().map(EvidenceRecord::key).collect();
        Ok((
            EvidenceStore {
                path,
                file,
                length: valid_length,
                stored,
                torn_bytes,
            },
            records,
        ))
    }

    /// Reads every record of the file at `path` without changing it (for tools and the
    /// staking work).
    pub fn read(path: &Path) -> Result<Vec<EvidenceRecord>, EvidenceStoreError> {
        let bytes = std::fs::read(path).map_err(|source| EvidenceStoreError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        parse(&bytes)
            .map(|(records, _)| records)
            .map_err(|offset| EvidenceStoreError::Damaged {
                path: path.to_path_buf(),
                offset,
            })
    }

    /// Offences stored.
    pub fn len(&self) -> usize {
        self.stored.len()
    }

    /// True when nothing is stored.
    pub fn is_empty(&self) -> bool {
        self.stored.is_empty()
    }

    /// Appends `record` durably (once per offence).
    pub fn append(&mut self, record: &EvidenceRecord) -> Result<Appended, EvidenceStoreError> {
        if self.stored.contains(&record.key()) {
            return Ok(Appended::AlreadyStored);
        }
        if self.stored.len() >= EVIDENCE_RECORDS_MAX {
            return Ok(Appended::Full);
        }
        let payload = record.payload();
        assert!(
            payload.len() <= PAYLOAD_BYTES_MAX,
            "evidence proofs are small"
        );
        let mut bytes = Vec::with_capacity(4 + payload.len() + CHECKSUM_BYTES);
        bytes.extend_from_slice(&(payload.len() as u32).to_le_bytes());
        bytes.extend_from_slice(&payload);
        bytes.extend_from_slice(&blake3::hash(&payload).as_bytes()[..CHECKSUM_BYTES]);
        let io = |source| EvidenceStoreError::Io {
            path: self.path.clone(),
            source,
        };
        let written = self
            .file
            .write_all(&bytes)
            .and_then(|()| self.file.sync_data());
        if let Err(error) = written {
            // No partial record may stay in front of later ones: cut back to the last
            // whole record (best effort; an open cuts a torn tail anyway).
            let _ = self.file.set_len(self.length);
            return Err(io(error));
        }
        self.length += bytes.len() as u64;
        self.stored.insert(record.key());
        Ok(Appended::Stored)
    }
}

/// The records of `bytes` and the length of the valid prefix; `Err(offset)` when a
/// damaged record is followed by more bytes than a torn tail could leave.
fn parse(bytes: &[u8]) -> Result<(Vec<EvidenceRecord>, u64), u64> {
    let mut records = Vec::new();
    let mut offset = 0usize;
    while offset < bytes.len() {
        let rest = &bytes[offset..];
        let record = rest.split_first_chunk::<4>().and_then(|(length, after)| {
            let length = u32::from_le_bytes(*length) as usize;
            if length > PAYLOAD_BYTES_MAX || after.len() < length + CHECKSUM_BYTES {
                return None;
            }
            let (payload, after) = after.split_at(length);
            let checksum_ok =
                after[..CHECKSUM_BYTES] == blake3::hash(payload).as_bytes()[..CHECKSUM_BYTES];
            let record = checksum_ok.then(|| EvidenceRecord::from_payload(payload))??;
            Some((record, 4 + length + CHECKSUM_BYTES))
        });
        match record {
            Some((record, used)) => {
                records.push(record);
                offset += used;
            }
            // A torn append can only be the last thing in the file: it is shorter than
            // its declared record. Anything else is damage.
            None if is_torn_tail(rest) => break,
            None => return Err(offset as u64),
        }
    }
    Ok((records, offset as u64))
}

/// True when `rest` (a record that did not check) is a record that was never
/// completely written: shorter than it declares, or exactly as long (the last thing in
/// the file) with content that does not match its checksum.
fn is_torn_tail(rest: &[u8]) -> bool {
    match rest.split_first_chunk::<4>() {
        None => true,
        Some((length, after)) => {
            let length = u32::from_le_bytes(*length) as usize;
            length <= PAYLOAD_BYTES_MAX && after.len() <= length + CHECKSUM_BYTES
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(kind: EvidenceKind, offender: u32, round: u64) -> EvidenceRecord {
        EvidenceRecord {
            kind,
            offender: ValidatorIndex(offender),
            round,
            first: vec![1; 40 + round as usize],
            second: vec![2; 41],
        }
    }

    #[test]
    fn records_survive_reopening_once_per_offence() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("evidence.log");
        let (mut store, existing) = EvidenceStore::open(&path).unwrap();
        assert!(existing.is_empty());
        let first = record(EvidenceKind::DoubleVote, 2, 7);
        let second = record(EvidenceKind::DoubleProposal, 1, 9);
        assert_eq!(store.append(&first).unwrap(), Appended::Stored);
        assert_eq!(store.append(&first).unwrap(), Appended::AlreadyStored);
        assert_eq!(store.append(&second).unwrap(), Appended::Stored);
        drop(store);
        let (mut store, existing) = EvidenceStore::open(&path).unwrap();
        assert_eq!(existing, vec![first.clone(), second.clone()]);
        assert_eq!(store.len(), 2);
        assert_eq!(store.append(&second).unwrap(), Appended::AlreadyStored);
        assert_eq!(EvidenceStore::read(&path).unwrap().len(), 2);
    }

    #[test]
    fn a_torn_tail_is_cut_and_damage_before_the_end_is_an_error() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("evidence.log");
        let (mut store, _) = EvidenceStore::open(&path).unwrap();
        store
            .append(&record(EvidenceKind::DoubleVote, 0, 1))
            .unwrap();
        store
            .append(&record(EvidenceKind::DoubleVote, 0, 2))
            .unwrap();
        drop(store);
        let full = std::fs::read(&path).unwrap();

        // A crash in the middle of the third append.
        let mut torn = full.clone();
        let third = {
            let mut bytes = Vec::new();
            let payload = record(EvidenceKind::DoubleVote, 0, 3).payload();
            bytes.extend_from_slice(&(payload.len() as u32).to_le_bytes());
            bytes.extend_from_slice(&payload);
            bytes
        };
        torn.extend_from_slice(&third[..third.len() - 5]);
        std::fs::write(&path, &torn).unwrap();
        let (store, records) = EvidenceStore::open(&path).unwrap();
        assert_eq!(records.len(), 2);
        assert_eq!(store.torn_bytes, (third.len() - 5) as u64);
        drop(store);
        assert_eq!(std::fs::read(&path).unwrap(), full, "the tail is cut off");

        // A crash that left a full-length last record whose pages never reached the
        // disk (zeros): torn as well.
        let mut zeroed = full.clone();
        zeroed.extend_from_slice(&(third.len() as u32 - 4).to_le_bytes());
        zeroed.extend_from_slice(&vec![0; third.len() - 4 + CHECKSUM_BYTES]);
        std::fs::write(&path, &zeroed).unwrap();
        let (store, records) = EvidenceStore::open(&path).unwrap();
        assert_eq!(records.len(), 2);
        assert_eq!(store.torn_bytes, (zeroed.len() - full.len()) as u64);
        drop(store);

        // A flipped byte in the first record, with the second after it.
        let mut damaged = full.clone();
        damaged[10] ^= 1;
        std::fs::write(&path, &damaged).unwrap();
        assert!(matches!(
            EvidenceStore::open(&path),
            Err(EvidenceStoreError::Damaged { offset: 0, .. })
        ));
        assert!(EvidenceStore::read(&path).is_err());
    }
}
