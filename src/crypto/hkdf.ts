// HKDF-SHA-256/384/512 (RFC 5869) over the WASM core: assembly/hkdf.ts on top of assembly/hmac.ts.
// On the hkdf() path the PRK stays in WASM memory; the output block is wiped from WASM once copied out.
import { abytes, ahash, aint, type HashName } from './_validate.js';
import { OUT, mem, wasm, wipe } from './_wasm.js';
import { SHA, feed, type Sha } from './sha2.js';
import { HMAC_UPDATE, keyHmac, mac } from './hmac.js';

type Bits = Sha['bits'];
const extractW = wasm.hkdfExtract as (h: Bits) => void;
const expandStart = wasm.hkdfExpandStart as (h: Bits, i: number) => void;
const expandUpdate = wasm.hkdfExpandUpdate as (h: Bits, len: number) => void;
const expandEnd = wasm.hkdfExpandEnd as (h: Bits, i: number, off: number, n: number) => void;
const hkdfClear = wasm.hkdfClear as () => void;

const EMPTY = new Uint8Array(0);
const INFO_UPDATE: Readonly<Record<Bits, (len: number) => void>> = {
  256: (len) => expandUpdate(256, len),
  384: (len) => expandUpdate(384, len),
  512: (len) => expandUpdate(512, len),
};

function optBytes(x: Uint8Array | undefined, name: string): Uint8Array {
  return x === undefined ? EMPTY : abytes(x, name);
}

function alength(s: Sha, length: number): number {
  return aint(length, 'length', 1, 255 * s.outputLen);
}

// RFC 5869 §2.3 with HMAC_CTX keyed by the PRK: T(i) = HMAC(PRK, T(i-1) | info | i), OKM = first L bytes.
function expand(s: Sha, info: Uint8Array, length: number): Uint8Array {
  try {
    const n = Math.ceil(length / s.outputLen);
    for (let i = 1; i <= n; i++) {
      expandStart(s.bits, i);
      feed(info, INFO_UPDATE[s.bits]);
      const off = (i - 1) * s.outputLen;
      expandEnd(s.bits, i, off, Math.min(s.outputLen, length - off));
    }
    return mem().slice(OUT, OUT + length);
  } finally {
    wipe(OUT, length);
    hkdfClear();
  }
}

/**
 * HKDF (RFC 5869): length bytes (1 .. 255 * HashLen) of output keying material from ikm. An empty or
 * undefined salt means HashLen zero bytes (§2.2); info defaults to empty.
 */
export function hkdf(
  hash: HashName,
  ikm: Uint8Array,
  salt: Uint8Array | undefined,
  info: Uint8Array | undefined,
  length: number,
): Uint8Array {
  const s = SHA[ahash(hash)];
  abytes(ikm, 'ikm');
  const saltBytes = optBytes(salt, 'salt');
  const infoBytes = optBytes(info, 'info');
  alength(s, length);
  keyHmac(s, saltBytes);
  feed(ikm, HMAC_UPDATE[s.bits]);
  extractW(s.bits);
  return expand(s, infoBytes, length);
}

/** HKDF-Extract (RFC 5869 §2.2): PRK = HMAC-Hash(salt, IKM), HashLen bytes. */
export function hkdfExtract(hash: HashName, ikm: Uint8Array, salt?: Uint8Array): Uint8Array {
  const s = SHA[ahash(hash)];
  abytes(ikm, 'ikm');
  const prk = mac(s, optBytes(salt, 'salt'), ikm);
  wipe(OUT, s.outputLen);
  return prk;
}

/** HKDF-Expand (RFC 5869 §2.3): length bytes (1 .. 255 * HashLen) from a PRK of at least HashLen bytes. */
export function hkdfExpand(hash: HashName, prk: Uint8Array, info: Uint8Array | undefined, length: number): Uint8Array {
  const s = SHA[ahash(hash)];
  abytes(prk, 'prk');
  if (prk.length < s.outputLen) {
    throw new RangeError(`expected prk of at least ${s.outputLen} bytes (the ${s.name} output), got ${prk.length}`);
  }
  const infoBytes = optBytes(info, 'info');
  alength(s, length);
  keyHmac(s, prk);
  return expand(s, infoBytes, length);
}
