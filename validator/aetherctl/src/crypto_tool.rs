//! `aetherctl crypto`: a JSON-lines conformance tool for the crypto primitives.
//!
//! Each input line is one JSON object with an `op` field; exactly one JSON line is
//! written per input line, in input order. Hex strings carry no `0x`. A malformed line
//! (bad JSON, bad hex, wrong length, unknown op, missing field) yields
//! `{"error":"<reason>"}` and processing goes on.
//!
//! `ed25519_verify` lines are not answered one by one: they are collected into
//! batches of `--batch` signatures and verified through the same [`SigVerify`] backend
//! the validator's sigverify stage uses, then all waiting answers are written in order.
//! A partial batch is verified as soon as no further input is already buffered, so the
//! tool also answers promptly when driven one line at a time.
//!
//! Where a well-formed input holds a value that is not a valid point (BLS keys and
//! signatures, VRF proofs), the answer is `"valid": false`, as the reference
//! implementations decide; KZG inputs that are not canonical field elements or points
//! are errors, as c-kzg-4844 raises them. `bls_aggregate` is stricter than the IETF
//! `Aggregate` (which adds any G2 points): a signature outside the prime-order subgroup
//! is an error, because the validator parses every signature with a subgroup check
//! before it may enter a certificate.

use std::io::{self, BufRead, BufReader, BufWriter, Write};

use aether_crypto::bls::{self, BlsPublicKey, BlsSecretKey, BlsSignature};
use aether_crypto::ed25519::{Ed25519PublicKey, Ed25519SecretKey, Ed25519Signature, SignedMessage};
use aether_crypto::kzg::Kzg;
use aether_crypto::vrf::{self, VrfProof, VrfPublicKey, VrfSecretKey};
use aether_kernels::{BackendKind, SigVerify, VerifyItem, open_backend};
use anyhow::{Context, Result, anyhow, bail};
use serde_json::{Value, json};

use crate::hex_field::{array, bytes, list, text};

/// Input buffer size; also bounds how many answered lines can wait for a batch.
const INPUT_BUFFER_BYTES: usize = 1 << 20;

/// One output line: answered, or waiting for the batch verification at an index.
enum Slot {
    Answered(Value),
    Waiting(usize),
}

/// What the tool holds between lines.
struct Session {
    backend: Box<dyn SigVerify>,
    batch_size: usize,
    kzg: Option<Kzg>,
    slots: Vec<Slot>,
    /// Ed25519 verifications waiting for their batch.
    pending: Vec<SignedMessage>,
}

/// Runs the tool over stdin and stdout until end of input.
pub fn run(batch_size: usize, backend_kind: BackendKind) -> Result<()> {
    let backend = open_backend(backend_kind, 0).context("opening the sigverify backend")?;
    let mut session = Session {
        backend,
        batch_size,
        kzg: None,
        slots: Vec::new(),
        pending: Vec::new(),
    };
    let mut input = BufReader::with_capacity(INPUT_BUFFER_BYTES, io::stdin());
    let mut output = BufWriter::new(io::stdout().lock());
    let mut line = Vec::new();
    loop {
        line.clear();
        if input
            .read_until(b'\n', &mut line)
            .context("reading stdin")?
            == 0
        {
            break;
        }
        session.accept_line(&line);
        if session.pending.len() >= session.batch_size || input.buffer().is_empty() {
            session.flush(&mut output)?;
        }
    }
    session.flush(&mut output)
}

impl Session {
    fn accept_line(&mut self, raw: &[u8]) {
        let outcome = std::str::from_utf8(raw)
            .map_err(|_| anyhow!("line is not UTF-8"))
            .and_then(|line| {
                let trimmed = line.trim_end_matches(['\n', '\r']);
                serde_json::from_str::<Value>(trimmed).map_err(|error| anyhow!("bad JSON: {error}"))
            })
            .and_then(|request| self.handle(&request));
        match outcome {
            Ok(slot) => self.slots.push(slot),
            Err(error) => self
                .slots
                .push(Slot::Answered(json!({ "error": format!("{error:#}") }))),
        }
    }

    /// Verifies the waiting batch and writes every held line, in order.
    fn flush(&mut self, output: &mut impl Write) -> Result<()> {
        let items: Vec<VerifyItem<'_>> = self.pending.iter().map(SignedMessage::as_item).collect();
        let mut decisions = vec![false; items.len()];
        self.backend
            .verify_batch(&items, &mut decisions)
            .context("signature verification")?;
        for slot in self.slots.drain(..) {
            let answer = match slot {
                Slot::Answered(value) => value,
                Slot::Waiting(index) => json!({ "valid": decisions[index] }),
            };
            serde_json::to_writer(&mut *output, &answer).context("writing stdout")?;
            output.write_all(b"\n").context("writing stdout")?;
        }
        self.pending.clear();
        output.flush().context("writing stdout")
    }

    fn handle(&mut self, request: &Value) -> Result<Slot> {
        if !request.is_object() {
            bail!("a request must be a JSON object");
        }
        let operation = text(request, "op")?;
        let answer = match operation {
            "ed25519_pubkey" => {
                let key = Ed25519SecretKey::from_seed(&array(request, "secret")?);
                json!({ "pubkey": hex::encode(key.public_key().0) })
            }
            "ed25519_sign" => {
                let key = Ed25519SecretKey::from_seed(&array(request, "secret")?);
                json!({ "sig": hex::encode(key.sign(&bytes(request, "msg")?).0) })
            }
            "ed25519_verify" => {
                self.pending.push(SignedMessage {
                    public_key: Ed25519PublicKey(array(request, "pubkey")?),
                    message: bytes(request, "msg")?,
                    signature: Ed25519Signature(array(request, "sig")?),
                });
                return Ok(Slot::Waiting(self.pending.len() - 1));
            }
            "bls_pubkey" => {
                let key = bls_secret(request)?;
                json!({ "pubkey": hex::encode(key.public_key().to_bytes()) })
            }
            "bls_sign" => {
                let key = bls_secret(request)?;
                json!({ "sig": hex::encode(key.sign(&bytes(request, "msg")?).to_bytes()) })
            }
            "bls_verify" => {
                let public_key: [u8; bls::PUBLIC_KEY_BYTES] = array(request, "pubkey")?;
                let message = bytes(request, "msg")?;
                let signature: [u8; bls::SIGNATURE_BYTES] = array(request, "sig")?;
                let valid = match (
                    BlsPublicKey::from_bytes(&public_key),
                    BlsSignature::from_bytes(&signature),
                ) {
                    (Ok(public_key), Ok(signature)) => {
                        bls::verify(&public_key, &message, &signature).is_ok()
                    }
                    _ => false,
                };
                json!({ "valid": valid })
            }
            "bls_aggregate" => {
                let signatures = list(request, "sigs")?
                    .into_iter()
                    .map(|raw| {
                        let raw: [u8; bls::SIGNATURE_BYTES] = crate::hex_field::exact("sigs", raw)?;
                        BlsSignature::from_bytes(&raw).map_err(anyhow::Error::from)
                    })
                    .collect::<Result<Vec<_>>>()?;
                json!({ "sig": hex::encode(bls::aggregate(&signatures)?.to_bytes()) })
            }
            "bls_fast_aggregate_verify" => {
                let raw_keys = list(request, "pubkeys")?;
                let message = bytes(request, "msg")?;
                let signature: [u8; bls::SIGNATURE_BYTES] = array(request, "sig")?;
                let mut public_keys = Vec::with_capacity(raw_keys.len());
                let mut all_keys_valid = true;
                for raw in raw_keys {
                    let raw: [u8; bls::PUBLIC_KEY_BYTES] = crate::hex_field::exact("pubkeys", raw)?;
                    match BlsPublicKey::from_bytes(&raw) {
                        Ok(key) => public_keys.push(key),
                        Err(_) => all_keys_valid = false,
                    }
                }
                let valid = all_keys_valid
                    && BlsSignature::from_bytes(&signature).is_ok_and(|signature| {
                        bls::fast_aggregate_verify(&public_keys, &message, &signature).is_ok()
                    });
                json!({ "valid": valid })
            }
            "vrf_pubkey" => {
                let key = VrfSecretKey::from_seed(&array(request, "secret")?);
                json!({ "pubkey": hex::encode(key.public_key().0) })
            }
            "vrf_prove" => {
                let key = VrfSecretKey::from_seed(&array(request, "secret")?);
                let proof = key.prove(&bytes(request, "alpha")?);
                let output = vrf::proof_to_hash(&proof).context("a fresh proof always hashes")?;
                json!({ "pi": hex::encode(proof.0), "beta": hex::encode(output.0) })
            }
            "vrf_verify" => {
                let public_key = VrfPublicKey(array(request, "pubkey")?);
                let alpha = bytes(request, "alpha")?;
                let proof = VrfProof(array(request, "pi")?);
                match vrf::verify(&public_key, &alpha, &proof) {
                    Ok(output) => json!({ "valid": true, "beta": hex::encode(output.0) }),
                    Err(_) => json!({ "valid": false, "beta": null }),
                }
            }
            "kzg_commit" => {
                let commitment = self.kzg().blob_to_commitment(&bytes(request, "blob")?)?;
                json!({ "commitment": hex::encode(commitment) })
            }
            "kzg_compute_blob_proof" => {
                let blob = bytes(request, "blob")?;
                let commitment = bytes(request, "commitment")?;
                let proof = self.kzg().compute_blob_proof(&blob, &commitment)?;
                json!({ "proof": hex::encode(proof) })
            }
            "kzg_verify_blob_proof" => {
                let blob = bytes(request, "blob")?;
                let commitment = bytes(request, "commitment")?;
                let proof = bytes(request, "proof")?;
                json!({ "valid": self.kzg().verify_blob_proof(&blob, &commitment, &proof)? })
            }
            unknown => bail!("unknown op {unknown:?}"),
        };
        Ok(Slot::Answered(answer))
    }

    /// The KZG context, loaded on first use (about two seconds).
    fn kzg(&mut self) -> &Kzg {
        self.kzg.get_or_insert_with(Kzg::ethereum)
    }
}

fn bls_secret(request: &Value) -> Result<BlsSecretKey> {
    Ok(BlsSecretKey::from_bytes(&array(request, "secret")?)?)
}
