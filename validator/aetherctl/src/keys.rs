//! `aetherctl keys`: a validator's key set on disk.
//!
//! `keys new --out DIR` writes five JSON files, each created with mode 0600 and
//! `O_EXCL`, so an existing key is never overwritten:
//!
//! | file | contents |
//! |---|---|
//! | `identity.json` | Ed25519 cold identity key (RFC 8032 seed) |
//! | `vote.json` | BLS12-381 vote key and its proof of possession |
//! | `vrf.json` | ECVRF-EDWARDS25519-SHA512-TAI key for leader election |
//! | `kes.json` | KES key (sum composition; depth, current period) for block headers |
//! | `opcert.json` | operational certificate: the identity key's signature over the KES public key, counter 0, start period 0 |
//!
//! Secrets are hex in fields named `secret_*`; every file also states its public
//! part. `keys show DIR` re-derives every public part from its secret, checks the
//! proof of possession and the certificate, and prints only public data.

use std::fmt::Write as _;
use std::fs::{self, OpenOptions};
use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::Path;

use aether_crypto::bls::{self, BlsSecretKey};
use aether_crypto::ed25519::{Ed25519SecretKey, Ed25519Signature};
use aether_crypto::kes::{KesPublicKey, KesSecretKey};
use aether_crypto::operational_certificate::OperationalCertificate;
use aether_crypto::vrf::VrfSecretKey;
use anyhow::{Context, Result, bail, ensure};
use serde_json::{Value, json};

use crate::hex_field::{array, bytes, text};

/// The key files, in the order they are written.
pub const KEY_FILES: [&str; 5] = [
    "identity.json",
    "vote.json",
    "vrf.json",
    "kes.json",
    "opcert.json",
];

/// Generates a key set into `directory` and returns a summary for the terminal.
pub fn create(directory: &Path, kes_depth: u32) -> Result<String> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(directory)
        .with_context(|| format!("creating {}", directory.display()))?;
    for name in KEY_FILES {
        let path = directory.join(name);
        if path.exists() {
            bail!(
                "{} already exists; refusing to overwrite keys",
                path.display()
            );
        }
    }

    let identity = Ed25519SecretKey::generate()?;
    let vote = BlsSecretKey::generate()?;
    let vrf = VrfSecretKey::generate()?;
    let kes = KesSecretKey::generate(kes_depth)?;
    let certificate = OperationalCertificate::issue(&identity, kes.public_key(), 0, 0);

    let files = [
        json!({
            "kind": "aether-identity-ed25519",
            "public_key": hex::encode(identity.public_key().0),
            "secret_seed": hex::encode(*identity.seed()),
        }),
        json!({
            "kind": "aether-vote-bls12381",
            "public_key": hex::encode(vote.public_key().to_bytes()),
            "proof_of_possession": hex::encode(vote.prove_possession().to_bytes()),
            "secret_key": hex::encode(*vote.to_bytes()),
        }),
        json!({
            "kind": "aether-vrf-ed25519",
            "public_key": hex::encode(vrf.public_key().0),
            "secret_seed": hex::encode(*vrf.to_seed()),
        }),
        json!({
            "kind": "aether-kes-sum-ed25519",
            "depth": kes.depth(),
            "period": kes.period(),
            "public_key": hex::encode(kes.public_key().0),
            "secret_key": hex::encode(&*kes.to_bytes()),
        }),
        certificate_json(&certificate),
    ];
    for (name, contents) in KEY_FILES.iter().zip(&files) {
        write_private(&directory.join(name), contents)?;
    }
    let mut summary = format!("wrote a validator key set to {}\n", directory.display());
    summary.push_str(&show(directory, false)?);
    Ok(summary)
}

fn certificate_json(certificate: &OperationalCertificate) -> Value {
    json!({
        "kind": "aether-operational-certificate",
        "kes_public_key": hex::encode(certificate.kes_public_key.0),
        "counter": certificate.counter,
        "start_period": certificate.start_period,
        "cold_signature": hex::encode(certificate.cold_signature.0),
    })
}

/// Writes `contents` to a new file readable only by its owner.
fn write_private(path: &Path, contents: &Value) -> Result<()> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    let mut text = serde_json::to_string_pretty(contents).expect("JSON values serialise");
    text.push('\n');
    file.write_all(text.as_bytes())
        .with_context(|| format!("writing {}", path.display()))?;
    file.sync_all()
        .with_context(|| format!("syncing {}", path.display()))
}

fn read_file(directory: &Path, name: &str, kind: &str) -> Result<Value> {
    let path = directory.join(name);
    let raw = fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let value: Value =
        serde_json::from_str(&raw).with_context(|| format!("{} is not JSON", path.display()))?;
    ensure!(
        value.get("kind").and_then(Value::as_str) == Some(kind),
        "{} is not a {kind} file",
        path.display()
    );
    Ok(value)
}

fn public_matches(file: &str, stored: &str, derived: &[u8]) -> Result<()> {
    ensure!(
        stored == hex::encode(derived),
        "{file}: stored public_key does not match the secret (file corrupt or edited)"
    );
    Ok(())
}

/// Checks the key set in `directory` and returns its public parts as the JSON object
/// `keys show --json` prints (`identity_public_key`, `vote_public_key`,
/// `vote_proof_of_possession`, `vrf_public_key`, `kes_public_key`, `kes_depth`,
/// `kes_period`, `operational_certificate`).
pub fn public_parts(directory: &Path) -> Result<Value> {
    let identity_file = read_file(directory, "identity.json", "aether-identity-ed25519")?;
    let identity = Ed25519SecretKey::from_seed(&array(&identity_file, "secret_seed")?);
    public_matches(
        "identity.json",
        text(&identity_file, "public_key")?,
        &identity.public_key().0,
    )?;

    let vote_file = read_file(directory, "vote.json", "aether-vote-bls12381")?;
    let vote = BlsSecretKey::from_bytes(&array(&vote_file, "secret_key")?)?;
    let vote_public = vote.public_key();
    public_matches(
        "vote.json",
        text(&vote_file, "public_key")?,
        &vote_public.to_bytes(),
    )?;
    let possession = bls::BlsSignature::from_bytes(&bytes(&vote_file, "proof_of_possession")?)?;
    bls::verify_possession(&vote_public, &possession)
        .context("vote.json: proof of possession does not verify")?;

    let vrf_file = read_file(directory, "vrf.json", "aether-vrf-ed25519")?;
    let vrf = VrfSecretKey::from_seed(&array(&vrf_file, "secret_seed")?);
    public_matches(
        "vrf.json",
        text(&vrf_file, "public_key")?,
        &vrf.public_key().0,
    )?;

    let kes_file = read_file(directory, "kes.json", "aether-kes-sum-ed25519")?;
    let kes = KesSecretKey::from_bytes(&bytes(&kes_file, "secret_key")?)
        .context("kes.json: secret_key")?;
    public_matches(
        "kes.json",
        text(&kes_file, "public_key")?,
        &kes.public_key().0,
    )?;

    let certificate_file = read_file(directory, "opcert.json", "aether-operational-certificate")?;
    let certificate = OperationalCertificate {
        kes_public_key: KesPublicKey(array(&certificate_file, "kes_public_key")?),
        counter: certificate_file["counter"]
            .as_u64()
            .context("opcert.json: counter")?,
        start_period: certificate_file["start_period"]
            .as_u64()
            .and_then(|period| u32::try_from(period).ok())
            .context("opcert.json: start_period")?,
        cold_signature: Ed25519Signature(array(&certificate_file, "cold_signature")?),
    };
    certificate
        .verify(&identity.public_key())
        .context("opcert.json: not signed by identity.json's key")?;
    ensure!(
        certificate.kes_public_key == kes.public_key(),
        "opcert.json certifies a different KES key than kes.json holds"
    );

    Ok(json!({
        "identity_public_key": hex::encode(identity.public_key().0),
        "vote_public_key": hex::encode(vote_public.to_bytes()),
        "vote_proof_of_possession": hex::encode(possession.to_bytes()),
        "vrf_public_key": hex::encode(vrf.public_key().0),
        "kes_public_key": hex::encode(kes.public_key().0),
        "kes_depth": kes.depth(),
        "kes_period": kes.period(),
        "operational_certificate": certificate_json(&certificate),
    }))
}

/// Checks the key set in `directory` and renders its public parts.
pub fn show(directory: &Path, as_json: bool) -> Result<String> {
    let public = public_parts(directory)?;
    if as_json {
        return Ok(format!("{public}\n"));
    }
    let field = |name: &str| public[name].as_str().unwrap_or_default().to_owned();
    let certificate = &public["operational_certificate"];
    let kes_depth = public["kes_depth"].as_u64().unwrap_or_default();
    let mut rendered = String::new();
    writeln!(
        rendered,
        "identity (ed25519):    {}",
        field("identity_public_key")
    )
    .unwrap();
    writeln!(
        rendered,
        "vote (bls12-381):      {}",
        field("vote_public_key")
    )
    .unwrap();
    writeln!(rendered, "  proof of possession: verified").unwrap();
    writeln!(
        rendered,
        "vrf (ecvrf-ed25519):   {}",
        field("vrf_public_key")
    )
    .unwrap();
    writeln!(
        rendered,
        "kes (sum-ed25519):     {} (depth {kes_depth}, period {} of {})",
        field("kes_public_key"),
        public["kes_period"],
        1u64 << kes_depth
    )
    .unwrap();
    writeln!(
        rendered,
        "operational cert:      counter {}, start period {}, signed by identity: verified",
        certificate["counter"], certificate["start_period"]
    )
    .unwrap();
    Ok(rendered)
}
