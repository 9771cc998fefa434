// keyward bench end to end: the built CLI runs every suite briefly against wasm, node and SoftHSM2 and
// writes a valid JSON report and an HTML report that headless Chromium renders with its charts, offline;
// bench compare reads two reports; and a deliberately wrong provider is caught by the cross-check,
// reported as an error and never timed.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { benchCases } from '../../src/bench/cases.js';
import { htmlReport } from '../../src/bench/html.js';
import { isError, REPORT_FORMAT, type MeasuredRow, type Report } from '../../src/bench/report.js';
import { measure } from '../../src/bench/measure.js';
import { runBench } from '../../src/bench/run.js';
import type { KeyHandle, MessageType, SigningAlgorithm } from '../../src/crypto/provider.js';
import { WasmProvider } from '../../src/crypto/wasm-provider.js';
import { SOFTHSM_MODULE, softhsmTokens, USER_PIN } from '../hsm/_softhsm.js';
import { keyward, requireBuild, tempDirs } from './_cli.js';

const tokens = softhsmTokens('bench');

const CHROMIUM = '/usr/bin/chromium';
const SUITES = ['aes-gcm', 'ecdsa', 'rsa', 'kms', 'hsm', 'tls', 'server'];
const PROVIDERS = ['wasm', 'node', 'pkcs11'];

/** The objects kept in the token (SoftHSM2's file backend writes each token object to a file of its own). */
function tokenObjects(): string[] {
  const root = join(tokens.dir, 'tokens');
  return readdirSync(root).flatMap((t) => readdirSync(join(root, t)).filter((f) => f.endsWith('.object') && f !== 'token.object'));
}

/** Where every measured row must be sane: calls made, positive rates, ordered percentiles, the baseline at 1. */
function checkRows(report: Report): void {
  for (const r of report.rows) {
    expect(isError(r), `${r.op} ${r.provider}: ${isError(r) ? r.error : ''}`).toBe(false);
    const m = r as MeasuredRow;
    expect(m.ops).toBeGreaterThanOrEqual(m.concurrency);
    expect(m.opsPerSec).toBeGreaterThan(0);
    expect(m.mbPerSec).toBeCloseTo((m.opsPerSec * m.size) / 1e6, 6);
    expect(m.p50us).toBeGreaterThan(0);
    expect(m.p99us).toBeGreaterThanOrEqual(m.p50us);
    if (m.provider === report.settings.baseline) expect(m.ratio).toBe(1);
    // The tls suite's plain-TCP row has a column of its own and no baseline to compare with.
    else if (m.provider === 'direct') expect(m.ratio).toBeNull();
    else expect(m.ratio).toBeGreaterThan(0);
  }
}

describe('keyward bench', () => {
  requireBuild();
  const tmp = tempDirs();
  let browser: Browser;
  let work: string;
  let report: Report;

  beforeAll(async () => {
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('runs every suite on wasm, node and SoftHSM2 and writes a valid JSON report', () => {
    work = tmp();
    const html = join(work, 'report.html');
    const r = keyward(
      ['bench', '--seconds', '0.02', '--sizes', '32,1024', '--hsm-concurrency', '1,4', '--concurrency', '2', '--module', SOFTHSM_MODULE, '--token', 'bench', '--sessions', '2', '--json', '--html', html],
      undefined,
      { KEYWARD_HSM_PIN: USER_PIN },
    );
    expect(r.err).not.toContain(USER_PIN);
    expect(r.status, r.err).toBe(0);
    report = JSON.parse(r.out) as Report;
    writeFileSync(join(work, 'a.json'), r.out);
    // Not a terminal: one plain progress line per measurement.
    const lines = r.err.trim().split('\n');
    expect(lines.length).toBe(report.rows.length);
    expect(lines.every((l, i) => l.startsWith(`[${i + 1}/${report.rows.length}] `))).toBe(true);

    expect(report.format).toBe(REPORT_FORMAT);
    expect(Number.isNaN(Date.parse(report.date))).toBe(false);
    expect(report.machine.cpu).not.toBe('');
    expect(report.machine.cores).toBeGreaterThan(0);
    expect(report.machine.node).toBe(process.version);
    expect(report.machine.openssl).toBe(process.versions.openssl);
    expect(report.hsm).toMatchObject({ module: SOFTHSM_MODULE, manufacturer: 'SoftHSM', cryptokiVersion: '2.40', sessions: 2, token: { label: 'bench', model: 'SoftHSM v2' } });
    expect(report.settings).toEqual({ seconds: 0.02, baseline: 'node', providers: PROVIDERS, suites: SUITES });
    checkRows(report);
    const ops = (suite: string) => [...new Set(report.rows.filter((x) => x.suite === suite).map((x) => `${x.op}@${x.size}x${x.concurrency}`))].sort();
    expect(ops('aes-gcm')).toEqual(['aes-gcm-decrypt@1024x2', 'aes-gcm-decrypt@32x2', 'aes-gcm-encrypt@1024x2', 'aes-gcm-encrypt@32x2']);
    expect(ops('ecdsa')).toEqual(['ecdsa-p256-sign@32x2', 'ecdsa-p256-verify@32x2', 'ecdsa-p384-sign@32x2', 'ecdsa-p384-verify@32x2']);
    expect(ops('rsa')).toEqual(['rsa2048-oaep-decrypt@32x2', 'rsa2048-sign@32x2', 'rsa2048-verify@32x2']);
    expect(ops('kms')).toEqual(['kms-decrypt@32x2', 'kms-generate-data-key@32x2']);
    expect(ops('hsm')).toEqual(['aes-gcm-encrypt@1024x1', 'aes-gcm-encrypt@1024x4', 'ecdsa-p256-sign@32x1', 'ecdsa-p256-sign@32x4', 'rsa2048-sign@32x1', 'rsa2048-sign@32x4']);
    expect(ops('tls')).toEqual(['tcp-bulk@4194304x1', 'tls13-bulk@4194304x1', 'tls13-handshake-p256@0x2', 'tls13-handshake-rsa2048@0x2']);
    expect(ops('server')).toEqual(['server-decrypt@32x2', 'server-generate-data-key@32x2']);
    for (const suite of SUITES) for (const p of PROVIDERS) expect(report.rows.some((x) => x.suite === suite && x.provider === p), `${suite} ${p}`).toBe(true);
    // Plain TCP is measured once, in its own column; every TLS handshake row is one provider's key.
    expect(report.rows.filter((x) => x.op === 'tcp-bulk').map((x) => x.provider)).toEqual(['direct']);
    for (const op of ['tls13-handshake-p256', 'tls13-handshake-rsa2048', 'tls13-bulk', 'server-generate-data-key', 'server-decrypt']) {
      expect(report.rows.filter((x) => x.op === op).map((x) => x.provider), op).toEqual(PROVIDERS);
    }
    // The tls suite's token keys are deleted when the run ends: the token holds no key objects.
    expect(tokenObjects()).toEqual([]);
  }, 120_000);

  it('writes an HTML report that renders offline in headless Chromium with non-empty charts', async () => {
    const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    const fetched: string[] = [];
    await page.route('**/*', (route) => {
      const url = route.request().url();
      if (url.startsWith('file:')) return route.continue();
      fetched.push(url);
      return route.abort();
    });
    await page.goto(`file://${join(work, 'report.html')}`);
    expect(fetched).toEqual([]);
    const charts = await page.evaluate(() =>
      [...document.querySelectorAll('svg.chart')].map((svg) => ({
        kind: svg.classList.contains('bar-chart') ? 'bar' : 'line',
        box: svg.getBoundingClientRect().width * svg.getBoundingClientRect().height,
        bars: [...svg.querySelectorAll('rect.bar')].map((r) => (r as SVGGraphicsElement).getBBox().width),
        lines: [...svg.querySelectorAll('path.series')].map((p) => (p as SVGPathElement).getTotalLength()),
        points: svg.querySelectorAll('circle').length,
      })),
    );
    const bars = charts.filter((c) => c.kind === 'bar');
    const lines = charts.filter((c) => c.kind === 'line');
    // One bar chart per suite, one bar per measured row; for the hsm suite a throughput and a latency
    // chart per operation, with a line per provider (latency: p50 and p99) over the two concurrencies.
    expect(bars.length).toBe(SUITES.length);
    expect(bars.flatMap((c) => c.bars).length).toBe(report.rows.length);
    for (const c of charts) expect(c.box).toBeGreaterThan(10_000);
    for (const c of bars) for (const w of c.bars) expect(w).toBeGreaterThan(0);
    expect(bars.every((c) => c.bars.some((w) => w > 100))).toBe(true);
    expect(lines.length).toBe(6);
    for (const c of lines) {
      expect(c.lines.length === PROVIDERS.length || c.lines.length === 2 * PROVIDERS.length).toBe(true);
      for (const len of c.lines) expect(len).toBeGreaterThan(0);
      expect(c.points).toBe(2 * c.lines.length);
    }

    // The screenshot is not blank: many pixels are neither the white page nor one flat colour.
    const png = await page.screenshot({ fullPage: true });
    const ink = await page.evaluate(async (src) => {
      const img = new Image();
      img.src = src;
      await img.decode();
      const canvas = document.createElement('canvas');
      [canvas.width, canvas.height] = [img.width, img.height];
      const ctx = canvas.getContext('2d')!;
      ctx.drawImage(img, 0, 0);
      const d = ctx.getImageData(0, 0, img.width, img.height).data;
      let dark = 0;
      const colours = new Set<number>();
      for (let i = 0; i < d.length; i += 4) {
        if (d[i]! + d[i + 1]! + d[i + 2]! < 600) dark++;
        colours.add((d[i]! << 16) | (d[i + 1]! << 8) | d[i + 2]!);
      }
      return { dark: dark / (d.length / 4), colours: colours.size, height: img.height };
    }, `data:image/png;base64,${png.toString('base64')}`);
    expect(ink.height).toBeGreaterThan(2000);
    expect(ink.dark).toBeGreaterThan(0.02);
    expect(ink.colours).toBeGreaterThan(50);
    await page.close();
  });

  it('bench compare prints the ratios of two reports and refuses a file that is not one', () => {
    const b = JSON.parse(readFileSync(join(work, 'a.json'), 'utf8')) as Report;
    for (const r of b.rows) if (!isError(r)) r.opsPerSec *= 2;
    b.rows.pop();
    writeFileSync(join(work, 'b.json'), JSON.stringify(b));
    const r = keyward(['bench', 'compare', join(work, 'a.json'), join(work, 'b.json')]);
    expect(r.err).toBe('');
    expect(r.status).toBe(0);
    const rows = r.out.split('\n').filter((l) => /^(aes|ecdsa|rsa|kms|tls|tcp|server)/.test(l));
    expect(rows.length).toBe(report.rows.length);
    expect(rows.filter((l) => l.endsWith(' 2.00×')).length).toBe(report.rows.length - 1);
    expect(rows.filter((l) => l.endsWith(' -')).length).toBe(1);

    const json = JSON.parse(keyward(['--json', 'bench', 'compare', join(work, 'a.json'), join(work, 'b.json')]).out) as { ratio: number | null }[];
    expect(json.filter((c) => c.ratio !== null).every((c) => Math.abs(c.ratio! - 2) < 1e-9)).toBe(true);

    writeFileSync(join(work, 'not.json'), '{"rows": []}');
    const bad = keyward(['bench', 'compare', join(work, 'a.json'), join(work, 'not.json')]);
    expect(bad.status).toBe(1);
    expect(bad.err).toMatch(/not\.json is not a keyward bench report/);
    const missing = keyward(['bench', 'compare', join(work, 'a.json'), join(work, 'nope.json')]);
    expect(missing.status).toBe(1);
    expect(missing.err).toMatch(/ENOENT: cannot read .*nope\.json/);
  });

  it('refuses bad options with a usage error', () => {
    for (const [args, msg] of [
      [['--suite', 'aes'], /--suite: unknown "aes"/],
      [['--providers', 'pkcs11'], /the pkcs11 provider needs --module/],
      [['--suite', 'hsm'], /the hsm suite needs --module/],
      [['--seconds', '0'], /--seconds takes a number/],
      [['--baseline', 'pkcs11'], /--baseline pkcs11 is not one of the providers/],
      [['--module', SOFTHSM_MODULE], /--module needs --token/],
      [['--hsm', '/nonexistent/hsm.json', '--module', SOFTHSM_MODULE, '--token', 'bench'], /give the HSM either as --hsm CONFIG or as --module PATH --token LABEL, not both/],
      [['--hsm', '/nonexistent/hsm.json', '--token', 'bench'], /give the HSM either as --hsm CONFIG or as --module PATH --token LABEL, not both/],
      [['--suite', 'tls', '--providers', 'pkcs11'], /the pkcs11 provider needs --module PATH \(and --token LABEL\) or --hsm CONFIG/],
    ] as const) {
      const r = keyward(['bench', ...args]);
      expect(r.status, args.join(' ')).toBe(64);
      expect(r.err).toMatch(msg);
    }
  });

  it('names a wrong or missing PIN without printing it', () => {
    const args = ['bench', '--suite', 'aes-gcm', '--sizes', '32', '--seconds', '0.01', '--module', SOFTHSM_MODULE, '--token', 'bench'];
    const wrongPin = keyward(args, undefined, { KEYWARD_HSM_PIN: '00000000' });
    expect(wrongPin.status).toBe(1);
    expect(wrongPin.err).toMatch(/Pkcs11Error: C_Login failed: CKR_PIN_INCORRECT/);
    expect(wrongPin.err + wrongPin.out).not.toContain('00000000');
    const noPin = keyward(args);
    expect(noPin.status).toBe(1);
    expect(noPin.err).toMatch(/HsmConfigError: .*KEYWARD_HSM_PIN/);
  });

  it('catches a wrong implementation in the cross-check, reports it as an error and never times it', async () => {
    // Flips a bit of every AES-GCM ciphertext and signs the wrong message, and counts its calls.
    const calls = { encrypt: 0, sign: 0 };
    class Broken extends WasmProvider {
      override async encrypt(key: KeyHandle, iv: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Promise<Uint8Array> {
        calls.encrypt++;
        const out = await super.encrypt(key, iv, plaintext, aad);
        out[0]! ^= 1;
        return out;
      }
      override async sign(key: KeyHandle, algorithm: SigningAlgorithm, message: Uint8Array, type: MessageType): Promise<Uint8Array> {
        calls.sign++;
        return super.sign(key, algorithm, Uint8Array.of(...message, 0), type);
      }
    }
    const cases = benchCases({ suites: ['aes-gcm', 'ecdsa'], sizes: [64], levels: [] });
    const r = await runBench({
      cases, providers: [{ name: 'wasm', provider: new WasmProvider() }, { name: 'broken', provider: new Broken() }],
      seconds: 0.02, baseline: 'wasm', command: 'test', suites: ['aes-gcm', 'ecdsa'],
    });
    const broken = r.rows.filter((x) => x.provider === 'broken');
    const errors = broken.filter(isError);
    expect(errors.map((e) => e.op).sort()).toEqual(['aes-gcm-encrypt', 'ecdsa-p256-sign', 'ecdsa-p384-sign']);
    for (const e of errors) expect(e.error).toMatch(/^CrossCheckError: (aes-gcm-encrypt|ecdsa-p256-sign|ecdsa-p384-sign): .*, unlike node:crypto \(OpenSSL\); not timed$/);
    expect(errors.find((e) => e.op === 'aes-gcm-encrypt')!.error).toContain('sealed 64 bytes differently');
    // One call each, the cross-check's: none was timed.
    expect(calls).toEqual({ encrypt: 1, sign: 2 });
    // The operations it does right are timed; the correct provider is timed everywhere.
    expect(broken.filter((x) => !isError(x)).map((x) => x.op).sort()).toEqual(['aes-gcm-decrypt', 'ecdsa-p256-verify', 'ecdsa-p384-verify']);
    expect(r.rows.filter((x) => x.provider === 'wasm').every((x) => !isError(x))).toBe(true);
    const html = htmlReport(r);
    expect(html.match(/class="bar-error"/g)?.length).toBe(3);
    expect(html.match(/<tr class="error">/g)?.length).toBe(3);
  });
});

describe('measure', () => {
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  it('keeps the given number of calls in flight and reports single-call latencies', async () => {
    let inFlight = 0;
    let most = 0;
    const m = await measure(async () => {
      most = Math.max(most, ++inFlight);
      await sleep(5);
      inFlight--;
    }, 0.1, 4);
    expect(most).toBe(4);
    expect(m.ops).toBeGreaterThanOrEqual(8);
    expect(m.opsPerSec).toBeCloseTo(m.ops / m.seconds, 6);
    expect(m.seconds).toBeGreaterThanOrEqual(0.1);
    expect(m.p50us).toBeGreaterThanOrEqual(4000);
    expect(m.p99us).toBeGreaterThanOrEqual(m.p50us);
  });

  it('stops every caller on a failure and rejects with it only once none is running', async () => {
    let calls = 0;
    let inFlight = 0;
    const boom = new Error('third call fails');
    await expect(measure(async () => {
      const n = ++calls;
      inFlight++;
      await sleep(2);
      inFlight--;
      if (n === 3) throw boom;
    }, 5, 3)).rejects.toBe(boom);
    expect(inFlight).toBe(0);
    const after = calls;
    await sleep(20);
    expect(calls).toBe(after);
    expect(calls).toBeLessThan(10);
  });

  it('refuses a duration or concurrency it cannot run', async () => {
    await expect(measure(async () => undefined, 0, 1)).rejects.toThrow(RangeError);
    await expect(measure(async () => undefined, 0.01, 0)).rejects.toThrow(/concurrency/);
  });
});
