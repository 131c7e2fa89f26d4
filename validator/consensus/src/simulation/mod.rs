//! Deterministic simulation of a validator network running [`Core`](crate::Core).
//!
//! One seed fixes everything: keys, the leader schedule's nonce, and the fault plan
//! ([`faults`]): random delays, drops and duplicates, a partition that heals at GST,
//! crashes and restarts (a restarted node keeps only its persisted safety state, its
//! highest certificates and its committed chain), in a fifth of runs a restart of every
//! honest node at once, and one byzantine node ([`byzantine`]) that equivocates, proposes
//! invalid blocks, proposes forks of stale QCs and double-votes. Blocks are synthetic (a
//! payload id); the simulated driver marks the byzantine node's invalid blocks invalid.
//! Time is simulated: the run is a loop over a queue of timed deliveries, so it takes
//! only the CPU the cores need (BLS is real).
//!
//! Checked after every step ([`invariants`]): no two honest nodes ever finalise
//! conflicting blocks (all committed chains are prefixes of one chain), every final
//! block is valid, no honest node votes twice in a round or votes in a round it timed
//! out; and at the end, that after GST every honest node finalised new blocks within
//! [`LIVENESS_BOUND_MS`].

pub mod byzantine;
pub mod faults;
pub mod invariants;
pub mod rng;
mod world;

pub use self::invariants::Violation;
pub use self::world::run;

use crate::drops::Drops;
use crate::pacemaker::TimeoutConfig;

/// After GST, every honest node must finalise [`NEW_BLOCKS_AFTER_GST`] blocks built
/// after GST within this much simulated time.
pub const LIVENESS_BOUND_MS: u64 = 30_000;
/// Blocks built after GST that every honest node must finalise to end a run.
pub const NEW_BLOCKS_AFTER_GST: usize = 3;

/// What to simulate.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// The seed everything derives from.
    pub seed: u64,
    /// One stake per validator.
    pub stakes: Vec<u64>,
    /// Whether the fault plan may pick a byzantine node.
    pub allow_byzantine: bool,
    /// Mutation: honest nodes vote without the voting rule (must break safety).
    pub unsafe_voting: bool,
    /// Round timers.
    pub timeouts: TimeoutConfig,
    /// Slots per epoch: short epochs put epoch changes (each with a new nonce, from
    /// the blocks of two epochs back along each chain) inside faulty stretches with
    /// nothing final.
    pub epoch_slots: u64,
}

impl SimConfig {
    /// Four validators with equal stake.
    pub fn four_equal(seed: u64) -> SimConfig {
        SimConfig::with_stakes(seed, vec![1; 4])
    }

    /// Seven validators with unequal stake.
    pub fn seven_unequal(seed: u64) -> SimConfig {
        SimConfig::with_stakes(seed, vec![10, 20, 30, 15, 25, 5, 40])
    }

    /// `stakes.len()` validators.
    pub fn with_stakes(seed: u64, stakes: Vec<u64>) -> SimConfig {
        SimConfig {
            seed,
            stakes,
            allow_byzantine: true,
            unsafe_voting: false,
            timeouts: TimeoutConfig {
                base_ms: 400,
                multiplier_percent: 150,
                max_ms: 3_000,
                unresponsive_leader_percent: 50,
            },
            epoch_slots: 1 << 40,
        }
    }
}

/// What happened in one run.
#[derive(Debug, Clone, Default)]
pub struct SimReport {
    /// The seed.
    pub seed: u64,
    /// Every invariant violation (empty for a correct run).
    pub violations: Vec<Violation>,
    /// For each block, simulated time from its building to its first honest commit.
    pub commit_latency_ms: Vec<u64>,
    /// For each block, rounds from its own round to the committing node's round.
    pub commit_latency_rounds: Vec<u64>,
    /// Simulated time from GST until every honest node finalised new blocks.
    pub time_to_finality_after_gst_ms: Option<u64>,
    /// Length of the longest honest committed chain.
    pub committed_height: usize,
    /// Equivocation evidence recorded by honest nodes (each checked).
    pub evidence_count: u64,
    /// Drops of every honest node, added up.
    pub drops: Drops,
    /// Blocks honest nodes set out to build in an epoch whose nonce their final chain
    /// did not determine yet (see [`crate::CoreCounts`]).
    pub proposals_ahead_of_final_nonces: u64,
    /// Simulated time at the end.
    pub end_ms: u64,
    /// Events processed.
    pub event_count: u64,
    /// The byzantine node, if any.
    pub byzantine: Option<usize>,
    /// The fault plan of the seed.
    pub plan: Option<faults::FaultPlan>,
    /// Per node at the end: `(round, high QC round, safety state, committed blocks)`
    /// (`None` while down).
    pub final_states: Vec<Option<(u64, u64, crate::SafetyState, usize)>>,
}
