//! Votes: sending this validator's vote to every validator (the next leader first),
//! and checks, signature verification and aggregation of votes into QCs, which every
//! validator forms for its current round and the ones beside it.

use aether_crypto::bls::{BlsSignature, verify};
use aether_types::{ValidatorIndex, Vote};

use super::Core;
use crate::drops::DropReason;
use crate::message::{Action, Evidence};
use crate::vote_collector::VoteOutcome;

impl Core {
    /// Sends this validator's vote of the current round to every validator besides the
    /// next leader (who got it first) and counts it here, so that every validator forms
    /// the round's QC: when the next leader is down, the voters still certify the
    /// block and enter the next round at once, and a dead leader costs its own round
    /// only (a timer), not the previous leader's round too. Also re-sent when the
    /// round's timer fires, ahead of the timeout, so receivers form the QC before the
    /// TC.
    pub(super) fn broadcast_vote(&mut self, out: &mut Vec<Action>) {
        let Some(vote) = self.my_vote.clone().filter(|vote| vote.round == self.round) else {
            return;
        };
        let next_leader = self.leader_after(vote.round + 1, &vote.block_hash);
        for index in 0..self.schedule.validators().len() {
            let to = ValidatorIndex(index as u32);
            if to != self.me && Some(to) != next_leader {
                out.push(Action::SendVote {
                    to,
                    vote: vote.clone(),
                });
            }
        }
        if next_leader != Some(self.me) && self.votes.precheck(&vote).is_none() {
            self.on_vote(vote, out);
        }
    }

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
        // Besides the next leader, every validator takes votes of its round and the ones
        // beside it: voters send them to everyone, a TC may arrive ahead of the last of
        // them (a QC formed after the TC still raises the high QC), and a peer may see
        // the next proposal first. Rounds further on are the next leader's alone (no
        // pairing checks spent on votes a peer could send for any future round).
        // The next leader extends the voted block; while that block is not held, the
        // chain this validator would extend stands in.
        let next_leader = self
            .leader_after(vote.round + 1, &vote.block_hash)
            .or_else(|| self.leader_of(vote.round + 1));
        if next_leader != Some(self.me)
            && (vote.round + 1 < self.round || vote.round > self.round + 1)
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
        if let Some(last) = self.verified_vote_rounds.get_mut(vote.voter.0 as usize) {
            *last = (*last).max(vote.round);
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
