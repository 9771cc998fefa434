// The keyward command line itself: selftest, version, help and every kind of usage error (exit 64 with the
// usage text). The store and data commands are in keyward-store.test.ts and keyward-audit.test.ts.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { keyward, ok, requireBuild, ROOT, tempDirs } from './_cli.js';

const COMMANDS = [
  'init', 'create-key', 'list-keys', 'describe-key', 'rotate', 'schedule-deletion', 'encrypt', 'decrypt', 'sign', 'verify',
  'audit verify', 'audit tail', 'selftest', 'version', 'help',
];

describe('keyward CLI', () => {
  requireBuild();
  const tmp = tempDirs();

  it('selftest passes every known-answer test and exits 0', () => {
    const r = ok(keyward(['selftest']));
    expect(r.out).toMatch(/all 10 self-tests passed/);
    expect(r.out).not.toMatch(/FAIL/);
    for (const name of ['SHA-256', 'SHA-384', 'SHA-512', 'HMAC-SHA-256', 'HKDF-SHA-256', 'AES-256-GCM forged tag', 'ECDSA P-256 sign', 'ECDSA P-256 verify']) {
      expect(r.out).toContain(name);
    }
  });

  it('version prints the package version', () => {
    const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    expect(ok(keyward(['version'])).out).toBe(`${version}\n`);
    expect(ok(keyward(['--version'])).out).toBe(`${version}\n`);
  });

  it('help, --help and -h print the usage, naming every command, and exit 0', () => {
    for (const args of [['help'], ['--help'], ['-h'], ['encrypt', '--help']]) {
      const r = ok(keyward(args));
      expect(r.out).toMatch(/^usage: keyward \[--dir DIR\] \[--region REGION\] \[--json\] <command> \[options\]/);
      for (const c of COMMANDS) expect(r.out).toContain(`  ${c}`);
    }
  });

  it('refuses an unknown command with usage and exit 64', () => {
    const r = keyward(['frobnicate']);
    expect(r.status).toBe(64);
    expect(r.err).toMatch(/^keyward: unknown command frobnicate\n\nusage: keyward/);
  });

  it('no command is a usage error', () => {
    const r = keyward([]);
    expect(r.status).toBe(64);
    expect(r.err).toMatch(/^keyward: no command given\n\nusage: keyward/);
  });

  // Each of these is refused before any store is touched: the directory stays empty.
  const usageErrors: [string[], RegExp][] = [
    [['list-keys', '--bogus'], /^keyward list-keys: Unknown option '--bogus'/],
    [['--bogus', 'list-keys'], /^keyward: unknown option --bogus before the command/],
    [['--dir'], /^keyward: option --dir needs a value/],
    [['list-keys', 'extra'], /^keyward list-keys: unexpected argument "extra"/],
    [['describe-key'], /^keyward describe-key: missing KEY/],
    [['describe-key', 'a', 'b'], /^keyward describe-key: unexpected argument "b"/],
    [['rotate'], /^keyward rotate: missing KEY/],
    [['encrypt'], /^keyward encrypt: --key is required/],
    [['encrypt', '--key'], /^keyward encrypt: Option '--key <value>' argument missing/],
    [['encrypt', '--key', 'k', '--context', 'novalue'], /^keyward encrypt: --context takes key=value, got "novalue"/],
    [['encrypt', '--key', 'k', '--context', 'a=1', '--context', 'a=2'], /^keyward encrypt: --context gives the key "a" twice/],
    [['decrypt', '--key', 'k'], /^keyward decrypt: Unknown option '--key'/],
    [['sign', '--key', 'k'], /^keyward sign: --algorithm is required/],
    [['verify', '--key', 'k', '--algorithm', 'ECDSA_SHA_256'], /^keyward verify: --signature is required/],
    [['verify', '--key', 'k', '--algorithm', 'ECDSA_SHA_256', '--signature', '-'], /^keyward verify: --signature and the message cannot both come from stdin/],
    [['create-key', '--spec', 'AES_512'], /^keyward create-key: --spec must be one of SYMMETRIC_DEFAULT, .*HMAC_512; got "AES_512"/],
    [['create-key', '--usage', 'WRAP'], /^keyward create-key: --usage must be one of ENCRYPT_DECRYPT, SIGN_VERIFY, GENERATE_VERIFY_MAC; got "WRAP"/],
    [['schedule-deletion', 'k', '--days', '3'], /^keyward schedule-deletion: --days must be an integer from 7 to 30, got "3"/],
    [['schedule-deletion', 'k', '--days', 'ten'], /^keyward schedule-deletion: --days must be an integer from 7 to 30, got "ten"/],
    [['audit'], /^keyward: audit needs a subcommand: verify or tail/],
    [['audit', 'frob'], /^keyward: unknown command audit frob/],
    [['audit', 'tail', '-n', '0'], /^keyward audit tail: --lines must be an integer from 1 to 100000, got "0"/],
    [['audit', 'tail', '-x'], /^keyward audit tail: Unknown option '-x'/],
    [['selftest', 'now'], /^keyward selftest: unexpected argument "now"/],
  ];
  for (const [args, message] of usageErrors) {
    it(`usage error: keyward ${args.join(' ')} → 64`, () => {
      const dir = tmp();
      const r = keyward(['--dir', join(dir, 'store'), ...args]);
      expect(r.status).toBe(64);
      expect(r.err).toMatch(message);
      expect(r.err).toContain('\n\nusage: keyward');
      expect(r.out).toBe('');
    });
  }
});
