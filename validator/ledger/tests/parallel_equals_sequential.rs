//! Differential property test: the parallel executor against the sequential reference.
//!
//! Random blocks built to conflict: transactions spend genesis outputs and outputs made
//! earlier in the same block (so some are double spends), reference outputs that others
//! spend, sometimes lack a signature, break value conservation, fall outside their
//! validity window or pay too little. For every worker count the parallel executor must
//! return the same outcomes, the same writes and the same state root as sequential
//! execution in block order.

use aether_ledger::{
    CreatedOutput, Executor, LedgerParams, MemoryState, StateView, execute_sequential,
    rules::output_state_value,
};
use aether_state_commitment::Tree;
use aether_types::{
    Hash, Lock, Output, OutputReference, Transaction, TransactionBody, TransactionSignature,
    ValidityWindow, Value,
};
use proptest::prelude::*;

const OWNERS: usize = 5;
const GENESIS_OUTPUTS: usize = 24;
const SLOT: u64 = 10;

fn owner_key(owner: usize) -> [u8; 32] {
    [owner as u8 + 1; 32]
}

fn genesis() -> (MemoryState, Vec<(OutputReference, usize, u64)>) {
    let mut state = MemoryState::new();
    let mut outputs = Vec::new();
    for index in 0..GENESIS_OUTPUTS {
        let reference = OutputReference {
            transaction_id: Hash([0xee; 32]),
            index: index as u16,
        };
        let owner = index % OWNERS;
        let amount = 10_000 + index as u64;
        let output = Output {
            lock: Lock::for_public_key(&owner_key(owner)),
            value: Value::from_aeth(amount),
            datum: None,
        };
        state.insert(reference.key(), output_state_value(&reference, &output));
        outputs.push((reference, owner, amount));
    }
    (state, outputs)
}

/// One generated transaction, described by choices resolved against the pool of
/// known outputs at generation time.
#[derive(Debug, Clone)]
struct Plan {
    inputs: Vec<usize>,
    reference: Option<usize>,
    signer_shift: usize,
    split: u64,
    fee: u64,
    value_error: u64,
    window_offset: i8,
}

fn plan() -> impl Strategy<Value = Plan> {
    (
        prop::collection::vec(0usize..64, 1..4),
        prop::option::weighted(0.2, 0usize..64),
        prop::sample::select(vec![0usize, 0, 0, 0, 0, 0, 1]),
        0u64..100,
        prop::sample::select(vec![300u64, 300, 300, 5]),
        prop::sample::select(vec![0u64, 0, 0, 0, 0, 0, 0, 1]),
        prop::sample::select(vec![0i8, 0, 0, 0, 0, 0, -20, 20]),
    )
        .prop_map(
            |(inputs, reference, signer_shift, split, fee, value_error, window_offset)| Plan {
                inputs,
                reference,
                signer_shift,
                split,
                fee,
                value_error,
                window_offset,
            },
        )
}

/// Turns plans into transactions. Every created output joins the pool, so later
/// transactions may spend it (a chain inside the block) or spend it twice.
fn build(
    plans: &[Plan],
    pool: &mut Vec<(OutputReference, usize, u64)>,
) -> Vec<(Transaction, Hash)> {
    let mut transactions = Vec::new();
    for plan in plans {
        let mut chosen: Vec<(OutputReference, usize, u64)> = plan
            .inputs
            .iter()
            .map(|choice| pool[choice % pool.len()])
            .collect();
        chosen.sort_by_key(|(reference, ..)| *reference);
        chosen.dedup_by_key(|(reference, ..)| *reference);
        let total: u64 = chosen.iter().map(|(_, _, amount)| amount).sum();
        let fee = plan.fee;
        let available = total.saturating_sub(fee) + plan.value_error;
        let first = (available * plan.split / 100).max(1);
        let second = available.saturating_sub(first);
        let owner = chosen[0].1;
        let mut outputs = vec![Output {
            lock: Lock::for_public_key(&owner_key((owner + 1) % OWNERS)),
            value: Value::from_aeth(first),
            datum: None,
        }];
        if second > 0 {
            outputs.push(Output {
                lock: Lock::for_public_key(&owner_key(owner)),
                value: Value::from_aeth(second),
                datum: None,
            });
        }
        let reference_inputs = plan
            .reference
            .map(|choice| vec![pool[choice % pool.len()].0])
            .unwrap_or_default();
        let first_slot = (SLOT as i64 + plan.window_offset as i64).max(0) as u64;
        let mut body = TransactionBody {
            version: aether_types::transaction::TRANSACTION_VERSION,
            inputs: chosen.iter().map(|(reference, ..)| *reference).collect(),
            reference_inputs,
            outputs,
            state_reads: Vec::new(),
            state_writes: Vec::new(),
            fee,
            validity: ValidityWindow {
                first_slot,
                last_slot: first_slot + 5,
            },
            program_calls: Vec::new(),
        };
        body.sort_sets();
        // The executor checks who signed, not the signature bytes (sigverify did).
        let mut signers: Vec<[u8; 32]> = chosen
            .iter()
            .map(|(_, owner, _)| owner_key((owner + plan.signer_shift) % OWNERS))
            .collect();
        signers.sort();
        signers.dedup();
        let signatures = signers
            .into_iter()
            .map(|public_key| TransactionSignature {
                public_key,
                signature: [0; 64],
            })
            .collect();
        let transaction = Transaction { body, signatures };
        let id = transaction.transaction_id();
        for index in 0..transaction.body.outputs.len() {
            let reference = OutputReference {
                transaction_id: id,
                index: index as u16,
            };
            let amount = transaction.body.outputs[index].value.aeth();
            pool.push((reference, (owner + 1 - index.min(1)) % OWNERS, amount));
        }
        transactions.push((transaction, id));
    }
    transactions
}

fn root_after(base: &MemoryState, writes: &aether_ledger::Writes) -> Hash {
    let mut state = base.clone();
    state.apply(writes);
    let mut entries: Vec<(Hash, std::sync::Arc<[u8]>)> = state
        .iter()
        .map(|(key, value)| (*key, value.clone()))
        .collect();
    entries.sort_by_key(|(key, _)| *key);
    Tree::empty()
        .apply_batch(entries.into_iter().map(|(key, value)| (key, Some(value))))
        .root()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn parallel_execution_equals_sequential(plans in prop::collection::vec(plan(), 1..160)) {
        let (state, mut pool) = genesis();
        let transactions = build(&plans, &mut pool);
        let params = LedgerParams { fee_per_byte: 1 };
        let sequential = execute_sequential(&state, &transactions, SLOT, &params);
        let sequential_root = root_after(&state, &sequential.writes);
        for workers in [1, 2, 4] {
            let executor = Executor::new(workers).expect("pool starts");
            let parallel = executor.execute(&state, &transactions, SLOT, &params);
            prop_assert_eq!(&parallel.outcomes, &sequential.outcomes);
            prop_assert_eq!(&parallel.writes, &sequential.writes);
            prop_assert_eq!(&parallel.spent, &sequential.spent);
            prop_assert_eq!(&parallel.created, &sequential.created);
            prop_assert_eq!(root_after(&state, &parallel.writes), sequential_root);
        }
        // The spent list is every accepted transaction's inputs in block order, each
        // with the lock hash of the output it spent (from state or from earlier in the
        // block).
        let mut owners: std::collections::HashMap<Hash, Hash> = state
            .iter()
            .map(|(key, bytes)| {
                let (_, output) = aether_ledger::rules::decode_state_output(bytes).expect("outputs only");
                (*key, output.lock.hash())
            })
            .collect();
        for (transaction, id) in &transactions {
            for (index, output) in transaction.body.outputs.iter().enumerate() {
                let reference = OutputReference { transaction_id: *id, index: index as u16 };
                owners.insert(reference.key(), output.lock.hash());
            }
        }
        let expected_spent: Vec<(Hash, Hash)> = transactions
            .iter()
            .zip(&sequential.outcomes)
            .filter(|(_, outcome)| outcome.is_ok())
            .flat_map(|((transaction, _), _)| transaction.body.inputs.iter().map(|input| input.key()))
            .map(|key| (key, owners[&key]))
            .collect();
        let spent: Vec<(Hash, Hash)> =
            sequential.spent.iter().map(|spent| (spent.key, spent.owner)).collect();
        prop_assert_eq!(spent, expected_spent);
        // The created list is every accepted transaction's outputs in block order, each
        // with its reference, key, lock hash and amount, as stored.
        let expected_created: Vec<CreatedOutput> = transactions
            .iter()
            .zip(&sequential.outcomes)
            .filter(|(_, outcome)| outcome.is_ok())
            .flat_map(|((transaction, id), _)| {
                transaction.body.outputs.iter().enumerate().map(|(index, output)| {
                    let reference = OutputReference { transaction_id: *id, index: index as u16 };
                    CreatedOutput {
                        key: reference.key(),
                        reference,
                        owner: output.lock.hash(),
                        aeth: output.value.aeth(),
                    }
                })
            })
            .collect();
        prop_assert_eq!(&sequential.created, &expected_created);
        for created in &sequential.created {
            if let Some(Some(bytes)) = sequential.writes.get(&created.key) {
                prop_assert_eq!(CreatedOutput::from_state_value(created.key, bytes), Some(*created));
            }
        }
        // Both accepted and rejected transactions occur across cases; conservation
        // holds for every accepted set: nothing is minted.
        let mut after = state.clone();
        after.apply(&sequential.writes);
        let total = |state: &MemoryState| -> u64 {
            state.iter().map(|(_, bytes)| {
                aether_ledger::rules::decode_state_output(bytes).expect("outputs only").1.value.aeth()
            }).sum()
        };
        let fees: u64 = transactions.iter().zip(&sequential.outcomes)
            .filter(|(_, outcome)| outcome.is_ok())
            .map(|((transaction, _), _)| transaction.body.fee)
            .sum();
        prop_assert_eq!(total(&after) + fees, total(&state));
        let _ = after.get(&Hash::ZERO);
    }
}
