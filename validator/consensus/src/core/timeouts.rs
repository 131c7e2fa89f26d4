//! Timeouts: this validator's round timer, timeouts from others, and TC formation.

use aether_crypto::bls::{BlsSignature, verify};
use aether_types::{Timeout, TimeoutCertificate};

use super::Core;
use crate::drops::DropReason;
use crate::message::Action;
use crate::timeout_collector::TimeoutOutcome;
use crate::validator_set::exceeds_one_third;

impl Core {
    /// The local timer fired: re-send this round's vote to everyone, then time the
    /// round out (once; later timers re-send the same vote and timeout, which is what
    /// gets a QC or TC formed after messages were lost).
    pub(super) fn on_round_timer(&mut self, round: u64, out: &mut Vec<Action>) {
        if round != self.round {
            return; // A timer of a round already left.
        }
        out.push(Action::ScheduleTimeout {
            round: self.round,
            after_ms: self.round_timer_ms(),
        });
        self.broadcast_vote(out);
        if self.round != round {
            return; // Own vote completed a QC: the next round has begun.
        }
        if let Some(timeout) = &self.my_timeout {
            out.push(Action::BroadcastTimeout {
                timeout: timeout.clone(),
                last_round_tc: self.last_round_tc.clone(),
            });
            return;
        }
        self.time_out_round(out);
    }

    /// Signs and broadcasts a timeout for the current round if the timeout rule allows
    /// it (a restarted validator whose high QC is below its lock waits to learn one).
    fn time_out_round(&mut self, out: &mut Vec<Action>) {
        let round = self.round;
        if self
            .safety
            .check_timeout(round, self.high_qc.round, self.last_round_tc.as_ref())
            .is_err()
        {
            return;
        }
        self.safety.record_timeout(round);
        self.counts.rounds_timed_out += 1;
        self.persist(out);
        let signature = self
            .key
            .sign(&Timeout::signing_message_for(round, self.high_qc.round));
        let timeout = Timeout {
            round,
            high_qc: self.high_qc.clone(),
            voter: self.me,
            signature: signature.to_bytes(),
        };
        self.my_timeout = Some(timeout.clone());
        out.push(Action::BroadcastTimeout {
            timeout: timeout.clone(),
            last_round_tc: self.last_round_tc.clone(),
        });
        self.count_timeout(&timeout, signature, out);
    }

    pub(super) fn on_timeout(
        &mut self,
        timeout: Timeout,
        last_round_tc: Option<TimeoutCertificate>,
        out: &mut Vec<Action>,
    ) {
        let validators = self.schedule.validators().clone();
        let Some(sender) = validators.get(timeout.voter) else {
            self.drop(DropReason::UnknownVoter);
            return;
        };
        let sender_key = sender.bls_public_key.clone();
        if timeout.high_qc.round >= timeout.round {
            self.drop(DropReason::Malformed);
            return;
        }
        if timeout.round < self.round {
            self.drop(DropReason::StaleRound);
            return;
        }
        if self.timeouts.contains(timeout.round, timeout.voter) {
            self.drop(DropReason::Duplicate);
            return;
        }
        // The certificates stand on their own signatures: they may catch this validator
        // up even when the timeout itself is too far ahead to keep.
        if self.verifier.verify_qc(&timeout.high_qc).is_err()
            || last_round_tc
                .as_ref()
                .is_some_and(|tc| self.verifier.verify_tc(tc).is_err())
        {
            self.drop(DropReason::BadCertificate);
            return;
        }
        self.process_qc(&timeout.high_qc, Some(timeout.voter), out);
        if let Some(tc) = &last_round_tc {
            self.process_tc(tc, out);
        }
        if timeout.round < self.round {
            self.drop(DropReason::StaleRound);
            return;
        }
        if timeout.round > self.round + self.config.max_future_rounds {
            self.drop(DropReason::FutureRound);
            return;
        }
        let Ok(signature) = BlsSignature::from_bytes(&timeout.signature) else {
            self.drop(DropReason::BadSignature);
            return;
        };
        if verify(&sender_key, &timeout.signing_message(), &signature).is_err() {
            self.drop(DropReason::BadSignature);
            return;
        }
        self.count_timeout(&timeout, signature, out);
    }

    fn count_timeout(&mut self, timeout: &Timeout, signature: BlsSignature, out: &mut Vec<Action>) {
        let validators = self.schedule.validators().clone();
        match self.timeouts.add(timeout, signature, &validators) {
            TimeoutOutcome::Duplicate => self.drop(DropReason::Duplicate),
            TimeoutOutcome::Counted { stake } => {
                // More than a third timed out: at least one honest validator gave up on
                // this round, so join it rather than wait for the local timer.
                if timeout.round == self.round
                    && self.my_timeout.is_none()
                    && exceeds_one_third(stake, validators.total_stake())
                {
                    self.time_out_round(out);
                }
            }
            TimeoutOutcome::Quorum(tc) => {
                self.counts.tcs_formed += 1;
                self.verifier.insert_tc(&tc);
                self.process_tc(&tc, out);
            }
        }
    }
}
