// Pkcs11Provider against a real SoftHSM2 token: the shared conformance suite; interop with the WASM
// and node providers in both directions (same material: identical ciphertexts, derived keys, MACs and
// canonical wrapped PKCS#8; signatures, OAEP and wrapped tokens cross over); hardware-resident keys
// that really refuse C_GetAttributeValue(CKA_VALUE) and C_WrapKey; and the typed errors of a wrong
// PIN, a missing module, an unknown token and a closed provider.
import { chmodSync, writeFileSync } from 'node:fs';
import { createDecipheriv, createHmac, createPrivateKey, createPublicKey, hkdfSync, randomBytes, verify as nodeVerify } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DecryptionError, NodeCryptoProvider, WasmProvider, type Provider } from '../../src/crypto/index.js';
import { HsmConfigError, KeyLabelError, ModuleLoadError, Pkcs11Error, TokenNotFoundError } from '../../src/hsm/errors.js';
import { Pkcs11Module, pkcs11js as P, secretKeyTemplate, type Session } from '../../src/hsm/pkcs11.js';
import { Pkcs11Provider } from '../../src/hsm/pkcs11-provider.js';
import { crossKeyPairs, crossMac, crossOaep, crossSign, crossUnwrap, sameKeys } from '../crypto/_cross-provider.js';
import { ASYM_SPECS, digest, fixtureKeys, hex, nodeSeal, nodeSigOptions, providerConformance } from '../crypto/provider-conformance.js';
import { SOFTHSM_MODULE, softhsmTokens, USER_PIN } from './_softhsm.js';

const T = softhsmTokens('conformance', 'interop', 'hardware', 'pin-test', 'closing');

// Both engines of the hot path (AES-GCM, sign/verify, HMAC): the native addon's pool and pkcs11js.
providerConformance('Pkcs11Provider, native hot path (SoftHSM2)', () => new Pkcs11Provider(T.conformance, { native: true }));
providerConformance('Pkcs11Provider, pkcs11js hot path (SoftHSM2)', () => new Pkcs11Provider(T.conformance, { native: false }));

/** The error a promise or function rejects/throws with. */
async function caught(f: () => unknown): Promise<unknown> {
  try {
    await f();
  } catch (e) {
    return e;
  }
  throw new Error('expected a failure');
}

describe('interop with WasmProvider and NodeCryptoProvider', () => {
  const hsm = new Pkcs11Provider(T.interop);
  const wasm = new WasmProvider();
  const node = new NodeCryptoProvider();
  const { load, of } = sameKeys();
  const PAIRS: [string, Provider, Provider][] = [
    ['pkcs11 → wasm', hsm, wasm], ['wasm → pkcs11', wasm, hsm], ['pkcs11 → node', hsm, node], ['node → pkcs11', node, hsm],
  ];

  beforeAll(() => load([hsm, wasm, node]));
  afterAll(() => hsm.close());

  it('AES-GCM ciphertexts and HKDF-derived keys are byte-identical to the software providers\'', async () => {
    for (const n of [0, 1, 32, 4096, 70000]) {
      const iv = randomBytes(12);
      const pt = randomBytes(n);
      const aad = randomBytes(n % 50);
      const a = await hsm.encrypt(of(hsm, 'AES_256'), iv, pt, aad);
      expect(hex(a)).toBe(hex(await wasm.encrypt(of(wasm, 'AES_256'), iv, pt, aad)));
      expect(hex(await node.decrypt(of(node, 'AES_256'), iv, a, aad))).toBe(hex(pt));
      expect(hex(await hsm.decrypt(of(hsm, 'AES_256'), iv, await node.encrypt(of(node, 'AES_256'), iv, pt, aad), aad))).toBe(hex(pt));
    }
    for (const [salt, info] of [[new Uint8Array(0), new Uint8Array(0)], [randomBytes(16), randomBytes(20)], [randomBytes(64), randomBytes(5)], [randomBytes(65), randomBytes(2048)]]) {
      const iv = randomBytes(12);
      const pt = randomBytes(32);
      const a = await hsm.encrypt(await hsm.deriveKey(of(hsm, 'AES_256'), salt!, info!), iv, pt, info!);
      expect(hex(a)).toBe(hex(await wasm.encrypt(await wasm.deriveKey(of(wasm, 'AES_256'), salt!, info!), iv, pt, info!)));
    }
  });

  for (const [label, from, to] of PAIRS) {
    describe(label, () => {
      it('wrapped tokens of every spec unwrap in the other provider to the same key; tampered ones do not', () => crossUnwrap(from, to, of), 120_000);
      it('signatures of every algorithm and spec, RAW and DIGEST, verify in the other provider', () => crossSign(from, to, of), 120_000);
      it('RSA-OAEP with both hashes crosses over; the other hash fails', () => crossOaep(from, to, of), 60_000);
      it('MACs are equal and verify in the other provider; generated key pairs import there', async () => {
        await crossMac(from, to, of);
        await crossKeyPairs(from, to, ['RSA_2048', 'ECC_NIST_P256', 'ECC_NIST_P521', 'ECC_SECG_P256K1']);
      }, 60_000);
    });
  }

  it('the HSM gives the SPKI and wraps the PKCS#8 byte for byte as the WASM provider does', async () => {
    const aad = new Uint8Array(0);
    for (const s of ASYM_SPECS) {
      expect(hex(await hsm.publicKey(of(hsm, s))), s).toBe(hex(await wasm.publicKey(of(wasm, s))));
      const th = await hsm.wrapKey(of(hsm, 'AES_256'), of(hsm, s), aad);
      const tw = await wasm.wrapKey(of(wasm, 'AES_256'), of(wasm, s), aad);
      const dh = await node.decrypt(of(node, 'AES_256'), th.subarray(0, 12), th.subarray(12), aad);
      const dw = await node.decrypt(of(node, 'AES_256'), tw.subarray(0, 12), tw.subarray(12), aad);
      expect(hex(dh), s).toBe(hex(dw));
    }
  });
});

for (const native of [true, false]) {
  describe(`batches and concurrency (${native ? 'native pool' : 'pkcs11js'})`, () => {
    const p = new Pkcs11Provider(T.interop, { native });
    const rawAes = randomBytes(32);
    afterAll(() => p.close());

    it('reports its hot path and its sessions', () => {
      expect(p.hotPath).toBe(native ? 'native' : 'pkcs11js');
      expect(p.sessions).toEqual(native ? { aesGcm: 2, other: 2 } : { aesGcm: 1, other: 1 });
      const auto = new Pkcs11Provider(T.interop);
      expect(auto.hotPath).toBe('native');
      expect(auto.nativeLoadError).toBeNull();
      auto.close();
      expect(auto.sessions).toEqual({ aesGcm: 0, other: 0 });
    });

    it('gcmSessions gives AES-GCM a pool of its own (native); every operation still answers as node does', async () => {
      const own = new Pkcs11Provider({ ...T.interop, sessions: 2, gcmSessions: 1 }, { native });
      try {
        expect(own.sessions).toEqual(native ? { aesGcm: 1, other: 2 } : { aesGcm: 1, other: 1 });
        const k = await own.importKey('AES_256', rawAes);
        const items = Array.from({ length: 20 }, (_, i) => ({ iv: randomBytes(12), plaintext: randomBytes(i * 53), aad: randomBytes(i % 3) }));
        const cts = await own.encryptBatch(k, items);
        expect(cts.map(hex)).toEqual(items.map((i) => nodeSeal(rawAes, i.iv, i.plaintext, i.aad)));
        expect(hex(await own.encrypt(k, items[3]!.iv, items[3]!.plaintext, items[3]!.aad))).toBe(hex(cts[3]!));
        expect(hex(await own.decrypt(k, items[5]!.iv, cts[5]!, items[5]!.aad))).toBe(hex(items[5]!.plaintext));
        cts[5]![0]! ^= 1;
        await expect(own.decrypt(k, items[5]!.iv, cts[5]!, items[5]!.aad)).rejects.toThrow('authentication failed');
        const ec = await own.importKey('ECC_NIST_P256', fixtureKeys().ECC_NIST_P256.pkcs8);
        const sig = await own.sign(ec, 'ECDSA_SHA_256', rawAes, 'RAW');
        expect(nodeVerify('sha256', rawAes, { key: createPublicKey({ key: Buffer.from(await own.publicKey(ec)), format: 'der', type: 'spki' }), dsaEncoding: 'der' }, sig)).toBe(true);
      } finally {
        own.close();
      }
      expect(own.sessions).toEqual({ aesGcm: 0, other: 0 });
    });

    it('encryptBatch/decryptBatch are encrypt/decrypt item by item; one altered item fails the batch naming its index', async () => {
      const k = await p.importKey('AES_256', rawAes);
      const items = Array.from({ length: 40 }, (_, i) => ({ iv: randomBytes(12), plaintext: randomBytes(i * 37), aad: randomBytes(i % 5) }));
      const cts = await p.encryptBatch(k, items);
      expect(cts.map(hex)).toEqual(items.map((i) => nodeSeal(rawAes, i.iv, i.plaintext, i.aad)));
      const back = await p.decryptBatch(k, items.map((i, n) => ({ iv: i.iv, aad: i.aad, ciphertext: cts[n]! })));
      expect(back.map(hex)).toEqual(items.map((i) => hex(i.plaintext)));
      const bad = items.map((i, n) => ({ iv: i.iv, aad: i.aad, ciphertext: n === 17 ? Uint8Array.from(cts[n]!, (b, j) => (j === 0 ? b ^ 1 : b)) : cts[n]! }));
      const e = await caught(() => p.decryptBatch(k, bad));
      expect(e).toMatchObject({ name: 'AuthenticationError', message: 'authentication failed' });
      if (native) expect((e as { index?: number }).index).toBe(17);
      expect(await p.encryptBatch(k, [])).toEqual([]);
      await expect(p.encryptBatch(k, [{ iv: new Uint8Array(11), plaintext: new Uint8Array(0), aad: new Uint8Array(0) }])).rejects.toThrow('expected a 12-byte iv, got 11');
    });

    it('hundreds of concurrent mixed calls (GCM, ECDSA, HMAC, wrap/unwrap, derive) all give the right answers', async () => {
      const K = fixtureKeys();
      const macRaw = randomBytes(32);
      const k = await p.importKey('AES_256', rawAes);
      const ec = await p.importKey('ECC_NIST_P256', K.ECC_NIST_P256.pkcs8);
      const hm = await p.importKey('HMAC_256', macRaw);
      const jobs = Array.from({ length: 400 }, async (_, i) => {
        const iv = randomBytes(12);
        const pt = randomBytes(i * 3);
        const aad = randomBytes(i % 7);
        switch (i % 5) {
          case 0:
            expect(hex(await p.encrypt(k, iv, pt, aad))).toBe(nodeSeal(rawAes, iv, pt, aad));
            break;
          case 1:
            expect(nodeVerify('sha256', pt, nodeSigOptions('ECDSA_SHA_256', K.ECC_NIST_P256.pub), await p.sign(ec, 'ECDSA_SHA_256', pt, 'RAW'))).toBe(true);
            break;
          case 2:
            expect(hex(await p.mac(hm, 'HMAC_SHA_256', pt))).toBe(createHmac('sha256', macRaw).update(pt).digest('hex'));
            break;
          case 3: {
            const u = await p.unwrapKey(k, 'HMAC_256', await p.wrapKey(k, hm, aad), aad);
            expect(await p.verifyMac(u, 'HMAC_SHA_256', pt, createHmac('sha256', macRaw).update(pt).digest())).toBe(true);
            await p.destroyKey(u);
            break;
          }
          default: {
            const want = new Uint8Array(hkdfSync('sha256', rawAes, aad, pt.subarray(0, 100), 32));
            const d = await p.deriveKey(k, aad, pt.subarray(0, 100));
            expect(hex(await p.encrypt(d, iv, pt, aad))).toBe(nodeSeal(want, iv, pt, aad));
            await p.destroyKey(d);
          }
        }
      });
      await Promise.all(jobs);
    }, 60_000);

    it('signBatch: ECDSA signatures node verifies, RSA PKCS#1 v1.5 identical to node\'s, HMAC keys refused', async () => {
      const K = fixtureKeys();
      const msgs = Array.from({ length: 30 }, (_, i) => randomBytes(i * 11));
      const ec = await p.importKey('ECC_NIST_P384', K.ECC_NIST_P384.pkcs8);
      const sigs = await p.signBatch(ec, 'ECDSA_SHA_384', msgs, 'RAW');
      msgs.forEach((m, i) => expect(nodeVerify('sha384', m, nodeSigOptions('ECDSA_SHA_384', K.ECC_NIST_P384.pub), sigs[i]!)).toBe(true));
      const rsa = await p.importKey('RSA_2048', K.RSA_2048.pkcs8);
      const digests = msgs.map((m) => digest('RSASSA_PKCS1_V1_5_SHA_256', m));
      const rsaSigs = await p.signBatch(rsa, 'RSASSA_PKCS1_V1_5_SHA_256', digests, 'DIGEST');
      for (let i = 0; i < msgs.length; i++) expect(hex(rsaSigs[i]!)).toBe(hex(await p.sign(rsa, 'RSASSA_PKCS1_V1_5_SHA_256', msgs[i]!, 'RAW')));
      await expect(p.signBatch(await p.generateKey('HMAC_256'), 'ECDSA_SHA_256', msgs, 'RAW')).rejects.toThrow(TypeError);
      await expect(p.signBatch(ec, 'ECDSA_SHA_384', [new Uint8Array(3)], 'DIGEST')).rejects.toThrow(RangeError);
    });
  });
}

describe('hardware-resident keys (SoftHSM2 token "hardware")', () => {
  const p = new Pkcs11Provider(T.hardware);
  // A second view of the same token through the object model, to look at what the provider made.
  const module = Pkcs11Module.load(SOFTHSM_MODULE);
  let s: Session;
  const find = (label: string, cls: number): Buffer => {
    const found = s.findObjects({ label, class: cls });
    expect(found.length, label).toBe(1);
    return found[0]!;
  };
  const WRAP = { mechanism: P.CKM_AES_KEY_WRAP_PAD };

  beforeAll(() => {
    s = module.findToken('hardware').openSession();
  });
  afterAll(() => {
    s.close();
    p.close();
    module.close();
  });

  it('a non-extractable token AES key refuses C_GetAttributeValue(CKA_VALUE) and C_WrapKey, directly and through wrapKey', async () => {
    const rk = await p.generateKey('AES_256', { token: true, label: 'region-key', extractable: false });
    const obj = find('region-key', P.CKO_SECRET_KEY);
    expect(s.getAttributes(obj, ['token', 'sensitive', 'extractable', 'alwaysSensitive', 'neverExtractable', 'local', 'wrap', 'derive'])).toEqual({
      token: true, sensitive: true, extractable: false, alwaysSensitive: true, neverExtractable: true, local: true, wrap: false, derive: false,
    });
    const e1 = await caught(() => s.getAttributes(obj, ['value']));
    expect(e1).toBeInstanceOf(Pkcs11Error);
    expect(e1).toMatchObject({ ckr: 'CKR_ATTRIBUTE_SENSITIVE', code: 0x11, method: 'C_GetAttributeValue' });
    // A wrapping key that may wrap anything still cannot export it.
    const wk = s.createObject({ ...secretKeyTemplate('AES', {}), value: randomBytes(32), encrypt: false, decrypt: false, wrap: true });
    const e2 = await caught(() => s.wrapKey(WRAP, wk, obj, 1024));
    expect(e2).toMatchObject({ name: 'Pkcs11Error', ckr: 'CKR_KEY_UNEXTRACTABLE', code: 0x6a, method: 'C_WrapKey' });
    const other = await p.generateKey('AES_256');
    const e3 = await caught(() => p.wrapKey(other, rk, new Uint8Array(0)));
    expect(e3).toMatchObject({ name: 'Pkcs11Error', ckr: 'CKR_KEY_UNEXTRACTABLE', method: 'C_WrapKey' });
  });

  it('a non-extractable token EC key: private key unreadable and unwrappable, signs for node, found again by label', async () => {
    const k = await p.generateKey('ECC_NIST_P256', { token: true, label: 'tls-key', extractable: false });
    const priv = find('tls-key', P.CKO_PRIVATE_KEY);
    expect(s.getAttributes(priv, ['sensitive', 'extractable', 'neverExtractable', 'sign', 'decrypt'])).toEqual({ sensitive: true, extractable: false, neverExtractable: true, sign: true, decrypt: false });
    expect(await caught(() => s.getAttributes(priv, ['value']))).toMatchObject({ ckr: 'CKR_ATTRIBUTE_SENSITIVE' });
    const wk = s.createObject({ ...secretKeyTemplate('AES', {}), value: randomBytes(32), encrypt: false, decrypt: false, wrap: true });
    expect(await caught(() => s.wrapKey(WRAP, wk, priv, 4096))).toMatchObject({ ckr: 'CKR_KEY_UNEXTRACTABLE' });
    const msg = randomBytes(64);
    const pub = createPublicKey({ key: Buffer.from(await p.publicKey(k)), format: 'der', type: 'spki' });
    expect(nodeVerify('sha256', msg, nodeSigOptions('ECDSA_SHA_256', pub), await p.sign(k, 'ECDSA_SHA_256', msg, 'RAW'))).toBe(true);
    const again = new Pkcs11Provider(T.hardware);
    try {
      const k2 = again.openKey('tls-key');
      expect(k2.spec).toBe('ECC_NIST_P256');
      expect(again.labelOf(k2)).toBe('tls-key');
      expect(hex(await again.publicKey(k2))).toBe(hex(await p.publicKey(k)));
      expect(await p.verify(k, 'ECDSA_SHA_256', msg, 'RAW', await again.sign(k2, 'ECDSA_SHA_256', msg, 'RAW'))).toBe(true);
    } finally {
      again.close();
    }
  });

  it('the Provider\'s own keys are sensitive session objects, extractable only by wrapping', async () => {
    await p.generateKey('HMAC_384', { label: 'session-mac' });
    await p.importKey('RSA_2048', fixtureKeys().RSA_2048.pkcs8, { label: 'session-rsa' });
    const mac = find('session-mac', P.CKO_SECRET_KEY);
    expect(s.getAttributes(mac, ['token', 'sensitive', 'extractable', 'keyType', 'valueLen', 'sign', 'encrypt'])).toEqual({
      token: false, sensitive: true, extractable: true, keyType: P.CKK_GENERIC_SECRET, valueLen: 48, sign: true, encrypt: false,
    });
    expect(await caught(() => s.getAttributes(mac, ['value']))).toMatchObject({ ckr: 'CKR_ATTRIBUTE_SENSITIVE' });
    const rsa = find('session-rsa', P.CKO_PRIVATE_KEY);
    expect(s.getAttributes(rsa, ['token', 'sensitive', 'extractable'])).toEqual({ token: false, sensitive: true, extractable: true });
    for (const a of ['privateExponent', 'prime1', 'coefficient'] as const) expect(await caught(() => s.getAttributes(rsa, [a]))).toMatchObject({ ckr: 'CKR_ATTRIBUTE_SENSITIVE' });
  });

  it('a token region key wraps domain keys; another provider instance opens it by label and unwraps them; HKDF runs on it', async () => {
    const rawRk = randomBytes(32);
    const rk = await p.importKey('AES_256', rawRk, { token: true, label: 'imported-rk', extractable: false });
    const dk = await p.generateKey('AES_256');
    const aad = randomBytes(16);
    const token = await p.wrapKey(rk, dk, aad);
    expect(token.length).toBe(12 + 32 + 16);
    const iv = randomBytes(12);
    const pt = randomBytes(50);
    const again = new Pkcs11Provider(T.hardware);
    try {
      const rk2 = again.openKey('imported-rk');
      expect(rk2.spec).toBe('AES_256');
      const dk2 = await again.unwrapKey(rk2, 'AES_256', token, aad);
      expect(hex(await again.encrypt(dk2, iv, pt, aad))).toBe(hex(await p.encrypt(dk, iv, pt, aad)));
      // The token is plain AES-256-GCM under the region key: node opens it, and the key inside is dk.
      const d = createDecipheriv('aes-256-gcm', rawRk, token.subarray(0, 12));
      d.setAAD(aad);
      d.setAuthTag(token.subarray(token.length - 16));
      const dkRaw = Buffer.concat([d.update(token.subarray(12, token.length - 16)), d.final()]);
      expect(hex(await p.encrypt(dk, iv, pt, aad))).toBe(nodeSeal(dkRaw, iv, pt, aad));
      // C_DigestKey works on the non-extractable key: RFC 5869 HKDF equal to node's.
      const salt = randomBytes(16);
      const info = randomBytes(30);
      const want = new Uint8Array(hkdfSync('sha256', rawRk, salt, info, 32));
      expect(hex(await again.encrypt(await again.deriveKey(rk2, salt, info), iv, pt, aad))).toBe(nodeSeal(want, iv, pt, aad));
    } finally {
      again.close();
    }
  });

  it('token keys outlive the provider; destroyKey only releases their handle, deleteTokenKey removes them', async () => {
    const k = await p.generateKey('HMAC_256', { token: true, label: 'long-lived', extractable: false });
    const m = randomBytes(10);
    const tag = await p.mac(k, 'HMAC_SHA_256', m);
    await p.destroyKey(k);
    await expect(p.mac(k, 'HMAC_SHA_256', m)).rejects.toThrow(/destroyed/);
    const again = new Pkcs11Provider(T.hardware);
    try {
      const k2 = again.openKey('long-lived');
      expect(k2.spec).toBe('HMAC_256');
      expect(await again.verifyMac(k2, 'HMAC_SHA_256', m, tag)).toBe(true);
      await again.deleteTokenKey(k2);
      expect(await caught(() => again.openKey('long-lived'))).toMatchObject({ name: 'KeyLabelError', reason: 'not-found', label: 'long-lived' });
    } finally {
      again.close();
    }
  });

  it('labels: a taken label, a token key without one, an unknown label are typed errors', async () => {
    await p.generateKey('AES_256', { token: true, label: 'taken', extractable: false });
    const e = await caught(() => p.generateKey('AES_256', { token: true, label: 'taken' }));
    expect(e).toBeInstanceOf(KeyLabelError);
    expect(e).toMatchObject({ reason: 'exists', message: "a token key is already labelled 'taken'" });
    await expect(p.generateKey('AES_256', { token: true })).rejects.toThrow(TypeError);
    expect(await caught(() => p.openKey('nobody'))).toMatchObject({ name: 'KeyLabelError', reason: 'not-found' });
  });
});

describe('typed errors', () => {
  it('a wrong PIN is Pkcs11Error CKR_PIN_INCORRECT from C_Login, and the PIN is in no message', async () => {
    const e = await caught(() => new Pkcs11Provider({ ...T['pin-test'], pin: '11112222' }));
    expect(e).toBeInstanceOf(Pkcs11Error);
    expect(e).toMatchObject({ ckr: 'CKR_PIN_INCORRECT', code: 0xa0, method: 'C_Login' });
    expect((e as Error).message).toBe('C_Login failed: CKR_PIN_INCORRECT (0x000000a0)');
    expect(JSON.stringify(e) + (e as Error).stack).not.toContain('11112222');
    // The right PIN still logs in afterwards.
    const ok = new Pkcs11Provider(T['pin-test']);
    expect((await ok.random(8)).length).toBe(8);
    ok.close();
  });

  it('a missing module, or a library that is not a PKCS#11 module, is a ModuleLoadError naming the path', async () => {
    const e = await caught(() => new Pkcs11Provider({ ...T.interop, module: '/nonexistent/libvendor-pkcs11.so' }));
    expect(e).toBeInstanceOf(ModuleLoadError);
    expect(e).toMatchObject({ module: '/nonexistent/libvendor-pkcs11.so' });
    expect((e as Error).message).toMatch(/^cannot load PKCS#11 module \/nonexistent\/libvendor-pkcs11\.so: .*No such file/);
    const notPkcs11 = join(T.dir, 'not-pkcs11.so');
    writeFileSync(notPkcs11, 'not an ELF file');
    expect(await caught(() => new Pkcs11Provider({ ...T.interop, module: notPkcs11 }))).toBeInstanceOf(ModuleLoadError);
  });

  it('an unknown token label or slot is a TokenNotFoundError listing the tokens present', async () => {
    const e = await caught(() => new Pkcs11Provider({ ...T.interop, tokenLabel: 'no-such-token' }));
    expect(e).toBeInstanceOf(TokenNotFoundError);
    expect((e as TokenNotFoundError).token).toBe('no-such-token');
    expect([...(e as TokenNotFoundError).available].sort()).toEqual(['closing', 'conformance', 'hardware', 'interop', 'pin-test']);
    expect((e as Error).message).toMatch(/^no token labelled 'no-such-token' in the PKCS#11 module \(tokens present: /);
    const { tokenLabel: _, ...bySlot } = T.interop;
    expect(await caught(() => new Pkcs11Provider({ ...bySlot, slot: 987654 }))).toMatchObject({ name: 'TokenNotFoundError', token: 987654n });
  });

  it('a slot id finds its token; a PIN file works, and one readable by others is refused', async () => {
    const m = Pkcs11Module.load(SOFTHSM_MODULE);
    const slot = m.findToken('interop').id;
    m.close();
    const pinFile = join(T.dir, 'pin');
    writeFileSync(pinFile, `${USER_PIN}\n`, { mode: 0o644 });
    chmodSync(pinFile, 0o644);
    const { tokenLabel: _, pin: __, ...rest } = T.interop;
    const e = await caught(() => new Pkcs11Provider({ ...rest, slot: Number(slot), pinFile }));
    expect(e).toBeInstanceOf(HsmConfigError);
    expect(e).toMatchObject({ field: 'pinFile' });
    chmodSync(pinFile, 0o600);
    const p = new Pkcs11Provider({ ...rest, slot: Number(slot), pinFile });
    expect(p.slot.tokenInfo().label).toBe('interop');
    p.close();
  });

  it('a closed provider refuses every call with a TypeError, and its session keys are gone from the token', async () => {
    const p = new Pkcs11Provider(T.interop);
    const k = await p.generateKey('AES_256', { label: 'dies-with-provider' });
    p.close();
    p.close();
    await expect(p.encrypt(k, new Uint8Array(12), new Uint8Array(1), new Uint8Array(0))).rejects.toThrow('the pkcs11 provider was closed');
    await expect(p.random(4)).rejects.toThrow(TypeError);
    await expect(p.generateKey('AES_256')).rejects.toThrow(TypeError);
    const m = Pkcs11Module.load(SOFTHSM_MODULE);
    const s = m.findToken('interop').openSession();
    try {
      s.login(USER_PIN);
      expect(s.findObjects({ label: 'dies-with-provider' })).toEqual([]);
    } finally {
      s.close();
      m.close();
    }
  });

  for (const native of [false, true]) {
    it(`sessions closed under the provider (C_CloseAllSessions) give typed Pkcs11Errors (${native ? 'native pool' : 'pkcs11js'})`, async () => {
      const p = new Pkcs11Provider(T.closing, { native });
      const k = await p.importKey('AES_256', randomBytes(32));
      const mac = await p.importKey('HMAC_256', randomBytes(32));
      const m = Pkcs11Module.load(SOFTHSM_MODULE);
      try {
        m.findToken('closing').closeAllSessions();
      } finally {
        m.close();
      }
      expect(await caught(() => p.random(8))).toMatchObject({ name: 'Pkcs11Error', ckr: 'CKR_SESSION_HANDLE_INVALID', method: 'C_GenerateRandom' });
      const e1 = await caught(() => p.encrypt(k, randomBytes(12), randomBytes(5), new Uint8Array(0)));
      expect(e1).toBeInstanceOf(Pkcs11Error);
      expect((e1 as Pkcs11Error).ckr).toMatch(/^CKR_(SESSION|KEY|OBJECT)_HANDLE_INVALID$|^CKR_USER_NOT_LOGGED_IN$/);
      expect(await caught(() => p.mac(mac, 'HMAC_SHA_256', randomBytes(5)))).toBeInstanceOf(Pkcs11Error);
      await expect(p.generateKey('AES_256')).rejects.toMatchObject({ name: 'Pkcs11Error', method: 'C_GenerateKey' });
      p.close();
      // The token itself is fine: a new provider logs in again and works.
      const again = new Pkcs11Provider(T.closing, { native });
      expect((await again.random(4)).length).toBe(4);
      again.close();
    });
  }

  it('an operation failing inside the token leaves the provider usable (its operation session is replaced)', async () => {
    const p = new Pkcs11Provider(T.interop);
    try {
      const k = await p.importKey('AES_256', randomBytes(32));
      const iv = randomBytes(12);
      const ct = await p.encrypt(k, iv, randomBytes(20), new Uint8Array(0));
      ct[0]! ^= 1;
      await expect(p.decrypt(k, iv, ct, new Uint8Array(0))).rejects.toThrow('authentication failed');
      ct[0]! ^= 1;
      expect((await p.decrypt(k, iv, ct, new Uint8Array(0))).length).toBe(20);
      const rsa = await p.importKey('RSA_2048', fixtureKeys().RSA_2048.pkcs8);
      const sig = await p.sign(rsa, 'RSASSA_PSS_SHA_256', ct, 'RAW');
      // A "signature" numerically above the modulus.
      expect(await p.verify(rsa, 'RSASSA_PSS_SHA_256', ct, 'RAW', new Uint8Array(256).fill(0xff))).toBe(false);
      expect(await p.verify(rsa, 'RSASSA_PSS_SHA_256', ct, 'RAW', sig)).toBe(true);
      // A well-formed ECDSA signature with r = s = n (out of range) is false, not an error.
      const ec = await p.importKey('ECC_NIST_P256', fixtureKeys().ECC_NIST_P256.pkcs8);
      const n = Buffer.from('00ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551', 'hex');
      const rn = Buffer.concat([Buffer.of(0x30, 2 * (n.length + 2), 0x02, n.length), n, Buffer.of(0x02, n.length), n]);
      expect(await p.verify(ec, 'ECDSA_SHA_256', ct, 'RAW', rn)).toBe(false);
      expect(await p.verify(ec, 'ECDSA_SHA_256', ct, 'RAW', await p.sign(ec, 'ECDSA_SHA_256', ct, 'RAW'))).toBe(true);
    } finally {
      p.close();
    }
  });

  // SoftHSM2 runs on the libcrypto node exports: a decryption it refuses leaves OpenSSL errors on the calling
  // thread, and node's next key import there threw "padding check failed" until the provider cleared them.
  for (const native of [true, false]) {
    it(`a decryption the token refuses leaves node:crypto on this thread working (${native ? 'native pool' : 'pkcs11js'})`, async () => {
      const p = new Pkcs11Provider(T.interop, { native });
      try {
        const K = fixtureKeys();
        const rsa = await p.importKey('RSA_2048', K.RSA_2048.pkcs8);
        const ct = await p.encryptAsymmetric(rsa, 'RSAES_OAEP_SHA_256', randomBytes(32));
        for (let i = 0; i < 3; i++) {
          await expect(p.decryptAsymmetric(rsa, 'RSAES_OAEP_SHA_1', ct)).rejects.toThrow(DecryptionError);
          expect(createPrivateKey({ key: Buffer.from(K.RSA_2048_B.pkcs8), format: 'der', type: 'pkcs8' }).asymmetricKeyType).toBe('rsa');
        }
      } finally {
        p.close();
      }
    });
  }
});
