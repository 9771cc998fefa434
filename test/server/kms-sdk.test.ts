// Every engine operation through the unmodified AWS SDK (@aws-sdk/client-kms) against the in-process
// server: requests signed by the SDK, blobs and timestamps converted both ways, errors arriving as the
// SDK's typed exceptions with AWS's HTTP status, and key policies seeing the authenticated principal.
import { constants, createPublicKey, createPrivateKey, publicEncrypt, randomBytes, sign as nodeSign, verify as nodeVerify } from 'node:crypto';
import {
  CancelKeyDeletionCommand, CreateAliasCommand, CreateGrantCommand, CreateKeyCommand, DecryptCommand,
  DeleteAliasCommand, DeleteImportedKeyMaterialCommand, DescribeKeyCommand, DisableKeyCommand, DisableKeyRotationCommand,
  DisabledException, EnableKeyCommand, EnableKeyRotationCommand, EncryptCommand, GenerateDataKeyCommand, GenerateDataKeyPairCommand,
  GenerateDataKeyPairWithoutPlaintextCommand, GenerateDataKeyWithoutPlaintextCommand, GenerateMacCommand, GenerateRandomCommand,
  GetKeyPolicyCommand, GetKeyRotationStatusCommand, GetParametersForImportCommand, GetPublicKeyCommand, ImportKeyMaterialCommand,
  InvalidCiphertextException, KMSInvalidMacException, KMSInvalidSignatureException, KMSServiceException, ListAliasesCommand, ListGrantsCommand,
  ListKeyPoliciesCommand, ListKeyRotationsCommand, ListKeysCommand, ListResourceTagsCommand, ListRetirableGrantsCommand, NotFoundException,
  PutKeyPolicyCommand, ReEncryptCommand, ReplicateKeyCommand, RetireGrantCommand, RevokeGrantCommand, RotateKeyOnDemandCommand,
  ScheduleKeyDeletionCommand, SignCommand, TagResourceCommand, UntagResourceCommand, UpdateAliasCommand,
  VerifyCommand, VerifyMacCommand,
} from '@aws-sdk/client-kms';
import { describe, expect, it } from 'vitest';
import { Keyward } from '../../src/kms/keyward.js';
import { OPERATIONS } from '../../src/server/kms-protocol.js';
import { ALICE, BOB, startServer } from './_harness.js';

const text = (b: Uint8Array | undefined) => Buffer.from(b!).toString('utf8');

/** Rejects with an SDK exception of class `cls`; returns it. */
async function sdkError<E extends KMSServiceException>(p: Promise<unknown>, cls: abstract new (...a: never[]) => E): Promise<E> {
  const e = await p.then(() => undefined, (x: unknown) => x);
  expect(e, `expected ${cls.name}`).toBeInstanceOf(cls);
  return e as E;
}

/**
 * Rejects with an exception the KMS model does not declare (AccessDeniedException, ValidationException:
 * AWS's common errors): the SDK gives a KMSServiceException carrying the name.
 */
async function commonError(p: Promise<unknown>, name: string): Promise<KMSServiceException> {
  const e = await sdkError(p, KMSServiceException);
  expect(e.name).toBe(name);
  return e;
}

describe('the AWS SDK against keyward serve', () => {
  it('the server has an operation for every engine operation, and nothing else', () => {
    const notOperations = new Set(['constructor', 'as', 'inRegion', 'maintenance', 'verifyAudit', 'auditTail', 'close', 'live', 'op', 'account']);
    const engineOps = Object.getOwnPropertyNames(Keyward.prototype).filter((n) => !notOperations.has(n)).sort();
    expect(Object.values(OPERATIONS).map((o) => o.method).sort()).toEqual(engineOps);
    for (const [name, o] of Object.entries(OPERATIONS)) expect(o.method).toBe(name[0]!.toLowerCase() + name.slice(1));
  });

  it('runs every operation, with blobs and timestamps converted both ways', async () => {
    const h = await startServer();
    const kms = h.client();
    const before = Date.now();

    // Keys, tags, policies
    const { KeyMetadata: key } = await kms.send(new CreateKeyCommand({ Description: 'sdk', Tags: [{ TagKey: 'team', TagValue: 'a' }] }));
    expect(key!.CreationDate).toBeInstanceOf(Date);
    expect(Math.abs(key!.CreationDate!.getTime() - before)).toBeLessThan(60_000);
    expect(key!.Arn).toBe(`arn:aws:kms:us-east-1:111122223333:key/${key!.KeyId}`);
    const keyId = key!.KeyId!;
    expect((await kms.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata!.Description).toBe('sdk');
    expect((await kms.send(new ListKeysCommand({}))).Keys!.map((k) => k.KeyId)).toContain(keyId);
    await kms.send(new TagResourceCommand({ KeyId: keyId, Tags: [{ TagKey: 'env', TagValue: 'test' }] }));
    await kms.send(new UntagResourceCommand({ KeyId: keyId, TagKeys: ['team'] }));
    expect((await kms.send(new ListResourceTagsCommand({ KeyId: keyId }))).Tags).toEqual([{ TagKey: 'env', TagValue: 'test' }]);
    expect((await kms.send(new ListKeyPoliciesCommand({ KeyId: keyId }))).PolicyNames).toEqual(['default']);
    const { Policy: policy } = await kms.send(new GetKeyPolicyCommand({ KeyId: keyId, PolicyName: 'default' }));
    expect(JSON.parse(policy!).Statement[0].Principal.AWS).toBe(ALICE);
    await kms.send(new PutKeyPolicyCommand({ KeyId: keyId, PolicyName: 'default', Policy: policy! }));

    // Aliases
    await kms.send(new CreateAliasCommand({ AliasName: 'alias/sdk', TargetKeyId: keyId }));
    const key2 = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
    await kms.send(new UpdateAliasCommand({ AliasName: 'alias/sdk', TargetKeyId: key2 }));
    const aliases = (await kms.send(new ListAliasesCommand({}))).Aliases!;
    expect(aliases.find((a) => a.AliasName === 'alias/sdk')!.TargetKeyId).toBe(key2);
    await kms.send(new DeleteAliasCommand({ AliasName: 'alias/sdk' }));

    // Symmetric cryptography
    const ctx = { purpose: 'sdk-test' };
    const enc = await kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('attack at dawn'), EncryptionContext: ctx }));
    expect(enc.CiphertextBlob).toBeInstanceOf(Uint8Array);
    const dec = await kms.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob, EncryptionContext: ctx }));
    expect(text(dec.Plaintext)).toBe('attack at dawn');
    expect(dec.KeyId).toBe(key!.Arn);
    await sdkError(kms.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob, EncryptionContext: { purpose: 'other' } })), InvalidCiphertextException);
    const re = await kms.send(new ReEncryptCommand({ CiphertextBlob: enc.CiphertextBlob, SourceEncryptionContext: ctx, DestinationKeyId: key2 }));
    expect(text((await kms.send(new DecryptCommand({ CiphertextBlob: re.CiphertextBlob }))).Plaintext)).toBe('attack at dawn');
    const dk = await kms.send(new GenerateDataKeyCommand({ KeyId: keyId, KeySpec: 'AES_256' }));
    expect(dk.Plaintext).toHaveLength(32);
    expect((await kms.send(new DecryptCommand({ CiphertextBlob: dk.CiphertextBlob }))).Plaintext).toEqual(dk.Plaintext);
    const dkw = await kms.send(new GenerateDataKeyWithoutPlaintextCommand({ KeyId: keyId, NumberOfBytes: 16 }));
    expect((dkw as { Plaintext?: unknown }).Plaintext).toBeUndefined();
    expect((await kms.send(new DecryptCommand({ CiphertextBlob: dkw.CiphertextBlob }))).Plaintext).toHaveLength(16);
    expect((await kms.send(new GenerateRandomCommand({ NumberOfBytes: 48 }))).Plaintext).toHaveLength(48);

    // Data key pairs: the private half signs what the public half verifies (node:crypto)
    const pair = await kms.send(new GenerateDataKeyPairCommand({ KeyId: keyId, KeyPairSpec: 'ECC_NIST_P256' }));
    const priv = createPrivateKey({ key: Buffer.from(pair.PrivateKeyPlaintext!), format: 'der', type: 'pkcs8' });
    const pub = createPublicKey({ key: Buffer.from(pair.PublicKey!), format: 'der', type: 'spki' });
    expect(nodeVerify('sha256', Buffer.from('m'), pub, nodeSign('sha256', Buffer.from('m'), priv))).toBe(true);
    expect((await kms.send(new DecryptCommand({ CiphertextBlob: pair.PrivateKeyCiphertextBlob }))).Plaintext).toEqual(pair.PrivateKeyPlaintext);
    const pairW = await kms.send(new GenerateDataKeyPairWithoutPlaintextCommand({ KeyId: keyId, KeyPairSpec: 'RSA_2048' }));
    const rsaPriv = (await kms.send(new DecryptCommand({ CiphertextBlob: pairW.PrivateKeyCiphertextBlob }))).Plaintext!;
    expect(createPublicKey(createPrivateKey({ key: Buffer.from(rsaPriv), format: 'der', type: 'pkcs8' })).export({ format: 'der', type: 'spki' }))
      .toEqual(Buffer.from(pairW.PublicKey!));

    // Signing: the SDK's signature verifies under node:crypto with the public key from GetPublicKey
    const signer = (await kms.send(new CreateKeyCommand({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' }))).KeyMetadata!.KeyId!;
    const message = Buffer.from('signed through the SDK');
    const sig = await kms.send(new SignCommand({ KeyId: signer, Message: message, SigningAlgorithm: 'ECDSA_SHA_256' }));
    const { PublicKey: spki } = await kms.send(new GetPublicKeyCommand({ KeyId: signer }));
    expect(nodeVerify('sha256', message, createPublicKey({ key: Buffer.from(spki!), format: 'der', type: 'spki' }), Buffer.from(sig.Signature!))).toBe(true);
    expect((await kms.send(new VerifyCommand({ KeyId: signer, Message: message, Signature: sig.Signature, SigningAlgorithm: 'ECDSA_SHA_256' }))).SignatureValid).toBe(true);
    await sdkError(
      kms.send(new VerifyCommand({ KeyId: signer, Message: Buffer.from('other'), Signature: sig.Signature, SigningAlgorithm: 'ECDSA_SHA_256' })),
      KMSInvalidSignatureException,
    );

    // MACs
    const macKey = (await kms.send(new CreateKeyCommand({ KeySpec: 'HMAC_256', KeyUsage: 'GENERATE_VERIFY_MAC' }))).KeyMetadata!.KeyId!;
    const mac = await kms.send(new GenerateMacCommand({ KeyId: macKey, Message: message, MacAlgorithm: 'HMAC_SHA_256' }));
    expect(mac.Mac).toHaveLength(32);
    expect((await kms.send(new VerifyMacCommand({ KeyId: macKey, Message: message, Mac: mac.Mac, MacAlgorithm: 'HMAC_SHA_256' }))).MacValid).toBe(true);
    const bad = Uint8Array.from(mac.Mac!);
    bad[0]! ^= 1;
    await sdkError(kms.send(new VerifyMacCommand({ KeyId: macKey, Message: message, Mac: bad, MacAlgorithm: 'HMAC_SHA_256' })), KMSInvalidMacException);

    // Rotation
    await kms.send(new EnableKeyRotationCommand({ KeyId: keyId, RotationPeriodInDays: 90 }));
    const status = await kms.send(new GetKeyRotationStatusCommand({ KeyId: keyId }));
    expect(status.KeyRotationEnabled).toBe(true);
    expect(status.NextRotationDate).toBeInstanceOf(Date);
    expect(status.NextRotationDate!.getTime() - Date.now()).toBeGreaterThan(89 * 86_400_000);
    await kms.send(new RotateKeyOnDemandCommand({ KeyId: keyId }));
    const rotations = await kms.send(new ListKeyRotationsCommand({ KeyId: keyId }));
    expect(rotations.Rotations).toHaveLength(1);
    expect(rotations.Rotations![0]!.RotationDate).toBeInstanceOf(Date);
    await kms.send(new DisableKeyRotationCommand({ KeyId: keyId }));
    expect(text((await kms.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob, EncryptionContext: ctx }))).Plaintext)).toBe('attack at dawn');

    // Key state
    await kms.send(new DisableKeyCommand({ KeyId: key2 }));
    const disabled = await sdkError(kms.send(new EncryptCommand({ KeyId: key2, Plaintext: Buffer.from('x') })), DisabledException);
    expect(disabled.$metadata.httpStatusCode).toBe(400);
    await kms.send(new EnableKeyCommand({ KeyId: key2 }));
    const scheduled = await kms.send(new ScheduleKeyDeletionCommand({ KeyId: key2, PendingWindowInDays: 7 }));
    expect(scheduled.DeletionDate).toBeInstanceOf(Date);
    expect(scheduled.DeletionDate!.getTime() - Date.now()).toBeGreaterThan(6.9 * 86_400_000);
    expect(scheduled.KeyState).toBe('PendingDeletion');
    await kms.send(new CancelKeyDeletionCommand({ KeyId: key2 }));

    // Imported key material: wrapped with node:crypto RSA-OAEP-SHA-256; ValidTo travels as a timestamp
    const ext = (await kms.send(new CreateKeyCommand({ Origin: 'EXTERNAL' }))).KeyMetadata!;
    expect(ext.KeyState).toBe('PendingImport');
    const params = await kms.send(new GetParametersForImportCommand({ KeyId: ext.KeyId, WrappingAlgorithm: 'RSAES_OAEP_SHA_256', WrappingKeySpec: 'RSA_2048' }));
    expect(params.ParametersValidTo).toBeInstanceOf(Date);
    const material = randomBytes(32);
    const wrapped = publicEncrypt(
      { key: createPublicKey({ key: Buffer.from(params.PublicKey!), format: 'der', type: 'spki' }), padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' },
      material,
    );
    const validTo = new Date(Math.floor(Date.now() / 1000) * 1000 + 3 * 86_400_000);
    await kms.send(new ImportKeyMaterialCommand({
      KeyId: ext.KeyId, ImportToken: params.ImportToken, EncryptedKeyMaterial: wrapped, ExpirationModel: 'KEY_MATERIAL_EXPIRES', ValidTo: validTo,
    }));
    const imported = (await kms.send(new DescribeKeyCommand({ KeyId: ext.KeyId }))).KeyMetadata!;
    expect(imported.KeyState).toBe('Enabled');
    expect(imported.ValidTo!.getTime()).toBe(validTo.getTime());
    const encExt = await kms.send(new EncryptCommand({ KeyId: ext.KeyId, Plaintext: Buffer.from('imported') }));
    expect(text((await kms.send(new DecryptCommand({ CiphertextBlob: encExt.CiphertextBlob }))).Plaintext)).toBe('imported');
    await kms.send(new DeleteImportedKeyMaterialCommand({ KeyId: ext.KeyId }));
    expect((await kms.send(new DescribeKeyCommand({ KeyId: ext.KeyId }))).KeyMetadata!.KeyState).toBe('PendingImport');

    // Grants: bob, refused by the key policy, encrypts under a grant until it is revoked
    const bob = h.client(h.keys.bob);
    await commonError(bob.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('b') })), 'AccessDeniedException');
    const grant = await kms.send(new CreateGrantCommand({ KeyId: keyId, GranteePrincipal: BOB, RetiringPrincipal: ALICE, Operations: ['Encrypt'] }));
    expect((await bob.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('b') }))).CiphertextBlob).toBeInstanceOf(Uint8Array);
    const listed = await kms.send(new ListGrantsCommand({ KeyId: keyId }));
    expect(listed.Grants!.map((g) => g.GrantId)).toEqual([grant.GrantId]);
    expect(listed.Grants![0]!.CreationDate).toBeInstanceOf(Date);
    expect((await kms.send(new ListRetirableGrantsCommand({ RetiringPrincipal: ALICE }))).Grants!.map((g) => g.GrantId)).toEqual([grant.GrantId]);
    await kms.send(new RevokeGrantCommand({ KeyId: keyId, GrantId: grant.GrantId }));
    await commonError(bob.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('b') })), 'AccessDeniedException');
    const grant2 = await kms.send(new CreateGrantCommand({ KeyId: keyId, GranteePrincipal: BOB, RetiringPrincipal: ALICE, Operations: ['Decrypt'] }));
    await kms.send(new RetireGrantCommand({ KeyId: keyId, GrantId: grant2.GrantId }));
    expect((await kms.send(new ListGrantsCommand({ KeyId: keyId }))).Grants).toEqual([]);

    // Multi-Region keys: a replica in another region of the same store
    const mrk = (await kms.send(new CreateKeyCommand({ MultiRegion: true }))).KeyMetadata!;
    expect(mrk.KeyId!.startsWith('mrk-')).toBe(true);
    const replica = await kms.send(new ReplicateKeyCommand({ KeyId: mrk.KeyId, ReplicaRegion: 'eu-west-1' }));
    expect(replica.ReplicaKeyMetadata!.Arn).toBe(`arn:aws:kms:eu-west-1:111122223333:key/${mrk.KeyId}`);
    expect(replica.ReplicaKeyMetadata!.CreationDate).toBeInstanceOf(Date);

    // The server saw every operation, each authenticated as the key's caller
    const seen = new Set(h.log.map((e) => e.operation));
    expect(Object.keys(OPERATIONS).filter((op) => !seen.has(op))).toEqual([]);
    expect(h.log.every((e) => e.principal === ALICE || e.principal === BOB)).toBe(true);
  });

  it('engine errors arrive as the SDK\'s typed exceptions with AWS\'s HTTP status and message', async () => {
    const h = await startServer();
    const kms = h.client();
    const nf = await sdkError(kms.send(new DescribeKeyCommand({ KeyId: 'alias/missing' })), NotFoundException);
    expect(nf.name).toBe('NotFoundException');
    expect(nf.$metadata.httpStatusCode).toBe(400);
    expect(nf.$metadata.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(nf.message).toMatch(/alias\/missing/);
    const v = await commonError(kms.send(new GenerateRandomCommand({ NumberOfBytes: 2000 })), 'ValidationException');
    expect(v.$metadata.httpStatusCode).toBe(400);
  });

  it('key policies see the authenticated principal: a user the policy does not name is refused, and audited as itself', async () => {
    const h = await startServer();
    const keyId = (await h.client().send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
    for (const who of [h.keys.bob, h.keys.mallory]) {
      const denied = await commonError(h.client(who).send(new DescribeKeyCommand({ KeyId: keyId })), 'AccessDeniedException');
      expect(denied.$metadata.httpStatusCode).toBe(400);
    }
    const audit = await h.kw.auditTail(2);
    expect(audit.map((r) => [r.principal, r.operation])).toEqual([
      [BOB, 'DescribeKey'], ['arn:aws:iam::999988887777:user/mallory', 'DescribeKey'],
    ]);
  });
});
