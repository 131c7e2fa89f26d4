//! The eUTxO rules for one transaction (see the crate docs for the list, in order).

use std::sync::Arc;

use aether_types::codec::{Decode, Encode, Reader};
use aether_types::{Hash, Lock, Output, OutputReference, Transaction, Value};

use crate::rejection::RejectReason;
use crate::state_view::{StateValue, StateView};

/// Chain parameters the rules depend on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LedgerParams {
    /// Minimum fee per byte of the transaction's canonical encoding, in AETH base units.
    pub fee_per_byte: u64,
}

impl LedgerParams {
    /// The default: one base unit per byte (a 200-byte transfer pays 200).
    pub const DEFAULT: LedgerParams = LedgerParams { fee_per_byte: 1 };

    /// The smallest fee accepted for a transaction of `size_bytes`.
    pub fn minimum_fee(&self, size_bytes: usize) -> u64 {
        self.fee_per_byte.saturating_mul(size_bytes as u64)
    }
}

impl Default for LedgerParams {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// An output a transaction spends: its state key and the address (the lock's hash)
/// that owned it. Execution reads the output anyway, so reporting the owner costs
/// nothing here and spares an index of owners a key-to-owner map.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpentOutput {
    /// The output's state key (now deleted).
    pub key: Hash,
    /// The hash in the output's lock.
    pub owner: Hash,
}

/// An output a transaction creates, as an index of owners needs it. Execution has the
/// output decoded at hand when it creates it, so an index built from these need not
/// read and decode the stored bytes again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CreatedOutput {
    /// The output's state key (`reference.key()`).
    pub key: Hash,
    /// The output's reference (its transaction and index).
    pub reference: OutputReference,
    /// The hash in the output's lock: its address.
    pub owner: Hash,
    /// The AETH it holds, in base units.
    pub aeth: u64,
}

impl CreatedOutput {
    /// `output`, named by `reference`, stored under `key` (= `reference.key()`).
    pub fn new(key: Hash, reference: OutputReference, output: &Output) -> CreatedOutput {
        CreatedOutput {
            key,
            reference,
            owner: output.lock.hash(),
            aeth: output.value.aeth(),
        }
    }

    /// The output stored as `bytes` ([`output_state_value`]) under `key`; `None` when
    /// the bytes are not an output.
    pub fn from_state_value(key: Hash, bytes: &[u8]) -> Option<CreatedOutput> {
        let (reference, output) = decode_state_output(bytes)?;
        Some(CreatedOutput::new(key, reference, &output))
    }
}

/// What an accepted transaction does to state: keys deleted (spent inputs) and
/// outputs created, in output-index order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransactionEffects {
    /// The transaction id.
    pub transaction_id: Hash,
    /// The spent inputs, in input order.
    pub spent: Vec<SpentOutput>,
    /// Each created output and its canonical stored bytes.
    pub created: Vec<(CreatedOutput, StateValue)>,
}

/// Checks `transaction` against `state` at `slot`; on success returns its effects.
///
/// Signatures are *not* verified here (the sigverify stage did that against the id);
/// this checks that the keys the locks require are among the signers.
pub fn execute_transaction(
    state: &(impl StateView + ?Sized),
    transaction: &Transaction,
    transaction_id: Hash,
    slot: u64,
    params: &LedgerParams,
) -> Result<TransactionEffects, RejectReason> {
    let body = &transaction.body;
    if !body.validity.contains(slot) {
        return Err(RejectReason::ExpiredOrNotYetValid {
            slot,
            first_slot: body.validity.first_slot,
            last_slot: body.validity.last_slot,
        });
    }
    if body.inputs.is_empty() {
        return Err(RejectReason::NoInputs);
    }
    if let Some(both) = body
        .inputs
        .iter()
        .find(|input| body.reference_inputs.binary_search(input).is_ok())
    {
        return Err(RejectReason::InputAlsoReferenced(both.key()));
    }
    let size_bytes = transaction.encoded_len();
    let minimum = params.minimum_fee(size_bytes);
    if body.fee < minimum {
        return Err(RejectReason::FeeTooLow {
            fee: body.fee,
            minimum,
            size_bytes,
        });
    }
    if !body.program_calls.is_empty() || !body.state_writes.is_empty() {
        return Err(RejectReason::ProgramsNotEnabled);
    }
    for reference in &body.reference_inputs {
        read_output(state, reference, reference.key())?;
    }
    let signers: Vec<Hash> = transaction
        .signatures
        .iter()
        .map(|signature| Hash::digest(&signature.public_key))
        .collect();
    let mut input_value = Value::ZERO;
    let mut spent = Vec::with_capacity(body.inputs.len());
    for input in &body.inputs {
        let key = input.key();
        let output = read_output(state, input, key)?;
        match output.lock {
            Lock::PublicKeyHash(lock) => {
                if !signers.contains(&lock) {
                    return Err(RejectReason::MissingSignature { input: key, lock });
                }
            }
            Lock::Program(_) => return Err(RejectReason::ProgramLock(key)),
        }
        input_value = input_value
            .checked_add(&output.value)
            .ok_or(RejectReason::ValueOverflow { what: "inputs" })?;
        spent.push(SpentOutput {
            key,
            owner: output.lock.hash(),
        });
    }
    let mut output_value = Value::from_aeth(body.fee);
    for (index, output) in body.outputs.iter().enumerate() {
        if output.value.is_zero() {
            return Err(RejectReason::ZeroOutput { index });
        }
        output_value = output_value
            .checked_add(&output.value)
            .ok_or(RejectReason::ValueOverflow { what: "outputs" })?;
    }
    if input_value != output_value {
        let assets = if input_value.assets() == output_value.assets() {
            ""
        } else {
            " (native assets differ)"
        };
        return Err(RejectReason::ValueNotConserved {
            inputs_aeth: input_value.aeth(),
            spent_aeth: output_value.aeth(),
            assets,
        });
    }
    let created = body
        .outputs
        .iter()
        .enumerate()
        .map(|(index, output)| {
            let reference = OutputReference {
                transaction_id,
                index: index as u16,
            };
            (
                CreatedOutput::new(reference.key(), reference, output),
                output_state_value(&reference, output),
            )
        })
        .collect();
    Ok(TransactionEffects {
        transaction_id,
        spent,
        created,
    })
}

/// The output `reference` names, stored under `key` (= `reference.key()`). The value must
/// be an output stored under that same reference: comparing the references says so
/// without hashing the stored one again (two references with one key would be a BLAKE3
/// collision).
fn read_output(
    state: &(impl StateView + ?Sized),
    reference: &OutputReference,
    key: Hash,
) -> Result<Output, RejectReason> {
    debug_assert_eq!(reference.key(), key);
    let bytes = state.get(&key).ok_or(RejectReason::UnknownInput(key))?;
    match decode_state_output(&bytes) {
        Some((stored, output)) if stored == *reference => Ok(output),
        _ => Err(RejectReason::NotAnOutput(key)),
    }
}

/// The state keys of the `count` outputs a transaction with this id creates.
pub fn created_output_keys(transaction_id: Hash, count: usize) -> impl Iterator<Item = Hash> {
    (0..count).map(move |index| {
        OutputReference {
            transaction_id,
            index: u16::try_from(index).expect("output count is bounded far below u16::MAX"),
        }
        .key()
    })
}

/// The bytes state stores for an unspent output: its reference, then the output
/// (both canonical). Keeping the reference lets an index of who owns what be rebuilt
/// from state alone (wallets need references to spend).
pub fn output_state_value(reference: &OutputReference, output: &Output) -> StateValue {
    let mut bytes = Vec::with_capacity(OutputReference::ENCODED_LEN + output.encoded_len());
    reference.encode_to(&mut bytes);
    output.encode_to(&mut bytes);
    Arc::from(bytes)
}

/// Decodes [`output_state_value`]'s bytes; `None` when they are not an output.
pub fn decode_state_output(bytes: &[u8]) -> Option<(OutputReference, Output)> {
    let mut reader = Reader::new(bytes);
    let reference = OutputReference::decode_from(&mut reader).ok()?;
    let output = Output::decode_from(&mut reader).ok()?;
    reader.finish().ok()?;
    Some((reference, output))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample_blocks::independent_transfers;

    /// An input's key must hold that very output: an output stored under another
    /// reference's key, or bytes that are not an output, are refused as
    /// `NotAnOutput`; the output in its own place is spent.
    #[test]
    fn an_input_must_hold_the_output_its_reference_names() {
        let (state, transactions) = independent_transfers(2);
        let (transaction, id) = &transactions[0];
        let params = LedgerParams::DEFAULT;
        assert!(execute_transaction(&state, transaction, *id, 1, &params).is_ok());

        let input = transaction.body.inputs[0];
        let other = transactions[1].0.body.inputs[0];
        let mut misplaced = state.clone();
        let (_, other_output) =
            decode_state_output(&state.get(&other.key()).expect("present")).expect("output");
        misplaced.insert(input.key(), output_state_value(&other, &other_output));
        assert_eq!(
            execute_transaction(&misplaced, transaction, *id, 1, &params),
            Err(RejectReason::NotAnOutput(input.key()))
        );

        let mut not_an_output = state.clone();
        not_an_output.insert(input.key(), Arc::from(&b"not an output"[..]));
        assert_eq!(
            execute_transaction(&not_an_output, transaction, *id, 1, &params),
            Err(RejectReason::NotAnOutput(input.key()))
        );
    }
}
