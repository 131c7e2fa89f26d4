//! Signature-verification backends behind one trait.
//!
//! Signature verification is the validator's hot loop. Every backend implements
//! [`SigVerify`]: a batch of Ed25519 signatures in, one decision per signature out.
//! Each decision must equal [`aether_crypto::ed25519::verify`]'s — the ZIP-215 rule —
//! for every input, including every edge case in `../shared/vectors/ed25519`; a
//! backend that is faster but disagrees on one signature splits the chain.
//!
//! | backend | file | how |
//! |---|---|---|
//! | `cpu` | [`cpu`] | batched ZIP-215 verification (dalek) across a worker pool |
//! | `reference` | [`reference`](mod@reference) | the kernels' algorithm in scalar Rust (tests, and the readable spec of the kernels) |
//! | `cuda` | [`cuda`], `cuda/ed25519.cu` | one thread per signature, 5 × 51-bit limbs, shipped PTX + sm_90 cubin, double-buffered pinned staging |
//! | `wgpu` | [`wgpu_backend`], `wgsl/ed25519.wgsl` | one invocation per signature, 20 × 13-bit limbs, micro-coded point programs ([`microcode`]) |
//! | `auto` | [`backend`] | `cuda` if a CUDA device opens, else `cpu` |
//!
//! # The kernels' algorithm (ZIP-215, cofactored)
//!
//! Host ([`prepare`], shared by every kernel): reject `S ≥ ℓ`; compute
//! `k = SHA-512(R ‖ A ‖ M) mod ℓ` over the bytes as received; pack `A ‖ R ‖ S ‖ k`.
//! Device, per signature: decompress `A` and `R` under ZIP-215 (`y` taken mod p, so
//! non-canonical encodings decode; `x = 0` with the sign bit set decodes to `x = 0`;
//! no root rejects); `P = [S]B + [k](−A)` by joint 4-bit fixed windows (a per-signature
//! table `[0..16](−A)`, a shared table `[0..16]B`, 252 doublings and 128 complete
//! additions in extended coordinates); accept exactly when `[8](P − R)` is the identity.
//!
//! SHA-512 runs on the host, for both kernels: messages are variable-length, WGSL has
//! no 64-bit integers (a WGSL SHA-512 would emulate every 64-bit add and rotate with
//! `u32` pairs), and the hash is about 1% of the work of the curve arithmetic; spread
//! over the host's cores it overlaps the device's work (the CUDA backend prepares the
//! next chunk while the device verifies the current one).
//!
//! # Invariants
//!
//! - A device backend's decisions are used only when its whole batch ran without a
//!   device error; otherwise [`FallbackSigVerify`] verifies that batch on the CPU and
//!   counts it ([`SigVerify::fallback_batches`]). Never a guessed decision.
//! - Opening `cuda` on a machine without libcuda is an error, never a panic (cudarc
//!   panics when the library is missing, so [`cuda::driver_present`] is probed first).
//! - The kernels and [`reference`](mod@reference) are the same algorithm: `cuda/ed25519.cu` mirrors
//!   [`reference::field`] and [`reference::edwards`] function for function; the WGSL
//!   field is [`field13`] (tested against the reference field) generated loop-free by
//!   [`wgsl_field`]; the WGSL control flow is [`microcode::MicrocodeVerifier`] (tested
//!   against the CPU rule).
//! - The shipped PTX and cubin are what `cuda/ed25519.cu` compiles to
//!   (`tests/cuda_compile.rs` rebuilds and compares them).
//!
//! # Tests
//!
//! `tests/reference.rs` (reference, micro-code flow and 13-bit field against the CPU
//! rule and curve25519-dalek), `tests/wgpu_backend.rs` (the WGSL kernel on lavapipe:
//! every vector and 10,000 random signatures, shuffled, in batches of several sizes),
//! `tests/cuda_backend.rs` (the same on a GPU, with `AETHER_CUDA=1`; run by
//! `device-check.sh`), `tests/cuda_compile.rs` (nvcc builds every `.cu`),
//! `tests/throughput.rs` ([`throughput`], the benchmarks' measurement, in a smoke size).
//! Measured numbers (an H200, lavapipe) are in `kernels/README.md`.
//!
//! This crate imports nothing from the pipeline: the pipeline chooses a backend;
//! backends never choose a stage.

pub mod backend;
pub mod cpu;
pub mod cuda;
pub mod fallback;
pub mod field13;
pub mod microcode;
pub mod prepare;
pub mod reference;
pub mod throughput;
pub mod wgpu_backend;
pub mod wgsl_field;

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

impl SigVerifyError {
    /// The check every backend makes first: one decision slot per item.
    pub fn check_lengths(
        items: &[VerifyItem<'_>],
        decisions: &[bool],
    ) -> Result<(), SigVerifyError> {
        if items.len() == decisions.len() {
            Ok(())
        } else {
            Err(SigVerifyError::LengthMismatch {
                items: items.len(),
                decisions: decisions.len(),
            })
        }
    }
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
