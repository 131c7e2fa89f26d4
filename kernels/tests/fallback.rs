//! A device error sends the batch to the CPU, is counted, and never yields a decision
//! the device produced; a caller's length mismatch is not a device error.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};

use aether_kernels::{CpuSigVerify, FallbackSigVerify, SigVerify, SigVerifyError, VerifyItem};
use common::Case;

/// Fails every `fail_every`-th batch after scribbling wrong decisions over the buffer.
struct FlakyDevice {
    batches: AtomicUsize,
    fail_every: usize,
}

impl SigVerify for FlakyDevice {
    fn name(&self) -> &'static str {
        "flaky"
    }

    fn verify_batch(
        &self,
        items: &[VerifyItem<'_>],
        decisions: &mut [bool],
    ) -> Result<(), SigVerifyError> {
        if items.len() != decisions.len() {
            return Err(SigVerifyError::LengthMismatch {
                items: items.len(),
                decisions: decisions.len(),
            });
        }
        let batch = self.batches.fetch_add(1, Ordering::Relaxed);
        if batch.is_multiple_of(self.fail_every) {
            decisions.fill(true);
            return Err(SigVerifyError::Backend {
                backend: "flaky",
                reason: "device lost".into(),
            });
        }
        for (item, decision) in items.iter().zip(decisions.iter_mut()) {
            *decision =
                aether_crypto::ed25519::verify(item.public_key, item.message, item.signature)
                    .is_ok();
        }
        Ok(())
    }
}

#[test]
fn failed_batches_fall_back_to_the_cpu_and_are_counted() {
    let backend = FallbackSigVerify::new(
        Box::new(FlakyDevice {
            batches: AtomicUsize::new(0),
            fail_every: 3,
        }),
        CpuSigVerify::new(1, 16).unwrap(),
    );
    assert_eq!(backend.name(), "flaky");
    let cases = common::random_cases(300, 11);
    assert!(cases.iter().any(|case| !case.expected));
    let items: Vec<VerifyItem<'_>> = cases.iter().map(Case::item).collect();
    let mut decisions = vec![false; items.len()];
    for start in (0..items.len()).step_by(50) {
        backend
            .verify_batch(&items[start..start + 50], &mut decisions[start..start + 50])
            .unwrap();
    }
    common::assert_decisions(&cases, &decisions, "fallback");
    assert_eq!(backend.fallback_batches(), 2, "batches 0 and 3 of 6 failed");
}

#[test]
fn a_length_mismatch_is_returned_not_retried() {
    let backend = FallbackSigVerify::new(
        Box::new(FlakyDevice {
            batches: AtomicUsize::new(1),
            fail_every: 1_000,
        }),
        CpuSigVerify::new(1, 16).unwrap(),
    );
    let cases = common::random_cases(2, 1);
    let items: Vec<VerifyItem<'_>> = cases.iter().map(Case::item).collect();
    let mut decisions = [false; 1];
    assert!(matches!(
        backend.verify_batch(&items, &mut decisions),
        Err(SigVerifyError::LengthMismatch { .. })
    ));
    assert_eq!(backend.fallback_batches(), 0);
}
