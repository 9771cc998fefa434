// Load test of `keyward serve`: SigV4-signed GenerateDataKey requests over keep-alive HTTP on loopback,
// from client processes separate from the server, for a bounded time. Run after `npm run build`:
//
//   node dist/bench/load-kms.js [--seconds 60] [--warmup 3] [--workers 1] [--concurrency 32] [--json FILE]
//
// The parent makes a fresh store (init, a symmetric key, an access key) with the built CLI, starts
// `keyward serve --port 0 --quiet` as a child, forks the workers, and reports req/s, latency percentiles
// and errors over the measured window (warm-up excluded). Every request is signed anew by the AWS SDK's
// signer (@smithy/signature-v4), as an SDK client would. Exit 1 on any error or a missed target.
import { fork, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, createHmac } from 'node:crypto';
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

/** node:crypto SHA-256 / HMAC in the shape the SDK signer takes. */
class NodeSha256 {
  private h: ReturnType<typeof createHash> | ReturnType<typeof createHmac>;
  private readonly secret: Buffer | undefined;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.secret = secret === undefined ? undefined
      : typeof secret === 'string' ? Buffer.from(secret, 'utf8')
        : ArrayBuffer.isView(secret) ? Buffer.from(secret.buffer, secret.byteOffset, secret.byteLength) : Buffer.from(secret);
    this.h = this.secret === undefined ? createHash('sha256') : createHmac('sha256', this.secret);
  }
  update(data: string | Uint8Array): void {
    this.h.update(data);
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.h.digest());
  }
  reset(): void {
    this.h = this.secret === undefined ? createHash('sha256') : createHmac('sha256', this.secret);
  }
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

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      seconds: { type: 'string', default: '60' }, warmup: { type: 'string', default: '3' }, workers: { type: 'string', default: '1' },
      concurrency: { type: 'string', default: '32' }, json: { type: 'string' }, worker: { type: 'boolean', default: false },
    },
  });
  const int = (name: 'seconds' | 'warmup' | 'workers' | 'concurrency', min: number, max: number): number => {
    const v = Number(values[name]);
    if (!Number.isInteger(v) || v < min || v > max) throw new RangeError(`--${name} must be an integer from ${min} to ${max}, got ${values[name]}`);
    return v;
  };
  const seconds = int('seconds', 1, 3600);
  const warmup = int('warmup', 0, 60);
  const workers = int('workers', 1, 64);
  const concurrency = int('concurrency', 1, 1024);

  const dir = mkdtempSync(join(tmpdir(), 'keyward-load-'));
  const region = 'us-east-1';
  const env = { ...process.env, KEYWARD_DIR: join(dir, 'store'), KEYWARD_REGION: region };
  let server: ChildProcess | undefined;
  try {
    cli(env, 'init');
    const keyId = (JSON.parse(cli(env, '--json', 'create-key', '--description', 'load test')) as { KeyMetadata: { KeyId: string } }).KeyMetadata.KeyId;
    const cred = JSON.parse(cli(env, 'credentials', 'create', '--principal', 'arn:aws:iam::000000000000:root')) as { AccessKeyId: string; SecretAccessKey: string };
    const started = await startServer(env);
    server = started.child;
    const load = loadavg()[0]!;
    const serverCpu0 = cpuSecondsOf(server.pid);
    console.log(`load-kms: ${started.url}, ${workers} worker process(es) x ${concurrency} keep-alive connections, ${warmup} s warm-up + ${seconds} s measured; ${cpus().length} cores, 1-min load ${load.toFixed(2)} at start`);
    const job: WorkerJob = {
      url: started.url, keyId, accessKeyId: cred.AccessKeyId, secretAccessKey: cred.SecretAccessKey, region,
      warmupMs: warmup * 1000, measureMs: seconds * 1000, concurrency,
    };
    const results = await Promise.all(Array.from({ length: workers }, async () => {
      const w = fork(fileURLToPath(import.meta.url), ['--worker'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      w.send(job);
      const [msg] = (await once(w, 'message')) as [WorkerResult];
      w.disconnect();
      return msg;
    }));
    const serverCpu = cpuSecondsOf(server.pid) - serverCpu0;
    const all = Float64Array.from(results.flatMap((r) => r.latenciesMs)).sort();
    const errors = results.reduce((a, r) => a + r.errors, 0);
    const rps = all.length / seconds;
    const report = {
      date: new Date().toISOString(), seconds, warmupSeconds: warmup, workers, concurrency, loadAtStart: load, requests: all.length,
      requestsPerSecond: Math.round(rps), p50Ms: percentile(all, 50), p90Ms: percentile(all, 90), p99Ms: percentile(all, 99),
      maxMs: all.length > 0 ? all[all.length - 1]! : Number.NaN, errors, errorSamples: results.flatMap((r) => r.errorSamples).slice(0, 5),
      serverCpuSeconds: serverCpu, clientCpuSeconds: results.reduce((a, r) => a + r.cpuSeconds, 0),
    };
    const ok = errors === 0 && rps >= TARGET_RPS && report.p99Ms < TARGET_P99_MS;
    console.log(`GenerateDataKey: ${report.requests} requests in ${seconds} s = ${report.requestsPerSecond} req/s; latency p50 ${report.p50Ms.toFixed(2)} ms, p90 ${report.p90Ms.toFixed(2)} ms, p99 ${report.p99Ms.toFixed(2)} ms, max ${report.maxMs.toFixed(2)} ms; errors ${errors}`);
    for (const s of report.errorSamples) console.log(`  error: ${s}`);
    console.log(`CPU over warm-up and run: server ${serverCpu.toFixed(1)} s, clients ${report.clientCpuSeconds.toFixed(1)} s (${(1e6 * serverCpu / Math.max(1, all.length)).toFixed(0)} µs of server CPU per measured request, warm-up included)`);
    console.log(`targets: >= ${TARGET_RPS} req/s, p99 < ${TARGET_P99_MS} ms, 0 errors: ${ok ? 'met' : 'MISSED'}`);
    if (values.json !== undefined) writeFileSync(values.json, `${JSON.stringify(report, null, 2)}\n`);
    server.kill('SIGTERM');
    const [code] = (await once(server, 'exit')) as [number | null];
    server = undefined;
    if (code !== 0) {
      console.log(`keyward serve exited with ${code} on SIGTERM`);
      return 1;
    }
    return ok ? 0 : 1;
  } finally {
    server?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv.includes('--worker')) {
  const [job] = (await once(process, 'message')) as [WorkerJob];
  process.send!(await worker(job));
} else {
  process.exitCode = await main();
}
