//! Intermediate values of RFC 9381 appendix B.3 (x, H, k, U, V), which the public API
//! does not expose. The public values (pi, beta) are checked in `tests/vrf_vectors.rs`.
//!
//! Source: RFC 9381 appendix B.3 (examples 16–18), as transcribed in facebook/akd
//! `akd_core/src/ecvrf/tests.rs`; pi and beta agree with two further independent
//! transcriptions.

use super::*;
use curve25519_dalek::traits::IsIdentity;

struct Intermediates {
    sk: &'static str,
    pk: &'static str,
    alpha: &'static [u8],
    x: &'static str,
    h: &'static str,
    k: &'static str,
    u: &'static str,
    v: &'static str,
}

const EXAMPLES: [Intermediates; 3] = [
    // Example 16 (try_and_increment succeeded on ctr = 0)
    Intermediates {
        sk: "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
        pk: "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
        alpha: b"",
        x: "307c83864f2833cb427a2ef1c00a013cfdff2768d980c0a3a520f006904de94f",
        h: "91bbed02a99461df1ad4c6564a5f5d829d0b90cfc7903e7a5797bd658abf3318",
        k: "7100f3d9eadb6dc4743b029736ff283f5be494128df128df2817106f345b8594\
            b6d6da2d6fb0b4c0257eb337675d96eab49cf39e66cc2c9547c2bf8b2a6afae4",
        u: "aef27c725be964c6a9bf4c45ca8e35df258c1878b838f37d9975523f09034071",
        v: "5016572f71466c646c119443455d6cb9b952f07d060ec8286d678615d55f954f",
    },
    // Example 17 (try_and_increment succeeded on ctr = 1)
    Intermediates {
        sk: "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
        pk: "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
        alpha: b"\x72",
        x: "68bd9ed75882d52815a97585caf4790a7f6c6b3b7f821c5e259a24b02e502e51",
        h: "5b659fc3d4e9263fd9a4ed1d022d75eaacc20df5e09f9ea937502396598dc551",
        k: "42589bbf0c485c3c91c1621bb4bfe04aed7be76ee48f9b00793b2342acb9c167\
            cab856f9f9d4febc311330c20b0a8afd3743d05433e8be8d32522ecdc16cc5ce",
        u: "1dcb0a4821a2c48bf53548228b7f170962988f6d12f5439f31987ef41f034ab3",
        v: "fd03c0bf498c752161bae4719105a074630a2aa5f200ff7b3995f7bfb1513423",
    },
    // Example 18 (try_and_increment succeeded on ctr = 0)
    Intermediates {
        sk: "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
        pk: "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
        alpha: b"\xaf\x82",
        x: "909a8b755ed902849023a55b15c23d11ba4d7f4ec5c2f51b1325a181991ea95c",
        h: "bf4339376f5542811de615e3313d2b36f6f53c0acfebb482159711201192576a",
        k: "38b868c335ccda94a088428cbf3ec8bc7955bfaffe1f3bd2aa2c59fc31a0febc\
            59d0e1af3715773ce11b3bbdd7aba8e3505d4b9de6f7e4a96e67e0d6bb6d6c3a",
        u: "2bae73e15a64042fcebf062abe7e432b2eca6744f3e8265bc38e009cd577ecd5",
        v: "88cba1cb0d4f9b649d9a86026b69de076724a93a65c349c988954f0961c5d506",
    },
];

fn bytes<const N: usize>(text: &str) -> [u8; N] {
    hex::decode(text).expect("hex").try_into().expect("length")
}

#[test]
fn rfc9381_intermediate_values() {
    for example in &EXAMPLES {
        let key = VrfSecretKey::from_seed(&bytes(example.sk));
        assert_eq!(key.public_key().0, bytes::<32>(example.pk));

        // x is printed clamped but unreduced; the key keeps it reduced mod L.
        let hashed: [u8; 64] = Sha512::digest(bytes::<32>(example.sk)).into();
        let clamped = clamp_integer(hashed[..32].try_into().expect("32 bytes"));
        assert_eq!(clamped, bytes::<32>(example.x));
        assert_eq!(key.scalar, Scalar::from_bytes_mod_order(clamped));

        let h_point = encode_to_curve(&key.public_key().0, example.alpha).expect("encode");
        let h_string = h_point.compress().to_bytes();
        assert_eq!(h_string, bytes::<32>(example.h));

        let k_string = nonce_generation(&key.nonce_key, &h_string);
        assert_eq!(k_string, bytes::<64>(example.k));
        let k = Scalar::from_bytes_mod_order_wide(&k_string);
        assert_eq!(
            EdwardsPoint::mul_base(&k).compress().to_bytes(),
            bytes::<32>(example.u)
        );
        assert_eq!((h_point * k).compress().to_bytes(), bytes::<32>(example.v));
    }
}

#[test]
fn decode_point_rejects_non_canonical_y_and_negative_zero() {
    // y = p (non-canonical encoding of y = 0, which is on the curve).
    let mut y_is_p = [0xffu8; 32];
    y_is_p[0] = 0xed;
    y_is_p[31] = 0x7f;
    assert!(
        CompressedEdwardsY(y_is_p).decompress().is_some(),
        "dalek reduces y"
    );
    assert!(decode_point(&y_is_p).is_none());

    // y = 1 with the sign bit set: x = 0 cannot be negative.
    let mut negative_zero = [0u8; 32];
    negative_zero[0] = 1;
    negative_zero[31] = 0x80;
    assert!(decode_point(&negative_zero).is_none());
    negative_zero[31] = 0;
    assert!(decode_point(&negative_zero).is_some());
}

#[test]
fn encoded_point_is_in_prime_order_subgroup() {
    let h_point = encode_to_curve(&[7u8; 32], b"aether").expect("encode");
    assert!(h_point.is_torsion_free());
    assert!(!h_point.is_identity());
}
