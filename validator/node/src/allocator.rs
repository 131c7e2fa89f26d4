//! The process allocator: mimalloc, told to keep the memory it frees.
//!
//! Every slot the node builds and drops the same large structures (a block's writes,
//! its encoding, the state tree's new and released nodes, shreds). With mimalloc's
//! default `purge_delay` (1 s) freed pages go back to the kernel and come back as fresh
//! zeroed (often 2 MiB transparent huge) pages a moment later: the kernel's page
//! zeroing was about 5% of all CPU samples at 30k transfers per second. The working
//! set of a validator is steady, so the node keeps freed memory for reuse instead.
//! An operator who sets `MIMALLOC_PURGE_DELAY` in the environment keeps that value.
//!
//! The C and C++ code in the process (RocksDB above all) allocates through mimalloc
//! too: `libmimalloc-sys`'s `override` feature defines `malloc`, `free`, `operator new`
//! and the rest in this binary, which glibc documents as the supported way to replace
//! its allocator. With glibc's allocator, RocksDB built every slot's write batch (tens
//! of MiB, grown by doubling) and every memtable's arena in freshly mapped memory and
//! unmapped it afterwards, so the shred thread took about 250 page faults per second;
//! through mimalloc the memory is kept and reused (about 8 per second).

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_purge_delay`'s position in mimalloc's `mi_option_t` (v3; `libmimalloc-sys`
/// names some options but not this one). The test below checks it against the
/// environment variable mimalloc reads for that option.
const OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Environment variable that sets the purge delay (milliseconds, -1 = never).
const PURGE_DELAY_VARIABLE: &str = "MIMALLOC_PURGE_DELAY";

/// Stops mimalloc from returning freed memory to the kernel, unless the operator set
/// [`PURGE_DELAY_VARIABLE`].
pub fn keep_freed_memory() {
    if std::env::var_os(PURGE_DELAY_VARIABLE).is_none() {
        set_purge_delay_ms(-1);
    }
}

/// Bytes of each allocation [`prefault`] makes. Each is carved from one of mimalloc's
/// arenas and returned to it when freed; what matters is whether the node's later
/// allocations, mostly small objects made on other threads, then land on those touched
/// pages. With 1 and 2 MiB pieces they all do; from 4 MiB up mimalloc (v3) hands out
/// fresh pages for part of them instead: with 16 MiB pieces, as this constant was, about
/// 40% of small allocations still faulted in fresh (huge) pages, and the kernel's page
/// zeroing was about 1.6% of the node's CPU samples during a bench run. The test
/// `prefaulted_memory_serves_later_allocations` checks the reuse.
const PREFAULT_CHUNK_BYTES: usize = 1 << 20;

/// The page size [`prefault`] writes at (the smallest Linux x86-64 and arm64 use).
const PAGE_BYTES: usize = 4096;

/// What [`prefault`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prefault {
    /// `bytes` were faulted in and kept for reuse, in `elapsed`.
    Done {
        bytes: usize,
        elapsed: std::time::Duration,
    },
    /// Nothing: mimalloc returns freed memory to the kernel after `purge_delay_ms` (an
    /// operator's `MIMALLOC_PURGE_DELAY`), so pages touched now would not stay.
    SkippedPurging { purge_delay_ms: i64 },
}

/// Faults in `bytes` (rounded up to whole [`PREFAULT_CHUNK_BYTES`]) of memory and frees
/// it again. With purging off ([`keep_freed_memory`]) mimalloc keeps those pages, and
/// the allocations of the running node (state growing block by block, RocksDB's write
/// batches and memtables) reuse them instead of taking a page fault, and the kernel's
/// zeroing of a fresh page, on the data path. In a virtual machine the first touch of
/// a page can cost 2 ms per MiB; this moves it to start-up.
pub fn prefault(bytes: usize) -> Prefault {
    let purge_delay_ms = purge_delay_ms();
    if purge_delay_ms != -1 {
        return Prefault::SkippedPurging { purge_delay_ms };
    }
    let started = std::time::Instant::now();
    let layout = std::alloc::Layout::from_size_align(PREFAULT_CHUNK_BYTES, PAGE_BYTES)
        .expect("a valid layout");
    let chunks = bytes.div_ceil(PREFAULT_CHUNK_BYTES);
    let mut touched = Vec::with_capacity(chunks);
    for _ in 0..chunks {
        // SAFETY: `layout` has a non-zero size; the pointer is checked for null, each
        // write stays inside the allocation, and each allocation is freed once below
        // with the layout it was made with.
        #[allow(unsafe_code)]
        unsafe {
            let chunk = std::alloc::alloc(layout);
            if chunk.is_null() {
                break;
            }
            for offset in (0..PREFAULT_CHUNK_BYTES).step_by(PAGE_BYTES) {
                chunk.add(offset).write_volatile(0);
            }
            touched.push(chunk);
        }
    }
    let bytes = touched.len() * PREFAULT_CHUNK_BYTES;
    for chunk in touched {
        // SAFETY: allocated above with `layout` and not freed yet.
        #[allow(unsafe_code)]
        unsafe {
            std::alloc::dealloc(chunk, layout)
        };
    }
    Prefault::Done {
        bytes,
        elapsed: started.elapsed(),
    }
}

/// `MemAvailable` of `/proc/meminfo`, in bytes (`None` where there is no such file).
pub fn available_memory_bytes() -> Option<u64> {
    let meminfo = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = meminfo
        .lines()
        .find(|line| line.starts_with("MemAvailable:"))?;
    let kibibytes: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kibibytes * 1024)
}

#[allow(unsafe_code)]
fn set_purge_delay_ms(milliseconds: i64) {
    // SAFETY: `mi_option_set` only stores an integer in mimalloc's option table; it is
    // thread-safe and valid at any time after process start.
    unsafe { libmimalloc_sys::mi_option_set(OPTION_PURGE_DELAY, milliseconds as _) }
}

#[allow(unsafe_code)]
fn purge_delay_ms() -> i64 {
    // SAFETY: reads an integer from mimalloc's option table.
    unsafe { libmimalloc_sys::mi_option_get(OPTION_PURGE_DELAY) as i64 }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// C's `malloc` (what RocksDB's `operator new` calls) hands out mimalloc's memory.
    #[test]
    #[allow(unsafe_code)]
    fn c_allocations_come_from_mimalloc() {
        unsafe extern "C" {
            fn malloc(size: usize) -> *mut std::ffi::c_void;
            fn free(pointer: *mut std::ffi::c_void);
        }
        for size in [16, 4096, 8 << 20] {
            // SAFETY: a plain allocation, checked for null, asked about, then freed once.
            unsafe {
                let pointer = malloc(size);
                assert!(!pointer.is_null());
                assert!(
                    libmimalloc_sys::mi_is_in_heap_region(pointer),
                    "{size} bytes from malloc are not mimalloc's"
                );
                free(pointer);
            }
        }
    }

    /// Set only in the child processes: which case the child checks.
    const CHILD_CASE_VARIABLE: &str = "AETHER_TEST_ALLOCATOR_CASE";

    /// Runs `case` in a child process of this test binary (mimalloc reads its
    /// environment once, at start-up), with `MIMALLOC_PURGE_DELAY` set to `operator_value`
    /// or unset.
    fn run_child(test: &str, case: &str, operator_value: Option<&str>) {
        let mut command = std::process::Command::new(std::env::current_exe().unwrap());
        command
            .args(["--exact", test])
            .env(CHILD_CASE_VARIABLE, case)
            .env_remove(PURGE_DELAY_VARIABLE);
        if let Some(value) = operator_value {
            command.env(PURGE_DELAY_VARIABLE, value);
        }
        let status = command.status().unwrap();
        assert!(
            status.success(),
            "the child's check of {case} failed: {status}"
        );
    }

    /// Minor page faults of this process so far (`/proc/self/stat` field 10).
    fn minor_faults() -> u64 {
        let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
        let after_name = &stat[stat.rfind(')').unwrap() + 2..];
        after_name
            .split_whitespace()
            .nth(7)
            .unwrap()
            .parse()
            .unwrap()
    }

    /// Page faults taken while another thread (as the node's stages do) allocates and
    /// writes 64 MiB in 8 MiB pieces and about 100 MiB in one million small objects: at
    /// least 32 when the pages are fresh (one per 2 MiB huge page, or one per 4 KiB page).
    fn faults_of_fresh_allocations() -> u64 {
        std::thread::spawn(|| {
            let before = minor_faults();
            let pieces: Vec<Vec<u8>> = (0..8).map(|_| vec![1u8; 8 << 20]).collect();
            let small: Vec<Box<[u8; 96]>> = (0..1_000_000).map(|_| Box::new([1u8; 96])).collect();
            let after = minor_faults();
            assert!(pieces.iter().all(|piece| piece[piece.len() - 1] == 1));
            assert!(small.iter().all(|object| object[95] == 1));
            after - before
        })
        .join()
        .expect("the allocating thread")
    }

    /// After a prefault, new allocations reuse the touched pages and take (almost) no
    /// page faults; without one, the same allocations fault in fresh pages.
    #[test]
    fn prefaulted_memory_serves_later_allocations() {
        match std::env::var(CHILD_CASE_VARIABLE).as_deref() {
            Ok("prefaulted") => {
                keep_freed_memory();
                let Prefault::Done { bytes, .. } = prefault(256 << 20) else {
                    panic!("purging is off, so the prefault runs");
                };
                assert_eq!(bytes, 256 << 20);
                let faults = faults_of_fresh_allocations();
                assert!(faults < 20, "{faults} page faults after a prefault");
            }
            Ok("fresh") => {
                keep_freed_memory();
                let faults = faults_of_fresh_allocations();
                assert!(faults >= 32, "only {faults} page faults without a prefault");
            }
            _ => {
                for case in ["prefaulted", "fresh"] {
                    run_child(
                        "allocator::tests::prefaulted_memory_serves_later_allocations",
                        case,
                        None,
                    );
                }
            }
        }
    }

    /// An operator's purge delay would hand prefaulted pages back, so none are touched.
    #[test]
    fn prefault_is_skipped_while_mimalloc_purges() {
        match std::env::var(CHILD_CASE_VARIABLE).as_deref() {
            Ok("purging") => {
                keep_freed_memory();
                assert_eq!(
                    prefault(64 << 20),
                    Prefault::SkippedPurging { purge_delay_ms: 10 }
                );
            }
            _ => run_child(
                "allocator::tests::prefault_is_skipped_while_mimalloc_purges",
                "purging",
                Some("10"),
            ),
        }
    }

    #[test]
    fn available_memory_is_read() {
        let available = available_memory_bytes().expect("Linux has /proc/meminfo");
        assert!(available > 1 << 20, "{available} bytes available");
    }

    /// The option we name is the one mimalloc reads from `MIMALLOC_PURGE_DELAY`, and an
    /// operator's value survives `keep_freed_memory`.
    #[test]
    fn option_index_is_the_purge_delay() {
        match std::env::var(CHILD_CASE_VARIABLE).as_deref() {
            Ok("operator") => {
                assert_eq!(purge_delay_ms(), 4321);
                keep_freed_memory();
                assert_eq!(purge_delay_ms(), 4321, "an operator's setting is kept");
            }
            _ => run_child(
                "allocator::tests::option_index_is_the_purge_delay",
                "operator",
                Some("4321"),
            ),
        }
    }

    /// Without an operator's value, freed memory is never purged.
    #[test]
    fn keeping_freed_memory_disables_purging() {
        match std::env::var(CHILD_CASE_VARIABLE).as_deref() {
            Ok("default") => {
                assert_ne!(purge_delay_ms(), -1, "mimalloc purges by default");
                keep_freed_memory();
                assert_eq!(purge_delay_ms(), -1);
            }
            _ => run_child(
                "allocator::tests::keeping_freed_memory_disables_purging",
                "default",
                None,
            ),
        }
    }
}
