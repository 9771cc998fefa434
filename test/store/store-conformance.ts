// The store conformance suite: what every Store implementation must do, run on each (SQLite in
// sqlite.test.ts, PostgreSQL in postgres.test.ts). A kit opens stores at fresh, isolated locations (a file,
// a schema); opening a location twice gives two connections to one store.
import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyAuditChain } from '../../src/store/audit-chain.js';
import type { GroupCommitStats } from '../../src/store/sqlite.js';
import {
  InvalidMarkerError,
  StoreConflictError,
  StoreReferenceError,
  StoreStateError,
  type AuditEntry,
  type Mutation,
  type Store,
} from '../../src/store/types.js';

export type KitStore = Store & { readonly stats: GroupCommitStats };

export interface StoreKit {
  /** A fresh, empty store location. */
  location(): string;
  /** Opens (creating and migrating) the store at `location`, without an audit MAC. */
  open(location: string, opts?: { maxBatchUnits?: number }): Promise<KitStore>;
}

export const MAC_KEY = 'store conformance test mac key';
export const mac = (data: Uint8Array): Uint8Array => new Uint8Array(createHmac('sha256', MAC_KEY).update(data).digest());
export const R = 'us-east-1';

export function audit(requestId: string, over: Partial<AuditEntry> = {}): AuditEntry {
  return {
    time: 1_764_000_000_123,
    requestId,
    principal: 'arn:aws:iam::111122223333:user/alice',
    operation: 'CreateKey',
    region: R,
    keyId: null,
    encryptionContext: null,
    outcome: 'Success',
    ...over,
  };
}

export const key = (keyId: string, region = R): Mutation => ({
  kind: 'putKey',
  record: { region, keyId, metadata: { KeyId: keyId, KeyState: 'Enabled' }, policy: '{"Version":"2012-10-17"}', settings: { rotation: 365 } },
});
export const alias = (aliasName: string, keyId: string, mustNotExist = true, region = R): Mutation => ({
  kind: 'putAlias',
  record: { region, aliasName, keyId, createdAt: 1000, updatedAt: 2000 },
  mustNotExist,
});
export const grant = (grantId: string, keyId: string): Mutation => ({
  kind: 'putGrant',
  record: { region: R, grantId, keyId, grant: { GrantId: grantId, Operations: ['Decrypt'] } },
});

export async function allAudit(store: Store) {
  const out = [];
  for (let seq = 1; ; ) {
    const page = await store.readAudit(seq, 500);
    if (page.length === 0) return out;
    out.push(...page);
    seq = page[page.length - 1]!.seq + 1;
  }
}

export async function verify(store: Store) {
  return verifyAuditChain(await allAudit(store), mac, await store.auditHeadProof());
}

/** Registers the conformance tests for one Store implementation; `kit()` is read when the tests run. */
export function storeConformance(label: string, kit: StoreKit): void {
  async function open(path = kit.location(), opts = {}): Promise<KitStore> {
    const store = await kit.open(path, opts);
    store.setAuditMac(mac);
    return store;
  }

  describe(`${label}: mutations`, () => {
    it('round-trips every mutation kind, and keeps them across close and reopen', async () => {
      const path = kit.location();
      let store = await open(path);
      const token = new Uint8Array([1, 2, 3, 250]);
      const ekt = new Uint8Array(64).fill(9);
      const wrapped = new Uint8Array(300).fill(5);
      await store.commit(
        [
          { kind: 'putMeta', name: 'regions', value: new Uint8Array([7, 7]) },
          { kind: 'putDomainKey', record: { region: R, domain: 'acct-1', version: 1, token, createdAt: 10 } },
          { kind: 'putDomainKey', record: { region: R, domain: 'acct-1', version: 2, token: ekt, createdAt: 20.5 } },
          key('k1'),
          { kind: 'putKeyVersion', record: { region: R, keyId: 'k1', version: 1, domainVersion: 2, ekt, createdAt: 30, rotationType: 'CREATE' } },
          alias('alias/one', 'k1'),
          grant('g1', 'k1'),
          { kind: 'putTag', record: { region: R, keyId: 'k1', tagKey: 'team', tagValue: 'blue' } },
          { kind: 'putImportToken', record: { region: R, importToken: 'it-1', keyId: 'k1', wrappedPrivateKey: wrapped, params: { alg: 'RSAES_OAEP_SHA_256' }, expiresAt: 99 } },
        ],
        audit('r1', { keyId: 'k1', encryptionContext: { b: '2', a: '1' } }),
      );

      const check = async () => {
        expect(await store.getMeta('regions')).toEqual(new Uint8Array([7, 7]));
        expect(await store.getMeta('absent')).toBeUndefined();
        expect(await store.domainKeys(R, 'acct-1')).toEqual([
          { region: R, domain: 'acct-1', version: 1, token, createdAt: 10 },
          { region: R, domain: 'acct-1', version: 2, token: ekt, createdAt: 20.5 },
        ]);
        expect(await store.getKey(R, 'k1')).toEqual((key('k1') as { record: unknown }).record);
        expect(await store.keyVersions(R, 'k1')).toEqual([{ region: R, keyId: 'k1', version: 1, domainVersion: 2, ekt, createdAt: 30, rotationType: 'CREATE' }]);
        expect(await store.getAlias(R, 'alias/one')).toEqual({ region: R, aliasName: 'alias/one', keyId: 'k1', createdAt: 1000, updatedAt: 2000 });
        expect(await store.getGrant(R, 'g1')).toEqual({ region: R, grantId: 'g1', keyId: 'k1', grant: { GrantId: 'g1', Operations: ['Decrypt'] } });
        expect(await store.tags(R, 'k1')).toEqual([{ region: R, keyId: 'k1', tagKey: 'team', tagValue: 'blue' }]);
        expect(await store.getImportToken(R, 'it-1')).toEqual({
          region: R,
          importToken: 'it-1',
          keyId: 'k1',
          wrappedPrivateKey: wrapped,
          params: { alg: 'RSAES_OAEP_SHA_256' },
          expiresAt: 99,
        });
        const [rec] = await store.readAudit(1, 10);
        expect(rec).toMatchObject({ seq: 1, requestId: 'r1', keyId: 'k1', encryptionContext: { a: '1', b: '2' }, time: 1_764_000_000_123 });
        expect(rec!.prevHash).toEqual(new Uint8Array(32));
        // Blobs come back as plain Uint8Arrays, not Buffers.
        expect(Object.getPrototypeOf((await store.getMeta('regions'))!)).toBe(Uint8Array.prototype);
      };
      await check();
      await store.close();
      store = await open(path);
      await check();

      // Updates overwrite in place, and do not cascade: an updated key keeps its versions, aliases, grants, tags.
      await store.commit(
        [
          { ...key('k1'), record: { ...(key('k1') as { record: object }).record, policy: '{}' } } as Mutation,
          { kind: 'putMeta', name: 'regions', value: new Uint8Array([8]) },
          { kind: 'putTag', record: { region: R, keyId: 'k1', tagKey: 'team', tagValue: 'red' } },
          alias('alias/one', 'k1', false),
        ],
        audit('r2'),
      );
      expect((await store.getKey(R, 'k1'))!.policy).toBe('{}');
      expect(await store.getMeta('regions')).toEqual(new Uint8Array([8]));
      expect((await store.tags(R, 'k1'))[0]!.tagValue).toBe('red');
      expect(await store.keyVersions(R, 'k1')).toHaveLength(1);
      expect(await store.getGrant(R, 'g1')).toBeDefined();
      expect(await store.getImportToken(R, 'it-1')).toBeDefined();

      await store.commit(
        [
          { kind: 'deleteAlias', region: R, aliasName: 'alias/one' },
          { kind: 'deleteGrant', region: R, grantId: 'g1' },
          { kind: 'deleteTag', region: R, keyId: 'k1', tagKey: 'team' },
          { kind: 'deleteImportToken', region: R, importToken: 'it-1' },
          { kind: 'deleteKeyVersions', region: R, keyId: 'k1' },
        ],
        audit('r3'),
      );
      await store.close();
      store = await open(path);
      expect(await store.getAlias(R, 'alias/one')).toBeUndefined();
      expect(await store.getGrant(R, 'g1')).toBeUndefined();
      expect(await store.tags(R, 'k1')).toEqual([]);
      expect(await store.getImportToken(R, 'it-1')).toBeUndefined();
      expect(await store.keyVersions(R, 'k1')).toEqual([]);
      expect(await store.getKey(R, 'k1')).toBeDefined();
      expect(await verify(store)).toEqual({ ok: true, count: 3, headSeq: 3 });
      await store.close();
    });

    it('destroyKey removes the key and only its versions, aliases, grants, tags and import tokens', async () => {
      const store = await open();
      const children = (k: string): Mutation[] => [
        key(k),
        { kind: 'putKeyVersion', record: { region: R, keyId: k, version: 1, domainVersion: 1, ekt: new Uint8Array(8), createdAt: 1, rotationType: 'CREATE' } },
        { kind: 'putKeyVersion', record: { region: R, keyId: k, version: 2, domainVersion: 1, ekt: new Uint8Array(8), createdAt: 2, rotationType: 'ON_DEMAND' } },
        alias(`alias/${k}`, k),
        grant(`grant-${k}`, k),
        { kind: 'putTag', record: { region: R, keyId: k, tagKey: 't', tagValue: k } },
        { kind: 'putImportToken', record: { region: R, importToken: `it-${k}`, keyId: k, wrappedPrivateKey: new Uint8Array(4), params: {}, expiresAt: 1 } },
      ];
      // The same key id in another region is another key.
      const otherRegion: Mutation[] = [key('a', 'eu-west-1'), alias('alias/a', 'a', true, 'eu-west-1')];
      await store.commit([...children('a'), ...children('b'), ...otherRegion], audit('setup'));
      await store.commit([{ kind: 'destroyKey', region: R, keyId: 'a' }], audit('destroy'));

      expect(await store.getKey(R, 'a')).toBeUndefined();
      expect(await store.keyVersions(R, 'a')).toEqual([]);
      expect(await store.getAlias(R, 'alias/a')).toBeUndefined();
      expect(await store.getGrant(R, 'grant-a')).toBeUndefined();
      expect(await store.tags(R, 'a')).toEqual([]);
      expect(await store.getImportToken(R, 'it-a')).toBeUndefined();

      expect(await store.getKey(R, 'b')).toBeDefined();
      expect(await store.keyVersions(R, 'b')).toHaveLength(2);
      expect(await store.getAlias(R, 'alias/b')).toBeDefined();
      expect(await store.getGrant(R, 'grant-b')).toBeDefined();
      expect(await store.tags(R, 'b')).toHaveLength(1);
      expect(await store.getImportToken(R, 'it-b')).toBeDefined();
      expect(await store.getKey('eu-west-1', 'a')).toBeDefined();
      expect(await store.getAlias('eu-west-1', 'alias/a')).toBeDefined();
      expect((await store.allKeys()).map((k) => `${k.region}/${k.keyId}`)).toEqual(['eu-west-1/a', `${R}/b`]);
      await store.close();
    });

    it('refuses an alias that exists with StoreConflictError and rolls back the whole unit', async () => {
      const store = await open();
      await store.commit([key('k1'), alias('alias/taken', 'k1')], audit('r1'));
      const err = await store.commit([key('k2'), alias('alias/taken', 'k2')], audit('r2')).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StoreConflictError);
      expect((err as Error).message).toBe(`alias alias/taken already exists in region ${R}`);
      expect(await store.getKey(R, 'k2')).toBeUndefined();
      expect((await store.getAlias(R, 'alias/taken'))!.keyId).toBe('k1');
      // The same alias name in another region is free.
      await store.commit([key('k1', 'eu-west-1'), alias('alias/taken', 'k1', true, 'eu-west-1')], audit('r3'));
      // A refused unit appends no audit record: the log stays contiguous.
      expect((await allAudit(store)).map((r) => r.requestId)).toEqual(['r1', 'r3']);
      await store.close();
    });

    it('never replaces a domain key version: a second put of it is a StoreConflictError and the first token stays', async () => {
      const store = await open();
      const dk = (token: Uint8Array): Mutation => ({ kind: 'putDomainKey', record: { region: R, domain: 'acct-1', version: 1, token, createdAt: 1 } });
      await store.commit([dk(new Uint8Array([1]))], audit('r1'));
      const err = await store.commit([dk(new Uint8Array([2]))], audit('r2')).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StoreConflictError);
      expect((await store.domainKeys(R, 'acct-1')).map((d) => [...d.token])).toEqual([[1]]);
      await store.close();
    });

    it('refuses a child row for a missing key with StoreReferenceError', async () => {
      const store = await open();
      await expect(store.commit([alias('alias/x', 'ghost')], audit('r1'))).rejects.toThrow(StoreReferenceError);
      await expect(store.commit([grant('g', 'ghost')], audit('r2'))).rejects.toThrow(/putGrant: key ghost does not exist in region us-east-1/);
      expect(await store.auditHead()).toBeUndefined();
      await store.close();
    });

    it('refuses bad calls with typed errors before queuing anything', async () => {
      const path = kit.location();
      const bare = await kit.open(path);
      await expect(bare.commit([], audit('r'))).rejects.toThrow(StoreStateError);
      await expect(bare.commit([], audit('r'))).rejects.toThrow(/before setAuditMac/);
      bare.setAuditMac(mac);
      await expect(bare.commit([{ kind: 'dropTable' } as unknown as Mutation], audit('r'))).rejects.toThrow(/mutation 0 has an unknown kind: dropTable/);
      await expect(bare.commit([], audit('r', { principal: 5 as unknown as string }))).rejects.toThrow(/principal must be a string/);
      await expect(bare.readAudit(1, 0)).rejects.toThrow(RangeError);
      expect(bare.stats.transactions).toBe(0);
      await bare.close();
      await expect(bare.commit([], audit('r'))).rejects.toThrow(/the store is closed/);
      await expect(bare.getKey(R, 'k')).rejects.toThrow(StoreStateError);
      await expect(kit.open(kit.location(), { maxBatchUnits: 0 })).rejects.toThrow(/maxBatchUnits/);
    });

    it('writes meta unaudited, before any audit MAC exists', async () => {
      const path = kit.location();
      let store = await kit.open(path);
      await store.putMetaUnaudited('sealed-rk', new Uint8Array([1, 2, 3]));
      await store.close();
      store = await kit.open(path);
      expect(await store.getMeta('sealed-rk')).toEqual(new Uint8Array([1, 2, 3]));
      expect(await store.auditHead()).toBeUndefined();
      expect(await store.auditHeadProof()).toBeNull();
      await store.close();
    });
  });

  describe(`${label}: group commit`, () => {
    it('puts many concurrent commits in few transactions, in one unbroken chain', async () => {
      const store = await open();
      const records = await Promise.all(Array.from({ length: 500 }, (_, i) => store.commit([], audit(`r${i}`))));
      expect(records.map((r) => r.seq).sort((a, b) => a - b)).toEqual(Array.from({ length: 500 }, (_, i) => i + 1));
      expect(store.stats).toEqual({ transactions: 1, committedUnits: 500, failedUnits: 0, largestBatch: 500 });
      expect(await verify(store)).toEqual({ ok: true, count: 500, headSeq: 500 });
      await store.close();
    });

    it('shares transactions between callers that each commit in a loop', async () => {
      const store = await open();
      const caller = async (c: number) => {
        for (let i = 0; i < 10; i++) await store.commit([key(`k${c}-${i}`)], audit(`r${c}-${i}`));
      };
      await Promise.all(Array.from({ length: 100 }, (_, c) => caller(c)));
      expect(store.stats.committedUnits).toBe(1000);
      // Each caller waits for its previous commit, so about one transaction per round of the loop.
      expect(store.stats.transactions).toBeLessThanOrEqual(20);
      expect(await verify(store)).toEqual({ ok: true, count: 1000, headSeq: 1000 });
      await store.close();
    });

    it('bounds a transaction to maxBatchUnits', async () => {
      const store = await open(kit.location(), { maxBatchUnits: 64 });
      await Promise.all(Array.from({ length: 300 }, (_, i) => store.commit([], audit(`r${i}`))));
      expect(store.stats.largestBatch).toBe(64);
      expect(store.stats.transactions).toBe(5);
      await store.close();
    });

    it('rolls back a failing unit alone: the others in its transaction commit', async () => {
      const store = await open();
      await store.commit([key('base'), alias('alias/taken', 'base')], audit('setup'));
      const before = store.stats.transactions;
      // The MAC refuses one request id: a unit that fails after its mutations ran, with no SQL error.
      store.setAuditMac((d) => {
        if (Buffer.from(d).includes('poison')) throw new Error('MAC unavailable');
        return mac(d);
      });
      const results = await Promise.allSettled([
        store.commit([key('k1'), alias('alias/k1', 'k1')], audit('ok-1')),
        store.commit([key('k2'), alias('alias/taken', 'k2')], audit('conflict')),
        store.commit([key('k3'), grant('g3', 'k3')], audit('ok-2')),
        store.commit([key('k4'), alias('alias/k4', 'k4')], audit('poison')),
        store.commit([], audit('poison')),
        store.commit([key('k5')], audit('ok-3')),
      ]);
      expect(store.stats.transactions).toBe(before + 1);
      expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'rejected', 'rejected', 'fulfilled']);
      expect((results[1] as PromiseRejectedResult).reason).toBeInstanceOf(StoreConflictError);
      expect((results[3] as PromiseRejectedResult).reason.message).toBe('MAC unavailable');
      expect(results.filter((r) => r.status === 'fulfilled').map((r) => (r as PromiseFulfilledResult<{ seq: number }>).value.seq)).toEqual([2, 3, 4]);

      for (const k of ['k1', 'k3', 'k5']) expect(await store.getKey(R, k), k).toBeDefined();
      for (const k of ['k2', 'k4']) expect(await store.getKey(R, k), k).toBeUndefined();
      expect(await store.getAlias(R, 'alias/k4')).toBeUndefined();
      expect(await store.getGrant(R, 'g3')).toBeDefined();
      store.setAuditMac(mac);
      expect(await verify(store)).toEqual({ ok: true, count: 4, headSeq: 4 });
      await store.close();
    });

    it('resolves a commit only once another connection can read it', async () => {
      const path = kit.location();
      const store = await open(path);
      const reader = await kit.open(path);
      const seen = await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          store.commit([key(`k${i}`)], audit(`r${i}`)).then(async (rec) => {
            const [row] = await reader.readAudit(rec.seq, 1);
            return row?.requestId === `r${i}` && (await reader.getKey(R, `k${i}`)) !== undefined;
          }),
        ),
      );
      expect(seen.every(Boolean)).toBe(true);
      await reader.close();
      await store.close();
    });

    it('close() flushes commits still queued', async () => {
      const path = kit.location();
      let store = await open(path);
      const pending = Array.from({ length: 20 }, (_, i) => store.commit([key(`k${i}`)], audit(`r${i}`)));
      await store.close();
      expect((await Promise.all(pending)).map((r) => r.seq)).toHaveLength(20);
      store = await open(path);
      expect((await store.auditHead())!.seq).toBe(20);
      expect(await store.allKeys()).toHaveLength(20);
      await store.close();
    });
  });

  describe(`${label}: paging`, () => {
    let store: KitStore;
    beforeAll(async () => {
      store = await open();
      const m: Mutation[] = [];
      for (let i = 0; i < 7; i++) m.push(key(`key-${i}`), key(`key-${i}`, 'eu-west-1'));
      for (let i = 0; i < 5; i++) m.push(alias(`alias/k0-${i}`, 'key-0'), alias(`alias/k1-${i}`, 'key-1'));
      for (let i = 0; i < 6; i++) m.push(grant(`g0-${i}`, 'key-0'), grant(`g1-${i}`, 'key-1'));
      await store.commit(m, audit('setup'));
    });
    afterAll(() => store.close());

    async function collect<T>(list: (marker?: string) => Promise<{ items: T[]; nextMarker?: string }>) {
      const pages: T[][] = [];
      let marker: string | undefined;
      do {
        const page = await list(marker);
        pages.push(page.items);
        marker = page.nextMarker;
      } while (marker !== undefined);
      return pages;
    }

    it('pages keys with markers, per region', async () => {
      const pages = await collect((m) => store.listKeys(R, 3, m));
      expect(pages.map((p) => p.map((k) => k.keyId))).toEqual([
        ['key-0', 'key-1', 'key-2'],
        ['key-3', 'key-4', 'key-5'],
        ['key-6'],
      ]);
      expect((await store.listKeys(R, 7)).nextMarker).toBeUndefined();
      expect((await store.listKeys('ap-south-1', 10)).items).toEqual([]);
    });

    it('pages aliases of the region and of one key', async () => {
      const all = (await collect((m) => store.listAliases(R, undefined, 4, m))).flat().map((a) => a.aliasName);
      expect(all).toEqual([...Array.from({ length: 5 }, (_, i) => `alias/k0-${i}`), ...Array.from({ length: 5 }, (_, i) => `alias/k1-${i}`)]);
      const ofKey = await collect((m) => store.listAliases(R, 'key-1', 2, m));
      expect(ofKey.map((p) => p.length)).toEqual([2, 2, 1]);
      expect(ofKey.flat().every((a) => a.keyId === 'key-1')).toBe(true);
    });

    it('pages grants of one key', async () => {
      const pages = await collect((m) => store.listGrants(R, 'key-0', 4, m));
      expect(pages.flat().map((g) => g.grantId)).toEqual(Array.from({ length: 6 }, (_, i) => `g0-${i}`));
      expect(pages.map((p) => p.length)).toEqual([4, 2]);
      expect((await store.allGrants(R)).map((g) => g.grantId)).toHaveLength(12);
    });

    it('refuses a marker it did not issue for this listing with InvalidMarkerError', async () => {
      const keysMarker = (await store.listKeys(R, 2)).nextMarker!;
      const aliasMarker = (await store.listAliases(R, 'key-0', 2)).nextMarker!;
      const bad: Array<() => Promise<unknown>> = [
        () => store.listKeys(R, 2, 'not a marker!'),
        () => store.listKeys(R, 2, ''),
        () => store.listKeys(R, 2, Buffer.from('{"x":1}').toString('base64url')),
        () => store.listKeys(R, 2, `${keysMarker}=`),
        () => store.listKeys('eu-west-1', 2, keysMarker),
        () => store.listKeys(R, 2, aliasMarker),
        () => store.listAliases(R, 'key-1', 2, aliasMarker),
        () => store.listAliases(R, undefined, 2, aliasMarker),
        () => store.listGrants(R, 'key-0', 2, keysMarker),
      ];
      for (const [i, call] of bad.entries()) await expect(call(), `case ${i}`).rejects.toThrow(InvalidMarkerError);
      await expect(store.listKeys(R, 0)).rejects.toThrow(/listKeys limit must be a positive integer, got 0/);
      expect((await store.listKeys('eu-west-1', 2, (await store.listKeys('eu-west-1', 2)).nextMarker)).items[0]!.keyId).toBe('key-2');
    });
  });
}
