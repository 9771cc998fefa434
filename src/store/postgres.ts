// The shared store: PostgreSQL through `pg`, for several engine nodes on one database.
//
// Group commit (group-commit.ts): each flush writes the waiting units in one transaction on a dedicated
// connection, each unit in its own SAVEPOINT so a unit that fails is undone alone. Promises settle only
// after COMMIT returned with synchronous_commit = on, i.e. once the WAL is flushed.
//
// Several nodes: every write batch first takes one transaction-scoped advisory lock (WRITE_LOCK), so batches
// of all nodes are serialized. Under READ COMMITTED each later statement sees everything committed before
// the lock was granted, so the batch reads the true audit head and appends to it: one chain, no fork. The
// same lock makes every read-check-write of a batch race-free. Domain key versions are insert-only on their
// primary key (a second insert is a StoreConflictError, never a replacement).

import pg from 'pg';
import type { Pool, PoolClient, PoolConfig } from 'pg';
import { chainNext, makeAuditHeadProof } from './audit-chain.js';
import { GroupCommitStore, type CommitUnit, type UnitOutcome } from './group-commit.js';
import { constraintError, writeOf } from './mutation-sql.js';
import { checkLimit, decodeMarker, page } from './paging.js';
import { migratePostgres, PG_LATEST_SCHEMA_VERSION, WRITE_LOCK } from './postgres-migrations.js';
import { connectTimeoutOf, DEFAULT_CONNECT_TIMEOUT_MS } from './postgres-url.js';
import {
  StoreConnectTimeoutError,
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

export interface PostgresStoreOptions {
  /** The schema the tables live in (created if missing); default `keyward`. */
  schema?: string;
  /** The most commit units one transaction takes. Default 1000. */
  maxBatchUnits?: number;
  /**
   * How long opening waits for the server to answer its first connection, in ms; 0 waits as long as the
   * system lets it. Default: the config's connectionTimeoutMillis, else the URL's `connect_timeout`
   * (seconds, as libpq reads it), else 10,000. Only the first connection: the pool's own wait as its
   * config says, since under load a request queued for a connection must not give up.
   */
  connectTimeoutMs?: number;
}

/** SQLSTATE of a server error (23505 unique_violation, 23503 foreign_key_violation). */
function sqlState(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** A Buffer over a Uint8Array's bytes (pg sends Buffers as bytea). */
function buf(u: Uint8Array): Buffer {
  return Buffer.from(u.buffer, u.byteOffset, u.byteLength);
}

const SCHEMA_RE = /^[a-z_][a-z0-9_]{0,62}$/;

const SQL = {
  putMeta: 'INSERT INTO meta (name, value) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET value = excluded.value',
  getMeta: 'SELECT value FROM meta WHERE name = $1',
  // Never an upsert: replacing a domain key version would orphan every token wrapped under the old one.
  putDomainKey: 'INSERT INTO domain_keys (region, domain, version, token, created_at) VALUES ($1, $2, $3, $4, $5)',
  domainKeys: 'SELECT * FROM domain_keys WHERE region = $1 AND domain = $2 ORDER BY version',
  putKey: `INSERT INTO keys (region, key_id, metadata, policy, settings) VALUES ($1, $2, $3, $4, $5)
    ON CONFLICT (region, key_id) DO UPDATE SET metadata = excluded.metadata, policy = excluded.policy, settings = excluded.settings,
    rev = keys.rev + 1`,
  keyRevision: 'SELECT rev FROM keys WHERE region = $1 AND key_id = $2',
  destroyKey: 'DELETE FROM keys WHERE region = $1 AND key_id = $2',
  getKey: 'SELECT * FROM keys WHERE region = $1 AND key_id = $2',
  listKeys: 'SELECT * FROM keys WHERE region = $1 AND key_id > $2 ORDER BY key_id LIMIT $3',
  allKeys: 'SELECT * FROM keys ORDER BY region, key_id',
  putKeyVersion: `INSERT INTO key_versions (region, key_id, version, domain_version, ekt, created_at, rotation_type)
    VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (region, key_id, version) DO UPDATE SET
    domain_version = excluded.domain_version, ekt = excluded.ekt, created_at = excluded.created_at, rotation_type = excluded.rotation_type`,
  deleteKeyVersions: 'DELETE FROM key_versions WHERE region = $1 AND key_id = $2',
  keyVersions: 'SELECT * FROM key_versions WHERE region = $1 AND key_id = $2 ORDER BY version',
  insertAlias: 'INSERT INTO aliases (region, alias_name, key_id, created_at, updated_at) VALUES ($1, $2, $3, $4, $5)',
  putAlias: `INSERT INTO aliases (region, alias_name, key_id, created_at, updated_at) VALUES ($1, $2, $3, $4, $5)
    ON CONFLICT (region, alias_name) DO UPDATE SET key_id = excluded.key_id, created_at = excluded.created_at, updated_at = excluded.updated_at`,
  deleteAlias: 'DELETE FROM aliases WHERE region = $1 AND alias_name = $2',
  getAlias: 'SELECT * FROM aliases WHERE region = $1 AND alias_name = $2',
  listAliases: 'SELECT * FROM aliases WHERE region = $1 AND alias_name > $2 ORDER BY alias_name LIMIT $3',
  listAliasesOfKey: 'SELECT * FROM aliases WHERE region = $1 AND key_id = $2 AND alias_name > $3 ORDER BY alias_name LIMIT $4',
  putGrant: `INSERT INTO grants (region, grant_id, key_id, document) VALUES ($1, $2, $3, $4)
    ON CONFLICT (region, grant_id) DO UPDATE SET key_id = excluded.key_id, document = excluded.document`,
  deleteGrant: 'DELETE FROM grants WHERE region = $1 AND grant_id = $2',
  getGrant: 'SELECT * FROM grants WHERE region = $1 AND grant_id = $2',
  listGrants: 'SELECT * FROM grants WHERE region = $1 AND key_id = $2 AND grant_id > $3 ORDER BY grant_id LIMIT $4',
  allGrants: 'SELECT * FROM grants WHERE region = $1 ORDER BY grant_id',
  putTag: `INSERT INTO tags (region, key_id, tag_key, tag_value) VALUES ($1, $2, $3, $4)
    ON CONFLICT (region, key_id, tag_key) DO UPDATE SET tag_value = excluded.tag_value`,
  deleteTag: 'DELETE FROM tags WHERE region = $1 AND key_id = $2 AND tag_key = $3',
  tags: 'SELECT * FROM tags WHERE region = $1 AND key_id = $2 ORDER BY tag_key',
  putImportToken: `INSERT INTO import_tokens (region, import_token, key_id, wrapped_private_key, params, expires_at)
    VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (region, import_token) DO UPDATE SET key_id = excluded.key_id,
    wrapped_private_key = excluded.wrapped_private_key, params = excluded.params, expires_at = excluded.expires_at`,
  deleteImportToken: 'DELETE FROM import_tokens WHERE region = $1 AND import_token = $2',
  getImportToken: 'SELECT * FROM import_tokens WHERE region = $1 AND import_token = $2',
  insertAudit: `INSERT INTO audit_log (seq, time, request_id, principal, operation, region, key_id,
    encryption_context, outcome, prev_hash, hash) SELECT * FROM unnest($1::bigint[], $2::float8[], $3::text[],
    $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::bytea[], $11::bytea[])`,
  lastAudit: 'SELECT * FROM audit_log ORDER BY seq DESC LIMIT 1',
  lastAuditLink: 'SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1',
  readAudit: 'SELECT * FROM audit_log WHERE seq >= $1 ORDER BY seq LIMIT $2',
  putHead: `INSERT INTO audit_head (id, seq, hash, head_mac) VALUES (1, $1, $2, $3)
    ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash, head_mac = excluded.head_mac`,
  getHead: 'SELECT seq, hash, head_mac FROM audit_head WHERE id = 1',
} as const;

export class PostgresStore extends GroupCommitStore implements Store {
  readonly schemaVersion: number;

  /** Use openPostgresStore(): it connects and migrates the database first. */
  constructor(
    private readonly pool: Pool,
    /** Connections that hold key locks, apart from `pool` so lock holders waiting to commit never starve the flush. */
    private readonly lockPool: Pool,
    schemaVersion: number,
    maxBatchUnits: number,
  ) {
    super(maxBatchUnits);
    this.schemaVersion = schemaVersion;
  }

  protected override async flush(units: readonly CommitUnit[]): Promise<UnitOutcome[]> {
    const mac = this.mac!;
    const outcomes: UnitOutcome[] = [];
    const committed: AuditRecord[] = [];
    let client: PoolClient | undefined;
    try {
      client = await this.pool.connect();
      await client.query('BEGIN');
      await client.query('SELECT pg_advisory_xact_lock($1)', [WRITE_LOCK]);
      // Read under the lock: another node may have appended since our last batch.
      const last = (await client.query(SQL.lastAuditLink)).rows[0] as { seq: string; hash: Buffer } | undefined;
      let head: { seq: number; hash: Uint8Array } | undefined = last && { seq: Number(last.seq), hash: bytes(last.hash) };
      for (const unit of units) {
        // An audit-only unit runs no SQL here (its record is inserted with the others below), so only a
        // unit with mutations needs a savepoint to be undone alone.
        const savepoint = unit.mutations.length > 0;
        if (savepoint) await client.query('SAVEPOINT unit');
        try {
          for (const m of unit.mutations) await this.apply(client, m);
          const record = chainNext(mac, head, unit.audit);
          if (savepoint) await client.query('RELEASE unit');
          outcomes.push({ record });
          committed.push(record);
          head = record;
        } catch (err) {
          if (savepoint) {
            await client.query('ROLLBACK TO unit');
            await client.query('RELEASE unit');
          }
          outcomes.push({ error: err });
        }
      }
      if (committed.length > 0) {
        // One statement for the batch's audit records: a round trip per record would bound the batch rate.
        await this.insertAudit(client, committed);
        const proof = makeAuditHeadProof(mac, head!);
        await client.query(SQL.putHead, [proof.seq, buf(proof.hash), buf(proof.headMac)]);
      }
      await client.query('COMMIT');
    } catch (err) {
      // The batch is lost as a whole (connection, server or rollback failure): every unit rejects with why.
      await client?.query('ROLLBACK').catch(() => undefined);
      client?.release(err instanceof Error ? err : true);
      throw err;
    }
    client.release();
    return outcomes;
  }

  private async insertAudit(c: PoolClient, records: AuditRecord[]): Promise<void> {
    await c.query(SQL.insertAudit, [
      records.map((r) => r.seq),
      records.map((r) => r.time + 0),
      records.map((r) => r.requestId),
      records.map((r) => r.principal),
      records.map((r) => r.operation),
      records.map((r) => r.region),
      records.map((r) => r.keyId),
      records.map((r) => (r.encryptionContext === null ? null : JSON.stringify(r.encryptionContext))),
      records.map((r) => r.outcome),
      records.map((r) => buf(r.prevHash)),
      records.map((r) => buf(r.hash)),
    ]);
  }

  private async apply(c: PoolClient, m: Mutation): Promise<void> {
    if (m.kind === 'putMeta' && !(m.value instanceof Uint8Array)) throw new TypeError('putMeta value must be a Uint8Array');
    const { statement, args } = writeOf(m, buf);
    try {
      await c.query(SQL[statement], args);
    } catch (err) {
      const state = sqlState(err);
      const violation = state === '23503' ? 'reference' : state === '23505' ? 'unique' : undefined;
      throw (violation && constraintError(m, violation, err)) ?? err;
    }
  }

  /** Runs a read query; after close() it fails with StoreStateError rather than pg's pool error. */
  private async rows(sql: string, params: unknown[]): Promise<Row[]> {
    if (this.closed) throw new StoreStateError('the store is closed');
    return (await this.pool.query(sql, params)).rows as Row[];
  }

  async getMeta(name: string): Promise<Uint8Array | undefined> {
    const [row] = await this.rows(SQL.getMeta, [name]);
    return row && bytes(row.value as Buffer);
  }

  async putMetaUnaudited(name: string, value: Uint8Array): Promise<void> {
    if (this.closed) throw new StoreStateError('the store is closed');
    if (!(value instanceof Uint8Array)) throw new TypeError('putMetaUnaudited value must be a Uint8Array');
    await this.pool.query(SQL.putMeta, [name, buf(value)]);
  }

  async domainKeys(region: string, domain: string): Promise<DomainKeyRecord[]> {
    return (await this.rows(SQL.domainKeys, [region, domain])).map(toDomainKey);
  }

  async getKey(region: string, keyId: string): Promise<KeyRecord | undefined> {
    const [row] = await this.rows(SQL.getKey, [region, keyId]);
    return row && toKey(row);
  }

  /** The key's revision, bumped by every change of it, its versions or its grants; undefined when absent. */
  async keyRevision(region: string, keyId: string): Promise<number | undefined> {
    const [row] = await this.rows(SQL.keyRevision, [region, keyId]);
    return row && Number(row.rev);
  }

  async listKeys(region: string, limit: number, marker?: string): Promise<Page<KeyRecord>> {
    if (this.closed) throw new StoreStateError('the store is closed');
    checkLimit(limit, 'listKeys');
    const after = marker === undefined ? '' : decodeMarker(marker, 'keys', region);
    const rows = (await this.rows(SQL.listKeys, [region, after, limit + 1])).map(toKey);
    return page(rows, limit, 'keys', region, (r) => r.keyId);
  }

  async allKeys(): Promise<KeyRecord[]> {
    return (await this.rows(SQL.allKeys, [])).map(toKey);
  }

  async keyVersions(region: string, keyId: string): Promise<KeyVersionRecord[]> {
    return (await this.rows(SQL.keyVersions, [region, keyId])).map(toKeyVersion);
  }

  async getAlias(region: string, aliasName: string): Promise<AliasRecord | undefined> {
    const [row] = await this.rows(SQL.getAlias, [region, aliasName]);
    return row && toAlias(row);
  }

  async listAliases(region: string, keyId: string | undefined, limit: number, marker?: string): Promise<Page<AliasRecord>> {
    if (this.closed) throw new StoreStateError('the store is closed');
    checkLimit(limit, 'listAliases');
    const scope = keyId === undefined ? region : `${region}\u0000${keyId}`;
    const after = marker === undefined ? '' : decodeMarker(marker, 'aliases', scope);
    const rows =
      keyId === undefined
        ? await this.rows(SQL.listAliases, [region, after, limit + 1])
        : await this.rows(SQL.listAliasesOfKey, [region, keyId, after, limit + 1]);
    return page(rows.map(toAlias), limit, 'aliases', scope, (r) => r.aliasName);
  }

  async getGrant(region: string, grantId: string): Promise<GrantRecord | undefined> {
    const [row] = await this.rows(SQL.getGrant, [region, grantId]);
    return row && toGrant(row);
  }

  async listGrants(region: string, keyId: string, limit: number, marker?: string): Promise<Page<GrantRecord>> {
    if (this.closed) throw new StoreStateError('the store is closed');
    checkLimit(limit, 'listGrants');
    const scope = `${region}\u0000${keyId}`;
    const after = marker === undefined ? '' : decodeMarker(marker, 'grants', scope);
    const rows = (await this.rows(SQL.listGrants, [region, keyId, after, limit + 1])).map(toGrant);
    return page(rows, limit, 'grants', scope, (r) => r.grantId);
  }

  async allGrants(region: string): Promise<GrantRecord[]> {
    return (await this.rows(SQL.allGrants, [region])).map(toGrant);
  }

  async tags(region: string, keyId: string): Promise<TagRecord[]> {
    return (await this.rows(SQL.tags, [region, keyId])).map(toTag);
  }

  async getImportToken(region: string, importToken: string): Promise<ImportTokenRecord | undefined> {
    const [row] = await this.rows(SQL.getImportToken, [region, importToken]);
    return row && toImportToken(row);
  }

  async readAudit(fromSeq: number, limit: number): Promise<AuditRecord[]> {
    if (this.closed) throw new StoreStateError('the store is closed');
    if (!Number.isSafeInteger(fromSeq)) throw new RangeError(`readAudit fromSeq must be an integer, got ${String(fromSeq)}`);
    checkLimit(limit, 'readAudit');
    return (await this.rows(SQL.readAudit, [fromSeq, limit])).map(toAudit);
  }

  async auditHead(): Promise<AuditRecord | undefined> {
    const [row] = await this.rows(SQL.lastAudit, []);
    return row && toAudit(row);
  }

  async auditHeadProof(): Promise<AuditHeadProof | null> {
    const [row] = await this.rows(SQL.getHead, []);
    return row ? { seq: Number(row.seq), hash: bytes(row.hash as Buffer), headMac: bytes(row.head_mac as Buffer) } : null;
  }

  /**
   * A session advisory lock on the key, on a connection of its own held until release: the server drops it
   * too if this process dies. Keys whose hashes collide only serialize each other.
   */
  async lockKey(region: string, keyId: string): Promise<() => void> {
    if (this.closed) throw new StoreStateError('the store is closed');
    const name = `${region}/${keyId}`;
    const client = await this.lockPool.connect();
    try {
      await client.query('SELECT pg_advisory_lock(hashtextextended($1, 0))', [name]);
    } catch (err) {
      client.release(err instanceof Error ? err : true);
      throw err;
    }
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      client.query('SELECT pg_advisory_unlock(hashtextextended($1, 0))', [name]).then(
        () => client.release(),
        // A connection that cannot unlock is discarded: closing it drops the lock on the server.
        (err: unknown) => client.release(err instanceof Error ? err : true),
      );
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.group.drain();
    await this.pool.end();
    await this.lockPool.end();
  }
}

/**
 * Connects to PostgreSQL (a connection URL or a pg PoolConfig), creates the schema if missing and migrates
 * it. Every connection runs with synchronous_commit = on (a commit is durable when it returns) and the
 * store's schema as search_path.
 * @throws StoreSchemaError when the database was written by a newer schema
 */
export async function openPostgresStore(conn: string | PoolConfig, opts: PostgresStoreOptions = {}): Promise<PostgresStore> {
  const schema = opts.schema ?? 'keyward';
  const maxBatchUnits = opts.maxBatchUnits ?? 1000;
  if (typeof conn !== 'string' && (typeof conn !== 'object' || conn === null)) throw new TypeError('openPostgresStore needs a connection URL or a pg PoolConfig');
  if (typeof conn === 'string' && conn === '') throw new TypeError('openPostgresStore needs a connection URL or a pg PoolConfig');
  const base: PoolConfig = typeof conn === 'string' ? { connectionString: conn } : { ...conn };
  const connectTimeoutMs = opts.connectTimeoutMs ?? base.connectionTimeoutMillis
    ?? (base.connectionString !== undefined ? connectTimeoutOf(base.connectionString) : DEFAULT_CONNECT_TIMEOUT_MS);
  if (typeof schema !== 'string' || !SCHEMA_RE.test(schema)) throw new RangeError(`schema must be a lower-case SQL identifier, got ${JSON.stringify(schema)}`);
  if (!Number.isSafeInteger(maxBatchUnits) || maxBatchUnits < 1) throw new RangeError(`maxBatchUnits must be a positive integer, got ${maxBatchUnits}`);
  if (!Number.isSafeInteger(connectTimeoutMs) || connectTimeoutMs < 0) throw new RangeError(`connectTimeoutMs must be a non-negative integer of ms, got ${connectTimeoutMs}`);

  const config = { ...base, options: `${base.options ?? ''} -c synchronous_commit=on -c search_path=${schema}`.trim() };
  // The schema is made and migrated on a connection of its own, bounded by connectTimeoutMs: a server
  // that is down or silent fails the open in bounded time (and a stop signal during start-up with it).
  const first = new pg.Client({ ...config, connectionTimeoutMillis: connectTimeoutMs });
  first.on('error', () => undefined);
  try {
    await first.connect().catch((err: unknown) => {
      // pg's words for its own connectionTimeoutMillis firing.
      throw err instanceof Error && err.message === 'timeout expired' ? new StoreConnectTimeoutError(connectTimeoutMs) : err;
    });
    await first.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`).catch(async (err: unknown) => {
      // Two nodes creating the schema at once: one wins, the other sees it exist.
      if (sqlState(err) !== '23505' && sqlState(err) !== '42P06') throw err;
    });
    const version = await migratePostgres(first);
    if (version !== PG_LATEST_SCHEMA_VERSION) throw new Error(`migrated to schema ${version}, expected ${PG_LATEST_SCHEMA_VERSION}`);
    const pool = new pg.Pool(config);
    const lockPool = new pg.Pool(config);
    // An idle client's error (server restart) must not crash the process; the next query reconnects.
    pool.on('error', () => undefined);
    lockPool.on('error', () => undefined);
    return new PostgresStore(pool, lockPool, version, maxBatchUnits);
  } finally {
    await first.end().catch(() => undefined);
  }
}
