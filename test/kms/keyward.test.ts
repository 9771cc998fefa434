// The engine through its public API: key lifecycle, the cryptographic operations and their AWS failure
// modes, aliases, tags, rotation, deletion, audit, reopening, and the same core on the OpenSSL provider.
import { createHash, createHmac, createPrivateKey, createPublicKey, constants, publicEncrypt, verify as nodeVerify } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { NodeCryptoProvider } from '../../src/crypto/node-provider.js';
import { Keyward } from '../../src/kms/keyward.js';
import type { KeySpec, SigningAlgorithm } from '../../src/kms/types.js';
import { ACCOUNT, DAY, engine, rejectsWith, utf8 } from './_engine.js';

describe('open and initialize', () => {
  it('creates a 0600 unseal key and a store that reopens with its keys', async () => {
    const h = await engine();
    expect(statSync(join(h.dir, 'unseal.key')).mode & 0o777).toBe(0o600);
    expect(statSync(join(h.dir, 'keyward.db')).mode & 0o777).toBe(0o600);
    const { KeyMetadata } = await h.kw.createKey({ Description: 'persisted' });
    const blob = (await h.kw.encrypt({ KeyId: KeyMetadata.KeyId, Plaintext: utf8('hello') })).CiphertextBlob;
    expect(statSync(join(h.dir, 'keyward.db-wal')).mode & 0o777).toBe(0o600);
    const kw = await h.reopen();
    expect((await kw.describeKey({ KeyId: KeyMetadata.KeyId })).KeyMetadata.Description).toBe('persisted');
    expect(new TextDecoder().decode((await kw.decrypt({ CiphertextBlob: blob })).Plaintext)).toBe('hello');
  });

  it('refuses a wrong unseal key and a second open of the same store', async () => {
    const h = await engine();
    await expect(Keyward.open({ dir: h.dir, account: ACCOUNT, maintenanceIntervalMs: 0 })).rejects.toThrow(/already open/);
    await h.kw.close();
    await expect(Keyward.open({ dir: h.dir, account: ACCOUNT, unsealKey: new Uint8Array(32).fill(7), maintenanceIntervalMs: 0 }))
      .rejects.toThrow(/unseal key/);
    await h.reopen();
  });
});

describe('CreateKey and DescribeKey', () => {
  it('defaults to an enabled SYMMETRIC_DEFAULT key with an AWS-shaped ARN and metadata', async () => {
    const h = await engine();
    const { KeyMetadata: m } = await h.kw.createKey();
    expect(m.KeyId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(m.Arn).toBe(`arn:aws:kms:us-east-1:${ACCOUNT}:key/${m.KeyId}`);
    expect(m).toMatchObject({
      AWSAccountId: ACCOUNT, Enabled: true, KeyState: 'Enabled', KeyUsage: 'ENCRYPT_DECRYPT', KeySpec: 'SYMMETRIC_DEFAULT',
      Origin: 'AWS_KMS', KeyManager: 'CUSTOMER', MultiRegion: false, EncryptionAlgorithms: ['SYMMETRIC_DEFAULT'],
    });
    expect(m.CreationDate).toBeInstanceOf(Date);
    expect((await h.kw.describeKey({ KeyId: m.Arn })).KeyMetadata).toEqual(m);
  });

  it('refuses invalid spec/usage pairs, origins and policies with the AWS exception', async () => {
    const { kw } = await engine();
    await rejectsWith(kw.createKey({ KeySpec: 'ECC_NIST_P256' }), 'ValidationException');
    await rejectsWith(kw.createKey({ KeySpec: 'HMAC_256', KeyUsage: 'ENCRYPT_DECRYPT' }), 'ValidationException');
    await rejectsWith(kw.createKey({ KeySpec: 'NOPE' as KeySpec }), 'ValidationException');
    await rejectsWith(kw.createKey({ KeySpec: 'RSA_2048', KeyUsage: 'SIGN_VERIFY', Origin: 'EXTERNAL' }), 'UnsupportedOperationException');
    await rejectsWith(kw.createKey({ Policy: '{not json' }), 'MalformedPolicyDocumentException');
    const lockout = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:user/other` }, Action: 'kms:*', Resource: '*' }] });
    await rejectsWith(kw.createKey({ Policy: lockout }), 'MalformedPolicyDocumentException');
    expect((await kw.createKey({ Policy: lockout, BypassPolicyLockoutSafetyCheck: true })).KeyMetadata.KeyState).toBe('Enabled');
    await rejectsWith(kw.describeKey({ KeyId: '00000000-0000-4000-8000-000000000000' }), 'NotFoundException');
    await rejectsWith(kw.describeKey({ KeyId: 'not a key' }), 'NotFoundException');
    await rejectsWith(kw.describeKey({ KeyId: '' }), 'ValidationException');
  });

  it('lists keys page by page', async () => {
    const { kw } = await engine();
    const ids = new Set<string>();
    for (let i = 0; i < 5; i++) ids.add((await kw.createKey()).KeyMetadata.KeyId);
    const seen = new Set<string>();
    let marker: string | undefined;
    do {
      const page = await kw.listKeys({ Limit: 2, ...(marker ? { Marker: marker } : {}) });
      expect(page.Keys.length).toBeLessThanOrEqual(2);
      for (const k of page.Keys) seen.add(k.KeyId);
      marker = page.NextMarker;
      expect(page.Truncated).toBe(marker !== undefined);
    } while (marker);
    expect(seen).toEqual(ids);
    await rejectsWith(kw.listKeys({ Marker: 'garbage' }), 'InvalidMarkerException');
    await rejectsWith(kw.listKeys({ Limit: 0 }), 'ValidationException');
  });
});

describe('Encrypt and Decrypt', () => {
  it('round-trips with an encryption context; Decrypt needs no KeyId, and a wrong one is IncorrectKeyException', async () => {
    const { kw } = await engine();
    const a = (await kw.createKey()).KeyMetadata;
    const b = (await kw.createKey()).KeyMetadata;
    const ctx = { tenant: 'acme', purpose: 'test' };
    const enc = await kw.encrypt({ KeyId: a.KeyId, Plaintext: utf8('secret'), EncryptionContext: ctx });
    expect(enc).toMatchObject({ KeyId: a.Arn, EncryptionAlgorithm: 'SYMMETRIC_DEFAULT' });
    const dec = await kw.decrypt({ CiphertextBlob: enc.CiphertextBlob, EncryptionContext: { purpose: 'test', tenant: 'acme' } });
    expect(dec).toMatchObject({ KeyId: a.Arn, EncryptionAlgorithm: 'SYMMETRIC_DEFAULT' });
    expect(dec.Plaintext).toEqual(utf8('secret'));
    expect((await kw.decrypt({ CiphertextBlob: enc.CiphertextBlob, KeyId: a.Arn, EncryptionContext: ctx })).Plaintext).toEqual(utf8('secret'));
    await rejectsWith(kw.decrypt({ CiphertextBlob: enc.CiphertextBlob, KeyId: b.KeyId, EncryptionContext: ctx }), 'IncorrectKeyException');
    await rejectsWith(kw.decrypt({ CiphertextBlob: enc.CiphertextBlob }), 'InvalidCiphertextException');
    await rejectsWith(kw.decrypt({ CiphertextBlob: enc.CiphertextBlob, EncryptionContext: { ...ctx, tenant: 'acme2' } }), 'InvalidCiphertextException');
    await rejectsWith(kw.decrypt({ CiphertextBlob: enc.CiphertextBlob, EncryptionContext: { ...ctx, extra: 'x' } }), 'InvalidCiphertextException');
  });

  it('refuses every single-bit flip and every truncation of a blob without returning plaintext', async () => {
    const { kw } = await engine();
    const { KeyId } = (await kw.createKey()).KeyMetadata;
    const blob = (await kw.encrypt({ KeyId, Plaintext: utf8('flip me') })).CiphertextBlob;
    for (let i = 0; i < blob.length; i++) {
      const bad = blob.slice();
      bad[i]! ^= 1 << (i % 8);
      const err = await kw.decrypt({ CiphertextBlob: bad }).then(() => null, (e: Error) => e);
      expect(err?.name, `byte ${i}`).toMatch(/^(InvalidCiphertextException|NotFoundException)$/);
    }
    for (const n of [1, 10, 40, blob.length - 17, blob.length - 1]) {
      await rejectsWith(kw.decrypt({ CiphertextBlob: blob.subarray(0, n) }), 'InvalidCiphertextException');
    }
  });

  it('validates sizes and contexts', async () => {
    const { kw } = await engine();
    const { KeyId } = (await kw.createKey()).KeyMetadata;
    await rejectsWith(kw.encrypt({ KeyId, Plaintext: new Uint8Array(0) }), 'ValidationException');
    await rejectsWith(kw.encrypt({ KeyId, Plaintext: new Uint8Array(4097) }), 'ValidationException');
    expect((await kw.encrypt({ KeyId, Plaintext: new Uint8Array(4096) })).CiphertextBlob.length).toBeGreaterThan(4096);
    await rejectsWith(kw.encrypt({ KeyId, Plaintext: utf8('x'), EncryptionContext: { a: 1 as unknown as string } }), 'ValidationException');
    await rejectsWith(kw.encrypt({ KeyId, Plaintext: 'text' as unknown as Uint8Array }), 'ValidationException');
    await rejectsWith(kw.decrypt({ CiphertextBlob: utf8('garbage that is not a blob') }), 'InvalidCiphertextException');
  });

  it('ReEncrypt moves a ciphertext to another key and context', async () => {
    const { kw } = await engine();
    const a = (await kw.createKey()).KeyMetadata;
    const b = (await kw.createKey()).KeyMetadata;
    const enc = await kw.encrypt({ KeyId: a.KeyId, Plaintext: utf8('move'), EncryptionContext: { v: '1' } });
    const re = await kw.reEncrypt({
      CiphertextBlob: enc.CiphertextBlob, SourceEncryptionContext: { v: '1' }, DestinationKeyId: b.KeyId, DestinationEncryptionContext: { v: '2' },
    });
    expect(re).toMatchObject({ SourceKeyId: a.Arn, KeyId: b.Arn });
    expect((await kw.decrypt({ CiphertextBlob: re.CiphertextBlob, EncryptionContext: { v: '2' } })).Plaintext).toEqual(utf8('move'));
    await rejectsWith(kw.reEncrypt({ CiphertextBlob: enc.CiphertextBlob, DestinationKeyId: b.KeyId }), 'InvalidCiphertextException');
  });
});

describe('key states', () => {
  it('a disabled key refuses cryptographic operations with DisabledException until enabled', async () => {
    const { kw } = await engine();
    const { KeyId } = (await kw.createKey()).KeyMetadata;
    const blob = (await kw.encrypt({ KeyId, Plaintext: utf8('x') })).CiphertextBlob;
    await kw.disableKey({ KeyId });
    expect((await kw.describeKey({ KeyId })).KeyMetadata).toMatchObject({ KeyState: 'Disabled', Enabled: false });
    await rejectsWith(kw.encrypt({ KeyId, Plaintext: utf8('x') }), 'DisabledException');
    await rejectsWith(kw.decrypt({ CiphertextBlob: blob }), 'DisabledException');
    await rejectsWith(kw.generateDataKey({ KeyId, KeySpec: 'AES_256' }), 'DisabledException');
    await kw.enableKey({ KeyId });
    expect((await kw.decrypt({ CiphertextBlob: blob })).Plaintext).toEqual(utf8('x'));
  });

  it('deletion: pending keys refuse use, cancel leaves them disabled, past the date they are gone for good', async () => {
    const h = await engine();
    const { kw, clock } = h;
    const { KeyId } = (await kw.createKey()).KeyMetadata;
    const blob = (await kw.encrypt({ KeyId, Plaintext: utf8('doomed') })).CiphertextBlob;
    await rejectsWith(kw.scheduleKeyDeletion({ KeyId, PendingWindowInDays: 6 }), 'ValidationException');
    await rejectsWith(kw.scheduleKeyDeletion({ KeyId, PendingWindowInDays: 31 }), 'ValidationException');
    const s = await kw.scheduleKeyDeletion({ KeyId, PendingWindowInDays: 7 });
    expect(s).toMatchObject({ KeyState: 'PendingDeletion', PendingWindowInDays: 7 });
    expect(s.DeletionDate.getTime()).toBe(clock.now + 7 * DAY);
    await rejectsWith(kw.decrypt({ CiphertextBlob: blob }), 'KMSInvalidStateException');
    await rejectsWith(kw.enableKey({ KeyId }), 'KMSInvalidStateException');
    await rejectsWith(kw.scheduleKeyDeletion({ KeyId }), 'KMSInvalidStateException');
    await kw.cancelKeyDeletion({ KeyId });
    expect((await kw.describeKey({ KeyId })).KeyMetadata.KeyState).toBe('Disabled');
    await rejectsWith(kw.cancelKeyDeletion({ KeyId }), 'KMSInvalidStateException');
    expect((await kw.scheduleKeyDeletion({ KeyId })).PendingWindowInDays).toBe(30);
    clock.now += 30 * DAY - 1;
    await kw.maintenance();
    expect((await kw.describeKey({ KeyId })).KeyMetadata.KeyState).toBe('PendingDeletion');
    clock.now += 1;
    await kw.maintenance();
    await rejectsWith(kw.describeKey({ KeyId }), 'NotFoundException');
    await rejectsWith(kw.decrypt({ CiphertextBlob: blob }), 'NotFoundException');
    const again = await h.reopen();
    await rejectsWith(again.describeKey({ KeyId }), 'NotFoundException');
  });

  it('a key past its deletion date is destroyed on first use even before the sweep runs', async () => {
    const { kw, clock } = await engine();
    const { KeyId } = (await kw.createKey()).KeyMetadata;
    await kw.scheduleKeyDeletion({ KeyId, PendingWindowInDays: 7 });
    clock.now += 7 * DAY;
    await rejectsWith(kw.describeKey({ KeyId }), 'NotFoundException');
    expect((await kw.listKeys()).Keys.map((k) => k.KeyId)).not.toContain(KeyId);
  });
});

describe('data keys', () => {
  it('GenerateDataKey by KeySpec or NumberOfBytes; the blob decrypts to the plaintext', async () => {
    const { kw } = await engine();
    const { KeyId } = (await kw.createKey()).KeyMetadata;
    for (const [req, len] of [[{ KeySpec: 'AES_256' as const }, 32], [{ KeySpec: 'AES_128' as const }, 16], [{ NumberOfBytes: 1 }, 1], [{ NumberOfBytes: 1024 }, 1024]] as const) {
      const dk = await kw.generateDataKey({ KeyId, ...req, EncryptionContext: { f: 'x' } });
      expect(dk.Plaintext.length).toBe(len);
      expect((await kw.decrypt({ CiphertextBlob: dk.CiphertextBlob, EncryptionContext: { f: 'x' } })).Plaintext).toEqual(dk.Plaintext);
    }
    await rejectsWith(kw.generateDataKey({ KeyId }), 'ValidationException');
    await rejectsWith(kw.generateDataKey({ KeyId, KeySpec: 'AES_256', NumberOfBytes: 32 }), 'ValidationException');
    await rejectsWith(kw.generateDataKey({ KeyId, NumberOfBytes: 1025 }), 'ValidationException');
    const np = await kw.generateDataKeyWithoutPlaintext({ KeyId, KeySpec: 'AES_256' });
    expect(Object.keys(np).sort()).toEqual(['CiphertextBlob', 'KeyId']);
    expect((await kw.decrypt({ CiphertextBlob: np.CiphertextBlob })).Plaintext.length).toBe(32);
    const sig = (await kw.createKey({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' })).KeyMetadata;
    await rejectsWith(kw.generateDataKey({ KeyId: sig.KeyId, KeySpec: 'AES_256' }), 'InvalidKeyUsageException');
  });

  it('GenerateDataKeyPair returns a PKCS#8 private key whose public half is the SPKI returned, encrypted under the CMK', async () => {
    const { kw } = await engine();
    const { KeyId } = (await kw.createKey()).KeyMetadata;
    for (const spec of ['ECC_NIST_P256', 'ECC_SECG_P256K1', 'RSA_2048'] as const) {
      const p = await kw.generateDataKeyPair({ KeyId, KeyPairSpec: spec });
      const derived = createPublicKey(createPrivateKey({ key: Buffer.from(p.PrivateKeyPlaintext), format: 'der', type: 'pkcs8' }))
        .export({ format: 'der', type: 'spki' });
      expect(new Uint8Array(derived)).toEqual(p.PublicKey);
      expect((await kw.decrypt({ CiphertextBlob: p.PrivateKeyCiphertextBlob })).Plaintext).toEqual(p.PrivateKeyPlaintext);
    }
    const np = await kw.generateDataKeyPairWithoutPlaintext({ KeyId, KeyPairSpec: 'ECC_NIST_P384' });
    expect('PrivateKeyPlaintext' in np).toBe(false);
  });
});

describe('asymmetric and HMAC keys', () => {
  const SIGNING: [KeySpec, SigningAlgorithm[]][] = [
    ['ECC_NIST_P256', ['ECDSA_SHA_256']], ['ECC_NIST_P384', ['ECDSA_SHA_384']], ['ECC_NIST_P521', ['ECDSA_SHA_512']], ['ECC_SECG_P256K1', ['ECDSA_SHA_256']],
    ['RSA_2048', ['RSASSA_PKCS1_V1_5_SHA_256', 'RSASSA_PSS_SHA_256', 'RSASSA_PSS_SHA_512', 'RSASSA_PKCS1_V1_5_SHA_384']],
  ];
  it.each(SIGNING)('%s: Sign (RAW and DIGEST) verifies in node:crypto and in Verify; a forged signature is refused', async (spec, algs) => {
    const { kw } = await engine();
    const { KeyId } = (await kw.createKey({ KeySpec: spec, KeyUsage: 'SIGN_VERIFY' })).KeyMetadata;
    const pub = await kw.getPublicKey({ KeyId });
    expect(pub).toMatchObject({ KeySpec: spec, KeyUsage: 'SIGN_VERIFY' });
    const key = createPublicKey({ key: Buffer.from(pub.PublicKey), format: 'der', type: 'spki' });
    const msg = utf8('message to sign');
    for (const alg of algs) {
      const hash = `sha${alg.slice(-3)}`;
      const pss = alg.startsWith('RSASSA_PSS');
      const nodeOpts = { key, ...(pss ? { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: Number(alg.slice(-3)) / 8 } : {}) };
      const raw = await kw.sign({ KeyId, Message: msg, SigningAlgorithm: alg });
      expect(nodeVerify(hash, msg, nodeOpts, raw.Signature), alg).toBe(true);
      const digest = new Uint8Array(createHash(hash).update(msg).digest());
      const dsig = await kw.sign({ KeyId, Message: digest, MessageType: 'DIGEST', SigningAlgorithm: alg });
      expect(nodeVerify(hash, msg, nodeOpts, dsig.Signature), `${alg} DIGEST`).toBe(true);
      expect((await kw.verify({ KeyId, Message: msg, Signature: dsig.Signature, SigningAlgorithm: alg })).SignatureValid).toBe(true);
      const forged = raw.Signature.slice();
      forged[forged.length >> 1]! ^= 0x10;
      await rejectsWith(kw.verify({ KeyId, Message: msg, Signature: forged, SigningAlgorithm: alg }), 'KMSInvalidSignatureException');
      await rejectsWith(kw.verify({ KeyId, Message: utf8('other'), Signature: raw.Signature, SigningAlgorithm: alg }), 'KMSInvalidSignatureException');
      await rejectsWith(kw.sign({ KeyId, Message: digest.subarray(1), MessageType: 'DIGEST', SigningAlgorithm: alg }), 'ValidationException');
    }
    const wrong: SigningAlgorithm = spec.startsWith('RSA') ? 'ECDSA_SHA_256' : 'RSASSA_PSS_SHA_256';
    await rejectsWith(kw.sign({ KeyId, Message: msg, SigningAlgorithm: wrong }), 'InvalidKeyUsageException');
    await rejectsWith(kw.encrypt({ KeyId, Plaintext: msg }), 'InvalidKeyUsageException');
  });

  it('RSA encryption keys: node:crypto encrypts to GetPublicKey and Decrypt opens it; limits and errors', async () => {
    const { kw } = await engine();
    const { KeyId } = (await kw.createKey({ KeySpec: 'RSA_2048', KeyUsage: 'ENCRYPT_DECRYPT' })).KeyMetadata;
    const pub = createPublicKey({ key: Buffer.from((await kw.getPublicKey({ KeyId })).PublicKey), format: 'der', type: 'spki' });
    for (const [alg, oaepHash, max] of [['RSAES_OAEP_SHA_1', 'sha1', 214], ['RSAES_OAEP_SHA_256', 'sha256', 190]] as const) {
      const ct = publicEncrypt({ key: pub, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash }, Buffer.from('wrapped secret'));
      const dec = await kw.decrypt({ CiphertextBlob: new Uint8Array(ct), KeyId, EncryptionAlgorithm: alg });
      expect(new TextDecoder().decode(dec.Plaintext)).toBe('wrapped secret');
      const mine = await kw.encrypt({ KeyId, Plaintext: new Uint8Array(max), EncryptionAlgorithm: alg });
      expect((await kw.decrypt({ CiphertextBlob: mine.CiphertextBlob, KeyId, EncryptionAlgorithm: alg })).Plaintext).toEqual(new Uint8Array(max));
      await rejectsWith(kw.encrypt({ KeyId, Plaintext: new Uint8Array(max + 1), EncryptionAlgorithm: alg }), 'ValidationException');
      const bad = mine.CiphertextBlob.slice();
      bad[5]! ^= 1;
      await rejectsWith(kw.decrypt({ CiphertextBlob: bad, KeyId, EncryptionAlgorithm: alg }), 'InvalidCiphertextException');
    }
    await rejectsWith(kw.encrypt({ KeyId, Plaintext: utf8('x') }), 'InvalidKeyUsageException');
    await rejectsWith(kw.decrypt({ CiphertextBlob: new Uint8Array(256), EncryptionAlgorithm: 'RSAES_OAEP_SHA_256' }), 'ValidationException');
  });

  it('HMAC keys: GenerateMac/VerifyMac per spec, tampering refused', async () => {
    const { kw } = await engine();
    for (const [spec, alg, len] of [['HMAC_256', 'HMAC_SHA_256', 32], ['HMAC_384', 'HMAC_SHA_384', 48], ['HMAC_512', 'HMAC_SHA_512', 64]] as const) {
      const { KeyId, MacAlgorithms } = (await kw.createKey({ KeySpec: spec, KeyUsage: 'GENERATE_VERIFY_MAC' })).KeyMetadata;
      expect(MacAlgorithms).toEqual([alg]);
      const msg = utf8(`mac ${spec}`);
      const { Mac } = await kw.generateMac({ KeyId, Message: msg, MacAlgorithm: alg });
      expect(Mac.length).toBe(len);
      expect((await kw.verifyMac({ KeyId, Message: msg, Mac, MacAlgorithm: alg })).MacValid).toBe(true);
      const bad = Mac.slice();
      bad[0]! ^= 1;
      await rejectsWith(kw.verifyMac({ KeyId, Message: msg, Mac: bad, MacAlgorithm: alg }), 'KMSInvalidMacException');
      await rejectsWith(kw.verifyMac({ KeyId, Message: msg, Mac: Mac.subarray(0, 16), MacAlgorithm: alg }), 'KMSInvalidMacException');
      await rejectsWith(kw.generateMac({ KeyId, Message: msg, MacAlgorithm: alg === 'HMAC_SHA_256' ? 'HMAC_SHA_512' : 'HMAC_SHA_256' }), 'InvalidKeyUsageException');
      await rejectsWith(kw.getPublicKey({ KeyId }), 'UnsupportedOperationException');
    }
    expect(createHmac('sha256', 'k').update('m').digest().length).toBe(32);
  });

  it('GenerateRandom gives the requested number of bytes', async () => {
    const { kw } = await engine();
    const a = (await kw.generateRandom({ NumberOfBytes: 64 })).Plaintext;
    const b = (await kw.generateRandom({ NumberOfBytes: 64 })).Plaintext;
    expect(a.length).toBe(64);
    expect(a).not.toEqual(b);
    await rejectsWith(kw.generateRandom({ NumberOfBytes: 0 }), 'ValidationException');
    await rejectsWith(kw.generateRandom({ NumberOfBytes: 1025 }), 'ValidationException');
    await rejectsWith(kw.generateRandom({}), 'ValidationException');
  });
});

describe('aliases and tags', () => {
  it('an alias resolves wherever a KeyId does, moves only between keys of one type, and is unique', async () => {
    const { kw } = await engine();
    const a = (await kw.createKey()).KeyMetadata;
    const b = (await kw.createKey()).KeyMetadata;
    const ecc = (await kw.createKey({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' })).KeyMetadata;
    await kw.createAlias({ AliasName: 'alias/app', TargetKeyId: a.KeyId });
    await rejectsWith(kw.createAlias({ AliasName: 'alias/app', TargetKeyId: b.KeyId }), 'AlreadyExistsException');
    await rejectsWith(kw.createAlias({ AliasName: 'alias/aws/s3', TargetKeyId: b.KeyId }), 'InvalidAliasNameException');
    await rejectsWith(kw.createAlias({ AliasName: 'app', TargetKeyId: b.KeyId }), 'InvalidAliasNameException');
    await rejectsWith(kw.createAlias({ AliasName: 'alias/x', TargetKeyId: 'alias/app' }), 'NotFoundException');
    const enc = await kw.encrypt({ KeyId: 'alias/app', Plaintext: utf8('via alias') });
    expect(enc.KeyId).toBe(a.Arn);
    expect((await kw.describeKey({ KeyId: `arn:aws:kms:us-east-1:${ACCOUNT}:alias/app` })).KeyMetadata.KeyId).toBe(a.KeyId);
    await kw.updateAlias({ AliasName: 'alias/app', TargetKeyId: b.KeyId });
    expect((await kw.encrypt({ KeyId: 'alias/app', Plaintext: utf8('x') })).KeyId).toBe(b.Arn);
    await rejectsWith(kw.updateAlias({ AliasName: 'alias/app', TargetKeyId: ecc.KeyId }), 'ValidationException');
    const list = await kw.listAliases({ KeyId: b.KeyId });
    expect(list.Aliases.map((x) => x.AliasName)).toEqual(['alias/app']);
    expect(list.Aliases[0]!.AliasArn).toBe(`arn:aws:kms:us-east-1:${ACCOUNT}:alias/app`);
    await kw.deleteAlias({ AliasName: 'alias/app' });
    await rejectsWith(kw.encrypt({ KeyId: 'alias/app', Plaintext: utf8('x') }), 'NotFoundException');
    await rejectsWith(kw.deleteAlias({ AliasName: 'alias/app' }), 'NotFoundException');
  });

  it('tags: add, overwrite, remove, list; reserved and oversized tags refused', async () => {
    const { kw } = await engine();
    const { KeyId } = (await kw.createKey({ Tags: [{ TagKey: 'team', TagValue: 'a' }] })).KeyMetadata;
    await kw.tagResource({ KeyId, Tags: [{ TagKey: 'team', TagValue: 'b' }, { TagKey: 'env', TagValue: 'prod' }] });
    expect((await kw.listResourceTags({ KeyId })).Tags).toEqual([{ TagKey: 'env', TagValue: 'prod' }, { TagKey: 'team', TagValue: 'b' }]);
    await kw.untagResource({ KeyId, TagKeys: ['env'] });
    expect((await kw.listResourceTags({ KeyId })).Tags).toEqual([{ TagKey: 'team', TagValue: 'b' }]);
    await rejectsWith(kw.tagResource({ KeyId, Tags: [{ TagKey: 'aws:x', TagValue: '1' }] }), 'TagException');
    await rejectsWith(kw.tagResource({ KeyId, Tags: [{ TagKey: 'k'.repeat(129), TagValue: '1' }] }), 'TagException');
    const many = Array.from({ length: 50 }, (_, i) => ({ TagKey: `t${i}`, TagValue: '' }));
    await rejectsWith(kw.tagResource({ KeyId, Tags: many }), 'TagException');
  });
});

describe('rotation', () => {
  it('on-demand and automatic rotation add versions; every older ciphertext keeps decrypting', async () => {
    const { kw, clock } = await engine();
    const { KeyId } = (await kw.createKey()).KeyMetadata;
    const blobs: Uint8Array[] = [(await kw.encrypt({ KeyId, Plaintext: utf8('v1') })).CiphertextBlob];
    await kw.rotateKeyOnDemand({ KeyId });
    blobs.push((await kw.encrypt({ KeyId, Plaintext: utf8('v2') })).CiphertextBlob);
    expect(blobs[1]).not.toEqual(blobs[0]);
    await kw.enableKeyRotation({ KeyId, RotationPeriodInDays: 90 });
    const status = await kw.getKeyRotationStatus({ KeyId });
    expect(status).toMatchObject({ KeyRotationEnabled: true, RotationPeriodInDays: 90 });
    expect(status.NextRotationDate!.getTime()).toBe(clock.now + 90 * DAY);
    clock.now += 90 * DAY;
    await kw.maintenance();
    blobs.push((await kw.encrypt({ KeyId, Plaintext: utf8('v3') })).CiphertextBlob);
    const rotations = (await kw.listKeyRotations({ KeyId })).Rotations;
    expect(rotations.map((r) => r.RotationType)).toEqual(['ON_DEMAND', 'AUTOMATIC']);
    for (const [i, b] of blobs.entries()) expect(new TextDecoder().decode((await kw.decrypt({ CiphertextBlob: b })).Plaintext)).toBe(`v${i + 1}`);
    await kw.disableKeyRotation({ KeyId });
    expect((await kw.getKeyRotationStatus({ KeyId })).KeyRotationEnabled).toBe(false);
    await rejectsWith(kw.enableKeyRotation({ KeyId, RotationPeriodInDays: 89 }), 'ValidationException');
  });

  it('concurrent on-demand rotations each add one version, up to the limit of 10', async () => {
    const { kw } = await engine();
    const { KeyId } = (await kw.createKey()).KeyMetadata;
    const results = await Promise.allSettled(Array.from({ length: 12 }, () => kw.rotateKeyOnDemand({ KeyId })));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(10);
    for (const r of results) if (r.status === 'rejected') expect((r.reason as Error).name).toBe('LimitExceededException');
    expect((await kw.listKeyRotations({ KeyId })).Rotations).toHaveLength(10);
  });

  it('asymmetric, HMAC and imported keys do not rotate', async () => {
    const { kw } = await engine();
    const ecc = (await kw.createKey({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' })).KeyMetadata;
    await rejectsWith(kw.enableKeyRotation({ KeyId: ecc.KeyId }), 'UnsupportedOperationException');
    await rejectsWith(kw.rotateKeyOnDemand({ KeyId: ecc.KeyId }), 'UnsupportedOperationException');
    const ext = (await kw.createKey({ Origin: 'EXTERNAL' })).KeyMetadata;
    expect(ext.KeyState).toBe('PendingImport');
    await rejectsWith(kw.encrypt({ KeyId: ext.KeyId, Plaintext: utf8('x') }), 'KMSInvalidStateException');
  });

  it('domain keys rotate daily and older ciphertexts still decrypt after reopen', async () => {
    const h = await engine();
    const { KeyId } = (await h.kw.createKey()).KeyMetadata;
    const blob = (await h.kw.encrypt({ KeyId, Plaintext: utf8('before') })).CiphertextBlob;
    h.clock.now += 2 * DAY;
    await h.kw.maintenance();
    const kw = await h.reopen();
    expect((await kw.decrypt({ CiphertextBlob: blob })).Plaintext).toEqual(utf8('before'));
    const after = (await kw.encrypt({ KeyId, Plaintext: utf8('after') })).CiphertextBlob;
    expect((await kw.decrypt({ CiphertextBlob: after })).Plaintext).toEqual(utf8('after'));
  });
});

describe('audit', () => {
  it('records every call, allowed or refused, with its outcome and never the plaintext or key material', async () => {
    const h = await engine();
    const { kw } = h;
    const { KeyId } = (await kw.createKey()).KeyMetadata;
    const secret = 'PLAINTEXT-MARKER-7f3a9c';
    await kw.encrypt({ KeyId, Plaintext: utf8(secret), EncryptionContext: { case: 'audit' } });
    const dk = await kw.generateDataKey({ KeyId, KeySpec: 'AES_256' });
    await rejectsWith(kw.as('arn:aws:iam::999988887777:user/x').describeKey({ KeyId }), 'AccessDeniedException');
    await rejectsWith(kw.decrypt({ CiphertextBlob: utf8('junk') }), 'InvalidCiphertextException');
    const tail = await kw.auditTail(4);
    expect(tail.map((r) => [r.operation, r.outcome])).toEqual([
      ['Encrypt', 'Success'], ['GenerateDataKey', 'Success'], ['DescribeKey', 'AccessDeniedException'], ['Decrypt', 'InvalidCiphertextException'],
    ]);
    expect(tail[0]).toMatchObject({ keyId: KeyId, principal: `arn:aws:iam::${ACCOUNT}:root`, encryptionContext: { case: 'audit' } });
    expect(tail[2]!.principal).toBe('arn:aws:iam::999988887777:user/x');
    expect(await kw.verifyAudit()).toMatchObject({ ok: true });
    await kw.close();
    const db = readFileSync(join(h.dir, 'keyward.db'));
    const wal = (() => { try { return readFileSync(join(h.dir, 'keyward.db-wal')); } catch { return Buffer.alloc(0); } })();
    for (const file of [db, wal]) {
      expect(file.includes(Buffer.from(secret))).toBe(false);
      expect(file.includes(Buffer.from(dk.Plaintext))).toBe(false);
    }
    await h.reopen();
  });
});

describe('on the OpenSSL provider', () => {
  it('the same store and keys work with NodeCryptoProvider, and blobs cross between providers', async () => {
    const h = await engine();
    const { KeyId } = (await h.kw.createKey()).KeyMetadata;
    const ecc = (await h.kw.createKey({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' })).KeyMetadata;
    const wasmBlob = (await h.kw.encrypt({ KeyId, Plaintext: utf8('from wasm'), EncryptionContext: { p: 'w' } })).CiphertextBlob;
    const kw = await h.reopen({ provider: new NodeCryptoProvider() });
    expect((await kw.decrypt({ CiphertextBlob: wasmBlob, EncryptionContext: { p: 'w' } })).Plaintext).toEqual(utf8('from wasm'));
    const nodeBlob = (await kw.encrypt({ KeyId, Plaintext: utf8('from node') })).CiphertextBlob;
    const sig = (await kw.sign({ KeyId: ecc.KeyId, Message: utf8('m'), SigningAlgorithm: 'ECDSA_SHA_256' })).Signature;
    const back = await h.reopen();
    expect((await back.decrypt({ CiphertextBlob: nodeBlob })).Plaintext).toEqual(utf8('from node'));
    expect((await back.verify({ KeyId: ecc.KeyId, Message: utf8('m'), Signature: sig, SigningAlgorithm: 'ECDSA_SHA_256' })).SignatureValid).toBe(true);
  });
});
