//! A self-contained throughput probe for the device bundle: `aether-bench sigverify`'s
//! measurement without the rest of aether-bench's dependency tree (the GPU machine has
//! no Rust toolchain, so its executables are built here, and this one builds in a
//! fraction of the time).
//!
//! `sigverify_bench --backend cuda --batch 65536 [--seconds 3] [--json]` prints
//! `{"backend", "batch", "verifies_per_s"}` like `aether-bench sigverify --json`.

use std::time::{Duration, Instant};

use aether_crypto::ed25519::{Ed25519SecretKey, SignedMessage, VerifyItem};
use aether_kernels::{BackendKind, open_backend};

fn main() {
    if let Err(message) = run() {
        eprintln!("error: {message}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), String> {
    let mut backend_kind = BackendKind::Auto;
    let mut batch = 8_192usize;
    let mut seconds = 2.0f64;
    let mut json = false;
    let mut arguments = std::env::args().skip(1);
    while let Some(flag) = arguments.next() {
        let mut value = || arguments.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--backend" => backend_kind = value()?.parse().map_err(|error| format!("{error}"))?,
            "--batch" => {
                batch = value()?
                    .parse()
                    .map_err(|error| format!("--batch: {error}"))?
            }
            "--seconds" => {
                seconds = value()?
                    .parse()
                    .map_err(|error| format!("--seconds: {error}"))?
            }
            "--json" => json = true,
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if batch == 0 {
        return Err("--batch must be positive".into());
    }
    let keys: Vec<Ed25519SecretKey> = (0..64u8)
        .map(|index| Ed25519SecretKey::from_seed(&[index; 32]))
        .collect();
    let signed: Vec<SignedMessage> = (0..batch)
        .map(|index| {
            let message: Vec<u8> = (0..200).map(|byte| (byte * 7 + index) as u8).collect();
            SignedMessage::sign(&keys[index % keys.len()], message)
        })
        .collect();
    let items: Vec<VerifyItem<'_>> = signed.iter().map(SignedMessage::as_item).collect();
    let backend = open_backend(backend_kind, 0).map_err(|error| format!("{error}"))?;
    let mut decisions = vec![false; batch];
    backend
        .verify_batch(&items, &mut decisions)
        .map_err(|error| format!("{error}"))?;
    if !decisions.iter().all(|valid| *valid) {
        return Err(format!("{} rejected a valid signature", backend.name()));
    }
    let mut corrupted = signed[batch / 2].clone();
    corrupted.signature.0[0] ^= 1;
    let mut corrupted_items = items.clone();
    corrupted_items[batch / 2] = corrupted.as_item();
    backend
        .verify_batch(&corrupted_items, &mut decisions)
        .map_err(|error| format!("{error}"))?;
    if decisions
        .iter()
        .enumerate()
        .any(|(index, valid)| *valid == (index == batch / 2))
    {
        return Err(format!(
            "{} misjudged a corrupted signature",
            backend.name()
        ));
    }
    let started = Instant::now();
    let mut verified = 0usize;
    while started.elapsed() < Duration::from_secs_f64(seconds) {
        backend
            .verify_batch(&items, &mut decisions)
            .map_err(|error| format!("{error}"))?;
        verified += batch;
    }
    let verifies_per_s = verified as f64 / started.elapsed().as_secs_f64();
    if std::env::var("AETHER_BENCH_HOST_PREPARE").is_ok_and(|value| value == "1") {
        // The host share alone (SHA-512, k mod l, packing) on all cores: a device
        // backend cannot beat this rate, so it tells host-bound from device-bound.
        let mut records = vec![0u32; batch * aether_kernels::prepare::RECORD_WORDS];
        let mut admissible = vec![false; batch];
        let started = Instant::now();
        let mut prepared = 0usize;
        while started.elapsed() < Duration::from_secs_f64(seconds.min(1.0)) {
            aether_kernels::prepare::prepare_batch(&items, &mut records, &mut admissible);
            prepared += batch;
        }
        eprintln!(
            "host prepare alone: batch {batch}: {:.0} signatures/s",
            prepared as f64 / started.elapsed().as_secs_f64()
        );
    }
    if json {
        println!(
            "{{\"backend\": \"{}\", \"batch\": {batch}, \"verifies_per_s\": {verifies_per_s:.0}}}",
            backend.name()
        );
    } else {
        println!(
            "{}: batch {batch}: {verifies_per_s:.0} verifies/s ({} fell back to cpu)",
            backend.name(),
            backend.fallback_batches()
        );
    }
    Ok(())
}
