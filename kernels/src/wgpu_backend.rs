//! The WGSL backend: `kernels/wgsl/ed25519.wgsl` through wgpu, on any adapter wgpu
//! finds (Vulkan, Metal, DX12, GL). CI runs it on Mesa's lavapipe (a CPU Vulkan
//! driver), so the GPU code path is tested on every commit without a GPU.
//!
//! The field uses 20 limbs of 13 bits in `u32` (WGSL has neither 64-bit integers nor a
//! widening multiply; see the shader's header). SHA-512 and the scalar checks run on
//! the host ([`crate::prepare`]). A batch is cut into chunks of at most
//! [`CHUNK_SIGNATURES`]; each chunk is one dispatch with one submission, and its
//! decisions are read back through a mapped staging buffer.

use std::sync::Mutex;

use wgpu::util::DeviceExt;

use crate::prepare::{RECORD_BYTES, RECORD_WORDS, prepare_batch};
use crate::reference::ReferenceSigVerify;
use crate::reference::field::FieldElement;
use crate::{SigVerify, SigVerifyError, VerifyItem};

/// The hand-written part of the shader (everything but the field functions).
pub const SHADER: &str = include_str!("../wgsl/ed25519.wgsl");

/// The complete shader: [`SHADER`] plus the generated, loop-free field functions
/// ([`crate::wgsl_field`]).
pub fn shader_source() -> String {
    format!("{SHADER}\n{}", crate::wgsl_field::field_functions())
}
/// Invocations per workgroup; must match `@workgroup_size` in the shader.
pub const WORKGROUP_SIZE: u32 = 64;
/// Largest chunk one dispatch verifies (8 MiB of records).
pub const CHUNK_SIGNATURES: usize = 65_536;
const _: () = assert!(CHUNK_SIGNATURES / WORKGROUP_SIZE as usize <= 65_535);

/// Limbs per field element in the shader.
const LIMBS: usize = 20;
/// Bits per limb in the shader.
const LIMB_BITS: usize = 13;
const _: () = assert!(LIMBS * LIMB_BITS >= 255);

fn error(reason: impl Into<String>) -> SigVerifyError {
    SigVerifyError::Backend {
        backend: "wgpu",
        reason: reason.into(),
    }
}

/// Buffers sized for one chunk, reused across batches.
struct Buffers {
    records: wgpu::Buffer,
    decisions: wgpu::Buffer,
    readback: wgpu::Buffer,
    params: wgpu::Buffer,
    bind_group: wgpu::BindGroup,
    host_records: Vec<u32>,
    admissible: Vec<bool>,
}

/// Ed25519 verification through a WGSL compute shader.
pub struct WgpuSigVerify {
    adapter_name: String,
    device: wgpu::Device,
    queue: wgpu::Queue,
    pipeline: wgpu::ComputePipeline,
    buffers: Mutex<Buffers>,
}

impl WgpuSigVerify {
    /// Opens the first adapter wgpu offers (high-performance preference) and compiles
    /// the shader. Errors when there is no adapter.
    pub fn open() -> Result<Self, SigVerifyError> {
        let instance =
            wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env());
        let adapter = pollster::block_on(instance.request_adapter(&wgpu::RequestAdapterOptions {
            power_preference: wgpu::PowerPreference::HighPerformance,
            ..Default::default()
        }))
        .map_err(|cause| error(format!("no wgpu adapter: {cause}")))?;
        let info = adapter.get_info();
        let adapter_name = format!("{} ({:?})", info.name, info.backend);
        let mut limits = wgpu::Limits::downlevel_defaults();
        limits.max_storage_buffer_binding_size = (CHUNK_SIGNATURES * RECORD_BYTES) as u64;
        limits.max_buffer_size = limits
            .max_buffer_size
            .max((CHUNK_SIGNATURES * RECORD_BYTES) as u64);
        let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
            label: Some("aether-sigverify"),
            required_limits: limits,
            ..Default::default()
        }))
        .map_err(|cause| error(format!("{adapter_name}: cannot open device: {cause}")))?;
        // Bounds checks stay on; naga's loop bounding (a 64-bit counter in every loop,
        // against infinite loops in untrusted shaders) is off: it made lavapipe's compile
        // seven times slower, and every loop in this shader is bounded by a constant or
        // by `end` from the host-built program table, with a counter that only grows.
        let mut checks = wgpu::ShaderRuntimeChecks::checked();
        checks.force_loop_bounding = false;
        let descriptor = wgpu::ShaderModuleDescriptor {
            label: Some("ed25519.wgsl"),
            source: wgpu::ShaderSource::Wgsl(shader_source().into()),
        };
        // SAFETY: `create_shader_module_trusted` requires that the shader has no infinite
        // loop when loop bounding is off; see the comment above.
        #[allow(unsafe_code)]
        let module = unsafe { device.create_shader_module_trusted(descriptor, checks) };
        let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some("ed25519_verify"),
            layout: None,
            module: &module,
            entry_point: Some("ed25519_verify"),
            compilation_options: Default::default(),
            cache: None,
        });
        let constants = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("constants"),
            contents: bytemuck::cast_slice(&constant_words()),
            usage: wgpu::BufferUsages::STORAGE,
        });
        let buffers = Self::create_buffers(&device, &pipeline, &constants);
        Ok(Self {
            adapter_name,
            device,
            queue,
            pipeline,
            buffers: Mutex::new(buffers),
        })
    }

    fn create_buffers(
        device: &wgpu::Device,
        pipeline: &wgpu::ComputePipeline,
        constants: &wgpu::Buffer,
    ) -> Buffers {
        let records = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("records"),
            size: (CHUNK_SIGNATURES * RECORD_BYTES) as u64,
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let decisions_size = (CHUNK_SIGNATURES * 4) as u64;
        let decisions = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("decisions"),
            size: decisions_size,
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
            mapped_at_creation: false,
        });
        let readback = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("readback"),
            size: decisions_size,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let params = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("params"),
            size: 16,
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("ed25519"),
            layout: &pipeline.get_bind_group_layout(0),
            entries: &[
                wgpu::BindGroupEntry {
                    binding: 0,
                    resource: records.as_entire_binding(),
                },
                wgpu::BindGroupEntry {
                    binding: 1,
                    resource: constants.as_entire_binding(),
                },
                wgpu::BindGroupEntry {
                    binding: 2,
                    resource: decisions.as_entire_binding(),
                },
                wgpu::BindGroupEntry {
                    binding: 3,
                    resource: params.as_entire_binding(),
                },
            ],
        });
        Buffers {
            records,
            decisions,
            readback,
            params,
            bind_group,
            host_records: vec![0; CHUNK_SIGNATURES * RECORD_WORDS],
            admissible: vec![false; CHUNK_SIGNATURES],
        }
    }

    /// The adapter's name and API, e.g. `llvmpipe (LLVM 15.0.6, 256 bits) (Vulkan)`.
    pub fn adapter_name(&self) -> &str {
        &self.adapter_name
    }

    /// Verifies one chunk (at most [`CHUNK_SIGNATURES`]) into `decisions`.
    fn verify_chunk(
        &self,
        buffers: &mut Buffers,
        items: &[VerifyItem<'_>],
        decisions: &mut [bool],
    ) -> Result<(), SigVerifyError> {
        let count = items.len();
        assert!(count > 0 && count <= CHUNK_SIGNATURES, "chunk size");
        let words = count * RECORD_WORDS;
        prepare_batch(
            items,
            &mut buffers.host_records[..words],
            &mut buffers.admissible[..count],
        );
        self.queue.write_buffer(
            &buffers.records,
            0,
            bytemuck::cast_slice(&buffers.host_records[..words]),
        );
        let count_u32 = u32::try_from(count).expect("chunk fits u32");
        self.queue.write_buffer(
            &buffers.params,
            0,
            bytemuck::cast_slice(&[count_u32, 0, 0, 0]),
        );
        let mut encoder = self
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor { label: None });
        {
            let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some("ed25519_verify"),
                timestamp_writes: None,
            });
            pass.set_pipeline(&self.pipeline);
            pass.set_bind_group(0, &buffers.bind_group, &[]);
            pass.dispatch_workgroups(count_u32.div_ceil(WORKGROUP_SIZE), 1, 1);
        }
        let decision_bytes = (count * 4) as u64;
        encoder.copy_buffer_to_buffer(&buffers.decisions, 0, &buffers.readback, 0, decision_bytes);
        self.queue.submit([encoder.finish()]);
        let slice = buffers.readback.slice(..decision_bytes);
        let (sender, receiver) = std::sync::mpsc::channel();
        slice.map_async(wgpu::MapMode::Read, move |outcome| {
            let _ = sender.send(outcome);
        });
        self.device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|cause| error(format!("waiting for the device: {cause}")))?;
        receiver
            .recv()
            .map_err(|_| error("the map callback never ran"))?
            .map_err(|cause| error(format!("mapping decisions: {cause}")))?;
        let outcome = {
            let view = slice
                .get_mapped_range()
                .map_err(|cause| error(format!("reading decisions: {cause}")))?;
            let device_decisions: &[u32] = bytemuck::cast_slice(&view);
            let mut outcome = Ok(());
            for (index, decision) in decisions.iter_mut().enumerate() {
                let device = device_decisions[index];
                // The shader writes 0 or 1; anything else is a device fault.
                if device > 1 {
                    outcome = Err(error(format!("shader wrote decision {device}")));
                    break;
                }
                *decision = buffers.admissible[index] && device == 1;
            }
            outcome
        };
        buffers.readback.unmap();
        outcome
    }
}

impl SigVerify for WgpuSigVerify {
    fn name(&self) -> &'static str {
        "wgpu"
    }

    fn verify_batch(
        &self,
        items: &[VerifyItem<'_>],
        decisions: &mut [bool],
    ) -> Result<(), SigVerifyError> {
        SigVerifyError::check_lengths(items, decisions)?;
        let mut buffers = self
            .buffers
            .lock()
            .map_err(|_| error("a previous batch panicked"))?;
        for (item_chunk, decision_chunk) in items
            .chunks(CHUNK_SIGNATURES)
            .zip(decisions.chunks_mut(CHUNK_SIGNATURES))
        {
            self.verify_chunk(&mut buffers, item_chunk, decision_chunk)?;
        }
        Ok(())
    }
}

/// A field element as the shader's 20 limbs of 13 bits (canonical, so below 2^13).
pub fn limbs_13(element: &FieldElement) -> [u32; LIMBS] {
    let bytes = element.to_bytes();
    let mut limbs = [0u32; LIMBS];
    for (index, limb) in limbs.iter_mut().enumerate() {
        for bit in 0..LIMB_BITS {
            let position = index * LIMB_BITS + bit;
            if position < 256 && (bytes[position / 8] >> (position % 8)) & 1 == 1 {
                *limb |= 1 << bit;
            }
        }
    }
    limbs
}

/// Where the program layout starts in the constants buffer (`LAYOUT_OFFSET` in the
/// shader): after d2, d, √−1 and sixteen points of four elements.
const LAYOUT_OFFSET: usize = LIMBS * (3 + 16 * 4);

/// The constants buffer in the shader's layout: d2, d, √−1, then `[0..16]B` as
/// (X, Y, Z, T), 20 limbs each; then (start, end) of the ADD, DOUBLE, DECOMPRESS and
/// FINISH programs and the encoded programs ([`crate::microcode`]).
pub fn constant_words() -> Vec<u32> {
    let reference = ReferenceSigVerify::new();
    let constants = reference.constants();
    let mut words = Vec::with_capacity(LIMBS * (3 + 16 * 4));
    for element in [constants.d2, constants.d, constants.sqrt_m1] {
        words.extend_from_slice(&limbs_13(&element));
    }
    for point in reference.base_table() {
        for element in [point.x, point.y, point.z, point.t] {
            words.extend_from_slice(&limbs_13(&element));
        }
    }
    assert_eq!(words.len(), LAYOUT_OFFSET, "constants layout");
    let (programs, layout) = crate::microcode::encoded_programs();
    for (start, end) in [layout.add, layout.double, layout.decompress, layout.finish] {
        words.extend_from_slice(&[start, end]);
    }
    words.extend_from_slice(&programs);
    words
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::microcode::{REGISTERS, register};

    /// The value of `const NAME: u32 = VALUEu;` in the shader.
    fn shader_constant(name: &str) -> usize {
        let prefix = format!("const {name}: u32 = ");
        let line = SHADER
            .lines()
            .find(|line| line.starts_with(&prefix))
            .unwrap_or_else(|| panic!("the shader declares {name}"));
        let value = line[prefix.len()..].split('u').next().unwrap();
        value.parse().unwrap()
    }

    #[test]
    fn shader_layout_constants_match_the_host() {
        assert_eq!(shader_constant("LAYOUT_OFFSET"), LAYOUT_OFFSET);
        assert_eq!(shader_constant("PROGRAM_OFFSET"), LAYOUT_OFFSET + 8);
        assert_eq!(shader_constant("REGISTERS"), REGISTERS);
        assert!(SHADER.contains(&format!("@workgroup_size({WORKGROUP_SIZE})")));
    }

    #[test]
    fn shader_register_names_match_the_microcode() {
        for (name, index) in [
            ("R_ACC", register::ACC),
            ("R_Q", register::Q),
            ("R_D2", register::D2),
            ("R_D", register::D),
            ("R_SQRT_M1", register::SQRT_M1),
            ("R_ONE", register::ONE),
            ("R_Y", register::Y),
            ("R_U", register::U),
            ("R_X", register::X),
            ("R_CHECK", register::CHECK),
            ("R_NEG_U", register::NEG_U),
            ("R_ZERO", register::ZERO),
            ("R_X_I", register::X_I),
            ("R_NEG_X", register::NEG_X),
            ("R_NEG_X_I", register::NEG_X_I),
            ("R_NEG_POINT_X", register::NEG_POINT_X),
            ("R_NEG_POINT_T", register::NEG_POINT_T),
            ("R_NEG_R_X", register::NEG_R_X),
            ("R_NEG_R_T", register::NEG_R_T),
        ] {
            assert_eq!(shader_constant(name), index, "{name}");
        }
    }

    #[test]
    fn limbs_round_trip() {
        let element = ReferenceSigVerify::new().constants().sqrt_m1;
        let limbs = limbs_13(&element);
        let mut bytes = [0u8; 32];
        for (index, limb) in limbs.iter().enumerate() {
            assert!(*limb < 1 << LIMB_BITS);
            for bit in 0..LIMB_BITS {
                let position = index * LIMB_BITS + bit;
                if (limb >> bit) & 1 == 1 {
                    bytes[position / 8] |= 1 << (position % 8);
                }
            }
        }
        assert_eq!(bytes, element.to_bytes());
    }
}
