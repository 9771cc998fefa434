// Montgomery arithmetic modulo an odd modulus m of up to 17 32-bit limbs: the prime fields and the
// group orders of P-256, P-384, P-521 and secp256k1 (SEC 1 v2 §2.2, FIPS 186-5 / SP 800-186 §3).
//
// Strategy: a modulus is data, a descriptor in static memory (limb count, -m⁻¹ mod 2³², m, R² mod m,
// R mod m, m − 2, and the id of its unrolled code in _field_fixed.ts). Multiplication is Montgomery
// CIOS (Koç–Acar–Kaliski 1996: coarsely integrated operand scanning), squaring is cross products,
// doubling and SOS reduction; R = 2^(32·N). Limbs are u32, little-endian, products accumulate in u64.
// The hot operations are generated per modulus (scripts/gen-ec-field.mjs) with the modulus limbs as
// literals; the four field primes are reduced by folding instead (NIST fast reduction for P-256 and
// P-384, Mersenne for P-521, 2^32 + 977 for secp256k1), with R = 1 there: their "Montgomery form"
// is the plain value. The group orders n use Montgomery.
// Elements are kept fully reduced (< m): every operation ends with a subtraction of m that always
// runs and a mask that decides whether it takes effect, so no branch or memory index depends on an
// operand. Inversion is safegcd (_modinv_safegcd30.ts, constant time) for the 256-bit moduli and
// Fermat (a^(m−2), sliding windows over the public exponent) for the longer ones.
//
// CT: only the limb count, the modulus id and the (public) exponents of fpow decide control flow. The
// scratch words D, the window table and the safegcd state hold secret intermediates: callers on secret
// paths end with fieldWipe().
import { mask32, nonzero32, wipe } from './_ct';
import {
  addK1N, addK1P, addP256N, addP256P, addP384N, addP384P, addP521N, addP521P, mulK1N, mulK1P, mulP256N, mulP256P,
  mulP384N, mulP384P, mulP521N, mulP521P, sqrK1N, sqrK1P, sqrP256N, sqrP256P, sqrP384N, sqrP384P, sqrP521N,
  sqrP521P, subK1N, subK1P, subP256N, subP256P, subP384N, subP384P, subP521N, subP521P,
} from './_field_fixed';
import { MI_SIZE, modinv256, modinvInit, modinvWipe } from './_modinv_safegcd30';

export const MAX_LIMBS: i32 = 17;
// Bytes per element slot: up to 17 limbs, padded to a multiple of 16 so points scan as whole v128s.
export const FE: usize = 80;

// Descriptor layout, in bytes.
export const MD_N: usize = 0;
export const MD_M0: usize = 4;
export const MD_M: usize = 8;
export const MD_R2: usize = MD_M + FE;
export const MD_ONE: usize = MD_R2 + FE;
export const MD_EINV: usize = MD_ONE + FE;
export const MD_ID: usize = MD_EINV + FE;
// 8-limb moduli only: R³ mod m and the safegcd modulus information.
export const MD_R3: usize = MD_ID + 8;
export const MD_MI: usize = MD_R3 + FE;
export const MD_SIZE: usize = MD_MI + MI_SIZE + 8;


const D: usize = memory.data(4 * (MAX_LIMBS + 3), 16);
const POW: usize = memory.data(16 * <i32>FE, 16);
const ACC: usize = memory.data(<i32>FE, 16);

@inline export function limbs(md: usize): i32 {
  return load<i32>(md, MD_N);
}

// Big-endian bytes (len of them) to n limbs, zero-extended.
export function limbsFromBytes(r: usize, src: usize, len: i32, n: i32): void {
  for (let i = 0; i < n; i++) {
    let v: u32 = 0;
    for (let j = 0; j < 4; j++) {
      const b = 4 * i + j;
      if (b < len) v |= (<u32>load<u8>(src + <usize>(len - 1 - b))) << (<u32>(8 * j));
    }
    store<u32>(r + (<usize>i << 2), v);
  }
}

// The low len bytes of the n-limb value a, big-endian.
export function limbsToBytes(dst: usize, a: usize, len: i32): void {
  for (let b = 0; b < len; b++) {
    const w = load<u32>(a + (<usize>(b >> 2) << 2));
    store<u8>(dst + <usize>(len - 1 - b), <u8>(w >> (<u32>(8 * (b & 3)))));
  }
}

// 1 if a < b (n limbs each), else 0: the borrow out of a − b.
export function limbsLt(a: usize, b: usize, n: i32): u32 {
  let borrow: u64 = 0;
  for (let i = 0; i < n; i++) {
    const off = <usize>i << 2;
    const d: u64 = <u64>load<u32>(a + off) - <u64>load<u32>(b + off) - borrow;
    borrow = d >> 63;
  }
  return <u32>borrow;
}

// 1 if the n-limb value a is nonzero.
export function limbsNonzero(a: usize, n: i32): u32 {
  let acc: u32 = 0;
  for (let i = 0; i < n; i++) acc |= load<u32>(a + (<usize>i << 2));
  return nonzero32(acc);
}

// 1 if a == b (n limbs).
export function limbsEq(a: usize, b: usize, n: i32): u32 {
  let acc: u32 = 0;
  for (let i = 0; i < n; i++) {
    const off = <usize>i << 2;
    acc |= load<u32>(a + off) ^ load<u32>(b + off);
  }
  return nonzero32(acc) ^ 1;
}

// r = ctl ? a : r, n limbs.
export function limbsCmov(r: usize, a: usize, ctl: u32, n: i32): void {
  const m = mask32(ctl);
  for (let i = 0; i < n; i++) {
    const off = <usize>i << 2;
    const x = load<u32>(r + off);
    store<u32>(r + off, x ^ (m & (x ^ load<u32>(a + off))));
  }
}

// r = a − m if a ≥ m (a < 2m, n limbs), in place, whatever a is.
export function limbsReduceOnce(r: usize, md: usize): void {
  const n = limbs(md);
  const m = md + MD_M;
  let borrow: u64 = 0;
  for (let i = 0; i < n; i++) {
    const off = <usize>i << 2;
    const d: u64 = <u64>load<u32>(r + off) - <u64>load<u32>(m + off) - borrow;
    store<u32>(D + off, <u32>d);
    borrow = d >> 63;
  }
  limbsCmov(r, D, <u32>borrow ^ 1, n);
}

// r = a·b·R⁻¹ mod m. r may alias a or b.
export function fmul(r: usize, a: usize, b: usize, md: usize): void {
  switch (load<i32>(md, MD_ID)) {
    case 0: mulP256P(r, a, b); break;
    case 1: mulP256N(r, a, b); break;
    case 2: mulP384P(r, a, b); break;
    case 3: mulP384N(r, a, b); break;
    case 4: mulP521P(r, a, b); break;
    case 5: mulP521N(r, a, b); break;
    case 6: mulK1P(r, a, b); break;
    default: mulK1N(r, a, b);
  }
}

// r = a²·R⁻¹ mod m.
export function fsqr(r: usize, a: usize, md: usize): void {
  switch (load<i32>(md, MD_ID)) {
    case 0: sqrP256P(r, a); break;
    case 1: sqrP256N(r, a); break;
    case 2: sqrP384P(r, a); break;
    case 3: sqrP384N(r, a); break;
    case 4: sqrP521P(r, a); break;
    case 5: sqrP521N(r, a); break;
    case 6: sqrK1P(r, a); break;
    default: sqrK1N(r, a);
  }
}

// r = a + b mod m.
export function fadd(r: usize, a: usize, b: usize, md: usize): void {
  switch (load<i32>(md, MD_ID)) {
    case 0: addP256P(r, a, b); break;
    case 1: addP256N(r, a, b); break;
    case 2: addP384P(r, a, b); break;
    case 3: addP384N(r, a, b); break;
    case 4: addP521P(r, a, b); break;
    case 5: addP521N(r, a, b); break;
    case 6: addK1P(r, a, b); break;
    default: addK1N(r, a, b);
  }
}

// r = a − b mod m.
export function fsub(r: usize, a: usize, b: usize, md: usize): void {
  switch (load<i32>(md, MD_ID)) {
    case 0: subP256P(r, a, b); break;
    case 1: subP256N(r, a, b); break;
    case 2: subP384P(r, a, b); break;
    case 3: subP384N(r, a, b); break;
    case 4: subP521P(r, a, b); break;
    case 5: subP521N(r, a, b); break;
    case 6: subK1P(r, a, b); break;
    default: subK1N(r, a, b);
  }
}

// Plain value a (< m) to Montgomery form, and back.
@inline export function ftoMont(r: usize, a: usize, md: usize): void {
  fmul(r, a, md + MD_R2, md);
}

const ONE_PLAIN: usize = memory.data<u32>([1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], 16);

@inline export function ffromMont(r: usize, a: usize, md: usize): void {
  fmul(r, a, ONE_PLAIN, md);
}

@inline function bitOf(e: usize, i: i32): u32 {
  return (load<u32>(e + (<usize>(i >> 5) << 2)) >> (<u32>(i & 31))) & 1;
}

// r = a^e (Montgomery form in and out) for a public exponent e of N limbs: sliding windows of up to
// 5 bits over the odd powers a, a³, …, a³¹, so the sequence of squarings and multiplications depends
// on e only.
export function fpow(r: usize, a: usize, e: usize, md: usize): void {
  const n = limbs(md);
  const a2 = ACC;
  fsqr(a2, a, md);
  memory.copy(POW, a, FE);
  for (let i = 1; i < 16; i++) fmul(POW + <usize>i * FE, POW + <usize>(i - 1) * FE, a2, md);
  memory.copy(ACC, md + MD_ONE, FE);
  let started = false;
  let i = 32 * n - 1;
  while (i >= 0) {
    if (bitOf(e, i) == 0) {
      if (started) fsqr(ACC, ACC, md);
      i--;
      continue;
    }
    let j = i - 4 > 0 ? i - 4 : 0;
    while (bitOf(e, j) == 0) j++;
    let v: u32 = 0;
    for (let b = i; b >= j; b--) {
      v = (v << 1) | bitOf(e, b);
      if (started) fsqr(ACC, ACC, md);
    }
    const odd = POW + <usize>(v >> 1) * FE;
    if (started) fmul(ACC, ACC, odd, md);
    else memory.copy(ACC, odd, FE);
    started = true;
    i = j - 1;
  }
  memory.copy(r, ACC, FE);
}

// r = a⁻¹ (Montgomery form); 0 maps to 0. Moduli of 8 limbs (the 256-bit curves) use safegcd, which
// inverts the plain value: (aR)⁻¹·R³·R⁻¹ = a⁻¹R; the primes there have R = 1 and need no correction.
// The longer moduli use Fermat (a^(m−2)): m is prime.
export function finv(r: usize, a: usize, md: usize): void {
  if (limbs(md) != 8) {
    fpow(r, a, md + MD_EINV, md);
    return;
  }
  modinv256(r, a, md + MD_MI);
  if ((load<i32>(md, MD_ID) & 1) != 0) fmul(r, r, md + MD_R3, md);
}

// Fills the descriptor at md for the modulus given as len big-endian bytes at src, whose unrolled
// code in _field_fixed.ts has the given id.
export function mdInit(md: usize, src: usize, len: i32, id: i32): void {
  const n = (len + 3) >> 2;
  memory.fill(md, 0, MD_SIZE);
  store<i32>(md, n, MD_N);
  store<i32>(md, id, MD_ID);
  const m = md + MD_M;
  limbsFromBytes(m, src, len, n);
  // m⁻¹ mod 2³² by Newton iteration (each step doubles the correct low bits), then negate.
  const m0 = load<u32>(m);
  let inv: u32 = m0;
  for (let i = 0; i < 5; i++) inv = inv * (2 - m0 * inv);
  store<u32>(md, 0 - inv, MD_M0);
  // R mod m and R² mod m by modular doubling of 1: 32·N and 64·N doublings. The primes (even ids)
  // are reduced by folding, not in Montgomery form: their R is 1.
  const one = md + MD_ONE;
  const r2 = md + MD_R2;
  store<u32>(one, 1);
  store<u32>(r2, 1);
  if ((id & 1) != 0) {
    for (let i = 0; i < 32 * n; i++) fadd(one, one, one, md);
    memory.copy(r2, one, FE);
    for (let i = 0; i < 32 * n; i++) fadd(r2, r2, r2, md);
    fmul(md + MD_R3, r2, r2, md);
  }
  if (n == 8) modinvInit(md + MD_MI, m);
  // m − 2 (m is odd and > 2: no borrow past limb 0 unless m0 < 2, which no prime here has).
  const e = md + MD_EINV;
  memory.copy(e, m, FE);
  store<u32>(e, m0 - 2);
}

// Zeroes the scratch that held secret intermediates.
export function fieldWipe(): void {
  wipe(D, 4 * (MAX_LIMBS + 3));
  wipe(POW, 16 * <i32>FE);
  wipe(ACC, <i32>FE);
  modinvWipe();
}
