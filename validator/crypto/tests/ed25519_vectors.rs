//! Ed25519 against every public vector set, single and batched.
//!
//! The expected decision of each vector under the ZIP-215 rule is derived from the
//! vector set's own labels (never from this implementation):
//! - CCTV: every vector is accepted except those flagged `reencoded_k` whose `A` is
//!   not low-order. The CCTV README says "ZIP215 rules require accepting all vectors",
//!   but it also defines `reencoded_k` as "uses the canonical encoding [of a
//!   non-canonical A or R] to compute k", and ZIP-215 hashes the bytes as received
//!   (as does every validator the README knows of). With a low-order `A` the value of
//!   `k` is multiplied away by the cofactor, so those still verify; with a prime-order
//!   component in `A` the re-encoded `k` is simply the wrong challenge. 88 of the 914
//!   vectors are of that kind, each the twin of an accepted vector signed with the
//!   received-bytes `k`.
//! - speccheck: the "Zebra" row of `speccheck_results.md` (Zebra implements ZIP-215).
//! - Wycheproof: `valid` must be accepted and `invalid` rejected, except the cases in
//!   [`WYCHEPROOF_ZIP215_ACCEPTS`], whose only defect is an encoding that ZIP-215
//!   explicitly accepts.
//!
//! Batches of 1, 7, 64 and 256 mix the edge cases among valid signatures at
//! pseudo-random positions; every decision must equal the single-verify decision.

use std::path::PathBuf;

use aether_crypto::ed25519::{
    Ed25519PublicKey, Ed25519SecretKey, Ed25519Signature, VerifyItem, verify, verify_batch,
};

#[derive(Debug, Clone)]
struct Case {
    label: String,
    public_key: Ed25519PublicKey,
    message: Vec<u8>,
    signature: Ed25519Signature,
    expected_valid: bool,
}

impl Case {
    fn item(&self) -> VerifyItem<'_> {
        VerifyItem {
            public_key: &self.public_key,
            message: &self.message,
            signature: &self.signature,
        }
    }
}

fn vectors_directory() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/vectors/ed25519")
}

fn read_json(name: &str) -> serde_json::Value {
    let path = vectors_directory().join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()));
    serde_json::from_str(&text).expect("vector file is JSON")
}

fn bytes<const N: usize>(hex_text: &str) -> Option<[u8; N]> {
    hex::decode(hex_text).ok()?.try_into().ok()
}

/// The ZIP-215 decision for a CCTV vector, from its flags (see the module docs).
fn cctv_zip215_decision(vector: &serde_json::Value) -> bool {
    let has_flag = |wanted: &str| {
        vector["flags"]
            .as_array()
            .is_some_and(|flags| flags.iter().any(|flag| flag.as_str() == Some(wanted)))
    };
    !has_flag("reencoded_k") || has_flag("low_order_A")
}

/// Wycheproof cases labelled invalid that ZIP-215 accepts, with the reason.
const WYCHEPROOF_ZIP215_ACCEPTS: &[(u64, &str)] = &[(
    151,
    "R encodes y = 1 with the sign bit of x set (x = -0): ZIP-215 accepts non-canonical \
     encodings, and the signature is otherwise valid",
)];

fn cctv_cases() -> Vec<Case> {
    let vectors = read_json("cctv_ed25519vectors.json");
    let cases: Vec<Case> = vectors
        .as_array()
        .expect("array")
        .iter()
        .map(|vector| Case {
            label: format!("cctv #{}", vector["number"]),
            public_key: Ed25519PublicKey(bytes(vector["key"].as_str().unwrap()).unwrap()),
            message: vector["msg"].as_str().unwrap().as_bytes().to_vec(),
            signature: Ed25519Signature(bytes(vector["sig"].as_str().unwrap()).unwrap()),
            expected_valid: cctv_zip215_decision(vector),
        })
        .collect();
    assert_eq!(cases.len(), 914, "the CCTV set has 914 vectors");
    cases
}

fn speccheck_cases() -> Vec<Case> {
    // The "Zebra" row of speccheck_results.md, cases 0..=11.
    const ZIP215_DECISIONS: [bool; 12] = [
        true, true, true, true, true, true, false, false, false, true, true, true,
    ];
    let results = std::fs::read_to_string(vectors_directory().join("speccheck_results.md"))
        .expect("speccheck results");
    let zebra_row = results
        .lines()
        .find(|line| line.starts_with("|Zebra"))
        .expect("Zebra row");
    let parsed: Vec<bool> = zebra_row
        .split('|')
        .skip(2)
        .filter(|cell| !cell.trim().is_empty())
        .map(|cell| cell.trim() == "V")
        .collect();
    assert_eq!(
        parsed, ZIP215_DECISIONS,
        "the results file still says what this test assumes"
    );

    let vectors = read_json("speccheck_cases.json");
    vectors
        .as_array()
        .expect("array")
        .iter()
        .enumerate()
        .map(|(index, vector)| Case {
            label: format!("speccheck #{index}"),
            public_key: Ed25519PublicKey(bytes(vector["pub_key"].as_str().unwrap()).unwrap()),
            message: hex::decode(vector["message"].as_str().unwrap()).unwrap(),
            signature: Ed25519Signature(bytes(vector["signature"].as_str().unwrap()).unwrap()),
            expected_valid: ZIP215_DECISIONS[index],
        })
        .collect()
}

/// Wycheproof cases whose signature is 64 bytes (the others are rejected by length
/// before any verification and are counted separately), plus that count.
fn wycheproof_cases() -> (Vec<Case>, usize) {
    let vectors = read_json("wycheproof_ed25519_test.json");
    let mut cases = Vec::new();
    let mut wrong_length = 0;
    for group in vectors["testGroups"].as_array().unwrap() {
        let public_key =
            Ed25519PublicKey(bytes(group["publicKey"]["pk"].as_str().unwrap()).unwrap());
        for test in group["tests"].as_array().unwrap() {
            let test_id = test["tcId"].as_u64().unwrap();
            let expected_valid = match test["result"].as_str().unwrap() {
                "valid" => true,
                "invalid" => WYCHEPROOF_ZIP215_ACCEPTS
                    .iter()
                    .any(|(id, _)| *id == test_id),
                other => panic!("unexpected Wycheproof result {other}"),
            };
            let Some(signature) = bytes::<64>(test["sig"].as_str().unwrap()) else {
                assert!(!expected_valid, "a wrong-length signature is never valid");
                wrong_length += 1;
                continue;
            };
            cases.push(Case {
                label: format!("wycheproof tc{}", test["tcId"]),
                public_key,
                message: hex::decode(test["msg"].as_str().unwrap()).unwrap(),
                signature: Ed25519Signature(signature),
                expected_valid,
            });
        }
    }
    (cases, wrong_length)
}

fn all_cases() -> Vec<Case> {
    let mut cases = cctv_cases();
    cases.extend(speccheck_cases());
    cases.extend(wycheproof_cases().0);
    cases
}

#[test]
fn every_vector_single_verification_matches_the_rule() {
    let (wycheproof, wrong_length) = wycheproof_cases();
    assert_eq!(wycheproof.len() + wrong_length, 151);
    let cctv_rejected = cctv_cases()
        .iter()
        .filter(|case| !case.expected_valid)
        .count();
    assert_eq!(
        cctv_rejected, 88,
        "the re-encoded-k twins with a prime-order A"
    );
    let mut mismatches = Vec::new();
    for case in all_cases() {
        let decision = verify(&case.public_key, &case.message, &case.signature).is_ok();
        if decision != case.expected_valid {
            mismatches.push(format!("{}: expected {}", case.label, case.expected_valid));
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} mismatches: {mismatches:#?}",
        mismatches.len()
    );
}

/// A small deterministic generator, so a failing batch layout can be replayed.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut mixed = self.0;
        mixed = (mixed ^ (mixed >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        mixed = (mixed ^ (mixed >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        mixed ^ (mixed >> 31)
    }

    fn below(&mut self, bound: usize) -> usize {
        (self.next() % bound as u64) as usize
    }
}

fn valid_pool(count: usize) -> Vec<Case> {
    (0..count)
        .map(|index| {
            let mut seed = [0u8; 32];
            seed[..8].copy_from_slice(&(index as u64).to_le_bytes());
            let key = Ed25519SecretKey::from_seed(&seed);
            let message = format!("valid filler {index}").into_bytes();
            Case {
                label: format!("filler {index}"),
                public_key: key.public_key(),
                signature: key.sign(&message),
                message,
                expected_valid: true,
            }
        })
        .collect()
}

fn check_batches(batch_size: usize, edge_cases_per_batch: usize, seed: u64) {
    let cases = all_cases();
    let pool = valid_pool(batch_size);
    let mut random = SplitMix64(seed);
    let mut failures = Vec::new();
    for chunk in cases.chunks(edge_cases_per_batch) {
        let mut batch: Vec<&Case> = pool.iter().collect();
        let mut taken_positions = Vec::new();
        for edge in chunk {
            let mut position = random.below(batch_size);
            while taken_positions.contains(&position) {
                position = (position + 1) % batch_size;
            }
            taken_positions.push(position);
            batch[position] = edge;
        }
        let items: Vec<VerifyItem<'_>> = batch.iter().map(|case| case.item()).collect();
        let decisions = verify_batch(&items);
        for (case, decision) in batch.iter().zip(decisions) {
            if decision != case.expected_valid {
                failures.push(format!("{} in batch of {batch_size}", case.label));
            }
        }
    }
    assert!(failures.is_empty(), "seed {seed}: {failures:#?}");
}

#[test]
fn batches_of_1_match_the_rule() {
    check_batches(1, 1, 1);
}

#[test]
fn batches_of_7_match_the_rule() {
    check_batches(7, 2, 7);
}

#[test]
fn batches_of_64_match_the_rule() {
    check_batches(64, 8, 64);
}

#[test]
fn batches_of_256_match_the_rule() {
    check_batches(256, 16, 256);
}

#[test]
fn a_batch_of_only_valid_signatures_passes_and_one_flip_is_isolated() {
    let pool = valid_pool(100);
    let mut tampered = pool.clone();
    tampered[37].message.push(0);
    let items: Vec<VerifyItem<'_>> = tampered.iter().map(|case| case.item()).collect();
    let decisions = verify_batch(&items);
    for (index, decision) in decisions.iter().enumerate() {
        assert_eq!(*decision, index != 37, "position {index}");
    }
}

/// RFC 8032 section 7.1, TEST 1 to 3 and TEST SHA(abc).
#[test]
fn rfc8032_section_7_1_vectors() {
    let vectors: [(&str, &str, &str, &str); 3] = [
        (
            "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
            "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
            "",
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
        ),
        (
            "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
            "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
            "72",
            "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
        ),
        (
            "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
            "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
            "af82",
            "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a",
        ),
    ];
    for (secret, public, message, signature) in vectors {
        let key = Ed25519SecretKey::from_seed(&bytes(secret).unwrap());
        let message = hex::decode(message).unwrap();
        assert_eq!(hex::encode(key.public_key().0), public);
        let produced = key.sign(&message);
        assert_eq!(hex::encode(produced.0), signature);
        assert_eq!(verify(&key.public_key(), &message, &produced), Ok(()));
    }
}
