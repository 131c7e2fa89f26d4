//! Collects verified votes for the rounds this validator leads next, and aggregates a
//! quorum into a QC. Detects double votes.

use std::collections::BTreeMap;

use aether_crypto::bls::{BlsSignature, aggregate};
use aether_types::{Hash, QuorumCertificate, SignerBitmap, ValidatorIndex, Vote};

use crate::validator_set::{ValidatorSet, is_quorum};

/// What adding a vote did.
#[derive(Debug)]
pub enum VoteOutcome {
    /// Counted; no quorum yet (or the QC was already formed).
    Counted,
    /// This voter already voted for this block in this round.
    Duplicate,
    /// This voter already voted for another block in this round: here is that vote.
    Equivocation(Vote),
    /// The vote completed a quorum: the new QC.
    Quorum(QuorumCertificate),
}

#[derive(Debug, Default)]
struct RoundVotes {
    by_voter: BTreeMap<ValidatorIndex, Vote>,
    /// Verified signatures per block, by voter.
    by_block: BTreeMap<Hash, BTreeMap<ValidatorIndex, BlsSignature>>,
    certified: Option<Hash>,
}

/// Votes by round.
#[derive(Debug, Default)]
pub struct VoteCollector {
    rounds: BTreeMap<u64, RoundVotes>,
}

impl VoteCollector {
    /// What a vote from `vote.voter` would be, before paying for its signature check:
    /// `Some(Duplicate)` for an identical earlier vote, `None` otherwise.
    pub fn precheck(&self, vote: &Vote) -> Option<VoteOutcome> {
        let earlier = self.rounds.get(&vote.round)?.by_voter.get(&vote.voter)?;
        (earlier.block_hash == vote.block_hash).then_some(VoteOutcome::Duplicate)
    }

    /// Adds a vote whose signature (`signature`) was verified.
    pub fn add(
        &mut self,
        vote: Vote,
        signature: BlsSignature,
        validators: &ValidatorSet,
    ) -> VoteOutcome {
        let round = self.rounds.entry(vote.round).or_default();
        if let Some(earlier) = round.by_voter.get(&vote.voter) {
            return if earlier.block_hash == vote.block_hash {
                VoteOutcome::Duplicate
            } else {
                VoteOutcome::Equivocation(earlier.clone())
            };
        }
        round.by_voter.insert(vote.voter, vote.clone());
        let signatures = round.by_block.entry(vote.block_hash).or_default();
        signatures.insert(vote.voter, signature);
        if round.certified.is_some() {
            return VoteOutcome::Counted;
        }
        let signed: u64 = signatures
            .keys()
            .map(|voter| validators.stake(*voter))
            .sum();
        if !is_quorum(signed, validators.total_stake()) {
            return VoteOutcome::Counted;
        }
        let signers = SignerBitmap::from_signers(validators.len(), signatures.keys().copied())
            .expect("voters are checked to be in the set");
        let parts: Vec<BlsSignature> = signatures.values().cloned().collect();
        let aggregate_signature = aggregate(&parts)
            .expect("a non-empty sum of verified signatures of one message is a valid point")
            .to_bytes();
        round.certified = Some(vote.block_hash);
        VoteOutcome::Quorum(QuorumCertificate {
            round: vote.round,
            block_hash: vote.block_hash,
            signers,
            aggregate_signature,
        })
    }

    /// Forgets rounds below `round`.
    pub fn prune_below(&mut self, round: u64) {
        self.rounds = self.rounds.split_off(&round);
    }
}
