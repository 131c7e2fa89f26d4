//! The `/metrics` page: every stage's counters, every link, and the chain's slots.

use std::fmt::Write;

use aether_account_storage::StoreStats;
use aether_pipeline::Pipeline;
use aether_pipeline::chain::ChainState;

/// Renders Prometheus text for `pipeline`, `chain` and the account storage's `storage`
/// statistics.
pub fn render(pipeline: &Pipeline, chain: &ChainState, storage: &StoreStats) -> String {
    let mut out = String::with_capacity(8192);
    for stage in pipeline.stage_metrics() {
        stage.render(&mut out);
    }
    let _ = writeln!(
        out,
        "# HELP aether_link_queue_depth_batches Batches waiting in a link."
    );
    let _ = writeln!(out, "# TYPE aether_link_queue_depth_batches gauge");
    let links = pipeline.link_stats();
    for link in &links {
        let _ = writeln!(
            out,
            "aether_link_queue_depth_batches{{link=\"{}\"}} {}",
            link.name, link.depth
        );
    }
    let _ = writeln!(
        out,
        "# HELP aether_link_dropped_batches_total Batches dropped because a link was full."
    );
    let _ = writeln!(out, "# TYPE aether_link_dropped_batches_total counter");
    for link in &links {
        let _ = writeln!(
            out,
            "aether_link_dropped_batches_total{{link=\"{}\"}} {}",
            link.name, link.dropped_total
        );
    }
    let gauges = [
        (
            "aether_node_slot",
            "Newest executed slot.",
            chain.processed_slot(),
        ),
        (
            "aether_node_finalized_slot",
            "Newest final slot.",
            chain.finalized_slot(),
        ),
        (
            "aether_banking_mempool_depth_transactions",
            "Transactions waiting in the mempool.",
            chain.mempool_depth(),
        ),
    ];
    for (name, help, value) in gauges {
        write_sample(&mut out, name, "gauge", help, value);
    }
    write_sample(
        &mut out,
        "aether_node_committed_transactions_total",
        "counter",
        "Transactions in final blocks.",
        chain.committed_transactions(),
    );
    render_storage(&mut out, storage);
    out
}

/// The account storage's size and compaction work (`aether_accounts_storage_*`):
/// compaction copies live records out of mostly-dead segments, and its copy volume is
/// the write amplification an operator sizes disks and CPU for.
fn render_storage(out: &mut String, storage: &StoreStats) {
    let gauges = [
        (
            "segments",
            "Segment files in use.",
            storage.segment_count as u64,
        ),
        (
            "live_keys",
            "Keys with a live value.",
            storage.live_keys as u64,
        ),
        (
            "index_capacity_keys",
            "Live keys the index holds before it next doubles (a pause of block commits).",
            storage.index_capacity_keys as u64,
        ),
        ("live_bytes", "Bytes of live records.", storage.live_bytes),
        (
            "segment_bytes",
            "Bytes of all segments in use.",
            storage.segment_bytes,
        ),
        (
            "retired_segments",
            "Compacted segments waiting for their last reader before deletion.",
            storage.retired_segments_pending as u64,
        ),
    ];
    for (what, help, value) in gauges {
        let name = format!("aether_accounts_storage_{what}");
        write_sample(out, &name, "gauge", help, value);
    }
    let counters = [
        (
            "blocks_committed_total",
            "Blocks committed since the node started.",
            storage.blocks_committed,
        ),
        (
            "segments_compacted_total",
            "Segments compacted since the node started.",
            storage.segments_compacted,
        ),
        (
            "records_copied_total",
            "Live records copied by compaction since the node started.",
            storage.records_copied,
        ),
        (
            "segments_deleted_total",
            "Segment files deleted since the node started.",
            storage.segments_deleted,
        ),
        (
            "reclaimed_bytes_total",
            "Bytes of deleted segment files since the node started.",
            storage.bytes_reclaimed,
        ),
        (
            "compaction_errors_total",
            "Background compaction passes that failed.",
            storage.compaction_errors,
        ),
    ];
    for (what, help, value) in counters {
        let name = format!("aether_accounts_storage_{what}");
        write_sample(out, &name, "counter", help, value);
    }
}

/// One unlabelled sample with its `HELP` and `TYPE` lines (`kind`: gauge or counter).
fn write_sample(out: &mut String, name: &str, kind: &str, help: &str, value: u64) {
    let _ = writeln!(
        out,
        "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
    );
}
