//! Replay of a block built and sealed the way the banking stage does it, on a second
//! accounts-db with the same genesis: the honest block is accepted with the leader's
//! state root, and each kind of forged or broken block is refused with its own reason
//! and changes nothing.

use std::sync::Arc;

use aether_accounts_db::{AccountsDb, AccountsDbOptions, BlockId, GENESIS_PARENT};
use aether_crypto::ed25519::{Ed25519PublicKey, Ed25519SecretKey};
use aether_crypto::kes::KesSecretKey;
use aether_crypto::operational_certificate::OperationalCertificate;
use aether_crypto::vrf::{VrfSecretKey, proof_to_hash};
use aether_kernels::{CpuSigVerify, SigVerify};
use aether_ledger::{
    Executor, LedgerParams, TransferRequest, Writes, build_transfer, rules::output_state_value,
};
use aether_pipeline::leader::{KesEvolveError, LeaderKeys, vrf_input};
use aether_pipeline::replay::{LeaderPublicKeys, REPLAY_REJECT_REASONS, ReplayError, Replayer};
use aether_types::merkle::transactions_root;
use aether_types::{
    Block, BlockHeader, Hash, Lock, Output, OutputReference, Transaction, ValidatorIndex,
    ValidityWindow, Value,
};

const KES_DEPTH: u32 = 3;
const GENESIS_OUTPUTS: u16 = 8;

fn leader_keys(seed: u8) -> LeaderKeys {
    leader_keys_from_period(seed, 0)
}

/// Keys whose operational certificate starts at KES period `start_period`.
fn leader_keys_from_period(seed: u8, start_period: u32) -> LeaderKeys {
    let identity = Ed25519SecretKey::from_seed(&[seed; 32]);
    let kes = KesSecretKey::from_seed(&[seed.wrapping_add(1); 32], KES_DEPTH).unwrap();
    let vrf = VrfSecretKey::from_seed(&[seed.wrapping_add(2); 32]);
    let certificate = OperationalCertificate::issue(&identity, kes.public_key(), 0, start_period);
    LeaderKeys {
        identity,
        kes,
        certificate,
        vrf,
    }
}

fn public_keys(keys: &LeaderKeys) -> LeaderPublicKeys {
    LeaderPublicKeys {
        identity: Ed25519PublicKey(keys.identity.public_key().0),
        vrf: keys.vrf.public_key(),
        kes_depth: KES_DEPTH,
    }
}

fn owner() -> Ed25519SecretKey {
    Ed25519SecretKey::from_seed(&[42; 32])
}

fn genesis_reference(index: u16) -> OutputReference {
    OutputReference {
        transaction_id: Hash([7; 32]),
        index,
    }
}

/// An accounts-db holding a genesis block with `GENESIS_OUTPUTS` outputs of `owner()`.
fn accounts_with_genesis(directory: &std::path::Path) -> (AccountsDb, BlockId) {
    let mut accounts = AccountsDb::open(directory, AccountsDbOptions::default())
        .unwrap()
        .0;
    let lock = Lock::for_public_key(&owner().public_key().0);
    let writes: Writes = (0..GENESIS_OUTPUTS)
        .map(|index| {
            let reference = genesis_reference(index);
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
        .collect();
    let genesis = Hash([1; 32]);
    let state_root = accounts
        .apply_block(GENESIS_PARENT, genesis, 1, writes)
        .unwrap();
    (
        accounts,
        BlockId {
            hash: genesis,
            slot: 1,
            state_root,
        },
    )
}

fn transfer(input: u16, amount: u64) -> Transaction {
    build_transfer(&TransferRequest {
        inputs: &[(genesis_reference(input), 1_000_000)],
        signer: &owner(),
        to: Lock::for_public_key(&[9; 32]),
        amount,
        params: LedgerParams::DEFAULT,
        validity: ValidityWindow {
            first_slot: 0,
            last_slot: 1_000,
        },
    })
    .unwrap()
}

fn executor() -> Executor {
    Executor::new(2).unwrap()
}

/// Builds, executes and seals a block on `parent` as the banking stage does, on the
/// leader's own accounts-db, with `header_edit` applied before signing.
fn leader_block(
    accounts: &mut AccountsDb,
    parent: BlockId,
    slot: u64,
    transactions: Vec<Transaction>,
    keys: &LeaderKeys,
) -> Block {
    let pairs: Vec<(Transaction, Hash)> = transactions
        .iter()
        .map(|transaction| (transaction.clone(), transaction.transaction_id()))
        .collect();
    struct View<'a>(&'a AccountsDb, Hash);
    impl aether_ledger::StateView for View<'_> {
        fn get(&self, key: &Hash) -> Option<aether_ledger::StateValue> {
            self.0.get(&self.1, key).unwrap()
        }
    }
    let execution = executor().execute(
        &View(accounts, parent.hash),
        &pairs,
        slot,
        &LedgerParams::DEFAULT,
    );
    assert!(execution.outcomes.iter().all(Result::is_ok));
    let ids: Vec<Hash> = pairs.iter().map(|(_, id)| *id).collect();
    let mut header = keys.unsealed_header(slot, &parent, ValidatorIndex(0), &ids, &vrf_input(slot));
    accounts
        .apply_block_sealed(parent.hash, slot, execution.writes, |state_root| {
            header.state_root = state_root;
            header.hash()
        })
        .unwrap();
    Block {
        header: keys.seal(header),
        justify: None,
        transactions,
    }
}

fn reseal(block: &Block, keys: &LeaderKeys, edit: impl FnOnce(&mut BlockHeader)) -> Block {
    let mut header = block.header.header.clone();
    edit(&mut header);
    Block {
        header: keys.seal(header),
        justify: None,
        transactions: block.transactions.clone(),
    }
}

struct Fixture {
    _directories: [tempfile::TempDir; 2],
    follower: AccountsDb,
    genesis: BlockId,
    block: Block,
    keys: LeaderKeys,
    replayer: Replayer,
}

fn fixture() -> Fixture {
    let leader_directory = tempfile::tempdir().unwrap();
    let follower_directory = tempfile::tempdir().unwrap();
    let (mut leader_accounts, genesis) = accounts_with_genesis(leader_directory.path());
    let (follower, follower_genesis) = accounts_with_genesis(follower_directory.path());
    assert_eq!(genesis.state_root, follower_genesis.state_root);
    let keys = leader_keys(3);
    let transactions = (0..4).map(|input| transfer(input, 10_000)).collect();
    let block = leader_block(&mut leader_accounts, genesis, 5, transactions, &keys);
    let backend: Arc<dyn SigVerify> = Arc::new(CpuSigVerify::new(1, 64).unwrap());
    Fixture {
        _directories: [leader_directory, follower_directory],
        follower,
        genesis,
        block,
        keys,
        replayer: Replayer::new(backend, executor(), LedgerParams::DEFAULT),
    }
}

#[test]
fn the_leaders_block_replays_to_the_same_state_root() {
    let mut fixture = fixture();
    let replayed = fixture
        .replayer
        .replay(
            &mut fixture.follower,
            &fixture.block,
            &public_keys(&fixture.keys),
            &vrf_input(5),
        )
        .unwrap();
    assert_eq!(replayed.id.hash, fixture.block.hash());
    assert_eq!(
        fixture.follower.state_root(&replayed.id.hash).unwrap(),
        fixture.block.header.header.state_root
    );
    assert_ne!(replayed.id.state_root, fixture.genesis.state_root);
    assert_eq!(
        replayed.vrf_output,
        proof_to_hash(&fixture.keys.vrf.prove(&vrf_input(5))).unwrap()
    );
    // A second copy is refused by the accounts-db (already held).
    let again = fixture.replayer.replay(
        &mut fixture.follower,
        &fixture.block,
        &public_keys(&fixture.keys),
        &vrf_input(5),
    );
    assert_eq!(again.unwrap_err().label(), "accounts_db");
}

#[test]
fn every_broken_block_is_refused_with_its_reason_and_changes_nothing() {
    let mut fixture = fixture();
    let keys = &fixture.keys;
    let honest = fixture.block.clone();
    let mut cases: Vec<(&str, Block, LeaderPublicKeys, Vec<u8>)> = Vec::new();
    let good_keys = public_keys(keys);
    let alpha = vrf_input(5);

    let unknown_parent = reseal(&honest, keys, |header| {
        header.parent_hash = Hash([0xee; 32])
    });
    cases.push(("unknown_parent", unknown_parent, good_keys, alpha.clone()));
    let lying_parent_slot = reseal(&honest, keys, |header| header.parent_slot = 0);
    cases.push((
        "slot_not_after_parent",
        lying_parent_slot,
        good_keys,
        alpha.clone(),
    ));

    let mut missing_transaction = honest.clone();
    missing_transaction.transactions.pop();
    cases.push((
        "transactions_root",
        missing_transaction,
        good_keys,
        alpha.clone(),
    ));

    let stranger = leader_keys(50);
    cases.push((
        "operational_certificate",
        honest.clone(),
        public_keys(&stranger),
        alpha.clone(),
    ));
    // The stranger's own certificate and KES key, claimed for our leader's identity.
    let forged = reseal(&honest, &stranger, |header| {
        header.operational_certificate = stranger.header_certificate();
    });
    cases.push(("operational_certificate", forged, good_keys, alpha.clone()));
    // A valid certificate starting at period 2, and a header claiming period 0.
    let late_keys = leader_keys_from_period(3, 2);
    let before_start = reseal(&honest, &late_keys, |header| {
        header.operational_certificate = late_keys.header_certificate();
        header.kes_period = 0;
    });
    cases.push(("kes_period", before_start, good_keys, alpha.clone()));

    let mut bad_kes = honest.clone();
    let mut kes_bytes = bad_kes.header.kes_signature.as_slice().to_vec();
    kes_bytes[3] ^= 1;
    bad_kes.header.kes_signature = aether_types::block::KesSignature::new(kes_bytes).unwrap();
    cases.push(("kes_signature", bad_kes, good_keys, alpha.clone()));
    let wrong_period = reseal(&honest, keys, |header| header.kes_period = 1);
    cases.push(("kes_signature", wrong_period, good_keys, alpha.clone()));

    cases.push(("vrf_proof", honest.clone(), good_keys, vrf_input(6)));

    let mut forged_transaction = honest.clone();
    forged_transaction.transactions[2].signatures[0].signature[5] ^= 1;
    let forged_transaction = reseal(&forged_transaction, keys, |_| {});
    cases.push((
        "transaction_signature",
        forged_transaction,
        good_keys,
        alpha.clone(),
    ));

    // Two transfers spending the same input: signed and rooted correctly, but the
    // second is a double spend.
    let mut double_spend = honest.clone();
    double_spend.transactions[1] = transfer(0, 20_000);
    let ids: Vec<Hash> = double_spend
        .transactions
        .iter()
        .map(Transaction::transaction_id)
        .collect();
    let double_spend = reseal(&double_spend, keys, |header| {
        header.transactions_root = transactions_root(&ids);
    });
    cases.push((
        "transaction_rejected",
        double_spend,
        good_keys,
        alpha.clone(),
    ));

    let wrong_root = reseal(&honest, keys, |header| header.state_root = Hash([5; 32]));
    cases.push(("state_root", wrong_root, good_keys, alpha.clone()));

    let mut seen_reasons = std::collections::BTreeSet::new();
    for (expected, block, leader, alpha) in &cases {
        let result = fixture
            .replayer
            .replay(&mut fixture.follower, block, leader, alpha);
        let error: ReplayError = match result {
            Ok(replayed) => panic!("{expected}: accepted {replayed:?}"),
            Err(error) => error,
        };
        assert_eq!(error.label(), *expected, "{error}");
        assert!(REPLAY_REJECT_REASONS.contains(&error.label()));
        assert!(!fixture.follower.contains(&block.hash()), "{expected}");
        assert_eq!(fixture.follower.unfinalized_count(), 1, "{expected}");
        seen_reasons.insert(*expected);
    }
    assert_eq!(seen_reasons.len(), 10);

    // After all that, the honest block still replays.
    fixture
        .replayer
        .replay(&mut fixture.follower, &honest, &good_keys, &vrf_input(5))
        .unwrap();
}

#[test]
fn headers_must_carry_their_slots_kes_period_and_leaders_evolve_to_it() {
    let mut fixture = fixture();
    let backend: Arc<dyn SigVerify> = Arc::new(CpuSigVerify::new(1, 64).unwrap());
    // Two slots per period: slot 5 is in period 2.
    let replayer = Replayer::new(backend, executor(), LedgerParams::DEFAULT)
        .with_kes_slots_per_period(std::num::NonZeroU64::new(2).unwrap());
    let leader = public_keys(&fixture.keys);
    // The fixture's block was signed in period 0: well signed, but not its slot's.
    let stale = replayer.replay(
        &mut fixture.follower,
        &fixture.block,
        &leader,
        &vrf_input(5),
    );
    assert_eq!(stale.unwrap_err().label(), "kes_period_mismatch");

    // The leader evolves to period 2 and re-signs: accepted.
    let mut keys = leader_keys(3);
    keys.evolve_to(2).unwrap();
    assert_eq!(keys.kes.period(), 2);
    let current = reseal(&fixture.block, &keys, |header| header.kes_period = 2);
    replayer
        .replay(&mut fixture.follower, &current, &leader, &vrf_input(5))
        .unwrap();

    // Keys never go back, and end at their last period.
    assert!(matches!(
        keys.evolve_to(1),
        Err(KesEvolveError::AlreadyPast {
            period: 1,
            current: 2
        })
    ));
    let last = aether_crypto::kes::kes_period_count(KES_DEPTH) - 1;
    keys.evolve_to(last).unwrap();
    assert!(matches!(
        keys.evolve_to(last + 1),
        Err(KesEvolveError::Expired { .. })
    ));
    let mut late = leader_keys_from_period(4, 3);
    assert!(matches!(
        late.evolve_to(2),
        Err(KesEvolveError::BeforeCertificate {
            period: 2,
            start_period: 3
        })
    ));
    late.evolve_to(4).unwrap();
    assert_eq!(late.kes.period(), 1);
}
