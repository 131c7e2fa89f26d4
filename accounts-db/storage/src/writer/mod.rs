//! The write path: how a group's bytes reach the disk durably.
//!
//! Both paths write the same bytes in the same order with the same barriers:
//! `records` at `offset`, fdatasync, `commit` right after them, fdatasync. The commit
//! record is therefore never durable unless every record before it is (see the crate's
//! fsync policy). The io_uring path submits that sequence as one linked chain; the
//! positioned path makes the four system calls itself.

#[cfg(target_os = "linux")]
mod uring;

use std::os::unix::fs::FileExt;

use crate::error::{Result, StorageError};
use crate::report::{WritePath, WritePathPreference};
use crate::segment::Segment;

/// The selected write path.
#[derive(Debug)]
pub(crate) enum Backend {
    /// io_uring, linked write → fdatasync chains.
    #[cfg(target_os = "linux")]
    IoUring(Box<uring::Ring>),
    /// `pwrite` + `fdatasync`.
    Positioned,
}

impl Backend {
    /// Picks the write path at open and logs which one is used.
    pub(crate) fn select(preference: WritePathPreference) -> Result<Backend> {
        let backend = match preference {
            WritePathPreference::Positioned => Backend::Positioned,
            WritePathPreference::Auto => match new_ring() {
                Ok(backend) => backend,
                Err(error) => {
                    tracing::warn!(%error, "io_uring unavailable; using positioned writes");
                    Backend::Positioned
                }
            },
            WritePathPreference::IoUring => {
                new_ring().map_err(|source| StorageError::IoUringUnavailable { source })?
            }
        };
        tracing::info!(write_path = ?backend.path(), ?preference, "account storage write path");
        Ok(backend)
    }

    /// Which path this is.
    pub(crate) fn path(&self) -> WritePath {
        match self {
            #[cfg(target_os = "linux")]
            Backend::IoUring(_) => WritePath::IoUring,
            Backend::Positioned => WritePath::Positioned,
        }
    }

    /// Writes `records` at `offset` and `commit` right after them, each followed by an
    /// fdatasync; returns once both are durable. On error the file's tail is unknown:
    /// the caller stops writing (and recovery decides from the bytes at the next open).
    pub(crate) fn append_group(
        &mut self,
        segment: &Segment,
        offset: u64,
        records: Vec<u8>,
        commit: Vec<u8>,
    ) -> Result<()> {
        let commit_offset = offset + records.len() as u64;
        let mut writes = Vec::with_capacity(2);
        if !records.is_empty() {
            writes.push((offset, records));
        }
        writes.push((commit_offset, commit));
        match self {
            #[cfg(target_os = "linux")]
            Backend::IoUring(ring) => append_with_ring(ring, segment, writes),
            Backend::Positioned => finish_positioned(segment, &writes, 0),
        }
    }
}

#[cfg(target_os = "linux")]
fn new_ring() -> std::io::Result<Backend> {
    uring::Ring::new().map(|ring| Backend::IoUring(Box::new(ring)))
}

#[cfg(not(target_os = "linux"))]
fn new_ring() -> std::io::Result<Backend> {
    Err(std::io::Error::new(
        std::io::ErrorKind::Unsupported,
        "io_uring is Linux-only",
    ))
}

/// Runs the chain on the ring; a short write (which cancels the rest of the chain) is
/// finished with positioned I/O from that point. A failed write or fdatasync is an error:
/// an fdatasync is never retried after a failure (the kernel may have dropped the dirty
/// pages and a retry could falsely succeed).
#[cfg(target_os = "linux")]
fn append_with_ring(
    ring: &mut uring::Ring,
    segment: &Segment,
    writes: Vec<(u64, Vec<u8>)>,
) -> Result<()> {
    let chain = writes
        .into_iter()
        .map(|(offset, buf)| uring::ChainWrite { offset, buf })
        .collect();
    let (chain, results) = ring
        .write_then_sync_each(segment.file(), chain)
        .map_err(|source| StorageError::io("io_uring submit", segment.path(), None, source))?;
    for (index, write) in chain.iter().enumerate() {
        let written = results[2 * index];
        let synced = results[2 * index + 1];
        if written < 0 && written != -uring::ECANCELED {
            return Err(os_error(
                "io_uring write",
                segment,
                Some(write.offset),
                written,
            ));
        }
        let written = if written < 0 { 0 } else { written as usize };
        if written < write.buf.len() {
            tracing::debug!(
                offset = write.offset,
                written,
                "io_uring short write; finishing with pwrite"
            );
            let rest: Vec<(u64, Vec<u8>)> = chain[index..]
                .iter()
                .map(|w| (w.offset, w.buf.clone()))
                .collect();
            return finish_positioned(segment, &rest, written);
        }
        if synced == -uring::ECANCELED {
            let rest: Vec<(u64, Vec<u8>)> = chain[index..]
                .iter()
                .map(|w| (w.offset, w.buf.clone()))
                .collect();
            return finish_positioned(segment, &rest, write.buf.len());
        }
        if synced < 0 {
            return Err(os_error("io_uring fdatasync", segment, None, synced));
        }
    }
    Ok(())
}

#[cfg(target_os = "linux")]
fn os_error(
    operation: &'static str,
    segment: &Segment,
    offset: Option<u64>,
    result: i32,
) -> StorageError {
    StorageError::io(
        operation,
        segment.path(),
        offset,
        std::io::Error::from_raw_os_error(-result),
    )
}

/// Writes each buffer then fdatasyncs, skipping the first `done` bytes of the first one.
fn finish_positioned(segment: &Segment, writes: &[(u64, Vec<u8>)], done: usize) -> Result<()> {
    for (index, (offset, buf)) in writes.iter().enumerate() {
        let skip = if index == 0 { done } else { 0 };
        let at = offset + skip as u64;
        segment
            .file()
            .write_all_at(&buf[skip..], at)
            .map_err(|source| StorageError::io("write", segment.path(), Some(at), source))?;
        segment
            .file()
            .sync_data()
            .map_err(|source| StorageError::io("fdatasync", segment.path(), None, source))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::SEGMENT_HEADER_LEN;

    /// Both paths put the same bytes at the same offsets.
    #[test]
    fn each_path_writes_records_then_commit_in_place() {
        let preferences = [WritePathPreference::Auto, WritePathPreference::Positioned];
        for preference in preferences {
            let dir = tempfile::tempdir().unwrap();
            let segment = Segment::create(dir.path(), 1).unwrap();
            let mut backend = Backend::select(preference).unwrap();
            let offset = SEGMENT_HEADER_LEN as u64;
            let records: Vec<u8> = (0..10_000u32).map(|i| i as u8).collect();
            let commit = vec![0xc0; 136];
            backend
                .append_group(&segment, offset, records.clone(), commit.clone())
                .unwrap();
            // An empty group is a commit record alone.
            let second = offset + (records.len() + commit.len()) as u64;
            backend
                .append_group(&segment, second, Vec::new(), vec![0xc1; 136])
                .unwrap();
            let bytes = std::fs::read(segment.path()).unwrap();
            let mut expected = records;
            expected.extend_from_slice(&commit);
            expected.extend_from_slice(&[0xc1; 136]);
            assert_eq!(
                &bytes[SEGMENT_HEADER_LEN..],
                expected.as_slice(),
                "{:?}",
                backend.path()
            );
        }
    }
}
