// Ed25519 verification under ZIP-215, one invocation per signature.
//
// The WGSL twin of kernels/src/reference (Rust) and kernels/cuda/ed25519.cu: the same
// extended-coordinate formulas, ZIP-215 decompression, joint 4-bit windows and
// cofactored identity check. Only the field differs: WGSL has no 64-bit integers and no
// 32x32->64 multiply, so an element is 20 limbs of 13 bits in u32 (260 bits). A limb
// product is below 2^27 and a column of 20 products below 2^31, so a schoolbook product
// needs no carries until the end; 2^260 = 32 * 2^255 = 32 * 19 = 608 (mod p) folds the
// high half back.
//
// Invariant: every fe_* function returns limbs <= 2^13 + 2^10 and accepts such limbs.
//
// The host (kernels/src/prepare.rs) has rejected non-canonical S and computed
// k = SHA-512(R || A || M) mod l. Each record is 32 u32 words, A || R || S || k, little
// endian. `constants` holds 20-limb elements: d2, d, sqrt_m1, then [0..16]B as
// (X, Y, Z, T). decisions[i] = 1 when signature i verifies, else 0.

const LIMBS: u32 = 20u;
const MASK: u32 = 0x1fffu;
const FOLD: u32 = 608u;          // 2^260 mod p
const RECORD_WORDS: u32 = 32u;
const FE_WORDS: u32 = 20u;
const POINT_WORDS: u32 = 80u;
const BASE_TABLE_OFFSET: u32 = 60u;

alias Fe = array<u32, 20>;

struct Ge {
    x: Fe,
    y: Fe,
    z: Fe,
    t: Fe,
}

struct Params {
    count: u32,
}

@group(0) @binding(0) var<storage, read> records: array<u32>;
@group(0) @binding(1) var<storage, read> constants: array<u32>;
@group(0) @binding(2) var<storage, read_write> decisions: array<u32>;
@group(0) @binding(3) var<uniform> params: Params;

fn fe_zero() -> Fe {
    var r: Fe;
    return r;
}

fn fe_one() -> Fe {
    var r: Fe;
    r[0] = 1u;
    return r;
}

// Carries limbs below 2^31 into limbs <= 2^13 + 2^10, folding overflow past 2^260.
fn fe_carry(input: Fe) -> Fe {
    var r = input;
    var c = 0u;
    for (var i = 0u; i < LIMBS; i++) {
        let v = r[i] + c;
        r[i] = v & MASK;
        c = v >> 13u;
    }
    r[0] += FOLD * c;
    c = 0u;
    for (var i = 0u; i < LIMBS; i++) {
        let v = r[i] + c;
        r[i] = v & MASK;
        c = v >> 13u;
    }
    r[0] += FOLD * c;
    return r;
}

fn fe_add(a_in: Fe, b_in: Fe) -> Fe {
    var a = a_in;
    var b = b_in;
    var r: Fe;
    for (var i = 0u; i < LIMBS; i++) {
        r[i] = a[i] + b[i];
    }
    return fe_carry(r);
}

// a - b + 2 * (2^260 - 608), written with every limb above any input limb.
fn fe_sub(a_in: Fe, b_in: Fe) -> Fe {
    var a = a_in;
    var b = b_in;
    var r: Fe;
    r[0] = a[0] + 15168u - b[0];
    for (var i = 1u; i < LIMBS; i++) {
        r[i] = a[i] + 16382u - b[i];
    }
    return fe_carry(r);
}

fn fe_neg(a: Fe) -> Fe {
    return fe_sub(fe_zero(), a);
}

fn fe_mul(a_in: Fe, b_in: Fe) -> Fe {
    var a = a_in;
    var b = b_in;
    var t: array<u32, 40>;
    for (var i = 0u; i < LIMBS; i++) {
        let ai = a[i];
        for (var j = 0u; j < LIMBS; j++) {
            t[i + j] += ai * b[j];
        }
    }
    var c = 0u;
    for (var k = 0u; k < 39u; k++) {
        let v = t[k] + c;
        t[k] = v & MASK;
        c = v >> 13u;
    }
    t[39] = c;
    var r: Fe;
    for (var i = 0u; i < LIMBS; i++) {
        r[i] = t[i] + FOLD * t[i + LIMBS];
    }
    return fe_carry(r);
}

fn fe_sq(a: Fe) -> Fe {
    return fe_mul(a, a);
}

fn fe_sq_times(a: Fe, count: u32) -> Fe {
    var r = a;
    for (var i = 0u; i < count; i++) {
        r = fe_sq(r);
    }
    return r;
}

// a^(2^252 - 3)
fn fe_pow_p58(x: Fe) -> Fe {
    let x2 = fe_sq(x);
    let x9 = fe_mul(fe_sq_times(x2, 2u), x);
    let x11 = fe_mul(x9, x2);
    let x_5_0 = fe_mul(fe_sq(x11), x9);
    let x_10_0 = fe_mul(fe_sq_times(x_5_0, 5u), x_5_0);
    let x_20_0 = fe_mul(fe_sq_times(x_10_0, 10u), x_10_0);
    let x_40_0 = fe_mul(fe_sq_times(x_20_0, 20u), x_20_0);
    let x_50_0 = fe_mul(fe_sq_times(x_40_0, 10u), x_10_0);
    let x_100_0 = fe_mul(fe_sq_times(x_50_0, 50u), x_50_0);
    let x_200_0 = fe_mul(fe_sq_times(x_100_0, 100u), x_100_0);
    let x_250_0 = fe_mul(fe_sq_times(x_200_0, 50u), x_50_0);
    return fe_mul(fe_sq_times(x_250_0, 2u), x);
}

// Carries without folding; bits at and above 2^255 are folded as 19 each round.
fn fold_255(input: Fe) -> Fe {
    var r = input;
    for (var round = 0u; round < 3u; round++) {
        let high = r[19] >> 8u;
        r[19] &= 0xffu;
        r[0] += 19u * high;
        var c = 0u;
        for (var i = 0u; i < LIMBS; i++) {
            let v = r[i] + c;
            r[i] = v & MASK;
            c = v >> 13u;
        }
        // c is 0 here: limb 19 holds at most 8 + 1 bits before this carry pass.
        r[19] += c << 13u;
    }
    return r;
}

// The canonical representative (below p), limbs below 2^13.
fn fe_canonical(a: Fe) -> Fe {
    var v = fold_255(a);
    // v < 2^255. If v + 19 reaches 2^255, v >= p and v - p = v + 19 - 2^255.
    var t = v;
    t[0] += 19u;
    var c = 0u;
    for (var i = 0u; i < LIMBS; i++) {
        let s = t[i] + c;
        t[i] = s & MASK;
        c = s >> 13u;
    }
    if ((t[19] >> 8u) != 0u) {
        t[19] &= 0xffu;
        return t;
    }
    return v;
}

fn fe_equal(a: Fe, b: Fe) -> bool {
    var x = fe_canonical(a);
    var y = fe_canonical(b);
    var same = true;
    for (var i = 0u; i < LIMBS; i++) {
        same = same && (x[i] == y[i]);
    }
    return same;
}

fn fe_is_zero(a: Fe) -> bool {
    var x = fe_canonical(a);
    var bits = 0u;
    for (var i = 0u; i < LIMBS; i++) {
        bits |= x[i];
    }
    return bits == 0u;
}

fn fe_is_negative(a: Fe) -> bool {
    var x = fe_canonical(a);
    return (x[0] & 1u) == 1u;
}

// 8 little-endian words of records[] from `offset`, bit 255 ignored.
fn fe_from_record(offset: u32) -> Fe {
    var r: Fe;
    for (var i = 0u; i < LIMBS; i++) {
        let start = 13u * i;
        let word = start / 32u;
        let shift = start % 32u;
        var v = records[offset + word] >> shift;
        if (shift > 19u && word < 7u) {
            v |= records[offset + word + 1u] << (32u - shift);
        }
        r[i] = v & MASK;
    }
    r[19] &= 0xffu;
    return r;
}

fn fe_from_constants(offset: u32) -> Fe {
    var r: Fe;
    for (var i = 0u; i < LIMBS; i++) {
        r[i] = constants[offset + i];
    }
    return r;
}

fn ge_identity() -> Ge {
    return Ge(fe_zero(), fe_one(), fe_one(), fe_zero());
}

fn ge_from_constants(offset: u32) -> Ge {
    return Ge(
        fe_from_constants(offset),
        fe_from_constants(offset + FE_WORDS),
        fe_from_constants(offset + 2u * FE_WORDS),
        fe_from_constants(offset + 3u * FE_WORDS),
    );
}

fn ge_add(p: Ge, q: Ge, d2: Fe) -> Ge {
    let a = fe_mul(fe_sub(p.y, p.x), fe_sub(q.y, q.x));
    let b = fe_mul(fe_add(p.y, p.x), fe_add(q.y, q.x));
    let c = fe_mul(fe_mul(p.t, d2), q.t);
    let zz = fe_mul(p.z, q.z);
    let d = fe_add(zz, zz);
    let e = fe_sub(b, a);
    let f = fe_sub(d, c);
    let g = fe_add(d, c);
    let h = fe_add(b, a);
    return Ge(fe_mul(e, f), fe_mul(g, h), fe_mul(f, g), fe_mul(e, h));
}

fn ge_double(p: Ge) -> Ge {
    let a = fe_sq(p.x);
    let b = fe_sq(p.y);
    let zz = fe_sq(p.z);
    let c = fe_add(zz, zz);
    let h = fe_add(a, b);
    let e = fe_sub(h, fe_sq(fe_add(p.x, p.y)));
    let g = fe_sub(a, b);
    let f = fe_add(c, g);
    return Ge(fe_mul(e, f), fe_mul(g, h), fe_mul(f, g), fe_mul(e, h));
}

fn ge_neg(p: Ge) -> Ge {
    return Ge(fe_neg(p.x), p.y, p.z, fe_neg(p.t));
}

struct Decoded {
    ok: bool,
    point: Ge,
}

// ZIP-215 decompression of the 8 words at records[offset].
fn ge_decompress(offset: u32, d: Fe, sqrt_m1: Fe) -> Decoded {
    let y = fe_from_record(offset);
    let y2 = fe_sq(y);
    let u = fe_sub(y2, fe_one());
    let v = fe_add(fe_mul(d, y2), fe_one());
    let v3 = fe_mul(fe_sq(v), v);
    let v7 = fe_mul(fe_sq(v3), v);
    var x = fe_mul(fe_mul(u, v3), fe_pow_p58(fe_mul(u, v7)));
    let check = fe_mul(v, fe_sq(x));
    if (fe_equal(check, u)) {
    } else if (fe_equal(check, fe_neg(u))) {
        x = fe_mul(x, sqrt_m1);
    } else {
        return Decoded(false, ge_identity());
    }
    let sign = (records[offset + 7u] >> 31u) == 1u;
    if (fe_is_negative(x) != sign) {
        x = fe_neg(x);
    }
    return Decoded(true, Ge(x, y, fe_one(), fe_mul(x, y)));
}

fn nibble(offset: u32, index: u32) -> u32 {
    return (records[offset + index / 8u] >> (4u * (index % 8u))) & 0xfu;
}

fn verify_record(base: u32) -> bool {
    let d2 = fe_from_constants(0u);
    let d = fe_from_constants(FE_WORDS);
    let sqrt_m1 = fe_from_constants(2u * FE_WORDS);
    let public_key = ge_decompress(base, d, sqrt_m1);
    if (!public_key.ok) {
        return false;
    }
    let commitment = ge_decompress(base + 8u, d, sqrt_m1);
    if (!commitment.ok) {
        return false;
    }
    var table: array<Ge, 16>;
    let minus_a = ge_neg(public_key.point);
    table[0] = ge_identity();
    for (var j = 1u; j < 16u; j++) {
        table[j] = ge_add(table[j - 1u], minus_a, d2);
    }
    var acc = ge_identity();
    for (var step = 0u; step < 64u; step++) {
        let index = 63u - step;
        if (step != 0u) {
            for (var bit = 0u; bit < 4u; bit++) {
                acc = ge_double(acc);
            }
        }
        acc = ge_add(acc, table[nibble(base + 24u, index)], d2);
        acc = ge_add(acc, ge_from_constants(BASE_TABLE_OFFSET + POINT_WORDS * nibble(base + 16u, index)), d2);
    }
    acc = ge_add(acc, ge_neg(commitment.point), d2);
    for (var i = 0u; i < 3u; i++) {
        acc = ge_double(acc);
    }
    return fe_is_zero(acc.x) && fe_equal(acc.y, acc.z);
}

@compute @workgroup_size(64)
fn ed25519_verify(@builtin(global_invocation_id) id: vec3<u32>) {
    let index = id.x;
    if (index >= params.count) {
        return;
    }
    decisions[index] = select(0u, 1u, verify_record(index * RECORD_WORDS));
}
