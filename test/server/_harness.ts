// Shared set-up for server tests: an engine on a temp directory, access keys made by createCredential,
// a KmsServer on an ephemeral loopback port with its access log captured, SDK clients per principal, and
// raw requests signed by the AWS SDK's own SigV4 signer (@smithy/signature-v4, independent of ours).
import { mkdtempSync, rmSync } from 'node:fs';
import type { Agent } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KMSClient } from '@aws-sdk/client-kms';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { afterEach } from 'vitest';
import { Keyward } from '../../src/kms/keyward.js';
import { createCredential, CredentialStore, type NewAccessKey } from '../../src/server/credentials.js';
import { KmsServer, type AccessLogEntry, type KmsServerOptions } from '../../src/server/kms-server.js';
import { requestLoopback, type LoopbackResponse } from './_http.js';
import { NodeSha256 } from './_sha256.js';

export const ACCOUNT = '111122223333';
export const REGION = 'us-east-1';
export const ALICE = `arn:aws:iam::${ACCOUNT}:user/alice`;
export const BOB = `arn:aws:iam::${ACCOUNT}:user/bob`;
export const MALLORY = 'arn:aws:iam::999988887777:user/mallory';

export type RawResponse = LoopbackResponse;

export interface Harness {
  kw: Keyward;
  dir: string;
  server: KmsServer;
  url: string;
  port: number;
  log: AccessLogEntry[];
  keys: Record<string, NewAccessKey>;
  credentials: CredentialStore;
  /** An SDK client signing with `key` (default alice's). */
  client(key?: NewAccessKey, extra?: Record<string, unknown>): KMSClient;
  /** The headers and path of a request signed by the SDK signer, at `date`, as `key`. */
  sign(opts: SignOptions): Promise<{ path: string; headers: Record<string, string> }>;
  /** Sends a request and collects the response. */
  send(method: string, path: string, headers: Record<string, string>, body: string | Uint8Array, agent?: Agent): Promise<RawResponse>;
  /** Signs (unless `unsigned`) and sends a KMS request. */
  call(target: string, body: string | Uint8Array, opts?: Partial<SignOptions> & { unsigned?: boolean; agent?: Agent }): Promise<RawResponse>;
  /** The number of audit records. */
  auditCount(): Promise<number>;
}

export interface SignOptions {
  /** X-Amz-Target; '' sends none. */
  target: string;
  body: string | Uint8Array;
  key?: NewAccessKey;
  date?: Date;
  /** Presign with this X-Amz-Expires instead of an Authorization header. */
  presignExpires?: number;
  region?: string;
  service?: string;
  extraHeaders?: Record<string, string>;
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

export async function startServer(opts: Partial<KmsServerOptions> = {}): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), 'keyward-server-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const kw = await Keyward.open({ dir, account: ACCOUNT, region: REGION, maintenanceIntervalMs: 0 });
  cleanups.push(() => kw.close());
  const keys = {
    alice: await createCredential(dir, ALICE),
    bob: await createCredential(dir, BOB),
    mallory: await createCredential(dir, MALLORY),
  };
  const credentials = CredentialStore.open(dir);
  cleanups.push(() => credentials.close());
  const log: AccessLogEntry[] = [];
  const server = new KmsServer({ keyward: kw, credentials, log: (e) => log.push(e), ...opts });
  const { url, port } = await server.listen(0, '127.0.0.1');
  cleanups.push(() => server.close(1000));
  const clients: KMSClient[] = [];
  cleanups.push(() => clients.forEach((c) => c.destroy()));

  const h: Harness = {
    kw, dir, server, url, port, log, keys, credentials,
    client(key = keys.alice, extra = {}) {
      const c = new KMSClient({
        endpoint: url, region: REGION, maxAttempts: 1,
        credentials: { accessKeyId: key.AccessKeyId, secretAccessKey: key.SecretAccessKey }, ...extra,
      });
      clients.push(c);
      return c;
    },
    async sign(o) {
      const key = o.key ?? keys.alice;
      const signer = new SignatureV4({
        credentials: { accessKeyId: key.AccessKeyId, secretAccessKey: key.SecretAccessKey },
        region: o.region ?? REGION, service: o.service ?? 'kms', sha256: NodeSha256, uriEscapePath: true,
      });
      const req = new HttpRequest({
        method: 'POST', protocol: 'http:', hostname: '127.0.0.1', port, path: '/',
        headers: {
          host: `127.0.0.1:${port}`, 'content-type': 'application/x-amz-json-1.1', ...(o.target !== '' ? { 'x-amz-target': o.target } : {}), ...o.extraHeaders,
        },
        body: o.body,
      });
      const date = o.date ?? new Date();
      const signed = o.presignExpires !== undefined
        ? await signer.presign(req, { signingDate: date, expiresIn: o.presignExpires })
        : await signer.sign(req, { signingDate: date });
      const q = Object.entries(signed.query ?? {}).map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`).join('&');
      return { path: q ? `/?${q}` : '/', headers: signed.headers as Record<string, string> };
    },
    send: (method, path, headers, body, agent) => requestLoopback(port, method, path, headers, body, agent),
    async call(target, body, o = {}) {
      if (o.unsigned) {
        return h.send('POST', '/', { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': target, ...o.extraHeaders }, body, o.agent);
      }
      const { path, headers } = await h.sign({ target, body, ...o });
      return h.send('POST', path, headers, body, o.agent);
    },
    async auditCount() {
      return (await kw.auditTail(1_000_000)).length;
    },
  };
  return h;
}
