//! A device backend with a CPU safety net: a batch the device cannot run (a driver
//! error, a lost device, a fault detected in its output) is verified on the CPU instead
//! and counted. The device's decisions are used only when its whole batch succeeded,
//! so a failure costs speed, never a wrong decision.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::{CpuSigVerify, SigVerify, SigVerifyError, VerifyItem};

/// `device`, falling back to `cpu` batch by batch.
pub struct FallbackSigVerify {
    device: Box<dyn SigVerify>,
    cpu: CpuSigVerify,
    fallback_batches: AtomicU64,
}

impl FallbackSigVerify {
    /// Wraps `device` with `cpu` as its fallback.
    pub fn new(device: Box<dyn SigVerify>, cpu: CpuSigVerify) -> Self {
        Self {
            device,
            cpu,
            fallback_batches: AtomicU64::new(0),
        }
    }
}

impl SigVerify for FallbackSigVerify {
    fn name(&self) -> &'static str {
        self.device.name()
    }

    fn verify_batch(
        &self,
        items: &[VerifyItem<'_>],
        decisions: &mut [bool],
    ) -> Result<(), SigVerifyError> {
        match self.device.verify_batch(items, decisions) {
            Ok(()) => Ok(()),
            Err(error @ SigVerifyError::LengthMismatch { .. }) => Err(error),
            Err(SigVerifyError::Backend { .. }) => {
                self.fallback_batches.fetch_add(1, Ordering::Relaxed);
                self.cpu.verify_batch(items, decisions)
            }
        }
    }

    fn fallback_batches(&self) -> u64 {
        self.fallback_batches.load(Ordering::Relaxed)
    }
}
