//! `aetherctl cluster init` / `cluster show`: a cluster's genesis and key directories.
//!
//! `cluster init --validators N --out DIR` writes
//!
//! | path | contents |
//! |---|---|
//! | `DIR/node-0` .. `DIR/node-(N-1)` | one validator key set each, exactly as `keys new` writes it |
//! | `DIR/faucet.json` | the faucet wallet, exactly as `wallet new` writes it |
//! | `DIR/genesis.json` | the cluster genesis (`aether-genesis` format), written last |
//!
//! Nothing is written when any of these files already exists, and an existing
//! `genesis.json` is never overwritten.

use std::fmt::Write as _;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use aether_client::Wallet;
use aether_crypto::ed25519::Ed25519PublicKey;
use aether_crypto::vrf::VrfPublicKey;
use aether_genesis::{ClusterGenesis, GENESIS_VERSION, GenesisFaucet, GenesisValidator};
use aether_types::Hash;
use anyhow::{Context, Result, bail, ensure};
use serde_json::{Value, json};

use crate::hex_field::array;
use crate::keys;

/// The genesis file's name inside the cluster directory.
pub const GENESIS_FILE: &str = "genesis.json";
/// The faucet wallet's name inside the cluster directory.
pub const FAUCET_FILE: &str = "faucet.json";

/// `cluster init`'s parameters.
#[derive(Debug, Clone, clap::Args)]
pub struct InitOptions {
    /// Number of validators.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=aether_genesis::MAX_VALIDATORS as i64))]
    pub validators: u32,
    /// Stake of each validator (base units).
    #[arg(long, default_value_t = 1_000_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub stake: u64,
    /// The chain id (printable ASCII, no spaces, at most 64 bytes).
    #[arg(long, default_value = "aether-devnet")]
    pub chain_id: String,
    /// Slot length in milliseconds.
    #[arg(long, default_value_t = 500)]
    pub slot_ms: u64,
    /// Slots per epoch.
    #[arg(long, default_value_t = 432)]
    pub epoch_slots: u64,
    /// Slots per KES period (7200 slots of 500 ms = one hour).
    #[arg(long, default_value_t = 7_200)]
    pub kes_slots_per_period: u64,
    /// KES tree depth of every validator's key: it lasts 2^depth periods.
    #[arg(long, default_value_t = aether_crypto::kes::KES_DEPTH_DEFAULT)]
    pub kes_depth: u32,
    /// Faucet outputs at genesis (at most 65535).
    #[arg(long, default_value_t = 1024)]
    pub faucet_outputs: u32,
    /// AETH base units in each faucet output.
    #[arg(long, default_value_t = 1_000_000_000_000)]
    pub faucet_aeth: u64,
}

/// The key directory of validator `index`.
pub fn node_directory(out: &Path, index: u32) -> std::path::PathBuf {
    out.join(format!("node-{index}"))
}

/// Refuses before writing anything when any file `init` would create exists.
fn check_nothing_exists(out: &Path, validators: u32) -> Result<()> {
    let genesis = out.join(GENESIS_FILE);
    if genesis.exists() {
        bail!(
            "{} already exists; refusing to overwrite a genesis file",
            genesis.display()
        );
    }
    let faucet = out.join(FAUCET_FILE);
    ensure!(
        !faucet.exists(),
        "{} already exists; refusing to overwrite a wallet",
        faucet.display()
    );
    for index in 0..validators {
        for name in keys::KEY_FILES {
            let path = node_directory(out, index).join(name);
            ensure!(
                !path.exists(),
                "{} already exists; refusing to overwrite keys",
                path.display()
            );
        }
    }
    Ok(())
}

/// The genesis entry of the key set in `directory`, from its checked public parts.
fn genesis_validator(name: String, directory: &Path, stake: u64) -> Result<GenesisValidator> {
    let public = keys::public_parts(directory)?;
    let context = || format!("{}: public parts", directory.display());
    Ok(GenesisValidator {
        name,
        identity: Ed25519PublicKey(array(&public, "identity_public_key").with_context(context)?),
        vote_public_key: array(&public, "vote_public_key").with_context(context)?,
        vote_proof_of_possession: array(&public, "vote_proof_of_possession")
            .with_context(context)?,
        vrf_public_key: VrfPublicKey(array(&public, "vrf_public_key").with_context(context)?),
        stake,
    })
}

/// Creates the cluster directory; returns a summary ending with the genesis hash.
pub fn init(out: &Path, options: &InitOptions) -> Result<String> {
    ensure!(options.validators > 0, "--validators must be at least 1");
    check_nothing_exists(out, options.validators)?;
    // Refuse bad parameters before any key is generated; the faucet key is filled in
    // once its wallet exists.
    let mut genesis = ClusterGenesis {
        version: GENESIS_VERSION,
        chain_id: options.chain_id.clone(),
        created_at_ms: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|elapsed| u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX))
            .unwrap_or(0),
        slot_ms: options.slot_ms,
        epoch_slots: options.epoch_slots,
        kes_slots_per_period: options.kes_slots_per_period,
        kes_depth: options.kes_depth,
        genesis_nonce: Hash(aether_crypto::random::random_bytes::<32>()?),
        validators: Vec::with_capacity(options.validators as usize),
        faucet: GenesisFaucet {
            public_key: Ed25519PublicKey([0; 32]),
            outputs: options.faucet_outputs,
            output_aeth: options.faucet_aeth,
        },
    };
    genesis.validate_parameters()?;
    let total_stake = u64::from(options.validators).checked_mul(options.stake);
    ensure!(
        total_stake.is_some(),
        "--validators × --stake overflows u64"
    );

    for index in 0..options.validators {
        let directory = node_directory(out, index);
        keys::create(&directory, options.kes_depth)?;
        genesis.validators.push(genesis_validator(
            format!("node-{index}"),
            &directory,
            options.stake,
        )?);
    }
    let faucet = Wallet::create(&out.join(FAUCET_FILE))?;
    genesis.faucet.public_key = faucet.key.public_key();
    let path = out.join(GENESIS_FILE);
    genesis
        .save(&path)
        .with_context(|| format!("writing {}", path.display()))?;
    let mut summary = format!(
        "wrote {} validator key sets, {FAUCET_FILE} (address {}) and {GENESIS_FILE} to {}\n",
        options.validators,
        faucet.address(),
        out.display()
    );
    summary.push_str(&render(&genesis));
    Ok(summary)
}

/// Loads and validates a genesis file and renders a summary (or one JSON object).
pub fn show(path: &Path, as_json: bool) -> Result<String> {
    let genesis =
        ClusterGenesis::load(path).with_context(|| format!("loading {}", path.display()))?;
    // The consensus crate's own checks, as the node will run them.
    genesis.validator_set()?;
    if as_json {
        let summary = json!({
            "chain_id": genesis.chain_id,
            "genesis_hash": genesis.genesis_hash().to_string(),
            "slot_ms": genesis.slot_ms,
            "epoch_slots": genesis.epoch_slots,
            "kes_slots_per_period": genesis.kes_slots_per_period,
            "kes_depth": genesis.kes_depth,
            "total_stake": genesis.total_stake(),
            "validators": genesis.validators.iter().map(|validator| json!({
                "name": validator.name,
                "identity": validator.identity.to_string(),
                "stake": validator.stake,
            })).collect::<Vec<Value>>(),
            "faucet_outputs": genesis.faucet.outputs,
            "faucet_output_aeth": genesis.faucet.output_aeth,
        });
        return Ok(format!("{summary}\n"));
    }
    Ok(render(&genesis))
}

fn render(genesis: &ClusterGenesis) -> String {
    let mut text = String::new();
    writeln!(text, "chain id        {}", genesis.chain_id).unwrap();
    writeln!(
        text,
        "slots           {} ms, {} per epoch, {} per KES period (KES depth {})",
        genesis.slot_ms, genesis.epoch_slots, genesis.kes_slots_per_period, genesis.kes_depth
    )
    .unwrap();
    writeln!(
        text,
        "validators      {} (total stake {})",
        genesis.validators.len(),
        genesis.total_stake()
    )
    .unwrap();
    for (index, validator) in genesis.validators.iter().enumerate() {
        writeln!(
            text,
            "  {index:>3} {:<12} {} stake {}",
            validator.name, validator.identity, validator.stake
        )
        .unwrap();
    }
    writeln!(
        text,
        "faucet          {} outputs of {} AETH base units",
        genesis.faucet.outputs, genesis.faucet.output_aeth
    )
    .unwrap();
    writeln!(text, "genesis hash    {}", genesis.genesis_hash()).unwrap();
    text
}
