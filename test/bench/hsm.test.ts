// The HSM bench suites on a real SoftHSM2 token, with tiny durations and 4 operations per run: every
// column passes cross-validation, a wrong answer is refused, and the rows have the shape the report
// and targets read.
import { describe, expect, it } from 'vitest';
import { input, runAsyncSuite, type AsyncSuite, type Row } from '../../bench/harness.js';

// Read by the suite module when it loads.
process.env.KEYWARD_BENCH_HSM_BATCH = '4';
const { env, hsmOps, hsmSuites, PATHS, HSM_PATHS, SESSION_COUNTS } = await import('../../bench/suites/hsm.js');

const opts = { time: 20, warmupTime: 5 };

function expectRow(r: Row): void {
  expect(Number.isFinite(r.opsPerSec) && r.opsPerSec > 0, `${r.suite} ${r.impl} ops/s`).toBe(true);
  expect(Number.isFinite(r.p99us) && r.p99us >= r.p50us && r.p50us >= 0, `${r.suite} ${r.impl} latency`).toBe(true);
  expect(r.samples).toBeGreaterThan(0);
  expect(r.ratio).toBeGreaterThan(0);
}

describe('bench/suites/hsm', () => {
  it('refuses a flipped bit from every path of every operation, and accepts the right answer', async () => {
    const e = await env();
    for (const op of hsmOps) {
      const m = input(op.size, 5);
      for (const path of PATHS) {
        const out = path === 'pkcs11js' ? op.pkcs11js(e, m) : path === 'native-single' ? await op.single(e, m) : path === 'native-batch' ? (await op.batch(e, [m]))[0]! : path === 'keyward-wasm' ? op.wasm(e, m) : op.node(e, m);
        expect(op.check(e, path, m, out), `${op.suite} @ ${op.size} ${path}`).toBe(true);
        const bad = Uint8Array.from(out);
        bad[bad.length >> 1]! ^= 1;
        expect(op.check(e, path, m, bad), `${op.suite} @ ${op.size} ${path}, one bit flipped`).toBe(false);
        // An HSM signature is not taken for a software one: each path is checked against its own key.
        if (op.suite !== 'hsm-aes-256-gcm-encrypt') expect(op.check(e, HSM_PATHS.includes(path) ? 'node:crypto' : 'pkcs11js', m, out)).toBe(false);
      }
    }
  });

  it('cross-validates and times every suite, with one row per column and size', async () => {
    const rows: Row[] = [];
    for (const suite of hsmSuites) rows.push(...('measure' in suite ? await suite.measure({ time: 60, warmupTime: 10 }) : await runAsyncSuite(suite as AsyncSuite, opts)));
    rows.forEach(expectRow);
    for (const op of hsmOps) {
      const got = rows.filter((r) => r.suite === op.suite && r.size === op.size);
      expect(got.map((r) => r.impl)).toEqual(PATHS);
      expect(got.find((r) => r.impl === 'pkcs11js')!.ratio).toBe(1);
    }
    const loop = rows.filter((r) => r.suite === 'hsm-event-loop');
    expect(loop.map((r) => `${r.size} ${r.impl}`)).toEqual([
      ...HSM_PATHS.map((p) => `1024 ${p} (aes-256-gcm-encrypt)`),
      ...HSM_PATHS.map((p) => `32 ${p} (ecdsa-p256-sign)`),
    ]);
    // One pool per session count, at least 1 and 2, for each operation; ratios are to one session.
    expect(SESSION_COUNTS.slice(0, 2)).toEqual([1, 2]);
    const scaling = rows.filter((r) => r.suite === 'hsm-sessions');
    expect(scaling.map((r) => `${r.size} ${r.impl}`)).toEqual(['aes-256-gcm-encrypt', 'ecdsa-p256-sign', 'rsa2048-sign'].flatMap((op) =>
      SESSION_COUNTS.map((n) => `${op.startsWith('aes') ? 1024 : 32} ${n} session${n === 1 ? '' : 's'} (${op})`)));
    expect(scaling.filter((r) => r.impl.startsWith('1 session ')).map((r) => r.ratio)).toEqual([1, 1, 1]);
    for (const suite of ['hsm-kms-generate-data-key', 'hsm-kms-decrypt']) {
      expect(rows.filter((r) => r.suite === suite).map((r) => r.impl)).toEqual(['keyward-hsm-cmk', 'keyward-wasm']);
    }
  }, 60_000);
});
