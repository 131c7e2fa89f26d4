//! Gossip for membership: a bounded table of signed contact infos (pure logic,
//! [`GossipTable`]) and the task that pushes and pulls it over the endpoint
//! ([`start_gossip`]).
//!
//! Every `interval` the task (1) resolves entrypoint addresses it has no identity for yet
//! (a connection plus hello, see [`NetworkEndpoint::resolve`]), (2) sends a pull request
//! carrying its own record to each resolved entrypoint, and (3) pushes a sample of its
//! table to `push_fanout` random peers. A pull request is answered with pushes of the
//! whole table, so a node that knows one entrypoint learns everyone the entrypoint knows.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aether_crypto::ed25519::{Ed25519PublicKey, Ed25519SecretKey};
use aether_types::codec::{decode_exact, encode};
use thiserror::Error;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::contact_info::{
    ContactInfo, GOSSIP_RECORDS_PER_MESSAGE_MAX, GossipMessage, SignedContactInfo, encode_pushes,
};
use crate::endpoint::{InboundMessage, NetworkEndpoint};
use crate::frame::MessageKind;
use crate::membership::Membership;
use crate::metrics::DropReason;

/// How far in the future a record's wallclock may be (clock skew allowance).
pub const WALLCLOCK_FUTURE_TOLERANCE_MS: u64 = 60_000;

/// Gossip settings.
#[derive(Debug, Clone)]
pub struct GossipConfig {
    /// Time between rounds.
    pub interval: Duration,
    /// Peers pushed to per round.
    pub push_fanout: usize,
    /// Most records held (the own record included).
    pub table_entries_max: usize,
}

impl Default for GossipConfig {
    fn default() -> Self {
        GossipConfig {
            interval: Duration::from_millis(500),
            push_fanout: 3,
            table_entries_max: aether_types::MAX_VALIDATORS,
        }
    }
}

/// Gossip could not start.
#[derive(Debug, Error)]
pub enum GossipError {
    /// The own record is not for the endpoint's identity.
    #[error("own contact info is for {record}, the endpoint is {endpoint}")]
    WrongIdentity {
        /// The record's identity.
        record: Ed25519PublicKey,
        /// The endpoint's identity.
        endpoint: Ed25519PublicKey,
    },
    /// A setting is out of range.
    #[error("invalid gossip configuration: {0}")]
    Config(&'static str),
}

/// The membership table: at most one record per identity, the newest by wallclock.
#[derive(Debug)]
pub struct GossipTable {
    own: Ed25519PublicKey,
    shred_version: u16,
    entries_max: usize,
    entries: HashMap<Ed25519PublicKey, SignedContactInfo>,
}

impl GossipTable {
    /// A table holding only `own` (which must verify).
    pub fn new(own: SignedContactInfo, entries_max: usize) -> GossipTable {
        assert!(own.verify(), "own record must be signed");
        assert!(entries_max >= 1);
        let identity = own.info.identity;
        GossipTable {
            own: identity,
            shred_version: own.info.shred_version,
            entries_max,
            entries: HashMap::from([(identity, own)]),
        }
    }

    /// Admits `record` if it is allowed, newer than what is held, signed, of our shred
    /// version and not from the future. `Ok(true)`: the table changed; `Ok(false)`: the
    /// record is stale or is about this node; `Err`: a counted drop, the table unchanged.
    pub fn insert(
        &mut self,
        record: &SignedContactInfo,
        membership: &Membership,
        now_ms: u64,
    ) -> Result<bool, DropReason> {
        let identity = record.info.identity;
        if identity == self.own {
            return Ok(false);
        }
        if !membership.is_allowed(&identity) {
            return Err(DropReason::GossipUnknownIdentity);
        }
        let held = self.entries.get(&identity);
        if held.is_some_and(|held| held.info.wallclock_ms >= record.info.wallclock_ms) {
            return Ok(false);
        }
        if !record.verify() {
            return Err(DropReason::GossipBadSignature);
        }
        if record.info.shred_version != self.shred_version {
            return Err(DropReason::GossipShredVersion);
        }
        if record.info.wallclock_ms > now_ms.saturating_add(WALLCLOCK_FUTURE_TOLERANCE_MS) {
            return Err(DropReason::GossipFutureWallclock);
        }
        if held.is_none() && self.entries.len() >= self.entries_max {
            return Err(DropReason::GossipTableFull);
        }
        self.entries.insert(identity, record.clone());
        assert!(self.entries.len() <= self.entries_max);
        Ok(true)
    }

    /// Removes records whose identity is no longer allowed.
    pub fn retain_allowed(&mut self, membership: &Membership) {
        let own = self.own;
        self.entries
            .retain(|identity, _| *identity == own || membership.is_allowed(identity));
    }

    /// Number of records (the own record included).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Never true: the own record is always held.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The record for `identity`.
    pub fn get(&self, identity: &Ed25519PublicKey) -> Option<&SignedContactInfo> {
        self.entries.get(identity)
    }

    /// Every record.
    pub fn records(&self) -> Vec<SignedContactInfo> {
        self.entries.values().cloned().collect()
    }

    /// The own record.
    pub fn own(&self) -> &SignedContactInfo {
        &self.entries[&self.own]
    }

    /// Identities of every other node.
    pub fn peers(&self) -> Vec<Ed25519PublicKey> {
        self.entries
            .keys()
            .filter(|id| **id != self.own)
            .copied()
            .collect()
    }
}

/// A small non-cryptographic generator for peer sampling (splitmix64).
struct SampleRng(u64);

impl SampleRng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Moves a random sample of `count` items to the front of `items` (partial shuffle).
    fn sample<T>(&mut self, items: &mut [T], count: usize) {
        for index in 0..count.min(items.len()) {
            let remaining = (items.len() - index) as u64;
            let pick = index + (self.next() % remaining) as usize;
            items.swap(index, pick);
        }
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_millis() as u64)
}

/// A running gossip task.
pub struct GossipService {
    table: Arc<Mutex<GossipTable>>,
    task: JoinHandle<()>,
}

impl GossipService {
    /// A snapshot of every known contact (the own one included).
    pub fn contacts(&self) -> Vec<ContactInfo> {
        self.lock().records().into_iter().map(|r| r.info).collect()
    }

    /// The contact for `identity`.
    pub fn contact(&self, identity: &Ed25519PublicKey) -> Option<ContactInfo> {
        self.lock().get(identity).map(|record| record.info.clone())
    }

    /// Number of known contacts (the own one included).
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Never true: the own record is always known.
    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    /// Stops the task.
    pub fn stop(self) {
        self.task.abort();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, GossipTable> {
        self.table
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }
}

/// Starts gossip on the current tokio runtime. `own` is signed here with `identity`
/// (the endpoint's key); `receiver` is the endpoint's gossip channel.
pub fn start_gossip(
    endpoint: NetworkEndpoint,
    receiver: mpsc::Receiver<InboundMessage>,
    identity: &Ed25519SecretKey,
    own: ContactInfo,
    entrypoints: Vec<SocketAddr>,
    config: GossipConfig,
) -> Result<GossipService, GossipError> {
    if own.identity != endpoint.identity() || identity.public_key() != own.identity {
        return Err(GossipError::WrongIdentity {
            record: own.identity,
            endpoint: endpoint.identity(),
        });
    }
    if config.interval.is_zero() || config.table_entries_max == 0 {
        return Err(GossipError::Config(
            "interval and table_entries_max must be > 0",
        ));
    }
    let own = own.sign(identity);
    let table = Arc::new(Mutex::new(GossipTable::new(own, config.table_entries_max)));
    let mut seed = identity.public_key().0[..8]
        .try_into()
        .map_or(0, u64::from_le_bytes);
    seed ^= aether_crypto::random::random_bytes::<8>().map_or(now_ms(), u64::from_le_bytes);
    let runner = Runner {
        endpoint,
        table: table.clone(),
        config,
        rng: SampleRng(seed),
        entrypoints: entrypoints.into_iter().map(|a| (a, None)).collect(),
    };
    let task = tokio::spawn(runner.run(receiver));
    Ok(GossipService { table, task })
}

struct Runner {
    endpoint: NetworkEndpoint,
    table: Arc<Mutex<GossipTable>>,
    config: GossipConfig,
    rng: SampleRng,
    /// Entrypoint addresses and the identity each turned out to have.
    entrypoints: Vec<(SocketAddr, Option<Ed25519PublicKey>)>,
}

impl Runner {
    async fn run(mut self, mut receiver: mpsc::Receiver<InboundMessage>) {
        // One slot per entrypoint: at most one resolution in flight each.
        let (resolved_sender, mut resolved) = mpsc::channel(self.entrypoints.len().max(1));
        let mut resolving = vec![false; self.entrypoints.len()];
        let mut tick = tokio::time::interval(self.config.interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        while !self.endpoint.is_closed() {
            tokio::select! {
                _ = tick.tick() => {
                    for (index, (address, identity)) in self.entrypoints.iter().enumerate() {
                        if identity.is_some() || resolving[index] {
                            continue;
                        }
                        resolving[index] = true;
                        let (endpoint, sender, address) =
                            (self.endpoint.clone(), resolved_sender.clone(), *address);
                        tokio::spawn(async move {
                            let result = endpoint.resolve(address).await.ok();
                            let _ = sender.send((index, result)).await;
                        });
                    }
                    self.round();
                }
                Some((index, identity)) = resolved.recv() => {
                    resolving[index] = false;
                    self.entrypoints[index].1 = identity;
                }
                message = receiver.recv() => match message {
                    Some(message) => self.handle(message),
                    None => return,
                },
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, GossipTable> {
        self.table
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    fn round(&mut self) {
        let membership = self.endpoint.membership().clone();
        let (own, mut peers, mut records) = {
            let mut table = self.lock();
            table.retain_allowed(&membership);
            (table.own().clone(), table.peers(), table.records())
        };
        let me = self.endpoint.identity();
        let pull = encode(&GossipMessage::PullRequest(own.clone()));
        for identity in self
            .entrypoints
            .iter()
            .filter_map(|(_, identity)| *identity)
        {
            if identity != me {
                let _ = self
                    .endpoint
                    .send(identity, MessageKind::Gossip, pull.clone());
            }
        }
        // The push carries the own record plus a random sample of the others.
        records.retain(|record| record.info.identity != me);
        self.rng
            .sample(&mut records, GOSSIP_RECORDS_PER_MESSAGE_MAX - 1);
        records.truncate(GOSSIP_RECORDS_PER_MESSAGE_MAX - 1);
        records.push(own);
        let push = encode(&GossipMessage::Push(records));
        self.rng.sample(&mut peers, self.config.push_fanout);
        for peer in peers.into_iter().take(self.config.push_fanout) {
            let _ = self.endpoint.send(peer, MessageKind::Gossip, push.clone());
        }
    }

    fn handle(&mut self, message: InboundMessage) {
        assert_eq!(
            message.kind,
            MessageKind::Gossip,
            "the endpoint routes only gossip here"
        );
        let metrics = self.endpoint.metrics().clone();
        let Ok(decoded) = decode_exact::<GossipMessage>(&message.payload) else {
            metrics.add_drop(DropReason::GossipMalformed);
            return;
        };
        match decoded {
            GossipMessage::Push(records) => {
                for record in &records {
                    self.admit(record);
                }
            }
            GossipMessage::PullRequest(record) => {
                if record.info.identity != message.sender {
                    metrics.add_drop(DropReason::GossipMalformed);
                    return;
                }
                self.admit(&record);
                let records = self.lock().records();
                for push in encode_pushes(&records) {
                    let _ = self
                        .endpoint
                        .send(message.sender, MessageKind::Gossip, push);
                }
            }
        }
    }

    fn admit(&mut self, record: &SignedContactInfo) {
        let membership = self.endpoint.membership().clone();
        let result = self.lock().insert(record, &membership, now_ms());
        match result {
            Ok(true) => {
                membership.set_address(record.info.identity, record.info.gossip_address);
            }
            Ok(false) => {}
            Err(reason) => self.endpoint.metrics().add_drop(reason),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signed(seed: u8, wallclock_ms: u64, shred_version: u16) -> SignedContactInfo {
        let key = Ed25519SecretKey::from_seed(&[seed; 32]);
        let address: SocketAddr = format!("127.0.0.1:{}", 9000 + u16::from(seed))
            .parse()
            .unwrap();
        ContactInfo {
            identity: key.public_key(),
            gossip_address: address,
            tpu_address: address,
            rpc_address: address,
            shred_version,
            wallclock_ms,
        }
        .sign(&key)
    }

    fn identity(seed: u8) -> Ed25519PublicKey {
        Ed25519SecretKey::from_seed(&[seed; 32]).public_key()
    }

    #[test]
    fn table_admits_only_newer_signed_allowed_records() {
        let now = 1_000_000;
        let membership = Membership::new([0, 1, 2, 3].map(identity));
        let mut table = GossipTable::new(signed(0, now, 7), 3);
        let mut forged = signed(1, now + 2, 7);
        forged.info.gossip_address = "10.9.9.9:1".parse().unwrap();
        let cases = [
            (signed(1, now, 7), Ok(true)),
            (signed(1, now, 7), Ok(false)),
            (signed(1, now - 1, 7), Ok(false)),
            (signed(1, now + 1, 7), Ok(true)),
            (forged, Err(DropReason::GossipBadSignature)),
            (signed(9, now, 7), Err(DropReason::GossipUnknownIdentity)),
            (signed(2, now, 8), Err(DropReason::GossipShredVersion)),
            (
                signed(2, now + WALLCLOCK_FUTURE_TOLERANCE_MS + 1, 7),
                Err(DropReason::GossipFutureWallclock),
            ),
            (signed(0, now + 5, 7), Ok(false)),
            (signed(2, now, 7), Ok(true)),
            (signed(3, now, 7), Err(DropReason::GossipTableFull)),
        ];
        for (index, (record, expected)) in cases.into_iter().enumerate() {
            assert_eq!(
                table.insert(&record, &membership, now),
                expected,
                "case {index}"
            );
        }
        assert_eq!(table.len(), 3);
        assert_eq!(table.get(&identity(1)).unwrap().info.wallclock_ms, now + 1);
        assert_eq!(
            table.own().info.wallclock_ms,
            now,
            "nobody overwrites the own record"
        );
        membership.set_allowed([0, 2].map(identity));
        table.retain_allowed(&membership);
        assert_eq!(table.len(), 2);
    }

    #[test]
    fn sampling_is_a_permutation() {
        let mut rng = SampleRng(42);
        let mut items: Vec<u32> = (0..50).collect();
        rng.sample(&mut items, 10);
        let mut sorted = items.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..50).collect::<Vec<_>>());
    }
}
