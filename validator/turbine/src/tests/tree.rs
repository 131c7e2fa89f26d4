use std::collections::HashMap;
use std::time::Instant;

use aether_crypto::ed25519::Ed25519PublicKey;
use aether_types::shred::ShredKind;

use super::{builder, identity, nodes};
use crate::cluster::{ClusterNode, ClusterNodes};
use crate::error::ClusterError;
use crate::shuffle::{Fenwick, SeedStream, uniform_below};
use crate::tree::{ShredId, TurbineTree};

fn shred(slot: u64, index: u32) -> ShredId {
    ShredId {
        slot,
        kind: ShredKind::Data,
        index,
    }
}

/// Checks the structural invariants of one tree against the cluster.
fn check_tree(tree: &TurbineTree<'_>, members: &[ClusterNode], leader: &Ed25519PublicKey) {
    let expected: Vec<_> = members
        .iter()
        .map(|node| node.identity)
        .filter(|id| id != leader)
        .collect();
    assert_eq!(
        tree.len(),
        expected.len(),
        "every non-leader node, nothing else"
    );
    let mut seen: HashMap<Ed25519PublicKey, usize> = HashMap::new();
    for id in tree.order() {
        *seen.entry(*id).or_default() += 1;
    }
    for id in &expected {
        assert_eq!(seen.get(id), Some(&1), "node {id} exactly once");
    }
    assert!(tree.position_of(leader).is_none());
    assert!(tree.parent_of(leader).is_none());
    assert!(tree.children_of(leader).is_empty());
    // Every node but the root is the child of exactly one node, and that node is its parent.
    let mut parent_count: HashMap<Ed25519PublicKey, usize> = HashMap::new();
    for id in tree.order() {
        for child in tree.children_of(id) {
            *parent_count.entry(*child).or_default() += 1;
            assert_eq!(tree.parent_of(child), Some(id));
        }
    }
    let root = tree.root().copied();
    for id in tree.order() {
        if Some(*id) == root {
            assert!(
                tree.parent_of(id).is_none(),
                "root receives from the leader"
            );
            assert_eq!(parent_count.get(id), None);
        } else {
            assert_eq!(parent_count.get(id), Some(&1), "{id} has one parent");
            assert!(tree.parent_of(id).is_some());
        }
        assert_eq!(tree.retransmit_peers(id), tree.children_of(id));
    }
}

fn ceil_log(n: usize, base: usize) -> usize {
    let mut levels = 0;
    let mut reach = 1usize;
    while reach < n {
        reach = reach.saturating_mul(base);
        levels += 1;
    }
    levels
}

#[test]
fn tree_covers_every_non_leader_once_with_one_parent_each() {
    for count in [1u32, 2, 3, 5, 33, 200, 1001] {
        let members = nodes(count, |number| u64::from(number % 7) * 1000);
        for fanout in [1usize, 2, 3, 8, 200] {
            let trees = builder(&members, fanout);
            // Leader inside the cluster, and an outsider leader.
            for leader in [members[0].identity, identity(u32::MAX)] {
                for index in 0..3 {
                    let tree = trees.tree(&shred(7, index), &leader);
                    check_tree(&tree, &members, &leader);
                }
            }
        }
    }
}

#[test]
fn tree_depth_is_within_ceil_log_fanout() {
    for count in [1u32, 2, 10, 100, 1000, 3000] {
        let members = nodes(count, |number| 1 + u64::from(number));
        for fanout in [2usize, 3, 4, 16, 200] {
            let leader = identity(u32::MAX);
            let trees = builder(&members, fanout);
            let tree = trees.tree(&shred(1, 0), &leader);
            let bound = ceil_log(count as usize, fanout);
            assert!(
                tree.depth() <= bound,
                "n {count} fanout {fanout}: depth {} > {bound}",
                tree.depth()
            );
            // A complete tree: one level less could not hold n nodes.
            let below: usize = (0..tree.depth())
                .map(|level| fanout.pow(level as u32))
                .sum();
            assert!(below < count as usize);
        }
        let chain_trees = builder(&members, 1);
        let chain = chain_trees.tree(&shred(1, 0), &identity(u32::MAX));
        assert_eq!(chain.depth(), count as usize - 1);
    }
}

#[test]
fn tree_is_deterministic_and_independent_of_input_order() {
    let members = nodes(300, |number| u64::from(number % 5) * 10);
    let mut reversed = members.clone();
    reversed.reverse();
    let leader = members[3].identity;
    let first = builder(&members, 8);
    let second = builder(&reversed, 8);
    for index in 0..20 {
        let id = shred(42, index);
        assert_eq!(
            first.tree(&id, &leader).order(),
            second.tree(&id, &leader).order()
        );
    }
    // Every seed input changes the order.
    let base = first.tree(&shred(42, 0), &leader).order().to_vec();
    let coding = ShredId {
        kind: ShredKind::Coding,
        ..shred(42, 0)
    };
    assert_ne!(first.tree(&coding, &leader).order(), base.as_slice());
    assert_ne!(first.tree(&shred(42, 1), &leader).order(), base.as_slice());
    assert_ne!(first.tree(&shred(43, 0), &leader).order(), base.as_slice());
    let other_leader = members[4].identity;
    let other = first.tree(&shred(42, 0), &other_leader);
    assert_ne!(other.order()[..10], base[..10]);
}

#[test]
fn heavier_nodes_are_root_proportionally_more_often() {
    // Stakes 100, 200, 300, 400 plus a staked leader that must never appear.
    let mut members = nodes(4, |number| 100 * (1 + u64::from(number)));
    members.push(ClusterNode {
        identity: identity(99),
        stake: 10_000,
    });
    let leader = identity(99);
    let trees = builder(&members, 2);
    let rounds = 20_000u32;
    let mut root_count = [0u32; 4];
    for index in 0..rounds {
        let tree = trees.tree(&shred(5, index), &leader);
        let root = tree.root().expect("non-empty");
        let number = (0..4).find(|&n| identity(n) == *root).expect("a member");
        root_count[number as usize] += 1;
    }
    for (number, &count) in root_count.iter().enumerate() {
        let expected = (number as f64 + 1.0) / 10.0;
        let share = f64::from(count) / f64::from(rounds);
        assert!(
            (share - expected).abs() < 0.02,
            "node {number}: root share {share:.3}, expected {expected:.3}"
        );
    }
    assert!(root_count.windows(2).all(|pair| pair[0] < pair[1]));
}

#[test]
fn zero_stake_nodes_come_after_staked_ones_in_seeded_order() {
    let members = nodes(40, |number| if number < 10 { 5 } else { 0 });
    let trees = builder(&members, 4);
    let leader = identity(u32::MAX);
    let mut tails = Vec::new();
    for index in 0..10 {
        let tree = trees.tree(&shred(9, index), &leader);
        let stake_at =
            |id: &Ed25519PublicKey| members.iter().find(|n| n.identity == *id).unwrap().stake;
        assert!(tree.order()[..10].iter().all(|id| stake_at(id) == 5));
        assert!(tree.order()[10..].iter().all(|id| stake_at(id) == 0));
        tails.push(tree.order()[10..].to_vec());
    }
    tails.sort();
    tails.dedup();
    assert!(tails.len() > 1, "the seed orders equal (zero) stakes");
}

#[test]
fn cluster_rejects_duplicates() {
    let mut members = nodes(3, |_| 1);
    members.push(members[1]);
    assert!(matches!(
        ClusterNodes::new(&members),
        Err(ClusterError::DuplicateIdentity { .. })
    ));
}

#[test]
fn fenwick_find_matches_a_linear_scan() {
    let weights: Vec<u64> = (0..37).map(|i| (i * 7919 % 13) as u64).collect();
    let mut tree = Fenwick::new(weights.iter().copied());
    let mut live = weights.clone();
    let mut stream = SeedStream::new(&[b"fenwick test"]);
    while tree.total() > 0 {
        let target = uniform_below(&mut stream, tree.total());
        let mut prefix = 0u128;
        let expected = live
            .iter()
            .position(|&w| {
                prefix += u128::from(w);
                prefix > target
            })
            .unwrap();
        assert_eq!(tree.find(target), expected);
        tree.subtract(expected, u128::from(live[expected]));
        live[expected] = 0;
    }
    assert!(live.iter().all(|&w| w == 0));
}

/// Smoke size of the per-shred cost; prints the time so regressions are visible.
#[test]
fn tree_cost_smoke() {
    let members = nodes(2000, |number| 1 + u64::from(number) * 1000);
    let trees = builder(&members, 200);
    let leader = members[0].identity;
    let rounds = 20;
    let start = Instant::now();
    for index in 0..rounds {
        let tree = trees.tree(&shred(3, index), &leader);
        assert_eq!(tree.len(), 1999);
        assert_eq!(tree.depth(), 2);
    }
    let per_tree = start.elapsed() / rounds;
    let start = Instant::now();
    let mut sends = 0;
    for index in 0..rounds {
        for node in &members[1..] {
            sends += trees
                .retransmit_peers(&shred(3, index), &leader, &node.identity)
                .expect("member")
                .len();
        }
    }
    assert_eq!(
        sends,
        1998 * rounds as usize,
        "every node but the root has one parent"
    );
    let per_node = start.elapsed() / (rounds * 1999);
    println!(
        "2000 nodes, fanout 200 (test profile): full tree {per_tree:?} per shred; \
         retransmit_peers {per_node:?} per node per shred"
    );
}

/// The early-stopping peer computation agrees with the full tree for every node.
#[test]
fn fast_retransmit_peers_match_the_full_tree() {
    for (count, fanout) in [
        (1u32, 2usize),
        (2, 1),
        (7, 2),
        (64, 3),
        (300, 8),
        (300, 200),
        (50, 1),
    ] {
        let members = nodes(count, |number| {
            if number % 4 == 0 {
                0
            } else {
                u64::from(number)
            }
        });
        let trees = builder(&members, fanout);
        for leader in [members[0].identity, identity(u32::MAX)] {
            for index in 0..4 {
                let id = shred(11, index);
                let tree = trees.tree(&id, &leader);
                for node in &members {
                    let fast = trees.retransmit_peers(&id, &leader, &node.identity);
                    if node.identity == leader {
                        assert_eq!(fast, None);
                    } else {
                        assert_eq!(fast.as_deref(), Some(tree.retransmit_peers(&node.identity)));
                    }
                }
                assert_eq!(
                    trees.retransmit_peers(&id, &leader, &identity(u32::MAX - 1)),
                    None
                );
            }
        }
    }
}
