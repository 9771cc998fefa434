// The Provider over a PKCS#11 token. Handles hold object handles (a secret key, or a private key and
// its public key), the label, and for asymmetric keys the SPKI (public data, cached so publicKey needs
// no round trip). AES-GCM, sign/verify and HMAC (the hot path, and the batch calls) run on the native
// addon's pool of logged-in sessions on native threads when the addon loads, else on pkcs11js
// (_hot-path.ts); everything else is pkcs11js. What each operation runs, and where SoftHSM2 2.6 lacks
// a mechanism:
//
//   random               C_GenerateRandom
//   encrypt / decrypt    CKM_AES_GCM (96-bit iv, 128-bit tag, AAD)
//   sign / verify        ECDSA: CKM_ECDSA over the digest (hashed here for RAW), r‖s ⇄ DER.
//                        RSA PKCS#1 v1.5: CKM_SHA*_RSA_PKCS (RAW), CKM_RSA_PKCS over DigestInfo (DIGEST).
//                        RSA PSS: CKM_SHA*_RSA_PKCS_PSS (RAW), CKM_RSA_PKCS_PSS (DIGEST); MGF1 with the
//                        same hash, salt = hash length (as AWS KMS).
//   OAEP                 CKM_RSA_PKCS_OAEP, MGF1 with the same hash, empty label, when the token takes
//                        the hash; SoftHSM2 2.6 takes only SHA-1, so for SHA-256 the EME-OAEP padding is
//                        done here around raw RSA in the token (CKM_RSA_X_509).
//   mac / verifyMac      CKM_SHA*_HMAC (the token compares the tag).
//   wrapKey / unwrapKey  The contract's format is iv ‖ AES-256-GCM(material) ‖ tag with AAD. SoftHSM2
//                        does not offer CKM_AES_GCM for C_WrapKey/C_UnwrapKey (the mechanism lacks
//                        CKF_WRAP; the call gives CKR_MECHANISM_INVALID), and CKM_AES_KEY_WRAP_PAD has
//                        no AAD and another format. So wrapKey exports the key with C_WrapKey under this
//                        provider's transport key (CKM_AES_KEY_WRAP_PAD, RFC 5649), opens that here, and
//                        has the token seal the material with C_Encrypt(CKM_AES_GCM) under the wrapping
//                        key; unwrapKey is C_Decrypt(CKM_AES_GCM) then C_CreateObject. The wrapping key
//                        never leaves the token; the wrapped key's material passes through this
//                        process's memory for the length of the call and is zeroed. Keys made with
//                        extractable: false cannot be wrapped at all (CKR_KEY_UNEXTRACTABLE).
//   deriveKey            HKDF-SHA256 (RFC 5869). SoftHSM2 2.6 has no CKM_HKDF_DERIVE (PKCS#11 3.0) and
//                        pkcs11js cannot pass its parameters, so: the extract step's inner hash
//                        SHA-256((salt ⊕ ipad) ‖ IKM) runs in the token with C_DigestKey (the IKM, the
//                        backing key, never leaves it); the outer hash and the expand step run here on
//                        the PRK; the 32-byte output becomes a session object with C_CreateObject. PRK
//                        and output are zeroed. The derived key is in this process's memory briefly.
//   importKey            C_CreateObject from the validated material (PKCS#8 parsed and checked here
//                        with the same checks and errors as the software providers).
//   generateKeyPairBytes The pair is generated in the token (its generator and key checks), exported
//                        once as PKCS#8 through the transport key, and both objects destroyed: the
//                        caller of GenerateDataKeyPair receives the private key by design.
//
// Keys the Provider interface makes are session objects, CKA_SENSITIVE and CKA_EXTRACTABLE (the
// hierarchy stores them as wrapped tokens). Hardware-resident keys (the region key, HSM-held CMKs) are
// made with generateKey/importKey(..., { token: true, label, extractable: false }) and found again with
// openKey(label); they never leave the token in any form.
import { createDecipheriv } from 'node:crypto';
import { CURVES, ecPublicKey, encodePkcs8 as encodeEcPkcs8, encodeSpki as encodeEcSpki, parsePkcs8, parseSpki, pointFromSec1, type Curve } from '../crypto/_ec-keys.js';
import { DerReader, TAG, tlv } from '../crypto/_der.js';
import {
  aasymmetricSpec,
  abytesArg,
  aiv,
  amac,
  aoaep,
  arandomLength,
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
  TAG_BYTES,
  type EcSpec,
  type RsaSpec,
  type Signing,
} from '../crypto/_provider-common.js';
import { scalarInRange } from '../crypto/_rfc6979.js';
import { bitLength, classifyDer, encodeSpki as encodeRsaSpki, parsePrivateDer, wipeParts, type RsaPrivateParts } from '../crypto/_rsa-der.js';
import type { HashName } from '../crypto/_validate.js';
import { AuthenticationError, DecryptionError, InvalidKeyError } from '../crypto/errors.js';
import { hmac } from '../crypto/hmac.js';
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
} from '../crypto/provider.js';
import { rsaKeys } from '../crypto/rsa.js';
import { emeOaepDecode, emeOaepEncode } from '../crypto/_rsa-pad.js';
import { sha256, sha384, sha512 } from '../crypto/sha2.js';
import { checkHsmConfig, readPin, type HsmConfig } from './config.js';
import { derToP1363, p1363ToDer } from './_ecdsa-der.js';
import { KeyLabelError, Pkcs11Error } from './errors.js';
import { nativeHotPath, pkcs11jsHotPath, type HotPath, type SignMechanism } from './_hot-path.js';
import { loadNative, type NativeModule } from './native.js';
import {
  generateAesKey,
  generateEcKeyPair,
  generateHmacKey,
  generateRsaKeyPair,
  keyPairTemplates,
  Pkcs11Module,
  pkcs11js as P,
  secretKeyTemplate,
  type Attributes,
  type KeyOptions,
  type Mechanism,
  type ObjectHandle,
  type Session,
  type Slot,
} from './pkcs11.js';

/** What a handle holds. */
interface Material {
  /** The secret key, or the private key. */
  obj: ObjectHandle;
  /** The public key object of an asymmetric key. */
  pub: ObjectHandle | null;
  spki: Uint8Array | null;
  label: string | null;
  /** A token (persistent) object: destroyKey releases the handle and leaves the object. */
  token: boolean;
}

/** Options of the keys generateKey/importKey make; the Provider interface's calls use the defaults. */
export interface Pkcs11KeyOptions extends KeyOptions {
  /** Default false: a session object, gone when the provider closes. true needs a label. */
  token?: boolean;
  /** Default true: the key can be wrapped (wrapKey). false: it never leaves the token in any form. */
  extractable?: boolean;
}

const kit = handleKit<Material>();
const u8 = (b: Uint8Array): Uint8Array => new Uint8Array(b.buffer, b.byteOffset, b.length);
/** The RFC 5649 alternative initial value (KWP). */
const KWP_IV = Buffer.from('a65959a6', 'hex');
/** Room for any wrapped key (an RSA-4096 PKCS#8 is about 2.4 KB). */
const WRAP_OUT = 8192;

const HASH: Readonly<Record<HashName, { digest: (m: Uint8Array) => Uint8Array; mech: number; mgf: number; pkcs1: number; pss: number; digestInfo: Uint8Array }>> = {
  'SHA-256': { digest: sha256, mech: P.CKM_SHA256, mgf: P.CKG_MGF1_SHA256, pkcs1: P.CKM_SHA256_RSA_PKCS, pss: P.CKM_SHA256_RSA_PKCS_PSS, digestInfo: Buffer.from('3031300d060960864801650304020105000420', 'hex') },
  'SHA-384': { digest: sha384, mech: P.CKM_SHA384, mgf: P.CKG_MGF1_SHA384, pkcs1: P.CKM_SHA384_RSA_PKCS, pss: P.CKM_SHA384_RSA_PKCS_PSS, digestInfo: Buffer.from('3041300d060960864801650304020205000430', 'hex') },
  'SHA-512': { digest: sha512, mech: P.CKM_SHA512, mgf: P.CKG_MGF1_SHA512, pkcs1: P.CKM_SHA512_RSA_PKCS, pss: P.CKM_SHA512_RSA_PKCS_PSS, digestInfo: Buffer.from('3051300d060960864801650304020305000440', 'hex') },
};

/** CKZ_DATA_SPECIFIED (PKCS#11 v2.40 §2.1.8): the OAEP label source; pkcs11js does not export it. */
const CKZ_DATA_SPECIFIED = 1;
type OaepHash = 'SHA-1' | 'SHA-256';
const OAEP_PARAMS = {
  'SHA-1': { hashAlg: P.CKM_SHA_1, mgf: P.CKG_MGF1_SHA1 },
  'SHA-256': { hashAlg: P.CKM_SHA256, mgf: P.CKG_MGF1_SHA256 },
} as const;
function oaepMech(hash: OaepHash): Mechanism {
  const parameter: P.RsaOAEP = { type: P.CK_PARAMS_RSA_OAEP, ...OAEP_PARAMS[hash], source: CKZ_DATA_SPECIFIED };
  return { mechanism: P.CKM_RSA_PKCS_OAEP, parameter };
}
/** How a token says it does not do OAEP with some hash. */
const OAEP_REFUSALS = new Set(['CKR_ARGUMENTS_BAD', 'CKR_MECHANISM_PARAM_INVALID', 'CKR_MECHANISM_INVALID']);
const EMPTY = new Uint8Array(0);

/** Cryptoki return values of C_Decrypt that mean "this ciphertext does not open" (SoftHSM2 gives CKR_GENERAL_ERROR for a bad GCM tag or OAEP padding). */
const DATA_FAILURES = new Set(['CKR_ENCRYPTED_DATA_INVALID', 'CKR_ENCRYPTED_DATA_LEN_RANGE', 'CKR_DATA_INVALID', 'CKR_DATA_LEN_RANGE', 'CKR_GENERAL_ERROR']);
/** Return values of a call on a session the token closed (removing a token closes all its sessions). */
const SESSION_GONE = new Set(['CKR_DEVICE_REMOVED', 'CKR_SESSION_HANDLE_INVALID', 'CKR_SESSION_CLOSED']);
const isDataFailure = (e: unknown): boolean => e instanceof Pkcs11Error && e.method.startsWith('C_Decrypt') && DATA_FAILURES.has(e.ckr);


/** InvalidKeyError with the spec named first, keeping the code (as the software providers word it). */
function forSpec(spec: AsymmetricKeySpec, e: unknown): unknown {
  return e instanceof InvalidKeyError ? new InvalidKeyError(e.code, `${spec}: ${e.message}`) : e;
}

const curveOf = (spec: EcSpec): Curve => CURVES[EC_SPECS[spec].curve];

/** The validated scalar and public point of an EC PKCS#8 key for spec; the caller wipes d. */
function ecKey(spec: EcSpec, der: Uint8Array): { curve: Curve; d: Uint8Array; xy: Uint8Array } {
  const want = curveOf(spec);
  const { curve, d, point } = parsePkcs8(der);
  try {
    if (curve !== want) throw new InvalidKeyError('WRONG_CURVE', `expected a ${want.name} key, got a ${curve.name} one`);
    if (!scalarInRange(d, curve.nBytes)) throw new InvalidKeyError('OUT_OF_RANGE', `${curve.name} private key is not in [1, n − 1]`);
    const xy = ecPublicKey(curve, d)!;
    if (point && !Buffer.from(pointFromSec1(curve, point)).equals(xy)) {
      throw new InvalidKeyError('MISMATCH', 'the public key in the PKCS#8 key is not that of its private key');
    }
    return { curve, d, xy };
  } catch (e) {
    d.fill(0);
    throw e;
  }
}

/** The validated components of an RSA PKCS#8 key of spec's size; the caller wipes them. */
function rsaKey(spec: RsaSpec, der: Uint8Array): RsaPrivateParts {
  if (classifyDer(der) !== 'pkcs8') throw new InvalidKeyError('MALFORMED', 'expected a PKCS#8 PrivateKeyInfo');
  const parts = parsePrivateDer(der);
  try {
    const bits = bitLength(parts.n);
    if (bits !== RSA_SPEC_BITS[spec]) throw new InvalidKeyError('OUT_OF_RANGE', `expected a ${RSA_SPEC_BITS[spec]}-bit modulus, got ${bits} bits`);
    // rsaKeys.pkcs8 checks in the core that the components belong together (MISMATCH otherwise).
    rsaKeys.pkcs8(der).fill(0);
    return parts;
  } catch (e) {
    wipeParts(parts);
    throw e;
  }
}

/** The uncompressed point X‖Y inside CKA_EC_POINT (a DER OCTET STRING holding 04‖X‖Y). */
function pointOfEcPoint(curve: Curve, ecPoint: Uint8Array): Uint8Array {
  const r = new DerReader(ecPoint);
  const sec1 = r.read(TAG.OCTET_STRING);
  r.end();
  return pointFromSec1(curve, sec1);
}

/**
 * The DER SEQUENCE at the start of raw without the zero bytes after it: SoftHSM2 zero-pads a private
 * key's PKCS#8 to a multiple of 8 bytes before CKM_AES_KEY_WRAP_PAD, so the unwrapped bytes end with
 * up to 7 zeros that RFC 5649's own length field does not remove.
 */
function withoutZeroPadding(raw: Uint8Array): Uint8Array {
  const lenByte = raw[1] ?? 0;
  const head = lenByte < 0x80 ? 2 : 2 + (lenByte & 0x7f);
  let len = lenByte < 0x80 ? lenByte : 0;
  for (let i = 2; i < head; i++) len = len * 256 + (raw[i] ?? 0);
  const total = head + len;
  if (raw[0] !== TAG.SEQUENCE || total > raw.length || raw.length - total > 7 || raw.subarray(total).some((b) => b !== 0)) {
    throw new InvalidKeyError('MALFORMED', 'the token exported a private key that is not one DER PKCS#8 structure');
  }
  return raw.subarray(0, total);
}

/** TypeError unless items is an array (of at most 65536 items: a batch is one call). */
function abatch<T>(items: readonly T[]): readonly T[] {
  if (!Array.isArray(items)) throw new TypeError(`expected the batch to be an array, got ${items === null ? 'null' : typeof items}`);
  if (items.length > 65536) throw new RangeError(`expected at most 65536 items in a batch, got ${items.length}`);
  return items;
}

const stripZeros = (x: Uint8Array): Uint8Array => {
  let i = 0;
  while (i < x.length - 1 && x[i] === 0) i++;
  return x.subarray(i);
};

export interface Pkcs11ProviderOptions {
  /**
   * The native addon for the hot path: 'auto' (default) uses it when it loads and pkcs11js otherwise
   * (see hotPath and nativeLoadError); true requires it; false never uses it.
   */
  native?: 'auto' | boolean;
}

export class Pkcs11Provider implements Provider {
  readonly name = 'pkcs11';
  readonly module: Pkcs11Module;
  readonly slot: Slot;
  /** Owns every session object this provider makes and runs the stateless management calls. */
  readonly #objects: Session;
  /** Runs the operations that have state (Init + call); replaced after a failure leaves an operation active. */
  #ops: Session | null = null;
  /** The transport key: a session object that may only wrap, and its value, to open what it wraps. */
  readonly #transport: { obj: ObjectHandle; key: Buffer };
  #closed = false;
  readonly #oaepSupport = new Map<OaepHash, boolean>();
  /** AES-GCM, sign/verify and HMAC: the native addon's session pool when it is built, else pkcs11js. */
  readonly #hot: HotPath;
  /** Why the native addon is not used under native: 'auto' (null when it is, or when native: false). */
  readonly nativeLoadError: Error | null = null;

  /**
   * Loads the module (shared per process), finds the token, opens sessions and logs in. Throws
   * ModuleLoadError, TokenNotFoundError, HsmConfigError, or Pkcs11Error (CKR_PIN_INCORRECT, …).
   */
  constructor(config: HsmConfig, options: Pkcs11ProviderOptions = {}) {
    const c = checkHsmConfig(config);
    const mode = options.native ?? 'auto';
    if (mode !== 'auto' && typeof mode !== 'boolean') throw new TypeError(`expected options.native to be 'auto', true or false, got ${String(mode)}`);
    const pin = readPin(c);
    let key: Buffer | undefined;
    this.module = Pkcs11Module.load(c.module);
    try {
      this.slot = c.tokenLabel !== undefined ? this.module.findToken(c.tokenLabel) : this.module.slot(c.slot!);
      this.#objects = this.slot.openSession();
      try {
        this.#objects.login(pin);
        const rnd = this.#objects.random(32);
        key = Buffer.from(rnd);
        rnd.fill(0);
        const obj = this.#objects.createObject({
          ...secretKeyTemplate('AES', {}),
          value: key,
          encrypt: false,
          decrypt: false,
          wrap: true,
        });
        this.#transport = { obj, key };
        let native: NativeModule | null = null;
        if (mode !== false) {
          try {
            native = loadNative();
          } catch (e) {
            if (mode === true) throw e;
            this.nativeLoadError = e as Error;
          }
        }
        // The pools log in with the same PIN; Cryptoki login is per process, so they share this one.
        if (native) {
          const open = (sessions: number) => native.open({ module: c.module, slot: this.slot.id, pin, sessions });
          const pool = open(c.sessions);
          let gcm = pool;
          if (c.gcmSessions !== undefined) {
            try {
              gcm = open(c.gcmSessions);
            } catch (e) {
              pool.close();
              throw e;
            }
          }
          this.#hot = nativeHotPath(pool, gcm);
        } else {
          this.#hot = pkcs11jsHotPath((f) => this.#op(f));
        }
      } catch (e) {
        key?.fill(0);
        this.#objects.close();
        throw e;
      }
    } catch (e) {
      this.module.close();
      throw e;
    }
  }

  /** Closes the sessions (the token destroys every session object) and releases the module. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#transport.key.fill(0);
    try {
      this.#hot.close();
    } finally {
      try {
        this.#ops?.close();
        this.#objects.close();
      } finally {
        this.module.close();
      }
    }
  }

  /** Which engine runs AES-GCM, sign/verify and HMAC. */
  get hotPath(): 'native' | 'pkcs11js' {
    return this.#hot.kind;
  }

  /** The hot path's sessions: AES-GCM's (a pool of its own with `gcmSessions`) and the other operations'; 0 once closed. */
  get sessions(): { aesGcm: number; other: number } {
    return this.#hot.sessions();
  }

  // ---- Sessions and handles ----

  #live(): void {
    if (this.#closed) throw new TypeError('the pkcs11 provider was closed');
  }

  /** Runs f on the operations session; after any failure that session is replaced, since SoftHSM2 leaves some operations active after an error. */
  #op<T>(f: (s: Session) => T): T {
    this.#live();
    this.#ops ??= this.slot.openSession();
    try {
      return f(this.#ops);
    } catch (e) {
      const s = this.#ops;
      this.#ops = null;
      try {
        s.close();
      } catch {
        // The session may be gone with the token; the original error is the one to report.
      }
      throw e;
    }
  }

  #make(spec: ProviderKeySpec, m: Material): KeyHandle {
    return kit.make(this, this.name, spec, m);
  }

  #open(key: KeyHandle): Material {
    this.#live();
    return kit.open(this, key);
  }

  #aes(key: KeyHandle, method: string): Material {
    const m = this.#open(key);
    if (key.spec !== 'AES_256') throw new TypeError(`${method} needs an AES_256 key, got ${key.spec}`);
    return m;
  }

  #asymmetric(key: KeyHandle, method: string): Material {
    const m = this.#open(key);
    if (m.spki === null) throw new TypeError(`${method} needs an RSA_* or ECC_* key, got ${key.spec}`);
    return m;
  }

  /** Checks options; a token key needs a label no other object of the token has. */
  #keyOptions(o: Pkcs11KeyOptions | undefined): KeyOptions & { token: boolean } {
    const opts = { token: o?.token ?? false, extractable: o?.extractable ?? true, ...(o?.label !== undefined ? { label: o.label } : {}) };
    if (o?.label !== undefined && (typeof o.label !== 'string' || o.label.length === 0)) throw new TypeError('expected options.label to be a non-empty string');
    if (opts.token) {
      if (opts.label === undefined) throw new TypeError('a token key needs options.label, to be found again');
      if (this.#objects.findObjects({ label: opts.label, token: true }, 1).length > 0) throw new KeyLabelError(opts.label, 'exists');
    }
    return opts;
  }

  /** A session or token object for validated secret material. */
  #createSecret(spec: ProviderKeySpec, value: Uint8Array, o: KeyOptions & { token: boolean }): KeyHandle {
    const obj = this.#objects.createObject({ ...secretKeyTemplate(spec === 'AES_256' ? 'AES' : 'HMAC', o), value });
    return this.#make(spec, { obj, pub: null, spki: null, label: o.label ?? null, token: o.token });
  }

  /** Objects for a validated asymmetric key given as PKCS#8; InvalidKeyError (spec first) otherwise. */
  #createAsymmetric(spec: AsymmetricKeySpec, der: Uint8Array, o: KeyOptions & { token: boolean }): KeyHandle {
    if (isRsaSpec(spec)) {
      let k: RsaPrivateParts;
      try {
        k = rsaKey(spec, der);
      } catch (e) {
        throw forSpec(spec, e);
      }
      try {
        const t = keyPairTemplates('RSA', o);
        const pub = this.#objects.createObject({ ...t.publicKey, modulus: k.n, publicExponent: k.e });
        const obj = this.#createOrDestroy(pub, {
          ...t.privateKey, modulus: k.n, publicExponent: k.e, privateExponent: k.d,
          prime1: k.p, prime2: k.q, exponent1: k.dp, exponent2: k.dq, coefficient: k.qi,
        });
        return this.#make(spec, { obj, pub, spki: encodeRsaSpki({ n: k.n, e: k.e }), label: o.label ?? null, token: o.token });
      } finally {
        wipeParts(k);
      }
    }
    let k: ReturnType<typeof ecKey>;
    try {
      k = ecKey(spec as EcSpec, der);
    } catch (e) {
      throw forSpec(spec, e);
    }
    try {
      const t = keyPairTemplates('EC', o);
      const pub = this.#objects.createObject({ ...t.publicKey, ecParams: k.curve.oid, ecPoint: tlv(TAG.OCTET_STRING, Uint8Array.of(4, ...k.xy)) });
      const obj = this.#createOrDestroy(pub, { ...t.privateKey, ecParams: k.curve.oid, value: k.d });
      return this.#make(spec, { obj, pub, spki: encodeEcSpki(k.curve, k.xy), label: o.label ?? null, token: o.token });
    } finally {
      k.d.fill(0);
    }
  }

  /** Creates the private half; if that fails, the public half made before it is destroyed. */
  #createOrDestroy(pub: ObjectHandle, privateAttrs: Attributes): ObjectHandle {
    try {
      return this.#objects.createObject(privateAttrs);
    } catch (e) {
      this.#objects.destroyObject(pub);
      throw e;
    }
  }

  /** The SPKI of a public key object of spec. */
  #spkiOf(spec: AsymmetricKeySpec, pub: ObjectHandle): Uint8Array {
    if (isRsaSpec(spec)) {
      const a = this.#objects.getAttributes(pub, ['modulus', 'publicExponent']);
      return encodeRsaSpki({ n: stripZeros(a.modulus), e: stripZeros(a.publicExponent) });
    }
    const curve = curveOf(spec as EcSpec);
    return encodeEcSpki(curve, pointOfEcPoint(curve, this.#objects.getAttributes(pub, ['ecPoint']).ecPoint));
  }

  /**
   * The key's material in the clear, for wrapKey and generateKeyPairBytes: C_WrapKey under the
   * transport key (CKM_AES_KEY_WRAP_PAD), opened here. Asymmetric keys come back as the canonical
   * PKCS#8 the software providers write. The caller zeroes the result.
   */
  #export(spec: ProviderKeySpec, m: Material): Uint8Array {
    const wrapped = this.#objects.wrapKey({ mechanism: P.CKM_AES_KEY_WRAP_PAD }, this.#transport.obj, m.obj, WRAP_OUT);
    const d = createDecipheriv('id-aes256-wrap-pad', this.#transport.key, KWP_IV);
    const first = d.update(wrapped);
    const last = d.final();
    wrapped.fill(0);
    const raw = new Uint8Array(first.length + last.length);
    raw.set(first);
    raw.set(last, first.length);
    first.fill(0);
    last.fill(0);
    if (isSecretSpec(spec)) return raw;
    try {
      const der = withoutZeroPadding(raw);
      if (isRsaSpec(spec)) return rsaKeys.pkcs8(der);
      const { curve, d: scalar } = parsePkcs8(der);
      try {
        return encodeEcPkcs8(curve, scalar, pointFromSec1(curve, parseSpki(m.spki!).point));
      } finally {
        scalar.fill(0);
      }
    } finally {
      raw.fill(0);
    }
  }

  // ---- Keys by label (hardware-resident keys) ----

  /**
   * A handle for the token key labelled label (made with { token: true, label }). Its spec is read from
   * its attributes. KeyLabelError when no key or several keys carry the label.
   */
  openKey(label: string): KeyHandle {
    this.#live();
    if (typeof label !== 'string' || label.length === 0) throw new TypeError('expected label to be a non-empty string');
    const s = this.#objects;
    const secret = s.findObjects({ label, token: true, class: P.CKO_SECRET_KEY }, 2);
    const priv = s.findObjects({ label, token: true, class: P.CKO_PRIVATE_KEY }, 2);
    const pubs = s.findObjects({ label, token: true, class: P.CKO_PUBLIC_KEY }, 2);
    if (secret.length + priv.length === 0) throw new KeyLabelError(label, 'not-found');
    if (secret.length + priv.length > 1 || pubs.length > 1 || (priv.length === 1) !== (pubs.length === 1)) throw new KeyLabelError(label, 'ambiguous');
    if (secret.length === 1) {
      const a = s.getAttributes(secret[0]!, ['keyType', 'valueLen']);
      const spec = a.keyType === P.CKK_AES && a.valueLen === 32 ? 'AES_256' : a.keyType === P.CKK_GENERIC_SECRET ? (({ 32: 'HMAC_256', 48: 'HMAC_384', 64: 'HMAC_512' }) as const)[a.valueLen as 32 | 48 | 64] : undefined;
      if (!spec) throw new TypeError(`token key '${label}' is not an AES-256 or HMAC key of a Keyward spec`);
      return this.#make(spec, { obj: secret[0]!, pub: null, spki: null, label, token: true });
    }
    const pub = pubs[0]!;
    const { keyType } = s.getAttributes(pub, ['keyType']);
    let spec: AsymmetricKeySpec | undefined;
    if (keyType === P.CKK_RSA) {
      const bits = bitLength(stripZeros(s.getAttributes(pub, ['modulus']).modulus));
      spec = (Object.keys(RSA_SPEC_BITS) as RsaSpec[]).find((k) => RSA_SPEC_BITS[k] === bits);
    } else if (keyType === P.CKK_EC) {
      const params = Buffer.from(s.getAttributes(pub, ['ecParams']).ecParams);
      spec = (Object.keys(EC_SPECS) as EcSpec[]).find((k) => params.equals(curveOf(k).oid));
    }
    if (!spec) throw new TypeError(`token key '${label}' is not an RSA or EC key of a Keyward spec`);
    return this.#make(spec, { obj: priv[0]!, pub, spki: this.#spkiOf(spec, pub), label, token: true });
  }

  /** The label of a handle's key (null for unlabelled session keys). */
  labelOf(key: KeyHandle): string | null {
    return this.#open(key).label;
  }

  /** Destroys a token key for good (destroyKey only releases a token key's handle). */
  async deleteTokenKey(key: KeyHandle): Promise<void> {
    this.#live();
    const m = kit.close(this, key);
    this.#objects.destroyObject(m.obj);
    if (m.pub) this.#objects.destroyObject(m.pub);
  }

  // ---- Provider ----

  async random(length: number): Promise<Uint8Array> {
    const n = arandomLength(length);
    this.#live();
    return u8(this.#objects.random(n));
  }

  /** A key generated in the token; options make it a labelled token key and/or non-extractable. */
  async generateKey(spec: ProviderKeySpec, options?: Pkcs11KeyOptions): Promise<KeyHandle> {
    const s = aspec(spec);
    this.#live();
    const o = this.#keyOptions(options);
    const label = o.label ?? null;
    if (isSecretSpec(s)) {
      const obj = s === 'AES_256' ? generateAesKey(this.#objects, 32, o) : generateHmacKey(this.#objects, SECRET_BYTES[s], o);
      return this.#make(s, { obj, pub: null, spki: null, label, token: o.token });
    }
    const pair = isRsaSpec(s) ? generateRsaKeyPair(this.#objects, RSA_SPEC_BITS[s], o) : generateEcKeyPair(this.#objects, curveOf(s as EcSpec).oid, o);
    return this.#make(s, { obj: pair.privateKey, pub: pair.publicKey, spki: this.#spkiOf(s, pair.publicKey), label, token: o.token });
  }

  /** A key object for material given in the clear (checked as the software providers check it). */
  async importKey(spec: ProviderKeySpec, material: Uint8Array, options?: Pkcs11KeyOptions): Promise<KeyHandle> {
    const s = aspec(spec);
    const bytes = abytesArg(material, 'material');
    if (isSecretSpec(s)) asecretLength(s, bytes);
    this.#live();
    const o = this.#keyOptions(options);
    return isSecretSpec(s) ? this.#createSecret(s, bytes, o) : this.#createAsymmetric(s, bytes, o);
  }

  /** Destroys a session key's objects; for a token key only the handle is released (see deleteTokenKey). */
  async destroyKey(key: KeyHandle): Promise<void> {
    this.#live();
    const m = kit.close(this, key);
    if (m.token) return;
    try {
      this.#objects.destroyObject(m.obj);
      if (m.pub) this.#objects.destroyObject(m.pub);
    } catch (e) {
      // A session object dies with the session that made it (#objects): gone with the token or the session, it is destroyed already.
      if (!(e instanceof Pkcs11Error && SESSION_GONE.has(e.ckr))) throw e;
    }
  }

  async wrapKey(wrappingKey: KeyHandle, key: KeyHandle, aad: Uint8Array): Promise<Uint8Array> {
    const wk = this.#aes(wrappingKey, 'wrapKey');
    const m = this.#open(key);
    const a = abytesArg(aad, 'aad');
    const material = this.#export(key.spec, m);
    try {
      const iv = this.#objects.random(IV_BYTES);
      const sealed = await this.#hot.gcmEncrypt(wk.obj, { iv, aad: a, data: material });
      const out = new Uint8Array(IV_BYTES + sealed.length);
      out.set(iv);
      out.set(sealed, IV_BYTES);
      return out;
    } finally {
      material.fill(0);
    }
  }

  async unwrapKey(wrappingKey: KeyHandle, spec: ProviderKeySpec, token: Uint8Array, aad: Uint8Array): Promise<KeyHandle> {
    const wk = this.#aes(wrappingKey, 'unwrapKey');
    const s = aspec(spec);
    const t = abytesArg(token, 'token');
    const a = abytesArg(aad, 'aad');
    atokenLength(s, t);
    const material = await this.#gcmOpen(wk, t.subarray(0, IV_BYTES), t.subarray(IV_BYTES), a);
    try {
      const o = this.#keyOptions(undefined);
      return isSecretSpec(s) ? this.#createSecret(s, material, o) : this.#createAsymmetric(s, material, o);
    } finally {
      material.fill(0);
    }
  }

  async deriveKey(key: KeyHandle, salt: Uint8Array, info: Uint8Array): Promise<KeyHandle> {
    const ikm = this.#aes(key, 'deriveKey');
    const sa = abytesArg(salt, 'salt');
    const inf = abytesArg(info, 'info');
    // HMAC-SHA256 key block (RFC 2104): a salt longer than the 64-byte block is hashed first; shorter
    // ones (the empty salt stands for 32 zero bytes, RFC 5869 §2.2) are zero-padded, which is the same key.
    const block = new Uint8Array(64);
    block.set(sa.length > 64 ? sha256(sa) : sa);
    const ipad = block.map((b) => b ^ 0x36);
    const opad = block.map((b) => b ^ 0x5c);
    const inner = u8(this.#op((s) => s.digestKey({ mechanism: P.CKM_SHA256 }, ipad, ikm.obj, 32)));
    const outer = new Uint8Array(96);
    outer.set(opad);
    outer.set(inner, 64);
    const prk = sha256(outer);
    // HKDF-Expand to one block: T(1) = HMAC(PRK, info ‖ 0x01).
    const t1in = new Uint8Array(inf.length + 1);
    t1in.set(inf);
    t1in[inf.length] = 1;
    const okm = hmac('SHA-256', prk, t1in);
    try {
      return this.#createSecret('AES_256', okm, this.#keyOptions(undefined));
    } finally {
      for (const b of [block, ipad, opad, inner, outer, prk, okm]) b.fill(0);
    }
  }

  /** AES-GCM open of ct ‖ tag; AuthenticationError for anything that does not authenticate. */
  async #gcmOpen(m: Material, iv: Uint8Array, sealed: Uint8Array, aad: Uint8Array): Promise<Uint8Array> {
    if (sealed.length < TAG_BYTES) throw new AuthenticationError();
    try {
      return await this.#hot.gcmDecrypt(m.obj, { iv, aad, data: sealed });
    } catch (e) {
      if (isDataFailure(e)) throw new AuthenticationError();
      throw e;
    }
  }

  async encrypt(key: KeyHandle, iv: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Promise<Uint8Array> {
    const m = this.#aes(key, 'encrypt');
    const v = aiv(iv);
    const pt = abytesArg(plaintext, 'plaintext');
    const a = abytesArg(aad, 'aad');
    return this.#hot.gcmEncrypt(m.obj, { iv: v, aad: a, data: pt });
  }

  async decrypt(key: KeyHandle, iv: Uint8Array, ciphertext: Uint8Array, aad: Uint8Array): Promise<Uint8Array> {
    const m = this.#aes(key, 'decrypt');
    return this.#gcmOpen(m, aiv(iv), abytesArg(ciphertext, 'ciphertext'), abytesArg(aad, 'aad'));
  }

  async publicKey(key: KeyHandle): Promise<Uint8Array> {
    return Uint8Array.from(this.#asymmetric(key, 'publicKey').spki!);
  }

  /** The mechanism and input of a signature: the token hashes RAW RSA messages itself; ECDSA gets the digest. */
  #signing(a: Signing, message: Uint8Array, messageType: MessageType): { mech: SignMechanism; data: Uint8Array } {
    const h = HASH[a.hash];
    const raw = messageType === 'RAW';
    if (a.kind === 'ecdsa') return { mech: { type: P.CKM_ECDSA }, data: raw ? h.digest(message) : message };
    if (a.scheme === 'pkcs1') {
      if (raw) return { mech: { type: h.pkcs1 }, data: message };
      const data = new Uint8Array(h.digestInfo.length + message.length);
      data.set(h.digestInfo);
      data.set(message, h.digestInfo.length);
      return { mech: { type: P.CKM_RSA_PKCS }, data };
    }
    return { mech: { type: raw ? h.pss : P.CKM_RSA_PKCS_PSS, pss: { hashAlg: h.mech, mgf: h.mgf, saltLen: a.hashLen } }, data: message };
  }

  async sign(key: KeyHandle, algorithm: SigningAlgorithm, message: Uint8Array, messageType: MessageType): Promise<Uint8Array> {
    const m = this.#asymmetric(key, 'sign');
    const a = asigning(key.spec, algorithm, messageType, message);
    const { mech, data } = this.#signing(a, message, messageType);
    if (a.kind === 'ecdsa') {
      const L = curveOf(key.spec as EcSpec).L;
      return p1363ToDer(await this.#hot.sign(m.obj, mech, data, 2 * L));
    }
    return this.#hot.sign(m.obj, mech, data, RSA_SPEC_BITS[key.spec as RsaSpec] / 8);
  }

  async verify(key: KeyHandle, algorithm: SigningAlgorithm, message: Uint8Array, messageType: MessageType, signature: Uint8Array): Promise<boolean> {
    const m = this.#asymmetric(key, 'verify');
    const a = asigning(key.spec, algorithm, messageType, message);
    let sig = abytesArg(signature, 'signature');
    if (a.kind === 'ecdsa') {
      const rs = derToP1363(sig, curveOf(key.spec as EcSpec).L);
      if (rs === null) return false;
      sig = rs;
    } else if (sig.length !== RSA_SPEC_BITS[key.spec as RsaSpec] / 8) return false;
    const { mech, data } = this.#signing(a, message, messageType);
    try {
      return await this.#hot.verify(m.pub!, mech, data, sig);
    } catch (e) {
      // An RSA "signature" numerically ≥ n is refused as bad data, not as an invalid signature.
      if (e instanceof Pkcs11Error && e.method === 'C_Verify' && (e.ckr === 'CKR_DATA_INVALID' || e.ckr === 'CKR_GENERAL_ERROR')) return false;
      throw e;
    }
  }

  /**
   * Whether the token does CKM_RSA_PKCS_OAEP with this hash (SoftHSM2 2.6 only with SHA-1: it refuses
   * other hashAlg values with CKR_ARGUMENTS_BAD). Found once per provider by encrypting an empty message.
   */
  #oaepInToken(hash: OaepHash, pub: ObjectHandle): boolean {
    let v = this.#oaepSupport.get(hash);
    if (v === undefined) {
      try {
        this.#op((s) => s.encrypt(oaepMech(hash), pub, new Uint8Array(0), 512));
        v = true;
      } catch (e) {
        if (!(e instanceof Pkcs11Error && e.method === 'C_EncryptInit' && OAEP_REFUSALS.has(e.ckr))) throw e;
        v = false;
      }
      this.#oaepSupport.set(hash, v);
    }
    return v;
  }

  /**
   * RSA-OAEP with MGF1 of the same hash and an empty label. When the token lacks the hash, the
   * padding is done here (RFC 8017 §7.1, the WASM core's EME-OAEP) around raw RSA in the token
   * (CKM_RSA_X_509): the private key still never leaves it.
   */
  async encryptAsymmetric(key: KeyHandle, algorithm: AsymmetricEncryptionAlgorithm, plaintext: Uint8Array): Promise<Uint8Array> {
    const m = this.#asymmetric(key, 'encryptAsymmetric');
    const hash = aoaep(key.spec, algorithm);
    const pt = abytesArg(plaintext, 'plaintext');
    const bits = RSA_SPEC_BITS[key.spec as RsaSpec];
    oaepLimit(hash, bits, pt);
    const k = bits / 8;
    if (this.#oaepInToken(hash, m.pub!)) return u8(this.#op((s) => s.encrypt(oaepMech(hash), m.pub!, pt, k)));
    const em = emeOaepEncode(hash, hash, EMPTY, pt, this.#objects.random(hash === 'SHA-1' ? 20 : 32), k);
    try {
      const c = this.#op((s) => s.encrypt({ mechanism: P.CKM_RSA_X_509 }, m.pub!, em, k));
      // RSAEP's output as k bytes (RFC 8017 7.1.1 step 3c): a module may drop leading zeros, which decryption refuses.
      const out = new Uint8Array(k);
      out.set(c, k - c.length);
      return out;
    } finally {
      em.fill(0);
    }
  }

  async decryptAsymmetric(key: KeyHandle, algorithm: AsymmetricEncryptionAlgorithm, ciphertext: Uint8Array): Promise<Uint8Array> {
    const m = this.#asymmetric(key, 'decryptAsymmetric');
    const hash = aoaep(key.spec, algorithm);
    const ct = abytesArg(ciphertext, 'ciphertext');
    const k = RSA_SPEC_BITS[key.spec as RsaSpec] / 8;
    if (ct.length !== k) throw new DecryptionError();
    const native = this.#oaepInToken(hash, m.pub!);
    let out: Uint8Array;
    try {
      out = this.#op((s) => s.decrypt(native ? oaepMech(hash) : { mechanism: P.CKM_RSA_X_509 }, m.obj, ct, k));
    } catch (e) {
      if (isDataFailure(e)) throw new DecryptionError();
      throw e;
    }
    if (native) return Uint8Array.from(out);
    // RSADP's output as k bytes (a module may drop leading zeros), then EME-OAEP decoding here.
    const em = new Uint8Array(k);
    em.set(out, k - out.length);
    out.fill(0);
    try {
      const msg = emeOaepDecode(hash, hash, EMPTY, em);
      if (msg === null) throw new DecryptionError();
      return msg;
    } finally {
      em.fill(0);
    }
  }

  async mac(key: KeyHandle, algorithm: MacAlgorithm, message: Uint8Array): Promise<Uint8Array> {
    const m = this.#open(key);
    const a = amac(key.spec, algorithm);
    const msg = abytesArg(message, 'message');
    return this.#hot.sign(m.obj, { type: HMAC_MECH[a.hash] }, msg, a.len);
  }

  async verifyMac(key: KeyHandle, algorithm: MacAlgorithm, message: Uint8Array, mac: Uint8Array): Promise<boolean> {
    const m = this.#open(key);
    const a = amac(key.spec, algorithm);
    const msg = abytesArg(message, 'message');
    const tag = abytesArg(mac, 'mac');
    // Checked here too: a module that compared only the tag's own length would take a truncated tag.
    if (tag.length !== a.len) return false;
    return this.#hot.verify(m.obj, { type: HMAC_MECH[a.hash] }, msg, tag);
  }

  // ---- Batches: many inputs with one key in one call, spread over the native pool's sessions ----

  /** AES-256-GCM of each item, as encrypt would give it, in input order. */
  async encryptBatch(key: KeyHandle, items: readonly { iv: Uint8Array; plaintext: Uint8Array; aad: Uint8Array }[]): Promise<Uint8Array[]> {
    const m = this.#aes(key, 'encryptBatch');
    const inputs = abatch(items).map((i) => ({ iv: aiv(i.iv), aad: abytesArg(i.aad, 'aad'), data: abytesArg(i.plaintext, 'plaintext') }));
    return this.#hot.gcmEncryptBatch(m.obj, inputs);
  }

  /** The plaintexts of a batch; AuthenticationError (with the item's index) when any item does not authenticate. */
  async decryptBatch(key: KeyHandle, items: readonly { iv: Uint8Array; ciphertext: Uint8Array; aad: Uint8Array }[]): Promise<Uint8Array[]> {
    const m = this.#aes(key, 'decryptBatch');
    const inputs = abatch(items).map((i, index) => {
      const data = abytesArg(i.ciphertext, 'ciphertext');
      if (data.length < TAG_BYTES) throw Object.assign(new AuthenticationError(), { index });
      return { iv: aiv(i.iv), aad: abytesArg(i.aad, 'aad'), data };
    });
    try {
      return await this.#hot.gcmDecryptBatch(m.obj, inputs);
    } catch (e) {
      if (isDataFailure(e)) throw Object.assign(new AuthenticationError(), { index: (e as { index?: number }).index });
      throw e;
    }
  }

  /** Signatures of each message, as sign would give them, in input order. */
  async signBatch(key: KeyHandle, algorithm: SigningAlgorithm, messages: readonly Uint8Array[], messageType: MessageType): Promise<Uint8Array[]> {
    const m = this.#asymmetric(key, 'signBatch');
    const list = abatch(messages);
    if (list.length === 0) return [];
    let mech: SignMechanism | undefined;
    const data = list.map((msg) => {
      const a = asigning(key.spec, algorithm, messageType, msg);
      const d = this.#signing(a, msg, messageType);
      mech = d.mech;
      return d.data;
    });
    if (key.spec.startsWith('ECC')) {
      const L = curveOf(key.spec as EcSpec).L;
      return (await this.#hot.signBatch(m.obj, mech!, data, 2 * L)).map(p1363ToDer);
    }
    return this.#hot.signBatch(m.obj, mech!, data, RSA_SPEC_BITS[key.spec as RsaSpec] / 8);
  }

  async generateKeyPairBytes(spec: AsymmetricKeySpec): Promise<KeyPairBytes> {
    const s = aasymmetricSpec(spec);
    const k = await this.generateKey(s);
    try {
      const m = kit.open(this, k);
      return { privateKey: this.#export(s, m), publicKey: Uint8Array.from(m.spki!) };
    } finally {
      await this.destroyKey(k);
    }
  }
}

const HMAC_MECH: Readonly<Record<HashName, number>> = { 'SHA-256': P.CKM_SHA256_HMAC, 'SHA-384': P.CKM_SHA384_HMAC, 'SHA-512': P.CKM_SHA512_HMAC };
