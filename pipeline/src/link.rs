//! Bounded lock-free links between stages.
//!
//! A [`Link`] is a fixed-capacity multi-producer multi-consumer ring
//! (`crossbeam_queue::ArrayQueue`, allocated once at start-up) plus counters. A push
//! onto a full link never grows it: the producer either waits (backpressure, counted
//! once per wait) or drops the item (counted), as the topology declares per link.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crossbeam_queue::ArrayQueue;

/// What a producer does when the link is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WhenFull {
    /// Wait until the consumer makes room (lossless; slows the producer).
    Backpressure,
    /// Drop the new item and count it (for edges fed by the network).
    Drop,
}

struct Shared<T> {
    name: &'static str,
    queue: ArrayQueue<T>,
    when_full: WhenFull,
    pushed_total: AtomicU64,
    dropped_total: AtomicU64,
    backpressure_total: AtomicU64,
}

/// One edge of the stage graph, named `producer_consumer`. Cloning shares the queue.
pub struct Link<T> {
    shared: Arc<Shared<T>>,
}

impl<T> Clone for Link<T> {
    fn clone(&self) -> Self {
        Self {
            shared: self.shared.clone(),
        }
    }
}

/// A snapshot of a link's counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkStats {
    /// Link name.
    pub name: &'static str,
    /// Items waiting now.
    pub depth: usize,
    /// Capacity.
    pub capacity: usize,
    /// Items accepted since start.
    pub pushed_total: u64,
    /// Items dropped because the link was full.
    pub dropped_total: u64,
    /// Times a producer had to wait for room.
    pub backpressure_total: u64,
}

impl<T> Link<T> {
    /// A link holding at most `capacity` items.
    pub fn new(name: &'static str, capacity: usize, when_full: WhenFull) -> Self {
        assert!(capacity > 0, "link {name} needs a positive capacity");
        Self {
            shared: Arc::new(Shared {
                name,
                queue: ArrayQueue::new(capacity),
                when_full,
                pushed_total: AtomicU64::new(0),
                dropped_total: AtomicU64::new(0),
                backpressure_total: AtomicU64::new(0),
            }),
        }
    }

    /// The link's name.
    pub fn name(&self) -> &'static str {
        self.shared.name
    }

    /// Pushes `item` under the link's policy. With [`WhenFull::Backpressure`] this
    /// waits while `keep_waiting()` is true; returns the item back when it gave up or
    /// dropped it (`Err`), so the caller can count or recycle it.
    pub fn push(&self, item: T, keep_waiting: impl Fn() -> bool) -> Result<(), T> {
        let shared = &*self.shared;
        let mut item = match shared.queue.push(item) {
            Ok(()) => {
                shared.pushed_total.fetch_add(1, Ordering::Relaxed);
                return Ok(());
            }
            Err(item) => item,
        };
        if shared.when_full == WhenFull::Drop {
            shared.dropped_total.fetch_add(1, Ordering::Relaxed);
            return Err(item);
        }
        shared.backpressure_total.fetch_add(1, Ordering::Relaxed);
        let mut spins = 0u32;
        loop {
            if !keep_waiting() {
                return Err(item);
            }
            match shared.queue.push(item) {
                Ok(()) => {
                    shared.pushed_total.fetch_add(1, Ordering::Relaxed);
                    return Ok(());
                }
                Err(back) => item = back,
            }
            backoff(&mut spins);
        }
    }

    /// Takes the oldest item, if any.
    pub fn pop(&self) -> Option<T> {
        self.shared.queue.pop()
    }

    /// Items waiting now.
    pub fn depth(&self) -> usize {
        self.shared.queue.len()
    }

    /// Counters.
    pub fn stats(&self) -> LinkStats {
        let shared = &*self.shared;
        LinkStats {
            name: shared.name,
            depth: shared.queue.len(),
            capacity: shared.queue.capacity(),
            pushed_total: shared.pushed_total.load(Ordering::Relaxed),
            dropped_total: shared.dropped_total.load(Ordering::Relaxed),
            backpressure_total: shared.backpressure_total.load(Ordering::Relaxed),
        }
    }
}

/// Spin briefly, then yield, then sleep 50 µs doubling up to [`BACKOFF_SLEEP_MAX`]:
/// a busy stage reacts within microseconds, and a stage that has been idle for a
/// while (the shredder between blocks) wakes about a thousand times a second instead
/// of twenty thousand, which on a machine with few cores leaves those cores to the
/// stages with work.
pub(crate) fn backoff(spins: &mut u32) {
    *spins = spins.saturating_add(1);
    if *spins < 64 {
        std::hint::spin_loop();
    } else if *spins < 128 {
        std::thread::yield_now();
    } else {
        std::thread::sleep(backoff_sleep(*spins));
    }
}

/// The longest sleep of an idle stage.
pub const BACKOFF_SLEEP_MAX: std::time::Duration = std::time::Duration::from_micros(800);

/// The sleep after `spins` empty polls (at least 128): 50 µs, doubling every 16 polls
/// up to [`BACKOFF_SLEEP_MAX`].
fn backoff_sleep(spins: u32) -> std::time::Duration {
    let doublings = ((spins.saturating_sub(128)) / 16).min(4);
    std::time::Duration::from_micros(50 << doublings).min(BACKOFF_SLEEP_MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_sleeps_grow_to_a_cap() {
        assert_eq!(backoff_sleep(128), std::time::Duration::from_micros(50));
        assert_eq!(backoff_sleep(144), std::time::Duration::from_micros(100));
        assert_eq!(backoff_sleep(191), std::time::Duration::from_micros(400));
        assert_eq!(backoff_sleep(192), BACKOFF_SLEEP_MAX);
        assert_eq!(backoff_sleep(u32::MAX), BACKOFF_SLEEP_MAX);
    }

    #[test]
    fn drop_policy_counts_and_never_grows() {
        let link = Link::new("a_b", 4, WhenFull::Drop);
        for item in 0..10 {
            let _ = link.push(item, || true);
        }
        let stats = link.stats();
        assert_eq!(
            (stats.depth, stats.pushed_total, stats.dropped_total),
            (4, 4, 6)
        );
        assert_eq!(
            std::iter::from_fn(|| link.pop()).collect::<Vec<_>>(),
            vec![0, 1, 2, 3]
        );
    }

    #[test]
    fn backpressure_waits_for_room_and_loses_nothing() {
        let link = Link::new("a_b", 2, WhenFull::Backpressure);
        let consumer = link.clone();
        let handle = std::thread::spawn(move || {
            let mut received = Vec::new();
            while received.len() < 1000 {
                if let Some(item) = consumer.pop() {
                    received.push(item);
                }
            }
            received
        });
        for item in 0..1000 {
            link.push(item, || true).expect("consumer keeps draining");
        }
        assert_eq!(
            handle.join().expect("consumer"),
            (0..1000).collect::<Vec<_>>()
        );
        assert_eq!(link.stats().dropped_total, 0);
    }

    #[test]
    fn backpressure_gives_up_when_told() {
        let link = Link::new("a_b", 1, WhenFull::Backpressure);
        link.push(1, || true).expect("room");
        assert_eq!(link.push(2, || false), Err(2));
    }
}
