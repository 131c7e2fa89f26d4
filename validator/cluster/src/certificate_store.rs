//! The highest certificates this validator has seen (its high QC, and the TC that
//! opened its current round), kept durably so a restart resumes in the round it left.
//!
//! Without them a restarted validator resumed at its last committed block's round with
//! that block's QC, while its safety state remembered votes and timeouts of later
//! rounds: the timeout rule then forbade it to time out (its QC was below its lock, or
//! its round below its last vote) and it stayed silent until a peer's message taught it
//! a higher certificate. After a restart of the whole cluster every validator waited
//! for the others, and none spoke. With them, [`aether_consensus::Core::restore`]
//! re-enters the round after the highest certificate, where the timeout rule holds.
//!
//! Saved (payload, BLAKE3 checksum, atomic replace, as the safety state) whenever the
//! high QC's round or the current round's TC rises, before any message that followed
//! from them leaves the node.

use std::path::{Path, PathBuf};

use aether_types::codec::{Decode, Encode, Reader, encode};
use aether_types::{QuorumCertificate, TimeoutCertificate};

use crate::safety_store::{SafetyStoreError, load_checked, save_checked};

/// Format version of the record.
const CERTIFICATES_RECORD_VERSION: u8 = 1;

/// The certificates a restart resumes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HighCertificates {
    /// The highest QC seen.
    pub high_qc: QuorumCertificate,
    /// The TC that opened the round this validator was in, if any.
    pub last_round_tc: Option<TimeoutCertificate>,
}

/// Where the high certificates live.
#[derive(Debug, Clone)]
pub struct CertificateStore {
    path: PathBuf,
    /// Rounds of the high QC and TC last saved by this process (0 before the first).
    saved_rounds: (u64, u64),
}

impl CertificateStore {
    /// The store at `path`.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            saved_rounds: (0, 0),
        }
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The last saved certificates, or `None` before the first save.
    pub fn load(&self) -> Result<Option<HighCertificates>, SafetyStoreError> {
        let Some(bytes) = load_checked(&self.path)? else {
            return Ok(None);
        };
        let damaged = || SafetyStoreError::Damaged {
            path: self.path.clone(),
            reason: "not a certificates record".into(),
        };
        let mut reader = Reader::new(&bytes);
        if reader.read_u8().map_err(|_| damaged())? != CERTIFICATES_RECORD_VERSION {
            return Err(damaged());
        }
        let high_qc = QuorumCertificate::decode_from(&mut reader).map_err(|_| damaged())?;
        let last_round_tc =
            Option::<TimeoutCertificate>::decode_from(&mut reader).map_err(|_| damaged())?;
        reader.finish().map_err(|_| damaged())?;
        Ok(Some(HighCertificates {
            high_qc,
            last_round_tc,
        }))
    }

    /// Makes the certificates durable when the high QC's round or the TC's round is
    /// above what this store last saved; returns whether it wrote.
    pub fn save_if_risen(
        &mut self,
        high_qc: &QuorumCertificate,
        last_round_tc: Option<&TimeoutCertificate>,
    ) -> Result<bool, SafetyStoreError> {
        let rounds = (high_qc.round, last_round_tc.map_or(0, |tc| tc.round));
        if rounds.0 <= self.saved_rounds.0 && rounds.1 <= self.saved_rounds.1 {
            return Ok(false);
        }
        let mut bytes = vec![CERTIFICATES_RECORD_VERSION];
        bytes.extend_from_slice(&encode(high_qc));
        last_round_tc.cloned().encode_to(&mut bytes);
        save_checked(&self.path, &bytes)?;
        self.saved_rounds = rounds;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aether_types::{Hash, SignerBitmap, ValidatorIndex};

    #[test]
    fn certificates_round_trip_and_damage_is_an_error() {
        let directory = tempfile::tempdir().unwrap();
        let mut store = CertificateStore::new(directory.path().join("certificates.bin"));
        assert_eq!(store.load().unwrap(), None);
        let signers = SignerBitmap::from_signers(4, [0, 1, 2].map(ValidatorIndex)).unwrap();
        let certificates = HighCertificates {
            high_qc: QuorumCertificate {
                round: 9,
                block_hash: Hash([1; 32]),
                signers: signers.clone(),
                aggregate_signature: [5; 96],
            },
            last_round_tc: Some(TimeoutCertificate {
                round: 11,
                high_qc_rounds: vec![9, 9, 8],
                signers,
                aggregate_signature: [6; 96],
            }),
        };
        let save = |store: &mut CertificateStore, certificates: &HighCertificates| {
            store
                .save_if_risen(&certificates.high_qc, certificates.last_round_tc.as_ref())
                .unwrap()
        };
        assert!(save(&mut store, &certificates));
        assert_eq!(store.load().unwrap(), Some(certificates.clone()));
        // Nothing rose: nothing is written, and the file keeps the higher certificates.
        let lower = HighCertificates {
            high_qc: QuorumCertificate {
                round: 8,
                ..certificates.high_qc.clone()
            },
            last_round_tc: None,
        };
        assert!(!save(&mut store, &lower));
        assert_eq!(store.load().unwrap(), Some(certificates));
        let mut bytes = std::fs::read(store.path()).unwrap();
        bytes[12] ^= 1;
        std::fs::write(store.path(), &bytes).unwrap();
        assert!(matches!(
            store.load(),
            Err(SafetyStoreError::Damaged { .. })
        ));
    }
}
