// `keyward bench`: throughput and latency of the software providers (wasm, node) and a PKCS#11 module
// (pkcs11: --hsm CONFIG or --module/--token, PIN from $KEYWARD_HSM_PIN or a PIN file) on this machine, as
// a terminal table, JSON (--json) and a self-contained HTML report (--html); `keyward bench compare A B`
// sets two JSON reports side by side. Progress goes to stderr (a bar on a terminal, plain lines otherwise),
// so stdout holds only the table or the JSON.
import { readFileSync, writeFileSync } from 'node:fs';
import { NodeCryptoProvider } from '../crypto/node-provider.js';
import { WasmProvider } from '../crypto/wasm-provider.js';
import { benchCases, DEFAULT_LEVELS, DEFAULT_SIZES, KMS_CONCURRENCY, SERVER_CONCURRENCY, SUITES, TLS_CONCURRENCY, type SuiteName } from '../bench/cases.js';
import { htmlReport } from '../bench/html.js';
import { compareReports, comparisonTable, formatSize, fmt, isError, parseReport, textTable, type HsmInfo } from '../bench/report.js';
import { runBench, type NamedProvider, type ProgressEvent } from '../bench/run.js';
import { DEFAULT_SESSIONS, loadHsmConfig, type HsmConfig } from '../hsm/config.js';
import { str, UsageError, type Parsed } from './args.js';
import { say, sayJson, type Command } from './command.js';
import { FileError } from './io.js';

export const BENCH_HELP = `usage: keyward bench [--suite LIST] [--providers LIST] [--sizes LIST] [--seconds S] [--concurrency N]
                     [--hsm-concurrency LIST] [--baseline NAME] [--hsm CONFIG | --module PATH --token LABEL]
                     [--sessions N] [--html FILE] [--json]
       keyward bench compare A.json B.json [--json]

Measures operations per second, MB/s and per-call latency (p50, p99) of each provider on this machine.
Every provider's answers are checked first (against OpenSSL through node:crypto, or as each suite says);
one that disagrees is reported as an error for that operation and is not timed.

  --suite LIST         aes-gcm (encrypt and decrypt at each size), ecdsa (P-256 and P-384 sign and
                       verify), rsa (RSA-2048 PKCS#1 v1.5 sign and verify, OAEP-SHA-256 decrypt), kms (the
                       engine's GenerateDataKey and Decrypt on a temporary store, audit log on), hsm (AES-GCM
                       1 KiB, P-256 and RSA-2048 sign at each --hsm-concurrency, needs the HSM), tls (new
                       TLS 1.3 handshakes through Keyward's terminator with a P-256 and an RSA-2048
                       certificate key held by each provider: wasm a CMK-wrapped key pair unwrapped into
                       memory, node a PEM key file, pkcs11 a token key through the OpenSSL pkcs11 engine;
                       and 4 MiB echoed through the terminator beside plain TCP, the "direct" column;
                       the handshake must present the provider's public key), server (SigV4-signed
                       GenerateDataKey and Decrypt through the KMS endpoint on loopback, one temporary
                       store per provider; Decrypt of a returned blob must give its plaintext back);
                       default: all of them (hsm only with the HSM). The tls and server clients run in
                       a process of their own.
  --providers LIST     wasm (Keyward's WebAssembly core), node (OpenSSL through node:crypto), pkcs11
                       (the HSM's module); default: wasm,node, and pkcs11 with the HSM
  --sizes LIST         AES-GCM message sizes in bytes (default ${DEFAULT_SIZES.join(',')})
  --seconds S          timed seconds per operation and provider (default 1; decimals allowed)
  --concurrency N      calls in flight (default 1; kms ${KMS_CONCURRENCY}, since its store commits the calls
                       in flight together; tls handshakes ${TLS_CONCURRENCY}; server requests ${SERVER_CONCURRENCY}, one
                       keep-alive connection each; the tls bulk echo always uses one connection)
  --hsm-concurrency LIST
                       the hsm suite's calls in flight (default ${DEFAULT_LEVELS.join(',')})
  --baseline NAME      the provider the ratios compare with (default node)
  --hsm CONFIG         the HSM config file (or $KEYWARD_HSM_CONFIG), as the other commands take it:
                       {"module", "tokenLabel" or "slot", "pinFile", "sessions"}; $KEYWARD_HSM_* override
                       it, and the PIN comes from $KEYWARD_HSM_PIN or the PIN file, never from the config
                       file or the command line
  --module PATH        or the PKCS#11 module (.so) itself: SoftHSM2's /usr/lib/softhsm/libsofthsm2.so or
                       the vendor's
  --token LABEL        its token (or $KEYWARD_HSM_TOKEN, or $KEYWARD_HSM_SLOT); the PIN is read from
                       $KEYWARD_HSM_PIN or the file $KEYWARD_HSM_PIN_FILE, never from the command line
  --sessions N         logged-in sessions calls spread over (default $KEYWARD_HSM_SESSIONS, else 4)
  --html FILE          also write a self-contained HTML report (charts as inline SVG)
  --json               print the report as JSON instead of the table (keep it for bench compare)

Keys are imported as session objects and destroyed afterwards; the tls suite's two token keys (labels
keyward-bench-tls-*) are deleted when the run ends: the token is left as it was.
Exit status: 0 when every measurement ran; 1 when any provider failed a check or an operation, or a
token key of the run could not be deleted (the report is still written).`;

const PROVIDERS = ['wasm', 'node', 'pkcs11'] as const;

function list(values: Parsed['values'], name: string): string[] | undefined {
  const v = str(values, name);
  if (v === undefined) return undefined;
  const items = v.split(',').map((s) => s.trim());
  if (items.some((s) => s === '')) throw new UsageError(`--${name} takes a comma-separated list, got ${JSON.stringify(v)}`);
  return [...new Set(items)];
}

function intList(values: Parsed['values'], name: string, min: number, max: number): number[] | undefined {
  return list(values, name)?.map((s) => {
    if (!/^\d+$/.test(s) || Number(s) < min || Number(s) > max) throw new UsageError(`--${name} takes integers from ${min} to ${max}, got ${JSON.stringify(s)}`);
    return Number(s);
  });
}

function oneOf<T extends string>(items: string[] | undefined, name: string, allowed: readonly T[]): T[] | undefined {
  const bad = items?.find((s) => !allowed.includes(s as T));
  if (bad !== undefined) throw new UsageError(`--${name}: unknown ${JSON.stringify(bad)}; choose from ${allowed.join(', ')}`);
  return items as T[] | undefined;
}

function progress(e: ProgressEvent): void {
  const tty = process.stderr.isTTY;
  if (tty && e.current) {
    const width = 30;
    const filled = Math.round((e.done / e.total) * width);
    const c = e.current;
    const line = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${e.done}/${e.total} ${c.op} ${formatSize(c.size)} ${c.provider} ×${c.concurrency}`;
    process.stderr.write(`\r\x1b[2K${line.slice(0, (process.stderr.columns || 100) - 1)}`);
  } else if (tty && e.done === e.total) {
    process.stderr.write('\r\x1b[2K');
  } else if (!tty && e.row) {
    const r = e.row;
    const what = isError(r) ? `ERROR ${r.error}` : `${fmt(r.opsPerSec)} ops/s`;
    process.stderr.write(`[${e.done}/${e.total}] ${r.op} ${formatSize(r.size)} ${r.provider} ×${r.concurrency}: ${what}\n`);
  }
}

const bench: Command = {
  name: 'bench',
  help: BENCH_HELP,
  options: {
    suite: { type: 'string' },
    providers: { type: 'string' },
    sizes: { type: 'string' },
    seconds: { type: 'string' },
    concurrency: { type: 'string' },
    'hsm-concurrency': { type: 'string' },
    baseline: { type: 'string' },
    module: { type: 'string' },
    token: { type: 'string' },
    sessions: { type: 'string' },
    html: { type: 'string' },
  },
  operands: { min: 0, max: 0 },
  async run({ global: g, values }) {
    const module = str(values, 'module');
    // --hsm is the global option (with $KEYWARD_HSM_CONFIG); given on the command line it excludes
    // --module/--token, while --module overrides a config named only by the environment.
    if (str(values, 'hsm') !== undefined && (module !== undefined || str(values, 'token') !== undefined)) {
      throw new UsageError('give the HSM either as --hsm CONFIG or as --module PATH --token LABEL, not both');
    }
    const hsmFile = module === undefined ? g.hsm : undefined;
    const withHsm = module !== undefined || hsmFile !== undefined;
    const suites = oneOf(list(values, 'suite'), 'suite', SUITES) ?? SUITES.filter((s) => s !== 'hsm' || withHsm);
    const names = oneOf(list(values, 'providers'), 'providers', PROVIDERS) ?? PROVIDERS.filter((p) => p !== 'pkcs11' || withHsm);
    if (!withHsm && names.includes('pkcs11')) throw new UsageError('the pkcs11 provider needs --module PATH (and --token LABEL) or --hsm CONFIG');
    if (!withHsm && suites.includes('hsm')) throw new UsageError('the hsm suite needs --module PATH (and --token LABEL) or --hsm CONFIG');
    const secondsText = str(values, 'seconds') ?? '1';
    const seconds = Number(secondsText);
    if (!/^\d*\.?\d+$/.test(secondsText) || !(seconds > 0) || seconds > 3600) throw new UsageError(`--seconds takes a number of seconds above 0 and up to 3600, got ${JSON.stringify(secondsText)}`);
    const concurrency = intList(values, 'concurrency', 1, 4096);
    if (concurrency && concurrency.length > 1) throw new UsageError('--concurrency takes one number (the hsm suite takes a list: --hsm-concurrency)');
    const baseline = str(values, 'baseline') ?? (names.includes('node') ? 'node' : names[0]!);
    if (!(names as string[]).includes(baseline)) throw new UsageError(`--baseline ${baseline} is not one of the providers (${names.join(', ')})`);
    const sessions = intList(values, 'sessions', 1, 256);
    const htmlPath = str(values, 'html');

    // The HSM as everywhere in Keyward: a config file (--hsm) or the module and token given here, with the
    // environment on top; the PIN only from $KEYWARD_HSM_PIN or a PIN file.
    let config: HsmConfig | undefined;
    if (withHsm && names.includes('pkcs11')) {
      const env: NodeJS.ProcessEnv = { ...process.env };
      if (module !== undefined) {
        env.KEYWARD_HSM_MODULE = module;
        if (str(values, 'token') !== undefined) Object.assign(env, { KEYWARD_HSM_TOKEN: str(values, 'token'), KEYWARD_HSM_SLOT: '' });
        else if (!env.KEYWARD_HSM_TOKEN && !env.KEYWARD_HSM_SLOT) throw new UsageError('--module needs --token LABEL (or $KEYWARD_HSM_TOKEN / $KEYWARD_HSM_SLOT)');
      }
      if (sessions) env.KEYWARD_HSM_SESSIONS = String(sessions[0]);
      config = loadHsmConfig({ env, ...(hsmFile !== undefined ? { file: hsmFile } : {}) });
    }

    const cases = benchCases({
      suites: suites as SuiteName[],
      sizes: intList(values, 'sizes', 1, 64 * 2 ** 20) ?? DEFAULT_SIZES,
      ...(concurrency ? { concurrency: concurrency[0]! } : {}),
      levels: intList(values, 'hsm-concurrency', 1, 4096) ?? DEFAULT_LEVELS,
      ...(config ? { hsm: config } : {}),
    });
    const providers: NamedProvider[] = [];
    let hsm: HsmInfo | null = null;
    let close = () => {};
    for (const name of names) {
      if (name === 'wasm') providers.push({ name, provider: new WasmProvider() });
      if (name === 'node') providers.push({ name, provider: new NodeCryptoProvider() });
      if (name === 'pkcs11') {
        // Loaded only when asked for: a software-only bench never loads the PKCS#11 bindings.
        const { Pkcs11Provider } = await import('../hsm/pkcs11-provider.js');
        const p = new Pkcs11Provider(config!);
        close = () => p.close();
        const info = p.module.info();
        const t = p.slot.tokenInfo();
        hsm = {
          module: config!.module, ...info, token: { label: t.label, manufacturer: t.manufacturer, model: t.model, serial: t.serial },
          sessions: config!.sessions ?? DEFAULT_SESSIONS, hotPath: p.hotPath === 'native' ? 'the native addon (native threads)' : 'pkcs11js (the event loop thread)',
        };
        providers.push({ name, provider: p });
      }
    }
    let report;
    let cleanup: string | undefined;
    try {
      report = await runBench({
        cases, providers, seconds, baseline, suites, hsm, onProgress: progress,
        onCleanupError: (e) => (cleanup = e instanceof Error ? `${e.name}: ${e.message}` : String(e)),
        command: ['keyward', ...process.argv.slice(2)].join(' '),
      });
    } finally {
      close();
    }
    if (htmlPath !== undefined) {
      try {
        writeFileSync(htmlPath, htmlReport(report));
      } catch (e) {
        throw new FileError((e as NodeJS.ErrnoException).code ?? 'EIO', `cannot write ${htmlPath}: ${(e as Error).message}`);
      }
    }
    if (g.json) say(JSON.stringify(report, null, 2));
    else say(textTable(report));
    if (cleanup !== undefined) process.stderr.write(`keyward bench: cleaning up after the run: ${cleanup}\n`);
    const failed = report.rows.filter(isError);
    if (failed.length === 0) return cleanup === undefined ? 0 : 1;
    process.stderr.write(`keyward bench: ${failed.length} of ${report.rows.length} measurements failed and were not timed:\n${failed.map((r) => `  ${r.op} ${formatSize(r.size)} ${r.provider} ×${r.concurrency}: ${r.error}\n`).join('')}`);
    return 1;
  },
};

function readReport(path: string) {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'EIO';
    throw new FileError(code, `cannot read ${path}: ${code === 'ENOENT' ? 'no such file or directory' : (e as Error).message}`);
  }
  return parseReport(text, path);
}

const compare: Command = {
  name: 'bench compare',
  options: {},
  operands: { min: 2, max: 2, names: 'the two reports (A.json B.json)' },
  help: BENCH_HELP,
  async run({ global: g, positionals }) {
    const [a, b] = [readReport(positionals[0]!), readReport(positionals[1]!)];
    const c = compareReports(a, b);
    if (g.json) sayJson(c);
    else {
      say(`A: ${positionals[0]} (${a.date}, ${a.machine.cpu})\nB: ${positionals[1]} (${b.date}, ${b.machine.cpu})\n`);
      say(comparisonTable(c, 'A', 'B'));
    }
    return 0;
  },
};

export const benchCommands: readonly Command[] = [bench, compare];
