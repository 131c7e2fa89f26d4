//! Operational certificates: the cold identity key authorising a hot KES key.
//!
//! A validator's Ed25519 identity (cold) key stays offline. It signs, once per KES key
//! rotation, the message
//!
//! ```text
//! "aether operational certificate v1" ‖ kes_public_key (32) ‖ counter (u64 LE) ‖ start_period (u32 LE)
//! ```
//!
//! Block headers are then signed with the KES key, and a header is accepted only with a
//! certificate that verifies under the leader's registered cold key. The counter must
//! grow with each new certificate, so a stolen older KES key is superseded by issuing a
//! certificate with a higher counter (checked by consensus, which remembers the last
//! counter seen per validator).

use thiserror::Error;

use crate::ed25519::{self, Ed25519PublicKey, Ed25519SecretKey, Ed25519Signature};
use crate::kes::KesPublicKey;

/// Domain-separation prefix of the signed message.
pub const CERTIFICATE_DOMAIN: &[u8] = b"aether operational certificate v1";

/// The certificate does not verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[error("operational certificate signature does not verify under the cold key: {0}")]
pub struct CertificateError(#[from] pub ed25519::Ed25519Error);

/// A cold-key signature over a KES public key, a counter and a start period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OperationalCertificate {
    /// The hot key that signs block headers.
    pub kes_public_key: KesPublicKey,
    /// Issue number; strictly increasing per validator.
    pub counter: u64,
    /// The first KES period in which the KES key may sign.
    pub start_period: u32,
    /// The cold key's signature over [`Self::signing_message`].
    pub cold_signature: Ed25519Signature,
}

impl OperationalCertificate {
    /// The exact bytes the cold key signs.
    pub fn signing_message(
        kes_public_key: &KesPublicKey,
        counter: u64,
        start_period: u32,
    ) -> Vec<u8> {
        let mut message = Vec::with_capacity(CERTIFICATE_DOMAIN.len() + 32 + 8 + 4);
        message.extend_from_slice(CERTIFICATE_DOMAIN);
        message.extend_from_slice(&kes_public_key.0);
        message.extend_from_slice(&counter.to_le_bytes());
        message.extend_from_slice(&start_period.to_le_bytes());
        message
    }

    /// Issues a certificate with the cold key.
    pub fn issue(
        cold_key: &Ed25519SecretKey,
        kes_public_key: KesPublicKey,
        counter: u64,
        start_period: u32,
    ) -> Self {
        let message = Self::signing_message(&kes_public_key, counter, start_period);
        Self {
            kes_public_key,
            counter,
            start_period,
            cold_signature: cold_key.sign(&message),
        }
    }

    /// Checks the cold key's signature.
    pub fn verify(&self, cold_public_key: &Ed25519PublicKey) -> Result<(), CertificateError> {
        let message = Self::signing_message(&self.kes_public_key, self.counter, self.start_period);
        ed25519::verify(cold_public_key, &message, &self.cold_signature)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issue_verify_and_tamper() {
        let cold = Ed25519SecretKey::from_seed(&[9u8; 32]);
        let certificate = OperationalCertificate::issue(&cold, KesPublicKey([4u8; 32]), 3, 17);
        assert_eq!(certificate.verify(&cold.public_key()), Ok(()));
        for tampered in [
            OperationalCertificate {
                counter: 4,
                ..certificate
            },
            OperationalCertificate {
                start_period: 16,
                ..certificate
            },
            OperationalCertificate {
                kes_public_key: KesPublicKey([5u8; 32]),
                ..certificate
            },
        ] {
            assert!(tampered.verify(&cold.public_key()).is_err());
        }
        let other = Ed25519SecretKey::from_seed(&[8u8; 32]);
        assert!(certificate.verify(&other.public_key()).is_err());
    }
}
