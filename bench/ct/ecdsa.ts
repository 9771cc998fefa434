// ECDSA signing (assembly/ecdsa.ts over assembly/ec.ts) for each curve with secret private key d and
// nonce k: both fixed (1, or n − 1) vs both random. The digest is random in both classes (public).
import { randomBytes } from 'node:crypto';
import { CURVES, ecdsaSignRaw, type Curve } from '../../src/crypto/_ec-keys.js';
import { runnable, type CtTarget, type Runnable } from './dudect.js';
import { FIXED_SCALARS, fixedScalar, randomScalar, type FixedScalar } from './_scalars.js';

interface In {
  d: Uint8Array;
  k: Uint8Array;
  e: Uint8Array;
}

// Per-call cost grows about with the cube of the size: fewer measurements where a call is slower.
const MEASUREMENTS: Readonly<Record<string, number>> = { 'P-256': 6000, secp256k1: 6000, 'P-384': 4000, 'P-521': 3000 };

function sign(c: Curve, fixed: FixedScalar): CtTarget<In> {
  const eLen = Math.min(64, c.L);
  return {
    name: `ECDSA sign ${c.name}`,
    classes: [`d = k = ${fixed}`, 'random d, k'],
    input: (cls) => {
      const f = fixedScalar(c, fixed);
      return cls === 0 ? { d: f, k: f.slice(), e: new Uint8Array(randomBytes(eLen)) } : { d: randomScalar(c), k: randomScalar(c), e: new Uint8Array(randomBytes(eLen)) };
    },
    call: ({ d, k, e }) => {
      if (ecdsaSignRaw(c, d, k, e) === null) throw new Error(`ECDSA ${c.name}: the core refused a valid nonce`);
    },
    measurements: MEASUREMENTS[c.name]!,
  };
}

export const ecdsaTargets: Runnable[] = Object.values(CURVES).flatMap((c) => FIXED_SCALARS.map((f) => runnable(sign(c, f))));
