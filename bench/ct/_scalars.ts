// Secret scalars for the EC targets: the fixed ones that variable-time code treats differently (1, with
// one set bit and leading zero windows; n − 1, with nearly every bit set) and uniform random ones.
import { randomBytes } from 'node:crypto';
import { scalarInRange } from '../../src/crypto/_rfc6979.js';
import type { Curve } from '../../src/crypto/_ec-keys.js';

export type FixedScalar = '1' | 'n − 1';
export const FIXED_SCALARS: readonly FixedScalar[] = ['1', 'n − 1'];

// Both kinds are made the same way (a fresh L-byte Uint8Array, then filled), so that the JS engine
// sees the same kind of object in both classes and only the values differ.

/** The scalar as an L-byte big-endian string. */
export function fixedScalar(c: Curve, which: FixedScalar): Uint8Array {
  const v = which === '1' ? 1n : c.n - 1n;
  const k = new Uint8Array(c.L);
  k.set(Buffer.from(v.toString(16).padStart(2 * c.L, '0'), 'hex'));
  return k;
}

/** A uniform scalar in [1, n − 1] (rejection sampling with the top bits masked to the order's). */
export function randomScalar(c: Curve): Uint8Array {
  const top = 0xff >>> (8 * c.L - c.bits);
  for (;;) {
    const k = new Uint8Array(c.L);
    k.set(randomBytes(c.L));
    k[0]! &= top;
    if (scalarInRange(k, c.nBytes)) return k;
  }
}
