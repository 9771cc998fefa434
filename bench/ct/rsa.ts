// The RSA private operation (assembly/rsa.ts over assembly/bigint_m32.ts, through rsaPrivateOp): a
// fixed vs a random base under one key, and one fixed key vs random keys on random bases. Keys are
// made by node:crypto (fast) and all have the same public sizes, as the test needs: only the secret
// values differ between the classes.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { rsaPrivateOp, type RsaPrivateComponents } from '../../src/crypto/_rsa-core.js';
import { deferred, type CtTarget, type Runnable } from './dudect.js';

const BITS = 2048;
const K = BITS / 8;
// Random-key class: this many keys, used in turn; the fixed class reads as many copies of one key.
const KEYS = 8;
const MEASUREMENTS = 2500;

function newKey(): RsaPrivateComponents {
  const jwk = generateKeyPairSync('rsa', { modulusLength: BITS }).privateKey.export({ format: 'jwk' });
  const b = (s: string | undefined) => new Uint8Array(Buffer.from(s!, 'base64url'));
  return { n: b(jwk.n), e: b(jwk.e), d: b(jwk.d), p: b(jwk.p), q: b(jwk.q), dp: b(jwk.dp), dq: b(jwk.dq), qi: b(jwk.qi) };
}

const copy = (k: RsaPrivateComponents): RsaPrivateComponents => ({
  n: k.n.slice(), e: k.e.slice(), d: k.d.slice(), p: k.p.slice(), q: k.q.slice(), dp: k.dp.slice(), dq: k.dq.slice(), qi: k.qi.slice(),
});

/** A uniform base below n: K random bytes with the top byte below n's (so no rejection is needed). */
function randomBase(n: Uint8Array): Uint8Array {
  const x = new Uint8Array(randomBytes(K));
  x[0] = x[0]! % n[0]!;
  return x;
}

interface In {
  key: RsaPrivateComponents;
  x: Uint8Array;
}

function call({ key, x }: In): void {
  if (rsaPrivateOp(key, x) === null) throw new Error('RSA: a base below n was refused');
}

function baseTarget(): CtTarget<In> {
  const key = newKey();
  const one = new Uint8Array(K);
  one[K - 1] = 1;
  return {
    name: `RSA-${BITS} private op: base`,
    classes: ['x = 1', 'random x'],
    input: (cls) => ({ key, x: cls === 0 ? one.slice() : randomBase(key.n) }),
    call,
    measurements: MEASUREMENTS,
    pool: 64,
    stage: false,
  };
}

function keyTarget(): CtTarget<In> {
  const fixed = newKey();
  const fixedCopies = Array.from({ length: KEYS }, () => copy(fixed));
  const keys = Array.from({ length: KEYS }, newKey);
  const used: [number, number] = [0, 0];
  // The core keeps the Montgomery context of the last public modulus n between calls; without a call
  // under another key before each measurement, the fixed key would find its context there half the
  // time and the random keys never (measured: |t| = 7.9, 7 µs of 2 ms, from n alone).
  const other = newKey();
  const otherX = randomBase(other.n);
  return {
    name: `RSA-${BITS} private op: key`,
    classes: ['fixed key', `${KEYS} random keys`],
    input: (cls) => {
      const key = (cls === 0 ? fixedCopies : keys)[used[cls]++ % KEYS]!;
      return { key, x: randomBase(key.n) };
    },
    call,
    measurements: MEASUREMENTS,
    pool: 64,
    stage: false,
    reset: () => call({ key: other, x: otherX }),
  };
}

/** Made on first run: key generation is not free. */
export const rsaTargets: Runnable[] = [
  deferred(`RSA-${BITS} private op: base`, MEASUREMENTS, baseTarget),
  deferred(`RSA-${BITS} private op: key`, MEASUREMENTS, keyTarget),
];
