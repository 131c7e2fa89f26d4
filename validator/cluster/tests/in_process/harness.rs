//! The deterministic four-validator cluster the tests drive: keys, genesis, drivers,
//! an in-memory message queue and a simulated clock.

pub(crate) use std::collections::{BTreeMap, VecDeque};
pub(crate) use std::num::NonZeroU64;
pub(crate) use std::path::Path;
pub(crate) use std::sync::{Arc, RwLock};

pub(crate) use aether_accounts_db::{AccountsDb, AccountsDbOptions, GENESIS_PARENT};
pub(crate) use aether_cluster::evidence_store::EvidenceKind;
pub(crate) use aether_cluster::{
    CertificateStore, ClusterView, Driver, DriverParts, EvidenceStore, Outbound, PendingBlocks,
    RootStore, SafetyStore,
};
pub(crate) use aether_consensus::testing::{validator_keys, validator_set};
pub(crate) use aether_consensus::{
    BlockMeta, ConsensusConfig, Core, EpochSchedule, LeaderSchedule, Root, TimeoutConfig,
};
pub(crate) use aether_crypto::ed25519::{Ed25519PublicKey, Ed25519SecretKey};
pub(crate) use aether_crypto::kes::KesSecretKey;
pub(crate) use aether_crypto::operational_certificate::OperationalCertificate;
pub(crate) use aether_kernels::{CpuSigVerify, SigVerify};
pub(crate) use aether_ledger::rules::output_state_value;
pub(crate) use aether_ledger::{Executor, LedgerParams, TransferRequest, Writes, build_transfer};
pub(crate) use aether_pipeline::leader::LeaderKeys;
pub(crate) use aether_pipeline::replay::{LeaderPublicKeys, Replayer};
pub(crate) use aether_types::block::SignedBlockHeader;
pub(crate) use aether_types::codec::decode_exact;
pub(crate) use aether_types::{
    Block, Hash, Lock, Output, OutputReference, Timeout, TimeoutCertificate, Transaction,
    ValidatorIndex, ValidityWindow, Value, Vote,
};

pub(crate) const VALIDATORS: usize = 4;
pub(crate) const KEY_SEED: u64 = 11;
pub(crate) const KES_DEPTH: u32 = 6;
/// Short KES periods: leaders' keys evolve many times in a run (64 periods of 4 slots
/// last 256 slots).
pub(crate) const KES_SLOTS_PER_PERIOD: u64 = 4;
pub(crate) const GENESIS_HASH: Hash = Hash([0x6e; 32]);
pub(crate) const GENESIS_SLOT: u64 = 1;
pub(crate) const FAUCET_OUTPUTS: u16 = 64;
/// An epoch no test reaches the end of (nonces stay the genesis nonce).
pub(crate) const LONG_EPOCH: u64 = 1_000_000;

pub(crate) fn faucet() -> Ed25519SecretKey {
    Ed25519SecretKey::from_seed(&[0xfa; 32])
}

pub(crate) fn faucet_reference(index: u16) -> OutputReference {
    OutputReference {
        transaction_id: Hash([0x0f; 32]),
        index,
    }
}

pub(crate) fn genesis_writes() -> Writes {
    let lock = Lock::for_public_key(&faucet().public_key().0);
    (0..FAUCET_OUTPUTS)
        .map(|index| {
            let reference = faucet_reference(index);
            let output = Output {
                lock,
                value: Value::from_aeth(1_000_000),
                datum: None,
            };
            (
                reference.key(),
                Some(output_state_value(&reference, &output)),
            )
        })
        .collect()
}

pub(crate) fn transfer(input: u16) -> Transaction {
    build_transfer(&TransferRequest {
        inputs: &[(faucet_reference(input), 1_000_000)],
        signer: &faucet(),
        to: Lock::for_public_key(&[input as u8; 32]),
        amount: 1_000 + u64::from(input),
        params: LedgerParams::DEFAULT,
        validity: ValidityWindow {
            first_slot: 0,
            last_slot: 100_000,
        },
    })
    .unwrap()
}

pub(crate) fn leader_keys(index: usize) -> LeaderKeys {
    let identity = Ed25519SecretKey::from_seed(&[index as u8 + 1; 32]);
    let kes = KesSecretKey::from_seed(&[index as u8 + 100; 32], KES_DEPTH).unwrap();
    let certificate = OperationalCertificate::issue(&identity, kes.public_key(), 0, 0);
    LeaderKeys {
        identity,
        kes,
        certificate,
        vrf: validator_keys(KEY_SEED, index).1,
    }
}

/// The leader schedule every validator starts from.
pub(crate) fn schedule(epoch_slots: u64) -> LeaderSchedule {
    LeaderSchedule::new(
        validator_set(KEY_SEED, &[100; VALIDATORS]),
        EpochSchedule::new(epoch_slots, 1),
        Hash([0x40; 32]),
    )
}

pub(crate) fn cluster_view() -> ClusterView {
    let leaders = (0..VALIDATORS)
        .map(|index| {
            let keys = leader_keys(index);
            LeaderPublicKeys {
                identity: Ed25519PublicKey(keys.identity.public_key().0),
                vrf: keys.vrf.public_key(),
                kes_depth: KES_DEPTH,
            }
        })
        .collect();
    ClusterView {
        leaders,
        kes_slots_per_period: NonZeroU64::new(KES_SLOTS_PER_PERIOD).unwrap(),
    }
}

pub(crate) fn genesis_meta() -> BlockMeta {
    BlockMeta {
        hash: GENESIS_HASH,
        round: GENESIS_SLOT,
        parent_hash: GENESIS_PARENT,
        parent_round: 0,
        proposer: ValidatorIndex(0),
    }
}

pub(crate) fn config() -> ConsensusConfig {
    ConsensusConfig {
        timeouts: TimeoutConfig {
            base_ms: 1_000,
            multiplier_percent: 150,
            max_ms: 8_000,
            unresponsive_leader_percent: 50,
        },
        ..ConsensusConfig::default()
    }
}

/// Opens (or reopens) validator `index`'s accounts-db and builds its driver. `root` is
/// the last committed block when restarting.
pub(crate) fn driver(
    directory: &Path,
    index: usize,
    root: Option<Root>,
    epoch_slots: u64,
) -> Driver {
    let accounts_directory = directory.join(format!("accounts-{index}"));
    let mut accounts = AccountsDb::open(&accounts_directory, AccountsDbOptions::default())
        .unwrap()
        .0;
    if !accounts.contains(&GENESIS_HASH) && root.is_none() {
        accounts
            .apply_block(GENESIS_PARENT, GENESIS_HASH, GENESIS_SLOT, genesis_writes())
            .unwrap();
        accounts.finalize(&GENESIS_HASH).unwrap();
    }
    let safety = SafetyStore::new(directory.join(format!("safety-{index}.bin")));
    let cluster = cluster_view();
    let core = Core::new(
        config(),
        schedule(epoch_slots),
        ValidatorIndex(index as u32),
        validator_keys(KEY_SEED, index).0,
        safety.load().unwrap(),
        genesis_meta(),
        root,
    );
    let sigverify: Arc<dyn SigVerify> = Arc::new(CpuSigVerify::new(1, 64).unwrap());
    Driver::new(DriverParts {
        me: ValidatorIndex(index as u32),
        core,
        cluster,
        keys: leader_keys(index),
        accounts: Arc::new(RwLock::new(accounts)),
        replayer: Replayer::new(sigverify, Executor::new(1).unwrap(), LedgerParams::DEFAULT)
            .with_kes_slots_per_period(NonZeroU64::new(KES_SLOTS_PER_PERIOD).unwrap()),
        builder: Executor::new(1).unwrap(),
        params: LedgerParams::DEFAULT,
        safety,
    })
    .with_root_store(RootStore::new(directory.join(format!("root-{index}.bin"))))
    .with_evidence_store(
        EvidenceStore::open(directory.join(format!("evidence-{index}.log")))
            .unwrap()
            .0,
    )
    .with_certificate_store(CertificateStore::new(
        directory.join(format!("certificates-{index}.bin")),
    ))
    .with_pending_blocks(PendingBlocks::open(directory.join(format!("pending-{index}"))).unwrap())
}

#[derive(Debug, Clone)]
pub(crate) enum Message {
    Block(Arc<Block>, Option<TimeoutCertificate>),
    Vote(Vote),
    Timeout(Box<Timeout>, Option<TimeoutCertificate>),
}

/// The deterministic cluster.
pub(crate) struct Cluster {
    pub(crate) drivers: Vec<Option<Driver>>,
    pub(crate) queue: VecDeque<(usize, usize, Message)>,
    pub(crate) now_ms: u64,
    pub(crate) deadlines: BTreeMap<usize, (u64, u64)>,
    pub(crate) delivered: u64,
    /// Validators whose proposals go out with a false state root (re-signed with
    /// their own keys, as a byzantine leader would), and the blocks sent so.
    pub(crate) byzantine: Vec<usize>,
    pub(crate) forged: Vec<Hash>,
    /// Byzantine leaders equivocate: a copy with a broken KES signature first (anyone
    /// could send it), then their honest block, then the forged one (both signed).
    pub(crate) equivocate: bool,
}

/// `block` with a false state root, signed by its leader `index`.
pub(crate) fn forge(block: &Block, index: usize) -> Block {
    let mut header = block.header.header.clone();
    header.state_root = Hash([0xbd; 32]);
    let mut keys = leader_keys(index);
    keys.evolve_to(header.kes_period).unwrap();
    Block {
        header: keys.seal(header),
        justify: block.justify.clone(),
        transactions: block.transactions.clone(),
    }
}

impl Cluster {
    pub(crate) fn new(directory: &Path, down: &[usize]) -> Self {
        Self::with(directory, down, &[], LONG_EPOCH)
    }

    pub(crate) fn with_byzantine(directory: &Path, down: &[usize], byzantine: &[usize]) -> Self {
        Self::with(directory, down, byzantine, LONG_EPOCH)
    }

    pub(crate) fn with(
        directory: &Path,
        down: &[usize],
        byzantine: &[usize],
        epoch_slots: u64,
    ) -> Self {
        let mut cluster = Cluster {
            drivers: (0..VALIDATORS)
                .map(|index| {
                    (!down.contains(&index)).then(|| driver(directory, index, None, epoch_slots))
                })
                .collect(),
            queue: VecDeque::new(),
            now_ms: 0,
            deadlines: BTreeMap::new(),
            delivered: 0,
            byzantine: byzantine.to_vec(),
            forged: Vec::new(),
            equivocate: false,
        };
        for index in 0..VALIDATORS {
            if let Some(driver) = cluster.drivers[index].as_mut() {
                driver.start().unwrap();
            }
            cluster.collect(index);
        }
        cluster
    }

    /// Moves `index`'s outbox into the queue and re-arms its timer.
    pub(crate) fn collect(&mut self, index: usize) {
        let Some(driver) = self.drivers[index].as_mut() else {
            return;
        };
        let outbox = driver.take_outbox();
        let timer = driver.timer();
        for outbound in outbox {
            match outbound {
                Outbound::Proposal { block, tc } => {
                    let blocks = if !self.byzantine.contains(&index) {
                        vec![block]
                    } else {
                        let forged = forge(&block, index);
                        self.forged.push(forged.hash());
                        if self.equivocate {
                            let mut unsigned = forge(&block, index);
                            unsigned.header.header.state_root = Hash([0xce; 32]);
                            vec![Arc::new(unsigned), block, Arc::new(forged)]
                        } else {
                            vec![Arc::new(forged)]
                        }
                    };
                    for block in blocks {
                        for to in (0..VALIDATORS).filter(|to| *to != index) {
                            self.queue.push_back((
                                index,
                                to,
                                Message::Block(block.clone(), tc.clone()),
                            ));
                        }
                    }
                }
                Outbound::Vote { to, vote } => {
                    self.queue
                        .push_back((index, to.0 as usize, Message::Vote(vote)));
                }
                Outbound::Timeout { timeout, tc } => {
                    for to in (0..VALIDATORS).filter(|to| *to != index) {
                        self.queue.push_back((
                            index,
                            to,
                            Message::Timeout(timeout.clone(), tc.clone()),
                        ));
                    }
                }
                Outbound::FetchBlock { hash, .. } => {
                    // Any live validator holding it answers.
                    let found = self
                        .drivers
                        .iter()
                        .enumerate()
                        .find_map(|(from, other)| Some((from, other.as_ref()?.block(&hash)?)));
                    if let Some((from, block)) = found {
                        self.queue
                            .push_back((from, index, Message::Block(block, None)));
                    }
                }
            }
        }
        match timer {
            Some((round, after_ms)) => {
                let previous = self.deadlines.get(&index).copied();
                if previous.is_none_or(|(armed, _)| armed != round) {
                    self.deadlines
                        .insert(index, (round, self.now_ms + after_ms));
                }
            }
            None => {
                self.deadlines.remove(&index);
            }
        }
    }

    /// Delivers one message, or fires the earliest timer; false when nothing is left.
    pub(crate) fn step(&mut self) -> bool {
        if let Some((_from, to, message)) = self.queue.pop_front() {
            self.delivered += 1;
            if let Some(driver) = self.drivers[to].as_mut() {
                match message {
                    Message::Block(block, tc) => driver.on_block((*block).clone(), tc),
                    Message::Vote(vote) => driver.on_vote(vote),
                    Message::Timeout(timeout, tc) => driver.on_timeout(*timeout, tc),
                }
                .unwrap();
                self.collect(to);
            }
            return true;
        }
        let Some((&index, &(round, deadline))) = self
            .deadlines
            .iter()
            .min_by_key(|(index, (_, deadline))| (*deadline, **index))
        else {
            return false;
        };
        self.now_ms = self.now_ms.max(deadline);
        self.deadlines.remove(&index);
        if let Some(driver) = self.drivers[index].as_mut() {
            driver.on_timer(round).unwrap();
            self.collect(index);
        }
        true
    }

    pub(crate) fn live(&self) -> impl Iterator<Item = &Driver> {
        self.drivers.iter().flatten()
    }

    /// Runs until every live validator has `count` committed blocks.
    pub(crate) fn run_until_committed(&mut self, count: usize, steps_max: u64) {
        let mut steps = 0;
        while self.live().any(|driver| driver.committed().len() < count) {
            assert!(self.step(), "nothing left to do");
            steps += 1;
            assert!(steps < steps_max, "no progress after {steps} steps");
        }
    }

    pub(crate) fn submit_everywhere(&mut self, transaction: &Transaction) {
        for driver in self.drivers.iter_mut().flatten() {
            assert!(driver.submit(transaction.clone(), transaction.transaction_id()));
        }
    }
}

/// No two live validators committed different blocks for one round, each committed
/// chain links parent to child without gaps, and validators with the same last final
/// slot hold the same state root there.
pub(crate) fn assert_agreement(cluster: &Cluster) {
    let mut by_round: BTreeMap<u64, Hash> = BTreeMap::new();
    for chain in cluster.live().map(Driver::committed) {
        for pair in chain.windows(2) {
            assert_eq!(
                pair[1].parent_hash, pair[0].hash,
                "a gap in a committed chain"
            );
        }
        for meta in chain {
            let known = *by_round.entry(meta.round).or_insert(meta.hash);
            assert_eq!(
                known, meta.hash,
                "two final blocks for round {}",
                meta.round
            );
        }
    }
    let mut roots: BTreeMap<u64, Hash> = BTreeMap::new();
    for driver in cluster.live() {
        let last = driver.last_finalized();
        if let Some(committed) = driver.committed().last() {
            assert_eq!(
                last.hash, committed.hash,
                "the accounts-db is final at the last commit"
            );
        }
        let known = *roots.entry(last.slot).or_insert(last.state_root);
        assert_eq!(
            known, last.state_root,
            "two state roots for final slot {}",
            last.slot
        );
    }
}
