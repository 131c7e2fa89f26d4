//! Helpers for the unit tests: short names for hashes, blocks and a base that fails on
//! demand.

use aether_types::Hash;

use crate::{
    BlockId, FinalizedBlock, FinalizedState, ForkOverlay, ForkOverlayConfig, MemoryState,
    MemoryStateError, NewBlock, Value, Writes,
};

/// `Hash([byte; 32])`: block `n` and key `n` share a name space, which is harmless.
pub(crate) fn hash(byte: u8) -> Hash {
    Hash([byte; 32])
}

pub(crate) fn value(bytes: &[u8]) -> Value {
    Value::from(bytes)
}

/// Block `hash` on `parent`; state root `hash(hash ^ 0x80)`, payload `hash`.
pub(crate) fn block(
    parent: u8,
    hash: u8,
    slot: u64,
    writes: &[(u8, Option<&str>)],
) -> NewBlock<u8> {
    let writes: Writes = writes
        .iter()
        .map(|(key, write)| (self::hash(*key), write.map(|text| value(text.as_bytes()))))
        .collect();
    NewBlock {
        parent: self::hash(parent),
        hash: self::hash(hash),
        slot,
        state_root: self::hash(hash ^ 0x80),
        writes,
        payload: hash,
    }
}

/// A [`MemoryState`] whose commits fail once `commits_before_failure` reaches zero.
#[derive(Debug, Default)]
pub(crate) struct FlakyState {
    pub(crate) inner: MemoryState,
    /// `Some(n)`: the next `n` commits succeed, then every commit fails.
    pub(crate) commits_before_failure: Option<usize>,
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum FlakyError {
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
        match &mut self.commits_before_failure {
            Some(0) => return Err(FlakyError::Injected),
            Some(left) => *left -= 1,
            None => {}
        }
        Ok(self.inner.commit_block(block)?)
    }
}

/// An overlay rooted at block 0 (slot 0) over a base holding keys 1 and 2 = "genesis",
/// bounded to `max_unfinalized_blocks`.
pub(crate) fn overlay(max_unfinalized_blocks: usize) -> ForkOverlay<FlakyState, u8> {
    let root = BlockId {
        hash: hash(0),
        slot: 0,
        state_root: hash(0x80),
    };
    let inner: MemoryState = [(hash(1), value(b"genesis")), (hash(2), value(b"genesis"))]
        .into_iter()
        .collect();
    let base = FlakyState {
        inner: inner.with_last_committed(root),
        commits_before_failure: None,
    };
    let config = ForkOverlayConfig {
        max_unfinalized_blocks,
        ..ForkOverlayConfig::DEFAULT
    };
    ForkOverlay::new(base, root, 0, config).unwrap()
}
