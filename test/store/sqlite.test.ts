import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyAuditChain } from '../../src/store/audit-chain.js';
import { LATEST_SCHEMA_VERSION, migrate, StoreSchemaError } from '../../src/store/migrations.js';
import { openSqliteStore, type SqliteStore } from '../../src/store/sqlite.js';
import { compileStore } from './compile-store.mjs';
import { allAudit, audit, mac, MAC_KEY, R, storeConformance, verify } from './store-conformance.js';

let dir: string;
let fileNo = 0;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'keyward-store-test-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const newPath = (): string => join(dir, `store-${++fileNo}.db`);

async function open(path = newPath(), opts = {}): Promise<SqliteStore> {
  const store = await openSqliteStore(path, opts);
  store.setAuditMac(mac);
  return store;
}

storeConformance('SqliteStore', { location: newPath, open: (path, opts) => openSqliteStore(path, opts) });

describe('SqliteStore: opening', () => {
  it('refuses an empty path', async () => {
    await expect(openSqliteStore('')).rejects.toThrow(TypeError);
  });

  it('a reader on another connection sees a commit once it resolved', async () => {
    const path = newPath();
    const store = await open(path);
    const reader = new Database(path, { readonly: true });
    const rec = await store.commit([], audit('r1'));
    expect(reader.prepare('SELECT request_id FROM audit_log WHERE seq = ?').get(rec.seq)).toEqual({ request_id: 'r1' });
    reader.close();
    await store.close();
  });
});

describe('SqliteStore: migrations', () => {
  it('creates the schema in an empty file and reopens it unchanged', async () => {
    const path = newPath();
    const store = await openSqliteStore(path);
    expect(store.schemaVersion).toBe(LATEST_SCHEMA_VERSION);
    await store.close();
    const db = new Database(path);
    expect(db.pragma('user_version', { simple: true })).toBe(LATEST_SCHEMA_VERSION);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    const tables = (db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name").all() as Array<{ name: string }>).map((r) => r.name);
    expect(tables).toEqual(['aliases', 'audit_head', 'audit_log', 'domain_keys', 'grants', 'import_tokens', 'key_versions', 'keys', 'meta', 'tags']);
    db.close();
    const again = await openSqliteStore(path);
    expect(again.schemaVersion).toBe(LATEST_SCHEMA_VERSION);
    await again.close();
  });

  it('refuses a file written by a newer schema, and leaves it untouched', async () => {
    const path = newPath();
    const db = new Database(path);
    db.pragma(`user_version = ${LATEST_SCHEMA_VERSION + 1}`);
    db.close();
    const err = await openSqliteStore(path).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreSchemaError);
    expect(err).toMatchObject({ found: LATEST_SCHEMA_VERSION + 1, supported: LATEST_SCHEMA_VERSION });
    expect((err as Error).message).toMatch(/newer than this code supports/);
    const after = new Database(path);
    expect(after.pragma('user_version', { simple: true })).toBe(LATEST_SCHEMA_VERSION + 1);
    expect(after.prepare("SELECT count(*) AS n FROM sqlite_schema WHERE type = 'table'").get()).toEqual({ n: 0 });
    after.close();
  });

  it('applies steps in order, each with its version bump in one transaction', () => {
    const db = new Database(newPath());
    const steps = [
      { version: 1, description: 'a', sql: 'CREATE TABLE a (x INTEGER)' },
      { version: 2, description: 'b', sql: 'CREATE TABLE b (x INTEGER); INSERT INTO a VALUES (1)' },
      { version: 3, description: 'broken', sql: 'CREATE TABLE c (x INTEGER); INSERT INTO nowhere VALUES (1)' },
    ];
    expect(() => migrate(db, steps)).toThrow(/no such table: nowhere/);
    // Steps 1 and 2 stay applied; step 3 left nothing behind.
    expect(db.pragma('user_version', { simple: true })).toBe(2);
    expect(db.prepare("SELECT name FROM sqlite_schema WHERE name = 'c'").get()).toBeUndefined();
    expect(migrate(db, steps.slice(0, 2))).toBe(2);
    expect(db.prepare('SELECT count(*) AS n FROM a').get()).toEqual({ n: 1 });
    expect(() => migrate(db, [steps[1]!])).toThrow(/migration 0 has version 2, expected 1/);
    db.close();
  });
});

describe('SqliteStore: audit tampering by raw SQL', () => {
  async function build(n: number): Promise<string> {
    const path = newPath();
    const store = await open(path);
    for (let i = 1; i <= n; i++) {
      await store.commit([], audit(`r${i}`, { operation: 'Encrypt', keyId: `k${i}`, encryptionContext: { i: String(i) } }));
    }
    await store.close();
    return path;
  }

  async function verifyFile(path: string) {
    const store = await open(path);
    try {
      return await verify(store);
    } finally {
      await store.close();
    }
  }

  function sql(path: string, statements: string): void {
    const db = new Database(path);
    db.exec(statements);
    db.close();
  }

  it('an intact log verifies, with its head', async () => {
    const path = await build(10);
    expect(await verifyFile(path)).toEqual({ ok: true, count: 10, headSeq: 10 });
    const store = await open(path);
    expect(await store.auditHeadProof()).toMatchObject({ seq: 10 });
    expect((await store.auditHead())!.requestId).toBe('r10');
    expect((await store.readAudit(4, 3)).map((r) => r.seq)).toEqual([4, 5, 6]);
    await store.close();
  });

  it('an edited field fails at its seq', async () => {
    for (const set of ["principal = 'mallory'", "outcome = 'AccessDeniedException'", "encryption_context = '{\"i\":\"x\"}'", 'time = time + 1', 'key_id = NULL']) {
      const path = await build(10);
      sql(path, `UPDATE audit_log SET ${set} WHERE seq = 6`);
      expect(await verifyFile(path), set).toMatchObject({ ok: false, seq: 6 });
    }
  });

  it('a deleted middle row fails at its seq', async () => {
    const path = await build(10);
    sql(path, 'DELETE FROM audit_log WHERE seq = 5');
    expect(await verifyFile(path)).toMatchObject({ ok: false, seq: 5, reason: expect.stringMatching(/missing/) });
  });

  it('two swapped rows fail at the first of them', async () => {
    const path = await build(10);
    // Exchange the seq numbers of rows 3 and 7 through a free number.
    sql(path, 'UPDATE audit_log SET seq = -1 WHERE seq = 3; UPDATE audit_log SET seq = 3 WHERE seq = 7; UPDATE audit_log SET seq = 7 WHERE seq = -1');
    expect(await verifyFile(path)).toMatchObject({ ok: false, seq: 3, reason: expect.stringMatching(/prevHash/) });
  });

  it('a deleted tail fails at the first missing seq, through the head', async () => {
    const path = await build(10);
    sql(path, 'DELETE FROM audit_log WHERE seq > 7');
    expect(await verifyFile(path)).toMatchObject({ ok: false, seq: 8, reason: expect.stringMatching(/truncated/) });
    sql(path, 'DELETE FROM audit_head');
    expect(await verifyFile(path)).toMatchObject({ ok: false, reason: expect.stringMatching(/no head proof/) });
  });

  it('a rewound head fails', async () => {
    const path = await build(10);
    sql(path, 'UPDATE audit_head SET seq = 9');
    expect(await verifyFile(path)).toMatchObject({ ok: false, seq: 9, reason: expect.stringMatching(/MAC is invalid/) });
  });
});

describe('SqliteStore: crash durability', () => {
  it('keeps every acknowledged unit, whole, when the writer is SIGKILLed at random moments', async () => {
    const moduleUrl: string = compileStore();
    const child = new URL('./crash-child.mjs', import.meta.url).pathname;
    const path = newPath();
    const acked = new Map<number, string>();
    const naked: string[] = [];

    // At least 4 rounds; more while the whole test stays near 10 s (the machine may be slow or busy).
    const start = Date.now();
    for (let round = 0; round < 4 || (round < 10 && Date.now() - start < 8_000); round++) {
      const proc = spawn(process.execPath, [child, moduleUrl, path, String(round), MAC_KEY], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let errOut = '';
      proc.stderr.on('data', (d: Buffer) => (errOut += d));
      const exited = new Promise<NodeJS.Signals | null>((resolve) => proc.on('exit', (_code, signal) => resolve(signal)));
      await new Promise<void>((resolve, reject) => {
        proc.stdout.on('data', (d: Buffer) => {
          out += d;
          if (out.startsWith('ready\n')) resolve();
        });
        proc.on('exit', (code) => reject(new Error(`child exited (${code}) before ready: ${errOut}`)));
      });
      await new Promise((r) => setTimeout(r, 150 + Math.random() * 900));
      proc.kill('SIGKILL');
      expect(await exited).toBe('SIGKILL');

      // Only whole lines count: a line is written after its unit was acknowledged.
      const lines = out.split('\n').slice(1, -1);
      const roundAcks: string[] = [];
      for (const l of lines) {
        const [what, a, b] = l.split(' ');
        if (what === 'ack') {
          acked.set(Number(a), b!);
          roundAcks.push(b!);
        } else if (what === 'nak') naked.push(a!);
        else throw new Error(`child reported: ${l}`);
      }
      expect(roundAcks.length, `round ${round} acknowledged nothing`).toBeGreaterThan(0);

      const store = await open(path);
      const records = await allAudit(store);
      const bySeq = new Map(records.map((r) => [r.seq, r]));
      // Collected rather than asserted one by one: thousands of expect() calls would dominate the run.
      const problems: string[] = [];
      for (const [seq, id] of acked) if (bySeq.get(seq)?.requestId !== id) problems.push(`acknowledged seq ${seq} (${id}) lost`);
      for (const id of roundAcks) {
        const version = (await store.keyVersions(R, id))[0];
        if (!(await store.getKey(R, id))) problems.push(`key ${id} lost`);
        if (!version || !Buffer.from(version.ekt).equals(createHash('sha256').update(id).digest())) problems.push(`version of ${id} lost`);
        if ((await store.getAlias(R, `alias/${id}`))?.keyId !== id) problems.push(`alias of ${id} lost`);
        if ((await store.tags(R, id)).length !== 1) problems.push(`tag of ${id} lost`);
      }
      for (const id of naked) if (await store.getKey(R, id)) problems.push(`refused unit ${id} has a key`);
      // Units committed but killed before their ack line are whole too: each key has all its rows.
      for (const r of records.filter((x) => x.operation === 'CreateKey' && x.encryptionContext?.round === String(round))) {
        const id = r.requestId;
        if ((await store.keyVersions(R, id)).length !== 1 || !(await store.getAlias(R, `alias/${id}`))) problems.push(`unit ${id} is partial`);
      }
      expect(problems.slice(0, 10), `round ${round}`).toEqual([]);
      expect(verifyAuditChain(records, mac, await store.auditHeadProof())).toMatchObject({ ok: true });
      await store.close();
    }
    expect(naked.length).toBeGreaterThan(0);
  }, 60_000);
});
