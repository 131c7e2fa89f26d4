//! Collects verified timeouts per round and aggregates a quorum into a TC.

use std::collections::BTreeMap;

use aether_crypto::bls::{BlsSignature, aggregate};
use aether_types::{SignerBitmap, Timeout, TimeoutCertificate, ValidatorIndex};

use crate::validator_set::{ValidatorSet, is_quorum};

/// What adding a timeout did.
#[derive(Debug)]
pub enum TimeoutOutcome {
    /// Counted; the stake that has timed out this round so far.
    Counted {
        /// Stake of the distinct senders of this round.
        stake: u64,
    },
    /// This sender already timed out this round.
    Duplicate,
    /// The timeout completed a quorum: the new TC.
    Quorum(TimeoutCertificate),
}

#[derive(Debug, Default)]
struct RoundTimeouts {
    /// High-QC round and verified signature by sender.
    by_sender: BTreeMap<ValidatorIndex, (u64, BlsSignature)>,
    certified: bool,
}

/// Timeouts by round.
#[derive(Debug, Default)]
pub struct TimeoutCollector {
    rounds: BTreeMap<u64, RoundTimeouts>,
}

impl TimeoutCollector {
    /// True when `sender` already has a timeout counted for `round`.
    pub fn contains(&self, round: u64, sender: ValidatorIndex) -> bool {
        self.rounds
            .get(&round)
            .is_some_and(|timeouts| timeouts.by_sender.contains_key(&sender))
    }

    /// Adds a timeout whose signature (`signature`) was verified.
    pub fn add(
        &mut self,
        timeout: &Timeout,
        signature: BlsSignature,
        validators: &ValidatorSet,
    ) -> TimeoutOutcome {
        let round = self.rounds.entry(timeout.round).or_default();
        if round.by_sender.contains_key(&timeout.voter) {
            return TimeoutOutcome::Duplicate;
        }
        round
            .by_sender
            .insert(timeout.voter, (timeout.high_qc.round, signature));
        let stake: u64 = round
            .by_sender
            .keys()
            .map(|sender| validators.stake(*sender))
            .sum();
        if round.certified || !is_quorum(stake, validators.total_stake()) {
            return TimeoutOutcome::Counted { stake };
        }
        round.certified = true;
        let signers = SignerBitmap::from_signers(validators.len(), round.by_sender.keys().copied())
            .expect("senders are checked to be in the set");
        // BTreeMap order is ascending signer order, as the TC's high-QC rounds must be.
        let high_qc_rounds = round.by_sender.values().map(|(high, _)| *high).collect();
        let parts: Vec<BlsSignature> = round.by_sender.values().map(|(_, s)| s.clone()).collect();
        let aggregate_signature = aggregate(&parts)
            .expect("a non-empty sum of verified signatures is a valid point")
            .to_bytes();
        TimeoutOutcome::Quorum(TimeoutCertificate {
            round: timeout.round,
            high_qc_rounds,
            signers,
            aggregate_signature,
        })
    }

    /// Forgets rounds below `round`.
    pub fn prune_below(&mut self, round: u64) {
        self.rounds = self.rounds.split_off(&round);
    }
}
