//! CPU time of a child node's threads during the timed run, read from Linux's
//! `/proc/<pid>/task/<tid>/stat` (user + system ticks of `USER_HZ` = 100, a fixed part
//! of the kernel ABI). Stage threads carry their stage's name (`banking:0`), so the
//! difference of two samples says where the node's CPU went, including what no stage
//! counts as busy (QUIC on `fetch:0`, the state-commitment and execution pools, RocksDB).
//! Threads that end between the samples are left out; on other systems both samples are
//! empty.

use std::collections::BTreeMap;

/// Ticks per second in `/proc/*/stat`.
const USER_HZ: f64 = 100.0;

/// One sample: thread id -> (thread name, user + system ticks so far).
#[derive(Debug, Default, Clone)]
pub struct ThreadCpuSample(BTreeMap<u32, (String, u64)>);

/// Samples every thread of process `pid`.
pub fn sample(pid: u32) -> ThreadCpuSample {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return ThreadCpuSample::default();
    };
    let threads = tasks
        .flatten()
        .filter_map(|task| {
            let tid: u32 = task.file_name().to_str()?.parse().ok()?;
            let stat = std::fs::read_to_string(task.path().join("stat")).ok()?;
            Some((tid, parse_stat(&stat)?))
        })
        .collect();
    ThreadCpuSample(threads)
}

/// (name, user + system ticks) from one `stat` line: `tid (name) state ...`, the name
/// possibly holding spaces and parentheses; utime and stime are fields 14 and 15.
fn parse_stat(stat: &str) -> Option<(String, u64)> {
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let name = stat.get(open + 1..close)?.to_owned();
    let fields: Vec<&str> = stat.get(close + 1..)?.split_whitespace().collect();
    let user: u64 = fields.get(11)?.parse().ok()?;
    let system: u64 = fields.get(12)?.parse().ok()?;
    Some((name, user + system))
}

/// CPU seconds each thread name used between `before` and `after` (threads of one name,
/// such as the RPC pool, summed), rounded to milliseconds.
pub fn seconds_by_name(before: &ThreadCpuSample, after: &ThreadCpuSample) -> BTreeMap<String, f64> {
    let mut seconds = BTreeMap::new();
    for (tid, (name, ticks)) in &after.0 {
        let earlier = before.0.get(tid).map_or(0, |(_, ticks)| *ticks);
        let used = ticks.saturating_sub(earlier) as f64 / USER_HZ;
        *seconds.entry(name.clone()).or_insert(0.0) += used;
    }
    seconds.retain(|_, used| *used > 0.0);
    for used in seconds.values_mut() {
        *used = (*used * 1e3).round() / 1e3;
    }
    seconds
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_lines_parse_with_odd_names() {
        let line = "4242 (rpc (x) 1) S 1 2 3 4 5 6 7 8 9 10 250 50 0 0 20 0 1 0";
        assert_eq!(parse_stat(line), Some(("rpc (x) 1".to_owned(), 300)));
        assert_eq!(parse_stat("4242 no name"), None);
    }

    #[test]
    fn differences_are_summed_by_name_and_new_threads_count_whole() {
        let before = ThreadCpuSample(BTreeMap::from([
            (1, ("banking:0".to_owned(), 100)),
            (2, ("rpc".to_owned(), 10)),
        ]));
        let after = ThreadCpuSample(BTreeMap::from([
            (1, ("banking:0".to_owned(), 350)),
            (2, ("rpc".to_owned(), 10)),
            (3, ("rpc".to_owned(), 40)),
        ]));
        let seconds = seconds_by_name(&before, &after);
        assert_eq!(
            seconds,
            BTreeMap::from([("banking:0".to_owned(), 2.5), ("rpc".to_owned(), 0.4)])
        );
    }

    #[test]
    fn this_process_has_threads_with_cpu() {
        let sample = sample(std::process::id());
        if cfg!(target_os = "linux") {
            assert!(!sample.0.is_empty());
        }
    }
}
