//! Quorum and timeout certificates: aggregated BLS signatures with a signer bitmap.
//!
//! Whether the signers hold ≥ 2/3 of the stake, and whether the aggregate verifies, is the
//! consensus crate's business; here a certificate is only well-formed bytes.

use crate::codec::{Decode, DecodeError, Encode, Reader, decode_seq, encode_seq};
use crate::signers::MAX_VALIDATORS;
use crate::vote::{BLS_SIGNATURE_BYTES, TIMEOUT_SIGNING_MESSAGE_BYTES, VOTE_SIGNING_MESSAGE_BYTES};
use crate::{Hash, SignerBitmap, Timeout, ValidatorIndex, Vote};

/// Votes for one block in one round, aggregated. Encoding: round, block hash, signers,
/// aggregate signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuorumCertificate {
    /// The round of the votes (the block's slot).
    pub round: u64,
    /// The certified block.
    pub block_hash: Hash,
    /// Who signed.
    pub signers: SignerBitmap,
    /// BLS aggregate of the signers' votes, all over [`QuorumCertificate::signing_message`].
    pub aggregate_signature: [u8; BLS_SIGNATURE_BYTES],
}

impl QuorumCertificate {
    /// The one message every signer's vote signed.
    pub fn signing_message(&self) -> [u8; VOTE_SIGNING_MESSAGE_BYTES] {
        Vote::signing_message_for(self.round, &self.block_hash)
    }
}

impl Encode for QuorumCertificate {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.round.encode_to(out);
        self.block_hash.encode_to(out);
        self.signers.encode_to(out);
        self.aggregate_signature.encode_to(out);
    }
}

impl Decode for QuorumCertificate {
    const MIN_ENCODED_LEN: usize =
        8 + Hash::LEN + SignerBitmap::MIN_ENCODED_LEN + BLS_SIGNATURE_BYTES;
    fn decode_from(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(QuorumCertificate {
            round: reader.read_u64()?,
            block_hash: Hash::decode_from(reader)?,
            signers: SignerBitmap::decode_from(reader)?,
            aggregate_signature: reader.read_array()?,
        })
    }
}

/// Timeouts for one round, aggregated. Each signer signed its own high-QC round, so the
/// aggregate verifies against one message per signer.
///
/// Encoding: round, high-QC rounds (varint count, `u64` each), signers, aggregate
/// signature. Decode checks that there is exactly one high-QC round per signer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeoutCertificate {
    /// The round that timed out.
    pub round: u64,
    /// Each signer's high-QC round, in ascending signer order (at most
    /// [`MAX_VALIDATORS`]).
    pub high_qc_rounds: Vec<u64>,
    /// Who signed.
    pub signers: SignerBitmap,
    /// BLS aggregate of the signers' timeouts.
    pub aggregate_signature: [u8; BLS_SIGNATURE_BYTES],
}

impl TimeoutCertificate {
    /// Each signer with the message it signed, in ascending signer order.
    pub fn signing_messages(
        &self,
    ) -> impl Iterator<Item = (ValidatorIndex, [u8; TIMEOUT_SIGNING_MESSAGE_BYTES])> + '_ {
        self.signers
            .iter()
            .zip(&self.high_qc_rounds)
            .map(|(signer, high_qc_round)| {
                (
                    signer,
                    Timeout::signing_message_for(self.round, *high_qc_round),
                )
            })
    }

    /// The highest high-QC round among the signers (the QC the next leader must extend).
    pub fn highest_qc_round(&self) -> Option<u64> {
        self.high_qc_rounds.iter().copied().max()
    }
}

impl Encode for TimeoutCertificate {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.round.encode_to(out);
        encode_seq(out, &self.high_qc_rounds, MAX_VALIDATORS);
        self.signers.encode_to(out);
        self.aggregate_signature.encode_to(out);
    }
}

impl Decode for TimeoutCertificate {
    const MIN_ENCODED_LEN: usize = 8 + 1 + SignerBitmap::MIN_ENCODED_LEN + BLS_SIGNATURE_BYTES;
    fn decode_from(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let round = reader.read_u64()?;
        let high_qc_rounds: Vec<u64> =
            decode_seq(reader, "timeout_certificate.high_qc_rounds", MAX_VALIDATORS)?;
        let signers = SignerBitmap::decode_from(reader)?;
        if high_qc_rounds.len() != signers.count() {
            return Err(DecodeError::CountMismatch {
                field: "timeout_certificate.high_qc_rounds",
                expected: signers.count() as u64,
                actual: high_qc_rounds.len() as u64,
            });
        }
        Ok(TimeoutCertificate {
            round,
            high_qc_rounds,
            signers,
            aggregate_signature: reader.read_array()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::{decode_exact, encode};

    fn certificate(high_qc_rounds: Vec<u64>, signers: &[u32]) -> TimeoutCertificate {
        TimeoutCertificate {
            round: 9,
            high_qc_rounds,
            signers: SignerBitmap::from_signers(8, signers.iter().copied().map(ValidatorIndex))
                .unwrap(),
            aggregate_signature: [0; BLS_SIGNATURE_BYTES],
        }
    }

    #[test]
    fn one_high_qc_round_per_signer() {
        let good = certificate(vec![7, 8], &[1, 4]);
        assert_eq!(
            decode_exact::<TimeoutCertificate>(&encode(&good)),
            Ok(good.clone())
        );
        assert_eq!(good.highest_qc_round(), Some(8));
        let messages: Vec<_> = good.signing_messages().collect();
        assert_eq!(
            messages[1],
            (ValidatorIndex(4), Timeout::signing_message_for(9, 8))
        );

        let bad = certificate(vec![7], &[1, 4]);
        assert_eq!(
            decode_exact::<TimeoutCertificate>(&encode(&bad)),
            Err(DecodeError::CountMismatch {
                field: "timeout_certificate.high_qc_rounds",
                expected: 2,
                actual: 1
            })
        );
    }
}
