// One HTTP request to a test server on loopback: the whole body, and its JSON when it is JSON ({} when not).
import { request as httpRequest, type Agent } from 'node:http';

export interface LoopbackResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  json: { __type?: string; message?: string } & Record<string, unknown>;
  reusedSocket: boolean;
}

export function requestLoopback(port: number, method: string, path: string, headers: Record<string, string>, body: string | Uint8Array, agent?: Agent): Promise<LoopbackResponse> {
  return new Promise((resolve, reject) => {
    const r = httpRequest({ host: '127.0.0.1', port, method, path, headers, ...(agent ? { agent } : {}) }, (res) => {
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
        resolve({ status: res.statusCode!, headers: res.headers, body: text, json, reusedSocket: r.reusedSocket });
      });
      res.on('error', reject);
    });
    r.on('error', reject);
    r.end(body);
  });
}
