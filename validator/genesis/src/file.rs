//! The typed genesis ([`ClusterGenesis`]) and its JSON form.
//!
//! JSON goes through a private mirror with hex strings (`raw`), so serde reports
//! missing, unknown and mistyped fields by name, and hex decoding reports the field's
//! path; the public types hold decoded bytes.

use std::fs::OpenOptions;
use std::io::Write as _;
use std::path::Path;

use aether_crypto::bls::{PUBLIC_KEY_BYTES, SIGNATURE_BYTES};
use aether_crypto::ed25519::Ed25519PublicKey;
use aether_crypto::vrf::VrfPublicKey;
use aether_types::Hash;

use crate::error::GenesisError;

/// A cluster genesis (see the crate docs for every field's meaning and bounds).
///
/// Values from [`ClusterGenesis::load`] and [`ClusterGenesis::from_json`] are validated;
/// one built in code should be checked with [`ClusterGenesis::validate`] before use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterGenesis {
    /// Format version ([`crate::GENESIS_VERSION`]).
    pub version: u32,
    /// The cluster's name.
    pub chain_id: String,
    /// Creation time, ms since the Unix epoch (informational, but hashed).
    pub created_at_ms: u64,
    /// Slot length in milliseconds.
    pub slot_ms: u64,
    /// Slots per epoch.
    pub epoch_slots: u64,
    /// Slots per KES period.
    pub kes_slots_per_period: u64,
    /// KES tree depth of every validator's header key.
    pub kes_depth: u32,
    /// Nonce of epochs 0 and 1.
    pub genesis_nonce: Hash,
    /// The initial validators; position is the validator index.
    pub validators: Vec<GenesisValidator>,
    /// The faucet outputs created at genesis.
    pub faucet: GenesisFaucet,
}

/// One initial validator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenesisValidator {
    /// Operator label (unique).
    pub name: String,
    /// Ed25519 cold identity key.
    pub identity: Ed25519PublicKey,
    /// BLS12-381 vote key, compressed G1.
    pub vote_public_key: [u8; PUBLIC_KEY_BYTES],
    /// Proof of possession of the vote key, compressed G2.
    pub vote_proof_of_possession: [u8; SIGNATURE_BYTES],
    /// Leader-election VRF key.
    pub vrf_public_key: VrfPublicKey,
    /// Stake, base units.
    pub stake: u64,
}

/// The faucet outputs created at genesis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GenesisFaucet {
    /// Ed25519 key locking every faucet output.
    pub public_key: Ed25519PublicKey,
    /// Number of outputs.
    pub outputs: u32,
    /// AETH base units per output.
    pub output_aeth: u64,
}

mod raw {
    //! The JSON shape, with hex as strings.
    use serde::{Deserialize, Serialize};

    #[derive(Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Genesis {
        pub version: u32,
        pub chain_id: String,
        pub created_at_ms: u64,
        pub slot_ms: u64,
        pub epoch_slots: u64,
        pub kes_slots_per_period: u64,
        pub kes_depth: u32,
        pub genesis_nonce: String,
        pub validators: Vec<Validator>,
        pub faucet: Faucet,
    }

    #[derive(Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Validator {
        pub name: String,
        pub identity: String,
        pub vote_public_key: String,
        pub vote_proof_of_possession: String,
        pub vrf_public_key: String,
        pub stake: u64,
    }

    #[derive(Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Faucet {
        pub public_key: String,
        pub outputs: u32,
        pub output_aeth: u64,
    }
}

/// Decodes the hex field at `field` into exactly `N` bytes.
fn decode_hex<const N: usize>(field: &str, text: &str) -> Result<[u8; N], GenesisError> {
    let error = |reason: String| GenesisError::Hex {
        field: field.to_owned(),
        reason,
    };
    let bytes = hex::decode(text).map_err(|cause| error(format!("not hex ({cause})")))?;
    let length = bytes.len();
    bytes.try_into().map_err(|_| {
        error(format!(
            "expected {N} bytes ({} hex digits), got {length} bytes",
            2 * N
        ))
    })
}

/// Up to 48 characters of `text`'s line `line` (1-based) ending at `column` (1-based).
fn text_near(text: &str, line: usize, column: usize) -> String {
    let Some(line_text) = text.lines().nth(line.saturating_sub(1)) else {
        return String::new();
    };
    let characters: Vec<char> = line_text.chars().take(column).collect();
    let start = characters.len().saturating_sub(48);
    characters[start..]
        .iter()
        .collect::<String>()
        .trim()
        .to_owned()
}

impl ClusterGenesis {
    /// Parses and validates a genesis from JSON text.
    pub fn from_json(text: &str) -> Result<ClusterGenesis, GenesisError> {
        let raw: raw::Genesis =
            serde_json::from_str(text).map_err(|source| GenesisError::Json {
                near: text_near(text, source.line(), source.column()),
                source,
            })?;
        let genesis = ClusterGenesis::from_raw(raw)?;
        genesis.validate()?;
        Ok(genesis)
    }

    /// Reads, parses and validates the genesis file at `path`.
    pub fn load(path: &Path) -> Result<ClusterGenesis, GenesisError> {
        let text = std::fs::read_to_string(path).map_err(|source| GenesisError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        ClusterGenesis::from_json(&text)
    }

    /// The JSON form: pretty-printed, fields in the documented order, lowercase hex,
    /// ending in a newline.
    pub fn to_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(&self.to_raw()).expect("plain data serialises");
        text.push('\n');
        text
    }

    /// Validates, then writes the genesis to a new file at `path`; an existing file is
    /// never overwritten ([`GenesisError::AlreadyExists`]).
    pub fn save(&self, path: &Path) -> Result<(), GenesisError> {
        self.validate()?;
        let io = |source: std::io::Error| {
            if source.kind() == std::io::ErrorKind::AlreadyExists {
                GenesisError::AlreadyExists {
                    path: path.to_path_buf(),
                }
            } else {
                GenesisError::Io {
                    path: path.to_path_buf(),
                    source,
                }
            }
        };
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
            .map_err(io)?;
        file.write_all(self.to_json().as_bytes()).map_err(io)?;
        file.sync_all().map_err(io)
    }

    fn from_raw(raw: raw::Genesis) -> Result<ClusterGenesis, GenesisError> {
        let validators = raw
            .validators
            .into_iter()
            .enumerate()
            .map(|(index, validator)| {
                let field = |name: &str| format!("validators[{index}].{name}");
                Ok(GenesisValidator {
                    identity: Ed25519PublicKey(decode_hex(
                        &field("identity"),
                        &validator.identity,
                    )?),
                    vote_public_key: decode_hex(
                        &field("vote_public_key"),
                        &validator.vote_public_key,
                    )?,
                    vote_proof_of_possession: decode_hex(
                        &field("vote_proof_of_possession"),
                        &validator.vote_proof_of_possession,
                    )?,
                    vrf_public_key: VrfPublicKey(decode_hex(
                        &field("vrf_public_key"),
                        &validator.vrf_public_key,
                    )?),
                    name: validator.name,
                    stake: validator.stake,
                })
            })
            .collect::<Result<Vec<_>, GenesisError>>()?;
        Ok(ClusterGenesis {
            version: raw.version,
            chain_id: raw.chain_id,
            created_at_ms: raw.created_at_ms,
            slot_ms: raw.slot_ms,
            epoch_slots: raw.epoch_slots,
            kes_slots_per_period: raw.kes_slots_per_period,
            kes_depth: raw.kes_depth,
            genesis_nonce: Hash(decode_hex("genesis_nonce", &raw.genesis_nonce)?),
            validators,
            faucet: GenesisFaucet {
                public_key: Ed25519PublicKey(decode_hex(
                    "faucet.public_key",
                    &raw.faucet.public_key,
                )?),
                outputs: raw.faucet.outputs,
                output_aeth: raw.faucet.output_aeth,
            },
        })
    }

    fn to_raw(&self) -> raw::Genesis {
        raw::Genesis {
            version: self.version,
            chain_id: self.chain_id.clone(),
            created_at_ms: self.created_at_ms,
            slot_ms: self.slot_ms,
            epoch_slots: self.epoch_slots,
            kes_slots_per_period: self.kes_slots_per_period,
            kes_depth: self.kes_depth,
            genesis_nonce: hex::encode(self.genesis_nonce.0),
            validators: self
                .validators
                .iter()
                .map(|validator| raw::Validator {
                    name: validator.name.clone(),
                    identity: hex::encode(validator.identity.0),
                    vote_public_key: hex::encode(validator.vote_public_key),
                    vote_proof_of_possession: hex::encode(validator.vote_proof_of_possession),
                    vrf_public_key: hex::encode(validator.vrf_public_key.0),
                    stake: validator.stake,
                })
                .collect(),
            faucet: raw::Faucet {
                public_key: hex::encode(self.faucet.public_key.0),
                outputs: self.faucet.outputs,
                output_aeth: self.faucet.output_aeth,
            },
        }
    }
}
