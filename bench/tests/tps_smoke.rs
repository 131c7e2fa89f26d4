//! `aether-bench tps` at a tiny size against a real dev node: every submitted
//! transfer (including conflicting parent/child pairs) is committed, and the JSON
//! carries the contracted fields.

use std::path::PathBuf;
use std::process::Command;

#[test]
fn tps_benchmark_commits_everything_it_submits() {
    let validator =
        PathBuf::from(env!("CARGO_BIN_EXE_aether-bench")).with_file_name("aether-validator");
    assert!(
        validator.exists(),
        "{} is missing: cargo test --workspace builds it (or cargo build -p aether-validator)",
        validator.display()
    );
    let output = Command::new(env!("CARGO_BIN_EXE_aether-bench"))
        .args(["tps", "--duration", "1", "--accounts", "4", "--rate", "300"])
        .args([
            "--conflict-fraction",
            "0.25",
            "--slot-ms",
            "100",
            "--backend",
            "cpu",
            "--json",
        ])
        .output()
        .expect("aether-bench runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8(output.stdout).expect("utf-8");
    assert_eq!(text.lines().count(), 1, "one JSON object: {text}");
    let report: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    for field in [
        "tps",
        "sigverify_baseline_per_s",
        "ratio",
        "latency_ms_p50",
        "latency_ms_p99",
    ] {
        assert!(
            report[field].as_f64().is_some_and(|value| value > 0.0),
            "{field}: {text}"
        );
    }
    let submitted = report["submitted"].as_u64().expect("submitted");
    assert!(submitted >= 300, "{text}");
    assert_eq!(report["committed"].as_u64(), Some(submitted), "{text}");
    assert_eq!(report["rejected"].as_u64(), Some(0), "{text}");
    // The started node's threads are accounted for (by name; a tiny run may leave a
    // stage under the 10 ms tick), and the total is a positive CPU cost per transfer.
    let threads = report["node_cpu_seconds"]
        .as_object()
        .expect("node_cpu_seconds");
    assert!(
        !threads.is_empty() && threads.keys().all(|name| !name.is_empty()),
        "{text}"
    );
    assert!(
        report["node_cpu_us_per_transaction"]
            .as_f64()
            .is_some_and(|value| value > 0.0),
        "{text}"
    );
    assert!(
        report["sending_s"]
            .as_f64()
            .is_some_and(|value| value > 0.0),
        "{text}"
    );
}
