//! Aether's canonical types and the one deterministic binary codec used for everything
//! that is hashed or signed.
//!
//! # What this crate is (and is not)
//!
//! Plain data types (transactions, blocks, shreds, votes, certificates), their
//! encoding, and the hashes and signing messages derived from them. No I/O, no clocks, no
//! threads, no randomness, no signature verification (that is `aether-crypto`), no ledger
//! or consensus rules beyond what makes bytes well-formed. It can be fuzzed alone
//! (`fuzz/`).
//!
//! # Codec rules ([`codec`])
//!
//! - Integers: fixed width, little-endian.
//! - Lengths and counts: unsigned LEB128 varint, minimal (a trailing `0x00` group is
//!   rejected), at most 5 bytes, value ≤ `u32::MAX`.
//! - `bool`: one byte, 0 or 1. `Option<T>`: tag byte 0 (`None`) or 1 then `T`.
//! - Enums: a `u8` tag; an unknown tag is an error.
//! - Fixed arrays (`[u8; N]`, [`Hash`](struct@Hash)): raw bytes, no length.
//! - Structs: fields in declaration order, nothing between them.
//! - Sets (inputs, reference inputs, state reads/writes, value assets, signatures by
//!   public key) are encoded strictly ascending; decode rejects disorder and duplicates.
//!   Value asset amounts are never zero; signer-bitmap padding bits are zero.
//! - Versioned structures ([`TransactionBody`], [`BlockHeader`]) start with a version byte;
//!   decode accepts only the current version.
//!
//! # Invariants
//!
//! - **Canonical**: for any bytes that decode, re-encoding gives exactly the bytes consumed;
//!   so equal values have equal encodings, hashes and signatures (property-tested and
//!   fuzzed).
//! - **Decode never panics** on any input, and never allocates more than a bound: every
//!   variable-length field has a `MAX_*` constant, and a length is checked against it
//!   *and* against the remaining bytes (count × the element type's minimum encoded
//!   size, [`Decode::MIN_ENCODED_LEN`]) before anything is allocated.
//! - Limits are enforced on decode; in-memory values are built through checked
//!   constructors where an invariant can break ([`Value::new`], [`Datum::new`],
//!   [`SignerBitmap::new`]), and [`Transaction::to_wire`] refuses anything peers would
//!   refuse.
//! - A transaction's encoding is at most [`MAX_WIRE_TRANSACTION_BYTES`] (1232) wherever
//!   it appears.
//!
//! # Hashes and signed bytes ([`hash`])
//!
//! - Transaction id = plain `BLAKE3(encode(body))`; Ed25519 signatures sign the id bytes.
//! - Block hash = plain `BLAKE3(encode(BlockHeader))`; KES signs
//!   `"aether.block-header.v1" ‖ hash` ([`block`]).
//! - Output state keys and the transactions Merkle tree use BLAKE3's key-derivation mode
//!   with one context string per [`hash::Domain`] ([`merkle`]).
//! - BLS votes and timeouts sign domain-tagged fixed layouts ([`vote`]).
//!
//! # Code map
//!
//! [`codec`] reader/writer and traits · [`hash`] · [`value`] · [`output`] (locks, datums,
//! output references) · [`transaction`] · [`block`] · [`merkle`] · [`shred`] · [`signers`]
//! (validator index, signer bitmap) · [`vote`] (votes, timeouts) · [`certificate`] (QC,
//! TC) · [`error`] (constructor errors; decode errors live in [`codec`]).
#![forbid(unsafe_code)]

mod bytes;

pub mod block;
pub mod certificate;
pub mod codec;
pub mod error;
pub mod hash;
pub mod hash_lanes;
pub mod merkle;
pub mod output;
pub mod shred;
pub mod signers;
pub mod transaction;
pub mod value;
pub mod vote;

#[cfg(test)]
mod tests;

pub use block::{
    BLOCK_HEADER_VERSION, Block, BlockHeader, KesSignature, MAX_BLOCK_BYTES,
    MAX_BLOCK_TRANSACTIONS, MAX_KES_SIGNATURE_BYTES, OperationalCertificate, SignedBlockHeader,
    VRF_PROOF_BYTES,
};
pub use certificate::{QuorumCertificate, TimeoutCertificate};
pub use codec::{Decode, DecodeError, Encode, Reader, decode_exact, encode};
pub use error::BuildError;
pub use hash::{Domain, Hash};
pub use merkle::transactions_root;
pub use output::{Datum, Lock, MAX_DATUM_BYTES, Output, OutputReference};
pub use shred::{
    MAX_SHRED_PAYLOAD_BYTES, SHRED_BYTES_MAX, SHRED_HEADER_BYTES, ShredFlags, ShredHeader,
    ShredKind,
};
pub use signers::{MAX_VALIDATORS, SignerBitmap, ValidatorIndex};
pub use transaction::{
    MAX_PROGRAM_CALL_DATA_BYTES, MAX_PROGRAM_CALLS, MAX_REFERENCE_INPUTS, MAX_STATE_READS,
    MAX_STATE_WRITES, MAX_TRANSACTION_INPUTS, MAX_TRANSACTION_OUTPUTS, MAX_TRANSACTION_SIGNATURES,
    MAX_WIRE_TRANSACTION_BYTES, PACKET_DATA_BYTES, ProgramCall, ProgramCallData,
    TRANSACTION_VERSION, Transaction, TransactionBody, TransactionSignature, ValidityWindow,
    WireError,
};
pub use value::{AssetId, MAX_VALUE_ASSETS, Value};
pub use vote::{BLS_SIGNATURE_BYTES, Timeout, Vote};
