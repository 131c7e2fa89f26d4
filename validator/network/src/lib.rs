//! Validator-to-validator messaging over QUIC, and gossip for membership.
//!
//! # Protocol
//!
//! **Transport.** Each validator runs one quinn endpoint ([`NetworkEndpoint`]) that is
//! both server and client, with a fresh self-signed certificate and ALPN `aether-net/1`
//! (`tls.rs`). TLS gives confidentiality and a per-connection secret; it authenticates
//! nobody.
//!
//! **Hello** (`hello.rs`). Each side's first unidirectional stream carries
//! `version ‖ identity key ‖ Ed25519 signature` over
//! `"aether.network.hello.v1" ‖ role ‖ TLS exporter (32 bytes) ‖ identity`. The exporter
//! value is unique to the connection, so a hello cannot be replayed onto another
//! connection or relayed by a man in the middle; the role byte stops reflection. The
//! server closes connections whose identity is not in the allowed set ([`Membership`])
//! and counts `unknown_peer`; a client checks the server is the identity it dialled.
//!
//! **Framing** (`frame.rs`). One message per unidirectional stream:
//! `kind (u8) ‖ length (u32 LE) ‖ payload`, the stream ending right after the payload.
//! The receiver checks the kind and the length against that kind's maximum before
//! reading the payload. Unknown kinds, oversize and malformed frames are counted drops.
//! Payloads are opaque bytes for the consumer, except gossip.
//!
//! **Queues** (`endpoint.rs`). [`NetworkEndpoint::send`] never waits: it puts the
//! message in the destination's bounded outbound queue (full: `outbound_queue_full`).
//! One task per peer connects lazily to the address in the membership, retries with
//! exponential backoff, and writes each message on its own stream. Every received
//! message goes to one bounded channel for the consumer (gossip to its own bounded
//! channel); full: `inbound_queue_full`.
//!
//! **Gossip** (`contact_info.rs`, `gossip.rs`). Signed [`ContactInfo`] records (newest
//! wallclock wins) in a bounded [`GossipTable`]; each round pulls from entrypoints and
//! pushes to a few random peers. Admitted records feed the membership's address book.
//!
//! # Invariants
//!
//! - Every queue, table and per-connection resource has a bound: channels are bounded,
//!   concurrent streams per connection are capped by QUIC flow control, payloads over
//!   [`endpoint::LARGE_PAYLOAD_BYTES`] hold one of a few per-connection permits, the
//!   gossip table holds at most `table_entries_max` records of allowed identities.
//! - Bad input from the network is a counted drop ([`DropReason`]), never a panic and
//!   never a log line per message.
//! - A message handed to the consumer carries the identity proven by its connection's
//!   hello, and that identity was in the allowed set when the connection opened.
//! - This crate does not know consensus or shreds: it does not decode payloads other than
//!   gossip, and it does not decide who is a validator (the node updates [`Membership`]).

pub mod contact_info;
pub mod endpoint;
pub mod frame;
pub mod gossip;
pub mod hello;
pub mod membership;
pub mod metrics;
mod tls;

#[cfg(test)]
mod tests;

pub use contact_info::{ContactInfo, GossipMessage, SignedContactInfo};
pub use endpoint::{
    EndpointConfig, EndpointReceivers, InboundMessage, NetworkEndpoint, NetworkError, SendError,
};
pub use frame::{FrameError, MessageKind};
pub use gossip::{GossipConfig, GossipError, GossipService, GossipTable, start_gossip};
pub use membership::Membership;
pub use metrics::{DropReason, NetworkMetrics};
pub use tls::NETWORK_ALPN;
