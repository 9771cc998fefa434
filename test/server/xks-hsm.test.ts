// The XKS proxy with the HSM provider (SoftHSM2): the engine's keys and the proxy's AES-GCM both run in
// the token, and what the proxy seals still opens with node:crypto under the key material (and back).
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Pkcs11Provider } from '../../src/hsm/pkcs11-provider.js';
import { createXksKey } from '../../src/server/xks-keys.js';
import { softhsmTokens } from '../hsm/_softhsm.js';
import { ALICE, startXks, type XksHarness } from './_xks.js';

const T = softhsmTokens('xks');
let h: XksHarness;

beforeAll(async () => {
  h = await startXks({ provider: new Pkcs11Provider(T.xks) });
  await createXksKey(h.kw, h.dir, { externalKeyId: 'hsm-key', wrappingKeyId: h.cmk });
});
afterAll(() => h.close());

const meta = (kmsOperation: string) => ({
  requestMetadata: { awsPrincipalArn: ALICE, kmsKeyArn: 'arn:aws:kms:us-east-1:111122223333:key/k', kmsOperation, kmsRequestId: 'r' },
});

function aadFor(aad: Buffer, md: Buffer): Buffer {
  const len = Buffer.alloc(2);
  len.writeUInt16BE(aad.length);
  return Buffer.concat([len, aad, Buffer.of(md.length), md]);
}

describe('XKS over the PKCS#11 provider', () => {
  it('reports the HSM in GetHealthStatus and round-trips AES-256-GCM with node:crypto both ways', async () => {
    const health = await h.call('/health', { requestMetadata: { kmsRequestId: 'h', kmsOperation: 'KmsHealthCheck' } });
    expect(health.json.ekmFleetDetails).toEqual([expect.objectContaining({ model: 'Keyward pkcs11 provider', healthStatus: 'ACTIVE' })]);
    const key = await h.material('hsm-key');
    const plaintext = randomBytes(32);
    const aad = randomBytes(100);
    const e = await h.call('/keys/hsm-key/encrypt', {
      ...meta('GenerateDataKey'), plaintext: plaintext.toString('base64'), additionalAuthenticatedData: aad.toString('base64'), encryptionAlgorithm: 'AES_GCM',
    });
    expect(e.status).toBe(200);
    const [ct, md, iv, tag] = (['ciphertext', 'ciphertextMetadata', 'initializationVector', 'authenticationTag'] as const).map((f) => Buffer.from(e.json[f] as string, 'base64'));
    const d = createDecipheriv('aes-256-gcm', key, iv!).setAAD(aadFor(aad, md!)).setAuthTag(tag!);
    expect(Buffer.concat([d.update(ct!), d.final()]).equals(plaintext)).toBe(true);
    const iv2 = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', key, iv2).setAAD(aadFor(aad, md!));
    const ct2 = Buffer.concat([c.update(plaintext), c.final()]);
    const body = {
      ...meta('Decrypt'), ciphertext: ct2.toString('base64'), ciphertextMetadata: md!.toString('base64'), initializationVector: iv2.toString('base64'),
      authenticationTag: c.getAuthTag().toString('base64'), additionalAuthenticatedData: aad.toString('base64'), encryptionAlgorithm: 'AES_GCM',
    };
    expect(Buffer.from((await h.call('/keys/hsm-key/decrypt', body)).json.plaintext as string, 'base64').equals(plaintext)).toBe(true);
    const bad = await h.call('/keys/hsm-key/decrypt', { ...body, additionalAuthenticatedData: randomBytes(100).toString('base64') });
    expect([bad.status, bad.json.errorName]).toEqual([400, 'InvalidCiphertextException']);
    key.fill(0);
  });
});
