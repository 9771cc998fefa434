// A dudect-style timing-leak test (Reparaz, Balasch, Verbauwhede, "Dude, is my code constant time?",
// eprint 2016/1123): two input classes (usually a fixed secret and a random one) are timed in random
// interleaved order, the measurements are cropped at a ladder of percentiles, and Welch's t-test
// compares the classes for every crop. |t| above 4.5 on any crop counts as a leak, as dudect has it,
// once a second run with more measurements confirms it (runConfirmed).
//
// Each measurement times a batch of calls long enough (≥ MIN_BATCH_NS) that the timer's resolution and
// overhead do not matter. Both classes draw inputs from pools of the same size, built before anything
// is timed, and (by default) a measurement's inputs are first copied into one shared set of staging
// objects: the timed calls then read the same addresses whichever the class, and only values differ.
// Without that, code of a few dozen ns showed |t| up to 34 from where the two pools lay in the heap.
// Interleaving at random makes slow drifts (other processes, frequency changes, JIT tiers) hit both
// classes alike, which is what makes the test usable on a loaded machine.
import { randomBytes, randomFillSync } from 'node:crypto';

export const LEAK_T = 4.5;
const MIN_BATCH_NS = 20_000;
const POOL = 256;
const WARM_MS = 300;
export const CONFIRM = 4;
// dudect's crop ladder, thresholds at the percentiles 1 − 0.5^(10·(i+1)/CROPS) of all measurements.
const CROPS = 20;
// A crop with fewer measurements in a class than this is not tested (too few to say anything).
const MIN_PER_CROP = 100;

export interface CtTarget<I> {
  /** What is timed, e.g. 'ECDSA sign P-256'. */
  name: string;
  /** The two classes' names, e.g. ['scalar = 1', 'random scalar']. */
  classes: readonly [string, string];
  /** One fresh input of class 0 or 1; called POOL times per class before timing starts. */
  input(cls: 0 | 1): I;
  /** One call of the code under test on an input. */
  call(x: I): void;
  /** Measurements per class in a full run (`npm run ct`); the classes get this many each on average. */
  measurements: number;
  /** Inputs per class (default 256); smaller when an input is expensive to make (RSA keys). */
  pool?: number;
  /**
   * Whether inputs are copied into one shared set of staging objects before each measurement (the
   * default), so the timed code reads the same addresses in both classes. Inputs must then be typed
   * arrays, or objects of them, of equal lengths in both classes. Off for inputs that cannot be (RSA
   * keys, whose component lengths differ) and whose calls are too long for an address to matter.
   */
  stage?: boolean;
  /**
   * Run untimed before every measurement: puts state that the code keeps between calls on public data
   * (RSA's context of the last modulus) in the same condition whichever class comes next.
   */
  reset?: () => void;
  /** A deliberately variable-time function: the run fails unless it is flagged. */
  control?: boolean;
}

export interface CtResult {
  name: string;
  classes: readonly [string, string];
  control: boolean;
  /** Measurements taken in each class. */
  n: [number, number];
  /** Calls per measurement. */
  batch: number;
  /**
   * Each class's 10th percentile time of one call, in µs (on a loaded machine the medians can fall
   * into different modes of a bimodal distribution; the lower tail shows the undisturbed cost, and
   * which class is faster if either is).
   */
  classUs: [number, number];
  /** The largest |t| over the crops, and the crop's percentile (1 = uncropped). */
  maxT: number;
  crop: number;
  /** |t| > LEAK_T. */
  leak: boolean;
  /** As it should be: a control leaks, a target does not. */
  ok: boolean;
  seconds: number;
}

/** Welch's t statistic of two samples given as (n, mean, M2) running sums. */
function welch(a: Stats, b: Stats): number {
  const va = a.m2 / (a.n - 1);
  const vb = b.m2 / (b.n - 1);
  const den = Math.sqrt(va / a.n + vb / b.n);
  return den === 0 ? 0 : (a.mean - b.mean) / den;
}

interface Stats {
  n: number;
  mean: number;
  m2: number;
}

/** Welford's online mean and variance over the values of one class at or below a threshold. */
function stats(times: Float64Array, cls: Uint8Array, which: number, max: number): Stats {
  const s = { n: 0, mean: 0, m2: 0 };
  for (let i = 0; i < times.length; i++) {
    const x = times[i]!;
    if (cls[i] !== which || x > max) continue;
    s.n++;
    const d = x - s.mean;
    s.mean += d / s.n;
    s.m2 += d * (x - s.mean);
  }
  return s;
}

/** The largest |t| over the uncropped data and every crop, with the crop's percentile. */
export function maxWelch(times: Float64Array, cls: Uint8Array): { t: number; crop: number } {
  const sorted = Float64Array.from(times).sort();
  const cuts = [{ p: 1, max: Infinity }];
  for (let i = 0; i < CROPS; i++) {
    const p = 1 - 0.5 ** ((10 * (i + 1)) / CROPS);
    cuts.push({ p, max: sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]! });
  }
  let best = { t: 0, crop: 1 };
  for (const { p, max } of cuts) {
    const a = stats(times, cls, 0, max);
    const b = stats(times, cls, 1, max);
    if (a.n < MIN_PER_CROP || b.n < MIN_PER_CROP) continue;
    const t = Math.abs(welch(a, b));
    if (t > best.t) best = { t, crop: p };
  }
  return best;
}

/** Copies src's values into dst: typed arrays of one length, or objects whose fields are such. */
function copyInto(dst: unknown, src: unknown): void {
  if (ArrayBuffer.isView(dst) && ArrayBuffer.isView(src)) {
    const d = dst as Uint8Array;
    if (d.length !== (src as Uint8Array).length) throw new RangeError('staged inputs must have the same length in both classes');
    d.set(src as Uint8Array);
    return;
  }
  if (typeof dst !== 'object' || dst === null || typeof src !== 'object' || src === null) {
    throw new TypeError('staged inputs must be typed arrays or objects of typed arrays');
  }
  for (const k of Object.keys(src)) copyInto((dst as Record<string, unknown>)[k], (src as Record<string, unknown>)[k]);
}

/** ns for `batch` calls over consecutive pool entries from `start`. */
function timeBatch<I>(t: CtTarget<I>, pool: I[], start: number, batch: number): number {
  const len = pool.length;
  const t0 = process.hrtime.bigint();
  for (let b = 0, j = start; b < batch; b++, j = j + 1 === len ? 0 : j + 1) t.call(pool[j]!);
  return Number(process.hrtime.bigint() - t0);
}

/** The smallest power-of-two batch whose median time over both classes is at least MIN_BATCH_NS. */
function calibrate<I>(t: CtTarget<I>, pools: [I[], I[]]): number {
  for (let batch = 1; ; batch *= 2) {
    const runs: number[] = [];
    for (let r = 0; r < 16; r++) runs.push(timeBatch(t, pools[r & 1]!, 0, batch));
    runs.sort((x, y) => x - y);
    if (runs[8]! >= MIN_BATCH_NS || batch >= 1 << 20) return batch;
  }
}

/**
 * Runs the test on a target with `measurements` per class on average (default: the target's own).
 * Inputs are made first, every input is run for at least WARM_MS, the batch is sized, and then a
 * further tenth of the measurements is taken and discarded before the ones that count.
 */
export function runTarget<I>(t: CtTarget<I>, measurements = t.measurements): CtResult {
  const started = performance.now();
  const size = t.pool ?? POOL;
  const pools: [I[], I[]] = [[], []];
  for (let i = 0; i < size; i++) {
    pools[0].push(t.input(0));
    pools[1].push(t.input(1));
  }
  // Warm up (JIT tiers, caches) before calibrating, or the batch is sized by slow unoptimised calls.
  const warmUntil = performance.now() + WARM_MS;
  do {
    for (let j = 0; j < size; j++) {
      t.call(pools[0][j]!);
      t.call(pools[1][j]!);
    }
  } while (performance.now() < warmUntil);
  const batch = calibrate(t, pools);
  const stage = t.stage ?? true;
  const staging = stage ? Array.from({ length: size }, () => t.input(0)) : [];
  const total = 2 * measurements;
  const warm = Math.max(20, Math.floor(total / 10));
  // Class and starting pool index of every measurement, drawn before timing.
  const coins = randomBytes(warm + total);
  const starts = randomFillSync(new Uint32Array(warm + total));
  const times = new Float64Array(total);
  const cls = new Uint8Array(total);
  for (let i = 0; i < warm + total; i++) {
    const c = coins[i]! & 1;
    const start = starts[i]! % size;
    let pool = pools[c]!;
    if (stage) {
      for (let b = 0, j = start; b < Math.min(batch, size); b++, j = j + 1 === size ? 0 : j + 1) copyInto(staging[j], pool[j]);
      pool = staging;
    }
    t.reset?.();
    const ns = timeBatch(t, pool, start, batch);
    if (i >= warm) {
      times[i - warm] = ns;
      cls[i - warm] = c;
    }
  }
  const n: [number, number] = [0, 0];
  for (const c of cls) n[c as 0 | 1]++;
  const { t: maxT, crop } = maxWelch(times, cls);
  const leak = maxT > LEAK_T;
  const quantile = (q: number, c: number): number => {
    const kept = Float64Array.from(times.filter((_, i) => cls[i] === c)).sort();
    return kept[Math.floor(q * kept.length)]! / batch / 1000;
  };
  return {
    name: t.name,
    classes: t.classes,
    control: t.control ?? false,
    n,
    batch,
    classUs: [quantile(0.1, 0), quantile(0.1, 1)],
    maxT,
    crop,
    leak,
    ok: leak === (t.control ?? false),
    seconds: (performance.now() - started) / 1000,
  };
}

/** A target with its input type hidden, so targets of different inputs share one list. */
export interface Runnable {
  name: string;
  control: boolean;
  measurements: number;
  run(measurements?: number): CtResult;
}

export function runnable<I>(t: CtTarget<I>): Runnable {
  return { name: t.name, control: t.control ?? false, measurements: t.measurements, run: (m) => runTarget(t, m) };
}

/**
 * A target's verdict, confirmed: a first |t| above LEAK_T is measured again with CONFIRM times the
 * measurements, and the target leaks only if it is above LEAK_T again. A real difference grows with
 * √n (×2 here), a chance excursion of the maximum over 21 crops under load does not come back; the
 * threshold stays 4.5. Controls get no second chance. Returns the results in order; the last decides.
 */
export function runConfirmed(t: Runnable, measurements = t.measurements): CtResult[] {
  const first = t.run(measurements);
  if (t.control || !first.leak) return [first];
  return [first, t.run(CONFIRM * measurements)];
}

/** A target made on first run, for targets whose set-up is costly (key generation). */
export function deferred<I>(name: string, measurements: number, make: () => CtTarget<I>): Runnable {
  return { name, control: false, measurements, run: (m) => runTarget(make(), m) };
}

const us = (x: number): string => (x < 10 ? x.toFixed(3) : x < 100 ? x.toFixed(1) : x.toFixed(0));

/** One line of the report. */
export function formatResult(r: CtResult, retried = false): string {
  const leakWord = retried ? `above ${LEAK_T}: measuring again ×${CONFIRM}` : 'LEAK — FAIL';
  const verdict = r.control ? (r.leak ? 'flagged (control)' : 'NOT FLAGGED (control) — FAIL') : r.leak ? leakWord : 'no leak';
  const crop = r.crop === 1 ? 'all' : `p${(100 * r.crop).toFixed(1)}`;
  return [
    r.name.padEnd(44),
    `${r.classes[0]} vs ${r.classes[1]}`.padEnd(44),
    `n=${r.n[0]}/${r.n[1]}`.padEnd(14),
    `×${r.batch}`.padEnd(7),
    `p10 ${us(r.classUs[0])}/${us(r.classUs[1])} µs`.padStart(24),
    `max|t|=${r.maxT < 100 ? r.maxT.toFixed(2) : r.maxT.toFixed(0)} (${crop})`.padEnd(24),
    verdict,
  ].join(' ');
}
