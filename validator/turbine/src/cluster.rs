//! The cluster as Turbine sees it: identities and stakes, in one canonical order.
//!
//! [`ClusterNodes::new`] sorts the nodes once by (stake descending, identity ascending),
//! so nothing downstream depends on the order the caller listed them in, and keeps an
//! identity → index map for O(1) look-ups. Trees ([`crate::tree`]) and repair peer
//! choice ([`crate::repair`]) are computed from this canonical form.

use std::collections::HashMap;

use aether_crypto::ed25519::Ed25519PublicKey;

use crate::error::ClusterError;

/// Most nodes in one cluster. Keeps every stake sum far inside `u128` and every
/// position inside `u32`.
pub const CLUSTER_NODES_MAX: usize = 1 << 16;

const _: () = assert!((CLUSTER_NODES_MAX as u128) * (u64::MAX as u128) < u128::MAX);
const _: () = assert!(CLUSTER_NODES_MAX <= u32::MAX as usize);

/// One node: its identity public key and its stake.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClusterNode {
    /// The node's identity (Ed25519 public key).
    pub identity: Ed25519PublicKey,
    /// The node's stake (any unit; only ratios matter). Zero is allowed.
    pub stake: u64,
}

/// The cluster's nodes in canonical order: stake descending, then identity ascending.
#[derive(Debug, Clone)]
pub struct ClusterNodes {
    nodes: Vec<ClusterNode>,
    index_by_identity: HashMap<Ed25519PublicKey, u32>,
    /// Nodes with stake > 0 (they come first in canonical order).
    staked_count: usize,
    stake_total: u128,
}

impl ClusterNodes {
    /// The cluster of `nodes`, each identity at most once, at most
    /// [`CLUSTER_NODES_MAX`] nodes.
    pub fn new(nodes: &[ClusterNode]) -> Result<ClusterNodes, ClusterError> {
        if nodes.len() > CLUSTER_NODES_MAX {
            return Err(ClusterError::TooManyNodes {
                count: nodes.len(),
                max: CLUSTER_NODES_MAX,
            });
        }
        let mut sorted = nodes.to_vec();
        sorted.sort_unstable_by(|a, b| b.stake.cmp(&a.stake).then(a.identity.cmp(&b.identity)));
        let mut index_by_identity = HashMap::with_capacity(sorted.len());
        for (index, node) in sorted.iter().enumerate() {
            let index = u32::try_from(index).expect("bounded by CLUSTER_NODES_MAX");
            if index_by_identity.insert(node.identity, index).is_some() {
                return Err(ClusterError::DuplicateIdentity {
                    identity: node.identity,
                });
            }
        }
        let staked_count = sorted.partition_point(|node| node.stake > 0);
        let stake_total = sorted.iter().map(|node| u128::from(node.stake)).sum();
        let cluster = ClusterNodes {
            nodes: sorted,
            index_by_identity,
            staked_count,
            stake_total,
        };
        assert_eq!(cluster.index_by_identity.len(), cluster.nodes.len());
        Ok(cluster)
    }

    /// Nodes in canonical order.
    pub fn nodes(&self) -> &[ClusterNode] {
        &self.nodes
    }

    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// True when the cluster has no nodes.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// Canonical index of `identity`, if it is a member.
    pub fn index_of(&self, identity: &Ed25519PublicKey) -> Option<usize> {
        self.index_by_identity
            .get(identity)
            .map(|&index| index as usize)
    }

    /// The node at canonical `index`.
    pub fn node(&self, index: usize) -> &ClusterNode {
        &self.nodes[index]
    }

    /// Nodes with non-zero stake; they are the first `staked_count()` in canonical order.
    pub fn staked_count(&self) -> usize {
        self.staked_count
    }

    /// Sum of all stakes.
    pub fn stake_total(&self) -> u128 {
        self.stake_total
    }
}
