//! ECVRF-EDWARDS25519-SHA512-TAI, the verifiable random function of RFC 9381, section 5
//! (suite string `0x03`), used for leader election.
//!
//! A VRF secret key is a 32-byte seed, expanded exactly as an RFC 8032 Ed25519 key:
//! `SHA-512(seed)` is split into a clamped scalar `x` (first half) and a nonce key
//! (second half), and the public key is `Y = x·B`. So a VRF key pair has the same
//! bytes as an Ed25519 key pair, but the two must never share a seed in practice.
//!
//! | RFC 9381 step | here |
//! |---|---|
//! | 5.1 prove: `pi = Gamma ‖ c ‖ s` (32 + 16 + 32 = 80 bytes) | [`VrfSecretKey::prove`] |
//! | 5.2 proof_to_hash: `beta = SHA-512(0x03 ‖ 0x03 ‖ 8·Gamma ‖ 0x00)` | [`proof_to_hash`] |
//! | 5.3 verify, with 5.4.5 validate_key | [`verify`] |
//! | 5.4.1.1 encode_to_curve, try-and-increment | `encode_to_curve` |
//! | 5.4.2.2 nonce generation, RFC 8032 style | `nonce_generation` |
//! | 5.4.3 challenge generation, 16-byte challenge | `challenge_generation` |
//!
//! Invariants:
//! - Every point read from outside (the public key, `Gamma`) is decoded by RFC 8032
//!   section 5.1.3: a non-canonical `y` (`y ≥ p`), an `x = 0` with the sign bit set, or a
//!   `y` that is not on the curve is rejected, never reduced.
//! - [`verify`] rejects a public key of small order (RFC 9381 section 5.4.5, the
//!   `validate_key` branch is always taken) and a proof whose `s` is not below the group
//!   order `L`.
//! - `beta` depends only on `8·Gamma`, so it is the same for every valid proof of one
//!   `(public key, alpha)` pair: that is what makes the output unique.
//! - The secret seed and everything derived from it are zeroized on drop and never
//!   printed.

use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::scalar::{Scalar, clamp_integer};
use sha2::{Digest, Sha512};
use thiserror::Error;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::random::{RandomError, random_bytes};

#[cfg(test)]
mod tests;

/// RFC 9381 suite string of ECVRF-EDWARDS25519-SHA512-TAI.
const SUITE_STRING: u8 = 0x03;
/// Length of an encoded point (`ptLen`).
const POINT_LEN: usize = 32;
/// Length of the challenge `c` (`cLen`).
const CHALLENGE_LEN: usize = 16;
/// Length of an encoded scalar (`qLen`).
const SCALAR_LEN: usize = 32;

/// Length in bytes of a VRF secret key (the seed).
pub const VRF_SECRET_KEY_LEN: usize = 32;
/// Length in bytes of a VRF public key.
pub const VRF_PUBLIC_KEY_LEN: usize = POINT_LEN;
/// Length in bytes of a VRF proof `pi = Gamma ‖ c ‖ s`.
pub const VRF_PROOF_LEN: usize = POINT_LEN + CHALLENGE_LEN + SCALAR_LEN;
/// Length in bytes of a VRF output `beta` (one SHA-512 digest).
pub const VRF_OUTPUT_LEN: usize = 64;

const _: () = assert!(VRF_PROOF_LEN == 80);
const _: () = assert!(CHALLENGE_LEN < SCALAR_LEN);

/// Why a VRF proof or key was rejected.
#[derive(Debug, Error)]
pub enum VrfError {
    /// The public key bytes are not the canonical RFC 8032 encoding of a curve point.
    #[error("VRF public key is not a canonical encoding of a curve point")]
    PublicKeyEncoding,
    /// The public key is a point of small order (RFC 9381 section 5.4.5).
    #[error("VRF public key has small order")]
    PublicKeySmallOrder,
    /// The proof's `Gamma` is not the canonical RFC 8032 encoding of a curve point.
    #[error("VRF proof Gamma is not a canonical encoding of a curve point")]
    GammaEncoding,
    /// The proof's `s` is not below the group order `L`.
    #[error("VRF proof scalar s is not below the group order")]
    ScalarNotCanonical,
    /// The proof is well formed but its challenge does not match: it was not made by
    /// this key for this input.
    #[error("VRF proof does not verify for this public key and input")]
    ChallengeMismatch,
    /// Try-and-increment found no point within 256 attempts (probability about
    /// `2^-256`; RFC 9381 section 5.4.1.1 outputs INVALID here).
    #[error("VRF encode_to_curve found no point within 256 attempts")]
    EncodeToCurveExhausted,
    /// Key generation could not get randomness.
    #[error(transparent)]
    Random(#[from] RandomError),
}

/// A VRF secret key: a 32-byte seed and the values RFC 8032 expands from it.
///
/// Zeroized on drop; `Debug` prints only the public key.
#[derive(ZeroizeOnDrop)]
pub struct VrfSecretKey {
    seed: [u8; VRF_SECRET_KEY_LEN],
    /// The clamped secret scalar `x`, reduced mod `L` (the same point multiples, as every
    /// point it multiplies lies in the prime-order subgroup).
    scalar: Scalar,
    /// `SHA-512(seed)[32..64]`, the nonce key of RFC 9381 section 5.4.2.2.
    nonce_key: [u8; 32],
    #[zeroize(skip)]
    public_key: VrfPublicKey,
}

/// A VRF public key: the compressed Edwards point `Y = x·B`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct VrfPublicKey(pub [u8; VRF_PUBLIC_KEY_LEN]);

/// A VRF proof `pi = Gamma (32) ‖ c (16) ‖ s (32)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct VrfProof(pub [u8; VRF_PROOF_LEN]);

/// A VRF output `beta`: the 64-byte pseudo-random value a valid proof commits to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct VrfOutput(pub [u8; VRF_OUTPUT_LEN]);

impl VrfSecretKey {
    /// Expands a 32-byte seed into a VRF secret key (RFC 8032 section 5.1.5).
    pub fn from_seed(seed: &[u8; VRF_SECRET_KEY_LEN]) -> Self {
        let mut hashed: [u8; 64] = Sha512::digest(seed).into();
        let mut scalar_bytes = [0u8; 32];
        scalar_bytes.copy_from_slice(&hashed[..32]);
        let mut clamped = clamp_integer(scalar_bytes);
        let scalar = Scalar::from_bytes_mod_order(clamped);
        let mut nonce_key = [0u8; 32];
        nonce_key.copy_from_slice(&hashed[32..]);
        hashed.zeroize();
        scalar_bytes.zeroize();
        clamped.zeroize();
        let public_key = VrfPublicKey(EdwardsPoint::mul_base(&scalar).compress().to_bytes());
        Self {
            seed: *seed,
            scalar,
            nonce_key,
            public_key,
        }
    }

    /// Generates a fresh key from the operating system's random source.
    pub fn generate() -> Result<Self, VrfError> {
        let mut seed = random_bytes::<VRF_SECRET_KEY_LEN>()?;
        let key = Self::from_seed(&seed);
        seed.zeroize();
        Ok(key)
    }

    /// The 32-byte seed, for writing the key to storage. Handle with care.
    pub fn to_seed(&self) -> Zeroizing<[u8; VRF_SECRET_KEY_LEN]> {
        Zeroizing::new(self.seed)
    }

    /// The public key `Y = x·B`.
    pub fn public_key(&self) -> VrfPublicKey {
        self.public_key
    }

    /// Proves the VRF on `alpha` (RFC 9381 section 5.1). Deterministic: one key and one
    /// `alpha` always give the same proof.
    ///
    /// # Panics
    ///
    /// Only if try-and-increment fails 256 times in a row, which happens with
    /// probability about `2^-256` for a given `(public key, alpha)`.
    pub fn prove(&self, alpha: &[u8]) -> VrfProof {
        let h_point = encode_to_curve(&self.public_key.0, alpha)
            .expect("try-and-increment exhausted 256 counters (probability 2^-256)");
        let h_string = h_point.compress().to_bytes();
        let gamma = h_point * self.scalar;
        let mut k_string = nonce_generation(&self.nonce_key, &h_string);
        let mut k = Scalar::from_bytes_mod_order_wide(&k_string);
        k_string.zeroize();
        let y_point = EdwardsPoint::mul_base(&self.scalar);
        let c = challenge_generation(
            &y_point,
            &h_point,
            &gamma,
            &EdwardsPoint::mul_base(&k),
            &(h_point * k),
        );
        let s = k + challenge_scalar(&c) * self.scalar;
        k.zeroize();

        let mut pi = [0u8; VRF_PROOF_LEN];
        pi[..POINT_LEN].copy_from_slice(gamma.compress().as_bytes());
        pi[POINT_LEN..POINT_LEN + CHALLENGE_LEN].copy_from_slice(&c);
        pi[POINT_LEN + CHALLENGE_LEN..].copy_from_slice(s.as_bytes());
        VrfProof(pi)
    }
}

impl core::fmt::Debug for VrfSecretKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("VrfSecretKey")
            .field("public_key", &self.public_key)
            .field("seed", &"<redacted>")
            .finish()
    }
}

/// The VRF output of a proof, without checking the proof against a key or input
/// (RFC 9381 section 5.2). Only trust the output of a proof that [`verify`] accepted.
pub fn proof_to_hash(proof: &VrfProof) -> Result<VrfOutput, VrfError> {
    let decoded = decode_proof(proof)?;
    Ok(gamma_to_hash(&decoded.gamma))
}

/// Verifies `proof` for `public_key` and `alpha` (RFC 9381 section 5.3, with the
/// public key validated as in section 5.4.5) and returns its output `beta`.
pub fn verify(
    public_key: &VrfPublicKey,
    alpha: &[u8],
    proof: &VrfProof,
) -> Result<VrfOutput, VrfError> {
    let decoded = decode_proof(proof)?;
    let y_point = validate_key(public_key)?;
    let h_point = encode_to_curve(&public_key.0, alpha)?;
    let c = challenge_scalar(&decoded.c);
    // U = s·B − c·Y and V = s·H − c·Gamma; variable time is fine, all inputs are public.
    let u_point = EdwardsPoint::vartime_double_scalar_mul_basepoint(&-c, &y_point, &decoded.s);
    let v_point = h_point * decoded.s - decoded.gamma * c;
    let c_prime = challenge_generation(&y_point, &h_point, &decoded.gamma, &u_point, &v_point);
    if c_prime != decoded.c {
        return Err(VrfError::ChallengeMismatch);
    }
    Ok(gamma_to_hash(&decoded.gamma))
}

/// A proof split into its parts, each already checked (RFC 9381 section 5.4.4).
struct DecodedProof {
    gamma: EdwardsPoint,
    c: [u8; CHALLENGE_LEN],
    s: Scalar,
}

/// ECVRF_decode_proof: `Gamma` must decode, `s` must be below `L`.
fn decode_proof(proof: &VrfProof) -> Result<DecodedProof, VrfError> {
    // The three ranges tile the fixed-size array, so these copies cannot fail.
    let mut gamma_bytes = [0u8; POINT_LEN];
    gamma_bytes.copy_from_slice(&proof.0[..POINT_LEN]);
    let mut c = [0u8; CHALLENGE_LEN];
    c.copy_from_slice(&proof.0[POINT_LEN..POINT_LEN + CHALLENGE_LEN]);
    let mut s_bytes = [0u8; SCALAR_LEN];
    s_bytes.copy_from_slice(&proof.0[POINT_LEN + CHALLENGE_LEN..]);
    let gamma = decode_point(&gamma_bytes).ok_or(VrfError::GammaEncoding)?;
    let s = Option::<Scalar>::from(Scalar::from_canonical_bytes(s_bytes))
        .ok_or(VrfError::ScalarNotCanonical)?;
    Ok(DecodedProof { gamma, c, s })
}

/// ECVRF_validate_key: the key must decode and must not have small order.
fn validate_key(public_key: &VrfPublicKey) -> Result<EdwardsPoint, VrfError> {
    let point = decode_point(&public_key.0).ok_or(VrfError::PublicKeyEncoding)?;
    if point.is_small_order() {
        return Err(VrfError::PublicKeySmallOrder);
    }
    Ok(point)
}

/// RFC 8032 section 5.1.3 point decoding, strict: `decompress` reduces a non-canonical
/// `y` and ignores the sign of `x = 0`, so a point is accepted only if it re-encodes
/// to exactly the input bytes.
fn decode_point(bytes: &[u8; POINT_LEN]) -> Option<EdwardsPoint> {
    let point = CompressedEdwardsY(*bytes).decompress()?;
    (point.compress().as_bytes() == bytes).then_some(point)
}

/// ECVRF_encode_to_curve_try_and_increment (section 5.4.1.1) with the public key bytes
/// as salt. The result is `8·P` for the first candidate `P` that decodes, so it lies in
/// the prime-order subgroup.
fn encode_to_curve(salt: &[u8; POINT_LEN], alpha: &[u8]) -> Result<EdwardsPoint, VrfError> {
    for ctr in 0..=u8::MAX {
        let hash = Sha512::new()
            .chain_update([SUITE_STRING, 0x01])
            .chain_update(salt)
            .chain_update(alpha)
            .chain_update([ctr, 0x00])
            .finalize();
        let mut candidate = [0u8; POINT_LEN];
        candidate.copy_from_slice(&hash[..POINT_LEN]);
        if let Some(point) = decode_point(&candidate) {
            // As the RFC: a small-order candidate (probability about 2^-252) clears to
            // the identity and is still the answer; skipping it would be a different
            // function.
            return Ok(point.mul_by_cofactor());
        }
    }
    Err(VrfError::EncodeToCurveExhausted)
}

/// ECVRF_nonce_generation_RFC8032 (section 5.4.2.2): `SHA-512(nonce_key ‖ h_string)`,
/// returned as the 64-byte string `k_string` (reduced mod `L` by the caller).
fn nonce_generation(nonce_key: &[u8; 32], h_string: &[u8; POINT_LEN]) -> [u8; 64] {
    Sha512::new()
        .chain_update(nonce_key)
        .chain_update(h_string)
        .finalize()
        .into()
}

/// ECVRF_challenge_generation (section 5.4.3): the first 16 bytes of
/// `SHA-512(0x03 ‖ 0x02 ‖ P1 ‖ … ‖ P5 ‖ 0x00)`.
fn challenge_generation(
    y_point: &EdwardsPoint,
    h_point: &EdwardsPoint,
    gamma: &EdwardsPoint,
    u_point: &EdwardsPoint,
    v_point: &EdwardsPoint,
) -> [u8; CHALLENGE_LEN] {
    let mut hasher = Sha512::new();
    hasher.update([SUITE_STRING, 0x02]);
    for point in [y_point, h_point, gamma, u_point, v_point] {
        hasher.update(point.compress().as_bytes());
    }
    hasher.update([0x00]);
    let hash = hasher.finalize();
    let mut c = [0u8; CHALLENGE_LEN];
    c.copy_from_slice(&hash[..CHALLENGE_LEN]);
    c
}

/// The 16-byte little-endian challenge as a scalar (always below `L`).
fn challenge_scalar(c: &[u8; CHALLENGE_LEN]) -> Scalar {
    let mut bytes = [0u8; SCALAR_LEN];
    bytes[..CHALLENGE_LEN].copy_from_slice(c);
    Scalar::from_bytes_mod_order(bytes)
}

/// proof_to_hash from a decoded `Gamma` (section 5.2).
fn gamma_to_hash(gamma: &EdwardsPoint) -> VrfOutput {
    let beta = Sha512::new()
        .chain_update([SUITE_STRING, 0x03])
        .chain_update(gamma.mul_by_cofactor().compress().as_bytes())
        .chain_update([0x00])
        .finalize();
    VrfOutput(beta.into())
}
