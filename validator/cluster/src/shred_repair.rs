//! Shred repair between validators: the parts [`crate::block_broadcast`] needs to ask
//! peers for the shreds a slot lacks and to answer their asks.
//!
//! - [`RecentShreds`]: the leader-signed shreds of recent slots as they were sent or
//!   received (bounded by slots and bytes, the oldest slot evicted first): what a
//!   repair answer carries, so the asker checks it against the leader's signature like
//!   any Turbine shred.
//! - [`AssemblerView`]: a slot assembler seen as `aether-turbine`'s
//!   [`SlotShredView`], so the [`aether_turbine::RepairPlanner`] asks, per incomplete
//!   FEC set, for exactly the shreds it lacks.
//!
//! Timing: a slot is repaired once [`REPAIR_DELAY_MS`] passed since its first shred
//! (Turbine had its chance) and then at most every [`REPAIR_INTERVAL_MS`]. A slot of
//! which no shred arrived at all is not repaired here: the consensus driver fetches
//! the whole block when a child or a certificate names it.

use std::collections::{BTreeMap, HashMap};

use aether_shred::SlotAssembler;
use aether_turbine::{FecSetStatus, ShredSource, SlotShredView};
use aether_types::shred::{ShredHeader, ShredKind};

/// Milliseconds after a slot's first shred before its missing shreds are asked for.
pub const REPAIR_DELAY_MS: u64 = 200;
/// Milliseconds between two rounds of asks for one slot.
pub const REPAIR_INTERVAL_MS: u64 = 200;
/// Slots whose shreds are kept to answer repairs.
pub const RECENT_SLOTS_MAX: usize = 32;
/// Bytes of shreds kept to answer repairs (the oldest slots go first).
pub const RECENT_BYTES_MAX: usize = 128 << 20;

#[derive(Debug, Default)]
struct SlotShreds {
    shreds: HashMap<(ShredKind, u32), Vec<u8>>,
    highest_data: Option<u32>,
    parent_slot: Option<u64>,
    bytes: usize,
}

/// Leader-signed shreds of recent slots, as sent or received. See the module docs.
#[derive(Debug, Default)]
pub struct RecentShreds {
    slots: BTreeMap<u64, SlotShreds>,
    bytes: usize,
}

impl RecentShreds {
    /// Keeps the shred with `header` and `bytes` (verified and taken by an assembler,
    /// or made here as leader) unless its slot is older than every slot held while the
    /// memory is full, or it would pass the byte bound (which holds for one slot too).
    pub fn insert(&mut self, header: &ShredHeader, bytes: &[u8]) {
        let slot = header.slot;
        if !self.slots.contains_key(&slot)
            && self.slots.len() >= RECENT_SLOTS_MAX
            && self
                .slots
                .first_key_value()
                .is_some_and(|(&lowest, _)| slot < lowest)
        {
            return;
        }
        let entry_bytes = self.slots.get(&slot).map_or(0, |entry| entry.bytes);
        if entry_bytes + bytes.len() > RECENT_BYTES_MAX {
            return;
        }
        let entry = self.slots.entry(slot).or_default();
        let key = (header.kind, header.index);
        if entry.shreds.contains_key(&key) {
            return;
        }
        entry.bytes += bytes.len();
        self.bytes += bytes.len();
        entry.shreds.insert(key, bytes.to_vec());
        entry.parent_slot = slot.checked_sub(u64::from(header.parent_offset));
        if header.kind == ShredKind::Data {
            entry.highest_data = entry.highest_data.max(Some(header.index));
        }
        // Older slots make room; the slot just written stays (so the total may pass
        // the bound by one slot's bytes until the next insert of a later slot).
        while self.slots.len() > RECENT_SLOTS_MAX || self.bytes > RECENT_BYTES_MAX {
            let (&lowest, _) = self.slots.first_key_value().expect("a slot is held");
            if lowest == slot {
                break;
            }
            let (_, evicted) = self.slots.pop_first().expect("a slot is held");
            self.bytes -= evicted.bytes;
        }
    }

    /// Shreds held, in all.
    pub fn len(&self) -> usize {
        self.slots.values().map(|slot| slot.shreds.len()).sum()
    }

    /// True when nothing is held.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }
}

impl ShredSource for RecentShreds {
    fn shred(&self, slot: u64, kind: ShredKind, index: u32) -> Option<Vec<u8>> {
        self.slots.get(&slot)?.shreds.get(&(kind, index)).cloned()
    }

    fn highest_data_shred(&self, slot: u64) -> Option<Vec<u8>> {
        let entry = self.slots.get(&slot)?;
        entry
            .shreds
            .get(&(ShredKind::Data, entry.highest_data?))
            .cloned()
    }

    fn parent_slot(&self, slot: u64) -> Option<u64> {
        self.slots.get(&slot)?.parent_slot
    }
}

/// A slot assembler as the repair planner sees it.
pub struct AssemblerView<'a>(pub &'a SlotAssembler);

impl SlotShredView for AssemblerView<'_> {
    fn slot(&self) -> u64 {
        self.0.slot()
    }

    fn fec_sets(&self) -> Vec<FecSetStatus> {
        self.0.progress()
    }

    fn last_data_index(&self) -> Option<u32> {
        self.0.last_data_index()
    }
}
