// Multi-precision integers for RSA (RFC 8017, FIPS 186-5): moduli of up to 4096 bits, 32-bit limbs
// (little-endian u32 words in static memory), products accumulated in u64 (BearSSL i31/i32 lineage).
//
// Strategy: Montgomery multiplication CIOS (Koç–Acar–Kaliski 1996) with the multiply and reduce
// passes fused: each step's two 32×32 products (a_j·b_i, m_j·u) come from one
// i64x2.extmul_low_i32x4_u, the two chains keeping separate accumulators in the two lanes, and two
// rows run per pass (measured: 1.7× and 1.4× over the scalar loop and one row per pass). Limb
// counts are rounded up to a multiple of 4 (a modulus below R = 2^(32·N) may have zero top limbs).
// The final subtraction of m always runs and a mask selects its result. Exponentiation uses a fixed 5-bit window over an
// exponent of a fixed (public) limb count; the 32-entry table is read by a masked scan of every
// entry (v128), so neither branches nor addresses depend on exponent bits (montpow_m29.ts does the
// same in radix 2^29, faster for 1024-bit primes). Division, gcd and inversion are bit-serial with
// a fixed iteration count and masked updates.
//
// CT: limb counts, bit lengths of moduli (key sizes) and iteration counts are public and may leak;
// values of bases, secret exponents and secret moduli (p, q) do not. Functions with Public in the
// name are variable-time in their exponent and must only see public exponents. The scratch below
// holds secret intermediates: callers on secret paths end with bnWipeScratch().
import { mask32, nonzero32, wipe } from './_ct';
import { OUT } from './_io';

// Limbs of the largest number a modulus-sized slot holds (4096 bits), and a slot's byte size with
// room for a carry limb and the zero limb exponent windows read past the top.
export const MAXL: i32 = 128;
export const NB: usize = 4 * (MAXL + 8);

// Montgomery context: limb count, -m⁻¹ mod 2³², m, R mod m (one), R² mod m, the (a_j, m_j) pairs.
const CX_N: usize = 0;
const CX_M0I: usize = 4;
const CX_M: usize = 16;
const CX_ONE: usize = CX_M + NB;
const CX_R2: usize = CX_ONE + NB;
// m interleaved with the current left operand: (a_j, m_j) pairs for montMul.
const CX_PAIR: usize = CX_R2 + NB;
export const CTX_SIZE: usize = CX_PAIR + 2 * NB;

// Exponentiation moduli (CRT primes, Miller–Rabin candidates) have at most MAXT limbs: primes of
// 4096-bit keys with a margin for unbalanced imports.
export const MAXT: i32 = 68;
const WIN: i32 = 5;
const TBL: i32 = 1 << WIN;
const STRIDE: usize = <usize>MAXT * 4;

// Scratch lives in the first half of the shared OUT region (assembly/_io.ts), which no other primitive
// holds across calls: static memory is too small for two 32-entry tables.
export const SCRATCH_END: usize = 32768;
const MT: usize = OUT;
const MS: usize = MT + 4 * NB;
const MS2: usize = MS + NB;
const SEL: usize = MS2 + NB;
const ACC: usize = SEL + NB;
const CH: usize = ACC + NB;
const CH2: usize = CH + NB;
const TB1: usize = CH2 + NB;
// montpow_m29.ts lays out its exponentiation scratch over the tables, the scan masks and the
// division and gcd values below (none of them is live during its calls).
export const POW_SCRATCH: usize = TB1;
const TB2: usize = TB1 + <usize>TBL * STRIDE;
// The 32 entry masks of a table scan (they tell the selected entry).
const TSM: usize = TB2 + <usize>TBL * STRIDE;
// Division: remainder, trial remainder, divisor; gcd working values: each up to 2·MAXL + 8 limbs.
const DVB: i32 = 8 * (MAXL + 8);
const DV_R: usize = TSM + <usize>TBL * 16;
const DV_T: usize = DV_R + <usize>DVB;
const DV_M: usize = DV_T + <usize>DVB;
const GA: usize = DV_M + <usize>DVB;
const GB: usize = GA + <usize>DVB;
const GT: usize = GB + <usize>DVB;
export const POW_SCRATCH_LEN: usize = GT + <usize>DVB - TB1;

@inline function off(i: i32): usize {
  return <usize>i << 2;
}

// Limbs for a value of bits bits, rounded up to a multiple of 4 (the unrolled CIOS step).
export function bnLimbs(bits: i32): i32 {
  return (((bits + 31) >> 5) + 3) & ~3;
}

// Big-endian bytes (len of them) to n limbs, zero-extended; bytes beyond n limbs are ignored.
export function bnFromBytes(r: usize, src: usize, len: i32, n: i32): void {
  memory.fill(r, 0, off(n));
  const m = len < 4 * n ? len : 4 * n;
  for (let b = 0; b < m; b++) {
    const p = r + off(b >> 2);
    store<u32>(p, load<u32>(p) | (<u32>load<u8>(src + <usize>(len - 1 - b)) << (<u32>(8 * (b & 3)))));
  }
}

// The low len bytes of a, big-endian.
export function bnToBytes(dst: usize, a: usize, len: i32): void {
  for (let b = 0; b < len; b++) {
    store<u8>(dst + <usize>(len - 1 - b), <u8>(load<u32>(a + off(b >> 2)) >> (<u32>(8 * (b & 3)))));
  }
}

// Bit length of a public value (variable-time).
export function bnBitsPublic(a: usize, n: i32): i32 {
  for (let i = n - 1; i >= 0; i--) {
    const w = load<u32>(a + off(i));
    if (w != 0) return 32 * i + 32 - <i32>clz(w);
  }
  return 0;
}

// r = a + b, returns the carry. r may alias a or b.
export function bnAdd(r: usize, a: usize, b: usize, n: i32): u32 {
  let c: u64 = 0;
  for (let i = 0; i < n; i++) {
    const s: u64 = <u64>load<u32>(a + off(i)) + <u64>load<u32>(b + off(i)) + c;
    store<u32>(r + off(i), <u32>s);
    c = s >> 32;
  }
  return <u32>c;
}

// r = a − b, returns the borrow. r may alias a or b.
export function bnSub(r: usize, a: usize, b: usize, n: i32): u32 {
  let br: u64 = 0;
  for (let i = 0; i < n; i++) {
    const d: u64 = <u64>load<u32>(a + off(i)) - <u64>load<u32>(b + off(i)) - br;
    store<u32>(r + off(i), <u32>d);
    br = d >> 63;
  }
  return <u32>br;
}

// r = a − w for a small w, returns the borrow.
export function bnSubWord(r: usize, a: usize, w: u32, n: i32): u32 {
  let br: u64 = <u64>w;
  for (let i = 0; i < n; i++) {
    const d: u64 = <u64>load<u32>(a + off(i)) - br;
    store<u32>(r + off(i), <u32>d);
    br = d >> 63;
  }
  return <u32>br;
}

// r = ctl ? a : r.
export function bnCmov(r: usize, a: usize, ctl: u32, n: i32): void {
  const m = mask32(ctl);
  for (let i = 0; i < n; i++) {
    const x = load<u32>(r + off(i));
    store<u32>(r + off(i), x ^ (m & (x ^ load<u32>(a + off(i)))));
  }
}

// Swaps a and b when ctl is 1.
export function bnCswap(a: usize, b: usize, ctl: u32, n: i32): void {
  const m = mask32(ctl);
  for (let i = 0; i < n; i++) {
    const x = load<u32>(a + off(i));
    const y = load<u32>(b + off(i));
    const t = m & (x ^ y);
    store<u32>(a + off(i), x ^ t);
    store<u32>(b + off(i), y ^ t);
  }
}

// a >>= 1 when ctl is 1, shifting top (0 or 1) into the top bit.
export function bnShr1(a: usize, n: i32, top: u32, ctl: u32): void {
  const m = mask32(ctl);
  let hi = top;
  for (let i = n - 1; i >= 0; i--) {
    const x = load<u32>(a + off(i));
    store<u32>(a + off(i), x ^ (m & (x ^ ((x >> 1) | (hi << 31)))));
    hi = x & 1;
  }
}

// a <<= 1 when ctl is 1, returns the bit shifted out (0 when ctl is 0).
export function bnShl1(a: usize, n: i32, ctl: u32): u32 {
  const m = mask32(ctl);
  let lo: u32 = 0;
  for (let i = 0; i < n; i++) {
    const x = load<u32>(a + off(i));
    store<u32>(a + off(i), x ^ (m & (x ^ ((x << 1) | lo))));
    lo = x >> 31;
  }
  return lo & ctl;
}

// 1 if a < b.
export function bnLt(a: usize, b: usize, n: i32): u32 {
  let br: u64 = 0;
  for (let i = 0; i < n; i++) {
    const d: u64 = <u64>load<u32>(a + off(i)) - <u64>load<u32>(b + off(i)) - br;
    br = d >> 63;
  }
  return <u32>br;
}

// 1 if a == 0.
export function bnIsZero(a: usize, n: i32): u32 {
  let acc: u32 = 0;
  for (let i = 0; i < n; i++) acc |= load<u32>(a + off(i));
  return nonzero32(acc) ^ 1;
}

// 1 if a == b.
export function bnEq(a: usize, b: usize, n: i32): u32 {
  let acc: u32 = 0;
  for (let i = 0; i < n; i++) acc |= load<u32>(a + off(i)) ^ load<u32>(b + off(i));
  return nonzero32(acc) ^ 1;
}

// r = a·b (na + nb limbs, schoolbook). r must not alias a or b.
export function bnMul(r: usize, a: usize, na: i32, b: usize, nb: i32): void {
  memory.fill(r, 0, off(na + nb));
  for (let i = 0; i < nb; i++) {
    const bi: u64 = <u64>load<u32>(b + off(i));
    const ri = r + off(i);
    let c: u64 = 0;
    for (let j = 0; j < na; j++) {
      const x: u64 = <u64>load<u32>(ri + off(j)) + <u64>load<u32>(a + off(j)) * bi + c;
      store<u32>(ri + off(j), <u32>x);
      c = x >> 32;
    }
    store<u32>(ri + off(na), <u32>c);
  }
}

// q = a / m and r = a mod m (a: na limbs, m: nm limbs, nonzero, nm ≤ 2·MAXL), bit-serial long
// division: 32·na steps of shift, trial subtraction and masked select. q (na limbs) may be 0 when
// only the remainder is wanted. q and r must not alias a or m.
export function bnDivMod(q: usize, r: usize, a: usize, na: i32, m: usize, nm: i32): void {
  const w = nm + 1;
  memory.fill(DV_R, 0, off(w));
  memory.copy(DV_M, m, off(nm));
  store<u32>(DV_M + off(nm), 0);
  if (q != 0) memory.fill(q, 0, off(na));
  for (let i = 32 * na - 1; i >= 0; i--) {
    const bit = (load<u32>(a + off(i >> 5)) >> (<u32>(i & 31))) & 1;
    bnShl1(DV_R, w, 1);
    store<u32>(DV_R, load<u32>(DV_R) | bit);
    const ge = bnSub(DV_T, DV_R, DV_M, w) ^ 1;
    bnCmov(DV_R, DV_T, ge, w);
    if (q != 0) {
      const qp = q + off(i >> 5);
      store<u32>(qp, load<u32>(qp) | (ge << (<u32>(i & 31))));
    }
  }
  memory.copy(r, DV_R, off(nm));
}

// g = gcd(a, b) for a, b < 2^bits (n limbs each), at least one of them odd: binary gcd with 2·bits
// fixed steps (each removes at least one bit from a or b). a and b are not modified.
export function bnGcdOdd(g: usize, a: usize, b: usize, n: i32, bits: i32): void {
  memory.copy(GA, a, off(n));
  memory.copy(GB, b, off(n));
  bnCswap(GA, GB, (load<u32>(GB) & 1) ^ 1, n);
  // Invariant: GB is odd.
  for (let i = 0; i < 2 * bits; i++) {
    const odd = load<u32>(GA) & 1;
    const lt = bnLt(GA, GB, n);
    bnCswap(GA, GB, odd & lt, n);
    bnSub(GT, GA, GB, n);
    bnCmov(GA, GT, odd, n);
    bnShr1(GA, n, 0, 1);
  }
  memory.copy(g, GB, off(n));
}

// ---- Montgomery arithmetic ----

@inline export function ctxLimbs(cx: usize): i32 {
  return load<i32>(cx, CX_N);
}
@inline export function ctxOne(cx: usize): usize {
  return cx + CX_ONE;
}
@inline export function ctxMod(cx: usize): usize {
  return cx + CX_M;
}
@inline export function ctxM0i(cx: usize): u32 {
  return load<u32>(cx, CX_M0I);
}

// r = a·b·R⁻¹ mod m, for a·b < m·R (a, b < m, or one of them < R and the other < m). r may alias
// a or b. CIOS with the two products of each step, a_j·b_i and m_j·u, in the two i64 lanes of one
// i64x2.extmul_low_i32x4_u over the pair (a_j, m_j): the product and reduction chains keep separate
// accumulators Ta, Tm (lanes of T) and carries, and only the row's low words are combined (they sum
// to 0 or 2^32 by the choice of u). Ta + Tm < 2m at the end.
export function montMul(cx: usize, r: usize, a: usize, b: usize): void {
  const n = load<i32>(cx, CX_N);
  const m0i = load<u32>(cx, CX_M0I);
  const pair = cx + CX_PAIR;
  for (let j = 0; j < n; j++) store<u32>(pair + (<usize>j << 3), load<u32>(a + off(j)));
  const t = MT;
  memory.fill(t, 0, <usize>(n + 1) << 4);
  const lo = i64x2.splat(0xFFFFFFFF);
  const a0: u64 = <u64>load<u32>(pair);
  const m0: u64 = <u64>load<u32>(pair, 4);
  const end = t + (<usize>n << 4);
  // Two rows per pass: row i+1 runs one position behind row i and consumes its output word in a
  // register, so T is loaded and stored once per two rows.
  for (let i = 0; i < n; i += 2) {
    const b1 = load<u32>(b + off(i));
    const b2 = load<u32>(b + off(i + 1));
    let xa: u64 = load<u64>(t) + a0 * <u64>b1;
    let tm: u64 = load<u64>(t, 8);
    const u1 = (<u32>xa + <u32>tm) * m0i;
    let xm: u64 = tm + m0 * <u64>u1;
    let c1 = i64x2.replace_lane(i64x2.splat((xa >> 32) + <u64>nonzero32(<u32>xa)), 1, xm >> 32);
    const k1 = i32x4.replace_lane(i32x4.splat(<i32>b1), 1, <i32>u1);
    let prev = v128.load64_zero(pair + 8);
    let x1 = i64x2.add(i64x2.add(v128.load(t, 16), i64x2.extmul_low_i32x4_u(prev, k1)), c1);
    c1 = i64x2.shr_u(x1, 32);
    let y = v128.and(x1, lo);
    const ya: u64 = i64x2.extract_lane(y, 0);
    tm = i64x2.extract_lane(y, 1);
    xa = ya + a0 * <u64>b2;
    const u2 = (<u32>xa + <u32>tm) * m0i;
    xm = tm + m0 * <u64>u2;
    let c2 = i64x2.replace_lane(i64x2.splat((xa >> 32) + <u64>nonzero32(<u32>xa)), 1, xm >> 32);
    const k2 = i32x4.replace_lane(i32x4.splat(<i32>b2), 1, <i32>u2);
    let pt = t + 32;
    let pp = pair + 16;
    while (pt < end) {
      let pj = v128.load64_zero(pp);
      x1 = i64x2.add(i64x2.add(v128.load(pt), i64x2.extmul_low_i32x4_u(pj, k1)), c1);
      c1 = i64x2.shr_u(x1, 32);
      let x2 = i64x2.add(i64x2.add(v128.and(x1, lo), i64x2.extmul_low_i32x4_u(prev, k2)), c2);
      c2 = i64x2.shr_u(x2, 32);
      v128.store(pt - 32, v128.and(x2, lo));
      prev = v128.load64_zero(pp, 8);
      x1 = i64x2.add(i64x2.add(v128.load(pt, 16), i64x2.extmul_low_i32x4_u(prev, k1)), c1);
      c1 = i64x2.shr_u(x1, 32);
      x2 = i64x2.add(i64x2.add(v128.and(x1, lo), i64x2.extmul_low_i32x4_u(pj, k2)), c2);
      c2 = i64x2.shr_u(x2, 32);
      v128.store(pt - 16, v128.and(x2, lo));
      pt += 32;
      pp += 16;
    }
    // Row i's top words, then row i+1 at position n − 1 and its top words.
    x1 = i64x2.add(v128.load(end), c1);
    const x2 = i64x2.add(i64x2.add(v128.and(x1, lo), i64x2.extmul_low_i32x4_u(prev, k2)), c2);
    v128.store(end - 32, v128.and(x2, lo));
    const x3 = i64x2.add(i64x2.shr_u(x1, 32), i64x2.shr_u(x2, 32));
    v128.store(end - 16, v128.and(x3, lo));
    v128.store(end, i64x2.shr_u(x3, 32));
  }
  // T = Ta + Tm (n + 1 limbs) into r and T − m into MS2 in one pass (a and b are no longer read);
  // T − m replaces T when T ≥ m, by a v128 masked select.
  const m = cx + CX_M;
  let cy: u64 = 0;
  let br: u64 = 0;
  for (let j = 0; j < n; j++) {
    const s: u64 = load<u64>(t + (<usize>j << 4)) + load<u64>(t + (<usize>j << 4), 8) + cy;
    cy = s >> 32;
    const d: u64 = (s & 0xFFFFFFFF) - <u64>load<u32>(m + off(j)) - br;
    br = d >> 63;
    store<u32>(r + off(j), <u32>s);
    store<u32>(MS2 + off(j), <u32>d);
  }
  const top: u64 = load<u64>(end) + load<u64>(end, 8) + cy;
  const keep = i32x4.splat(<i32>mask32(<u32>((top - br) >> 63)));
  for (let o: usize = 0; o < off(n); o += 16) {
    v128.store(r + o, v128.bitselect(v128.load(r + o), v128.load(MS2 + o), keep));
  }
}

// r = a + b mod m (a, b < m).
export function montAdd(cx: usize, r: usize, a: usize, b: usize): void {
  const n = ctxLimbs(cx);
  const c = bnAdd(r, a, b, n);
  const br = bnSub(MS, r, cx + CX_M, n);
  bnCmov(r, MS, c | (br ^ 1), n);
}

// r = a − b mod m (a, b < m).
export function montSub(cx: usize, r: usize, a: usize, b: usize): void {
  const n = ctxLimbs(cx);
  const br = bnSub(r, a, b, n);
  bnAdd(MS, r, cx + CX_M, n);
  bnCmov(r, MS, br, n);
}

// Sets up the context for the odd modulus m (n limbs, as from bnLimbs) of exactly mbits bits.
// R mod m comes from doubling 2^(mbits−1) up to 2^(32n); R² from j more doublings and t Montgomery
// squarings, (2^j·R)^(2^t)·R^(1−2^t) = 2^(j·2^t)·R with j·2^t = 32n. Only n and mbits steer it.
export function montInit(cx: usize, m: usize, n: i32, mbits: i32): void {
  memory.fill(cx, 0, CTX_SIZE);
  store<i32>(cx, n, CX_N);
  const cm = cx + CX_M;
  memory.copy(cm, m, off(n));
  const m0 = load<u32>(m);
  let inv: u32 = m0;
  for (let i = 0; i < 5; i++) inv = inv * (2 - m0 * inv);
  store<u32>(cx, 0 - inv, CX_M0I);
  for (let j = 0; j < n; j++) store<u32>(cx + CX_PAIR + (<usize>j << 3), load<u32>(m + off(j)), 4);
  const one = cx + CX_ONE;
  const bit = mbits - 1;
  store<u32>(one + off(bit >> 5), <u32>1 << (<u32>(bit & 31)));
  for (let i = mbits - 1; i < 32 * n; i++) montDouble(cx, one);
  const r2 = cx + CX_R2;
  memory.copy(r2, one, off(n));
  let j = 32 * n;
  let t = 0;
  while ((j & 1) == 0 && j > 64) {
    j >>= 1;
    t++;
  }
  for (let i = 0; i < j; i++) montDouble(cx, r2);
  for (let i = 0; i < t; i++) montMul(cx, r2, r2, r2);
}

// 1 if the context already holds the modulus m of n limbs (public moduli only: early exit).
export function montHolds(cx: usize, m: usize, n: i32): bool {
  if (load<i32>(cx, CX_N) != n) return false;
  return memory.compare(cx + CX_M, m, off(n)) == 0;
}

// Zeroes the operand words montMul left in the context's pairs, keeping the modulus: for a context
// over a public modulus that is kept between calls.
export function montClearOperand(cx: usize): void {
  const n = load<i32>(cx, CX_N);
  for (let j = 0; j < n; j++) store<u32>(cx + CX_PAIR + (<usize>j << 3), 0);
}

// a = 2a mod m (a < m).
export function montDouble(cx: usize, a: usize): void {
  const n = ctxLimbs(cx);
  const c = bnShl1(a, n, 1);
  const br = bnSub(MS, a, cx + CX_M, n);
  bnCmov(a, MS, c | (br ^ 1), n);
}

// r = a·R mod m (Montgomery form of a mod m) for a value a of na limbs, any size: Horner over
// chunks of n limbs from the top, each chunk brought in as montMul(chunk, R²) = chunk·R.
export function montFromValue(cx: usize, r: usize, a: usize, na: i32): void {
  const n = ctxLimbs(cx);
  const r2 = cx + CX_R2;
  const k = (na + n - 1) / n;
  for (let i = k - 1; i >= 0; i--) {
    const have = na - i * n < n ? na - i * n : n;
    memory.fill(CH, 0, off(n));
    memory.copy(CH, a + off(i * n), off(have));
    montMul(cx, CH, CH, r2);
    if (i == k - 1) {
      memory.copy(CH2, CH, off(n));
    } else {
      montMul(cx, CH2, CH2, r2);
      montAdd(cx, CH2, CH2, CH);
    }
  }
  memory.copy(r, CH2, off(n));
}

const ONE_PLAIN: usize = memory.data(<i32>NB, 16);

// r = a·R⁻¹ mod m: Montgomery form back to the plain value.
export function montToValue(cx: usize, r: usize, a: usize): void {
  store<u32>(ONE_PLAIN, 1);
  montMul(cx, r, a, ONE_PLAIN);
}

// dst = table[idx] for idx < 32, reading every entry (n limbs each, n a multiple of 4): the entry
// masks first, then each 16-byte column of dst gathered in a register across all 32 entries,
// four entries per loop turn.
function tableSelect(dst: usize, table: usize, idx: u32, n: i32): void {
  for (let i: u32 = 0; i < <u32>TBL; i++) {
    v128.store(TSM + (<usize>i << 4), i32x4.splat(<i32>mask32(((i ^ idx) - 1) >> 31)));
  }
  const end = table + off(n);
  for (let col = table; col < end; col += 16) {
    let acc = i32x4.splat(0);
    let q = TSM;
    for (let p = col; p < col + <usize>TBL * STRIDE; p += 4 * STRIDE) {
      acc = v128.or(acc, v128.and(v128.load(p), v128.load(q)));
      acc = v128.or(acc, v128.and(v128.load(p, STRIDE), v128.load(q, 16)));
      acc = v128.or(acc, v128.and(v128.load(p, 2 * STRIDE), v128.load(q, 32)));
      acc = v128.or(acc, v128.and(v128.load(p, 3 * STRIDE), v128.load(q, 48)));
      q += 64;
    }
    v128.store(dst + (col - table), acc);
  }
}

// table[i] = a^i (Montgomery form), i < 32.
function tableBuild(cx: usize, table: usize, a: usize): void {
  const n = ctxLimbs(cx);
  memory.copy(table, cx + CX_ONE, off(n));
  memory.copy(table + STRIDE, a, off(n));
  for (let i = 2; i < TBL; i++) {
    montMul(cx, table + <usize>i * STRIDE, table + <usize>(i - 1) * STRIDE, a);
  }
}

// The 5-bit window of e (el limbs followed by readable memory) starting at bit pos.
@inline function window(e: usize, el: i32, pos: i32): u32 {
  const w = pos >> 5;
  const lo: u64 = <u64>load<u32>(e + off(w));
  const hi: u64 = w + 1 < el ? <u64>load<u32>(e + off(w + 1)) : 0;
  return <u32>(((hi << 32) | lo) >> (<u64>(pos & 31))) & <u32>(TBL - 1);
}

// r = a^e (Montgomery form in and out), m of at most MAXT limbs, e of el limbs, secret: all 32·el bits are processed in
// fixed 5-bit windows, each costing 5 squarings, one masked table scan and one multiplication; the
// top window's entry is the starting value.
export function montPow(cx: usize, r: usize, a: usize, e: usize, el: i32): void {
  const n = ctxLimbs(cx);
  tableBuild(cx, TB1, a);
  const wins = (32 * el + WIN - 1) / WIN;
  tableSelect(ACC, TB1, window(e, el, (wins - 1) * WIN), n);
  for (let k = wins - 2; k >= 0; k--) {
    for (let s = 0; s < WIN; s++) montMul(cx, ACC, ACC, ACC);
    tableSelect(SEL, TB1, window(e, el, k * WIN), n);
    montMul(cx, ACC, ACC, SEL);
  }
  memory.copy(r, ACC, off(n));
}

// r = a1^e1 · a2^e2 (Montgomery form), both exponents el limbs and secret: the squarings are shared
// (Shamir's trick), each window multiplies by one scanned entry of each table (the top windows'
// product is the starting value).
export function montPow2(cx: usize, r: usize, a1: usize, e1: usize, a2: usize, e2: usize, el: i32): void {
  const n = ctxLimbs(cx);
  tableBuild(cx, TB1, a1);
  tableBuild(cx, TB2, a2);
  const wins = (32 * el + WIN - 1) / WIN;
  tableSelect(ACC, TB1, window(e1, el, (wins - 1) * WIN), n);
  tableSelect(SEL, TB2, window(e2, el, (wins - 1) * WIN), n);
  montMul(cx, ACC, ACC, SEL);
  for (let k = wins - 2; k >= 0; k--) {
    for (let s = 0; s < WIN; s++) montMul(cx, ACC, ACC, ACC);
    tableSelect(SEL, TB1, window(e1, el, k * WIN), n);
    montMul(cx, ACC, ACC, SEL);
    tableSelect(SEL, TB2, window(e2, el, k * WIN), n);
    montMul(cx, ACC, ACC, SEL);
  }
  memory.copy(r, ACC, off(n));
}

// r = a^e (Montgomery form) for a PUBLIC exponent e of el limbs: left-to-right square and multiply,
// variable-time in e only (the base may be secret: every step is a constant-time montMul).
export function montPowPublic(cx: usize, r: usize, a: usize, e: usize, el: i32): void {
  const n = ctxLimbs(cx);
  const bits = bnBitsPublic(e, el);
  if (bits == 0) {
    memory.copy(r, cx + CX_ONE, off(n));
    return;
  }
  memory.copy(ACC, a, off(n));
  for (let i = bits - 2; i >= 0; i--) {
    montMul(cx, ACC, ACC, ACC);
    if (((load<u32>(e + off(i >> 5)) >> (<u32>(i & 31))) & 1) != 0) montMul(cx, ACC, ACC, a);
  }
  memory.copy(r, ACC, off(n));
}

// Zeroes every scratch region of this file.
export function bnWipeScratch(): void {
  wipe(MT, <i32>(GT + <usize>DVB - MT));
}
