//! Model-based test: random commits of puts and deletes, reopens and compactions, against
//! a `BTreeMap`, on both write paths, with and without background compaction.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use aether_account_storage::{AccountStorage, BlockCommit, OpenOptions, WritePathPreference};
use aether_types::Hash;
use common::{apply, fast_tempdir, key, live, root_of, test_options};
use proptest::prelude::*;

const KEYS: u64 = 24;

#[derive(Debug, Clone)]
enum Op {
    /// A block: (key index, value or delete).
    Commit(Vec<(u64, Option<Vec<u8>>)>),
    /// Close and reopen (recovery, root verification).
    Reopen,
    /// A compaction pass in the test's thread.
    Compact,
}

fn op() -> impl Strategy<Value = Op> {
    let write = (
        0..KEYS,
        proptest::option::weighted(0.75, proptest::collection::vec(any::<u8>(), 0..400)),
    );
    prop_oneof![
        8 => proptest::collection::vec(write, 0..10).prop_map(Op::Commit),
        1 => Just(Op::Reopen),
        2 => Just(Op::Compact),
    ]
}

fn options(write_path: WritePathPreference, background: bool) -> OpenOptions {
    let mut options = test_options(write_path);
    options.compaction.background = background;
    options.compaction.interval = Duration::from_millis(1);
    options
}

fn check(
    store: &AccountStorage,
    model: &BTreeMap<Hash, Vec<u8>>,
    slot: u64,
) -> Result<(), TestCaseError> {
    for index in 0..KEYS {
        let stored = store.get(&key(index)).unwrap();
        prop_assert_eq!(stored.as_ref(), model.get(&key(index)), "key {}", index);
    }
    prop_assert_eq!(
        store.last_committed().map(|block| block.slot),
        (slot > 0).then_some(slot)
    );
    prop_assert_eq!(store.len(), model.len());
    Ok(())
}

fn run(
    ops: Vec<Op>,
    write_path: WritePathPreference,
    background: bool,
) -> Result<(), TestCaseError> {
    let dir = fast_tempdir();
    let mut model = BTreeMap::new();
    let mut slot = 0u64;
    let (mut store, _) = AccountStorage::open(dir.path(), options(write_path, background)).unwrap();
    for op in ops {
        match op {
            Op::Commit(writes) => {
                slot += 1;
                let writes: Vec<(Hash, Option<Vec<u8>>)> = writes
                    .into_iter()
                    .map(|(index, value)| (key(index), value))
                    .collect();
                apply(&mut model, &writes);
                let block = BlockCommit {
                    slot,
                    block_hash: Hash::digest(&slot.to_le_bytes()),
                    state_root: root_of(&model),
                    writes: &writes,
                };
                store.commit_block(block).unwrap();
            }
            Op::Reopen => {
                drop(store);
                let (reopened, report) =
                    AccountStorage::open(dir.path(), options(write_path, background)).unwrap();
                prop_assert_eq!(report.torn_tail, None);
                prop_assert_eq!(report.state_root_verified, slot > 0);
                prop_assert_eq!(report.live_keys, model.len());
                store = reopened;
            }
            Op::Compact => {
                store.compact().unwrap();
            }
        }
        check(&store, &model, slot)?;
    }
    prop_assert_eq!(live(&store), model.clone());
    store.check_invariants();
    prop_assert_eq!(store.stats().compaction_errors, 0);
    drop(store);
    // A last reopen must agree too (compaction may have deleted files meanwhile).
    let (store, _) = AccountStorage::open(dir.path(), options(write_path, false)).unwrap();
    prop_assert_eq!(live(&store), model);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn store_matches_a_map_io_uring_or_auto(ops in proptest::collection::vec(op(), 1..60), background in any::<bool>()) {
        run(ops, WritePathPreference::Auto, background)?;
    }

    #[test]
    fn store_matches_a_map_positioned(ops in proptest::collection::vec(op(), 1..60), background in any::<bool>()) {
        run(ops, WritePathPreference::Positioned, background)?;
    }
}
