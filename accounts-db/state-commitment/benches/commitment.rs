//! One block's state-commitment update: 10k updated keys (half overwrites, half new keys)
//! in a 1M-key state, for this crate and for Penumbra's `jmt` (Jellyfish Merkle tree, its
//! in-memory `MockTreeStore`, BLAKE3 as its hasher) on the same keys and values in the
//! same run. Also the 1M-key bulk build used at start-up.
//!
//! Sizes: 1M keys / 10k updates under `cargo bench`; 10k keys / 1k updates when criterion
//! runs each bench once as a test (`cargo test --benches`). Either way the results are
//! checked (roots against a rebuild, proofs verified) before anything is timed.
//!
//! Variants: `*_cpu` report the calling thread's CPU time (`CLOCK_THREAD_CPUTIME_ID`, so
//! other processes on the machine do not inflate it); `*_wall` wall time. `jmt` is
//! single-threaded. `*_apply_*` time the update alone: hashing the values, sorting the
//! batch, building the new version (ours: the new nodes; jmt: its `TreeUpdateBatch` of new
//! nodes, not written to the store). The other variants also drop that result inside the
//! timing (for us, freeing the version's own nodes: what pruning a block's tree costs
//! later). The global allocator is mimalloc, as in the validator binary.
#![allow(missing_docs)]

use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::{Duration, Instant};

use aether_state_commitment::{Batch, Hash, Parallelism, Tree, value_hash, verify_proof};
use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use jmt::mock::MockTreeStore;
use jmt::storage::TreeUpdateBatch;
use jmt::{JellyfishMerkleTree, KeyHash, RootHash, SimpleHasher};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

struct Sizes {
    state_keys: u64,
    updated_keys: u64,
}

fn sizes() -> Sizes {
    if std::env::args().any(|argument| argument == "--bench") {
        Sizes {
            state_keys: 1_000_000,
            updated_keys: 10_000,
        }
    } else {
        Sizes {
            state_keys: 10_000,
            updated_keys: 1_000,
        }
    }
}

/// A deterministic pseudo-random 32 bytes.
fn bytes32(stream: u64, index: u64) -> [u8; 32] {
    let mut input = [0u8; 16];
    input[..8].copy_from_slice(&stream.to_le_bytes());
    input[8..].copy_from_slice(&index.to_le_bytes());
    *blake3::hash(&input).as_bytes()
}

/// The state (sorted by key, 32-byte values) and one block's updates: even indices
/// overwrite a pseudo-randomly chosen existing key, odd indices insert a new key.
struct Workload {
    state: Vec<(Hash, [u8; 32])>,
    updates: Vec<(Hash, [u8; 32])>,
}

fn workload(sizes: &Sizes) -> Workload {
    let mut state: Vec<(Hash, [u8; 32])> = (0..sizes.state_keys)
        .map(|index| (Hash(bytes32(1, index)), bytes32(2, index)))
        .collect();
    state.sort_unstable_by_key(|entry| entry.0);
    let updates = (0..sizes.updated_keys)
        .map(|index| {
            let key = if index % 2 == 0 {
                let pick = u64::from_le_bytes(bytes32(3, index)[..8].try_into().unwrap());
                state[(pick % sizes.state_keys) as usize].0
            } else {
                Hash(bytes32(4, index))
            };
            (key, bytes32(5, index))
        })
        .collect();
    Workload { state, updates }
}

/// CPU time the calling thread has used so far.
fn thread_cpu_time() -> Duration {
    let time = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
    Duration::new(time.tv_sec as u64, time.tv_nsec as u32)
}

/// The calling thread's CPU time for `iterations` runs of `routine`, each result dropped
/// inside the timing.
fn cpu_time_of<O>(iterations: u64, mut routine: impl FnMut() -> O) -> Duration {
    let start = thread_cpu_time();
    for _ in 0..iterations {
        black_box(routine());
    }
    thread_cpu_time() - start
}

/// The calling thread's CPU time for `iterations` runs of `routine`, each result dropped
/// outside the timing.
fn cpu_time_without_drop<O>(iterations: u64, mut routine: impl FnMut() -> O) -> Duration {
    let mut total = Duration::ZERO;
    for _ in 0..iterations {
        let start = thread_cpu_time();
        let output = black_box(routine());
        total += thread_cpu_time() - start;
        drop(output);
    }
    total
}

/// jmt with BLAKE3, so both trees pay for the same hash function.
struct Blake3Hasher(blake3::Hasher);

impl SimpleHasher for Blake3Hasher {
    fn new() -> Self {
        Blake3Hasher(blake3::Hasher::new())
    }
    fn update(&mut self, data: &[u8]) {
        self.0.update(data);
    }
    fn finalize(self) -> [u8; 32] {
        *self.0.finalize().as_bytes()
    }
}

type Jmt<'a> = JellyfishMerkleTree<'a, MockTreeStore, Blake3Hasher>;

fn ours_update(tree: &Tree, updates: &[(Hash, [u8; 32])], parallelism: Parallelism) -> Tree {
    let batch = Batch::from_values(updates.iter().map(|(key, value)| (*key, Some(value))));
    tree.apply_with(&batch, parallelism)
}

fn jmt_update(store: &MockTreeStore, updates: &[(Hash, [u8; 32])]) -> (RootHash, TreeUpdateBatch) {
    Jmt::new(store)
        .put_value_set(
            updates
                .iter()
                .map(|(key, value)| (KeyHash(key.0), Some(value.to_vec()))),
            1,
        )
        .expect("jmt update")
}

/// Checks this crate's update against a rebuild of the updated set, and proofs.
fn check_ours(base: &Tree, next: &Tree, workload: &Workload) {
    let mut model: BTreeMap<Hash, [u8; 32]> = workload.state.iter().copied().collect();
    model.extend(workload.updates.iter().copied());
    let rebuilt = Tree::from_sorted(model.iter().map(|(key, value)| (*key, value))).unwrap();
    assert_eq!(next.root(), rebuilt.root());
    assert_eq!(next.len(), model.len() as u64);
    for (key, value) in workload.updates.iter().rev().take(100) {
        verify_proof(&next.root(), key, Some(value), &next.prove(key)).unwrap();
    }
    let (untouched, value) = workload.state[workload.state.len() / 3];
    if !workload.updates.iter().any(|(key, _)| *key == untouched) {
        verify_proof(
            &base.root(),
            &untouched,
            Some(&value),
            &base.prove(&untouched),
        )
        .unwrap();
        verify_proof(
            &next.root(),
            &untouched,
            Some(&value),
            &next.prove(&untouched),
        )
        .unwrap();
    }
}

/// Checks jmt's update by writing it (once, after timing) and proving updated keys.
fn check_jmt(store: &MockTreeStore, workload: &Workload) {
    let (root, batch) = jmt_update(store, &workload.updates);
    store.write_tree_update_batch(batch).unwrap();
    let tree = Jmt::new(store);
    let last_write: BTreeMap<Hash, [u8; 32]> = workload.updates.iter().copied().collect();
    for (key, value) in last_write.iter().take(100) {
        let (found, proof) = tree.get_with_proof(KeyHash(key.0), 1).unwrap();
        assert_eq!(found.as_deref(), Some(value.as_slice()));
        proof.verify(root, KeyHash(key.0), Some(value)).unwrap();
    }
}

/// Interleaved same-run comparison on thread CPU time, printed as one line.
fn print_summary(label: &str, tree: &Tree, store: &MockTreeStore, workload: &Workload) {
    let rounds = 10;
    let updates = &workload.updates;
    let mut totals = [Duration::ZERO; 4];
    for _ in 0..rounds {
        totals[0] +=
            cpu_time_without_drop(1, || ours_update(tree, updates, Parallelism::Sequential));
        totals[1] += cpu_time_of(1, || ours_update(tree, updates, Parallelism::Sequential));
        totals[2] += cpu_time_without_drop(1, || jmt_update(store, updates));
        totals[3] += cpu_time_of(1, || jmt_update(store, updates));
    }
    let per_key = |total: Duration| total.as_secs_f64() * 1e6 / (rounds * updates.len()) as f64;
    eprintln!(
        "summary {label}, thread CPU per updated key, {rounds} interleaved rounds: \
         aether sequential apply {:.3} us, apply+drop {:.3} us; \
         jmt apply {:.3} us, apply+drop {:.3} us; \
         jmt/aether {:.1}x (apply), {:.1}x (apply+drop)",
        per_key(totals[0]),
        per_key(totals[1]),
        per_key(totals[2]),
        per_key(totals[3]),
        totals[2].as_secs_f64() / totals[0].as_secs_f64(),
        totals[3].as_secs_f64() / totals[1].as_secs_f64(),
    );
}

fn bench(criterion: &mut Criterion) {
    let sizes = sizes();
    let workload = workload(&sizes);
    let label = format!(
        "{}k_keys_{}k_updates",
        sizes.state_keys / 1000,
        sizes.updated_keys / 1000
    );

    let started = Instant::now();
    let tree = Tree::from_sorted(workload.state.iter().map(|(key, value)| (*key, value))).unwrap();
    eprintln!(
        "aether bulk build of {} keys: {:?} wall (rayon, first run)",
        tree.len(),
        started.elapsed()
    );
    let started = Instant::now();
    let store = MockTreeStore::default();
    let (_, batch) = Jmt::new(&store)
        .put_value_set(
            workload
                .state
                .iter()
                .map(|(key, value)| (KeyHash(key.0), Some(value.to_vec()))),
            0,
        )
        .expect("jmt build");
    store.write_tree_update_batch(batch).unwrap();
    eprintln!(
        "jmt build of {} keys: {:?} wall (one put_value_set, then written to its mock store)",
        sizes.state_keys,
        started.elapsed()
    );

    // Correctness first, on exactly what is timed.
    let sequential = ours_update(&tree, &workload.updates, Parallelism::Sequential);
    let parallel = ours_update(&tree, &workload.updates, Parallelism::Rayon);
    assert_eq!(parallel.root(), sequential.root());
    check_ours(&tree, &sequential, &workload);
    drop((sequential, parallel));

    print_summary(&label, &tree, &store, &workload);

    let updates = &workload.updates;
    let mut group = criterion.benchmark_group(format!("update_{label}"));
    group.throughput(Throughput::Elements(sizes.updated_keys));
    group.sampling_mode(SamplingMode::Flat);
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(15));
    group.bench_function("aether_sequential_apply_cpu", |bencher| {
        bencher.iter_custom(|iterations| {
            cpu_time_without_drop(iterations, || {
                ours_update(&tree, updates, Parallelism::Sequential)
            })
        })
    });
    group.bench_function("aether_sequential_cpu", |bencher| {
        bencher.iter_custom(|iterations| {
            cpu_time_of(iterations, || {
                ours_update(&tree, updates, Parallelism::Sequential)
            })
        })
    });
    group.bench_function("aether_sequential_wall", |bencher| {
        bencher.iter(|| ours_update(&tree, updates, Parallelism::Sequential))
    });
    group.bench_function("aether_rayon_wall", |bencher| {
        bencher.iter(|| ours_update(&tree, updates, Parallelism::Rayon))
    });
    group.measurement_time(Duration::from_secs(30));
    group.bench_function("jmt_apply_cpu", |bencher| {
        bencher.iter_custom(|iterations| {
            cpu_time_without_drop(iterations, || jmt_update(&store, updates))
        })
    });
    group.bench_function("jmt_cpu", |bencher| {
        bencher.iter_custom(|iterations| cpu_time_of(iterations, || jmt_update(&store, updates)))
    });
    group.bench_function("jmt_wall", |bencher| {
        bencher.iter(|| jmt_update(&store, updates))
    });
    group.finish();

    let mut group =
        criterion.benchmark_group(format!("bulk_build_{}k_keys", sizes.state_keys / 1000));
    group.throughput(Throughput::Elements(sizes.state_keys));
    group.sampling_mode(SamplingMode::Flat);
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    let hashed: Vec<(Hash, Hash)> = workload
        .state
        .iter()
        .map(|(key, value)| (*key, value_hash(value)))
        .collect();
    group.bench_function("aether_from_sorted_values_rayon_wall", |bencher| {
        bencher.iter(|| {
            Tree::from_sorted(workload.state.iter().map(|(key, value)| (*key, value))).unwrap()
        })
    });
    group.bench_function("aether_from_sorted_hashed_rayon_wall", |bencher| {
        bencher.iter(|| Tree::from_sorted_hashed(hashed.iter().copied()).unwrap())
    });
    group.bench_function("aether_from_sorted_hashed_sequential_cpu", |bencher| {
        bencher.iter_custom(|iterations| {
            cpu_time_of(iterations, || {
                Tree::from_sorted_hashed_with(hashed.iter().copied(), Parallelism::Sequential)
                    .unwrap()
            })
        })
    });
    group.finish();

    check_jmt(&store, &workload);
}

criterion_group!(benches, bench);
criterion_main!(benches);
