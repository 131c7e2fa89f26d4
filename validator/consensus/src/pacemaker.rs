//! Round timers with exponential backoff.
//!
//! The timer of round `r` is `base · (multiplier_percent / 100)^k`, capped at `max`,
//! where `k = r - high_qc_round - 1` is the number of rounds since the last certified
//! one: a healthy chain runs on the base timeout, a stalled one backs off so that after
//! the network stabilises every validator spends long enough in one round for a quorum
//! to meet there.

/// Timer configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeoutConfig {
    /// Timer of a round that directly follows a certified one, in milliseconds.
    pub base_ms: u64,
    /// Growth per uncertified round, in percent (at least 100).
    pub multiplier_percent: u64,
    /// Upper bound, in milliseconds.
    pub max_ms: u64,
}

impl TimeoutConfig {
    /// The timer for a round `rounds_since_qc` rounds after the last certified one.
    pub fn round_timeout_ms(&self, rounds_since_qc: u64) -> u64 {
        assert!(self.multiplier_percent >= 100 && self.base_ms > 0);
        let mut timeout = self.base_ms;
        // After 64 doublings any cap is reached; the loop is bounded either way.
        for _ in 0..rounds_since_qc.min(64) {
            if timeout >= self.max_ms {
                break;
            }
            timeout = timeout.saturating_mul(self.multiplier_percent) / 100;
        }
        timeout.min(self.max_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_then_caps() {
        let config = TimeoutConfig {
            base_ms: 100,
            multiplier_percent: 200,
            max_ms: 1000,
        };
        let timeouts: Vec<u64> = (0..6).map(|k| config.round_timeout_ms(k)).collect();
        assert_eq!(timeouts, vec![100, 200, 400, 800, 1000, 1000]);
        assert_eq!(config.round_timeout_ms(u64::MAX), 1000);
    }
}
