// Shared set-up for XKS proxy tests: an engine on a temp directory (optionally over another provider), a
// wrapping CMK, XKS and KMS access keys, an XksProxy mounted on a KmsServer on a loopback port, and
// requests signed the way AWS KMS signs XKS calls: SigV4 by the AWS SDK's signer (@smithy/signature-v4,
// independent of ours), service kms-xks-proxy, SignedHeaders host;x-amz-date.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { expect } from 'vitest';
import type { Provider } from '../../src/crypto/provider.js';
import { Keyward } from '../../src/kms/keyward.js';
import { createCredential, CredentialStore, type NewAccessKey } from '../../src/server/credentials.js';
import { KmsServer, type AccessLogEntry } from '../../src/server/kms-server.js';
import { XksProxy, XKS_SERVICE } from '../../src/server/xks.js';
import { readXksKeys, XKS_CREDENTIALS_FILE, xksBlobContext } from '../../src/server/xks-keys.js';
import { requestLoopback } from './_http.js';
import { NodeSha256 } from './_sha256.js';

export const ACCOUNT = '111122223333';
export const REGION = 'us-east-1';
export const ALICE = `arn:aws:iam::${ACCOUNT}:user/alice`;

export interface XksResponse {
  status: number;
  json: Record<string, unknown>;
  text: string;
}

export interface CallOptions {
  key?: NewAccessKey;
  service?: string;
  date?: Date;
  method?: string;
  unsigned?: boolean;
}

export interface XksHarness {
  dir: string;
  kw: Keyward;
  server: KmsServer;
  proxy: XksProxy;
  port: number;
  log: AccessLogEntry[];
  /** The proxy's access key, and a KMS (not XKS) access key. */
  xksKey: NewAccessKey;
  kmsKey: NewAccessKey;
  /** The ARN of the symmetric CMK made for wrapping external keys. */
  cmk: string;
  /** POSTs `body` to {prefix}/kms/xks/v1{suffix}, signed as AWS KMS signs XKS requests. */
  call(suffix: string, body: unknown, o?: CallOptions): Promise<XksResponse>;
  /** An external key's material, opened through the engine, for node:crypto. */
  material(externalKeyId: string): Promise<Buffer>;
  close(): Promise<void>;
}

export async function startXks(o: { pathPrefix?: string; provider?: Provider; keyCacheMs?: number } = {}): Promise<XksHarness> {
  const prefix = o.pathPrefix ?? '';
  const dir = mkdtempSync(join(tmpdir(), 'keyward-xks-'));
  const kw = await Keyward.open({ dir, account: ACCOUNT, region: REGION, maintenanceIntervalMs: 0, ...(o.provider ? { provider: o.provider } : {}) });
  const cmk = (await kw.createKey({ Description: 'XKS wrapping key' })).KeyMetadata.Arn!;
  const xksKey = await createCredential(dir, `arn:aws:iam::${ACCOUNT}:user/aws-kms-xks`, { file: XKS_CREDENTIALS_FILE, secretBytes: 32 });
  const kmsKey = await createCredential(dir, ALICE);
  const xksCredentials = CredentialStore.open(dir, { file: XKS_CREDENTIALS_FILE });
  const kmsCredentials = CredentialStore.open(dir);
  const proxy = new XksProxy({
    keyward: kw, dir, credentials: xksCredentials, pathPrefix: prefix,
    ...(o.provider ? { provider: o.provider } : {}), ...(o.keyCacheMs !== undefined ? { keyCacheMs: o.keyCacheMs } : {}),
  });
  const log: AccessLogEntry[] = [];
  const server = new KmsServer({ keyward: kw, credentials: kmsCredentials, log: (e) => log.push(e), xks: proxy });
  const port = (await server.listen(0)).port;

  const send = async (method: string, path: string, headers: Record<string, string>, body: string): Promise<XksResponse> => {
    const r = await requestLoopback(port, method, path, headers, body);
    return { status: r.status, json: r.json, text: r.body };
  };

  return {
    dir, kw, server, proxy, port, log, xksKey, kmsKey, cmk,
    async call(suffix, body, c = {}) {
      const path = `${prefix}/kms/xks/v1${suffix}`;
      const text = typeof body === 'string' ? body : JSON.stringify(body);
      const headers: Record<string, string> = { host: `127.0.0.1:${port}`, 'content-type': 'application/json' };
      if (c.unsigned) return send(c.method ?? 'POST', path, headers, text);
      const key = c.key ?? xksKey;
      const service = c.service ?? XKS_SERVICE;
      const signer = new SignatureV4({
        credentials: { accessKeyId: key.AccessKeyId, secretAccessKey: key.SecretAccessKey },
        region: REGION, service, sha256: NodeSha256, uriEscapePath: true, applyChecksum: false,
      });
      const req = new HttpRequest({ method: c.method ?? 'POST', protocol: 'http:', hostname: '127.0.0.1', port, path, headers, body: text });
      const signed = await signer.sign(req, { signingDate: c.date ?? new Date(), unsignableHeaders: new Set(['content-type']) });
      expect(signed.headers.authorization).toContain(`/${REGION}/${service}/aws4_request, SignedHeaders=host;x-amz-date,`);
      return send(c.method ?? 'POST', path, signed.headers as Record<string, string>, text);
    },
    async material(id) {
      const rec = readXksKeys(dir).file.keys.find((k) => k.ExternalKeyId === id)!;
      const r = await kw.decrypt({ CiphertextBlob: Buffer.from(rec.Versions[0]!.Blob, 'base64'), EncryptionContext: xksBlobContext(id, 1) });
      return Buffer.from(r.Plaintext);
    },
    async close() {
      await server.close(1000);
      xksCredentials.close();
      kmsCredentials.close();
      await kw.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
