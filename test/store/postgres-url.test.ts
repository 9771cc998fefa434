import { describe, expect, it } from 'vitest';
import { connectTimeoutOf, DEFAULT_CONNECT_TIMEOUT_MS } from '../../src/store/postgres-url.js';

describe('connectTimeoutOf', () => {
  it("reads the URL's connect_timeout in seconds, as libpq does, and defaults to 10 s", () => {
    expect(DEFAULT_CONNECT_TIMEOUT_MS).toBe(10_000);
    expect(connectTimeoutOf('postgresql://u@db.internal/keyward')).toBe(10_000);
    expect(connectTimeoutOf('postgresql://u@db.internal/keyward?sslmode=require&connect_timeout=3')).toBe(3000);
    expect(connectTimeoutOf('postgres://u@db.internal/keyward?connect_timeout=0')).toBe(0);
    // pg's non-URL forms carry no connect_timeout Keyward reads.
    expect(connectTimeoutOf('/var/run/postgresql keyward')).toBe(10_000);
  });

  it('refuses a connect_timeout that is not a whole number of seconds', () => {
    for (const bad of ['soon', '-1', '1.5', '', '1e3']) {
      expect(() => connectTimeoutOf(`postgresql://u@db/k?connect_timeout=${bad}`)).toThrow(new RangeError(`connect_timeout in the PostgreSQL URL must be a whole number of seconds, got ${JSON.stringify(bad)}`));
    }
  });
});
