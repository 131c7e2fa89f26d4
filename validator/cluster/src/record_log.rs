//! An append-only file of checksummed records: the shared format of the driver's
//! durable logs ([`crate::evidence_store`], [`crate::vrf_log`]).
//!
//! Record: `length (u32 LE) ‖ payload ‖ BLAKE3(payload)[..8]`, payloads at most
//! [`RECORD_PAYLOAD_BYTES_MAX`]. Appends are written whole and synced before
//! [`RecordLog::append`] returns; a failed append is cut back off, so a partial record
//! never stays in front of later ones. At open, a torn last record (a crash
//! mid-append: shorter than it declares, or exactly as long with content that does not
//! match its checksum) is cut off and reported; a damaged record followed by more is an
//! error, never skipped. [`RecordLog::rewrite`] replaces the whole file atomically
//! (temporary file, sync, rename, directory sync).

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// Largest payload of one record.
pub const RECORD_PAYLOAD_BYTES_MAX: usize = 64 * 1024;
const CHECKSUM_BYTES: usize = 8;

/// The log could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum RecordLogError {
    /// Reading or writing failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A record before the last one is damaged (or its payload is not what the log
    /// holds).
    #[error("{path}: the record at byte {offset} is damaged")]
    Damaged {
        /// The file.
        path: PathBuf,
        /// Where the damaged record starts.
        offset: u64,
    },
}

/// See the module docs.
#[derive(Debug)]
pub struct RecordLog {
    path: PathBuf,
    file: File,
    /// Bytes of whole, synced records (where the next append starts).
    length: u64,
    records: usize,
}

/// What [`RecordLog::open`] found.
#[derive(Debug)]
pub struct Opened {
    /// The log, ready to append.
    pub log: RecordLog,
    /// Every record's payload, in file order.
    pub payloads: Vec<Vec<u8>>,
    /// Bytes of a torn last record that were cut off (0: none).
    pub torn_bytes: u64,
}

fn frame(payload: &[u8], out: &mut Vec<u8>) {
    assert!(
        payload.len() <= RECORD_PAYLOAD_BYTES_MAX,
        "log records are small"
    );
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(payload);
    out.extend_from_slice(&blake3::hash(payload).as_bytes()[..CHECKSUM_BYTES]);
}

/// Frames every payload into one buffer; returns it and the number of records.
fn frame_all<'a>(payloads: impl IntoIterator<Item = &'a [u8]>) -> (Vec<u8>, usize) {
    let mut bytes = Vec::new();
    let mut count = 0;
    for payload in payloads {
        frame(payload, &mut bytes);
        count += 1;
    }
    (bytes, count)
}

impl RecordLog {
    /// Opens (or creates) the log at `path`, checking every record.
    pub fn open(path: impl Into<PathBuf>) -> Result<Opened, RecordLogError> {
        let path = path.into();
        let io = |source| RecordLogError::Io {
            path: path.clone(),
            source,
        };
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(&path)
            .map_err(io)?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).map_err(io)?;
        let (payloads, length) = parse(&bytes).map_err(|offset| RecordLogError::Damaged {
            path: path.clone(),
            offset,
        })?;
        let torn_bytes = bytes.len() as u64 - length;
        if torn_bytes > 0 {
            file.set_len(length).map_err(io)?;
            file.sync_all().map_err(io)?;
        }
        file.seek(SeekFrom::End(0)).map_err(io)?;
        let records = payloads.len();
        Ok(Opened {
            log: RecordLog {
                path,
                file,
                length,
                records,
            },
            payloads,
            torn_bytes,
        })
    }

    /// Every record's payload in the file at `path`, without changing it.
    pub fn read(path: &Path) -> Result<Vec<Vec<u8>>, RecordLogError> {
        let bytes = std::fs::read(path).map_err(|source| RecordLogError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        parse(&bytes)
            .map(|(payloads, _)| payloads)
            .map_err(|offset| RecordLogError::Damaged {
                path: path.to_path_buf(),
                offset,
            })
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Records in the file.
    pub fn records(&self) -> usize {
        self.records
    }

    /// Appends `payloads` in one write and syncs them.
    pub fn append<'a>(
        &mut self,
        payloads: impl IntoIterator<Item = &'a [u8]>,
    ) -> Result<(), RecordLogError> {
        let (bytes, count) = frame_all(payloads);
        if count == 0 {
            return Ok(());
        }
        let written = self
            .file
            .write_all(&bytes)
            .and_then(|()| self.file.sync_data());
        if let Err(source) = written {
            // Best effort: an open cuts a torn tail anyway.
            let _ = self.file.set_len(self.length);
            return Err(RecordLogError::Io {
                path: self.path.clone(),
                source,
            });
        }
        self.length += bytes.len() as u64;
        self.records += count;
        Ok(())
    }

    /// Replaces the whole log with `payloads`, atomically.
    pub fn rewrite<'a>(
        &mut self,
        payloads: impl IntoIterator<Item = &'a [u8]>,
    ) -> Result<(), RecordLogError> {
        let (bytes, count) = frame_all(payloads);
        let temporary = self.path.with_extension("tmp");
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| RecordLogError::Io { path, source }
        };
        {
            let mut file = File::create(&temporary).map_err(io(&temporary))?;
            file.write_all(&bytes).map_err(io(&temporary))?;
            file.sync_all().map_err(io(&temporary))?;
        }
        std::fs::rename(&temporary, &self.path).map_err(io(&self.path))?;
        if let Some(parent) = self.path.parent() {
            File::open(parent)
                .and_then(|directory| directory.sync_all())
                .map_err(io(parent))?;
        }
        self.file = OpenOptions::new()
            .append(true)
            .open(&self.path)
            .map_err(io(&self.path))?;
        self.length = bytes.len() as u64;
        self.records = count;
        Ok(())
    }
}

/// The payloads of `bytes` and the length of the valid prefix; `Err(offset)` when a
/// record that does not check is followed by more than a torn tail could leave.
fn parse(bytes: &[u8]) -> Result<(Vec<Vec<u8>>, u64), u64> {
    let mut payloads = Vec::new();
    let mut offset = 0usize;
    while offset < bytes.len() {
        let rest = &bytes[offset..];
        let record = rest.split_first_chunk::<4>().and_then(|(length, after)| {
            let length = u32::from_le_bytes(*length) as usize;
            if length > RECORD_PAYLOAD_BYTES_MAX || after.len() < length + CHECKSUM_BYTES {
                return None;
            }
            let (payload, after) = after.split_at(length);
            (after[..CHECKSUM_BYTES] == blake3::hash(payload).as_bytes()[..CHECKSUM_BYTES])
                .then(|| (payload.to_vec(), 4 + length + CHECKSUM_BYTES))
        });
        match record {
            Some((payload, used)) => {
                payloads.push(payload);
                offset += used;
            }
            None if is_torn_tail(rest) => break,
            None => return Err(offset as u64),
        }
    }
    Ok((payloads, offset as u64))
}

/// True when `rest` (a record that did not check) was never completely written:
/// shorter than it declares, or exactly as long (the last thing in the file).
fn is_torn_tail(rest: &[u8]) -> bool {
    match rest.split_first_chunk::<4>() {
        None => true,
        Some((length, after)) => {
            let length = u32::from_le_bytes(*length) as usize;
            length <= RECORD_PAYLOAD_BYTES_MAX && after.len() <= length + CHECKSUM_BYTES
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn framed(payload: &[u8]) -> Vec<u8> {
        let mut bytes = Vec::new();
        frame(payload, &mut bytes);
        bytes
    }

    #[test]
    fn records_survive_reopening_and_rewrites() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("log");
        let mut log = RecordLog::open(&path).unwrap().log;
        log.append([&b"one"[..], &b"two"[..]]).unwrap();
        log.append([&b"three"[..]]).unwrap();
        let opened = RecordLog::open(&path).unwrap();
        assert_eq!(
            opened.payloads,
            vec![b"one".to_vec(), b"two".to_vec(), b"three".to_vec()]
        );
        assert_eq!(opened.torn_bytes, 0);
        let mut log = opened.log;
        log.rewrite([&b"three"[..]]).unwrap();
        log.append([&b"four"[..]]).unwrap();
        assert_eq!(log.records(), 2);
        assert_eq!(
            RecordLog::read(&path).unwrap(),
            vec![b"three".to_vec(), b"four".to_vec()]
        );
    }

    #[test]
    fn torn_tails_are_cut_and_earlier_damage_is_an_error() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("log");
        let mut log = RecordLog::open(&path).unwrap().log;
        log.append([&b"first"[..], &b"second"[..]]).unwrap();
        drop(log);
        let whole = std::fs::read(&path).unwrap();
        let third = framed(b"third record");
        for torn in [
            third[..third.len() - 3].to_vec(),
            // Full length, but the pages never reached the disk.
            vec![third[0], third[1], third[2], third[3]]
                .into_iter()
                .chain(std::iter::repeat_n(0, third.len() - 4))
                .collect(),
        ] {
            let mut bytes = whole.clone();
            bytes.extend_from_slice(&torn);
            std::fs::write(&path, &bytes).unwrap();
            let opened = RecordLog::open(&path).unwrap();
            assert_eq!(opened.payloads.len(), 2);
            assert_eq!(opened.torn_bytes, torn.len() as u64);
            drop(opened);
            assert_eq!(std::fs::read(&path).unwrap(), whole);
        }
        let mut damaged = whole.clone();
        damaged[5] ^= 1;
        std::fs::write(&path, &damaged).unwrap();
        assert!(matches!(
            RecordLog::open(&path),
            Err(RecordLogError::Damaged { offset: 0, .. })
        ));
        assert!(RecordLog::read(&path).is_err());
    }
}
