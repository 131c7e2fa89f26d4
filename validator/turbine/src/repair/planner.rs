//! Which repair requests complete a slot, and whom to ask.
//!
//! # What is requested
//!
//! For a slot seen through a [`SlotShredView`]:
//!
//! - a known, unrecovered FEC set with `have` of its shreds and `data_count` needed
//!   (any `data_count` of its data + coding shreds recover it) is short
//!   `need = data_count − have`; the planner asks for the `need` lowest **missing data
//!   positions**. There are always enough (`data_count − data_have ≥ need`), and data
//!   shreds need no coding-index bookkeeping and no erasure decoding when they arrive;
//! - data indexes between two known sets, or between the last known set and the known
//!   last index of the slot, belong to sets never seen (shape unknown): every data index
//!   of the gap is asked for, which is exactly what those sets need from data alone;
//! - if the slot's last index is unknown, one `HighestShred` finds it.
//!
//! A slot whose sets are all recovered up to its known last index gets no request.
//! Wanted indexes are coalesced into ranges and cut into requests within the wire limits
//! ([`SLOT_SHREDS_RANGES_MAX`], [`SLOT_SHREDS_PER_REQUEST_MAX`]); a request for a single
//! shred is a `Shred` request. At most [`RepairPlanner::shreds_per_slot_max`] shreds are
//! asked for per slot per call (lowest indexes first).
//!
//! # Whom
//!
//! Each request goes to a peer drawn with probability proportional to stake, never this
//! node, seeded by `BLAKE3("aether.turbine.repair-peer.v1" ‖ seed ‖ slot ‖ request
//! ordinal)`: the caller passes a fresh seed per round, so retries spread over peers.
//! If no other node has stake, peers are drawn uniformly.

use aether_crypto::ed25519::Ed25519PublicKey;
pub use aether_types::shred::FecSetStatus;
use aether_types::shred::ShredKind;

use crate::cluster::ClusterNodes;
use crate::repair::message::{
    RepairRequest, SLOT_SHREDS_PER_REQUEST_MAX, SLOT_SHREDS_RANGES_MAX, ShredRange,
};
use crate::shuffle::{SeedStream, uniform_below};

/// Domain tag of the peer-choice seed.
pub const REPAIR_PEER_DOMAIN: &[u8; 29] = b"aether.turbine.repair-peer.v1";

/// A view of what one slot's shreds look like here (`aether-shred`'s `SlotAssembler`
/// in production).
pub trait SlotShredView {
    /// The slot.
    fn slot(&self) -> u64;
    /// Every FEC set seen so far, in ascending `fec_set_index`.
    fn fec_sets(&self) -> Vec<FecSetStatus>;
    /// Index of the slot's last data shred, once a `LAST_IN_SLOT` shred (or a recovered
    /// last set) has shown it.
    fn last_data_index(&self) -> Option<u32>;
}

/// One request and the peer it is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedRepair {
    /// Whom to ask.
    pub peer: Ed25519PublicKey,
    /// What to ask for (sign with [`crate::repair::SignedRepairRequest::sign`]).
    pub request: RepairRequest,
}

/// Plans repair requests for one node.
#[derive(Debug, Clone)]
pub struct RepairPlanner {
    /// Peers other than this node, with their cumulative weights.
    peers: Vec<Ed25519PublicKey>,
    /// `cumulative[i]` = sum of weights of `peers[..=i]`.
    cumulative: Vec<u128>,
    /// Most shreds asked for per slot per call.
    pub shreds_per_slot_max: u32,
}

impl RepairPlanner {
    /// A planner for node `me` over `cluster`.
    pub fn new(cluster: &ClusterNodes, me: &Ed25519PublicKey) -> RepairPlanner {
        let others: Vec<_> = cluster
            .nodes()
            .iter()
            .filter(|node| node.identity != *me)
            .collect();
        let any_stake = others.iter().any(|node| node.stake > 0);
        let mut cumulative = Vec::with_capacity(others.len());
        let mut peers = Vec::with_capacity(others.len());
        let mut sum = 0u128;
        for node in others {
            let weight = if any_stake { node.stake } else { 1 };
            if weight > 0 {
                sum += u128::from(weight);
                cumulative.push(sum);
                peers.push(node.identity);
            }
        }
        assert!(!peers.contains(me));
        RepairPlanner {
            peers,
            cumulative,
            shreds_per_slot_max: 1024,
        }
    }

    /// The requests that complete `view`'s slot, each with a peer; empty when the slot
    /// is complete or there is no peer to ask.
    pub fn plan(&self, view: &impl SlotShredView, seed: &[u8; 32]) -> Vec<PlannedRepair> {
        let slot = view.slot();
        let requests = requests_for(view, self.shreds_per_slot_max);
        if self.peers.is_empty() {
            return Vec::new();
        }
        requests
            .into_iter()
            .enumerate()
            .map(|(ordinal, request)| PlannedRepair {
                peer: self.choose_peer(seed, slot, ordinal as u64),
                request,
            })
            .collect()
    }

    fn choose_peer(&self, seed: &[u8; 32], slot: u64, ordinal: u64) -> Ed25519PublicKey {
        let total = *self.cumulative.last().expect("at least one peer");
        let mut stream = SeedStream::new(&[
            REPAIR_PEER_DOMAIN,
            seed,
            &slot.to_le_bytes(),
            &ordinal.to_le_bytes(),
        ]);
        let target = uniform_below(&mut stream, total);
        let position = self.cumulative.partition_point(|&sum| sum <= target);
        self.peers[position]
    }
}

/// The requests (no peers) that complete `view`'s slot, asking for at most
/// `shreds_max` shreds.
pub fn requests_for(view: &impl SlotShredView, shreds_max: u32) -> Vec<RepairRequest> {
    let slot = view.slot();
    let mut wanted = Wanted::new(shreds_max);
    let mut cursor = 0u64;
    for set in view.fec_sets() {
        let start = u64::from(set.fec_set_index);
        if start < cursor {
            // Overlapping sets cannot come from a consistent assembler; skip rather
            // than ask twice.
            continue;
        }
        wanted.push_run(cursor, start);
        let mut need = set.shreds_needed();
        // Positions past 63 cannot be in the bitmap (sets hold at most 64 data shreds).
        for position in 0..u32::from(set.data_count).min(u64::BITS) {
            if need == 0 {
                break;
            }
            if set.data_present & (1u64 << position) == 0 {
                wanted.push_run(start + u64::from(position), start + u64::from(position) + 1);
                need -= 1;
            }
        }
        cursor = start + u64::from(set.data_count);
    }
    let end_known = view.last_data_index();
    if let Some(last) = end_known {
        wanted.push_run(cursor, u64::from(last) + 1);
    }
    let mut requests = wanted.into_requests(slot);
    if end_known.is_none() {
        requests.push(RepairRequest::HighestShred { slot });
    }
    requests
}

/// Wanted data indexes as ascending, coalesced runs, capped in total.
struct Wanted {
    runs: Vec<(u64, u64)>,
    left: u64,
}

impl Wanted {
    fn new(shreds_max: u32) -> Wanted {
        Wanted {
            runs: Vec::new(),
            left: u64::from(shreds_max),
        }
    }

    /// Adds `start..end` (ascending calls only), within the cap and `u32` indexes.
    fn push_run(&mut self, start: u64, end: u64) {
        let end = end.min(start + self.left).min(u64::from(u32::MAX) + 1);
        if start >= end {
            return;
        }
        self.left -= end - start;
        match self.runs.last_mut() {
            Some((_, last_end)) if *last_end == start => *last_end = end,
            last => {
                assert!(
                    last.is_none_or(|(_, last_end)| *last_end < start),
                    "ascending"
                );
                self.runs.push((start, end));
            }
        }
    }

    fn into_requests(self, slot: u64) -> Vec<RepairRequest> {
        let mut requests = Vec::new();
        let mut ranges: Vec<ShredRange> = Vec::new();
        let mut in_request = 0u32;
        let flush = |ranges: &mut Vec<ShredRange>, requests: &mut Vec<RepairRequest>| {
            match ranges.as_slice() {
                [] => {}
                [single] if single.count == 1 => requests.push(RepairRequest::Shred {
                    slot,
                    kind: single.kind,
                    index: single.start,
                }),
                _ => requests.push(RepairRequest::SlotShreds {
                    slot,
                    ranges: std::mem::take(ranges),
                }),
            }
            ranges.clear();
        };
        for (mut start, end) in self.runs {
            while start < end {
                let room = SLOT_SHREDS_PER_REQUEST_MAX - in_request;
                let count = (end - start).min(u64::from(room)) as u32;
                ranges.push(ShredRange {
                    kind: ShredKind::Data,
                    start: start as u32,
                    count: count as u16,
                });
                in_request += count;
                start += u64::from(count);
                if in_request == SLOT_SHREDS_PER_REQUEST_MAX
                    || ranges.len() == SLOT_SHREDS_RANGES_MAX
                {
                    flush(&mut ranges, &mut requests);
                    in_request = 0;
                }
            }
        }
        flush(&mut ranges, &mut requests);
        requests
    }
}
