// A token removed from a running process, through the fault-injecting module of _removable-token.ts (in
// front of SoftHSM2): every layer reports it as a typed error with the precise Cryptoki fields, never as
// a wrong answer (false, "invalid ciphertext") and never with plaintext; nothing is lost, as the same
// keys open the same ciphertexts once the token is back and the layer is opened again.
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ClusterUnavailableError, Pkcs11Error, TokenNotFoundError } from '../../src/hsm/errors.js';
import { gcmMechanism } from '../../src/hsm/_hot-path.js';
import { loadNative } from '../../src/hsm/native.js';
import { Pkcs11Provider } from '../../src/hsm/pkcs11-provider.js';
import { generateAesKey, generateHmacKey, Pkcs11Module, pkcs11js as P, type Session, type Slot } from '../../src/hsm/pkcs11.js';
import { Keyward } from '../../src/kms/keyward.js';
import { ACCOUNT, engine, rejectsWith, utf8 } from '../kms/_engine.js';
import { handleNumber } from './_native-softhsm.js';
import { removableToken } from './_removable-token.js';
import { softhsmTokens, USER_PIN } from './_softhsm.js';

const T = softhsmTokens('kw-layers', 'kw-engine', 'kw-cluster');
const R = removableToken();
const LAYERS = { ...T['kw-layers'], module: R.module };
const ENGINE = { ...T['kw-engine'], module: R.module };
const CLUSTER = { members: [{ ...T['kw-cluster'], module: R.module }], healthCheckMs: 50 };

const CODES = {
  CKR_DEVICE_REMOVED: 0x32,
  CKR_TOKEN_NOT_PRESENT: 0xe0,
  CKR_SESSION_HANDLE_INVALID: 0xb3,
  CKR_USER_NOT_LOGGED_IN: 0x101,
  CKR_OBJECT_HANDLE_INVALID: 0x82,
  CKR_KEY_HANDLE_INVALID: 0x60,
} as const;
type Ckr = keyof typeof CODES;

afterEach(() => R.reinsert());

/** What f threw (synchronously) or its promise rejected with; a result fails the test. */
async function failure(f: () => unknown): Promise<unknown> {
  let result: unknown;
  try {
    result = await f();
  } catch (e) {
    return e;
  }
  throw new Error(`expected a failure, got a result: ${String(result)}`);
}

/** e is a Pkcs11Error of exactly this CKR, code and method. */
function expectCkr(e: unknown, ckr: Ckr, method: string): void {
  expect(e).toBeInstanceOf(Pkcs11Error);
  const p = e as Pkcs11Error;
  expect({ name: p.name, ckr: p.ckr, code: p.code, method: p.method }).toEqual({ name: 'Pkcs11Error', ckr, code: CODES[ckr], method });
}

const CKM_SHA256_HMAC = P.CKM_SHA256_HMAC;

/** Runs f with the fault-injecting module loaded and a session logged in on its token 'kw-layers'; closes the module after. */
async function onLayersToken(f: (m: Pkcs11Module, slot: Slot, s: Session) => Promise<void>): Promise<void> {
  const m = Pkcs11Module.load(R.module);
  try {
    const slot = m.findToken('kw-layers');
    const s = slot.openSession();
    s.login(USER_PIN);
    await f(m, slot, s);
  } finally {
    m.close();
  }
}

describe('a removed token, layer by layer', () => {
  it('pkcs11.ts: sessions give CKR_DEVICE_REMOVED, the slot CKR_TOKEN_NOT_PRESENT; after reinsertion the old sessions are gone and login is needed again', async () => {
    await onLayersToken(async (m, slot, s) => {
      const other = slot.openSession();
      const tokenKey = generateAesKey(s, 32, { token: true, label: 'rt-pkcs11' });
      const sessionKey = generateAesKey(s, 32);
      const iv = randomBytes(12);
      const aad = utf8('aad');
      const pt = utf8('kept on the token');
      const ct = s.encrypt(gcmMechanism(iv, aad), tokenKey, pt, pt.length + 16);

      R.remove();
      expectCkr(await failure(() => s.decrypt(gcmMechanism(iv, aad), tokenKey, ct, ct.length)), 'CKR_DEVICE_REMOVED', 'C_DecryptInit');
      expectCkr(await failure(() => s.encrypt(gcmMechanism(iv, aad), sessionKey, pt, pt.length + 16)), 'CKR_DEVICE_REMOVED', 'C_EncryptInit');
      expectCkr(await failure(() => s.login(USER_PIN)), 'CKR_DEVICE_REMOVED', 'C_Login');
      expectCkr(await failure(() => s.random(16)), 'CKR_DEVICE_REMOVED', 'C_GenerateRandom');
      expectCkr(await failure(() => s.findObjects({ label: 'rt-pkcs11' })), 'CKR_DEVICE_REMOVED', 'C_FindObjectsInit');
      expectCkr(await failure(() => s.getAttributes(tokenKey, ['keyType'])), 'CKR_DEVICE_REMOVED', 'C_GetAttributeValue');
      expectCkr(await failure(() => generateAesKey(s, 32)), 'CKR_DEVICE_REMOVED', 'C_GenerateKey');
      expectCkr(await failure(() => s.sign({ mechanism: CKM_SHA256_HMAC }, sessionKey, pt, 32)), 'CKR_DEVICE_REMOVED', 'C_SignInit');
      expectCkr(await failure(() => other.random(1)), 'CKR_DEVICE_REMOVED', 'C_GenerateRandom');
      expectCkr(await failure(() => slot.tokenInfo()), 'CKR_TOKEN_NOT_PRESENT', 'C_GetTokenInfo');
      expectCkr(await failure(() => slot.mechanisms()), 'CKR_TOKEN_NOT_PRESENT', 'C_GetMechanismList');
      expectCkr(await failure(() => slot.openSession()), 'CKR_TOKEN_NOT_PRESENT', 'C_OpenSession');
      // The slot stays; its token does not: C_GetSlotList(CK_TRUE) leaves it out, C_GetSlotInfo clears CKF_TOKEN_PRESENT.
      expect(m.slots()).toEqual([]);
      expect(m.slots(false).map((x) => x.id)).toContain(slot.id);
      expect(m.p.C_GetSlotInfo(slot.handle).flags & P.CKF_TOKEN_PRESENT).toBe(0);
      const notFound = await failure(() => m.findToken('kw-layers'));
      expect(notFound).toBeInstanceOf(TokenNotFoundError);
      expect(notFound).toMatchObject({ token: 'kw-layers', available: [] });
      // Closing a session of a removed token is quiet.
      s.close();
      expect(s.open).toBe(false);

      R.reinsert();
      expect(m.p.C_GetSlotInfo(slot.handle).flags & P.CKF_TOKEN_PRESENT).toBe(P.CKF_TOKEN_PRESENT);
      // The removal closed every session for real: the one left open is invalid now, not revived.
      expectCkr(await failure(() => other.random(1)), 'CKR_SESSION_HANDLE_INVALID', 'C_GenerateRandom');
      other.close();
      const back = m.findToken('kw-layers');
      expect(back.tokenInfo().label).toBe('kw-layers');
      const s2 = back.openSession();
      try {
        // Login ended with the sessions: a private object cannot be made before logging in again.
        expectCkr(await failure(() => generateAesKey(s2, 32)), 'CKR_USER_NOT_LOGGED_IN', 'C_GenerateKey');
        s2.login(USER_PIN);
        // Session objects went with the sessions; the token object is there and opens what it sealed.
        expectCkr(await failure(() => s2.encrypt(gcmMechanism(iv, aad), sessionKey, pt, pt.length + 16)), 'CKR_OBJECT_HANDLE_INVALID', 'C_EncryptInit');
        const [found, ...more] = s2.findObjects({ label: 'rt-pkcs11', token: true });
        expect(more).toHaveLength(0);
        expect(Buffer.from(s2.decrypt(gcmMechanism(iv, aad), found!, ct, ct.length))).toEqual(Buffer.from(pt));
        s2.destroyObject(found!);
      } finally {
        s2.close();
      }
    });
  });

  it('the native pool: single and batch calls reject with Pkcs11Error { ckr, code, method }, never a result; a new pool works after reinsertion', async () => {
    const native = loadNative();
    await onLayersToken(async (m, slot, s) => {
      const aesKey = handleNumber(generateAesKey(s, 32, { token: true, label: 'rt-native-aes' }));
      const macKey = handleNumber(generateHmacKey(s, 32, { token: true, label: 'rt-native-mac' }));
      const pool = native.open({ module: R.module, slot: slot.id, pin: USER_PIN, sessions: 2 });
      const iv = randomBytes(12);
      const aad = utf8('native');
      const pt = utf8('native plaintext');
      const ct = await pool.aesGcmEncrypt(aesKey, iv, aad, pt);
      const mech = { type: CKM_SHA256_HMAC };
      const mac = await pool.sign(macKey, mech, pt);
      expect(await pool.verify(macKey, mech, pt, mac)).toBe(true);
      const items = Array.from({ length: 6 }, (_, i) => ({ iv: randomBytes(12), aad, data: utf8(`item ${i}`) }));
      const sealed = await pool.aesGcmEncryptBatch(aesKey, items);

      R.remove();
      expectCkr(await failure(() => pool.aesGcmEncrypt(aesKey, iv, aad, pt)), 'CKR_DEVICE_REMOVED', 'C_EncryptInit');
      expectCkr(await failure(() => pool.aesGcmDecrypt(aesKey, iv, aad, ct)), 'CKR_DEVICE_REMOVED', 'C_DecryptInit');
      expectCkr(await failure(() => pool.sign(macKey, mech, pt)), 'CKR_DEVICE_REMOVED', 'C_SignInit');
      // A verification the token cannot run is an error, not "the signature is invalid".
      expectCkr(await failure(() => pool.verify(macKey, mech, pt, mac)), 'CKR_DEVICE_REMOVED', 'C_VerifyInit');
      const batches: [() => Promise<unknown>, string][] = [
        [() => pool.aesGcmEncryptBatch(aesKey, items), 'C_EncryptInit'],
        [() => pool.aesGcmDecryptBatch(aesKey, items.map((it, i) => ({ ...it, data: sealed[i]! }))), 'C_DecryptInit'],
        [() => pool.signBatch(macKey, mech, [pt, pt, pt]), 'C_SignInit'],
        [() => pool.verifyBatch(macKey, mech, [{ data: pt, signature: mac }, { data: pt, signature: mac }]), 'C_VerifyInit'],
      ];
      for (const [call, method] of batches) {
        const e = await failure(call);
        expectCkr(e, 'CKR_DEVICE_REMOVED', method);
        // Every item fails; the batch reports its first.
        expect((e as { index?: number }).index).toBe(0);
      }
      expectCkr(await failure(() => native.open({ module: R.module, slot: slot.id, pin: USER_PIN, sessions: 1 })), 'CKR_TOKEN_NOT_PRESENT', 'C_OpenSession');
      pool.close();
      expect(pool.size).toBe(0);
      s.close();

      R.reinsert();
      const pool2 = native.open({ module: R.module, slot: slot.id, pin: USER_PIN, sessions: 2 });
      try {
        // Handles are per session state; the token keys are found again by label.
        const s2 = m.findToken('kw-layers').openSession();
        try {
          s2.login(USER_PIN);
          const aes2 = handleNumber(s2.findObjects({ label: 'rt-native-aes', token: true })[0]!);
          const mac2 = handleNumber(s2.findObjects({ label: 'rt-native-mac', token: true })[0]!);
          expect(Buffer.from(await pool2.aesGcmDecrypt(aes2, iv, aad, ct))).toEqual(Buffer.from(pt));
          const opened = await pool2.aesGcmDecryptBatch(aes2, items.map((it, i) => ({ ...it, data: sealed[i]! })));
          expect(opened.map((b) => Buffer.from(b).toString())).toEqual(items.map((it) => Buffer.from(it.data).toString()));
          expect(await pool2.verify(mac2, mech, pt, mac)).toBe(true);
          for (const label of ['rt-native-aes', 'rt-native-mac']) s2.destroyObject(s2.findObjects({ label, token: true })[0]!);
        } finally {
          s2.close();
        }
      } finally {
        pool2.close();
      }
    });
  });

  it('the native pool: a removal in the middle of a batch rejects it with the first failed item, and the module survives it', async () => {
    const native = loadNative();
    await onLayersToken(async (m, slot, s) => {
      const aesKey = handleNumber(generateAesKey(s, 32, { token: true, label: 'rt-midflight' }));
      const pool = native.open({ module: R.module, slot: slot.id, pin: USER_PIN, sessions: 2 });
      const items = Array.from({ length: 4000 }, () => ({ iv: randomBytes(12), aad: new Uint8Array(0), data: randomBytes(1024) }));
      const running = pool.aesGcmEncryptBatch(aesKey, items);
      // The pool's threads are working through the batch while the token goes.
      R.remove();
      const e = await failure(() => running);
      expect(e).toBeInstanceOf(Pkcs11Error);
      expect(e).toMatchObject({ ckr: 'CKR_DEVICE_REMOVED', code: CODES.CKR_DEVICE_REMOVED });
      expect(['C_EncryptInit', 'C_Encrypt']).toContain((e as Pkcs11Error).method);
      const index = (e as { index?: number }).index!;
      expect(Number.isInteger(index) && index >= 0 && index < items.length).toBe(true);
      pool.close();
      s.close();

      R.reinsert();
      const pool2 = native.open({ module: R.module, slot: slot.id, pin: USER_PIN, sessions: 2 });
      const s2 = m.findToken('kw-layers').openSession();
      try {
        s2.login(USER_PIN);
        const [key] = s2.findObjects({ label: 'rt-midflight', token: true });
        const out = await pool2.aesGcmEncryptBatch(handleNumber(key!), items.slice(0, 64));
        expect(out).toHaveLength(64);
        s2.destroyObject(key!);
      } finally {
        s2.close();
        pool2.close();
      }
    });
  });

  for (const native of [true, false]) {
    const hot = native ? 'native' : 'pkcs11js';
    it(`Pkcs11Provider (hot path ${hot}): operations reject with Pkcs11Error, never plaintext or false; a new provider opens the old ciphertexts after reinsertion`, async () => {
      const label = `rt-provider-${hot}`;
      const p = new Pkcs11Provider(LAYERS, { native });
      expect(p.hotPath).toBe(hot);
      const key = await p.generateKey('AES_256', { token: true, label, extractable: false });
      const ec = await p.generateKey('ECC_NIST_P256');
      const iv = randomBytes(12);
      const aad = utf8('provider');
      const pt = utf8('provider plaintext');
      const ct = await p.encrypt(key, iv, pt, aad);
      const msg = utf8('to sign');
      const sig = await p.sign(ec, 'ECDSA_SHA_256', msg, 'RAW');
      const items = [0, 1, 2].map((i) => ({ iv: randomBytes(12), aad, plaintext: utf8(`batch ${i}`) }));
      const sealed = await p.encryptBatch(key, items);

      R.remove();
      // The native pool's sessions each meet the removal. pkcs11js runs on one operations session: the
      // first call meets the removal, and the session that would replace it cannot be opened.
      const hotFailure = (method: string): [Ckr, string] => (native ? ['CKR_DEVICE_REMOVED', method] : ['CKR_TOKEN_NOT_PRESENT', 'C_OpenSession']);
      expectCkr(await failure(() => p.encrypt(key, iv, pt, aad)), 'CKR_DEVICE_REMOVED', 'C_EncryptInit');
      // Not AuthenticationError: a valid ciphertext is not called invalid because the token is gone.
      expectCkr(await failure(() => p.decrypt(key, iv, ct, aad)), ...hotFailure('C_DecryptInit'));
      expectCkr(await failure(() => p.sign(ec, 'ECDSA_SHA_256', msg, 'RAW')), ...hotFailure('C_SignInit'));
      // Not false: the signature is good, the token cannot say so.
      expectCkr(await failure(() => p.verify(ec, 'ECDSA_SHA_256', msg, 'RAW', sig)), ...hotFailure('C_VerifyInit'));
      const enc = await failure(() => p.encryptBatch(key, items));
      expectCkr(enc, ...hotFailure('C_EncryptInit'));
      const dec = await failure(() => p.decryptBatch(key, items.map((it, i) => ({ iv: it.iv, aad: it.aad, ciphertext: sealed[i]! }))));
      expectCkr(dec, ...hotFailure('C_DecryptInit'));
      if (native) expect([(enc as { index?: number }).index, (dec as { index?: number }).index]).toEqual([0, 0]);
      // Management calls run on the provider's object session.
      expectCkr(await failure(() => p.random(16)), 'CKR_DEVICE_REMOVED', 'C_GenerateRandom');
      expectCkr(await failure(() => p.generateKey('AES_256')), 'CKR_DEVICE_REMOVED', 'C_GenerateKey');
      expectCkr(await failure(() => p.openKey(label)), 'CKR_DEVICE_REMOVED', 'C_FindObjectsInit');
      expectCkr(await failure(() => p.wrapKey(key, ec, aad)), 'CKR_DEVICE_REMOVED', 'C_WrapKey');
      // A provider cannot be opened on an absent token; closing one on a removed token is quiet.
      const opening = await failure(() => new Pkcs11Provider(LAYERS, { native }));
      expect(opening).toBeInstanceOf(TokenNotFoundError);
      expect(opening).toMatchObject({ token: 'kw-layers', available: [] });
      p.close();

      R.reinsert();
      const p2 = new Pkcs11Provider(LAYERS, { native });
      try {
        const key2 = p2.openKey(label);
        expect(Buffer.from(await p2.decrypt(key2, iv, ct, aad))).toEqual(Buffer.from(pt));
        const opened = await p2.decryptBatch(key2, items.map((it, i) => ({ iv: it.iv, aad: it.aad, ciphertext: sealed[i]! })));
        expect(opened.map((b) => Buffer.from(b).toString())).toEqual(['batch 0', 'batch 1', 'batch 2']);
        await p2.deleteTokenKey(key2);
      } finally {
        p2.close();
      }
    });
  }
});

describe('a removed token under the engine (HSM-held region key, AWS_CLOUDHSM CMK; one token or a cluster)', () => {
  it('operations fail with a typed AWS exception carrying the Pkcs11Error, no plaintext; after reinsertion and reopening every ciphertext still decrypts', async () => {
    const h = await engine({ hsm: ENGINE });
    const kw = h.kw;
    const sym = (await kw.createKey({})).KeyMetadata.KeyId;
    const inHsm = (await kw.createKey({ Origin: 'AWS_CLOUDHSM' })).KeyMetadata.KeyId;
    const ctx = { tenant: 't1' };
    const blobSym = (await kw.encrypt({ KeyId: sym, Plaintext: utf8('software-wrapped CMK'), EncryptionContext: ctx })).CiphertextBlob;
    const blobHsm = (await kw.encrypt({ KeyId: inHsm, Plaintext: utf8('HSM-held CMK'), EncryptionContext: ctx })).CiphertextBlob;
    const dk = await kw.generateDataKey({ KeyId: inHsm, KeySpec: 'AES_256' });
    const keysBefore = (await kw.listKeys()).Keys.length;

    R.remove();
    const attempts: [string, () => Promise<unknown>][] = [
      ['Encrypt', () => kw.encrypt({ KeyId: sym, Plaintext: utf8('x'), EncryptionContext: ctx })],
      ['Decrypt', () => kw.decrypt({ CiphertextBlob: blobSym, EncryptionContext: ctx })],
      ['Encrypt', () => kw.encrypt({ KeyId: inHsm, Plaintext: utf8('y'), EncryptionContext: ctx })],
      ['Decrypt', () => kw.decrypt({ CiphertextBlob: blobHsm, EncryptionContext: ctx })],
      ['Decrypt', () => kw.decrypt({ CiphertextBlob: dk.CiphertextBlob })],
      ['GenerateDataKey', () => kw.generateDataKey({ KeyId: inHsm, KeySpec: 'AES_256' })],
      ['GenerateRandom', () => kw.generateRandom({ NumberOfBytes: 16 })],
      ['CreateKey', () => kw.createKey({ Origin: 'AWS_CLOUDHSM' })],
      ['CreateKey', () => kw.createKey({})],
    ];
    for (const [operation, call] of attempts) {
      const err = await rejectsWith(call(), 'KMSInvalidStateException');
      expect(err.message, operation).toMatch(/^the HSM is unavailable: C_\w+ failed: CKR_(DEVICE_REMOVED|TOKEN_NOT_PRESENT)/);
      const cause = (err as Error & { cause?: unknown }).cause;
      expect(cause, operation).toBeInstanceOf(Pkcs11Error);
      const { ckr, code, method } = cause as Pkcs11Error;
      expect(['CKR_DEVICE_REMOVED', 'CKR_TOKEN_NOT_PRESENT'], operation).toContain(ckr);
      expect(code, operation).toBe(CODES[ckr as Ckr]);
      expect(err.message, operation).toContain(`${method} failed: ${ckr}`);
      // Audited as refused, under the exception's name.
      const [last] = await kw.auditTail(1);
      expect(last, operation).toMatchObject({ operation, outcome: 'KMSInvalidStateException' });
    }
    // Back in, but this engine's sessions (and the session keys in them) went with the removal: it stays
    // unavailable, with the same exception, until it is reopened.
    R.reinsert();
    const stale: [() => Promise<unknown>, Ckr][] = [
      [() => kw.encrypt({ KeyId: sym, Plaintext: utf8('x'), EncryptionContext: ctx }), 'CKR_SESSION_HANDLE_INVALID'],
      [() => kw.decrypt({ CiphertextBlob: blobHsm, EncryptionContext: ctx }), 'CKR_KEY_HANDLE_INVALID'],
    ];
    for (const [call, ckr] of stale) {
      const err = await rejectsWith(call(), 'KMSInvalidStateException');
      expect(err.message).toMatch(/^the HSM is unavailable: C_\w+ failed: CKR_/);
      expect((err as Error & { cause?: Pkcs11Error }).cause).toMatchObject({ name: 'Pkcs11Error', ckr, code: CODES[ckr] });
    }

    // Removed again: closing an engine whose HSM is gone is quiet (its session keys went with the sessions) and releases the store.
    R.remove();
    await kw.close();
    const opening = await failure(() => Keyward.open({ dir: h.dir, account: ACCOUNT, maintenanceIntervalMs: 0, hsm: ENGINE }));
    expect(opening).toBeInstanceOf(TokenNotFoundError);
    expect(opening).toMatchObject({ token: 'kw-engine', available: [] });

    R.reinsert();
    const again = await h.reopen();
    const open = async (blob: Uint8Array, context?: Record<string, string>): Promise<string> =>
      Buffer.from((await again.decrypt({ CiphertextBlob: blob, ...(context ? { EncryptionContext: context } : {}) })).Plaintext).toString();
    expect(await open(blobSym, ctx)).toBe('software-wrapped CMK');
    expect(await open(blobHsm, ctx)).toBe('HSM-held CMK');
    expect(Buffer.from((await again.decrypt({ CiphertextBlob: dk.CiphertextBlob })).Plaintext)).toEqual(Buffer.from(dk.Plaintext));
    // The failed CreateKey calls left no keys behind, and the engine serves new work.
    expect((await again.listKeys()).Keys).toHaveLength(keysBefore);
    const fresh = (await again.encrypt({ KeyId: inHsm, Plaintext: utf8('after') })).CiphertextBlob;
    expect(await open(fresh)).toBe('after');
    expect(await again.verifyAudit()).toMatchObject({ ok: true });
  });

  it('an HSM cluster: a removed token makes every member unavailable (KMSInvalidStateException carrying ClusterUnavailableError); the health check reconnects it after reinsertion and the same engine serves again', async () => {
    const h = await engine({ hsm: CLUSTER });
    const kw = h.kw;
    const sym = (await kw.createKey({})).KeyMetadata.KeyId;
    const inHsm = (await kw.createKey({ Origin: 'AWS_CLOUDHSM' })).KeyMetadata.KeyId;
    const blobSym = (await kw.encrypt({ KeyId: sym, Plaintext: utf8('cluster one') })).CiphertextBlob;
    const blobHsm = (await kw.encrypt({ KeyId: inHsm, Plaintext: utf8('cluster two') })).CiphertextBlob;

    R.remove();
    const attempts = [
      () => kw.encrypt({ KeyId: sym, Plaintext: utf8('x') }),
      () => kw.decrypt({ CiphertextBlob: blobHsm }),
      () => kw.generateRandom({ NumberOfBytes: 8 }),
    ];
    const memberErrors: unknown[] = [];
    for (const call of attempts) {
      const err = await rejectsWith(call(), 'KMSInvalidStateException');
      expect(err.message).toMatch(/^the HSM is unavailable: no HSM cluster member could run /);
      const cause = (err as Error & { cause?: unknown }).cause;
      expect(cause).toBeInstanceOf(ClusterUnavailableError);
      memberErrors.push(...(cause as ClusterUnavailableError).failures.map((f) => f.error));
    }
    // The member that was serving failed with the token's own error (later calls find it out of service).
    expect(memberErrors.length).toBeGreaterThan(0);
    for (const e of memberErrors) {
      expect(e).toBeInstanceOf(Pkcs11Error);
      expect(['CKR_DEVICE_REMOVED', 'CKR_TOKEN_NOT_PRESENT']).toContain((e as Pkcs11Error).ckr);
    }

    R.reinsert();
    // No reopening: the health check (every 50 ms) reconnects the member and keys are made on it again.
    await vi.waitFor(async () => expect(Buffer.from((await kw.decrypt({ CiphertextBlob: blobSym })).Plaintext).toString()).toBe('cluster one'), { timeout: 10_000, interval: 50 });
    expect(Buffer.from((await kw.decrypt({ CiphertextBlob: blobHsm })).Plaintext).toString()).toBe('cluster two');
    const fresh = (await kw.encrypt({ KeyId: inHsm, Plaintext: utf8('after') })).CiphertextBlob;
    expect(Buffer.from((await kw.decrypt({ CiphertextBlob: fresh })).Plaintext).toString()).toBe('after');
    expect(await kw.verifyAudit()).toMatchObject({ ok: true });
  });
});
