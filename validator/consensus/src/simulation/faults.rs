//! The fault schedule of a run, derived only from its seed.

use super::rng::SimRng;

/// Message delays after GST are at most this (the synchrony bound Δ).
pub const DELAY_AFTER_GST_MAX_MS: u64 = 100;

/// Chance, in permille, that a run stops every honest node at once and restarts them.
pub const CLUSTER_RESTART_PERMILLE: u64 = 200;

/// A node that goes down at `at_ms` and restarts at `restart_ms` (before GST).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Crash {
    /// Which node.
    pub node: usize,
    /// When it stops.
    pub at_ms: u64,
    /// When it restarts with only its persisted safety state and committed chain.
    pub restart_ms: u64,
}

/// A split of the nodes in two sides from `start_ms` until GST.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Partition {
    /// When it starts.
    pub start_ms: u64,
    /// `side[i]`: which side node `i` is on.
    pub side: Vec<bool>,
}

/// Everything that goes wrong in one run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaultPlan {
    /// Global stabilisation time: from then on no drops, no partition, no crashes, and
    /// delays at most [`DELAY_AFTER_GST_MAX_MS`].
    pub gst_ms: u64,
    /// Before GST: chance a message is lost, in permille.
    pub drop_permille: u64,
    /// Chance a message is delivered twice, in permille (before and after GST).
    pub duplicate_permille: u64,
    /// Before GST: largest delay.
    pub delay_max_ms: u64,
    /// Optional partition that heals at GST.
    pub partition: Option<Partition>,
    /// Crashes and restarts of honest nodes (all back up by GST).
    pub crashes: Vec<Crash>,
    /// When every honest node goes down at once (its crashes are in `crashes`), if
    /// this run restarts the whole cluster: blocks certified but not final then live
    /// only in what the nodes persisted.
    pub cluster_restart_ms: Option<u64>,
    /// The byzantine node, if any (holding less than a third of the stake).
    pub byzantine: Option<usize>,
}

impl FaultPlan {
    /// The plan for `seed` over nodes with `stakes`.
    pub fn from_seed(seed: u64, stakes: &[u64], allow_byzantine: bool) -> FaultPlan {
        let mut rng = SimRng::new(seed, 1);
        let nodes = stakes.len();
        let total: u64 = stakes.iter().sum();
        let gst_ms = rng.range(1_500, 4_000);
        let drop_permille = rng.range(0, 300);
        let duplicate_permille = rng.range(0, 100);
        let delay_max_ms = rng.range(50, 800);
        let partition = rng.chance(500).then(|| Partition {
            start_ms: rng.range(0, gst_ms / 2),
            side: (0..nodes).map(|_| rng.chance(500)).collect(),
        });
        let candidates: Vec<usize> = (0..nodes).filter(|&i| stakes[i] * 3 < total).collect();
        let byzantine = (allow_byzantine && rng.chance(750) && !candidates.is_empty())
            .then(|| candidates[rng.range(0, candidates.len() as u64 - 1) as usize]);
        let mut crashes = Vec::new();
        for _ in 0..rng.range(0, 2) {
            let node = rng.range(0, nodes as u64 - 1) as usize;
            if Some(node) == byzantine || crashes.iter().any(|c: &Crash| c.node == node) {
                continue;
            }
            let at_ms = rng.range(0, gst_ms - 200);
            let restart_ms = rng.range(at_ms + 100, gst_ms);
            crashes.push(Crash {
                node,
                at_ms,
                restart_ms,
            });
        }
        // Drawn from a stream of its own, so the rest of every seed's plan is what it
        // was before whole-cluster restarts existed.
        let mut restart_rng = SimRng::new(seed, 4);
        let cluster_restart_ms = (restart_rng.chance(CLUSTER_RESTART_PERMILLE) && gst_ms > 600)
            .then(|| restart_rng.range(200, gst_ms - 400));
        if let Some(at_ms) = cluster_restart_ms {
            for node in (0..nodes).filter(|&node| Some(node) != byzantine) {
                // Back one by one, the last before GST.
                let restart_ms = restart_rng.range(at_ms + 50, gst_ms - 1);
                crashes.push(Crash {
                    node,
                    at_ms,
                    restart_ms,
                });
            }
        }
        FaultPlan {
            gst_ms,
            cluster_restart_ms,
            drop_permille,
            duplicate_permille,
            delay_max_ms,
            partition,
            crashes,
            byzantine,
        }
    }

    /// True when a message from `from` to `to` at `now_ms` crosses the partition.
    pub fn partitioned(&self, from: usize, to: usize, now_ms: u64) -> bool {
        self.partition.as_ref().is_some_and(|partition| {
            now_ms >= partition.start_ms
                && now_ms < self.gst_ms
                && partition.side[from] != partition.side[to]
        })
    }
}
