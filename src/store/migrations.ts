// The SQLite schema as an ordered list of steps. `PRAGMA user_version` records the last step applied; each
// step runs in its own transaction with the version bump, so a crash leaves the file at a step boundary.
// Steps are append-only: a released step is never edited, a change is a new step.

import type { Database } from 'better-sqlite3';

export interface Migration {
  /** 1, 2, 3, … in order; the user_version after the step. */
  version: number;
  description: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'meta, domain keys, keys and what hangs off them, the audit log and its head',
    sql: `
      CREATE TABLE meta (
        name  TEXT PRIMARY KEY,
        value BLOB NOT NULL
      ) STRICT;

      CREATE TABLE domain_keys (
        region     TEXT    NOT NULL,
        domain     TEXT    NOT NULL,
        version    INTEGER NOT NULL,
        token      BLOB    NOT NULL,
        created_at REAL    NOT NULL,
        PRIMARY KEY (region, domain, version)
      ) STRICT;

      CREATE TABLE keys (
        region   TEXT NOT NULL,
        key_id   TEXT NOT NULL,
        metadata TEXT NOT NULL,
        policy   TEXT NOT NULL,
        settings TEXT NOT NULL,
        PRIMARY KEY (region, key_id)
      ) STRICT;

      -- Children cascade from keys, so destroyKey is one DELETE.
      CREATE TABLE key_versions (
        region         TEXT    NOT NULL,
        key_id         TEXT    NOT NULL,
        version        INTEGER NOT NULL,
        domain_version INTEGER NOT NULL,
        ekt            BLOB    NOT NULL,
        created_at     REAL    NOT NULL,
        rotation_type  TEXT    NOT NULL,
        PRIMARY KEY (region, key_id, version),
        FOREIGN KEY (region, key_id) REFERENCES keys (region, key_id) ON DELETE CASCADE
      ) STRICT;

      CREATE TABLE aliases (
        region     TEXT NOT NULL,
        alias_name TEXT NOT NULL,
        key_id     TEXT NOT NULL,
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL,
        PRIMARY KEY (region, alias_name),
        FOREIGN KEY (region, key_id) REFERENCES keys (region, key_id) ON DELETE CASCADE
      ) STRICT;
      CREATE INDEX aliases_by_key ON aliases (region, key_id, alias_name);

      CREATE TABLE grants (
        region   TEXT NOT NULL,
        grant_id TEXT NOT NULL,
        key_id   TEXT NOT NULL,
        document TEXT NOT NULL,
        PRIMARY KEY (region, grant_id),
        FOREIGN KEY (region, key_id) REFERENCES keys (region, key_id) ON DELETE CASCADE
      ) STRICT;
      CREATE INDEX grants_by_key ON grants (region, key_id, grant_id);

      CREATE TABLE tags (
        region    TEXT NOT NULL,
        key_id    TEXT NOT NULL,
        tag_key   TEXT NOT NULL,
        tag_value TEXT NOT NULL,
        PRIMARY KEY (region, key_id, tag_key),
        FOREIGN KEY (region, key_id) REFERENCES keys (region, key_id) ON DELETE CASCADE
      ) STRICT;

      CREATE TABLE import_tokens (
        region              TEXT NOT NULL,
        import_token        TEXT NOT NULL,
        key_id              TEXT NOT NULL,
        wrapped_private_key BLOB NOT NULL,
        params              TEXT NOT NULL,
        expires_at          REAL NOT NULL,
        PRIMARY KEY (region, import_token),
        FOREIGN KEY (region, key_id) REFERENCES keys (region, key_id) ON DELETE CASCADE
      ) STRICT;
      CREATE INDEX import_tokens_by_key ON import_tokens (region, key_id);

      CREATE TABLE audit_log (
        seq                INTEGER PRIMARY KEY,
        time               REAL    NOT NULL,
        request_id         TEXT    NOT NULL,
        principal          TEXT    NOT NULL,
        operation          TEXT    NOT NULL,
        region             TEXT    NOT NULL,
        key_id             TEXT,
        encryption_context TEXT,
        outcome            TEXT    NOT NULL,
        prev_hash          BLOB    NOT NULL,
        hash               BLOB    NOT NULL
      ) STRICT;

      -- One row: the last seq and hash, MACed, rewritten in every transaction that appends.
      CREATE TABLE audit_head (
        id       INTEGER PRIMARY KEY CHECK (id = 1),
        seq      INTEGER NOT NULL,
        hash     BLOB    NOT NULL,
        head_mac BLOB    NOT NULL
      ) STRICT;
    `,
  },
];

/** The schema version this code writes. */
export const LATEST_SCHEMA_VERSION = MIGRATIONS.length === 0 ? 0 : MIGRATIONS[MIGRATIONS.length - 1]!.version;

/** The database was written by newer code, or its schema version is not one this code knows. */
export class StoreSchemaError extends Error {
  override name = 'StoreSchemaError';
  constructor(
    message: string,
    readonly found: number,
    readonly supported: number,
  ) {
    super(message);
  }
}

/** The refusal of a database whose schema is newer than the last migration this code knows. */
export function schemaTooNew(current: number, latest: number): StoreSchemaError {
  return new StoreSchemaError(`the database schema is version ${current}, newer than this code supports (${latest}); upgrade keyward`, current, latest);
}

/** The version the steps migrate to, once each is checked to be numbered 1, 2, … in order. */
export function latestVersion(steps: readonly Migration[]): number {
  steps.forEach((m, i) => {
    if (m.version !== i + 1) throw new Error(`migration ${i} has version ${m.version}, expected ${i + 1}`);
  });
  return steps.length;
}

function userVersion(db: Database): number {
  return db.pragma('user_version', { simple: true }) as number;
}

/**
 * Brings the database to `steps`' last version, one transaction per step, and returns that version.
 * BEGIN IMMEDIATE takes the write lock before reading user_version, so two processes opening one new
 * file do not both run a step.
 * @throws StoreSchemaError when the file's version is newer than the last step
 */
export function migrate(db: Database, steps: readonly Migration[] = MIGRATIONS): number {
  const latest = latestVersion(steps);
  for (;;) {
    db.exec('BEGIN IMMEDIATE');
    try {
      const current = userVersion(db);
      if (current > latest) throw schemaTooNew(current, latest);
      if (current === latest) {
        db.exec('COMMIT');
        return current;
      }
      const step = steps[current]!;
      db.exec(step.sql);
      db.pragma(`user_version = ${step.version}`);
      db.exec('COMMIT');
    } catch (err) {
      if (db.inTransaction) db.exec('ROLLBACK');
      throw err;
    }
  }
}
