//! The dev faucet behind `requestAirdrop`: spends genesis faucet outputs.
//!
//! Each airdrop spends one faucet output not already in flight, sends `amount` and
//! returns the change to the faucet. An output stays "in flight" until it leaves the
//! index (committed) or [`IN_FLIGHT_SLOTS`] slots pass (the transaction expired), so
//! concurrent airdrops never spend the same output twice.

use std::collections::HashMap;
use std::sync::Mutex;

use aether_crypto::ed25519::Ed25519SecretKey;
use aether_ledger::{LedgerParams, TransferRequest, build_transfer};
use aether_pipeline::chain::ChainState;
use aether_types::{Hash, Lock, OutputReference, Transaction, ValidityWindow};

/// Slots an airdrop may take to land (its validity window) before its input is reused.
pub const IN_FLIGHT_SLOTS: u64 = 150;

/// See the module docs.
pub struct Faucet {
    key: Ed25519SecretKey,
    address: Hash,
    in_flight: Mutex<HashMap<OutputReference, u64>>,
}

impl Faucet {
    /// A faucet spending outputs locked by `key`.
    pub fn new(key: Ed25519SecretKey) -> Self {
        let address = Lock::for_public_key(&key.public_key().0).hash();
        Self {
            key,
            address,
            in_flight: Mutex::new(HashMap::new()),
        }
    }

    /// Builds a signed airdrop of `amount` to `to`, valid from `slot`.
    pub fn airdrop(
        &self,
        chain: &ChainState,
        to: Hash,
        amount: u64,
        slot: u64,
        params: LedgerParams,
    ) -> Result<Transaction, String> {
        let outputs = chain
            .addresses
            .read()
            .expect("address index lock")
            .outputs(&self.address);
        let mut in_flight = self.in_flight.lock().expect("faucet lock");
        in_flight.retain(|reference, used_at| {
            slot <= *used_at + IN_FLIGHT_SLOTS && outputs.iter().any(|(held, _)| held == reference)
        });
        let (reference, available) = outputs
            .into_iter()
            .find(|(reference, available)| {
                !in_flight.contains_key(reference) && *available > amount.saturating_add(10_000)
            })
            .ok_or_else(|| {
                "the faucet has no free output large enough; try a smaller amount or later"
                    .to_owned()
            })?;
        let transaction = build_transfer(&TransferRequest {
            inputs: &[(reference, available)],
            signer: &self.key,
            to: Lock::PublicKeyHash(to),
            amount,
            params,
            validity: ValidityWindow {
                first_slot: slot,
                last_slot: slot + IN_FLIGHT_SLOTS,
            },
        })
        .map_err(|error| error.to_string())?;
        in_flight.insert(reference, slot);
        Ok(transaction)
    }
}
