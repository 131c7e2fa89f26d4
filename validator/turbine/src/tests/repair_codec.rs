use aether_crypto::ed25519::{Ed25519PublicKey, Ed25519SecretKey};
use aether_types::codec::{DecodeError, decode_exact, encode};
use aether_types::shred::ShredKind;
use proptest::prelude::*;

use crate::repair::message::{
    REPAIR_REQUEST_BYTES_MAX, RepairRequest, RepairResponse, SLOT_SHREDS_RANGES_MAX, ShredRange,
    SignedRepairRequest, check_ranges,
};

fn kind() -> impl Strategy<Value = ShredKind> {
    prop_oneof![Just(ShredKind::Data), Just(ShredKind::Coding)]
}

/// Canonical ranges: ascending gaps and counts, cut to the per-request total.
fn ranges() -> impl Strategy<Value = Vec<ShredRange>> {
    proptest::collection::vec((kind(), 1u32..50, 1u16..6), 1..SLOT_SHREDS_RANGES_MAX).prop_map(
        |raw| {
            let mut out: Vec<ShredRange> = Vec::new();
            let mut total = 0u32;
            for kind in [ShredKind::Data, ShredKind::Coding] {
                let mut next = 0u64;
                for (_, gap, count) in raw.iter().filter(|(k, _, _)| *k == kind) {
                    if total + u32::from(*count) > 128 {
                        break;
                    }
                    total += u32::from(*count);
                    let start = next + u64::from(*gap);
                    out.push(ShredRange {
                        kind,
                        start: start as u32,
                        count: *count,
                    });
                    next = start + u64::from(*count);
                }
            }
            out
        },
    )
}

fn request() -> impl Strategy<Value = RepairRequest> {
    prop_oneof![
        (any::<u64>(), kind(), any::<u32>()).prop_map(|(slot, kind, index)| RepairRequest::Shred {
            slot,
            kind,
            index
        }),
        any::<u64>().prop_map(|slot| RepairRequest::HighestShred { slot }),
        any::<u64>().prop_map(|slot| RepairRequest::Orphan { slot }),
        (any::<u64>(), ranges())
            .prop_map(|(slot, ranges)| RepairRequest::SlotShreds { slot, ranges }),
    ]
}

fn key(seed: u8) -> Ed25519SecretKey {
    Ed25519SecretKey::from_seed(&[seed; 32])
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn signed_request_round_trips_and_verifies(
        request in request(),
        timestamp_ms in any::<u64>(),
        nonce in any::<u32>(),
    ) {
        let signed = SignedRepairRequest::sign(
            &key(1), Ed25519PublicKey([9; 32]), timestamp_ms, nonce, request,
        );
        let bytes = encode(&signed);
        prop_assert!(bytes.len() <= REPAIR_REQUEST_BYTES_MAX);
        let decoded: SignedRepairRequest = decode_exact(&bytes).unwrap();
        prop_assert_eq!(&decoded, &signed);
        prop_assert!(decoded.verify_signature().is_ok());
    }

    #[test]
    fn any_flipped_bit_breaks_decode_or_signature(
        request in request(),
        bit in any::<proptest::sample::Index>(),
    ) {
        let signed = SignedRepairRequest::sign(&key(2), Ed25519PublicKey([3; 32]), 5, 6, request);
        let mut bytes = encode(&signed);
        let bit = bit.index(bytes.len() * 8);
        bytes[bit / 8] ^= 1 << (bit % 8);
        if let Ok(tampered) = decode_exact::<SignedRepairRequest>(&bytes) {
            prop_assert!(tampered.verify_signature().is_err());
        }
    }

    #[test]
    fn random_bytes_never_panic_and_decoded_values_are_canonical(
        bytes in proptest::collection::vec(any::<u8>(), 0..1400),
    ) {
        if let Ok(request) = decode_exact::<SignedRepairRequest>(&bytes) {
            prop_assert_eq!(encode(&request), bytes.clone());
        }
        if let Ok(response) = decode_exact::<RepairResponse>(&bytes) {
            prop_assert_eq!(encode(&response), bytes);
        }
    }

    #[test]
    fn mutated_requests_never_panic(
        request in request(),
        edits in proptest::collection::vec((any::<proptest::sample::Index>(), any::<u8>()), 1..4),
    ) {
        let signed = SignedRepairRequest::sign(&key(3), Ed25519PublicKey([4; 32]), 7, 8, request);
        let mut bytes = encode(&signed);
        for (at, value) in edits {
            let at = at.index(bytes.len());
            bytes[at] = value;
        }
        if let Ok(decoded) = decode_exact::<SignedRepairRequest>(&bytes) {
            prop_assert_eq!(encode(&decoded), bytes);
        }
    }

    #[test]
    fn response_round_trips(nonce in any::<u32>(), shred in proptest::collection::vec(any::<u8>(), 1..=1228)) {
        let response = RepairResponse { nonce, shred };
        let bytes = encode(&response);
        prop_assert!(bytes.len() <= 1232);
        prop_assert_eq!(decode_exact::<RepairResponse>(&bytes).unwrap(), response);
    }
}

#[test]
fn non_canonical_ranges_are_rejected() {
    let range = |kind, start, count| ShredRange { kind, start, count };
    let data = ShredKind::Data;
    let coding = ShredKind::Coding;
    assert!(check_ranges(&[range(data, 0, 3), range(data, 4, 1), range(coding, 0, 2)]).is_ok());
    let cases: &[(&[ShredRange], &str)] = &[
        (&[], "empty"),
        (&[range(data, 0, 0)], "zero count"),
        (&[range(data, 0, 3), range(data, 3, 1)], "touching"),
        (&[range(data, 0, 3), range(data, 2, 1)], "overlapping"),
        (&[range(data, 5, 1), range(data, 0, 1)], "unsorted"),
        (
            &[range(coding, 0, 1), range(data, 5, 1)],
            "coding before data",
        ),
        (&[range(data, u32::MAX, 2)], "past u32"),
        (
            &[range(data, 0, 100), range(data, 200, 29)],
            "over 128 shreds",
        ),
    ];
    for (ranges, why) in cases {
        assert!(check_ranges(ranges).is_err(), "{why} must be rejected");
    }
    let too_many: Vec<_> = (0..=SLOT_SHREDS_RANGES_MAX as u32)
        .map(|i| range(data, i * 2, 1))
        .collect();
    assert!(matches!(
        check_ranges(&too_many),
        Err(DecodeError::LengthTooLarge { .. })
    ));
}

#[test]
fn oversized_response_is_rejected() {
    assert!(decode_exact::<RepairResponse>(&[0u8; 1233]).is_err());
    assert!(decode_exact::<RepairResponse>(&[0u8; 4]).is_err());
    assert_eq!(
        decode_exact::<RepairResponse>(&[7, 1, 0, 0, 0]).unwrap(),
        RepairResponse {
            nonce: 1,
            shred: vec![7]
        }
    );
}
