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

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
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

use crate::block_broadcast::BlockBroadcast;
use crate::block_source;
use crate::driver::{Driver, DriverError, Outbound};
use crate::forwarding;
use crate::snapshot_writer::SnapshotWriter;
use crate::wire::ClusterMessage;

mod counters;
mod peer_limits;
mod stopwatch;

pub use counters::{FINALITY_BUCKETS_SECONDS, LatencyHistogram, ReasonCounts, ServiceCounters};
use peer_limits::PeerLimits;
use stopwatch::Stopwatch;

/// How often the refusal and drop counters are copied for `/metrics` (not every loop:
/// the copy allocates).
const SNAPSHOT_INTERVAL: Duration = Duration::from_millis(250);

/// Most verified batches and network messages taken per loop.
const INPUTS_PER_LOOP: usize = 256;

/// A loop that takes longer than this is logged with its slowest step (votes and
/// proposals wait meanwhile; rounds last 500 ms).
const SLOW_LOOP: Duration = Duration::from_millis(100);

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
    /// Final blocks the blockstore missed when the node stopped (from
    /// [`crate::PendingBlocks::final_chain`]), oldest first: handed to the shred stage
    /// before anything else.
    pub unstored_final_blocks: Vec<Block>,
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
    let running = || !parts.shutdown.load(Ordering::Relaxed);
    for block in std::mem::take(&mut parts.unstored_final_blocks) {
        tracing::info!(
            slot = block.header.header.slot,
            "storing a final block the blockstore missed"
        );
        let transaction_ids = block
            .transactions
            .iter()
            .map(Transaction::transaction_id)
            .collect();
        let _ = parts
            .sealed
            .push(sealed_block(&block, transaction_ids), running);
    }
    let mut pruned_through = 0;
    parts.driver.tick(0)?;
    parts.driver.start()?;
    flush(&mut parts, &mut limits, &mut timer, 0);
    while !parts.shutdown.load(Ordering::Relaxed) {
        let mut worked = false;
        let mut stopwatch = Stopwatch::start();
        parts
            .counters
            .loop_started_unix_ms
            .store(wallclock_ms(), Ordering::Relaxed);
        for _ in 0..INPUTS_PER_LOOP {
            let Some(batch) = parts.verified.pop() else {
                break;
            };
            worked = true;
            take_verified(&mut parts, batch);
        }
        stopwatch.lap("verified transactions");
        for _ in 0..INPUTS_PER_LOOP {
            let Ok(message) = parts.inbound.try_recv() else {
                break;
            };
            worked = true;
            let kind = message.kind;
            handle(
                &mut parts,
                &mut limits,
                message,
                started.elapsed().as_millis() as u64,
            )?;
            stopwatch.lap(kind.label());
        }
        if let Some((round, deadline)) = timer
            && Instant::now() >= deadline
        {
            timer = None;
            worked = true;
            tracing::info!(round, "round timed out");
            parts.driver.on_timer(round)?;
            stopwatch.lap("round timer");
        }
        parts.driver.tick(started.elapsed().as_millis() as u64)?;
        stopwatch.lap("tick");
        for (peer, request) in parts
            .broadcast
            .repair_requests(started.elapsed().as_millis() as u64, wallclock_ms())
        {
            send_frame(&parts, peer, MessageKind::RepairRequest, request);
        }
        stopwatch.lap("repair requests");
        flush(
            &mut parts,
            &mut limits,
            &mut timer,
            started.elapsed().as_millis() as u64,
        );
        stopwatch.lap("flush");
        if Instant::now() >= next_snapshot {
            snapshot_refusals(&parts);
            // Kept blocks go once the blockstore holds them (see `PendingBlocks`).
            if let Some(stored) = parts.blockstore.newest_finalized_slot()
                && stored > pruned_through
            {
                parts.driver.prune_pending_through(stored);
                pruned_through = stored;
            }
            next_snapshot = Instant::now() + SNAPSHOT_INTERVAL;
        }
        if let Some((total, step, step_time)) = stopwatch.slow(SLOW_LOOP) {
            parts
                .counters
                .slow_loops_total
                .fetch_add(1, Ordering::Relaxed);
            tracing::warn!(
                total_ms = total.as_millis() as u64,
                step,
                step_ms = step_time.as_millis() as u64,
                "consensus loop slow"
            );
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
    let core = parts.driver.core();
    let leaders = forwarding::upcoming_leaders(
        core.index(),
        core.round(),
        |round| core.leader_of(round),
        |leader| core.is_unresponsive(leader),
    );
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
    counters.proposals_ahead_of_final_nonces_total.store(
        core_counts.proposals_ahead_of_final_nonces,
        Ordering::Relaxed,
    );
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
        *parts.counters.validators.lock().expect("stats lock") = parts.driver.validator_stats();
    }
    let running = || !parts.shutdown.load(Ordering::Relaxed);
    for committed in committed {
        parts
            .counters
            .committed_blocks_total
            .fetch_add(1, Ordering::Relaxed);
        parts
            .chain
            .addresses
            .write()
            .expect("address index lock")
            .apply(&committed.writes, &committed.replaced);
        let _ = parts.sealed.push(
            sealed_block(&committed.block, committed.transaction_ids),
            running,
        );
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
    let writing_started = Instant::now();
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
            tracing::info!(
                slot,
                took_ms = writing_started.elapsed().as_millis() as u64,
                "snapshot written"
            );
        }
        Err(error) => tracing::warn!(%error, "snapshot not written"),
    }
}

/// A final block (with its transactions' ids) for the shred stage.
fn sealed_block(block: &Block, transaction_ids: Vec<Hash>) -> SealedBlock {
    let now = Instant::now();
    SealedBlock {
        block: block.clone(),
        encoded: encode(block),
        hash: block.hash(),
        received_at: vec![now; transaction_ids.len()],
        transaction_ids,
    }
}
