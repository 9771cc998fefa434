// A TLS key pair kept wrapped under a CMK: GenerateDataKeyPairWithoutPlaintext's output in a JSON file
// (the public key and the PrivateKeyCiphertextBlob, never the private key). A terminator unwraps it with
// Decrypt into its own memory only, as the PKCS#8 it hands to OpenSSL, and zeroes its copy.
import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { AsymmetricKeySpec } from '../crypto/provider.js';
import type { Keyward } from '../kms/keyward.js';
import type { EncryptionContext } from '../kms/types.js';

export const KEYPAIR_FORMAT = 'keyward-wrapped-keypair/1';

export interface WrappedKeyPair {
  format: typeof KEYPAIR_FORMAT;
  /** The CMK's ARN, as GenerateDataKeyPair returned it. */
  keyId: string;
  keyPairSpec: AsymmetricKeySpec;
  /** Base64 DER SubjectPublicKeyInfo. */
  publicKey: string;
  /** Base64 ciphertext blob of the PKCS#8 private key under the CMK. */
  privateKeyCiphertextBlob: string;
  encryptionContext?: EncryptionContext;
}

/** A wrapped key pair file that is missing, malformed, or does not unwrap to its own public key. */
export class KeyPairError extends Error {
  override name = 'KeyPairError';
}

/** A new key pair of spec whose private key exists only wrapped under the CMK keyId. */
export async function createWrappedKeyPair(kw: Keyward, keyId: string, spec: AsymmetricKeySpec, context?: EncryptionContext): Promise<WrappedKeyPair> {
  const r = await kw.generateDataKeyPairWithoutPlaintext({ KeyId: keyId, KeyPairSpec: spec, ...(context ? { EncryptionContext: context } : {}) });
  return {
    format: KEYPAIR_FORMAT,
    keyId: r.KeyId,
    keyPairSpec: r.KeyPairSpec,
    publicKey: Buffer.from(r.PublicKey).toString('base64'),
    privateKeyCiphertextBlob: Buffer.from(r.PrivateKeyCiphertextBlob).toString('base64'),
    ...(context ? { encryptionContext: context } : {}),
  };
}

const B64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** Reads and checks a wrapped key pair file. */
export function readWrappedKeyPair(file: string): WrappedKeyPair {
  let v: unknown;
  try {
    v = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new KeyPairError(`cannot read the wrapped key pair file ${file}: ${code ?? (e as Error).message}`);
  }
  const p = v as Partial<WrappedKeyPair>;
  if (typeof v !== 'object' || v === null || p.format !== KEYPAIR_FORMAT) throw new KeyPairError(`${file} is not a wrapped key pair file (expected "format": "${KEYPAIR_FORMAT}")`);
  for (const f of ['keyId', 'keyPairSpec', 'publicKey', 'privateKeyCiphertextBlob'] as const) {
    if (typeof p[f] !== 'string' || p[f].length === 0) throw new KeyPairError(`${file}: "${f}" is missing or not a string`);
  }
  if (!B64.test(p.publicKey!) || !B64.test(p.privateKeyCiphertextBlob!)) throw new KeyPairError(`${file}: "publicKey" and "privateKeyCiphertextBlob" must be base64`);
  if (p.encryptionContext !== undefined && (typeof p.encryptionContext !== 'object' || p.encryptionContext === null || Object.values(p.encryptionContext).some((x) => typeof x !== 'string'))) {
    throw new KeyPairError(`${file}: "encryptionContext" must map names to strings`);
  }
  return p as WrappedKeyPair;
}

/**
 * Decrypts the private key (the engine's Decrypt: key policy, grants and audit apply) and returns it as
 * a KeyObject, after checking it belongs to the file's public key. The plaintext PKCS#8 is zeroed.
 */
export async function unwrapPrivateKey(kw: Keyward, pair: WrappedKeyPair): Promise<KeyObject> {
  const der = await unwrapPkcs8(kw, pair);
  try {
    return createPrivateKey({ key: Buffer.from(der.buffer, der.byteOffset, der.length), format: 'der', type: 'pkcs8' });
  } finally {
    der.fill(0);
  }
}

/** The private key as DER PKCS#8, checked against the public key; the caller zeroes it after use. */
export async function unwrapPkcs8(kw: Keyward, pair: WrappedKeyPair): Promise<Uint8Array> {
  const r = await kw.decrypt({
    CiphertextBlob: Buffer.from(pair.privateKeyCiphertextBlob, 'base64'),
    KeyId: pair.keyId,
    ...(pair.encryptionContext ? { EncryptionContext: pair.encryptionContext } : {}),
  });
  const der = r.Plaintext;
  let spki: Buffer;
  try {
    spki = createPublicKey(createPrivateKey({ key: Buffer.from(der.buffer, der.byteOffset, der.length), format: 'der', type: 'pkcs8' })).export({ format: 'der', type: 'spki' });
  } catch (e) {
    der.fill(0);
    throw new KeyPairError(`the unwrapped private key is not a PKCS#8 key: ${(e as Error).message}`);
  }
  if (!spki.equals(Buffer.from(pair.publicKey, 'base64'))) {
    der.fill(0);
    throw new KeyPairError(`the private key unwrapped under ${pair.keyId} does not belong to the file's public key`);
  }
  return der;
}

const ALPHABET = Buffer.from('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/');

/**
 * DER PKCS#8 as a PEM Buffer (what OpenSSL's TLS key loader reads), base64-encoded byte by byte so the
 * secret never passes through an immutable JS string; the caller zeroes the Buffer after use.
 */
export function pkcs8PemBuffer(der: Uint8Array): Buffer {
  const head = Buffer.from('-----BEGIN PRIVATE KEY-----\n');
  const tail = Buffer.from('-----END PRIVATE KEY-----\n');
  const chars = Math.ceil(der.length / 3) * 4;
  const out = Buffer.alloc(head.length + chars + Math.ceil(chars / 64) + tail.length);
  let o = head.copy(out, 0);
  let col = 0;
  const put = (c: number) => {
    out[o++] = c;
    if (++col === 64) {
      out[o++] = 0x0a;
      col = 0;
    }
  };
  for (let i = 0; i < der.length; i += 3) {
    const n = i + 2 < der.length ? 3 : der.length - i;
    const b = (der[i]! << 16) | ((n > 1 ? der[i + 1]! : 0) << 8) | (n > 2 ? der[i + 2]! : 0);
    put(ALPHABET[(b >> 18) & 63]!);
    put(ALPHABET[(b >> 12) & 63]!);
    put(n > 1 ? ALPHABET[(b >> 6) & 63]! : 0x3d);
    put(n > 2 ? ALPHABET[b & 63]! : 0x3d);
  }
  if (col !== 0) out[o++] = 0x0a;
  o += tail.copy(out, o);
  return out.subarray(0, o);
}
