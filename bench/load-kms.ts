// Load test of `keyward serve`: SigV4-signed GenerateDataKey requests over keep-alive HTTP on loopback,
// from client processes separate from the server, for a bounded time. Run after `npm run build`:
//
//   node dist/bench/load-kms.js [--store sqlite|postgres|both] [--postgres [URL]] [--seconds 60] [--warmup 3]
//                               [--workers 1] [--concurrency 32] [--json FILE]
//
// For each store the parent makes a fresh one (init, a symmetric key, an access key) with the built CLI,
// starts `keyward serve --port 0 --quiet` as a child, forks the workers, and reports req/s, latency
// percentiles and errors over the measured window (warm-up excluded). Every request is signed anew by the
// AWS SDK's signer (@smithy/signature-v4), as an SDK client would.
//
// Stores: sqlite (the default: DIR/keyward.db), postgres (`keyward --postgres URL init` and `serve`), or
// both, one after the other, printed side by side. `--postgres` alone starts a private throwaway
// PostgreSQL server (bench/postgres.ts; it shares the machine's cores with the run, as a local database
// would); `--postgres URL` uses that database instead, which must hold no Keyward store: the run's store is
// dropped from it afterwards (its unseal key goes with the run's temp dir).
//
// Exit 1 on any error, on `keyward serve` not stopping cleanly, or on the SQLite run missing the target;
// PostgreSQL's figures are reported against the same target without failing the run.
import { fork, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import pg from 'pg';
import { redactPostgresUrl } from '../src/cli/postgres.js';
import { NodeSha256 } from './node-sha256.js';
import { startPostgres, type ThrowawayPostgres } from './postgres.js';

const TARGET_RPS = 3000;
const TARGET_P99_MS = 50;
const CLI = fileURLToPath(new URL('../src/cli/keyward.js', import.meta.url));

interface WorkerJob {
  url: string;
  keyId: string;
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
  warmupMs: number;
  measureMs: number;
  concurrency: number;
}

interface WorkerResult {
  /** CPU seconds the worker used (user + system), to tell a client-bound run from a server-bound one. */
  cpuSeconds: number;
  latenciesMs: number[];
  errors: number;
  errorSamples: string[];
  measuredMs: number;
}

// --- worker --------------------------------------------------------------------------------------------

async function worker(job: WorkerJob): Promise<WorkerResult> {
  const u = new URL(job.url);
  const port = Number(u.port);
  const agent = new Agent({ keepAlive: true, maxSockets: job.concurrency });
  const signer = new SignatureV4({
    credentials: { accessKeyId: job.accessKeyId, secretAccessKey: job.secretAccessKey }, region: job.region, service: 'kms',
    sha256: NodeSha256, uriEscapePath: true,
  });
  const body = JSON.stringify({ KeyId: job.keyId, KeySpec: 'AES_256' });
  const latencies: number[] = [];
  const errorSamples: string[] = [];
  let errors = 0;
  const start = performance.now();
  const measureFrom = start + job.warmupMs;
  const end = measureFrom + job.measureMs;

  const one = async (): Promise<void> => {
    const t0 = performance.now();
    const signed = await signer.sign(new HttpRequest({
      method: 'POST', protocol: 'http:', hostname: u.hostname, port, path: '/', body,
      headers: { host: u.host, 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'TrentService.GenerateDataKey' },
    }));
    const status = await new Promise<{ code: number; text: string }>((resolve) => {
      const r = request({ host: u.hostname, port, method: 'POST', path: '/', headers: signed.headers, agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ code: res.statusCode ?? 0, text: res.statusCode === 200 ? '' : Buffer.concat(chunks).toString('utf8') }));
        res.on('error', (e) => resolve({ code: 0, text: e.message }));
      });
      r.on('error', (e) => resolve({ code: 0, text: e.message }));
      r.end(body);
    });
    const t1 = performance.now();
    if (t0 < measureFrom || t1 > end) return;
    latencies.push(t1 - t0);
    if (status.code !== 200) {
      errors++;
      if (errorSamples.length < 5) errorSamples.push(`${status.code} ${status.text.slice(0, 200)}`);
    }
  };
  await Promise.all(Array.from({ length: job.concurrency }, async () => {
    while (performance.now() < end) await one();
  }));
  agent.destroy();
  const cpu = process.cpuUsage();
  return { cpuSeconds: (cpu.user + cpu.system) / 1e6, latenciesMs: latencies, errors, errorSamples, measuredMs: job.measureMs };
}

// --- parent --------------------------------------------------------------------------------------------

type StoreKind = 'sqlite' | 'postgres';

interface RunParams {
  seconds: number;
  warmup: number;
  workers: number;
  concurrency: number;
}

/** The PostgreSQL database of a run: a throwaway server's, or one given by URL. */
interface Database {
  url: string;
  given: boolean;
}

interface RunReport {
  store: StoreKind;
  /** For a PostgreSQL run: whose server (a throwaway one started for the run, or the given URL, no password) and its version. */
  postgres?: { server: string; version: string };
  date: string;
  seconds: number;
  warmupSeconds: number;
  workers: number;
  concurrency: number;
  loadAtStart: number;
  requests: number;
  requestsPerSecond: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
  errors: number;
  errorSamples: string[];
  serverCpuSeconds: number;
  clientCpuSeconds: number;
  /** >= TARGET_RPS, p99 < TARGET_P99_MS and no error. */
  targetsMet: boolean;
  /** keyward serve's exit status on SIGTERM (0: it stopped cleanly). */
  serverExit: number | null;
}

/** Undone on SIGINT/SIGTERM too, so an interrupted run leaves no server or PostgreSQL cluster behind. */
const cleanups = new Set<() => void>();

function cli(env: NodeJS.ProcessEnv, ...args: string[]): string {
  const r = spawnSync(process.execPath, [CLI, ...args], { env, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`keyward ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}

async function startServer(env: NodeJS.ProcessEnv): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--quiet'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  const url = await new Promise<string>((resolve, reject) => {
    child.stderr!.on('data', (c: Buffer) => {
      err += c.toString('utf8');
      const m = /listening on (http:\/\/[^\s]+)/.exec(err);
      if (m) resolve(m[1]!);
    });
    child.once('exit', (code) => reject(new Error(`keyward serve exited (${code}) before listening: ${err}`)));
  });
  return { child, url };
}

/** CPU seconds (user + system) a child has used so far, from /proc (Linux); NaN elsewhere. */
function cpuSecondsOf(pid: number | undefined): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    // utime and stime are fields 14 and 15 of stat(5), in clock ticks (100 per second on Linux).
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return Number.NaN;
  }
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/** One measured run on a fresh store of `store`'s kind: the CLI makes it, `keyward serve` serves it. */
async function runStore(store: StoreKind, db: Database | undefined, p: RunParams): Promise<RunReport> {
  const dir = mkdtempSync(join(tmpdir(), 'keyward-load-'));
  const region = 'us-east-1';
  const env: NodeJS.ProcessEnv = { ...process.env, KEYWARD_DIR: join(dir, 'store'), KEYWARD_REGION: region };
  // The environment names the store, for the CLI and the server alike (not argv, where ps shows a password).
  delete env.KEYWARD_POSTGRES_URL;
  if (db !== undefined) env.KEYWARD_POSTGRES_URL = db.url;
  let server: ChildProcess | undefined;
  let initialized = false;
  const cleanup = (): void => {
    server?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  cleanups.add(cleanup);
  try {
    const postgres = db === undefined ? undefined : {
      server: db.given ? redactPostgresUrl(db.url) : 'a throwaway server on this machine (bench/postgres.ts)',
      version: await withClient(db.url, async (c) => (await c.query<{ v: string }>("SELECT current_setting('server_version') AS v")).rows[0]!.v),
    };
    cli(env, 'init');
    initialized = true;
    const keyId = (JSON.parse(cli(env, '--json', 'create-key', '--description', 'load test')) as { KeyMetadata: { KeyId: string } }).KeyMetadata.KeyId;
    const cred = JSON.parse(cli(env, 'credentials', 'create', '--principal', 'arn:aws:iam::000000000000:root')) as { AccessKeyId: string; SecretAccessKey: string };
    const started = await startServer(env);
    server = started.child;
    const load = loadavg()[0]!;
    const serverCpu0 = cpuSecondsOf(server.pid);
    const on = postgres === undefined ? 'sqlite' : `postgres: PostgreSQL ${postgres.version}, ${postgres.server}`;
    console.log(`load-kms (${on}): ${started.url}, ${p.workers} worker process(es) x ${p.concurrency} keep-alive connections, ${p.warmup} s warm-up + ${p.seconds} s measured; ${cpus().length} cores, 1-min load ${load.toFixed(2)} at start`);
    const job: WorkerJob = {
      url: started.url, keyId, accessKeyId: cred.AccessKeyId, secretAccessKey: cred.SecretAccessKey, region,
      warmupMs: p.warmup * 1000, measureMs: p.seconds * 1000, concurrency: p.concurrency,
    };
    const results = await Promise.all(Array.from({ length: p.workers }, async () => {
      const w = fork(fileURLToPath(import.meta.url), ['--worker'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      w.send(job);
      const [msg] = (await once(w, 'message')) as [WorkerResult];
      w.disconnect();
      return msg;
    }));
    const serverCpu = cpuSecondsOf(server.pid) - serverCpu0;
    const all = Float64Array.from(results.flatMap((r) => r.latenciesMs)).sort();
    const errors = results.reduce((a, r) => a + r.errors, 0);
    const rps = all.length / p.seconds;
    const p99Ms = percentile(all, 99);
    const report: RunReport = {
      store, ...(postgres !== undefined ? { postgres } : {}),
      date: new Date().toISOString(), seconds: p.seconds, warmupSeconds: p.warmup, workers: p.workers, concurrency: p.concurrency, loadAtStart: load,
      requests: all.length, requestsPerSecond: Math.round(rps), p50Ms: percentile(all, 50), p90Ms: percentile(all, 90), p99Ms,
      maxMs: all.length > 0 ? all[all.length - 1]! : Number.NaN, errors, errorSamples: results.flatMap((r) => r.errorSamples).slice(0, 5),
      serverCpuSeconds: serverCpu, clientCpuSeconds: results.reduce((a, r) => a + r.cpuSeconds, 0),
      targetsMet: errors === 0 && rps >= TARGET_RPS && p99Ms < TARGET_P99_MS, serverExit: null,
    };
    console.log(`GenerateDataKey on ${store}: ${report.requests} requests in ${p.seconds} s = ${report.requestsPerSecond} req/s; latency p50 ${report.p50Ms.toFixed(2)} ms, p90 ${report.p90Ms.toFixed(2)} ms, p99 ${report.p99Ms.toFixed(2)} ms, max ${report.maxMs.toFixed(2)} ms; errors ${errors}`);
    for (const s of report.errorSamples) console.log(`  error: ${s}`);
    console.log(`CPU over warm-up and run: server ${serverCpu.toFixed(1)} s, clients ${report.clientCpuSeconds.toFixed(1)} s (${(1e6 * serverCpu / Math.max(1, all.length)).toFixed(0)} µs of server CPU per measured request, warm-up included)`);
    const enforced = store === 'sqlite' ? '' : ' (reported; only errors fail a PostgreSQL run)';
    console.log(`targets: >= ${TARGET_RPS} req/s, p99 < ${TARGET_P99_MS} ms, 0 errors: ${report.targetsMet ? 'met' : 'MISSED'}${enforced}`);
    server.kill('SIGTERM');
    const [code] = (await once(server, 'exit')) as [number | null];
    server = undefined;
    if (code !== 0) console.log(`keyward serve exited with ${code} on SIGTERM`);
    return { ...report, serverExit: code };
  } finally {
    cleanup();
    cleanups.delete(cleanup);
    // The store's unseal key went with the temp dir: what it left in a given database is of no use, and
    // would make the next run's init refuse the database. Only a store this run's init made is dropped.
    if (initialized && db?.given) await withClient(db.url, (c) => c.query('DROP SCHEMA IF EXISTS keyward CASCADE'));
  }
}

/** The runs side by side, one column per store. */
function sideBySide(runs: RunReport[]): string {
  const f = (n: number, d = 2) => (Number.isFinite(n) ? n.toFixed(d) : '-');
  const rows: [string, (r: RunReport) => string][] = [
    ['requests/s', (r) => String(r.requestsPerSecond)],
    ['p50 ms', (r) => f(r.p50Ms)],
    ['p90 ms', (r) => f(r.p90Ms)],
    ['p99 ms', (r) => f(r.p99Ms)],
    ['max ms', (r) => f(r.maxMs)],
    ['errors', (r) => String(r.errors)],
    ['server CPU µs/request', (r) => f((1e6 * r.serverCpuSeconds) / Math.max(1, r.requests), 0)],
    [`target (${TARGET_RPS}/s, p99 < ${TARGET_P99_MS} ms)`, (r) => (r.targetsMet ? 'met' : 'MISSED')],
  ];
  const w0 = Math.max(...rows.map(([k]) => k.length));
  const cells = rows.map(([, get]) => runs.map(get));
  const w = runs.map((r, i) => Math.max(r.store.length, ...cells.map((c) => c[i]!.length)));
  const line = (k: string, vs: string[]) => `${k.padEnd(w0)}  ${vs.map((v, i) => v.padStart(w[i]!)).join('  ')}`;
  return [line('', runs.map((r) => r.store)), ...rows.map(([k], j) => line(k, cells[j]!))].join('\n');
}

/** `--postgres` takes an optional URL, which parseArgs cannot express: it is taken out of argv first. */
function takePostgresOption(argv: string[]): { rest: string[]; postgres: { url: string | undefined } | undefined } {
  const rest: string[] = [];
  let postgres: { url: string | undefined } | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--postgres') {
      const next = argv[i + 1];
      postgres = { url: next !== undefined && !next.startsWith('-') ? next : undefined };
      if (postgres.url !== undefined) i++;
    } else if (a.startsWith('--postgres=')) {
      postgres = { url: a.slice('--postgres='.length) };
    } else rest.push(a);
  }
  return { rest, postgres };
}

async function main(): Promise<number> {
  const { rest, postgres } = takePostgresOption(process.argv.slice(2));
  const { values } = parseArgs({
    args: rest,
    options: {
      store: { type: 'string' }, seconds: { type: 'string', default: '60' }, warmup: { type: 'string', default: '3' },
      workers: { type: 'string', default: '1' }, concurrency: { type: 'string', default: '32' }, json: { type: 'string' },
    },
  });
  const int = (name: 'seconds' | 'warmup' | 'workers' | 'concurrency', min: number, max: number): number => {
    const v = Number(values[name]);
    if (!Number.isInteger(v) || v < min || v > max) throw new RangeError(`--${name} must be an integer from ${min} to ${max}, got ${values[name]}`);
    return v;
  };
  const params: RunParams = { seconds: int('seconds', 1, 3600), warmup: int('warmup', 0, 60), workers: int('workers', 1, 64), concurrency: int('concurrency', 1, 1024) };
  const store = values.store ?? (postgres !== undefined ? 'postgres' : 'sqlite');
  if (store !== 'sqlite' && store !== 'postgres' && store !== 'both') throw new RangeError(`--store must be sqlite, postgres or both, got ${store}`);
  if (store === 'sqlite' && postgres !== undefined) throw new RangeError('--postgres goes with --store postgres or both');
  if (postgres?.url !== undefined && !/^postgres(ql)?:\/\//.test(postgres.url)) throw new RangeError('--postgres URL must be a postgresql:// or postgres:// URL');

  const runs: RunReport[] = [];
  if (store !== 'postgres') runs.push(await runStore('sqlite', undefined, params));
  if (store !== 'sqlite') {
    if (postgres?.url !== undefined) {
      runs.push(await runStore('postgres', { url: postgres.url, given: true }, params));
    } else {
      const server: ThrowawayPostgres = await startPostgres();
      cleanups.add(server.stop);
      try {
        runs.push(await runStore('postgres', { url: server.url, given: false }, params));
      } finally {
        server.stop();
        cleanups.delete(server.stop);
      }
    }
  }
  if (runs.length > 1) console.log(`\n${sideBySide(runs)}`);
  if (values.json !== undefined) writeFileSync(values.json, `${JSON.stringify(runs.length === 1 ? runs[0] : { runs }, null, 2)}\n`);
  // The target binds the SQLite store; PostgreSQL is measured beside it. Any error or unclean stop fails either.
  const failed = runs.some((r) => r.errors > 0 || r.serverExit !== 0 || (r.store === 'sqlite' && !r.targetsMet));
  return failed ? 1 : 0;
}

if (process.argv.includes('--worker')) {
  const [job] = (await once(process, 'message')) as [WorkerJob];
  process.send!(await worker(job));
} else {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      for (const undo of [...cleanups].reverse()) {
        try {
          undo();
        } catch {
          // Undo the rest regardless: a server or cluster left running would outlive the run.
        }
      }
      process.exit(128 + (signal === 'SIGINT' ? 2 : 15));
    });
  }
  process.exitCode = await main();
}
