// HMAC (assembly/hmac.ts): hmacVerify with a tag wrong in its first vs its last byte (the comparison
// in WASM), and the keyed computation with a fixed vs a random key.
import { randomBytes } from 'node:crypto';
import { hmac, hmacVerify } from '../../src/crypto/hmac.js';
import { runnable, type CtTarget, type Runnable } from './dudect.js';

const KEY = new Uint8Array(randomBytes(32));
const MSG = new Uint8Array(randomBytes(64));
const TAG = hmac('SHA-256', KEY, MSG);

const verify: CtTarget<Uint8Array> = {
  name: 'HMAC-SHA-256 verify: tag comparison',
  classes: ['tag wrong in byte 0', 'tag wrong in byte 31'],
  input: (cls) => {
    const t = TAG.slice();
    t[cls === 0 ? 0 : 31]! ^= 1 + (randomBytes(1)[0]! % 255);
    return t;
  },
  call: (t) => {
    if (hmacVerify('SHA-256', KEY, MSG, t)) throw new Error('a forged HMAC tag was accepted');
  },
  measurements: 20_000,
};

const keyed: CtTarget<Uint8Array> = {
  name: 'HMAC-SHA-256 with a secret key',
  classes: ['key = 0', 'random key'],
  input: (cls) => (cls === 0 ? new Uint8Array(32) : new Uint8Array(randomBytes(32))),
  call: (k) => {
    hmac('SHA-256', k, MSG);
  },
  measurements: 20_000,
};

export const hmacTargets: Runnable[] = [runnable(verify), runnable(keyed)];
