//! `aether-bench`: end-to-end measurements of Aether's components, one JSON object per
//! run with `--json`.
//!
//! - `aether-bench accounts`: the accounts-db at scale (updates per second, Merkle root
//!   cost per key, durable commit cost per key, read latency percentiles).
//! - `aether-bench sigverify`: Ed25519 verifies per second of one backend.
//! - `aether-bench tps`: committed transactions per second of a dev node over QUIC,
//!   with latency percentiles and the same-run sigverify baseline.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod accounts;
mod inclusions;
mod random;
mod sigverify;
mod thread_cpu;
mod tps;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(name = "aether-bench", version, about = "Aether component benchmarks")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Accounts-db: load a state, then apply, root and finalize blocks of updates.
    Accounts(accounts::AccountsArguments),
    /// Ed25519 verification throughput of one signature-verification backend.
    Sigverify(sigverify::SigverifyArguments),
    /// End to end: a dev node's committed transactions per second over QUIC, against
    /// the same-run sigverify baseline.
    Tps(tps::TpsArguments),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Accounts(arguments) => accounts::run(&arguments),
        Command::Sigverify(arguments) => sigverify::run(&arguments),
        Command::Tps(arguments) => tps::run(&arguments),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
