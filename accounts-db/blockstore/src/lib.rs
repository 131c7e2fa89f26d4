//! The blockstore: the ledger's blocks on RocksDB.
//!
//! Account state lives in the accounts-db's own append-only store; the blockstore keeps
//! what arrives over the network and what RPC serves about the past: shreds, block
//! metadata, transaction statuses and per-slot bookkeeping.
//!
//! # Column families ([`columns`])
//!
//! | family | key | value |
//! |---|---|---|
//! | `shreds` | slot (u64 BE) ‖ kind (u8) ‖ index (u32 BE) | the shred's bytes |
//! | `blocks` | slot (u64 BE) | [`BlockMeta`] |
//! | `slot_meta` | slot (u64 BE) | [`SlotMeta`] |
//! | `transaction_status` | transaction id (32) | [`TransactionStatus`] |
//! | `transaction_index` | slot (u64 BE) ‖ transaction id | empty (finds a slot's statuses when purging) |
//!
//! Big-endian slots make RocksDB's byte order the slot order, so a slot's shreds are one
//! contiguous range and purging the oldest slots is a range delete.
//!
//! # Invariants
//!
//! - **One atomic write batch per slot write** ([`Blockstore::write_slot`]): the shreds,
//!   the slot's metadata, its block metadata and its transaction statuses become
//!   visible together or not at all, including across a crash (RocksDB's write-ahead
//!   log, synced before the call returns unless [`BlockstoreOptions::sync_writes`] is
//!   off; `atomic_flush` keeps the families consistent with each other when memtables
//!   are flushed, so a crash cannot leave one family ahead of another).
//! - **Bounded size**: with [`BlockstoreOptions::limit_ledger_size`] set, after each write
//!   the oldest *finalized* slots are purged, whole, until at most that many shreds
//!   remain. Unfinalized slots are never purged by the limit.
//! - **Single writer**: writes take one lock, so the read-modify-write of slot metadata
//!   is consistent; reads never take it.
//! - Stored records are versioned and decoded with the canonical codec; a record that
//!   does not decode is an error naming the family and key, never a panic.

pub mod columns;
pub mod error;
pub mod records;
pub mod store;

pub use error::BlockstoreError;
pub use records::{BlockMeta, SlotMeta, TransactionOutcome, TransactionStatus};
pub use store::{Blockstore, BlockstoreOptions, PurgeReport, ShredWrite, SlotWrite};
