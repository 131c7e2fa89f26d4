//! Votes: checks, signature verification and aggregation into QCs by the next leader
//! (and by every validator, from the votes broadcast when a round times out).

use aether_crypto::bls::{BlsSignature, verify};
use aether_types::Vote;

use super::Core;
use crate::drops::DropReason;
use crate::message::{Action, Evidence};
use crate::vote_collector::VoteOutcome;

impl Core {
    pub(super) fn on_vote(&mut self, vote: Vote, out: &mut Vec<Action>) {
        let validators = self.schedule.validators().clone();
        let Some(voter) = validators.get(vote.voter) else {
            self.drop(DropReason::UnknownVoter);
            return;
        };
        // Votes of the high QC's round are still taken: a second block certified in that
        // round is never extended, but a double vote there is evidence.
        if vote.round < self.high_qc.round || vote.round <= self.tree.root().round {
            self.drop(DropReason::StaleRound);
            return;
        }
        if vote.round > self.round + self.config.max_future_rounds {
            self.drop(DropReason::FutureRound);
            return;
        }
        // Besides the next leader, every validator takes votes of its round and the one
        // before: voters broadcast them when their round timer fires, and a TC may
        // arrive ahead of the last of them (a QC formed after the TC still raises the
        // high QC). Later rounds are the next leader's alone (no pairing checks spent on
        // votes a peer could send for any future round).
        if self.schedule.leader(vote.round + 1) != Some(self.me)
            && (vote.round + 1 < self.round || vote.round > self.round)
        {
            self.drop(DropReason::NotNextLeader);
            return;
        }
        if let Some(VoteOutcome::Duplicate) = self.votes.precheck(&vote) {
            self.drop(DropReason::Duplicate);
            return;
        }
        let Ok(signature) = BlsSignature::from_bytes(&vote.signature) else {
            self.drop(DropReason::BadSignature);
            return;
        };
        if verify(&voter.bls_public_key, &vote.signing_message(), &signature).is_err() {
            self.drop(DropReason::BadSignature);
            return;
        }
        match self.votes.add(vote.clone(), signature, &validators) {
            VoteOutcome::Counted => {}
            VoteOutcome::Duplicate => self.drop(DropReason::Duplicate),
            VoteOutcome::Equivocation(first) => {
                self.drop(DropReason::Equivocation);
                out.push(Action::RecordEquivocation(Evidence::DoubleVote {
                    first: Box::new(first),
                    second: Box::new(vote),
                }));
            }
            VoteOutcome::Quorum(qc) => {
                self.counts.qcs_formed += 1;
                self.verifier.insert_qc(&qc);
                self.process_qc(&qc, None, out);
            }
        }
    }
}
