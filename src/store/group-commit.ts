// The group-commit queue both stores share: commit() only queues a unit; one flush at a time, scheduled with
// setImmediate, hands every waiting unit (up to maxBatchUnits) to the store's `flush`, which writes them in
// one transaction, each unit in its own savepoint. The next flush starts on the turn after the last one
// settled, so the callers it woke have queued their next units by then. Units settle only once `flush` has
// returned, i.e. after the store's COMMIT is durable.

import type { AuditMac } from './audit-chain.js';
import { checkCommitArgs } from './commit-args.js';
import type { AuditEntry, AuditRecord, Mutation } from './types.js';

/** Counters of the group commit, for tests and metrics. */
export interface GroupCommitStats {
  /** Transactions that committed. */
  transactions: number;
  /** Units that committed. */
  committedUnits: number;
  /** Units that were rolled back and rejected. */
  failedUnits: number;
  /** The most units one committed transaction held. */
  largestBatch: number;
}

/** One caller's commit: its mutations and the audit entry that records them. */
export interface CommitUnit {
  readonly mutations: readonly Mutation[];
  readonly audit: AuditEntry;
}

/** What became of one unit of a committed transaction: its audit record, or the error that undid it alone. */
export type UnitOutcome = { readonly record: AuditRecord } | { readonly error: unknown };

/**
 * Writes `units` in one transaction and returns one outcome per unit, in order. Throws (or rejects) when the
 * transaction as a whole failed and nothing was committed. A synchronous flush (better-sqlite3) runs
 * synchronously here too, so nothing else touches its connection between two flushes.
 */
export type FlushUnits = (units: readonly CommitUnit[]) => UnitOutcome[] | Promise<UnitOutcome[]>;

export interface GroupCommitOptions {
  /** The most units one transaction takes. */
  maxBatchUnits: number;
  flush: FlushUnits;
  /** Whether the store is closed: commit() then refuses with StoreStateError. */
  isClosed: () => boolean;
  /** Whether the store has its audit MAC: commit() refuses until it has. */
  hasMac: () => boolean;
}

interface Queued extends CommitUnit {
  resolve: (record: AuditRecord) => void;
  reject: (err: unknown) => void;
}

export class GroupCommit {
  private readonly queue: Queued[] = [];
  private scheduled: NodeJS.Immediate | undefined;
  private flushing: Promise<void> | undefined;
  private draining = false;
  private readonly counters: GroupCommitStats = { transactions: 0, committedUnits: 0, failedUnits: 0, largestBatch: 0 };

  constructor(private readonly opts: GroupCommitOptions) {}

  /** A snapshot of the counters. */
  get stats(): GroupCommitStats {
    return { ...this.counters };
  }

  /** Queues a unit; resolves with its audit record once the transaction that holds it has committed. */
  commit(mutations: readonly Mutation[], audit: AuditEntry): Promise<AuditRecord> {
    try {
      checkCommitArgs(this.opts.isClosed(), this.opts.hasMac(), mutations, audit);
    } catch (err) {
      return Promise.reject(err);
    }
    return new Promise<AuditRecord>((resolve, reject) => {
      this.queue.push({ mutations: [...mutations], audit, resolve, reject });
      this.schedule();
    });
  }

  /** Flushes every queued unit now, for close(): the store must refuse new commits first. */
  async drain(): Promise<void> {
    // From here on only this loop flushes: a flush scheduled as the last one settled would run beside it.
    this.draining = true;
    if (this.scheduled !== undefined) {
      clearImmediate(this.scheduled);
      this.scheduled = undefined;
    }
    while (this.flushing !== undefined || this.queue.length > 0) {
      // A synchronous flush returns nothing to wait for, so a synchronous store drains in this very turn.
      const pending = this.flushing ?? this.flushNext();
      if (pending !== undefined) await pending;
    }
  }

  private schedule(): void {
    if (this.draining || this.scheduled !== undefined || this.flushing !== undefined || this.queue.length === 0) return;
    this.scheduled = setImmediate(() => {
      this.scheduled = undefined;
      const pending = this.flushNext();
      if (pending === undefined) {
        this.schedule();
        return;
      }
      this.flushing = pending.finally(() => {
        this.flushing = undefined;
        this.schedule();
      });
    });
  }

  /** Flushes up to maxBatchUnits queued units; returns a promise only when the store's flush is asynchronous. */
  private flushNext(): Promise<void> | undefined {
    const batch = this.queue.splice(0, this.opts.maxBatchUnits);
    let outcomes: UnitOutcome[] | Promise<UnitOutcome[]>;
    try {
      outcomes = this.opts.flush(batch);
    } catch (err) {
      this.failAll(batch, err);
      return undefined;
    }
    if (!(outcomes instanceof Promise)) {
      this.settle(batch, outcomes);
      return undefined;
    }
    return outcomes.then(
      (o) => this.settle(batch, o),
      (err: unknown) => this.failAll(batch, err),
    );
  }

  /** The transaction was lost as a whole: every unit rejects with why. */
  private failAll(batch: readonly Queued[], err: unknown): void {
    this.counters.failedUnits += batch.length;
    for (const u of batch) u.reject(err);
  }

  private settle(batch: readonly Queued[], outcomes: readonly UnitOutcome[]): void {
    const committed: Array<[Queued, AuditRecord]> = [];
    const failed: Array<[Queued, unknown]> = [];
    batch.forEach((u, i) => {
      const o = outcomes[i]!;
      if ('record' in o) committed.push([u, o.record]);
      else failed.push([u, o.error]);
    });
    this.counters.transactions++;
    this.counters.committedUnits += committed.length;
    this.counters.failedUnits += failed.length;
    this.counters.largestBatch = Math.max(this.counters.largestBatch, committed.length);
    for (const [u, record] of committed) u.resolve(record);
    for (const [u, err] of failed) u.reject(err);
  }
}

/**
 * What a store adds around the queue, the same in both: its audit MAC, whether it is closed, and commit()
 * and stats over the queue. The store writes a batch in `flush` and drains `group` when it closes.
 */
export abstract class GroupCommitStore {
  protected readonly group: GroupCommit;
  protected mac: AuditMac | undefined;
  protected closed = false;

  protected constructor(maxBatchUnits: number) {
    this.group = new GroupCommit({
      maxBatchUnits,
      flush: (units) => this.flush(units),
      isClosed: () => this.closed,
      hasMac: () => this.mac !== undefined,
    });
  }

  /** Writes the units in one transaction; throws, with the transaction rolled back, when none survives. */
  protected abstract flush(units: readonly CommitUnit[]): UnitOutcome[] | Promise<UnitOutcome[]>;

  /** A snapshot of the group-commit counters. */
  get stats(): GroupCommitStats {
    return this.group.stats;
  }

  setAuditMac(mac: AuditMac): void {
    if (typeof mac !== 'function') throw new TypeError('setAuditMac expects a function');
    this.mac = mac;
  }

  commit(mutations: readonly Mutation[], audit: AuditEntry): Promise<AuditRecord> {
    return this.group.commit(mutations, audit);
  }
}
