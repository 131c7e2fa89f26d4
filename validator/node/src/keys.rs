//! The leader's keys: the dev chain's well-known keys, or the key files written by
//! `aetherctl keys new` (identity.json, vrf.json, kes.json, opcert.json).

use std::path::Path;

use aether_crypto::bls::BlsSecretKey;
use aether_crypto::ed25519::Ed25519SecretKey;
use aether_crypto::ed25519::{Ed25519PublicKey, Ed25519Signature};
use aether_crypto::kes::{KesPublicKey, KesSecretKey};
use aether_crypto::operational_certificate::OperationalCertificate;
use aether_crypto::vrf::VrfSecretKey;
use aether_pipeline::leader::LeaderKeys;
use anyhow::{Context, Result, anyhow, ensure};
use serde_json::Value;

use crate::genesis::dev_key;

/// KES depth of the dev keys (Cardano's Sum6: 64 periods).
const DEV_KES_DEPTH: u32 = 6;

/// The dev chain's validator keys (derived from public strings).
pub fn dev_keys() -> Result<LeaderKeys> {
    let identity = dev_key("aether dev validator identity v1");
    let kes = KesSecretKey::from_seed(
        &dev_key("aether dev validator kes v1").seed(),
        DEV_KES_DEPTH,
    )?;
    let vrf = VrfSecretKey::from_seed(&dev_key("aether dev validator vrf v1").seed());
    let certificate = OperationalCertificate::issue(&identity, kes.public_key(), 0, 0);
    Ok(LeaderKeys {
        identity,
        kes,
        certificate,
        vrf,
    })
}

fn read_json(directory: &Path, name: &str, kind: &str) -> Result<Value> {
    let path = directory.join(name);
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let value: Value =
        serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))?;
    ensure!(
        value.get("kind").and_then(Value::as_str) == Some(kind),
        "{} is not a {kind} file",
        path.display()
    );
    Ok(value)
}

fn hex_field<const N: usize>(value: &Value, field: &str, file: &str) -> Result<[u8; N]> {
    let text = value
        .get(field)
        .and_then(Value::as_str)
        .ok_or_else(|| anyhow!("{file}: missing string field {field:?}"))?;
    let bytes = hex::decode(text).with_context(|| format!("{file}: {field} is not hex"))?;
    bytes.try_into().map_err(|bytes: Vec<u8>| {
        anyhow!("{file}: {field} has {} bytes, expected {N}", bytes.len())
    })
}

/// Loads the key set in `directory` and checks that the certificate binds the KES key
/// to the identity.
pub fn load_keys(directory: &Path) -> Result<LeaderKeys> {
    let identity_file = read_json(directory, "identity.json", "aether-identity-ed25519")?;
    let identity =
        Ed25519SecretKey::from_seed(&hex_field(&identity_file, "secret_seed", "identity.json")?);
    let vrf_file = read_json(directory, "vrf.json", "aether-vrf-ed25519")?;
    let vrf = VrfSecretKey::from_seed(&hex_field(&vrf_file, "secret_seed", "vrf.json")?);
    let kes_file = read_json(directory, "kes.json", "aether-kes-sum-ed25519")?;
    let kes_text = kes_file
        .get("secret_key")
        .and_then(Value::as_str)
        .ok_or_else(|| anyhow!("kes.json: missing secret_key"))?;
    let kes = KesSecretKey::from_bytes(
        &hex::decode(kes_text).context("kes.json: secret_key is not hex")?,
    )
    .context("kes.json: invalid KES key")?;
    let certificate_file = read_json(directory, "opcert.json", "aether-operational-certificate")?;
    let certificate = OperationalCertificate {
        kes_public_key: KesPublicKey(hex_field(
            &certificate_file,
            "kes_public_key",
            "opcert.json",
        )?),
        counter: certificate_file
            .get("counter")
            .and_then(Value::as_u64)
            .ok_or_else(|| anyhow!("opcert.json: missing counter"))?,
        start_period: certificate_file
            .get("start_period")
            .and_then(Value::as_u64)
            .and_then(|period| u32::try_from(period).ok())
            .ok_or_else(|| anyhow!("opcert.json: missing start_period"))?,
        cold_signature: Ed25519Signature(hex_field(
            &certificate_file,
            "cold_signature",
            "opcert.json",
        )?),
    };
    certificate
        .verify(&Ed25519PublicKey(identity.public_key().0))
        .context("opcert.json does not verify under identity.json's key")?;
    ensure!(
        certificate.kes_public_key == kes.public_key(),
        "opcert.json certifies a different KES key than kes.json holds"
    );
    Ok(LeaderKeys {
        identity,
        kes,
        certificate,
        vrf,
    })
}

/// Replaces `directory/kes.json`'s secret key (and period) with `kes`, evolved: written
/// to a temporary file (mode 0600), synced, renamed over the old one and the directory
/// synced, so the key of an earlier period is gone from disk (forward security) and a
/// crash leaves either the old or the new file, whole.
pub fn save_evolved_kes_key(directory: &Path, kes: &KesSecretKey) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = read_json(directory, "kes.json", "aether-kes-sum-ed25519")?;
    ensure!(
        file.get("public_key").and_then(Value::as_str) == Some(&hex::encode(kes.public_key().0)),
        "kes.json holds a different KES key than the one being evolved"
    );
    file["period"] = Value::from(kes.period());
    file["secret_key"] = Value::from(hex::encode(&*kes.to_bytes()));
    let path = directory.join("kes.json");
    let temporary = directory.join("kes.json.tmp");
    let text = serde_json::to_string_pretty(&file)?;
    let mut out = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&temporary)
        .with_context(|| format!("writing {}", temporary.display()))?;
    out.write_all(text.as_bytes())?;
    out.sync_all()?;
    std::fs::rename(&temporary, &path).with_context(|| format!("replacing {}", path.display()))?;
    std::fs::File::open(directory)?.sync_all()?;
    Ok(())
}

/// The BLS vote key in `directory/vote.json` (written by `aetherctl keys new`).
pub fn load_vote_key(directory: &Path) -> Result<BlsSecretKey> {
    let vote_file = read_json(directory, "vote.json", "aether-vote-bls12381")?;
    let key = BlsSecretKey::from_bytes(&hex_field(&vote_file, "secret_key", "vote.json")?)
        .map_err(|error| anyhow!("vote.json: {error}"))?;
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kes_file(directory: &Path, kes: &KesSecretKey) {
        let file = serde_json::json!({
            "kind": "aether-kes-sum-ed25519",
            "depth": kes.depth(),
            "period": kes.period(),
            "public_key": hex::encode(kes.public_key().0),
            "secret_key": hex::encode(&*kes.to_bytes()),
        });
        std::fs::write(directory.join("kes.json"), file.to_string()).unwrap();
    }

    fn saved_key(directory: &Path) -> KesSecretKey {
        let file = read_json(directory, "kes.json", "aether-kes-sum-ed25519").unwrap();
        assert_eq!(file["period"].as_u64(), Some(3));
        let text = file["secret_key"].as_str().unwrap();
        KesSecretKey::from_bytes(&hex::decode(text).unwrap()).unwrap()
    }

    #[test]
    fn an_evolved_kes_key_replaces_the_one_on_disk() {
        let directory = tempfile::tempdir().unwrap();
        let mut kes = KesSecretKey::from_seed(&[4; 32], 3).unwrap();
        kes_file(directory.path(), &kes);
        for _ in 0..3 {
            kes.evolve().unwrap();
        }
        save_evolved_kes_key(directory.path(), &kes).unwrap();
        let saved = saved_key(directory.path());
        assert_eq!(saved.period(), 3);
        assert_eq!(saved.public_key(), kes.public_key());
        assert!(!directory.path().join("kes.json.tmp").exists());
        // Another key is never written over this one.
        let stranger = KesSecretKey::from_seed(&[5; 32], 3).unwrap();
        assert!(save_evolved_kes_key(directory.path(), &stranger).is_err());
        assert_eq!(saved_key(directory.path()).period(), 3);
    }
}
