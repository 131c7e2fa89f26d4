//! The `/metrics` page: every stage's counters, every link, and the chain's slots.

use std::fmt::Write;

use aether_pipeline::Pipeline;
use aether_pipeline::chain::ChainState;

/// Renders Prometheus text for `pipeline` and `chain`.
pub fn render(pipeline: &Pipeline, chain: &ChainState) -> String {
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
        let _ = writeln!(
            out,
            "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}"
        );
    }
    let _ = writeln!(
        out,
        "# HELP aether_node_committed_transactions_total Transactions in final blocks.\n# TYPE aether_node_committed_transactions_total counter\naether_node_committed_transactions_total {}",
        chain.committed_transactions()
    );
    out
}
