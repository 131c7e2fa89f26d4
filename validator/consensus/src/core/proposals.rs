//! Proposals: checking, storing (or holding until the parent arrives), equivocation
//! detection, voting, and this validator's own built blocks.

use aether_types::Vote;

use super::Core;
use crate::block_tree::InsertError;
use crate::drops::DropReason;
use crate::message::{Action, Evidence, Proposal};

impl Core {
    pub(super) fn on_proposal(&mut self, proposal: Proposal, out: &mut Vec<Action>) {
        // A stored block may release held children, which may release theirs: a
        // worklist instead of recursion keeps the stack flat.
        let mut work = vec![proposal];
        while let Some(proposal) = work.pop() {
            if let Some(hash) = self.process_proposal(proposal, out)
                && let Some(children) = self.pending.remove(&hash)
            {
                self.pending_count -= children.len();
                work.extend(children);
            }
        }
    }

    /// Checks and stores one proposal and votes for it if allowed; returns its hash
    /// when it was stored.
    fn process_proposal(
        &mut self,
        proposal: Proposal,
        out: &mut Vec<Action>,
    ) -> Option<aether_types::Hash> {
        let block = proposal.block;
        let well_formed = proposal.justify.block_hash == block.parent_hash
            && proposal.justify.round == block.parent_round
            && block.parent_round < block.round
            && proposal
                .last_round_tc
                .as_ref()
                .is_none_or(|tc| tc.round + 1 == block.round);
        if !well_formed {
            self.drop(DropReason::Malformed);
            return None;
        }
        if self.tree.contains(&block.hash) {
            self.drop(DropReason::Duplicate);
            return None;
        }
        if block.round <= self.tree.root().round {
            self.drop(DropReason::StaleRound);
            return None;
        }
        // Its leader follows from its parent's chain: while the parent is missing the
        // certificates still count (they are verified on their own), and the rest of
        // the checks run when the parent arrives.
        let parent_known = self.tree.contains(&block.parent_hash);
        if parent_known {
            if self.leader_after(block.round, &block.parent_hash) != Some(block.proposer) {
                self.drop(DropReason::WrongLeader);
                return None;
            }
            // Its leader signed it (the driver checked): it speaks, late or not.
            self.unresponsive_leaders.remove(&block.proposer);
            self.detect_double_proposal(&proposal, out);
        }
        if !proposal.content_valid {
            self.drop(DropReason::InvalidContent);
            return None;
        }
        if self.verifier.verify_qc(&proposal.justify).is_err()
            || proposal
                .last_round_tc
                .as_ref()
                .is_some_and(|tc| self.verifier.verify_tc(tc).is_err())
        {
            self.drop(DropReason::BadCertificate);
            return None;
        }
        self.process_qc(&proposal.justify, Some(block.proposer), out);
        if let Some(tc) = &proposal.last_round_tc {
            self.process_tc(tc, out);
        }
        match self.tree.insert(block) {
            Ok(()) => {
                self.vrf_outputs
                    .insert(block.hash, (block.round, proposal.vrf_output));
            }
            Err(InsertError::UnknownParent) => {
                self.hold_until_parent(proposal, out);
                return None;
            }
            Err(InsertError::ConflictsWithCommitted) => {
                self.drop(DropReason::ConflictsWithCommitted);
                return None;
            }
            Err(InsertError::Duplicate) => {
                self.drop(DropReason::Duplicate);
                return None;
            }
        }
        self.fetching.remove(&block.hash);
        self.try_commit(&block.hash, out);
        self.maybe_propose(out);
        if block.round == self.round {
            self.vote_for(&proposal, out);
        }
        Some(block.hash)
    }

    fn hold_until_parent(&mut self, proposal: Proposal, out: &mut Vec<Action>) {
        if self.pending_count >= self.config.max_pending_blocks {
            self.drop(DropReason::PendingFull);
            return;
        }
        let block = proposal.block;
        let children = self.pending.entry(block.parent_hash).or_default();
        if children.iter().any(|child| child.block.hash == block.hash) {
            self.drop(DropReason::Duplicate);
            return;
        }
        children.push(proposal);
        self.pending_count += 1;
        self.fetch(
            block.parent_hash,
            block.parent_round,
            Some(block.proposer),
            out,
        );
    }

    fn detect_double_proposal(&mut self, proposal: &Proposal, out: &mut Vec<Action>) {
        let round = proposal.block.round;
        match self.proposals.get(&round) {
            None => {
                self.proposals.insert(round, proposal.clone());
            }
            Some(first) if first.block.hash != proposal.block.hash => {
                // The leader check passed for both, so they have one proposer.
                out.push(Action::RecordEquivocation(Evidence::DoubleProposal {
                    first: Box::new(first.clone()),
                    second: Box::new(proposal.clone()),
                }));
            }
            Some(_) => {}
        }
    }

    /// Votes for a stored proposal of the current round if the safety rules allow it.
    fn vote_for(&mut self, proposal: &Proposal, out: &mut Vec<Action>) {
        let round = proposal.block.round;
        let justify_round = proposal.justify.round;
        if self.skip_vote_rules {
            // Mutation for the simulator only: no rule at all.
            self.safety.last_voted_round = self.safety.last_voted_round.max(round);
            self.safety.highest_qc_round = self.safety.highest_qc_round.max(justify_round);
        } else {
            if self
                .safety
                .check_vote(round, justify_round, proposal.last_round_tc.as_ref())
                .is_err()
            {
                self.drop(DropReason::UnsafeToVote);
                return;
            }
            self.safety.record_vote(round, justify_round);
        }
        let Some(next_leader) = self.leader_after(round + 1, &proposal.block.hash) else {
            // Too far past the final chain to name a leader: the vote would have no
            // recipient.
            return;
        };
        self.persist(out);
        let signature = self
            .key
            .sign(&Vote::signing_message_for(round, &proposal.block.hash));
        let vote = Vote {
            round,
            block_hash: proposal.block.hash,
            voter: self.me,
            signature: signature.to_bytes(),
        };
        self.my_vote = Some(vote.clone());
        out.push(Action::SendVote {
            to: next_leader,
            vote,
        });
        self.broadcast_vote(out);
    }

    /// The driver built the block asked for by `Propose`: persist the proposal round,
    /// broadcast it and process it as any other proposal (which votes for it).
    pub(super) fn on_block_built(&mut self, proposal: Proposal, out: &mut Vec<Action>) {
        let block = proposal.block;
        let expected = block.proposer == self.me
            && block.round == self.round
            && self.proposal_requested == block.round
            && block.round > self.safety.last_proposed_round
            && proposal.content_valid;
        if !expected {
            self.drop(DropReason::UnexpectedBlockBuilt);
            return;
        }
        self.safety.last_proposed_round = block.round;
        self.persist(out);
        out.push(Action::BroadcastProposal(proposal.clone()));
        self.on_proposal(proposal, out);
    }
}
