//! `aether-bench accounts`: the accounts-db at scale.
//!
//! 1. Load `--keys` keys with `--value-bytes` values, in finalized blocks of
//!    `--load-block-keys`.
//! 2. Apply `--blocks` blocks of `--block-keys` updates (half overwrite existing keys,
//!    half create new ones), each as the executor would: `apply_block` (writes into the
//!    overlay, Merkle root of the new version), then `finalize` (durable commit, two
//!    fdatasyncs).
//! 3. Read `--reads` random existing keys at the last finalized block.
//!
//! Prints one JSON object with `--json`: `updates_per_s` (apply + finalize),
//! `root_us_per_key` (wall time of apply_block per updated key),
//! `commit_us_per_key` (finalize per key), `read_latency_us_p50` / `_p99`.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aether_accounts_db::{AccountsDb, AccountsDbOptions};
use aether_fork_overlay::Writes;
use aether_types::Hash;
use anyhow::{Context, Result, ensure};
use clap::Args;
use foldhash::HashMapExt;
use serde_json::json;

use crate::random::SplitMix64;

/// Options of `aether-bench accounts`.
#[derive(Args)]
pub struct AccountsArguments {
    /// Keys in the state before measuring.
    #[arg(long, default_value_t = 1_000_000)]
    keys: u64,
    /// Updated keys per measured block.
    #[arg(long, default_value_t = 10_000)]
    block_keys: u64,
    /// Measured blocks.
    #[arg(long, default_value_t = 20)]
    blocks: u64,
    /// Keys per block while loading.
    #[arg(long, default_value_t = 100_000)]
    load_block_keys: u64,
    /// Bytes per value (a UTxO is about 100).
    #[arg(long, default_value_t = 100)]
    value_bytes: usize,
    /// Random reads measured.
    #[arg(long, default_value_t = 100_000)]
    reads: u64,
    /// Directory for the store (default: a new temporary directory, removed after).
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Seed of the generated keys and values.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
}

/// Runs the benchmark.
pub fn run(arguments: &AccountsArguments) -> Result<()> {
    ensure!(
        arguments.keys > 0 && arguments.block_keys > 0,
        "--keys and --block-keys must be positive"
    );
    ensure!(
        arguments.load_block_keys > 0,
        "--load-block-keys must be positive"
    );
    let temporary = match &arguments.dir {
        Some(_) => None,
        None => Some(tempfile::tempdir().context("creating a temporary directory")?),
    };
    let dir = arguments.dir.clone().unwrap_or_else(|| {
        temporary
            .as_ref()
            .expect("temporary directory")
            .path()
            .to_path_buf()
    });
    let (mut accounts, report) = AccountsDb::open(&dir, AccountsDbOptions::default())
        .with_context(|| format!("opening the accounts-db in {}", dir.display()))?;
    ensure!(
        report.recovery.live_keys == 0,
        "{} is not empty; give an empty --dir",
        dir.display()
    );
    let write_path = format!("{:?}", report.recovery.write_path);

    let mut random = SplitMix64::new(arguments.seed);
    let mut keys: Vec<Hash> = Vec::with_capacity(usize::try_from(arguments.keys)?);
    let mut slot = 0u64;
    let mut tip = accounts.last_finalized().hash;
    let load_started = Instant::now();
    while (keys.len() as u64) < arguments.keys {
        let count = arguments
            .load_block_keys
            .min(arguments.keys - keys.len() as u64);
        let mut writes = Writes::with_capacity(count as usize);
        for _ in 0..count {
            let key = Hash(random.bytes32());
            writes.insert(key, Some(value(&mut random, arguments.value_bytes)));
            keys.push(key);
        }
        slot += 1;
        let hash = block_hash(slot);
        accounts.apply_block(tip, hash, slot, writes)?;
        accounts.finalize(&hash)?;
        tip = hash;
        if !arguments.json {
            eprintln!("loaded {} / {} keys", keys.len(), arguments.keys);
        }
    }
    let load_time = load_started.elapsed();

    let mut apply_time = Duration::ZERO;
    let mut finalize_time = Duration::ZERO;
    for _ in 0..arguments.blocks {
        let mut writes = Writes::with_capacity(arguments.block_keys as usize);
        while (writes.len() as u64) < arguments.block_keys {
            let key = if random.below(2) == 0 {
                keys[random.below(keys.len() as u64) as usize]
            } else {
                let key = Hash(random.bytes32());
                keys.push(key);
                key
            };
            writes.insert(key, Some(value(&mut random, arguments.value_bytes)));
        }
        slot += 1;
        let hash = block_hash(slot);
        let started = Instant::now();
        accounts.apply_block(tip, hash, slot, writes)?;
        apply_time += started.elapsed();
        let started = Instant::now();
        accounts.finalize(&hash)?;
        finalize_time += started.elapsed();
        tip = hash;
    }

    let mut latencies_ns: Vec<u64> = Vec::with_capacity(arguments.reads as usize);
    for _ in 0..arguments.reads {
        let key = keys[random.below(keys.len() as u64) as usize];
        let started = Instant::now();
        let found = accounts.get(&tip, &key)?;
        latencies_ns.push(started.elapsed().as_nanos() as u64);
        ensure!(found.is_some(), "key {key} written earlier is missing");
    }
    latencies_ns.sort_unstable();

    let updates = (arguments.blocks * arguments.block_keys) as f64;
    let measured = (apply_time + finalize_time).as_secs_f64();
    let result = json!({
        "benchmark": "accounts",
        "keys": arguments.keys,
        "block_keys": arguments.block_keys,
        "blocks": arguments.blocks,
        "value_bytes": arguments.value_bytes,
        "write_path": write_path,
        "load_s": load_time.as_secs_f64(),
        "updates_per_s": if measured > 0.0 { updates / measured } else { 0.0 },
        "root_us_per_key": apply_time.as_secs_f64() * 1e6 / updates.max(1.0),
        "commit_us_per_key": finalize_time.as_secs_f64() * 1e6 / updates.max(1.0),
        "read_latency_us_p50": percentile_us(&latencies_ns, 50),
        "read_latency_us_p99": percentile_us(&latencies_ns, 99),
        "reads": arguments.reads,
    });
    if arguments.json {
        println!("{result}");
    } else {
        println!("{}", serde_json::to_string_pretty(&result)?);
    }
    Ok(())
}

fn value(random: &mut SplitMix64, length: usize) -> Arc<[u8]> {
    let seed = random.next_u64().to_le_bytes();
    (0..length)
        .map(|index| seed[index % 8] ^ index as u8)
        .collect()
}

fn block_hash(slot: u64) -> Hash {
    let mut bytes = [0xbe; 32];
    bytes[..8].copy_from_slice(&slot.to_le_bytes());
    Hash(bytes)
}

fn percentile_us(sorted_ns: &[u64], percent: usize) -> f64 {
    if sorted_ns.is_empty() {
        return 0.0;
    }
    let index = ((sorted_ns.len() - 1) * percent) / 100;
    sorted_ns[index] as f64 / 1000.0
}
