//! A hostile network and a hostile leader: replays into other slots and sets, bad
//! coding shreds, equivocation, duplicates, and the assembler's limits.

mod common;

use aether_crypto::ed25519::Ed25519SecretKey;
use aether_shred::{
    AssembleError, AssemblerLimits, InsertOutcome, Shred, ShredVerifier, SlotAssembler,
    VerifyError, verify_shred,
};
use aether_types::ShredKind;
use common::{SLOT, assemble, block_bytes, by_set, edit_header, leader, leader_key, reseal, shred};

const FULL_SET_BYTES: usize = 32 * 880;

fn set_bytes(shreds: &[Shred]) -> Vec<Vec<u8>> {
    shreds.iter().map(|s| s.as_bytes().to_vec()).collect()
}

fn decode_all(set: &[Vec<u8>]) -> Vec<Shred> {
    set.iter()
        .map(|bytes| Shred::decode(bytes).unwrap())
        .collect()
}

fn verify_err(shred: Shred) -> VerifyError {
    ShredVerifier::default()
        .verify(shred, &leader_key())
        .unwrap_err()
}

#[test]
fn a_signed_root_cannot_be_replayed_into_another_slot_or_set() {
    let sets = by_set(shred(&block_bytes(2 * FULL_SET_BYTES, 1), SLOT));
    let original = set_bytes(&sets[&0]);

    // Relabelled, proofs untouched: the leaves changed, so the path breaks.
    let mut relabelled = original.clone();
    for bytes in &mut relabelled {
        edit_header(bytes, |header| header.slot = SLOT + 1);
    }
    let error = verify_err(Shred::decode(&relabelled[0]).unwrap());
    assert!(
        matches!(error, VerifyError::MerkleProofMismatch { .. }),
        "{error:?}"
    );

    // Relabelled and re-rooted, with a genuine leader signature over the new root for
    // (SLOT, set 0): valid for that slot and set only.
    reseal(&mut relabelled, &leader(), SLOT, 0);
    // The warmed cache holds (SLOT, 0, original root); it must not help either.
    let mut verifier = ShredVerifier::default();
    verifier.verify(sets[&0][0].clone(), &leader_key()).unwrap();
    for shred in decode_all(&relabelled) {
        let error = verifier.verify(shred, &leader_key()).unwrap_err();
        assert!(
            matches!(error, VerifyError::SignatureInvalid { slot, .. } if slot == SLOT + 1),
            "{error:?}"
        );
    }

    // The same for another set of the same slot: set 0 relabelled as set 32.
    let mut moved = original.clone();
    for bytes in &mut moved {
        edit_header(bytes, |header| {
            header.fec_set_index += 64;
            if header.kind == ShredKind::Data {
                header.index += 64;
            }
        });
    }
    reseal(&mut moved, &leader(), SLOT, 0);
    let error = verify_err(Shred::decode(&moved[0]).unwrap());
    assert!(
        matches!(
            error,
            VerifyError::SignatureInvalid {
                fec_set_index: 64,
                ..
            }
        ),
        "{error:?}"
    );

    // A genuine shred of another slot is not this slot's.
    let other_slot = shred(b"another block", SLOT + 1);
    let verified = ShredVerifier::default()
        .verify(other_slot[0].clone(), &leader_key())
        .unwrap();
    let mut assembler = SlotAssembler::new(SLOT, AssemblerLimits::default());
    assert_eq!(
        assembler.insert(verified),
        Err(AssembleError::WrongSlot {
            slot: SLOT,
            shred_slot: SLOT + 1
        })
    );
}

#[test]
fn another_key_is_not_the_leader() {
    let shreds = shred(b"block", SLOT);
    let impostor = Ed25519SecretKey::from_seed(&[8; 32]).public_key();
    assert!(matches!(
        verify_shred(&shreds[0], &impostor),
        Err(VerifyError::SignatureInvalid { .. })
    ));
    // Signed by the impostor instead: rejected under the real leader's key.
    let mut set = set_bytes(&shreds);
    reseal(&mut set, &Ed25519SecretKey::from_seed(&[8; 32]), SLOT, 0);
    assert!(matches!(
        verify_shred(&Shred::decode(&set[0]).unwrap(), &leader_key()),
        Err(VerifyError::SignatureInvalid { .. })
    ));
    assert_eq!(
        verify_shred(&shreds[0], &leader_key()),
        Ok(shreds[0].merkle_root())
    );
}

/// Set 0 of a 2-set block, with coding shred 0's parity replaced by garbage and the set
/// re-signed by the (malicious) leader.
fn set_with_bad_coding_shred() -> (Vec<Shred>, Vec<Shred>) {
    let sets = by_set(shred(&block_bytes(2 * FULL_SET_BYTES, 2), SLOT));
    let mut set = set_bytes(&sets[&0]);
    let coding_zero = &mut set[32];
    for byte in &mut coding_zero[30..30 + 910] {
        *byte ^= 0x5a;
    }
    reseal(&mut set, &leader(), SLOT, 0);
    (decode_all(&set), sets[&32].clone())
}

#[test]
fn a_bad_coding_shred_cannot_corrupt_the_block() {
    let (set_zero, _) = set_with_bad_coding_shred();
    let mut verifier = ShredVerifier::default();
    let mut assembler = SlotAssembler::new(SLOT, AssemblerLimits::default());
    // Data 1..32 and the bad coding shred 0: recovery of data 0 must be caught.
    for shred in set_zero[1..33].iter().cloned() {
        let verified = verifier.verify(shred, &leader_key()).unwrap();
        match assembler.insert(verified) {
            Ok(InsertOutcome::Stored) => {}
            Err(error) => {
                assert_eq!(error, AssembleError::InconsistentSet { fec_set_index: 0 });
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    let late = verifier.verify(set_zero[0].clone(), &leader_key()).unwrap();
    assert_eq!(
        assembler.insert(late),
        Err(AssembleError::SetFailed { fec_set_index: 0 })
    );
}

#[test]
fn with_every_data_shred_a_bad_coding_shred_is_not_needed() {
    let (set_zero, set_one) = set_with_bad_coding_shred();
    let mut shreds = set_zero[..32].to_vec();
    shreds.extend_from_slice(&set_one[..32]);
    let block = assemble(shreds, SLOT).unwrap().unwrap();
    assert_eq!(block, block_bytes(2 * FULL_SET_BYTES, 2));
}

#[test]
fn duplicates_are_ignored_and_equivocation_is_an_error() {
    let shreds = shred(&block_bytes(FULL_SET_BYTES, 3), SLOT);
    let mut verifier = ShredVerifier::default();
    let mut assembler = SlotAssembler::new(SLOT, AssemblerLimits::default());
    let mut insert =
        |shred: &Shred| assembler.insert(verifier.verify(shred.clone(), &leader_key()).unwrap());
    assert_eq!(insert(&shreds[5]), Ok(InsertOutcome::Stored));
    assert_eq!(insert(&shreds[5]), Ok(InsertOutcome::Duplicate));
    // The leader signs a second version of set 0 (one payload byte differs).
    let mut other = set_bytes(&shreds);
    other[5][100] ^= 1;
    reseal(&mut other, &leader(), SLOT, 0);
    let other = decode_all(&other);
    assert_eq!(
        insert(&other[5]),
        Err(AssembleError::ConflictingRoot { fec_set_index: 0 })
    );
    assert_eq!(
        insert(&other[6]),
        Err(AssembleError::ConflictingRoot { fec_set_index: 0 })
    );
    // The assembler is unchanged and still completes from the first version.
    let mut outcome = Ok(InsertOutcome::Stored);
    // Data 5 and coding 2..32: one short of the 32 needed.
    for shred in shreds.iter().skip(34) {
        outcome = insert(shred);
    }
    assert_eq!(outcome, Ok(InsertOutcome::Stored));
    let InsertOutcome::BlockComplete(block) = insert(&shreds[0]).unwrap() else {
        panic!("the 32nd shred completes the block");
    };
    assert!(block == block_bytes(FULL_SET_BYTES, 3), "block differs");
    assert_eq!(insert(&shreds[1]), Ok(InsertOutcome::AlreadyComplete));
}

#[test]
fn limits_bound_sets_and_data_shreds() {
    let sets = by_set(shred(&block_bytes(3 * FULL_SET_BYTES, 4), SLOT));
    let mut verifier = ShredVerifier::default();
    let mut verified = |shred: &Shred| verifier.verify(shred.clone(), &leader_key()).unwrap();

    let limits = AssemblerLimits {
        fec_sets_max: 2,
        ..AssemblerLimits::default()
    };
    let mut assembler = SlotAssembler::new(SLOT, limits);
    assembler.insert(verified(&sets[&0][0])).unwrap();
    assembler.insert(verified(&sets[&32][0])).unwrap();
    assert_eq!(
        assembler.insert(verified(&sets[&64][0])),
        Err(AssembleError::FecSetLimit {
            fec_set_index: 64,
            max: 2
        })
    );
    assert_eq!(assembler.fec_set_count(), 2);
    assert_eq!(
        assembler.insert(verified(&sets[&0][1])),
        Ok(InsertOutcome::Stored)
    );

    let limits = AssemblerLimits {
        data_shreds_max: 40,
        ..AssemblerLimits::default()
    };
    let mut assembler = SlotAssembler::new(SLOT, limits);
    assert_eq!(
        assembler.insert(verified(&sets[&32][0])),
        Err(AssembleError::DataShredLimit {
            fec_set_index: 32,
            data_count: 32,
            max: 40
        })
    );
}

#[test]
fn sets_must_tile_the_slot_up_to_its_last_shred() {
    let mut verifier = ShredVerifier::default();
    let mut verified = |shred: &Shred| verifier.verify(shred.clone(), &leader_key()).unwrap();
    // One full set that ends the slot, then a set 32 from a longer version of the block.
    let short = shred(&block_bytes(FULL_SET_BYTES, 5), SLOT);
    let long = by_set(shred(&block_bytes(2 * FULL_SET_BYTES, 5), SLOT));
    let mut assembler = SlotAssembler::new(SLOT, AssemblerLimits::default());
    assembler.insert(verified(&short[31])).unwrap();
    assert_eq!(
        assembler.insert(verified(&long[&32][0])),
        Err(AssembleError::AfterLastInSlot {
            fec_set_index: 32,
            last_fec_set_index: 0
        })
    );

    // A 5-shred set at 0, then a set relabelled to start at 3: they overlap.
    let small = shred(&block_bytes(5 * 880, 6), SLOT);
    let mut moved = set_bytes(&small);
    for bytes in &mut moved {
        edit_header(bytes, |header| {
            header.fec_set_index += 3;
            if header.kind == ShredKind::Data {
                header.index += 3;
            }
        });
    }
    reseal(&mut moved, &leader(), SLOT, 3);
    let moved = decode_all(&moved);
    let mut assembler = SlotAssembler::new(SLOT, AssemblerLimits::default());
    assembler.insert(verified(&small[0])).unwrap();
    assert_eq!(
        assembler.insert(verified(&moved[0])),
        Err(AssembleError::OverlappingSets {
            fec_set_index: 3,
            other_fec_set_index: 0
        })
    );
}

#[test]
fn the_signature_cache_is_bounded_and_checks_once_per_set() {
    let sets = by_set(shred(&block_bytes(3 * FULL_SET_BYTES, 7), SLOT));
    let mut verifier = ShredVerifier::new(2);
    for set in sets.values() {
        for shred in set {
            verifier.verify(shred.clone(), &leader_key()).unwrap();
        }
    }
    assert_eq!(verifier.counts().signature_checks, 3);
    assert_eq!(verifier.counts().cache_hits, 3 * 64 - 3);
    assert_eq!(verifier.cached_roots(), 2);
    // Set 0 was evicted: it costs a signature again.
    verifier.verify(sets[&0][0].clone(), &leader_key()).unwrap();
    assert_eq!(verifier.counts().signature_checks, 4);
    assert_eq!(verifier.cached_roots(), 2);
}

#[test]
fn sets_of_one_slot_must_agree_on_parent_and_version() {
    let sets = by_set(shred(&block_bytes(2 * FULL_SET_BYTES, 8), SLOT));
    let mut second = set_bytes(&sets[&32]);
    for bytes in &mut second {
        edit_header(bytes, |header| header.parent_offset = 2);
    }
    reseal(&mut second, &leader(), SLOT, 32);
    let second = decode_all(&second);
    let mut verifier = ShredVerifier::default();
    let mut verified = |shred: &Shred| verifier.verify(shred.clone(), &leader_key()).unwrap();
    let mut assembler = SlotAssembler::new(SLOT, AssemblerLimits::default());
    assembler.insert(verified(&sets[&0][0])).unwrap();
    assert_eq!(
        assembler.insert(verified(&second[0])),
        Err(AssembleError::ConflictingSlotFields {
            parent_offset: 2,
            version: 0x5eed,
            expected_parent_offset: 1,
            expected_version: 0x5eed
        })
    );
}
