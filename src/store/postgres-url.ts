// The connect timeout a PostgreSQL URL asks for, read without loading pg (the CLI checks URLs before
// anything connects, and a SQLite store never loads pg).

/** How long a connection waits for the server when neither the URL nor the caller says: 10 s. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

/**
 * The URL's `connect_timeout` (whole seconds, as libpq reads it; 0 waits as long as the system lets it)
 * in ms, else DEFAULT_CONNECT_TIMEOUT_MS; a string that is not a URL (pg's other forms) gets the default.
 * @throws RangeError when connect_timeout is not a whole number of seconds
 */
export function connectTimeoutOf(url: string): number {
  let raw: string | null;
  try {
    raw = new URL(url).searchParams.get('connect_timeout');
  } catch {
    return DEFAULT_CONNECT_TIMEOUT_MS;
  }
  if (raw === null) return DEFAULT_CONNECT_TIMEOUT_MS;
  if (!/^\d{1,9}$/.test(raw)) throw new RangeError(`connect_timeout in the PostgreSQL URL must be a whole number of seconds, got ${JSON.stringify(raw)}`);
  return Number(raw) * 1000;
}
