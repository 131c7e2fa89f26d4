//! The twisted Edwards curve `−x² + y² = 1 + d·x²·y²` in extended coordinates
//! `(X : Y : Z : T)` with `x = X/Z`, `y = Y/Z`, `x·y = T/Z` — the point code the CUDA
//! and WGSL kernels mirror.
//!
//! Addition is the unified, complete formula of Hisil–Wong–Carter–Dawson (2008) for
//! `a = −1` ("add-2008-hwcd-3"); it is correct for every pair of inputs, identity and
//! doubling included, so the window tables need no special cases. Doubling is
//! "dbl-2008-hwcd". Nothing here is constant-time: verification handles public data.

use super::field::FieldElement;

/// A curve point in extended coordinates.
#[derive(Debug, Clone, Copy)]
pub struct EdwardsPoint {
    /// X.
    pub x: FieldElement,
    /// Y.
    pub y: FieldElement,
    /// Z (never zero for a point produced here).
    pub z: FieldElement,
    /// T = XY/Z.
    pub t: FieldElement,
}

/// Curve constants, derived once from their definitions (no transcribed limbs).
#[derive(Debug, Clone, Copy)]
pub struct CurveConstants {
    /// d = −121665 / 121666.
    pub d: FieldElement,
    /// 2·d.
    pub d2: FieldElement,
    /// √−1 = 2^((p − 1) / 4).
    pub sqrt_m1: FieldElement,
}

impl CurveConstants {
    /// Computes d, 2d and √−1.
    pub fn new() -> Self {
        let d = FieldElement::from_u64(121_665)
            .neg()
            .mul(&FieldElement::from_u64(121_666).invert());
        let two = FieldElement::from_u64(2);
        // 2 is a non-square mod p (p ≡ 5 mod 8), so 2^((p−1)/4) squares to −1.
        // (p − 1)/4 = 2^253 − 5 = 2·(2^252 − 3) + 1.
        let sqrt_m1 = two.pow_p58().square().mul(&two);
        Self {
            d,
            d2: d.add(&d),
            sqrt_m1,
        }
    }
}

impl Default for CurveConstants {
    fn default() -> Self {
        Self::new()
    }
}

/// Window width of the scalar multiplication, in bits.
pub const WINDOW_BITS: usize = 4;
/// Entries in a window table: `[0]P ..= [15]P`.
pub const TABLE_SIZE: usize = 1 << WINDOW_BITS;

impl EdwardsPoint {
    /// The neutral element `(0 : 1 : 1 : 0)`.
    pub const IDENTITY: Self = Self {
        x: FieldElement::ZERO,
        y: FieldElement::ONE,
        z: FieldElement::ONE,
        t: FieldElement::ZERO,
    };

    /// Decodes 32 bytes under ZIP-215: `y` is the low 255 bits taken mod p (so
    /// non-canonical `y` is accepted), `x` is the square root of
    /// `(y² − 1) / (d·y² + 1)` whose parity is the top bit (so `x = 0` with the sign
    /// bit set decodes to `x = 0`). `None` when no square root exists.
    pub fn decompress(bytes: &[u8; 32], constants: &CurveConstants) -> Option<Self> {
        let y = FieldElement::from_bytes(bytes);
        let y2 = y.square();
        let u = y2.sub(&FieldElement::ONE);
        let v = constants.d.mul(&y2).add(&FieldElement::ONE);
        // x = u·v³·(u·v⁷)^((p−5)/8), then fix the root up by √−1 if needed.
        let v3 = v.square().mul(&v);
        let v7 = v3.square().mul(&v);
        let mut x = u.mul(&v3).mul(&u.mul(&v7).pow_p58());
        let check = v.mul(&x.square());
        if check.equals(&u) {
            // x is a root already.
        } else if check.equals(&u.neg()) {
            x = x.mul(&constants.sqrt_m1);
        } else {
            return None;
        }
        let sign = bytes[31] >> 7 == 1;
        if x.is_negative() != sign {
            x = x.neg();
        }
        Some(Self {
            x,
            y,
            z: FieldElement::ONE,
            t: x.mul(&y),
        })
    }

    /// `−self`.
    pub fn neg(&self) -> Self {
        Self {
            x: self.x.neg(),
            y: self.y,
            z: self.z,
            t: self.t.neg(),
        }
    }

    /// `self + other` (complete; `d2` is 2·d).
    pub fn add(&self, other: &Self, d2: &FieldElement) -> Self {
        let a = self.y.sub(&self.x).mul(&other.y.sub(&other.x));
        let b = self.y.add(&self.x).mul(&other.y.add(&other.x));
        let c = self.t.mul(d2).mul(&other.t);
        let zz = self.z.mul(&other.z);
        let d = zz.add(&zz);
        let e = b.sub(&a);
        let f = d.sub(&c);
        let g = d.add(&c);
        let h = b.add(&a);
        Self {
            x: e.mul(&f),
            y: g.mul(&h),
            z: f.mul(&g),
            t: e.mul(&h),
        }
    }

    /// `2·self`.
    pub fn double(&self) -> Self {
        let a = self.x.square();
        let b = self.y.square();
        let zz = self.z.square();
        let c = zz.add(&zz);
        let h = a.add(&b);
        let e = h.sub(&self.x.add(&self.y).square());
        let g = a.sub(&b);
        let f = c.add(&g);
        Self {
            x: e.mul(&f),
            y: g.mul(&h),
            z: f.mul(&g),
            t: e.mul(&h),
        }
    }

    /// Whether this is the neutral element: `X = 0` and `Y = Z`.
    pub fn is_identity(&self) -> bool {
        self.x.is_zero() && self.y.equals(&self.z)
    }

    /// `[0]self ..= [15]self`.
    pub fn window_table(&self, d2: &FieldElement) -> [Self; TABLE_SIZE] {
        let mut table = [Self::IDENTITY; TABLE_SIZE];
        for index in 1..TABLE_SIZE {
            table[index] = table[index - 1].add(self, d2);
        }
        table
    }

    /// The point with these affine coordinates' encoding made `Z = 1`.
    pub fn normalize(&self) -> Self {
        let z_inverse = self.z.invert();
        let x = self.x.mul(&z_inverse);
        let y = self.y.mul(&z_inverse);
        Self {
            x,
            y,
            z: FieldElement::ONE,
            t: x.mul(&y),
        }
    }
}

/// Nibble `index` (0 = least significant) of a little-endian 256-bit scalar.
pub fn nibble(scalar: &[u8; 32], index: usize) -> usize {
    usize::from((scalar[index / 2] >> (4 * (index % 2))) & 0x0f)
}

/// `[s]B + [k]Q` for the basepoint table `base_table` and the table of `Q`, by joint
/// 4-bit fixed windows from the top nibble down (252 doublings, 128 additions).
pub fn double_scalar_mul(
    s: &[u8; 32],
    base_table: &[EdwardsPoint; TABLE_SIZE],
    k: &[u8; 32],
    point_table: &[EdwardsPoint; TABLE_SIZE],
    d2: &FieldElement,
) -> EdwardsPoint {
    let mut accumulator = EdwardsPoint::IDENTITY;
    for index in (0..64).rev() {
        if index != 63 {
            for _ in 0..WINDOW_BITS {
                accumulator = accumulator.double();
            }
        }
        accumulator = accumulator.add(&point_table[nibble(k, index)], d2);
        accumulator = accumulator.add(&base_table[nibble(s, index)], d2);
    }
    accumulator
}
