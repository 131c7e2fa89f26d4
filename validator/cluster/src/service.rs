//! The runner of the consensus driver inside a node: one thread that feeds the driver
//! verified transactions (the pipeline's sigverify output), validator messages (from
//! `aether-network`) and its round timer, sends what it produces, and hands committed
//! blocks to the pipeline's shred stage (which stores them; they are then final).
//!
//! This validator's proposals leave as Turbine shreds ([`BlockBroadcast`]); peers'
//! shreds are verified, forwarded to this node's children in each shred's tree and
//! reassembled into blocks for the driver. Block fetches (repair of a missing block)
//! are answered whole, from memory or the blockstore.
//!
//! Each loop takes a bounded amount of each input, so no input starves the others;
//! it sleeps 1 ms only when nothing happened. Malformed or unexpected messages are
//! counted ([`ServiceCounters`]), never fatal; a driver error (the safety state could
//! not be made durable, the accounts-db could not finalize) stops the thread with the
//! error, and the node stops with it.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use aether_blockstore::Blockstore;
use aether_crypto::ed25519::Ed25519PublicKey;
use aether_network::{InboundMessage, MessageKind, NetworkEndpoint};
use aether_pipeline::banking::SealedBlock;
use aether_pipeline::chain::ChainState;
use aether_pipeline::link::Link;
use aether_pipeline::packet::{BATCH_PACKETS_MAX, Packet, PacketBatch};
use aether_pipeline::sigverify::VerifiedBatch;
use aether_types::codec::encode;
use aether_types::{Block, Hash, Transaction, ValidatorIndex};
use tokio::sync::mpsc::Receiver;

use crate::block_broadcast::{BlockBroadcast, BroadcastCounts};
use crate::block_source;
use crate::driver::{Driver, DriverError, Outbound, ValidatorStats};
use crate::forwarding;
use crate::rate_limit::PeerRateLimiter;
use crate::snapshot_writer::SnapshotWriter;
use crate::wire::ClusterMessage;

/// How often the refusal and drop counters are copied for `/metrics` (not every loop:
/// the copy allocates).
const SNAPSHOT_INTERVAL: Duration = Duration::from_millis(250);

/// Transactions one peer may forward here per second (also the burst).
const FORWARDED_PER_PEER_PER_SECOND: u64 = 50_000;
/// Kibibytes of whole blocks one peer may be sent per second in answer to fetches
/// (64 MiB/s)...
const FETCH_ANSWER_KIB_PER_PEER_PER_SECOND: u64 = 64 * 1024;
/// ... and at once (a validator catching up asks for a chain of them: 256 MiB).
const FETCH_ANSWER_KIB_PER_PEER_BURST: u64 = 256 * 1024;
/// Block fetches remembered (answers to others are refused).
const SOLICITED_BLOCKS_MAX: usize = 4_096;
/// How long an answer to a block fetch is taken.
const FETCH_ANSWER_WINDOW_MS: u64 = 10_000;

/// Most verified batches and network messages taken per loop.
const INPUTS_PER_LOOP: usize = 256;

/// Counters of the service, rendered at `/metrics`.
#[derive(Debug, Default)]
pub struct ServiceCounters {
    /// Messages that did not decode or had an unexpected kind.
    pub malformed_messages_total: AtomicU64,
    /// Messages from an identity that is not a validator.
    pub unknown_sender_total: AtomicU64,
    /// Outbound messages the network refused (queue full, unknown address).
    pub send_failures_total: AtomicU64,
    /// Last round this validator voted in.
    pub last_vote_round: AtomicU64,
    /// Current consensus round.
    pub round: AtomicU64,
    /// Leader of the next round (`u64::MAX` when its epoch nonce is not known yet).
    pub next_leader: AtomicU64,
    /// Blocks committed.
    pub committed_blocks_total: AtomicU64,
    /// QCs aggregated here.
    pub qcs_formed_total: AtomicU64,
    /// TCs aggregated here.
    pub tcs_formed_total: AtomicU64,
    /// Rounds this validator timed out.
    pub rounds_timed_out_total: AtomicU64,
    /// Snapshots written for peers.
    pub snapshots_written_total: AtomicU64,
    /// Slot of the newest snapshot written.
    pub snapshot_slot: AtomicU64,
    /// Equivocations recorded as evidence.
    pub equivocations_total: AtomicU64,
    /// Block fetches (repair requests) sent to peers.
    pub block_fetches_total: AtomicU64,
    /// Peers' block fetches answered.
    pub block_fetch_answers_total: AtomicU64,
    /// Transactions forwarded to upcoming leaders (one per leader sent to).
    pub forwarded_transactions_total: AtomicU64,
    /// Transactions peers forwarded here, queued for sigverify.
    pub forwarded_received_total: AtomicU64,
    /// Transactions peers forwarded here, dropped because sigverify's queue was full.
    pub forwarded_dropped_total: AtomicU64,
    /// Transactions peers forwarded here, dropped by the per-peer rate limit.
    pub forwarded_rate_limited_total: AtomicU64,
    /// Block fetches not answered: the asking peer's rate limit.
    pub block_fetch_rate_limited_total: AtomicU64,
    /// Whole blocks received that this validator did not ask for (dropped).
    pub unsolicited_blocks_total: AtomicU64,
    /// Own blocks sent whole because they could not be shredded.
    pub unshredded_proposals_total: AtomicU64,
    /// Turbine's counters, copied with the refusals.
    pub turbine: std::sync::Mutex<BroadcastCounts>,
    /// From built or accepted here to final, per block.
    pub finality_latency: LatencyHistogram,
    /// Per validator index: last vote and skipped slots seen in the final chain.
    pub validators: std::sync::Mutex<Vec<ValidatorStats>>,
    /// Blocks refused by replay (or held back), by reason, and messages the core
    /// dropped, by reason: snapshots refreshed every 250 ms.
    pub refusals: std::sync::Mutex<(ReasonCounts, ReasonCounts)>,
}

/// Counts by stable reason label.
pub type ReasonCounts = Vec<(&'static str, u64)>;

/// Upper bounds (seconds) of the finality latency histogram's buckets.
pub const FINALITY_BUCKETS_SECONDS: [f64; 10] =
    [0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0, 30.0];

/// A fixed-bucket latency histogram (Prometheus semantics: cumulative on render).
#[derive(Debug, Default)]
pub struct LatencyHistogram {
    buckets: [AtomicU64; FINALITY_BUCKETS_SECONDS.len()],
    count: AtomicU64,
    sum_milliseconds: AtomicU64,
}

impl LatencyHistogram {
    /// Records one observation.
    pub fn observe_ms(&self, milliseconds: u64) {
        let seconds = milliseconds as f64 / 1e3;
        if let Some(bucket) = FINALITY_BUCKETS_SECONDS
            .iter()
            .position(|bound| seconds <= *bound)
        {
            self.buckets[bucket].fetch_add(1, Ordering::Relaxed);
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_milliseconds
            .fetch_add(milliseconds, Ordering::Relaxed);
    }

    /// Appends the histogram as Prometheus text under `name`.
    pub fn render(&self, name: &str, help: &str, out: &mut String) {
        use std::fmt::Write;
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} histogram");
        let mut cumulative = 0;
        for (bound, bucket) in FINALITY_BUCKETS_SECONDS.iter().zip(&self.buckets) {
            cumulative += bucket.load(Ordering::Relaxed);
            let _ = writeln!(out, "{name}_bucket{{le=\"{bound}\"}} {cumulative}");
        }
        let count = self.count.load(Ordering::Relaxed);
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {count}");
        let sum = self.sum_milliseconds.load(Ordering::Relaxed) as f64 / 1e3;
        let _ = writeln!(out, "{name}_sum {sum}");
        let _ = writeln!(out, "{name}_count {count}");
    }
}

impl ServiceCounters {
    /// Appends every counter as Prometheus text (`aether_consensus_*`).
    pub fn render(&self, out: &mut String) {
        use std::fmt::Write;
        let mut sample = |name: &str, kind: &str, help: &str, value: u64| {
            let _ = writeln!(out, "# HELP aether_consensus_{name} {help}");
            let _ = writeln!(out, "# TYPE aether_consensus_{name} {kind}");
            let _ = writeln!(out, "aether_consensus_{name} {value}");
        };
        let load = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        sample(
            "round",
            "gauge",
            "Current consensus round.",
            load(&self.round),
        );
        sample(
            "last_vote_round",
            "gauge",
            "Last round this validator voted in.",
            load(&self.last_vote_round),
        );
        sample(
            "committed_blocks_total",
            "counter",
            "Blocks committed by the 2-chain rule.",
            load(&self.committed_blocks_total),
        );
        sample(
            "qcs_formed_total",
            "counter",
            "Quorum certificates aggregated here from votes.",
            load(&self.qcs_formed_total),
        );
        sample(
            "tcs_formed_total",
            "counter",
            "Timeout certificates aggregated here from timeouts.",
            load(&self.tcs_formed_total),
        );
        sample(
            "rounds_timed_out_total",
            "counter",
            "Rounds this validator timed out (signed a timeout for).",
            load(&self.rounds_timed_out_total),
        );
        sample(
            "snapshots_written_total",
            "counter",
            "Snapshots (state and bundle) written for peers booting far behind.",
            load(&self.snapshots_written_total),
        );
        sample(
            "snapshot_slot",
            "gauge",
            "Slot of the newest snapshot written.",
            load(&self.snapshot_slot),
        );
        sample(
            "equivocations_total",
            "counter",
            "Equivocations seen (two proposals or two votes for one round by one key).",
            load(&self.equivocations_total),
        );
        sample(
            "block_fetches_total",
            "counter",
            "Block fetches (repair requests) sent to peers.",
            load(&self.block_fetches_total),
        );
        sample(
            "block_fetch_answers_total",
            "counter",
            "Peers' block fetches answered.",
            load(&self.block_fetch_answers_total),
        );
        sample(
            "forwarded_transactions_total",
            "counter",
            "Transactions forwarded to upcoming leaders (one per leader).",
            load(&self.forwarded_transactions_total),
        );
        sample(
            "forwarded_received_total",
            "counter",
            "Transactions peers forwarded here, queued for sigverify.",
            load(&self.forwarded_received_total),
        );
        sample(
            "forwarded_dropped_total",
            "counter",
            "Forwarded transactions dropped: sigverify's queue was full.",
            load(&self.forwarded_dropped_total),
        );
        sample(
            "forwarded_rate_limited_total",
            "counter",
            "Forwarded transactions dropped by the per-peer rate limit.",
            load(&self.forwarded_rate_limited_total),
        );
        sample(
            "block_fetch_rate_limited_total",
            "counter",
            "Block fetches not answered because of the asking peer's rate limit.",
            load(&self.block_fetch_rate_limited_total),
        );
        sample(
            "unsolicited_blocks_total",
            "counter",
            "Whole blocks received without a fetch asking for them (dropped).",
            load(&self.unsolicited_blocks_total),
        );
        sample(
            "unshredded_proposals_total",
            "counter",
            "Own proposals sent whole because they could not be shredded.",
            load(&self.unshredded_proposals_total),
        );
        sample(
            "malformed_messages_total",
            "counter",
            "Validator messages that did not decode.",
            load(&self.malformed_messages_total),
        );
        sample(
            "unknown_sender_total",
            "counter",
            "Validator messages from identities outside the validator set.",
            load(&self.unknown_sender_total),
        );
        sample(
            "send_failures_total",
            "counter",
            "Messages the network refused to queue.",
            load(&self.send_failures_total),
        );
        {
            let refusals = self.refusals.lock().expect("refusals lock");
            let _ = writeln!(
                out,
                "# HELP aether_consensus_rejected_blocks_total Blocks refused before a vote, by reason."
            );
            let _ = writeln!(out, "# TYPE aether_consensus_rejected_blocks_total counter");
            for (reason, count) in &refusals.0 {
                let _ = writeln!(
                    out,
                    "aether_consensus_rejected_blocks_total{{reason=\"{reason}\"}} {count}"
                );
            }
            let _ = writeln!(
                out,
                "# HELP aether_consensus_dropped_messages_total Consensus messages the core dropped, by reason."
            );
            let _ = writeln!(
                out,
                "# TYPE aether_consensus_dropped_messages_total counter"
            );
            for (reason, count) in &refusals.1 {
                let _ = writeln!(
                    out,
                    "aether_consensus_dropped_messages_total{{reason=\"{reason}\"}} {count}"
                );
            }
        }
        self.finality_latency.render(
            "aether_consensus_finality_latency_seconds",
            "Seconds from a block built or accepted here to its commit.",
            out,
        );
        render_turbine(&self.turbine.lock().expect("turbine lock"), out);
    }
}

/// Appends Turbine's counters as Prometheus text (`aether_turbine_*`).
fn render_turbine(counts: &BroadcastCounts, out: &mut String) {
    use std::fmt::Write;
    for (name, help, value) in [
        (
            "shreds_sent_total",
            "Shreds this validator made as leader.",
            counts.shreds_sent,
        ),
        (
            "shreds_received_total",
            "Shreds received from peers.",
            counts.shreds_received,
        ),
        (
            "retransmitted_shreds_total",
            "Shred sends to children in Turbine trees.",
            counts.retransmitted,
        ),
        (
            "blocks_assembled_total",
            "Blocks reassembled from shreds.",
            counts.blocks_assembled,
        ),
        (
            "repair_requests_sent_total",
            "Shred repair requests sent to peers.",
            counts.repair_requests_sent,
        ),
        (
            "repaired_shreds_total",
            "Shreds received in answer to repair requests.",
            counts.repaired_shreds,
        ),
        (
            "repair_requests_served_total",
            "Peers' shred repair requests answered.",
            counts.repair_requests_served,
        ),
        (
            "repair_shreds_served_total",
            "Shreds sent in answer to peers' repair requests.",
            counts.repair_shreds_served,
        ),
    ] {
        let _ = writeln!(out, "# HELP aether_turbine_{name} {help}");
        let _ = writeln!(out, "# TYPE aether_turbine_{name} counter");
        let _ = writeln!(out, "aether_turbine_{name} {value}");
    }
    let _ = writeln!(
        out,
        "# HELP aether_turbine_dropped_shreds_total Shreds refused, by reason."
    );
    let _ = writeln!(out, "# TYPE aether_turbine_dropped_shreds_total counter");
    let mut dropped: Vec<_> = counts.dropped.iter().collect();
    dropped.sort_unstable();
    for (reason, count) in dropped {
        let _ = writeln!(
            out,
            "aether_turbine_dropped_shreds_total{{reason=\"{reason}\"}} {count}"
        );
    }
    let _ = writeln!(
        out,
        "# HELP aether_turbine_repair_dropped_total Peers' repair requests refused, by reason."
    );
    let _ = writeln!(out, "# TYPE aether_turbine_repair_dropped_total counter");
    let mut refused: Vec<_> = counts.repair_dropped.iter().collect();
    refused.sort_unstable();
    for (reason, count) in refused {
        let _ = writeln!(
            out,
            "aether_turbine_repair_dropped_total{{reason=\"{reason}\"}} {count}"
        );
    }
}

/// Everything the service runs with.
pub struct ServiceParts {
    /// The driver.
    pub driver: Driver,
    /// This node's validator endpoint.
    pub endpoint: NetworkEndpoint,
    /// Its inbound messages.
    pub inbound: Receiver<InboundMessage>,
    /// The runtime the endpoint was bound on.
    pub runtime: tokio::runtime::Handle,
    /// Validator identities, by index.
    pub identities: Vec<Ed25519PublicKey>,
    /// Verified transactions from the pipeline.
    pub verified: Link<VerifiedBatch>,
    /// The pipeline's entry ahead of sigverify (transactions peers forward).
    pub ingress: Link<PacketBatch>,
    /// Committed blocks to the shred stage.
    pub sealed: Link<SealedBlock>,
    /// What RPC reads.
    pub chain: Arc<ChainState>,
    /// This node's blockstore (final blocks for peers' fetches).
    pub blockstore: Arc<Blockstore>,
    /// The key this node's shred stage signs FEC sets with.
    pub shred_signer: Ed25519PublicKey,
    /// Turbine: this validator's shredding, shred checks and reassembly.
    pub broadcast: BlockBroadcast,
    /// Snapshots offered to peers that boot far behind (`None`: none written).
    pub snapshots: Option<SnapshotWriter>,
    /// The genesis block's hash (where snapshot bundles' header chains may end).
    pub genesis_hash: Hash,
    /// Set to stop.
    pub shutdown: Arc<AtomicBool>,
    /// Counters.
    pub counters: Arc<ServiceCounters>,
}

/// Starts the service thread (`consensus:0`).
pub fn spawn(parts: ServiceParts) -> std::io::Result<JoinHandle<Result<(), DriverError>>> {
    std::thread::Builder::new()
        .name("consensus:0".into())
        .spawn(move || run(parts))
}

fn run(mut parts: ServiceParts) -> Result<(), DriverError> {
    let runtime = parts.runtime.clone();
    let _guard = runtime.enter();
    let mut timer: Option<(u64, Instant)> = None;
    let started = Instant::now();
    let mut next_snapshot = started;
    let mut limits = PeerLimits::new(parts.identities.len());
    parts.driver.tick(0)?;
    parts.driver.start()?;
    flush(&mut parts, &mut limits, &mut timer, 0);
    while !parts.shutdown.load(Ordering::Relaxed) {
        let mut worked = false;
        for _ in 0..INPUTS_PER_LOOP {
            let Some(batch) = parts.verified.pop() else {
                break;
            };
            worked = true;
            take_verified(&mut parts, batch);
        }
        for _ in 0..INPUTS_PER_LOOP {
            let Ok(message) = parts.inbound.try_recv() else {
                break;
            };
            worked = true;
            handle(
                &mut parts,
                &mut limits,
                message,
                started.elapsed().as_millis() as u64,
            )?;
        }
        if let Some((round, deadline)) = timer
            && Instant::now() >= deadline
        {
            timer = None;
            worked = true;
            tracing::info!(round, "round timed out");
            parts.driver.on_timer(round)?;
        }
        parts.driver.tick(started.elapsed().as_millis() as u64)?;
        for (peer, request) in parts
            .broadcast
            .repair_requests(started.elapsed().as_millis() as u64, wallclock_ms())
        {
            send_frame(&parts, peer, MessageKind::RepairRequest, request);
        }
        flush(
            &mut parts,
            &mut limits,
            &mut timer,
            started.elapsed().as_millis() as u64,
        );
        if Instant::now() >= next_snapshot {
            snapshot_refusals(&parts);
            next_snapshot = Instant::now() + SNAPSHOT_INTERVAL;
        }
        if !worked {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    Ok(())
}

/// Queues verified transactions for this validator's blocks and forwards them to the
/// leaders of the next rounds ([`forwarding`]).
fn take_verified(parts: &mut ServiceParts, batch: VerifiedBatch) {
    let round = parts.driver.core().round();
    let me = parts.driver.core().index();
    let leaders = forwarding::upcoming_leaders(me, round, |round| parts.driver.leader_of(round));
    let mut wires: Vec<Vec<u8>> = Vec::new();
    for verified in batch.transactions {
        if !leaders.is_empty()
            && let Ok(wire) = verified.transaction.to_wire()
        {
            wires.push(wire);
        }
        // A full queue drops the newest; the sender retries or the bench counts it.
        let _ = parts.driver.submit(verified.transaction, verified.id);
    }
    if wires.is_empty() {
        return;
    }
    parts
        .counters
        .forwarded_transactions_total
        .fetch_add(wires.len() as u64 * leaders.len() as u64, Ordering::Relaxed);
    for payload in forwarding::encode_batches(wires.iter().map(Vec::as_slice)) {
        for leader in &leaders {
            if let Some(peer) = parts.identities.get(leader.0 as usize) {
                send_frame(parts, *peer, MessageKind::Transactions, payload.clone());
            }
        }
    }
}

/// Transactions a peer forwarded: into this node's pipeline ahead of sigverify.
fn take_forwarded(
    parts: &ServiceParts,
    limits: &mut PeerLimits,
    sender: usize,
    payload: &[u8],
    now_ms: u64,
) {
    let Ok(wires) = forwarding::decode_batch(payload) else {
        parts
            .counters
            .malformed_messages_total
            .fetch_add(1, Ordering::Relaxed);
        return;
    };
    if !limits.forwarded.allow(sender, wires.len() as u64, now_ms) {
        parts
            .counters
            .forwarded_rate_limited_total
            .fetch_add(wires.len() as u64, Ordering::Relaxed);
        return;
    }
    let mut packets = wires
        .into_iter()
        .filter_map(|wire| Packet::from_bytes(wire, None))
        .peekable();
    while packets.peek().is_some() {
        let mut batch = PacketBatch::with_capacity();
        batch
            .packets
            .extend(packets.by_ref().take(BATCH_PACKETS_MAX));
        let count = batch.packets.len() as u64;
        // Never waits: a full sigverify queue drops the batch (counted), as for clients.
        let counter = match parts.ingress.push(batch, || false) {
            Ok(()) => &parts.counters.forwarded_received_total,
            Err(_) => &parts.counters.forwarded_dropped_total,
        };
        counter.fetch_add(count, Ordering::Relaxed);
    }
}

/// What peers may make this validator spend or accept (see [`PeerRateLimiter`]).
struct PeerLimits {
    /// Forwarded transactions into sigverify.
    forwarded: PeerRateLimiter,
    /// Kibibytes of whole blocks sent in answer to fetches.
    fetch_answer_kib: PeerRateLimiter,
    /// Blocks this validator asked for, and until when (ms) an answer is taken: whole
    /// blocks are taken only as answers (a relayed copy could strip its TC).
    solicited: HashMap<Hash, u64>,
}

impl PeerLimits {
    fn new(peers: usize) -> Self {
        Self {
            forwarded: PeerRateLimiter::new(
                peers,
                FORWARDED_PER_PEER_PER_SECOND,
                FORWARDED_PER_PEER_PER_SECOND,
            ),
            fetch_answer_kib: PeerRateLimiter::new(
                peers,
                FETCH_ANSWER_KIB_PER_PEER_PER_SECOND,
                FETCH_ANSWER_KIB_PER_PEER_BURST,
            ),
            solicited: HashMap::new(),
        }
    }

    /// Remembers a fetch of `hash` at `now_ms` (bounded: expired entries go first, then
    /// the whole memory if it is still full).
    fn solicit(&mut self, hash: Hash, now_ms: u64) {
        if self.solicited.len() >= SOLICITED_BLOCKS_MAX {
            self.solicited.retain(|_, until_ms| *until_ms >= now_ms);
        }
        if self.solicited.len() >= SOLICITED_BLOCKS_MAX {
            self.solicited.clear();
        }
        self.solicited.insert(hash, now_ms + FETCH_ANSWER_WINDOW_MS);
    }

    /// True when `hash` was asked for and the answer is in time (every peer is asked:
    /// the copies after the first are dropped by the driver as already held).
    fn take_solicited(&mut self, hash: &Hash, now_ms: u64) -> bool {
        self.solicited
            .get(hash)
            .is_some_and(|until_ms| *until_ms >= now_ms)
    }
}

fn handle(
    parts: &mut ServiceParts,
    limits: &mut PeerLimits,
    message: InboundMessage,
    now_ms: u64,
) -> Result<(), DriverError> {
    let Some(sender) = parts
        .identities
        .iter()
        .position(|identity| *identity == message.sender)
    else {
        parts
            .counters
            .unknown_sender_total
            .fetch_add(1, Ordering::Relaxed);
        return Ok(());
    };
    if message.kind == MessageKind::Transactions {
        take_forwarded(parts, limits, sender, &message.payload, now_ms);
        return Ok(());
    }
    match message.kind {
        MessageKind::Shred | MessageKind::RepairResponse => {
            let driver = &parts.driver;
            let received = if message.kind == MessageKind::Shred {
                parts
                    .broadcast
                    .on_shred(&message.payload, |slot| driver.leader_of(slot), now_ms)
            } else {
                parts.broadcast.on_repair_response(
                    &message.payload,
                    |slot| driver.leader_of(slot),
                    now_ms,
                )
            };
            for (child, bytes) in received.forwards {
                send_frame(parts, child, MessageKind::Shred, bytes);
            }
            if let Some((block, tc)) = received.block {
                parts.driver.on_block(block, tc)?;
            }
            return Ok(());
        }
        MessageKind::RepairRequest => {
            for response in
                parts
                    .broadcast
                    .on_repair_request(&message.payload, &message.sender, wallclock_ms())
            {
                send_frame(parts, message.sender, MessageKind::RepairResponse, response);
            }
            return Ok(());
        }
        _ => {}
    }
    let Ok(decoded) = ClusterMessage::from_frame(message.kind, &message.payload) else {
        parts
            .counters
            .malformed_messages_total
            .fetch_add(1, Ordering::Relaxed);
        return Ok(());
    };
    match decoded {
        ClusterMessage::Proposal { block, tc } => {
            // Proposals travel as shreds; a whole block is only ever an answer to a fetch.
            if !limits.take_solicited(&block.hash(), now_ms) {
                parts
                    .counters
                    .unsolicited_blocks_total
                    .fetch_add(1, Ordering::Relaxed);
                return Ok(());
            }
            parts.driver.on_block(*block, tc)
        }
        ClusterMessage::Vote(vote) => parts.driver.on_vote(*vote),
        ClusterMessage::Timeout { timeout, tc } => parts.driver.on_timeout(*timeout, tc),
        ClusterMessage::FetchBlock(hash) => {
            // A look-up costs the asker 1 KiB of its allowance, the answer its size.
            if !limits.fetch_answer_kib.allow(sender, 1, now_ms) {
                parts
                    .counters
                    .block_fetch_rate_limited_total
                    .fetch_add(1, Ordering::Relaxed);
                return Ok(());
            }
            let block = parts
                .driver
                .block(&hash)
                .map(|block| (*block).clone())
                .or_else(|| {
                    block_source::final_block(&parts.blockstore, &hash, &parts.shred_signer)
                });
            if let Some(block) = block {
                let (kind, payload) = ClusterMessage::Proposal {
                    block: Box::new(block),
                    tc: None,
                }
                .to_frame();
                let kib = (payload.len() as u64).div_ceil(1024);
                if !limits.fetch_answer_kib.allow(sender, kib, now_ms) {
                    parts
                        .counters
                        .block_fetch_rate_limited_total
                        .fetch_add(1, Ordering::Relaxed);
                    return Ok(());
                }
                parts
                    .counters
                    .block_fetch_answers_total
                    .fetch_add(1, Ordering::Relaxed);
                send_frame(parts, message.sender, kind, payload);
            }
            Ok(())
        }
    }
}

fn send(parts: &ServiceParts, to: ValidatorIndex, message: &ClusterMessage) {
    let Some(peer) = parts.identities.get(to.0 as usize) else {
        return;
    };
    let (kind, payload) = message.to_frame();
    send_frame(parts, *peer, kind, payload);
}

fn send_frame(parts: &ServiceParts, peer: Ed25519PublicKey, kind: MessageKind, payload: Vec<u8>) {
    if peer == parts.endpoint.identity() {
        return;
    }
    if parts.endpoint.send(peer, kind, payload).is_err() {
        parts
            .counters
            .send_failures_total
            .fetch_add(1, Ordering::Relaxed);
    }
}

fn broadcast(parts: &ServiceParts, message: &ClusterMessage) {
    for index in 0..parts.identities.len() {
        send(parts, ValidatorIndex(index as u32), message);
    }
}

/// Copies the driver's refusal and the core's drop counters for `/metrics`.
fn snapshot_refusals(parts: &ServiceParts) {
    let mut rejected: Vec<(&'static str, u64)> = parts
        .driver
        .rejected()
        .iter()
        .map(|(reason, count)| (*reason, *count))
        .collect();
    rejected.sort_unstable();
    let dropped: Vec<(&'static str, u64)> = parts.driver.core().drops().iter().collect();
    *parts.counters.refusals.lock().expect("refusals lock") = (rejected, dropped);
    *parts.counters.turbine.lock().expect("turbine lock") = parts.broadcast.counts().clone();
}

/// Sends the outbox, re-arms the timer, and passes committed blocks on.
fn flush(
    parts: &mut ServiceParts,
    limits: &mut PeerLimits,
    timer: &mut Option<(u64, Instant)>,
    now_ms: u64,
) {
    for outbound in parts.driver.take_outbox() {
        match outbound {
            Outbound::Proposal { block, tc } => match parts.broadcast.shred(&block, &tc) {
                Ok(sends) => {
                    for (root, bytes) in sends {
                        send_frame(parts, root, MessageKind::Shred, bytes);
                    }
                }
                Err(error) => {
                    tracing::warn!(%error, slot = block.header.header.slot, "proposal sent whole");
                    parts
                        .counters
                        .unshredded_proposals_total
                        .fetch_add(1, Ordering::Relaxed);
                    broadcast(
                        parts,
                        &ClusterMessage::Proposal {
                            block: Box::new((*block).clone()),
                            tc,
                        },
                    );
                }
            },
            Outbound::Vote { to, vote } => {
                parts
                    .counters
                    .last_vote_round
                    .fetch_max(vote.round, Ordering::Relaxed);
                send(parts, to, &ClusterMessage::Vote(Box::new(vote)));
            }
            Outbound::Timeout { timeout, tc } => {
                broadcast(parts, &ClusterMessage::Timeout { timeout, tc });
            }
            // Asked of every peer: the one named may have restarted and lost it (the
            // others answer from memory or their blockstore). Fine for small clusters;
            // larger ones want stake-weighted repair (`aether-turbine`).
            Outbound::FetchBlock { hash, .. } => {
                limits.solicit(hash, now_ms);
                parts
                    .counters
                    .block_fetches_total
                    .fetch_add(1, Ordering::Relaxed);
                broadcast(parts, &ClusterMessage::FetchBlock(hash));
            }
        }
    }
    match parts.driver.timer() {
        Some((round, after_ms)) => {
            if timer.is_none_or(|(armed, _)| armed != round) {
                *timer = Some((round, Instant::now() + Duration::from_millis(after_ms)));
            }
        }
        None => *timer = None,
    }
    let round = parts.driver.core().round();
    parts.counters.round.store(round, Ordering::Relaxed);
    parts.broadcast.set_round(round);
    let counters = &parts.counters;
    let core_counts = parts.driver.core().counts();
    counters
        .qcs_formed_total
        .store(core_counts.qcs_formed, Ordering::Relaxed);
    counters
        .tcs_formed_total
        .store(core_counts.tcs_formed, Ordering::Relaxed);
    counters
        .rounds_timed_out_total
        .store(core_counts.rounds_timed_out, Ordering::Relaxed);
    counters
        .equivocations_total
        .store(parts.driver.evidence_count(), Ordering::Relaxed);
    let next_leader = parts
        .driver
        .leader_of(round + 1)
        .map_or(u64::MAX, |leader| u64::from(leader.0));
    parts
        .counters
        .next_leader
        .store(next_leader, Ordering::Relaxed);
    parts.chain.set_processed(round.saturating_sub(1));
    for latency in parts.driver.take_finality_latencies_ms() {
        parts.counters.finality_latency.observe_ms(latency);
    }
    let committed = parts.driver.take_committed_blocks();
    if !committed.is_empty() {
        let final_slot = parts.driver.last_finalized().slot;
        parts.broadcast.set_final_slot(final_slot);
        write_snapshot_if_due(parts, final_slot);
        *parts.counters.validators.lock().expect("stats lock") =
            parts.driver.validator_stats().to_vec();
    }
    let running = || !parts.shutdown.load(Ordering::Relaxed);
    for (block, writes) in committed {
        parts
            .counters
            .committed_blocks_total
            .fetch_add(1, Ordering::Relaxed);
        parts
            .chain
            .addresses
            .write()
            .expect("address index lock")
            .apply(&writes);
        let _ = parts.sealed.push(sealed_block(&block), running);
    }
}

/// Milliseconds since the Unix epoch (repair request timestamps).
fn wallclock_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_millis() as u64)
}

/// Writes a snapshot with its bundle when the interval passed (see
/// [`SnapshotWriter`]); a failure is logged and retried at the next commit.
fn write_snapshot_if_due(parts: &mut ServiceParts, final_slot: u64) {
    let ServiceParts {
        snapshots,
        driver,
        blockstore,
        shred_signer,
        genesis_hash,
        counters,
        ..
    } = parts;
    let Some(writer) = snapshots.as_mut().filter(|writer| writer.due(final_slot)) else {
        return;
    };
    let Some(bundle) = driver.snapshot_bundle(genesis_hash, |slot, hash| {
        block_source::final_block_at(blockstore, slot, shred_signer)
            .filter(|block| block.hash() == *hash)
            .map(|block| block.header)
    }) else {
        return;
    };
    let accounts = driver.accounts_read();
    match writer.write(&accounts, &bundle) {
        Ok(slot) => {
            counters
                .snapshots_written_total
                .fetch_add(1, Ordering::Relaxed);
            counters.snapshot_slot.store(slot, Ordering::Relaxed);
            tracing::info!(slot, "snapshot written");
        }
        Err(error) => tracing::warn!(%error, "snapshot not written"),
    }
}

fn sealed_block(block: &Block) -> SealedBlock {
    let transaction_ids: Vec<_> = block
        .transactions
        .iter()
        .map(Transaction::transaction_id)
        .collect();
    let now = Instant::now();
    SealedBlock {
        block: block.clone(),
        encoded: encode(block),
        hash: block.hash(),
        received_at: vec![now; transaction_ids.len()],
        transaction_ids,
    }
}
