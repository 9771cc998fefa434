// Constant-time modular inversion for odd moduli below 2^256 by Bernstein–Yang divsteps ("Fast
// constant-time gcd computation and modular inversion", TCHES 2019), in the form of libsecp256k1's
// modinv32 (src/modinv32_impl.h, doc/safegcd_implementation.md): numbers as nine signed 30-bit limbs,
// 20 batches of 30 divsteps, each batch turned into a 2×2 transition matrix applied to (f, g) and,
// modulo m, to (d, e). 590 divsteps suffice for any 256-bit modulus and input (Wuille's hull bound,
// same doc); 600 are run.
//
// CT: every batch runs 30 divsteps of masked arithmetic and the loop counts are fixed; no branch or
// memory index depends on the input or the modulus. The scratch words hold secret intermediates:
// callers on secret paths end with modinvWipe().
import { wipe } from './_ct';

const M30: i32 = 0x3fffffff;
const LIMBS: i32 = 9;

// Scratch: d, e, f, g, nine i32 limbs each.
const SD: usize = memory.data(4 * LIMBS, 16);
const SE: usize = memory.data(4 * LIMBS, 16);
const SF: usize = memory.data(4 * LIMBS, 16);
const SG: usize = memory.data(4 * LIMBS, 16);

// Modulus information, per modulus: its signed-30 limbs and m⁻¹ mod 2^30, 40 bytes.
export const MI_SIZE: usize = 40;
const MI_INV: usize = 36;

// The transition matrix of the last batch.
let tu: i32 = 0, tv: i32 = 0, tq: i32 = 0, tr: i32 = 0;

@inline function limb(p: usize, i: i32): i32 {
  return load<i32>(p + (<usize>i << 2));
}

@inline function setLimb(p: usize, i: i32, v: i32): void {
  store<i32>(p + (<usize>i << 2), v);
}

// Eight u32 limbs (a value below 2^256) to nine 30-bit limbs.
function toSigned30(r: usize, a: usize): void {
  for (let i = 0; i < LIMBS; i++) {
    const bit = 30 * i;
    const w = bit >> 5;
    const sh = <u32>(bit & 31);
    const lo: u64 = <u64>load<u32>(a + (<usize>w << 2));
    const hi: u64 = w + 1 < 8 ? <u64>load<u32>(a + (<usize>(w + 1) << 2)) : 0;
    setLimb(r, i, <i32>(((lo | (hi << 32)) >> sh) & <u64>M30));
  }
}

// Nine 30-bit limbs, each in [0, 2^30), of a value below 2^256 to eight u32 limbs.
function fromSigned30(r: usize, a: usize): void {
  let acc: u64 = 0;
  let bits: i32 = 0;
  let w = 0;
  for (let i = 0; i < LIMBS; i++) {
    acc |= <u64>limb(a, i) << <u64>bits;
    bits += 30;
    if (bits >= 32 && w < 8) {
      store<u32>(r + (<usize>w << 2), <u32>acc);
      acc >>= 32;
      bits -= 32;
      w++;
    }
  }
  if (w < 8) store<u32>(r + (<usize>w << 2), <u32>acc);
}

// Fills the modulus information at mi for the odd 8-limb modulus at m.
export function modinvInit(mi: usize, m: usize): void {
  toSigned30(mi, m);
  // m⁻¹ mod 2^30 by Newton iteration (each step doubles the correct low bits).
  const m0 = load<u32>(m);
  let inv: u32 = m0;
  for (let i = 0; i < 5; i++) inv = inv * (2 - m0 * inv);
  store<u32>(mi + MI_INV, inv & <u32>M30);
}

// 30 divsteps on the low bits of f and g from zeta = −(δ + 1/2); the matrix goes to tu, tv, tq, tr
// (entries in [−2^30, 2^30], kept as u32 so that left shifts are defined), the new zeta is returned.
function divsteps30(zeta: i32, f0: u32, g0: u32): i32 {
  let u: u32 = 1, v: u32 = 0, q: u32 = 0, r: u32 = 1;
  let f = f0, g = g0;
  for (let i = 0; i < 30; i++) {
    // mask1: zeta < 0; mask2: g odd.
    let mask1 = <u32>(zeta >> 31);
    const mask2 = 0 - (g & 1);
    const x = (f ^ mask1) - mask1;
    const y = (u ^ mask1) - mask1;
    const z = (v ^ mask1) - mask1;
    g += x & mask2;
    q += y & mask2;
    r += z & mask2;
    mask1 &= mask2;
    zeta = (zeta ^ <i32>mask1) - 1;
    f += g & mask1;
    u += q & mask1;
    v += r & mask1;
    g >>= 1;
    u <<= 1;
    v <<= 1;
  }
  tu = <i32>u;
  tv = <i32>v;
  tq = <i32>q;
  tr = <i32>r;
  return zeta;
}

// (d, e) = t·(d, e) / 2^30 mod m, with a multiple of m added so that the division is exact. d and e
// stay in (−2m, m).
function updateDe(mi: usize): void {
  const u = tu, v = tv, q = tq, r = tr;
  const sd = limb(SD, 8) >> 31;
  const se = limb(SE, 8) >> 31;
  let md = (u & sd) + (v & se);
  let me = (q & sd) + (r & se);
  let di = limb(SD, 0);
  let ei = limb(SE, 0);
  let cd: i64 = <i64>u * <i64>di + <i64>v * <i64>ei;
  let ce: i64 = <i64>q * <i64>di + <i64>r * <i64>ei;
  const inv = load<i32>(mi + MI_INV);
  md -= (inv * <i32>cd + md) & M30;
  me -= (inv * <i32>ce + me) & M30;
  const m0 = <i64>limb(mi, 0);
  cd += m0 * <i64>md;
  ce += m0 * <i64>me;
  cd >>= 30;
  ce >>= 30;
  for (let i = 1; i < LIMBS; i++) {
    di = limb(SD, i);
    ei = limb(SE, i);
    const mi_ = <i64>limb(mi, i);
    cd += <i64>u * <i64>di + <i64>v * <i64>ei + mi_ * <i64>md;
    ce += <i64>q * <i64>di + <i64>r * <i64>ei + mi_ * <i64>me;
    setLimb(SD, i - 1, <i32>cd & M30);
    setLimb(SE, i - 1, <i32>ce & M30);
    cd >>= 30;
    ce >>= 30;
  }
  setLimb(SD, 8, <i32>cd);
  setLimb(SE, 8, <i32>ce);
}

// (f, g) = t·(f, g) / 2^30 (exact: the divsteps cleared the low 30 bits).
function updateFg(): void {
  const u = tu, v = tv, q = tq, r = tr;
  let fi = limb(SF, 0);
  let gi = limb(SG, 0);
  let cf: i64 = <i64>u * <i64>fi + <i64>v * <i64>gi;
  let cg: i64 = <i64>q * <i64>fi + <i64>r * <i64>gi;
  cf >>= 30;
  cg >>= 30;
  for (let i = 1; i < LIMBS; i++) {
    fi = limb(SF, i);
    gi = limb(SG, i);
    cf += <i64>u * <i64>fi + <i64>v * <i64>gi;
    cg += <i64>q * <i64>fi + <i64>r * <i64>gi;
    setLimb(SF, i - 1, <i32>cf & M30);
    setLimb(SG, i - 1, <i32>cg & M30);
    cf >>= 30;
    cg >>= 30;
  }
  setLimb(SF, 8, <i32>cf);
  setLimb(SG, 8, <i32>cg);
}

// r in (−2m, m) to [0, m), negated first if sign < 0; limbs end in [0, 2^30).
function normalize(r: usize, sign: i32, mi: usize): void {
  let add = limb(r, 8) >> 31;
  for (let i = 0; i < LIMBS; i++) setLimb(r, i, limb(r, i) + (limb(mi, i) & add));
  const neg = sign >> 31;
  for (let i = 0; i < LIMBS; i++) setLimb(r, i, (limb(r, i) ^ neg) - neg);
  for (let i = 0; i < LIMBS - 1; i++) {
    const x = limb(r, i);
    setLimb(r, i + 1, limb(r, i + 1) + (x >> 30));
    setLimb(r, i, x & M30);
  }
  add = limb(r, 8) >> 31;
  for (let i = 0; i < LIMBS; i++) setLimb(r, i, limb(r, i) + (limb(mi, i) & add));
  for (let i = 0; i < LIMBS - 1; i++) {
    const x = limb(r, i);
    setLimb(r, i + 1, limb(r, i + 1) + (x >> 30));
    setLimb(r, i, x & M30);
  }
}

// r = a⁻¹ mod m for a < m (eight u32 limbs; 0 maps to 0), m described at mi. r may alias a.
export function modinv256(r: usize, a: usize, mi: usize): void {
  memory.fill(SD, 0, 4 * LIMBS);
  memory.fill(SE, 0, 4 * LIMBS);
  setLimb(SE, 0, 1);
  memory.copy(SF, mi, 4 * LIMBS);
  toSigned30(SG, a);
  let zeta: i32 = -1; // −(δ + 1/2), δ = 1/2
  for (let i = 0; i < 20; i++) {
    zeta = divsteps30(zeta, <u32>limb(SF, 0), <u32>limb(SG, 0));
    updateDe(mi);
    updateFg();
  }
  // g is 0 now and f = ±gcd = ±1: d = ±a⁻¹.
  normalize(SD, limb(SF, 8), mi);
  fromSigned30(r, SD);
}

export function modinvWipe(): void {
  wipe(SD, 4 * LIMBS);
  wipe(SE, 4 * LIMBS);
  wipe(SF, 4 * LIMBS);
  wipe(SG, 4 * LIMBS);
  tu = 0;
  tv = 0;
  tq = 0;
  tr = 0;
}
