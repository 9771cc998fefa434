// What every software Provider shares: the spec and algorithm tables (AWS KMS names to primitives and
// the pairings AWS allows), argument checks with the same messages in every provider, and opaque key
// handles. A provider's handles come from its own handleKit(), so no other module can read their
// material and no other provider instance accepts them.
import { randomFillSync } from 'node:crypto';
import type {
  AsymmetricEncryptionAlgorithm,
  AsymmetricKeySpec,
  KeyHandle,
  MacAlgorithm,
  MessageType,
  ProviderKeySpec,
  SecretKeySpec,
  SigningAlgorithm,
} from './provider.js';
import { aint, isBytes, type HashName } from './_validate.js';
import type { CurveName } from './_ec-keys.js';
import { AuthenticationError } from './errors.js';

/** Key bytes of each secret spec (AWS KMS HMAC key sizes equal the hash output). */
export const SECRET_BYTES: Readonly<Record<SecretKeySpec, number>> = { AES_256: 32, HMAC_256: 32, HMAC_384: 48, HMAC_512: 64 };

export const RSA_SPEC_BITS = { RSA_2048: 2048, RSA_3072: 3072, RSA_4096: 4096 } as const;
export type RsaSpec = keyof typeof RSA_SPEC_BITS;

/** Each EC spec's curve, its OpenSSL name, and the one ECDSA algorithm AWS KMS pairs with it. */
export const EC_SPECS = {
  ECC_NIST_P256: { curve: 'P-256', openssl: 'prime256v1', algorithm: 'ECDSA_SHA_256' },
  ECC_NIST_P384: { curve: 'P-384', openssl: 'secp384r1', algorithm: 'ECDSA_SHA_384' },
  ECC_NIST_P521: { curve: 'P-521', openssl: 'secp521r1', algorithm: 'ECDSA_SHA_512' },
  ECC_SECG_P256K1: { curve: 'secp256k1', openssl: 'secp256k1', algorithm: 'ECDSA_SHA_256' },
} as const satisfies Record<string, { curve: CurveName; openssl: string; algorithm: SigningAlgorithm }>;
export type EcSpec = keyof typeof EC_SPECS;

const ALL_SPECS: readonly ProviderKeySpec[] = [
  'AES_256', 'HMAC_256', 'HMAC_384', 'HMAC_512',
  'RSA_2048', 'RSA_3072', 'RSA_4096', 'ECC_NIST_P256', 'ECC_NIST_P384', 'ECC_NIST_P521', 'ECC_SECG_P256K1',
];

export const isSecretSpec = (s: ProviderKeySpec): s is SecretKeySpec => Object.hasOwn(SECRET_BYTES, s);
export const isRsaSpec = (s: ProviderKeySpec): s is RsaSpec => Object.hasOwn(RSA_SPEC_BITS, s);

/** Asserts spec is a known key spec. */
export function aspec(spec: unknown): ProviderKeySpec {
  if (!ALL_SPECS.includes(spec as ProviderKeySpec)) throw new TypeError(`expected a key spec (${ALL_SPECS.join(', ')}), got ${String(spec)}`);
  return spec as ProviderKeySpec;
}

/** Asserts spec is an asymmetric key spec. */
export function aasymmetricSpec(spec: unknown): AsymmetricKeySpec {
  const s = aspec(spec);
  if (isSecretSpec(s)) throw new TypeError(`expected an asymmetric key spec (RSA_* or ECC_*), got ${s}`);
  return s;
}

export interface Signing {
  kind: 'rsa' | 'ecdsa';
  scheme: 'pkcs1' | 'pss' | 'ecdsa';
  hash: HashName;
  hashLen: number;
}

const sig = (kind: Signing['kind'], scheme: Signing['scheme'], bits: 256 | 384 | 512): Signing => ({
  kind,
  scheme,
  hash: `SHA-${bits}`,
  hashLen: bits / 8,
});

const SIGNING: Readonly<Record<SigningAlgorithm, Signing>> = {
  RSASSA_PSS_SHA_256: sig('rsa', 'pss', 256),
  RSASSA_PSS_SHA_384: sig('rsa', 'pss', 384),
  RSASSA_PSS_SHA_512: sig('rsa', 'pss', 512),
  RSASSA_PKCS1_V1_5_SHA_256: sig('rsa', 'pkcs1', 256),
  RSASSA_PKCS1_V1_5_SHA_384: sig('rsa', 'pkcs1', 384),
  RSASSA_PKCS1_V1_5_SHA_512: sig('rsa', 'pkcs1', 512),
  ECDSA_SHA_256: sig('ecdsa', 'ecdsa', 256),
  ECDSA_SHA_384: sig('ecdsa', 'ecdsa', 384),
  ECDSA_SHA_512: sig('ecdsa', 'ecdsa', 512),
};

/**
 * The signing algorithm, checked against the key's spec: RSA specs take the six RSASSA algorithms, an
 * EC spec only the ECDSA algorithm AWS KMS pairs with its curve.
 */
export function asigning(spec: ProviderKeySpec, algorithm: unknown, messageType: unknown, message: unknown): Signing {
  if (typeof algorithm !== 'string' || !Object.hasOwn(SIGNING, algorithm)) {
    throw new TypeError(`expected a signing algorithm (${Object.keys(SIGNING).join(', ')}), got ${String(algorithm)}`);
  }
  const s = SIGNING[algorithm as SigningAlgorithm];
  if (isSecretSpec(spec)) throw new TypeError(`signing needs an RSA_* or ECC_* key, got ${spec}`);
  if (isRsaSpec(spec) ? s.kind !== 'rsa' : EC_SPECS[spec as EcSpec].algorithm !== algorithm) {
    const allowed = isRsaSpec(spec) ? 'the RSASSA_* algorithms' : EC_SPECS[spec as EcSpec].algorithm;
    throw new TypeError(`${algorithm} cannot be used with key spec ${spec} (AWS KMS pairs ${spec} with ${allowed})`);
  }
  if (messageType !== 'RAW' && messageType !== 'DIGEST') throw new TypeError(`expected messageType 'RAW' or 'DIGEST', got ${String(messageType)}`);
  abytesArg(message, 'message');
  if ((messageType as MessageType) === 'DIGEST' && (message as Uint8Array).length !== s.hashLen) {
    throw new RangeError(`expected a ${s.hashLen}-byte ${s.hash} digest as the DIGEST message of ${algorithm}, got ${(message as Uint8Array).length} bytes`);
  }
  return s;
}

const MAC: Readonly<Record<MacAlgorithm, { spec: SecretKeySpec; hash: HashName; len: number }>> = {
  HMAC_SHA_256: { spec: 'HMAC_256', hash: 'SHA-256', len: 32 },
  HMAC_SHA_384: { spec: 'HMAC_384', hash: 'SHA-384', len: 48 },
  HMAC_SHA_512: { spec: 'HMAC_512', hash: 'SHA-512', len: 64 },
};

/** The MAC algorithm, which must be the one of the key's spec (HMAC_384 keys take HMAC_SHA_384 only). */
export function amac(spec: ProviderKeySpec, algorithm: unknown): (typeof MAC)[MacAlgorithm] {
  if (typeof algorithm !== 'string' || !Object.hasOwn(MAC, algorithm)) {
    throw new TypeError(`expected a MAC algorithm (HMAC_SHA_256, HMAC_SHA_384, HMAC_SHA_512), got ${String(algorithm)}`);
  }
  const m = MAC[algorithm as MacAlgorithm];
  if (m.spec !== spec) throw new TypeError(`${algorithm} cannot be used with key spec ${spec} (it needs an ${m.spec} key)`);
  return m;
}

const OAEP: Readonly<Record<AsymmetricEncryptionAlgorithm, 'SHA-1' | 'SHA-256'>> = {
  RSAES_OAEP_SHA_1: 'SHA-1',
  RSAES_OAEP_SHA_256: 'SHA-256',
};

/** The OAEP hash of algorithm, for an RSA key. */
export function aoaep(spec: ProviderKeySpec, algorithm: unknown): 'SHA-1' | 'SHA-256' {
  if (typeof algorithm !== 'string' || !Object.hasOwn(OAEP, algorithm)) {
    throw new TypeError(`expected an encryption algorithm (RSAES_OAEP_SHA_1, RSAES_OAEP_SHA_256), got ${String(algorithm)}`);
  }
  if (!isRsaSpec(spec)) throw new TypeError(`${algorithm} needs an RSA_* key, got ${spec}`);
  return OAEP[algorithm as AsymmetricEncryptionAlgorithm];
}

/** The largest OAEP plaintext for a k-byte modulus (RFC 8017 §7.1.1 step 1b). */
export function oaepLimit(hash: 'SHA-1' | 'SHA-256', bits: number, plaintext: Uint8Array): void {
  const max = bits / 8 - 2 * (hash === 'SHA-1' ? 20 : 32) - 2;
  if (plaintext.length > max) throw new RangeError(`expected plaintext of at most ${max} bytes for OAEP-${hash} with a ${bits}-bit key, got ${plaintext.length}`);
}

/** TypeError unless x is a Uint8Array; then x. */
export function abytesArg(x: unknown, name: string): Uint8Array {
  if (!isBytes(x)) throw new TypeError(`expected ${name} to be a Uint8Array, got ${x === null ? 'null' : typeof x}`);
  return x;
}

/** GCM IV length and tag length of every provider. */
export const IV_BYTES = 12;
export const TAG_BYTES = 16;

/** Asserts the IV of encrypt/decrypt is 12 bytes. */
export function aiv(iv: unknown): Uint8Array {
  const v = abytesArg(iv, 'iv');
  if (v.length !== IV_BYTES) throw new RangeError(`expected a 12-byte iv, got ${v.length}`);
  return v;
}

/** How many bytes random() gives at most in one call (one getRandomValues call). */
const MAX_RANDOM = 65536;
export const arandomLength = (n: unknown): number => aint(n, 'length', 0, MAX_RANDOM);

/**
 * A wrapped token of a secret spec is iv ‖ key ‖ tag; any other length cannot be one, and is refused as
 * a damaged token before decryption.
 */
export function atokenLength(spec: ProviderKeySpec, token: Uint8Array): void {
  const min = IV_BYTES + TAG_BYTES;
  if (isSecretSpec(spec) ? token.length !== min + SECRET_BYTES[spec] : token.length <= min) throw new AuthenticationError();
}

/** Asserts material is the right length for a secret spec (RangeError). */
export function asecretLength(spec: SecretKeySpec, material: Uint8Array): void {
  const want = SECRET_BYTES[spec];
  if (material.length !== want) throw new RangeError(`expected a ${want}-byte ${spec} key, got ${material.length}`);
}

// ---- Handles ----

/** The handle operations of one provider module; see handleKit. */
export interface HandleKit<M> {
  /** A new handle of spec holding material, usable only by owner. */
  make(owner: object, providerName: string, spec: ProviderKeySpec, material: M): KeyHandle;
  /** The material of a live handle that owner made; TypeError for anything else. */
  open(owner: object, key: unknown): M;
  /** Ends a handle and gives its material back for wiping; TypeError as for open. */
  close(owner: object, key: unknown): M;
}

/**
 * A handle class private to the caller. Handles are frozen (spec cannot be rewritten); the material
 * and owner are private fields, reachable only through the returned functions.
 */
export function handleKit<M>(): HandleKit<M> {
  class Handle implements KeyHandle {
    readonly provider: string;
    readonly spec: ProviderKeySpec;
    #owner: object;
    #material: M | undefined;

    constructor(owner: object, providerName: string, spec: ProviderKeySpec, material: M) {
      this.provider = providerName;
      this.spec = spec;
      this.#owner = owner;
      this.#material = material;
      Object.freeze(this);
    }

    static live(owner: object, key: unknown): Handle {
      if (typeof key !== 'object' || key === null || !(#material in key)) {
        const from = typeof key === 'object' && key !== null && typeof (key as KeyHandle).provider === 'string' ? ` (a '${(key as KeyHandle).provider}' handle)` : '';
        throw new TypeError(`expected key to be a handle made by this provider${from}`);
      }
      if (key.#owner !== owner) throw new TypeError(`expected key to be a handle made by this provider, got one of another '${key.provider}' provider instance`);
      if (key.#material === undefined) throw new TypeError(`key handle (${key.spec}) was destroyed`);
      return key;
    }

    static open(owner: object, key: unknown): M {
      return Handle.live(owner, key).#material!;
    }

    static close(owner: object, key: unknown): M {
      const h = Handle.live(owner, key);
      const m = h.#material!;
      h.#material = undefined;
      return m;
    }
  }
  return {
    make: (owner, providerName, spec, material) => new Handle(owner, providerName, spec, material),
    open: Handle.open,
    close: Handle.close,
  };
}

// Random bytes for both providers. Small requests come from a 4 KiB pool filled by one CSPRNG call: each
// call to the platform generator costs about as much as producing 4 KiB, and GenerateDataKey needs only
// 32 + 28 bytes. Bytes handed out are zeroed in the pool at once, so no key lingers there.
const POOL_BYTES = 4096;
const POOL_MAX_REQUEST = 256;
const pool = new Uint8Array(POOL_BYTES);
let poolPos = POOL_BYTES;

/** length bytes from the platform CSPRNG (node:crypto randomFillSync, i.e. OpenSSL's DRBG seeded by the OS). */
export function randomBytesPooled(length: number): Uint8Array {
  if (length > POOL_MAX_REQUEST) return randomFillSync(new Uint8Array(length));
  if (poolPos + length > POOL_BYTES) {
    randomFillSync(pool);
    poolPos = 0;
  }
  const out = pool.slice(poolPos, poolPos + length);
  pool.fill(0, poolPos, poolPos + length);
  poolPos += length;
  return out;
}
