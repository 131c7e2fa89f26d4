//! KZG polynomial commitments (EIP-4844) for AI-compute receipts, via `c-kzg`.
//!
//! A blob is 4096 field elements of BLS12-381's scalar field (32 bytes each, big-endian,
//! each below the field modulus). Its commitment and proofs are compressed G1 points
//! (48 bytes). The functions are exactly EIP-4844's, run by the Ethereum reference
//! implementation (c-kzg-4844) against the Ethereum KZG ceremony setup.
//!
//! Invariants:
//! - Every input is taken as plain bytes and checked for length here and for
//!   canonical encoding by c-kzg; a malformed input is an error, never a panic and
//!   never `Ok(false)` (so callers can tell "bad input" from "proof does not verify").
//! - The setup is either the one embedded in c-kzg (the Ethereum ceremony output) or one
//!   parsed from the text of a trusted-setup file; this module reads no files itself.

use c_kzg::{Blob, Bytes32, Bytes48, KzgSettings};
use thiserror::Error;

/// Bytes in one blob.
pub const BLOB_BYTES: usize = c_kzg::BYTES_PER_BLOB;
/// Bytes in a commitment or proof (a compressed G1 point).
pub const POINT_BYTES: usize = c_kzg::BYTES_PER_COMMITMENT;
/// Bytes in a field element.
pub const FIELD_ELEMENT_BYTES: usize = c_kzg::BYTES_PER_FIELD_ELEMENT;

const _: () = assert!(BLOB_BYTES == 4096 * FIELD_ELEMENT_BYTES);
const _: () = assert!(POINT_BYTES == c_kzg::BYTES_PER_PROOF);

/// Why a KZG operation failed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum KzgError {
    /// An input has the wrong number of bytes.
    #[error("{what} must be {expected} bytes, got {actual}")]
    WrongLength {
        /// Which input.
        what: &'static str,
        /// The length it must have.
        expected: usize,
        /// The length it had.
        actual: usize,
    },
    /// Input lists that must be parallel have different lengths.
    #[error("{blobs} blobs, {commitments} commitments and {proofs} proofs")]
    CountMismatch {
        /// Number of blobs.
        blobs: usize,
        /// Number of commitments.
        commitments: usize,
        /// Number of proofs.
        proofs: usize,
    },
    /// c-kzg rejected an input (a field element not below the modulus, bytes that are
    /// not a G1 point, a point outside the subgroup).
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// The trusted setup text could not be parsed.
    #[error("invalid trusted setup: {0}")]
    InvalidSetup(String),
}

/// A KZG context: the trusted setup every operation uses.
pub struct Kzg {
    settings: SettingsSource,
}

enum SettingsSource {
    Embedded(&'static KzgSettings),
    Parsed(Box<KzgSettings>),
}

impl Kzg {
    /// The Ethereum mainnet ceremony setup embedded in c-kzg (loaded once per process;
    /// the first call takes about two seconds).
    pub fn ethereum() -> Self {
        Self {
            settings: SettingsSource::Embedded(c_kzg::ethereum_kzg_settings(0)),
        }
    }

    /// A setup parsed from the text of a c-kzg `trusted_setup.txt` file.
    pub fn from_trusted_setup_text(text: &str) -> Result<Self, KzgError> {
        let settings = KzgSettings::parse_kzg_trusted_setup(text, 0)
            .map_err(|error| KzgError::InvalidSetup(format!("{error:?}")))?;
        Ok(Self {
            settings: SettingsSource::Parsed(Box::new(settings)),
        })
    }

    fn settings(&self) -> &KzgSettings {
        match &self.settings {
            SettingsSource::Embedded(settings) => settings,
            SettingsSource::Parsed(settings) => settings,
        }
    }

    /// EIP-4844 `blob_to_kzg_commitment`.
    pub fn blob_to_commitment(&self, blob: &[u8]) -> Result<[u8; POINT_BYTES], KzgError> {
        let blob = parse_blob(blob)?;
        let commitment = self
            .settings()
            .blob_to_kzg_commitment(&blob)
            .map_err(rejected)?;
        Ok(commitment.to_bytes().into_inner())
    }

    /// EIP-4844 `compute_kzg_proof`: the proof of the blob polynomial's value at `z`,
    /// and that value `y`.
    pub fn compute_proof(
        &self,
        blob: &[u8],
        z: &[u8],
    ) -> Result<([u8; POINT_BYTES], [u8; FIELD_ELEMENT_BYTES]), KzgError> {
        let blob = parse_blob(blob)?;
        let z = parse_field_element("z", z)?;
        let (proof, y) = self
            .settings()
            .compute_kzg_proof(&blob, &z)
            .map_err(rejected)?;
        let mut y_bytes = [0u8; FIELD_ELEMENT_BYTES];
        y_bytes.copy_from_slice(y.as_slice());
        Ok((proof.to_bytes().into_inner(), y_bytes))
    }

    /// EIP-4844 `verify_kzg_proof`: does `proof` show that the committed polynomial
    /// takes value `y` at `z`?
    pub fn verify_proof(
        &self,
        commitment: &[u8],
        z: &[u8],
        y: &[u8],
        proof: &[u8],
    ) -> Result<bool, KzgError> {
        let commitment = parse_point("commitment", commitment)?;
        let z = parse_field_element("z", z)?;
        let y = parse_field_element("y", y)?;
        let proof = parse_point("proof", proof)?;
        self.settings()
            .verify_kzg_proof(&commitment, &z, &y, &proof)
            .map_err(rejected)
    }

    /// EIP-4844 `compute_blob_kzg_proof`.
    pub fn compute_blob_proof(
        &self,
        blob: &[u8],
        commitment: &[u8],
    ) -> Result<[u8; POINT_BYTES], KzgError> {
        let blob = parse_blob(blob)?;
        let commitment = parse_point("commitment", commitment)?;
        let proof = self
            .settings()
            .compute_blob_kzg_proof(&blob, &commitment)
            .map_err(rejected)?;
        Ok(proof.to_bytes().into_inner())
    }

    /// EIP-4844 `verify_blob_kzg_proof`.
    pub fn verify_blob_proof(
        &self,
        blob: &[u8],
        commitment: &[u8],
        proof: &[u8],
    ) -> Result<bool, KzgError> {
        let blob = parse_blob(blob)?;
        let commitment = parse_point("commitment", commitment)?;
        let proof = parse_point("proof", proof)?;
        self.settings()
            .verify_blob_kzg_proof(&blob, &commitment, &proof)
            .map_err(rejected)
    }

    /// EIP-4844 `verify_blob_kzg_proof_batch`: true when every proof verifies (an
    /// empty batch is true, as in the specification).
    pub fn verify_blob_proof_batch(
        &self,
        blobs: &[&[u8]],
        commitments: &[&[u8]],
        proofs: &[&[u8]],
    ) -> Result<bool, KzgError> {
        if blobs.len() != commitments.len() || blobs.len() != proofs.len() {
            return Err(KzgError::CountMismatch {
                blobs: blobs.len(),
                commitments: commitments.len(),
                proofs: proofs.len(),
            });
        }
        let blobs: Vec<Blob> = blobs
            .iter()
            .map(|blob| parse_blob(blob))
            .collect::<Result<_, _>>()?;
        let commitments: Vec<Bytes48> = commitments
            .iter()
            .map(|commitment| parse_point("commitment", commitment))
            .collect::<Result<_, _>>()?;
        let proofs: Vec<Bytes48> = proofs
            .iter()
            .map(|proof| parse_point("proof", proof))
            .collect::<Result<_, _>>()?;
        self.settings()
            .verify_blob_kzg_proof_batch(&blobs, &commitments, &proofs)
            .map_err(rejected)
    }
}

fn check_length(what: &'static str, bytes: &[u8], expected: usize) -> Result<(), KzgError> {
    if bytes.len() == expected {
        Ok(())
    } else {
        Err(KzgError::WrongLength {
            what,
            expected,
            actual: bytes.len(),
        })
    }
}

fn parse_blob(bytes: &[u8]) -> Result<Blob, KzgError> {
    check_length("blob", bytes, BLOB_BYTES)?;
    Blob::from_bytes(bytes).map_err(rejected)
}

fn parse_point(what: &'static str, bytes: &[u8]) -> Result<Bytes48, KzgError> {
    check_length(what, bytes, POINT_BYTES)?;
    Bytes48::from_bytes(bytes).map_err(rejected)
}

fn parse_field_element(what: &'static str, bytes: &[u8]) -> Result<Bytes32, KzgError> {
    check_length(what, bytes, FIELD_ELEMENT_BYTES)?;
    Bytes32::from_bytes(bytes).map_err(rejected)
}

fn rejected(error: c_kzg::Error) -> KzgError {
    KzgError::InvalidInput(format!("{error:?}"))
}
