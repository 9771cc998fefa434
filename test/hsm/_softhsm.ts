// A private SoftHSM2 token directory per test file. SoftHSM2 reads SOFTHSM2_CONF when the module is
// initialized, so call softhsmTokens() at the top of the test file, before anything loads the module
// (vitest runs each file in its own process: pool 'forks'). SoftHSM2 missing is a failure naming the
// package to install, never a skip.
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import type { HsmConfig } from '../../src/hsm/config.js';
import { Pkcs11Module, type Session } from '../../src/hsm/pkcs11.js';

export const SOFTHSM_MODULE = '/usr/lib/softhsm/libsofthsm2.so';
export const USER_PIN = '24680135';
export const SO_PIN = '97531864';

function hasUtil(): boolean {
  try {
    execFileSync('softhsm2-util', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

let dir: string | undefined;

/** Initializes one token per label in a fresh token directory; returns a provider config for each. */
export function softhsmTokens<L extends string>(...labels: L[]): Record<L, HsmConfig> & { dir: string } {
  if (!existsSync(SOFTHSM_MODULE) || !hasUtil()) {
    throw new Error(
      `SoftHSM2 is required by the PKCS#11 tests and is not installed (${SOFTHSM_MODULE} or softhsm2-util missing): ` +
        'install it with `sudo apt-get install softhsm2` (Debian/Ubuntu), then run the tests again',
    );
  }
  if (dir !== undefined) throw new Error('softhsmTokens() runs once per test file, before the module is loaded');
  const d = mkdtempSync(join(tmpdir(), 'keyward-softhsm-'));
  dir = d;
  // Removed once the file's tests are done (files the module still holds open are unlinked all the same).
  afterAll(() => rmSync(d, { recursive: true, force: true }));
  const tokens = join(dir, 'tokens');
  mkdirSync(tokens);
  const conf = join(dir, 'softhsm2.conf');
  writeFileSync(conf, `directories.tokendir = ${tokens}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n`);
  process.env.SOFTHSM2_CONF = conf;
  const out = { dir } as Record<L, HsmConfig> & { dir: string };
  for (const label of labels) {
    execFileSync('softhsm2-util', ['--init-token', '--free', '--label', label, '--pin', USER_PIN, '--so-pin', SO_PIN], { stdio: 'ignore' });
    (out as Record<string, HsmConfig>)[label] = { module: SOFTHSM_MODULE, tokenLabel: label, pin: USER_PIN, sessions: 2 };
  }
  return out;
}

/** An HSM config file (dir/hsm.json) for the token, as the CLI's --hsm takes it, with the PIN in a 0600 PIN file beside it; returns its path. */
export function hsmConfigFile(dir: string, label: string): string {
  const pinFile = join(dir, 'pin');
  writeFileSync(pinFile, `${USER_PIN}\n`);
  chmodSync(pinFile, 0o600);
  const file = join(dir, 'hsm.json');
  writeFileSync(file, JSON.stringify({ module: SOFTHSM_MODULE, tokenLabel: label, pinFile, sessions: 2 }));
  return file;
}

/** f's answer for each token, asked in a logged-in session of its own, as another application would look. */
export function onEachToken<T>(tokens: string[], f: (s: Session) => T): T[] {
  const m = Pkcs11Module.load(SOFTHSM_MODULE);
  try {
    return tokens.map((t) => {
      const s = m.findToken(t).openSession();
      try {
        s.login(USER_PIN);
        return f(s);
      } finally {
        s.close();
      }
    });
  } finally {
    m.close();
  }
}
