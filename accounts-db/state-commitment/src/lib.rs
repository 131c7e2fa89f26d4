//! State commitment: a compressed binary sparse Merkle tree over every state key, with
//! inclusion and non-inclusion proofs, updated in one batch per block. The root goes in
//! every block header.
//!
//! # The tree (normative)
//!
//! **Keys** are 32-byte [`Hash`](struct@Hash)es (UTxO output keys and state-cell keys). Bit `i` of a key
//! (`0 ≤ i < 256`) is `key[i / 8] >> (7 - i % 8) & 1`: most significant bit of byte 0
//! first. A key's *path* goes left on 0 and right on 1. The subtree at *position*
//! `(depth d, prefix p)` holds every key whose first `d` bits are `p`.
//!
//! **Values** are arbitrary bytes; the tree commits only to `value_hash = BLAKE3(value)`
//! (plain BLAKE3, [`value_hash`]).
//!
//! **Hashes** (each input exactly 64 bytes; [`hashing`]):
//!
//! - `leaf_hash(key, value_hash) = BLAKE3-keyed(K_leaf, key ‖ value_hash)`,
//! - `node_hash(left, right) = BLAKE3-keyed(K_node, left ‖ right)`,
//! - where `K_leaf = BLAKE3-derive_key("aether 2026-01-01 state commitment leaf", "")` and
//!   `K_node = BLAKE3-derive_key("aether 2026-01-01 state commitment node", "")`; distinct
//!   derived keys separate leaf from node hashes (and both from plain BLAKE3).
//! - `EMPTY_HASH` = 32 zero bytes ([`EMPTY_HASH`]).
//!
//! **Definition.** For a set `S` of (key, value hash) pairs with distinct keys, the hash of
//! the subtree at a position holding the subset `T ⊆ S` is:
//!
//! - `EMPTY_HASH` if `T` is empty;
//! - `leaf_hash(k, v)` if `T = {(k, v)}` — a subtree with exactly one leaf *is* that leaf,
//!   at the shallowest position that holds it alone (Jellyfish-style compression);
//! - otherwise `node_hash(hash(left half), hash(right half))`, the halves being the two
//!   positions one level down. Two keys sharing a long prefix therefore sit under a chain
//!   of internal nodes whose other child is `EMPTY_HASH`, exactly as in a full 256-level
//!   sparse Merkle tree whose single-leaf subtrees are replaced by their leaf.
//!
//! The root is the hash at depth 0 holding `S`. It is a function of `S` alone: insertion
//! order, batch boundaries, deletions and thread count cannot change it (property-tested
//! in `tests/`, and compared with a direct recursive evaluation of this definition).
//!
//! **Proofs** ([`proof`]). For a key `k`, walk from the root along `k`'s path while the
//! current position is an internal node. The walk stops at depth `d` on an empty subtree
//! or on a leaf. A [`Proof`] holds the `d` sibling hashes beside the path (root side
//! first), with empty siblings as clear bits of a bitmap instead of hashes, and the
//! [`Terminal`]: `Empty`, or `Leaf { key, value_hash }`. It proves:
//!
//! - *inclusion* of `(k, v)` when the terminal is the leaf `(k, v)`;
//! - *non-inclusion* of `k` when the terminal is empty, or is a leaf with another key that
//!   shares `k`'s first `d` bits (that leaf alone occupies `k`'s position).
//!
//! [`verify_proof`] checks the claim against the terminal, then hashes from the terminal
//! up (`node_hash(h, sibling)` when bit `i` of `k` is 0, `node_hash(sibling, h)` when 1)
//! and compares with the trusted root. Encoding: see [`Proof`]'s `Encode` impl (version
//! byte, depth, bitmap, siblings, terminal); decoding untrusted bytes never panics and
//! accepts only the canonical encoding.
//!
//! # Versions and forks
//!
//! A [`Tree`] is one immutable version. Nodes are `Arc`-shared and never mutated:
//! [`Tree::apply`] returns the next version, sharing every untouched subtree with its
//! parent, which stays valid and unchanged. So each fork keeps the tree after each of its
//! blocks, and dropping a version frees only the nodes no other version uses.
//!
//! # Batch update ([`batch`])
//!
//! A block's writes become a [`Batch`]: `(key, Some(value_hash))` or `(key, None)` (delete),
//! sorted by key, last write per key wins. The update descends once: at each position the
//! sorted batch is split by the key bit at that depth (a binary search) and each half
//! recurses into its child; subtrees with no operations are shared; each touched position
//! is rebuilt once by the canonical rule above, which also collapses a subtree left with
//! one leaf back up after deletions. The top levels run their halves as `rayon::join`
//! tasks ([`Parallelism`]). Sub-batches of at most 64 keys are updated with their new
//! hashes left pending and then hashed level by level, up to 16 one-block BLAKE3
//! compressions per SIMD call (`pending`). [`Tree::from_sorted`] builds a whole tree the
//! same way (the start-up path: the node recomputes the root from storage).
//!
//! # Code map
//!
//! [`hashing`] hash functions and key bits · `node` shared nodes, the compression rule and
//! the release of a dropped version · [`batch`] batch preparation and the update recursion
//! · `warm` cache warming (overlapping the cache misses of many key paths before an update
//! or a release touches them) · `pending` deferred, many-at-a-time hashing of a
//! sub-batch's new nodes · `tree` the [`Tree`] version, lookups, proofs, bulk build ·
//! [`proof`] proof format and verifier · [`error`].
//!
//! # Cost (1M keys, 10k updated keys per block)
//!
//! Below the top ~13 levels, which the batch's keys share, each updated key rebuilds about
//! 8 nodes: one BLAKE3 compression, one allocation and two likely cache misses each (the
//! node on the path, and the atomic reference-count increment of the sibling kept from the
//! old version). The misses dominate; `warm` overlaps them across keys. Dropping a version
//! frees its own nodes and decrements each kept sibling once more. Measured numbers are in
//! `benches/commitment.rs`'s output.
//!
//! # What this crate does not know
//!
//! Storage, blocks and forks: callers keep one [`Tree`] per block they care about and drop
//! it on pruning. Values are not stored, only their hashes.

pub mod batch;
pub mod error;
pub mod hashing;
mod node;
mod pending;
pub mod proof;
mod tree;
mod warm;

pub use aether_types::Hash;
pub use batch::{Batch, Parallelism};
pub use error::{BuildError, ProofError};
pub use hashing::{EMPTY_HASH, leaf_hash, node_hash, value_hash};
pub use proof::{Proof, Terminal, verify_proof, verify_proof_hashed};
pub use tree::{Iter, Tree};
