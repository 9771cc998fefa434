// The native PKCS#11 addon against a real SoftHSM2 token: results checked against node:crypto both
// ways, batches, concurrency, errors, memory and event-loop behaviour. pkcs11js initializes the module
// first here (as the provider does), so the addon shares that initialization.
import { createCipheriv, createDecipheriv, createHash, createHmac, createPublicKey, constants, generateKeyPairSync, randomBytes, sign as nodeSign, verify as nodeVerify } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ModuleLoadError, Pkcs11Error, loadNative, locateAddon, type NativeSessionPool } from '../../src/hsm/native.js';
import { KeyMaker, PIN, SOFTHSM, createTokenDir, initToken } from './_native-softhsm.js';

createTokenDir('native');
const SLOT = initToken('kw-native');
// Never logged in by anyone in this process, so a wrong PIN really reaches the PIN check.
const PIN_SLOT = initToken('kw-native-pin');

const CKM_ECDSA = 0x1041;
const CKM_SHA256_RSA_PKCS = 0x40;
const CKM_SHA256_RSA_PKCS_PSS = 0x43;
const CKM_SHA256_HMAC = 0x251;
const CKM_SHA256 = 0x250;
const CKG_MGF1_SHA256 = 0x2;
const PSS = { type: CKM_SHA256_RSA_PKCS_PSS, params: { hashAlg: CKM_SHA256, mgf: CKG_MGF1_SHA256, saltLen: 32 } };

const ADDON = fileURLToPath(new URL('../../build/Release/keyward_pkcs11.node', import.meta.url));
const AES_KEY = randomBytes(32);
const HMAC_KEY = randomBytes(32);

let maker: KeyMaker;
let pool: NativeSessionPool;
let aes: number;
let hmac: number;
let ec: ReturnType<KeyMaker['ecP256']>;
let rsa: ReturnType<KeyMaker['rsa2048']>;

beforeAll(() => {
  maker = new KeyMaker(SLOT);
  aes = maker.secretKey(AES_KEY, 'aes');
  hmac = maker.secretKey(HMAC_KEY, 'hmac');
  ec = maker.ecP256();
  rsa = maker.rsa2048();
  pool = loadNative().open({ module: SOFTHSM, slot: SLOT, pin: PIN, sessions: 2 });
});

afterAll(() => {
  pool?.close();
  maker?.close();
});

function nodeSeal(iv: Uint8Array, aad: Uint8Array, pt: Uint8Array): Buffer {
  const c = createCipheriv('aes-256-gcm', AES_KEY, iv);
  c.setAAD(aad);
  return Buffer.concat([c.update(pt), c.final(), c.getAuthTag()]);
}

function nodeOpen(iv: Uint8Array, aad: Uint8Array, sealed: Uint8Array): Buffer {
  const d = createDecipheriv('aes-256-gcm', AES_KEY, iv);
  d.setAAD(aad);
  d.setAuthTag(sealed.subarray(sealed.length - 16));
  return Buffer.concat([d.update(sealed.subarray(0, sealed.length - 16)), d.final()]);
}

const sha256 = (m: Uint8Array): Buffer => createHash('sha256').update(m).digest();

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error('expected a rejection');
}

describe('AES-GCM', () => {
  it('equals node:crypto both ways, for lengths around the block size and with and without AAD', async () => {
    for (const len of [0, 1, 15, 16, 17, 31, 64, 1000, 1024, 65536]) {
      for (const aad of [new Uint8Array(0), randomBytes(1), randomBytes(45)]) {
        const iv = randomBytes(12);
        const pt = randomBytes(len);
        const sealed = await pool.aesGcmEncrypt(aes, iv, aad, pt);
        expect(Buffer.from(sealed).equals(nodeSeal(iv, aad, pt)), `len ${len} aad ${aad.length}`).toBe(true);
        expect(nodeOpen(iv, aad, sealed).equals(pt)).toBe(true);
        const opened = await pool.aesGcmDecrypt(aes, iv, aad, nodeSeal(iv, aad, pt));
        expect(Buffer.from(opened).equals(pt)).toBe(true);
      }
    }
  });

  it('accepts IVs other than 96 bits as node:crypto does (GHASH-derived J0)', async () => {
    for (const ivLen of [1, 8, 16, 60]) {
      const iv = randomBytes(ivLen);
      const pt = randomBytes(100);
      const sealed = await pool.aesGcmEncrypt(aes, iv, new Uint8Array(0), pt);
      expect(Buffer.from(sealed).equals(nodeSeal(iv, new Uint8Array(0), pt)), `iv ${ivLen}`).toBe(true);
    }
  });

  it('rejects a flipped tag, ciphertext or AAD bit, a wrong IV or a truncated input with a Pkcs11Error from C_Decrypt', async () => {
    const iv = randomBytes(12);
    const aad = Buffer.from('context');
    const pt = randomBytes(300);
    const sealed = nodeSeal(iv, aad, pt);
    const cases: [string, Uint8Array, Uint8Array, Uint8Array][] = [];
    for (const at of [0, 150, sealed.length - 16, sealed.length - 1]) {
      const bad = Buffer.from(sealed);
      bad[at]! ^= 0x01;
      cases.push([`bit at ${at}`, iv, aad, bad]);
    }
    cases.push(['aad', iv, Buffer.from('contexT'), sealed]);
    cases.push(['iv', randomBytes(12), aad, sealed]);
    cases.push(['truncated tag', iv, aad, sealed.subarray(0, sealed.length - 1)]);
    cases.push(['only a wrong tag', iv, aad, new Uint8Array(16)]);
    for (const [what, i, a, c] of cases) {
      const e = await rejection(pool.aesGcmDecrypt(aes, i, a, c));
      expect(e, what).toBeInstanceOf(Pkcs11Error);
      const err = e as Pkcs11Error;
      expect(err.method, what).toBe('C_Decrypt');
      // SoftHSM2 reports a failed tag check as CKR_GENERAL_ERROR; the specification's code is
      // CKR_ENCRYPTED_DATA_INVALID. Either way no plaintext comes back.
      expect(['CKR_ENCRYPTED_DATA_INVALID', 'CKR_GENERAL_ERROR'], what).toContain(err.ckr);
      expect(err.code).toBe(err.ckr === 'CKR_GENERAL_ERROR' ? 0x5 : 0x40);
    }
    // A failed decryption ends the operation: every session of the pool still works.
    const again = await Promise.all([0, 1, 2, 3].map(() => pool.aesGcmDecrypt(aes, iv, aad, sealed)));
    for (const p of again) expect(Buffer.from(p).equals(pt)).toBe(true);
  });

  it('copies its arguments when called: changing the buffers afterwards changes nothing', async () => {
    const iv = randomBytes(12);
    const pt = randomBytes(64);
    const expected = nodeSeal(iv, new Uint8Array(0), pt);
    const ivCopy = Buffer.from(iv);
    const p = pool.aesGcmEncrypt(aes, iv, new Uint8Array(0), pt);
    iv.fill(0);
    pt.fill(0);
    expect(Buffer.from(await p).equals(expected)).toBe(true);
    expect(ivCopy.equals(iv)).toBe(false);
  });

  it('reads Uint8Array views at their offset, not from the start of their buffer', async () => {
    const backing = randomBytes(200);
    const iv = backing.subarray(10, 22);
    const aad = new Uint8Array(backing.buffer, backing.byteOffset + 50, 20);
    const pt = backing.subarray(100, 180);
    const sealed = await pool.aesGcmEncrypt(aes, iv, aad, pt);
    expect(Buffer.from(sealed).equals(nodeSeal(iv, aad, pt))).toBe(true);
  });
});

describe('signatures', () => {
  it('ECDSA P-256 (CKM_ECDSA over SHA-256): verifies in node:crypto, and node signatures verify in the addon', async () => {
    const pub = createPublicKey({ key: ec.jwk, format: 'jwk' });
    const mech = { type: CKM_ECDSA };
    for (let i = 0; i < 20; i++) {
      const msg = randomBytes(i * 7);
      const sig = await pool.sign(ec.priv, mech, sha256(msg));
      expect(sig.length).toBe(64);
      expect(nodeVerify('sha256', msg, { key: pub, dsaEncoding: 'ieee-p1363' }, sig)).toBe(true);
      expect(await pool.verify(ec.pub, mech, sha256(msg), sig)).toBe(true);
      const bad = Buffer.from(sig);
      bad[i % 64]! ^= 0x80;
      expect(await pool.verify(ec.pub, mech, sha256(msg), bad)).toBe(false);
      expect(await pool.verify(ec.pub, mech, sha256(randomBytes(5)), sig)).toBe(false);
    }
  });

  it('ECDSA: a signature made by node:crypto with an imported key verifies; a short signature is false', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const jwk = publicKey.export({ format: 'jwk' });
    const x = Buffer.from(jwk.x!, 'base64url');
    const y = Buffer.from(jwk.y!, 'base64url');
    const pub = maker.p.C_CreateObject(maker.session, [
      { type: 0x0 /* CKA_CLASS */, value: 2 /* CKO_PUBLIC_KEY */ },
      { type: 0x100 /* CKA_KEY_TYPE */, value: 3 /* CKK_EC */ },
      { type: 0x1 /* CKA_TOKEN */, value: false },
      { type: 0x10a /* CKA_VERIFY */, value: true },
      { type: 0x180 /* CKA_EC_PARAMS */, value: Buffer.from('06082a8648ce3d030107', 'hex') },
      { type: 0x181 /* CKA_EC_POINT */, value: Buffer.concat([Buffer.from([0x04, 65, 0x04]), x, y]) },
    ]);
    const handle = Number(pub.readBigUInt64LE(0));
    const msg = randomBytes(77);
    const sig = nodeSign('sha256', msg, { key: privateKey, dsaEncoding: 'ieee-p1363' });
    expect(await pool.verify(handle, { type: CKM_ECDSA }, sha256(msg), sig)).toBe(true);
    expect(await pool.verify(handle, { type: CKM_ECDSA }, sha256(msg), sig.subarray(0, 63))).toBe(false);
  });

  it('RSA-2048 PKCS#1 v1.5 (CKM_SHA256_RSA_PKCS) and PSS (CKM_SHA256_RSA_PKCS_PSS, salt 32) verify in node:crypto', async () => {
    const pub = createPublicKey({ key: rsa.jwk, format: 'jwk' });
    for (let i = 0; i < 5; i++) {
      const msg = randomBytes(100 + i);
      const v15 = await pool.sign(rsa.priv, { type: CKM_SHA256_RSA_PKCS }, msg);
      expect(v15.length).toBe(256);
      expect(nodeVerify('sha256', msg, { key: pub, padding: constants.RSA_PKCS1_PADDING }, v15)).toBe(true);
      expect(await pool.verify(rsa.pub, { type: CKM_SHA256_RSA_PKCS }, msg, v15)).toBe(true);

      const pss = await pool.sign(rsa.priv, PSS, msg);
      expect(pss.length).toBe(256);
      expect(nodeVerify('sha256', msg, { key: pub, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }, pss)).toBe(true);
      // The wrong salt length must not verify: the parameters really reach the token.
      expect(nodeVerify('sha256', msg, { key: pub, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 20 }, pss)).toBe(false);
      expect(await pool.verify(rsa.pub, PSS, msg, pss)).toBe(true);
      expect(await pool.verify(rsa.pub, PSS, randomBytes(100), pss)).toBe(false);
    }
  });

  it('RSA: node:crypto signatures (over a key node generated, imported as a public object) verify in the addon', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const jwk = publicKey.export({ format: 'jwk' });
    const pubHandle = maker.p.C_CreateObject(maker.session, [
      { type: 0x0, value: 2 },
      { type: 0x100, value: 0 /* CKK_RSA */ },
      { type: 0x1, value: false },
      { type: 0x10a, value: true },
      { type: 0x120 /* CKA_MODULUS */, value: Buffer.from(jwk.n!, 'base64url') },
      { type: 0x122 /* CKA_PUBLIC_EXPONENT */, value: Buffer.from(jwk.e!, 'base64url') },
    ]);
    const handle = Number(pubHandle.readBigUInt64LE(0));
    const msg = randomBytes(50);
    const v15 = nodeSign('sha256', msg, { key: privateKey, padding: constants.RSA_PKCS1_PADDING });
    const pss = nodeSign('sha256', msg, { key: privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 });
    expect(await pool.verify(handle, { type: CKM_SHA256_RSA_PKCS }, msg, v15)).toBe(true);
    expect(await pool.verify(handle, PSS, msg, pss)).toBe(true);
    expect(await pool.verify(handle, { type: CKM_SHA256_RSA_PKCS }, msg, pss)).toBe(false);
  });

  it('HMAC-SHA256 (CKM_SHA256_HMAC) equals node:crypto', async () => {
    for (const len of [0, 1, 64, 1000]) {
      const msg = randomBytes(len);
      const mac = await pool.sign(hmac, { type: CKM_SHA256_HMAC }, msg);
      expect(Buffer.from(mac).equals(createHmac('sha256', HMAC_KEY).update(msg).digest())).toBe(true);
    }
  });

  it('mechanism errors are Pkcs11Errors naming the C_*Init that refused', async () => {
    const wrongMech = (await rejection(pool.sign(rsa.priv, { type: 0x7fff_fff0 }, randomBytes(8)))) as Pkcs11Error;
    expect(wrongMech).toBeInstanceOf(Pkcs11Error);
    expect(wrongMech.method).toBe('C_SignInit');
    expect(wrongMech.ckr).toBe('CKR_MECHANISM_INVALID');
    const badParams = (await rejection(
      pool.sign(rsa.priv, { type: CKM_SHA256_RSA_PKCS_PSS, params: { hashAlg: CKM_SHA256, mgf: 0x77, saltLen: 32 } }, randomBytes(8)),
    )) as Pkcs11Error;
    expect(badParams).toBeInstanceOf(Pkcs11Error);
    expect(badParams.method).toBe('C_SignInit');
    // An unknown MGF: SoftHSM2 answers CKR_ARGUMENTS_BAD where the specification suggests
    // CKR_MECHANISM_PARAM_INVALID.
    expect(['CKR_MECHANISM_PARAM_INVALID', 'CKR_ARGUMENTS_BAD']).toContain(badParams.ckr);
    const wrongKey = (await rejection(pool.aesGcmEncrypt(987654, randomBytes(12), new Uint8Array(0), randomBytes(4)))) as Pkcs11Error;
    expect(wrongKey).toBeInstanceOf(Pkcs11Error);
    expect(wrongKey.method).toBe('C_EncryptInit');
    expect(['CKR_KEY_HANDLE_INVALID', 'CKR_OBJECT_HANDLE_INVALID']).toContain(wrongKey.ckr);
    expect(wrongKey.message).toContain('C_EncryptInit failed: CKR_');
  });
});

describe('batches', () => {
  it('AES-GCM: 1,000 items in one call, results in input order, equal to node:crypto; decrypt batch inverts it', async () => {
    const items = Array.from({ length: 1000 }, (_, i) => ({ iv: randomBytes(12), aad: Buffer.from(`item ${i}`), data: randomBytes(i % 300) }));
    const sealed = await pool.aesGcmEncryptBatch(aes, items);
    expect(sealed).toHaveLength(1000);
    sealed.forEach((s, i) => expect(Buffer.from(s).equals(nodeSeal(items[i]!.iv, items[i]!.aad, items[i]!.data)), `item ${i}`).toBe(true));
    const opened = await pool.aesGcmDecryptBatch(
      aes,
      items.map((it, i) => ({ iv: it.iv, aad: it.aad, data: sealed[i]! })),
    );
    opened.forEach((p, i) => expect(Buffer.from(p).equals(items[i]!.data), `item ${i}`).toBe(true));
  });

  it('sign and verify: 1,000 ECDSA signatures in input order verify in node:crypto; verifyBatch gives per-item verdicts', async () => {
    const pub = createPublicKey({ key: ec.jwk, format: 'jwk' });
    const msgs = Array.from({ length: 1000 }, (_, i) => Buffer.from(`message ${i}`));
    const sigs = await pool.signBatch(ec.priv, { type: CKM_ECDSA }, msgs.map(sha256));
    expect(sigs).toHaveLength(1000);
    sigs.forEach((s, i) => expect(nodeVerify('sha256', msgs[i]!, { key: pub, dsaEncoding: 'ieee-p1363' }, s), `item ${i}`).toBe(true));
    // Every third signature is paired with the next message: those must be false, in place.
    const verdicts = await pool.verifyBatch(
      ec.pub,
      { type: CKM_ECDSA },
      sigs.map((signature, i) => ({ data: sha256(msgs[i % 3 === 0 ? (i + 1) % 1000 : i]!), signature })),
    );
    expect(verdicts).toEqual(sigs.map((_, i) => i % 3 !== 0));
  });

  it('RSA-PSS signBatch verifies in node:crypto in order', async () => {
    const pub = createPublicKey({ key: rsa.jwk, format: 'jwk' });
    const msgs = Array.from({ length: 40 }, (_, i) => Buffer.from(`rsa ${i}`));
    const sigs = await pool.signBatch(rsa.priv, PSS, msgs);
    sigs.forEach((s, i) =>
      expect(nodeVerify('sha256', msgs[i]!, { key: pub, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }, s), `item ${i}`).toBe(true),
    );
  });

  it('a batch with bad items rejects with the first bad item index, whichever thread fails first; an empty batch resolves to []', async () => {
    const items = Array.from({ length: 200 }, () => ({ iv: randomBytes(12), aad: new Uint8Array(0), data: randomBytes(40) }));
    for (const bad of [[137, 138, 150, 199], [0, 1, 2], [199]]) {
      const sealed = items.map((it) => ({ iv: it.iv, aad: it.aad, data: nodeSeal(it.iv, it.aad, it.data) }));
      for (const b of bad) sealed[b]!.data[3]! ^= 1;
      for (let run = 0; run < 5; run++) {
        const e = (await rejection(pool.aesGcmDecryptBatch(aes, sealed))) as Pkcs11Error & { index: number };
        expect(e).toBeInstanceOf(Pkcs11Error);
        expect(e.method).toBe('C_Decrypt');
        expect(e.index).toBe(bad[0]);
        expect(e.message).toContain(`batch item ${bad[0]}`);
      }
    }
    expect(await pool.aesGcmEncryptBatch(aes, [])).toEqual([]);
    expect(await pool.signBatch(ec.priv, { type: CKM_ECDSA }, [])).toEqual([]);
  });

  it('bad batch arguments reject with a TypeError naming the item', async () => {
    const e = await rejection(pool.aesGcmEncryptBatch(aes, [{ iv: randomBytes(12), aad: new Uint8Array(0), data: randomBytes(1) }, { iv: 'x', aad: new Uint8Array(0), data: randomBytes(1) } as never]));
    expect(e).toBeInstanceOf(TypeError);
    expect((e as Error).message).toBe('items[1].iv must be a Uint8Array');
    const f = await rejection(pool.signBatch(ec.priv, { type: CKM_ECDSA }, [new Uint16Array(4) as never]));
    expect((f as Error).message).toBe('items[0] must be a Uint8Array');
    const g = await rejection(pool.verifyBatch(ec.pub, { type: CKM_ECDSA }, [{ data: new Uint8Array(32) } as never]));
    expect((g as Error).message).toBe('items[0].signature must be a Uint8Array');
  });
});

describe('arguments', () => {
  it('rejects (never throws) with TypeError/RangeError naming the argument', async () => {
    const iv = randomBytes(12);
    const cases: [() => Promise<unknown>, ErrorConstructor, string][] = [
      [() => pool.aesGcmEncrypt(-1, iv, iv, iv), RangeError, 'key must be an integer from 0 to 9007199254740991'],
      [() => pool.aesGcmEncrypt(1.5, iv, iv, iv), RangeError, 'key must be an integer from 0 to 9007199254740991'],
      [() => pool.aesGcmEncrypt('1' as never, iv, iv, iv), TypeError, 'key must be a number'],
      [() => pool.aesGcmEncrypt(aes, iv, null as never, iv), TypeError, 'aad must be a Uint8Array'],
      [() => pool.aesGcmDecrypt(aes, iv, iv, [1, 2] as never), TypeError, 'ciphertext must be a Uint8Array'],
      [() => pool.sign(ec.priv, undefined as never, iv), TypeError, 'mechanism must be an object'],
      [() => pool.sign(ec.priv, { type: -4 }, iv), RangeError, 'mechanism.type must be an integer from 0 to 4294967295'],
      [() => pool.sign(rsa.priv, { type: CKM_SHA256_RSA_PKCS_PSS, params: { hashAlg: CKM_SHA256 } as never }, iv), TypeError, 'mechanism.params.mgf must be a number'],
      [() => pool.verify(ec.pub, { type: CKM_ECDSA }, iv, 'sig' as never), TypeError, 'signature must be a Uint8Array'],
      [() => pool.aesGcmEncryptBatch(aes, {} as never), TypeError, 'items must be an array'],
      [() => pool.aesGcmEncrypt(aes, new Uint8Array(0), iv, iv), RangeError, 'iv must not be empty'],
      [() => pool.aesGcmDecrypt(aes, iv, iv, new Uint8Array(15)), RangeError, 'ciphertext must be at least 16 bytes (it ends with the tag)'],
      [() => pool.aesGcmDecryptBatch(aes, [{ iv, aad: iv, data: new Uint8Array(16) }, { iv, aad: iv, data: new Uint8Array(0) }]), RangeError, 'items[1].data must be at least 16 bytes (it ends with the tag)'],
      [() => pool.aesGcmEncryptBatch(aes, [{ iv: new Uint8Array(0), aad: iv, data: iv }]), RangeError, 'items[0].iv must not be empty'],
    ];
    for (const [call, type, message] of cases) {
      let promise: Promise<unknown> | undefined;
      expect(() => (promise = call())).not.toThrow();
      const e = await rejection(promise!);
      expect(e, message).toBeInstanceOf(type);
      expect((e as Error).message).toBe(message);
    }
  });
});

describe('load and open', () => {
  it('finds the built addon from this tree, and names the missing file and the build command elsewhere', () => {
    expect(locateAddon()).toBe(ADDON);
    const empty = mkdtempSync(join(tmpdir(), 'keyward-no-addon-'));
    expect(() => locateAddon(empty)).toThrow(`the native PKCS#11 addon build/Release/keyward_pkcs11.node was not found in ${empty} or any folder above it: build it with \`npm run build:native\` (npm ci builds it too)`);
  });

  it('a wrong PIN throws Pkcs11Error CKR_PIN_INCORRECT from C_Login', () => {
    const native = loadNative();
    let e: unknown;
    try {
      native.open({ module: SOFTHSM, slot: PIN_SLOT, pin: 'not-the-pin', sessions: 2 });
    } catch (err) {
      e = err;
    }
    expect(e).toBeInstanceOf(Pkcs11Error);
    expect(e).toMatchObject({ ckr: 'CKR_PIN_INCORRECT', code: 0xa0, method: 'C_Login' });
    expect((e as Error).message).not.toContain('not-the-pin');
    // The right PIN still opens it: the failed attempt left nothing half-open behind.
    const ok = native.open({ module: SOFTHSM, slot: PIN_SLOT, pin: PIN, sessions: 1 });
    expect(ok.size).toBe(1);
    ok.close();
  });

  it('a missing module throws ModuleLoadError naming the path; a bad slot is CKR_SLOT_ID_INVALID from C_OpenSession', () => {
    const native = loadNative();
    const missing = '/nonexistent/libpkcs11-missing.so';
    expect(() => native.open({ module: missing, slot: 0, pin: PIN, sessions: 1 })).toThrow(ModuleLoadError);
    expect(() => native.open({ module: missing, slot: 0, pin: PIN, sessions: 1 })).toThrow('cannot load PKCS#11 module /nonexistent/libpkcs11-missing.so: cannot open shared object file: No such file or directory');
    // A shared library that is not a PKCS#11 module: the addon itself.
    expect(() => native.open({ module: ADDON, slot: 0, pin: PIN, sessions: 1 })).toThrow(/no C_GetFunctionList/);
    expect(() => native.open({ module: SOFTHSM, slot: 999_999, pin: PIN, sessions: 1 })).toThrow(
      expect.objectContaining({ ckr: 'CKR_SLOT_ID_INVALID', method: 'C_OpenSession' }),
    );
  });

  it('refuses bad options with precise messages', () => {
    const native = loadNative();
    expect(() => native.open({ module: '', slot: SLOT, pin: PIN, sessions: 1 })).toThrow('options.module must be the path of a PKCS#11 module');
    expect(() => native.open({ module: SOFTHSM, slot: -1, pin: PIN, sessions: 1 })).toThrow('options.slot must be an integer from 0 to 9007199254740991');
    expect(() => native.open({ module: SOFTHSM, slot: SLOT, pin: 1234 as never, sessions: 1 })).toThrow('options.pin must be a string');
    expect(() => native.open({ module: SOFTHSM, slot: SLOT, pin: PIN, sessions: 0 })).toThrow('options.sessions must be an integer from 1 to 64');
    expect(() => native.open({ module: SOFTHSM, slot: SLOT, pin: PIN, sessions: 65 })).toThrow('options.sessions must be an integer from 1 to 64');
    // A bigint slot (pkcs11js-style) is accepted.
    const p = native.open({ module: SOFTHSM, slot: BigInt(SLOT), pin: PIN, sessions: 1 });
    p.close();
  });

  it('close() rejects later calls and work still queued, and is idempotent', async () => {
    const p = loadNative().open({ module: SOFTHSM, slot: SLOT, pin: PIN, sessions: 1 });
    expect(p.size).toBe(1);
    // Far more RSA signatures than can finish before close() returns.
    const big = p.signBatch(rsa.priv, { type: CKM_SHA256_RSA_PKCS }, Array.from({ length: 3000 }, () => randomBytes(32)));
    const queued = p.sign(ec.priv, { type: CKM_ECDSA }, randomBytes(32));
    p.close();
    p.close();
    expect(p.size).toBe(0);
    expect(((await rejection(big)) as Error).message).toBe('the session pool was closed before the operation ran');
    expect(((await rejection(queued)) as Error).message).toBe('the session pool was closed before the operation ran');
    expect(((await rejection(p.aesGcmEncrypt(aes, randomBytes(12), new Uint8Array(0), randomBytes(1)))) as Error).message).toBe('the session pool is closed');
    // The shared pool and the module are unaffected.
    expect(await pool.verify(ec.pub, { type: CKM_ECDSA }, sha256(Buffer.from('x')), await pool.sign(ec.priv, { type: CKM_ECDSA }, sha256(Buffer.from('x'))))).toBe(true);
  });
});

describe('load', () => {
  it('survives thousands of concurrent single calls, each with the right answer', async () => {
    const pub = createPublicKey({ key: ec.jwk, format: 'jwk' });
    const n = 4000;
    const inputs = Array.from({ length: n }, (_, i) => ({ iv: randomBytes(12), data: randomBytes(i % 97) }));
    const results = await Promise.all(
      inputs.map((it, i) => (i % 4 === 3 ? pool.sign(ec.priv, { type: CKM_ECDSA }, sha256(it.data)) : pool.aesGcmEncrypt(aes, it.iv, new Uint8Array(0), it.data))),
    );
    results.forEach((r, i) => {
      const it = inputs[i]!;
      if (i % 4 === 3) expect(nodeVerify('sha256', it.data, { key: pub, dsaEncoding: 'ieee-p1363' }, r), `call ${i}`).toBe(true);
      else expect(Buffer.from(r).equals(nodeSeal(it.iv, new Uint8Array(0), it.data)), `call ${i}`).toBe(true);
    });
  });

  it('keeps RSS bounded over 50,000 operations (growth < 50 MB after warm-up)', async () => {
    const iv = randomBytes(12);
    const pt = randomBytes(1024);
    const round = async (): Promise<void> => {
      const singles = await Promise.all(Array.from({ length: 500 }, () => pool.aesGcmEncrypt(aes, iv, iv, pt)));
      const batch = await pool.aesGcmDecryptBatch(aes, singles.map((data) => ({ iv, aad: iv, data })));
      expect(batch.length).toBe(500);
    };
    for (let r = 0; r < 5; r++) await round();
    const before = process.memoryUsage().rss;
    for (let r = 0; r < 50; r++) await round(); // 50 × 1,000 operations
    const growth = process.memoryUsage().rss - before;
    expect(growth).toBeLessThan(50 * 1024 * 1024);
  });

  it('keeps the event loop responsive while a large batch runs on the native threads', async () => {
    const ticks: number[] = [];
    const timer = setInterval(() => ticks.push(performance.now()), 5);
    const start = performance.now();
    const sigs = await pool.signBatch(rsa.priv, { type: CKM_SHA256_RSA_PKCS }, Array.from({ length: 1500 }, () => randomBytes(32)));
    const end = performance.now();
    clearInterval(timer);
    expect(sigs).toHaveLength(1500);
    const during = ticks.filter((t) => t > start && t < end);
    let maxGap = 0;
    for (let i = 1; i < during.length; i++) maxGap = Math.max(maxGap, during[i]! - during[i - 1]!);
    // A blocking call would give no tick at all until the batch ended. The bounds are loose because
    // the machine is shared: what matters is that ticks keep coming throughout.
    expect(end - start).toBeGreaterThan(100);
    expect(during.length).toBeGreaterThan((end - start) / 5 / 10);
    expect(maxGap).toBeLessThan(250);
  });
});
