//! Block headers (signed with KES under an operational certificate) and blocks.
//!
//! - Block hash = plain `BLAKE3(encode(BlockHeader))`, over the unsigned header, so the
//!   hash does not depend on the KES signature.
//! - The KES signature signs [`BlockHeader::signing_message`]:
//!   `b"aether.block-header.v1" ‖ block hash`.
//! - The cold key signs the message defined once, in
//!   `aether_crypto::operational_certificate` (this crate only carries the bytes).
//! - A block's `transaction_count` must equal its number of transactions (checked on
//!   decode). Its `transactions_root` is not checked here: it costs a hash per
//!   transaction; the ledger compares it with [`Block::computed_transactions_root`].

use crate::bytes::bounded_bytes;
use crate::codec::{
    Decode, DecodeError, Encode, Reader, decode_seq, encode, encode_seq, seq_encoded_len,
};
use crate::merkle::transactions_root;
use crate::{Hash, QuorumCertificate, Transaction, ValidatorIndex};

/// The only block header format version this code reads and writes.
pub const BLOCK_HEADER_VERSION: u8 = 1;
/// Bytes in an ECVRF-EDWARDS25519-SHA512-TAI proof (RFC 9381: Γ 32, c 16, s 32).
pub const VRF_PROOF_BYTES: usize = 80;
/// Most bytes in a KES signature (sum composition of depth 6 over Ed25519 is 448).
pub const MAX_KES_SIGNATURE_BYTES: usize = 1024;
/// Most transactions in one block: with 500 ms slots, 131k transactions per second,
/// above what the pipeline reaches on any machine it runs on today.
pub const MAX_BLOCK_TRANSACTIONS: usize = 65_536;
/// Most bytes in a block's canonical encoding (27 MiB): what one slot's data shreds
/// carry (the shred crate asserts it fits), and what a leader fills a block up to. A
/// block of [`MAX_BLOCK_TRANSACTIONS`] transfers (about 250 bytes each) is well under it.
pub const MAX_BLOCK_BYTES: usize = 27 << 20;
/// Domain tag of the block header signing message.
pub const BLOCK_HEADER_SIGNING_DOMAIN: &[u8] = b"aether.block-header.v1";
/// Length of the block header signing message.
pub const BLOCK_HEADER_SIGNING_MESSAGE_BYTES: usize = BLOCK_HEADER_SIGNING_DOMAIN.len() + Hash::LEN;

// A depth-6 Ed25519 sum-KES signature (7 × 64-byte signature/key material) fits.
const _: () = assert!(448 <= MAX_KES_SIGNATURE_BYTES);
// The header count field is a u32.
const _: () = assert!(MAX_BLOCK_TRANSACTIONS <= u32::MAX as usize);

/// The cold key's authorisation of a KES key from `start_period` on.
/// Encoding: KES public key, counter, start period, cold signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperationalCertificate {
    /// The KES verification key (root of the sum composition).
    pub kes_public_key: [u8; 32],
    /// Issue counter; a higher counter supersedes a lower one.
    pub counter: u64,
    /// First KES period the key may sign in.
    pub start_period: u32,
    /// Ed25519 signature by the cold key over the message of
    /// `aether_crypto::operational_certificate::OperationalCertificate::signing_message`.
    pub cold_signature: [u8; 64],
}

impl OperationalCertificate {
    /// Encoded size.
    pub const ENCODED_LEN: usize = 32 + 8 + 4 + 64;
}

impl Encode for OperationalCertificate {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.kes_public_key.encode_to(out);
        self.counter.encode_to(out);
        self.start_period.encode_to(out);
        self.cold_signature.encode_to(out);
    }
    fn encoded_len(&self) -> usize {
        Self::ENCODED_LEN
    }
}

impl Decode for OperationalCertificate {
    const MIN_ENCODED_LEN: usize = Self::ENCODED_LEN;
    fn decode_from(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(OperationalCertificate {
            kes_public_key: reader.read_array()?,
            counter: reader.read_u64()?,
            start_period: reader.read_u32()?,
            cold_signature: reader.read_array()?,
        })
    }
}

/// A block header without its signature. Encoded in field order; fixed size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockHeader {
    /// Format version; must be [`BLOCK_HEADER_VERSION`].
    pub version: u8,
    /// The slot (and consensus round) of this block.
    pub slot: u64,
    /// The parent block's slot.
    pub parent_slot: u64,
    /// The parent block's hash.
    pub parent_hash: Hash,
    /// The leader, as an index into the epoch's validator set.
    pub leader: ValidatorIndex,
    /// [`transactions_root`] of the block's transaction ids.
    pub transactions_root: Hash,
    /// State commitment after applying the block.
    pub state_root: Hash,
    /// Number of transactions in the block.
    pub transaction_count: u32,
    /// The leader's VRF proof for this slot.
    pub vrf_proof: [u8; VRF_PROOF_BYTES],
    /// The KES period the header is signed in.
    pub kes_period: u32,
    /// Authorises the KES key that signs the header.
    pub operational_certificate: OperationalCertificate,
}

impl BlockHeader {
    /// Encoded size.
    pub const ENCODED_LEN: usize = 1
        + 8
        + 8
        + Hash::LEN
        + 4
        + Hash::LEN
        + Hash::LEN
        + 4
        + VRF_PROOF_BYTES
        + 4
        + OperationalCertificate::ENCODED_LEN;

    /// The block hash: plain `BLAKE3(encode(self))`.
    pub fn hash(&self) -> Hash {
        Hash::digest(&encode(self))
    }

    /// The bytes the KES key signs: `BLOCK_HEADER_SIGNING_DOMAIN ‖ self.hash()`.
    pub fn signing_message(&self) -> [u8; BLOCK_HEADER_SIGNING_MESSAGE_BYTES] {
        let mut message = [0u8; BLOCK_HEADER_SIGNING_MESSAGE_BYTES];
        let domain = BLOCK_HEADER_SIGNING_DOMAIN.len();
        message[..domain].copy_from_slice(BLOCK_HEADER_SIGNING_DOMAIN);
        message[domain..].copy_from_slice(self.hash().as_bytes());
        message
    }
}

impl Encode for BlockHeader {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.version.encode_to(out);
        self.slot.encode_to(out);
        self.parent_slot.encode_to(out);
        self.parent_hash.encode_to(out);
        self.leader.encode_to(out);
        self.transactions_root.encode_to(out);
        self.state_root.encode_to(out);
        self.transaction_count.encode_to(out);
        self.vrf_proof.encode_to(out);
        self.kes_period.encode_to(out);
        self.operational_certificate.encode_to(out);
    }
    fn encoded_len(&self) -> usize {
        Self::ENCODED_LEN
    }
}

impl Decode for BlockHeader {
    const MIN_ENCODED_LEN: usize = Self::ENCODED_LEN;
    fn decode_from(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let version = reader.read_u8()?;
        if version != BLOCK_HEADER_VERSION {
            return Err(DecodeError::UnsupportedVersion {
                what: "block header",
                version,
            });
        }
        Ok(BlockHeader {
            version,
            slot: reader.read_u64()?,
            parent_slot: reader.read_u64()?,
            parent_hash: Hash::decode_from(reader)?,
            leader: ValidatorIndex::decode_from(reader)?,
            transactions_root: Hash::decode_from(reader)?,
            state_root: Hash::decode_from(reader)?,
            transaction_count: reader.read_u32()?,
            vrf_proof: reader.read_array()?,
            kes_period: reader.read_u32()?,
            operational_certificate: OperationalCertificate::decode_from(reader)?,
        })
    }
}

bounded_bytes!(
    /// A KES signature (at most [`MAX_KES_SIGNATURE_BYTES`]).
    KesSignature,
    max = MAX_KES_SIGNATURE_BYTES,
    field = "signed_block_header.kes_signature"
);

/// A header with the leader's KES signature over [`BlockHeader::signing_message`].
/// Encoding: header, length-prefixed signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedBlockHeader {
    /// The header.
    pub header: BlockHeader,
    /// The KES signature.
    pub kes_signature: KesSignature,
}

impl SignedBlockHeader {
    /// The block hash (of the unsigned header).
    pub fn hash(&self) -> Hash {
        self.header.hash()
    }
}

impl Encode for SignedBlockHeader {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.header.encode_to(out);
        self.kes_signature.encode_to(out);
    }
}

impl Decode for SignedBlockHeader {
    const MIN_ENCODED_LEN: usize = BlockHeader::ENCODED_LEN + 1;
    fn decode_from(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(SignedBlockHeader {
            header: BlockHeader::decode_from(reader)?,
            kes_signature: KesSignature::decode_from(reader)?,
        })
    }
}

/// A whole block. Encoding: signed header, optional QC, transactions (varint count, at
/// most [`MAX_BLOCK_TRANSACTIONS`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    /// The signed header.
    pub header: SignedBlockHeader,
    /// The QC this block extends (certifying its parent); `None` only for genesis.
    pub justify: Option<QuorumCertificate>,
    /// The transactions, in execution order.
    pub transactions: Vec<Transaction>,
}

impl Block {
    /// The block hash (of the unsigned header).
    pub fn hash(&self) -> Hash {
        self.header.hash()
    }

    /// The Merkle root of this block's transaction ids, to compare with the header's.
    pub fn computed_transactions_root(&self) -> Hash {
        let ids: Vec<Hash> = self
            .transactions
            .iter()
            .map(Transaction::transaction_id)
            .collect();
        transactions_root(&ids)
    }
}

impl Encode for Block {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.header.encode_to(out);
        self.justify.encode_to(out);
        encode_seq(out, &self.transactions, MAX_BLOCK_TRANSACTIONS);
    }
    fn encoded_len(&self) -> usize {
        self.header.encoded_len() + self.justify.encoded_len() + seq_encoded_len(&self.transactions)
    }
}

impl Decode for Block {
    const MIN_ENCODED_LEN: usize = SignedBlockHeader::MIN_ENCODED_LEN + 1 + 1;
    fn decode_from(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let header = SignedBlockHeader::decode_from(reader)?;
        let justify = Option::<QuorumCertificate>::decode_from(reader)?;
        let transactions: Vec<Transaction> =
            decode_seq(reader, "block.transactions", MAX_BLOCK_TRANSACTIONS)?;
        let expected = header.header.transaction_count;
        if transactions.len() != expected as usize {
            return Err(DecodeError::CountMismatch {
                field: "block.transactions",
                expected: u64::from(expected),
                actual: transactions.len() as u64,
            });
        }
        Ok(Block {
            header,
            justify,
            transactions,
        })
    }
}
