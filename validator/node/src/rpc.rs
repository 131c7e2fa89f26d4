//! JSON-RPC 2.0 methods (a contract: tools and benchmarks call them by name).
//!
//! | method | params | result |
//! |---|---|---|
//! | getHealth | – | `"ok"` |
//! | getVersion | – | `{aether_version, shred_version}` |
//! | getSlot | `[{"commitment": "processed"\|"finalized"}]` (default finalized) | slot |
//! | sendTransaction | `[base64 wire transaction]` | id (hex) |
//! | getTransaction | `[id]` | `{slot, status, error}` or null |
//! | getBalance | `[address]` | AETH base units |
//! | getUtxos | `[address]` | `[{transaction_id, index, amount}]` |
//! | getBlock | `[slot]` | `{slot, hash, parent, parent_slot, state_root, transactions}` or null |
//! | getStateRoot | `[slot]` | hex or null |
//! | requestAirdrop | `[address, amount]` | id (hex); dev/devnet only |
//! | getValidators | – | `[{name, identity, stake, last_vote_round, skipped_slots}]` from the genesis, the final chain and the votes this validator verified (empty on a single-node chain) |
//! | getStatus | – | `{slot, finalized_slot, committed_transactions, mempool_depth, queues}`, plus `round`, `next_leader` (validator index), `last_vote_round`, `peers` on a cluster validator |
//!
//! An address is the hex BLAKE3 hash of an Ed25519 public key (the lock's hash).
//! Errors: -32700 parse error, -32600 invalid request, -32601 unknown method,
//! -32602 invalid params, -32003 transaction rejected (with the reason),
//! -32005 node overloaded.

use std::sync::{Arc, RwLock};

use aether_accounts_db::AccountsDb;
use aether_blockstore::{Blockstore, TransactionOutcome};
use aether_crypto::ed25519::{self, Ed25519PublicKey, Ed25519Signature};
use aether_ledger::{LedgerParams, StateValue, StateView, execute_transaction};
use aether_pipeline::chain::ChainState;
use aether_pipeline::link::{Link, LinkStats};
use aether_pipeline::packet::{Packet, PacketBatch};
use aether_types::{Hash, Transaction};
use base64::Engine;
use serde_json::{Value, json};

use crate::faucet::Faucet;

/// Most requests in one batch.
pub const BATCH_REQUESTS_MAX: usize = 256;

/// What the RPC methods read and where they send transactions.
pub struct RpcContext {
    /// Chain status and the address index.
    pub chain: Arc<ChainState>,
    /// Account state (for admission checks).
    pub accounts: Arc<RwLock<AccountsDb>>,
    /// Blocks and transaction statuses.
    pub blockstore: Arc<Blockstore>,
    /// The pipeline's entrance (fetch_sigverify).
    pub ingress: Link<PacketBatch>,
    /// Ledger parameters.
    pub params: LedgerParams,
    /// Shred version.
    pub shred_version: u16,
    /// The faucet, on dev chains.
    pub faucet: Option<Faucet>,
    /// Link counters for getStatus.
    pub link_stats: Arc<dyn Fn() -> Vec<LinkStats> + Send + Sync>,
    /// Consensus fields for getStatus (`peers`, `last_vote_round`, `round`), in
    /// cluster mode.
    pub consensus_status: Option<Arc<dyn Fn() -> serde_json::Map<String, Value> + Send + Sync>>,
    /// The validator list for getValidators, in cluster mode.
    pub validators: Option<Arc<dyn Fn() -> Value + Send + Sync>>,
}

struct RpcError {
    code: i64,
    message: String,
}

fn error(code: i64, message: impl Into<String>) -> RpcError {
    RpcError {
        code,
        message: message.into(),
    }
}

fn invalid_params(message: impl Into<String>) -> RpcError {
    error(-32602, message)
}

fn rejected(message: impl Into<String>) -> RpcError {
    error(-32003, message)
}

fn response(id: Value, result: Result<Value, RpcError>) -> Value {
    match result {
        Ok(result) => json!({"jsonrpc": "2.0", "id": id, "result": result}),
        Err(RpcError { code, message }) => {
            json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}})
        }
    }
}

/// Handles one HTTP body: a request or a batch. Returns the response body, or `None`
/// when every request was a notification (no id).
pub fn handle_body(context: &RpcContext, body: &[u8]) -> Option<Value> {
    let parsed: Value = match serde_json::from_slice(body) {
        Ok(value) => value,
        Err(parse) => {
            return Some(response(
                Value::Null,
                Err(error(-32700, format!("parse error: {parse}"))),
            ));
        }
    };
    match parsed {
        Value::Array(requests) if requests.is_empty() => {
            Some(response(Value::Null, Err(error(-32600, "empty batch"))))
        }
        Value::Array(requests) if requests.len() > BATCH_REQUESTS_MAX => Some(response(
            Value::Null,
            Err(error(
                -32600,
                format!("batch larger than {BATCH_REQUESTS_MAX} requests"),
            )),
        )),
        Value::Array(requests) => {
            let responses: Vec<Value> = requests
                .into_iter()
                .filter_map(|request| handle_request(context, request))
                .collect();
            (!responses.is_empty()).then_some(Value::Array(responses))
        }
        request => handle_request(context, request),
    }
}

fn handle_request(context: &RpcContext, request: Value) -> Option<Value> {
    let Value::Object(request) = request else {
        return Some(response(
            Value::Null,
            Err(error(-32600, "a request must be an object")),
        ));
    };
    let id = request.get("id").cloned();
    let valid = request.get("jsonrpc").and_then(Value::as_str) == Some("2.0");
    let method = request.get("method").and_then(Value::as_str);
    let (true, Some(method)) = (valid, method) else {
        return Some(response(
            id.unwrap_or(Value::Null),
            Err(error(
                -32600,
                "invalid request: needs jsonrpc \"2.0\" and a method",
            )),
        ));
    };
    let params = match request.get("params") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(params)) => params.clone(),
        Some(_) => {
            return Some(response(
                id.unwrap_or(Value::Null),
                Err(invalid_params("params must be an array")),
            ));
        }
    };
    let result = dispatch(context, method, &params);
    id.map(|id| response(id, result))
}

fn dispatch(context: &RpcContext, method: &str, params: &[Value]) -> Result<Value, RpcError> {
    match method {
        "getHealth" => Ok(json!("ok")),
        "getVersion" => Ok(json!({
            "aether_version": env!("CARGO_PKG_VERSION"),
            "shred_version": context.shred_version,
        })),
        "getSlot" => get_slot(context, params),
        "sendTransaction" => send_transaction(context, params),
        "getTransaction" => get_transaction(context, params),
        "getBalance" => {
            let address = hash_param(params, 0, "address")?;
            let index = context.chain.addresses.read().expect("address index lock");
            Ok(json!(index.balance(&address)))
        }
        "getUtxos" => {
            let address = hash_param(params, 0, "address")?;
            let index = context.chain.addresses.read().expect("address index lock");
            let outputs: Vec<Value> = index
                .outputs(&address)
                .into_iter()
                .map(|(reference, amount)| {
                    json!({
                        "transaction_id": reference.transaction_id.to_string(),
                        "index": reference.index,
                        "amount": amount,
                    })
                })
                .collect();
            Ok(Value::Array(outputs))
        }
        "getBlock" => get_block(context, params),
        "getStateRoot" => {
            let slot = u64_param(params, 0, "slot")?;
            let meta = context
                .blockstore
                .block_meta(slot)
                .map_err(|failure| error(-32005, failure.to_string()))?;
            Ok(meta.map_or(Value::Null, |meta| json!(meta.state_root.to_string())))
        }
        "requestAirdrop" => request_airdrop(context, params),
        "getStatus" => Ok(status(context)),
        "getValidators" => Ok(context
            .validators
            .as_ref()
            .map_or_else(|| json!([]), |validators| validators())),
        other => Err(error(-32601, format!("method not found: {other}"))),
    }
}

fn param<'a>(params: &'a [Value], index: usize, name: &str) -> Result<&'a Value, RpcError> {
    params
        .get(index)
        .ok_or_else(|| invalid_params(format!("missing parameter {index} ({name})")))
}

fn hash_param(params: &[Value], index: usize, name: &str) -> Result<Hash, RpcError> {
    param(params, index, name)?
        .as_str()
        .and_then(|text| text.parse::<Hash>().ok())
        .ok_or_else(|| invalid_params(format!("{name} must be 64 hex characters")))
}

fn u64_param(params: &[Value], index: usize, name: &str) -> Result<u64, RpcError> {
    param(params, index, name)?
        .as_u64()
        .ok_or_else(|| invalid_params(format!("{name} must be a non-negative integer")))
}

fn get_slot(context: &RpcContext, params: &[Value]) -> Result<Value, RpcError> {
    let commitment = match params.first() {
        None => "finalized",
        Some(options) => options
            .get("commitment")
            .and_then(Value::as_str)
            .ok_or_else(|| {
                invalid_params("expected {\"commitment\": \"processed\"|\"finalized\"}")
            })?,
    };
    match commitment {
        "processed" => Ok(json!(context.chain.processed_slot())),
        "finalized" => Ok(json!(context.chain.finalized_slot())),
        other => Err(invalid_params(format!(
            "unknown commitment {other:?}; use processed or finalized"
        ))),
    }
}

/// State at the last finalized block (admission checks).
struct FinalizedView<'a> {
    accounts: &'a AccountsDb,
    at: Hash,
}

impl StateView for FinalizedView<'_> {
    fn get(&self, key: &Hash) -> Option<StateValue> {
        self.accounts.get(&self.at, key).ok().flatten()
    }
}

/// Checks what can be checked before the pipeline (format, signatures, ledger rules
/// on the last finalized state), so the caller hears the reason at once.
fn admit(context: &RpcContext, transaction: &Transaction, id: Hash) -> Result<(), RpcError> {
    if transaction.signatures.is_empty() {
        return Err(rejected("transaction has no signature"));
    }
    for signature in &transaction.signatures {
        ed25519::verify(
            &Ed25519PublicKey(signature.public_key),
            id.as_bytes(),
            &Ed25519Signature(signature.signature),
        )
        .map_err(|_| {
            rejected(format!(
                "signature by {} does not verify",
                hex::encode(signature.public_key)
            ))
        })?;
    }
    let accounts = context.accounts.read().expect("accounts lock");
    let last = accounts.last_finalized();
    let view = FinalizedView {
        accounts: &accounts,
        at: last.hash,
    };
    execute_transaction(&view, transaction, id, last.slot + 1, &context.params)
        .map(|_| ())
        .map_err(|reason| rejected(reason.to_string()))
}

fn submit(context: &RpcContext, wire: &[u8]) -> Result<(), RpcError> {
    let packet = Packet::from_bytes(wire, None)
        .ok_or_else(|| rejected("transaction is larger than one packet"))?;
    let mut batch = PacketBatch::with_capacity();
    batch.packets.push(packet);
    context.ingress.push(batch, || false).map_err(|_| {
        error(
            -32005,
            "node is overloaded (sigverify queue full); retry later",
        )
    })
}

fn send_transaction(context: &RpcContext, params: &[Value]) -> Result<Value, RpcError> {
    let encoded = param(params, 0, "transaction")?
        .as_str()
        .ok_or_else(|| invalid_params("transaction must be a base64 string"))?;
    let wire = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .map_err(|failure| invalid_params(format!("transaction is not base64: {failure}")))?;
    let transaction = Transaction::from_wire(&wire)
        .map_err(|failure| rejected(format!("malformed transaction: {failure}")))?;
    let id = transaction.transaction_id();
    if let Err(failure) = admit(context, &transaction, id) {
        context.chain.record_rejection(id, failure.message.clone());
        return Err(failure);
    }
    submit(context, &wire)?;
    Ok(json!(id.to_string()))
}

fn get_transaction(context: &RpcContext, params: &[Value]) -> Result<Value, RpcError> {
    let id = hash_param(params, 0, "transaction id")?;
    if let Some(status) = context
        .blockstore
        .transaction_status(&id)
        .map_err(|failure| error(-32005, failure.to_string()))?
    {
        let error = match status.outcome {
            TransactionOutcome::Succeeded => Value::Null,
            TransactionOutcome::Failed { reason } => json!(reason),
        };
        return Ok(json!({"slot": status.slot, "status": "finalized", "error": error}));
    }
    Ok(context.chain.rejection(&id).map_or(
        Value::Null,
        |reason| json!({"slot": Value::Null, "status": "rejected", "error": reason}),
    ))
}

fn get_block(context: &RpcContext, params: &[Value]) -> Result<Value, RpcError> {
    let slot = u64_param(params, 0, "slot")?;
    let meta = context
        .blockstore
        .block_meta(slot)
        .map_err(|failure| error(-32005, failure.to_string()))?;
    Ok(meta.map_or(Value::Null, |meta| {
        json!({
            "slot": meta.slot,
            "hash": meta.hash.to_string(),
            "parent": meta.parent_hash.to_string(),
            "parent_slot": meta.parent_slot,
            "state_root": meta.state_root.to_string(),
            "transactions": meta.transaction_ids.iter().map(Hash::to_string).collect::<Vec<_>>(),
        })
    }))
}

fn request_airdrop(context: &RpcContext, params: &[Value]) -> Result<Value, RpcError> {
    let faucet = context.faucet.as_ref().ok_or_else(|| {
        error(
            -32601,
            "requestAirdrop is only available on dev and devnet chains",
        )
    })?;
    let address = hash_param(params, 0, "address")?;
    let amount = u64_param(params, 1, "amount")?;
    if amount == 0 {
        return Err(invalid_params("amount must be positive"));
    }
    let slot = context.chain.finalized_slot() + 1;
    let transaction = faucet
        .airdrop(&context.chain, address, amount, slot, context.params)
        .map_err(rejected)?;
    let wire = transaction
        .to_wire()
        .map_err(|failure| rejected(failure.to_string()))?;
    submit(context, &wire)?;
    Ok(json!(transaction.transaction_id().to_string()))
}

fn status(context: &RpcContext) -> Value {
    let queues: serde_json::Map<String, Value> = (context.link_stats)()
        .into_iter()
        .map(|link| {
            (
                link.name.to_owned(),
                json!({"depth": link.depth, "capacity": link.capacity, "dropped": link.dropped_total}),
            )
        })
        .collect();
    let mut status = json!({
        "slot": context.chain.processed_slot(),
        "finalized_slot": context.chain.finalized_slot(),
        "committed_transactions": context.chain.committed_transactions(),
        "mempool_depth": context.chain.mempool_depth(),
        "queues": queues,
    });
    if let (Some(consensus), Some(object)) = (&context.consensus_status, status.as_object_mut()) {
        object.extend(consensus());
    }
    status
}
