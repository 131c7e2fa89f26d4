//! The incremental tree against the reference evaluation of the definition, and root
//! independence from insertion order, batch boundaries, deletions and thread use.

mod common;

use std::collections::BTreeMap;

use aether_state_commitment::{
    Batch, EMPTY_HASH, Hash, Parallelism, Tree, leaf_hash, node_hash, value_hash,
};
use common::{random_key, reference_root, structured_keys, value_hash_of};
use proptest::prelude::*;

/// An operation on the key pool: (pool index, Some(value byte) to write, None to delete).
type Operation = (usize, Option<u8>);

fn pool(extra: &[[u8; 32]]) -> Vec<Hash> {
    let mut keys = structured_keys();
    keys.extend(extra.iter().map(|bytes| Hash(*bytes)));
    keys
}

fn batch_of(keys: &[Hash], operations: &[Operation]) -> Batch {
    Batch::from_value_hashes(
        operations
            .iter()
            .map(|(index, value)| (keys[index % keys.len()], value.map(value_hash_of))),
    )
}

fn apply_to_model(model: &mut BTreeMap<Hash, Hash>, keys: &[Hash], operations: &[Operation]) {
    for (index, value) in operations {
        let key = keys[index % keys.len()];
        match value {
            Some(value) => model.insert(key, value_hash_of(*value)),
            None => model.remove(&key),
        };
    }
}

/// The tree holds exactly the model's set: the reference root, the count, canonical
/// structure and the same contents in key order.
fn check_against_model(tree: &Tree, model: &BTreeMap<Hash, Hash>) -> Result<(), TestCaseError> {
    prop_assert_eq!(tree.root(), reference_root(model));
    prop_assert_eq!(tree.len(), model.len() as u64);
    tree.check_invariants().map_err(TestCaseError::fail)?;
    let contents: Vec<(Hash, Hash)> = tree.iter().collect();
    let expected: Vec<(Hash, Hash)> = model.iter().map(|(k, v)| (*k, *v)).collect();
    prop_assert_eq!(contents, expected);
    Ok(())
}

fn operations() -> impl Strategy<Value = Vec<Operation>> {
    prop::collection::vec(
        (0usize..96, prop::option::weighted(0.7, any::<u8>())),
        0..40,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// In-place updates follow the reference model exactly as copying ones do, and a
    /// version cloned before an update (sharing nodes with the tree being updated) keeps
    /// its root and contents.
    #[test]
    fn in_place_batches_match_the_reference_model(
        extra in prop::collection::vec(any::<[u8; 32]>(), 0..32),
        batches in prop::collection::vec((operations(), any::<bool>()), 1..8),
    ) {
        let keys = pool(&extra);
        let mut model = BTreeMap::new();
        let mut tree = Tree::empty();
        for (operations, keep_previous) in &batches {
            let previous = keep_previous.then(|| {
                let kept = tree.clone();
                let contents: Vec<(Hash, Hash)> = kept.iter().collect();
                (kept, contents)
            });
            tree.apply_in_place_with(&batch_of(&keys, operations), Parallelism::Sequential);
            apply_to_model(&mut model, &keys, operations);
            check_against_model(&tree, &model)?;
            if let Some((kept, kept_contents)) = previous {
                prop_assert_eq!(kept.iter().collect::<Vec<_>>(), kept_contents);
                kept.check_invariants().map_err(TestCaseError::fail)?;
            }
        }
    }

    /// After every batch in a random sequence (writes, overwrites, deletes, absent
    /// deletes) the tree's root equals the reference root of the model set, the structure
    /// is canonical, and the contents are the model's.
    #[test]
    fn batches_match_the_reference_model(
        extra in prop::collection::vec(any::<[u8; 32]>(), 0..32),
        batches in prop::collection::vec(operations(), 1..8),
    ) {
        let keys = pool(&extra);
        let mut model = BTreeMap::new();
        let mut tree = Tree::empty();
        for operations in &batches {
            tree = tree.apply(&batch_of(&keys, operations));
            apply_to_model(&mut model, &keys, operations);
            check_against_model(&tree, &model)?;
        }
        for key in &keys {
            prop_assert_eq!(tree.get(key), model.get(key).copied());
        }
    }

    /// The same final set reached by one batch, by a shuffled sequence of batches with
    /// other cut points, and by a bulk build gives the same root.
    #[test]
    fn root_is_independent_of_order_and_partitioning(
        extra in prop::collection::vec(any::<[u8; 32]>(), 0..32),
        operations in prop::collection::vec((0usize..96, prop::option::weighted(0.7, any::<u8>())), 0..120),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..6),
        permutation_seed in any::<u64>(),
    ) {
        let keys = pool(&extra);
        let mut model = BTreeMap::new();
        apply_to_model(&mut model, &keys, &operations);

        let one_batch = Tree::empty().apply(&batch_of(&keys, &operations));

        // Different cut points: each batch is a slice of the same operation sequence.
        let mut cut_points: Vec<usize> = cuts.iter().map(|cut| cut.index(operations.len() + 1)).collect();
        cut_points.push(0);
        cut_points.push(operations.len());
        cut_points.sort_unstable();
        let mut many_batches = Tree::empty();
        for window in cut_points.windows(2) {
            many_batches = many_batches.apply(&batch_of(&keys, &operations[window[0]..window[1]]));
        }

        // Insert the final set in a shuffled order, one key per batch, after first
        // inserting and deleting unrelated keys.
        let mut final_entries: Vec<(Hash, Hash)> = model.iter().map(|(k, v)| (*k, *v)).collect();
        let mut state = permutation_seed | 1;
        for index in (1..final_entries.len()).rev() {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            final_entries.swap(index, (state % (index as u64 + 1)) as usize);
        }
        let noise: Vec<Hash> = (0..5).map(|index| random_key(permutation_seed, index)).collect();
        let mut shuffled = Tree::empty()
            .apply(&Batch::from_value_hashes(noise.iter().map(|key| (*key, Some(*key)))));
        for (key, value_hash) in &final_entries {
            shuffled = shuffled.apply(&Batch::from_value_hashes([(*key, Some(*value_hash))]));
        }
        shuffled = shuffled.apply(&Batch::from_value_hashes(
            noise.iter().filter(|key| !model.contains_key(key)).map(|key| (*key, None)),
        ));

        let bulk = Tree::from_sorted_hashed(model.iter().map(|(k, v)| (*k, *v))).unwrap();
        let expected = reference_root(&model);
        prop_assert_eq!(one_batch.root(), expected);
        prop_assert_eq!(many_batches.root(), expected);
        prop_assert_eq!(shuffled.root(), expected);
        prop_assert_eq!(bulk.root(), expected);
        shuffled.check_invariants().map_err(TestCaseError::fail)?;
    }
}

#[test]
fn empty_tree_root_is_the_zero_constant() {
    assert_eq!(Tree::empty().root(), Hash([0; 32]));
    assert_eq!(EMPTY_HASH, Hash([0; 32]));
    assert_eq!(Tree::from_sorted_hashed([]).unwrap().root(), EMPTY_HASH);
    // Deleting everything returns to the same constant.
    let key = random_key(1, 1);
    let tree = Tree::empty().apply_batch([(key, Some(b"v"))]);
    assert_ne!(tree.root(), EMPTY_HASH);
    let tree = tree.apply_batch([(key, None::<&[u8]>)]);
    assert_eq!(tree.root(), EMPTY_HASH);
    assert!(tree.is_empty());
}

#[test]
fn hand_computed_roots() {
    let value = value_hash(b"v");
    let mut left = Hash([0; 32]);
    left.0[0] = 0b0000_0001;
    let mut right = left;
    right.0[0] = 0b1000_0001;
    // One key: the root is its leaf hash.
    let one = Tree::empty().apply_batch([(left, Some(b"v"))]);
    assert_eq!(one.root(), leaf_hash(&left, &value));
    // Keys differing at bit 0: one internal node.
    let two = one.apply_batch([(right, Some(b"v"))]);
    assert_eq!(
        two.root(),
        node_hash(&leaf_hash(&left, &value), &leaf_hash(&right, &value))
    );
    // Keys sharing bits 0 and 1 (both 0), differing at bit 2: a chain of two nodes with an
    // empty right child above the node that splits them.
    let mut a = Hash([0; 32]);
    a.0[0] = 0b0000_0000;
    let mut b = a;
    b.0[0] = 0b0010_0000;
    let chain = Tree::empty().apply_batch([(a, Some(b"v")), (b, Some(b"v"))]);
    let split = node_hash(&leaf_hash(&a, &value), &leaf_hash(&b, &value));
    let expected = node_hash(&node_hash(&split, &EMPTY_HASH), &EMPTY_HASH);
    assert_eq!(chain.root(), expected);
    // Deleting `b` re-compresses the chain: the root is `a`'s leaf again.
    let back = chain.apply_batch([(b, None::<&[u8]>)]);
    assert_eq!(back.root(), leaf_hash(&a, &value));
    back.check_invariants().unwrap();
}

#[test]
fn keys_differing_only_in_the_last_bit_sit_at_depth_256() {
    let a = Hash([0x3c; 32]);
    let mut b = a;
    b.0[31] ^= 1;
    let tree = Tree::empty().apply_batch([(a, Some(b"a")), (b, Some(b"b"))]);
    let mut model = BTreeMap::new();
    model.insert(a, value_hash(b"a"));
    model.insert(b, value_hash(b"b"));
    assert_eq!(tree.root(), reference_root(&model));
    assert_eq!(tree.prove(&a).depth(), 256);
    tree.check_invariants().unwrap();
}

/// `count` random (key, value hash) entries in key order.
fn sorted_random_entries(count: u64, key_seed: u64, value_seed: u64) -> Vec<(Hash, Hash)> {
    let mut entries: Vec<_> = (0..count)
        .map(|index| (random_key(key_seed, index), random_key(value_seed, index)))
        .collect();
    entries.sort_unstable();
    entries
}

/// `count` operations on `entries` (at most its length): in turn an overwrite of an
/// existing key, a delete of one, and a new key; new keys and values come from `seed`.
fn mixed_batch(entries: &[(Hash, Hash)], count: u64, seed: u64) -> Batch {
    Batch::from_value_hashes((0..count).map(|index| match index % 3 {
        0 => (entries[index as usize].0, Some(random_key(seed, index))),
        1 => (entries[index as usize].0, None),
        _ => (
            random_key(seed + 1, index),
            Some(random_key(seed + 2, index)),
        ),
    }))
}

/// Large enough that the top levels split into rayon tasks: results must not depend on it.
#[test]
fn parallel_and_sequential_updates_agree() {
    let entries = sorted_random_entries(20_000, 7, 8);
    let sequential_base =
        Tree::from_sorted_hashed_with(entries.iter().copied(), Parallelism::Sequential).unwrap();
    let parallel_base =
        Tree::from_sorted_hashed_with(entries.iter().copied(), Parallelism::Rayon).unwrap();
    assert_eq!(sequential_base.root(), parallel_base.root());
    parallel_base.check_invariants().unwrap();

    let batch = mixed_batch(&entries, 6_000, 9);
    let sequential = sequential_base.apply_with(&batch, Parallelism::Sequential);
    let parallel = parallel_base.apply_with(&batch, Parallelism::Rayon);
    assert_eq!(sequential.root(), parallel.root());
    assert_eq!(sequential.len(), 20_000 - 2_000 + 2_000);
    parallel.check_invariants().unwrap();

    let mut model: BTreeMap<Hash, Hash> = entries.into_iter().collect();
    for (key, operation) in batch.operations() {
        match operation {
            Some(value_hash) => model.insert(*key, *value_hash),
            None => model.remove(key),
        };
    }
    let rebuilt = Tree::from_sorted_hashed(model).unwrap();
    assert_eq!(rebuilt.root(), parallel.root());
}

/// The in-place update of a large tree, split over rayon tasks, gives the copying
/// update's tree; a clone held across the update (sharing every node) is unchanged.
#[test]
fn in_place_update_of_a_large_tree_equals_the_copying_update() {
    let entries = sorted_random_entries(20_000, 17, 18);
    let batch = mixed_batch(&entries, 9_000, 19);
    let base = Tree::from_sorted_hashed(entries.iter().copied()).unwrap();
    let copied = base.apply_with(&batch, Parallelism::Rayon);
    let base_root = base.root();

    let mut shared = base.clone();
    shared.apply_in_place_with(&batch, Parallelism::Rayon);
    assert_eq!(shared.root(), copied.root());
    assert_eq!(
        base.root(),
        base_root,
        "the version sharing every node is unchanged"
    );
    base.check_invariants().unwrap();
    drop(base);

    for parallelism in [Parallelism::Rayon, Parallelism::Sequential] {
        let mut owned = Tree::from_sorted_hashed(entries.iter().copied()).unwrap();
        owned.apply_in_place_with(&batch, parallelism);
        assert_eq!(owned.root(), copied.root());
        assert_eq!(owned.len(), copied.len());
        owned.check_invariants().unwrap();
        assert!(owned.iter().eq(copied.iter()));
    }
}

#[test]
fn no_op_updates_share_the_old_root() {
    let keys: Vec<Hash> = (0..100).map(|index| random_key(3, index)).collect();
    let tree = Tree::empty().apply_batch(keys.iter().map(|key| (*key, Some(key.0))));
    let same = tree.apply_batch(
        keys.iter()
            .take(10)
            .map(|key| (*key, Some(key.0)))
            .chain([(random_key(4, 0), None)]),
    );
    assert!(same.shares_root_with(&tree));
    assert_eq!(same.len(), tree.len());
}

#[test]
fn bulk_build_rejects_unsorted_and_duplicate_keys() {
    use aether_state_commitment::BuildError;
    let (a, b) = (Hash([1; 32]), Hash([2; 32]));
    assert_eq!(
        Tree::from_sorted([(b, b"x"), (a, b"y")]).unwrap_err(),
        BuildError::NotAscending { index: 1 }
    );
    assert_eq!(
        Tree::from_sorted([(a, b"x"), (b, b"y"), (b, b"z")]).unwrap_err(),
        BuildError::NotAscending { index: 2 }
    );
}
