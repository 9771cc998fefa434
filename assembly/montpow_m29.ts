// Modular exponentiation with secret exponents (RSA CRT halves, Miller–Rabin, qinv) for moduli of
// at most MAX_BITS bits, over Montgomery multiplication in radix 2^29 with lazy carries.
//
// Strategy: bigint_m32's montMul spends about half its instructions on carries, since a 32×32-bit
// product fills a 64-bit lane. With 29-bit digits a product is below 2^58 and a 64-bit lane adds up
// to 60 of them without overflow, so here carries are only propagated where a Montgomery factor u
// needs them and once at the end. CIOS (Koç–Acar–Kaliski 1996) runs four rows per pass: a scalar
// prologue settles the four low positions, which give the rows' factors u, then each step adds four
// product pairs (a_j·b_i, m_j·u_i) from i64x2.extmul_{low,high}_i32x4_u into the (Ta, Tm) lanes of
// one position (a lane takes one product per row). R = 2^(29·n) with 29·n ≥ bits + 2 > log2(4m),
// so inputs and outputs stay below 2m without a subtraction per product (Walter 1999); the result
// is reduced once, by a masked subtraction. Measured on a 1024-bit modulus: 36 digits here take
// about 0.93 of the time of montMul's 32 limbs. Where the extra digits cost more than that (and
// above MAX_BITS, the lane bound) rsa.ts uses bigint_m32's montPow: see montPowDFaster.
// The exponent is read in fixed 5-bit windows; each window costs 5 squarings, a masked scan of all
// 32 table entries (v128) and one multiplication, so neither branches nor addresses depend on it.
//
// Values cross from and to bigint_m32's Montgomery form (x·2^(32·nl) mod m, 32-bit limbs): the base
// is re-digited and multiplied by R²/R32 mod m, the result by R32 mod m, both constants derived
// from the context at each call (a few doublings and one 32-bit montMul).
//
// CT: the digit count (from the modulus's bit length), the limb counts and the exponent's limb
// count are public and may leak; values of m, the base and the exponent do not. Secret
// intermediates live in POW_SCRATCH (bigint_m32's table region, never in use at the same time),
// which bnWipeScratch() zeroes.
import {
  NB, POW_SCRATCH, POW_SCRATCH_LEN, bnBitsPublic, bnCmov, bnSub, ctxLimbs, ctxM0i, ctxMod, ctxOne, montDouble, montMul,
} from './bigint_m32';

// 29-bit digits, at most DMAX of them (a multiple of 4; a lane sums up to DMAX products < 2^58).
const S: u64 = 29;
const MASK: u64 = (<u64>1 << S) - 1;
const DMAX: i32 = 60;
const MAX_BITS: i32 = 29 * DMAX - 2;
const DB: usize = <usize>DMAX * 4;
const WIN: i32 = 5;
const TBL: i32 = 1 << WIN;

const TB1: usize = POW_SCRATCH;
const TB2: usize = TB1 + <usize>TBL * DB;
// (a_j, m_j) word pairs for the loads of the product loop, the top four pairs zero.
const PAIR: usize = TB2 + <usize>TBL * DB;
// Accumulator: per position the lanes (Ta, Tm) as u64, DMAX + 4 positions.
const TT: usize = PAIR + <usize>(DMAX + 4) * 8;
const MD: usize = TT + <usize>(DMAX + 4) * 16;
const ONE: usize = MD + DB;
const C_IN: usize = ONE + DB;
const C_OUT: usize = C_IN + DB;
const BASE: usize = C_OUT + DB;
const BASE2: usize = BASE + DB;
const ACC: usize = BASE2 + DB;
const SEL: usize = ACC + DB;
const TMP: usize = SEL + DB;
const TSM: usize = TMP + DB;
const W1: usize = TSM + <usize>TBL * 16;
const W2: usize = W1 + NB;
// The region's end: montPowDFaster answers no if it outgrew bigint_m32's POW_SCRATCH_LEN.
const END: usize = W2 + NB;

// Digit count (a multiple of 4) and −m⁻¹ mod 2^29 of the current modulus (which tells m mod 2^29:
// zeroed when an exponentiation ends).
let dn: i32 = 0;
let dm0i: u32 = 0;

// dst = the value of src (nl limbs of 32 bits) as dn digits.
function toDigits(dst: usize, src: usize, nl: i32): void {
  for (let k = 0; k < dn; k++) {
    const bit = k * <i32>S;
    const w = bit >> 5;
    const lo: u64 = w < nl ? <u64>load<u32>(src + (<usize>w << 2)) : 0;
    const hi: u64 = w + 1 < nl ? <u64>load<u32>(src + (<usize>(w + 1) << 2)) : 0;
    store<u32>(dst + (<usize>k << 2), <u32>((((hi << 32) | lo) >> <u64>(bit & 31)) & MASK));
  }
}

// dst = the value of src (dn digits) as nl limbs of 32 bits; the value must fit.
function fromDigits(dst: usize, src: usize, nl: i32): void {
  memory.fill(dst, 0, <usize>nl << 2);
  for (let k = 0; k < dn; k++) {
    const bit = k * <i32>S;
    const w = bit >> 5;
    const v: u64 = <u64>load<u32>(src + (<usize>k << 2)) << <u64>(bit & 31);
    if (w < nl) store<u32>(dst + (<usize>w << 2), load<u32>(dst + (<usize>w << 2)) | <u32>v);
    if (w + 1 < nl) store<u32>(dst + (<usize>(w + 1) << 2), load<u32>(dst + (<usize>(w + 1) << 2)) | <u32>(v >> 32));
  }
}

// r = a·b·R⁻¹ mod m up to one m: a, b < 2m (dn digits each) give r < 2m, digits below 2^29. r may
// alias a or b.
function montMulD(r: usize, a: usize, b: usize): void {
  const n = dn;
  const m0i = dm0i;
  for (let j = 0; j < n; j++) store<u32>(PAIR + (<usize>j << 3), load<u32>(a + (<usize>j << 2)));
  memory.fill(TT, 0, <usize>(n + 4) << 4);
  const a0: u64 = <u64>load<u32>(PAIR);
  const a1: u64 = <u64>load<u32>(PAIR, 8);
  const a2: u64 = <u64>load<u32>(PAIR, 16);
  const a3: u64 = <u64>load<u32>(PAIR, 24);
  const m0: u64 = <u64>load<u32>(PAIR, 4);
  const m1: u64 = <u64>load<u32>(PAIR, 12);
  const m2: u64 = <u64>load<u32>(PAIR, 20);
  const m3: u64 = <u64>load<u32>(PAIR, 28);
  const stop = TT + (<usize>n << 4);
  for (let i = 0; i < n; i += 4) {
    const bp = b + (<usize>i << 2);
    const b0: u64 = <u64>load<u32>(bp);
    const b1: u64 = <u64>load<u32>(bp, 4);
    const b2: u64 = <u64>load<u32>(bp, 8);
    const b3: u64 = <u64>load<u32>(bp, 12);
    // Positions 0..3, where rows 0..3 meet: each gives its row's u, whose product with m0 clears
    // the low 29 bits, and the carry goes up. The lanes are split before they are added (each may
    // be close to 2^64).
    let ta: u64 = load<u64>(TT);
    let tm: u64 = load<u64>(TT, 8);
    let v: u64 = (ta & MASK) + (tm & MASK) + a0 * b0;
    const u0: u64 = <u64>(<u32>v * m0i) & MASK;
    v += m0 * u0;
    let c: u64 = (ta >> S) + (tm >> S) + (v >> S);
    ta = load<u64>(TT, 16);
    tm = load<u64>(TT, 24);
    v = (ta & MASK) + (tm & MASK) + c + a1 * b0 + m1 * u0 + a0 * b1;
    const u1: u64 = <u64>(<u32>v * m0i) & MASK;
    v += m0 * u1;
    c = (ta >> S) + (tm >> S) + (v >> S);
    ta = load<u64>(TT, 32);
    tm = load<u64>(TT, 40);
    v = (ta & MASK) + (tm & MASK) + c + a2 * b0 + m2 * u0 + a1 * b1 + m1 * u1 + a0 * b2;
    const u2: u64 = <u64>(<u32>v * m0i) & MASK;
    v += m0 * u2;
    c = (ta >> S) + (tm >> S) + (v >> S);
    ta = load<u64>(TT, 48);
    tm = load<u64>(TT, 56);
    v = (ta & MASK) + (tm & MASK) + c + a3 * b0 + m3 * u0 + a2 * b1 + m2 * u1 + a1 * b2 + m1 * u2 + a0 * b3;
    const u3: u64 = <u64>(<u32>v * m0i) & MASK;
    v += m0 * u3;
    c = (ta >> S) + (tm >> S) + (v >> S);
    store<u64>(TT, load<u64>(TT, 64) + c, 64);
    const k0 = i64x2.splat(b0 | (u0 << 32));
    const k1 = i64x2.splat(b1 | (u1 << 32));
    const k2 = i64x2.splat(b2 | (u2 << 32));
    const k3 = i64x2.splat(b3 | (u3 << 32));
    // Positions j ≥ 4: row r adds p_(j−r)·(b_r, u_r), and the four shifts move the sum to j − 4.
    // pp points at pair j − 3 ((p_(j−3), p_(j−2)) at +0, (p_(j−1), p_j) at +16) and pt at
    // position j − 4; four positions per loop turn (n is a multiple of 4), every address a pointer
    // and a constant offset.
    let pp = PAIR + 8;
    let pt = TT;
    while (pt < stop) {
      {
        const lo = v128.load(pp, 0);
        const hi = v128.load(pp, 16);
        v128.store(pt, i64x2.add(
          i64x2.add(v128.load(pt, 64), i64x2.extmul_high_i32x4_u(hi, k0)),
          i64x2.add(i64x2.extmul_low_i32x4_u(hi, k1), i64x2.add(i64x2.extmul_high_i32x4_u(lo, k2), i64x2.extmul_low_i32x4_u(lo, k3))),
        ), 0);
      }
      {
        const lo = v128.load(pp, 8);
        const hi = v128.load(pp, 24);
        v128.store(pt, i64x2.add(
          i64x2.add(v128.load(pt, 80), i64x2.extmul_high_i32x4_u(hi, k0)),
          i64x2.add(i64x2.extmul_low_i32x4_u(hi, k1), i64x2.add(i64x2.extmul_high_i32x4_u(lo, k2), i64x2.extmul_low_i32x4_u(lo, k3))),
        ), 16);
      }
      {
        const lo = v128.load(pp, 16);
        const hi = v128.load(pp, 32);
        v128.store(pt, i64x2.add(
          i64x2.add(v128.load(pt, 96), i64x2.extmul_high_i32x4_u(hi, k0)),
          i64x2.add(i64x2.extmul_low_i32x4_u(hi, k1), i64x2.add(i64x2.extmul_high_i32x4_u(lo, k2), i64x2.extmul_low_i32x4_u(lo, k3))),
        ), 32);
      }
      {
        const lo = v128.load(pp, 24);
        const hi = v128.load(pp, 40);
        v128.store(pt, i64x2.add(
          i64x2.add(v128.load(pt, 112), i64x2.extmul_high_i32x4_u(hi, k0)),
          i64x2.add(i64x2.extmul_low_i32x4_u(hi, k1), i64x2.add(i64x2.extmul_high_i32x4_u(lo, k2), i64x2.extmul_low_i32x4_u(lo, k3))),
        ), 48);
      }
      pt += 64;
      pp += 32;
    }
  }
  // Carries, once: r < 2m < R, so nothing is left above position n − 1.
  let c: u64 = 0;
  for (let k = 0; k < n; k++) {
    const ta: u64 = load<u64>(TT + (<usize>k << 4));
    const tm: u64 = load<u64>(TT + (<usize>k << 4), 8);
    const lo: u64 = (ta & MASK) + (tm & MASK) + c;
    store<u32>(r + (<usize>k << 2), <u32>(lo & MASK));
    c = (ta >> S) + (tm >> S) + (lo >> S);
  }
}

// Digits for a modulus of mbits bits: 29·n ≥ mbits + 2, n a multiple of 4.
@inline function digitsFor(mbits: i32): i32 {
  return ((mbits + 2 + 28) / 29 + 3) & ~3;
}

// Whether montPowD is the faster choice for the context's modulus: it fits (at most MAX_BITS bits)
// and needs at most 9/8 as many digits as montMul's limbs, as for 1024-bit primes (36 and 32).
// Measured against bigint_m32's montPow: 1.06× at 1024 bits; 0.86× at 512 bits (20 digits, 16 limbs).
export function montPowDFaster(cx: usize): bool {
  const nl = ctxLimbs(cx);
  const mbits = bnBitsPublic(ctxMod(cx), nl);
  return END <= POW_SCRATCH + POW_SCRATCH_LEN && mbits <= MAX_BITS && 8 * digitsFor(mbits) <= 9 * nl;
}

// Digit count for the context's modulus, its digits and pairs, and the constants R mod m,
// R²/R32 mod m (into this radix) and R32 mod m (back out).
function setup(cx: usize): void {
  const nl = ctxLimbs(cx);
  const m = ctxMod(cx);
  const mbits = bnBitsPublic(m, nl);
  const n = digitsFor(mbits);
  dn = n;
  dm0i = ctxM0i(cx) & <u32>MASK;
  toDigits(MD, m, nl);
  memory.fill(PAIR, 0, <usize>(DMAX + 4) << 3);
  for (let j = 0; j < n; j++) store<u32>(PAIR + (<usize>j << 3), load<u32>(MD + (<usize>j << 2)), 4);
  // W1 = R mod m = 2^(29·n) mod m: 2^(mbits−1) < m doubled 29·n − mbits + 1 times.
  memory.fill(W1, 0, NB);
  store<u32>(W1 + (<usize>((mbits - 1) >> 5) << 2), <u32>1 << <u32>((mbits - 1) & 31));
  for (let i = mbits - 1; i < 29 * n; i++) montDouble(cx, W1);
  toDigits(ONE, W1, nl);
  montMul(cx, W2, W1, W1);
  toDigits(C_IN, W2, nl);
  toDigits(C_OUT, ctxOne(cx), nl);
}

// dst = the base a (bigint_m32 Montgomery form, nl limbs) in this radix's Montgomery form.
function enter(dst: usize, a: usize, nl: i32): void {
  toDigits(TMP, a, nl);
  montMulD(dst, TMP, C_IN);
}

// r = x·R32 mod m (nl limbs) from ACC = x·R: one product by R32 mod m, then a masked subtraction.
// The last product of an exponentiation.
function leave(cx: usize, r: usize, nl: i32): void {
  montMulD(ACC, ACC, C_OUT);
  dm0i = 0;
  fromDigits(W1, ACC, nl + 1);
  const br = bnSub(W2, W1, ctxMod(cx), nl + 1);
  bnCmov(W1, W2, br ^ 1, nl + 1);
  memory.copy(r, W1, <usize>nl << 2);
}

// dst = table[idx] for idx < 32, reading every entry (dn digits each, dn a multiple of 4): the
// entry masks first, then each 16-byte column gathered in a register across all 32 entries,
// four entries per loop turn.
function tableSelect(dst: usize, table: usize, idx: u32): void {
  for (let i: u32 = 0; i < <u32>TBL; i++) {
    v128.store(TSM + (<usize>i << 4), i32x4.splat(<i32>(0 - (((i ^ idx) - 1) >> 31))));
  }
  const end = table + (<usize>dn << 2);
  for (let col = table; col < end; col += 16) {
    let acc = i32x4.splat(0);
    let q = TSM;
    for (let p = col; p < col + <usize>TBL * DB; p += 4 * DB) {
      acc = v128.or(acc, v128.and(v128.load(p), v128.load(q)));
      acc = v128.or(acc, v128.and(v128.load(p, DB), v128.load(q, 16)));
      acc = v128.or(acc, v128.and(v128.load(p, 2 * DB), v128.load(q, 32)));
      acc = v128.or(acc, v128.and(v128.load(p, 3 * DB), v128.load(q, 48)));
      q += 64;
    }
    v128.store(dst + (col - table), acc);
  }
}

// table[i] = a^i (this radix's Montgomery form), i < 32.
function tableBuild(table: usize, a: usize): void {
  const bytes = <usize>dn << 2;
  memory.copy(table, ONE, bytes);
  memory.copy(table + DB, a, bytes);
  for (let i = 2; i < TBL; i++) montMulD(table + <usize>i * DB, table + <usize>(i - 1) * DB, a);
}

// The 5-bit window of e (el limbs followed by readable memory) starting at bit pos.
@inline function window(e: usize, el: i32, pos: i32): u32 {
  const w = pos >> 5;
  const lo: u64 = <u64>load<u32>(e + (<usize>w << 2));
  const hi: u64 = w + 1 < el ? <u64>load<u32>(e + (<usize>(w + 1) << 2)) : 0;
  return <u32>(((hi << 32) | lo) >> (<u64>(pos & 31))) & <u32>(TBL - 1);
}

// r = a^e (bigint_m32 Montgomery form in and out) for a modulus that fits (montPowDFaster), e of el
// limbs, secret: all 32·el bits are processed, the top window's entry is the starting value.
export function montPowD(cx: usize, r: usize, a: usize, e: usize, el: i32): void {
  const nl = ctxLimbs(cx);
  setup(cx);
  enter(BASE, a, nl);
  tableBuild(TB1, BASE);
  const wins = (32 * el + WIN - 1) / WIN;
  tableSelect(ACC, TB1, window(e, el, (wins - 1) * WIN));
  for (let k = wins - 2; k >= 0; k--) {
    for (let s = 0; s < WIN; s++) montMulD(ACC, ACC, ACC);
    tableSelect(SEL, TB1, window(e, el, k * WIN));
    montMulD(ACC, ACC, SEL);
  }
  leave(cx, r, nl);
}

// r = a1^e1 · a2^e2 (bigint_m32 Montgomery form) as montPowD, both exponents el limbs and secret:
// the squarings are shared (Shamir's trick), each window multiplies by one scanned entry of each
// table (the top windows' product is the starting value).
export function montPow2D(cx: usize, r: usize, a1: usize, e1: usize, a2: usize, e2: usize, el: i32): void {
  const nl = ctxLimbs(cx);
  setup(cx);
  enter(BASE, a1, nl);
  enter(BASE2, a2, nl);
  tableBuild(TB1, BASE);
  tableBuild(TB2, BASE2);
  const wins = (32 * el + WIN - 1) / WIN;
  tableSelect(ACC, TB1, window(e1, el, (wins - 1) * WIN));
  tableSelect(SEL, TB2, window(e2, el, (wins - 1) * WIN));
  montMulD(ACC, ACC, SEL);
  for (let k = wins - 2; k >= 0; k--) {
    for (let s = 0; s < WIN; s++) montMulD(ACC, ACC, ACC);
    tableSelect(SEL, TB1, window(e1, el, k * WIN));
    montMulD(ACC, ACC, SEL);
    tableSelect(SEL, TB2, window(e2, el, k * WIN));
    montMulD(ACC, ACC, SEL);
  }
  leave(cx, r, nl);
}
