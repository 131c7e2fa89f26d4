//! The Turbine broadcast tree of one shred.
//!
//! # Seed
//!
//! `BLAKE3("aether.turbine.tree.v1" ‖ slot (u64 LE) ‖ kind (u8: 0 data, 1 coding) ‖
//! index (u32 LE) ‖ leader (32))`, read as an extendable output stream
//! ([`SeedStream`]).
//!
//! The seed uses the **shred index**, not the FEC set index: every shred of a set gets
//! its own tree, so a node that withholds (or crashes) sits high in the tree for only its
//! stake share of each set's shreds, and erasure coding (any 32 of 64) absorbs the loss.
//! With one tree per set, a single bad root would withhold whole sets and force repair.
//! The price is one shuffle per shred, O(n log n) with n the cluster size (the
//! `tree_cost_smoke` test prints it for 2000 nodes). Retransmit pays much less: it
//! dedups first, then [`TreeBuilder::retransmit_peers`] draws only the prefix of the
//! shuffle that decides this node's children (about n / fanout draws for most nodes).
//!
//! # Shuffle
//!
//! [`WeightedShuffle`]: staked nodes sampled without replacement with probability
//! proportional to stake; zero-stake nodes after them, uniformly shuffled. The leader is
//! excluded. Ties never depend on the caller's node order: nodes are first put in
//! canonical order ([`ClusterNodes`]) and among equal stakes the seed decides.
//!
//! # Layout
//!
//! The shuffled order is read as a complete `fanout`-ary tree in heap layout:
//!
//! ```text
//! position 0                      root: receives every shred from the leader
//! children of position p          positions p·fanout + 1 ..= p·fanout + fanout (those < n)
//! parent of position p > 0        position (p − 1) / fanout
//! ```
//!
//! So the root's children are positions `1..=fanout`, theirs `fanout+1 ..= fanout+fanout²`,
//! and so on. Children of one node are contiguous in the order, which is why
//! [`TurbineTree::children_of`] returns a slice. Depth (edges from root to the deepest
//! node) is at most `ceil(log_fanout(n))` for `fanout ≥ 2`.

use std::num::NonZeroUsize;

use aether_crypto::ed25519::Ed25519PublicKey;
use aether_types::shred::ShredKind;

use crate::cluster::ClusterNodes;
use crate::shuffle::{Fenwick, SeedStream, WeightedShuffle};

/// Domain tag at the front of every tree seed.
pub const TREE_SEED_DOMAIN: &[u8; 22] = b"aether.turbine.tree.v1";

/// Identifies one shred of a slot: data and coding indexes are numbered separately.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ShredId {
    /// The slot.
    pub slot: u64,
    /// Data or coding.
    pub kind: ShredKind,
    /// Index among the slot's shreds of this kind.
    pub index: u32,
}

/// The wire tag of a shred kind (as in the shred header).
pub const fn kind_tag(kind: ShredKind) -> u8 {
    match kind {
        ShredKind::Data => 0,
        ShredKind::Coding => 1,
    }
}

/// The seed stream of the tree for `shred` broadcast by `leader`.
pub fn tree_seed(shred: &ShredId, leader: &Ed25519PublicKey) -> SeedStream {
    SeedStream::new(&[
        TREE_SEED_DOMAIN,
        &shred.slot.to_le_bytes(),
        &[kind_tag(shred.kind)],
        &shred.index.to_le_bytes(),
        &leader.0,
    ])
}

/// A cluster prepared for building trees: canonical nodes and their stake tree, built
/// once per epoch (or whenever stakes change) and shared by every shred's tree.
#[derive(Debug, Clone)]
pub struct TreeBuilder {
    cluster: ClusterNodes,
    stakes: Fenwick,
    fanout: NonZeroUsize,
}

impl TreeBuilder {
    /// Trees over `cluster` with `fanout` children per node.
    pub fn new(cluster: ClusterNodes, fanout: NonZeroUsize) -> TreeBuilder {
        let stakes = Fenwick::new(cluster.nodes().iter().map(|node| node.stake));
        assert_eq!(stakes.total(), cluster.stake_total());
        TreeBuilder {
            cluster,
            stakes,
            fanout,
        }
    }

    /// The cluster.
    pub fn cluster(&self) -> &ClusterNodes {
        &self.cluster
    }

    /// Children per node.
    pub fn fanout(&self) -> NonZeroUsize {
        self.fanout
    }

    /// The tree of `shred` from `leader` (who need not be a cluster member).
    pub fn tree(&self, shred: &ShredId, leader: &Ed25519PublicKey) -> TurbineTree<'_> {
        TurbineTree::new(&self.cluster, &self.stakes, self.fanout, shred, leader)
    }

    /// `me`'s children in the tree of `shred` from `leader`, equal to
    /// `self.tree(shred, leader).retransmit_peers(me)` but drawing only the prefix of the
    /// shuffle that decides them: up to `me`'s last child, or, if `me` is not drawn by
    /// position `k` with `k·fanout + 1 ≥ n`, only those `k` (then `me` is a leaf). With
    /// fan-out `f` that is about `n / f` draws for most nodes instead of `n`. `None` when
    /// `me` is the leader or not a member.
    pub fn retransmit_peers(
        &self,
        shred: &ShredId,
        leader: &Ed25519PublicKey,
        me: &Ed25519PublicKey,
    ) -> Option<Vec<Ed25519PublicKey>> {
        let me_index = self.cluster.index_of(me)?;
        let excluded = self.cluster.index_of(leader);
        if excluded == Some(me_index) {
            return None;
        }
        let node_count = self.cluster.len() - usize::from(excluded.is_some());
        let fanout = self.fanout.get();
        let shuffle = WeightedShuffle::new(
            &self.cluster,
            &self.stakes,
            excluded,
            tree_seed(shred, leader),
        );
        let mut drawn: Vec<u32> = Vec::new();
        let mut me_position = None;
        for index in shuffle {
            let position = drawn.len();
            drawn.push(index);
            if index as usize == me_index {
                me_position = Some(position);
            }
            match me_position {
                // Every child of `me` is drawn (or the tree ends first).
                Some(mine)
                    if position >= mine.saturating_mul(fanout).saturating_add(fanout)
                        || mine.saturating_mul(fanout).saturating_add(1) >= node_count =>
                {
                    break;
                }
                // `me` sits at a position past `position`: a leaf, whatever it is.
                None if (position + 1).saturating_mul(fanout).saturating_add(1) >= node_count => {
                    return Some(Vec::new());
                }
                _ => {}
            }
        }
        let mine = me_position.expect("a member other than the leader is drawn");
        let first = mine
            .saturating_mul(fanout)
            .saturating_add(1)
            .min(drawn.len());
        let end = first.saturating_add(fanout).min(drawn.len());
        assert!(end <= node_count);
        Some(
            drawn[first..end]
                .iter()
                .map(|&index| self.cluster.node(index as usize).identity)
                .collect(),
        )
    }
}

/// One shred's broadcast tree over every cluster node but the leader.
#[derive(Debug, Clone)]
pub struct TurbineTree<'a> {
    cluster: &'a ClusterNodes,
    fanout: usize,
    /// Identities in tree position order.
    order: Vec<Ed25519PublicKey>,
    /// Tree position of each canonical index; `u32::MAX` for the leader.
    position_by_index: Vec<u32>,
}

const NOT_IN_TREE: u32 = u32::MAX;

impl<'a> TurbineTree<'a> {
    /// The tree of `shred` from `leader` over `cluster`; `stakes` is the Fenwick tree of
    /// the cluster's stakes in canonical order (see [`TreeBuilder`], which keeps both).
    pub fn new(
        cluster: &'a ClusterNodes,
        stakes: &Fenwick,
        fanout: NonZeroUsize,
        shred: &ShredId,
        leader: &Ed25519PublicKey,
    ) -> TurbineTree<'a> {
        let excluded = cluster.index_of(leader);
        let indexes: Vec<u32> =
            WeightedShuffle::new(cluster, stakes, excluded, tree_seed(shred, leader)).collect();
        let mut position_by_index = vec![NOT_IN_TREE; cluster.len()];
        let mut order = Vec::with_capacity(indexes.len());
        for (position, &index) in indexes.iter().enumerate() {
            assert_eq!(position_by_index[index as usize], NOT_IN_TREE, "node twice");
            position_by_index[index as usize] = position as u32;
            order.push(cluster.node(index as usize).identity);
        }
        assert_eq!(order.len(), cluster.len() - usize::from(excluded.is_some()));
        TurbineTree {
            cluster,
            fanout: fanout.get(),
            order,
            position_by_index,
        }
    }

    /// Identities in tree position order (position 0 is the root).
    pub fn order(&self) -> &[Ed25519PublicKey] {
        &self.order
    }

    /// Nodes in the tree (the cluster less the leader).
    pub fn len(&self) -> usize {
        self.order.len()
    }

    /// True when no node but the leader exists.
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    /// The node the leader sends the shred to; `None` for an empty tree.
    pub fn root(&self) -> Option<&Ed25519PublicKey> {
        self.order.first()
    }

    /// Tree position of `node`; `None` for the leader and for non-members.
    pub fn position_of(&self, node: &Ed25519PublicKey) -> Option<usize> {
        let index = self.cluster.index_of(node)?;
        match self.position_by_index[index] {
            NOT_IN_TREE => None,
            position => Some(position as usize),
        }
    }

    /// Where `node` receives the shred from: `None` for the root (it receives from the
    /// leader), the leader and non-members.
    pub fn parent_of(&self, node: &Ed25519PublicKey) -> Option<&Ed25519PublicKey> {
        let position = self.position_of(node)?;
        if position == 0 {
            return None;
        }
        Some(&self.order[(position - 1) / self.fanout])
    }

    /// Whom `node` forwards the shred to (empty for leaves, the leader and non-members).
    pub fn children_of(&self, node: &Ed25519PublicKey) -> &[Ed25519PublicKey] {
        match self.position_of(node) {
            Some(position) => self.children_at(position),
            None => &[],
        }
    }

    /// Children of tree `position`.
    pub fn children_at(&self, position: usize) -> &[Ed25519PublicKey] {
        let first = position
            .saturating_mul(self.fanout)
            .saturating_add(1)
            .min(self.order.len());
        let end = first.saturating_add(self.fanout).min(self.order.len());
        &self.order[first..end]
    }

    /// The peers `me` retransmits the shred to: its children. The leader itself sends
    /// only to [`TurbineTree::root`].
    pub fn retransmit_peers(&self, me: &Ed25519PublicKey) -> &[Ed25519PublicKey] {
        self.children_of(me)
    }

    /// Edges from the root to the deepest node (0 for one node or none).
    pub fn depth(&self) -> usize {
        let mut depth = 0;
        let mut position = self.order.len().saturating_sub(1);
        while position > 0 {
            position = (position - 1) / self.fanout;
            depth += 1;
        }
        depth
    }
}
