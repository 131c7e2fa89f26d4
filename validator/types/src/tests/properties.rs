//! The codec's properties, checked for every type by one macro:
//!
//! - `round_trip`: `decode_exact(encode(x)) == x`, `encoded_len` agrees, the encoding is at
//!   least `MIN_ENCODED_LEN`, and every strict prefix of it fails to decode.
//! - `mutated`: a valid encoding with bytes flipped, overwritten, inserted or deleted.
//! - `random_bytes`: arbitrary bytes.
//!
//! For the last two, decoding must not panic and, when it succeeds, re-encoding must
//! reproduce exactly the bytes it consumed (the canonical-encoding invariant).

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

use super::strategies;
use crate::codec::{Decode, Encode, Reader, decode_exact, encode};
use crate::*;

fn check_round_trip<T: Encode + Decode + PartialEq + core::fmt::Debug>(
    value: &T,
) -> Result<(), TestCaseError> {
    let bytes = encode(value);
    prop_assert_eq!(value.encoded_len(), bytes.len());
    prop_assert!(
        bytes.len() >= T::MIN_ENCODED_LEN,
        "{} < MIN_ENCODED_LEN",
        bytes.len()
    );
    prop_assert_eq!(&decode_exact::<T>(&bytes)?, value);
    for length in 0..bytes.len() {
        prop_assert!(
            decode_exact::<T>(&bytes[..length]).is_err(),
            "prefix {length} decoded"
        );
    }
    Ok(())
}

/// Decodes a `T` from the front of `bytes`; if that works, re-encoding must give back
/// exactly the consumed bytes.
pub fn check_canonical<T: Encode + Decode>(bytes: &[u8]) -> Result<(), TestCaseError> {
    let mut reader = Reader::new(bytes);
    if let Ok(value) = T::decode_from(&mut reader) {
        let consumed = &bytes[..reader.offset()];
        prop_assert_eq!(encode(&value), consumed);
    }
    Ok(())
}

#[derive(Debug, Clone)]
enum Mutation {
    FlipBit {
        position: usize,
        bit: u8,
    },
    Overwrite {
        position: usize,
        byte: u8,
    },
    Insert {
        position: usize,
        byte: u8,
    },
    Delete {
        position: usize,
    },
    Truncate {
        position: usize,
    },
    /// Rewrites a byte below 0x80 as the two-byte varint `[byte | 0x80, 0x00]`: the same
    /// number, non-minimally encoded.
    StretchVarint {
        position: usize,
    },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let position = any::<usize>(); // `Any` is Copy
    // Bytes near varint and tag edges are more interesting than uniform ones.
    let byte = prop_oneof![
        any::<u8>(),
        Just(0u8),
        Just(1),
        Just(2),
        Just(0x7f),
        Just(0x80)
    ];
    prop_oneof![
        (position, 0u8..8).prop_map(|(position, bit)| Mutation::FlipBit { position, bit }),
        (position, byte.clone())
            .prop_map(|(position, byte)| Mutation::Overwrite { position, byte }),
        (position, byte).prop_map(|(position, byte)| Mutation::Insert { position, byte }),
        position.prop_map(|position| Mutation::Delete { position }),
        position.prop_map(|position| Mutation::Truncate { position }),
        position.prop_map(|position| Mutation::StretchVarint { position }),
    ]
}

fn apply(bytes: &mut Vec<u8>, mutation: &Mutation) {
    let len = bytes.len();
    match *mutation {
        _ if len == 0 => bytes.push(0),
        Mutation::FlipBit { position, bit } => bytes[position % len] ^= 1 << bit,
        Mutation::Overwrite { position, byte } => bytes[position % len] = byte,
        Mutation::Insert { position, byte } => bytes.insert(position % (len + 1), byte),
        Mutation::Delete { position } => {
            bytes.remove(position % len);
        }
        Mutation::Truncate { position } => bytes.truncate(position % len),
        Mutation::StretchVarint { position } => {
            let position = position % len;
            if bytes[position] < 0x80 {
                bytes[position] |= 0x80;
                bytes.insert(position + 1, 0);
            }
        }
    }
}

macro_rules! type_properties {
    ($($name:ident: $ty:ty = $strategy:expr;)*) => {
        mod round_trip {
            use super::*;
            proptest! {
                #![proptest_config(ProptestConfig::with_cases(256))]
                $(
                    #[test]
                    fn $name(value in $strategy) {
                        check_round_trip::<$ty>(&value)?;
                    }
                )*
            }
        }

        mod mutated {
            use super::*;
            proptest! {
                #![proptest_config(ProptestConfig::with_cases(1000))]
                $(
                    #[test]
                    fn $name(value in $strategy, mutations in vec(mutation(), 1..4)) {
                        let mut bytes = encode(&value);
                        for mutation in &mutations {
                            apply(&mut bytes, mutation);
                        }
                        check_canonical::<$ty>(&bytes)?;
                    }
                )*
            }
        }

        mod random_bytes {
            use super::*;
            proptest! {
                #![proptest_config(ProptestConfig::with_cases(1000))]
                $(
                    #[test]
                    fn $name(bytes in vec(any::<u8>(), 0..600)) {
                        check_canonical::<$ty>(&bytes)?;
                    }
                )*
            }
        }
    };
}

type_properties! {
    hash: Hash = strategies::hash();
    asset_id: AssetId = strategies::asset_id();
    value: Value = strategies::value();
    lock: Lock = strategies::lock();
    datum: Datum = strategies::datum();
    output: Output = strategies::output();
    output_reference: OutputReference = strategies::output_reference();
    validity_window: ValidityWindow = strategies::validity_window();
    program_call: ProgramCall = strategies::program_call();
    transaction_body: TransactionBody = strategies::transaction_body();
    transaction_signature: TransactionSignature = strategies::transaction_signature();
    transaction: Transaction = strategies::transaction();
    signer_bitmap: SignerBitmap = strategies::signer_bitmap();
    validator_index: ValidatorIndex = strategies::validator_index();
    quorum_certificate: QuorumCertificate = strategies::quorum_certificate();
    timeout_certificate: TimeoutCertificate = strategies::timeout_certificate();
    vote: Vote = strategies::vote();
    timeout: Timeout = strategies::timeout();
    operational_certificate: OperationalCertificate = strategies::operational_certificate();
    block_header: BlockHeader = strategies::block_header();
    signed_block_header: SignedBlockHeader = strategies::signed_block_header();
    block: Block = strategies::block();
    shred_header: ShredHeader = strategies::shred_header();
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Random bytes that start with a plausible transaction prefix (version 1, small
    /// counts) reach deeper into the decoder than uniform bytes do.
    #[test]
    fn transaction_from_biased_bytes(tail in vec(prop_oneof![Just(0u8), Just(1), any::<u8>()], 0..400)) {
        let mut bytes = vec![TRANSACTION_VERSION];
        bytes.extend_from_slice(&tail);
        check_canonical::<Transaction>(&bytes)?;
        let _ = Transaction::from_wire(&bytes);
    }

    /// Whatever `from_wire` accepts, `to_wire` gives back byte for byte, and
    /// `from_wire_batch` of that one packet agrees with it and with `transaction_id`.
    #[test]
    fn wire_round_trip(transaction in strategies::transaction(), mutations in vec(mutation(), 0..3)) {
        let mut bytes = transaction.to_wire()?;
        prop_assert_eq!(&Transaction::from_wire(&bytes)?, &transaction);
        for mutation in &mutations {
            apply(&mut bytes, mutation);
        }
        let with_id = Transaction::from_wire_batch(&[&bytes]).remove(0);
        let plain = Transaction::from_wire(&bytes);
        prop_assert_eq!(
            with_id.as_ref().map(|(decoded, _)| decoded).ok(),
            plain.as_ref().ok()
        );
        if let Ok((decoded, id)) = with_id {
            // The id hashed from the packet's body bytes is the canonical id.
            prop_assert_eq!(id, decoded.transaction_id());
            prop_assert_eq!(decoded.to_wire()?, bytes);
        }
    }

    /// A batch of packets (valid, damaged and oversize, of mixed lengths) decodes
    /// exactly as each packet does alone: same transactions and errors as `from_wire`,
    /// ids equal to `transaction_id` (hashed from the re-encoded body), in packet order.
    #[test]
    fn batch_decoding_equals_one_at_a_time(
        packets in vec((strategies::transaction(), vec(mutation(), 0..2), proptest::bool::weighted(0.1)), 0..40)
    ) {
        let wires: Vec<Vec<u8>> = packets
            .iter()
            .map(|(transaction, mutations, oversize)| {
                let mut bytes = transaction.to_wire().unwrap_or_default();
                for mutation in mutations {
                    apply(&mut bytes, mutation);
                }
                if *oversize {
                    bytes.resize(MAX_WIRE_TRANSACTION_BYTES + 1, 0);
                }
                bytes
            })
            .collect();
        let slices: Vec<&[u8]> = wires.iter().map(Vec::as_slice).collect();
        let batch = Transaction::from_wire_batch(&slices);
        let alone: Vec<_> = slices
            .iter()
            .map(|bytes| {
                Transaction::from_wire(bytes).map(|transaction| {
                    let id = transaction.transaction_id();
                    (transaction, id)
                })
            })
            .collect();
        prop_assert_eq!(batch, alone);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4000))]

    /// Decoded values keep their semantic invariants too (sorted, non-zero assets), which
    /// byte-level canonicality alone would not show.
    #[test]
    fn decoded_values_are_normalised(value in strategies::value(), mutations in vec(mutation(), 1..4)) {
        let mut bytes = encode(&value);
        for mutation in &mutations {
            apply(&mut bytes, mutation);
        }
        if let Ok(decoded) = decode_exact::<Value>(&bytes) {
            let normalised = Value::new(decoded.aeth(), decoded.assets().to_vec());
            prop_assert_eq!(normalised, Ok(decoded));
        }
    }
}
