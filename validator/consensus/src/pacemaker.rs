//! Round timers with exponential backoff.
//!
//! The timer of round `r` is `base · (multiplier_percent / 100)^k`, capped at `max`,
//! where `k = r - high_qc_round - 1` is the number of rounds since the last certified
//! one: a healthy chain runs on the base timeout, a stalled one backs off so that after
//! the network stabilises every validator spends long enough in one round for a quorum
//! to meet there.
//!
//! A round whose leader is *unresponsive* (its last round ended in a TC here without a
//! proposal from it arriving) runs on `unresponsive_leader_percent` of that timer: a
//! crashed validator's rounds then cost less, while a leader that speaks again is
//! trusted again at once. The backoff still applies, so after a partition heals the
//! timers grow past any delay whatever this validator suspects. Timers are local:
//! neither safety nor agreement depends on them.

/// Timer configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeoutConfig {
    /// Timer of a round that directly follows a certified one, in milliseconds.
    pub base_ms: u64,
    /// Growth per uncertified round, in percent (at least 100).
    pub multiplier_percent: u64,
    /// Upper bound, in milliseconds.
    pub max_ms: u64,
    /// The timer of a round led by an unresponsive leader, in percent of the normal
    /// one (1 to 100).
    pub unresponsive_leader_percent: u64,
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

    /// The timer for a round `rounds_since_qc` rounds after the last certified one
    /// whose leader is unresponsive.
    pub fn unresponsive_round_timeout_ms(&self, rounds_since_qc: u64) -> u64 {
        (self.round_timeout_ms(rounds_since_qc) * self.unresponsive_leader_percent / 100).max(1)
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
            unresponsive_leader_percent: 50,
        };
        let timeouts: Vec<u64> = (0..6).map(|k| config.round_timeout_ms(k)).collect();
        assert_eq!(timeouts, vec![100, 200, 400, 800, 1000, 1000]);
        assert_eq!(config.round_timeout_ms(u64::MAX), 1000);
        let unresponsive: Vec<u64> = (0..6)
            .map(|k| config.unresponsive_round_timeout_ms(k))
            .collect();
        assert_eq!(unresponsive, vec![50, 100, 200, 400, 500, 500]);
    }
}
