use std::collections::HashMap;

use aether_crypto::ed25519::{Ed25519PublicKey, Ed25519SecretKey, Ed25519Signature};
use aether_types::codec::encode;
use aether_types::shred::ShredKind;

use crate::repair::message::{RepairRequest, ShredRange, SignedRepairRequest};
use crate::repair::server::{RepairDrop, RepairServer, RepairServerConfig, ShredSource};

const NOW_MS: u64 = 1_700_000_000_000;

/// A blockstore stand-in: shred bytes are `[slot, kind, index]` tags.
#[derive(Default)]
struct MemorySource {
    shreds: HashMap<(u64, u8, u32), Vec<u8>>,
    parents: HashMap<u64, u64>,
}

impl MemorySource {
    fn with_slot(slot: u64, data_count: u32) -> MemorySource {
        let mut source = MemorySource::default();
        for index in 0..data_count {
            source.shreds.insert((slot, 0, index), tag(slot, index));
        }
        source
    }
}

fn tag(slot: u64, index: u32) -> Vec<u8> {
    let mut bytes = slot.to_le_bytes().to_vec();
    bytes.extend_from_slice(&index.to_le_bytes());
    bytes
}

impl ShredSource for MemorySource {
    fn shred(&self, slot: u64, kind: ShredKind, index: u32) -> Option<Vec<u8>> {
        let kind = match kind {
            ShredKind::Data => 0,
            ShredKind::Coding => 1,
        };
        self.shreds.get(&(slot, kind, index)).cloned()
    }
    fn highest_data_shred(&self, slot: u64) -> Option<Vec<u8>> {
        self.shreds
            .iter()
            .filter(|((s, k, _), _)| *s == slot && *k == 0)
            .max_by_key(|((_, _, index), _)| *index)
            .map(|(_, bytes)| bytes.clone())
    }
    fn parent_slot(&self, slot: u64) -> Option<u64> {
        self.parents.get(&slot).copied()
    }
}

struct Fixture {
    server: RepairServer,
    server_id: Ed25519PublicKey,
    requester: Ed25519SecretKey,
    source: MemorySource,
}

fn fixture(config: RepairServerConfig) -> Fixture {
    let server_key = Ed25519SecretKey::from_seed(&[1; 32]);
    let requester = Ed25519SecretKey::from_seed(&[2; 32]);
    let mut server = RepairServer::new(server_key.public_key(), config);
    server.set_known_requesters([requester.public_key()], NOW_MS);
    Fixture {
        server,
        server_id: server_key.public_key(),
        requester,
        source: MemorySource::with_slot(10, 40),
    }
}

impl Fixture {
    fn packet(&self, timestamp_ms: u64, nonce: u32, request: RepairRequest) -> Vec<u8> {
        encode(&SignedRepairRequest::sign(
            &self.requester,
            self.server_id,
            timestamp_ms,
            nonce,
            request,
        ))
    }

    fn handle(&mut self, packet: &[u8]) -> Result<Vec<Vec<u8>>, RepairDrop> {
        self.server
            .handle(packet, NOW_MS, &self.source)
            .map(|responses| responses.into_iter().map(|r| r.shred).collect())
    }
}

fn one_shred(index: u32) -> RepairRequest {
    RepairRequest::Shred {
        slot: 10,
        kind: ShredKind::Data,
        index,
    }
}

#[test]
fn valid_requests_are_answered_with_their_nonce() {
    let mut f = fixture(RepairServerConfig::default());
    let packet = f.packet(NOW_MS, 77, one_shred(3));
    let responses = f.server.handle(&packet, NOW_MS, &f.source).unwrap();
    assert_eq!(responses.len(), 1);
    assert_eq!(responses[0].nonce, 77);
    assert_eq!(responses[0].shred, tag(10, 3));

    let highest = f.packet(NOW_MS, 78, RepairRequest::HighestShred { slot: 10 });
    assert_eq!(f.handle(&highest).unwrap(), vec![tag(10, 39)]);

    let ranges = vec![
        ShredRange {
            kind: ShredKind::Data,
            start: 0,
            count: 2,
        },
        ShredRange {
            kind: ShredKind::Data,
            start: 38,
            count: 5,
        },
    ];
    let many = f.packet(NOW_MS, 79, RepairRequest::SlotShreds { slot: 10, ranges });
    assert_eq!(
        f.handle(&many).unwrap(),
        vec![tag(10, 0), tag(10, 1), tag(10, 38), tag(10, 39)]
    );

    f.source.parents.insert(10, 8);
    f.source.parents.insert(8, 7);
    f.source.shreds.insert((8, 0, 4), tag(8, 4));
    f.source.shreds.insert((7, 0, 9), tag(7, 9));
    let orphan = f.packet(NOW_MS, 80, RepairRequest::Orphan { slot: 10 });
    assert_eq!(f.handle(&orphan).unwrap(), vec![tag(8, 4), tag(7, 9)]);

    let missing = f.packet(NOW_MS, 81, one_shred(500));
    assert_eq!(f.handle(&missing).unwrap(), Vec::<Vec<u8>>::new());
    let counts = f.server.counts();
    assert_eq!(counts.accepted, 5);
    assert_eq!(counts.not_found, 1);
    assert_eq!(counts.shreds_sent, 1 + 1 + 4 + 2);
    assert!(counts.drops.iter().all(|&drops| drops == 0));
}

#[test]
fn bad_requests_are_refused_and_counted_by_label() {
    let mut f = fixture(RepairServerConfig::default());
    let stranger = Ed25519SecretKey::from_seed(&[3; 32]);
    let expect = |f: &mut Fixture, packet: Vec<u8>, reason: RepairDrop| {
        assert_eq!(f.handle(&packet), Err(reason), "{}", reason.label());
    };

    // Forged: claims the known requester's identity, signed by someone else.
    let mut forged = SignedRepairRequest::sign(&stranger, f.server_id, NOW_MS, 1, one_shred(1));
    forged.header.requester = f.requester.public_key();
    expect(&mut f, encode(&forged), RepairDrop::BadSignature);
    // Valid signature, tampered body.
    let mut tampered =
        SignedRepairRequest::sign(&f.requester, f.server_id, NOW_MS, 2, one_shred(1));
    tampered.request = one_shred(2);
    expect(&mut f, encode(&tampered), RepairDrop::BadSignature);
    let mut zero_signature = tampered.clone();
    zero_signature.signature = Ed25519Signature([0; 64]);
    expect(&mut f, encode(&zero_signature), RepairDrop::BadSignature);

    let expired = f.packet(NOW_MS - 10_001, 3, one_shred(1));
    expect(&mut f, expired, RepairDrop::Expired);
    let future = f.packet(NOW_MS + 2_001, 4, one_shred(1));
    expect(&mut f, future, RepairDrop::FromFuture);

    let unknown = encode(&SignedRepairRequest::sign(
        &stranger,
        f.server_id,
        NOW_MS,
        5,
        one_shred(1),
    ));
    expect(&mut f, unknown, RepairDrop::UnknownRequester);

    let elsewhere = encode(&SignedRepairRequest::sign(
        &f.requester,
        Ed25519PublicKey([0xee; 32]),
        NOW_MS,
        6,
        one_shred(1),
    ));
    expect(&mut f, elsewhere, RepairDrop::WrongRecipient);

    let good = f.packet(NOW_MS, 7, one_shred(1));
    let mut trailing = good.clone();
    trailing.push(0);
    expect(&mut f, trailing, RepairDrop::Malformed);
    expect(&mut f, good[..20].to_vec(), RepairDrop::Malformed);
    expect(&mut f, vec![1; 2000], RepairDrop::TooLarge);

    let counts = *f.server.counts();
    assert_eq!(counts.accepted, 0, "nothing bad was answered");
    for (reason, expected) in [
        (RepairDrop::BadSignature, 3),
        (RepairDrop::Expired, 1),
        (RepairDrop::FromFuture, 1),
        (RepairDrop::UnknownRequester, 1),
        (RepairDrop::WrongRecipient, 1),
        (RepairDrop::Malformed, 2),
        (RepairDrop::TooLarge, 1),
    ] {
        assert_eq!(counts.drop_count(reason), expected, "{}", reason.label());
    }

    // Refusals charged nothing: the first good request is still answered, its replay is not.
    assert_eq!(f.handle(&good).unwrap(), vec![tag(10, 1)]);
    expect(&mut f, good, RepairDrop::Replayed);

    let labels: Vec<_> = RepairDrop::ALL.iter().map(|drop| drop.label()).collect();
    let mut unique = labels.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), labels.len(), "labels are distinct");
}

#[test]
fn token_bucket_limits_shreds_per_requester_and_refills() {
    let config = RepairServerConfig {
        shreds_per_second_max: 10,
        ..RepairServerConfig::default()
    };
    let mut f = fixture(config);
    for nonce in 0..10 {
        let packet = f.packet(NOW_MS, nonce, one_shred(nonce));
        assert!(f.handle(&packet).is_ok());
    }
    let over = f.packet(NOW_MS, 100, one_shred(0));
    assert_eq!(f.handle(&over), Err(RepairDrop::RateLimited));
    // A range costs its shred count: 5 tokens after half a second (5 refilled).
    let ranges = vec![ShredRange {
        kind: ShredKind::Data,
        start: 0,
        count: 6,
    }];
    let big = f.packet(NOW_MS, 101, RepairRequest::SlotShreds { slot: 10, ranges });
    assert_eq!(
        f.server
            .handle(&big, NOW_MS + 500, &f.source)
            .map(|r| r.len()),
        Err(RepairDrop::RateLimited)
    );
    assert_eq!(
        f.server
            .handle(&big, NOW_MS + 600, &f.source)
            .map(|r| r.len()),
        Ok(6)
    );
    assert_eq!(f.server.counts().drop_count(RepairDrop::RateLimited), 2);
}
