//! What the TPS run knows about each transfer while it runs: when it was sent, and
//! whether a finalized block has included it yet (`Inclusions`, shared lock-free by the
//! sender tasks and the watcher), and the watcher that reads every finalized block's
//! transaction ids over RPC to record inclusion latencies (`watch`).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use aether_client::RpcClient;
use aether_types::Hash;
use anyhow::{Context, Result, bail};
use serde_json::json;

/// Send times and inclusions, shared by the sender tasks and the watcher without a
/// lock on the per-transfer path: each transfer has a fixed number (its place in the
/// flattened lanes), and its send time lives in an atomic slot of that number.
pub(crate) struct Inclusions {
    /// Transfer id → number; built before timing, read-only afterwards.
    number_of: HashMap<Hash, u32>,
    /// Transfer ids by number.
    ids: Vec<Hash>,
    /// Per transfer: nanoseconds from `epoch` to its send, plus one; 0 = not sent yet,
    /// or already counted as included.
    sent_at_nanos: Vec<AtomicU64>,
    epoch: Instant,
    pub(crate) committed: AtomicUsize,
    pub(crate) outstanding: AtomicU64,
}

impl Inclusions {
    pub(crate) fn new(lanes: &[Vec<(Hash, Vec<u8>)>]) -> Inclusions {
        let ids: Vec<Hash> = lanes.iter().flatten().map(|(id, _)| *id).collect();
        let number_of = ids
            .iter()
            .enumerate()
            .map(|(number, id)| (*id, number as u32))
            .collect();
        Inclusions {
            number_of,
            sent_at_nanos: ids.iter().map(|_| AtomicU64::new(0)).collect(),
            ids,
            epoch: Instant::now(),
            committed: AtomicUsize::new(0),
            outstanding: AtomicU64::new(0),
        }
    }

    pub(crate) fn record_send(&self, number: usize) {
        let nanos = self.epoch.elapsed().as_nanos() as u64 + 1;
        self.sent_at_nanos[number].store(nanos, Ordering::Relaxed);
        self.outstanding.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts `id` as included at `now` once; returns its latency in milliseconds.
    pub(crate) fn record_inclusion(&self, id: &Hash, now: Instant) -> Option<f64> {
        let number = *self.number_of.get(id)? as usize;
        let sent = self.sent_at_nanos[number].swap(0, Ordering::Relaxed);
        if sent == 0 {
            return None;
        }
        self.committed.fetch_add(1, Ordering::Relaxed);
        self.outstanding.fetch_sub(1, Ordering::Relaxed);
        let sent_at = self.epoch + Duration::from_nanos(sent - 1);
        Some(now.saturating_duration_since(sent_at).as_secs_f64() * 1e3)
    }

    /// Transfers sent but never seen in a block.
    pub(crate) fn missing(&self) -> Vec<Hash> {
        self.sent_at_nanos
            .iter()
            .zip(&self.ids)
            .filter(|(sent, _)| sent.load(Ordering::Relaxed) != 0)
            .map(|(_, id)| *id)
            .collect()
    }
}

/// The part of a `getBlock` reply the watcher reads: the transaction ids, borrowed
/// from the reply (a block of 20k transfers is a 1.5 MB reply, parsed twice a second
/// on the cores the node is measured on).
#[derive(serde::Deserialize)]
struct BlockReply<'a> {
    #[serde(borrow)]
    result: Option<BlockIds<'a>>,
    error: Option<serde_json::Value>,
}

#[derive(serde::Deserialize)]
struct BlockIds<'a> {
    #[serde(borrow)]
    transactions: Vec<&'a str>,
}

/// What the watcher saw: every inclusion latency, and when the last inclusion was seen.
#[derive(Default)]
pub(crate) struct Watched {
    pub(crate) latencies_ms: Vec<f64>,
    pub(crate) last_inclusion: Option<Instant>,
}

pub(crate) fn watch(
    rpc: &RpcClient,
    inclusions: &Inclusions,
    mut next_slot: u64,
    stop: &dyn Fn() -> bool,
) -> Result<Watched> {
    let mut watched = Watched {
        latencies_ms: Vec::with_capacity(inclusions.ids.len()),
        last_inclusion: None,
    };
    while !stop() {
        let finalized = rpc.slot("finalized")?;
        while next_slot <= finalized {
            let reply = rpc.call_raw("getBlock", json!([next_slot]))?;
            let reply: BlockReply<'_> =
                serde_json::from_slice(&reply).context("malformed getBlock reply")?;
            if let Some(error) = reply.error {
                bail!("getBlock {next_slot} failed: {error}");
            }
            next_slot += 1;
            let Some(block) = reply.result else {
                continue;
            };
            let now = Instant::now();
            for id in block
                .transactions
                .iter()
                .filter_map(|id| id.parse::<Hash>().ok())
            {
                if let Some(latency) = inclusions.record_inclusion(&id, now) {
                    watched.latencies_ms.push(latency);
                    watched.last_inclusion = Some(now);
                }
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(watched)
}
