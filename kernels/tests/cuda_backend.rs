//! The CUDA backend against the CPU rule. The tests that need an NVIDIA GPU
//! are `#[ignore]`d (reported as ignored, never as passed) unless run with
//! `--include-ignored`, and then still need `AETHER_CUDA=1`; `kernels/device-check.sh`
//! does both.
//! Without CUDA the tests still check that opening fails with an error, not a panic.

mod common;

use std::sync::OnceLock;

use aether_kernels::cuda::driver_present;
use aether_kernels::{
    BackendKind, CudaSigVerify, SigVerify, SigVerifyError, VerifyItem, open_backend,
};
use common::{Case, SplitMix};

fn cuda_requested() -> bool {
    let requested = std::env::var("AETHER_CUDA").is_ok_and(|value| value == "1");
    if !requested {
        eprintln!("skipped: CUDA tests run only with AETHER_CUDA=1 (kernels/device-check.sh)");
    }
    requested
}

fn backend() -> &'static CudaSigVerify {
    static BACKEND: OnceLock<CudaSigVerify> = OnceLock::new();
    BACKEND.get_or_init(|| {
        let backend = CudaSigVerify::open(0)
            .unwrap_or_else(|error| panic!("AETHER_CUDA=1 but the device does not open: {error}"));
        eprintln!("cuda device: {}", backend.device_name());
        backend
    })
}

fn check_in_batches(cases: &[Case], batch_sizes: &[usize], context: &str) {
    let items: Vec<VerifyItem<'_>> = cases.iter().map(Case::item).collect();
    let mut decisions = vec![false; items.len()];
    let mut start = 0;
    for size in batch_sizes.iter().cycle() {
        if start == items.len() {
            break;
        }
        let end = (start + size).min(items.len());
        for (offset, decision) in decisions[start..end].iter_mut().enumerate() {
            *decision = !cases[start + offset].expected;
        }
        backend()
            .verify_batch(&items[start..end], &mut decisions[start..end])
            .expect("the cuda backend runs the batch");
        start = end;
    }
    common::assert_decisions(cases, &decisions, context);
    eprintln!("{context}: {} decisions equal the CPU rule", cases.len());
}

#[test]
fn without_a_driver_opening_is_an_error_not_a_panic() {
    if driver_present() {
        eprintln!("skipped: libcuda is present on this machine");
        return;
    }
    assert!(matches!(
        CudaSigVerify::open(0),
        Err(SigVerifyError::Backend {
            backend: "cuda",
            ..
        })
    ));
    assert!(open_backend(BackendKind::Cuda, 1).is_err());
    assert_eq!(open_backend(BackendKind::Auto, 1).unwrap().name(), "cpu");
}

#[test]
#[ignore = "needs an NVIDIA GPU: AETHER_CUDA=1 kernels/device-check.sh runs it with --include-ignored"]
fn every_vector_matches_the_cpu_rule() {
    if !cuda_requested() {
        return;
    }
    let cases = common::vector_cases();
    check_in_batches(&cases, &[cases.len()], "cuda, all vectors in one batch");
}

#[test]
#[ignore = "needs an NVIDIA GPU: AETHER_CUDA=1 kernels/device-check.sh runs it with --include-ignored"]
fn random_signatures_mixed_with_vectors_match_at_several_batch_sizes() {
    if !cuda_requested() {
        return;
    }
    let mut cases = common::random_cases(40_000, 0xc0da);
    cases.extend(common::vector_cases());
    let mut random = SplitMix(7);
    for index in (1..cases.len()).rev() {
        let other = random.below(index as u64 + 1) as usize;
        cases.swap(index, other);
    }
    // 20,000 crosses the 16,384-signature chunk, so both staging slots are used.
    check_in_batches(
        &cases,
        &[1, 127, 128, 129, 1000, 20_000],
        "cuda, mixed batches",
    );
}

#[test]
#[ignore = "needs an NVIDIA GPU: AETHER_CUDA=1 kernels/device-check.sh runs it with --include-ignored"]
fn auto_picks_cuda_when_a_device_answers() {
    if !cuda_requested() {
        return;
    }
    let backend = open_backend(BackendKind::Auto, 0).expect("auto opens");
    assert_eq!(backend.name(), "cuda");
    let cases = common::random_cases(3_000, 5);
    let items: Vec<VerifyItem<'_>> = cases.iter().map(Case::item).collect();
    let mut decisions = vec![false; items.len()];
    backend.verify_batch(&items, &mut decisions).unwrap();
    common::assert_decisions(&cases, &decisions, "auto");
    assert_eq!(
        backend.fallback_batches(),
        0,
        "no batch fell back to the CPU"
    );
}
