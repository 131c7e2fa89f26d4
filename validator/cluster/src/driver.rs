//! One validator's consensus driver: it carries out the pure core's actions and turns
//! blocks, votes, timeouts and timers into its events.
//!
//! - A block from a peer is replayed ([`Replayer`]) on its parent's state before the
//!   core sees it; the verdict is the proposal's `content_valid`, and a refused block
//!   is counted by reason. A block whose parent is not held yet waits (bounded) until
//!   the parent has been replayed.
//! - `Propose` builds a block on the certified parent from the waiting transactions
//!   (executed, sealed with the leader's KES key, VRF proof for the slot), feeds it
//!   back as `BlockBuilt`, and the core's `BroadcastProposal` sends it out.
//! - `PersistSafety` is saved durably ([`SafetyStore`]) before any later action of the
//!   same list is carried out; own votes to self are fed straight back.
//! - `Commit` finalizes the accounts-db at the last committed block (ancestors and
//!   the pruning of losing forks follow from the fork overlay).
//!
//! The driver owns no thread, socket or clock: messages for peers go to an outbox, and
//! the current round timer is a value the caller arms. The node's runner and the
//! in-process tests both drive it the same way.

use std::collections::{HashMap, VecDeque};
use std::num::NonZeroU64;
use std::sync::{Arc, RwLock, RwLockReadGuard};

use aether_accounts_db::{AccountsDb, BlockId};
use aether_consensus::{Action, BlockMeta, Core, Event, Proposal, vrf_input};
use aether_crypto::kes::KesSecretKey;
use aether_crypto::vrf::{VrfOutput, VrfProof, proof_to_hash};
use aether_ledger::{Executor, LedgerParams, SpentOutput, Writes};
use aether_pipeline::leader::LeaderKeys;
use aether_pipeline::replay::{LeaderPublicKeys, Replayer};
use aether_types::codec::encode;
use aether_types::{
    Block, Hash, QuorumCertificate, Timeout, TimeoutCertificate, Transaction, ValidatorIndex, Vote,
};

mod build;
mod commit;
mod validator_stats;

use build::ProposeRequest;

pub use validator_stats::ValidatorStats;

use crate::certificate_store::CertificateStore;
use crate::evidence_store::{EvidenceRecord, EvidenceStore};
use crate::finality_proof::FinalityProof;
use crate::pending_blocks::PendingBlocks;
use crate::root_store::RootStore;
use crate::safety_store::{SafetyStore, SafetyStoreError};
use crate::vrf_log::{VrfLog, VrfLogError};

/// Most transactions waiting for this validator's next block.
pub const PENDING_TRANSACTIONS_MAX: usize = 65_536;
/// Most transactions in one block built here.
pub const BLOCK_TRANSACTIONS_MAX: usize = 16_384;
/// Most blocks held while their parent is missing.
pub const ORPHANS_MAX: usize = 256;
/// Rounds of final history kept to answer peers' block fetches (the blockstore's job
/// once the driver runs in the node).
pub const FINAL_HISTORY_ROUNDS: u64 = 1_024;

/// A message for peers.
#[derive(Debug, Clone)]
pub enum Outbound {
    /// This validator's block, for every other validator.
    Proposal {
        /// The block (its `justify` certifies the parent).
        block: Arc<Block>,
        /// The TC for the previous round when the round was entered through one.
        tc: Option<TimeoutCertificate>,
    },
    /// A vote for the leader of the next round.
    Vote {
        /// Recipient.
        to: ValidatorIndex,
        /// The vote.
        vote: Vote,
    },
    /// A timeout, for every other validator.
    Timeout {
        /// The signed timeout (boxed: it carries a QC).
        timeout: Box<Timeout>,
        /// The TC that opened the timed-out round, if any.
        tc: Option<TimeoutCertificate>,
    },
    /// Ask peers for a block (`from` likely has it).
    FetchBlock {
        /// The block.
        hash: Hash,
        /// A validator that referenced it.
        from: Option<ValidatorIndex>,
    },
}

/// The driver could not go on safely.
#[derive(Debug, thiserror::Error)]
pub enum DriverError {
    /// The safety state could not be made durable: nothing after it may be sent.
    #[error(transparent)]
    Safety(#[from] SafetyStoreError),
    /// A block could not be kept on disk before voting for or proposing it.
    #[error("keeping a pending block: {0}")]
    PendingBlock(#[from] std::io::Error),
    /// The VRF outputs and nonces of committed blocks could not be made durable (the
    /// epoch nonces would not survive a restart).
    #[error(transparent)]
    VrfLog(#[from] VrfLogError),
    /// The accounts-db could not finalize committed blocks.
    #[error("finalizing {block}: {reason}")]
    Finalize {
        /// The last committed block.
        block: Hash,
        /// The accounts-db's error.
        reason: String,
    },
}

/// What the driver needs about the cluster (the leader schedule is the core's).
pub struct ClusterView {
    /// Every validator's leader keys, by index.
    pub leaders: Vec<LeaderPublicKeys>,
    /// Slots per KES period: a block of slot `s` is signed in period
    /// `s / kes_slots_per_period` (replay checks the same).
    pub kes_slots_per_period: NonZeroU64,
}

/// One validator's driver. See the module docs.
pub struct Driver {
    me: ValidatorIndex,
    core: Core,
    cluster: ClusterView,
    keys: LeaderKeys,
    accounts: Arc<RwLock<AccountsDb>>,
    replayer: Replayer,
    builder: Executor,
    params: LedgerParams,
    safety: SafetyStore,
    blocks: HashMap<Hash, Arc<Block>>,
    orphans: HashMap<Hash, Vec<(Block, Option<TimeoutCertificate>)>>,
    orphan_count: usize,
    /// Transactions waiting for a block built here, with their ids.
    pending: VecDeque<(Transaction, Hash)>,
    outbox: Vec<Outbound>,
    timer: Option<(u64, u64)>,
    committed: Vec<BlockMeta>,
    newly_committed: Vec<CommittedBlock>,
    rejected: HashMap<&'static str, u64>,
    evidence: u64,
    /// Where equivocation evidence is kept for slashing.
    evidence_store: Option<EvidenceStore>,
    /// Saves the KES key after it evolved (so earlier periods are gone from disk).
    kes_saver: Option<KesKeySaver>,
    /// Where the VRF outputs of final blocks and the nonces are kept.
    vrf_log: Option<VrfLog>,
    /// Where un-final blocks are kept until the root passes them.
    pending_blocks: Option<PendingBlocks>,
    /// Where the high QC and the current round's TC are kept, and the rounds saved.
    certificates: Option<CertificateStore>,
    /// The proof that the last committed block is final (when both it and the child
    /// that committed it are held).
    finality_proof: Option<FinalityProof>,
    /// Least time between two blocks built here (0: build at once).
    block_interval_ms: u64,
    /// The caller's clock, from [`Driver::tick`].
    now_ms: u64,
    /// When the newest block was built here or accepted from a peer.
    last_block_ms: Option<u64>,
    /// A `Propose` waiting for the block interval to pass.
    deferred: Option<ProposeRequest>,
    /// Where each commit's root is saved (for restarts).
    roots: Option<RootStore>,
    /// When each held block was built here or accepted (for finality latency).
    seen_ms: HashMap<Hash, u64>,
    /// Milliseconds from seen to final, per committed block, not yet taken.
    finality_latencies_ms: Vec<u64>,
    /// Per validator: the highest round a committed certificate shows it voting in, and
    /// the rounds it led that ended with no block in the final chain.
    validator_stats: Vec<ValidatorStats>,
    last_committed_round: Option<u64>,
}

/// Saves an evolved KES key durably (the node writes its key file).
pub type KesKeySaver = Box<dyn FnMut(&KesSecretKey) -> Result<(), String> + Send>;

/// Replay's verdict on a peer's block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    /// Every check passed (its VRF output with it); the block is held.
    Valid(VrfOutput),
    /// Signed by its slot's leader, but refused by a later check (gets no vote).
    Invalid,
    /// Not signed by its slot's leader (or the leader is unknown): dropped.
    NotTheLeaders,
}

/// A block committed here, for the blockstore and RPC's address index.
#[derive(Debug, Clone)]
pub struct CommittedBlock {
    /// The block.
    pub block: Arc<Block>,
    /// Its writes to the state.
    pub writes: Writes,
    /// The previous owner of every output its writes delete or overwrite.
    pub replaced: Vec<SpentOutput>,
    /// Its transactions' ids, in block order.
    pub transaction_ids: Vec<Hash>,
}

/// Everything a [`Driver`] is built from.
pub struct DriverParts {
    /// This validator's index.
    pub me: ValidatorIndex,
    /// The core, already built from the persisted safety state.
    pub core: Core,
    /// The cluster.
    pub cluster: ClusterView,
    /// This validator's block-signing keys.
    pub keys: LeaderKeys,
    /// Its accounts-db (holding at least the core's root block), shared with RPC.
    pub accounts: Arc<RwLock<AccountsDb>>,
    /// Replays peers' blocks.
    pub replayer: Replayer,
    /// Executes the blocks built here.
    pub builder: Executor,
    /// Ledger parameters.
    pub params: LedgerParams,
    /// Where the safety state is saved.
    pub safety: SafetyStore,
}

impl Driver {
    /// A driver; call [`Driver::start`] next.
    pub fn new(parts: DriverParts) -> Self {
        let validator_count = parts.cluster.leaders.len();
        Self {
            me: parts.me,
            core: parts.core,
            cluster: parts.cluster,
            keys: parts.keys,
            accounts: parts.accounts,
            replayer: parts.replayer,
            builder: parts.builder,
            params: parts.params,
            safety: parts.safety,
            blocks: HashMap::new(),
            orphans: HashMap::new(),
            orphan_count: 0,
            pending: VecDeque::new(),
            outbox: Vec::new(),
            timer: None,
            committed: Vec::new(),
            newly_committed: Vec::new(),
            rejected: HashMap::new(),
            evidence: 0,
            evidence_store: None,
            kes_saver: None,
            vrf_log: None,
            certificates: None,
            pending_blocks: None,
            finality_proof: None,
            block_interval_ms: 0,
            now_ms: 0,
            last_block_ms: None,
            deferred: None,
            roots: None,
            seen_ms: HashMap::new(),
            finality_latencies_ms: Vec::new(),
            validator_stats: vec![ValidatorStats::default(); validator_count],
            last_committed_round: None,
        }
    }

    /// Keeps every block accepted or built here in `store` until the root passes it, and
    /// at [`Driver::start`] replays what it holds (see [`crate::pending_blocks`]).
    pub fn with_pending_blocks(mut self, store: PendingBlocks) -> Self {
        self.pending_blocks = Some(store);
        self
    }

    /// Keeps the high QC and the current round's TC in `store` whenever they rise, and
    /// at [`Driver::start`] resumes from what it holds (see
    /// [`crate::certificate_store`]).
    pub fn with_certificate_store(mut self, store: CertificateStore) -> Self {
        self.certificates = Some(store);
        self
    }

    /// Keeps the VRF outputs of committed blocks and the nonces they determine in
    /// `log`, synced before the blocks are finalized (see [`crate::vrf_log`]). The
    /// core's schedule was resumed from it.
    pub fn with_vrf_log(mut self, log: VrfLog) -> Self {
        self.vrf_log = Some(log);
        self
    }

    /// Saves the KES key with `saver` each time it evolves, before it signs in the new
    /// period.
    pub fn with_kes_key_saver(mut self, saver: KesKeySaver) -> Self {
        self.kes_saver = Some(saver);
        self
    }

    /// Keeps equivocation evidence in `store` (durably, once per offence).
    pub fn with_evidence_store(mut self, store: EvidenceStore) -> Self {
        self.evidence_store = Some(store);
        self
    }

    /// Saves the root of every commit to `store` (after the accounts-db finalized it).
    pub fn with_root_store(mut self, store: RootStore) -> Self {
        self.roots = Some(store);
        self
    }

    /// Builds blocks at most every `block_interval_ms` of the clock given to
    /// [`Driver::tick`] (the slot length: consensus could go faster, the chain's
    /// blocks come at the slot rate).
    pub fn with_block_interval_ms(mut self, block_interval_ms: u64) -> Self {
        self.block_interval_ms = block_interval_ms;
        self
    }

    /// Advances the driver's clock to `now_ms` and builds a deferred block when due.
    pub fn tick(&mut self, now_ms: u64) -> Result<(), DriverError> {
        self.now_ms = self.now_ms.max(now_ms);
        if self.deferred.is_some() && self.block_due() {
            let request = self.deferred.take().expect("checked");
            if let Some(proposal) = self.build_now(request) {
                let actions = self.core.handle(Event::BlockBuilt(proposal));
                self.carry_out(actions)?;
            }
        }
        Ok(())
    }

    /// A block may be built once `block_interval_ms` passed since the newest block
    /// (built here or accepted from a peer), so the cluster's block rate is the slot
    /// rate whoever leads.
    fn block_due(&self) -> bool {
        self.last_block_ms
            .is_none_or(|newest| self.now_ms >= newest + self.block_interval_ms)
    }

    /// Starts the core (first timer, a proposal when this validator leads), after
    /// restoring the saved high certificates if there are any.
    pub fn start(&mut self) -> Result<(), DriverError> {
        // Blocks above the root that were held before the restart, oldest first: the
        // high QC's block among them.
        let root_slot = self.accounts_read().last_finalized().slot;
        let pending = self
            .pending_blocks
            .as_ref()
            .map(|store| store.load_above(root_slot))
            .unwrap_or_default();
        for block in pending {
            self.on_block(block, None)?;
        }
        let saved = match &self.certificates {
            Some(store) => store.load()?,
            None => None,
        };
        if let Some(saved) = saved {
            let actions = self
                .core
                .restore(&saved.high_qc, saved.last_round_tc.as_ref());
            self.carry_out(actions)?;
        }
        let actions = self.core.start();
        self.carry_out(actions)
    }

    /// Deletes the kept blocks at or below `stored_slot` (the blockstore's newest final
    /// slot) and the root: final blocks stay kept until the blockstore holds them.
    pub fn prune_pending_through(&self, stored_slot: u64) {
        if let Some(store) = &self.pending_blocks {
            store.prune_through(stored_slot.min(self.last_finalized().slot));
        }
    }

    /// Saves the high QC and the current round's TC when either rose since the last
    /// save (before the messages that follow from them leave: the caller sends the
    /// outbox after this returns).
    fn save_certificates(&mut self) -> Result<(), DriverError> {
        if let Some(store) = &mut self.certificates {
            store.save_if_risen(self.core.high_qc(), self.core.last_round_tc())?;
        }
        Ok(())
    }

    /// Queues a verified transaction (with its id) for this validator's next block;
    /// false when full.
    pub fn submit(&mut self, transaction: Transaction, id: Hash) -> bool {
        if self.pending.len() >= PENDING_TRANSACTIONS_MAX {
            return false;
        }
        self.pending.push_back((transaction, id));
        true
    }

    /// Transactions waiting for a block built here.
    pub fn pending_count(&self) -> usize {
        self.pending.len()
    }

    /// A block from a peer, with the TC of the previous round if it came with one.
    pub fn on_block(
        &mut self,
        block: Block,
        tc: Option<TimeoutCertificate>,
    ) -> Result<(), DriverError> {
        let hash = block.hash();
        if self.blocks.contains_key(&hash) {
            return Ok(());
        }
        let parent = block.header.header.parent_hash;
        if !self.accounts_read().contains(&parent) {
            if self.orphan_count >= ORPHANS_MAX {
                self.count_rejection("orphans_full");
                return Ok(());
            }
            // Ask for the parent once; it comes back through `on_block`, and so on down
            // to a held block, then the chain is adopted upwards.
            if !self.orphans.contains_key(&parent) {
                self.outbox.push(Outbound::FetchBlock {
                    hash: parent,
                    from: Some(block.header.header.leader),
                });
            }
            self.orphans.entry(parent).or_default().push((block, tc));
            self.orphan_count += 1;
            return Ok(());
        }
        let slot = block.header.header.slot;
        let Some(nonce) = self.core.epoch_nonce_after(slot, &parent) else {
            // The parent is at or below the root (a dead fork), or the slot is
            // further past the final chain than nonces are derived.
            self.count_rejection("unknown_epoch");
            return Ok(());
        };
        let replay_started = std::time::Instant::now();
        let (content_valid, vrf_output) = match self.replay(&block, &nonce) {
            Verdict::Valid(output) => (true, output),
            // Refused content: the core drops it; the output only fills the field.
            Verdict::Invalid => (
                false,
                proof_to_hash(&VrfProof(block.header.header.vrf_proof))
                    .unwrap_or(VrfOutput([0; 64])),
            ),
            // Anyone can send bytes claiming a leader's slot: only blocks the leader
            // signed reach the core (whose equivocation evidence must be provable).
            Verdict::NotTheLeaders => return Ok(()),
        };
        let Some(justify) = block.justify.clone() else {
            self.count_rejection("no_justify");
            return Ok(());
        };
        tracing::debug!(
            slot,
            leader = block.header.header.leader.0,
            transactions = block.transactions.len(),
            content_valid,
            replay_ms = replay_started.elapsed().as_millis() as u64,
            "block received"
        );
        let proposal = proposal_of(&block, justify, tc, content_valid, vrf_output);
        if content_valid {
            if let Some(store) = &self.pending_blocks {
                store.save(&block)?;
            }
            self.blocks.insert(hash, Arc::new(block));
            self.seen_ms.insert(hash, self.now_ms);
            self.last_block_ms = Some(self.now_ms);
        }
        let actions = self.core.handle(Event::Proposal(proposal));
        self.carry_out(actions)?;
        if content_valid {
            self.adopt_orphans_of(hash)?;
        }
        Ok(())
    }

    /// A vote from a peer.
    pub fn on_vote(&mut self, vote: Vote) -> Result<(), DriverError> {
        let actions = self.core.handle(Event::Vote(vote));
        self.carry_out(actions)
    }

    /// A timeout from a peer.
    pub fn on_timeout(
        &mut self,
        timeout: Timeout,
        tc: Option<TimeoutCertificate>,
    ) -> Result<(), DriverError> {
        let actions = self.core.handle(Event::Timeout {
            timeout,
            last_round_tc: tc,
        });
        self.carry_out(actions)
    }

    /// The round timer armed for `round` expired.
    pub fn on_timer(&mut self, round: u64) -> Result<(), DriverError> {
        if self.timer.is_some_and(|(armed, _)| armed == round) {
            self.timer = None;
        }
        let actions = self.core.handle(Event::RoundTimeout { round });
        self.carry_out(actions)
    }

    /// A block this validator holds (to answer a peer's fetch).
    pub fn block(&self, hash: &Hash) -> Option<Arc<Block>> {
        self.blocks.get(hash).cloned()
    }

    /// Messages for peers produced since the last call.
    pub fn take_outbox(&mut self) -> Vec<Outbound> {
        std::mem::take(&mut self.outbox)
    }

    /// The armed round timer: `(round, after_ms)`.
    pub fn timer(&self) -> Option<(u64, u64)> {
        self.timer
    }

    /// Blocks committed so far, oldest first.
    pub fn committed(&self) -> &[BlockMeta] {
        &self.committed
    }

    /// The leader of `round` on the chain this validator would extend (see
    /// [`Core::leader_of`]).
    pub fn leader_of(&self, round: u64) -> Option<ValidatorIndex> {
        self.core.leader_of(round)
    }

    /// Per validator index, since this driver started: its last vote (the higher of
    /// what the final chain's QCs show and the votes of it this validator verified:
    /// with votes sent to everyone, a QC holds whichever quorum arrived first, so a
    /// validator that is always a little late may be in none) and its skipped leader
    /// slots (from the final chain).
    pub fn validator_stats(&self) -> Vec<ValidatorStats> {
        self.validator_stats
            .iter()
            .zip(self.core.verified_vote_rounds())
            .map(|(stats, verified_round)| ValidatorStats {
                last_vote_round: stats.last_vote_round.max(*verified_round),
                ..*stats
            })
            .collect()
    }

    /// For each block committed since the last call, the milliseconds from when this
    /// validator built or accepted it to its commit.
    pub fn take_finality_latencies_ms(&mut self) -> Vec<u64> {
        std::mem::take(&mut self.finality_latencies_ms)
    }

    /// Blocks committed since the last call, oldest first, each with its writes (for
    /// the blockstore and RPC's address index).
    pub fn take_committed_blocks(&mut self) -> Vec<CommittedBlock> {
        std::mem::take(&mut self.newly_committed)
    }

    /// The last finalized block as the accounts-db holds it.
    pub fn last_finalized(&self) -> BlockId {
        self.accounts_read().last_finalized()
    }

    /// The accounts-db (reads).
    pub fn accounts_read(&self) -> RwLockReadGuard<'_, AccountsDb> {
        self.accounts.read().expect("accounts lock")
    }

    /// Blocks refused, by reason label.
    pub fn rejected(&self) -> &HashMap<&'static str, u64> {
        &self.rejected
    }

    /// The proof that the last committed block is final (for snapshots and peers that
    /// must not trust this validator).
    pub fn finality_proof(&self) -> Option<&FinalityProof> {
        self.finality_proof.as_ref()
    }

    /// Equivocation evidence recorded.
    pub fn evidence_count(&self) -> u64 {
        self.evidence
    }

    /// The core (round, drops, safety state).
    pub fn core(&self) -> &Core {
        &self.core
    }

    fn count_rejection(&mut self, label: &'static str) {
        *self.rejected.entry(label).or_default() += 1;
    }

    /// Replays `block`: valid (now held), invalid but signed by its slot's leader, or
    /// not its leader's at all.
    /// `nonce` is its epoch's nonce along its parent chain.
    fn replay(&mut self, block: &Block, nonce: &Hash) -> Verdict {
        let header = &block.header.header;
        if self.core.schedule().leader_with_nonce(header.slot, nonce) != header.leader {
            self.count_rejection("wrong_leader");
            return Verdict::NotTheLeaders;
        }
        let Some(leader) = self.cluster.leaders.get(header.leader.0 as usize) else {
            self.count_rejection("unknown_leader");
            return Verdict::NotTheLeaders;
        };
        let alpha = vrf_input(nonce, header.slot);
        let replayed = {
            let mut accounts = self.accounts.write().expect("accounts lock");
            self.replayer.replay(&mut accounts, block, leader, &alpha)
        };
        match replayed {
            Ok(replayed) => Verdict::Valid(replayed.vrf_output),
            Err(error) => {
                self.count_rejection(error.label());
                if error.is_header_refusal() {
                    Verdict::NotTheLeaders
                } else {
                    Verdict::Invalid
                }
            }
        }
    }

    fn adopt_orphans_of(&mut self, parent: Hash) -> Result<(), DriverError> {
        let mut ready = VecDeque::from([parent]);
        while let Some(parent) = ready.pop_front() {
            for (block, tc) in self.orphans.remove(&parent).unwrap_or_default() {
                self.orphan_count -= 1;
                let hash = block.hash();
                self.on_block(block, tc)?;
                if self.blocks.contains_key(&hash) {
                    ready.push_back(hash);
                }
            }
        }
        Ok(())
    }

    /// Carries out `actions` in order, and the actions they lead to (own votes, built
    /// blocks).
    fn carry_out(&mut self, actions: Vec<Action>) -> Result<(), DriverError> {
        let round_before = self.core.round();
        let mut queue: VecDeque<Action> = actions.into();
        while let Some(action) = queue.pop_front() {
            let follow_up = match action {
                Action::PersistSafety(state) => {
                    self.safety.save(&state)?;
                    None
                }
                Action::SendVote { to, vote } if to == self.me => Some(Event::Vote(vote)),
                Action::SendVote { to, vote } => {
                    tracing::debug!(round = vote.round, to = to.0, "vote");
                    self.outbox.push(Outbound::Vote { to, vote });
                    None
                }
                Action::BroadcastProposal(proposal) => {
                    if let Some(block) = self.blocks.get(&proposal.block.hash) {
                        self.outbox.push(Outbound::Proposal {
                            block: block.clone(),
                            tc: proposal.last_round_tc,
                        });
                    }
                    None
                }
                Action::BroadcastTimeout {
                    timeout,
                    last_round_tc,
                } => {
                    self.outbox.push(Outbound::Timeout {
                        timeout: Box::new(timeout),
                        tc: last_round_tc,
                    });
                    None
                }
                Action::Propose {
                    round,
                    parent,
                    justify,
                    tc,
                    ..
                } => {
                    let request = ProposeRequest {
                        round,
                        parent,
                        justify,
                        tc,
                    };
                    if self.block_due() {
                        self.build_now(request).map(Event::BlockBuilt)
                    } else {
                        self.deferred = Some(request);
                        None
                    }
                }
                Action::ScheduleTimeout { round, after_ms } => {
                    self.timer = Some((round, after_ms));
                    None
                }
                Action::Commit {
                    blocks,
                    certificate,
                    commit_certificate,
                    final_vrf_outputs,
                    new_epoch_nonces,
                } => {
                    if let Some(log) = &mut self.vrf_log {
                        // Before the accounts-db finalizes the blocks (`commit`).
                        log.append(&final_vrf_outputs, &new_epoch_nonces)?;
                    }
                    self.commit(blocks, certificate, commit_certificate)?;
                    None
                }
                Action::RecordEquivocation(evidence) => {
                    self.evidence += 1;
                    let record = EvidenceRecord::from_evidence(&evidence);
                    tracing::warn!(
                        kind = record.kind.label(),
                        offender = record.offender.0,
                        round = record.round,
                        "equivocation"
                    );
                    if let Some(store) = &mut self.evidence_store
                        && let Err(error) = store.append(&record)
                    {
                        // Evidence is for slashing later, not for safety: the node goes
                        // on, and the operator sees why it was not kept.
                        tracing::error!(%error, "equivocation evidence not stored");
                    }
                    None
                }
                Action::FetchBlock { hash, from } => {
                    self.outbox.push(Outbound::FetchBlock { hash, from });
                    None
                }
            };
            if let Some(event) = follow_up {
                queue.extend(self.core.handle(event));
            }
        }
        if self.core.round() != round_before {
            tracing::debug!(
                round = self.core.round(),
                high_qc_round = self.core.high_qc().round,
                by_tc = self.core.last_round_tc().is_some(),
                "round entered"
            );
        }
        self.save_certificates()
    }
}

/// The core's view of `block`.
fn proposal_of(
    block: &Block,
    justify: QuorumCertificate,
    tc: Option<TimeoutCertificate>,
    content_valid: bool,
    vrf_output: VrfOutput,
) -> Proposal {
    let header = &block.header.header;
    Proposal {
        block: BlockMeta {
            hash: block.hash(),
            round: header.slot,
            parent_hash: header.parent_hash,
            parent_round: header.parent_slot,
            proposer: header.leader,
        },
        justify,
        last_round_tc: tc,
        content_valid,
        vrf_output,
        signed_header: encode(&block.header),
    }
}
