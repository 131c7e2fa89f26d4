//! Sum-composition KES over Ed25519: every period of a depth-6 key, sizes, the key file
//! format, forward security and rejection of tampered input.

use aether_crypto::kes::{
    KES_DEPTH_DEFAULT, KES_DEPTH_MAX, KES_SECRET_KEY_HEADER_LEN, KesError, KesPublicKey,
    KesSecretKey, KesSignature, kes_period_count, kes_secret_key_len, kes_secret_key_material_len,
    kes_signature_len, verify,
};
use proptest::prelude::*;

const SEED: [u8; 32] = [0x5a; 32];

fn message(period: u32) -> Vec<u8> {
    format!("block header at period {period}").into_bytes()
}

fn key_at(seed: &[u8; 32], depth: u32, period: u32) -> KesSecretKey {
    let mut key = KesSecretKey::from_seed(seed, depth).expect("depth in range");
    for _ in 0..period {
        key.evolve().expect("period in range");
    }
    assert_eq!(key.period(), period);
    key
}

#[test]
fn depth_6_signs_and_verifies_at_every_period() {
    let mut key = KesSecretKey::from_seed(&SEED, KES_DEPTH_DEFAULT).expect("key");
    let public_key = key.public_key();
    let periods = kes_period_count(KES_DEPTH_DEFAULT);
    assert_eq!(periods, 64);
    for period in 0..periods {
        assert_eq!(key.period(), period);
        assert_eq!(key.public_key(), public_key, "public key is stable");
        let signature = key.sign(&message(period));
        assert_eq!(signature.as_bytes().len(), 448);
        verify(
            &public_key,
            period,
            &message(period),
            &signature,
            KES_DEPTH_DEFAULT,
        )
        .unwrap_or_else(|error| panic!("period {period}: {error}"));

        for other in [period.wrapping_sub(1), period + 1, periods - 1 - period] {
            if other != period && other < periods {
                assert!(
                    verify(&public_key, other, &message(period), &signature, 6).is_err(),
                    "signature for {period} verified at {other}"
                );
            }
        }
        assert!(matches!(
            verify(&public_key, period, b"another header", &signature, 6),
            Err(KesError::LeafSignature(_))
        ));
        if period + 1 < periods {
            key.evolve().expect("evolve");
        }
    }
    // In the last period evolve fails and leaves the key usable for that period.
    assert!(matches!(
        key.evolve(),
        Err(KesError::KeyExpired { period: 63 })
    ));
    assert_eq!(key.period(), 63);
    let last = key.sign(b"last");
    assert!(verify(&public_key, 63, b"last", &last, 6).is_ok());
    assert!(matches!(
        verify(&public_key, 64, b"last", &last, 6),
        Err(KesError::PeriodOutOfRange {
            period: 64,
            period_count: 64
        })
    ));
}

#[test]
fn sizes_match_cardano_sum6() {
    assert_eq!(kes_signature_len(6), 448);
    assert_eq!(kes_secret_key_material_len(6), 608);
    assert_eq!(kes_secret_key_len(6), KES_SECRET_KEY_HEADER_LEN + 608);
    let key = KesSecretKey::from_seed(&SEED, 6).expect("key");
    assert_eq!(key.sign(b"m").as_bytes().len(), 448);
    let bytes = key.to_bytes();
    assert_eq!(bytes.len(), KES_SECRET_KEY_HEADER_LEN + 608);
    assert_eq!(bytes[..KES_SECRET_KEY_HEADER_LEN], [1, 6, 0, 0, 0, 0]);
    for depth in 0..=KES_DEPTH_MAX {
        assert_eq!(kes_signature_len(depth), 64 + 64 * depth as usize);
        assert_eq!(kes_secret_key_material_len(depth), 32 + 96 * depth as usize);
    }
}

#[test]
fn serialization_round_trip_mid_way_signs_identically() {
    let mut original = key_at(&SEED, 6, 37);
    let bytes = original.to_bytes();
    assert_eq!(bytes[2..6], 37u32.to_le_bytes(), "period in header");
    let mut restored = KesSecretKey::from_bytes(&bytes).expect("valid key file");
    assert_eq!(restored.depth(), 6);
    assert_eq!(restored.period(), 37);
    assert_eq!(restored.public_key(), original.public_key());
    assert_eq!(*restored.to_bytes(), *bytes);
    loop {
        let text = message(original.period());
        assert_eq!(original.sign(&text), restored.sign(&text));
        match (original.evolve(), restored.evolve()) {
            (Ok(()), Ok(())) => {}
            (Err(KesError::KeyExpired { .. }), Err(KesError::KeyExpired { .. })) => break,
            other => panic!("keys diverged: {other:?}"),
        }
    }
    assert_eq!(original.period(), 63);
}

#[test]
fn every_tampered_signature_byte_is_rejected() {
    let key = key_at(&SEED, 6, 21);
    let signature = key.sign(b"header");
    assert!(verify(&key.public_key(), 21, b"header", &signature, 6).is_ok());
    for index in 0..signature.as_bytes().len() {
        let mut bytes = signature.as_bytes().to_vec();
        bytes[index] ^= 0x01;
        let tampered = KesSignature::from_bytes(&bytes, 6).expect("length unchanged");
        assert!(
            verify(&key.public_key(), 21, b"header", &tampered, 6).is_err(),
            "byte {index}"
        );
    }
}

#[test]
fn depth_zero_is_a_single_period_ed25519_key() {
    let mut key = KesSecretKey::from_seed(&SEED, 0).expect("key");
    let expected = ed25519_dalek::SigningKey::from_bytes(&SEED)
        .verifying_key()
        .to_bytes();
    assert_eq!(key.public_key(), KesPublicKey(expected));
    let signature = key.sign(b"only period");
    assert_eq!(signature.as_bytes().len(), 64);
    assert!(verify(&key.public_key(), 0, b"only period", &signature, 0).is_ok());
    assert!(verify(&key.public_key(), 1, b"only period", &signature, 0).is_err());
    assert!(matches!(
        key.evolve(),
        Err(KesError::KeyExpired { period: 0 })
    ));
    assert_eq!(key.to_bytes().len(), KES_SECRET_KEY_HEADER_LEN + 32);
    let restored = KesSecretKey::from_bytes(&key.to_bytes()).expect("round trip");
    assert_eq!(restored.public_key(), key.public_key());
}

#[test]
fn depth_and_length_mismatches_are_rejected() {
    assert!(matches!(
        KesSecretKey::from_seed(&SEED, KES_DEPTH_MAX + 1),
        Err(KesError::DepthTooLarge { depth: 11, max: 10 })
    ));
    let key = KesSecretKey::from_seed(&SEED, 3).expect("key");
    let signature = key.sign(b"m");
    assert!(matches!(
        verify(&key.public_key(), 0, b"m", &signature, 4),
        Err(KesError::SignatureDepthMismatch {
            signature_depth: 3,
            depth: 4
        })
    ));
    assert!(matches!(
        verify(&key.public_key(), 0, b"m", &signature, 11),
        Err(KesError::DepthTooLarge { .. })
    ));
    assert!(matches!(
        KesSignature::from_bytes(&signature.as_bytes()[1..], 3),
        Err(KesError::SignatureLength {
            depth: 3,
            expected: 256,
            actual: 255
        })
    ));
    let other = KesSecretKey::from_seed(&[1; 32], 3).expect("key");
    assert!(matches!(
        verify(&other.public_key(), 0, b"m", &signature, 3),
        Err(KesError::PublicKeyMismatch { level: 3 })
    ));
}

#[test]
fn evolve_erases_past_secrets() {
    let depth = 6;
    let start = key_at(&SEED, depth, 31);
    let before = start.to_bytes();
    let leaf_seed_before: [u8; 32] = before[6..38].try_into().expect("32");
    let top = 6 + 32 + 96 * 5;
    let top_right_seed: [u8; 32] = before[top..top + 32].try_into().expect("32");
    assert_ne!(top_right_seed, [0; 32], "right half not yet used");

    let mut key = start;
    key.evolve().expect("evolve to 32");
    let after = key.to_bytes();
    assert_eq!(after[top..top + 32], [0; 32], "used right seed erased");
    for window in after.windows(32) {
        assert_ne!(window, leaf_seed_before, "old leaf seed gone");
    }
    // Every level below the top was rebuilt from the erased seed.
    for level in 0..5 {
        let offset = 6 + 32 + 96 * level;
        assert_ne!(
            after[offset..offset + 32],
            [0; 32],
            "level {} has a fresh seed",
            level + 1
        );
    }
}

#[test]
fn corrupt_key_files_are_rejected_without_panicking() {
    let key = key_at(&SEED, 4, 5);
    let bytes = key.to_bytes();
    assert!(KesSecretKey::from_bytes(&bytes).is_ok());

    for length in 0..bytes.len() {
        assert!(matches!(
            KesSecretKey::from_bytes(&bytes[..length]),
            Err(KesError::SecretKeyLength { .. })
        ));
    }
    let mut longer = bytes.to_vec();
    longer.push(0);
    assert!(matches!(
        KesSecretKey::from_bytes(&longer),
        Err(KesError::SecretKeyLength { .. })
    ));

    let corrupt = |index: usize, value: u8| {
        let mut copy = bytes.to_vec();
        copy[index] = value;
        KesSecretKey::from_bytes(&copy)
    };
    assert!(matches!(
        corrupt(0, 2),
        Err(KesError::SecretKeyVersion { version: 2 })
    ));
    assert!(matches!(
        corrupt(1, 11),
        Err(KesError::DepthTooLarge { depth: 11, .. })
    ));
    assert!(matches!(
        corrupt(1, 3),
        Err(KesError::SecretKeyLength { .. })
    ));
    assert!(matches!(
        corrupt(2, 16),
        Err(KesError::PeriodOutOfRange {
            period: 16,
            period_count: 16
        })
    ));
    // Period 5 = 0b0101: level 1 is in its right half (seed erased), level 2 in its left.
    assert!(matches!(
        corrupt(2, 4),
        Err(KesError::SecretKeyInconsistent { .. })
    ));
    // Every byte of the key material matters.
    for index in KES_SECRET_KEY_HEADER_LEN..bytes.len() {
        assert!(
            matches!(
                corrupt(index, bytes[index] ^ 0x80),
                Err(KesError::SecretKeyInconsistent { .. })
            ),
            "byte {index}"
        );
    }
}

#[test]
fn secret_key_debug_is_redacted() {
    let key = KesSecretKey::from_seed(&SEED, 2).expect("key");
    let text = format!("{key:?}");
    assert!(text.contains("redacted") && text.contains("period"));
    assert!(!text.contains("90, 90, 90"), "{text}");
}

#[test]
fn generated_keys_differ_and_work() {
    let first = KesSecretKey::generate(KES_DEPTH_DEFAULT).expect("os randomness");
    let second = KesSecretKey::generate(KES_DEPTH_DEFAULT).expect("os randomness");
    assert_ne!(first.public_key(), second.public_key());
    let signature = first.sign(b"m");
    assert!(verify(&first.public_key(), 0, b"m", &signature, 6).is_ok());
    assert!(verify(&second.public_key(), 0, b"m", &signature, 6).is_err());
}

#[test]
fn largest_depth_walks_all_1024_periods() {
    let mut key = KesSecretKey::from_seed(&SEED, KES_DEPTH_MAX).expect("key");
    let public_key = key.public_key();
    for period in 0..kes_period_count(KES_DEPTH_MAX) {
        let signature = key.sign(&message(period));
        assert_eq!(signature.as_bytes().len(), 64 + 64 * 10);
        assert!(verify(&public_key, period, &message(period), &signature, 10).is_ok());
        if period % 97 == 0 {
            assert!(verify(&public_key, period ^ 1, &message(period), &signature, 10).is_err());
        }
        if let Err(error) = key.evolve() {
            assert_eq!(period, 1023, "{error}");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn signature_verifies_only_at_its_period(
        seed in any::<[u8; 32]>(),
        depth in 0u32..=4,
        period_choice in any::<u32>(),
        other_choice in any::<u32>(),
        text in proptest::collection::vec(any::<u8>(), 0..64),
    ) {
        let period = period_choice % kes_period_count(depth);
        let other = other_choice % kes_period_count(depth);
        let key = key_at(&seed, depth, period);
        let signature = key.sign(&text);
        prop_assert!(verify(&key.public_key(), period, &text, &signature, depth).is_ok());
        if other != period {
            prop_assert!(verify(&key.public_key(), other, &text, &signature, depth).is_err());
        }
        let restored = KesSecretKey::from_bytes(&key.to_bytes()).expect("round trip");
        prop_assert_eq!(restored.sign(&text), signature);
    }

    #[test]
    fn arbitrary_key_files_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..700)) {
        let _ = KesSecretKey::from_bytes(&bytes);
    }

    #[test]
    fn random_key_material_is_rejected(
        depth in 1u8..=4,
        period in any::<u32>(),
        material in proptest::collection::vec(any::<u8>(), 32 + 96 * 4),
    ) {
        let mut bytes = vec![1, depth];
        bytes.extend_from_slice(&(period % kes_period_count(u32::from(depth))).to_le_bytes());
        bytes.extend_from_slice(&material[..kes_secret_key_material_len(u32::from(depth))]);
        // Any seed is a valid depth-0 key; above that, random material is consistent
        // only with probability about 2^-256.
        prop_assert!(
            matches!(KesSecretKey::from_bytes(&bytes), Err(KesError::SecretKeyInconsistent { .. })),
            "random material accepted"
        );
    }
}
