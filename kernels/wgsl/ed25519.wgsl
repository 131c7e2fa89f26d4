// Ed25519 verification under ZIP-215, one invocation per signature.
//
// The WGSL twin of kernels/src/reference (Rust) and kernels/cuda/ed25519.cu: the same
// extended-coordinate formulas, ZIP-215 decompression, joint 4-bit windows and
// cofactored identity check. The point and decompression steps are micro-code
// (kernels/src/microcode.rs, which also runs this file's control flow in Rust): Vulkan
// drivers inline every call, and the field multiplication written at its ~150 natural
// call sites made a shader Mesa could not compile in ten minutes; here it has one call
// site per interpreter loop. The field: WGSL has no 64-bit integers and no
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
// (X, Y, Z, T); then the program layout (start, end of ADD, DOUBLE, DECOMPRESS,
// FINISH) and the encoded programs. decisions[i] = 1 when signature i verifies.

const LIMBS: u32 = 20u;
const MASK: u32 = 0x1fffu;
const FOLD: u32 = 608u;          // 2^260 mod p
const RECORD_WORDS: u32 = 32u;
const FE_WORDS: u32 = 20u;
const POINT_WORDS: u32 = 80u;
const BASE_TABLE_OFFSET: u32 = 60u;
const LAYOUT_OFFSET: u32 = 1340u;     // 60 + 16 * 80
const PROGRAM_OFFSET: u32 = 1348u;    // LAYOUT_OFFSET + 8

// Programs (indices into the layout).
const PROGRAM_ADD: u32 = 0u;
const PROGRAM_DOUBLE: u32 = 1u;
const PROGRAM_DECOMPRESS: u32 = 2u;
const PROGRAM_FINISH: u32 = 3u;

// Registers: names as in kernels/src/microcode.rs (mod register).
const REGISTERS: u32 = 52u;
const R_ACC: u32 = 0u;
const R_Q: u32 = 4u;
const R_D2: u32 = 17u;
const R_D: u32 = 18u;
const R_SQRT_M1: u32 = 19u;
const R_ONE: u32 = 20u;
const R_Y: u32 = 21u;
const R_U: u32 = 23u;
const R_X: u32 = 27u;
const R_CHECK: u32 = 28u;
const R_NEG_U: u32 = 42u;
const R_ZERO: u32 = 43u;
const R_X_I: u32 = 44u;
const R_NEG_X: u32 = 45u;
const R_NEG_X_I: u32 = 46u;
const R_NEG_POINT_X: u32 = 47u;
const R_NEG_POINT_T: u32 = 48u;
const R_NEG_R_X: u32 = 50u;
const R_NEG_R_T: u32 = 51u;

alias Fe = array<u32, 20>;

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

// The field functions (fe_carry, fe_add, fe_sub, fe_mul, fe_canonical, fe_equal,
// fe_is_zero, fe_is_negative, fe_from_record, fe_from_constants) are generated with
// every loop unrolled by kernels/src/wgsl_field.rs and appended to this file when the
// shader is loaded: lavapipe caps an invocation's loop iterations at 65,535.

var<private> reg: array<Fe, REGISTERS>;
var<private> table: array<Fe, 64>;

// Runs one program over the register file: op | dst << 2 | a << 8 | b << 14 | count << 20.
fn run(program: u32) {
    let start = constants[LAYOUT_OFFSET + 2u * program];
    let end = constants[LAYOUT_OFFSET + 2u * program + 1u];
    for (var pc = start; pc < end; pc++) {
        let word = constants[PROGRAM_OFFSET + pc];
        let op = word & 3u;
        let dst = (word >> 2u) & 63u;
        let a = reg[(word >> 8u) & 63u];
        let b = reg[(word >> 14u) & 63u];
        var result: Fe;
        if (op == 1u) {
            result = fe_add(a, b);
        } else if (op == 2u) {
            result = fe_sub(a, b);
        } else {
            // Mul: one product; SquareTimes: `count` squarings. One call site of fe_mul.
            var x = a;
            var y = b;
            var rounds = 1u;
            if (op == 3u) {
                y = a;
                rounds = (word >> 20u) & 255u;
            }
            for (var i = 0u; i < rounds; i++) {
                x = fe_mul(x, y);
                if (op == 3u) {
                    y = x;
                }
            }
            result = x;
        }
        reg[dst] = result;
    }
}

fn set_identity_acc() {
    reg[R_ACC] = fe_zero();
    reg[R_ACC + 1u] = fe_one();
    reg[R_ACC + 2u] = fe_one();
    reg[R_ACC + 3u] = fe_zero();
}

fn nibble(offset: u32, index: u32) -> u32 {
    return (records[offset + index / 8u] >> (4u * (index % 8u))) & 0xfu;
}

fn verify_record(base: u32) -> bool {
    reg[R_D2] = fe_from_constants(0u);
    reg[R_D] = fe_from_constants(FE_WORDS);
    reg[R_SQRT_M1] = fe_from_constants(2u * FE_WORDS);
    reg[R_ONE] = fe_one();
    reg[R_ZERO] = fe_zero();
    // Decompress A (which = 0) and R (which = 1) under ZIP-215.
    for (var which = 0u; which < 2u; which++) {
        let offset = base + 8u * which;
        reg[R_Y] = fe_from_record(offset);
        run(PROGRAM_DECOMPRESS);
        var root = 0u;
        var negated = 0u;
        if (fe_equal(reg[R_CHECK], reg[R_U])) {
            root = R_X;
            negated = R_NEG_X;
        } else if (fe_equal(reg[R_CHECK], reg[R_NEG_U])) {
            root = R_X_I;
            negated = R_NEG_X_I;
        } else {
            return false;
        }
        let sign = (records[offset + 7u] >> 31u) == 1u;
        var choice = negated;
        if (fe_is_negative(reg[root]) == sign) {
            choice = root;
        }
        reg[R_X] = reg[choice];
        run(PROGRAM_FINISH);
        if (which == 0u) {
            reg[R_Q] = reg[R_NEG_POINT_X];
            reg[R_Q + 1u] = reg[R_Y];
            reg[R_Q + 2u] = reg[R_ONE];
            reg[R_Q + 3u] = reg[R_NEG_POINT_T];
        } else {
            reg[R_NEG_R_X] = reg[R_NEG_POINT_X];
            reg[R_NEG_R_T] = reg[R_NEG_POINT_T];
        }
    }
    // table[j] = [j](-A).
    set_identity_acc();
    for (var i = 0u; i < 4u; i++) {
        table[i] = reg[R_ACC + i];
    }
    for (var entry = 1u; entry < 16u; entry++) {
        run(PROGRAM_ADD);
        for (var i = 0u; i < 4u; i++) {
            table[4u * entry + i] = reg[R_ACC + i];
        }
    }
    // [S]B + [k](-A), joint 4-bit windows from the top.
    set_identity_acc();
    for (var step = 0u; step < 64u; step++) {
        let index = 63u - step;
        for (var part = 0u; part < 6u; part++) {
            var program = PROGRAM_DOUBLE;
            if (part < 4u) {
                if (step == 0u) {
                    continue;
                }
            } else if (part == 4u) {
                let entry = nibble(base + 24u, index);
                for (var i = 0u; i < 4u; i++) {
                    reg[R_Q + i] = table[4u * entry + i];
                }
                program = PROGRAM_ADD;
            } else {
                let entry = nibble(base + 16u, index);
                for (var i = 0u; i < 4u; i++) {
                    reg[R_Q + i] = fe_from_constants(BASE_TABLE_OFFSET + POINT_WORDS * entry + FE_WORDS * i);
                }
                program = PROGRAM_ADD;
            }
            run(program);
        }
    }
    // - R, then the cofactor 8.
    reg[R_Q] = reg[R_NEG_R_X];
    reg[R_Q + 1u] = reg[R_Y];
    reg[R_Q + 2u] = reg[R_ONE];
    reg[R_Q + 3u] = reg[R_NEG_R_T];
    for (var part = 0u; part < 4u; part++) {
        var program = PROGRAM_DOUBLE;
        if (part == 0u) {
            program = PROGRAM_ADD;
        }
        run(program);
    }
    return fe_is_zero(reg[R_ACC]) && fe_equal(reg[R_ACC + 1u], reg[R_ACC + 2u]);
}

@compute @workgroup_size(64)
fn ed25519_verify(@builtin(global_invocation_id) id: vec3<u32>) {
    let index = id.x;
    if (index >= params.count) {
        return;
    }
    decisions[index] = select(0u, 1u, verify_record(index * RECORD_WORDS));
}
