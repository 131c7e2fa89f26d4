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
