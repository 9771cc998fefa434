// ECDSA nonces by RFC 6979 §3.2 (HMAC-DRBG keyed by the private key and the message hash), optionally
// hedged as in §3.6: fresh random bytes appended to the seed in steps d and f, so a fault or a broken
// RNG alone cannot leak the key (deterministic), and repeated signing of one message does not give
// a side channel the same k twice (random). The secret values (x, K, V, k) stay in byte arrays, are
// never turned into JS numbers or BigInts, and are zeroed when the generator finishes.
import type { HashName } from './_validate.js';
import { OUT, wipe } from './_wasm.js';
import { mac } from './hmac.js';
import { SHA } from './sha2.js';

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

const concat = (...parts: Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
};

/**
 * Yields the candidate nonces k of RFC 6979 §3.2 step h, each in [1, q − 1], as L-byte big-endian
 * integers: the first is the published k; the next ones are what step h.3 gives when the caller
 * rejects k (r = 0 or s = 0). x is the private key (L bytes), h1 the message hash; `extra` (hedging,
 * §3.6) is appended to the seed. Each yielded k is zeroed when the caller asks for the next one or
 * stops iterating, so it must not be kept; K, V and the seed are zeroed then too.
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
  // Every HMAC output here is K, V or (part of) k: none may stay behind in the WASM OUT region.
  const hm = (key: Uint8Array, msg: Uint8Array): Uint8Array => {
    const out = mac(s, key, msg);
    wipe(OUT, hlen);
    return out;
  };
  const tail = concat(x, bits2octets(h1, c), extra ?? new Uint8Array(0));
  const seed = new Uint8Array(hlen + 1 + tail.length);
  let V: Uint8Array = new Uint8Array(hlen).fill(0x01); // step b
  let K: Uint8Array = new Uint8Array(hlen); // step c
  let T: Uint8Array = new Uint8Array(0);
  let k: Uint8Array = new Uint8Array(0);
  // K = HMAC_K(msg), V = HMAC_K(V): steps d–g, and h.3 with msg = V || 0x00.
  const rekey = (msg: Uint8Array): void => {
    const nk = hm(K, msg);
    K.fill(0);
    K = nk;
    const nv = hm(K, V);
    V.fill(0);
    V = nv;
  };
  try {
    seed.set(tail, hlen + 1);
    tail.fill(0);
    for (const sep of [0x00, 0x01]) {
      seed.set(V, 0);
      seed[hlen] = sep;
      rekey(seed); // steps d, e (0x00); f, g (0x01)
    }
    seed.fill(0);
    const blocks = Math.ceil(c.L / hlen);
    for (;;) {
      // step h: T = V || V || ... until it holds qlen bits.
      T = new Uint8Array(blocks * hlen);
      for (let i = 0; i < blocks; i++) {
        const nv = hm(K, V);
        V.fill(0);
        V = nv;
        T.set(V, i * hlen);
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
    for (const b of [seed, tail, V, K, T, k]) b.fill(0);
  }
}
