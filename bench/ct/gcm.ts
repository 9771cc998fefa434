// The AES-GCM tag check (assembly/gcm.ts gcmOpen, through aesGcm.open): a forged tag that differs from
// the right one in its first byte vs in its last byte. An early-exit comparison would tell them apart
// and let a forger learn the tag byte by byte.
import { randomBytes } from 'node:crypto';
import { aesGcm } from '../../src/crypto/aes-gcm.js';
import { AuthenticationError } from '../../src/crypto/errors.js';
import { runnable, type CtTarget, type Runnable } from './dudect.js';

const KEY = new Uint8Array(randomBytes(32));
const IV = new Uint8Array(randomBytes(12));
const SEALED = aesGcm.seal(KEY, IV, new Uint8Array(randomBytes(64)));
const TAG_AT = SEALED.length - 16;

const target: CtTarget<Uint8Array> = {
  name: 'AES-256-GCM open: tag comparison',
  classes: ['tag wrong in byte 0', 'tag wrong in byte 15'],
  input: (cls) => {
    const x = SEALED.slice();
    x[TAG_AT + (cls === 0 ? 0 : 15)]! ^= 1 + (randomBytes(1)[0]! % 255);
    return x;
  },
  call: (x) => {
    try {
      aesGcm.open(KEY, IV, x);
    } catch (e) {
      if (!(e instanceof AuthenticationError)) throw e;
      return;
    }
    throw new Error('a forged GCM tag was accepted');
  },
  measurements: 20_000,
};

export const gcmTargets: Runnable[] = [runnable(target)];
