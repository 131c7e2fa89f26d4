//! THE KILL TEST: a writer child process commits deterministic pseudo-random blocks (and
//! compacts) in a loop, printing `finalized <slot> <root>` after each `commit_block`
//! returns; the parent SIGKILLs it after a random delay, reopens the store and checks:
//! - the last committed slot is at least the last slot the child reported final;
//! - the live state equals the deterministic expected state at exactly that slot
//!   (so nothing of a later, uncommitted block is visible and nothing is half-written);
//! - the committed root equals a from-scratch recomputation over `iter_live` (open also
//!   verifies it) and the root the child reported for that slot.
//!
//! The child is this test binary re-executed with `AETHER_CRASH_CHILD_DIR` set (the
//! `crash_writer_child` test is a no-op without it). Iterations: 50 by default,
//! `AETHER_CRASH_ITERATIONS=N` for more; `AETHER_CRASH_SEED=S` replays a run's kill
//! delays. The store directory persists across iterations, so each child recovers the
//! previous child's crash. Even iterations use the io_uring path (where available), odd
//! ones the positioned fallback.

mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aether_account_storage::{
    AccountStorage, BlockCommit, CompactionOptions, OpenOptions, WritePathPreference,
};
use aether_types::Hash;
use common::{SplitMix, apply, key, live, root_of, test_root};

const CHILD_DIR_ENV: &str = "AETHER_CRASH_CHILD_DIR";
const CHILD_PATH_ENV: &str = "AETHER_CRASH_CHILD_WRITE_PATH";
const ITERATIONS_ENV: &str = "AETHER_CRASH_ITERATIONS";
const SEED_ENV: &str = "AETHER_CRASH_SEED";
const DEFAULT_ITERATIONS: u64 = 50;
/// Key space: small enough that keys are overwritten and deleted often (dead data for
/// compaction), large enough for several segments of live data.
const KEY_SPACE: u64 = 300;
/// A child stops by itself after this long, should the parent die.
const CHILD_LIFETIME_MAX: Duration = Duration::from_secs(60);

/// The writes of block `slot`: deterministic, independent of the process that asks.
fn block_writes(slot: u64) -> Vec<(Hash, Option<Vec<u8>>)> {
    let mut rng = SplitMix(slot.wrapping_mul(0x2545_f491_4f6c_dd1d) ^ 0x5eed);
    let count = 1 + rng.below(24);
    (0..count)
        .map(|_| {
            let index = rng.below(KEY_SPACE);
            if rng.below(5) == 0 {
                return (key(index), None);
            }
            let len = if rng.below(20) == 0 {
                4000 + rng.below(9000)
            } else {
                rng.below(1200)
            } as usize;
            let mut value = vec![0u8; len];
            let mut hasher = blake3::Hasher::new();
            hasher.update(&slot.to_le_bytes());
            hasher.update(&index.to_le_bytes());
            hasher.finalize_xof().fill(&mut value);
            (key(index), Some(value))
        })
        .collect()
}

/// The expected state after blocks `1..=slot`, replayed from scratch.
fn expected_state(slot: u64) -> BTreeMap<Hash, Vec<u8>> {
    let mut model = BTreeMap::new();
    for block in 1..=slot {
        apply(&mut model, &block_writes(block));
    }
    model
}

/// Small segments and eager compaction, so that kills land mid-compaction and mid-roll.
fn store_options(write_path: WritePathPreference, background: bool) -> OpenOptions {
    OpenOptions {
        write_path,
        segment_bytes_target: 32 * 1024,
        compaction: CompactionOptions {
            background,
            interval: Duration::from_millis(2),
            reclaimable_percent_min: 30,
            batch_bytes: 4096,
        },
        state_root: Some(Arc::new(test_root)),
        index_keys_reserved: 0,
    }
}

/// The child's body; does nothing unless re-executed by the parent.
#[test]
fn crash_writer_child() {
    let Some(dir) = std::env::var_os(CHILD_DIR_ENV) else {
        return;
    };
    let write_path = match std::env::var(CHILD_PATH_ENV).as_deref() {
        Ok("positioned") => WritePathPreference::Positioned,
        _ => WritePathPreference::Auto,
    };
    let (store, report) =
        AccountStorage::open(&dir, store_options(write_path, true)).expect("child open");
    let mut model: BTreeMap<Hash, Vec<u8>> = live(&store);
    let mut slot = report.last_committed.map_or(0, |block| block.slot);
    let started = Instant::now();
    while started.elapsed() < CHILD_LIFETIME_MAX {
        slot += 1;
        let writes = block_writes(slot);
        apply(&mut model, &writes);
        let root = root_of(&model);
        let block = BlockCommit {
            slot,
            block_hash: Hash::digest(&slot.to_le_bytes()),
            state_root: root,
            writes: &writes,
        };
        store.commit_block(block).expect("child commit");
        println!("finalized {slot} {root}");
        if slot % 5 == 0 {
            println!("compaction start");
            store.compact().expect("child compaction");
            println!("compaction end");
        }
    }
}

/// What the child printed before it died.
#[derive(Debug, Default)]
struct ChildOutput {
    finalized: Vec<(u64, Hash)>,
    /// The last complete line was "compaction start": the kill hit a compaction pass.
    mid_compaction: bool,
}

fn read_child_output(stdout: impl std::io::Read) -> ChildOutput {
    let mut output = ChildOutput::default();
    let mut reader = BufReader::new(stdout);
    let mut line = String::new();
    // Only complete lines count: a kill can cut the last one.
    while reader.read_line(&mut line).unwrap_or(0) > 0 && line.ends_with('\n') {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["finalized", slot, root] => {
                output
                    .finalized
                    .push((slot.parse().unwrap(), root.parse().unwrap()));
                output.mid_compaction = false;
            }
            ["compaction", "start"] => output.mid_compaction = true,
            ["compaction", "end"] => output.mid_compaction = false,
            _ => {}
        }
        line.clear();
    }
    output
}

#[test]
fn sigkill_at_random_moments_loses_nothing_final() {
    let iterations: u64 = std::env::var(ITERATIONS_ENV)
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or(DEFAULT_ITERATIONS);
    let seed: u64 = std::env::var(SEED_ENV)
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or_else(|| {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        });
    eprintln!("kill test: {iterations} iterations, {SEED_ENV}={seed}");
    let dir = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let mut rng = SplitMix(seed);
    let mut reported_max = 0u64;
    let (mut torn_tails, mut mid_compaction, mut productive) = (0u64, 0u64, 0u64);
    let started = Instant::now();
    for iteration in 0..iterations {
        let write_path = if iteration % 2 == 0 {
            "auto"
        } else {
            "positioned"
        };
        let mut child = Command::new(&exe)
            .args([
                "--exact",
                "crash_writer_child",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_DIR_ENV, dir.path())
            .env(CHILD_PATH_ENV, write_path)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let reader = std::thread::spawn(move || read_child_output(stdout));
        std::thread::sleep(Duration::from_millis(10 + rng.below(190)));
        child.kill().unwrap(); // SIGKILL on Unix
        child.wait().unwrap();
        let output = reader.join().unwrap();
        if let Some(&(slot, _)) = output.finalized.last() {
            reported_max = reported_max.max(slot);
            productive += 1;
        }
        mid_compaction += u64::from(output.mid_compaction);

        let context = format!("iteration {iteration} ({write_path}), {SEED_ENV}={seed}");
        let (store, report) =
            AccountStorage::open(dir.path(), store_options(WritePathPreference::Auto, false))
                .unwrap_or_else(|error| panic!("{context}: reopen failed: {error}"));
        torn_tails += u64::from(report.torn_tail.is_some());
        let last = store.last_committed();
        let slot = last.map_or(0, |block| block.slot);
        assert!(
            slot >= reported_max,
            "{context}: store at slot {slot}, child reported {reported_max} final"
        );
        let expected = expected_state(slot);
        let found = live(&store);
        assert!(
            found == expected,
            "{context}: state at slot {slot} differs from the replay ({} keys vs {})",
            found.len(),
            expected.len()
        );
        if let Some(last) = last {
            assert!(report.state_root_verified, "{context}");
            assert_eq!(
                last.state_root,
                root_of(&expected),
                "{context}: committed root"
            );
            assert_eq!(
                test_root(&mut found.into_iter()),
                last.state_root,
                "{context}: recomputed root"
            );
            if let Some((_, root)) = output
                .finalized
                .iter()
                .find(|(reported, _)| *reported == slot)
            {
                assert_eq!(*root, last.state_root, "{context}: root the child reported");
            }
        }
        store.check_invariants();
    }
    eprintln!(
        "kill test: {iterations} kills in {:.1} s; {productive} children finalized blocks, last slot {reported_max}; {torn_tails} torn tails cut; {mid_compaction} kills during a compaction pass",
        started.elapsed().as_secs_f64()
    );
    assert!(
        productive * 2 >= iterations,
        "most children must get to write before the kill"
    );
    assert!(
        torn_tails > 0 || iterations < 20,
        "some kills should land mid-group"
    );
}
