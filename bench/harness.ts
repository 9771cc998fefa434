// The benchmark harness: every suite compares implementations of one operation on the same inputs.
// Outputs are cross-validated before anything is timed (a fast wrong answer is an error, not a result),
// then each implementation is timed with tinybench, and the results are reported against a baseline.
import { cpus, loadavg, totalmem } from 'node:os';
import { Bench } from 'tinybench';
import { input } from '../src/bench/input.js';
import { quantile } from '../src/bench/measure.js';

export interface Impl {
  /** Column name, e.g. 'keyward-wasm', 'node:crypto', '@noble/ciphers'. */
  name: string;
  /** Runs the operation on one prepared input and returns its output (for cross-validation). */
  run(input: Uint8Array): Uint8Array;
}

export interface Suite {
  name: string;
  /** Message sizes in bytes. */
  sizes: number[];
  /** The implementation the others are compared with (its ratio is 1). */
  baseline: string;
  impls: Impl[];
}

export interface Row {
  suite: string;
  size: number;
  impl: string;
  opsPerSec: number;
  mbPerSec: number;
  p50us: number;
  p99us: number;
  samples: number;
  ratio: number;
}

export interface Machine {
  cpu: string;
  cores: number;
  memoryGiB: number;
  node: string;
  openssl: string;
  platform: string;
  date: string;
  /** 1-minute load average when the run started: other processes' work shows in every number. */
  load: number;
}

export function machine(): Machine {
  return {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    openssl: process.versions.openssl ?? 'none',
    platform: `${process.platform}-${process.arch}`,
    date: new Date().toISOString(),
    load: loadavg()[0]!,
  };
}

export { input };

export class CrossValidationError extends Error {
  override name = 'CrossValidationError';
}


const same = (a: Uint8Array, b: Uint8Array) => a.length === b.length && Buffer.from(a).equals(Buffer.from(b));

/** Throws CrossValidationError unless every implementation gives the baseline's output on msg. */
export function crossValidate(suite: Suite, msg: Uint8Array): void {
  const base = suite.impls.find((i) => i.name === suite.baseline);
  if (!base) throw new Error(`suite ${suite.name}: baseline ${suite.baseline} is not one of its implementations`);
  const expected = base.run(msg);
  for (const impl of suite.impls) {
    const got = impl.run(msg);
    if (!same(got, expected)) {
      throw new CrossValidationError(`${suite.name} @ ${msg.length} B: ${impl.name} disagrees with ${base.name}; not timed`);
    }
  }
}

export interface RunOptions {
  /** Milliseconds of timed runs per implementation and size. */
  time: number;
  warmupTime: number;
  onRow?: (row: Row) => void;
}

export async function runSuite(suite: Suite, opts: RunOptions): Promise<Row[]> {
  const rows: Row[] = [];
  for (const size of suite.sizes) {
    const msg = input(size, size + 1);
    crossValidate(suite, msg);
    // Small messages run in batches per sample so timer resolution and per-sample overhead do not
    // dominate; every implementation gets the same batch.
    const reps = Math.max(1, Math.floor(4096 / Math.max(size, 1)));
    const bench = new Bench({ time: opts.time, warmupTime: opts.warmupTime });
    for (const impl of suite.impls) {
      bench.add(impl.name, () => {
        for (let i = 0; i < reps; i++) impl.run(msg);
      });
    }
    await bench.run();
    const sized: Row[] = [];
    for (const task of bench.tasks) {
      const r = task.result;
      if (r.state !== 'completed') throw new Error(`${suite.name} @ ${size} B: ${task.name} ${r.state}${'error' in r ? `: ${String(r.error)}` : ''}`);
      const opsPerSec = (1000 * reps) / r.period;
      sized.push({
        suite: suite.name,
        size,
        impl: task.name,
        opsPerSec,
        mbPerSec: (opsPerSec * size) / 1e6,
        p50us: (r.latency.p50 * 1000) / reps,
        p99us: (r.latency.p99 * 1000) / reps,
        samples: r.latency.samplesCount * reps,
        ratio: 0,
      });
    }
    const base = sized.find((row) => row.impl === suite.baseline)!;
    for (const row of sized) {
      row.ratio = row.opsPerSec / base.opsPerSec;
      rows.push(row);
      opts.onRow?.(row);
    }
  }
  return rows;
}

/**
 * An implementation of an asynchronous operation, measured in batches: each timed run() starts the
 * suite's `batch` calls at once and resolves when all have. Concurrency is the point for operations
 * that share a resource, such as an engine whose group commit makes one fsync for all calls in flight.
 */
export interface AsyncImpl {
  name: string;
  /** Prepares the implementation and checks its answers; throws CrossValidationError for a wrong one, so nothing is timed. */
  setup(): Promise<void>;
  /** One timed batch of `batch` calls. */
  run(): Promise<void>;
  /** Settles work run() left in flight (one that keeps the next batch queued), once each timing phase ends. */
  drain?(): Promise<void>;
  /** Checks what timing left behind and releases what setup took; runs even when timing failed. */
  teardown(): Promise<void>;
}

export interface AsyncSuite {
  name: string;
  /** Bytes each operation handles (the size and MB/s columns). */
  size: number;
  /** Calls in flight per run(). */
  batch: number;
  baseline: string;
  impls: AsyncImpl[];
}

/**
 * Times an AsyncSuite: ops/s is batch × batches per second; the latency columns are a batch's time divided
 * by `batch`, an amortized cost per operation, not the latency any single call saw. The columns are timed
 * in turns over a few rounds, so a machine whose load changes during the run does not favour one of them.
 */
export async function runAsyncSuite(suite: AsyncSuite, opts: RunOptions): Promise<Row[]> {
  if (!suite.impls.some((i) => i.name === suite.baseline)) throw new Error(`suite ${suite.name}: baseline ${suite.baseline} is not one of its implementations`);
  const ready: AsyncImpl[] = [];
  let outcome: { rows: Row[] } | { error: unknown };
  try {
    for (const impl of suite.impls) {
      ready.push(impl);
      await impl.setup();
    }
    outcome = { rows: await timeAsync(suite, opts) };
  } catch (error) {
    outcome = { error };
  }
  // Teardown runs whatever happened; a failure before it is the one reported.
  const teardowns = await Promise.allSettled(ready.map((i) => i.teardown()));
  if ('error' in outcome) throw outcome.error;
  const failed = teardowns.find((x): x is PromiseRejectedResult => x.status === 'rejected');
  if (failed) throw failed.reason;
  for (const row of outcome.rows) opts.onRow?.(row);
  return outcome.rows;
}

/** Timing rounds of an AsyncSuite; its columns take turns, so load that drifts during a run weighs on each alike. */
const ASYNC_ROUNDS = 4;

async function timeAsync(suite: AsyncSuite, opts: RunOptions): Promise<Row[]> {
  const samples = new Map<string, number[]>(suite.impls.map((i) => [i.name, []]));
  for (let round = 0; round < ASYNC_ROUNDS; round++) {
    // The whole time budget and the usual 64 samples, spread over the rounds; only the first round warms up.
    const bench = new Bench({
      time: opts.time / ASYNC_ROUNDS, iterations: Math.ceil(64 / ASYNC_ROUNDS), retainSamples: true,
      warmup: round === 0, warmupTime: opts.warmupTime,
    });
    for (const impl of suite.impls) bench.add(impl.name, () => impl.run(), { async: true, ...(impl.drain ? { afterAll: () => impl.drain!() } : {}) });
    await bench.run();
    for (const task of bench.tasks) {
      const r = task.result;
      if (r.state !== 'completed') throw new Error(`${suite.name}: ${task.name} ${r.state}${'error' in r ? `: ${String(r.error)}` : ''}`);
      samples.get(task.name)!.push(...r.latency.samples!);
    }
  }
  const rows: Row[] = suite.impls.map((impl) => {
    const ms = samples.get(impl.name)!.sort((a, b) => a - b);
    const total = ms.reduce((a, b) => a + b, 0);
    const opsPerSec = (1000 * suite.batch * ms.length) / total;
    return {
      suite: suite.name, size: suite.size, impl: impl.name, opsPerSec, mbPerSec: (opsPerSec * suite.size) / 1e6,
      p50us: (quantile(ms, 0.5) * 1000) / suite.batch, p99us: (quantile(ms, 0.99) * 1000) / suite.batch,
      samples: ms.length * suite.batch, ratio: 0,
    };
  });
  const base = rows.find((row) => row.impl === suite.baseline)!;
  for (const row of rows) row.ratio = row.opsPerSec / base.opsPerSec;
  return rows;
}

export function formatSize(n: number): string {
  if (n >= 2 ** 20 && n % 2 ** 20 === 0) return `${n / 2 ** 20} MiB`;
  if (n >= 1024 && n % 1024 === 0) return `${n / 1024} KiB`;
  return `${n} B`;
}

const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

export function markdownTable(rows: Row[], baselineOf: (suite: string) => string): string {
  const lines = ['| suite | size | implementation | ops/s | MB/s | p50 µs | p99 µs | vs baseline |', '|---|---:|---|---:|---:|---:|---:|---:|'];
  for (const r of rows) {
    const ratio = r.impl === baselineOf(r.suite) ? '1.00× (baseline)' : `${fmt(r.ratio, 2)}×`;
    lines.push(`| ${r.suite} | ${formatSize(r.size)} | ${r.impl} | ${fmt(r.opsPerSec)} | ${fmt(r.mbPerSec, 1)} | ${fmt(r.p50us, 2)} | ${fmt(r.p99us, 2)} | ${ratio} |`);
  }
  return lines.join('\n');
}

export function consoleLine(r: Row): string {
  return `${r.suite.padEnd(16)} ${formatSize(r.size).padStart(7)}  ${r.impl.padEnd(16)} ${fmt(r.opsPerSec).padStart(12)} ops/s ${fmt(r.mbPerSec, 1).padStart(9)} MB/s  p50 ${fmt(r.p50us, 2).padStart(9)} µs  p99 ${fmt(r.p99us, 2).padStart(9)} µs  ${fmt(r.ratio, 2).padStart(6)}×`;
}
