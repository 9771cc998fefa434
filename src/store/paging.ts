// Listing pages and their markers, shared by the stores. A marker names its listing (kind and scope) and
// the last sort key returned, so a marker from another listing, region or key is refused rather than
// silently misread.

import { InvalidMarkerError, type Page } from './types.js';

export function checkLimit(limit: number, what: string): void {
  if (!Number.isSafeInteger(limit) || limit < 1) throw new RangeError(`${what} limit must be a positive integer, got ${String(limit)}`);
}

export function encodeMarker(kind: string, scope: string, last: string): string {
  return Buffer.from(JSON.stringify([kind, scope, last]), 'utf8').toString('base64url');
}

/** The last sort key a marker carries. @throws InvalidMarkerError for a marker not issued for this listing */
export function decodeMarker(marker: string, kind: string, scope: string): string {
  const bad = (why: string): never => {
    throw new InvalidMarkerError(`invalid marker for this ${kind} listing: ${why}`);
  };
  if (typeof marker !== 'string' || !/^[A-Za-z0-9_-]+$/.test(marker)) return bad('not a marker this store issued');
  const raw = Buffer.from(marker, 'base64url');
  if (raw.toString('base64url') !== marker) return bad('not a marker this store issued');
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw.toString('utf8'));
  } catch {
    return bad('not a marker this store issued');
  }
  if (!Array.isArray(parsed) || parsed.length !== 3 || !parsed.every((x) => typeof x === 'string')) {
    return bad('not a marker this store issued');
  }
  const [k, s, last] = parsed as [string, string, string];
  if (k !== kind || s !== scope) return bad('it was issued for a different listing');
  return last;
}

/** The first `limit` of `rows` (fetched as limit + 1), with a marker when more follow. */
export function page<T>(rows: T[], limit: number, kind: string, scope: string, sortKey: (row: T) => string): Page<T> {
  if (rows.length <= limit) return { items: rows };
  const items = rows.slice(0, limit);
  return { items, nextMarker: encodeMarker(kind, scope, sortKey(items[items.length - 1]!)) };
}
