//! KZG (EIP-4844) against the c-kzg-4844 reference cases in `../shared/vectors/kzg`,
//! with the Ethereum ceremony setup read from `../shared/vectors/kzg/trusted_setup.txt`.
//! A case whose `output` is null must fail.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use aether_crypto::kzg::{BLOB_BYTES, Kzg};

fn vectors_directory() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/vectors/kzg")
}

fn setup_from_file() -> &'static Kzg {
    static KZG: OnceLock<Kzg> = OnceLock::new();
    KZG.get_or_init(|| {
        let text = std::fs::read_to_string(vectors_directory().join("trusted_setup.txt"))
            .expect("trusted setup file");
        Kzg::from_trusted_setup_text(&text).expect("the ceremony setup parses")
    })
}

/// Every `data.yaml` of one function, as (case name, input, output).
fn cases(function: &str) -> Vec<(String, serde_yaml::Value, serde_yaml::Value)> {
    let directory = vectors_directory().join(function).join("kzg-mainnet");
    let mut entries: Vec<PathBuf> = std::fs::read_dir(&directory)
        .unwrap_or_else(|error| panic!("cannot list {}: {error}", directory.display()))
        .map(|entry| entry.unwrap().path())
        .collect();
    entries.sort();
    entries
        .into_iter()
        .map(|case_directory| {
            let text = std::fs::read_to_string(case_directory.join("data.yaml")).unwrap();
            let document: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
            (
                name_of(&case_directory),
                document["input"].clone(),
                document["output"].clone(),
            )
        })
        .collect()
}

fn name_of(path: &Path) -> String {
    path.file_name().unwrap().to_string_lossy().into_owned()
}

/// Decodes a `0x` hex string; malformed hex becomes an empty input, which every
/// function rejects by length, as the reference implementation rejects it.
fn bytes(value: &serde_yaml::Value) -> Vec<u8> {
    let text = value.as_str().expect("hex string");
    hex::decode(text.trim_start_matches("0x")).unwrap_or_default()
}

fn output_bytes(value: &serde_yaml::Value) -> Option<Vec<u8>> {
    value
        .as_str()
        .map(|text| hex::decode(text.trim_start_matches("0x")).unwrap())
}

#[test]
fn blob_to_kzg_commitment_reference_cases() {
    let kzg = setup_from_file();
    let all = cases("blob_to_kzg_commitment");
    assert_eq!(all.len(), 11);
    for (name, input, output) in all {
        let result = kzg.blob_to_commitment(&bytes(&input["blob"]));
        match output_bytes(&output) {
            None => assert!(result.is_err(), "{name}: must fail, got {result:?}"),
            Some(expected) => assert_eq!(result.unwrap().to_vec(), expected, "{name}"),
        }
    }
}

#[test]
fn compute_blob_kzg_proof_reference_cases() {
    let kzg = setup_from_file();
    let all = cases("compute_blob_kzg_proof");
    assert_eq!(all.len(), 15);
    for (name, input, output) in all {
        let result = kzg.compute_blob_proof(&bytes(&input["blob"]), &bytes(&input["commitment"]));
        match output_bytes(&output) {
            None => assert!(result.is_err(), "{name}: must fail, got {result:?}"),
            Some(expected) => assert_eq!(result.unwrap().to_vec(), expected, "{name}"),
        }
    }
}

#[test]
fn verify_kzg_proof_reference_cases() {
    let kzg = setup_from_file();
    let all = cases("verify_kzg_proof");
    assert_eq!(all.len(), 122);
    for (name, input, output) in all {
        let result = kzg.verify_proof(
            &bytes(&input["commitment"]),
            &bytes(&input["z"]),
            &bytes(&input["y"]),
            &bytes(&input["proof"]),
        );
        match output.as_bool() {
            None => assert!(result.is_err(), "{name}: must fail, got {result:?}"),
            Some(expected) => assert_eq!(result, Ok(expected), "{name}"),
        }
    }
}

/// A `verify_blob_kzg_proof` case whose inputs are well formed.
struct WellFormedCase {
    blob: Vec<u8>,
    commitment: Vec<u8>,
    proof: Vec<u8>,
    valid: bool,
}

#[test]
fn verify_blob_kzg_proof_reference_cases_and_batch_agreement() {
    let kzg = setup_from_file();
    let all = cases("verify_blob_kzg_proof");
    assert_eq!(all.len(), 29);
    let mut batchable: Vec<WellFormedCase> = Vec::new();
    for (name, input, output) in all {
        let (blob, commitment, proof) = (
            bytes(&input["blob"]),
            bytes(&input["commitment"]),
            bytes(&input["proof"]),
        );
        let result = kzg.verify_blob_proof(&blob, &commitment, &proof);
        match output.as_bool() {
            None => assert!(result.is_err(), "{name}: must fail, got {result:?}"),
            Some(expected) => {
                assert_eq!(result, Ok(expected), "{name}");
                batchable.push(WellFormedCase {
                    blob,
                    commitment,
                    proof,
                    valid: expected,
                });
            }
        }
    }
    // The batch of every well-formed case is valid exactly when each of them is, and
    // the batch of only the valid ones is valid.
    let verify_all = |selection: &[&WellFormedCase]| {
        let blobs: Vec<&[u8]> = selection.iter().map(|case| case.blob.as_slice()).collect();
        let commitments: Vec<&[u8]> = selection
            .iter()
            .map(|case| case.commitment.as_slice())
            .collect();
        let proofs: Vec<&[u8]> = selection.iter().map(|case| case.proof.as_slice()).collect();
        kzg.verify_blob_proof_batch(&blobs, &commitments, &proofs)
    };
    let every: Vec<_> = batchable.iter().collect();
    let valid_only: Vec<_> = batchable.iter().filter(|case| case.valid).collect();
    assert!(
        every.len() > valid_only.len(),
        "the set holds invalid proofs too"
    );
    assert_eq!(verify_all(&every), Ok(false));
    assert_eq!(verify_all(&valid_only), Ok(true));
    assert_eq!(verify_all(&[]), Ok(true));
    assert!(
        kzg.verify_blob_proof_batch(&[&valid_only[0].blob], &[], &[])
            .is_err()
    );
}

#[test]
fn compute_kzg_proof_round_trips_through_verify() {
    let kzg = setup_from_file();
    let mut blob = vec![0u8; BLOB_BYTES];
    for (index, element) in blob.chunks_mut(32).enumerate() {
        // Leading zero byte keeps every element below the field modulus.
        element[1..9].copy_from_slice(&(index as u64 * 0x9e37_79b9).to_be_bytes());
    }
    let commitment = kzg.blob_to_commitment(&blob).unwrap();
    let mut z = [0u8; 32];
    z[31] = 5;
    let (proof, y) = kzg.compute_proof(&blob, &z).unwrap();
    assert_eq!(kzg.verify_proof(&commitment, &z, &y, &proof), Ok(true));
    let mut wrong_y = y;
    wrong_y[31] ^= 1;
    assert_eq!(
        kzg.verify_proof(&commitment, &z, &wrong_y, &proof),
        Ok(false)
    );
    let blob_proof = kzg.compute_blob_proof(&blob, &commitment).unwrap();
    assert_eq!(
        kzg.verify_blob_proof(&blob, &commitment, &blob_proof),
        Ok(true)
    );
}

#[test]
fn embedded_setup_equals_the_shared_ceremony_file() {
    let embedded = Kzg::ethereum();
    let blob = vec![0x11u8; BLOB_BYTES]
        .into_iter()
        .enumerate()
        .map(|(index, byte)| if index % 32 == 0 { 0 } else { byte });
    let blob: Vec<u8> = blob.collect();
    assert_eq!(
        embedded.blob_to_commitment(&blob).unwrap(),
        setup_from_file().blob_to_commitment(&blob).unwrap()
    );
}
