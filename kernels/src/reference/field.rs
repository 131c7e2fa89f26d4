//! Arithmetic in GF(2^255 − 19) with five 51-bit limbs in `u64` — the layout the CUDA
//! kernel (`kernels/cuda/ed25519.cu`, `fe_*`) uses, function for function.
//!
//! Invariant: every function returns limbs below 2^51 + 2^8 ("weakly reduced") and
//! accepts limbs below 2^52, so any output may feed any input. Products are 128-bit
//! (`u128` here, `unsigned __int128` in CUDA); column sums stay below 2^108. A value is only reduced to its canonical
//! representative (below p) by [`FieldElement::to_bytes`], which equality, zero and
//! sign tests go through.

const LOW_51_BIT_MASK: u64 = (1 << 51) - 1;

/// An element of GF(2^255 − 19): `Σ limbs[i] · 2^(51·i)`, not necessarily below p.
#[derive(Debug, Clone, Copy)]
pub struct FieldElement(pub [u64; 5]);

/// 4p, limb by limb: added before a subtraction so that no limb underflows.
const FOUR_P: [u64; 5] = [
    4 * ((1 << 51) - 19),
    4 * LOW_51_BIT_MASK,
    4 * LOW_51_BIT_MASK,
    4 * LOW_51_BIT_MASK,
    4 * LOW_51_BIT_MASK,
];

impl FieldElement {
    /// Zero.
    pub const ZERO: Self = Self([0; 5]);
    /// One.
    pub const ONE: Self = Self([1, 0, 0, 0, 0]);

    /// A small integer.
    pub const fn from_u64(value: u64) -> Self {
        assert!(value <= LOW_51_BIT_MASK);
        Self([value, 0, 0, 0, 0])
    }

    /// Loads 32 little-endian bytes, ignoring bit 255. Values in `[p, 2^255)` are
    /// accepted and act as `value − p` (ZIP-215 decodes non-canonical `y` this way).
    pub fn from_bytes(bytes: &[u8; 32]) -> Self {
        let word = |index: usize| {
            u64::from_le_bytes(bytes[8 * index..8 * index + 8].try_into().expect("8 bytes"))
        };
        let (w0, w1, w2, w3) = (word(0), word(1), word(2), word(3));
        Self([
            w0 & LOW_51_BIT_MASK,
            ((w0 >> 51) | (w1 << 13)) & LOW_51_BIT_MASK,
            ((w1 >> 38) | (w2 << 26)) & LOW_51_BIT_MASK,
            ((w2 >> 25) | (w3 << 39)) & LOW_51_BIT_MASK,
            (w3 >> 12) & LOW_51_BIT_MASK,
        ])
    }

    /// The canonical encoding: the representative below p, 32 little-endian bytes.
    pub fn to_bytes(&self) -> [u8; 32] {
        let mut limbs = weak_reduce(self.0);
        // q = 1 exactly when the value is at least p (limbs are below 2^51 + 2^13).
        let mut q = (limbs[0] + 19) >> 51;
        for limb in &limbs[1..] {
            q = (limb + q) >> 51;
        }
        limbs[0] += 19 * q;
        for index in 0..4 {
            limbs[index + 1] += limbs[index] >> 51;
            limbs[index] &= LOW_51_BIT_MASK;
        }
        limbs[4] &= LOW_51_BIT_MASK;
        let words = [
            limbs[0] | (limbs[1] << 51),
            (limbs[1] >> 13) | (limbs[2] << 38),
            (limbs[2] >> 26) | (limbs[3] << 25),
            (limbs[3] >> 39) | (limbs[4] << 12),
        ];
        let mut bytes = [0u8; 32];
        for (chunk, word) in bytes.chunks_exact_mut(8).zip(words) {
            chunk.copy_from_slice(&word.to_le_bytes());
        }
        bytes
    }

    /// `self + other`.
    pub fn add(&self, other: &Self) -> Self {
        let mut sum = [0u64; 5];
        for (index, limb) in sum.iter_mut().enumerate() {
            *limb = self.0[index] + other.0[index];
        }
        Self(weak_reduce(sum))
    }

    /// `self − other`.
    pub fn sub(&self, other: &Self) -> Self {
        let mut difference = [0u64; 5];
        for (index, limb) in difference.iter_mut().enumerate() {
            *limb = (self.0[index] + FOUR_P[index]) - other.0[index];
        }
        Self(weak_reduce(difference))
    }

    /// `−self`.
    pub fn neg(&self) -> Self {
        Self::ZERO.sub(self)
    }

    /// `self · other` (schoolbook, with the 2^255 ≡ 19 fold applied to the high half).
    pub fn mul(&self, other: &Self) -> Self {
        let a = self.0;
        let b = other.0;
        let m = |x: u64, y: u64| u128::from(x) * u128::from(y);
        let b1_19 = b[1] * 19;
        let b2_19 = b[2] * 19;
        let b3_19 = b[3] * 19;
        let b4_19 = b[4] * 19;
        let c0 = m(a[0], b[0]) + m(a[4], b1_19) + m(a[3], b2_19) + m(a[2], b3_19) + m(a[1], b4_19);
        let c1 = m(a[1], b[0]) + m(a[0], b[1]) + m(a[4], b2_19) + m(a[3], b3_19) + m(a[2], b4_19);
        let c2 = m(a[2], b[0]) + m(a[1], b[1]) + m(a[0], b[2]) + m(a[4], b3_19) + m(a[3], b4_19);
        let c3 = m(a[3], b[0]) + m(a[2], b[1]) + m(a[1], b[2]) + m(a[0], b[3]) + m(a[4], b4_19);
        let c4 = m(a[4], b[0]) + m(a[3], b[1]) + m(a[2], b[2]) + m(a[1], b[3]) + m(a[0], b[4]);
        Self(carry_wide([c0, c1, c2, c3, c4]))
    }

    /// `self²`.
    pub fn square(&self) -> Self {
        self.mul(self)
    }

    /// `self^(2^count)`.
    pub fn square_times(&self, count: u32) -> Self {
        let mut result = *self;
        for _ in 0..count {
            result = result.square();
        }
        result
    }

    /// `(self^(2^250 − 1), self^11)`: the shared prefix of inversion and square roots.
    fn pow_2_250_minus_1(&self) -> (Self, Self) {
        let x = *self;
        let x2 = x.square();
        let x9 = x2.square_times(2).mul(&x);
        let x11 = x9.mul(&x2);
        let x_5_0 = x11.square().mul(&x9); // x^(2^5 − 1) = x^31
        let x_10_0 = x_5_0.square_times(5).mul(&x_5_0);
        let x_20_0 = x_10_0.square_times(10).mul(&x_10_0);
        let x_40_0 = x_20_0.square_times(20).mul(&x_20_0);
        let x_50_0 = x_40_0.square_times(10).mul(&x_10_0);
        let x_100_0 = x_50_0.square_times(50).mul(&x_50_0);
        let x_200_0 = x_100_0.square_times(100).mul(&x_100_0);
        let x_250_0 = x_200_0.square_times(50).mul(&x_50_0);
        (x_250_0, x11)
    }

    /// `self^((p − 5) / 8) = self^(2^252 − 3)`.
    pub fn pow_p58(&self) -> Self {
        let (x_250_0, _) = self.pow_2_250_minus_1();
        x_250_0.square_times(2).mul(self)
    }

    /// `self^(p − 2)`, the inverse of a non-zero element (zero maps to zero).
    pub fn invert(&self) -> Self {
        let (x_250_0, x11) = self.pow_2_250_minus_1();
        x_250_0.square_times(5).mul(&x11)
    }

    /// Whether both are the same element of the field.
    pub fn equals(&self, other: &Self) -> bool {
        self.to_bytes() == other.to_bytes()
    }

    /// Whether this is zero.
    pub fn is_zero(&self) -> bool {
        self.to_bytes() == [0u8; 32]
    }

    /// Whether the canonical representative is odd (the "negative" sign of RFC 8032).
    pub fn is_negative(&self) -> bool {
        self.to_bytes()[0] & 1 == 1
    }
}

/// One carry pass: limbs below 2^54 in, below 2^51 + 2^8 out (the top carry, at most 7,
/// re-enters limb 0 times 19).
fn weak_reduce(limbs: [u64; 5]) -> [u64; 5] {
    let c0 = limbs[0] >> 51;
    let c1 = limbs[1] >> 51;
    let c2 = limbs[2] >> 51;
    let c3 = limbs[3] >> 51;
    let c4 = limbs[4] >> 51;
    [
        (limbs[0] & LOW_51_BIT_MASK) + c4 * 19,
        (limbs[1] & LOW_51_BIT_MASK) + c0,
        (limbs[2] & LOW_51_BIT_MASK) + c1,
        (limbs[3] & LOW_51_BIT_MASK) + c2,
        (limbs[4] & LOW_51_BIT_MASK) + c3,
    ]
}

/// Carries 128-bit column sums (each below 2^115) into weakly reduced limbs.
fn carry_wide(columns: [u128; 5]) -> [u64; 5] {
    let mask = u128::from(LOW_51_BIT_MASK);
    let mut c = columns;
    c[1] += c[0] >> 51;
    c[2] += c[1] >> 51;
    c[3] += c[2] >> 51;
    c[4] += c[3] >> 51;
    let top_carry = (c[4] >> 51) as u64;
    let mut limbs = [
        (c[0] & mask) as u64,
        (c[1] & mask) as u64,
        (c[2] & mask) as u64,
        (c[3] & mask) as u64,
        (c[4] & mask) as u64,
    ];
    limbs[0] += top_carry * 19;
    limbs[1] += limbs[0] >> 51;
    limbs[0] &= LOW_51_BIT_MASK;
    limbs
}
