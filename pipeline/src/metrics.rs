//! Per-stage counters, exported as Prometheus text.
//!
//! Names follow `aether_<stage>_<what>_<unit>`. Counters only grow; rates are
//! Prometheus's job. Stages add whole batches at a time (one atomic add per batch),
//! so counting costs nothing measurable on the hot path.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};

/// The counters of one stage.
pub struct StageMetrics {
    stage: &'static str,
    drop_reasons: &'static [&'static str],
    packets_in_total: AtomicU64,
    packets_out_total: AtomicU64,
    batches_total: AtomicU64,
    busy_nanoseconds_total: AtomicU64,
    backpressure_total: AtomicU64,
    queue_depth: AtomicU64,
    drops_total: Box<[AtomicU64]>,
}

impl StageMetrics {
    /// Counters for `stage`, which drops packets only for one of `drop_reasons`.
    pub fn new(stage: &'static str, drop_reasons: &'static [&'static str]) -> Self {
        Self {
            stage,
            drop_reasons,
            packets_in_total: AtomicU64::new(0),
            packets_out_total: AtomicU64::new(0),
            batches_total: AtomicU64::new(0),
            busy_nanoseconds_total: AtomicU64::new(0),
            backpressure_total: AtomicU64::new(0),
            queue_depth: AtomicU64::new(0),
            drops_total: drop_reasons.iter().map(|_| AtomicU64::new(0)).collect(),
        }
    }

    /// The stage's name.
    pub fn stage(&self) -> &'static str {
        self.stage
    }

    /// Counts packets taken in.
    pub fn add_in(&self, count: usize) {
        self.packets_in_total
            .fetch_add(count as u64, Ordering::Relaxed);
    }

    /// Counts packets passed on.
    pub fn add_out(&self, count: usize) {
        self.packets_out_total
            .fetch_add(count as u64, Ordering::Relaxed);
    }

    /// Counts `count` packets dropped for `reason` (one of the declared reasons).
    pub fn add_drop(&self, reason: &str, count: usize) {
        let index = self
            .drop_reasons
            .iter()
            .position(|known| *known == reason)
            .unwrap_or_else(|| panic!("stage {} has no drop reason {reason:?}", self.stage));
        self.drops_total[index].fetch_add(count as u64, Ordering::Relaxed);
    }

    /// Packets dropped for `reason` so far.
    pub fn drops(&self, reason: &str) -> u64 {
        self.drop_reasons
            .iter()
            .position(|known| *known == reason)
            .map_or(0, |index| self.drops_total[index].load(Ordering::Relaxed))
    }

    /// Packets taken in so far.
    pub fn packets_in(&self) -> u64 {
        self.packets_in_total.load(Ordering::Relaxed)
    }

    /// Packets passed on so far.
    pub fn packets_out(&self) -> u64 {
        self.packets_out_total.load(Ordering::Relaxed)
    }

    /// Input batches processed so far (packets in / batches = mean batch size).
    pub fn batches(&self) -> u64 {
        self.batches_total.load(Ordering::Relaxed)
    }

    pub(crate) fn add_batch(&self) {
        self.batches_total.fetch_add(1, Ordering::Relaxed);
    }

    /// Seconds spent working (not idle).
    pub fn busy_seconds(&self) -> f64 {
        self.busy_nanoseconds_total.load(Ordering::Relaxed) as f64 / 1e9
    }

    pub(crate) fn add_busy_nanoseconds(&self, nanoseconds: u64) {
        self.busy_nanoseconds_total
            .fetch_add(nanoseconds, Ordering::Relaxed);
    }

    pub(crate) fn add_backpressure(&self) {
        self.backpressure_total.fetch_add(1, Ordering::Relaxed);
    }

    /// Records the depth of the stage's input queue.
    pub fn set_queue_depth(&self, depth: usize) {
        self.queue_depth.store(depth as u64, Ordering::Relaxed);
    }

    /// The last recorded input queue depth.
    pub fn queue_depth(&self) -> u64 {
        self.queue_depth.load(Ordering::Relaxed)
    }

    /// Appends this stage's metrics in Prometheus text format.
    pub fn render(&self, out: &mut String) {
        let stage = self.stage;
        let mut counter = |name: &str, help: &str, value: String| {
            let _ = writeln!(out, "# HELP aether_{stage}_{name} {help}");
            let _ = writeln!(out, "# TYPE aether_{stage}_{name} counter");
            let _ = writeln!(out, "aether_{stage}_{name} {value}");
        };
        counter(
            "packets_in_total",
            "Packets the stage took in.",
            self.packets_in().to_string(),
        );
        counter(
            "packets_out_total",
            "Packets the stage passed on.",
            self.packets_out().to_string(),
        );
        counter(
            "batches_total",
            "Input batches the stage processed.",
            self.batches().to_string(),
        );
        counter(
            "busy_seconds_total",
            "Seconds the stage spent working.",
            format!("{:.6}", self.busy_seconds()),
        );
        counter(
            "backpressure_total",
            "Times the stage waited for room downstream.",
            self.backpressure_total.load(Ordering::Relaxed).to_string(),
        );
        let _ = writeln!(
            out,
            "# HELP aether_{stage}_dropped_packets_total Packets dropped, by reason."
        );
        let _ = writeln!(out, "# TYPE aether_{stage}_dropped_packets_total counter");
        for (reason, count) in self.drop_reasons.iter().zip(self.drops_total.iter()) {
            let _ = writeln!(
                out,
                "aether_{stage}_dropped_packets_total{{reason=\"{reason}\"}} {}",
                count.load(Ordering::Relaxed)
            );
        }
        let _ = writeln!(
            out,
            "# HELP aether_{stage}_queue_depth_packets Batches waiting in the stage's input queue."
        );
        let _ = writeln!(out, "# TYPE aether_{stage}_queue_depth_packets gauge");
        let _ = writeln!(
            out,
            "aether_{stage}_queue_depth_packets {}",
            self.queue_depth()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_every_reason_with_its_count() {
        let metrics = StageMetrics::new("sigverify", &["malformed", "bad_signature"]);
        metrics.add_in(5);
        metrics.add_drop("bad_signature", 2);
        let mut text = String::new();
        metrics.render(&mut text);
        assert!(text.contains("aether_sigverify_packets_in_total 5\n"));
        assert!(
            text.contains("aether_sigverify_dropped_packets_total{reason=\"bad_signature\"} 2\n")
        );
        assert!(text.contains("aether_sigverify_dropped_packets_total{reason=\"malformed\"} 0\n"));
    }
}
