//! Block execution: sequential reference against the parallel executor, on blocks of
//! independent transfers (the no-conflict case the scheduler is built for).
//!
//! `cargo test --benches` runs each once at the tiny size and checks that both
//! executors accept every transfer.

#![allow(missing_docs)] // criterion_group! generates undocumented items.

use aether_ledger::sample_blocks::independent_transfers;
use aether_ledger::{Executor, LedgerParams, execute_sequential};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

fn execution(criterion: &mut Criterion) {
    let full_size = std::env::args().any(|argument| argument == "--bench");
    let (state, transactions) = independent_transfers(if full_size { 4096 } else { 8 });
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
