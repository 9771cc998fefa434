// The engine's view of a stored CMK: its metadata and settings as kept in the store's JSON columns, the
// AWS shapes derived from them, and the key-spec tables (which usages and algorithms each spec allows).
import type { ProviderKeySpec } from '../crypto/provider.js';
import type { KeyRecord, KeyVersionRecord } from '../store/types.js';
import type { EncryptionAlgorithm, KeyMetadata, KeySpec, KeyState, KeyUsage, MacAlgorithm, Origin, SigningAlgorithm } from './types.js';

/** KeyRecord.metadata: the persisted form of KeyMetadata (times in ms since the epoch). */
export interface StoredMeta {
  keyId: string;
  arn: string;
  account: string;
  createdAt: number;
  description: string;
  keyUsage: KeyUsage;
  keySpec: KeySpec;
  keyState: KeyState;
  origin: Origin;
  multiRegion: boolean;
  deletionDate?: number;
  pendingWindowDays?: number;
  validTo?: number;
  expirationModel?: 'KEY_MATERIAL_EXPIRES' | 'KEY_MATERIAL_DOES_NOT_EXPIRE';
  /** Multi-region keys: this key's role and the regions of its copies. */
  mrk?: { type: 'PRIMARY' | 'REPLICA'; primaryRegion: string; replicaRegions: string[] };
}

/** KeyRecord.settings: engine-private state. */
export interface StoredSettings {
  rotation?: { enabled: boolean; periodDays: number; nextRotation?: number };
  onDemandRotations?: number;
  lastOnDemandRotation?: number;
  /** Key check value of imported material: proves a re-import is the same material. */
  kcv?: string;
}

export const SPEC_USAGES: Readonly<Record<KeySpec, readonly KeyUsage[]>> = {
  SYMMETRIC_DEFAULT: ['ENCRYPT_DECRYPT'],
  RSA_2048: ['ENCRYPT_DECRYPT', 'SIGN_VERIFY'],
  RSA_3072: ['ENCRYPT_DECRYPT', 'SIGN_VERIFY'],
  RSA_4096: ['ENCRYPT_DECRYPT', 'SIGN_VERIFY'],
  ECC_NIST_P256: ['SIGN_VERIFY'],
  ECC_NIST_P384: ['SIGN_VERIFY'],
  ECC_NIST_P521: ['SIGN_VERIFY'],
  ECC_SECG_P256K1: ['SIGN_VERIFY'],
  HMAC_256: ['GENERATE_VERIFY_MAC'],
  HMAC_384: ['GENERATE_VERIFY_MAC'],
  HMAC_512: ['GENERATE_VERIFY_MAC'],
};

export const KEY_SPECS = Object.keys(SPEC_USAGES) as KeySpec[];

/** The provider spec that backs a CMK spec (a symmetric CMK's backing key is an AES-256 key used as HKDF input). */
export function providerSpec(spec: KeySpec): ProviderKeySpec {
  return spec === 'SYMMETRIC_DEFAULT' ? 'AES_256' : spec;
}

const RSA_SIGNING: SigningAlgorithm[] = [
  'RSASSA_PSS_SHA_256', 'RSASSA_PSS_SHA_384', 'RSASSA_PSS_SHA_512',
  'RSASSA_PKCS1_V1_5_SHA_256', 'RSASSA_PKCS1_V1_5_SHA_384', 'RSASSA_PKCS1_V1_5_SHA_512',
];

export function signingAlgorithms(spec: KeySpec): SigningAlgorithm[] {
  switch (spec) {
    case 'RSA_2048': case 'RSA_3072': case 'RSA_4096': return RSA_SIGNING;
    case 'ECC_NIST_P256': case 'ECC_SECG_P256K1': return ['ECDSA_SHA_256'];
    case 'ECC_NIST_P384': return ['ECDSA_SHA_384'];
    case 'ECC_NIST_P521': return ['ECDSA_SHA_512'];
    default: return [];
  }
}

export function encryptionAlgorithms(spec: KeySpec): EncryptionAlgorithm[] {
  if (spec === 'SYMMETRIC_DEFAULT') return ['SYMMETRIC_DEFAULT'];
  if (spec.startsWith('RSA_')) return ['RSAES_OAEP_SHA_1', 'RSAES_OAEP_SHA_256'];
  return [];
}

export function macAlgorithms(spec: KeySpec): MacAlgorithm[] {
  switch (spec) {
    case 'HMAC_256': return ['HMAC_SHA_256'];
    case 'HMAC_384': return ['HMAC_SHA_384'];
    case 'HMAC_512': return ['HMAC_SHA_512'];
    default: return [];
  }
}

/** Largest RSA-OAEP plaintext: k − 2·hLen − 2 (RFC 8017 §7.1.1). */
export function oaepMaxPlaintext(spec: KeySpec, alg: EncryptionAlgorithm): number {
  const k = Number(spec.slice(4)) / 8;
  const hLen = alg === 'RSAES_OAEP_SHA_1' ? 20 : 32;
  return k - 2 * hLen - 2;
}

/** The AWS KeyMetadata of a stored key. */
export function keyMetadata(m: StoredMeta, region: string, arnOf: (region: string, keyId: string) => string): KeyMetadata {
  const out: KeyMetadata = {
    AWSAccountId: m.account,
    KeyId: m.keyId,
    Arn: m.arn,
    CreationDate: new Date(m.createdAt),
    Enabled: m.keyState === 'Enabled',
    Description: m.description,
    KeyUsage: m.keyUsage,
    KeyState: m.keyState,
    Origin: m.origin,
    KeyManager: 'CUSTOMER',
    CustomerMasterKeySpec: m.keySpec,
    KeySpec: m.keySpec,
    MultiRegion: m.multiRegion,
  };
  if (m.keyUsage === 'ENCRYPT_DECRYPT') out.EncryptionAlgorithms = encryptionAlgorithms(m.keySpec);
  if (m.keyUsage === 'SIGN_VERIFY') out.SigningAlgorithms = signingAlgorithms(m.keySpec);
  if (m.keyUsage === 'GENERATE_VERIFY_MAC') out.MacAlgorithms = macAlgorithms(m.keySpec);
  if (m.deletionDate !== undefined) out.DeletionDate = new Date(m.deletionDate);
  if (m.pendingWindowDays !== undefined && m.keyState === 'PendingDeletion') out.PendingDeletionWindowInDays = m.pendingWindowDays;
  if (m.origin === 'EXTERNAL') {
    out.ExpirationModel = m.expirationModel ?? 'KEY_MATERIAL_DOES_NOT_EXPIRE';
    if (m.validTo !== undefined) out.ValidTo = new Date(m.validTo);
  }
  if (m.mrk) {
    out.MultiRegionConfiguration = {
      MultiRegionKeyType: region === m.mrk.primaryRegion ? 'PRIMARY' : 'REPLICA',
      PrimaryKey: { Arn: arnOf(m.mrk.primaryRegion, m.keyId), Region: m.mrk.primaryRegion },
      ReplicaKeys: m.mrk.replicaRegions.map((r) => ({ Arn: arnOf(r, m.keyId), Region: r })),
    };
  }
  return out;
}

/** A key as the engine holds it in memory: record, decoded metadata, backing versions. */
export interface LoadedKey {
  region: string;
  record: KeyRecord;
  meta: StoredMeta;
  settings: StoredSettings;
  versions: KeyVersionRecord[];
}

/** The newest backing version, which encrypts and signs; undefined when material is absent (PendingImport). */
export function currentVersion(k: LoadedKey): KeyVersionRecord | undefined {
  let best: KeyVersionRecord | undefined;
  for (const v of k.versions) if (!best || v.version > best.version) best = v;
  return best;
}
