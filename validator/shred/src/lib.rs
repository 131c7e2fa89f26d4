//! Signed Merkle shreds with Reed-Solomon FEC: a sealed block's bytes to packet-sized
//! shreds and back. Pure logic: no threads, no sockets, no files, no clock.
//!
//! # The algorithm
//!
//! **Leader** ([`shred_block`], [`shredder`]):
//! 1. Cut the block into FEC sets of `data_shreds_per_set` data shreds (default 32) of
//!    [`SetShape::data_capacity`] bytes each (880 at the default shape). The last set
//!    uses the fewest data shreds that hold the rest (an empty block is one empty data
//!    shred) and still gets all `coding_shreds_per_set` coding shreds (default 32); its
//!    last data shred is zero-padded and flagged `LAST_IN_SLOT | DATA_COMPLETE`.
//! 2. Per set, Reed-Solomon-encode (`fec.rs`, `reed-solomon-simd`) the data shreds'
//!    shards (header ‖ payload, so recovery restores headers too) into the coding
//!    shreds' bodies.
//! 3. Build a BLAKE3 Merkle tree ([`merkle`]) over all the set's shreds (leaf = header ‖
//!    body, domain-separated from inner nodes), sign its root once with Ed25519 over
//!    `"aether.shred.fec-set-root.v1" ‖ slot ‖ fec_set_index ‖ root` ([`signing`]), and
//!    append to every shred its proof, the root and the signature.
//!
//! **Receiver** ([`ShredVerifier`], [`SlotAssembler`]):
//! 1. [`Shred::decode`] the packet: bounded, never panics, every structural rule
//!    checked (below).
//! 2. [`ShredVerifier::verify`]: the leaf hashed up its proof must give the root the shred
//!    carries ([`VerifyError::MerkleProofMismatch`]), and the leader's signature must
//!    verify over that root ([`VerifyError::SignatureInvalid`]). Verified
//!    `(slot, fec_set_index, root, leader)` keys are cached with their signature bytes
//!    (bounded, oldest out first), so a set costs one Ed25519 verification. Turbine
//!    retransmits [`VerifiedShred`]s' bytes as received.
//! 3. [`SlotAssembler::insert`]: once any `data_count` of a set's shreds are in, the set
//!    is recovered (`recovery.rs`); if erasure decoding was needed, the whole set is
//!    rebuilt and must hash to the signed root, so a bad coding shred cannot corrupt
//!    data. When every set from index 0 to the `LAST_IN_SLOT` set is recovered, the
//!    block comes back byte for byte.
//!
//! # Wire layout of one shred
//!
//! Integers little-endian. `d` = proof depth = `ceil(log2(data_count + coding_count))`;
//! `S` = shard bytes = `1228 − 30 − 32 − 64 − 32·d` = `1102 − 32·d` (even, as
//! reed-solomon-simd requires). Default shape 32 + 32: `d` = 6, `S` = 910.
//!
//! | offset | bytes | field | data shred | coding shred |
//! |---|---|---|---|---|
//! | 0 | 30 | [`ShredHeader`](aether_types::ShredHeader) | `kind` 0 | `kind` 1 |
//! | 30 | `B` | body | `B = S − 30` (880): `payload_size` block bytes, then zeros | `B = S` (910): Reed-Solomon parity |
//! | 30 + `B` | 32·`d` (192) | Merkle proof | sibling hashes, leaf level first | same |
//! | 30 + `B` + 32·`d` | 32 | Merkle root of the set | | |
//! | 62 + `B` + 32·`d` | 64 | Ed25519 signature over the root message | | |
//!
//! A coding shred is exactly [`SHRED_BYTES_MAX`](aether_types::SHRED_BYTES_MAX) = 1228
//! bytes; a data shred 30 bytes less (its header is inside its erasure shard), 1198 at
//! the default shape. Carrying the root costs 32 bytes a shred but lets a bad path and a
//! bad signature be told apart, whatever the cache holds.
//!
//! Header fields: `index` of a data shred = `fec_set_index + position_in_set` (its index
//! among the slot's data shreds); of a coding shred = its index among the slot's coding
//! shreds (sets are numbered by data index, so coding indexes run on separately).
//! `payload_size` of a coding shred = `S`; coding shreds carry no flags.
//!
//! # Decoding rules ([`Shred::decode`])
//!
//! At most 1228 bytes; the header decodes (known kind and flags); `1 ≤ data_count ≤ 64`,
//! `1 ≤ coding_count ≤ 64`; `position_in_set` below its kind's count; data `index` as
//! above with the set's end inside `u32`; coding `index ≥ position_in_set`; data
//! `payload_size ≤ B`, coding `payload_size = S`; coding flags 0; `LAST_IN_SLOT` only on
//! the set's last data shred; exact length for the shape; zero padding after a data
//! shred's payload. So every decoded shred re-encodes to the bytes it came from.
//!
//! # Invariants
//!
//! - Every shred is at most 1228 bytes (const assertions in [`layout`]).
//! - A signed root binds the slot and set (message) and every byte of every shred of the
//!   set but the proofs, root and signature (leaves); proofs are checked against it.
//! - Anything that reaches the assembler was verified ([`VerifiedShred`] has no public
//!   constructor); recovered data is accepted only if the rebuilt set hashes to the
//!   signed root, so all honest receivers rebuild the same bytes from any `data_count`
//!   shreds.
//! - Bounded memory: the verifier cache and the assembler's sets and shreds per slot
//!   have limits; a shred beyond them is an error, not growth.
//! - Bad input is an error that changes nothing, never a panic.
//!
//! # What this crate does not know
//!
//! The leader schedule (callers pass the slot leader's key), the network, the
//! blockstore, what the block bytes mean.
//!
//! # Code map
//!
//! [`layout`] sizes and decoder · [`merkle`] the tree · [`signing`] the signed message
//! · `fec` Reed-Solomon · [`shredder`] block to shreds · [`verifier`] path and
//! signature, with the cache · `recovery` one set back from any `data_count` shreds ·
//! [`assembler`] one slot's sets back to the block · [`error`] all errors.

pub mod assembler;
pub mod error;
mod fec;
pub mod layout;
pub mod merkle;
mod recovery;
pub mod shredder;
pub mod signing;
pub mod verifier;

pub use assembler::{AssemblerLimits, InsertOutcome, SlotAssembler};
pub use error::{AssembleError, ShapeError, ShredDecodeError, ShredError, VerifyError};
pub use layout::{
    CODING_SHREDS_PER_SET_MAX, DATA_SHREDS_PER_SET_MAX, DATA_SHREDS_PER_SLOT_MAX, SetShape, Shred,
};
pub use shredder::{ShredderConfig, SlotContext, shred_block};
pub use verifier::{ShredVerifier, VerifiedShred, VerifierCounts, verify_shred};
