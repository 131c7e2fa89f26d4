//! The durable home of the consensus [`SafetyState`].
//!
//! File format: `encode(SafetyState)` (33 bytes, versioned) then its BLAKE3 hash (32
//! bytes). A save writes a temporary file, fsyncs it, renames it over the old one and
//! fsyncs the directory, so after a crash the file holds either the old or the new
//! state, never a mix; the hash catches a file damaged at rest. A missing file is a
//! first start ([`SafetyState::default`]); a damaged one is an error, never a silent
//! reset (a reset could let this validator vote twice in one round).

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use aether_consensus::SafetyState;
use aether_types::codec::{decode_exact, encode};

/// Where a validator's safety state lives.
#[derive(Debug, Clone)]
pub struct SafetyStore {
    path: PathBuf,
}

/// A consensus file could not be read or made durable.
#[derive(Debug, thiserror::Error)]
pub enum SafetyStoreError {
    /// Reading, writing or syncing failed.
    #[error("consensus file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The failure.
        source: std::io::Error,
    },
    /// The file exists but is not a valid safety state.
    #[error("consensus file {path} is damaged ({reason}); refusing to start from scratch")]
    Damaged {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
}

const HASH_BYTES: usize = 32;

impl SafetyStore {
    /// The store at `path` (its directory must exist).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The last saved state; the default state when nothing was ever saved.
    pub fn load(&self) -> Result<SafetyState, SafetyStoreError> {
        match load_checked(&self.path)? {
            None => Ok(SafetyState::default()),
            Some(bytes) => decode_exact(&bytes).map_err(|error| SafetyStoreError::Damaged {
                path: self.path.clone(),
                reason: error.to_string(),
            }),
        }
    }

    /// Makes `state` durable (returns only after fsync of the file and its directory).
    pub fn save(&self, state: &SafetyState) -> Result<(), SafetyStoreError> {
        save_checked(&self.path, &encode(state))
    }
}

/// The payload of a file written by [`save_checked`], or `None` when it does not exist.
pub(crate) fn load_checked(path: &Path) -> Result<Option<Vec<u8>>, SafetyStoreError> {
    let bytes = match fs::read(path) {
        Ok(bytes) => bytes,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(SafetyStoreError::Io {
                path: path.to_owned(),
                source,
            });
        }
    };
    let damaged = |reason: String| SafetyStoreError::Damaged {
        path: path.to_owned(),
        reason,
    };
    let Some(payload_length) = bytes.len().checked_sub(HASH_BYTES) else {
        return Err(damaged(format!(
            "{} bytes, shorter than a checksum",
            bytes.len()
        )));
    };
    let (payload, hash) = bytes.split_at(payload_length);
    if blake3::hash(payload).as_bytes() != hash {
        return Err(damaged("checksum mismatch".into()));
    }
    Ok(Some(payload.to_vec()))
}

/// Writes `payload ‖ BLAKE3(payload)` to `path` atomically and durably: a temporary
/// file, fsync, rename over `path`, fsync of the directory.
pub(crate) fn save_checked(path: &Path, payload: &[u8]) -> Result<(), SafetyStoreError> {
    let mut bytes = payload.to_vec();
    bytes.extend_from_slice(blake3::hash(payload).as_bytes());
    let temporary = path.with_extension("tmp");
    let write = || -> std::io::Result<()> {
        let mut file = File::create(&temporary)?;
        file.write_all(&bytes)?;
        file.sync_all()?;
        fs::rename(&temporary, path)?;
        let directory = path
            .parent()
            .filter(|parent| !parent.as_os_str().is_empty());
        File::open(directory.unwrap_or(Path::new(".")))?.sync_all()
    };
    write().map_err(|source| SafetyStoreError::Io {
        path: path.to_owned(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(round: u64) -> SafetyState {
        SafetyState {
            last_voted_round: round,
            highest_timeout_round: round.saturating_sub(1),
            highest_qc_round: round.saturating_sub(2),
            last_proposed_round: round.saturating_sub(3),
        }
    }

    #[test]
    fn first_start_then_saves_survive_reopening() {
        let directory = tempfile::tempdir().unwrap();
        let store = SafetyStore::new(directory.path().join("safety.bin"));
        assert_eq!(store.load().unwrap(), SafetyState::default());
        store.save(&state(7)).unwrap();
        store.save(&state(9)).unwrap();
        let reopened = SafetyStore::new(directory.path().join("safety.bin"));
        assert_eq!(reopened.load().unwrap(), state(9));
        assert!(!directory.path().join("safety.tmp").exists());
    }

    #[test]
    fn a_damaged_file_is_an_error_not_a_reset() {
        let directory = tempfile::tempdir().unwrap();
        let store = SafetyStore::new(directory.path().join("safety.bin"));
        store.save(&state(9)).unwrap();
        let mut bytes = fs::read(store.path()).unwrap();
        for position in [0, 5, SafetyState::ENCODED_LEN + 3] {
            let mut damaged = bytes.clone();
            damaged[position] ^= 0x10;
            fs::write(store.path(), &damaged).unwrap();
            assert!(
                matches!(store.load(), Err(SafetyStoreError::Damaged { .. })),
                "flip at {position}"
            );
        }
        bytes.pop();
        fs::write(store.path(), &bytes).unwrap();
        assert!(matches!(
            store.load(),
            Err(SafetyStoreError::Damaged { .. })
        ));
    }
}
