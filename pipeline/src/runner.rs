//! The one loop that drives every stage (compare Firedancer's `fd_stem`).
//!
//! A runner thread, optionally pinned to a core, repeats: run housekeeping when it is
//! due; take one batch from the input link; hand it to the stage; publish what the
//! stage produced downstream, waiting when the downstream link is full
//! (backpressure); when the input runs dry, let the stage flush a partial batch, then
//! back off. Time inside the stage counts as busy time. Stages never see threads,
//! queues or clocks beyond `now`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::link::{Link, backoff};
use crate::metrics::StageMetrics;

/// A stage's logic. Implementations are plain state machines: no threads, no I/O
/// beyond what the stage owns by design (the shred stage's blockstore writes).
pub trait Stage: Send + 'static {
    /// What arrives on the input link.
    type Input: Send + 'static;
    /// What the stage publishes downstream.
    type Output: Send + 'static;

    /// Handles one input batch, appending results to `out`.
    fn process(&mut self, input: Self::Input, out: &mut Vec<Self::Output>, metrics: &StageMetrics);

    /// Called when the input queue has run dry: a stage that gathers input into
    /// larger batches finishes its partial batch here, so gathering adds no latency
    /// once the queue is empty.
    fn flush(&mut self, _out: &mut Vec<Self::Output>, _metrics: &StageMetrics) {}

    /// Periodic work (timers, metric flushes). Called at least every
    /// [`StageOptions::housekeeping_interval`], also when no input arrives.
    fn housekeeping(
        &mut self,
        _now: Instant,
        _out: &mut Vec<Self::Output>,
        _metrics: &StageMetrics,
    ) {
    }
}

/// How a stage runs.
#[derive(Debug, Clone)]
pub struct StageOptions {
    /// Thread name, `stage:index`.
    pub thread_name: String,
    /// Core to pin to, when set.
    pub core: Option<usize>,
    /// Most time between housekeeping calls.
    pub housekeeping_interval: Duration,
}

/// A running stage.
pub struct StageHandle {
    name: String,
    thread: JoinHandle<()>,
}

impl StageHandle {
    /// True while the stage thread runs.
    pub fn is_running(&self) -> bool {
        !self.thread.is_finished()
    }

    /// Waits for the stage thread to end (after shutdown was requested).
    pub fn join(self) -> Result<(), String> {
        self.thread
            .join()
            .map_err(|_| format!("stage thread {} panicked", self.name))
    }
}

/// Starts `stage` on its own thread, reading `input` and publishing to `output`.
///
/// With no output link, whatever the stage produces is discarded (sink stages
/// produce nothing). The thread ends when `shutdown` is set, after finishing the
/// batch in hand.
pub fn spawn_stage<S: Stage>(
    mut stage: S,
    input: Link<S::Input>,
    output: Option<Link<S::Output>>,
    metrics: Arc<StageMetrics>,
    shutdown: Arc<AtomicBool>,
    options: StageOptions,
) -> std::io::Result<StageHandle> {
    let name = options.thread_name.clone();
    let thread = std::thread::Builder::new()
        .name(options.thread_name.clone())
        .spawn(move || {
            if let Some(core) = options.core {
                let pinned = core_affinity::set_for_current(core_affinity::CoreId { id: core });
                if !pinned {
                    tracing::warn!(thread = %options.thread_name, core, "could not pin thread");
                }
            }
            let mut produced: Vec<S::Output> = Vec::new();
            let mut next_housekeeping = Instant::now();
            let mut spins = 0u32;
            let running = || !shutdown.load(Ordering::Relaxed);
            while running() {
                let now = Instant::now();
                if now >= next_housekeeping {
                    stage.housekeeping(now, &mut produced, &metrics);
                    metrics.set_queue_depth(input.depth());
                    metrics.add_busy_nanoseconds(now.elapsed().as_nanos() as u64);
                    next_housekeeping = now + options.housekeeping_interval;
                    publish(&output, &mut produced, &metrics, &running);
                }
                match input.pop() {
                    Some(batch) => {
                        spins = 0;
                        metrics.add_batch();
                        let started = Instant::now();
                        stage.process(batch, &mut produced, &metrics);
                        metrics.add_busy_nanoseconds(started.elapsed().as_nanos() as u64);
                        publish(&output, &mut produced, &metrics, &running);
                    }
                    None => {
                        if spins == 0 {
                            let started = Instant::now();
                            stage.flush(&mut produced, &metrics);
                            if !produced.is_empty() {
                                metrics.add_busy_nanoseconds(started.elapsed().as_nanos() as u64);
                                publish(&output, &mut produced, &metrics, &running);
                            }
                        }
                        backoff(&mut spins);
                    }
                }
            }
        })?;
    Ok(StageHandle { name, thread })
}

fn publish<T>(
    output: &Option<Link<T>>,
    produced: &mut Vec<T>,
    metrics: &StageMetrics,
    running: &impl Fn() -> bool,
) {
    let Some(link) = output else {
        produced.clear();
        return;
    };
    for item in produced.drain(..) {
        let before = link.stats().backpressure_total;
        // On shutdown the item is dropped: nothing downstream will read it anyway.
        let _ = link.push(item, running);
        if link.stats().backpressure_total != before {
            metrics.add_backpressure();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::link::WhenFull;

    struct Doubler;

    impl Stage for Doubler {
        type Input = Vec<u32>;
        type Output = Vec<u32>;
        fn process(&mut self, input: Vec<u32>, out: &mut Vec<Vec<u32>>, metrics: &StageMetrics) {
            metrics.add_in(input.len());
            let doubled: Vec<u32> = input.iter().map(|value| value * 2).collect();
            metrics.add_out(doubled.len());
            out.push(doubled);
        }
    }

    #[test]
    fn a_stage_alone_through_its_links() {
        let input = Link::new("test_doubler", 2, WhenFull::Backpressure);
        let output = Link::new("doubler_test", 2, WhenFull::Backpressure);
        let metrics = Arc::new(StageMetrics::new("doubler", &[]));
        let shutdown = Arc::new(AtomicBool::new(false));
        let handle = spawn_stage(
            Doubler,
            input.clone(),
            Some(output.clone()),
            metrics.clone(),
            shutdown.clone(),
            StageOptions {
                thread_name: "doubler:0".into(),
                core: None,
                housekeeping_interval: Duration::from_millis(1),
            },
        )
        .expect("thread starts");
        let mut received = Vec::new();
        for batch in 0..100u32 {
            input.push(vec![batch, batch + 1], || true).expect("room");
            while let Some(out) = output.pop() {
                received.extend(out);
            }
        }
        while received.len() < 200 {
            if let Some(out) = output.pop() {
                received.extend(out);
            }
        }
        shutdown.store(true, Ordering::Relaxed);
        handle.join().expect("clean exit");
        let expected: Vec<u32> = (0..100u32)
            .flat_map(|batch| [batch * 2, batch * 2 + 2])
            .collect();
        assert_eq!(received, expected);
        assert_eq!((metrics.packets_in(), metrics.packets_out()), (200, 200));
    }
}
