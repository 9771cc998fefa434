// The ciphertext blob of Encrypt/GenerateDataKey under a symmetric CMK, and the canonical encoding of an
// encryption context. Pure: no key material, no I/O. The blob is self-describing (Decrypt needs no key
// id) and versioned, so a later layout can sit beside this one; the key-id prefix makes CMK rotation
// free (Tink's output prefix, aead/aead_factory.go).
//
// Blob layout, version 1 (all integers big-endian):
//
//   offset          size  field
//   0               1     version: 0x01
//   1               1     keyIdLen L: 1..64
//   2               L     keyId: ASCII [0-9a-z-] (a UUID, 36 chars, or a multi-region 'mrk-' + 32 hex)
//   2+L             4     backingVersion: u32, ≥ 1 (the CMK's backing key version)
//   6+L             16    nonce: the HKDF salt of this blob's derived key
//   22+L            12    iv: the AES-256-GCM IV
//   34+L            n     ciphertext: n = plaintext length (0 allowed)
//   34+L+n          16    tag: the AES-256-GCM tag
//
//   header = bytes [0, 34+L): everything before the ciphertext.
//   K      = HKDF-SHA256(backing key, salt = nonce, info = 'keyward/v1/encrypt')
//   AAD    = header ‖ canonicalContext(encryption context)
//
// Canonical encryption context: the pairs sorted by the UTF-8 bytes of their keys; each pair is
// u32 len(key) ‖ key UTF-8 ‖ u32 len(value) ‖ value UTF-8. No pairs (or no context) is the empty string.
// Every field carries its length, so two different contexts never encode alike.

/** A blob that is not a well-formed version-1 ciphertext blob. The message says which part is wrong. */
export class BlobFormatError extends Error {
  override name = 'BlobFormatError';
}

export const BLOB_VERSION = 1;

export const NONCE_LENGTH = 16;
export const IV_LENGTH = 12;
export const TAG_LENGTH = 16;
export const MAX_KEY_ID_LENGTH = 64;

export interface CiphertextBlob {
  keyId: string;
  backingVersion: number;
  /** 16 bytes: the HKDF salt. */
  nonce: Uint8Array;
  /** 12 bytes: the GCM IV. */
  iv: Uint8Array;
  /** ct ‖ tag(16). */
  ciphertext: Uint8Array;
  /** The bytes that go into the AAD: everything before the ciphertext. */
  header: Uint8Array;
}

const KEY_ID = /^[0-9a-z-]{1,64}$/;
const MAX_U32 = 0xffff_ffff;

function checkKeyId(keyId: unknown): string {
  if (typeof keyId !== 'string' || !KEY_ID.test(keyId)) {
    throw new BlobFormatError(`key id must be 1..${MAX_KEY_ID_LENGTH} characters of [0-9a-z-], got ${JSON.stringify(String(keyId)).slice(0, 80)}`);
  }
  return keyId;
}

function checkVersion(v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > MAX_U32) {
    throw new BlobFormatError(`backing version must be an integer in 1..${MAX_U32}, got ${String(v)}`);
  }
  return v;
}

function checkBytes(x: unknown, name: string, length: number, exact: boolean): Uint8Array {
  if (!(x instanceof Uint8Array)) throw new BlobFormatError(`${name} must be a Uint8Array`);
  if (exact ? x.length !== length : x.length < length) {
    throw new BlobFormatError(`${name} must be ${exact ? '' : 'at least '}${length} bytes, got ${x.length}`);
  }
  return x;
}

/**
 * The header of a version-1 blob (what precedes the ciphertext), validated. The engine's encrypt path
 * builds the header first because it is part of the AAD.
 */
export function encodeBlobHeader(keyId: string, backingVersion: number, nonce: Uint8Array, iv: Uint8Array): Uint8Array {
  checkKeyId(keyId);
  checkVersion(backingVersion);
  checkBytes(nonce, 'nonce', NONCE_LENGTH, true);
  checkBytes(iv, 'iv', IV_LENGTH, true);
  const L = keyId.length;
  const h = new Uint8Array(2 + L + 4 + NONCE_LENGTH + IV_LENGTH);
  h[0] = BLOB_VERSION;
  h[1] = L;
  for (let i = 0; i < L; i++) h[2 + i] = keyId.charCodeAt(i);
  new DataView(h.buffer).setUint32(2 + L, backingVersion);
  h.set(nonce, 6 + L);
  h.set(iv, 22 + L);
  return h;
}

/** The version-1 blob bytes. @throws BlobFormatError for a field out of its range */
export function encodeBlob(b: Omit<CiphertextBlob, 'header'>): Uint8Array {
  const header = encodeBlobHeader(b.keyId, b.backingVersion, b.nonce, b.iv);
  checkBytes(b.ciphertext, 'ciphertext', TAG_LENGTH, false);
  const out = new Uint8Array(header.length + b.ciphertext.length);
  out.set(header, 0);
  out.set(b.ciphertext, header.length);
  return out;
}

/**
 * Parses a blob. The returned byte fields are copies, so the caller may reuse `bytes`.
 * @throws BlobFormatError, and nothing else, for any input that is not a well-formed version-1 blob
 */
export function parseBlob(bytes: Uint8Array): CiphertextBlob {
  if (!(bytes instanceof Uint8Array)) throw new BlobFormatError('a ciphertext blob must be a Uint8Array');
  if (bytes.length < 2) throw new BlobFormatError(`truncated ciphertext blob: ${bytes.length} bytes, not even a header`);
  if (bytes[0] !== BLOB_VERSION) throw new BlobFormatError(`unknown ciphertext blob version ${bytes[0]}; this build reads version ${BLOB_VERSION}`);
  const L = bytes[1]!;
  if (L === 0 || L > MAX_KEY_ID_LENGTH) throw new BlobFormatError(`key id length must be 1..${MAX_KEY_ID_LENGTH}, got ${L}`);
  const headerLength = 2 + L + 4 + NONCE_LENGTH + IV_LENGTH;
  if (bytes.length < headerLength + TAG_LENGTH) {
    throw new BlobFormatError(
      `truncated ciphertext blob: ${bytes.length} bytes, a ${L}-character key id needs at least ${headerLength + TAG_LENGTH}`,
    );
  }
  let keyId = '';
  for (let i = 0; i < L; i++) {
    const c = bytes[2 + i]!;
    // [0-9a-z-] only: 0x30-0x39, 0x61-0x7a, 0x2d.
    if (!((c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x7a) || c === 0x2d)) {
      throw new BlobFormatError(`key id byte ${i} is 0x${c.toString(16).padStart(2, '0')}, not one of [0-9a-z-]`);
    }
    keyId += String.fromCharCode(c);
  }
  const backingVersion = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(2 + L);
  if (backingVersion === 0) throw new BlobFormatError('backing version 0 does not exist (versions start at 1)');
  return {
    keyId,
    backingVersion,
    nonce: bytes.slice(6 + L, 22 + L),
    iv: bytes.slice(22 + L, 34 + L),
    ciphertext: bytes.slice(headerLength),
    header: bytes.slice(0, headerLength),
  };
}

const utf8 = new TextEncoder();

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

// A string with an unpaired surrogate would encode as U+FFFD, making two different contexts encode alike.
// (String.prototype.isWellFormed: Node ≥ 20, not yet in the ES2022 lib typings.)
const isWellFormed = (s: string): boolean => (s as unknown as { isWellFormed(): boolean }).isWellFormed();

function checkString(s: unknown, what: () => string): string {
  if (typeof s !== 'string') throw new TypeError(`encryption context ${what()} must be a string, got ${typeof s}`);
  if (!isWellFormed(s)) throw new TypeError(`encryption context ${what()} is not well-formed Unicode (unpaired surrogate)`);
  return s;
}

const EMPTY = new Uint8Array(0);

/**
 * The canonical bytes of an encryption context (see the layout comment above). undefined and {} both
 * encode as no bytes.
 * @throws TypeError for a non-string value or a string with an unpaired surrogate
 */
export function canonicalContext(ctx: Record<string, string> | undefined): Uint8Array {
  if (ctx === undefined || ctx === null) return EMPTY;
  if (typeof ctx !== 'object') throw new TypeError(`encryption context must be an object of strings, got ${typeof ctx}`);
  const keys = Object.keys(ctx);
  const n = keys.length;
  if (n === 0) return EMPTY;
  // Keys are encoded up front (they are sorted by their bytes); values are encoded straight into the output.
  const encoded: Uint8Array[] = new Array(n);
  let total = 0;
  for (let i = 0; i < n; i++) {
    const k = checkString(keys[i], () => 'key');
    const v = checkString(ctx[k], () => `value of ${JSON.stringify(k)}`);
    encoded[i] = utf8.encode(k);
    total += 8 + encoded[i]!.length + Buffer.byteLength(v, 'utf8');
  }
  const order = Array.from({ length: n }, (_, i) => i);
  if (n > 1) order.sort((a, b) => compareBytes(encoded[a]!, encoded[b]!));
  const out = new Uint8Array(total);
  const dv = new DataView(out.buffer);
  let p = 0;
  for (const i of order) {
    const k = encoded[i]!;
    dv.setUint32(p, k.length);
    out.set(k, p + 4);
    p += 4 + k.length;
    const { written } = utf8.encodeInto(ctx[keys[i]!]!, out.subarray(p + 4));
    dv.setUint32(p, written);
    p += 4 + written;
  }
  return out;
}
