//! Wallet and chain commands that talk to a node over JSON-RPC: `wallet new`,
//! `address`, `balance`, `airdrop`, `transfer`, `status`.

use std::path::Path;
use std::time::{Duration, Instant};

use aether_client::{RpcClient, TransactionState, Wallet};
use aether_ledger::{LedgerParams, TransferRequest, build_transfer};
use aether_types::{Hash, Lock, OutputReference, ValidityWindow};
use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

/// Slots a transfer stays valid for.
const VALIDITY_SLOTS: u64 = 300;
/// How long `transfer` waits for inclusion.
const WAIT_TIMEOUT: Duration = Duration::from_secs(60);

fn parse_address(text: &str) -> Result<Hash> {
    text.parse::<Hash>()
        .map_err(|_| anyhow::anyhow!("{text:?} is not an address (64 hex characters)"))
}

pub fn wallet_new(out: &Path) -> Result<String> {
    let wallet = Wallet::create(out)?;
    Ok(format!("{}\n", wallet.address()))
}

pub fn address(keypair: &Path) -> Result<String> {
    Ok(format!("{}\n", Wallet::load(keypair)?.address()))
}

pub fn balance(rpc: &RpcClient, address: &str) -> Result<String> {
    Ok(format!("{}\n", rpc.balance(&parse_address(address)?)?))
}

pub fn airdrop(rpc: &RpcClient, address: &str, amount: u64) -> Result<String> {
    let id = rpc.airdrop(&parse_address(address)?, amount)?;
    describe_wait(rpc, &id)
}

fn describe_wait(rpc: &RpcClient, id: &Hash) -> Result<String> {
    match rpc.wait_for(id, WAIT_TIMEOUT)? {
        TransactionState::Finalized { slot } => Ok(format!("{id} finalized in slot {slot}\n")),
        TransactionState::Rejected { reason } => bail!("{id} rejected: {reason}"),
        TransactionState::Unknown => bail!(
            "{id} not included after {} s (it may still land before its validity window ends)",
            WAIT_TIMEOUT.as_secs()
        ),
    }
}

/// Picks inputs, largest first, until they cover `amount` plus a generous fee bound.
fn select_inputs(
    mut available: Vec<(OutputReference, u64)>,
    amount: u64,
) -> Vec<(OutputReference, u64)> {
    available.sort_by_key(|(_, value)| std::cmp::Reverse(*value));
    let target =
        amount.saturating_add(aether_types::transaction::MAX_WIRE_TRANSACTION_BYTES as u64 * 4);
    let mut chosen = Vec::new();
    let mut total = 0u64;
    for input in available
        .into_iter()
        .take(aether_types::transaction::MAX_TRANSACTION_INPUTS)
    {
        total = total.saturating_add(input.1);
        chosen.push(input);
        if total >= target {
            break;
        }
    }
    chosen
}

pub fn transfer(
    rpc: &RpcClient,
    keypair: &Path,
    to: &str,
    amount: u64,
    wait: bool,
) -> Result<String> {
    let wallet = Wallet::load(keypair)?;
    let to = parse_address(to)?;
    let inputs = select_inputs(rpc.utxos(&wallet.address())?, amount);
    if inputs.is_empty() {
        bail!("{} has no funds", wallet.address());
    }
    let slot = rpc.slot("finalized")?;
    let transaction = build_transfer(&TransferRequest {
        inputs: &inputs,
        signer: &wallet.key,
        to: Lock::PublicKeyHash(to),
        amount,
        params: LedgerParams::DEFAULT,
        validity: ValidityWindow {
            first_slot: slot,
            last_slot: slot + VALIDITY_SLOTS,
        },
    })
    .context("building the transfer")?;
    let id = rpc.send_transaction(&transaction)?;
    if !wait {
        return Ok(format!("{id}\n"));
    }
    describe_wait(rpc, &id)
}

pub fn status(rpc: &RpcClient, as_json: bool) -> Result<String> {
    let first = rpc.call("getStatus", json!([]))?;
    let started = Instant::now();
    std::thread::sleep(Duration::from_secs(1));
    let second = rpc.call("getStatus", json!([]))?;
    let committed = |status: &Value| status["committed_transactions"].as_u64().unwrap_or(0);
    let tps = (committed(&second).saturating_sub(committed(&first))) as f64
        / started.elapsed().as_secs_f64();
    let mut report = second.clone();
    report["tps"] = json!((tps * 10.0).round() / 10.0);
    if as_json {
        return Ok(format!("{report}\n"));
    }
    let mut text = format!(
        "slot            {}\nfinalized slot  {}\ntps             {:.1}\nmempool         {}\n",
        second["slot"], second["finalized_slot"], tps, second["mempool_depth"]
    );
    if let Some(queues) = second["queues"].as_object() {
        for (name, queue) in queues {
            text.push_str(&format!(
                "queue {name:<18} {}/{} (dropped {})\n",
                queue["depth"], queue["capacity"], queue["dropped"]
            ));
        }
    }
    Ok(text)
}
