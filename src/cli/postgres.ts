// The global --postgres URL (or $KEYWARD_POSTGRES_URL): a store whose keys live in a PostgreSQL database
// instead of DIR/keyward.db. Here: the URL checked before anything connects, printed without its password,
// and a failure to reach the database named as such rather than as a bare ECONNREFUSED.
import { connectTimeoutOf } from '../store/postgres-url.js';
import { StoreConnectTimeoutError } from '../store/types.js';
import { UsageError } from './args.js';

export const POSTGRES_URL_ENV = 'KEYWARD_POSTGRES_URL';

/** The database could not be reached or refused the connection (server down, wrong host, login or database). */
export class PostgresConnectionError extends Error {
  override name = 'PostgresConnectionError';
  constructor(message: string, readonly reason: string) {
    super(message);
  }
}

/** Checks the form of a PostgreSQL URL; the message never repeats the value, which may hold a password. */
export function checkPostgresUrl(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new UsageError('--postgres (or $KEYWARD_POSTGRES_URL) is not a URL: expected postgresql://USER[:PASSWORD]@HOST[:PORT]/DATABASE');
  }
  if (u.protocol !== 'postgresql:' && u.protocol !== 'postgres:') {
    throw new UsageError(`--postgres (or $KEYWARD_POSTGRES_URL) must be a postgresql:// or postgres:// URL, not ${u.protocol}//`);
  }
  try {
    connectTimeoutOf(url);
  } catch (e) {
    throw new UsageError(`--postgres (or $KEYWARD_POSTGRES_URL): ${(e as Error).message}`);
  }
  return url;
}

/** The URL as it may be printed: the password replaced by ***. */
export function redactPostgresUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password !== '') u.password = '***';
    return u.toString();
  } catch {
    return '(the PostgreSQL URL)';
  }
}

/** System calls whose failure means the server was not reached. */
const NETWORK_SYSCALLS = new Set(['connect', 'getaddrinfo', 'read', 'write']);

/**
 * `err` as a PostgresConnectionError when it says the database was not reached or refused the login
 * (SQLSTATE class 28: authorization; 3D000: no such database); any other error is returned as it is.
 */
export function explainPostgresError(err: unknown, url: string): unknown {
  if (!(err instanceof Error)) return err;
  const e = err as NodeJS.ErrnoException & { severity?: string };
  const network = typeof e.syscall === 'string' && NETWORK_SYSCALLS.has(e.syscall);
  const refused = typeof e.severity === 'string' && typeof e.code === 'string' && (e.code.startsWith('28') || e.code === '3D000');
  // pg's own words when a connection times out or the server hangs up during the handshake.
  const dropped = /^(Connection terminated|timeout exceeded when trying to connect)/.test(e.message);
  if (!network && !refused && !dropped && !(err instanceof StoreConnectTimeoutError)) return err;
  return new PostgresConnectionError(`cannot use the PostgreSQL database ${redactPostgresUrl(url)}: ${e.message}`, e.message);
}
