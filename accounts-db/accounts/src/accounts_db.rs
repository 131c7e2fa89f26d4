//! [`AccountsDb`]: execution writes in, reads and roots out, finality down to disk.

use std::path::Path;
use std::time::{Duration, Instant};

use aether_account_storage::{AccountStorage, OpenOptions, RecoveryReport};
use aether_fork_overlay::{
    BlockId, FinalizeSummary, ForkOverlay, ForkOverlayConfig, NewBlock, Value, Writes,
};
use aether_state_commitment::{Batch, BuildError, Proof, Tree};
use aether_types::Hash;

use crate::durable::DurableState;
use crate::{AccountsDbError, GENESIS_PARENT};

/// How the accounts-db opens.
#[derive(Default)]
pub struct AccountsDbOptions {
    /// Storage options (write path, segment size, compaction).
    pub storage: OpenOptions,
    /// Bounds on unfinalized blocks.
    pub overlay: ForkOverlayConfig,
}

/// What opening found.
#[derive(Debug)]
pub struct OpenReport {
    /// Storage's recovery report (write path, torn tail cut, keys, time).
    pub recovery: RecoveryReport,
    /// The last finalized block (slot 0 and [`GENESIS_PARENT`] for a new store).
    pub last_finalized: BlockId,
    /// Time to rebuild the Merkle tree from every live key and check its root.
    pub tree_rebuild: Duration,
}

/// The node's account state (see the crate docs).
pub struct AccountsDb {
    overlay: ForkOverlay<DurableState, Tree>,
}

impl AccountsDb {
    /// Opens the accounts-db in `dir`: recovers storage, rebuilds the tree from every
    /// live key and checks its root against the last committed block's.
    pub fn open(
        dir: &Path,
        options: AccountsDbOptions,
    ) -> Result<(Self, OpenReport), AccountsDbError> {
        let (storage, recovery) = AccountStorage::open(dir, options.storage)?;
        let started = Instant::now();
        let tree = tree_of_storage(&storage)?;
        let root = tree.root();
        let last_finalized = match storage.last_committed() {
            Some(last) => {
                if last.state_root != root {
                    return Err(AccountsDbError::RootMismatch {
                        dir: dir.to_path_buf(),
                        slot: last.slot,
                        stored: last.state_root,
                        recomputed: root,
                    });
                }
                BlockId {
                    hash: last.block_hash,
                    slot: last.slot,
                    state_root: root,
                }
            }
            None => BlockId {
                hash: GENESIS_PARENT,
                slot: 0,
                state_root: root,
            },
        };
        let tree_rebuild = started.elapsed();
        let overlay = ForkOverlay::new(
            DurableState { storage },
            last_finalized,
            tree,
            options.overlay,
        )?;
        Ok((
            Self { overlay },
            OpenReport {
                recovery,
                last_finalized,
                tree_rebuild,
            },
        ))
    }

    /// Adds an executed block on `parent` and returns its state root.
    ///
    /// `writes` are the block's effects relative to its parent (`None` deletes).
    /// Refused — and nothing changes — when the parent is not held, the hash is, the
    /// slot is not above the parent's, or the overlay is full (finalize to make room).
    pub fn apply_block(
        &mut self,
        parent: Hash,
        hash: Hash,
        slot: u64,
        writes: Writes,
    ) -> Result<Hash, AccountsDbError> {
        self.apply_block_sealed(parent, slot, writes, |_| hash)
            .map(|(_, state_root)| state_root)
    }

    /// Like [`Self::apply_block`] for a block received from another validator, whose
    /// header claims `expected_state_root`: the root is computed before anything is
    /// inserted, and a mismatch is refused with nothing changed.
    pub fn apply_block_expecting(
        &mut self,
        parent: Hash,
        hash: Hash,
        slot: u64,
        writes: Writes,
        expected_state_root: Hash,
    ) -> Result<(), AccountsDbError> {
        self.insert_with_root(parent, slot, writes, |state_root| {
            if state_root == expected_state_root {
                Ok(hash)
            } else {
                Err(AccountsDbError::StateRootMismatch {
                    block: hash,
                    claimed: expected_state_root,
                    computed: state_root,
                })
            }
        })
        .map(|_| ())
    }

    /// Like [`Self::apply_block`] for a block whose hash depends on its state root
    /// (a leader sealing its header): `seal(state_root)` returns the block hash.
    /// Returns `(hash, state_root)`.
    pub fn apply_block_sealed(
        &mut self,
        parent: Hash,
        slot: u64,
        writes: Writes,
        seal: impl FnOnce(Hash) -> Hash,
    ) -> Result<(Hash, Hash), AccountsDbError> {
        self.insert_with_root(parent, slot, writes, |state_root| Ok(seal(state_root)))
    }

    /// A block built on the last finalized block and final at once (a leader with no
    /// one to wait for: the single-node dev chain): the same as
    /// [`Self::apply_block_sealed`] then [`Self::finalize`], but the parent's tree turns
    /// into the block's tree in place ([`Tree::apply_in_place`]). Finalizing drops the
    /// parent's version anyway, so its nodes are updated where they are instead of
    /// copied and then released (that copying and releasing was 5–7 µs of the node's
    /// 50 µs per transaction at 36k TPS).
    ///
    /// A `parent` that is not the last finalized block takes the two-step path. If the
    /// block is refused or its commit fails, the parent's tree is rebuilt from storage
    /// (which holds exactly the last finalized state) before the error is returned, so
    /// the accounts-db stays as it was.
    pub fn apply_block_sealed_final(
        &mut self,
        parent: Hash,
        slot: u64,
        writes: Writes,
        seal: impl FnOnce(Hash) -> Hash,
    ) -> Result<(Hash, Hash), AccountsDbError> {
        if self.overlay.last_finalized().hash != parent {
            let (hash, state_root) = self.apply_block_sealed(parent, slot, writes, seal)?;
            self.finalize(&hash)?;
            return Ok((hash, state_root));
        }
        let parent_tree = self
            .overlay
            .payload_mut(&parent)
            .expect("the last finalized block is held");
        let mut tree = std::mem::replace(parent_tree, Tree::empty());
        tree.apply_in_place(&batch_of(&writes));
        let state_root = tree.root();
        let hash = seal(state_root);
        let inserted = self.overlay.insert_block(NewBlock {
            parent,
            hash,
            slot,
            state_root,
            writes,
            payload: tree,
        });
        let outcome = match inserted {
            Ok(()) => self.finalize(&hash).map(|_| (hash, state_root)),
            Err(rejected) => Err(AccountsDbError::Insert {
                block: hash,
                source: rejected.error,
            }),
        };
        if outcome.is_err() {
            let rebuilt = tree_of_storage(&self.overlay.base().storage)?;
            let last_finalized = self.overlay.last_finalized();
            if rebuilt.root() != last_finalized.state_root {
                return Err(AccountsDbError::RootMismatch {
                    dir: self.overlay.base().storage.dir().to_path_buf(),
                    slot: last_finalized.slot,
                    stored: last_finalized.state_root,
                    recomputed: rebuilt.root(),
                });
            }
            *self
                .overlay
                .payload_mut(&last_finalized.hash)
                .expect("the last finalized block is held") = rebuilt;
        }
        outcome
    }

    /// Computes the state root of `writes` on `parent`, asks `hash_for` for the block
    /// hash (or a refusal), then inserts the block. Nothing changes on any error.
    fn insert_with_root(
        &mut self,
        parent: Hash,
        slot: u64,
        writes: Writes,
        hash_for: impl FnOnce(Hash) -> Result<Hash, AccountsDbError>,
    ) -> Result<(Hash, Hash), AccountsDbError> {
        let parent_tree = self
            .overlay
            .block(&parent)
            .ok_or(AccountsDbError::UnknownBlock(parent))?
            .payload();
        let tree = parent_tree.apply(&batch_of(&writes));
        let state_root = tree.root();
        let hash = hash_for(state_root)?;
        self.overlay
            .insert_block(NewBlock {
                parent,
                hash,
                slot,
                state_root,
                writes,
                payload: tree,
            })
            .map_err(|rejected| AccountsDbError::Insert {
                block: hash,
                source: rejected.error,
            })?;
        Ok((hash, state_root))
    }

    /// The value of `key` in the state after block `at`.
    pub fn get(&self, at: &Hash, key: &Hash) -> Result<Option<Value>, AccountsDbError> {
        Ok(self.overlay.get(at, key)?)
    }

    /// The state root after block `at`.
    pub fn state_root(&self, at: &Hash) -> Result<Hash, AccountsDbError> {
        Ok(self.tree(at)?.root())
    }

    /// An inclusion or non-inclusion proof of `key` against [`Self::state_root`]`(at)`.
    pub fn prove(&self, at: &Hash, key: &Hash) -> Result<Proof, AccountsDbError> {
        Ok(self.tree(at)?.prove(key))
    }

    fn tree(&self, at: &Hash) -> Result<&Tree, AccountsDbError> {
        Ok(self
            .overlay
            .block(at)
            .ok_or(AccountsDbError::UnknownBlock(*at))?
            .payload())
    }

    /// Makes `block` final: commits it and its unfinalized ancestors to storage, oldest
    /// first, each durable before the next, and drops the forks that do not extend it.
    /// When this returns `Ok`, `block` may be reported final.
    pub fn finalize(&mut self, block: &Hash) -> Result<FinalizeSummary, AccountsDbError> {
        self.overlay
            .finalize(block)
            .map_err(|error| AccountsDbError::Finalize(Box::new(error)))
    }

    /// The last finalized block.
    pub fn last_finalized(&self) -> BlockId {
        self.overlay.last_finalized()
    }

    /// Whether `block` is held (the last finalized block or an unfinalized one).
    pub fn contains(&self, block: &Hash) -> bool {
        self.overlay.contains(block)
    }

    /// The writes of a held unfinalized block (relative to its parent); `None` for the
    /// last finalized block or an unknown one.
    pub fn block_writes(&self, block: &Hash) -> Option<Writes> {
        let held = self.overlay.block(block)?;
        (!held.is_last_finalized()).then(|| held.writes().clone())
    }

    /// Slot and state root of a held block.
    pub fn block_id(&self, block: &Hash) -> Option<BlockId> {
        let held = self.overlay.block(block)?;
        Some(BlockId {
            hash: *block,
            slot: held.slot(),
            state_root: held.state_root(),
        })
    }

    /// Unfinalized blocks held.
    pub fn unfinalized_count(&self) -> usize {
        self.overlay.unfinalized_count()
    }

    /// The durable store underneath (statistics, snapshots of finalized state).
    pub fn storage(&self) -> &AccountStorage {
        &self.overlay.base().storage
    }
}

/// The tree update of a block's writes (values borrowed, not cloned).
fn batch_of(writes: &Writes) -> Batch {
    Batch::from_distinct_values(writes.iter().map(|(key, value)| (*key, value.as_deref())))
}

/// The tree of every live key in `storage` (the last finalized state).
fn tree_of_storage(storage: &AccountStorage) -> Result<Tree, AccountsDbError> {
    let mut entries = Vec::with_capacity(storage.len());
    for entry in storage.iter_live() {
        entries.push(entry?);
    }
    Tree::from_sorted(entries).map_err(|error| match error {
        BuildError::NotAscending { index } => AccountsDbError::Unordered {
            dir: storage.dir().to_path_buf(),
            index,
        },
    })
}
