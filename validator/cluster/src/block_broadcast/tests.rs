use std::collections::VecDeque;

use aether_ledger::{LedgerParams, TransferRequest, build_transfer};
use aether_types::block::{BlockHeader, KesSignature, OperationalCertificate, SignedBlockHeader};
use aether_types::{Hash, Lock, OutputReference, SignerBitmap, Transaction, ValidityWindow};

use super::*;
use crate::shred_repair::REPAIR_DELAY_MS;

const VALIDATORS: usize = 4;

fn secret(index: usize) -> Arc<Ed25519SecretKey> {
    Arc::new(Ed25519SecretKey::from_seed(&[index as u8 + 7; 32]))
}

fn nodes() -> Vec<ClusterNode> {
    (0..VALIDATORS)
        .map(|index| ClusterNode {
            identity: secret(index).public_key(),
            stake: 100 + index as u64,
        })
        .collect()
}

/// Round of the tests' consensus: their blocks are at slots 5 to 21.
const ROUND: u64 = 20;

fn broadcast(index: usize, fanout: usize) -> BlockBroadcast {
    let mut broadcast = BlockBroadcast::new(
        secret(index),
        &nodes(),
        NonZeroUsize::new(fanout).unwrap(),
        3,
    )
    .unwrap();
    broadcast.set_round(ROUND);
    broadcast
}

fn transfer(seed: u16) -> Transaction {
    let signer = Ed25519SecretKey::from_seed(&[9; 32]);
    let input = OutputReference {
        transaction_id: Hash::digest(&seed.to_le_bytes()),
        index: 0,
    };
    build_transfer(&TransferRequest {
        inputs: &[(input, 1_000_000)],
        signer: &signer,
        to: Lock::for_public_key(&[seed as u8; 32]),
        amount: 1_000,
        params: LedgerParams::DEFAULT,
        validity: ValidityWindow {
            first_slot: 0,
            last_slot: 100,
        },
    })
    .unwrap()
}

/// A block of `slot` led by validator 0 (contents need not be valid: Turbine moves
/// bytes; replay judges them).
pub(crate) fn block(slot: u64, transactions: u16) -> Block {
    Block {
        header: SignedBlockHeader {
            header: BlockHeader {
                version: aether_types::block::BLOCK_HEADER_VERSION,
                slot,
                parent_slot: slot - 1,
                parent_hash: Hash([1; 32]),
                leader: ValidatorIndex(0),
                transactions_root: Hash([2; 32]),
                state_root: Hash([3; 32]),
                transaction_count: u32::from(transactions),
                vrf_proof: [4; aether_types::block::VRF_PROOF_BYTES],
                kes_period: 0,
                operational_certificate: OperationalCertificate {
                    kes_public_key: [5; 32],
                    counter: 0,
                    start_period: 0,
                    cold_signature: [6; 64],
                },
            },
            kes_signature: KesSignature::new(vec![7; 64]).unwrap(),
        },
        justify: None,
        transactions: (0..transactions).map(transfer).collect(),
    }
}

fn leader_is_zero(_slot: u64) -> Option<ValidatorIndex> {
    Some(ValidatorIndex(0))
}

/// Delivers the leader's sends through the receivers until no shred is in flight;
/// `dead` receivers get nothing and send nothing. Returns each node's blocks.
fn deliver(
    receivers: &mut [BlockBroadcast],
    sends: Vec<ShredSend>,
    dead: &[usize],
) -> Vec<Vec<(Block, Option<TimeoutCertificate>)>> {
    let mut blocks = vec![Vec::new(); receivers.len()];
    let mut in_flight: VecDeque<ShredSend> = sends.into();
    while let Some((to, bytes)) = in_flight.pop_front() {
        let index = nodes().iter().position(|node| node.identity == to).unwrap();
        if dead.contains(&index) {
            continue;
        }
        let received = receivers[index].on_shred(&bytes, leader_is_zero, 0);
        in_flight.extend(received.forwards);
        blocks[index].extend(received.block);
    }
    blocks
}

#[test]
fn every_live_receiver_rebuilds_the_block_even_with_a_dead_tree_root() {
    // 300 transfers: several FEC sets.
    let original = block(9, 300);
    // Fan-out 1 makes chains (a dead link would cut off the rest of its chain: no
    // dead node there); with a dead node, a third of each set's shreds are lost at
    // worst (those it was the root for), which erasure coding covers.
    for (fanout, dead) in [(200, vec![]), (1, vec![]), (200, vec![2]), (2, vec![3])] {
        let mut nodes: Vec<BlockBroadcast> = (0..VALIDATORS)
            .map(|index| broadcast(index, fanout))
            .collect();
        let sends = nodes[0].shred(&original, &None).unwrap();
        assert!(sends.len() > 64, "several sets: {}", sends.len());
        // Shreds are spread over the trees' roots, never to the leader itself.
        assert!(sends.iter().all(|(to, _)| *to != secret(0).public_key()));
        let blocks = deliver(&mut nodes, sends, &dead);
        for index in 1..VALIDATORS {
            if dead.contains(&index) {
                continue;
            }
            assert_eq!(
                blocks[index].len(),
                1,
                "node {index} (fanout {fanout}, dead {dead:?}) rebuilt the block once"
            );
            assert_eq!(blocks[index][0].0, original);
            assert_eq!(nodes[index].counts().blocks_assembled, 1);
        }
        // Each receiver forwarded each shred at most once in all.
        let total: u64 = nodes[1..]
            .iter()
            .map(|node| node.counts().retransmitted)
            .sum();
        assert!(total <= (VALIDATORS as u64 - 2) * nodes[0].counts().shreds_sent);
    }
}

#[test]
fn forged_tampered_stale_and_unknown_shreds_are_counted_and_change_nothing() {
    let original = block(5, 3);
    let mut leader = broadcast(0, 200);
    let mut receiver = broadcast(1, 200);
    let sends = leader.shred(&original, &None).unwrap();

    // Signed by a validator that does not lead the slot.
    let mut impostor = broadcast(2, 200);
    let forged = impostor.shred(&original, &None).unwrap();
    assert!(
        receiver
            .on_shred(&forged[0].1, leader_is_zero, 0)
            .forwards
            .is_empty()
    );
    assert_eq!(receiver.counts().dropped["signature"], 1);

    // A flipped byte breaks the Merkle path.
    let mut tampered = sends[0].1.clone();
    tampered[40] ^= 1;
    receiver.on_shred(&tampered, leader_is_zero, 0);
    assert_eq!(receiver.counts().dropped["merkle"], 1);

    receiver.on_shred(&[1, 2, 3], leader_is_zero, 0);
    assert_eq!(receiver.counts().dropped["undecodable"], 1);

    receiver.on_shred(&sends[0].1, |_| None, 0);
    assert_eq!(receiver.counts().dropped["unknown_leader"], 1);

    // Nothing so far reached the assembler: the genuine shreds still rebuild it.
    let mut block_out = None;
    for (_, bytes) in &sends {
        if let Some(found) = receiver.on_shred(bytes, leader_is_zero, 0).block {
            block_out = Some(found);
        }
    }
    assert_eq!(block_out.unwrap().0, original);
    // Again: never a second block for the slot (the shreds after the one that
    // completed it were refused unverified already).
    let refused_before = receiver.counts().dropped["already_delivered"];
    assert!(
        receiver
            .on_shred(&sends[1].1, leader_is_zero, 0)
            .block
            .is_none()
    );
    assert_eq!(
        receiver.counts().dropped["already_delivered"],
        refused_before + 1
    );

    // A block far past the round (what a validator catching up sees) is rebuilt, but
    // its shreds are not forwarded.
    let far = block(ROUND + FUTURE_SLOTS_MAX + 1, 1);
    let far_sends = leader.shred(&far, &None).unwrap();
    let far_received = receiver.on_shred(&far_sends[0].1, leader_is_zero, 0);
    assert!(far_received.forwards.is_empty());
    assert_eq!(far_received.block.unwrap().0, far);
    // Answers to repair requests never made are refused.
    let unsolicited = aether_types::codec::encode(&RepairResponse {
        nonce: 77,
        shred: sends[3].1.clone(),
    });
    assert!(
        receiver
            .on_repair_response(&unsolicited, leader_is_zero, 0)
            .block
            .is_none()
    );
    assert_eq!(receiver.counts().dropped["unsolicited"], 1);

    // Once the slot is final its shreds are too old.
    receiver.set_final_slot(5);
    receiver.on_shred(&sends[2].1, leader_is_zero, 0);
    assert_eq!(receiver.counts().dropped["too_old"], 1);
}

#[test]
fn the_tc_travels_with_the_block() {
    let original = block(12, 1);
    let tc = TimeoutCertificate {
        round: 11,
        high_qc_rounds: vec![9, 10, 10],
        signers: SignerBitmap::from_signers(VALIDATORS, [1, 2, 3].map(ValidatorIndex)).unwrap(),
        aggregate_signature: [8; aether_types::BLS_SIGNATURE_BYTES],
    };
    let mut nodes: Vec<BlockBroadcast> = (0..VALIDATORS).map(|index| broadcast(index, 2)).collect();
    let sends = nodes[0].shred(&original, &Some(tc.clone())).unwrap();
    let blocks = deliver(&mut nodes, sends, &[]);
    for received in &blocks[1..] {
        assert_eq!(received[0].1.as_ref(), Some(&tc));
    }
}

#[test]
fn a_slot_that_stopped_short_is_repaired_from_peers() {
    const WALLCLOCK_MS: u64 = 1_800_000_000_000;
    let original = block(21, 200);
    let mut nodes: Vec<BlockBroadcast> =
        (0..VALIDATORS).map(|index| broadcast(index, 200)).collect();
    let sends = nodes[0].shred(&original, &None).unwrap();
    // Nodes 2 and 3 get every shred straight from the leader; node 1 only every third
    // one (fewer than any set needs).
    let mut partial = 0;
    for (position, (_, bytes)) in sends.iter().enumerate() {
        for index in [2, 3] {
            nodes[index].on_shred(bytes, leader_is_zero, 0);
        }
        if position % 3 == 0 {
            assert!(nodes[1].on_shred(bytes, leader_is_zero, 0).block.is_none());
            partial += 1;
        }
    }
    assert!(partial > 0);
    assert_eq!(nodes[2].counts().blocks_assembled, 1);
    // Too early: Turbine still has its chance.
    assert!(
        nodes[1]
            .repair_requests(REPAIR_DELAY_MS - 1, WALLCLOCK_MS)
            .is_empty()
    );
    let requests = nodes[1].repair_requests(REPAIR_DELAY_MS, WALLCLOCK_MS);
    assert!(!requests.is_empty());
    // Not again before the interval.
    assert!(
        nodes[1]
            .repair_requests(REPAIR_DELAY_MS + 1, WALLCLOCK_MS)
            .is_empty()
    );
    let mut rebuilt = None;
    for (peer, request) in &requests {
        let server = nodes
            .iter()
            .position(|node| node.me == *peer)
            .expect("requests go to cluster members");
        assert_ne!(server, 1, "never to itself");
        let requester = nodes[1].me;
        let responses = nodes[server].on_repair_request(request, &requester, WALLCLOCK_MS + 5);
        assert!(!responses.is_empty(), "peer {server} holds the shreds");
        // A replayed request is refused.
        assert!(
            nodes[server]
                .on_repair_request(request, &requester, WALLCLOCK_MS + 6)
                .is_empty()
        );
        assert!(!nodes[server].counts().repair_dropped.is_empty());
        // Signed by node 1 but arriving from another peer: not answered.
        let other = nodes[3].me;
        assert!(
            nodes[server]
                .on_repair_request(request, &other, WALLCLOCK_MS + 7)
                .is_empty()
        );
        assert!(nodes[server].counts().repair_dropped["requester_mismatch"] >= 1);
        for response in responses {
            let received = nodes[1].on_repair_response(&response, leader_is_zero, 300);
            assert!(
                received.forwards.is_empty(),
                "repaired shreds are not forwarded"
            );
            if let Some(block) = received.block {
                rebuilt = Some(block);
            }
        }
    }
    assert_eq!(rebuilt.expect("the block is rebuilt").0, original);
    assert!(nodes[1].counts().repaired_shreds > 0);
    // Complete: nothing more to ask.
    assert!(nodes[1].repair_requests(10_000, WALLCLOCK_MS).is_empty());
    // A request from outside the cluster is refused.
    let stranger = Ed25519SecretKey::from_seed(&[99; 32]);
    let forged = aether_turbine::SignedRepairRequest::sign(
        &stranger,
        nodes[2].me,
        WALLCLOCK_MS,
        1,
        aether_turbine::RepairRequest::HighestShred { slot: 21 },
    );
    assert!(
        nodes[2]
            .on_repair_request(
                &aether_types::codec::encode(&forged),
                &stranger.public_key(),
                WALLCLOCK_MS
            )
            .is_empty()
    );
}

#[test]
fn far_future_slots_cannot_push_out_the_slots_being_decided() {
    let mut leader = broadcast(0, 200);
    let mut receiver = broadcast(1, 200);
    // One shred of each of as many far-future blocks as the memory holds: none is
    // complete, so all stay assembling.
    let first_far = ROUND + FUTURE_SLOTS_MAX + 1;
    for slot in first_far..first_far + ASSEMBLING_SLOTS_MAX as u64 {
        let sends = leader.shred(&block(slot, 40), &None).unwrap();
        assert!(
            receiver
                .on_shred(&sends[0].1, leader_is_zero, 0)
                .block
                .is_none()
        );
    }
    // A still further slot finds no room.
    let beyond = leader
        .shred(&block(first_far + ASSEMBLING_SLOTS_MAX as u64, 40), &None)
        .unwrap();
    receiver.on_shred(&beyond[0].1, leader_is_zero, 0);
    assert_eq!(receiver.counts().dropped["too_far_ahead"], 1);
    // A slot of the current round still gets in and is rebuilt (a far slot gave way),
    // and its shreds are forwarded down the tree as usual.
    let current = block(ROUND, 40);
    let mut rebuilt = None;
    let mut forwarded = 0;
    for (_, bytes) in leader.shred(&current, &None).unwrap() {
        let received = receiver.on_shred(&bytes, leader_is_zero, 0);
        forwarded += received.forwards.len();
        rebuilt = rebuilt.or(received.block);
    }
    assert_eq!(rebuilt.unwrap().0, current);
    assert!(forwarded > 0);
}
