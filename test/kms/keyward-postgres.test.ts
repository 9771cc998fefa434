// Two engine nodes on one PostgreSQL store: two dirs (each its own lock file) sharing one unseal key and
// one database. Each sees the other's keys, rotations, state changes and deletions, and their concurrent
// commits form one audit chain that verifies.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Keyward } from '../../src/kms/keyward.js';
import { loadUnsealKey } from '../../src/keys/unseal.js';
import { startPostgres, type TestPostgres } from '../store/_postgres.js';
import { ACCOUNT, rejectsWith, utf8 } from './_engine.js';

let server: TestPostgres;
let root: string;
let a: Keyward;
let b: Keyward;

beforeAll(async () => {
  server = await startPostgres();
  root = mkdtempSync(join(tmpdir(), 'keyward-pg-engine-'));
  const store = { postgres: server.url };
  a = await Keyward.open({ dir: join(root, 'a'), account: ACCOUNT, store, maintenanceIntervalMs: 0 });
  b = await Keyward.open({ dir: join(root, 'b'), account: ACCOUNT, store, unsealKey: loadUnsealKey(join(root, 'a')), maintenanceIntervalMs: 0 });
}, 60_000);

afterAll(async () => {
  await a?.close();
  await b?.close();
  server?.stop();
  if (root) rmSync(root, { recursive: true, force: true });
});

describe('two engine nodes on one PostgreSQL store', () => {
  it('use each other\'s keys and aliases at once', async () => {
    const { KeyMetadata } = await a.createKey({ Description: 'made on a' });
    await a.createAlias({ AliasName: 'alias/shared', TargetKeyId: KeyMetadata.KeyId });
    expect((await b.describeKey({ KeyId: 'alias/shared' })).KeyMetadata.Description).toBe('made on a');
    const blob = (await b.encrypt({ KeyId: 'alias/shared', Plaintext: utf8('across nodes') })).CiphertextBlob;
    expect(new TextDecoder().decode((await a.decrypt({ CiphertextBlob: blob })).Plaintext)).toBe('across nodes');
    expect((await b.listKeys()).Keys.map((k) => k.KeyId)).toContain(KeyMetadata.KeyId);
  });

  it('see rotations, state changes, policy changes and deletions made by the other', async () => {
    const { KeyMetadata } = await a.createKey();
    const id = KeyMetadata.KeyId;
    const before = (await a.encrypt({ KeyId: id, Plaintext: utf8('v1') })).CiphertextBlob;
    // a has the key loaded; b rotates it; a must encrypt under, and decrypt, the new version.
    await b.rotateKeyOnDemand({ KeyId: id });
    expect((await a.listKeyRotations({ KeyId: id })).Rotations).toHaveLength(1);
    const after = (await a.encrypt({ KeyId: id, Plaintext: utf8('v2') })).CiphertextBlob;
    expect(new TextDecoder().decode((await b.decrypt({ CiphertextBlob: after })).Plaintext)).toBe('v2');
    expect(new TextDecoder().decode((await b.decrypt({ CiphertextBlob: before })).Plaintext)).toBe('v1');

    await b.disableKey({ KeyId: id });
    await rejectsWith(a.encrypt({ KeyId: id, Plaintext: utf8('x') }), 'DisabledException');
    await a.enableKey({ KeyId: id });
    await b.encrypt({ KeyId: id, Plaintext: utf8('x') });

    // A policy put on b binds a's very next call (a has used the key, and keeps no stale copy of it).
    const alice = `arn:aws:iam::${ACCOUNT}:user/alice`;
    await a.as(alice).encrypt({ KeyId: id, Plaintext: utf8('allowed') });
    const deny = {
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: 'kms:*', Resource: '*' },
        { Effect: 'Deny', Principal: { AWS: alice }, Action: 'kms:Encrypt', Resource: '*' },
      ],
    };
    await b.putKeyPolicy({ KeyId: id, Policy: JSON.stringify(deny) });
    await rejectsWith(a.as(alice).encrypt({ KeyId: id, Plaintext: utf8('denied') }), 'AccessDeniedException');

    await a.scheduleKeyDeletion({ KeyId: id, PendingWindowInDays: 7 });
    expect((await b.describeKey({ KeyId: id })).KeyMetadata.KeyState).toBe('PendingDeletion');
    await rejectsWith(b.decrypt({ CiphertextBlob: before }), 'KMSInvalidStateException');
  });

  it('commit concurrently into one audit chain that verifies', async () => {
    const { KeyMetadata } = await a.createKey();
    const load = (kw: Keyward) => Promise.all(Array.from({ length: 60 }, () => kw.generateDataKey({ KeyId: KeyMetadata.KeyId, KeySpec: 'AES_256' })));
    const [ra, rb] = await Promise.all([load(a), load(b)]);
    expect(ra.length + rb.length).toBe(120);
    const head = (await a.auditTail(1))[0]!;
    const verified = await b.verifyAudit();
    expect(verified).toEqual({ ok: true, count: head.seq, headSeq: head.seq });
    const ops = (await b.auditTail(120)).map((r) => r.operation);
    expect(ops.filter((o) => o === 'GenerateDataKey')).toHaveLength(120);
  });

  it('serialize changes of one key across nodes: concurrent rotations on both get distinct versions', async () => {
    const { KeyMetadata } = await a.createKey();
    const id = KeyMetadata.KeyId;
    const rotateAndEncrypt = async (kw: Keyward, i: number) => {
      await kw.rotateKeyOnDemand({ KeyId: id });
      return (await kw.encrypt({ KeyId: id, Plaintext: utf8(`after rotation ${i}`) })).CiphertextBlob;
    };
    const blobs = await Promise.all([0, 1, 2, 3].map((i) => rotateAndEncrypt(i % 2 === 0 ? a : b, i)));
    // Four rotations, four new versions: none overwrote another's backing key.
    expect((await b.listKeyRotations({ KeyId: id })).Rotations).toHaveLength(4);
    for (const [i, blob] of blobs.entries()) {
      expect(new TextDecoder().decode((await (i % 2 === 0 ? b : a).decrypt({ CiphertextBlob: blob })).Plaintext)).toBe(`after rotation ${i}`);
    }
  });

  it('four nodes opening a fresh database at once all end up with the one region key the store holds', async () => {
    const unsealKey = new Uint8Array(randomBytes(32));
    const store = { postgres: server.database('fresh_race') };
    const nodes = await Promise.all(
      ['w', 'x', 'y', 'z'].map((n) => Keyward.open({ dir: join(root, n), account: ACCOUNT, store, unsealKey, maintenanceIntervalMs: 0 })),
    );
    try {
      // Every node's key is usable on every other: all wrap under the one region key the store holds.
      for (const [i, kw] of nodes.entries()) {
        const { KeyMetadata } = await kw.createKey();
        const blob = (await kw.encrypt({ KeyId: KeyMetadata.KeyId, Plaintext: utf8('one region key') })).CiphertextBlob;
        const other = nodes[(i + 1) % nodes.length]!;
        expect(new TextDecoder().decode((await other.decrypt({ CiphertextBlob: blob })).Plaintext)).toBe('one region key');
      }
      expect(await nodes[0]!.verifyAudit()).toMatchObject({ ok: true });
    } finally {
      for (const kw of nodes) await kw.close();
    }
  });

  it('refuses a second open of one dir, but not two dirs on one database', async () => {
    await expect(Keyward.open({ dir: join(root, 'a'), account: ACCOUNT, store: { postgres: server.url }, maintenanceIntervalMs: 0 })).rejects.toThrow(/already open/);
    await expect(Keyward.open({ dir: join(root, 'empty'), account: ACCOUNT, create: false, store: { postgres: server.database('blank') }, maintenanceIntervalMs: 0 }))
      .rejects.toThrow(/no Keyward store in the PostgreSQL database/);
  });
});
