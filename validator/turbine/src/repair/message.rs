//! Repair wire messages and their signing.
//!
//! # Request (one packet, integers little-endian)
//!
//! ```text
//! version u8 (= 1) | requester 32 | recipient 32 | timestamp_ms u64 | nonce u32
//! | tag u8 | body | signature 64
//! body:  0 Shred        slot u64, kind u8, index u32
//!        1 HighestShred slot u64
//!        2 Orphan       slot u64
//!        3 SlotShreds   slot u64, varint count (1..=32), count × (kind u8, start u32, count u16)
//! ```
//!
//! The signature is Ed25519 by `requester` over `REPAIR_SIGNING_DOMAIN ‖` every byte
//! before it. The recipient is inside the signed bytes, so a request cannot be replayed
//! to another node; the timestamp bounds how long it can be replayed to this one.
//! `SlotShreds` ranges are canonical: each `count ≥ 1`, sorted by `(kind, start)`, no two
//! of one kind overlapping or touching, at most [`SLOT_SHREDS_PER_REQUEST_MAX`] shreds in
//! all, none past `u32::MAX`. Decoding is canonical, so bytes re-encode to themselves.
//!
//! # Response
//!
//! `shred bytes (1..=1228) | nonce u32`: the shred as stored, then the request's nonce,
//! with no length prefix so that the largest shred still fits one 1232-byte packet
//! (`aether_types::shred::REPAIR_NONCE_BYTES`). It spans the whole packet.

use aether_crypto::ed25519::{
    self, Ed25519Error, Ed25519PublicKey, Ed25519SecretKey, Ed25519Signature, SIGNATURE_BYTES,
};
use aether_types::codec::{Decode, DecodeError, Encode, Reader};
use aether_types::shred::{REPAIR_NONCE_BYTES, SHRED_BYTES_MAX, ShredKind};
use aether_types::transaction::PACKET_DATA_BYTES;

use crate::tree::kind_tag;

/// Domain tag at the front of every signed repair request.
pub const REPAIR_SIGNING_DOMAIN: &[u8; 32] = b"aether.turbine.repair-request.v1";
/// The request format version.
pub const REPAIR_REQUEST_VERSION: u8 = 1;
/// Most ranges in one `SlotShreds` request.
pub const SLOT_SHREDS_RANGES_MAX: usize = 32;
/// Most shreds one `SlotShreds` request may ask for.
pub const SLOT_SHREDS_PER_REQUEST_MAX: u32 = 128;
/// Bytes of the signed header fields (version, requester, recipient, timestamp, nonce).
pub const REPAIR_HEADER_BYTES: usize = 1 + 32 + 32 + 8 + 4;
/// Bytes of one encoded [`ShredRange`].
pub const SHRED_RANGE_BYTES: usize = 1 + 4 + 2;
/// Largest encoded request.
pub const REPAIR_REQUEST_BYTES_MAX: usize =
    REPAIR_HEADER_BYTES + 1 + 8 + 1 + SLOT_SHREDS_RANGES_MAX * SHRED_RANGE_BYTES + SIGNATURE_BYTES;
/// Smallest encoded request (`HighestShred` / `Orphan`).
pub const REPAIR_REQUEST_BYTES_MIN: usize = REPAIR_HEADER_BYTES + 1 + 8 + SIGNATURE_BYTES;

const _: () = assert!(REPAIR_REQUEST_BYTES_MAX <= PACKET_DATA_BYTES);
const _: () = assert!(SLOT_SHREDS_RANGES_MAX < 0x80, "count is a one-byte varint");
const _: () = assert!(SHRED_BYTES_MAX + REPAIR_NONCE_BYTES <= PACKET_DATA_BYTES);
const _: () = assert!(REPAIR_NONCE_BYTES == size_of::<u32>());

/// A run of consecutive shred indexes of one kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ShredRange {
    /// Data or coding.
    pub kind: ShredKind,
    /// First index.
    pub start: u32,
    /// Indexes in the run (at least 1).
    pub count: u16,
}

impl ShredRange {
    /// One past the last index (as `u64`: never overflows).
    pub fn end(&self) -> u64 {
        u64::from(self.start) + u64::from(self.count)
    }
}

/// What a node asks a peer for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum RepairRequest {
    /// One shred.
    Shred {
        /// The slot.
        slot: u64,
        /// Data or coding.
        kind: ShredKind,
        /// Its index.
        index: u32,
    },
    /// The highest-index data shred the peer holds of `slot` (finds the slot's end).
    HighestShred {
        /// The slot.
        slot: u64,
    },
    /// The highest data shred of each of `slot`'s ancestors the peer knows (for a slot
    /// whose parent chain is unknown here).
    Orphan {
        /// The slot whose ancestry is missing.
        slot: u64,
    },
    /// Many shreds of one slot, as canonical ranges.
    SlotShreds {
        /// The slot.
        slot: u64,
        /// The shreds wanted.
        ranges: Vec<ShredRange>,
    },
}

impl RepairRequest {
    /// The slot the request is about.
    pub fn slot(&self) -> u64 {
        match self {
            RepairRequest::Shred { slot, .. }
            | RepairRequest::HighestShred { slot }
            | RepairRequest::Orphan { slot }
            | RepairRequest::SlotShreds { slot, .. } => *slot,
        }
    }

    /// Shreds the request asks for at most (orphan: counted by the server's limit).
    pub fn shreds_wanted(&self) -> u64 {
        match self {
            RepairRequest::Shred { .. }
            | RepairRequest::HighestShred { .. }
            | RepairRequest::Orphan { .. } => 1,
            RepairRequest::SlotShreds { ranges, .. } => {
                ranges.iter().map(|range| u64::from(range.count)).sum()
            }
        }
    }
}

/// Checks `ranges` are canonical (see the module docs).
pub fn check_ranges(ranges: &[ShredRange]) -> Result<(), DecodeError> {
    const FIELD: &str = "repair ranges";
    if ranges.is_empty() || ranges.len() > SLOT_SHREDS_RANGES_MAX {
        return Err(DecodeError::LengthTooLarge {
            field: FIELD,
            length: ranges.len() as u64,
            max: SLOT_SHREDS_RANGES_MAX as u64,
        });
    }
    let mut total = 0u64;
    for range in ranges {
        if range.count == 0 {
            return Err(DecodeError::ZeroAmount { field: FIELD });
        }
        if range.end() > u64::from(u32::MAX) + 1 {
            return Err(DecodeError::OutOfRange {
                field: FIELD,
                value: range.end(),
                max: u64::from(u32::MAX) + 1,
            });
        }
        total += u64::from(range.count);
    }
    if total > u64::from(SLOT_SHREDS_PER_REQUEST_MAX) {
        return Err(DecodeError::LengthTooLarge {
            field: FIELD,
            length: total,
            max: u64::from(SLOT_SHREDS_PER_REQUEST_MAX),
        });
    }
    let ordered = ranges.windows(2).all(|pair| {
        let (a, b) = (&pair[0], &pair[1]);
        match kind_tag(a.kind).cmp(&kind_tag(b.kind)) {
            std::cmp::Ordering::Less => true,
            std::cmp::Ordering::Equal => a.end() < u64::from(b.start),
            std::cmp::Ordering::Greater => false,
        }
    });
    if !ordered {
        return Err(DecodeError::NotSorted { field: FIELD });
    }
    Ok(())
}

fn encode_kind(kind: ShredKind, out: &mut Vec<u8>) {
    out.push(kind_tag(kind));
}

fn decode_kind(reader: &mut Reader<'_>) -> Result<ShredKind, DecodeError> {
    let offset = reader.offset();
    match reader.read_u8()? {
        0 => Ok(ShredKind::Data),
        1 => Ok(ShredKind::Coding),
        tag => Err(DecodeError::UnknownTag {
            offset,
            what: "shred kind",
            tag,
        }),
    }
}

impl Encode for ShredRange {
    fn encode_to(&self, out: &mut Vec<u8>) {
        encode_kind(self.kind, out);
        self.start.encode_to(out);
        self.count.encode_to(out);
    }
    fn encoded_len(&self) -> usize {
        SHRED_RANGE_BYTES
    }
}

impl Decode for ShredRange {
    const MIN_ENCODED_LEN: usize = SHRED_RANGE_BYTES;
    fn decode_from(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(ShredRange {
            kind: decode_kind(reader)?,
            start: reader.read_u32()?,
            count: reader.read_u16()?,
        })
    }
}

impl Encode for RepairRequest {
    fn encode_to(&self, out: &mut Vec<u8>) {
        match self {
            RepairRequest::Shred { slot, kind, index } => {
                out.push(0);
                slot.encode_to(out);
                encode_kind(*kind, out);
                index.encode_to(out);
            }
            RepairRequest::HighestShred { slot } => {
                out.push(1);
                slot.encode_to(out);
            }
            RepairRequest::Orphan { slot } => {
                out.push(2);
                slot.encode_to(out);
            }
            RepairRequest::SlotShreds { slot, ranges } => {
                debug_assert!(check_ranges(ranges).is_ok(), "ranges must be canonical");
                out.push(3);
                slot.encode_to(out);
                aether_types::codec::encode_seq(out, ranges, SLOT_SHREDS_RANGES_MAX);
            }
        }
    }
}

impl Decode for RepairRequest {
    const MIN_ENCODED_LEN: usize = 1 + 8;
    fn decode_from(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let offset = reader.offset();
        let tag = reader.read_u8()?;
        let slot = reader.read_u64()?;
        match tag {
            0 => Ok(RepairRequest::Shred {
                slot,
                kind: decode_kind(reader)?,
                index: reader.read_u32()?,
            }),
            1 => Ok(RepairRequest::HighestShred { slot }),
            2 => Ok(RepairRequest::Orphan { slot }),
            3 => {
                let ranges = aether_types::codec::decode_seq(
                    reader,
                    "repair ranges",
                    SLOT_SHREDS_RANGES_MAX,
                )?;
                check_ranges(&ranges)?;
                Ok(RepairRequest::SlotShreds { slot, ranges })
            }
            tag => Err(DecodeError::UnknownTag {
                offset,
                what: "repair request",
                tag,
            }),
        }
    }
}

/// The signed fields around a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RepairHeader {
    /// Who asks (and signs).
    pub requester: Ed25519PublicKey,
    /// Whom the request is for.
    pub recipient: Ed25519PublicKey,
    /// The requester's wall clock, milliseconds since the Unix epoch.
    pub timestamp_ms: u64,
    /// Echoed in every response, so the requester can match answers to requests.
    pub nonce: u32,
}

/// A request as sent: header, body, the requester's signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedRepairRequest {
    /// The signed header.
    pub header: RepairHeader,
    /// What is asked for.
    pub request: RepairRequest,
    /// The requester's signature (see the module docs).
    pub signature: Ed25519Signature,
}

impl SignedRepairRequest {
    /// Signs `request` as `key` for `recipient`; `header.requester` is `key`'s public key.
    pub fn sign(
        key: &Ed25519SecretKey,
        recipient: Ed25519PublicKey,
        timestamp_ms: u64,
        nonce: u32,
        request: RepairRequest,
    ) -> SignedRepairRequest {
        let header = RepairHeader {
            requester: key.public_key(),
            recipient,
            timestamp_ms,
            nonce,
        };
        let signature = key.sign(&signing_message(&header, &request));
        SignedRepairRequest {
            header,
            request,
            signature,
        }
    }

    /// The bytes the requester signs.
    pub fn signing_message(&self) -> Vec<u8> {
        signing_message(&self.header, &self.request)
    }

    /// Checks the signature against `header.requester`.
    pub fn verify_signature(&self) -> Result<(), Ed25519Error> {
        ed25519::verify(
            &self.header.requester,
            &self.signing_message(),
            &self.signature,
        )
    }
}

fn encode_unsigned(header: &RepairHeader, request: &RepairRequest, out: &mut Vec<u8>) {
    out.push(REPAIR_REQUEST_VERSION);
    out.extend_from_slice(&header.requester.0);
    out.extend_from_slice(&header.recipient.0);
    header.timestamp_ms.encode_to(out);
    header.nonce.encode_to(out);
    request.encode_to(out);
}

fn signing_message(header: &RepairHeader, request: &RepairRequest) -> Vec<u8> {
    let mut message = REPAIR_SIGNING_DOMAIN.to_vec();
    encode_unsigned(header, request, &mut message);
    message
}

impl Encode for SignedRepairRequest {
    fn encode_to(&self, out: &mut Vec<u8>) {
        let start = out.len();
        encode_unsigned(&self.header, &self.request, out);
        out.extend_from_slice(&self.signature.0);
        assert!(out.len() - start <= REPAIR_REQUEST_BYTES_MAX);
    }
}

impl Decode for SignedRepairRequest {
    const MIN_ENCODED_LEN: usize = REPAIR_REQUEST_BYTES_MIN;
    fn decode_from(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let version = reader.read_u8()?;
        if version != REPAIR_REQUEST_VERSION {
            return Err(DecodeError::UnsupportedVersion {
                what: "repair request",
                version,
            });
        }
        let header = RepairHeader {
            requester: Ed25519PublicKey(reader.read_array()?),
            recipient: Ed25519PublicKey(reader.read_array()?),
            timestamp_ms: reader.read_u64()?,
            nonce: reader.read_u32()?,
        };
        let request = RepairRequest::decode_from(reader)?;
        let signature = Ed25519Signature(reader.read_array()?);
        Ok(SignedRepairRequest {
            header,
            request,
            signature,
        })
    }
}

/// One shred sent back for a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepairResponse {
    /// The request's nonce.
    pub nonce: u32,
    /// The shred's bytes as stored (1..=1228).
    pub shred: Vec<u8>,
}

impl Encode for RepairResponse {
    fn encode_to(&self, out: &mut Vec<u8>) {
        assert!(
            !self.shred.is_empty() && self.shred.len() <= SHRED_BYTES_MAX,
            "a response carries one shred"
        );
        out.extend_from_slice(&self.shred);
        self.nonce.encode_to(out);
    }
    fn encoded_len(&self) -> usize {
        self.shred.len() + REPAIR_NONCE_BYTES
    }
}

impl Decode for RepairResponse {
    const MIN_ENCODED_LEN: usize = 1 + REPAIR_NONCE_BYTES;
    /// Consumes every remaining byte: a response is a whole packet.
    fn decode_from(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let remaining = reader.remaining();
        if remaining > SHRED_BYTES_MAX + REPAIR_NONCE_BYTES {
            return Err(DecodeError::LengthTooLarge {
                field: "repair response",
                length: remaining as u64,
                max: (SHRED_BYTES_MAX + REPAIR_NONCE_BYTES) as u64,
            });
        }
        if remaining < Self::MIN_ENCODED_LEN {
            return Err(DecodeError::UnexpectedEnd {
                offset: reader.offset(),
                needed: Self::MIN_ENCODED_LEN,
                available: remaining,
            });
        }
        let shred = reader.read_bytes(remaining - REPAIR_NONCE_BYTES)?.to_vec();
        let nonce = reader.read_u32()?;
        Ok(RepairResponse { nonce, shred })
    }
}
