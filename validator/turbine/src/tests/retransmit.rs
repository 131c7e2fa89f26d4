use std::collections::{HashMap, VecDeque};

use aether_types::shred::{ShredFlags, ShredHeader, ShredKind};

use super::{builder, identity, nodes};
use crate::retransmit::{RetransmitConfig, RetransmitDecision, RetransmitDrop, Retransmitter};
use crate::tree::ShredId;

fn header(slot: u64, kind: ShredKind, index: u32) -> ShredHeader {
    ShredHeader {
        slot,
        parent_offset: 1,
        fec_set_index: index / 32 * 32,
        index,
        kind,
        data_count: 32,
        coding_count: 32,
        position_in_set: (index % 32) as u16,
        payload_size: 0,
        flags: ShredFlags::NONE,
        version: 0,
    }
}

#[test]
fn first_sight_forwards_to_children_and_repeats_are_counted_duplicates() {
    let members = nodes(50, |number| 1 + u64::from(number));
    let trees = builder(&members, 3);
    let leader = members[0].identity;
    let header = header(10, ShredKind::Data, 5);
    let id = ShredId {
        slot: 10,
        kind: ShredKind::Data,
        index: 5,
    };
    let tree = trees.tree(&id, &leader);
    let me = *tree.root().unwrap();
    let mut node = Retransmitter::new(me, RetransmitConfig::default());
    let first = node.on_shred(&header, &leader, &trees);
    assert_eq!(
        first,
        RetransmitDecision::Forward(tree.children_of(&me).to_vec())
    );
    assert_eq!(tree.children_of(&me).len(), 3);
    for _ in 0..3 {
        assert_eq!(
            node.on_shred(&header, &leader, &trees),
            RetransmitDecision::Drop(RetransmitDrop::Duplicate)
        );
    }
    // Same index, other kind: a different shred.
    let coding = self::header(10, ShredKind::Coding, 5);
    assert!(matches!(
        node.on_shred(&coding, &leader, &trees),
        RetransmitDecision::Forward(_)
    ));
    let counts = node.counts();
    assert_eq!(counts.drop_count(RetransmitDrop::Duplicate), 3);
    assert_eq!(counts.forwarded + counts.leaf, 2);
    assert_eq!(
        counts.peer_sends,
        3 + node_children(&trees, &leader, &me, ShredKind::Coding)
    );
}

fn node_children(
    trees: &crate::tree::TreeBuilder,
    leader: &aether_crypto::ed25519::Ed25519PublicKey,
    me: &aether_crypto::ed25519::Ed25519PublicKey,
    kind: ShredKind,
) -> u64 {
    let id = ShredId {
        slot: 10,
        kind,
        index: 5,
    };
    trees.tree(&id, leader).children_of(me).len() as u64
}

#[test]
fn forgotten_slots_are_too_old_never_forwarded_again() {
    let members = nodes(10, |_| 1);
    let trees = builder(&members, 2);
    let leader = members[0].identity;
    let me = members[1].identity;
    let config = RetransmitConfig {
        slots_max: 2,
        ..RetransmitConfig::default()
    };
    let mut node = Retransmitter::new(me, config);
    for slot in [10, 11, 12] {
        assert!(matches!(
            node.on_shred(&header(slot, ShredKind::Data, 0), &leader, &trees),
            RetransmitDecision::Forward(_)
        ));
        assert!(node.slots_tracked() <= 2);
    }
    // Slot 10 was evicted: its shreds, old or new, are refused.
    for index in [0, 1] {
        assert_eq!(
            node.on_shred(&header(10, ShredKind::Data, index), &leader, &trees),
            RetransmitDecision::Drop(RetransmitDrop::TooOld)
        );
    }
    assert_eq!(
        node.on_shred(&header(3, ShredKind::Data, 0), &leader, &trees),
        RetransmitDecision::Drop(RetransmitDrop::TooOld)
    );
    // Still remembered.
    assert_eq!(
        node.on_shred(&header(12, ShredKind::Data, 0), &leader, &trees),
        RetransmitDecision::Drop(RetransmitDrop::Duplicate)
    );
    node.set_floor(12);
    assert_eq!(node.slots_tracked(), 1);
    assert_eq!(
        node.on_shred(&header(11, ShredKind::Data, 1), &leader, &trees),
        RetransmitDecision::Drop(RetransmitDrop::TooOld)
    );
    assert_eq!(node.counts().drop_count(RetransmitDrop::TooOld), 4);
}

#[test]
fn leader_outsider_and_out_of_range_are_dropped() {
    let members = nodes(10, |_| 1);
    let trees = builder(&members, 2);
    let leader = members[0].identity;
    let mut as_leader = Retransmitter::new(leader, RetransmitConfig::default());
    assert_eq!(
        as_leader.on_shred(&header(1, ShredKind::Data, 0), &leader, &trees),
        RetransmitDecision::Drop(RetransmitDrop::NotInTree)
    );
    let mut outsider = Retransmitter::new(identity(5000), RetransmitConfig::default());
    assert_eq!(
        outsider.on_shred(&header(1, ShredKind::Data, 0), &leader, &trees),
        RetransmitDecision::Drop(RetransmitDrop::NotInTree)
    );
    let mut member = Retransmitter::new(members[2].identity, RetransmitConfig::default());
    assert_eq!(
        member.on_shred(&header(1, ShredKind::Data, 40_000), &leader, &trees),
        RetransmitDecision::Drop(RetransmitDrop::IndexOutOfRange)
    );
    let labels: Vec<_> = RetransmitDrop::ALL.iter().map(|d| d.label()).collect();
    let mut unique = labels.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(labels.len(), unique.len());
}

/// The whole cluster, each node with its own retransmitter, every shred duplicated on
/// the wire: each node receives every shred and forwards it exactly once.
#[test]
fn cluster_simulation_delivers_every_shred_to_every_node_once() {
    let members = nodes(120, |number| u64::from(number % 9) * 7);
    let trees = builder(&members, 4);
    let leader = members[5].identity;
    let mut retransmitters: HashMap<_, _> = members
        .iter()
        .filter(|node| node.identity != leader)
        .map(|node| {
            (
                node.identity,
                Retransmitter::new(node.identity, RetransmitConfig::default()),
            )
        })
        .collect();
    let mut received: HashMap<_, u32> = HashMap::new();
    for index in 0..16 {
        let kind = if index % 2 == 0 {
            ShredKind::Data
        } else {
            ShredKind::Coding
        };
        let shred = header(77, kind, index);
        let id = ShredId {
            slot: 77,
            kind,
            index,
        };
        let root = *trees.tree(&id, &leader).root().unwrap();
        let mut queue = VecDeque::from([root, root]); // the leader sends twice
        while let Some(to) = queue.pop_front() {
            let node = retransmitters.get_mut(&to).unwrap();
            if let RetransmitDecision::Forward(peers) = node.on_shred(&shred, &leader, &trees) {
                *received.entry(to).or_default() += 1;
                queue.extend(peers);
            }
        }
    }
    assert_eq!(received.len(), 119);
    assert!(received.values().all(|&count| count == 16));
    let duplicates: u64 = retransmitters
        .values()
        .map(|r| r.counts().drop_count(RetransmitDrop::Duplicate))
        .sum();
    assert_eq!(duplicates, 16);
}
