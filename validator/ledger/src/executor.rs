//! Block execution: sequential (the reference) and parallel by conflict level.

use std::sync::Arc;

use aether_types::{Hash, Transaction};
use foldhash::HashMapExt;
use rayon::prelude::*;
use thiserror::Error;

use crate::rejection::RejectReason;
use crate::rules::{
    CreatedOutput, LedgerParams, SpentOutput, TransactionEffects, execute_transaction,
};
use crate::scheduler::{AccessSet, schedule_levels};
use crate::state_view::{Layered, StateView, Writes};

/// The result of executing a list of transactions in order on one state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BlockExecution {
    /// One outcome per transaction, in input order.
    pub outcomes: Vec<Result<(), RejectReason>>,
    /// The combined writes of every accepted transaction.
    pub writes: Writes,
    /// Every accepted transaction's spent inputs, in block order (an output created
    /// and spent in the same block appears here although its key was never stored).
    pub spent: Vec<SpentOutput>,
    /// Every accepted transaction's created outputs, in block order (an output created
    /// and spent in the same block appears here and in `spent`).
    pub created: Vec<CreatedOutput>,
}

impl BlockExecution {
    /// Number of accepted transactions.
    pub fn accepted_count(&self) -> usize {
        self.outcomes
            .iter()
            .filter(|outcome| outcome.is_ok())
            .count()
    }
}

/// Applies an accepted transaction's effects to `writes`; appends what it created to
/// `created` and returns its spent inputs.
fn apply_effects(
    writes: &mut Writes,
    effects: TransactionEffects,
    created: &mut Vec<CreatedOutput>,
) -> Vec<SpentOutput> {
    for spent in &effects.spent {
        writes.insert(spent.key, None);
    }
    for (output, value) in effects.created {
        writes.insert(output.key, Some(value));
        created.push(output);
    }
    effects.spent
}

/// The reference: each transaction in order, on the state the previous ones left.
pub fn execute_sequential(
    base: &(impl StateView + ?Sized),
    transactions: &[(Transaction, Hash)],
    slot: u64,
    params: &LedgerParams,
) -> BlockExecution {
    let mut execution = BlockExecution::default();
    for (transaction, id) in transactions {
        let view = Layered {
            base,
            overlay: &execution.writes,
        };
        match execute_transaction(&view, transaction, *id, slot, params) {
            Ok(effects) => {
                let spent = apply_effects(&mut execution.writes, effects, &mut execution.created);
                execution.spent.extend(spent);
                execution.outcomes.push(Ok(()));
            }
            Err(reason) => execution.outcomes.push(Err(reason)),
        }
    }
    execution
}

/// The parallel executor could not start its worker pool.
#[derive(Debug, Error)]
#[error("cannot start {workers} execution workers: {reason}")]
pub struct ExecutorError {
    workers: usize,
    reason: String,
}

/// Where blocks execute: on the calling thread (one worker), or on a pool of
/// `execute:N` threads (two or more).
///
/// One worker runs [`execute_sequential`] on the caller. A pool of one would only add
/// a hand-off: the caller waits for the pool anyway, and each block chunk would cost two
/// thread wake-ups and the pool's idle spinning, on cores that signature verification
/// needs (measured on 2 cores: about 0.8 µs of CPU per transaction).
pub struct Executor {
    pool: Option<Arc<rayon::ThreadPool>>,
}

impl Executor {
    /// Starts `workers` threads; `0` and `1` both mean the calling thread alone.
    pub fn new(workers: usize) -> Result<Self, ExecutorError> {
        if workers <= 1 {
            return Ok(Self { pool: None });
        }
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(workers)
            .thread_name(|index| format!("execute:{index}"))
            .build()
            .map_err(|error| ExecutorError {
                workers,
                reason: error.to_string(),
            })?;
        Ok(Self {
            pool: Some(Arc::new(pool)),
        })
    }

    /// Worker count (1 = the calling thread).
    pub fn workers(&self) -> usize {
        self.pool
            .as_ref()
            .map_or(1, |pool| pool.current_num_threads())
    }

    /// Executes `transactions`: in conflict levels on the pool (see
    /// [`execute_parallel`]), or in order on the calling thread with one worker. Both
    /// return exactly what [`execute_sequential`] returns.
    pub fn execute(
        &self,
        base: &(impl StateView + ?Sized),
        transactions: &[(Transaction, Hash)],
        slot: u64,
        params: &LedgerParams,
    ) -> BlockExecution {
        match &self.pool {
            Some(pool) => pool.install(|| execute_parallel(base, transactions, slot, params)),
            None => execute_sequential(base, transactions, slot, params),
        }
    }
}

/// Below this many transactions in a level, the level runs on the calling thread:
/// handing work to the pool costs more than it saves.
const PARALLEL_LEVEL_MIN: usize = 32;

/// Executes `transactions` level by level (see [`crate::scheduler`]); every level runs
/// on the current rayon pool against the state left by the lower levels. Returns
/// exactly what [`execute_sequential`] returns.
pub fn execute_parallel(
    base: &(impl StateView + ?Sized),
    transactions: &[(Transaction, Hash)],
    slot: u64,
    params: &LedgerParams,
) -> BlockExecution {
    // Access sets cost three to four BLAKE3 hashes per transaction: compute them on
    // the pool too, or scheduling alone outweighs what parallel execution saves.
    let access_of = |(transaction, id): &(Transaction, Hash)| AccessSet::of(transaction, *id);
    let access_sets: Vec<AccessSet> = if transactions.len() >= PARALLEL_LEVEL_MIN {
        transactions.par_iter().map(access_of).collect()
    } else {
        transactions.iter().map(access_of).collect()
    };
    let levels = schedule_levels(&access_sets);
    let level_count = levels.iter().max().map_or(0, |level| *level as usize + 1);
    let mut by_level: Vec<Vec<usize>> = vec![Vec::new(); level_count];
    for (index, level) in levels.iter().enumerate() {
        by_level[*level as usize].push(index);
    }
    let mut outcomes: Vec<Option<Result<(), RejectReason>>> = vec![None; transactions.len()];
    // Each transaction's spent inputs, by block index (levels finish out of order).
    let mut spent_by_index: Vec<Vec<SpentOutput>> = vec![Vec::new(); transactions.len()];
    let mut created_by_index: Vec<Vec<CreatedOutput>> = vec![Vec::new(); transactions.len()];
    // Every written key is in some access set: sized once, the map never rehashes.
    let mut writes =
        Writes::with_capacity(access_sets.iter().map(|access| access.writes.len()).sum());
    for members in &by_level {
        let view = Layered {
            base,
            overlay: &writes,
        };
        let run = |&index: &usize| {
            let (transaction, id) = &transactions[index];
            (
                index,
                execute_transaction(&view, transaction, *id, slot, params),
            )
        };
        let results: Vec<_> = if members.len() >= PARALLEL_LEVEL_MIN {
            members.par_iter().map(run).collect()
        } else {
            members.iter().map(run).collect()
        };
        // Transactions in one level touch disjoint keys, so the order of merging
        // within a level does not matter; outcomes keep block order by index.
        for (index, result) in results {
            outcomes[index] = Some(result.map(|effects| {
                spent_by_index[index] =
                    apply_effects(&mut writes, effects, &mut created_by_index[index]);
            }));
        }
    }
    let outcomes = outcomes
        .into_iter()
        .map(|outcome| outcome.expect("every transaction belongs to exactly one level"))
        .collect();
    BlockExecution {
        outcomes,
        writes,
        spent: spent_by_index.into_iter().flatten().collect(),
        created: created_by_index.into_iter().flatten().collect(),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::sync::Mutex;

    use super::*;
    use crate::sample_blocks::independent_transfers;
    use crate::state_view::{MemoryState, StateValue};

    /// A state that records the name of every thread that reads it.
    struct RecordingState {
        inner: MemoryState,
        readers: Mutex<BTreeSet<String>>,
    }

    impl StateView for RecordingState {
        fn get(&self, key: &Hash) -> Option<StateValue> {
            self.readers.lock().expect("lock").insert(thread_name());
            self.inner.get(key)
        }
    }

    fn thread_name() -> String {
        std::thread::current()
            .name()
            .unwrap_or("unnamed")
            .to_owned()
    }

    /// The threads that read state while `workers` executed a block big enough for the
    /// pool to split; checks that every transfer was accepted.
    fn readers_with(workers: usize) -> BTreeSet<String> {
        let (inner, transactions) = independent_transfers(4 * PARALLEL_LEVEL_MIN);
        let state = RecordingState {
            inner,
            readers: Mutex::new(BTreeSet::new()),
        };
        let executor = Executor::new(workers).expect("executor starts");
        assert_eq!(executor.workers(), workers.max(1));
        let execution = executor.execute(&state, &transactions, 1, &LedgerParams::DEFAULT);
        assert_eq!(execution.accepted_count(), transactions.len());
        state.readers.into_inner().expect("lock")
    }

    #[test]
    fn one_worker_executes_on_the_calling_thread() {
        assert_eq!(readers_with(1), BTreeSet::from([thread_name()]));
    }

    #[test]
    fn two_workers_execute_on_the_pool() {
        let readers = readers_with(2);
        assert!(
            !readers.is_empty() && readers.iter().all(|name| name.starts_with("execute:")),
            "readers: {readers:?}"
        );
    }
}
