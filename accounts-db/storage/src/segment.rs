//! One segment file: naming, durable creation, header validation and positioned reads.
//!
//! Readers share a segment through an `Arc<Segment>`; the file is unlinked only by
//! compaction's reaper once no other `Arc` exists (see `compaction.rs`), so a read that
//! started before a compaction always finds its bytes.
//!
//! Value reads go through a read-only shared memory map of the file, made at the first
//! read and [`MAP_WINDOW_BYTES`] long (more than the file while it is the active
//! segment, so appends land under the map; page-cache writes are visible through a
//! shared map at once). A read copies the record out of the map: no system call and
//! no zero-filled buffer per read, which were most of a read's cost. Records past the
//! window, and every read if the map cannot be made, use `pread`. The map is sound
//! because nothing rewrites or shortens a segment while readers exist: records are
//! append-only and never modified, compaction deletes whole files (the map keeps an
//! unlinked file's pages), and truncation happens only in recovery, before any read
//! ([`Segment::truncate`] refuses a mapped segment).

use std::fs::{self, File, OpenOptions};
use std::io::Read;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
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

/// Bytes of a segment file a reader maps (address space, not memory: only pages read
/// are touched): four times the default segment target of 64 MiB, so the active
/// segment's appends stay under the map.
pub(crate) const MAP_WINDOW_BYTES: u64 = 256 << 20;

/// Maps the first `len` bytes of `file` read-only and shared (`len` may exceed the
/// file: only pages below its end may be read).
#[allow(unsafe_code)]
fn map_read_only(file: &File, len: usize) -> std::io::Result<memmap2::Mmap> {
    // SAFETY: `Mmap` is unsound only if the mapped bytes change or vanish while a
    // slice of them is alive. Segment records are never modified once written (the
    // file is append-only), truncation happens only before the first map
    // (`Segment::truncate` asserts it), and deleting the file keeps its pages mapped.
    // Readers slice only records the index points at, which lie below the end of the
    // file, and copy them out at once.
    unsafe { memmap2::MmapOptions::new().len(len).map(file) }
}

/// An open segment file.
pub(crate) struct Segment {
    id: u32,
    path: PathBuf,
    file: File,
    salt: Salt,
    /// The read map, made at the first value read; `None` when mapping failed.
    map: OnceLock<Option<memmap2::Mmap>>,
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
            map: OnceLock::new(),
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
            map: OnceLock::new(),
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

    /// The read map (made on first use), or `None` when the file cannot be mapped.
    fn map(&self) -> Option<&memmap2::Mmap> {
        self.map
            .get_or_init(|| {
                let len = self
                    .file
                    .metadata()
                    .ok()?
                    .len()
                    .max(MAP_WINDOW_BYTES);
                match map_read_only(&self.file, usize::try_from(len).ok()?) {
                    Ok(map) => Some(map),
                    Err(error) => {
                        tracing::warn!(path = %self.path.display(), %error, "cannot map segment; reading with pread");
                        None
                    }
                }
            })
            .as_ref()
    }

    /// The record at `location`, from the map when it covers it.
    fn mapped_record(&self, location: Location) -> Option<&[u8]> {
        let start = usize::try_from(location.offset).ok()?;
        let end = start.checked_add(location.len as usize)?;
        self.map()?.get(start..end)
    }

    /// The first and last bytes of the mapped record at `location` combined, 0 when it is
    /// not mapped: the loads bring its cache lines in (see [`AccountStorage::warm`]).
    ///
    /// [`AccountStorage::warm`]: crate::AccountStorage::warm
    pub(crate) fn touch_record(&self, location: Location) -> u8 {
        match self.mapped_record(location) {
            Some([first, .., last]) => first ^ last,
            Some([only]) => *only,
            _ => 0,
        }
    }

    /// Reads the put record at `location`, verifies its checksum and key, and returns
    /// the value (check after reading: the index is never trusted blindly).
    pub(crate) fn read_value(&self, location: Location, key: &Hash) -> Result<Vec<u8>> {
        assert_eq!(location.segment, self.id, "location of another segment");
        if let Some(record) = self.mapped_record(location) {
            self.check_put(record, location, key)?;
            return Ok(record[RECORD_HEADER_LEN + KEY_LEN..].to_vec());
        }
        self.read_value_unmapped(location, key)
    }

    /// [`Segment::read_value`] with `pread`, for what the map does not cover.
    fn read_value_unmapped(&self, location: Location, key: &Hash) -> Result<Vec<u8>> {
        let mut record = vec![0u8; location.len as usize];
        self.read_exact_at(&mut record, location.offset)?;
        self.check_put(&record, location, key)?;
        record.drain(..RECORD_HEADER_LEN + KEY_LEN);
        Ok(record)
    }

    /// Checks that `record` (read at `location`) is an intact put of `key`.
    fn check_put(&self, record: &[u8], location: Location, key: &Hash) -> Result<()> {
        match decode_record(&self.salt, record) {
            Ok((Record::Put { key: found, .. }, len)) if found == *key && len == record.len() => {
                Ok(())
            }
            Ok(_) => Err(StorageError::Inconsistent {
                path: self.path.clone(),
                offset: location.offset,
                reason: Inconsistency::IndexMismatch,
            }),
            Err(reason) => Err(StorageError::CorruptRecord {
                path: self.path.clone(),
                offset: location.offset,
                reason,
            }),
        }
    }

    /// Truncates the file to `len` bytes and fsyncs it (recovery drops a torn tail).
    /// Only before any value read: a map over cut pages would fault.
    pub(crate) fn truncate(&self, len: u64) -> Result<()> {
        assert!(
            self.map.get().is_none(),
            "a segment is truncated only in recovery, before reads map it"
        );
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

    /// Appends `value` under `key` at the end of `segment`'s file; returns its location.
    fn append_put(segment: &Segment, key: &Hash, value: &[u8]) -> Location {
        let mut record = Vec::new();
        let len = crate::format::encode_put(&mut record, segment.salt(), key, value);
        let offset = segment.file().metadata().unwrap().len();
        segment.file().write_all_at(&record, offset).unwrap();
        Location {
            segment: segment.id(),
            offset,
            len: len as u32,
        }
    }

    #[test]
    fn mapped_and_pread_reads_agree_and_check_every_record() {
        let dir = tempfile::tempdir().unwrap();
        let segment = Segment::create(dir.path(), 1).unwrap();
        let (first_key, second_key) = (Hash([1; 32]), Hash([2; 32]));
        let first = append_put(&segment, &first_key, b"first value");
        // The first read maps the file.
        assert_eq!(
            segment.read_value(first, &first_key).unwrap(),
            b"first value"
        );
        assert!(segment.map().is_some(), "the file is mapped");
        // A record appended after the map was made is read through it.
        let second = append_put(&segment, &second_key, &[7; 300]);
        assert!(segment.mapped_record(second).is_some());
        for (location, key) in [(first, first_key), (second, second_key)] {
            assert_eq!(
                segment.read_value(location, &key).unwrap(),
                segment.read_value_unmapped(location, &key).unwrap()
            );
        }
        // A location naming another key is an index mismatch on both paths.
        for result in [
            segment.read_value(second, &first_key),
            segment.read_value_unmapped(second, &first_key),
        ] {
            assert!(
                matches!(
                    result,
                    Err(StorageError::Inconsistent {
                        reason: Inconsistency::IndexMismatch,
                        ..
                    })
                ),
                "{result:?}"
            );
        }
        // A byte changed on disk is seen through the map at once and fails the checksum.
        segment
            .file()
            .write_all_at(&[8], second.offset + u64::from(second.len) - 1)
            .unwrap();
        for result in [
            segment.read_value(second, &second_key),
            segment.read_value_unmapped(second, &second_key),
        ] {
            assert!(
                matches!(result, Err(StorageError::CorruptRecord { .. })),
                "{result:?}"
            );
        }
        // Past the map's window, reads fall back to pread.
        let beyond = Location {
            segment: segment.id(),
            offset: MAP_WINDOW_BYTES,
            len: first.len,
        };
        assert!(segment.mapped_record(beyond).is_none());
    }

    #[test]
    #[should_panic(expected = "truncated only in recovery")]
    fn a_mapped_segment_is_never_truncated() {
        let dir = tempfile::tempdir().unwrap();
        let segment = Segment::create(dir.path(), 1).unwrap();
        let key = Hash([1; 32]);
        let location = append_put(&segment, &key, b"value");
        segment.read_value(location, &key).unwrap();
        let _ = segment.truncate(SEGMENT_HEADER_LEN as u64);
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
