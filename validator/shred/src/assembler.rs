//! The receiver's side: verified shreds of one slot, in any order, back to the block.
//!
//! Sets are keyed by `fec_set_index` and must tile the slot's data indexes: set `F` with
//! `D` data shreds covers `F..F + D`, the first set starts at 0, and each next set starts
//! where the previous one ends, up to the set whose last data shred is `LAST_IN_SLOT`.
//! A set is recovered (`recovery.rs`) as soon as `data_count` of its
//! shreds are in; its shreds are then dropped and only its block bytes kept. When every
//! set from 0 to the last is recovered, the block is returned, once.
//!
//! Bounds: at most [`AssemblerLimits::fec_sets_max`] sets and
//! [`AssemblerLimits::data_shreds_max`] data indexes per slot, and at most 128 shreds
//! of at most [`SHRED_BYTES_MAX`](aether_types::SHRED_BYTES_MAX) bytes per set, so memory
//! stays under `fec_sets_max × 128 × 1228` bytes (about 161 MiB at the defaults, for a
//! hostile leader; an honest 1 MiB block holds under 3 MiB at its peak).

use std::collections::BTreeMap;

use aether_types::Hash;
use aether_types::shred::{FecSetStatus, ShredFlags, ShredKind};

use crate::error::AssembleError;
use crate::layout::{DATA_SHREDS_PER_SLOT_MAX, SetShape, Shred};
use crate::recovery::{RecoveredSet, recover_set};
use crate::verifier::VerifiedShred;

/// Bounds on what one slot's assembler holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AssemblerLimits {
    /// Most FEC sets in the slot (default 1024).
    pub fec_sets_max: usize,
    /// Most data shreds in the slot: no set may reach past this index (default
    /// [`DATA_SHREDS_PER_SLOT_MAX`]).
    pub data_shreds_max: u32,
}

impl Default for AssemblerLimits {
    fn default() -> Self {
        AssemblerLimits {
            fec_sets_max: 1024,
            data_shreds_max: DATA_SHREDS_PER_SLOT_MAX,
        }
    }
}

/// What inserting one shred did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InsertOutcome {
    /// Kept; its set needs more shreds.
    Stored,
    /// Already held (or its set is already recovered): ignored.
    Duplicate,
    /// Its set was recovered; the block needs other sets.
    SetComplete {
        /// The recovered set.
        fec_set_index: u32,
    },
    /// The last missing set was recovered: here is the block, byte for byte.
    BlockComplete(Vec<u8>),
    /// The block was already returned: ignored.
    AlreadyComplete,
}

#[derive(Debug)]
enum SetState {
    Collecting {
        data: Vec<Option<VerifiedShred>>,
        coding: Vec<Option<VerifiedShred>>,
        received: usize,
    },
    Recovered(Vec<u8>),
    Failed,
}

#[derive(Debug)]
struct FecSet {
    root: Hash,
    shape: SetShape,
    state: SetState,
}

/// Checks a shred of a set already seen: same root and shape, and a free position or
/// the very same shred. `Some` is the outcome when there is nothing to store.
fn check_known_set(set: &FecSet, shred: &Shred) -> Result<Option<InsertOutcome>, AssembleError> {
    let header = shred.header();
    let fec_set_index = header.fec_set_index;
    if set.root != shred.merkle_root() {
        return Err(AssembleError::ConflictingRoot { fec_set_index });
    }
    if set.shape != shred.shape() {
        return Err(AssembleError::ConflictingShape { fec_set_index });
    }
    let (data, coding) = match &set.state {
        SetState::Failed => return Err(AssembleError::SetFailed { fec_set_index }),
        SetState::Recovered(_) => return Ok(Some(InsertOutcome::Duplicate)),
        SetState::Collecting { data, coding, .. } => (data, coding),
    };
    let slots = match header.kind {
        ShredKind::Data => data,
        ShredKind::Coding => coding,
    };
    match &slots[usize::from(header.position_in_set)] {
        None => Ok(None),
        Some(held) if held.shred().as_bytes() == shred.as_bytes() => {
            Ok(Some(InsertOutcome::Duplicate))
        }
        Some(_) => Err(AssembleError::ConflictingShred {
            fec_set_index,
            kind: header.kind,
            position: header.position_in_set,
        }),
    }
}

/// Reassembles one slot's block from its verified shreds.
#[derive(Debug)]
pub struct SlotAssembler {
    slot: u64,
    limits: AssemblerLimits,
    /// `(parent_offset, version)` of the first shred accepted.
    slot_fields: Option<(u16, u16)>,
    sets: BTreeMap<u32, FecSet>,
    /// The set holding the `LAST_IN_SLOT` shred, once seen.
    last_set: Option<u32>,
    complete: bool,
}

impl SlotAssembler {
    /// An empty assembler for `slot`.
    pub fn new(slot: u64, limits: AssemblerLimits) -> SlotAssembler {
        assert!(
            limits.fec_sets_max > 0,
            "an assembler must hold at least one set"
        );
        assert!(
            limits.data_shreds_max > 0,
            "an assembler must hold at least one shred"
        );
        SlotAssembler {
            slot,
            limits,
            slot_fields: None,
            sets: BTreeMap::new(),
            last_set: None,
            complete: false,
        }
    }

    /// The slot.
    pub fn slot(&self) -> u64 {
        self.slot
    }

    /// True once the block has been returned.
    pub fn is_complete(&self) -> bool {
        self.complete
    }

    /// Sets seen so far (dropped once the block is complete).
    pub fn fec_set_count(&self) -> usize {
        self.sets.len()
    }

    /// What each set seen so far holds (in `fec_set_index` order): what repair needs
    /// to ask for. Empty once the block is complete.
    pub fn progress(&self) -> Vec<FecSetStatus> {
        self.sets
            .iter()
            .map(|(&fec_set_index, set)| {
                let bitmap = |shreds: &[Option<VerifiedShred>]| {
                    shreds
                        .iter()
                        .enumerate()
                        .filter(|(_, shred)| shred.is_some())
                        .fold(0u64, |bits, (position, _)| bits | 1 << position)
                };
                let (data_present, coding_present, recovered) = match &set.state {
                    SetState::Collecting { data, coding, .. } => {
                        (bitmap(data), bitmap(coding), false)
                    }
                    SetState::Recovered(_) => (0, 0, true),
                    // A set that failed recovery is not repairable by more shreds.
                    SetState::Failed => (0, 0, true),
                };
                FecSetStatus {
                    fec_set_index,
                    data_count: set.shape.data_count(),
                    coding_count: set.shape.coding_count(),
                    data_present,
                    coding_present,
                    recovered,
                }
            })
            .collect()
    }

    /// Index of the slot's last data shred, once the `LAST_IN_SLOT` set has been seen.
    pub fn last_data_index(&self) -> Option<u32> {
        let last = self.last_set?;
        let set = self.sets.get(&last)?;
        Some(last + u32::from(set.shape.data_count()) - 1)
    }

    /// Takes one verified shred. Errors leave the assembler as it was, except where
    /// [`AssembleError`] says a set is marked failed.
    pub fn insert(&mut self, verified: VerifiedShred) -> Result<InsertOutcome, AssembleError> {
        let shred = verified.shred();
        let header = *shred.header();
        if header.slot != self.slot {
            return Err(AssembleError::WrongSlot {
                slot: self.slot,
                shred_slot: header.slot,
            });
        }
        if self.complete {
            return Ok(InsertOutcome::AlreadyComplete);
        }
        if let Some((parent_offset, version)) = self.slot_fields
            && (header.parent_offset, header.version) != (parent_offset, version)
        {
            return Err(AssembleError::ConflictingSlotFields {
                parent_offset: header.parent_offset,
                version: header.version,
                expected_parent_offset: parent_offset,
                expected_version: version,
            });
        }
        let fec_set_index = header.fec_set_index;
        let shape = shred.shape();
        let root = shred.merkle_root();
        match self.sets.get(&fec_set_index) {
            Some(set) => {
                if let Some(outcome) = check_known_set(set, shred)? {
                    return Ok(outcome);
                }
            }
            None => self.check_new_set(fec_set_index, shape)?,
        }
        let claims_last =
            header.kind == ShredKind::Data && header.flags.contains(ShredFlags::LAST_IN_SLOT);
        if claims_last {
            self.check_last_set(fec_set_index)?;
        }

        // Every check passed: from here on, only changes.
        self.slot_fields = Some((header.parent_offset, header.version));
        if claims_last {
            self.last_set = Some(fec_set_index);
        }
        let set = self.sets.entry(fec_set_index).or_insert_with(|| FecSet {
            root,
            shape,
            state: SetState::Collecting {
                data: vec![None; usize::from(shape.data_count())],
                coding: vec![None; usize::from(shape.coding_count())],
                received: 0,
            },
        });
        let SetState::Collecting {
            data,
            coding,
            received,
        } = &mut set.state
        else {
            unreachable!("only collecting sets get here");
        };
        let slots = match header.kind {
            ShredKind::Data => &mut *data,
            ShredKind::Coding => &mut *coding,
        };
        let slot = &mut slots[usize::from(header.position_in_set)];
        assert!(slot.is_none());
        *slot = Some(verified);
        *received += 1;
        if *received < usize::from(shape.data_count()) {
            return Ok(InsertOutcome::Stored);
        }
        let recovered = recover_set(&set.root, set.shape, data, coding);
        self.finish_set(fec_set_index, recovered)
    }

    /// Checks that a set not seen before fits the slot's limits and tiling.
    fn check_new_set(&self, fec_set_index: u32, shape: SetShape) -> Result<(), AssembleError> {
        // `Shred::decode` guarantees the end fits in u32.
        let end = fec_set_index + u32::from(shape.data_count());
        if end > self.limits.data_shreds_max {
            return Err(AssembleError::DataShredLimit {
                fec_set_index,
                data_count: shape.data_count(),
                max: self.limits.data_shreds_max,
            });
        }
        if self.sets.len() >= self.limits.fec_sets_max {
            return Err(AssembleError::FecSetLimit {
                fec_set_index,
                max: self.limits.fec_sets_max,
            });
        }
        let before = self.sets.range(..fec_set_index).next_back();
        let after = self.sets.range(fec_set_index + 1..).next();
        let overlapping = match (before, after) {
            (Some((&other, set)), _)
                if other + u32::from(set.shape.data_count()) > fec_set_index =>
            {
                Some(other)
            }
            (_, Some((&other, _))) if other < end => Some(other),
            _ => None,
        };
        if let Some(other_fec_set_index) = overlapping {
            return Err(AssembleError::OverlappingSets {
                fec_set_index,
                other_fec_set_index,
            });
        }
        match self.last_set {
            Some(last) if fec_set_index > last => Err(AssembleError::AfterLastInSlot {
                fec_set_index,
                last_fec_set_index: last,
            }),
            _ => Ok(()),
        }
    }

    /// Checks that `fec_set_index` may be the slot's last set.
    fn check_last_set(&self, fec_set_index: u32) -> Result<(), AssembleError> {
        if let Some(other) = self.last_set
            && other != fec_set_index
        {
            return Err(AssembleError::DuplicateLastInSlot {
                fec_set_index,
                other_fec_set_index: other,
            });
        }
        if let Some((&later, _)) = self.sets.range(fec_set_index + 1..).next() {
            return Err(AssembleError::AfterLastInSlot {
                fec_set_index: later,
                last_fec_set_index: fec_set_index,
            });
        }
        Ok(())
    }

    /// Records a recovery's result and returns the block if it was the last set missing.
    fn finish_set(
        &mut self,
        fec_set_index: u32,
        recovered: Result<RecoveredSet, AssembleError>,
    ) -> Result<InsertOutcome, AssembleError> {
        let result = recovered.and_then(|set| {
            if set.last_in_slot {
                self.check_last_set(fec_set_index)?;
                self.last_set = Some(fec_set_index);
            }
            Ok(set.data)
        });
        let set = self.sets.get_mut(&fec_set_index).expect("the set exists");
        match result {
            Ok(data) => set.state = SetState::Recovered(data),
            Err(error) => {
                set.state = SetState::Failed;
                return Err(error);
            }
        }
        match self.take_block() {
            Some(block) => Ok(InsertOutcome::BlockComplete(block)),
            None => Ok(InsertOutcome::SetComplete { fec_set_index }),
        }
    }

    /// The block, when every set from index 0 to the last set is recovered.
    fn take_block(&mut self) -> Option<Vec<u8>> {
        let last = self.last_set?;
        let mut chain = Vec::new();
        let mut fec_set_index = 0u32;
        loop {
            let set = self.sets.get(&fec_set_index)?;
            let SetState::Recovered(data) = &set.state else {
                return None;
            };
            chain.push(data.as_slice());
            if fec_set_index == last {
                break;
            }
            fec_set_index += u32::from(set.shape.data_count());
        }
        let block = chain.concat();
        self.complete = true;
        self.sets.clear();
        Some(block)
    }
}
