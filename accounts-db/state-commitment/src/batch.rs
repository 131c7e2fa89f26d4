//! Batch updates: sort once, descend once, rehash each touched node once.
//!
//! [`Batch`] turns a block's writes into a key-sorted list with one operation per key.
//! `apply` walks the old tree and the sorted list together: at each node the list is
//! split by the key bit at that depth (a binary search, since it is sorted) and each half
//! goes to its child; a child with no operations is shared with the old version as is.
//! The new node is built from its two new children by `Child::combine` (the canonical rule), which also
//! re-compresses after deletions. The top levels run their two halves with `rayon::join`.
//!
//! Sub-batches of at most [`WARM_OPERATIONS_MAX`] operations are groups: their paths are
//! cache-warmed first ([`warm`]), then updated with every new hash left pending, then
//! hashed level by level, many at a time ([`pending::finish`]). Above the groups each
//! node is hashed as soon as its two children are final.

use aether_types::Hash;

use std::sync::Arc;

use crate::hashing::{KEY_BITS, key_bit, node_hash, value_hash, value_hashes};
use crate::node::{Child, Node, split};
use crate::pending::{self, PENDING_HASH};
use crate::warm::{Update, WARM_OPERATIONS_MAX, warm};

/// How [`Tree::apply_with`](crate::Tree::apply_with) and the bulk build use threads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Parallelism {
    /// Everything on the calling thread.
    Sequential,
    /// The top levels split into `rayon::join` tasks on the current rayon pool.
    #[default]
    Rayon,
}

/// Subtrees this deep or deeper are never split into rayon tasks (at most 2^6 tasks).
const PARALLEL_DEPTH_MAX: usize = 6;

/// Operation or entry counts below this run sequentially (a `join` costs about 1 µs).
const PARALLEL_OPS_MIN: usize = 256;

impl Parallelism {
    /// Whether a subtree at `depth` with `work` operations is worth two tasks.
    pub(crate) fn splits(self, depth: usize, work: usize) -> bool {
        self == Parallelism::Rayon && depth < PARALLEL_DEPTH_MAX && work >= PARALLEL_OPS_MIN
    }
}

/// Runs `left` and `right`, as two rayon tasks when `parallel`.
pub(crate) fn join<L, R, A, B>(parallel: bool, left: L, right: R) -> (A, B)
where
    L: FnOnce() -> A + Send,
    R: FnOnce() -> B + Send,
    A: Send,
    B: Send,
{
    if parallel {
        rayon::join(left, right)
    } else {
        (left(), right())
    }
}

/// One block's writes: keys strictly ascending, each with its new value hash, or `None`
/// to delete it. When the input names a key more than once, the last write wins.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Batch {
    operations: Vec<(Hash, Option<Hash>)>,
}

impl Batch {
    /// A batch of `(key, Some(value))` writes and `(key, None)` deletions; values are
    /// hashed with [`value_hash`].
    pub fn from_values<I, V>(updates: I) -> Batch
    where
        I: IntoIterator<Item = (Hash, Option<V>)>,
        V: AsRef<[u8]>,
    {
        Batch::from_value_hashes(
            updates
                .into_iter()
                .map(|(key, value)| (key, value.map(|value| value_hash(value.as_ref())))),
        )
    }

    /// [`Batch::from_values`] for updates whose keys are distinct (the keys of a map):
    /// an unstable in-place sort, with no scratch buffer and no deduplication.
    ///
    /// Panics when two updates name the same key (a caller bug: use `from_values`).
    pub fn from_distinct_values<I, V>(updates: I) -> Batch
    where
        I: IntoIterator<Item = (Hash, Option<V>)>,
        V: AsRef<[u8]>,
    {
        let updates: Vec<(Hash, Option<V>)> = updates.into_iter().collect();
        let values: Vec<&[u8]> = updates
            .iter()
            .filter_map(|(_, value)| value.as_ref().map(AsRef::as_ref))
            .collect();
        let mut hashes = value_hashes(&values).into_iter();
        let mut operations: Vec<(Hash, Option<Hash>)> = updates
            .iter()
            .map(|(key, value)| {
                let hash = value
                    .as_ref()
                    .map(|_| hashes.next().expect("a hash per value"));
                (*key, hash)
            })
            .collect();
        operations.sort_unstable_by_key(|operation| operation.0);
        assert!(
            operations.windows(2).all(|pair| pair[0].0 < pair[1].0),
            "from_distinct_values was given a key twice"
        );
        Batch { operations }
    }

    /// A batch of `(key, Some(value_hash))` writes and `(key, None)` deletions.
    pub fn from_value_hashes<I>(updates: I) -> Batch
    where
        I: IntoIterator<Item = (Hash, Option<Hash>)>,
    {
        let mut operations: Vec<(Hash, Option<Hash>)> = updates.into_iter().collect();
        // Stable sort keeps a key's writes in input order; dedup then keeps the last one
        // (`dedup_by` passes the later element first and removes it when asked to).
        operations.sort_by_key(|operation| operation.0);
        operations.dedup_by(|later, earlier| {
            if later.0 == earlier.0 {
                earlier.1 = later.1;
                true
            } else {
                false
            }
        });
        debug_assert!(operations.windows(2).all(|pair| pair[0].0 < pair[1].0));
        Batch { operations }
    }

    /// Number of distinct keys the batch touches.
    pub fn len(&self) -> usize {
        self.operations.len()
    }

    /// True when the batch touches no key.
    pub fn is_empty(&self) -> bool {
        self.operations.is_empty()
    }

    /// The operations, strictly ascending by key.
    pub fn operations(&self) -> &[(Hash, Option<Hash>)] {
        &self.operations
    }
}

/// The new version of `child` (a subtree at `depth`) after `operations`, all of whose keys
/// lie under it, sorted and distinct; plus the change in leaf count.
pub(crate) fn apply(
    child: &Child,
    operations: &[(Hash, Option<Hash>)],
    depth: usize,
    parallelism: Parallelism,
) -> (Child, i64) {
    apply_below(child, operations, depth, parallelism, false)
}

/// [`apply`], with `in_group` true inside a group (see the module docs): the new nodes'
/// hashes are then left pending for the group's root to finish.
fn apply_below(
    child: &Child,
    operations: &[(Hash, Option<Hash>)],
    depth: usize,
    parallelism: Parallelism,
    in_group: bool,
) -> (Child, i64) {
    if !in_group && operations.len() <= WARM_OPERATIONS_MAX {
        warm(child, operations, depth, Update::Copy);
        let (mut new_child, delta) = apply_below(child, operations, depth, parallelism, true);
        pending::finish(&mut new_child);
        return (new_child, delta);
    }
    match operations {
        [] => return (child.clone(), 0),
        [(key, operation)] => {
            if let Some(result) = apply_one_in_place(child, key, *operation, in_group) {
                return result;
            }
        }
        _ => {}
    }
    // Two or more operations, or one that lands beside a different leaf: go one level down.
    // Distinct keys always differ before bit 256, so the recursion ends above that.
    assert!(
        depth < KEY_BITS,
        "distinct keys cannot share all {KEY_BITS} bits"
    );
    let middle = operations.partition_point(|(key, _)| !key_bit(key, depth));
    let (left_operations, right_operations) = operations.split_at(middle);
    let [left, right] = split(child, depth);
    let ((new_left, left_delta), (new_right, right_delta)) = join(
        parallelism.splits(depth, operations.len()),
        || apply_below(left, left_operations, depth + 1, parallelism, in_group),
        || apply_below(right, right_operations, depth + 1, parallelism, in_group),
    );
    // Nothing changed below (writes of the values already there, deletes of absent keys):
    // keep the old node rather than rehashing an identical one.
    if let Node::Internal(_) = child.node
        && new_left.same_node(left)
        && new_right.same_node(right)
    {
        return (child.clone(), 0);
    }
    let combined = if in_group {
        Child::combine_pending(new_left, new_right)
    } else {
        Child::combine(new_left, new_right)
    };
    (combined, left_delta + right_delta)
}

/// [`apply`] into `child` itself, for a version that is being replaced by its successor:
/// an internal node no other version shares (`Arc::get_mut` succeeds) is updated in its
/// own allocation (its children in place, then its hash), so a block's update allocates
/// only the nodes it adds and leaves nothing to release; a shared node, a leaf or an
/// empty slot goes through [`apply`]'s copying path, which leaves other versions
/// untouched. The result is the same tree [`apply`] returns (the canonical rule decides
/// the shape). Returns the change in leaf count.
pub(crate) fn apply_owned(
    child: &mut Child,
    operations: &[(Hash, Option<Hash>)],
    depth: usize,
    parallelism: Parallelism,
    in_group: bool,
) -> i64 {
    if operations.is_empty() {
        return 0;
    }
    if !in_group && operations.len() <= WARM_OPERATIONS_MAX {
        warm(child, operations, depth, Update::InPlace);
        let delta = apply_owned(child, operations, depth, parallelism, true);
        pending::finish(child);
        return delta;
    }
    let Node::Internal(shared) = &mut child.node else {
        return apply_by_copy(child, operations, depth, parallelism, in_group);
    };
    let Some(internal) = Arc::get_mut(shared) else {
        return apply_by_copy(child, operations, depth, parallelism, in_group);
    };
    assert!(
        depth < KEY_BITS,
        "distinct keys cannot share all {KEY_BITS} bits"
    );
    let middle = operations.partition_point(|(key, _)| !key_bit(key, depth));
    let (left_operations, right_operations) = operations.split_at(middle);
    let [left, right] = &mut internal.children;
    let (left_delta, right_delta) = join(
        parallelism.splits(depth, operations.len()),
        || apply_owned(left, left_operations, depth + 1, parallelism, in_group),
        || apply_owned(right, right_operations, depth + 1, parallelism, in_group),
    );
    // The canonical rule, as `Child::combine` applies it, without a new allocation.
    let collapsed = match (&left.node, &right.node) {
        (Node::Empty, Node::Empty) => Some(Child::EMPTY),
        (Node::Empty, Node::Leaf(_)) => Some(std::mem::replace(right, Child::EMPTY)),
        (Node::Leaf(_), Node::Empty) => Some(std::mem::replace(left, Child::EMPTY)),
        _ => None,
    };
    match collapsed {
        Some(replacement) => *child = replacement,
        None if in_group => child.hash = PENDING_HASH,
        None => child.hash = node_hash(&left.hash, &right.hash),
    }
    left_delta + right_delta
}

fn apply_by_copy(
    child: &mut Child,
    operations: &[(Hash, Option<Hash>)],
    depth: usize,
    parallelism: Parallelism,
    in_group: bool,
) -> i64 {
    let (replacement, delta) = apply_below(child, operations, depth, parallelism, in_group);
    *child = replacement;
    delta
}

/// One operation on an empty slot or on a slot holding exactly its key: done here, with no
/// descent. `None` when the slot needs splitting (an internal node, or another key's leaf).
/// A new leaf's hash is left pending `in_group`.
fn apply_one_in_place(
    child: &Child,
    key: &Hash,
    operation: Option<Hash>,
    in_group: bool,
) -> Option<(Child, i64)> {
    let new_leaf = if in_group {
        Child::pending_leaf
    } else {
        Child::leaf
    };
    match (&child.node, operation) {
        (Node::Empty, None) => Some((Child::EMPTY, 0)),
        (Node::Empty, Some(value_hash)) => Some((new_leaf(*key, value_hash), 1)),
        (Node::Leaf(leaf), None) if leaf.key == *key => Some((Child::EMPTY, -1)),
        (Node::Leaf(leaf), Some(value_hash)) if leaf.key == *key => {
            if leaf.value_hash == value_hash {
                Some((child.clone(), 0))
            } else {
                Some((new_leaf(*key, value_hash), 0))
            }
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> Hash {
        Hash([byte; 32])
    }

    #[test]
    fn batch_sorts_and_keeps_the_last_write_per_key() {
        let batch = Batch::from_value_hashes([
            (key(3), Some(key(30))),
            (key(1), Some(key(10))),
            (key(3), None),
            (key(2), None),
            (key(1), Some(key(11))),
        ]);
        assert_eq!(
            batch.operations(),
            &[(key(1), Some(key(11))), (key(2), None), (key(3), None)]
        );
        assert_eq!(batch.len(), 3);
    }

    #[test]
    fn distinct_values_batch_like_from_values() {
        let updates: Vec<(Hash, Option<Vec<u8>>)> = (0..200u32)
            .map(|i| {
                let key = Hash::digest(&i.to_le_bytes());
                // Mostly 100-byte values (runs that share compressions), some shorter.
                let repeats = if i % 7 == 0 { 3 } else { 25 };
                (key, (i % 3 != 0).then(|| i.to_be_bytes().repeat(repeats)))
            })
            .collect();
        assert_eq!(
            Batch::from_distinct_values(updates.clone()),
            Batch::from_values(updates)
        );
    }

    #[test]
    #[should_panic(expected = "given a key twice")]
    fn distinct_values_refuse_a_repeated_key() {
        Batch::from_distinct_values([(key(1), Some(b"a")), (key(2), None), (key(1), None)]);
    }

    #[test]
    fn batch_from_values_hashes_each_value() {
        let batch = Batch::from_values([(key(1), Some(b"x".as_slice())), (key(2), None)]);
        assert_eq!(
            batch.operations(),
            &[(key(1), Some(value_hash(b"x"))), (key(2), None)]
        );
    }

    #[test]
    fn parallel_split_only_near_the_top_with_enough_work() {
        assert!(Parallelism::Rayon.splits(0, PARALLEL_OPS_MIN));
        assert!(!Parallelism::Rayon.splits(0, PARALLEL_OPS_MIN - 1));
        assert!(!Parallelism::Rayon.splits(PARALLEL_DEPTH_MAX, 1 << 20));
        assert!(!Parallelism::Sequential.splits(0, 1 << 20));
    }
}
