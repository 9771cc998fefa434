import { createServer, type Socket } from 'node:net';
import pg from 'pg';
import { describe, expect, it, vi } from 'vitest';
import { StoreSchemaError } from '../../src/store/migrations.js';
import { openPostgresStore, type PostgresStore } from '../../src/store/postgres.js';
import { PG_LATEST_SCHEMA_VERSION } from '../../src/store/postgres-migrations.js';
import { StoreConflictError, StoreConnectTimeoutError, type Mutation } from '../../src/store/types.js';
import { postgresForFile } from './_postgres.js';
import { allAudit, audit, key, mac, R, storeConformance, verify } from './store-conformance.js';

const serverOf = postgresForFile();

let schemaNo = 0;
// Each location is a schema of the one test database: isolated, and cheap to create.
const newSchema = (): string => `store_${++schemaNo}`;

async function open(schema: string): Promise<PostgresStore> {
  const store = await openPostgresStore(serverOf().url, { schema });
  store.setAuditMac(mac);
  return store;
}

storeConformance('PostgresStore', { location: newSchema, open: (schema, opts) => openPostgresStore(serverOf().url, { schema, ...opts }) });

describe('PostgresStore: several nodes on one database', () => {
  it('keeps one valid audit chain when two nodes commit at the same time', async () => {
    const schema = newSchema();
    const a = await open(schema);
    const b = await open(schema);
    const work = (s: PostgresStore, node: string) =>
      Promise.all(
        Array.from({ length: 20 }, async (_, c) => {
          for (let i = 0; i < 10; i++) await s.commit([key(`${node}-${c}-${i}`)], audit(`${node}-${c}-${i}`));
        }),
      );
    await Promise.all([work(a, 'a'), work(b, 'b')]);
    const records = await allAudit(a);
    expect(records.map((r) => r.seq)).toEqual(Array.from({ length: 400 }, (_, i) => i + 1));
    expect(new Set(records.map((r) => r.requestId)).size).toBe(400);
    // Both nodes' batches interleave in the chain, which still verifies, head included.
    expect(a.stats.transactions).toBeGreaterThan(1);
    expect(b.stats.transactions).toBeGreaterThan(1);
    expect(await verify(b)).toEqual({ ok: true, count: 400, headSeq: 400 });
    expect(await b.allKeys()).toHaveLength(400);
    await Promise.all([a.close(), b.close()]);
  });

  it('lets exactly one node create a domain key version that both race for', async () => {
    const schema = newSchema();
    const nodes = await Promise.all([open(schema), open(schema), open(schema)]);
    const dk = (n: number): Mutation => ({ kind: 'putDomainKey', record: { region: R, domain: 'acct-1', version: 1, token: new Uint8Array([n]), createdAt: n } });
    const results = await Promise.allSettled(nodes.map((s, n) => s.commit([dk(n)], audit(`dk-${n}`))));
    const won = results.flatMap((r, n) => (r.status === 'fulfilled' ? [n] : []));
    expect(won).toHaveLength(1);
    for (const r of results) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(StoreConflictError);
    expect((await nodes[0]!.domainKeys(R, 'acct-1')).map((d) => [...d.token])).toEqual([[won[0]]]);
    expect(await verify(nodes[1]!)).toEqual({ ok: true, count: 1, headSeq: 1 });
    await Promise.all(nodes.map((s) => s.close()));
  });
});

describe('PostgresStore: key locks across nodes', () => {
  it('holds a key against another node until released, and leaves other keys free', async () => {
    const schema = newSchema();
    const [a, b] = await Promise.all([open(schema), open(schema)]);
    const release = await a.lockKey(R, 'k1');
    let bHas = false;
    const bWaits = b.lockKey(R, 'k1').then((r) => {
      bHas = true;
      return r;
    });
    // Another key is not held up by k1's lock.
    (await b.lockKey(R, 'k2'))();
    await new Promise((r) => setTimeout(r, 150));
    expect(bHas).toBe(false);
    release();
    release();
    (await bWaits)();
    expect(bHas).toBe(true);
    await Promise.all([a.close(), b.close()]);
    await expect(a.lockKey(R, 'k1')).rejects.toThrow(/the store is closed/);
  });
});

describe('PostgresStore: key revisions', () => {
  it('change with the key, its versions and its grants, and only then', async () => {
    const store = await open(newSchema());
    expect(await store.keyRevision(R, 'k1')).toBeUndefined();
    await store.commit([key('k1')], audit('r0'));
    const revs: number[] = [(await store.keyRevision(R, 'k1'))!];
    const step = async (m: Mutation) => {
      await store.commit([m], audit(`r${revs.length}`));
      revs.push((await store.keyRevision(R, 'k1'))!);
    };
    const version: Mutation = { kind: 'putKeyVersion', record: { region: R, keyId: 'k1', version: 1, domainVersion: 1, ekt: new Uint8Array(8), createdAt: 1, rotationType: 'CREATE' } };
    await step(key('k1'));
    await step(version);
    await step({ ...version, record: { ...(version as { record: object }).record, domainVersion: 2 } } as Mutation);
    await step({ kind: 'putGrant', record: { region: R, grantId: 'g1', keyId: 'k1', grant: {} } });
    await step({ kind: 'deleteGrant', region: R, grantId: 'g1' });
    await step({ kind: 'deleteKeyVersions', region: R, keyId: 'k1' });
    for (let i = 1; i < revs.length; i++) expect(revs[i], `step ${i}`).toBeGreaterThan(revs[i - 1]!);
    const last = revs[revs.length - 1];
    await step({ kind: 'putTag', record: { region: R, keyId: 'k1', tagKey: 't', tagValue: 'v' } });
    await step({ kind: 'putAlias', record: { region: R, aliasName: 'alias/a', keyId: 'k1', createdAt: 1, updatedAt: 1 }, mustNotExist: true });
    expect(revs.slice(-2)).toEqual([last, last]);
    await step({ kind: 'destroyKey', region: R, keyId: 'k1' });
    expect(revs[revs.length - 1]).toBeUndefined();
    await store.close();
  });
});

describe('PostgresStore: schema', () => {
  it('creates the schema with its version row, and two nodes opening one new schema migrate it once', async () => {
    const schema = newSchema();
    const stores = await Promise.all([openPostgresStore(serverOf().url, { schema }), openPostgresStore(serverOf().url, { schema })]);
    expect(stores.map((s) => s.schemaVersion)).toEqual([PG_LATEST_SCHEMA_VERSION, PG_LATEST_SCHEMA_VERSION]);
    await Promise.all(stores.map((s) => s.close()));
    const client = new pg.Client({ connectionString: serverOf().url });
    await client.connect();
    try {
      const versions = await client.query(`SELECT version FROM ${schema}.keyward_schema ORDER BY version`);
      expect(versions.rows).toEqual([{ version: 1 }]);
      const tables = await client.query('SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name', [schema]);
      expect(tables.rows.map((r) => r.table_name)).toEqual([
        'aliases', 'audit_head', 'audit_log', 'domain_keys', 'grants', 'import_tokens', 'key_versions', 'keys', 'keyward_schema', 'meta', 'tags',
      ]);
      // synchronous_commit is on for the store's connections whatever the database default says.
      await client.query('ALTER DATABASE keyward_test SET synchronous_commit = off');
      const store = await open(schema);
      const pool = (store as unknown as { pool: pg.Pool }).pool;
      expect((await pool.query('SHOW synchronous_commit')).rows[0]).toEqual({ synchronous_commit: 'on' });
      await store.close();
    } finally {
      await client.query('ALTER DATABASE keyward_test RESET synchronous_commit');
      await client.end();
    }
  });

  it('refuses a database written by a newer schema, and leaves it untouched', async () => {
    const schema = newSchema();
    await (await openPostgresStore(serverOf().url, { schema })).close();
    const client = new pg.Client({ connectionString: serverOf().url });
    await client.connect();
    await client.query(`INSERT INTO ${schema}.keyward_schema (version) VALUES ($1)`, [PG_LATEST_SCHEMA_VERSION + 1]);
    const err = await openPostgresStore(serverOf().url, { schema }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreSchemaError);
    expect(err).toMatchObject({ found: PG_LATEST_SCHEMA_VERSION + 1, supported: PG_LATEST_SCHEMA_VERSION });
    expect((await client.query(`SELECT max(version) AS v FROM ${schema}.keyward_schema`)).rows[0]).toEqual({ v: PG_LATEST_SCHEMA_VERSION + 1 });
    await client.end();
  });

  it('refuses bad options and an unreachable server with clear errors', async () => {
    await expect(openPostgresStore('')).rejects.toThrow(TypeError);
    await expect(openPostgresStore(serverOf().url, { schema: 'Bad; DROP' })).rejects.toThrow(/schema must be a lower-case SQL identifier/);
    await expect(openPostgresStore('postgresql://nobody@127.0.0.1:1/none')).rejects.toThrow(/ECONNREFUSED/);
    await expect(openPostgresStore(serverOf().url, { connectTimeoutMs: -1 })).rejects.toThrow('connectTimeoutMs must be a non-negative integer of ms, got -1');
    await expect(openPostgresStore(`${serverOf().url}?connect_timeout=soon`)).rejects.toThrow('connect_timeout in the PostgreSQL URL must be a whole number of seconds, got "soon"');
  });

  it('gives up on a server that accepts the connection and never answers, within the connect timeout, and closes its socket', async () => {
    // What a hung server or a black-holing proxy looks like: the TCP connection opens, no reply comes.
    const sockets = new Set<Socket>();
    let accepted = 0;
    const silent = createServer((s) => {
      accepted++;
      sockets.add(s);
      s.resume(); // reads (and drops) the startup message, so the client's FIN is seen
      s.on('close', () => sockets.delete(s));
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const url = `postgresql://nobody@127.0.0.1:${(silent.address() as { port: number }).port}/none`;
    try {
      for (const [i, [conn, opts, ms]] of ([[url, { connectTimeoutMs: 300 }, 300], [`${url}?connect_timeout=1`, {}, 1000], [{ connectionString: url, connectionTimeoutMillis: 400 }, {}, 400]] as const).entries()) {
        const t0 = performance.now();
        await expect(openPostgresStore(conn, opts)).rejects.toThrow(new StoreConnectTimeoutError(ms));
        const took = performance.now() - t0;
        expect(took).toBeGreaterThanOrEqual(ms - 20);
        expect(took).toBeLessThan(ms + 2000);
        expect(accepted).toBe(i + 1);
        await vi.waitFor(() => expect(sockets.size).toBe(0), { timeout: 2000, interval: 20 });
      }
    } finally {
      for (const s of sockets) s.destroy();
      silent.close();
    }
  });
});
