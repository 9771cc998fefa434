// Request validation at the engine's edge: every field checked for type and AWS limits, each failure a
// ValidationException that names the field, so a bad request never reaches a key.
import { ValidationException } from './errors.js';
import type { EncryptionContext } from './types.js';

/**
 * A request value for an error message: its JSON, or its type where JSON has none (a BigInt, a cyclic
 * object); cut to 100 characters. Never throws, so describing bad input cannot become a second failure.
 */
export function show(v: unknown): string {
  let s: string | undefined;
  try {
    s = JSON.stringify(v);
  } catch {
    s = undefined;
  }
  s ??= typeof v === 'bigint' ? `${v}n` : typeof v;
  return s.length > 100 ? `${s.slice(0, 100)}…` : s;
}

/** The request object itself. */
export function req<T>(r: T, op: string): T {
  if (typeof r !== 'object' || r === null || Array.isArray(r)) throw new ValidationException(`${op}: expected a request object`);
  return r;
}

export function bytes(v: unknown, field: string, min: number, max: number): Uint8Array {
  if (!(v instanceof Uint8Array)) throw new ValidationException(`${field}: expected bytes (Uint8Array)`);
  if (v.length < min || v.length > max) throw new ValidationException(`${field}: length ${v.length} is outside ${min}..${max}`);
  return v;
}

export function optString(v: unknown, field: string, min: number, max: number): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw new ValidationException(`${field}: expected a string`);
  if (v.length < min || v.length > max) throw new ValidationException(`${field}: length ${v.length} is outside ${min}..${max}`);
  return v;
}

export function oneOf<T extends string>(v: unknown, field: string, allowed: readonly T[]): T {
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
    throw new ValidationException(`${field}: expected one of ${allowed.join(', ')}, got ${show(v)}`);
  }
  return v as T;
}

export function optOneOf<T extends string>(v: unknown, field: string, allowed: readonly T[]): T | undefined {
  return v === undefined ? undefined : oneOf(v, field, allowed);
}

export function optInt(v: unknown, field: string, min: number, max: number): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new ValidationException(`${field}: expected an integer in ${min}..${max}, got ${show(v)}`);
  }
  return v;
}

export function optBool(v: unknown, field: string): boolean | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'boolean') throw new ValidationException(`${field}: expected a boolean`);
  return v;
}

// String.prototype.isWellFormed: Node ≥ 20, not yet in the ES2022 lib typings.
const wellFormed = (s: string): boolean => (s as unknown as { isWellFormed(): boolean }).isWellFormed();

/**
 * An encryption context: string keys and values of well-formed Unicode (AWS: at most 8,192 bytes in all).
 * A lone surrogate is refused because it would encode as U+FFFD, so two contexts would bind alike.
 */
export function context(v: unknown, field = 'EncryptionContext'): EncryptionContext | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new ValidationException(`${field}: expected an object of strings`);
  let size = 0;
  const pairs: [string, string][] = [];
  for (const [k, val] of Object.entries(v)) {
    if (typeof val !== 'string') throw new ValidationException(`${field}: value of ${show(k)} is not a string`);
    if (k.length === 0) throw new ValidationException(`${field}: keys must not be empty`);
    if (!wellFormed(k) || !wellFormed(val)) throw new ValidationException(`${field}: the pair ${show(k)} is not well-formed Unicode (lone surrogate)`);
    size += Buffer.byteLength(k) + Buffer.byteLength(val);
    pairs.push([k, val]);
  }
  if (size > 8192) throw new ValidationException(`${field}: ${size} bytes exceeds 8192`);
  // fromEntries defines own properties: assigning out['__proto__'] would drop that pair from the context.
  return Object.fromEntries(pairs);
}

/** GrantTokens: accepted for AWS compatibility (grants take effect at once here), but must be well formed. */
export function grantTokens(v: unknown): void {
  if (v === undefined) return;
  if (!Array.isArray(v) || v.length > 10 || v.some((t) => typeof t !== 'string' || t.length < 1 || t.length > 8192)) {
    throw new ValidationException('GrantTokens: expected up to 10 strings of 1 to 8192 characters');
  }
}

/** Limit/Marker of List* operations. */
export function listParams(r: { Limit?: unknown; Marker?: unknown }, maxLimit = 1000, defaultLimit = 100): { limit: number; marker?: string } {
  const limit = optInt(r.Limit, 'Limit', 1, maxLimit) ?? defaultLimit;
  const marker = optString(r.Marker, 'Marker', 1, 1024);
  return marker === undefined ? { limit } : { limit, marker };
}
