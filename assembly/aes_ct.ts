// AES-128/192/256 encryption (FIPS 197), constant-time, bitsliced over v128 lanes.
//
// Strategy (Käsper–Schwabe layout on WASM SIMD): eight 16-byte blocks are processed together in eight
// v128 "planes". Plane i holds bit i of all 128 state bytes: byte 4r + c of a plane holds that bit of
// the state byte at row r, column c (FIPS 197 §3.4) for the eight blocks, one block per bit. Rows are
// 32-bit lanes (blocks themselves are column-major; a 4×4 byte transpose converts). In this layout:
// - SubBytes (§5.1.1) is the Boyar–Peralta circuit (eprint 2009/191) on the planes: and/xor only;
// - ShiftRows (§5.1.2) is one byte shuffle per plane, the row rotations of MixColumns (§5.1.3) are
//   32-bit lane shuffles (pshufd, cheaper than byte shuffles under V8);
// - multiplication by x in MixColumns (§4.2.1, xtime) is a renaming of planes plus three xors;
// - AddRoundKey (§5.1.4) xors planes of a round key that was bitsliced once, at key setup.
// Blocks enter and leave the layout through an 8×8 bit transpose per byte (swapmoves). The key
// expansion (§5.2) runs SubWord through the same circuit. There are no table lookups and no branches on
// secret data anywhere: only the key length, the block count and the byte length (all public) decide
// control flow and addresses. The CTR counter block is public too. Short batches still run a full
// eight-block pass. What may leak: those lengths and counts, nothing else.
//
// The S-box circuit below omits the affine constant 0x63. ShiftRows keeps a state whose bytes all
// equal 0x63 unchanged and MixColumns does too (2 ^ 3 ^ 1 ^ 1 = 1), so the constant added by every
// SubBytes is folded into the next round key (rounds 1..Nr), and into SubWord directly.
//
// Schedule layout (AES_KS_SIZE bytes, caller-owned): round key r at ks + 128·r as 8 planes of 16
// bytes, each byte 0x00 or 0xff (the key bit replicated to all eight blocks).
//
// Scratch (wiped before every return): globals S0..S7 carry the S-box outputs (V8 runs the rounds
// about 3% faster than through linear memory), BUF holds blocks and keystream, W the expanded key words.

const PLANES: usize = 128;
export const AES_KS_SIZE: i32 = 15 * <i32>PLANES;

const BUF: usize = memory.data(128, 16);
const W: usize = memory.data(240, 16);
let S0 = i64x2(0, 0);
let S1 = i64x2(0, 0);
let S2 = i64x2(0, 0);
let S3 = i64x2(0, 0);
let S4 = i64x2(0, 0);
let S5 = i64x2(0, 0);
let S6 = i64x2(0, 0);
let S7 = i64x2(0, 0);

function wipeSbox(): void {
  S0 = S1 = S2 = S3 = S4 = S5 = S6 = S7 = i64x2(0, 0);
}

// SubBytes without the constant 0x63 on planes q0 (lsb) .. q7 (msb); sets plane i of the result in Si.
// Boyar–Peralta number bits the other way round: their x0 is our q7 and their s0 our plane 7.
@inline function sbox(q0: v128, q1: v128, q2: v128, q3: v128, q4: v128, q5: v128, q6: v128, q7: v128): void {
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
  const s3 = v128.xor(t53, t66);
  S7 = v128.xor(t59, t63);
  S6 = v128.xor(t64, s3);
  S5 = v128.xor(t55, t67);
  S4 = s3;
  S3 = v128.xor(t51, t66);
  S2 = v128.xor(t47, t65);
  S1 = v128.xor(t56, t62);
  S0 = v128.xor(t48, t60);
}

@inline function lane0(x: v128): u32 {
  return <u32>i32x4.extract_lane(x, 0);
}

// SubWord (FIPS 197 §5.2) of a little-endian word, through the bitsliced circuit. A 16-bit left shift
// by 7 - i brings bit i of every byte to bit 7 of that byte, so plane i carries bit i of the four bytes
// at bit 7 of each byte (the other bits ride along and are dropped).
function subWord(w: u32): u32 {
  const v = i32x4.splat(w);
  sbox(
    i16x8.shl(v, 7), i16x8.shl(v, 6), i16x8.shl(v, 5), i16x8.shl(v, 4),
    i16x8.shl(v, 3), i16x8.shl(v, 2), i16x8.shl(v, 1), v,
  );
  const r: u32 = ((lane0(S0) >> 7) & 0x01010101) | ((lane0(S1) >> 6) & 0x02020202)
    | ((lane0(S2) >> 5) & 0x04040404) | ((lane0(S3) >> 4) & 0x08080808)
    | ((lane0(S4) >> 3) & 0x10101010) | ((lane0(S5) >> 2) & 0x20202020)
    | ((lane0(S6) >> 1) & 0x40404040) | (lane0(S7) & 0x80808080);
  return r ^ 0x63636363;
}

// Bitslices the 16-byte round key at k into 8 planes at dst: a 16-bit left shift by 7 - i brings key
// bit i to the sign bit of each byte, and lt_s 0 widens it to 0x00 or 0xff. Xors in 0x63 when c63 is
// all-ones.
@inline function bitsliceRoundKey(k: usize, dst: usize, c63: v128): void {
  const key = transpose4x4(v128.load(k));
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
  bitsliceRoundKey(W, ks, i8x16.splat(0));
  for (let r = 1; r <= rounds; r++) {
    bitsliceRoundKey(W + (<usize>r << 4), ks + <usize>r * PLANES, i8x16.splat(-1));
  }
  memory.fill(W, 0, 240);
  wipeSbox();
  return rounds;
}

// Swapmove step: the bits of a at (mask << n) trade places with the bits of b at mask, by
// b ^= t and a ^= t << n. Twelve steps (n = 1, 2, 4) transpose the 8×8 bit matrix at every byte
// position of q0..q7: block j in qj becomes plane j, and back (the transpose is an involution).
@inline function swapLo(a: v128, b: v128, n: i32, mask: v128): v128 {
  return v128.and(v128.xor(i64x2.shr_u(a, n), b), mask);
}

// Byte permutations are swizzles with a constant mask: V8 builds the mask once and emits a bare pshufb
// per use, where an i8x16.shuffle rebuilds its mask from immediates at every use.

// The planes keep the state row-major (byte 4r + c holds row r, column c; FIPS 197 blocks are
// column-major), so that the row rotations of MixColumns move whole 32-bit lanes (one pshufd each)
// and only ShiftRows needs a byte shuffle. The 4×4 transpose converts between the two orders.
@inline function transpose4x4(x: v128): v128 {
  return i8x16.swizzle(x, i8x16(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15));
}

// ShiftRows: byte 4r + c takes byte 4r + (c + r) mod 4.
@inline function shiftRows(x: v128): v128 {
  return i8x16.swizzle(x, i8x16(0, 1, 2, 3, 5, 6, 7, 4, 10, 11, 8, 9, 15, 12, 13, 14));
}

// Row rotations inside every column: row r takes row r + 1, resp. r + 2 (mod 4).
@inline function rot1(x: v128): v128 {
  return i8x16.shuffle(x, x, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3);
}

@inline function rot2(x: v128): v128 {
  return i8x16.shuffle(x, x, 8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7);
}

// Encrypts the eight blocks at src into dst (may alias) with `rounds` rounds of the schedule ks.
function encrypt8(ks: usize, rounds: i32, src: usize, dst: usize): void {
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

  // Transpose in: swapmoves at distances 1, 2, 4.
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

  q0 = v128.xor(q0, v128.load(ks, 0));
  q1 = v128.xor(q1, v128.load(ks, 16));
  q2 = v128.xor(q2, v128.load(ks, 32));
  q3 = v128.xor(q3, v128.load(ks, 48));
  q4 = v128.xor(q4, v128.load(ks, 64));
  q5 = v128.xor(q5, v128.load(ks, 80));
  q6 = v128.xor(q6, v128.load(ks, 96));
  q7 = v128.xor(q7, v128.load(ks, 112));

  let rk = ks + PLANES;
  const last = ks + <usize>rounds * PLANES;
  while (rk < last) {
    sbox(q0, q1, q2, q3, q4, q5, q6, q7);
    const y0 = shiftRows(S0);
    const y1 = shiftRows(S1);
    const y2 = shiftRows(S2);
    const y3 = shiftRows(S3);
    const y4 = shiftRows(S4);
    const y5 = shiftRows(S5);
    const y6 = shiftRows(S6);
    const y7 = shiftRows(S7);
    // MixColumns: out_r = 2·(y_r ^ y_r+1) ^ y_r+1 ^ (y_r+2 ^ y_r+3) = 2·u ^ r ^ rot2(u), with r = rot1(y)
    // and u = y ^ r; then AddRoundKey.
    const r0 = rot1(y0);
    const r1 = rot1(y1);
    const r2 = rot1(y2);
    const r3 = rot1(y3);
    const r4 = rot1(y4);
    const r5 = rot1(y5);
    const r6 = rot1(y6);
    const r7 = rot1(y7);
    const u0 = v128.xor(y0, r0);
    const u1 = v128.xor(y1, r1);
    const u2 = v128.xor(y2, r2);
    const u3 = v128.xor(y3, r3);
    const u4 = v128.xor(y4, r4);
    const u5 = v128.xor(y5, r5);
    const u6 = v128.xor(y6, r6);
    const u7 = v128.xor(y7, r7);
    // xtime on planes: bit i moves to i + 1, bit 7 folds back as 0x1b (planes 0, 1, 3, 4).
    q0 = v128.xor(v128.xor(u7, r0), v128.xor(rot2(u0), v128.load(rk, 0)));
    q1 = v128.xor(v128.xor(v128.xor(u0, u7), r1), v128.xor(rot2(u1), v128.load(rk, 16)));
    q2 = v128.xor(v128.xor(u1, r2), v128.xor(rot2(u2), v128.load(rk, 32)));
    q3 = v128.xor(v128.xor(v128.xor(u2, u7), r3), v128.xor(rot2(u3), v128.load(rk, 48)));
    q4 = v128.xor(v128.xor(v128.xor(u3, u7), r4), v128.xor(rot2(u4), v128.load(rk, 64)));
    q5 = v128.xor(v128.xor(u4, r5), v128.xor(rot2(u5), v128.load(rk, 80)));
    q6 = v128.xor(v128.xor(u5, r6), v128.xor(rot2(u6), v128.load(rk, 96)));
    q7 = v128.xor(v128.xor(u6, r7), v128.xor(rot2(u7), v128.load(rk, 112)));
    rk += PLANES;
  }

  // Final round (§5.1): no MixColumns.
  sbox(q0, q1, q2, q3, q4, q5, q6, q7);
  q0 = v128.xor(shiftRows(S0), v128.load(rk, 0));
  q1 = v128.xor(shiftRows(S1), v128.load(rk, 16));
  q2 = v128.xor(shiftRows(S2), v128.load(rk, 32));
  q3 = v128.xor(shiftRows(S3), v128.load(rk, 48));
  q4 = v128.xor(shiftRows(S4), v128.load(rk, 64));
  q5 = v128.xor(shiftRows(S5), v128.load(rk, 80));
  q6 = v128.xor(shiftRows(S6), v128.load(rk, 96));
  q7 = v128.xor(shiftRows(S7), v128.load(rk, 112));

  // Transpose out (the same involution).
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

  v128.store(dst, transpose4x4(q0), 0);
  v128.store(dst, transpose4x4(q1), 16);
  v128.store(dst, transpose4x4(q2), 32);
  v128.store(dst, transpose4x4(q3), 48);
  v128.store(dst, transpose4x4(q4), 64);
  v128.store(dst, transpose4x4(q5), 80);
  v128.store(dst, transpose4x4(q6), 96);
  v128.store(dst, transpose4x4(q7), 112);
}

export function aesEncryptBlocks(ks: usize, rounds: i32, src: usize, dst: usize, nblocks: i32): void {
  let off: usize = 0;
  let n = nblocks;
  while (n >= 8) {
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
  wipeSbox();
}

export function aesCtr32(ks: usize, rounds: i32, ctr: usize, src: usize, dst: usize, len: i32): void {
  const base = v128.load(ctr);
  let c = bswap<u32>(load<u32>(ctr, 12));
  let off: usize = 0;
  let left = len;
  while (left > 0) {
    for (let j: usize = 0; j < 8; j++) {
      v128.store(BUF + (j << 4), i32x4.replace_lane(base, 3, bswap<u32>(c + <u32>j)));
    }
    encrypt8(ks, rounds, BUF, BUF);
    if (left >= 128) {
      for (let j: usize = 0; j < 128; j += 16) {
        v128.store(dst + off + j, v128.xor(v128.load(src + off + j), v128.load(BUF + j)));
      }
      c += 8;
      off += 128;
      left -= 128;
    } else {
      // Last, partial batch: whole blocks, then the bytes of a last partial block.
      const whole = <usize>(left & ~15);
      for (let j: usize = 0; j < whole; j += 16) {
        v128.store(dst + off + j, v128.xor(v128.load(src + off + j), v128.load(BUF + j)));
      }
      for (let j = whole; j < <usize>left; j++) {
        store<u8>(dst + off + j, load<u8>(src + off + j) ^ load<u8>(BUF + j));
      }
      c += <u32>((left + 15) >> 4);
      left = 0;
    }
  }
  store<u32>(ctr, bswap<u32>(c), 12);
  memory.fill(BUF, 0, 128);
  wipeSbox();
}
