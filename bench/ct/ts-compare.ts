// Secret-touching comparisons written in TypeScript rather than WASM:
// - the audit log's head-proof MAC check (src/store/audit-chain.ts, AuditChainVerifier.finish →
//   equalBytes): a forged head MAC wrong in its first vs its last byte. The hashes it compares along the
//   chain are public (they are stored in the log), but the head MAC is keyed, so a verifier that exits
//   early would let someone who can write the store and time `audit verify` forge it byte by byte;
// - scalarInRange (src/crypto/_rfc6979.ts), the range check of every RFC 6979 nonce candidate: k = 1 vs
//   random k on P-256.
// The other byte comparisons in src/ compare public values (signature verification, key-import
// consistency checks of public points, DER OIDs) or already use node:crypto timingSafeEqual (the
// reference provider's MAC check and the import check value), so they are not targets; see the README.
import { randomBytes } from 'node:crypto';
import { CURVES } from '../../src/crypto/_ec-keys.js';
import { scalarInRange } from '../../src/crypto/_rfc6979.js';
import { hmac } from '../../src/crypto/hmac.js';
import { AUDIT_HASH_BYTES, AuditChainVerifier, auditHeadMac, type AuditMac } from '../../src/store/audit-chain.js';
import { runnable, type CtTarget, type Runnable } from './dudect.js';
import { fixedScalar, randomScalar } from './_scalars.js';

const AUDIT_KEY = new Uint8Array(randomBytes(32));
const mac: AuditMac = (data) => hmac('SHA-256', AUDIT_KEY, data);
const HEAD = { seq: 1, hash: new Uint8Array(randomBytes(AUDIT_HASH_BYTES)) };
const HEAD_MAC = auditHeadMac(mac, HEAD.seq, HEAD.hash);

const auditHead: CtTarget<Uint8Array> = {
  name: 'audit chain head MAC check (TS equalBytes)',
  classes: ['MAC wrong in byte 0', 'MAC wrong in byte 31'],
  input: (cls) => {
    const m = HEAD_MAC.slice();
    m[cls === 0 ? 0 : AUDIT_HASH_BYTES - 1]! ^= 1 + (randomBytes(1)[0]! % 255);
    return m;
  },
  call: (headMac) => {
    const r = new AuditChainVerifier(mac).finish({ ...HEAD, headMac });
    if (r.ok || !r.reason.startsWith('head proof MAC is invalid')) throw new Error('a forged audit head MAC was not refused as such');
  },
  measurements: 20_000,
};

const P256 = CURVES['P-256'];
const nonceRange: CtTarget<Uint8Array> = {
  name: 'scalarInRange, P-256 (TS, RFC 6979 nonces)',
  classes: ['k = 1', 'random k'],
  input: (cls) => (cls === 0 ? fixedScalar(P256, '1') : randomScalar(P256)),
  call: (k) => {
    if (scalarInRange(k, P256.nBytes) !== 1) throw new Error('scalarInRange refused a scalar in [1, n − 1]');
  },
  measurements: 20_000,
};
export const tsCompareTargets: Runnable[] = [runnable(auditHead), runnable(nonceRange)];
