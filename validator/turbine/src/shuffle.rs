//! Deterministic randomness and the stake-weighted shuffle.
//!
//! [`SeedStream`] is BLAKE3's extendable output read 16 bytes at a time; [`uniform_below`]
//! turns it into unbiased integers by rejection (no floating point anywhere, so every
//! platform computes the same order). [`WeightedShuffle`] samples without replacement
//! with a Fenwick tree of stakes: each draw picks a node with probability proportional
//! to its stake among those left, in O(log n), and removes it.

use crate::cluster::ClusterNodes;

/// An endless stream of seeded bytes (BLAKE3 XOF).
pub struct SeedStream {
    reader: blake3::OutputReader,
}

impl SeedStream {
    /// The stream of the BLAKE3 hash of `parts` concatenated.
    pub fn new(parts: &[&[u8]]) -> SeedStream {
        let mut hasher = blake3::Hasher::new();
        for part in parts {
            hasher.update(part);
        }
        SeedStream {
            reader: hasher.finalize_xof(),
        }
    }

    /// The next 128 bits.
    pub fn next_u128(&mut self) -> u128 {
        let mut bytes = [0u8; 16];
        self.reader.fill(&mut bytes);
        u128::from_le_bytes(bytes)
    }
}

/// A uniform integer in `0..bound` (`bound > 0`), without modulo bias: draws below
/// `2^128 mod bound` are rejected (probability under `bound / 2^128`).
pub fn uniform_below(stream: &mut SeedStream, bound: u128) -> u128 {
    assert!(bound > 0, "uniform_below needs a non-empty range");
    let threshold = bound.wrapping_neg() % bound;
    loop {
        let draw = stream.next_u128();
        if draw >= threshold {
            return draw % bound;
        }
    }
}

/// A Fenwick (binary indexed) tree of weights: prefix sums and "which index holds the
/// r-th unit of weight" in O(log n).
#[derive(Debug, Clone)]
pub struct Fenwick {
    /// 1-based; `tree[i]` sums weights `(i - lowbit(i), i]`.
    tree: Vec<u128>,
    total: u128,
}

impl Fenwick {
    /// The tree over `weights`, built in O(n).
    pub fn new(weights: impl ExactSizeIterator<Item = u64>) -> Fenwick {
        let count = weights.len();
        let mut tree = vec![0u128; count + 1];
        let mut total = 0u128;
        for (index, weight) in weights.enumerate() {
            tree[index + 1] += u128::from(weight);
            total += u128::from(weight);
        }
        for index in 1..=count {
            let parent = index + (index & index.wrapping_neg());
            if parent <= count {
                tree[parent] += tree[index];
            }
        }
        Fenwick { tree, total }
    }

    /// Sum of all weights still in the tree.
    pub fn total(&self) -> u128 {
        self.total
    }

    /// Removes `weight` from 0-based `index` (its weight must be at least `weight`).
    pub fn subtract(&mut self, index: usize, weight: u128) {
        assert!(weight <= self.total);
        self.total -= weight;
        let mut position = index + 1;
        while position < self.tree.len() {
            self.tree[position] -= weight;
            position += position & position.wrapping_neg();
        }
    }

    /// The 0-based index `i` with `prefix(i) <= target < prefix(i + 1)`; `target` must
    /// be below [`Fenwick::total`].
    pub fn find(&self, target: u128) -> usize {
        assert!(target < self.total, "target past the total weight");
        let count = self.tree.len() - 1;
        let mut position = 0usize;
        let mut remaining = target;
        let mut step = if count == 0 { 0 } else { 1 << count.ilog2() };
        while step > 0 {
            let next = position + step;
            if next <= count && self.tree[next] <= remaining {
                position = next;
                remaining -= self.tree[next];
            }
            step >>= 1;
        }
        assert!(position < count);
        position
    }
}

/// The cluster's canonical indexes in stake-weighted random order, `excluded` left out,
/// produced lazily (a caller that needs only a prefix stops early).
///
/// Staked nodes come first, sampled without replacement proportionally to stake; then
/// the zero-stake nodes, uniformly shuffled by a forward Fisher–Yates on the same
/// stream. `base` is the Fenwick tree over the cluster's stakes in canonical order
/// (built once per cluster and cloned here).
pub struct WeightedShuffle<'a> {
    cluster: &'a ClusterNodes,
    weights: Fenwick,
    staked_left: usize,
    excluded: Option<usize>,
    stream: SeedStream,
    /// Zero-stake indexes, built when the staked ones run out; `tail[tail_next..]` are
    /// still to be drawn.
    tail: Option<Vec<u32>>,
    tail_next: usize,
}

impl<'a> WeightedShuffle<'a> {
    /// The shuffle of `cluster` (stakes in `base`) without `excluded`, drawn from `stream`.
    pub fn new(
        cluster: &'a ClusterNodes,
        base: &Fenwick,
        excluded: Option<usize>,
        stream: SeedStream,
    ) -> WeightedShuffle<'a> {
        assert_eq!(base.total(), cluster.stake_total(), "stakes match cluster");
        let mut weights = base.clone();
        let mut staked_left = cluster.staked_count();
        if let Some(index) = excluded {
            let stake = u128::from(cluster.node(index).stake);
            if stake > 0 {
                weights.subtract(index, stake);
                staked_left -= 1;
            }
        }
        WeightedShuffle {
            cluster,
            weights,
            staked_left,
            excluded,
            stream,
            tail: None,
            tail_next: 0,
        }
    }
}

impl Iterator for WeightedShuffle<'_> {
    type Item = u32;

    fn next(&mut self) -> Option<u32> {
        if self.staked_left > 0 {
            let index = self
                .weights
                .find(uniform_below(&mut self.stream, self.weights.total()));
            self.weights
                .subtract(index, u128::from(self.cluster.node(index).stake));
            self.staked_left -= 1;
            return Some(index as u32);
        }
        assert_eq!(
            self.weights.total(),
            0,
            "every staked node drawn exactly once"
        );
        let (cluster, excluded) = (self.cluster, self.excluded);
        let tail = self.tail.get_or_insert_with(|| {
            (cluster.staked_count()..cluster.len())
                .filter(|&index| Some(index) != excluded)
                .map(|index| index as u32)
                .collect()
        });
        // Forward Fisher–Yates: equal (zero) stakes, order decided by the seed.
        let next = self.tail_next;
        if next == tail.len() {
            return None;
        }
        let pick = next + uniform_below(&mut self.stream, (tail.len() - next) as u128) as usize;
        tail.swap(next, pick);
        self.tail_next += 1;
        Some(tail[next])
    }
}
