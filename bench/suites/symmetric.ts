// The symmetric suites of the foundation: SHA-2, HMAC and AES-256-GCM, Keyward's WASM core against
// node:crypto (OpenSSL) and the pure-JS @noble libraries, on the same inputs.
import { createHash, createHmac } from 'node:crypto';
import { gcm } from '@noble/ciphers/aes.js';
import { hmac as nobleHmac } from '@noble/hashes/hmac.js';
import { sha256 as nobleSha256, sha512 as nobleSha512 } from '@noble/hashes/sha2.js';
import { nodeGcm } from '../../src/bench/node-gcm.js';
import { aesGcm, hmac, sha256, sha512 } from '../../src/crypto/index.js';
import { input, type Suite } from '../harness.js';

const SIZES = [32, 1024, 65536, 1 << 20];
const KEY = input(32, 7);
const IV = input(12, 8);
const AAD = input(16, 9);

const { seal: nodeSeal, open: nodeOpen } = nodeGcm(KEY, IV, AAD);

/** AES-256-GCM open needs sealed inputs: each size's message is sealed once, by node:crypto. */
const sealedCache = new Map<Uint8Array, Uint8Array>();
const sealedOf = (msg: Uint8Array) => {
  let s = sealedCache.get(msg);
  if (!s) sealedCache.set(msg, (s = nodeSeal(msg)));
  return s;
};

export const symmetricSuites: Suite[] = [
  {
    name: 'sha256',
    sizes: [32, 64, 1024, 65536, 1 << 20],
    baseline: 'node:crypto',
    impls: [
      { name: 'keyward-wasm', run: (m) => sha256(m) },
      { name: 'node:crypto', run: (m) => createHash('sha256').update(m).digest() },
      { name: '@noble/hashes', run: (m) => nobleSha256(m) },
    ],
  },
  {
    name: 'sha512',
    sizes: SIZES,
    baseline: 'node:crypto',
    impls: [
      { name: 'keyward-wasm', run: (m) => sha512(m) },
      { name: 'node:crypto', run: (m) => createHash('sha512').update(m).digest() },
      { name: '@noble/hashes', run: (m) => nobleSha512(m) },
    ],
  },
  {
    name: 'hmac-sha256',
    sizes: SIZES,
    baseline: 'node:crypto',
    impls: [
      { name: 'keyward-wasm', run: (m) => hmac('SHA-256', KEY, m) },
      { name: 'node:crypto', run: (m) => createHmac('sha256', KEY).update(m).digest() },
      { name: '@noble/hashes', run: (m) => nobleHmac(nobleSha256, KEY, m) },
    ],
  },
  {
    name: 'aes-256-gcm-seal',
    sizes: SIZES,
    baseline: 'node:crypto',
    impls: [
      { name: 'keyward-wasm', run: (m) => aesGcm.seal(KEY, IV, m, AAD) },
      { name: 'node:crypto', run: nodeSeal },
      // noble refuses to reuse a cipher object for a second encryption, so each call builds one,
      // as every other column also sets its key up per call.
      { name: '@noble/ciphers', run: (m) => gcm(KEY, IV, AAD).encrypt(m) },
    ],
  },
  {
    name: 'aes-256-gcm-open',
    sizes: SIZES,
    baseline: 'node:crypto',
    impls: [
      { name: 'keyward-wasm', run: (m) => aesGcm.open(KEY, IV, sealedOf(m), AAD) },
      { name: 'node:crypto', run: (m) => nodeOpen(sealedOf(m)) },
      { name: '@noble/ciphers', run: (m) => gcm(KEY, IV, AAD).decrypt(sealedOf(m)) },
    ],
  },
];
