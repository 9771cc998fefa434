// Runs the built `keyward` CLI (dist/src/cli/keyward.js) as a user does, on temporary store directories.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect } from 'vitest';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const BIN = `${ROOT}dist/src/cli/keyward.js`;

export interface Result {
  status: number | null;
  stdout: Buffer;
  /** stdout as UTF-8. */
  out: string;
  err: string;
}

/** Fails the suite early with a clear message when the CLI is not built. */
export function requireBuild(): void {
  beforeAll(() => {
    // The CLI runs from the built package; `npm test` builds it first (`npm run build:ts` by hand).
    if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run \`npm run build\` (npm test does)`);
  });
}

/** The environment keyward runs in: this process's without KEYWARD_* variables (a developer's own must not leak in), plus `extra`. */
export function cliEnv(extra: Record<string, string> = {}): Record<string, string | undefined> {
  return { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('KEYWARD_'))), ...extra };
}

/** Runs keyward with `args`; `input` is its stdin. The environment has no KEYWARD_* variables but `extraEnv`. */
export function keyward(args: string[], input?: Uint8Array | string, extraEnv: Record<string, string> = {}): Result {
  const r = spawnSync(process.execPath, [BIN, ...args], { input: input ?? '', env: cliEnv(extraEnv), cwd: ROOT, maxBuffer: 64 * 1024 * 1024 });
  // EPIPE: keyward failed and exited before reading all its input; the status says how it ended.
  if (r.error && (r.error as NodeJS.ErrnoException).code !== 'EPIPE') throw r.error;
  return { status: r.status, stdout: r.stdout, out: r.stdout.toString('utf8'), err: r.stderr.toString('utf8') };
}

/** Asserts a run succeeded, showing its stderr if it did not. */
export function ok(r: Result): Result {
  expect(r.err, `keyward failed (exit ${r.status})`).toBe('');
  expect(r.status).toBe(0);
  return r;
}

/** Temporary directories, removed after the file's tests. */
export function tempDirs(): () => string {
  const made: string[] = [];
  afterAll(() => {
    for (const d of made) rmSync(d, { recursive: true, force: true });
  });
  return () => {
    const d = mkdtempSync(join(tmpdir(), 'keyward-cli-'));
    made.push(d);
    return d;
  };
}
