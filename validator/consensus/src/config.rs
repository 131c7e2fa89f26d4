//! Configuration of the consensus core.

use crate::pacemaker::TimeoutConfig;

/// Everything tunable about the core; validated by [`ConsensusConfig::validate`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConsensusConfig {
    /// Round timers.
    pub timeouts: TimeoutConfig,
    /// Votes and timeouts more than this many rounds ahead of the current round are
    /// dropped (bounds the memory a peer can make us spend on the future).
    pub max_future_rounds: u64,
    /// Most proposals held while their parent is fetched.
    pub max_pending_blocks: usize,
}

impl Default for ConsensusConfig {
    fn default() -> Self {
        ConsensusConfig {
            timeouts: TimeoutConfig {
                base_ms: 1_000,
                multiplier_percent: 150,
                max_ms: 30_000,
                unresponsive_leader_percent: 50,
            },
            max_future_rounds: 100,
            max_pending_blocks: 256,
        }
    }
}

/// A configuration value that cannot work.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid consensus config: {0}")]
pub struct ConfigError(pub &'static str);

impl ConsensusConfig {
    /// Checks the values once, at start-up.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let timeouts = &self.timeouts;
        if timeouts.base_ms == 0 || timeouts.max_ms < timeouts.base_ms {
            return Err(ConfigError("timeouts need 0 < base_ms <= max_ms"));
        }
        if timeouts.multiplier_percent < 100 {
            return Err(ConfigError(
                "timeouts.multiplier_percent must be at least 100",
            ));
        }
        if !(1..=100).contains(&timeouts.unresponsive_leader_percent) {
            return Err(ConfigError(
                "timeouts.unresponsive_leader_percent must be 1 to 100",
            ));
        }
        if self.max_future_rounds == 0 || self.max_pending_blocks == 0 {
            return Err(ConfigError(
                "max_future_rounds and max_pending_blocks must be positive",
            ));
        }
        Ok(())
    }
}
