// The engine on hardware (SoftHSM2): Keyward.open({ hsm }) keeps the region key as a non-extractable
// token key (no unseal key), wraps domain keys in the HSM, refuses to open without the HSM (and a
// software store with it); CMKs with Origin AWS_CLOUDHSM are non-extractable token keys that encrypt,
// decrypt, sign, MAC and rotate in the HSM and are deleted with the key.
import { createPublicKey, verify as nodeVerify } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Pkcs11Error } from '../../src/hsm/errors.js';
import { Pkcs11Module, pkcs11js as P } from '../../src/hsm/pkcs11.js';
import { UnsealError } from '../../src/keys/unseal.js';
import { Keyward } from '../../src/kms/keyward.js';
import { SOFTHSM_MODULE, softhsmTokens, USER_PIN } from '../hsm/_softhsm.js';
import { ACCOUNT, DAY, engine, rejectsWith, utf8 } from './_engine.js';

const T = softhsmTokens('kw-main', 'kw-other', 'kw-cmk');

interface TokenObject {
  extractable: boolean;
  sensitive: boolean;
  neverExtractable: boolean;
  token: boolean;
  /** The Pkcs11Error reading CKA_VALUE gave (a secret or private key must refuse). */
  valueRead: unknown;
}

/** The token objects labelled label on the token (private/secret halves), read through a session of our own. */
function tokenObjects(tokenLabel: string, label: string): TokenObject[] {
  const m = Pkcs11Module.load(SOFTHSM_MODULE);
  try {
    const s = m.findToken(tokenLabel).openSession();
    try {
      s.login(USER_PIN);
      const found = [
        ...s.findObjects({ label, token: true, class: P.CKO_SECRET_KEY }),
        ...s.findObjects({ label, token: true, class: P.CKO_PRIVATE_KEY }),
      ];
      return found.map((o) => {
        const a = s.getAttributes(o, ['extractable', 'sensitive', 'neverExtractable', 'token', 'keyType']);
        let valueRead: unknown = null;
        try {
          s.getAttributes(o, [a.keyType === P.CKK_RSA ? 'privateExponent' : 'value']);
        } catch (e) {
          valueRead = e;
        }
        return { ...a, valueRead };
      });
    } finally {
      s.close();
    }
  } finally {
    m.close();
  }
}

function expectHardwareKey(tokenLabel: string, label: string): void {
  const objs = tokenObjects(tokenLabel, label);
  expect(objs, `token objects labelled ${label}`).toHaveLength(1);
  const o = objs[0]!;
  expect(o).toMatchObject({ extractable: false, sensitive: true, token: true });
  expect(o.valueRead).toBeInstanceOf(Pkcs11Error);
  expect((o.valueRead as Pkcs11Error).ckr).toBe('CKR_ATTRIBUTE_SENSITIVE');
}

describe('the key hierarchy on hardware', () => {
  it('keeps the region key in the token, has no unseal key, and serves encrypt/decrypt/sign/rotate across reopen', async () => {
    const h = await engine({ hsm: T['kw-main'] });
    expect(existsSync(join(h.dir, 'unseal.key'))).toBe(false);
    expectHardwareKey('kw-main', 'keyward-rk-us-east-1');
    expect(tokenObjects('kw-main', 'keyward-rk-us-east-1')[0]!.neverExtractable).toBe(true);

    const kw = h.kw;
    const sym = (await kw.createKey({})).KeyMetadata.KeyId;
    const ctx = { tenant: 'a' };
    const blob1 = (await kw.encrypt({ KeyId: sym, Plaintext: utf8('hello hsm'), EncryptionContext: ctx })).CiphertextBlob;
    expect(Uint8Array.from((await kw.decrypt({ CiphertextBlob: blob1, EncryptionContext: ctx })).Plaintext)).toEqual(utf8('hello hsm'));
    await rejectsWith(kw.decrypt({ CiphertextBlob: blob1, EncryptionContext: { tenant: 'b' } }), 'InvalidCiphertextException');
    const dk = await kw.generateDataKey({ KeyId: sym, KeySpec: 'AES_256' });
    expect(Uint8Array.from((await kw.decrypt({ CiphertextBlob: dk.CiphertextBlob })).Plaintext)).toEqual(Uint8Array.from(dk.Plaintext));

    const ec = (await kw.createKey({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' })).KeyMetadata.KeyId;
    const sig = (await kw.sign({ KeyId: ec, Message: utf8('msg'), SigningAlgorithm: 'ECDSA_SHA_256' })).Signature;
    const spki = (await kw.getPublicKey({ KeyId: ec })).PublicKey;
    expect(nodeVerify('sha256', utf8('msg'), createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' }), sig)).toBe(true);

    // CMK rotation: a new backing version encrypts, the old one still decrypts.
    await kw.rotateKeyOnDemand({ KeyId: sym });
    const blob2 = (await kw.encrypt({ KeyId: sym, Plaintext: utf8('v2') })).CiphertextBlob;
    expect(blob2).not.toEqual(blob1);
    expect(Uint8Array.from((await kw.decrypt({ CiphertextBlob: blob1, EncryptionContext: ctx })).Plaintext)).toEqual(utf8('hello hsm'));

    // Domain key rotation under the HSM-held region key: CMK tokens are re-wrapped in the HSM.
    h.clock.now += 2 * DAY;
    await kw.maintenance();
    const tail = await kw.auditTail(50);
    expect(tail.some((r) => r.operation === 'RotateDomainKey')).toBe(true);

    // A new process: the region key is found by its label, nothing else is needed.
    const again = await h.reopen();
    expect(Uint8Array.from((await again.decrypt({ CiphertextBlob: blob1, EncryptionContext: ctx })).Plaintext)).toEqual(utf8('hello hsm'));
    expect(Uint8Array.from((await again.decrypt({ CiphertextBlob: blob2 })).Plaintext)).toEqual(utf8('v2'));
    expect((await again.verify({ KeyId: ec, Message: utf8('msg'), SigningAlgorithm: 'ECDSA_SHA_256', Signature: sig })).SignatureValid).toBe(true);
    expect(await again.verifyAudit()).toMatchObject({ ok: true });
    // One region key object, however often the store was opened.
    expect(tokenObjects('kw-main', 'keyward-rk-us-east-1')).toHaveLength(1);
  });

  it('refuses to open an HSM store without the HSM, a software store with one, and an HSM store on another token', async () => {
    const h = await engine({ hsm: T['kw-main'], region: 'eu-west-1' });
    await h.kw.close();
    const noHsm = await Keyward.open({ dir: h.dir, account: ACCOUNT, maintenanceIntervalMs: 0 }).catch((e: unknown) => e);
    expect(noHsm).toBeInstanceOf(UnsealError);
    expect((noHsm as Error).message).toMatch(/keeps its region keys in an HSM: open it with the HSM config/);
    expect(existsSync(join(h.dir, 'unseal.key'))).toBe(false);

    // The other token has no region key of that label.
    const other = await Keyward.open({ dir: h.dir, account: ACCOUNT, maintenanceIntervalMs: 0, hsm: T['kw-other'] }).catch((e: unknown) => e);
    expect(other).toBeInstanceOf(UnsealError);
    expect((other as Error).message).toMatch(/region key 'keyward-rk-eu-west-1' is not on this HSM token/);

    const soft = await engine({});
    await soft.kw.close();
    const withHsm = await Keyward.open({ dir: soft.dir, account: ACCOUNT, maintenanceIntervalMs: 0, hsm: T['kw-main'] }).catch((e: unknown) => e);
    expect(withHsm).toBeInstanceOf(UnsealError);
    expect((withHsm as Error).message).toMatch(/sealed under an unseal key, not held in an HSM/);

    await expect(Keyward.open({ dir: soft.dir, hsm: T['kw-main'], unsealKey: new Uint8Array(32) })).rejects.toMatchObject({ name: 'ValidationException' });

    // A wrong PIN is the token's typed error; the store is released, and opens with the right one.
    const badPin = await Keyward.open({ dir: h.dir, account: ACCOUNT, maintenanceIntervalMs: 0, hsm: { ...T['kw-main'], pin: '11111111' } }).catch((e: unknown) => e);
    expect(badPin).toMatchObject({ name: 'Pkcs11Error', ckr: 'CKR_PIN_INCORRECT', method: 'C_Login' });
    const good = await Keyward.open({ dir: h.dir, account: ACCOUNT, maintenanceIntervalMs: 0, hsm: T['kw-main'] });
    await good.close();
  });

  it('a second region gets its own region key in the token', async () => {
    const h = await engine({ hsm: T['kw-other'], region: 'ap-south-1' });
    const kw = await h.reopen({ region: 'sa-east-1' });
    expectHardwareKey('kw-other', 'keyward-rk-sa-east-1');
    const id = (await kw.createKey({})).KeyMetadata.KeyId;
    const blob = (await kw.encrypt({ KeyId: id, Plaintext: utf8('south') })).CiphertextBlob;
    const again = await h.reopen({ region: 'sa-east-1' });
    expect(Uint8Array.from((await again.decrypt({ CiphertextBlob: blob })).Plaintext)).toEqual(utf8('south'));
    expect(tokenObjects('kw-other', 'keyward-rk-sa-east-1')).toHaveLength(1);
  });

  it('a token key of the right label that is not the store\'s is refused as the wrong token', async () => {
    const a = await engine({ hsm: T['kw-other'] });
    await a.kw.close();
    // Another store initialized on kw-main made its own keyward-rk-us-east-1; a's audit key does not open under it.
    const b = await engine({ hsm: T['kw-main'] });
    await b.kw.close();
    const wrong = await Keyward.open({ dir: a.dir, account: ACCOUNT, maintenanceIntervalMs: 0, hsm: T['kw-main'] }).catch((e: unknown) => e);
    expect(wrong).toBeInstanceOf(UnsealError);
    expect((wrong as Error).message).toMatch(/does not open this store: is this the token it was initialized with/);
  });
});

describe('CMKs held in the HSM (Origin AWS_CLOUDHSM)', () => {
  it('symmetric: the backing key is a non-extractable token key; encrypt, decrypt, data keys and rotation run on it', async () => {
    const h = await engine({ hsm: T['kw-cmk'] });
    const kw = h.kw;
    const md = (await kw.createKey({ Origin: 'AWS_CLOUDHSM', Description: 'in the HSM' })).KeyMetadata;
    expect(md).toMatchObject({ Origin: 'AWS_CLOUDHSM', KeySpec: 'SYMMETRIC_DEFAULT', KeyState: 'Enabled' });
    const label1 = `keyward-cmk/us-east-1/${md.KeyId}/1`;
    expectHardwareKey('kw-cmk', label1);
    expect(tokenObjects('kw-cmk', label1)[0]!.neverExtractable).toBe(true);

    const blob1 = (await kw.encrypt({ KeyId: md.KeyId, Plaintext: utf8('secret one'), EncryptionContext: { a: '1' } })).CiphertextBlob;
    expect(Uint8Array.from((await kw.decrypt({ CiphertextBlob: blob1, EncryptionContext: { a: '1' } })).Plaintext)).toEqual(utf8('secret one'));
    await rejectsWith(kw.decrypt({ CiphertextBlob: blob1 }), 'InvalidCiphertextException');
    const flipped = Uint8Array.from(blob1);
    flipped[flipped.length - 1]! ^= 1;
    await rejectsWith(kw.decrypt({ CiphertextBlob: flipped, EncryptionContext: { a: '1' } }), 'InvalidCiphertextException');
    const dk = await kw.generateDataKey({ KeyId: md.KeyId, NumberOfBytes: 64 });
    expect(Uint8Array.from((await kw.decrypt({ CiphertextBlob: dk.CiphertextBlob })).Plaintext)).toEqual(Uint8Array.from(dk.Plaintext));

    await kw.rotateKeyOnDemand({ KeyId: md.KeyId });
    expectHardwareKey('kw-cmk', `keyward-cmk/us-east-1/${md.KeyId}/2`);
    const blob2 = (await kw.encrypt({ KeyId: md.KeyId, Plaintext: utf8('secret two') })).CiphertextBlob;
    // Domain key rotation leaves HSM references alone and everything still opens.
    h.clock.now += 2 * DAY;
    await kw.maintenance();
    const again = await h.reopen();
    expect(Uint8Array.from((await again.decrypt({ CiphertextBlob: blob1, EncryptionContext: { a: '1' } })).Plaintext)).toEqual(utf8('secret one'));
    expect(Uint8Array.from((await again.decrypt({ CiphertextBlob: blob2 })).Plaintext)).toEqual(utf8('secret two'));
    expect((await again.listKeyRotations({ KeyId: md.KeyId })).Rotations).toHaveLength(1);

    // Deleting the key deletes its token objects once the window has passed.
    await again.scheduleKeyDeletion({ KeyId: md.KeyId, PendingWindowInDays: 7 });
    h.clock.now += 8 * DAY;
    await again.maintenance();
    expect(tokenObjects('kw-cmk', label1)).toHaveLength(0);
    expect(tokenObjects('kw-cmk', `keyward-cmk/us-east-1/${md.KeyId}/2`)).toHaveLength(0);
    await rejectsWith(again.describeKey({ KeyId: md.KeyId }), 'NotFoundException');
  });

  it('asymmetric and HMAC: Sign, GetPublicKey and GenerateMac run on non-extractable token keys', async () => {
    const h = await engine({ hsm: T['kw-cmk'] });
    const kw = h.kw;
    for (const [spec, alg, hash] of [['ECC_NIST_P384', 'ECDSA_SHA_384', 'sha384'], ['RSA_2048', 'RSASSA_PSS_SHA_256', 'sha256']] as const) {
      const id = (await kw.createKey({ Origin: 'AWS_CLOUDHSM', KeySpec: spec, KeyUsage: 'SIGN_VERIFY' })).KeyMetadata.KeyId;
      expectHardwareKey('kw-cmk', `keyward-cmk/us-east-1/${id}/1`);
      const sig = (await kw.sign({ KeyId: id, Message: utf8('to sign'), SigningAlgorithm: alg })).Signature;
      const pub = createPublicKey({ key: Buffer.from((await kw.getPublicKey({ KeyId: id })).PublicKey), format: 'der', type: 'spki' });
      const opts = spec.startsWith('RSA') ? { key: pub, padding: 6, saltLength: 32 } : pub;
      expect(nodeVerify(hash, utf8('to sign'), opts, sig), spec).toBe(true);
      expect((await kw.verify({ KeyId: id, Message: utf8('to sign'), SigningAlgorithm: alg, Signature: sig })).SignatureValid).toBe(true);
      await rejectsWith(kw.rotateKeyOnDemand({ KeyId: id }), 'UnsupportedOperationException');
    }
    const mac = (await kw.createKey({ Origin: 'AWS_CLOUDHSM', KeySpec: 'HMAC_384', KeyUsage: 'GENERATE_VERIFY_MAC' })).KeyMetadata.KeyId;
    expectHardwareKey('kw-cmk', `keyward-cmk/us-east-1/${mac}/1`);
    const tag = (await kw.generateMac({ KeyId: mac, Message: utf8('m'), MacAlgorithm: 'HMAC_SHA_384' })).Mac;
    expect(tag).toHaveLength(48);
    expect((await kw.verifyMac({ KeyId: mac, Message: utf8('m'), MacAlgorithm: 'HMAC_SHA_384', Mac: tag })).MacValid).toBe(true);
    await rejectsWith(kw.createKey({ Origin: 'AWS_CLOUDHSM', MultiRegion: true }), 'UnsupportedOperationException');
  });

  it('a software Keyward refuses Origin AWS_CLOUDHSM', async () => {
    const h = await engine({});
    const err = await rejectsWith(h.kw.createKey({ Origin: 'AWS_CLOUDHSM' }), 'UnsupportedOperationException');
    expect(err.message).toMatch(/needs an HSM-backed Keyward/);
  });
});
