import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { chainNext } from '../../src/store/audit-chain.js';
import { GroupCommit, type CommitUnit, type UnitOutcome } from '../../src/store/group-commit.js';
import { StoreStateError, type AuditEntry, type AuditRecord, type Mutation } from '../../src/store/types.js';

const hmac = (data: Uint8Array): Uint8Array => new Uint8Array(createHmac('sha256', 'group commit test').update(data).digest());
const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function entry(id: string): AuditEntry {
  return {
    time: 1_764_000_000_000,
    requestId: id,
    principal: 'arn:aws:iam::111122223333:user/alice',
    operation: 'TagResource',
    region: 'us-east-1',
    keyId: 'k1',
    encryptionContext: null,
    outcome: 'Success',
  };
}

/** A unit with one mutation; the fake database refuses it when `fail` is set, as a constraint would. */
function mutations(fail = false): Mutation[] {
  return [{ kind: 'deleteTag', region: 'us-east-1', keyId: 'k1', tagKey: fail ? 'fail' : 'ok' }];
}

/**
 * A database stand-in with the stores' flush contract: one call is one transaction, a unit whose mutation
 * fails is undone alone (no seq taken), `lose` makes the next transaction fail as a whole. With `async`,
 * each transaction takes a few event-loop turns, as a round trip to PostgreSQL does.
 */
function fakeDb(opts: { async?: boolean } = {}) {
  const db = {
    batches: [] as string[][],
    inFlight: 0,
    maxInFlight: 0,
    lose: undefined as Error | undefined,
    head: undefined as AuditRecord | undefined,
    closed: false,
    hasMac: true,
    write(units: readonly CommitUnit[]): UnitOutcome[] {
      db.batches.push(units.map((u) => u.audit.requestId));
      const lost = db.lose;
      db.lose = undefined;
      if (lost) throw lost;
      return units.map((u) => {
        if (u.mutations.some((m) => m.kind === 'deleteTag' && m.tagKey === 'fail')) {
          return { error: new Error(`unit ${u.audit.requestId} violates a constraint`) };
        }
        const record = chainNext(hmac, db.head, u.audit);
        db.head = record;
        return { record };
      });
    },
    async writeAsync(units: readonly CommitUnit[]): Promise<UnitOutcome[]> {
      db.inFlight++;
      db.maxInFlight = Math.max(db.maxInFlight, db.inFlight);
      try {
        for (let i = 0; i < 3; i++) await nextTurn();
        return db.write(units);
      } finally {
        db.inFlight--;
      }
    },
  };
  return db;
}

function queueOver(db: ReturnType<typeof fakeDb>, maxBatchUnits = 1000, async = false): GroupCommit {
  return new GroupCommit({
    maxBatchUnits,
    flush: async ? (units) => db.writeAsync(units) : (units) => db.write(units),
    isClosed: () => db.closed,
    hasMac: () => db.hasMac,
  });
}

describe('GroupCommit', () => {
  for (const async of [false, true]) {
    const kind = async ? 'asynchronous flush' : 'synchronous flush';

    it(`${kind}: units queued in one turn commit together, in order, and resolve with their records`, async () => {
      const db = fakeDb();
      const q = queueOver(db, 1000, async);
      const records = await Promise.all(['a', 'b', 'c', 'd', 'e'].map((id) => q.commit(mutations(), entry(id))));
      expect(db.batches).toEqual([['a', 'b', 'c', 'd', 'e']]);
      expect(records.map((r) => [r.requestId, r.seq])).toEqual([['a', 1], ['b', 2], ['c', 3], ['d', 4], ['e', 5]]);
      expect(q.stats).toEqual({ transactions: 1, committedUnits: 5, failedUnits: 0, largestBatch: 5 });
    });

    it(`${kind}: a failing unit rejects only itself; the others commit in the same transaction`, async () => {
      const db = fakeDb();
      const q = queueOver(db, 1000, async);
      const settled = await Promise.allSettled([
        q.commit(mutations(), entry('a')),
        q.commit(mutations(true), entry('b')),
        q.commit([], entry('c')),
        q.commit(mutations(true), entry('d')),
      ]);
      expect(db.batches).toEqual([['a', 'b', 'c', 'd']]);
      expect(settled.map((s) => (s.status === 'fulfilled' ? `${s.value.requestId}@${s.value.seq}` : (s.reason as Error).message))).toEqual([
        'a@1',
        'unit b violates a constraint',
        'c@2',
        'unit d violates a constraint',
      ]);
      expect(q.stats).toEqual({ transactions: 1, committedUnits: 2, failedUnits: 2, largestBatch: 2 });
    });

    it(`${kind}: a transaction lost as a whole rejects each of its units with why, and the queue goes on`, async () => {
      const db = fakeDb();
      const q = queueOver(db, 1000, async);
      const lost = new Error('connection reset');
      db.lose = lost;
      const settled = await Promise.allSettled([q.commit(mutations(), entry('a')), q.commit([], entry('b'))]);
      expect(settled).toEqual([
        { status: 'rejected', reason: lost },
        { status: 'rejected', reason: lost },
      ]);
      expect(q.stats).toEqual({ transactions: 0, committedUnits: 0, failedUnits: 2, largestBatch: 0 });
      const record = await q.commit(mutations(), entry('c'));
      expect(record.seq).toBe(1);
      expect(q.stats).toEqual({ transactions: 1, committedUnits: 1, failedUnits: 2, largestBatch: 1 });
    });

    it(`${kind}: maxBatchUnits bounds a transaction; the rest follows, in order`, async () => {
      const db = fakeDb();
      const q = queueOver(db, 3, async);
      const records = await Promise.all(['1', '2', '3', '4', '5', '6', '7'].map((id) => q.commit([], entry(id))));
      expect(db.batches).toEqual([['1', '2', '3'], ['4', '5', '6'], ['7']]);
      expect(records.map((r) => r.seq)).toEqual([1, 2, 3, 4, 5, 6, 7]);
      expect(q.stats).toEqual({ transactions: 3, committedUnits: 7, failedUnits: 0, largestBatch: 3 });
    });
  }

  it('flushes on a later turn, not in the commit() call, and one batch per turn', async () => {
    const db = fakeDb();
    const q = queueOver(db, 2);
    const all = Promise.all(['a', 'b', 'c'].map((id) => q.commit([], entry(id))));
    expect(db.batches).toEqual([]);
    await nextTurn();
    expect(db.batches).toEqual([['a', 'b']]);
    await all;
    expect(db.batches).toEqual([['a', 'b'], ['c']]);
  });

  it('runs one flush at a time; the next takes what was queued meanwhile and what the woken callers queued', async () => {
    const db = fakeDb({ async: true });
    const q = queueOver(db, 1000, true);
    const first = [q.commit([], entry('a1')), q.commit([], entry('a2'))];
    // A caller that commits again as soon as its first unit is acknowledged.
    const followUp = first[0]!.then(() => q.commit([], entry('c1')));
    await nextTurn();
    expect(db.inFlight).toBe(1);
    const meanwhile = [q.commit([], entry('b1')), q.commit([], entry('b2'))];
    await Promise.all([...first, ...meanwhile, followUp]);
    expect(db.batches).toEqual([['a1', 'a2'], ['b1', 'b2', 'c1']]);
    expect(db.maxInFlight).toBe(1);
    expect(q.stats).toEqual({ transactions: 2, committedUnits: 5, failedUnits: 0, largestBatch: 3 });
  });

  it('refuses a commit on a closed store, before setAuditMac, or with a malformed unit, without queuing it', async () => {
    const db = fakeDb();
    const q = queueOver(db);
    db.closed = true;
    await expect(q.commit([], entry('a'))).rejects.toThrow(new StoreStateError('the store is closed'));
    db.closed = false;
    db.hasMac = false;
    await expect(q.commit([], entry('b'))).rejects.toBeInstanceOf(StoreStateError);
    db.hasMac = true;
    await expect(q.commit([{ kind: 'dropTable' } as unknown as Mutation], entry('c'))).rejects.toThrow(TypeError);
    await nextTurn();
    expect(db.batches).toEqual([]);
    expect(q.stats).toEqual({ transactions: 0, committedUnits: 0, failedUnits: 0, largestBatch: 0 });
  });

  it('queues a copy of the mutations, so the caller may reuse its array', async () => {
    const db = fakeDb();
    const seen: number[] = [];
    const q = new GroupCommit({
      maxBatchUnits: 10,
      flush: (units) => {
        seen.push(...units.map((u) => u.mutations.length));
        return db.write(units);
      },
      isClosed: () => false,
      hasMac: () => true,
    });
    const ms = mutations();
    const done = q.commit(ms, entry('a'));
    ms.push(...mutations(true));
    await done;
    expect(seen).toEqual([1]);
  });

  it('drain() with a synchronous flush commits every queued unit before it returns', async () => {
    const db = fakeDb();
    const q = queueOver(db, 2);
    const all = Promise.all(['a', 'b', 'c'].map((id) => q.commit([], entry(id))));
    const drained = q.drain();
    expect(db.batches).toEqual([['a', 'b'], ['c']]);
    await drained;
    await all;
    await nextTurn();
    expect(db.batches).toHaveLength(2);
  });

  it('drain() during an asynchronous flush waits for it, then flushes the rest one transaction at a time', async () => {
    const db = fakeDb({ async: true });
    const q = queueOver(db, 2, true);
    const early = [q.commit([], entry('a')), q.commit([], entry('b'))];
    await nextTurn();
    expect(db.inFlight).toBe(1);
    const late = ['c', 'd', 'e', 'f', 'g'].map((id) => q.commit([], entry(id)));
    await q.drain();
    expect(db.batches).toEqual([['a', 'b'], ['c', 'd'], ['e', 'f'], ['g']]);
    expect(db.maxInFlight).toBe(1);
    expect((await Promise.all([...early, ...late])).map((r) => r.seq)).toEqual([1, 2, 3, 4, 5, 6, 7]);
  });
});
