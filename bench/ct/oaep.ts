// EME-OAEP decoding (src/crypto/_rsa-pad.ts emeOaepDecode, RFC 8017 §7.1.2) with SHA-256 and a 2048-bit
// modulus: the three padding failures (Y ≠ 0, lHash mismatch, no 0x01 separator) are timed against each
// other in pairs, since telling them apart is Manger's attack. Two deliberately early-exit decoders are
// controls specific to this code: one returns as soon as Y ≠ 0, one unmasks exactly as emeOaepDecode
// does and then compares lHash and scans for the separator with early exits (a difference of a few
// hundred loop iterations out of the same two MGF1 passes), so a pass here is shown to be able to fail.
// The same failures also go end to end through rsa.decrypt() under an RSA-2048 key: ciphertexts that
// decrypt to each kind of bad encoded message, so the private operation, the TS between it and the
// decoder, and the one DecryptionError are timed together.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { rsaPublicOp } from '../../src/crypto/_rsa-core.js';
import { emeOaepDecode, emeOaepEncode, mgf1, RSA_HASH, type RsaHashName } from '../../src/crypto/_rsa-pad.js';
import { DecryptionError } from '../../src/crypto/errors.js';
import { rsa } from '../../src/crypto/rsa.js';
import { deferred, runnable, type CtTarget, type Runnable } from './dudect.js';

const HASH = 'SHA-256';
const K = 256;
const H_LEN = RSA_HASH[HASH].len;
const LABEL = new Uint8Array(0);
const MEASUREMENTS = 20_000;

/** An encoded message whose unmasked DB and first byte are given. */
function encoded(db: Uint8Array, y: number): Uint8Array {
  const seed = new Uint8Array(randomBytes(H_LEN));
  const dbMask = mgf1(HASH, seed, db.length);
  const maskedDb = db.map((b, i) => b ^ dbMask[i]!);
  const seedMask = mgf1(HASH, maskedDb, H_LEN);
  const em = new Uint8Array(K);
  em[0] = y;
  em.set(seed.map((b, i) => b ^ seedMask[i]!), 1);
  em.set(maskedDb, 1 + H_LEN);
  return em;
}

function goodDb(): Uint8Array {
  const db = new Uint8Array(K - H_LEN - 1);
  db.set(RSA_HASH[HASH].digest(LABEL));
  db[db.length - 33] = 0x01;
  db.set(randomBytes(32), db.length - 32);
  return db;
}

const FAILURES = {
  'Y ≠ 0': () => encoded(goodDb(), 1 + (randomBytes(1)[0]! % 255)),
  'lHash mismatch': () => encoded(goodDb().map((b, i) => (i === 0 ? b ^ 0x80 : b)), 0),
  // The separator zeroed and the message's first byte made ≥ 2, so no 0x01 can stand in for it.
  'no separator': () => encoded(goodDb().map((b, i, a) => (i === a.length - 33 ? 0 : i === a.length - 32 ? b | 2 : b)), 0),
} as const;
type Failure = keyof typeof FAILURES;
type Decode = typeof emeOaepDecode;

/** Returns as soon as Y ≠ 0, before any unmasking (what §7.1.2 forbids). */
function decodeUnsafe(hash: RsaHashName, mgfHash: RsaHashName, label: Uint8Array, em: Uint8Array): Uint8Array | null {
  if (em[0] !== 0) return null;
  return emeOaepDecode(hash, mgfHash, label, em);
}

/** Unmasks as emeOaepDecode does, then compares lHash and scans for the separator with early exits. */
function decodeScanUnsafe(hash: RsaHashName, mgfHash: RsaHashName, label: Uint8Array, em: Uint8Array): Uint8Array | null {
  const hLen = RSA_HASH[hash].len;
  const lHash = RSA_HASH[hash].digest(label);
  const maskedDb = em.subarray(1 + hLen);
  const seed = mgf1(mgfHash, maskedDb, hLen).map((b, i) => b ^ em[1 + i]!);
  const db = mgf1(mgfHash, seed, maskedDb.length).map((b, i) => b ^ maskedDb[i]!);
  if (em[0] !== 0) return null;
  for (let i = 0; i < hLen; i++) if (db[i] !== lHash[i]) return null;
  let i = hLen;
  while (i < db.length && db[i] === 0) i++;
  return i < db.length && db[i] === 1 ? db.slice(i + 1) : null;
}

function pair(name: string, decode: Decode, a: Failure, b: Failure, control = false): CtTarget<Uint8Array> {
  return {
    name,
    classes: [a, b],
    input: (cls) => FAILURES[cls === 0 ? a : b](),
    call: (em) => {
      if (decode(HASH, HASH, LABEL, em) !== null) throw new Error('a malformed OAEP message decoded');
    },
    measurements: MEASUREMENTS,
    control,
  };
}

/** The classes really are the failures they are named after, and a valid message decodes. */
export function checkOaepClasses(): void {
  for (const name of Object.keys(FAILURES) as Failure[]) {
    if (emeOaepDecode(HASH, HASH, LABEL, FAILURES[name]()) !== null) throw new Error(`OAEP class ${name} decoded`);
  }
  if (emeOaepDecode(HASH, HASH, LABEL, encoded(goodDb(), 0))?.length !== 32) throw new Error('a valid encoded message did not decode');
  // emeOaepEncode's output must decode too, or the hand-built messages above test another format.
  if (emeOaepDecode(HASH, HASH, LABEL, emeOaepEncode(HASH, HASH, LABEL, Uint8Array.of(1), randomBytes(H_LEN), K))?.[0] !== 1) {
    throw new Error('emeOaepEncode output did not decode');
  }
}

export const oaepControls: Runnable[] = [
  runnable(pair('CONTROL OAEP decode, exit on Y ≠ 0', decodeUnsafe, 'Y ≠ 0', 'lHash mismatch', true)),
  runnable(pair('CONTROL OAEP decode, early-exit lHash and scan', decodeScanUnsafe, 'lHash mismatch', 'no separator', true)),
];

const DECRYPT_MEASUREMENTS = 2500;

/** rsa.decrypt() of ciphertexts whose encoded messages fail as a and b do. */
function decryptPair(a: Failure, b: Failure): CtTarget<Uint8Array> {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 8 * K });
  const der = new Uint8Array(privateKey.export({ format: 'der', type: 'pkcs8' }));
  const jwk = privateKey.export({ format: 'jwk' });
  const pub = { n: new Uint8Array(Buffer.from(jwk.n!, 'base64url')), e: new Uint8Array(Buffer.from(jwk.e!, 'base64url')) };
  const params = { scheme: 'oaep', hash: HASH } as const;
  return {
    name: 'RSA-OAEP decrypt() (SHA-256, RSA-2048)',
    classes: [a, b],
    // An encoded message at or above n has no ciphertext: a nonzero Y is kept in [1, n's top byte).
    input: (cls) => {
      const em = FAILURES[cls === 0 ? a : b]();
      if (em[0] !== 0) em[0] = 1 + (em[0]! % (pub.n[0]! - 1));
      return rsaPublicOp(pub, em)!;
    },
    call: (c) => {
      try {
        rsa.decrypt(params, der, c);
      } catch (e) {
        if (e instanceof DecryptionError) return;
        throw e;
      }
      throw new Error('a malformed OAEP ciphertext decrypted');
    },
    measurements: DECRYPT_MEASUREMENTS,
  };
}

export const oaepTargets: Runnable[] = [
  runnable(pair('OAEP decode (SHA-256, k = 256)', emeOaepDecode, 'Y ≠ 0', 'lHash mismatch')),
  runnable(pair('OAEP decode (SHA-256, k = 256)', emeOaepDecode, 'Y ≠ 0', 'no separator')),
  runnable(pair('OAEP decode (SHA-256, k = 256)', emeOaepDecode, 'lHash mismatch', 'no separator')),
  deferred('RSA-OAEP decrypt() (SHA-256, RSA-2048)', DECRYPT_MEASUREMENTS, () => decryptPair('Y ≠ 0', 'lHash mismatch')),
  deferred('RSA-OAEP decrypt() (SHA-256, RSA-2048)', DECRYPT_MEASUREMENTS, () => decryptPair('lHash mismatch', 'no separator')),
];
