//! The consensus service's counters and their Prometheus text (`aether_consensus_*`,
//! `aether_turbine_*`): atomics the service thread stores and `/metrics` reads.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::block_broadcast::BroadcastCounts;
use crate::driver::ValidatorStats;

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
    /// Blocks built here while the final chain lagged more than an epoch.
    pub proposals_ahead_of_final_nonces_total: AtomicU64,
    /// Service loops that took longer than 100 ms (votes and proposals waited).
    pub slow_loops_total: AtomicU64,
    /// When the service last began a loop, in milliseconds since the Unix epoch (a
    /// value that stops moving is a stuck consensus thread).
    pub loop_started_unix_ms: AtomicU64,
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
    /// Appends every counter as Prometheus text (`aether_consensus_*`, then Turbine's).
    pub fn render(&self, out: &mut String) {
        let samples: [(&str, &str, &str, &AtomicU64); 23] = [
            ("round", "gauge", "Current consensus round.", &self.round),
            (
                "last_vote_round",
                "gauge",
                "Last round this validator voted in.",
                &self.last_vote_round,
            ),
            (
                "committed_blocks_total",
                "counter",
                "Blocks committed by the 2-chain rule.",
                &self.committed_blocks_total,
            ),
            (
                "qcs_formed_total",
                "counter",
                "Quorum certificates aggregated here from votes.",
                &self.qcs_formed_total,
            ),
            (
                "tcs_formed_total",
                "counter",
                "Timeout certificates aggregated here from timeouts.",
                &self.tcs_formed_total,
            ),
            (
                "rounds_timed_out_total",
                "counter",
                "Rounds this validator timed out (signed a timeout for).",
                &self.rounds_timed_out_total,
            ),
            (
                "proposals_ahead_of_final_nonces_total",
                "counter",
                "Blocks this validator set out to build in an epoch whose nonce the final chain did not determine yet (leader from the nonce along the parent chain: finality more than an epoch behind).",
                &self.proposals_ahead_of_final_nonces_total,
            ),
            (
                "slow_loops_total",
                "counter",
                "Consensus service loops that took longer than 100 ms.",
                &self.slow_loops_total,
            ),
            (
                "snapshots_written_total",
                "counter",
                "Snapshots (state and bundle) written for peers booting far behind.",
                &self.snapshots_written_total,
            ),
            (
                "snapshot_slot",
                "gauge",
                "Slot of the newest snapshot written.",
                &self.snapshot_slot,
            ),
            (
                "equivocations_total",
                "counter",
                "Equivocations seen (two proposals or two votes for one round by one key).",
                &self.equivocations_total,
            ),
            (
                "block_fetches_total",
                "counter",
                "Block fetches (repair requests) sent to peers.",
                &self.block_fetches_total,
            ),
            (
                "block_fetch_answers_total",
                "counter",
                "Peers' block fetches answered.",
                &self.block_fetch_answers_total,
            ),
            (
                "forwarded_transactions_total",
                "counter",
                "Transactions forwarded to upcoming leaders (one per leader).",
                &self.forwarded_transactions_total,
            ),
            (
                "forwarded_received_total",
                "counter",
                "Transactions peers forwarded here, queued for sigverify.",
                &self.forwarded_received_total,
            ),
            (
                "forwarded_dropped_total",
                "counter",
                "Forwarded transactions dropped: sigverify's queue was full.",
                &self.forwarded_dropped_total,
            ),
            (
                "forwarded_rate_limited_total",
                "counter",
                "Forwarded transactions dropped by the per-peer rate limit.",
                &self.forwarded_rate_limited_total,
            ),
            (
                "block_fetch_rate_limited_total",
                "counter",
                "Block fetches not answered because of the asking peer's rate limit.",
                &self.block_fetch_rate_limited_total,
            ),
            (
                "unsolicited_blocks_total",
                "counter",
                "Whole blocks received without a fetch asking for them (dropped).",
                &self.unsolicited_blocks_total,
            ),
            (
                "unshredded_proposals_total",
                "counter",
                "Own proposals sent whole because they could not be shredded.",
                &self.unshredded_proposals_total,
            ),
            (
                "malformed_messages_total",
                "counter",
                "Validator messages that did not decode.",
                &self.malformed_messages_total,
            ),
            (
                "unknown_sender_total",
                "counter",
                "Validator messages from identities outside the validator set.",
                &self.unknown_sender_total,
            ),
            (
                "send_failures_total",
                "counter",
                "Messages the network refused to queue.",
                &self.send_failures_total,
            ),
        ];
        for (name, kind, help, value) in samples {
            let value = value.load(Ordering::Relaxed);
            let _ = writeln!(out, "# HELP aether_consensus_{name} {help}");
            let _ = writeln!(out, "# TYPE aether_consensus_{name} {kind}");
            let _ = writeln!(out, "aether_consensus_{name} {value}");
        }
        {
            let refusals = self.refusals.lock().expect("refusals lock");
            render_reasons(
                out,
                "aether_consensus_rejected_blocks_total",
                "Blocks refused before a vote, by reason.",
                refusals.0.iter().map(|(reason, count)| (*reason, *count)),
            );
            render_reasons(
                out,
                "aether_consensus_dropped_messages_total",
                "Consensus messages the core dropped, by reason.",
                refusals.1.iter().map(|(reason, count)| (*reason, *count)),
            );
        }
        self.finality_latency.render(
            "aether_consensus_finality_latency_seconds",
            "Seconds from a block built or accepted here to its commit.",
            out,
        );
        render_turbine(&self.turbine.lock().expect("turbine lock"), out);
    }
}

/// Appends one counter family labelled by reason.
fn render_reasons(
    out: &mut String,
    name: &str,
    help: &str,
    counts: impl IntoIterator<Item = (&'static str, u64)>,
) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} counter");
    for (reason, count) in counts {
        let _ = writeln!(out, "{name}{{reason=\"{reason}\"}} {count}");
    }
}

/// Appends Turbine's counters as Prometheus text (`aether_turbine_*`).
fn render_turbine(counts: &BroadcastCounts, out: &mut String) {
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
    let mut dropped: Vec<_> = counts
        .dropped
        .iter()
        .map(|(reason, count)| (*reason, *count))
        .collect();
    dropped.sort_unstable();
    render_reasons(
        out,
        "aether_turbine_dropped_shreds_total",
        "Shreds refused, by reason.",
        dropped,
    );
    let mut refused: Vec<_> = counts
        .repair_dropped
        .iter()
        .map(|(reason, count)| (*reason, *count))
        .collect();
    refused.sort_unstable();
    render_reasons(
        out,
        "aether_turbine_repair_dropped_total",
        "Peers' repair requests refused, by reason.",
        refused,
    );
}
