//! The sigverify stage: parse, skip duplicates, verify every signature in one batch.
//!
//! Per packet batch: decode each packet as a wire transaction (malformed ones are a
//! counted drop), skip ids already verified (duplicates), then verify all signatures
//! of all remaining transactions in one call to the configured [`SigVerify`] backend.
//! A transaction passes when it has a signature and every signature verifies over its
//! id. Ids are recorded as seen only after they verify, so a copy with a forged
//! signature cannot shadow the genuine transaction.

use std::sync::Arc;
use std::time::Instant;

use aether_crypto::ed25519::{Ed25519PublicKey, Ed25519Signature};
use aether_kernels::{SigVerify, VerifyItem};
use aether_types::{Hash, Transaction};

use crate::dedup::DedupFilter;
use crate::metrics::StageMetrics;
use crate::packet::PacketBatch;
use crate::runner::Stage;

/// Drop reasons of the sigverify stage.
pub const SIGVERIFY_DROP_REASONS: &[&str] = &[
    "malformed",
    "duplicate",
    "unsigned",
    "bad_signature",
    "backend_error",
];

/// A transaction whose signatures verified.
#[derive(Debug, Clone)]
pub struct VerifiedTransaction {
    /// The transaction.
    pub transaction: Transaction,
    /// Its id.
    pub id: Hash,
    /// Its wire size.
    pub wire_bytes: u32,
    /// When fetch received it.
    pub received_at: Instant,
}

/// Verified transactions on their way to banking.
#[derive(Debug, Default)]
pub struct VerifiedBatch {
    /// In arrival order.
    pub transactions: Vec<VerifiedTransaction>,
}

/// The stage's state.
pub struct SigverifyStage {
    backend: Arc<dyn SigVerify>,
    dedup: DedupFilter,
    decisions: Vec<bool>,
}

/// How many verified ids the duplicate filter remembers.
pub const DEDUP_CAPACITY: usize = 1 << 20;

impl SigverifyStage {
    /// A stage verifying with `backend`.
    pub fn new(backend: Arc<dyn SigVerify>) -> Self {
        Self {
            backend,
            dedup: DedupFilter::new(DEDUP_CAPACITY),
            decisions: Vec::new(),
        }
    }

    /// Verifies one batch (the stage's whole logic, callable without a thread).
    pub fn verify(&mut self, batch: PacketBatch, metrics: &StageMetrics) -> VerifiedBatch {
        metrics.add_in(batch.packets.len());
        let mut candidates = Vec::with_capacity(batch.packets.len());
        for packet in &batch.packets {
            let Ok(transaction) = Transaction::from_wire(packet.data()) else {
                metrics.add_drop("malformed", 1);
                continue;
            };
            if transaction.signatures.is_empty() {
                metrics.add_drop("unsigned", 1);
                continue;
            }
            let id = transaction.transaction_id();
            if self.dedup.contains(&id) {
                metrics.add_drop("duplicate", 1);
                continue;
            }
            candidates.push(VerifiedTransaction {
                transaction,
                id,
                wire_bytes: packet.data().len() as u32,
                received_at: packet.received_at,
            });
        }
        let keys: Vec<(Ed25519PublicKey, Ed25519Signature)> = candidates
            .iter()
            .flat_map(|candidate| {
                candidate.transaction.signatures.iter().map(|signature| {
                    (
                        Ed25519PublicKey(signature.public_key),
                        Ed25519Signature(signature.signature),
                    )
                })
            })
            .collect();
        let mut items = Vec::with_capacity(keys.len());
        let mut offset = 0;
        for candidate in &candidates {
            for _ in &candidate.transaction.signatures {
                let (public_key, signature) = &keys[offset];
                items.push(VerifyItem {
                    public_key,
                    message: candidate.id.as_bytes(),
                    signature,
                });
                offset += 1;
            }
        }
        self.decisions.clear();
        self.decisions.resize(items.len(), false);
        if self
            .backend
            .verify_batch(&items, &mut self.decisions)
            .is_err()
        {
            metrics.add_drop("backend_error", candidates.len());
            return VerifiedBatch::default();
        }
        let mut verified = VerifiedBatch {
            transactions: Vec::with_capacity(candidates.len()),
        };
        let mut offset = 0;
        for candidate in candidates {
            let count = candidate.transaction.signatures.len();
            let all_valid = self.decisions[offset..offset + count].iter().all(|ok| *ok);
            offset += count;
            if !all_valid {
                metrics.add_drop("bad_signature", 1);
            } else if !self.dedup.insert(candidate.id) {
                // The same transaction twice in this batch.
                metrics.add_drop("duplicate", 1);
            } else {
                verified.transactions.push(candidate);
            }
        }
        assert_eq!(offset, self.decisions.len());
        metrics.add_out(verified.transactions.len());
        verified
    }
}

impl Stage for SigverifyStage {
    type Input = PacketBatch;
    type Output = VerifiedBatch;

    fn process(
        &mut self,
        input: PacketBatch,
        out: &mut Vec<VerifiedBatch>,
        metrics: &StageMetrics,
    ) {
        let verified = self.verify(input, metrics);
        if !verified.transactions.is_empty() {
            out.push(verified);
        }
    }
}
