//! The client side of Aether: what wallets, `aetherctl` and benchmarks use to talk to
//! a node.
//!
//! - [`rpc`]: a small blocking JSON-RPC 2.0 client over HTTP/1.1 (plain `http://`,
//!   one connection per call, timeouts on connect, read and write) with typed
//!   wrappers for the node's methods.
//! - [`wallet`]: wallet files (an Ed25519 key, created mode 0600 and never
//!   overwritten) and addresses (the hex BLAKE3 hash of the public key, which is what
//!   a public-key lock holds).

pub mod rpc;
pub mod wallet;

pub use rpc::{ClientError, RpcClient, TransactionState};
pub use wallet::{Wallet, WalletError, address_of};
