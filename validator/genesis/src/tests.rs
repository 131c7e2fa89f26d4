//! Unit tests: JSON round trip, every refusal, the hash, the derived state and set.

use aether_crypto::bls::BlsSecretKey;
use aether_crypto::ed25519::Ed25519SecretKey;
use aether_crypto::vrf::VrfSecretKey;
use aether_types::{Hash, OutputReference, ValidatorIndex};
use serde_json::{Value, json};

use crate::{ClusterGenesis, GenesisError, GenesisFaucet, GenesisValidator};

/// A deterministic genesis with `count` validators (keys from fixed seeds).
fn sample(count: u8) -> ClusterGenesis {
    let validators = (0..count)
        .map(|index| {
            let seed = [index + 1; 32];
            let vote = BlsSecretKey::from_bytes(&seed).expect("small scalar");
            GenesisValidator {
                name: format!("node-{index}"),
                identity: Ed25519SecretKey::from_seed(&seed).public_key(),
                vote_public_key: vote.public_key().to_bytes(),
                vote_proof_of_possession: vote.prove_possession().to_bytes(),
                vrf_public_key: VrfSecretKey::from_seed(&[index + 101; 32]).public_key(),
                stake: 1_000 + u64::from(index),
            }
        })
        .collect();
    ClusterGenesis {
        version: 1,
        chain_id: "aether-test".to_owned(),
        created_at_ms: 1_767_225_600_000,
        slot_ms: 500,
        epoch_slots: 432,
        kes_slots_per_period: 7_200,
        kes_depth: 6,
        genesis_nonce: Hash([7; 32]),
        validators,
        faucet: GenesisFaucet {
            public_key: Ed25519SecretKey::from_seed(&[200; 32]).public_key(),
            outputs: 16,
            output_aeth: 1_000_000,
        },
    }
}

fn sample_json(count: u8) -> Value {
    serde_json::from_str(&sample(count).to_json()).unwrap()
}

#[test]
fn json_round_trips_exactly() {
    let genesis = sample(4);
    genesis.validate().unwrap();
    let text = genesis.to_json();
    let parsed = ClusterGenesis::from_json(&text).unwrap();
    assert_eq!(parsed, genesis);
    assert_eq!(parsed.to_json(), text);
    // Field order in the file is the documented order.
    let keys: Vec<String> = sample_json(1)
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    assert_eq!(keys.len(), 10);
    assert!(text.find("\"version\"").unwrap() < text.find("\"faucet\"").unwrap());
}

/// Applies `edit` to the sample's JSON and returns the refusal's message.
fn refusal(edit: impl FnOnce(&mut Value)) -> String {
    let mut value = sample_json(3);
    edit(&mut value);
    match ClusterGenesis::from_json(&value.to_string()) {
        Ok(_) => panic!("accepted: {value}"),
        Err(error) => error.to_string(),
    }
}

#[test]
fn every_bad_field_is_refused_by_name() {
    type Edit = fn(&mut Value);
    let cases: &[(&str, Edit)] = &[
        ("unknown field `extra`", |g| g["extra"] = json!(1)),
        ("unknown field `weight`", |g| {
            g["validators"][0]["weight"] = json!(1)
        }),
        ("unknown field `memo`", |g| g["faucet"]["memo"] = json!("x")),
        ("missing field `slot_ms`", |g| {
            g.as_object_mut().unwrap().remove("slot_ms");
        }),
        ("version: 2 is not a known genesis version", |g| {
            g["version"] = json!(2)
        }),
        ("chain_id", |g| g["chain_id"] = json!("")),
        ("chain_id", |g| g["chain_id"] = json!("has space")),
        ("slot_ms: must be positive", |g| g["slot_ms"] = json!(0)),
        ("epoch_slots: must be positive", |g| {
            g["epoch_slots"] = json!(0)
        }),
        ("kes_slots_per_period: must be positive", |g| {
            g["kes_slots_per_period"] = json!(0)
        }),
        ("kes_depth: 0 is outside 1..=", |g| {
            g["kes_depth"] = json!(0)
        }),
        ("kes_depth: 11 is outside 1..=", |g| {
            g["kes_depth"] = json!(11)
        }),
        ("genesis_nonce: not hex", |g| {
            g["genesis_nonce"] = json!("zz")
        }),
        ("genesis_nonce: expected 32 bytes", |g| {
            g["genesis_nonce"] = json!("00")
        }),
        ("validators: at least one validator", |g| {
            g["validators"] = json!([])
        }),
        ("validators[1].name: duplicates validators[0]", |g| {
            g["validators"][1]["name"] = g["validators"][0]["name"].clone()
        }),
        ("validators[2].name", |g| {
            g["validators"][2]["name"] = json!("")
        }),
        ("validators[2].identity: duplicates validators[0]", |g| {
            g["validators"][2]["identity"] = g["validators"][0]["identity"].clone()
        }),
        ("validators[0].identity: expected 32 bytes", |g| {
            g["validators"][0]["identity"] = json!("abcd")
        }),
        (
            "validators[1].vote_public_key: duplicates validators[0]",
            |g| {
                g["validators"][1]["vote_public_key"] =
                    g["validators"][0]["vote_public_key"].clone();
                g["validators"][1]["vote_proof_of_possession"] =
                    g["validators"][0]["vote_proof_of_possession"].clone();
            },
        ),
        (
            "validators[0].vote_public_key: not a valid BLS12-381",
            |g| g["validators"][0]["vote_public_key"] = json!("00".repeat(48)),
        ),
        (
            "validators[2].vote_proof_of_possession: BLS proof of possession does not verify",
            |g| {
                g["validators"][2]["vote_proof_of_possession"] =
                    g["validators"][1]["vote_proof_of_possession"].clone()
            },
        ),
        (
            "validators[1].vote_proof_of_possession: expected 96 bytes",
            |g| g["validators"][1]["vote_proof_of_possession"] = json!("00".repeat(48)),
        ),
        ("validators[0].vrf_public_key: not hex", |g| {
            g["validators"][0]["vrf_public_key"] = json!("0x00")
        }),
        ("validators[1].stake: must be positive", |g| {
            g["validators"][1]["stake"] = json!(0)
        }),
        ("total stake overflows u64", |g| {
            g["validators"][0]["stake"] = json!(u64::MAX);
        }),
        ("\"stake\":-1", |g| g["validators"][0]["stake"] = json!(-1)),
        ("\"outputs\":\"many\"", |g| {
            g["faucet"]["outputs"] = json!("many")
        }),
        ("faucet.public_key: expected 32 bytes", |g| {
            g["faucet"]["public_key"] = json!("")
        }),
        ("faucet.outputs: 65536 is outside 0..=65535", |g| {
            g["faucet"]["outputs"] = json!(65_536)
        }),
        ("faucet.output_aeth: must be positive", |g| {
            g["faucet"]["output_aeth"] = json!(0)
        }),
        ("outputs × output_aeth overflows u64", |g| {
            g["faucet"]["output_aeth"] = json!(u64::MAX)
        }),
    ];
    for (expected, edit) in cases {
        let message = refusal(edit);
        assert!(
            message.contains(expected),
            "expected {expected:?} in {message:?}"
        );
    }
}

#[test]
fn faucet_may_be_empty() {
    let mut genesis = sample(1);
    genesis.faucet.outputs = 0;
    genesis.faucet.output_aeth = 0;
    genesis.validate().unwrap();
    assert!(genesis.state_entries().is_empty());
}

#[test]
fn validate_checks_a_genesis_built_in_code() {
    let mut genesis = sample(2);
    genesis.validators[1].stake = 0;
    let error = genesis.validate().unwrap_err();
    assert!(matches!(error, GenesisError::Zero { ref field } if field == "validators[1].stake"));
}

#[test]
fn hash_changes_with_every_field() {
    type Edit = fn(&mut ClusterGenesis);
    let edits: &[Edit] = &[
        |g| g.version = 2,
        |g| g.chain_id.push('x'),
        |g| g.created_at_ms += 1,
        |g| g.slot_ms += 1,
        |g| g.epoch_slots += 1,
        |g| g.kes_slots_per_period += 1,
        |g| g.kes_depth += 1,
        |g| g.genesis_nonce.0[31] ^= 1,
        |g| g.validators[1].name.push('x'),
        |g| g.validators[1].identity.0[0] ^= 1,
        |g| g.validators[1].vote_public_key[47] ^= 1,
        |g| g.validators[1].vote_proof_of_possession[95] ^= 1,
        |g| g.validators[1].vrf_public_key.0[0] ^= 1,
        |g| g.validators[1].stake += 1,
        |g| g.validators.swap(0, 1),
        |g| {
            g.validators.pop();
        },
        |g| g.faucet.public_key.0[0] ^= 1,
        |g| g.faucet.outputs += 1,
        |g| g.faucet.output_aeth += 1,
        // Moving a byte between adjacent strings must change the hash (length prefixes).
        |g| {
            g.validators[0].name = "node-0n".to_owned();
            g.validators[1].name = "ode-1".to_owned();
        },
    ];
    let base = sample(3);
    let mut seen = vec![base.genesis_hash()];
    for (index, edit) in edits.iter().enumerate() {
        let mut changed = base.clone();
        edit(&mut changed);
        let hash = changed.genesis_hash();
        assert!(!seen.contains(&hash), "edit {index} collides");
        seen.push(hash);
    }
}

#[test]
fn hash_is_stable_across_save_load_and_hex_case() {
    let genesis = sample(4);
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("genesis.json");
    genesis.save(&path).unwrap();
    let loaded = ClusterGenesis::load(&path).unwrap();
    assert_eq!(loaded.genesis_hash(), genesis.genesis_hash());

    let error = genesis.save(&path).unwrap_err();
    assert!(
        matches!(error, GenesisError::AlreadyExists { .. }),
        "{error}"
    );
    assert!(error.to_string().contains("refusing to overwrite"));

    // Whitespace and hex case do not change the hash.
    let mut upper_hex = sample_json(4);
    let upper_case = |value: &mut Value| *value = json!(value.as_str().unwrap().to_uppercase());
    upper_case(&mut upper_hex["genesis_nonce"]);
    upper_case(&mut upper_hex["faucet"]["public_key"]);
    for validator in upper_hex["validators"].as_array_mut().unwrap() {
        for field in [
            "identity",
            "vote_public_key",
            "vote_proof_of_possession",
            "vrf_public_key",
        ] {
            upper_case(&mut validator[field]);
        }
    }
    let upper = ClusterGenesis::from_json(&upper_hex.to_string()).unwrap();
    assert_eq!(upper.genesis_hash(), genesis.genesis_hash());
}

#[test]
fn hash_of_the_sample_is_pinned() {
    // Regression pin of the canonical encoding: if this changes, every existing
    // cluster's genesis hash changes with it.
    assert_eq!(
        sample(2).genesis_hash().to_string(),
        "142051e25d8c770585f7e25b3783a2cc7effcf2925cd87d10d57a8a2fe913ea4"
    );
}

#[test]
fn state_entries_are_sorted_faucet_outputs() {
    let genesis = sample(2);
    let entries = genesis.state_entries();
    assert_eq!(entries.len(), genesis.faucet.outputs as usize);
    assert!(entries.windows(2).all(|pair| pair[0].0 < pair[1].0));
    let transaction_id = genesis.genesis_transaction_id();
    let mut indexes: Vec<u16> = entries
        .iter()
        .map(|(key, value)| {
            let index = u16::from_le_bytes([value[32], value[33]]);
            let reference = OutputReference {
                transaction_id,
                index,
            };
            assert_eq!(&value[..32], transaction_id.as_bytes());
            assert_eq!(*key, reference.key());
            index
        })
        .collect();
    indexes.sort_unstable();
    assert_eq!(indexes, (0..16).collect::<Vec<u16>>());
    // Another genesis gives other references.
    let mut other = genesis.clone();
    other.chain_id = "aether-other".to_owned();
    assert_ne!(other.state_entries()[0].0, entries[0].0);
}

#[test]
fn validator_set_and_leader_keys_follow_file_order() {
    let genesis = sample(4);
    let set = genesis.validator_set().unwrap();
    assert_eq!(set.len(), 4);
    assert_eq!(set.total_stake(), genesis.total_stake());
    assert_eq!(set.total_stake(), 1_000 + 1_001 + 1_002 + 1_003);
    for (index, validator) in genesis.validators.iter().enumerate() {
        let index = ValidatorIndex(index as u32);
        assert_eq!(set.stake(index), validator.stake);
        assert_eq!(
            set.get(index).unwrap().bls_public_key.to_bytes(),
            validator.vote_public_key
        );
        let leader = genesis.leader_public_keys(index).unwrap();
        assert_eq!(leader.identity, validator.identity);
        assert_eq!(leader.vrf, validator.vrf_public_key);
        assert_eq!(leader.kes_depth, 6);
    }
    assert!(genesis.leader_public_keys(ValidatorIndex(4)).is_none());
}
