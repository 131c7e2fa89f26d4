//! The WGSL backend against the CPU rule, on whatever adapter wgpu finds — Mesa's
//! lavapipe in CI (`make deps` installs `mesa-vulkan-drivers`). Every public vector
//! and 10,000 random valid and corrupted signatures, shuffled together and cut into
//! batches of several sizes, must get exactly `aether_crypto::ed25519::verify`'s
//! decision.

mod common;

use std::sync::OnceLock;
use std::time::Instant;

use aether_kernels::{SigVerify, SigVerifyError, VerifyItem, WgpuSigVerify};
use common::{Case, SplitMix};

fn backend() -> &'static WgpuSigVerify {
    static BACKEND: OnceLock<WgpuSigVerify> = OnceLock::new();
    BACKEND.get_or_init(|| {
        // SAFETY-free: only quiets Mesa's warning about a missing runtime directory.
        if std::env::var_os("XDG_RUNTIME_DIR").is_none() {
            eprintln!("note: XDG_RUNTIME_DIR unset; Mesa may warn (set XDG_RUNTIME_DIR=/tmp)");
        }
        let started = Instant::now();
        let backend = WgpuSigVerify::open().unwrap_or_else(|error| {
            panic!("no wgpu adapter ({error}); install Mesa's lavapipe: make deps")
        });
        eprintln!(
            "wgpu adapter: {} (opened and compiled in {:.1?})",
            backend.adapter_name(),
            started.elapsed()
        );
        backend
    })
}

/// Runs `cases` through the backend in consecutive batches of the given sizes
/// (cycled), checking every decision.
fn check_in_batches(cases: &[Case], batch_sizes: &[usize], context: &str) {
    let items: Vec<VerifyItem<'_>> = cases.iter().map(Case::item).collect();
    let mut decisions = vec![false; items.len()];
    let mut start = 0;
    let started = Instant::now();
    for size in batch_sizes.iter().cycle() {
        if start == items.len() {
            break;
        }
        let end = (start + size).min(items.len());
        // Poison the slots so a backend that skips one is caught.
        for (offset, decision) in decisions[start..end].iter_mut().enumerate() {
            *decision = !cases[start + offset].expected;
        }
        backend()
            .verify_batch(&items[start..end], &mut decisions[start..end])
            .expect("the wgpu backend runs the batch");
        start = end;
    }
    eprintln!(
        "{context}: {} signatures in {:.1?}",
        items.len(),
        started.elapsed()
    );
    common::assert_decisions(cases, &decisions, context);
}

#[test]
fn every_vector_matches_the_cpu_rule() {
    let cases = common::vector_cases();
    check_in_batches(&cases, &[cases.len()], "wgpu, all vectors in one batch");
}

#[test]
fn random_signatures_mixed_with_vectors_match_at_several_batch_sizes() {
    let mut cases = common::random_cases(10_000, 0xa37e);
    cases.extend(common::vector_cases());
    // Shuffle (Fisher–Yates) so edge cases sit at random positions in every batch.
    let mut random = SplitMix(99);
    for index in (1..cases.len()).rev() {
        let other = random.below(index as u64 + 1) as usize;
        cases.swap(index, other);
    }
    let valid = cases.iter().filter(|case| case.expected).count();
    assert!(
        valid > cases.len() / 2 && valid < cases.len(),
        "a mix of valid and invalid"
    );
    check_in_batches(&cases, &[1, 63, 64, 65, 1000, 4096], "wgpu, mixed batches");
}

#[test]
fn length_mismatch_is_an_error() {
    let cases = common::random_cases(2, 1);
    let items: Vec<VerifyItem<'_>> = cases.iter().map(Case::item).collect();
    let mut decisions = [false; 1];
    assert!(matches!(
        backend().verify_batch(&items, &mut decisions),
        Err(SigVerifyError::LengthMismatch { .. })
    ));
    backend()
        .verify_batch(&[], &mut [])
        .expect("an empty batch is fine");
}
