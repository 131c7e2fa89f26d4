//! Counters of the network layer: drops by reason, messages sent and received by kind.
//!
//! Counted locally with relaxed atomics (no lock on the data path) and rendered as
//! Prometheus text. Labels are stable: renaming one breaks dashboards.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::frame::MessageKind;

/// Why a message, frame, connection or gossip record was dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DropReason {
    /// A frame's payload is over its kind's maximum (inbound or outbound).
    Oversize,
    /// A frame's kind byte names no kind.
    UnknownKind,
    /// A frame is truncated or its payload does not match its header.
    Malformed,
    /// A stream or connection failed mid-read.
    StreamError,
    /// The consumer's inbound queue was full.
    InboundQueueFull,
    /// A peer's outbound queue was full.
    OutboundQueueFull,
    /// A peer (inbound connection, send target or hello) is not in the allowed set.
    UnknownPeer,
    /// A hello was missing, malformed, badly signed or for another identity.
    BadHello,
    /// The connection limit was reached.
    ConnectionLimit,
    /// No address is known for the destination.
    NoAddress,
    /// Writing to the peer failed (the message is lost; the peer task reconnects).
    SendFailed,
    /// A gossip message did not decode.
    GossipMalformed,
    /// A gossip record's signature does not verify.
    GossipBadSignature,
    /// A gossip record's identity is not in the allowed set.
    GossipUnknownIdentity,
    /// A gossip record is for another shred version.
    GossipShredVersion,
    /// A gossip record's wallclock is too far in the future.
    GossipFutureWallclock,
    /// The gossip table is full.
    GossipTableFull,
}

impl DropReason {
    /// Every reason (metrics iterate over it).
    pub const ALL: [DropReason; 17] = [
        DropReason::Oversize,
        DropReason::UnknownKind,
        DropReason::Malformed,
        DropReason::StreamError,
        DropReason::InboundQueueFull,
        DropReason::OutboundQueueFull,
        DropReason::UnknownPeer,
        DropReason::BadHello,
        DropReason::ConnectionLimit,
        DropReason::NoAddress,
        DropReason::SendFailed,
        DropReason::GossipMalformed,
        DropReason::GossipBadSignature,
        DropReason::GossipUnknownIdentity,
        DropReason::GossipShredVersion,
        DropReason::GossipFutureWallclock,
        DropReason::GossipTableFull,
    ];

    /// Stable metric label.
    pub const fn label(self) -> &'static str {
        match self {
            DropReason::Oversize => "oversize",
            DropReason::UnknownKind => "unknown_kind",
            DropReason::Malformed => "malformed",
            DropReason::StreamError => "stream_error",
            DropReason::InboundQueueFull => "inbound_queue_full",
            DropReason::OutboundQueueFull => "outbound_queue_full",
            DropReason::UnknownPeer => "unknown_peer",
            DropReason::BadHello => "bad_hello",
            DropReason::ConnectionLimit => "connection_limit",
            DropReason::NoAddress => "no_address",
            DropReason::SendFailed => "send_failed",
            DropReason::GossipMalformed => "gossip_malformed",
            DropReason::GossipBadSignature => "gossip_bad_signature",
            DropReason::GossipUnknownIdentity => "gossip_unknown_identity",
            DropReason::GossipShredVersion => "gossip_shred_version",
            DropReason::GossipFutureWallclock => "gossip_future_wallclock",
            DropReason::GossipTableFull => "gossip_table_full",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

const KINDS: usize = MessageKind::ALL.len();
const REASONS: usize = DropReason::ALL.len();

const _: () = {
    let mut index = 0;
    while index < REASONS {
        assert!(DropReason::ALL[index] as usize == index);
        index += 1;
    }
};

/// The network layer's counters. Shared (`Arc`) between the endpoint's tasks and gossip.
#[derive(Debug, Default)]
pub struct NetworkMetrics {
    dropped_total: [AtomicU64; REASONS],
    sent_total: [AtomicU64; KINDS],
    received_total: [AtomicU64; KINDS],
}

impl NetworkMetrics {
    /// Counts one drop.
    pub fn add_drop(&self, reason: DropReason) {
        self.dropped_total[reason.index()].fetch_add(1, Ordering::Relaxed);
    }

    /// Drops for `reason` so far.
    pub fn drops(&self, reason: DropReason) -> u64 {
        self.dropped_total[reason.index()].load(Ordering::Relaxed)
    }

    pub(crate) fn add_sent(&self, kind: MessageKind) {
        self.sent_total[kind.index()].fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn add_received(&self, kind: MessageKind) {
        self.received_total[kind.index()].fetch_add(1, Ordering::Relaxed);
    }

    /// Messages of `kind` written to a peer so far.
    pub fn sent(&self, kind: MessageKind) -> u64 {
        self.sent_total[kind.index()].load(Ordering::Relaxed)
    }

    /// Messages of `kind` received and handed on (to the consumer or to gossip) so far.
    pub fn received(&self, kind: MessageKind) -> u64 {
        self.received_total[kind.index()].load(Ordering::Relaxed)
    }

    /// Appends the counters in Prometheus text format.
    pub fn render(&self, out: &mut String) {
        let _ = writeln!(
            out,
            "# HELP aether_network_dropped_messages_total Messages, frames, connections or gossip records dropped, by reason."
        );
        let _ = writeln!(out, "# TYPE aether_network_dropped_messages_total counter");
        for reason in DropReason::ALL {
            let _ = writeln!(
                out,
                "aether_network_dropped_messages_total{{reason=\"{}\"}} {}",
                reason.label(),
                self.drops(reason)
            );
        }
        for (name, help, read) in [
            (
                "sent_messages_total",
                "Messages written to peers, by kind.",
                Self::sent as fn(&Self, MessageKind) -> u64,
            ),
            (
                "received_messages_total",
                "Messages received and handed on, by kind.",
                Self::received,
            ),
        ] {
            let _ = writeln!(out, "# HELP aether_network_{name} {help}");
            let _ = writeln!(out, "# TYPE aether_network_{name} counter");
            for kind in MessageKind::ALL {
                let _ = writeln!(
                    out,
                    "aether_network_{name}{{kind=\"{}\"}} {}",
                    kind.label(),
                    read(self, kind)
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_every_label_with_its_count() {
        let metrics = NetworkMetrics::default();
        metrics.add_drop(DropReason::UnknownPeer);
        metrics.add_drop(DropReason::UnknownPeer);
        metrics.add_sent(MessageKind::Vote);
        metrics.add_received(MessageKind::Shred);
        let mut text = String::new();
        metrics.render(&mut text);
        assert!(
            text.contains("aether_network_dropped_messages_total{reason=\"unknown_peer\"} 2\n")
        );
        assert!(text.contains("aether_network_dropped_messages_total{reason=\"oversize\"} 0\n"));
        assert!(text.contains("aether_network_sent_messages_total{kind=\"vote\"} 1\n"));
        assert!(text.contains("aether_network_received_messages_total{kind=\"shred\"} 1\n"));
        let lines = text.lines().filter(|line| !line.starts_with('#')).count();
        assert_eq!(lines, REASONS + 2 * KINDS);
    }
}
