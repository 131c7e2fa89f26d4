//! Host-side preparation shared by every kernel: the parts of the ZIP-215 rule that
//! are byte-oriented or 64-bit heavy run here, the curve arithmetic runs on the device.
//!
//! For each signature the host checks that `S` is canonical (`S < ℓ`), computes
//! `k = SHA-512(R ‖ A ‖ M) mod ℓ` over the bytes as received, and packs a 128-byte
//! [`Record`] `A ‖ R ‖ S ‖ k`. A signature whose `S` is not canonical is decided here
//! (rejected) and its record is zeroed; the device's answer for it is ignored.
//!
//! Why SHA-512 on the host: messages are variable-length (the device would need
//! offsets and a length-dependent loop per thread), WGSL has no 64-bit integers, so a
//! WGSL SHA-512 would emulate every 64-bit add and rotate with pairs of `u32`, and the
//! hash is about 1% of the work of the curve arithmetic. Spread over the host's cores it
//! keeps pace with the device.

use curve25519_dalek::scalar::Scalar;
use rayon::prelude::*;
use sha2::{Digest, Sha512};

use crate::VerifyItem;

/// 32-bit words per record (`A ‖ R ‖ S ‖ k`, 32 bytes each).
pub const RECORD_WORDS: usize = 32;
/// Bytes per record.
pub const RECORD_BYTES: usize = 4 * RECORD_WORDS;
const _: () = assert!(RECORD_BYTES == 4 * 32);

/// Signatures per rayon task when preparing a batch.
const PREPARE_CHUNK: usize = 256;

/// One signature, ready for the device: every field is 32 little-endian bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record {
    /// The public key `A` as received.
    pub public_key: [u8; 32],
    /// The commitment `R` as received.
    pub commitment: [u8; 32],
    /// The response `S`, canonical (below ℓ).
    pub response: [u8; 32],
    /// The challenge `k = SHA-512(R ‖ A ‖ M) mod ℓ`.
    pub challenge: [u8; 32],
}

impl Record {
    /// The record as 32 little-endian words, in the order the kernels read them.
    pub fn to_words(&self, words: &mut [u32]) {
        assert_eq!(
            words.len(),
            RECORD_WORDS,
            "one record is {RECORD_WORDS} words"
        );
        let fields = [
            &self.public_key,
            &self.commitment,
            &self.response,
            &self.challenge,
        ];
        for (field_words, field) in words.chunks_exact_mut(8).zip(fields) {
            for (word, bytes) in field_words.iter_mut().zip(field.chunks_exact(4)) {
                *word = u32::from_le_bytes(bytes.try_into().expect("4 bytes"));
            }
        }
    }
}

/// The record of `item`, or `None` when `S` is not canonical (the rule rejects it).
pub fn prepare_item(item: &VerifyItem<'_>) -> Option<Record> {
    let signature = &item.signature.0;
    let commitment: [u8; 32] = signature[..32].try_into().expect("64 = 32 + 32");
    let response: [u8; 32] = signature[32..].try_into().expect("64 = 32 + 32");
    let canonical: Option<Scalar> = Scalar::from_canonical_bytes(response).into();
    canonical?;
    let mut hasher = Sha512::new();
    hasher.update(commitment);
    hasher.update(item.public_key.0);
    hasher.update(item.message);
    let wide: [u8; 64] = hasher.finalize().into();
    Some(Record {
        public_key: item.public_key.0,
        commitment,
        response,
        challenge: Scalar::from_bytes_mod_order_wide(&wide).to_bytes(),
    })
}

/// Prepares a batch in parallel on the current rayon pool: `records` gets
/// `RECORD_WORDS` words per item (zeros where `S` is not canonical) and `admissible`
/// says which items the device must decide (the others are rejected already).
pub fn prepare_batch(items: &[VerifyItem<'_>], records: &mut [u32], admissible: &mut [bool]) {
    assert_eq!(
        records.len(),
        items.len() * RECORD_WORDS,
        "record buffer size"
    );
    assert_eq!(
        admissible.len(),
        items.len(),
        "one admissible flag per item"
    );
    items
        .par_chunks(PREPARE_CHUNK)
        .zip(records.par_chunks_mut(PREPARE_CHUNK * RECORD_WORDS))
        .zip(admissible.par_chunks_mut(PREPARE_CHUNK))
        .for_each(|((item_chunk, record_chunk), admissible_chunk)| {
            for ((item, words), flag) in item_chunk
                .iter()
                .zip(record_chunk.chunks_exact_mut(RECORD_WORDS))
                .zip(admissible_chunk.iter_mut())
            {
                match prepare_item(item) {
                    Some(record) => {
                        record.to_words(words);
                        *flag = true;
                    }
                    None => {
                        words.fill(0);
                        *flag = false;
                    }
                }
            }
        });
}
