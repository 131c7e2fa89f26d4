//! What the byzantine node does differently. It runs an honest [`Core`](crate::Core)
//! underneath; the simulated driver rewrites its outputs.

use super::rng::SimRng;

/// How the byzantine node uses one of its leader rounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProposalBehaviour {
    /// Proposes like an honest leader.
    Honest,
    /// Two different valid blocks on the same parent, each sent to some nodes (some
    /// get both).
    Equivocate,
    /// A block whose content the drivers find invalid.
    InvalidContent,
    /// The honest block to everyone, then a second block that forks from the QC below
    /// the one it should extend (a sibling of its parent): only the voting rule stops
    /// honest nodes from certifying both.
    StaleFork,
}

impl ProposalBehaviour {
    /// Picks a behaviour for one leader round.
    pub fn pick(rng: &mut SimRng) -> ProposalBehaviour {
        match rng.range(0, 99) {
            0..=24 => ProposalBehaviour::Honest,
            25..=49 => ProposalBehaviour::Equivocate,
            50..=69 => ProposalBehaviour::InvalidContent,
            _ => ProposalBehaviour::StaleFork,
        }
    }
}

/// Which of two proposals a peer receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recipient {
    /// Only the first.
    First,
    /// Only the second.
    Second,
    /// Both, first one first.
    Both,
}

impl Recipient {
    /// Splits the peers of an equivocation at random.
    pub fn pick(rng: &mut SimRng) -> Recipient {
        match rng.range(0, 2) {
            0 => Recipient::First,
            1 => Recipient::Second,
            _ => Recipient::Both,
        }
    }
}

/// Chance (permille) that the byzantine node double-votes when it votes.
pub const DOUBLE_VOTE_PERMILLE: u64 = 500;
