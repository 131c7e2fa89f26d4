//! A self-contained throughput probe for the device bundle: `aether-bench sigverify`'s
//! measurement without the rest of aether-bench's dependency tree (the GPU machine has
//! no Rust toolchain, so its executables are built here, and this one builds in a
//! fraction of the time).
//!
//! `sigverify_bench --backend cuda --batch 65536 [--seconds 3] [--json]` prints
//! `{"backend", "batch", "verifies_per_s"}` like `aether-bench sigverify --json`.

use std::time::{Duration, Instant};

use aether_crypto::ed25519::{SignedMessage, VerifyItem};
use aether_kernels::{BackendKind, open_backend, throughput};

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
    let signed = throughput::signed_workload(batch, 200, 0);
    let items: Vec<VerifyItem<'_>> = signed.iter().map(SignedMessage::as_item).collect();
    let backend = open_backend(backend_kind, 0).map_err(|error| format!("{error}"))?;
    let verifies_per_s =
        throughput::measure(backend.as_ref(), &signed, Duration::from_secs_f64(seconds))
            .map_err(|error| format!("{error}"))?;
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
