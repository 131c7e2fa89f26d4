//! [`Tree`]: one immutable version of the state tree, and the bulk build from sorted entries.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use aether_types::Hash;

use crate::batch::{Batch, Parallelism, apply, apply_owned, join};
use crate::error::BuildError;
use crate::hashing::{KEY_BITS, key_bit, value_hash};
use crate::node::{Child, Leaf, Node, release};
use crate::proof::{Proof, Terminal};

/// One version of the state tree. Immutable: [`Tree::apply`] returns a new version that
/// shares every untouched node with this one, and this one stays valid and unchanged.
/// Cloning is O(1).
#[derive(Clone)]
pub struct Tree {
    root: Child,
    len: u64,
}

impl Default for Tree {
    fn default() -> Self {
        Tree::empty()
    }
}

/// Releases of dropped versions running on the rayon pool at once; a drop beyond this
/// releases on its own thread (bounding the work queued behind block finalization).
const BACKGROUND_RELEASES_MAX: usize = 4;

/// Versions of fewer keys are released where they are dropped (not worth a task).
const BACKGROUND_RELEASE_KEYS_MIN: u64 = 4_096;

static BACKGROUND_RELEASES: AtomicUsize = AtomicUsize::new(0);

impl Drop for Tree {
    /// Frees the nodes no other version shares. Large versions are released as a rayon
    /// task: the drop usually happens where a block is finalized, on the block
    /// producer's thread and under the accounts-db lock, and freeing a block's worth of
    /// nodes (one cache miss per node) is work nothing waits for.
    fn drop(&mut self) {
        let root = std::mem::replace(&mut self.root, Child::EMPTY);
        let background = self.len >= BACKGROUND_RELEASE_KEYS_MIN
            && BACKGROUND_RELEASES
                .fetch_update(Ordering::AcqRel, Ordering::Acquire, |running| {
                    (running < BACKGROUND_RELEASES_MAX).then_some(running + 1)
                })
                .is_ok();
        if background {
            rayon::spawn(move || {
                release(root);
                BACKGROUND_RELEASES.fetch_sub(1, Ordering::AcqRel);
            });
        } else {
            release(root);
        }
    }
}

impl std::fmt::Debug for Tree {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tree")
            .field("root", &self.root.hash)
            .field("len", &self.len)
            .finish()
    }
}

impl Tree {
    /// The tree with no keys; its root is [`EMPTY_HASH`](crate::EMPTY_HASH).
    pub fn empty() -> Tree {
        Tree {
            root: Child::EMPTY,
            len: 0,
        }
    }

    /// The root hash: a function of the set of (key, value hash) pairs only.
    pub fn root(&self) -> Hash {
        self.root.hash
    }

    /// Number of keys.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// True when the tree holds no key.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The value hash stored for `key`, if the key is present.
    pub fn get(&self, key: &Hash) -> Option<Hash> {
        let mut child = &self.root;
        let mut depth = 0;
        loop {
            match &child.node {
                Node::Empty => return None,
                Node::Leaf(leaf) => return (leaf.key == *key).then_some(leaf.value_hash),
                Node::Internal(internal) => {
                    child = &internal.children[usize::from(key_bit(key, depth))];
                    depth += 1;
                }
            }
        }
    }

    /// A proof that `key` is present with its value (if it is) or absent (if not),
    /// against [`Tree::root`]. Check it with [`verify_proof`](crate::verify_proof).
    pub fn prove(&self, key: &Hash) -> Proof {
        let mut siblings = Vec::new();
        let mut child = &self.root;
        let mut depth = 0;
        let terminal = loop {
            match &child.node {
                Node::Empty => break Terminal::Empty,
                Node::Leaf(leaf) => {
                    break Terminal::Leaf {
                        key: leaf.key,
                        value_hash: leaf.value_hash,
                    };
                }
                Node::Internal(internal) => {
                    let side = usize::from(key_bit(key, depth));
                    siblings.push(internal.children[1 - side].hash);
                    child = &internal.children[side];
                    depth += 1;
                }
            }
        };
        Proof::new(siblings, terminal).expect("a tree path is at most 256 levels deep")
    }

    /// The next version: this tree with `batch` applied, splitting the top levels over the
    /// current rayon pool.
    pub fn apply(&self, batch: &Batch) -> Tree {
        self.apply_with(batch, Parallelism::Rayon)
    }

    /// The next version: this tree with `batch` applied, using threads as `parallelism`
    /// says. The result does not depend on `parallelism`.
    pub fn apply_with(&self, batch: &Batch, parallelism: Parallelism) -> Tree {
        let (root, delta) = apply(&self.root, batch.operations(), 0, parallelism);
        let len = self
            .len
            .checked_add_signed(delta)
            .expect("leaf count cannot go below zero");
        Tree { root, len }
    }

    /// Makes this tree the next version, `self.apply(batch)`, in place: nodes this
    /// version alone holds are updated in their own allocations, so a block's update
    /// allocates only the nodes it adds and the replaced version leaves nothing to
    /// release. Nodes shared with other versions are copied as [`Tree::apply`] does, so
    /// every other version stays exactly as it was.
    pub fn apply_in_place(&mut self, batch: &Batch) {
        self.apply_in_place_with(batch, Parallelism::Rayon);
    }

    /// [`Tree::apply_in_place`] using threads as `parallelism` says.
    pub fn apply_in_place_with(&mut self, batch: &Batch, parallelism: Parallelism) {
        let delta = apply_owned(&mut self.root, batch.operations(), 0, parallelism, false);
        self.len = self
            .len
            .checked_add_signed(delta)
            .expect("leaf count cannot go below zero");
    }

    /// Shorthand for `self.apply(&Batch::from_values(updates))`: `(key, Some(value))`
    /// writes, `(key, None)` deletes; the last write to a key wins.
    pub fn apply_batch<I, V>(&self, updates: I) -> Tree
    where
        I: IntoIterator<Item = (Hash, Option<V>)>,
        V: AsRef<[u8]>,
    {
        self.apply(&Batch::from_values(updates))
    }

    /// Builds the tree of `(key, value)` entries given in strictly ascending key order
    /// (as a store iterates them at start-up); values are hashed with
    /// [`value_hash`](crate::value_hash).
    pub fn from_sorted<I, V>(entries: I) -> Result<Tree, BuildError>
    where
        I: IntoIterator<Item = (Hash, V)>,
        V: AsRef<[u8]>,
    {
        Tree::from_sorted_hashed(
            entries
                .into_iter()
                .map(|(key, value)| (key, value_hash(value.as_ref()))),
        )
    }

    /// Builds the tree of `(key, value_hash)` entries in strictly ascending key order,
    /// splitting the top levels over the current rayon pool.
    pub fn from_sorted_hashed<I>(entries: I) -> Result<Tree, BuildError>
    where
        I: IntoIterator<Item = (Hash, Hash)>,
    {
        Tree::from_sorted_hashed_with(entries, Parallelism::Rayon)
    }

    /// [`Tree::from_sorted_hashed`] using threads as `parallelism` says.
    pub fn from_sorted_hashed_with<I>(
        entries: I,
        parallelism: Parallelism,
    ) -> Result<Tree, BuildError>
    where
        I: IntoIterator<Item = (Hash, Hash)>,
    {
        let entries: Vec<(Hash, Hash)> = entries.into_iter().collect();
        if let Some(index) = entries.windows(2).position(|pair| pair[0].0 >= pair[1].0) {
            return Err(BuildError::NotAscending { index: index + 1 });
        }
        let root = build(&entries, 0, parallelism);
        Ok(Tree {
            root,
            len: entries.len() as u64,
        })
    }

    /// Every `(key, value_hash)` in ascending key order.
    pub fn iter(&self) -> Iter<'_> {
        Iter {
            stack: vec![&self.root],
        }
    }

    /// Re-derives every hash and checks every structural rule (canonical compression,
    /// each leaf on its key's path, the key count). O(size); for tests and debugging.
    pub fn check_invariants(&self) -> Result<(), String> {
        let count = self.root.check(&Hash::ZERO, 0)?;
        if count != self.len {
            return Err(format!("tree counts {} keys but holds {count}", self.len));
        }
        Ok(())
    }

    /// Whether `self` and `other` share their root node (one is a no-op update of the
    /// other, or a clone). Equal roots without sharing are still equal trees.
    pub fn shares_root_with(&self, other: &Tree) -> bool {
        self.root.same_node(&other.root)
    }
}

/// Builds the subtree at `depth` holding `entries` (sorted, distinct, all under it).
fn build(entries: &[(Hash, Hash)], depth: usize, parallelism: Parallelism) -> Child {
    match entries {
        [] => Child::EMPTY,
        [(key, value_hash)] => Child::leaf(*key, *value_hash),
        _ => {
            assert!(
                depth < KEY_BITS,
                "distinct keys cannot share all {KEY_BITS} bits"
            );
            let middle = entries.partition_point(|(key, _)| !key_bit(key, depth));
            let (left, right) = entries.split_at(middle);
            let (left, right) = join(
                parallelism.splits(depth, entries.len()),
                || build(left, depth + 1, parallelism),
                || build(right, depth + 1, parallelism),
            );
            Child::combine(left, right)
        }
    }
}

/// Iterator over a tree's `(key, value_hash)` pairs in ascending key order.
#[derive(Debug)]
pub struct Iter<'a> {
    stack: Vec<&'a Child>,
}

impl Iterator for Iter<'_> {
    type Item = (Hash, Hash);

    fn next(&mut self) -> Option<(Hash, Hash)> {
        while let Some(child) = self.stack.pop() {
            match &child.node {
                Node::Empty => {}
                Node::Leaf(leaf) => {
                    let Leaf { key, value_hash } = Arc::as_ref(leaf);
                    return Some((*key, *value_hash));
                }
                Node::Internal(internal) => {
                    self.stack.push(&internal.children[1]);
                    self.stack.push(&internal.children[0]);
                }
            }
        }
        None
    }
}
