// Rows of the store's tables as records: one mapping for both drivers (better-sqlite3 and pg return the
// same column names; BLOB/bytea come back as Buffers).
import type {
  AliasRecord, AuditRecord, DomainKeyRecord, GrantRecord, ImportTokenRecord, KeyRecord, KeyVersionRecord, TagRecord,
} from './types.js';

/** A view of a BLOB (better-sqlite3) or bytea (pg) returned as a Buffer, so callers get plain Uint8Arrays. */
export function bytes(b: Buffer): Uint8Array {
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/** A result row as either driver returns it: column name → value. */
export type Row = Record<string, unknown>;

export const toKey = (r: Row): KeyRecord => ({
  region: r.region as string,
  keyId: r.key_id as string,
  metadata: JSON.parse(r.metadata as string),
  policy: r.policy as string,
  settings: JSON.parse(r.settings as string),
});

export const toDomainKey = (r: Row): DomainKeyRecord => ({
  region: r.region as string,
  domain: r.domain as string,
  version: r.version as number,
  token: bytes(r.token as Buffer),
  createdAt: r.created_at as number,
});

export const toKeyVersion = (r: Row): KeyVersionRecord => ({
  region: r.region as string,
  keyId: r.key_id as string,
  version: r.version as number,
  domainVersion: r.domain_version as number,
  ekt: bytes(r.ekt as Buffer),
  createdAt: r.created_at as number,
  rotationType: r.rotation_type as string,
});

export const toAlias = (r: Row): AliasRecord => ({
  region: r.region as string,
  aliasName: r.alias_name as string,
  keyId: r.key_id as string,
  createdAt: r.created_at as number,
  updatedAt: r.updated_at as number,
});

export const toGrant = (r: Row): GrantRecord => ({
  region: r.region as string,
  grantId: r.grant_id as string,
  keyId: r.key_id as string,
  grant: JSON.parse(r.document as string),
});

export const toTag = (r: Row): TagRecord => ({
  region: r.region as string,
  keyId: r.key_id as string,
  tagKey: r.tag_key as string,
  tagValue: r.tag_value as string,
});

export const toImportToken = (r: Row): ImportTokenRecord => ({
  region: r.region as string,
  importToken: r.import_token as string,
  keyId: r.key_id as string,
  wrappedPrivateKey: bytes(r.wrapped_private_key as Buffer),
  params: JSON.parse(r.params as string),
  expiresAt: r.expires_at as number,
});

// pg returns bigint columns as strings; seq stays far below 2^53.
export const toAudit = (r: Row): AuditRecord => ({
  seq: Number(r.seq),
  time: r.time as number,
  requestId: r.request_id as string,
  principal: r.principal as string,
  operation: r.operation as string,
  region: r.region as string,
  keyId: r.key_id as string | null,
  encryptionContext: r.encryption_context === null ? null : JSON.parse(r.encryption_context as string),
  outcome: r.outcome as string,
  prevHash: bytes(r.prev_hash as Buffer),
  hash: bytes(r.hash as Buffer),
});
