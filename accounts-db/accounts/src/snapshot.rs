//! Snapshots: the finalized state at one block, in one verified file.
//!
//! # File format (version 1)
//!
//! ```text
//! offset  bytes  field
//!      0      8  magic "AETHSNAP"
//!      8      2  format version (u16 LE) = 1
//!     10      2  flags (u16 LE) = 0
//!     12      8  slot of the block (u64 LE)
//!     20     32  block hash
//!     52     32  state root after the block
//!     84      8  entry count (u64 LE)
//!     92      8  body length in bytes, compressed (u64 LE)
//!    100     32  BLAKE3 of the uncompressed body
//!    132     32  BLAKE3 of bytes 0..132 (the header above)
//!    164      …  body: an LZ4 frame of the entries
//! ```
//!
//! Each entry is `key (32) ‖ value length (u32 LE) ‖ value`, keys strictly ascending,
//! values at most [`MAX_VALUE_BYTES`].
//!
//! # Invariants
//!
//! - [`create_snapshot`] writes `FILE.tmp`, fsyncs it, then renames it to `FILE`: a
//!   crash never leaves a half-written file under the final name.
//! - [`load_snapshot`] checks everything — magic, version, header digest, every entry's
//!   bounds and order, the entry count, the body digest, and the Merkle root of the
//!   entries against the header's state root — *before* writing anything. It then
//!   writes the state into a scratch directory beside the target and renames it into
//!   place, so the target either receives the complete verified state or nothing.
//! - Every error names the file, and where it applies the entry or byte offset.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use aether_account_storage::{AccountStorage, CommittedBlock, MAX_VALUE_BYTES};
use aether_state_commitment::Tree;
use aether_types::Hash;
use thiserror::Error;

use crate::AccountsDb;

/// First bytes of every snapshot file.
pub const SNAPSHOT_MAGIC: [u8; 8] = *b"AETHSNAP";
/// The format version this code writes and reads.
pub const SNAPSHOT_VERSION: u16 = 1;
/// Length of the fixed header.
pub const SNAPSHOT_HEADER_BYTES: usize = 164;
/// Offset of the header digest (it covers the bytes before it).
const HEADER_DIGEST_OFFSET: usize = 132;

/// A snapshot's header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SnapshotHeader {
    /// Slot of the block whose state this is.
    pub slot: u64,
    /// That block's hash.
    pub block_hash: Hash,
    /// The state root after that block.
    pub state_root: Hash,
    /// Number of entries (live keys).
    pub entry_count: u64,
    /// Length of the compressed body.
    pub body_bytes: u64,
    /// BLAKE3 of the uncompressed body.
    pub body_digest: Hash,
}

impl SnapshotHeader {
    fn encode(&self) -> [u8; SNAPSHOT_HEADER_BYTES] {
        let mut bytes = [0u8; SNAPSHOT_HEADER_BYTES];
        bytes[0..8].copy_from_slice(&SNAPSHOT_MAGIC);
        bytes[8..10].copy_from_slice(&SNAPSHOT_VERSION.to_le_bytes());
        bytes[12..20].copy_from_slice(&self.slot.to_le_bytes());
        bytes[20..52].copy_from_slice(self.block_hash.as_bytes());
        bytes[52..84].copy_from_slice(self.state_root.as_bytes());
        bytes[84..92].copy_from_slice(&self.entry_count.to_le_bytes());
        bytes[92..100].copy_from_slice(&self.body_bytes.to_le_bytes());
        bytes[100..132].copy_from_slice(self.body_digest.as_bytes());
        let digest = blake3::hash(&bytes[..HEADER_DIGEST_OFFSET]);
        bytes[HEADER_DIGEST_OFFSET..].copy_from_slice(digest.as_bytes());
        bytes
    }

    fn decode(path: &Path, bytes: &[u8; SNAPSHOT_HEADER_BYTES]) -> Result<Self, SnapshotError> {
        let field = |range: std::ops::Range<usize>| -> [u8; 32] {
            bytes[range].try_into().expect("32-byte field")
        };
        if bytes[0..8] != SNAPSHOT_MAGIC {
            return Err(SnapshotError::NotASnapshot {
                path: path.to_path_buf(),
            });
        }
        let version = u16::from_le_bytes([bytes[8], bytes[9]]);
        if version != SNAPSHOT_VERSION {
            return Err(SnapshotError::UnsupportedVersion {
                path: path.to_path_buf(),
                version,
            });
        }
        if blake3::hash(&bytes[..HEADER_DIGEST_OFFSET]).as_bytes()[..]
            != bytes[HEADER_DIGEST_OFFSET..]
        {
            return Err(SnapshotError::HeaderCorrupt {
                path: path.to_path_buf(),
            });
        }
        let flags = u16::from_le_bytes([bytes[10], bytes[11]]);
        if flags != 0 {
            return Err(SnapshotError::HeaderCorrupt {
                path: path.to_path_buf(),
            });
        }
        let u64_at = |offset: usize| {
            u64::from_le_bytes(bytes[offset..offset + 8].try_into().expect("8-byte field"))
        };
        Ok(Self {
            slot: u64_at(12),
            block_hash: Hash(field(20..52)),
            state_root: Hash(field(52..84)),
            entry_count: u64_at(84),
            body_bytes: u64_at(92),
            body_digest: Hash(field(100..132)),
        })
    }
}

/// Why a snapshot could not be written, read or loaded.
#[derive(Debug, Error)]
pub enum SnapshotError {
    /// A file operation failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
    /// The file does not start with the snapshot magic.
    #[error("{path} is not an Aether snapshot (bad magic)")]
    NotASnapshot {
        /// The file.
        path: PathBuf,
    },
    /// The file is of a format version this build does not read.
    #[error(
        "{path} is snapshot format version {version}; this build reads version {SNAPSHOT_VERSION}"
    )]
    UnsupportedVersion {
        /// The file.
        path: PathBuf,
        /// The version found.
        version: u16,
    },
    /// The header's digest does not match.
    #[error("{path}: the header is corrupt (digest mismatch)")]
    HeaderCorrupt {
        /// The file.
        path: PathBuf,
    },
    /// The body is shorter than its header says, or damaged.
    #[error(
        "{path}: body truncated or damaged at entry {entry} (compressed offset {offset}): {reason}"
    )]
    BodyCorrupt {
        /// The file.
        path: PathBuf,
        /// The entry being read.
        entry: u64,
        /// Bytes of the file read so far.
        offset: u64,
        /// What was wrong.
        reason: String,
    },
    /// An entry breaks the format's rules.
    #[error("{path}: entry {entry} is invalid: {reason}")]
    InvalidEntry {
        /// The file.
        path: PathBuf,
        /// The entry.
        entry: u64,
        /// What is wrong.
        reason: String,
    },
    /// The entries do not hash to the header's digest.
    #[error("{path}: the body does not match its digest")]
    BodyDigestMismatch {
        /// The file.
        path: PathBuf,
    },
    /// The entries' Merkle root is not the header's state root.
    #[error("{path}: state root of the entries is {computed}, the header says {expected}")]
    RootMismatch {
        /// The file.
        path: PathBuf,
        /// Root in the header.
        expected: Hash,
        /// Root of the entries.
        computed: Hash,
    },
    /// Snapshots are loaded only into an empty (or absent) accounts directory.
    #[error("{dir} already holds account state; a snapshot loads only into an empty ledger")]
    TargetNotEmpty {
        /// The target directory.
        dir: PathBuf,
    },
    /// Reading the source state or writing the loaded one failed.
    #[error(transparent)]
    Storage(#[from] aether_account_storage::StorageError),
}

fn io_error(path: &Path) -> impl FnOnce(io::Error) -> SnapshotError + '_ {
    move |source| SnapshotError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// One entry of a snapshot: a key and its value.
pub type SnapshotEntry = (Hash, Vec<u8>);

/// Progress reports: `(entries done, entries in all)`.
pub type Progress<'a> = &'a mut dyn FnMut(u64, u64);

/// Writes the state at `accounts`' last finalized block to `out`.
pub fn create_snapshot(
    accounts: &AccountsDb,
    out: &Path,
    progress: Progress<'_>,
) -> Result<SnapshotHeader, SnapshotError> {
    let storage = accounts.storage();
    let last = accounts.last_finalized();
    let entry_count = storage.len() as u64;
    let temporary = temporary_path(out);
    let file = File::create(&temporary).map_err(io_error(&temporary))?;
    let mut writer = BufWriter::with_capacity(1 << 20, file);
    writer
        .write_all(&[0u8; SNAPSHOT_HEADER_BYTES])
        .map_err(io_error(&temporary))?;
    let mut encoder = lz4_flex::frame::FrameEncoder::new(writer);
    let mut body_digest = blake3::Hasher::new();
    let mut written = 0u64;
    for entry in storage.iter_live() {
        let (key, value) = entry?;
        let length = u32::try_from(value.len()).expect("values are at most MAX_VALUE_BYTES");
        for part in [key.as_bytes().as_slice(), &length.to_le_bytes(), &value] {
            encoder.write_all(part).map_err(io_error(&temporary))?;
            body_digest.update(part);
        }
        written += 1;
        if written.is_multiple_of(65_536) {
            progress(written, entry_count);
        }
    }
    let mut writer = encoder.finish().map_err(|error| SnapshotError::Io {
        path: temporary.clone(),
        source: io::Error::other(error),
    })?;
    let end = writer.stream_position().map_err(io_error(&temporary))?;
    let header = SnapshotHeader {
        slot: last.slot,
        block_hash: last.hash,
        state_root: last.state_root,
        entry_count: written,
        body_bytes: end - SNAPSHOT_HEADER_BYTES as u64,
        body_digest: Hash(*body_digest.finalize().as_bytes()),
    };
    writer
        .seek(SeekFrom::Start(0))
        .map_err(io_error(&temporary))?;
    writer
        .write_all(&header.encode())
        .map_err(io_error(&temporary))?;
    let file = writer.into_inner().map_err(|error| SnapshotError::Io {
        path: temporary.clone(),
        source: error.into_error(),
    })?;
    file.sync_all().map_err(io_error(&temporary))?;
    fs::rename(&temporary, out).map_err(io_error(out))?;
    sync_parent(out)?;
    progress(written, written);
    Ok(header)
}

/// Reads and checks only the header of the snapshot at `path`.
pub fn read_snapshot_header(path: &Path) -> Result<SnapshotHeader, SnapshotError> {
    let mut file = File::open(path).map_err(io_error(path))?;
    read_header(path, &mut file)
}

fn read_header(path: &Path, file: &mut File) -> Result<SnapshotHeader, SnapshotError> {
    let mut bytes = [0u8; SNAPSHOT_HEADER_BYTES];
    file.read_exact(&mut bytes)
        .map_err(|error| match error.kind() {
            io::ErrorKind::UnexpectedEof => SnapshotError::NotASnapshot {
                path: path.to_path_buf(),
            },
            _ => SnapshotError::Io {
                path: path.to_path_buf(),
                source: error,
            },
        })?;
    SnapshotHeader::decode(path, &bytes)
}

/// Reads the whole snapshot at `path` and checks it (see the module invariants),
/// returning its header and entries. Writes nothing.
pub fn verify_snapshot(
    path: &Path,
    progress: Progress<'_>,
) -> Result<(SnapshotHeader, Vec<SnapshotEntry>), SnapshotError> {
    let mut file = File::open(path).map_err(io_error(path))?;
    let header = read_header(path, &mut file)?;
    let file_bytes = file.metadata().map_err(io_error(path))?.len();
    if file_bytes != SNAPSHOT_HEADER_BYTES as u64 + header.body_bytes {
        return Err(SnapshotError::BodyCorrupt {
            path: path.to_path_buf(),
            entry: 0,
            offset: file_bytes,
            reason: format!(
                "file is {file_bytes} bytes, the header says {}",
                SNAPSHOT_HEADER_BYTES as u64 + header.body_bytes
            ),
        });
    }
    let counting = CountingReader {
        inner: BufReader::with_capacity(1 << 20, file),
        count: 0,
    };
    let mut decoder = lz4_flex::frame::FrameDecoder::new(counting);
    let mut body_digest = blake3::Hasher::new();
    // Bounded by what the file can hold: every entry takes at least 36 bytes uncompressed,
    // and a claimed count is only trusted as far as entries really arrive.
    let mut entries: Vec<SnapshotEntry> =
        Vec::with_capacity(header.entry_count.min(1 << 20) as usize);
    for entry in 0..header.entry_count {
        let corrupt = |decoder: &lz4_flex::frame::FrameDecoder<CountingReader>, reason: String| {
            SnapshotError::BodyCorrupt {
                path: path.to_path_buf(),
                entry,
                offset: SNAPSHOT_HEADER_BYTES as u64 + decoder.get_ref().count,
                reason,
            }
        };
        let mut fixed = [0u8; 36];
        if let Err(error) = decoder.read_exact(&mut fixed) {
            return Err(corrupt(&decoder, error.to_string()));
        }
        body_digest.update(&fixed);
        let key = Hash(fixed[..32].try_into().expect("32 bytes"));
        let length = u32::from_le_bytes(fixed[32..].try_into().expect("4 bytes")) as usize;
        if length > MAX_VALUE_BYTES {
            return Err(SnapshotError::InvalidEntry {
                path: path.to_path_buf(),
                entry,
                reason: format!(
                    "value of {length} bytes is over the {MAX_VALUE_BYTES}-byte maximum"
                ),
            });
        }
        if entries.last().is_some_and(|(previous, _)| *previous >= key) {
            return Err(SnapshotError::InvalidEntry {
                path: path.to_path_buf(),
                entry,
                reason: "keys are not strictly ascending".into(),
            });
        }
        let mut value = vec![0u8; length];
        if let Err(error) = decoder.read_exact(&mut value) {
            return Err(corrupt(&decoder, error.to_string()));
        }
        body_digest.update(&value);
        entries.push((key, value));
        if (entry + 1).is_multiple_of(65_536) {
            progress(entry + 1, header.entry_count);
        }
    }
    let mut trailing = [0u8; 1];
    match decoder.read(&mut trailing) {
        Ok(0) => {}
        Ok(_) => {
            return Err(SnapshotError::InvalidEntry {
                path: path.to_path_buf(),
                entry: header.entry_count,
                reason: "data after the last entry".into(),
            });
        }
        Err(error) => {
            return Err(SnapshotError::BodyCorrupt {
                path: path.to_path_buf(),
                entry: header.entry_count,
                offset: SNAPSHOT_HEADER_BYTES as u64 + decoder.get_ref().count,
                reason: error.to_string(),
            });
        }
    }
    if body_digest.finalize().as_bytes() != header.body_digest.as_bytes() {
        return Err(SnapshotError::BodyDigestMismatch {
            path: path.to_path_buf(),
        });
    }
    let computed = Tree::from_sorted(entries.iter().map(|(key, value)| (*key, value.as_slice())))
        .expect("order checked above")
        .root();
    if computed != header.state_root {
        return Err(SnapshotError::RootMismatch {
            path: path.to_path_buf(),
            expected: header.state_root,
            computed,
        });
    }
    progress(header.entry_count, header.entry_count);
    Ok((header, entries))
}

/// Loads the snapshot at `path` into `accounts_dir`, which must be absent or empty.
/// Nothing is written unless the whole snapshot verifies, and the directory appears
/// under its final name only once complete.
pub fn load_snapshot(
    path: &Path,
    accounts_dir: &Path,
    progress: Progress<'_>,
) -> Result<SnapshotHeader, SnapshotError> {
    if fs::read_dir(accounts_dir).is_ok_and(|mut entries| entries.next().is_some()) {
        return Err(SnapshotError::TargetNotEmpty {
            dir: accounts_dir.to_path_buf(),
        });
    }
    let (header, entries) = verify_snapshot(path, progress)?;
    let scratch = temporary_path(accounts_dir);
    if scratch.exists() {
        fs::remove_dir_all(&scratch).map_err(io_error(&scratch))?;
    }
    {
        let (storage, _) = AccountStorage::open(&scratch, Default::default())?;
        storage.import_state(
            CommittedBlock {
                slot: header.slot,
                block_hash: header.block_hash,
                state_root: header.state_root,
            },
            entries,
        )?;
    }
    if accounts_dir.exists() {
        fs::remove_dir(accounts_dir).map_err(io_error(accounts_dir))?;
    }
    fs::rename(&scratch, accounts_dir).map_err(io_error(accounts_dir))?;
    sync_parent(accounts_dir)?;
    Ok(header)
}

fn temporary_path(path: &Path) -> PathBuf {
    let mut name = path
        .file_name()
        .map(|name| name.to_os_string())
        .unwrap_or_default();
    name.push(".tmp");
    path.with_file_name(name)
}

fn sync_parent(path: &Path) -> Result<(), SnapshotError> {
    let parent = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let directory = OpenOptions::new()
        .read(true)
        .open(parent)
        .map_err(io_error(parent))?;
    directory.sync_all().map_err(io_error(parent))
}

/// Counts the compressed bytes read, for error offsets.
struct CountingReader {
    inner: BufReader<File>,
    count: u64,
}

impl Read for CountingReader {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        let read = self.inner.read(buffer)?;
        self.count += read as u64;
        Ok(read)
    }
}
