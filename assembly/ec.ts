// Elliptic-curve group arithmetic for P-256, P-384, P-521 (a = −3) and secp256k1 (a = 0), short
// Weierstrass y² = x³ + ax + b over GF(p) (SEC 1 v2 §2.2.1), generic over the curve: a curve is data
// (_ec_params.ts) and the field is _field.ts (elements in its "Montgomery form" throughout, which is
// the plain value for the four primes: they are reduced by folding).
//
// Points are homogeneous projective (X:Y:Z), the neutral element is (0:1:0). Addition and doubling use
// the complete formulas of Renes–Costello–Batina 2015 ("Complete addition formulas for prime order
// elliptic curves", ePrint 2015/1060): Algorithms 4/5/6 for a = −3 and 7/8/9 for a = 0. They hold for
// every pair of inputs, the neutral element included, so no input takes an exceptional branch.
//
// Scalar multiplication:
// - mulCt: variable base (ECDH), fixed 4-bit windows, table of 0..15·Q read by a masked scan of all
//   16 entries; 4 doublings and 1 addition per window whatever the digits.
// - mulGen: fixed base (signing, key generation), signed w-bit digits (Booth recoding,
//   −(2^(w−1) − 1)..2^(w−1)) on a Lim–Lee comb of t teeth: w = 7 and t = 1 for the 256-bit curves
//   (a plain fixed-base table, 37 mixed additions and no doubling), w = 4 and t = 4 for P-384 and
//   P-521. Row i of the table holds j·2^(wti)·G (j = 1..2^(w−1), affine), built once per curve at
//   first use into a static region (148 KiB for a 256-bit curve, 19 and 37 KiB for P-384 and P-521).
//   One mixed addition per digit plus w(t − 1) doublings; each row is read by a masked v128 scan, the
//   sign applied by a masked negation, a zero digit discarded by a masked move. With one tooth the
//   additions are Jacobian (madd-2007-bl, 7M + 4S instead of RCB's 11M + 2 products by b), which is
//   safe because no exceptional case can arise for k in [1, n − 1] (proof at mulGenJacobian) and the
//   neutral start is handled by a masked move.
// - mulDoubleVartime: u1·G + u2·Q for verification, on public inputs only: Jacobian coordinates with
//   the fast incomplete formulas, branches on digits and exceptional cases, width-5 NAF for Q, direct
//   comb-table indexes for G. Secret paths never call it.
//
// CT: for mulCt and mulGen only the curve (hence lengths and loop counts) decides control flow and
// addresses; what leaks is the curve and the validity bits the exports return. Callers on secret
// paths end with ecWipe(), which zeroes every temporary here and in _field.ts.
import { eq32, mask32, mux32, nonzero32, wipe } from './_ct';
import {
  FE, MAX_LIMBS, MD_M, MD_ONE, MD_SIZE, fadd, ffromMont, finv, fieldWipe, fmul, fpow, fsqr, fsub, ftoMont, limbsCmov,
  limbsEq, limbsFromBytes, limbsLt, limbsNonzero, limbsToBytes, mdInit,
} from './_field';
import { K1_PARAMS, P256_PARAMS, P384_PARAMS, P521_PARAMS } from './_ec_params';
import { mul21K1P } from './_field_fixed';

// I/O region for the exports of ec.ts, ecdsa.ts and ecdh.ts: JS writes inputs and reads outputs
// here and passes absolute addresses inside it.
export const EC_BUF_LEN: i32 = 1024;
export const EC_BUF: usize = memory.data(EC_BUF_LEN, 16);

const PT: usize = 3 * FE;

// Per-curve constants, derived at first use: field and order descriptors, b (Montgomery form),
// G (affine, Montgomery form), the square-root exponent (p + 1)/4.
const C_FP: usize = 0;
const C_FN: usize = C_FP + MD_SIZE;
const C_B: usize = C_FN + MD_SIZE;
const C_GX: usize = C_B + FE;
const C_GY: usize = C_GX + FE;
const C_SQ: usize = C_GY + FE;
const C_STRIDE: usize = C_SQ + FE;
const CURVES: usize = memory.data(4 * <i32>C_STRIDE, 16);
const READY: usize = memory.data(8);

// Fixed-base tables: rows · 2^(w−1) entries · (x, y) of N limbs padded to a multiple of 16 bytes,
// rows = ceil(windows / teeth) for w-bit windows. The 256-bit curves, the busiest, get 7-bit windows
// and one tooth (37 rows of 64 entries, 148 KiB each): 37 mixed additions and no doubling per
// multiplication. P-384 and P-521 get 4-bit windows and 4 teeth, which keeps their tables small.
const TAB_P256: usize = memory.data(37 * 64 * 64, 16);
const TAB_P384: usize = memory.data(25 * 8 * 96, 16);
const TAB_P521: usize = memory.data(33 * 8 * 144, 16);
const TAB_K1: usize = memory.data(37 * 64 * 64, 16);
// Projective multiples and prefix products while a table row is built (public values).
const MAX_ENT: i32 = 64;
const BUILD: usize = memory.data(MAX_ENT * <i32>(PT + FE), 16);

// The selected curve.
export let cN: i32 = 0; // limbs
export let cL: i32 = 0; // bytes of p and n
let cBits: i32 = 0; // bit length of n
let cA0: bool = false; // a = 0
export let cFP: usize = 0;
export let cFN: usize = 0;
let cB: usize = 0;
let cGX: usize = 0;
let cGY: usize = 0;
let cSQ: usize = 0;
let cTab: usize = 0;
let cWB: i32 = 0; // fixed-base window bits w
let cEnt: i32 = 0; // entries per table row: 2^(w−1)
let cWin: i32 = 0; // fixed-base windows: floor(bits / w) + 1, room for the recoding carry
let cComb: i32 = 0; // comb teeth
let cRows: i32 = 0; // fixed-base table rows
let cES: usize = 0; // bytes per fixed-base entry
let cId: i32 = 0;

// Work region: every temporary of the point and scalar code, wiped as one block.
const TMP_FE: usize = 12;
const WORK_FE: usize = TMP_FE + 3 + 3 + 2 + 48 + 16 + 4 + 2;
const WORK: usize = memory.data(<i32>(WORK_FE * FE), 16);
@inline function tmp(i: usize): usize { return WORK + i * FE; }
const PACC: usize = WORK + TMP_FE * FE; // accumulator point
const PSEL: usize = PACC + PT; // selected / sum point
const SELX: usize = PSEL + PT;
const SELY: usize = SELX + FE;
const VTAB: usize = SELY + FE; // 16 projective points
// Scalar and coordinate slots for ecdsa.ts / ecdh.ts.
export const S0: usize = VTAB + 16 * PT;
export const S1: usize = S0 + FE;
export const S2: usize = S1 + FE;
export const S3: usize = S2 + FE;
export const S4: usize = S3 + FE;
export const S5: usize = S4 + FE;
export const S6: usize = S5 + FE;
export const S7: usize = S6 + FE;
export const PRES: usize = S7 + FE; // a result point (3 FE)
const DIGITS: usize = PRES + PT; // signed digits of mulGen, one byte each (4 FE ≥ 132 bytes)
const SELB: usize = DIGITS + 4 * FE; // a fixed-base entry selected by mulGen (2 FE ≥ 144 bytes)
const ZERO: usize = memory.data(<i32>FE, 16);
const MAX_NAF: i32 = 32 * MAX_LIMBS + 1;

export function ecWipe(): void {
  wipe(WORK, <i32>(WORK_FE * FE));
  fieldWipe();
}

// ---- curve selection -----------------------------------------------------------------------------

function initCurve(id: i32, base: usize, params: usize, len: i32): void {
  const fp = base + C_FP;
  const fn = base + C_FN;
  mdInit(fp, params, len, 2 * id);
  mdInit(fn, params + <usize>len, len, 2 * id + 1);
  const n = (len + 3) >> 2;
  const t = tmp(0);
  memory.fill(t, 0, FE);
  limbsFromBytes(t, params + <usize>(2 * len), len, n);
  ftoMont(base + C_B, t, fp);
  limbsFromBytes(t, params + <usize>(3 * len), len, n);
  ftoMont(base + C_GX, t, fp);
  limbsFromBytes(t, params + <usize>(4 * len), len, n);
  ftoMont(base + C_GY, t, fp);
  // (p + 1) / 4: p ≡ 3 mod 4 for all four primes, so p + 1 = (p | 3) + 1 has no carry out of limb 0
  // beyond the ripple computed here.
  const sq = base + C_SQ;
  const m = fp + MD_M;
  let c: u64 = 1;
  for (let i = 0; i < n; i++) {
    const s: u64 = <u64>load<u32>(m + (<usize>i << 2)) + c;
    store<u32>(sq + (<usize>i << 2), <u32>s);
    c = s >> 32;
  }
  for (let i = 0; i < n; i++) {
    const lo = load<u32>(sq + (<usize>i << 2));
    const hi: u32 = i + 1 < n ? load<u32>(sq + (<usize>(i + 1) << 2)) : <u32>c;
    store<u32>(sq + (<usize>i << 2), (lo >> 2) | (hi << 30));
  }
  store<u8>(READY + <usize>id, 1);
}

// Selects curve id (0 P-256, 1 P-384, 2 P-521, 3 secp256k1); returns false for any other id.
export function useCurve(id: i32): bool {
  let params: usize, len: i32, bits: i32, tab: usize;
  if (id == 0) { params = P256_PARAMS; len = 32; bits = 256; tab = TAB_P256; }
  else if (id == 1) { params = P384_PARAMS; len = 48; bits = 384; tab = TAB_P384; }
  else if (id == 2) { params = P521_PARAMS; len = 66; bits = 521; tab = TAB_P521; }
  else if (id == 3) { params = K1_PARAMS; len = 32; bits = 256; tab = TAB_K1; }
  else return false;
  const base = CURVES + <usize>id * C_STRIDE;
  if (load<u8>(READY + <usize>id) == 0) initCurve(id, base, params, len);
  cId = id;
  cL = len;
  cN = (len + 3) >> 2;
  cBits = bits;
  cA0 = id == 3;
  cFP = base + C_FP;
  cFN = base + C_FN;
  cB = base + C_B;
  cGX = base + C_GX;
  cGY = base + C_GY;
  cSQ = base + C_SQ;
  cTab = tab;
  cWB = bits == 256 ? 7 : 4;
  cEnt = 1 << (cWB - 1);
  cWin = bits / cWB + 1;
  cComb = bits == 256 ? 1 : 4;
  cRows = (cWin + cComb - 1) / cComb;
  cES = <usize>((8 * cN + 15) & ~15);
  return true;
}

// ---- field shorthands on the selected curve ------------------------------------------------------

@inline function fm(r: usize, a: usize, b: usize): void { fmul(r, a, b, cFP); }
@inline function fa(r: usize, a: usize, b: usize): void { fadd(r, a, b, cFP); }
@inline function fs(r: usize, a: usize, b: usize): void { fsub(r, a, b, cFP); }

// ---- points --------------------------------------------------------------------------------------

export function pointSetInf(r: usize): void {
  memory.fill(r, 0, PT);
  memory.copy(r + FE, cFP + MD_ONE, FE);
}

// r = ctl ? a : r.
function pointCmov(r: usize, a: usize, ctl: u32): void {
  limbsCmov(r, a, ctl, cN);
  limbsCmov(r + FE, a + FE, ctl, cN);
  limbsCmov(r + 2 * FE, a + 2 * FE, ctl, cN);
}

// The common tail of RCB Algorithms 4 and 5 (a = −3), from the products xx = X1X2, yy = Y1Y2, zz = Z1Z2
// (Z1 for the mixed case) and the cross sums xy, yz, xz. Writes r last, so r may alias an input point.
function tailAm3(r: usize, xx: usize, yy: usize, zz: usize, xy: usize, yz: usize, xz: usize): void {
  const t6 = tmp(6), t7 = tmp(7), t8 = tmp(8), t9 = tmp(9), t10 = tmp(10), t11 = tmp(11);
  fm(t6, cB, zz);
  fs(t6, xz, t6); // xz − b·zz
  fa(t7, t6, t6);
  fa(t6, t7, t6); // ·3
  fs(t7, yy, t6); // yy − 3(xz − b·zz)
  fa(t8, yy, t6); // yy + 3(xz − b·zz)
  fa(t9, zz, zz);
  fa(t9, t9, zz); // 3zz
  fm(t6, cB, xz);
  fa(t10, t9, xx);
  fs(t6, t6, t10); // b·xz − 3zz − xx
  fa(t10, t6, t6);
  fa(t6, t10, t6); // ·3
  fa(t10, xx, xx);
  fa(t10, t10, xx);
  fs(t10, t10, t9); // 3xx − 3zz
  fm(t11, t8, xy);
  fm(t9, yz, t6);
  fs(r, t11, t9); // X3
  fm(t11, t8, t7);
  fm(t9, t10, t6);
  fa(r + FE, t11, t9); // Y3
  fm(t11, t7, yz);
  fm(t9, xy, t10);
  fa(r + 2 * FE, t11, t9); // Z3
}

// The common tail of RCB Algorithms 7 and 8 (a = 0). secp256k1 is the only a = 0 curve: 3b = 21.
function tailA0(r: usize, xx: usize, yy: usize, zz: usize, xy: usize, yz: usize, xz: usize): void {
  const t6 = tmp(6), t7 = tmp(7), t8 = tmp(8), t9 = tmp(9), t10 = tmp(10), t11 = tmp(11);
  fa(t6, xx, xx);
  fa(t6, t6, xx); // 3xx
  mul21K1P(t7, zz);
  fa(t8, yy, t7); // yy + 3b·zz
  fs(t9, yy, t7); // yy − 3b·zz
  mul21K1P(t10, xz); // 3b·xz
  fm(t11, xy, t9);
  fm(t7, yz, t10);
  fs(r, t11, t7); // X3
  fm(t11, t9, t8);
  fm(t7, t10, t6);
  fa(r + FE, t11, t7); // Y3
  fm(t11, t8, yz);
  fm(t7, t6, xy);
  fa(r + 2 * FE, t11, t7); // Z3
}

// r = p + q, RCB Algorithm 4 (a = −3) / 7 (a = 0). r may alias p or q.
export function pointAdd(r: usize, p: usize, q: usize): void {
  const t0 = tmp(0), t1 = tmp(1), t2 = tmp(2), t3 = tmp(3), t4 = tmp(4), t5 = tmp(5), t6 = tmp(6);
  const x1 = p, y1 = p + FE, z1 = p + 2 * FE, x2 = q, y2 = q + FE, z2 = q + 2 * FE;
  fm(t0, x1, x2);
  fm(t1, y1, y2);
  fm(t2, z1, z2);
  fa(t3, x1, y1);
  fa(t6, x2, y2);
  fm(t3, t3, t6);
  fa(t6, t0, t1);
  fs(t3, t3, t6); // xy
  fa(t4, y1, z1);
  fa(t6, y2, z2);
  fm(t4, t4, t6);
  fa(t6, t1, t2);
  fs(t4, t4, t6); // yz
  fa(t5, x1, z1);
  fa(t6, x2, z2);
  fm(t5, t5, t6);
  fa(t6, t0, t2);
  fs(t5, t5, t6); // xz
  if (cA0) tailA0(r, t0, t1, t2, t3, t4, t5);
  else tailAm3(r, t0, t1, t2, t3, t4, t5);
}

// r = p + (x, y) for an affine (x, y) that is not the neutral element, RCB Algorithm 5 / 8.
export function pointAddMixed(r: usize, p: usize, x2: usize, y2: usize): void {
  const t0 = tmp(0), t1 = tmp(1), t2 = tmp(2), t3 = tmp(3), t4 = tmp(4), t5 = tmp(5), t6 = tmp(6);
  const x1 = p, y1 = p + FE, z1 = p + 2 * FE;
  fm(t0, x1, x2);
  fm(t1, y1, y2);
  memory.copy(t2, z1, FE);
  fa(t3, x1, y1);
  fa(t6, x2, y2);
  fm(t3, t3, t6);
  fa(t6, t0, t1);
  fs(t3, t3, t6); // xy
  fm(t4, y2, z1);
  fa(t4, t4, y1); // yz
  fm(t5, x2, z1);
  fa(t5, t5, x1); // xz
  if (cA0) tailA0(r, t0, t1, t2, t3, t4, t5);
  else tailAm3(r, t0, t1, t2, t3, t4, t5);
}

// r = 2p, RCB Algorithm 6 (a = −3) / 9 (a = 0). r may alias p.
export function pointDouble(r: usize, p: usize): void {
  const t0 = tmp(0), t1 = tmp(1), t2 = tmp(2), t3 = tmp(3), t4 = tmp(4), t5 = tmp(5);
  const t6 = tmp(6), t7 = tmp(7), t8 = tmp(8), t9 = tmp(9);
  const x = p, y = p + FE, z = p + 2 * FE;
  if (cA0) {
    fsqr(t0, y, cFP); // yy
    fa(t3, t0, t0);
    fa(t3, t3, t3);
    fa(t3, t3, t3); // 8yy
    fm(t1, y, z);
    fm(t4, x, y);
    fsqr(t2, z, cFP);
    mul21K1P(t2, t2); // 3b·zz
    fm(t5, t2, t3); // X3 part
    fa(t6, t0, t2); // yy + 3b·zz
    fm(r + 2 * FE, t1, t3); // Z3 = 8·yy·yz
    fa(t1, t2, t2);
    fa(t2, t1, t2);
    fs(t0, t0, t2); // yy − 9b·zz
    fm(t6, t0, t6);
    fa(r + FE, t5, t6); // Y3
    fm(t7, t0, t4);
    fa(r, t7, t7); // X3
    return;
  }
  fsqr(t0, x, cFP); // xx
  fsqr(t1, y, cFP); // yy
  fsqr(t2, z, cFP); // zz
  fm(t3, x, y);
  fa(t3, t3, t3); // 2xy
  fm(t4, x, z);
  fa(t4, t4, t4); // 2xz
  fm(t9, y, z);
  fa(t9, t9, t9); // 2yz, before r is written
  fm(t5, cB, t2);
  fs(t5, t5, t4); // b·zz − 2xz
  fa(t6, t5, t5);
  fa(t5, t6, t5); // ·3
  fs(t6, t1, t5); // yy − …
  fa(t7, t1, t5); // yy + …
  fm(t7, t7, t6);
  fm(t6, t6, t3);
  fa(t8, t2, t2);
  fa(t8, t8, t2); // 3zz
  fm(t5, cB, t4);
  fa(t3, t8, t0);
  fs(t5, t5, t3); // b·2xz − 3zz − xx
  fa(t3, t5, t5);
  fa(t5, t3, t5); // ·3
  fa(t3, t0, t0);
  fa(t3, t3, t0);
  fs(t3, t3, t8); // 3xx − 3zz
  fm(t3, t3, t5);
  fa(t7, t7, t3); // Y3
  fm(t5, t5, t9);
  fs(r, t6, t5); // X3
  fm(t1, t9, t1);
  fa(t1, t1, t1);
  fa(r + 2 * FE, t1, t1); // Z3 = 8·yy·yz
  memory.copy(r + FE, t7, FE);
}

// (x, y) = affine coordinates of p (Montgomery form); (0, 0) for the neutral element.
export function pointToAffine(x: usize, y: usize, p: usize): void {
  const zi = tmp(11);
  finv(zi, p + 2 * FE, cFP);
  fm(x, p, zi);
  fm(y, p + FE, zi);
}

// 1 if the affine (x, y) (Montgomery form) satisfies y² = x³ + ax + b.
export function onCurve(x: usize, y: usize): u32 {
  const t0 = tmp(0), t1 = tmp(1);
  fsqr(t0, x, cFP);
  fm(t0, t0, x);
  if (!cA0) {
    fs(t0, t0, x);
    fs(t0, t0, x);
    fs(t0, t0, x);
  }
  fa(t0, t0, cB);
  fsqr(t1, y, cFP);
  return limbsEq(t0, t1, cN);
}

// Reads X‖Y (big-endian, cL bytes each) into (x, y) in Montgomery form; 1 iff both are < p and the
// point is on the curve (SEC 1 v2 §3.2.2.1 steps 1-2; prime order, so no cofactor check).
export function pointLoad(x: usize, y: usize, src: usize): u32 {
  const m = cFP + MD_M;
  memory.fill(x, 0, FE);
  memory.fill(y, 0, FE);
  limbsFromBytes(x, src, cL, cN);
  limbsFromBytes(y, src + <usize>cL, cL, cN);
  const ok = limbsLt(x, m, cN) & limbsLt(y, m, cN);
  ftoMont(x, x, cFP);
  ftoMont(y, y, cFP);
  return ok & onCurve(x, y);
}

// Writes the affine x (and y, if y != 0) of p as big-endian bytes; returns 1 unless p is the neutral
// element.
export function pointStore(xOut: usize, yOut: usize, p: usize): u32 {
  const x = tmp(0), y = tmp(1);
  const ok = limbsNonzero(p + 2 * FE, cN);
  pointToAffine(x, y, p);
  ffromMont(x, x, cFP);
  limbsToBytes(xOut, x, cL);
  if (yOut != 0) {
    ffromMont(y, y, cFP);
    limbsToBytes(yOut, y, cL);
  }
  return ok;
}

// ---- scalars -------------------------------------------------------------------------------------

// Reads a big-endian scalar of cL bytes into cN limbs plus one zero limb; 1 iff it is in [1, n − 1].
export function scalarLoad(k: usize, src: usize): u32 {
  memory.fill(k, 0, FE);
  limbsFromBytes(k, src, cL, cN);
  return limbsNonzero(k, cN) & limbsLt(k, cFN + MD_M, cN);
}

@inline function nibble(k: usize, w: i32): u32 {
  return (load<u32>(k + (<usize>(w >> 3) << 2)) >> (<u32>((w & 7) << 2))) & 15;
}

// ---- fixed-base table ----------------------------------------------------------------------------

// The w-bit window of k at bit pos (public), read across a limb boundary; k has a zero limb above.
@inline function windowAt(k: usize, pos: i32, w: i32): u32 {
  const a = k + (<usize>(pos >> 5) << 2);
  const two: u64 = <u64>load<u32>(a) | (<u64>load<u32>(a, 4) << 32);
  return <u32>(two >> <u64>(pos & 31)) & ((1 << <u32>w) - 1);
}

// Row i holds j·2^(w·teeth·i)·G for j = 1..2^(w−1), affine, built from projective multiples with one
// inversion per row (Montgomery's simultaneous inversion). Window v = teeth·i + c of the scalar uses
// row i and is shifted into place by the w·c doublings of the comb (Lim–Lee), so the table is
// 1/teeth of a full fixed-window one. G is public: no wiping needed.
function buildTable(): void {
  const base = BUILD; // cEnt projective points, then cEnt prefix products
  const pre = BUILD + <usize>cEnt * PT;
  const inv = PACC, zi = PACC + FE; // the S slots may hold the caller's scalar
  const b = PSEL;
  const last = cEnt - 1;
  memory.copy(b, cGX, FE);
  memory.copy(b + FE, cGY, FE);
  memory.copy(b + 2 * FE, cFP + MD_ONE, FE);
  for (let w = 0; w < cRows; w++) {
    memory.copy(base, b, PT);
    pointDouble(base + PT, b);
    for (let j = 2; j < cEnt; j++) pointAdd(base + <usize>j * PT, base + <usize>(j - 1) * PT, b);
    memory.copy(pre, base + 2 * FE, FE);
    for (let j = 1; j < cEnt; j++) {
      fm(pre + <usize>j * FE, pre + <usize>(j - 1) * FE, base + <usize>j * PT + 2 * FE);
    }
    finv(inv, pre + <usize>last * FE, cFP);
    const row = cTab + <usize>(w * cEnt) * cES;
    for (let j = last; j >= 0; j--) {
      const pj = base + <usize>j * PT;
      if (j > 0) {
        fm(zi, inv, pre + <usize>(j - 1) * FE);
        fm(inv, inv, pj + 2 * FE);
      } else {
        memory.copy(zi, inv, FE);
      }
      const e = row + <usize>j * cES;
      fm(SELX, pj, zi);
      fm(SELY, pj + FE, zi);
      memory.copy(e, SELX, <usize>(4 * cN));
      memory.copy(e + <usize>(4 * cN), SELY, <usize>(4 * cN));
    }
    // 2^(w·teeth)·b = 2^(w·teeth − (w − 1))·(2^(w−1)·b)
    pointDouble(b, base + <usize>last * PT);
    for (let j = 1; j < cWB * cComb - cWB + 1; j++) pointDouble(b, b);
  }
  store<u8>(READY + 4 + <usize>cId, 1);
}

@inline function ensureTable(): void {
  if (load<u8>(READY + 4 + <usize>cId) == 0) buildTable();
}

// Booth recoding of k into cWin signed w-bit digits stored as magnitude | sign << 7 at dst: v = window
// + carry in 0..2^w; v > 2^(w−1) becomes v − 2^w with a carry out (magnitudes up to 2^(w−1) stay
// below the sign bit for w ≤ 7). Branch-free.
function recode(dst: usize, k: usize): void {
  const w = cWB;
  const full: u32 = 1 << <u32>w;
  const halfUp: u32 = (full >> 1) - 1;
  let carry: u32 = 0;
  for (let i = 0; i < cWin; i++) {
    const v = windowAt(k, i * w, w) + carry;
    carry = (v + halfUp) >> <u32>w;
    store<u8>(dst + <usize>i, <u8>(mux32(carry, full - v, v) | (carry << 7)));
  }
}

// ---- scalar multiplication -----------------------------------------------------------------------

// SELB = the entry of magnitude mag (1..cEnt; 0 gives zeros) of a table row, by a masked scan of the
// whole row. 64-byte entries (the 256-bit curves) accumulate in registers.
function selectEntry(row: usize, mag: u32): void {
  if (cES == 64) {
    let a0 = i64x2.splat(0), a1 = i64x2.splat(0), a2 = i64x2.splat(0), a3 = i64x2.splat(0);
    // The mask of entry j is a lane compare of a running counter with mag (pcmpeqd: no branch).
    const want = i32x4.splat(<i32>mag);
    const one = i32x4.splat(1);
    let idx = i32x4.splat(0);
    let e = row;
    for (let j = 1; j <= cEnt; j++) {
      idx = i32x4.add(idx, one);
      const m = i32x4.eq(idx, want);
      a0 = v128.or(a0, v128.and(v128.load(e), m));
      a1 = v128.or(a1, v128.and(v128.load(e, 16), m));
      a2 = v128.or(a2, v128.and(v128.load(e, 32), m));
      a3 = v128.or(a3, v128.and(v128.load(e, 48), m));
      e += 64;
    }
    v128.store(SELB, a0);
    v128.store(SELB, a1, 16);
    v128.store(SELB, a2, 32);
    v128.store(SELB, a3, 48);
    return;
  }
  for (let o: usize = 0; o < cES; o += 16) v128.store(SELB + o, i64x2.splat(0));
  for (let j = 0; j < cEnt; j++) {
    const m = i32x4.splat(mask32(eq32(<u32>(j + 1), mag)));
    const e = row + <usize>j * cES;
    for (let o: usize = 0; o < cES; o += 16) {
      v128.store(SELB + o, v128.or(v128.load(SELB + o), v128.and(v128.load(e + o), m)));
    }
  }
}

// r = p + (x2, y2) in Jacobian coordinates (madd-2007-bl, 7M + 4S), without branches and without
// the exceptional cases: p must not be the neutral element nor ±(x2, y2). Only mulGenJacobian calls
// it, where neither can happen (see there). r may alias p.
function jAddMixedCt(r: usize, p: usize, x2: usize, y2: usize): void {
  const x1 = p, y1 = p + FE, z1 = p + 2 * FE;
  const t0 = tmp(0), t1 = tmp(1), t2 = tmp(2), t3 = tmp(3), t4 = tmp(4), t5 = tmp(5);
  const t6 = tmp(6), t7 = tmp(7), t8 = tmp(8), t9 = tmp(9), t10 = tmp(10);
  fsqr(t0, z1, cFP); // Z1Z1
  fm(t1, x2, t0); // U2
  fm(t2, y2, z1);
  fm(t2, t2, t0); // S2
  fs(t3, t1, x1); // H
  fs(t4, t2, y1);
  fa(t4, t4, t4); // rr
  fsqr(t5, t3, cFP); // HH
  fa(t6, t5, t5);
  fa(t6, t6, t6); // I
  fm(t7, t3, t6); // J
  fm(t8, x1, t6); // V
  fm(t10, z1, t3);
  fa(r + 2 * FE, t10, t10); // Z3 = 2·Z1·H = (Z1 + H)² − Z1Z1 − HH
  fsqr(t9, t4, cFP);
  fs(t9, t9, t7);
  fs(t9, t9, t8);
  fs(t9, t9, t8); // X3
  fm(t10, y1, t7);
  fa(t10, t10, t10); // 2·Y1·J
  fs(t8, t8, t9);
  fm(t8, t4, t8);
  fs(r + FE, t8, t10); // Y3
  memory.copy(r, t9, FE);
}

// r = ctl ? a : r for 256-bit elements (8 limbs), as two v128 bit selects.
@inline function cmov256(r: usize, a: usize, m: v128): void {
  v128.store(r, v128.bitselect(v128.load(a), v128.load(r), m));
  v128.store(r, v128.bitselect(v128.load(a, 16), v128.load(r, 16), m), 16);
}

// r = k·G from the signed digits of k in DIGITS, on a one-tooth table (the 256-bit curves), in Jacobian
// coordinates, for k in [1, n − 1].
// The incomplete mixed addition is safe here: before row i the accumulator is A·G with
// A = Σ_{j<i} d_j·2^(7j), |A| < 2^(7i), and the row adds B·G with B = d_i·2^(7i), |B| ≥ 2^(7i) when
// d_i ≠ 0. A ≡ ±B (mod n) would need A ∓ B ≡ 0 with |A ∓ B| < 65·2^(7i) < n for i ≤ 35, that is
// A = ±B, which |A| < |B| excludes; in the top row (d ≤ 16, B = d·2^252, A + B = k ∈ [1, n − 1]) only
// B − A = n is left, and it needs either A < 0 with A = 2^256 − n > 0 (d = 16) or |A| ≥ 2^252 − 2^225
// beyond the bound |A| ≤ 64·(2^252 − 1)/127 < 2^251.02 (d ≤ 15). A = 0 (the neutral element) happens exactly while every digit
// so far was 0 (a nonzero signed digit below 2^7 cannot cancel): a mask tracks it and a masked move
// puts the table point in instead of the sum. Zero digits are dropped by a masked move, as in mulGen.
// The result goes out in homogeneous projective coordinates: (X·Z, Y, Z³).
function mulGenJacobian(r: usize): void {
  const half = <usize>32;
  const one = cFP + MD_ONE;
  const acc = PACC;
  memory.copy(acc, one, FE);
  memory.copy(acc + FE, one, FE);
  memory.fill(acc + 2 * FE, 0, FE);
  let inf: u32 = 1;
  for (let i = 0; i < cRows; i++) {
    const dg = <u32>load<u8>(DIGITS + <usize>i);
    const mag = dg & 0x7f;
    const neg = dg >> 7;
    const nz = nonzero32(mag);
    selectEntry(cTab + <usize>(i * cEnt) * cES, mag);
    const ny = tmp(11);
    const sy = SELB + half;
    fs(ny, ZERO, sy);
    cmov256(sy, ny, i32x4.splat(mask32(neg)));
    jAddMixedCt(PSEL, acc, SELB, sy);
    const mInf = i32x4.splat(mask32(inf));
    cmov256(PSEL, SELB, mInf);
    cmov256(PSEL + FE, sy, mInf);
    cmov256(PSEL + 2 * FE, one, mInf);
    const mNz = i32x4.splat(mask32(nz));
    cmov256(acc, PSEL, mNz);
    cmov256(acc + FE, PSEL + FE, mNz);
    cmov256(acc + 2 * FE, PSEL + 2 * FE, mNz);
    inf &= nz ^ 1;
  }
  const z2 = tmp(0);
  fsqr(z2, acc + 2 * FE, cFP);
  fm(r + 2 * FE, z2, acc + 2 * FE);
  fm(r, acc, acc + 2 * FE);
  memory.copy(r + FE, acc + FE, FE);
}

// r = k·G for a secret k in [1, n − 1] (cN limbs + a zero limb). Constant time: every row is scanned
// in full, the sign is applied by a masked negation and a zero digit is dropped by a masked move.
export function mulGen(r: usize, k: usize): void {
  ensureTable();
  recode(DIGITS, k);
  if (cComb == 1) {
    mulGenJacobian(r);
    return;
  }
  const n = cN;
  const half = <usize>(4 * n);
  pointSetInf(r);
  for (let c = cComb - 1; c >= 0; c--) {
    if (c != cComb - 1) {
      for (let d = 0; d < cWB; d++) pointDouble(r, r);
    }
    for (let i = 0; i < cRows; i++) {
      const w = cComb * i + c;
      if (w >= cWin) continue;
      const dg = <u32>load<u8>(DIGITS + <usize>w);
      const mag = dg & 0x7f;
      const neg = dg >> 7;
      selectEntry(cTab + <usize>(i * cEnt) * cES, mag);
      const ny = tmp(0);
      const sy = SELB + half;
      fs(ny, ZERO, sy);
      limbsCmov(sy, ny, neg, n);
      pointAddMixed(PSEL, r, SELB, sy);
      pointCmov(r, PSEL, nonzero32(mag));
    }
  }
}

// VTAB[j] = j·(x, y) for j = 0..15.
function buildVarTable(x: usize, y: usize): void {
  pointSetInf(VTAB);
  const p1 = VTAB + PT;
  memory.copy(p1, x, FE);
  memory.copy(p1 + FE, y, FE);
  memory.copy(p1 + 2 * FE, cFP + MD_ONE, FE);
  for (let j = 2; j < 16; j++) {
    const pj = VTAB + <usize>j * PT;
    if ((j & 1) == 0) pointDouble(pj, VTAB + <usize>(j >> 1) * PT);
    else pointAdd(pj, pj - PT, p1);
  }
}

@inline function scalarWindows(): i32 {
  return (cBits + 3) >> 2;
}

// r = k·(x, y) for a secret k < n and an affine point (Montgomery form). Constant time.
export function mulCt(r: usize, x: usize, y: usize, k: usize): void {
  buildVarTable(x, y);
  pointSetInf(r);
  const top = scalarWindows() - 1;
  for (let w = top; w >= 0; w--) {
    if (w != top) {
      pointDouble(r, r);
      pointDouble(r, r);
      pointDouble(r, r);
      pointDouble(r, r);
    }
    const nib = nibble(k, w);
    for (let o: usize = 0; o < PT; o += 16) v128.store(PSEL + o, i64x2.splat(0));
    for (let j = 0; j < 16; j++) {
      const m = i32x4.splat(mask32(eq32(<u32>j, nib)));
      const e = VTAB + <usize>j * PT;
      for (let o: usize = 0; o < PT; o += 16) {
        v128.store(PSEL + o, v128.or(v128.load(PSEL + o), v128.and(v128.load(e + o), m)));
      }
    }
    pointAdd(r, r, PSEL);
  }
}

// ---- verification: Jacobian coordinates, variable time, PUBLIC inputs only --------------------------
//
// (X:Y:Z) stands for (X/Z², Y/Z³); Z = 0 is the neutral element. The formulas are the fast incomplete
// ones of the Explicit-Formulas Database (dbl-2001-b for a = −3, dbl-2009-l for a = 0, add-2007-bl,
// madd-2007-bl) with the exceptional cases (neutral element, equal or opposite points) taken by
// branches: fine for signature verification, where everything is public, and never used with secrets.

@inline function isInfVartime(p: usize): bool {
  return limbsNonzero(p + 2 * FE, cN) == 0;
}

function jSetInfVartime(r: usize): void {
  memory.copy(r, cFP + MD_ONE, FE);
  memory.copy(r + FE, cFP + MD_ONE, FE);
  memory.fill(r + 2 * FE, 0, FE);
}

function jDoubleVartime(r: usize, p: usize): void {
  const t0 = tmp(0), t1 = tmp(1), t2 = tmp(2), t3 = tmp(3), t4 = tmp(4), t5 = tmp(5);
  const t6 = tmp(6), t7 = tmp(7);
  const x = p, y = p + FE, z = p + 2 * FE;
  if (cA0) {
    fsqr(t0, x, cFP); // A
    fsqr(t1, y, cFP); // B
    fsqr(t2, t1, cFP); // C
    fa(t3, x, t1);
    fsqr(t3, t3, cFP);
    fs(t3, t3, t0);
    fs(t3, t3, t2);
    fa(t3, t3, t3); // D = 2((X + B)² − A − C)
    fa(t4, t0, t0);
    fa(t4, t4, t0); // E = 3A
    fsqr(t5, t4, cFP); // F
    fm(t6, y, z);
    fa(t6, t6, t6); // Z3 = 2YZ
    fa(t7, t3, t3);
    fs(t7, t5, t7); // X3 = F − 2D
    fs(t3, t3, t7);
    fm(t3, t4, t3);
    fa(t2, t2, t2);
    fa(t2, t2, t2);
    fa(t2, t2, t2);
    fs(r + FE, t3, t2); // Y3 = E(D − X3) − 8C
  } else {
    fsqr(t0, z, cFP); // delta
    fsqr(t1, y, cFP); // gamma
    fm(t2, x, t1); // beta
    fs(t3, x, t0);
    fa(t4, x, t0);
    fm(t3, t3, t4);
    fa(t4, t3, t3);
    fa(t3, t4, t3); // alpha = 3(X − delta)(X + delta)
    fa(t6, y, z);
    fsqr(t6, t6, cFP);
    fs(t6, t6, t1);
    fs(t6, t6, t0); // Z3 = (Y + Z)² − gamma − delta
    fa(t2, t2, t2);
    fa(t2, t2, t2); // 4beta
    fsqr(t7, t3, cFP);
    fa(t5, t2, t2);
    fs(t7, t7, t5); // X3 = alpha² − 8beta
    fs(t2, t2, t7);
    fm(t2, t2, t3);
    fsqr(t1, t1, cFP);
    fa(t1, t1, t1);
    fa(t1, t1, t1);
    fa(t1, t1, t1);
    fs(r + FE, t2, t1); // Y3 = alpha(4beta − X3) − 8gamma²
  }
  memory.copy(r, t7, FE);
  memory.copy(r + 2 * FE, t6, FE);
}

// r = p + (x2, y2) for an affine point (madd-2007-bl).
function jAddMixedVartime(r: usize, p: usize, x2: usize, y2: usize): void {
  const x1 = p, y1 = p + FE, z1 = p + 2 * FE;
  if (isInfVartime(p)) {
    memory.copy(r, x2, FE);
    memory.copy(r + FE, y2, FE);
    memory.copy(r + 2 * FE, cFP + MD_ONE, FE);
    return;
  }
  const t0 = tmp(0), t1 = tmp(1), t2 = tmp(2), t3 = tmp(3), t4 = tmp(4), t5 = tmp(5);
  const t6 = tmp(6), t7 = tmp(7), t8 = tmp(8), t9 = tmp(9), t10 = tmp(10), t11 = tmp(11);
  fsqr(t0, z1, cFP); // Z1Z1
  fm(t1, x2, t0); // U2
  fm(t2, y2, z1);
  fm(t2, t2, t0); // S2
  fs(t3, t1, x1); // H
  fs(t4, t2, y1);
  fa(t4, t4, t4); // rr
  if (limbsNonzero(t3, cN) == 0) {
    if (limbsNonzero(t4, cN) == 0) jDoubleVartime(r, p);
    else jSetInfVartime(r);
    return;
  }
  fsqr(t5, t3, cFP); // HH
  fa(t6, t5, t5);
  fa(t6, t6, t6); // I
  fm(t7, t3, t6); // J
  fm(t8, x1, t6); // V
  fsqr(t9, t4, cFP);
  fs(t9, t9, t7);
  fs(t9, t9, t8);
  fs(t9, t9, t8); // X3
  fm(t10, y1, t7);
  fa(t10, t10, t10); // 2·Y1·J
  fa(t11, z1, t3);
  fsqr(t11, t11, cFP);
  fs(t11, t11, t0);
  fs(t11, t11, t5); // Z3
  fs(t8, t8, t9);
  fm(t8, t4, t8);
  fs(r + FE, t8, t10); // Y3
  memory.copy(r, t9, FE);
  memory.copy(r + 2 * FE, t11, FE);
}

// r = p + q (add-2007-bl).
function jAddVartime(r: usize, p: usize, q: usize): void {
  if (isInfVartime(p)) {
    memory.copy(r, q, PT);
    return;
  }
  if (isInfVartime(q)) {
    memory.copy(r, p, PT);
    return;
  }
  const x1 = p, y1 = p + FE, z1 = p + 2 * FE, x2 = q, y2 = q + FE, z2 = q + 2 * FE;
  const t0 = tmp(0), t1 = tmp(1), t2 = tmp(2), t3 = tmp(3), t4 = tmp(4), t5 = tmp(5);
  const t6 = tmp(6), t7 = tmp(7), t8 = tmp(8), t9 = tmp(9), t10 = tmp(10), t11 = tmp(11);
  fsqr(t0, z1, cFP); // Z1Z1
  fsqr(t1, z2, cFP); // Z2Z2
  fm(t2, x1, t1); // U1
  fm(t3, x2, t0); // U2
  fm(t4, y1, z2);
  fm(t4, t4, t1); // S1
  fm(t5, y2, z1);
  fm(t5, t5, t0); // S2
  fs(t3, t3, t2); // H
  fs(t5, t5, t4);
  fa(t5, t5, t5); // rr
  if (limbsNonzero(t3, cN) == 0) {
    if (limbsNonzero(t5, cN) == 0) jDoubleVartime(r, p);
    else jSetInfVartime(r);
    return;
  }
  fa(t6, t3, t3);
  fsqr(t6, t6, cFP); // I
  fm(t7, t3, t6); // J
  fm(t8, t2, t6); // V
  fsqr(t9, t5, cFP);
  fs(t9, t9, t7);
  fs(t9, t9, t8);
  fs(t9, t9, t8); // X3
  fm(t10, t4, t7);
  fa(t10, t10, t10); // 2·S1·J
  fa(t11, z1, z2);
  fsqr(t11, t11, cFP);
  fs(t11, t11, t0);
  fs(t11, t11, t1);
  fm(t11, t11, t3); // Z3
  fs(t8, t8, t9);
  fm(t8, t5, t8);
  fs(r + FE, t8, t10); // Y3
  memory.copy(r, t9, FE);
  memory.copy(r + 2 * FE, t11, FE);
}

// Width-5 NAF of the public scalar k (cN limbs, destroyed) into NAF as signed bytes; returns the count.
const NAF: usize = memory.data(MAX_NAF, 16);
function wnafVartime(k: usize): i32 {
  let len = 0;
  while (limbsNonzero(k, cN) != 0) {
    let d: i32 = 0;
    const lo = load<u32>(k);
    if ((lo & 1) != 0) {
      d = <i32>(lo & 31);
      if (d >= 16) d -= 32;
      // k −= d, as a signed single-limb correction with carry/borrow ripple.
      let c: i64 = -<i64>d;
      for (let i = 0; i < cN && c != 0; i++) {
        const p = k + (<usize>i << 2);
        const s: i64 = <i64>load<u32>(p) + c;
        store<u32>(p, <u32>s);
        c = s >> 32;
      }
    }
    store<i8>(NAF + <usize>len, <i8>d);
    len++;
    for (let i = 0; i < cN; i++) {
      const p = k + (<usize>i << 2);
      const hi: u32 = i + 1 < cN ? load<u32>(p, 4) : 0;
      store<u32>(p, (load<u32>(p) >> 1) | (hi << 31));
    }
  }
  return len;
}

// r = u1·G + u2·(x, y) in Jacobian coordinates, for PUBLIC scalars (verification only): u1 on the
// fixed-base comb with mixed additions, u2 by width-5 NAF over 1, 3, …, 15·(x, y). u2 is destroyed.
export function mulDoubleVartime(r: usize, u1: usize, u2: usize, x: usize, y: usize): void {
  ensureTable();
  const half = <usize>(4 * cN);
  // u1·G into PACC.
  recode(DIGITS, u1);
  jSetInfVartime(PACC);
  for (let c = cComb - 1; c >= 0; c--) {
    if (c != cComb - 1) {
      for (let d = 0; d < cWB; d++) jDoubleVartime(PACC, PACC);
    }
    for (let i = 0; i < cRows; i++) {
      const w = cComb * i + c;
      if (w >= cWin) continue;
      const dg = <u32>load<u8>(DIGITS + <usize>w);
      const mag = dg & 0x7f;
      if (mag == 0) continue;
      const e = cTab + <usize>(i * cEnt + <i32>mag - 1) * cES;
      memory.fill(SELX, 0, FE);
      memory.fill(SELY, 0, FE);
      memory.copy(SELX, e, half);
      memory.copy(SELY, e + half, half);
      if ((dg >> 7) != 0) fs(SELY, ZERO, SELY);
      jAddMixedVartime(PACC, PACC, SELX, SELY);
    }
  }
  // Odd multiples (2j + 1)·Q in VTAB[j], 2Q in VTAB[8].
  const q2 = VTAB + 8 * PT;
  memory.copy(VTAB, x, FE);
  memory.copy(VTAB + FE, y, FE);
  memory.copy(VTAB + 2 * FE, cFP + MD_ONE, FE);
  jDoubleVartime(q2, VTAB);
  for (let j = 1; j < 8; j++) jAddVartime(VTAB + <usize>j * PT, VTAB + <usize>(j - 1) * PT, q2);
  const len = wnafVartime(u2);
  jSetInfVartime(r);
  for (let i = len - 1; i >= 0; i--) {
    if (!isInfVartime(r)) jDoubleVartime(r, r);
    const d = <i32>load<i8>(NAF + <usize>i);
    if (d > 0) {
      jAddVartime(r, r, VTAB + <usize>((d - 1) >> 1) * PT);
    } else if (d < 0) {
      memory.copy(PSEL, VTAB + <usize>((-d - 1) >> 1) * PT, PT);
      fs(PSEL + FE, ZERO, PSEL + FE);
      jAddVartime(r, r, PSEL);
    }
  }
  jAddVartime(r, r, PACC);
}

// 1 iff the Jacobian point p is not the neutral element and x(p) ≡ r (mod n), for r ∈ [1, n − 1]:
// compares r·Z² and, when r + n < p, (r + n)·Z² with X (SEC 1 v2 §4.1.4 steps 6-8 without an inversion).
export function jacobianXEqualsVartime(p: usize, r: usize): u32 {
  if (isInfVartime(p)) return 0;
  const z2 = tmp(0), t = tmp(1), rm = tmp(2);
  fsqr(z2, p + 2 * FE, cFP);
  ftoMont(rm, r, cFP);
  fm(t, rm, z2);
  if (limbsEq(t, p, cN) != 0) return 1;
  // r + n, if below p.
  let c: u64 = 0;
  const n = cFN + MD_M;
  for (let i = 0; i < cN; i++) {
    const off = <usize>i << 2;
    const s: u64 = <u64>load<u32>(r + off) + <u64>load<u32>(n + off) + c;
    store<u32>(t + off, <u32>s);
    c = s >> 32;
  }
  if (c != 0 || limbsLt(t, cFP + MD_M, cN) == 0) return 0;
  ftoMont(rm, t, cFP);
  fm(t, rm, z2);
  return limbsEq(t, p, cN);
}

// ---- exports: point validation and decompression --------------------------------------------------

// 1 iff X‖Y at q (2·L bytes) is a point of the curve with both coordinates < p.
export function ecPointValid(curve: i32, q: usize): i32 {
  if (!useCurve(curve)) return 0;
  return <i32>pointLoad(S0, S1, q);
}

// out = X‖Y from X at x and the parity of Y (SEC 1 v2 §2.3.4 step 2.4): Y = (x³ + ax + b)^((p+1)/4),
// valid as p ≡ 3 mod 4 for all four primes; 0 if x ≥ p or x³ + ax + b is not a square.
export function ecDecompress(curve: i32, x: usize, yOdd: i32, out: usize): i32 {
  if (!useCurve(curve)) return 0;
  const xm = S0, rhs = S1, ym = S2, t = S3;
  memory.fill(xm, 0, FE);
  limbsFromBytes(xm, x, cL, cN);
  if (limbsLt(xm, cFP + MD_M, cN) == 0) return 0;
  ftoMont(xm, xm, cFP);
  fsqr(rhs, xm, cFP);
  fm(rhs, rhs, xm);
  if (!cA0) {
    fs(rhs, rhs, xm);
    fs(rhs, rhs, xm);
    fs(rhs, rhs, xm);
  }
  fa(rhs, rhs, cB);
  fpow(ym, rhs, cSQ, cFP);
  fsqr(t, ym, cFP);
  if (limbsEq(t, rhs, cN) == 0) return 0;
  ffromMont(ym, ym, cFP);
  if (<i32>(load<u32>(ym) & 1) != (yOdd & 1)) fs(ym, ZERO, ym);
  memory.copy(out, x, <usize>cL);
  limbsToBytes(out + <usize>cL, ym, cL);
  return 1;
}
