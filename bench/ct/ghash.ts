// GHASH (assembly/ghash_ctmul64.ts) with a secret hash key H: H = 0 vs random H, over five random
// blocks in both classes (four go through the aggregated H^4..H path, one through the single-block path).
import { randomBytes } from 'node:crypto';
import { IN, OUT, mem, wasm, wipe } from '../../src/crypto/_wasm.js';
import { runnable, type CtTarget, type Runnable } from './dudect.js';

const ghash = wasm.ghash as (y: number, h: number, src: number, len: number) => void;
const LEN = 80;

interface In {
  h: Uint8Array;
  data: Uint8Array;
}

const target: CtTarget<In> = {
  name: 'GHASH, 5 blocks',
  classes: ['H = 0', 'random H'],
  input: (cls) => ({ h: cls === 0 ? new Uint8Array(16) : new Uint8Array(randomBytes(16)), data: new Uint8Array(randomBytes(LEN)) }),
  call: ({ h, data }) => {
    const m = mem();
    m.set(h, IN);
    m.set(data, IN + 16);
    m.fill(0, OUT, OUT + 16);
    ghash(OUT, IN, IN + 16, LEN);
    wipe(IN, 16);
  },
  measurements: 20_000,
};

export const ghashTargets: Runnable[] = [runnable(target)];
