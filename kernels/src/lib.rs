//! Signature-verification backends behind one trait.
//!
//! Signature verification is the validator's hot loop. Every backend implements
//! [`SigVerify`]: a batch of Ed25519 signatures in, one decision per signature out.
//! Each decision must equal [`aether_crypto::ed25519::verify`]'s — the ZIP-215 rule —
//! for every input, including every edge case in `../shared/vectors/ed25519`; a
//! backend that is faster but disagrees on one signature splits the chain.
//!
//! | backend | file | status |
//! |---|---|---|
//! | `cpu` | [`cpu`] | batched ZIP-215 verification across a worker pool |
//! | `auto` | [`backend`] | the fastest backend that answers on this machine (the CPU one until GPU backends land) |
//!
//! CUDA and WGSL backends (the GPU issue) plug in here without changing the stage
//! that calls the trait. This crate imports nothing from the pipeline: the pipeline
//! chooses a backend; backends never choose a stage.

pub mod backend;
pub mod cpu;
pub mod cuda;
pub mod fallback;
pub mod prepare;
pub mod reference;
pub mod wgpu_backend;

pub use aether_crypto::ed25519::VerifyItem;
pub use backend::{BackendKind, ParseBackendError, open_backend};
pub use cpu::CpuSigVerify;
pub use cuda::CudaSigVerify;
pub use fallback::FallbackSigVerify;
pub use reference::ReferenceSigVerify;
pub use wgpu_backend::WgpuSigVerify;

use thiserror::Error;

/// A backend could not run a batch at all (as opposed to rejecting signatures in it).
#[derive(Debug, Error)]
pub enum SigVerifyError {
    /// The decision buffer does not match the batch.
    #[error("batch has {items} items but {decisions} decision slots")]
    LengthMismatch {
        /// Items in the batch.
        items: usize,
        /// Slots in the decision buffer.
        decisions: usize,
    },
    /// The backend's device or worker pool failed.
    #[error("backend {backend} failed: {reason}")]
    Backend {
        /// Backend name.
        backend: &'static str,
        /// What went wrong.
        reason: String,
    },
}

/// A signature-verification backend.
pub trait SigVerify: Send + Sync {
    /// The backend's name as configured (`cpu`, `cuda`, `wgpu`).
    fn name(&self) -> &'static str;

    /// Verifies `items`, writing one decision per item into `decisions` (same length).
    /// On `Err` the decisions are unspecified and the caller must not use them.
    fn verify_batch(
        &self,
        items: &[VerifyItem<'_>],
        decisions: &mut [bool],
    ) -> Result<(), SigVerifyError>;

    /// Batches this backend could not run on its device and verified on the CPU
    /// instead (a monotonic counter; always 0 for the CPU backends).
    fn fallback_batches(&self) -> u64 {
        0
    }
}
