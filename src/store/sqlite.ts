// The embedded store: one SQLite file (WAL, synchronous=FULL) through better-sqlite3.
//
// Group commit (group-commit.ts): each flush writes the waiting units in a single BEGIN IMMEDIATE … COMMIT,
// so one fsync covers them all; each unit runs inside its own SAVEPOINT so a unit that fails is undone
// alone. Promises settle only after COMMIT has returned, i.e. once the WAL is synced. better-sqlite3 is
// synchronous, so a flush never interleaves with reads or another flush; callers queue the next batch
// while the event loop turns.

import Database from 'better-sqlite3';
import type { Database as Db, Statement } from 'better-sqlite3';
import { chainNext, makeAuditHeadProof } from './audit-chain.js';
import { GroupCommitStore, type CommitUnit, type UnitOutcome } from './group-commit.js';
import { LATEST_SCHEMA_VERSION, migrate } from './migrations.js';
import { constraintError, writeOf } from './mutation-sql.js';
import { checkLimit, decodeMarker, page } from './paging.js';
import {
  StoreStateError,
  type AliasRecord,
  type AuditHeadProof,
  type AuditRecord,
  type DomainKeyRecord,
  type GrantRecord,
  type ImportTokenRecord,
  type KeyRecord,
  type KeyVersionRecord,
  type Mutation,
  type Page,
  type Store,
  type TagRecord,
} from './types.js';
import { bytes, toAlias, toAudit, toDomainKey, toGrant, toImportToken, toKey, toKeyVersion, toTag, type Row } from './rows.js';

export interface SqliteStoreOptions {
  /** How long a writer waits for another process's lock before failing its batch (ms). Default 5000. */
  busyTimeoutMs?: number;
  /** The most commit units one transaction takes. Default 1000. */
  maxBatchUnits?: number;
}

// Still exported from here, where it was first defined, for the callers that import it from this module.
export type { GroupCommitStats } from './group-commit.js';

interface SqliteError extends Error {
  code: string;
}

function sqliteCode(err: unknown): string | undefined {
  return err instanceof Error && typeof (err as SqliteError).code === 'string' ? (err as SqliteError).code : undefined;
}

function prepareAll(db: Db) {
  const p = (sql: string): Statement => db.prepare(sql);
  return {
    savepoint: p('SAVEPOINT unit'),
    release: p('RELEASE unit'),
    rollbackTo: p('ROLLBACK TO unit'),

    putMeta: p('INSERT INTO meta (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value'),
    getMeta: p('SELECT value FROM meta WHERE name = ?'),

    // Never an upsert: replacing a domain key version would orphan every token wrapped under the old one.
    putDomainKey: p('INSERT INTO domain_keys (region, domain, version, token, created_at) VALUES (?, ?, ?, ?, ?)'),
    domainKeys: p('SELECT * FROM domain_keys WHERE region = ? AND domain = ? ORDER BY version'),

    // An upsert, never INSERT OR REPLACE: a replace deletes the row first and would cascade to its children.
    putKey: p(`INSERT INTO keys (region, key_id, metadata, policy, settings) VALUES (?, ?, ?, ?, ?)
      ON CONFLICT (region, key_id) DO UPDATE SET metadata = excluded.metadata, policy = excluded.policy, settings = excluded.settings`),
    destroyKey: p('DELETE FROM keys WHERE region = ? AND key_id = ?'),
    getKey: p('SELECT * FROM keys WHERE region = ? AND key_id = ?'),
    listKeys: p('SELECT * FROM keys WHERE region = ? AND key_id > ? ORDER BY key_id LIMIT ?'),
    allKeys: p('SELECT * FROM keys ORDER BY region, key_id'),

    putKeyVersion: p(`INSERT INTO key_versions (region, key_id, version, domain_version, ekt, created_at, rotation_type)
      VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (region, key_id, version) DO UPDATE SET
      domain_version = excluded.domain_version, ekt = excluded.ekt, created_at = excluded.created_at, rotation_type = excluded.rotation_type`),
    deleteKeyVersions: p('DELETE FROM key_versions WHERE region = ? AND key_id = ?'),
    keyVersions: p('SELECT * FROM key_versions WHERE region = ? AND key_id = ? ORDER BY version'),

    insertAlias: p('INSERT INTO aliases (region, alias_name, key_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?)'),
    putAlias: p(`INSERT INTO aliases (region, alias_name, key_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?)
      ON CONFLICT (region, alias_name) DO UPDATE SET key_id = excluded.key_id, created_at = excluded.created_at, updated_at = excluded.updated_at`),
    deleteAlias: p('DELETE FROM aliases WHERE region = ? AND alias_name = ?'),
    getAlias: p('SELECT * FROM aliases WHERE region = ? AND alias_name = ?'),
    listAliases: p('SELECT * FROM aliases WHERE region = ? AND alias_name > ? ORDER BY alias_name LIMIT ?'),
    listAliasesOfKey: p('SELECT * FROM aliases WHERE region = ? AND key_id = ? AND alias_name > ? ORDER BY alias_name LIMIT ?'),

    putGrant: p(`INSERT INTO grants (region, grant_id, key_id, document) VALUES (?, ?, ?, ?)
      ON CONFLICT (region, grant_id) DO UPDATE SET key_id = excluded.key_id, document = excluded.document`),
    deleteGrant: p('DELETE FROM grants WHERE region = ? AND grant_id = ?'),
    getGrant: p('SELECT * FROM grants WHERE region = ? AND grant_id = ?'),
    listGrants: p('SELECT * FROM grants WHERE region = ? AND key_id = ? AND grant_id > ? ORDER BY grant_id LIMIT ?'),
    allGrants: p('SELECT * FROM grants WHERE region = ? ORDER BY grant_id'),

    putTag: p(`INSERT INTO tags (region, key_id, tag_key, tag_value) VALUES (?, ?, ?, ?)
      ON CONFLICT (region, key_id, tag_key) DO UPDATE SET tag_value = excluded.tag_value`),
    deleteTag: p('DELETE FROM tags WHERE region = ? AND key_id = ? AND tag_key = ?'),
    tags: p('SELECT * FROM tags WHERE region = ? AND key_id = ? ORDER BY tag_key'),

    putImportToken: p(`INSERT INTO import_tokens (region, import_token, key_id, wrapped_private_key, params, expires_at)
      VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (region, import_token) DO UPDATE SET key_id = excluded.key_id,
      wrapped_private_key = excluded.wrapped_private_key, params = excluded.params, expires_at = excluded.expires_at`),
    deleteImportToken: p('DELETE FROM import_tokens WHERE region = ? AND import_token = ?'),
    getImportToken: p('SELECT * FROM import_tokens WHERE region = ? AND import_token = ?'),

    insertAudit: p(`INSERT INTO audit_log (seq, time, request_id, principal, operation, region, key_id,
      encryption_context, outcome, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
    lastAudit: p('SELECT * FROM audit_log ORDER BY seq DESC LIMIT 1'),
    lastAuditLink: p('SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1'),
    readAudit: p('SELECT * FROM audit_log WHERE seq >= ? ORDER BY seq LIMIT ?'),
    putHead: p(`INSERT INTO audit_head (id, seq, hash, head_mac) VALUES (1, ?, ?, ?)
      ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash, head_mac = excluded.head_mac`),
    getHead: p('SELECT seq, hash, head_mac FROM audit_head WHERE id = 1'),
  };
}

export class SqliteStore extends GroupCommitStore implements Store {
  readonly schemaVersion: number;
  private readonly s: ReturnType<typeof prepareAll>;

  /** Use openSqliteStore(): it configures and migrates the database first. */
  constructor(
    private readonly db: Db,
    schemaVersion: number,
    maxBatchUnits: number,
  ) {
    super(maxBatchUnits);
    this.schemaVersion = schemaVersion;
    this.s = prepareAll(db);
  }

  protected override flush(units: readonly CommitUnit[]): UnitOutcome[] {
    const mac = this.mac!;
    const outcomes: UnitOutcome[] = [];
    let committed = 0;
    try {
      this.db.exec('BEGIN IMMEDIATE');
      // Read inside the write lock: another process may have appended since our last batch.
      const last = this.s.lastAuditLink.get() as { seq: number; hash: Buffer } | undefined;
      let head: { seq: number; hash: Uint8Array } | undefined = last && { seq: last.seq, hash: bytes(last.hash) };
      for (const unit of units) {
        // An audit-only unit writes one row, and a failed statement undoes itself: no savepoint needed.
        const savepoint = unit.mutations.length > 0;
        if (savepoint) this.s.savepoint.run();
        try {
          for (const m of unit.mutations) this.apply(m);
          const record = chainNext(mac, head, unit.audit);
          this.insertAudit(record);
          if (savepoint) this.s.release.run();
          outcomes.push({ record });
          committed++;
          head = record;
        } catch (err) {
          // SQLite rolls the whole transaction back on some errors (disk full, I/O); then no unit survives.
          if (!this.db.inTransaction) throw err;
          if (savepoint) {
            this.s.rollbackTo.run();
            this.s.release.run();
          }
          outcomes.push({ error: err });
        }
      }
      if (committed > 0) {
        const proof = makeAuditHeadProof(mac, head!);
        this.s.putHead.run(proof.seq, proof.hash, proof.headMac);
      }
      this.db.exec('COMMIT');
    } catch (err) {
      try {
        if (this.db.inTransaction) this.db.exec('ROLLBACK');
      } catch {
        // The rollback's own failure adds nothing: the batch is lost either way and `err` says why.
      }
      throw err;
    }
    return outcomes;
  }

  private insertAudit(r: AuditRecord): void {
    this.s.insertAudit.run(
      r.seq,
      r.time + 0,
      r.requestId,
      r.principal,
      r.operation,
      r.region,
      r.keyId,
      r.encryptionContext === null ? null : JSON.stringify(r.encryptionContext),
      r.outcome,
      r.prevHash,
      r.hash,
    );
  }

  private apply(m: Mutation): void {
    const { statement, args } = writeOf(m, (b) => b);
    try {
      this.s[statement].run(...args);
    } catch (err) {
      const code = sqliteCode(err);
      const violation = code === 'SQLITE_CONSTRAINT_FOREIGNKEY' ? 'reference' : code === 'SQLITE_CONSTRAINT_PRIMARYKEY' ? 'unique' : undefined;
      throw (violation && constraintError(m, violation, err)) ?? err;
    }
  }

  /** Runs a read; after close() it fails with StoreStateError rather than better-sqlite3's TypeError. */
  private read<T>(f: () => T): Promise<T> {
    if (this.closed) return Promise.reject(new StoreStateError('the store is closed'));
    try {
      return Promise.resolve(f());
    } catch (err) {
      return Promise.reject(err);
    }
  }

  getMeta(name: string): Promise<Uint8Array | undefined> {
    return this.read(() => {
      const row = this.s.getMeta.get(name) as { value: Buffer } | undefined;
      return row && bytes(row.value);
    });
  }

  putMetaUnaudited(name: string, value: Uint8Array): Promise<void> {
    return this.read(() => {
      if (!(value instanceof Uint8Array)) throw new TypeError('putMetaUnaudited value must be a Uint8Array');
      this.s.putMeta.run(name, value);
    });
  }

  domainKeys(region: string, domain: string): Promise<DomainKeyRecord[]> {
    return this.read(() => (this.s.domainKeys.all(region, domain) as Row[]).map(toDomainKey));
  }

  getKey(region: string, keyId: string): Promise<KeyRecord | undefined> {
    return this.read(() => {
      const row = this.s.getKey.get(region, keyId) as Row | undefined;
      return row && toKey(row);
    });
  }

  listKeys(region: string, limit: number, marker?: string): Promise<Page<KeyRecord>> {
    return this.read(() => {
      checkLimit(limit, 'listKeys');
      const after = marker === undefined ? '' : decodeMarker(marker, 'keys', region);
      const rows = (this.s.listKeys.all(region, after, limit + 1) as Row[]).map(toKey);
      return page(rows, limit, 'keys', region, (r) => r.keyId);
    });
  }

  allKeys(): Promise<KeyRecord[]> {
    return this.read(() => (this.s.allKeys.all() as Row[]).map(toKey));
  }

  keyVersions(region: string, keyId: string): Promise<KeyVersionRecord[]> {
    return this.read(() => (this.s.keyVersions.all(region, keyId) as Row[]).map(toKeyVersion));
  }

  getAlias(region: string, aliasName: string): Promise<AliasRecord | undefined> {
    return this.read(() => {
      const row = this.s.getAlias.get(region, aliasName) as Row | undefined;
      return row && toAlias(row);
    });
  }

  listAliases(region: string, keyId: string | undefined, limit: number, marker?: string): Promise<Page<AliasRecord>> {
    return this.read(() => {
      checkLimit(limit, 'listAliases');
      const scope = keyId === undefined ? region : `${region}\u0000${keyId}`;
      const after = marker === undefined ? '' : decodeMarker(marker, 'aliases', scope);
      const rows =
        keyId === undefined
          ? (this.s.listAliases.all(region, after, limit + 1) as Row[])
          : (this.s.listAliasesOfKey.all(region, keyId, after, limit + 1) as Row[]);
      return page(rows.map(toAlias), limit, 'aliases', scope, (r) => r.aliasName);
    });
  }

  getGrant(region: string, grantId: string): Promise<GrantRecord | undefined> {
    return this.read(() => {
      const row = this.s.getGrant.get(region, grantId) as Row | undefined;
      return row && toGrant(row);
    });
  }

  listGrants(region: string, keyId: string, limit: number, marker?: string): Promise<Page<GrantRecord>> {
    return this.read(() => {
      checkLimit(limit, 'listGrants');
      const scope = `${region}\u0000${keyId}`;
      const after = marker === undefined ? '' : decodeMarker(marker, 'grants', scope);
      const rows = (this.s.listGrants.all(region, keyId, after, limit + 1) as Row[]).map(toGrant);
      return page(rows, limit, 'grants', scope, (r) => r.grantId);
    });
  }

  allGrants(region: string): Promise<GrantRecord[]> {
    return this.read(() => (this.s.allGrants.all(region) as Row[]).map(toGrant));
  }

  tags(region: string, keyId: string): Promise<TagRecord[]> {
    return this.read(() => (this.s.tags.all(region, keyId) as Row[]).map(toTag));
  }

  getImportToken(region: string, importToken: string): Promise<ImportTokenRecord | undefined> {
    return this.read(() => {
      const row = this.s.getImportToken.get(region, importToken) as Row | undefined;
      return row && toImportToken(row);
    });
  }

  readAudit(fromSeq: number, limit: number): Promise<AuditRecord[]> {
    return this.read(() => {
      if (!Number.isSafeInteger(fromSeq)) throw new RangeError(`readAudit fromSeq must be an integer, got ${String(fromSeq)}`);
      checkLimit(limit, 'readAudit');
      return (this.s.readAudit.all(fromSeq, limit) as Row[]).map(toAudit);
    });
  }

  auditHead(): Promise<AuditRecord | undefined> {
    return this.read(() => {
      const row = this.s.lastAudit.get() as Row | undefined;
      return row && toAudit(row);
    });
  }

  auditHeadProof(): Promise<AuditHeadProof | null> {
    return this.read(() => {
      const row = this.s.getHead.get() as { seq: number; hash: Buffer; head_mac: Buffer } | undefined;
      return row ? { seq: row.seq, hash: bytes(row.hash), headMac: bytes(row.head_mac) } : null;
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.group.drain();
    this.db.close();
  }
}

/**
 * Opens (creating if needed) and migrates the SQLite store at `path`: WAL, synchronous=FULL (a commit is
 * on disk when it returns), foreign keys on, a busy timeout for other processes' locks.
 * @throws StoreSchemaError when the file was written by a newer schema
 */
export async function openSqliteStore(path: string, opts: SqliteStoreOptions = {}): Promise<SqliteStore> {
  const busyTimeoutMs = opts.busyTimeoutMs ?? 5000;
  const maxBatchUnits = opts.maxBatchUnits ?? 1000;
  if (typeof path !== 'string' || path === '') throw new TypeError('openSqliteStore needs a file path');
  if (!Number.isSafeInteger(busyTimeoutMs) || busyTimeoutMs < 0) throw new RangeError(`busyTimeoutMs must be a non-negative integer, got ${busyTimeoutMs}`);
  if (!Number.isSafeInteger(maxBatchUnits) || maxBatchUnits < 1) throw new RangeError(`maxBatchUnits must be a positive integer, got ${maxBatchUnits}`);

  const db = new Database(path, { timeout: busyTimeoutMs });
  try {
    const mode = db.pragma('journal_mode = WAL', { simple: true });
    if (mode !== 'wal' && path !== ':memory:') throw new Error(`SQLite refused WAL mode for ${path} (journal_mode is ${String(mode)})`);
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    const version = migrate(db);
    if (version !== LATEST_SCHEMA_VERSION) throw new Error(`migrated to schema ${version}, expected ${LATEST_SCHEMA_VERSION}`);
    return new SqliteStore(db, version, maxBatchUnits);
  } catch (err) {
    db.close();
    throw err;
  }
}
