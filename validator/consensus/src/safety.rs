//! The persisted safety state and the voting / timeout rules that guard it.
//!
//! Jolteon's safety rests on three facts every honest validator keeps across restarts:
//!
//! 1. It votes at most once per round, and never in a round it has timed out
//!    (`last_voted_round`, `highest_timeout_round`).
//! 2. It votes for a block of round `r` only if the block's QC is for round `r - 1`, or
//!    a timeout certificate for `r - 1` is attached and the block's QC is at least the
//!    highest QC any of the TC's signers reported ([`SafetyState::check_vote`]).
//! 3. It never signs a timeout carrying a QC older than the highest QC it has voted to
//!    extend (`highest_qc_round`), so a TC always reports a QC at least as high as any
//!    block that may have been committed.
//!
//! The driver must make a [`SafetyState`] durable before sending anything the core
//! emitted after it ([`crate::Action::PersistSafety`]). `last_proposed_round` keeps a
//! restarted leader from proposing twice in one round.

use aether_types::TimeoutCertificate;
use aether_types::codec::{Decode, DecodeError, Encode, Reader};

/// Format version of the encoded [`SafetyState`].
pub const SAFETY_STATE_VERSION: u8 = 1;

/// What a validator must remember across restarts to stay safe. Encoding: version byte,
/// then the four rounds as `u64` LE in field order (33 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SafetyState {
    /// Highest round this validator voted in.
    pub last_voted_round: u64,
    /// Highest round this validator signed a timeout for (it never votes there after, and
    /// never times out an earlier round).
    pub highest_timeout_round: u64,
    /// Highest QC round among the blocks it voted for (the 2-chain lock).
    pub highest_qc_round: u64,
    /// Highest round it proposed a block in.
    pub last_proposed_round: u64,
}

/// Why a vote or timeout would be unsafe (never an error of the input: the core counts
/// it as [`crate::drops::DropReason::UnsafeToVote`] or simply does not time out).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unsafe {
    /// Already voted or timed out in this round or a later one.
    RoundNotNew,
    /// The block neither extends the previous round's QC nor is justified by a TC for
    /// the previous round with a high enough QC.
    DoesNotExtend,
    /// The QC to carry is older than the lock.
    QcBelowLock,
}

impl SafetyState {
    /// Encoded size.
    pub const ENCODED_LEN: usize = 1 + 4 * 8;

    /// Checks the voting rule for a block of `round` justified by a QC of `justify_round`
    /// and, optionally, a TC for the previous round.
    pub fn check_vote(
        &self,
        round: u64,
        justify_round: u64,
        tc: Option<&TimeoutCertificate>,
    ) -> Result<(), Unsafe> {
        if round <= self.last_voted_round || round <= self.highest_timeout_round {
            return Err(Unsafe::RoundNotNew);
        }
        let extends_qc = justify_round.checked_add(1) == Some(round);
        let extends_tc = tc.is_some_and(|tc| {
            tc.round.checked_add(1) == Some(round)
                && justify_round >= tc.highest_qc_round().unwrap_or(0)
        });
        if !(extends_qc || extends_tc) {
            return Err(Unsafe::DoesNotExtend);
        }
        Ok(())
    }

    /// Records a vote allowed by [`SafetyState::check_vote`].
    pub fn record_vote(&mut self, round: u64, justify_round: u64) {
        assert!(round > self.last_voted_round, "a round is voted in once");
        self.last_voted_round = round;
        self.highest_qc_round = self.highest_qc_round.max(justify_round);
    }

    /// Checks the timeout rule: signing a timeout for `round` carrying a high QC of
    /// `high_qc_round`, where `last_round_tc` is the TC that opened `round` (if any).
    pub fn check_timeout(
        &self,
        round: u64,
        high_qc_round: u64,
        last_round_tc: Option<&TimeoutCertificate>,
    ) -> Result<(), Unsafe> {
        // Re-signing a timeout for the round already timed out is allowed: a restarted
        // validator has lost the signed message but must still help form the TC. It is
        // safe because the QC it carries is still checked against the lock below.
        if round < self.last_voted_round || round < self.highest_timeout_round {
            return Err(Unsafe::RoundNotNew);
        }
        if high_qc_round < self.highest_qc_round {
            return Err(Unsafe::QcBelowLock);
        }
        let after_qc = high_qc_round.checked_add(1) == Some(round);
        let after_tc = last_round_tc.is_some_and(|tc| tc.round.checked_add(1) == Some(round));
        if !(after_qc || after_tc) {
            return Err(Unsafe::DoesNotExtend);
        }
        Ok(())
    }

    /// Records a timeout allowed by [`SafetyState::check_timeout`].
    pub fn record_timeout(&mut self, round: u64) {
        assert!(
            round >= self.highest_timeout_round,
            "timeouts never go back in rounds"
        );
        self.highest_timeout_round = round;
    }
}

impl Encode for SafetyState {
    fn encode_to(&self, out: &mut Vec<u8>) {
        SAFETY_STATE_VERSION.encode_to(out);
        self.last_voted_round.encode_to(out);
        self.highest_timeout_round.encode_to(out);
        self.highest_qc_round.encode_to(out);
        self.last_proposed_round.encode_to(out);
    }
    fn encoded_len(&self) -> usize {
        Self::ENCODED_LEN
    }
}

impl Decode for SafetyState {
    const MIN_ENCODED_LEN: usize = Self::ENCODED_LEN;
    fn decode_from(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let version = reader.read_u8()?;
        if version != SAFETY_STATE_VERSION {
            return Err(DecodeError::UnsupportedVersion {
                what: "safety state",
                version,
            });
        }
        Ok(SafetyState {
            last_voted_round: reader.read_u64()?,
            highest_timeout_round: reader.read_u64()?,
            highest_qc_round: reader.read_u64()?,
            last_proposed_round: reader.read_u64()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use aether_types::codec::{decode_exact, encode};
    use aether_types::{SignerBitmap, ValidatorIndex};

    use super::*;

    fn tc(round: u64, high_qc_rounds: Vec<u64>) -> TimeoutCertificate {
        let signers = (0..high_qc_rounds.len() as u32).map(ValidatorIndex);
        TimeoutCertificate {
            round,
            signers: SignerBitmap::from_signers(4, signers).unwrap(),
            high_qc_rounds,
            aggregate_signature: [0; 96],
        }
    }

    #[test]
    fn vote_rule_table() {
        let state = SafetyState {
            last_voted_round: 5,
            highest_timeout_round: 6,
            highest_qc_round: 4,
            last_proposed_round: 0,
        };
        let tc7 = tc(7, vec![3, 6, 5]);
        // (round, justify round, tc, expected)
        type Case<'a> = (u64, u64, Option<&'a TimeoutCertificate>, Result<(), Unsafe>);
        let cases: [Case; 7] = [
            (8, 7, None, Ok(())),
            (6, 5, None, Err(Unsafe::RoundNotNew)),
            (5, 4, None, Err(Unsafe::RoundNotNew)),
            (8, 6, None, Err(Unsafe::DoesNotExtend)),
            (8, 6, Some(&tc7), Ok(())),
            (8, 5, Some(&tc7), Err(Unsafe::DoesNotExtend)),
            (9, 6, Some(&tc7), Err(Unsafe::DoesNotExtend)),
        ];
        for (round, justify, tc, expected) in cases {
            assert_eq!(
                state.check_vote(round, justify, tc),
                expected,
                "round {round}"
            );
        }
    }

    #[test]
    fn timeout_rule_table() {
        let state = SafetyState {
            last_voted_round: 5,
            highest_timeout_round: 4,
            highest_qc_round: 4,
            last_proposed_round: 0,
        };
        assert_eq!(state.check_timeout(5, 4, None), Ok(()));
        let timed_out = SafetyState {
            highest_timeout_round: 5,
            ..state
        };
        assert_eq!(
            timed_out.check_timeout(5, 4, None),
            Ok(()),
            "re-sign after restart"
        );
        assert_eq!(
            SafetyState {
                highest_timeout_round: 6,
                ..state
            }
            .check_timeout(5, 4, None),
            Err(Unsafe::RoundNotNew)
        );
        assert_eq!(state.check_timeout(4, 3, None), Err(Unsafe::RoundNotNew));
        assert_eq!(state.check_timeout(6, 3, None), Err(Unsafe::QcBelowLock));
        assert_eq!(state.check_timeout(7, 4, None), Err(Unsafe::DoesNotExtend));
        assert_eq!(state.check_timeout(7, 4, Some(&tc(6, vec![4]))), Ok(()));
    }

    #[test]
    fn codec_round_trip_and_version() {
        let state = SafetyState {
            last_voted_round: 1,
            highest_timeout_round: 2,
            highest_qc_round: 3,
            last_proposed_round: u64::MAX,
        };
        let bytes = encode(&state);
        assert_eq!(bytes.len(), SafetyState::ENCODED_LEN);
        assert_eq!(decode_exact::<SafetyState>(&bytes), Ok(state));
        let mut wrong = bytes.clone();
        wrong[0] = 9;
        assert!(decode_exact::<SafetyState>(&wrong).is_err());
    }
}
