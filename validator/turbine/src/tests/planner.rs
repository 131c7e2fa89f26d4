use std::collections::{BTreeSet, HashMap};

use aether_types::codec::{decode_exact, encode};
use aether_types::shred::ShredKind;
use proptest::prelude::*;

use super::{identity, nodes};
use crate::cluster::ClusterNodes;
use crate::repair::message::{
    RepairRequest, SLOT_SHREDS_PER_REQUEST_MAX, SignedRepairRequest, check_ranges,
};
use crate::repair::planner::{FecSetStatus, RepairPlanner, SlotShredView, requests_for};

/// A slot as a list of sets plus an optional known end.
#[derive(Debug, Clone)]
struct View {
    sets: Vec<FecSetStatus>,
    last: Option<u32>,
}

impl SlotShredView for View {
    fn slot(&self) -> u64 {
        12
    }
    fn fec_sets(&self) -> Vec<FecSetStatus> {
        self.sets.clone()
    }
    fn last_data_index(&self) -> Option<u32> {
        self.last
    }
}

fn set(fec_set_index: u32, data_present: u64, coding_present: u64) -> FecSetStatus {
    FecSetStatus {
        fec_set_index,
        data_count: 32,
        coding_count: 32,
        data_present,
        coding_present,
        recovered: false,
    }
}

fn recovered(fec_set_index: u32) -> FecSetStatus {
    FecSetStatus {
        recovered: true,
        ..set(fec_set_index, 0, 0)
    }
}

/// Every data index the requests ask for (and whether a HighestShred is among them).
fn asked(requests: &[RepairRequest]) -> (Vec<u32>, bool) {
    let mut indexes = Vec::new();
    let mut highest = false;
    for request in requests {
        assert_eq!(request.slot(), 12);
        match request {
            RepairRequest::Shred { kind, index, .. } => {
                assert_eq!(*kind, ShredKind::Data);
                indexes.push(*index);
            }
            RepairRequest::SlotShreds { ranges, .. } => {
                check_ranges(ranges).expect("canonical");
                assert!(request.shreds_wanted() <= u64::from(SLOT_SHREDS_PER_REQUEST_MAX));
                for range in ranges {
                    indexes.extend(range.start..range.start + u32::from(range.count));
                }
            }
            RepairRequest::HighestShred { .. } => highest = true,
            RepairRequest::Orphan { .. } => panic!("the planner never asks for orphans"),
        }
    }
    (indexes, highest)
}

#[test]
fn complete_slot_needs_nothing() {
    let view = View {
        sets: vec![recovered(0), recovered(32), recovered(64)],
        last: Some(95),
    };
    assert!(requests_for(&view, 1024).is_empty());
    // Not recovered yet, but holding 32 of 64: enough to recover, nothing to ask.
    let enough = View {
        sets: vec![set(0, 0xffff, 0xffff)],
        last: Some(31),
    };
    assert!(requests_for(&enough, 1024).is_empty());
}

#[test]
fn incomplete_set_gets_exactly_its_shortfall_of_missing_data_shreds() {
    // 10 data + 10 coding held: 12 short.
    let view = View {
        sets: vec![recovered(0), set(32, 0x3ff, 0x3ff)],
        last: Some(63),
    };
    let (indexes, highest) = asked(&requests_for(&view, 1024));
    assert!(!highest);
    assert_eq!(indexes, (42..54).collect::<Vec<_>>());
}

#[test]
fn unseen_sets_and_unknown_end_are_requested() {
    let view = View {
        sets: vec![recovered(0), recovered(64)],
        last: Some(127),
    };
    let (indexes, highest) = asked(&requests_for(&view, 1024));
    assert!(!highest);
    assert_eq!(indexes, (32..64).chain(96..128).collect::<Vec<_>>());

    let open_ended = View {
        sets: vec![recovered(0)],
        last: None,
    };
    let requests = requests_for(&open_ended, 1024);
    assert_eq!(requests, vec![RepairRequest::HighestShred { slot: 12 }]);

    let nothing_yet = View {
        sets: vec![],
        last: None,
    };
    assert_eq!(
        requests_for(&nothing_yet, 1024),
        vec![RepairRequest::HighestShred { slot: 12 }]
    );
}

#[test]
fn large_gaps_are_cut_into_bounded_requests_and_capped() {
    let view = View {
        sets: vec![],
        last: Some(999),
    };
    let requests = requests_for(&view, 1024);
    let (indexes, _) = asked(&requests);
    assert_eq!(indexes, (0..1000).collect::<Vec<_>>());
    assert_eq!(requests.len(), 1000usize.div_ceil(128));
    let capped = requests_for(&view, 300);
    assert_eq!(asked(&capped).0, (0..300).collect::<Vec<_>>());
    let hostile_end = View {
        sets: vec![],
        last: Some(u32::MAX),
    };
    assert_eq!(asked(&requests_for(&hostile_end, 1024)).0.len(), 1024);
}

#[test]
fn peers_are_stake_weighted_and_never_self() {
    let members = nodes(4, |number| [0u64, 1, 3, 1000][number as usize]);
    let cluster = ClusterNodes::new(&members).unwrap();
    let me = identity(3); // The heaviest node is this node: it must never be chosen.
    let planner = RepairPlanner::new(&cluster, &me);
    let view = View {
        sets: vec![],
        last: Some(3 * 128 - 1),
    };
    let mut chosen: HashMap<_, u32> = HashMap::new();
    for round in 0..400u32 {
        let mut seed = [0u8; 32];
        seed[..4].copy_from_slice(&round.to_le_bytes());
        let plan = planner.plan(&view, &seed);
        assert_eq!(plan.len(), 3);
        for planned in plan {
            *chosen.entry(planned.peer).or_default() += 1;
        }
    }
    assert_eq!(chosen.get(&me), None);
    assert_eq!(chosen.get(&identity(0)), None, "zero stake is never asked");
    let light = chosen[&identity(1)];
    let heavy = chosen[&identity(2)];
    assert_eq!(light + heavy, 1200);
    assert!(
        (200..400).contains(&light),
        "light {light} of 1200, expected ~300"
    );

    // Deterministic per seed, and signable within a packet.
    let seed = [7u8; 32];
    assert_eq!(planner.plan(&view, &seed), planner.plan(&view, &seed));
    let key = aether_crypto::ed25519::Ed25519SecretKey::from_seed(&[5; 32]);
    for planned in planner.plan(&view, &seed) {
        let signed = SignedRepairRequest::sign(&key, planned.peer, 1, 2, planned.request);
        let decoded: SignedRepairRequest = decode_exact(&encode(&signed)).unwrap();
        assert!(decoded.verify_signature().is_ok());
    }

    // Alone: nobody to ask.
    let alone = RepairPlanner::new(&ClusterNodes::new(&members[3..]).unwrap(), &me);
    assert!(alone.plan(&view, &seed).is_empty());
}

fn arbitrary_set() -> impl Strategy<Value = (u16, u16, u64, u64, bool)> {
    (
        1u16..=64,
        1u16..=64,
        any::<u64>(),
        any::<u64>(),
        proptest::bool::weighted(0.2),
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Applying the planned shreds completes every set, with exactly the shortfall asked.
    #[test]
    fn plan_is_sufficient_and_minimal(
        raw in proptest::collection::vec(arbitrary_set(), 0..8),
        end_known in any::<bool>(),
    ) {
        let mut sets = Vec::new();
        let mut next = 0u32;
        for (data_count, coding_count, data_bits, coding_bits, is_recovered) in raw {
            let mask = |count: u16| if count == 64 { u64::MAX } else { (1u64 << count) - 1 };
            sets.push(FecSetStatus {
                fec_set_index: next,
                data_count,
                coding_count,
                data_present: data_bits & mask(data_count),
                coding_present: coding_bits & mask(coding_count),
                recovered: is_recovered,
            });
            next += u32::from(data_count);
        }
        let last = if end_known && next > 0 { Some(next - 1) } else { None };
        let view = View { sets: sets.clone(), last };
        let (indexes, highest) = asked(&requests_for(&view, 1 << 20));
        prop_assert_eq!(highest, last.is_none());
        let unique: BTreeSet<u32> = indexes.iter().copied().collect();
        prop_assert_eq!(unique.len(), indexes.len(), "no shred asked twice");
        let shortfall: u32 = sets.iter().map(FecSetStatus::shreds_needed).sum();
        prop_assert_eq!(indexes.len() as u32, shortfall);
        for set in &sets {
            let mut after = *set;
            for &index in &indexes {
                if (set.fec_set_index..set.fec_set_index + u32::from(set.data_count)).contains(&index) {
                    let bit = 1u64 << (index - set.fec_set_index);
                    prop_assert_eq!(after.data_present & bit, 0, "asked for a held shred");
                    after.data_present |= bit;
                }
            }
            prop_assert_eq!(after.shreds_needed(), 0);
        }
    }
}
