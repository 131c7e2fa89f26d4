//! One segment file: naming, durable creation, header validation and positioned reads.
//!
//! Readers share a segment through an `Arc<Segment>`; the file is unlinked only by
//! compaction's reaper once no other `Arc` exists (see `compaction.rs`), so a read that
//! started before a compaction always finds its bytes.

use std::fs::{self, File, OpenOptions};
use std::io::Read;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use aether_types::Hash;

use crate::error::{Inconsistency, Result, StorageError};
use crate::format::{
    FORMAT_VERSION, HeaderError, KEY_LEN, RECORD_HEADER_LEN, Record, SEGMENT_HEADER_LEN, Salt,
    SegmentHeader, decode_record,
};
use crate::index::Location;

const NAME_PREFIX: &str = "segment-";
const NAME_SUFFIX: &str = ".dat";
const TEMP_SUFFIX: &str = ".dat.tmp";

/// What a directory entry's name says it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FileKind {
    /// `segment-NNNNNN.dat`.
    Segment(u32),
    /// `segment-NNNNNN.dat.tmp`: a segment whose creation did not finish.
    Temporary,
    /// A name with the segment prefix that does not parse (an error: never guessed at).
    Malformed,
    /// Anything else (the lock file, files of other tools): left alone.
    Other,
}

/// Classifies a file name in the store directory.
pub(crate) fn classify(name: &str) -> FileKind {
    let Some(rest) = name.strip_prefix(NAME_PREFIX) else {
        return FileKind::Other;
    };
    if rest.ends_with(TEMP_SUFFIX) {
        return FileKind::Temporary;
    }
    let Some(digits) = rest.strip_suffix(NAME_SUFFIX) else {
        return FileKind::Malformed;
    };
    match digits.parse::<u32>() {
        // Only the canonical spelling counts, so two names never map to one id.
        Ok(id) if id > 0 && segment_file_name(id) == name => FileKind::Segment(id),
        _ => FileKind::Malformed,
    }
}

/// `segment-000042.dat`.
pub(crate) fn segment_file_name(id: u32) -> String {
    format!("{NAME_PREFIX}{id:06}{NAME_SUFFIX}")
}

/// fsyncs a directory so that creations, renames and unlinks in it are durable.
pub(crate) fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|handle| handle.sync_all())
        .map_err(|source| StorageError::io("fsync directory", dir, None, source))
}

/// An open segment file.
pub(crate) struct Segment {
    id: u32,
    path: PathBuf,
    file: File,
    salt: Salt,
}

impl std::fmt::Debug for Segment {
    /// Id and path only (the salt is a checksum key, and noise in logs).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Segment")
            .field("id", &self.id)
            .field("path", &self.path)
            .finish()
    }
}

impl Segment {
    /// Creates segment `id` durably: header written to a temporary file, fsynced, renamed
    /// into place, directory fsynced. A crash leaves either no segment or a complete
    /// header (a stale temporary file is removed by recovery).
    pub(crate) fn create(dir: &Path, id: u32) -> Result<Segment> {
        let path = dir.join(segment_file_name(id));
        let temp = dir.join(format!("{}.tmp", segment_file_name(id)));
        let salt = fresh_salt(id);
        let header = SegmentHeader {
            id: u64::from(id),
            salt,
        }
        .encode();
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&temp)
            .map_err(|source| StorageError::io("create", &temp, None, source))?;
        file.write_all_at(&header, 0)
            .map_err(|source| StorageError::io("write", &temp, Some(0), source))?;
        file.sync_all()
            .map_err(|source| StorageError::io("fsync", &temp, None, source))?;
        fs::rename(&temp, &path)
            .map_err(|source| StorageError::io("rename", &temp, None, source))?;
        sync_dir(dir)?;
        Ok(Segment {
            id,
            path,
            file,
            salt,
        })
    }

    /// Opens segment `id` and checks its header; returns it and the file's length.
    pub(crate) fn open(dir: &Path, id: u32) -> Result<(Segment, u64)> {
        let path = dir.join(segment_file_name(id));
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .map_err(|source| StorageError::io("open", &path, None, source))?;
        let len = file
            .metadata()
            .map_err(|source| StorageError::io("stat", &path, None, source))?
            .len();
        let mut header = vec![0u8; SEGMENT_HEADER_LEN.min(len as usize)];
        file.read_exact_at(&mut header, 0)
            .map_err(|source| StorageError::io("read", &path, Some(0), source))?;
        let header = match SegmentHeader::decode(&header) {
            Ok(header) => header,
            Err(HeaderError::UnsupportedVersion { found }) => {
                return Err(StorageError::UnsupportedVersion {
                    path,
                    found,
                    supported: FORMAT_VERSION,
                });
            }
            Err(reason) => return Err(StorageError::BadSegmentHeader { path, reason }),
        };
        if header.id != u64::from(id) {
            return Err(StorageError::Inconsistent {
                path,
                offset: 16,
                reason: Inconsistency::SegmentIdMismatch {
                    in_header: header.id,
                    in_name: id,
                },
            });
        }
        let segment = Segment {
            id,
            path,
            file,
            salt: header.salt,
        };
        Ok((segment, len))
    }

    /// The segment's id.
    pub(crate) fn id(&self) -> u32 {
        self.id
    }

    /// The segment's path.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// The open file.
    pub(crate) fn file(&self) -> &File {
        &self.file
    }

    /// The checksum key of this segment.
    pub(crate) fn salt(&self) -> &Salt {
        &self.salt
    }

    /// Reads exactly `buf.len()` bytes at `offset`.
    pub(crate) fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> Result<()> {
        self.file
            .read_exact_at(buf, offset)
            .map_err(|source| StorageError::io("read", &self.path, Some(offset), source))
    }

    /// Reads the put record at `location`, verifies its checksum and key, and returns
    /// the value (check after reading: the index is never trusted blindly).
    pub(crate) fn read_value(&self, location: Location, key: &Hash) -> Result<Vec<u8>> {
        assert_eq!(location.segment, self.id, "location of another segment");
        let mut record = vec![0u8; location.len as usize];
        self.read_exact_at(&mut record, location.offset)?;
        match decode_record(&self.salt, &record) {
            Ok((Record::Put { key: found, .. }, len)) if found == *key && len == record.len() => {}
            Ok(_) => {
                return Err(StorageError::Inconsistent {
                    path: self.path.clone(),
                    offset: location.offset,
                    reason: Inconsistency::IndexMismatch,
                });
            }
            Err(reason) => {
                return Err(StorageError::CorruptRecord {
                    path: self.path.clone(),
                    offset: location.offset,
                    reason,
                });
            }
        }
        record.drain(..RECORD_HEADER_LEN + KEY_LEN);
        Ok(record)
    }

    /// Truncates the file to `len` bytes and fsyncs it (recovery drops a torn tail).
    pub(crate) fn truncate(&self, len: u64) -> Result<()> {
        self.file
            .set_len(len)
            .and_then(|()| self.file.sync_all())
            .map_err(|source| StorageError::io("truncate", &self.path, Some(len), source))
    }
}

/// A fresh checksum key: the OS's random bytes, mixed with time, process and a counter
/// (so that two segments never share a key even if `/dev/urandom` is unreadable).
fn fresh_salt(id: u32) -> Salt {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut hasher =
        blake3::Hasher::new_derive_key("aether 2026-01-01 account storage segment salt");
    let mut random = [0u8; 32];
    if let Ok(mut source) = File::open("/dev/urandom") {
        // Best effort: the other inputs still make the key unique to this segment.
        let _ = source.read_exact(&mut random);
    }
    hasher.update(&random);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_nanos())
        .unwrap_or(0);
    hasher.update(&nanos.to_le_bytes());
    hasher.update(&std::process::id().to_le_bytes());
    hasher.update(&COUNTER.fetch_add(1, Ordering::Relaxed).to_le_bytes());
    hasher.update(&id.to_le_bytes());
    *hasher.finalize().as_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_classified_strictly() {
        let cases = [
            ("segment-000001.dat", FileKind::Segment(1)),
            ("segment-1234567.dat", FileKind::Segment(1_234_567)),
            ("segment-000001.dat.tmp", FileKind::Temporary),
            ("segment-1.dat", FileKind::Malformed),
            ("segment-000000.dat", FileKind::Malformed),
            ("segment-0000001.dat", FileKind::Malformed),
            ("segment-00000x.dat", FileKind::Malformed),
            ("segment-000001.bak", FileKind::Malformed),
            ("LOCK", FileKind::Other),
            ("notes.txt", FileKind::Other),
        ];
        for (name, expected) in cases {
            assert_eq!(classify(name), expected, "{name}");
        }
        assert_eq!(segment_file_name(42), "segment-000042.dat");
    }

    #[test]
    fn created_segment_reopens_with_its_salt() {
        let dir = tempfile::tempdir().unwrap();
        let created = Segment::create(dir.path(), 3).unwrap();
        let (opened, len) = Segment::open(dir.path(), 3).unwrap();
        assert_eq!(len, SEGMENT_HEADER_LEN as u64);
        assert_eq!(opened.salt(), created.salt());
        assert_ne!(
            Segment::create(dir.path(), 4).unwrap().salt(),
            created.salt()
        );
        // A file renamed to another id is refused.
        fs::copy(
            dir.path().join(segment_file_name(3)),
            dir.path().join(segment_file_name(9)),
        )
        .unwrap();
        let error = Segment::open(dir.path(), 9).unwrap_err();
        assert!(
            matches!(
                error,
                StorageError::Inconsistent {
                    reason: Inconsistency::SegmentIdMismatch { .. },
                    ..
                }
            ),
            "{error}"
        );
    }
}
