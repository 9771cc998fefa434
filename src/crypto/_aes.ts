// Internal, not a public API: drives the raw AES exports of assembly/aes_ct.ts for tests and benchmarks.
// Layout in the IN region: key at 0, counter block at 32, key schedule at 64, then input data;
// output goes to OUT. One schedule at a time, per process.
import { CHUNK, IN, OUT, mem, wasm, wipe } from './_wasm.js';

type SetKey = (key: number, keyLen: number, ks: number) => number;
type EncryptBlocks = (ks: number, rounds: number, src: number, dst: number, nblocks: number) => void;
type Ctr32 = (ks: number, rounds: number, ctr: number, src: number, dst: number, len: number) => void;

const setKeyFn = wasm.aesSetKey as SetKey;
const encryptBlocksFn = wasm.aesEncryptBlocks as EncryptBlocks;
const ctr32Fn = wasm.aesCtr32 as Ctr32;

export const AES_KS_SIZE = (wasm.AES_KS_SIZE as WebAssembly.Global).value as number;
export const KEY = IN;
export const CTR = IN + 32;
export const KS = IN + 64;
export const DATA = IN + 2048;
/** Bytes per call: a multiple of 16, so chunked CTR calls continue the counter. */
export const DATA_CHUNK = CHUNK - 2048;

/** Expands key into the schedule at KS; returns the round count (0 for a bad key length). */
export function setKey(key: Uint8Array): number {
  mem().set(key, KEY);
  const rounds = setKeyFn(KEY, key.length, KS);
  wipe(KEY, 32);
  return rounds;
}

/** ECB-encrypts whole blocks with the schedule at KS. */
export function encryptBlocks(rounds: number, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(data.length);
  for (let off = 0; off < data.length; off += DATA_CHUNK) {
    const n = Math.min(DATA_CHUNK, data.length - off);
    mem().set(data.subarray(off, off + n), DATA);
    encryptBlocksFn(KS, rounds, DATA, OUT, n >> 4);
    out.set(mem().subarray(OUT, OUT + n), off);
  }
  return out;
}

/** CTR with a 32-bit counter (GCM inc32) from the 16-byte counter block; updates counter in place. */
export function ctr32(rounds: number, counter: Uint8Array, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(data.length);
  mem().set(counter, CTR);
  for (let off = 0; off < data.length; off += DATA_CHUNK) {
    const n = Math.min(DATA_CHUNK, data.length - off);
    mem().set(data.subarray(off, off + n), DATA);
    ctr32Fn(KS, rounds, CTR, DATA, OUT, n);
    out.set(mem().subarray(OUT, OUT + n), off);
  }
  counter.set(mem().subarray(CTR, CTR + 16));
  return out;
}

/** Wipes the schedule and the data regions. */
export function clear(): void {
  wipe(IN, CHUNK);
  wipe(OUT, CHUNK);
}
