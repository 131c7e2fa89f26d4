//! The benchmark's measurement in a smoke size: it returns a number for correct
//! backends and refuses one for a backend that answers wrongly.

use std::time::Duration;

use aether_kernels::throughput::{ThroughputError, measure, signed_workload};
use aether_kernels::{CpuSigVerify, ReferenceSigVerify, SigVerify, SigVerifyError, VerifyItem};

/// Accepts everything: fast and wrong.
struct AcceptAll;

impl SigVerify for AcceptAll {
    fn name(&self) -> &'static str {
        "accept-all"
    }

    fn verify_batch(
        &self,
        _items: &[VerifyItem<'_>],
        decisions: &mut [bool],
    ) -> Result<(), SigVerifyError> {
        decisions.fill(true);
        Ok(())
    }
}

#[test]
fn correct_backends_get_a_number() {
    let signed = signed_workload(64, 100, 3);
    for backend in [
        Box::new(CpuSigVerify::new(1, 16).unwrap()) as Box<dyn SigVerify>,
        Box::new(ReferenceSigVerify::new()),
    ] {
        let rate = measure(backend.as_ref(), &signed, Duration::from_millis(20)).unwrap();
        assert!(rate > 0.0, "{}: {rate}", backend.name());
    }
}

#[test]
fn a_wrong_backend_gets_no_number() {
    let signed = signed_workload(8, 10, 1);
    assert!(matches!(
        measure(&AcceptAll, &signed, Duration::from_millis(1)),
        Err(ThroughputError::WrongDecision {
            backend: "accept-all",
            ..
        })
    ));
}
