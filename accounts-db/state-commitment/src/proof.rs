//! Inclusion and non-inclusion proofs: the path from the root to where a key's leaf is or
//! would be, their binary encoding, and the verifier.

use aether_types::Hash;
use aether_types::codec::{Decode, DecodeError, Encode, Reader};

use crate::error::ProofError;
use crate::hashing::{
    EMPTY_HASH, KEY_BITS, common_prefix_bits, key_bit, leaf_hash, node_hash, value_hash,
};

/// Version byte at the start of an encoded [`Proof`].
pub const PROOF_VERSION: u8 = 1;

const TERMINAL_EMPTY: u8 = 0;
const TERMINAL_LEAF: u8 = 1;
const BITMAP_BYTES: usize = KEY_BITS / 8;

/// What the proven key's path ends at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Terminal {
    /// An empty subtree: the key is absent.
    Empty,
    /// A leaf: the key itself (inclusion) or another key sharing the path (non-inclusion).
    Leaf {
        /// The leaf's key.
        key: Hash,
        /// The leaf's value hash.
        value_hash: Hash,
    },
}

/// The sibling hashes along a key's path, root side first, and what the path ends at.
///
/// The path is `depth()` levels long (0 to 256); sibling `i` is the hash of the subtree
/// beside the path at depth `i + 1`. Empty siblings are kept as a bitmap, not as hashes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proof {
    depth: u16,
    /// Bit `i` (byte `i / 8`, mask `0x80 >> (i % 8)`) is set when sibling `i` is non-empty.
    present: [u8; BITMAP_BYTES],
    /// The non-empty siblings, root side first.
    siblings: Vec<Hash>,
    terminal: Terminal,
}

impl Proof {
    /// A proof from all sibling hashes along the path (root side first; [`EMPTY_HASH`]
    /// for an empty sibling) and the terminal. At most 256 siblings.
    pub fn new(all_siblings: Vec<Hash>, terminal: Terminal) -> Result<Proof, ProofError> {
        if all_siblings.len() > KEY_BITS {
            return Err(ProofError::TooDeep {
                depth: all_siblings.len(),
            });
        }
        let mut present = [0u8; BITMAP_BYTES];
        let mut siblings = all_siblings;
        let depth = siblings.len() as u16;
        for (index, sibling) in siblings.iter().enumerate() {
            if *sibling != EMPTY_HASH {
                present[index / 8] |= 0x80 >> (index % 8);
            }
        }
        siblings.retain(|sibling| *sibling != EMPTY_HASH);
        Ok(Proof {
            depth,
            present,
            siblings,
            terminal,
        })
    }

    /// Path length: the depth of the terminal.
    pub fn depth(&self) -> usize {
        usize::from(self.depth)
    }

    /// What the path ends at.
    pub fn terminal(&self) -> &Terminal {
        &self.terminal
    }

    /// All `depth()` sibling hashes, root side first, [`EMPTY_HASH`] for empty ones.
    pub fn siblings(&self) -> impl Iterator<Item = Hash> + '_ {
        let mut present = self.siblings.iter();
        (0..self.depth()).map(move |index| {
            if self.is_present(index) {
                *present
                    .next()
                    .expect("bitmap popcount equals the sibling count")
            } else {
                EMPTY_HASH
            }
        })
    }

    fn is_present(&self, index: usize) -> bool {
        self.present[index / 8] & (0x80 >> (index % 8)) != 0
    }
}

/// Checks `proof` for `key` against `root`: with `Some(value)` that the key is present
/// with that value, with `None` that the key is absent.
pub fn verify_proof(
    root: &Hash,
    key: &Hash,
    value: Option<&[u8]>,
    proof: &Proof,
) -> Result<(), ProofError> {
    verify_proof_hashed(root, key, value.map(value_hash).as_ref(), proof)
}

/// [`verify_proof`] with the value already hashed by [`value_hash`].
pub fn verify_proof_hashed(
    root: &Hash,
    key: &Hash,
    claimed_value_hash: Option<&Hash>,
    proof: &Proof,
) -> Result<(), ProofError> {
    let depth = proof.depth();
    let mut hash = match (proof.terminal, claimed_value_hash) {
        (Terminal::Empty, None) => EMPTY_HASH,
        (Terminal::Empty, Some(_)) => return Err(ProofError::KeyAbsent),
        (
            Terminal::Leaf {
                key: leaf_key,
                value_hash,
            },
            claimed,
        ) => {
            // A leaf at depth d sits where every key with its first d bits would be.
            if common_prefix_bits(&leaf_key, key) < depth {
                return Err(ProofError::LeafOffPath { depth });
            }
            match claimed {
                Some(_) if leaf_key != *key => return Err(ProofError::KeyAbsent),
                Some(claimed) if *claimed != value_hash => {
                    return Err(ProofError::ValueMismatch {
                        proven: value_hash,
                        claimed: *claimed,
                    });
                }
                None if leaf_key == *key => return Err(ProofError::KeyPresent),
                _ => {}
            }
            leaf_hash(&leaf_key, &value_hash)
        }
    };
    let siblings: Vec<Hash> = proof.siblings().collect();
    for index in (0..depth).rev() {
        let sibling = &siblings[index];
        hash = if key_bit(key, index) {
            node_hash(sibling, &hash)
        } else {
            node_hash(&hash, sibling)
        };
    }
    if hash != *root {
        return Err(ProofError::RootMismatch {
            expected: *root,
            computed: hash,
        });
    }
    Ok(())
}

/// Encoding: `version u8 (=1) ‖ depth u16 LE (≤ 256) ‖ bitmap (⌈depth/8⌉ bytes, padding
/// bits zero) ‖ the non-empty siblings (32 bytes each, as many as bitmap bits set) ‖
/// terminal tag u8 (0 empty, 1 leaf) ‖ for a leaf: key (32) ‖ value hash (32)`.
impl Encode for Proof {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.push(PROOF_VERSION);
        self.depth.encode_to(out);
        out.extend_from_slice(&self.present[..self.depth().div_ceil(8)]);
        for sibling in &self.siblings {
            sibling.encode_to(out);
        }
        match &self.terminal {
            Terminal::Empty => out.push(TERMINAL_EMPTY),
            Terminal::Leaf { key, value_hash } => {
                out.push(TERMINAL_LEAF);
                key.encode_to(out);
                value_hash.encode_to(out);
            }
        }
    }
}

impl Decode for Proof {
    const MIN_ENCODED_LEN: usize = 4;

    fn decode_from(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let version = reader.read_u8()?;
        if version != PROOF_VERSION {
            return Err(DecodeError::UnsupportedVersion {
                what: "state proof",
                version,
            });
        }
        let depth = reader.read_u16()?;
        if usize::from(depth) > KEY_BITS {
            return Err(DecodeError::OutOfRange {
                field: "state proof depth",
                value: u64::from(depth),
                max: KEY_BITS as u64,
            });
        }
        let bitmap_offset = reader.offset();
        let bitmap_len = usize::from(depth).div_ceil(8);
        let mut present = [0u8; BITMAP_BYTES];
        present[..bitmap_len].copy_from_slice(reader.read_bytes(bitmap_len)?);
        if depth % 8 != 0 && present[bitmap_len - 1] & (0xff >> (depth % 8)) != 0 {
            return Err(DecodeError::NonCanonical {
                offset: bitmap_offset,
                what: "state proof bitmap padding",
            });
        }
        let count: usize = present.iter().map(|byte| byte.count_ones() as usize).sum();
        // At most 256 siblings, and read_bytes checks they are all there before we copy.
        let siblings_offset = reader.offset();
        let sibling_bytes = reader.read_bytes(count * Hash::LEN)?;
        let siblings: Vec<Hash> = sibling_bytes
            .chunks_exact(Hash::LEN)
            .map(|chunk| Hash(chunk.try_into().expect("chunks are 32 bytes")))
            .collect();
        if let Some(index) = siblings.iter().position(|sibling| *sibling == EMPTY_HASH) {
            // An empty sibling is a clear bitmap bit; as a listed hash it is a second encoding.
            return Err(DecodeError::NonCanonical {
                offset: siblings_offset + index * Hash::LEN,
                what: "state proof sibling (empty listed as a hash)",
            });
        }
        let tag_offset = reader.offset();
        let terminal = match reader.read_u8()? {
            TERMINAL_EMPTY => Terminal::Empty,
            TERMINAL_LEAF => Terminal::Leaf {
                key: Hash::decode_from(reader)?,
                value_hash: Hash::decode_from(reader)?,
            },
            tag => {
                return Err(DecodeError::UnknownTag {
                    offset: tag_offset,
                    what: "state proof terminal",
                    tag,
                });
            }
        };
        Ok(Proof {
            depth,
            present,
            siblings,
            terminal,
        })
    }
}

#[cfg(test)]
mod tests {
    use aether_types::codec::{decode_exact, encode};

    use super::*;

    fn sample() -> Proof {
        let mut siblings = vec![EMPTY_HASH; 11];
        siblings[0] = Hash([1; 32]);
        siblings[9] = Hash([2; 32]);
        Proof::new(
            siblings,
            Terminal::Leaf {
                key: Hash([3; 32]),
                value_hash: Hash([4; 32]),
            },
        )
        .unwrap()
    }

    #[test]
    fn encoding_layout_is_as_documented() {
        let bytes = encode(&sample());
        assert_eq!(bytes[0], PROOF_VERSION);
        assert_eq!(&bytes[1..3], &[11, 0]);
        assert_eq!(&bytes[3..5], &[0b1000_0000, 0b0100_0000]);
        assert_eq!(&bytes[5..37], &[1; 32]);
        assert_eq!(&bytes[37..69], &[2; 32]);
        assert_eq!(bytes[69], TERMINAL_LEAF);
        assert_eq!(bytes.len(), 70 + 64);
        assert_eq!(decode_exact::<Proof>(&bytes), Ok(sample()));
    }

    #[test]
    fn siblings_expand_the_bitmap() {
        let siblings: Vec<Hash> = sample().siblings().collect();
        assert_eq!(siblings.len(), 11);
        assert_eq!(siblings[0], Hash([1; 32]));
        assert_eq!(siblings[9], Hash([2; 32]));
        assert!(
            siblings
                .iter()
                .enumerate()
                .all(|(index, sibling)| { index == 0 || index == 9 || *sibling == EMPTY_HASH })
        );
    }

    #[test]
    fn decode_rejects_non_canonical_and_malformed_input() {
        let good = encode(&sample());
        let mut padding = good.clone();
        padding[4] |= 0x01;
        assert!(matches!(
            decode_exact::<Proof>(&padding),
            Err(DecodeError::NonCanonical { offset: 3, .. })
        ));
        let mut version = good.clone();
        version[0] = 2;
        assert!(matches!(
            decode_exact::<Proof>(&version),
            Err(DecodeError::UnsupportedVersion { version: 2, .. })
        ));
        let mut depth = good.clone();
        depth[1..3].copy_from_slice(&257u16.to_le_bytes());
        assert!(matches!(
            decode_exact::<Proof>(&depth),
            Err(DecodeError::OutOfRange { value: 257, .. })
        ));
        let mut tag = good.clone();
        tag[69] = 7;
        assert!(matches!(
            decode_exact::<Proof>(&tag),
            Err(DecodeError::UnknownTag { tag: 7, .. })
        ));
        let mut zero_sibling = good.clone();
        zero_sibling[37..69].fill(0);
        assert!(matches!(
            decode_exact::<Proof>(&zero_sibling),
            Err(DecodeError::NonCanonical { offset: 37, .. })
        ));
        let mut trailing = good.clone();
        trailing.push(0);
        assert_eq!(
            decode_exact::<Proof>(&trailing),
            Err(DecodeError::TrailingBytes { count: 1 })
        );
        for cut in 0..good.len() {
            assert!(
                decode_exact::<Proof>(&good[..cut]).is_err(),
                "prefix of {cut}"
            );
        }
    }

    #[test]
    fn new_rejects_paths_deeper_than_the_key() {
        assert_eq!(
            Proof::new(vec![EMPTY_HASH; 257], Terminal::Empty),
            Err(ProofError::TooDeep { depth: 257 })
        );
        assert!(Proof::new(vec![EMPTY_HASH; 256], Terminal::Empty).is_ok());
    }
}
