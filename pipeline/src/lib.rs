//! The TPU pipeline of one node: how a transaction becomes part of a block.
//!
//! ```text
//! client ─QUIC─▶ fetch ─▶ sigverify ─▶ banking ──────────────▶ shred ─▶ blockstore
//!                (limits,  (parse, dedup, (mempool by fee/byte,  (RS FEC 32+32,
//!                 batches)  batch verify)  parallel execution,     Merkle root
//!                                          a block per slot,       signed once)
//!                                          accounts-db commit)
//! ```
//!
//! # Shape
//!
//! - A stage is logic plus the one shared runner ([`runner`]): the runner owns the
//!   thread (pinned with core_affinity when configured), polls the input link, times
//!   the stage's work, publishes downstream with backpressure, and calls housekeeping
//!   at least every 2 ms (the banking stage's slot clock lives there).
//! - Links ([`link`]) are bounded lock-free queues allocated at start-up carrying
//!   batches; the graph and each link's depth and full-queue policy are one table in
//!   [`topology`].
//! - Each stage counts packets in/out, busy time, backpressure and drops by reason
//!   ([`metrics`]); the node renders them at `/metrics`.
//!
//! # Stages
//!
//! | stage | file | logic |
//! |---|---|---|
//! | fetch | [`fetch`] | QUIC server (quinn), one transaction per unidirectional stream, per-connection limits |
//! | sigverify | [`sigverify`] | parse, duplicate filter ([`dedup`]), one `SigVerify` backend call per batch |
//! | banking | [`banking`] | [`mempool`], parallel execution (`aether-ledger`), slot clock, sealing ([`leader`]) |
//! | shred | [`shred_stage`] | `aether-shred` FEC sets, one atomic blockstore write per slot |
//!
//! [`chain`] is what RPC reads while the pipeline runs. [`replay`] checks and executes
//! a block another validator produced (header signatures, VRF, transactions, state
//! root); it is the logic the replay stage will run once blocks arrive from peers.
//!
//! # Invariants
//!
//! - No queue grows: every link has a fixed capacity; the network-fed link drops and
//!   counts, internal links apply backpressure.
//! - A slot is reported final only after accounts-db has made its state durable and
//!   the blockstore has written its shreds, metadata and statuses in one batch.
//! - A bad packet is a counted drop, never a panic or a log line.

pub mod banking;
pub mod chain;
pub mod dedup;
pub mod fetch;
pub mod leader;
pub mod link;
pub mod mempool;
pub mod metrics;
pub mod packet;
pub mod replay;
pub mod runner;
pub mod shred_stage;
pub mod sigverify;
pub mod topology;

pub use topology::{BlockProduction, Pipeline, PipelineConfig, PipelineError, PipelineParts};
