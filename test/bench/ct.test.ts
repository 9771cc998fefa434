// The short form of `npm run ct` (bench/ct): the positive controls must still be flagged, and a few
// cheap targets must still pass, with sample counts small enough for CI. A control that stops being
// flagged means the measurement has gone blind, and every "no leak" beside it means nothing.
import { describe, expect, it } from 'vitest';
import { aesTargets } from '../../bench/ct/aes.js';
import { earlyExitCompare, secretIndexedLookup } from '../../bench/ct/controls.js';
import { LEAK_T, maxWelch, runConfirmed, runTarget, type CtResult, type Runnable } from '../../bench/ct/dudect.js';
import { gcmTargets } from '../../bench/ct/gcm.js';
import { hmacTargets } from '../../bench/ct/hmac.js';

const show = (r: CtResult): string => `${r.name}: n=${r.n.join('/')} ×${r.batch}, max|t| = ${r.maxT.toFixed(2)}`;
const byName = (list: Runnable[], name: string): Runnable => list.find((t) => t.name === name)!;

/** Uniform numbers in [0, 1) from a 32-bit seed (mulberry32). */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('dudect statistics', () => {
  // Two classes of 4000 measurements: normal noise, and class 1 shifted by `shift` standard deviations.
  // Seeded, so the no-shift sample is the same every run (an unseeded one exceeds LEAK_T about once in 10^4).
  function sample(shift: number, seed: number): { times: Float64Array; cls: Uint8Array } {
    const uniform = mulberry32(seed);
    const times = new Float64Array(8000);
    const cls = new Uint8Array(8000);
    for (let i = 0; i < times.length; i++) {
      cls[i] = i & 1;
      const normal = Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());
      times[i] = 1000 + 10 * normal + (cls[i] ? 10 * shift : 0);
    }
    return { times, cls };
  }

  it('sees a shift of a quarter of the noise (expected t ≈ 11), and none where there is none', () => {
    const shifted = sample(0.25, 1);
    expect(maxWelch(shifted.times, shifted.cls).t).toBeGreaterThan(LEAK_T);
    const same = sample(0, 2);
    expect(maxWelch(same.times, same.cls).t).toBeLessThan(LEAK_T);
  });
});

describe('constant-time check, short form', () => {
  it('flags the early-exit comparison (positive control)', () => {
    const r = runTarget(earlyExitCompare, 3000);
    expect(r.leak, show(r)).toBe(true);
  });

  it('flags the secret-indexed lookup in a 64 MiB table (positive control)', () => {
    const r = runTarget(secretIndexedLookup, 3000);
    expect(r.leak, show(r)).toBe(true);
  });

  for (const t of [
    byName(hmacTargets, 'HMAC-SHA-256 verify: tag comparison'),
    byName(gcmTargets, 'AES-256-GCM open: tag comparison'),
    byName(aesTargets, 'AES-128 key schedule + 1 block'),
  ]) {
    it(`${t.name}: no leak`, () => {
      // As `npm run ct` judges: a first |t| above 4.5 is measured again with 4× the measurements.
      const results = runConfirmed(t, 20_000);
      expect(results.at(-1)!.leak, results.map(show).join('; ')).toBe(false);
    });
  }
});
