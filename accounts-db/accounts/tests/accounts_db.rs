//! The accounts-db end to end, on real storage in a temporary directory.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;

use aether_account_storage::{AccountStorage, BlockCommit, OpenOptions};
use aether_accounts_db::{
    AccountsDb, AccountsDbError, AccountsDbOptions, GENESIS_PARENT, verify_proof,
};
use aether_fork_overlay::Writes;
use aether_state_commitment::Tree;
use aether_types::Hash;
use proptest::prelude::*;

fn scratch_directory() -> tempfile::TempDir {
    // RAM-backed where available: these tests are about logic, not the disk.
    let shm = Path::new("/dev/shm");
    if shm.is_dir() {
        tempfile::tempdir_in(shm).unwrap()
    } else {
        tempfile::tempdir().unwrap()
    }
}

fn key(index: u8) -> Hash {
    Hash([index; 32])
}

fn block_hash(number: u64) -> Hash {
    let mut bytes = [0xb0; 32];
    bytes[..8].copy_from_slice(&number.to_le_bytes());
    Hash(bytes)
}

fn writes(pairs: &[(u8, Option<&[u8]>)]) -> Writes {
    pairs
        .iter()
        .map(|(index, value)| (key(*index), value.map(Arc::from)))
        .collect()
}

fn root_of(state: &BTreeMap<Hash, Vec<u8>>) -> Hash {
    Tree::from_sorted(state.iter().map(|(key, value)| (*key, value.as_slice())))
        .unwrap()
        .root()
}

fn open(directory: &Path) -> AccountsDb {
    AccountsDb::open(directory, AccountsDbOptions::default())
        .expect("open")
        .0
}

#[test]
fn forks_finality_and_restart() {
    let directory = scratch_directory();
    let mut accounts = open(directory.path());
    let genesis = accounts.last_finalized();
    assert_eq!(genesis.hash, GENESIS_PARENT);

    let a = block_hash(1);
    let b = block_hash(2);
    let c = block_hash(3);
    let root_a = accounts
        .apply_block(
            GENESIS_PARENT,
            a,
            1,
            writes(&[(1, Some(b"one")), (2, Some(b"two"))]),
        )
        .unwrap();
    let root_b = accounts
        .apply_block(a, b, 2, writes(&[(1, None), (3, Some(b"three"))]))
        .unwrap();
    let root_c = accounts
        .apply_block(a, c, 3, writes(&[(2, Some(b"TWO"))]))
        .unwrap();
    assert_ne!(root_b, root_c);
    assert_eq!(accounts.get(&b, &key(1)).unwrap(), None);
    assert_eq!(
        accounts.get(&c, &key(1)).unwrap().as_deref(),
        Some(&b"one"[..])
    );

    // Proofs: each against its own fork's root.
    let proof = accounts.prove(&c, &key(2)).unwrap();
    assert_eq!(verify_proof(&root_c, &key(2), Some(b"TWO"), &proof), Ok(()));
    assert!(verify_proof(&root_b, &key(2), Some(b"TWO"), &proof).is_err());
    let absent = accounts.prove(&b, &key(1)).unwrap();
    assert_eq!(verify_proof(&root_b, &key(1), None, &absent), Ok(()));

    let summary = accounts.finalize(&c).unwrap();
    assert_eq!(summary.committed_count, 2);
    assert!(!accounts.contains(&b), "the other fork is dropped");
    assert_eq!(accounts.last_finalized().state_root, root_c);
    drop(accounts);

    let (reopened, report) =
        AccountsDb::open(directory.path(), AccountsDbOptions::default()).unwrap();
    assert_eq!(report.last_finalized.hash, c);
    assert_eq!(report.last_finalized.state_root, root_c);
    assert_eq!(
        reopened.get(&c, &key(2)).unwrap().as_deref(),
        Some(&b"TWO"[..])
    );
    assert_eq!(reopened.state_root(&c).unwrap(), root_c);
    assert_ne!(root_a, root_c);
}

#[test]
fn a_store_whose_state_does_not_hash_to_its_root_refuses_to_open() {
    let directory = scratch_directory();
    {
        let mut accounts = open(directory.path());
        let block = block_hash(1);
        accounts
            .apply_block(GENESIS_PARENT, block, 1, writes(&[(7, Some(b"seven"))]))
            .unwrap();
        accounts.finalize(&block).unwrap();
    }
    {
        // A later block whose stored root is not the root of the state it leaves.
        let (storage, _) = AccountStorage::open(directory.path(), OpenOptions::default()).unwrap();
        storage
            .commit_block(BlockCommit {
                slot: 2,
                block_hash: block_hash(2),
                state_root: Hash([0x55; 32]),
                writes: &[(key(8), Some(b"eight".to_vec()))],
            })
            .unwrap();
    }
    match AccountsDb::open(directory.path(), AccountsDbOptions::default()) {
        Err(AccountsDbError::RootMismatch {
            slot: 2, stored, ..
        }) => assert_eq!(stored, Hash([0x55; 32])),
        Err(other) => panic!("expected a root mismatch, got {other}"),
        Ok(_) => panic!("opened a store whose root does not match"),
    }
}

#[test]
fn refused_blocks_change_nothing() {
    let directory = scratch_directory();
    let mut accounts = open(directory.path());
    let a = block_hash(1);
    accounts
        .apply_block(GENESIS_PARENT, a, 5, writes(&[(1, Some(b"x"))]))
        .unwrap();
    let root = accounts.state_root(&a).unwrap();
    assert!(
        accounts
            .apply_block(block_hash(9), block_hash(10), 6, Writes::default())
            .is_err()
    );
    assert!(
        accounts
            .apply_block(a, block_hash(11), 5, Writes::default())
            .is_err(),
        "slot not above parent"
    );
    assert!(
        accounts
            .apply_block(GENESIS_PARENT, a, 7, Writes::default())
            .is_err(),
        "duplicate hash"
    );
    // A received block whose header claims the wrong root is refused; the right
    // claim is accepted.
    let claimed_wrongly =
        accounts.apply_block_expecting(a, block_hash(12), 6, writes(&[(2, Some(b"y"))]), root);
    assert!(
        matches!(
            claimed_wrongly,
            Err(AccountsDbError::StateRootMismatch { claimed, .. }) if claimed == root
        ),
        "{claimed_wrongly:?}"
    );
    assert!(!accounts.contains(&block_hash(12)));
    assert_eq!(accounts.state_root(&a).unwrap(), root);
    assert_eq!(accounts.unfinalized_count(), 1);

    let expected = root_of(&BTreeMap::from([
        (key(1), b"x".to_vec()),
        (key(2), b"y".to_vec()),
    ]));
    accounts
        .apply_block_expecting(a, block_hash(12), 6, writes(&[(2, Some(b"y"))]), expected)
        .unwrap();
    assert_eq!(accounts.state_root(&block_hash(12)).unwrap(), expected);
}

/// A leader's blocks made final at once (the parent's tree updated in place) give
/// the same hashes, roots, reads and proofs as the two-step path; a refused block
/// leaves the last finalized state intact and usable; a parent that is not final takes
/// the two-step path; the store reopens with the same root.
#[test]
fn blocks_final_at_once_match_the_two_step_path() {
    let two_step_directory = scratch_directory();
    let at_once_directory = scratch_directory();
    let mut two_step = open(two_step_directory.path());
    let mut at_once = open(at_once_directory.path());
    let mut model: BTreeMap<Hash, Vec<u8>> = BTreeMap::new();
    let seal = |slot: u64| {
        move |state_root: Hash| Hash::digest(&[&slot.to_le_bytes()[..], &state_root.0].concat())
    };
    for slot in 1..=24u64 {
        // Creates, overwrites and deletes over 40 keys.
        let pairs: Vec<(u8, Option<Vec<u8>>)> = (0..8u8)
            .map(|index| {
                let key_index = ((slot as u8).wrapping_mul(7).wrapping_add(index * 5)) % 40;
                let value = (slot % 3 != 0 || index % 2 == 0).then(|| vec![key_index, slot as u8]);
                (key_index, value)
            })
            .collect();
        let block_writes: Writes = pairs
            .iter()
            .map(|(index, value)| (key(*index), value.as_deref().map(Arc::from)))
            .collect();
        for (index, value) in &pairs {
            match value {
                Some(value) => model.insert(key(*index), value.clone()),
                None => model.remove(&key(*index)),
            };
        }
        let parent = two_step.last_finalized().hash;
        let expected = two_step
            .apply_block_sealed(parent, slot, block_writes.clone(), seal(slot))
            .unwrap();
        two_step.finalize(&expected.0).unwrap();
        let got = at_once
            .apply_block_sealed_final(parent, slot, block_writes, seal(slot))
            .unwrap();
        assert_eq!(got, expected);
        assert_eq!(got.1, root_of(&model));
        assert_eq!(at_once.last_finalized(), two_step.last_finalized());
        for index in 0..40 {
            let value = model.get(&key(index)).map(|value| value.as_slice());
            assert_eq!(at_once.get(&got.0, &key(index)).unwrap().as_deref(), value);
            let proof = at_once.prove(&got.0, &key(index)).unwrap();
            assert!(verify_proof(&got.1, &key(index), value, &proof).is_ok());
        }

        if slot == 10 {
            // Refused (slot not above the parent's): nothing changes, the next block works.
            let before = at_once.last_finalized();
            let refused = at_once.apply_block_sealed_final(
                before.hash,
                slot,
                writes(&[(1, Some(b"z"))]),
                seal(99),
            );
            assert!(refused.is_err(), "{refused:?}");
            assert_eq!(at_once.last_finalized(), before);
            assert_eq!(at_once.state_root(&before.hash).unwrap(), before.state_root);
            assert_eq!(at_once.unfinalized_count(), 0);
        }
    }
    // A parent that is not final yet: both blocks become final, by the two-step path.
    let last = at_once.last_finalized();
    let pending = block_hash(500);
    at_once
        .apply_block(last.hash, pending, 30, writes(&[(41, Some(b"p"))]))
        .unwrap();
    let (hash, state_root) = at_once
        .apply_block_sealed_final(pending, 31, writes(&[(42, Some(b"q"))]), seal(31))
        .unwrap();
    model.insert(key(41), b"p".to_vec());
    model.insert(key(42), b"q".to_vec());
    assert_eq!(state_root, root_of(&model));
    assert_eq!(at_once.last_finalized().hash, hash);
    drop(at_once);
    let reopened = open(at_once_directory.path());
    assert_eq!(reopened.last_finalized().state_root, root_of(&model));
}

/// The model: slot, parent and full state of every held block.
type Model = HashMap<Hash, (u64, Hash, BTreeMap<Hash, Vec<u8>>)>;

/// One step of the model test.
#[derive(Debug, Clone)]
enum Step {
    /// Apply a block on the held block chosen by `parent_choice`.
    Apply {
        parent_choice: usize,
        writes: Vec<(u8, Option<u8>)>,
    },
    /// Finalize the held block chosen by `choice`.
    Finalize { choice: usize },
    /// Close and reopen.
    Reopen,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        6 => (any::<usize>(), proptest::collection::vec((0u8..12, proptest::option::of(any::<u8>())), 0..6))
            .prop_map(|(parent_choice, writes)| Step::Apply { parent_choice, writes }),
        2 => any::<usize>().prop_map(|choice| Step::Finalize { choice }),
        1 => Just(Step::Reopen),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Every held block's root equals a from-scratch tree of the model's state at that
    /// block, reads agree, and all of it survives finalization and restarts.
    #[test]
    fn roots_and_reads_match_a_model_across_forks_finality_and_restarts(
        steps in proptest::collection::vec(step(), 1..30)
    ) {
        let directory = scratch_directory();
        let mut accounts = open(directory.path());
        // Model: slot, parent and full state per held block.
        let mut model: Model = HashMap::new();
        model.insert(GENESIS_PARENT, (0, GENESIS_PARENT, BTreeMap::new()));
        let mut finalized = GENESIS_PARENT;
        let mut next_block = 1u64;
        for step in steps {
            let mut held: Vec<Hash> = model.keys().copied().collect();
            held.sort();
            match step {
                Step::Apply { parent_choice, writes: pairs } => {
                    let parent = held[parent_choice % held.len()];
                    let (parent_slot, _, parent_state) = model[&parent].clone();
                    let hash = block_hash(next_block);
                    let slot = parent_slot + 1 + next_block % 3;
                    next_block += 1;
                    let mut block_writes = Writes::default();
                    let mut state = parent_state;
                    for (index, value) in pairs {
                        let value = value.map(|byte| vec![byte; 1 + usize::from(byte % 4)]);
                        match &value {
                            Some(bytes) => { state.insert(key(index), bytes.clone()); }
                            None => { state.remove(&key(index)); }
                        }
                        block_writes.insert(key(index), value.map(Arc::from));
                    }
                    let root = accounts.apply_block(parent, hash, slot, block_writes).unwrap();
                    prop_assert_eq!(root, root_of(&state));
                    model.insert(hash, (slot, parent, state));
                }
                Step::Finalize { choice } => {
                    let target = held[choice % held.len()];
                    accounts.finalize(&target).unwrap();
                    // Keep the target and its descendants only.
                    let keep: Vec<Hash> = held
                        .iter()
                        .copied()
                        .filter(|block| descends_or_equal(&model, *block, target, finalized))
                        .collect();
                    model.retain(|block, _| keep.contains(block));
                    finalized = target;
                }
                Step::Reopen => {
                    drop(accounts);
                    accounts = open(directory.path());
                    prop_assert_eq!(accounts.last_finalized().hash, finalized);
                    model.retain(|block, _| *block == finalized);
                }
            }
            for (block, (_, _, state)) in &model {
                prop_assert!(accounts.contains(block));
                prop_assert_eq!(accounts.state_root(block).unwrap(), root_of(state));
                for index in 0..12u8 {
                    let read = accounts.get(block, &key(index)).unwrap();
                    prop_assert_eq!(read.as_deref(), state.get(&key(index)).map(Vec::as_slice));
                }
            }
            prop_assert_eq!(accounts.unfinalized_count(), model.len() - 1);
        }
    }
}

/// Whether `block` is `ancestor` or descends from it, following the model's parent links
/// up to the last finalized block.
fn descends_or_equal(model: &Model, mut block: Hash, ancestor: Hash, finalized: Hash) -> bool {
    loop {
        if block == ancestor {
            return true;
        }
        if block == finalized {
            return false;
        }
        block = model[&block].1;
    }
}
