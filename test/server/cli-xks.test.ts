// The XKS proxy as a user runs it (the built CLI): keyward xks create-credentials / create-key, keyward
// serve configured by a --config file and KEYWARD_SERVE_* serving the XKS API beside the KMS API and
// /metrics, and `keyward xks disable` / `enable` acting on the running server at once.
import { writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { describe, expect, it } from 'vitest';
import { keyward, ok, requireBuild, tempDirs } from '../cli/_cli.js';
import { cliSpawner, type Running } from '../cli/_serve.js';
import { NodeSha256 } from './_sha256.js';

requireBuild();
const tmp = tempDirs();
const cli = cliSpawner();

async function serve(args: string[], env: Record<string, string>): Promise<Running & { port: number }> {
  const s = await cli.ready(args, { match: /listening on http:\/\/127\.0\.0\.1:(\d+)/, env });
  return { ...s, port: Number(s.match[1]) };
}

function post(port: number, path: string, headers: Record<string, string>, body: string, method = 'POST'): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const r = httpRequest({ host: '127.0.0.1', port, method, path, headers }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, text }));
    });
    r.on('error', reject);
    r.end(body);
  });
}

describe('keyward xks and keyward serve', () => {
  it('serves XKS under the configured prefix with the printed credentials, and the CLI kill switch acts on the running server', async () => {
    const dir = join(tmp(), 'store');
    ok(keyward(['--dir', dir, 'init']));
    ok(keyward(['--dir', dir, 'create-key', '--alias', 'alias/xks-root']));
    const cred = JSON.parse(ok(keyward(['--dir', dir, 'xks', 'create-credentials', '--path-prefix', '/ks/one'])).out) as {
      XksProxyUriPath: string; XksProxyAuthenticationCredential: { AccessKeyId: string; RawSecretAccessKey: string };
    };
    expect(cred.XksProxyUriPath).toBe('/ks/one/kms/xks/v1');
    expect(cred.XksProxyAuthenticationCredential.AccessKeyId).toMatch(/^[A-Z2-7]{20,30}$/);
    expect(cred.XksProxyAuthenticationCredential.RawSecretAccessKey).toMatch(/^[A-Za-z0-9+/=]{43,64}$/);
    ok(keyward(['--dir', dir, 'xks', 'create-key', '--id', 'ext-1', '--key', 'alias/xks-root']));
    const config = join(dir, '..', 'serve.json');
    writeFileSync(config, JSON.stringify({ port: 0, xksPathPrefix: '/ks/one', quiet: true }));
    const s = await serve(['--dir', dir, 'serve', '--config', config], { KEYWARD_SERVE_DRAIN_TIMEOUT: '2' });
    expect(s.stderr()).toContain(`/ks/one/kms/xks/v1`);

    const signer = new SignatureV4({
      credentials: { accessKeyId: cred.XksProxyAuthenticationCredential.AccessKeyId, secretAccessKey: cred.XksProxyAuthenticationCredential.RawSecretAccessKey },
      region: 'us-east-1', service: 'kms-xks-proxy', sha256: NodeSha256, uriEscapePath: true, applyChecksum: false,
    });
    const encrypt = async () => {
      const path = `${cred.XksProxyUriPath}/keys/ext-1/encrypt`;
      const body = JSON.stringify({
        requestMetadata: { awsPrincipalArn: 'arn:aws:iam::000000000000:user/a', kmsKeyArn: 'arn:aws:kms:us-east-1:000000000000:key/k', kmsOperation: 'Encrypt', kmsRequestId: 'r' },
        plaintext: 'SGVsbG8=', encryptionAlgorithm: 'AES_GCM',
      });
      const req = new HttpRequest({ method: 'POST', protocol: 'http:', hostname: '127.0.0.1', port: s.port, path, headers: { host: `127.0.0.1:${s.port}` }, body });
      const signed = await signer.sign(req);
      return post(s.port, path, signed.headers as Record<string, string>, body);
    };
    expect((await encrypt()).status).toBe(200);
    ok(keyward(['--dir', dir, 'xks', 'disable']));
    const off = await encrypt();
    expect([off.status, JSON.parse(off.text).errorName]).toEqual([400, 'InvalidStateException']);
    ok(keyward(['--dir', dir, 'xks', 'enable']));
    expect((await encrypt()).status).toBe(200);
    const metrics = await post(s.port, '/metrics', {}, '', 'GET');
    expect(metrics.text).toContain('keyward_requests_total{operation="XksEncrypt",status="200"} 2');
    expect(metrics.text).toContain('keyward_request_errors_total{operation="XksEncrypt",error="InvalidStateException"} 1');
  });

  it('refuses to start on a malformed xks-keys.json, and serves without XKS under KEYWARD_SERVE_XKS=0', async () => {
    const dir = join(tmp(), 'store');
    ok(keyward(['--dir', dir, 'init']));
    writeFileSync(join(dir, 'xks-keys.json'), '{"version": 1', { mode: 0o600 });
    const r = keyward(['--dir', dir, 'serve', '--port', '0']);
    expect(r.status).toBe(1);
    expect(r.err).toMatch(/XksKeysError: .*xks-keys\.json is not valid JSON/);
    const s = await serve(['--dir', dir, 'serve', '--port', '0', '--quiet'], { KEYWARD_SERVE_XKS: '0' });
    const res = await post(s.port, '/kms/xks/v1/health', {}, '{}');
    expect([res.status, JSON.parse(res.text).__type]).toEqual([404, 'NotFound']);
  });
});
