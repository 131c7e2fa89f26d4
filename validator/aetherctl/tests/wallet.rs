//! `aetherctl` wallet commands against a real dev node (the `aether-validator` binary
//! that `cargo test --workspace` builds into the same target directory).

use std::net::{TcpListener, UdpSocket};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

struct Node(Child);

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn validator_binary() -> PathBuf {
    let path = PathBuf::from(env!("CARGO_BIN_EXE_aetherctl")).with_file_name("aether-validator");
    assert!(
        path.exists(),
        "{} is missing: build it first (cargo build -p aether-validator), as cargo test --workspace does",
        path.display()
    );
    path
}

fn aetherctl(rpc: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_aetherctl"))
        .args(["--rpc", rpc])
        .args(args)
        .output()
        .expect("aetherctl runs")
}

fn stdout(output: &Output) -> String {
    assert!(
        output.status.success(),
        "failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout.clone()).expect("utf-8")
}

#[test]
fn wallet_airdrop_transfer_balance_status() {
    let directory = tempfile::tempdir().expect("temp dir");
    let rpc_address = TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("address");
    let tpu = UdpSocket::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("address");
    let metrics = TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("address");
    let _node = Node(
        Command::new(validator_binary())
            .args(["run", "--dev", "--slot-ms", "100", "--ledger"])
            .arg(directory.path().join("ledger"))
            .args(["--rpc", &rpc_address.to_string(), "--tpu", &tpu.to_string()])
            .args(["--metrics", &metrics.to_string()])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .spawn()
            .expect("node starts"),
    );
    let rpc = format!("http://{rpc_address}");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !aetherctl(&rpc, &["balance", &"00".repeat(32)])
        .status
        .success()
    {
        assert!(Instant::now() < deadline, "node did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    let alice_file = directory.path().join("alice.json");
    let alice = stdout(&aetherctl(
        &rpc,
        &[
            "wallet",
            "new",
            "--out",
            alice_file.to_str().expect("utf-8"),
        ],
    ));
    let alice = alice.trim();
    assert_eq!(
        stdout(&aetherctl(
            &rpc,
            &["address", "--keypair", alice_file.to_str().expect("utf-8")]
        ))
        .trim(),
        alice
    );
    assert!(
        !aetherctl(
            &rpc,
            &[
                "wallet",
                "new",
                "--out",
                alice_file.to_str().expect("utf-8")
            ]
        )
        .status
        .success(),
        "never overwrites a wallet"
    );
    let bob = "ab".repeat(32);
    assert!(stdout(&aetherctl(&rpc, &["airdrop", alice, "1000000"])).contains("finalized in slot"));
    assert_eq!(
        stdout(&aetherctl(&rpc, &["balance", alice])).trim(),
        "1000000"
    );
    let sent = stdout(&aetherctl(
        &rpc,
        &[
            "transfer",
            "--keypair",
            alice_file.to_str().expect("utf-8"),
            "--to",
            &bob,
            "--amount",
            "4242",
        ],
    ));
    assert!(sent.contains("finalized in slot"), "{sent}");
    assert_eq!(stdout(&aetherctl(&rpc, &["balance", &bob])).trim(), "4242");
    let too_much = aetherctl(
        &rpc,
        &[
            "transfer",
            "--keypair",
            alice_file.to_str().expect("utf-8"),
            "--to",
            &bob,
            "--amount",
            "999999999",
        ],
    );
    assert!(!too_much.status.success());
    assert!(String::from_utf8_lossy(&too_much.stderr).contains("insufficient funds"));
    let status = stdout(&aetherctl(&rpc, &["status", "--json"]));
    let status: serde_json::Value = serde_json::from_str(&status).expect("JSON");
    assert!(status["finalized_slot"].as_u64().expect("slot") > 0);
    assert!(
        status["queues"]["fetch_sigverify"]["capacity"]
            .as_u64()
            .is_some()
    );
}
