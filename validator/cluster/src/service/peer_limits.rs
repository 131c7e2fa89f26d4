//! What peers may make this validator spend or accept: per-peer token buckets on
//! forwarded transactions and on whole-block fetch answers, and the blocks this
//! validator asked for (a whole block is taken only as an answer).

use std::collections::HashMap;

use aether_types::Hash;

use crate::rate_limit::PeerRateLimiter;

/// Transactions one peer may forward here per second (also the burst).
const FORWARDED_PER_PEER_PER_SECOND: u64 = 50_000;
/// Kibibytes of whole blocks one peer may be sent per second in answer to fetches
/// (64 MiB/s)...
const FETCH_ANSWER_KIB_PER_PEER_PER_SECOND: u64 = 64 * 1024;
/// ... and at once (a validator catching up asks for a chain of them: 256 MiB).
const FETCH_ANSWER_KIB_PER_PEER_BURST: u64 = 256 * 1024;
/// Block fetches remembered (answers to others are refused).
const SOLICITED_BLOCKS_MAX: usize = 4_096;
/// How long an answer to a block fetch is taken.
const FETCH_ANSWER_WINDOW_MS: u64 = 10_000;

/// What peers may make this validator spend or accept (see [`PeerRateLimiter`]).
pub(super) struct PeerLimits {
    /// Forwarded transactions into sigverify.
    pub(super) forwarded: PeerRateLimiter,
    /// Kibibytes of whole blocks sent in answer to fetches.
    pub(super) fetch_answer_kib: PeerRateLimiter,
    /// Blocks this validator asked for, and until when (ms) an answer is taken: whole
    /// blocks are taken only as answers (a relayed copy could strip its TC).
    solicited: HashMap<Hash, u64>,
}

impl PeerLimits {
    pub(super) fn new(peers: usize) -> Self {
        Self {
            forwarded: PeerRateLimiter::new(
                peers,
                FORWARDED_PER_PEER_PER_SECOND,
                FORWARDED_PER_PEER_PER_SECOND,
            ),
            fetch_answer_kib: PeerRateLimiter::new(
                peers,
                FETCH_ANSWER_KIB_PER_PEER_PER_SECOND,
                FETCH_ANSWER_KIB_PER_PEER_BURST,
            ),
            solicited: HashMap::new(),
        }
    }

    /// Remembers a fetch of `hash` at `now_ms` (bounded: expired entries go first, then
    /// the whole memory if it is still full).
    pub(super) fn solicit(&mut self, hash: Hash, now_ms: u64) {
        if self.solicited.len() >= SOLICITED_BLOCKS_MAX {
            self.solicited.retain(|_, until_ms| *until_ms >= now_ms);
        }
        if self.solicited.len() >= SOLICITED_BLOCKS_MAX {
            self.solicited.clear();
        }
        self.solicited.insert(hash, now_ms + FETCH_ANSWER_WINDOW_MS);
    }

    /// True when `hash` was asked for and the answer is in time (every peer is asked:
    /// the copies after the first are dropped by the driver as already held).
    pub(super) fn take_solicited(&mut self, hash: &Hash, now_ms: u64) -> bool {
        self.solicited
            .get(hash)
            .is_some_and(|until_ms| *until_ms >= now_ms)
    }
}
