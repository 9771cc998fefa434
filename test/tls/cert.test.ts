// Certificates and CSRs signed where the key lives: by the engine's Sign (RSA and EC CMKs), by an
// in-memory key; each checked by node:crypto's X509Certificate and by `openssl x509/req`, both reading
// what the @peculiar encoder wrote. Unsupported keys, bad subjects and a signer that does not match its
// public key are refused.
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Keyward } from '../../src/kms/keyward.js';
import { CertificateError, certificateRequest, keyObjectCertKey, keywardCertKey, selfSignedCertificate, signatureAlgorithmFor } from '../../src/tls/cert.js';

const dir = mkdtempSync(join(tmpdir(), 'keyward-cert-'));
let kw: Keyward;

beforeAll(async () => {
  kw = await Keyward.open({ dir, maintenanceIntervalMs: 0 });
});
afterAll(async () => {
  await kw.close();
  rmSync(dir, { recursive: true, force: true });
});

function openssl(args: string[], pem: string): string {
  const f = join(dir, `in-${Math.random().toString(36).slice(2)}.pem`);
  writeFileSync(f, pem);
  return execFileSync('openssl', [...args, '-in', f], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

describe('a CMK signs its own certificate and request through Sign', () => {
  for (const [spec, sigAlg, osslAlg] of [
    ['ECC_NIST_P256', 'ECDSA_SHA_256', 'ecdsa-with-SHA256'],
    ['ECC_NIST_P384', 'ECDSA_SHA_384', 'ecdsa-with-SHA384'],
    ['RSA_2048', 'RSASSA_PKCS1_V1_5_SHA_256', 'sha256WithRSAEncryption'],
  ] as const) {
    it(`${spec}: the certificate verifies under GetPublicKey's key and carries the server extensions`, async () => {
      const id = (await kw.createKey({ KeySpec: spec, KeyUsage: 'SIGN_VERIFY' })).KeyMetadata.KeyId;
      const key = await keywardCertKey(kw, id);
      expect(signatureAlgorithmFor(key.spki).name).toBe(sigAlg);
      const pem = await selfSignedCertificate(key, { subject: { commonName: 'api.example.test', altNames: ['api.example.test', '10.0.0.7'] }, days: 30 });
      const x = new X509Certificate(pem);
      expect(x.verify(x.publicKey)).toBe(true);
      expect(x.publicKey.export({ format: 'der', type: 'spki' }).equals(Buffer.from((await kw.getPublicKey({ KeyId: id })).PublicKey))).toBe(true);
      expect(x.subject).toBe('CN=api.example.test');
      expect(x.issuer).toBe(x.subject);
      expect(x.subjectAltName).toBe('DNS:api.example.test, IP Address:10.0.0.7');
      expect(x.ca).toBe(false);
      expect(x.keyUsage).toEqual(['1.3.6.1.5.5.7.3.1']);
      expect(Date.parse(x.validTo) - Date.parse(x.validFrom)).toBe(30 * 86_400_000);
      expect(x.checkHost('api.example.test')).toBe('api.example.test');
      const text = openssl(['x509', '-noout', '-text'], pem);
      expect(text).toContain(`Signature Algorithm: ${osslAlg}`);
      expect(text).toMatch(/X509v3 Basic Constraints: critical\s+CA:FALSE/);
      expect(text).toMatch(/X509v3 Key Usage: critical\s+Digital Signature/);

      const csr = await certificateRequest(key, { commonName: 'api.example.test' });
      const out = openssl(['req', '-verify', '-noout', '-text'], csr);
      expect(out).toContain('Subject: CN = api.example.test');
      expect(out).toMatch(/Requested Extensions:[\s\S]*DNS:api\.example\.test/);
    });
  }

  it('a CMK that cannot sign is refused before any signature', async () => {
    const sym = (await kw.createKey({})).KeyMetadata.Arn;
    await expect(keywardCertKey(kw, sym)).rejects.toThrow(`${sym} is not an asymmetric KMS key.`);
    const enc = (await kw.createKey({ KeySpec: 'RSA_2048', KeyUsage: 'ENCRYPT_DECRYPT' })).KeyMetadata.Arn;
    await expect(keywardCertKey(kw, enc)).rejects.toThrow(new CertificateError(`key ${enc} has key usage ENCRYPT_DECRYPT; a certificate needs a SIGN_VERIFY key`));
  });
});

describe('in-memory keys and refusals', () => {
  it('a P-521 key gets ecdsa-with-SHA512; Ed25519 is refused with the reason', async () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-521' });
    const pem = await selfSignedCertificate(keyObjectCertKey(privateKey), { subject: { commonName: 'localhost' } });
    const x = new X509Certificate(pem);
    expect(x.verify(x.publicKey)).toBe(true);
    expect(openssl(['x509', '-noout', '-text'], pem)).toContain('Signature Algorithm: ecdsa-with-SHA512');
    const ed = generateKeyPairSync('ed25519').privateKey;
    await expect(selfSignedCertificate(keyObjectCertKey(ed), { subject: { commonName: 'x' } })).rejects.toThrow('no certificate signature algorithm for a ed25519 key');
  });

  it('a signer whose signatures do not match its public key, a bad subject, bad days', async () => {
    const a = keyObjectCertKey(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey);
    const b = keyObjectCertKey(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey);
    const mixed = { spki: a.spki, sign: b.sign };
    await expect(selfSignedCertificate(mixed, { subject: { commonName: 'x' } })).rejects.toThrow(new CertificateError('the signature made by the key does not verify under its public key'));
    await expect(selfSignedCertificate(a, { subject: { commonName: '' } })).rejects.toThrow(/common name to be 1 to 64 characters/);
    await expect(selfSignedCertificate(a, { subject: { commonName: 'x', altNames: ['not a name!'] } })).rejects.toThrow("subject alternative name 'not a name!' is neither a DNS name nor an IP address");
    await expect(selfSignedCertificate(a, { subject: { commonName: 'x' }, days: 0 })).rejects.toThrow(/days to be an integer in 1..3650/);
  });
});
