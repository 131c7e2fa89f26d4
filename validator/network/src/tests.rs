//! End-to-end tests on real sockets on 127.0.0.1. Every wait polls with a deadline.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aether_crypto::ed25519::{Ed25519PublicKey, Ed25519SecretKey};

use crate::endpoint::{EndpointConfig, EndpointReceivers, NetworkEndpoint, SendError};
use crate::frame::{MessageKind, VOTE_BYTES_MAX, encode_frame};
use crate::gossip::{GossipConfig, start_gossip};
use crate::membership::Membership;
use crate::metrics::DropReason;
use crate::{ContactInfo, InboundMessage};

const DEADLINE: Duration = Duration::from_secs(10);

struct Node {
    key: Arc<Ed25519SecretKey>,
    endpoint: NetworkEndpoint,
    receivers: EndpointReceivers,
}

impl Node {
    fn identity(&self) -> Ed25519PublicKey {
        self.key.public_key()
    }

    fn address(&self) -> SocketAddr {
        self.endpoint.local_addr().expect("bound")
    }
}

fn key(seed: u8) -> Arc<Ed25519SecretKey> {
    Arc::new(Ed25519SecretKey::from_seed(&[seed; 32]))
}

fn start_node(seed: u8, allowed: &[Ed25519PublicKey], config: EndpointConfig) -> Node {
    let key = key(seed);
    let membership = Arc::new(Membership::new(allowed.iter().copied()));
    let (endpoint, receivers) = NetworkEndpoint::bind(
        "127.0.0.1:0".parse().unwrap(),
        key.clone(),
        membership,
        config,
    )
    .expect("bind on loopback");
    Node {
        key,
        endpoint,
        receivers,
    }
}

/// Nodes with seeds `seeds`, each allowing all of them, each knowing every address.
fn start_cluster(seeds: &[u8], config: EndpointConfig) -> Vec<Node> {
    let identities: Vec<_> = seeds.iter().map(|seed| key(*seed).public_key()).collect();
    let nodes: Vec<_> = seeds
        .iter()
        .map(|seed| start_node(*seed, &identities, config.clone()))
        .collect();
    for node in &nodes {
        for other in &nodes {
            node.endpoint
                .membership()
                .set_address(other.identity(), other.address());
        }
    }
    nodes
}

async fn wait_until(what: &str, mut check: impl FnMut() -> bool) -> Duration {
    let started = Instant::now();
    while !check() {
        assert!(
            started.elapsed() < DEADLINE,
            "timed out after {DEADLINE:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    started.elapsed()
}

async fn receive(node: &mut Node) -> InboundMessage {
    tokio::time::timeout(DEADLINE, node.receivers.messages.recv())
        .await
        .expect("a message within the deadline")
        .expect("channel open")
}

#[tokio::test]
async fn four_nodes_knowing_only_node_0_converge_to_full_membership() {
    let identities: Vec<_> = (0..4u8).map(|seed| key(seed).public_key()).collect();
    let mut nodes: Vec<_> = (0..4u8)
        .map(|seed| start_node(seed, &identities, EndpointConfig::default()))
        .collect();
    let entrypoint = nodes[0].address();
    let config = GossipConfig {
        interval: Duration::from_millis(200),
        ..GossipConfig::default()
    };
    let mut services = Vec::new();
    for (index, node) in nodes.iter_mut().enumerate() {
        let gossip_receiver =
            std::mem::replace(&mut node.receivers.gossip, tokio::sync::mpsc::channel(1).1);
        let own = ContactInfo {
            identity: node.identity(),
            gossip_address: node.address(),
            tpu_address: "127.0.0.1:1".parse().unwrap(),
            rpc_address: "127.0.0.1:2".parse().unwrap(),
            shred_version: 1,
            wallclock_ms: 1_000 + index as u64,
        };
        let entrypoints = if index == 0 { vec![] } else { vec![entrypoint] };
        let service = start_gossip(
            node.endpoint.clone(),
            gossip_receiver,
            &node.key,
            own,
            entrypoints,
            config.clone(),
        )
        .expect("gossip starts");
        services.push(service);
    }
    let took = wait_until("every table to hold all four nodes", || {
        services.iter().all(|service| service.len() == 4)
    })
    .await;
    eprintln!("gossip converged in {took:?}");
    for (node, service) in nodes.iter().zip(&services) {
        for other in &nodes {
            let contact = service.contact(&other.identity()).expect("known");
            assert_eq!(contact.gossip_address, other.address());
            if other.identity() != node.identity() {
                assert_eq!(
                    node.endpoint.membership().address(&other.identity()),
                    Some(other.address())
                );
            }
        }
        for reason in [DropReason::GossipBadSignature, DropReason::GossipMalformed] {
            assert_eq!(node.endpoint.metrics().drops(reason), 0, "{reason:?}");
        }
    }
    // Addresses learnt by gossip alone carry consensus traffic.
    let target = nodes[3].identity();
    nodes[1]
        .endpoint
        .send(target, MessageKind::Vote, vec![7; 140])
        .unwrap();
    let message = receive(&mut nodes[3]).await;
    assert_eq!(
        (message.sender, message.kind),
        (nodes[1].identity(), MessageKind::Vote)
    );
}

#[tokio::test]
async fn message_from_node_1_arrives_at_node_3_with_its_identity() {
    let mut nodes = start_cluster(&[10, 11, 12, 13], EndpointConfig::default());
    let (sender, target) = (nodes[1].identity(), nodes[3].identity());
    for (kind, payload) in [
        (MessageKind::Vote, vec![1; 140]),
        (MessageKind::Shred, vec![2; 1_228]),
        (MessageKind::Proposal, vec![3; 200_000]),
    ] {
        nodes[1]
            .endpoint
            .send(target, kind, payload.clone())
            .unwrap();
        let message = receive(&mut nodes[3]).await;
        assert_eq!(
            message,
            InboundMessage {
                sender,
                kind,
                payload
            }
        );
    }
    assert_eq!(nodes[1].endpoint.metrics().sent(MessageKind::Vote), 1);
    assert_eq!(nodes[3].endpoint.metrics().received(MessageKind::Shred), 1);
    assert!(
        nodes[2].receivers.messages.try_recv().is_err(),
        "nothing for node 2"
    );
    let mut text = String::new();
    nodes[3].endpoint.metrics().render(&mut text);
    assert!(text.contains("aether_network_received_messages_total{kind=\"proposal\"} 1\n"));
}

#[tokio::test]
async fn connection_from_an_identity_outside_the_allowed_set_is_refused_and_counted() {
    let (a, b, outsider) = (
        key(20).public_key(),
        key(21).public_key(),
        key(22).public_key(),
    );
    let mut node_a = start_node(20, &[a, b], EndpointConfig::default());
    // The outsider believes A is a peer; A does not allow the outsider.
    let node_o = start_node(22, &[a, outsider], EndpointConfig::default());
    node_o
        .endpoint
        .membership()
        .set_address(a, node_a.address());
    node_o
        .endpoint
        .send(a, MessageKind::Vote, vec![9; 140])
        .unwrap();
    wait_until("A to count the unknown peer", || {
        node_a.endpoint.metrics().drops(DropReason::UnknownPeer) >= 1
    })
    .await;
    // Sending to an identity outside our own allowed set is refused locally.
    assert_eq!(
        node_a
            .endpoint
            .send(outsider, MessageKind::Vote, vec![1; 8]),
        Err(SendError::UnknownPeer)
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        node_a.receivers.messages.try_recv().is_err(),
        "nothing delivered"
    );
    assert_eq!(node_a.endpoint.metrics().received(MessageKind::Vote), 0);
}

#[tokio::test]
async fn oversize_and_malformed_frames_are_counted_and_the_endpoint_keeps_working() {
    let mut nodes = start_cluster(&[30, 31], EndpointConfig::default());
    let (connection, identity) = nodes[1]
        .endpoint
        .connect_raw(nodes[0].address())
        .await
        .unwrap();
    assert_eq!(identity, nodes[0].identity());
    let mut oversize = encode_frame(MessageKind::Vote, &[0; VOTE_BYTES_MAX]);
    oversize[1..5].copy_from_slice(&(VOTE_BYTES_MAX as u32 + 1).to_le_bytes());
    oversize.push(0);
    let frames: [Vec<u8>; 5] = [
        oversize,
        vec![0, 1, 0, 0, 0, 1],                // unknown kind
        vec![2, 10, 0, 0, 0, 1, 2, 3],         // payload shorter than declared
        vec![2, 3, 0, 0, 0, 1, 2, 3, 4, 5, 6], // payload longer than declared
        vec![2, 1],                            // truncated header
    ];
    for frame in &frames {
        let mut stream = connection.open_uni().await.unwrap();
        stream.write_all(frame).await.unwrap();
        stream.finish().unwrap();
    }
    let metrics = nodes[0].endpoint.metrics().clone();
    wait_until("every bad frame to be counted", || {
        metrics.drops(DropReason::Oversize) == 1
            && metrics.drops(DropReason::UnknownKind) == 1
            && metrics.drops(DropReason::Malformed) == 3
    })
    .await;
    assert_eq!(
        nodes[1]
            .endpoint
            .send(nodes[0].identity(), MessageKind::Shred, vec![0; 1_301]),
        Err(SendError::Oversize)
    );
    assert_eq!(nodes[1].endpoint.metrics().drops(DropReason::Oversize), 1);
    // The same connection and the endpoint still carry good frames.
    let mut stream = connection.open_uni().await.unwrap();
    stream
        .write_all(&encode_frame(MessageKind::Timeout, &[5; 100]))
        .await
        .unwrap();
    stream.finish().unwrap();
    let message = receive(&mut nodes[0]).await;
    assert_eq!(
        (message.kind, message.payload.len()),
        (MessageKind::Timeout, 100)
    );
    nodes[1]
        .endpoint
        .send(nodes[0].identity(), MessageKind::Vote, vec![6; 140])
        .unwrap();
    let message = receive(&mut nodes[0]).await;
    assert_eq!(
        (message.sender, message.kind),
        (nodes[1].identity(), MessageKind::Vote)
    );
    assert!(nodes[0].receivers.messages.try_recv().is_err());
}

#[tokio::test]
async fn full_inbound_queue_drops_and_counts_instead_of_growing() {
    const CAPACITY: usize = 4;
    const SENT: usize = 20;
    let config = EndpointConfig {
        inbound_queue_capacity: CAPACITY,
        ..EndpointConfig::default()
    };
    let mut nodes = start_cluster(&[40, 41], config);
    let target = nodes[0].identity();
    for index in 0..SENT {
        nodes[1]
            .endpoint
            .send(target, MessageKind::Vote, vec![index as u8; 140])
            .unwrap();
    }
    let metrics = nodes[0].endpoint.metrics().clone();
    wait_until("every vote to be received or dropped", || {
        metrics.received(MessageKind::Vote) == SENT as u64
    })
    .await;
    assert_eq!(
        metrics.drops(DropReason::InboundQueueFull),
        (SENT - CAPACITY) as u64
    );
    for _ in 0..CAPACITY {
        nodes[0].receivers.messages.try_recv().expect("queued");
    }
    assert!(
        nodes[0].receivers.messages.try_recv().is_err(),
        "the queue held only its capacity"
    );
}
