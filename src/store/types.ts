// The store seam: what the engine persists and how a change becomes durable. SQLite (sqlite.ts) is the
// embedded default; a PostgreSQL store implements the same interface for several engine nodes. The store
// knows nothing of cryptography: key material reaches it only as wrapped tokens, and the audit chain's
// MAC is a function the engine hands it once the region key is unsealed.

/** A domain key version, stored only as a token wrapped under its region's region key. */
export interface DomainKeyRecord {
  region: string;
  domain: string;
  version: number;
  /** AES-256-GCM(RK, DK) token. */
  token: Uint8Array;
  createdAt: number;
}

/** A CMK's metadata. Everything but the indexed columns lives in one JSON document. */
export interface KeyRecord {
  region: string;
  keyId: string;
  /** The engine's KeyMetadata (AWS shape), stored as JSON. */
  metadata: Record<string, unknown>;
  /** The key policy document, as the JSON text given. */
  policy: string;
  /** Rotation and other engine-private settings. */
  settings: Record<string, unknown>;
}

/** One backing key version of a CMK: the exported key token (EKT) under a domain key version. */
export interface KeyVersionRecord {
  region: string;
  keyId: string;
  version: number;
  /** The domain key version the EKT is wrapped under. */
  domainVersion: number;
  ekt: Uint8Array;
  createdAt: number;
  /** 'AUTOMATIC' | 'ON_DEMAND' | 'CREATE' | 'IMPORT' */
  rotationType: string;
}

export interface AliasRecord {
  region: string;
  aliasName: string;
  keyId: string;
  createdAt: number;
  updatedAt: number;
}

export interface GrantRecord {
  region: string;
  grantId: string;
  keyId: string;
  /** The engine's grant document (AWS GrantListEntry shape plus the grant token). */
  grant: Record<string, unknown>;
}

export interface TagRecord {
  region: string;
  keyId: string;
  tagKey: string;
  tagValue: string;
}

/** A pending GetParametersForImport: the import token and the wrapping key pair, the private half wrapped. */
export interface ImportTokenRecord {
  region: string;
  importToken: string;
  keyId: string;
  /** The wrapping private key, wrapped under a domain key version (the engine knows which). */
  wrappedPrivateKey: Uint8Array;
  /** Engine-private parameters (algorithm, wrapping spec, domain version). */
  params: Record<string, unknown>;
  expiresAt: number;
}

/** What a call appends to the audit log. Never plaintext or key material. */
export interface AuditEntry {
  time: number;
  requestId: string;
  principal: string;
  operation: string;
  region: string;
  keyId: string | null;
  encryptionContext: Record<string, string> | null;
  /** 'Success' or the AWS exception name. */
  outcome: string;
}

/** A stored audit entry, chained: hash = mac(prevHash ‖ canonical(entry with seq)). */
export interface AuditRecord extends AuditEntry {
  seq: number;
  prevHash: Uint8Array;
  hash: Uint8Array;
}

/**
 * The audit head: the last record's seq and hash, MACed (mac("keyward/audit-head" ‖ u64 seq ‖ hash)) and
 * updated in the same transaction as every append, so a log cut short no longer matches it.
 */
export interface AuditHeadProof {
  seq: number;
  hash: Uint8Array;
  headMac: Uint8Array;
}

/** One state change. A commit applies a list of them atomically with one audit entry. */
export type Mutation =
  | { kind: 'putMeta'; name: string; value: Uint8Array }
  | { kind: 'putDomainKey'; record: DomainKeyRecord }
  | { kind: 'putKey'; record: KeyRecord }
  /** Removes the key and everything that hangs off it: versions, aliases, grants, tags, import tokens. */
  | { kind: 'destroyKey'; region: string; keyId: string }
  | { kind: 'putKeyVersion'; record: KeyVersionRecord }
  | { kind: 'deleteKeyVersions'; region: string; keyId: string }
  | { kind: 'putAlias'; record: AliasRecord; mustNotExist: boolean }
  | { kind: 'deleteAlias'; region: string; aliasName: string }
  | { kind: 'putGrant'; record: GrantRecord }
  | { kind: 'deleteGrant'; region: string; grantId: string }
  | { kind: 'putTag'; record: TagRecord }
  | { kind: 'deleteTag'; region: string; keyId: string; tagKey: string }
  | { kind: 'putImportToken'; record: ImportTokenRecord }
  | { kind: 'deleteImportToken'; region: string; importToken: string };

/** A unique constraint refused a mutation (an alias that exists); the whole commit unit was rolled back. */
export class StoreConflictError extends Error {
  override name = 'StoreConflictError';
}

/** The database server accepted no connection, or gave no answer, within the connect timeout. */
export class StoreConnectTimeoutError extends Error {
  override name = 'StoreConnectTimeoutError';
  constructor(readonly timeoutMs: number) {
    super(`the server did not answer within the connect timeout of ${timeoutMs} ms`);
  }
}

/** A mutation named a key that does not exist (an alias, grant, tag, … for no key); the unit was rolled back. */
export class StoreReferenceError extends Error {
  override name = 'StoreReferenceError';
}

/** The store cannot take the call now: it is closed, or commit() came before setAuditMac(). */
export class StoreStateError extends Error {
  override name = 'StoreStateError';
}

/** A list marker the store did not issue for this listing (the engine answers InvalidMarkerException). */
export class InvalidMarkerError extends Error {
  override name = 'InvalidMarkerError';
}

export interface Page<T> {
  items: T[];
  /** Opaque; pass back as `marker` for the next page. Absent on the last page. */
  nextMarker?: string;
}

export interface Store {
  /** Schema version after migrations. */
  readonly schemaVersion: number;

  /**
   * Applies mutations and appends the audit entry, atomically, and resolves only once durable. Commits
   * arriving together share one transaction (group commit); a unit whose mutation fails is rolled back
   * alone (savepoint) and its promise rejects, the others still commit.
   * @throws StoreConflictError for a `mustNotExist` alias that exists
   * @throws StoreReferenceError for a version, alias, grant, tag or import token of a key that does not exist
   * @throws StoreStateError before setAuditMac() or after close()
   */
  commit(mutations: readonly Mutation[], audit: AuditEntry): Promise<AuditRecord>;
  /** Sets the chain MAC (HMAC under a key derived from the region key). Required before commit. */
  setAuditMac(mac: (data: Uint8Array) => Uint8Array): void;

  getMeta(name: string): Promise<Uint8Array | undefined>;
  /** Unaudited, for bootstrapping before the audit MAC exists (init writes the sealed region key). */
  putMetaUnaudited(name: string, value: Uint8Array): Promise<void>;

  domainKeys(region: string, domain: string): Promise<DomainKeyRecord[]>;
  getKey(region: string, keyId: string): Promise<KeyRecord | undefined>;
  /** @throws InvalidMarkerError for a marker this listing did not issue (likewise listAliases, listGrants) */
  listKeys(region: string, limit: number, marker?: string): Promise<Page<KeyRecord>>;
  /** All keys of every region (for scheduled work: deletion, rotation, re-wrapping). */
  allKeys(): Promise<KeyRecord[]>;
  keyVersions(region: string, keyId: string): Promise<KeyVersionRecord[]>;
  getAlias(region: string, aliasName: string): Promise<AliasRecord | undefined>;
  listAliases(region: string, keyId: string | undefined, limit: number, marker?: string): Promise<Page<AliasRecord>>;
  getGrant(region: string, grantId: string): Promise<GrantRecord | undefined>;
  listGrants(region: string, keyId: string, limit: number, marker?: string): Promise<Page<GrantRecord>>;
  /** Grants of every key, for RetireGrant by token and ListRetirableGrants. */
  allGrants(region: string): Promise<GrantRecord[]>;
  tags(region: string, keyId: string): Promise<TagRecord[]>;
  getImportToken(region: string, importToken: string): Promise<ImportTokenRecord | undefined>;

  /** Audit records from seq (inclusive), in order. */
  readAudit(fromSeq: number, limit: number): Promise<AuditRecord[]>;
  /** The last record, or undefined for an empty log. */
  auditHead(): Promise<AuditRecord | undefined>;
  /** The stored head proof, or null when the store has none (an empty log); for `verifyAuditChain`. */
  auditHeadProof(): Promise<AuditHeadProof | null>;

  /**
   * A store several engine nodes share: holds a lock on one key, across every node, until the returned
   * release runs. The engine takes it for a state change (read, decide, commit) and releases it once the
   * commit is durable, so two nodes never both pick the same next version of a key. Absent on a store
   * only one engine writes (its in-process lock suffices).
   */
  lockKey?(region: string, keyId: string): Promise<() => void>;
  /**
   * A store several engine nodes share: a number that changes whenever the key, its versions or its grants
   * change (undefined for no such key), so an engine validates its cached copy with one cheap read.
   */
  keyRevision?(region: string, keyId: string): Promise<number | undefined>;

  /** Flushes pending commits and closes. */
  close(): Promise<void>;
}
