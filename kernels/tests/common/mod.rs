//! Shared test inputs: every public Ed25519 vector and seeded random workloads, each
//! with the reference decision of `aether_crypto::ed25519::verify`.

#![allow(dead_code)] // Each test binary uses a different part of this module.

use std::path::PathBuf;

use aether_crypto::ed25519::{
    Ed25519PublicKey, Ed25519SecretKey, Ed25519Signature, SignedMessage, VerifyItem, verify,
};

/// One input and the CPU rule's decision for it.
#[derive(Debug, Clone)]
pub struct Case {
    /// Where it came from.
    pub label: String,
    /// The signed message and its key and signature (possibly corrupted).
    pub signed: SignedMessage,
    /// `aether_crypto::ed25519::verify(..).is_ok()`.
    pub expected: bool,
}

impl Case {
    fn new(label: String, signed: SignedMessage) -> Self {
        let expected = verify(&signed.public_key, &signed.message, &signed.signature).is_ok();
        Self {
            label,
            signed,
            expected,
        }
    }

    /// The borrowed form backends take.
    pub fn item(&self) -> VerifyItem<'_> {
        self.signed.as_item()
    }
}

/// `../shared/vectors/ed25519`, or `$AETHER_VECTORS_DIR` (the device bundle sets it).
pub fn vectors_directory() -> PathBuf {
    match std::env::var_os("AETHER_VECTORS_DIR") {
        Some(directory) => PathBuf::from(directory),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/vectors/ed25519"),
    }
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

fn signed(public_key: &str, message: Vec<u8>, signature: &str) -> Option<SignedMessage> {
    Some(SignedMessage {
        public_key: Ed25519PublicKey(bytes(public_key)?),
        message,
        signature: Ed25519Signature(bytes(signature)?),
    })
}

/// Every vector with a 32-byte key and a 64-byte signature: CCTV (914), speccheck (12)
/// and Wycheproof.
pub fn vector_cases() -> Vec<Case> {
    let mut cases = Vec::new();
    for vector in read_json("cctv_ed25519vectors.json")
        .as_array()
        .expect("array")
    {
        let message = vector["msg"].as_str().unwrap().as_bytes().to_vec();
        let entry = signed(
            vector["key"].as_str().unwrap(),
            message,
            vector["sig"].as_str().unwrap(),
        )
        .expect("CCTV vectors are well-formed");
        cases.push(Case::new(format!("cctv #{}", vector["number"]), entry));
    }
    assert_eq!(cases.len(), 914, "the CCTV set has 914 vectors");
    for (index, vector) in read_json("speccheck_cases.json")
        .as_array()
        .expect("array")
        .iter()
        .enumerate()
    {
        let message = hex::decode(vector["message"].as_str().unwrap()).unwrap();
        let entry = signed(
            vector["pub_key"].as_str().unwrap(),
            message,
            vector["signature"].as_str().unwrap(),
        )
        .expect("speccheck vectors are well-formed");
        cases.push(Case::new(format!("speccheck #{index}"), entry));
    }
    let wycheproof = read_json("wycheproof_ed25519_test.json");
    for group in wycheproof["testGroups"].as_array().unwrap() {
        let public_key = group["publicKey"]["pk"].as_str().unwrap();
        for test in group["tests"].as_array().unwrap() {
            let message = hex::decode(test["msg"].as_str().unwrap()).unwrap();
            if let Some(entry) = signed(public_key, message, test["sig"].as_str().unwrap()) {
                cases.push(Case::new(format!("wycheproof #{}", test["tcId"]), entry));
            }
        }
    }
    assert!(cases.len() > 1000, "all three vector sets were read");
    cases
}

/// SplitMix64: a seeded, dependency-free generator for reproducible workloads.
pub struct SplitMix(pub u64);

impl SplitMix {
    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A value in `0..bound`.
    pub fn below(&mut self, bound: u64) -> u64 {
        self.next_u64() % bound
    }
}

/// Points of small order and non-canonical encodings, used to build hard corruptions.
const EDGE_ENCODINGS: [[u8; 32]; 4] = [
    // y = 1 (identity), with the sign bit set: x = −0.
    {
        let mut bytes = [0u8; 32];
        bytes[0] = 1;
        bytes[31] = 0x80;
        bytes
    },
    // y = −1 (order 2).
    {
        let mut bytes = [0xff; 32];
        bytes[0] = 0xec;
        bytes[31] = 0x7f;
        bytes
    },
    // y = p + 1 ≡ 1 (non-canonical identity).
    {
        let mut bytes = [0xff; 32];
        bytes[0] = 0xee;
        bytes[31] = 0x7f;
        bytes
    },
    // y = 0 (order 4).
    [0u8; 32],
];

/// `count` random signatures, about a third corrupted in one of ten ways (bit flips in
/// each part, `S + ℓ`, small-order or non-canonical `A` or `R`, random bytes); valid
/// and corrupted ones are interleaved at random positions.
pub fn random_cases(count: usize, seed: u64) -> Vec<Case> {
    const GROUP_ORDER: [u8; 32] = [
        0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde,
        0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
    ];
    let mut random = SplitMix(seed);
    let keys: Vec<Ed25519SecretKey> = (0..64u64)
        .map(|index| {
            let mut key_seed = [0u8; 32];
            key_seed[..8].copy_from_slice(&(seed ^ index.wrapping_mul(0x1234_5678)).to_le_bytes());
            Ed25519SecretKey::from_seed(&key_seed)
        })
        .collect();
    (0..count)
        .map(|index| {
            let key = &keys[random.below(keys.len() as u64) as usize];
            let length = random.below(200) as usize;
            let message: Vec<u8> = (0..length).map(|_| random.next_u64() as u8).collect();
            let mut entry = SignedMessage::sign(key, message);
            let kind = if random.below(3) == 0 {
                random.below(10)
            } else {
                u64::MAX
            };
            let bit = random.below(256) as usize;
            match kind {
                0 => entry.signature.0[bit / 8] ^= 1 << (bit % 8),
                1 => entry.signature.0[32 + bit / 8] ^= 1 << (bit % 8),
                2 => entry.public_key.0[bit / 8] ^= 1 << (bit % 8),
                3 => entry.message.push(bit as u8),
                4 => {
                    // S + ℓ: the same scalar mod ℓ, not canonical.
                    let mut carry = 0u16;
                    for (byte, order_byte) in entry.signature.0[32..].iter_mut().zip(GROUP_ORDER) {
                        let sum = u16::from(*byte) + u16::from(order_byte) + carry;
                        *byte = sum as u8;
                        carry = sum >> 8;
                    }
                }
                5 => entry.public_key.0 = EDGE_ENCODINGS[bit % 4],
                6 => entry.signature.0[..32].copy_from_slice(&EDGE_ENCODINGS[bit % 4]),
                7 => entry.signature.0[63] |= 0xe0,
                8 => {
                    for byte in &mut entry.signature.0[..32] {
                        *byte = random.next_u64() as u8;
                    }
                }
                9 => entry.public_key.0[31] ^= 0x80,
                _ => {}
            }
            Case::new(
                format!("random #{index} (seed {seed}, corruption {kind})"),
                entry,
            )
        })
        .collect()
}

/// Checks `decisions` against the cases, naming the first few disagreements.
pub fn assert_decisions(cases: &[Case], decisions: &[bool], context: &str) {
    assert_eq!(
        cases.len(),
        decisions.len(),
        "{context}: one decision per case"
    );
    let wrong: Vec<String> = cases
        .iter()
        .zip(decisions)
        .filter(|(case, decision)| case.expected != **decision)
        .map(|(case, decision)| {
            format!(
                "{} (expected {}, got {decision})",
                case.label, case.expected
            )
        })
        .collect();
    assert!(
        wrong.is_empty(),
        "{context}: {} of {} decisions differ from the CPU rule, e.g. {:?}",
        wrong.len(),
        cases.len(),
        &wrong[..wrong.len().min(8)]
    );
}
