//! Equivocation evidence on disk, kept for the staking work to slash: an append-only
//! file of checksummed records, one per offence.
//!
//! Each record (in a [`RecordLog`]): `kind (u8: 1 double proposal, 2 double vote) ‖
//! offender (u32) ‖ round (u64) ‖ first ‖ second`, each of `first`/`second` as
//! `length (u32) ‖ bytes`: the two KES-signed headers of a double proposal, or the two
//! encoded votes of a double vote. The proofs stand on their own signatures, so anyone
//! holding the validator set can check a record.
//!
//! Invariants: an offence (kind, offender, round) is stored once; a record is synced
//! before `append` returns; the file's framing, torn-tail and damage rules are
//! [`RecordLog`]'s; the file holds at most [`EVIDENCE_RECORDS_MAX`] records (later
//! offences are counted, not stored).

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use aether_consensus::Evidence;
use aether_types::ValidatorIndex;
use aether_types::codec::encode;

use crate::record_log::{RecordLog, RecordLogError};

/// Most records kept in one evidence file.
pub const EVIDENCE_RECORDS_MAX: usize = 65_536;

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

/// The evidence file could not be read or written, or holds damage.
pub type EvidenceStoreError = RecordLogError;

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
    log: RecordLog,
    stored: HashSet<(EvidenceKind, ValidatorIndex, u64)>,
    /// Bytes cut off at open (a torn last record), for the operator's log.
    pub torn_bytes: u64,
}

/// The records of `payloads`; a payload that is not a record is damage at `path`.
fn decode_all(
    path: &Path,
    payloads: &[Vec<u8>],
) -> Result<Vec<EvidenceRecord>, EvidenceStoreError> {
    payloads
        .iter()
        .map(|payload| {
            EvidenceRecord::from_payload(payload).ok_or_else(|| RecordLogError::Damaged {
                path: path.to_path_buf(),
                offset: 0,
            })
        })
        .collect()
}

impl EvidenceStore {
    /// Opens (or creates) the file at `path`, checking every record.
    pub fn open(
        path: impl Into<PathBuf>,
    ) -> Result<(EvidenceStore, Vec<EvidenceRecord>), EvidenceStoreError> {
        let opened = RecordLog::open(path)?;
        let records = decode_all(opened.log.path(), &opened.payloads)?;
        let stored = records.iter().map(EvidenceRecord::key).collect();
        Ok((
            EvidenceStore {
                log: opened.log,
                stored,
                torn_bytes: opened.torn_bytes,
            },
            records,
        ))
    }

    /// Reads every record of the file at `path` without changing it (for tools and the
    /// staking work).
    pub fn read(path: &Path) -> Result<Vec<EvidenceRecord>, EvidenceStoreError> {
        decode_all(path, &RecordLog::read(path)?)
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
        self.log.append([record.payload().as_slice()])?;
        self.stored.insert(record.key());
        Ok(Appended::Stored)
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
    fn a_record_that_is_not_evidence_is_damage() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("evidence.log");
        let (mut store, _) = EvidenceStore::open(&path).unwrap();
        store
            .append(&record(EvidenceKind::DoubleVote, 0, 1))
            .unwrap();
        drop(store);
        // Well framed and checksummed, but not an evidence record.
        let opened = RecordLog::open(&path).unwrap();
        let mut log = opened.log;
        log.append([&[9u8, 9, 9][..]]).unwrap();
        drop(log);
        assert!(matches!(
            EvidenceStore::open(&path),
            Err(EvidenceStoreError::Damaged { .. })
        ));
        assert!(EvidenceStore::read(&path).is_err());
    }
}
