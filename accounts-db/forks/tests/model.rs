//! Model-based property test: random inserts (forks included), finalizations (some with a
//! base that fails part-way) and reads, run against the overlay over a [`MemoryState`]
//! and against a plain model that keeps every live block's full state in its own
//! `HashMap`. After every operation the two must agree on every read at every block, on
//! the base's contents, and on which blocks are held.

use std::cell::Cell;
use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use aether_fork_overlay::{
    BlockId, FinalizeError, FinalizeSummary, FinalizedBlock, FinalizedState, ForkOverlay,
    ForkOverlayConfig, InsertError, MemoryState, MemoryStateError, NewBlock, OverlayResource,
    ReadError, Value, Writes,
};
use aether_types::Hash;
use proptest::prelude::*;
use proptest::sample::Index;

/// Small, so writes to the same key collide across blocks and forks.
const KEY_COUNT: u8 = 6;
/// Small, so the bounds are hit.
const CONFIG: ForkOverlayConfig = ForkOverlayConfig {
    max_unfinalized_blocks: 12,
    max_unfinalized_write_count: 24,
    max_unfinalized_value_bytes: 64,
};

// ---------------------------------------------------------------------------------------
// A base that fails on demand.

/// A [`MemoryState`] whose commits fail once the shared countdown reaches zero.
struct FlakyState {
    inner: MemoryState,
    /// `Some(n)`: the next `n` commits succeed, then commits fail.
    commits_before_failure: Rc<Cell<Option<usize>>>,
}

#[derive(Debug, thiserror::Error)]
enum FlakyError {
    #[error("injected commit failure")]
    Injected,
    #[error(transparent)]
    Memory(#[from] MemoryStateError),
}

impl FinalizedState for FlakyState {
    type Error = FlakyError;

    fn get(&self, key: &Hash) -> Result<Option<Value>, Self::Error> {
        Ok(self.inner.get(key)?)
    }

    fn commit_block(&mut self, block: FinalizedBlock<'_>) -> Result<(), Self::Error> {
        match self.commits_before_failure.get() {
            Some(0) => return Err(FlakyError::Injected),
            Some(left) => self.commits_before_failure.set(Some(left - 1)),
            None => {}
        }
        Ok(self.inner.commit_block(block)?)
    }
}

// ---------------------------------------------------------------------------------------
// Operations.

/// Which block an operation names.
#[derive(Debug, Clone)]
enum Pick {
    /// One of the blocks the model holds (the last finalized block or an unfinalized one).
    Live(Index),
    /// Any block ever named, pruned and long-finalized ones included.
    Ever(Index),
}

#[derive(Debug, Clone)]
enum Op {
    Insert {
        parent: Pick,
        /// Slot above the parent's; 0 is refused.
        slot_gap: u64,
        /// (key, value seed or delete); a later write to a key wins.
        writes: Vec<(u8, Option<u8>)>,
        /// Reuse a held block's hash (refused as a duplicate).
        duplicate_of: Option<Index>,
    },
    Finalize {
        target: Pick,
        /// Commits that succeed before the base fails; `None` never fails.
        commits_before_failure: Option<usize>,
    },
    Read {
        at: Pick,
        key: u8,
    },
}

fn pick() -> impl Strategy<Value = Pick> {
    prop_oneof![
        9 => any::<Index>().prop_map(Pick::Live),
        1 => any::<Index>().prop_map(Pick::Ever),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    let write = (0..KEY_COUNT, proptest::option::weighted(0.7, any::<u8>()));
    let insert = (
        pick(),
        prop_oneof![1 => Just(0u64), 12 => 1..=3u64],
        proptest::collection::vec(write, 0..6),
        proptest::option::weighted(0.05, any::<Index>()),
    )
        .prop_map(|(parent, slot_gap, writes, duplicate_of)| Op::Insert {
            parent,
            slot_gap,
            writes,
            duplicate_of,
        });
    let finalize = (pick(), proptest::option::weighted(0.3, 0..3usize)).prop_map(
        |(target, commits_before_failure)| Op::Finalize {
            target,
            commits_before_failure,
        },
    );
    let read = (pick(), 0..KEY_COUNT).prop_map(|(at, key)| Op::Read { at, key });
    prop_oneof![6 => insert, 1 => finalize, 3 => read]
}

// ---------------------------------------------------------------------------------------
// The model: every live block's full state.

#[derive(Clone)]
struct ModelBlock {
    parent: Hash,
    slot: u64,
    state_root: Hash,
    payload: u64,
    /// The full state after this block.
    state: HashMap<Hash, Value>,
    write_count: usize,
    value_bytes: usize,
}

struct Model {
    /// The last finalized block and every unfinalized block.
    blocks: HashMap<Hash, ModelBlock>,
    root: Hash,
}

impl Model {
    /// Held blocks in a fixed order, for picking.
    fn live(&self) -> Vec<Hash> {
        let mut live: Vec<Hash> = self.blocks.keys().copied().collect();
        live.sort();
        live
    }

    fn unfinalized_count(&self) -> usize {
        self.blocks.len() - 1
    }

    /// Sums over unfinalized blocks (the root's writes are in the base).
    fn held(&self) -> (usize, usize) {
        let unfinalized = self.blocks.iter().filter(|(hash, _)| **hash != self.root);
        unfinalized.fold((0, 0), |(writes, bytes), (_, block)| {
            (writes + block.write_count, bytes + block.value_bytes)
        })
    }

    /// Parent first, ending with the root.
    fn ancestors(&self, hash: &Hash) -> Vec<Hash> {
        let mut chain = Vec::new();
        let mut at = *hash;
        while at != self.root {
            at = self.blocks[&at].parent;
            chain.push(at);
        }
        chain
    }

    fn children(&self, hash: &Hash) -> HashSet<Hash> {
        let blocks = self
            .blocks
            .iter()
            .filter(|(child, block)| **child != self.root && block.parent == *hash);
        blocks.map(|(child, _)| *child).collect()
    }

    /// The expected outcome of inserting `block`.
    fn check_insert(&self, block: &NewBlock<u64>) -> Result<(), InsertError> {
        if self.blocks.contains_key(&block.hash) {
            return Err(InsertError::DuplicateBlock { block: block.hash });
        }
        let Some(parent) = self.blocks.get(&block.parent) else {
            return Err(InsertError::UnknownParent {
                block: block.hash,
                parent: block.parent,
            });
        };
        if block.slot <= parent.slot {
            return Err(InsertError::SlotNotIncreasing {
                block: block.hash,
                slot: block.slot,
                parent_slot: parent.slot,
            });
        }
        let (write_count, value_bytes) = self.held();
        let adding_bytes: usize = block.writes.values().flatten().map(|v| v.len()).sum();
        let bounds = [
            (
                OverlayResource::Blocks,
                self.unfinalized_count(),
                1,
                CONFIG.max_unfinalized_blocks,
            ),
            (
                OverlayResource::Writes,
                write_count,
                block.writes.len(),
                CONFIG.max_unfinalized_write_count,
            ),
            (
                OverlayResource::ValueBytes,
                value_bytes,
                adding_bytes,
                CONFIG.max_unfinalized_value_bytes,
            ),
        ];
        for (resource, held, adding, max) in bounds {
            if held + adding > max {
                return Err(InsertError::OverlayFull {
                    resource,
                    held,
                    adding,
                    max,
                });
            }
        }
        Ok(())
    }

    fn insert(&mut self, block: &NewBlock<u64>) {
        let mut state = self.blocks[&block.parent].state.clone();
        for (key, write) in &block.writes {
            match write {
                Some(value) => state.insert(*key, value.clone()),
                None => state.remove(key),
            };
        }
        let model_block = ModelBlock {
            parent: block.parent,
            slot: block.slot,
            state_root: block.state_root,
            payload: block.payload,
            state,
            write_count: block.writes.len(),
            value_bytes: block.writes.values().flatten().map(|v| v.len()).sum(),
        };
        self.blocks.insert(block.hash, model_block);
    }

    /// Finalizes `path[0]` (a child of the root): keeps only its descendants. Returns the
    /// number of unfinalized blocks dropped.
    fn finalize_child(&mut self, child: Hash) -> usize {
        let before = self.unfinalized_count();
        let descends = |model: &Model, hash: &Hash| {
            let mut at = *hash;
            loop {
                if at == child {
                    return true;
                }
                if at == model.root {
                    return false;
                }
                at = model.blocks[&at].parent;
            }
        };
        let keep: HashSet<Hash> = self
            .blocks
            .keys()
            .filter(|h| descends(self, h))
            .copied()
            .collect();
        self.blocks.retain(|hash, _| keep.contains(hash));
        self.root = child;
        // One finalized (no longer unfinalized), the rest pruned.
        before - self.unfinalized_count() - 1
    }
}

// ---------------------------------------------------------------------------------------
// The harness.

struct Harness {
    overlay: ForkOverlay<FlakyState, u64>,
    model: Model,
    commits_before_failure: Rc<Cell<Option<usize>>>,
    /// Every hash ever named, the genesis block first.
    ever: Vec<Hash>,
    slots: HashMap<Hash, u64>,
    serial: u64,
}

fn block_hash(serial: u64) -> Hash {
    Hash::digest(&serial.to_le_bytes())
}

impl Harness {
    fn new(base_entries: &[(u8, u8)]) -> Self {
        let genesis = BlockId {
            hash: block_hash(0),
            slot: 0,
            state_root: Hash::digest(b"genesis root"),
        };
        let state: HashMap<Hash, Value> = base_entries
            .iter()
            .map(|(key, seed)| (key_hash(*key), Value::from(vec![0xff, *seed])))
            .collect();
        let memory: MemoryState = state.clone().into_iter().collect();
        let commits_before_failure = Rc::new(Cell::new(None));
        let base = FlakyState {
            inner: memory.with_last_committed(genesis),
            commits_before_failure: Rc::clone(&commits_before_failure),
        };
        let overlay = ForkOverlay::new(base, genesis, 0, CONFIG).unwrap();
        let root = ModelBlock {
            parent: Hash::ZERO,
            slot: 0,
            state_root: genesis.state_root,
            payload: 0,
            state,
            write_count: 0,
            value_bytes: 0,
        };
        Self {
            overlay,
            model: Model {
                blocks: HashMap::from([(genesis.hash, root)]),
                root: genesis.hash,
            },
            commits_before_failure,
            ever: vec![genesis.hash],
            slots: HashMap::from([(genesis.hash, 0)]),
            serial: 0,
        }
    }

    fn resolve(&self, pick: &Pick) -> Hash {
        match pick {
            Pick::Live(index) => *index.get(&self.model.live()),
            Pick::Ever(index) => *index.get(&self.ever),
        }
    }

    fn apply(&mut self, op: &Op) {
        match op {
            Op::Insert {
                parent,
                slot_gap,
                writes,
                duplicate_of,
            } => self.insert(parent, *slot_gap, writes, duplicate_of.as_ref()),
            Op::Finalize {
                target,
                commits_before_failure,
            } => self.finalize(target, *commits_before_failure),
            Op::Read { at, key } => {
                let at = self.resolve(at);
                self.check_read(&at, *key);
            }
        }
    }

    fn insert(
        &mut self,
        parent: &Pick,
        slot_gap: u64,
        writes: &[(u8, Option<u8>)],
        dup: Option<&Index>,
    ) {
        self.serial += 1;
        let serial = self.serial;
        let parent = self.resolve(parent);
        let hash = match dup {
            Some(index) => *index.get(&self.model.live()),
            None => block_hash(serial),
        };
        let writes: Writes = writes
            .iter()
            .map(|(key, seed)| (key_hash(*key), seed.map(|seed| value(serial, seed))))
            .collect();
        let block = NewBlock {
            parent,
            hash,
            slot: self.slots[&parent] + slot_gap,
            state_root: Hash::digest(&[&serial.to_le_bytes()[..], b" root"].concat()),
            writes,
            payload: serial,
        };
        let expected = self.model.check_insert(&block);
        match self.overlay.insert_block(block.clone()) {
            Ok(()) => {
                assert_eq!(expected, Ok(()), "inserted a block the model refuses");
                self.model.insert(&block);
                self.ever.push(hash);
                self.slots.insert(hash, block.slot);
            }
            Err(rejected) => {
                assert_eq!(Err(rejected.error), expected);
                assert_eq!(
                    rejected.block, block,
                    "a refused block comes back unchanged"
                );
            }
        }
    }

    fn finalize(&mut self, target: &Pick, commits_before_failure: Option<usize>) {
        let target = self.resolve(target);
        self.commits_before_failure.set(commits_before_failure);
        let result = self.overlay.finalize(&target);
        self.commits_before_failure.set(None);
        if !self.model.blocks.contains_key(&target) {
            assert!(
                matches!(result, Err(FinalizeError::UnknownBlock { block }) if block == target)
            );
            return;
        }
        let mut path = self.model.ancestors(&target);
        path.pop(); // the root
        path.reverse();
        if target != self.model.root {
            path.push(target);
        }
        let commit_count = path.len().min(commits_before_failure.unwrap_or(usize::MAX));
        let mut pruned_count = 0;
        for child in &path[..commit_count] {
            pruned_count += self.model.finalize_child(*child);
        }
        match result {
            Ok(summary) => {
                assert_eq!(
                    commit_count,
                    path.len(),
                    "finalize succeeded past a failure"
                );
                assert_eq!(
                    summary,
                    FinalizeSummary {
                        committed_count: commit_count,
                        pruned_count
                    }
                );
            }
            Err(FinalizeError::Base {
                block,
                slot,
                committed_count,
                pruned_count: error_pruned_count,
                source,
            }) => {
                assert!(matches!(source, FlakyError::Injected), "{source}");
                assert!(
                    commit_count < path.len(),
                    "finalize failed without a failure"
                );
                assert_eq!(block, path[commit_count]);
                assert_eq!(slot, self.slots[&block]);
                assert_eq!(committed_count, commit_count);
                assert_eq!(error_pruned_count, pruned_count);
            }
            Err(error) => panic!("unexpected {error:?}"),
        }
    }

    fn check_read(&self, at: &Hash, key: u8) {
        let read = self.overlay.get(at, &key_hash(key));
        match self.model.blocks.get(at) {
            Some(block) => assert_eq!(
                read.unwrap(),
                block.state.get(&key_hash(key)).cloned(),
                "key {key} at {at}"
            ),
            None => assert!(matches!(read, Err(ReadError::UnknownBlock { block }) if block == *at)),
        }
    }

    /// Everything the overlay shows agrees with the model.
    fn check_all(&self) {
        let overlay = &self.overlay;
        let model = &self.model;
        overlay.assert_invariants();
        assert_eq!(overlay.last_finalized().hash, model.root);
        assert_eq!(overlay.last_finalized().slot, self.slots[&model.root]);
        assert_eq!(overlay.unfinalized_count(), model.unfinalized_count());
        let (write_count, value_bytes) = model.held();
        assert_eq!(overlay.unfinalized_write_count(), write_count);
        assert_eq!(overlay.unfinalized_value_bytes(), value_bytes);

        // The base holds exactly the last finalized block's state, committed in order.
        let base = &overlay.base().inner;
        let base_state: HashMap<Hash, Value> = base.iter().map(|(k, v)| (*k, v.clone())).collect();
        assert_eq!(base_state, model.blocks[&model.root].state);
        assert_eq!(base.last_committed().map(|id| id.hash), Some(model.root));

        // Exactly the model's blocks are held (the finalized block's descendants).
        for hash in &self.ever {
            assert_eq!(overlay.contains(hash), model.blocks.contains_key(hash));
            for key in 0..KEY_COUNT {
                self.check_read(hash, key);
            }
        }
        for (hash, block) in &model.blocks {
            let view = overlay.block(hash).unwrap();
            assert_eq!(view.slot(), block.slot);
            assert_eq!(view.state_root(), block.state_root);
            assert_eq!(*view.payload(), block.payload);
            let is_root = *hash == model.root;
            assert_eq!(view.is_last_finalized(), is_root);
            assert_eq!(view.parent(), (!is_root).then_some(block.parent));
            let children: HashSet<Hash> = view.children().iter().copied().collect();
            assert_eq!(children, model.children(hash));
            assert_eq!(children.len(), view.children().len());
            let ancestors: Vec<Hash> = overlay.ancestors(hash).unwrap().map(|b| b.hash()).collect();
            assert_eq!(ancestors, model.ancestors(hash));
        }
    }
}

fn key_hash(key: u8) -> Hash {
    Hash::digest_with_domain(aether_types::Domain::OutputKey, &[&[key]])
}

/// A value unique to the writing block, 3 to 6 bytes long.
fn value(serial: u64, seed: u8) -> Value {
    let mut bytes = serial.to_le_bytes()[..2].to_vec();
    bytes.resize(3 + usize::from(seed % 4), seed);
    Value::from(bytes)
}

/// 512 cases (under a second in the dev profile); `PROPTEST_CASES` overrides it for a soak.
fn model_config() -> ProptestConfig {
    let cases = match std::env::var("PROPTEST_CASES") {
        Ok(_) => ProptestConfig::default().cases,
        Err(_) => 512,
    };
    ProptestConfig {
        cases,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(model_config())]

    #[test]
    fn overlay_matches_a_map_per_block_model(
        base_entries in proptest::collection::vec((0..KEY_COUNT, any::<u8>()), 0..4),
        ops in proptest::collection::vec(op(), 1..=60),
    ) {
        let mut harness = Harness::new(&base_entries);
        harness.check_all();
        for op in &ops {
            harness.apply(op);
            harness.check_all();
        }
    }
}
