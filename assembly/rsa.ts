// Raw RSA (RFC 8017 §5.1–5.2: RSAEP/RSAVP1, RSADP/RSASP1) and key-generation support (FIPS 186-5
// §5.1, A.1.3 probable primes, B.3.1 Miller–Rabin), over bigint_m32 and montpow_m29.
//
// Strategy: the private operation uses the CRT form (RFC 8017 §5.1.2 step 2.b, u = 2) with three
// countermeasures: the base is blinded (b = c·r^e mod n), each prime's exponent is blinded
// (dp + k·(p−1), k a random 32-bit value), and the result is released only if m^e ≡ c (mod n),
// which defeats fault attacks on either half (Boneh–DeMillo–Lipton). The halves are recombined
// with Garner (h = qinv·(m1 − m2) mod p, m = m2 + h·q). Unblinding takes one of two forms:
// - rsaPrivate (a fresh r): r⁻¹ mod p is folded into the same exponentiation as r^(p−2) (Fermat)
//   with shared squarings, so m1 = b^(dp') · r^(p−2) = m mod p;
// - rsaPrivateBlinded (a kept pair A = r^e, AI = r⁻¹ mod n, made by rsaBlinding): the pair is
//   squared first (a new r² each call, as OpenSSL's BN_BLINDING_update), b = c·A, and the CRT result
//   m·r is multiplied by AI. This saves the Fermat multiplications (about a sixth of the work).
// Key generation: TS draws candidates and Miller–Rabin bases; here a candidate is trial-divided by the
// odd primes below 2048 (Barrett remainders, no division instruction on secret data), checked for
// gcd(e, p−1) = 1 and tested by Miller–Rabin; then n, λ = lcm(p−1, q−1) (constant-time binary gcd and
// long division), d = e⁻¹ mod λ = (1 + k·λ)/e with k = −λ⁻¹ mod e (e prime), dp, dq and
// qinv = q^(p−2) mod p are computed here, never in JS numbers.
//
// CT: lengths and bit lengths of n, p, q, e, the byte lengths of d, dp, dq, qinv as given, and
// whether an input is ≥ n, may leak; so do the
// outcomes of the key-generation checks for rejected candidates, and v2(w − 1), the Miller–Rabin
// loop count of a candidate w (about 2 bits of p − 1 on average). Values of p, q, d, dp, dq, qinv,
// the blinding values and the message do not. Every secret scratch region is wiped before return.
import { mask32, nonzero32, wipe } from './_ct';
import { IN, OUT } from './_io';
import {
  CTX_SIZE, MAXL, MAXT, NB, SCRATCH_END, bnAdd, bnBitsPublic, bnCmov, bnDivMod, bnEq, bnFromBytes, bnGcdOdd, bnIsZero, bnLimbs, bnLt,
  bnMul, bnShl1, bnShr1, bnSub, bnSubWord, bnToBytes, bnWipeScratch, ctxLimbs, ctxMod, ctxOne, montClearOperand, montFromValue, montHolds, montInit,
  montMul, montPow, montPow2, montPowPublic, montSub, montToValue,
} from './bigint_m32';
import { montPow2D, montPowD, montPowDFaster } from './montpow_m29';

// I/O: big-endian byte strings in fixed slots of RSA_BUF; lengths travel as arguments.
export const RSA_SLOT: i32 = 576;
const S_N: i32 = 0;
const S_E: i32 = 1;
const S_D: i32 = 2;
const S_P: i32 = 3;
const S_Q: i32 = 4;
const S_DP: i32 = 5;
const S_DQ: i32 = 6;
const S_QI: i32 = 7;
const S_X: i32 = 8;
const S_R: i32 = 9;
const S_K: i32 = 10;
const S_RAND: i32 = 11;
// Miller–Rabin bases: up to 8 rounds of up to 256-byte candidates (slots 11 to 14).
const RAND_LEN: i32 = 8 * 256;
// The blinding pair A = r^e mod n and AI = r⁻¹ mod n, after the random bytes.
const S_BA: i32 = 15;
const S_BAI: i32 = 16;
export const RSA_BUF_LEN: i32 = (S_BAI + 1) * RSA_SLOT;
// The shared IN region (assembly/_io.ts) carries them: TS fills it just before each call.
export const RSA_BUF: usize = IN;

const MAX_BYTES: i32 = 4 * MAXL;

const CX_N: usize = memory.data(<i32>CTX_SIZE, 16);
const CX_P: usize = memory.data(<i32>CTX_SIZE, 16);
const CX_Q: usize = memory.data(<i32>CTX_SIZE, 16);

// Working numbers, each with room for a double-length product, in the second half of OUT (the first
// half is bigint_m32's scratch).
const W2: i32 = 2 * <i32>NB;
const WORK: usize = OUT + SCRATCH_END;
const NN: usize = WORK;
const EE: usize = NN + <usize>W2;
const PP: usize = EE + <usize>W2;
const QQ: usize = PP + <usize>W2;
const XX: usize = QQ + <usize>W2;
const T1: usize = XX + <usize>W2;
const T2: usize = T1 + <usize>W2;
const T3: usize = T2 + <usize>W2;
const T4: usize = T3 + <usize>W2;
const T5: usize = T4 + <usize>W2;
const T6: usize = T5 + <usize>W2;
const T7: usize = T6 + <usize>W2;
const T8: usize = T7 + <usize>W2;
const T9: usize = T8 + <usize>W2;
const ZERO: usize = T9 + <usize>W2;
// Private-operation values: blinded base, blinding r, the two CRT halves.
const BB: usize = ZERO + <usize>W2;
const RB: usize = BB + <usize>W2;
const M1: usize = RB + <usize>W2;
const M2: usize = M1 + <usize>W2;
const WORK_LEN: i32 = <i32>(M2 + <usize>W2 - WORK);

@inline function slot(i: i32): usize {
  return RSA_BUF + <usize>(i * RSA_SLOT);
}

@inline function okLen(len: i32): bool {
  return len >= 1 && len <= MAX_BYTES;
}

function wipeWork(): void {
  montClearOperand(CX_N);
  wipe(CX_P, <i32>CTX_SIZE);
  wipe(CX_Q, <i32>CTX_SIZE);
  wipe(WORK, WORK_LEN);
  bnWipeScratch();
}

// Zeroes RSA_BUF (inputs, outputs and random bytes); TS calls it once it has copied the results out.
export function rsaClear(): void {
  wipe(RSA_BUF, RSA_BUF_LEN);
}

// Reads n and e; returns n's limb count, 0 if n is not an odd modulus of 512..4096 bits. The context
// for n (public: n, R mod n, R² mod n) is kept between calls, so a key used again skips computing R².
function loadPublic(nLen: i32, eLen: i32): i32 {
  if (!okLen(nLen) || !okLen(eLen) || eLen > nLen) return 0;
  memory.fill(NN, 0, W2);
  bnFromBytes(NN, slot(S_N), nLen, MAXL);
  const nbits = bnBitsPublic(NN, MAXL);
  if (nbits < 512 || (load<u32>(NN) & 1) == 0) return 0;
  const nl = bnLimbs(nbits);
  if (!montHolds(CX_N, NN, nl)) montInit(CX_N, NN, nl, nbits);
  bnFromBytes(EE, slot(S_E), eLen, MAXL);
  return nl;
}

// RSAEP / RSAVP1 (RFC 8017 §5.1.1, §5.2.2): X slot = x^e mod n, nLen bytes. Public inputs only:
// variable-time in e, and nothing secret to wipe. Returns 1, or 0 if x ≥ n or the key is malformed.
export function rsaPublic(nLen: i32, eLen: i32, xLen: i32): i32 {
  const nl = loadPublic(nLen, eLen);
  let ok: i32 = 0;
  if (nl != 0 && okLen(xLen) && xLen <= nLen) {
    bnFromBytes(XX, slot(S_X), xLen, nl);
    if (bnLt(XX, NN, nl) != 0) {
      montFromValue(CX_N, T1, XX, nl);
      montPowPublic(CX_N, T1, T1, EE, MAXL);
      montToValue(CX_N, T2, T1);
      bnToBytes(slot(S_X), T2, nLen);
      ok = 1;
    }
  }
  return ok;
}

// Secret-exponent powers: in radix 2^29 (montpow_m29.ts) where that is faster, else in
// bigint_m32's 32-bit limbs.
function pow(cx: usize, r: usize, a: usize, e: usize, el: i32): void {
  if (montPowDFaster(cx)) montPowD(cx, r, a, e, el);
  else montPow(cx, r, a, e, el);
}

function pow2(cx: usize, r: usize, a1: usize, e1: usize, a2: usize, e2: usize, el: i32): void {
  if (montPowDFaster(cx)) montPow2D(cx, r, a1, e1, a2, e2, el);
  else montPow2(cx, r, a1, e1, a2, e2, el);
}

// The blinded exponent of one CRT half, into T6 (el = pl + 1 limbs): dp + k·(p − 1), for the dp
// bytes of dSlot and the 4-byte exponent blind at kOff of the K slot: a 32-bit k (mbedTLS uses 28
// bits) adds 32 squarings to the 1024 of an RSA-2048 half, where 64 bits added 64. Uses T4, T5, T7.
function blindExponent(cx: usize, dSlot: i32, dLen: i32, kOff: usize): void {
  const pl = ctxLimbs(cx);
  memory.fill(T4, 0, W2);
  bnFromBytes(T4, slot(S_K) + kOff, 4, 1);
  memory.fill(T5, 0, W2);
  bnSubWord(T5, ctxMod(cx), 1, pl);
  bnMul(T6, T5, pl, T4, 1);
  memory.fill(T7, 0, W2);
  bnFromBytes(T7, slot(dSlot), dLen, pl);
  bnAdd(T6, T6, T7, pl + 1);
}

// One CRT half with r⁻¹ folded in: out = m mod p (plain, pl limbs, zero above) from the blinded base
// b and the plain r (bl limbs each): b^(dp') · r^(p−2).
function crtHalfFolded(cx: usize, out: usize, b: usize, r: usize, bl: i32, dSlot: i32, dLen: i32, kOff: usize): void {
  const pl = ctxLimbs(cx);
  blindExponent(cx, dSlot, dLen, kOff);
  memory.fill(T7, 0, W2);
  bnSubWord(T7, ctxMod(cx), 2, pl);
  montFromValue(cx, T8, b, bl);
  montFromValue(cx, T9, r, bl);
  pow2(cx, T8, T8, T6, T9, T7, pl + 1);
  memory.fill(out, 0, W2);
  montToValue(cx, out, T8);
}

// One CRT half: out = b^(dp') mod p (plain, pl limbs, zero above) for the blinded base b (bl limbs).
function crtHalf(cx: usize, out: usize, b: usize, bl: i32, dSlot: i32, dLen: i32, kOff: usize): void {
  const pl = ctxLimbs(cx);
  blindExponent(cx, dSlot, dLen, kOff);
  montFromValue(cx, T8, b, bl);
  pow(cx, T8, T8, T6, pl + 1);
  memory.fill(out, 0, W2);
  montToValue(cx, out, T8);
}

// Reads and checks the private-key slots and x (as rsaPrivate documents) and sets up the contexts of
// n, p and q. Returns n's limb count; 0 if x ≥ n or the key is malformed, −1 if p or q is even or
// below 2, −2 if a prime exceeds 32·MAXT bits (the work area is then wiped).
function loadPrivate(nLen: i32, eLen: i32, pLen: i32, qLen: i32, dpLen: i32, dqLen: i32, qiLen: i32, xLen: i32): i32 {
  const nl = loadPublic(nLen, eLen);
  if (nl == 0 || !okLen(xLen) || xLen > nLen || !okLen(pLen) || !okLen(qLen) || pLen + qLen > nLen + 1
    || !okLen(dpLen) || dpLen > pLen || !okLen(dqLen) || dqLen > qLen || !okLen(qiLen) || qiLen > pLen) {
    wipeWork();
    return 0;
  }
  bnFromBytes(XX, slot(S_X), xLen, nl);
  if (bnLt(XX, NN, nl) == 0) {
    wipeWork();
    return 0;
  }
  bnFromBytes(PP, slot(S_P), pLen, MAXL);
  bnFromBytes(QQ, slot(S_Q), qLen, MAXL);
  const pbits = bnBitsPublic(PP, MAXL);
  const qbits = bnBitsPublic(QQ, MAXL);
  if (pbits < 2 || qbits < 2 || (load<u32>(PP) & load<u32>(QQ) & 1) == 0) {
    wipeWork();
    return -1;
  }
  const pl = bnLimbs(pbits);
  const ql = bnLimbs(qbits);
  if (pl > MAXT || ql > MAXT) {
    wipeWork();
    return -2;
  }
  montInit(CX_P, PP, pl, pbits);
  montInit(CX_Q, QQ, ql, qbits);
  return nl;
}

// Garner: T6 = m2 + q·(qinv·(m1 − m2) mod p) from M1 (mod p) and M2 (mod q); returns its limb
// count, max(pl + ql, nl). Uses T4, T7, T8, T9.
function garner(nl: i32, qiLen: i32): i32 {
  const pl = ctxLimbs(CX_P);
  const ql = ctxLimbs(CX_Q);
  montFromValue(CX_P, T7, M2, ql);
  montFromValue(CX_P, T8, M1, pl);
  montSub(CX_P, T8, T8, T7);
  memory.fill(T9, 0, W2);
  bnFromBytes(T9, slot(S_QI), qiLen, pl);
  montMul(CX_P, T4, T8, T9);
  memory.fill(T6, 0, W2);
  bnMul(T6, T4, pl, QQ, ql);
  const ml = pl + ql > nl ? pl + ql : nl;
  bnAdd(T6, T6, M2, ml);
  return ml;
}

// The fault check (RFC 8017 §5.1.2 note; Boneh–DeMillo–Lipton) of m = T6 (ml limbs): m < n and
// m^e ≡ x (mod n). Releases m into the X slot and returns 1, or wipes the slot and returns −1.
function checkAndRelease(nLen: i32, nl: i32, ml: i32): i32 {
  let good = bnLt(T6, NN, nl) & bnIsZero(T6 + (<usize>nl << 2), ml - nl);
  montFromValue(CX_N, T7, T6, nl);
  montPowPublic(CX_N, T7, T7, EE, MAXL);
  montToValue(CX_N, T8, T7);
  good &= bnEq(T8, XX, nl);
  if (good != 0) bnToBytes(slot(S_X), T6, nLen);
  else wipe(slot(S_X), RSA_SLOT);
  wipeWork();
  return good != 0 ? 1 : -1;
}

// RSADP / RSASP1 with CRT (RFC 8017 §5.1.2): X slot = x^d mod n, nLen bytes. Inputs: n, e, p, q, dp,
// dq, qinv and x in their slots, r (rLen random bytes, reduced mod n) in R, two 4-byte exponent
// blinds in K. Returns 1; 0 if x ≥ n or the key is malformed; −1 if the result failed the
// public-exponent check (the X slot is then wiped); −2 if a prime exceeds 32·MAXT bits.
export function rsaPrivate(
  nLen: i32, eLen: i32, pLen: i32, qLen: i32, dpLen: i32, dqLen: i32, qiLen: i32, xLen: i32, rLen: i32,
): i32 {
  if (rLen < 1 || rLen > RSA_SLOT) return 0;
  const nl = loadPrivate(nLen, eLen, pLen, qLen, dpLen, dqLen, qiLen, xLen);
  if (nl <= 0) return nl;
  // Blinding (mod n): RB = r (plain), BB = b = c·r^e mod n (plain).
  const rl = (rLen + 3) >> 2;
  bnFromBytes(T1, slot(S_R), rLen, rl);
  montFromValue(CX_N, T2, T1, rl);
  montPowPublic(CX_N, T3, T2, EE, MAXL);
  montFromValue(CX_N, T4, XX, nl);
  montMul(CX_N, T3, T3, T4);
  montToValue(CX_N, RB, T2);
  montToValue(CX_N, BB, T3);
  crtHalfFolded(CX_P, M1, BB, RB, nl, S_DP, dpLen, 0);
  crtHalfFolded(CX_Q, M2, BB, RB, nl, S_DQ, dqLen, 4);
  const ml = garner(nl, qiLen);
  return checkAndRelease(nLen, nl, ml);
}

// RSADP / RSASP1 as rsaPrivate, blinded by the pair A = r^e mod n, AI = r⁻¹ mod n (BA and BAI slots,
// nLen bytes each, from rsaBlinding or from the previous call) instead of a fresh r. The pair is
// squared first and written back, so no two calls use the same r. Same returns as rsaPrivate; 0
// also if A or AI is not below n.
export function rsaPrivateBlinded(
  nLen: i32, eLen: i32, pLen: i32, qLen: i32, dpLen: i32, dqLen: i32, qiLen: i32, xLen: i32,
): i32 {
  const nl = loadPrivate(nLen, eLen, pLen, qLen, dpLen, dqLen, qiLen, xLen);
  if (nl <= 0) return nl;
  bnFromBytes(T1, slot(S_BA), nLen, nl);
  bnFromBytes(T2, slot(S_BAI), nLen, nl);
  if ((bnLt(T1, NN, nl) & bnLt(T2, NN, nl)) == 0) {
    wipeWork();
    return 0;
  }
  // RB = A²·R, T3 = AI²·R (Montgomery form mod n); the squared pair goes back to its slots.
  montFromValue(CX_N, RB, T1, nl);
  montMul(CX_N, RB, RB, RB);
  montFromValue(CX_N, T3, T2, nl);
  montMul(CX_N, T3, T3, T3);
  montToValue(CX_N, T1, RB);
  bnToBytes(slot(S_BA), T1, nLen);
  montToValue(CX_N, T1, T3);
  bnToBytes(slot(S_BAI), T1, nLen);
  // BB = b = x·A mod n (plain).
  montFromValue(CX_N, T2, XX, nl);
  montMul(CX_N, T2, T2, RB);
  montToValue(CX_N, BB, T2);
  crtHalf(CX_P, M1, BB, nl, S_DP, dpLen, 0);
  crtHalf(CX_Q, M2, BB, nl, S_DQ, dqLen, 4);
  // T6 = m·r mod n (below n when the key is consistent; the check below catches it otherwise),
  // then m = (m·r)·AI.
  const ml = garner(nl, qiLen);
  montFromValue(CX_N, T2, T6, ml);
  montMul(CX_N, T2, T2, T3);
  memory.fill(T6, 0, W2);
  montToValue(CX_N, T6, T2);
  return checkAndRelease(nLen, nl, nl);
}

// A blinding pair for rsaPrivateBlinded from r (rLen random bytes in the R slot, reduced mod n):
// BA = r^e mod n, BAI = r⁻¹ mod n (nLen bytes each), with r⁻¹ from the CRT halves r^(p−2) mod p and
// r^(q−2) mod q, and checked: BA·BAI^e ≡ 1 (mod n), so a pair that is kept is right whatever the
// key's other components. Same slots and returns as rsaPrivate, without x; −1 if the check fails.
export function rsaBlinding(nLen: i32, eLen: i32, pLen: i32, qLen: i32, dpLen: i32, dqLen: i32, qiLen: i32, rLen: i32): i32 {
  if (rLen < 1 || rLen > RSA_SLOT) return 0;
  // x = 0 passes loadPrivate's x < n check; it is not used.
  wipe(slot(S_X), RSA_SLOT);
  const nl = loadPrivate(nLen, eLen, pLen, qLen, dpLen, dqLen, qiLen, 1);
  if (nl <= 0) return nl;
  const rl = (rLen + 3) >> 2;
  bnFromBytes(RB, slot(S_R), rLen, rl);
  // T3 = A·R (Montgomery form mod n).
  montFromValue(CX_N, T2, RB, rl);
  montPowPublic(CX_N, T3, T2, EE, MAXL);
  // M1 = r^(p−2) mod p, M2 = r^(q−2) mod q (plain), Garner → T6 = r⁻¹ mod n.
  for (let h = 0; h < 2; h++) {
    const cx = h == 0 ? CX_P : CX_Q;
    const out = h == 0 ? M1 : M2;
    const hl = ctxLimbs(cx);
    memory.fill(T7, 0, W2);
    bnSubWord(T7, ctxMod(cx), 2, hl);
    montFromValue(cx, T8, RB, rl);
    pow(cx, T8, T8, T7, hl);
    memory.fill(out, 0, W2);
    montToValue(cx, out, T8);
  }
  const ml = garner(nl, qiLen);
  let good = bnLt(T6, NN, nl) & bnIsZero(T6 + (<usize>nl << 2), ml - nl);
  // A·AI^e ≡ 1 (mod n): T1 = AI·R, T1^e·A·R⁻¹ → plain, compared with 1.
  montFromValue(CX_N, T1, T6, nl);
  montPowPublic(CX_N, T2, T1, EE, MAXL);
  montMul(CX_N, T2, T2, T3);
  montToValue(CX_N, T4, T2);
  memory.fill(T5, 0, W2);
  store<u32>(T5, 1);
  good &= bnEq(T4, T5, nl);
  if (good != 0) {
    montToValue(CX_N, T4, T3);
    bnToBytes(slot(S_BA), T4, nLen);
    bnToBytes(slot(S_BAI), T6, nLen);
  }
  wipeWork();
  return good != 0 ? 1 : -1;
}

// ---- Key generation (FIPS 186-5 A.1.3) ----

// Odd primes below 2048 and their Barrett constants floor(2^32 / s), built on first use.
const SMALL_MAX: i32 = 2048;
const SIEVE: usize = memory.data(SMALL_MAX);
const SMALL_CAP: i32 = 320;
const SMALL: usize = memory.data(4 * SMALL_CAP, 16);
const SMALL_MU: usize = memory.data(8 * SMALL_CAP, 16);
let smallCount: i32 = 0;

function smallPrimes(): void {
  if (smallCount != 0) return;
  for (let i = 3; i < SMALL_MAX; i += 2) {
    if (load<u8>(SIEVE + <usize>i) != 0) continue;
    store<u32>(SMALL + (<usize>smallCount << 2), <u32>i);
    store<u64>(SMALL_MU + (<usize>smallCount << 3), (<u64>1 << 32) / <u64>i);
    smallCount++;
    for (let j = i * i; j < SMALL_MAX; j += 2 * i) store<u8>(SIEVE + <usize>j, 1);
  }
}

// a mod s for an n-limb a and s < 2^24, mu = floor(2^32 / s): Barrett steps over 8-bit chunks,
// each remainder corrected by one masked subtraction (multiplications only, no division).
function remSmall(a: usize, n: i32, s: u32, mu: u64): u32 {
  let r: u32 = 0;
  for (let i = 4 * n - 1; i >= 0; i--) {
    const v: u32 = (r << 8) | <u32>load<u8>(a + <usize>i);
    const q = <u32>((<u64>v * mu) >> 32);
    r = v - q * s;
    r -= s & mask32(((r - s) >> 31) ^ 1);
  }
  return r;
}

// (x·y) mod s for x, y < s < 2^17 (same Barrett correction).
@inline function mulModSmall(x: u32, y: u32, s: u32, mu: u64): u32 {
  const v: u64 = <u64>x * <u64>y;
  const q: u64 = (v * mu) >> 32;
  let r = <u32>(v - q * <u64>s);
  r -= s & mask32(((r - s) >> 31) ^ 1);
  return r;
}

// Probable-prime test of the candidate w (P slot, pLen bytes, top bit set): trial division, then
// gcd(e, w − 1) = 1 for the prime e, then `rounds` Miller–Rabin rounds (FIPS 186-5 B.3.1) with bases
// from the random slot (pLen bytes each, reduced to [2, 2^(bits−1))). Returns 1 if w passes.
export function rsaPrimeTest(pLen: i32, rounds: i32, e: u32): i32 {
  if (pLen < 32 || pLen > 256 || rounds < 1 || rounds * pLen > RAND_LEN || e < 3 || e >= (1 << 17)) return 0;
  smallPrimes();
  const bits = 8 * pLen;
  const pl = bnLimbs(bits);
  bnFromBytes(PP, slot(S_P), pLen, pl);
  if ((load<u32>(PP) & 1) == 0 || bnBitsPublic(PP, pl) != bits) {
    wipeWork();
    return 0;
  }
  let ok: i32 = 1;
  for (let i = 0; i < smallCount && ok != 0; i++) {
    const s = load<u32>(SMALL + (<usize>i << 2));
    if (remSmall(PP, pl, s, load<u64>(SMALL_MU + (<usize>i << 3))) == 0) ok = 0;
  }
  if (ok != 0 && remSmall(PP, pl, e, (<u64>1 << 32) / <u64>e) == 1) ok = 0;
  if (ok != 0) ok = millerRabin(pl, bits, rounds, pLen);
  wipeWork();
  return ok;
}

function millerRabin(pl: i32, bits: i32, rounds: i32, pLen: i32): i32 {
  montInit(CX_P, PP, pl, bits);
  // w − 1 = 2^a·m (a is the one value here allowed to leak).
  bnSubWord(T1, PP, 1, pl);
  let a = 0;
  while (((load<u32>(T1 + (<usize>(a >> 5) << 2)) >> (<u32>(a & 31))) & 1) == 0) a++;
  for (let i = 0; i < a; i++) bnShr1(T1, pl, 0, 1);
  // T2 = (w − 1)·R = −R mod w.
  memory.fill(ZERO, 0, W2);
  montSub(CX_P, T2, ZERO, ctxOne(CX_P));
  const top = bits - 1;
  for (let k = 0; k < rounds; k++) {
    bnFromBytes(T3, RSA_BUF + <usize>(S_RAND * RSA_SLOT + k * pLen), pLen, pl);
    // Keep bits below bits − 1, then lift 0 and 1 to 2 and 3: the base is in [2, w − 2].
    const tw = T3 + (<usize>(top >> 5) << 2);
    store<u32>(tw, load<u32>(tw) & ((<u32>1 << (<u32>(top & 31))) - 1));
    for (let i = (top >> 5) + 1; i < pl; i++) store<u32>(T3 + (<usize>i << 2), 0);
    const small = bnIsZero(T3 + 4, pl - 1) & (nonzero32(load<u32>(T3) >> 1) ^ 1);
    store<u32>(T3, load<u32>(T3) | (small << 1));
    montFromValue(CX_P, T4, T3, pl);
    pow(CX_P, T5, T4, T1, pl);
    let pass = bnEq(T5, ctxOne(CX_P), pl) | bnEq(T5, T2, pl);
    for (let j = 1; j < a; j++) {
      montMul(CX_P, T5, T5, T5);
      pass |= bnEq(T5, T2, pl);
    }
    if (pass == 0) return 0;
  }
  return 1;
}

// 1 if a (n limbs) has a set bit at position ≥ t.
function bitsFrom(a: usize, n: i32, t: i32): u32 {
  let acc: u32 = 0;
  for (let i = 0; i < n; i++) {
    const lowBit = 32 * i;
    let m: u32 = 0xFFFFFFFF;
    if (lowBit + 32 <= t) m = 0;
    else if (lowBit < t) m = 0xFFFFFFFF << (<u32>(t - lowBit));
    acc |= load<u32>(a + (<usize>i << 2)) & m;
  }
  return nonzero32(acc);
}

// From the primes p, q (P, Q slots, pLen bytes each, top two bits set) and the prime e: checks
// |p − q| > 2^(bits/2 − 100) (FIPS 186-5 A.1.3 step 5.4) and writes n (N slot, 2·pLen bytes),
// d = e⁻¹ mod λ(n) (D slot, 2·pLen bytes; A.1.1), dp, dq (pLen bytes) and qinv (pLen bytes).
// Returns 1; 2 if |p − q| is too small (draw another q); 3 if d ≤ 2^(bits/2) (draw both again);
// 0 on malformed input.
export function rsaKeygenFinish(pLen: i32, e: u32): i32 {
  if (pLen < 32 || pLen > 256 || e < 3 || e >= (1 << 17) || (e & 1) == 0) return 0;
  const hb = 8 * pLen;
  const pl = bnLimbs(hb);
  bnFromBytes(PP, slot(S_P), pLen, pl);
  bnFromBytes(QQ, slot(S_Q), pLen, pl);
  // |p − q|
  const br = bnSub(T1, PP, QQ, pl);
  bnSub(T2, QQ, PP, pl);
  bnCmov(T1, T2, br, pl);
  if (bitsFrom(T1, pl, hb - 99) == 0) {
    wipeWork();
    return 2;
  }
  // T1 = p − 1, T2 = q − 1, T3 = (p − 1)(q − 1).
  bnSubWord(T1, PP, 1, pl);
  bnSubWord(T2, QQ, 1, pl);
  bnMul(T3, T1, pl, T2, pl);
  // gcd(p − 1, q − 1) = 2^c·g': strip the common factors of two, odd-gcd, shift back (masked steps).
  memory.copy(T4, T1, <usize>pl << 2);
  memory.copy(T5, T2, <usize>pl << 2);
  let c: u32 = 0;
  let still: u32 = 1;
  for (let i = 0; i < hb; i++) {
    still &= ((load<u32>(T4) | load<u32>(T5)) & 1) ^ 1;
    bnShr1(T4, pl, 0, still);
    bnShr1(T5, pl, 0, still);
    c += still;
  }
  bnGcdOdd(T6, T4, T5, pl, hb);
  for (let i: u32 = 0; i < <u32>hb; i++) bnShl1(T6, pl, (i - c) >> 31);
  // λ = (p − 1)(q − 1) / gcd → T4 (2·pl limbs).
  bnDivMod(T4, T5, T3, 2 * pl, T6, pl);
  // k = −λ⁻¹ mod e (λ⁻¹ = λ^(e−2) mod e, e prime), d = (1 + k·λ)/e.
  const mu: u64 = (<u64>1 << 32) / <u64>e;
  const lm = remSmall(T4, 2 * pl, e, mu);
  let inv: u32 = 1;
  const ex = e - 2;
  for (let i = 31; i >= 0; i--) {
    inv = mulModSmall(inv, inv, e, mu);
    if (((ex >> (<u32>i)) & 1) != 0) inv = mulModSmall(inv, lm, e, mu);
  }
  const k: u32 = e - inv;
  memory.fill(T7, 0, W2);
  store<u32>(T7, k);
  bnMul(T5, T4, 2 * pl, T7, 1);
  memory.fill(T7, 0, W2);
  store<u32>(T7, 1);
  bnAdd(T5, T5, T7, 2 * pl + 1);
  store<u32>(T7, e);
  bnDivMod(T8, T9, T5, 2 * pl + 1, T7, 1);
  // T8 = d; gcd(e, λ) = 1 made lm nonzero, so the division is exact.
  const dOk = bitsFrom(T8, 2 * pl + 1, hb + 1) & nonzero32(lm);
  if (dOk == 0) {
    wipeWork();
    return 3;
  }
  // n, d, dp = d mod (p − 1), dq = d mod (q − 1), qinv = q^(p−2) mod p.
  bnMul(NN, PP, pl, QQ, pl);
  bnToBytes(slot(S_N), NN, 2 * pLen);
  bnToBytes(slot(S_D), T8, 2 * pLen);
  bnDivMod(0, T9, T8, 2 * pl, T1, pl);
  bnToBytes(slot(S_DP), T9, pLen);
  bnDivMod(0, T9, T8, 2 * pl, T2, pl);
  bnToBytes(slot(S_DQ), T9, pLen);
  montInit(CX_P, PP, pl, hb);
  montFromValue(CX_P, T9, QQ, pl);
  memory.fill(T7, 0, W2);
  bnSubWord(T7, PP, 2, pl);
  pow(CX_P, T9, T9, T7, pl);
  montToValue(CX_P, T6, T9);
  bnToBytes(slot(S_QI), T6, pLen);
  wipeWork();
  return 1;
}

// Consistency of a private key (the slots of rsaPrivate plus d): n = p·q, p and q odd, e odd,
// e·d ≡ 1 mod (p − 1) and mod (q − 1) (so mod λ), dp = d mod (p − 1), dq = d mod (q − 1),
// qinv·q ≡ 1 mod p with qinv < p. Returns 1 if all hold. Secret values are compared without branches.
export function rsaCheck(
  nLen: i32, eLen: i32, dLen: i32, pLen: i32, qLen: i32, dpLen: i32, dqLen: i32, qiLen: i32,
): i32 {
  const nl = loadPublic(nLen, eLen);
  if (nl == 0 || !okLen(dLen) || dLen > nLen || !okLen(pLen) || !okLen(qLen) || pLen + qLen > nLen + 1
    || !okLen(dpLen) || dpLen > pLen || !okLen(dqLen) || dqLen > qLen || !okLen(qiLen) || qiLen > pLen
    || (load<u32>(EE) & 1) == 0 || bnBitsPublic(EE, MAXL) < 2) {
    wipeWork();
    return 0;
  }
  const el = (eLen + 3) >> 2;
  const pl = (pLen + 3) >> 2;
  const ql = (qLen + 3) >> 2;
  const dl = (dLen + 3) >> 2;
  bnFromBytes(PP, slot(S_P), pLen, pl);
  bnFromBytes(QQ, slot(S_Q), qLen, ql);
  let good: u32 = load<u32>(PP) & load<u32>(QQ) & 1;
  good &= (bnIsZero(PP + 4, pl - 1) & (nonzero32(load<u32>(PP) >> 1) ^ 1)) ^ 1;
  good &= (bnIsZero(QQ + 4, ql - 1) & (nonzero32(load<u32>(QQ) >> 1) ^ 1)) ^ 1;
  // n = p·q
  const ml = pl + ql > nl ? pl + ql : nl;
  memory.fill(T1, 0, W2);
  bnMul(T1, PP, pl, QQ, ql);
  good &= bnEq(T1, NN, ml);
  // e·d − 1 ≡ 0 and d mod (p−1), d mod (q−1) against dp, dq.
  bnFromBytes(T2, slot(S_D), dLen, dl);
  good &= bnIsZero(T2, dl) ^ 1;
  memory.fill(T3, 0, W2);
  bnMul(T3, EE, el, T2, dl);
  bnSubWord(T3, T3, 1, el + dl);
  for (let h = 0; h < 2; h++) {
    const pr = h == 0 ? PP : QQ;
    const hl = h == 0 ? pl : ql;
    memory.fill(T4, 0, W2);
    bnSubWord(T4, pr, 1, hl);
    bnDivMod(0, T5, T3, el + dl, T4, hl);
    good &= bnIsZero(T5, hl);
    bnDivMod(0, T5, T2, dl, T4, hl);
    memory.fill(T6, 0, W2);
    bnFromBytes(T6, slot(h == 0 ? S_DP : S_DQ), h == 0 ? dpLen : dqLen, hl);
    good &= bnEq(T5, T6, hl);
  }
  // qinv < p and qinv·q mod p = 1.
  memory.fill(T6, 0, W2);
  bnFromBytes(T6, slot(S_QI), qiLen, pl);
  good &= bnLt(T6, PP, pl);
  bnMul(T7, T6, pl, QQ, ql);
  bnDivMod(0, T5, T7, pl + ql, PP, pl);
  memory.fill(T8, 0, W2);
  store<u32>(T8, 1);
  good &= bnEq(T5, T8, pl);
  wipeWork();
  return good != 0 ? 1 : 0;
}
