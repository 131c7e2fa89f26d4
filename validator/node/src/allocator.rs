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

#[allow(unsafe_code)]
fn set_purge_delay_ms(milliseconds: i64) {
    // SAFETY: `mi_option_set` only stores an integer in mimalloc's option table; it is
    // thread-safe and valid at any time after process start.
    unsafe { libmimalloc_sys::mi_option_set(OPTION_PURGE_DELAY, milliseconds as _) }
}

#[cfg(test)]
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
