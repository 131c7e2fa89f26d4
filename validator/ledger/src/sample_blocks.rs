//! Blocks built for tests and benchmarks (not used by the node).

use aether_crypto::ed25519::Ed25519SecretKey;
use aether_types::{Hash, Lock, Output, OutputReference, Transaction, ValidityWindow, Value};

use crate::rules::{LedgerParams, output_state_value};
use crate::state_view::MemoryState;
use crate::transfer::{TransferRequest, build_transfer};

/// `count` transfers, each spending its own genesis output of one signer (no two
/// conflict), valid in slots 0 to 100 under [`LedgerParams::DEFAULT`]; and the state
/// holding those outputs.
pub fn independent_transfers(count: usize) -> (MemoryState, Vec<(Transaction, Hash)>) {
    let key = Ed25519SecretKey::from_seed(&[7; 32]);
    let lock = Lock::for_public_key(&key.public_key().0);
    let mut state = MemoryState::new();
    let mut transactions = Vec::with_capacity(count);
    for index in 0..count {
        let reference = OutputReference {
            transaction_id: Hash([9; 32]),
            index: u16::try_from(index).expect("at most 65,536 transfers"),
        };
        let output = Output {
            lock,
            value: Value::from_aeth(1_000_000),
            datum: None,
        };
        state.insert(reference.key(), output_state_value(&reference, &output));
        let transaction = build_transfer(&TransferRequest {
            inputs: &[(reference, 1_000_000)],
            signer: &key,
            to: Lock::for_public_key(&[index as u8; 32]),
            amount: 1_000,
            params: LedgerParams::DEFAULT,
            validity: ValidityWindow {
                first_slot: 0,
                last_slot: 100,
            },
        })
        .expect("transfer builds");
        let id = transaction.transaction_id();
        transactions.push((transaction, id));
    }
    (state, transactions)
}
