//! Backend selection by name (`sigverify.backend` in the node config,
//! `--backend` on the command line).

use std::fmt;
use std::str::FromStr;

use thiserror::Error;

use crate::{CpuSigVerify, SigVerify, SigVerifyError, cpu::DEFAULT_CHUNK_SIZE};

/// A configured backend choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendKind {
    /// Batched verification on CPU threads.
    Cpu,
    /// The fastest backend available on this machine.
    Auto,
}

/// The name is not a known backend.
#[derive(Debug, Error)]
#[error("unknown signature-verification backend {name:?}; known: cpu, auto")]
pub struct ParseBackendError {
    name: String,
}

impl FromStr for BackendKind {
    type Err = ParseBackendError;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        match name {
            "cpu" => Ok(Self::Cpu),
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
            Self::Auto => "auto",
        })
    }
}

/// Opens the backend `kind` with `threads` CPU workers (0 = one per core).
///
/// `auto` resolves to the CPU backend: no GPU backend is built into this binary yet.
pub fn open_backend(
    kind: BackendKind,
    threads: usize,
) -> Result<Box<dyn SigVerify>, SigVerifyError> {
    match kind {
        BackendKind::Cpu | BackendKind::Auto => {
            Ok(Box::new(CpuSigVerify::new(threads, DEFAULT_CHUNK_SIZE)?))
        }
    }
}
