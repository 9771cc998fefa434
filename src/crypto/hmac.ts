// HMAC-SHA-256/384/512 (RFC 2104) over the WASM core: assembly/hmac.ts. The key is copied into WASM
// memory, where it and every key-derived value are wiped once used; a createHmac object keeps its keyed
// context (inner and outer hash states) in JS between calls and zeroes that copy when digested.
import { abytes, ahash, type HashName } from './_validate.js';
import { CHUNK, IN, OUT, mem, region, wasm, wipe } from './_wasm.js';
import { SHA, feed, type Sha } from './sha2.js';

type Bits = Sha['bits'];
const hmacInit = wasm.hmacInit as (h: Bits, keyLen: number) => void;
const hmacInitHashed = wasm.hmacInitHashed as (h: Bits) => void;
const hmacUpdate = wasm.hmacUpdate as (h: Bits, len: number) => void;
const hmacFinal = wasm.hmacFinal as (h: Bits) => void;
const hmacVerifyW = wasm.hmacVerify as (h: Bits, tagLen: number) => number;

/** The keyed HMAC context of the WASM core; 2 * ctxLen bytes for a given hash. Internal. */
export const HMAC_CTX = region('HMAC_CTX');

/** hmacUpdate bound to each hash, so streaming allocates no closure per call. Internal. */
export const HMAC_UPDATE: Readonly<Record<Bits, (len: number) => void>> = {
  256: (len) => hmacUpdate(256, len),
  384: (len) => hmacUpdate(384, len),
  512: (len) => hmacUpdate(512, len),
};

/** Keys HMAC_CTX with a key of any length (RFC 2104 step 1 runs in WASM). Internal. */
export function keyHmac(s: Sha, key: Uint8Array): void {
  if (key.length <= CHUNK) {
    mem().set(key, IN);
    hmacInit(s.bits, key.length);
  } else {
    // Longer than IN: stream the key through the plain hash, whose digest WASM takes as K0.
    s.init();
    feed(key, s.update);
    hmacInitHashed(s.bits);
  }
}

/** HMAC without argument checks, for wrappers that did their own. Internal. */
export function mac(s: Sha, key: Uint8Array, msg: Uint8Array): Uint8Array {
  keyHmac(s, key);
  feed(msg, HMAC_UPDATE[s.bits]);
  hmacFinal(s.bits);
  return mem().slice(OUT, OUT + s.outputLen);
}

/** HMAC-SHA-256/384/512 tag of msg under key (any length; longer than a block is hashed first). */
export function hmac(hash: HashName, key: Uint8Array, msg: Uint8Array): Uint8Array {
  const s = SHA[ahash(hash)];
  abytes(key, 'key');
  abytes(msg, 'msg');
  return mac(s, key, msg);
}

/**
 * Whether tag is the HMAC of msg under key, compared in constant time inside WASM (the computed tag
 * never reaches JS). The tag must be the full output unless `allowTruncated` is set: then its leading
 * bytes suffice, but not fewer than half the hash output nor 80 bits (RFC 2104 §5). Full length is
 * the default so that a caller cannot be fed a shortened tag by accident (AWS VerifyMac wants it too).
 */
export function hmacVerify(
  hash: HashName,
  key: Uint8Array,
  msg: Uint8Array,
  tag: Uint8Array,
  { allowTruncated = false }: { allowTruncated?: boolean } = {},
): boolean {
  const s = SHA[ahash(hash)];
  abytes(key, 'key');
  abytes(msg, 'msg');
  abytes(tag, 'tag');
  const min = allowTruncated ? Math.max(10, s.outputLen / 2) : s.outputLen;
  if (tag.length > s.outputLen || tag.length < min) return false;
  keyHmac(s, key);
  feed(msg, HMAC_UPDATE[s.bits]);
  mem().set(tag, IN);
  return hmacVerifyW(s.bits, tag.length) === 1;
}

/** An incremental HMAC: update any number of times, then digest once. */
export interface Hmac {
  readonly outputLen: number;
  update(data: Uint8Array): this;
  digest(): Uint8Array;
}

/** key's HMAC context (inner and outer hash states), copied out of WASM memory, which is then wiped. */
function keyedState(s: Sha, key: Uint8Array): Uint8Array {
  keyHmac(s, key);
  const state = mem().slice(HMAC_CTX, HMAC_CTX + 2 * s.ctxLen);
  wipe(HMAC_CTX, state.length);
  return state;
}

class HmacImpl implements Hmac {
  readonly #s: Sha;
  readonly #len: number;
  // This object's keyed context (key-derived: zeroed when digested); undefined once digested.
  #state: Uint8Array | undefined;

  constructor(s: Sha, key: Uint8Array) {
    this.#s = s;
    this.#len = 2 * s.ctxLen;
    this.#state = keyedState(s, key);
  }

  get outputLen(): number {
    return this.#s.outputLen;
  }

  #live(method: string): Uint8Array {
    if (this.#state === undefined) {
      throw new Error(`HMAC-${this.#s.name} ${method}(): digest() was already called; create a new HMAC`);
    }
    return this.#state;
  }

  update(data: Uint8Array): this {
    const state = this.#live('update');
    abytes(data, 'data');
    mem().set(state, HMAC_CTX);
    feed(data, HMAC_UPDATE[this.#s.bits]);
    state.set(mem().subarray(HMAC_CTX, HMAC_CTX + this.#len));
    wipe(HMAC_CTX, this.#len);
    return this;
  }

  digest(): Uint8Array {
    const state = this.#live('digest');
    this.#state = undefined;
    mem().set(state, HMAC_CTX);
    state.fill(0);
    hmacFinal(this.#s.bits);
    return mem().slice(OUT, OUT + this.#s.outputLen);
  }
}

/** One key for many messages: the padded key's inner and outer hash states are computed once. */
export interface HmacKey {
  readonly outputLen: number;
  /** HMAC of msg; the key's states stay resident in this object between calls. */
  mac(msg: Uint8Array): Uint8Array;
  /** Zeroes the keyed states; mac() throws afterwards. */
  destroy(): void;
}

/**
 * A reusable HMAC key (for a MAC computed over many messages, such as an audit chain): half the
 * compressions of hmac() on short messages, since the key schedule is not redone per message.
 */
export function createHmacKey(hash: HashName, key: Uint8Array): HmacKey {
  const s = SHA[ahash(hash)];
  abytes(key, 'key');
  let state: Uint8Array | undefined = keyedState(s, key);
  return {
    outputLen: s.outputLen,
    mac(msg: Uint8Array): Uint8Array {
      if (state === undefined) throw new Error(`HMAC-${s.name} key was destroyed`);
      abytes(msg, 'msg');
      mem().set(state, HMAC_CTX);
      feed(msg, HMAC_UPDATE[s.bits]);
      hmacFinal(s.bits);
      wipe(HMAC_CTX, state.length);
      return mem().slice(OUT, OUT + s.outputLen);
    },
    destroy(): void {
      state?.fill(0);
      state = undefined;
    },
  };
}

/** An incremental HMAC-SHA-256/384/512 under key. */
export function createHmac(hash: HashName, key: Uint8Array): Hmac {
  const s = SHA[ahash(hash)];
  abytes(key, 'key');
  return new HmacImpl(s, key);
}
