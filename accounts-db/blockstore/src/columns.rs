//! Column family names and key encodings.

use aether_types::Hash;
use aether_types::shred::ShredKind;

use crate::BlockstoreError;

/// Shreds by (slot, kind, index).
pub const SHREDS: &str = "shreds";
/// Block metadata by slot.
pub const BLOCKS: &str = "blocks";
/// Slot metadata by slot.
pub const SLOT_META: &str = "slot_meta";
/// Transaction status by transaction id.
pub const TRANSACTION_STATUS: &str = "transaction_status";
/// (slot, transaction id) pairs, to purge a slot's statuses.
pub const TRANSACTION_INDEX: &str = "transaction_index";

/// Every column family, in creation order.
pub const ALL: [&str; 5] = [
    SHREDS,
    BLOCKS,
    SLOT_META,
    TRANSACTION_STATUS,
    TRANSACTION_INDEX,
];

/// Length of a shred key.
pub const SHRED_KEY_BYTES: usize = 8 + 1 + 4;
/// Length of a transaction index key.
pub const TRANSACTION_INDEX_KEY_BYTES: usize = 8 + 32;

/// The key of a slot (big-endian, so byte order is slot order).
pub fn slot_key(slot: u64) -> [u8; 8] {
    slot.to_be_bytes()
}

/// Reads a slot key.
pub fn decode_slot_key(family: &'static str, key: &[u8]) -> Result<u64, BlockstoreError> {
    let bytes: [u8; 8] = key
        .get(..8)
        .and_then(|prefix| prefix.try_into().ok())
        .ok_or_else(|| BlockstoreError::CorruptKey {
            family,
            key_hex: hex(key),
        })?;
    Ok(u64::from_be_bytes(bytes))
}

/// The key of one shred.
pub fn shred_key(slot: u64, kind: ShredKind, index: u32) -> [u8; SHRED_KEY_BYTES] {
    let mut key = [0u8; SHRED_KEY_BYTES];
    key[..8].copy_from_slice(&slot.to_be_bytes());
    key[8] = kind_tag(kind);
    key[9..].copy_from_slice(&index.to_be_bytes());
    key
}

/// Reads a shred key back into (slot, kind, index).
pub fn decode_shred_key(key: &[u8]) -> Result<(u64, ShredKind, u32), BlockstoreError> {
    let corrupt = || BlockstoreError::CorruptKey {
        family: SHREDS,
        key_hex: hex(key),
    };
    if key.len() != SHRED_KEY_BYTES {
        return Err(corrupt());
    }
    let slot = u64::from_be_bytes(key[..8].try_into().expect("length checked"));
    let kind = match key[8] {
        0 => ShredKind::Data,
        1 => ShredKind::Coding,
        _ => return Err(corrupt()),
    };
    let index = u32::from_be_bytes(key[9..].try_into().expect("length checked"));
    Ok((slot, kind, index))
}

/// The key of a (slot, transaction id) index entry.
pub fn transaction_index_key(
    slot: u64,
    transaction_id: &Hash,
) -> [u8; TRANSACTION_INDEX_KEY_BYTES] {
    let mut key = [0u8; TRANSACTION_INDEX_KEY_BYTES];
    key[..8].copy_from_slice(&slot.to_be_bytes());
    key[8..].copy_from_slice(transaction_id.as_bytes());
    key
}

/// Reads the transaction id out of an index key.
pub fn decode_transaction_index_key(key: &[u8]) -> Result<Hash, BlockstoreError> {
    let bytes: [u8; 32] = key
        .get(8..)
        .filter(|rest| rest.len() == 32)
        .and_then(|rest| rest.try_into().ok())
        .ok_or_else(|| BlockstoreError::CorruptKey {
            family: TRANSACTION_INDEX,
            key_hex: hex(key),
        })?;
    Ok(Hash(bytes))
}

fn kind_tag(kind: ShredKind) -> u8 {
    match kind {
        ShredKind::Data => 0,
        ShredKind::Coding => 1,
    }
}

/// Lowercase hex, for error messages.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shred_keys_sort_by_slot_then_kind_then_index() {
        let ordered = [
            shred_key(1, ShredKind::Data, 300),
            shred_key(1, ShredKind::Coding, 0),
            shred_key(2, ShredKind::Data, 0),
            shred_key(2, ShredKind::Data, 1),
            shred_key(256, ShredKind::Data, 0),
        ];
        assert!(ordered.windows(2).all(|pair| pair[0] < pair[1]));
        for key in ordered {
            let (slot, kind, index) = decode_shred_key(&key).unwrap();
            assert_eq!(shred_key(slot, kind, index), key);
        }
    }

    #[test]
    fn malformed_keys_are_errors() {
        assert!(decode_shred_key(&[0u8; 12]).is_err());
        let mut bad_kind = shred_key(1, ShredKind::Data, 1);
        bad_kind[8] = 7;
        assert!(decode_shred_key(&bad_kind).is_err());
        assert!(decode_slot_key(BLOCKS, &[1, 2, 3]).is_err());
        assert!(decode_transaction_index_key(&[0u8; 39]).is_err());
    }
}
