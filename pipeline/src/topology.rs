//! The stage graph, declared in one place.
//!
//! ```text
//! link               producer    consumer    depth  when full
//! fetch_sigverify    fetch       sigverify   1024   drop (fed by the network)
//! sigverify_banking  sigverify   banking     1024   backpressure
//! banking_shred      banking     shred         64   backpressure
//! ```
//!
//! Depths count batches (up to 128 packets each, or one block on `banking_shred`).
//! RPC's `sendTransaction` also feeds `fetch_sigverify` through [`Pipeline::ingress`].

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use aether_accounts_db::AccountsDb;
use aether_blockstore::Blockstore;
use aether_crypto::ed25519::Ed25519SecretKey;
use aether_kernels::SigVerify;
use aether_ledger::Executor;
use thiserror::Error;

use crate::banking::{BANKING_DROP_REASONS, BankingConfig, BankingStage, SealedBlock, SlotClock};
use crate::chain::ChainState;
use crate::fetch::{FETCH_DROP_REASONS, FetchConfig, FetchError, FetchServer, start_fetch};
use crate::leader::LeaderKeys;
use crate::link::{Link, LinkStats, WhenFull};
use crate::metrics::StageMetrics;
use crate::packet::PacketBatch;
use crate::runner::{StageHandle, StageOptions, spawn_stage};
use crate::shred_stage::{LatencySink, SHRED_DROP_REASONS, ShredStage};
use crate::sigverify::{SIGVERIFY_DROP_REASONS, SigverifyStage, VerifiedBatch};

/// One row of the link table.
struct LinkSpec {
    name: &'static str,
    depth: usize,
    when_full: WhenFull,
}

/// The links, one row each. Depths count batches.
#[rustfmt::skip]
const FETCH_SIGVERIFY:   LinkSpec = LinkSpec { name: "fetch_sigverify",   depth: 1024, when_full: WhenFull::Drop }; // fed by the network: drop, never stall QUIC
#[rustfmt::skip]
const SIGVERIFY_BANKING: LinkSpec = LinkSpec { name: "sigverify_banking", depth: 1024, when_full: WhenFull::Backpressure };
#[rustfmt::skip]
const BANKING_SHRED:     LinkSpec = LinkSpec { name: "banking_shred",     depth: 64,   when_full: WhenFull::Backpressure }; // one sealed block per batch

impl LinkSpec {
    fn build<T>(&self) -> Link<T> {
        Link::new(self.name, self.depth, self.when_full)
    }
}

/// How the pipeline runs.
#[derive(Debug, Clone)]
pub struct PipelineConfig {
    /// The TPU server.
    pub fetch: FetchConfig,
    /// Mempool, execution and block limits.
    pub banking: BankingConfig,
    /// Slot length.
    pub slot_duration: Duration,
    /// Pin stage threads to cores (sigverify on core 1, banking and shred on core 0).
    pub pin_threads: bool,
    /// Shred version of the chain.
    pub shred_version: u16,
    /// Who produces blocks.
    pub production: BlockProduction,
}

/// Who turns verified transactions into sealed blocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockProduction {
    /// The banking stage: this node leads every slot and its blocks are final at once
    /// (the single-node dev chain).
    SingleLeader,
    /// Someone outside the pipeline (the consensus driver): it reads
    /// [`Pipeline::verified`] and writes committed blocks to [`Pipeline::sealed`]; no
    /// banking stage runs.
    External,
}

/// What the pipeline works with.
pub struct PipelineParts {
    /// Account state.
    pub accounts: Arc<RwLock<AccountsDb>>,
    /// Block storage.
    pub blockstore: Arc<Blockstore>,
    /// The leader's keys.
    pub keys: LeaderKeys,
    /// The signature-verification backend.
    pub sigverify: Arc<dyn SigVerify>,
    /// Execution workers.
    pub executor: Executor,
    /// Shared chain status.
    pub chain: Arc<ChainState>,
    /// Optional receiver of inclusion latencies.
    pub latencies: Option<Arc<dyn LatencySink>>,
}

/// The pipeline could not start.
#[derive(Debug, Error)]
pub enum PipelineError {
    /// The TPU server failed.
    #[error(transparent)]
    Fetch(#[from] FetchError),
    /// A thread or the async runtime could not start.
    #[error("cannot start {what}: {source}")]
    Spawn {
        /// What.
        what: &'static str,
        /// Cause.
        source: std::io::Error,
    },
}

/// A running pipeline.
pub struct Pipeline {
    shutdown: Arc<AtomicBool>,
    stages: Vec<StageHandle>,
    fetch: FetchServer,
    runtime: tokio::runtime::Runtime,
    ingress: Link<PacketBatch>,
    verified: Link<VerifiedBatch>,
    sealed: Link<SealedBlock>,
    metrics: Vec<Arc<StageMetrics>>,
}

impl Pipeline {
    /// Builds the links, starts every stage and the TPU server.
    pub fn start(config: PipelineConfig, parts: PipelineParts) -> Result<Pipeline, PipelineError> {
        let shutdown = Arc::new(AtomicBool::new(false));
        let fetch_sigverify: Link<PacketBatch> = FETCH_SIGVERIFY.build();
        let sigverify_banking: Link<VerifiedBatch> = SIGVERIFY_BANKING.build();
        let banking_shred: Link<SealedBlock> = BANKING_SHRED.build();

        let fetch_metrics = Arc::new(StageMetrics::new("fetch", FETCH_DROP_REASONS));
        let sigverify_metrics = Arc::new(StageMetrics::new("sigverify", SIGVERIFY_DROP_REASONS));
        let banking_metrics = Arc::new(StageMetrics::new("banking", BANKING_DROP_REASONS));
        let shred_metrics = Arc::new(StageMetrics::new("shred", SHRED_DROP_REASONS));

        let cores = std::thread::available_parallelism().map_or(1, |count| count.get());
        let core = |index: usize| config.pin_threads.then_some(index % cores);
        let options = |name: &str, core: Option<usize>| StageOptions {
            thread_name: format!("{name}:0"),
            core,
            housekeeping_interval: Duration::from_millis(2),
        };
        let spawn_error = |source| PipelineError::Spawn {
            what: "a stage thread",
            source,
        };

        let identity = Ed25519SecretKey::from_seed(&parts.keys.identity.seed());
        let clock = SlotClock::new(
            Instant::now(),
            parts
                .accounts
                .read()
                .expect("accounts lock")
                .last_finalized()
                .slot
                + 1,
            config.slot_duration,
        );
        let shred = spawn_stage(
            ShredStage::new(
                identity,
                config.shred_version,
                parts.blockstore,
                parts.chain.clone(),
                parts.latencies,
            ),
            banking_shred.clone(),
            None,
            shred_metrics.clone(),
            shutdown.clone(),
            options("shred", core(0)),
        )
        .map_err(spawn_error)?;
        let banking = match config.production {
            BlockProduction::SingleLeader => Some(
                spawn_stage(
                    BankingStage::new(
                        config.banking,
                        parts.executor,
                        parts.accounts,
                        parts.keys,
                        clock,
                        parts.chain,
                    ),
                    sigverify_banking.clone(),
                    Some(banking_shred.clone()),
                    banking_metrics.clone(),
                    shutdown.clone(),
                    options("banking", core(0)),
                )
                .map_err(spawn_error)?,
            ),
            BlockProduction::External => None,
        };
        let sigverify = spawn_stage(
            SigverifyStage::new(parts.sigverify),
            fetch_sigverify.clone(),
            Some(sigverify_banking.clone()),
            sigverify_metrics.clone(),
            shutdown.clone(),
            options("sigverify", core(1)),
        )
        .map_err(spawn_error)?;
        let stages = [Some(shred), banking, Some(sigverify)]
            .into_iter()
            .flatten()
            .collect();

        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("fetch:0")
            .enable_all()
            .build()
            .map_err(|source| PipelineError::Spawn {
                what: "the fetch runtime",
                source,
            })?;
        let fetch = {
            let _guard = runtime.enter();
            start_fetch(config.fetch, fetch_sigverify.clone(), fetch_metrics.clone())?
        };
        Ok(Pipeline {
            shutdown,
            stages,
            fetch,
            runtime,
            ingress: fetch_sigverify,
            verified: sigverify_banking,
            sealed: banking_shred,
            metrics: vec![
                fetch_metrics,
                sigverify_metrics,
                banking_metrics,
                shred_metrics,
            ],
        })
    }

    /// Where packets from outside the TPU (RPC) enter, as the fetch stage's output.
    pub fn ingress(&self) -> &Link<PacketBatch> {
        &self.ingress
    }

    /// Verified transactions (banking's input; the external producer's in
    /// [`BlockProduction::External`] mode).
    pub fn verified(&self) -> &Link<VerifiedBatch> {
        &self.verified
    }

    /// Blocks to shred and store, final once stored (banking's output; the external
    /// producer's in [`BlockProduction::External`] mode).
    pub fn sealed(&self) -> &Link<SealedBlock> {
        &self.sealed
    }

    /// The TPU's bound address.
    pub fn tpu_address(&self) -> std::io::Result<std::net::SocketAddr> {
        self.fetch.local_addr()
    }

    /// Every stage's metrics, in pipeline order.
    pub fn stage_metrics(&self) -> &[Arc<StageMetrics>] {
        &self.metrics
    }

    /// Every link's counters, in pipeline order.
    pub fn link_stats(&self) -> Vec<LinkStats> {
        vec![
            self.ingress.stats(),
            self.verified.stats(),
            self.sealed.stats(),
        ]
    }

    /// True while every stage thread is alive.
    pub fn is_healthy(&self) -> bool {
        self.stages.iter().all(StageHandle::is_running)
    }

    /// Stops the TPU, then every stage, and waits for them.
    pub fn stop(self) -> Result<(), String> {
        self.fetch.close();
        self.shutdown.store(true, Ordering::Relaxed);
        let mut result = Ok(());
        for stage in self.stages {
            if let Err(error) = stage.join() {
                result = Err(error);
            }
        }
        self.runtime.shutdown_timeout(Duration::from_secs(1));
        result
    }
}
