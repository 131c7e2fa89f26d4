//! The in-memory index: key → location of its newest put record, plus per-segment byte
//! accounting that compaction uses to pick segments.
//!
//! Invariants (checked by `check_invariants` in tests):
//! - every location's segment has a usage entry;
//! - a segment's `live_bytes` is the sum of the lengths of the locations in it;
//! - `live_bytes + tombstone_bytes <= total_bytes` for every segment.

use std::collections::BTreeMap;

use aether_types::Hash;

/// Where a put record lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Location {
    /// Segment id.
    pub(crate) segment: u32,
    /// Offset of the record's first byte in the segment file.
    pub(crate) offset: u64,
    /// Bytes of the whole record (header and payload).
    pub(crate) len: u32,
}

/// Byte accounting of one segment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct SegmentUsage {
    /// File bytes (header and all committed groups).
    pub(crate) total_bytes: u64,
    /// Bytes of put records the index points at.
    pub(crate) live_bytes: u64,
    /// Bytes of delete records (kept by compaction while an older segment exists).
    pub(crate) tombstone_bytes: u64,
}

impl SegmentUsage {
    /// Bytes compaction would reclaim: everything but live puts, and but tombstones
    /// unless the segment is the oldest (then nothing older can be resurrected).
    pub(crate) fn reclaimable_bytes(&self, oldest: bool) -> u64 {
        let kept = if oldest {
            self.live_bytes
        } else {
            self.live_bytes + self.tombstone_bytes
        };
        self.total_bytes.saturating_sub(kept)
    }
}

/// One change a committed group makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Update {
    /// `key` now lives at `location`.
    Put {
        /// The key.
        key: Hash,
        /// Its new record.
        location: Location,
    },
    /// `key` is deleted by the tombstone at `location`.
    Delete {
        /// The key.
        key: Hash,
        /// The tombstone record.
        location: Location,
    },
}

impl Update {
    /// The key it changes.
    pub(crate) fn key(&self) -> &Hash {
        match self {
            Update::Put { key, .. } | Update::Delete { key, .. } => key,
        }
    }
}

/// The index.
#[derive(Debug, Default)]
pub(crate) struct Index {
    map: foldhash::HashMap<Hash, Location>,
    usage: BTreeMap<u32, SegmentUsage>,
}

impl Index {
    /// Makes room for at least `keys` live keys in all (see
    /// `OpenOptions::index_keys_reserved`).
    pub(crate) fn reserve(&mut self, keys: usize) {
        self.map.reserve(keys.saturating_sub(self.map.len()));
    }

    /// Live keys the index holds without growing.
    pub(crate) fn capacity(&self) -> usize {
        self.map.capacity()
    }

    /// The location of `key`'s newest put, if the key is live.
    pub(crate) fn get(&self, key: &Hash) -> Option<Location> {
        self.map.get(key).copied()
    }

    /// Looks every key up, for the CPU caches only: in a table of millions of keys each
    /// lookup is a cache miss, independent lookups in a row overlap their misses, and
    /// the updates of those keys that follow find their slots in cache (see
    /// `AccountStorage::warm`, which does the same for reads).
    pub(crate) fn warm<'k>(&self, keys: impl Iterator<Item = &'k Hash>) {
        let found = keys.filter(|key| self.map.contains_key(*key)).count();
        std::hint::black_box(found);
    }

    /// Live keys.
    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }

    /// Starts accounting for a segment of `total_bytes` (its header).
    pub(crate) fn add_segment(&mut self, segment: u32, total_bytes: u64) {
        let previous = self.usage.insert(
            segment,
            SegmentUsage {
                total_bytes,
                ..SegmentUsage::default()
            },
        );
        assert!(previous.is_none(), "segment {segment} added twice");
    }

    /// Stops accounting for a segment; it must hold no live record.
    pub(crate) fn remove_segment(&mut self, segment: u32) -> Option<SegmentUsage> {
        let usage = self.usage.remove(&segment)?;
        assert_eq!(
            usage.live_bytes, 0,
            "removing segment {segment} with live data"
        );
        Some(usage)
    }

    /// Counts `bytes` appended to `segment` (records and commit records).
    pub(crate) fn grow(&mut self, segment: u32, bytes: u64) {
        self.usage_mut(segment).total_bytes += bytes;
    }

    /// Applies one update of a committed group.
    pub(crate) fn apply(&mut self, update: Update) {
        match update {
            Update::Put { key, location } => {
                if let Some(old) = self.map.insert(key, location) {
                    self.release(old);
                }
                self.usage_mut(location.segment).live_bytes += u64::from(location.len);
            }
            Update::Delete { key, location } => {
                if let Some(old) = self.map.remove(&key) {
                    self.release(old);
                }
                self.usage_mut(location.segment).tombstone_bytes += u64::from(location.len);
            }
        }
    }

    /// Accounting of one segment.
    pub(crate) fn usage(&self, segment: u32) -> Option<SegmentUsage> {
        self.usage.get(&segment).copied()
    }

    /// Accounting of every segment, by id.
    pub(crate) fn usages(&self) -> impl Iterator<Item = (u32, SegmentUsage)> + '_ {
        self.usage.iter().map(|(id, usage)| (*id, *usage))
    }

    /// Every live key and its location, sorted by key.
    pub(crate) fn sorted_entries(&self) -> Vec<(Hash, Location)> {
        let mut entries: Vec<(Hash, Location)> = self
            .map
            .iter()
            .map(|(key, location)| (*key, *location))
            .collect();
        entries.sort_unstable_by_key(|entry| entry.0);
        entries
    }

    /// Checks the invariants in the module doc (O(keys): tests and debug builds only).
    pub(crate) fn check_invariants(&self) {
        let mut live: BTreeMap<u32, u64> = BTreeMap::new();
        for location in self.map.values() {
            assert!(self.usage.contains_key(&location.segment));
            *live.entry(location.segment).or_default() += u64::from(location.len);
        }
        for (id, usage) in &self.usage {
            assert_eq!(
                usage.live_bytes,
                live.get(id).copied().unwrap_or(0),
                "segment {id}"
            );
            assert!(usage.live_bytes + usage.tombstone_bytes <= usage.total_bytes);
        }
    }

    fn release(&mut self, old: Location) {
        let usage = self.usage_mut(old.segment);
        assert!(
            usage.live_bytes >= u64::from(old.len),
            "live bytes underflow"
        );
        usage.live_bytes -= u64::from(old.len);
    }

    fn usage_mut(&mut self, segment: u32) -> &mut SegmentUsage {
        self.usage
            .get_mut(&segment)
            .unwrap_or_else(|| panic!("segment {segment} is not accounted for"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(segment: u32, offset: u64, len: u32) -> Location {
        Location {
            segment,
            offset,
            len,
        }
    }

    #[test]
    fn accounting_follows_puts_and_deletes() {
        let key = Hash::digest(b"k");
        let mut index = Index::default();
        index.add_segment(1, 64);
        index.add_segment(2, 64);
        index.grow(1, 1000);
        index.grow(2, 1000);
        index.apply(Update::Put {
            key,
            location: at(1, 64, 100),
        });
        assert_eq!(index.usage(1).unwrap().live_bytes, 100);
        index.apply(Update::Put {
            key,
            location: at(2, 64, 80),
        });
        assert_eq!(index.usage(1).unwrap().live_bytes, 0);
        assert_eq!(index.usage(2).unwrap().live_bytes, 80);
        index.apply(Update::Delete {
            key,
            location: at(2, 144, 48),
        });
        assert_eq!(index.get(&key), None);
        assert_eq!(
            index.usage(2).unwrap(),
            SegmentUsage {
                total_bytes: 1064,
                live_bytes: 0,
                tombstone_bytes: 48
            }
        );
        assert_eq!(index.usage(2).unwrap().reclaimable_bytes(false), 1016);
        assert_eq!(index.usage(2).unwrap().reclaimable_bytes(true), 1064);
        index.check_invariants();
        assert!(index.remove_segment(1).is_some());
        assert_eq!(index.usages().count(), 1);
    }
}
