//! How execution reads state, and what it writes.

use std::collections::HashMap;
use std::sync::Arc;

use aether_types::Hash;

/// The bytes stored under one key (shared, cheap to clone).
pub type StateValue = Arc<[u8]>;

/// A block's effects: `Some(bytes)` creates or replaces, `None` deletes.
pub type Writes = foldhash::HashMap<Hash, Option<StateValue>>;

/// Read access to the state a block executes on (its parent's state).
///
/// Implementations must be safe to call from many worker threads at once.
pub trait StateView: Sync {
    /// The value under `key`, if present.
    fn get(&self, key: &Hash) -> Option<StateValue>;
}

/// A state held in a hash map: genesis building, tests and benches.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemoryState {
    entries: HashMap<Hash, StateValue>,
}

impl MemoryState {
    /// An empty state.
    pub fn new() -> Self {
        Self::default()
    }

    /// Applies `writes` (creates, replaces and deletes).
    pub fn apply(&mut self, writes: &Writes) {
        for (key, value) in writes {
            match value {
                Some(value) => {
                    self.entries.insert(*key, value.clone());
                }
                None => {
                    self.entries.remove(key);
                }
            }
        }
    }

    /// Sets one key.
    pub fn insert(&mut self, key: Hash, value: StateValue) {
        self.entries.insert(key, value);
    }

    /// Every entry (unordered).
    pub fn iter(&self) -> impl Iterator<Item = (&Hash, &StateValue)> {
        self.entries.iter()
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when no key is present.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

impl StateView for MemoryState {
    fn get(&self, key: &Hash) -> Option<StateValue> {
        self.entries.get(key).cloned()
    }
}

/// A view of `base` with `overlay` on top (block-local writes so far).
pub(crate) struct Layered<'a, S: StateView + ?Sized> {
    pub(crate) base: &'a S,
    pub(crate) overlay: &'a Writes,
}

impl<S: StateView + ?Sized> StateView for Layered<'_, S> {
    fn get(&self, key: &Hash) -> Option<StateValue> {
        match self.overlay.get(key) {
            Some(value) => value.clone(),
            None => self.base.get(key),
        }
    }
}
