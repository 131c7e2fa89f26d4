//! The CPU backend: ZIP-215 batch verification spread over a worker pool.
//!
//! A batch is cut into chunks of [`CpuSigVerify::chunk_size`] signatures; each worker
//! runs [`aether_crypto::ed25519::verify_batch_into`] on its chunk (one multi-scalar
//! multiplication per chunk, searching for the invalid ones on failure). Chunking
//! changes only the speed, never a decision, because batch and single verification
//! agree under ZIP-215.

use rayon::prelude::*;

use crate::{SigVerify, SigVerifyError, VerifyItem};

/// Default signatures per chunk: large enough for the multi-scalar multiplication to
/// pay off (about twice the speed of single verification), small enough to spread a
/// 1k batch over many cores.
pub const DEFAULT_CHUNK_SIZE: usize = 64;

/// Batched Ed25519 verification on a dedicated pool of CPU threads.
pub struct CpuSigVerify {
    pool: rayon::ThreadPool,
    chunk_size: usize,
}

impl CpuSigVerify {
    /// A backend with `threads` workers (0 = one per core) and chunks of `chunk_size`.
    pub fn new(threads: usize, chunk_size: usize) -> Result<Self, SigVerifyError> {
        assert!(chunk_size > 0, "chunk size must be positive");
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|index| format!("sigverify:{index}"))
            .build()
            .map_err(|error| SigVerifyError::Backend {
                backend: "cpu",
                reason: format!("cannot start worker threads: {error}"),
            })?;
        Ok(Self { pool, chunk_size })
    }

    /// Signatures per chunk.
    pub fn chunk_size(&self) -> usize {
        self.chunk_size
    }

    /// Worker threads in the pool.
    pub fn threads(&self) -> usize {
        self.pool.current_num_threads()
    }
}

impl SigVerify for CpuSigVerify {
    fn name(&self) -> &'static str {
        "cpu"
    }

    fn verify_batch(
        &self,
        items: &[VerifyItem<'_>],
        decisions: &mut [bool],
    ) -> Result<(), SigVerifyError> {
        SigVerifyError::check_lengths(items, decisions)?;
        let chunk_size = self.chunk_size;
        self.pool.install(|| {
            items
                .par_chunks(chunk_size)
                .zip(decisions.par_chunks_mut(chunk_size))
                .for_each(|(item_chunk, decision_chunk)| {
                    aether_crypto::ed25519::verify_batch_into(item_chunk, decision_chunk);
                });
        });
        Ok(())
    }
}
