// The batch runner of asynchronous suites, and the KMS engine suites end to end at a tiny time budget
// (their cross-validation across providers and their audit check after timing).
import { describe, expect, it } from 'vitest';
import { CrossValidationError, runAsyncSuite, type AsyncImpl, type AsyncSuite } from '../../bench/harness.js';
import { BATCH, kmsSuites } from '../../bench/suites/kms.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** An implementation that records what the runner did with it. */
function impl(name: string, runMs: number, opts: { setup?: () => Promise<void>; teardown?: () => Promise<void> } = {}) {
  const log = { setup: 0, run: 0, teardown: 0 };
  const i: AsyncImpl = {
    name,
    setup: async () => {
      log.setup++;
      await opts.setup?.();
    },
    run: async () => {
      log.run++;
      await sleep(runMs);
    },
    teardown: async () => {
      log.teardown++;
      await opts.teardown?.();
    },
  };
  return { i, log };
}

describe('runAsyncSuite', () => {
  it('reports batch × runs per second and the per-operation share of a run, with ratios to the baseline', async () => {
    const fast = impl('fast', 2);
    const slow = impl('slow', 8);
    const suite: AsyncSuite = { name: 'fake', size: 32, batch: 100, baseline: 'slow', impls: [fast.i, slow.i] };
    const rows = await runAsyncSuite(suite, { time: 60, warmupTime: 5 });
    expect(rows.map((r) => r.impl)).toEqual(['fast', 'slow']);
    const [f, s] = rows as [(typeof rows)[0], (typeof rows)[0]];
    // A run of 8 ms (timers make it a little longer) is 100 operations: at most 12,500 ops/s.
    expect(s.opsPerSec).toBeLessThanOrEqual(12_500);
    expect(s.opsPerSec).toBeGreaterThan(2_000);
    expect(s.p50us).toBeGreaterThanOrEqual(80);
    expect(s.ratio).toBe(1);
    expect(f.ratio).toBeGreaterThan(1.5);
    expect(f.mbPerSec).toBeCloseTo((f.opsPerSec * 32) / 1e6, 6);
    for (const { log } of [fast, slow]) expect(log).toMatchObject({ setup: 1, teardown: 1 });
  });

  it('times nothing when a setup finds a wrong answer, and still tears down what was set up', async () => {
    const good = impl('good', 1);
    const bad = impl('bad', 1, { setup: () => Promise.reject(new CrossValidationError('bad disagrees')) });
    const never = impl('never', 1);
    const suite: AsyncSuite = { name: 'fake', size: 32, batch: 10, baseline: 'good', impls: [good.i, bad.i, never.i] };
    await expect(runAsyncSuite(suite, { time: 20, warmupTime: 5 })).rejects.toThrow(CrossValidationError);
    expect(good.log).toEqual({ setup: 1, run: 0, teardown: 1 });
    expect(bad.log).toEqual({ setup: 1, run: 0, teardown: 1 });
    expect(never.log).toEqual({ setup: 0, run: 0, teardown: 0 });
  });

  it('reports a failed teardown check, after the timing', async () => {
    const a = impl('a', 1, { teardown: () => Promise.reject(new Error('audit log does not verify')) });
    const suite: AsyncSuite = { name: 'fake', size: 32, batch: 10, baseline: 'a', impls: [a.i] };
    await expect(runAsyncSuite(suite, { time: 20, warmupTime: 5 })).rejects.toThrow(/audit log does not verify/);
    expect(a.log.run).toBeGreaterThan(0);
  });
});

describe('the kms suites', () => {
  it('cross-validate both providers, time GenerateDataKey and Decrypt, and find every call audited', async () => {
    const rows = [];
    for (const suite of kmsSuites) rows.push(...(await runAsyncSuite(suite, { time: 30, warmupTime: 5 })));
    expect(rows.map((r) => `${r.suite}/${r.impl}`)).toEqual([
      'kms-generate-data-key/keyward-wasm', 'kms-generate-data-key/node:crypto', 'kms-decrypt/keyward-wasm', 'kms-decrypt/node:crypto',
    ]);
    for (const r of rows) {
      expect(r.opsPerSec).toBeGreaterThan(0);
      expect(r.samples % BATCH).toBe(0);
    }
  }, 60_000);
});
