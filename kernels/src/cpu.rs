//! The CPU backend: ZIP-215 batch verification spread over the calling thread and a
//! worker pool.
//!
//! A batch is cut into chunks of [`CpuSigVerify::chunk_size`] signatures; each chunk
//! runs [`aether_crypto::ed25519::verify_batch_into`] (one multi-scalar
//! multiplication per chunk, searching for the invalid ones on failure). The calling
//! thread verifies the first chunk itself while the pool's workers take the rest, so
//! `threads` verifying threads are the caller plus `threads - 1` workers: a caller that
//! only waited for the pool would cost a thread hand-off per batch and keep one more
//! worker spinning idle between batches, on cores verification needs. Chunking
//! changes only the speed, never a decision, because batch and single verification
//! agree under ZIP-215.

use crate::{SigVerify, SigVerifyError, VerifyItem};

/// Default signatures per chunk: large enough for the multi-scalar multiplication to
/// pay off (about twice the speed of single verification), small enough to spread a
/// 1k batch over many cores.
pub const DEFAULT_CHUNK_SIZE: usize = 64;

/// Batched Ed25519 verification on the calling thread and a pool of CPU threads.
pub struct CpuSigVerify {
    /// The workers besides the caller (`None` with one verifying thread).
    pool: Option<rayon::ThreadPool>,
    chunk_size: usize,
}

impl CpuSigVerify {
    /// A backend with `threads` verifying threads (0 = one per core), the calling
    /// thread among them, and chunks of `chunk_size`.
    pub fn new(threads: usize, chunk_size: usize) -> Result<Self, SigVerifyError> {
        assert!(chunk_size > 0, "chunk size must be positive");
        let threads = match threads {
            0 => std::thread::available_parallelism().map_or(1, |count| count.get()),
            count => count,
        };
        let pool = if threads > 1 {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads - 1)
                .thread_name(|index| format!("sigverify-worker:{index}"))
                .build()
                .map_err(|error| SigVerifyError::Backend {
                    backend: "cpu",
                    reason: format!("cannot start worker threads: {error}"),
                })?;
            Some(pool)
        } else {
            None
        };
        Ok(Self { pool, chunk_size })
    }

    /// Signatures per chunk.
    pub fn chunk_size(&self) -> usize {
        self.chunk_size
    }

    /// Verifying threads, the calling thread included.
    pub fn threads(&self) -> usize {
        self.pool
            .as_ref()
            .map_or(1, |pool| pool.current_num_threads() + 1)
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
        let mut chunks = items
            .chunks(self.chunk_size)
            .zip(decisions.chunks_mut(self.chunk_size));
        let verify = |(item_chunk, decision_chunk): (&[VerifyItem<'_>], &mut [bool])| {
            aether_crypto::ed25519::verify_batch_into(item_chunk, decision_chunk);
        };
        match &self.pool {
            None => chunks.for_each(verify),
            Some(pool) => pool.in_place_scope(|scope| {
                let first = chunks.next();
                for chunk in chunks {
                    scope.spawn(move |_| verify(chunk));
                }
                if let Some(chunk) = first {
                    verify(chunk);
                }
            }),
        }
        Ok(())
    }
}
