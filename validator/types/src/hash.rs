//! 32-byte BLAKE3 hashes and domain-separated hashing.
//!
//! Two hashing modes are used, and each use names its mode:
//!
//! - **Plain** `BLAKE3(bytes)` ([`Hash::digest`]) where a contract fixes it: the transaction
//!   id (BLAKE3 of the encoded body), the block hash (BLAKE3 of the encoded unsigned
//!   header) and a public-key hash (BLAKE3 of the 32-byte Ed25519 key).
//! - **Domain-separated** ([`Hash::digest_with_domain`]): BLAKE3's own key-derivation mode
//!   (`blake3::Hasher::new_derive_key(context)`) with one [`Domain`]'s context string. The
//!   context is hashed into the chaining key, so outputs of different domains, and of
//!   plain BLAKE3, are unrelated even for identical input bytes. Every context string is
//!   listed in [`Domain::context`], so a new use cannot silently reuse an old domain.
//!   The context's hash (BLAKE3's "context key") is computed once per domain, not per
//!   call: it is one more compression than the input itself for every output key and
//!   transactions-tree node, several times per transaction on the hot path.

use core::fmt;
use core::str::FromStr;
use std::sync::LazyLock;

use blake3::hazmat::{ContextKey, HasherExt, hash_derive_key_context};

use crate::codec::{Decode, DecodeError, Encode, Reader};

/// A 32-byte BLAKE3 output (also used as a 32-byte state key).
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub struct Hash(pub [u8; 32]);

impl Ord for Hash {
    /// Byte-lexicographic order, as the derived order on `[u8; 32]` is, compared as four
    /// big-endian 8-byte words: every block sorts its state keys (for the state tree
    /// and for storage), and the derived order calls `memcmp` for each comparison. Keys
    /// are BLAKE3 outputs, so the first words almost always differ and one comparison
    /// of two registers decides.
    #[inline]
    fn cmp(&self, other: &Self) -> core::cmp::Ordering {
        let word = |hash: &Hash, index: usize| {
            u64::from_be_bytes(
                hash.0[8 * index..8 * index + 8]
                    .try_into()
                    .expect("8-byte word"),
            )
        };
        (0..4)
            .map(|index| word(self, index).cmp(&word(other, index)))
            .find(|ordering| ordering.is_ne())
            .unwrap_or(core::cmp::Ordering::Equal)
    }
}

impl PartialOrd for Hash {
    #[inline]
    fn partial_cmp(&self, other: &Self) -> Option<core::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl core::hash::Hash for Hash {
    /// Feeds the hasher one word, the XOR of the value's four 8-byte words, instead of
    /// a length and 32 bytes. Hashes key every hot map (state keys, transaction ids,
    /// addresses), and the 32-byte path of SipHash or foldhash cost more than the rest of
    /// a lookup. The maps' hashers stay randomly seeded, and the values are BLAKE3
    /// outputs, so nobody can steer many keys into one bucket; two values that differ
    /// in a single byte (as hand-made test keys do) never fold to the same word.
    fn hash<H: core::hash::Hasher>(&self, state: &mut H) {
        state.write_u64(self.folded_word());
    }
}

/// Every use of domain-separated hashing; each has its own BLAKE3 context string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(usize)]
pub enum Domain {
    /// The state key of an output: `tx_id ‖ index (u16 LE)`.
    OutputKey,
    /// A leaf of the transactions Merkle tree: one transaction id.
    MerkleLeaf,
    /// An inner node of the transactions Merkle tree: `left ‖ right`.
    MerkleNode,
}

impl Domain {
    /// The BLAKE3 `derive_key` context string (format: application, date, purpose).
    pub const fn context(self) -> &'static str {
        match self {
            Domain::OutputKey => "aether 2026-01-01 output reference key",
            Domain::MerkleLeaf => "aether 2026-01-01 transactions merkle leaf",
            Domain::MerkleNode => "aether 2026-01-01 transactions merkle node",
        }
    }

    /// Every domain, in declaration order (the index of each is `domain as usize`).
    pub const ALL: [Domain; 3] = [Domain::OutputKey, Domain::MerkleLeaf, Domain::MerkleNode];

    /// BLAKE3's hash of [`Domain::context`], computed once.
    fn context_key(self) -> &'static ContextKey {
        static CONTEXT_KEYS: LazyLock<[ContextKey; 3]> =
            LazyLock::new(|| Domain::ALL.map(|domain| hash_derive_key_context(domain.context())));
        &CONTEXT_KEYS[self as usize]
    }
}

impl Hash {
    /// Encoded and in-memory size.
    pub const LEN: usize = 32;

    /// All zero bytes (the root of an empty Merkle tree).
    pub const ZERO: Hash = Hash([0; 32]);

    /// The XOR of the four little-endian 8-byte words (what [`core::hash::Hash`] feeds).
    fn folded_word(&self) -> u64 {
        self.0
            .chunks_exact(8)
            .map(|word| u64::from_le_bytes(word.try_into().expect("8-byte chunk")))
            .fold(0, |folded, word| folded ^ word)
    }

    /// Plain `BLAKE3(bytes)`.
    pub fn digest(bytes: &[u8]) -> Hash {
        Hash(*blake3::hash(bytes).as_bytes())
    }

    /// `BLAKE3` in key-derivation mode with `domain`'s context string, over the
    /// concatenation of `parts`.
    pub fn digest_with_domain(domain: Domain, parts: &[&[u8]]) -> Hash {
        let mut hasher = blake3::Hasher::new_from_context_key(domain.context_key());
        for part in parts {
            hasher.update(part);
        }
        Hash(*hasher.finalize().as_bytes())
    }

    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Display for Hash {
    /// Lowercase hex, 64 characters, written in one piece: RPC formats every id of a
    /// block (tens of thousands per `getBlock`), and a formatter call per byte cost
    /// more than the rest of the response.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut text = [0u8; 2 * Hash::LEN];
        for (pair, byte) in text.chunks_exact_mut(2).zip(self.0) {
            pair[0] = DIGITS[usize::from(byte >> 4)];
            pair[1] = DIGITS[usize::from(byte & 0x0f)];
        }
        f.write_str(core::str::from_utf8(&text).expect("hex digits are ASCII"))
    }
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash({self})")
    }
}

/// Why a string is not a hash.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseHashError {
    /// Not exactly 64 characters.
    #[error("a hash is 64 hex characters, got {length}")]
    WrongLength {
        /// Characters given.
        length: usize,
    },
    /// A character that is not a hex digit.
    #[error("not a hex digit at position {position}")]
    NotHex {
        /// Where the bad character is.
        position: usize,
    },
}

impl FromStr for Hash {
    type Err = ParseHashError;

    /// Parses 64 hex digits (either case).
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.as_bytes();
        if text.len() != 64 {
            return Err(ParseHashError::WrongLength { length: text.len() });
        }
        let nibble = |position: usize| -> Result<u8, ParseHashError> {
            match text[position] {
                digit @ b'0'..=b'9' => Ok(digit - b'0'),
                letter @ b'a'..=b'f' => Ok(letter - b'a' + 10),
                letter @ b'A'..=b'F' => Ok(letter - b'A' + 10),
                _ => Err(ParseHashError::NotHex { position }),
            }
        };
        let mut bytes = [0u8; 32];
        for (index, byte) in bytes.iter_mut().enumerate() {
            *byte = nibble(2 * index)? << 4 | nibble(2 * index + 1)?;
        }
        Ok(Hash(bytes))
    }
}

impl Encode for Hash {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.0);
    }
    fn encoded_len(&self) -> usize {
        Self::LEN
    }
}

impl Decode for Hash {
    const MIN_ENCODED_LEN: usize = Self::LEN;
    fn decode_from(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Hash(reader.read_array()?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The order is the bytes' lexicographic order, for hashes that differ anywhere
        /// (often only late in the array, as hand-made test keys do) or not at all.
        #[test]
        fn order_is_byte_order(
            left in proptest::array::uniform32(any::<u8>()),
            right in proptest::array::uniform32(any::<u8>()),
            shared_prefix in 0..=32usize,
        ) {
            let mut right = right;
            right[..shared_prefix].copy_from_slice(&left[..shared_prefix]);
            prop_assert_eq!(Hash(left).cmp(&Hash(right)), left.cmp(&right));
            prop_assert_eq!(Hash(right).cmp(&Hash(left)), right.cmp(&left));
            prop_assert_eq!(Hash(left).partial_cmp(&Hash(right)), Some(left.cmp(&right)));
            prop_assert_eq!(Hash(left).cmp(&Hash(left)), core::cmp::Ordering::Equal);
        }

        /// The word a hasher is fed is the XOR of the four words, and changing any one
        /// byte changes it, so keys that differ in one byte never share every bucket.
        #[test]
        fn folded_word_changes_with_any_single_byte(
            bytes in proptest::array::uniform32(any::<u8>()),
            position in 0..32usize,
            flip in 1..=255u8,
        ) {
            let hash = Hash(bytes);
            let mut changed = bytes;
            changed[position] ^= flip;
            prop_assert_ne!(hash.folded_word(), Hash(changed).folded_word());
            let word = |index: usize| u64::from_le_bytes(bytes[8 * index..8 * index + 8].try_into().unwrap());
            prop_assert_eq!(hash.folded_word(), word(0) ^ word(1) ^ word(2) ^ word(3));
        }

        /// Display is each byte as two lowercase hex digits, and parses back.
        #[test]
        fn display_is_lowercase_hex_per_byte(bytes in proptest::array::uniform32(any::<u8>())) {
            let hash = Hash(bytes);
            let reference: String = bytes.iter().map(|byte| format!("{byte:02x}")).collect();
            prop_assert_eq!(hash.to_string(), reference);
            prop_assert_eq!(hash.to_string().parse::<Hash>(), Ok(hash));
        }
    }

    #[test]
    fn domain_digest_is_blake3_key_derivation_with_the_context() {
        for (index, domain) in Domain::ALL.into_iter().enumerate() {
            assert_eq!(domain as usize, index);
            for input in [&b""[..], b"x", &[7u8; 34], &[9u8; 1500]] {
                let mut reference = blake3::Hasher::new_derive_key(domain.context());
                reference.update(&input[..input.len() / 2]);
                reference.update(&input[input.len() / 2..]);
                assert_eq!(
                    Hash::digest_with_domain(
                        domain,
                        &[&input[..input.len() / 2], &input[input.len() / 2..]]
                    ),
                    Hash(*reference.finalize().as_bytes())
                );
            }
        }
    }

    #[test]
    fn plain_digest_is_blake3() {
        // BLAKE3("") from the reference implementation's test vectors.
        assert_eq!(
            Hash::digest(b"").to_string(),
            "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262"
        );
    }

    #[test]
    fn domains_separate_outputs() {
        let bytes: &[u8] = b"same bytes";
        let plain = Hash::digest(bytes);
        let all = [Domain::OutputKey, Domain::MerkleLeaf, Domain::MerkleNode];
        let hashes: Vec<Hash> = all
            .iter()
            .map(|d| Hash::digest_with_domain(*d, &[bytes]))
            .collect();
        for (index, hash) in hashes.iter().enumerate() {
            assert_ne!(*hash, plain);
            assert!(hashes[index + 1..].iter().all(|other| other != hash));
        }
        // Parts are concatenated.
        assert_eq!(
            Hash::digest_with_domain(Domain::MerkleNode, &[b"same ", b"bytes"]),
            hashes[2]
        );
    }

    #[test]
    fn hex_round_trips() {
        let hash = Hash::digest(b"x");
        assert_eq!(hash.to_string().parse::<Hash>(), Ok(hash));
        assert_eq!(hash.to_string().to_uppercase().parse::<Hash>(), Ok(hash));
        assert_eq!(
            "ab".parse::<Hash>(),
            Err(ParseHashError::WrongLength { length: 2 })
        );
        let bad = format!("{}g", &hash.to_string()[..63]);
        assert_eq!(
            bad.parse::<Hash>(),
            Err(ParseHashError::NotHex { position: 63 })
        );
    }
}
