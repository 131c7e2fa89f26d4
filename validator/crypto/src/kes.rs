//! Key-evolving signatures (KES) for block headers: the sum composition of
//! Malkin–Micciancio–Miner over Ed25519, with the shape of Cardano's `SumKES`
//! (`Sum6KES` at the default depth 6).
//!
//! A key of depth `d` signs for `2^d` periods, one after the other. A depth-0 key is an
//! Ed25519 key (a 32-byte seed) and its public key is the Ed25519 public key. A depth-`d`
//! key is two depth-`d-1` keys, "left" for the first half of the periods and "right"
//! for the second half:
//!
//! - seeds: `left = BLAKE3-derive-key("aether kes v1 seed left", seed)`, likewise
//!   `right` with context `"aether kes v1 seed right"`;
//! - public key: `BLAKE3(vk_left ‖ vk_right)` (unkeyed, 32 bytes);
//! - secret key: the current half's depth-`d-1` secret key, the right half's seed
//!   (erased once the right half is in use), `vk_left` and `vk_right`;
//! - signature for period `t`: the current half's signature for period `t mod 2^(d-1)`
//!   followed by `vk_left ‖ vk_right`.
//!
//! Flattened, a key stores the current leaf seed and one level per depth, bottom-up.
//! At period `t`, level `i` (1-based) is in its right half exactly when bit `i-1` of `t`
//! is set. Sizes (Cardano's at depth 6):
//!
//! | depth `d` | periods | signature | secret key material |
//! |---|---|---|---|
//! | formula | `2^d` | `64 + 64·d` | `32 + 96·d` |
//! | 6 | 64 | 448 | 608 |
//!
//! The key file format ([`KesSecretKey::to_bytes`]) is a 6-byte header — format
//! version (1), depth (1 byte), period (u32 little-endian) — then the leaf seed, then per
//! level bottom-up `right_seed ‖ vk_left ‖ vk_right`.
//!
//! Invariants:
//! - Forward security: [`KesSecretKey::evolve`] overwrites the leaf seed and erases
//!   every seed that could rebuild a past period's leaf, so there is no way to sign for
//!   a past period. For this reason the secret key is not `Clone`.
//! - A level in its right half holds an all-zero `right_seed`; a level in its left half
//!   holds the seed whose subtree hashes to `vk_right`. [`KesSecretKey::from_bytes`]
//!   checks both, and that the leaf and every level hash up to one public key.
//! - A signature for period `p` verifies only at period `p`: the period selects the path
//!   through the tree, and each leaf is a distinct Ed25519 key.
//! - The leaf signature is checked with the project's Ed25519 rule,
//!   [`crate::ed25519::verify`].

use ed25519_dalek::{Signer, SigningKey};
use thiserror::Error;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::ed25519::{Ed25519Error, Ed25519PublicKey, Ed25519Signature};
use crate::random::{RandomError, random_bytes};

/// Depth of a key when the operator chooses nothing: 64 periods, as Cardano's Sum6KES.
pub const KES_DEPTH_DEFAULT: u32 = 6;
/// Largest supported depth (1024 periods). It bounds key generation (`2^depth`
/// Ed25519 key derivations) and signature size.
pub const KES_DEPTH_MAX: u32 = 10;
/// Length of the key file header: format version, depth, period.
pub const KES_SECRET_KEY_HEADER_LEN: usize = 6;

const SEED_LEN: usize = 32;
const VERIFYING_KEY_LEN: usize = 32;
const LEAF_SIGNATURE_LEN: usize = 64;
const LEVEL_LEN: usize = SEED_LEN + 2 * VERIFYING_KEY_LEN;
const SIGNATURE_LEVEL_LEN: usize = 2 * VERIFYING_KEY_LEN;
const FORMAT_VERSION: u8 = 1;
const SEED_LEFT_CONTEXT: &str = "aether kes v1 seed left";
const SEED_RIGHT_CONTEXT: &str = "aether kes v1 seed right";

/// Number of periods a key of `depth` signs for.
pub const fn kes_period_count(depth: u32) -> u32 {
    1 << depth
}

/// Length in bytes of a signature at `depth`.
pub const fn kes_signature_len(depth: u32) -> usize {
    LEAF_SIGNATURE_LEN + SIGNATURE_LEVEL_LEN * depth as usize
}

/// Length in bytes of the secret key material at `depth` (without the file header).
pub const fn kes_secret_key_material_len(depth: u32) -> usize {
    SEED_LEN + LEVEL_LEN * depth as usize
}

/// Length in bytes of [`KesSecretKey::to_bytes`] at `depth`.
pub const fn kes_secret_key_len(depth: u32) -> usize {
    KES_SECRET_KEY_HEADER_LEN + kes_secret_key_material_len(depth)
}

const _: () = assert!(kes_signature_len(6) == 448);
const _: () = assert!(kes_secret_key_material_len(6) == 608);
const _: () = assert!(KES_DEPTH_MAX < u32::BITS && KES_DEPTH_MAX <= u8::MAX as u32);
const _: () = assert!(KES_DEPTH_DEFAULT <= KES_DEPTH_MAX);

/// Why a KES operation, signature or key file was rejected.
#[derive(Debug, Error)]
pub enum KesError {
    /// The depth is above [`KES_DEPTH_MAX`].
    #[error("KES depth {depth} is above the maximum {max}")]
    DepthTooLarge {
        /// The depth asked for.
        depth: u32,
        /// [`KES_DEPTH_MAX`].
        max: u32,
    },
    /// The period is not below the key's period count.
    #[error("KES period {period} is out of range for {period_count} periods")]
    PeriodOutOfRange {
        /// The period asked for.
        period: u32,
        /// `2^depth`.
        period_count: u32,
    },
    /// `evolve` was called in the last period; the key is unchanged.
    #[error("KES key is in its last period {period} and cannot evolve")]
    KeyExpired {
        /// The key's (last) period.
        period: u32,
    },
    /// A signature has the wrong length for its depth.
    #[error("KES signature of depth {depth} must be {expected} bytes, got {actual}")]
    SignatureLength {
        /// The depth the signature was read at.
        depth: u32,
        /// [`kes_signature_len`] of that depth.
        expected: usize,
        /// The length given.
        actual: usize,
    },
    /// A signature was made at another depth than the verifier expects.
    #[error("KES signature has depth {signature_depth}, the verifier expects {depth}")]
    SignatureDepthMismatch {
        /// The signature's depth.
        signature_depth: u32,
        /// The depth given to `verify`.
        depth: u32,
    },
    /// The signature's verification keys at `level` do not hash to the key above them.
    #[error("KES signature's verification keys at level {level} do not match the public key")]
    PublicKeyMismatch {
        /// 1-based level, counted from the leaf.
        level: u32,
    },
    /// The leaf Ed25519 signature does not verify.
    #[error("KES leaf Ed25519 signature rejected: {0}")]
    LeafSignature(#[source] Ed25519Error),
    /// A key file has the wrong length.
    #[error("KES secret key must be {expected} bytes, got {actual}")]
    SecretKeyLength {
        /// The length its header implies (or the header length, if shorter).
        expected: usize,
        /// The length given.
        actual: usize,
    },
    /// A key file has an unknown format version.
    #[error("KES secret key has format version {version}, expected {FORMAT_VERSION}")]
    SecretKeyVersion {
        /// The version byte read.
        version: u8,
    },
    /// A key file's contents do not form one consistent key.
    #[error("KES secret key is inconsistent at level {level}: {reason}")]
    SecretKeyInconsistent {
        /// 1-based level, counted from the leaf (0 is the leaf itself).
        level: u32,
        /// What did not match.
        reason: &'static str,
    },
    /// Key generation could not get randomness.
    #[error(transparent)]
    Random(#[from] RandomError),
}

/// A KES public key: the Ed25519 public key at depth 0, else `BLAKE3(vk_left ‖ vk_right)`
/// of the top level.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct KesPublicKey(pub [u8; 32]);

/// A KES signature: the leaf Ed25519 signature, then `vk_left ‖ vk_right` per level,
/// bottom-up; [`kes_signature_len`]`(depth)` bytes.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct KesSignature {
    depth: u32,
    bytes: Vec<u8>,
}

impl KesSignature {
    /// Reads a signature of `depth`, checking only its length.
    pub fn from_bytes(bytes: &[u8], depth: u32) -> Result<Self, KesError> {
        check_depth(depth)?;
        let expected = kes_signature_len(depth);
        if bytes.len() != expected {
            return Err(KesError::SignatureLength {
                depth,
                expected,
                actual: bytes.len(),
            });
        }
        Ok(Self {
            depth,
            bytes: bytes.to_vec(),
        })
    }

    /// The signature bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The depth of the key that made the signature.
    pub fn depth(&self) -> u32 {
        self.depth
    }
}

/// One level of the tree above the leaf.
#[derive(Zeroize, ZeroizeOnDrop)]
struct KesLevel {
    /// Seed of the right half; all zero once the right half is in use.
    right_seed: [u8; SEED_LEN],
    vk_left: [u8; VERIFYING_KEY_LEN],
    vk_right: [u8; VERIFYING_KEY_LEN],
}

impl KesLevel {
    fn empty() -> Self {
        Self {
            right_seed: [0; SEED_LEN],
            vk_left: [0; VERIFYING_KEY_LEN],
            vk_right: [0; VERIFYING_KEY_LEN],
        }
    }
}

/// A KES secret key at its current period.
///
/// Zeroized on drop; `Debug` prints only depth, period and public key. Not `Clone`: a
/// copy would keep the material that [`evolve`](Self::evolve) erases.
pub struct KesSecretKey {
    depth: u32,
    period: u32,
    /// Ed25519 seed of the current period's leaf.
    leaf_seed: [u8; SEED_LEN],
    /// `levels[i]` is level `i + 1`, counted from the leaf; `depth` entries.
    levels: Vec<KesLevel>,
    public_key: KesPublicKey,
}

impl KesSecretKey {
    /// Generates a fresh key of `depth` at period 0 from the operating system's random
    /// source.
    pub fn generate(depth: u32) -> Result<Self, KesError> {
        let seed = Zeroizing::new(random_bytes::<SEED_LEN>()?);
        Self::from_seed(&seed, depth)
    }

    /// Derives the key of `depth` at period 0 from a 32-byte seed. Takes `2^depth`
    /// Ed25519 key derivations.
    pub fn from_seed(seed: &[u8; 32], depth: u32) -> Result<Self, KesError> {
        check_depth(depth)?;
        let mut levels = Vec::with_capacity(depth as usize);
        levels.resize_with(depth as usize, KesLevel::empty);
        let mut key = Self {
            depth,
            period: 0,
            leaf_seed: [0; SEED_LEN],
            levels,
            public_key: KesPublicKey([0; 32]),
        };
        key.public_key = KesPublicKey(generate_subtree(seed, &mut key.leaf_seed, &mut key.levels));
        Ok(key)
    }

    /// The key's depth.
    pub fn depth(&self) -> u32 {
        self.depth
    }

    /// The current period, in `0..2^depth`.
    pub fn period(&self) -> u32 {
        self.period
    }

    /// The public key (the same at every period).
    pub fn public_key(&self) -> KesPublicKey {
        self.public_key
    }

    /// Signs `message` for the current period.
    pub fn sign(&self, message: &[u8]) -> KesSignature {
        let leaf_key = SigningKey::from_bytes(&self.leaf_seed);
        let mut bytes = Vec::with_capacity(kes_signature_len(self.depth));
        bytes.extend_from_slice(&leaf_key.sign(message).to_bytes());
        for level in &self.levels {
            bytes.extend_from_slice(&level.vk_left);
            bytes.extend_from_slice(&level.vk_right);
        }
        assert_eq!(bytes.len(), kes_signature_len(self.depth));
        KesSignature {
            depth: self.depth,
            bytes,
        }
    }

    /// Moves to the next period, erasing the current leaf seed and the seed of any
    /// subtree left behind. In the last period it returns [`KesError::KeyExpired`] and
    /// leaves the key unchanged (drop it to erase it).
    pub fn evolve(&mut self) -> Result<(), KesError> {
        let next = self.period + 1;
        if next >= kes_period_count(self.depth) {
            return Err(KesError::KeyExpired {
                period: self.period,
            });
        }
        // Levels below the lowest zero bit of the period are in their right halves and
        // roll over; that level moves from its left half to its right half.
        let switching = self.period.trailing_ones() as usize;
        assert!(switching < self.levels.len());
        let right_seed = Zeroizing::new(self.levels[switching].right_seed);
        self.levels[switching].right_seed.zeroize();
        let (below, at_and_above) = self.levels.split_at_mut(switching);
        let right_public_key = generate_subtree(&right_seed, &mut self.leaf_seed, below);
        assert_eq!(
            right_public_key, at_and_above[0].vk_right,
            "right subtree regenerates"
        );
        self.period = next;
        Ok(())
    }

    /// Serialises the key for storage: header (version, depth, period), then the key
    /// material. See the module documentation for the layout.
    pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        let mut bytes = Zeroizing::new(Vec::with_capacity(kes_secret_key_len(self.depth)));
        bytes.push(FORMAT_VERSION);
        bytes.push(self.depth as u8);
        bytes.extend_from_slice(&self.period.to_le_bytes());
        bytes.extend_from_slice(&self.leaf_seed);
        for level in &self.levels {
            bytes.extend_from_slice(&level.right_seed);
            bytes.extend_from_slice(&level.vk_left);
            bytes.extend_from_slice(&level.vk_right);
        }
        assert_eq!(bytes.len(), kes_secret_key_len(self.depth));
        bytes
    }

    /// Reads a key written by [`to_bytes`](Self::to_bytes), checking that it is one
    /// consistent key: erased seeds are zero, unused right seeds rebuild their `vk_right`,
    /// and the leaf hashes up the tree (up to `2^depth` Ed25519 key derivations).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, KesError> {
        let Some((header, material)) = bytes.split_first_chunk::<KES_SECRET_KEY_HEADER_LEN>()
        else {
            return Err(KesError::SecretKeyLength {
                expected: KES_SECRET_KEY_HEADER_LEN,
                actual: bytes.len(),
            });
        };
        let [version, depth, period @ ..] = *header;
        if version != FORMAT_VERSION {
            return Err(KesError::SecretKeyVersion { version });
        }
        let depth = u32::from(depth);
        check_depth(depth)?;
        let expected = kes_secret_key_len(depth);
        if bytes.len() != expected {
            return Err(KesError::SecretKeyLength {
                expected,
                actual: bytes.len(),
            });
        }
        let period = u32::from_le_bytes(period);
        check_period(period, depth)?;

        let mut key = Self {
            depth,
            period,
            leaf_seed: [0; SEED_LEN],
            levels: Vec::with_capacity(depth as usize),
            public_key: KesPublicKey([0; 32]),
        };
        let (leaf_seed, mut rest) = material.split_at(SEED_LEN);
        key.leaf_seed.copy_from_slice(leaf_seed);
        while let Some((level, tail)) = rest.split_first_chunk::<LEVEL_LEN>() {
            let mut parsed = KesLevel::empty();
            parsed.right_seed.copy_from_slice(&level[..SEED_LEN]);
            parsed
                .vk_left
                .copy_from_slice(&level[SEED_LEN..SEED_LEN + VERIFYING_KEY_LEN]);
            parsed
                .vk_right
                .copy_from_slice(&level[SEED_LEN + VERIFYING_KEY_LEN..]);
            key.levels.push(parsed);
            rest = tail;
        }
        assert!(rest.is_empty() && key.levels.len() == depth as usize);
        key.public_key = KesPublicKey(key.check_consistent()?);
        Ok(key)
    }

    /// Checks the invariants of a parsed key and returns its public key.
    fn check_consistent(&self) -> Result<[u8; 32], KesError> {
        let mut current = leaf_public_key(&self.leaf_seed);
        for (index, level) in self.levels.iter().enumerate() {
            let level_number = index as u32 + 1;
            let in_right_half = (self.period >> index) & 1 == 1;
            let inconsistent = |reason| KesError::SecretKeyInconsistent {
                level: level_number,
                reason,
            };
            if in_right_half {
                if level.right_seed != [0; SEED_LEN] {
                    return Err(inconsistent("the used right seed is not erased"));
                }
                if level.vk_right != current {
                    return Err(inconsistent("the current subtree does not match vk_right"));
                }
            } else {
                if level.vk_left != current {
                    return Err(inconsistent("the current subtree does not match vk_left"));
                }
                if subtree_public_key(&level.right_seed, index) != level.vk_right {
                    return Err(inconsistent("the right seed does not match vk_right"));
                }
            }
            current = hash_pair(&level.vk_left, &level.vk_right);
        }
        Ok(current)
    }
}

impl Drop for KesSecretKey {
    fn drop(&mut self) {
        self.leaf_seed.zeroize();
        // Each level zeroizes itself on drop as well; this also clears the vector.
        self.levels.zeroize();
    }
}

impl core::fmt::Debug for KesSecretKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("KesSecretKey")
            .field("depth", &self.depth)
            .field("period", &self.period)
            .field("public_key", &self.public_key)
            .field("secret", &"<redacted>")
            .finish()
    }
}

/// Verifies `signature` on `message` for `period` under `public_key`, for keys of
/// `depth`.
pub fn verify(
    public_key: &KesPublicKey,
    period: u32,
    message: &[u8],
    signature: &KesSignature,
    depth: u32,
) -> Result<(), KesError> {
    check_depth(depth)?;
    if signature.depth != depth {
        return Err(KesError::SignatureDepthMismatch {
            signature_depth: signature.depth,
            depth,
        });
    }
    let expected = kes_signature_len(depth);
    if signature.bytes.len() != expected {
        return Err(KesError::SignatureLength {
            depth,
            expected,
            actual: signature.bytes.len(),
        });
    }
    check_period(period, depth)?;

    let (leaf_signature, levels) = signature.bytes.split_at(LEAF_SIGNATURE_LEN);
    // Walk from the top: each level's pair must hash to the key chosen one level up.
    let mut expected_key = public_key.0;
    for (index, pair) in levels.chunks_exact(SIGNATURE_LEVEL_LEN).enumerate().rev() {
        let (vk_left, vk_right) = pair.split_at(VERIFYING_KEY_LEN);
        if hash_pair(vk_left, vk_right) != expected_key {
            return Err(KesError::PublicKeyMismatch {
                level: index as u32 + 1,
            });
        }
        let chosen = if (period >> index) & 1 == 1 {
            vk_right
        } else {
            vk_left
        };
        expected_key.copy_from_slice(chosen);
    }
    let mut leaf_signature_bytes = [0u8; LEAF_SIGNATURE_LEN];
    leaf_signature_bytes.copy_from_slice(leaf_signature);
    crate::ed25519::verify(
        &Ed25519PublicKey(expected_key),
        message,
        &Ed25519Signature(leaf_signature_bytes),
    )
    .map_err(KesError::LeafSignature)
}

fn check_depth(depth: u32) -> Result<(), KesError> {
    if depth > KES_DEPTH_MAX {
        return Err(KesError::DepthTooLarge {
            depth,
            max: KES_DEPTH_MAX,
        });
    }
    Ok(())
}

fn check_period(period: u32, depth: u32) -> Result<(), KesError> {
    let period_count = kes_period_count(depth);
    if period >= period_count {
        return Err(KesError::PeriodOutOfRange {
            period,
            period_count,
        });
    }
    Ok(())
}

/// Derives the left and right child seeds of `seed`.
fn split_seed(seed: &[u8; SEED_LEN]) -> (Zeroizing<[u8; SEED_LEN]>, Zeroizing<[u8; SEED_LEN]>) {
    (
        Zeroizing::new(blake3::derive_key(SEED_LEFT_CONTEXT, seed)),
        Zeroizing::new(blake3::derive_key(SEED_RIGHT_CONTEXT, seed)),
    )
}

/// `BLAKE3(vk_left ‖ vk_right)`.
fn hash_pair(vk_left: &[u8], vk_right: &[u8]) -> [u8; 32] {
    let mut hasher = blake3::Hasher::new();
    hasher.update(vk_left);
    hasher.update(vk_right);
    *hasher.finalize().as_bytes()
}

fn leaf_public_key(seed: &[u8; SEED_LEN]) -> [u8; 32] {
    SigningKey::from_bytes(seed).verifying_key().to_bytes()
}

/// The public key of the subtree of `depth` grown from `seed` (`2^depth` leaves).
fn subtree_public_key(seed: &[u8; SEED_LEN], depth: usize) -> [u8; 32] {
    if depth == 0 {
        return leaf_public_key(seed);
    }
    let (left, right) = split_seed(seed);
    hash_pair(
        &subtree_public_key(&left, depth - 1),
        &subtree_public_key(&right, depth - 1),
    )
}

/// Writes the period-0 secret of the subtree grown from `seed` into `leaf_seed` and
/// `levels` (its depth is `levels.len()`), in place so no copy of the secrets is left
/// behind, and returns the subtree's public key.
fn generate_subtree(
    seed: &[u8; SEED_LEN],
    leaf_seed: &mut [u8; SEED_LEN],
    levels: &mut [KesLevel],
) -> [u8; 32] {
    let Some((top, below)) = levels.split_last_mut() else {
        leaf_seed.copy_from_slice(seed);
        return leaf_public_key(seed);
    };
    let (left, right) = split_seed(seed);
    top.vk_left = generate_subtree(&left, leaf_seed, below);
    top.vk_right = subtree_public_key(&right, below.len());
    top.right_seed.copy_from_slice(&*right);
    hash_pair(&top.vk_left, &top.vk_right)
}
