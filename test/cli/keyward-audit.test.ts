// `keyward audit verify` and `keyward audit tail` on the built CLI: an intact log passes with its count; a
// record edited, deleted or cut off in the SQLite file (better-sqlite3, table audit_log of
// src/store/migrations.ts) fails with exit 1 naming the seq.
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { keyward, ok, requireBuild, tempDirs } from './_cli.js';

describe('keyward audit', () => {
  requireBuild();
  const tmp = tempDirs();

  /** A store with a few audited calls: CreateKey, CreateAlias, GenerateDataKey, Decrypt and a refused Decrypt. */
  function store(): { dir: string; keyId: string; kw: (...args: string[]) => ReturnType<typeof keyward> } {
    const dir = join(tmp(), 'store');
    const kw = (...args: string[]) => keyward(['--dir', dir, ...args]);
    ok(kw('init'));
    const keyId = JSON.parse(ok(kw('create-key', '--alias', 'alias/a', '--json')).out).KeyMetadata.KeyId as string;
    const env = ok(keyward(['--dir', dir, 'encrypt', '--key', keyId, '--context', 'app=x'], 'secret data')).stdout;
    ok(keyward(['--dir', dir, 'decrypt', '--context', 'app=x'], env));
    expect(keyward(['--dir', dir, 'decrypt', '--context', 'app=y'], env).status).toBe(1);
    return { dir, keyId, kw };
  }

  /** Runs one statement on the store's file; it must change exactly one row (so no test passes on a no-op). */
  function edit(dir: string, sql: string): void {
    const db = new Database(join(dir, 'keyward.db'));
    try {
      expect(db.prepare(sql).run().changes).toBe(1);
    } finally {
      db.close();
    }
  }

  function count(dir: string): number {
    const db = new Database(join(dir, 'keyward.db'), { readonly: true });
    try {
      return (db.prepare('SELECT count(*) AS n FROM audit_log').get() as { n: number }).n;
    } finally {
      db.close();
    }
  }

  it('verify passes on an intact log with the record count; tail prints time, principal, operation, key, outcome', () => {
    const { dir, keyId, kw } = store();
    const n = count(dir);
    expect(n).toBeGreaterThanOrEqual(5);
    expect(ok(kw('audit', 'verify')).out).toBe(`audit log intact: ${n} records, head seq ${n}\n`);
    expect(JSON.parse(ok(kw('audit', 'verify', '--json')).out)).toEqual({ ok: true, count: n, headSeq: n });

    const lines = ok(kw('audit', 'tail', '-n', '3')).out.trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    const root = 'arn:aws:iam::000000000000:root';
    for (const l of lines) expect(l).toMatch(new RegExp(`^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z  ${root.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}  [A-Za-z]+  \\S+  \\S+$`));
    expect(lines[2]).toMatch(new RegExp(`  Decrypt  ${keyId}  InvalidCiphertextException$`));
    expect(lines[1]).toMatch(new RegExp(`  Decrypt  ${keyId}  Success$`));

    const json = ok(kw('audit', 'tail', '--json', '--lines', '50')).out.trimEnd().split('\n').map((l) => JSON.parse(l));
    expect(json).toHaveLength(n);
    expect(json.map((r) => r.seq)).toEqual(Array.from({ length: n }, (_, i) => i + 1));
    expect(json.find((r) => r.operation === 'GenerateDataKey')).toMatchObject({
      principal: root, keyId, region: 'us-east-1', encryptionContext: { app: 'x' }, outcome: 'Success',
    });
    expect(Object.keys(json[0]).sort()).toEqual(['encryptionContext', 'keyId', 'operation', 'outcome', 'principal', 'region', 'requestId', 'seq', 'time']);
  });

  it('an edited record fails verify with exit 1 naming its seq', () => {
    const { dir, kw } = store();
    ok(kw('audit', 'verify'));
    edit(dir, "UPDATE audit_log SET principal = 'arn:aws:iam::000000000000:user/mallory' WHERE seq = 3");
    const r = kw('audit', 'verify');
    expect(r.status).toBe(1);
    expect(r.out).toBe('');
    expect(r.err).toMatch(/^keyward audit verify: the audit log is broken at seq 3: .+\n$/);
    const j = kw('audit', 'verify', '--json');
    expect(j.status).toBe(1);
    expect(JSON.parse(j.out)).toMatchObject({ ok: false, seq: 3 });
  });

  it('an edited encryption context, a deleted record and a cut-off tail each fail naming the seq', () => {
    const a = store();
    edit(a.dir, `UPDATE audit_log SET encryption_context = '{"app":"z"}' WHERE operation = 'GenerateDataKey'`);
    const seqOf = (dir: string, op: string) => {
      const db = new Database(join(dir, 'keyward.db'), { readonly: true });
      try {
        return (db.prepare('SELECT seq FROM audit_log WHERE operation = ?').get(op) as { seq: number }).seq;
      } finally {
        db.close();
      }
    };
    expect(a.kw('audit', 'verify').err).toMatch(new RegExp(`^keyward audit verify: the audit log is broken at seq ${seqOf(a.dir, 'GenerateDataKey')}: `));

    const b = store();
    edit(b.dir, 'DELETE FROM audit_log WHERE seq = 2');
    const rb = b.kw('audit', 'verify');
    expect(rb.status).toBe(1);
    expect(rb.err).toMatch(/^keyward audit verify: the audit log is broken at seq (2|3): /);

    const c = store();
    const n = count(c.dir);
    edit(c.dir, `DELETE FROM audit_log WHERE seq = ${n}`);
    const rc = c.kw('audit', 'verify');
    expect(rc.status).toBe(1);
    expect(rc.err).toMatch(new RegExp(`^keyward audit verify: the audit log is broken at seq ${n}: `));
  });
});
