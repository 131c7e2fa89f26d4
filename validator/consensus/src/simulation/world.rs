//! The simulated network, clock and drivers: one run of [`SimConfig`].

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, VecDeque};
use std::sync::Arc;

use aether_crypto::bls::BlsSecretKey;
use aether_crypto::vrf::VrfOutput;
use aether_types::{Hash, QuorumCertificate, Timeout, TimeoutCertificate, ValidatorIndex, Vote};

use super::byzantine::{DOUBLE_VOTE_PERMILLE, ProposalBehaviour, Recipient};
use super::faults::{DELAY_AFTER_GST_MAX_MS, FaultPlan};
use super::invariants::{Checker, Violation};
use super::rng::SimRng;
use super::{LIVENESS_BOUND_MS, NEW_BLOCKS_AFTER_GST, SimConfig, SimReport};
use crate::config::ConsensusConfig;
use crate::core::{Core, Root};
use crate::epoch::EpochSchedule;
use crate::leader_schedule::LeaderSchedule;
use crate::message::{Action, BlockMeta, Event, Evidence, Proposal};
use crate::safety::SafetyState;
use crate::testing::{validator_keys, validator_set};
use crate::validator_set::ValidatorSet;

/// A run that processes more events than this is cut off (a runaway guard).
const MAX_EVENTS: u64 = 400_000;

#[derive(Debug, Clone)]
enum Message {
    Proposal(Box<Proposal>),
    Vote(Vote),
    Timeout(Box<(Timeout, Option<TimeoutCertificate>)>),
}

#[derive(Debug)]
enum Item {
    Deliver {
        to: usize,
        message: Message,
    },
    Fetched {
        to: usize,
        hash: Hash,
    },
    Timer {
        node: usize,
        incarnation: u32,
        round: u64,
    },
    Crash {
        node: usize,
    },
    Restart {
        node: usize,
    },
}

struct SimBlock {
    proposal: Proposal,
    valid: bool,
    built_ms: u64,
}

struct Node {
    core: Option<Core>,
    incarnation: u32,
    /// What survives a crash: the last persisted safety state, the highest
    /// certificates (as the node's driver keeps them) and the committed chain.
    persisted: SafetyState,
    certificates: Option<(QuorumCertificate, Option<TimeoutCertificate>)>,
    committed: Vec<BlockMeta>,
    committed_root: Option<Root>,
    /// Blocks built after GST that this node finalised.
    new_final_blocks: usize,
}

struct World {
    config: SimConfig,
    plan: FaultPlan,
    network_rng: SimRng,
    byzantine_rng: SimRng,
    now_ms: u64,
    sequence: u64,
    queue: BinaryHeap<Reverse<(u64, u64)>>,
    items: BTreeMap<u64, Item>,
    validators: Arc<ValidatorSet>,
    schedule: LeaderSchedule,
    genesis: BlockMeta,
    nodes: Vec<Node>,
    blocks: BTreeMap<Hash, SimBlock>,
    next_payload: u64,
    /// The byzantine node's second proposal per round.
    byzantine_second: BTreeMap<u64, Proposal>,
    checker: Checker,
    /// Blocks whose first honest commit was measured.
    latency_recorded: BTreeSet<Hash>,
    report: SimReport,
}

/// Runs one simulation and reports what happened.
pub fn run(config: &SimConfig) -> SimReport {
    let mut world = World::new(config.clone());
    world.run();
    world.report
}

impl World {
    fn new(config: SimConfig) -> World {
        let seed = config.seed;
        let plan = FaultPlan::from_seed(seed, &config.stakes, config.allow_byzantine);
        let validators = validator_set(seed, &config.stakes);
        let nonce = Hash::digest(&seed.to_le_bytes());
        let schedule = LeaderSchedule::new(
            validators.clone(),
            EpochSchedule::new(config.epoch_slots, 1),
            nonce,
        );
        let genesis = BlockMeta {
            hash: Hash::digest(b"aether simulation genesis"),
            round: 0,
            parent_hash: Hash::ZERO,
            parent_round: 0,
            proposer: ValidatorIndex(0),
        };
        let nodes = (0..config.stakes.len())
            .map(|_| Node {
                core: None,
                incarnation: 0,
                persisted: SafetyState::default(),
                certificates: None,
                committed: Vec::new(),
                committed_root: None,
                new_final_blocks: 0,
            })
            .collect();
        let report = SimReport {
            seed,
            byzantine: plan.byzantine,
            ..SimReport::default()
        };
        World {
            network_rng: SimRng::new(seed, 2),
            byzantine_rng: SimRng::new(seed, 3),
            config,
            plan,
            now_ms: 0,
            sequence: 0,
            queue: BinaryHeap::new(),
            items: BTreeMap::new(),
            validators,
            schedule,
            genesis,
            nodes,
            blocks: BTreeMap::new(),
            next_payload: 0,
            byzantine_second: BTreeMap::new(),
            checker: Checker::default(),
            latency_recorded: BTreeSet::new(),
            report,
        }
    }

    fn is_byzantine(&self, node: usize) -> bool {
        self.plan.byzantine == Some(node)
    }

    fn schedule_at(&mut self, time_ms: u64, item: Item) {
        self.sequence += 1;
        self.queue.push(Reverse((time_ms, self.sequence)));
        self.items.insert(self.sequence, item);
    }

    fn run(&mut self) {
        for crash in self.plan.crashes.clone() {
            self.schedule_at(crash.at_ms, Item::Crash { node: crash.node });
            self.schedule_at(crash.restart_ms, Item::Restart { node: crash.node });
        }
        for node in 0..self.nodes.len() {
            self.boot(node);
        }
        let deadline = self.plan.gst_ms + LIVENESS_BOUND_MS;
        while let Some(Reverse((time_ms, sequence))) = self.queue.pop() {
            let item = self
                .items
                .remove(&sequence)
                .expect("every queued item is stored");
            if time_ms > deadline || self.report.event_count >= MAX_EVENTS {
                break;
            }
            self.now_ms = time_ms;
            self.report.event_count += 1;
            self.step(item);
            if self.checker.has_conflict() || self.live_after_gst() {
                break;
            }
        }
        self.finish();
    }

    fn live_after_gst(&mut self) -> bool {
        if self.now_ms < self.plan.gst_ms || self.report.time_to_finality_after_gst_ms.is_some() {
            return self.report.time_to_finality_after_gst_ms.is_some();
        }
        let done = (0..self.nodes.len())
            .filter(|&node| !self.is_byzantine(node))
            .all(|node| self.nodes[node].new_final_blocks >= NEW_BLOCKS_AFTER_GST);
        if done {
            self.report.time_to_finality_after_gst_ms = Some(self.now_ms - self.plan.gst_ms);
        }
        done
    }

    fn finish(&mut self) {
        if self.report.time_to_finality_after_gst_ms.is_none() && !self.checker.has_conflict() {
            self.checker.violations.push(Violation::NoProgressAfterGst {
                until_ms: self.now_ms,
            });
        }
        for (node, state) in self.nodes.iter().enumerate() {
            if let (Some(core), false) = (&state.core, self.plan.byzantine == Some(node)) {
                self.report.drops.add(core.drops());
                self.report.proposals_ahead_of_final_nonces +=
                    core.counts().proposals_ahead_of_final_nonces;
            }
        }
        self.report.final_states = self
            .nodes
            .iter()
            .map(|node| {
                node.core.as_ref().map(|core| {
                    (
                        core.round(),
                        core.high_qc().round,
                        *core.safety(),
                        node.committed.len(),
                    )
                })
            })
            .collect();
        self.report.plan = Some(self.plan.clone());
        self.report.violations = std::mem::take(&mut self.checker.violations);
        self.report.committed_height = self.checker.committed_height();
        self.report.end_ms = self.now_ms;
    }

    fn boot(&mut self, node: usize) {
        let (key, _) = validator_keys(self.config.seed, node);
        let consensus = ConsensusConfig {
            timeouts: self.config.timeouts,
            ..ConsensusConfig::default()
        };
        let state = &mut self.nodes[node];
        state.incarnation += 1;
        // The node's own record of its final chain's VRF outputs (the driver's log).
        let mut schedule = self.schedule.clone();
        let final_outputs: Vec<(u64, VrfOutput)> = state
            .committed
            .iter()
            .filter_map(|block| self.blocks.get(&block.hash))
            .map(|block| (block.proposal.block.round, block.proposal.vrf_output))
            .collect();
        let final_slot = state.committed.last().map_or(0, |block| block.round);
        schedule
            .nonces_mut()
            .record_final(final_outputs, final_slot);
        let mut core = Core::new(
            consensus,
            schedule,
            ValidatorIndex(node as u32),
            key,
            state.persisted,
            self.genesis,
            state.committed_root.clone(),
        );
        if self.config.unsafe_voting && self.plan.byzantine != Some(node) {
            core.disable_vote_safety();
        }
        let restored = match &state.certificates {
            Some((high_qc, last_round_tc)) => core.restore(high_qc, last_round_tc.as_ref()),
            None => Vec::new(),
        };
        self.nodes[node].core = Some(core);
        self.carry_out(node, restored);
        let actions = self.nodes[node]
            .core
            .as_mut()
            .expect("booted above")
            .start();
        self.carry_out(node, actions);
    }

    /// Keeps the node's high QC and current round's TC when either rose (what the
    /// driver's certificate store does before the messages that follow leave).
    fn persist_certificates(&mut self, node: usize) {
        let state = &mut self.nodes[node];
        let Some(core) = &state.core else {
            return;
        };
        let rounds = |qc: &QuorumCertificate, tc: Option<&TimeoutCertificate>| {
            (qc.round, tc.map_or(0, |tc| tc.round))
        };
        let now = rounds(core.high_qc(), core.last_round_tc());
        let saved = state
            .certificates
            .as_ref()
            .map_or((0, 0), |(qc, tc)| rounds(qc, tc.as_ref()));
        if now.0 > saved.0 || now.1 > saved.1 {
            state.certificates = Some((core.high_qc().clone(), core.last_round_tc().cloned()));
        }
    }

    fn step(&mut self, item: Item) {
        match item {
            Item::Deliver { to, message } => {
                let event = match message {
                    Message::Proposal(proposal) => Event::Proposal(self.checked(*proposal)),
                    Message::Vote(vote) => Event::Vote(vote),
                    Message::Timeout(boxed) => {
                        let (timeout, last_round_tc) = *boxed;
                        Event::Timeout {
                            timeout,
                            last_round_tc,
                        }
                    }
                };
                self.feed(to, event);
            }
            Item::Fetched { to, hash } => {
                let proposal = self.blocks[&hash].proposal.clone();
                let event = Event::Proposal(self.checked(proposal));
                self.feed(to, event);
            }
            Item::Timer {
                node,
                incarnation,
                round,
            } => {
                if self.nodes[node].incarnation == incarnation {
                    self.feed(node, Event::RoundTimeout { round });
                }
            }
            Item::Crash { node } => {
                if let Some(core) = self.nodes[node].core.take()
                    && self.plan.byzantine != Some(node)
                {
                    self.report.proposals_ahead_of_final_nonces +=
                        core.counts().proposals_ahead_of_final_nonces;
                }
            }
            Item::Restart { node } => self.boot(node),
        }
    }

    /// The receiving driver's content check: the verdict comes from the block itself,
    /// whatever the sender claims.
    fn checked(&self, mut proposal: Proposal) -> Proposal {
        proposal.content_valid = self
            .blocks
            .get(&proposal.block.hash)
            .is_some_and(|b| b.valid);
        proposal
    }

    fn feed(&mut self, node: usize, event: Event) {
        let Some(core) = self.nodes[node].core.as_mut() else {
            return; // Down: the message is lost.
        };
        let actions = core.handle(event);
        self.carry_out(node, actions);
    }

    fn carry_out(&mut self, node: usize, actions: Vec<Action>) {
        self.persist_certificates(node);
        let mut work: VecDeque<Action> = actions.into();
        while let Some(action) = work.pop_front() {
            match action {
                Action::PersistSafety(state) => self.nodes[node].persisted = state,
                Action::SendVote { to, vote } => self.send_vote(node, to.0 as usize, vote),
                Action::BroadcastProposal(proposal) => self.broadcast_proposal(node, proposal),
                Action::BroadcastTimeout {
                    timeout,
                    last_round_tc,
                } => {
                    if !self.is_byzantine(node) {
                        self.checker.honest_timeout(timeout.voter, timeout.round);
                    }
                    let message = Message::Timeout(Box::new((timeout, last_round_tc)));
                    self.send_to_others(node, &message);
                }
                Action::Propose {
                    round,
                    parent,
                    parent_round,
                    justify,
                    tc,
                } => {
                    let proposal = self.build(node, round, parent, parent_round, justify, tc);
                    let more = self.nodes[node]
                        .core
                        .as_mut()
                        .expect("only a running node acts")
                        .handle(Event::BlockBuilt(proposal));
                    work.extend(more);
                }
                Action::ScheduleTimeout { round, after_ms } => {
                    let incarnation = self.nodes[node].incarnation;
                    self.schedule_at(
                        self.now_ms + after_ms,
                        Item::Timer {
                            node,
                            incarnation,
                            round,
                        },
                    );
                }
                Action::Commit {
                    blocks,
                    certificate,
                    ..
                } => self.commit(node, blocks, certificate),
                Action::RecordEquivocation(evidence) => self.check_evidence(node, &evidence),
                Action::FetchBlock { hash, .. } => {
                    if self.blocks.contains_key(&hash) {
                        let delay = self.network_rng.range(1, DELAY_AFTER_GST_MAX_MS);
                        self.schedule_at(self.now_ms + delay, Item::Fetched { to: node, hash });
                    }
                }
            }
        }
    }

    fn new_block(
        &mut self,
        node: usize,
        round: u64,
        justify: aether_types::QuorumCertificate,
        tc: Option<TimeoutCertificate>,
        valid: bool,
    ) -> Proposal {
        self.next_payload += 1;
        let mut preimage = Vec::new();
        for part in [round, justify.round, node as u64, self.next_payload] {
            preimage.extend_from_slice(&part.to_le_bytes());
        }
        preimage.extend_from_slice(justify.block_hash.as_bytes());
        let proposal = Proposal {
            block: BlockMeta {
                hash: Hash::digest(&preimage),
                round,
                parent_hash: justify.block_hash,
                parent_round: justify.round,
                proposer: ValidatorIndex(node as u32),
            },
            justify,
            last_round_tc: tc,
            // The builder vouches for its own block; receivers re-check ([`Self::checked`]).
            content_valid: true,
            vrf_output: sim_vrf_output(self.config.seed, node, round),
            signed_header: self.next_payload.to_le_bytes().to_vec(),
        };
        self.blocks.insert(
            proposal.block.hash,
            SimBlock {
                proposal: proposal.clone(),
                valid,
                built_ms: self.now_ms,
            },
        );
        proposal
    }

    fn build(
        &mut self,
        node: usize,
        round: u64,
        parent: Hash,
        parent_round: u64,
        justify: aether_types::QuorumCertificate,
        tc: Option<TimeoutCertificate>,
    ) -> Proposal {
        assert_eq!((parent, parent_round), (justify.block_hash, justify.round));
        if !self.is_byzantine(node) {
            return self.new_block(node, round, justify, tc, true);
        }
        match ProposalBehaviour::pick(&mut self.byzantine_rng) {
            ProposalBehaviour::Honest => self.new_block(node, round, justify, tc, true),
            ProposalBehaviour::InvalidContent => self.new_block(node, round, justify, tc, false),
            ProposalBehaviour::Equivocate => {
                let second = self.new_block(node, round, justify.clone(), tc.clone(), true);
                self.byzantine_second.insert(round, second);
                self.new_block(node, round, justify, tc, true)
            }
            ProposalBehaviour::StaleFork => {
                let grandparent_qc = self
                    .blocks
                    .get(&justify.block_hash)
                    .map(|parent| parent.proposal.justify.clone());
                if let Some(stale) = grandparent_qc {
                    let fork = self.new_block(node, round, stale, None, true);
                    self.byzantine_second.insert(round, fork);
                }
                self.new_block(node, round, justify, tc, true)
            }
        }
    }

    fn broadcast_proposal(&mut self, node: usize, proposal: Proposal) {
        let round = proposal.block.round;
        let second = if self.is_byzantine(node) {
            self.byzantine_second.get(&round).cloned()
        } else {
            None
        };
        let Some(second) = second else {
            self.send_to_others(node, &Message::Proposal(Box::new(proposal)));
            return;
        };
        let stale_fork = second.justify.round + 1 < round;
        for peer in 0..self.nodes.len() {
            if peer == node {
                continue;
            }
            let recipient = if stale_fork {
                Recipient::Both
            } else {
                Recipient::pick(&mut self.byzantine_rng)
            };
            if recipient != Recipient::Second {
                self.send(node, peer, Message::Proposal(Box::new(proposal.clone())));
            }
            if recipient != Recipient::First {
                self.send(node, peer, Message::Proposal(Box::new(second.clone())));
            }
        }
    }

    fn send_vote(&mut self, node: usize, to: usize, vote: Vote) {
        if !self.is_byzantine(node) {
            self.checker.honest_vote(&vote);
        } else if self.byzantine_rng.chance(DOUBLE_VOTE_PERMILLE) {
            let other = self
                .byzantine_second
                .get(&vote.round)
                .map(|second| second.block.hash)
                .filter(|hash| *hash != vote.block_hash)
                .unwrap_or_else(|| Hash::digest(&self.byzantine_rng.next_u64().to_le_bytes()));
            let (key, _): (BlsSecretKey, _) = validator_keys(self.config.seed, node);
            let double = Vote {
                signature: key
                    .sign(&Vote::signing_message_for(vote.round, &other))
                    .to_bytes(),
                block_hash: other,
                ..vote.clone()
            };
            self.send(node, to, Message::Vote(double));
        }
        self.send(node, to, Message::Vote(vote));
    }

    fn send_to_others(&mut self, node: usize, message: &Message) {
        for peer in 0..self.nodes.len() {
            if peer != node {
                self.send(node, peer, message.clone());
            }
        }
    }

    /// Puts a message on the simulated network: lost, delayed or duplicated as the
    /// fault plan says. A node's message to itself arrives at once.
    fn send(&mut self, from: usize, to: usize, message: Message) {
        if from == to {
            self.schedule_at(self.now_ms, Item::Deliver { to, message });
            return;
        }
        let before_gst = self.now_ms < self.plan.gst_ms;
        if before_gst
            && (self.plan.partitioned(from, to, self.now_ms)
                || self.network_rng.chance(self.plan.drop_permille))
        {
            return;
        }
        let max_delay = if before_gst {
            self.plan.delay_max_ms
        } else {
            DELAY_AFTER_GST_MAX_MS
        };
        let copies = if self.network_rng.chance(self.plan.duplicate_permille) {
            2
        } else {
            1
        };
        for _ in 0..copies {
            let delay = self.network_rng.range(1, max_delay);
            self.schedule_at(
                self.now_ms + delay,
                Item::Deliver {
                    to,
                    message: message.clone(),
                },
            );
        }
    }

    fn commit(
        &mut self,
        node: usize,
        blocks: Vec<BlockMeta>,
        certificate: aether_types::QuorumCertificate,
    ) {
        let last = *blocks.last().expect("a commit is never empty");
        let state = &mut self.nodes[node];
        let previous_tip = state.committed.last().map_or(self.genesis.hash, |b| b.hash);
        let height_before = state.committed.len();
        state.committed.extend(blocks.iter().copied());
        state.committed_root = Some(Root {
            block: last,
            certificate,
        });
        if self.is_byzantine(node) {
            return;
        }
        let gst = self.plan.gst_ms;
        for block in &blocks {
            let built = &self.blocks[&block.hash];
            if built.built_ms >= gst {
                self.nodes[node].new_final_blocks += 1;
            }
        }
        let round = self.nodes[node].core.as_ref().map_or(0, Core::round);
        for block in &blocks {
            // The first honest commit of a block gives its latency.
            if self.latency_recorded.insert(block.hash) {
                self.report
                    .commit_latency_ms
                    .push(self.now_ms - self.blocks[&block.hash].built_ms);
                self.report
                    .commit_latency_rounds
                    .push(round.saturating_sub(block.round));
            }
        }
        let blocks_store = &self.blocks;
        self.checker
            .honest_commit(node, previous_tip, height_before, &blocks, |hash| {
                blocks_store.get(hash).is_some_and(|block| block.valid)
            });
    }

    fn check_evidence(&mut self, node: usize, evidence: &Evidence) {
        if self.is_byzantine(node) {
            return;
        }
        let proves = match evidence {
            Evidence::DoubleProposal { first, second } => {
                first.block.round == second.block.round
                    && first.block.proposer == second.block.proposer
                    && first.block.hash != second.block.hash
            }
            Evidence::DoubleVote { first, second } => {
                let key = &self
                    .validators
                    .get(first.voter)
                    .expect("known voter")
                    .bls_public_key;
                let signed = |vote: &Vote| {
                    aether_crypto::bls::BlsSignature::from_bytes(&vote.signature)
                        .and_then(|signature| {
                            aether_crypto::bls::verify(key, &vote.signing_message(), &signature)
                        })
                        .is_ok()
                };
                first.round == second.round
                    && first.voter == second.voter
                    && first.block_hash != second.block_hash
                    && signed(first)
                    && signed(second)
            }
        };
        if proves {
            self.report.evidence_count += 1;
        } else {
            self.checker.violations.push(Violation::BadEvidence);
        }
    }
}

/// A stand-in for the VRF output of `node`'s block in `round`: one value per key and
/// slot, as a real VRF gives (the core never checks proofs; the driver does).
fn sim_vrf_output(seed: u64, node: usize, round: u64) -> VrfOutput {
    let mut output = [0u8; 64];
    for (half, chunk) in output.chunks_mut(32).enumerate() {
        let mut preimage = Vec::new();
        for part in [seed, node as u64, round, half as u64] {
            preimage.extend_from_slice(&part.to_le_bytes());
        }
        chunk.copy_from_slice(Hash::digest(&preimage).as_bytes());
    }
    VrfOutput(output)
}
