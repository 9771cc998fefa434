// The benchmarks' input bytes, for `keyward bench` and the developers' harness (bench/harness.ts) alike.

/** Deterministic bytes (xorshift32), so every implementation and every run sees the same input. */
export function input(size: number, seed = 1): Uint8Array {
  const out = new Uint8Array(size);
  let x = (seed * 0x9e3779b9) >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}
