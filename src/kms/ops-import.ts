// Imported key material (Origin EXTERNAL): GetParametersForImport, ImportKeyMaterial,
// DeleteImportedKeyMaterial. The caller wraps its material under a fresh RSA public key with RSA-OAEP; the
// private half is kept only sealed under the domain key (hierarchy.sealSecret) in the import token's
// record. A key check value proves that a re-import brings the same material, as AWS requires.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { AsymmetricEncryptionAlgorithm, KeyHandle, MacAlgorithm, ProviderKeySpec } from '../crypto/provider.js';
import { DecryptionError } from '../crypto/errors.js';
import type { ImportTokenRecord } from '../store/types.js';
import type { Call, Engine } from './engine.js';
import {
  ExpiredImportTokenException, IncorrectKeyMaterialException, InvalidCiphertextException, InvalidImportTokenException, KMSInternalException,
  UnsupportedOperationException, ValidationException,
} from './errors.js';
import { providerSpec, type LoadedKey, type StoredMeta } from './model.js';
import type * as T from './types.js';
import { bytes, oneOf, optOneOf, req } from './validate.js';

export type WrappingAlgorithm = AsymmetricEncryptionAlgorithm;
export type WrappingKeySpec = 'RSA_2048' | 'RSA_3072' | 'RSA_4096';
export type ExpirationModel = 'KEY_MATERIAL_EXPIRES' | 'KEY_MATERIAL_DOES_NOT_EXPIRE';

export interface GetParametersForImportRequest {
  KeyId: string;
  WrappingAlgorithm: WrappingAlgorithm;
  WrappingKeySpec: WrappingKeySpec;
}
export interface GetParametersForImportResponse {
  KeyId: string;
  ImportToken: Uint8Array;
  /** SPKI DER of the RSA wrapping public key. */
  PublicKey: Uint8Array;
  ParametersValidTo: Date;
}
export interface ImportKeyMaterialRequest {
  KeyId: string;
  ImportToken: Uint8Array;
  EncryptedKeyMaterial: Uint8Array;
  /** Required with KEY_MATERIAL_EXPIRES (the default model), refused with KEY_MATERIAL_DOES_NOT_EXPIRE. */
  ValidTo?: Date;
  ExpirationModel?: ExpirationModel;
}

const WRAPPING_ALGORITHMS: readonly WrappingAlgorithm[] = ['RSAES_OAEP_SHA_1', 'RSAES_OAEP_SHA_256'];
const WRAPPING_KEY_SPECS: readonly WrappingKeySpec[] = ['RSA_2048', 'RSA_3072', 'RSA_4096'];
const EXPIRATION_MODELS: readonly ExpirationModel[] = ['KEY_MATERIAL_EXPIRES', 'KEY_MATERIAL_DOES_NOT_EXPIRE'];
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** AWS: import parameters are valid for 24 hours; ValidTo at most 365 days ahead. */
const PARAMETERS_VALID_MS = 24 * HOUR;
const MAX_VALID_TO_MS = 365 * DAY;
const TOKEN_BYTES = 32;
const KCV_BYTES = 16;

/** The material length each key spec takes (the provider's sizes: AES-256, and HMAC keys of the hash's size). */
const MATERIAL_BYTES: Partial<Record<ProviderKeySpec, number>> = { AES_256: 32, HMAC_256: 32, HMAC_384: 48, HMAC_512: 64 };
const KCV_MAC: Record<number, { spec: ProviderKeySpec; alg: MacAlgorithm }> = {
  32: { spec: 'HMAC_256', alg: 'HMAC_SHA_256' },
  48: { spec: 'HMAC_384', alg: 'HMAC_SHA_384' },
  64: { spec: 'HMAC_512', alg: 'HMAC_SHA_512' },
};

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

function requireExternal(k: LoadedKey): void {
  if (k.meta.origin !== 'EXTERNAL') {
    throw new UnsupportedOperationException(`${k.meta.arn} has Origin ${k.meta.origin}; key material can only be imported into a key with Origin EXTERNAL`);
  }
}

/** Binds the sealed wrapping key to its key and token, so a record moved to another key or token does not open. */
function wrappingKeyAad(keyId: string, token: string): Uint8Array {
  return utf8(`keyward/v1/import-wrapping-key\0${keyId}\0${token}`);
}

/**
 * The key check value of imported material: HMAC over a fixed label keyed by the material, truncated to
 * 16 bytes. Keyed by the material, it says nothing of it without it; truncated, it is never a whole MAC
 * that VerifyMac would accept from an HMAC key holding the same material.
 */
async function keyCheckValue(e: Engine, keyId: string, material: Uint8Array): Promise<string> {
  const m = KCV_MAC[material.length];
  if (!m) throw new KMSInternalException(`no key check value for ${material.length}-byte material`);
  const handle = await e.provider.importKey(m.spec, material);
  try {
    const mac = await e.provider.mac(handle, m.alg, utf8(`keyward/v1/import-kcv\0${keyId}`));
    return Buffer.from(mac.subarray(0, KCV_BYTES)).toString('hex');
  } finally {
    await e.provider.destroyKey(handle);
  }
}

function sameKcv(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex');
  const y = Buffer.from(b, 'hex');
  return x.length === y.length && timingSafeEqual(x, y);
}

export async function getParametersForImport(e: Engine, call: Call, r: GetParametersForImportRequest): Promise<GetParametersForImportResponse> {
  req(r, 'GetParametersForImport');
  const algorithm = oneOf(r.WrappingAlgorithm, 'WrappingAlgorithm', WRAPPING_ALGORITHMS);
  const wrappingKeySpec = oneOf(r.WrappingKeySpec, 'WrappingKeySpec', WRAPPING_KEY_SPECS);
  const entry = await e.resolve(call, r.KeyId, { allowAlias: false });
  e.authorize(call, entry, 'GetParametersForImport', { 'kms:WrappingAlgorithm': algorithm, 'kms:WrappingKeySpec': wrappingKeySpec });
  const k = entry.key;
  requireExternal(k);
  e.refuseStates(entry, ['PendingDeletion', 'PendingReplicaDeletion', 'Unavailable']);
  const token = randomBytes(TOKEN_BYTES);
  const tokenId = token.toString('base64url');
  const pair = await e.provider.generateKeyPairBytes(wrappingKeySpec);
  let sealed: { domainVersion: number; token: Uint8Array };
  try {
    sealed = await e.hierarchy.sealSecret(call.region, k.meta.account, pair.privateKey, wrappingKeyAad(k.meta.keyId, tokenId));
  } finally {
    pair.privateKey.fill(0);
  }
  const expiresAt = e.now() + PARAMETERS_VALID_MS;
  const record: ImportTokenRecord = {
    region: call.region, importToken: tokenId, keyId: k.meta.keyId, wrappedPrivateKey: sealed.token,
    params: { wrappingAlgorithm: algorithm, wrappingKeySpec, domainVersion: sealed.domainVersion }, expiresAt,
  };
  call.mutations.push({ kind: 'putImportToken', record });
  return { KeyId: k.meta.arn, ImportToken: new Uint8Array(token), PublicKey: pair.publicKey, ParametersValidTo: new Date(expiresAt) };
}

/** ExpirationModel and ValidTo as AWS checks them: the model defaults to KEY_MATERIAL_EXPIRES. */
function expiration(e: Engine, r: ImportKeyMaterialRequest): { model: ExpirationModel; validTo?: number } {
  const model = optOneOf(r.ExpirationModel, 'ExpirationModel', EXPIRATION_MODELS) ?? 'KEY_MATERIAL_EXPIRES';
  if (model === 'KEY_MATERIAL_DOES_NOT_EXPIRE') {
    if (r.ValidTo !== undefined) throw new ValidationException('ValidTo must be omitted when ExpirationModel is KEY_MATERIAL_DOES_NOT_EXPIRE');
    return { model };
  }
  if (r.ValidTo === undefined) throw new ValidationException('ValidTo is required when ExpirationModel is KEY_MATERIAL_EXPIRES (the default)');
  if (!(r.ValidTo instanceof Date) || Number.isNaN(r.ValidTo.getTime())) throw new ValidationException('ValidTo: expected a valid Date');
  const validTo = r.ValidTo.getTime();
  const now = e.now();
  if (validTo <= now) throw new ValidationException(`ValidTo ${r.ValidTo.toISOString()} is not in the future`);
  if (validTo > now + MAX_VALID_TO_MS) throw new ValidationException(`ValidTo ${r.ValidTo.toISOString()} is more than 365 days from now`);
  return { model, validTo };
}

/** The token's record, checked for this key and time. */
async function tokenRecord(e: Engine, call: Call, token: Uint8Array, keyId: string): Promise<ImportTokenRecord> {
  const rec = await e.store.getImportToken(call.region, Buffer.from(token).toString('base64url'));
  if (!rec || rec.keyId !== keyId) throw new InvalidImportTokenException('the import token is not one GetParametersForImport issued for this key');
  if (rec.expiresAt <= e.now()) {
    throw new ExpiredImportTokenException(`the import token expired at ${new Date(rec.expiresAt).toISOString()}; call GetParametersForImport again`);
  }
  return rec;
}

/** The key material out of EncryptedKeyMaterial; the caller zeroes it. */
async function unwrapMaterial(e: Engine, call: Call, k: LoadedKey, rec: ImportTokenRecord, encrypted: Uint8Array): Promise<Uint8Array> {
  const { wrappingAlgorithm, wrappingKeySpec, domainVersion } = rec.params as { wrappingAlgorithm: unknown; wrappingKeySpec: unknown; domainVersion: unknown };
  if (!WRAPPING_ALGORITHMS.includes(wrappingAlgorithm as WrappingAlgorithm) || !WRAPPING_KEY_SPECS.includes(wrappingKeySpec as WrappingKeySpec)
    || typeof domainVersion !== 'number') {
    throw new KMSInternalException('the stored import parameters are malformed');
  }
  const pkcs8 = await e.hierarchy.openSecret(call.region, k.meta.account, domainVersion, rec.wrappedPrivateKey, wrappingKeyAad(k.meta.keyId, rec.importToken));
  let handle: KeyHandle;
  try {
    handle = await e.provider.importKey(wrappingKeySpec as WrappingKeySpec, pkcs8);
  } finally {
    pkcs8.fill(0);
  }
  try {
    return await e.provider.decryptAsymmetric(handle, wrappingAlgorithm as WrappingAlgorithm, encrypted);
  } catch (err) {
    if (err instanceof DecryptionError) {
      throw new InvalidCiphertextException(`EncryptedKeyMaterial does not decrypt with the wrapping key of this import token (${wrappingAlgorithm}, ${wrappingKeySpec})`);
    }
    throw err;
  } finally {
    await e.provider.destroyKey(handle);
  }
}

/**
 * Imports (or re-imports) key material. PendingImport becomes Enabled with backing version 1, the number
 * every blob of this key names, so blobs made before an expiry or deletion decrypt again after the same
 * material returns. A key that still has its material (a re-import to change the expiration) keeps its
 * version and state. The import token is used up.
 */
export async function importKeyMaterial(e: Engine, call: Call, r: ImportKeyMaterialRequest): Promise<Record<string, never>> {
  req(r, 'ImportKeyMaterial');
  const token = bytes(r.ImportToken, 'ImportToken', 1, 6144);
  const encrypted = bytes(r.EncryptedKeyMaterial, 'EncryptedKeyMaterial', 1, 6144);
  const { model, validTo } = expiration(e, r);
  const entry = await e.resolveForUpdate(call, r.KeyId, { allowAlias: false });
  const extra: Record<string, string | number> = { 'kms:ExpirationModel': model };
  if (validTo !== undefined) extra['kms:ValidTo'] = Math.floor(validTo / 1000);
  e.authorize(call, entry, 'ImportKeyMaterial', extra);
  const k = entry.key;
  requireExternal(k);
  e.refuseStates(entry, ['PendingDeletion', 'PendingReplicaDeletion', 'Unavailable']);
  const rec = await tokenRecord(e, call, token, k.meta.keyId);
  const material = await unwrapMaterial(e, call, k, rec, encrypted);
  try {
    const spec = providerSpec(k.meta.keySpec);
    const want = MATERIAL_BYTES[spec];
    if (material.length !== want) {
      throw new IncorrectKeyMaterialException(`a ${k.meta.keySpec} key takes ${want} bytes of key material, got ${material.length}`);
    }
    const kcv = await keyCheckValue(e, k.meta.keyId, material);
    if (k.settings.kcv !== undefined && !sameKcv(k.settings.kcv, kcv)) {
      throw new IncorrectKeyMaterialException(`this is not the key material previously imported into ${k.meta.arn}; only the same material can be imported again`);
    }
    if (k.versions.length === 0) {
      const version = await e.hierarchy.newBackingKey({
        region: call.region, domain: k.meta.account, keyId: k.meta.keyId, version: 1, spec, rotationType: 'IMPORT', material,
      });
      call.mutations.push({ kind: 'putKeyVersion', record: version });
    }
    const { validTo: _old, ...rest } = k.meta;
    const meta: StoredMeta = { ...rest, expirationModel: model, keyState: k.meta.keyState === 'PendingImport' ? 'Enabled' : k.meta.keyState };
    if (validTo !== undefined) meta.validTo = validTo;
    call.mutations.push({ kind: 'deleteImportToken', region: call.region, importToken: rec.importToken });
    e.putKey(call, k, meta, { ...k.settings, kcv });
    return {};
  } finally {
    material.fill(0);
  }
}

/**
 * Deletes the key's material: its backing versions go, the key becomes PendingImport (a key pending
 * deletion keeps its state, as in AWS) and only the same material can be imported again.
 */
export async function deleteImportedKeyMaterial(e: Engine, call: Call, r: T.KeyIdRequest): Promise<Record<string, never>> {
  req(r, 'DeleteImportedKeyMaterial');
  const entry = await e.resolveForUpdate(call, r.KeyId, { allowAlias: false });
  e.authorize(call, entry, 'DeleteImportedKeyMaterial');
  const k = entry.key;
  requireExternal(k);
  e.refuseStates(entry, ['PendingReplicaDeletion']);
  if (k.versions.length === 0 && k.meta.keyState === 'PendingImport') return {};
  call.mutations.push({ kind: 'deleteKeyVersions', region: call.region, keyId: k.meta.keyId });
  const { validTo: _v, ...rest } = k.meta;
  e.putKey(call, k, { ...rest, keyState: k.meta.keyState === 'PendingDeletion' ? 'PendingDeletion' : 'PendingImport' });
  e.hierarchy.forget(call.region, k.meta.keyId);
  return {};
}
