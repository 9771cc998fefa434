// ECDSA (FIPS 186-5 §6) over P-256, P-384, P-521 and secp256k1. The WASM EC core (assembly/ec) does
// the scalar arithmetic; this layer hashes, draws nonces (RFC 6979, hedged per §3.6), parses and
// writes keys and signatures, and keeps private scalars in JS only as byte arrays it zeroes after use.
import { DerError, DerReader, TAG } from './_der.js';
import {
  acurve,
  ecdsaSignRaw,
  ecdsaVerifyRaw,
  ecPublicKey,
  encodePkcs8,
  encodeSpki,
  readPrivateKey,
  readPublicKey,
  type Curve,
  type CurveName,
  type KeyInput,
} from './_ec-keys.js';
import { rfc6979Nonces } from './_rfc6979.js';
import { abytes, ahash, type HashName } from './_validate.js';
import { InvalidKeyError } from './errors.js';
import { sha256, sha384, sha512 } from './sha2.js';

export type { CurveName, KeyInput };

/** 'der': SEQUENCE { r INTEGER, s INTEGER } (RFC 3279 §2.2.3); 'p1363': r‖s, each L bytes (IEEE P1363). */
export type SignatureFormat = 'der' | 'p1363';

export interface SignOptions {
  format: SignatureFormat;
  /** Normalise s to at most n/2 (BIP 62 / Bitcoin-style low-S); off by default. */
  lowS?: boolean;
  /** Plain RFC 6979 §3.2 nonces without fresh randomness: the same signature for the same input. */
  deterministic?: boolean;
  /** msg is already the digest of `hash` (exactly its length), as AWS KMS MessageType DIGEST. */
  prehashed?: boolean;
}

export interface VerifyOptions {
  format: SignatureFormat;
  /** msg is already the digest of `hash` (exactly its length). */
  prehashed?: boolean;
}

/** A key pair as DER bytes: PKCS#8 (with the RFC 5915 ECPrivateKey and its public key) and SPKI. */
export interface EcKeyPair {
  privateKey: Uint8Array;
  publicKey: Uint8Array;
}

const DIGEST: Readonly<Record<HashName, (m: Uint8Array) => Uint8Array>> = { 'SHA-256': sha256, 'SHA-384': sha384, 'SHA-512': sha512 };
const DIGEST_LEN: Readonly<Record<HashName, number>> = { 'SHA-256': 32, 'SHA-384': 48, 'SHA-512': 64 };

/** The digest e of msg: msg itself when the caller hashed it (RangeError unless it is the hash's length). */
function digestOf(h: HashName, msg: Uint8Array, opts: { prehashed?: boolean }): Uint8Array {
  if (!opts.prehashed) return DIGEST[h](msg);
  if (msg.length !== DIGEST_LEN[h]) throw new RangeError(`expected a ${DIGEST_LEN[h]}-byte ${h} digest as the prehashed msg, got ${msg.length} bytes`);
  return msg;
}

// The generator yields only k in [1, n − 1]; the core then refuses one only if r or s is 0 (about 2/n),
// so a second nonce is practically never needed, and a bound turns a core that refuses every k into an
// error instead of a hang.
const MAX_NONCES = 16;

function aformat(opts: unknown): SignatureFormat {
  const f = typeof opts === 'object' && opts !== null ? (opts as { format?: unknown }).format : undefined;
  if (f !== 'der' && f !== 'p1363') throw new TypeError(`expected options.format 'der' or 'p1363', got ${String(f)}`);
  return f;
}

/**
 * r‖s as DER, each integer minimal, written into one array (this runs on every signature). r and s
 * are below n, so each INTEGER is at most L + 1 ≤ 67 bytes long, and the SEQUENCE at most 138.
 */
function toDer(c: Curve, rs: Uint8Array): Uint8Array {
  const L = c.L;
  let ri = 0;
  while (ri < L - 1 && rs[ri] === 0) ri++;
  let si = L;
  while (si < 2 * L - 1 && rs[si] === 0) si++;
  const rPad = rs[ri]! >> 7;
  const sPad = rs[si]! >> 7;
  const rLen = L - ri + rPad;
  const sLen = 2 * L - si + sPad;
  const body = 4 + rLen + sLen;
  const head = body < 0x80 ? 2 : 3;
  const out = new Uint8Array(head + body);
  out[0] = TAG.SEQUENCE;
  if (head === 2) out[1] = body;
  else out.set([0x81, body], 1);
  let o = head;
  out[o] = TAG.INTEGER;
  out[o + 1] = rLen;
  out.set(rs.subarray(ri, L), o + 2 + rPad);
  o += 2 + rLen;
  out[o] = TAG.INTEGER;
  out[o + 1] = sLen;
  out.set(rs.subarray(si, 2 * L), o + 2 + sPad);
  return out;
}

/** r‖s of a strictly DER-encoded signature, or null (non-minimal, negative, trailing data, too long). */
function fromDer(c: Curve, sig: Uint8Array): Uint8Array | null {
  try {
    const outer = new DerReader(sig);
    const seq = outer.seq();
    outer.end();
    const r = seq.uint();
    const s = seq.uint();
    seq.end();
    if (r.length > c.L || s.length > c.L) return null;
    const rs = new Uint8Array(2 * c.L);
    rs.set(r, c.L - r.length);
    rs.set(s, 2 * c.L - s.length);
    return rs;
  } catch (e) {
    if (e instanceof DerError) return null;
    throw e;
  }
}

const toBig = (b: Uint8Array): bigint => BigInt(`0x${Buffer.from(b).toString('hex') || '0'}`);

/** s := n − s when s > n/2 (s is public, so BigInt arithmetic is fine here). */
function normaliseS(c: Curve, rs: Uint8Array): void {
  const s = toBig(rs.subarray(c.L));
  if (s <= c.n >> 1n) return;
  rs.set(Buffer.from((c.n - s).toString(16).padStart(2 * c.L, '0'), 'hex'), c.L);
}

/**
 * A new key pair on `curve`: the private scalar is drawn by rejection sampling from
 * crypto.getRandomValues (FIPS 186-5 A.4.2): L random bytes, the excess top bits masked for P-521,
 * redrawn until the EC core accepts it as a scalar in [1, n − 1].
 */
export function generateKeyPair(curve: CurveName): EcKeyPair {
  const c = acurve(curve);
  const d = new Uint8Array(c.L);
  try {
    for (;;) {
      crypto.getRandomValues(d);
      d[0]! &= 0xff >>> (8 * c.L - c.bits);
      const xy = ecPublicKey(c, d);
      if (xy) return { privateKey: encodePkcs8(c, d, xy), publicKey: encodeSpki(c, xy) };
    }
  } finally {
    d.fill(0);
  }
}

/**
 * Signs msg (hashed here with `hash`, or its digest already with `prehashed`) with a PKCS#8 DER or KeyObject private key on `curve`.
 * The nonce is RFC 6979's, hedged with 32 fresh random bytes unless `deterministic` is set.
 * Throws TypeError for wrong argument types or names, InvalidKeyError for an unusable key.
 */
export function sign(curve: CurveName, hash: HashName, privateKey: KeyInput, msg: Uint8Array, opts: SignOptions): Uint8Array {
  const c = acurve(curve);
  const h = ahash(hash);
  abytes(msg, 'msg');
  const format = aformat(opts);
  const e = digestOf(h, msg, opts);
  const d = readPrivateKey(c, privateKey);
  const extra = opts.deterministic ? undefined : crypto.getRandomValues(new Uint8Array(32));
  let rs: Uint8Array | null = null;
  try {
    let tries = 0;
    for (const k of rfc6979Nonces(h, c, d, e, extra)) {
      rs = ecdsaSignRaw(c, d, k, e);
      if (rs || ++tries === MAX_NONCES) break;
    }
  } finally {
    d.fill(0);
    extra?.fill(0);
  }
  if (!rs) throw new Error(`ECDSA ${c.name}: the EC core refused ${MAX_NONCES} nonces in a row`);
  if (opts.lowS) normaliseS(c, rs);
  return format === 'der' ? toDer(c, rs) : rs;
}

/**
 * Whether sig is a valid ECDSA signature of msg under publicKey (SPKI DER, SEC1 point, or KeyObject)
 * on `curve`. Malformed, non-canonical or out-of-range signatures and keys give false; only wrong
 * argument types or unknown curve, hash or format names throw (TypeError). High-S is accepted.
 */
export function verify(curve: CurveName, hash: HashName, publicKey: KeyInput, msg: Uint8Array, sig: Uint8Array, opts: VerifyOptions): boolean {
  const c = acurve(curve);
  const h = ahash(hash);
  abytes(msg, 'msg');
  abytes(sig, 'sig');
  const format = aformat(opts);
  const e = digestOf(h, msg, opts);
  let q: Uint8Array;
  try {
    q = readPublicKey(c, publicKey);
  } catch (e) {
    if (e instanceof InvalidKeyError) return false;
    throw e;
  }
  const rs = format === 'der' ? fromDer(c, sig) : sig.length === 2 * c.L ? sig : null;
  if (!rs) return false;
  return ecdsaVerifyRaw(c, q, e, rs);
}

/** ECDSA over the four curves: key generation, signing and verification. */
export const ecdsa = { generateKeyPair, sign, verify };
