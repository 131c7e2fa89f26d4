//! Commit throughput (10,000-key blocks, 100-byte values) on both write paths, and read
//! latency of a random key in a 100,000-key store.
//!
//! `cargo bench -p aether-account-storage --bench storage`. Commit time is dominated by
//! the two fdatasyncs per block, so it depends on the disk more than on this code; the
//! positioned path is the same-run baseline for the io_uring path. In the test suite,
//! `cargo test --benches` runs each once as a smoke test.

// criterion_group! expands to undocumented public functions.
#![allow(missing_docs)]

use std::hint::black_box;
use std::time::Duration;

use aether_account_storage::{
    AccountStorage, BlockCommit, CompactionOptions, OpenOptions, WritePathPreference,
};
use aether_types::Hash;
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};

const BLOCK_KEYS: u64 = 10_000;
const VALUE_BYTES: usize = 100;
const READ_KEYS: u64 = 100_000;

fn key(index: u64) -> Hash {
    Hash::digest(&index.to_le_bytes())
}

fn options(write_path: WritePathPreference) -> OpenOptions {
    OpenOptions {
        write_path,
        compaction: CompactionOptions {
            background: false,
            ..CompactionOptions::default()
        },
        ..OpenOptions::default()
    }
}

fn block(first_key: u64) -> Vec<(Hash, Option<Vec<u8>>)> {
    (first_key..first_key + BLOCK_KEYS)
        .map(|index| (key(index), Some(vec![index as u8; VALUE_BYTES])))
        .collect()
}

fn commit_throughput(c: &mut Criterion) {
    let mut group = c.benchmark_group("commit_block_10k_keys");
    group.throughput(Throughput::Elements(BLOCK_KEYS));
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(10));
    for (name, path) in [
        ("io_uring", WritePathPreference::IoUring),
        ("positioned", WritePathPreference::Positioned),
    ] {
        let dir = tempfile::tempdir().expect("temporary directory");
        let Ok((store, _)) = AccountStorage::open(dir.path(), options(path)) else {
            eprintln!("{name}: unavailable here, skipped");
            continue;
        };
        let mut slot = 0u64;
        group.bench_function(name, |bencher| {
            bencher.iter_batched(
                || {
                    slot += 1;
                    (slot, block((slot % 50) * BLOCK_KEYS))
                },
                |(slot, writes)| {
                    let commit = BlockCommit {
                        slot,
                        block_hash: Hash::ZERO,
                        state_root: Hash::ZERO,
                        writes: &writes,
                    };
                    store.commit_block(commit).expect("commit");
                },
                BatchSize::LargeInput,
            );
        });
    }
    group.finish();
}

fn read_latency(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let (store, _) =
        AccountStorage::open(dir.path(), options(WritePathPreference::Auto)).expect("open");
    for chunk in 0..READ_KEYS / BLOCK_KEYS {
        let writes = block(chunk * BLOCK_KEYS);
        let commit = BlockCommit {
            slot: chunk,
            block_hash: Hash::ZERO,
            state_root: Hash::ZERO,
            writes: &writes,
        };
        store.commit_block(commit).expect("commit");
    }
    let mut index = 0u64;
    c.bench_function("get_random_key_of_100k", |bencher| {
        bencher.iter(|| {
            index = (index + 7_919) % READ_KEYS;
            let value = store.get(&key(index)).expect("read").expect("present");
            assert_eq!(value.len(), VALUE_BYTES);
            black_box(value)
        });
    });
}

criterion_group!(benches, commit_throughput, read_latency);
criterion_main!(benches);
