//! The sigverify stage: parse, skip duplicates, verify every signature in one batch.
//!
//! Per packet batch: decode each packet as a wire transaction (malformed ones are a
//! counted drop; the id is hashed from the packet's body bytes), skip ids already
//! verified (duplicates), and gather the rest until they carry
//! [`VERIFY_BATCH_SIGNATURES`] signatures or the input runs dry; then verify all
//! their signatures in one call to the configured [`SigVerify`] backend.
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
use crate::packet::{BATCH_PACKETS_MAX, PacketBatch};
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
    /// Parsed transactions waiting for the next backend call.
    pending: Vec<VerifiedTransaction>,
    /// Signatures of `pending`.
    pending_signatures: usize,
}

/// How many verified ids the duplicate filter remembers.
pub const DEDUP_CAPACITY: usize = 1 << 20;

/// The stage gathers parsed transactions until they carry at least this many
/// signatures (or its input runs dry) before calling the backend: batch verification
/// is cheapest per signature in full batches, and the network hands over whatever
/// arrived, often a few packets at a time.
pub const VERIFY_BATCH_SIGNATURES: usize = BATCH_PACKETS_MAX;

impl SigverifyStage {
    /// A stage verifying with `backend`.
    pub fn new(backend: Arc<dyn SigVerify>) -> Self {
        Self {
            backend,
            dedup: DedupFilter::new(DEDUP_CAPACITY),
            decisions: Vec::new(),
            pending: Vec::with_capacity(2 * VERIFY_BATCH_SIGNATURES),
            pending_signatures: 0,
        }
    }

    /// Parses and verifies one batch at once (the stage's whole logic, callable
    /// without a thread).
    pub fn verify(&mut self, batch: PacketBatch, metrics: &StageMetrics) -> VerifiedBatch {
        self.parse(batch, metrics);
        self.verify_pending(metrics)
    }

    /// Parses `batch` into the pending transactions: malformed, unsigned and
    /// already-verified packets are counted drops.
    fn parse(&mut self, batch: PacketBatch, metrics: &StageMetrics) {
        metrics.add_in(batch.packets.len());
        let wires: Vec<&[u8]> = batch.packets.iter().map(|packet| packet.data()).collect();
        let decoded = Transaction::from_wire_batch(&wires);
        for (packet, decoded) in batch.packets.iter().zip(decoded) {
            let Ok((transaction, id)) = decoded else {
                metrics.add_drop("malformed", 1);
                continue;
            };
            if transaction.signatures.is_empty() {
                metrics.add_drop("unsigned", 1);
                continue;
            }
            if self.dedup.contains(&id) {
                metrics.add_drop("duplicate", 1);
                continue;
            }
            self.pending_signatures += transaction.signatures.len();
            self.pending.push(VerifiedTransaction {
                transaction,
                id,
                wire_bytes: packet.data().len() as u32,
                received_at: packet.received_at,
            });
        }
    }

    /// Verifies every pending transaction in one backend call.
    fn verify_pending(&mut self, metrics: &StageMetrics) -> VerifiedBatch {
        let candidates = std::mem::take(&mut self.pending);
        self.pending_signatures = 0;
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

    fn publish_pending(&mut self, out: &mut Vec<VerifiedBatch>, metrics: &StageMetrics) {
        if self.pending.is_empty() {
            return;
        }
        let verified = self.verify_pending(metrics);
        if !verified.transactions.is_empty() {
            out.push(verified);
        }
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
        self.parse(input, metrics);
        if self.pending_signatures >= VERIFY_BATCH_SIGNATURES {
            self.publish_pending(out, metrics);
        }
    }

    fn flush(&mut self, out: &mut Vec<VerifiedBatch>, metrics: &StageMetrics) {
        self.publish_pending(out, metrics);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packet::Packet;
    use aether_crypto::ed25519::Ed25519SecretKey;
    use aether_kernels::CpuSigVerify;
    use aether_ledger::{LedgerParams, TransferRequest, build_transfer};
    use aether_types::{Lock, OutputReference, ValidityWindow};

    fn transfer(index: usize) -> Transaction {
        let key = Ed25519SecretKey::from_seed(&[7; 32]);
        build_transfer(&TransferRequest {
            inputs: &[(
                OutputReference {
                    transaction_id: Hash([index as u8; 32]),
                    index: index as u16,
                },
                50_000,
            )],
            signer: &key,
            to: Lock::for_public_key(&[1; 32]),
            amount: 1_000,
            params: LedgerParams::DEFAULT,
            validity: ValidityWindow {
                first_slot: 0,
                last_slot: 1_000,
            },
        })
        .expect("transfer builds")
    }

    fn batch_of(packets: &[Vec<u8>]) -> PacketBatch {
        let mut batch = PacketBatch::with_capacity();
        for bytes in packets {
            batch
                .packets
                .push(Packet::from_bytes(bytes, None).expect("fits"));
        }
        batch
    }

    fn stage() -> (SigverifyStage, StageMetrics) {
        let backend: Arc<dyn SigVerify> = Arc::new(CpuSigVerify::new(1, 64).expect("pool"));
        (
            SigverifyStage::new(backend),
            StageMetrics::new("sigverify", SIGVERIFY_DROP_REASONS),
        )
    }

    fn ids(out: &[VerifiedBatch]) -> Vec<Hash> {
        out.iter()
            .flat_map(|batch| batch.transactions.iter().map(|verified| verified.id))
            .collect()
    }

    #[test]
    fn gathers_small_batches_until_full_or_dry() {
        let (mut stage, metrics) = stage();
        let transactions: Vec<Transaction> =
            (0..VERIFY_BATCH_SIGNATURES + 3).map(transfer).collect();
        let wires: Vec<Vec<u8>> = transactions
            .iter()
            .map(|transaction| transaction.to_wire().expect("wire"))
            .collect();
        let mut out = Vec::new();
        // Batches of 5 packets: nothing is verified until 128 signatures are pending.
        let mut sent = 0;
        while sent + 5 < VERIFY_BATCH_SIGNATURES {
            stage.process(batch_of(&wires[sent..sent + 5]), &mut out, &metrics);
            sent += 5;
            assert!(out.is_empty(), "verified early after {sent} packets");
        }
        stage.process(batch_of(&wires[sent..]), &mut out, &metrics);
        assert_eq!(out.len(), 1, "one backend call for the full batch");
        let expected: Vec<Hash> = transactions
            .iter()
            .map(Transaction::transaction_id)
            .collect();
        assert_eq!(ids(&out), expected, "arrival order and canonical ids");

        // A partial batch waits for the input to run dry.
        let mut out = Vec::new();
        stage.process(
            batch_of(&[transfer(200).to_wire().unwrap()]),
            &mut out,
            &metrics,
        );
        assert!(out.is_empty());
        stage.flush(&mut out, &metrics);
        assert_eq!(ids(&out), vec![transfer(200).transaction_id()]);
        stage.flush(&mut out, &metrics);
        assert_eq!(out.len(), 1, "nothing pending, nothing published");
        assert_eq!(metrics.packets_out(), VERIFY_BATCH_SIGNATURES as u64 + 4);
    }

    #[test]
    fn a_forged_copy_pending_beside_the_real_one_does_not_shadow_it() {
        let (mut stage, metrics) = stage();
        let genuine = transfer(1);
        let mut forged = genuine.clone();
        forged.signatures[0].signature[0] ^= 1;
        let mut out = Vec::new();
        // Forged first, genuine second, in one gathered batch; then a duplicate and
        // garbage.
        stage.process(
            batch_of(&[forged.to_wire().unwrap(), genuine.to_wire().unwrap()]),
            &mut out,
            &metrics,
        );
        stage.process(
            batch_of(&[genuine.to_wire().unwrap(), vec![0xff; 10]]),
            &mut out,
            &metrics,
        );
        stage.flush(&mut out, &metrics);
        assert_eq!(ids(&out), vec![genuine.transaction_id()]);
        assert_eq!(metrics.drops("bad_signature"), 1);
        assert_eq!(
            metrics.drops("duplicate"),
            1,
            "the in-batch second genuine copy"
        );
        assert_eq!(metrics.drops("malformed"), 1);
        // Once verified, a later copy is dropped at parse time.
        stage.process(batch_of(&[genuine.to_wire().unwrap()]), &mut out, &metrics);
        stage.flush(&mut out, &metrics);
        assert_eq!(out.len(), 1);
        assert_eq!(metrics.drops("duplicate"), 2);
    }
}
