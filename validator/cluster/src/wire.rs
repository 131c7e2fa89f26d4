//! Validator messages on the wire: the payloads of `aether-network` frames.
//!
//! | frame kind | payload (aether-types codec) |
//! |---|---|
//! | `Proposal` | `Block ‖ Option<TimeoutCertificate>` (a leader's block, or an answer to a fetch) |
//! | `Vote` | `Vote` |
//! | `Timeout` | `Timeout ‖ Option<TimeoutCertificate>` |
//! | `BlockFetch` | block hash (32 bytes): "send me this block" |
//!
//! Decoding is canonical and bounded by the codec; anything else is a counted drop
//! at the caller.

use aether_network::MessageKind;
use aether_types::codec::{Decode, DecodeError, Encode, Reader, encode};
use aether_types::{Block, Hash, Timeout, TimeoutCertificate, Vote};

/// One validator message.
#[derive(Debug, Clone)]
pub enum ClusterMessage {
    /// A block with the TC that opened its round, if any.
    Proposal {
        /// The block.
        block: Box<Block>,
        /// TC for the previous round.
        tc: Option<TimeoutCertificate>,
    },
    /// A vote.
    Vote(Box<Vote>),
    /// A timeout with the TC that opened its round, if any.
    Timeout {
        /// The timeout.
        timeout: Box<Timeout>,
        /// TC for the previous round.
        tc: Option<TimeoutCertificate>,
    },
    /// A request for a block by hash.
    FetchBlock(Hash),
}

/// A frame that does not hold the message its kind names.
#[derive(Debug, thiserror::Error)]
pub enum WireError {
    /// The kind carries no cluster message.
    #[error("frame kind {0:?} carries no cluster message")]
    UnexpectedKind(MessageKind),
    /// The payload does not decode.
    #[error(transparent)]
    Decode(#[from] DecodeError),
}

impl ClusterMessage {
    /// The frame kind and payload.
    pub fn to_frame(&self) -> (MessageKind, Vec<u8>) {
        match self {
            ClusterMessage::Proposal { block, tc } => {
                let mut payload = encode(block.as_ref());
                tc.encode_to(&mut payload);
                (MessageKind::Proposal, payload)
            }
            ClusterMessage::Vote(vote) => (MessageKind::Vote, encode(vote.as_ref())),
            ClusterMessage::Timeout { timeout, tc } => {
                let mut payload = encode(timeout.as_ref());
                tc.encode_to(&mut payload);
                (MessageKind::Timeout, payload)
            }
            ClusterMessage::FetchBlock(hash) => (MessageKind::BlockFetch, encode(hash)),
        }
    }

    /// Decodes a frame's payload.
    pub fn from_frame(kind: MessageKind, payload: &[u8]) -> Result<Self, WireError> {
        let mut reader = Reader::new(payload);
        let message = match kind {
            MessageKind::Proposal => ClusterMessage::Proposal {
                block: Box::new(Block::decode_from(&mut reader)?),
                tc: Option::<TimeoutCertificate>::decode_from(&mut reader)?,
            },
            MessageKind::Vote => ClusterMessage::Vote(Box::new(Vote::decode_from(&mut reader)?)),
            MessageKind::Timeout => ClusterMessage::Timeout {
                timeout: Box::new(Timeout::decode_from(&mut reader)?),
                tc: Option::<TimeoutCertificate>::decode_from(&mut reader)?,
            },
            MessageKind::BlockFetch => ClusterMessage::FetchBlock(Hash::decode_from(&mut reader)?),
            other => return Err(WireError::UnexpectedKind(other)),
        };
        reader.finish()?;
        Ok(message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aether_types::{QuorumCertificate, SignerBitmap, ValidatorIndex};

    fn qc() -> QuorumCertificate {
        QuorumCertificate {
            round: 4,
            block_hash: Hash([3; 32]),
            signers: SignerBitmap::from_signers(4, [ValidatorIndex(1)]).unwrap(),
            aggregate_signature: [7; 96],
        }
    }

    #[test]
    fn messages_round_trip_and_trailing_or_truncated_bytes_are_refused() {
        let messages = [
            ClusterMessage::Vote(Box::new(Vote {
                round: 5,
                block_hash: Hash([1; 32]),
                voter: ValidatorIndex(2),
                signature: [9; 96],
            })),
            ClusterMessage::Timeout {
                timeout: Box::new(Timeout {
                    round: 6,
                    high_qc: qc(),
                    voter: ValidatorIndex(3),
                    signature: [8; 96],
                }),
                tc: None,
            },
            ClusterMessage::FetchBlock(Hash([5; 32])),
        ];
        for message in messages {
            let (kind, payload) = message.to_frame();
            let decoded = ClusterMessage::from_frame(kind, &payload).unwrap();
            assert_eq!(decoded.to_frame(), (kind, payload.clone()));
            let mut longer = payload.clone();
            longer.push(0);
            assert!(ClusterMessage::from_frame(kind, &longer).is_err());
            assert!(ClusterMessage::from_frame(kind, &payload[..payload.len() - 1]).is_err());
        }
        assert!(matches!(
            ClusterMessage::from_frame(MessageKind::Shred, &[]),
            Err(WireError::UnexpectedKind(MessageKind::Shred))
        ));
    }
}
