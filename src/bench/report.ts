// The benchmark report: its JSON shape (written by --json, read back by `keyward bench compare`), the
// machine it describes, the terminal table, and the comparison of two reports.
import { cpus, loadavg, totalmem } from 'node:os';

export const REPORT_FORMAT = 'keyward-bench/1';

export interface Machine {
  cpu: string;
  cores: number;
  memoryGiB: number;
  platform: string;
  node: string;
  openssl: string;
  /** 1-minute load average at the start: other processes' work shows in every number. */
  load: number;
}

/** The PKCS#11 module and token measured (C_GetInfo, C_GetTokenInfo). */
export interface HsmInfo {
  module: string;
  cryptokiVersion: string;
  manufacturer: string;
  library: string;
  libraryVersion: string;
  token: { label: string; manufacturer: string; model: string; serial: string };
  /** Logged-in sessions the provider spreads calls over. */
  sessions: number;
  /** Which engine made the hot-path calls: the native addon's threads or pkcs11js. */
  hotPath: string;
}

interface RowKey {
  suite: string;
  op: string;
  size: number;
  provider: string;
  concurrency: number;
}

export interface MeasuredRow extends RowKey {
  ops: number;
  seconds: number;
  opsPerSec: number;
  mbPerSec: number;
  p50us: number;
  p99us: number;
  /** ops/s over the baseline provider's for the same operation, size and concurrency; null without one. */
  ratio: number | null;
}

/** A provider that failed the cross-check or the operation: reported, never timed. */
export interface ErrorRow extends RowKey {
  error: string;
}

export type Row = MeasuredRow | ErrorRow;

export interface Report {
  format: typeof REPORT_FORMAT;
  command: string;
  date: string;
  machine: Machine;
  hsm: HsmInfo | null;
  settings: { seconds: number; baseline: string; providers: string[]; suites: string[] };
  rows: Row[];
}

export const isError = (r: Row): r is ErrorRow => 'error' in r;

export function machine(): Machine {
  return {
    cpu: cpus()[0]?.model.trim() ?? 'unknown',
    cores: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    platform: `${process.platform}-${process.arch}`,
    node: process.version,
    openssl: process.versions.openssl ?? 'none',
    load: loadavg()[0]!,
  };
}

export function formatSize(n: number): string {
  if (n >= 2 ** 20 && n % 2 ** 20 === 0) return `${n / 2 ** 20} MiB`;
  if (n >= 1024 && n % 1024 === 0) return `${n / 1024} KiB`;
  return `${n} B`;
}

export const fmt = (n: number, digits = 0): string => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

/** A latency in µs, or ms once it is long. */
export const fmtLatency = (us: number): string => (us >= 1000 ? `${fmt(us / 1000, 2)} ms` : `${fmt(us, 1)} µs`);

export const sameCase = (a: RowKey, b: RowKey): boolean => a.suite === b.suite && a.op === b.op && a.size === b.size && a.concurrency === b.concurrency;

/** Fills in each measured row's ratio to the baseline provider's row of the same case. */
export function applyBaseline(rows: Row[], baseline: string): void {
  for (const r of rows) {
    if (isError(r)) continue;
    const base = rows.find((b) => b.provider === baseline && sameCase(b, r));
    r.ratio = base && !isError(base) ? r.opsPerSec / base.opsPerSec : null;
  }
}

function align(lines: string[][], right: boolean[]): string {
  const widths = lines[0]!.map((_, i) => Math.max(...lines.map((l) => [...(l[i] ?? '')].length)));
  return lines.map((l) => l.map((c, i) => (right[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd()).join('\n');
}

/** The terminal table: one block per suite. */
export function textTable(report: Report): string {
  const m = report.machine;
  const out = [
    `keyward bench, ${report.date}`,
    `${m.cpu} (${m.cores} cores, ${m.memoryGiB} GiB, load ${m.load.toFixed(2)}), ${m.platform}, Node ${m.node}, OpenSSL ${m.openssl}`,
  ];
  if (report.hsm) {
    const h = report.hsm;
    out.push(`HSM: ${h.library} ${h.libraryVersion} (${h.manufacturer}, Cryptoki ${h.cryptokiVersion}), token "${h.token.label}" ${h.token.model} ${h.token.serial}, ${h.sessions} sessions, ${h.hotPath}`);
  }
  out.push(`${report.settings.seconds} s per measurement; ratios to ${report.settings.baseline}`);
  for (const suite of [...new Set(report.rows.map((r) => r.suite))]) {
    const lines = [['operation', 'size', 'provider', 'in flight', 'ops/s', 'MB/s', 'p50', 'p99', `vs ${report.settings.baseline}`]];
    for (const r of report.rows.filter((x) => x.suite === suite)) {
      const head = [r.op, formatSize(r.size), r.provider, String(r.concurrency)];
      if (isError(r)) lines.push([...head, `ERROR ${r.error}`]);
      else lines.push([...head, fmt(r.opsPerSec), fmt(r.mbPerSec, 2), fmtLatency(r.p50us), fmtLatency(r.p99us), r.ratio === null ? '-' : `${fmt(r.ratio, 2)}×`]);
    }
    // Error rows carry one long last cell; align the measured columns only.
    const measured = lines.filter((l) => l.length > 5);
    const table = align(measured, [false, true, false, true, true, true, true, true, true]).split('\n');
    let i = 0;
    out.push('', `${suite}:`, ...lines.map((l) => (l.length > 5 ? table[i++]! : l.join('  '))));
  }
  return out.join('\n');
}

/** A report read back from JSON; a clear error names what is wrong with the file. */
export function parseReport(text: string, source: string): Report {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new TypeError(`${source} is not JSON: ${(e as Error).message}`);
  }
  const r = v as Partial<Report>;
  if (typeof r !== 'object' || r === null || r.format !== REPORT_FORMAT) throw new TypeError(`${source} is not a keyward bench report (expected "format": "${REPORT_FORMAT}"; write one with keyward bench --json)`);
  if (!Array.isArray(r.rows) || !r.machine || !r.settings || typeof r.date !== 'string') throw new TypeError(`${source}: a keyward bench report needs rows, machine, settings and date`);
  for (const [i, row] of r.rows.entries()) {
    const x = row as unknown as Record<string, unknown>;
    const keyed = typeof x.suite === 'string' && typeof x.op === 'string' && typeof x.provider === 'string' && typeof x.size === 'number' && typeof x.concurrency === 'number';
    if (!keyed || (typeof x.error !== 'string' && typeof x.opsPerSec !== 'number')) throw new TypeError(`${source}: row ${i} is not a benchmark row`);
  }
  return r as Report;
}

export interface Comparison {
  op: string;
  size: number;
  provider: string;
  concurrency: number;
  a: number | null;
  b: number | null;
  /** b's ops/s over a's, when both measured it. */
  ratio: number | null;
}

/** Pairs the rows of two reports by operation, size, provider and concurrency. */
export function compareReports(a: Report, b: Report): Comparison[] {
  const ops = (r: Row | undefined) => (r && !isError(r) ? r.opsPerSec : null);
  const out: Comparison[] = [];
  for (const ra of a.rows) {
    const rb = b.rows.find((x) => sameCase(x, ra) && x.provider === ra.provider);
    const [x, y] = [ops(ra), ops(rb)];
    out.push({ op: ra.op, size: ra.size, provider: ra.provider, concurrency: ra.concurrency, a: x, b: y, ratio: x !== null && y !== null ? y / x : null });
  }
  for (const rb of b.rows) {
    if (!a.rows.some((x) => sameCase(x, rb) && x.provider === rb.provider)) out.push({ op: rb.op, size: rb.size, provider: rb.provider, concurrency: rb.concurrency, a: null, b: ops(rb), ratio: null });
  }
  return out;
}

export function comparisonTable(c: Comparison[], a: string, b: string): string {
  const cell = (n: number | null) => (n === null ? '-' : fmt(n));
  const lines = [['operation', 'size', 'provider', 'in flight', `${a} ops/s`, `${b} ops/s`, 'b/a']];
  for (const x of c) lines.push([x.op, formatSize(x.size), x.provider, String(x.concurrency), cell(x.a), cell(x.b), x.ratio === null ? '-' : `${fmt(x.ratio, 2)}×`]);
  return align(lines, [false, true, false, true, true, true, true]);
}
