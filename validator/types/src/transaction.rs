//! Transactions: the signed body, its id, its declared read/write set and its wire form.
//!
//! - Transaction id = plain `BLAKE3(encode(body))`; signatures never change it.
//! - Each signature is an Ed25519 signature over the 32 id bytes.
//! - Inputs, reference inputs, state reads and state writes are sets: encoded strictly
//!   ascending (decode rejects disorder and duplicates). Outputs are a list: an output's
//!   position is its [`OutputReference::index`]. Signatures are strictly ascending by
//!   public key (one signature per key).
//! - A transaction's encoding is at most [`MAX_WIRE_TRANSACTION_BYTES`] wherever it
//!   appears (alone or inside a block), so every transaction fits one packet.

use thiserror::Error;

use crate::bytes::bounded_bytes;
use crate::codec::{
    Decode, DecodeError, Encode, Reader, decode_exact, decode_seq, decode_sorted_seq, encode,
    encode_seq, seq_encoded_len, varint_len,
};
use crate::{Hash, Output, OutputReference, hash_lanes};

/// The only transaction format version this code reads and writes.
pub const TRANSACTION_VERSION: u8 = 1;
/// Largest UDP payload that is never fragmented: the IPv6 minimum MTU of 1280 less the
/// 40-byte IPv6 and 8-byte UDP headers.
pub const PACKET_DATA_BYTES: usize = 1280 - 40 - 8;
/// Largest encoded transaction: one packet.
pub const MAX_WIRE_TRANSACTION_BYTES: usize = PACKET_DATA_BYTES;
/// Most inputs (consumed outputs) per transaction.
pub const MAX_TRANSACTION_INPUTS: usize = 32;
/// Most reference inputs (outputs only read) per transaction.
pub const MAX_REFERENCE_INPUTS: usize = 32;
/// Most outputs created per transaction.
pub const MAX_TRANSACTION_OUTPUTS: usize = 32;
/// Most state cells read per transaction.
pub const MAX_STATE_READS: usize = 32;
/// Most state cells written per transaction.
pub const MAX_STATE_WRITES: usize = 32;
/// Most program calls per transaction.
pub const MAX_PROGRAM_CALLS: usize = 8;
/// Most bytes of argument data in one program call.
pub const MAX_PROGRAM_CALL_DATA_BYTES: usize = 1024;
/// Most signatures per transaction.
pub const MAX_TRANSACTION_SIGNATURES: usize = 12;

// Output indices are u16.
const _: () = assert!(MAX_TRANSACTION_OUTPUTS <= u16::MAX as usize + 1);
// The largest signature set still leaves room for a minimal body inside one packet.
const _: () = assert!(
    MAX_TRANSACTION_SIGNATURES * TransactionSignature::ENCODED_LEN
        + TransactionBody::MIN_ENCODED_LEN
        + varint_len(MAX_TRANSACTION_SIGNATURES as u32)
        <= MAX_WIRE_TRANSACTION_BYTES
);

/// The slots in which a transaction may be included, both ends inclusive.
/// Encoding: `first_slot: u64`, `last_slot: u64`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ValidityWindow {
    /// First slot it may land in.
    pub first_slot: u64,
    /// Last slot it may land in.
    pub last_slot: u64,
}

impl ValidityWindow {
    /// True when `slot` is inside the window.
    pub fn contains(&self, slot: u64) -> bool {
        self.first_slot <= slot && slot <= self.last_slot
    }
}

impl Encode for ValidityWindow {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.first_slot.encode_to(out);
        self.last_slot.encode_to(out);
    }
    fn encoded_len(&self) -> usize {
        16
    }
}

impl Decode for ValidityWindow {
    const MIN_ENCODED_LEN: usize = 16;
    fn decode_from(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(ValidityWindow {
            first_slot: reader.read_u64()?,
            last_slot: reader.read_u64()?,
        })
    }
}

bounded_bytes!(
    /// Argument bytes of a program call (at most [`MAX_PROGRAM_CALL_DATA_BYTES`]).
    ProgramCallData,
    max = MAX_PROGRAM_CALL_DATA_BYTES,
    field = "program_call.data"
);

/// One call into a program. Encoding: program hash, `entry: u32`, length-prefixed data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgramCall {
    /// The program's hash.
    pub program: Hash,
    /// Which entry point to run.
    pub entry: u32,
    /// Its argument bytes.
    pub data: ProgramCallData,
}

impl Encode for ProgramCall {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.program.encode_to(out);
        self.entry.encode_to(out);
        self.data.encode_to(out);
    }
    fn encoded_len(&self) -> usize {
        Hash::LEN + 4 + self.data.encoded_len()
    }
}

impl Decode for ProgramCall {
    const MIN_ENCODED_LEN: usize = Hash::LEN + 4 + 1;
    fn decode_from(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(ProgramCall {
            program: Hash::decode_from(reader)?,
            entry: reader.read_u32()?,
            data: ProgramCallData::decode_from(reader)?,
        })
    }
}

/// Everything a transaction says, without its signatures. Encoded in field order; every
/// sequence is a varint count then its items.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransactionBody {
    /// Format version; must be [`TRANSACTION_VERSION`].
    pub version: u8,
    /// Outputs consumed (writes), strictly ascending.
    pub inputs: Vec<OutputReference>,
    /// Outputs only read, strictly ascending.
    pub reference_inputs: Vec<OutputReference>,
    /// Outputs created, in index order.
    pub outputs: Vec<Output>,
    /// State cell keys read, strictly ascending.
    pub state_reads: Vec<Hash>,
    /// State cell keys written, strictly ascending.
    pub state_writes: Vec<Hash>,
    /// Fee in AETH base units.
    pub fee: u64,
    /// Slots it may be included in.
    pub validity: ValidityWindow,
    /// Programs to run, in order.
    pub program_calls: Vec<ProgramCall>,
}

impl TransactionBody {
    /// The transaction id: plain `BLAKE3(encode(self))`.
    pub fn id(&self) -> Hash {
        Hash::digest(&encode(self))
    }

    /// Keys this transaction writes: its inputs' keys (they are consumed) and its state
    /// writes. Keys of created outputs are left out: they derive from the id and never
    /// conflict.
    pub fn write_keys(&self) -> impl Iterator<Item = Hash> + '_ {
        let inputs = self.inputs.iter().map(OutputReference::key);
        inputs.chain(self.state_writes.iter().copied())
    }

    /// Keys this transaction only reads: its reference inputs' keys and its state reads.
    pub fn read_keys(&self) -> impl Iterator<Item = Hash> + '_ {
        let references = self.reference_inputs.iter().map(OutputReference::key);
        references.chain(self.state_reads.iter().copied())
    }

    /// Sorts and deduplicates the four key sets into the order decoding requires.
    pub fn sort_sets(&mut self) {
        for set in [&mut self.inputs, &mut self.reference_inputs] {
            set.sort_unstable();
            set.dedup();
        }
        for set in [&mut self.state_reads, &mut self.state_writes] {
            set.sort_unstable();
            set.dedup();
        }
    }
}

impl Encode for TransactionBody {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.version.encode_to(out);
        encode_seq(out, &self.inputs, MAX_TRANSACTION_INPUTS);
        encode_seq(out, &self.reference_inputs, MAX_REFERENCE_INPUTS);
        encode_seq(out, &self.outputs, MAX_TRANSACTION_OUTPUTS);
        encode_seq(out, &self.state_reads, MAX_STATE_READS);
        encode_seq(out, &self.state_writes, MAX_STATE_WRITES);
        self.fee.encode_to(out);
        self.validity.encode_to(out);
        encode_seq(out, &self.program_calls, MAX_PROGRAM_CALLS);
    }
    // Computed, not encoded: execution checks every transaction's size against its fee.
    fn encoded_len(&self) -> usize {
        1 + seq_encoded_len(&self.inputs)
            + seq_encoded_len(&self.reference_inputs)
            + seq_encoded_len(&self.outputs)
            + seq_encoded_len(&self.state_reads)
            + seq_encoded_len(&self.state_writes)
            + 8
            + self.validity.encoded_len()
            + seq_encoded_len(&self.program_calls)
    }
}

impl Decode for TransactionBody {
    /// Version, six empty sequences, fee and validity window.
    const MIN_ENCODED_LEN: usize = 1 + 6 + 8 + ValidityWindow::MIN_ENCODED_LEN;
    fn decode_from(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let version = reader.read_u8()?;
        if version != TRANSACTION_VERSION {
            return Err(DecodeError::UnsupportedVersion {
                what: "transaction",
                version,
            });
        }
        Ok(TransactionBody {
            version,
            inputs: decode_sorted_seq(reader, "transaction.inputs", MAX_TRANSACTION_INPUTS, |r| {
                *r
            })?,
            reference_inputs: decode_sorted_seq(
                reader,
                "transaction.reference_inputs",
                MAX_REFERENCE_INPUTS,
                |r| *r,
            )?,
            outputs: decode_seq(reader, "transaction.outputs", MAX_TRANSACTION_OUTPUTS)?,
            state_reads: decode_sorted_seq(
                reader,
                "transaction.state_reads",
                MAX_STATE_READS,
                |h| *h,
            )?,
            state_writes: decode_sorted_seq(
                reader,
                "transaction.state_writes",
                MAX_STATE_WRITES,
                |h| *h,
            )?,
            fee: reader.read_u64()?,
            validity: ValidityWindow::decode_from(reader)?,
            program_calls: decode_seq(reader, "transaction.program_calls", MAX_PROGRAM_CALLS)?,
        })
    }
}

/// An Ed25519 signature over the transaction id's 32 bytes, with the signing key.
/// Encoding: 32-byte key, 64-byte signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TransactionSignature {
    /// The Ed25519 public key.
    pub public_key: [u8; 32],
    /// The Ed25519 signature of the transaction id.
    pub signature: [u8; 64],
}

impl TransactionSignature {
    /// Encoded size.
    pub const ENCODED_LEN: usize = 32 + 64;
}

impl Encode for TransactionSignature {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.public_key.encode_to(out);
        self.signature.encode_to(out);
    }
    fn encoded_len(&self) -> usize {
        Self::ENCODED_LEN
    }
}

impl Decode for TransactionSignature {
    const MIN_ENCODED_LEN: usize = Self::ENCODED_LEN;
    fn decode_from(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(TransactionSignature {
            public_key: reader.read_array()?,
            signature: reader.read_array()?,
        })
    }
}

/// A body and its signatures. Encoding: body, then the signatures (strictly ascending by
/// public key); the whole is at most [`MAX_WIRE_TRANSACTION_BYTES`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transaction {
    /// What is signed (through its id).
    pub body: TransactionBody,
    /// Signatures of the id, strictly ascending by public key.
    pub signatures: Vec<TransactionSignature>,
}

/// Why a transaction could not be put on, or taken off, the wire.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum WireError {
    /// The encoding is longer than one packet allows.
    #[error("transaction is {length} bytes, over the {max}-byte wire limit")]
    TooLarge {
        /// Its length.
        length: usize,
        /// [`MAX_WIRE_TRANSACTION_BYTES`].
        max: usize,
    },
    /// The bytes are not a canonical transaction (on the way out: the value breaks a limit
    /// or ordering rule, so peers would reject it).
    #[error("invalid transaction: {0}")]
    Invalid(#[from] DecodeError),
}

impl Transaction {
    /// The transaction id (see [`TransactionBody::id`]).
    pub fn transaction_id(&self) -> Hash {
        self.body.id()
    }

    /// See [`TransactionBody::write_keys`].
    pub fn write_keys(&self) -> impl Iterator<Item = Hash> + '_ {
        self.body.write_keys()
    }

    /// See [`TransactionBody::read_keys`].
    pub fn read_keys(&self) -> impl Iterator<Item = Hash> + '_ {
        self.body.read_keys()
    }

    /// References to the outputs this transaction creates, in index order.
    pub fn output_references(&self) -> impl Iterator<Item = OutputReference> + '_ {
        let transaction_id = self.transaction_id();
        (0..self.body.outputs.len()).map(move |index| OutputReference {
            transaction_id,
            index: u16::try_from(index).expect("output count is bounded by u16"),
        })
    }

    /// The packet bytes: the canonical encoding, refused when it is longer than
    /// [`MAX_WIRE_TRANSACTION_BYTES`] or would not decode (so `from_wire` accepts
    /// whatever this returns).
    pub fn to_wire(&self) -> Result<Vec<u8>, WireError> {
        let bytes = encode(self);
        if bytes.len() > MAX_WIRE_TRANSACTION_BYTES {
            return Err(WireError::TooLarge {
                length: bytes.len(),
                max: MAX_WIRE_TRANSACTION_BYTES,
            });
        }
        decode_exact::<Transaction>(&bytes)?;
        Ok(bytes)
    }

    /// Parses packet bytes; the length is checked before any parsing.
    pub fn from_wire(bytes: &[u8]) -> Result<Transaction, WireError> {
        if bytes.len() > MAX_WIRE_TRANSACTION_BYTES {
            return Err(WireError::TooLarge {
                length: bytes.len(),
                max: MAX_WIRE_TRANSACTION_BYTES,
            });
        }
        Ok(decode_exact(bytes)?)
    }

    /// [`Transaction::from_wire`] plus the length of the body's encoding.
    fn from_wire_with_body_length(bytes: &[u8]) -> Result<(Transaction, usize), WireError> {
        if bytes.len() > MAX_WIRE_TRANSACTION_BYTES {
            return Err(WireError::TooLarge {
                length: bytes.len(),
                max: MAX_WIRE_TRANSACTION_BYTES,
            });
        }
        let mut reader = Reader::new(bytes);
        let decoded = Transaction::decode_with_body_length(&mut reader)?;
        reader.finish()?;
        Ok(decoded)
    }

    /// [`Transaction::from_wire`] for each of `packets`, in order, with the transaction
    /// ids. An id is hashed straight from the body's bytes in the packet instead of
    /// re-encoding the decoded body: equal to [`Transaction::transaction_id`] because
    /// decoding accepts only the canonical encoding, so the body bytes that decode are
    /// exactly `encode(body)`. The ids of a batch are hashed together
    /// ([`hash_lanes::hash_grouped`]: bodies of equal length share multi-input
    /// compressions), not one by one.
    pub fn from_wire_batch(packets: &[&[u8]]) -> Vec<Result<(Transaction, Hash), WireError>> {
        // Decoded in place with a placeholder id (a transaction is moved once), the
        // ids filled in after.
        let mut bodies: Vec<&[u8]> = Vec::with_capacity(packets.len());
        let mut decoded: Vec<Result<(Transaction, Hash), WireError>> = packets
            .iter()
            .map(|bytes| {
                let (transaction, body_length) = Transaction::from_wire_with_body_length(bytes)?;
                bodies.push(&bytes[..body_length]);
                Ok((transaction, Hash::ZERO))
            })
            .collect();
        let ids = hash_lanes::hash_grouped(&hash_lanes::Mode::plain(), &bodies);
        let slots = decoded
            .iter_mut()
            .filter_map(|decoded| decoded.as_mut().ok());
        for ((_, id), hashed) in slots.zip(ids) {
            *id = hashed;
        }
        decoded
    }
}

impl Encode for Transaction {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.body.encode_to(out);
        encode_seq(out, &self.signatures, MAX_TRANSACTION_SIGNATURES);
    }
    fn encoded_len(&self) -> usize {
        self.body.encoded_len() + seq_encoded_len(&self.signatures)
    }
}

impl Transaction {
    /// Decodes a transaction and returns it with the length of its body encoding.
    fn decode_with_body_length(reader: &mut Reader<'_>) -> Result<(Self, usize), DecodeError> {
        let start = reader.offset();
        let body = TransactionBody::decode_from(reader)?;
        let body_length = reader.offset() - start;
        let signatures = decode_sorted_seq(
            reader,
            "transaction.signatures",
            MAX_TRANSACTION_SIGNATURES,
            |signature: &TransactionSignature| signature.public_key,
        )?;
        let length = reader.offset() - start;
        if length > MAX_WIRE_TRANSACTION_BYTES {
            return Err(DecodeError::LengthTooLarge {
                field: "transaction (encoded bytes)",
                length: length as u64,
                max: MAX_WIRE_TRANSACTION_BYTES as u64,
            });
        }
        Ok((Transaction { body, signatures }, body_length))
    }
}

impl Decode for Transaction {
    const MIN_ENCODED_LEN: usize = TransactionBody::MIN_ENCODED_LEN + 1;
    fn decode_from(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self::decode_with_body_length(reader)?.0)
    }
}
