// The RSA encoding methods of RFC 8017, all producing or reading constant-length encoded messages:
// EMSA-PKCS1-v1_5 (§9.2), EMSA-PSS (§9.1), EME-OAEP (§7.1) and MGF1 (§B.2.1). The modular
// arithmetic (RSAEP/RSADP/RSASP1/RSAVP1) is the caller's: this module only pads and unpads.
//
// OAEP decoding is the one step here that handles secret-dependent data whose failure must not leak
// (Manger's attack). It is written in TypeScript with int32 bitwise operations only: every byte of the
// encoded message is read, the lHash comparison and the separator scan run to the end whatever they
// find, and the three failure conditions are folded into one mask before the single branch that
// decides success. The hashes run over the whole (public-length) buffers either way. TS rather than
// WASM keeps the SHA-1 that OAEP needs out of the core; V8 compiles these loops to branch-free code
// on int32 values (no secret-indexed loads), which is the property the core's _ct.ts gives in WASM.
import { sha1 } from './_sha1.js';
import { sha256, sha384, sha512 } from './sha2.js';

/** The hashes RSA accepts: SHA-2 for signatures; SHA-1 also for OAEP and for verifying legacy signatures. */
export type RsaHashName = 'SHA-1' | 'SHA-256' | 'SHA-384' | 'SHA-512';

interface RsaHash {
  readonly len: number;
  readonly digest: (m: Uint8Array) => Uint8Array;
  /** DER of DigestInfo up to the digest's OCTET STRING contents (RFC 8017 §9.2 note 1). */
  readonly prefix: Uint8Array;
}

const bytes = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h, 'hex'));

export const RSA_HASH: Readonly<Record<RsaHashName, RsaHash>> = {
  'SHA-1': { len: 20, digest: sha1, prefix: bytes('3021300906052b0e03021a05000414') },
  'SHA-256': { len: 32, digest: sha256, prefix: bytes('3031300d060960864801650304020105000420') },
  'SHA-384': { len: 48, digest: sha384, prefix: bytes('3041300d060960864801650304020205000430') },
  'SHA-512': { len: 64, digest: sha512, prefix: bytes('3051300d060960864801650304020305000440') },
};

/** An encoding cannot fit the modulus (RFC 8017 "intended encoded message length too short"). */
export class EncodingError extends RangeError {
  override name = 'EncodingError';
}

/** MGF1 (RFC 8017 §B.2.1): len bytes of Hash(seed ‖ C) for C = 0, 1, … */
export function mgf1(hash: RsaHashName, seed: Uint8Array, len: number): Uint8Array {
  const h = RSA_HASH[hash];
  const out = new Uint8Array(len);
  const input = new Uint8Array(seed.length + 4);
  input.set(seed);
  for (let c = 0, off = 0; off < len; c++, off += h.len) {
    new DataView(input.buffer).setUint32(seed.length, c);
    const block = h.digest(input);
    out.set(block.subarray(0, Math.min(h.len, len - off)), off);
    block.fill(0);
  }
  input.fill(0);
  return out;
}

/** EMSA-PKCS1-v1_5 (§9.2) of a digest, k bytes: 0x00 0x01 FF…FF 0x00 DigestInfo. */
export function emsaPkcs1Encode(hash: RsaHashName, mHash: Uint8Array, k: number): Uint8Array {
  const { prefix } = RSA_HASH[hash];
  const tLen = prefix.length + mHash.length;
  if (k < tLen + 11) throw new EncodingError(`a ${k}-byte modulus is too short for a PKCS#1 v1.5 ${hash} signature`);
  const em = new Uint8Array(k).fill(0xff, 2, k - tLen - 1);
  em[1] = 0x01;
  em.set(prefix, k - tLen);
  em.set(mHash, k - mHash.length);
  return em;
}

/** M' = 0x00 × 8 ‖ mHash ‖ salt hashed (§9.1.1 steps 5–6). */
function pssH(hash: RsaHashName, mHash: Uint8Array, salt: Uint8Array): Uint8Array {
  const m = new Uint8Array(8 + mHash.length + salt.length);
  m.set(mHash, 8);
  m.set(salt, 8 + mHash.length);
  return RSA_HASH[hash].digest(m);
}

/**
 * EMSA-PSS encoding (§9.1.1) of a digest with the given salt, for a modulus of modBits bits, returned
 * as k bytes (with a leading zero byte when emBits = modBits − 1 is a multiple of 8). MGF1 uses the
 * same hash.
 */
export function emsaPssEncode(hash: RsaHashName, mHash: Uint8Array, salt: Uint8Array, modBits: number): Uint8Array {
  const hLen = RSA_HASH[hash].len;
  const emBits = modBits - 1;
  const emLen = Math.ceil(emBits / 8);
  const k = Math.ceil(modBits / 8);
  if (emLen < hLen + salt.length + 2) throw new EncodingError(`a ${modBits}-bit modulus is too short for PSS with ${hash} and a ${salt.length}-byte salt`);
  const H = pssH(hash, mHash, salt);
  const dbLen = emLen - hLen - 1;
  const db = mgf1(hash, H, dbLen);
  // DB = PS ‖ 0x01 ‖ salt, XORed into the mask in place.
  db[dbLen - salt.length - 1]! ^= 0x01;
  for (let i = 0; i < salt.length; i++) db[dbLen - salt.length + i]! ^= salt[i]!;
  db[0]! &= 0xff >>> (8 * emLen - emBits);
  const out = new Uint8Array(k);
  const off = k - emLen;
  out.set(db, off);
  out.set(H, off + dbLen);
  out[k - 1] = 0xbc;
  return out;
}

/**
 * EMSA-PSS verification (§9.1.2) of em (the k-byte output of RSAVP1) against a digest. With saltLength
 * undefined the salt length is recovered from the position of the 0x01 separator (any length).
 */
export function emsaPssVerify(hash: RsaHashName, mHash: Uint8Array, em: Uint8Array, modBits: number, saltLength?: number): boolean {
  const hLen = RSA_HASH[hash].len;
  const emBits = modBits - 1;
  const emLen = Math.ceil(emBits / 8);
  // I2OSP(m, emLen) fails when m needs k bytes but emLen = k − 1.
  for (let i = 0; i < em.length - emLen; i++) if (em[i] !== 0) return false;
  const e = em.subarray(em.length - emLen);
  if (emLen < hLen + (saltLength ?? 0) + 2) return false;
  if (e[emLen - 1] !== 0xbc) return false;
  const dbLen = emLen - hLen - 1;
  const topMask = 0xff >>> (8 * emLen - emBits);
  if ((e[0]! & ~topMask) !== 0) return false;
  const H = e.subarray(dbLen, dbLen + hLen);
  const db = mgf1(hash, H, dbLen);
  for (let i = 0; i < dbLen; i++) db[i]! ^= e[i]!;
  db[0]! &= topMask;
  let sep = 0;
  while (sep < dbLen && db[sep] === 0) sep++;
  if (sep === dbLen || db[sep] !== 0x01) return false;
  const salt = db.subarray(sep + 1);
  if (saltLength !== undefined && salt.length !== saltLength) return false;
  const H2 = pssH(hash, mHash, salt);
  return Buffer.from(H2).equals(Buffer.from(H));
}

/** The longest OAEP message for a k-byte modulus (§7.1.1 step 1.b), negative when none fits. */
export const oaepMaxMessage = (hash: RsaHashName, k: number): number => k - 2 * RSA_HASH[hash].len - 2;

/** EME-OAEP encoding (§7.1.1 step 2) with the given seed (hLen random bytes); k bytes. */
export function emeOaepEncode(
  hash: RsaHashName,
  mgfHash: RsaHashName,
  label: Uint8Array,
  msg: Uint8Array,
  seed: Uint8Array,
  k: number,
): Uint8Array {
  const h = RSA_HASH[hash];
  if (msg.length > oaepMaxMessage(hash, k)) {
    throw new EncodingError(`a ${k}-byte modulus holds at most ${Math.max(0, oaepMaxMessage(hash, k))} bytes with OAEP-${hash}, got ${msg.length}`);
  }
  const dbLen = k - h.len - 1;
  const db = new Uint8Array(dbLen);
  db.set(h.digest(label));
  db[dbLen - msg.length - 1] = 0x01;
  db.set(msg, dbLen - msg.length);
  const dbMask = mgf1(mgfHash, seed, dbLen);
  for (let i = 0; i < dbLen; i++) db[i]! ^= dbMask[i]!;
  const seedMask = mgf1(mgfHash, db, h.len);
  const em = new Uint8Array(k);
  for (let i = 0; i < h.len; i++) em[1 + i] = seed[i]! ^ seedMask[i]!;
  em.set(db, 1 + h.len);
  for (const b of [db, dbMask, seedMask]) b.fill(0);
  return em;
}

/**
 * EME-OAEP decoding (§7.1.2 step 3) of the k-byte output of RSADP: the message, or null when any check
 * fails (Y ≠ 0, lHash mismatch, no 0x01 separator after the zero padding). CT: every byte of em is read
 * and the outcome is one mask until the end; only k and hLen (public) shape the loops. The message
 * length (and so the separator position) becomes public only once the padding is known to be valid.
 */
export function emeOaepDecode(hash: RsaHashName, mgfHash: RsaHashName, label: Uint8Array, em: Uint8Array): Uint8Array | null {
  const h = RSA_HASH[hash];
  const k = em.length;
  const hLen = h.len;
  const dbLen = k - hLen - 1;
  const lHash = h.digest(label);
  const maskedSeed = em.subarray(1, 1 + hLen);
  const maskedDb = em.subarray(1 + hLen);
  const seed = mgf1(mgfHash, maskedDb, hLen);
  for (let i = 0; i < hLen; i++) seed[i]! ^= maskedSeed[i]!;
  const db = mgf1(mgfHash, seed, dbLen);
  for (let i = 0; i < dbLen; i++) db[i]! ^= maskedDb[i]!;

  // bad: 0 while every check passes, nonzero otherwise.
  let bad = em[0]!;
  for (let i = 0; i < hLen; i++) bad |= db[i]! ^ lHash[i]!;
  // Scan PS ‖ 0x01 ‖ M: `looking` is all-ones until the first 0x01; a nonzero byte other than 0x01
  // before it is a failure; `index` collects the separator position under the mask.
  let looking = -1;
  let index = 0;
  for (let i = hLen; i < dbLen; i++) {
    const b = db[i]!;
    const isZero = (b - 1) >> 31; // all-ones iff b = 0 (b ∈ [0, 255])
    const isOne = ((b ^ 1) - 1) >> 31; // all-ones iff b = 1
    index |= looking & isOne & i;
    bad |= looking & ~isOne & ~isZero;
    looking &= ~isOne;
  }
  bad |= looking;
  const ok = ((bad | -bad) >>> 31) ^ 1;
  seed.fill(0);
  try {
    return ok === 1 ? db.slice(index + 1) : null;
  } finally {
    db.fill(0);
  }
}
