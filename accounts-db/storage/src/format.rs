//! On-disk layout: the segment header and the record codec (pure functions, no I/O).
//!
//! ```text
//! segment header (64 bytes, offset 0 of every segment file)
//!   0..8    magic "AETHSTOR"
//!   8..12   format version, u32 LE (FORMAT_VERSION)
//!   12..16  header length, u32 LE (64)
//!   16..24  segment id, u64 LE (equals the number in the file name)
//!   24..56  salt: 32 random bytes, the key of every record checksum in this segment
//!   56..64  BLAKE3(bytes 0..56), first 8 bytes
//!
//! record (16-byte header, then the payload)
//!   0..8    checksum of bytes 8..end of record (see record_checksum):
//!             put, delete  XXH3-64(seed = salt bytes 0..8 as u64 LE), LE
//!             commit       BLAKE3-keyed(salt), first 8 bytes
//!   8       kind: 1 put, 2 delete, 3 commit
//!   9..12   zero
//!   12..16  payload length, u32 LE (bounded per kind, checked before any allocation)
//!   put     key (32) ‖ value (payload length - 32, at most MAX_VALUE_BYTES)
//!   delete  key (32)
//!   commit  seq u64 ‖ slot u64 ‖ block hash (32) ‖ state root (32) ‖ record count u32
//!           ‖ flags u32 ‖ records digest (32)                       (120 bytes)
//! ```
//!
//! The checksum key is per segment, so bytes chosen by a user (a value that contains an
//! encoded record) never verify as a commit record: recovery's search for a later
//! commit record cannot be fooled by value contents. Puts and deletes only count once
//! their group's commit record (keyed BLAKE3, with a keyed BLAKE3 digest of the group's
//! bytes) verifies, so their own checksum guards against damage, not forgery, and uses
//! XXH3 (version 1 used keyed BLAKE3 for every record: three compressions for a typical
//! put, written once and checked on every read and compaction copy).

use aether_types::Hash;

/// First 8 bytes of every segment file.
pub const SEGMENT_MAGIC: [u8; 8] = *b"AETHSTOR";
/// The only segment format this build reads and writes.
pub const FORMAT_VERSION: u32 = 2;
/// Bytes of the segment header.
pub const SEGMENT_HEADER_LEN: usize = 64;
/// Bytes of a record header.
pub const RECORD_HEADER_LEN: usize = 16;
/// Bytes of a key.
pub const KEY_LEN: usize = Hash::LEN;
/// Largest value the store accepts (1 MiB). A corrupt length field can therefore never
/// make recovery allocate more than `RECORD_HEADER_LEN + KEY_LEN + MAX_VALUE_BYTES`.
pub const MAX_VALUE_BYTES: usize = 1 << 20;
/// Bytes of a commit record's payload.
pub const COMMIT_PAYLOAD_LEN: usize = 8 + 8 + 32 + 32 + 4 + 4 + 32;
/// Bytes of a whole commit record.
pub const COMMIT_RECORD_LEN: usize = RECORD_HEADER_LEN + COMMIT_PAYLOAD_LEN;
/// Most put/delete records one group (a block or a compaction batch) may hold.
pub const MAX_GROUP_RECORDS: usize = 1 << 20;
/// Most bytes one group's records may occupy (512 MiB).
pub const MAX_GROUP_BYTES: usize = 512 << 20;
/// Bytes of the checksum at the start of a record and at the end of the segment header.
pub const CHECKSUM_LEN: usize = 8;

const _: () = assert!(COMMIT_PAYLOAD_LEN == 120);
const _: () = assert!(RECORD_HEADER_LEN + KEY_LEN + MAX_VALUE_BYTES <= u32::MAX as usize);
const _: () = assert!(MAX_GROUP_BYTES >= RECORD_HEADER_LEN + KEY_LEN + MAX_VALUE_BYTES);
const _: () = assert!(MAX_GROUP_BYTES < u32::MAX as usize);
const _: () = assert!(SEGMENT_HEADER_LEN == 8 + 4 + 4 + 8 + 32 + CHECKSUM_LEN);

/// The per-segment checksum key.
pub type Salt = [u8; 32];

/// Kinds of record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordKind {
    /// A key's new value.
    Put = 1,
    /// A key's removal (tombstone).
    Delete = 2,
    /// The end of a group; makes the group's records visible.
    Commit = 3,
}

/// Why bytes are not a valid record. Each names the first check that failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    /// Fewer bytes remain than the record needs.
    #[error("record truncated: needs {needed} bytes, {available} remain")]
    Truncated {
        /// Bytes the record needs (header, or header plus declared payload).
        needed: usize,
        /// Bytes that were there.
        available: usize,
    },
    /// The kind byte is not 1, 2 or 3.
    #[error("unknown record kind {kind}")]
    UnknownKind {
        /// The byte found.
        kind: u8,
    },
    /// Bytes 9..12 of the header are not zero.
    #[error("reserved header bytes are not zero")]
    ReservedNotZero,
    /// The payload length is outside the bounds of the kind.
    #[error("payload length {len} is out of bounds for a {kind:?} record")]
    LengthOutOfBounds {
        /// The record's kind.
        kind: RecordKind,
        /// The declared length.
        len: u32,
    },
    /// The checksum does not match the bytes.
    #[error("record checksum mismatch")]
    ChecksumMismatch,
    /// A commit record's flags hold unknown bits.
    #[error("unknown commit flags {flags:#x}")]
    UnknownFlags {
        /// The flags found.
        flags: u32,
    },
}

/// Why bytes are not a valid segment header.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    /// The file is shorter than a header.
    #[error("segment header truncated: {available} of {SEGMENT_HEADER_LEN} bytes")]
    Truncated {
        /// Bytes present.
        available: usize,
    },
    /// The file does not start with the magic bytes.
    #[error("not a segment file (bad magic)")]
    BadMagic,
    /// A format version other than [`FORMAT_VERSION`].
    #[error("unsupported segment format version {found} (this build reads {FORMAT_VERSION})")]
    UnsupportedVersion {
        /// The version in the file.
        found: u32,
    },
    /// The header length field is not [`SEGMENT_HEADER_LEN`].
    #[error("segment header length {found}, expected {SEGMENT_HEADER_LEN}")]
    BadLength {
        /// The length in the file.
        found: u32,
    },
    /// The header checksum does not match.
    #[error("segment header checksum mismatch")]
    ChecksumMismatch,
}

/// A segment's header fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentHeader {
    /// The segment's id (also in its file name).
    pub id: u64,
    /// The checksum key of the segment.
    pub salt: Salt,
}

impl SegmentHeader {
    /// The 64 header bytes.
    pub fn encode(&self) -> [u8; SEGMENT_HEADER_LEN] {
        let mut out = [0u8; SEGMENT_HEADER_LEN];
        out[0..8].copy_from_slice(&SEGMENT_MAGIC);
        out[8..12].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
        out[12..16].copy_from_slice(&(SEGMENT_HEADER_LEN as u32).to_le_bytes());
        out[16..24].copy_from_slice(&self.id.to_le_bytes());
        out[24..56].copy_from_slice(&self.salt);
        let checksum = blake3::hash(&out[..56]);
        out[56..64].copy_from_slice(&checksum.as_bytes()[..CHECKSUM_LEN]);
        out
    }

    /// Parses and checks a header: magic, then version, then length, then checksum (a
    /// future version may change the layout after the version field).
    pub fn decode(bytes: &[u8]) -> Result<SegmentHeader, HeaderError> {
        if bytes.len() < SEGMENT_HEADER_LEN {
            return Err(HeaderError::Truncated {
                available: bytes.len(),
            });
        }
        if bytes[0..8] != SEGMENT_MAGIC {
            return Err(HeaderError::BadMagic);
        }
        let version = read_u32(bytes, 8);
        if version != FORMAT_VERSION {
            return Err(HeaderError::UnsupportedVersion { found: version });
        }
        let length = read_u32(bytes, 12);
        if length as usize != SEGMENT_HEADER_LEN {
            return Err(HeaderError::BadLength { found: length });
        }
        if blake3::hash(&bytes[..56]).as_bytes()[..CHECKSUM_LEN] != bytes[56..64] {
            return Err(HeaderError::ChecksumMismatch);
        }
        let mut salt = [0u8; 32];
        salt.copy_from_slice(&bytes[24..56]);
        Ok(SegmentHeader {
            id: read_u64(bytes, 16),
            salt,
        })
    }
}

/// What a group is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupKind {
    /// A finalized block's writes.
    Block,
    /// Live records copied by compaction.
    Compaction,
}

const FLAG_COMPACTION: u32 = 1;

/// The fields of a commit record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitRecord {
    /// Group sequence number: +1 per group, in log order; later wins.
    pub seq: u64,
    /// The last finalized block's slot (for a compaction group: the block that was last
    /// when the group was written).
    pub slot: u64,
    /// That block's hash.
    pub block_hash: Hash,
    /// That block's state root.
    pub state_root: Hash,
    /// Put and delete records in the group.
    pub record_count: u32,
    /// Block or compaction.
    pub kind: GroupKind,
    /// BLAKE3-keyed(salt) over the exact bytes of the group's records.
    pub records_digest: [u8; 32],
}

/// A decoded record, borrowing its value from the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record<'a> {
    /// A key's new value.
    Put {
        /// The key.
        key: Hash,
        /// The value bytes.
        value: &'a [u8],
    },
    /// A key's removal.
    Delete {
        /// The key.
        key: Hash,
    },
    /// The end of a group.
    Commit(CommitRecord),
}

/// A record header's checked fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordHeader {
    /// The kind.
    pub kind: RecordKind,
    /// Payload bytes after the header (within the kind's bounds).
    pub payload_len: u32,
}

impl RecordHeader {
    /// Header plus payload.
    pub fn record_len(&self) -> usize {
        RECORD_HEADER_LEN + self.payload_len as usize
    }
}

/// Checks a record header: kind, reserved bytes and payload bounds. Does not check the
/// checksum (that needs the payload).
pub fn decode_header(bytes: &[u8]) -> Result<RecordHeader, RecordError> {
    if bytes.len() < RECORD_HEADER_LEN {
        return Err(RecordError::Truncated {
            needed: RECORD_HEADER_LEN,
            available: bytes.len(),
        });
    }
    let kind = match bytes[8] {
        1 => RecordKind::Put,
        2 => RecordKind::Delete,
        3 => RecordKind::Commit,
        kind => return Err(RecordError::UnknownKind { kind }),
    };
    if bytes[9..12] != [0, 0, 0] {
        return Err(RecordError::ReservedNotZero);
    }
    let payload_len = read_u32(bytes, 12);
    let in_bounds = match kind {
        RecordKind::Put => (KEY_LEN..=KEY_LEN + MAX_VALUE_BYTES).contains(&(payload_len as usize)),
        RecordKind::Delete => payload_len as usize == KEY_LEN,
        RecordKind::Commit => payload_len as usize == COMMIT_PAYLOAD_LEN,
    };
    if !in_bounds {
        return Err(RecordError::LengthOutOfBounds {
            kind,
            len: payload_len,
        });
    }
    Ok(RecordHeader { kind, payload_len })
}

/// Decodes the record at the start of `bytes` and verifies its checksum; returns it and
/// its length. Trailing bytes are left alone.
pub fn decode_record<'a>(salt: &Salt, bytes: &'a [u8]) -> Result<(Record<'a>, usize), RecordError> {
    let header = decode_header(bytes)?;
    let len = header.record_len();
    if bytes.len() < len {
        return Err(RecordError::Truncated {
            needed: len,
            available: bytes.len(),
        });
    }
    let record = &bytes[..len];
    if record_checksum(salt, header.kind, &record[CHECKSUM_LEN..]) != record[..CHECKSUM_LEN] {
        return Err(RecordError::ChecksumMismatch);
    }
    let payload = &record[RECORD_HEADER_LEN..];
    let decoded = match header.kind {
        RecordKind::Put => Record::Put {
            key: read_hash(payload, 0),
            value: &payload[KEY_LEN..],
        },
        RecordKind::Delete => Record::Delete {
            key: read_hash(payload, 0),
        },
        RecordKind::Commit => {
            let flags = read_u32(payload, 84);
            let kind = match flags {
                0 => GroupKind::Block,
                FLAG_COMPACTION => GroupKind::Compaction,
                flags => return Err(RecordError::UnknownFlags { flags }),
            };
            let mut records_digest = [0u8; 32];
            records_digest.copy_from_slice(&payload[88..120]);
            Record::Commit(CommitRecord {
                seq: read_u64(payload, 0),
                slot: read_u64(payload, 8),
                block_hash: read_hash(payload, 16),
                state_root: read_hash(payload, 48),
                record_count: read_u32(payload, 80),
                kind,
                records_digest,
            })
        }
    };
    Ok((decoded, len))
}

/// Appends a put record; returns its length.
pub fn encode_put(out: &mut Vec<u8>, salt: &Salt, key: &Hash, value: &[u8]) -> usize {
    assert!(
        value.len() <= MAX_VALUE_BYTES,
        "caller checks the value size"
    );
    encode_record(out, salt, RecordKind::Put, &[key.as_bytes(), value])
}

/// Appends a delete record; returns its length.
pub fn encode_delete(out: &mut Vec<u8>, salt: &Salt, key: &Hash) -> usize {
    encode_record(out, salt, RecordKind::Delete, &[key.as_bytes()])
}

/// Appends a commit record; returns its length.
pub fn encode_commit(out: &mut Vec<u8>, salt: &Salt, commit: &CommitRecord) -> usize {
    let flags = match commit.kind {
        GroupKind::Block => 0,
        GroupKind::Compaction => FLAG_COMPACTION,
    };
    let len = encode_record(
        out,
        salt,
        RecordKind::Commit,
        &[
            &commit.seq.to_le_bytes(),
            &commit.slot.to_le_bytes(),
            commit.block_hash.as_bytes(),
            commit.state_root.as_bytes(),
            &commit.record_count.to_le_bytes(),
            &flags.to_le_bytes(),
            &commit.records_digest,
        ],
    );
    assert_eq!(len, COMMIT_RECORD_LEN);
    len
}

fn encode_record(out: &mut Vec<u8>, salt: &Salt, kind: RecordKind, parts: &[&[u8]]) -> usize {
    let start = out.len();
    let payload_len: usize = parts.iter().map(|part| part.len()).sum();
    out.extend_from_slice(&[0u8; CHECKSUM_LEN]);
    out.extend_from_slice(&[kind as u8, 0, 0, 0]);
    out.extend_from_slice(&(payload_len as u32).to_le_bytes());
    for part in parts {
        out.extend_from_slice(part);
    }
    let sum = record_checksum(salt, kind, &out[start + CHECKSUM_LEN..]);
    out[start..start + CHECKSUM_LEN].copy_from_slice(&sum);
    out.len() - start
}

/// The checksum of a record of `kind` whose bytes after the checksum are `bytes`: for a
/// commit record the first 8 bytes of BLAKE3-keyed(salt, bytes); for a put or delete
/// XXH3-64 seeded with the salt's first 8 bytes (a little-endian u64).
pub fn record_checksum(salt: &Salt, kind: RecordKind, bytes: &[u8]) -> [u8; CHECKSUM_LEN] {
    match kind {
        RecordKind::Commit => {
            let mut out = [0u8; CHECKSUM_LEN];
            out.copy_from_slice(&blake3::keyed_hash(salt, bytes).as_bytes()[..CHECKSUM_LEN]);
            out
        }
        RecordKind::Put | RecordKind::Delete => {
            let seed = read_u64(salt, 0);
            twox_hash::XxHash3_64::oneshot_with_seed(seed, bytes).to_le_bytes()
        }
    }
}

/// Whether a valid commit record starts at `bytes[0]` (used to tell a torn tail from
/// corruption that has committed data after it).
pub fn is_commit_record(salt: &Salt, bytes: &[u8]) -> bool {
    // Cheap filters first: kind byte, reserved bytes and the fixed length.
    bytes.len() >= COMMIT_RECORD_LEN
        && bytes[8] == RecordKind::Commit as u8
        && bytes[9..12] == [0, 0, 0]
        && read_u32(bytes, 12) as usize == COMMIT_PAYLOAD_LEN
        && matches!(decode_record(salt, bytes), Ok((Record::Commit(_), _)))
}

fn read_u32(bytes: &[u8], at: usize) -> u32 {
    let mut raw = [0u8; 4];
    raw.copy_from_slice(&bytes[at..at + 4]);
    u32::from_le_bytes(raw)
}

fn read_u64(bytes: &[u8], at: usize) -> u64 {
    let mut raw = [0u8; 8];
    raw.copy_from_slice(&bytes[at..at + 8]);
    u64::from_le_bytes(raw)
}

fn read_hash(bytes: &[u8], at: usize) -> Hash {
    let mut raw = [0u8; 32];
    raw.copy_from_slice(&bytes[at..at + 32]);
    Hash(raw)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SALT: Salt = [7u8; 32];

    fn sample_commit() -> CommitRecord {
        CommitRecord {
            seq: 9,
            slot: 42,
            block_hash: Hash::digest(b"block"),
            state_root: Hash::digest(b"root"),
            record_count: 2,
            kind: GroupKind::Block,
            records_digest: [3u8; 32],
        }
    }

    /// One record of each kind, concatenated, with each record's expected decoding.
    fn sample_log() -> (Vec<u8>, Vec<(Record<'static>, usize)>) {
        let key = Hash::digest(b"k");
        let mut bytes = Vec::new();
        let put_len = encode_put(&mut bytes, &SALT, &key, b"value bytes");
        let delete_len = encode_delete(&mut bytes, &SALT, &key);
        let commit_len = encode_commit(&mut bytes, &SALT, &sample_commit());
        let expected = vec![
            (
                Record::Put {
                    key,
                    value: b"value bytes",
                },
                put_len,
            ),
            (Record::Delete { key }, delete_len),
            (Record::Commit(sample_commit()), commit_len),
        ];
        (bytes, expected)
    }

    #[test]
    fn records_round_trip() {
        let (bytes, expected) = sample_log();
        let mut at = 0;
        for (record, len) in expected {
            let (decoded, decoded_len) = decode_record(&SALT, &bytes[at..]).unwrap();
            assert_eq!((decoded, decoded_len), (record, len));
            at += len;
        }
        assert_eq!(at, bytes.len());
        // An empty value and the largest value round-trip too.
        for size in [0, MAX_VALUE_BYTES] {
            let mut out = Vec::new();
            let value = vec![0xa5; size];
            encode_put(&mut out, &SALT, &Hash::ZERO, &value);
            let (record, len) = decode_record(&SALT, &out).unwrap();
            assert_eq!(len, out.len());
            assert_eq!(
                record,
                Record::Put {
                    key: Hash::ZERO,
                    value: &value
                }
            );
        }
    }

    #[test]
    fn truncation_at_every_byte_is_a_truncated_error() {
        let (bytes, expected) = sample_log();
        let mut start = 0;
        for (_, len) in expected {
            for cut in 0..len {
                let error = decode_record(&SALT, &bytes[start..start + cut]).unwrap_err();
                assert!(
                    matches!(error, RecordError::Truncated { available, .. } if available == cut),
                    "cut {cut}: {error:?}"
                );
            }
            start += len;
        }
    }

    #[test]
    fn every_bit_flip_is_detected() {
        let (bytes, expected) = sample_log();
        let mut start = 0;
        for (_, len) in expected {
            for bit in 0..len * 8 {
                let mut flipped = bytes[start..start + len].to_vec();
                flipped[bit / 8] ^= 1 << (bit % 8);
                // A flip may turn the length into a longer (truncated) record, an unknown
                // kind, an out-of-bounds length or a checksum mismatch: never a record.
                assert!(
                    decode_record(&SALT, &flipped).is_err(),
                    "bit {bit} of a {len}-byte record"
                );
            }
            start += len;
        }
    }

    /// Each kind's checksum is the documented construction over bytes 8.. of the record.
    #[test]
    fn checksums_are_the_documented_functions() {
        let mut salt = [0u8; 32];
        for (index, byte) in salt.iter_mut().enumerate() {
            *byte = index as u8 + 1;
        }
        let seed = u64::from_le_bytes([1, 2, 3, 4, 5, 6, 7, 8]);
        let mut bytes = Vec::new();
        let key = Hash::digest(b"k");
        let put_len = encode_put(&mut bytes, &salt, &key, b"value");
        encode_delete(&mut bytes, &salt, &key);
        encode_commit(&mut bytes, &salt, &sample_commit());
        let (put, rest) = bytes.split_at(put_len);
        let (delete, commit) = rest.split_at(RECORD_HEADER_LEN + KEY_LEN);
        for record in [put, delete] {
            assert_eq!(
                record[..CHECKSUM_LEN],
                twox_hash::XxHash3_64::oneshot_with_seed(seed, &record[CHECKSUM_LEN..])
                    .to_le_bytes()
            );
        }
        assert_eq!(
            commit[..CHECKSUM_LEN],
            blake3::keyed_hash(&salt, &commit[CHECKSUM_LEN..]).as_bytes()[..CHECKSUM_LEN]
        );
    }

    #[test]
    fn another_segments_salt_does_not_verify() {
        let (bytes, _) = sample_log();
        assert_eq!(
            decode_record(&[8u8; 32], &bytes),
            Err(RecordError::ChecksumMismatch)
        );
        assert!(is_commit_record(
            &SALT,
            &bytes[bytes.len() - COMMIT_RECORD_LEN..]
        ));
        assert!(!is_commit_record(
            &[8u8; 32],
            &bytes[bytes.len() - COMMIT_RECORD_LEN..]
        ));
        assert!(!is_commit_record(&SALT, &bytes));
    }

    #[test]
    fn bad_lengths_are_rejected_before_reading_the_payload() {
        let mut header = [0u8; RECORD_HEADER_LEN];
        let cases: [(u8, u32, RecordError); 5] = [
            (
                1,
                31,
                RecordError::LengthOutOfBounds {
                    kind: RecordKind::Put,
                    len: 31,
                },
            ),
            (
                1,
                (KEY_LEN + MAX_VALUE_BYTES + 1) as u32,
                RecordError::LengthOutOfBounds {
                    kind: RecordKind::Put,
                    len: (KEY_LEN + MAX_VALUE_BYTES + 1) as u32,
                },
            ),
            (
                2,
                33,
                RecordError::LengthOutOfBounds {
                    kind: RecordKind::Delete,
                    len: 33,
                },
            ),
            (
                3,
                u32::MAX,
                RecordError::LengthOutOfBounds {
                    kind: RecordKind::Commit,
                    len: u32::MAX,
                },
            ),
            (0, 32, RecordError::UnknownKind { kind: 0 }),
        ];
        for (kind, len, expected) in cases {
            header[8] = kind;
            header[12..16].copy_from_slice(&len.to_le_bytes());
            assert_eq!(decode_header(&header), Err(expected));
        }
        header[8] = 2;
        header[10] = 1;
        assert_eq!(decode_header(&header), Err(RecordError::ReservedNotZero));
    }

    #[test]
    fn segment_header_checks_magic_version_length_checksum() {
        let header = SegmentHeader { id: 5, salt: SALT };
        let bytes = header.encode();
        assert_eq!(SegmentHeader::decode(&bytes), Ok(header));
        assert_eq!(
            SegmentHeader::decode(&bytes[..10]),
            Err(HeaderError::Truncated { available: 10 })
        );
        let mut bad = bytes;
        bad[0] = b'X';
        assert_eq!(SegmentHeader::decode(&bad), Err(HeaderError::BadMagic));
        // Version 1 (keyed BLAKE3 on every record) and an unknown future version.
        for version in [1u32, 3] {
            let mut bad = bytes;
            bad[8..12].copy_from_slice(&version.to_le_bytes());
            assert_eq!(
                SegmentHeader::decode(&bad),
                Err(HeaderError::UnsupportedVersion { found: version })
            );
        }
        let mut bad = bytes;
        bad[12] = 65;
        assert_eq!(
            SegmentHeader::decode(&bad),
            Err(HeaderError::BadLength { found: 65 })
        );
        for byte in 16..64 {
            let mut bad = bytes;
            bad[byte] ^= 0x10;
            assert_eq!(
                SegmentHeader::decode(&bad),
                Err(HeaderError::ChecksumMismatch),
                "byte {byte}"
            );
        }
    }

    #[test]
    fn unknown_commit_flags_are_rejected() {
        let mut bytes = Vec::new();
        encode_commit(&mut bytes, &SALT, &sample_commit());
        // Set flags to 2 and re-seal the checksum so only the flags check can fail.
        let flags_at = RECORD_HEADER_LEN + 84;
        bytes[flags_at..flags_at + 4].copy_from_slice(&2u32.to_le_bytes());
        let sum = record_checksum(&SALT, RecordKind::Commit, &bytes[CHECKSUM_LEN..]);
        bytes[..CHECKSUM_LEN].copy_from_slice(&sum);
        assert_eq!(
            decode_record(&SALT, &bytes),
            Err(RecordError::UnknownFlags { flags: 2 })
        );
    }
}
