//! Validator indices and the signer bitmap carried by certificates.

use crate::BuildError;
use crate::codec::{Decode, DecodeError, Encode, Reader, varint_len, write_varint};

/// Most validators in one epoch's validator set (so most bits in a [`SignerBitmap`]).
pub const MAX_VALIDATORS: usize = 4096;

/// A validator's position in the current epoch's validator set. Encoding: `u32`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct ValidatorIndex(pub u32);

impl Encode for ValidatorIndex {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.0.encode_to(out);
    }
    fn encoded_len(&self) -> usize {
        4
    }
}

impl Decode for ValidatorIndex {
    const MIN_ENCODED_LEN: usize = 4;
    fn decode_from(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(ValidatorIndex(reader.read_u32()?))
    }
}

/// A fixed-length bit vector over validator indices `0..len`.
///
/// Encoding: varint `len` (at most [`MAX_VALIDATORS`]), then exactly `ceil(len / 8)`
/// bytes; bit `i` is bit `i % 8` (least significant first) of byte `i / 8`. Canonical:
/// the byte count follows from `len` (no trailing bytes), and the padding bits above `len`
/// in the last byte are zero (decode rejects them otherwise).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SignerBitmap {
    len: u32,
    bytes: Vec<u8>,
}

impl SignerBitmap {
    /// All-clear bitmap over `len` validators.
    pub fn new(len: usize) -> Result<SignerBitmap, BuildError> {
        if len > MAX_VALIDATORS {
            return Err(BuildError::TooLong {
                what: "signer bitmap",
                length: len,
                max: MAX_VALIDATORS,
            });
        }
        Ok(SignerBitmap {
            len: len as u32,
            bytes: vec![0; len.div_ceil(8)],
        })
    }

    /// A bitmap over `len` validators with `signers` set.
    pub fn from_signers(
        len: usize,
        signers: impl IntoIterator<Item = ValidatorIndex>,
    ) -> Result<SignerBitmap, BuildError> {
        let mut bitmap = SignerBitmap::new(len)?;
        for signer in signers {
            bitmap.set(signer)?;
        }
        Ok(bitmap)
    }

    /// Number of validators covered (bits, not bytes).
    pub fn len(&self) -> usize {
        self.len as usize
    }

    /// True when it covers no validator.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Marks `index` as a signer.
    pub fn set(&mut self, index: ValidatorIndex) -> Result<(), BuildError> {
        if index.0 >= self.len {
            return Err(BuildError::IndexOutOfRange {
                what: "signer bitmap",
                index: u64::from(index.0),
                length: u64::from(self.len),
            });
        }
        self.bytes[(index.0 / 8) as usize] |= 1 << (index.0 % 8);
        Ok(())
    }

    /// True when `index` is marked (false when it is outside the bitmap).
    pub fn get(&self, index: ValidatorIndex) -> bool {
        index.0 < self.len && self.bytes[(index.0 / 8) as usize] & (1 << (index.0 % 8)) != 0
    }

    /// Number of signers.
    pub fn count(&self) -> usize {
        self.bytes
            .iter()
            .map(|byte| byte.count_ones() as usize)
            .sum()
    }

    /// Signers in ascending order.
    pub fn iter(&self) -> impl Iterator<Item = ValidatorIndex> + '_ {
        (0..self.len)
            .map(ValidatorIndex)
            .filter(|index| self.get(*index))
    }

    /// The padding bits of the last byte of a `len`-bit bitmap (zero when `len % 8 == 0`).
    fn padding_mask(len: u32) -> u8 {
        match len % 8 {
            0 => 0,
            used => 0xff << used,
        }
    }
}

impl Encode for SignerBitmap {
    fn encode_to(&self, out: &mut Vec<u8>) {
        debug_assert_eq!(self.bytes.len(), (self.len as usize).div_ceil(8));
        write_varint(out, self.len);
        out.extend_from_slice(&self.bytes);
    }
    fn encoded_len(&self) -> usize {
        varint_len(self.len) + self.bytes.len()
    }
}

impl Decode for SignerBitmap {
    const MIN_ENCODED_LEN: usize = 1;
    fn decode_from(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let len = reader.read_varint()?;
        if len as usize > MAX_VALIDATORS {
            return Err(DecodeError::LengthTooLarge {
                field: "signer_bitmap.len",
                length: u64::from(len),
                max: MAX_VALIDATORS as u64,
            });
        }
        let offset = reader.offset();
        let bytes = reader.read_bytes((len as usize).div_ceil(8))?.to_vec();
        if let Some(last) = bytes.last()
            && last & Self::padding_mask(len) != 0
        {
            return Err(DecodeError::NonCanonical {
                offset: offset + bytes.len() - 1,
                what: "signer bitmap padding bits",
            });
        }
        Ok(SignerBitmap { len, bytes })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::{decode_exact, encode};

    #[test]
    fn set_get_count_iter() {
        let mut bitmap = SignerBitmap::new(10).unwrap();
        for index in [0, 3, 9] {
            bitmap.set(ValidatorIndex(index)).unwrap();
        }
        assert_eq!(bitmap.count(), 3);
        assert!(bitmap.get(ValidatorIndex(9)) && !bitmap.get(ValidatorIndex(8)));
        assert!(!bitmap.get(ValidatorIndex(10)));
        assert_eq!(
            bitmap.iter().collect::<Vec<_>>(),
            [ValidatorIndex(0), ValidatorIndex(3), ValidatorIndex(9)]
        );
        assert_eq!(
            bitmap.set(ValidatorIndex(10)),
            Err(BuildError::IndexOutOfRange {
                what: "signer bitmap",
                index: 10,
                length: 10
            })
        );
        assert_eq!(encode(&bitmap), [10, 0b0000_1001, 0b0000_0010]);
        assert!(SignerBitmap::new(MAX_VALIDATORS + 1).is_err());
    }

    #[test]
    fn padding_bits_must_be_zero() {
        assert_eq!(
            decode_exact::<SignerBitmap>(&[10, 0, 0b0000_0100]),
            Err(DecodeError::NonCanonical {
                offset: 2,
                what: "signer bitmap padding bits"
            })
        );
        // A whole last byte is all data, no padding.
        assert!(decode_exact::<SignerBitmap>(&[8, 0xff]).is_ok());
        assert_eq!(
            decode_exact::<SignerBitmap>(&[0]),
            Ok(SignerBitmap::new(0).unwrap())
        );
    }

    #[test]
    fn length_over_max_is_rejected() {
        let mut bytes = Vec::new();
        write_varint(&mut bytes, MAX_VALIDATORS as u32 + 1);
        assert_eq!(
            decode_exact::<SignerBitmap>(&bytes),
            Err(DecodeError::LengthTooLarge {
                field: "signer_bitmap.len",
                length: MAX_VALIDATORS as u64 + 1,
                max: MAX_VALIDATORS as u64
            })
        );
    }
}
