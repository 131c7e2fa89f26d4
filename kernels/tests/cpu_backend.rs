//! The CPU backend against single verification, the reference decision.

use aether_crypto::ed25519::{Ed25519SecretKey, SignedMessage};
use aether_kernels::{
    BackendKind, CpuSigVerify, SigVerify, SigVerifyError, VerifyItem, open_backend,
};

/// `count` signatures; every `corrupt_every`-th one is damaged in one of four ways.
fn workload(count: usize, corrupt_every: usize) -> Vec<SignedMessage> {
    (0..count)
        .map(|index| {
            let mut seed = [0u8; 32];
            seed[..8].copy_from_slice(&(index as u64 % 97).to_le_bytes());
            let key = Ed25519SecretKey::from_seed(&seed);
            let message = format!("transaction {index}").into_bytes();
            let mut signed = SignedMessage::sign(&key, message);
            if index % corrupt_every == corrupt_every - 1 {
                match (index / corrupt_every) % 4 {
                    0 => signed.signature.0[5] ^= 0x40,
                    1 => signed.signature.0[40] ^= 0x01,
                    2 => signed.message.push(b'!'),
                    _ => signed.public_key.0[3] ^= 0x10,
                }
            }
            signed
        })
        .collect()
}

fn items(signed: &[SignedMessage]) -> Vec<VerifyItem<'_>> {
    signed.iter().map(SignedMessage::as_item).collect()
}

#[test]
fn decisions_equal_single_verification_for_every_chunking() {
    let signed = workload(1000, 7);
    let reference: Vec<bool> = signed.iter().map(|entry| entry.verify().is_ok()).collect();
    assert!(reference.iter().any(|valid| !valid) && reference.iter().any(|valid| *valid));
    let batch = items(&signed);
    for (threads, chunk_size) in [(1, 1), (1, 64), (2, 7), (2, 64), (3, 1000), (0, 64)] {
        let backend = CpuSigVerify::new(threads, chunk_size).unwrap();
        if threads > 0 {
            assert_eq!(backend.threads(), threads, "the caller counts as one");
        }
        let mut decisions = vec![true; batch.len()];
        backend.verify_batch(&batch, &mut decisions).unwrap();
        assert_eq!(
            decisions, reference,
            "threads {threads}, chunk {chunk_size}"
        );
    }
}

#[test]
fn length_mismatch_is_an_error_not_a_panic() {
    let signed = workload(3, 100);
    let backend = CpuSigVerify::new(1, 64).unwrap();
    let mut decisions = vec![false; 2];
    assert!(matches!(
        backend.verify_batch(&items(&signed), &mut decisions),
        Err(SigVerifyError::LengthMismatch {
            items: 3,
            decisions: 2
        })
    ));
}

#[test]
fn backend_names_parse_and_open() {
    assert_eq!("cpu".parse::<BackendKind>().unwrap(), BackendKind::Cpu);
    assert!("gpu-magic".parse::<BackendKind>().is_err());
    let backend = open_backend("auto".parse().unwrap(), 1).unwrap();
    assert_eq!(backend.name(), "cpu");
    let mut decisions = [];
    backend.verify_batch(&[], &mut decisions).unwrap();
}
