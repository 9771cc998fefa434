// Elliptic-curve Diffie–Hellman (SEC 1 v2 §3.3.1, the ECDH primitive without cofactor, which is 1 on all
// four curves): the shared secret is the x coordinate of d·Q. The peer's point is decoded and checked
// to lie on the curve before any arithmetic (invalid-curve attacks), and infinity is refused.
import { acurve, ecdhRaw, readPrivateKey, readPublicKey, type CurveName, type KeyInput } from './_ec-keys.js';
import { generateKeyPair } from './ecdsa.js';
import { InvalidKeyError } from './errors.js';

/**
 * The shared secret (x coordinate, L bytes) of a PKCS#8 DER or KeyObject private key and a peer public
 * key (SPKI DER, SEC1 uncompressed or compressed point, or KeyObject) on `curve`. Throws
 * InvalidKeyError for a malformed key, a key on another curve, a point not on the curve or infinity,
 * and TypeError for wrong argument types or an unknown curve name. Of what Wycheproof leaves open,
 * compressed points are accepted; SPKI that is not canonical DER, or that spells the curve out as
 * explicit parameters instead of naming it, is refused.
 */
export function deriveSharedSecret(curve: CurveName, privateKey: KeyInput, peerPublicKey: KeyInput): Uint8Array {
  const c = acurve(curve);
  const q = readPublicKey(c, peerPublicKey, 'peerPublicKey');
  const d = readPrivateKey(c, privateKey);
  try {
    const z = ecdhRaw(c, d, q);
    if (!z) throw new InvalidKeyError('NOT_ON_CURVE', `ECDH ${c.name}: the shared point is infinity or the peer key is invalid`);
    return z;
  } finally {
    d.fill(0);
  }
}

/** ECDH over the four curves; key pairs are those of ecdsa.generateKeyPair (PKCS#8 and SPKI DER). */
export const ecdh = { generateKeyPair, deriveSharedSecret };
