// ECDSA signature encodings between PKCS#11 and the Provider contract. CKM_ECDSA gives and takes r‖s,
// each of the curve's byte length L (PKCS#11 v2.40 §2.3.1, IEEE P1363); the Provider speaks DER
// SEQUENCE { r INTEGER, s INTEGER } (RFC 3279 §2.2.3), as AWS KMS returns it. Parsing is strict DER
// (_der.ts): a non-minimal encoding of a valid signature is refused, so signatures are not malleable.
import { DerError, DerReader, TAG, tlv, uintTlv } from '../crypto/_der.js';

/** DER of the P1363 signature r‖s. */
export function p1363ToDer(rs: Uint8Array): Uint8Array {
  const L = rs.length / 2;
  return tlv(TAG.SEQUENCE, uintTlv(rs.subarray(0, L)), uintTlv(rs.subarray(L)));
}

/** r‖s (each L bytes) of a strictly DER-encoded signature, or null if it is not one or r or s exceeds L bytes. */
export function derToP1363(sig: Uint8Array, L: number): Uint8Array | null {
  try {
    const outer = new DerReader(sig);
    const r = outer.seq();
    outer.end();
    const a = r.uint();
    const b = r.uint();
    r.end();
    if (a.length > L || b.length > L) return null;
    const out = new Uint8Array(2 * L);
    out.set(a, L - a.length);
    out.set(b, 2 * L - b.length);
    return out;
  } catch (e) {
    if (e instanceof DerError) return null;
    throw e;
  }
}
