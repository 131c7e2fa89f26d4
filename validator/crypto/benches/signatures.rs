//! Signature verification speed, each against a baseline measured in the same run.
//!
//! - ZIP-215 single verification vs ed25519-dalek's `verify` and `verify_strict` (the
//!   baselines: the same curve arithmetic under other rules).
//! - ZIP-215 batches of 64 and 1024 vs single verification (the ratio is the batch
//!   speed-up the sigverify stage relies on).
//! - BLS verify and fast-aggregate-verify of 100 keys (a quorum certificate).
//!
//! `cargo bench -p aether-crypto --bench signatures`; in the test suite,
//! `cargo test --benches` runs each once as a smoke test.

// criterion_group! expands to undocumented public functions.
#![allow(missing_docs)]

use aether_crypto::bls::{self, BlsSecretKey};
use aether_crypto::ed25519::{self, Ed25519SecretKey, SignedMessage, VerifyItem};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

fn workload(count: usize) -> Vec<SignedMessage> {
    (0..count)
        .map(|index| {
            let mut seed = [0u8; 32];
            seed[..8].copy_from_slice(&(index as u64).to_le_bytes());
            let key = Ed25519SecretKey::from_seed(&seed);
            let message = format!("transfer {index}: 100 AETH").into_bytes();
            SignedMessage::sign(&key, message)
        })
        .collect()
}

fn ed25519_single(criterion: &mut Criterion) {
    // Every variant starts from the raw bytes a transaction carries, so each decodes the
    // public key inside the loop, as a validator verifying fresh transactions does.
    let signed = &workload(1)[0];
    let dalek_signature = ed25519_dalek::Signature::from_bytes(&signed.signature.0);
    let mut group = criterion.benchmark_group("ed25519_verify_single");
    group.throughput(Throughput::Elements(1));
    group.bench_function("aether_zip215", |bencher| {
        bencher.iter(|| {
            ed25519::verify(&signed.public_key, &signed.message, &signed.signature).unwrap()
        })
    });
    group.bench_function("dalek_verify_baseline", |bencher| {
        bencher.iter(|| {
            let dalek_key = ed25519_dalek::VerifyingKey::from_bytes(&signed.public_key.0).unwrap();
            ed25519_dalek::Verifier::verify(&dalek_key, &signed.message, &dalek_signature).unwrap()
        })
    });
    group.bench_function("dalek_verify_strict_baseline", |bencher| {
        bencher.iter(|| {
            let dalek_key = ed25519_dalek::VerifyingKey::from_bytes(&signed.public_key.0).unwrap();
            dalek_key
                .verify_strict(&signed.message, &dalek_signature)
                .unwrap()
        })
    });
    group.finish();
}

fn ed25519_batch(criterion: &mut Criterion) {
    let mut group = criterion.benchmark_group("ed25519_verify_batch");
    for size in [64usize, 1024] {
        let signed = workload(size);
        let items: Vec<VerifyItem<'_>> = signed.iter().map(SignedMessage::as_item).collect();
        group.throughput(Throughput::Elements(size as u64));
        group.bench_with_input(
            BenchmarkId::new("aether_zip215_batch", size),
            &items,
            |bencher, items| {
                bencher.iter(|| {
                    let decisions = ed25519::verify_batch(items);
                    assert!(decisions.iter().all(|valid| *valid));
                })
            },
        );
        group.bench_with_input(
            BenchmarkId::new("single_baseline", size),
            &signed,
            |bencher, signed| {
                bencher.iter(|| {
                    for entry in signed {
                        ed25519::verify(&entry.public_key, &entry.message, &entry.signature)
                            .unwrap();
                    }
                })
            },
        );
    }
    group.finish();
}

/// Batches of 64 with invalid signatures mixed in: the cost a spammer can impose.
fn ed25519_batch_with_invalid(criterion: &mut Criterion) {
    let mut group = criterion.benchmark_group("ed25519_verify_batch_64_with_invalid");
    group.throughput(Throughput::Elements(64));
    for invalid_count in [0usize, 1, 8, 32] {
        let mut signed = workload(64);
        for index in 0..invalid_count {
            signed[index * 64 / invalid_count.max(1)].message.push(b'!');
        }
        let items: Vec<VerifyItem<'_>> = signed.iter().map(SignedMessage::as_item).collect();
        group.bench_with_input(
            BenchmarkId::new("aether_zip215_batch", invalid_count),
            &items,
            |bencher, items| {
                bencher.iter(|| {
                    let decisions = ed25519::verify_batch(items);
                    assert_eq!(
                        decisions.iter().filter(|valid| !**valid).count(),
                        invalid_count
                    );
                })
            },
        );
    }
    group.finish();
}

fn bls_certificates(criterion: &mut Criterion) {
    let secrets: Vec<BlsSecretKey> = (1..=100u8)
        .map(|index| {
            let mut bytes = [0x11u8; 32];
            bytes[31] = index;
            BlsSecretKey::from_bytes(&bytes).unwrap()
        })
        .collect();
    let public_keys: Vec<_> = secrets.iter().map(BlsSecretKey::public_key).collect();
    let message = b"vote: round 42, block 0xabcd";
    let signatures: Vec<_> = secrets.iter().map(|secret| secret.sign(message)).collect();
    let aggregate = bls::aggregate(&signatures).unwrap();
    let mut group = criterion.benchmark_group("bls");
    group.bench_function("verify_single", |bencher| {
        bencher.iter(|| bls::verify(&public_keys[0], message, &signatures[0]).unwrap())
    });
    group.bench_function("fast_aggregate_verify_100", |bencher| {
        bencher.iter(|| bls::fast_aggregate_verify(&public_keys, message, &aggregate).unwrap())
    });
    group.bench_function("aggregate_100", |bencher| {
        bencher.iter(|| bls::aggregate(&signatures).unwrap())
    });
    group.finish();
}

criterion_group!(
    benches,
    ed25519_single,
    ed25519_batch,
    ed25519_batch_with_invalid,
    bls_certificates
);
criterion_main!(benches);
