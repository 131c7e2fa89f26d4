//! The leader's signing keys and how a block header is sealed.

use aether_accounts_db::BlockId;
use aether_crypto::ed25519::Ed25519SecretKey;
use aether_crypto::kes::KesSecretKey;
use aether_crypto::operational_certificate::OperationalCertificate as CryptoCertificate;
use aether_crypto::vrf::VrfSecretKey;
use aether_types::block::BLOCK_HEADER_VERSION;
use aether_types::block::{KesSignature, OperationalCertificate};
use aether_types::merkle::transactions_root;
use aether_types::signers::ValidatorIndex;
use aether_types::{BlockHeader, Hash, SignedBlockHeader};

/// VRF input for a slot's leader proof: domain, slot.
pub fn vrf_input(slot: u64) -> Vec<u8> {
    let mut alpha = b"aether.leader-vrf.v1".to_vec();
    alpha.extend_from_slice(&slot.to_le_bytes());
    alpha
}

/// The KES key cannot sign in the requested period.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KesEvolveError {
    /// The period is before the operational certificate's first.
    #[error("KES period {period} is before the certificate's start {start_period}")]
    BeforeCertificate {
        /// The requested period.
        period: u32,
        /// The certificate's first period.
        start_period: u32,
    },
    /// The key already evolved past the period (its key is erased).
    #[error("KES period {period} is behind the key's current period {current}")]
    AlreadyPast {
        /// The requested period.
        period: u32,
        /// The key's period.
        current: u32,
    },
    /// The period is past the key's last: a new operational certificate is needed.
    #[error("the KES key has no period {period}: issue a new operational certificate")]
    Expired {
        /// The requested period.
        period: u32,
    },
}

/// Everything a leader signs with.
pub struct LeaderKeys {
    /// Identity (cold) key: signs operational certificates and FEC-set roots.
    pub identity: Ed25519SecretKey,
    /// KES hot key for block headers.
    pub kes: KesSecretKey,
    /// The certificate binding `kes` to `identity`.
    pub certificate: CryptoCertificate,
    /// VRF key for leader proofs.
    pub vrf: VrfSecretKey,
}

impl LeaderKeys {
    /// The header's certificate field.
    pub fn header_certificate(&self) -> OperationalCertificate {
        OperationalCertificate {
            kes_public_key: self.certificate.kes_public_key.0,
            counter: self.certificate.counter,
            start_period: self.certificate.start_period,
            cold_signature: self.certificate.cold_signature.0,
        }
    }

    /// The header this leader seals for `slot` on `parent`, for a block with
    /// transaction ids `ids` and the VRF input `vrf_alpha`; the state root is left zero
    /// for the accounts-db to fill in ([`aether_accounts_db::AccountsDb::apply_block_sealed`]).
    pub fn unsealed_header(
        &self,
        slot: u64,
        parent: &BlockId,
        leader: ValidatorIndex,
        ids: &[Hash],
        vrf_alpha: &[u8],
    ) -> BlockHeader {
        BlockHeader {
            version: BLOCK_HEADER_VERSION,
            slot,
            parent_slot: parent.slot,
            parent_hash: parent.hash,
            leader,
            transactions_root: transactions_root(ids),
            state_root: Hash::ZERO,
            transaction_count: u32::try_from(ids.len())
                .expect("blocks hold far fewer transactions"),
            vrf_proof: self.vrf.prove(vrf_alpha).0,
            kes_period: self.certificate.start_period + self.kes.period(),
            operational_certificate: self.header_certificate(),
        }
    }

    /// Evolves the KES key forward to absolute period `period` (erasing the periods
    /// before it). Fails when `period` is before the certificate's start or the key's
    /// current period (keys never go back), or past the key's last period (the
    /// operator must issue a new operational certificate).
    pub fn evolve_to(&mut self, period: u32) -> Result<(), KesEvolveError> {
        let relative = period.checked_sub(self.certificate.start_period).ok_or(
            KesEvolveError::BeforeCertificate {
                period,
                start_period: self.certificate.start_period,
            },
        )?;
        if relative < self.kes.period() {
            return Err(KesEvolveError::AlreadyPast {
                period,
                current: self.certificate.start_period + self.kes.period(),
            });
        }
        while self.kes.period() < relative {
            self.kes
                .evolve()
                .map_err(|_| KesEvolveError::Expired { period })?;
        }
        debug_assert_eq!(self.kes.period(), relative);
        Ok(())
    }

    /// Signs `header` with the KES key.
    pub fn seal(&self, header: BlockHeader) -> SignedBlockHeader {
        let signature = self.kes.sign(&header.signing_message());
        SignedBlockHeader {
            header,
            kes_signature: KesSignature::new(signature.as_bytes().to_vec())
                .expect("a KES signature of the configured depth fits the header bound"),
        }
    }
}
