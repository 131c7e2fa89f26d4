//! Fork overlays: every unfinalized block is a diff layer on its parent, over the durable
//! state of the last finalized block.
//!
//! # What this crate is (and is not)
//!
//! The in-memory part of accounts-db: the state of each block that is executed but not
//! yet final, kept as the block's writes only, so forks share everything below their
//! branch point. It knows nothing of storage files, Merkle trees, consensus or threads:
//! the finalized state sits behind the small [`FinalizedState`] trait (the node
//! implements it with `aether-account-storage`; [`MemoryState`] is the in-memory one),
//! each block's state root is an opaque [`Hash`](aether_types::Hash), and anything else
//! the node wants kept per block (a Merkle tree version) rides along as the payload `T`
//! of [`ForkOverlay<S, T>`]. Consensus decides *what* is final; this crate only applies it.
//!
//! # Algorithm
//!
//! The overlay is a tree. Its root is the **last finalized block**, whose state is the
//! base `S`; every other node is an **unfinalized block** holding its [`Writes`] (key →
//! `Some(value)` for a put, `None` for a delete, i.e. spent), its slot, state root,
//! payload, parent and children.
//!
//! - **Insert** ([`ForkOverlay::insert_block`]): a block on the root or on any unfinalized
//!   block (a second child makes a fork). Refused, with the block handed back, if its
//!   hash is held, its parent is not, its slot is not above its parent's, or a bound
//!   would be passed ([`InsertError`]).
//! - **Read** ([`ForkOverlay::get`]): the state after block `b` at `key` is the newest
//!   write to `key` on the path `b`, parent(`b`), …, up to (excluding) the root, else the
//!   base's value. O(depth) hash-map probes, depth ≤ `max_unfinalized_blocks`; under
//!   HotStuff finality the tip is normally two or three blocks past the root, so reads
//!   cost a few probes and the base read. (A flattened per-block index would make reads
//!   O(1) at the cost of copying on every insert; not needed at these depths.)
//! - **Finalize** ([`ForkOverlay::finalize`]): for each block on the path from the root
//!   down to the target, oldest first: commit its writes to the base (one
//!   [`FinalizedState::commit_block`] per block, sorted by key, durable on return), then
//!   make it the root: drop the old root, drop every other subtree of the old root (forks
//!   that do not extend a final block can never become final), and drop its own writes
//!   (now in the base). When the loop ends the target is the root and the overlay holds
//!   exactly its descendants.
//!
//! Because the root advances one committed block at a time, the overlay is consistent
//! after every step. If a commit fails, `finalize` returns [`FinalizeError::Base`]: the
//! blocks committed so far are finalized and gone from the overlay, the failed block and
//! the rest of the path are still unfinalized, and calling `finalize` again resumes. This
//! relies on the base's contract that a failed commit applies nothing.
//!
//! # Invariants (checked by [`ForkOverlay::assert_invariants`])
//!
//! - The root is held and has no writes: the base *is* its state.
//! - Every held block descends from the root through `parent` links that match the
//!   parents' `children` lists exactly: a tree, no cycles, no orphans.
//! - Slots strictly increase from parent to child.
//! - The counters (writes, value bytes) equal the sums over the held blocks, and every
//!   bound holds.
//! - The base has committed exactly the root's chain, in order: every block committed is
//!   an ancestor-or-self of the root, and no held unfinalized block is committed (this
//!   one involves the base, so the model test checks it, not `assert_invariants`).
//! - Every refused operation changes nothing; the one partial outcome is a failed commit
//!   during `finalize`, described above.
//!
//! # Bounds ([`ForkOverlayConfig`])
//!
//! Unfinalized blocks, writes and value bytes held at once are each bounded; passing one
//! is [`InsertError::OverlayFull`], backpressure the caller handles (wait for finality,
//! then retry the handed-back block), never growth. The block map is allocated up front.
//! Every loop is bounded by the number of blocks held.
//!
//! # Code map
//!
//! - `finalized_state.rs`: the [`FinalizedState`] trait, [`FinalizedBlock`], [`BlockId`],
//!   [`Value`].
//! - `memory_state.rs`: [`MemoryState`].
//! - `block.rs`: [`NewBlock`], the held block, the [`BlockRef`] view, [`Ancestors`].
//! - `overlay.rs`: [`ForkOverlay`]: construction, insert, read, queries.
//! - `finalize.rs`: finalization and pruning.
//! - `invariants.rs`: [`ForkOverlay::assert_invariants`].
//! - `config.rs`, `error.rs`: bounds and errors.
//! - `tests/model.rs`: the model-based property test against a map-per-block model.

mod block;
mod config;
mod error;
mod finalize;
mod finalized_state;
mod invariants;
mod memory_state;
mod overlay;
#[cfg(test)]
mod test_support;

pub use block::{Ancestors, BlockRef, NewBlock, Writes};
pub use config::{ConfigError, ForkOverlayConfig};
pub use error::{FinalizeError, InsertError, InsertRejected, OverlayResource, ReadError};
pub use finalize::FinalizeSummary;
pub use finalized_state::{BlockId, FinalizedBlock, FinalizedState, Value};
pub use memory_state::{MemoryState, MemoryStateError};
pub use overlay::ForkOverlay;
