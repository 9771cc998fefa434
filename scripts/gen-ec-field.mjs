// Generates assembly/_field_fixed.ts: Montgomery multiplication (CIOS), squaring (cross products,
// doubling, squares, then SOS reduction), addition and subtraction, fully unrolled for each modulus of
// the EC core, with the modulus limbs as literals (zero limbs vanish, limbs equal to 1 become adds).
// The four primes get plain (not Montgomery, R = 1) multiplication with a folded reduction instead:
// the NIST fast reduction for P-256, the same derived symbolically for P-384, the Mersenne fold for
// 2^521 − 1 (t = lo + hi·2^521 ≡ lo + hi) and the 2^32 + 977 fold for secp256k1. Addition and
// subtraction modulo the 256-bit moduli run on four u64 words.
// Run: node scripts/gen-ec-field.mjs > assembly/_field_fixed.ts
const MODULI = [
  ['P256P', 'ffffffff00000001000000000000000000000000ffffffffffffffffffffffff', 8],
  ['P256N', 'ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551', 8],
  ['P384P', 'fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffeffffffff0000000000000000ffffffff', 12],
  ['P384N', 'ffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973', 12],
  ['P521P', '1ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff', 17],
  ['P521N', '1fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffa51868783bf2f966b7fcc0148f709a5d03bb5c9b8899c47aebb6fb71e91386409', 17],
  ['K1P', 'fffffffffffffffffffffffffffffffffffffffffffffffffffffffefffffc2f', 8],
  ['K1N', 'fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141', 8],
];
const M32 = (1n << 32n) - 1n;
const hex = (x) => `0x${x.toString(16)}`;
const limbsOf = (h, n) => Array.from({ length: n }, (_, i) => (BigInt(`0x${h}`) >> BigInt(32 * i)) & M32);
const negInv = (m0) => {
  let inv = m0;
  for (let i = 0; i < 5; i++) inv = (inv * (2n - ((m0 * inv) & M32))) & M32;
  return (-inv) & M32;
};
// "+ q·m" for a literal limb m.
const qm = (m) => (m === 0n ? '' : m === 1n ? ' + q' : ` + q * ${hex(m)}`);
const loads = (p, v, n) => Array.from({ length: n }, (_, i) => `  const ${v}${i}: u64 = <u64>load<u32>(${p}, ${4 * i});`);
const decl = (v, from, to) => `  let ${Array.from({ length: to - from }, (_, i) => `${v}${from + i}: u64 = 0`).join(', ')};`;

// Conditional final subtraction of m from t[off..off+n-1] with top word `top`, stored to r.
function finalSub(out, t, off, n, m, top) {
  out.push(`  let br: u64 = 0;`);
  for (let i = 0; i < n; i++) {
    const sub = m[i] === 0n ? '' : ` - ${hex(m[i])}`;
    out.push(`  s = ${t}${off + i}${sub}${i ? ' - br' : ''}; const d${i}: u64 = s & 0xffffffff; br = s >> 63;`);
  }
  out.push(`  const mk: u64 = 0 - (${top} | (br ^ 1));`);
  for (let i = 0; i < n; i++) {
    const ti = `${t}${off + i}`;
    out.push(`  store<u32>(r, <u32>(${ti} ^ (mk & (${ti} ^ d${i}))), ${4 * i});`);
  }
}

// One Montgomery reduction row: q from w[i], add q·m at w[i..], carry out in c.
function reduceRow(out, w, i, n, m, m0inv) {
  out.push(m0inv === 1n ? `  q = ${w}${i};` : `  q = (${w}${i} * ${hex(m0inv)}) & 0xffffffff;`);
  if (m0inv === 1n && m[0] === M32) out.push(`  c = ${w}${i};`); // w + w·(2³² − 1) = w·2³²
  else out.push(`  s = ${w}${i}${qm(m[0])}; c = s >> 32;`);
}

function genMul(name, m, n, m0inv) {
  const out = [`// r = a·b·2^-${32 * n} mod ${name} (CIOS).`, `export function mul${name}(r: usize, a: usize, b: usize): void {`];
  out.push(...loads('a', 'a', n), decl('t', 0, n + 2), `  let s: u64 = 0, c: u64 = 0, q: u64 = 0, bi: u64 = 0;`);
  for (let i = 0; i < n; i++) {
    out.push(`  bi = <u64>load<u32>(b, ${4 * i});`);
    for (let j = 0; j < n; j++) {
      const prev = i ? `t${j} + ` : '';
      const carry = j ? ' + c' : '';
      out.push(`  s = ${prev}a${j} * bi${carry}; t${j} = s & 0xffffffff; c = s >> 32;`);
    }
    out.push(i ? `  s = t${n} + c; t${n} = s & 0xffffffff; t${n + 1} = s >> 32;` : `  t${n} = c; t${n + 1} = 0;`);
    reduceRow(out, 't', 0, n, m, m0inv);
    for (let j = 1; j < n; j++) out.push(`  s = t${j}${qm(m[j])} + c; t${j - 1} = s & 0xffffffff; c = s >> 32;`);
    out.push(`  s = t${n} + c; t${n - 1} = s & 0xffffffff; t${n} = t${n + 1} + (s >> 32);`);
  }
  finalSub(out, 't', 0, n, m, `t${n}`);
  out.push('}');
  return out.join('\n');
}

// Schoolbook product a·b into u0..u(2n−1).
function product(out, n) {
  out.push(`  let bi: u64 = 0;`);
  for (let i = 0; i < n; i++) {
    out.push(`  bi = <u64>load<u32>(b, ${4 * i});`);
    for (let j = 0; j < n; j++) {
      const prev = i ? `u${i + j} + ` : ''; // row i − 1 wrote positions i − 1 .. i + n − 1
      out.push(`  s = ${prev}a${j} * bi${j ? ' + c' : ''}; u${i + j} = s & 0xffffffff; c = s >> 32;`);
    }
    out.push(`  u${i + n} = c;`);
  }
}

// Square a² into u0..u(2n−1): cross products, doubling, then the diagonal.
function square(out, n) {
  for (let i = 0; i < n - 1; i++) {
    for (let j = i + 1; j < n; j++) {
      const prev = i ? `u${i + j} + ` : ''; // row i − 1 wrote positions i .. i + n − 1
      const carry = j > i + 1 ? ' + c' : '';
      out.push(`  s = ${prev}a${i} * a${j}${carry}; u${i + j} = s & 0xffffffff; c = s >> 32;`);
    }
    out.push(`  u${i + n} = c;`);
  }
  out.push(`  u${2 * n - 1} = u${2 * n - 2} >> 31;`);
  for (let k = 2 * n - 2; k >= 1; k--) out.push(`  u${k} = ((u${k} << 1) | (u${k - 1} >> 31)) & 0xffffffff;`);
  out.push(`  u0 = (u0 << 1) & 0xffffffff;`);
  for (let i = 0; i < n; i++) {
    out.push(`  q = a${i} * a${i};`);
    out.push(`  s = u${2 * i} + (q & 0xffffffff)${i ? ' + c' : ''}; u${2 * i} = s & 0xffffffff; c = s >> 32;`);
    out.push(`  s = u${2 * i + 1} + (q >> 32) + c; u${2 * i + 1} = s & 0xffffffff; c = s >> 32;`);
  }
}

// r = u mod 2^521 − 1 for u < 2^1042 in u0..u33: two folds of the bits above 521, then a masked
// subtraction of p (v ≥ p exactly when v + 1 reaches bit 521).
function fold521(out) {
  for (let i = 0; i < 17; i++) {
    const lo = i < 16 ? `u${i}` : `(u16 & 0x1ff)`;
    const hi = `((u${16 + i} >> 9) | ((u${17 + i} << 23) & 0xffffffff))`;
    out.push(`  s = ${lo} + ${hi}${i ? ' + c' : ''}; const v${i}: u64 = s & 0xffffffff; c = s >> 32;`);
  }
  out.push(`  c = v16 >> 9;`);
  for (let i = 0; i < 17; i++) {
    const v = i < 16 ? `v${i}` : `(v16 & 0x1ff)`;
    out.push(`  s = ${v} + c; const x${i}: u64 = s & 0xffffffff; c = s >> 32;`);
  }
  out.push(`  c = 1;`);
  for (let i = 0; i < 17; i++) out.push(`  s = x${i} + c; const w${i}: u64 = s & 0xffffffff; c = s >> 32;`);
  out.push(`  const mk: u64 = 0 - (w16 >> 9);`);
  for (let i = 0; i < 17; i++) {
    const w = i < 16 ? `w${i}` : `(w16 & 0x1ff)`;
    out.push(`  store<u32>(r, <u32>(x${i} ^ (mk & (x${i} ^ ${w}))), ${4 * i});`);
  }
}

// r = u mod 2^256 − 2^32 − 977 for u < 2^512 in u0..u15: fold the high half by 2^32 + 977, fold the
// (≤ 34-bit) overflow again, then a masked subtraction of p.
function foldK1(out, m) {
  out.push(`  c = 0;`);
  for (let k = 0; k < 8; k++) {
    out.push(`  s = u${k} + u${8 + k} * 977${k ? ` + u${7 + k}` : ''} + c; const v${k}: u64 = s & 0xffffffff; c = s >> 32;`);
  }
  out.push(`  const top: u64 = c + u15;`);
  foldK1Top(out, m);
}

// v0..v7 + top·2^256 (top < 2^34) ≡ v + top·(2^32 + 977): one more fold, then a masked subtraction.
function foldK1Top(out, m) {
  out.push(`  const top977: u64 = top * 977;`);
  out.push(`  s = v0 + (top977 & 0xffffffff); const w0: u64 = s & 0xffffffff; c = s >> 32;`);
  out.push(`  s = v1 + (top977 >> 32) + top + c; const w1: u64 = s & 0xffffffff; c = s >> 32;`);
  for (let k = 2; k < 8; k++) out.push(`  s = v${k} + c; const w${k}: u64 = s & 0xffffffff; c = s >> 32;`);
  // A carry out of 2^256 wrapped w to a small value: adding 2^32 + 977 once more cannot carry again.
  out.push(`  s = w0 + c * 977; const x0: u64 = s & 0xffffffff; let cc: u64 = s >> 32;`);
  out.push(`  s = w1 + c + cc; const x1: u64 = s & 0xffffffff; cc = s >> 32;`);
  for (let k = 2; k < 8; k++) out.push(`  s = w${k} + cc; const x${k}: u64 = s & 0xffffffff; cc = s >> 32;`);
  finalSub(out, 'x', 0, 8, m, '0');
}

// r = 21·a mod p for secp256k1: 3b of the a = 0 formulas (RCB Algorithms 7-9) as one limb pass.
function genMul21K1(m) {
  const out = [`// r = 21·a mod 2^256 − 2^32 − 977 (21 = 3b for secp256k1).`, `export function mul21K1P(r: usize, a: usize): void {`];
  out.push(`  let s: u64 = 0, c: u64 = 0;`);
  for (let k = 0; k < 8; k++) out.push(`  s = <u64>load<u32>(a, ${4 * k}) * 21${k ? ' + c' : ''}; const v${k}: u64 = s & 0xffffffff; c = s >> 32;`);
  out.push(`  const top: u64 = c;`);
  foldK1Top(out, m);
  out.push('}');
  return out.join('\n');
}

function genMulK1(name, m) {
  const out = [`// r = a·b mod 2^256 − 2^32 − 977.`, `export function mul${name}(r: usize, a: usize, b: usize): void {`];
  out.push(...loads('a', 'a', 8), decl('u', 0, 16), `  let s: u64 = 0, c: u64 = 0;`);
  product(out, 8);
  foldK1(out, m);
  out.push('}');
  return out.join('\n');
}

function genSqrK1(name, m) {
  const out = [`// r = a² mod 2^256 − 2^32 − 977.`, `export function sqr${name}(r: usize, a: usize): void {`];
  out.push(...loads('a', 'a', 8), decl('u', 0, 16), `  let s: u64 = 0, c: u64 = 0, q: u64 = 0;`);
  square(out, 8);
  foldK1(out, m);
  out.push('}');
  return out.join('\n');
}

// P-256 fast reduction (FIPS 186-2 Appendix D.2.3; the words of the 512-bit u recombined as
// s1 + 2s2 + 2s3 + s4 + s5 − d1 − d2 − d3 − d4), word sums signed in i64. The carry t out of 2^256
// is folded back twice with 2^256 ≡ 2^224 − 2^192 − 2^96 + 1, then a masked subtraction of p.
const P256_TERMS = [
  // [sign, word j of the result, index of u]
  ...[0, 1, 2, 3, 4, 5, 6, 7].map((j) => [1, j, j]), // s1
  ...[3, 4, 5, 6, 7].map((j) => [2, j, j + 8]), // 2·s2
  ...[3, 4, 5, 6].map((j) => [2, j, j + 9]), // 2·s3
  [1, 0, 8], [1, 1, 9], [1, 2, 10], [1, 6, 14], [1, 7, 15], // s4
  [1, 0, 9], [1, 1, 10], [1, 2, 11], [1, 3, 13], [1, 4, 14], [1, 5, 15], [1, 6, 13], [1, 7, 8], // s5
  [-1, 0, 11], [-1, 1, 12], [-1, 2, 13], [-1, 6, 8], [-1, 7, 10], // d1
  [-1, 0, 12], [-1, 1, 13], [-1, 2, 14], [-1, 3, 15], [-1, 6, 9], [-1, 7, 11], // d2
  [-1, 0, 13], [-1, 1, 14], [-1, 2, 15], [-1, 3, 8], [-1, 4, 9], [-1, 5, 10], [-1, 7, 12], // d3
  [-1, 0, 14], [-1, 1, 15], [-1, 3, 9], [-1, 4, 10], [-1, 5, 11], [-1, 7, 13], // d4
];
function foldP256(out, m) {
  for (let j = 0; j < 8; j++) {
    const terms = P256_TERMS.filter((t) => t[1] === j).map(([sg, , i]) => (sg === 2 ? ` + 2 * <i64>u${i}` : `${sg > 0 ? ' +' : ' -'} <i64>u${i}`));
    out.push(`  const e${j}: i64 = ${terms.join('').replace(/^ \+ /, '')};`);
  }
  out.push(`  let z: i64 = 0, k: i64 = 0;`);
  for (let j = 0; j < 8; j++) out.push(`  z = e${j}${j ? ' + k' : ''}; let v${j}: i64 = z & 0xffffffff; k = z >> 32;`);
  for (let pass = 0; pass < 2; pass++) {
    out.push(`  t = k; k = 0;`);
    for (let j = 0; j < 8; j++) {
      const adj = j === 0 || j === 7 ? ' + t' : j === 3 || j === 6 ? ' - t' : '';
      out.push(`  z = v${j}${adj} + k; v${j} = z & 0xffffffff; k = z >> 32;`);
    }
  }
  for (let j = 0; j < 8; j++) out.push(`  const x${j}: u64 = <u64>v${j};`);
  finalSub(out, 'x', 0, 8, m, '0');
}

function genMulP256(name, m) {
  const out = [`// r = a·b mod p256.`, `export function mul${name}(r: usize, a: usize, b: usize): void {`];
  out.push(...loads('a', 'a', 8), decl('u', 0, 16), `  let s: u64 = 0, c: u64 = 0, t: i64 = 0;`);
  product(out, 8);
  foldP256(out, m);
  out.push('}');
  return out.join('\n');
}

function genSqrP256(name, m) {
  const out = [`// r = a² mod p256.`, `export function sqr${name}(r: usize, a: usize): void {`];
  out.push(...loads('a', 'a', 8), decl('u', 0, 16), `  let s: u64 = 0, c: u64 = 0, q: u64 = 0, t: i64 = 0;`);
  square(out, 8);
  foldP256(out, m);
  out.push('}');
  return out.join('\n');
}

// Generic fold for a prime p = 2^(32n) − δ with δ a short signed sum of powers 2^(32i): word
// coefficients of u mod p are derived symbolically (2^(32n) ≡ δ, repeated until every word is below n)
// and checked here on random values; word sums are signed i64, the carry out of 2^(32n) is folded back
// twice with δ, then a masked subtraction of p. Used for P-384 (δ = 2^128 + 2^96 − 2^32 + 1).
function foldWords(p, n) {
  const R = 1n << BigInt(32 * n);
  const delta = R - p;
  // δ as signed word terms: [word, coefficient].
  const dTerms = [];
  let d = delta;
  for (let w = 0; d !== 0n; w++) {
    let limb = d & M32;
    if (limb > 1n << 31n) limb -= 1n << 32n; // signed digit
    if (limb !== 0n) dTerms.push([w, limb]);
    d = (d - limb) >> 32n;
  }
  if (dTerms.some(([, c]) => c !== 1n && c !== -1n)) throw new Error('foldWords: δ needs ±1 word digits');
  // coef[j] = map from input word i to its coefficient in output word j.
  const coef = Array.from({ length: n }, () => new Map());
  const add = (j, i, c) => coef[j].set(i, (coef[j].get(i) ?? 0n) + c);
  const place = (pos, i, c) => {
    if (pos < n) return add(pos, i, c);
    for (const [w, dc] of dTerms) place(pos - n + w, i, c * dc);
  };
  for (let i = 0; i < 2 * n; i++) place(i, i, 1n);
  // Self-check: Σ_j 2^(32j)·Σ_i coef·u_i ≡ u (mod p) for random u.
  for (let trial = 0; trial < 64; trial++) {
    const u = Array.from({ length: 2 * n }, () => BigInt(Math.floor(Math.random() * 2 ** 32)));
    let whole = 0n;
    let folded = 0n;
    u.forEach((x, i) => (whole += x << BigInt(32 * i)));
    coef.forEach((m, j) => m.forEach((c, i) => (folded += (c * u[i]) << BigInt(32 * j))));
    if (((whole - folded) % p + p) % p !== 0n) throw new Error('foldWords: derivation is wrong');
  }
  return { coef, dTerms };
}

function foldGeneric(out, m, p, n) {
  const { coef, dTerms } = foldWords(p, n);
  for (let j = 0; j < n; j++) {
    const terms = [...coef[j]].filter(([, c]) => c !== 0n).map(([i, c]) => {
      const mag = c < 0n ? -c : c;
      return `${c < 0n ? ' - ' : ' + '}${mag === 1n ? '' : `${mag} * `}<i64>u${i}`;
    });
    out.push(`  const e${j}: i64 = ${terms.join('').replace(/^ \+ /, '').replace(/^ - /, '-')};`);
  }
  out.push(`  let z: i64 = 0, k: i64 = 0;`);
  for (let j = 0; j < n; j++) out.push(`  z = e${j}${j ? ' + k' : ''}; let v${j}: i64 = z & 0xffffffff; k = z >> 32;`);
  for (let pass = 0; pass < 2; pass++) {
    out.push(`  t = k; k = 0;`);
    for (let j = 0; j < n; j++) {
      const dt = dTerms.find(([w]) => w === j);
      const adj = dt ? (dt[1] > 0n ? ' + t' : ' - t') : '';
      out.push(`  z = v${j}${adj} + k; v${j} = z & 0xffffffff; k = z >> 32;`);
    }
  }
  for (let j = 0; j < n; j++) out.push(`  const x${j}: u64 = <u64>v${j};`);
  finalSub(out, 'x', 0, n, m, '0');
}

function genMulFold(name, m, p, n) {
  const out = [`// r = a·b mod ${name} (plain values, folded reduction).`, `export function mul${name}(r: usize, a: usize, b: usize): void {`];
  out.push(...loads('a', 'a', n), decl('u', 0, 2 * n), `  let s: u64 = 0, c: u64 = 0, t: i64 = 0;`);
  product(out, n);
  foldGeneric(out, m, p, n);
  out.push('}');
  return out.join('\n');
}

function genSqrFold(name, m, p, n) {
  const out = [`// r = a² mod ${name} (plain values, folded reduction).`, `export function sqr${name}(r: usize, a: usize): void {`];
  out.push(...loads('a', 'a', n), decl('u', 0, 2 * n), `  let s: u64 = 0, c: u64 = 0, q: u64 = 0, t: i64 = 0;`);
  square(out, n);
  foldGeneric(out, m, p, n);
  out.push('}');
  return out.join('\n');
}

function genMul521(name) {
  const out = [`// r = a·b mod 2^521 − 1.`, `export function mul${name}(r: usize, a: usize, b: usize): void {`];
  out.push(...loads('a', 'a', 17), decl('u', 0, 35), `  let s: u64 = 0, c: u64 = 0;`);
  product(out, 17);
  fold521(out);
  out.push('}');
  return out.join('\n');
}

function genSqr521(name) {
  const out = [`// r = a² mod 2^521 − 1.`, `export function sqr${name}(r: usize, a: usize): void {`];
  out.push(...loads('a', 'a', 17), decl('u', 0, 35), `  let s: u64 = 0, c: u64 = 0, q: u64 = 0;`);
  square(out, 17);
  fold521(out);
  out.push('}');
  return out.join('\n');
}

function genSqr(name, m, n, m0inv) {
  const out = [`// r = a²·2^-${32 * n} mod ${name}.`, `export function sqr${name}(r: usize, a: usize): void {`];
  out.push(...loads('a', 'a', n), decl('u', 0, 2 * n), `  let s: u64 = 0, c: u64 = 0, q: u64 = 0, cc: u64 = 0;`);
  square(out, n);
  // SOS reduction.
  for (let i = 0; i < n; i++) {
    reduceRow(out, 'u', i, n, m, m0inv);
    for (let j = 1; j < n; j++) out.push(`  s = u${i + j}${qm(m[j])} + c; u${i + j} = s & 0xffffffff; c = s >> 32;`);
    out.push(`  s = u${i + n} + c${i ? ' + cc' : ''}; u${i + n} = s & 0xffffffff; cc = s >> 32;`);
  }
  finalSub(out, 'u', n, n, m, 'cc');
  out.push('}');
  return out.join('\n');
}

function genAdd(name, m, n) {
  const out = [`// r = a + b mod ${name}.`, `export function add${name}(r: usize, a: usize, b: usize): void {`];
  out.push(`  let s: u64 = 0, c: u64 = 0;`);
  for (let i = 0; i < n; i++) {
    out.push(`  s = <u64>load<u32>(a, ${4 * i}) + <u64>load<u32>(b, ${4 * i})${i ? ' + c' : ''}; const t${i}: u64 = s & 0xffffffff; c = s >> 32;`);
  }
  finalSub(out, 't', 0, n, m, 'c');
  out.push('}');
  return out.join('\n');
}

function genSub(name, m, n) {
  const out = [`// r = a − b mod ${name}.`, `export function sub${name}(r: usize, a: usize, b: usize): void {`];
  out.push(`  let s: u64 = 0, br: u64 = 0, c: u64 = 0;`);
  for (let i = 0; i < n; i++) {
    out.push(`  s = <u64>load<u32>(a, ${4 * i}) - <u64>load<u32>(b, ${4 * i})${i ? ' - br' : ''}; const d${i}: u64 = s & 0xffffffff; br = s >> 63;`);
  }
  out.push(`  const mk: u64 = 0 - br;`);
  for (let i = 0; i < n; i++) {
    const add = m[i] === 0n ? '' : ` + (mk & ${hex(m[i])})`;
    out.push(`  s = d${i}${add}${i ? ' + c' : ''}; store<u32>(r, <u32>s, ${4 * i}); c = s >> 32;`);
  }
  out.push('}');
  return out.join('\n');
}

// 8-limb moduli: addition and subtraction on four u64 words (carries from unsigned compares), half
// the instructions of the u32 chains. The final subtraction and the correction are masked as above.
const words64 = (m) => [0, 1, 2, 3].map((i) => m[2 * i] | (m[2 * i + 1] << 32n));
const hex64 = (x) => `0x${x.toString(16)}`;

function genAdd64(name, m) {
  const w = words64(m);
  const out = [`// r = a + b mod ${name} (64-bit words).`, `export function add${name}(r: usize, a: usize, b: usize): void {`];
  out.push(`  let c: u64 = 0, x: u64 = 0, y: u64 = 0;`);
  for (let i = 0; i < 4; i++) {
    out.push(`  x = load<u64>(a, ${8 * i}); y = x + load<u64>(b, ${8 * i});`);
    if (i === 0) out.push(`  const s0: u64 = y; c = <u64>(y < x);`);
    else out.push(`  const s${i}: u64 = y + c; c = <u64>(y < x) | <u64>(s${i} < c);`);
  }
  out.push(`  let br: u64 = 0;`);
  for (let i = 0; i < 4; i++) {
    if (w[i] === 0n) out.push(`  const d${i}: u64 = s${i} - br; br = <u64>(s${i} < br);`);
    else if (i === 0) out.push(`  const d0: u64 = s0 - ${hex64(w[0])}; br = <u64>(s0 < ${hex64(w[0])});`);
    else out.push(`  y = s${i} - ${hex64(w[i])}; const d${i}: u64 = y - br; br = <u64>(s${i} < ${hex64(w[i])}) | <u64>(y < br);`);
  }
  out.push(`  const mk: u64 = 0 - (c | (br ^ 1));`);
  for (let i = 0; i < 4; i++) out.push(`  store<u64>(r, s${i} ^ (mk & (s${i} ^ d${i})), ${8 * i});`);
  out.push('}');
  return out.join('\n');
}

function genSub64(name, m) {
  const w = words64(m);
  const out = [`// r = a − b mod ${name} (64-bit words).`, `export function sub${name}(r: usize, a: usize, b: usize): void {`];
  out.push(`  let br: u64 = 0, x: u64 = 0, y: u64 = 0;`);
  for (let i = 0; i < 4; i++) {
    out.push(`  x = load<u64>(a, ${8 * i}); y = load<u64>(b, ${8 * i});`);
    if (i === 0) out.push(`  const d0: u64 = x - y; br = <u64>(x < y);`);
    else out.push(`  const t${i}: u64 = x - y; const d${i}: u64 = t${i} - br; br = <u64>(x < y) | <u64>(t${i} < br);`);
  }
  out.push(`  const mk: u64 = 0 - br;`);
  out.push(`  let c: u64 = 0;`);
  for (let i = 0; i < 4; i++) {
    const add = w[i] === 0n ? '0' : w[i] === (1n << 64n) - 1n ? 'mk' : `(mk & ${hex64(w[i])})`;
    if (i === 0) out.push(`  y = d0 + ${add}; c = <u64>(y < d0); store<u64>(r, y, 0);`);
    else if (i < 3) out.push(`  x = d${i} + ${add}; y = x + c; c = <u64>(x < d${i}) | <u64>(y < c); store<u64>(r, y, ${8 * i});`);
    else out.push(`  store<u64>(r, d${i} + ${add} + c, ${8 * i});`);
  }
  out.push('}');
  return out.join('\n');
}

const parts = [
  '// GENERATED by scripts/gen-ec-field.mjs: do not edit. Unrolled Montgomery arithmetic for the prime',
  '// fields and group orders of P-256, P-384, P-521 and secp256k1 (R = 2^(32·N) for the orders, R = 1',
  '// for the four primes, reduced by folding); _field.ts dispatches here.',
  '// CT: straight-line code, the final subtractions are masked; nothing branches on or indexes by a value',
  '// (the carries of the u64-word add/sub are unsigned compares turned into values, not branches).',
];
for (const [name, h, n] of MODULI) {
  const m = limbsOf(h, n);
  const m0inv = negInv(m[0]);
  const folded = {
    P521P: [genMul521, genSqr521],
    K1P: [genMulK1, genSqrK1],
    P256P: [genMulP256, genSqrP256],
    P384P: [genMulFold, genSqrFold],
  }[name];
  const p = BigInt(`0x${h}`);
  const mul = folded ? folded[0](name, m, p, n) : genMul(name, m, n, m0inv);
  const sqr = folded ? folded[1](name, m, p, n) : genSqr(name, m, n, m0inv);
  const add = n === 8 ? genAdd64(name, m) : genAdd(name, m, n);
  const sub = n === 8 ? genSub64(name, m) : genSub(name, m, n);
  parts.push('', mul, '', sqr, '', add, '', sub);
  if (name === 'K1P') parts.push('', genMul21K1(m));
}
process.stdout.write(`${parts.join('\n')}\n`);
