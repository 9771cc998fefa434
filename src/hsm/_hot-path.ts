// The Pkcs11Provider's hot path (AES-GCM, sign/verify, HMAC), behind one interface with two engines:
// the native addon's session pool (src/hsm/native.ts: native threads, the event loop never waits on
// the HSM, batches spread over the pool) and pkcs11js (synchronous calls on the provider's operation
// session; the fallback when the addon is not built). Both raise the token's failures as Pkcs11Error;
// the provider maps them to AuthenticationError/false.
import type { NativeMechanism, NativeSessionPool } from './native.js';
import { pkcs11js as P, type Mechanism, type ObjectHandle, type Session } from './pkcs11.js';

/** A signing mechanism: CKM_* and, for the RSA-PSS family, its parameters. */
export interface SignMechanism {
  type: number;
  pss?: { hashAlg: number; mgf: number; saltLen: number };
}

export interface GcmInput {
  iv: Uint8Array;
  aad: Uint8Array;
  /** The plaintext (encrypt) or ciphertext ‖ tag (decrypt). */
  data: Uint8Array;
}

export interface HotPath {
  readonly kind: 'native' | 'pkcs11js';
  /** Sessions running AES-GCM and everything else (the same one session on pkcs11js); 0 once closed. */
  sessions(): { aesGcm: number; other: number };
  gcmEncrypt(key: ObjectHandle, input: GcmInput): Promise<Uint8Array>;
  gcmDecrypt(key: ObjectHandle, input: GcmInput): Promise<Uint8Array>;
  /** outLen: the largest signature the mechanism gives. */
  sign(key: ObjectHandle, mech: SignMechanism, data: Uint8Array, outLen: number): Promise<Uint8Array>;
  verify(key: ObjectHandle, mech: SignMechanism, data: Uint8Array, signature: Uint8Array): Promise<boolean>;
  gcmEncryptBatch(key: ObjectHandle, inputs: GcmInput[]): Promise<Uint8Array[]>;
  gcmDecryptBatch(key: ObjectHandle, inputs: GcmInput[]): Promise<Uint8Array[]>;
  signBatch(key: ObjectHandle, mech: SignMechanism, data: Uint8Array[], outLen: number): Promise<Uint8Array[]>;
  close(): void;
}

export const TAG_LEN = 16;

/** CKM_AES_GCM with a 96-bit iv and a 128-bit tag, as pkcs11js takes it. */
export function gcmMechanism(iv: Uint8Array, aad: Uint8Array): Mechanism {
  const parameter: P.GcmParams = { type: P.CK_PARAMS_AES_GCM, iv: Buffer.from(iv), ivBits: 96, tagBits: 128 };
  if (aad.length > 0) parameter.aad = Buffer.from(aad);
  return { mechanism: P.CKM_AES_GCM, parameter };
}

function pkcs11jsMechanism(m: SignMechanism): Mechanism {
  if (!m.pss) return { mechanism: m.type };
  const parameter: P.RsaPSS = { type: P.CK_PARAMS_RSA_PSS, ...m.pss };
  return { mechanism: m.type, parameter };
}

const view = (b: Uint8Array): Uint8Array => new Uint8Array(b.buffer, b.byteOffset, b.length);

/** The hot path on pkcs11js: op runs f on the provider's operation session (replaced after failures). */
export function pkcs11jsHotPath(op: <T>(f: (s: Session) => T) => T): HotPath {
  let open = 1;
  const enc = (key: ObjectHandle, i: GcmInput): Uint8Array => view(op((s) => s.encrypt(gcmMechanism(i.iv, i.aad), key, i.data, i.data.length + TAG_LEN)));
  // A copy: callers zero what they get, and pkcs11js's output is a view of its own buffer.
  const dec = (key: ObjectHandle, i: GcmInput): Uint8Array => Uint8Array.from(op((s) => s.decrypt(gcmMechanism(i.iv, i.aad), key, i.data, i.data.length)));
  const sign = (key: ObjectHandle, m: SignMechanism, d: Uint8Array, outLen: number): Uint8Array => view(op((s) => s.sign(pkcs11jsMechanism(m), key, d, outLen)));
  return {
    kind: 'pkcs11js',
    sessions: () => ({ aesGcm: open, other: open }),
    gcmEncrypt: async (key, i) => enc(key, i),
    gcmDecrypt: async (key, i) => dec(key, i),
    sign: async (key, m, d, outLen) => sign(key, m, d, outLen),
    verify: async (key, m, d, sig) => op((s) => s.verify(pkcs11jsMechanism(m), key, d, sig)),
    gcmEncryptBatch: async (key, inputs) => inputs.map((i) => enc(key, i)),
    gcmDecryptBatch: async (key, inputs) => inputs.map((i) => dec(key, i)),
    signBatch: async (key, m, data, outLen) => data.map((d) => sign(key, m, d, outLen)),
    close: () => {
      open = 0;
    },
  };
}

/** A pkcs11js object handle (CK_ULONG in host byte order) as the number the addon takes. */
const handleNumber = (h: ObjectHandle): number => (h.length === 8 ? Number(h.readBigUInt64LE(0)) : h.readUInt32LE(0));

const nativeMechanism = (m: SignMechanism): NativeMechanism => (m.pss ? { type: m.type, params: m.pss } : { type: m.type });

/** The hot path on the native addon's session pools: AES-GCM on gcm, the rest on pool (both closed with it). */
export function nativeHotPath(pool: NativeSessionPool, gcm: NativeSessionPool = pool): HotPath {
  return {
    kind: 'native',
    sessions: () => ({ aesGcm: gcm.size, other: pool.size }),
    gcmEncrypt: (key, i) => gcm.aesGcmEncrypt(handleNumber(key), i.iv, i.aad, i.data),
    gcmDecrypt: (key, i) => gcm.aesGcmDecrypt(handleNumber(key), i.iv, i.aad, i.data),
    sign: (key, m, d) => pool.sign(handleNumber(key), nativeMechanism(m), d),
    verify: (key, m, d, sig) => pool.verify(handleNumber(key), nativeMechanism(m), d, sig),
    gcmEncryptBatch: (key, inputs) => gcm.aesGcmEncryptBatch(handleNumber(key), inputs),
    gcmDecryptBatch: (key, inputs) => gcm.aesGcmDecryptBatch(handleNumber(key), inputs),
    signBatch: (key, m, data) => pool.signBatch(handleNumber(key), nativeMechanism(m), data),
    close: () => {
      try {
        gcm.close();
      } finally {
        pool.close();
      }
    },
  };
}
