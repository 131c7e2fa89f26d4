//! The records stored in the metadata column families, in the canonical codec.
//!
//! Each record starts with a format version byte ([`RECORD_VERSION`]); a record of
//! another version is a decode error, so an old binary never misreads a newer ledger.

use aether_types::codec::{
    Decode, DecodeError, Encode, Reader, decode_bytes, decode_seq, encode_bytes, encode_seq,
};
use aether_types::{Hash, MAX_BLOCK_TRANSACTIONS};

/// Format version of every record in this module.
pub const RECORD_VERSION: u8 = 1;
/// Longest stored transaction failure reason, in bytes.
pub const MAX_FAILURE_REASON_BYTES: usize = 256;

fn read_version(reader: &mut Reader<'_>, what: &'static str) -> Result<(), DecodeError> {
    let version = reader.read_u8()?;
    if version == RECORD_VERSION {
        Ok(())
    } else {
        Err(DecodeError::UnsupportedVersion { what, version })
    }
}

/// What RPC and replay need about a block once it has been executed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockMeta {
    /// The block's slot.
    pub slot: u64,
    /// The block hash (of its header).
    pub hash: Hash,
    /// The parent block's slot.
    pub parent_slot: u64,
    /// The parent block's hash.
    pub parent_hash: Hash,
    /// The state root after the block.
    pub state_root: Hash,
    /// The block's transaction ids, in block order.
    pub transaction_ids: Vec<Hash>,
}

impl Encode for BlockMeta {
    fn encode_to(&self, out: &mut Vec<u8>) {
        RECORD_VERSION.encode_to(out);
        self.slot.encode_to(out);
        self.hash.encode_to(out);
        self.parent_slot.encode_to(out);
        self.parent_hash.encode_to(out);
        self.state_root.encode_to(out);
        encode_seq(out, &self.transaction_ids, MAX_BLOCK_TRANSACTIONS);
    }
}

impl Decode for BlockMeta {
    const MIN_ENCODED_LEN: usize = 1 + 8 + 32 + 8 + 32 + 32 + 1;

    fn decode_from(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        read_version(reader, "block metadata")?;
        Ok(Self {
            slot: reader.read_u64()?,
            hash: Hash::decode_from(reader)?,
            parent_slot: reader.read_u64()?,
            parent_hash: Hash::decode_from(reader)?,
            state_root: Hash::decode_from(reader)?,
            transaction_ids: decode_seq(reader, "transaction_ids", MAX_BLOCK_TRANSACTIONS)?,
        })
    }
}

/// Bookkeeping of one slot: what has arrived and how far it got.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SlotMeta {
    /// The slot.
    pub slot: u64,
    /// The parent slot, once a shred has named it.
    pub parent_slot: Option<u64>,
    /// Data shreds stored for this slot.
    pub data_shred_count: u32,
    /// Coding shreds stored for this slot.
    pub coding_shred_count: u32,
    /// Index of the slot's last data shred, once the shred flagged last has arrived.
    pub last_data_index: Option<u32>,
    /// The block has been reassembled and executed (its [`BlockMeta`] is stored).
    pub block_complete: bool,
    /// The block is final; only final slots are purged by the size limit.
    pub finalized: bool,
}

impl SlotMeta {
    /// Shreds of both kinds stored for this slot.
    pub fn shred_count(&self) -> u64 {
        u64::from(self.data_shred_count) + u64::from(self.coding_shred_count)
    }
}

impl Encode for SlotMeta {
    fn encode_to(&self, out: &mut Vec<u8>) {
        RECORD_VERSION.encode_to(out);
        self.slot.encode_to(out);
        self.parent_slot.encode_to(out);
        self.data_shred_count.encode_to(out);
        self.coding_shred_count.encode_to(out);
        self.last_data_index.encode_to(out);
        self.block_complete.encode_to(out);
        self.finalized.encode_to(out);
    }
}

impl Decode for SlotMeta {
    const MIN_ENCODED_LEN: usize = 1 + 8 + 1 + 4 + 4 + 1 + 1 + 1;

    fn decode_from(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        read_version(reader, "slot metadata")?;
        Ok(Self {
            slot: reader.read_u64()?,
            parent_slot: Option::<u64>::decode_from(reader)?,
            data_shred_count: reader.read_u32()?,
            coding_shred_count: reader.read_u32()?,
            last_data_index: Option::<u32>::decode_from(reader)?,
            block_complete: reader.read_bool()?,
            finalized: reader.read_bool()?,
        })
    }
}

/// How a transaction ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransactionOutcome {
    /// Executed and its effects applied (tag 0).
    Succeeded,
    /// Rejected by a ledger rule; nothing but the fee changed (tag 1).
    Failed {
        /// The rule's reason, at most [`MAX_FAILURE_REASON_BYTES`] bytes.
        reason: String,
    },
}

/// The stored status of a transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransactionStatus {
    /// The slot of the block that holds the transaction.
    pub slot: u64,
    /// Its outcome.
    pub outcome: TransactionOutcome,
}

impl Encode for TransactionStatus {
    fn encode_to(&self, out: &mut Vec<u8>) {
        RECORD_VERSION.encode_to(out);
        self.slot.encode_to(out);
        match &self.outcome {
            TransactionOutcome::Succeeded => 0u8.encode_to(out),
            TransactionOutcome::Failed { reason } => {
                1u8.encode_to(out);
                let mut end = reason.len().min(MAX_FAILURE_REASON_BYTES);
                while !reason.is_char_boundary(end) {
                    end -= 1;
                }
                encode_bytes(out, &reason.as_bytes()[..end]);
            }
        }
    }
}

impl Decode for TransactionStatus {
    const MIN_ENCODED_LEN: usize = 1 + 8 + 1;

    fn decode_from(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        read_version(reader, "transaction status")?;
        let slot = reader.read_u64()?;
        let tag_offset = reader.offset();
        let outcome = match reader.read_u8()? {
            0 => TransactionOutcome::Succeeded,
            1 => {
                let bytes = decode_bytes(reader, "failure_reason", MAX_FAILURE_REASON_BYTES)?;
                let reason = String::from_utf8(bytes).map_err(|_| DecodeError::NonCanonical {
                    offset: tag_offset + 1,
                    what: "failure reason is not UTF-8",
                })?;
                TransactionOutcome::Failed { reason }
            }
            tag => {
                return Err(DecodeError::UnknownTag {
                    offset: tag_offset,
                    what: "transaction outcome",
                    tag,
                });
            }
        };
        Ok(Self { slot, outcome })
    }
}

#[cfg(test)]
mod tests {
    use aether_types::codec::{decode_exact, encode};

    use super::*;

    #[test]
    fn records_round_trip_and_reject_other_versions() {
        let block = BlockMeta {
            slot: 9,
            hash: Hash([1; 32]),
            parent_slot: 7,
            parent_hash: Hash([2; 32]),
            state_root: Hash([3; 32]),
            transaction_ids: vec![Hash([4; 32]), Hash([5; 32])],
        };
        let slot = SlotMeta {
            slot: 9,
            parent_slot: Some(7),
            data_shred_count: 3,
            ..SlotMeta::default()
        };
        let status = TransactionStatus {
            slot: 9,
            outcome: TransactionOutcome::Failed {
                reason: "input already spent".into(),
            },
        };
        assert_eq!(decode_exact::<BlockMeta>(&encode(&block)).unwrap(), block);
        assert_eq!(decode_exact::<SlotMeta>(&encode(&slot)).unwrap(), slot);
        assert_eq!(
            decode_exact::<TransactionStatus>(&encode(&status)).unwrap(),
            status
        );
        for mut bytes in [encode(&block), encode(&slot), encode(&status)] {
            bytes[0] = 2;
            assert!(decode_exact::<SlotMeta>(&bytes).is_err());
            assert!(decode_exact::<BlockMeta>(&bytes).is_err());
            assert!(decode_exact::<TransactionStatus>(&bytes).is_err());
        }
    }

    #[test]
    fn long_failure_reasons_are_cut_at_a_character_boundary() {
        let status = TransactionStatus {
            slot: 1,
            outcome: TransactionOutcome::Failed {
                reason: "é".repeat(200),
            },
        };
        let decoded = decode_exact::<TransactionStatus>(&encode(&status)).unwrap();
        let TransactionOutcome::Failed { reason } = decoded.outcome else {
            panic!("failed")
        };
        assert!(reason.len() <= MAX_FAILURE_REASON_BYTES);
        assert!(reason.chars().all(|character| character == 'é'));
    }
}
