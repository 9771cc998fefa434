// The tests' private PostgreSQL server: the one starter shared with the load script (bench/postgres.ts).
import { afterAll, beforeAll } from 'vitest';
import { startPostgres, type ThrowawayPostgres } from '../../bench/postgres.js';

export { startPostgres, type ThrowawayPostgres as TestPostgres } from '../../bench/postgres.js';

/**
 * A server for the calling test file: started before its tests (60 s allowed, for initdb) and stopped
 * after them. Call it at the file's top level; the getter is valid inside tests and later hooks.
 */
export function postgresForFile(): () => ThrowawayPostgres {
  let server: ThrowawayPostgres | undefined;
  beforeAll(async () => {
    server = await startPostgres();
  }, 60_000);
  afterAll(() => server?.stop());
  return () => server!;
}
