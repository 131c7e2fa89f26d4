//! A blocking JSON-RPC 2.0 client over HTTP/1.1.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use aether_types::{Hash, OutputReference, Transaction};
use base64::Engine;
use serde_json::{Value, json};
use thiserror::Error;

/// Largest response accepted.
const RESPONSE_BYTES_MAX: usize = 16 << 20;

/// A call failed.
#[derive(Debug, Error)]
pub enum ClientError {
    /// The node answered with a JSON-RPC error.
    #[error("RPC error {code}: {message}")]
    Rpc {
        /// Error code (-32003: transaction rejected).
        code: i64,
        /// Message (for -32003, the reason).
        message: String,
    },
    /// Could not reach the node or the connection broke.
    #[error("cannot reach {url}: {reason}")]
    Transport {
        /// Endpoint.
        url: String,
        /// Cause.
        reason: String,
    },
    /// The reply is not what the protocol promises.
    #[error("unexpected reply from {url}: {reason}")]
    Protocol {
        /// Endpoint.
        url: String,
        /// What was wrong.
        reason: String,
    },
    /// The URL is not `http://host:port[/path]`.
    #[error("unsupported RPC URL {0:?}: use http://HOST:PORT")]
    BadUrl(String),
}

/// Where a transaction stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransactionState {
    /// In a final block at this slot.
    Finalized {
        /// The block's slot.
        slot: u64,
    },
    /// Refused, with the reason.
    Rejected {
        /// Why.
        reason: String,
    },
    /// Not known (yet).
    Unknown,
}

/// A JSON-RPC client for one node.
#[derive(Debug, Clone)]
pub struct RpcClient {
    url: String,
    host: String,
    path: String,
    timeout: Duration,
}

impl RpcClient {
    /// A client for `url` (`http://HOST:PORT[/PATH]`).
    pub fn new(url: &str) -> Result<RpcClient, ClientError> {
        let rest = url
            .strip_prefix("http://")
            .ok_or_else(|| ClientError::BadUrl(url.to_owned()))?;
        let (host, path) = match rest.find('/') {
            Some(slash) => (&rest[..slash], &rest[slash..]),
            None => (rest, "/"),
        };
        if host.is_empty() {
            return Err(ClientError::BadUrl(url.to_owned()));
        }
        Ok(RpcClient {
            url: url.to_owned(),
            host: host.to_owned(),
            path: path.to_owned(),
            timeout: Duration::from_secs(10),
        })
    }

    fn transport(&self, reason: impl ToString) -> ClientError {
        ClientError::Transport {
            url: self.url.clone(),
            reason: reason.to_string(),
        }
    }

    fn protocol(&self, reason: impl ToString) -> ClientError {
        ClientError::Protocol {
            url: self.url.clone(),
            reason: reason.to_string(),
        }
    }

    fn post(&self, body: &[u8]) -> Result<Vec<u8>, ClientError> {
        let address = self
            .host
            .to_socket_addrs()
            .map_err(|error| self.transport(error))?
            .next()
            .ok_or_else(|| self.transport("host has no address"))?;
        let mut stream = TcpStream::connect_timeout(&address, self.timeout)
            .map_err(|error| self.transport(error))?;
        stream
            .set_read_timeout(Some(self.timeout))
            .map_err(|error| self.transport(error))?;
        stream
            .set_write_timeout(Some(self.timeout))
            .map_err(|error| self.transport(error))?;
        let head = format!(
            "POST {} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            self.path,
            self.host,
            body.len()
        );
        stream
            .write_all(head.as_bytes())
            .map_err(|error| self.transport(error))?;
        stream
            .write_all(body)
            .map_err(|error| self.transport(error))?;
        let mut reader = BufReader::new(stream);
        let mut status_line = String::new();
        reader
            .read_line(&mut status_line)
            .map_err(|error| self.transport(error))?;
        let status: u16 = status_line
            .split_whitespace()
            .nth(1)
            .and_then(|code| code.parse().ok())
            .ok_or_else(|| self.protocol(format!("bad status line {status_line:?}")))?;
        let mut content_length = None;
        loop {
            let mut line = String::new();
            reader
                .read_line(&mut line)
                .map_err(|error| self.transport(error))?;
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                content_length = value.trim().parse::<usize>().ok();
            }
        }
        let length = content_length.ok_or_else(|| self.protocol("no content-length"))?;
        if length > RESPONSE_BYTES_MAX {
            return Err(self.protocol(format!("response of {length} bytes is too large")));
        }
        let mut response = vec![0; length];
        reader
            .read_exact(&mut response)
            .map_err(|error| self.transport(error))?;
        if status != 200 {
            return Err(self.protocol(format!(
                "HTTP {status}: {}",
                String::from_utf8_lossy(&response).trim()
            )));
        }
        Ok(response)
    }

    /// Calls `method` with `params`; returns the reply's JSON bytes as they came, for a
    /// caller that parses a large result itself (an error reply is not an `Err` here).
    pub fn call_raw(&self, method: &str, params: Value) -> Result<Vec<u8>, ClientError> {
        let request = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
        self.post(request.to_string().as_bytes())
    }

    /// Calls `method` with `params`; returns the result or the node's error.
    pub fn call(&self, method: &str, params: Value) -> Result<Value, ClientError> {
        let reply = self.call_raw(method, params)?;
        let mut reply: Value =
            serde_json::from_slice(&reply).map_err(|error| self.protocol(error))?;
        if let Some(error) = reply.get("error") {
            return Err(ClientError::Rpc {
                code: error.get("code").and_then(Value::as_i64).unwrap_or(0),
                message: error
                    .get("message")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned(),
            });
        }
        reply
            .get_mut("result")
            .map(Value::take)
            .ok_or_else(|| self.protocol("reply has neither result nor error"))
    }

    fn expect<T>(&self, value: Option<T>, what: &str) -> Result<T, ClientError> {
        value.ok_or_else(|| self.protocol(format!("expected {what}")))
    }

    /// `getSlot` with `commitment` (`processed` or `finalized`).
    pub fn slot(&self, commitment: &str) -> Result<u64, ClientError> {
        let value = self.call("getSlot", json!([{"commitment": commitment}]))?;
        self.expect(value.as_u64(), "a slot number")
    }

    /// `getBalance`.
    pub fn balance(&self, address: &Hash) -> Result<u64, ClientError> {
        let value = self.call("getBalance", json!([address.to_string()]))?;
        self.expect(value.as_u64(), "a balance")
    }

    /// `getUtxos`: `(reference, amount)` pairs.
    pub fn utxos(&self, address: &Hash) -> Result<Vec<(OutputReference, u64)>, ClientError> {
        let value = self.call("getUtxos", json!([address.to_string()]))?;
        let entries = self.expect(value.as_array(), "an array of outputs")?;
        entries
            .iter()
            .map(|entry| {
                let transaction_id = entry
                    .get("transaction_id")
                    .and_then(Value::as_str)
                    .and_then(|text| text.parse::<Hash>().ok());
                let index = entry
                    .get("index")
                    .and_then(Value::as_u64)
                    .and_then(|index| u16::try_from(index).ok());
                let amount = entry.get("amount").and_then(Value::as_u64);
                match (transaction_id, index, amount) {
                    (Some(transaction_id), Some(index), Some(amount)) => Ok((
                        OutputReference {
                            transaction_id,
                            index,
                        },
                        amount,
                    )),
                    _ => Err(self.protocol("malformed output entry")),
                }
            })
            .collect()
    }

    /// `sendTransaction`; returns the id.
    pub fn send_transaction(&self, transaction: &Transaction) -> Result<Hash, ClientError> {
        let wire = transaction
            .to_wire()
            .map_err(|error| self.protocol(format!("transaction cannot be sent: {error}")))?;
        self.send_wire(&wire)
    }

    /// `sendTransaction` with raw wire bytes (may be malformed on purpose in tests).
    pub fn send_wire(&self, wire: &[u8]) -> Result<Hash, ClientError> {
        let encoded = base64::engine::general_purpose::STANDARD.encode(wire);
        let value = self.call("sendTransaction", json!([encoded]))?;
        self.expect(
            value.as_str().and_then(|text| text.parse().ok()),
            "a transaction id",
        )
    }

    /// `requestAirdrop`; returns the id.
    pub fn airdrop(&self, address: &Hash, amount: u64) -> Result<Hash, ClientError> {
        let value = self.call("requestAirdrop", json!([address.to_string(), amount]))?;
        self.expect(
            value.as_str().and_then(|text| text.parse().ok()),
            "a transaction id",
        )
    }

    /// `getTransaction`.
    pub fn transaction_state(&self, id: &Hash) -> Result<TransactionState, ClientError> {
        let value = self.call("getTransaction", json!([id.to_string()]))?;
        if value.is_null() {
            return Ok(TransactionState::Unknown);
        }
        match value.get("status").and_then(Value::as_str) {
            Some("finalized") => Ok(TransactionState::Finalized {
                slot: self.expect(value.get("slot").and_then(Value::as_u64), "a slot")?,
            }),
            Some("rejected") => Ok(TransactionState::Rejected {
                reason: value
                    .get("error")
                    .and_then(Value::as_str)
                    .unwrap_or("unknown")
                    .to_owned(),
            }),
            _ => Err(self.protocol("unknown transaction status")),
        }
    }

    /// Polls `getTransaction` until the transaction is final or rejected, or
    /// `timeout` passes (then [`TransactionState::Unknown`]).
    pub fn wait_for(&self, id: &Hash, timeout: Duration) -> Result<TransactionState, ClientError> {
        let deadline = Instant::now() + timeout;
        loop {
            let state = self.transaction_state(id)?;
            if state != TransactionState::Unknown || Instant::now() >= deadline {
                return Ok(state);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_checked() {
        assert!(RpcClient::new("http://127.0.0.1:8899").is_ok());
        assert!(matches!(
            RpcClient::new("https://node:8899"),
            Err(ClientError::BadUrl(_))
        ));
        assert!(matches!(
            RpcClient::new("http:///x"),
            Err(ClientError::BadUrl(_))
        ));
    }

    #[test]
    fn a_closed_port_is_a_transport_error() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let address = listener.local_addr().expect("address");
        drop(listener);
        let client = RpcClient::new(&format!("http://{address}")).expect("url");
        assert!(matches!(
            client.slot("finalized"),
            Err(ClientError::Transport { .. })
        ));
    }
}
