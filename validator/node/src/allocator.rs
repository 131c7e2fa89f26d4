//! The process allocator: mimalloc, told to keep the memory it frees.
//!
//! Every slot the node builds and drops the same large structures (a block's writes,
//! its encoding, the state tree's new and released nodes, shreds). With mimalloc's
//! default `purge_delay` (1 s) freed pages go back to the kernel and come back as fresh
//! zeroed (often 2 MiB transparent huge) pages a moment later: the kernel's page
//! zeroing was about 5% of all CPU samples at 30k transfers per second. The working
//! set of a validator is steady, so the node keeps freed memory for reuse instead.
//! An operator who sets `MIMALLOC_PURGE_DELAY` in the environment keeps that value.

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

    /// Set only in the child process of [`option_index_is_the_purge_delay`].
    const EXPECTED_VARIABLE: &str = "AETHER_TEST_EXPECTED_PURGE_DELAY";

    #[test]
    fn option_index_is_the_purge_delay() {
        if let Some(expected) = std::env::var_os(EXPECTED_VARIABLE) {
            // Child: mimalloc read the variable at start-up into the option we name.
            let expected: i64 = expected.to_str().unwrap().parse().unwrap();
            assert_eq!(purge_delay_ms(), expected);
            keep_freed_memory();
            assert_eq!(purge_delay_ms(), expected, "an operator's setting is kept");
            return;
        }
        let status = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "allocator::tests::option_index_is_the_purge_delay",
            ])
            .env(PURGE_DELAY_VARIABLE, "4321")
            .env(EXPECTED_VARIABLE, "4321")
            .status()
            .unwrap();
        assert!(status.success(), "the child test failed: {status}");
    }

    #[test]
    fn keeping_freed_memory_disables_purging() {
        if std::env::var_os(PURGE_DELAY_VARIABLE).is_some() {
            return; // the operator's value wins; covered by the test above
        }
        keep_freed_memory();
        assert_eq!(purge_delay_ms(), -1);
    }
}
