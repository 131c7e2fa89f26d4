//! The dev node as a process: boots from genesis, takes transfers through RPC and
//! QUIC, rejects each kind of bad input with a counted reason while it keeps running,
//! and after a restart continues from its last final slot with its state intact.

mod common;
use common::{free_tcp_port, free_udp_port};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aether_client::{ClientError, RpcClient, TransactionState, Wallet};
use aether_crypto::ed25519::Ed25519SecretKey;
use aether_ledger::{LedgerParams, TransferRequest, build_transfer, sign_transaction};
use aether_pipeline::fetch::TpuClient;
use aether_types::{Lock, Transaction, ValidityWindow};

struct Node {
    child: Child,
    rpc: RpcClient,
    tpu: SocketAddr,
    metrics: SocketAddr,
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(ledger: &Path) -> Node {
    start_with(ledger, &[]).unwrap_or_else(|stderr| panic!("node exited: {stderr}"))
}

fn stop(mut node: Node) {
    let pid = node.child.id().to_string();
    Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill runs");
    let status = node.child.wait().expect("node exits");
    assert!(status.success(), "clean shutdown, got {status}");
}

fn metric(node: &Node, name: &str) -> u64 {
    let mut stream = TcpStream::connect(node.metrics).expect("metrics");
    stream
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .expect("request");
    let mut text = String::new();
    stream.read_to_string(&mut text).expect("response");
    text.lines()
        .find_map(|line| {
            line.strip_prefix(name)
                .and_then(|rest| rest.trim().parse().ok())
        })
        .unwrap_or_else(|| panic!("metric {name} missing"))
}

fn wait_final(rpc: &RpcClient, id: &aether_types::Hash) -> u64 {
    match rpc.wait_for(id, Duration::from_secs(20)).expect("rpc") {
        TransactionState::Finalized { slot } => slot,
        other => panic!("transaction {id} not final: {other:?}"),
    }
}

fn transfer(
    rpc: &RpcClient,
    from: &Ed25519SecretKey,
    to: Lock,
    amount: u64,
    validity: Option<ValidityWindow>,
) -> Transaction {
    let address = aether_client::address_of(&from.public_key().0);
    let inputs = rpc.utxos(&address).expect("utxos");
    let slot = rpc.slot("finalized").expect("slot");
    build_transfer(&TransferRequest {
        inputs: &inputs,
        signer: from,
        to,
        amount,
        params: LedgerParams::DEFAULT,
        validity: validity.unwrap_or(ValidityWindow {
            first_slot: slot,
            last_slot: slot + 200,
        }),
    })
    .expect("transfer builds")
}

fn rejection(result: Result<aether_types::Hash, ClientError>) -> String {
    match result {
        Err(ClientError::Rpc {
            code: -32003,
            message,
        }) => message,
        other => panic!("expected a -32003 rejection, got {other:?}"),
    }
}

#[test]
fn dev_node_end_to_end() {
    let ledger = tempfile::tempdir().expect("temp dir");
    let node = start(ledger.path());
    let rpc = &node.rpc;
    let alice = Wallet::from_key(Ed25519SecretKey::from_seed(&[1; 32]));
    let bob = Wallet::from_key(Ed25519SecretKey::from_seed(&[2; 32]));

    // Airdrop, then a transfer through RPC.
    let airdrop = rpc.airdrop(&alice.address(), 1_000_000).expect("airdrop");
    wait_final(rpc, &airdrop);
    assert_eq!(rpc.balance(&alice.address()).expect("balance"), 1_000_000);
    let payment = transfer(
        rpc,
        &alice.key,
        Lock::PublicKeyHash(bob.address()),
        1_000,
        None,
    );
    let fee = payment.body.fee;
    let spent_inputs = payment.body.inputs.clone();
    let id = rpc.send_transaction(&payment).expect("accepted");
    let slot = wait_final(rpc, &id);
    assert_eq!(rpc.balance(&bob.address()).expect("balance"), 1_000);
    assert_eq!(
        rpc.balance(&alice.address()).expect("balance"),
        1_000_000 - 1_000 - fee
    );
    let block = rpc
        .call("getBlock", serde_json::json!([slot]))
        .expect("block");
    assert!(
        block["transactions"]
            .as_array()
            .expect("list")
            .iter()
            .any(|tx| tx == &serde_json::json!(id.to_string()))
    );
    assert_eq!(
        rpc.call("getStateRoot", serde_json::json!([slot]))
            .expect("root"),
        block["state_root"]
    );

    // Bad input through RPC: each rejected at once with its reason.
    let malformed = rejection(rpc.send_wire(&[0xff; 40]));
    assert!(malformed.contains("malformed"), "{malformed}");
    let mut forged = transfer(
        rpc,
        &alice.key,
        Lock::PublicKeyHash(bob.address()),
        10,
        None,
    );
    forged.signatures[0].signature[3] ^= 1;
    assert!(rejection(rpc.send_transaction(&forged)).contains("does not verify"));
    let mut double_spend = payment.clone();
    double_spend.body.inputs = spent_inputs.clone();
    double_spend.body.outputs[0].value = aether_types::Value::from_aeth(999);
    double_spend.body.fee += 1;
    let double_spend = sign_transaction(double_spend.body, &[&alice.key]);
    assert!(rejection(rpc.send_transaction(&double_spend)).contains("already spent"));
    let mut unbalanced = transfer(
        rpc,
        &alice.key,
        Lock::PublicKeyHash(bob.address()),
        10,
        None,
    );
    unbalanced.body.outputs[0].value = aether_types::Value::from_aeth(11);
    let unbalanced = sign_transaction(unbalanced.body, &[&alice.key]);
    assert!(rejection(rpc.send_transaction(&unbalanced)).contains("not conserved"));
    let expired = transfer(
        rpc,
        &alice.key,
        Lock::PublicKeyHash(bob.address()),
        10,
        Some(ValidityWindow {
            first_slot: 0,
            last_slot: 1,
        }),
    );
    assert!(rejection(rpc.send_transaction(&expired)).contains("validity window"));
    let oversize = rejection(rpc.send_wire(&vec![0u8; 2000]));
    assert!(
        oversize.contains("malformed") || oversize.contains("larger"),
        "{oversize}"
    );

    // The same kinds through QUIC: counted drops and rejections, never a crash.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let rejected_before = metric(
        &node,
        "aether_banking_dropped_packets_total{reason=\"validity_window\"}",
    );
    runtime.block_on(async {
        let client = TpuClient::connect(node.tpu).await.expect("connects");
        client.send(&[0xff; 40]).await.expect("sent");
        client.send(&vec![7u8; 3000]).await.expect("sent");
        client
            .send(&forged.to_wire().expect("wire"))
            .await
            .expect("sent");
        client
            .send(&expired.to_wire().expect("wire"))
            .await
            .expect("sent");
        client
            .send(&unbalanced.to_wire().expect("wire"))
            .await
            .expect("sent");
        client
            .send(&double_spend.to_wire().expect("wire"))
            .await
            .expect("sent");
        // Then a valid transfer over QUIC.
        let good = transfer(
            rpc,
            &alice.key,
            Lock::PublicKeyHash(bob.address()),
            500,
            None,
        );
        client
            .send(&good.to_wire().expect("wire"))
            .await
            .expect("sent");
        wait_final(rpc, &good.transaction_id());

        // The same over QUIC datagrams: a malformed one is a counted drop, a valid one
        // becomes final.
        let malformed = "aether_sigverify_dropped_packets_total{reason=\"malformed\"}";
        let malformed_before = metric(&node, malformed);
        client.send_datagram(&[0xfe; 40]).await.expect("sent");
        let by_datagram = transfer(
            rpc,
            &alice.key,
            Lock::PublicKeyHash(bob.address()),
            300,
            None,
        );
        client
            .send_datagram(&by_datagram.to_wire().expect("wire"))
            .await
            .expect("sent");
        wait_final(rpc, &by_datagram.transaction_id());
        assert!(metric(&node, malformed) > malformed_before);
    });
    let deadline = Instant::now() + Duration::from_secs(10);
    while metric(
        &node,
        "aether_banking_dropped_packets_total{reason=\"unknown_input\"}",
    ) < 1
    {
        assert!(
            Instant::now() < deadline,
            "double spend over QUIC was not counted"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        metric(
            &node,
            "aether_sigverify_dropped_packets_total{reason=\"malformed\"}"
        ) >= 1
    );
    assert!(
        metric(
            &node,
            "aether_sigverify_dropped_packets_total{reason=\"bad_signature\"}"
        ) >= 1
    );
    assert!(
        metric(
            &node,
            "aether_fetch_dropped_packets_total{reason=\"oversize\"}"
        ) >= 1
    );
    assert!(
        metric(
            &node,
            "aether_banking_dropped_packets_total{reason=\"validity_window\"}"
        ) > rejected_before
    );
    assert!(
        metric(
            &node,
            "aether_banking_dropped_packets_total{reason=\"value_not_conserved\"}"
        ) >= 1
    );
    assert!(matches!(
        rpc.transaction_state(&unbalanced.transaction_id())
            .expect("rpc"),
        TransactionState::Rejected { .. }
    ));
    assert_eq!(rpc.balance(&bob.address()).expect("balance"), 1_800);
    assert_eq!(
        rpc.call("getHealth", serde_json::json!([]))
            .expect("health"),
        "ok"
    );
    // The account storage reports the blocks it committed and the state it holds.
    assert!(metric(&node, "aether_accounts_storage_blocks_committed_total") >= 1);
    assert!(metric(&node, "aether_accounts_storage_live_keys") >= 3);
    assert_eq!(
        metric(&node, "aether_accounts_storage_compaction_errors_total"),
        0
    );

    // Restart: the chain continues after its last final slot with the same state.
    let finalized_before = rpc.slot("finalized").expect("slot");
    stop(node);
    let node = start(ledger.path());
    let deadline = Instant::now() + Duration::from_secs(10);
    while node.rpc.slot("finalized").expect("slot") <= finalized_before {
        assert!(Instant::now() < deadline, "no new blocks after restart");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(node.rpc.balance(&bob.address()).expect("balance"), 1_800);
    assert!(
        node.rpc
            .call("getBlock", serde_json::json!([slot]))
            .expect("block")
            .is_object()
    );
    stop(node);
}

fn start_with(ledger: &Path, extra: &[&str]) -> Result<Node, String> {
    let (rpc, tpu, metrics) = (free_tcp_port(), free_udp_port(), free_tcp_port());
    let mut child = Command::new(env!("CARGO_BIN_EXE_aether-validator"))
        .args(["run", "--dev", "--slot-ms", "100", "--ledger"])
        .arg(ledger)
        .args([
            "--rpc",
            &rpc.to_string(),
            "--tpu",
            &tpu.to_string(),
            "--metrics",
            &metrics.to_string(),
        ])
        .args(extra)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("node starts");
    let rpc = RpcClient::new(&format!("http://{rpc}")).expect("url");
    let deadline = Instant::now() + Duration::from_secs(30);
    while rpc.call("getHealth", serde_json::json!([])).is_err() {
        if let Ok(Some(_)) = child.try_wait() {
            let mut stderr = String::new();
            child
                .stderr
                .take()
                .expect("piped")
                .read_to_string(&mut stderr)
                .expect("stderr");
            return Err(stderr);
        }
        assert!(Instant::now() < deadline, "node did not become healthy");
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(Node {
        child,
        rpc,
        tpu,
        metrics,
    })
}

#[test]
fn boots_from_a_snapshot_and_refuses_a_corrupt_one() {
    let directory = tempfile::tempdir().expect("temp dir");
    let (first, second, third) = (
        directory.path().join("first"),
        directory.path().join("second"),
        directory.path().join("third"),
    );
    let node = start_with(&first, &[]).expect("starts");
    let carol = Wallet::from_key(Ed25519SecretKey::from_seed(&[3; 32]));
    let id = node
        .rpc
        .airdrop(&carol.address(), 777_000)
        .expect("airdrop");
    wait_final(&node.rpc, &id);
    stop(node);

    let snapshot = directory.path().join("state.snapshot");
    let (accounts, _) = aether_accounts_db::AccountsDb::open(
        &first.join(aether_accounts_db::ACCOUNTS_DIRECTORY),
        aether_accounts_db::AccountsDbOptions::default(),
    )
    .expect("opens the stopped node's state");
    let header =
        aether_accounts_db::snapshot::create_snapshot(&accounts, &snapshot, &mut |_, _| {})
            .expect("snapshot written");
    drop(accounts);

    let node = start_with(&second, &["--snapshot", snapshot.to_str().expect("utf-8")])
        .expect("boots from the snapshot");
    assert_eq!(
        node.rpc.balance(&carol.address()).expect("balance"),
        777_000
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while node.rpc.slot("finalized").expect("slot") <= header.slot {
        assert!(
            Instant::now() < deadline,
            "no blocks after the snapshot slot"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    stop(node);

    let mut bytes = std::fs::read(&snapshot).expect("read");
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x40;
    std::fs::write(&snapshot, &bytes).expect("write");
    let error = match start_with(&third, &["--snapshot", snapshot.to_str().expect("utf-8")]) {
        Ok(_) => panic!("a corrupt snapshot must not boot"),
        Err(stderr) => stderr,
    };
    assert!(error.contains("snapshot"), "{error}");
    let accounts_dir = third.join(aether_accounts_db::ACCOUNTS_DIRECTORY);
    let loaded_nothing =
        std::fs::read_dir(&accounts_dir).map_or(true, |mut entries| entries.next().is_none());
    assert!(
        loaded_nothing,
        "nothing may be loaded from a corrupt snapshot"
    );
}
