// AES-GCM (NIST SP 800-38D) over the WASM core: assembly/gcm.ts. One-shot seal/open, init/update/final
// objects and Node Transform streams.
//
// Decryption never hands out plaintext whose tag failed: a message that fits one I/O chunk is verified
// in WASM before it is decrypted (GHASH over the ciphertext, then CTR), and a longer one is decrypted
// into a fresh buffer that is zeroed and dropped if the tag does not match. The streaming forms are the
// exception every streaming AEAD makes (and Node's createDecipheriv): they must emit plaintext before the
// tag can be checked at the end; see createOpenStream.
//
// The WASM GCM context is one static region. Operations that span several calls (encryptors,
// decryptors, streams) share it through `claim`: the session that last used it leaves its state
// resident; when another operation needs the region, the resident state is first copied into its
// owner's JS buffer (restored on its next call, and that copy zeroed). Keys, key schedules and
// keystream are wiped from WASM memory when an operation ends, successfully or not; an operation
// abandoned midway keeps its state until destroy() (streams: destroy(), also called on error).
import { Transform, type TransformCallback } from 'node:stream';
import { abytes, aint } from './_validate.js';
import { CHUNK, IN, OUT, mem, region, wasm, wipe } from './_wasm.js';
import { AuthenticationError } from './errors.js';

const gcmInit = wasm.gcmInit as (keyLen: number, ivLen: number, decrypt: number) => number;
const gcmIv = wasm.gcmIv as (len: number) => void;
const gcmAad = wasm.gcmAad as (len: number) => void;
const gcmUpdate = wasm.gcmUpdate as (len: number) => number;
const gcmFinal = wasm.gcmFinal as (tagLen: number) => number;
const gcmClear = wasm.gcmClear as () => void;
const gcmSeal = wasm.gcmSeal as (keyLen: number, ivLen: number, aadLen: number, msgLen: number) => number;
const gcmOpen = wasm.gcmOpen as (keyLen: number, ivLen: number, aadLen: number, ctLen: number, tagLen: number) => number;
const GCM_CTX = region('GCM_CTX');
const GCM_CTX_LEN = region('GCM_CTX_LEN');

/** SP 800-38D §5.2.1.1: a message is at most 2^39 − 256 bits. */
export const MAX_MESSAGE_BYTES = 2 ** 36 - 32;
const EMPTY = new Uint8Array(0);

// --- Arguments ---------------------------------------------------------------------------------------

interface Params {
  key: Uint8Array;
  iv: Uint8Array;
  aad: Uint8Array;
  tagLength: number;
}

function params(key: unknown, iv: unknown, aad: unknown, tagLength: unknown): Params {
  const k = abytes(key, 'key', 16, 24, 32);
  const n = abytes(iv, 'iv');
  if (n.length === 0) throw new RangeError('expected an iv of at least 1 byte, got 0');
  const a = aad === undefined ? EMPTY : abytes(aad, 'aad');
  return { key: k, iv: n, aad: a, tagLength: aint(tagLength, 'tagLength', 12, 16) };
}

// --- The shared WASM context ---------------------------------------------------------------------------

/** A multi-call operation on the WASM context (see claim). */
class Session {
  readonly tagLength: number;
  private saved: Uint8Array | null = null;
  private evicted = false;
  private done = false;

  constructor(p: Params, decrypt: boolean) {
    this.tagLength = p.tagLength;
    claim(this);
    begin(p, decrypt);
  }

  /** Copies the resident context out before another operation takes the region. */
  evict(): void {
    this.saved ??= new Uint8Array(GCM_CTX_LEN);
    this.saved.set(mem().subarray(GCM_CTX, GCM_CTX + GCM_CTX_LEN));
    this.evicted = true;
  }

  private resume(): void {
    if (this.done) throw new Error('AES-GCM operation already finished');
    claim(this);
    if (this.evicted && this.saved !== null) {
      mem().set(this.saved, GCM_CTX);
      this.saved.fill(0);
      this.evicted = false;
    }
  }

  update(data: Uint8Array): Uint8Array {
    this.resume();
    const out = new Uint8Array(data.length);
    try {
      crypt(data, out);
    } catch (e) {
      this.destroy();
      throw e;
    }
    return out;
  }

  /** Ends an encryption: its tag, tagLength bytes. */
  tag(): Uint8Array {
    this.end();
    gcmFinal(16);
    return mem().slice(OUT, OUT + this.tagLength);
  }

  /** Ends a decryption: whether tag (tagLength bytes) is the tag of what was decrypted. */
  verify(tag: Uint8Array): boolean {
    if (tag.length !== this.tagLength) {
      this.destroy();
      return false;
    }
    this.end();
    mem().set(tag, IN);
    return gcmFinal(tag.length) === 1;
  }

  /** gcmFinal wipes the context whatever the outcome: the operation is over once it runs. */
  private end(): void {
    this.resume();
    this.done = true;
    owner = null;
  }

  /** Abandons the operation and wipes its state, wherever it is. */
  destroy(): void {
    this.done = true;
    if (owner === this) {
      gcmClear();
      owner = null;
    }
    this.saved?.fill(0);
    this.saved = null;
  }
}

let owner: Session | null = null;

/** Makes s (null: a one-shot call) the user of the WASM context, saving the previous owner's state. */
function claim(s: Session | null): void {
  if (owner === s) return;
  owner?.evict();
  owner = s;
}

// --- Steps on the claimed context ------------------------------------------------------------------------

/** gcmInit with key ‖ IV in IN; an IV longer than the room left streams through gcmIv. */
function begin(p: Params, decrypt: boolean): void {
  const { key, iv } = p;
  const m = mem();
  m.set(key, IN);
  const first = Math.min(iv.length, CHUNK - key.length);
  m.set(iv.subarray(0, first), IN + key.length);
  gcmInit(key.length, first, decrypt ? 1 : 0);
  wipe(IN, key.length);
  for (let off = first; off < iv.length; off += CHUNK) {
    const part = iv.subarray(off, off + CHUNK);
    mem().set(part, IN);
    gcmIv(part.length);
  }
  for (let off = 0; off < p.aad.length; off += CHUNK) {
    const part = p.aad.subarray(off, off + CHUNK);
    mem().set(part, IN);
    gcmAad(part.length);
  }
}

/** out ← GCTR of data (and GHASH over the ciphertext), through IN/OUT chunk by chunk, wiping both. */
function crypt(data: Uint8Array, out: Uint8Array): void {
  for (let off = 0; off < data.length; off += CHUNK) {
    const n = Math.min(CHUNK, data.length - off);
    mem().set(data.subarray(off, off + n), IN);
    if (gcmUpdate(n) !== 1) {
      wipe(IN, n);
      gcmClear();
      throw new RangeError(`message exceeds the AES-GCM limit of ${MAX_MESSAGE_BYTES} bytes`);
    }
    out.set(mem().subarray(OUT, OUT + n), off);
    wipe(IN, n);
    wipe(OUT, n);
  }
}

// --- One-shot ----------------------------------------------------------------------------------------

function seal(key: Uint8Array, iv: Uint8Array, plaintext: Uint8Array, aad?: Uint8Array, tagLength = 16): Uint8Array {
  const p = params(key, iv, aad, tagLength);
  const pt = abytes(plaintext, 'plaintext');
  claim(null);
  const inLen = p.key.length + p.iv.length + p.aad.length + pt.length;
  // Fits: then ciphertext ‖ tag fits OUT too (key and IV take at least 17 bytes of IN).
  if (inLen <= CHUNK) {
    const m = mem();
    m.set(p.key, IN);
    m.set(p.iv, IN + p.key.length);
    m.set(p.aad, IN + p.key.length + p.iv.length);
    m.set(pt, IN + inLen - pt.length);
    gcmSeal(p.key.length, p.iv.length, p.aad.length, pt.length);
    return mem().slice(OUT, OUT + pt.length + p.tagLength);
  }
  const out = new Uint8Array(pt.length + p.tagLength);
  begin(p, false);
  crypt(pt, out);
  gcmFinal(16);
  out.set(mem().subarray(OUT, OUT + p.tagLength), pt.length);
  return out;
}

/**
 * Sealed data shorter than the tag is not a wrong-length argument but a damaged ciphertext, so it
 * throws AuthenticationError like any other forgery (one error for every untrusted-input failure).
 */
function open(key: Uint8Array, iv: Uint8Array, sealed: Uint8Array, aad?: Uint8Array, tagLength = 16): Uint8Array {
  const p = params(key, iv, aad, tagLength);
  const s = abytes(sealed, 'sealed');
  if (s.length < p.tagLength) throw new AuthenticationError();
  const ctLen = s.length - p.tagLength;
  claim(null);
  const inLen = p.key.length + p.iv.length + p.aad.length + s.length;
  if (inLen <= CHUNK) {
    const m = mem();
    m.set(p.key, IN);
    m.set(p.iv, IN + p.key.length);
    m.set(p.aad, IN + p.key.length + p.iv.length);
    m.set(s, IN + inLen - s.length);
    if (gcmOpen(p.key.length, p.iv.length, p.aad.length, ctLen, p.tagLength) !== 1) throw new AuthenticationError();
    const pt = m.slice(OUT, OUT + ctLen);
    m.fill(0, OUT, OUT + ctLen);
    return pt;
  }
  const pt = new Uint8Array(ctLen);
  begin(p, true);
  crypt(s.subarray(0, ctLen), pt);
  mem().set(s.subarray(ctLen), IN);
  if (gcmFinal(p.tagLength) !== 1) {
    pt.fill(0);
    throw new AuthenticationError();
  }
  return pt;
}

// --- Incremental -------------------------------------------------------------------------------------

/** Incremental AES-GCM encryption: update(plaintext) → ciphertext bytes, then final() → tag. */
export interface GcmEncryptor {
  update(plaintext: Uint8Array): Uint8Array;
  /** Ends the operation and returns the tag (tagLength bytes). */
  final(): Uint8Array;
  /** Abandons the operation, wiping its state. */
  destroy(): void;
}

/**
 * Incremental AES-GCM decryption. update() returns plaintext that is NOT yet authenticated: use it only
 * once final(tag) has returned (it throws AuthenticationError on a mismatch).
 */
export interface GcmDecryptor {
  update(ciphertext: Uint8Array): Uint8Array;
  final(tag: Uint8Array): void;
  destroy(): void;
}

function createEncryptor(key: Uint8Array, iv: Uint8Array, aad?: Uint8Array, tagLength = 16): GcmEncryptor {
  const session = new Session(params(key, iv, aad, tagLength), false);
  return {
    update: (plaintext) => session.update(abytes(plaintext, 'plaintext')),
    final: () => session.tag(),
    destroy: () => session.destroy(),
  };
}

function createDecryptor(key: Uint8Array, iv: Uint8Array, aad?: Uint8Array, tagLength = 16): GcmDecryptor {
  const session = new Session(params(key, iv, aad, tagLength), true);
  return {
    update: (ciphertext) => session.update(abytes(ciphertext, 'ciphertext')),
    final: (tag) => {
      if (!session.verify(abytes(tag, 'tag'))) throw new AuthenticationError();
    },
    destroy: () => session.destroy(),
  };
}

// --- Streams -------------------------------------------------------------------------------------------

const asBytes = (chunk: unknown): Uint8Array =>
  typeof chunk === 'string' ? Buffer.from(chunk) : abytes(chunk, 'chunk');

/** Ciphertext as it is produced, then the tag as the last bytes of the stream. */
class SealStream extends Transform {
  private readonly session: Session;

  constructor(p: Params) {
    super();
    this.session = new Session(p, false);
  }

  override _transform(chunk: unknown, _enc: BufferEncoding, cb: TransformCallback): void {
    try {
      cb(null, this.session.update(asBytes(chunk)));
    } catch (e) {
      cb(e as Error);
    }
  }

  override _flush(cb: TransformCallback): void {
    try {
      cb(null, this.session.tag());
    } catch (e) {
      cb(e as Error);
    }
  }

  override _destroy(err: Error | null, cb: (error: Error | null) => void): void {
    this.session.destroy();
    cb(err);
  }
}

/** Holds back the last tagLength bytes (the tag); see createOpenStream. */
class OpenStream extends Transform {
  private readonly session: Session;
  private tail: Uint8Array = EMPTY;

  constructor(p: Params) {
    super();
    this.session = new Session(p, true);
  }

  override _transform(chunk: unknown, _enc: BufferEncoding, cb: TransformCallback): void {
    try {
      const data = asBytes(chunk);
      const t = this.session.tagLength;
      const total = this.tail.length + data.length;
      if (total <= t) {
        this.tail = concat(this.tail, data);
        return cb();
      }
      const emit = total - t;
      const fromTail = Math.min(this.tail.length, emit);
      if (fromTail > 0) this.push(this.session.update(this.tail.subarray(0, fromTail)));
      const fromData = emit - fromTail;
      const out = this.session.update(data.subarray(0, fromData));
      this.tail = concat(this.tail.subarray(fromTail), data.subarray(fromData));
      cb(null, out);
    } catch (e) {
      cb(e as Error);
    }
  }

  override _flush(cb: TransformCallback): void {
    try {
      cb(this.session.verify(this.tail) ? null : new AuthenticationError());
    } catch (e) {
      cb(e as Error);
    }
  }

  override _destroy(err: Error | null, cb: (error: Error | null) => void): void {
    this.session.destroy();
    cb(err);
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const r = new Uint8Array(a.length + b.length);
  r.set(a);
  r.set(b, a.length);
  return r;
}

function createSealStream(key: Uint8Array, iv: Uint8Array, aad?: Uint8Array, tagLength = 16): Transform {
  return new SealStream(params(key, iv, aad, tagLength));
}

/**
 * A Transform from ciphertext ‖ tag to plaintext, for inputs too large to hold in memory. Like every
 * streaming AEAD decryptor it emits plaintext before it can be authenticated: the tag is the last
 * tagLength bytes, held back and checked when the input ends, and a mismatch (or an input shorter than
 * the tag) makes the stream error with AuthenticationError after the data. Treat the output as
 * untrusted until the stream has finished without error (write it to a temporary file and rename it on
 * 'finish', say); for messages that fit in memory use open(), which releases nothing unverified.
 */
function createOpenStream(key: Uint8Array, iv: Uint8Array, aad?: Uint8Array, tagLength = 16): Transform {
  return new OpenStream(params(key, iv, aad, tagLength));
}

/**
 * AES-128/192/256-GCM. Keys are 16, 24 or 32 bytes; an IV is any non-empty length (12 bytes is the
 * fast, recommended case; never reuse one under a key); tags are 12 to 16 bytes (default 16).
 */
export const aesGcm = Object.freeze({
  /** ciphertext ‖ tag. */
  seal,
  /** The plaintext, or AuthenticationError (and nothing else) if anything was altered. */
  open,
  createEncryptor,
  createDecryptor,
  /** A Transform from plaintext to ciphertext ‖ tag. */
  createSealStream,
  createOpenStream,
});
