// ECDH scalar multiplication (assembly/ecdh.ts over assembly/ec.ts) for each curve with a secret
// scalar d: fixed (1, or n − 1) vs random, against one peer point (public, the same in both classes).
import { CURVES, ecdhRaw, ecPublicKey, type Curve } from '../../src/crypto/_ec-keys.js';
import { runnable, type CtTarget, type Runnable } from './dudect.js';
import { FIXED_SCALARS, fixedScalar, randomScalar, type FixedScalar } from './_scalars.js';

const MEASUREMENTS: Readonly<Record<string, number>> = { 'P-256': 4000, secp256k1: 4000, 'P-384': 3000, 'P-521': 2000 };

function ecdh(c: Curve, fixed: FixedScalar): CtTarget<Uint8Array> {
  const q = ecPublicKey(c, randomScalar(c))!;
  return {
    name: `ECDH ${c.name}`,
    classes: [`d = ${fixed}`, 'random d'],
    input: (cls) => (cls === 0 ? fixedScalar(c, fixed) : randomScalar(c)),
    call: (d) => {
      if (ecdhRaw(c, d, q) === null) throw new Error(`ECDH ${c.name}: the core refused a valid scalar`);
    },
    measurements: MEASUREMENTS[c.name]!,
  };
}

export const ecdhTargets: Runnable[] = Object.values(CURVES).flatMap((c) => FIXED_SCALARS.map((f) => runnable(ecdh(c, f))));
