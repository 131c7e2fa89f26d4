//! The properties checked after every step of a run.

use std::collections::{BTreeMap, BTreeSet};

use aether_types::{Hash, ValidatorIndex, Vote};

use crate::message::BlockMeta;

/// A broken property.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Violation {
    /// Two honest nodes finalised different blocks at one height.
    ConflictingCommit {
        /// The node whose commit conflicts.
        node: usize,
        /// Height in the committed chain (0 = first block after genesis).
        height: usize,
        /// The block already final there.
        canonical: Hash,
        /// The node's block.
        committed: Hash,
    },
    /// A node's new final blocks do not extend its own committed chain.
    BrokenChain {
        /// The node.
        node: usize,
    },
    /// A block the driver marked invalid became final.
    InvalidBlockFinal {
        /// The node.
        node: usize,
        /// The block.
        hash: Hash,
    },
    /// An honest node signed two different votes for one round.
    HonestDoubleVote {
        /// The voter.
        voter: ValidatorIndex,
        /// The round.
        round: u64,
    },
    /// An honest node cast a vote in a round it had timed out.
    VoteAfterTimeout {
        /// The voter.
        voter: ValidatorIndex,
        /// The round.
        round: u64,
    },
    /// Equivocation evidence that does not prove anything.
    BadEvidence,
    /// After GST, the honest nodes did not finalise new blocks in time.
    NoProgressAfterGst {
        /// Simulated time when the run gave up.
        until_ms: u64,
    },
}

/// The state the invariants are checked against.
#[derive(Debug, Default)]
pub struct Checker {
    /// The longest honest committed chain; every honest chain must be a prefix of it.
    canonical: Vec<Hash>,
    /// Honest votes by (voter, round).
    votes: BTreeMap<(ValidatorIndex, u64), Hash>,
    /// Honest timeouts by (voter, round).
    timeouts: BTreeSet<(ValidatorIndex, u64)>,
    /// Everything found so far.
    pub violations: Vec<Violation>,
}

impl Checker {
    /// An honest node sends `vote` (a vote cast before its timeout may be sent again
    /// after it: that is the same vote re-broadcast, not a new one).
    pub fn honest_vote(&mut self, vote: &Vote) {
        let key = (vote.voter, vote.round);
        if self.timeouts.contains(&key) && !self.votes.contains_key(&key) {
            self.violations.push(Violation::VoteAfterTimeout {
                voter: vote.voter,
                round: vote.round,
            });
        }
        match self.votes.get(&key) {
            Some(hash) if *hash != vote.block_hash => {
                self.violations.push(Violation::HonestDoubleVote {
                    voter: vote.voter,
                    round: vote.round,
                });
            }
            _ => {
                self.votes.insert(key, vote.block_hash);
            }
        }
    }

    /// An honest node sends a timeout.
    pub fn honest_timeout(&mut self, voter: ValidatorIndex, round: u64) {
        self.timeouts.insert((voter, round));
    }

    /// Honest `node`, whose committed chain was `chain` (already extended by `blocks`),
    /// committed `blocks`; `is_valid` tells the driver's verdict on a block.
    pub fn honest_commit(
        &mut self,
        node: usize,
        previous_tip: Hash,
        height_before: usize,
        blocks: &[BlockMeta],
        is_valid: impl Fn(&Hash) -> bool,
    ) {
        let mut parent = previous_tip;
        for (offset, block) in blocks.iter().enumerate() {
            if block.parent_hash != parent {
                self.violations.push(Violation::BrokenChain { node });
            }
            parent = block.hash;
            if !is_valid(&block.hash) {
                self.violations.push(Violation::InvalidBlockFinal {
                    node,
                    hash: block.hash,
                });
            }
            let height = height_before + offset;
            match self.canonical.get(height) {
                Some(canonical) if *canonical != block.hash => {
                    self.violations.push(Violation::ConflictingCommit {
                        node,
                        height,
                        canonical: *canonical,
                        committed: block.hash,
                    });
                }
                Some(_) => {}
                None => {
                    assert_eq!(height, self.canonical.len(), "heights are dense");
                    self.canonical.push(block.hash);
                }
            }
        }
    }

    /// Length of the longest honest committed chain.
    pub fn committed_height(&self) -> usize {
        self.canonical.len()
    }

    /// True once two honest nodes finalised conflicting blocks.
    pub fn has_conflict(&self) -> bool {
        self.violations
            .iter()
            .any(|violation| matches!(violation, Violation::ConflictingCommit { .. }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(name: u8, parent: u8, round: u64) -> BlockMeta {
        BlockMeta {
            hash: Hash([name; 32]),
            round,
            parent_hash: Hash([parent; 32]),
            parent_round: round - 1,
            proposer: ValidatorIndex(0),
        }
    }

    #[test]
    fn conflicting_chains_and_double_votes_are_caught() {
        let mut checker = Checker::default();
        let genesis = Hash([0; 32]);
        checker.honest_commit(0, genesis, 0, &[block(1, 0, 1), block(2, 1, 2)], |_| true);
        // A prefix of the same chain is fine.
        checker.honest_commit(1, genesis, 0, &[block(1, 0, 1)], |_| true);
        assert!(checker.violations.is_empty());
        // A sibling at height 1 conflicts.
        checker.honest_commit(1, Hash([1; 32]), 1, &[block(3, 1, 3)], |_| true);
        assert!(checker.has_conflict());
        // An invalid block and a chain gap are reported too.
        checker.honest_commit(2, genesis, 0, &[block(1, 0, 1), block(4, 9, 4)], |h| {
            h.0[0] != 4
        });
        assert!(
            checker
                .violations
                .contains(&Violation::BrokenChain { node: 2 })
        );
        assert!(
            checker
                .violations
                .iter()
                .any(|v| matches!(v, Violation::InvalidBlockFinal { .. }))
        );

        let vote = |hash: u8| Vote {
            round: 5,
            block_hash: Hash([hash; 32]),
            voter: ValidatorIndex(1),
            signature: [0; 96],
        };
        let mut checker = Checker::default();
        checker.honest_vote(&vote(1));
        checker.honest_vote(&vote(1));
        assert!(checker.violations.is_empty());
        checker.honest_vote(&vote(2));
        checker.honest_timeout(ValidatorIndex(1), 6);
        checker.honest_vote(&Vote {
            round: 6,
            ..vote(1)
        });
        assert_eq!(checker.violations.len(), 2);
    }
}
