// ECDSA signing (assembly/ecdsa.ts over assembly/ec.ts) for each curve with secret private key d and
// nonce k: both fixed (1, or n − 1) vs both random. The digest is random in both classes (public).
// Also the whole public sign() on P-256 and P-521 (bits2int shifts there), a fixed key vs random keys:
// the PKCS#8 parsing and range check of d and the TS half of the RFC 6979 nonce generator run too.
import { randomBytes } from 'node:crypto';
import { CURVES, ecdsaSignRaw, ecPublicKey, encodePkcs8, type Curve } from '../../src/crypto/_ec-keys.js';
import { sign as ecdsaSign } from '../../src/crypto/ecdsa.js';
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

interface ApiIn {
  pkcs8: Uint8Array;
  msg: Uint8Array;
}

function pkcs8(c: Curve, d: Uint8Array): Uint8Array {
  return encodePkcs8(c, d, ecPublicKey(c, d)!);
}

function signApi(c: Curve): CtTarget<ApiIn> {
  const fixed = pkcs8(c, fixedScalar(c, '1'));
  const hash = c.name === 'P-521' ? 'SHA-512' : 'SHA-256';
  return {
    name: `ECDSA sign() API ${c.name} (PKCS#8, RFC 6979)`,
    classes: ['d = 1', 'random d'],
    input: (cls) => ({ pkcs8: cls === 0 ? fixed.slice() : pkcs8(c, randomScalar(c)), msg: new Uint8Array(randomBytes(32)) }),
    call: ({ pkcs8: key, msg }) => {
      ecdsaSign(c.name, hash, key, msg, { format: 'p1363' });
    },
    measurements: MEASUREMENTS[c.name]!,
  };
}

export const ecdsaTargets: Runnable[] = [
  ...Object.values(CURVES).flatMap((c) => FIXED_SCALARS.map((f) => runnable(sign(c, f)))),
  runnable(signApi(CURVES['P-256'])),
  runnable(signApi(CURVES['P-521'])),
];
