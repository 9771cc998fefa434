// WasmProvider ↔ NodeCryptoProvider, both directions, given the same key material: tokens wrapped by one
// unwrap in the other, ciphertexts and derived keys agree byte for byte for the same IV, signatures of
// every algorithm and spec (RAW and DIGEST) cross-verify, OAEP cross-decrypts, MACs are equal.
import { randomBytes } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { NodeCryptoProvider, WasmProvider, type Provider } from '../../src/crypto/index.js';
import { crossKeyPairs, crossMac, crossOaep, crossSign, crossUnwrap, sameKeys } from './_cross-provider.js';
import { ASYM_SPECS, hex } from './provider-conformance.js';

const wasm = new WasmProvider();
const node = new NodeCryptoProvider();
const { load, of } = sameKeys();
const DIRECTIONS: [string, Provider, Provider][] = [['wasm → node', wasm, node], ['node → wasm', node, wasm]];

beforeAll(() => load([wasm, node]));

describe('AES-256-GCM and HKDF', () => {
  it('encrypt gives identical ciphertexts for the same iv, and each decrypts the other', async () => {
    for (const n of [0, 1, 32, 4096, 70000]) {
      const iv = randomBytes(12);
      const pt = randomBytes(n);
      const aad = randomBytes(n % 50);
      const a = await wasm.encrypt(of(wasm, 'AES_256'), iv, pt, aad);
      const b = await node.encrypt(of(node, 'AES_256'), iv, pt, aad);
      expect(hex(a)).toBe(hex(b));
      expect(hex(await node.decrypt(of(node, 'AES_256'), iv, a, aad))).toBe(hex(pt));
      expect(hex(await wasm.decrypt(of(wasm, 'AES_256'), iv, b, aad))).toBe(hex(pt));
    }
  });

  it('deriveKey gives the same key: identical ciphertexts for the same iv, for empty, short and long salt and info', async () => {
    for (const [salt, info] of [[new Uint8Array(0), new Uint8Array(0)], [randomBytes(16), randomBytes(20)], [randomBytes(70), randomBytes(2048)]]) {
      const iv = randomBytes(12);
      const pt = randomBytes(32);
      const a = await wasm.encrypt(await wasm.deriveKey(of(wasm, 'AES_256'), salt!, info!), iv, pt, info!);
      const b = await node.encrypt(await node.deriveKey(of(node, 'AES_256'), salt!, info!), iv, pt, info!);
      expect(hex(a)).toBe(hex(b));
    }
  });
});

for (const [label, from, to] of DIRECTIONS) {
  describe(label, () => {
    it('a token wrapped by one unwraps in the other, for every spec, and the key behaves the same', () => crossUnwrap(from, to, of), 60_000);
    it('every signing algorithm and spec, RAW and DIGEST: signed by one, verified by the other', () => crossSign(from, to, of), 60_000);
    it('RSA-OAEP with both hashes: encrypted by one, decrypted by the other', () => crossOaep(from, to, of), 60_000);
    it('MACs are equal and verify in the other provider', () => crossMac(from, to, of));
    it('generated key pairs import into the other provider with the same public key', () =>
      crossKeyPairs(from, to, ['RSA_2048', 'ECC_NIST_P256', 'ECC_NIST_P384', 'ECC_NIST_P521', 'ECC_SECG_P256K1']), 60_000);
  });
}

describe('canonical encodings', () => {
  it('both providers give byte-identical SPKI, and wrap byte-identical PKCS#8 for the same imported key', async () => {
    const aad = new Uint8Array(0);
    for (const s of ASYM_SPECS) {
      expect(hex(await wasm.publicKey(of(wasm, s))), s).toBe(hex(await node.publicKey(of(node, s))));
      // Unwrap each provider's token with the raw wrapping key through the other provider's decrypt.
      const tw = await wasm.wrapKey(of(wasm, 'AES_256'), of(wasm, s), aad);
      const tn = await node.wrapKey(of(node, 'AES_256'), of(node, s), aad);
      const dw = await node.decrypt(of(node, 'AES_256'), tw.subarray(0, 12), tw.subarray(12), aad);
      const dn = await wasm.decrypt(of(wasm, 'AES_256'), tn.subarray(0, 12), tn.subarray(12), aad);
      expect(hex(dw), s).toBe(hex(dn));
    }
  });
});
