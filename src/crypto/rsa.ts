// RSA (RFC 8017) over the WASM core's modular arithmetic (_rsa-core.ts): RSASSA-PKCS1-v1_5 and
// RSASSA-PSS signatures, RSAES-OAEP encryption, key generation, and the key formats (PKCS#1, PKCS#8,
// SPKI, JWK, node KeyObjects). Encodings are in _rsa-pad.ts, DER and JWK codecs in _rsa-der.ts.
// Private components live in JS only as byte arrays owned by this module, zeroed after each call.
import { KeyObject } from 'node:crypto';
import {
  classifyDer,
  encodePkcs1Private,
  encodePkcs1Public,
  encodePkcs8,
  encodeSpki,
  jwkToParts,
  parsePrivateDer,
  parsePublicDer,
  partsToJwk,
  wipeParts,
  bitLength,
  PRIVATE_FIELDS,
  type RsaJwk,
  type RsaPrivateParts,
  type RsaPublicParts,
} from './_rsa-der.js';
import { modulusBytes, rsaCheckKey, rsaGenerate, rsaPrivateOp, rsaPublicOp } from './_rsa-core.js';
import {
  emeOaepDecode,
  emeOaepEncode,
  emsaPkcs1Encode,
  emsaPssEncode,
  emsaPssVerify,
  EncodingError,
  oaepMaxMessage,
  RSA_HASH,
  type RsaHashName,
} from './_rsa-pad.js';
import { abytes, aint, isBytes } from './_validate.js';
import { DecryptionError, InvalidKeyError } from './errors.js';
import { sha256 } from './sha2.js';

export type { RsaHashName, RsaJwk };

/** A key argument: DER bytes (PKCS#8, PKCS#1, SPKI; told apart by structure) or a node KeyObject. */
export type RsaKeyInput = Uint8Array | KeyObject;

/** RSA modulus sizes Keyward generates (AWS KMS RSA_2048, RSA_3072, RSA_4096). */
export type RsaBits = 2048 | 3072 | 4096;

/** Signature parameters. `saltLength` is PSS only: default hash length when signing, any when verifying. */
export interface RsaSignParams {
  scheme: 'pkcs1' | 'pss';
  hash: 'SHA-256' | 'SHA-384' | 'SHA-512';
  saltLength?: number;
  /** msg is already the digest of `hash` (exactly its length), as AWS KMS MessageType DIGEST. */
  prehashed?: boolean;
}

/** Verification parameters: as for signing, and SHA-1 is accepted for legacy signatures. */
export interface RsaVerifyParams {
  scheme: 'pkcs1' | 'pss';
  hash: RsaHashName;
  saltLength?: number;
  /** msg is already the digest of `hash` (exactly its length). */
  prehashed?: boolean;
}

/** OAEP parameters: `hash` for the label and seed length, `mgfHash` for MGF1 (default: `hash`), `label` default empty. */
export interface RsaOaepParams {
  scheme: 'oaep';
  hash: RsaHashName;
  mgfHash?: RsaHashName;
  label?: Uint8Array;
}

/** A generated key pair: PKCS#8 DER private key and SPKI DER public key. */
export interface RsaKeyPair {
  privateKey: Uint8Array;
  publicKey: Uint8Array;
}

// ---- Argument checks (TypeError for wrong types, RangeError for wrong values) ----

const SIGN_HASHES = ['SHA-256', 'SHA-384', 'SHA-512'] as const;
const ALL_HASHES = ['SHA-1', ...SIGN_HASHES] as const;

function aparams(p: unknown): Record<string, unknown> {
  if (typeof p !== 'object' || p === null) throw new TypeError(`expected params to be an object, got ${p === null ? 'null' : typeof p}`);
  return p as Record<string, unknown>;
}

function ahashOf<H extends string>(h: unknown, allowed: readonly H[], name: string): H {
  if (!allowed.includes(h as H)) throw new TypeError(`expected ${name} ${allowed.map((a) => `'${a}'`).join(', ')}, got ${String(h)}`);
  return h as H;
}

interface SigParams {
  scheme: 'pkcs1' | 'pss';
  hash: RsaHashName;
  saltLength: number | undefined;
  prehashed: boolean;
}

function asigParams(params: unknown, forSigning: boolean): SigParams {
  const p = aparams(params);
  if (p.scheme !== 'pkcs1' && p.scheme !== 'pss') throw new TypeError(`expected params.scheme 'pkcs1' or 'pss', got ${String(p.scheme)}`);
  const hash = ahashOf(p.hash, forSigning ? SIGN_HASHES : ALL_HASHES, 'params.hash');
  let saltLength: number | undefined;
  if (p.saltLength !== undefined) {
    if (p.scheme !== 'pss') throw new TypeError('params.saltLength applies to the pss scheme only');
    saltLength = aint(p.saltLength, 'params.saltLength', 0, 512);
  }
  return { scheme: p.scheme, hash, saltLength, prehashed: p.prehashed === true };
}

/** mHash of msg: msg itself when prehashed (RangeError unless it is the hash's length). */
function messageHash(p: SigParams, msg: Uint8Array): Uint8Array {
  const h = RSA_HASH[p.hash];
  if (!p.prehashed) return h.digest(msg);
  if (msg.length !== h.len) throw new RangeError(`expected a ${h.len}-byte ${p.hash} digest as the prehashed msg, got ${msg.length} bytes`);
  return msg;
}

interface OaepParams {
  hash: RsaHashName;
  mgfHash: RsaHashName;
  label: Uint8Array;
}

function aoaepParams(params: unknown): OaepParams {
  const p = aparams(params);
  if (p.scheme !== 'oaep') throw new TypeError(`expected params.scheme 'oaep', got ${String(p.scheme)}`);
  const hash = ahashOf(p.hash, ALL_HASHES, 'params.hash');
  const mgfHash = p.mgfHash === undefined ? hash : ahashOf(p.mgfHash, ALL_HASHES, 'params.mgfHash');
  const label = p.label === undefined ? new Uint8Array(0) : abytes(p.label, 'params.label');
  return { hash, mgfHash, label };
}

function typeError(name: string, key: unknown, what: string): TypeError {
  const got = key === null ? 'null' : typeof key === 'object' ? (key as object).constructor?.name ?? 'object' : typeof key;
  return new TypeError(`expected ${name} to be ${what}, got ${got}`);
}

// ---- Keys ----

/** DER of a KeyObject (PKCS#8 for private, SPKI for public); the caller wipes it. */
function keyObjectDer(k: KeyObject): Uint8Array {
  if (k.asymmetricKeyType !== 'rsa') throw new InvalidKeyError('MALFORMED', `expected an RSA KeyObject, got ${k.asymmetricKeyType ?? k.type}`);
  return k.type === 'private' ? k.export({ format: 'der', type: 'pkcs8' }) : k.export({ format: 'der', type: 'spki' });
}

/** Runs fn on DER bytes of key, wiping the DER afterwards when this module made it (a KeyObject export). */
function withDer<T>(key: unknown, name: string, fn: (der: Uint8Array) => T): T {
  if (key instanceof KeyObject) {
    const der = keyObjectDer(key);
    try {
      return fn(der);
    } finally {
      der.fill(0);
    }
  }
  if (!isBytes(key)) throw typeError(name, key, 'a Uint8Array (PKCS#8, PKCS#1 or SPKI DER) or a KeyObject');
  return fn(key);
}

// SHA-256 fingerprints of private keys that passed rsaCheckKey. The check costs about a fifth of an
// RSA-2048 signature and its answer for the same components never changes, so a key used again skips
// it. Only digests are kept; oldest entries go first beyond CHECKED_MAX.
const checked = new Set<string>();
const CHECKED_MAX = 256;

function fingerprint(k: RsaPrivateParts): string {
  const fields = [k.n, k.e, ...PRIVATE_FIELDS.map((f) => k[f])];
  // Each component with a 2-byte length prefix, so different splits of the same bytes differ.
  const buf = new Uint8Array(fields.reduce((n, f) => n + 2 + f.length, 0));
  let off = 0;
  for (const f of fields) {
    buf[off] = f.length >> 8;
    buf[off + 1] = f.length & 0xff;
    buf.set(f, off + 2);
    off += 2 + f.length;
  }
  const digest = sha256(buf);
  buf.fill(0);
  return Buffer.from(digest).toString('base64');
}

/** Components of a private key, checked for consistency by the core; the caller wipes them. */
function checkedPrivate(k: RsaPrivateParts): RsaPrivateParts {
  const id = fingerprint(k);
  if (checked.has(id)) return k;
  if (!rsaCheckKey(k)) {
    wipeParts(k);
    throw new InvalidKeyError('MISMATCH', 'RSA private key components are inconsistent');
  }
  if (checked.size >= CHECKED_MAX) checked.delete(checked.values().next().value!);
  checked.add(id);
  return k;
}

function readPrivate(key: unknown, name = 'privateKey'): RsaPrivateParts {
  return checkedPrivate(withDer(key, name, parsePrivateDer));
}

/** The public components of any key argument; a private key gives its public half. */
function readPublic(key: unknown, name = 'publicKey'): RsaPublicParts {
  return withDer(key, name, (der) => {
    const f = classifyDer(der);
    if (f === 'spki' || f === 'pkcs1-public') return parsePublicDer(der);
    const k = parsePrivateDer(der);
    wipeParts(k);
    return { n: k.n, e: k.e };
  });
}

/** Either half of a key argument, as its format says. */
function readAny(key: unknown, name = 'key'): RsaPublicParts | RsaPrivateParts {
  return withDer(key, name, (der) => {
    const f = classifyDer(der);
    return f === 'spki' || f === 'pkcs1-public' ? parsePublicDer(der) : checkedPrivate(parsePrivateDer(der));
  });
}

function withPrivate<T>(key: unknown, fn: (k: RsaPrivateParts) => T): T {
  const k = readPrivate(key);
  try {
    return fn(k);
  } finally {
    wipeParts(k);
  }
}

function privateOp(k: RsaPrivateParts, x: Uint8Array): Uint8Array {
  const y = rsaPrivateOp(k, x);
  // Only reachable if x ≥ n, which the encodings rule out (their first byte is 0).
  if (y === null) throw new Error('RSA private operation refused an encoded message');
  return y;
}

function randomBytes(n: number): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(n));
}

// ---- The public API ----

const BITS: readonly RsaBits[] = [2048, 3072, 4096];

export const rsa = {
  /**
   * A new key pair with e = 65537 (FIPS 186-5 §A.1.3 probable primes, generated in the WASM core).
   * @param bits 2048, 3072 or 4096
   * @returns PKCS#8 DER private key and SPKI DER public key
   */
  generateKeyPair(bits: RsaBits): RsaKeyPair {
    if (typeof bits !== 'number') throw new TypeError(`expected bits to be a number, got ${typeof bits}`);
    if (!BITS.includes(bits)) throw new RangeError(`expected bits 2048, 3072 or 4096, got ${bits}`);
    const k = rsaGenerate(bits);
    try {
      return { privateKey: encodePkcs8(k), publicKey: encodeSpki(k) };
    } finally {
      wipeParts(k);
    }
  },

  /**
   * Signs msg (hashed here with params.hash, or already its digest with params.prehashed): RSASSA-PKCS1-v1_5 (RFC 8017 §8.2, deterministic) or
   * RSASSA-PSS (§8.1; MGF1 with the same hash, a random salt of params.saltLength bytes, default the
   * hash length). The private operation is CRT with blinding and checked with e before release.
   * @param privateKey PKCS#8 or PKCS#1 DER, or a private KeyObject; validated before use
   * @returns the k-byte signature
   * @throws TypeError for wrong argument types; InvalidKeyError for a bad key; RangeError when the salt does not fit
   */
  sign(params: RsaSignParams, privateKey: RsaKeyInput, msg: Uint8Array): Uint8Array {
    const p = asigParams(params, true);
    abytes(msg, 'msg');
    const mHash = messageHash(p, msg);
    return withPrivate(privateKey, (k) => {
      const em =
        p.scheme === 'pkcs1'
          ? emsaPkcs1Encode(p.hash, mHash, modulusBytes(k))
          : emsaPssEncode(p.hash, mHash, randomBytes(p.saltLength ?? RSA_HASH[p.hash].len), bitLength(k.n));
      return privateOp(k, em);
    });
  },

  /**
   * Verifies sig over msg. PKCS#1 v1.5 re-encodes the expected EM and compares it whole (no DigestInfo
   * parsing). PSS recovers the salt length unless params.saltLength requires one.
   * @param publicKey SPKI or PKCS#1 DER (a private key's public half is used too), or a KeyObject
   * @returns false for a wrong or malformed signature or an unusable key
   * @throws TypeError for wrong argument types only
   */
  verify(params: RsaVerifyParams, publicKey: RsaKeyInput, msg: Uint8Array, sig: Uint8Array): boolean {
    const p = asigParams(params, false);
    abytes(msg, 'msg');
    abytes(sig, 'sig');
    const mHash = messageHash(p, msg);
    let k: RsaPublicParts;
    try {
      k = readPublic(publicKey);
    } catch (e) {
      if (e instanceof InvalidKeyError) return false;
      throw e;
    }
    if (sig.length !== modulusBytes(k)) return false;
    const em = rsaPublicOp(k, sig);
    if (em === null) return false;
    if (p.scheme === 'pss') return emsaPssVerify(p.hash, mHash, em, bitLength(k.n), p.saltLength);
    let want: Uint8Array;
    try {
      want = emsaPkcs1Encode(p.hash, mHash, em.length);
    } catch (e) {
      if (e instanceof EncodingError) return false;
      throw e;
    }
    return Buffer.from(want).equals(Buffer.from(em));
  },

  /**
   * RSAES-OAEP encryption (RFC 8017 §7.1.1) with a random seed.
   * @returns the k-byte ciphertext
   * @throws RangeError when plaintext is longer than k − 2·hLen − 2 bytes
   */
  encrypt(params: RsaOaepParams, publicKey: RsaKeyInput, plaintext: Uint8Array): Uint8Array {
    const p = aoaepParams(params);
    abytes(plaintext, 'plaintext');
    const k = readPublic(publicKey);
    const kLen = modulusBytes(k);
    if (plaintext.length > oaepMaxMessage(p.hash, kLen)) {
      throw new RangeError(`expected plaintext of at most ${Math.max(0, oaepMaxMessage(p.hash, kLen))} bytes for OAEP-${p.hash} with a ${8 * kLen}-bit key, got ${plaintext.length}`);
    }
    const seed = randomBytes(RSA_HASH[p.hash].len);
    const em = emeOaepEncode(p.hash, p.mgfHash, p.label, plaintext, seed, kLen);
    seed.fill(0);
    try {
      const c = rsaPublicOp(k, em);
      if (c === null) throw new Error('RSA public operation refused an encoded message');
      return c;
    } finally {
      em.fill(0);
    }
  },

  /**
   * RSAES-OAEP decryption (RFC 8017 §7.1.2). Every failure (length, range, padding, label) throws the
   * same DecryptionError, and the padding checks run in constant time (see _rsa-pad.ts).
   * @throws DecryptionError; TypeError for wrong argument types; InvalidKeyError for a bad key
   */
  decrypt(params: RsaOaepParams, privateKey: RsaKeyInput, ciphertext: Uint8Array): Uint8Array {
    const p = aoaepParams(params);
    abytes(ciphertext, 'ciphertext');
    return withPrivate(privateKey, (k) => {
      const kLen = modulusBytes(k);
      if (ciphertext.length !== kLen || oaepMaxMessage(p.hash, kLen) < 0) throw new DecryptionError();
      const em = rsaPrivateOp(k, ciphertext);
      if (em === null) throw new DecryptionError();
      try {
        const m = emeOaepDecode(p.hash, p.mgfHash, p.label, em);
        if (m === null) throw new DecryptionError();
        return m;
      } finally {
        em.fill(0);
      }
    });
  },
};

/** Conversions between RSA key formats. Private keys are checked for consistency on the way in. */
export const rsaKeys = {
  /** PKCS#8 DER of a private key (PKCS#1 or PKCS#8 DER, KeyObject). */
  pkcs8(privateKey: RsaKeyInput): Uint8Array {
    return withPrivate(privateKey, encodePkcs8);
  },

  /** PKCS#1 DER: RSAPrivateKey of a private key, RSAPublicKey of a public one. */
  pkcs1(key: RsaKeyInput): Uint8Array {
    const k = readAny(key);
    try {
      return 'd' in k ? encodePkcs1Private(k) : encodePkcs1Public(k);
    } finally {
      wipeParts(k);
    }
  },

  /** SPKI DER of a public key, or of a private key's public half. */
  spki(key: RsaKeyInput): Uint8Array {
    return encodeSpki(readPublic(key, 'key'));
  },

  /** The JWK (RFC 7518 §6.3) of a key: with d, p, q, dp, dq, qi for a private key. */
  toJwk(key: RsaKeyInput): RsaJwk {
    const k = readAny(key);
    try {
      return partsToJwk(k);
    } finally {
      wipeParts(k);
    }
  },

  /** DER of a JWK: PKCS#8 for a private key (all CRT members required), SPKI for a public one. */
  fromJwk(jwk: RsaJwk): Uint8Array {
    const k = jwkToParts(jwk);
    if (!('d' in k)) return encodeSpki(k);
    try {
      return encodePkcs8(checkedPrivate(k));
    } finally {
      wipeParts(k);
    }
  },

  /** The modulus size in bits of any key argument. */
  modulusBits(key: RsaKeyInput): number {
    return bitLength(readPublic(key, 'key').n);
  },
};
