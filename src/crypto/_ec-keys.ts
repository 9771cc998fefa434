// The elliptic curves Keyward supports and their key formats: SEC1 points (uncompressed and compressed),
// SubjectPublicKeyInfo DER (RFC 5480), PKCS#8 DER holding an RFC 5915 ECPrivateKey, JWK (RFC 7518 §6.2),
// and node KeyObjects. Also the glue to the WASM EC core (assembly/ec), which does all point arithmetic:
// integers cross as big-endian L-byte strings and points as X‖Y (2L bytes) through the EC_BUF region.
import { createPublicKey, KeyObject } from 'node:crypto';
import { bitsTlv, DerError, DerReader, TAG, tlv, uintTlv } from './_der.js';
import { scalarInRange, type NonceCurve } from './_rfc6979.js';
import { isBytes } from './_validate.js';
import { mem, region, wasm, wipe } from './_wasm.js';
import { InvalidKeyError } from './errors.js';

export type CurveName = 'P-256' | 'P-384' | 'P-521' | 'secp256k1';

export interface Curve extends NonceCurve {
  name: CurveName;
  /** The curve id of the WASM core. */
  id: number;
  /** The group order n. */
  n: bigint;
  /** The named-curve OID TLV (RFC 5480 §2.1.1.1, SEC 2 §A.2). */
  oid: Uint8Array;
}

const oid = (hex: string): Uint8Array => Uint8Array.from(Buffer.from(hex, 'hex'));
const curve = (name: CurveName, id: number, bits: number, n: string, oidHex: string): Curve => {
  const L = Math.ceil(bits / 8);
  return { name, id, bits, L, n: BigInt(`0x${n}`), nBytes: oid(n.padStart(2 * L, '0')), oid: oid(oidHex) };
};

export const CURVES: Readonly<Record<CurveName, Curve>> = {
  'P-256': curve('P-256', 0, 256, 'ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551', '06082a8648ce3d030107'),
  'P-384': curve(
    'P-384',
    1,
    384,
    'ffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973',
    '06052b81040022',
  ),
  'P-521': curve(
    'P-521',
    2,
    521,
    '1fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffa51868783bf2f966b7fcc0148f709a5d03bb5c9b8899c47aebb6fb71e91386409',
    '06052b81040023',
  ),
  secp256k1: curve('secp256k1', 3, 256, 'fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141', '06052b8104000a'),
};

/** id-ecPublicKey, 1.2.840.10045.2.1 (RFC 5480 §2.1.1). */
const OID_EC = oid('06072a8648ce3d0201');
const OID_EC_BODY = OID_EC.subarray(2);

/** Asserts name is a supported curve name. */
export function acurve(name: unknown): Curve {
  if (typeof name !== 'string' || !Object.hasOwn(CURVES, name)) {
    throw new TypeError(`expected curve 'P-256', 'P-384', 'P-521' or 'secp256k1', got ${String(name)}`);
  }
  return CURVES[name as CurveName];
}

/** Whether the public bytes a and b are equal (no Buffer copies: key parsing runs on every sign). */
function bytesEq(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

const CURVE_OIDS = Object.values(CURVES).map((c) => ({ c, body: c.oid.subarray(2) }));
const curveByOid = (o: Uint8Array): Curve | undefined => CURVE_OIDS.find(({ body }) => bytesEq(body, o))?.c;

// ---- The WASM EC core ----

type Fn = (...args: number[]) => number;
const W = {
  ecPublicKey: wasm.ecPublicKey as Fn,
  ecdsaSign: wasm.ecdsaSign as Fn,
  ecdsaVerify: wasm.ecdsaVerify as Fn,
  ecdh: wasm.ecdh as Fn,
  ecPointValid: wasm.ecPointValid as Fn,
  ecDecompress: wasm.ecDecompress as Fn,
};
const EC_BUF = region('EC_BUF');

// Slots of EC_BUF, each large enough for a P-521 point (132 bytes).
const A = 0;
const B = 136;
const C = 272;
const D = 408;
const EC_BUF_USED = 544;

const at = (off: number): number => EC_BUF + off;
function put(off: number, x: Uint8Array): number {
  mem().set(x, at(off));
  return at(off);
}
const get = (off: number, len: number): Uint8Array => mem().slice(at(off), at(off) + len);
const clear = (): void => wipe(EC_BUF, EC_BUF_USED);

/** d·G as X‖Y, or null if d ∉ [1, n − 1]. */
export function ecPublicKey(c: Curve, d: Uint8Array): Uint8Array | null {
  try {
    return W.ecPublicKey(c.id, put(B, d), at(D)) ? get(D, 2 * c.L) : null;
  } finally {
    clear();
  }
}

/** r‖s for digest e with nonce k, or null when d or k is out of range or r or s is 0 (take another k). */
export function ecdsaSignRaw(c: Curve, d: Uint8Array, k: Uint8Array, e: Uint8Array): Uint8Array | null {
  try {
    return W.ecdsaSign(c.id, put(A, d), put(B, k), put(C, e), e.length, at(D)) ? get(D, 2 * c.L) : null;
  } finally {
    clear();
  }
}

/** Whether r‖s is a valid signature of digest e under the point q (X‖Y); ranges checked in WASM. */
export function ecdsaVerifyRaw(c: Curve, q: Uint8Array, e: Uint8Array, sig: Uint8Array): boolean {
  return W.ecdsaVerify(c.id, put(A, q), put(C, e), e.length, put(D, sig)) === 1;
}

/** x(d·Q), or null if the point is invalid or the result is infinity. */
export function ecdhRaw(c: Curve, d: Uint8Array, q: Uint8Array): Uint8Array | null {
  try {
    return W.ecdh(c.id, put(B, d), put(A, q), at(D)) ? get(D, c.L) : null;
  } finally {
    clear();
  }
}

// ---- SEC1 points ----

/**
 * The X‖Y form of a SEC1 point (SEC 1 v2 §2.3.4): 0x04‖X‖Y, or 0x02/0x03‖X decompressed. Throws
 * InvalidKeyError for a wrong length or prefix, the point at infinity, or a point not on the curve.
 */
export function pointFromSec1(c: Curve, p: Uint8Array): Uint8Array {
  const L = c.L;
  if (p.length === 2 * L + 1 && p[0] === 0x04) {
    const xy = Uint8Array.from(p.subarray(1)); // a copy: Buffer#slice would be a view
    if (!W.ecPointValid(c.id, put(A, xy))) throw new InvalidKeyError('NOT_ON_CURVE', `public key is not a point of ${c.name}`);
    return xy;
  }
  if (p.length === L + 1 && (p[0] === 0x02 || p[0] === 0x03)) {
    if (!W.ecDecompress(c.id, put(A, p.subarray(1)), p[0] & 1, at(D))) {
      throw new InvalidKeyError('NOT_ON_CURVE', `compressed public key is not a point of ${c.name}`);
    }
    return get(D, 2 * L);
  }
  throw new InvalidKeyError(
    'MALFORMED',
    `expected a ${c.name} SEC1 point of ${2 * L + 1} bytes (0x04…) or ${L + 1} bytes (0x02/0x03…), got ${p.length} bytes`,
  );
}

/** SEC1 encoding of X‖Y. */
export function sec1(xy: Uint8Array, compressed: boolean): Uint8Array {
  const L = xy.length / 2;
  if (!compressed) return Uint8Array.of(0x04, ...xy);
  const out = new Uint8Array(L + 1);
  out[0] = 0x02 | (xy[2 * L - 1]! & 1);
  out.set(xy.subarray(0, L), 1);
  return out;
}

// ---- SPKI and PKCS#8 ----

function malformed(what: string, e: unknown): InvalidKeyError {
  return new InvalidKeyError('MALFORMED', `malformed ${what}${e instanceof DerError ? `: ${e.message}` : ''}`);
}

/** Reads AlgorithmIdentifier { id-ecPublicKey, namedCurve }; explicit curve parameters are refused. */
function readAlgorithm(r: DerReader): Curve {
  const alg = r.seq();
  if (!bytesEq(alg.read(TAG.OID), OID_EC_BODY)) throw new InvalidKeyError('MALFORMED', 'not an EC key (id-ecPublicKey)');
  if (alg.peek() !== TAG.OID) throw new InvalidKeyError('MALFORMED', 'EC key without a named curve (explicit parameters are not supported)');
  const o = alg.read(TAG.OID);
  alg.end();
  const c = curveByOid(o);
  if (!c) throw new InvalidKeyError('WRONG_CURVE', 'EC key on an unsupported curve');
  return c;
}

/** The curve and SEC1 point of a SubjectPublicKeyInfo (RFC 5480 §2), strictly DER. */
export function parseSpki(der: Uint8Array): { curve: Curve; point: Uint8Array } {
  try {
    const outer = new DerReader(der);
    const r = outer.seq();
    outer.end();
    const c = readAlgorithm(r);
    const point = r.bits();
    r.end();
    return { curve: c, point };
  } catch (e) {
    if (e instanceof InvalidKeyError) throw e;
    throw malformed('SubjectPublicKeyInfo', e);
  }
}

export function encodeSpki(c: Curve, xy: Uint8Array): Uint8Array {
  return tlv(TAG.SEQUENCE, tlv(TAG.SEQUENCE, OID_EC, c.oid), bitsTlv(sec1(xy, false)));
}

/**
 * The curve, private scalar (a fresh L-byte copy the caller wipes) and embedded SEC1 public key, if
 * any, of a PKCS#8 PrivateKeyInfo (RFC 5208) wrapping an ECPrivateKey (RFC 5915 §3).
 */
export function parsePkcs8(der: Uint8Array): { curve: Curve; d: Uint8Array; point?: Uint8Array } {
  try {
    const outer = new DerReader(der);
    const r = outer.seq();
    outer.end();
    const version = r.uint();
    if (version.length !== 1 || version[0] !== 0) throw new InvalidKeyError('MALFORMED', 'unsupported PKCS#8 version');
    const c = readAlgorithm(r);
    const inner = new DerReader(r.read(TAG.OCTET_STRING));
    r.end();
    const ec = inner.seq();
    inner.end();
    const v = ec.uint();
    if (v.length !== 1 || v[0] !== 1) throw new InvalidKeyError('MALFORMED', 'unsupported ECPrivateKey version');
    const dRaw = ec.read(TAG.OCTET_STRING);
    // RFC 5915 fixes the length at ceil(log2(n)/8); shorter strings came from encoders that dropped
    // leading zeros, and are padded back.
    if (dRaw.length === 0 || dRaw.length > c.L) throw new InvalidKeyError('MALFORMED', `${c.name} private key of ${dRaw.length} bytes`);
    if (ec.peek() === TAG.CTX0) {
      const params = new DerReader(ec.read(TAG.CTX0));
      const o = params.read(TAG.OID);
      params.end();
      if (curveByOid(o) !== c) throw new InvalidKeyError('MALFORMED', 'ECPrivateKey parameters name another curve');
    }
    let point: Uint8Array | undefined;
    if (ec.peek() === TAG.CTX1) {
      const pub = new DerReader(ec.read(TAG.CTX1));
      point = pub.bits();
      pub.end();
    }
    ec.end();
    const d = new Uint8Array(c.L);
    d.set(dRaw, c.L - dRaw.length);
    // Copied (Buffer#slice would not): callers wipe the DER of a KeyObject export, which a view shares.
    return point ? { curve: c, d, point: Uint8Array.from(point) } : { curve: c, d };
  } catch (e) {
    if (e instanceof InvalidKeyError) throw e;
    throw malformed('PKCS#8 private key', e);
  }
}

/** PKCS#8 of (d, X‖Y), laid out as OpenSSL writes it (no [0] parameters, [1] public key). */
export function encodePkcs8(c: Curve, d: Uint8Array, xy: Uint8Array): Uint8Array {
  const dTlv = tlv(TAG.OCTET_STRING, d);
  const ecKey = tlv(TAG.SEQUENCE, uintTlv(Uint8Array.of(1)), dTlv, tlv(TAG.CTX1, bitsTlv(sec1(xy, false))));
  const wrapped = tlv(TAG.OCTET_STRING, ecKey);
  const out = tlv(TAG.SEQUENCE, uintTlv(Uint8Array.of(0)), tlv(TAG.SEQUENCE, OID_EC, c.oid), wrapped);
  for (const b of [dTlv, ecKey, wrapped]) b.fill(0);
  return out;
}

// ---- Arguments: bytes or KeyObjects ----

/** A key argument: DER bytes (SPKI, PKCS#8) or a SEC1 point, or a node KeyObject. */
export type KeyInput = Uint8Array | KeyObject;

function keyObjectDer(k: KeyObject, want: 'public' | 'private'): Uint8Array {
  if (k.asymmetricKeyType !== 'ec') throw new InvalidKeyError('MALFORMED', `expected an EC KeyObject, got ${k.asymmetricKeyType ?? k.type}`);
  if (want === 'private') {
    if (k.type !== 'private') throw new InvalidKeyError('MALFORMED', `expected a private KeyObject, got a ${k.type} one`);
    return k.export({ format: 'der', type: 'pkcs8' });
  }
  return (k.type === 'private' ? createPublicKey(k) : k).export({ format: 'der', type: 'spki' });
}

function typeError(name: string, key: unknown, what: string): TypeError {
  const got = key === null ? 'null' : typeof key === 'object' ? (key as object).constructor?.name ?? 'object' : typeof key;
  return new TypeError(`expected ${name} to be ${what}, got ${got}`);
}

/**
 * The X‖Y point of a public key argument for curve c: SPKI DER, a SEC1 point or a KeyObject (a
 * private one gives its public half). Throws TypeError for another type, InvalidKeyError otherwise.
 */
export function readPublicKey(c: Curve, key: unknown, name = 'publicKey'): Uint8Array {
  let bytes: Uint8Array;
  if (key instanceof KeyObject) bytes = keyObjectDer(key, 'public');
  else if (isBytes(key)) bytes = key;
  else throw typeError(name, key, 'a Uint8Array (SPKI DER or SEC1 point) or a KeyObject');
  if (bytes[0] !== TAG.SEQUENCE) return pointFromSec1(c, bytes);
  const spki = parseSpki(bytes);
  if (spki.curve !== c) throw new InvalidKeyError('WRONG_CURVE', `expected a ${c.name} key, got a ${spki.curve.name} one`);
  return pointFromSec1(c, spki.point);
}

/**
 * The private scalar (L bytes; the caller wipes it) of a PKCS#8 DER or KeyObject private key for
 * curve c, checked to be in [1, n − 1].
 */
export function readPrivateKey(c: Curve, key: unknown, name = 'privateKey'): Uint8Array {
  let der: Uint8Array;
  const fromKeyObject = key instanceof KeyObject;
  if (key instanceof KeyObject) der = keyObjectDer(key, 'private');
  else if (isBytes(key)) der = key;
  else throw typeError(name, key, 'a Uint8Array (PKCS#8 DER) or a KeyObject');
  try {
    const { curve: kc, d } = parsePkcs8(der);
    if (kc !== c) {
      d.fill(0);
      throw new InvalidKeyError('WRONG_CURVE', `expected a ${c.name} key, got a ${kc.name} one`);
    }
    if (!scalarInRange(d, c.nBytes)) {
      d.fill(0);
      throw new InvalidKeyError('OUT_OF_RANGE', `${c.name} private key is not in [1, n − 1]`);
    }
    return d;
  } finally {
    if (fromKeyObject) der.fill(0);
  }
}

// ---- Public helpers: ecKeys ----

/** A JSON Web Key of an EC key (RFC 7518 §6.2); `d` only in private keys. */
export interface EcJwk {
  kty: 'EC';
  crv: CurveName;
  x: string;
  y: string;
  d?: string;
}

const b64u = (b: Uint8Array): string => Buffer.from(b).toString('base64url');
function unb64u(s: unknown, len: number, field: string): Uint8Array {
  if (typeof s !== 'string') throw new InvalidKeyError('MALFORMED', `JWK field ${field} is missing`);
  const b = Uint8Array.from(Buffer.from(s, 'base64url'));
  // Buffer's decoder skips invalid characters; only the canonical unpadded encoding is accepted.
  if (b.length !== len || b64u(b) !== s) throw new InvalidKeyError('MALFORMED', `JWK field ${field} is not ${len} bytes of base64url`);
  return b;
}

/** DER bytes or a KeyObject, classified: PKCS#8 or SPKI. */
function parseAny(key: unknown, name: string): { curve: Curve; d?: Uint8Array; xy: Uint8Array } {
  let der: Uint8Array;
  if (key instanceof KeyObject) der = keyObjectDer(key, key.type === 'private' ? 'private' : 'public');
  else if (isBytes(key)) der = key;
  else throw typeError(name, key, 'a Uint8Array (SPKI or PKCS#8 DER) or a KeyObject');
  // PrivateKeyInfo starts with its version INTEGER, SubjectPublicKeyInfo with its AlgorithmIdentifier.
  let isPrivate = false;
  try {
    const r = new DerReader(der).seq();
    isPrivate = r.peek() === TAG.INTEGER;
  } catch (e) {
    throw malformed('key', e);
  }
  if (!isPrivate) {
    const { curve: c, point } = parseSpki(der);
    return { curve: c, xy: pointFromSec1(c, point) };
  }
  const { curve: c, d, point } = parsePkcs8(der);
  if (key instanceof KeyObject) der.fill(0);
  if (!scalarInRange(d, c.nBytes)) {
    d.fill(0);
    throw new InvalidKeyError('OUT_OF_RANGE', `${c.name} private key is not in [1, n − 1]`);
  }
  const xy = ecPublicKey(c, d)!;
  if (point && !Buffer.from(pointFromSec1(c, point)).equals(xy)) {
    d.fill(0);
    throw new InvalidKeyError('MISMATCH', 'the public key in the PKCS#8 key is not that of its private key');
  }
  return { curve: c, d, xy };
}

/** Key format conversions for the four curves; every input is validated (DER strictness, point on curve). */
export const ecKeys = {
  /** The curve of an SPKI or PKCS#8 DER key or an EC KeyObject. */
  curveOf(key: KeyInput): CurveName {
    const r = parseAny(key, 'key');
    r.d?.fill(0);
    return r.curve.name;
  },

  /** The SEC1 point of a public or private key (SPKI/PKCS#8 DER, KeyObject), uncompressed by default. */
  publicPoint(key: KeyInput, { compressed = false }: { compressed?: boolean } = {}): Uint8Array {
    const r = parseAny(key, 'key');
    r.d?.fill(0);
    return sec1(r.xy, compressed);
  },

  /** The SPKI DER public key of a public or private key (SPKI/PKCS#8 DER, KeyObject). */
  publicKey(key: KeyInput): Uint8Array {
    const r = parseAny(key, 'key');
    r.d?.fill(0);
    return encodeSpki(r.curve, r.xy);
  },

  /** SPKI DER of a SEC1 point (compressed or not) on the given curve; always written uncompressed. */
  spki(curveName: CurveName, point: Uint8Array): Uint8Array {
    const c = acurve(curveName);
    if (!isBytes(point)) throw typeError('point', point, 'a Uint8Array');
    return encodeSpki(c, pointFromSec1(c, point));
  },

  /** PKCS#8 DER of a raw private scalar (L big-endian bytes), with its public key inside. */
  pkcs8(curveName: CurveName, d: Uint8Array): Uint8Array {
    const c = acurve(curveName);
    if (!isBytes(d)) throw typeError('d', d, 'a Uint8Array');
    if (d.length !== c.L) throw new InvalidKeyError('MALFORMED', `expected a ${c.L}-byte ${c.name} private key, got ${d.length} bytes`);
    const xy = ecPublicKey(c, d);
    if (!xy) throw new InvalidKeyError('OUT_OF_RANGE', `${c.name} private key is not in [1, n − 1]`);
    return encodePkcs8(c, d, xy);
  },

  /** The JWK of a key (SPKI/PKCS#8 DER, KeyObject): with `d` for a private key. */
  toJwk(key: KeyInput): EcJwk {
    const { curve: c, d, xy } = parseAny(key, 'key');
    const jwk: EcJwk = { kty: 'EC', crv: c.name, x: b64u(xy.subarray(0, c.L)), y: b64u(xy.subarray(c.L)) };
    if (d) {
      jwk.d = b64u(d);
      d.fill(0);
    }
    return jwk;
  },

  /** PKCS#8 DER from a private JWK (one with `d`; x and y must match it), SPKI DER from a public one. */
  fromJwk(jwk: EcJwk): Uint8Array {
    if (typeof jwk !== 'object' || jwk === null) throw typeError('jwk', jwk, 'an object');
    if (jwk.kty !== 'EC') throw new InvalidKeyError('MALFORMED', `expected JWK kty 'EC', got ${String(jwk.kty)}`);
    if (typeof jwk.crv !== 'string' || !Object.hasOwn(CURVES, jwk.crv)) throw new InvalidKeyError('WRONG_CURVE', `unsupported JWK crv ${String(jwk.crv)}`);
    const c = CURVES[jwk.crv];
    const xy = new Uint8Array(2 * c.L);
    xy.set(unb64u(jwk.x, c.L, 'x'), 0);
    xy.set(unb64u(jwk.y, c.L, 'y'), c.L);
    if (!W.ecPointValid(c.id, put(A, xy))) throw new InvalidKeyError('NOT_ON_CURVE', `JWK x, y is not a point of ${c.name}`);
    if (jwk.d === undefined) return encodeSpki(c, xy);
    const d = unb64u(jwk.d, c.L, 'd');
    try {
      const q = ecPublicKey(c, d);
      if (!q) throw new InvalidKeyError('OUT_OF_RANGE', `${c.name} private key is not in [1, n − 1]`);
      if (!Buffer.from(q).equals(xy)) throw new InvalidKeyError('MISMATCH', 'JWK x, y is not the public key of d');
      return encodePkcs8(c, d, xy);
    } finally {
      d.fill(0);
    }
  },
};
