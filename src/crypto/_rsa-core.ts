// Raw RSA over the WASM core (assembly/rsa.ts): RSAEP/RSAVP1 and RSADP/RSASP1 (RFC 8017 §5.1–5.2)
// on big-endian byte strings, key generation (FIPS 186-5 A.1.3) and the consistency check used on
// import. Internal: padding, encodings and key formats live in rsa.ts and its helpers.
// Components cross into WASM through the RSA_BUF slots and are wiped there after every call; the
// random blinding and Miller–Rabin bytes are zeroed here after use. Only generated p and q (which
// the caller receives anyway) and the blinding pairs below exist in JS as arrays.
import { abytes } from './_validate.js';
import { mem, region, wasm } from './_wasm.js';

export interface RsaPublicComponents {
  n: Uint8Array;
  e: Uint8Array;
}

export interface RsaPrivateComponents extends RsaPublicComponents {
  d: Uint8Array;
  p: Uint8Array;
  q: Uint8Array;
  dp: Uint8Array;
  dq: Uint8Array;
  qi: Uint8Array;
}

// Slot numbers of assembly/rsa.ts.
const S = { n: 0, e: 1, d: 2, p: 3, q: 4, dp: 5, dq: 6, qi: 7, x: 8, r: 9, k: 10, rand: 11, ba: 15, bai: 16 } as const;

const BUF = region('RSA_BUF');
const SLOT = region('RSA_SLOT');
const core = {
  clear: wasm.rsaClear as () => void,
  pub: wasm.rsaPublic as (nLen: number, eLen: number, xLen: number) => number,
  priv: wasm.rsaPrivate as (
    nLen: number, eLen: number, pLen: number, qLen: number, dpLen: number, dqLen: number, qiLen: number, xLen: number,
    rLen: number,
  ) => number,
  privBlinded: wasm.rsaPrivateBlinded as (
    nLen: number, eLen: number, pLen: number, qLen: number, dpLen: number, dqLen: number, qiLen: number, xLen: number,
  ) => number,
  blinding: wasm.rsaBlinding as (
    nLen: number, eLen: number, pLen: number, qLen: number, dpLen: number, dqLen: number, qiLen: number, rLen: number,
  ) => number,
  prime: wasm.rsaPrimeTest as (pLen: number, rounds: number, e: number) => number,
  finish: wasm.rsaKeygenFinish as (pLen: number, e: number) => number,
  check: wasm.rsaCheck as (
    nLen: number, eLen: number, dLen: number, pLen: number, qLen: number, dpLen: number, dqLen: number, qiLen: number,
  ) => number,
};

const MIN_BITS = 1024;
const MAX_BITS = 4096;
const E_65537 = 65537;
// Random bytes beyond k for the blinding value r, so r mod n is within 2^-128 of uniform.
const R_EXTRA = 16;

/** The bytes of b without leading zeros (a view; at least one byte). */
function trim(b: Uint8Array): Uint8Array {
  let i = 0;
  while (i < b.length - 1 && b[i] === 0) i++;
  return b.subarray(i);
}

function put(slot: number, b: Uint8Array): void {
  mem().set(b, BUF + slot * SLOT);
}

function take(slot: number, len: number): Uint8Array {
  const off = BUF + slot * SLOT;
  return mem().slice(off, off + len);
}

function bitLength(b: Uint8Array): number {
  const t = trim(b);
  return t[0] === 0 ? 0 : 8 * t.length - Math.clz32(t[0]) + 24;
}

/** n and e checked at the edge: n odd of 1024..4096 bits, e odd ≥ 3 and shorter than n. */
function publicParts(key: RsaPublicComponents): { n: Uint8Array; e: Uint8Array } {
  const n = trim(abytes(key.n, 'n'));
  const e = trim(abytes(key.e, 'e'));
  const bits = bitLength(n);
  if (bits < MIN_BITS || bits > MAX_BITS || (n[n.length - 1] & 1) === 0) {
    throw new RangeError(`expected an odd RSA modulus of ${MIN_BITS}..${MAX_BITS} bits, got ${bits} bits`);
  }
  if (e.length > n.length || (e[e.length - 1] & 1) === 0 || bitLength(e) < 2) {
    throw new RangeError('expected an odd RSA public exponent ≥ 3, shorter than the modulus');
  }
  return { n, e };
}

/** k, the byte length of n. */
export function modulusBytes(key: RsaPublicComponents): number {
  return trim(abytes(key.n, 'n')).length;
}

/** RSAEP / RSAVP1: x^e mod n as k bytes, or null if x ≥ n. x is k bytes, big-endian. */
export function rsaPublicOp(key: RsaPublicComponents, x: Uint8Array): Uint8Array | null {
  const { n, e } = publicParts(key);
  abytes(x, 'x', n.length);
  put(S.n, n);
  put(S.e, e);
  put(S.x, x);
  return core.pub(n.length, e.length, x.length) === 1 ? take(S.x, n.length) : null;
}

/**
 * The CRT components of a private key: p and q without leading zero bytes (their lengths are public:
 * about half the modulus), dp, dq and qi as fresh copies exactly as long as p, q and p. Stripping the
 * secret components' leading zeros would make a loop bound of the private operation depend on them.
 */
interface CrtParts {
  p: Uint8Array;
  q: Uint8Array;
  dp: Uint8Array;
  dq: Uint8Array;
  qi: Uint8Array;
}

/**
 * b as exactly len big-endian bytes (a new array), or null if b has a nonzero byte before its last len.
 * CT: the bytes before the last len are OR-ed together without stopping early; only b's length leaks.
 */
function fixedLength(b: Uint8Array, len: number): Uint8Array | null {
  let extra = 0;
  for (let i = 0; i < b.length - len; i++) extra |= b[i]!;
  if (extra !== 0) return null;
  const out = new Uint8Array(len);
  out.set(b.length > len ? b.subarray(b.length - len) : b, len - Math.min(len, b.length));
  return out;
}

/** key's CRT components (type-checked, sized as CrtParts says), or null if they cannot belong to the modulus n. */
function crtParts(key: RsaPrivateComponents, n: Uint8Array): CrtParts | null {
  const p = trim(abytes(key.p, 'p'));
  const q = trim(abytes(key.q, 'q'));
  if (p.length + q.length > n.length + 1) return null;
  const dp = fixedLength(abytes(key.dp, 'dp'), p.length);
  const dq = fixedLength(abytes(key.dq, 'dq'), q.length);
  const qi = fixedLength(abytes(key.qi, 'qi'), p.length);
  if (!dp || !dq || !qi) {
    for (const x of [dp, dq, qi]) x?.fill(0);
    return null;
  }
  return { p, q, dp, dq, qi };
}

function putCrt(c: CrtParts): void {
  put(S.p, c.p);
  put(S.q, c.q);
  put(S.dp, c.dp);
  put(S.dq, c.dq);
  put(S.qi, c.qi);
}

/** Zeroes crtParts' copies of the secret components. */
function wipeCrt(c: CrtParts): void {
  c.dp.fill(0);
  c.dq.fill(0);
  c.qi.fill(0);
}

// Blinding pairs A = r^e mod n, AI = r⁻¹ mod n, kept per public key (n, e) as OpenSSL's BN_BLINDING
// does: each use squares the pair in WASM (a new r² per call), which costs two squarings mod n
// instead of r^e and the Fermat inversions folded into the CRT exponentiations (RSA-2048 sign
// measured 1.12–1.17× faster). A key's first private operation uses a fresh r and only records the
// key; its second makes a pair (about one private operation's work, checked in WASM: A·AI^e ≡ 1),
// and a pair is remade after PAIR_USES uses. A pair is secret (it unblinds every later call): it
// lives only in this map and is zeroed when evicted (oldest first beyond PAIRS_MAX keys), when an
// operation with it fails, and by clearBlindingPairs().
interface BlindingPair {
  a: Uint8Array;
  ai: Uint8Array;
  uses: number;
}
const pairs = new Map<string, BlindingPair | null>();
const PAIRS_MAX = 64;
const PAIR_USES = 32;

function pairId(n: Uint8Array, e: Uint8Array): string {
  const b = (x: Uint8Array) => Buffer.from(x.buffer, x.byteOffset, x.length).toString('base64');
  return `${b(e)}:${b(n)}`;
}

function dropPair(id: string): void {
  const p = pairs.get(id);
  if (p) {
    p.a.fill(0);
    p.ai.fill(0);
  }
  pairs.delete(id);
}

/** Stores the key's entry as the most recent, evicting the oldest beyond PAIRS_MAX. */
function keepPair(id: string, p: BlindingPair | null): void {
  const old = pairs.get(id);
  if (old && old !== p) dropPair(id);
  pairs.delete(id);
  pairs.set(id, p);
  if (pairs.size > PAIRS_MAX) dropPair(pairs.keys().next().value!);
}

/** Zeroes and forgets every blinding pair (and which keys were seen). */
export function clearBlindingPairs(): void {
  for (const id of [...pairs.keys()]) dropPair(id);
}

/** A new checked pair for the key, or null if the check fails (a key whose components disagree). */
function newPair(n: Uint8Array, e: Uint8Array, c: CrtParts): BlindingPair | null {
  const r = crypto.getRandomValues(new Uint8Array(n.length + R_EXTRA));
  try {
    put(S.n, n);
    put(S.e, e);
    putCrt(c);
    put(S.r, r);
    const status = core.blinding(n.length, e.length, c.p.length, c.q.length, c.dp.length, c.dq.length, c.qi.length, r.length);
    if (status === -2) throw new RangeError('RSA primes over 2176 bits are not supported');
    if (status !== 1) return null;
    return { a: take(S.ba, n.length), ai: take(S.bai, n.length), uses: 0 };
  } finally {
    core.clear();
    r.fill(0);
  }
}

/** The private operation's outcome: the result, or null if x ≥ n; throws for the failures. */
function privateResult(status: number, len: number): Uint8Array | null {
  if (status === 1) return take(S.x, len);
  if (status === 0) return null;
  if (status === -2) throw new RangeError('RSA primes over 2176 bits are not supported');
  throw new Error('RSA private operation failed its consistency check');
}

/**
 * RSADP / RSASP1 with CRT, base and exponent blinding and a check of the result with e before it is
 * released: x^d mod n as k bytes, or null if x ≥ n. Throws if the check fails (a fault, or a key
 * whose components disagree). The base blinding comes from the key's blinding pair once it has one.
 */
export function rsaPrivateOp(key: RsaPrivateComponents, x: Uint8Array): Uint8Array | null {
  const { n, e } = publicParts(key);
  abytes(x, 'x', n.length);
  const c = crtParts(key, n);
  if (!c) throw new RangeError('RSA private key components do not fit its modulus');
  try {
    return privateWithPair(n, e, c, x);
  } finally {
    wipeCrt(c);
  }
}

/** rsaPrivateOp once the components are checked: blinded by the key's pair, or by a fresh r. */
function privateWithPair(n: Uint8Array, e: Uint8Array, c: CrtParts, x: Uint8Array): Uint8Array | null {
  const id = pairId(n, e);
  let pair = pairs.get(id);
  if (pair === undefined) {
    keepPair(id, null);
    return privateFresh(n, e, c, x);
  }
  if (pair === null || pair.uses >= PAIR_USES) {
    pair = newPair(n, e, c);
    keepPair(id, pair);
    if (!pair) return privateFresh(n, e, c, x);
  }
  const k = crypto.getRandomValues(new Uint8Array(8));
  try {
    put(S.n, n);
    put(S.e, e);
    putCrt(c);
    put(S.x, x);
    put(S.k, k);
    put(S.ba, pair.a);
    put(S.bai, pair.ai);
    const status = core.privBlinded(n.length, e.length, c.p.length, c.q.length, c.dp.length, c.dq.length, c.qi.length, x.length);
    if (status === 1) {
      // The squared pair, for the next call.
      pair.a.set(mem().subarray(BUF + S.ba * SLOT, BUF + S.ba * SLOT + n.length));
      pair.ai.set(mem().subarray(BUF + S.bai * SLOT, BUF + S.bai * SLOT + n.length));
      pair.uses++;
    } else if (status !== 0) {
      dropPair(id);
    }
    return privateResult(status, n.length);
  } finally {
    core.clear();
    k.fill(0);
  }
}

/** The private operation with a fresh r, whose inverse is folded into the CRT exponentiations. */
function privateFresh(n: Uint8Array, e: Uint8Array, c: CrtParts, x: Uint8Array): Uint8Array | null {
  const r = crypto.getRandomValues(new Uint8Array(n.length + R_EXTRA));
  const k = crypto.getRandomValues(new Uint8Array(8));
  try {
    put(S.n, n);
    put(S.e, e);
    putCrt(c);
    put(S.x, x);
    put(S.r, r);
    put(S.k, k);
    return privateResult(core.priv(n.length, e.length, c.p.length, c.q.length, c.dp.length, c.dq.length, c.qi.length, x.length, r.length), n.length);
  } finally {
    core.clear();
    r.fill(0);
    k.fill(0);
  }
}

// FIPS 186-5 Table B.1, Miller–Rabin rounds for probable primes p, q of half the modulus size.
const MR_ROUNDS: Readonly<Record<number, number>> = { 2048: 5, 3072: 4, 4096: 4 };

/** A probable prime of 8·len bits with its top two bits set (FIPS 186-5 A.1.3 step 4). */
function probablePrime(len: number, rounds: number): Uint8Array {
  const bases = new Uint8Array(rounds * len);
  for (;;) {
    const w = crypto.getRandomValues(new Uint8Array(len));
    w[0] |= 0xc0;
    w[len - 1] |= 1;
    crypto.getRandomValues(bases);
    put(S.p, w);
    put(S.rand, bases);
    const prime = core.prime(len, rounds, E_65537) === 1;
    core.clear();
    if (prime) {
      bases.fill(0);
      return w;
    }
    w.fill(0);
  }
}

/** A new key pair with e = 65537 (FIPS 186-5 A.1.3, d = e⁻¹ mod λ(n)). */
export function rsaGenerate(bits: 2048 | 3072 | 4096): RsaPrivateComponents {
  const rounds = MR_ROUNDS[bits];
  if (rounds === undefined) throw new RangeError(`expected RSA key size 2048, 3072 or 4096, got ${String(bits)}`);
  const len = bits / 16;
  for (;;) {
    const p = probablePrime(len, rounds);
    for (;;) {
      const q = probablePrime(len, rounds);
      put(S.p, p);
      put(S.q, q);
      const status = core.finish(len, E_65537);
      if (status === 1) {
        const key: RsaPrivateComponents = {
          n: take(S.n, 2 * len),
          e: Uint8Array.of(1, 0, 1),
          d: trim(take(S.d, 2 * len)).slice(),
          p,
          q,
          dp: trim(take(S.dp, len)).slice(),
          dq: trim(take(S.dq, len)).slice(),
          qi: trim(take(S.qi, len)).slice(),
        };
        core.clear();
        return key;
      }
      core.clear();
      q.fill(0);
      if (status === 3) break;
      if (status !== 2) throw new Error('RSA key generation failed');
    }
    p.fill(0);
  }
}

/** Whether the private components agree: n = p·q, e·d ≡ 1 mod λ(n), dp, dq and qi as they must be. */
export function rsaCheckKey(key: RsaPrivateComponents): boolean {
  let parts: { n: Uint8Array; e: Uint8Array };
  try {
    parts = publicParts(key);
  } catch {
    return false;
  }
  const { n, e } = parts;
  const d = fixedLength(abytes(key.d, 'd'), n.length);
  const c = crtParts(key, n);
  try {
    if (!c || !d) return false;
    put(S.n, n);
    put(S.e, e);
    put(S.d, d);
    putCrt(c);
    return core.check(n.length, e.length, d.length, c.p.length, c.q.length, c.dp.length, c.dq.length, c.qi.length) === 1;
  } finally {
    core.clear();
    d?.fill(0);
    if (c) wipeCrt(c);
  }
}
