//! Property tests: any `data_count` of a set's shreds rebuild the block byte for byte;
//! fewer cannot; any flipped bit is rejected; decoding never panics.

mod common;

use aether_shred::{
    AssemblerLimits, InsertOutcome, Shred, ShredDecodeError, ShredVerifier, SlotAssembler,
    VerifyError,
};
use common::{Rng, SLOT, assemble, block_bytes, by_set, leader_key, shred};
use proptest::prelude::*;

const FULL_SET_BYTES: usize = 32 * 880;

fn block_len() -> impl Strategy<Value = usize> {
    prop_oneof![
        Just(0),
        Just(1),
        Just(879),
        Just(880),
        Just(881),
        Just(FULL_SET_BYTES),
        Just(FULL_SET_BYTES + 1),
        Just(3 * FULL_SET_BYTES),
        1..4 * 880usize,
        0..200_000usize,
    ]
}

/// Exactly `data_count` shreds of every set, chosen at random, in a random global order.
fn any_quorum(shreds: Vec<Shred>, rng: &mut Rng, short_set: Option<usize>) -> Vec<Shred> {
    let mut chosen = Vec::new();
    for (set_number, (_, mut set)) in by_set(shreds).into_iter().enumerate() {
        rng.shuffle(&mut set);
        let mut keep = usize::from(set[0].header().data_count);
        if short_set == Some(set_number) {
            keep -= 1;
        }
        set.truncate(keep);
        chosen.extend(set);
    }
    rng.shuffle(&mut chosen);
    chosen
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn any_half_of_every_set_rebuilds_the_block(len in block_len(), seed in any::<u64>()) {
        let block = block_bytes(len, seed);
        let shreds = shred(&block, SLOT);
        let set_count = by_set(shreds.clone()).len();
        prop_assert_eq!(set_count, len.saturating_sub(1) / FULL_SET_BYTES + 1);
        for shred in &shreds {
            prop_assert!(shred.as_bytes().len() <= aether_types::SHRED_BYTES_MAX);
            prop_assert_eq!(&Shred::decode(shred.as_bytes()).unwrap(), shred);
        }
        let chosen = any_quorum(shreds, &mut Rng(seed), None);
        let mut verifier = ShredVerifier::default();
        let mut assembler = SlotAssembler::new(SLOT, AssemblerLimits::default());
        let mut rebuilt = None;
        let count = chosen.len();
        for (i, shred) in chosen.into_iter().enumerate() {
            let outcome = assembler.insert(verifier.verify(shred, &leader_key()).unwrap()).unwrap();
            if let InsertOutcome::BlockComplete(bytes) = outcome {
                prop_assert_eq!(i + 1, count);
                rebuilt = Some(bytes);
            }
        }
        prop_assert!(rebuilt.as_deref() == Some(block.as_slice()), "block not rebuilt byte for byte");
        // One signature verification per set; every other shred hit the cache.
        prop_assert_eq!(verifier.counts().signature_checks, set_count as u64);
    }

    #[test]
    fn one_shred_short_in_any_set_cannot_rebuild(len in block_len(), seed in any::<u64>()) {
        let block = block_bytes(len, seed);
        let shreds = shred(&block, SLOT);
        let set_count = by_set(shreds.clone()).len();
        let mut rng = Rng(seed);
        let short_set = rng.below(set_count);
        let chosen = any_quorum(shreds, &mut rng, Some(short_set));
        prop_assert_eq!(assemble(chosen, SLOT).unwrap(), None);
    }

    #[test]
    fn a_flipped_bit_anywhere_is_rejected(len in 0..3 * FULL_SET_BYTES, seed in any::<u64>()) {
        let shreds = shred(&block_bytes(len, seed), SLOT);
        let mut rng = Rng(seed);
        let original = &shreds[rng.below(shreds.len())];
        let mut bytes = original.as_bytes().to_vec();
        let bit = rng.below(bytes.len() * 8);
        bytes[bit / 8] ^= 1 << (bit % 8);
        let signature_start = bytes.len() - 64;
        // A verifier that has already cached this set's signature must reject it too.
        let mut verifier = ShredVerifier::default();
        verifier.verify(original.clone(), &leader_key()).unwrap();
        match Shred::decode(&bytes) {
            Err(error) => {
                // Only the header or a data shred's padding can fail to decode.
                prop_assert!(
                    bit / 8 < 30 || matches!(error, ShredDecodeError::NonZeroPadding { .. }),
                    "unexpected decode error {error:?} at bit {bit}"
                );
            }
            Ok(flipped) => {
                let error = verifier.verify(flipped, &leader_key()).unwrap_err();
                if bit / 8 >= signature_start {
                    prop_assert!(matches!(error, VerifyError::SignatureInvalid { .. }), "{error:?}");
                } else {
                    prop_assert!(matches!(error, VerifyError::MerkleProofMismatch { .. }), "{error:?}");
                }
            }
        }
    }

    #[test]
    fn decode_never_panics_on_random_bytes(bytes in prop::collection::vec(any::<u8>(), 0..1400)) {
        let _ = Shred::decode(&bytes);
    }

    #[test]
    fn a_mutated_shred_never_passes(
        seed in any::<u64>(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        cut in prop_oneof![Just(None), any::<prop::sample::Index>().prop_map(Some)],
        extra in prop::collection::vec(any::<u8>(), 0..4),
    ) {
        let shreds = shred(&block_bytes(2 * FULL_SET_BYTES, seed), SLOT);
        let original = &shreds[Rng(seed).below(shreds.len())];
        let mut bytes = original.as_bytes().to_vec();
        for (index, value) in edits {
            let at = index.index(bytes.len());
            bytes[at] = value;
        }
        if let Some(cut) = cut {
            bytes.truncate(cut.index(bytes.len()));
        }
        bytes.extend_from_slice(&extra);
        if let Ok(decoded) = Shred::decode(&bytes) {
            let verdict = ShredVerifier::default().verify(decoded, &leader_key());
            prop_assert_eq!(verdict.is_ok(), bytes == original.as_bytes());
        }
    }
}
