// Cross-provider checks shared by the interop tests (WASM ↔ node in provider-interop.test.ts, PKCS#11 ↔
// WASM/node in test/hsm/pkcs11-provider.test.ts): the providers hold the same key material, and what one
// makes the other must accept, or reproduce byte for byte where the algorithm is deterministic. Each
// check is the body of one test: the callers name the tests and set their timeouts.
import { randomBytes } from 'node:crypto';
import { expect } from 'vitest';
import type { AsymmetricKeySpec, KeyHandle, Provider, ProviderKeySpec } from '../../src/crypto/index.js';
import { algsOf, ASYM_SPECS, digest, fixtureKeys, hex, MACS, RSA_SPECS, SECRET_SPECS } from './provider-conformance.js';

/** A provider's handle of the shared key of a spec. */
export type KeyOf = (p: Provider, spec: ProviderKeySpec) => KeyHandle;

/**
 * One key of every spec, the same material in every provider: fresh random secret keys, and the
 * test file's node-made fixture key pairs (made here, when the tests are collected, so that RSA key
 * generation does not count against the hook's timeout). Call load() from beforeAll; of() gives the handles.
 */
export function sameKeys(): { load: (providers: Provider[]) => Promise<void>; of: KeyOf } {
  const K = fixtureKeys();
  const raw = { AES_256: randomBytes(32), HMAC_256: randomBytes(32), HMAC_384: randomBytes(48), HMAC_512: randomBytes(64) };
  const keys = new Map<Provider, Record<ProviderKeySpec, KeyHandle>>();
  return {
    async load(providers) {
      for (const p of providers) {
        const h = {} as Record<ProviderKeySpec, KeyHandle>;
        for (const s of SECRET_SPECS) h[s] = await p.importKey(s, raw[s]);
        for (const s of ASYM_SPECS) h[s] = await p.importKey(s, K[s].pkcs8);
        keys.set(p, h);
      }
    },
    of: (p, s) => keys.get(p)![s],
  };
}

/** A token wrapped by `from` of every spec unwraps in `to` to a key that behaves the same; a tampered one fails there. */
export async function crossUnwrap(from: Provider, to: Provider, of: KeyOf): Promise<void> {
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
      const alg = algsOf(s as AsymmetricKeySpec)[0]!;
      expect(await from.verify(of(from, s), alg, pt, 'RAW', await to.sign(k, alg, pt, 'RAW'))).toBe(true);
    }
    // A tampered token fails in the other provider too.
    const bad = Uint8Array.from(token);
    bad[token.length - 1]! ^= 0x80;
    await expect(to.unwrapKey(of(to, 'AES_256'), s, bad, aad)).rejects.toThrow('authentication failed');
  }
}

/**
 * Every signing algorithm of every spec, over a message (RAW) and its digest (DIGEST): what `from` signs
 * `to` verifies both ways and refuses for another message; PKCS#1 v1.5, being deterministic, signs identically.
 */
export async function crossSign(from: Provider, to: Provider, of: KeyOf): Promise<void> {
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
}

/** RSA-OAEP with SHA-1 and SHA-256 at every RSA size: `from` encrypts, `to` decrypts; the other hash fails. */
export async function crossOaep(from: Provider, to: Provider, of: KeyOf): Promise<void> {
  for (const s of RSA_SPECS) {
    for (const alg of ['RSAES_OAEP_SHA_1', 'RSAES_OAEP_SHA_256'] as const) {
      const pt = randomBytes(32);
      const ct = await from.encryptAsymmetric(of(from, s), alg, pt);
      expect(hex(await to.decryptAsymmetric(of(to, s), alg, ct)), `${s} ${alg}`).toBe(hex(pt));
      const other = alg === 'RSAES_OAEP_SHA_1' ? 'RSAES_OAEP_SHA_256' : 'RSAES_OAEP_SHA_1';
      await expect(to.decryptAsymmetric(of(to, s), other, ct)).rejects.toThrow('decryption error');
    }
  }
}

/** Every HMAC, over empty, short and multi-block messages: `to` verifies `from`'s tag and computes the same one. */
export async function crossMac(from: Provider, to: Provider, of: KeyOf): Promise<void> {
  for (const [s, alg] of MACS) {
    for (const n of [0, 100, 70000]) {
      const m = randomBytes(n);
      const tag = await from.mac(of(from, s), alg, m);
      expect(await to.verifyMac(of(to, s), alg, m, tag)).toBe(true);
      expect(hex(tag)).toBe(hex(await to.mac(of(to, s), alg, m)));
    }
  }
}

/** Key pairs of these specs generated by `from` import into `to` with the same public key. */
export async function crossKeyPairs(from: Provider, to: Provider, specs: readonly AsymmetricKeySpec[]): Promise<void> {
  for (const s of specs) {
    const { privateKey, publicKey } = await from.generateKeyPairBytes(s);
    expect(hex(await to.publicKey(await to.importKey(s, privateKey)))).toBe(hex(publicKey));
  }
}
