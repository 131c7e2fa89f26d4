//! Consensus messages signed with BLS12-381 (min-pubkey-size: 96-byte G2 signatures):
//! votes and timeouts, and the exact bytes each signs.
//!
//! Signing messages are a fixed ASCII domain tag followed by fixed-width fields, so a
//! vote can never be read as a timeout or as anything else signed by the same key:
//!
//! - vote:    `b"aether.vote.v1"    ‖ round (u64 LE) ‖ block_hash (32)`
//! - timeout: `b"aether.timeout.v1" ‖ round (u64 LE) ‖ high_qc_round (u64 LE)`

use crate::codec::{Decode, DecodeError, Encode, Reader};
use crate::{Hash, QuorumCertificate, ValidatorIndex};

/// Bytes in a BLS12-381 signature (a compressed G2 point).
pub const BLS_SIGNATURE_BYTES: usize = 96;

/// Domain tag at the start of every vote signing message.
pub const VOTE_SIGNING_DOMAIN: &[u8] = b"aether.vote.v1";
/// Length of a vote signing message.
pub const VOTE_SIGNING_MESSAGE_BYTES: usize = VOTE_SIGNING_DOMAIN.len() + 8 + Hash::LEN;
/// Domain tag at the start of every timeout signing message.
pub const TIMEOUT_SIGNING_DOMAIN: &[u8] = b"aether.timeout.v1";
/// Length of a timeout signing message.
pub const TIMEOUT_SIGNING_MESSAGE_BYTES: usize = TIMEOUT_SIGNING_DOMAIN.len() + 8 + 8;

/// Concatenates `parts` into an array whose length must be their total length.
fn concat<const N: usize>(parts: &[&[u8]]) -> [u8; N] {
    let mut message = [0u8; N];
    let mut offset = 0;
    for part in parts {
        message[offset..offset + part.len()].copy_from_slice(part);
        offset += part.len();
    }
    assert_eq!(
        offset, N,
        "signing message parts must fill the message exactly"
    );
    message
}

/// A validator's vote for a block in a round. Encoding: round, block hash, voter,
/// signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vote {
    /// The round (equal to the block's slot).
    pub round: u64,
    /// The block voted for.
    pub block_hash: Hash,
    /// Who votes.
    pub voter: ValidatorIndex,
    /// BLS signature over [`Vote::signing_message`].
    pub signature: [u8; BLS_SIGNATURE_BYTES],
}

impl Vote {
    /// Encoded size.
    pub const ENCODED_LEN: usize = 8 + Hash::LEN + 4 + BLS_SIGNATURE_BYTES;

    /// The bytes a vote for `block_hash` in `round` signs (also what a QC's aggregate
    /// signature verifies against).
    pub fn signing_message_for(round: u64, block_hash: &Hash) -> [u8; VOTE_SIGNING_MESSAGE_BYTES] {
        concat(&[
            VOTE_SIGNING_DOMAIN,
            &round.to_le_bytes(),
            block_hash.as_bytes(),
        ])
    }

    /// The bytes this vote signs.
    pub fn signing_message(&self) -> [u8; VOTE_SIGNING_MESSAGE_BYTES] {
        Vote::signing_message_for(self.round, &self.block_hash)
    }
}

impl Encode for Vote {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.round.encode_to(out);
        self.block_hash.encode_to(out);
        self.voter.encode_to(out);
        self.signature.encode_to(out);
    }
    fn encoded_len(&self) -> usize {
        Self::ENCODED_LEN
    }
}

impl Decode for Vote {
    const MIN_ENCODED_LEN: usize = Self::ENCODED_LEN;
    fn decode_from(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Vote {
            round: reader.read_u64()?,
            block_hash: Hash::decode_from(reader)?,
            voter: ValidatorIndex::decode_from(reader)?,
            signature: reader.read_array()?,
        })
    }
}

/// A validator's statement that `round` timed out, carrying the highest QC it knows.
/// Encoding: round, high QC, voter, signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timeout {
    /// The round that timed out.
    pub round: u64,
    /// The highest QC the sender knows.
    pub high_qc: QuorumCertificate,
    /// Who sends it.
    pub voter: ValidatorIndex,
    /// BLS signature over [`Timeout::signing_message`].
    pub signature: [u8; BLS_SIGNATURE_BYTES],
}

impl Timeout {
    /// The bytes a timeout for `round` with a high QC of `high_qc_round` signs (a TC's
    /// aggregate verifies against one such message per signer).
    pub fn signing_message_for(
        round: u64,
        high_qc_round: u64,
    ) -> [u8; TIMEOUT_SIGNING_MESSAGE_BYTES] {
        concat(&[
            TIMEOUT_SIGNING_DOMAIN,
            &round.to_le_bytes(),
            &high_qc_round.to_le_bytes(),
        ])
    }

    /// The bytes this timeout signs.
    pub fn signing_message(&self) -> [u8; TIMEOUT_SIGNING_MESSAGE_BYTES] {
        Timeout::signing_message_for(self.round, self.high_qc.round)
    }
}

impl Encode for Timeout {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.round.encode_to(out);
        self.high_qc.encode_to(out);
        self.voter.encode_to(out);
        self.signature.encode_to(out);
    }
}

impl Decode for Timeout {
    const MIN_ENCODED_LEN: usize = 8 + QuorumCertificate::MIN_ENCODED_LEN + 4 + BLS_SIGNATURE_BYTES;
    fn decode_from(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Timeout {
            round: reader.read_u64()?,
            high_qc: QuorumCertificate::decode_from(reader)?,
            voter: ValidatorIndex::decode_from(reader)?,
            signature: reader.read_array()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signing_messages_are_domain_separated_and_fixed_layout() {
        let message = Vote::signing_message_for(0x0102, &Hash([9; 32]));
        assert_eq!(&message[..14], b"aether.vote.v1");
        assert_eq!(&message[14..22], &0x0102u64.to_le_bytes());
        assert_eq!(&message[22..], &[9; 32]);

        let message = Timeout::signing_message_for(5, 4);
        assert_eq!(&message[..17], b"aether.timeout.v1");
        assert_eq!(&message[17..25], &5u64.to_le_bytes());
        assert_eq!(&message[25..], &4u64.to_le_bytes());
    }
}
