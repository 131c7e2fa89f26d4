//! BLS12-381 signatures for votes and certificates, via `blst`.
//!
//! Ciphersuite: minimal-public-key-size (public keys in G1, 48 bytes compressed;
//! signatures in G2, 96 bytes compressed), proof-of-possession scheme, exactly as
//! Ethereum's consensus layer:
//! - signatures hash with DST `BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_`;
//! - proofs of possession sign the compressed public key with DST
//!   `BLS_POP_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_`.
//!
//! Invariants:
//! - A [`BlsPublicKey`] or [`BlsSignature`] value always holds a point that decoded
//!   from its canonical compressed form, lies in the prime-order subgroup and is not the
//!   point at infinity: the checks happen once, at parse time, so every verification
//!   function can skip them.
//! - [`fast_aggregate_verify`] is sound only for keys whose proof of possession was
//!   checked ([`verify_possession`]) when the key was registered; that is the rogue-key
//!   defence of this scheme, and the reason aggregation of keys is safe at all.

use core::fmt;

use blst::BLST_ERROR;
use blst::min_pk::{AggregatePublicKey, AggregateSignature, PublicKey, SecretKey, Signature};
use thiserror::Error;
use zeroize::Zeroizing;

use crate::random::{RandomError, random_bytes};

/// Domain separation tag for signatures (the POP ciphersuite).
pub const SIGNATURE_DST: &[u8] = b"BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_";
/// Domain separation tag for proofs of possession.
pub const POSSESSION_DST: &[u8] = b"BLS_POP_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_";
/// Length of a secret key (a big-endian scalar) in bytes.
pub const SECRET_KEY_BYTES: usize = 32;
/// Length of a compressed G1 public key in bytes.
pub const PUBLIC_KEY_BYTES: usize = 48;
/// Length of a compressed G2 signature in bytes.
pub const SIGNATURE_BYTES: usize = 96;

/// Why a BLS operation failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum BlsError {
    /// The secret key is zero or not below the group order.
    #[error("secret key is not a scalar in [1, r)")]
    InvalidSecretKey,
    /// The bytes do not decode to a G1 point.
    #[error("public key bytes are not a compressed G1 point")]
    InvalidPublicKeyEncoding,
    /// The public key is the point at infinity.
    #[error("public key is the point at infinity")]
    PublicKeyIsInfinity,
    /// The public key is not in the prime-order subgroup.
    #[error("public key is not in the G1 subgroup")]
    PublicKeyNotInSubgroup,
    /// The bytes do not decode to a G2 point.
    #[error("signature bytes are not a compressed G2 point")]
    InvalidSignatureEncoding,
    /// The signature is the point at infinity.
    #[error("signature is the point at infinity")]
    SignatureIsInfinity,
    /// The signature is not in the prime-order subgroup.
    #[error("signature is not in the G2 subgroup")]
    SignatureNotInSubgroup,
    /// Aggregation or aggregate verification was given nothing.
    #[error("nothing to aggregate")]
    Empty,
    /// Aggregate verification was given different numbers of keys and messages.
    #[error("{public_keys} public keys but {messages} messages")]
    CountMismatch {
        /// Number of public keys given.
        public_keys: usize,
        /// Number of messages given.
        messages: usize,
    },
    /// The pairing check failed.
    #[error("signature does not verify")]
    VerificationFailed,
}

/// A BLS secret key. Zeroized on drop (by `blst`), never printed.
pub struct BlsSecretKey {
    inner: SecretKey,
}

impl BlsSecretKey {
    /// Parses a 32-byte big-endian scalar in `[1, r)`.
    pub fn from_bytes(bytes: &[u8; SECRET_KEY_BYTES]) -> Result<Self, BlsError> {
        let inner = SecretKey::from_bytes(bytes).map_err(|_| BlsError::InvalidSecretKey)?;
        Ok(Self { inner })
    }

    /// A fresh key: the IETF BLS `KeyGen` (HKDF-SHA256) over 32 bytes from the operating
    /// system.
    pub fn generate() -> Result<Self, RandomError> {
        let key_material = Zeroizing::new(random_bytes::<32>()?);
        let inner = SecretKey::key_gen(key_material.as_slice(), &[])
            .expect("key_gen accepts 32 bytes of key material");
        Ok(Self { inner })
    }

    /// The secret scalar, big-endian, for writing a key file. Handle with care.
    pub fn to_bytes(&self) -> Zeroizing<[u8; SECRET_KEY_BYTES]> {
        Zeroizing::new(self.inner.to_bytes())
    }

    /// The public key `[sk]G1`.
    pub fn public_key(&self) -> BlsPublicKey {
        BlsPublicKey {
            inner: self.inner.sk_to_pk(),
        }
    }

    /// Signs `message` under the POP ciphersuite's signature DST.
    pub fn sign(&self, message: &[u8]) -> BlsSignature {
        BlsSignature {
            inner: self.inner.sign(message, SIGNATURE_DST, &[]),
        }
    }

    /// The proof of possession: a signature of the compressed public key under the
    /// possession DST.
    pub fn prove_possession(&self) -> BlsSignature {
        let public_key = self.public_key().to_bytes();
        BlsSignature {
            inner: self.inner.sign(&public_key, POSSESSION_DST, &[]),
        }
    }

    /// Signs `message` with an arbitrary DST (conformance tests of other ciphersuites).
    pub fn sign_with_dst(&self, message: &[u8], dst: &[u8]) -> BlsSignature {
        BlsSignature {
            inner: self.inner.sign(message, dst, &[]),
        }
    }
}

impl fmt::Debug for BlsSecretKey {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            formatter,
            "BlsSecretKey(<redacted>, public {:?})",
            self.public_key()
        )
    }
}

/// A validated BLS public key (see the module invariants).
#[derive(Clone, PartialEq, Eq)]
pub struct BlsPublicKey {
    inner: PublicKey,
}

impl BlsPublicKey {
    /// Parses a compressed G1 point, rejecting infinity and points outside the
    /// subgroup.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, BlsError> {
        if bytes.len() != PUBLIC_KEY_BYTES {
            return Err(BlsError::InvalidPublicKeyEncoding);
        }
        let inner = PublicKey::uncompress(bytes).map_err(|_| BlsError::InvalidPublicKeyEncoding)?;
        inner.validate().map_err(|error| match error {
            BLST_ERROR::BLST_PK_IS_INFINITY => BlsError::PublicKeyIsInfinity,
            _ => BlsError::PublicKeyNotInSubgroup,
        })?;
        Ok(Self { inner })
    }

    /// The compressed encoding.
    pub fn to_bytes(&self) -> [u8; PUBLIC_KEY_BYTES] {
        self.inner.compress()
    }
}

impl fmt::Debug for BlsPublicKey {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "BlsPublicKey({})", hex_prefix(&self.to_bytes()))
    }
}

/// A validated BLS signature, single or aggregate (see the module invariants).
#[derive(Clone, PartialEq, Eq)]
pub struct BlsSignature {
    inner: Signature,
}

impl BlsSignature {
    /// Parses a compressed G2 point, rejecting infinity and points outside the
    /// subgroup.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, BlsError> {
        if bytes.len() != SIGNATURE_BYTES {
            return Err(BlsError::InvalidSignatureEncoding);
        }
        let inner = Signature::uncompress(bytes).map_err(|_| BlsError::InvalidSignatureEncoding)?;
        inner.validate(true).map_err(|error| match error {
            BLST_ERROR::BLST_PK_IS_INFINITY => BlsError::SignatureIsInfinity,
            _ => BlsError::SignatureNotInSubgroup,
        })?;
        Ok(Self { inner })
    }

    /// The compressed encoding.
    pub fn to_bytes(&self) -> [u8; SIGNATURE_BYTES] {
        self.inner.compress()
    }
}

impl fmt::Debug for BlsSignature {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "BlsSignature({})", hex_prefix(&self.to_bytes()))
    }
}

fn check(outcome: BLST_ERROR) -> Result<(), BlsError> {
    if outcome == BLST_ERROR::BLST_SUCCESS {
        Ok(())
    } else {
        Err(BlsError::VerificationFailed)
    }
}

/// Verifies one signature on `message`.
pub fn verify(
    public_key: &BlsPublicKey,
    message: &[u8],
    signature: &BlsSignature,
) -> Result<(), BlsError> {
    check(
        signature
            .inner
            .verify(false, message, SIGNATURE_DST, &[], &public_key.inner, false),
    )
}

/// Verifies a proof of possession for `public_key`.
pub fn verify_possession(public_key: &BlsPublicKey, proof: &BlsSignature) -> Result<(), BlsError> {
    let message = public_key.to_bytes();
    check(proof.inner.verify(
        false,
        &message,
        POSSESSION_DST,
        &[],
        &public_key.inner,
        false,
    ))
}

/// Adds signatures (on the same or different messages) into one.
pub fn aggregate(signatures: &[BlsSignature]) -> Result<BlsSignature, BlsError> {
    let references: Vec<&Signature> = signatures
        .iter()
        .map(|signature| &signature.inner)
        .collect();
    if references.is_empty() {
        return Err(BlsError::Empty);
    }
    let sum = AggregateSignature::aggregate(&references, false).map_err(|_| BlsError::Empty)?;
    let inner = sum.to_signature();
    // A sum of subgroup points stays in the subgroup; only infinity is possible (when
    // signatures cancel), and a certificate must never carry it.
    inner
        .validate(true)
        .map_err(|_| BlsError::SignatureIsInfinity)?;
    Ok(BlsSignature { inner })
}

/// Adds public keys into one (for a certificate's signer set).
pub fn aggregate_public_keys(public_keys: &[BlsPublicKey]) -> Result<BlsPublicKey, BlsError> {
    let references: Vec<&PublicKey> = public_keys.iter().map(|key| &key.inner).collect();
    if references.is_empty() {
        return Err(BlsError::Empty);
    }
    let sum = AggregatePublicKey::aggregate(&references, false).map_err(|_| BlsError::Empty)?;
    let inner = sum.to_public_key();
    inner
        .validate()
        .map_err(|_| BlsError::PublicKeyIsInfinity)?;
    Ok(BlsPublicKey { inner })
}

/// Verifies an aggregate signature by many keys on one message (quorum certificates).
/// Every key must have had its proof of possession verified.
pub fn fast_aggregate_verify(
    public_keys: &[BlsPublicKey],
    message: &[u8],
    signature: &BlsSignature,
) -> Result<(), BlsError> {
    if public_keys.is_empty() {
        return Err(BlsError::Empty);
    }
    let references: Vec<&PublicKey> = public_keys.iter().map(|key| &key.inner).collect();
    check(
        signature
            .inner
            .fast_aggregate_verify(false, message, SIGNATURE_DST, &references),
    )
}

/// Verifies an aggregate signature where key `i` signed message `i` (timeout
/// certificates, whose signers sign different high-QC rounds).
pub fn aggregate_verify(
    public_keys: &[BlsPublicKey],
    messages: &[&[u8]],
    signature: &BlsSignature,
) -> Result<(), BlsError> {
    aggregate_verify_with_dst(SIGNATURE_DST, public_keys, messages, signature)
}

/// [`aggregate_verify`] under another ciphersuite's DST. The validator never calls
/// this; it exists so the aggregation code can be checked against vector sets that
/// were published for other ciphersuites.
pub fn aggregate_verify_with_dst(
    dst: &[u8],
    public_keys: &[BlsPublicKey],
    messages: &[&[u8]],
    signature: &BlsSignature,
) -> Result<(), BlsError> {
    if public_keys.is_empty() {
        return Err(BlsError::Empty);
    }
    if public_keys.len() != messages.len() {
        return Err(BlsError::CountMismatch {
            public_keys: public_keys.len(),
            messages: messages.len(),
        });
    }
    let references: Vec<&PublicKey> = public_keys.iter().map(|key| &key.inner).collect();
    check(
        signature
            .inner
            .aggregate_verify(false, messages, dst, &references, false),
    )
}

fn hex_prefix(bytes: &[u8]) -> String {
    let mut text: String = bytes
        .iter()
        .take(8)
        .map(|byte| format!("{byte:02x}"))
        .collect();
    text.push('…');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(seed: u8) -> BlsSecretKey {
        let mut bytes = [0u8; 32];
        bytes[31] = seed;
        bytes[0] = 0x11;
        BlsSecretKey::from_bytes(&bytes).unwrap()
    }

    #[test]
    fn zero_secret_key_is_rejected() {
        assert_eq!(
            BlsSecretKey::from_bytes(&[0u8; 32]).unwrap_err(),
            BlsError::InvalidSecretKey
        );
    }

    #[test]
    fn sign_verify_and_possession() {
        let secret = key(1);
        let public = secret.public_key();
        let signature = secret.sign(b"vote");
        assert_eq!(verify(&public, b"vote", &signature), Ok(()));
        assert_eq!(
            verify(&public, b"veto", &signature),
            Err(BlsError::VerificationFailed)
        );
        assert_eq!(
            verify_possession(&public, &secret.prove_possession()),
            Ok(())
        );
        // A vote signature is not a proof of possession: the DSTs separate them.
        let confused = secret.sign(&public.to_bytes());
        assert_eq!(
            verify_possession(&public, &confused),
            Err(BlsError::VerificationFailed)
        );
    }

    #[test]
    fn quorum_certificate_round_trip() {
        let secrets: Vec<BlsSecretKey> = (1..=5).map(key).collect();
        let publics: Vec<BlsPublicKey> = secrets.iter().map(BlsSecretKey::public_key).collect();
        let signatures: Vec<BlsSignature> = secrets.iter().map(|s| s.sign(b"block")).collect();
        let aggregated = aggregate(&signatures).unwrap();
        assert_eq!(
            fast_aggregate_verify(&publics, b"block", &aggregated),
            Ok(())
        );
        assert!(fast_aggregate_verify(&publics[..4], b"block", &aggregated).is_err());
        let aggregated_key = aggregate_public_keys(&publics).unwrap();
        assert_eq!(verify(&aggregated_key, b"block", &aggregated), Ok(()));
    }

    #[test]
    fn timeout_certificate_round_trip() {
        let secrets: Vec<BlsSecretKey> = (1..=3).map(key).collect();
        let publics: Vec<BlsPublicKey> = secrets.iter().map(BlsSecretKey::public_key).collect();
        let messages: [&[u8]; 3] = [b"round 9 hqc 7", b"round 9 hqc 8", b"round 9 hqc 6"];
        let signatures: Vec<BlsSignature> = secrets
            .iter()
            .zip(messages)
            .map(|(secret, message)| secret.sign(message))
            .collect();
        let aggregated = aggregate(&signatures).unwrap();
        assert_eq!(aggregate_verify(&publics, &messages, &aggregated), Ok(()));
        let swapped: [&[u8]; 3] = [messages[1], messages[0], messages[2]];
        assert!(aggregate_verify(&publics, &swapped, &aggregated).is_err());
        assert_eq!(
            aggregate_verify(&publics, &messages[..2], &aggregated),
            Err(BlsError::CountMismatch {
                public_keys: 3,
                messages: 2
            })
        );
    }

    #[test]
    fn infinity_points_are_rejected_at_parse_time() {
        let mut infinity_public = [0u8; PUBLIC_KEY_BYTES];
        infinity_public[0] = 0xc0;
        assert_eq!(
            BlsPublicKey::from_bytes(&infinity_public).unwrap_err(),
            BlsError::PublicKeyIsInfinity
        );
        let mut infinity_signature = [0u8; SIGNATURE_BYTES];
        infinity_signature[0] = 0xc0;
        assert_eq!(
            BlsSignature::from_bytes(&infinity_signature).unwrap_err(),
            BlsError::SignatureIsInfinity
        );
    }

    #[test]
    fn debug_never_prints_the_secret() {
        let secret = key(0x42);
        assert!(format!("{secret:?}").contains("redacted"));
    }
}
