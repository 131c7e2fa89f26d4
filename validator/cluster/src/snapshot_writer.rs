//! Snapshots a validator offers to peers that boot far behind: every
//! `interval_slots` final slots, the state at the last final block and its
//! [`SnapshotBundle`], in one directory per slot.
//!
//! Layout under the snapshot directory (in the ledger):
//! - `<slot>/state.snapshot`: `aether-accounts-db`'s verified snapshot format;
//! - `<slot>/bundle.bin`: the encoded [`SnapshotBundle`] of the same block;
//! - `latest`: the slot of the newest complete pair, as decimal text.
//!
//! Each file is written to a temporary name, synced and renamed; `latest` moves only
//! after both files of its slot are in place, so a reader that follows `latest` never
//! sees half a pair. The newest [`SNAPSHOTS_KEPT`] slots are kept (a peer downloading
//! the previous one is not cut off), older ones deleted.
//!
//! The snapshot is written on the caller's thread while it holds the accounts-db's
//! read lock: for the states of a devnet that is milliseconds; large states want a
//! copy-on-write view written in the background (not built yet).

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use aether_accounts_db::AccountsDb;
use aether_accounts_db::snapshot::create_snapshot;
use aether_types::codec::encode;

use crate::snapshot_bundle::SnapshotBundle;

/// Snapshot directories kept.
pub const SNAPSHOTS_KEPT: usize = 2;
/// File name of the state in a slot's directory.
pub const STATE_FILE: &str = "state.snapshot";
/// File name of the bundle in a slot's directory.
pub const BUNDLE_FILE: &str = "bundle.bin";
/// File naming the newest complete slot.
pub const LATEST_FILE: &str = "latest";

/// Writing a snapshot failed.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotWriteError {
    /// A file could not be written.
    #[error("snapshot {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The accounts-db could not write its snapshot.
    #[error("snapshot of slot {slot}: {reason}")]
    State {
        /// The slot.
        slot: u64,
        /// The accounts-db's error.
        reason: String,
    },
    /// The bundle is not for the block the accounts-db finalized last.
    #[error("the bundle's block is not the last final block")]
    Mismatch,
}

/// Writes snapshots at an interval. See the module docs.
#[derive(Debug)]
pub struct SnapshotWriter {
    directory: PathBuf,
    interval_slots: u64,
    last_slot: Option<u64>,
}

impl SnapshotWriter {
    /// A writer into `directory` every `interval_slots` final slots (at least 1).
    pub fn new(directory: PathBuf, interval_slots: u64) -> Self {
        assert!(interval_slots > 0, "an interval of at least one slot");
        let last_slot = latest_slot(&directory);
        Self {
            directory,
            interval_slots,
            last_slot,
        }
    }

    /// True when the final slot is an interval past the last snapshot.
    pub fn due(&self, final_slot: u64) -> bool {
        self.last_slot
            .is_none_or(|last| final_slot >= last + self.interval_slots)
    }

    /// Writes the state of `accounts`' last final block with `bundle` (which must be
    /// that block's), moves `latest` to it and deletes snapshots past
    /// [`SNAPSHOTS_KEPT`]; returns the slot.
    pub fn write(
        &mut self,
        accounts: &AccountsDb,
        bundle: &SnapshotBundle,
    ) -> Result<u64, SnapshotWriteError> {
        let last = accounts.last_finalized();
        if last.hash != bundle.proof.block.hash() {
            return Err(SnapshotWriteError::Mismatch);
        }
        let slot = last.slot;
        let directory = self.directory.join(slot.to_string());
        fs::create_dir_all(&directory).map_err(io_error(&directory))?;
        create_snapshot(accounts, &directory.join(STATE_FILE), &mut |_, _| {}).map_err(
            |error| SnapshotWriteError::State {
                slot,
                reason: error.to_string(),
            },
        )?;
        write_atomically(&directory.join(BUNDLE_FILE), &encode(bundle))?;
        write_atomically(
            &self.directory.join(LATEST_FILE),
            slot.to_string().as_bytes(),
        )?;
        self.last_slot = Some(slot);
        self.prune(slot);
        Ok(slot)
    }

    /// Deletes slot directories older than the newest [`SNAPSHOTS_KEPT`] (best effort:
    /// a failure leaves an old snapshot behind, never a damaged new one).
    fn prune(&self, newest: u64) {
        let Ok(entries) = fs::read_dir(&self.directory) else {
            return;
        };
        let mut slots: Vec<u64> = entries
            .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse().ok())
            .filter(|slot| *slot <= newest)
            .collect();
        slots.sort_unstable_by(|a, b| b.cmp(a));
        for old in slots.into_iter().skip(SNAPSHOTS_KEPT) {
            let _ = fs::remove_dir_all(self.directory.join(old.to_string()));
        }
    }
}

/// The newest complete snapshot's slot in `directory`, if any.
pub fn latest_slot(directory: &Path) -> Option<u64> {
    fs::read_to_string(directory.join(LATEST_FILE))
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// The bytes of `name` (one of [`STATE_FILE`], [`BUNDLE_FILE`]) of snapshot `slot`
/// under `directory`; `None` for any other name or a missing file (nothing outside
/// the snapshot directories is ever read).
pub fn read_snapshot_file(directory: &Path, slot: u64, name: &str) -> Option<Vec<u8>> {
    if name != STATE_FILE && name != BUNDLE_FILE {
        return None;
    }
    fs::read(directory.join(slot.to_string()).join(name)).ok()
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> SnapshotWriteError + '_ {
    move |source| SnapshotWriteError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), SnapshotWriteError> {
    let temporary = path.with_extension("tmp");
    let mut file = fs::File::create(&temporary).map_err(io_error(&temporary))?;
    file.write_all(bytes).map_err(io_error(&temporary))?;
    file.sync_all().map_err(io_error(&temporary))?;
    fs::rename(&temporary, path).map_err(io_error(path))?;
    if let Some(parent) = path.parent() {
        fs::File::open(parent)
            .and_then(|directory| directory.sync_all())
            .map_err(io_error(parent))?;
    }
    Ok(())
}
