// A PKCS#11 module whose tokens a test can remove and reinsert (fixtures/removable-token.c, in front of
// SoftHSM2, which cannot remove a token from a running process). removableToken() compiles the fixture
// once per test file (_fixtures.ts) and points it at SoftHSM2 and a flag file; remove() creates the
// flag file, reinsert() deletes it. Call it at the file's top level, after the SoftHSM2 token helpers
// (they set SOFTHSM2_CONF, which SoftHSM2 reads when the module is initialized).
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { compileFixture } from './_fixtures.js';
import { SOFTHSM_MODULE } from './_softhsm.js';

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
  const module = compileFixture('removable-token');
  const dir = mkdtempSync(join(tmpdir(), 'keyward-removable-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const flag = join(dir, 'removed');
  // Read by the fixture when the module is first loaded in this process.
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
