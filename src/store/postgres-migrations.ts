// The PostgreSQL schema as an ordered list of steps, the counterpart of migrations.ts. The table
// keyward_schema holds the last step applied; each step runs in its own transaction with its version row,
// under a transaction-scoped advisory lock, so two nodes starting on one new database do not both run it.
// Steps are append-only: a released step is never edited, a change is a new step.
// Text columns are COLLATE "C": listings page by `key > marker ORDER BY key`, which needs byte order, the
// order SQLite uses, whatever the database's default collation.

import type { ClientBase } from 'pg';
import { latestVersion, schemaTooNew, type Migration } from './migrations.js';

export const PG_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'meta, domain keys, keys and what hangs off them, the audit log and its head',
    sql: `
      CREATE TABLE meta (
        name  TEXT COLLATE "C" PRIMARY KEY,
        value BYTEA NOT NULL
      );

      CREATE TABLE domain_keys (
        region     TEXT COLLATE "C" NOT NULL,
        domain     TEXT COLLATE "C" NOT NULL,
        version    INTEGER NOT NULL,
        token      BYTEA   NOT NULL,
        created_at DOUBLE PRECISION NOT NULL,
        PRIMARY KEY (region, domain, version)
      );

      CREATE TABLE keys (
        region   TEXT COLLATE "C" NOT NULL,
        key_id   TEXT COLLATE "C" NOT NULL,
        metadata TEXT NOT NULL,
        policy   TEXT NOT NULL,
        settings TEXT NOT NULL,
        -- Bumped by every change of the key, its versions or its grants (putKey and the triggers below):
        -- a node validates its cached copy of the key by this one number.
        rev      BIGINT NOT NULL DEFAULT 0,
        PRIMARY KEY (region, key_id)
      );

      -- Children cascade from keys, so destroyKey is one DELETE.
      CREATE TABLE key_versions (
        region         TEXT COLLATE "C" NOT NULL,
        key_id         TEXT COLLATE "C" NOT NULL,
        version        INTEGER NOT NULL,
        domain_version INTEGER NOT NULL,
        ekt            BYTEA   NOT NULL,
        created_at     DOUBLE PRECISION NOT NULL,
        rotation_type  TEXT NOT NULL,
        PRIMARY KEY (region, key_id, version),
        FOREIGN KEY (region, key_id) REFERENCES keys (region, key_id) ON DELETE CASCADE
      );

      CREATE TABLE aliases (
        region     TEXT COLLATE "C" NOT NULL,
        alias_name TEXT COLLATE "C" NOT NULL,
        key_id     TEXT COLLATE "C" NOT NULL,
        created_at DOUBLE PRECISION NOT NULL,
        updated_at DOUBLE PRECISION NOT NULL,
        PRIMARY KEY (region, alias_name),
        FOREIGN KEY (region, key_id) REFERENCES keys (region, key_id) ON DELETE CASCADE
      );
      CREATE INDEX aliases_by_key ON aliases (region, key_id, alias_name);

      CREATE TABLE grants (
        region   TEXT COLLATE "C" NOT NULL,
        grant_id TEXT COLLATE "C" NOT NULL,
        key_id   TEXT COLLATE "C" NOT NULL,
        document TEXT NOT NULL,
        PRIMARY KEY (region, grant_id),
        FOREIGN KEY (region, key_id) REFERENCES keys (region, key_id) ON DELETE CASCADE
      );
      CREATE INDEX grants_by_key ON grants (region, key_id, grant_id);

      CREATE FUNCTION bump_key_rev() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP <> 'INSERT' THEN UPDATE keys SET rev = rev + 1 WHERE region = OLD.region AND key_id = OLD.key_id; END IF;
        IF TG_OP <> 'DELETE' THEN UPDATE keys SET rev = rev + 1 WHERE region = NEW.region AND key_id = NEW.key_id; END IF;
        RETURN NULL;
      END $$;
      CREATE TRIGGER key_versions_rev AFTER INSERT OR UPDATE OR DELETE ON key_versions FOR EACH ROW EXECUTE FUNCTION bump_key_rev();
      CREATE TRIGGER grants_rev AFTER INSERT OR UPDATE OR DELETE ON grants FOR EACH ROW EXECUTE FUNCTION bump_key_rev();

      CREATE TABLE tags (
        region    TEXT COLLATE "C" NOT NULL,
        key_id    TEXT COLLATE "C" NOT NULL,
        tag_key   TEXT COLLATE "C" NOT NULL,
        tag_value TEXT NOT NULL,
        PRIMARY KEY (region, key_id, tag_key),
        FOREIGN KEY (region, key_id) REFERENCES keys (region, key_id) ON DELETE CASCADE
      );

      CREATE TABLE import_tokens (
        region              TEXT COLLATE "C" NOT NULL,
        import_token        TEXT COLLATE "C" NOT NULL,
        key_id              TEXT COLLATE "C" NOT NULL,
        wrapped_private_key BYTEA NOT NULL,
        params              TEXT NOT NULL,
        expires_at          DOUBLE PRECISION NOT NULL,
        PRIMARY KEY (region, import_token),
        FOREIGN KEY (region, key_id) REFERENCES keys (region, key_id) ON DELETE CASCADE
      );
      CREATE INDEX import_tokens_by_key ON import_tokens (region, key_id);

      CREATE TABLE audit_log (
        seq                BIGINT PRIMARY KEY,
        time               DOUBLE PRECISION NOT NULL,
        request_id         TEXT NOT NULL,
        principal          TEXT NOT NULL,
        operation          TEXT NOT NULL,
        region             TEXT NOT NULL,
        key_id             TEXT,
        encryption_context TEXT,
        outcome            TEXT NOT NULL,
        prev_hash          BYTEA NOT NULL,
        hash               BYTEA NOT NULL
      );

      -- One row: the last seq and hash, MACed, rewritten in every transaction that appends.
      CREATE TABLE audit_head (
        id       INTEGER PRIMARY KEY CHECK (id = 1),
        seq      BIGINT NOT NULL,
        hash     BYTEA  NOT NULL,
        head_mac BYTEA  NOT NULL
      );
    `,
  },
];

export const PG_LATEST_SCHEMA_VERSION = PG_MIGRATIONS.length;

/** Advisory lock keys (pg_advisory_xact_lock): one for migrations, one for every write batch. */
export const MIGRATION_LOCK = 0x6b77_0001;
export const WRITE_LOCK = 0x6b77_0002;

/**
 * Brings the database (the client's search_path schema) to `steps`' last version, one transaction per
 * step, and returns that version.
 * @throws StoreSchemaError when the database's version is newer than the last step
 */
export async function migratePostgres(client: ClientBase, steps: readonly Migration[] = PG_MIGRATIONS): Promise<number> {
  const latest = latestVersion(steps);
  for (;;) {
    await client.query('BEGIN');
    try {
      await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
      await client.query('CREATE TABLE IF NOT EXISTS keyward_schema (version INTEGER NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())');
      const { rows } = await client.query<{ v: number | null }>('SELECT max(version) AS v FROM keyward_schema');
      const current = rows[0]?.v ?? 0;
      if (current > latest) throw schemaTooNew(current, latest);
      if (current === latest) {
        await client.query('COMMIT');
        return current;
      }
      const step = steps[current]!;
      await client.query(step.sql);
      await client.query('INSERT INTO keyward_schema (version) VALUES ($1)', [step.version]);
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    }
  }
}
