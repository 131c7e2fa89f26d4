//! Outputs (UTxOs), their locks and datums, and references to them.

use crate::bytes::bounded_bytes;
use crate::codec::{Decode, DecodeError, Encode, Reader};
use crate::hash::Domain;
use crate::{Hash, Value};

/// Most bytes in one [`Datum`].
pub const MAX_DATUM_BYTES: usize = 1024;

/// Who may spend an output. Encoding: tag `u8` (0 = public-key hash, 1 = program), then
/// the 32-byte hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Lock {
    /// Spendable with an Ed25519 signature by the key whose plain BLAKE3 hash this is
    /// (see [`Lock::for_public_key`]).
    PublicKeyHash(Hash),
    /// Spendable when the program with this hash approves.
    Program(Hash),
}

impl Lock {
    /// The lock for an Ed25519 public key: `PublicKeyHash(BLAKE3(public_key))`.
    pub fn for_public_key(public_key: &[u8; 32]) -> Lock {
        Lock::PublicKeyHash(Hash::digest(public_key))
    }

    /// The hash the lock names (a key's hash or a program's): the output's address.
    pub fn hash(&self) -> Hash {
        match self {
            Lock::PublicKeyHash(hash) | Lock::Program(hash) => *hash,
        }
    }
}

impl Encode for Lock {
    fn encode_to(&self, out: &mut Vec<u8>) {
        let (tag, hash) = match self {
            Lock::PublicKeyHash(hash) => (0u8, hash),
            Lock::Program(hash) => (1u8, hash),
        };
        out.push(tag);
        hash.encode_to(out);
    }
    fn encoded_len(&self) -> usize {
        1 + Hash::LEN
    }
}

impl Decode for Lock {
    const MIN_ENCODED_LEN: usize = 1 + Hash::LEN;
    fn decode_from(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let offset = reader.offset();
        match reader.read_u8()? {
            0 => Ok(Lock::PublicKeyHash(Hash::decode_from(reader)?)),
            1 => Ok(Lock::Program(Hash::decode_from(reader)?)),
            tag => Err(DecodeError::UnknownTag {
                offset,
                what: "lock",
                tag,
            }),
        }
    }
}

bounded_bytes!(
    /// Data attached to an output for the program that locks it (at most
    /// [`MAX_DATUM_BYTES`]).
    Datum,
    max = MAX_DATUM_BYTES,
    field = "output.datum"
);

/// One unspent output. Encoding: lock, value, optional datum.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    /// Who may spend it.
    pub lock: Lock,
    /// What it holds.
    pub value: Value,
    /// Data for the locking program.
    pub datum: Option<Datum>,
}

impl Encode for Output {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.lock.encode_to(out);
        self.value.encode_to(out);
        self.datum.encode_to(out);
    }
    fn encoded_len(&self) -> usize {
        self.lock.encoded_len() + self.value.encoded_len() + self.datum.encoded_len()
    }
}

impl Decode for Output {
    const MIN_ENCODED_LEN: usize =
        Lock::MIN_ENCODED_LEN + Value::MIN_ENCODED_LEN + Option::<Datum>::MIN_ENCODED_LEN;
    fn decode_from(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Output {
            lock: Lock::decode_from(reader)?,
            value: Value::decode_from(reader)?,
            datum: Option::<Datum>::decode_from(reader)?,
        })
    }
}

/// Names an output: the transaction that created it and its position there.
/// Ordered by `(transaction_id, index)`. Encoding: 32-byte id, `u16` index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OutputReference {
    /// Id of the creating transaction.
    pub transaction_id: Hash,
    /// Position in that transaction's outputs.
    pub index: u16,
}

impl OutputReference {
    /// Encoded size.
    pub const ENCODED_LEN: usize = Hash::LEN + 2;

    /// The output's 32-byte state key:
    /// `BLAKE3-derive-key(Domain::OutputKey, transaction_id ‖ index as u16 LE)`.
    /// Domain separation keeps it apart from state-cell keys and every other hash.
    pub fn key(&self) -> Hash {
        Hash::digest_with_domain(
            Domain::OutputKey,
            &[self.transaction_id.as_bytes(), &self.index.to_le_bytes()],
        )
    }
}

impl Encode for OutputReference {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.transaction_id.encode_to(out);
        self.index.encode_to(out);
    }
    fn encoded_len(&self) -> usize {
        Self::ENCODED_LEN
    }
}

impl Decode for OutputReference {
    const MIN_ENCODED_LEN: usize = Self::ENCODED_LEN;
    fn decode_from(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(OutputReference {
            transaction_id: Hash::decode_from(reader)?,
            index: reader.read_u16()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::decode_exact;

    #[test]
    fn unknown_lock_tag_is_rejected() {
        let mut bytes = vec![2];
        bytes.extend_from_slice(&[0; 32]);
        assert_eq!(
            decode_exact::<Lock>(&bytes),
            Err(DecodeError::UnknownTag {
                offset: 0,
                what: "lock",
                tag: 2
            })
        );
    }

    #[test]
    fn output_key_depends_on_id_and_index_and_is_domain_separated() {
        let reference = OutputReference {
            transaction_id: Hash([7; 32]),
            index: 1,
        };
        let other_index = OutputReference {
            index: 2,
            ..reference
        };
        let other_id = OutputReference {
            transaction_id: Hash([8; 32]),
            ..reference
        };
        assert_ne!(reference.key(), other_index.key());
        assert_ne!(reference.key(), other_id.key());
        assert_ne!(
            reference.key(),
            Hash::digest(&crate::codec::encode(&reference))
        );
    }

    #[test]
    fn datum_constructor_checks_its_bound() {
        assert!(Datum::new(vec![0; MAX_DATUM_BYTES]).is_ok());
        assert_eq!(
            Datum::new(vec![0; MAX_DATUM_BYTES + 1]),
            Err(crate::BuildError::TooLong {
                what: "output.datum",
                length: MAX_DATUM_BYTES + 1,
                max: MAX_DATUM_BYTES
            })
        );
    }
}
