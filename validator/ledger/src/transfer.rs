//! Building and signing a plain AETH transfer (wallets, the faucet, benchmarks).

use aether_crypto::ed25519::Ed25519SecretKey;
use aether_types::codec::Encode;
use aether_types::transaction::TRANSACTION_VERSION;
use aether_types::{
    Hash, Lock, Output, OutputReference, Transaction, TransactionBody, TransactionSignature,
    ValidityWindow, Value,
};
use thiserror::Error;

use crate::rules::LedgerParams;

/// A transfer to build: spend `inputs` (all locked by `signer`'s key), pay `amount`
/// to `to`, return the change to the signer, pay the minimum fee.
pub struct TransferRequest<'a> {
    /// Outputs to spend with their AETH amounts.
    pub inputs: &'a [(OutputReference, u64)],
    /// The key that locks every input.
    pub signer: &'a Ed25519SecretKey,
    /// Recipient.
    pub to: Lock,
    /// AETH base units to send.
    pub amount: u64,
    /// Fee rule.
    pub params: LedgerParams,
    /// Slots in which it may land.
    pub validity: ValidityWindow,
}

/// The transfer cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TransferError {
    /// Nothing to spend.
    #[error("no inputs to spend")]
    NoInputs,
    /// Zero amount.
    #[error("amount must be positive")]
    ZeroAmount,
    /// The inputs do not cover amount plus fee.
    #[error("insufficient funds: have {available}, need {needed} (amount + fee)")]
    InsufficientFunds {
        /// Sum of inputs.
        available: u64,
        /// Amount plus minimum fee.
        needed: u64,
    },
    /// Too many inputs or outputs for one packet.
    #[error("transfer does not fit one packet: {0}")]
    TooLarge(String),
}

/// Builds and signs the transfer described by `request`.
pub fn build_transfer(request: &TransferRequest<'_>) -> Result<Transaction, TransferError> {
    if request.inputs.is_empty() {
        return Err(TransferError::NoInputs);
    }
    if request.amount == 0 {
        return Err(TransferError::ZeroAmount);
    }
    let available = request
        .inputs
        .iter()
        .try_fold(0u64, |sum, (_, amount)| sum.checked_add(*amount))
        .ok_or_else(|| TransferError::TooLarge("input sum overflows".into()))?;
    let own_lock = Lock::for_public_key(&request.signer.public_key().0);
    // With a change output first; if nothing would be left for it, without.
    for with_change in [true, false] {
        let mut body = TransactionBody {
            version: TRANSACTION_VERSION,
            inputs: request
                .inputs
                .iter()
                .map(|(reference, _)| *reference)
                .collect(),
            reference_inputs: Vec::new(),
            outputs: vec![Output {
                lock: request.to,
                value: Value::from_aeth(request.amount),
                datum: None,
            }],
            state_reads: Vec::new(),
            state_writes: Vec::new(),
            fee: 0,
            validity: request.validity,
            program_calls: Vec::new(),
        };
        body.sort_sets();
        if with_change {
            body.outputs.push(Output {
                lock: own_lock,
                value: Value::from_aeth(1),
                datum: None,
            });
        }
        // Every field is fixed width except lists, so the size does not depend on
        // the fee or the amounts: measure it with placeholder values and one signature.
        let size_bytes = body.encoded_len() + 1 + TransactionSignature::ENCODED_LEN;
        let fee = request.params.minimum_fee(size_bytes);
        let needed = request.amount.saturating_add(fee);
        if available < needed {
            return Err(TransferError::InsufficientFunds { available, needed });
        }
        let left = available - needed;
        match (with_change, left) {
            (true, 0) => continue,
            (true, change) => {
                body.outputs[1].value = Value::from_aeth(change);
                body.fee = fee;
            }
            // Unreachable in practice (left > 0 takes the first branch); any remainder
            // would be paid as fee rather than lost.
            (false, remainder) => body.fee = fee + remainder,
        }
        let transaction = sign_transaction(body, &[request.signer]);
        transaction
            .to_wire()
            .map_err(|error| TransferError::TooLarge(error.to_string()))?;
        return Ok(transaction);
    }
    unreachable!("the second iteration always returns")
}

/// Signs `body`'s id with every key in `signers` (sorted by public key, deduplicated).
pub fn sign_transaction(body: TransactionBody, signers: &[&Ed25519SecretKey]) -> Transaction {
    let id: Hash = body.id();
    let mut signatures: Vec<TransactionSignature> = signers
        .iter()
        .map(|key| TransactionSignature {
            public_key: key.public_key().0,
            signature: key.sign(id.as_bytes()).0,
        })
        .collect();
    signatures.sort_by_key(|signature| signature.public_key);
    signatures.dedup_by_key(|signature| signature.public_key);
    Transaction { body, signatures }
}
