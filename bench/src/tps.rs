//! `aether-bench tps`: committed transactions per second of a dev node, end to end.
//!
//! 1. **Node**: starts `aether-validator run --dev` as a child process on free
//!    loopback ports with a fresh ledger (or targets `--rpc`/`--tpu` of a running
//!    dev node).
//! 2. **Funding** (not timed): one faucet airdrop per account, then rounds of split
//!    transactions (up to [`SPLIT_OUTPUTS`] outputs each) until every account holds
//!    enough independent outputs for its share of the transfers.
//! 3. **Pre-signing** (not timed): one transfer per output. With
//!    `--conflict-fraction F`, that fraction of transfers are *children* that spend
//!    their parent transfer's change output, sent right after the parent on the same
//!    connection: the scheduler must order the pair (a write-write conflict).
//! 4. **Baseline** (before the node runs, nothing else running): the same
//!    signature-verification backend verifies the same signatures in batches of the
//!    pipeline's size on all cores: `sigverify_baseline_per_s`.
//! 5. **Timed run**: transfers go out over `--connections` QUIC connections, one
//!    stream each (`--transport stream`, the default) or one QUIC datagram each
//!    (`--transport datagram`: cheaper for the sender and the node, but a datagram
//!    the node cannot take in time is lost, so run it below the node's capacity), at
//!    up to `--rate` per second with at most `--window` in flight; a
//!    watcher reads every new final block over RPC and records each transaction's
//!    inclusion. `tps` = committed / (last inclusion − first send); latency is send →
//!    seen final (includes the watcher's polling, ≤ 20 ms).
//!
//! Prints one JSON object with `--json` (fields are a contract): `tps`,
//! `sigverify_baseline_per_s`, `ratio` (= tps / baseline), `latency_ms_p50`,
//! `latency_ms_p99`, `submitted`, `committed`, `rejected`; plus, for the timed run
//! only (the difference of two scrapes of the node's metrics), `stage_busy_seconds`,
//! every non-zero drop counter (`drops`) and each stage's mean input batch size
//! (`mean_batch_packets`); when the bench started the node, the CPU seconds of each of
//! its threads by name (`node_cpu_seconds`, see [`crate::thread_cpu`]) and their sum
//! per committed transaction (`node_cpu_us_per_transaction`); the bench's own CPU
//! seconds in the timed run (`bench_cpu_seconds`: the sender shares the machine); and
//! `sending_s`, when the
//! last transfer went out (longer than `--duration`: the sender, not the node, was
//! short of `--rate`).

use std::collections::HashMap;
use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aether_client::{RpcClient, TransactionState, address_of};
use aether_crypto::ed25519::{Ed25519PublicKey, Ed25519SecretKey, Ed25519Signature, SignedMessage};
use aether_kernels::{BackendKind, VerifyItem, open_backend};
use aether_ledger::{LedgerParams, sign_transaction};
use aether_pipeline::fetch::TpuClient;
use aether_pipeline::packet::BATCH_PACKETS_MAX;
use aether_types::transaction::TRANSACTION_VERSION;
use aether_types::{
    Hash, Lock, Output, OutputReference, Transaction, TransactionBody, ValidityWindow, Value,
};
use anyhow::{Context, Result, bail, ensure};
use clap::Args;
use serde_json::json;

use crate::inclusions::{Inclusions, watch};

/// Outputs per split transaction (fits one packet with room to spare).
pub const SPLIT_OUTPUTS: usize = 20;
/// AETH in each output a transfer spends.
const LEAF_AETH: u64 = 10_000;
/// AETH each transfer pays its recipient.
const TRANSFER_AETH: u64 = 1_000;
/// Slots every pre-signed transaction stays valid.
const VALIDITY_SLOTS: u64 = 100_000;

/// Options of `aether-bench tps`.
#[derive(Args)]
pub struct TpsArguments {
    /// Seconds of sending at `--rate` (sets how many transfers are pre-signed).
    #[arg(long, default_value_t = 10)]
    duration: u64,
    /// Sending wallets.
    #[arg(long, default_value_t = 256)]
    accounts: usize,
    /// Fraction of transfers that spend their parent transfer's change (0..=0.5).
    #[arg(long, default_value_t = 0.0)]
    conflict_fraction: f64,
    /// Most transfers sent per second.
    #[arg(long, default_value_t = 10_000)]
    rate: u64,
    /// Most transfers in flight (sent, not yet seen final). In flight = TPS x latency,
    /// and latency includes waiting for the slot to end, so the window must cover
    /// about a second of throughput or the sender, not the node, sets the TPS.
    #[arg(long, default_value_t = 30_000)]
    window: u64,
    /// QUIC connections to the TPU.
    #[arg(long, default_value_t = 4)]
    connections: usize,
    /// How each transfer travels: its own QUIC stream, or a QUIC datagram.
    #[arg(long, value_enum, default_value_t = Transport::Stream)]
    transport: Transport,
    /// JSON-RPC URL of a running dev node (with --tpu); default: start one.
    #[arg(long, requires = "tpu")]
    rpc: Option<String>,
    /// TPU address of a running dev node (with --rpc).
    #[arg(long, requires = "rpc")]
    tpu: Option<SocketAddr>,
    /// The node binary to start (default: aether-validator next to this binary).
    #[arg(long)]
    validator: Option<PathBuf>,
    /// Slot length of the started node.
    #[arg(long, default_value_t = 500)]
    slot_ms: u64,
    /// Signature-verification backend for the baseline (and the started node).
    #[arg(long, default_value = "auto")]
    backend: BackendKind,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

/// How the bench sends each transfer to the TPU.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Transport {
    /// One unidirectional QUIC stream per transfer (flow controlled, reliable).
    Stream,
    /// One QUIC datagram per transfer (unreliable, no flow control).
    Datagram,
}

struct ChildNode {
    child: Child,
    _ledger: tempfile::TempDir,
}

impl Drop for ChildNode {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port_tcp() -> Result<SocketAddr> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?)
}

fn start_node(arguments: &TpsArguments) -> Result<(ChildNode, String, SocketAddr, SocketAddr)> {
    let binary = match &arguments.validator {
        Some(path) => path.clone(),
        None => std::env::current_exe()?.with_file_name("aether-validator"),
    };
    ensure!(
        binary.exists(),
        "{} not found: build it (cargo build --release -p aether-validator) or pass --validator",
        binary.display()
    );
    let ledger = tempfile::tempdir()?;
    let (rpc, metrics) = (free_port_tcp()?, free_port_tcp()?);
    let tpu = UdpSocket::bind("127.0.0.1:0")?.local_addr()?;
    let config = ledger.path().join("node.toml");
    std::fs::write(
        &config,
        format!("[sigverify]\nbackend = \"{}\"\n", arguments.backend),
    )?;
    let child = Command::new(&binary)
        .args(["run", "--dev", "--config"])
        .arg(&config)
        .arg("--ledger")
        .arg(ledger.path().join("ledger"))
        .args(["--rpc", &rpc.to_string(), "--tpu", &tpu.to_string()])
        .args([
            "--metrics",
            &metrics.to_string(),
            "--slot-ms",
            &arguments.slot_ms.to_string(),
        ])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .with_context(|| format!("starting {}", binary.display()))?;
    Ok((
        ChildNode {
            child,
            _ledger: ledger,
        },
        format!("http://{rpc}"),
        tpu,
        metrics,
    ))
}

fn wait_healthy(rpc: &RpcClient) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(60);
    while rpc.call("getHealth", json!([])).is_err() {
        ensure!(Instant::now() < deadline, "node not healthy after 60 s");
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(())
}

/// A spendable output known to the bench.
#[derive(Clone, Copy)]
struct Coin {
    reference: OutputReference,
    aeth: u64,
    owner: usize,
}

fn transaction(
    inputs: &[Coin],
    outputs: Vec<Output>,
    fee: u64,
    slot: u64,
    key: &Ed25519SecretKey,
) -> Transaction {
    let mut body = TransactionBody {
        version: TRANSACTION_VERSION,
        inputs: inputs.iter().map(|coin| coin.reference).collect(),
        reference_inputs: Vec::new(),
        outputs,
        state_reads: Vec::new(),
        state_writes: Vec::new(),
        fee,
        validity: ValidityWindow {
            first_slot: slot.saturating_sub(1),
            last_slot: slot + VALIDITY_SLOTS,
        },
        program_calls: Vec::new(),
    };
    body.sort_sets();
    sign_transaction(body, &[key])
}

/// Builds a transaction paying `amounts` (in order) to `owner`'s lock and the rest,
/// minus the exact minimum fee, as a last change output.
fn pay(
    coin: Coin,
    amounts: &[(Lock, u64)],
    change_lock: Lock,
    slot: u64,
    key: &Ed25519SecretKey,
) -> Result<Transaction> {
    let outputs = |change: u64| {
        let mut outputs: Vec<Output> = amounts
            .iter()
            .map(|(lock, aeth)| Output {
                lock: *lock,
                value: Value::from_aeth(*aeth),
                datum: None,
            })
            .collect();
        outputs.push(Output {
            lock: change_lock,
            value: Value::from_aeth(change),
            datum: None,
        });
        outputs
    };
    let draft = transaction(&[coin], outputs(1), 0, slot, key);
    let fee = LedgerParams::DEFAULT.minimum_fee(aether_types::Encode::encoded_len(&draft));
    let spent: u64 = amounts.iter().map(|(_, aeth)| aeth).sum::<u64>() + fee;
    ensure!(
        coin.aeth > spent,
        "output of {} cannot pay {spent}",
        coin.aeth
    );
    Ok(transaction(
        &[coin],
        outputs(coin.aeth - spent),
        fee,
        slot,
        key,
    ))
}

fn wait_all(rpc: &RpcClient, ids: &[Hash]) -> Result<()> {
    for id in ids {
        match rpc.wait_for(id, Duration::from_secs(60))? {
            TransactionState::Finalized { .. } => {}
            other => bail!("funding transaction {id} did not land: {other:?}"),
        }
    }
    Ok(())
}

/// Per leaf, what a coin carries beyond the leaf's value to pay the split fees on the
/// way down (a split pays at most ~1.1k for up to 20 outputs).
const SPLIT_FEE_PER_LEAF: u64 = 600;

/// Airdrops, then rounds of splits until every coin funds exactly one transfer.
///
/// A coin funding `n` leaves carries `n × (LEAF_AETH + SPLIT_FEE_PER_LEAF)`; a split
/// turns it into up to [`SPLIT_OUTPUTS`] coins funding `n / k` leaves each (the change
/// output is the first part and pays the fee).
fn fund(rpc: &RpcClient, keys: &[Ed25519SecretKey], per_account: usize) -> Result<Vec<Coin>> {
    let per_leaf = LEAF_AETH + SPLIT_FEE_PER_LEAF;
    let mut frontier: Vec<(Coin, usize)> = Vec::with_capacity(keys.len());
    let mut airdrop_ids = Vec::with_capacity(keys.len());
    for (owner, key) in keys.iter().enumerate() {
        let address = address_of(&key.public_key().0);
        let aeth = per_leaf * per_account as u64;
        let id = rpc.airdrop(&address, aeth)?;
        airdrop_ids.push(id);
        let reference = OutputReference {
            transaction_id: id,
            index: 0,
        };
        frontier.push((
            Coin {
                reference,
                aeth,
                owner,
            },
            per_account,
        ));
    }
    wait_all(rpc, &airdrop_ids)?;
    while frontier.iter().any(|(_, leaves)| *leaves > 1) {
        let slot = rpc.slot("finalized")?;
        let mut next = Vec::with_capacity(frontier.len() * SPLIT_OUTPUTS);
        let mut ids = Vec::new();
        for (coin, leaves) in frontier {
            if leaves == 1 {
                next.push((coin, 1));
                continue;
            }
            let key = &keys[coin.owner];
            let lock = Lock::for_public_key(&key.public_key().0);
            let parts = leaves.min(SPLIT_OUTPUTS);
            let sizes: Vec<usize> = (0..parts)
                .map(|part| leaves / parts + usize::from(part < leaves % parts))
                .collect();
            // Part 0 is the change output (last in the transaction); parts 1.. are paid.
            let amounts: Vec<(Lock, u64)> = sizes[1..]
                .iter()
                .map(|size| (lock, per_leaf * *size as u64))
                .collect();
            let split = pay(coin, &amounts, lock, slot, key)?;
            let id = split.transaction_id();
            rpc.send_transaction(&split)?;
            ids.push(id);
            for (index, output) in split.body.outputs.iter().enumerate() {
                let size = if index + 1 == split.body.outputs.len() {
                    sizes[0]
                } else {
                    sizes[index + 1]
                };
                let reference = OutputReference {
                    transaction_id: id,
                    index: index as u16,
                };
                next.push((
                    Coin {
                        reference,
                        aeth: output.value.aeth(),
                        owner: coin.owner,
                    },
                    size,
                ));
            }
        }
        wait_all(rpc, &ids)?;
        frontier = next;
    }
    Ok(frontier.into_iter().map(|(coin, _)| coin).collect())
}

/// Pre-signs one transfer per coin; with conflicts, a child spending the parent's
/// change follows its parent. Returns connection-ordered sends.
fn presign(
    coins: &[Coin],
    keys: &[Ed25519SecretKey],
    conflict_fraction: f64,
    slot: u64,
    connections: usize,
) -> Result<Vec<Vec<Transaction>>> {
    let mut lanes: Vec<Vec<Transaction>> = vec![Vec::new(); connections.max(1)];
    // Every n-th transfer gets a child: children / all = 1 / (n + 1) ≈ the fraction.
    let children_every = (conflict_fraction > 0.0).then(|| {
        ((1.0 / conflict_fraction).round() as usize)
            .saturating_sub(1)
            .max(1)
    });
    for (index, coin) in coins.iter().enumerate() {
        let key = &keys[coin.owner];
        let lock = Lock::for_public_key(&key.public_key().0);
        let recipient = Lock::for_public_key(&keys[(coin.owner + 1) % keys.len()].public_key().0);
        let lane = &mut lanes[index % connections.max(1)];
        let parent = pay(*coin, &[(recipient, TRANSFER_AETH)], lock, slot, key)?;
        if children_every.is_some_and(|every| index % every == 0) {
            let change = Coin {
                reference: OutputReference {
                    transaction_id: parent.transaction_id(),
                    index: 1,
                },
                aeth: parent.body.outputs[1].value.aeth(),
                owner: coin.owner,
            };
            let child = pay(change, &[(recipient, TRANSFER_AETH)], lock, slot, key)?;
            lane.push(parent);
            lane.push(child);
        } else {
            lane.push(parent);
        }
    }
    Ok(lanes)
}

/// Verifies every signature of `lanes` with `backend` in pipeline-sized batches.
fn sigverify_baseline(lanes: &[Vec<Transaction>], backend: BackendKind) -> Result<f64> {
    let verifier = open_backend(backend, 0)?;
    let owned: Vec<SignedMessage> = lanes
        .iter()
        .flatten()
        .map(|transaction| {
            let signature = transaction.signatures[0];
            SignedMessage {
                public_key: Ed25519PublicKey(signature.public_key),
                message: transaction.transaction_id().as_bytes().to_vec(),
                signature: Ed25519Signature(signature.signature),
            }
        })
        .collect();
    let items: Vec<VerifyItem<'_>> = owned.iter().map(SignedMessage::as_item).collect();
    let mut decisions = [false; BATCH_PACKETS_MAX];
    let started = Instant::now();
    for chunk in items.chunks(BATCH_PACKETS_MAX) {
        verifier.verify_batch(chunk, &mut decisions[..chunk.len()])?;
        ensure!(
            decisions[..chunk.len()].iter().all(|ok| *ok),
            "a pre-signed transfer failed to verify"
        );
    }
    Ok(items.len() as f64 / started.elapsed().as_secs_f64())
}

fn percentile(sorted: &[f64], fraction: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() - 1) as f64 * fraction).round() as usize]
}

/// Every `aether_*` sample of `/metrics` (name with labels -> value); empty when the
/// node cannot be reached.
fn scrape_metrics(metrics: SocketAddr) -> HashMap<String, f64> {
    use std::io::{Read, Write};
    let Ok(mut stream) = std::net::TcpStream::connect(metrics) else {
        return HashMap::new();
    };
    let _ = stream.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    let mut text = String::new();
    let _ = stream.read_to_string(&mut text);
    text.lines()
        .filter_map(|line| line.strip_prefix("aether_"))
        .filter_map(|sample| {
            let (name, value) = sample.rsplit_once(' ')?;
            Some((name.to_owned(), value.trim().parse().ok()?))
        })
        .collect()
}

/// What the stages did during the timed run, from two scrapes: each stage's busy
/// seconds, every non-zero drop counter, and each stage's mean input batch size
/// (packets in / batches).
fn stage_report(
    before: &HashMap<String, f64>,
    after: &HashMap<String, f64>,
) -> (serde_json::Value, serde_json::Value, serde_json::Value) {
    let delta = |name: &str| {
        after.get(name).copied().unwrap_or(0.0) - before.get(name).copied().unwrap_or(0.0)
    };
    let mut busy = serde_json::Map::new();
    let mut drops = serde_json::Map::new();
    let mut mean_batch = serde_json::Map::new();
    for name in after.keys() {
        if let Some(stage) = name.strip_suffix("_busy_seconds_total") {
            busy.insert(stage.to_owned(), json!((delta(name) * 1e3).round() / 1e3));
        } else if let Some(stage) = name.strip_suffix("_batches_total") {
            let batches = delta(name);
            if batches > 0.0 {
                let packets = delta(&format!("{stage}_packets_in_total"));
                mean_batch.insert(
                    stage.to_owned(),
                    json!((packets / batches * 10.0).round() / 10.0),
                );
            }
        } else if let Some((stage, labelled)) = name.split_once("_dropped_packets_total{reason=\"")
            && let Some(reason) = labelled.strip_suffix("\"}")
            && delta(name) > 0.0
        {
            drops.insert(format!("{stage}.{reason}"), json!(delta(name)));
        }
    }
    (
        serde_json::Value::Object(busy),
        serde_json::Value::Object(drops),
        serde_json::Value::Object(mean_batch),
    )
}

/// Runs the benchmark.
pub fn run(arguments: &TpsArguments) -> Result<()> {
    ensure!(arguments.accounts > 0, "--accounts must be positive");
    ensure!(
        (0.0..=0.5).contains(&arguments.conflict_fraction),
        "--conflict-fraction must be in 0..=0.5"
    );
    let total = (arguments.rate * arguments.duration).max(1) as usize;
    let per_account = total.div_ceil(arguments.accounts);
    let keys: Vec<Ed25519SecretKey> = (0..arguments.accounts)
        .map(|index| {
            let mut seed = [0u8; 32];
            seed[..8].copy_from_slice(&(index as u64 + 1).to_le_bytes());
            seed[8..16].copy_from_slice(b"benchtps");
            Ed25519SecretKey::from_seed(&seed)
        })
        .collect();
    let progress = |message: &str| {
        if !arguments.json {
            eprintln!("{message}");
        }
    };

    let (node, rpc_url, tpu, metrics) = match (&arguments.rpc, arguments.tpu) {
        (Some(rpc), Some(tpu)) => (None, rpc.clone(), tpu, None),
        _ => {
            let (node, rpc, tpu, metrics) = start_node(arguments)?;
            (Some(node), rpc, tpu, Some(metrics))
        }
    };
    let rpc = RpcClient::new(&rpc_url)?;
    wait_healthy(&rpc)?;
    progress(&format!(
        "funding {} accounts with {per_account} outputs each",
        arguments.accounts
    ));
    let coins = fund(&rpc, &keys, per_account)?;
    let slot = rpc.slot("finalized")?;
    let lanes = presign(
        &coins,
        &keys,
        arguments.conflict_fraction,
        slot,
        arguments.connections,
    )?;
    let submitted: usize = lanes.iter().map(Vec::len).sum();
    progress(&format!(
        "pre-signed {submitted} transfers; measuring the sigverify baseline"
    ));
    let baseline = sigverify_baseline(&lanes, arguments.backend)?;
    // Encoded and hashed before timing too: the sender's own work competes with the
    // node for this machine's cores.
    let lanes: Vec<Vec<(Hash, Vec<u8>)>> = lanes
        .into_iter()
        .map(|lane| {
            lane.iter()
                .map(|transaction| Ok((transaction.transaction_id(), transaction.to_wire()?)))
                .collect::<Result<_>>()
        })
        .collect::<Result<_>>()?;

    let inclusions = Arc::new(Inclusions::new(&lanes));
    let sending_done = Arc::new(AtomicUsize::new(0));
    let watcher = {
        let (inclusions, rpc, sending_done) =
            (inclusions.clone(), rpc.clone(), sending_done.clone());
        let start_slot = rpc.slot("finalized")? + 1;
        let lanes_count = lanes.len();
        std::thread::Builder::new()
            .name("watch".into())
            .spawn(move || {
                let quiet_since = Mutex::new(Instant::now());
                let last_committed = AtomicUsize::new(0);
                let stop = || {
                    let committed = inclusions.committed.load(Ordering::Relaxed);
                    if committed != last_committed.swap(committed, Ordering::Relaxed) {
                        *quiet_since.lock().expect("lock") = Instant::now();
                    }
                    let all_sent = sending_done.load(Ordering::Relaxed) == lanes_count;
                    all_sent
                        && (committed == submitted
                            || quiet_since.lock().expect("lock").elapsed()
                                > Duration::from_secs(15))
                };
                watch(&rpc, &inclusions, start_slot, &stop)
            })?
    };
    progress(&format!(
        "sending over {} QUIC connections",
        arguments.connections
    ));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    let rate_per_lane = (arguments.rate as f64 / lanes.len() as f64).max(1.0);
    let metrics_before = metrics.map(scrape_metrics).unwrap_or_default();
    let node_pid = node.as_ref().map(|node| node.child.id());
    let threads_before = node_pid.map(crate::thread_cpu::sample).unwrap_or_default();
    let bench_threads_before = crate::thread_cpu::sample(std::process::id());
    let started = Instant::now();
    // When the last lane sent its last transfer (a sender slower than `--rate` shows
    // here, not as a slow node).
    let last_send_nanos = Arc::new(AtomicU64::new(0));
    runtime.block_on(async {
        let mut tasks = Vec::new();
        // Transfer numbers run through the lanes in order (see `Inclusions::new`).
        let mut first_number = 0;
        for lane in lanes {
            let lane_first_number = first_number;
            first_number += lane.len();
            let (inclusions, sending_done) = (inclusions.clone(), sending_done.clone());
            let last_send_nanos = last_send_nanos.clone();
            let window = arguments.window;
            let transport = arguments.transport;
            tasks.push(tokio::spawn(async move {
                let client = TpuClient::connect(tpu).await.map_err(anyhow::Error::msg)?;
                let lane_started = tokio::time::Instant::now();
                for (index, (_, wire)) in lane.iter().enumerate() {
                    let due = lane_started + Duration::from_secs_f64(index as f64 / rate_per_lane);
                    tokio::time::sleep_until(due).await;
                    while inclusions.outstanding.load(Ordering::Relaxed) >= window {
                        tokio::time::sleep(Duration::from_millis(1)).await;
                    }
                    inclusions.record_send(lane_first_number + index);
                    match transport {
                        Transport::Stream => client.send(wire).await,
                        Transport::Datagram => client.send_datagram(wire).await,
                    }
                    .map_err(anyhow::Error::msg)?;
                }
                sending_done.fetch_add(1, Ordering::Relaxed);
                let sent = started.elapsed().as_nanos() as u64;
                last_send_nanos.fetch_max(sent, Ordering::Relaxed);
                // Keep the connection open until the node has read every stream.
                tokio::time::sleep(Duration::from_millis(500)).await;
                Ok::<(), anyhow::Error>(())
            }));
        }
        for task in tasks {
            task.await??;
        }
        Ok::<(), anyhow::Error>(())
    })?;
    let watched = watcher
        .join()
        .map_err(|_| anyhow::anyhow!("watcher panicked"))??;
    let committed = inclusions.committed.load(Ordering::Relaxed);
    // Sampled before the look-ups of missing transactions below, which are the
    // bench's work, not the pipeline's.
    let node_cpu_seconds = node_pid.map(|pid| {
        crate::thread_cpu::seconds_by_name(&threads_before, &crate::thread_cpu::sample(pid))
    });
    let bench_cpu_seconds: f64 = crate::thread_cpu::seconds_by_name(
        &bench_threads_before,
        &crate::thread_cpu::sample(std::process::id()),
    )
    .values()
    .sum();
    let elapsed = watched
        .last_inclusion
        .map_or(started.elapsed(), |last| last.duration_since(started));
    let mut rejected = 0;
    for id in &inclusions.missing() {
        if let TransactionState::Rejected { .. } = rpc.transaction_state(id)? {
            rejected += 1;
        }
    }
    let mut latencies = watched.latencies_ms;
    latencies.sort_by(f64::total_cmp);
    let tps = committed as f64 / elapsed.as_secs_f64().max(1e-9);
    let node_cpu_us_per_transaction = node_cpu_seconds.as_ref().map(|seconds| {
        let total: f64 = seconds.values().sum();
        (total / committed.max(1) as f64 * 1e7).round() / 10.0
    });
    let (busy, drops, mean_batch) = match metrics {
        Some(metrics) => stage_report(&metrics_before, &scrape_metrics(metrics)),
        None => (json!(null), json!(null), json!(null)),
    };
    drop(node);
    let report = json!({
        "tps": (tps * 10.0).round() / 10.0,
        "sigverify_baseline_per_s": baseline.round(),
        "ratio": ((tps / baseline) * 1000.0).round() / 1000.0,
        "latency_ms_p50": (percentile(&latencies, 0.50) * 10.0).round() / 10.0,
        "latency_ms_p99": (percentile(&latencies, 0.99) * 10.0).round() / 10.0,
        "submitted": submitted,
        "committed": committed,
        "rejected": rejected,
        "duration_s": (elapsed.as_secs_f64() * 1000.0).round() / 1000.0,
        "sending_s": (last_send_nanos.load(Ordering::Relaxed) as f64 / 1e6).round() / 1000.0,
        "accounts": arguments.accounts,
        "conflict_fraction": arguments.conflict_fraction,
        "connections": arguments.connections,
        "backend": arguments.backend.to_string(),
        "stage_busy_seconds": busy,
        "drops": drops,
        "mean_batch_packets": mean_batch,
        "node_cpu_seconds": node_cpu_seconds,
        "node_cpu_us_per_transaction": node_cpu_us_per_transaction,
        "bench_cpu_seconds": (bench_cpu_seconds * 1e3).round() / 1e3,
    });
    if arguments.json {
        println!("{report}");
    } else {
        println!("{}", serde_json::to_string_pretty(&report)?);
    }
    Ok(())
}
