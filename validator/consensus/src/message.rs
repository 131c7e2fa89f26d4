//! What goes into the core ([`Event`]) and what comes out ([`Action`]).

use aether_crypto::vrf::VrfOutput;
use aether_types::{Hash, QuorumCertificate, Timeout, TimeoutCertificate, ValidatorIndex, Vote};

use crate::safety::SafetyState;

/// The consensus-relevant facts of a block (its header says more; the core needs only
/// these).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockMeta {
    /// The block hash.
    pub hash: Hash,
    /// The block's round (slot).
    pub round: u64,
    /// The parent's hash.
    pub parent_hash: Hash,
    /// The parent's round (below `round`).
    pub parent_round: u64,
    /// Who proposed it.
    pub proposer: ValidatorIndex,
}

/// A proposed block as the driver hands it to the core.
///
/// The driver has already checked what the core cannot: the header's KES signature by
/// `block.proposer`, its VRF proof, and the block's content (transactions, execution,
/// state root). `content_valid` carries that verdict; the core never votes for, stores or
/// commits a block whose content is invalid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proposal {
    /// The block.
    pub block: BlockMeta,
    /// The QC the block extends; it certifies `block.parent_hash` at `block.parent_round`.
    pub justify: QuorumCertificate,
    /// A TC for `block.round - 1` when the previous round timed out.
    pub last_round_tc: Option<TimeoutCertificate>,
    /// The driver's verdict on the block's content.
    pub content_valid: bool,
    /// The output of the header's VRF proof (the driver checked the proof): it feeds
    /// the nonces of later epochs along the block's chain.
    pub vrf_output: VrfOutput,
    /// The proposer's signed header, opaque to the core, kept as equivocation evidence.
    pub signed_header: Vec<u8>,
}

/// An input to the core.
#[derive(Debug, Clone)]
pub enum Event {
    /// A proposal from the network, or a block the driver fetched after a
    /// [`Action::FetchBlock`].
    Proposal(Proposal),
    /// A vote (possibly this validator's own, looped back by the driver).
    Vote(Vote),
    /// A timeout message, with the TC that opened the sender's round if it has one.
    Timeout {
        /// The signed timeout.
        timeout: Timeout,
        /// The TC for `timeout.round - 1`, if the sender entered its round through one.
        last_round_tc: Option<TimeoutCertificate>,
    },
    /// The timer set by [`Action::ScheduleTimeout`] for `round` expired.
    RoundTimeout {
        /// The round the timer was set for.
        round: u64,
    },
    /// The driver's answer to [`Action::Propose`]: the block it built, as a proposal by
    /// this validator.
    BlockBuilt(Proposal),
}

/// Two signed items that prove a validator equivocated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Evidence {
    /// Two different proposals by one leader for one round.
    DoubleProposal {
        /// The first one seen.
        first: Box<Proposal>,
        /// The conflicting one.
        second: Box<Proposal>,
    },
    /// Two different votes by one validator for one round (both signatures verified).
    DoubleVote {
        /// The first one seen.
        first: Box<Vote>,
        /// The conflicting one.
        second: Box<Vote>,
    },
}

/// An output of the core, to be carried out by the driver in list order.
#[derive(Debug, Clone)]
pub enum Action {
    /// Make this safety state durable (fsync) **before carrying out any later action of
    /// the same list**; every `SendVote`, `BroadcastTimeout` and own `BroadcastProposal`
    /// is preceded by the state that allows it.
    PersistSafety(SafetyState),
    /// Send a vote to the leader of the next round (which may be this validator: then
    /// feed it back as [`Event::Vote`]).
    SendVote {
        /// Leader of `vote.round + 1`.
        to: ValidatorIndex,
        /// The signed vote.
        vote: Vote,
    },
    /// Send this validator's proposal to every other validator.
    BroadcastProposal(Proposal),
    /// Send a timeout to every other validator (the core has already counted it itself).
    BroadcastTimeout {
        /// The signed timeout.
        timeout: Timeout,
        /// The TC that opened the timed-out round, if any.
        last_round_tc: Option<TimeoutCertificate>,
    },
    /// Build a block for `round` on `parent` and answer with [`Event::BlockBuilt`].
    Propose {
        /// The round to propose in.
        round: u64,
        /// The parent block (the highest certified block).
        parent: Hash,
        /// The parent's round.
        parent_round: u64,
        /// The QC certifying the parent.
        justify: QuorumCertificate,
        /// The TC for `round - 1`, when the round was entered through one.
        tc: Option<TimeoutCertificate>,
    },
    /// Deliver [`Event::RoundTimeout`] for `round` after `after_ms` (replaces any earlier
    /// timer).
    ScheduleTimeout {
        /// The round.
        round: u64,
        /// Delay in milliseconds.
        after_ms: u64,
    },
    /// These blocks are final, oldest first; each is the parent of the next, the first's
    /// parent is the previously committed block. `certificate` certifies the last one.
    Commit {
        /// The newly final blocks.
        blocks: Vec<BlockMeta>,
        /// A QC for the last block.
        certificate: QuorumCertificate,
        /// The QC of the last block's child in the next round (the 2-chain that made it
        /// final): with the child's header, a proof of finality anyone holding the
        /// validator set can check.
        commit_certificate: QuorumCertificate,
        /// `(slot, VRF output)` of each newly final block, oldest first: with
        /// `new_epoch_nonces`, what must be logged durably before the blocks are
        /// finalized so that a restart resumes the same nonces.
        final_vrf_outputs: Vec<(u64, VrfOutput)>,
        /// `(epoch, nonce)` of each nonce this commit let the final chain determine.
        new_epoch_nonces: Vec<(u64, Hash)>,
    },
    /// Keep this evidence (for slashing).
    RecordEquivocation(Evidence),
    /// A block the core needs (an unknown parent or certified block): fetch it from
    /// peers and feed it back as [`Event::Proposal`]. `from` is a peer likely to have it.
    FetchBlock {
        /// The block hash.
        hash: Hash,
        /// A validator that referenced it.
        from: Option<ValidatorIndex>,
    },
}
