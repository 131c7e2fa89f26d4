//! Throughput measurement shared by the benchmarks (`examples/sigverify_bench.rs`, the
//! device bundle's probe): a signed workload, a correctness gate, then timed batches.
//! A backend that answers wrongly is an error, never a number.

use std::time::{Duration, Instant};

use aether_crypto::ed25519::{Ed25519SecretKey, SignedMessage, VerifyItem};
use thiserror::Error;

use crate::{SigVerify, SigVerifyError};

/// Why a measurement produced no number.
#[derive(Debug, Error)]
pub enum ThroughputError {
    /// The backend could not run a batch.
    #[error(transparent)]
    Backend(#[from] SigVerifyError),
    /// The backend's decisions were wrong, so its speed means nothing.
    #[error("backend {backend} decided wrongly: {detail}")]
    WrongDecision {
        /// Backend name.
        backend: &'static str,
        /// What was wrong.
        detail: String,
    },
}

/// `batch` valid signatures by 64 signers over `message_bytes`-byte messages, reproducible
/// from `seed`.
pub fn signed_workload(batch: usize, message_bytes: usize, seed: u8) -> Vec<SignedMessage> {
    let keys: Vec<Ed25519SecretKey> = (0..64u8)
        .map(|index| Ed25519SecretKey::from_seed(&[index ^ seed; 32]))
        .collect();
    (0..batch)
        .map(|index| {
            let message: Vec<u8> = (0..message_bytes)
                .map(|byte| (byte * 7 + index) as u8 ^ seed)
                .collect();
            SignedMessage::sign(&keys[index % keys.len()], message)
        })
        .collect()
}

/// Checks `backend` on `signed` (all valid, then one corrupted in the middle) and
/// returns its verifications per second over at least `minimum` of timed batches.
pub fn measure(
    backend: &dyn SigVerify,
    signed: &[SignedMessage],
    minimum: Duration,
) -> Result<f64, ThroughputError> {
    assert!(!signed.is_empty(), "an empty workload measures nothing");
    let items: Vec<VerifyItem<'_>> = signed.iter().map(SignedMessage::as_item).collect();
    let mut decisions = vec![false; items.len()];
    backend.verify_batch(&items, &mut decisions)?;
    if let Some(position) = decisions.iter().position(|valid| !valid) {
        return Err(ThroughputError::WrongDecision {
            backend: backend.name(),
            detail: format!("rejected valid signature {position}"),
        });
    }
    let middle = items.len() / 2;
    let mut corrupted = signed[middle].clone();
    corrupted.signature.0[0] ^= 1;
    let mut corrupted_items = items.clone();
    corrupted_items[middle] = corrupted.as_item();
    backend.verify_batch(&corrupted_items, &mut decisions)?;
    if let Some(position) = decisions
        .iter()
        .enumerate()
        .position(|(index, valid)| *valid == (index == middle))
    {
        return Err(ThroughputError::WrongDecision {
            backend: backend.name(),
            detail: format!("wrong at {position} with signature {middle} corrupted"),
        });
    }
    let started = Instant::now();
    let mut verified = 0usize;
    while started.elapsed() < minimum {
        backend.verify_batch(&items, &mut decisions)?;
        verified += items.len();
    }
    Ok(verified as f64 / started.elapsed().as_secs_f64())
}
