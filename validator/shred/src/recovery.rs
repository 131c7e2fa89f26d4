//! Rebuilding one FEC set's block bytes from any `data_count` of its shreds.
//!
//! - Every data shred at hand: its payload is already authenticated (each shred passed
//!   the verifier against the signed root), so the set's bytes are their payloads.
//! - Some data shreds missing: Reed-Solomon restores their shards (header and payload).
//!   Each restored header must be the one its position implies and its padding zero.
//!   Then the whole set is rebuilt, parity included (coding headers follow from any
//!   received coding shred): every received coding shred must equal its rebuilt self,
//!   and the rebuilt set's Merkle root must equal the signed root (leaves of received
//!   shreds are reused from verification; only rebuilt shreds are hashed). So a
//!   coding shred that was not computed from the set's data (only the leader can sign
//!   one) makes the set fail instead of corrupting the block, and every honest receiver
//!   recovers the same bytes whichever shreds it got.

use aether_types::shred::{SHRED_HEADER_BYTES, ShredFlags, ShredHeader, ShredKind};
use aether_types::{Decode, Encode, Hash, Reader};

use crate::error::{AssembleError, ShredDecodeError};
use crate::fec;
use crate::layout::{SetShape, Shred, check_header, check_padding};
use crate::merkle::{self, MerkleTree};
use crate::verifier::VerifiedShred;

/// A recovered set: its block bytes and whether it ends the slot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RecoveredSet {
    /// The meaningful payload bytes of the set's data shreds, in order.
    pub data: Vec<u8>,
    /// The set's last data shred carries `LAST_IN_SLOT`.
    pub last_in_slot: bool,
}

/// Rebuilds the set whose verified shreds are `data` and `coding` (indexed by position,
/// at least `data_count` present) and whose signed root is `root`.
pub(crate) fn recover_set(
    root: &Hash,
    shape: SetShape,
    data: &[Option<VerifiedShred>],
    coding: &[Option<VerifiedShred>],
) -> Result<RecoveredSet, AssembleError> {
    assert_eq!(data.len(), usize::from(shape.data_count()));
    assert_eq!(coding.len(), usize::from(shape.coding_count()));
    let present = data.iter().chain(coding).flatten().count();
    assert!(
        present >= usize::from(shape.data_count()),
        "not enough shreds to recover"
    );
    if data.iter().all(Option::is_some) {
        let shreds: Vec<&Shred> = data.iter().flatten().map(VerifiedShred::shred).collect();
        return Ok(RecoveredSet {
            data: shreds
                .iter()
                .flat_map(|shred| shred.data())
                .copied()
                .collect(),
            last_in_slot: last_flag(shreds.last().expect("a set has data").header()),
        });
    }
    let template = *coding
        .iter()
        .flatten()
        .next()
        .expect("data is missing, so a coding shred is present")
        .shred()
        .header();
    let fec_set_index = template.fec_set_index;
    let restored = fec::recover_data(shape, present_shards(data), present_shards(coding))?;
    let mut shards: Vec<Vec<u8>> = data
        .iter()
        .map(|held| {
            held.as_ref()
                .map_or_else(Vec::new, |v| v.shred().erasure_shard().to_vec())
        })
        .collect();
    for (position, shard) in restored {
        shards[position] = shard;
    }
    if !rebuilds_to_root(root, shape, &template, &shards, data, coding)? {
        return Err(AssembleError::InconsistentSet { fec_set_index });
    }
    // The root binds the shards; now check they are the data shreds it claims.
    let headers: Vec<ShredHeader> = shards
        .iter()
        .enumerate()
        .map(|(position, shard)| check_restored(&template, position, shard))
        .collect::<Result<_, _>>()?;
    let data = shards
        .iter()
        .zip(&headers)
        .flat_map(|(shard, header)| {
            &shard[SHRED_HEADER_BYTES..][..usize::from(header.payload_size)]
        })
        .copied()
        .collect();
    Ok(RecoveredSet {
        data,
        last_in_slot: last_flag(headers.last().expect("a set has data")),
    })
}

/// Re-encodes the parity of the complete data `shards` and checks the whole set against
/// the signed `root`: every received coding shred must equal its rebuilt self, and the
/// tree over all leaves must have that root. Leaves of received shreds are known from
/// verification, so only rebuilt shreds are hashed.
fn rebuilds_to_root(
    root: &Hash,
    shape: SetShape,
    template: &ShredHeader,
    shards: &[Vec<u8>],
    data: &[Option<VerifiedShred>],
    coding: &[Option<VerifiedShred>],
) -> Result<bool, AssembleError> {
    let mut leaves: Vec<Hash> = shards
        .iter()
        .zip(data)
        .map(|(shard, held)| {
            held.as_ref()
                .map_or_else(|| merkle::leaf_hash(shard), VerifiedShred::leaf)
        })
        .collect();
    let coding_index_base = template.index - u32::from(template.position_in_set);
    let mut consistent = true;
    fec::encode_parity(
        shape,
        shards.iter().map(Vec::as_slice),
        |position, parity| {
            let header = ShredHeader {
                index: coding_index_base + position as u32,
                position_in_set: u16::try_from(position).expect("coding position fits u16"),
                ..*template
            };
            let mut header_bytes = Vec::with_capacity(SHRED_HEADER_BYTES);
            header.encode_to(&mut header_bytes);
            let leaf = match &coding[position] {
                Some(held) => {
                    let leaf_bytes = held.shred().leaf_bytes();
                    consistent &= leaf_bytes[..SHRED_HEADER_BYTES] == header_bytes[..]
                        && leaf_bytes[SHRED_HEADER_BYTES..] == *parity;
                    held.leaf()
                }
                None => merkle::leaf_hash_parts(&[&header_bytes, parity]),
            };
            leaves.push(leaf);
        },
    )?;
    assert_eq!(leaves.len(), shape.leaf_count());
    Ok(consistent && MerkleTree::new(leaves).root() == *root)
}

fn last_flag(header: &ShredHeader) -> bool {
    header.flags.contains(ShredFlags::LAST_IN_SLOT)
}

fn present_shards(shreds: &[Option<VerifiedShred>]) -> impl Iterator<Item = (usize, &[u8])> {
    shreds
        .iter()
        .enumerate()
        .filter_map(|(position, held)| Some((position, held.as_ref()?.shred().erasure_shard())))
}

/// Decodes and checks the header of data shard `position` (received or restored): it
/// must be well-formed, be the data header its position implies in the set described by
/// the coding header `template`, and be followed by zero padding.
fn check_restored(
    template: &ShredHeader,
    position: usize,
    shard: &[u8],
) -> Result<ShredHeader, AssembleError> {
    let position = u16::try_from(position).expect("data position fits u16");
    let invalid = |reason: ShredDecodeError| AssembleError::RecoveredShredInvalid {
        fec_set_index: template.fec_set_index,
        position,
        reason,
    };
    let header =
        ShredHeader::decode_from(&mut Reader::new(shard)).map_err(|e| invalid(e.into()))?;
    check_header(&header).map_err(invalid)?;
    check_padding(&header, shard).map_err(invalid)?;
    let expected = ShredHeader {
        index: template.fec_set_index + u32::from(position),
        kind: ShredKind::Data,
        position_in_set: position,
        payload_size: header.payload_size,
        flags: header.flags,
        ..*template
    };
    if header != expected {
        return Err(AssembleError::RecoveredHeaderMismatch {
            fec_set_index: template.fec_set_index,
            position,
        });
    }
    Ok(header)
}
