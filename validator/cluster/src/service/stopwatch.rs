//! Where one loop of the service spent its time: laps named by step, the slowest kept.

use std::time::{Duration, Instant};

/// Times the steps of one loop.
#[derive(Debug)]
pub(super) struct Stopwatch {
    started: Instant,
    lap_started: Instant,
    slowest: Option<(&'static str, Duration)>,
}

impl Stopwatch {
    /// Starts timing a loop.
    pub(super) fn start() -> Self {
        let now = Instant::now();
        Self {
            started: now,
            lap_started: now,
            slowest: None,
        }
    }

    /// Ends the step named `step` (begun at the previous lap or the start).
    pub(super) fn lap(&mut self, step: &'static str) {
        let now = Instant::now();
        let took = now - self.lap_started;
        self.lap_started = now;
        if self.slowest.is_none_or(|(_, slowest)| took > slowest) {
            self.slowest = Some((step, took));
        }
    }

    /// When the loop so far took longer than `limit`: its total and its slowest step.
    pub(super) fn slow(&self, limit: Duration) -> Option<(Duration, &'static str, Duration)> {
        let total = self.started.elapsed();
        if total <= limit {
            return None;
        }
        let (step, took) = self.slowest.unwrap_or(("none", Duration::ZERO));
        Some((total, step, took))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_slowest_lap_is_named_and_a_fast_loop_is_not_slow() {
        let mut stopwatch = Stopwatch::start();
        stopwatch.lap("quick");
        std::thread::sleep(Duration::from_millis(20));
        stopwatch.lap("sleep");
        stopwatch.lap("quick again");
        assert!(stopwatch.slow(Duration::from_secs(60)).is_none());
        let (total, step, took) = stopwatch.slow(Duration::from_millis(5)).expect("slow");
        assert_eq!(step, "sleep");
        assert!(took >= Duration::from_millis(20) && total >= took);
    }
}
