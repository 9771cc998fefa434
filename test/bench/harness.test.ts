import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { crossValidate, CrossValidationError, input, runAsyncSuite, runSuite, type AsyncImpl, type Suite } from '../../bench/harness.js';

const sha = (m: Uint8Array) => createHash('sha256').update(m).digest();

describe('bench harness', () => {
  it('refuses to time an implementation whose output differs from the baseline', () => {
    const suite: Suite = {
      name: 'sha256',
      sizes: [64],
      baseline: 'good',
      impls: [
        { name: 'good', run: sha },
        { name: 'off-by-one-bit', run: (m) => { const d = sha(m); d[0]! ^= 1; return d; } },
      ],
    };
    expect(() => crossValidate(suite, input(64))).toThrow(CrossValidationError);
    expect(() => crossValidate(suite, input(64))).toThrow(/off-by-one-bit disagrees with good/);
  });

  it('times agreeing implementations and reports ratios to the baseline', async () => {
    const suite: Suite = {
      name: 'sha256',
      sizes: [32, 4096],
      baseline: 'a',
      impls: [
        { name: 'a', run: sha },
        { name: 'b', run: (m) => createHash('sha256').update(m).digest() },
      ],
    };
    const rows = await runSuite(suite, { time: 20, warmupTime: 5 });
    expect(rows.map((r) => `${r.size}/${r.impl}`)).toEqual(['32/a', '32/b', '4096/a', '4096/b']);
    for (const r of rows) {
      expect(r.opsPerSec).toBeGreaterThan(0);
      expect(r.mbPerSec).toBeCloseTo((r.opsPerSec * r.size) / 1e6, 6);
      expect(r.p99us).toBeGreaterThanOrEqual(r.p50us);
    }
    expect(rows.filter((r) => r.impl === 'a').every((r) => r.ratio === 1)).toBe(true);
  });

  it('drains an async implementation that keeps work queued when each timing phase ends, before the next column runs', async () => {
    let inFlight = 0;
    let queued: Promise<void> | undefined;
    const events: string[] = [];
    const work = () => {
      inFlight++;
      return new Promise<void>((r) => setTimeout(() => { inFlight--; r(); }, 1));
    };
    const pipelined: AsyncImpl = {
      name: 'pipelined',
      setup: async () => undefined,
      async run() {
        const running = queued ?? work();
        queued = work();
        await running;
      },
      async drain() {
        const last = queued;
        queued = undefined;
        await last;
        events.push(`drained:${inFlight}`);
      },
      teardown: async () => undefined,
    };
    const other: AsyncImpl = {
      name: 'other',
      setup: async () => undefined,
      run: async () => { events.push(`other-run:${inFlight}`); },
      teardown: async () => undefined,
    };
    await runAsyncSuite({ name: 'pipe', size: 1, batch: 1, baseline: 'other', impls: [pipelined, other] }, { time: 40, warmupTime: 5 });
    expect(events.filter((e) => e.startsWith('drained')).length).toBeGreaterThanOrEqual(4);
    expect(events.every((e) => e.endsWith(':0'))).toBe(true);
  });

  it('makes the same deterministic input every time, different per seed', () => {
    expect(input(100, 3)).toEqual(input(100, 3));
    expect(input(100, 3)).not.toEqual(input(100, 4));
  });
});
