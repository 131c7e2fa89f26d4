//! The scalar reference: the ZIP-215 rule written in exactly the structure of the GPU
//! kernels, in plain Rust, so the kernels have a readable twin to be diffed against
//! and every kernel test has a second, independent implementation behind it.
//!
//! Per signature, after [`crate::prepare`] on the host (`S < ℓ`, `k`):
//! 1. decompress `A` and `R` under ZIP-215 ([`edwards::EdwardsPoint::decompress`]);
//!    a failure rejects;
//! 2. build the table `[0..16](−A)`;
//! 3. `P = [S]B + [k](−A)` by joint 4-bit windows (`[0..16]B` is a table computed once);
//! 4. `P = P − R`, then three doublings (the cofactor 8);
//! 5. accept exactly when `P` is the identity.
//!
//! [`field`] is the 5 × 51-bit field the CUDA kernel uses line for line; the WGSL
//! kernel has the same steps over 20 × 13-bit limbs.

pub mod edwards;
pub mod field;

use edwards::{CurveConstants, EdwardsPoint, TABLE_SIZE, double_scalar_mul};

use crate::prepare::{Record, prepare_item};
use crate::{SigVerify, SigVerifyError, VerifyItem};

/// The encoding of the basepoint B (y = 4/5, x even).
pub const BASEPOINT_BYTES: [u8; 32] = [
    0x58, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66,
    0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66,
];

/// The scalar reference verifier: one signature at a time, on the calling thread.
#[derive(Debug, Clone)]
pub struct ReferenceSigVerify {
    constants: CurveConstants,
    base_table: [EdwardsPoint; TABLE_SIZE],
}

impl ReferenceSigVerify {
    /// Derives the curve constants and the basepoint table.
    pub fn new() -> Self {
        let constants = CurveConstants::new();
        let base =
            EdwardsPoint::decompress(&BASEPOINT_BYTES, &constants).expect("the basepoint decodes");
        let mut base_table = base.window_table(&constants.d2);
        for entry in &mut base_table {
            *entry = entry.normalize();
        }
        Self {
            constants,
            base_table,
        }
    }

    /// The curve constants (d, 2d, √−1).
    pub fn constants(&self) -> &CurveConstants {
        &self.constants
    }

    /// `[0]B ..= [15]B`, each with `Z = 1`.
    pub fn base_table(&self) -> &[EdwardsPoint; TABLE_SIZE] {
        &self.base_table
    }

    /// Steps 1–5 of the module docs for one prepared record.
    pub fn verify_record(&self, record: &Record) -> bool {
        let Some(public_point) = EdwardsPoint::decompress(&record.public_key, &self.constants)
        else {
            return false;
        };
        let Some(commitment_point) = EdwardsPoint::decompress(&record.commitment, &self.constants)
        else {
            return false;
        };
        let d2 = &self.constants.d2;
        let point_table = public_point.neg().window_table(d2);
        let mut sum = double_scalar_mul(
            &record.response,
            &self.base_table,
            &record.challenge,
            &point_table,
            d2,
        );
        sum = sum.add(&commitment_point.neg(), d2);
        for _ in 0..3 {
            sum = sum.double();
        }
        sum.is_identity()
    }

    /// The full rule for one signature.
    pub fn verify_item(&self, item: &VerifyItem<'_>) -> bool {
        prepare_item(item).is_some_and(|record| self.verify_record(&record))
    }
}

impl Default for ReferenceSigVerify {
    fn default() -> Self {
        Self::new()
    }
}

impl SigVerify for ReferenceSigVerify {
    fn name(&self) -> &'static str {
        "reference"
    }

    fn verify_batch(
        &self,
        items: &[VerifyItem<'_>],
        decisions: &mut [bool],
    ) -> Result<(), SigVerifyError> {
        SigVerifyError::check_lengths(items, decisions)?;
        for (item, decision) in items.iter().zip(decisions.iter_mut()) {
            *decision = self.verify_item(item);
        }
        Ok(())
    }
}
