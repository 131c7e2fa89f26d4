//! The CUDA backend: `kernels/cuda/ed25519.cu`, shipped pre-compiled (sm_90 cubin and
//! PTX 9.0, both committed) and loaded through cudarc's driver API, so a machine
//! running it needs the NVIDIA driver but no compiler.
//!
//! Host side, per batch: the batch is cut into chunks of at most [`CHUNK_SIGNATURES`];
//! each chunk goes through one of [`SLOTS`] slots (a stream, page-locked staging
//! buffers for records and decisions, device buffers). While the device verifies chunk
//! `i` on one stream, the host hashes and packs chunk `i + 1` into the other slot's
//! pinned buffer, so SHA-512 on the host overlaps the curve arithmetic on the device,
//! and each slot's copies overlap the other's kernel.
//!
//! Opening never panics on a machine without CUDA: libcuda is probed with
//! [`cudarc::driver::sys::is_culib_present`] before any driver call (cudarc panics on a
//! missing library), and context creation runs under `catch_unwind` as a second guard.

// SAFETY (module-wide allowance): the unsafe blocks below are (1) the libcuda probe,
// which only tries to dlopen the library; (2) page-locked allocations, which are written
// in full (records) or by the device (decisions) before they are read; (3) raw async
// copies between a pinned buffer and a device buffer of at least the copied length, on
// the slot's own stream, with the stream synchronised before the host touches either
// buffer again; (4) the kernel launch, whose arguments match the kernel's signature
// `(const u32 *records, const u64 *constants, u8 *decisions, u32 count)` and whose
// buffers hold `count` records and decisions.
#![allow(unsafe_code)]

use std::sync::{Arc, Mutex};

use cudarc::driver::{
    CudaContext, CudaFunction, CudaSlice, CudaStream, DevicePtrMut, LaunchConfig, PinnedHostSlice,
    PushKernelArg, result, sys,
};
use cudarc::nvrtc::Ptx;

use crate::prepare::{RECORD_WORDS, prepare_batch};
use crate::reference::ReferenceSigVerify;
use crate::{SigVerify, SigVerifyError, VerifyItem};

/// The kernel as PTX (ISA 9.0, target sm_90), built by `kernels/build-cuda.sh`.
pub const PTX: &str = include_str!("../cuda/ed25519.ptx");
/// The kernel as an sm_90 cubin (H100, H200), tried before the PTX.
pub const CUBIN: &[u8] = include_bytes!("../cuda/ed25519.cubin");
/// The kernel's entry point.
pub const KERNEL_NAME: &str = "ed25519_verify";
/// Threads per block; must match `THREADS_PER_BLOCK` in the .cu file.
pub const THREADS_PER_BLOCK: u32 = 128;
/// Default largest chunk one launch verifies; `AETHER_CUDA_CHUNK` overrides it (a power
/// of two from 1,024 to 65,536), for measuring the trade-off between overlap (small
/// chunks) and filling the GPU (large chunks).
pub const CHUNK_SIGNATURES: usize = 16_384;
const CHUNK_RANGE: std::ops::RangeInclusive<usize> = 1_024..=65_536;
/// Staging slots (streams) used round-robin: two is double buffering.
pub const SLOTS: usize = 2;
/// Words of the constants buffer: d2, d, √−1 (5 limbs each), then `[0..16]B` (20 each).
pub const CONSTANT_WORDS: usize = 3 * 5 + 16 * 20;

fn error(reason: impl Into<String>) -> SigVerifyError {
    SigVerifyError::Backend {
        backend: "cuda",
        reason: reason.into(),
    }
}

fn driver_error(what: &str, cause: impl std::fmt::Debug) -> SigVerifyError {
    error(format!("{what}: {cause:?}"))
}

/// One staging slot.
struct Slot {
    stream: Arc<CudaStream>,
    host_records: PinnedHostSlice<u32>,
    host_decisions: PinnedHostSlice<u8>,
    device_records: CudaSlice<u32>,
    device_decisions: CudaSlice<u8>,
    admissible: Vec<bool>,
    /// The batch range whose results this slot holds or is computing.
    pending: Option<std::ops::Range<usize>>,
}

/// Ed25519 verification on an NVIDIA GPU.
pub struct CudaSigVerify {
    device_name: String,
    function: CudaFunction,
    constants: CudaSlice<u64>,
    slots: Mutex<Vec<Slot>>,
    chunk_signatures: usize,
    _context: Arc<CudaContext>,
}

/// Whether the CUDA driver library can be loaded on this machine.
pub fn driver_present() -> bool {
    // SAFETY: see the module comment, item (1).
    unsafe { sys::is_culib_present() }
}

impl CudaSigVerify {
    /// Opens device `ordinal`. Errors (never panics) when there is no driver, no
    /// device, or the kernel does not load.
    pub fn open(ordinal: usize) -> Result<Self, SigVerifyError> {
        if !driver_present() {
            return Err(error(
                "libcuda is not present on this machine (no NVIDIA driver)",
            ));
        }
        std::panic::catch_unwind(|| Self::open_unguarded(ordinal))
            .unwrap_or_else(|_| Err(error("the CUDA driver panicked while opening the device")))
    }

    fn open_unguarded(ordinal: usize) -> Result<Self, SigVerifyError> {
        let context =
            CudaContext::new(ordinal).map_err(|cause| driver_error("no CUDA device", cause))?;
        let device_name = context
            .name()
            .map_err(|cause| driver_error("device name", cause))?;
        let module = context
            .load_module(Ptx::from_binary(CUBIN.to_vec()))
            .or_else(|_| context.load_module(Ptx::from_src(PTX)))
            .map_err(|cause| driver_error("loading the ed25519 kernel", cause))?;
        let function = module
            .load_function(KERNEL_NAME)
            .map_err(|cause| driver_error("kernel entry point", cause))?;
        let stream = context.default_stream();
        let constants = stream
            .clone_htod(&constant_words())
            .map_err(|cause| driver_error("uploading constants", cause))?;
        let chunk_signatures = match std::env::var("AETHER_CUDA_CHUNK") {
            Ok(text) => text
                .parse::<usize>()
                .ok()
                .filter(|chunk| chunk.is_power_of_two() && CHUNK_RANGE.contains(chunk))
                .ok_or_else(|| {
                    error(format!(
                        "AETHER_CUDA_CHUNK={text}: want a power of two in {CHUNK_RANGE:?}"
                    ))
                })?,
            Err(_) => CHUNK_SIGNATURES,
        };
        let mut slots = Vec::with_capacity(SLOTS);
        for _ in 0..SLOTS {
            slots.push(Self::new_slot(&context, chunk_signatures)?);
        }
        stream
            .synchronize()
            .map_err(|cause| driver_error("synchronising", cause))?;
        Ok(Self {
            device_name,
            function,
            constants,
            slots: Mutex::new(slots),
            chunk_signatures,
            _context: context,
        })
    }

    fn new_slot(context: &Arc<CudaContext>, chunk: usize) -> Result<Slot, SigVerifyError> {
        let stream = context
            .new_stream()
            .map_err(|cause| driver_error("creating a stream", cause))?;
        // SAFETY: see the module comment, item (2).
        let host_records = unsafe { context.alloc_pinned::<u32>(chunk * RECORD_WORDS) }
            .map_err(|cause| driver_error("pinned record buffer", cause))?;
        // SAFETY: as above; plain (not write-combined) memory, since the host reads it.
        let host_decisions = unsafe { context.alloc_pinned_with_flags::<u8>(chunk, 0) }
            .map_err(|cause| driver_error("pinned decision buffer", cause))?;
        let device_records = stream
            .alloc_zeros::<u32>(chunk * RECORD_WORDS)
            .map_err(|cause| driver_error("device record buffer", cause))?;
        let device_decisions = stream
            .alloc_zeros::<u8>(chunk)
            .map_err(|cause| driver_error("device decision buffer", cause))?;
        Ok(Slot {
            stream,
            host_records,
            host_decisions,
            device_records,
            device_decisions,
            admissible: vec![false; chunk],
            pending: None,
        })
    }

    /// Signatures per launch (see [`CHUNK_SIGNATURES`]).
    pub fn chunk_signatures(&self) -> usize {
        self.chunk_signatures
    }

    /// The GPU's name as the driver reports it.
    pub fn device_name(&self) -> &str {
        &self.device_name
    }

    /// Packs `items` into `slot` and queues copy-in, kernel and copy-out on its stream.
    fn submit(
        &self,
        slot: &mut Slot,
        items: &[VerifyItem<'_>],
        range: std::ops::Range<usize>,
    ) -> Result<(), SigVerifyError> {
        let count = items.len();
        assert!(count > 0 && count <= self.chunk_signatures, "chunk size");
        let records = slot
            .host_records
            .as_mut_slice()
            .map_err(|cause| driver_error("pinned records", cause))?;
        prepare_batch(
            items,
            &mut records[..count * RECORD_WORDS],
            &mut slot.admissible[..count],
        );
        let stream = slot.stream.clone();
        {
            let (device_pointer, _record) = slot.device_records.device_ptr_mut(&stream);
            // SAFETY: see the module comment, item (3).
            unsafe {
                result::memcpy_htod_async(
                    device_pointer,
                    &records[..count * RECORD_WORDS],
                    stream.cu_stream(),
                )
            }
            .map_err(|cause| driver_error("copying records", cause))?;
        }
        let count_u32 = u32::try_from(count).expect("chunk fits u32");
        let config = LaunchConfig {
            grid_dim: (count_u32.div_ceil(THREADS_PER_BLOCK), 1, 1),
            block_dim: (THREADS_PER_BLOCK, 1, 1),
            shared_mem_bytes: 0,
        };
        let mut launch = stream.launch_builder(&self.function);
        launch
            .arg(&slot.device_records)
            .arg(&self.constants)
            .arg(&mut slot.device_decisions)
            .arg(&count_u32);
        // SAFETY: see the module comment, item (4).
        unsafe { launch.launch(config) }
            .map_err(|cause| driver_error("launching the kernel", cause))?;
        let decisions = slot
            .host_decisions
            .as_mut_slice()
            .map_err(|cause| driver_error("pinned decisions", cause))?;
        {
            let (device_pointer, _record) = slot.device_decisions.device_ptr_mut(&stream);
            // SAFETY: see the module comment, item (3).
            unsafe {
                result::memcpy_dtoh_async(
                    &mut decisions[..count],
                    device_pointer,
                    stream.cu_stream(),
                )
            }
            .map_err(|cause| driver_error("copying decisions", cause))?;
        }
        slot.pending = Some(range);
        Ok(())
    }

    /// Waits for `slot`'s chunk and writes its decisions into `decisions`.
    fn collect(&self, slot: &mut Slot, decisions: &mut [bool]) -> Result<(), SigVerifyError> {
        let Some(range) = slot.pending.take() else {
            return Ok(());
        };
        slot.stream
            .synchronize()
            .map_err(|cause| driver_error("waiting for the device", cause))?;
        let device_decisions = slot
            .host_decisions
            .as_slice()
            .map_err(|cause| driver_error("pinned decisions", cause))?;
        let count = range.len();
        for (index, decision) in decisions[range].iter_mut().enumerate() {
            let device = device_decisions[index];
            // The kernel writes 0 or 1; anything else is a device fault.
            if device > 1 {
                return Err(error(format!("kernel wrote decision byte {device}")));
            }
            *decision = slot.admissible[index] && device == 1;
        }
        debug_assert!(count <= self.chunk_signatures);
        Ok(())
    }
}

impl SigVerify for CudaSigVerify {
    fn name(&self) -> &'static str {
        "cuda"
    }

    fn verify_batch(
        &self,
        items: &[VerifyItem<'_>],
        decisions: &mut [bool],
    ) -> Result<(), SigVerifyError> {
        SigVerifyError::check_lengths(items, decisions)?;
        let mut slots = self
            .slots
            .lock()
            .map_err(|_| error("a previous batch panicked"))?;
        let outcome = (|| {
            let chunk = self.chunk_signatures;
            for (chunk_index, start) in (0..items.len()).step_by(chunk).enumerate() {
                let end = (start + chunk).min(items.len());
                let slot = &mut slots[chunk_index % SLOTS];
                self.collect(slot, decisions)?;
                self.submit(slot, &items[start..end], start..end)?;
            }
            for slot in slots.iter_mut() {
                self.collect(slot, decisions)?;
            }
            Ok(())
        })();
        if outcome.is_err() {
            // Leave every slot idle for the next batch; the caller falls back.
            for slot in slots.iter_mut() {
                let _ = slot.stream.synchronize();
                slot.pending = None;
            }
        }
        outcome
    }
}

/// The constants buffer in the kernel's layout, from the scalar reference.
pub fn constant_words() -> Vec<u64> {
    let reference = ReferenceSigVerify::new();
    let constants = reference.constants();
    let mut words = Vec::with_capacity(CONSTANT_WORDS);
    for element in [constants.d2, constants.d, constants.sqrt_m1] {
        words.extend_from_slice(&element.0);
    }
    for point in reference.base_table() {
        for element in [point.x, point.y, point.z, point.t] {
            words.extend_from_slice(&element.0);
        }
    }
    assert_eq!(words.len(), CONSTANT_WORDS, "constants layout");
    words
}
