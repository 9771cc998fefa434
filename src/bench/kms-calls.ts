// The KMS client's calls, run in the bench client process (client.ts): AWS KMS JSON 1.1 requests signed
// with SigV4 over keep-alive HTTP, and the endpoint's cross-check. The signer hashes with node:crypto
// (OpenSSL), not with the WASM core the server verifies with, so the two sides share no crypto code.
import { createHash, createHmac } from 'node:crypto';
import { Agent, request } from 'node:http';
import { ALGORITHM, amzDate } from '../server/sigv4.js';
import { CrossCheckError } from './check.js';

/** Where the endpoint is and how to sign for it; the credential is the bench's own throwaway access key. */
export interface KmsEndpoint {
  host: string;
  port: number;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** The symmetric CMK the requests use. */
  keyId: string;
}

export type KmsOperation = 'GenerateDataKey' | 'Decrypt';

const CONTENT_TYPE = 'application/x-amz-json-1.1';
const sha256 = (s: string | Uint8Array) => createHash('sha256').update(s).digest('hex');

/**
 * The headers of `POST /` with `body` for the KMS operation, signed (SigV4, Authorization header) at
 * time `now`: content-type, host, x-amz-content-sha256, x-amz-date and x-amz-target are signed.
 */
export function signedHeaders(e: Pick<KmsEndpoint, 'host' | 'port' | 'region' | 'accessKeyId' | 'secretAccessKey'>, target: string, body: string, now = Date.now()): Record<string, string> {
  const date = amzDate(now);
  const day = date.slice(0, 8);
  const payload = sha256(body);
  const headers: Record<string, string> = {
    'content-type': CONTENT_TYPE, host: `${e.host}:${e.port}`, 'x-amz-content-sha256': payload, 'x-amz-date': date, 'x-amz-target': target,
  };
  const names = Object.keys(headers).sort();
  const canonical = ['POST', '/', '', names.map((n) => `${n}:${headers[n]}\n`).join(''), names.join(';'), payload].join('\n');
  const scope = `${day}/${e.region}/kms/aws4_request`;
  const toSign = `${ALGORITHM}\n${date}\n${scope}\n${sha256(canonical)}`;
  const kDate = createHmac('sha256', `AWS4${e.secretAccessKey}`).update(day).digest();
  const kRegion = createHmac('sha256', kDate).update(e.region).digest();
  const kService = createHmac('sha256', kRegion).update('kms').digest();
  const kSigning = createHmac('sha256', kService).update('aws4_request').digest();
  const signature = createHmac('sha256', kSigning).update(toSign).digest('hex');
  for (const k of [kDate, kRegion, kService, kSigning]) k.fill(0);
  return { ...headers, authorization: `${ALGORITHM} Credential=${e.accessKeyId}/${scope}, SignedHeaders=${names.join(';')}, Signature=${signature}` };
}

export interface KmsResponse {
  status: number;
  json: Record<string, unknown>;
}

/** One signed request; resolves with the status and the parsed body (a body that is not JSON rejects). */
export function kmsRequest(e: KmsEndpoint, agent: Agent, op: KmsOperation, payload: object): Promise<KmsResponse> {
  const body = JSON.stringify(payload);
  const headers = signedHeaders(e, `TrentService.${op}`, body);
  return new Promise((resolve, reject) => {
    const r = request({ host: e.host, port: e.port, method: 'POST', path: '/', headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        try {
          resolve({ status: res.statusCode ?? 0, json: JSON.parse(text) as Record<string, unknown> });
        } catch {
          reject(new Error(`${op}: HTTP ${res.statusCode} with a body that is not JSON: ${JSON.stringify(text.slice(0, 200))}`));
        }
      });
    });
    r.on('error', reject);
    r.end(body);
  });
}

const failure = (op: string, r: KmsResponse) => `${op}: HTTP ${r.status} ${String(r.json.__type ?? '')}: ${String(r.json.message ?? r.json.Message ?? '')}`;

/** A request that must succeed; a refusal rejects with the status and the AWS error. */
async function ok(e: KmsEndpoint, agent: Agent, op: KmsOperation, payload: object): Promise<Record<string, unknown>> {
  const r = await kmsRequest(e, agent, op, payload);
  if (r.status !== 200) throw new Error(failure(op, r));
  return r.json;
}

const B64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** The base64 field of a response as bytes, or undefined when it is missing or not base64. */
function b64(json: Record<string, unknown>, field: string): Buffer | undefined {
  const v = json[field];
  return typeof v === 'string' && B64.test(v) ? Buffer.from(v, 'base64') : undefined;
}

/**
 * The endpoint's cross-check: GenerateDataKey answers with a 32-byte plaintext, a ciphertext blob and
 * the CMK's ARN, and Decrypt of that blob through the same endpoint gives the same plaintext back (and
 * names the same key). A wrong answer is a CrossCheckError; a refused request an Error with its status.
 */
export async function checkEndpoint(e: KmsEndpoint, agent: Agent): Promise<void> {
  const gen = await ok(e, agent, 'GenerateDataKey', { KeyId: e.keyId, KeySpec: 'AES_256' });
  const plaintext = b64(gen, 'Plaintext');
  const blob = b64(gen, 'CiphertextBlob');
  try {
    const wrongAnswer = (what: string) => new CrossCheckError(`the KMS endpoint ${what}; not timed`);
    if (!plaintext || plaintext.length !== 32) throw wrongAnswer(`answered GenerateDataKey (AES_256) without a 32-byte base64 Plaintext`);
    if (!blob || blob.length === 0) throw wrongAnswer('answered GenerateDataKey without a base64 CiphertextBlob');
    if (typeof gen.KeyId !== 'string' || !gen.KeyId.endsWith(`key/${e.keyId}`)) throw wrongAnswer(`answered GenerateDataKey for another key (${String(gen.KeyId)})`);
    const dec = await ok(e, agent, 'Decrypt', { CiphertextBlob: blob.toString('base64') });
    const back = b64(dec, 'Plaintext');
    const same = back !== undefined && back.equals(plaintext);
    back?.fill(0);
    if (!same) throw wrongAnswer("decrypted GenerateDataKey's ciphertext blob to another plaintext");
    if (dec.KeyId !== gen.KeyId) throw wrongAnswer(`named another key on Decrypt (${String(dec.KeyId)}) than on GenerateDataKey`);
  } finally {
    plaintext?.fill(0);
  }
}

/** A timed call: GenerateDataKey, or Decrypt cycling through the blobs (base64); each must answer 200. */
export function kmsCall(e: KmsEndpoint, agent: Agent, op: KmsOperation, blobs: readonly string[] = []): () => Promise<void> {
  if (op === 'Decrypt' && blobs.length === 0) throw new RangeError('Decrypt needs ciphertext blobs to cycle through');
  let next = 0;
  return async () => {
    const payload = op === 'GenerateDataKey' ? { KeyId: e.keyId, KeySpec: 'AES_256' } : { CiphertextBlob: blobs[next++ % blobs.length] };
    await ok(e, agent, op, payload);
  };
}
