//! The WGSL kernel's field, GF(2^255 − 19) in 20 limbs of 13 bits held in `u32`, ported
//! line for line from `kernels/wgsl/ed25519.wgsl` (`fe_*`), so its bounds and
//! reductions are tested against [`crate::reference::field`] on the CPU.
//!
//! Invariant (as in the shader): functions return limbs ≤ 2^13 + 2^10 and accept such
//! limbs; a column of 20 limb products then stays below 2^31, and every intermediate
//! fits `u32` — checked here by debug-mode overflow panics.

/// Limbs per element.
pub const LIMBS: usize = 20;
const MASK: u32 = 0x1fff;
/// 2^260 mod p.
const FOLD: u32 = 608;

/// An element: `Σ limbs[i] · 2^(13·i)`.
pub type Fe13 = [u32; LIMBS];

fn carry(input: Fe13) -> Fe13 {
    let mut r = input;
    for _ in 0..2 {
        let mut c = 0u32;
        for limb in r.iter_mut() {
            let v = *limb + c;
            *limb = v & MASK;
            c = v >> 13;
        }
        r[0] += FOLD * c;
    }
    r
}

/// `a + b`.
pub fn add(a: &Fe13, b: &Fe13) -> Fe13 {
    let mut r = [0u32; LIMBS];
    for i in 0..LIMBS {
        r[i] = a[i] + b[i];
    }
    carry(r)
}

/// `a − b`, as `a + 2·(2^260 − 608) − b`.
pub fn sub(a: &Fe13, b: &Fe13) -> Fe13 {
    let mut r = [0u32; LIMBS];
    r[0] = a[0] + 15168 - b[0];
    for i in 1..LIMBS {
        r[i] = a[i] + 16382 - b[i];
    }
    carry(r)
}

/// `a · b`.
pub fn mul(a: &Fe13, b: &Fe13) -> Fe13 {
    let mut t = [0u32; 2 * LIMBS];
    for i in 0..LIMBS {
        for j in 0..LIMBS {
            t[i + j] += a[i] * b[j];
        }
    }
    let mut c = 0u32;
    for limb in t.iter_mut().take(2 * LIMBS - 1) {
        let v = *limb + c;
        *limb = v & MASK;
        c = v >> 13;
    }
    t[2 * LIMBS - 1] = c;
    let mut r = [0u32; LIMBS];
    for i in 0..LIMBS {
        r[i] = t[i] + FOLD * t[i + LIMBS];
    }
    carry(r)
}

fn fold_255(input: &Fe13) -> Fe13 {
    let mut r = *input;
    for _ in 0..3 {
        let high = r[19] >> 8;
        r[19] &= 0xff;
        r[0] += 19 * high;
        let mut c = 0u32;
        for limb in r.iter_mut() {
            let v = *limb + c;
            *limb = v & MASK;
            c = v >> 13;
        }
        r[19] += c << 13;
    }
    r
}

/// The canonical representative, limbs below 2^13.
pub fn canonical(a: &Fe13) -> Fe13 {
    let v = fold_255(a);
    let mut t = v;
    t[0] += 19;
    let mut c = 0u32;
    for limb in t.iter_mut() {
        let s = *limb + c;
        *limb = s & MASK;
        c = s >> 13;
    }
    if t[19] >> 8 != 0 {
        t[19] &= 0xff;
        return t;
    }
    v
}

/// Loads 8 little-endian words, ignoring bit 255.
pub fn from_words(words: &[u32; 8]) -> Fe13 {
    let mut r = [0u32; LIMBS];
    for (i, limb) in r.iter_mut().enumerate() {
        let start = 13 * i;
        let word = start / 32;
        let shift = start % 32;
        let mut v = words[word] >> shift;
        if shift > 19 && word < 7 {
            v |= words[word + 1] << (32 - shift);
        }
        *limb = v & MASK;
    }
    r[19] &= 0xff;
    r
}

/// The canonical value as 32 little-endian bytes.
pub fn to_bytes(a: &Fe13) -> [u8; 32] {
    let limbs = canonical(a);
    let mut bytes = [0u8; 32];
    for (index, limb) in limbs.iter().enumerate() {
        for bit in 0..13 {
            let position = index * 13 + bit;
            if (limb >> bit) & 1 == 1 {
                bytes[position / 8] |= 1 << (position % 8);
            }
        }
    }
    bytes
}
