// ECDSA nonces by RFC 6979 §3.2 (HMAC-DRBG keyed by the private key and the message hash), optionally
// hedged as in §3.6: fresh random bytes appended to the seed in steps d and f, so a fault or a broken
// RNG alone cannot leak the key (deterministic), and repeated signing of one message does not give
// a side channel the same k twice (random). The secret values (x, K, V, k) stay in byte arrays, are
// never turned into JS numbers or BigInts, and are zeroed when the generator finishes.
import type { HashName } from './_validate.js';
import { HMAC_CTX, HMAC_UPDATE, keyHmac } from './hmac.js';
import { OUT, mem, wasm, wipe } from './_wasm.js';
import { SHA, feed, type Sha } from './sha2.js';

/** What the nonce generator needs to know of a curve. */
export interface NonceCurve {
  /** Byte length of scalars: rlen / 8 = ceil(qlen / 8). */
  L: number;
  /** Bit length qlen of the group order. */
  bits: number;
  /** The group order q, big-endian, L bytes. */
  nBytes: Uint8Array;
}

/** 1 if a (L bytes) is in [1, n − 1], else 0, in time that depends only on the length. */
export function scalarInRange(a: Uint8Array, n: Uint8Array): number {
  let borrow = 0;
  let nonzero = 0;
  for (let i = a.length - 1; i >= 0; i--) {
    // borrow of a − n, byte by byte from the least significant end: ends 1 iff a < n.
    borrow = ((a[i]! - n[i]! - borrow) >>> 31) & 1;
    nonzero |= a[i]!;
  }
  return borrow & (((nonzero | -nonzero) >>> 31) & 1);
}

/**
 * The leftmost `bits` bits of b as an L-byte big-endian integer (RFC 6979 §2.3.2 bits2int), for an
 * input of at least L bytes. Shifts by a public amount, so it is constant-time in the contents.
 */
export function bits2int(b: Uint8Array, L: number, bits: number): Uint8Array {
  const out = new Uint8Array(L);
  if (b.length * 8 <= bits) {
    out.set(b, L - b.length);
    return out;
  }
  const shift = 8 * L - bits;
  for (let i = L - 1; i >= 0; i--) out[i] = ((b[i]! >>> shift) | (i > 0 ? b[i - 1]! << (8 - shift) : 0)) & 0xff;
  return out;
}

/**
 * RFC 6979 §2.3.4 bits2octets(h1) = int2octets(bits2int(h1) mod q). bits2int(h1) < 2^qlen < 2q, so one
 * conditional subtraction reduces it; the hash is public, so this may branch.
 */
export function bits2octets(h1: Uint8Array, c: NonceCurve): Uint8Array {
  const z = bits2int(h1, c.L, c.bits);
  let diff = 0;
  for (let i = 0; i < c.L && diff === 0; i++) diff = z[i]! - c.nBytes[i]!;
  if (diff < 0) return z;
  let borrow = 0;
  for (let i = c.L - 1; i >= 0; i--) {
    const v = z[i]! - c.nBytes[i]! - borrow;
    z[i] = v & 0xff;
    borrow = v < 0 ? 1 : 0;
  }
  return z;
}

const hmacFinal = wasm.hmacFinal as (h: Sha['bits']) => void;

// The HMAC context keyed with the all-zero key of step c, per hash: public, so computed once.
const ZERO_KEYED = new Map<Sha['bits'], Uint8Array>();
function zeroKeyed(s: Sha): Uint8Array {
  let ctx = ZERO_KEYED.get(s.bits);
  if (!ctx) {
    keyHmac(s, new Uint8Array(s.outputLen));
    ctx = mem().slice(HMAC_CTX, HMAC_CTX + 2 * s.ctxLen);
    wipe(HMAC_CTX, 2 * s.ctxLen);
    ZERO_KEYED.set(s.bits, ctx);
  }
  return ctx;
}

/**
 * Yields the candidate nonces k of RFC 6979 §3.2 step h, each in [1, q − 1], as L-byte big-endian
 * integers: the first is the published k; the next ones are what step h.3 gives when the caller
 * rejects k (r = 0 or s = 0). x is the private key (L bytes), h1 the message hash; `extra` (hedging,
 * §3.6) is appended to the seed. Each yielded k is zeroed when the caller asks for the next one or
 * stops iterating, so it must not be kept; K, V, the keyed context and the seed are zeroed then too.
 */
export function* rfc6979Nonces(
  hash: HashName,
  c: NonceCurve,
  x: Uint8Array,
  h1: Uint8Array,
  extra?: Uint8Array,
): Generator<Uint8Array, void, undefined> {
  const s = SHA[hash];
  const hlen = s.outputLen;
  const ctxLen = 2 * s.ctxLen;
  const update = HMAC_UPDATE[s.bits];
  // HMAC is keyed once per K (step 1 of RFC 2104 costs two compressions): `keyed` holds the context
  // keyed with the current K, restored for each HMAC_K(...) until K changes.
  const keyed = new Uint8Array(ctxLen);
  const z = bits2octets(h1, c);
  const seed = new Uint8Array(hlen + 1 + x.length + z.length + (extra?.length ?? 0));
  const V = new Uint8Array(hlen).fill(0x01); // step b
  const K = new Uint8Array(hlen);
  const T = new Uint8Array(Math.ceil(c.L / hlen) * hlen);
  let k: Uint8Array = new Uint8Array(0);
  // dst = HMAC_K(msg); every HMAC output here is K, V or (part of) k, so OUT is wiped after it.
  const macInto = (dst: Uint8Array, msg: Uint8Array): void => {
    mem().set(keyed, HMAC_CTX);
    feed(msg, update);
    hmacFinal(s.bits);
    const m = mem();
    dst.set(m.subarray(OUT, OUT + hlen));
    wipe(OUT, hlen);
  };
  // K = HMAC_K(msg), V = HMAC_K(V): steps d–g, and h.3 with msg = V || 0x00.
  const rekey = (msg: Uint8Array): void => {
    macInto(K, msg);
    keyHmac(s, K);
    keyed.set(mem().subarray(HMAC_CTX, HMAC_CTX + ctxLen));
    wipe(HMAC_CTX, ctxLen);
    macInto(V, V);
  };
  try {
    keyed.set(zeroKeyed(s)); // step c: K = 0x00 ... 00
    seed.set(x, hlen + 1);
    seed.set(z, hlen + 1 + x.length);
    if (extra) seed.set(extra, hlen + 1 + x.length + z.length);
    for (const sep of [0x00, 0x01]) {
      seed.set(V, 0);
      seed[hlen] = sep;
      rekey(seed); // steps d, e (0x00); f, g (0x01)
    }
    seed.fill(0);
    for (;;) {
      // step h: T = V || V || ... until it holds qlen bits.
      for (let i = 0; i < T.length; i += hlen) {
        macInto(V, V);
        T.set(V, i);
      }
      k = bits2int(T, c.L, c.bits);
      T.fill(0);
      if (scalarInRange(k, c.nBytes)) yield k;
      k.fill(0);
      seed.set(V, 0);
      seed[hlen] = 0x00;
      rekey(seed.subarray(0, hlen + 1)); // step h.3
    }
  } finally {
    for (const b of [seed, z, V, K, T, k, keyed]) b.fill(0);
    wipe(HMAC_CTX, ctxLen);
  }
}
