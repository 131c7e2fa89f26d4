//! The WGSL kernel's micro-code: point addition, doubling and ZIP-215 decompression as
//! straight-line programs over a file of field-element registers, and a Rust
//! interpreter of them over the reference field that runs the kernel's exact control
//! flow, so the programs are tested on the CPU before a GPU (or lavapipe) sees them.
//!
//! Why micro-code: Vulkan drivers inline every function call of a shader. Written as
//! ordinary functions, the verifier's ~150 call sites of the field multiplication
//! (each 400 multiply-adds) inline into a shader that Mesa's compiler did not finish
//! compiling in ten minutes. As micro-code, the multiplication appears at a handful of
//! call sites of one interpreter loop, and the shader compiles in seconds.
//!
//! An instruction is one `u32`: `op | dst << 2 | a << 8 | b << 14 | count << 20` with
//! `op` one of [`Op`]: `dst = a · b`, `dst = a + b`, `dst = a − b`, or
//! `dst = a^(2^count)` (repeated squaring).

use crate::reference::field::FieldElement;

/// A field operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum Op {
    /// `dst = a · b`.
    Mul = 0,
    /// `dst = a + b`.
    Add = 1,
    /// `dst = a − b`.
    Sub = 2,
    /// `dst = a^(2^count)`.
    SquareTimes = 3,
}

/// Registers in the file (each one field element).
pub const REGISTERS: usize = 52;
const _: () = assert!(REGISTERS <= 64, "a register index is 6 bits");

/// Register names (indices into the register file).
pub mod register {
    /// The accumulator point `(X, Y, Z, T)`: 0..4.
    pub const ACC: usize = 0;
    /// The operand point `Q` of [`super::ADD`]: 4..8.
    pub const Q: usize = 4;
    /// Temporaries of the point programs: 8..17.
    pub const TEMP: usize = 8;
    /// 2d.
    pub const D2: usize = 17;
    /// d.
    pub const D: usize = 18;
    /// √−1.
    pub const SQRT_M1: usize = 19;
    /// 1.
    pub const ONE: usize = 20;
    /// Decompression input: y.
    pub const Y: usize = 21;
    /// y².
    pub const Y2: usize = 22;
    /// u = y² − 1.
    pub const U: usize = 23;
    /// v = d·y² + 1.
    pub const V: usize = 24;
    /// v³.
    pub const V3: usize = 25;
    /// v⁷.
    pub const V7: usize = 26;
    /// The candidate root x = u·v³·(u·v⁷)^((p−5)/8); after the fix-up, the chosen x.
    pub const X: usize = 27;
    /// check = v·x².
    pub const CHECK: usize = 28;
    /// u·v⁷.
    pub const W: usize = 29;
    /// Exponentiation temporaries: 30..42.
    pub const POW: usize = 30;
    /// −u.
    pub const NEG_U: usize = 42;
    /// 0.
    pub const ZERO: usize = 43;
    /// x·√−1.
    pub const X_I: usize = 44;
    /// −x.
    pub const NEG_X: usize = 45;
    /// −x·√−1.
    pub const NEG_X_I: usize = 46;
    /// The decoded point, negated, after [`super::FINISH`]: (−x, y, 1, −xy) as
    /// registers NEG_POINT_X, Y, ONE, NEG_POINT_T.
    pub const NEG_POINT_X: usize = 47;
    /// −x·y.
    pub const NEG_POINT_T: usize = 48;
    /// x·y.
    pub const POINT_T: usize = 49;
    /// −R, kept for the end: 50 (X) and 51 (T); its Y is stored in ACC's slot later.
    pub const NEG_R_X: usize = 50;
    /// −R's T.
    pub const NEG_R_T: usize = 51;
}

use register::*;

/// One instruction, readable.
#[derive(Debug, Clone, Copy)]
pub struct Instruction {
    /// The operation.
    pub op: Op,
    /// Destination register.
    pub dst: usize,
    /// First operand.
    pub a: usize,
    /// Second operand (ignored by `SquareTimes`).
    pub b: usize,
    /// Squarings (only `SquareTimes`).
    pub count: u32,
}

const fn mul(dst: usize, a: usize, b: usize) -> Instruction {
    Instruction {
        op: Op::Mul,
        dst,
        a,
        b,
        count: 0,
    }
}
const fn add(dst: usize, a: usize, b: usize) -> Instruction {
    Instruction {
        op: Op::Add,
        dst,
        a,
        b,
        count: 0,
    }
}
const fn sub(dst: usize, a: usize, b: usize) -> Instruction {
    Instruction {
        op: Op::Sub,
        dst,
        a,
        b,
        count: 0,
    }
}
const fn square_times(dst: usize, a: usize, count: u32) -> Instruction {
    Instruction {
        op: Op::SquareTimes,
        dst,
        a,
        b: 0,
        count,
    }
}

const T0: usize = TEMP;
const T1: usize = TEMP + 1;
const T2: usize = TEMP + 2;
const T3: usize = TEMP + 3;
const T4: usize = TEMP + 4;
const T5: usize = TEMP + 5;
const T6: usize = TEMP + 6;
const T7: usize = TEMP + 7;
const X1: usize = ACC;
const Y1: usize = ACC + 1;
const Z1: usize = ACC + 2;
const TT1: usize = ACC + 3;
const X2: usize = Q;
const Y2_: usize = Q + 1;
const Z2: usize = Q + 2;
const TT2: usize = Q + 3;

/// ACC = ACC + Q (add-2008-hwcd-3, complete), as [`crate::reference::edwards`].
pub const ADD: &[Instruction] = &[
    sub(T0, Y1, X1),
    sub(T1, Y2_, X2),
    mul(T0, T0, T1), // a
    add(T1, Y1, X1),
    add(T2, Y2_, X2),
    mul(T1, T1, T2), // b
    mul(T2, TT1, D2),
    mul(T2, T2, TT2), // c
    mul(T3, Z1, Z2),
    add(T3, T3, T3), // d
    sub(T4, T1, T0), // e = b − a
    sub(T5, T3, T2), // f = d − c
    add(T6, T3, T2), // g = d + c
    add(T7, T1, T0), // h = b + a
    mul(X1, T4, T5),
    mul(Y1, T6, T7),
    mul(Z1, T5, T6),
    mul(TT1, T4, T7),
];

/// ACC = 2·ACC (dbl-2008-hwcd), as [`crate::reference::edwards`].
pub const DOUBLE: &[Instruction] = &[
    mul(T0, X1, X1), // a
    mul(T1, Y1, Y1), // b
    mul(T2, Z1, Z1),
    add(T2, T2, T2), // c
    add(T3, T0, T1), // h
    add(T4, X1, Y1),
    mul(T4, T4, T4),
    sub(T4, T3, T4), // e = h − (x + y)²
    sub(T5, T0, T1), // g = a − b
    add(T6, T2, T5), // f = c + g
    mul(X1, T4, T6),
    mul(Y1, T5, T3),
    mul(Z1, T6, T5),
    mul(TT1, T4, T3),
];

const P2: usize = POW;
const P8: usize = POW + 1;
const P9: usize = POW + 2;
const P11: usize = POW + 3;
const P5: usize = POW + 4;
const P10: usize = POW + 5;
const P20: usize = POW + 6;
const P40: usize = POW + 7;
const P50: usize = POW + 8;
const P100: usize = POW + 9;
const P200: usize = POW + 10;
const P250: usize = POW + 11;
const _: () = assert!(P250 < NEG_U);

/// From y (register Y): u, v, the candidate root X = u·v³·(u·v⁷)^((p−5)/8), CHECK =
/// v·X², and the fix-up candidates −u, X·√−1, −X, −X·√−1. The kernel then compares
/// CHECK with u and −u and picks one candidate into X (see [`decompress_select`]).
pub const DECOMPRESS: &[Instruction] = &[
    mul(Y2, Y, Y),
    sub(U, Y2, ONE),
    mul(V, D, Y2),
    add(V, V, ONE),
    mul(V3, V, V),
    mul(V3, V3, V),
    mul(V7, V3, V3),
    mul(V7, V7, V),
    mul(W, U, V7),
    // W^(2^252 − 3), the chain of FieldElement::pow_p58.
    mul(P2, W, W),
    square_times(P8, P2, 2),
    mul(P9, P8, W),
    mul(P11, P9, P2),
    mul(P5, P11, P11),
    mul(P5, P5, P9),
    square_times(P10, P5, 5),
    mul(P10, P10, P5),
    square_times(P20, P10, 10),
    mul(P20, P20, P10),
    square_times(P40, P20, 20),
    mul(P40, P40, P20),
    square_times(P50, P40, 10),
    mul(P50, P50, P10),
    square_times(P100, P50, 50),
    mul(P100, P100, P50),
    square_times(P200, P100, 100),
    mul(P200, P200, P100),
    square_times(P250, P200, 50),
    mul(P250, P250, P50),
    square_times(P250, P250, 2),
    mul(P250, P250, W),
    mul(X, U, V3),
    mul(X, X, P250),
    mul(CHECK, X, X),
    mul(CHECK, CHECK, V),
    sub(NEG_U, ZERO, U),
    mul(X_I, X, SQRT_M1),
    sub(NEG_X, ZERO, X),
    sub(NEG_X_I, ZERO, X_I),
];

/// From the chosen x (register X) and y: x·y and the negated point's −x and −x·y.
pub const FINISH: &[Instruction] = &[
    mul(POINT_T, X, Y),
    sub(NEG_POINT_X, ZERO, X),
    sub(NEG_POINT_T, ZERO, POINT_T),
];

/// The programs' offsets in the encoded table: `(start, end)` per program.
#[derive(Debug, Clone, Copy)]
pub struct Layout {
    /// [`ADD`].
    pub add: (u32, u32),
    /// [`DOUBLE`].
    pub double: (u32, u32),
    /// [`DECOMPRESS`].
    pub decompress: (u32, u32),
    /// [`FINISH`].
    pub finish: (u32, u32),
}

/// Encodes one instruction.
pub fn encode(instruction: &Instruction) -> u32 {
    for register in [instruction.dst, instruction.a, instruction.b] {
        assert!(register < REGISTERS, "register {register}");
    }
    assert!(instruction.count < 256, "count fits 8 bits");
    instruction.op as u32
        | (instruction.dst as u32) << 2
        | (instruction.a as u32) << 8
        | (instruction.b as u32) << 14
        | instruction.count << 20
}

/// Every program, encoded back to back, and where each one sits.
pub fn encoded_programs() -> (Vec<u32>, Layout) {
    let mut words = Vec::new();
    let mut place = |program: &[Instruction]| {
        let start = words.len() as u32;
        words.extend(program.iter().map(encode));
        (start, words.len() as u32)
    };
    let add = place(ADD);
    let double = place(DOUBLE);
    let decompress = place(DECOMPRESS);
    let finish = place(FINISH);
    (
        words,
        Layout {
            add,
            double,
            decompress,
            finish,
        },
    )
}

/// Runs encoded instructions over `registers`, as the kernel's interpreter loop does.
pub fn run(program: &[u32], registers: &mut [FieldElement; REGISTERS]) {
    for word in program {
        let op = word & 3;
        let dst = ((word >> 2) & 63) as usize;
        let a = registers[((word >> 8) & 63) as usize];
        let b = registers[((word >> 14) & 63) as usize];
        let count = (word >> 20) & 255;
        registers[dst] = match op {
            0 => a.mul(&b),
            1 => a.add(&b),
            2 => a.sub(&b),
            _ => a.square_times(count),
        };
    }
}

/// The kernel's choice after [`DECOMPRESS`]: which register holds x with the right
/// sign, or `None` when y is not on the curve. `sign` is bit 255 of the encoding.
pub fn decompress_select(registers: &[FieldElement; REGISTERS], sign: bool) -> Option<usize> {
    let (root, negated) = if registers[CHECK].equals(&registers[U]) {
        (X, NEG_X)
    } else if registers[CHECK].equals(&registers[NEG_U]) {
        (X_I, NEG_X_I)
    } else {
        return None;
    };
    Some(if registers[root].is_negative() == sign {
        root
    } else {
        negated
    })
}

/// The WGSL kernel's control flow in Rust over the reference field: the same
/// registers, programs, tables and loop structure as `ed25519_verify` in
/// `kernels/wgsl/ed25519.wgsl`, step for step.
#[derive(Debug, Clone)]
pub struct MicrocodeVerifier {
    programs: Vec<u32>,
    layout: Layout,
    reference: crate::ReferenceSigVerify,
}

impl Default for MicrocodeVerifier {
    fn default() -> Self {
        Self::new()
    }
}

impl MicrocodeVerifier {
    /// Encodes the programs and derives the constants.
    pub fn new() -> Self {
        let (programs, layout) = encoded_programs();
        Self {
            programs,
            layout,
            reference: crate::ReferenceSigVerify::new(),
        }
    }

    fn run(&self, range: (u32, u32), registers: &mut [FieldElement; REGISTERS]) {
        run(
            &self.programs[range.0 as usize..range.1 as usize],
            registers,
        );
    }

    /// Decides one prepared record as the kernel does.
    pub fn verify_record(&self, record: &crate::prepare::Record) -> bool {
        let constants = self.reference.constants();
        let mut registers = [FieldElement::ZERO; REGISTERS];
        registers[D2] = constants.d2;
        registers[D] = constants.d;
        registers[SQRT_M1] = constants.sqrt_m1;
        registers[ONE] = FieldElement::ONE;
        registers[ZERO] = FieldElement::ZERO;
        for which in 0..2 {
            let bytes = if which == 0 {
                &record.public_key
            } else {
                &record.commitment
            };
            registers[Y] = FieldElement::from_bytes(bytes);
            self.run(self.layout.decompress, &mut registers);
            let Some(choice) = decompress_select(&registers, bytes[31] >> 7 == 1) else {
                return false;
            };
            registers[X] = registers[choice];
            self.run(self.layout.finish, &mut registers);
            if which == 0 {
                // Q = −A for the table; Y is overwritten by R's y next.
                registers[Q] = registers[NEG_POINT_X];
                registers[Q + 1] = registers[Y];
                registers[Q + 2] = registers[ONE];
                registers[Q + 3] = registers[NEG_POINT_T];
            } else {
                // −R = (NEG_R_X, Y, 1, NEG_R_T); no program writes Y after this.
                registers[NEG_R_X] = registers[NEG_POINT_X];
                registers[NEG_R_T] = registers[NEG_POINT_T];
            }
        }
        let identity = [
            FieldElement::ZERO,
            FieldElement::ONE,
            FieldElement::ONE,
            FieldElement::ZERO,
        ];
        let mut table = [FieldElement::ZERO; 64];
        table[..4].copy_from_slice(&identity);
        registers[ACC..ACC + 4].copy_from_slice(&identity);
        for entry in 1..16 {
            self.run(self.layout.add, &mut registers);
            table[4 * entry..4 * entry + 4].copy_from_slice(&registers[ACC..ACC + 4]);
        }
        registers[ACC..ACC + 4].copy_from_slice(&identity);
        let base_table = self.reference.base_table();
        for step in 0..64 {
            let index = 63 - step;
            for part in 0..6 {
                let program = if part < 4 {
                    if step == 0 {
                        continue;
                    }
                    self.layout.double
                } else if part == 4 {
                    let entry = crate::reference::edwards::nibble(&record.challenge, index);
                    registers[Q..Q + 4].copy_from_slice(&table[4 * entry..4 * entry + 4]);
                    self.layout.add
                } else {
                    let point =
                        base_table[crate::reference::edwards::nibble(&record.response, index)];
                    registers[Q..Q + 4].copy_from_slice(&[point.x, point.y, point.z, point.t]);
                    self.layout.add
                };
                self.run(program, &mut registers);
            }
        }
        registers[Q] = registers[NEG_R_X];
        registers[Q + 1] = registers[Y];
        registers[Q + 2] = registers[ONE];
        registers[Q + 3] = registers[NEG_R_T];
        for part in 0..4 {
            let program = if part == 0 {
                self.layout.add
            } else {
                self.layout.double
            };
            self.run(program, &mut registers);
        }
        registers[ACC].is_zero() && registers[ACC + 1].equals(&registers[ACC + 2])
    }

    /// The full rule for one signature.
    pub fn verify_item(&self, item: &crate::VerifyItem<'_>) -> bool {
        crate::prepare::prepare_item(item).is_some_and(|record| self.verify_record(&record))
    }
}
