// AES-128/192/256 encryption (FIPS 197), constant-time, bitsliced over v128 lanes.
//
// Strategy (Käsper–Schwabe layout on WASM SIMD): eight 16-byte blocks are processed together in eight
// v128 "planes". Plane i holds bit i of all 128 state bytes: byte 4r + c of a plane holds that bit of
// the state byte at row r, column c (FIPS 197 §3.4) for the eight blocks, one block per bit. Rows are
// 32-bit lanes (blocks themselves are column-major; a 4×4 byte transpose converts). In this layout:
// - SubBytes (§5.1.1) is the Boyar–Peralta circuit (eprint 2009/191) on the planes: and/xor only;
// - ShiftRows (§5.1.2) is never executed: the state is fixsliced (see below), so the row rotations
//   of MixColumns (§5.1.3) are byte permutations, half of them whole 32-bit lanes (pshufd);
// - multiplication by x in MixColumns (§4.2.1, xtime) is a renaming of planes plus three xors;
// - AddRoundKey (§5.1.4) xors planes of a round key that was bitsliced once, at key setup.
// Blocks enter and leave the layout through an 8×8 bit transpose per byte (swapmoves). Long inputs run
// two such batches interleaved (16 blocks per pass). The key expansion (§5.2) runs SubWord through the
// same circuit.
//
// CT: there are no table lookups and no branches on secret data anywhere: only the key length, the
// block count and the byte length (all public) decide control flow and addresses. The CTR counter
// block is public too. Short batches still run a full eight-block pass. What may leak: those lengths.
//
// The S-box circuit below omits the affine constant 0x63. ShiftRows keeps a state whose bytes all
// equal 0x63 unchanged and MixColumns does too (2 ^ 3 ^ 1 ^ 1 = 1), so the constant added by every
// SubBytes is folded into the next round key (rounds 1..Nr), and into SubWord directly.
//
// Schedule layout (AES_KS_SIZE bytes, caller-owned): round key r at ks + 128·r as 8 planes of 16
// bytes, each byte 0x00 or 0xff (the key bit replicated to all eight blocks), in the byte order of the
// fixsliced state in round r.
//
// Scratch (wiped before every return): the state between rounds lives in two banks of globals, S0..S7
// and U0..U7 (V8 runs the rounds about 3% faster than through linear memory), BUF holds blocks and
// keystream, W the expanded key words.

const PLANES: usize = 128;
export const AES_KS_SIZE: i32 = 15 * <i32>PLANES;

const BUF: usize = memory.data(256, 16);
const W: usize = memory.data(240, 16);
let S0 = i64x2(0, 0);
let S1 = i64x2(0, 0);
let S2 = i64x2(0, 0);
let S3 = i64x2(0, 0);
let S4 = i64x2(0, 0);
let S5 = i64x2(0, 0);
let S6 = i64x2(0, 0);
let S7 = i64x2(0, 0);

let U0 = i64x2(0, 0);
let U1 = i64x2(0, 0);
let U2 = i64x2(0, 0);
let U3 = i64x2(0, 0);
let U4 = i64x2(0, 0);
let U5 = i64x2(0, 0);
let U6 = i64x2(0, 0);
let U7 = i64x2(0, 0);

// Writes planes o0..o7 to bank S (bank 0) or U (bank 1); bank is a constant at every call.
@inline function setBank(
  bank: i32, o0: v128, o1: v128, o2: v128, o3: v128, o4: v128, o5: v128, o6: v128, o7: v128,
): void {
  if (bank == 0) {
    S0 = o0;
    S1 = o1;
    S2 = o2;
    S3 = o3;
    S4 = o4;
    S5 = o5;
    S6 = o6;
    S7 = o7;
  } else {
    U0 = o0;
    U1 = o1;
    U2 = o2;
    U3 = o3;
    U4 = o4;
    U5 = o5;
    U6 = o6;
    U7 = o7;
  }
}

function wipeState(): void {
  S0 = S1 = S2 = S3 = S4 = S5 = S6 = S7 = i64x2(0, 0);
  U0 = U1 = U2 = U3 = U4 = U5 = U6 = U7 = i64x2(0, 0);
}

// SubBytes without the constant 0x63 on planes q0 (lsb) .. q7 (msb), then for skew >= 0 MixColumns at
// that skew and AddRoundKey with the planes at rk (the rest of a round, §5.1); the result goes to bank
// `bank`. skew and bank are constants at every call. Boyar–Peralta number bits the other way round:
// their x0 is our q7 and their s0 our plane 7.
@inline function aesRound(
  q0: v128, q1: v128, q2: v128, q3: v128, q4: v128, q5: v128, q6: v128, q7: v128, rk: usize, skew: i32, bank: i32,
): void {
  // Top linear transformation.
  const y14 = v128.xor(q4, q2);
  const y13 = v128.xor(q7, q1);
  const y9 = v128.xor(q7, q4);
  const y8 = v128.xor(q7, q2);
  const t0 = v128.xor(q6, q5);
  const y1 = v128.xor(t0, q0);
  const y4 = v128.xor(y1, q4);
  const y12 = v128.xor(y13, y14);
  const y2 = v128.xor(y1, q7);
  const y5 = v128.xor(y1, q1);
  const y3 = v128.xor(y5, y8);
  const t1 = v128.xor(q3, y12);
  const y15 = v128.xor(t1, q2);
  const y20 = v128.xor(t1, q6);
  const y6 = v128.xor(y15, q0);
  const y10 = v128.xor(y15, t0);
  const y11 = v128.xor(y20, y9);
  const y7 = v128.xor(q0, y11);
  const y17 = v128.xor(y10, y11);
  const y19 = v128.xor(y10, y8);
  const y16 = v128.xor(t0, y11);
  const y21 = v128.xor(y13, y16);
  const y18 = v128.xor(q7, y16);

  // Non-linear section: inversion in GF(2^4)^2.
  const t2 = v128.and(y12, y15);
  const t3 = v128.and(y3, y6);
  const t4 = v128.xor(t3, t2);
  const t5 = v128.and(y4, q0);
  const t6 = v128.xor(t5, t2);
  const t7 = v128.and(y13, y16);
  const t8 = v128.and(y5, y1);
  const t9 = v128.xor(t8, t7);
  const t10 = v128.and(y2, y7);
  const t11 = v128.xor(t10, t7);
  const t12 = v128.and(y9, y11);
  const t13 = v128.and(y14, y17);
  const t14 = v128.xor(t13, t12);
  const t15 = v128.and(y8, y10);
  const t16 = v128.xor(t15, t12);
  const t17 = v128.xor(t4, t14);
  const t18 = v128.xor(t6, t16);
  const t19 = v128.xor(t9, t14);
  const t20 = v128.xor(t11, t16);
  const t21 = v128.xor(t17, y20);
  const t22 = v128.xor(t18, y19);
  const t23 = v128.xor(t19, y21);
  const t24 = v128.xor(t20, y18);

  const t25 = v128.xor(t21, t22);
  const t26 = v128.and(t21, t23);
  const t27 = v128.xor(t24, t26);
  const t28 = v128.and(t25, t27);
  const t29 = v128.xor(t28, t22);
  const t30 = v128.xor(t23, t24);
  const t31 = v128.xor(t22, t26);
  const t32 = v128.and(t31, t30);
  const t33 = v128.xor(t32, t24);
  const t34 = v128.xor(t23, t33);
  const t35 = v128.xor(t27, t33);
  const t36 = v128.and(t24, t35);
  const t37 = v128.xor(t36, t34);
  const t38 = v128.xor(t27, t36);
  const t39 = v128.and(t29, t38);
  const t40 = v128.xor(t25, t39);

  const t41 = v128.xor(t40, t37);
  const t42 = v128.xor(t29, t33);
  const t43 = v128.xor(t29, t40);
  const t44 = v128.xor(t33, t37);
  const t45 = v128.xor(t42, t41);
  const z0 = v128.and(t44, y15);
  const z1 = v128.and(t37, y6);
  const z2 = v128.and(t33, q0);
  const z3 = v128.and(t43, y16);
  const z4 = v128.and(t40, y1);
  const z5 = v128.and(t29, y7);
  const z6 = v128.and(t42, y11);
  const z7 = v128.and(t45, y17);
  const z8 = v128.and(t41, y10);
  const z9 = v128.and(t44, y12);
  const z10 = v128.and(t37, y3);
  const z11 = v128.and(t33, y4);
  const z12 = v128.and(t43, y13);
  const z13 = v128.and(t40, y5);
  const z14 = v128.and(t29, y2);
  const z15 = v128.and(t42, y9);
  const z16 = v128.and(t45, y14);
  const z17 = v128.and(t41, y8);

  // Bottom linear transformation.
  const t46 = v128.xor(z15, z16);
  const t47 = v128.xor(z10, z11);
  const t48 = v128.xor(z5, z13);
  const t49 = v128.xor(z9, z10);
  const t50 = v128.xor(z2, z12);
  const t51 = v128.xor(z2, z5);
  const t52 = v128.xor(z7, z8);
  const t53 = v128.xor(z0, z3);
  const t54 = v128.xor(z6, z7);
  const t55 = v128.xor(z16, z17);
  const t56 = v128.xor(z12, t48);
  const t57 = v128.xor(t50, t53);
  const t58 = v128.xor(z4, t46);
  const t59 = v128.xor(z3, t54);
  const t60 = v128.xor(t46, t57);
  const t61 = v128.xor(z14, t57);
  const t62 = v128.xor(t52, t58);
  const t63 = v128.xor(t49, t58);
  const t64 = v128.xor(z4, t59);
  const t65 = v128.xor(t61, t62);
  const t66 = v128.xor(z1, t63);
  const t67 = v128.xor(t64, t65);
  const p4 = v128.xor(t53, t66);
  const p7 = v128.xor(t59, t63);
  const p6 = v128.xor(t64, p4);
  const p5 = v128.xor(t55, t67);
  const p3 = v128.xor(t51, t66);
  const p2 = v128.xor(t47, t65);
  const p1 = v128.xor(t56, t62);
  const p0 = v128.xor(t48, t60);
  if (skew < 0) {
    setBank(bank, p0, p1, p2, p3, p4, p5, p6, p7);
  } else {
    mixColumns(p0, p1, p2, p3, p4, p5, p6, p7, rk, skew, bank);
  }
}

@inline function lane0(x: v128): u32 {
  return <u32>i32x4.extract_lane(x, 0);
}

// SubWord (FIPS 197 §5.2) of a little-endian word, through the bitsliced circuit. A 16-bit left shift
// by 7 - i brings bit i of every byte to bit 7 of that byte, so plane i carries bit i of the four bytes
// at bit 7 of each byte (the other bits ride along and are dropped).
function subWord(w: u32): u32 {
  const v = i32x4.splat(w);
  aesRound(
    i16x8.shl(v, 7), i16x8.shl(v, 6), i16x8.shl(v, 5), i16x8.shl(v, 4),
    i16x8.shl(v, 3), i16x8.shl(v, 2), i16x8.shl(v, 1), v, 0, -1, 0,
  );
  const r: u32 = ((lane0(S0) >> 7) & 0x01010101) | ((lane0(S1) >> 6) & 0x02020202)
    | ((lane0(S2) >> 5) & 0x04040404) | ((lane0(S3) >> 4) & 0x08080808)
    | ((lane0(S4) >> 3) & 0x10101010) | ((lane0(S5) >> 2) & 0x20202020)
    | ((lane0(S6) >> 1) & 0x40404040) | (lane0(S7) & 0x80808080);
  return r ^ 0x63636363;
}

// Bitslices round key r (16 bytes at k) into 8 planes at dst, in the byte order of the state in round r
// (see KEY_ORDER): a 16-bit left shift by 7 - i brings key bit i to the sign bit of each byte, and
// lt_s 0 widens it to 0x00 or 0xff. Xors in 0x63 when c63 is all-ones.
@inline function bitsliceRoundKey(k: usize, r: i32, dst: usize, c63: v128): void {
  const key = i8x16.swizzle(v128.load(k), v128.load(KEY_ORDER + (<usize>(r & 3) << 4)));
  const zero = i8x16.splat(0);
  // Planes 0, 1, 5, 6 are the set bits of 0x63.
  v128.store(dst, v128.xor(i8x16.lt_s(i16x8.shl(key, 7), zero), c63), 0);
  v128.store(dst, v128.xor(i8x16.lt_s(i16x8.shl(key, 6), zero), c63), 16);
  v128.store(dst, i8x16.lt_s(i16x8.shl(key, 5), zero), 32);
  v128.store(dst, i8x16.lt_s(i16x8.shl(key, 4), zero), 48);
  v128.store(dst, i8x16.lt_s(i16x8.shl(key, 3), zero), 64);
  v128.store(dst, v128.xor(i8x16.lt_s(i16x8.shl(key, 2), zero), c63), 80);
  v128.store(dst, v128.xor(i8x16.lt_s(i16x8.shl(key, 1), zero), c63), 96);
  v128.store(dst, i8x16.lt_s(key, zero), 112);
}

export function aesSetKey(key: usize, keyLen: i32, ks: usize): i32 {
  if (keyLen != 16 && keyLen != 24 && keyLen != 32) return 0;
  const nk = keyLen >> 2;
  const rounds = nk + 6;
  const total = (rounds + 1) << 2;
  memory.copy(W, key, <usize>keyLen);
  // Key expansion, FIPS 197 §5.2: words are little-endian, so RotWord is a right rotation by 8.
  let rcon: u32 = 1;
  let prev = load<u32>(W + (<usize>(nk - 1) << 2));
  for (let i = nk; i < total; i++) {
    const j = i % nk;
    if (j == 0) {
      prev = subWord(rotr<u32>(prev, 8)) ^ rcon;
      rcon = (rcon << 1) ^ ((rcon >> 7) * 0x11b);
    } else if (nk > 6 && j == 4) {
      prev = subWord(prev);
    }
    prev ^= load<u32>(W + (<usize>(i - nk) << 2));
    store<u32>(W + (<usize>i << 2), prev);
  }
  bitsliceRoundKey(W, 0, ks, i8x16.splat(0));
  for (let r = 1; r <= rounds; r++) {
    bitsliceRoundKey(W + (<usize>r << 4), r, ks + <usize>r * PLANES, i8x16.splat(-1));
  }
  memory.fill(W, 0, 240);
  wipeState();
  return rounds;
}

// ShiftRows (§5.1.2) is never applied: the state is fixsliced (after Adomnicai–Peyrin, eprint
// 2020/1123). After round r the rows stay where r skipped ShiftRows left them: the state byte at row i,
// column c sits at byte 4i + (c + r·i) mod 4 of a plane. MixColumns of round r gathers its columns
// along that skew, so its row rotations become byte permutations that depend on r mod 4 (the round loop
// is unrolled by four); round key r is stored with the same skew, and the output permutation undoes
// the skew left by the last round. This saves the eight ShiftRows shuffles of every round.
//
// Byte permutations are swizzles with a constant mask: V8 builds each mask once and emits a bare pshufb
// per use, where an i8x16.shuffle rebuilds its mask from immediates at every use. Rotations that move
// whole 32-bit lanes stay shuffles (one pshufd).

// Byte order of round key r, by r mod 4: byte 4i + p of a plane takes byte 4((p - r·i) mod 4) + i of
// the FIPS 197 (column-major) round key.
const KEY_ORDER: usize = memory.data<u8>([
  0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15,
  0, 4, 8, 12, 13, 1, 5, 9, 10, 14, 2, 6, 7, 11, 15, 3,
  0, 4, 8, 12, 9, 13, 1, 5, 2, 6, 10, 14, 11, 15, 3, 7,
  0, 4, 8, 12, 5, 9, 13, 1, 10, 14, 2, 6, 15, 3, 7, 11,
], 16);

// A column-major block to row-major (skew 0) order, and back: the 4×4 byte transpose.
@inline function transpose4x4(x: v128): v128 {
  return i8x16.swizzle(x, i8x16(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15));
}

// Skew 2 to a column-major block: byte 4c + i takes byte 4i + (c + 2i) mod 4.
@inline function unskew2(x: v128): v128 {
  return i8x16.swizzle(x, i8x16(0, 6, 8, 14, 1, 7, 9, 15, 2, 4, 10, 12, 3, 5, 11, 13));
}

// Row rotations of MixColumns at skew t: byte 4i + p takes byte 4(i + 1) + (p + t), resp.
// 4(i + 2) + (p + 2t), indices mod 4. t is a constant at every call, so only one branch remains.
@inline function rot1(x: v128, t: i32): v128 {
  if (t == 0) return i8x16.shuffle(x, x, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3);
  if (t == 1) return i8x16.swizzle(x, i8x16(5, 6, 7, 4, 9, 10, 11, 8, 13, 14, 15, 12, 1, 2, 3, 0));
  if (t == 2) return i8x16.swizzle(x, i8x16(6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13, 2, 3, 0, 1));
  return i8x16.swizzle(x, i8x16(7, 4, 5, 6, 11, 8, 9, 10, 15, 12, 13, 14, 3, 0, 1, 2));
}

@inline function rot2(x: v128, t: i32): v128 {
  if ((t & 1) == 0) return i8x16.shuffle(x, x, 8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7);
  return i8x16.swizzle(x, i8x16(10, 11, 8, 9, 14, 15, 12, 13, 2, 3, 0, 1, 6, 7, 4, 5));
}

// MixColumns (§5.1.3) at skew t on the S-box output y0..y7, then AddRoundKey (§5.1.4) with the planes
// at rk, into bank `bank`. Row i of a column becomes 2·(a_i ^ a_i+1) ^ a_i+1 ^ (a_i+2 ^ a_i+3), that is
// 2·u ^ r ^ rot2(u) with r = rot1(y) and u = y ^ r; multiplication by x (§4.2.1) moves plane j to
// j + 1 and folds plane 7 back as 0x1b (planes 0, 1, 3, 4).
@inline function mixColumns(
  y0: v128, y1: v128, y2: v128, y3: v128, y4: v128, y5: v128, y6: v128, y7: v128, rk: usize, t: i32, bank: i32,
): void {
  const r0 = rot1(y0, t);
  const r1 = rot1(y1, t);
  const r2 = rot1(y2, t);
  const r3 = rot1(y3, t);
  const r4 = rot1(y4, t);
  const r5 = rot1(y5, t);
  const r6 = rot1(y6, t);
  const r7 = rot1(y7, t);
  const u0 = v128.xor(y0, r0);
  const u1 = v128.xor(y1, r1);
  const u2 = v128.xor(y2, r2);
  const u3 = v128.xor(y3, r3);
  const u4 = v128.xor(y4, r4);
  const u5 = v128.xor(y5, r5);
  const u6 = v128.xor(y6, r6);
  const u7 = v128.xor(y7, r7);
  const o0 = v128.xor(v128.xor(u7, r0), v128.xor(rot2(u0, t), v128.load(rk, 0)));
  const o1 = v128.xor(v128.xor(v128.xor(u0, u7), r1), v128.xor(rot2(u1, t), v128.load(rk, 16)));
  const o2 = v128.xor(v128.xor(u1, r2), v128.xor(rot2(u2, t), v128.load(rk, 32)));
  const o3 = v128.xor(v128.xor(v128.xor(u2, u7), r3), v128.xor(rot2(u3, t), v128.load(rk, 48)));
  const o4 = v128.xor(v128.xor(v128.xor(u3, u7), r4), v128.xor(rot2(u4, t), v128.load(rk, 64)));
  const o5 = v128.xor(v128.xor(u4, r5), v128.xor(rot2(u5, t), v128.load(rk, 80)));
  const o6 = v128.xor(v128.xor(u5, r6), v128.xor(rot2(u6, t), v128.load(rk, 96)));
  const o7 = v128.xor(v128.xor(u6, r7), v128.xor(rot2(u7, t), v128.load(rk, 112)));
  setBank(bank, o0, o1, o2, o3, o4, o5, o6, o7);
}

// Swapmove step: the bits of a at (mask << n) trade places with the bits of b at mask, by
// b ^= t and a ^= t << n. Twelve steps (n = 1, 2, 4) transpose the 8×8 bit matrix at every byte
// position of q0..q7: block j in qj becomes plane j, and back (the transpose is an involution).
@inline function swapLo(a: v128, b: v128, n: i32, mask: v128): v128 {
  return v128.and(v128.xor(i64x2.shr_u(a, n), b), mask);
}

// Loads the eight blocks at src into state bank `bank` as planes, with AddRoundKey 0 (§5.1.4).
@inline function loadState(src: usize, ks: usize, bank: i32): void {
  let q0 = transpose4x4(v128.load(src, 0));
  let q1 = transpose4x4(v128.load(src, 16));
  let q2 = transpose4x4(v128.load(src, 32));
  let q3 = transpose4x4(v128.load(src, 48));
  let q4 = transpose4x4(v128.load(src, 64));
  let q5 = transpose4x4(v128.load(src, 80));
  let q6 = transpose4x4(v128.load(src, 96));
  let q7 = transpose4x4(v128.load(src, 112));
  const m1 = i8x16.splat(0x55);
  const m2 = i8x16.splat(0x33);
  const m4 = i8x16.splat(0x0f);
  let t: v128;
  t = swapLo(q0, q1, 1, m1); q1 = v128.xor(q1, t); q0 = v128.xor(q0, i64x2.shl(t, 1));
  t = swapLo(q2, q3, 1, m1); q3 = v128.xor(q3, t); q2 = v128.xor(q2, i64x2.shl(t, 1));
  t = swapLo(q4, q5, 1, m1); q5 = v128.xor(q5, t); q4 = v128.xor(q4, i64x2.shl(t, 1));
  t = swapLo(q6, q7, 1, m1); q7 = v128.xor(q7, t); q6 = v128.xor(q6, i64x2.shl(t, 1));
  t = swapLo(q0, q2, 2, m2); q2 = v128.xor(q2, t); q0 = v128.xor(q0, i64x2.shl(t, 2));
  t = swapLo(q1, q3, 2, m2); q3 = v128.xor(q3, t); q1 = v128.xor(q1, i64x2.shl(t, 2));
  t = swapLo(q4, q6, 2, m2); q6 = v128.xor(q6, t); q4 = v128.xor(q4, i64x2.shl(t, 2));
  t = swapLo(q5, q7, 2, m2); q7 = v128.xor(q7, t); q5 = v128.xor(q5, i64x2.shl(t, 2));
  t = swapLo(q0, q4, 4, m4); q4 = v128.xor(q4, t); q0 = v128.xor(q0, i64x2.shl(t, 4));
  t = swapLo(q1, q5, 4, m4); q5 = v128.xor(q5, t); q1 = v128.xor(q1, i64x2.shl(t, 4));
  t = swapLo(q2, q6, 4, m4); q6 = v128.xor(q6, t); q2 = v128.xor(q2, i64x2.shl(t, 4));
  t = swapLo(q3, q7, 4, m4); q7 = v128.xor(q7, t); q3 = v128.xor(q3, i64x2.shl(t, 4));
  setBank(
    bank,
    v128.xor(q0, v128.load(ks, 0)), v128.xor(q1, v128.load(ks, 16)),
    v128.xor(q2, v128.load(ks, 32)), v128.xor(q3, v128.load(ks, 48)),
    v128.xor(q4, v128.load(ks, 64)), v128.xor(q5, v128.load(ks, 80)),
    v128.xor(q6, v128.load(ks, 96)), v128.xor(q7, v128.load(ks, 112)),
  );
}

// The final AddRoundKey with the planes at rk, then the eight blocks of planes p0..p7 back to dst.
// Nr skipped ShiftRows leave skew Nr mod 4: 2 for AES-128 and AES-256, 0 for AES-192.
@inline function storeState(
  dst: usize, rk: usize, rounds: i32, p0: v128, p1: v128, p2: v128, p3: v128, p4: v128, p5: v128, p6: v128, p7: v128,
): void {
  let q0 = v128.xor(p0, v128.load(rk, 0));
  let q1 = v128.xor(p1, v128.load(rk, 16));
  let q2 = v128.xor(p2, v128.load(rk, 32));
  let q3 = v128.xor(p3, v128.load(rk, 48));
  let q4 = v128.xor(p4, v128.load(rk, 64));
  let q5 = v128.xor(p5, v128.load(rk, 80));
  let q6 = v128.xor(p6, v128.load(rk, 96));
  let q7 = v128.xor(p7, v128.load(rk, 112));
  const m1 = i8x16.splat(0x55);
  const m2 = i8x16.splat(0x33);
  const m4 = i8x16.splat(0x0f);
  let t: v128;
  t = swapLo(q0, q1, 1, m1); q1 = v128.xor(q1, t); q0 = v128.xor(q0, i64x2.shl(t, 1));
  t = swapLo(q2, q3, 1, m1); q3 = v128.xor(q3, t); q2 = v128.xor(q2, i64x2.shl(t, 1));
  t = swapLo(q4, q5, 1, m1); q5 = v128.xor(q5, t); q4 = v128.xor(q4, i64x2.shl(t, 1));
  t = swapLo(q6, q7, 1, m1); q7 = v128.xor(q7, t); q6 = v128.xor(q6, i64x2.shl(t, 1));
  t = swapLo(q0, q2, 2, m2); q2 = v128.xor(q2, t); q0 = v128.xor(q0, i64x2.shl(t, 2));
  t = swapLo(q1, q3, 2, m2); q3 = v128.xor(q3, t); q1 = v128.xor(q1, i64x2.shl(t, 2));
  t = swapLo(q4, q6, 2, m2); q6 = v128.xor(q6, t); q4 = v128.xor(q4, i64x2.shl(t, 2));
  t = swapLo(q5, q7, 2, m2); q7 = v128.xor(q7, t); q5 = v128.xor(q5, i64x2.shl(t, 2));
  t = swapLo(q0, q4, 4, m4); q4 = v128.xor(q4, t); q0 = v128.xor(q0, i64x2.shl(t, 4));
  t = swapLo(q1, q5, 4, m4); q5 = v128.xor(q5, t); q1 = v128.xor(q1, i64x2.shl(t, 4));
  t = swapLo(q2, q6, 4, m4); q6 = v128.xor(q6, t); q2 = v128.xor(q2, i64x2.shl(t, 4));
  t = swapLo(q3, q7, 4, m4); q7 = v128.xor(q7, t); q3 = v128.xor(q3, i64x2.shl(t, 4));
  if ((rounds & 3) == 2) {
    q0 = unskew2(q0);
    q1 = unskew2(q1);
    q2 = unskew2(q2);
    q3 = unskew2(q3);
    q4 = unskew2(q4);
    q5 = unskew2(q5);
    q6 = unskew2(q6);
    q7 = unskew2(q7);
  } else {
    q0 = transpose4x4(q0);
    q1 = transpose4x4(q1);
    q2 = transpose4x4(q2);
    q3 = transpose4x4(q3);
    q4 = transpose4x4(q4);
    q5 = transpose4x4(q5);
    q6 = transpose4x4(q6);
    q7 = transpose4x4(q7);
  }
  v128.store(dst, q0, 0);
  v128.store(dst, q1, 16);
  v128.store(dst, q2, 32);
  v128.store(dst, q3, 48);
  v128.store(dst, q4, 64);
  v128.store(dst, q5, 80);
  v128.store(dst, q6, 96);
  v128.store(dst, q7, 112);
}

// Encrypts the 8 blocks at src into dst (may alias) with `rounds` rounds of the schedule ks, or 16 blocks
// when `two`: then the two batches of 8 run interleaved, round by round, in banks S and U. The AES
// round is one long dependency chain (the S-box circuit alone is 28 gates deep); a second independent
// chain fills the idle issue slots (10–15% more blocks per second in V8 here).
@inline function encryptBatches(ks: usize, rounds: i32, src: usize, dst: usize, two: bool): void {
  loadState(src, ks, 0);
  if (two) loadState(src + 128, ks, 1);
  // Round 1 (skew 1), then rounds 2 .. Nr - 1 with skew r mod 4, then the last round without
  // MixColumns.
  aesRound(S0, S1, S2, S3, S4, S5, S6, S7, ks + PLANES, 1, 0);
  if (two) aesRound(U0, U1, U2, U3, U4, U5, U6, U7, ks + PLANES, 1, 1);
  let rk = ks + 2 * PLANES;
  const last = ks + <usize>rounds * PLANES;
  for (;;) {
    if (rk == last) break;
    aesRound(S0, S1, S2, S3, S4, S5, S6, S7, rk, 2, 0);
    if (two) aesRound(U0, U1, U2, U3, U4, U5, U6, U7, rk, 2, 1);
    rk += PLANES;
    if (rk == last) break;
    aesRound(S0, S1, S2, S3, S4, S5, S6, S7, rk, 3, 0);
    if (two) aesRound(U0, U1, U2, U3, U4, U5, U6, U7, rk, 3, 1);
    rk += PLANES;
    if (rk == last) break;
    aesRound(S0, S1, S2, S3, S4, S5, S6, S7, rk, 0, 0);
    if (two) aesRound(U0, U1, U2, U3, U4, U5, U6, U7, rk, 0, 1);
    rk += PLANES;
    if (rk == last) break;
    aesRound(S0, S1, S2, S3, S4, S5, S6, S7, rk, 1, 0);
    if (two) aesRound(U0, U1, U2, U3, U4, U5, U6, U7, rk, 1, 1);
    rk += PLANES;
  }
  aesRound(S0, S1, S2, S3, S4, S5, S6, S7, 0, -1, 0);
  if (two) aesRound(U0, U1, U2, U3, U4, U5, U6, U7, 0, -1, 1);
  storeState(dst, rk, rounds, S0, S1, S2, S3, S4, S5, S6, S7);
  if (two) storeState(dst + 128, rk, rounds, U0, U1, U2, U3, U4, U5, U6, U7);
}

function encrypt8(ks: usize, rounds: i32, src: usize, dst: usize): void {
  encryptBatches(ks, rounds, src, dst, false);
}

function encrypt16(ks: usize, rounds: i32, src: usize, dst: usize): void {
  encryptBatches(ks, rounds, src, dst, true);
}

export function aesEncryptBlocks(ks: usize, rounds: i32, src: usize, dst: usize, nblocks: i32): void {
  let off: usize = 0;
  let n = nblocks;
  while (n >= 16) {
    encrypt16(ks, rounds, src + off, dst + off);
    off += 256;
    n -= 16;
  }
  if (n >= 8) {
    encrypt8(ks, rounds, src + off, dst + off);
    off += 128;
    n -= 8;
  }
  if (n > 0) {
    // A short batch still runs a full pass, on zero blocks beyond the last one.
    const len = <usize>n << 4;
    memory.copy(BUF, src + off, len);
    memory.fill(BUF + len, 0, 128 - len);
    encrypt8(ks, rounds, BUF, BUF);
    memory.copy(dst + off, BUF, len);
    memory.fill(BUF, 0, 128);
  }
  wipeState();
}

export function aesCtr32(ks: usize, rounds: i32, ctr: usize, src: usize, dst: usize, len: i32): void {
  const base = v128.load(ctr);
  let c = bswap<u32>(load<u32>(ctr, 12));
  let off: usize = 0;
  let left = len;
  while (left > 0) {
    // Sixteen blocks per pass while more than eight remain, else eight.
    const wide = left > 128;
    const blocks: u32 = wide ? 16 : 8;
    for (let j: u32 = 0; j < blocks; j++) {
      v128.store(BUF + (<usize>j << 4), i32x4.replace_lane(base, 3, bswap<u32>(c + j)));
    }
    if (wide) encrypt16(ks, rounds, BUF, BUF);
    else encrypt8(ks, rounds, BUF, BUF);
    // The keystream of whole blocks, then the bytes of a last partial block.
    const take = <usize>min(left, <i32>blocks << 4);
    const whole = take & ~15;
    for (let j: usize = 0; j < whole; j += 16) {
      v128.store(dst + off + j, v128.xor(v128.load(src + off + j), v128.load(BUF + j)));
    }
    for (let j = whole; j < take; j++) {
      store<u8>(dst + off + j, load<u8>(src + off + j) ^ load<u8>(BUF + j));
    }
    c += <u32>((take + 15) >> 4);
    off += take;
    left -= <i32>take;
  }
  store<u32>(ctr, bswap<u32>(c), 12);
  memory.fill(BUF, 0, 256);
  wipeState();
}
