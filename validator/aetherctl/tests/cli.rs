//! `aetherctl` end to end: key files on disk and the crypto conformance tool.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};

use serde_json::{Value, json};

fn aetherctl() -> Command {
    Command::new(env!("CARGO_BIN_EXE_aetherctl"))
}

/// Runs `aetherctl crypto` with `lines` on stdin and returns the answers.
fn crypto(arguments: &[&str], lines: &[String]) -> Vec<Value> {
    let mut child = aetherctl()
        .arg("crypto")
        .args(arguments)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("aetherctl starts");
    let mut input = lines.join("\n");
    input.push('\n');
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success());
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).expect("every answer is JSON"))
        .collect()
}

#[test]
fn keys_new_writes_private_files_and_never_overwrites() {
    let directory = tempfile::tempdir().unwrap();
    let key_directory = directory.path().join("validator-keys");
    let created = aetherctl()
        .args(["keys", "new", "--out"])
        .arg(&key_directory)
        .output()
        .unwrap();
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    for name in [
        "identity.json",
        "vote.json",
        "vrf.json",
        "kes.json",
        "opcert.json",
    ] {
        let metadata = std::fs::metadata(key_directory.join(name)).unwrap();
        assert_eq!(metadata.permissions().mode() & 0o777, 0o600, "{name}");
    }
    let before = std::fs::read(key_directory.join("identity.json")).unwrap();
    let again = aetherctl()
        .args(["keys", "new", "--out"])
        .arg(&key_directory)
        .output()
        .unwrap();
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("refusing to overwrite"));
    assert_eq!(
        std::fs::read(key_directory.join("identity.json")).unwrap(),
        before
    );

    let shown = aetherctl()
        .args(["keys", "show", "--json"])
        .arg(&key_directory)
        .output()
        .unwrap();
    assert!(shown.status.success());
    let public: Value = serde_json::from_slice(&shown.stdout).unwrap();
    assert_eq!(public["kes_depth"], 6);
    assert_eq!(public["identity_public_key"].as_str().unwrap().len(), 64);
    let text = String::from_utf8_lossy(&shown.stdout);
    let identity: Value = serde_json::from_slice(&before).unwrap();
    assert!(
        !text.contains(identity["secret_seed"].as_str().unwrap()),
        "show prints no secret"
    );
}

#[test]
fn keys_show_detects_a_certificate_that_does_not_match() {
    let directory = tempfile::tempdir().unwrap();
    let first = directory.path().join("a");
    let second = directory.path().join("b");
    for key_directory in [&first, &second] {
        assert!(
            aetherctl()
                .args(["keys", "new", "--out"])
                .arg(key_directory)
                .output()
                .unwrap()
                .status
                .success()
        );
    }
    // Another validator's certificate: signed by a different identity key.
    std::fs::remove_file(first.join("opcert.json")).unwrap();
    std::fs::copy(second.join("opcert.json"), first.join("opcert.json")).unwrap();
    let shown = aetherctl()
        .args(["keys", "show"])
        .arg(&first)
        .output()
        .unwrap();
    assert!(!shown.status.success());
    assert!(String::from_utf8_lossy(&shown.stderr).contains("opcert.json"));
}

#[test]
fn crypto_answers_every_line_in_order_and_survives_bad_lines() {
    let secret = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
    let public = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
    let signature = "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b";
    let mut wrong = signature.to_owned();
    wrong.replace_range(0..2, "e4");
    let lines = vec![
        json!({"op": "ed25519_verify", "pubkey": public, "msg": "", "sig": signature}).to_string(),
        "not json".to_owned(),
        json!({"op": "ed25519_pubkey", "secret": secret}).to_string(),
        json!({"op": "ed25519_verify", "pubkey": public, "msg": "", "sig": wrong}).to_string(),
        json!({"op": "ed25519_verify", "pubkey": public, "msg": "", "sig": "00"}).to_string(),
        json!({"op": "ed25519_sign", "secret": secret, "msg": "zz"}).to_string(),
        json!({"op": "frobnicate"}).to_string(),
        json!({"op": "ed25519_sign", "secret": secret, "msg": ""}).to_string(),
        json!({"op": "bls_verify", "pubkey": "c0".to_owned() + &"00".repeat(47), "msg": "", "sig": "c0".to_owned() + &"00".repeat(95)}).to_string(),
        "".to_owned(),
        json!({"op": "ed25519_verify", "pubkey": public, "msg": "", "sig": signature}).to_string(),
    ];
    for batch in ["1", "2", "64"] {
        let answers = crypto(&["--batch", batch], &lines);
        assert_eq!(answers.len(), lines.len(), "batch {batch}");
        assert_eq!(answers[0], json!({"valid": true}));
        assert!(answers[1]["error"].as_str().unwrap().contains("JSON"));
        assert_eq!(answers[2], json!({"pubkey": public}));
        assert_eq!(answers[3], json!({"valid": false}));
        assert!(answers[4]["error"].as_str().unwrap().contains("64 bytes"));
        assert!(answers[5]["error"].as_str().unwrap().contains("hex"));
        assert!(answers[6]["error"].as_str().unwrap().contains("unknown op"));
        assert_eq!(answers[7], json!({"sig": signature}));
        assert_eq!(
            answers[8],
            json!({"valid": false}),
            "infinity key and signature"
        );
        assert!(answers[9]["error"].is_string());
        assert_eq!(answers[10], json!({"valid": true}));
    }
}

#[test]
fn crypto_bls_vrf_and_kzg_round_trip() {
    let bls_secret = format!("{}{}", "00".repeat(31), "2a");
    let lines = vec![
        json!({"op": "bls_pubkey", "secret": bls_secret}).to_string(),
        json!({"op": "bls_sign", "secret": bls_secret, "msg": "abcd"}).to_string(),
        json!({"op": "vrf_pubkey", "secret": "11".repeat(32)}).to_string(),
        json!({"op": "vrf_prove", "secret": "11".repeat(32), "alpha": "0102"}).to_string(),
        json!({"op": "kzg_commit", "blob": "00".repeat(131072)}).to_string(),
    ];
    let answers = crypto(&[], &lines);
    let bls_public = answers[0]["pubkey"].as_str().unwrap();
    let bls_signature = answers[1]["sig"].as_str().unwrap();
    let vrf_public = answers[2]["pubkey"].as_str().unwrap();
    let proof = answers[3]["pi"].as_str().unwrap();
    let commitment = answers[4]["commitment"].as_str().unwrap();
    // The zero polynomial commits to the point at infinity.
    assert_eq!(commitment, format!("c0{}", "00".repeat(47)));

    let follow_up = vec![
        json!({"op": "bls_verify", "pubkey": bls_public, "msg": "abcd", "sig": bls_signature}).to_string(),
        json!({"op": "bls_verify", "pubkey": bls_public, "msg": "abce", "sig": bls_signature}).to_string(),
        json!({"op": "bls_aggregate", "sigs": [bls_signature]}).to_string(),
        json!({"op": "bls_fast_aggregate_verify", "pubkeys": [bls_public], "msg": "abcd", "sig": bls_signature}).to_string(),
        json!({"op": "vrf_verify", "pubkey": vrf_public, "alpha": "0102", "pi": proof}).to_string(),
        json!({"op": "vrf_verify", "pubkey": vrf_public, "alpha": "0103", "pi": proof}).to_string(),
        json!({"op": "kzg_compute_blob_proof", "blob": "00".repeat(131072), "commitment": commitment}).to_string(),
    ];
    let answers_follow_up = crypto(&[], &follow_up);
    assert_eq!(answers_follow_up[0], json!({"valid": true}));
    assert_eq!(answers_follow_up[1], json!({"valid": false}));
    assert_eq!(answers_follow_up[2], json!({"sig": bls_signature}));
    assert_eq!(answers_follow_up[3], json!({"valid": true}));
    assert_eq!(answers_follow_up[4]["valid"], true);
    assert_eq!(answers_follow_up[4]["beta"], answers[3]["beta"]);
    assert_eq!(answers_follow_up[5], json!({"valid": false, "beta": null}));
    let blob_proof = answers_follow_up[6]["proof"].as_str().unwrap();
    let verify = vec![
        json!({"op": "kzg_verify_blob_proof", "blob": "00".repeat(131072), "commitment": commitment, "proof": blob_proof}).to_string(),
    ];
    assert_eq!(crypto(&[], &verify)[0], json!({"valid": true}));
}
