//! BLS12-381 against the Wycheproof vector sets in `../shared/vectors/bls`.

use std::path::PathBuf;

use aether_crypto::bls::{
    self, BlsPublicKey, BlsSecretKey, BlsSignature, aggregate_verify_with_dst, verify,
};

fn read_json(name: &str) -> serde_json::Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/vectors/bls")
        .join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()));
    serde_json::from_str(&text).expect("vector file is JSON")
}

fn hex_field(value: &serde_json::Value) -> Vec<u8> {
    hex::decode(value.as_str().expect("hex string")).expect("valid hex")
}

fn expected(test: &serde_json::Value) -> bool {
    match test["result"].as_str().unwrap() {
        "valid" => true,
        "invalid" => false,
        other => panic!("unexpected result {other}"),
    }
}

#[test]
fn wycheproof_pop_ciphersuite_verify() {
    let vectors = read_json("wycheproof_bls_sig_g2_pop_verify_test.json");
    let mut checked = 0;
    let mut mismatches = Vec::new();
    for group in vectors["testGroups"].as_array().unwrap() {
        assert_eq!(
            group["ciphersuite"],
            "BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_"
        );
        let public_key = BlsPublicKey::from_bytes(&hex_field(&group["publicKey"]["pk"]));
        for test in group["tests"].as_array().unwrap() {
            let message = hex_field(&test["msg"]);
            let decision = match (
                &public_key,
                BlsSignature::from_bytes(&hex_field(&test["sig"])),
            ) {
                (Ok(public_key), Ok(signature)) => verify(public_key, &message, &signature).is_ok(),
                _ => false,
            };
            checked += 1;
            if decision != expected(test) {
                mismatches.push(format!("tc{} {}", test["tcId"], test["comment"]));
            }
        }
    }
    assert_eq!(checked, vectors["numberOfTests"].as_u64().unwrap() as usize);
    assert!(mismatches.is_empty(), "{mismatches:#?}");
}

#[test]
fn wycheproof_aggregate_verify() {
    let vectors = read_json("wycheproof_bls_sig_g2_aggregate_verify_test.json");
    let mut checked = 0;
    let mut mismatches = Vec::new();
    for group in vectors["testGroups"].as_array().unwrap() {
        // These vectors were published for the basic (NUL) ciphersuite; the aggregation
        // and pairing code is the same, only the DST differs.
        let dst = group["ciphersuite"].as_str().unwrap().as_bytes();
        for test in group["tests"].as_array().unwrap() {
            let public_keys: Result<Vec<BlsPublicKey>, _> = test["pubkeys"]
                .as_array()
                .unwrap()
                .iter()
                .map(|key| BlsPublicKey::from_bytes(&hex_field(key)))
                .collect();
            let messages: Vec<Vec<u8>> = test["messages"]
                .as_array()
                .unwrap()
                .iter()
                .map(hex_field)
                .collect();
            let message_slices: Vec<&[u8]> = messages.iter().map(Vec::as_slice).collect();
            let signature = BlsSignature::from_bytes(&hex_field(&test["sig"]));
            let decision = match (public_keys, signature) {
                (Ok(public_keys), Ok(signature)) => {
                    aggregate_verify_with_dst(dst, &public_keys, &message_slices, &signature)
                        .is_ok()
                }
                _ => false,
            };
            checked += 1;
            if decision != expected(test) {
                mismatches.push(format!("tc{} {}", test["tcId"], test["comment"]));
            }
        }
    }
    assert_eq!(checked, vectors["numberOfTests"].as_u64().unwrap() as usize);
    assert!(mismatches.is_empty(), "{mismatches:#?}");
}

/// Signing with the secret scalar 1 returns the hash-to-G2 of the message itself, so
/// the RFC 9380 hash-to-curve vectors check the hashing every signature relies on.
#[test]
fn wycheproof_hash_to_g2_through_the_unit_scalar() {
    let vectors = read_json("wycheproof_bls_hash_to_g2_test.json");
    let mut unit = [0u8; 32];
    unit[31] = 1;
    let unit_key = BlsSecretKey::from_bytes(&unit).unwrap();
    let mut checked = 0;
    for group in vectors["testGroups"].as_array().unwrap() {
        let dst = group["dst"].as_str().unwrap().as_bytes();
        for test in group["tests"].as_array().unwrap() {
            let hashed = unit_key.sign_with_dst(&hex_field(&test["msg"]), dst);
            assert_eq!(
                hex::encode(hashed.to_bytes()),
                test["expected"].as_str().unwrap()
            );
            checked += 1;
        }
    }
    assert_eq!(checked, 34);
}

#[test]
fn aggregate_of_nothing_is_an_error() {
    assert_eq!(bls::aggregate(&[]).unwrap_err(), bls::BlsError::Empty);
    assert_eq!(
        bls::fast_aggregate_verify(
            &[],
            b"m",
            &BlsSecretKey::from_bytes(&[1; 32]).unwrap().sign(b"m")
        )
        .unwrap_err(),
        bls::BlsError::Empty
    );
}
