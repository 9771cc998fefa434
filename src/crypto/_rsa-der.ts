// RSA key encodings: PKCS#1 RSAPrivateKey and RSAPublicKey (RFC 8017 §A.1), PKCS#8 PrivateKeyInfo
// (RFC 5208) and SubjectPublicKeyInfo (RFC 5280 §4.1) with rsaEncryption (RFC 3279 §2.3.1), and JWK
// (RFC 7518 §6.3). Pure codecs over _der.ts: no arithmetic. Parsed components are fresh copies (never
// views of the caller's bytes), big-endian without leading zero bytes, so callers can wipe them.
import { DerError, DerReader, TAG, bitsTlv, tlv, uintTlv } from './_der.js';
import type { RsaPrivateComponents, RsaPublicComponents } from './_rsa-core.js';
import { InvalidKeyError } from './errors.js';

/** A public key: modulus and public exponent, big-endian, no leading zero bytes (the core's type). */
export type RsaPublicParts = RsaPublicComponents;

/** A two-prime private key (RFC 8017 §3.2, second representation plus d). */
export type RsaPrivateParts = RsaPrivateComponents;

export const PRIVATE_FIELDS = ['d', 'p', 'q', 'dp', 'dq', 'qi'] as const;

/** rsaEncryption 1.2.840.113549.1.1.1 with NULL parameters: the AlgorithmIdentifier TLV. */
const ALG_RSA = Uint8Array.from(Buffer.from('300d06092a864886f70d0101010500', 'hex'));

/** The moduli the WASM core's arithmetic handles. */
export const MIN_BITS = 1024;
export const MAX_BITS = 4096;

/** Bit length of a big-endian integer without leading zero bytes. */
export function bitLength(x: Uint8Array): number {
  if (x.length === 0) return 0;
  return 8 * (x.length - 1) + (32 - Math.clz32(x[0]!));
}

// A copy: Buffer#slice (Buffers reach here from node exports and callers) would be a view.
const copy = (x: Uint8Array): Uint8Array => Uint8Array.prototype.slice.call(x);

const strip = (x: Uint8Array): Uint8Array => {
  let i = 0;
  while (i < x.length - 1 && x[i] === 0) i++;
  return copy(x.subarray(i));
};

/** Wipes the private components of a key held by this library. */
export function wipeParts(k: RsaPublicParts | RsaPrivateParts): void {
  for (const f of PRIVATE_FIELDS) (k as Partial<RsaPrivateParts>)[f]?.fill(0);
}

/**
 * Checks what can be checked without arithmetic: n odd and 1024–4096 bits, e odd with 3 ≤ e < n.
 * FIPS 186-5 wants e > 2^16 for keys it generates; smaller odd e are still verified (Wycheproof, legacy).
 */
export function checkPublicParts(k: RsaPublicParts): void {
  const bits = bitLength(k.n);
  if (bits < MIN_BITS || bits > MAX_BITS) throw new InvalidKeyError('OUT_OF_RANGE', `expected a ${MIN_BITS}–${MAX_BITS}-bit RSA modulus, got ${bits} bits`);
  if ((k.n[k.n.length - 1]! & 1) === 0) throw new InvalidKeyError('OUT_OF_RANGE', 'RSA modulus is even');
  const ebits = bitLength(k.e);
  if ((k.e[k.e.length - 1]! & 1) === 0 || ebits < 2 || ebits >= bits) throw new InvalidKeyError('OUT_OF_RANGE', 'RSA public exponent must be odd and in [3, n)');
}

function malformed(what: string, e: unknown): InvalidKeyError {
  if (e instanceof InvalidKeyError) return e;
  return new InvalidKeyError('MALFORMED', `malformed ${what}: ${e instanceof Error ? e.message : String(e)}`);
}

function readPkcs1Public(r: DerReader): RsaPublicParts {
  const s = r.seq();
  const n = copy(s.uint());
  const e = copy(s.uint());
  s.end();
  return { n, e };
}

function readPkcs1Private(r: DerReader): RsaPrivateParts {
  const s = r.seq();
  const version = s.uint();
  // Version 1 is multi-prime (RFC 8017 §A.1.2): not supported.
  if (version.length !== 1 || version[0] !== 0) throw new DerError('RSAPrivateKey version is not 0 (two-prime)');
  const v = [] as Uint8Array[];
  try {
    for (let i = 0; i < 8; i++) v.push(copy(s.uint()));
    s.end();
  } catch (e) {
    for (const x of v) x.fill(0);
    throw e;
  }
  const [n, e, d, p, q, dp, dq, qi] = v as [Uint8Array, Uint8Array, Uint8Array, Uint8Array, Uint8Array, Uint8Array, Uint8Array, Uint8Array];
  return { n, e, d, p, q, dp, dq, qi };
}

function expectAlgorithm(r: DerReader): void {
  const alg = r.read(TAG.SEQUENCE);
  const want = ALG_RSA.subarray(2);
  if (!Buffer.from(alg).equals(Buffer.from(want))) throw new DerError('algorithm is not rsaEncryption with NULL parameters');
}

/** The kind and format of an RSA DER key, told by its structure. */
export type RsaDerFormat = 'spki' | 'pkcs1-public' | 'pkcs8' | 'pkcs1-private';

export function classifyDer(der: Uint8Array): RsaDerFormat {
  try {
    const s = new DerReader(der).seq();
    if (s.peek() === TAG.SEQUENCE) return 'spki';
    s.uint();
    if (s.peek() === TAG.SEQUENCE) return 'pkcs8';
    s.uint();
    return s.done ? 'pkcs1-public' : 'pkcs1-private';
  } catch (e) {
    throw malformed('RSA key DER', e);
  }
}

/** The components of an SPKI or PKCS#1 RSAPublicKey DER public key, range checked. */
export function parsePublicDer(der: Uint8Array): RsaPublicParts {
  let k: RsaPublicParts;
  try {
    const r = new DerReader(der);
    const format = classifyDer(der);
    if (format === 'spki') {
      const s = r.seq();
      expectAlgorithm(s);
      const inner = new DerReader(s.bits());
      s.end();
      k = readPkcs1Public(inner);
      inner.end();
    } else if (format === 'pkcs1-public') {
      k = readPkcs1Public(r);
    } else {
      throw new DerError('expected a public key (SPKI or PKCS#1 RSAPublicKey), got a private key');
    }
    r.end();
  } catch (e) {
    throw malformed('RSA public key', e);
  }
  checkPublicParts(k);
  return k;
}

/** The components (fresh copies; the caller wipes them) of a PKCS#8 or PKCS#1 DER private key. */
export function parsePrivateDer(der: Uint8Array): RsaPrivateParts {
  let k: RsaPrivateParts;
  try {
    const r = new DerReader(der);
    const format = classifyDer(der);
    if (format === 'pkcs8') {
      const s = r.seq();
      const version = s.uint();
      if (version.length !== 1 || version[0] !== 0) throw new DerError('PrivateKeyInfo version is not 0');
      expectAlgorithm(s);
      const inner = new DerReader(s.read(TAG.OCTET_STRING));
      // Optional [0] attributes are not written by node or OpenSSL for RSA keys; refused.
      s.end();
      k = readPkcs1Private(inner);
      inner.end();
    } else if (format === 'pkcs1-private') {
      k = readPkcs1Private(r);
    } else {
      throw new DerError('expected a private key (PKCS#8 or PKCS#1 RSAPrivateKey), got a public key');
    }
    r.end();
  } catch (e) {
    throw malformed('RSA private key', e);
  }
  try {
    checkPublicParts(k);
  } catch (e) {
    wipeParts(k);
    throw e;
  }
  return k;
}

/** RSAPublicKey (RFC 8017 §A.1.1). */
export function encodePkcs1Public(k: RsaPublicParts): Uint8Array {
  return tlv(TAG.SEQUENCE, uintTlv(k.n), uintTlv(k.e));
}

/** SubjectPublicKeyInfo with rsaEncryption. */
export function encodeSpki(k: RsaPublicParts): Uint8Array {
  return tlv(TAG.SEQUENCE, ALG_RSA, bitsTlv(encodePkcs1Public(k)));
}

/** RSAPrivateKey (RFC 8017 §A.1.2), version 0. Intermediate TLVs holding secrets are wiped. */
export function encodePkcs1Private(k: RsaPrivateParts): Uint8Array {
  const parts = [uintTlv(Uint8Array.of(0)), uintTlv(k.n), uintTlv(k.e), ...PRIVATE_FIELDS.map((f) => uintTlv(k[f]))];
  const out = tlv(TAG.SEQUENCE, ...parts);
  for (const p of parts) p.fill(0);
  return out;
}

/** PKCS#8 PrivateKeyInfo holding the RSAPrivateKey, laid out as node and OpenSSL write it. */
export function encodePkcs8(k: RsaPrivateParts): Uint8Array {
  const inner = encodePkcs1Private(k);
  const octets = tlv(TAG.OCTET_STRING, inner);
  const out = tlv(TAG.SEQUENCE, uintTlv(Uint8Array.of(0)), ALG_RSA, octets);
  inner.fill(0);
  octets.fill(0);
  return out;
}

// ---- JWK (RFC 7518 §6.3) ----

/** A JSON Web Key of an RSA key; the private members only in private keys. */
export interface RsaJwk {
  kty: 'RSA';
  n: string;
  e: string;
  d?: string;
  p?: string;
  q?: string;
  dp?: string;
  dq?: string;
  qi?: string;
}

const B64URL = /^[A-Za-z0-9_-]+$/;

function fromB64url(s: unknown, member: string): Uint8Array {
  // Strict: Buffer would skip characters outside the alphabet and accept padding.
  if (typeof s !== 'string' || !B64URL.test(s) || s.length % 4 === 1) throw new InvalidKeyError('MALFORMED', `JWK member ${member} is not base64url`);
  const raw = Buffer.from(s, 'base64url');
  const out = strip(raw);
  raw.fill(0);
  return out;
}

const toB64url = (x: Uint8Array): string => Buffer.from(strip(x)).toString('base64url');

/** The JWK of public (and, if given, private) components. */
export function partsToJwk(k: RsaPublicParts | RsaPrivateParts): RsaJwk {
  const jwk: RsaJwk = { kty: 'RSA', n: toB64url(k.n), e: toB64url(k.e) };
  if ('d' in k) for (const f of PRIVATE_FIELDS) jwk[f] = toB64url(k[f]);
  return jwk;
}

/**
 * The components of an RSA JWK: a private key when `d` is present (then all of p, q, dp, dq, qi are
 * required: Keyward does not recover the primes from n, e, d), else a public key.
 */
export function jwkToParts(jwk: unknown): RsaPublicParts | RsaPrivateParts {
  if (typeof jwk !== 'object' || jwk === null) throw new TypeError(`expected jwk to be an object, got ${jwk === null ? 'null' : typeof jwk}`);
  const j = jwk as Record<string, unknown>;
  if (j.kty !== 'RSA') throw new InvalidKeyError('MALFORMED', `expected a JWK with kty 'RSA', got ${String(j.kty)}`);
  const pub = { n: fromB64url(j.n, 'n'), e: fromB64url(j.e, 'e') };
  checkPublicParts(pub);
  if (j.d === undefined) {
    const extra = PRIVATE_FIELDS.filter((f) => j[f] !== undefined);
    if (extra.length > 0) throw new InvalidKeyError('MALFORMED', `JWK has ${extra.join(', ')} but no d`);
    return pub;
  }
  const priv: Partial<RsaPrivateParts> = { ...pub };
  try {
    for (const f of PRIVATE_FIELDS) priv[f] = fromB64url(j[f], f);
  } catch (e) {
    wipeParts(priv as RsaPrivateParts);
    throw e;
  }
  return priv as RsaPrivateParts;
}
