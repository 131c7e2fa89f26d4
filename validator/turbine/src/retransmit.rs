//! Whether and to whom a received shred is forwarded.
//!
//! [`Retransmitter::on_shred`] takes the header of a shred that already passed
//! verification (leader signature over its set's root; `aether-shred`'s
//! `ShredVerifier`) and:
//!
//! 1. drops it if its slot is older than what the memory still tracks (`too_old`),
//!    its index is past the per-slot bound (`index_out_of_range`), or `(slot, kind,
//!    index)` was seen before (`duplicate`);
//! 2. otherwise records it and returns this node's children in the shred's
//!    [`TurbineTree`](crate::tree::TurbineTree), computed by
//!    [`TreeBuilder::retransmit_peers`] from a prefix of the shuffle (an empty list for
//!    a leaf is a `leaf` outcome, not a drop).
//!
//! Dedup happens before the tree is built, so a duplicate costs a bit test.
//!
//! # Memory bound
//!
//! At most [`RetransmitConfig::slots_max`] slots are tracked, each with one bit per
//! data index and per coding index below [`RetransmitConfig::shred_indexes_per_slot_max`]
//! (4 KiB per kind per slot at the default). A shred of a new slot when the memory is
//! full evicts the lowest slot, and every slot at or below an evicted one is then
//! `too_old`: forgetting never lets an old shred be forwarded twice. Because slots come
//! from verified shreds (signed by that slot's leader), a far-future slot cannot be made
//! up by a peer.

use std::collections::BTreeMap;

use aether_crypto::ed25519::Ed25519PublicKey;
use aether_types::shred::{ShredHeader, ShredKind};

use crate::tree::{ShredId, TreeBuilder};

/// Bounds of the dedup memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetransmitConfig {
    /// Most slots remembered (default 64).
    pub slots_max: usize,
    /// Shred indexes per kind per slot that are tracked; a higher index is dropped
    /// (default 32 768, `aether-shred`'s `DATA_SHREDS_PER_SLOT_MAX`).
    pub shred_indexes_per_slot_max: u32,
}

impl Default for RetransmitConfig {
    fn default() -> Self {
        RetransmitConfig {
            slots_max: 64,
            shred_indexes_per_slot_max: 32_768,
        }
    }
}

/// Why a shred is not forwarded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RetransmitDrop {
    /// `(slot, kind, index)` was seen before.
    Duplicate,
    /// The slot is below what the memory tracks.
    TooOld,
    /// The index is past [`RetransmitConfig::shred_indexes_per_slot_max`].
    IndexOutOfRange,
    /// This node is not in the cluster, or is the slot's leader.
    NotInTree,
}

impl RetransmitDrop {
    /// Every drop reason, in label order.
    pub const ALL: [RetransmitDrop; 4] = [
        RetransmitDrop::Duplicate,
        RetransmitDrop::TooOld,
        RetransmitDrop::IndexOutOfRange,
        RetransmitDrop::NotInTree,
    ];

    /// Stable metric label.
    pub const fn label(self) -> &'static str {
        match self {
            RetransmitDrop::Duplicate => "duplicate",
            RetransmitDrop::TooOld => "too_old",
            RetransmitDrop::IndexOutOfRange => "index_out_of_range",
            RetransmitDrop::NotInTree => "not_in_tree",
        }
    }
}

/// What to do with one shred.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RetransmitDecision {
    /// First sight: send the shred's bytes, as received, to these peers (possibly none:
    /// this node is a leaf of the shred's tree).
    Forward(Vec<Ed25519PublicKey>),
    /// Not forwarded, for this reason (counted).
    Drop(RetransmitDrop),
}

/// Counters, flushed by the runner.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RetransmitCounts {
    /// Shreds forwarded to at least one peer.
    pub forwarded: u64,
    /// Shreds accepted where this node is a leaf.
    pub leaf: u64,
    /// Peer sends requested in all.
    pub peer_sends: u64,
    /// Drops, indexed like [`RetransmitDrop::ALL`].
    pub drops: [u64; RetransmitDrop::ALL.len()],
}

impl RetransmitCounts {
    /// Drops for one reason.
    pub fn drop_count(&self, reason: RetransmitDrop) -> u64 {
        self.drops[reason as usize]
    }
}

#[derive(Debug, Default)]
struct SeenSlot {
    data: Vec<u64>,
    coding: Vec<u64>,
}

impl SeenSlot {
    /// Marks `index`; true when it was not marked before.
    fn insert(&mut self, kind: ShredKind, index: u32) -> bool {
        let words = match kind {
            ShredKind::Data => &mut self.data,
            ShredKind::Coding => &mut self.coding,
        };
        let word = index as usize / 64;
        let bit = 1u64 << (index % 64);
        if words.len() <= word {
            words.resize(word + 1, 0);
        }
        let fresh = words[word] & bit == 0;
        words[word] |= bit;
        assert!(words[word] & bit != 0);
        fresh
    }
}

/// The retransmit decision for one node: dedup memory plus tree look-up.
#[derive(Debug)]
pub struct Retransmitter {
    me: Ed25519PublicKey,
    config: RetransmitConfig,
    seen: BTreeMap<u64, SeenSlot>,
    /// Slots below this are too old (everything up to the last evicted slot).
    slot_floor: u64,
    counts: RetransmitCounts,
}

impl Retransmitter {
    /// The retransmitter of node `me`. `config.slots_max` must be at least 1.
    pub fn new(me: Ed25519PublicKey, config: RetransmitConfig) -> Retransmitter {
        assert!(config.slots_max >= 1, "remember at least one slot");
        Retransmitter {
            me,
            config,
            seen: BTreeMap::new(),
            slot_floor: 0,
            counts: RetransmitCounts::default(),
        }
    }

    /// Counters so far.
    pub fn counts(&self) -> &RetransmitCounts {
        &self.counts
    }

    /// Slots currently remembered.
    pub fn slots_tracked(&self) -> usize {
        self.seen.len()
    }

    /// Forgets every slot below `slot` (e.g. the new root); shreds of them are then
    /// `too_old`.
    pub fn set_floor(&mut self, slot: u64) {
        if slot > self.slot_floor {
            self.slot_floor = slot;
            self.seen = self.seen.split_off(&slot);
        }
        assert!(self.seen.keys().all(|&kept| kept >= self.slot_floor));
    }

    /// Decides for a verified shred with `header` in a slot led by `leader`.
    pub fn on_shred(
        &mut self,
        header: &ShredHeader,
        leader: &Ed25519PublicKey,
        trees: &TreeBuilder,
    ) -> RetransmitDecision {
        let decision = self.decide(header, leader, trees);
        match &decision {
            RetransmitDecision::Forward(peers) if peers.is_empty() => self.counts.leaf += 1,
            RetransmitDecision::Forward(peers) => {
                self.counts.forwarded += 1;
                self.counts.peer_sends += peers.len() as u64;
            }
            RetransmitDecision::Drop(reason) => self.counts.drops[*reason as usize] += 1,
        }
        decision
    }

    fn decide(
        &mut self,
        header: &ShredHeader,
        leader: &Ed25519PublicKey,
        trees: &TreeBuilder,
    ) -> RetransmitDecision {
        if *leader == self.me {
            return RetransmitDecision::Drop(RetransmitDrop::NotInTree);
        }
        if header.index >= self.config.shred_indexes_per_slot_max {
            return RetransmitDecision::Drop(RetransmitDrop::IndexOutOfRange);
        }
        let Some(slot_seen) = self.slot_entry(header.slot) else {
            return RetransmitDecision::Drop(RetransmitDrop::TooOld);
        };
        if !slot_seen.insert(header.kind, header.index) {
            return RetransmitDecision::Drop(RetransmitDrop::Duplicate);
        }
        let shred = ShredId {
            slot: header.slot,
            kind: header.kind,
            index: header.index,
        };
        match trees.retransmit_peers(&shred, leader, &self.me) {
            Some(peers) => RetransmitDecision::Forward(peers),
            None => RetransmitDecision::Drop(RetransmitDrop::NotInTree),
        }
    }

    /// The memory of `slot`, making room by evicting the lowest slot; `None` when the
    /// slot is too old.
    fn slot_entry(&mut self, slot: u64) -> Option<&mut SeenSlot> {
        if slot < self.slot_floor {
            return None;
        }
        if !self.seen.contains_key(&slot) && self.seen.len() >= self.config.slots_max {
            let (&lowest, _) = self.seen.first_key_value().expect("memory is full");
            if slot < lowest {
                // It would be the one evicted.
                self.slot_floor = self.slot_floor.max(slot.saturating_add(1));
                return None;
            }
            self.seen.pop_first();
            self.slot_floor = lowest.saturating_add(1);
        }
        let entry = self.seen.entry(slot).or_default();
        Some(entry)
    }
}
