//! The signed hello that turns a QUIC connection into an authenticated peer link.
//!
//! TLS here authenticates nothing (certificates are self-signed and accepted blindly);
//! identity comes from the hello. Each side's first unidirectional stream carries
//!
//! ```text
//! version (u8 = 1) ‖ identity public key (32) ‖ Ed25519 signature (64)
//! ```
//!
//! over `HELLO_SIGNING_DOMAIN ‖ role (u8: 0 client, 1 server) ‖ binding (32) ‖ identity`.
//! `binding` is 32 bytes of TLS 1.3 exported keying material (RFC 8446 §7.5, label
//! [`HELLO_EXPORTER_LABEL`]): both ends of one connection derive the same value, no other
//! connection does, and nobody outside the handshake can compute it. A hello therefore
//! cannot be replayed onto another connection, and a man in the middle (who runs two TLS
//! sessions with different exporters) cannot forward one. The role byte stops a hello
//! from being reflected back to its sender on the same connection.

use aether_crypto::ed25519::{self, Ed25519PublicKey, Ed25519SecretKey, Ed25519Signature};
use thiserror::Error;

/// Hello format version.
pub const HELLO_VERSION: u8 = 1;
/// Bytes in an encoded hello.
pub const HELLO_BYTES: usize = 1 + 32 + 64;
/// Bytes of exported keying material a hello signs.
pub const BINDING_BYTES: usize = 32;
/// Domain tag at the start of every hello signing message.
pub const HELLO_SIGNING_DOMAIN: &[u8] = b"aether.network.hello.v1";
/// TLS exporter label for the connection binding.
pub const HELLO_EXPORTER_LABEL: &[u8] = b"EXPORTER-aether-network-hello-v1";

/// Which end of the QUIC connection signs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The side that opened the connection.
    Client = 0,
    /// The side that accepted it.
    Server = 1,
}

impl Role {
    /// The other end.
    pub fn peer(self) -> Role {
        match self {
            Role::Client => Role::Server,
            Role::Server => Role::Client,
        }
    }
}

/// Why a hello was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum HelloError {
    /// Wrong length or version.
    #[error("malformed hello")]
    Malformed,
    /// The signature does not verify for this connection.
    #[error("hello signature does not verify for this connection")]
    BadSignature,
}

fn signing_message(
    role: Role,
    binding: &[u8; BINDING_BYTES],
    identity: &Ed25519PublicKey,
) -> Vec<u8> {
    let mut message = Vec::with_capacity(HELLO_SIGNING_DOMAIN.len() + 1 + BINDING_BYTES + 32);
    message.extend_from_slice(HELLO_SIGNING_DOMAIN);
    message.push(role as u8);
    message.extend_from_slice(binding);
    message.extend_from_slice(&identity.0);
    message
}

/// The hello `key` sends as `role` on the connection whose binding is `binding`.
pub fn encode_hello(
    key: &Ed25519SecretKey,
    role: Role,
    binding: &[u8; BINDING_BYTES],
) -> [u8; HELLO_BYTES] {
    let identity = key.public_key();
    let signature = key.sign(&signing_message(role, binding, &identity));
    let mut hello = [0u8; HELLO_BYTES];
    hello[0] = HELLO_VERSION;
    hello[1..33].copy_from_slice(&identity.0);
    hello[33..].copy_from_slice(&signature.0);
    hello
}

/// Verifies a hello the peer sent as `role`; returns the peer's identity.
pub fn verify_hello(
    hello: &[u8],
    role: Role,
    binding: &[u8; BINDING_BYTES],
) -> Result<Ed25519PublicKey, HelloError> {
    if hello.len() != HELLO_BYTES || hello[0] != HELLO_VERSION {
        return Err(HelloError::Malformed);
    }
    let identity = Ed25519PublicKey(hello[1..33].try_into().expect("32 bytes"));
    let signature = Ed25519Signature(hello[33..].try_into().expect("64 bytes"));
    ed25519::verify(
        &identity,
        &signing_message(role, binding, &identity),
        &signature,
    )
    .map_err(|_| HelloError::BadSignature)?;
    Ok(identity)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hello_verifies_only_for_its_connection_and_role() {
        let key = Ed25519SecretKey::from_seed(&[7; 32]);
        let binding = [1u8; BINDING_BYTES];
        let hello = encode_hello(&key, Role::Client, &binding);
        assert_eq!(
            verify_hello(&hello, Role::Client, &binding),
            Ok(key.public_key())
        );
        assert_eq!(
            verify_hello(&hello, Role::Client, &[2u8; BINDING_BYTES]),
            Err(HelloError::BadSignature),
            "replayed onto another connection"
        );
        assert_eq!(
            verify_hello(&hello, Role::Server, &binding),
            Err(HelloError::BadSignature),
            "reflected back"
        );
        let mut forged = hello;
        forged[1..33].copy_from_slice(&Ed25519SecretKey::from_seed(&[8; 32]).public_key().0);
        assert_eq!(
            verify_hello(&forged, Role::Client, &binding),
            Err(HelloError::BadSignature)
        );
        assert_eq!(
            verify_hello(&hello[1..], Role::Client, &binding),
            Err(HelloError::Malformed)
        );
        let mut wrong_version = hello;
        wrong_version[0] = 2;
        assert_eq!(
            verify_hello(&wrong_version, Role::Client, &binding),
            Err(HelloError::Malformed)
        );
    }
}
