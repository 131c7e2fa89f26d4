//! Wallet files: `{"kind": "aether-wallet-ed25519", "public_key": hex, "address": hex,
//! "secret_seed": hex}`, created with mode 0600 and `O_EXCL`.

use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use aether_crypto::ed25519::Ed25519SecretKey;
use aether_types::{Hash, Lock};
use serde_json::{Value, json};
use thiserror::Error;

/// The wallet file's kind tag.
pub const WALLET_KIND: &str = "aether-wallet-ed25519";

/// A wallet file could not be made or read.
#[derive(Debug, Error)]
pub enum WalletError {
    /// Reading or writing failed.
    #[error("{path}: {source}")]
    Io {
        /// File.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// The file is not a wallet.
    #[error("{path}: {reason}")]
    Invalid {
        /// File.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// No randomness.
    #[error("cannot generate a key: {0}")]
    Random(String),
}

/// The address of an Ed25519 public key: the hash its public-key lock holds.
pub fn address_of(public_key: &[u8; 32]) -> Hash {
    Lock::for_public_key(public_key).hash()
}

/// A loaded wallet.
pub struct Wallet {
    /// The signing key.
    pub key: Ed25519SecretKey,
}

impl Wallet {
    /// Wraps a key.
    pub fn from_key(key: Ed25519SecretKey) -> Wallet {
        Wallet { key }
    }

    /// The wallet's address.
    pub fn address(&self) -> Hash {
        address_of(&self.key.public_key().0)
    }

    /// Creates a new wallet file at `path` (refuses to overwrite).
    pub fn create(path: &Path) -> Result<Wallet, WalletError> {
        let key =
            Ed25519SecretKey::generate().map_err(|error| WalletError::Random(error.to_string()))?;
        let wallet = Wallet { key };
        let contents = json!({
            "kind": WALLET_KIND,
            "public_key": hex::encode(wallet.key.public_key().0),
            "address": wallet.address().to_string(),
            "secret_seed": hex::encode(*wallet.key.seed()),
        });
        let io = |source| WalletError::Io {
            path: path.to_path_buf(),
            source,
        };
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
            .map_err(io)?;
        let mut text = serde_json::to_string_pretty(&contents).expect("JSON serialises");
        text.push('\n');
        file.write_all(text.as_bytes()).map_err(io)?;
        file.sync_all().map_err(io)?;
        Ok(wallet)
    }

    /// Loads the wallet file at `path`, checking that its public parts match the seed.
    pub fn load(path: &Path) -> Result<Wallet, WalletError> {
        let invalid = |reason: String| WalletError::Invalid {
            path: path.to_path_buf(),
            reason,
        };
        let text = std::fs::read_to_string(path).map_err(|source| WalletError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let value: Value =
            serde_json::from_str(&text).map_err(|error| invalid(format!("not JSON: {error}")))?;
        if value.get("kind").and_then(Value::as_str) != Some(WALLET_KIND) {
            return Err(invalid(format!(
                "not a wallet file (kind must be {WALLET_KIND:?})"
            )));
        }
        let seed_text = value
            .get("secret_seed")
            .and_then(Value::as_str)
            .ok_or_else(|| invalid("missing secret_seed".into()))?;
        let seed: [u8; 32] = hex::decode(seed_text)
            .ok()
            .and_then(|bytes| bytes.try_into().ok())
            .ok_or_else(|| invalid("secret_seed must be 64 hex characters".into()))?;
        let wallet = Wallet {
            key: Ed25519SecretKey::from_seed(&seed),
        };
        let stated = value.get("public_key").and_then(Value::as_str);
        if stated != Some(hex::encode(wallet.key.public_key().0).as_str()) {
            return Err(invalid("public_key does not match secret_seed".into()));
        }
        Ok(wallet)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_load_and_refuse_overwrite() {
        let directory = tempfile::tempdir().expect("temp dir");
        let path = directory.path().join("wallet.json");
        let created = Wallet::create(&path).expect("created");
        let loaded = Wallet::load(&path).expect("loads");
        assert_eq!(created.address(), loaded.address());
        assert!(Wallet::create(&path).is_err(), "never overwrites");
        let text = std::fs::read_to_string(&path).expect("read");
        std::fs::write(
            &path,
            text.replacen("\"public_key\": \"", "\"public_key\": \"00", 1),
        )
        .expect("write");
        assert!(matches!(
            Wallet::load(&path),
            Err(WalletError::Invalid { .. })
        ));
    }
}
