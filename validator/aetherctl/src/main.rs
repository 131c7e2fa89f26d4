//! `aetherctl`: the Aether operator CLI.
//!
//! - `aetherctl keys new --out DIR` / `aetherctl keys show DIR`: validator key sets.
//! - `aetherctl cluster init --validators N --out DIR` / `aetherctl cluster show FILE`:
//!   a cluster's key directories, faucet wallet and genesis file (`aether-genesis`).
//! - `aetherctl crypto [--batch N]`: the JSON-lines conformance tool for the crypto
//!   primitives (one output line per input line, in order).
//! - `aetherctl self-check`: known-answer tests of every primitive on this host.
//! - `aetherctl snapshot create|verify|load`: state snapshots of a stopped node.
//! - `aetherctl wallet new`, `address`, `balance`, `airdrop`, `transfer`, `status`:
//!   wallets and a running node, over JSON-RPC (`--rpc URL`, default
//!   http://127.0.0.1:8899). Amounts are AETH base units.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod cluster_command;
mod crypto_tool;
mod hex_field;
mod keys;
mod self_check;
mod snapshot_command;
mod wallet_command;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(name = "aetherctl", version, about = "Aether operator CLI")]
struct Cli {
    /// The node's JSON-RPC URL (for commands that talk to a node).
    #[arg(long, global = true, default_value = "http://127.0.0.1:8899")]
    rpc: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Generate or inspect a validator's key set.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Create or inspect a cluster: per-validator key directories, a faucet wallet and
    /// the genesis file.
    Cluster {
        #[command(subcommand)]
        command: ClusterCommand,
    },
    /// Known-answer tests of every primitive on this host; exits non-zero on a mismatch.
    SelfCheck,
    /// State snapshots of a stopped node's ledger.
    Snapshot {
        #[command(subcommand)]
        command: SnapshotCommand,
    },
    /// Crypto conformance tool: JSON lines on stdin, one JSON line per input on stdout.
    Crypto {
        /// Ed25519 verifications are collected into batches of this many signatures and
        /// verified through the validator's signature-verification backend.
        #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u64).range(1..=65536))]
        batch: u64,
        /// Signature-verification backend: cpu, wgpu, cuda or auto.
        #[arg(long, default_value = "cpu")]
        backend: aether_kernels::BackendKind,
    },
    /// Wallet files.
    Wallet {
        #[command(subcommand)]
        command: WalletCommand,
    },
    /// Print the address of a wallet file.
    Address {
        /// The wallet file.
        #[arg(long)]
        keypair: PathBuf,
    },
    /// Print an address's balance (AETH base units).
    Balance {
        /// The address.
        address: String,
    },
    /// Ask a dev or devnet node's faucet for AETH and wait until it lands.
    Airdrop {
        /// The receiving address.
        address: String,
        /// AETH base units.
        amount: u64,
    },
    /// Send AETH from a wallet; waits until the transfer is included unless --no-wait.
    Transfer {
        /// The paying wallet file.
        #[arg(long)]
        keypair: PathBuf,
        /// The receiving address.
        #[arg(long)]
        to: String,
        /// AETH base units.
        #[arg(long)]
        amount: u64,
        /// Return after sending, with the transaction id.
        #[arg(long)]
        no_wait: bool,
    },
    /// The node's slot, finalized slot, TPS (over one second) and queue depths.
    Status {
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum ClusterCommand {
    /// Create DIR/node-0 .. DIR/node-(N-1) key sets (as `keys new`), DIR/faucet.json
    /// (as `wallet new`) and DIR/genesis.json; prints the genesis hash. Refuses to
    /// overwrite any existing file.
    Init {
        /// The cluster directory (created if missing).
        #[arg(long)]
        out: PathBuf,
        #[command(flatten)]
        options: cluster_command::InitOptions,
    },
    /// Validate a genesis file and print its validators, stakes and genesis hash.
    Show {
        /// The genesis file.
        file: PathBuf,
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum WalletCommand {
    /// Create a wallet file (mode 0600, never overwritten) and print its address.
    New {
        /// The wallet file to create.
        #[arg(long)]
        out: PathBuf,
    },
}

#[derive(Subcommand)]
enum SnapshotCommand {
    /// Write the state at the latest finalized slot of a stopped node's ledger.
    Create {
        /// The node's ledger directory.
        #[arg(long)]
        ledger: PathBuf,
        /// The snapshot file to write.
        #[arg(long)]
        out: PathBuf,
    },
    /// Check a snapshot completely (header, every entry, digest, state root).
    Verify {
        /// The snapshot file.
        file: PathBuf,
    },
    /// Load a snapshot into an empty ledger, verifying it first.
    Load {
        /// The snapshot file.
        file: PathBuf,
        /// The (empty or new) ledger directory.
        #[arg(long)]
        ledger: PathBuf,
    },
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Create identity, vote (BLS + proof of possession), VRF and KES keys and an
    /// operational certificate in DIR (files mode 0600; existing keys are never
    /// overwritten).
    New {
        /// Directory for the key files (created if missing).
        #[arg(long)]
        out: PathBuf,
        /// KES tree depth: the key lasts 2^depth periods.
        #[arg(long, default_value_t = aether_crypto::kes::KES_DEPTH_DEFAULT)]
        kes_depth: u32,
    },
    /// Print the public parts of the key set in DIR, after checking it is consistent.
    Show {
        /// Directory holding the key files.
        dir: PathBuf,
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let rpc = || aether_client::RpcClient::new(&cli.rpc).map_err(anyhow::Error::from);
    let outcome = match cli.command {
        Command::Keys {
            command: KeysCommand::New { out, kes_depth },
        } => keys::create(&out, kes_depth).map(|summary| print!("{summary}")),
        Command::Keys {
            command: KeysCommand::Show { dir, json },
        } => keys::show(&dir, json).map(|text| print!("{text}")),
        Command::Cluster { command } => match command {
            ClusterCommand::Init { out, options } => cluster_command::init(&out, &options),
            ClusterCommand::Show { file, json } => cluster_command::show(&file, json),
        }
        .map(|text| print!("{text}")),
        Command::SelfCheck => self_check::run().map(|report| print!("{report}")),
        Command::Snapshot { command } => match command {
            SnapshotCommand::Create { ledger, out } => snapshot_command::create(&ledger, &out),
            SnapshotCommand::Verify { file } => snapshot_command::verify(&file),
            SnapshotCommand::Load { file, ledger } => snapshot_command::load(&file, &ledger),
        }
        .map(|text| print!("{text}")),
        Command::Crypto { batch, backend } => {
            let batch = usize::try_from(batch).expect("batch is at most 65536");
            crypto_tool::run(batch, backend)
        }
        Command::Wallet {
            command: WalletCommand::New { out },
        } => wallet_command::wallet_new(&out).map(|text| print!("{text}")),
        Command::Address { keypair } => {
            wallet_command::address(&keypair).map(|text| print!("{text}"))
        }
        Command::Balance { address } => rpc()
            .and_then(|rpc| wallet_command::balance(&rpc, &address))
            .map(|text| print!("{text}")),
        Command::Airdrop { address, amount } => rpc()
            .and_then(|rpc| wallet_command::airdrop(&rpc, &address, amount))
            .map(|text| print!("{text}")),
        Command::Transfer {
            keypair,
            to,
            amount,
            no_wait,
        } => rpc()
            .and_then(|rpc| wallet_command::transfer(&rpc, &keypair, &to, amount, !no_wait))
            .map(|text| print!("{text}")),
        Command::Status { json } => rpc()
            .and_then(|rpc| wallet_command::status(&rpc, json))
            .map(|text| print!("{text}")),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
