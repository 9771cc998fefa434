// WasmProvider ↔ NodeCryptoProvider, both directions, given the same key material: tokens wrapped by one
// unwrap in the other, ciphertexts and derived keys agree byte for byte for the same IV, signatures of
// every algorithm and spec (RAW and DIGEST) cross-verify, OAEP cross-decrypts, MACs are equal.
import { randomBytes } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { NodeCryptoProvider, WasmProvider, type KeyHandle, type Provider, type ProviderKeySpec } from '../../src/crypto/index.js';
import { algsOf, ASYM_SPECS, digest, fixtureKeys, hex, MACS, RSA_SPECS, SECRET_SPECS } from './provider-conformance.js';

const wasm = new WasmProvider();
const node = new NodeCryptoProvider();
const K = fixtureKeys();
const raw = { AES_256: randomBytes(32), HMAC_256: randomBytes(32), HMAC_384: randomBytes(48), HMAC_512: randomBytes(64) };
const keys = new Map<Provider, Record<ProviderKeySpec, KeyHandle>>();
const DIRECTIONS: [string, Provider, Provider][] = [['wasm → node', wasm, node], ['node → wasm', node, wasm]];
const of = (p: Provider, s: ProviderKeySpec): KeyHandle => keys.get(p)![s];

beforeAll(async () => {
  for (const p of [wasm, node]) {
    const h = {} as Record<ProviderKeySpec, KeyHandle>;
    for (const s of SECRET_SPECS) h[s] = await p.importKey(s, raw[s]);
    for (const s of ASYM_SPECS) h[s] = await p.importKey(s, K[s].pkcs8);
    keys.set(p, h);
  }
});

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
    it('a token wrapped by one unwraps in the other, for every spec, and the key behaves the same', async () => {
      const aad = randomBytes(24);
      const iv = randomBytes(12);
      const pt = randomBytes(40);
      for (const s of [...SECRET_SPECS, ...ASYM_SPECS]) {
        const token = await from.wrapKey(of(from, 'AES_256'), of(from, s), aad);
        const k = await to.unwrapKey(of(to, 'AES_256'), s, token, aad);
        if (s === 'AES_256') expect(hex(await to.encrypt(k, iv, pt, aad))).toBe(hex(await from.encrypt(of(from, s), iv, pt, aad)));
        else if (s.startsWith('HMAC')) {
          const alg = MACS.find(([spec]) => spec === s)![1];
          expect(hex(await to.mac(k, alg, pt))).toBe(hex(await from.mac(of(from, s), alg, pt)));
        } else {
          expect(hex(await to.publicKey(k))).toBe(hex(await from.publicKey(of(from, s))));
          const alg = algsOf(s as (typeof ASYM_SPECS)[number])[0]!;
          expect(await from.verify(of(from, s), alg, pt, 'RAW', await to.sign(k, alg, pt, 'RAW'))).toBe(true);
        }
        // A tampered token fails in the other provider too.
        const bad = Uint8Array.from(token);
        bad[token.length - 1]! ^= 0x80;
        await expect(to.unwrapKey(of(to, 'AES_256'), s, bad, aad)).rejects.toThrow('authentication failed');
      }
    }, 60_000);

    it('every signing algorithm and spec, RAW and DIGEST: signed by one, verified by the other', async () => {
      const msg = randomBytes(300);
      for (const s of ASYM_SPECS) {
        for (const alg of algsOf(s)) {
          const d = digest(alg, msg);
          for (const [m, type] of [[msg, 'RAW'], [d, 'DIGEST']] as const) {
            const sig = await from.sign(of(from, s), alg, m, type);
            expect(await to.verify(of(to, s), alg, msg, 'RAW', sig), `${s} ${alg} ${type}`).toBe(true);
            expect(await to.verify(of(to, s), alg, d, 'DIGEST', sig)).toBe(true);
            expect(await to.verify(of(to, s), alg, msg.subarray(1), 'RAW', sig)).toBe(false);
            if (alg.startsWith('RSASSA_PKCS1')) expect(hex(sig)).toBe(hex(await to.sign(of(to, s), alg, m, type)));
          }
        }
      }
    }, 60_000);

    it('RSA-OAEP with both hashes: encrypted by one, decrypted by the other', async () => {
      for (const s of RSA_SPECS) {
        for (const alg of ['RSAES_OAEP_SHA_1', 'RSAES_OAEP_SHA_256'] as const) {
          const pt = randomBytes(32);
          const ct = await from.encryptAsymmetric(of(from, s), alg, pt);
          expect(hex(await to.decryptAsymmetric(of(to, s), alg, ct)), `${s} ${alg}`).toBe(hex(pt));
          const other = alg === 'RSAES_OAEP_SHA_1' ? 'RSAES_OAEP_SHA_256' : 'RSAES_OAEP_SHA_1';
          await expect(to.decryptAsymmetric(of(to, s), other, ct)).rejects.toThrow('decryption error');
        }
      }
    }, 60_000);

    it('MACs are equal and verify in the other provider', async () => {
      for (const [s, alg] of MACS) {
        for (const n of [0, 100, 70000]) {
          const m = randomBytes(n);
          const tag = await from.mac(of(from, s), alg, m);
          expect(await to.verifyMac(of(to, s), alg, m, tag)).toBe(true);
          expect(hex(tag)).toBe(hex(await to.mac(of(to, s), alg, m)));
        }
      }
    });

    it('generated key pairs import into the other provider with the same public key', async () => {
      for (const s of ['RSA_2048', 'ECC_NIST_P256', 'ECC_NIST_P384', 'ECC_NIST_P521', 'ECC_SECG_P256K1'] as const) {
        const { privateKey, publicKey } = await from.generateKeyPairBytes(s);
        expect(hex(await to.publicKey(await to.importKey(s, privateKey)))).toBe(hex(publicKey));
      }
    }, 60_000);
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
