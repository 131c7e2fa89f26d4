//! Turbine: how a leader's shreds reach every validator, and how missing ones are
//! repaired. Pure logic: no threads, no sockets, no files, no clock (callers pass
//! `now_ms` and seeds).
//!
//! # The algorithms
//!
//! **Broadcast tree** ([`tree`]). For each shred `(slot, kind, index)` and the slot's
//! leader, every other cluster node is placed in a stake-weighted random order:
//! weighted sampling without replacement (a Fenwick tree of stakes, O(log n) per draw)
//! driven by the BLAKE3 extendable output of
//! `"aether.turbine.tree.v1" ‖ slot ‖ kind ‖ index ‖ leader`, unbiased integer rejection
//! sampling, no floating point. Zero-stake nodes follow the staked ones, shuffled
//! uniformly by the same stream. The order is read as a `fanout`-ary tree in heap layout:
//! position 0 is the root (the leader sends it the shred), the children of position `p`
//! are positions `p·fanout + 1 ..= p·fanout + fanout`. The seed uses the shred index, not
//! the FEC set index, so a withholding node high in one tree costs each set only its
//! stake share of shreds, which erasure coding absorbs (see [`tree`]).
//!
//! **Retransmit** ([`retransmit`]). A verified shred is forwarded once: a bitmap per
//! tracked slot dedups `(slot, kind, index)` before the tree is built; the memory holds
//! a bounded number of slots and everything at or below an evicted slot is refused as
//! too old, so forgetting never causes a second forward.
//!
//! **Repair** ([`repair`]). Requests (`Shred`, `HighestShred`, `Orphan`, `SlotShreds`)
//! are signed with the requester's Ed25519 identity over a domain tag, the recipient, a
//! timestamp and a nonce; a response is the stored shred followed by the nonce. The
//! [`RepairPlanner`] asks, per incomplete FEC set, for exactly the number of shreds the
//! set lacks (any `data_count` of its shreds recover it), choosing missing data shreds,
//! plus every data index of sets never seen and a `HighestShred` while the slot's end is
//! unknown; each request goes to a stake-weighted peer other than this node. The
//! [`RepairServer`] checks size, encoding, recipient, timestamp window, known requester,
//! signature, replay and a per-requester token bucket, cheapest first, and answers from
//! a [`ShredSource`].
//!
//! # Invariants
//!
//! - A tree holds every cluster node except the leader exactly once; every node but the
//!   root has exactly one parent; the tree's depth is at most `ceil(log_fanout n)`.
//! - The tree depends only on (cluster as a set, leader, shred id, fanout): not on the
//!   order the caller listed the nodes in, nor on the platform.
//! - A shred is forwarded at most once per node, whatever the memory forgot.
//! - Every per-packet failure is a counted drop with a stable label
//!   ([`RetransmitDrop::label`], [`RepairDrop::label`]), never a panic, and a refused
//!   request changes no server state.
//! - Memory is bounded: cluster size ([`CLUSTER_NODES_MAX`]), slots and indexes tracked
//!   by the retransmitter, requesters and nonces remembered by the server, shreds per
//!   request and per answer.
//!
//! # What this crate does not know
//!
//! The leader schedule (callers pass the slot's leader), the network and addresses, the
//! blockstore (behind [`ShredSource`]), the shred assembler (behind [`SlotShredView`]),
//! and shred signatures (only verified shreds should reach the [`Retransmitter`]).
//!
//! # Code map
//!
//! [`cluster`] nodes in canonical order · `shuffle` seed stream, Fenwick tree, weighted
//! shuffle · [`tree`] the broadcast tree · [`retransmit`] dedup and forward decision ·
//! [`repair`] messages, planner, server · [`error`] errors.

pub mod cluster;
pub mod error;
pub mod repair;
pub mod retransmit;
mod shuffle;
pub mod tree;

pub use cluster::{CLUSTER_NODES_MAX, ClusterNode, ClusterNodes};
pub use error::ClusterError;
pub use repair::{
    FecSetStatus, PlannedRepair, RepairDrop, RepairHeader, RepairPlanner, RepairRequest,
    RepairResponse, RepairServer, RepairServerConfig, RepairServerCounts, ShredRange, ShredSource,
    SignedRepairRequest, SlotShredView,
};
pub use retransmit::{
    RetransmitConfig, RetransmitCounts, RetransmitDecision, RetransmitDrop, Retransmitter,
};
pub use tree::{ShredId, TreeBuilder, TurbineTree};

#[cfg(test)]
mod tests;
