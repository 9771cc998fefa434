// SHA-256, SHA-384 and SHA-512 (FIPS 180-4) over the WASM core: assembly/sha256.ts, assembly/sha512.ts.
// Input is copied into the IN region in CHUNK-sized pieces; the WASM side wipes what it absorbs.
// createHash objects keep their own copy of the hash context and load it into the single WASM
// context only for the duration of a call, so any number of them can be alive and interleaved.
import { abytes, ahash, type HashName } from './_validate.js';
import { CHUNK, IN, OUT, mem, region, wasm, wipe } from './_wasm.js';

/** A hash as the HMAC and HKDF wrappers see it: WASM entry points and sizes. Internal. */
export interface Sha {
  readonly name: HashName;
  /** The hash selector of assembly/hmac.ts and assembly/hkdf.ts (output size in bits). */
  readonly bits: 256 | 384 | 512;
  readonly outputLen: number;
  readonly blockLen: number;
  /** The WASM hash context this hash works in, and its size. */
  readonly ctx: number;
  readonly ctxLen: number;
  readonly init: () => void;
  /** Absorbs IN[0, len). */
  readonly update: (len: number) => void;
  /** Writes the digest to OUT and wipes the context. */
  readonly final: () => void;
  /** init + update + final for a message of at most CHUNK bytes in IN. */
  readonly digest: (len: number) => void;
}

type Fn0 = () => void;
type Fn1 = (len: number) => void;

const sha512Update = wasm.sha512Update as Fn1;
const sha512Ctx = region('SHA512_CTX');
const sha512CtxLen = region('SHA512_CTX_LEN');

export const SHA: Readonly<Record<HashName, Sha>> = {
  'SHA-256': {
    name: 'SHA-256', bits: 256, outputLen: 32, blockLen: 64,
    ctx: region('SHA256_CTX'), ctxLen: region('SHA256_CTX_LEN'),
    init: wasm.sha256Init as Fn0, update: wasm.sha256Update as Fn1,
    final: wasm.sha256Final as Fn0, digest: wasm.sha256Digest as Fn1,
  },
  'SHA-384': {
    name: 'SHA-384', bits: 384, outputLen: 48, blockLen: 128,
    ctx: sha512Ctx, ctxLen: sha512CtxLen,
    init: wasm.sha384Init as Fn0, update: sha512Update,
    final: wasm.sha384Final as Fn0, digest: wasm.sha384Digest as Fn1,
  },
  'SHA-512': {
    name: 'SHA-512', bits: 512, outputLen: 64, blockLen: 128,
    ctx: sha512Ctx, ctxLen: sha512CtxLen,
    init: wasm.sha512Init as Fn0, update: sha512Update,
    final: wasm.sha512Final as Fn0, digest: wasm.sha512Digest as Fn1,
  },
};

/** Streams data through IN into a WASM update function, CHUNK bytes at a time. Internal. */
export function feed(data: Uint8Array, update: (len: number) => void): void {
  const total = data.length;
  for (let off = 0; off < total; off += CHUNK) {
    const n = Math.min(CHUNK, total - off);
    mem().set(n === total ? data : data.subarray(off, off + n), IN);
    update(n);
  }
}

function hashOnce(s: Sha, msg: Uint8Array): Uint8Array {
  abytes(msg, 'msg');
  if (msg.length <= CHUNK) {
    mem().set(msg, IN);
    s.digest(msg.length);
  } else {
    s.init();
    feed(msg, s.update);
    s.final();
  }
  return mem().slice(OUT, OUT + s.outputLen);
}

/** SHA-256 digest (32 bytes) of msg. */
export function sha256(msg: Uint8Array): Uint8Array {
  return hashOnce(SHA['SHA-256'], msg);
}

/** SHA-384 digest (48 bytes) of msg. */
export function sha384(msg: Uint8Array): Uint8Array {
  return hashOnce(SHA['SHA-384'], msg);
}

/** SHA-512 digest (64 bytes) of msg. */
export function sha512(msg: Uint8Array): Uint8Array {
  return hashOnce(SHA['SHA-512'], msg);
}

/** An incremental hash: update any number of times, then digest once. */
export interface Hash {
  readonly outputLen: number;
  readonly blockLen: number;
  update(data: Uint8Array): this;
  digest(): Uint8Array;
}

class Sha2Hash implements Hash {
  readonly #s: Sha;
  // This object's hash context; undefined once digested.
  #state: Uint8Array | undefined;

  constructor(s: Sha) {
    this.#s = s;
    s.init();
    this.#state = mem().slice(s.ctx, s.ctx + s.ctxLen);
    wipe(s.ctx, s.ctxLen);
  }

  get outputLen(): number {
    return this.#s.outputLen;
  }

  get blockLen(): number {
    return this.#s.blockLen;
  }

  #live(method: string): Uint8Array {
    if (this.#state === undefined) {
      throw new Error(`${this.#s.name} ${method}(): digest() was already called; create a new hash`);
    }
    return this.#state;
  }

  update(data: Uint8Array): this {
    const state = this.#live('update');
    abytes(data, 'data');
    const { ctx, ctxLen } = this.#s;
    mem().set(state, ctx);
    feed(data, this.#s.update);
    state.set(mem().subarray(ctx, ctx + ctxLen));
    wipe(ctx, ctxLen);
    return this;
  }

  digest(): Uint8Array {
    const state = this.#live('digest');
    this.#state = undefined;
    mem().set(state, this.#s.ctx);
    state.fill(0);
    this.#s.final();
    return mem().slice(OUT, OUT + this.#s.outputLen);
  }
}

/** An incremental SHA-256, SHA-384 or SHA-512. */
export function createHash(hash: HashName): Hash {
  return new Sha2Hash(SHA[ahash(hash)]);
}
