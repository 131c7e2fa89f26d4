//! Blockstore errors.

use std::path::PathBuf;

use aether_types::DecodeError;
use thiserror::Error;

/// Why a blockstore operation failed.
#[derive(Debug, Error)]
pub enum BlockstoreError {
    /// RocksDB could not open the database.
    #[error("cannot open the blockstore at {path}: {source}")]
    Open {
        /// Database directory.
        path: PathBuf,
        /// RocksDB's reason.
        source: rocksdb::Error,
    },
    /// A RocksDB read or write failed.
    #[error("blockstore {operation} failed: {source}")]
    Database {
        /// What was being done.
        operation: &'static str,
        /// RocksDB's reason.
        source: rocksdb::Error,
    },
    /// A stored record does not decode: the database is corrupt or from another version.
    #[error("corrupt record in column family {family}, key {key_hex}: {source}")]
    CorruptRecord {
        /// Column family.
        family: &'static str,
        /// The record's key, hex.
        key_hex: String,
        /// What was wrong with it.
        source: DecodeError,
    },
    /// A stored key has the wrong shape.
    #[error("corrupt key in column family {family}: {key_hex}")]
    CorruptKey {
        /// Column family.
        family: &'static str,
        /// The key, hex.
        key_hex: String,
    },
    /// The caller's write contradicts what is stored.
    #[error("invalid write for slot {slot}: {reason}")]
    InvalidWrite {
        /// Slot of the write.
        slot: u64,
        /// What is wrong.
        reason: String,
    },
}
