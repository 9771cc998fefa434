import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIN = `${ROOT}dist/src/cli/keyward.js`;

describe('keyward CLI', () => {
  beforeAll(() => {
    // The CLI runs from the built package, as a user runs it; `npm test` builds it first.
    if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run \`npm run build\` (npm test does)`);
  });

  it('selftest passes every known-answer test and exits 0', () => {
    const r = spawnSync(process.execPath, [BIN, 'selftest'], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/all 10 self-tests passed/);
    expect(r.stdout).not.toMatch(/FAIL/);
    for (const name of ['SHA-256', 'SHA-384', 'SHA-512', 'HMAC-SHA-256', 'HKDF-SHA-256', 'AES-256-GCM forged tag', 'ECDSA P-256 sign', 'ECDSA P-256 verify']) {
      expect(r.stdout).toContain(name);
    }
  });

  it('refuses an unknown command with usage and exit 64', () => {
    const r = spawnSync(process.execPath, [BIN, 'frobnicate'], { encoding: 'utf8' });
    expect(r.status).toBe(64);
    expect(r.stderr).toMatch(/unknown command frobnicate/);
  });
});
