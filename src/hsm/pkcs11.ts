// A small typed object model over pkcs11js, after graphene: Module → Slot (with its token) → Session →
// objects. It covers token and object management (listing slots and tokens, login, key generation,
// find/destroy, attributes) and the single-part operations the Pkcs11Provider needs; the hot path may
// move to the native addon. Every Cryptoki failure becomes a Pkcs11Error { ckr, code, method }.
//
// Key templates (keyTemplate below) decide what a key may do and whether it may leave the HSM:
//   every key     CKA_SENSITIVE true (C_GetAttributeValue never returns CKA_VALUE or a private
//                 component), CKA_PRIVATE true, CKA_TOKEN false unless asked (session objects vanish
//                 with the session), CKA_MODIFIABLE false.
//   CKA_EXTRACTABLE  false unless the caller asks for true. true is needed only for keys that must be
//                 exported wrapped: the Provider contract stores domain keys, CMK backing keys and data
//                 key pairs as wrapped tokens, so the Provider asks for it on keys it makes by default;
//                 hardware-resident keys (the region key, HSM-held CMKs) are made with false and then
//                 refuse C_WrapKey (CKR_KEY_UNEXTRACTABLE) as well as C_GetAttributeValue.
//   AES_256       CKA_ENCRYPT/CKA_DECRYPT (AES-GCM, and GCM-sealing a wrapped key's material).
//   HMAC_*        CKK_GENERIC_SECRET, CKA_SIGN/CKA_VERIFY (CKM_SHA*_HMAC).
//   EC / RSA      private: CKA_SIGN (+ CKA_DECRYPT for RSA-OAEP); public: CKA_VERIFY (+ CKA_ENCRYPT).
//   transport     the Provider's one wrapping key, CKA_WRAP only (see pkcs11-provider.ts).
// No key gets CKA_WRAP/CKA_UNWRAP or CKA_DERIVE unless listed: a key that can wrap can export others.
import pkcs11js from 'pkcs11js';
import { ModuleLoadError, Pkcs11Error, TokenNotFoundError } from './errors.js';
import { addonBuilt, clearOpenSslErrors, loadNative } from './native.js';

type Handle = Buffer;
export type ObjectHandle = Handle;

// ---- Errors ----

const CKR_NAMES = new Map<number, string>();
for (const [k, v] of Object.entries(pkcs11js)) if (k.startsWith('CKR_') && typeof v === 'number' && !CKR_NAMES.has(v)) CKR_NAMES.set(v, k);

/** The CKR_* name of a return value. */
export const ckrName = (code: number): string => CKR_NAMES.get(code) ?? `CKR_0x${code.toString(16).padStart(8, '0')}`;

/** Runs one Cryptoki call and turns pkcs11js's error into a Pkcs11Error naming method; leaves no OpenSSL error behind (native.ts). */
export function ck<T>(method: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    throw toPkcs11Error(method, e);
  } finally {
    clearOpenSslErrors();
  }
}

function toPkcs11Error(method: string, e: unknown): unknown {
  if (e instanceof Pkcs11Error) return e;
  const code = (e as { code?: unknown }).code;
  if (e instanceof Error && typeof code === 'number' && /^CKR_/.test(e.message)) return new Pkcs11Error(ckrName(code), code, method);
  return e;
}

// ---- Bytes ----

const EMPTY_BACKING = Buffer.alloc(1);
/**
 * A Buffer view of b for pkcs11js. An empty input becomes a zero-length view of a real allocation:
 * some modules (SoftHSM2's C_Encrypt) refuse a NULL data pointer even with length 0.
 */
export function buf(b: Uint8Array): Buffer {
  if (b.length === 0) return EMPTY_BACKING.subarray(0, 0);
  return Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.length);
}

// ---- Attributes ----

/** The attribute names this module reads and writes, with their Cryptoki types. */
const ATTRS = {
  class: [pkcs11js.CKA_CLASS, 'ulong'],
  keyType: [pkcs11js.CKA_KEY_TYPE, 'ulong'],
  label: [pkcs11js.CKA_LABEL, 'string'],
  id: [pkcs11js.CKA_ID, 'bytes'],
  token: [pkcs11js.CKA_TOKEN, 'bool'],
  private: [pkcs11js.CKA_PRIVATE, 'bool'],
  modifiable: [pkcs11js.CKA_MODIFIABLE, 'bool'],
  sensitive: [pkcs11js.CKA_SENSITIVE, 'bool'],
  extractable: [pkcs11js.CKA_EXTRACTABLE, 'bool'],
  alwaysSensitive: [pkcs11js.CKA_ALWAYS_SENSITIVE, 'bool'],
  neverExtractable: [pkcs11js.CKA_NEVER_EXTRACTABLE, 'bool'],
  local: [pkcs11js.CKA_LOCAL, 'bool'],
  encrypt: [pkcs11js.CKA_ENCRYPT, 'bool'],
  decrypt: [pkcs11js.CKA_DECRYPT, 'bool'],
  sign: [pkcs11js.CKA_SIGN, 'bool'],
  verify: [pkcs11js.CKA_VERIFY, 'bool'],
  wrap: [pkcs11js.CKA_WRAP, 'bool'],
  unwrap: [pkcs11js.CKA_UNWRAP, 'bool'],
  derive: [pkcs11js.CKA_DERIVE, 'bool'],
  value: [pkcs11js.CKA_VALUE, 'bytes'],
  valueLen: [pkcs11js.CKA_VALUE_LEN, 'ulong'],
  modulus: [pkcs11js.CKA_MODULUS, 'bytes'],
  modulusBits: [pkcs11js.CKA_MODULUS_BITS, 'ulong'],
  publicExponent: [pkcs11js.CKA_PUBLIC_EXPONENT, 'bytes'],
  privateExponent: [pkcs11js.CKA_PRIVATE_EXPONENT, 'bytes'],
  prime1: [pkcs11js.CKA_PRIME_1, 'bytes'],
  prime2: [pkcs11js.CKA_PRIME_2, 'bytes'],
  exponent1: [pkcs11js.CKA_EXPONENT_1, 'bytes'],
  exponent2: [pkcs11js.CKA_EXPONENT_2, 'bytes'],
  coefficient: [pkcs11js.CKA_COEFFICIENT, 'bytes'],
  ecParams: [pkcs11js.CKA_EC_PARAMS, 'bytes'],
  ecPoint: [pkcs11js.CKA_EC_POINT, 'bytes'],
} as const;

type AttrKinds = { bool: boolean; ulong: number; string: string; bytes: Uint8Array };
export type AttributeName = keyof typeof ATTRS;
/** A template by friendly name (graphene's template.ts): `{ class: CKO_SECRET_KEY, token: false, … }`. */
export type Attributes = { [K in AttributeName]?: AttrKinds[(typeof ATTRS)[K][1]] };

function toTemplate(a: Attributes): pkcs11js.Template {
  const out: pkcs11js.Template = [];
  for (const [name, value] of Object.entries(a)) {
    if (value === undefined) continue;
    const spec = ATTRS[name as AttributeName];
    if (!spec) throw new TypeError(`unknown PKCS#11 attribute name ${name}`);
    out.push({ type: spec[0], value: value instanceof Uint8Array ? buf(value) : (value as boolean | number | string) });
  }
  return out;
}

function decode(kind: keyof AttrKinds, v: Buffer): AttrKinds[keyof AttrKinds] {
  switch (kind) {
    case 'bool':
      return v.length > 0 && v[0] !== 0;
    case 'ulong':
      // CK_ULONG in host byte order; 4 bytes on platforms whose C long is 32-bit.
      return v.length === 8 ? Number(v.readBigUInt64LE(0)) : v.readUInt32LE(0);
    case 'string':
      return v.toString('utf8');
    case 'bytes':
      return Uint8Array.from(v);
  }
}

// ---- Module ----

export interface ModuleInfo {
  cryptokiVersion: string;
  manufacturer: string;
  library: string;
  libraryVersion: string;
}

export interface TokenInfo {
  label: string;
  manufacturer: string;
  model: string;
  serial: string;
  /** CKF_* token flags. */
  flags: number;
  initialized: boolean;
  loginRequired: boolean;
}

const loaded = new Map<string, { module: Pkcs11Module; refs: number }>();

/**
 * A loaded PKCS#11 module. One instance per path in the process, reference counted: Cryptoki allows
 * one C_Initialize per process, and every provider of the same module shares it.
 */
export class Pkcs11Module {
  readonly path: string;
  readonly #p: pkcs11js.PKCS11;
  /** Whether this process's C_Initialize was ours (so C_Finalize is ours too). */
  readonly #owned: boolean;
  /** Lets go of the addon's initialization, when it made it. */
  readonly #release: (() => void) | undefined;
  #closed = false;

  private constructor(path: string, p: pkcs11js.PKCS11, owned: boolean, release: (() => void) | undefined) {
    this.path = path;
    this.#p = p;
    this.#owned = owned;
    this.#release = release;
  }

  /** Loads (or shares) the module at path and initializes Cryptoki for several threads (the addon's use it too). */
  static load(path: string): Pkcs11Module {
    if (typeof path !== 'string' || path.length === 0) throw new TypeError('expected the PKCS#11 module path to be a non-empty string');
    const entry = loaded.get(path);
    if (entry) {
      entry.refs++;
      return entry.module;
    }
    const p = new pkcs11js.PKCS11();
    try {
      p.load(path);
    } catch (e) {
      throw new ModuleLoadError(path, e instanceof Error ? e.message.split('\n')[0]! : String(e));
    }
    // The addon, when built, makes the C_Initialize: it gives the module adaptive mutexes, which a
    // software token's many short locks need once several sessions run at once (native/locks.cc).
    let release: (() => void) | undefined;
    try {
      if (addonBuilt()) release = loadNative().retainModule(path);
    } catch (e) {
      p.close();
      throw e;
    }
    let owned = true;
    try {
      ck('C_Initialize', () => p.C_Initialize({ flags: pkcs11js.CKF_OS_LOCKING_OK }));
    } catch (e) {
      // The addon (above, or a pool of it) initialized the same library first.
      if (!(e instanceof Pkcs11Error && e.ckr === 'CKR_CRYPTOKI_ALREADY_INITIALIZED')) {
        p.close();
        release?.();
        throw e;
      }
      owned = false;
    }
    const module = new Pkcs11Module(path, p, owned, release);
    loaded.set(path, { module, refs: 1 });
    return module;
  }

  /** The pkcs11js binding, for the sessions and slots of this module. Internal. */
  get p(): pkcs11js.PKCS11 {
    if (this.#closed) throw new TypeError(`PKCS#11 module ${this.path} was closed`);
    return this.#p;
  }

  info(): ModuleInfo {
    const i = ck('C_GetInfo', () => this.p.C_GetInfo());
    return {
      cryptokiVersion: `${i.cryptokiVersion.major}.${i.cryptokiVersion.minor}`,
      manufacturer: i.manufacturerID.trim(),
      library: i.libraryDescription.trim(),
      libraryVersion: `${i.libraryVersion.major}.${i.libraryVersion.minor}`,
    };
  }

  /** The slots, by default only those with a token present. */
  slots(tokenPresent = true): Slot[] {
    return ck('C_GetSlotList', () => this.p.C_GetSlotList(tokenPresent)).map((h) => new Slot(this, h));
  }

  /** The slot holding the initialized token labelled label; TokenNotFoundError if none. */
  findToken(label: string): Slot {
    const slots = this.slots().filter((s) => s.tokenInfo().initialized);
    const found = slots.find((s) => s.tokenInfo().label === label);
    if (!found) throw new TokenNotFoundError(label, slots.map((s) => s.tokenInfo().label));
    return found;
  }

  /** The slot with this id, which must hold a token; TokenNotFoundError if none. */
  slot(id: bigint | number): Slot {
    const want = BigInt(id);
    const slots = this.slots();
    const found = slots.find((s) => s.id === want);
    if (!found) throw new TokenNotFoundError(want, slots.map((s) => s.tokenInfo().label));
    return found;
  }

  /** Drops one reference; the last one finalizes Cryptoki (if this process initialized it) and unloads. */
  close(): void {
    const entry = loaded.get(this.path);
    if (this.#closed || !entry) return;
    if (--entry.refs > 0) return;
    loaded.delete(this.path);
    this.#closed = true;
    if (this.#owned) ck('C_Finalize', () => this.#p.C_Finalize());
    this.#p.close();
    this.#release?.();
  }
}

// ---- Slot and token ----

export class Slot {
  readonly module: Pkcs11Module;
  readonly handle: Handle;
  /** CK_SLOT_ID as a number-like bigint. */
  readonly id: bigint;

  constructor(module: Pkcs11Module, handle: Handle) {
    this.module = module;
    this.handle = handle;
    this.id = handle.length === 8 ? handle.readBigUInt64LE(0) : BigInt(handle.readUInt32LE(0));
  }

  tokenInfo(): TokenInfo {
    const t = ck('C_GetTokenInfo', () => this.module.p.C_GetTokenInfo(this.handle));
    return {
      label: t.label.trim(),
      manufacturer: t.manufacturerID.trim(),
      model: t.model.trim(),
      serial: t.serialNumber.trim(),
      flags: t.flags,
      initialized: (t.flags & pkcs11js.CKF_TOKEN_INITIALIZED) !== 0,
      loginRequired: (t.flags & pkcs11js.CKF_LOGIN_REQUIRED) !== 0,
    };
  }

  /** The CKM_* mechanisms of the token. */
  mechanisms(): Set<number> {
    return new Set(ck('C_GetMechanismList', () => this.module.p.C_GetMechanismList(this.handle)));
  }

  /** CKF_* flags of one mechanism (CKF_ENCRYPT, CKF_WRAP, …), or null when the token lacks it. */
  mechanismFlags(mechanism: number): number | null {
    if (!this.mechanisms().has(mechanism)) return null;
    return ck('C_GetMechanismInfo', () => this.module.p.C_GetMechanismInfo(this.handle, mechanism)).flags;
  }

  /**
   * C_CloseAllSessions: closes every session this process has on the slot (pkcs11js's and the native
   * addon's). Their session objects are destroyed and the login ends; later calls on them fail with
   * CKR_SESSION_HANDLE_INVALID.
   */
  closeAllSessions(): void {
    ck('C_CloseAllSessions', () => this.module.p.C_CloseAllSessions(this.handle));
  }

  /** A read-write session. */
  openSession(): Session {
    const h = ck('C_OpenSession', () => this.module.p.C_OpenSession(this.handle, pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION));
    return new Session(this, h);
  }
}

// ---- Session ----

/** A Cryptoki mechanism with its parameter, as pkcs11js takes it. */
export type Mechanism = pkcs11js.Mechanism;

export class Session {
  readonly slot: Slot;
  readonly handle: Handle;
  #open = true;

  constructor(slot: Slot, handle: Handle) {
    this.slot = slot;
    this.handle = handle;
  }

  private get p(): pkcs11js.PKCS11 {
    if (!this.#open) throw new TypeError('PKCS#11 session was closed');
    return this.slot.module.p;
  }

  get open(): boolean {
    return this.#open;
  }

  /**
   * Logs the user in with pin. Login is per application and token, so a token already logged in by
   * another session of this process is accepted. The PIN appears in no error or log.
   */
  login(pin: string): void {
    if (typeof pin !== 'string' || pin.length === 0) throw new TypeError('expected the PIN to be a non-empty string');
    try {
      ck('C_Login', () => this.p.C_Login(this.handle, pkcs11js.CKU_USER, pin));
    } catch (e) {
      if (!(e instanceof Pkcs11Error && e.ckr === 'CKR_USER_ALREADY_LOGGED_IN')) throw e;
    }
  }

  logout(): void {
    try {
      ck('C_Logout', () => this.p.C_Logout(this.handle));
    } catch (e) {
      if (!(e instanceof Pkcs11Error && e.ckr === 'CKR_USER_NOT_LOGGED_IN')) throw e;
    }
  }

  /**
   * Closes the session; session objects it created are destroyed by the token. Idempotent, and quiet
   * when the token already closed it (C_CloseAllSessions, a removed token).
   */
  close(): void {
    if (!this.#open) return;
    this.#open = false;
    try {
      ck('C_CloseSession', () => this.slot.module.p.C_CloseSession(this.handle));
    } catch (e) {
      if (!(e instanceof Pkcs11Error && (e.ckr === 'CKR_SESSION_HANDLE_INVALID' || e.ckr === 'CKR_SESSION_CLOSED' || e.ckr === 'CKR_DEVICE_REMOVED'))) throw e;
    }
  }

  // ---- Objects ----

  createObject(attrs: Attributes): ObjectHandle {
    return ck('C_CreateObject', () => this.p.C_CreateObject(this.handle, toTemplate(attrs)));
  }

  generateKey(mechanism: Mechanism, attrs: Attributes): ObjectHandle {
    return ck('C_GenerateKey', () => this.p.C_GenerateKey(this.handle, mechanism, toTemplate(attrs)));
  }

  generateKeyPair(mechanism: Mechanism, publicAttrs: Attributes, privateAttrs: Attributes): { publicKey: ObjectHandle; privateKey: ObjectHandle } {
    return ck('C_GenerateKeyPair', () => this.p.C_GenerateKeyPair(this.handle, mechanism, toTemplate(publicAttrs), toTemplate(privateAttrs)));
  }

  /** Handles of the objects matching attrs (at most max). */
  findObjects(attrs: Attributes, max = 1000): ObjectHandle[] {
    const p = this.p;
    ck('C_FindObjectsInit', () => p.C_FindObjectsInit(this.handle, toTemplate(attrs)));
    try {
      return ck('C_FindObjects', () => p.C_FindObjects(this.handle, max));
    } finally {
      ck('C_FindObjectsFinal', () => p.C_FindObjectsFinal(this.handle));
    }
  }

  /** The named attributes of an object, decoded. A sensitive attribute is a Pkcs11Error CKR_ATTRIBUTE_SENSITIVE. */
  getAttributes<K extends AttributeName>(object: ObjectHandle, names: readonly K[]): Required<Pick<Attributes, K>> {
    const res = ck('C_GetAttributeValue', () => this.p.C_GetAttributeValue(this.handle, object, names.map((n) => ({ type: ATTRS[n][0] }))));
    const out = {} as Record<string, unknown>;
    names.forEach((n, i) => {
      out[n] = decode(ATTRS[n][1], res[i]!.value);
    });
    return out as Required<Pick<Attributes, K>>;
  }

  destroyObject(object: ObjectHandle): void {
    ck('C_DestroyObject', () => this.p.C_DestroyObject(this.handle, object));
  }

  /** C_WrapKey of key under wrappingKey; outLen bounds the output. */
  wrapKey(mechanism: Mechanism, wrappingKey: ObjectHandle, key: ObjectHandle, outLen: number): Buffer {
    return ck('C_WrapKey', () => this.p.C_WrapKey(this.handle, mechanism, wrappingKey, key, Buffer.alloc(outLen)));
  }

  random(length: number): Uint8Array {
    if (length === 0) return new Uint8Array(0);
    const out = ck('C_GenerateRandom', () => this.p.C_GenerateRandom(this.handle, Buffer.alloc(length)));
    return new Uint8Array(out.buffer, out.byteOffset, out.length);
  }

  // ---- Single-part operations (outLen: the largest output the mechanism can give) ----

  encrypt(mechanism: Mechanism, key: ObjectHandle, data: Uint8Array, outLen: number): Uint8Array {
    const p = this.p;
    ck('C_EncryptInit', () => p.C_EncryptInit(this.handle, mechanism, key));
    return ck('C_Encrypt', () => p.C_Encrypt(this.handle, buf(data), Buffer.alloc(outLen)));
  }

  decrypt(mechanism: Mechanism, key: ObjectHandle, data: Uint8Array, outLen: number): Uint8Array {
    const p = this.p;
    ck('C_DecryptInit', () => p.C_DecryptInit(this.handle, mechanism, key));
    return ck('C_Decrypt', () => p.C_Decrypt(this.handle, buf(data), Buffer.alloc(Math.max(outLen, 1))));
  }

  sign(mechanism: Mechanism, key: ObjectHandle, data: Uint8Array, outLen: number): Uint8Array {
    const p = this.p;
    ck('C_SignInit', () => p.C_SignInit(this.handle, mechanism, key));
    return ck('C_Sign', () => p.C_Sign(this.handle, buf(data), Buffer.alloc(outLen)));
  }

  /** Whether signature verifies; CKR_SIGNATURE_INVALID and CKR_SIGNATURE_LEN_RANGE are false, not errors. */
  verify(mechanism: Mechanism, key: ObjectHandle, data: Uint8Array, signature: Uint8Array): boolean {
    const p = this.p;
    ck('C_VerifyInit', () => p.C_VerifyInit(this.handle, mechanism, key));
    try {
      return ck('C_Verify', () => p.C_Verify(this.handle, buf(data), buf(signature)));
    } catch (e) {
      if (e instanceof Pkcs11Error && (e.ckr === 'CKR_SIGNATURE_INVALID' || e.ckr === 'CKR_SIGNATURE_LEN_RANGE')) return false;
      throw e;
    }
  }

  /** hash(prefix ‖ CKA_VALUE of key) computed inside the token (C_DigestKey), the key never leaving it. */
  digestKey(mechanism: Mechanism, prefix: Uint8Array, key: ObjectHandle, outLen: number): Uint8Array {
    const p = this.p;
    ck('C_DigestInit', () => p.C_DigestInit(this.handle, mechanism));
    if (prefix.length > 0) ck('C_DigestUpdate', () => p.C_DigestUpdate(this.handle, buf(prefix)));
    ck('C_DigestKey', () => p.C_DigestKey(this.handle, key));
    return ck('C_DigestFinal', () => p.C_DigestFinal(this.handle, Buffer.alloc(outLen)));
  }
}

// ---- Key templates ----

export type SecretKind = 'AES' | 'HMAC';

export interface KeyOptions {
  /** A token (persistent) object instead of a session object. */
  token?: boolean;
  /** CKA_LABEL; token keys are found again by it. */
  label?: string;
  /** CKA_EXTRACTABLE: whether C_WrapKey may export the key (never in the clear: it stays CKA_SENSITIVE). */
  extractable?: boolean;
}

const common = (o: KeyOptions): Attributes => ({
  token: o.token ?? false,
  private: true,
  modifiable: false,
  ...(o.label !== undefined ? { label: o.label } : {}),
});

/** The template of a secret key (see the header for what each attribute is for). */
export function secretKeyTemplate(kind: SecretKind, o: KeyOptions): Attributes {
  const aes = kind === 'AES';
  return {
    ...common(o),
    class: pkcs11js.CKO_SECRET_KEY,
    keyType: aes ? pkcs11js.CKK_AES : pkcs11js.CKK_GENERIC_SECRET,
    sensitive: true,
    extractable: o.extractable ?? false,
    encrypt: aes,
    decrypt: aes,
    sign: !aes,
    verify: !aes,
    wrap: false,
    unwrap: false,
    derive: false,
  };
}

/** The templates of an asymmetric key pair's halves. */
export function keyPairTemplates(kind: 'RSA' | 'EC', o: KeyOptions): { publicKey: Attributes; privateKey: Attributes } {
  const rsa = kind === 'RSA';
  const keyType = rsa ? pkcs11js.CKK_RSA : pkcs11js.CKK_EC;
  return {
    publicKey: { ...common(o), private: false, class: pkcs11js.CKO_PUBLIC_KEY, keyType, verify: true, encrypt: rsa, wrap: false },
    privateKey: {
      ...common(o),
      class: pkcs11js.CKO_PRIVATE_KEY,
      keyType,
      sensitive: true,
      extractable: o.extractable ?? false,
      sign: true,
      decrypt: rsa,
      unwrap: false,
      derive: false,
    },
  };
}

/** Generates an AES key of bytes length (32 for AES-256) inside the token. */
export function generateAesKey(s: Session, bytes: number, o: KeyOptions = {}): ObjectHandle {
  return s.generateKey({ mechanism: pkcs11js.CKM_AES_KEY_GEN }, { ...secretKeyTemplate('AES', o), valueLen: bytes });
}

/** Generates an HMAC key (CKK_GENERIC_SECRET) of bytes length inside the token. */
export function generateHmacKey(s: Session, bytes: number, o: KeyOptions = {}): ObjectHandle {
  return s.generateKey({ mechanism: pkcs11js.CKM_GENERIC_SECRET_KEY_GEN }, { ...secretKeyTemplate('HMAC', o), valueLen: bytes });
}

/** Generates an EC key pair on the named curve whose DER OID TLV is curveOid (CKA_EC_PARAMS). */
export function generateEcKeyPair(s: Session, curveOid: Uint8Array, o: KeyOptions = {}): { publicKey: ObjectHandle; privateKey: ObjectHandle } {
  const t = keyPairTemplates('EC', o);
  return s.generateKeyPair({ mechanism: pkcs11js.CKM_EC_KEY_PAIR_GEN }, { ...t.publicKey, ecParams: curveOid }, t.privateKey);
}

/** Generates an RSA key pair of bits with public exponent 65537. */
export function generateRsaKeyPair(s: Session, bits: number, o: KeyOptions = {}): { publicKey: ObjectHandle; privateKey: ObjectHandle } {
  const t = keyPairTemplates('RSA', o);
  return s.generateKeyPair(
    { mechanism: pkcs11js.CKM_RSA_PKCS_KEY_PAIR_GEN },
    { ...t.publicKey, modulusBits: bits, publicExponent: Uint8Array.of(1, 0, 1) },
    t.privateKey,
  );
}

export { pkcs11js };
