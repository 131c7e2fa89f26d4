//! Account state for the node: the accounts-db.
//!
//! Three crates, one job each, joined here:
//!
//! | part | crate | holds |
//! |---|---|---|
//! | durable finalized state | `aether-account-storage` | append-only segments, in-memory index, fsync per block |
//! | unfinalized blocks | `aether-fork-overlay` | one diff layer per block, reads walk the chain |
//! | state commitment | `aether-state-commitment` | a persistent sparse Merkle tree, one version per block |
//!
//! # How a block moves through it ([`AccountsDb`])
//!
//! 1. **Execute** ([`AccountsDb::apply_block`]): the executor hands over a block's
//!    writes on top of its parent. The parent's tree version plus the writes, applied
//!    as one batch, gives the block's tree version and state root (the parent's version
//!    is untouched: sibling forks keep theirs). The writes become a layer in the
//!    overlay, with the tree version as its payload.
//! 2. **Read** ([`AccountsDb::get`]) at any held block: its layer, its ancestors' layers,
//!    then storage.
//! 3. **Finalize** ([`AccountsDb::finalize`]): every not-yet-final block up to the
//!    target is committed to storage, oldest first, each durable (two fdatasyncs) before
//!    the next; forks that do not extend the target are dropped. Only when this returns
//!    may the block be reported final.
//! 4. **Restart** ([`AccountsDb::open`]): storage recovers (cutting a torn tail), the
//!    tree is rebuilt from every live key, and its root must equal the state root stored
//!    with the last committed block, or opening fails: a store that lost or corrupted
//!    data never serves.
//!
//! 5. **Snapshot** ([`snapshot`]): the state at the last finalized block in one
//!    compressed, checksummed file whose header carries slot, block hash and root;
//!    loading verifies everything, root included, before writing anything.
//!
//! # Invariants
//!
//! - Every held block's state root is the root of the Merkle tree of exactly the state
//!   that reads at that block return (tested against a from-scratch build per block).
//! - The finalized tree version always equals the tree of what storage holds.
//! - Nothing here does network I/O or knows about consensus: a block is
//!   `(slot, parent, hash, writes)`.

mod accounts_db;
mod durable;
mod error;
pub mod snapshot;

pub use accounts_db::{AccountsDb, AccountsDbOptions, OpenReport};
pub use aether_fork_overlay::{BlockId, FinalizeSummary, Value, Writes};
pub use aether_state_commitment::{Proof, verify_proof};
pub use error::AccountsDbError;

/// The accounts-db's directory inside a node's ledger directory (`LEDGER/accounts`).
pub const ACCOUNTS_DIRECTORY: &str = "accounts";

/// The hash standing for "no block" before the first block is finalized.
pub const GENESIS_PARENT: aether_types::Hash = aether_types::Hash::ZERO;
