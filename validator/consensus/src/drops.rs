//! Counted drops: every message the core ignores is counted under a stable label, never
//! logged per message and never a panic.

/// Why the core ignored an input. Labels ([`DropReason::label`]) are stable metric
/// label values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DropReason {
    /// A signature does not parse or does not verify.
    BadSignature,
    /// The sender index is not in the validator set.
    UnknownVoter,
    /// An attached QC or TC does not verify.
    BadCertificate,
    /// The proposer does not lead the block's round (or the epoch is unknown).
    WrongLeader,
    /// A vote sent to a validator that does not lead the next round.
    NotNextLeader,
    /// Older than what the core still needs.
    StaleRound,
    /// Too far ahead of the current round to hold on to.
    FutureRound,
    /// Already seen.
    Duplicate,
    /// The driver found the block's content invalid: never voted for, never stored.
    InvalidContent,
    /// Parent/justify/TC fields disagree with each other.
    Malformed,
    /// Does not extend the committed chain.
    ConflictsWithCommitted,
    /// A proposal the safety rules do not allow voting for.
    UnsafeToVote,
    /// The buffer of blocks waiting for their parent is full.
    PendingFull,
    /// A second, different vote or proposal for one round (evidence was recorded).
    Equivocation,
    /// A `BlockBuilt` that does not answer an outstanding `Propose`.
    UnexpectedBlockBuilt,
}

impl DropReason {
    /// Every reason, in label order.
    pub const ALL: [DropReason; 15] = [
        DropReason::BadSignature,
        DropReason::UnknownVoter,
        DropReason::BadCertificate,
        DropReason::WrongLeader,
        DropReason::NotNextLeader,
        DropReason::StaleRound,
        DropReason::FutureRound,
        DropReason::Duplicate,
        DropReason::InvalidContent,
        DropReason::Malformed,
        DropReason::ConflictsWithCommitted,
        DropReason::UnsafeToVote,
        DropReason::PendingFull,
        DropReason::Equivocation,
        DropReason::UnexpectedBlockBuilt,
    ];

    /// The stable metric label.
    pub const fn label(self) -> &'static str {
        match self {
            DropReason::BadSignature => "bad_signature",
            DropReason::UnknownVoter => "unknown_voter",
            DropReason::BadCertificate => "bad_certificate",
            DropReason::WrongLeader => "wrong_leader",
            DropReason::NotNextLeader => "not_next_leader",
            DropReason::StaleRound => "stale_round",
            DropReason::FutureRound => "future_round",
            DropReason::Duplicate => "duplicate",
            DropReason::InvalidContent => "invalid_content",
            DropReason::Malformed => "malformed",
            DropReason::ConflictsWithCommitted => "conflicts_with_committed",
            DropReason::UnsafeToVote => "unsafe_to_vote",
            DropReason::PendingFull => "pending_full",
            DropReason::Equivocation => "equivocation",
            DropReason::UnexpectedBlockBuilt => "unexpected_block_built",
        }
    }

    const fn slot(self) -> usize {
        self as usize
    }
}

const _: () = assert!(DropReason::ALL.len() == DropReason::UnexpectedBlockBuilt as usize + 1);

/// Drop counters, one per [`DropReason`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Drops {
    counts: [u64; DropReason::ALL.len()],
}

impl Drops {
    /// Counts one drop.
    pub fn count(&mut self, reason: DropReason) {
        self.counts[reason.slot()] += 1;
    }

    /// Drops counted for `reason`.
    pub fn get(&self, reason: DropReason) -> u64 {
        self.counts[reason.slot()]
    }

    /// `(label, count)` for every reason, in label order.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, u64)> + '_ {
        DropReason::ALL
            .iter()
            .map(|reason| (reason.label(), self.get(*reason)))
    }

    /// Adds `other`'s counts into `self`.
    pub fn add(&mut self, other: &Drops) {
        for (mine, theirs) in self.counts.iter_mut().zip(other.counts) {
            *mine += theirs;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_unique_and_slots_match_order() {
        for (position, reason) in DropReason::ALL.iter().enumerate() {
            assert_eq!(reason.slot(), position);
            assert!(
                DropReason::ALL[position + 1..]
                    .iter()
                    .all(|other| other.label() != reason.label())
            );
        }
        let mut drops = Drops::default();
        drops.count(DropReason::Duplicate);
        assert_eq!(drops.get(DropReason::Duplicate), 1);
        assert_eq!(drops.iter().filter(|(_, count)| *count > 0).count(), 1);
    }
}
