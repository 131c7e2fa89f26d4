//! Answering repair requests: validate, rate-limit, look up.
//!
//! [`RepairServer::handle`] runs the checks cheapest first, so that most junk costs no
//! signature verification:
//!
//! 1. size within `REPAIR_REQUEST_BYTES_MIN..=REPAIR_REQUEST_BYTES_MAX` (`too_large` /
//!    `malformed`), then canonical decode (`malformed`);
//! 2. addressed to this node (`wrong_recipient`);
//! 3. timestamp within `[now − timestamp_past_ms_max, now + timestamp_future_ms_max]`
//!    (`expired` / `from_future`);
//! 4. requester in the known set (`unknown_requester`);
//! 5. signature (`bad_signature`);
//! 6. `(nonce, timestamp)` not among the requester's last [`RECENT_NONCES_MAX`]
//!    (`replayed`);
//! 7. the requester's token bucket holds a token per shred the request may return
//!    (`rate_limited`); tokens refill at `shreds_per_second_max`, up to one second's
//!    worth.
//!
//! A failing check is a counted drop ([`RepairDrop`], stable labels) and changes no
//! state; tokens and the replay ring are charged only for requests that pass. The answer
//! comes from a [`ShredSource`]; shreds it does not hold are simply not sent.
//!
//! Bounds: per-requester state exists only for known requesters (at most
//! [`RepairServerConfig::known_requesters_max`]); each answer is at most
//! [`RepairServerConfig::responses_per_request_max`] shreds.

use std::collections::{HashMap, VecDeque};

use aether_crypto::ed25519::Ed25519PublicKey;
use aether_types::codec::decode_exact;
use aether_types::shred::{SHRED_BYTES_MAX, ShredKind};

use crate::repair::message::{
    REPAIR_REQUEST_BYTES_MAX, REPAIR_REQUEST_BYTES_MIN, RepairRequest, RepairResponse,
    SignedRepairRequest,
};

/// `(nonce, timestamp)` pairs remembered per requester to refuse replays.
pub const RECENT_NONCES_MAX: usize = 64;

/// Where a server reads shreds from (the blockstore in production).
pub trait ShredSource {
    /// The stored bytes of one shred.
    fn shred(&self, slot: u64, kind: ShredKind, index: u32) -> Option<Vec<u8>>;
    /// The stored bytes of the highest-index data shred of `slot`.
    fn highest_data_shred(&self, slot: u64) -> Option<Vec<u8>>;
    /// The parent of `slot`, if known.
    fn parent_slot(&self, slot: u64) -> Option<u64>;
}

/// Limits, validated once at start-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RepairServerConfig {
    /// Oldest accepted request timestamp, relative to now (default 10 000 ms).
    pub timestamp_past_ms_max: u64,
    /// Furthest-ahead accepted timestamp, for clock skew (default 2 000 ms).
    pub timestamp_future_ms_max: u64,
    /// Shreds one requester may be sent per second, also the burst (default 1024).
    pub shreds_per_second_max: u64,
    /// Most shreds in one answer (default 128; `SlotShreds` asks for at most 128).
    pub responses_per_request_max: usize,
    /// Ancestors an `Orphan` answer walks (default 8).
    pub orphan_ancestors_max: usize,
    /// Most known requesters (default 65 536).
    pub known_requesters_max: usize,
}

impl Default for RepairServerConfig {
    fn default() -> Self {
        RepairServerConfig {
            timestamp_past_ms_max: 10_000,
            timestamp_future_ms_max: 2_000,
            shreds_per_second_max: 1024,
            responses_per_request_max: 128,
            orphan_ancestors_max: 8,
            known_requesters_max: 1 << 16,
        }
    }
}

/// Why a request got no answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RepairDrop {
    /// Too short, or not a canonical encoding.
    Malformed,
    /// Longer than any valid request.
    TooLarge,
    /// Addressed to another node.
    WrongRecipient,
    /// Timestamp older than the window.
    Expired,
    /// Timestamp further ahead than the skew allowance.
    FromFuture,
    /// Requester not in the known set.
    UnknownRequester,
    /// Signature does not verify.
    BadSignature,
    /// Same `(nonce, timestamp)` seen recently from this requester.
    Replayed,
    /// The requester's token bucket is empty.
    RateLimited,
}

impl RepairDrop {
    /// Every drop reason, in label order.
    pub const ALL: [RepairDrop; 9] = [
        RepairDrop::Malformed,
        RepairDrop::TooLarge,
        RepairDrop::WrongRecipient,
        RepairDrop::Expired,
        RepairDrop::FromFuture,
        RepairDrop::UnknownRequester,
        RepairDrop::BadSignature,
        RepairDrop::Replayed,
        RepairDrop::RateLimited,
    ];

    /// Stable metric label.
    pub const fn label(self) -> &'static str {
        match self {
            RepairDrop::Malformed => "malformed",
            RepairDrop::TooLarge => "too_large",
            RepairDrop::WrongRecipient => "wrong_recipient",
            RepairDrop::Expired => "expired",
            RepairDrop::FromFuture => "from_future",
            RepairDrop::UnknownRequester => "unknown_requester",
            RepairDrop::BadSignature => "bad_signature",
            RepairDrop::Replayed => "replayed",
            RepairDrop::RateLimited => "rate_limited",
        }
    }
}

/// Counters, flushed by the runner.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RepairServerCounts {
    /// Requests that passed every check.
    pub accepted: u64,
    /// Shreds sent back.
    pub shreds_sent: u64,
    /// Accepted requests for which the source held nothing.
    pub not_found: u64,
    /// Drops, indexed like [`RepairDrop::ALL`].
    pub drops: [u64; RepairDrop::ALL.len()],
}

impl RepairServerCounts {
    /// Drops for one reason.
    pub fn drop_count(&self, reason: RepairDrop) -> u64 {
        self.drops[reason as usize]
    }
}

#[derive(Debug, Default)]
struct RequesterState {
    /// Tokens × 1000 (so refill is exact in whole milliseconds).
    tokens_milli: u64,
    refilled_at_ms: u64,
    recent: VecDeque<(u32, u64)>,
}

/// The repair server's decision state for one node.
#[derive(Debug)]
pub struct RepairServer {
    me: Ed25519PublicKey,
    config: RepairServerConfig,
    requesters: HashMap<Ed25519PublicKey, RequesterState>,
    counts: RepairServerCounts,
}

impl RepairServer {
    /// The server of node `me`, answering no one until [`RepairServer::set_known_requesters`].
    pub fn new(me: Ed25519PublicKey, config: RepairServerConfig) -> RepairServer {
        assert!(config.responses_per_request_max >= 1);
        assert!(config.shreds_per_second_max >= 1);
        RepairServer {
            me,
            config,
            requesters: HashMap::new(),
            counts: RepairServerCounts::default(),
        }
    }

    /// Counters so far.
    pub fn counts(&self) -> &RepairServerCounts {
        &self.counts
    }

    /// Replaces the known requesters (e.g. staked nodes in gossip), keeping the state of
    /// those that stay; new ones start with a full bucket. Keeps the first
    /// `known_requesters_max`.
    pub fn set_known_requesters(
        &mut self,
        requesters: impl IntoIterator<Item = Ed25519PublicKey>,
        now_ms: u64,
    ) {
        let mut next = HashMap::new();
        for requester in requesters {
            if next.len() == self.config.known_requesters_max {
                break;
            }
            let state = self
                .requesters
                .remove(&requester)
                .unwrap_or(RequesterState {
                    tokens_milli: self.bucket_capacity_milli(),
                    refilled_at_ms: now_ms,
                    recent: VecDeque::new(),
                });
            next.insert(requester, state);
        }
        self.requesters = next;
        assert!(self.requesters.len() <= self.config.known_requesters_max);
    }

    fn bucket_capacity_milli(&self) -> u64 {
        self.config.shreds_per_second_max.saturating_mul(1000)
    }

    /// Validates `packet` at `now_ms` and answers it from `source`. `Err` is a counted
    /// drop; `Ok` may be empty when the source holds nothing asked for.
    pub fn handle(
        &mut self,
        packet: &[u8],
        now_ms: u64,
        source: &impl ShredSource,
    ) -> Result<Vec<RepairResponse>, RepairDrop> {
        match self.validate(packet, now_ms) {
            Ok(request) => {
                let responses = self.answer(&request, source);
                self.counts.accepted += 1;
                self.counts.shreds_sent += responses.len() as u64;
                if responses.is_empty() {
                    self.counts.not_found += 1;
                }
                Ok(responses)
            }
            Err(reason) => {
                self.counts.drops[reason as usize] += 1;
                Err(reason)
            }
        }
    }

    fn validate(&mut self, packet: &[u8], now_ms: u64) -> Result<SignedRepairRequest, RepairDrop> {
        if packet.len() > REPAIR_REQUEST_BYTES_MAX {
            return Err(RepairDrop::TooLarge);
        }
        if packet.len() < REPAIR_REQUEST_BYTES_MIN {
            return Err(RepairDrop::Malformed);
        }
        let signed: SignedRepairRequest =
            decode_exact(packet).map_err(|_| RepairDrop::Malformed)?;
        let header = signed.header;
        if header.recipient != self.me {
            return Err(RepairDrop::WrongRecipient);
        }
        if header.timestamp_ms < now_ms.saturating_sub(self.config.timestamp_past_ms_max) {
            return Err(RepairDrop::Expired);
        }
        if header.timestamp_ms > now_ms.saturating_add(self.config.timestamp_future_ms_max) {
            return Err(RepairDrop::FromFuture);
        }
        if !self.requesters.contains_key(&header.requester) {
            return Err(RepairDrop::UnknownRequester);
        }
        if signed.verify_signature().is_err() {
            return Err(RepairDrop::BadSignature);
        }
        let cost_milli = self.cost(&signed.request).saturating_mul(1000);
        let capacity_milli = self.bucket_capacity_milli();
        let rate = self.config.shreds_per_second_max;
        let state = self
            .requesters
            .get_mut(&header.requester)
            .expect("checked above");
        let key = (header.nonce, header.timestamp_ms);
        if state.recent.contains(&key) {
            return Err(RepairDrop::Replayed);
        }
        // Refill: `rate` tokens per second = `rate` milli-tokens per millisecond.
        let elapsed_ms = now_ms.saturating_sub(state.refilled_at_ms);
        let tokens_milli = state
            .tokens_milli
            .saturating_add(elapsed_ms.saturating_mul(rate))
            .min(capacity_milli);
        if tokens_milli < cost_milli {
            return Err(RepairDrop::RateLimited);
        }
        state.tokens_milli = tokens_milli - cost_milli;
        state.refilled_at_ms = state.refilled_at_ms.max(now_ms);
        if state.recent.len() == RECENT_NONCES_MAX {
            state.recent.pop_front();
        }
        state.recent.push_back(key);
        assert!(state.recent.len() <= RECENT_NONCES_MAX);
        Ok(signed)
    }

    /// Most shreds `request` can return: what the bucket is charged.
    fn cost(&self, request: &RepairRequest) -> u64 {
        let wanted = match request {
            RepairRequest::Orphan { .. } => self.config.orphan_ancestors_max as u64,
            other => other.shreds_wanted(),
        };
        wanted.clamp(1, self.config.responses_per_request_max as u64)
    }

    fn answer(
        &self,
        signed: &SignedRepairRequest,
        source: &impl ShredSource,
    ) -> Vec<RepairResponse> {
        let limit = self.config.responses_per_request_max;
        let mut shreds = Vec::new();
        match &signed.request {
            RepairRequest::Shred { slot, kind, index } => {
                shreds.extend(source.shred(*slot, *kind, *index));
            }
            RepairRequest::HighestShred { slot } => {
                shreds.extend(source.highest_data_shred(*slot));
            }
            RepairRequest::Orphan { slot } => {
                let mut current = *slot;
                for _ in 0..self.config.orphan_ancestors_max.min(limit) {
                    let Some(parent) = source.parent_slot(current) else {
                        break;
                    };
                    if parent >= current {
                        break; // A parent is always an earlier slot; refuse cycles.
                    }
                    shreds.extend(source.highest_data_shred(parent));
                    current = parent;
                }
            }
            RepairRequest::SlotShreds { slot, ranges } => {
                let indexes = ranges.iter().flat_map(|range| {
                    (range.start..=range.start + u32::from(range.count - 1))
                        .map(|index| (range.kind, index))
                });
                for (kind, index) in indexes.take(limit) {
                    shreds.extend(source.shred(*slot, kind, index));
                }
            }
        }
        shreds.truncate(limit);
        shreds
            .into_iter()
            .filter(|shred| !shred.is_empty() && shred.len() <= SHRED_BYTES_MAX)
            .map(|shred| RepairResponse {
                nonce: signed.header.nonce,
                shred,
            })
            .collect()
    }
}
