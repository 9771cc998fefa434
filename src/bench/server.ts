// The server suite: SigV4-signed GenerateDataKey and Decrypt requests per second, and their latency as
// the client saw it, through Keyward's AWS-KMS-compatible endpoint (KmsServer) on loopback. Each provider
// gets an engine of its own on a temporary store (engine.ts, cross-checked against node:crypto) behind a
// server with one throwaway access key; the client is a separate process (client.ts) holding one
// keep-alive connection per call in flight. Before timing, the endpoint itself is checked: GenerateDataKey
// answers well-formed and Decrypt of its blob through the same server gives the same plaintext back.
import { randomBytes } from 'node:crypto';
import type { Provider } from '../crypto/provider.js';
import type { Credential } from '../server/credentials.js';
import { KmsServer } from '../server/kms-server.js';
import type { Op, Prepared } from './cases.js';
import { ACCOUNT, BLOBS, dataKeyBlobs, engineOf } from './engine.js';
import type { KmsEndpoint, KmsOperation } from './kms-calls.js';
import type { ClientProcess } from './worker.js';

async function serve(client: ClientProcess, p: Provider, op: string, kmsOp: KmsOperation): Promise<Prepared> {
  const e = await engineOf(p, op);
  // The server's one access key, made for this measurement and zeroed with it.
  const accessKeyId = `AKIA${randomBytes(8).toString('hex').toUpperCase()}`;
  const secretAccessKey = randomBytes(30).toString('base64');
  const c: Credential = { accessKeyId, principal: `arn:aws:iam::${ACCOUNT}:root`, created: new Date(), secret: Buffer.from(secretAccessKey, 'utf8') };
  let server: KmsServer | undefined;
  try {
    server = new KmsServer({
      keyward: e.kw, credentials: { lookup: (id) => (id === accessKeyId ? c : undefined) }, log: () => undefined, serveMetrics: false,
    });
    const { host, port } = await server.listen(0, '127.0.0.1');
    const endpoint: KmsEndpoint = { host, port, region: e.kw.region, accessKeyId, secretAccessKey, keyId: e.keyId };
    await client.checkKms(endpoint);
    const blobs = kmsOp === 'Decrypt' ? (await dataKeyBlobs(e, BLOBS)).map((b) => Buffer.from(b).toString('base64')) : undefined;
    const s = server;
    return {
      measure: (seconds, concurrency) => client.measure({ kind: 'kms', endpoint, op: kmsOp, ...(blobs ? { blobs } : {}) }, seconds, concurrency),
      async release() {
        try {
          await s.close(1000);
        } finally {
          c.secret.fill(0);
          await e.close();
        }
      },
    };
  } catch (err) {
    await server?.close(100).catch(() => undefined);
    c.secret.fill(0);
    await e.close();
    throw err;
  }
}

/** GenerateDataKey (AES_256) and Decrypt of a data key blob through the endpoint. */
export function serverOps(client: () => ClientProcess): Op[] {
  return [
    { op: 'server-generate-data-key', size: 32, prepare: (p) => serve(client(), p, 'server-generate-data-key', 'GenerateDataKey') },
    { op: 'server-decrypt', size: 32, prepare: (p) => serve(client(), p, 'server-decrypt', 'Decrypt') },
  ];
}
