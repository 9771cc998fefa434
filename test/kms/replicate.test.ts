// ReplicateKey through the public API: a replica in another region shares the primary's material (every
// version, and the versions rotation adds later), has its own ARN, policy, description, tags and state, and
// decrypts what the primary encrypts and the other way round.
import { constants, createPublicKey, publicEncrypt, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { Keyward } from '../../src/kms/keyward.js';
import { ACCOUNT, ADMIN, ALICE, MALLORY, engine, rejectsWith, utf8 } from './_engine.js';

const EU = 'eu-west-1';
const AP = 'ap-southeast-2';

async function primaryKey(opts: Parameters<Keyward['createKey']>[0] = {}) {
  const h = await engine();
  const { KeyMetadata } = await h.kw.createKey({ MultiRegion: true, Description: 'primary', ...opts });
  return { h, kw: h.kw, keyId: KeyMetadata.KeyId, arn: KeyMetadata.Arn };
}

const text = (b: Uint8Array) => new TextDecoder().decode(b);

describe('ReplicateKey', () => {
  it('creates a replica with its own ARN and the multi-Region configuration on both keys', async () => {
    const { kw, keyId, arn } = await primaryKey({ Tags: [{ TagKey: 'env', TagValue: 'prod' }] });
    expect(keyId).toMatch(/^mrk-[0-9a-f]{32}$/);
    const r = await kw.replicateKey({ KeyId: arn, ReplicaRegion: EU, Description: 'replica', Tags: [{ TagKey: 'site', TagValue: 'dublin' }] });
    const replicaArn = `arn:aws:kms:${EU}:${ACCOUNT}:key/${keyId}`;
    const config = {
      PrimaryKey: { Arn: arn, Region: 'us-east-1' },
      ReplicaKeys: [{ Arn: replicaArn, Region: EU }],
    };
    expect(r.ReplicaKeyMetadata).toMatchObject({
      KeyId: keyId, Arn: replicaArn, Description: 'replica', KeyState: 'Enabled', KeySpec: 'SYMMETRIC_DEFAULT', KeyUsage: 'ENCRYPT_DECRYPT',
      Origin: 'AWS_KMS', MultiRegion: true, MultiRegionConfiguration: { MultiRegionKeyType: 'REPLICA', ...config },
    });
    expect(r.ReplicaTags).toEqual([{ TagKey: 'site', TagValue: 'dublin' }]);
    expect(JSON.parse(r.ReplicaPolicy).Statement[0].Action).toContain('kms:ReplicateKey');
    const eu = kw.inRegion(EU);
    expect((await eu.describeKey({ KeyId: keyId })).KeyMetadata).toEqual(r.ReplicaKeyMetadata);
    expect((await kw.describeKey({ KeyId: keyId })).KeyMetadata.MultiRegionConfiguration).toEqual({ MultiRegionKeyType: 'PRIMARY', ...config });
    expect((await eu.listResourceTags({ KeyId: keyId })).Tags).toEqual([{ TagKey: 'site', TagValue: 'dublin' }]);
    expect((await kw.listResourceTags({ KeyId: keyId })).Tags).toEqual([{ TagKey: 'env', TagValue: 'prod' }]);
    expect((await eu.getKeyPolicy({ KeyId: keyId })).Policy).toBe(r.ReplicaPolicy);
    expect((await eu.listKeys()).Keys).toEqual([{ KeyId: keyId, KeyArn: replicaArn }]);
  });

  it('lets the replica decrypt what the primary encrypted and the other way round, also after the primary rotates', async () => {
    const { kw, keyId } = await primaryKey();
    const eu = kw.inRegion(EU);
    const ctx = { tenant: 't1' };
    const before = (await kw.encrypt({ KeyId: keyId, Plaintext: utf8('v1 from primary'), EncryptionContext: ctx })).CiphertextBlob;
    await kw.replicateKey({ KeyId: keyId, ReplicaRegion: EU });
    expect(text((await eu.decrypt({ CiphertextBlob: before, EncryptionContext: ctx })).Plaintext)).toBe('v1 from primary');
    await rejectsWith(eu.decrypt({ CiphertextBlob: before }), 'InvalidCiphertextException');
    const fromReplica = (await eu.encrypt({ KeyId: keyId, Plaintext: utf8('from replica') })).CiphertextBlob;
    expect(text((await kw.decrypt({ CiphertextBlob: fromReplica })).Plaintext)).toBe('from replica');
    const dk = await eu.generateDataKey({ KeyId: keyId, KeySpec: 'AES_256' });
    expect((await kw.decrypt({ CiphertextBlob: dk.CiphertextBlob })).Plaintext).toEqual(dk.Plaintext);

    await kw.rotateKeyOnDemand({ KeyId: keyId });
    const after = (await kw.encrypt({ KeyId: keyId, Plaintext: utf8('v2 from primary') })).CiphertextBlob;
    expect(after).not.toEqual(before);
    expect(text((await eu.decrypt({ CiphertextBlob: after })).Plaintext)).toBe('v2 from primary');
    const v2FromReplica = (await eu.encrypt({ KeyId: keyId, Plaintext: utf8('v2 from replica') })).CiphertextBlob;
    expect(text((await kw.decrypt({ CiphertextBlob: v2FromReplica })).Plaintext)).toBe('v2 from replica');
    expect(text((await eu.decrypt({ CiphertextBlob: before, EncryptionContext: ctx })).Plaintext)).toBe('v1 from primary');
    await rejectsWith(eu.rotateKeyOnDemand({ KeyId: keyId }), 'UnsupportedOperationException');
  });

  it('copies every version made before replication, and adds further replicas to every key of the set', async () => {
    const { kw, keyId } = await primaryKey();
    const blobs = [(await kw.encrypt({ KeyId: keyId, Plaintext: utf8('v1') })).CiphertextBlob];
    for (const v of ['v2', 'v3']) {
      await kw.rotateKeyOnDemand({ KeyId: keyId });
      blobs.push((await kw.encrypt({ KeyId: keyId, Plaintext: utf8(v) })).CiphertextBlob);
    }
    await kw.replicateKey({ KeyId: keyId, ReplicaRegion: EU });
    await kw.replicateKey({ KeyId: keyId, ReplicaRegion: AP });
    for (const region of [EU, AP]) {
      expect(await Promise.all(blobs.map(async (b) => text((await kw.inRegion(region).decrypt({ CiphertextBlob: b })).Plaintext)))).toEqual(['v1', 'v2', 'v3']);
    }
    const replicas = [EU, AP].map((Region) => ({ Arn: `arn:aws:kms:${Region}:${ACCOUNT}:key/${keyId}`, Region }));
    for (const region of ['us-east-1', EU, AP]) {
      expect((await kw.inRegion(region).describeKey({ KeyId: keyId })).KeyMetadata.MultiRegionConfiguration?.ReplicaKeys).toEqual(replicas);
    }
    const fromAp = (await kw.inRegion(AP).encrypt({ KeyId: keyId, Plaintext: utf8('ap') })).CiphertextBlob;
    expect(text((await kw.inRegion(EU).decrypt({ CiphertextBlob: fromAp })).Plaintext)).toBe('ap');
  });

  it('makes one replica of concurrent requests for the same region', async () => {
    const { kw, keyId } = await primaryKey();
    const results = await Promise.allSettled(Array.from({ length: 4 }, () => kw.replicateKey({ KeyId: keyId, ReplicaRegion: EU })));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    for (const r of results) if (r.status === 'rejected') expect((r.reason as Error).name).toBe('AlreadyExistsException');
    expect((await kw.describeKey({ KeyId: keyId })).KeyMetadata.MultiRegionConfiguration?.ReplicaKeys).toHaveLength(1);
  });

  it('replicates signing and HMAC keys: the replica signs and MACs with the primary\'s material', async () => {
    const h = await engine();
    const msg = utf8('same key in two regions');
    const ecc = (await h.kw.createKey({ MultiRegion: true, KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' })).KeyMetadata.KeyId;
    await h.kw.replicateKey({ KeyId: ecc, ReplicaRegion: EU });
    const eu = h.kw.inRegion(EU);
    expect((await eu.getPublicKey({ KeyId: ecc })).PublicKey).toEqual((await h.kw.getPublicKey({ KeyId: ecc })).PublicKey);
    const { Signature } = await eu.sign({ KeyId: ecc, Message: msg, SigningAlgorithm: 'ECDSA_SHA_256' });
    expect((await h.kw.verify({ KeyId: ecc, Message: msg, Signature, SigningAlgorithm: 'ECDSA_SHA_256' })).SignatureValid).toBe(true);
    const mac = (await h.kw.createKey({ MultiRegion: true, KeySpec: 'HMAC_384', KeyUsage: 'GENERATE_VERIFY_MAC' })).KeyMetadata.KeyId;
    await h.kw.replicateKey({ KeyId: mac, ReplicaRegion: EU });
    const a = await h.kw.generateMac({ KeyId: mac, Message: msg, MacAlgorithm: 'HMAC_SHA_384' });
    expect((await eu.generateMac({ KeyId: mac, Message: msg, MacAlgorithm: 'HMAC_SHA_384' })).Mac).toEqual(a.Mac);
  });

  it('gives the replica a state of its own', async () => {
    const { kw, keyId } = await primaryKey();
    await kw.disableKey({ KeyId: keyId });
    const r = await kw.replicateKey({ KeyId: keyId, ReplicaRegion: EU });
    expect(r.ReplicaKeyMetadata.KeyState).toBe('Enabled');
    const eu = kw.inRegion(EU);
    const blob = (await eu.encrypt({ KeyId: keyId, Plaintext: utf8('x') })).CiphertextBlob;
    await rejectsWith(kw.decrypt({ CiphertextBlob: blob }), 'DisabledException');
    await kw.enableKey({ KeyId: keyId });
    await eu.disableKey({ KeyId: keyId });
    await rejectsWith(eu.decrypt({ CiphertextBlob: blob }), 'DisabledException');
    expect((await kw.decrypt({ CiphertextBlob: blob })).Plaintext).toEqual(utf8('x'));
  });

  it('keeps the replica region and its key across a reopen', async () => {
    const { h, kw, keyId } = await primaryKey();
    await kw.replicateKey({ KeyId: keyId, ReplicaRegion: EU });
    const blob = (await kw.inRegion(EU).encrypt({ KeyId: keyId, Plaintext: utf8('durable') })).CiphertextBlob;
    const again = await h.reopen();
    expect((await again.inRegion(EU).decrypt({ CiphertextBlob: blob })).Plaintext).toEqual(utf8('durable'));
    expect((await again.decrypt({ CiphertextBlob: blob })).Plaintext).toEqual(utf8('durable'));
  });

  it('takes a given policy through the lockout check', async () => {
    const { kw, keyId } = await primaryKey();
    const mine = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: 'kms:*', Resource: '*' }] });
    const lockout = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: ADMIN }, Action: 'kms:Decrypt', Resource: '*' }] });
    await rejectsWith(kw.replicateKey({ KeyId: keyId, ReplicaRegion: EU, Policy: lockout }), 'MalformedPolicyDocumentException');
    await rejectsWith(kw.inRegion(EU).describeKey({ KeyId: keyId }), 'NotFoundException');
    expect((await kw.replicateKey({ KeyId: keyId, ReplicaRegion: EU, Policy: mine })).ReplicaPolicy).toBe(mine);
  });

  it('refuses single-Region keys, replicas, existing replicas, the own region and bad regions', async () => {
    const { h, kw, keyId } = await primaryKey();
    // Authorized for everything, so the refusal is about the key itself.
    const all = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: 'kms:*', Resource: '*' }] });
    const single = (await kw.createKey({ Policy: all })).KeyMetadata.KeyId;
    await rejectsWith(kw.replicateKey({ KeyId: single, ReplicaRegion: EU }), 'UnsupportedOperationException');
    await rejectsWith(kw.replicateKey({ KeyId: keyId, ReplicaRegion: 'us-east-1' }), 'ValidationException');
    await rejectsWith(kw.replicateKey({ KeyId: keyId, ReplicaRegion: 'Mars' }), 'ValidationException');
    await rejectsWith(kw.replicateKey({ KeyId: keyId, ReplicaRegion: undefined as unknown as string }), 'ValidationException');
    await rejectsWith(kw.replicateKey({ KeyId: keyId, ReplicaRegion: EU, Tags: [{ TagKey: 'aws:x', TagValue: '' }] }), 'TagException');
    await rejectsWith(kw.replicateKey({ KeyId: 'mrk-00000000000000000000000000000000', ReplicaRegion: EU }), 'NotFoundException');
    await kw.replicateKey({ KeyId: keyId, ReplicaRegion: EU });
    await rejectsWith(kw.replicateKey({ KeyId: keyId, ReplicaRegion: EU }), 'AlreadyExistsException');
    await rejectsWith(kw.inRegion(EU).replicateKey({ KeyId: keyId, ReplicaRegion: AP }), 'UnsupportedOperationException');
    await rejectsWith(kw.inRegion(EU).describeKey({ KeyId: single }), 'NotFoundException');
    await rejectsWith(h.kw.as(MALLORY).replicateKey({ KeyId: keyId, ReplicaRegion: AP }), 'AccessDeniedException');
    const doomed = (await kw.createKey({ MultiRegion: true })).KeyMetadata.KeyId;
    await kw.scheduleKeyDeletion({ KeyId: doomed, PendingWindowInDays: 7 });
    await rejectsWith(kw.replicateKey({ KeyId: doomed, ReplicaRegion: AP }), 'KMSInvalidStateException');
    const tail = await kw.auditTail(1);
    expect(tail[0]).toMatchObject({ operation: 'ReplicateKey', outcome: 'KMSInvalidStateException' });
  });

  it('needs kms:ReplicateKey: the default policy gives it to the administrators of multi-Region keys only', async () => {
    const h = await engine({ keyAdministrators: [ADMIN], keyUsers: [ALICE] });
    const admin = h.kw.as(ADMIN);
    const mrk = (await admin.createKey({ MultiRegion: true })).KeyMetadata.KeyId;
    await rejectsWith(h.kw.as(ALICE).replicateKey({ KeyId: mrk, ReplicaRegion: EU }), 'AccessDeniedException');
    await admin.replicateKey({ KeyId: mrk, ReplicaRegion: EU });
    expect((await h.kw.as(ALICE).inRegion(EU).encrypt({ KeyId: mrk, Plaintext: utf8('x') })).KeyId).toContain(EU);
    const single = (await admin.createKey()).KeyMetadata.KeyId;
    expect((await admin.getKeyPolicy({ KeyId: single })).Policy).not.toContain('kms:ReplicateKey');
  });

  it('replicates a key of imported material as PendingImport, open only to the same material', async () => {
    const { kw, keyId } = await primaryKey({ Origin: 'EXTERNAL' });
    await rejectsWith(kw.replicateKey({ KeyId: keyId, ReplicaRegion: EU }), 'KMSInvalidStateException');
    const material = randomBytes(32);
    const importInto = async (k: Keyward, m: Uint8Array) => {
      const p = await k.getParametersForImport({ KeyId: keyId, WrappingAlgorithm: 'RSAES_OAEP_SHA_256', WrappingKeySpec: 'RSA_2048' });
      const key = createPublicKey({ key: Buffer.from(p.PublicKey), format: 'der', type: 'spki' });
      const EncryptedKeyMaterial = publicEncrypt({ key, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, m);
      await k.importKeyMaterial({ KeyId: keyId, ImportToken: p.ImportToken, EncryptedKeyMaterial, ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' });
    };
    await importInto(kw, material);
    const blob = (await kw.encrypt({ KeyId: keyId, Plaintext: utf8('byok everywhere') })).CiphertextBlob;
    const r = await kw.replicateKey({ KeyId: keyId, ReplicaRegion: EU });
    expect(r.ReplicaKeyMetadata).toMatchObject({ KeyState: 'PendingImport', Origin: 'EXTERNAL' });
    expect(r.ReplicaPolicy).toContain('kms:ImportKeyMaterial');
    const eu = kw.inRegion(EU);
    await rejectsWith(eu.decrypt({ CiphertextBlob: blob }), 'KMSInvalidStateException');
    await rejectsWith(importInto(eu, randomBytes(32)), 'IncorrectKeyMaterialException');
    await importInto(eu, material);
    expect(text((await eu.decrypt({ CiphertextBlob: blob })).Plaintext)).toBe('byok everywhere');
  });
});
