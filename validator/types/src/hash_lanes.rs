//! Many short BLAKE3 hashes at once: one input per SIMD lane of BLAKE3's multi-input
//! compression.
//!
//! Hashing a short input one at a time runs one compression per 64-byte block, one block
//! after another. [`hash_runs`] takes inputs of at most one chunk (1024 bytes) and, for
//! each run of up to [`HASH_LANES`] consecutive inputs of equal length, compresses all
//! blocks but the last through `Platform::hash_many` (16 lanes with AVX-512, 8 with
//! AVX2), then the last block of each input (which ends the chunk and is the root) one
//! at a time with its true length. Inputs of exactly one block go through the lanes
//! whole ([`hash_blocks`] takes them as arrays, without allocating: the state tree's
//! leaf and node hashes). The result is exactly the mode's BLAKE3 hash of each input. `hash_many` is public but documented by the blake3 crate as unstable, so the
//! workspace pins blake3 to an exact version, and the tests compare every length and
//! lane count with the blake3 crate's own functions.

use std::sync::LazyLock;

use crate::Hash;

/// Inputs per multi-input compression call: the widest SIMD degree BLAKE3 has.
pub const HASH_LANES: usize = 16;

/// Bytes of a BLAKE3 block: the input of [`hash_blocks`].
pub const BLOCK_BYTES: usize = 64;
const CHUNK_BYTES: usize = 1024;

// BLAKE3 domain flags (specification, table 3).
const FLAG_CHUNK_START: u8 = 1;
const FLAG_CHUNK_END: u8 = 2;
const FLAG_ROOT: u8 = 8;
const FLAG_KEYED_HASH: u8 = 16;
const FLAG_DERIVE_KEY_MATERIAL: u8 = 64;

/// BLAKE3's IV (the key of the plain hash mode): SHA-256's initial words.
const IV: [u32; 8] = [
    0x6A09E667, 0xBB67AE85, 0x3C6EF372, 0xA54FF53A, 0x510E527F, 0x9B05688C, 0x1F83D9AB, 0x5BE0CD19,
];

static PLATFORM: LazyLock<blake3::platform::Platform> =
    LazyLock::new(blake3::platform::Platform::detect);

/// A BLAKE3 mode: its key words and flag.
#[derive(Debug, Clone, Copy)]
pub struct Mode {
    key_words: [u32; 8],
    flag: u8,
}

impl Mode {
    /// `blake3::hash`.
    pub fn plain() -> Mode {
        Mode {
            key_words: IV,
            flag: 0,
        }
    }

    /// `blake3::keyed_hash(key, ..)`.
    pub fn keyed(key: &[u8; 32]) -> Mode {
        Mode {
            key_words: blake3::platform::words_from_le_bytes_32(key),
            flag: FLAG_KEYED_HASH,
        }
    }

    /// `blake3::Hasher::new_derive_key(context)`.
    pub fn derive_key(context: &str) -> Mode {
        Mode {
            key_words: blake3::platform::words_from_le_bytes_32(
                &blake3::hazmat::hash_derive_key_context(context),
            ),
            flag: FLAG_DERIVE_KEY_MATERIAL,
        }
    }

    /// The hash of one input of any length in this mode.
    pub fn hash(&self, input: &[u8]) -> Hash {
        let mut hasher = match self.flag {
            0 => blake3::Hasher::new(),
            FLAG_KEYED_HASH => blake3::Hasher::new_keyed(
                &blake3::platform::le_bytes_from_words_32(&self.key_words),
            ),
            _ => blake3::hazmat::HasherExt::new_from_context_key(
                &blake3::platform::le_bytes_from_words_32(&self.key_words),
            ),
        };
        hasher.update(input);
        Hash(*hasher.finalize().as_bytes())
    }
}

/// The hash in `mode` of each of `inputs`, in order. Runs of equal-length inputs of 1 to
/// 1024 bytes share multi-input compressions; other inputs are hashed one by one.
pub fn hash_runs(mode: &Mode, inputs: &[&[u8]]) -> Vec<Hash> {
    let mut hashes = Vec::with_capacity(inputs.len());
    let mut start = 0;
    while start < inputs.len() {
        let len = inputs[start].len();
        let run = inputs[start..]
            .iter()
            .take(HASH_LANES)
            .take_while(|input| input.len() == len)
            .count();
        let group = &inputs[start..start + run];
        if len == BLOCK_BYTES && run > 1 {
            let mut lanes = [prefix::<BLOCK_BYTES>(group[0]); HASH_LANES];
            for (lane, input) in lanes.iter_mut().zip(group) {
                *lane = prefix(input);
            }
            let mut digests = [Hash::ZERO; HASH_LANES];
            hash_whole_blocks(mode, &lanes[..run], &mut digests[..run]);
            hashes.extend_from_slice(&digests[..run]);
        } else if (1..=CHUNK_BYTES).contains(&len) && run > 1 {
            hash_equal_lengths(mode, group, &mut hashes);
        } else {
            hashes.extend(group.iter().map(|input| mode.hash(input)));
        }
        start += run;
    }
    hashes
}

/// [`hash_runs`] for inputs in any order: inputs of equal length share multi-input
/// compressions wherever they are in `inputs` (packets from many senders interleave
/// lengths). The hashes come back in input order.
pub fn hash_grouped(mode: &Mode, inputs: &[&[u8]]) -> Vec<Hash> {
    let first_len = inputs.first().map_or(0, |input| input.len());
    if inputs.iter().all(|input| input.len() == first_len) {
        return hash_runs(mode, inputs);
    }
    let mut order: Vec<usize> = (0..inputs.len()).collect();
    order.sort_by_key(|&index| inputs[index].len());
    let sorted: Vec<&[u8]> = order.iter().map(|&index| inputs[index]).collect();
    let mut hashes = vec![Hash::ZERO; inputs.len()];
    for (index, hash) in order.into_iter().zip(hash_runs(mode, &sorted)) {
        hashes[index] = hash;
    }
    hashes
}

/// `out[i]` = the hash in `mode` of the one-block input `inputs[i]`, [`HASH_LANES`]
/// inputs per multi-input compression call.
pub fn hash_blocks(mode: &Mode, inputs: &[[u8; BLOCK_BYTES]], out: &mut [Hash]) {
    assert_eq!(inputs.len(), out.len(), "one output per input");
    for (input_chunk, out_chunk) in inputs.chunks(HASH_LANES).zip(out.chunks_mut(HASH_LANES)) {
        let mut lanes = [&input_chunk[0]; HASH_LANES];
        for (lane, input) in lanes.iter_mut().zip(input_chunk) {
            *lane = input;
        }
        hash_whole_blocks(mode, &lanes[..input_chunk.len()], out_chunk);
    }
}

/// One-block inputs (at most [`HASH_LANES`]) through one multi-input compression: the
/// block starts and ends the chunk and is the root.
fn hash_whole_blocks(mode: &Mode, lanes: &[&[u8; BLOCK_BYTES]], out: &mut [Hash]) {
    let mut digests = [0u8; 32 * HASH_LANES];
    let digests = &mut digests[..32 * lanes.len()];
    PLATFORM.hash_many(
        lanes,
        &mode.key_words,
        0,
        blake3::IncrementCounter::No,
        mode.flag | FLAG_ROOT,
        FLAG_CHUNK_START,
        FLAG_CHUNK_END,
        digests,
    );
    for (hash, digest) in out.iter_mut().zip(digests.chunks_exact(32)) {
        hash.0.copy_from_slice(digest);
    }
}

/// The first `N` bytes of `input` as an array.
fn prefix<const N: usize>(input: &[u8]) -> &[u8; N] {
    input[..N].try_into().expect("the input holds N bytes")
}

/// Appends the hashes of `inputs` (2 to [`HASH_LANES`], all of one length of 1 to 1024
/// bytes) to `out`.
fn hash_equal_lengths(mode: &Mode, inputs: &[&[u8]], out: &mut Vec<Hash>) {
    let len = inputs[0].len();
    assert!(inputs.len() <= HASH_LANES && inputs.iter().all(|input| input.len() == len));
    // Every block but the last goes through the lanes; the last (1 to 64 bytes) ends
    // the chunk and is the root.
    let leading_blocks = (len - 1) / BLOCK_BYTES;
    let mut chaining = [mode.key_words; HASH_LANES];
    if leading_blocks > 0 {
        let mut digests = [0u8; 32 * HASH_LANES];
        let digests = &mut digests[..32 * inputs.len()];
        hash_leading_blocks(mode, inputs, leading_blocks, digests);
        for (words, digest) in chaining.iter_mut().zip(digests.chunks_exact(32)) {
            *words = blake3::platform::words_from_le_bytes_32(
                digest.try_into().expect("32-byte digest"),
            );
        }
    }
    let tail_start = leading_blocks * BLOCK_BYTES;
    let tail_len = len - tail_start;
    let flags = mode.flag
        | FLAG_CHUNK_END
        | FLAG_ROOT
        | if leading_blocks == 0 {
            FLAG_CHUNK_START
        } else {
            0
        };
    for (input, mut words) in inputs.iter().zip(chaining) {
        let mut block = [0u8; BLOCK_BYTES];
        block[..tail_len].copy_from_slice(&input[tail_start..]);
        PLATFORM.compress_in_place(&mut words, &block, tail_len as u8, 0, flags);
        out.push(Hash(blake3::platform::le_bytes_from_words_32(&words)));
    }
}

/// The chaining value of each input after its first `blocks` blocks (1 to 15), into
/// `digests` (32 bytes per input).
fn hash_leading_blocks(mode: &Mode, inputs: &[&[u8]], blocks: usize, digests: &mut [u8]) {
    fn lanes<const N: usize>(mode: &Mode, inputs: &[&[u8]], digests: &mut [u8]) {
        let mut lanes = [prefix::<N>(inputs[0]); HASH_LANES];
        for (lane, input) in lanes.iter_mut().zip(inputs) {
            *lane = prefix(input);
        }
        PLATFORM.hash_many(
            &lanes[..inputs.len()],
            &mode.key_words,
            0,
            blake3::IncrementCounter::No,
            mode.flag,
            FLAG_CHUNK_START,
            0,
            digests,
        );
    }
    match blocks {
        1 => lanes::<64>(mode, inputs, digests),
        2 => lanes::<128>(mode, inputs, digests),
        3 => lanes::<192>(mode, inputs, digests),
        4 => lanes::<256>(mode, inputs, digests),
        5 => lanes::<320>(mode, inputs, digests),
        6 => lanes::<384>(mode, inputs, digests),
        7 => lanes::<448>(mode, inputs, digests),
        8 => lanes::<512>(mode, inputs, digests),
        9 => lanes::<576>(mode, inputs, digests),
        10 => lanes::<640>(mode, inputs, digests),
        11 => lanes::<704>(mode, inputs, digests),
        12 => lanes::<768>(mode, inputs, digests),
        13 => lanes::<832>(mode, inputs, digests),
        14 => lanes::<896>(mode, inputs, digests),
        15 => lanes::<960>(mode, inputs, digests),
        other => unreachable!("an input of one chunk has 1 to 15 leading blocks, not {other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each mode's batched hashes equal the blake3 crate's own, for every length a
    /// chunk allows (and past it), every lane count, and runs of mixed lengths.
    #[test]
    fn batched_hashes_equal_the_blake3_crate() {
        let key = [5u8; 32];
        let context = "aether test hash lanes";
        type Reference = Box<dyn Fn(&[u8]) -> [u8; 32]>;
        let modes: [(Mode, Reference); 3] = [
            (
                Mode::plain(),
                Box::new(|input| *blake3::hash(input).as_bytes()),
            ),
            (
                Mode::keyed(&key),
                Box::new(move |input| *blake3::keyed_hash(&key, input).as_bytes()),
            ),
            (
                Mode::derive_key(context),
                Box::new(move |input| blake3::derive_key(context, input)),
            ),
        ];
        let bytes: Vec<u8> = (0..2100u32).map(|i| (i * 31 + 7) as u8).collect();
        for (mode, reference) in &modes {
            let check = |inputs: &[&[u8]]| {
                let expected: Vec<Hash> =
                    inputs.iter().map(|input| Hash(reference(input))).collect();
                assert_eq!(hash_runs(mode, inputs), expected);
                assert_eq!(hash_grouped(mode, inputs), expected);
                for input in inputs {
                    assert_eq!(mode.hash(input), Hash(reference(input)));
                }
            };
            for len in (0..=1100)
                .step_by(7)
                .chain([63, 64, 65, 128, 1023, 1024, 1025])
            {
                for count in [1, 2, 15, 16, 17, 33] {
                    let inputs: Vec<&[u8]> = (0..count)
                        .map(|index| &bytes[index * 29 % 900..][..len])
                        .collect();
                    check(&inputs);
                }
            }
            // One-block inputs as arrays, for every count up to past two calls.
            for count in 0..=(2 * HASH_LANES + 3) {
                let blocks: Vec<[u8; BLOCK_BYTES]> = (0..count)
                    .map(|index| *prefix(&bytes[index * 13..]))
                    .collect();
                let mut out = vec![Hash::ZERO; count];
                hash_blocks(mode, &blocks, &mut out);
                let expected: Vec<Hash> =
                    blocks.iter().map(|block| Hash(reference(block))).collect();
                assert_eq!(out, expected, "{count} blocks");
            }
            let mixed: Vec<&[u8]> = [940, 940, 1000, 1000, 1000, 5, 940, 0, 0]
                .iter()
                .map(|&len| &bytes[..len])
                .collect();
            check(&mixed);
            // Interleaved lengths, as packets from many senders arrive: each input's
            // bytes differ, so a hash returned to the wrong position is caught.
            let interleaved: Vec<&[u8]> = (0..70usize)
                .map(|index| &bytes[index * 11..][..[250, 251, 250, 64, 1024, 3][index % 6]])
                .collect();
            check(&interleaved);
        }
    }
}
