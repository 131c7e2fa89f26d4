//! Unit and property tests (one binary).

mod planner;
mod repair_codec;
mod repair_server;
mod retransmit;
mod tree;

use std::num::NonZeroUsize;

use aether_crypto::ed25519::Ed25519PublicKey;

use crate::cluster::{ClusterNode, ClusterNodes};
use crate::tree::TreeBuilder;

/// A made-up identity (trees never verify signatures, so any 32 bytes will do).
fn identity(number: u32) -> Ed25519PublicKey {
    Ed25519PublicKey(*blake3::hash(&number.to_le_bytes()).as_bytes())
}

/// Nodes `0..count` with `stake(i)`.
fn nodes(count: u32, stake: impl Fn(u32) -> u64) -> Vec<ClusterNode> {
    (0..count)
        .map(|number| ClusterNode {
            identity: identity(number),
            stake: stake(number),
        })
        .collect()
}

fn builder(nodes: &[ClusterNode], fanout: usize) -> TreeBuilder {
    TreeBuilder::new(
        ClusterNodes::new(nodes).expect("valid cluster"),
        NonZeroUsize::new(fanout).expect("fanout >= 1"),
    )
}
