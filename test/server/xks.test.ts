// The XKS proxy API against a real listener, every request signed the way AWS KMS signs XKS calls: SigV4
// by the AWS SDK's signer (@smithy/signature-v4), service kms-xks-proxy, SignedHeaders host;x-amz-date.
// The AES-GCM is checked against node:crypto both ways with the key material opened through the engine.
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WasmProvider } from '../../src/crypto/wasm-provider.js';
import type { Keyward } from '../../src/kms/keyward.js';
import type { AccessLogEntry } from '../../src/server/kms-server.js';
import type { XksProxy } from '../../src/server/xks.js';
import { createXksKey, setXksEnabled, updateXksKey } from '../../src/server/xks-keys.js';
import { ACCOUNT, ALICE, REGION, startXks, type CallOptions, type XksHarness, type XksResponse as Res } from './_xks.js';

const PREFIX = '/keystores/ks-1';
const BOB = `arn:aws:iam::${ACCOUNT}:user/bob`;
const KMS_KEY_ARN = `arn:aws:kms:${REGION}:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;

let h: XksHarness;
let dir: string;
let kw: Keyward;
let proxy: XksProxy;
let cmk: string;
let log: AccessLogEntry[];

beforeAll(async () => {
  h = await startXks({ pathPrefix: PREFIX });
  ({ dir, kw, proxy, cmk, log } = h);
  await createXksKey(kw, dir, { externalKeyId: 'open-key', wrappingKeyId: cmk });
  await createXksKey(kw, dir, { externalKeyId: 'guarded.key_1', wrappingKeyId: cmk, allowedPrincipals: [ALICE], allowedKmsKeyArns: [KMS_KEY_ARN] });
});

afterAll(() => h.close());

const xks = (suffix: string, body: unknown, o: CallOptions = {}): Promise<Res> => h.call(suffix, body, o);
const material = (id: string) => h.material(id);

const meta = (over: Record<string, unknown> = {}) => ({
  requestMetadata: { awsPrincipalArn: ALICE, kmsKeyArn: KMS_KEY_ARN, kmsOperation: 'Encrypt', kmsRequestId: 'req-1', ...over },
});

function aadFor(aad: Buffer, md: Buffer): Buffer {
  const len = Buffer.alloc(2);
  len.writeUInt16BE(aad.length);
  return Buffer.concat([len, aad, Buffer.of(md.length), md]);
}

function expectError(r: Res, status: number, name: string): void {
  expect({ status: r.status, errorName: r.json.errorName }).toEqual({ status, errorName: name });
  expect(r.json.errorMessage).toMatch(/^[\x20-\x7e]{1,511}$/);
}

describe('GetHealthStatus', () => {
  it('answers a signed POST with the fleet, and refuses GET with 405', async () => {
    const r = await xks('/health', { requestMetadata: { kmsRequestId: 'h-1', kmsOperation: 'KmsHealthCheck' } });
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ xksProxyFleetSize: 1, xksProxyVendor: 'Keyward', ekmVendor: 'Keyward' });
    expect(r.json.ekmFleetDetails).toEqual([expect.objectContaining({ healthStatus: 'ACTIVE', model: expect.stringContaining('wasm') })]);
    expect(log.at(-1)).toMatchObject({ operation: 'XksGetHealthStatus', status: 200, xks: { kmsRequestId: 'h-1', kmsOperation: 'KmsHealthCheck' } });
    expectError(await xks('/health', '', { method: 'GET' }), 405, 'MethodNotAllowed');
  });

  it('refuses a missing signature, the kms service scope, a KMS access key and an old date with 401 AuthenticationFailedException', async () => {
    const body = { requestMetadata: { kmsRequestId: 'h', kmsOperation: 'KmsHealthCheck' } };
    expectError(await xks('/health', body, { unsigned: true }), 401, 'AuthenticationFailedException');
    expectError(await xks('/health', body, { service: 'kms' }), 401, 'AuthenticationFailedException');
    expectError(await xks('/health', body, { key: h.kmsKey }), 401, 'AuthenticationFailedException');
    expectError(await xks('/health', body, { date: new Date(Date.now() - 6 * 60_000) }), 401, 'AuthenticationFailedException');
  });

  it('sends an unknown path under the API to 404 InvalidUriPathException', async () => {
    expectError(await xks('/keys/open-key/sign', meta()), 404, 'InvalidUriPathException');
    expectError(await xks('/status', meta()), 404, 'InvalidUriPathException');
  });
});

describe('GetKeyMetadata', () => {
  it('describes an AES_256 key for ENCRYPT and DECRYPT, without a kmsKeyArn as for CreateKey', async () => {
    const r = await xks('/keys/open-key/metadata', { requestMetadata: { awsPrincipalArn: ALICE, kmsOperation: 'CreateKey', kmsRequestId: 'm-1' } });
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ keySpec: 'AES_256', keyUsage: ['ENCRYPT', 'DECRYPT'], keyStatus: 'ENABLED' });
  });

  it('is 404 KeyNotFoundException for an unknown key and 400 ValidationException for bad metadata', async () => {
    expectError(await xks('/keys/no-such-key/metadata', meta()), 404, 'KeyNotFoundException');
    expectError(await xks('/keys/open-key/metadata', {}), 400, 'ValidationException');
    expectError(await xks('/keys/open-key/metadata', '{not json'), 400, 'ValidationException');
    expectError(await xks('/keys/open-key/metadata', meta({ kmsRequestId: 7 })), 400, 'ValidationException');
    expectError(await xks('/keys/open-key/metadata', { requestMetadata: { kmsOperation: 'DescribeKey', kmsRequestId: 'x' } }), 400, 'ValidationException');
  });
});

describe('Encrypt and Decrypt', () => {
  it('AES-256-GCM with the AAD sent, checked against node:crypto both ways, with a CDIV per Appendix C', async () => {
    const key = await material('open-key');
    const plaintext = randomBytes(4300);
    const aad = randomBytes(8192);
    const e = await xks('/keys/open-key/encrypt', {
      ...meta(), plaintext: plaintext.toString('base64'), additionalAuthenticatedData: aad.toString('base64'),
      encryptionAlgorithm: 'AES_GCM', ciphertextDataIntegrityValueAlgorithm: 'SHA_256',
    });
    expect(e.status).toBe(200);
    const [ct, md, iv, tag] = (['ciphertext', 'ciphertextMetadata', 'initializationVector', 'authenticationTag'] as const).map((f) => Buffer.from(e.json[f] as string, 'base64'));
    expect([ct!.length, iv!.length, tag!.length]).toEqual([4300, 12, 16]);
    expect(md!.length).toBeLessThanOrEqual(20);
    expect(e.json.ciphertextDataIntegrityValue).toBe(createHash('sha256').update(Buffer.concat([aad, md!, iv!, ct!, tag!])).digest('base64'));
    // node:crypto opens what the proxy sealed...
    const d = createDecipheriv('aes-256-gcm', key, iv!).setAAD(aadFor(aad, md!)).setAuthTag(tag!);
    expect(Buffer.concat([d.update(ct!), d.final()]).equals(plaintext)).toBe(true);
    // ...and the proxy opens what node:crypto sealed.
    const iv2 = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', key, iv2).setAAD(aadFor(aad, md!));
    const ct2 = Buffer.concat([c.update(plaintext), c.final()]);
    const r = await xks('/keys/open-key/decrypt', {
      ...meta({ kmsOperation: 'Decrypt' }), ciphertext: ct2.toString('base64'), ciphertextMetadata: md!.toString('base64'),
      initializationVector: iv2.toString('base64'), authenticationTag: c.getAuthTag().toString('base64'),
      additionalAuthenticatedData: aad.toString('base64'), encryptionAlgorithm: 'AES_GCM',
    });
    expect(r.status).toBe(200);
    expect(Buffer.from(r.json.plaintext as string, 'base64').equals(plaintext)).toBe(true);
    key.fill(0);
    // The access log keeps the request metadata, never the plaintext.
    const logged = JSON.stringify(log.slice(-2));
    expect(logged).toContain('"kmsRequestId":"req-1"');
    expect(logged).not.toContain(plaintext.toString('base64').slice(0, 40));
  });

  it('refuses every altered part with 400 InvalidCiphertextException, and wrong inputs with their errors', async () => {
    const e = await xks('/keys/open-key/encrypt', { ...meta(), plaintext: 'SGVsbG8gV29ybGQh', additionalAuthenticatedData: 'YWFk', encryptionAlgorithm: 'AES_GCM' });
    expect(e.status).toBe(200);
    expect(e.json.ciphertextDataIntegrityValue).toBeUndefined();
    const good = {
      ...meta({ kmsOperation: 'Decrypt' }), ciphertext: e.json.ciphertext, ciphertextMetadata: e.json.ciphertextMetadata,
      initializationVector: e.json.initializationVector, authenticationTag: e.json.authenticationTag, additionalAuthenticatedData: 'YWFk',
      encryptionAlgorithm: 'AES_GCM',
    };
    expect((await xks('/keys/open-key/decrypt', good)).json).toEqual({ plaintext: 'SGVsbG8gV29ybGQh' });
    const flip = (b64: unknown) => {
      const b = Buffer.from(b64 as string, 'base64');
      b[0]! ^= 1;
      return b.toString('base64');
    };
    for (const field of ['ciphertext', 'ciphertextMetadata', 'initializationVector', 'authenticationTag', 'additionalAuthenticatedData'] as const) {
      expectError(await xks('/keys/open-key/decrypt', { ...good, [field]: flip(good[field]) }), 400, 'InvalidCiphertextException');
    }
    // The AAD moved into the metadata (the length prefixes tell them apart), no metadata, a 16-byte IV, a short tag.
    expectError(await xks('/keys/open-key/decrypt', { ...good, additionalAuthenticatedData: undefined }), 400, 'InvalidCiphertextException');
    expectError(await xks('/keys/open-key/decrypt', { ...good, ciphertextMetadata: undefined }), 400, 'InvalidCiphertextException');
    expectError(await xks('/keys/open-key/decrypt', { ...good, initializationVector: randomBytes(16).toString('base64') }), 400, 'InvalidCiphertextException');
    expectError(await xks('/keys/open-key/decrypt', { ...good, authenticationTag: randomBytes(12).toString('base64') }), 400, 'InvalidCiphertextException');
    // Decrypting under another key fails authentication.
    expectError(await xks('/keys/guarded.key_1/decrypt', good), 400, 'InvalidCiphertextException');
    expectError(await xks('/keys/open-key/decrypt', { ...good, ciphertext: undefined }), 400, 'ValidationException');
    expectError(await xks('/keys/open-key/decrypt', { ...good, ciphertext: 'not base64!' }), 400, 'ValidationException');
    expectError(await xks('/keys/open-key/encrypt', { ...meta(), plaintext: 'AA==', encryptionAlgorithm: 'AES_CBC' }), 501, 'UnsupportedOperationException');
    expectError(await xks('/keys/open-key/encrypt', { ...meta(), plaintext: 'AA==' }), 400, 'ValidationException');
    expectError(await xks('/keys/open-key/encrypt', { ...meta(), plaintext: 'AA==', encryptionAlgorithm: 'AES_GCM', ciphertextDataIntegrityValueAlgorithm: 'MD5' }), 501, 'UnsupportedOperationException');
    expectError(await xks('/keys/open-key/encrypt', { ...meta(), plaintext: randomBytes(65_537).toString('base64'), encryptionAlgorithm: 'AES_GCM' }), 501, 'UnsupportedOperationException');
    expectError(await xks('/keys/open-key/encrypt', { ...meta({ kmsKeyArn: undefined }), plaintext: 'AA==', encryptionAlgorithm: 'AES_GCM' }), 400, 'ValidationException');
  });

  it('is 400 InvalidStateException when the CMK holding the key material is disabled', async () => {
    await createXksKey(kw, dir, { externalKeyId: 'cmk-disabled', wrappingKeyId: cmk });
    await kw.disableKey({ KeyId: cmk });
    try {
      const r = await xks('/keys/cmk-disabled/encrypt', { ...meta(), plaintext: 'AA==', encryptionAlgorithm: 'AES_GCM' });
      expectError(r, 400, 'InvalidStateException');
      expect(r.json.errorMessage).toContain('DisabledException');
    } finally {
      await kw.enableKey({ KeyId: cmk });
    }
  });
});

describe('allow lists and key status', () => {
  it('serves only the listed principals and KMS key ARNs (403 AccessDeniedException, logged with the reason)', async () => {
    const body = { plaintext: 'AA==', encryptionAlgorithm: 'AES_GCM' };
    expect((await xks('/keys/guarded.key_1/encrypt', { ...meta(), ...body })).status).toBe(200);
    expectError(await xks('/keys/guarded.key_1/encrypt', { ...meta({ awsPrincipalArn: BOB }), ...body }), 403, 'AccessDeniedException');
    expect(log.at(-1)!.xks!.denied).toContain(`awsPrincipalArn ${BOB}`);
    const other = KMS_KEY_ARN.replace('1234abcd', 'ffffffff');
    expectError(await xks('/keys/guarded.key_1/encrypt', { ...meta({ kmsKeyArn: other }), ...body }), 403, 'AccessDeniedException');
    expect(log.at(-1)!.xks!.denied).toContain(`kmsKeyArn ${other}`);
    expectError(await xks('/keys/guarded.key_1/metadata', meta({ awsPrincipalArn: BOB })), 403, 'AccessDeniedException');
    // CreateKey's GetKeyMetadata has no kmsKeyArn yet: the principal list still applies.
    const m = await xks('/keys/guarded.key_1/metadata', { requestMetadata: { awsPrincipalArn: ALICE, kmsOperation: 'CreateKey', kmsRequestId: 'c' } });
    expect(m.status).toBe(200);
    // An unknown kmsOperation is not refused (spec: KMS may add operations).
    expect((await xks('/keys/guarded.key_1/encrypt', { ...meta({ kmsOperation: 'BulkEncrypt' }), ...body })).status).toBe(200);
  });

  it('a disabled external key reports DISABLED and refuses Encrypt with InvalidStateException', async () => {
    await updateXksKey(dir, 'open-key', { status: 'DISABLED' });
    try {
      expect((await xks('/keys/open-key/metadata', meta())).json.keyStatus).toBe('DISABLED');
      expectError(await xks('/keys/open-key/encrypt', { ...meta(), plaintext: 'AA==', encryptionAlgorithm: 'AES_GCM' }), 400, 'InvalidStateException');
    } finally {
      await updateXksKey(dir, 'open-key', { status: 'ENABLED' });
    }
    expect((await xks('/keys/open-key/encrypt', { ...meta(), plaintext: 'AA==', encryptionAlgorithm: 'AES_GCM' })).status).toBe(200);
  });
});

describe('kill switch', () => {
  it('the API and the file the CLI writes each stop every XKS operation at once, and start them again', async () => {
    const calls = () => Promise.all([
      xks('/health', { requestMetadata: { kmsRequestId: 'k', kmsOperation: 'KmsHealthCheck' } }),
      xks('/keys/open-key/metadata', meta()),
      xks('/keys/open-key/encrypt', { ...meta(), plaintext: 'AA==', encryptionAlgorithm: 'AES_GCM' }),
      xks('/keys/open-key/decrypt', { ...meta(), ciphertext: 'AA==', initializationVector: 'AAAAAAAAAAAAAAAA', authenticationTag: 'AAAAAAAAAAAAAAAAAAAAAA==', encryptionAlgorithm: 'AES_GCM' }),
    ]);
    await proxy.disable();
    expect(proxy.disabled).toBe(true);
    for (const r of await calls()) expectError(r, 400, 'InvalidStateException');
    await proxy.enable();
    expect((await calls()).map((r) => r.status)).toEqual([200, 200, 200, 400]);
    await setXksEnabled(dir, false);
    for (const r of await calls()) expectError(r, 400, 'InvalidStateException');
    await setXksEnabled(dir, true);
    expect((await calls()).slice(0, 3).map((r) => r.status)).toEqual([200, 200, 200]);
  });

  it('unauthenticated requests are still 401 while disabled (the switch tells no stranger anything)', async () => {
    await proxy.disable();
    try {
      expectError(await xks('/health', {}, { unsigned: true }), 401, 'AuthenticationFailedException');
    } finally {
      await proxy.enable();
    }
  });
});

describe('key cache', () => {
  it('reloading a key version while other requests use the cached handle fails none of them', async () => {
    // A provider whose random() answers on a later turn of the event loop, as an HSM's does: a request
    // then holds its handle across the turn in which another request finds the cache entry expired.
    const wasm = new WasmProvider();
    const slow = new Proxy(wasm, {
      get(target, prop) {
        if (prop === 'random') return async (n: number) => (await sleep(2), target.random(n));
        const v = Reflect.get(target, prop) as unknown;
        return typeof v === 'function' ? v.bind(target) : v;
      },
    });
    const fresh = await startXks({ keyCacheMs: 0, provider: slow });
    try {
      await createXksKey(fresh.kw, fresh.dir, { externalKeyId: 'k', wrappingKeyId: fresh.cmk });
      const body = { ...meta(), plaintext: 'AAECAwQ=', encryptionAlgorithm: 'AES_GCM' };
      const all = await Promise.all(Array.from({ length: 24 }, () => fresh.call('/keys/k/encrypt', body)));
      expect(all.map((r) => r.status)).toEqual(all.map(() => 200));
    } finally {
      await fresh.close();
    }
  });
});
