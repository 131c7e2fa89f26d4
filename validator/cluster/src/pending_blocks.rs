//! Blocks above the committed root that this validator accepted or built, kept on disk
//! until they are final or pruned: after a restart of the whole cluster the block of
//! the highest QC is certified but not final, so no blockstore holds it, and without it
//! no leader can propose (a proposal extends the high QC's block).
//!
//! One file per block (`<slot>-<hash>.block`: the encoded block), written to a temporary name,
//! synced and renamed before the block is voted for or proposed. Files of blocks at or
//! below the root are deleted once the blockstore holds the final chain that far (the
//! service prunes through the blockstore's newest final slot, which trails the root
//! while the shred stage stores): a crash after a commit but before the shred stage
//! stored its blocks loses none of them, since at start [`PendingBlocks::final_chain`]
//! gives them back for the blockstore. Also at start every file above the root that
//! decodes is read back (a damaged one is deleted and reported: a peer can resend it),
//! oldest slot first, for the driver to replay on the root.

use std::collections::HashMap;
use std::path::PathBuf;

use aether_types::codec::{decode_exact, encode};
use aether_types::{Block, Hash};

/// Most blocks kept (the bound on un-final blocks a validator holds).
pub const PENDING_BLOCKS_MAX: usize = 1_024;

/// The pending-block directory. See the module docs.
#[derive(Debug, Clone)]
pub struct PendingBlocks {
    directory: PathBuf,
}

impl PendingBlocks {
    /// The store in `directory` (created if missing).
    pub fn open(directory: impl Into<PathBuf>) -> std::io::Result<Self> {
        let directory = directory.into();
        std::fs::create_dir_all(&directory)?;
        Ok(Self { directory })
    }

    fn path_of(&self, block: &Block) -> PathBuf {
        self.directory.join(format!(
            "{}-{}.block",
            block.header.header.slot,
            block.hash()
        ))
    }

    /// Keeps `block` durably (no-op when it is kept already).
    pub fn save(&self, block: &Block) -> std::io::Result<()> {
        use std::io::Write;
        let path = self.path_of(block);
        if path.exists() {
            return Ok(());
        }
        let temporary = path.with_extension("tmp");
        let mut file = std::fs::File::create(&temporary)?;
        file.write_all(&encode(block))?;
        file.sync_all()?;
        std::fs::rename(&temporary, &path)?;
        std::fs::File::open(&self.directory)?.sync_all()
    }

    /// Deletes the blocks at or below `slot` (final, or on forks the root left behind),
    /// by file name (nothing is read).
    pub fn prune_through(&self, slot: u64) {
        let Ok(entries) = std::fs::read_dir(&self.directory) else {
            return;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let old = name
                .to_str()
                .and_then(|name| name.split_once('-'))
                .and_then(|(block_slot, _)| block_slot.parse::<u64>().ok())
                .is_some_and(|block_slot| block_slot <= slot);
            if old {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }

    /// Every kept block above `root_slot`, oldest slot first (at most
    /// [`PENDING_BLOCKS_MAX`], the newest kept). A file that does not decode is deleted
    /// (a peer can resend its block).
    pub fn load_above(&self, root_slot: u64) -> Vec<Block> {
        let mut blocks = self.load_where(|slot| slot > root_slot);
        let excess = blocks.len().saturating_sub(PENDING_BLOCKS_MAX);
        blocks.drain(..excess);
        blocks
    }

    /// The final blocks kept above `stored_slot` (the blockstore's newest final slot):
    /// the chain that ends in `last_final` (the accounts-db's last final block), found
    /// through parent hashes, oldest first. Empty when `last_final` is not kept.
    pub fn final_chain(&self, last_final: &Hash, stored_slot: u64) -> Vec<Block> {
        let mut by_hash: HashMap<Hash, Block> = self
            .load_where(|slot| slot > stored_slot)
            .into_iter()
            .map(|block| (block.hash(), block))
            .collect();
        let mut chain = Vec::new();
        let mut next = *last_final;
        while let Some(block) = by_hash.remove(&next) {
            next = block.header.header.parent_hash;
            chain.push(block);
        }
        chain.reverse();
        chain
    }

    /// Every kept block whose slot `keep` accepts, oldest slot first.
    fn load_where(&self, keep: impl Fn(u64) -> bool) -> Vec<Block> {
        let Ok(entries) = std::fs::read_dir(&self.directory) else {
            return Vec::new();
        };
        let mut blocks: Vec<Block> = entries
            .flatten()
            .map(|entry| entry.path())
            .filter(|path| {
                path.extension()
                    .is_some_and(|extension| extension == "block")
            })
            .filter_map(|path| {
                let block = std::fs::read(&path)
                    .ok()
                    .and_then(|bytes| decode_exact::<Block>(&bytes).ok());
                if block.is_none() {
                    tracing::warn!(file = %path.display(), "deleting a damaged pending block");
                    let _ = std::fs::remove_file(&path);
                }
                block
            })
            .filter(|block| keep(block.header.header.slot))
            .collect();
        blocks.sort_by_key(|block| block.header.header.slot);
        blocks
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A block of `slot` (the Turbine tests' block: contents need not be valid here).
    fn block(slot: u64) -> Block {
        crate::block_broadcast::tests::block(slot, 0)
    }

    #[test]
    fn blocks_come_back_above_the_root_in_slot_order_and_pruning_deletes_them() {
        let directory = tempfile::tempdir().unwrap();
        let store = PendingBlocks::open(directory.path().join("pending")).unwrap();
        for slot in [7, 5, 9] {
            store.save(&block(slot)).unwrap();
        }
        store.save(&block(7)).unwrap();
        let slots = |blocks: Vec<Block>| -> Vec<u64> {
            blocks
                .iter()
                .map(|block| block.header.header.slot)
                .collect()
        };
        assert_eq!(slots(store.load_above(0)), vec![5, 7, 9]);
        assert_eq!(slots(store.load_above(5)), vec![7, 9]);
        // A damaged file is deleted, the rest still load.
        std::fs::write(directory.path().join("pending/8-x.block"), b"garbage").unwrap();
        assert_eq!(slots(store.load_above(0)), vec![5, 7, 9]);
        assert!(!directory.path().join("pending/8-x.block").exists());
        store.prune_through(7);
        assert_eq!(slots(store.load_above(0)), vec![9]);
    }

    #[test]
    fn the_final_chain_above_the_stored_slot_comes_back_by_parent_hashes() {
        let directory = tempfile::tempdir().unwrap();
        let store = PendingBlocks::open(directory.path().join("pending")).unwrap();
        // A chain 3 <- 4 <- 6, a fork block at 5 and a block above at 7.
        let mut chain: Vec<Block> = Vec::new();
        for slot in [3, 4, 6] {
            let mut next = block(slot);
            if let Some(parent) = chain.last() {
                next.header.header.parent_hash = parent.hash();
            }
            chain.push(next);
        }
        for kept in chain.iter().chain([&block(5), &block(7)]) {
            store.save(kept).unwrap();
        }
        let slots = |blocks: Vec<Block>| -> Vec<u64> {
            blocks
                .iter()
                .map(|block| block.header.header.slot)
                .collect()
        };
        let last_final = chain[2].hash();
        assert_eq!(slots(store.final_chain(&last_final, 0)), vec![3, 4, 6]);
        assert_eq!(slots(store.final_chain(&last_final, 3)), vec![4, 6]);
        assert_eq!(slots(store.final_chain(&last_final, 6)), Vec::<u64>::new());
        assert!(store.final_chain(&Hash([9; 32]), 0).is_empty());
    }
}
