// The XKS proxy API against a real listener, every request signed the way AWS KMS signs XKS calls: SigV4
// by the AWS SDK's signer (@smithy/signature-v4), service kms-xks-proxy, SignedHeaders host;x-amz-date.
// The AES-GCM is checked against node:crypto both ways with the key material opened through the engine.
import { createCipheriv, createDecipheriv, createHash, createHmac, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Keyward } from '../../src/kms/keyward.js';
import { createCredential, CredentialStore, type NewAccessKey } from '../../src/server/credentials.js';
import { KmsServer, type AccessLogEntry } from '../../src/server/kms-server.js';
import { XksProxy, XKS_SERVICE } from '../../src/server/xks.js';
import { createXksKey, readXksKeys, setXksEnabled, updateXksKey, xksBlobContext } from '../../src/server/xks-keys.js';

const ACCOUNT = '111122223333';
const REGION = 'us-east-1';
const PREFIX = '/keystores/ks-1';
const ALICE = `arn:aws:iam::${ACCOUNT}:user/alice`;
const BOB = `arn:aws:iam::${ACCOUNT}:user/bob`;
const KMS_KEY_ARN = `arn:aws:kms:${REGION}:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;

class NodeSha256 {
  private h: ReturnType<typeof createHash> | ReturnType<typeof createHmac>;
  constructor(private readonly secret?: string | Uint8Array) {
    this.h = secret === undefined ? createHash('sha256') : createHmac('sha256', secret);
  }
  update(data: string | Uint8Array): void {
    this.h.update(data);
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.h.digest());
  }
  reset(): void {
    this.h = this.secret === undefined ? createHash('sha256') : createHmac('sha256', this.secret);
  }
}

let dir: string;
let kw: Keyward;
let server: KmsServer;
let proxy: XksProxy;
let port: number;
let xksKey: NewAccessKey;
let kmsKey: NewAccessKey;
let cmk: string;
const log: AccessLogEntry[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'keyward-xks-'));
  kw = await Keyward.open({ dir, account: ACCOUNT, region: REGION, maintenanceIntervalMs: 0 });
  cmk = (await kw.createKey({ Description: 'XKS wrapping key' })).KeyMetadata.Arn!;
  await createXksKey(kw, dir, { externalKeyId: 'open-key', wrappingKeyId: cmk });
  await createXksKey(kw, dir, { externalKeyId: 'guarded.key_1', wrappingKeyId: cmk, allowedPrincipals: [ALICE], allowedKmsKeyArns: [KMS_KEY_ARN] });
  xksKey = await createCredential(dir, `arn:aws:iam::${ACCOUNT}:user/aws-kms-xks`, { file: 'xks-credentials.json', secretBytes: 32 });
  kmsKey = await createCredential(dir, ALICE);
  const credentials = CredentialStore.open(dir, { file: 'xks-credentials.json' });
  proxy = new XksProxy({ keyward: kw, dir, credentials, pathPrefix: PREFIX });
  server = new KmsServer({ keyward: kw, credentials: CredentialStore.open(dir), log: (e) => log.push(e), xks: proxy });
  port = (await server.listen(0)).port;
});

afterAll(async () => {
  await server.close(1000);
  await kw.close();
  rmSync(dir, { recursive: true, force: true });
});

interface Res {
  status: number;
  json: Record<string, unknown>;
  text: string;
}

function send(method: string, path: string, headers: Record<string, string>, body: string): Promise<Res> {
  return new Promise((resolve, reject) => {
    const r = httpRequest({ host: '127.0.0.1', port, method, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json = {};
        try {
          json = JSON.parse(text);
        } catch {
          json = {};
        }
        resolve({ status: res.statusCode!, json, text });
      });
    });
    r.on('error', reject);
    r.end(body);
  });
}

interface CallOptions {
  key?: NewAccessKey;
  service?: string;
  date?: Date;
  method?: string;
  unsigned?: boolean;
}

/** POSTs `body` to {prefix}/kms/xks/v1{suffix}, signed as AWS KMS signs XKS requests. */
async function xks(suffix: string, body: unknown, o: CallOptions = {}): Promise<Res> {
  const path = `${PREFIX}/kms/xks/v1${suffix}`;
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  const headers: Record<string, string> = { host: `127.0.0.1:${port}`, 'content-type': 'application/json' };
  if (o.unsigned) return send(o.method ?? 'POST', path, headers, text);
  const key = o.key ?? xksKey;
  const signer = new SignatureV4({
    credentials: { accessKeyId: key.AccessKeyId, secretAccessKey: key.SecretAccessKey },
    region: REGION, service: o.service ?? XKS_SERVICE, sha256: NodeSha256, uriEscapePath: true, applyChecksum: false,
  });
  const req = new HttpRequest({ method: o.method ?? 'POST', protocol: 'http:', hostname: '127.0.0.1', port, path, headers, body: text });
  const signed = await signer.sign(req, { signingDate: o.date ?? new Date(), unsignableHeaders: new Set(['content-type']) });
  expect(signed.headers.authorization).toContain(`/${REGION}/${o.service ?? XKS_SERVICE}/aws4_request, SignedHeaders=host;x-amz-date,`);
  return send(o.method ?? 'POST', path, signed.headers as Record<string, string>, text);
}

const meta = (over: Record<string, unknown> = {}) => ({
  requestMetadata: { awsPrincipalArn: ALICE, kmsKeyArn: KMS_KEY_ARN, kmsOperation: 'Encrypt', kmsRequestId: 'req-1', ...over },
});

/** The external key's material, opened through the engine, for node:crypto. */
async function material(id: string): Promise<Buffer> {
  const rec = readXksKeys(dir).file.keys.find((k) => k.ExternalKeyId === id)!;
  const r = await kw.decrypt({ CiphertextBlob: Buffer.from(rec.Versions[0]!.Blob, 'base64'), EncryptionContext: xksBlobContext(id, 1) });
  return Buffer.from(r.Plaintext);
}

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
    expectError(await xks('/health', body, { key: kmsKey }), 401, 'AuthenticationFailedException');
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
