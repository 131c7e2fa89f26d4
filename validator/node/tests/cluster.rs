//! Four `aether-validator` processes as one cluster on 127.0.0.1, from a genesis made
//! by `aetherctl cluster init` (both binaries that `cargo test --workspace` builds
//! into the same target directory):
//!
//! 1. 1,000 transfers sent round-robin to the four nodes' RPC are all finalized, and
//!    all four report the same state root at a common finalized slot;
//! 2. one validator is killed: the other three keep finalizing;
//! 3. it is restarted on its ledger and catches up within 30 s;
//! 4. another stays down until it is far behind, then restarts, moves its old ledger
//!    aside and boots from a peer's snapshot;
//! 5. the leader of the next round is killed: a timeout certificate moves the cluster
//!    past its rounds and the other three keep finalizing;
//! 6. all four stop and restart on their ledgers and go on finalizing;
//! 7. the leaders' KES key files have evolved;
//! 8. after all the kills every blockstore serves the same final blocks.

mod common;
use common::{free_tcp_port, free_udp_port};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aether_client::{RpcClient, TransactionState, Wallet};
use aether_genesis::ClusterGenesis;
use aether_ledger::{LedgerParams, TransferRequest, build_transfer};
use aether_types::{Hash, Lock, OutputReference, Transaction, ValidityWindow};

const VALIDATORS: usize = 4;
const TRANSFERS: usize = 1_000;

fn aetherctl() -> PathBuf {
    let path = PathBuf::from(env!("CARGO_BIN_EXE_aether-validator")).with_file_name("aetherctl");
    assert!(
        path.exists(),
        "{} is missing: build it first (cargo build -p aetherctl), as cargo test --workspace does",
        path.display()
    );
    path
}

struct Validator {
    config: PathBuf,
    rpc: RpcClient,
    rpc_address: SocketAddr,
    metrics: SocketAddr,
    log: PathBuf,
    child: Option<Child>,
}

impl Validator {
    fn start(&mut self) {
        assert!(self.child.is_none(), "already running");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("log file");
        let child = Command::new(env!("CARGO_BIN_EXE_aether-validator"))
            .args(["run", "--config"])
            .arg(&self.config)
            .env(
                "RUST_LOG",
                std::env::var("AETHER_TEST_LOG").unwrap_or_else(|_| "info".into()),
            )
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("validator starts");
        self.child = Some(child);
    }

    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn finalized(&self) -> Option<u64> {
        self.rpc.slot("finalized").ok()
    }

    fn metrics_text(&self) -> Option<String> {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(self.metrics).ok()?;
        stream
            .write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .ok()?;
        let mut text = String::new();
        stream.read_to_string(&mut text).ok()?;
        Some(text)
    }

    /// The value of one sample on `/metrics`.
    fn metric(&self, name: &str) -> Option<f64> {
        self.metrics_text()?.lines().find_map(|line| {
            line.strip_prefix(name)?
                .strip_prefix(' ')?
                .trim()
                .parse()
                .ok()
        })
    }

    /// Non-zero consensus round, certificate, refusal, drop, fetch and Turbine counters (for failure
    /// reports).
    fn refusals(&self) -> String {
        self.metrics_text()
            .unwrap_or_default()
            .lines()
            .filter(|line| {
                (line.starts_with("aether_consensus_rejected")
                    || line.starts_with("aether_consensus_dropped")
                    || line.starts_with("aether_consensus_round")
                    || line.starts_with("aether_consensus_qcs")
                    || line.starts_with("aether_consensus_tcs")
                    || line.starts_with("aether_consensus_slow")
                    || line.starts_with("aether_consensus_block_fetch")
                    || line.starts_with("aether_turbine_")
                    || line.starts_with("aether_network_"))
                    && !line.ends_with(" 0")
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn validators(&self) -> Vec<serde_json::Value> {
        self.rpc
            .call("getValidators", serde_json::json!([]))
            .expect("getValidators")
            .as_array()
            .expect("an array")
            .clone()
    }

    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }
}

impl Drop for Validator {
    fn drop(&mut self) {
        self.kill();
    }
}

struct Cluster {
    validators: Vec<Validator>,
    genesis: ClusterGenesis,
    directory: PathBuf,
}

impl Cluster {
    fn wait(&self, what: &str, timeout: Duration, mut done: impl FnMut(&Cluster) -> bool) {
        let deadline = Instant::now() + timeout;
        while !done(self) {
            if Instant::now() > deadline {
                let logs: Vec<String> = self
                    .validators
                    .iter()
                    .enumerate()
                    .map(|(index, validator)| {
                        let status = validator
                            .rpc
                            .call("getStatus", serde_json::json!([]))
                            .map(|status| status.to_string())
                            .unwrap_or_else(|error| format!("no status: {error}"));
                        format!(
                            "--- node {index}: {status}\n{}\n{}",
                            validator.refusals(),
                            validator.log_tail()
                        )
                    })
                    .collect();
                panic!("timed out waiting for {what}\n{}", logs.join("\n"));
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn live(&self) -> impl Iterator<Item = &Validator> {
        self.validators
            .iter()
            .filter(|validator| validator.child.is_some())
    }

    fn lowest_live_finalized(&self) -> u64 {
        self.live()
            .map(|validator| validator.finalized().unwrap_or(0))
            .min()
            .unwrap_or(0)
    }

    /// Waits until every live validator finalized `count` slots beyond now.
    fn wait_for_progress(&self, what: &str, count: u64) {
        let target = self
            .live()
            .filter_map(Validator::finalized)
            .max()
            .unwrap_or(0)
            + count;
        // 60 s: with one of four down, each of its rounds costs a 1 s timer once it is
        // known unresponsive (its first ones 2-3 s), so a few final slots take seconds
        // (the 2026-11 runs: 46-60 s for the whole test).
        self.wait(what, Duration::from_secs(60), |cluster| {
            cluster.lowest_live_finalized() >= target
        });
    }
}

fn start_cluster() -> (tempfile::TempDir, Cluster) {
    let mut directory = tempfile::tempdir().expect("temporary directory");
    // Set to keep the validators' ledgers and logs for a post-mortem.
    if std::env::var_os("AETHER_TEST_KEEP_DIRECTORY").is_some() {
        directory.disable_cleanup(true);
        eprintln!("keeping {}", directory.path().display());
    }
    let init = Command::new(aetherctl())
        // Epochs of 5 slots: the test crosses dozens of epoch boundaries, often with
        // nothing of the previous epoch final yet (a validator down), so leaders come
        // from nonces along chains; restarts resume them from the nonce log. KES
        // periods of 10 slots: leaders evolve their keys (64 periods: 640 slots).
        .args([
            "cluster",
            "init",
            "--validators",
            "4",
            "--epoch-slots",
            "5",
            "--kes-slots-per-period",
            "10",
            "--out",
        ])
        .arg(directory.path())
        .output()
        .expect("aetherctl runs");
    assert!(
        init.status.success(),
        "cluster init failed: {}",
        String::from_utf8_lossy(&init.stderr)
    );
    let genesis_path = directory.path().join("genesis.json");
    let genesis = ClusterGenesis::load(&genesis_path).expect("genesis loads");
    let listens: Vec<SocketAddr> = (0..VALIDATORS).map(|_| free_udp_port()).collect();
    let validators = (0..VALIDATORS)
        .map(|index| {
            let node = directory.path().join(format!("node-{index}"));
            let rpc = free_tcp_port();
            let metrics = free_tcp_port();
            let entrypoints = if index == 0 {
                String::new()
            } else {
                format!("\"{}\"", listens[0])
            };
            // Four nodes share this machine: one sigverify thread and one execution
            // worker each, and no memory prefault (2 GiB apiece by default).
            let config = format!(
                "[node]\nledger = \"{ledger}\"\nkeys = \"{keys}\"\nprefault_memory_mib = 0\n\n\
                 [network]\ntpu = \"{tpu}\"\nrpc = \"{rpc}\"\nmetrics = \"{metrics}\"\n\n\
                 [sigverify]\nbackend = \"cpu\"\nthreads = 1\n\n\
                 [banking]\nexecution_workers = 1\n\n\
                 [cluster]\ngenesis = \"{genesis}\"\nlisten = \"{listen}\"\nentrypoints = [{entrypoints}]\n\
                 snapshot_interval_slots = 10\n",
                ledger = node.join("ledger").display(),
                keys = node.display(),
                tpu = free_udp_port(),
                genesis = genesis_path.display(),
                listen = listens[index],
            );
            let config_path = node.join("config.toml");
            std::fs::write(&config_path, config).expect("config written");
            let mut validator = Validator {
                config: config_path,
                rpc: RpcClient::new(&format!("http://{rpc}")).expect("url"),
                rpc_address: rpc,
                metrics,
                log: node.join("node.log"),
                child: None,
            };
            validator.start();
            validator
        })
        .collect();
    let cluster = Cluster {
        validators,
        genesis,
        directory: directory.path().to_owned(),
    };
    cluster.wait(
        "four healthy validators finalizing",
        Duration::from_secs(60),
        |cluster| cluster.lowest_live_finalized() >= 2,
    );
    (directory, cluster)
}

fn transfers(cluster: &Cluster) -> Vec<Transaction> {
    let faucet = Wallet::load(&cluster.directory.join("faucet.json")).expect("faucet wallet");
    let genesis_id = cluster.genesis.genesis_transaction_id();
    let amount = cluster.genesis.faucet.output_aeth;
    (0..TRANSFERS)
        .map(|index| {
            let input = OutputReference {
                transaction_id: genesis_id,
                index: index as u16,
            };
            build_transfer(&TransferRequest {
                inputs: &[(input, amount)],
                signer: &faucet.key,
                to: Lock::for_public_key(&[(index % 251) as u8; 32]),
                amount: 1_000 + index as u64,
                params: LedgerParams::DEFAULT,
                validity: ValidityWindow {
                    first_slot: 0,
                    last_slot: 1_000_000,
                },
            })
            .expect("transfer builds")
        })
        .collect()
}

#[test]
fn four_validators_finalize_transfers_survive_a_crash_and_a_dead_leader() {
    let (_directory, mut cluster) = start_cluster();

    // 1. 1,000 transfers to different nodes, all finalized.
    let transfers = transfers(&cluster);
    let mut ids = Vec::with_capacity(transfers.len());
    for (index, transaction) in transfers.iter().enumerate() {
        let validator = &cluster.validators[index % VALIDATORS];
        ids.push(
            validator
                .rpc
                .send_transaction(transaction)
                .unwrap_or_else(|error| panic!("transfer {index} refused: {error}")),
        );
    }
    let mut pending: Vec<Hash> = ids.clone();
    cluster.wait(
        "1,000 finalized transfers",
        Duration::from_secs(120),
        |cluster| {
            let rpc = &cluster.validators[0].rpc;
            pending.retain(|id| {
                !matches!(
                    rpc.transaction_state(id),
                    Ok(TransactionState::Finalized { .. })
                )
            });
            pending.is_empty()
        },
    );
    let common = cluster.lowest_live_finalized();
    let roots: Vec<String> = cluster
        .validators
        .iter()
        .map(|validator| {
            validator
                .rpc
                .call("getStateRoot", serde_json::json!([common]))
                .expect("state root")
                .to_string()
        })
        .collect();
    assert!(
        roots.iter().all(|root| *root == roots[0]),
        "state roots differ at slot {common}: {roots:?}"
    );
    assert_ne!(roots[0], "null");
    // Every validator's address index (fed by the owners its commits read from the
    // parent state) shows the spends and the payments: no spent genesis output is
    // listed for the faucet, and each recipient holds exactly what it was sent.
    let faucet = Wallet::load(&cluster.directory.join("faucet.json")).expect("faucet wallet");
    let genesis_id = cluster.genesis.genesis_transaction_id().to_string();
    let recipient = |number: u8| Lock::for_public_key(&[number; 32]).hash().to_string();
    let sent_to = |number: usize| -> u64 {
        (number..TRANSFERS)
            .step_by(251)
            .map(|index| 1_000 + index as u64)
            .sum()
    };
    cluster.wait(
        "every address index shows the transfers",
        Duration::from_secs(60),
        |cluster| {
            cluster.validators.iter().all(|validator| {
                let balances_match = [0usize, 7, 250].iter().all(|number| {
                    validator
                        .rpc
                        .call("getBalance", serde_json::json!([recipient(*number as u8)]))
                        .ok()
                        .and_then(|balance| balance.as_u64())
                        == Some(sent_to(*number))
                });
                let faucet_utxos = validator
                    .rpc
                    .call(
                        "getUtxos",
                        serde_json::json!([faucet.address().to_string()]),
                    )
                    .ok()
                    .and_then(|utxos| utxos.as_array().cloned())
                    .unwrap_or_default();
                let spent_listed = faucet_utxos.iter().any(|utxo| {
                    utxo["transaction_id"] == genesis_id.as_str()
                        && utxo["index"]
                            .as_u64()
                            .is_some_and(|index| index < TRANSFERS as u64)
                });
                balances_match && !faucet_utxos.is_empty() && !spent_listed
            })
        },
    );
    let observed = cluster.validators[1]
        .metric("aether_consensus_finality_latency_seconds_count")
        .expect("finality latency on /metrics");
    assert!(observed > 0.0, "no finality latency observed");
    // Transactions sent to one validator were forwarded to upcoming leaders.
    let forwarded: f64 = cluster
        .validators
        .iter()
        .filter_map(|validator| validator.metric("aether_consensus_forwarded_received_total"))
        .sum();
    assert!(forwarded > 0.0, "no transaction was forwarded to a leader");
    // Blocks travel as Turbine shreds: every validator rebuilds peers' blocks from them
    // (one that led most of the first slots may need a few more to see a peer's block;
    // the transfers above can all be final within seconds), and none was refused for a
    // bad signature or Merkle path.
    cluster.wait(
        "every validator rebuilt a block from shreds",
        Duration::from_secs(60),
        |cluster| {
            cluster.validators.iter().all(|validator| {
                validator
                    .metric("aether_turbine_blocks_assembled_total")
                    .is_some_and(|assembled| assembled > 0.0)
            })
        },
    );
    for validator in &cluster.validators {
        let metrics = validator.metrics_text().unwrap_or_default();
        assert!(
            !metrics.contains("aether_turbine_dropped_shreds_total{reason=\"signature\"}")
                && !metrics.contains("aether_turbine_dropped_shreds_total{reason=\"merkle\"}"),
            "honest shreds refused:\n{metrics}"
        );
    }
    let listed = cluster.validators[2].validators();
    assert_eq!(listed.len(), VALIDATORS);
    for validator in &listed {
        assert!(
            validator["last_vote_round"].as_u64().unwrap_or(0) > 0,
            "every validator voted: {validator}"
        );
    }

    // Every 10 final slots each validator writes a snapshot with its bundle and serves
    // them over RPC's HTTP: a stranger holding only the genesis checks the bundle.
    check_served_snapshot(&cluster.validators[1], &cluster.genesis);

    // 2. One validator dies; the other three keep finalizing.
    cluster.validators[3].kill();
    // Long enough (20 final slots) that the restarted validator's round is behind the
    // Turbine window: it must still rebuild current blocks and fetch what it missed.
    cluster.wait_for_progress("finality with three of four", 20);

    // 3. It restarts on its ledger and catches up within 30 s.
    let target = cluster
        .live()
        .filter_map(Validator::finalized)
        .max()
        .unwrap_or(0);
    cluster.validators[3].start();
    cluster.wait(
        "the restarted validator to catch up",
        Duration::from_secs(30),
        |cluster| cluster.validators[3].finalized().unwrap_or(0) >= target,
    );

    // 4. A validator left far behind boots from a peer's snapshot (checked against the
    //    genesis) and catches up from there, the three others running on.
    boot_from_a_peers_snapshot(&mut cluster, 2);

    // 5. The leader of the coming round dies; a TC moves the cluster past its rounds.
    let status = cluster.validators[0]
        .rpc
        .call("getStatus", serde_json::json!([]))
        .expect("status");
    let leader = status["next_leader"]
        .as_u64()
        .unwrap_or_else(|| panic!("cluster status names the next leader: {status}"))
        as usize;
    let skipped_before =
        cluster.validators[(leader + 1) % VALIDATORS].validators()[leader]["skipped_slots"]
            .as_u64()
            .unwrap_or(0);
    cluster.validators[leader].kill();
    cluster.wait_for_progress("finality after the leader died", 6);
    let witness = &cluster.validators[(leader + 1) % VALIDATORS];
    let skipped_after = witness.validators()[leader]["skipped_slots"]
        .as_u64()
        .unwrap_or(0);
    assert!(
        skipped_after > skipped_before,
        "the dead leader's slots are skipped ({skipped_before} -> {skipped_after})"
    );
    // Counted per process (a validator restarted earlier starts again at zero, and
    // only the next leader aggregates votes in a healthy round): summed over the live.
    for name in [
        "aether_consensus_qcs_formed_total",
        "aether_consensus_tcs_formed_total",
        "aether_consensus_rounds_timed_out_total",
    ] {
        let value: f64 = cluster
            .live()
            .filter_map(|validator| validator.metric(name))
            .sum();
        assert!(value > 0.0, "{name} is {value} after a dead leader");
    }
    // Exported (zero is fine: whether finality ever lagged an epoch depends on timing).
    assert!(
        cluster.live().all(|validator| validator
            .metric("aether_consensus_proposals_ahead_of_final_nonces_total")
            .is_some()),
        "aether_consensus_proposals_ahead_of_final_nonces_total is exported"
    );

    // 6. The whole cluster stops and restarts on its ledgers: validators whose last
    //    final block differs fetch what they lack (from memory or blockstores) and
    //    the chain goes on.
    for validator in &mut cluster.validators {
        validator.kill();
    }
    for validator in &mut cluster.validators {
        validator.start();
    }
    cluster.wait_for_progress("finality after a full restart", 4);

    // 7. Leaders' KES keys evolved with the slots (10 per period) and the evolved keys
    //    replaced the ones on disk: earlier periods are gone from the key files.
    let final_slot = cluster.lowest_live_finalized();
    let evolved = (0..VALIDATORS)
        .filter(|index| {
            let path = directory_of(&cluster, *index).join("kes.json");
            let file: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(path).expect("kes.json"))
                    .expect("kes.json is JSON");
            file["period"].as_u64().unwrap_or(0) > 0
        })
        .count();
    assert!(
        evolved >= 2,
        "only {evolved} of {VALIDATORS} key files evolved by final slot {final_slot}"
    );

    // 8. No final block went missing from a blockstore in all the kills: every
    //    validator serves the same block (or the same skipped slot) for each final
    //    slot, validator 2 from the snapshot it booted from on.
    let blocks_of = |validator: &Validator| -> Vec<Option<String>> {
        (1..=final_slot)
            .map(|slot| {
                let block = validator
                    .rpc
                    .call("getBlock", serde_json::json!([slot]))
                    .unwrap_or_else(|error| panic!("getBlock {slot}: {error}"));
                block["hash"].as_str().map(str::to_owned)
            })
            .collect()
    };
    // And no consensus thread got stuck on the way (the node says so in its log).
    for (index, validator) in cluster.validators.iter().enumerate() {
        let log = std::fs::read_to_string(&validator.log).unwrap_or_default();
        assert!(
            !log.contains("it is stuck"),
            "validator {index}'s consensus thread was stuck:\n{}",
            validator.log_tail()
        );
    }
    let reference = blocks_of(&cluster.validators[0]);
    assert!(reference.iter().flatten().count() as u64 > final_slot / 2);
    for index in 1..VALIDATORS {
        let blocks = blocks_of(&cluster.validators[index]);
        let from = if index == 2 {
            blocks
                .iter()
                .position(Option::is_some)
                .unwrap_or(blocks.len())
        } else {
            0
        };
        for (offset, (mine, theirs)) in blocks[from..].iter().zip(&reference[from..]).enumerate() {
            assert_eq!(
                mine,
                theirs,
                "validator {index} and validator 0 differ at final slot {}",
                from + offset + 1
            );
        }
    }
}

/// `GET path` on `address`: the status code and body.
fn http_get(address: SocketAddr, path: &str) -> (u16, Vec<u8>) {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(address).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
    )
    .expect("request");
    let mut response = Vec::new();
    stream.read_to_end(&mut response).expect("response");
    let split = response
        .windows(4)
        .position(|window| window == b"\r\n\r\n")
        .expect("headers end");
    let head = String::from_utf8_lossy(&response[..split]).to_string();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .expect("status code");
    (status, response[split + 4..].to_vec())
}

fn check_served_snapshot(validator: &Validator, genesis: &ClusterGenesis) {
    use aether_cluster::SnapshotBundle;
    use aether_types::codec::decode_exact;

    let (status, latest) = http_get(validator.rpc_address, "/snapshot/latest");
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&latest));
    let slot: u64 = String::from_utf8_lossy(&latest)
        .trim()
        .parse()
        .expect("a slot");
    let (status, bundle) = http_get(
        validator.rpc_address,
        &format!("/snapshot/{slot}/bundle.bin"),
    );
    assert_eq!(status, 200);
    let bundle: SnapshotBundle = decode_exact(&bundle).expect("a bundle");
    let validators = std::sync::Arc::new(genesis.validator_set().expect("validator set"));
    let mut verifier = genesis.certificate_verifier(validators.clone());
    let schedule = genesis.leader_schedule(validators);
    let leaders = genesis.all_leader_public_keys();
    let verified = bundle
        .verify(&mut verifier, &schedule, &leaders, &genesis.genesis_hash())
        .expect("the served bundle proves its block final");
    assert_eq!(verified.root.block.round, slot);
    let (status, state) = http_get(
        validator.rpc_address,
        &format!("/snapshot/{slot}/state.snapshot"),
    );
    assert_eq!(status, 200);
    assert!(state.len() > 64, "a snapshot file");
    // Nothing else is served.
    assert_eq!(
        http_get(validator.rpc_address, "/snapshot/1/../../config.toml").0,
        404
    );
}

/// Slots past a validator's last final block that a peer's newest snapshot must be
/// for the validator to boot from it (`cluster.snapshot_catch_up_slots`).
const CATCH_UP_SLOTS: u64 = 20;

/// Step 4: validator `index` stays down until a peer's newest snapshot is more than
/// [`CATCH_UP_SLOTS`] past its last final block, restarts on its ledger with
/// `snapshot_from` set, moves its old ledger aside (all but its safety state and
/// evidence), boots from the snapshot and finalizes with the others.
fn boot_from_a_peers_snapshot(cluster: &mut Cluster, index: usize) {
    // The most advanced other validator serves the snapshot.
    let peer = cluster
        .validators
        .iter()
        .enumerate()
        .filter(|(other, validator)| *other != index && validator.child.is_some())
        .max_by_key(|(_, validator)| validator.finalized().unwrap_or(0))
        .map(|(_, validator)| validator.rpc_address)
        .expect("a live peer");
    let final_slot = cluster.validators[index]
        .finalized()
        .expect("its final slot");
    cluster.validators[index].kill();
    cluster.wait(
        "a peer's snapshot far past the stopped validator",
        Duration::from_secs(90),
        |_| {
            let (status, body) = http_get(peer, "/snapshot/latest");
            status == 200
                && String::from_utf8_lossy(&body)
                    .trim()
                    .parse::<u64>()
                    .is_ok_and(|slot| slot > final_slot + CATCH_UP_SLOTS + 5)
        },
    );
    let ledger = directory_of(cluster, index).join("ledger");
    let validator = &mut cluster.validators[index];
    let config = std::fs::read_to_string(&validator.config).expect("config");
    let config = config.replace(
        "snapshot_interval_slots = 10\n",
        &format!(
            "snapshot_interval_slots = 10\nsnapshot_from = \"http://{peer}\"\n\
             snapshot_catch_up_slots = {CATCH_UP_SLOTS}\n"
        ),
    );
    std::fs::write(&validator.config, config).expect("config");
    let target = cluster
        .live()
        .filter_map(Validator::finalized)
        .max()
        .unwrap_or(0);
    cluster.validators[index].start();
    cluster.wait(
        "the validator booted from a snapshot to catch up",
        Duration::from_secs(60),
        |cluster| cluster.validators[index].finalized().unwrap_or(0) > target,
    );
    let log = std::fs::read_to_string(&cluster.validators[index].log).unwrap_or_default();
    assert!(
        log.contains("far behind the peer's newest snapshot")
            && log.contains("booted from a peer's snapshot"),
        "it did not boot from the peer's snapshot:\n{}",
        cluster.validators[index].log_tail()
    );
    assert!(
        ledger.join("consensus-boot.bin").exists(),
        "the boot bundle is kept"
    );
    // The old ledger was moved aside whole; the safety state stayed in place.
    let superseded: Vec<PathBuf> = std::fs::read_dir(&ledger)
        .expect("ledger")
        .map(|entry| entry.expect("entry").path())
        .filter(|path| {
            path.file_name()
                .is_some_and(|name| name.to_string_lossy().starts_with("superseded-"))
        })
        .collect();
    assert_eq!(superseded.len(), 1, "one superseded ledger");
    assert!(superseded[0].join("accounts").is_dir());
    assert!(superseded[0].join("consensus-root.bin").exists());
    assert!(!superseded[0].join("consensus-safety.bin").exists());
    assert!(ledger.join("consensus-safety.bin").exists());
}

fn directory_of(cluster: &Cluster, index: usize) -> PathBuf {
    cluster.directory.join(format!("node-{index}"))
}
