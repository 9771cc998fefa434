// Input checks at the public edge: TypeError for a wrong type, RangeError for a wrong length or value,
// with messages that name the argument and what was expected (after noble-ciphers' abytes).

export function isBytes(x: unknown): x is Uint8Array {
  return x instanceof Uint8Array || (ArrayBuffer.isView(x) && x.constructor.name === 'Uint8Array');
}

/** Asserts x is a Uint8Array (a Buffer is one), optionally of one of the allowed lengths. */
export function abytes(x: unknown, name: string, ...lengths: number[]): Uint8Array {
  if (!isBytes(x)) {
    const got = x === null ? 'null' : typeof x === 'object' ? (x as object).constructor?.name ?? 'object' : typeof x;
    throw new TypeError(`expected ${name} to be a Uint8Array, got ${got}`);
  }
  if (lengths.length > 0 && !lengths.includes(x.length)) {
    const want = lengths.length === 1 ? `${lengths[0]}` : `${lengths.slice(0, -1).join(', ')} or ${lengths[lengths.length - 1]}`;
    throw new RangeError(`expected a ${want}-byte ${name}, got ${x.length}`);
  }
  return x;
}

/** Asserts n is an integer in [min, max]. */
export function aint(n: unknown, name: string, min: number, max: number): number {
  if (typeof n !== 'number' || !Number.isInteger(n)) throw new TypeError(`expected ${name} to be an integer, got ${String(n)}`);
  if (n < min || n > max) throw new RangeError(`expected ${name} in ${min}..${max}, got ${n}`);
  return n;
}

export type HashName = 'SHA-256' | 'SHA-384' | 'SHA-512';
export const HASHES: readonly HashName[] = ['SHA-256', 'SHA-384', 'SHA-512'];

export function ahash(h: unknown): HashName {
  if (!HASHES.includes(h as HashName)) throw new TypeError(`expected hash 'SHA-256', 'SHA-384' or 'SHA-512', got ${String(h)}`);
  return h as HashName;
}
