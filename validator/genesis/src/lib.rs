//! The cluster genesis file: one JSON document from which every validator of a cluster
//! derives the same chain parameters, validator set, initial state and genesis block
//! hash.
//!
//! `aetherctl cluster init` writes it; the node loads it with [`ClusterGenesis::load`]
//! (which validates it) and then uses [`ClusterGenesis::genesis_hash`],
//! [`ClusterGenesis::state_entries`], [`ClusterGenesis::validator_set`] and
//! [`ClusterGenesis::leader_public_keys`]. The single-node dev chain keeps its own
//! embedded genesis (`aether-node`'s `genesis.rs`); this crate is for clusters.
//!
//! # The file, field by field
//!
//! A JSON object; unknown fields are refused anywhere in it (`deny_unknown_fields`), and
//! every field is required. Hex is lowercase or uppercase, without `0x`, of the exact
//! length given.
//!
//! | field | type | meaning |
//! |---|---|---|
//! | `version` | integer | format version; only [`GENESIS_VERSION`] (1) is known |
//! | `chain_id` | string | the cluster's name, 1 to [`MAX_CHAIN_ID_BYTES`] bytes of printable ASCII (no spaces); different ids give different genesis hashes |
//! | `created_at_ms` | integer | creation time, ms since the Unix epoch; informational only, but hashed like every field |
//! | `slot_ms` | integer > 0 | slot length in milliseconds |
//! | `epoch_slots` | integer > 0 | slots per epoch ([`aether_consensus::EpochSchedule`]) |
//! | `kes_slots_per_period` | integer > 0 | slots per KES period (a header's KES period is `slot / kes_slots_per_period`) |
//! | `kes_depth` | integer 1..=[`KES_DEPTH_MAX`] | KES tree depth of every validator's header key (2^depth periods) |
//! | `genesis_nonce` | hex, 32 bytes | the nonce of epochs 0 and 1 ([`aether_consensus::epoch`]) |
//! | `validators` | array, 1..=[`MAX_VALIDATORS`] | the initial validator set; position = [`aether_types::ValidatorIndex`] |
//! | `validators[i].name` | string | operator label, 1 to [`MAX_NAME_BYTES`] bytes of printable ASCII, unique |
//! | `validators[i].identity` | hex, 32 bytes | Ed25519 cold identity key (signs the operational certificate), unique |
//! | `validators[i].vote_public_key` | hex, 48 bytes | BLS12-381 vote key (compressed G1), unique |
//! | `validators[i].vote_proof_of_possession` | hex, 96 bytes | BLS proof of possession of the vote key (compressed G2); must verify |
//! | `validators[i].vrf_public_key` | hex, 32 bytes | ECVRF-EDWARDS25519-SHA512-TAI key for leader election |
//! | `validators[i].stake` | integer > 0 | stake in base units; the total must fit a `u64` |
//! | `faucet.public_key` | hex, 32 bytes | Ed25519 key locking the faucet outputs |
//! | `faucet.outputs` | integer 0..=[`MAX_FAUCET_OUTPUTS`] | number of faucet outputs at genesis |
//! | `faucet.output_aeth` | integer | AETH base units per faucet output; positive when `outputs` > 0, and `outputs × output_aeth` must fit a `u64` |
//!
//! # The genesis hash
//!
//! [`ClusterGenesis::genesis_hash`] = `BLAKE3-derive-key(GENESIS_HASH_CONTEXT,
//! canonical_bytes)`, where [`ClusterGenesis::canonical_bytes`] is this explicit
//! encoding of every field, in the order of the table above (integers little-endian,
//! strings as a `u32` LE byte length then the UTF-8 bytes, hex fields as their raw
//! bytes):
//!
//! ```text
//! version u32 ‖ chain_id str ‖ created_at_ms u64 ‖ slot_ms u64 ‖ epoch_slots u64 ‖
//! kes_slots_per_period u64 ‖ kes_depth u32 ‖ genesis_nonce [32] ‖
//! validator_count u32 ‖ for each validator in order:
//!     name str ‖ identity [32] ‖ vote_public_key [48] ‖ vote_proof_of_possession [96] ‖
//!     vrf_public_key [32] ‖ stake u64
//! faucet.public_key [32] ‖ faucet.outputs u32 ‖ faucet.output_aeth u64
//! ```
//!
//! It does not depend on JSON whitespace, key order or hex case, so every node that
//! loads the same genesis derives the same hash.
//!
//! # The initial state
//!
//! [`ClusterGenesis::state_entries`], as the dev genesis: `faucet.outputs` outputs, index
//! `0..outputs`, of the "genesis transaction" whose id is
//! `BLAKE3-derive-key(GENESIS_TRANSACTION_CONTEXT, genesis_hash)` (so no two genesis
//! files share output references), each holding `faucet.output_aeth` and locked by
//! [`aether_types::Lock::for_public_key`] of the faucet key; as `(OutputReference::key,
//! output_state_value)` pairs sorted by key.
//!
//! # Code map
//!
//! [`mod@file`] the typed genesis and its JSON form · [`validate`] the checks ·
//! [`derived`] hash, state, validator set · [`error`] errors.

pub mod derived;
pub mod error;
pub mod file;
pub mod validate;

#[cfg(test)]
mod tests;

pub use crate::derived::{GENESIS_HASH_CONTEXT, GENESIS_TRANSACTION_CONTEXT};
pub use crate::error::GenesisError;
pub use crate::file::{ClusterGenesis, GenesisFaucet, GenesisValidator};
pub use aether_crypto::kes::KES_DEPTH_MAX;
pub use aether_crypto::leader_keys::LeaderPublicKeys;
pub use aether_types::MAX_VALIDATORS;

/// The only genesis format version this build knows.
pub const GENESIS_VERSION: u32 = 1;
/// Most faucet outputs (output indexes are `u16`).
pub const MAX_FAUCET_OUTPUTS: u32 = u16::MAX as u32;
/// Longest `chain_id`, in bytes.
pub const MAX_CHAIN_ID_BYTES: usize = 64;
/// Longest validator `name`, in bytes.
pub const MAX_NAME_BYTES: usize = 64;

const _: () = assert!(MAX_FAUCET_OUTPUTS == 65_535);
const _: () = assert!(MAX_VALIDATORS <= u32::MAX as usize);
