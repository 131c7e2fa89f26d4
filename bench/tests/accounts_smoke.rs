//! `aether-bench accounts` at a tiny size: the benchmark runs, verifies its reads and
//! prints the contracted JSON fields.

use std::process::Command;

#[test]
fn accounts_benchmark_prints_one_json_object_with_its_fields() {
    let output = Command::new(env!("CARGO_BIN_EXE_aether-bench"))
        .args([
            "accounts",
            "--keys",
            "3000",
            "--block-keys",
            "500",
            "--blocks",
            "3",
        ])
        .args(["--load-block-keys", "1000", "--reads", "2000", "--json"])
        .output()
        .expect("aether-bench runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8(output.stdout).unwrap();
    assert_eq!(text.lines().count(), 1, "one JSON object: {text}");
    let result: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(result["keys"], 3000);
    for field in [
        "updates_per_s",
        "root_us_per_key",
        "commit_us_per_key",
        "read_latency_us_p50",
        "read_latency_us_p99",
    ] {
        let number = result[field]
            .as_f64()
            .unwrap_or_else(|| panic!("{field} missing: {text}"));
        assert!(number > 0.0, "{field} = {number}");
    }
    assert!(result["read_latency_us_p99"].as_f64() >= result["read_latency_us_p50"].as_f64());
}

#[test]
fn a_non_empty_directory_is_refused() {
    let directory = tempfile::tempdir().unwrap();
    let run = || {
        Command::new(env!("CARGO_BIN_EXE_aether-bench"))
            .args([
                "accounts",
                "--keys",
                "100",
                "--block-keys",
                "10",
                "--blocks",
                "1",
                "--reads",
                "10",
            ])
            .arg("--dir")
            .arg(directory.path())
            .args(["--json"])
            .output()
            .unwrap()
    };
    assert!(run().status.success());
    let second = run();
    assert!(!second.status.success());
    assert!(String::from_utf8_lossy(&second.stderr).contains("not empty"));
}
