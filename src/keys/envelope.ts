// The envelope file format: a large file encrypted under a data key from GenerateDataKey, in segments, so
// it streams in bounded memory and every byte released has been authenticated. It is the STREAM
// construction (Hoang, Reyhanitabar, Rogaway, Vizár, "Online Authenticated-Encryption and its
// Nonce-Reuse Misuse-Resistance", CRYPTO 2015, §7), as Tink's AES-GCM streaming AEAD uses it: each
// segment is an AES-256-GCM message whose IV carries the segment index and a last-segment flag, so a
// reordered, dropped, duplicated or appended segment, or a file cut at any point, fails authentication.
//
// Layout, version 1 (all integers big-endian):
//
//   offset   size  field
//   0        5     magic: 'KWENV' (4B 57 45 4E 56)
//   5        1     version: 0x01
//   6        4     segmentSize S: u32, 1..65536, the plaintext bytes of every segment but the last
//   10       7     noncePrefix: random, fresh per file
//   17       2     blobLength B: u16, 1..4096
//   19       B     dataKeyBlob: the CiphertextBlob of GenerateDataKey (the data key under a CMK)
//   19+B           segments 0, 1, …, n−1 (n ≥ 1), each ciphertext ‖ 16-byte tag:
//                    segment i < n−1: exactly S plaintext bytes, so S + 16 bytes
//                    segment n−1:     0..S plaintext bytes (0 only when the whole file is empty)
//
//   header = bytes [0, 19+B)
//   segment i = AES-256-GCM(dataKey, IV_i, AAD = header, plaintext bytes [i·S, i·S + len_i))
//   IV_i      = noncePrefix (7) ‖ u32 i (4) ‖ last (1: 0x01 for segment n−1, else 0x00)
//
// The AAD is the whole header, so a changed magic, version, segment size, prefix or blob fails every
// segment. A file whose plaintext is a multiple of S ends with a full last segment (never an empty one),
// so the decryptor holds back one full segment until it sees a further byte or the end. At most 2^32
// segments (256 TiB at 64 KiB) fit the u32 index.
//
// Security notes: the data key is used for one file only (GenerateDataKey per file), and the random
// prefix makes the IVs distinct even if it were not. Decryption opens each segment with aesGcm.open,
// which releases nothing before its tag verifies; a later failure (say, a file cut at a segment boundary,
// which shows only at the end) still fails the stream, so a caller writing to a file keeps the output
// only once the stream finished without error.
import { randomFillSync } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { aesGcm } from '../crypto/aes-gcm.js';
import { AuthenticationError } from '../crypto/errors.js';

export const ENVELOPE_MAGIC = new Uint8Array([0x4b, 0x57, 0x45, 0x4e, 0x56]); // 'KWENV'
export const ENVELOPE_VERSION = 1;
/** The plaintext bytes per segment this code writes and the most it reads. */
export const MAX_SEGMENT_SIZE = 65536;
export const NONCE_PREFIX_LENGTH = 7;
export const TAG_LENGTH = 16;
export const MAX_BLOB_LENGTH = 4096;
export const DATA_KEY_LENGTH = 32;
/** The fixed part of the header, before the data key blob. */
const FIXED_HEADER = 19;
const MAX_SEGMENTS = 2 ** 32;

export type EnvelopeErrorCode =
  /** The header is not a version-1 envelope header (magic, version, segment size or blob length). */
  | 'BAD_HEADER'
  /** The input ended inside the header, or with fewer bytes than a segment's tag. */
  | 'TRUNCATED'
  /** A segment's tag did not verify: tampering, reordering, truncation at a segment boundary, appended data or a wrong key. */
  | 'AUTHENTICATION_FAILED'
  /** More segments than the u32 index can number. */
  | 'TOO_LONG';

/** An envelope could not be written or read. `segment` is the index of the segment that failed, when one did. */
export class EnvelopeError extends Error {
  override name = 'EnvelopeError';
  constructor(
    readonly code: EnvelopeErrorCode,
    message: string,
    readonly segment?: number,
  ) {
    super(message);
  }
}

export interface EnvelopeOptions {
  /** Plaintext bytes per segment, 1..65536 (default 65536); smaller only to exercise many segments. */
  segmentSize?: number;
}

/** Returns the data key (32 bytes) that `blob` wraps; the envelope code zeroes it when done. */
export type OpenDataKey = (blob: Uint8Array) => Promise<Uint8Array>;

function checkDataKey(key: unknown, name: string): Uint8Array {
  if (!(key instanceof Uint8Array)) throw new TypeError(`expected ${name} to be a Uint8Array`);
  if (key.length !== DATA_KEY_LENGTH) throw new RangeError(`expected a ${DATA_KEY_LENGTH}-byte ${name} (AES-256), got ${key.length}`);
  return key;
}

function encodeHeader(blob: Uint8Array, segmentSize: number, noncePrefix: Uint8Array): Uint8Array {
  const h = new Uint8Array(FIXED_HEADER + blob.length);
  const v = new DataView(h.buffer);
  h.set(ENVELOPE_MAGIC, 0);
  h[5] = ENVELOPE_VERSION;
  v.setUint32(6, segmentSize);
  h.set(noncePrefix, 10);
  v.setUint16(17, blob.length);
  h.set(blob, FIXED_HEADER);
  return h;
}

/** The parsed header: what decryption needs before its first segment. */
export interface EnvelopeHeader {
  segmentSize: number;
  noncePrefix: Uint8Array;
  dataKeyBlob: Uint8Array;
  /** The header's bytes, the AAD of every segment. */
  bytes: Uint8Array;
}

/** Checks the fixed 19 bytes and returns the whole header's length (19 + B). */
function headerLength(fixed: Uint8Array): number {
  for (let i = 0; i < ENVELOPE_MAGIC.length; i++) {
    if (fixed[i] !== ENVELOPE_MAGIC[i]) throw new EnvelopeError('BAD_HEADER', "not a Keyward envelope: the file does not start with 'KWENV'");
  }
  if (fixed[5] !== ENVELOPE_VERSION) throw new EnvelopeError('BAD_HEADER', `unsupported envelope version ${fixed[5]}; this code reads version ${ENVELOPE_VERSION}`);
  const v = new DataView(fixed.buffer, fixed.byteOffset, FIXED_HEADER);
  const s = v.getUint32(6);
  if (s < 1 || s > MAX_SEGMENT_SIZE) throw new EnvelopeError('BAD_HEADER', `envelope segment size ${s} is outside 1..${MAX_SEGMENT_SIZE}`);
  const b = v.getUint16(17);
  if (b < 1 || b > MAX_BLOB_LENGTH) throw new EnvelopeError('BAD_HEADER', `envelope data key blob length ${b} is outside 1..${MAX_BLOB_LENGTH}`);
  return FIXED_HEADER + b;
}

/**
 * Parses an envelope header from the start of `bytes`.
 * @throws EnvelopeError BAD_HEADER for a malformed header, TRUNCATED when `bytes` ends inside it
 */
export function parseEnvelopeHeader(bytes: Uint8Array): EnvelopeHeader {
  if (bytes.length < FIXED_HEADER) throw new EnvelopeError('TRUNCATED', `the envelope ends inside its header (${bytes.length} of at least ${FIXED_HEADER} bytes)`);
  const len = headerLength(bytes);
  if (bytes.length < len) throw new EnvelopeError('TRUNCATED', `the envelope ends inside its header (${bytes.length} of ${len} bytes)`);
  const h = bytes.slice(0, len);
  return { segmentSize: new DataView(h.buffer).getUint32(6), noncePrefix: h.slice(10, 17), dataKeyBlob: h.slice(FIXED_HEADER), bytes: h };
}

function segmentIv(prefix: Uint8Array, index: number, last: boolean): Uint8Array {
  const iv = new Uint8Array(12);
  iv.set(prefix, 0);
  new DataView(iv.buffer).setUint32(7, index);
  iv[11] = last ? 1 : 0;
  return iv;
}

// --- The cores: push bytes in, get sealed or opened segments out ---------------------------------------

/** Encryption state; owns the data key and zeroes it (and its plaintext buffer) in end() and destroy(). */
class Sealer {
  private readonly header: Uint8Array;
  private readonly prefix = new Uint8Array(NONCE_PREFIX_LENGTH);
  private readonly buf: Uint8Array;
  private fill = 0;
  private index = 0;
  private headerSent = false;

  constructor(
    private readonly key: Uint8Array,
    blob: Uint8Array,
    private readonly segmentSize: number,
  ) {
    randomFillSync(this.prefix);
    this.header = encodeHeader(blob, segmentSize, this.prefix);
    this.buf = new Uint8Array(segmentSize);
  }

  /** Sealed output for `data`: whole segments known not to be the last, preceded by the header the first time. */
  push(data: Uint8Array, out: Uint8Array[]): void {
    this.sendHeader(out);
    for (let off = 0; off < data.length; ) {
      // A full buffer with more input behind it is not the last segment.
      if (this.fill === this.segmentSize) this.seal(false, out);
      const n = Math.min(this.segmentSize - this.fill, data.length - off);
      this.buf.set(data.subarray(off, off + n), this.fill);
      this.fill += n;
      off += n;
    }
  }

  /** The last segment; then the key and buffer are zeroed. */
  end(out: Uint8Array[]): void {
    try {
      this.sendHeader(out);
      this.seal(true, out);
    } finally {
      this.destroy();
    }
  }

  destroy(): void {
    this.key.fill(0);
    this.buf.fill(0);
  }

  private sendHeader(out: Uint8Array[]): void {
    if (this.headerSent) return;
    this.headerSent = true;
    out.push(this.header);
  }

  private seal(last: boolean, out: Uint8Array[]): void {
    if (this.index >= MAX_SEGMENTS) throw new EnvelopeError('TOO_LONG', `an envelope holds at most ${MAX_SEGMENTS} segments`, this.index);
    const pt = this.buf.subarray(0, this.fill);
    out.push(aesGcm.seal(this.key, segmentIv(this.prefix, this.index, last), pt, this.header));
    pt.fill(0);
    this.fill = 0;
    this.index++;
  }
}

/** Decryption state: header first, then segments; owns the data key once it is opened. */
class Opener {
  private pending: Uint8Array[] = [];
  private pendingLength = 0;
  private header: EnvelopeHeader | undefined;
  private key: Uint8Array | undefined;
  private index = 0;
  private destroyed = false;

  constructor(private readonly openDataKey: OpenDataKey) {}

  /** Verified plaintext of the segments `data` completes, except one held back until more input or end(). */
  async push(data: Uint8Array, out: Uint8Array[]): Promise<void> {
    this.append(data);
    if (!(await this.ready())) return;
    const whole = this.header!.segmentSize + TAG_LENGTH;
    // Strictly more than one sealed segment buffered: the first of them is not the last.
    while (this.pendingLength > whole) out.push(this.open(this.take(whole), false));
  }

  /** The last segment's plaintext; then the key is zeroed. */
  async end(out: Uint8Array[]): Promise<void> {
    try {
      if (!(await this.ready())) {
        if (this.pendingLength < FIXED_HEADER) {
          throw new EnvelopeError('TRUNCATED', `the envelope ends inside its header (${this.pendingLength} of at least ${FIXED_HEADER} bytes)`);
        }
        throw new EnvelopeError('TRUNCATED', `the envelope ends inside its header (${this.pendingLength} of ${headerLength(this.peek(FIXED_HEADER))} bytes)`);
      }
      if (this.pendingLength < TAG_LENGTH) {
        throw new EnvelopeError('TRUNCATED', `the envelope ends ${this.pendingLength} bytes into segment ${this.index}, before its tag`, this.index);
      }
      out.push(this.open(this.take(this.pendingLength), true));
    } finally {
      this.destroy();
    }
  }

  destroy(): void {
    this.destroyed = true;
    this.key?.fill(0);
    this.key = undefined;
  }

  /** Parses the header and opens the data key once enough input is buffered; false until then. */
  private async ready(): Promise<boolean> {
    if (this.key) return true;
    if (this.header === undefined) {
      if (this.pendingLength < FIXED_HEADER) return false;
      const len = headerLength(this.peek(FIXED_HEADER));
      if (this.pendingLength < len) return false;
      this.header = parseEnvelopeHeader(this.take(len));
    }
    const key = await this.openDataKey(this.header.dataKeyBlob.slice());
    if (this.destroyed) {
      key.fill(0);
      throw new EnvelopeError('AUTHENTICATION_FAILED', 'the envelope stream was destroyed while its data key was being opened');
    }
    try {
      this.key = checkDataKey(key, 'data key returned by openDataKey');
    } catch (e) {
      if (key instanceof Uint8Array) key.fill(0);
      throw e;
    }
    return true;
  }

  private open(sealed: Uint8Array, last: boolean): Uint8Array {
    const h = this.header!;
    if (this.index >= MAX_SEGMENTS) throw new EnvelopeError('TOO_LONG', `an envelope holds at most ${MAX_SEGMENTS} segments`, this.index);
    try {
      const pt = aesGcm.open(this.key!, segmentIv(h.noncePrefix, this.index, last), sealed, h.bytes);
      this.index++;
      return pt;
    } catch (e) {
      if (!(e instanceof AuthenticationError)) throw e;
      throw new EnvelopeError(
        'AUTHENTICATION_FAILED',
        `envelope segment ${this.index} failed authentication (altered, reordered, truncated or extended data, or the wrong key)`,
        this.index,
      );
    }
  }

  private append(data: Uint8Array): void {
    if (data.length === 0) return;
    this.pending.push(data);
    this.pendingLength += data.length;
  }

  /** The first n buffered bytes, copied, left in place. */
  private peek(n: number): Uint8Array {
    const out = new Uint8Array(n);
    let at = 0;
    for (const c of this.pending) {
      if (at === n) break;
      const k = Math.min(c.length, n - at);
      out.set(c.subarray(0, k), at);
      at += k;
    }
    return out;
  }

  /** Removes and returns the first n buffered bytes. */
  private take(n: number): Uint8Array {
    const out = this.peek(n);
    let left = n;
    while (left > 0) {
      const c = this.pending[0]!;
      if (c.length <= left) {
        this.pending.shift();
        left -= c.length;
      } else {
        this.pending[0] = c.subarray(left);
        left = 0;
      }
    }
    this.pendingLength -= n;
    return out;
  }
}

// --- Streams and one-shot helpers ---------------------------------------------------------------------------

const asBytes = (chunk: unknown): Uint8Array => {
  if (typeof chunk === 'string') return Buffer.from(chunk);
  if (!(chunk instanceof Uint8Array)) throw new TypeError('expected stream chunks to be Uint8Array or string');
  return chunk;
};

function pushAll(stream: Transform, out: Uint8Array[]): void {
  for (const c of out) stream.push(c);
}

function checkSegmentSize(opts: EnvelopeOptions | undefined): number {
  const s = opts?.segmentSize ?? MAX_SEGMENT_SIZE;
  if (!Number.isInteger(s) || s < 1 || s > MAX_SEGMENT_SIZE) throw new RangeError(`expected segmentSize in 1..${MAX_SEGMENT_SIZE}, got ${String(s)}`);
  return s;
}

function checkBlob(blob: unknown): Uint8Array {
  if (!(blob instanceof Uint8Array)) throw new TypeError('expected dataKeyBlob to be a Uint8Array');
  if (blob.length < 1 || blob.length > MAX_BLOB_LENGTH) throw new RangeError(`expected a dataKeyBlob of 1..${MAX_BLOB_LENGTH} bytes, got ${blob.length}`);
  return blob;
}

function newSealer(dataKeyPlaintext: Uint8Array, dataKeyBlob: Uint8Array, opts: EnvelopeOptions | undefined): Sealer {
  return new Sealer(checkDataKey(dataKeyPlaintext, 'dataKeyPlaintext'), checkBlob(dataKeyBlob), checkSegmentSize(opts));
}

class EncryptStream extends Transform {
  constructor(private readonly sealer: Sealer) {
    super();
  }

  override _transform(chunk: unknown, _enc: BufferEncoding, cb: TransformCallback): void {
    try {
      const out: Uint8Array[] = [];
      this.sealer.push(asBytes(chunk), out);
      pushAll(this, out);
      cb();
    } catch (e) {
      cb(e as Error);
    }
  }

  override _flush(cb: TransformCallback): void {
    try {
      const out: Uint8Array[] = [];
      this.sealer.end(out);
      pushAll(this, out);
      cb();
    } catch (e) {
      cb(e as Error);
    }
  }

  override _destroy(err: Error | null, cb: (error: Error | null) => void): void {
    this.sealer.destroy();
    cb(err);
  }
}

class DecryptStream extends Transform {
  private readonly opener: Opener;

  constructor(openDataKey: OpenDataKey) {
    super();
    this.opener = new Opener(openDataKey);
  }

  override _transform(chunk: unknown, _enc: BufferEncoding, cb: TransformCallback): void {
    const out: Uint8Array[] = [];
    let data: Uint8Array;
    try {
      data = asBytes(chunk);
    } catch (e) {
      return cb(e as Error);
    }
    this.opener.push(data, out).then(
      () => {
        pushAll(this, out);
        cb();
      },
      (e: Error) => cb(e),
    );
  }

  override _flush(cb: TransformCallback): void {
    const out: Uint8Array[] = [];
    this.opener.end(out).then(
      () => {
        pushAll(this, out);
        cb();
      },
      (e: Error) => cb(e),
    );
  }

  override _destroy(err: Error | null, cb: (error: Error | null) => void): void {
    this.opener.destroy();
    cb(err);
  }
}

/**
 * A Transform from plaintext to an envelope. It takes ownership of `dataKeyPlaintext` (32 bytes, the
 * Plaintext of GenerateDataKey with KeySpec AES_256) and zeroes it when the stream ends, errors or is
 * destroyed; `dataKeyBlob` is that call's CiphertextBlob, stored in the header.
 */
export function createEnvelopeEncryptStream(dataKeyPlaintext: Uint8Array, dataKeyBlob: Uint8Array, opts?: EnvelopeOptions): Transform {
  return new EncryptStream(newSealer(dataKeyPlaintext, dataKeyBlob, opts));
}

/**
 * A Transform from an envelope to its plaintext. Once the header is read it calls `openDataKey` with the
 * data key blob (Decrypt on the engine, say) and zeroes the key it returns when the stream ends or errors.
 * Each segment's plaintext is emitted only after its tag verified. Any failure makes the stream error
 * with EnvelopeError (or openDataKey's own error); as a file cut at a segment boundary shows only at the
 * end, keep the output only once the stream finished without error.
 */
export function createEnvelopeDecryptStream(openDataKey: OpenDataKey): Transform {
  if (typeof openDataKey !== 'function') throw new TypeError('expected openDataKey to be a function');
  return new DecryptStream(openDataKey);
}

/** One-shot encryption of `plaintext`; takes ownership of `dataKeyPlaintext` and zeroes it, as the stream does. */
export function envelopeEncrypt(dataKeyPlaintext: Uint8Array, dataKeyBlob: Uint8Array, plaintext: Uint8Array, opts?: EnvelopeOptions): Uint8Array {
  if (!(plaintext instanceof Uint8Array)) throw new TypeError('expected plaintext to be a Uint8Array');
  const sealer = newSealer(dataKeyPlaintext, dataKeyBlob, opts);
  const out: Uint8Array[] = [];
  try {
    sealer.push(plaintext, out);
    sealer.end(out);
  } finally {
    sealer.destroy();
  }
  return concat(out);
}

/** One-shot decryption: the whole plaintext, or EnvelopeError (or openDataKey's error) and nothing. */
export async function envelopeDecrypt(openDataKey: OpenDataKey, envelope: Uint8Array): Promise<Uint8Array> {
  if (typeof openDataKey !== 'function') throw new TypeError('expected openDataKey to be a function');
  if (!(envelope instanceof Uint8Array)) throw new TypeError('expected envelope to be a Uint8Array');
  const opener = new Opener(openDataKey);
  const out: Uint8Array[] = [];
  try {
    await opener.push(envelope, out);
    await opener.end(out);
  } catch (e) {
    for (const c of out) c.fill(0);
    throw e;
  } finally {
    opener.destroy();
  }
  const pt = concat(out);
  for (const c of out) c.fill(0);
  return pt;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const r = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    r.set(p, at);
    at += p.length;
  }
  return r;
}
