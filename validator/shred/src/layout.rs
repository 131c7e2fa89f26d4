//! The wire layout of one shred, its size arithmetic, and its decoder.
//!
//! ```text
//! | header (30) | body | proof (32 × depth) | root (32) | signature (64) |
//! ```
//!
//! Every size follows from the set's shape (`data_count`, `coding_count`, both in the
//! header), so the decoder knows the exact length to expect before reading past the
//! header. See the crate docs for the table and the reasons.

use aether_crypto::ed25519::{Ed25519Signature, SIGNATURE_BYTES};
use aether_types::shred::{
    MAX_SHRED_PAYLOAD_BYTES, SHRED_BYTES_MAX, SHRED_HEADER_BYTES, ShredFlags, ShredHeader,
    ShredKind,
};
use aether_types::{Decode, Hash, Reader};

use crate::error::{ShapeError, ShredDecodeError};
use crate::merkle;

/// Most data shreds in one FEC set.
pub const DATA_SHREDS_PER_SET_MAX: u16 = 64;
/// Most coding shreds in one FEC set.
pub const CODING_SHREDS_PER_SET_MAX: u16 = 64;
/// Most data shreds in one slot (about 28 MiB of block at the default shape).
pub const DATA_SHREDS_PER_SLOT_MAX: u32 = 32_768;
/// Bytes of one Merkle proof entry (a sibling hash) and of the root.
pub const HASH_BYTES: usize = Hash::LEN;
/// Deepest Merkle proof: the tree over the largest set.
pub const PROOF_DEPTH_MAX: u32 =
    proof_depth(DATA_SHREDS_PER_SET_MAX as usize + CODING_SHREDS_PER_SET_MAX as usize);
/// Bytes every shred spends outside its body when its proof has depth 0.
pub const FIXED_OVERHEAD_BYTES: usize = SHRED_HEADER_BYTES + HASH_BYTES + SIGNATURE_BYTES;

const _: () = assert!(PROOF_DEPTH_MAX == 7);
// The shard of the deepest tree still holds a header and a useful payload, and every
// shard size is even (reed-solomon-simd requires it; 32 × depth keeps the parity).
const _: () = assert!(shard_bytes(PROOF_DEPTH_MAX) > 2 * SHRED_HEADER_BYTES);
const _: () = assert!(shard_bytes(0).is_multiple_of(2));
const _: () = assert!(shard_bytes(0) <= MAX_SHRED_PAYLOAD_BYTES);
// The default shape (32 + 32, depth 6): 910-byte shards, 880 bytes of block per data shred.
const _: () = assert!(proof_depth(64) == 6 && shard_bytes(6) == 910);
const _: () = assert!(shard_bytes(6) - SHRED_HEADER_BYTES == 880);
const _: () =
    assert!(DATA_SHREDS_PER_SLOT_MAX as u64 + DATA_SHREDS_PER_SET_MAX as u64 <= u32::MAX as u64);
// The largest block a leader builds fits one slot's data shreds at the default shape.
const _: () =
    assert!(aether_types::block::MAX_BLOCK_BYTES <= DATA_SHREDS_PER_SLOT_MAX as usize * 880);

/// `ceil(log2(leaf_count))`: the depth of the padded Merkle tree over `leaf_count` leaves.
pub const fn proof_depth(leaf_count: usize) -> u32 {
    if leaf_count <= 1 {
        0
    } else {
        usize::BITS - (leaf_count - 1).leading_zeros()
    }
}

/// Bytes of one erasure shard when proofs have `depth` entries: what is left of
/// [`SHRED_BYTES_MAX`] after a coding shred's header, proof, root and signature. A data
/// shred's shard is its header and payload; a coding shred's body is one shard.
pub const fn shard_bytes(depth: u32) -> usize {
    SHRED_BYTES_MAX - FIXED_OVERHEAD_BYTES - HASH_BYTES * depth as usize
}

/// The shape of one FEC set: how many data and coding shreds it has. Every size in a
/// shred follows from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SetShape {
    data_count: u16,
    coding_count: u16,
}

impl SetShape {
    /// The shape with `data_count` data and `coding_count` coding shreds, each in
    /// `1..=` its maximum.
    pub const fn new(data_count: u16, coding_count: u16) -> Result<SetShape, ShapeError> {
        if data_count == 0
            || data_count > DATA_SHREDS_PER_SET_MAX
            || coding_count == 0
            || coding_count > CODING_SHREDS_PER_SET_MAX
        {
            return Err(ShapeError {
                data_count,
                coding_count,
            });
        }
        Ok(SetShape {
            data_count,
            coding_count,
        })
    }

    /// Data shreds in the set.
    pub const fn data_count(self) -> u16 {
        self.data_count
    }

    /// Coding shreds in the set.
    pub const fn coding_count(self) -> u16 {
        self.coding_count
    }

    /// Shreds of `kind` in the set.
    pub const fn count(self, kind: ShredKind) -> u16 {
        match kind {
            ShredKind::Data => self.data_count,
            ShredKind::Coding => self.coding_count,
        }
    }

    /// Leaves of the set's Merkle tree: one per shred.
    pub const fn leaf_count(self) -> usize {
        self.data_count as usize + self.coding_count as usize
    }

    /// Entries in every proof of this set.
    pub const fn proof_depth(self) -> u32 {
        proof_depth(self.leaf_count())
    }

    /// Bytes of one erasure shard.
    pub const fn shard_bytes(self) -> usize {
        shard_bytes(self.proof_depth())
    }

    /// Block bytes one data shred can carry.
    pub const fn data_capacity(self) -> usize {
        self.shard_bytes() - SHRED_HEADER_BYTES
    }

    /// Bytes of a shred's body (the part after the header that the Merkle leaf covers).
    pub const fn body_bytes(self, kind: ShredKind) -> usize {
        match kind {
            ShredKind::Data => self.data_capacity(),
            ShredKind::Coding => self.shard_bytes(),
        }
    }

    /// Whole encoded size of a shred of `kind`.
    pub const fn shred_bytes(self, kind: ShredKind) -> usize {
        FIXED_OVERHEAD_BYTES + self.body_bytes(kind) + HASH_BYTES * self.proof_depth() as usize
    }

    /// The Merkle leaf index of the shred of `kind` at `position`: data shreds first,
    /// then coding shreds.
    pub const fn leaf_index(self, kind: ShredKind, position: u16) -> usize {
        match kind {
            ShredKind::Data => position as usize,
            ShredKind::Coding => self.data_count as usize + position as usize,
        }
    }
}

/// One decoded shred: its header and its encoded bytes (kept whole, so retransmitting
/// and storing cost no re-encoding). Built only by [`Shred::decode`] or the shredder, so
/// every `Shred` is well-formed; whether it is authentic is the verifier's question.
#[derive(Clone, PartialEq, Eq)]
pub struct Shred {
    header: ShredHeader,
    shape: SetShape,
    bytes: Vec<u8>,
}

impl std::fmt::Debug for Shred {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Shred")
            .field("header", &self.header)
            .field("len", &self.bytes.len())
            .finish()
    }
}

impl Shred {
    /// Decodes one shred that spans all of `bytes`, checking every structural rule of the
    /// format (crate docs, "Decoding rules"). Never panics; allocates once, after the
    /// length is known to be right.
    pub fn decode(bytes: &[u8]) -> Result<Shred, ShredDecodeError> {
        if bytes.len() > SHRED_BYTES_MAX {
            return Err(ShredDecodeError::TooLong {
                length: bytes.len(),
                max: SHRED_BYTES_MAX,
            });
        }
        let header = ShredHeader::decode_from(&mut Reader::new(bytes))?;
        let shape = check_header(&header)?;
        let expected = shape.shred_bytes(header.kind);
        if bytes.len() != expected {
            return Err(ShredDecodeError::WrongLength {
                kind: header.kind,
                expected,
                actual: bytes.len(),
            });
        }
        if header.kind == ShredKind::Data {
            check_padding(
                &header,
                &bytes[..SHRED_HEADER_BYTES + shape.data_capacity()],
            )?;
        }
        Ok(Shred {
            header,
            shape,
            bytes: bytes.to_vec(),
        })
    }

    /// Wraps bytes the shredder or the assembler built; their structure is re-checked
    /// (cheap, no hashing), so a bug there fails loudly rather than emitting bad shreds.
    pub(crate) fn from_trusted_bytes(bytes: Vec<u8>) -> Shred {
        let header =
            ShredHeader::decode_from(&mut Reader::new(&bytes)).expect("built shred header decodes");
        let shape = check_header(&header).expect("built shred header is valid");
        assert_eq!(bytes.len(), shape.shred_bytes(header.kind));
        Shred {
            header,
            shape,
            bytes,
        }
    }

    /// The header.
    pub fn header(&self) -> &ShredHeader {
        &self.header
    }

    /// The set's shape (from the header's counts).
    pub fn shape(&self) -> SetShape {
        self.shape
    }

    /// The whole encoded shred, as sent on the wire.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The encoded bytes, by value.
    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }

    /// The block bytes a data shred carries (`payload_size` of them); empty for coding.
    pub fn data(&self) -> &[u8] {
        match self.header.kind {
            ShredKind::Data => {
                &self.bytes[SHRED_HEADER_BYTES..][..usize::from(self.header.payload_size)]
            }
            ShredKind::Coding => &[],
        }
    }

    /// The bytes the Merkle leaf hashes: header and body.
    pub fn leaf_bytes(&self) -> &[u8] {
        &self.bytes[..self.proof_offset()]
    }

    /// This shred's erasure shard: a data shred's header and payload, or a coding shred's
    /// body (parity).
    pub fn erasure_shard(&self) -> &[u8] {
        match self.header.kind {
            ShredKind::Data => &self.bytes[..self.shape.shard_bytes()],
            ShredKind::Coding => &self.bytes[SHRED_HEADER_BYTES..self.proof_offset()],
        }
    }

    /// The Merkle proof: sibling hashes from the leaf's level up.
    pub fn proof(&self) -> impl ExactSizeIterator<Item = Hash> + '_ {
        self.bytes[self.proof_offset()..self.root_offset()]
            .chunks_exact(HASH_BYTES)
            .map(|chunk| Hash(chunk.try_into().expect("chunk is 32 bytes")))
    }

    /// The set's Merkle root as this shred claims it.
    pub fn merkle_root(&self) -> Hash {
        let offset = self.root_offset();
        Hash(
            self.bytes[offset..offset + HASH_BYTES]
                .try_into()
                .expect("root is 32 bytes"),
        )
    }

    /// The leader's signature over the set's root.
    pub fn signature(&self) -> Ed25519Signature {
        let offset = self.root_offset() + HASH_BYTES;
        Ed25519Signature(
            self.bytes[offset..]
                .try_into()
                .expect("signature is 64 bytes"),
        )
    }

    /// This shred's leaf index in its set's Merkle tree.
    pub fn leaf_index(&self) -> usize {
        self.shape
            .leaf_index(self.header.kind, self.header.position_in_set)
    }

    /// The root that this shred's leaf and proof hash to (equal to
    /// [`merkle_root`](Self::merkle_root) for an intact shred).
    pub fn computed_root(&self) -> Hash {
        merkle::root_from_proof(
            merkle::leaf_hash(self.leaf_bytes()),
            self.leaf_index(),
            self.proof(),
        )
    }

    fn proof_offset(&self) -> usize {
        SHRED_HEADER_BYTES + self.shape.body_bytes(self.header.kind)
    }

    fn root_offset(&self) -> usize {
        self.proof_offset() + HASH_BYTES * self.shape.proof_depth() as usize
    }
}

/// Checks the header rules that do not need the body; returns the set's shape.
pub(crate) fn check_header(header: &ShredHeader) -> Result<SetShape, ShredDecodeError> {
    let shape = SetShape::new(header.data_count, header.coding_count)?;
    let position = header.position_in_set;
    let count = shape.count(header.kind);
    if position >= count {
        return Err(ShredDecodeError::PositionOutOfRange {
            kind: header.kind,
            position,
            count,
        });
    }
    match header.kind {
        ShredKind::Data => {
            let index_mismatch = ShredDecodeError::DataIndexMismatch {
                index: header.index,
                fec_set_index: header.fec_set_index,
                position,
            };
            // The set's last data index must fit in u32 too.
            let set_end = header
                .fec_set_index
                .checked_add(u32::from(header.data_count));
            let expected = header.fec_set_index.checked_add(u32::from(position));
            if set_end.is_none() || expected != Some(header.index) {
                return Err(index_mismatch);
            }
            if usize::from(header.payload_size) > shape.data_capacity() {
                return Err(ShredDecodeError::PayloadTooLarge {
                    payload_size: header.payload_size,
                    capacity: shape.data_capacity(),
                });
            }
            if header.flags.contains(ShredFlags::LAST_IN_SLOT) && position != header.data_count - 1
            {
                return Err(ShredDecodeError::LastInSlotNotLastInSet {
                    position,
                    data_count: header.data_count,
                });
            }
        }
        ShredKind::Coding => {
            if header.index < u32::from(position) {
                return Err(ShredDecodeError::CodingIndexBelowPosition {
                    index: header.index,
                    position,
                });
            }
            if usize::from(header.payload_size) != shape.shard_bytes() {
                return Err(ShredDecodeError::CodingPayloadSize {
                    payload_size: header.payload_size,
                    expected: shape.shard_bytes(),
                });
            }
            if header.flags != ShredFlags::NONE {
                return Err(ShredDecodeError::CodingFlags {
                    bits: header.flags.bits(),
                });
            }
        }
    }
    Ok(shape)
}

/// Checks that a data shard (header and payload region) is zero after the payload.
pub(crate) fn check_padding(
    header: &ShredHeader,
    data_shard: &[u8],
) -> Result<(), ShredDecodeError> {
    let padding_start = SHRED_HEADER_BYTES + usize::from(header.payload_size);
    match data_shard[padding_start..]
        .iter()
        .position(|&byte| byte != 0)
    {
        Some(offset) => Err(ShredDecodeError::NonZeroPadding {
            offset: padding_start + offset,
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_and_sizes() {
        for (leaves, depth) in [
            (1, 0),
            (2, 1),
            (3, 2),
            (4, 2),
            (5, 3),
            (33, 6),
            (64, 6),
            (65, 7),
        ] {
            assert_eq!(proof_depth(leaves), depth, "{leaves} leaves");
        }
        let default = SetShape::new(32, 32).unwrap();
        assert_eq!(default.shred_bytes(ShredKind::Coding), SHRED_BYTES_MAX);
        assert_eq!(default.shred_bytes(ShredKind::Data), SHRED_BYTES_MAX - 30);
        assert_eq!(default.data_capacity(), 880);
        for data in 1..=DATA_SHREDS_PER_SET_MAX {
            for coding in 1..=CODING_SHREDS_PER_SET_MAX {
                let shape = SetShape::new(data, coding).unwrap();
                assert_eq!(shape.shred_bytes(ShredKind::Coding), SHRED_BYTES_MAX);
                assert!(shape.shard_bytes().is_multiple_of(2));
            }
        }
    }

    #[test]
    fn shape_bounds() {
        assert!(SetShape::new(0, 1).is_err());
        assert!(SetShape::new(1, 0).is_err());
        assert!(SetShape::new(65, 1).is_err());
        assert!(SetShape::new(1, 65).is_err());
        assert!(SetShape::new(64, 64).is_ok());
    }
}
