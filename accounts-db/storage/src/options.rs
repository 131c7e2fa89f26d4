//! Options of [`crate::AccountStorage::open`], validated once at open.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use aether_types::Hash;

use crate::error::{Result, StorageError};
use crate::format::{MAX_GROUP_BYTES, SEGMENT_HEADER_LEN};
use crate::report::WritePathPreference;

/// Computes a state root from every live `(key, value)` pair, given once each in
/// ascending key order. The real commitment lives in a sibling crate; tests pass a
/// simple function.
pub trait StateRootFunction: Send + Sync {
    /// The root of `live`.
    fn state_root(&self, live: &mut dyn Iterator<Item = (Hash, Vec<u8>)>) -> Hash;
}

impl<F> StateRootFunction for F
where
    F: Fn(&mut dyn Iterator<Item = (Hash, Vec<u8>)>) -> Hash + Send + Sync,
{
    fn state_root(&self, live: &mut dyn Iterator<Item = (Hash, Vec<u8>)>) -> Hash {
        self(live)
    }
}

/// How the store opens and runs.
#[derive(Clone)]
pub struct OpenOptions {
    /// Which write path to use (default: io_uring where available).
    pub write_path: WritePathPreference,
    /// A new segment is started once the active one holds at least this many bytes
    /// (default 64 MiB; between 4 KiB and 1 TiB). A group is never split, so a segment
    /// can exceed this by one group.
    pub segment_bytes_target: u64,
    /// Compaction settings.
    pub compaction: CompactionOptions,
    /// If set, `open` recomputes the state root from the live state and refuses to open
    /// when it differs from the last committed block's root (default: not set).
    pub state_root: Option<Arc<dyn StateRootFunction>>,
    /// Live keys the in-memory index has room for from the start (default 0: it grows
    /// on demand; at most 2^32). Growing past its room doubles the index, which moves
    /// every entry into a new table while the committing thread waits: about 100 ms
    /// per million keys where fresh memory is slow to fault in. A node sized for its
    /// state pays that once, at open, instead of in the middle of a block.
    pub index_keys_reserved: usize,
}

/// Compaction settings.
#[derive(Debug, Clone)]
pub struct CompactionOptions {
    /// Run compaction on a background thread (default true). Without it, only
    /// [`crate::AccountStorage::compact`] compacts.
    pub background: bool,
    /// Time between background passes (default 1 s; at least 1 ms).
    pub interval: Duration,
    /// A sealed segment is compacted when at least this percentage of its bytes is
    /// reclaimable (default 50; 1 to 100).
    pub reclaimable_percent_min: u8,
    /// Bytes of live records copied per compaction group (default 4 MiB; 4 KiB to
    /// 256 MiB). Commits wait for at most one such group.
    pub batch_bytes: usize,
}

impl Default for CompactionOptions {
    fn default() -> Self {
        CompactionOptions {
            background: true,
            interval: Duration::from_secs(1),
            reclaimable_percent_min: 50,
            batch_bytes: 4 << 20,
        }
    }
}

impl Default for OpenOptions {
    fn default() -> Self {
        OpenOptions {
            write_path: WritePathPreference::Auto,
            segment_bytes_target: 64 << 20,
            compaction: CompactionOptions::default(),
            state_root: None,
            index_keys_reserved: 0,
        }
    }
}

impl fmt::Debug for OpenOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenOptions")
            .field("write_path", &self.write_path)
            .field("segment_bytes_target", &self.segment_bytes_target)
            .field("compaction", &self.compaction)
            .field("state_root", &self.state_root.as_ref().map(|_| "<fn>"))
            .field("index_keys_reserved", &self.index_keys_reserved)
            .finish()
    }
}

impl OpenOptions {
    /// Checks every bound in the field docs.
    pub(crate) fn validate(&self) -> Result<()> {
        let invalid = |reason| Err(StorageError::InvalidOptions { reason });
        if !(4096..=1 << 40).contains(&self.segment_bytes_target) {
            return invalid("segment_bytes_target must be between 4 KiB and 1 TiB");
        }
        if self.compaction.interval < Duration::from_millis(1) {
            return invalid("compaction.interval must be at least 1 ms");
        }
        if !(1..=100).contains(&self.compaction.reclaimable_percent_min) {
            return invalid("compaction.reclaimable_percent_min must be between 1 and 100");
        }
        if !(4096..=MAX_GROUP_BYTES / 2).contains(&self.compaction.batch_bytes) {
            return invalid("compaction.batch_bytes must be between 4 KiB and 256 MiB");
        }
        if self.index_keys_reserved > INDEX_KEYS_RESERVED_MAX {
            return invalid("index_keys_reserved must be at most 2^32");
        }
        Ok(())
    }
}

const _: () = assert!(SEGMENT_HEADER_LEN < 4096);

/// Most keys [`OpenOptions::index_keys_reserved`] may ask room for (about 240 GiB of
/// index): a larger number is a mistake, not a plan.
pub const INDEX_KEYS_RESERVED_MAX: usize = 1 << 32;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_bounds_are_enforced() {
        assert!(OpenOptions::default().validate().is_ok());
        let options = OpenOptions {
            segment_bytes_target: 100,
            ..OpenOptions::default()
        };
        assert!(options.validate().is_err());
        let mut options = OpenOptions::default();
        options.compaction.reclaimable_percent_min = 0;
        assert!(options.validate().is_err());
        let mut options = OpenOptions::default();
        options.compaction.batch_bytes = MAX_GROUP_BYTES;
        assert!(options.validate().is_err());
        let mut options = OpenOptions::default();
        options.compaction.interval = Duration::ZERO;
        assert!(options.validate().is_err());
        let options = OpenOptions {
            index_keys_reserved: INDEX_KEYS_RESERVED_MAX + 1,
            ..OpenOptions::default()
        };
        assert!(options.validate().is_err());
    }
}
