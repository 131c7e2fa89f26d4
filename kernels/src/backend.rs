//! Backend selection by name (`sigverify.backend` in the node config,
//! `--backend` on the command line).

use std::fmt;
use std::str::FromStr;

use thiserror::Error;

use crate::{
    CpuSigVerify, CudaSigVerify, FallbackSigVerify, SigVerify, SigVerifyError, WgpuSigVerify,
    cpu::DEFAULT_CHUNK_SIZE,
};

/// A configured backend choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendKind {
    /// Batched verification on CPU threads.
    Cpu,
    /// The WGSL kernel through wgpu (Vulkan, Metal, DX12 or GL; lavapipe in CI).
    Wgpu,
    /// The CUDA kernel on NVIDIA GPU 0.
    Cuda,
    /// CUDA if a device answers, else the CPU.
    Auto,
}

/// The name is not a known backend.
#[derive(Debug, Error)]
#[error("unknown signature-verification backend {name:?}; known: cpu, wgpu, cuda, auto")]
pub struct ParseBackendError {
    name: String,
}

impl FromStr for BackendKind {
    type Err = ParseBackendError;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        match name {
            "cpu" => Ok(Self::Cpu),
            "wgpu" => Ok(Self::Wgpu),
            "cuda" => Ok(Self::Cuda),
            "auto" => Ok(Self::Auto),
            _ => Err(ParseBackendError {
                name: name.to_owned(),
            }),
        }
    }
}

impl fmt::Display for BackendKind {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(match self {
            Self::Cpu => "cpu",
            Self::Wgpu => "wgpu",
            Self::Cuda => "cuda",
            Self::Auto => "auto",
        })
    }
}

/// Opens the backend `kind` with `threads` CPU workers (0 = one per core) for the CPU
/// backend, the host-side hashing and the fallback.
///
/// `cuda` and `wgpu` fail with [`SigVerifyError::Backend`] when no device answers;
/// once open, a batch the device cannot run falls back to the CPU and is counted
/// ([`SigVerify::fallback_batches`]). `auto` is `cuda` when a CUDA device opens and
/// `cpu` otherwise.
pub fn open_backend(
    kind: BackendKind,
    threads: usize,
) -> Result<Box<dyn SigVerify>, SigVerifyError> {
    let cpu = || CpuSigVerify::new(threads, DEFAULT_CHUNK_SIZE);
    match kind {
        BackendKind::Cpu => Ok(Box::new(cpu()?)),
        BackendKind::Cuda => Ok(Box::new(FallbackSigVerify::new(
            Box::new(CudaSigVerify::open(0)?),
            cpu()?,
        ))),
        BackendKind::Wgpu => Ok(Box::new(FallbackSigVerify::new(
            Box::new(WgpuSigVerify::open()?),
            cpu()?,
        ))),
        BackendKind::Auto => match CudaSigVerify::open(0) {
            Ok(device) => Ok(Box::new(FallbackSigVerify::new(Box::new(device), cpu()?))),
            Err(_) => Ok(Box::new(cpu()?)),
        },
    }
}
