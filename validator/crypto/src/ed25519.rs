//! Ed25519 signatures: RFC 8032 signing, ZIP-215 verification, single and batched.
//!
//! # The acceptance rule (ZIP-215)
//!
//! A signature `(R, S)` by public key `A` on message `M` is valid exactly when:
//!
//! 1. `A` and `R` are 32-byte encodings of points on the curve. Non-canonical encodings
//!    (a `y` coordinate in `[p, 2^255)`, or `x = 0` with the sign bit set) are accepted
//!    and decoded as `y mod p`; points of small order are accepted.
//! 2. `S` is canonical: as a little-endian integer, `S < ℓ` (the group order).
//! 3. With `k = SHA-512(R_bytes ‖ A_bytes ‖ M) mod ℓ`, computed over the bytes exactly
//!    as received, the cofactored equation holds: `[8]([S]B − R − [k]A) = 0`.
//!
//! Why this rule (rather than RFC 8032's "strict" rule or dalek's `verify_strict`): it is
//! the only common rule under which batch verification returns exactly the decision of
//! single verification for every input, including adversarial ones (the cofactor
//! multiplication kills the torsion components that make cofactorless batch and single
//! checks disagree). Every backend — this CPU code, the GPU kernels, batches of any size
//! — must reach the same decision, so the rule must be one that batching cannot change.
//! ZIP-215 is also fully specified down to the encoding edge cases, which the CCTV
//! vectors pin.
//!
//! # Batches
//!
//! [`verify_batch`] checks `[8](−(Σ zᵢSᵢ)B + Σ zᵢRᵢ + Σ (zᵢkᵢ)Aᵢ) = 0` with 128-bit
//! coefficients `zᵢ` derived by hashing the whole batch (a Fiat–Shamir transcript: the
//! coefficients are fixed only after every signature is, so a forger cannot aim at
//! them, and the same batch always takes the same path, which keeps runs
//! reproducible). If the combined check fails, the left half is checked: if it passes,
//! the invalid signatures are in the right half, which is searched the same way (its
//! own combined check is implied by its parent's failure and is skipped); if the left
//! half fails too, invalid signatures are dense and the remainder is verified one by
//! one. The result is one decision per signature, equal to [`verify`]'s.
//!
//! The search bounds what a spammer can cost. Measured on a batch of 64
//! (`make bench`, `ed25519_verify_batch_64_with_invalid`, one core, against 2.53 ms for
//! 64 single verifications in the same run): all valid 1.25 ms; 1 invalid (at the
//! worst position, first), 8 and 32 invalid: 3.39, 3.43 and 3.62 ms, so never worse than about 1.45 times verifying one by one.
//! Plain bisection (check both halves, recurse into each failure) measured 2.73 ms with
//! one invalid signature but 5.69 ms with 8 or 32, and its cost grows with the number
//! of levels an attacker can make fail.

use core::fmt;

use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::{IsIdentity, VartimeMultiscalarMul};
use ed25519_dalek::Signer;
use sha2::{Digest, Sha512};
use thiserror::Error;
use zeroize::Zeroizing;

use crate::random::{RandomError, random_bytes};

/// Length of an Ed25519 secret seed in bytes.
pub const SEED_BYTES: usize = 32;
/// Length of an Ed25519 public key in bytes.
pub const PUBLIC_KEY_BYTES: usize = 32;
/// Length of an Ed25519 signature in bytes.
pub const SIGNATURE_BYTES: usize = 64;

/// At or below this many signatures, a failing sub-batch is settled one signature at a
/// time instead of by further halving.
const BATCH_SPLIT_FLOOR: usize = 4;

/// Why a signature was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum Ed25519Error {
    /// The public key bytes are not the encoding of a curve point.
    #[error("public key is not a curve point")]
    InvalidPublicKey,
    /// The `R` half of the signature is not the encoding of a curve point.
    #[error("signature R is not a curve point")]
    InvalidR,
    /// The `S` half of the signature is not below the group order.
    #[error("signature S is not canonical (S >= group order)")]
    NonCanonicalS,
    /// Everything parsed, but the verification equation does not hold.
    #[error("signature does not verify")]
    EquationFailed,
}

/// An Ed25519 public key as 32 bytes. Any bytes are representable; whether they decode
/// to a point is decided at verification time.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Ed25519PublicKey(pub [u8; PUBLIC_KEY_BYTES]);

/// An Ed25519 signature `R ‖ S` as 64 bytes.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ed25519Signature(pub [u8; SIGNATURE_BYTES]);

impl fmt::Debug for Ed25519PublicKey {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "Ed25519PublicKey({})", hex_string(&self.0))
    }
}

impl fmt::Display for Ed25519PublicKey {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&hex_string(&self.0))
    }
}

impl fmt::Debug for Ed25519Signature {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "Ed25519Signature({})", hex_string(&self.0))
    }
}

/// An Ed25519 secret key (the 32-byte RFC 8032 seed and its expansion).
///
/// The bytes are zeroized on drop and never printed.
pub struct Ed25519SecretKey {
    signing_key: ed25519_dalek::SigningKey,
}

impl Ed25519SecretKey {
    /// The key whose RFC 8032 seed is `seed`.
    pub fn from_seed(seed: &[u8; SEED_BYTES]) -> Self {
        Self {
            signing_key: ed25519_dalek::SigningKey::from_bytes(seed),
        }
    }

    /// A fresh key from the operating system's random source.
    pub fn generate() -> Result<Self, RandomError> {
        let seed = Zeroizing::new(random_bytes::<SEED_BYTES>()?);
        Ok(Self::from_seed(&seed))
    }

    /// The 32-byte seed, for writing a key file. Handle with care.
    pub fn seed(&self) -> Zeroizing<[u8; SEED_BYTES]> {
        Zeroizing::new(self.signing_key.to_bytes())
    }

    /// The public key `A`.
    pub fn public_key(&self) -> Ed25519PublicKey {
        Ed25519PublicKey(self.signing_key.verifying_key().to_bytes())
    }

    /// The deterministic RFC 8032 signature of `message`.
    pub fn sign(&self, message: &[u8]) -> Ed25519Signature {
        Ed25519Signature(self.signing_key.sign(message).to_bytes())
    }
}

impl fmt::Debug for Ed25519SecretKey {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            formatter,
            "Ed25519SecretKey(<redacted>, public {})",
            self.public_key()
        )
    }
}

/// One signature to check in a batch.
#[derive(Debug, Clone, Copy)]
pub struct VerifyItem<'a> {
    /// The signer's public key.
    pub public_key: &'a Ed25519PublicKey,
    /// The signed message.
    pub message: &'a [u8],
    /// The signature.
    pub signature: &'a Ed25519Signature,
}

/// An owned (public key, message, signature) triple, for callers that keep their own
/// copies of what they verify (tools, tests, benchmarks).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedMessage {
    /// The signer's public key.
    pub public_key: Ed25519PublicKey,
    /// The signed message.
    pub message: Vec<u8>,
    /// The signature.
    pub signature: Ed25519Signature,
}

impl SignedMessage {
    /// Signs `message` with `key`.
    pub fn sign(key: &Ed25519SecretKey, message: Vec<u8>) -> Self {
        Self {
            public_key: key.public_key(),
            signature: key.sign(&message),
            message,
        }
    }

    /// The borrowed form that batch verification takes.
    pub fn as_item(&self) -> VerifyItem<'_> {
        VerifyItem {
            public_key: &self.public_key,
            message: &self.message,
            signature: &self.signature,
        }
    }

    /// Verifies this one signature.
    pub fn verify(&self) -> Result<(), Ed25519Error> {
        verify(&self.public_key, &self.message, &self.signature)
    }
}

/// A signature whose encodings parsed, ready for the verification equation.
struct Prepared {
    public_point: EdwardsPoint,
    commitment_point: EdwardsPoint,
    response_scalar: Scalar,
    challenge_scalar: Scalar,
}

/// Decodes 32 bytes to a point under ZIP-215: non-canonical encodings are accepted.
fn decode_point(bytes: &[u8; 32]) -> Option<EdwardsPoint> {
    CompressedEdwardsY(*bytes).decompress()
}

/// Parses a signature's parts and computes its challenge `k`.
fn prepare(
    public_key: &Ed25519PublicKey,
    message: &[u8],
    signature: &Ed25519Signature,
) -> Result<Prepared, Ed25519Error> {
    let (commitment_bytes, response_bytes) = signature.0.split_at(32);
    let commitment_bytes: &[u8; 32] = commitment_bytes.try_into().expect("64 = 32 + 32");
    let response_bytes: [u8; 32] = response_bytes.try_into().expect("64 = 32 + 32");

    let response_scalar: Option<Scalar> = Scalar::from_canonical_bytes(response_bytes).into();
    let response_scalar = response_scalar.ok_or(Ed25519Error::NonCanonicalS)?;
    let public_point = decode_point(&public_key.0).ok_or(Ed25519Error::InvalidPublicKey)?;
    let commitment_point = decode_point(commitment_bytes).ok_or(Ed25519Error::InvalidR)?;

    let mut hasher = Sha512::new();
    hasher.update(commitment_bytes);
    hasher.update(public_key.0);
    hasher.update(message);
    let challenge_wide: [u8; 64] = hasher.finalize().into();
    let challenge_scalar = Scalar::from_bytes_mod_order_wide(&challenge_wide);

    Ok(Prepared {
        public_point,
        commitment_point,
        response_scalar,
        challenge_scalar,
    })
}

/// Checks `[8]([S]B − R − [k]A) = 0` for one prepared signature.
fn check_single(prepared: &Prepared) -> bool {
    // [k](−A) + [S]B − R
    let sum = EdwardsPoint::vartime_double_scalar_mul_basepoint(
        &prepared.challenge_scalar,
        &(-prepared.public_point),
        &prepared.response_scalar,
    ) - prepared.commitment_point;
    sum.mul_by_cofactor().is_identity()
}

/// Verifies one signature under the ZIP-215 rule described in the module docs.
pub fn verify(
    public_key: &Ed25519PublicKey,
    message: &[u8],
    signature: &Ed25519Signature,
) -> Result<(), Ed25519Error> {
    let prepared = prepare(public_key, message, signature)?;
    if check_single(&prepared) {
        Ok(())
    } else {
        Err(Ed25519Error::EquationFailed)
    }
}

/// Verifies a batch; returns one decision per item, in order, each equal to what
/// [`verify`] decides for that item alone.
pub fn verify_batch(items: &[VerifyItem<'_>]) -> Vec<bool> {
    let mut decisions = vec![false; items.len()];
    verify_batch_into(items, &mut decisions);
    decisions
}

/// Like [`verify_batch`], writing the decisions into `decisions` (same length as
/// `items`), so callers on the hot path can reuse their buffer.
pub fn verify_batch_into(items: &[VerifyItem<'_>], decisions: &mut [bool]) {
    assert_eq!(items.len(), decisions.len(), "one decision slot per item");
    let mut prepared = Vec::with_capacity(items.len());
    let mut positions = Vec::with_capacity(items.len());
    for (position, item) in items.iter().enumerate() {
        decisions[position] = false;
        if let Ok(ready) = prepare(item.public_key, item.message, item.signature) {
            prepared.push(ready);
            positions.push(position);
        }
    }
    if prepared.is_empty() {
        return;
    }
    let coefficients = batch_coefficients(items);
    let mut accepted = vec![false; prepared.len()];
    settle(&prepared, &positions, &coefficients, &mut accepted);
    for (index, position) in positions.iter().enumerate() {
        decisions[*position] = accepted[index];
    }
}

/// Decides every signature in `prepared`, writing into `accepted` (parallel slices).
///
/// Search for the invalid signatures, with bounded cost (module docs, "Batches"):
/// a failed sub-batch checks its left half; if that passes, the failure is in the right
/// half, which needs no combined check of its own; if the left half fails too, invalid
/// signatures are dense and everything left is verified one by one.
fn settle(
    prepared: &[Prepared],
    positions: &[usize],
    coefficients: &[Scalar],
    accepted: &mut [bool],
) {
    debug_assert_eq!(prepared.len(), accepted.len());
    if check_combined(prepared, positions, coefficients) {
        accepted.fill(true);
        return;
    }
    let (mut prepared, mut positions, mut accepted) = (prepared, positions, accepted);
    // Invariant: the combined check of `prepared` has failed.
    while prepared.len() > BATCH_SPLIT_FLOOR {
        let middle = prepared.len() / 2;
        if !check_combined(&prepared[..middle], &positions[..middle], coefficients) {
            break;
        }
        let (accepted_left, accepted_right) = accepted.split_at_mut(middle);
        accepted_left.fill(true);
        (prepared, positions, accepted) =
            (&prepared[middle..], &positions[middle..], accepted_right);
    }
    for (index, ready) in prepared.iter().enumerate() {
        accepted[index] = check_single(ready);
    }
}

/// The random-linear-combination check over a sub-batch.
fn check_combined(prepared: &[Prepared], positions: &[usize], coefficients: &[Scalar]) -> bool {
    let mut basepoint_scalar = Scalar::ZERO;
    let mut scalars = Vec::with_capacity(2 * prepared.len() + 1);
    let mut points = Vec::with_capacity(2 * prepared.len() + 1);
    for (ready, position) in prepared.iter().zip(positions) {
        let coefficient = coefficients[*position];
        basepoint_scalar -= coefficient * ready.response_scalar;
        scalars.push(coefficient);
        points.push(ready.commitment_point);
        scalars.push(coefficient * ready.challenge_scalar);
        points.push(ready.public_point);
    }
    scalars.push(basepoint_scalar);
    points.push(curve25519_dalek::constants::ED25519_BASEPOINT_POINT);
    EdwardsPoint::vartime_multiscalar_mul(scalars, points)
        .mul_by_cofactor()
        .is_identity()
}

/// 128-bit coefficients, one per item, from a hash of the entire batch.
fn batch_coefficients(items: &[VerifyItem<'_>]) -> Vec<Scalar> {
    let mut transcript = blake3::Hasher::new_derive_key("aether ed25519 batch coefficients v1");
    transcript.update(&(items.len() as u64).to_le_bytes());
    for item in items {
        transcript.update(&item.public_key.0);
        transcript.update(&item.signature.0);
        transcript.update(&(item.message.len() as u64).to_le_bytes());
        transcript.update(item.message);
    }
    let mut stream = transcript.finalize_xof();
    (0..items.len())
        .map(|_| {
            let mut wide = [0u8; 32];
            stream.fill(&mut wide[..16]);
            Scalar::from_bytes_mod_order(wide)
        })
        .collect()
}

fn hex_string(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        text.push(DIGITS[usize::from(byte >> 4)] as char);
        text.push(DIGITS[usize::from(byte & 0x0f)] as char);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_then_verify_and_reject_other_message() {
        let key = Ed25519SecretKey::from_seed(&[7u8; 32]);
        let signature = key.sign(b"hello");
        assert_eq!(verify(&key.public_key(), b"hello", &signature), Ok(()));
        assert_eq!(
            verify(&key.public_key(), b"hellp", &signature),
            Err(Ed25519Error::EquationFailed)
        );
    }

    #[test]
    fn debug_never_prints_the_seed() {
        let key = Ed25519SecretKey::from_seed(&[0xab; 32]);
        let printed = format!("{key:?}");
        assert!(printed.contains("redacted"));
        assert!(!printed.contains("abababab"));
    }

    #[test]
    fn s_at_group_order_is_rejected() {
        let key = Ed25519SecretKey::from_seed(&[1u8; 32]);
        let mut signature = key.sign(b"m");
        // ℓ = 2^252 + 27742317777372353535851937790883648493, little-endian.
        let order: [u8; 32] = [
            0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9,
            0xde, 0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
        ];
        signature.0[32..].copy_from_slice(&order);
        assert_eq!(
            verify(&key.public_key(), b"m", &signature),
            Err(Ed25519Error::NonCanonicalS)
        );
    }
}
