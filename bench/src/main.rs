//! `aether-bench`: end-to-end measurements of Aether's components, one JSON object per
//! run with `--json`.
//!
//! - `aether-bench accounts`: the accounts-db at scale (updates per second, Merkle root
//!   cost per key, durable commit cost per key, read latency percentiles).

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod accounts;
mod random;

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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Accounts(arguments) => accounts::run(&arguments),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
