// The software Provider over the WASM core. A handle holds its key bytes in a private field of this
// module's handle class: AES and HMAC keys as raw bytes, asymmetric keys as canonical PKCS#8 DER with
// the SPKI computed once at import. Material is validated when a handle is made, never again per call,
// so the symmetric hot path (random, deriveKey, encrypt/decrypt, wrap/unwrap) is one WASM call each.
import { encodePkcs8 as encodeEcPkcs8, encodeSpki as encodeEcSpki, CURVES, ecPublicKey, parsePkcs8, pointFromSec1 } from './_ec-keys.js';
import { scalarInRange } from './_rfc6979.js';
import { bitLength, classifyDer, parsePrivateDer, wipeParts } from './_rsa-der.js';
import {
  aasymmetricSpec,
  abytesArg,
  aiv,
  amac,
  aoaep,
  arandomLength,
  randomBytesPooled,
  asecretLength,
  asigning,
  aspec,
  atokenLength,
  EC_SPECS,
  handleKit,
  isRsaSpec,
  isSecretSpec,
  IV_BYTES,
  oaepLimit,
  RSA_SPEC_BITS,
  SECRET_BYTES,
  type EcSpec,
  type RsaSpec,
} from './_provider-common.js';
import { aesGcm } from './aes-gcm.js';
import { ecdsa } from './ecdsa.js';
import { InvalidKeyError } from './errors.js';
import { hkdf } from './hkdf.js';
import { hmac, hmacVerify } from './hmac.js';
import { rsa, rsaKeys } from './rsa.js';
import type {
  AsymmetricEncryptionAlgorithm,
  AsymmetricKeySpec,
  KeyHandle,
  KeyPairBytes,
  MacAlgorithm,
  MessageType,
  Provider,
  ProviderKeySpec,
  SigningAlgorithm,
} from './provider.js';

/** Secret keys: the raw bytes. Asymmetric keys: PKCS#8 DER and its SPKI. */
interface Material {
  key: Uint8Array;
  spki: Uint8Array | null;
}

const kit = handleKit<Material>();
const EMPTY = new Uint8Array(0);

/** InvalidKeyError with the spec named first, keeping the code. */
function forSpec(spec: AsymmetricKeySpec, e: unknown): unknown {
  return e instanceof InvalidKeyError ? new InvalidKeyError(e.code, `${spec}: ${e.message}`) : e;
}

/** Validated canonical PKCS#8 and SPKI of an EC private key for spec; der is not modified. */
function ecMaterial(spec: EcSpec, der: Uint8Array): Material {
  const want = CURVES[EC_SPECS[spec].curve];
  const { curve, d, point } = parsePkcs8(der);
  try {
    if (curve !== want) throw new InvalidKeyError('WRONG_CURVE', `expected a ${want.name} key, got a ${curve.name} one`);
    if (!scalarInRange(d, curve.nBytes)) throw new InvalidKeyError('OUT_OF_RANGE', `${curve.name} private key is not in [1, n − 1]`);
    const xy = ecPublicKey(curve, d)!;
    if (point && !Buffer.from(pointFromSec1(curve, point)).equals(xy)) {
      throw new InvalidKeyError('MISMATCH', 'the public key in the PKCS#8 key is not that of its private key');
    }
    return { key: encodeEcPkcs8(curve, d, xy), spki: encodeEcSpki(curve, xy) };
  } finally {
    d.fill(0);
  }
}

/** Validated canonical PKCS#8 and SPKI of an RSA private key of spec's modulus size. */
function rsaMaterial(spec: RsaSpec, der: Uint8Array): Material {
  if (classifyDer(der) !== 'pkcs8') throw new InvalidKeyError('MALFORMED', 'expected a PKCS#8 PrivateKeyInfo');
  const parts = parsePrivateDer(der);
  const bits = bitLength(parts.n);
  wipeParts(parts);
  if (bits !== RSA_SPEC_BITS[spec]) throw new InvalidKeyError('OUT_OF_RANGE', `expected a ${RSA_SPEC_BITS[spec]}-bit modulus, got ${bits} bits`);
  // rsaKeys.pkcs8 checks the components' consistency in the core and re-encodes them.
  const key = rsaKeys.pkcs8(der);
  return { key, spki: rsaKeys.spki(key) };
}

function asymmetricMaterial(spec: AsymmetricKeySpec, der: Uint8Array): Material {
  try {
    return isRsaSpec(spec) ? rsaMaterial(spec, der) : ecMaterial(spec as EcSpec, der);
  } catch (e) {
    throw forSpec(spec, e);
  }
}

function generatePair(spec: AsymmetricKeySpec): KeyPairBytes {
  return isRsaSpec(spec) ? rsa.generateKeyPair(RSA_SPEC_BITS[spec]) : ecdsa.generateKeyPair(EC_SPECS[spec as EcSpec].curve);
}

export class WasmProvider implements Provider {
  readonly name = 'wasm';

  #make(spec: ProviderKeySpec, m: Material): KeyHandle {
    return kit.make(this, this.name, spec, m);
  }

  /** The bytes of an AES_256 key. */
  #aes(key: KeyHandle, method: string): Uint8Array {
    const m = kit.open(this, key);
    if (key.spec !== 'AES_256') throw new TypeError(`${method} needs an AES_256 key, got ${key.spec}`);
    return m.key;
  }

  #asymmetric(key: KeyHandle, method: string): Material {
    const m = kit.open(this, key);
    if (m.spki === null) throw new TypeError(`${method} needs an RSA_* or ECC_* key, got ${key.spec}`);
    return m;
  }

  async random(length: number): Promise<Uint8Array> {
    return randomBytesPooled(arandomLength(length));
  }

  async generateKey(spec: ProviderKeySpec): Promise<KeyHandle> {
    const s = aspec(spec);
    if (isSecretSpec(s)) return this.#make(s, { key: crypto.getRandomValues(new Uint8Array(SECRET_BYTES[s])), spki: null });
    const { privateKey, publicKey } = generatePair(s);
    return this.#make(s, { key: privateKey, spki: publicKey });
  }

  async importKey(spec: ProviderKeySpec, material: Uint8Array): Promise<KeyHandle> {
    const s = aspec(spec);
    const bytes = abytesArg(material, 'material');
    if (isSecretSpec(s)) {
      asecretLength(s, bytes);
      return this.#make(s, { key: Uint8Array.from(bytes), spki: null });
    }
    return this.#make(s, asymmetricMaterial(s, bytes));
  }

  async destroyKey(key: KeyHandle): Promise<void> {
    kit.close(this, key).key.fill(0);
  }

  async wrapKey(wrappingKey: KeyHandle, key: KeyHandle, aad: Uint8Array): Promise<Uint8Array> {
    const wk = this.#aes(wrappingKey, 'wrapKey');
    const m = kit.open(this, key).key;
    const a = abytesArg(aad, 'aad');
    const iv = crypto.getRandomValues(new Uint8Array(IV_BYTES));
    const sealed = aesGcm.seal(wk, iv, m, a);
    const out = new Uint8Array(IV_BYTES + sealed.length);
    out.set(iv);
    out.set(sealed, IV_BYTES);
    return out;
  }

  async unwrapKey(wrappingKey: KeyHandle, spec: ProviderKeySpec, token: Uint8Array, aad: Uint8Array): Promise<KeyHandle> {
    const wk = this.#aes(wrappingKey, 'unwrapKey');
    const s = aspec(spec);
    const t = abytesArg(token, 'token');
    const a = abytesArg(aad, 'aad');
    atokenLength(s, t);
    const m = aesGcm.open(wk, t.subarray(0, IV_BYTES), t.subarray(IV_BYTES), a);
    if (isSecretSpec(s)) return this.#make(s, { key: m, spki: null });
    try {
      return this.#make(s, asymmetricMaterial(s, m));
    } finally {
      m.fill(0);
    }
  }

  async deriveKey(key: KeyHandle, salt: Uint8Array, info: Uint8Array): Promise<KeyHandle> {
    const ikm = this.#aes(key, 'deriveKey');
    const okm = hkdf('SHA-256', ikm, abytesArg(salt, 'salt'), abytesArg(info, 'info'), 32);
    return this.#make('AES_256', { key: okm, spki: null });
  }

  async encrypt(key: KeyHandle, iv: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Promise<Uint8Array> {
    return aesGcm.seal(this.#aes(key, 'encrypt'), aiv(iv), abytesArg(plaintext, 'plaintext'), abytesArg(aad, 'aad'));
  }

  async decrypt(key: KeyHandle, iv: Uint8Array, ciphertext: Uint8Array, aad: Uint8Array): Promise<Uint8Array> {
    return aesGcm.open(this.#aes(key, 'decrypt'), aiv(iv), abytesArg(ciphertext, 'ciphertext'), abytesArg(aad, 'aad'));
  }

  async publicKey(key: KeyHandle): Promise<Uint8Array> {
    return Uint8Array.from(this.#asymmetric(key, 'publicKey').spki!);
  }

  async sign(key: KeyHandle, algorithm: SigningAlgorithm, message: Uint8Array, messageType: MessageType): Promise<Uint8Array> {
    const m = this.#asymmetric(key, 'sign');
    const a = asigning(key.spec, algorithm, messageType, message);
    const prehashed = messageType === 'DIGEST';
    if (a.kind === 'ecdsa') return ecdsa.sign(EC_SPECS[key.spec as EcSpec].curve, a.hash, m.key, message, { format: 'der', prehashed });
    // PSS salt: the hash length, as AWS KMS uses.
    const params = a.scheme === 'pss' ? { scheme: 'pss', hash: a.hash, saltLength: a.hashLen, prehashed } as const : { scheme: 'pkcs1', hash: a.hash, prehashed } as const;
    return rsa.sign(params, m.key, message);
  }

  async verify(key: KeyHandle, algorithm: SigningAlgorithm, message: Uint8Array, messageType: MessageType, signature: Uint8Array): Promise<boolean> {
    const m = this.#asymmetric(key, 'verify');
    const a = asigning(key.spec, algorithm, messageType, message);
    const sig = abytesArg(signature, 'signature');
    const prehashed = messageType === 'DIGEST';
    if (a.kind === 'ecdsa') return ecdsa.verify(EC_SPECS[key.spec as EcSpec].curve, a.hash, m.spki!, message, sig, { format: 'der', prehashed });
    const params = a.scheme === 'pss' ? { scheme: 'pss', hash: a.hash, saltLength: a.hashLen, prehashed } as const : { scheme: 'pkcs1', hash: a.hash, prehashed } as const;
    return rsa.verify(params, m.spki!, message, sig);
  }

  async encryptAsymmetric(key: KeyHandle, algorithm: AsymmetricEncryptionAlgorithm, plaintext: Uint8Array): Promise<Uint8Array> {
    const m = this.#asymmetric(key, 'encryptAsymmetric');
    const hash = aoaep(key.spec, algorithm);
    const pt = abytesArg(plaintext, 'plaintext');
    oaepLimit(hash, RSA_SPEC_BITS[key.spec as RsaSpec], pt);
    return rsa.encrypt({ scheme: 'oaep', hash, label: EMPTY }, m.spki!, pt);
  }

  async decryptAsymmetric(key: KeyHandle, algorithm: AsymmetricEncryptionAlgorithm, ciphertext: Uint8Array): Promise<Uint8Array> {
    const m = this.#asymmetric(key, 'decryptAsymmetric');
    const hash = aoaep(key.spec, algorithm);
    return rsa.decrypt({ scheme: 'oaep', hash, label: EMPTY }, m.key, abytesArg(ciphertext, 'ciphertext'));
  }

  async mac(key: KeyHandle, algorithm: MacAlgorithm, message: Uint8Array): Promise<Uint8Array> {
    const m = kit.open(this, key);
    const a = amac(key.spec, algorithm);
    return hmac(a.hash, m.key, abytesArg(message, 'message'));
  }

  async verifyMac(key: KeyHandle, algorithm: MacAlgorithm, message: Uint8Array, mac: Uint8Array): Promise<boolean> {
    const m = kit.open(this, key);
    const a = amac(key.spec, algorithm);
    return hmacVerify(a.hash, m.key, abytesArg(message, 'message'), abytesArg(mac, 'mac'));
  }

  async generateKeyPairBytes(spec: AsymmetricKeySpec): Promise<KeyPairBytes> {
    return generatePair(aasymmetricSpec(spec));
  }
}
