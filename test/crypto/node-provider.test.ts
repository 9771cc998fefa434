// NodeCryptoProvider (src/crypto/node-provider.ts) against the shared Provider conformance suite.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { NodeCryptoProvider } from '../../src/crypto/index.js';
import { providerConformance } from './provider-conformance.js';

providerConformance('NodeCryptoProvider', () => new NodeCryptoProvider());

const SRC = join(dirname(fileURLToPath(import.meta.url)), '../../src/crypto');

describe('NodeCryptoProvider is independent of the WASM core', () => {
  it('no value import of node-provider.ts reaches src/crypto/_wasm.ts', () => {
    const seen = new Set<string>();
    const visit = (file: string): void => {
      if (seen.has(file)) return;
      seen.add(file);
      const src = readFileSync(join(SRC, file), 'utf8');
      // Value imports and re-exports only: `import type` is erased by the compiler.
      for (const m of src.matchAll(/^(?:import|export)\s+(?!type\b)[^;]*?from\s+'\.\/([^']+)\.js'/gms)) visit(`${m[1]}.ts`);
    };
    visit('node-provider.ts');
    expect(seen.has('_provider-common.ts')).toBe(true);
    expect([...seen].filter((f) => f === '_wasm.ts' || f.startsWith('_ec') || f.startsWith('_rsa') || f === 'sha2.ts')).toEqual([]);
  });
});
