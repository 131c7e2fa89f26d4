//! Aether's consensus driver: what turns the pure consensus core (`aether-consensus`)
//! into a validator that replays, votes, proposes and finalizes.
//!
//! - [`driver`]: carries out the core's actions in order (durable safety state first,
//!   votes, proposals, timeouts, block building, commits) and turns peers' blocks
//!   (replayed first), votes, timeouts and timers into core events. No thread, socket
//!   or clock of its own: messages for peers go to an outbox, the round timer is a
//!   value the caller arms.
//! - [`block_broadcast`]: Turbine between validators — a leader's proposal leaves as
//!   signed Merkle shreds down stake-weighted trees; receivers verify, retransmit and
//!   reassemble (any 32 of a set's 64 shreds); [`shred_repair`]: what a slot that stopped
//!   short asks peers for, and what they answer from.
//! - [`service`]: the node's consensus thread around the driver (network messages,
//!   verified transactions, the round timer, committed blocks to the shred stage).
//! - [`forwarding`]: verified client transactions go to the leaders of the next
//!   rounds as well (bounded by sigverify's dedup: each validator forwards a
//!   transaction at most once).
//! - [`rate_limit`]: per-peer token buckets on what a peer can make this validator
//!   spend (forwarded transactions, whole-block fetch answers).
//! - [`block_source`]: final blocks read back from the blockstore (fetch answers,
//!   VRF outputs after a restart).
//! - [`evidence_store`]: equivocation evidence (two signed headers or votes per
//!   offence) in an append-only, checksummed file, for slashing.
//! - [`finality_proof`]: the 2-chain that made a block final (both headers and QCs),
//!   checkable by anyone holding the validator set.
//! - [`snapshot_bundle`]: what a state snapshot travels with (finality proof, epoch
//!   nonce, the final headers of two epochs), checked against the validator set.
//! - [`snapshot_writer`]: every N final slots, the state and its bundle, offered to
//!   peers over RPC's HTTP (`/snapshot/latest`, `/snapshot/<slot>/<file>`).
//! - [`vrf_log`]: the VRF outputs of final blocks (the epoch nonces' inputs), synced
//!   before the blocks are finalized, so every restart derives the cluster's nonces.
//! - [`record_log`]: the append-only, checksummed record file under the evidence and
//!   VRF logs (torn tails cut, earlier damage an error).
//! - [`certificate_store`]: the high QC and the current round's TC, so a restart
//!   resumes in the round it left (where the timeout rule lets it speak).
//! - [`pending_blocks`]: blocks above the root accepted or built here, on disk until
//!   final (the high QC's block must survive a restart of the whole cluster).
//! - [`safety_store`]: the safety state on disk (atomic replace, fsync, checksum);
//!   [`root_store`]: the last committed block and its QC, where a restart resumes.
//!
//! Invariants: a vote, timeout or proposal leaves only after the safety state that
//! allows it is durable; a block gets a vote only after replay accepted it (header
//! signatures, VRF, leader for the slot, transactions, state root); the accounts-db
//! is finalized only at blocks the 2-chain rule committed.
//!
//! Tests (`tests/in_process.rs`) run four drivers with real keys, real accounts-dbs and
//! real replay over an in-memory, deterministic message queue and clock; the node's
//! `tests/cluster.rs` runs four validator processes over QUIC.

pub mod block_broadcast;
pub mod block_source;
pub mod certificate_store;
pub mod driver;
pub mod evidence_store;
pub mod finality_proof;
pub mod forwarding;
pub mod pending_blocks;
pub mod rate_limit;
pub mod record_log;
pub mod root_store;
pub mod safety_store;
pub mod service;
pub mod shred_repair;
pub mod snapshot_bundle;
pub mod snapshot_writer;
pub mod vrf_log;
pub mod wire;

pub use block_broadcast::{BlockBroadcast, BroadcastCounts, TURBINE_FANOUT_DEFAULT, TurbineNode};
pub use certificate_store::{CertificateStore, HighCertificates};
pub use driver::{
    ClusterView, CommittedBlock, Driver, DriverError, DriverParts, KesKeySaver, Outbound,
    ValidatorStats,
};
pub use evidence_store::{EvidenceRecord, EvidenceStore, EvidenceStoreError};
pub use finality_proof::{FinalityProof, FinalityProofError};
pub use pending_blocks::PendingBlocks;
pub use root_store::RootStore;
pub use safety_store::{SafetyStore, SafetyStoreError};
pub use service::{ServiceCounters, ServiceParts, spawn};
pub use snapshot_bundle::{BundleError, SnapshotBundle, VerifiedBundle};
pub use snapshot_writer::{SnapshotWriteError, SnapshotWriter};
pub use vrf_log::{VrfLog, VrfLogError};
pub use wire::{ClusterMessage, WireError};
