//! Block execution: sequential reference against the parallel executor, on blocks of
//! independent transfers (the no-conflict case the scheduler is built for).
//!
//! `cargo test --benches` runs each once at the tiny size and checks that both
//! executors accept every transfer.

#![allow(missing_docs)] // criterion_group! generates undocumented items.

use aether_crypto::ed25519::Ed25519SecretKey;
use aether_ledger::{
    Executor, LedgerParams, MemoryState, TransferRequest, build_transfer, execute_sequential,
    rules::output_state_value,
};
use aether_types::{Hash, Lock, Output, OutputReference, Transaction, ValidityWindow, Value};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

fn block(count: usize) -> (MemoryState, Vec<(Transaction, Hash)>) {
    let key = Ed25519SecretKey::from_seed(&[7; 32]);
    let lock = Lock::for_public_key(&key.public_key().0);
    let mut state = MemoryState::new();
    let mut transactions = Vec::with_capacity(count);
    for index in 0..count {
        let reference = OutputReference {
            transaction_id: Hash([9; 32]),
            index: index as u16,
        };
        let output = Output {
            lock,
            value: Value::from_aeth(1_000_000),
            datum: None,
        };
        state.insert(reference.key(), output_state_value(&reference, &output));
        let transaction = build_transfer(&TransferRequest {
            inputs: &[(reference, 1_000_000)],
            signer: &key,
            to: Lock::for_public_key(&[index as u8; 32]),
            amount: 1_000,
            params: LedgerParams::DEFAULT,
            validity: ValidityWindow {
                first_slot: 0,
                last_slot: 100,
            },
        })
        .expect("transfer builds");
        let id = transaction.transaction_id();
        transactions.push((transaction, id));
    }
    (state, transactions)
}

fn execution(criterion: &mut Criterion) {
    let full_size = std::env::args().any(|argument| argument == "--bench");
    let (state, transactions) = block(if full_size { 4096 } else { 8 });
    let params = LedgerParams::DEFAULT;
    let executor = Executor::new(std::thread::available_parallelism().map_or(2, |n| n.get()))
        .expect("pool starts");
    assert_eq!(
        execute_sequential(&state, &transactions, 1, &params).accepted_count(),
        transactions.len()
    );
    assert_eq!(
        executor
            .execute(&state, &transactions, 1, &params)
            .accepted_count(),
        transactions.len()
    );
    let mut group = criterion.benchmark_group("execute_block");
    group.throughput(Throughput::Elements(transactions.len() as u64));
    group.bench_function(
        BenchmarkId::new("sequential", transactions.len()),
        |bencher| bencher.iter(|| execute_sequential(&state, &transactions, 1, &params)),
    );
    group.bench_function(
        BenchmarkId::new(
            format!("parallel_{}", executor.workers()),
            transactions.len(),
        ),
        |bencher| bencher.iter(|| executor.execute(&state, &transactions, 1, &params)),
    );
    group.finish();
}

criterion_group!(benches, execution);
criterion_main!(benches);
