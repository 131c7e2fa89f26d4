use aether_types::{Hash, ValidatorIndex, Vote};

use super::*;
use crate::epoch::EpochSchedule;
use crate::message::Evidence;
use crate::testing::{validator_keys, validator_set};

const SEED: u64 = 9;

fn genesis() -> BlockMeta {
    BlockMeta {
        hash: Hash([0xaa; 32]),
        round: 0,
        parent_hash: Hash::ZERO,
        parent_round: 0,
        proposer: ValidatorIndex(0),
    }
}

fn schedule() -> LeaderSchedule {
    LeaderSchedule::new(
        validator_set(SEED, &[1, 1, 1, 1]),
        EpochSchedule::new(1 << 30, 1),
        Hash([5; 32]),
    )
}

fn core(me: u32) -> Core {
    let (key, _) = validator_keys(SEED, me as usize);
    Core::new(
        ConsensusConfig::default(),
        schedule(),
        ValidatorIndex(me),
        key,
        SafetyState::default(),
        genesis(),
        None,
    )
}

fn round_one_proposal(content_valid: bool, payload: u8) -> Proposal {
    let schedule = schedule();
    Proposal {
        block: BlockMeta {
            hash: Hash([payload; 32]),
            round: 1,
            parent_hash: genesis().hash,
            parent_round: 0,
            proposer: schedule.leader(1).unwrap(),
        },
        justify: genesis_qc(genesis().hash, 0, 4),
        last_round_tc: None,
        content_valid,
        vrf_output: aether_crypto::vrf::VrfOutput([payload; 64]),
        signed_header: vec![payload],
    }
}

fn signed_vote(voter: u32, round: u64, block: Hash) -> Vote {
    let (key, _) = validator_keys(SEED, voter as usize);
    Vote {
        round,
        block_hash: block,
        voter: ValidatorIndex(voter),
        signature: key
            .sign(&Vote::signing_message_for(round, &block))
            .to_bytes(),
    }
}

#[test]
fn votes_for_a_valid_proposal_after_persisting_and_never_for_an_invalid_one() {
    let mut validator = core(0);
    validator.start();
    let actions = validator.handle(Event::Proposal(round_one_proposal(false, 1)));
    assert!(!actions.iter().any(|a| matches!(a, Action::SendVote { .. })));
    assert_eq!(validator.drops().get(DropReason::InvalidContent), 1);

    let actions = validator.handle(Event::Proposal(round_one_proposal(true, 2)));
    let persist = actions
        .iter()
        .position(|a| matches!(a, Action::PersistSafety(s) if s.last_voted_round == 1))
        .expect("the vote is persisted");
    let vote = actions
        .iter()
        .position(|a| matches!(a, Action::SendVote { vote, to } if vote.round == 1 && *to == schedule().leader(2).unwrap()))
        .expect("a vote goes to the next leader");
    assert!(persist < vote);
    // The leader's second proposal for round 1 is evidence, and no second vote follows.
    let actions = validator.handle(Event::Proposal(round_one_proposal(true, 3)));
    assert!(actions.iter().any(|a| matches!(
        a,
        Action::RecordEquivocation(Evidence::DoubleProposal { .. })
    )));
    assert!(!actions.iter().any(|a| matches!(a, Action::SendVote { .. })));
    assert_eq!(validator.drops().get(DropReason::UnsafeToVote), 1);
}

#[test]
fn next_leader_forms_a_qc_from_a_quorum_and_drops_bad_votes() {
    let next_leader = schedule().leader(2).unwrap().0;
    let mut leader = core(next_leader);
    leader.start();
    leader.handle(Event::Proposal(round_one_proposal(true, 2)));
    let block = Hash([2; 32]);
    let others: Vec<u32> = (0..4).filter(|v| *v != next_leader).collect();

    // A forged signature, an unknown voter and a duplicate are counted drops.
    let mut forged = signed_vote(others[0], 1, block);
    forged.signature = signed_vote(others[1], 1, block).signature;
    leader.handle(Event::Vote(forged));
    assert_eq!(leader.drops().get(DropReason::BadSignature), 1);
    assert_eq!(leader.verified_vote_rounds()[others[0] as usize], 0);
    leader.handle(Event::Vote(Vote {
        voter: ValidatorIndex(9),
        ..signed_vote(others[0], 1, block)
    }));
    assert_eq!(leader.drops().get(DropReason::UnknownVoter), 1);

    // Its own vote (looped back) plus one more is 2 of 4: no QC.
    leader.handle(Event::Vote(signed_vote(next_leader, 1, block)));
    leader.handle(Event::Vote(signed_vote(others[0], 1, block)));
    // Verified votes are remembered per voter (who is voting, QC or not).
    assert_eq!(leader.verified_vote_rounds()[others[0] as usize], 1);
    assert_eq!(leader.verified_vote_rounds()[others[1] as usize], 0);
    leader.handle(Event::Vote(signed_vote(others[0], 1, block)));
    assert_eq!(leader.drops().get(DropReason::Duplicate), 1);
    assert_eq!(leader.round(), 1);
    // A double vote is evidence.
    let actions = leader.handle(Event::Vote(signed_vote(others[0], 1, Hash([7; 32]))));
    assert!(
        actions
            .iter()
            .any(|a| matches!(a, Action::RecordEquivocation(Evidence::DoubleVote { .. })))
    );
    // The third vote completes the quorum: round 2, and a Propose on block 2.
    assert_eq!(leader.counts().qcs_formed, 0);
    let actions = leader.handle(Event::Vote(signed_vote(others[1], 1, block)));
    assert_eq!(leader.counts().qcs_formed, 1);
    assert_eq!(leader.round(), 2);
    assert_eq!(leader.high_qc().block_hash, block);
    assert!(actions.iter().any(|a| matches!(
        a,
        Action::Propose { round: 2, parent, tc: None, .. } if *parent == block
    )));
}

#[test]
fn a_timeout_is_persisted_before_broadcast_and_stops_voting_in_the_round() {
    let mut validator = core(0);
    validator.start();
    let actions = validator.handle(Event::RoundTimeout { round: 1 });
    let persist = actions
        .iter()
        .position(|a| matches!(a, Action::PersistSafety(s) if s.highest_timeout_round == 1))
        .unwrap();
    let broadcast = actions
        .iter()
        .position(|a| matches!(a, Action::BroadcastTimeout { .. }))
        .unwrap();
    assert!(persist < broadcast);
    let actions = validator.handle(Event::Proposal(round_one_proposal(true, 2)));
    assert!(!actions.iter().any(|a| matches!(a, Action::SendVote { .. })));
    // A timer that fires again re-sends the same timeout.
    let actions = validator.handle(Event::RoundTimeout { round: 1 });
    assert!(
        actions
            .iter()
            .any(|a| matches!(a, Action::BroadcastTimeout { .. }))
    );
}

#[test]
fn votes_go_to_every_validator_so_a_dead_next_leader_costs_no_qc() {
    let next_leader = schedule().leader(2).unwrap().0;
    let voters: Vec<u32> = (0..4).filter(|v| *v != next_leader).collect();
    let mut validator = core(voters[0]);
    validator.start();
    let block = Hash([2; 32]);

    // Its vote goes to the next leader first, then to every other validator but
    // itself, and is counted here: 1 of 4.
    let actions = validator.handle(Event::Proposal(round_one_proposal(true, 2)));
    let recipients: Vec<u32> = actions
        .iter()
        .filter_map(|a| match a {
            Action::SendVote { to, vote } if vote.round == 1 => Some(to.0),
            _ => None,
        })
        .collect();
    assert_eq!(recipients[0], next_leader, "the next leader first");
    let mut others = recipients[1..].to_vec();
    others.sort_unstable();
    assert_eq!(others, voters[1..].to_vec());

    // Another voter's vote: taken (not dropped as "not next leader"), 2 of 4, no QC.
    validator.handle(Event::Vote(signed_vote(voters[1], 1, block)));
    assert_eq!(validator.drops().get(DropReason::NotNextLeader), 0);
    assert_eq!(validator.round(), 1);

    // The timer re-sends the vote ahead of the timeout (messages may have been lost).
    let actions = validator.handle(Event::RoundTimeout { round: 1 });
    let first_vote = actions
        .iter()
        .position(|a| matches!(a, Action::SendVote { .. }))
        .expect("the vote is re-sent");
    let timeout = actions
        .iter()
        .position(|a| matches!(a, Action::BroadcastTimeout { .. }))
        .unwrap();
    assert!(first_vote < timeout);

    // The third voter's vote completes the quorum here without the next leader: round
    // 2 through a QC for the block, not a TC.
    validator.handle(Event::Vote(signed_vote(voters[2], 1, block)));
    assert_eq!(validator.round(), 2);
    assert_eq!(validator.high_qc().block_hash, block);
    assert_eq!(validator.high_qc().round, 1);

    // A vote one round ahead (a peer saw the next proposal first) is kept; two ahead
    // is the next leader's alone.
    validator.handle(Event::Vote(signed_vote(voters[1], 3, Hash([3; 32]))));
    assert_eq!(validator.drops().get(DropReason::NotNextLeader), 0);
    if schedule().leader(5) != Some(ValidatorIndex(voters[0])) {
        validator.handle(Event::Vote(signed_vote(voters[1], 4, Hash([4; 32]))));
        assert_eq!(validator.drops().get(DropReason::NotNextLeader), 1);
    }

    // Streams may reorder: when the TC arrives before the last votes, those votes
    // (one round back) still form the QC, so the block is extended, not lost.
    let mut late = core(voters[0]);
    late.start();
    late.handle(Event::Proposal(round_one_proposal(true, 2)));
    late.handle(Event::RoundTimeout { round: 1 });
    for voter in &voters[1..] {
        late.handle(Event::Timeout {
            timeout: Timeout {
                round: 1,
                high_qc: genesis_qc(genesis().hash, 0, 4),
                voter: ValidatorIndex(*voter),
                signature: validator_keys(SEED, *voter as usize)
                    .0
                    .sign(&Timeout::signing_message_for(1, 0))
                    .to_bytes(),
            },
            last_round_tc: None,
        });
    }
    assert_eq!(late.round(), 2, "a TC moved it on");
    assert_eq!(late.counts().tcs_formed, 1);
    assert_eq!(late.counts().rounds_timed_out, 1);
    assert_eq!(late.high_qc().round, 0);
    for voter in &voters[1..] {
        late.handle(Event::Vote(signed_vote(*voter, 1, block)));
    }
    assert_eq!(late.drops().get(DropReason::NotNextLeader), 0);
    assert_eq!(late.high_qc().block_hash, block);
    assert_eq!(late.round(), 2);
}

#[test]
fn a_restart_resumes_after_its_saved_certificates_and_ignores_forged_ones() {
    // Next leader of round 1 forms the QC of block 2 from three votes.
    let next_leader = schedule().leader(2).unwrap().0;
    let mut leader = core(next_leader);
    leader.start();
    leader.handle(Event::Proposal(round_one_proposal(true, 2)));
    for voter in 0..3 {
        leader.handle(Event::Vote(signed_vote(voter, 1, Hash([2; 32]))));
    }
    let qc = leader.high_qc().clone();
    assert_eq!((qc.round, leader.round()), (1, 2));

    // A restarted validator that knows only the genesis resumes in round 2 from it.
    let other = (next_leader + 1) % 4;
    let mut restarted = core(other);
    restarted.restore(&qc, None);
    assert_eq!(restarted.round(), 2);
    assert_eq!(restarted.high_qc(), &qc);

    // A certificate whose aggregate does not verify is ignored.
    let mut forged = qc.clone();
    forged.block_hash = Hash([9; 32]);
    let mut fooled = core(other);
    let round_before = fooled.round();
    assert!(fooled.restore(&forged, None).is_empty());
    assert_eq!(fooled.round(), round_before);
    assert_eq!(fooled.high_qc().round, 0);
}

/// Signed timeouts of `round` (with the genesis QC as high QC) from every validator but
/// `me`: a quorum of three.
fn timeouts_of_others(me: u32, round: u64) -> Vec<Event> {
    (0..4)
        .filter(|voter| *voter != me)
        .map(|voter| Event::Timeout {
            timeout: Timeout {
                round,
                high_qc: genesis_qc(genesis().hash, 0, 4),
                voter: ValidatorIndex(voter),
                signature: validator_keys(SEED, voter as usize)
                    .0
                    .sign(&Timeout::signing_message_for(round, 0))
                    .to_bytes(),
            },
            last_round_tc: None,
        })
        .collect()
}

#[test]
fn a_leader_whose_round_ended_without_its_proposal_gets_a_shorter_timer_until_it_proposes() {
    let schedule = schedule();
    let silent = schedule.leader(1).unwrap();
    // A validator other than the silent leader, and the silent leader's next round.
    let me = (0..4).find(|v| ValidatorIndex(*v) != silent).unwrap();
    let again = (2..100)
        .find(|round| schedule.leader(*round) == Some(silent))
        .expect("every validator leads within 100 rounds");
    let mut validator = core(me);
    validator.start();
    assert!(!validator.is_unresponsive(silent));

    let mut timer_of_again = None;
    for round in 1..again {
        for event in timeouts_of_others(me, round) {
            for action in validator.handle(event) {
                if let Action::ScheduleTimeout { round, after_ms } = action
                    && round == again
                {
                    timer_of_again = Some(after_ms);
                }
            }
        }
        assert_eq!(validator.round(), round + 1, "a TC for round {round}");
    }
    assert!(validator.is_unresponsive(silent));
    let timeouts = ConsensusConfig::default().timeouts;
    let rounds_since_qc = again - 1;
    assert_eq!(
        timer_of_again,
        Some(timeouts.unresponsive_round_timeout_ms(rounds_since_qc))
    );
    assert!(
        timeouts.unresponsive_round_timeout_ms(rounds_since_qc)
            < timeouts.round_timeout_ms(rounds_since_qc)
    );

    // Its proposal for this round (on the genesis QC, with the TC of the round before)
    // makes it responsive again.
    let proposal = Proposal {
        block: BlockMeta {
            hash: Hash([7; 32]),
            round: again,
            parent_hash: genesis().hash,
            parent_round: 0,
            proposer: silent,
        },
        justify: genesis_qc(genesis().hash, 0, 4),
        last_round_tc: validator.last_round_tc().cloned(),
        content_valid: true,
        vrf_output: aether_crypto::vrf::VrfOutput([7; 64]),
        signed_header: vec![7],
    };
    validator.handle(Event::Proposal(proposal));
    assert!(!validator.is_unresponsive(silent));
    assert_eq!(validator.drops().get(DropReason::Malformed), 0);
    assert_eq!(validator.drops().get(DropReason::BadCertificate), 0);
}
