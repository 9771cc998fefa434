// A PKCS#11 module whose tokens a test can remove and reinsert (fixtures/removable-token.c, in front of
// SoftHSM2, which cannot remove a token from a running process). removableToken() compiles the fixture
// into a temp dir once per test file and points it at SoftHSM2 and a flag file; remove() creates the
// flag file, reinsert() deletes it. Call it at the file's top level, after the SoftHSM2 token helpers
// (they set SOFTHSM2_CONF, which SoftHSM2 reads when the module is initialized).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll } from 'vitest';
import { SOFTHSM_MODULE } from './_softhsm.js';

const SOURCE = fileURLToPath(new URL('./fixtures/removable-token.c', import.meta.url));

export interface RemovableToken {
  /** The path of the compiled fixture module: use it as the PKCS#11 module path. */
  module: string;
  /** Takes every token of the module out (the next call observes it and closes all sessions). */
  remove(): void;
  /** Puts them back: new sessions work again, after a new login. */
  reinsert(): void;
  readonly removed: boolean;
}

let made: RemovableToken | undefined;

/** The fixture module, compiled once per test file; the token starts present. */
export function removableToken(): RemovableToken {
  if (made) return made;
  if (!process.env.SOFTHSM2_CONF) throw new Error('set up the SoftHSM2 token directory (softhsmTokens / createTokenDir) before removableToken()');
  const dir = mkdtempSync(join(tmpdir(), 'keyward-removable-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const module = join(dir, 'removable-token.so');
  try {
    execFileSync('cc', ['-shared', '-fPIC', '-O2', '-Wall', '-Werror', '-o', module, SOURCE], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (e) {
    const stderr = (e as { stderr?: Buffer }).stderr?.toString() ?? '';
    throw new Error(`cannot compile the removable-token fixture with cc (scripts/system-deps.sh installs the C toolchain): ${stderr || (e as Error).message}`);
  }
  const flag = join(dir, 'removed');
  // Read by the fixture on every call, so this process's environment is where it looks.
  process.env.KEYWARD_REMOVABLE_INNER = SOFTHSM_MODULE;
  process.env.KEYWARD_REMOVABLE_FLAG = flag;
  made = {
    module,
    remove: () => writeFileSync(flag, ''),
    reinsert: () => rmSync(flag, { force: true }),
    get removed() {
      return existsSync(flag);
    },
  };
  return made;
}
