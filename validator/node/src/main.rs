//! `aether-validator`: the Aether validator node.
//!
//! `aether-validator run --dev --ledger DIR` starts a single-node dev chain from the
//! embedded genesis (faucet funded); `aether-validator run --config FILE` starts from
//! a TOML configuration (`config/default.toml` documents every key;
//! `aether-validator default-config` prints it). `--snapshot FILE` boots an empty
//! ledger from a verified snapshot.

mod allocator;
mod catch_up;
mod cluster;
mod config;
mod faucet;
mod genesis;
mod http;
mod keys;
mod metrics_text;
mod node;
mod rpc;

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Result;
use clap::{Parser, Subcommand};

use crate::config::{DEFAULT_CONFIG, NodeConfig};

#[derive(Parser)]
#[command(
    name = "aether-validator",
    version,
    about = "The Aether validator node"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the node.
    Run {
        /// TOML configuration (keys not given take their documented defaults).
        #[arg(long)]
        config: Option<PathBuf>,
        /// Single-node dev chain: well-known dev keys, faucet enabled.
        #[arg(long)]
        dev: bool,
        /// Ledger directory (overrides node.ledger).
        #[arg(long)]
        ledger: Option<PathBuf>,
        /// Boot an empty ledger from this snapshot (verified before serving).
        #[arg(long)]
        snapshot: Option<PathBuf>,
        /// JSON-RPC address (overrides network.rpc).
        #[arg(long)]
        rpc: Option<SocketAddr>,
        /// TPU QUIC address (overrides network.tpu).
        #[arg(long)]
        tpu: Option<SocketAddr>,
        /// Metrics address (overrides network.metrics).
        #[arg(long)]
        metrics: Option<SocketAddr>,
        /// Slot length in milliseconds (overrides chain.slot_duration_ms).
        #[arg(long)]
        slot_ms: Option<u64>,
    },
    /// Print the documented default configuration.
    DefaultConfig,
}

fn main() -> Result<()> {
    allocator::keep_freed_memory();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    match Cli::parse().command {
        Command::DefaultConfig => {
            print!("{DEFAULT_CONFIG}");
            Ok(())
        }
        Command::Run {
            config,
            dev,
            ledger,
            snapshot,
            rpc,
            tpu,
            metrics,
            slot_ms,
        } => {
            let mut config = match &config {
                Some(path) => NodeConfig::load(path)?,
                None => NodeConfig::default_config(),
            };
            if let Some(ledger) = ledger {
                config.node.ledger = ledger;
            }
            if let Some(rpc) = rpc {
                config.network.rpc = rpc;
            }
            if let Some(tpu) = tpu {
                config.network.tpu = tpu;
            }
            if let Some(metrics) = metrics {
                config.network.metrics = metrics;
            }
            if let Some(slot_ms) = slot_ms {
                anyhow::ensure!(
                    (10..=60_000).contains(&slot_ms),
                    "--slot-ms must be between 10 and 60000"
                );
                config.chain.slot_duration_ms = slot_ms;
            }
            prefault_memory(config.node.prefault_memory_mib);
            node::run(node::RunOptions {
                config,
                dev,
                snapshot,
            })
        }
    }
}

/// Touches `mebibytes` of memory for the node's later allocations (see
/// [`allocator::prefault`]), at most half of what the machine has available now.
fn prefault_memory(mebibytes: usize) {
    if mebibytes == 0 {
        return;
    }
    let mut bytes = mebibytes << 20;
    if let Some(available) = allocator::available_memory_bytes() {
        let cap = usize::try_from(available / 2).unwrap_or(usize::MAX);
        if bytes > cap {
            tracing::warn!(
                asked_mib = mebibytes,
                available_mib = available >> 20,
                "node.prefault_memory_mib is more than half of the available memory; prefaulting {} MiB",
                cap >> 20
            );
            bytes = cap;
        }
    }
    tracing::info!(mib = bytes >> 20, "prefaulting memory");
    match allocator::prefault(bytes) {
        allocator::Prefault::Done { bytes, elapsed } => tracing::info!(
            mib = bytes >> 20,
            seconds = elapsed.as_secs_f64(),
            "memory prefaulted"
        ),
        allocator::Prefault::SkippedPurging { purge_delay_ms } => tracing::warn!(
            purge_delay_ms,
            "memory not prefaulted: MIMALLOC_PURGE_DELAY returns freed pages to the kernel"
        ),
    }
}
