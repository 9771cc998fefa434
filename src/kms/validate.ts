// Request validation at the engine's edge: every field checked for type and AWS limits, each failure a
// ValidationException that names the field, so a bad request never reaches a key.
import { ValidationException } from './errors.js';
import type { EncryptionContext } from './types.js';

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
    throw new ValidationException(`${field}: expected one of ${allowed.join(', ')}, got ${JSON.stringify(v)}`);
  }
  return v as T;
}

export function optOneOf<T extends string>(v: unknown, field: string, allowed: readonly T[]): T | undefined {
  return v === undefined ? undefined : oneOf(v, field, allowed);
}

export function optInt(v: unknown, field: string, min: number, max: number): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new ValidationException(`${field}: expected an integer in ${min}..${max}, got ${JSON.stringify(v)}`);
  }
  return v;
}

export function optBool(v: unknown, field: string): boolean | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'boolean') throw new ValidationException(`${field}: expected a boolean`);
  return v;
}

/** An encryption context: string keys and values (AWS: at most 8,192 bytes in all). */
export function context(v: unknown, field = 'EncryptionContext'): EncryptionContext | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new ValidationException(`${field}: expected an object of strings`);
  let size = 0;
  const out: EncryptionContext = {};
  for (const [k, val] of Object.entries(v)) {
    if (typeof val !== 'string') throw new ValidationException(`${field}: value of ${JSON.stringify(k)} is not a string`);
    if (k.length === 0) throw new ValidationException(`${field}: keys must not be empty`);
    size += Buffer.byteLength(k) + Buffer.byteLength(val);
    out[k] = val;
  }
  if (size > 8192) throw new ValidationException(`${field}: ${size} bytes exceeds 8192`);
  return out;
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
