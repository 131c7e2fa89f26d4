//! The message envelope: `kind (u8) ‖ length (u32 LE) ‖ payload`, one per QUIC stream.
//!
//! The length is redundant with the stream's end (QUIC delimits the stream), and that is the
//! point: a receiver reads the 5-byte header first, rejects an unknown kind or a length over
//! the kind's maximum *before* buffering anything, then reads exactly `length` bytes and
//! requires the stream to end there. A stream that ends early or runs on is `malformed`.
//!
//! The network layer carries payload bytes; it does not decode them (except gossip, which
//! it owns). Each kind's maximum is sized from the types it carries:
//!
//! | kind             | max bytes                    | carries                                  |
//! |------------------|------------------------------|------------------------------------------|
//! | `Proposal`       | [`PROPOSAL_BYTES_MAX`]       | signed header, certificates, block body  |
//! | `Vote`           | [`VOTE_BYTES_MAX`]           | one `Vote` (140 bytes)                   |
//! | `Timeout`        | [`TIMEOUT_BYTES_MAX`]        | one `Timeout` with its high QC           |
//! | `Shred`          | [`SHRED_FRAME_BYTES_MAX`]    | one shred (≤ 1228 bytes)                 |
//! | `RepairRequest`  | [`REPAIR_REQUEST_BYTES_MAX`] | a signed shred repair request            |
//! | `RepairResponse` | [`SHRED_FRAME_BYTES_MAX`]    | one shred plus a 4-byte nonce            |
//! | `Gossip`         | [`GOSSIP_BYTES_MAX`]         | a batch of signed contact infos          |
//! | `Transactions`   | [`TRANSACTIONS_BYTES_MAX`]   | wire transactions forwarded to a leader  |
//! | `BlockFetch`     | [`BLOCK_FETCH_BYTES_MAX`]    | a block hash: "send me this block"       |

use aether_types::MAX_VALIDATORS;
use aether_types::block::{MAX_BLOCK_BYTES, MAX_BLOCK_TRANSACTIONS};
use aether_types::shred::{REPAIR_NONCE_BYTES, SHRED_BYTES_MAX};
use aether_types::transaction::MAX_WIRE_TRANSACTION_BYTES;
use aether_types::vote::BLS_SIGNATURE_BYTES;
use thiserror::Error;

/// Bytes in a frame header: kind (1) and payload length (4, little-endian).
pub const FRAME_HEADER_BYTES: usize = 1 + 4;

/// Largest shred or repair-response payload: every shred must fit one Ethernet-sized
/// datagram's worth, so the network never carries a shred over 1,300 bytes.
pub const SHRED_FRAME_BYTES_MAX: usize = 1_300;
/// Largest vote payload (a `Vote` is 8 + 32 + 4 + 96 = 140 bytes; the rest is headroom).
pub const VOTE_BYTES_MAX: usize = 256;
/// Largest timeout payload: round, voter, signature and a high QC whose signer bitmap
/// covers up to `MAX_VALIDATORS` (8 + 32 + 2 + 512 + 96 bytes).
pub const TIMEOUT_BYTES_MAX: usize = 2_048;
/// Largest signed repair request (`aether-turbine`'s largest is 375 bytes: header,
/// up to 32 shred ranges, signature).
pub const REPAIR_REQUEST_BYTES_MAX: usize = 512;
/// Largest block fetch (a 32-byte hash and headroom).
pub const BLOCK_FETCH_BYTES_MAX: usize = 64;
/// Largest gossip payload.
pub const GOSSIP_BYTES_MAX: usize = 64 * 1024;
/// Largest batch of forwarded transactions (at least one of the largest wire size).
pub const TRANSACTIONS_BYTES_MAX: usize = 64 * 1024;
const _: () = assert!(MAX_WIRE_TRANSACTION_BYTES + 2 <= TRANSACTIONS_BYTES_MAX);
/// Room for a proposal's signed header and its certificates (a QC and possibly a TC with
/// one high-QC round per validator).
pub const PROPOSAL_CERTIFICATES_BYTES_MAX: usize = 64 * 1024;
/// Largest proposal: header and certificates plus a full block body, i.e. at most
/// `MAX_BLOCK_BYTES` of wire transactions (no block may encode to more) with a 2-byte
/// length prefix apiece for up to `MAX_BLOCK_TRANSACTIONS` of them (about 28.5 MB).
/// Receivers read at most `large_streams_per_connection_max` of these at once per
/// connection.
pub const PROPOSAL_BYTES_MAX: usize =
    PROPOSAL_CERTIFICATES_BYTES_MAX + MAX_BLOCK_BYTES + MAX_BLOCK_TRANSACTIONS * 2;

const _: () = assert!(SHRED_BYTES_MAX + REPAIR_NONCE_BYTES <= SHRED_FRAME_BYTES_MAX);
const _: () = assert!(SHRED_FRAME_BYTES_MAX <= 1_300);
const _: () = assert!(8 + 32 + 4 + BLS_SIGNATURE_BYTES <= VOTE_BYTES_MAX);
const _: () = assert!(
    8 + 4 + BLS_SIGNATURE_BYTES + 8 + 32 + 2 + MAX_VALIDATORS / 8 + BLS_SIGNATURE_BYTES
        <= TIMEOUT_BYTES_MAX
);
const _: () = assert!(
    8 + MAX_VALIDATORS * 8 + 2 + MAX_VALIDATORS / 8 + BLS_SIGNATURE_BYTES
        < PROPOSAL_CERTIFICATES_BYTES_MAX
);
const _: () = assert!(PROPOSAL_BYTES_MAX <= u32::MAX as usize);

/// What a frame carries. The discriminant is the wire byte; it never changes meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum MessageKind {
    /// A leader's block proposal.
    Proposal = 1,
    /// A consensus vote.
    Vote = 2,
    /// A consensus timeout.
    Timeout = 3,
    /// One shred of a block.
    Shred = 4,
    /// A request for a missing shred.
    RepairRequest = 5,
    /// A shred sent in answer to a repair request.
    RepairResponse = 6,
    /// Gossip (handled inside this crate).
    Gossip = 7,
    /// Client transactions a validator forwards to upcoming leaders.
    Transactions = 8,
    /// A request for a whole block by hash.
    BlockFetch = 9,
}

impl MessageKind {
    /// Every kind, in wire-byte order (metrics iterate over it).
    pub const ALL: [MessageKind; 9] = [
        MessageKind::Proposal,
        MessageKind::Vote,
        MessageKind::Timeout,
        MessageKind::Shred,
        MessageKind::RepairRequest,
        MessageKind::RepairResponse,
        MessageKind::Gossip,
        MessageKind::Transactions,
        MessageKind::BlockFetch,
    ];

    /// The kind for a wire byte, if any.
    pub fn from_byte(byte: u8) -> Option<MessageKind> {
        MessageKind::ALL
            .into_iter()
            .find(|kind| *kind as u8 == byte)
    }

    /// The largest payload this kind may carry.
    pub const fn payload_bytes_max(self) -> usize {
        match self {
            MessageKind::Proposal => PROPOSAL_BYTES_MAX,
            MessageKind::Vote => VOTE_BYTES_MAX,
            MessageKind::Timeout => TIMEOUT_BYTES_MAX,
            MessageKind::Shred | MessageKind::RepairResponse => SHRED_FRAME_BYTES_MAX,
            MessageKind::RepairRequest => REPAIR_REQUEST_BYTES_MAX,
            MessageKind::Gossip => GOSSIP_BYTES_MAX,
            MessageKind::Transactions => TRANSACTIONS_BYTES_MAX,
            MessageKind::BlockFetch => BLOCK_FETCH_BYTES_MAX,
        }
    }

    /// Stable metric label.
    pub const fn label(self) -> &'static str {
        match self {
            MessageKind::Proposal => "proposal",
            MessageKind::Vote => "vote",
            MessageKind::Timeout => "timeout",
            MessageKind::Shred => "shred",
            MessageKind::RepairRequest => "repair_request",
            MessageKind::RepairResponse => "repair_response",
            MessageKind::Gossip => "gossip",
            MessageKind::Transactions => "transactions",
            MessageKind::BlockFetch => "block_fetch",
        }
    }

    /// Index into per-kind counter arrays.
    pub(crate) const fn index(self) -> usize {
        self as usize - 1
    }
}

/// Why a frame was rejected. Each maps to one drop reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum FrameError {
    /// The kind byte names no kind.
    #[error("unknown message kind {0}")]
    UnknownKind(u8),
    /// The declared or actual payload is over the kind's maximum.
    #[error("{kind:?} payload of {length} bytes is over the maximum of {max}")]
    Oversize {
        /// The kind.
        kind: MessageKind,
        /// The length found.
        length: usize,
        /// The kind's maximum.
        max: usize,
    },
    /// The frame is shorter than its header, or its payload does not match its length.
    #[error("malformed frame: {0}")]
    Malformed(&'static str),
}

/// A parsed frame header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHeader {
    /// The kind.
    pub kind: MessageKind,
    /// The declared payload length (already checked against the kind's maximum).
    pub payload_length: usize,
}

/// Parses and checks a header: known kind, length within the kind's maximum.
pub fn decode_header(header: &[u8; FRAME_HEADER_BYTES]) -> Result<FrameHeader, FrameError> {
    let kind = MessageKind::from_byte(header[0]).ok_or(FrameError::UnknownKind(header[0]))?;
    let length = u32::from_le_bytes([header[1], header[2], header[3], header[4]]) as usize;
    let max = kind.payload_bytes_max();
    if length > max {
        return Err(FrameError::Oversize { kind, length, max });
    }
    Ok(FrameHeader {
        kind,
        payload_length: length,
    })
}

/// Encodes a frame. The payload must be within the kind's maximum (checked by the caller,
/// see [`check_payload`]).
pub fn encode_frame(kind: MessageKind, payload: &[u8]) -> Vec<u8> {
    assert!(
        payload.len() <= kind.payload_bytes_max(),
        "encode_frame: caller must check the payload size"
    );
    let mut frame = Vec::with_capacity(FRAME_HEADER_BYTES + payload.len());
    frame.push(kind as u8);
    frame.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    frame.extend_from_slice(payload);
    assert_eq!(frame.len(), FRAME_HEADER_BYTES + payload.len());
    frame
}

/// Checks that `payload` fits `kind` (the sending side's half of the size rule).
pub fn check_payload(kind: MessageKind, payload: &[u8]) -> Result<(), FrameError> {
    let max = kind.payload_bytes_max();
    if payload.len() > max {
        return Err(FrameError::Oversize {
            kind,
            length: payload.len(),
            max,
        });
    }
    Ok(())
}

/// Decodes a whole frame held in memory: header, then a payload of exactly the declared
/// length.
pub fn decode_frame(frame: &[u8]) -> Result<(MessageKind, &[u8]), FrameError> {
    let header: &[u8; FRAME_HEADER_BYTES] = frame
        .get(..FRAME_HEADER_BYTES)
        .and_then(|bytes| bytes.try_into().ok())
        .ok_or(FrameError::Malformed("shorter than the header"))?;
    let header = decode_header(header)?;
    let payload = &frame[FRAME_HEADER_BYTES..];
    if payload.len() != header.payload_length {
        return Err(FrameError::Malformed(
            "payload length differs from the header",
        ));
    }
    Ok((header.kind, payload))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_round_trips_at_its_maximum() {
        for kind in MessageKind::ALL {
            assert_eq!(MessageKind::from_byte(kind as u8), Some(kind));
            let payload = vec![0xab; kind.payload_bytes_max()];
            let frame = encode_frame(kind, &payload);
            assert_eq!(decode_frame(&frame), Ok((kind, payload.as_slice())));
        }
    }

    #[test]
    fn bad_frames_are_rejected_with_their_reason() {
        let mut oversize = encode_frame(MessageKind::Vote, &[1; VOTE_BYTES_MAX]);
        oversize[1..5].copy_from_slice(&(VOTE_BYTES_MAX as u32 + 1).to_le_bytes());
        oversize.push(0);
        let cases: [(&[u8], FrameError); 5] = [
            (&[], FrameError::Malformed("shorter than the header")),
            (&[2, 1, 0], FrameError::Malformed("shorter than the header")),
            (&[0, 0, 0, 0, 0], FrameError::UnknownKind(0)),
            (
                &[2, 3, 0, 0, 0, 1, 2],
                FrameError::Malformed("payload length differs from the header"),
            ),
            (
                &oversize,
                FrameError::Oversize {
                    kind: MessageKind::Vote,
                    length: VOTE_BYTES_MAX + 1,
                    max: VOTE_BYTES_MAX,
                },
            ),
        ];
        for (frame, expected) in cases {
            assert_eq!(decode_frame(frame), Err(expected), "frame {frame:?}");
        }
        assert_eq!(
            decode_frame(&[255, 0, 0, 0, 0]),
            Err(FrameError::UnknownKind(255))
        );
        assert!(check_payload(MessageKind::Shred, &[0; SHRED_FRAME_BYTES_MAX + 1]).is_err());
        assert!(check_payload(MessageKind::Shred, &[0; SHRED_FRAME_BYTES_MAX]).is_ok());
    }
}
