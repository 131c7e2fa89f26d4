//! Versions are persistent: applying batches to a version never changes it, so forks can
//! branch from any block's tree.

mod common;

use std::collections::BTreeMap;

use aether_state_commitment::{Batch, Hash, Tree, verify_proof_hashed};
use common::{random_key, reference_root};
use proptest::prelude::*;

/// A version's observable state: root, key count, contents.
type Snapshot = (Hash, u64, Vec<(Hash, Hash)>);

fn snapshot(tree: &Tree) -> Snapshot {
    (tree.root(), tree.len(), tree.iter().collect())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// A parent with two forks, each extended by more blocks, the parent and every
    /// intermediate version keeping their exact contents and proofs.
    #[test]
    fn old_versions_are_unchanged_by_later_batches(
        seed in any::<u64>(),
        fork_batches in prop::collection::vec(prop::collection::vec((0u64..200, prop::option::of(any::<u64>())), 0..60), 2..6),
    ) {
        let base: BTreeMap<Hash, Hash> =
            (0..100).map(|index| (random_key(seed, index), random_key(!seed, index))).collect();
        let parent = Tree::from_sorted_hashed(base.iter().map(|(k, v)| (*k, *v))).unwrap();
        let parent_before = snapshot(&parent);

        let mut versions: Vec<(Tree, Snapshot, BTreeMap<Hash, Hash>)> = Vec::new();
        // Alternate between extending fork A (from the parent) and fork B (from the parent).
        let mut tips = [(parent.clone(), base.clone()), (parent.clone(), base.clone())];
        for (index, operations) in fork_batches.iter().enumerate() {
            let (tip, model) = &mut tips[index % 2];
            let batch = Batch::from_value_hashes(operations.iter().map(|(key, value)| {
                (random_key(seed, *key), value.map(|value| random_key(value, 0)))
            }));
            for (key, operation) in batch.operations() {
                match operation {
                    Some(value_hash) => model.insert(*key, *value_hash),
                    None => model.remove(key),
                };
            }
            *tip = tip.apply(&batch);
            prop_assert_eq!(tip.root(), reference_root(model));
            versions.push((tip.clone(), snapshot(tip), model.clone()));
        }

        prop_assert_eq!(snapshot(&parent), parent_before);
        prop_assert_eq!(parent.root(), reference_root(&base));
        for (tree, before, model) in &versions {
            prop_assert_eq!(&snapshot(tree), before);
            tree.check_invariants().map_err(TestCaseError::fail)?;
            for key in (0..200).map(|index| random_key(seed, index)) {
                let proof = tree.prove(&key);
                prop_assert_eq!(
                    verify_proof_hashed(&tree.root(), &key, model.get(&key), &proof),
                    Ok(())
                );
            }
        }
    }
}

#[test]
fn dropping_a_fork_leaves_its_sibling_intact() {
    let keys: Vec<Hash> = (0..1000).map(|index| random_key(42, index)).collect();
    let parent = Tree::empty().apply_batch(keys.iter().map(|key| (*key, Some(key.0))));
    let parent_root = parent.root();
    let fork_a = parent.apply_batch(keys[..10].iter().map(|key| (*key, None::<[u8; 32]>)));
    let fork_b = parent.apply_batch([(keys[500], Some(b"b"))]);
    let fork_b_before = snapshot(&fork_b);
    drop(parent);
    drop(fork_a);
    assert_eq!(snapshot(&fork_b), fork_b_before);
    fork_b.check_invariants().unwrap();
    // Undoing fork B's only write gives back the parent's root.
    let undone = fork_b.apply_batch([(keys[500], Some(keys[500].0))]);
    assert_eq!(undone.root(), parent_root);
}
