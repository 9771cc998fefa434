#!/usr/bin/env node
// The `keyward` command.
import { readFileSync } from 'node:fs';
import { selfTest } from '../crypto/selftest.js';

const USAGE = `usage: keyward <command>

commands:
  selftest    run the known-answer self-tests of the WASM crypto core (SHA-2, HMAC, HKDF, AES-GCM, ECDSA)
  version     print the version
  help        print this help`;

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

function main(argv: string[]): number {
  const [command, ...rest] = argv;
  if (rest.length > 0) {
    console.error(`keyward ${command}: unexpected argument ${rest[0]}\n\n${USAGE}`);
    return 64;
  }
  switch (command) {
    case 'selftest': {
      const results = selfTest();
      for (const r of results) console.log(`${r.ok ? 'ok  ' : 'FAIL'}  ${r.name.padEnd(24)} ${r.source}`);
      const failed = results.filter((r) => !r.ok).length;
      console.log(failed === 0 ? `\nall ${results.length} self-tests passed` : `\n${failed} of ${results.length} self-tests FAILED`);
      return failed === 0 ? 0 : 1;
    }
    case 'version':
    case '--version':
      console.log(version());
      return 0;
    case 'help':
    case '--help':
    case undefined:
      console.log(USAGE);
      return command === undefined ? 64 : 0;
    default:
      console.error(`keyward: unknown command ${command}\n\n${USAGE}`);
      return 64;
  }
}

process.exitCode = main(process.argv.slice(2));
