//! The io_uring write path: the crate's only `unsafe` code.
//!
//! A group is written as ONE linked chain of submission entries,
//! `write(records) → fdatasync → write(commit) → fdatasync`, each linked to the next
//! (`IOSQE_IO_LINK`), so the kernel starts an operation only after the previous one
//! completed successfully; a failure or short write cancels the rest of the chain
//! (`-ECANCELED`), and the caller finishes it with positioned I/O.
//!
//! Soundness argument, in one place: the kernel reads the write buffers asynchronously,
//! so they must stay alive and unmoved until their completions are reaped. This module
//! takes the buffers by value (`Vec<u8>`, whose heap storage does not move when the `Vec`
//! does), and returns only (a) after reaping every completion of the chain, or (b) after
//! leaking the buffers with `mem::forget` and marking the ring broken when the kernel's
//! progress cannot be confirmed. The file descriptor is borrowed for the whole call; the
//! kernel holds its own file reference for submitted operations.
#![allow(unsafe_code)]

use std::fs::File;
use std::io;
use std::mem;
use std::os::fd::AsRawFd;

use io_uring::{IoUring, Probe, opcode, squeue, types};

/// Submission queue entries: a chain is at most four operations.
const RING_ENTRIES: u32 = 8;
/// Writes in one chain (records and commit).
pub(crate) const MAX_CHAIN_WRITES: usize = 2;

const _: () = assert!(2 * MAX_CHAIN_WRITES as u32 <= RING_ENTRIES);

/// One write of a chain: `buf` at `offset`, then an fdatasync.
#[derive(Debug)]
pub(crate) struct ChainWrite {
    /// File offset.
    pub(crate) offset: u64,
    /// Bytes (at most `u32::MAX`).
    pub(crate) buf: Vec<u8>,
}

/// An io_uring instance used by the single appender.
pub(crate) struct Ring {
    ring: IoUring,
    broken: bool,
}

impl std::fmt::Debug for Ring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ring")
            .field("broken", &self.broken)
            .finish()
    }
}

impl Ring {
    /// Creates a ring and checks that the kernel supports `WRITE` and `FSYNC` (5.6+).
    /// Fails where io_uring is disabled (seccomp, `kernel.io_uring_disabled`) or absent.
    pub(crate) fn new() -> io::Result<Ring> {
        let ring = IoUring::new(RING_ENTRIES)?;
        let mut probe = Probe::new();
        ring.submitter().register_probe(&mut probe)?;
        for (code, name) in [
            (opcode::Write::CODE, "WRITE"),
            (opcode::Fsync::CODE, "FSYNC"),
        ] {
            if !probe.is_supported(code) {
                return Err(io::Error::new(
                    io::ErrorKind::Unsupported,
                    format!("io_uring lacks IORING_OP_{name}"),
                ));
            }
        }
        Ok(Ring {
            ring,
            broken: false,
        })
    }

    /// Runs `write(w0) → fdatasync → write(w1) → fdatasync ...` as one linked chain on
    /// `file` and waits for all of it. Returns the buffers and each operation's raw
    /// result (bytes written, 0, or `-errno`), two per write, in chain order.
    pub(crate) fn write_then_sync_each(
        &mut self,
        file: &File,
        writes: Vec<ChainWrite>,
    ) -> io::Result<(Vec<ChainWrite>, Vec<i32>)> {
        if self.broken {
            return Err(io::Error::other(
                "io_uring ring is unusable after an earlier failure",
            ));
        }
        assert!(!writes.is_empty() && writes.len() <= MAX_CHAIN_WRITES);
        let fd = types::Fd(file.as_raw_fd());
        let total = 2 * writes.len();
        let mut entries = Vec::with_capacity(total);
        for (index, write) in writes.iter().enumerate() {
            let len = u32::try_from(write.buf.len()).map_err(|_| {
                io::Error::new(io::ErrorKind::InvalidInput, "write larger than 4 GiB")
            })?;
            entries.push(
                opcode::Write::new(fd, write.buf.as_ptr(), len)
                    .offset(write.offset)
                    .build()
                    .flags(squeue::Flags::IO_LINK)
                    .user_data((2 * index) as u64),
            );
            let sync = opcode::Fsync::new(fd)
                .flags(types::FsyncFlags::DATASYNC)
                .build()
                .user_data((2 * index + 1) as u64);
            let last = index + 1 == writes.len();
            entries.push(if last {
                sync
            } else {
                sync.flags(squeue::Flags::IO_LINK)
            });
        }
        // SAFETY: each entry's buffer pointer and length come from `writes[i].buf`, a heap
        // allocation owned by `writes` that stays alive and unmoved until every completion
        // is reaped below (or is leaked if that cannot be confirmed); `fd` stays open
        // because `file` is borrowed for this whole call. `push_multiple` pushes all
        // entries or none, so a full queue leaves nothing behind.
        let pushed = unsafe { self.ring.submission().push_multiple(&entries) };
        if pushed.is_err() {
            // Nothing was queued: the ring is drained after every call, so this is a bug
            // rather than load; refuse instead of panicking.
            return Err(io::Error::other("io_uring submission queue full"));
        }
        let mut results: Vec<Option<i32>> = vec![None; total];
        let mut reaped = 0;
        while reaped < total {
            if let Err(error) = self.ring.submit_and_wait(total - reaped) {
                let retry = matches!(
                    error.kind(),
                    io::ErrorKind::Interrupted | io::ErrorKind::WouldBlock
                ) || error.raw_os_error() == Some(EBUSY);
                if !retry {
                    // The kernel may still be reading the buffers: never free them.
                    self.broken = true;
                    mem::forget(writes);
                    return Err(error);
                }
            }
            for completion in self.ring.completion() {
                let index = completion.user_data() as usize;
                if let Some(slot) = results.get_mut(index)
                    && slot.is_none()
                {
                    *slot = Some(completion.result());
                    reaped += 1;
                }
            }
        }
        let results = results
            .into_iter()
            .map(|result| result.unwrap_or(-ECANCELED))
            .collect();
        Ok((writes, results))
    }
}

/// `EBUSY`: the completion queue is full; reap and retry.
const EBUSY: i32 = 16;
/// `ECANCELED`: a linked operation was cancelled because an earlier one failed.
pub(crate) const ECANCELED: i32 = 125;
