//! Per-peer token buckets: what one validator may make this one spend on its behalf
//! (transactions it forwards into sigverify, whole blocks it asks for), so a faulty or
//! hostile peer cannot crowd out clients and the other validators.
//!
//! Each peer (by validator index) has a bucket of `burst` tokens refilled at
//! `per_second`; a request costing `cost` tokens passes when the bucket holds them, and
//! is otherwise refused whole (the caller counts it). Integer arithmetic in
//! thousandths of a token; the clock is the caller's, in milliseconds, and a clock that
//! goes back refills nothing.

/// Token buckets for a fixed set of peers.
#[derive(Debug, Clone)]
pub struct PeerRateLimiter {
    per_second: u64,
    burst: u64,
    /// Per peer: tokens (thousandths) and when they were last refilled.
    buckets: Vec<(u64, u64)>,
}

impl PeerRateLimiter {
    /// Buckets for `peers` peers, each starting full with `burst` tokens and refilled
    /// at `per_second` tokens a second.
    pub fn new(peers: usize, per_second: u64, burst: u64) -> Self {
        assert!(
            per_second > 0 && burst > 0,
            "a limiter must let something pass"
        );
        Self {
            per_second,
            burst,
            buckets: vec![(burst * 1_000, 0); peers],
        }
    }

    /// Takes `cost` tokens from `peer`'s bucket at `now_ms`; false (and nothing taken)
    /// when it holds fewer, or when `peer` is unknown.
    pub fn allow(&mut self, peer: usize, cost: u64, now_ms: u64) -> bool {
        let capacity = self.burst * 1_000;
        let per_second = self.per_second;
        let Some((tokens, refilled_ms)) = self.buckets.get_mut(peer) else {
            return false;
        };
        let elapsed_ms = now_ms.saturating_sub(*refilled_ms);
        *tokens = tokens
            .saturating_add(elapsed_ms.saturating_mul(per_second))
            .min(capacity);
        *refilled_ms = (*refilled_ms).max(now_ms);
        let cost = cost.saturating_mul(1_000);
        if *tokens < cost {
            return false;
        }
        *tokens -= cost;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_passes_then_the_rate_holds_per_peer() {
        let mut limiter = PeerRateLimiter::new(2, 100, 50);
        assert!(limiter.allow(0, 50, 0), "a full burst");
        assert!(!limiter.allow(0, 1, 0), "then nothing");
        assert!(limiter.allow(1, 30, 0), "the other peer has its own bucket");
        // 100 a second: 10 ms refill 1 token.
        assert!(!limiter.allow(0, 2, 10));
        assert!(limiter.allow(0, 2, 20));
        // A refused request takes nothing.
        assert!(!limiter.allow(0, 40, 20));
        assert!(limiter.allow(0, 1, 30));
        // Refill stops at the burst, and a clock that goes back refills nothing.
        assert!(!limiter.allow(0, 51, 100_000));
        assert!(limiter.allow(0, 50, 100_000));
        assert!(!limiter.allow(0, 1, 50_000));
        assert!(!limiter.allow(7, 1, 0), "unknown peers are refused");
    }
}
