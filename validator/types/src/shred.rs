//! The fixed-size header at the front of every shred.
//!
//! A shred is one packet-sized piece of a block. Sizes follow Solana's: a whole shred
//! (header, payload, and whatever proof the shred format adds) is at most
//! [`SHRED_BYTES_MAX`] = 1228 bytes, so a repair response (a shred plus a 4-byte nonce)
//! still fits one [`PACKET_DATA_BYTES`] = 1232-byte UDP payload. A 1228-byte payload
//! *plus* a header would not fit a packet, so the 1228 bound applies to the whole shred
//! and the payload gets what the header leaves. The Merkle proof and the signature over
//! the FEC set's root belong to the shred format (net crate) and come out of the payload.

use crate::codec::{Decode, DecodeError, Encode, Reader};
use crate::transaction::PACKET_DATA_BYTES;

/// Most bytes in one shred, header included.
pub const SHRED_BYTES_MAX: usize = 1228;
/// Bytes of the repair nonce that follows a shred in a repair response.
pub const REPAIR_NONCE_BYTES: usize = 4;
/// Encoded size of a [`ShredHeader`].
pub const SHRED_HEADER_BYTES: usize = 8 + 2 + 4 + 4 + 1 + 2 + 2 + 2 + 2 + 1 + 2;
/// Most bytes after the header in one shred (the bound on `payload_size`).
pub const MAX_SHRED_PAYLOAD_BYTES: usize = SHRED_BYTES_MAX - SHRED_HEADER_BYTES;

const _: () = assert!(SHRED_HEADER_BYTES == 30);
const _: () = assert!(SHRED_HEADER_BYTES + MAX_SHRED_PAYLOAD_BYTES <= SHRED_BYTES_MAX);
const _: () = assert!(SHRED_BYTES_MAX + REPAIR_NONCE_BYTES <= PACKET_DATA_BYTES);
const _: () = assert!(MAX_SHRED_PAYLOAD_BYTES <= u16::MAX as usize);

/// What a slot's assembler holds about one FEC set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FecSetStatus {
    /// Index of the set's first data shred.
    pub fec_set_index: u32,
    /// Data shreds in the set (1..=64).
    pub data_count: u16,
    /// Coding shreds in the set (1..=64).
    pub coding_count: u16,
    /// Bit `p` set: the data shred at position `p` is held.
    pub data_present: u64,
    /// Bit `p` set: the coding shred at position `p` is held.
    pub coding_present: u64,
    /// The set is already recovered.
    pub recovered: bool,
}

impl FecSetStatus {
    /// Shreds still needed before the set can be recovered.
    pub fn shreds_needed(&self) -> u32 {
        if self.recovered {
            return 0;
        }
        let have = self.data_present.count_ones() + self.coding_present.count_ones();
        u32::from(self.data_count).saturating_sub(have)
    }
}

/// Whether a shred carries block data or Reed-Solomon parity. Encoding: `u8` tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ShredKind {
    /// A piece of the block's bytes (tag 0).
    Data,
    /// Parity over its FEC set's data shreds (tag 1).
    Coding,
}

/// Flag bits of a shred. Unknown bits are rejected on decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ShredFlags(u8);

impl ShredFlags {
    /// No flag set.
    pub const NONE: ShredFlags = ShredFlags(0);
    /// The last data shred of the slot.
    pub const LAST_IN_SLOT: ShredFlags = ShredFlags(0b01);
    /// The last data shred of a batch of entries (a point where the bytes so far parse).
    pub const DATA_COMPLETE: ShredFlags = ShredFlags(0b10);
    /// Every defined bit.
    pub const ALL: ShredFlags = ShredFlags(0b11);

    /// The raw bits.
    pub fn bits(self) -> u8 {
        self.0
    }

    /// The flags for `bits`, or `None` when an undefined bit is set.
    pub fn from_bits(bits: u8) -> Option<ShredFlags> {
        (bits & !Self::ALL.0 == 0).then_some(ShredFlags(bits))
    }

    /// True when every bit of `other` is set in `self`.
    pub fn contains(self, other: ShredFlags) -> bool {
        self.0 & other.0 == other.0
    }

    /// `self` with `other`'s bits added.
    pub fn with(self, other: ShredFlags) -> ShredFlags {
        ShredFlags(self.0 | other.0)
    }
}

/// The header of a shred. Encoded in field order, fixed [`SHRED_HEADER_BYTES`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ShredHeader {
    /// The slot of the block.
    pub slot: u64,
    /// `slot - parent_slot`.
    pub parent_offset: u16,
    /// Index of the first data shred of this shred's FEC set.
    pub fec_set_index: u32,
    /// Index of this shred among the slot's shreds of its kind.
    pub index: u32,
    /// Data or coding.
    pub kind: ShredKind,
    /// Data shreds in the FEC set.
    pub data_count: u16,
    /// Coding shreds in the FEC set.
    pub coding_count: u16,
    /// Position of this shred among its FEC set's shreds of its kind.
    pub position_in_set: u16,
    /// Meaningful payload bytes after the header (at most [`MAX_SHRED_PAYLOAD_BYTES`]).
    pub payload_size: u16,
    /// Flag bits.
    pub flags: ShredFlags,
    /// Network shred version (tells clusters apart; any value decodes).
    pub version: u16,
}

impl Encode for ShredHeader {
    fn encode_to(&self, out: &mut Vec<u8>) {
        let start = out.len();
        self.slot.encode_to(out);
        self.parent_offset.encode_to(out);
        self.fec_set_index.encode_to(out);
        self.index.encode_to(out);
        out.push(match self.kind {
            ShredKind::Data => 0,
            ShredKind::Coding => 1,
        });
        self.data_count.encode_to(out);
        self.coding_count.encode_to(out);
        self.position_in_set.encode_to(out);
        self.payload_size.encode_to(out);
        out.push(self.flags.bits());
        self.version.encode_to(out);
        assert_eq!(out.len() - start, SHRED_HEADER_BYTES);
    }
    fn encoded_len(&self) -> usize {
        SHRED_HEADER_BYTES
    }
}

impl Decode for ShredHeader {
    const MIN_ENCODED_LEN: usize = SHRED_HEADER_BYTES;
    fn decode_from(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let slot = reader.read_u64()?;
        let parent_offset = reader.read_u16()?;
        let fec_set_index = reader.read_u32()?;
        let index = reader.read_u32()?;
        let kind_offset = reader.offset();
        let kind = match reader.read_u8()? {
            0 => ShredKind::Data,
            1 => ShredKind::Coding,
            tag => {
                return Err(DecodeError::UnknownTag {
                    offset: kind_offset,
                    what: "shred kind",
                    tag,
                });
            }
        };
        let data_count = reader.read_u16()?;
        let coding_count = reader.read_u16()?;
        let position_in_set = reader.read_u16()?;
        let payload_size = reader.read_u16()?;
        if usize::from(payload_size) > MAX_SHRED_PAYLOAD_BYTES {
            return Err(DecodeError::OutOfRange {
                field: "shred.payload_size",
                value: u64::from(payload_size),
                max: MAX_SHRED_PAYLOAD_BYTES as u64,
            });
        }
        let flags_offset = reader.offset();
        let flag_bits = reader.read_u8()?;
        let flags = ShredFlags::from_bits(flag_bits).ok_or(DecodeError::UnknownTag {
            offset: flags_offset,
            what: "shred flags",
            tag: flag_bits,
        })?;
        Ok(ShredHeader {
            slot,
            parent_offset,
            fec_set_index,
            index,
            kind,
            data_count,
            coding_count,
            position_in_set,
            payload_size,
            flags,
            version: reader.read_u16()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::{decode_exact, encode};

    fn header() -> ShredHeader {
        ShredHeader {
            slot: 7,
            parent_offset: 1,
            fec_set_index: 32,
            index: 40,
            kind: ShredKind::Data,
            data_count: 32,
            coding_count: 32,
            position_in_set: 8,
            payload_size: MAX_SHRED_PAYLOAD_BYTES as u16,
            flags: ShredFlags::LAST_IN_SLOT.with(ShredFlags::DATA_COMPLETE),
            version: 0xbeef,
        }
    }

    #[test]
    fn fixed_size_and_round_trip() {
        let bytes = encode(&header());
        assert_eq!(bytes.len(), SHRED_HEADER_BYTES);
        assert_eq!(decode_exact::<ShredHeader>(&bytes), Ok(header()));
        assert!(header().flags.contains(ShredFlags::LAST_IN_SLOT));
    }

    #[test]
    fn rejects_bad_kind_flags_and_payload_size() {
        let bytes = encode(&header());
        let mut bad_kind = bytes.clone();
        bad_kind[18] = 2;
        assert_eq!(
            decode_exact::<ShredHeader>(&bad_kind),
            Err(DecodeError::UnknownTag {
                offset: 18,
                what: "shred kind",
                tag: 2
            })
        );
        let mut bad_flags = bytes.clone();
        bad_flags[27] = 0b100;
        assert_eq!(
            decode_exact::<ShredHeader>(&bad_flags),
            Err(DecodeError::UnknownTag {
                offset: 27,
                what: "shred flags",
                tag: 4
            })
        );
        let mut too_big = header();
        too_big.payload_size += 1;
        assert_eq!(
            decode_exact::<ShredHeader>(&encode(&too_big)),
            Err(DecodeError::OutOfRange {
                field: "shred.payload_size",
                value: MAX_SHRED_PAYLOAD_BYTES as u64 + 1,
                max: MAX_SHRED_PAYLOAD_BYTES as u64
            })
        );
    }
}
