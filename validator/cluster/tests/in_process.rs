//! Four validators with real keys, real accounts-dbs, real replay and real BLS
//! certificates, connected by an in-memory message queue and a simulated clock
//! (deterministic: one queue, delivered in order; time jumps to the next timer when
//! nothing is in flight).
//!
//! Checked: every live validator finalizes the same chain with the same state roots;
//! each submitted transfer lands exactly once; with one validator down from the start
//! the other three keep finalizing and its slots are skipped through timeout
//! certificates; a validator restarted from its saved safety state and accounts-db
//! catches up with the rest.

use std::collections::{BTreeMap, VecDeque};
use std::num::NonZeroU64;
use std::path::Path;
use std::sync::{Arc, RwLock};

use aether_accounts_db::{AccountsDb, AccountsDbOptions, GENESIS_PARENT};
use aether_cluster::evidence_store::EvidenceKind;
use aether_cluster::{
    ClusterView, Driver, DriverParts, EvidenceStore, Outbound, RootStore, SafetyStore,
};
use aether_consensus::testing::{validator_keys, validator_set};
use aether_consensus::{
    BlockMeta, ConsensusConfig, Core, EpochSchedule, LeaderSchedule, Root, TimeoutConfig,
};
use aether_crypto::ed25519::{Ed25519PublicKey, Ed25519SecretKey};
use aether_crypto::kes::KesSecretKey;
use aether_crypto::operational_certificate::OperationalCertificate;
use aether_kernels::{CpuSigVerify, SigVerify};
use aether_ledger::rules::output_state_value;
use aether_ledger::{Executor, LedgerParams, TransferRequest, Writes, build_transfer};
use aether_pipeline::leader::LeaderKeys;
use aether_pipeline::replay::{LeaderPublicKeys, Replayer};
use aether_types::block::SignedBlockHeader;
use aether_types::codec::decode_exact;
use aether_types::{
    Block, Hash, Lock, Output, OutputReference, Timeout, TimeoutCertificate, Transaction,
    ValidatorIndex, ValidityWindow, Value, Vote,
};

const VALIDATORS: usize = 4;
const KEY_SEED: u64 = 11;
const KES_DEPTH: u32 = 6;
/// Short KES periods: leaders' keys evolve many times in a run (64 periods of 4 slots
/// last 256 slots).
const KES_SLOTS_PER_PERIOD: u64 = 4;
const GENESIS_HASH: Hash = Hash([0x6e; 32]);
const GENESIS_SLOT: u64 = 1;
const FAUCET_OUTPUTS: u16 = 64;
/// An epoch no test reaches the end of (nonces stay the genesis nonce).
const LONG_EPOCH: u64 = 1_000_000;

fn faucet() -> Ed25519SecretKey {
    Ed25519SecretKey::from_seed(&[0xfa; 32])
}

fn faucet_reference(index: u16) -> OutputReference {
    OutputReference {
        transaction_id: Hash([0x0f; 32]),
        index,
    }
}

fn genesis_writes() -> Writes {
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

fn transfer(input: u16) -> Transaction {
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

fn leader_keys(index: usize) -> LeaderKeys {
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

fn cluster_view(epoch_slots: u64) -> ClusterView {
    let validators = validator_set(KEY_SEED, &[100; VALIDATORS]);
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
        schedule: LeaderSchedule::new(
            validators,
            EpochSchedule::new(epoch_slots, 1),
            Hash([0x40; 32]),
        ),
        leaders,
        kes_slots_per_period: NonZeroU64::new(KES_SLOTS_PER_PERIOD).unwrap(),
    }
}

fn genesis_meta() -> BlockMeta {
    BlockMeta {
        hash: GENESIS_HASH,
        round: GENESIS_SLOT,
        parent_hash: GENESIS_PARENT,
        parent_round: 0,
        proposer: ValidatorIndex(0),
    }
}

fn config() -> ConsensusConfig {
    ConsensusConfig {
        timeouts: TimeoutConfig {
            base_ms: 1_000,
            multiplier_percent: 150,
            max_ms: 8_000,
        },
        ..ConsensusConfig::default()
    }
}

/// Opens (or reopens) validator `index`'s accounts-db and builds its driver. `root` is
/// the last committed block when restarting.
fn driver(directory: &Path, index: usize, root: Option<Root>, epoch_slots: u64) -> Driver {
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
    let cluster = cluster_view(epoch_slots);
    let core = Core::new(
        config(),
        cluster.schedule.clone(),
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
}

#[derive(Debug, Clone)]
enum Message {
    Block(Arc<Block>, Option<TimeoutCertificate>),
    Vote(Vote),
    Timeout(Box<Timeout>, Option<TimeoutCertificate>),
}

/// The deterministic cluster.
struct Cluster {
    drivers: Vec<Option<Driver>>,
    queue: VecDeque<(usize, usize, Message)>,
    now_ms: u64,
    deadlines: BTreeMap<usize, (u64, u64)>,
    delivered: u64,
    /// Validators whose proposals go out with a false state root (re-signed with
    /// their own keys, as a byzantine leader would), and the blocks sent so.
    byzantine: Vec<usize>,
    forged: Vec<Hash>,
    /// Byzantine leaders equivocate: a copy with a broken KES signature first (anyone
    /// could send it), then their honest block, then the forged one (both signed).
    equivocate: bool,
}

/// `block` with a false state root, signed by its leader `index`.
fn forge(block: &Block, index: usize) -> Block {
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
    fn new(directory: &Path, down: &[usize]) -> Self {
        Self::with(directory, down, &[], LONG_EPOCH)
    }

    fn with_byzantine(directory: &Path, down: &[usize], byzantine: &[usize]) -> Self {
        Self::with(directory, down, byzantine, LONG_EPOCH)
    }

    fn with(directory: &Path, down: &[usize], byzantine: &[usize], epoch_slots: u64) -> Self {
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
    fn collect(&mut self, index: usize) {
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
    fn step(&mut self) -> bool {
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

    fn live(&self) -> impl Iterator<Item = &Driver> {
        self.drivers.iter().flatten()
    }

    /// Runs until every live validator has `count` committed blocks.
    fn run_until_committed(&mut self, count: usize, steps_max: u64) {
        let mut steps = 0;
        while self.live().any(|driver| driver.committed().len() < count) {
            assert!(self.step(), "nothing left to do");
            steps += 1;
            assert!(steps < steps_max, "no progress after {steps} steps");
        }
    }

    fn submit_everywhere(&mut self, transaction: &Transaction) {
        for driver in self.drivers.iter_mut().flatten() {
            assert!(driver.submit(transaction.clone(), transaction.transaction_id()));
        }
    }
}

/// No two live validators committed different blocks for one round, each committed
/// chain links parent to child without gaps, and validators with the same last final
/// slot hold the same state root there.
fn assert_agreement(cluster: &Cluster) {
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

#[test]
fn four_validators_finalize_the_same_chain_with_every_transfer() {
    let directory = tempfile::tempdir().unwrap();
    let mut cluster = Cluster::new(directory.path(), &[]);
    let transfers: Vec<Transaction> = (0..40).map(transfer).collect();
    for transaction in &transfers {
        cluster.submit_everywhere(transaction);
    }
    cluster.run_until_committed(12, 50_000);
    assert_agreement(&cluster);

    for driver in cluster.live() {
        let last = driver.last_finalized().hash;
        for (input, transaction) in transfers.iter().enumerate() {
            // The recipient's output exists and the faucet input is spent.
            let output = OutputReference {
                transaction_id: transaction.transaction_id(),
                index: 0,
            };
            assert!(
                driver
                    .accounts_read()
                    .get(&last, &output.key())
                    .unwrap()
                    .is_some()
            );
            let input = faucet_reference(input as u16);
            assert!(
                driver
                    .accounts_read()
                    .get(&last, &input.key())
                    .unwrap()
                    .is_none()
            );
        }
        // No honest block was refused, and nothing timed out in a healthy cluster.
        assert!(driver.rejected().is_empty(), "{:?}", driver.rejected());
        assert_eq!(driver.evidence_count(), 0);
    }
    assert_eq!(cluster.now_ms, 0, "no round timed out");
}

#[test]
fn three_of_four_keep_finalizing_and_skip_the_missing_leader_by_timeout() {
    let directory = tempfile::tempdir().unwrap();
    let mut cluster = Cluster::new(directory.path(), &[3]);
    for input in 0..10 {
        cluster.submit_everywhere(&transfer(input));
    }
    cluster.run_until_committed(12, 100_000);
    assert_agreement(&cluster);
    let driver = cluster.live().next().unwrap();
    let schedule = cluster_view(LONG_EPOCH).schedule;
    let rounds: Vec<u64> = driver.committed().iter().map(|meta| meta.round).collect();
    let last_round = *rounds.last().unwrap();
    let missing_leader_rounds: Vec<u64> = (1..=last_round)
        .filter(|round| schedule.leader(*round) == Some(ValidatorIndex(3)))
        .collect();
    assert!(
        !missing_leader_rounds.is_empty(),
        "the schedule gave the missing validator no round; pick another key seed"
    );
    for round in &missing_leader_rounds {
        assert!(!rounds.contains(round), "round {round} had no leader");
    }
    assert!(cluster.now_ms > 0, "time moved: rounds timed out");
}

#[test]
fn a_restarted_validator_resumes_from_its_safety_state_and_catches_up() {
    let directory = tempfile::tempdir().unwrap();
    let mut cluster = Cluster::new(directory.path(), &[]);
    cluster.run_until_committed(5, 50_000);
    // Validator 2 stops; its safety state and accounts-db stay on disk.
    let stopped = cluster.drivers[2].take().unwrap();
    let safety_before = *stopped.core().safety();
    let root = RootStore::new(directory.path().join("root-2.bin"))
        .load()
        .unwrap()
        .expect("a commit saved its root");
    assert_eq!(root, stopped.core().committed_root());
    drop(stopped);
    cluster.deadlines.remove(&2);
    cluster.run_until_committed(12, 100_000);
    let saved = SafetyStore::new(directory.path().join("safety-2.bin"))
        .load()
        .unwrap();
    assert_eq!(
        saved, safety_before,
        "the saved state is the last one handed out"
    );

    let mut restarted = driver(directory.path(), 2, Some(root.clone()), LONG_EPOCH);
    assert_eq!(restarted.last_finalized().hash, root.block.hash);
    restarted.start().unwrap();
    cluster.drivers[2] = Some(restarted);
    cluster.collect(2);
    let others_final = cluster
        .live()
        .map(|driver| driver.last_finalized().slot)
        .max()
        .unwrap();
    let mut steps = 0;
    while cluster.drivers[2].as_ref().unwrap().last_finalized().slot <= others_final {
        assert!(cluster.step(), "nothing left to do");
        steps += 1;
        assert!(steps < 100_000, "the restarted validator did not catch up");
    }
    assert_agreement(&cluster);
    let restarted = cluster.drivers[2].as_ref().unwrap();
    assert!(restarted.core().safety().last_voted_round >= safety_before.last_voted_round);
    assert!(
        restarted.rejected().is_empty(),
        "{:?}",
        restarted.rejected()
    );
}

#[test]
fn a_leader_with_a_false_state_root_gets_no_vote_and_the_chain_moves_on() {
    let directory = tempfile::tempdir().unwrap();
    let mut cluster = Cluster::with_byzantine(directory.path(), &[], &[1]);
    for input in 0..10 {
        cluster.submit_everywhere(&transfer(input));
    }
    cluster.run_until_committed(10, 100_000);
    assert_agreement(&cluster);
    assert!(!cluster.forged.is_empty(), "validator 1 led no round");
    for driver in cluster.live() {
        for meta in driver.committed() {
            assert!(
                !cluster.forged.contains(&meta.hash),
                "a forged block became final"
            );
            assert_ne!(
                meta.proposer,
                ValidatorIndex(1),
                "validator 1's rounds time out"
            );
        }
        if driver.core().index() != ValidatorIndex(1) {
            assert!(driver.rejected().get("state_root").copied().unwrap_or(0) > 0);
        }
    }
}

#[test]
fn epoch_nonces_follow_from_final_vrf_outputs_and_the_chain_crosses_epochs() {
    let directory = tempfile::tempdir().unwrap();
    // Epochs of 5 slots: nonces of epochs 2, 3, ... come from final blocks.
    let mut cluster = Cluster::with(directory.path(), &[], &[], 5);
    for input in 0..10 {
        cluster.submit_everywhere(&transfer(input));
    }
    cluster.run_until_committed(30, 200_000);
    assert_agreement(&cluster);
    let last = cluster
        .live()
        .next()
        .unwrap()
        .committed()
        .last()
        .unwrap()
        .round;
    assert!(
        last >= 25,
        "the chain crossed several epochs (last final round {last})"
    );
    for driver in cluster.live() {
        assert!(driver.rejected().is_empty(), "{:?}", driver.rejected());
    }
}

#[test]
fn an_equivocating_leader_leaves_signed_evidence_and_forgeries_leave_none() {
    let directory = tempfile::tempdir().unwrap();
    let mut cluster = Cluster::with_byzantine(directory.path(), &[], &[1]);
    cluster.equivocate = true;
    for input in 0..10 {
        cluster.submit_everywhere(&transfer(input));
    }
    cluster.run_until_committed(10, 100_000);
    assert_agreement(&cluster);
    let view = cluster_view(LONG_EPOCH);
    let checker = Replayer::new(
        Arc::new(CpuSigVerify::new(1, 64).unwrap()),
        Executor::new(1).unwrap(),
        LedgerParams::DEFAULT,
    )
    .with_kes_slots_per_period(NonZeroU64::new(KES_SLOTS_PER_PERIOD).unwrap());
    for index in [0, 2, 3] {
        let records =
            EvidenceStore::read(&directory.path().join(format!("evidence-{index}.log"))).unwrap();
        assert!(!records.is_empty(), "validator {index} stored no evidence");
        assert_eq!(
            records.len() as u64,
            cluster.drivers[index].as_ref().unwrap().evidence_count(),
            "one record per offence seen"
        );
        for record in records {
            assert_eq!(record.kind, EvidenceKind::DoubleProposal);
            assert_eq!(record.offender, ValidatorIndex(1));
            // Both headers are the leader's own (the broken-signature copy that came
            // first was never taken as a proposal) and differ.
            assert_ne!(record.first, record.second);
            for proof in [&record.first, &record.second] {
                let header: SignedBlockHeader = decode_exact(proof).unwrap();
                assert_eq!(header.header.slot, record.round);
                let block = Block {
                    header,
                    justify: None,
                    transactions: Vec::new(),
                };
                checker
                    .check_header(&block, &view.leaders[1])
                    .expect("evidence carries the leader's signature");
            }
        }
    }
}

#[test]
fn every_validator_can_prove_its_last_final_block_to_a_stranger() {
    use aether_cluster::{FinalityProof, FinalityProofError};
    use aether_consensus::certificate_verifier::{CertificateVerifier, genesis_qc};
    use aether_types::codec::encode;

    let directory = tempfile::tempdir().unwrap();
    let mut cluster = Cluster::new(directory.path(), &[]);
    cluster.run_until_committed(8, 50_000);
    let stranger = || {
        CertificateVerifier::new(
            validator_set(KEY_SEED, &[100; VALIDATORS]),
            genesis_qc(GENESIS_HASH, GENESIS_SLOT, VALIDATORS),
        )
    };
    for driver in cluster.live() {
        let proof = driver.finality_proof().expect("a proof of the last commit");
        let last = driver.last_finalized();
        let proven = proof.verify(&mut stranger()).unwrap();
        assert_eq!(proven.hash, last.hash);
        assert_eq!(proof.block.header.state_root, last.state_root);
        assert_eq!(proof.root().block, proven);
        let decoded: FinalityProof = decode_exact(&encode(proof)).unwrap();
        assert_eq!(&decoded, proof);

        // Each part matters.
        let mut swapped = proof.clone();
        swapped.child_certificate = proof.certificate.clone();
        assert_eq!(
            swapped.verify(&mut stranger()),
            Err(FinalityProofError::WrongBlock { which: "child" })
        );
        let mut forged = proof.clone();
        forged.child_certificate.aggregate_signature = proof.certificate.aggregate_signature;
        assert!(matches!(
            forged.verify(&mut stranger()),
            Err(FinalityProofError::Certificate { which: "child", .. })
        ));
        let mut unrelated = proof.clone();
        unrelated.child = proof.block.clone();
        unrelated.child_certificate = proof.certificate.clone();
        assert_eq!(
            unrelated.verify(&mut stranger()),
            Err(FinalityProofError::NotAChild)
        );
    }
}

#[test]
fn a_snapshot_bundle_lets_a_stranger_resume_with_the_right_epoch_nonces() {
    use aether_cluster::{BundleError, SnapshotBundle};
    use aether_consensus::certificate_verifier::{CertificateVerifier, genesis_qc};
    use aether_types::codec::encode;

    const EPOCH: u64 = 5;
    let directory = tempfile::tempdir().unwrap();
    let mut cluster = Cluster::with(directory.path(), &[], &[], EPOCH);
    cluster.run_until_committed(20, 200_000);
    let stranger = || {
        CertificateVerifier::new(
            validator_set(KEY_SEED, &[100; VALIDATORS]),
            genesis_qc(GENESIS_HASH, GENESIS_SLOT, VALIDATORS),
        )
    };
    let genesis_view = cluster_view(EPOCH);
    let driver = cluster.live().next().unwrap();
    let bundle = driver
        .snapshot_bundle(&GENESIS_HASH, |_, _| None)
        .expect("every header is still in memory");
    let decoded: SnapshotBundle = decode_exact(&encode(&bundle)).unwrap();
    assert_eq!(decoded, bundle);
    let verified = bundle
        .verify(
            &mut stranger(),
            &genesis_view.schedule,
            &genesis_view.leaders,
            &GENESIS_HASH,
        )
        .unwrap();
    let last = driver.last_finalized();
    assert_eq!(verified.root.block.hash, last.hash);
    assert!(
        verified.epoch >= 2,
        "past the genesis nonces: epoch {}",
        verified.epoch
    );
    // Epochs from 2 on run on nonces derived from final blocks, not the genesis one.
    assert_ne!(verified.epoch_nonce, Hash([0x40; 32]));
    // Outputs cover the previous epoch and this one, up to the block.
    let first_needed = (verified.epoch - 1) * EPOCH;
    assert!(verified.vrf_outputs.first().unwrap().0 <= first_needed + EPOCH);
    assert_eq!(verified.vrf_outputs.last().unwrap().0, last.slot);

    // Written as a snapshot pair: `latest` names it, the state's header names the
    // bundle's block, and nothing but the two files is readable.
    {
        use aether_cluster::SnapshotWriter;
        use aether_cluster::snapshot_writer::{
            BUNDLE_FILE, STATE_FILE, latest_slot, read_snapshot_file,
        };
        let snapshots = directory.path().join("snapshots");
        let mut writer = SnapshotWriter::new(snapshots.clone(), 3);
        assert!(writer.due(last.slot));
        let slot = writer
            .write(&driver.accounts_read(), &bundle)
            .expect("snapshot written");
        assert_eq!(slot, last.slot);
        assert!(!writer.due(last.slot + 2) && writer.due(last.slot + 3));
        assert_eq!(latest_slot(&snapshots), Some(slot));
        let state_path = snapshots.join(slot.to_string()).join(STATE_FILE);
        let header = aether_accounts_db::snapshot::read_snapshot_header(&state_path).unwrap();
        assert_eq!(header.block_hash, last.hash);
        assert_eq!(header.state_root, last.state_root);
        let stored: SnapshotBundle =
            decode_exact(&read_snapshot_file(&snapshots, slot, BUNDLE_FILE).unwrap()).unwrap();
        assert_eq!(stored, bundle);
        assert!(read_snapshot_file(&snapshots, slot, "../latest").is_none());
        // A bundle of another block is refused.
        let mut other = bundle.clone();
        other.proof.block = other.proof.child.clone();
        assert!(writer.write(&driver.accounts_read(), &other).is_err());
    }

    // A wrong nonce, a cut chain or a broken link is refused.
    let mut wrong_nonce = bundle.clone();
    wrong_nonce.epoch_nonce = Hash([0x13; 32]);
    assert_eq!(
        wrong_nonce.verify(
            &mut stranger(),
            &genesis_view.schedule,
            &genesis_view.leaders,
            &GENESIS_HASH
        ),
        Err(BundleError::WrongNonce)
    );
    let mut cut = bundle.clone();
    cut.headers.drain(..cut.headers.len() - 2);
    assert!(matches!(
        cut.verify(
            &mut stranger(),
            &genesis_view.schedule,
            &genesis_view.leaders,
            &GENESIS_HASH
        ),
        Err(BundleError::TooShort { .. })
    ));
    let mut broken = bundle.clone();
    broken.headers.remove(1);
    assert_eq!(
        broken.verify(
            &mut stranger(),
            &genesis_view.schedule,
            &genesis_view.leaders,
            &GENESIS_HASH
        ),
        Err(BundleError::BrokenChain)
    );
}
