use proptest::prelude::*;

use super::*;

const GENESIS: Hash = Hash([9; 32]);

fn output(slot: u64) -> VrfOutput {
    let mut bytes = [0u8; 64];
    bytes[..8].copy_from_slice(&slot.to_le_bytes());
    bytes[8] = 0xa5;
    VrfOutput(bytes)
}

/// The rule written out directly: every nonce from genesis over the whole chain.
fn reference_nonce(epochs: EpochSchedule, chain: &[(u64, VrfOutput)], epoch: u64) -> Hash {
    let mut nonce = GENESIS;
    for next in 2..=epoch {
        let start = epochs.first_slot(next - 2);
        let end = epochs.first_slot(next - 1);
        let outputs: Vec<VrfOutput> = chain
            .iter()
            .filter(|(slot, _)| (start..end).contains(slot))
            .map(|(_, output)| *output)
            .collect();
        nonce = next_epoch_nonce(&nonce, &outputs);
    }
    nonce
}

/// A chain of blocks at increasing slots with gaps (empty epochs included).
fn chain_strategy() -> impl Strategy<Value = Vec<(u64, VrfOutput)>> {
    proptest::collection::vec(1u64..9, 1..40).prop_map(|gaps| {
        let mut slot = 0;
        gaps.into_iter()
            .map(|gap| {
                slot += gap;
                (slot, output(slot))
            })
            .collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Wherever the final chain ends, and however its outputs arrive, the nonces
    /// (final ones and those along the un-final rest) are the rule's nonces.
    #[test]
    fn nonces_follow_the_rule_wherever_finality_stands(
        chain in chain_strategy(),
        slots_per_epoch in 2u64..7,
        final_fraction in 0.0f64..1.0,
        batch in 1usize..5,
    ) {
        let epochs = EpochSchedule::new(slots_per_epoch, 1);
        let final_count = ((chain.len() as f64) * final_fraction) as usize;
        let (final_part, above) = chain.split_at(final_count);
        let mut nonces = EpochNonces::new(epochs, GENESIS);
        for blocks in final_part.chunks(batch) {
            let last = blocks.last().expect("chunks are not empty").0;
            nonces.record_final(blocks.iter().copied(), last);
        }
        let final_slot = final_part.last().map_or(0, |(slot, _)| *slot);
        let final_epoch = epochs.epoch_of(final_slot);
        for epoch in final_epoch..=final_epoch + 1 {
            prop_assert_eq!(
                nonces.final_nonce(epoch).copied(),
                Some(reference_nonce(epochs, &chain, epoch))
            );
        }
        let tip = chain.last().expect("not empty").0;
        for epoch in final_epoch..=epochs.epoch_of(tip) + 3 {
            prop_assert_eq!(
                nonces.on_chain(epoch, above),
                Some(reference_nonce(epochs, &chain, epoch)),
                "epoch {}", epoch
            );
        }
    }

    /// A node that resumes from what it logged (the kept nonces and outputs) derives
    /// the same nonces as one that never stopped.
    #[test]
    fn a_resumed_node_derives_what_a_running_one_does(
        chain in chain_strategy(),
        slots_per_epoch in 2u64..7,
        stop_fraction in 0.0f64..1.0,
    ) {
        let epochs = EpochSchedule::new(slots_per_epoch, 1);
        let stop = ((chain.len() as f64) * stop_fraction) as usize;
        let mut running = EpochNonces::new(epochs, GENESIS);
        for block in &chain[..stop] {
            running.record_final([*block], block.0);
        }
        let mut resumed = EpochNonces::new(epochs, GENESIS);
        // The log holds every nonce derived so far: derivation goes on after the
        // newest.
        let newest_logged = *running.known().keys().last().expect("genesis nonces");
        for (epoch, nonce) in running.known() {
            resumed.insert(*epoch, *nonce);
        }
        resumed.derive_from(newest_logged + 1);
        let stop_slot = chain[..stop].last().map_or(0, |(slot, _)| *slot);
        resumed.record_final(running.final_outputs().clone(), stop_slot);
        for block in &chain[stop..] {
            running.record_final([*block], block.0);
            resumed.record_final([*block], block.0);
        }
        let tip = chain.last().expect("not empty").0;
        for epoch in epochs.epoch_of(tip)..=epochs.epoch_of(tip) + 2 {
            prop_assert_eq!(resumed.on_chain(epoch, &[]), running.on_chain(epoch, &[]));
            prop_assert_eq!(
                resumed.on_chain(epoch, &[]),
                Some(reference_nonce(epochs, &chain, epoch))
            );
        }
    }
}

#[test]
fn epochs_without_a_final_block_still_have_nonces() {
    // Epoch length 3; final at slot 4 (epoch 1); then nothing is final for epochs on
    // end, and the chain goes on with blocks far apart.
    let epochs = EpochSchedule::new(3, 1);
    let mut nonces = EpochNonces::new(epochs, GENESIS);
    nonces.record_final([(1, output(1)), (4, output(4))], 4);
    assert_eq!(nonces.final_nonce(3), None, "final only through epoch 1");
    let above = [(5, output(5)), (13, output(13)), (30, output(30))];
    let mut chain = vec![(1, output(1)), (4, output(4))];
    chain.extend(above);
    for epoch in 2..15 {
        assert_eq!(
            nonces.on_chain(epoch, &above),
            Some(reference_nonce(epochs, &chain, epoch))
        );
    }
    // A fork that shares slot 5 and differs in epoch 2 (slots 6-8) has the same
    // nonces through epoch 3 and others from epoch 2 + 2 = 4 on.
    let fork = [(5, output(5)), (7, output(7))];
    assert_eq!(nonces.on_chain(3, &fork), nonces.on_chain(3, &above));
    assert_ne!(nonces.on_chain(4, &fork), nonces.on_chain(4, &above));
}

#[test]
fn nonces_are_bounded_past_the_final_chain_and_below_the_kept_ones() {
    let epochs = EpochSchedule::new(2, 1);
    let mut nonces = EpochNonces::new(epochs, GENESIS);
    for slot in 1..=40 {
        nonces.record_final([(slot, output(slot))], slot);
    }
    let newest = *nonces.known().keys().last().unwrap();
    assert_eq!(newest, 21);
    assert!(
        nonces
            .on_chain(newest + CHAIN_NONCE_EPOCHS_MAX, &[])
            .is_some()
    );
    assert_eq!(
        nonces.on_chain(newest + CHAIN_NONCE_EPOCHS_MAX + 1, &[]),
        None
    );
    // Old epochs are pruned: their nonces are not guessed.
    assert_eq!(nonces.on_chain(3, &[]), None);
    assert!(nonces.final_outputs().keys().all(|slot| *slot >= 36));
}
