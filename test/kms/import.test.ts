// Imported key material through the public API: GetParametersForImport, ImportKeyMaterial (material
// wrapped by node:crypto's RSA-OAEP), DeleteImportedKeyMaterial, expiry at ValidTo, re-import. Blobs and
// MACs under imported material are checked against node:crypto computing with the same material.
import {
  constants, createCipheriv, createDecipheriv, createHmac, createPublicKey, hkdfSync, publicEncrypt, randomBytes,
} from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { canonicalContext, encodeBlobHeader, parseBlob } from '../../src/keys/blob.js';
import type { Keyward } from '../../src/kms/keyward.js';
import type { ImportKeyMaterialRequest, WrappingAlgorithm, WrappingKeySpec } from '../../src/kms/ops-import.js';
import { ADMIN, ALICE, DAY, MALLORY, engine, rejectsWith, utf8 } from './_engine.js';

const HOUR = 3_600_000;
const OAEP_HASH: Record<WrappingAlgorithm, 'sha1' | 'sha256'> = { RSAES_OAEP_SHA_1: 'sha1', RSAES_OAEP_SHA_256: 'sha256' };

function wrap(publicKey: Uint8Array, material: Uint8Array, alg: WrappingAlgorithm): Uint8Array {
  const key = createPublicKey({ key: Buffer.from(publicKey), format: 'der', type: 'spki' });
  return new Uint8Array(publicEncrypt({ key, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: OAEP_HASH[alg] }, material));
}

type Expiry = Pick<ImportKeyMaterialRequest, 'ValidTo' | 'ExpirationModel'>;
const NEVER: Expiry = { ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' };

async function importInto(
  kw: Keyward, KeyId: string, material: Uint8Array, expiry: Expiry = NEVER,
  alg: WrappingAlgorithm = 'RSAES_OAEP_SHA_256', spec: WrappingKeySpec = 'RSA_2048',
): Promise<void> {
  const p = await kw.getParametersForImport({ KeyId, WrappingAlgorithm: alg, WrappingKeySpec: spec });
  await kw.importKeyMaterial({ KeyId, ImportToken: p.ImportToken, EncryptedKeyMaterial: wrap(p.PublicKey, material, alg), ...expiry });
}

/** Keyward's symmetric blob opened by node:crypto: K = HKDF-SHA256(material, nonce, 'keyward/v1/encrypt'), AES-256-GCM. */
function nodeOpen(material: Uint8Array, blobBytes: Uint8Array, ctx?: Record<string, string>): Buffer {
  const b = parseBlob(blobBytes);
  const k = Buffer.from(hkdfSync('sha256', material, b.nonce, 'keyward/v1/encrypt', 32));
  const d = createDecipheriv('aes-256-gcm', k, b.iv);
  d.setAAD(Buffer.concat([b.header, canonicalContext(ctx)]));
  d.setAuthTag(b.ciphertext.subarray(-16));
  return Buffer.concat([d.update(b.ciphertext.subarray(0, -16)), d.final()]);
}

/** A blob made by node:crypto under the material, for Keyward to open. */
function nodeSeal(material: Uint8Array, keyId: string, plaintext: Uint8Array): Uint8Array {
  const nonce = randomBytes(16);
  const iv = randomBytes(12);
  const header = encodeBlobHeader(keyId, 1, nonce, iv);
  const c = createCipheriv('aes-256-gcm', Buffer.from(hkdfSync('sha256', material, nonce, 'keyward/v1/encrypt', 32)), iv);
  c.setAAD(header);
  return new Uint8Array(Buffer.concat([header, c.update(plaintext), c.final(), c.getAuthTag()]));
}

async function externalKey() {
  const h = await engine();
  const { KeyMetadata } = await h.kw.createKey({ Origin: 'EXTERNAL', Description: 'byok' });
  return { h, kw: h.kw, keyId: KeyMetadata.KeyId, arn: KeyMetadata.Arn };
}

describe('GetParametersForImport', () => {
  it('hands out an RSA wrapping key of the asked size and a token valid for 24 hours', async () => {
    const { h, kw, keyId, arn } = await externalKey();
    for (const spec of ['RSA_2048', 'RSA_3072', 'RSA_4096'] as const) {
      const p = await kw.getParametersForImport({ KeyId: arn, WrappingAlgorithm: 'RSAES_OAEP_SHA_1', WrappingKeySpec: spec });
      expect(p.KeyId).toBe(arn);
      expect(createPublicKey({ key: Buffer.from(p.PublicKey), format: 'der', type: 'spki' }).asymmetricKeyDetails?.modulusLength).toBe(Number(spec.slice(4)));
      expect(p.ParametersValidTo).toEqual(new Date(h.clock.now + 24 * HOUR));
      expect(p.ImportToken.length).toBeGreaterThanOrEqual(32);
    }
    const a = await kw.getParametersForImport({ KeyId: keyId, WrappingAlgorithm: 'RSAES_OAEP_SHA_256', WrappingKeySpec: 'RSA_2048' });
    const b = await kw.getParametersForImport({ KeyId: keyId, WrappingAlgorithm: 'RSAES_OAEP_SHA_256', WrappingKeySpec: 'RSA_2048' });
    expect(Buffer.from(a.ImportToken).equals(Buffer.from(b.ImportToken))).toBe(false);
    expect(Buffer.from(a.PublicKey).equals(Buffer.from(b.PublicKey))).toBe(false);
  }, 60_000);

  it('refuses keys that are not EXTERNAL, unsupported wrapping parameters, aliases and strangers', async () => {
    const { h, kw, keyId } = await externalKey();
    const ok = { KeyId: keyId, WrappingAlgorithm: 'RSAES_OAEP_SHA_256', WrappingKeySpec: 'RSA_2048' } as const;
    const aws = (await kw.createKey()).KeyMetadata.KeyId;
    await rejectsWith(kw.getParametersForImport({ ...ok, KeyId: aws }), 'UnsupportedOperationException');
    await rejectsWith(kw.getParametersForImport({ ...ok, WrappingAlgorithm: 'RSAES_PKCS1_V1_5' as WrappingAlgorithm }), 'ValidationException');
    await rejectsWith(kw.getParametersForImport({ ...ok, WrappingKeySpec: 'RSA_1024' as WrappingKeySpec }), 'ValidationException');
    await kw.createAlias({ AliasName: 'alias/byok', TargetKeyId: keyId });
    await rejectsWith(kw.getParametersForImport({ ...ok, KeyId: 'alias/byok' }), 'NotFoundException');
    await rejectsWith(h.kw.as(MALLORY).getParametersForImport(ok), 'AccessDeniedException');
    await kw.scheduleKeyDeletion({ KeyId: keyId, PendingWindowInDays: 7 });
    await rejectsWith(kw.getParametersForImport(ok), 'KMSInvalidStateException');
  });
});

describe('ImportKeyMaterial', () => {
  for (const [alg, spec] of [['RSAES_OAEP_SHA_1', 'RSA_2048'], ['RSAES_OAEP_SHA_256', 'RSA_3072']] as const) {
    it(`imports material wrapped with ${alg} under ${spec}; the key then encrypts with exactly that material`, async () => {
      const { kw, keyId, arn } = await externalKey();
      expect((await kw.describeKey({ KeyId: keyId })).KeyMetadata).toMatchObject({ KeyState: 'PendingImport', Origin: 'EXTERNAL', Enabled: false });
      await rejectsWith(kw.encrypt({ KeyId: keyId, Plaintext: utf8('x') }), 'KMSInvalidStateException');
      const material = randomBytes(32);
      await importInto(kw, keyId, material, NEVER, alg, spec);
      const m = (await kw.describeKey({ KeyId: keyId })).KeyMetadata;
      expect(m).toMatchObject({ KeyState: 'Enabled', Enabled: true, ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' });
      expect(m.ValidTo).toBeUndefined();
      const ctx = { purpose: 'import-test' };
      const { CiphertextBlob, KeyId } = await kw.encrypt({ KeyId: keyId, Plaintext: utf8('imported'), EncryptionContext: ctx });
      expect(KeyId).toBe(arn);
      expect(nodeOpen(material, CiphertextBlob, ctx).toString()).toBe('imported');
      expect(new TextDecoder().decode((await kw.decrypt({ CiphertextBlob, EncryptionContext: ctx })).Plaintext)).toBe('imported');
      expect((await kw.decrypt({ CiphertextBlob: nodeSeal(material, keyId, utf8('from node')) })).Plaintext).toEqual(utf8('from node'));
    }, 60_000);
  }

  it('imports HMAC material: GenerateMac equals node\'s HMAC under it', async () => {
    const h = await engine();
    for (const [KeySpec, len, hash, MacAlgorithm] of [['HMAC_256', 32, 'sha256', 'HMAC_SHA_256'], ['HMAC_512', 64, 'sha512', 'HMAC_SHA_512']] as const) {
      const { KeyMetadata } = await h.kw.createKey({ Origin: 'EXTERNAL', KeySpec, KeyUsage: 'GENERATE_VERIFY_MAC' });
      const material = randomBytes(len);
      await rejectsWith(importInto(h.kw, KeyMetadata.KeyId, randomBytes(32 + 16)), 'IncorrectKeyMaterialException');
      await importInto(h.kw, KeyMetadata.KeyId, material);
      const msg = utf8('mac me');
      const { Mac } = await h.kw.generateMac({ KeyId: KeyMetadata.KeyId, MacAlgorithm, Message: msg });
      expect(Buffer.from(Mac).equals(createHmac(hash, material).update(msg).digest())).toBe(true);
    }
  });

  it('answers InvalidImportToken, ExpiredImportToken, InvalidCiphertext and IncorrectKeyMaterial as AWS does', async () => {
    const { h, kw, keyId } = await externalKey();
    const other = (await kw.createKey({ Origin: 'EXTERNAL' })).KeyMetadata.KeyId;
    const material = randomBytes(32);
    const p = await kw.getParametersForImport({ KeyId: keyId, WrappingAlgorithm: 'RSAES_OAEP_SHA_256', WrappingKeySpec: 'RSA_2048' });
    const good = wrap(p.PublicKey, material, 'RSAES_OAEP_SHA_256');
    const req = { KeyId: keyId, ImportToken: p.ImportToken, EncryptedKeyMaterial: good, ...NEVER };
    await rejectsWith(kw.importKeyMaterial({ ...req, ImportToken: randomBytes(32) }), 'InvalidImportTokenException');
    await rejectsWith(kw.importKeyMaterial({ ...req, KeyId: other }), 'InvalidImportTokenException');
    const tampered = Uint8Array.from(good);
    tampered[100]! ^= 1;
    await rejectsWith(kw.importKeyMaterial({ ...req, EncryptedKeyMaterial: tampered }), 'InvalidCiphertextException');
    await rejectsWith(kw.importKeyMaterial({ ...req, EncryptedKeyMaterial: wrap(p.PublicKey, material, 'RSAES_OAEP_SHA_1') }), 'InvalidCiphertextException');
    await rejectsWith(kw.importKeyMaterial({ ...req, EncryptedKeyMaterial: good.subarray(1) }), 'InvalidCiphertextException');
    await rejectsWith(kw.importKeyMaterial({ ...req, EncryptedKeyMaterial: wrap(p.PublicKey, material.subarray(0, 16), 'RSAES_OAEP_SHA_256') }), 'IncorrectKeyMaterialException');
    await rejectsWith(kw.importKeyMaterial({ ...req, EncryptedKeyMaterial: wrap(p.PublicKey, randomBytes(33), 'RSAES_OAEP_SHA_256') }), 'IncorrectKeyMaterialException');
    await rejectsWith(kw.importKeyMaterial({ ...req, EncryptedKeyMaterial: new Uint8Array(0) }), 'ValidationException');
    await rejectsWith(kw.importKeyMaterial({ ...req, ImportToken: undefined as unknown as Uint8Array }), 'ValidationException');
    expect((await kw.describeKey({ KeyId: keyId })).KeyMetadata.KeyState).toBe('PendingImport');

    h.clock.now += 24 * HOUR;
    await rejectsWith(kw.importKeyMaterial(req), 'ExpiredImportTokenException');
    const fresh = await kw.getParametersForImport({ KeyId: keyId, WrappingAlgorithm: 'RSAES_OAEP_SHA_256', WrappingKeySpec: 'RSA_2048' });
    const used = { ...req, ImportToken: fresh.ImportToken, EncryptedKeyMaterial: wrap(fresh.PublicKey, material, 'RSAES_OAEP_SHA_256') };
    await kw.importKeyMaterial(used);
    // The token is used up.
    await rejectsWith(kw.importKeyMaterial(used), 'InvalidImportTokenException');
    const tail = await kw.auditTail(1);
    expect(tail[0]).toMatchObject({ operation: 'ImportKeyMaterial', outcome: 'InvalidImportTokenException', keyId });
  });

  it('lets only the first of concurrent imports of different material in', async () => {
    const { kw, keyId } = await externalKey();
    const materials = [randomBytes(32), randomBytes(32), randomBytes(32)];
    const params = await Promise.all(materials.map(() => kw.getParametersForImport({ KeyId: keyId, WrappingAlgorithm: 'RSAES_OAEP_SHA_256', WrappingKeySpec: 'RSA_2048' })));
    const results = await Promise.allSettled(materials.map((m, i) => kw.importKeyMaterial({
      KeyId: keyId, ImportToken: params[i]!.ImportToken, EncryptedKeyMaterial: wrap(params[i]!.PublicKey, m, 'RSAES_OAEP_SHA_256'), ...NEVER,
    })));
    const won = results.findIndex((r) => r.status === 'fulfilled');
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    for (const r of results) if (r.status === 'rejected') expect((r.reason as Error).name).toBe('IncorrectKeyMaterialException');
    const { CiphertextBlob } = await kw.encrypt({ KeyId: keyId, Plaintext: utf8('winner') });
    expect(nodeOpen(materials[won]!, CiphertextBlob).toString()).toBe('winner');
  });

  it('checks ExpirationModel and ValidTo as AWS does', async () => {
    const { h, kw, keyId } = await externalKey();
    const material = randomBytes(32);
    await rejectsWith(importInto(kw, keyId, material, {}), 'ValidationException');
    await rejectsWith(importInto(kw, keyId, material, { ExpirationModel: 'KEY_MATERIAL_EXPIRES' }), 'ValidationException');
    await rejectsWith(importInto(kw, keyId, material, { ValidTo: new Date(h.clock.now) }), 'ValidationException');
    await rejectsWith(importInto(kw, keyId, material, { ValidTo: new Date(h.clock.now + 366 * DAY) }), 'ValidationException');
    await rejectsWith(importInto(kw, keyId, material, { ValidTo: new Date(NaN) }), 'ValidationException');
    await rejectsWith(importInto(kw, keyId, material, { ...NEVER, ValidTo: new Date(h.clock.now + DAY) }), 'ValidationException');
    await rejectsWith(importInto(kw, keyId, material, { ExpirationModel: 'SOMETIMES' as 'KEY_MATERIAL_EXPIRES' }), 'ValidationException');
    const validTo = new Date(h.clock.now + 365 * DAY);
    await importInto(kw, keyId, material, { ValidTo: validTo });
    expect((await kw.describeKey({ KeyId: keyId })).KeyMetadata).toMatchObject({ KeyState: 'Enabled', ExpirationModel: 'KEY_MATERIAL_EXPIRES', ValidTo: validTo });
  });

  it('deletes the material at ValidTo; the same material brings old blobs back, other material is refused', async () => {
    const { h, kw, keyId } = await externalKey();
    const material = randomBytes(32);
    await importInto(kw, keyId, material, { ValidTo: new Date(h.clock.now + DAY) });
    const { CiphertextBlob } = await kw.encrypt({ KeyId: keyId, Plaintext: utf8('before expiry') });
    h.clock.now += DAY - 1;
    await kw.maintenance();
    expect((await kw.describeKey({ KeyId: keyId })).KeyMetadata.KeyState).toBe('Enabled');
    h.clock.now += 1;
    await kw.maintenance();
    const m = (await kw.describeKey({ KeyId: keyId })).KeyMetadata;
    expect(m.KeyState).toBe('PendingImport');
    expect(m.ValidTo).toBeUndefined();
    await rejectsWith(kw.decrypt({ CiphertextBlob }), 'KMSInvalidStateException');
    await rejectsWith(kw.encrypt({ KeyId: keyId, Plaintext: utf8('x') }), 'KMSInvalidStateException');
    await rejectsWith(importInto(kw, keyId, randomBytes(32)), 'IncorrectKeyMaterialException');
    expect((await kw.describeKey({ KeyId: keyId })).KeyMetadata.KeyState).toBe('PendingImport');
    await importInto(kw, keyId, material);
    expect((await kw.describeKey({ KeyId: keyId })).KeyMetadata).toMatchObject({ KeyState: 'Enabled', ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' });
    expect(new TextDecoder().decode((await kw.decrypt({ CiphertextBlob })).Plaintext)).toBe('before expiry');
  });

  it('re-imports the same material into an enabled key to change its expiration, never other material', async () => {
    const { h, kw, keyId } = await externalKey();
    const material = randomBytes(32);
    await importInto(kw, keyId, material);
    const { CiphertextBlob } = await kw.encrypt({ KeyId: keyId, Plaintext: utf8('kept') });
    await rejectsWith(importInto(kw, keyId, randomBytes(32), { ValidTo: new Date(h.clock.now + DAY) }), 'IncorrectKeyMaterialException');
    const validTo = new Date(h.clock.now + 2 * DAY);
    await importInto(kw, keyId, material, { ValidTo: validTo }, 'RSAES_OAEP_SHA_1');
    expect((await kw.describeKey({ KeyId: keyId })).KeyMetadata).toMatchObject({ KeyState: 'Enabled', ExpirationModel: 'KEY_MATERIAL_EXPIRES', ValidTo: validTo });
    await kw.disableKey({ KeyId: keyId });
    await importInto(kw, keyId, material);
    expect((await kw.describeKey({ KeyId: keyId })).KeyMetadata).toMatchObject({ KeyState: 'Disabled', ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' });
    await kw.enableKey({ KeyId: keyId });
    expect((await kw.decrypt({ CiphertextBlob })).Plaintext).toEqual(utf8('kept'));
  });

  it('keeps imported material across a reopen, wrapped in the store and never in the clear', async () => {
    const { h, kw, keyId } = await externalKey();
    const material = randomBytes(32);
    await importInto(kw, keyId, material);
    const { CiphertextBlob } = await kw.encrypt({ KeyId: keyId, Plaintext: utf8('durable') });
    const again = await h.reopen();
    expect((await again.decrypt({ CiphertextBlob })).Plaintext).toEqual(utf8('durable'));
    await h.kw.close();
    for (const f of readdirSync(h.dir)) expect(readFileSync(join(h.dir, f)).includes(material), f).toBe(false);
  });

  it('needs kms:ImportKeyMaterial: the default policy gives it to the creator of an EXTERNAL key only', async () => {
    const h = await engine({ keyAdministrators: [ADMIN], keyUsers: [ALICE] });
    const admin = h.kw.as(ADMIN);
    const ext = (await admin.createKey({ Origin: 'EXTERNAL' })).KeyMetadata.KeyId;
    await rejectsWith(importInto(h.kw.as(ALICE), ext, randomBytes(32)), 'AccessDeniedException');
    await importInto(admin, ext, randomBytes(32));
    expect((await h.kw.as(ALICE).encrypt({ KeyId: ext, Plaintext: utf8('x') })).KeyId).toContain(ext);
    const policy = JSON.parse((await admin.getKeyPolicy({ KeyId: (await admin.createKey()).KeyMetadata.KeyId })).Policy);
    expect(JSON.stringify(policy)).not.toContain('kms:ImportKeyMaterial');
  });
});

describe('DeleteImportedKeyMaterial', () => {
  it('makes the key PendingImport until the same material returns', async () => {
    const { kw, keyId } = await externalKey();
    await kw.deleteImportedKeyMaterial({ KeyId: keyId });
    expect((await kw.describeKey({ KeyId: keyId })).KeyMetadata.KeyState).toBe('PendingImport');
    const material = randomBytes(32);
    await importInto(kw, keyId, material, { ValidTo: new Date(Date.UTC(2027, 0, 1)) });
    const { CiphertextBlob } = await kw.encrypt({ KeyId: keyId, Plaintext: utf8('x') });
    await kw.deleteImportedKeyMaterial({ KeyId: keyId });
    const m = (await kw.describeKey({ KeyId: keyId })).KeyMetadata;
    expect(m.KeyState).toBe('PendingImport');
    expect(m.ValidTo).toBeUndefined();
    await rejectsWith(kw.decrypt({ CiphertextBlob }), 'KMSInvalidStateException');
    await rejectsWith(kw.generateDataKey({ KeyId: keyId, KeySpec: 'AES_256' }), 'KMSInvalidStateException');
    await rejectsWith(importInto(kw, keyId, randomBytes(32)), 'IncorrectKeyMaterialException');
    await importInto(kw, keyId, material);
    expect((await kw.decrypt({ CiphertextBlob })).Plaintext).toEqual(utf8('x'));
  });

  it('keeps a key pending deletion in that state, and refuses keys whose material is not imported', async () => {
    const { kw, keyId } = await externalKey();
    await importInto(kw, keyId, randomBytes(32));
    await kw.scheduleKeyDeletion({ KeyId: keyId, PendingWindowInDays: 7 });
    await kw.deleteImportedKeyMaterial({ KeyId: keyId });
    expect((await kw.describeKey({ KeyId: keyId })).KeyMetadata.KeyState).toBe('PendingDeletion');
    await kw.cancelKeyDeletion({ KeyId: keyId });
    expect((await kw.describeKey({ KeyId: keyId })).KeyMetadata.KeyState).toBe('PendingImport');
    const aws = (await kw.createKey()).KeyMetadata.KeyId;
    await rejectsWith(kw.deleteImportedKeyMaterial({ KeyId: aws }), 'UnsupportedOperationException');
    await rejectsWith(kw.as(MALLORY).deleteImportedKeyMaterial({ KeyId: keyId }), 'AccessDeniedException');
  });
});
