//! Aether consensus: the VRF/stake leader schedule and a Jolteon (DiemBFT v4, 2-chain
//! HotStuff) core written as a pure state machine, plus a deterministic simulator.
//!
//! # The algorithm
//!
//! Time is divided into rounds (= slots). Each round has one leader, sampled by stake
//! from the epoch nonce ([`leader_schedule`], [`epoch`]).
//!
//! 1. **Propose.** On entering round `r`, its leader proposes a block extending the
//!    highest QC it knows, `justify = QC(r-1)`, or, when round `r-1` timed out, the TC
//!    for `r-1` plus a QC at least as high as every QC reported in that TC.
//! 2. **Vote.** A validator votes for a block of its current round `r` when `r` is above
//!    every round it voted or timed out in, and the block's QC is for `r-1`, or a TC for
//!    `r-1` is attached and the QC is at least the TC's highest ([`safety`]). The vote
//!    (BLS over [`aether_types::Vote::signing_message`]) goes to the leader of `r+1`
//!    first, then to every other validator.
//! 3. **Certify.** Every validator, the leader of `r+1` among them, aggregates votes of
//!    more than two thirds of the stake ([`validator_set::is_quorum`]) into a QC: an
//!    aggregate signature plus a signer bitmap, checked with `fast_aggregate_verify`. A
//!    QC for round `r` moves everyone who forms or sees it to round `r+1`, so a dead
//!    leader of `r+1` costs its own round's timer, not the certificate of `r` too
//!    (Jolteon's linear path sends votes to the next leader only; all-to-all votes cost
//!    `n²` small messages per round, cheap at the cluster sizes run today).
//! 4. **Time out.** When a round's timer expires ([`pacemaker`], exponential backoff) a
//!    validator stops voting in it and broadcasts `Timeout{round, high_qc}`; a quorum of
//!    timeouts is a TC (checked with `aggregate_verify`, one message per signer), which
//!    moves everyone to the next round. More than a third of timeouts for the current
//!    round makes a validator join early; its timeout is re-sent on each timer expiry.
//!    A leader whose last round ended in a TC without its proposal arriving gets a
//!    shorter timer until it proposes again ([`pacemaker`]).
//! 5. **Commit (2-chain).** When block `B'` of round `r+1` is certified and its parent
//!    `B` has round `r`, `B` and all its uncommitted ancestors are final ([`block_tree`]).
//!
//! # Invariants
//!
//! - **Safety**: no two conflicting blocks are ever final, with at most a third of the
//!   stake byzantine, under any message delays, losses and restarts — provided every
//!   [`Action::PersistSafety`] is durable before the driver carries out any later action
//!   of the same list (the core asserts that every vote, timeout and own proposal it
//!   emits is preceded by a state that records it).
//! - **Liveness**: after the network becomes synchronous, with more than two thirds of
//!   the stake honest and up, new blocks become final within a bounded number of rounds.
//! - The core never votes for, stores or commits a block the driver marked invalid.
//! - Every signature and certificate from outside is verified before it counts; bad
//!   input is a counted drop ([`drops`]), never a panic. Certificates are verified once
//!   (cache by round and certificate hash, [`certificate_verifier`]).
//! - Two signed items for one round by one signer become [`Evidence`].
//!
//! # What the core deliberately does not know
//!
//! No I/O, clock, threads or randomness: time enters only as [`Event::RoundTimeout`].
//! Block content, execution, state roots, KES header signatures and VRF proofs are the
//! driver's job (it uses [`LeaderSchedule::verify_header_vrf`] with the nonce
//! [`Core::epoch_nonce_after`] gives and reports the verdict in
//! [`Proposal::content_valid`]). The core keeps the epoch nonces itself: a block's
//! leader is sampled under the nonce along its parent chain ([`epoch_nonces`]), and
//! commits record the final blocks' VRF outputs. One [`Core`] serves one validator set:
//! not a changed set of validators or stakes (reconfiguration is not implemented yet).
//!
//! # Driving it
//!
//! ```text
//! let mut core = Core::new(config, schedule, me, key, persisted_safety, genesis, committed_root);
//! for action in core.start() { carry_out(action) }
//! loop { let event = next_event(); for action in core.handle(event) { carry_out(action) } }
//! ```
//!
//! `carry_out` must finish a `PersistSafety` (durably) before the next action.
//!
//! # Code map
//!
//! [`validator_set`] keys, stake, the quorum rule · [`epoch`] epochs and the nonce step ·
//! [`epoch_nonces`] nonces along a chain ·
//! [`leader_schedule`] sampling and VRF check · [`safety`] persisted state and rules ·
//! [`block_tree`] blocks, commit rule · [`vote_collector`] / [`timeout_collector`]
//! aggregation · [`certificate_verifier`] QC/TC checks · [`pacemaker`] timers ·
//! [`core`] the state machine · [`message`] events and actions · [`drops`] counters ·
//! `simulation` (feature `simulation`) the deterministic simulator.

pub mod block_tree;
pub mod certificate_verifier;
pub mod config;
pub mod core;
pub mod drops;
pub mod epoch;
pub mod epoch_nonces;
pub mod error;
pub mod leader_schedule;
pub mod message;
pub mod pacemaker;
pub mod safety;
pub mod timeout_collector;
pub mod validator_set;
pub mod vote_collector;

#[cfg(any(test, feature = "simulation"))]
pub mod testing;

#[cfg(feature = "simulation")]
pub mod simulation;

pub use crate::config::{ConfigError, ConsensusConfig};
pub use crate::core::{Core, CoreCounts, Root};
pub use crate::drops::{DropReason, Drops};
pub use crate::epoch::{EpochSchedule, next_epoch_nonce};
pub use crate::epoch_nonces::{CHAIN_NONCE_EPOCHS_MAX, EpochNonces};
pub use crate::error::{CertificateError, LeaderError, ValidatorSetError};
pub use crate::leader_schedule::{LeaderSchedule, vrf_input};
pub use crate::message::{Action, BlockMeta, Event, Evidence, Proposal};
pub use crate::pacemaker::TimeoutConfig;
pub use crate::safety::SafetyState;
pub use crate::validator_set::{ValidatorInfo, ValidatorSet, exceeds_one_third, is_quorum};
