//! Verification of quorum and timeout certificates, with a cache of verified ones.
//!
//! - QC: the signers hold a quorum of stake and the aggregate signature verifies over
//!   the one vote message with [`fast_aggregate_verify`] (sound because every key's proof
//!   of possession was checked by [`ValidatorSet::new`]).
//! - TC: the signers hold a quorum, each signer's high-QC round is below the TC's round,
//!   and the aggregate verifies with [`aggregate_verify`] over one timeout message per
//!   signer.
//! - The genesis QC (round of the genesis block, no signers) is trusted as configured.
//!
//! Verified certificates are cached by `(round, BLAKE3 of the encoded certificate)`, so
//! the same bytes are checked once however often they arrive, and a certificate with
//! the same round and block but other bytes is checked on its own. The cache is pruned
//! below the committed round and capped at [`MAX_CACHED_CERTIFICATES`].

use std::collections::BTreeSet;
use std::sync::Arc;

use aether_crypto::bls::{BlsSignature, aggregate_verify, fast_aggregate_verify};
use aether_types::codec::encode;
use aether_types::{Hash, QuorumCertificate, TimeoutCertificate};

use crate::error::CertificateError;
use crate::validator_set::{ValidatorSet, is_quorum};

/// Most cached certificates; past it the oldest rounds are evicted.
pub const MAX_CACHED_CERTIFICATES: usize = 4096;

/// Verifies certificates against one validator set and remembers what it verified.
#[derive(Debug)]
pub struct CertificateVerifier {
    validators: Arc<ValidatorSet>,
    genesis_qc: QuorumCertificate,
    verified: BTreeSet<(u64, Hash)>,
    /// Aggregate verifications actually run (cache misses that got to the pairing).
    pub pairing_checks: u64,
}

/// The genesis QC: round of the genesis block, no signers, a zero signature. It is
/// trusted by configuration, never verified.
pub fn genesis_qc(genesis: Hash, genesis_round: u64, validator_count: usize) -> QuorumCertificate {
    QuorumCertificate {
        round: genesis_round,
        block_hash: genesis,
        signers: aether_types::SignerBitmap::new(validator_count)
            .expect("validator sets are never larger than a bitmap"),
        aggregate_signature: [0; 96],
    }
}

impl CertificateVerifier {
    /// A verifier for `validators` that trusts `genesis_qc`.
    pub fn new(validators: Arc<ValidatorSet>, genesis_qc: QuorumCertificate) -> Self {
        CertificateVerifier {
            validators,
            genesis_qc,
            verified: BTreeSet::new(),
            pairing_checks: 0,
        }
    }

    /// The trusted genesis QC.
    pub fn genesis_qc(&self) -> &QuorumCertificate {
        &self.genesis_qc
    }

    fn key(round: u64, bytes: &[u8]) -> (u64, Hash) {
        (round, Hash::digest(bytes))
    }

    /// Marks a certificate as verified (one this validator aggregated from verified
    /// signatures itself).
    pub fn insert_qc(&mut self, qc: &QuorumCertificate) {
        self.remember(Self::key(qc.round, &encode(qc)));
    }

    /// Marks a TC as verified (aggregated here from verified timeouts).
    pub fn insert_tc(&mut self, tc: &TimeoutCertificate) {
        self.remember(Self::key(tc.round, &encode(tc)));
    }

    fn remember(&mut self, key: (u64, Hash)) {
        self.verified.insert(key);
        while self.verified.len() > MAX_CACHED_CERTIFICATES {
            self.verified.pop_first();
        }
    }

    /// Checks a QC (see the module docs).
    pub fn verify_qc(&mut self, qc: &QuorumCertificate) -> Result<(), CertificateError> {
        if *qc == self.genesis_qc {
            return Ok(());
        }
        let key = Self::key(qc.round, &encode(qc));
        if self.verified.contains(&key) {
            return Ok(());
        }
        self.check_quorum(&qc.signers)?;
        let keys = self.validators.signer_keys(&qc.signers);
        let signature = BlsSignature::from_bytes(&qc.aggregate_signature)?;
        self.pairing_checks += 1;
        fast_aggregate_verify(&keys, &qc.signing_message(), &signature)?;
        self.remember(key);
        Ok(())
    }

    /// Checks a TC (see the module docs).
    pub fn verify_tc(&mut self, tc: &TimeoutCertificate) -> Result<(), CertificateError> {
        let key = Self::key(tc.round, &encode(tc));
        if self.verified.contains(&key) {
            return Ok(());
        }
        self.check_quorum(&tc.signers)?;
        if tc.high_qc_rounds.len() != tc.signers.count()
            || tc.high_qc_rounds.iter().any(|&round| round >= tc.round)
        {
            return Err(CertificateError::MalformedHighQcRounds);
        }
        let keys = self.validators.signer_keys(&tc.signers);
        let messages: Vec<_> = tc.signing_messages().map(|(_, message)| message).collect();
        let message_refs: Vec<&[u8]> = messages.iter().map(|message| &message[..]).collect();
        let signature = BlsSignature::from_bytes(&tc.aggregate_signature)?;
        self.pairing_checks += 1;
        aggregate_verify(&keys, &message_refs, &signature)?;
        self.remember(key);
        Ok(())
    }

    fn check_quorum(&self, signers: &aether_types::SignerBitmap) -> Result<(), CertificateError> {
        let signed = self.validators.signed_stake(signers)?;
        let total = self.validators.total_stake();
        if !is_quorum(signed, total) {
            return Err(CertificateError::NotQuorum { signed, total });
        }
        Ok(())
    }

    /// Forgets certificates of rounds below `round`.
    pub fn prune_below(&mut self, round: u64) {
        self.verified = self.verified.split_off(&(round, Hash::ZERO));
    }
}
