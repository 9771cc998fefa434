// HKDF-SHA-256 (assembly/hkdf.ts over hmac.ts), as the engine uses it per Encrypt (a CMK backing key as
// IKM, a random salt): an all-zero IKM vs random IKM, salt and info random in both classes.
import { randomBytes } from 'node:crypto';
import { hkdf } from '../../src/crypto/hkdf.js';
import { runnable, type CtTarget, type Runnable } from './dudect.js';

interface In {
  ikm: Uint8Array;
  salt: Uint8Array;
  info: Uint8Array;
}

const target: CtTarget<In> = {
  name: 'HKDF-SHA-256, 32-byte output',
  classes: ['IKM = 0', 'random IKM'],
  input: (cls) => ({
    ikm: cls === 0 ? new Uint8Array(32) : new Uint8Array(randomBytes(32)),
    salt: new Uint8Array(randomBytes(16)),
    info: new Uint8Array(randomBytes(24)),
  }),
  call: ({ ikm, salt, info }) => {
    hkdf('SHA-256', ikm, salt, info, 32);
  },
  measurements: 20_000,
};

export const hkdfTargets: Runnable[] = [runnable(target)];
