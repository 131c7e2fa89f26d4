use aether_types::{BLOCK_HEADER_VERSION, OperationalCertificate};
use proptest::prelude::*;

use super::*;
use crate::testing::{validator_keys, validator_set};

fn schedule(stakes: &[u64], run: u64) -> LeaderSchedule {
    LeaderSchedule::new(
        validator_set(1, stakes),
        EpochSchedule::new(1000, run),
        Hash([3; 32]),
    )
}

fn header(slot: u64, leader: u32, vrf_proof: [u8; 80]) -> BlockHeader {
    BlockHeader {
        version: BLOCK_HEADER_VERSION,
        slot,
        parent_slot: slot - 1,
        parent_hash: Hash::ZERO,
        leader: ValidatorIndex(leader),
        transactions_root: Hash::ZERO,
        state_root: Hash::ZERO,
        transaction_count: 0,
        vrf_proof,
        kes_period: 0,
        operational_certificate: OperationalCertificate {
            kes_public_key: [0; 32],
            counter: 0,
            start_period: 0,
            cold_signature: [0; 64],
        },
    }
}

#[test]
fn schedule_is_deterministic_and_runs_are_respected() {
    let first = schedule(&[1, 2, 3, 4], 4);
    let second = schedule(&[1, 2, 3, 4], 4);
    let leaders: Vec<_> = (0..400).map(|slot| first.leader(slot).unwrap()).collect();
    assert_eq!(
        leaders,
        (0..400)
            .map(|slot| second.leader(slot).unwrap())
            .collect::<Vec<_>>()
    );
    for run in leaders.chunks(4) {
        assert!(run.iter().all(|leader| *leader == run[0]));
    }
    // Another nonce gives another schedule.
    let other = LeaderSchedule::new(
        first.validators().clone(),
        EpochSchedule::new(1000, 4),
        Hash([4; 32]),
    );
    assert!((0..400).any(|slot| other.leader(slot) != first.leader(slot)));
    // Epoch 2's nonce is not final-known until a block of epoch 1 is final.
    assert_eq!(first.leader(2000), None);
}

#[test]
fn zero_stake_validators_never_lead() {
    let schedule = schedule(&[0, 5, 0, 1, 0], 1);
    for slot in 0..2000 {
        let leader = schedule.leader(slot).unwrap();
        assert!(leader == ValidatorIndex(1) || leader == ValidatorIndex(3));
    }
}

#[test]
fn header_vrf_is_checked_against_the_leader_key() {
    let schedule = schedule(&[1, 1, 1, 1], 1);
    let slot = 17;
    let leader = schedule.leader(slot).unwrap();
    let (_, vrf_key) = validator_keys(1, leader.0 as usize);
    let nonce = *schedule.nonce_for_slot(slot).unwrap();
    let proof = vrf_key.prove(&vrf_input(&nonce, slot));
    let good = header(slot, leader.0, proof.0);
    let output = schedule.verify_header_vrf(&good, &nonce).unwrap();
    assert_eq!(output, vrf::proof_to_hash(&proof).unwrap());

    // The proof for another slot does not verify.
    let wrong_slot = vrf_key.prove(&vrf_input(&nonce, slot + 1000 * 5));
    assert!(matches!(
        schedule.verify_header_vrf(&header(slot, leader.0, wrong_slot.0), &nonce),
        Err(LeaderError::Vrf(_))
    ));
    // Another validator claiming the slot is refused before any VRF work.
    let impostor = (leader.0 + 1) % 4;
    assert!(matches!(
        schedule.verify_header_vrf(&header(slot, impostor, proof.0), &nonce),
        Err(LeaderError::WrongLeader { .. })
    ));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    /// Over many runs each validator's share of leader slots is close to its stake share.
    #[test]
    fn leader_share_tracks_stake_share(
        stakes in proptest::collection::vec(0u64..1_000, 2..8),
        nonce in any::<[u8; 32]>(),
    ) {
        prop_assume!(stakes.iter().sum::<u64>() > 0);
        let set = validator_set(2, &stakes);
        let total = set.total_stake() as f64;
        let samples = 20_000u64;
        let mut counts = vec![0u64; stakes.len()];
        for run in 0..samples {
            let point = stake_point(&Hash(nonce), run, set.total_stake());
            counts[set.by_stake_point(point).0 as usize] += 1;
        }
        for (index, &stake) in stakes.iter().enumerate() {
            let expected = stake as f64 / total;
            let observed = counts[index] as f64 / samples as f64;
            // Binomial standard deviation is at most 0.0036 here; allow 5 of them.
            prop_assert!((observed - expected).abs() < 0.018,
                "validator {index}: stake share {expected:.4}, leader share {observed:.4}");
            if stake == 0 {
                prop_assert_eq!(counts[index], 0);
            }
        }
    }
}

#[test]
fn stake_point_is_the_documented_key_derivation() {
    for (nonce, run, total) in [
        ([1u8; 32], 0u64, 1u64),
        ([9; 32], 77, 400),
        ([0xfe; 32], u64::MAX, u64::MAX),
    ] {
        let mut hasher = blake3::Hasher::new_derive_key(SAMPLE_CONTEXT);
        hasher.update(&nonce);
        hasher.update(&run.to_le_bytes());
        let x = u128::from_le_bytes(hasher.finalize().as_bytes()[..16].try_into().unwrap());
        // (x · total) >> 128, computed the slow way.
        let (high, low) = (x >> 64, x & u128::from(u64::MAX));
        let total = u128::from(total);
        let expected = ((high * total + ((low * total) >> 64)) >> 64) as u64;
        assert_eq!(stake_point(&Hash(nonce), run, total as u64), expected);
    }
}
