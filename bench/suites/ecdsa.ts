// ECDSA sign and verify, and ECDH, on P-256, P-384, P-521 and secp256k1: Keyward's WASM core against
// node:crypto (OpenSSL) and @noble/curves, with one key per curve and the same 32-byte messages.
// Each curve signs with its customary hash (SHA-256, SHA-384, SHA-512, SHA-256).
import { diffieHellman, createPrivateKey, createPublicKey, sign as nodeSign, verify as nodeVerify, type KeyObject } from 'node:crypto';
import { p256, p384, p521 } from '@noble/curves/nist.js';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { ecdh, ecdsa, ecKeys, type CurveName, type HashName } from '../../src/crypto/index.js';
import { CrossValidationError, input, type Impl, type Suite } from '../harness.js';

interface Setup {
  tag: string;
  curve: CurveName;
  hash: HashName;
  nodeHash: string;
  noble: typeof p256;
  L: number;
}

const SETUPS: Setup[] = [
  { tag: 'p256', curve: 'P-256', hash: 'SHA-256', nodeHash: 'sha256', noble: p256, L: 32 },
  { tag: 'p384', curve: 'P-384', hash: 'SHA-384', nodeHash: 'sha384', noble: p384, L: 48 },
  { tag: 'p521', curve: 'P-521', hash: 'SHA-512', nodeHash: 'sha512', noble: p521, L: 66 },
  { tag: 'k256', curve: 'secp256k1', hash: 'SHA-256', nodeHash: 'sha256', noble: secp256k1, L: 32 },
];

interface Keys {
  d: Uint8Array;
  pkcs8: Uint8Array;
  point: Uint8Array;
  nodePriv: KeyObject;
  nodePub: KeyObject;
}

/** A fixed key per curve (and seed), the same in every implementation's format. */
function keys(s: Setup, seed: number): Keys {
  const d = input(s.L, seed);
  // Below n on every curve: clear the top bit (and P-521's seven excess bits).
  d[0]! &= s.L === 66 ? 0x01 : 0x7f;
  const pkcs8 = ecKeys.pkcs8(s.curve, d);
  const nodePriv = createPrivateKey({ key: Buffer.from(pkcs8), format: 'der', type: 'pkcs8' });
  return { d, pkcs8, point: ecKeys.publicPoint(pkcs8), nodePriv, nodePub: createPublicKey(nodePriv) };
}

/**
 * node:crypto signs with random nonces, so signatures cannot be compared byte for byte. Instead the
 * first signature of each message (the cross-validation call) must verify in all three verifiers, or
 * the suite stops with a CrossValidationError; the timed calls of that message then only sign.
 */
function checkedSign(s: Setup, k: Keys, sign: (m: Uint8Array) => Uint8Array): (m: Uint8Array) => Uint8Array {
  const accepted = Uint8Array.of(1);
  let last: Uint8Array | undefined;
  return (m) => {
    const der = sign(m);
    if (m !== last) {
      const ok =
        nodeVerify(s.nodeHash, m, k.nodePub, der) &&
        ecdsa.verify(s.curve, s.hash, k.point, m, der, { format: 'der' }) &&
        s.noble.verify(der, m, k.point, { format: 'der', lowS: false });
      if (!ok) throw new CrossValidationError(`ecdsa-${s.tag}-sign: a signature was refused by a verifier; not timed`);
      last = m;
    }
    return accepted;
  };
}

function signSuite(s: Setup): Suite {
  const k = keys(s, 11);
  const impls: Impl[] = [
    { name: 'keyward-wasm', run: checkedSign(s, k, (m) => ecdsa.sign(s.curve, s.hash, k.pkcs8, m, { format: 'der' })) },
    { name: 'node:crypto', run: checkedSign(s, k, (m) => nodeSign(s.nodeHash, m, k.nodePriv)) },
    // Hedged like Keyward's default (RFC 6979 §3.6 with 32 random bytes), and without low-S, as node.
    { name: '@noble/curves', run: checkedSign(s, k, (m) => s.noble.sign(m, k.d, { format: 'der', lowS: false, extraEntropy: true })) },
  ];
  return { name: `ecdsa-${s.tag}-sign`, sizes: [32], baseline: 'node:crypto', impls };
}

function verifySuite(s: Setup): Suite {
  const k = keys(s, 12);
  // One node:crypto signature per message, in both encodings.
  const sigs = new Map<Uint8Array, { der: Uint8Array; compact: Uint8Array }>();
  const sigOf = (m: Uint8Array) => {
    let sig = sigs.get(m);
    if (!sig) {
      const compact = nodeSign(s.nodeHash, m, { key: k.nodePriv, dsaEncoding: 'ieee-p1363' });
      sig = { compact, der: s.noble.Signature.fromBytes(compact, 'compact').toBytes('der') };
      // A refusal must be a disagreement with this baseline, not a bad signature all three refuse.
      if (!nodeVerify(s.nodeHash, m, k.nodePub, sig.der)) throw new CrossValidationError(`ecdsa-${s.tag}-verify: bad input signature`);
      sigs.set(m, sig);
    }
    return sig;
  };
  const bit = (ok: boolean) => Uint8Array.of(ok ? 1 : 0);
  const impls: Impl[] = [
    { name: 'keyward-wasm', run: (m) => bit(ecdsa.verify(s.curve, s.hash, k.point, m, sigOf(m).der, { format: 'der' })) },
    { name: 'node:crypto', run: (m) => bit(nodeVerify(s.nodeHash, m, k.nodePub, sigOf(m).der)) },
    { name: '@noble/curves', run: (m) => bit(s.noble.verify(sigOf(m).compact, m, k.point, { lowS: false })) },
  ];
  return { name: `ecdsa-${s.tag}-verify`, sizes: [32], baseline: 'node:crypto', impls };
}

/** ECDH with a fixed peer: every implementation must derive the same x coordinate (the message is unused). */
function ecdhSuite(s: Setup): Suite {
  const a = keys(s, 13);
  const b = keys(s, 14);
  const impls: Impl[] = [
    { name: 'keyward-wasm', run: () => ecdh.deriveSharedSecret(s.curve, a.pkcs8, b.point) },
    { name: 'node:crypto', run: () => diffieHellman({ privateKey: a.nodePriv, publicKey: b.nodePub }) },
    { name: '@noble/curves', run: () => s.noble.getSharedSecret(a.d, b.point).subarray(1) },
  ];
  return { name: `ecdh-${s.tag}`, sizes: [32], baseline: 'node:crypto', impls };
}

export const ecdsaSuites: Suite[] = SETUPS.flatMap((s) => [signSuite(s), verifySuite(s), ecdhSuite(s)]);
