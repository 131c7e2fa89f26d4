//! The leader's side: a sealed block's bytes to signed Merkle shreds.
//!
//! The block is cut front to back into FEC sets. Every set but the last is full:
//! `data_shreds_per_set` data shreds of `data_capacity` bytes each. The last set takes
//! what is left with the fewest data shreds that hold it (at least one, so an empty block
//! is one data shred with `payload_size` 0), keeps the full `coding_shreds_per_set`
//! coding shreds (small sets are the ones a few losses hurt most), and its final data
//! shred is zero-padded and flagged `LAST_IN_SLOT | DATA_COMPLETE`. A short last set may
//! have a shallower tree than full sets, and so a larger shard; sizes always follow from
//! the header's counts.

use aether_crypto::ed25519::Ed25519SecretKey;
use aether_types::Encode;
use aether_types::shred::{ShredFlags, ShredHeader, ShredKind};

use crate::error::ShredError;
use crate::fec;
use crate::layout::{DATA_SHREDS_PER_SLOT_MAX, SetShape, Shred};
use crate::merkle::{self, MerkleTree};
use crate::signing::sign_root;

/// How the shredder shapes FEC sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShredderConfig {
    /// Data shreds in every set but the last (1..=64, default 32).
    pub data_shreds_per_set: u16,
    /// Coding shreds in every set (1..=64, default 32).
    pub coding_shreds_per_set: u16,
}

impl Default for ShredderConfig {
    fn default() -> Self {
        ShredderConfig {
            data_shreds_per_set: 32,
            coding_shreds_per_set: 32,
        }
    }
}

/// The slot a block is shredded for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlotContext {
    /// The block's slot.
    pub slot: u64,
    /// Its parent's slot (1 to 65535 slots before `slot`).
    pub parent_slot: u64,
    /// The cluster's shred version.
    pub shred_version: u16,
}

/// Where one FEC set's data lies in the block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct SetPlan {
    shape: SetShape,
    /// First block byte of the set.
    start: usize,
    /// Block bytes in the set.
    len: usize,
}

/// Cuts `block` into signed shreds for `context`'s slot: per set, its data shreds then
/// its coding shreds, sets in order. The leader signs each set's root once.
pub fn shred_block(
    block: &[u8],
    context: &SlotContext,
    config: &ShredderConfig,
    leader: &Ed25519SecretKey,
) -> Result<Vec<Shred>, ShredError> {
    let full = SetShape::new(config.data_shreds_per_set, config.coding_shreds_per_set)?;
    let parent_offset = context
        .slot
        .checked_sub(context.parent_slot)
        .and_then(|offset| u16::try_from(offset).ok())
        .filter(|&offset| offset > 0)
        .ok_or(ShredError::BadParent {
            slot: context.slot,
            parent_slot: context.parent_slot,
        })?;
    let plans = plan_sets(block.len(), full)?;
    let shred_count: usize = plans.iter().map(|plan| plan.shape.leaf_count()).sum();
    let mut shreds = Vec::with_capacity(shred_count);
    let mut fec_set_index = 0u32;
    let mut coding_index = 0u32;
    for (set_number, plan) in plans.iter().enumerate() {
        let set = SetHeaderFields {
            slot: context.slot,
            parent_offset,
            version: context.shred_version,
            fec_set_index,
            coding_index,
            shape: plan.shape,
            last_in_slot: set_number + 1 == plans.len(),
        };
        shred_set(&block[plan.start..][..plan.len], &set, leader, &mut shreds)?;
        fec_set_index += u32::from(plan.shape.data_count());
        coding_index += u32::from(plan.shape.coding_count());
    }
    assert_eq!(shreds.len(), shred_count);
    Ok(shreds)
}

/// Splits `block_len` bytes into sets by the rules in the module docs.
fn plan_sets(block_len: usize, full: SetShape) -> Result<Vec<SetPlan>, ShredError> {
    let full_set_bytes = usize::from(full.data_count()) * full.data_capacity();
    let full_sets = block_len.saturating_sub(1) / full_set_bytes;
    let last_len = block_len - full_sets * full_set_bytes;
    // The fewest data shreds that hold the rest; a shorter set never has a deeper tree,
    // so `data_count` shreds always suffice.
    let last_data_count = (1..=full.data_count())
        .find(|&count| {
            let shape = SetShape::new(count, full.coding_count()).expect("counts in range");
            usize::from(count) * shape.data_capacity() >= last_len
        })
        .expect("a full set holds the rest");
    let data_shreds = full_sets as u64 * u64::from(full.data_count()) + u64::from(last_data_count);
    if data_shreds > u64::from(DATA_SHREDS_PER_SLOT_MAX) {
        return Err(ShredError::BlockTooLarge {
            bytes: block_len,
            data_shreds,
            max: DATA_SHREDS_PER_SLOT_MAX,
        });
    }
    let mut plans: Vec<SetPlan> = (0..full_sets)
        .map(|set| SetPlan {
            shape: full,
            start: set * full_set_bytes,
            len: full_set_bytes,
        })
        .collect();
    plans.push(SetPlan {
        shape: SetShape::new(last_data_count, full.coding_count())?,
        start: full_sets * full_set_bytes,
        len: last_len,
    });
    assert_eq!(plans.iter().map(|plan| plan.len).sum::<usize>(), block_len);
    Ok(plans)
}

/// The header fields one set's shreds share.
struct SetHeaderFields {
    slot: u64,
    parent_offset: u16,
    version: u16,
    fec_set_index: u32,
    /// Index of the set's first coding shred among the slot's coding shreds.
    coding_index: u32,
    shape: SetShape,
    last_in_slot: bool,
}

impl SetHeaderFields {
    fn header(&self, kind: ShredKind, position: u16, payload_size: u16) -> ShredHeader {
        let last =
            kind == ShredKind::Data && self.last_in_slot && position + 1 == self.shape.data_count();
        let (index_base, flags) = match kind {
            ShredKind::Data if last => (
                self.fec_set_index,
                ShredFlags::LAST_IN_SLOT.with(ShredFlags::DATA_COMPLETE),
            ),
            ShredKind::Data => (self.fec_set_index, ShredFlags::NONE),
            ShredKind::Coding => (self.coding_index, ShredFlags::NONE),
        };
        ShredHeader {
            slot: self.slot,
            parent_offset: self.parent_offset,
            fec_set_index: self.fec_set_index,
            index: index_base + u32::from(position),
            kind,
            data_count: self.shape.data_count(),
            coding_count: self.shape.coding_count(),
            position_in_set: position,
            payload_size,
            flags,
            version: self.version,
        }
    }
}

/// Builds, hashes and signs one set's shreds, appending them to `out`.
fn shred_set(
    set_bytes: &[u8],
    set: &SetHeaderFields,
    leader: &Ed25519SecretKey,
    out: &mut Vec<Shred>,
) -> Result<(), ShredError> {
    let shape = set.shape;
    let capacity = shape.data_capacity();
    assert!(set_bytes.len() <= usize::from(shape.data_count()) * capacity);
    let mut data: Vec<Vec<u8>> = (0..shape.data_count())
        .map(|position| {
            let start = (usize::from(position) * capacity).min(set_bytes.len());
            let chunk = &set_bytes[start..(start + capacity).min(set_bytes.len())];
            let payload_size = u16::try_from(chunk.len()).expect("capacity fits u16");
            let mut bytes = Vec::with_capacity(shape.shred_bytes(ShredKind::Data));
            set.header(ShredKind::Data, position, payload_size)
                .encode_to(&mut bytes);
            bytes.extend_from_slice(chunk);
            bytes.resize(shape.shard_bytes(), 0);
            bytes
        })
        .collect();
    let shard_size = u16::try_from(shape.shard_bytes()).expect("shard fits u16");
    let mut coding: Vec<Vec<u8>> = (0..shape.coding_count())
        .map(|position| {
            let mut bytes = Vec::with_capacity(shape.shred_bytes(ShredKind::Coding));
            set.header(ShredKind::Coding, position, shard_size)
                .encode_to(&mut bytes);
            bytes
        })
        .collect();
    fec::encode_parity(shape, data.iter().map(Vec::as_slice), |position, parity| {
        coding[position].extend_from_slice(parity);
    })?;
    let leaf_bytes: Vec<&[u8]> = data
        .iter()
        .chain(coding.iter())
        .map(Vec::as_slice)
        .collect();
    let leaves = merkle::leaf_hashes(&leaf_bytes);
    assert_eq!(leaves.len(), shape.leaf_count());
    let tree = MerkleTree::new(leaves);
    let root = tree.root();
    let signature = sign_root(leader, set.slot, set.fec_set_index, &root);
    for (leaf_index, mut bytes) in data.drain(..).chain(coding.drain(..)).enumerate() {
        for sibling in tree.proof(leaf_index) {
            bytes.extend_from_slice(sibling.as_bytes());
        }
        bytes.extend_from_slice(root.as_bytes());
        bytes.extend_from_slice(&signature.0);
        out.push(Shred::from_trusted_bytes(bytes));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_cover_the_block_with_short_last_sets() {
        let full = SetShape::new(32, 32).unwrap();
        let full_bytes = 32 * 880;
        for (len, expected) in [
            (0, vec![(1, 0)]),
            (1, vec![(1, 1)]),
            (880, vec![(1, 880)]),
            (881, vec![(2, 881)]),
            (full_bytes, vec![(32, full_bytes)]),
            (full_bytes + 1, vec![(32, full_bytes), (1, 1)]),
        ] {
            let plans = plan_sets(len, full).unwrap();
            let shape: Vec<(u16, usize)> = plans
                .iter()
                .map(|plan| (plan.shape.data_count(), plan.len))
                .collect();
            assert_eq!(shape, expected, "block of {len} bytes");
        }
    }

    #[test]
    fn refuses_bad_parents_and_oversize_blocks() {
        let key = Ed25519SecretKey::from_seed(&[1; 32]);
        let config = ShredderConfig::default();
        for (slot, parent_slot) in [(5, 5), (5, 6), (70_000, 1)] {
            let context = SlotContext {
                slot,
                parent_slot,
                shred_version: 0,
            };
            assert!(matches!(
                shred_block(b"x", &context, &config, &key),
                Err(ShredError::BadParent { .. })
            ));
        }
        let too_big = DATA_SHREDS_PER_SLOT_MAX as usize * 880 + 1;
        assert!(matches!(
            plan_sets(too_big, SetShape::new(32, 32).unwrap()),
            Err(ShredError::BlockTooLarge { .. })
        ));
        assert!(plan_sets(too_big - 1, SetShape::new(32, 32).unwrap()).is_ok());
    }
}
