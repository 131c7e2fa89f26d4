//! `aetherctl cluster init` / `cluster show` end to end: the files, the genesis they
//! describe, and the refusals.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};

use aether_genesis::ClusterGenesis;
use serde_json::Value;

fn aetherctl(arguments: &[&str], paths: &[&Path]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_aetherctl"))
        .args(arguments)
        .args(paths)
        .output()
        .expect("aetherctl starts")
}

fn succeeded(output: &Output) -> String {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout.clone()).unwrap()
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn cluster_init_writes_keys_faucet_and_a_valid_genesis() {
    let directory = tempfile::tempdir().unwrap();
    let cluster = directory.path().join("cluster");
    let init_arguments = [
        "cluster",
        "init",
        "--validators",
        "4",
        "--stake",
        "5000",
        "--chain-id",
        "aether-test",
        "--faucet-outputs",
        "8",
        "--faucet-aeth",
        "77",
        "--out",
    ];
    let printed = succeeded(&aetherctl(&init_arguments, &[&cluster]));

    let genesis_path = cluster.join("genesis.json");
    let genesis = ClusterGenesis::load(&genesis_path).unwrap();
    genesis.validate().unwrap();
    let hash = genesis.genesis_hash().to_string();
    assert!(
        printed.contains(&format!("genesis hash    {hash}")),
        "{printed}"
    );
    assert_eq!(genesis.chain_id, "aether-test");
    assert_eq!((genesis.slot_ms, genesis.epoch_slots), (500, 432));
    assert_eq!(genesis.validators.len(), 4);
    assert_eq!(genesis.total_stake(), 4 * 5000);
    assert_eq!(genesis.validator_set().unwrap().len(), 4);
    assert_eq!(genesis.state_entries().len(), 8);
    assert_eq!(genesis.faucet.output_aeth, 77);

    // Each node directory holds exactly the `keys new` files, and they match genesis.
    for (index, validator) in genesis.validators.iter().enumerate() {
        let node = cluster.join(format!("node-{index}"));
        let mut names: Vec<String> = std::fs::read_dir(&node)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(
            names,
            [
                "identity.json",
                "kes.json",
                "opcert.json",
                "vote.json",
                "vrf.json"
            ]
        );
        for name in &names {
            assert_eq!(mode(&node.join(name)), 0o600, "node-{index}/{name}");
        }
        assert_eq!(validator.name, format!("node-{index}"));
        assert_eq!(validator.stake, 5000);
        let shown: Value = serde_json::from_str(&succeeded(&aetherctl(
            &["keys", "show", "--json"],
            &[&node],
        )))
        .unwrap();
        assert_eq!(shown["identity_public_key"], validator.identity.to_string());
        assert_eq!(
            shown["vote_public_key"],
            hex::encode(validator.vote_public_key)
        );
        assert_eq!(
            shown["vrf_public_key"],
            hex::encode(validator.vrf_public_key.0)
        );
        assert_eq!(shown["kes_depth"], genesis.kes_depth);
    }

    // The faucet wallet is a `wallet new` file holding the genesis faucet key.
    let faucet_path = cluster.join("faucet.json");
    assert_eq!(mode(&faucet_path), 0o600);
    let faucet = read_json(&faucet_path);
    assert_eq!(
        faucet["public_key"],
        hex::encode(genesis.faucet.public_key.0)
    );
    let address = succeeded(&aetherctl(&["address", "--keypair"], &[&faucet_path]));
    assert_eq!(address.trim(), faucet["address"].as_str().unwrap());

    // `cluster show` agrees on the hash.
    let shown: Value = serde_json::from_str(&succeeded(&aetherctl(
        &["cluster", "show", "--json"],
        &[&genesis_path],
    )))
    .unwrap();
    assert_eq!(shown["genesis_hash"], hash.as_str());
    assert_eq!(shown["validators"].as_array().unwrap().len(), 4);
    assert_eq!(shown["total_stake"], 20_000);
    let text = succeeded(&aetherctl(&["cluster", "show"], &[&genesis_path]));
    assert!(text.contains(&hash) && text.contains("node-3"), "{text}");

    // A second init refuses and changes nothing.
    let before = std::fs::read(&genesis_path).unwrap();
    let again = aetherctl(&init_arguments, &[&cluster]);
    assert!(!again.status.success());
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("refusing to overwrite"),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    assert_eq!(std::fs::read(&genesis_path).unwrap(), before);
}

#[test]
fn cluster_init_refuses_bad_parameters_before_writing() {
    let directory = tempfile::tempdir().unwrap();
    let cluster = directory.path().join("cluster");
    for (arguments, expected) in [
        (&["--chain-id", "has space"][..], "chain_id"),
        (&["--faucet-outputs", "65536"][..], "faucet.outputs"),
        (&["--epoch-slots", "0"][..], "epoch_slots"),
        (&["--kes-depth", "11"][..], "kes_depth"),
    ] {
        let mut all = vec!["cluster", "init", "--validators", "2"];
        all.extend_from_slice(arguments);
        all.push("--out");
        let refused = aetherctl(&all, &[&cluster]);
        assert!(!refused.status.success(), "{arguments:?}");
        let stderr = String::from_utf8_lossy(&refused.stderr);
        assert!(stderr.contains(expected), "{arguments:?}: {stderr}");
        assert!(!cluster.join("node-0").exists(), "{arguments:?} wrote keys");
    }
}

#[test]
fn cluster_show_refuses_an_invalid_genesis() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("genesis.json");
    std::fs::write(&path, "{\"version\": 1, \"surprise\": true}").unwrap();
    let refused = aetherctl(&["cluster", "show"], &[&path]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("surprise"));
}
