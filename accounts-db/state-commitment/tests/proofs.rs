//! Inclusion and non-inclusion proofs: they verify for the truth and fail for anything else.

mod common;

use std::collections::BTreeMap;

use aether_state_commitment::{
    EMPTY_HASH, Hash, Proof, ProofError, Terminal, Tree, value_hash, verify_proof,
    verify_proof_hashed,
};
use aether_types::codec::{decode_exact, encode};
use common::{random_key, structured_keys};
use proptest::prelude::*;

/// A tree over `present` (value = the key's bytes), with its model.
fn tree_of(present: &[Hash]) -> (Tree, BTreeMap<Hash, Vec<u8>>) {
    let model: BTreeMap<Hash, Vec<u8>> = present
        .iter()
        .map(|key| (*key, key.0[..5].to_vec()))
        .collect();
    let tree = Tree::from_sorted(model.iter().map(|(key, value)| (*key, value.clone()))).unwrap();
    (tree, model)
}

/// Every way of lying with `proof` about `key` must fail.
fn assert_lies_fail(
    tree: &Tree,
    key: &Hash,
    truth: Option<&[u8]>,
    proof: &Proof,
    flip_every_byte: bool,
) {
    let root = tree.root();
    match truth {
        Some(value) => {
            assert_eq!(
                verify_proof(&root, key, None, proof),
                Err(ProofError::KeyPresent)
            );
            let mut other = value.to_vec();
            other.push(0);
            assert!(matches!(
                verify_proof(&root, key, Some(&other), proof),
                Err(ProofError::ValueMismatch { .. })
            ));
        }
        None => {
            assert_eq!(
                verify_proof(&root, key, Some(b"anything"), proof),
                Err(ProofError::KeyAbsent)
            );
        }
    }
    // A wrong root.
    let mut wrong_root = root;
    wrong_root.0[0] ^= 1;
    assert!(matches!(
        verify_proof(&wrong_root, key, truth, proof),
        Err(ProofError::RootMismatch { .. })
    ));
    // The same proof for another key on a different path (first bit flipped).
    let mut other_key = *key;
    other_key.0[0] ^= 0x80;
    if proof.depth() > 0 {
        assert!(verify_proof(&root, &other_key, truth, proof).is_err());
    }
    // Tampered bytes: flip one bit of every byte position; each result either fails to
    // decode or fails to verify (never a panic, never a pass). Done for some probes
    // only: a proof is ~100 to 800 bytes and each flip costs a verification.
    let bytes = encode(proof);
    let positions = if flip_every_byte { bytes.len() } else { 0 };
    for position in 0..positions {
        let mut tampered = bytes.clone();
        tampered[position] ^= 0x01;
        if let Ok(tampered) = decode_exact::<Proof>(&tampered) {
            assert!(
                verify_proof(&root, key, truth, &tampered).is_err(),
                "tampered byte {position} still verifies"
            );
        }
    }
    // A terminal swapped for the empty one.
    let siblings: Vec<Hash> = proof.siblings().collect();
    if *proof.terminal() != Terminal::Empty {
        let emptied = Proof::new(siblings.clone(), Terminal::Empty).unwrap();
        assert!(verify_proof(&root, key, None, &emptied).is_err());
    }
    // A path one level shorter or longer.
    if let Some((_, shorter)) = siblings.split_last() {
        let shorter = Proof::new(shorter.to_vec(), *proof.terminal()).unwrap();
        assert!(verify_proof(&root, key, truth, &shorter).is_err());
    }
    let mut longer = siblings;
    longer.push(Hash([9; 32]));
    if longer.len() <= 256 {
        let longer = Proof::new(longer, *proof.terminal()).unwrap();
        assert!(verify_proof(&root, key, truth, &longer).is_err());
    }
}

fn check_every_key(tree: &Tree, model: &BTreeMap<Hash, Vec<u8>>, probes: &[Hash]) {
    for (index, key) in probes.iter().enumerate() {
        let truth = model.get(key).map(Vec::as_slice);
        let proof = tree.prove(key);
        assert_eq!(
            verify_proof(&tree.root(), key, truth, &proof),
            Ok(()),
            "{key}"
        );
        let decoded: Proof = decode_exact(&encode(&proof)).unwrap();
        assert_eq!(decoded, proof);
        assert_eq!(verify_proof(&tree.root(), key, truth, &decoded), Ok(()));
        assert_lies_fail(tree, key, truth, &proof, index % 8 == 0);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn proofs_verify_for_the_truth_only(
        present_mask in any::<u64>(),
        random_count in 0u64..40,
        seed in any::<u64>(),
    ) {
        let structured = structured_keys();
        let randoms: Vec<Hash> = (0..80).map(|index| random_key(seed, index)).collect();
        let present: Vec<Hash> = structured
            .iter()
            .enumerate()
            .filter(|(index, _)| present_mask >> index & 1 == 1)
            .map(|(_, key)| *key)
            .chain(randoms.iter().take(random_count as usize).copied())
            .collect();
        let (tree, model) = tree_of(&present);
        let probes: Vec<Hash> = structured.iter().chain(randoms.iter()).copied().collect();
        check_every_key(&tree, &model, &probes);
    }

    /// Untrusted bytes never panic the decoder, and what decodes re-encodes identically.
    #[test]
    fn decode_never_panics_and_is_canonical(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        if let Ok(proof) = decode_exact::<Proof>(&bytes) {
            prop_assert_eq!(encode(&proof), bytes);
        }
    }

    /// Mutations of valid proofs: decode never panics, and a changed proof never verifies.
    #[test]
    fn mutated_proofs_never_verify(seed in any::<u64>(), edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4)) {
        let present: Vec<Hash> = (0..50).map(|index| random_key(seed, index)).collect();
        let (tree, model) = tree_of(&present);
        for key in [present[0], random_key(seed, 1000)] {
            let truth = model.get(&key).map(Vec::as_slice);
            let bytes = encode(&tree.prove(&key));
            let mut mutated = bytes.clone();
            for (index, byte) in &edits {
                let position = index.index(mutated.len());
                mutated[position] = *byte;
            }
            if mutated != bytes
                && let Ok(proof) = decode_exact::<Proof>(&mutated)
            {
                prop_assert!(verify_proof(&tree.root(), &key, truth, &proof).is_err());
            }
        }
    }
}

#[test]
fn empty_tree_proves_absence_with_an_empty_path() {
    let tree = Tree::empty();
    let key = random_key(0, 0);
    let proof = tree.prove(&key);
    assert_eq!(proof.depth(), 0);
    assert_eq!(*proof.terminal(), Terminal::Empty);
    assert_eq!(verify_proof(&EMPTY_HASH, &key, None, &proof), Ok(()));
    assert_eq!(
        verify_proof(&EMPTY_HASH, &key, Some(b"x"), &proof),
        Err(ProofError::KeyAbsent)
    );
    assert_eq!(encode(&proof), [1, 0, 0, 0]);
}

#[test]
fn non_inclusion_by_another_leaf_names_that_leaf() {
    // One key in the tree: any other key's path ends at that leaf at depth 0.
    let present = random_key(5, 0);
    let tree = Tree::empty().apply_batch([(present, Some(b"v"))]);
    let absent = random_key(5, 1);
    let proof = tree.prove(&absent);
    assert_eq!(
        *proof.terminal(),
        Terminal::Leaf {
            key: present,
            value_hash: value_hash(b"v")
        }
    );
    assert_eq!(verify_proof(&tree.root(), &absent, None, &proof), Ok(()));
    assert_eq!(
        verify_proof_hashed(&tree.root(), &present, Some(&value_hash(b"v")), &proof),
        Ok(())
    );
}

#[test]
fn a_leaf_off_the_key_path_is_rejected() {
    // Keys 0x00.. and 0x80.. split at bit 0; a proof for 0x40.. ending at the 0x80.. leaf
    // at depth 1 is off-path (0x40 starts with bit 0).
    let a = Hash([0x00; 32]);
    let b = Hash([0x80; 32]);
    let tree = Tree::empty().apply_batch([(a, Some(b"a")), (b, Some(b"b"))]);
    let forged = Proof::new(
        vec![tree.prove(&a).siblings().next().unwrap()],
        Terminal::Leaf {
            key: b,
            value_hash: value_hash(b"b"),
        },
    )
    .unwrap();
    assert_eq!(
        verify_proof(&tree.root(), &Hash([0x40; 32]), None, &forged),
        Err(ProofError::LeafOffPath { depth: 1 })
    );
}

#[test]
fn proofs_against_an_older_version_fail_after_an_update() {
    let keys: Vec<Hash> = (0..200).map(|index| random_key(6, index)).collect();
    let (old, _) = tree_of(&keys);
    let new = old.apply_batch([(keys[0], Some(b"changed"))]);
    let old_proof = old.prove(&keys[0]);
    assert!(verify_proof(&new.root(), &keys[0], Some(&keys[0].0[..5]), &old_proof).is_err());
    assert_eq!(
        verify_proof(
            &new.root(),
            &keys[0],
            Some(b"changed"),
            &new.prove(&keys[0])
        ),
        Ok(())
    );
}
