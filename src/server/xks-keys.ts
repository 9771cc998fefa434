// The XKS proxy's external keys and its kill switch: <dir>/xks-keys.json (mode 0600). An external key is
// an AES-256 key whose material exists only as a Keyward ciphertext blob under a customer master key
// (GenerateDataKey with an encryption context naming the external key id and version), so the XKS keys
// inherit the CMK's protection (the WASM provider or an HSM), its key policy and its audit trail. The
// record also holds the key's status and its allow lists of KMS key ARNs and principals.
//
// A file, not the database, for the same reason as credentials.json: `keyward xks disable` must work
// while `keyward serve` holds the store, and the server sees the change on its next request.
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { ValidationException } from '../kms/errors.js';
import type { Keyward } from '../kms/keyward.js';
import { assertPrincipalArn } from '../kms/principal.js';
import { lockFile } from './credentials.js';

export const XKS_KEYS_FILE = 'xks-keys.json';
/** The XKS proxy's own SigV4 access keys (AWS KMS signs with them; they are not KMS access keys). */
export const XKS_CREDENTIALS_FILE = 'xks-credentials.json';
const FORMAT_VERSION = 1;
/** XKS spec: at most 128 of letters, digits, hyphen, period and underscore. */
export const EXTERNAL_KEY_ID = /^[A-Za-z0-9._-]{1,128}$/;
const KEY_ARN = /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[A-Za-z0-9-]{1,128}$/;

export type XksKeyStatus = 'ENABLED' | 'DISABLED';

export interface XksKeyVersion {
  Version: number;
  /** base64 of the Keyward ciphertext blob of the 32-byte key. */
  Blob: string;
  Created: string;
}

export interface XksKeyRecord {
  ExternalKeyId: string;
  /** The ARN of the CMK whose blob holds the material. */
  WrappingKeyArn: string;
  /** The principal the proxy decrypts the blob as (the one that created the key). */
  Principal: string;
  Status: XksKeyStatus;
  /** When non-empty, requestMetadata.kmsKeyArn must be one of these. */
  AllowedKmsKeyArns: string[];
  /** When non-empty, requestMetadata.awsPrincipalArn must be one of these. */
  AllowedPrincipals: string[];
  Created: string;
  Versions: XksKeyVersion[];
}

export interface XksKeysFile {
  version: number;
  /** The kill switch: true refuses every XKS request with InvalidStateException. */
  disabled: boolean;
  keys: XksKeyRecord[];
}

/** The file is malformed or exposed. */
export class XksKeysError extends Error {
  override name = 'XksKeysError';
}

/** The encryption context that binds a blob to its external key and version. */
export function xksBlobContext(externalKeyId: string, version: number): Record<string, string> {
  return { 'keyward:xks-external-key-id': externalKeyId, 'keyward:xks-key-version': String(version) };
}

function isStringArray(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((x) => typeof x === 'string');
}

/** The file's contents and a stamp that changes when the file does; a missing file is empty and enabled. */
export function readXksKeys(dir: string): { file: XksKeysFile; stamp: string } {
  const path = join(dir, XKS_KEYS_FILE);
  let text: string;
  let stamp: string;
  try {
    const st = statSync(path);
    if (process.platform !== 'win32' && (st.mode & 0o077) !== 0) {
      throw new XksKeysError(`permissions ${(st.mode & 0o777).toString(8).padStart(4, '0')} for ${path} are too open; chmod 600 it`);
    }
    stamp = `${st.ino}:${st.size}:${st.mtimeMs}`;
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { file: { version: FORMAT_VERSION, disabled: false, keys: [] }, stamp: 'absent' };
    throw e;
  }
  let f: Partial<XksKeysFile>;
  try {
    f = JSON.parse(text) as Partial<XksKeysFile>;
  } catch {
    throw new XksKeysError(`${path} is not valid JSON`);
  }
  if (typeof f !== 'object' || f === null || f.version !== FORMAT_VERSION || typeof f.disabled !== 'boolean' || !Array.isArray(f.keys)) {
    throw new XksKeysError(`${path}: expected {"version": ${FORMAT_VERSION}, "disabled": false, "keys": [...]}`);
  }
  for (const k of f.keys) {
    if (typeof k !== 'object' || k === null || typeof k.ExternalKeyId !== 'string' || typeof k.WrappingKeyArn !== 'string'
      || typeof k.Principal !== 'string' || (k.Status !== 'ENABLED' && k.Status !== 'DISABLED') || !isStringArray(k.AllowedKmsKeyArns)
      || !isStringArray(k.AllowedPrincipals) || !Array.isArray(k.Versions) || k.Versions.length === 0
      || !k.Versions.every((v) => Number.isInteger(v?.Version) && v.Version >= 1 && v.Version <= 0xffff && typeof v.Blob === 'string')) {
      throw new XksKeysError(`${path}: a key record is malformed`);
    }
  }
  return { file: f as XksKeysFile, stamp };
}

/** Changes the file under its lock: `change` edits the parsed contents, which are written atomically. */
async function update<T>(dir: string, change: (f: XksKeysFile) => T | Promise<T>): Promise<T> {
  const path = join(dir, XKS_KEYS_FILE);
  const release = await lockFile(path);
  try {
    const { file } = readXksKeys(dir);
    const result = await change(file);
    const tmp = `${path}.${process.pid}.tmp`;
    const fd = openSync(tmp, 'w', 0o600);
    try {
      writeSync(fd, `${JSON.stringify(file, null, 2)}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
    return result;
  } finally {
    release();
  }
}

/** The kill switch: `false` refuses every XKS operation at once (InvalidStateException), `true` serves again. */
export function setXksEnabled(dir: string, enabled: boolean): Promise<void> {
  return update(dir, (f) => {
    f.disabled = !enabled;
  });
}

export interface CreateXksKeyOptions {
  externalKeyId: string;
  /** The CMK that protects the material: key id, ARN or alias, symmetric. */
  wrappingKeyId: string;
  allowedKmsKeyArns?: string[];
  allowedPrincipals?: string[];
  now?: number;
}

function checkAllowLists(arns: readonly string[], principals: readonly string[]): void {
  for (const a of arns) if (!KEY_ARN.test(a)) throw new ValidationException(`allowed KMS key ARN ${JSON.stringify(a)}: expected arn:aws:kms:<region>:<account>:key/<id>`);
  for (const p of principals) {
    // Service principals and "AWS Internal" are what KMS sends for calls by AWS services.
    if (p !== 'AWS Internal' && !/^[a-z0-9.-]+\.amazonaws\.com$/.test(p)) assertPrincipalArn(p);
  }
}

/**
 * Creates an external key: 32 random bytes from GenerateDataKey under `wrappingKeyId` (run as `kw`'s
 * principal, which the proxy later decrypts as), kept only as the blob.
 * @throws ValidationException for a bad id or allow-list entry, AlreadyExists-style ValidationException for a taken id; engine errors as they come
 */
export async function createXksKey(kw: Keyward, dir: string, o: CreateXksKeyOptions): Promise<XksKeyRecord> {
  if (!EXTERNAL_KEY_ID.test(o.externalKeyId)) {
    throw new ValidationException(`external key id ${JSON.stringify(o.externalKeyId.slice(0, 140))}: expected 1 to 128 of A-Z a-z 0-9 . _ -`);
  }
  const arns = o.allowedKmsKeyArns ?? [];
  const principals = o.allowedPrincipals ?? [];
  checkAllowLists(arns, principals);
  return update(dir, async (f) => {
    if (f.keys.some((k) => k.ExternalKeyId === o.externalKeyId)) throw new ValidationException(`the external key ${o.externalKeyId} already exists`);
    const dk = await kw.generateDataKey({ KeyId: o.wrappingKeyId, KeySpec: 'AES_256', EncryptionContext: xksBlobContext(o.externalKeyId, 1) });
    dk.Plaintext.fill(0);
    const created = new Date(o.now ?? Date.now()).toISOString();
    const record: XksKeyRecord = {
      ExternalKeyId: o.externalKeyId, WrappingKeyArn: dk.KeyId, Principal: kw.principal, Status: 'ENABLED',
      AllowedKmsKeyArns: arns, AllowedPrincipals: principals, Created: created,
      Versions: [{ Version: 1, Blob: Buffer.from(dk.CiphertextBlob).toString('base64'), Created: created }],
    };
    f.keys.push(record);
    return record;
  });
}

/** Changes an external key's status or allow lists. @throws ValidationException for an unknown key or bad entries */
export function updateXksKey(
  dir: string, externalKeyId: string, change: { status?: XksKeyStatus; allowedKmsKeyArns?: string[]; allowedPrincipals?: string[] },
): Promise<XksKeyRecord> {
  checkAllowLists(change.allowedKmsKeyArns ?? [], change.allowedPrincipals ?? []);
  return update(dir, (f) => {
    const k = f.keys.find((r) => r.ExternalKeyId === externalKeyId);
    if (!k) throw new ValidationException(`no external key ${JSON.stringify(externalKeyId.slice(0, 140))}`);
    if (change.status !== undefined) k.Status = change.status;
    if (change.allowedKmsKeyArns !== undefined) k.AllowedKmsKeyArns = change.allowedKmsKeyArns;
    if (change.allowedPrincipals !== undefined) k.AllowedPrincipals = change.allowedPrincipals;
    return k;
  });
}
