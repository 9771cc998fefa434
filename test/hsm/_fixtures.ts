// C fixtures (test/hsm/fixtures/*.c): PKCS#11 modules written for tests, compiled with cc into a temp dir
// of the test file, removed after it. The C toolchain is always present: scripts/system-deps.sh requires
// it for the native addon.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll } from 'vitest';

const built = new Map<string, string>();

/** Compiles fixtures/<name>.c into a shared library (once per test file); returns its path. */
export function compileFixture(name: string, libraries: string[] = []): string {
  const done = built.get(name);
  if (done) return done;
  const source = fileURLToPath(new URL(`./fixtures/${name}.c`, import.meta.url));
  const dir = mkdtempSync(join(tmpdir(), `keyward-${name}-`));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const out = join(dir, `${name}.so`);
  try {
    execFileSync('cc', ['-shared', '-fPIC', '-O2', '-Wall', '-Werror', '-o', out, source, ...libraries], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (e) {
    const stderr = (e as { stderr?: Buffer }).stderr?.toString() ?? '';
    throw new Error(`cannot compile the ${name} fixture with cc (scripts/system-deps.sh installs the C toolchain): ${stderr || (e as Error).message}`);
  }
  built.set(name, out);
  return out;
}
