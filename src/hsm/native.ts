// The typed loader of the native PKCS#11 addon (native/*.cc, built into build/Release/keyward_pkcs11.node
// by `npm ci` / `npm run build:native`). The addon keeps a pool of logged-in sessions, one native thread
// per session, and runs AES-GCM, sign and verify there, so HSM work never blocks the event loop; batches
// spread many inputs with one key over every session of the pool. Arguments are copied when the call is
// made, so callers may reuse their buffers at once.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { ModuleLoadError, Pkcs11Error } from './errors.js';

export { ModuleLoadError, Pkcs11Error };

/** A signing mechanism: CKM_* type, plus CK_RSA_PKCS_PSS_PARAMS for the RSA-PSS family. */
export interface NativeMechanism {
  type: number;
  params?: { hashAlg: number; mgf: number; saltLen: number };
}

/** One AES-GCM input of a batch; data is the plaintext (encrypt) or ciphertext ‖ tag (decrypt). */
export interface GcmItem {
  iv: Uint8Array;
  aad: Uint8Array;
  data: Uint8Array;
}

/** One input of verifyBatch. */
export interface VerifyItem {
  data: Uint8Array;
  signature: Uint8Array;
}

export interface NativeOpenOptions {
  /** Path of the PKCS#11 module (a shared library). */
  module: string;
  /** CK_SLOT_ID of the token. */
  slot: number | bigint;
  /** The user PIN. Copied, used for C_Login, and wiped in native memory; never logged. */
  pin: string;
  /** Sessions (and native threads) in the pool, 1 to 64. */
  sessions: number;
}

export interface NativeModule {
  /**
   * dlopen the PKCS#11 module (once per path per process), C_Initialize with CKF_OS_LOCKING_OK (a
   * library already initialized in this process, by pkcs11js for one, is shared), open `sessions` R/W
   * sessions on the slot and C_Login as user with pin (CKR_USER_ALREADY_LOGGED_IN is accepted: login
   * belongs to the whole process). Synchronous. Throws ModuleLoadError, Pkcs11Error (C_OpenSession,
   * C_Login, …), TypeError/RangeError for bad options.
   */
  open(opts: NativeOpenOptions): NativeSessionPool;
  /** The CKR_* name of a return value ('CKR_VENDOR_DEFINED', 'CKR_UNKNOWN' when not in PKCS#11 v2.40). */
  ckrName(code: number): string;
  /**
   * Loads and C_Initializes the module as open() does, handing it the addon's adaptive mutexes
   * (native/locks.cc), so that pkcs11js, loading the same library after it, shares this initialization.
   * Returns the release function (idempotent); the addon C_Finalizes after its last pool and release.
   * Throws ModuleLoadError or Pkcs11Error (C_Initialize).
   */
  retainModule(path: string): () => void;
}

/**
 * Every operation runs on a pool thread with a session of its own and returns a promise; a PKCS#11
 * failure rejects with Pkcs11Error { ckr, code, method } (a batch: the first failing item's, with
 * `index` set to that item and the rest of the batch abandoned). Bad arguments reject with
 * TypeError/RangeError; calls on a closed pool reject with an Error.
 * `key` is a CK_OBJECT_HANDLE.
 */
export interface NativeSessionPool {
  /** CKM_AES_GCM, 128-bit tag: resolves to ciphertext ‖ tag(16). */
  aesGcmEncrypt(key: number, iv: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Promise<Uint8Array>;
  /** Resolves to the plaintext; a bad tag rejects (SoftHSM2: CKR_ENCRYPTED_DATA_INVALID). */
  aesGcmDecrypt(key: number, iv: Uint8Array, aad: Uint8Array, ciphertext: Uint8Array): Promise<Uint8Array>;
  /** C_Sign: ECDSA gives r ‖ s (IEEE P1363), RSA the modulus-sized signature, HMAC the MAC. */
  sign(key: number, mechanism: NativeMechanism, data: Uint8Array): Promise<Uint8Array>;
  /** True when it verifies; a wrong signature (CKR_SIGNATURE_INVALID, _LEN_RANGE) is false, not an error. */
  verify(key: number, mechanism: NativeMechanism, data: Uint8Array, signature: Uint8Array): Promise<boolean>;
  /** Many inputs with one key, spread over the pool's sessions; results in input order, views of one ArrayBuffer. */
  aesGcmEncryptBatch(key: number, items: GcmItem[]): Promise<Uint8Array[]>;
  aesGcmDecryptBatch(key: number, items: GcmItem[]): Promise<Uint8Array[]>;
  signBatch(key: number, mechanism: NativeMechanism, items: Uint8Array[]): Promise<Uint8Array[]>;
  verifyBatch(key: number, mechanism: NativeMechanism, items: VerifyItem[]): Promise<boolean[]>;
  /** Sessions in the pool; 0 once closed. */
  readonly size: number;
  /**
   * Rejects queued work, waits for operations in progress, closes every session, and C_Finalizes the
   * module when this addon initialized it and this was its last pool. Idempotent. No C_Logout: login
   * is shared by every session of the process (pkcs11js's too) and ends when the last one closes.
   */
  close(): void;
}

interface RawAddon {
  open(opts: { module: string; slot: number; pin: string; sessions: number }): NativeSessionPool;
  ckrName(code: number): string;
  retainModule(path: string): void;
  releaseModule(path: string): boolean;
  clearOpenSslErrors(): void;
  setErrorClasses(classes: { Pkcs11Error: typeof Pkcs11Error; ModuleLoadError: typeof ModuleLoadError }): void;
}

const ADDON = join('build', 'Release', 'keyward_pkcs11.node');

/**
 * The path of the built addon: the first build/Release/keyward_pkcs11.node in `from` or a folder above
 * it (this module's folder by default, which works from src/ in tests and from dist/src/ in the package).
 * Throws an Error naming the missing file and how to build it.
 */
export function locateAddon(from: string = dirname(fileURLToPath(import.meta.url))): string {
  for (let dir = from; ; ) {
    const candidate = join(dir, ADDON);
    if (existsSync(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir) {
      throw new Error(`the native PKCS#11 addon ${ADDON} was not found in ${from} or any folder above it: build it with \`npm run build:native\` (npm ci builds it too)`);
    }
    dir = parent;
  }
}

/** Whether the addon has been built (npm ci builds it; `npm ci --ignore-scripts` does not). */
export function addonBuilt(): boolean {
  try {
    locateAddon();
    return true;
  } catch {
    return false;
  }
}

function toSlotNumber(slot: number | bigint): number {
  if (typeof slot === 'number') return slot;
  if (typeof slot !== 'bigint' || slot < 0n || slot > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new RangeError('options.slot must be a non-negative integer up to 2^53 - 1');
  }
  return Number(slot);
}

let loaded: NativeModule | undefined;
let clearErrors: (() => void) | undefined;

/**
 * Empties this thread's OpenSSL error queue, which a PKCS#11 module built on OpenSSL (SoftHSM2) shares
 * with node:crypto: a failed C_Decrypt would otherwise make node's next key import on this thread throw
 * the module's error (native/openssl_errors.h). A no-op until the addon is loaded.
 */
export function clearOpenSslErrors(): void {
  clearErrors?.();
}

/** Loads the addon once; throws an Error naming build/Release/keyward_pkcs11.node when it is missing. */
export function loadNative(): NativeModule {
  if (loaded) return loaded;
  const addon = createRequire(import.meta.url)(locateAddon()) as RawAddon;
  addon.setErrorClasses({ Pkcs11Error, ModuleLoadError });
  clearErrors = () => addon.clearOpenSslErrors();
  loaded = {
    open: (opts) => {
      if (typeof opts !== 'object' || opts === null) throw new TypeError('options must be an object');
      return addon.open({ module: opts.module, slot: toSlotNumber(opts.slot), pin: opts.pin, sessions: opts.sessions });
    },
    ckrName: (code) => addon.ckrName(code),
    retainModule: (path) => {
      addon.retainModule(path);
      let held = true;
      return () => {
        if (held) addon.releaseModule(path);
        held = false;
      };
    },
  };
  return loaded;
}
