//! The embedded dev genesis and how an empty ledger is initialised from it.
//!
//! The dev chain is public by design: its faucet key and validator keys derive from
//! fixed strings, so anyone can reproduce them. Genesis state is
//! [`FAUCET_OUTPUTS`] outputs of [`FAUCET_OUTPUT_AETH`] each, locked by the faucet key;
//! many small outputs let airdrops run in parallel without conflicting. The genesis
//! block is slot 0: its hash commits to the parameters and the faucet key, and it is
//! imported straight into storage as the last committed block.

use std::path::Path;

use aether_account_storage::{AccountStorage, CommittedBlock, OpenOptions};
use aether_crypto::ed25519::Ed25519SecretKey;
use aether_ledger::rules::output_state_value;
use aether_state_commitment::Tree;
use aether_types::{Hash, Lock, Output, OutputReference, Value};
use anyhow::{Context, Result};

/// Faucet outputs at genesis.
pub const FAUCET_OUTPUTS: u16 = 1024;
/// AETH base units in each faucet output.
pub const FAUCET_OUTPUT_AETH: u64 = 1_000_000_000_000;

/// A key derived from a public string (dev chain only).
pub fn dev_key(context: &str) -> Ed25519SecretKey {
    Ed25519SecretKey::from_seed(&blake3::derive_key(context, b"aether-dev-chain"))
}

/// The dev faucet's key.
pub fn faucet_key() -> Ed25519SecretKey {
    dev_key("aether dev faucet v1")
}

/// The id standing for the genesis "transaction" that created the faucet outputs.
pub fn genesis_transaction_id() -> Hash {
    Hash::digest(b"aether dev genesis transaction v1")
}

/// Genesis state: `(key, value)` sorted by key.
pub fn genesis_entries() -> Vec<(Hash, Vec<u8>)> {
    let lock = Lock::for_public_key(&faucet_key().public_key().0);
    let mut entries: Vec<(Hash, Vec<u8>)> = (0..FAUCET_OUTPUTS)
        .map(|index| {
            let reference = OutputReference {
                transaction_id: genesis_transaction_id(),
                index,
            };
            let output = Output {
                lock,
                value: Value::from_aeth(FAUCET_OUTPUT_AETH),
                datum: None,
            };
            (
                reference.key(),
                output_state_value(&reference, &output).to_vec(),
            )
        })
        .collect();
    entries.sort_by_key(|(key, _)| *key);
    entries
}

/// The genesis block hash.
pub fn genesis_hash() -> Hash {
    let mut hasher = blake3::Hasher::new();
    hasher.update(b"aether dev genesis v1");
    hasher.update(&FAUCET_OUTPUTS.to_le_bytes());
    hasher.update(&FAUCET_OUTPUT_AETH.to_le_bytes());
    hasher.update(&faucet_key().public_key().0);
    Hash(*hasher.finalize().as_bytes())
}

/// Writes the dev genesis into `accounts_dir` when it holds no state; returns whether
/// it did.
pub fn initialize_if_empty(accounts_dir: &Path) -> Result<bool> {
    import_if_empty(accounts_dir, genesis_entries(), genesis_hash())
}

/// Writes `entries` as the state of genesis block `hash` (slot 0) into `accounts_dir`
/// when it holds no state; returns whether it did.
pub fn import_if_empty(
    accounts_dir: &Path,
    entries: Vec<(Hash, Vec<u8>)>,
    hash: Hash,
) -> Result<bool> {
    let (storage, _) = AccountStorage::open(accounts_dir, OpenOptions::default())
        .with_context(|| format!("opening {}", accounts_dir.display()))?;
    if storage.last_committed().is_some() || !storage.is_empty() {
        return Ok(false);
    }
    let state_root = Tree::from_sorted(entries.iter().map(|(key, value)| (*key, value.as_slice())))
        .context("genesis entries are sorted")?
        .root();
    storage
        .import_state(
            CommittedBlock {
                slot: 0,
                block_hash: hash,
                state_root,
            },
            entries,
        )
        .context("writing genesis state")?;
    Ok(true)
}
