// HTTPS: the server with its own certificate (made here by the openssl command), reached by the AWS SDK
// trusting that certificate; its graceful stop over TLS; and `keyward serve --cert --key` on a non-loopback
// address.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { once } from 'node:events';
import { Agent, request as httpsRequest } from 'node:https';
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { join } from 'node:path';
import { CreateKeyCommand, KMSClient, ListKeysCommand } from '@aws-sdk/client-kms';
import { describe, expect, it } from 'vitest';
import { keyward, ok, requireBuild, tempDirs } from '../cli/_cli.js';
import { cliSpawner } from '../cli/_serve.js';
import { startServer } from './_harness.js';

requireBuild();
const tmp = tempDirs();
const cli = cliSpawner();

/** A self-signed P-256 certificate for 127.0.0.1. */
function certificate(): { cert: string; key: string; certFile: string; keyFile: string } {
  const d = tmp();
  const certFile = join(d, 'cert.pem');
  const keyFile = join(d, 'key.pem');
  const r = spawnSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', keyFile, '-out', certFile,
    '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
  ]);
  if (r.status !== 0) throw new Error(`openssl failed: ${r.stderr.toString()}`);
  return { cert: readFileSync(certFile, 'utf8'), key: readFileSync(keyFile, 'utf8'), certFile, keyFile };
}

describe('HTTPS', () => {
  it('the SDK reaches the server over TLS; plain HTTP to the TLS port gets no KMS answer', async () => {
    const tls = certificate();
    const h = await startServer({ tls: { cert: tls.cert, key: tls.key } });
    expect(h.url).toBe(`https://127.0.0.1:${h.port}`);
    const kms = h.client(h.keys.alice, { requestHandler: { httpsAgent: new Agent({ ca: tls.cert }) } });
    expect((await kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId).toMatch(/^[0-9a-f-]{36}$/);
    // An SDK that does not trust the certificate does not connect.
    const untrusting = h.client(h.keys.alice);
    await expect(untrusting.send(new ListKeysCommand({}))).rejects.toThrow(/self-signed|certificate/i);
    const plain = await h.send('GET', '/healthz', {}, '').then((r) => r.status, (e: Error) => e.message);
    expect(plain).not.toBe(200);
  });

  it('a graceful stop answers the HTTPS request in flight and ends at once TLS connections that have begun no request', async () => {
    const tls = certificate();
    const h = await startServer({ tls: { cert: tls.cert, key: tls.key } });
    const closedAfter = (socket: Socket) => {
      let received = 0;
      socket.on('data', (c: Buffer) => (received += c.length));
      socket.on('error', () => undefined);
      return new Promise<number>((resolve) => socket.on('close', () => resolve(received)));
    };
    // One connection with its TLS handshake done, one that never sent a ClientHello.
    const handshaken = tlsConnect({ host: '127.0.0.1', port: h.port, ca: tls.cert });
    const handshakenClosed = closedAfter(handshaken);
    await once(handshaken, 'secureConnect');
    const bare = netConnect(h.port, '127.0.0.1');
    const bareClosed = closedAfter(bare);
    await once(bare, 'connect');
    const body = JSON.stringify({ Description: 'in flight over TLS' });
    const s = await h.sign({ target: 'TrentService.CreateKey', body });
    const r = httpsRequest({ host: '127.0.0.1', port: h.port, method: 'POST', path: s.path, headers: s.headers, ca: tls.cert, agent: false });
    const answer = new Promise<{ status: number; text: string }>((resolve, reject) => {
      r.on('response', (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode!, text }));
      });
      r.on('error', reject);
    });
    r.write(body.slice(0, 5));
    while (h.server.inFlight === 0) await new Promise((w) => setTimeout(w, 5));
    const started = Date.now();
    const closing = h.server.close(10_000);
    // Bounded: before the fix the bare one stayed open past the drain timeout, until TLS's own 120 s handshake timeout.
    const late = new Promise<string>((resolve) => setTimeout(() => resolve('still open after 5 s'), 5_000).unref());
    expect(await Promise.race([Promise.all([handshakenClosed, bareClosed]), late])).toEqual([0, 0]);
    r.end(body.slice(5));
    expect(await answer).toMatchObject({ status: 200, text: expect.stringContaining('in flight over TLS') });
    await closing;
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('keyward serve --cert --key serves HTTPS on a non-loopback address', async () => {
    const tls = certificate();
    const dir = `${tmp()}/s`;
    ok(keyward(['--dir', dir, 'init']));
    const key = JSON.parse(ok(keyward(['--dir', dir, 'credentials', 'create', '--principal', 'alice'])).out) as Record<string, string>;
    const s = await cli.ready(['--dir', dir, 'serve', '--host', '0.0.0.0', '--port', '0', '--cert', tls.certFile, '--key', tls.keyFile, '--quiet'], {
      match: /listening on https:\/\/0\.0\.0\.0:(\d+)/, stdout: 'pipe',
    });
    const kms = new KMSClient({
      endpoint: `https://127.0.0.1:${s.match[1]}`, region: 'us-east-1', requestHandler: { httpsAgent: new Agent({ ca: tls.cert }) },
      credentials: { accessKeyId: key.AccessKeyId!, secretAccessKey: key.SecretAccessKey! },
    });
    expect((await kms.send(new ListKeysCommand({}))).Keys).toEqual([]);
    kms.destroy();
    s.child.kill('SIGINT');
    expect((await s.exited).code).toBe(0);
    expect(s.stdout()).toBe(''); // --quiet: no access log
    expect(s.stderr()).toMatch(/SIGINT: stopping/);
  });
});
