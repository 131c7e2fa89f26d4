//! Values: the native coin (AETH) plus native assets.

use crate::codec::{
    Decode, DecodeError, Encode, Reader, decode_sorted_seq, encode_seq, seq_encoded_len,
};
use crate::{BuildError, Hash};

/// Most distinct assets one encoded [`Value`] may carry.
pub const MAX_VALUE_ASSETS: usize = 64;

/// Identifies a native asset (AIC is one). What it hashes is the minting policy's
/// business; here it is an opaque 32-byte id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct AssetId(pub Hash);

impl Encode for AssetId {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.0.encode_to(out);
    }
    fn encoded_len(&self) -> usize {
        Hash::LEN
    }
}

impl Decode for AssetId {
    const MIN_ENCODED_LEN: usize = Hash::MIN_ENCODED_LEN;
    fn decode_from(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(AssetId(Hash::decode_from(reader)?))
    }
}

/// An amount of AETH (base units) and of native assets.
///
/// Invariant (kept by every constructor and checked on decode): assets are strictly
/// ascending by id and no asset amount is zero, so equal values have equal encodings.
/// Encoding: `aeth: u64`, then a varint count and `(AssetId, u64)` pairs.
/// [`MAX_VALUE_ASSETS`] bounds decoding only: sums held in memory may carry more.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Value {
    aeth: u64,
    assets: Vec<(AssetId, u64)>,
}

impl Value {
    /// Zero AETH and no assets.
    pub const ZERO: Value = Value {
        aeth: 0,
        assets: Vec::new(),
    };

    /// Only AETH.
    pub const fn from_aeth(aeth: u64) -> Value {
        Value {
            aeth,
            assets: Vec::new(),
        }
    }

    /// Normalises `assets` into canonical form: sorts by id, adds up duplicate ids and
    /// drops zero amounts. Fails only when a sum of duplicates overflows `u64`.
    pub fn new(aeth: u64, mut assets: Vec<(AssetId, u64)>) -> Result<Value, BuildError> {
        assets.sort_unstable_by_key(|(id, _)| *id);
        let mut merged: Vec<(AssetId, u64)> = Vec::with_capacity(assets.len());
        for (id, amount) in assets {
            match merged.last_mut() {
                Some((last_id, total)) if *last_id == id => {
                    *total = total
                        .checked_add(amount)
                        .ok_or(BuildError::AmountOverflow {
                            what: "value asset amount",
                        })?;
                }
                _ => merged.push((id, amount)),
            }
        }
        merged.retain(|(_, amount)| *amount != 0);
        let value = Value {
            aeth,
            assets: merged,
        };
        debug_assert!(value.is_canonical(), "O(n) postcondition: {value:?}");
        Ok(value)
    }

    /// AETH in base units.
    pub fn aeth(&self) -> u64 {
        self.aeth
    }

    /// Asset amounts, strictly ascending by id, none zero.
    pub fn assets(&self) -> &[(AssetId, u64)] {
        &self.assets
    }

    /// The amount of `id` (zero when absent).
    pub fn asset(&self, id: AssetId) -> u64 {
        match self.assets.binary_search_by_key(&id, |(asset, _)| *asset) {
            Ok(position) => self.assets[position].1,
            Err(_) => 0,
        }
    }

    /// True when there is no AETH and no asset.
    pub fn is_zero(&self) -> bool {
        self.aeth == 0 && self.assets.is_empty()
    }

    /// `self + other`, or `None` when any amount overflows.
    pub fn checked_add(&self, other: &Value) -> Option<Value> {
        self.combine(other, u64::checked_add)
    }

    /// `self - other`, or `None` when any amount of `other` is larger than in `self`.
    pub fn checked_sub(&self, other: &Value) -> Option<Value> {
        self.combine(other, u64::checked_sub)
    }

    /// Merges the two sorted asset lists, applying `op` per id (absent = 0) and dropping
    /// zero results so the output stays canonical.
    fn combine(&self, other: &Value, op: fn(u64, u64) -> Option<u64>) -> Option<Value> {
        let aeth = op(self.aeth, other.aeth)?;
        let mut assets = Vec::with_capacity(self.assets.len() + other.assets.len());
        let (mut left, mut right) = (
            self.assets.iter().peekable(),
            other.assets.iter().peekable(),
        );
        loop {
            let (id, amount) = match (left.peek(), right.peek()) {
                (None, None) => break,
                (Some((a, x)), Some((b, y))) if a == b => {
                    let next = (*a, op(*x, *y)?);
                    left.next();
                    right.next();
                    next
                }
                (Some((a, x)), Some((b, _))) if a < b => {
                    left.next();
                    (*a, op(*x, 0)?)
                }
                (Some((a, x)), None) => {
                    left.next();
                    (*a, op(*x, 0)?)
                }
                (_, Some((b, y))) => {
                    right.next();
                    (*b, op(0, *y)?)
                }
            };
            if amount != 0 {
                assets.push((id, amount));
            }
        }
        let value = Value { aeth, assets };
        debug_assert!(value.is_canonical(), "O(n) postcondition: {value:?}");
        Some(value)
    }

    fn is_canonical(&self) -> bool {
        crate::codec::is_strictly_ascending_by(&self.assets, |(id, _)| *id)
            && self.assets.iter().all(|(_, amount)| *amount != 0)
    }
}

impl Encode for (AssetId, u64) {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.0.encode_to(out);
        self.1.encode_to(out);
    }
    fn encoded_len(&self) -> usize {
        Hash::LEN + 8
    }
}

impl Decode for (AssetId, u64) {
    const MIN_ENCODED_LEN: usize = Hash::LEN + 8;
    fn decode_from(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok((AssetId::decode_from(reader)?, reader.read_u64()?))
    }
}

impl Encode for Value {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.aeth.encode_to(out);
        encode_seq(out, &self.assets, MAX_VALUE_ASSETS);
    }
    fn encoded_len(&self) -> usize {
        8 + seq_encoded_len(&self.assets)
    }
}

impl Decode for Value {
    const MIN_ENCODED_LEN: usize = 8 + 1;
    fn decode_from(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let aeth = reader.read_u64()?;
        let assets: Vec<(AssetId, u64)> =
            decode_sorted_seq(reader, "value.assets", MAX_VALUE_ASSETS, |(id, _)| *id)?;
        if assets.iter().any(|(_, amount)| *amount == 0) {
            return Err(DecodeError::ZeroAmount {
                field: "value.assets",
            });
        }
        Ok(Value { aeth, assets })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::{decode_exact, encode};

    fn asset(byte: u8) -> AssetId {
        AssetId(Hash([byte; 32]))
    }

    #[test]
    fn new_normalises() {
        let value = Value::new(
            5,
            vec![(asset(2), 3), (asset(1), 0), (asset(2), 4), (asset(0), 1)],
        )
        .unwrap();
        assert_eq!(value.assets(), &[(asset(0), 1), (asset(2), 7)]);
        assert_eq!(value.asset(asset(2)), 7);
        assert_eq!(value.asset(asset(1)), 0);
        assert_eq!(
            Value::new(0, vec![(asset(1), u64::MAX), (asset(1), 1)]),
            Err(BuildError::AmountOverflow {
                what: "value asset amount"
            })
        );
    }

    #[test]
    fn add_and_sub() {
        let a = Value::new(10, vec![(asset(1), 5), (asset(3), 2)]).unwrap();
        let b = Value::new(4, vec![(asset(2), 1), (asset(3), 2)]).unwrap();
        let sum = a.checked_add(&b).unwrap();
        assert_eq!(
            sum,
            Value::new(14, vec![(asset(1), 5), (asset(2), 1), (asset(3), 4)]).unwrap()
        );
        assert_eq!(sum.checked_sub(&b), Some(a.clone()));
        // Subtracting to zero drops the asset.
        assert_eq!(sum.checked_sub(&sum), Some(Value::ZERO));
        assert_eq!(a.checked_sub(&b), None, "asset 2 missing from a");
        assert_eq!(
            Value::from_aeth(u64::MAX).checked_add(&Value::from_aeth(1)),
            None
        );
    }

    #[test]
    fn decode_rejects_unsorted_duplicate_and_zero() {
        let encode_raw = |assets: &[(AssetId, u64)]| {
            let mut out = encode(&0u64);
            crate::codec::encode_seq(&mut out, assets, MAX_VALUE_ASSETS);
            out
        };
        let not_sorted = DecodeError::NotSorted {
            field: "value.assets",
        };
        assert_eq!(
            decode_exact::<Value>(&encode_raw(&[(asset(2), 1), (asset(1), 1)])),
            Err(not_sorted.clone())
        );
        assert_eq!(
            decode_exact::<Value>(&encode_raw(&[(asset(1), 1), (asset(1), 1)])),
            Err(not_sorted)
        );
        assert_eq!(
            decode_exact::<Value>(&encode_raw(&[(asset(1), 0)])),
            Err(DecodeError::ZeroAmount {
                field: "value.assets"
            })
        );
    }
}
