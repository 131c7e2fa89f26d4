//! ECVRF-EDWARDS25519-SHA512-TAI against RFC 9381 appendix B.3, plus rejection and
//! property tests.
//!
//! The vectors are RFC 9381 appendix B.3, examples 16, 17 and 18, as transcribed in
//! facebook/akd `akd_core/src/ecvrf/tests.rs` (which also lists x, H, k, U, V; those are
//! checked in `src/vrf/tests.rs`); pi and beta agree byte for byte with two further
//! independent transcriptions of the RFC.

use aether_crypto::vrf::{
    VRF_PROOF_LEN, VrfError, VrfProof, VrfPublicKey, VrfSecretKey, proof_to_hash, verify,
};
use proptest::prelude::*;

struct Example {
    name: &'static str,
    sk: &'static str,
    pk: &'static str,
    alpha: &'static str,
    pi: &'static str,
    beta: &'static str,
}

const RFC9381_B3: [Example; 3] = [
    Example {
        name: "example 16",
        sk: "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
        pk: "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
        alpha: "",
        pi: "8657106690b5526245a92b003bb079ccd1a92130477671f6fc01ad16f26f723f\
             26f8a57ccaed74ee1b190bed1f479d97\
             27d2d0f9b005a6e456a35d4fb0daab1268a1b0db10836d9826a528ca76567805",
        beta: "90cf1df3b703cce59e2a35b925d411164068269d7b2d29f3301c03dd757876ff\
               66b71dda49d2de59d03450451af026798e8f81cd2e333de5cdf4f3e140fdd8ae",
    },
    Example {
        name: "example 17",
        sk: "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
        pk: "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
        alpha: "72",
        pi: "f3141cd382dc42909d19ec5110469e4feae18300e94f304590abdced48aed593\
             3bf0864a62558b3ed7f2fea45c92a465\
             301b3bbf5e3e54ddf2d935be3b67926da3ef39226bbc355bdc9850112c8f4b02",
        beta: "eb4440665d3891d668e7e0fcaf587f1b4bd7fbfe99d0eb2211ccec90496310eb\
               5e33821bc613efb94db5e5b54c70a848a0bef4553a41befc57663b56373a5031",
    },
    Example {
        name: "example 18",
        sk: "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
        pk: "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
        alpha: "af82",
        pi: "9bc0f79119cc5604bf02d23b4caede71393cedfbb191434dd016d30177ccbf80\
             96bb474e53895c362d8628ee9f9ea3c0\
             e52c7a5c691b6c18c9979866568add7a2d41b00b05081ed0f58ee5e31b3a970e",
        beta: "645427e5d00c62a23fb703732fa5d892940935942101e456ecca7bb217c61c45\
               2118fec1219202a0edcf038bb6373241578be7217ba85a2687f7a0310b2df19f",
    },
];

fn bytes<const N: usize>(text: &str) -> [u8; N] {
    hex::decode(text).expect("hex").try_into().expect("length")
}

/// The group order L, little-endian.
const GROUP_ORDER: [u8; 32] = [
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10,
];

fn example_16() -> (VrfPublicKey, Vec<u8>, VrfProof) {
    let example = &RFC9381_B3[0];
    (
        VrfPublicKey(bytes(example.pk)),
        hex::decode(example.alpha).expect("hex"),
        VrfProof(bytes(example.pi)),
    )
}

#[test]
fn rfc9381_vectors_prove_verify_and_hash() {
    for example in &RFC9381_B3 {
        let key = VrfSecretKey::from_seed(&bytes(example.sk));
        let alpha = hex::decode(example.alpha).expect("hex");
        assert_eq!(
            key.public_key().0,
            bytes::<32>(example.pk),
            "{}: pk",
            example.name
        );

        let proof = key.prove(&alpha);
        assert_eq!(
            proof.0,
            bytes::<VRF_PROOF_LEN>(example.pi),
            "{}: pi",
            example.name
        );

        let beta = bytes::<64>(example.beta);
        assert_eq!(
            proof_to_hash(&proof).expect("hash").0,
            beta,
            "{}: beta",
            example.name
        );
        let verified = verify(&key.public_key(), &alpha, &proof).expect(example.name);
        assert_eq!(verified.0, beta, "{}: verify output", example.name);
    }
}

#[test]
fn every_single_bit_flip_in_pi_is_rejected() {
    let (public_key, alpha, proof) = example_16();
    for bit in 0..VRF_PROOF_LEN * 8 {
        let mut tampered = proof;
        tampered.0[bit / 8] ^= 1 << (bit % 8);
        assert!(verify(&public_key, &alpha, &tampered).is_err(), "bit {bit}");
    }
}

#[test]
fn wrong_alpha_is_rejected() {
    let (public_key, _, proof) = example_16();
    assert!(matches!(
        verify(&public_key, b"not the input", &proof),
        Err(VrfError::ChallengeMismatch)
    ));
}

#[test]
fn wrong_key_is_rejected() {
    let (_, alpha, proof) = example_16();
    let other = VrfPublicKey(bytes(RFC9381_B3[1].pk));
    assert!(matches!(
        verify(&other, &alpha, &proof),
        Err(VrfError::ChallengeMismatch)
    ));
}

#[test]
fn scalar_not_below_group_order_is_rejected() {
    let (public_key, alpha, proof) = example_16();
    // s + L encodes the same residue: without the s < L check it would verify.
    let mut s_plus_l = proof;
    let mut carry = 0u16;
    for (index, byte) in s_plus_l.0[48..].iter_mut().enumerate() {
        let sum = u16::from(*byte) + u16::from(GROUP_ORDER[index]) + carry;
        *byte = sum as u8;
        carry = sum >> 8;
    }
    assert_eq!(carry, 0, "s + L fits in 256 bits");
    assert!(matches!(
        verify(&public_key, &alpha, &s_plus_l),
        Err(VrfError::ScalarNotCanonical)
    ));
    assert!(matches!(
        proof_to_hash(&s_plus_l),
        Err(VrfError::ScalarNotCanonical)
    ));

    let mut s_is_l = proof;
    s_is_l.0[48..].copy_from_slice(&GROUP_ORDER);
    assert!(matches!(
        verify(&public_key, &alpha, &s_is_l),
        Err(VrfError::ScalarNotCanonical)
    ));
}

#[test]
fn invalid_gamma_is_rejected() {
    let (public_key, alpha, proof) = example_16();
    let mut not_on_curve = proof;
    not_on_curve.0[..32].copy_from_slice(&[2; 32]);
    // y = 2 is not the y-coordinate of any point on edwards25519.
    not_on_curve.0[1..32].fill(0);
    assert!(matches!(
        verify(&public_key, &alpha, &not_on_curve),
        Err(VrfError::GammaEncoding)
    ));
    assert!(matches!(
        proof_to_hash(&not_on_curve),
        Err(VrfError::GammaEncoding)
    ));
}

#[test]
fn small_order_public_keys_are_rejected() {
    let (_, alpha, proof) = example_16();
    // The identity (y = 1) and the point of order 2 (y = -1).
    let mut identity = [0u8; 32];
    identity[0] = 1;
    let mut order_two = [0xffu8; 32];
    order_two[0] = 0xec;
    order_two[31] = 0x7f;
    for key in [identity, order_two] {
        assert!(matches!(
            verify(&VrfPublicKey(key), &alpha, &proof),
            Err(VrfError::PublicKeySmallOrder)
        ));
    }
}

/// The C2SP/CCTV Ed25519 edge-case keys: every small-order key (canonical or not) is
/// rejected, non-canonical encodings as encodings; mixed-order keys pass key validation
/// (RFC 9381 section 5.4.5 only rejects small order) and then fail the challenge.
#[test]
fn cctv_edge_case_public_keys() {
    #[derive(serde::Deserialize)]
    struct Case {
        key: String,
        flags: Option<Vec<String>>,
    }
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/vectors/ed25519/cctv_ed25519vectors.json"
    );
    let text = std::fs::read_to_string(path).expect("CCTV vectors in ../shared/vectors");
    let cases: Vec<Case> = serde_json::from_str(&text).expect("CCTV json");
    let (_, alpha, proof) = example_16();
    let (mut small_order, mut non_canonical, mut mixed) = (0, 0, 0);
    for case in &cases {
        let flags = case.flags.clone().unwrap_or_default();
        let has = |flag: &str| flags.iter().any(|f| f == flag);
        let key = VrfPublicKey(bytes(&case.key));
        let result = verify(&key, &alpha, &proof);
        if has("non_canonical_A") {
            non_canonical += 1;
            assert!(
                matches!(result, Err(VrfError::PublicKeyEncoding)),
                "{}",
                case.key
            );
        } else if has("low_order_A") {
            small_order += 1;
            assert!(
                matches!(result, Err(VrfError::PublicKeySmallOrder)),
                "{}",
                case.key
            );
        } else {
            if has("low_order_component_A") {
                mixed += 1;
            }
            assert!(
                matches!(result, Err(VrfError::ChallengeMismatch)),
                "{}",
                case.key
            );
        }
    }
    assert!(small_order > 0 && non_canonical > 0 && mixed > 0);
}

#[test]
fn secret_key_debug_is_redacted() {
    let seed = bytes::<32>(RFC9381_B3[0].sk);
    let text = format!("{:?}", VrfSecretKey::from_seed(&seed));
    assert!(text.contains("redacted"));
    assert!(
        !text.contains(format!("{:?}", &seed[..4]).trim_end_matches(']')),
        "{text}"
    );
    assert!(!text.to_lowercase().contains("9d61b1"));
}

#[test]
fn generated_keys_prove_and_verify() {
    let key = VrfSecretKey::generate().expect("os randomness");
    let proof = key.prove(b"slot 7");
    assert!(verify(&key.public_key(), b"slot 7", &proof).is_ok());
    assert_eq!(
        VrfSecretKey::from_seed(&key.to_seed()).public_key(),
        key.public_key()
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn prove_verifies_and_output_is_unique(
        seed in any::<[u8; 32]>(),
        alpha in proptest::collection::vec(any::<u8>(), 0..96),
        other_alpha in proptest::collection::vec(any::<u8>(), 0..96),
    ) {
        let key = VrfSecretKey::from_seed(&seed);
        let proof = key.prove(&alpha);
        prop_assert_eq!(key.prove(&alpha), proof, "deterministic");
        let output = verify(&key.public_key(), &alpha, &proof).expect("valid proof");
        prop_assert_eq!(proof_to_hash(&proof).expect("hash"), output);
        if other_alpha != alpha {
            prop_assert!(verify(&key.public_key(), &other_alpha, &proof).is_err());
            prop_assert_ne!(
                proof_to_hash(&key.prove(&other_alpha)).expect("hash"),
                output
            );
        }
    }
}
