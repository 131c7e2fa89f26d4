//! The consensus core: a pure state machine, `handle(event) -> actions`.
//!
//! This file holds the state, round changes, certificate processing and commits; the
//! handlers of each input live beside it: [`proposals`](self::proposals) (proposals,
//! built blocks, voting), [`votes`](self::votes) (vote aggregation) and
//! [`timeouts`](self::timeouts) (local and remote timeouts).

use std::collections::{BTreeMap, BTreeSet};

use aether_crypto::bls::BlsSecretKey;
use aether_crypto::vrf::VrfOutput;
use aether_types::{Hash, QuorumCertificate, Timeout, TimeoutCertificate, ValidatorIndex, Vote};

use crate::block_tree::BlockTree;
use crate::certificate_verifier::{CertificateVerifier, genesis_qc};
use crate::config::ConsensusConfig;
use crate::drops::{DropReason, Drops};
use crate::leader_schedule::LeaderSchedule;
use crate::message::{Action, BlockMeta, Event, Proposal};
use crate::safety::SafetyState;
use crate::timeout_collector::TimeoutCollector;
use crate::vote_collector::VoteCollector;

mod proposals;
mod timeouts;
mod votes;

/// What this validator's core did, for metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CoreCounts {
    /// QCs aggregated here from votes.
    pub qcs_formed: u64,
    /// TCs aggregated here from timeouts.
    pub tcs_formed: u64,
    /// Rounds this validator timed out (signed a timeout for).
    pub rounds_timed_out: u64,
    /// Blocks this validator asked to build in an epoch whose nonce the final chain
    /// did not yet determine (its leader came from the nonce along the parent chain):
    /// finality ran more than an epoch behind.
    pub proposals_ahead_of_final_nonces: u64,
}

/// The last committed block and a QC for it: where a restarted validator resumes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Root {
    /// The block.
    pub block: BlockMeta,
    /// A QC certifying it.
    pub certificate: QuorumCertificate,
}

/// One validator's consensus state machine. See the crate docs for the protocol.
#[derive(Debug)]
pub struct Core {
    config: ConsensusConfig,
    schedule: LeaderSchedule,
    me: ValidatorIndex,
    key: BlsSecretKey,
    safety: SafetyState,
    /// The last safety state handed out in a `PersistSafety` (or loaded at start).
    persisted: SafetyState,
    round: u64,
    high_qc: QuorumCertificate,
    /// The TC for `round - 1` when this round was entered through one.
    last_round_tc: Option<TimeoutCertificate>,
    tree: BlockTree,
    /// The slot and VRF output of each block in the tree above the root (the nonces
    /// along its chain need them).
    vrf_outputs: BTreeMap<Hash, (u64, VrfOutput)>,
    verifier: CertificateVerifier,
    votes: VoteCollector,
    timeouts: TimeoutCollector,
    /// The first proposal seen per round (equivocation detection).
    proposals: BTreeMap<u64, Proposal>,
    /// Proposals waiting for their parent, by parent hash.
    pending: BTreeMap<Hash, Vec<Proposal>>,
    pending_count: usize,
    /// Blocks asked for with `FetchBlock`, with their round.
    fetching: BTreeMap<Hash, u64>,
    /// This validator's signed timeout for the current round (re-sent on each timer).
    my_timeout: Option<Timeout>,
    /// This validator's vote in the current round (sent to every validator, and again
    /// on each timer, so a quorum of votes forms a QC even when the next leader is
    /// down).
    my_vote: Option<Vote>,
    /// The round a `Propose` was last emitted for.
    proposal_requested: u64,
    /// Per validator index, the highest round of its votes whose signature this
    /// validator verified (0: none).
    verified_vote_rounds: Vec<u64>,
    /// Leaders whose last round ended in a TC here with no proposal from them; their
    /// rounds run on a shorter timer until a proposal of theirs arrives (see
    /// [`crate::pacemaker`]).
    unresponsive_leaders: BTreeSet<ValidatorIndex>,
    drops: Drops,
    counts: CoreCounts,
    /// Test-only mutation: skip the voting rule (see [`Core::disable_vote_safety`]).
    skip_vote_rules: bool,
}

impl Core {
    /// A core for validator `me` (signing with `key`), resuming from `safety` (as last
    /// persisted; `SafetyState::default()` on first start) and from `committed` (the
    /// last committed block, or `None` to start at `genesis`).
    ///
    /// Nothing happens until [`Core::start`].
    pub fn new(
        config: ConsensusConfig,
        schedule: LeaderSchedule,
        me: ValidatorIndex,
        key: BlsSecretKey,
        safety: SafetyState,
        genesis: BlockMeta,
        committed: Option<Root>,
    ) -> Core {
        config
            .validate()
            .expect("consensus config is validated at start-up");
        let validators = schedule.validators().clone();
        let bls_key = validators
            .get(me)
            .expect("this validator is in the validator set")
            .bls_public_key
            .clone();
        assert_eq!(
            bls_key,
            key.public_key(),
            "signing key matches the validator set"
        );
        let genesis_qc = genesis_qc(genesis.hash, genesis.round, validators.len());
        let root = committed.unwrap_or(Root {
            block: genesis,
            certificate: genesis_qc.clone(),
        });
        let validator_count = validators.len();
        let mut verifier = CertificateVerifier::new(validators, genesis_qc);
        verifier.insert_qc(&root.certificate);
        Core {
            config,
            schedule,
            me,
            key,
            safety,
            persisted: safety,
            round: root.block.round + 1,
            high_qc: root.certificate.clone(),
            last_round_tc: None,
            tree: BlockTree::new(root.block, root.certificate),
            vrf_outputs: BTreeMap::new(),
            verifier,
            votes: VoteCollector::default(),
            timeouts: TimeoutCollector::default(),
            proposals: BTreeMap::new(),
            pending: BTreeMap::new(),
            pending_count: 0,
            fetching: BTreeMap::new(),
            my_timeout: None,
            my_vote: None,
            proposal_requested: 0,
            unresponsive_leaders: BTreeSet::new(),
            verified_vote_rounds: vec![0; validator_count],
            drops: Drops::default(),
            counts: CoreCounts::default(),
            skip_vote_rules: false,
        }
    }

    /// Test-only mutation for the simulator's "can it fail" check: votes without the
    /// voting rule (neither the once-per-round check nor the extension check).
    #[cfg(feature = "simulation")]
    pub fn disable_vote_safety(&mut self) {
        self.skip_vote_rules = true;
    }

    /// The first actions: the timer of the starting round, and a proposal if this
    /// validator leads it.
    pub fn start(&mut self) -> Vec<Action> {
        let mut out = Vec::new();
        self.enter_round(&mut out);
        self.check_actions(&out);
        out
    }

    /// Before [`Core::start`] on a restart: takes back the highest QC and the TC of the
    /// last round this validator was in (as saved by the driver), so it resumes in the
    /// round after them, where the timeout rule lets it speak, instead of the round
    /// after its last committed block, where its safety state may forbid it to.
    /// Certificates that do not verify are ignored.
    pub fn restore(
        &mut self,
        high_qc: &QuorumCertificate,
        last_round_tc: Option<&TimeoutCertificate>,
    ) -> Vec<Action> {
        let mut out = Vec::new();
        if high_qc.round > self.high_qc.round && self.verifier.verify_qc(high_qc).is_ok() {
            self.process_qc(high_qc, None, &mut out);
        }
        if let Some(tc) = last_round_tc
            && tc.round >= self.round
            && self.verifier.verify_tc(tc).is_ok()
        {
            self.process_tc(tc, &mut out);
        }
        self.check_actions(&out);
        out
    }

    /// The TC that opened the current round, if it was entered through one.
    pub fn last_round_tc(&self) -> Option<&TimeoutCertificate> {
        self.last_round_tc.as_ref()
    }

    /// Handles one event; the returned actions must be carried out in order.
    pub fn handle(&mut self, event: Event) -> Vec<Action> {
        let mut out = Vec::new();
        match event {
            Event::Proposal(proposal) => self.on_proposal(proposal, &mut out),
            Event::Vote(vote) => self.on_vote(vote, &mut out),
            Event::Timeout {
                timeout,
                last_round_tc,
            } => self.on_timeout(timeout, last_round_tc, &mut out),
            Event::RoundTimeout { round } => self.on_round_timer(round, &mut out),
            Event::BlockBuilt(proposal) => self.on_block_built(proposal, &mut out),
        }
        self.check_actions(&out);
        out
    }

    /// The current round.
    pub fn round(&self) -> u64 {
        self.round
    }

    /// The highest QC known.
    pub fn high_qc(&self) -> &QuorumCertificate {
        &self.high_qc
    }

    /// The safety state (as it will next be persisted).
    pub fn safety(&self) -> &SafetyState {
        &self.safety
    }

    /// The last committed block and its QC.
    pub fn committed_root(&self) -> Root {
        Root {
            block: *self.tree.root(),
            certificate: self.tree.root_certificate().clone(),
        }
    }

    /// Drop counters.
    pub fn drops(&self) -> &Drops {
        &self.drops
    }

    /// Certificates formed here and rounds timed out here.
    pub fn counts(&self) -> CoreCounts {
        self.counts
    }

    /// Aggregate signature checks run so far (certificate cache misses).
    pub fn certificate_checks(&self) -> u64 {
        self.verifier.pairing_checks
    }

    /// This validator's index.
    pub fn index(&self) -> ValidatorIndex {
        self.me
    }

    fn drop(&mut self, reason: DropReason) {
        self.drops.count(reason);
    }

    fn persist(&mut self, out: &mut Vec<Action>) {
        out.push(Action::PersistSafety(self.safety));
    }

    /// Processes a verified QC: records it, raises the high QC, commits by the 2-chain
    /// rule, fetches the block if unknown, and enters the next round.
    fn process_qc(
        &mut self,
        qc: &QuorumCertificate,
        from: Option<ValidatorIndex>,
        out: &mut Vec<Action>,
    ) {
        self.tree.add_certificate(qc);
        if qc.round > self.high_qc.round {
            self.high_qc = qc.clone();
        }
        if qc.round > self.tree.root().round && !self.tree.contains(&qc.block_hash) {
            self.fetch(qc.block_hash, qc.round, from, out);
        }
        self.try_commit(&qc.block_hash, out);
        if qc.round >= self.round {
            self.advance_round(qc.round + 1, None, out);
        } else {
            self.maybe_propose(out);
        }
    }

    /// Processes a verified TC: enters the round after it.
    fn process_tc(&mut self, tc: &TimeoutCertificate, out: &mut Vec<Action>) {
        if tc.round >= self.round {
            self.advance_round(tc.round + 1, Some(tc.clone()), out);
        }
    }

    fn advance_round(&mut self, round: u64, tc: Option<TimeoutCertificate>, out: &mut Vec<Action>) {
        assert!(round > self.round, "rounds only move forward");
        if let Some(tc) = &tc
            && !self.proposals.contains_key(&tc.round)
            && let Some(leader) = self.leader_of(tc.round)
        {
            self.unresponsive_leaders.insert(leader);
        }
        self.round = round;
        self.last_round_tc = tc.filter(|tc| tc.round + 1 == round);
        self.my_timeout = None;
        self.my_vote = None;
        // A QC for the previous round is still worth forming (a higher high QC).
        self.votes.prune_below(round - 1);
        self.timeouts.prune_below(round);
        self.enter_round(out);
    }

    fn round_timer_ms(&self) -> u64 {
        let rounds_since_qc = self.round.saturating_sub(self.high_qc.round + 1);
        let timeouts = &self.config.timeouts;
        match self.leader_of(self.round) {
            Some(leader) if self.unresponsive_leaders.contains(&leader) => {
                timeouts.unresponsive_round_timeout_ms(rounds_since_qc)
            }
            _ => timeouts.round_timeout_ms(rounds_since_qc),
        }
    }

    /// Per validator index, the highest round of its votes whose signature this
    /// validator verified (0: none): who is voting, whether or not its votes made it
    /// into a QC.
    pub fn verified_vote_rounds(&self) -> &[u64] {
        &self.verified_vote_rounds
    }

    /// The VRF outputs of `tip` and its ancestors above the root, or `None` when `tip`
    /// is not in the tree.
    fn chain_outputs(&self, tip: &Hash) -> Option<Vec<(u64, VrfOutput)>> {
        let mut outputs = Vec::new();
        let mut cursor = *tip;
        while cursor != self.tree.root().hash {
            let block = self.tree.get(&cursor)?;
            outputs.push(*self.vrf_outputs.get(&cursor)?);
            cursor = block.parent_hash;
        }
        Some(outputs)
    }

    /// The nonce of `slot`'s epoch for a block extending `parent` (see
    /// [`crate::epoch_nonces`]): `None` when `parent` is neither the root nor a block in
    /// the tree, or the epoch is out of reach.
    pub fn epoch_nonce_after(&self, slot: u64, parent: &Hash) -> Option<Hash> {
        let nonces = self.schedule.nonces();
        let epoch = self.schedule.epochs().epoch_of(slot);
        if let Some(nonce) = nonces.final_nonce(epoch)
            && self.tree.contains(parent)
        {
            return Some(*nonce);
        }
        nonces.on_chain(epoch, &self.chain_outputs(parent)?)
    }

    /// The leader of `round` for a block extending `parent`.
    pub fn leader_after(&self, round: u64, parent: &Hash) -> Option<ValidatorIndex> {
        let nonce = self.epoch_nonce_after(round, parent)?;
        Some(self.schedule.leader_with_nonce(round, &nonce))
    }

    /// The leader of `round` on the chain this validator would extend: its high QC's
    /// block (the root while that block is not held). Exact for a proposal it would
    /// make; for other validators' rounds an estimate (timers, forwarding), which
    /// differs only across forks that diverged more than an epoch back.
    pub fn leader_of(&self, round: u64) -> Option<ValidatorIndex> {
        let tip = if self.tree.contains(&self.high_qc.block_hash) {
            self.high_qc.block_hash
        } else {
            self.tree.root().hash
        };
        self.leader_after(round, &tip)
    }

    /// The leader schedule and its epoch nonces.
    pub fn schedule(&self) -> &LeaderSchedule {
        &self.schedule
    }

    /// Whether `leader`'s rounds run on the shorter timer.
    pub fn is_unresponsive(&self, leader: ValidatorIndex) -> bool {
        self.unresponsive_leaders.contains(&leader)
    }

    fn enter_round(&mut self, out: &mut Vec<Action>) {
        out.push(Action::ScheduleTimeout {
            round: self.round,
            after_ms: self.round_timer_ms(),
        });
        self.maybe_propose(out);
    }

    /// Asks the driver for a block when this validator leads the current round, has not
    /// asked yet, and holds what the proposal must carry: the parent block and a QC that
    /// either certifies the previous round or is at least the TC's highest.
    fn maybe_propose(&mut self, out: &mut Vec<Action>) {
        let round = self.round;
        if self.proposal_requested >= round
            || self.safety.last_proposed_round >= round
            || self.leader_after(round, &self.high_qc.block_hash) != Some(self.me)
        {
            return;
        }
        let tc = if self.high_qc.round + 1 == round {
            None
        } else {
            match &self.last_round_tc {
                Some(tc) if self.high_qc.round >= tc.highest_qc_round().unwrap_or(0) => {
                    Some(tc.clone())
                }
                // Wait for the QC the TC says exists (timeouts carry it).
                _ => return,
            }
        };
        self.proposal_requested = round;
        let epoch = self.schedule.epochs().epoch_of(round);
        if self.schedule.nonces().final_nonce(epoch).is_none() {
            self.counts.proposals_ahead_of_final_nonces += 1;
        }
        out.push(Action::Propose {
            round,
            parent: self.high_qc.block_hash,
            parent_round: self.high_qc.round,
            justify: self.high_qc.clone(),
            tc,
        });
    }

    fn fetch(
        &mut self,
        hash: Hash,
        round: u64,
        from: Option<ValidatorIndex>,
        out: &mut Vec<Action>,
    ) {
        if self.fetching.insert(hash, round).is_none() {
            out.push(Action::FetchBlock { hash, from });
        }
    }

    fn try_commit(&mut self, certified: &Hash, out: &mut Vec<Action>) {
        let Some((blocks, certificate, commit_certificate)) = self.tree.try_commit(certified)
        else {
            return;
        };
        let root_round = self.tree.root().round;
        let final_vrf_outputs: Vec<(u64, VrfOutput)> = blocks
            .iter()
            .filter_map(|block| self.vrf_outputs.get(&block.hash).copied())
            .collect();
        let new_epoch_nonces = self
            .schedule
            .nonces_mut()
            .record_final(final_vrf_outputs.iter().copied(), root_round);
        let tree = &self.tree;
        self.vrf_outputs.retain(|hash, _| tree.contains(hash));
        self.proposals = self.proposals.split_off(&(root_round + 1));
        self.pending.retain(|_, children| {
            children.retain(|child| child.block.round > root_round);
            !children.is_empty()
        });
        self.pending_count = self.pending.values().map(Vec::len).sum();
        self.fetching.retain(|_, round| *round > root_round);
        self.verifier.prune_below(root_round);
        out.push(Action::Commit {
            blocks,
            certificate,
            commit_certificate,
            final_vrf_outputs,
            new_epoch_nonces,
        });
    }

    /// Postcondition of every `handle`: each message that depends on the safety state
    /// is preceded by a `PersistSafety` (in this list or an earlier one) that covers it.
    fn check_actions(&mut self, out: &[Action]) {
        for action in out {
            match action {
                Action::PersistSafety(state) => self.persisted = *state,
                Action::SendVote { vote, .. } => assert!(
                    self.persisted.last_voted_round >= vote.round,
                    "a vote is sent only after the state that records it is persisted"
                ),
                Action::BroadcastTimeout { timeout, .. } => assert!(
                    self.persisted.highest_timeout_round >= timeout.round,
                    "a timeout is sent only after the state that records it is persisted"
                ),
                Action::BroadcastProposal(proposal) => assert!(
                    self.persisted.last_proposed_round >= proposal.block.round,
                    "a proposal is sent only after the state that records it is persisted"
                ),
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests;
