//! `aether-bench sigverify`: Ed25519 verification throughput of one backend.
//!
//! 1. Sign `--batch` messages (`--message-bytes` each, 64 signers) once.
//! 2. Open `--backend` (`cpu`, `wgpu`, `cuda`, `auto`) and verify the batch once as a
//!    warm-up and correctness check: every decision must be "valid", and a copy of the
//!    batch with one signature corrupted must be rejected at exactly that position.
//! 3. Verify the batch repeatedly for at least `--seconds`; report signatures per second
//!    of wall time (host hashing, transfers and the device included).
//!
//! With `--json`, prints one object: `{"backend", "batch", "verifies_per_s"}`.

use std::time::{Duration, Instant};

use aether_crypto::ed25519::{Ed25519SecretKey, SignedMessage, VerifyItem};
use aether_kernels::{BackendKind, open_backend};
use anyhow::{Context, Result, ensure};
use clap::Args;
use serde_json::json;

use crate::random::SplitMix64;

/// Options of `aether-bench sigverify`.
#[derive(Args)]
pub struct SigverifyArguments {
    /// Backend: cpu, wgpu, cuda or auto (the `sigverify.backend` config key's values).
    #[arg(long, default_value = "auto")]
    backend: BackendKind,
    /// Signatures per batch.
    #[arg(long, default_value_t = 8_192)]
    batch: usize,
    /// Bytes per signed message (a small transfer is about 200).
    #[arg(long, default_value_t = 200)]
    message_bytes: usize,
    /// Minimum measured time in seconds.
    #[arg(long, default_value_t = 2.0)]
    seconds: f64,
    /// CPU worker threads for the CPU backend and host-side hashing (0 = one per core).
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// Seed of the generated messages.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
}

/// Runs the benchmark.
pub fn run(arguments: &SigverifyArguments) -> Result<()> {
    ensure!(arguments.batch > 0, "--batch must be positive");
    ensure!(arguments.seconds > 0.0, "--seconds must be positive");
    let mut random = SplitMix64::new(arguments.seed);
    let keys: Vec<Ed25519SecretKey> = (0..64)
        .map(|_| Ed25519SecretKey::from_seed(&random.bytes32()))
        .collect();
    let signed: Vec<SignedMessage> = (0..arguments.batch)
        .map(|index| {
            let message: Vec<u8> = (0..arguments.message_bytes)
                .map(|_| random.next_u64() as u8)
                .collect();
            SignedMessage::sign(&keys[index % keys.len()], message)
        })
        .collect();
    let items: Vec<VerifyItem<'_>> = signed.iter().map(SignedMessage::as_item).collect();

    let backend = open_backend(arguments.backend, arguments.threads)
        .with_context(|| format!("opening the {} backend", arguments.backend))?;
    let mut decisions = vec![false; items.len()];
    backend.verify_batch(&items, &mut decisions)?;
    ensure!(
        decisions.iter().all(|valid| *valid),
        "the {} backend rejected a valid signature",
        backend.name()
    );
    let mut corrupted = signed[arguments.batch / 2].clone();
    corrupted.signature.0[0] ^= 1;
    let mut corrupted_items = items.clone();
    corrupted_items[arguments.batch / 2] = corrupted.as_item();
    backend.verify_batch(&corrupted_items, &mut decisions)?;
    ensure!(
        decisions
            .iter()
            .enumerate()
            .all(|(index, valid)| *valid == (index != arguments.batch / 2)),
        "the {} backend misjudged a batch with one corrupted signature",
        backend.name()
    );

    let minimum = Duration::from_secs_f64(arguments.seconds);
    let started = Instant::now();
    let mut verified = 0usize;
    while started.elapsed() < minimum {
        backend.verify_batch(&items, &mut decisions)?;
        verified += items.len();
    }
    let elapsed = started.elapsed().as_secs_f64();
    ensure!(decisions.iter().all(|valid| *valid), "decisions changed");
    let verifies_per_s = verified as f64 / elapsed;
    if arguments.json {
        println!(
            "{}",
            json!({
                "backend": backend.name(),
                "batch": arguments.batch,
                "verifies_per_s": verifies_per_s.round() as u64,
            })
        );
    } else {
        println!(
            "{}: batch {}: {:.0} verifies/s ({} batches in {:.2} s, {} fell back to cpu)",
            backend.name(),
            arguments.batch,
            verifies_per_s,
            verified / items.len(),
            elapsed,
            backend.fallback_batches()
        );
    }
    Ok(())
}
