//! Per-stage costs of the pipeline's pure logic, each next to its floor measured in
//! the same run:
//!
//! - `sigverify_stage`: parse + dedup + backend call for a batch of 128 transfers,
//!   against the backend's raw verification of the same signatures (the stage's
//!   overhead is the gap).
//! - `mempool`: inserting and popping transactions, best fee per byte first.
//! - `parse`: decoding a batch of 128 transfer packets with their ids (hashed through
//!   BLAKE3's SIMD lanes); and the ids alone, one BLAKE3 per body against the lanes.
//!
//! `cargo test --benches` runs each once at a tiny size and checks the results.

#![allow(missing_docs)] // criterion_group! generates undocumented items.

use std::sync::Arc;
use std::time::Instant;

use aether_crypto::ed25519::{Ed25519PublicKey, Ed25519SecretKey, Ed25519Signature, SignedMessage};
use aether_kernels::{CpuSigVerify, SigVerify, VerifyItem};
use aether_ledger::{LedgerParams, TransferRequest, build_transfer};
use aether_pipeline::mempool::Mempool;
use aether_pipeline::metrics::StageMetrics;
use aether_pipeline::packet::{BATCH_PACKETS_MAX, Packet, PacketBatch};
use aether_pipeline::sigverify::{SIGVERIFY_DROP_REASONS, SigverifyStage, VerifiedTransaction};
use aether_types::{Hash, Lock, OutputReference, Transaction, ValidityWindow, hash_lanes};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

fn transfers(count: usize) -> Vec<Transaction> {
    let key = Ed25519SecretKey::from_seed(&[5; 32]);
    (0..count)
        .map(|index| {
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
                amount: 1_000 + index as u64,
                params: LedgerParams::DEFAULT,
                validity: ValidityWindow {
                    first_slot: 0,
                    last_slot: 1_000,
                },
            })
            .expect("transfer builds")
        })
        .collect()
}

fn batch(transactions: &[Transaction]) -> PacketBatch {
    let mut batch = PacketBatch::with_capacity();
    for transaction in transactions {
        let wire = transaction.to_wire().expect("wire");
        batch
            .packets
            .push(Packet::from_bytes(&wire, None).expect("fits"));
    }
    batch
}

fn sigverify(criterion: &mut Criterion) {
    let transactions = transfers(BATCH_PACKETS_MAX);
    let backend: Arc<dyn SigVerify> = Arc::new(CpuSigVerify::new(0, 64).expect("pool"));
    let metrics = StageMetrics::new("sigverify", SIGVERIFY_DROP_REASONS);
    // Correctness first: every transfer passes once, then as a duplicate it is dropped.
    let mut stage = SigverifyStage::new(backend.clone());
    assert_eq!(
        stage
            .verify(batch(&transactions), &metrics)
            .transactions
            .len(),
        transactions.len()
    );
    assert!(
        stage
            .verify(batch(&transactions), &metrics)
            .transactions
            .is_empty()
    );
    assert_eq!(metrics.drops("duplicate"), transactions.len() as u64);

    let owned: Vec<SignedMessage> = transactions
        .iter()
        .map(|transaction| {
            let signature = transaction.signatures[0];
            SignedMessage {
                public_key: Ed25519PublicKey(signature.public_key),
                message: transaction.transaction_id().as_bytes().to_vec(),
                signature: Ed25519Signature(signature.signature),
            }
        })
        .collect();
    let items: Vec<VerifyItem<'_>> = owned.iter().map(SignedMessage::as_item).collect();
    let mut group = criterion.benchmark_group("sigverify_stage");
    group.throughput(Throughput::Elements(transactions.len() as u64));
    group.bench_function("backend_only", |bencher| {
        let mut decisions = vec![false; items.len()];
        bencher.iter(|| {
            backend
                .verify_batch(&items, &mut decisions)
                .expect("verifies")
        })
    });
    group.bench_function("stage_parse_dedup_verify", |bencher| {
        bencher.iter_custom(|iterations| {
            let mut total = std::time::Duration::ZERO;
            for _ in 0..iterations {
                // A fresh stage each time so nothing is a duplicate.
                let mut stage = SigverifyStage::new(backend.clone());
                let input = batch(&transactions);
                let started = Instant::now();
                let verified = stage.verify(input, &metrics);
                total += started.elapsed();
                assert_eq!(verified.transactions.len(), transactions.len());
            }
            total
        })
    });
    group.finish();
}

fn mempool(criterion: &mut Criterion) {
    let full_size = std::env::args().any(|argument| argument == "--bench");
    let count = if full_size { 10_000 } else { 100 };
    let verified: Vec<VerifiedTransaction> = transfers(count.min(256))
        .into_iter()
        .cycle()
        .take(count)
        .enumerate()
        .map(|(index, mut transaction)| {
            transaction.body.fee += index as u64 % 97;
            VerifiedTransaction {
                id: transaction.transaction_id(),
                wire_bytes: 200,
                transaction,
                received_at: Instant::now(),
            }
        })
        .collect();
    let mut group = criterion.benchmark_group("mempool");
    group.throughput(Throughput::Elements(count as u64));
    group.bench_function("insert_then_pop_all", |bencher| {
        bencher.iter(|| {
            let mut mempool = Mempool::new(count);
            for transaction in verified.iter().cloned() {
                mempool.insert(transaction).expect("room");
            }
            let popped = mempool.pop_best(count);
            assert_eq!(popped.len(), count);
            assert!(
                popped
                    .windows(2)
                    .all(|pair| { pair[0].transaction.body.fee >= pair[1].transaction.body.fee })
            );
        })
    });
    group.finish();
}

/// The sigverify stage's parse: a batch of transfer packets decoded with their ids (the
/// ids hashed through SIMD lanes); and the ids alone, one BLAKE3 per body against the
/// lanes.
fn parse(criterion: &mut Criterion) {
    let transactions = transfers(BATCH_PACKETS_MAX);
    let wires: Vec<Vec<u8>> = transactions
        .iter()
        .map(|transaction| transaction.to_wire().expect("wire"))
        .collect();
    let slices: Vec<&[u8]> = wires.iter().map(Vec::as_slice).collect();
    let mut group = criterion.benchmark_group("parse");
    group.throughput(Throughput::Elements(slices.len() as u64));
    let bodies: Vec<Vec<u8>> = transactions
        .iter()
        .map(|transaction| aether_types::encode(&transaction.body))
        .collect();
    let bodies: Vec<&[u8]> = bodies.iter().map(Vec::as_slice).collect();
    let ids: Vec<Hash> = transactions
        .iter()
        .map(Transaction::transaction_id)
        .collect();
    let grouped = hash_lanes::hash_grouped(&hash_lanes::Mode::plain(), &bodies);
    assert_eq!(grouped, ids, "grouped ids are the transaction ids");
    let decoded: Vec<(Transaction, Hash)> = Transaction::from_wire_batch(&slices)
        .into_iter()
        .collect::<Result<_, _>>()
        .expect("transfers decode");
    assert_eq!(
        decoded,
        transactions.into_iter().zip(ids).collect::<Vec<_>>()
    );
    group.bench_function("ids_one_by_one", |bencher| {
        bencher.iter(|| {
            bodies
                .iter()
                .map(|body| Hash::digest(body))
                .collect::<Vec<_>>()
        })
    });
    group.bench_function("ids_grouped", |bencher| {
        bencher.iter(|| hash_lanes::hash_grouped(&hash_lanes::Mode::plain(), &bodies))
    });
    group.bench_function("batch", |bencher| {
        bencher.iter(|| Transaction::from_wire_batch(&slices))
    });
    group.finish();
}

criterion_group!(benches, sigverify, mempool, parse);
criterion_main!(benches);
