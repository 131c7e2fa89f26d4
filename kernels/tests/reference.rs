//! The scalar reference against `aether_crypto::ed25519::verify` (the CPU rule) on
//! every public vector and on random valid and corrupted signatures, plus its curve
//! constants against curve25519-dalek's.

mod common;

use aether_kernels::ReferenceSigVerify;
use aether_kernels::reference::BASEPOINT_BYTES;
use aether_kernels::reference::edwards::EdwardsPoint;
use aether_kernels::reference::field::FieldElement;
use curve25519_dalek::constants;

#[test]
fn constants_and_basepoint_table_match_curve25519_dalek() {
    // d and 2d are exercised by decompressing B and by the table additions below.
    let reference = ReferenceSigVerify::new();
    let curve = reference.constants();
    assert_eq!(
        curve.sqrt_m1.square().to_bytes(),
        FieldElement::ONE.neg().to_bytes()
    );
    assert_eq!(
        constants::ED25519_BASEPOINT_COMPRESSED.to_bytes(),
        BASEPOINT_BYTES
    );
    // [1]B, [15]B through the table against dalek's multiples of B.
    for multiple in [1u8, 2, 7, 15] {
        let expected = (constants::ED25519_BASEPOINT_POINT
            * curve25519_dalek::Scalar::from(multiple))
        .compress()
        .to_bytes();
        let point = reference.base_table()[usize::from(multiple)];
        assert_eq!(encode(&point), expected, "[{multiple}]B");
    }
}

/// The canonical encoding of a point (y with the sign of x on top).
fn encode(point: &EdwardsPoint) -> [u8; 32] {
    let normal = point.normalize();
    let mut bytes = normal.y.to_bytes();
    bytes[31] |= u8::from(normal.x.is_negative()) << 7;
    bytes
}

#[test]
fn field_identities_hold_on_random_elements() {
    let mut random = common::SplitMix(7);
    let mut element = || {
        let mut bytes = [0u8; 32];
        for chunk in bytes.chunks_exact_mut(8) {
            chunk.copy_from_slice(&random.next_u64().to_le_bytes());
        }
        FieldElement::from_bytes(&bytes)
    };
    for _ in 0..200 {
        let (a, b, c) = (element(), element(), element());
        assert!(
            a.mul(&b).mul(&c).equals(&a.mul(&b.mul(&c))),
            "associativity"
        );
        assert!(
            a.add(&b).mul(&c).equals(&a.mul(&c).add(&b.mul(&c))),
            "distributivity"
        );
        assert!(a.sub(&b).add(&b).equals(&a), "a − b + b = a");
        assert!(a.mul(&a.invert()).equals(&FieldElement::ONE), "a · a⁻¹ = 1");
        assert!(a.neg().add(&a).is_zero(), "−a + a = 0");
    }
    // p itself and 2^255 − 1 are read mod p.
    let mut p_bytes = [0xff; 32];
    p_bytes[0] = 0xed;
    p_bytes[31] = 0x7f;
    assert!(FieldElement::from_bytes(&p_bytes).is_zero());
    p_bytes[0] = 0xff;
    assert_eq!(FieldElement::from_bytes(&p_bytes).to_bytes()[0], 18);
}

#[test]
fn every_vector_matches_the_cpu_rule() {
    let reference = ReferenceSigVerify::new();
    let cases = common::vector_cases();
    let decisions: Vec<bool> = cases
        .iter()
        .map(|case| reference.verify_item(&case.item()))
        .collect();
    common::assert_decisions(&cases, &decisions, "reference on vectors");
    assert!(
        decisions.iter().any(|accepted| *accepted) && decisions.iter().any(|accepted| !accepted)
    );
}

#[test]
fn random_valid_and_corrupted_signatures_match_the_cpu_rule() {
    let reference = ReferenceSigVerify::new();
    let cases = common::random_cases(2_000, 0x5eed);
    let accepted = cases.iter().filter(|case| case.expected).count();
    assert!(
        accepted > 1_000 && accepted < 1_900,
        "a mix: {accepted} of 2000 valid"
    );
    let decisions: Vec<bool> = cases
        .iter()
        .map(|case| reference.verify_item(&case.item()))
        .collect();
    common::assert_decisions(&cases, &decisions, "reference on random signatures");
}

#[test]
fn the_wgsl_microcode_flow_matches_the_cpu_rule() {
    let verifier = aether_kernels::microcode::MicrocodeVerifier::new();
    let mut cases = common::vector_cases();
    cases.extend(common::random_cases(500, 0xface));
    let decisions: Vec<bool> = cases
        .iter()
        .map(|case| verifier.verify_item(&case.item()))
        .collect();
    common::assert_decisions(&cases, &decisions, "micro-code on vectors and random");
}

#[test]
fn the_wgsl_13_bit_field_matches_the_reference_field() {
    use aether_kernels::field13;
    let mut random = common::SplitMix(13);
    let mut words = || {
        let mut words = [0u32; 8];
        for word in &mut words {
            *word = random.next_u64() as u32;
        }
        // Now and then an edge value: all ones (≥ p after masking bit 255) or small.
        match random.next_u64() % 8 {
            0 => words = [u32::MAX; 8],
            1 => words = [0, 0, 0, 0, 0, 0, 0, 0],
            _ => {}
        }
        words
    };
    for _ in 0..2_000 {
        let (words_a, words_b) = (words(), words());
        let bytes = |words: &[u32; 8]| {
            let mut bytes = [0u8; 32];
            for (chunk, word) in bytes.chunks_exact_mut(4).zip(words) {
                chunk.copy_from_slice(&word.to_le_bytes());
            }
            bytes
        };
        let (a, b) = (field13::from_words(&words_a), field13::from_words(&words_b));
        let (ra, rb) = (
            FieldElement::from_bytes(&bytes(&words_a)),
            FieldElement::from_bytes(&bytes(&words_b)),
        );
        assert_eq!(field13::to_bytes(&a), ra.to_bytes(), "load");
        let product = field13::mul(&a, &b);
        assert_eq!(field13::to_bytes(&product), ra.mul(&rb).to_bytes(), "mul");
        let sum = field13::add(&product, &b);
        assert_eq!(
            field13::to_bytes(&sum),
            ra.mul(&rb).add(&rb).to_bytes(),
            "add"
        );
        let difference = field13::sub(&a, &sum);
        assert_eq!(
            field13::to_bytes(&difference),
            ra.sub(&ra.mul(&rb).add(&rb)).to_bytes(),
            "sub"
        );
        let squared = field13::mul(&difference, &difference);
        assert_eq!(
            field13::to_bytes(&squared),
            ra.sub(&ra.mul(&rb).add(&rb)).square().to_bytes(),
            "square of a difference"
        );
    }
}
