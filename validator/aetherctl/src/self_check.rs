//! `aetherctl self-check`: known-answer tests of every primitive on this host.
//!
//! Operators run it after installing a build (especially one compiled for the local
//! CPU) to confirm the binary computes exactly the standard answers before it is
//! trusted with keys or votes. Each check prints one line; any failure makes the
//! command exit non-zero.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use aether_crypto::bls::{self, BlsSecretKey};
use aether_crypto::ed25519::{self, Ed25519SecretKey, SignedMessage, VerifyItem};
use aether_crypto::kes::{self, KesSecretKey};
use aether_crypto::kzg::{BLOB_BYTES, Kzg};
use aether_crypto::vrf::{self, VrfSecretKey};
use aether_kernels::{BackendKind, open_backend};
use anyhow::{Result, bail, ensure};

/// RFC 8032 section 7.1 TEST 1 (empty message), which is also RFC 9381 example 16's key.
const RFC8032_SEED: &str = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
const RFC8032_SIGNATURE: &str = "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b";
/// RFC 9381 appendix B.3 example 16: pi for the key above and an empty alpha.
const RFC9381_PI: &str = "8657106690b5526245a92b003bb079ccd1a92130477671f6fc01ad16f26f723f26f8a57ccaed74ee1b190bed1f479d9727d2d0f9b005a6e456a35d4fb0daab1268a1b0db10836d9826a528ca76567805";
/// RFC 9380 hash_to_G2 of the empty message under the QUUX test DST (compressed),
/// obtained as a signature by the unit scalar.
const HASH_TO_G2_DST: &[u8] = b"QUUX-V01-CS02-with-BLS12381G2_XMD:SHA-256_SSWU_RO_";
const HASH_TO_G2_EMPTY: &str = "a5cb8437535e20ecffaef7752baddf98034139c38452458baeefab379ba13dff5bf5dd71b72418717047f5b0f37da03d0141ebfbdca40eb85b87142e130ab689c673cf60f1a3e98d69335266f30d9b8d4ac44c1038e9dcdd5393faf5c41fb78a";

/// Signatures in the batch-verification check.
const BATCH_SIGNATURES: usize = 1024;

/// One known-answer check: a description of what matched, or the mismatch.
type Check = fn() -> Result<String>;

/// Runs every check and returns the report; an error names the first failed check.
pub fn run() -> Result<String> {
    let mut report = String::new();
    let checks: [(&str, Check); 6] = [
        ("ed25519 RFC 8032 7.1", check_ed25519),
        ("ed25519 batch (ZIP-215)", check_batch),
        ("bls12-381 hash-to-G2 + POP", check_bls),
        ("ecvrf RFC 9381 B.3", check_vrf),
        ("kes sum-ed25519", check_kes),
        ("kzg EIP-4844", check_kzg),
    ];
    for (name, check) in checks {
        match check() {
            Ok(detail) => writeln!(report, "ok    {name:<28} {detail}").expect("string write"),
            Err(error) => bail!("{report}FAIL  {name:<28} {error:#}"),
        }
    }
    report.push_str("self-check: all primitives give the standard answers\n");
    Ok(report)
}

fn seed() -> Result<[u8; 32]> {
    Ok(hex::decode(RFC8032_SEED)?
        .try_into()
        .expect("32-byte constant"))
}

fn check_ed25519() -> Result<String> {
    let key = Ed25519SecretKey::from_seed(&seed()?);
    let signature = key.sign(b"");
    ensure!(
        hex::encode(signature.0) == RFC8032_SIGNATURE,
        "signature differs from the RFC"
    );
    ed25519::verify(&key.public_key(), b"", &signature)?;
    Ok("sign + verify match the RFC".into())
}

fn check_batch() -> Result<String> {
    let keys: Vec<Ed25519SecretKey> = (0..16u8)
        .map(|index| Ed25519SecretKey::from_seed(&[index; 32]))
        .collect();
    let mut signed: Vec<SignedMessage> = (0..BATCH_SIGNATURES)
        .map(|index| {
            SignedMessage::sign(
                &keys[index % 16],
                format!("self-check {index}").into_bytes(),
            )
        })
        .collect();
    let corrupted = BATCH_SIGNATURES / 3;
    signed[corrupted].signature.0[10] ^= 1;
    let items: Vec<VerifyItem<'_>> = signed.iter().map(SignedMessage::as_item).collect();
    let backend = open_backend(BackendKind::Cpu, 0)?;
    // One warm-up pass (thread wake-up, table set-up), then the best of three timed.
    let mut fastest = Duration::MAX;
    for _ in 0..4 {
        let mut decisions = vec![false; BATCH_SIGNATURES];
        let started = Instant::now();
        backend.verify_batch(&items, &mut decisions)?;
        fastest = fastest.min(started.elapsed());
        for (index, decision) in decisions.iter().enumerate() {
            ensure!(
                *decision == (index != corrupted),
                "wrong decision at position {index}"
            );
        }
    }
    let rate = BATCH_SIGNATURES as f64 / fastest.as_secs_f64();
    Ok(format!(
        "{BATCH_SIGNATURES} signatures, the one corrupted rejected ({rate:.0} verifies/s)"
    ))
}

fn check_bls() -> Result<String> {
    let mut unit = [0u8; 32];
    unit[31] = 1;
    let hashed = BlsSecretKey::from_bytes(&unit)?.sign_with_dst(b"", HASH_TO_G2_DST);
    ensure!(
        hex::encode(hashed.to_bytes()) == HASH_TO_G2_EMPTY,
        "hash-to-G2 differs from RFC 9380"
    );
    let key = BlsSecretKey::from_bytes(&[0x11; 32])?;
    bls::verify_possession(&key.public_key(), &key.prove_possession())?;
    bls::verify(&key.public_key(), b"vote", &key.sign(b"vote"))?;
    Ok("hash-to-curve matches RFC 9380; sign, verify, proof of possession".into())
}

fn check_vrf() -> Result<String> {
    let key = VrfSecretKey::from_seed(&seed()?);
    let proof = key.prove(b"");
    ensure!(
        hex::encode(proof.0) == RFC9381_PI,
        "proof differs from the RFC"
    );
    let output = vrf::verify(&key.public_key(), b"", &proof)?;
    ensure!(
        output == vrf::proof_to_hash(&proof)?,
        "verify and proof_to_hash disagree"
    );
    Ok("prove + verify match the RFC".into())
}

fn check_kes() -> Result<String> {
    let depth = 3;
    let mut key = KesSecretKey::from_seed(&seed()?, depth)?;
    let public_key = key.public_key();
    for period in 0..kes::kes_period_count(depth) {
        let signature = key.sign(b"header");
        kes::verify(&public_key, period, b"header", &signature, depth)?;
        ensure!(
            kes::verify(&public_key, period + 1, b"header", &signature, depth).is_err(),
            "a signature verified at the wrong period"
        );
        if period + 1 < kes::kes_period_count(depth) {
            key.evolve()?;
        }
    }
    ensure!(key.evolve().is_err(), "evolved past the last period");
    Ok(format!(
        "{} periods signed, verified, evolved",
        kes::kes_period_count(depth)
    ))
}

fn check_kzg() -> Result<String> {
    let kzg = Kzg::ethereum();
    let mut blob = vec![0u8; BLOB_BYTES];
    for (index, element) in blob.chunks_mut(32).enumerate() {
        element[24..].copy_from_slice(&(index as u64 + 1).to_be_bytes());
    }
    let commitment = kzg.blob_to_commitment(&blob)?;
    let proof = kzg.compute_blob_proof(&blob, &commitment)?;
    ensure!(
        kzg.verify_blob_proof(&blob, &commitment, &proof)?,
        "blob proof does not verify"
    );
    blob[31] ^= 1;
    ensure!(
        !kzg.verify_blob_proof(&blob, &commitment, &proof)?,
        "proof verified for another blob"
    );
    Ok("commit, prove, verify with the Ethereum ceremony setup".into())
}
