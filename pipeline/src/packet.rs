//! Fixed-size packet buffers and the batches that travel between stages.

use std::net::SocketAddr;
use std::time::Instant;

use aether_types::transaction::MAX_WIRE_TRANSACTION_BYTES;

/// Most packets in one batch: large enough to amortise a queue operation and fill a
/// sigverify batch, small enough to keep latency low.
pub const BATCH_PACKETS_MAX: usize = 128;

/// One received transaction in a buffer of fixed size.
#[derive(Clone)]
pub struct Packet {
    bytes: Box<[u8; MAX_WIRE_TRANSACTION_BYTES]>,
    length: u16,
    /// When fetch received it (latency metrics start here).
    pub received_at: Instant,
    /// Sender, when it came from the network.
    pub source: Option<SocketAddr>,
}

const _: () = assert!(MAX_WIRE_TRANSACTION_BYTES <= u16::MAX as usize);

impl Packet {
    /// Copies `data` into a packet, or `None` when it exceeds one packet.
    pub fn from_bytes(data: &[u8], source: Option<SocketAddr>) -> Option<Packet> {
        if data.len() > MAX_WIRE_TRANSACTION_BYTES {
            return None;
        }
        let mut bytes = Box::new([0u8; MAX_WIRE_TRANSACTION_BYTES]);
        bytes[..data.len()].copy_from_slice(data);
        Some(Packet {
            bytes,
            length: data.len() as u16,
            received_at: Instant::now(),
            source,
        })
    }

    /// The packet's payload.
    pub fn data(&self) -> &[u8] {
        &self.bytes[..usize::from(self.length)]
    }
}

/// Up to [`BATCH_PACKETS_MAX`] packets.
#[derive(Default)]
pub struct PacketBatch {
    /// The packets, in arrival order.
    pub packets: Vec<Packet>,
}

impl PacketBatch {
    /// An empty batch with room for a full one.
    pub fn with_capacity() -> Self {
        Self {
            packets: Vec::with_capacity(BATCH_PACKETS_MAX),
        }
    }

    /// True when no more packets fit.
    pub fn is_full(&self) -> bool {
        self.packets.len() >= BATCH_PACKETS_MAX
    }
}
