//! The one canonical binary codec (rules in the crate docs).
//!
//! Writing never fails: [`Encode::encode_to`] appends to a `Vec<u8>`. Reading goes through a
//! [`Reader`] that tracks its offset and turns every malformed input into a [`DecodeError`];
//! nothing here panics on input bytes, and no allocation happens before the length it is
//! sized by has been checked against both its maximum and the bytes that remain.
//!
//! There is deliberately no blanket `Encode`/`Decode` for `Vec<T>`: every sequence goes
//! through [`encode_seq`] / [`decode_seq`] with a field name and a maximum, so no sequence
//! can be decoded without a bound.

use thiserror::Error;

/// Why bytes did not decode. Offsets are absolute byte offsets into the decoded input.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DecodeError {
    /// The input ended before the value did.
    #[error("unexpected end of input at byte {offset}: needed {needed} bytes, {available} left")]
    UnexpectedEnd {
        /// Where the read started.
        offset: usize,
        /// Bytes the read needed.
        needed: usize,
        /// Bytes that were left.
        available: usize,
    },
    /// A length or count is over the maximum for its field.
    #[error("{field}: length {length} is over the maximum of {max}")]
    LengthTooLarge {
        /// The field.
        field: &'static str,
        /// The length found.
        length: u64,
        /// The field's maximum.
        max: u64,
    },
    /// A LEB128 varint does not fit in a `u32`.
    #[error("varint at byte {offset} does not fit in u32")]
    VarintOverflow {
        /// Where the varint starts.
        offset: usize,
    },
    /// A value has more than one encoding and this one is not the canonical one.
    #[error("non-canonical {what} at byte {offset}")]
    NonCanonical {
        /// Where the offending encoding starts.
        offset: usize,
        /// What was being read.
        what: &'static str,
    },
    /// A bool byte other than 0 or 1.
    #[error("invalid bool {value} at byte {offset}")]
    InvalidBool {
        /// Where the byte is.
        offset: usize,
        /// The byte found.
        value: u8,
    },
    /// An enum or option tag that names no variant.
    #[error("unknown {what} tag {tag} at byte {offset}")]
    UnknownTag {
        /// Where the tag is.
        offset: usize,
        /// The enum being read.
        what: &'static str,
        /// The tag found.
        tag: u8,
    },
    /// A format version this code does not know.
    #[error("unsupported {what} version {version}")]
    UnsupportedVersion {
        /// The versioned structure.
        what: &'static str,
        /// The version found.
        version: u8,
    },
    /// A set is not in strictly ascending order (so it is unsorted or has a duplicate).
    #[error("{field} is not in strictly ascending order")]
    NotSorted {
        /// The field.
        field: &'static str,
    },
    /// An amount that must not be zero is zero.
    #[error("{field}: zero amount")]
    ZeroAmount {
        /// The field.
        field: &'static str,
    },
    /// Two parts of a value that must agree on a count do not.
    #[error("{field}: count {actual} does not match the expected {expected}")]
    CountMismatch {
        /// The field.
        field: &'static str,
        /// The count implied by another field.
        expected: u64,
        /// The count found.
        actual: u64,
    },
    /// A fixed-width integer is outside its allowed range.
    #[error("{field}: {value} is over the maximum of {max}")]
    OutOfRange {
        /// The field.
        field: &'static str,
        /// The value found.
        value: u64,
        /// The largest allowed value.
        max: u64,
    },
    /// Bytes were left after a value that had to span the whole input.
    #[error("{count} trailing bytes after the value")]
    TrailingBytes {
        /// How many bytes were left.
        count: usize,
    },
}

/// A value with a canonical encoding.
pub trait Encode {
    /// Appends the canonical encoding of `self` to `out`.
    fn encode_to(&self, out: &mut Vec<u8>);

    /// Length of the canonical encoding in bytes (the default encodes to find out).
    fn encoded_len(&self) -> usize {
        let mut out = Vec::new();
        self.encode_to(&mut out);
        out.len()
    }
}

/// A value that can be read back from its canonical encoding, and only from it.
pub trait Decode: Sized {
    /// The fewest bytes any encoding of this type takes (at least 1). Sequence decoding
    /// uses it to reject counts the remaining input cannot hold before allocating.
    const MIN_ENCODED_LEN: usize;

    /// Reads one value, advancing `reader` past it.
    fn decode_from(reader: &mut Reader<'_>) -> Result<Self, DecodeError>;
}

/// The canonical encoding of `value`.
pub fn encode<T: Encode + ?Sized>(value: &T) -> Vec<u8> {
    let mut out = Vec::new();
    value.encode_to(&mut out);
    out
}

/// Decodes a `T` that must span all of `bytes` (trailing bytes are an error).
pub fn decode_exact<T: Decode>(bytes: &[u8]) -> Result<T, DecodeError> {
    let mut reader = Reader::new(bytes);
    let value = T::decode_from(&mut reader)?;
    reader.finish()?;
    Ok(value)
}

/// A cursor over input bytes that tracks its offset.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    bytes: &'a [u8],
    offset: usize,
}

impl<'a> Reader<'a> {
    /// A reader at the start of `bytes`.
    pub fn new(bytes: &'a [u8]) -> Self {
        Self { bytes, offset: 0 }
    }

    /// Bytes consumed so far.
    pub fn offset(&self) -> usize {
        self.offset
    }

    /// Bytes not yet consumed.
    pub fn remaining(&self) -> usize {
        self.bytes.len() - self.offset
    }

    /// Ok when every byte has been consumed, else [`DecodeError::TrailingBytes`].
    pub fn finish(self) -> Result<(), DecodeError> {
        match self.remaining() {
            0 => Ok(()),
            count => Err(DecodeError::TrailingBytes { count }),
        }
    }

    /// The next `count` bytes, borrowed from the input.
    pub fn read_bytes(&mut self, count: usize) -> Result<&'a [u8], DecodeError> {
        if count > self.remaining() {
            return Err(DecodeError::UnexpectedEnd {
                offset: self.offset,
                needed: count,
                available: self.remaining(),
            });
        }
        let bytes = &self.bytes[self.offset..self.offset + count];
        self.offset += count;
        Ok(bytes)
    }

    /// The next `N` bytes as an array.
    pub fn read_array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let mut array = [0u8; N];
        array.copy_from_slice(self.read_bytes(N)?);
        Ok(array)
    }

    /// One byte.
    pub fn read_u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.read_array::<1>()?[0])
    }

    /// A little-endian `u16`.
    pub fn read_u16(&mut self) -> Result<u16, DecodeError> {
        Ok(u16::from_le_bytes(self.read_array()?))
    }

    /// A little-endian `u32`.
    pub fn read_u32(&mut self) -> Result<u32, DecodeError> {
        Ok(u32::from_le_bytes(self.read_array()?))
    }

    /// A little-endian `u64`.
    pub fn read_u64(&mut self) -> Result<u64, DecodeError> {
        Ok(u64::from_le_bytes(self.read_array()?))
    }

    /// A bool: exactly 0 or 1.
    pub fn read_bool(&mut self) -> Result<bool, DecodeError> {
        let offset = self.offset;
        match self.read_u8()? {
            0 => Ok(false),
            1 => Ok(true),
            value => Err(DecodeError::InvalidBool { offset, value }),
        }
    }

    /// A canonical unsigned LEB128 varint of at most 5 bytes whose value fits in `u32`.
    /// Rejects non-minimal encodings (a last byte of zero after the first byte).
    pub fn read_varint(&mut self) -> Result<u32, DecodeError> {
        let start = self.offset;
        let mut value: u64 = 0;
        for index in 0..VARINT_MAX_BYTES {
            let byte = self.read_u8()?;
            value |= u64::from(byte & 0x7f) << (7 * index);
            if byte & 0x80 == 0 {
                if byte == 0 && index > 0 {
                    return Err(DecodeError::NonCanonical {
                        offset: start,
                        what: "varint",
                    });
                }
                return u32::try_from(value)
                    .map_err(|_| DecodeError::VarintOverflow { offset: start });
            }
        }
        Err(DecodeError::VarintOverflow { offset: start })
    }

    /// A length prefix for `field`: at most `max`, and small enough that `length` elements
    /// of at least `min_element_len` bytes each fit in the remaining input. Call it before
    /// allocating anything sized by the length.
    pub fn read_length(
        &mut self,
        field: &'static str,
        max: usize,
        min_element_len: usize,
    ) -> Result<usize, DecodeError> {
        let length = self.read_varint()? as usize;
        if length > max {
            return Err(DecodeError::LengthTooLarge {
                field,
                length: length as u64,
                max: max as u64,
            });
        }
        let needed = length.saturating_mul(min_element_len);
        if needed > self.remaining() {
            return Err(DecodeError::UnexpectedEnd {
                offset: self.offset,
                needed,
                available: self.remaining(),
            });
        }
        Ok(length)
    }
}

/// The most bytes a `u32` LEB128 varint takes.
pub const VARINT_MAX_BYTES: usize = 5;

/// Appends `value` as a minimal unsigned LEB128 varint.
pub fn write_varint(out: &mut Vec<u8>, mut value: u32) {
    loop {
        let low = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(low);
            return;
        }
        out.push(low | 0x80);
    }
}

/// Bytes the varint encoding of `value` takes.
pub const fn varint_len(value: u32) -> usize {
    match value {
        0..=0x7f => 1,
        0x80..=0x3fff => 2,
        0x4000..=0x1f_ffff => 3,
        0x20_0000..=0x0fff_ffff => 4,
        _ => 5,
    }
}

/// Appends a length prefix. Lengths come from in-memory collections whose documented
/// maxima are far below `u32::MAX`; one that does not fit is a bug, so this asserts.
pub fn write_length(out: &mut Vec<u8>, length: usize) {
    let length = u32::try_from(length).expect("length prefix must fit in u32");
    write_varint(out, length);
}

/// Appends a length-prefixed sequence.
///
/// The field's maximum is only checked in debug builds: limits are enforced on decode and
/// by the checked constructors and `Transaction::to_wire`; a release node that built an
/// oversized value by mistake produces bytes peers reject, rather than crashing.
pub fn encode_seq<T: Encode>(out: &mut Vec<u8>, items: &[T], max: usize) {
    debug_assert!(
        items.len() <= max,
        "sequence of {} over its maximum {max}",
        items.len()
    );
    write_length(out, items.len());
    for item in items {
        item.encode_to(out);
    }
}

/// Bytes [`encode_seq`] writes for `items` (without encoding them).
pub fn seq_encoded_len<T: Encode>(items: &[T]) -> usize {
    let count = u32::try_from(items.len()).expect("length prefix must fit in u32");
    varint_len(count) + items.iter().map(Encode::encoded_len).sum::<usize>()
}

/// Reads a length-prefixed sequence of at most `max` items for `field`.
pub fn decode_seq<T: Decode>(
    reader: &mut Reader<'_>,
    field: &'static str,
    max: usize,
) -> Result<Vec<T>, DecodeError> {
    const { assert!(T::MIN_ENCODED_LEN >= 1) };
    let count = reader.read_length(field, max, T::MIN_ENCODED_LEN)?;
    let mut items = Vec::with_capacity(count);
    for _ in 0..count {
        items.push(T::decode_from(reader)?);
    }
    Ok(items)
}

/// Reads a length-prefixed sequence that must be strictly ascending by `key` (a set).
pub fn decode_sorted_seq<T: Decode, K: Ord>(
    reader: &mut Reader<'_>,
    field: &'static str,
    max: usize,
    key: impl Fn(&T) -> K,
) -> Result<Vec<T>, DecodeError> {
    let items: Vec<T> = decode_seq(reader, field, max)?;
    if is_strictly_ascending_by(&items, key) {
        Ok(items)
    } else {
        Err(DecodeError::NotSorted { field })
    }
}

/// True when `items` are strictly ascending by `key` (sorted, no duplicates).
pub fn is_strictly_ascending_by<T, K: Ord>(items: &[T], key: impl Fn(&T) -> K) -> bool {
    items.windows(2).all(|pair| key(&pair[0]) < key(&pair[1]))
}

/// Appends a length-prefixed byte string.
pub fn encode_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    write_length(out, bytes.len());
    out.extend_from_slice(bytes);
}

/// Reads a length-prefixed byte string of at most `max` bytes for `field`.
pub fn decode_bytes(
    reader: &mut Reader<'_>,
    field: &'static str,
    max: usize,
) -> Result<Vec<u8>, DecodeError> {
    let length = reader.read_length(field, max, 1)?;
    Ok(reader.read_bytes(length)?.to_vec())
}

macro_rules! impl_integer {
    ($($ty:ty => $read:ident),*) => {$(
        impl Encode for $ty {
            fn encode_to(&self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_le_bytes());
            }
            fn encoded_len(&self) -> usize {
                size_of::<$ty>()
            }
        }
        impl Decode for $ty {
            const MIN_ENCODED_LEN: usize = size_of::<$ty>();
            fn decode_from(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
                reader.$read()
            }
        }
    )*};
}

impl_integer!(u8 => read_u8, u16 => read_u16, u32 => read_u32, u64 => read_u64);

impl Encode for bool {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.push(u8::from(*self));
    }
    fn encoded_len(&self) -> usize {
        1
    }
}

impl Decode for bool {
    const MIN_ENCODED_LEN: usize = 1;
    fn decode_from(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        reader.read_bool()
    }
}

impl<const N: usize> Encode for [u8; N] {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self);
    }
    fn encoded_len(&self) -> usize {
        N
    }
}

impl<const N: usize> Decode for [u8; N] {
    // A zero-length array still counts as one byte for sequence bounds (never used).
    const MIN_ENCODED_LEN: usize = if N == 0 { 1 } else { N };
    fn decode_from(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        reader.read_array()
    }
}

/// `None` is tag 0; `Some(x)` is tag 1 followed by `x`.
impl<T: Encode> Encode for Option<T> {
    fn encode_to(&self, out: &mut Vec<u8>) {
        match self {
            None => out.push(0),
            Some(value) => {
                out.push(1);
                value.encode_to(out);
            }
        }
    }
    fn encoded_len(&self) -> usize {
        1 + self.as_ref().map_or(0, Encode::encoded_len)
    }
}

impl<T: Decode> Decode for Option<T> {
    const MIN_ENCODED_LEN: usize = 1;
    fn decode_from(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let offset = reader.offset();
        match reader.read_u8()? {
            0 => Ok(None),
            1 => Ok(Some(T::decode_from(reader)?)),
            tag => Err(DecodeError::UnknownTag {
                offset,
                what: "option",
                tag,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn varint(bytes: &[u8]) -> Result<u32, DecodeError> {
        let mut reader = Reader::new(bytes);
        let value = reader.read_varint()?;
        reader.finish()?;
        Ok(value)
    }

    #[test]
    fn varint_round_trips_at_every_width_boundary() {
        for value in [
            0,
            1,
            0x7f,
            0x80,
            0x3fff,
            0x4000,
            0x1f_ffff,
            0x20_0000,
            0x0fff_ffff,
            0x1000_0000,
            u32::MAX,
        ] {
            let mut out = Vec::new();
            write_varint(&mut out, value);
            assert_eq!(out.len(), varint_len(value), "{value:#x}");
            assert_eq!(varint(&out), Ok(value), "{value:#x}");
        }
    }

    #[test]
    fn varint_rejects_non_minimal_and_oversized() {
        let cases: &[(&[u8], DecodeError)] = &[
            (
                &[0x80, 0x00],
                DecodeError::NonCanonical {
                    offset: 0,
                    what: "varint",
                },
            ),
            (
                &[0x81, 0x80, 0x00],
                DecodeError::NonCanonical {
                    offset: 0,
                    what: "varint",
                },
            ),
            (
                &[0xff, 0xff, 0xff, 0xff, 0x10],
                DecodeError::VarintOverflow { offset: 0 },
            ),
            (
                &[0x80, 0x80, 0x80, 0x80, 0x80, 0x01],
                DecodeError::VarintOverflow { offset: 0 },
            ),
            (
                &[0x80],
                DecodeError::UnexpectedEnd {
                    offset: 1,
                    needed: 1,
                    available: 0,
                },
            ),
            (
                &[],
                DecodeError::UnexpectedEnd {
                    offset: 0,
                    needed: 1,
                    available: 0,
                },
            ),
        ];
        for (bytes, expected) in cases {
            assert_eq!(varint(bytes).as_ref(), Err(expected), "{bytes:02x?}");
        }
        assert_eq!(varint(&[0xff, 0xff, 0xff, 0xff, 0x0f]), Ok(u32::MAX));
    }

    #[test]
    fn bool_is_only_zero_or_one() {
        assert_eq!(decode_exact::<bool>(&[0]), Ok(false));
        assert_eq!(decode_exact::<bool>(&[1]), Ok(true));
        assert_eq!(
            decode_exact::<bool>(&[2]),
            Err(DecodeError::InvalidBool {
                offset: 0,
                value: 2
            })
        );
    }

    #[test]
    fn option_tag_is_only_zero_or_one() {
        assert_eq!(decode_exact::<Option<u8>>(&[0]), Ok(None));
        assert_eq!(decode_exact::<Option<u8>>(&[1, 7]), Ok(Some(7)));
        assert_eq!(
            decode_exact::<Option<u8>>(&[2, 7]),
            Err(DecodeError::UnknownTag {
                offset: 0,
                what: "option",
                tag: 2
            })
        );
    }

    #[test]
    fn integers_are_fixed_width_little_endian() {
        assert_eq!(encode(&0x0102_0304u32), [4, 3, 2, 1]);
        assert_eq!(encode(&0x0102u16), [2, 1]);
        assert_eq!(decode_exact::<u64>(&[1, 0, 0, 0, 0, 0, 0, 0]), Ok(1));
    }

    #[test]
    fn trailing_bytes_are_rejected() {
        assert_eq!(
            decode_exact::<u16>(&[1, 2, 3]),
            Err(DecodeError::TrailingBytes { count: 1 })
        );
    }

    #[test]
    fn length_over_max_is_rejected_before_reading_elements() {
        // 3 elements claimed, maximum 2: the error names the field, not the missing bytes.
        let mut reader = Reader::new(&[3, 0, 0, 0]);
        assert_eq!(
            decode_seq::<u8>(&mut reader, "test.items", 2),
            Err(DecodeError::LengthTooLarge {
                field: "test.items",
                length: 3,
                max: 2
            })
        );
    }

    #[test]
    fn length_beyond_remaining_bytes_is_rejected_before_allocating() {
        // 1000 u64s claimed with 8 bytes present: refused by the remaining-bytes check.
        let mut bytes = Vec::new();
        write_varint(&mut bytes, 1000);
        bytes.extend_from_slice(&[0; 8]);
        let mut reader = Reader::new(&bytes);
        assert_eq!(
            decode_seq::<u64>(&mut reader, "test.items", 100_000),
            Err(DecodeError::UnexpectedEnd {
                offset: 2,
                needed: 8000,
                available: 8
            })
        );
    }

    #[test]
    fn sorted_sequence_rejects_duplicates_and_disorder() {
        let decode = |bytes: &[u8]| {
            let mut reader = Reader::new(bytes);
            decode_sorted_seq::<u8, u8>(&mut reader, "test.set", 8, |x| *x)
        };
        assert_eq!(decode(&[3, 1, 2, 3]), Ok(vec![1, 2, 3]));
        assert_eq!(
            decode(&[2, 1, 1]),
            Err(DecodeError::NotSorted { field: "test.set" })
        );
        assert_eq!(
            decode(&[2, 2, 1]),
            Err(DecodeError::NotSorted { field: "test.set" })
        );
    }

    #[test]
    fn bytes_round_trip_and_respect_their_maximum() {
        let mut out = Vec::new();
        encode_bytes(&mut out, b"abc");
        assert_eq!(out, [3, b'a', b'b', b'c']);
        let mut reader = Reader::new(&out);
        assert_eq!(
            decode_bytes(&mut reader, "test.bytes", 3),
            Ok(b"abc".to_vec())
        );
        let mut reader = Reader::new(&out);
        assert_eq!(
            decode_bytes(&mut reader, "test.bytes", 2),
            Err(DecodeError::LengthTooLarge {
                field: "test.bytes",
                length: 3,
                max: 2
            })
        );
    }
}
