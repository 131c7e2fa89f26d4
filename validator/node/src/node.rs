//! Start-up and shutdown of a node: ledger, keys, pipeline, RPC and metrics.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use aether_accounts_db::snapshot::{load_snapshot, read_snapshot_header};
use aether_accounts_db::{ACCOUNTS_DIRECTORY, AccountsDb, AccountsDbOptions};
use aether_blockstore::{Blockstore, BlockstoreOptions};
use aether_client::Wallet;
use aether_genesis::ClusterGenesis;
use aether_kernels::{BackendKind, SigVerify, open_backend};
use aether_ledger::{CreatedOutput, Executor, LedgerParams};
use aether_pipeline::banking::BankingConfig;
use aether_pipeline::chain::ChainState;
use aether_pipeline::fetch::FetchConfig;
use aether_pipeline::{BlockProduction, Pipeline, PipelineConfig, PipelineParts};
use anyhow::{Context, Result, anyhow};
use hyper::{Method, StatusCode};
use indicatif::{ProgressBar, ProgressStyle};

use crate::cluster::{ClusterNode, ClusterStart};
use crate::config::NodeConfig;
use crate::faucet::Faucet;
use crate::genesis;
use crate::http::{self, Handler};
use crate::keys::{dev_keys, load_keys, load_vote_key};
use crate::metrics_text;
use crate::rpc::{RpcContext, handle_body};

/// The blockstore's directory inside the ledger.
pub const BLOCKSTORE_DIRECTORY: &str = "blockstore";

/// A consensus loop older than this is reported as stuck.
const CONSENSUS_LOOP_STUCK: Duration = Duration::from_secs(10);

/// How `run` was asked to start.
pub struct RunOptions {
    /// The configuration.
    pub config: NodeConfig,
    /// Dev chain: well-known keys, faucet on.
    pub dev: bool,
    /// Boot from this snapshot into an empty ledger.
    pub snapshot: Option<PathBuf>,
}

pub(crate) fn load_snapshot_into(file: &Path, accounts_dir: &Path) -> Result<()> {
    let header = read_snapshot_header(file)?;
    tracing::info!(
        file = %file.display(),
        slot = header.slot,
        state_root = %header.state_root,
        "loading snapshot"
    );
    let bar = ProgressBar::new(header.entry_count);
    bar.set_style(
        ProgressStyle::with_template("loading snapshot [{bar:40}] {pos}/{len} entries ({eta})")
            .expect("valid template")
            .progress_chars("=> "),
    );
    load_snapshot(file, accounts_dir, &mut |done, _| bar.set_position(done))
        .with_context(|| format!("loading snapshot {}", file.display()))?;
    bar.finish_and_clear();
    Ok(())
}

/// Where a cluster validator may take a peer's snapshot (`cluster.snapshot_from`,
/// `cluster.snapshot_catch_up_slots`).
struct SnapshotSource<'a> {
    peer: &'a str,
    catch_up_slots: u64,
}

/// With a ledger that holds state: when `source`'s newest snapshot is far past this
/// node's last final block, the old ledger is moved aside and the node boots from the
/// snapshot; a boot that fails puts the old ledger back (the node then catches up by
/// fetching blocks).
fn catch_up_when_far_behind(
    ledger: &Path,
    accounts_dir: &Path,
    cluster: &ClusterGenesis,
    source: &SnapshotSource<'_>,
) -> Result<()> {
    let final_slot = aether_cluster::RootStore::new(ledger.join(crate::cluster::ROOT_FILE))
        .load()
        .context("reading the consensus root")?
        .map_or(0, |root| root.block.round);
    if crate::catch_up::far_behind(source.peer, final_slot, source.catch_up_slots).is_none() {
        return Ok(());
    }
    let aside = crate::catch_up::set_aside_ledger(ledger)?;
    if let Err(error) = crate::catch_up::boot_from_peer(source.peer, cluster, ledger, accounts_dir)
    {
        tracing::error!(
            peer = source.peer,
            error = %format!("{error:#}"),
            "booting from the peer's snapshot failed; putting the old ledger back"
        );
        crate::catch_up::put_back_ledger(ledger, &aside).with_context(|| {
            format!(
                "putting the old ledger back from {} (move its contents back by hand)",
                aside.display()
            )
        })?;
    }
    Ok(())
}

/// Opens the accounts-db, creating its state when empty: from a snapshot file, from a
/// cluster peer's snapshot (`cluster.snapshot_from`), or from genesis (the cluster's,
/// else the dev chain's). A cluster validator far behind its snapshot source boots
/// from the source's snapshot too. The index gets room for `index_keys_reserved` keys.
fn open_accounts(
    ledger: &Path,
    snapshot: Option<&Path>,
    cluster_genesis: Option<&ClusterGenesis>,
    snapshot_source: Option<&SnapshotSource<'_>>,
    index_keys_reserved: usize,
) -> Result<AccountsDb> {
    let accounts_dir = ledger.join(ACCOUNTS_DIRECTORY);
    let holds_state =
        std::fs::read_dir(&accounts_dir).is_ok_and(|mut entries| entries.next().is_some());
    if let (None, Some(cluster), Some(source), true) =
        (snapshot, cluster_genesis, snapshot_source, holds_state)
    {
        catch_up_when_far_behind(ledger, &accounts_dir, cluster, source)?;
    }
    let snapshot_from = snapshot_source.map(|source| source.peer);
    match (snapshot, cluster_genesis) {
        (Some(file), _) => load_snapshot_into(file, &accounts_dir)?,
        (None, Some(cluster))
            if snapshot_from.is_some()
                && std::fs::read_dir(&accounts_dir)
                    .map_or(true, |mut entries| entries.next().is_none()) =>
        {
            let peer = snapshot_from.expect("checked");
            crate::catch_up::boot_from_peer(peer, cluster, ledger, &accounts_dir)
                .with_context(|| format!("booting from {peer}'s snapshot"))?;
        }
        (None, Some(cluster)) => {
            let hash = cluster.genesis_hash();
            if genesis::import_if_empty(&accounts_dir, cluster.state_entries(), hash)? {
                tracing::info!(%hash, "initialised the ledger from the cluster genesis");
            }
        }
        (None, None) => {
            if genesis::initialize_if_empty(&accounts_dir)? {
                tracing::info!(hash = %genesis::genesis_hash(), "initialised the ledger from the dev genesis");
            }
        }
    }
    let mut accounts_options = AccountsDbOptions::default();
    accounts_options.storage.index_keys_reserved = index_keys_reserved;
    let (accounts, report) = AccountsDb::open(&accounts_dir, accounts_options)
        .with_context(|| format!("opening the account state in {}", accounts_dir.display()))?;
    tracing::info!(
        slot = report.last_finalized.slot,
        state_root = %report.last_finalized.state_root,
        keys = report.recovery.live_keys,
        write_path = ?report.recovery.write_path,
        tree_rebuild_ms = report.tree_rebuild.as_millis() as u64,
        "account state verified"
    );
    Ok(accounts)
}

/// Indexes every output of the last finalized state, streamed from storage (no copy of
/// state is held).
fn build_address_index(accounts: &AccountsDb, chain: &ChainState) -> Result<()> {
    let mut index = chain.addresses.write().expect("address index lock");
    for entry in accounts.storage().iter_live() {
        let (key, value) = entry.context("reading account state")?;
        if let Some(output) = CreatedOutput::from_state_value(key, &value) {
            index.insert(&output);
        }
    }
    Ok(())
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |count| count.get())
}

/// Execution workers when the config says 0: a quarter of the cores, at least one (one
/// executes on the banking thread itself). Executing a transfer costs about a tenth of
/// verifying its signature (about 2 µs against 20 µs of CPU on the reference 2-core
/// machine), so signature verification needs the other cores; below 8 cores a pool of
/// execution threads only adds hand-offs between threads.
fn automatic_execution_workers(cores: usize) -> usize {
    (cores / 4).max(1)
}

/// Runs the node until SIGINT/SIGTERM or a stage fails.
pub fn run(options: RunOptions) -> Result<()> {
    let config = options.config;
    let ledger = &config.node.ledger;
    std::fs::create_dir_all(ledger)
        .with_context(|| format!("creating ledger {}", ledger.display()))?;
    let cluster_genesis = match config.cluster.genesis_path() {
        Some(path) => Some(
            ClusterGenesis::load(&path)
                .with_context(|| format!("loading the cluster genesis {}", path.display()))?,
        ),
        None => None,
    };
    let accounts = open_accounts(
        ledger,
        options.snapshot.as_deref(),
        cluster_genesis.as_ref(),
        (!config.cluster.snapshot_from.is_empty())
            .then_some(SnapshotSource {
                peer: &config.cluster.snapshot_from,
                catch_up_slots: config.cluster.snapshot_catch_up_slots,
            })
            .as_ref(),
        config.accounts.index_keys_reserved,
    )?;
    let chain = Arc::new(ChainState::default());
    build_address_index(&accounts, &chain)?;
    let accounts = Arc::new(RwLock::new(accounts));
    let blockstore_dir = ledger.join(BLOCKSTORE_DIRECTORY);
    let blockstore = Arc::new(
        Blockstore::open(
            &blockstore_dir,
            BlockstoreOptions {
                limit_ledger_size: (config.blockstore.limit_ledger_size > 0)
                    .then_some(config.blockstore.limit_ledger_size),
                ..BlockstoreOptions::default()
            },
        )
        .with_context(|| format!("opening the blockstore in {}", blockstore_dir.display()))?,
    );
    let keys = if options.dev && cluster_genesis.is_none() {
        dev_keys()?
    } else {
        load_keys(&config.node.keys).with_context(|| {
            format!("loading validator keys from {}", config.node.keys.display())
        })?
    };
    // In cluster mode the consensus driver signs blocks; the pipeline gets its own copy
    // of the keys for the shred stage's FEC-set signatures.
    let cluster_keys = if cluster_genesis.is_some() {
        let vote_key = load_vote_key(&config.node.keys)
            .with_context(|| format!("loading the vote key from {}", config.node.keys.display()))?;
        (load_keys(&config.node.keys)?, Some((keys, vote_key)))
    } else {
        (keys, None)
    };
    let backend_kind: BackendKind = config
        .sigverify
        .backend
        .parse()
        .map_err(|error| anyhow!("sigverify.backend: {error}"))?;
    let sigverify: Arc<dyn SigVerify> =
        Arc::from(open_backend(backend_kind, config.sigverify.threads)?);
    tracing::info!(backend = sigverify.name(), "signature verification backend");
    let workers = match config.banking.execution_workers {
        0 => automatic_execution_workers(cores()),
        count => count,
    };
    let params = LedgerParams {
        fee_per_byte: config.chain.fee_per_byte,
    };
    let pipeline = Pipeline::start(
        PipelineConfig {
            fetch: FetchConfig {
                listen: config.network.tpu,
                connections_max: config.fetch.connections_max,
                streams_per_connection_max: config.fetch.streams_per_connection_max,
                transactions_per_second_per_connection: config
                    .fetch
                    .transactions_per_second_per_connection,
                socket_receive_buffer_bytes: config.fetch.socket_receive_buffer_bytes,
            },
            banking: BankingConfig {
                mempool_capacity: config.banking.mempool_capacity,
                execute_chunk: config.banking.execute_chunk,
                block_transactions_max: config.banking.block_transactions_max,
                params,
            },
            slot_duration: Duration::from_millis(config.chain.slot_duration_ms),
            pin_threads: config.pipeline.pin_threads,
            shred_version: config.chain.shred_version,
            production: if cluster_genesis.is_some() {
                BlockProduction::External
            } else {
                BlockProduction::SingleLeader
            },
        },
        PipelineParts {
            accounts: accounts.clone(),
            blockstore: blockstore.clone(),
            keys: cluster_keys.0,
            sigverify: sigverify.clone(),
            executor: Executor::new(workers)?,
            chain: chain.clone(),
            latencies: None,
        },
    )?;
    let cluster_node = match (&cluster_genesis, cluster_keys.1) {
        (Some(genesis), Some((keys, vote_key))) => Some(ClusterNode::start(ClusterStart {
            config: &config,
            genesis,
            keys,
            vote_key,
            accounts: accounts.clone(),
            pipeline: &pipeline,
            chain: chain.clone(),
            blockstore: blockstore.clone(),
            sigverify,
            workers,
            params,
        })?),
        _ => None,
    };
    let pipeline = Arc::new(pipeline);
    let peers = Arc::new(AtomicUsize::new(0));
    let consensus_status = cluster_node.as_ref().map(|node| {
        let counters = node.counters.clone();
        let peers = peers.clone();
        Arc::new(move || {
            let mut fields = serde_json::Map::new();
            fields.insert("peers".into(), peers.load(Ordering::Relaxed).into());
            fields.insert(
                "last_vote_round".into(),
                counters.last_vote_round.load(Ordering::Relaxed).into(),
            );
            fields.insert(
                "round".into(),
                counters.round.load(Ordering::Relaxed).into(),
            );
            let next_leader = counters.next_leader.load(Ordering::Relaxed);
            fields.insert(
                "next_leader".into(),
                (next_leader != u64::MAX)
                    .then_some(next_leader)
                    .map_or(serde_json::Value::Null, Into::into),
            );
            fields
        }) as Arc<dyn Fn() -> serde_json::Map<String, serde_json::Value> + Send + Sync>
    });
    let validators = match (&cluster_genesis, &cluster_node) {
        (Some(genesis), Some(node)) => {
            let counters = node.counters.clone();
            let listed: Vec<(String, String, u64)> = genesis
                .validators
                .iter()
                .map(|validator| {
                    (
                        validator.name.clone(),
                        hex::encode(validator.identity.0),
                        validator.stake,
                    )
                })
                .collect();
            Some(Arc::new(move || {
                let stats = counters.validators.lock().expect("stats lock").clone();
                serde_json::Value::Array(
                    listed
                        .iter()
                        .enumerate()
                        .map(|(index, (name, identity, stake))| {
                            let seen = stats.get(index).copied().unwrap_or_default();
                            serde_json::json!({
                                "name": name,
                                "identity": identity,
                                "stake": stake,
                                "last_vote_round": seen.last_vote_round,
                                "skipped_slots": seen.skipped_slots,
                            })
                        })
                        .collect(),
                )
            })
                as Arc<dyn Fn() -> serde_json::Value + Send + Sync>)
        }
        _ => None,
    };
    let faucet = match (cluster_genesis.is_some(), options.dev || config.node.faucet) {
        (_, false) => None,
        (false, true) => Some(Faucet::new(genesis::faucet_key())),
        (true, true) if config.node.faucet_keypair.is_empty() => {
            return Err(anyhow!(
                "node.faucet on a cluster validator needs node.faucet_keypair (the faucet \
                 wallet aetherctl cluster init wrote)"
            ));
        }
        (true, true) => {
            let path = Path::new(&config.node.faucet_keypair);
            let wallet = Wallet::load(path)
                .with_context(|| format!("loading the faucet wallet {}", path.display()))?;
            Some(Faucet::new(wallet.key))
        }
    };
    let link_pipeline = pipeline.clone();
    let metrics_accounts = accounts.clone();
    let context = Arc::new(RpcContext {
        chain: chain.clone(),
        accounts,
        blockstore,
        ingress: pipeline.ingress().clone(),
        params,
        shred_version: config.chain.shred_version,
        faucet,
        link_stats: Arc::new(move || link_pipeline.link_stats()),
        consensus_status,
        validators,
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("rpc")
        .enable_all()
        .build()
        .context("starting the RPC runtime")?;
    let stop = Arc::new(AtomicBool::new(false));
    runtime.block_on(async {
        let rpc_listener = http::bind(config.network.rpc, "JSON-RPC").await?;
        let metrics_listener = http::bind(config.network.metrics, "metrics").await?;
        let snapshot_directory = config.node.ledger.join(crate::cluster::SNAPSHOT_DIRECTORY);
        let serve_snapshots = cluster_node.is_some();
        let rpc_handler: Handler = Arc::new(move |method: &Method, path: &str, body: &[u8]| {
            if method == Method::GET && serve_snapshots && path.starts_with("/snapshot/") {
                return crate::cluster::serve_snapshot(&snapshot_directory, path);
            }
            if method != Method::POST {
                return (
                    StatusCode::METHOD_NOT_ALLOWED,
                    "text/plain",
                    b"JSON-RPC takes POST\n".to_vec(),
                );
            }
            match handle_body(&context, body) {
                Some(reply) => (StatusCode::OK, "application/json", reply.to_string().into_bytes()),
                None => (StatusCode::NO_CONTENT, "application/json", Vec::new()),
            }
        });
        let metrics_pipeline = pipeline.clone();
        let metrics_chain = chain.clone();
        let cluster_metrics = cluster_node.as_ref().map(ClusterNode::metrics_renderer);
        let metrics_handler: Handler = Arc::new(move |_method: &Method, path: &str, _body: &[u8]| {
            if path != "/metrics" {
                return (StatusCode::NOT_FOUND, "text/plain", b"try /metrics\n".to_vec());
            }
            let storage = metrics_accounts
                .read()
                .expect("accounts lock")
                .storage()
                .stats();
            let mut text = metrics_text::render(&metrics_pipeline, &metrics_chain, &storage);
            if let Some(render) = &cluster_metrics {
                render(&mut text);
            }
            (StatusCode::OK, "text/plain; version=0.0.4", text.into_bytes())
        });
        tokio::spawn(http::serve(rpc_listener, rpc_handler));
        tokio::spawn(http::serve(metrics_listener, metrics_handler));
        tracing::info!(
            tpu = %pipeline.tpu_address()?,
            rpc = %config.network.rpc,
            metrics = %config.network.metrics,
            // A cluster's slot length is its genesis's (`chain.slot_duration_ms` is the
            // dev chain's).
            slot_ms = cluster_genesis
                .as_ref()
                .map_or(config.chain.slot_duration_ms, |genesis| genesis.slot_ms),
            "node running"
        );
        let stop_signal = stop.clone();
        tokio::spawn(async move {
            let mut terminate =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = async { match terminate.as_mut() { Some(signal) => { signal.recv().await; } None => std::future::pending::<()>().await } } => {}
            }
            stop_signal.store(true, Ordering::Relaxed);
        });
        let started = Instant::now();
        let mut stuck_reported = false;
        while !stop.load(Ordering::Relaxed) {
            if let Some(node) = &cluster_node {
                peers.store(node.peer_count(), Ordering::Relaxed);
                // A loop that has not ended in seconds is a stuck consensus thread (a
                // lock or a full queue): said once, loudly, while the node still runs.
                let age = node.consensus_loop_age();
                if age > CONSENSUS_LOOP_STUCK && !stuck_reported {
                    tracing::error!(
                        seconds = age.as_secs(),
                        "the consensus thread has been in one loop for seconds: it is stuck"
                    );
                    stuck_reported = true;
                } else if age < CONSENSUS_LOOP_STUCK {
                    stuck_reported = false;
                }
                if !node.is_healthy() {
                    return Err(anyhow!(
                        "the consensus thread stopped after {:.1} s; see the log above",
                        started.elapsed().as_secs_f64()
                    ));
                }
            }
            if !pipeline.is_healthy() {
                return Err(anyhow!(
                    "a pipeline stage stopped after {:.1} s; see the log above",
                    started.elapsed().as_secs_f64()
                ));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Ok::<(), anyhow::Error>(())
    })?;
    tracing::info!("stopping");
    runtime.shutdown_timeout(Duration::from_secs(1));
    if let Some(node) = cluster_node {
        node.stop()?;
    }
    let pipeline =
        Arc::into_inner(pipeline).ok_or_else(|| anyhow!("pipeline still shared at shutdown"))?;
    pipeline.stop().map_err(|error| anyhow!(error))?;
    tracing::info!("stopped cleanly");
    Ok(())
}
