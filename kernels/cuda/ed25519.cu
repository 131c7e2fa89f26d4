// Ed25519 verification under ZIP-215, one thread per signature.
//
// This file is the CUDA twin of kernels/src/reference (Rust): the same 5 x 51-bit field
// (reference/field.rs), the same extended-coordinate formulas and ZIP-215 decompression
// (reference/edwards.rs), the same joint 4-bit windows and cofactored check
// (reference/mod.rs). Change one, change the other; the tests compare them.
//
// The host (kernels/src/prepare.rs) has already rejected non-canonical S and computed
// k = SHA-512(R || A || M) mod l. Each record is 32 little-endian u32 words:
// A (8) || R (8) || S (8) || k (8). The device decides
//     decompress(A), decompress(R) succeed and [8]([S]B + [k](-A) - R) == identity.
//
// `constants` (CONSTANT_WORDS u64, built by the host from the reference):
//   d2[5] || d[5] || sqrt_m1[5] || base_table[16][X,Y,Z,T][5]   ([j]B, Z = 1)
//
// Build: nvcc -arch=sm_90 -ptx (and -cubin); see kernels/build-cuda.sh.

#include <stdint.h>

typedef unsigned __int128 u128;

#define MASK51 ((uint64_t)0x7ffffffffffffULL)
#define TABLE_SIZE 16
#define FE_WORDS 5
#define POINT_WORDS 20
#define CONSTANT_WORDS (3 * FE_WORDS + TABLE_SIZE * POINT_WORDS)
#define THREADS_PER_BLOCK 128

struct fe { uint64_t v[5]; };
struct ge { fe x, y, z, t; };

__device__ __forceinline__ void weak_reduce(fe &r, const uint64_t l[5]) {
    uint64_t c0 = l[0] >> 51, c1 = l[1] >> 51, c2 = l[2] >> 51, c3 = l[3] >> 51, c4 = l[4] >> 51;
    r.v[0] = (l[0] & MASK51) + c4 * 19;
    r.v[1] = (l[1] & MASK51) + c0;
    r.v[2] = (l[2] & MASK51) + c1;
    r.v[3] = (l[3] & MASK51) + c2;
    r.v[4] = (l[4] & MASK51) + c3;
}

__device__ __forceinline__ fe fe_add(const fe &a, const fe &b) {
    uint64_t s[5];
#pragma unroll
    for (int i = 0; i < 5; i++) s[i] = a.v[i] + b.v[i];
    fe r; weak_reduce(r, s); return r;
}

__device__ __forceinline__ fe fe_sub(const fe &a, const fe &b) {
    // a + 4p - b, limb by limb.
    uint64_t s[5];
    s[0] = (a.v[0] + 4 * (((uint64_t)1 << 51) - 19)) - b.v[0];
#pragma unroll
    for (int i = 1; i < 5; i++) s[i] = (a.v[i] + 4 * MASK51) - b.v[i];
    fe r; weak_reduce(r, s); return r;
}

__device__ __forceinline__ fe fe_neg(const fe &a) {
    fe zero = {{0, 0, 0, 0, 0}};
    return fe_sub(zero, a);
}

__device__ __forceinline__ u128 m(uint64_t x, uint64_t y) { return (u128)x * y; }

__device__ __noinline__ fe fe_mul(const fe &x, const fe &y) {
    const uint64_t *a = x.v, *b = y.v;
    uint64_t b1_19 = b[1] * 19, b2_19 = b[2] * 19, b3_19 = b[3] * 19, b4_19 = b[4] * 19;
    u128 c0 = m(a[0], b[0]) + m(a[4], b1_19) + m(a[3], b2_19) + m(a[2], b3_19) + m(a[1], b4_19);
    u128 c1 = m(a[1], b[0]) + m(a[0], b[1]) + m(a[4], b2_19) + m(a[3], b3_19) + m(a[2], b4_19);
    u128 c2 = m(a[2], b[0]) + m(a[1], b[1]) + m(a[0], b[2]) + m(a[4], b3_19) + m(a[3], b4_19);
    u128 c3 = m(a[3], b[0]) + m(a[2], b[1]) + m(a[1], b[2]) + m(a[0], b[3]) + m(a[4], b4_19);
    u128 c4 = m(a[4], b[0]) + m(a[3], b[1]) + m(a[2], b[2]) + m(a[1], b[3]) + m(a[0], b[4]);
    c1 += c0 >> 51;
    c2 += c1 >> 51;
    c3 += c2 >> 51;
    c4 += c3 >> 51;
    uint64_t top = (uint64_t)(c4 >> 51);
    fe r;
    r.v[0] = ((uint64_t)c0 & MASK51) + top * 19;
    r.v[1] = ((uint64_t)c1 & MASK51) + (r.v[0] >> 51);
    r.v[0] &= MASK51;
    r.v[2] = (uint64_t)c2 & MASK51;
    r.v[3] = (uint64_t)c3 & MASK51;
    r.v[4] = (uint64_t)c4 & MASK51;
    return r;
}

__device__ __forceinline__ fe fe_sq(const fe &a) { return fe_mul(a, a); }

__device__ fe fe_sq_times(fe a, int count) {
    for (int i = 0; i < count; i++) a = fe_sq(a);
    return a;
}

// a^(2^252 - 3)
__device__ fe fe_pow_p58(const fe &x) {
    fe x2 = fe_sq(x);
    fe x9 = fe_mul(fe_sq_times(x2, 2), x);
    fe x11 = fe_mul(x9, x2);
    fe x_5_0 = fe_mul(fe_sq(x11), x9);
    fe x_10_0 = fe_mul(fe_sq_times(x_5_0, 5), x_5_0);
    fe x_20_0 = fe_mul(fe_sq_times(x_10_0, 10), x_10_0);
    fe x_40_0 = fe_mul(fe_sq_times(x_20_0, 20), x_20_0);
    fe x_50_0 = fe_mul(fe_sq_times(x_40_0, 10), x_10_0);
    fe x_100_0 = fe_mul(fe_sq_times(x_50_0, 50), x_50_0);
    fe x_200_0 = fe_mul(fe_sq_times(x_100_0, 100), x_100_0);
    fe x_250_0 = fe_mul(fe_sq_times(x_200_0, 50), x_50_0);
    return fe_mul(fe_sq_times(x_250_0, 2), x);
}

// The canonical representative as four little-endian 64-bit words.
__device__ void fe_canonical(const fe &a, uint64_t w[4]) {
    uint64_t l[5];
    fe r; weak_reduce(r, a.v);
#pragma unroll
    for (int i = 0; i < 5; i++) l[i] = r.v[i];
    uint64_t q = (l[0] + 19) >> 51;
#pragma unroll
    for (int i = 1; i < 5; i++) q = (l[i] + q) >> 51;
    l[0] += 19 * q;
#pragma unroll
    for (int i = 0; i < 4; i++) { l[i + 1] += l[i] >> 51; l[i] &= MASK51; }
    l[4] &= MASK51;
    w[0] = l[0] | (l[1] << 51);
    w[1] = (l[1] >> 13) | (l[2] << 38);
    w[2] = (l[2] >> 26) | (l[3] << 25);
    w[3] = (l[3] >> 39) | (l[4] << 12);
}

__device__ bool fe_equal(const fe &a, const fe &b) {
    uint64_t wa[4], wb[4];
    fe_canonical(a, wa);
    fe_canonical(b, wb);
    return wa[0] == wb[0] && wa[1] == wb[1] && wa[2] == wb[2] && wa[3] == wb[3];
}

__device__ bool fe_is_zero(const fe &a) {
    uint64_t w[4];
    fe_canonical(a, w);
    return (w[0] | w[1] | w[2] | w[3]) == 0;
}

__device__ bool fe_is_negative(const fe &a) {
    uint64_t w[4];
    fe_canonical(a, w);
    return (w[0] & 1) == 1;
}

// 8 little-endian u32 words, bit 255 ignored.
__device__ fe fe_from_words(const uint32_t *words) {
    uint64_t w0 = (uint64_t)words[0] | ((uint64_t)words[1] << 32);
    uint64_t w1 = (uint64_t)words[2] | ((uint64_t)words[3] << 32);
    uint64_t w2 = (uint64_t)words[4] | ((uint64_t)words[5] << 32);
    uint64_t w3 = (uint64_t)words[6] | ((uint64_t)words[7] << 32);
    fe r;
    r.v[0] = w0 & MASK51;
    r.v[1] = ((w0 >> 51) | (w1 << 13)) & MASK51;
    r.v[2] = ((w1 >> 38) | (w2 << 26)) & MASK51;
    r.v[3] = ((w2 >> 25) | (w3 << 39)) & MASK51;
    r.v[4] = (w3 >> 12) & MASK51;
    return r;
}

__device__ fe fe_load(const uint64_t *limbs) {
    fe r;
#pragma unroll
    for (int i = 0; i < 5; i++) r.v[i] = limbs[i];
    return r;
}

__device__ ge ge_identity() {
    ge p;
    for (int i = 0; i < 5; i++) { p.x.v[i] = 0; p.y.v[i] = i == 0; p.z.v[i] = i == 0; p.t.v[i] = 0; }
    return p;
}

__device__ ge ge_add(const ge &p, const ge &q, const fe &d2) {
    fe a = fe_mul(fe_sub(p.y, p.x), fe_sub(q.y, q.x));
    fe b = fe_mul(fe_add(p.y, p.x), fe_add(q.y, q.x));
    fe c = fe_mul(fe_mul(p.t, d2), q.t);
    fe zz = fe_mul(p.z, q.z);
    fe d = fe_add(zz, zz);
    fe e = fe_sub(b, a), f = fe_sub(d, c), g = fe_add(d, c), h = fe_add(b, a);
    ge r;
    r.x = fe_mul(e, f); r.y = fe_mul(g, h); r.z = fe_mul(f, g); r.t = fe_mul(e, h);
    return r;
}

__device__ ge ge_double(const ge &p) {
    fe a = fe_sq(p.x), b = fe_sq(p.y), zz = fe_sq(p.z);
    fe c = fe_add(zz, zz);
    fe h = fe_add(a, b);
    fe e = fe_sub(h, fe_sq(fe_add(p.x, p.y)));
    fe g = fe_sub(a, b);
    fe f = fe_add(c, g);
    ge r;
    r.x = fe_mul(e, f); r.y = fe_mul(g, h); r.z = fe_mul(f, g); r.t = fe_mul(e, h);
    return r;
}

__device__ ge ge_neg(const ge &p) {
    ge r = p;
    r.x = fe_neg(p.x);
    r.t = fe_neg(p.t);
    return r;
}

// ZIP-215 decompression; false when (y^2 - 1) / (d y^2 + 1) has no square root.
__device__ bool ge_decompress(ge &p, const uint32_t *words, const fe &d, const fe &sqrt_m1) {
    fe one = {{1, 0, 0, 0, 0}};
    fe y = fe_from_words(words);
    fe y2 = fe_sq(y);
    fe u = fe_sub(y2, one);
    fe v = fe_add(fe_mul(d, y2), one);
    fe v3 = fe_mul(fe_sq(v), v);
    fe v7 = fe_mul(fe_sq(v3), v);
    fe x = fe_mul(fe_mul(u, v3), fe_pow_p58(fe_mul(u, v7)));
    fe check = fe_mul(v, fe_sq(x));
    if (fe_equal(check, u)) {
    } else if (fe_equal(check, fe_neg(u))) {
        x = fe_mul(x, sqrt_m1);
    } else {
        return false;
    }
    bool sign = (words[7] >> 31) == 1;
    if (fe_is_negative(x) != sign) x = fe_neg(x);
    p.x = x; p.y = y; p.z = one; p.t = fe_mul(x, y);
    return true;
}

__device__ __forceinline__ int nibble(const uint32_t *scalar, int index) {
    return (scalar[index >> 3] >> (4 * (index & 7))) & 0xf;
}

__device__ ge ge_load(const uint64_t *limbs) {
    ge p;
    p.x = fe_load(limbs); p.y = fe_load(limbs + 5); p.z = fe_load(limbs + 10); p.t = fe_load(limbs + 15);
    return p;
}

__device__ bool verify_record(const uint32_t *record, const uint64_t *constants) {
    fe d2 = fe_load(constants), d = fe_load(constants + 5), sqrt_m1 = fe_load(constants + 10);
    const uint64_t *base_table = constants + 3 * FE_WORDS;
    ge public_point, commitment_point;
    if (!ge_decompress(public_point, record, d, sqrt_m1)) return false;
    if (!ge_decompress(commitment_point, record + 8, d, sqrt_m1)) return false;
    const uint32_t *s = record + 16, *k = record + 24;

    ge table[TABLE_SIZE];
    ge minus_a = ge_neg(public_point);
    table[0] = ge_identity();
    for (int j = 1; j < TABLE_SIZE; j++) table[j] = ge_add(table[j - 1], minus_a, d2);

    ge acc = ge_identity();
    for (int index = 63; index >= 0; index--) {
        if (index != 63) {
            for (int bit = 0; bit < 4; bit++) acc = ge_double(acc);
        }
        acc = ge_add(acc, table[nibble(k, index)], d2);
        acc = ge_add(acc, ge_load(base_table + POINT_WORDS * nibble(s, index)), d2);
    }
    acc = ge_add(acc, ge_neg(commitment_point), d2);
    for (int i = 0; i < 3; i++) acc = ge_double(acc);
    return fe_is_zero(acc.x) && fe_equal(acc.y, acc.z);
}

extern "C" __global__ void __launch_bounds__(THREADS_PER_BLOCK)
ed25519_verify(const uint32_t *__restrict__ records, const uint64_t *__restrict__ constants,
               uint8_t *__restrict__ decisions, uint32_t count) {
    __shared__ uint64_t shared_constants[CONSTANT_WORDS];
    for (int i = threadIdx.x; i < CONSTANT_WORDS; i += blockDim.x) shared_constants[i] = constants[i];
    __syncthreads();
    uint32_t index = blockIdx.x * blockDim.x + threadIdx.x;
    if (index >= count) return;
    decisions[index] = verify_record(records + 32 * (size_t)index, shared_constants) ? 1 : 0;
}
