// Closed-loop timing of an asynchronous operation: `concurrency` callers each start the next call as soon
// as their previous one resolves, until the time is up. ops/s is completed calls over the elapsed time;
// the latencies are those of single calls as their callers saw them (queueing behind other calls in
// flight included), which is what shows an HSM's saturation as concurrency grows.
import { performance } from 'node:perf_hooks';

export interface Measurement {
  /** Calls completed. */
  ops: number;
  /** Wall time from the first call to the last answer, in seconds. */
  seconds: number;
  opsPerSec: number;
  /** Latency percentiles of single calls, in microseconds. */
  p50us: number;
  p99us: number;
}

/** Latencies kept for the percentiles; past this, a uniform sample of them (Vitter's algorithm R). */
const MAX_SAMPLES = 1 << 20;

/** The q-quantile of sorted values, interpolated. */
export function quantile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) throw new RangeError('no samples');
  const at = (sorted.length - 1) * q;
  const lo = Math.floor(at);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (at - lo);
}

/**
 * Runs `op` from `concurrency` callers for `seconds` (each caller completes at least one call) and
 * measures it. A failing call stops every caller and, once all have returned, rejects the measurement
 * with that call's error (so no call is still running when the caller releases what op uses).
 */
export async function measure(op: () => Promise<unknown>, seconds: number, concurrency: number): Promise<Measurement> {
  if (!(seconds > 0)) throw new RangeError(`expected seconds > 0, got ${seconds}`);
  if (!Number.isSafeInteger(concurrency) || concurrency < 1) throw new RangeError(`expected concurrency to be a positive integer, got ${concurrency}`);
  const samples = new Float64Array(MAX_SAMPLES);
  let ops = 0;
  const start = performance.now();
  const end = start + seconds * 1000;
  let failed: { error: unknown } | undefined;
  const caller = async () => {
    try {
      do {
        const t = performance.now();
        await op();
        const us = (performance.now() - t) * 1000;
        if (ops < MAX_SAMPLES) samples[ops] = us;
        else {
          const j = Math.floor(Math.random() * (ops + 1));
          if (j < MAX_SAMPLES) samples[j] = us;
        }
        ops++;
      } while (!failed && performance.now() < end);
    } catch (error) {
      failed ??= { error };
    }
  };
  await Promise.all(Array.from({ length: concurrency }, caller));
  if (failed) throw failed.error;
  const elapsed = (performance.now() - start) / 1000;
  const kept = samples.subarray(0, Math.min(ops, MAX_SAMPLES)).sort();
  return { ops, seconds: elapsed, opsPerSec: ops / elapsed, p50us: quantile(kept, 0.5), p99us: quantile(kept, 0.99) };
}
