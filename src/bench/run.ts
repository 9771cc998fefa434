// Runs benchmark cases on providers: each case is prepared and cross-checked on every provider, then the
// providers that passed are timed one after the other (in this process, or by the client process a case
// measures with). A provider whose check or call fails gets an error row for that case and the run goes on.
import type { Provider } from '../crypto/provider.js';
import type { BenchCase, Prepared } from './cases.js';
import { measure } from './measure.js';
import { applyBaseline, machine, REPORT_FORMAT, type HsmInfo, type Report, type Row } from './report.js';

export interface NamedProvider {
  /** The column name: 'wasm', 'node', 'pkcs11', … */
  name: string;
  provider: Provider;
}

export interface ProgressEvent {
  /** Measurements done so far, and in all. */
  done: number;
  total: number;
  /** The one starting (absent on the final event). */
  current?: { op: string; size: number; provider: string; concurrency: number };
  /** The row just finished. */
  row?: Row;
}

export interface BenchOptions {
  cases: BenchCase[];
  providers: NamedProvider[];
  /** Timed seconds per case and provider. */
  seconds: number;
  /** The provider the ratios compare with. */
  baseline: string;
  /** The command line, recorded in the report. */
  command: string;
  suites: readonly string[];
  hsm?: HsmInfo | null;
  onProgress?: (e: ProgressEvent) => void;
  /** Told of a failure to release what cases share (token keys left behind); without it, runBench throws it. */
  onCleanupError?: (e: unknown) => void;
}

/** Warm-up before timing: a fifth of the time, at most a quarter second. */
const warmup = (seconds: number) => Math.min(0.25, seconds / 5);

const message = (e: unknown) => (e instanceof Error ? `${e.name}: ${e.message}` : String(e));

/** One case on one provider: prepared and cross-checked, warmed up, timed, released; a failure is an error row. */
async function runOne(c: BenchCase, name: string, provider: Provider, seconds: number): Promise<Row> {
  const key = { suite: c.suite, op: c.op, size: c.size, concurrency: c.concurrency, provider: name };
  let p: Prepared;
  try {
    p = await c.prepare(provider);
  } catch (e) {
    return { ...key, error: message(e) };
  }
  const timed = 'measure' in p ? p.measure : (s: number, concurrency: number) => measure(p.run, s, concurrency);
  let row: Row;
  try {
    await timed(warmup(seconds), c.concurrency);
    const t = await timed(seconds, c.concurrency);
    row = { ...key, ops: t.ops, seconds: t.seconds, opsPerSec: t.opsPerSec, mbPerSec: (t.opsPerSec * c.size) / 1e6, p50us: t.p50us, p99us: t.p99us, ratio: null };
  } catch (e) {
    row = { ...key, error: message(e) };
  }
  // A provider that cannot release its keys is in error too; the run goes on with the next one.
  try {
    await p.release();
  } catch (e) {
    row = { ...key, error: `releasing: ${message(e)}` };
  }
  return row;
}

export async function runBench(o: BenchOptions): Promise<Report> {
  if (!o.providers.some((p) => p.name === o.baseline)) throw new RangeError(`the baseline ${o.baseline} is not one of the providers (${o.providers.map((p) => p.name).join(', ')})`);
  const date = new Date().toISOString();
  const m = machine();
  const rows: Row[] = [];
  // A case that involves no provider runs once, under its own column; it is handed the first provider, which it ignores.
  const columnsOf = (c: BenchCase): NamedProvider[] => (c.column === undefined ? o.providers : [{ name: c.column, provider: o.providers[0]!.provider }]);
  const total = o.cases.reduce((n, c) => n + columnsOf(c).length, 0);
  let done = 0;
  try {
    for (const c of o.cases) {
      for (const { name, provider } of columnsOf(c)) {
        o.onProgress?.({ done, total, current: { op: c.op, size: c.size, provider: name, concurrency: c.concurrency } });
        const row = await runOne(c, name, provider, o.seconds);
        rows.push(row);
        done++;
        o.onProgress?.({ done, total, row });
      }
    }
  } finally {
    // What the cases share (a client process, token keys) is released once, whatever happened.
    for (const f of new Set(o.cases.map((c) => c.finish))) {
      try {
        await f?.();
      } catch (e) {
        if (!o.onCleanupError) throw e;
        o.onCleanupError(e);
      }
    }
  }
  applyBaseline(rows, o.baseline);
  return {
    format: REPORT_FORMAT, command: o.command, date, machine: m, hsm: o.hsm ?? null,
    settings: { seconds: o.seconds, baseline: o.baseline, providers: o.providers.map((p) => p.name), suites: [...o.suites] }, rows,
  };
}
