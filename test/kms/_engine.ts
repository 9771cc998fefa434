// Shared set-up for engine tests: a Keyward on a fresh temp directory with a controllable clock, closed
// and removed after each test.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect } from 'vitest';
import type { Provider } from '../../src/crypto/provider.js';
import { Keyward, type KeywardOptions } from '../../src/kms/keyward.js';

export const ACCOUNT = '111122223333';
export const ROOT = `arn:aws:iam::${ACCOUNT}:root`;
export const ADMIN = `arn:aws:iam::${ACCOUNT}:user/admin`;
export const ALICE = `arn:aws:iam::${ACCOUNT}:user/alice`;
export const BOB = `arn:aws:iam::${ACCOUNT}:role/bob`;
export const MALLORY = 'arn:aws:iam::999988887777:user/mallory';
export const DAY = 86_400_000;

export interface Harness {
  kw: Keyward;
  dir: string;
  clock: { now: number };
  reopen(extra?: Partial<KeywardOptions>): Promise<Keyward>;
}

const open: Keyward[] = [];
const dirs: string[] = [];

afterEach(async () => {
  for (const kw of open.splice(0)) await kw.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A Keyward on a new directory; `clock.now` drives its time. */
export async function engine(opts: Partial<KeywardOptions> & { provider?: Provider } = {}): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), 'keyward-engine-'));
  dirs.push(dir);
  const clock = { now: Date.UTC(2026, 10, 26) };
  const base: KeywardOptions = { dir, account: ACCOUNT, maintenanceIntervalMs: 0, now: () => clock.now, ...opts };
  const kw = await Keyward.open(base);
  open.push(kw);
  const h: Harness = {
    kw, dir, clock,
    async reopen(extra = {}) {
      await h.kw.close();
      h.kw = await Keyward.open({ ...base, ...extra });
      open.push(h.kw);
      return h.kw;
    },
  };
  return h;
}

/** Expects the promise to reject with the AWS exception `name`; returns the error. */
export async function rejectsWith(p: Promise<unknown>, name: string): Promise<Error> {
  const err = await p.then(
    (v) => {
      throw new Error(`expected ${name}, got a result: ${JSON.stringify(v, (_k, x) => (x instanceof Uint8Array ? `<${x.length} bytes>` : x))}`);
    },
    (e: unknown) => e as Error,
  );
  expect(err.name, err.message).toBe(name);
  return err;
}

export const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
