//! Every way shredding, decoding, verifying or reassembling can fail.
//!
//! One enum per stage, each variant naming what is wrong with structured fields, so a
//! caller can count a drop by reason (`aether_<stage>_drops{reason}`) without parsing text.

use aether_crypto::ed25519::Ed25519Error;
use aether_types::DecodeError;
use aether_types::shred::ShredKind;
use thiserror::Error;

/// Why a set shape (data and coding shred counts) is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[error(
    "FEC set shape {data_count} data + {coding_count} coding is outside 1..={data_max} data and 1..={coding_max} coding",
    data_max = crate::layout::DATA_SHREDS_PER_SET_MAX,
    coding_max = crate::layout::CODING_SHREDS_PER_SET_MAX
)]
pub struct ShapeError {
    /// Data shreds asked for.
    pub data_count: u16,
    /// Coding shreds asked for.
    pub coding_count: u16,
}

/// Why bytes are not a well-formed shred ([`Shred::decode`](crate::Shred::decode)).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ShredDecodeError {
    /// More bytes than any shred may have.
    #[error("shred is {length} bytes, over the maximum of {max}")]
    TooLong {
        /// Bytes given.
        length: usize,
        /// [`SHRED_BYTES_MAX`](aether_types::SHRED_BYTES_MAX).
        max: usize,
    },
    /// The fixed header did not decode.
    #[error("shred header: {0}")]
    Header(#[from] DecodeError),
    /// The header's set shape is not one this format allows.
    #[error("shred header: {0}")]
    Shape(#[from] ShapeError),
    /// `position_in_set` is not below the count of its kind.
    #[error("{kind:?} shred position {position} is not below the set's {count} shreds of its kind")]
    PositionOutOfRange {
        /// The shred's kind.
        kind: ShredKind,
        /// The position found.
        position: u16,
        /// Shreds of that kind in the set.
        count: u16,
    },
    /// A data shred's `index` is not `fec_set_index + position_in_set`, or that sum (or
    /// the set's end) overflows `u32`.
    #[error(
        "data shred index {index} does not match fec_set_index {fec_set_index} + position {position}"
    )]
    DataIndexMismatch {
        /// The index found.
        index: u32,
        /// The set's first data index.
        fec_set_index: u32,
        /// The position in the set.
        position: u16,
    },
    /// A coding shred's `index` is below its position, so its set's first coding index
    /// would be negative.
    #[error("coding shred index {index} is below its position {position}")]
    CodingIndexBelowPosition {
        /// The index found.
        index: u32,
        /// The position in the set.
        position: u16,
    },
    /// A data shred claims more meaningful bytes than its payload region holds.
    #[error("data shred payload_size {payload_size} is over the set's capacity of {capacity}")]
    PayloadTooLarge {
        /// `payload_size` found.
        payload_size: u16,
        /// The payload region's size for this set shape.
        capacity: usize,
    },
    /// A coding shred whose `payload_size` is not the set's shard size.
    #[error("coding shred payload_size {payload_size} is not the set's shard size {expected}")]
    CodingPayloadSize {
        /// `payload_size` found.
        payload_size: u16,
        /// The shard size for this set shape.
        expected: usize,
    },
    /// A coding shred with flag bits set (flags belong to data shreds).
    #[error("coding shred has flag bits {bits:#04b} set")]
    CodingFlags {
        /// The flag bits found.
        bits: u8,
    },
    /// `LAST_IN_SLOT` on a data shred that is not its set's last.
    #[error("LAST_IN_SLOT on data shred position {position} of a set of {data_count}")]
    LastInSlotNotLastInSet {
        /// The position found.
        position: u16,
        /// Data shreds in the set.
        data_count: u16,
    },
    /// The input length is not the one the header's set shape fixes.
    #[error("{kind:?} shred is {actual} bytes, its set shape fixes {expected}")]
    WrongLength {
        /// The shred's kind.
        kind: ShredKind,
        /// Length the shape fixes.
        expected: usize,
        /// Length given.
        actual: usize,
    },
    /// A data shred's payload region is not zero after its `payload_size` bytes.
    #[error("data shred padding byte at offset {offset} is not zero")]
    NonZeroPadding {
        /// Offset of the first non-zero padding byte in the shred.
        offset: usize,
    },
}

/// Why a shred failed verification ([`ShredVerifier`](crate::ShredVerifier)).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum VerifyError {
    /// Hashing the shred up its Merkle path does not give the root it carries: the
    /// header, payload, proof or root was altered.
    #[error(
        "slot {slot} set {fec_set_index}: {kind:?} shred {position} does not hash to its Merkle root"
    )]
    MerkleProofMismatch {
        /// The shred's slot.
        slot: u64,
        /// The shred's set.
        fec_set_index: u32,
        /// The shred's kind.
        kind: ShredKind,
        /// The shred's position in the set.
        position: u16,
    },
    /// The leader's signature over (slot, set, root) does not verify.
    #[error("slot {slot} set {fec_set_index}: root signature does not verify: {reason}")]
    SignatureInvalid {
        /// The shred's slot.
        slot: u64,
        /// The shred's set.
        fec_set_index: u32,
        /// Why the Ed25519 check failed.
        reason: Ed25519Error,
    },
}

/// Why a block could not be shredded ([`shred_block`](crate::shred_block)).
#[derive(Debug, Clone, PartialEq, Error)]
pub enum ShredError {
    /// The configured set shape is not allowed.
    #[error("shredder config: {0}")]
    Shape(#[from] ShapeError),
    /// The parent slot is not before the slot, or too far before it for a `u16` offset.
    #[error("parent slot {parent_slot} of slot {slot} is not 1..=65535 slots before it")]
    BadParent {
        /// The block's slot.
        slot: u64,
        /// The parent slot given.
        parent_slot: u64,
    },
    /// The block needs more data shreds than one slot may have.
    #[error("block of {bytes} bytes needs {data_shreds} data shreds, over the maximum of {max}")]
    BlockTooLarge {
        /// Block length.
        bytes: usize,
        /// Data shreds it would need.
        data_shreds: u64,
        /// [`DATA_SHREDS_PER_SLOT_MAX`](crate::DATA_SHREDS_PER_SLOT_MAX).
        max: u32,
    },
    /// The erasure coder refused (a bug: shapes are validated first).
    #[error("erasure coding: {0}")]
    Fec(#[from] reed_solomon_simd::Error),
}

/// Why a verified shred was refused by a [`SlotAssembler`](crate::SlotAssembler). On any
/// error the assembler's state is unchanged, except the errors of recovery
/// ([`InconsistentSet`], [`RecoveredShredInvalid`], [`RecoveredHeaderMismatch`], and a
/// last-in-slot conflict found in recovered data), which mark their set failed: the
/// leader signed bad data.
///
/// [`InconsistentSet`]: AssembleError::InconsistentSet
/// [`RecoveredShredInvalid`]: AssembleError::RecoveredShredInvalid
/// [`RecoveredHeaderMismatch`]: AssembleError::RecoveredHeaderMismatch
#[derive(Debug, Clone, PartialEq, Error)]
pub enum AssembleError {
    /// The shred belongs to another slot.
    #[error("shred of slot {shred_slot} given to the assembler of slot {slot}")]
    WrongSlot {
        /// The assembler's slot.
        slot: u64,
        /// The shred's slot.
        shred_slot: u64,
    },
    /// The shred's set would put data shreds past the slot's limit.
    #[error(
        "set {fec_set_index} of {data_count} data shreds ends past the limit of {max} data shreds per slot"
    )]
    DataShredLimit {
        /// The set's first data index.
        fec_set_index: u32,
        /// Data shreds in the set.
        data_count: u16,
        /// The limit.
        max: u32,
    },
    /// A new set would exceed the slot's limit on sets.
    #[error("set {fec_set_index} would exceed the limit of {max} FEC sets per slot")]
    FecSetLimit {
        /// The set's first data index.
        fec_set_index: u32,
        /// The limit.
        max: usize,
    },
    /// Shreds of the slot disagree on the parent offset or the shred version.
    #[error(
        "slot fields (parent_offset {parent_offset}, version {version}) differ from the slot's ({expected_parent_offset}, {expected_version})"
    )]
    ConflictingSlotFields {
        /// The shred's parent offset.
        parent_offset: u16,
        /// The shred's version.
        version: u16,
        /// The slot's parent offset.
        expected_parent_offset: u16,
        /// The slot's version.
        expected_version: u16,
    },
    /// Two validly signed roots for one set: the leader equivocated.
    #[error("set {fec_set_index} has two signed roots (leader equivocation)")]
    ConflictingRoot {
        /// The set.
        fec_set_index: u32,
    },
    /// Shreds of one set disagree on its shape.
    #[error("set {fec_set_index} shreds disagree on the set shape")]
    ConflictingShape {
        /// The set.
        fec_set_index: u32,
    },
    /// A different shred already holds this set position.
    #[error("set {fec_set_index}: a different {kind:?} shred already holds position {position}")]
    ConflictingShred {
        /// The set.
        fec_set_index: u32,
        /// The kind.
        kind: ShredKind,
        /// The position.
        position: u16,
    },
    /// The set's data index range overlaps another set's.
    #[error("set {fec_set_index} overlaps set {other_fec_set_index}")]
    OverlappingSets {
        /// The new set.
        fec_set_index: u32,
        /// The set it overlaps.
        other_fec_set_index: u32,
    },
    /// A set after the one that holds the slot's last data shred.
    #[error("set {fec_set_index} lies after the slot's last set {last_fec_set_index}")]
    AfterLastInSlot {
        /// The set.
        fec_set_index: u32,
        /// The set that holds `LAST_IN_SLOT`.
        last_fec_set_index: u32,
    },
    /// Two sets each hold a `LAST_IN_SLOT` shred.
    #[error("sets {fec_set_index} and {other_fec_set_index} both claim the slot's last shred")]
    DuplicateLastInSlot {
        /// The new claim.
        fec_set_index: u32,
        /// The earlier claim.
        other_fec_set_index: u32,
    },
    /// A shred recovered by erasure decoding is malformed (the leader encoded garbage).
    #[error("set {fec_set_index}: recovered data shred {position} is malformed: {reason}")]
    RecoveredShredInvalid {
        /// The set.
        fec_set_index: u32,
        /// Position of the recovered shred.
        position: u16,
        /// What is wrong with it.
        reason: ShredDecodeError,
    },
    /// A data shred's header (received or recovered) is not the one its set and
    /// position imply.
    #[error("set {fec_set_index}: data shred {position} header does not match its set")]
    RecoveredHeaderMismatch {
        /// The set.
        fec_set_index: u32,
        /// Position of the shred.
        position: u16,
    },
    /// The recovered set does not hash to its signed root: some coding shred was not
    /// computed from the set's data. The set is marked failed.
    #[error("set {fec_set_index}: recovered shreds do not hash to the signed root")]
    InconsistentSet {
        /// The set.
        fec_set_index: u32,
    },
    /// The set failed recovery earlier.
    #[error("set {fec_set_index} failed recovery earlier")]
    SetFailed {
        /// The set.
        fec_set_index: u32,
    },
    /// The erasure decoder refused (a bug: counts are checked first).
    #[error("erasure decoding: {0}")]
    Fec(#[from] reed_solomon_simd::Error),
}
