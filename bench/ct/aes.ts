// AES key schedule and block encryption (assembly/aes_ct.ts) with a secret key: the all-zero key vs
// random keys, on random plaintext blocks in both classes.
import { randomBytes } from 'node:crypto';
import { encryptBlocks, setKey } from '../../src/crypto/_aes.js';
import { runnable, type CtTarget, type Runnable } from './dudect.js';

interface In {
  key: Uint8Array;
  block: Uint8Array;
}

function aes(bits: 128 | 256): CtTarget<In> {
  return {
    name: `AES-${bits} key schedule + 1 block`,
    classes: ['key = 0', 'random key'],
    input: (cls) => ({ key: cls === 0 ? new Uint8Array(bits / 8) : new Uint8Array(randomBytes(bits / 8)), block: new Uint8Array(randomBytes(16)) }),
    call: ({ key, block }) => {
      encryptBlocks(setKey(key), block);
    },
    measurements: 20_000,
  };
}

export const aesTargets: Runnable[] = [runnable(aes(128)), runnable(aes(256))];
