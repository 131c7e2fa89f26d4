//! Cluster mode: this node is one validator of a cluster described by a genesis file.
//!
//! Start-up: the node's keys must belong to a genesis validator; the validator
//! endpoint (`aether-network`) binds `cluster.listen` and gossip learns the others from
//! `cluster.entrypoints`; the consensus driver (`aether-cluster`) runs on its own
//! thread, fed by the pipeline's verified transactions, and hands committed blocks to
//! the shred stage (stored, then final).

use std::num::{NonZeroU64, NonZeroUsize};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aether_accounts_db::{AccountsDb, GENESIS_PARENT};
use aether_blockstore::Blockstore;
use aether_cluster::{
    BlockBroadcast, CertificateStore, ClusterView, Driver, DriverError, DriverParts, EvidenceStore,
    EvidenceStoreError, PendingBlocks, RootStore, SafetyStore, ServiceCounters, ServiceParts,
    SnapshotBundle, SnapshotWriter, TurbineNode, VerifiedBundle, VrfLog,
};
use aether_consensus::{BlockMeta, ConsensusConfig, Core, TimeoutConfig};
use aether_crypto::bls::BlsSecretKey;
use aether_crypto::ed25519::Ed25519SecretKey;
use aether_genesis::ClusterGenesis;
use aether_kernels::SigVerify;
use aether_ledger::{Executor, LedgerParams};
use aether_network::{
    ContactInfo, EndpointConfig, GossipConfig, GossipService, Membership, NetworkEndpoint,
    start_gossip,
};
use aether_pipeline::Pipeline;
use aether_pipeline::chain::ChainState;
use aether_pipeline::leader::LeaderKeys;
use aether_pipeline::replay::Replayer;
use aether_types::ValidatorIndex;
use anyhow::{Context, Result, anyhow};

use crate::config::NodeConfig;

/// The file holding the consensus safety state, inside the ledger.
pub const SAFETY_STATE_FILE: &str = "consensus-safety.bin";
/// The file holding the last committed block and its QC, inside the ledger.
pub const ROOT_FILE: &str = "consensus-root.bin";
/// The snapshot bundle a validator booted from (in the ledger directory): the epoch
/// nonce and VRF outputs its blockstore cannot give.
pub const BOOT_FILE: &str = "consensus-boot.bin";

/// Checks `bundle` against the cluster `genesis` (validator set, leaders' keys, epochs,
/// genesis nonce and hash).
pub fn verify_bundle(genesis: &ClusterGenesis, bundle: &SnapshotBundle) -> Result<VerifiedBundle> {
    let validators = Arc::new(genesis.validator_set()?);
    Ok(bundle.verify(
        &mut genesis.certificate_verifier(validators.clone()),
        &genesis.leader_schedule(validators),
        &genesis.all_leader_public_keys(),
        &genesis.genesis_hash(),
    )?)
}

/// The bundle this validator booted from, checked again (`None`: it started from the
/// genesis).
fn load_boot_bundle(ledger: &Path, genesis: &ClusterGenesis) -> Result<Option<VerifiedBundle>> {
    let path = ledger.join(BOOT_FILE);
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(error).with_context(|| format!("reading {}", path.display())),
    };
    let bundle: SnapshotBundle = aether_types::codec::decode_exact(&bytes)
        .with_context(|| format!("{} does not decode", path.display()))?;
    verify_bundle(genesis, &bundle)
        .map(Some)
        .with_context(|| format!("{} does not verify", path.display()))
}

/// The high QC and the current round's TC (in the ledger directory): where a restart
/// resumes.
pub const CERTIFICATES_FILE: &str = "consensus-certificates.bin";

/// Blocks above the root accepted or built here (in the ledger directory).
pub const PENDING_BLOCKS_DIRECTORY: &str = "consensus-blocks";

/// The VRF outputs of final blocks (in the ledger directory): the epoch nonces' inputs.
pub const VRF_LOG_FILE: &str = "consensus-vrf.log";

/// Where snapshots for peers are written (in the ledger directory).
pub const SNAPSHOT_DIRECTORY: &str = "snapshots";

/// Serves `GET /snapshot/latest` (the newest snapshot's slot) and
/// `GET /snapshot/<slot>/<state.snapshot|bundle.bin>` from `directory` (nothing else is
/// ever read: the slot must be a number and the file one of the two names).
pub fn serve_snapshot(directory: &Path, path: &str) -> crate::http::Reply {
    use hyper::StatusCode;
    let not_found = || {
        (
            StatusCode::NOT_FOUND,
            "text/plain",
            b"no such snapshot (try /snapshot/latest)\n".to_vec(),
        )
    };
    let rest = path.trim_start_matches("/snapshot/");
    if rest == "latest" {
        return match aether_cluster::snapshot_writer::latest_slot(directory) {
            Some(slot) => (
                StatusCode::OK,
                "text/plain",
                format!("{slot}\n").into_bytes(),
            ),
            None => not_found(),
        };
    }
    let Some((slot, name)) = rest.split_once('/') else {
        return not_found();
    };
    let Ok(slot) = slot.parse::<u64>() else {
        return not_found();
    };
    match aether_cluster::snapshot_writer::read_snapshot_file(directory, slot, name) {
        Some(bytes) => (StatusCode::OK, "application/octet-stream", bytes),
        None => not_found(),
    }
}

/// Equivocation evidence, kept for slashing (in the ledger directory).
pub const EVIDENCE_FILE: &str = "consensus-evidence.log";

/// The running cluster parts of a node.
pub struct ClusterNode {
    runtime: tokio::runtime::Runtime,
    endpoint: NetworkEndpoint,
    gossip: GossipService,
    service: Option<JoinHandle<Result<(), DriverError>>>,
    shutdown: Arc<AtomicBool>,
    /// The driver's counters (for `/metrics` and `getStatus`).
    pub counters: Arc<ServiceCounters>,
}

/// Everything cluster start-up needs from the node.
pub struct ClusterStart<'a> {
    /// The configuration.
    pub config: &'a NodeConfig,
    /// The loaded genesis.
    pub genesis: &'a ClusterGenesis,
    /// This validator's block keys.
    pub keys: LeaderKeys,
    /// Its BLS vote key.
    pub vote_key: BlsSecretKey,
    /// Shared account state.
    pub accounts: Arc<RwLock<AccountsDb>>,
    /// The running pipeline (in external block production mode).
    pub pipeline: &'a Pipeline,
    /// What RPC reads.
    pub chain: Arc<ChainState>,
    /// The blockstore (final blocks for peers catching up).
    pub blockstore: Arc<Blockstore>,
    /// Signature verification for replay.
    pub sigverify: Arc<dyn SigVerify>,
    /// Execution workers.
    pub workers: usize,
    /// Ledger parameters.
    pub params: LedgerParams,
}

impl ClusterNode {
    /// Starts networking, gossip and the consensus driver.
    pub fn start(start: ClusterStart<'_>) -> Result<ClusterNode> {
        let config = start.config;
        let genesis = start.genesis;
        if config.cluster.listen.ip().is_unspecified() {
            return Err(anyhow!(
                "cluster.listen {} is advertised to peers through gossip: give the address \
                 they reach this node at, not an unspecified one",
                config.cluster.listen
            ));
        }
        let identity_public = start.keys.identity.public_key();
        let me = genesis
            .validators
            .iter()
            .position(|validator| validator.identity == identity_public)
            .ok_or_else(|| {
                anyhow!(
                    "the identity in {} is not a validator of the cluster genesis",
                    config.node.keys.display()
                )
            })?;
        let me = ValidatorIndex(me as u32);
        let validators = Arc::new(genesis.validator_set()?);
        let leaders = genesis.all_leader_public_keys();
        let mut schedule = genesis.leader_schedule(validators);
        let boot = load_boot_bundle(&config.node.ledger, genesis)?;
        if let Some(boot) = &boot {
            schedule.add_epoch_nonce(boot.epoch, boot.epoch_nonce);
        }
        let genesis_meta = BlockMeta {
            hash: genesis.genesis_hash(),
            round: 0,
            parent_hash: GENESIS_PARENT,
            parent_round: 0,
            proposer: ValidatorIndex(0),
        };
        let last_finalized = start
            .accounts
            .read()
            .expect("accounts lock")
            .last_finalized();
        let pending_blocks = PendingBlocks::open(config.node.ledger.join(PENDING_BLOCKS_DIRECTORY))
            .context("opening the pending-block directory")?;
        // Final blocks the shred stage had not stored when the node stopped: still kept
        // (pruning waits for the blockstore), stored first thing.
        // (Empty when the blockstore is not behind: nothing above it is final.)
        let stored = start.blockstore.newest_finalized_slot();
        let unstored_final_blocks =
            pending_blocks.final_chain(&last_finalized.hash, stored.unwrap_or(0));
        // Complete when its oldest block's parent is the newest stored one (an empty
        // blockstore, e.g. after a snapshot boot, has nothing to join).
        if let Some(stored) = stored
            && stored < last_finalized.slot
            && unstored_final_blocks
                .first()
                .map(|block| block.header.header.parent_slot)
                != Some(stored)
        {
            tracing::warn!(
                stored,
                last_final = last_finalized.slot,
                recovered = unstored_final_blocks.len(),
                "some final blocks are in neither the blockstore nor the kept blocks; \
                 peers still serve them"
            );
        }
        let roots = RootStore::new(config.node.ledger.join(ROOT_FILE));
        let root = roots
            .load_matching(&last_finalized.hash)
            .context("loading the last committed root")?;
        let root = match root {
            _ if last_finalized.hash == genesis_meta.hash => None,
            Some(root) => Some(root),
            None => {
                return Err(anyhow!(
                    "the ledger's last final block (slot {}) has no matching {ROOT_FILE} \
                     record (the file was lost or replaced); remove {} to catch up from \
                     peers",
                    last_finalized.slot,
                    config.node.ledger.display()
                ));
            }
        };
        if let Some(root) = &root {
            tracing::info!(slot = root.block.round, hash = %root.block.hash, "resuming consensus");
        }
        start.chain.set_processed(last_finalized.slot);
        start.chain.set_finalized(last_finalized.slot, 0);
        let resuming = root.is_some();
        let (vrf_log, logged_nonces) = VrfLog::open(config.node.ledger.join(VRF_LOG_FILE))
            .context("opening the VRF output and epoch nonce log")?;
        if resuming {
            // The nonces of epochs after genesis chain from final blocks' VRF outputs:
            // the log has the newest nonces and the outputs the next ones need (also
            // those of final blocks the blockstore had not stored when the node
            // stopped); the blockstore adds what a log from before nonces were logged
            // lacks.
            let epochs = schedule.epochs();
            let final_epoch = epochs.epoch_of(last_finalized.slot);
            let from = epochs.first_slot(final_epoch.saturating_sub(2));
            let mut stored_outputs = aether_cluster::block_source::final_vrf_outputs(
                &start.blockstore,
                from..=last_finalized.slot,
                &identity_public,
            );
            // Booted from a snapshot: the blocks before it are in neither.
            if let Some(boot) = &boot {
                stored_outputs.extend(boot.vrf_outputs.iter().copied());
            }
            logged_nonces.resume(
                &mut schedule,
                stored_outputs,
                boot.as_ref().map(|boot| boot.epoch),
                last_finalized.slot,
            );
        }
        let safety = SafetyStore::new(config.node.ledger.join(SAFETY_STATE_FILE));
        let core = Core::new(
            ConsensusConfig {
                // 2 s rounds at 500 ms slots, backing off by half up to 8 s: with one
                // of four validators down, a stretch of its rounds costs seconds,
                // never minutes, while 8 s stays far above a block's replay time. A
                // leader that missed its last round gets half (1 s: two slots).
                timeouts: TimeoutConfig {
                    base_ms: (4 * genesis.slot_ms).max(1_000),
                    multiplier_percent: 150,
                    max_ms: 4 * (4 * genesis.slot_ms).max(1_000),
                    unresponsive_leader_percent: 50,
                },
                ..ConsensusConfig::default()
            },
            schedule,
            me,
            start.vote_key,
            safety
                .load()
                .context("loading the consensus safety state")?,
            genesis_meta,
            root,
        );
        let evidence_path = config.node.ledger.join(EVIDENCE_FILE);
        let (evidence, recorded) = match EvidenceStore::open(&evidence_path) {
            Ok(opened) => opened,
            // Evidence serves slashing, not safety: a damaged file is kept aside for the
            // operator and a fresh one started, rather than keeping the node down.
            Err(EvidenceStoreError::Damaged { offset, .. }) => {
                let aside = evidence_path.with_extension("log.damaged");
                std::fs::rename(&evidence_path, &aside).with_context(|| {
                    format!("moving the damaged evidence file to {}", aside.display())
                })?;
                tracing::error!(
                    offset,
                    kept = %aside.display(),
                    "the evidence file is damaged: kept aside, starting a new one"
                );
                EvidenceStore::open(&evidence_path)
                    .context("opening a new equivocation evidence file")?
            }
            Err(error) => return Err(error).context("opening the equivocation evidence file"),
        };
        if evidence.torn_bytes > 0 {
            tracing::warn!(
                bytes = evidence.torn_bytes,
                "cut a torn record off the end of the evidence file"
            );
        }
        if !recorded.is_empty() {
            tracing::info!(offences = recorded.len(), "equivocation evidence on file");
        }
        let kes_slots_per_period = NonZeroU64::new(genesis.kes_slots_per_period)
            .context("the genesis kes_slots_per_period must be positive")?;
        let driver = Driver::new(DriverParts {
            me,
            core,
            cluster: ClusterView {
                leaders,
                kes_slots_per_period,
            },
            keys: start.keys,
            accounts: start.accounts,
            replayer: Replayer::new(start.sigverify, Executor::new(start.workers)?, start.params)
                .with_kes_slots_per_period(kes_slots_per_period),
            builder: Executor::new(start.workers)?,
            params: start.params,
            safety,
        })
        .with_block_interval_ms(genesis.slot_ms)
        .with_root_store(roots)
        .with_evidence_store(evidence)
        .with_vrf_log(vrf_log)
        .with_certificate_store(CertificateStore::new(
            config.node.ledger.join(CERTIFICATES_FILE),
        ))
        .with_pending_blocks(pending_blocks.clone())
        .with_kes_key_saver({
            let keys_directory = config.node.keys.clone();
            Box::new(move |kes| {
                crate::keys::save_evolved_kes_key(&keys_directory, kes)
                    .map_err(|error| format!("{error:#}"))
            })
        });

        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("net:0")
            .enable_all()
            .build()
            .context("starting the validator network runtime")?;
        let identity = Arc::new(Ed25519SecretKey::from_seed(&driver_identity_seed(
            &config.node.keys,
        )?));
        let identities: Vec<_> = genesis
            .validators
            .iter()
            .map(|validator| validator.identity)
            .collect();
        let membership = Arc::new(Membership::new(identities.clone()));
        let turbine_nodes: Vec<TurbineNode> = genesis
            .validators
            .iter()
            .map(|validator| TurbineNode {
                identity: validator.identity,
                stake: validator.stake,
            })
            .collect();
        let broadcast = BlockBroadcast::new(
            identity.clone(),
            &turbine_nodes,
            NonZeroUsize::new(config.cluster.turbine_fanout)
                .context("cluster.turbine_fanout must be at least 1")?,
            config.chain.shred_version,
        )
        .context("building the Turbine trees from the genesis validators")?;
        let (endpoint, receivers, gossip) = {
            let _guard = runtime.enter();
            let (endpoint, receivers) = NetworkEndpoint::bind(
                config.cluster.listen,
                identity.clone(),
                membership,
                // A block's shreds leave in a burst (a 5 MB block is about 12,000
                // shreds over the trees' roots): room for a few such bursts per peer.
                EndpointConfig {
                    inbound_queue_capacity: 65_536,
                    outbound_queue_capacity: 16_384,
                    ..EndpointConfig::default()
                },
            )
            .with_context(|| format!("binding cluster.listen {}", config.cluster.listen))?;
            let own = ContactInfo {
                identity: identity.public_key(),
                gossip_address: endpoint.local_addr()?,
                tpu_address: start.pipeline.tpu_address()?,
                rpc_address: config.network.rpc,
                shred_version: config.chain.shred_version,
                wallclock_ms: SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map_or(0, |elapsed| elapsed.as_millis() as u64),
            };
            let gossip = start_gossip(
                endpoint.clone(),
                receivers.gossip,
                &identity,
                own,
                config.cluster.entrypoints.clone(),
                GossipConfig::default(),
            )?;
            (endpoint, receivers.messages, gossip)
        };
        let shutdown = Arc::new(AtomicBool::new(false));
        let counters = Arc::new(ServiceCounters::default());
        let service = aether_cluster::spawn(ServiceParts {
            driver,
            endpoint: endpoint.clone(),
            inbound: receivers,
            runtime: runtime.handle().clone(),
            identities,
            verified: start.pipeline.verified().clone(),
            ingress: start.pipeline.ingress().clone(),
            sealed: start.pipeline.sealed().clone(),
            chain: start.chain,
            blockstore: start.blockstore,
            shred_signer: identity.public_key(),
            broadcast,
            snapshots: (config.cluster.snapshot_interval_slots > 0).then(|| {
                SnapshotWriter::new(
                    config.node.ledger.join(SNAPSHOT_DIRECTORY),
                    config.cluster.snapshot_interval_slots,
                )
            }),
            genesis_hash: genesis.genesis_hash(),
            unstored_final_blocks,
            shutdown: shutdown.clone(),
            counters: counters.clone(),
        })
        .context("starting the consensus thread")?;
        tracing::info!(
            validator = me.0,
            listen = %config.cluster.listen,
            entrypoints = ?config.cluster.entrypoints,
            "cluster validator running"
        );
        Ok(ClusterNode {
            runtime,
            endpoint,
            gossip,
            service: Some(service),
            shutdown,
            counters,
        })
    }

    /// A renderer of the consensus and validator-network metrics, for `/metrics`.
    pub fn metrics_renderer(&self) -> Arc<dyn Fn(&mut String) + Send + Sync> {
        let counters = self.counters.clone();
        let network = self.endpoint.metrics().clone();
        Arc::new(move |out: &mut String| {
            counters.render(out);
            network.render(out);
        })
    }

    /// Peers known through gossip (this node excluded).
    pub fn peer_count(&self) -> usize {
        self.gossip.len().saturating_sub(1)
    }

    /// How long ago the consensus thread began its current loop (a loop takes
    /// milliseconds; seconds mean it is stuck).
    pub fn consensus_loop_age(&self) -> Duration {
        let started = self.counters.loop_started_unix_ms.load(Ordering::Relaxed);
        if started == 0 {
            return Duration::ZERO; // Still starting (replaying kept blocks).
        }
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_millis() as u64);
        Duration::from_millis(now.saturating_sub(started))
    }

    /// True while the consensus thread runs.
    pub fn is_healthy(&self) -> bool {
        self.service
            .as_ref()
            .is_some_and(|service| !service.is_finished())
    }

    /// Stops the consensus thread, gossip and the endpoint.
    pub fn stop(mut self) -> Result<()> {
        self.shutdown.store(true, Ordering::Relaxed);
        let result = match self.service.take() {
            Some(service) => service
                .join()
                .map_err(|_| anyhow!("the consensus thread panicked"))?
                .map_err(anyhow::Error::from),
            None => Ok(()),
        };
        self.gossip.stop();
        self.endpoint.close();
        self.runtime.shutdown_timeout(Duration::from_secs(1));
        result
    }
}

/// The identity seed from the key directory (the endpoint needs its own copy).
fn driver_identity_seed(directory: &Path) -> Result<[u8; 32]> {
    let keys = crate::keys::load_keys(directory)?;
    Ok(*keys.identity.seed())
}
