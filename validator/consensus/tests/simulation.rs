//! Deterministic simulation of the consensus core over many seeds.
//!
//! - `AETHER_SIM_SEEDS=N` runs N seeds per test instead of the default.
//! - `AETHER_SIM_SEED=S` replays seed S only (every test).
//!
//! A failing seed is printed with the exact command that replays it.

use aether_consensus::simulation::{SimConfig, SimReport, Violation, run};

const DEFAULT_SEEDS_FOUR: u64 = 100;
const DEFAULT_SEEDS_SEVEN: u64 = 24;
const DEFAULT_SEEDS_SHORT_EPOCHS: u64 = 40;

fn seeds(default: u64) -> Vec<u64> {
    if let Ok(seed) = std::env::var("AETHER_SIM_SEED") {
        return vec![seed.parse().expect("AETHER_SIM_SEED is a u64")];
    }
    let count = std::env::var("AETHER_SIM_SEEDS")
        .map(|count| count.parse().expect("AETHER_SIM_SEEDS is a count"))
        .unwrap_or(default);
    (0..count).collect()
}

fn percentile(sorted: &[u64], percent: usize) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    sorted[(sorted.len() - 1) * percent / 100]
}

fn run_seeds(test: &str, default: u64, config: impl Fn(u64) -> SimConfig) -> Vec<SimReport> {
    let mut reports = Vec::new();
    for seed in seeds(default) {
        let report = run(&config(seed));
        if !report.violations.is_empty() {
            panic!(
                "seed {seed} violated {:?}\nreplay: AETHER_SIM_SEED={seed} cargo test -p aether-consensus --test simulation -- {test} --exact --nocapture\nreport: {report:#?}",
                report.violations
            );
        }
        reports.push(report);
    }
    let mut latency_ms: Vec<u64> = reports
        .iter()
        .flat_map(|r| r.commit_latency_ms.clone())
        .collect();
    let mut latency_rounds: Vec<u64> = reports
        .iter()
        .flat_map(|r| r.commit_latency_rounds.clone())
        .collect();
    let mut after_gst: Vec<u64> = reports
        .iter()
        .filter_map(|r| r.time_to_finality_after_gst_ms)
        .collect();
    latency_ms.sort_unstable();
    latency_rounds.sort_unstable();
    after_gst.sort_unstable();
    let evidence: u64 = reports.iter().map(|r| r.evidence_count).sum();
    let blocks: usize = reports.iter().map(|r| r.committed_height).sum();
    println!(
        "{test}: {} seeds, {blocks} final blocks, {evidence} evidence; finality latency p50 {} ms / p99 {} ms \
         ({} / {} rounds); GST to new finality p50 {} ms / p99 {} ms",
        reports.len(),
        percentile(&latency_ms, 50),
        percentile(&latency_ms, 99),
        percentile(&latency_rounds, 50),
        percentile(&latency_rounds, 99),
        percentile(&after_gst, 50),
        percentile(&after_gst, 99),
    );
    reports
}

#[test]
fn four_validators_equal_stake() {
    let reports = run_seeds(
        "four_validators_equal_stake",
        DEFAULT_SEEDS_FOUR,
        SimConfig::four_equal,
    );
    // The fault plans did exercise the byzantine node's equivocations.
    if reports.len() >= 20 {
        assert!(reports.iter().map(|r| r.evidence_count).sum::<u64>() > 0);
    }
}

#[test]
fn seven_validators_unequal_stake() {
    run_seeds(
        "seven_validators_unequal_stake",
        DEFAULT_SEEDS_SEVEN,
        SimConfig::seven_unequal,
    );
}

/// Epochs of 2 slots: every faulty stretch (partition, crashes, a restart of all)
/// spans epochs in which nothing becomes final. Each new epoch's leaders follow from
/// the nonce along the chain being extended, so the cluster never waits for finality
/// to learn who leads (the old rule, nonces from final blocks only, halted for good
/// after one epoch without a final block).
#[test]
fn four_validators_short_epochs() {
    let reports = run_seeds(
        "four_validators_short_epochs",
        DEFAULT_SEEDS_SHORT_EPOCHS,
        |seed| SimConfig {
            epoch_slots: 2,
            ..SimConfig::four_equal(seed)
        },
    );
    // The runs spanned many epochs (with faulty stretches in them), so leaders came
    // from nonces derived along chains.
    let mut highest_rounds: Vec<u64> = reports
        .iter()
        .map(|report| {
            report
                .final_states
                .iter()
                .flatten()
                .map(|(round, ..)| *round)
                .max()
                .unwrap_or(0)
        })
        .collect();
    highest_rounds.sort_unstable();
    // And blocks were built while finality lagged more than an epoch: exactly where
    // nonces from final blocks only left rounds without a leader.
    let ahead: u64 = reports
        .iter()
        .map(|report| report.proposals_ahead_of_final_nonces)
        .sum();
    let runs_ahead = reports
        .iter()
        .filter(|report| report.proposals_ahead_of_final_nonces > 0)
        .count();
    println!(
        "four_validators_short_epochs: {ahead} proposals in {runs_ahead} runs ahead of the final chain's nonces"
    );
    if reports.len() >= 20 {
        assert!(
            percentile(&highest_rounds, 50) >= 4 * 2,
            "highest rounds: {highest_rounds:?}"
        );
        assert!(runs_ahead * 4 >= reports.len(), "{runs_ahead} runs ahead");
    }
}

#[test]
fn runs_are_reproducible() {
    let first = run(&SimConfig::four_equal(7));
    let second = run(&SimConfig::four_equal(7));
    assert_eq!(first.commit_latency_ms, second.commit_latency_ms);
    assert_eq!(first.event_count, second.event_count);
    assert_eq!(first.drops, second.drops);
}

/// The simulator can fail: with the voting rule switched off in honest nodes (neither
/// the once-per-round check nor the extension check), the byzantine node's equivocations
/// and stale forks make honest nodes vote twice in a round and vote after timing out,
/// and the invariant checker reports it. (Conflicting finality did not follow on any
/// seed tried: the next leader's vote collector keeps one vote per voter per round and
/// the block tree refuses blocks below the committed root; `Checker`'s own unit test
/// shows that check fires.)
#[test]
fn without_the_voting_rule_honest_nodes_break_the_safety_rules() {
    let found = seeds(DEFAULT_SEEDS_FOUR).into_iter().find(|&seed| {
        let mut config = SimConfig::four_equal(seed);
        config.unsafe_voting = true;
        run(&config).violations.iter().any(|violation| {
            matches!(
                violation,
                Violation::HonestDoubleVote { .. } | Violation::VoteAfterTimeout { .. }
            )
        })
    });
    let seed = found.expect("some seed must break the voting rule when it is switched off");
    println!("without the voting rule, seed {seed} breaks the safety rules");
}
