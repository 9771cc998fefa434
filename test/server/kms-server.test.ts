// The endpoint at the HTTP level: SigV4 refusals before the engine is touched (the audit log does not
// grow), protocol errors as clean 4xx with the server still serving, size limits on a kept-alive
// connection, timeouts, /healthz, the access log, and a graceful shutdown that finishes a request in flight.
import { request as httpRequest, Agent } from 'node:http';
import { connect } from 'node:net';
import { CreateKeyCommand, ListKeysCommand } from '@aws-sdk/client-kms';
import { describe, expect, it, vi } from 'vitest';
import { ALICE, startServer } from './_harness.js';

const CREATE = 'TrentService.CreateKey';
const MINUTE = 60_000;

describe('SigV4 at the endpoint: refused with the AWS name, the engine never called', () => {
  it('wrong secret, unknown key, ±6 minutes, changed body or header, wrong region, missing signature, expired presigned URL', async () => {
    const h = await startServer();
    await h.call(CREATE, '{}'); // one record, so "unchanged" is measured against a non-empty log
    const audit = await h.auditCount();
    const alice = h.keys.alice;
    const cases: { what: string; status: number; type: string; message?: RegExp; run: () => Promise<{ status: number; json: { __type?: string; message?: string } }> }[] = [
      { what: 'wrong secret', status: 400, type: 'InvalidSignatureException', message: /does not match/, run: () => h.call(CREATE, '{}', { key: { ...alice, SecretAccessKey: 'x'.repeat(40) } }) },
      { what: 'unknown access key', status: 400, type: 'UnrecognizedClientException', message: /security token/, run: () => h.call(CREATE, '{}', { key: { ...alice, AccessKeyId: 'AKIAUNKNOWNUNKNOWN00' } }) },
      { what: 'date 6 minutes ago', status: 400, type: 'InvalidSignatureException', message: /^Signature expired: .* - 5 min\.\)$/, run: () => h.call(CREATE, '{}', { date: new Date(Date.now() - 6 * MINUTE) }) },
      { what: 'date 6 minutes ahead', status: 400, type: 'InvalidSignatureException', message: /^Signature not yet current/, run: () => h.call(CREATE, '{}', { date: new Date(Date.now() + 6 * MINUTE) }) },
      { what: 'wrong region', status: 400, type: 'InvalidSignatureException', message: /valid region, not 'eu-west-1'/, run: () => h.call(CREATE, '{}', { region: 'eu-west-1' }) },
      { what: 'wrong service', status: 400, type: 'InvalidSignatureException', message: /correct service: 'kms'/, run: () => h.call(CREATE, '{}', { service: 'dynamodb' }) },
      { what: 'missing Authorization', status: 403, type: 'MissingAuthenticationTokenException', run: () => h.call(CREATE, '{}', { unsigned: true }) },
      {
        what: 'body changed after signing', status: 400, type: 'InvalidSignatureException', message: /does not match/,
        run: async () => {
          const s = await h.sign({ target: CREATE, body: '{}' });
          return h.send('POST', s.path, s.headers, '{"Description":"changed"}');
        },
      },
      {
        what: 'target header changed after signing', status: 400, type: 'InvalidSignatureException', message: /does not match/,
        run: async () => {
          const s = await h.sign({ target: 'TrentService.ListKeys', body: '{}' });
          return h.send('POST', s.path, { ...s.headers, 'x-amz-target': CREATE }, '{}');
        },
      },
      {
        what: 'an x-amz header added after signing', status: 400, type: 'InvalidSignatureException', message: /not signed: x-amz-extra/,
        run: async () => {
          const s = await h.sign({ target: CREATE, body: '{}' });
          return h.send('POST', s.path, { ...s.headers, 'x-amz-extra': '1' }, '{}');
        },
      },
      {
        what: 'expired presigned URL', status: 400, type: 'InvalidSignatureException', message: /^Signature expired: .* - 60 sec\.\)$/,
        run: () => h.call(CREATE, '{}', { presignExpires: 60, date: new Date(Date.now() - 2 * MINUTE) }),
      },
    ];
    for (const c of cases) {
      const r = await c.run();
      expect([c.what, r.status, r.json.__type]).toEqual([c.what, c.status, c.type]);
      if (c.message) expect(r.json.message, c.what).toMatch(c.message);
    }
    expect(await h.auditCount()).toBe(audit);
    expect(h.log.filter((e) => e.error !== undefined).map((e) => e.principal)).toEqual(cases.map(() => undefined));

    // The same refusals reach the SDK as exceptions with the AWS names.
    const wrong = await h.client({ ...alice, SecretAccessKey: 'y'.repeat(40) }).send(new ListKeysCommand({})).catch((e: Error) => e);
    expect([wrong.name, (wrong as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode]).toEqual(['InvalidSignatureException', 400]);
    const unknown = await h.client({ ...alice, AccessKeyId: 'AKIAUNKNOWNUNKNOWN00' }).send(new ListKeysCommand({})).catch((e: Error) => e);
    expect(unknown.name).toBe('UnrecognizedClientException');
    expect(await h.auditCount()).toBe(audit);

    // A valid presigned URL works, as the signing principal.
    const ok = await h.call(CREATE, '{"Description":"presigned"}', { presignExpires: 60 });
    expect(ok.status).toBe(200);
    expect(ok.json.KeyMetadata).toMatchObject({ Description: 'presigned' });
    expect((await h.kw.auditTail(1))[0]!.principal).toBe(ALICE);
    expect(h.log.at(-1)).toMatchObject({ operation: 'CreateKey', principal: ALICE, status: 200 });
  });

  it('an SDK whose clock is 6 minutes off is told so, corrects its clock from the Date header and succeeds', async () => {
    const h = await startServer();
    const kms = h.client(h.keys.alice, { systemClockOffset: -6 * MINUTE, maxAttempts: 2 });
    expect((await kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId).toMatch(/^[0-9a-f-]{36}$/);
    expect(h.log.map((e) => e.error)).toEqual(['InvalidSignatureException', undefined]);
  });
});

describe('protocol errors: clean 4xx, and the server keeps serving', () => {
  it('malformed JSON, non-object bodies, wrong member types, bad base64, unknown or missing targets', async () => {
    const h = await startServer();
    const audit = await h.auditCount();
    const cases: [string, string, string, RegExp][] = [
      [CREATE, '{"Description":', 'SerializationException', /not valid JSON/],
      [CREATE, '[1,2]', 'SerializationException', /must be a JSON object, got array/],
      [CREATE, '"x"', 'SerializationException', /got string/],
      ['TrentService.Encrypt', '{"KeyId":"alias/a","Plaintext":123}', 'SerializationException', /Plaintext: expected a base64 string, got number/],
      ['TrentService.Encrypt', '{"KeyId":"alias/a","Plaintext":"not base64!"}', 'SerializationException', /Plaintext: not valid base64/],
      ['TrentService.ImportKeyMaterial', '{"KeyId":"k","ValidTo":"tomorrow"}', 'SerializationException', /ValidTo: expected a timestamp/],
      ['TrentService.NoSuchOperation', '{}', 'UnknownOperationException', /unknown operation "TrentService.NoSuchOperation"/],
      ['OtherService.ListKeys', '{}', 'UnknownOperationException', /unknown operation/],
      ['TrentService.constructor', '{}', 'UnknownOperationException', /unknown operation/],
    ];
    for (const [target, body, type, message] of cases) {
      const r = await h.call(target, body);
      expect([target, body, r.status, r.json.__type]).toEqual([target, body, 400, type]);
      expect(r.json.message).toMatch(message);
      expect(r.headers['content-type']).toBe('application/x-amz-json-1.1');
    }
    const none = await h.call('', '{}');
    expect([none.status, none.json.__type, none.json.message]).toEqual([400, 'UnknownOperationException', 'the X-Amz-Target header is missing; expected TrentService.<Operation>']);
    expect(await h.auditCount()).toBe(audit);

    // A wrong type the engine sees is its ValidationException (audited like every engine call).
    const v = await h.call('TrentService.DescribeKey', '{"KeyId":42}');
    expect([v.status, v.json.__type]).toEqual([400, 'ValidationException']);

    expect((await h.call('TrentService.ListKeys', '{}')).status).toBe(200);
    expect((await h.call('TrentService.ListKeys', '')).status).toBe(200);
  });

  it('other paths and methods, and /healthz without authentication', async () => {
    const h = await startServer();
    expect(await h.send('GET', '/healthz', {}, '')).toMatchObject({ status: 200, json: { status: 'ok' } });
    expect((await h.send('POST', '/healthz', {}, '')).status).toBe(405);
    expect(await h.send('GET', '/', {}, '')).toMatchObject({ status: 405, json: { __type: 'MethodNotAllowed' } });
    expect(await h.send('POST', '/other', {}, '{}')).toMatchObject({ status: 404, json: { __type: 'NotFound' } });
    expect(h.log.map((e) => [e.method, e.path, e.status])).toEqual([
      ['GET', '/healthz', 200], ['POST', '/healthz', 405], ['GET', '/', 405], ['POST', '/other', 404],
    ]);
  });

  it('an oversized body is 413 whether declared or chunked, and the same connection then serves a request', async () => {
    const h = await startServer({ maxBodyBytes: 4096 });
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const big = JSON.stringify({ Description: 'x'.repeat(5000) });
      const declared = await h.call(CREATE, big, { agent });
      expect([declared.status, declared.json.__type]).toEqual([413, 'RequestEntityTooLargeException']);
      const ok1 = await h.call('TrentService.ListKeys', '{}', { agent });
      expect([ok1.status, ok1.reusedSocket]).toEqual([200, true]);

      // Chunked: no Content-Length, the limit is found while reading.
      const s = await h.sign({ target: CREATE, body: big });
      const chunked = await new Promise<{ status: number; type: string }>((resolve, reject) => {
        const { 'content-length': _cl, ...headers } = Object.fromEntries(Object.entries(s.headers).map(([k, v]) => [k.toLowerCase(), v]));
        const r = httpRequest({ host: '127.0.0.1', port: h.port, method: 'POST', path: '/', headers: { ...headers, 'transfer-encoding': 'chunked' }, agent }, (res) => {
          let t = '';
          res.on('data', (c: Buffer) => (t += c.toString()));
          res.on('end', () => resolve({ status: res.statusCode!, type: JSON.parse(t).__type }));
        });
        r.on('error', reject);
        for (let i = 0; i < big.length; i += 1000) r.write(big.slice(i, i + 1000));
        r.end();
      });
      expect(chunked).toEqual({ status: 413, type: 'RequestEntityTooLargeException' });
      const ok2 = await h.call('TrentService.ListKeys', '{}', { agent });
      expect([ok2.status, ok2.reusedSocket]).toEqual([200, true]);
      expect(await h.auditCount()).toBe(2);
    } finally {
      agent.destroy();
    }
  });

  it('a request that does not arrive in time gets 408 and its connection is closed', async () => {
    const h = await startServer({ requestTimeoutMs: 400, headersTimeoutMs: 400 });
    const reply = await new Promise<string>((resolve, reject) => {
      const sock = connect(h.port, '127.0.0.1', () => sock.write('POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{'));
      let got = '';
      sock.on('data', (c) => (got += c.toString()));
      sock.on('close', () => resolve(got));
      sock.on('error', reject);
    });
    expect(reply).toMatch(/^HTTP\/1\.1 408 /);
    expect((await h.call('TrentService.ListKeys', '{}')).status).toBe(200);
  });
});

describe('access log', () => {
  it('one JSON entry per request with who, what, status and latency; never a body, plaintext or secret', async () => {
    const h = await startServer();
    const kms = h.client();
    const keyId = (await kms.send(new CreateKeyCommand({ Description: 'logged' }))).KeyMetadata!.KeyId!;
    const secretText = 'the plaintext must not be logged';
    const enc = await h.call('TrentService.Encrypt', JSON.stringify({ KeyId: keyId, Plaintext: Buffer.from(secretText).toString('base64') }));
    expect(enc.status).toBe(200);
    await h.call(CREATE, '{}', { key: { ...h.keys.alice, SecretAccessKey: 'z'.repeat(40) } });
    expect(h.log).toHaveLength(3);
    for (const e of h.log) {
      expect(Object.keys(e).sort()).toEqual(
        expect.arrayContaining(['time', 'requestId', 'remote', 'method', 'path', 'status', 'latencyMs']),
      );
      expect(e.requestId).toMatch(/^[0-9a-f-]{36}$/);
      expect(e.latencyMs).toBeGreaterThanOrEqual(0);
    }
    expect(h.log.map((e) => [e.operation, e.principal, e.status, e.error])).toEqual([
      ['CreateKey', ALICE, 200, undefined], ['Encrypt', ALICE, 200, undefined], ['CreateKey', undefined, 400, 'InvalidSignatureException'],
    ]);
    expect(h.log[0]!.accessKeyId).toBe(h.keys.alice.AccessKeyId);
    const all = JSON.stringify(h.log);
    for (const secret of [h.keys.alice.SecretAccessKey, Buffer.from(secretText).toString('base64'), secretText, 'logged', String(enc.json.CiphertextBlob)]) {
      expect(all).not.toContain(secret);
    }
    expect(enc.headers['x-amzn-requestid']).toBe(h.log[1]!.requestId);
  });
});

describe('graceful shutdown', () => {
  it('finishes a request in flight (answered with Connection: close), refuses new connections, then resolves', async () => {
    const h = await startServer();
    const body = JSON.stringify({ Description: 'in flight' });
    const s = await h.sign({ target: CREATE, body });
    let closed = false;
    const response = new Promise<{ status: number; connection: string | undefined; json: { KeyMetadata?: { Description?: string } } }>((resolve, reject) => {
      const r = httpRequest({ host: '127.0.0.1', port: h.port, method: 'POST', path: s.path, headers: s.headers }, (res) => {
        let t = '';
        res.on('data', (c: Buffer) => (t += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode!, connection: res.headers.connection, json: JSON.parse(t) }));
      });
      r.on('error', reject);
      r.write(body.slice(0, 5));
      void (async () => {
        while (h.server.inFlight === 0) await new Promise((w) => setTimeout(w, 5));
        const closing = h.server.close(10_000).then(() => (closed = true));
        await new Promise((w) => setTimeout(w, 100));
        expect(closed).toBe(false);
        // New connections are refused while the request in flight is still arriving.
        await expect(h.send('GET', '/healthz', {}, '')).rejects.toThrow(/ECONNREFUSED/);
        r.end(body.slice(5));
        await closing;
      })().catch(reject);
    });
    const res = await response;
    expect(res).toMatchObject({ status: 200, connection: 'close', json: { KeyMetadata: { Description: 'in flight' } } });
    // Soon after the answer, and well before the 10 s drain bound.
    await vi.waitFor(() => expect(closed).toBe(true), { timeout: 2000, interval: 10 });
    expect((await h.kw.auditTail(1))[0]!.operation).toBe('CreateKey');
  });

  it('ends at once connections that have begun no request (one opened ahead, one still sending its head): they held close() for the whole drain timeout', async () => {
    const h = await startServer();
    // Resolves once connected, with the bytes the connection will have received when it closes.
    const unanswered = (head?: string) => new Promise<{ closed: Promise<number> }>((resolve) => {
      let received = 0;
      const sock = connect(h.port, '127.0.0.1', () => {
        if (head !== undefined) sock.write(head);
        resolve({ closed });
      });
      const closed = new Promise<number>((done) => sock.on('close', () => done(received)));
      sock.on('data', (c: Buffer) => (received += c.length));
      sock.on('error', () => undefined);
    });
    const ahead = (await unanswered()).closed;
    const slow = (await unanswered('POST / HTTP/1.1\r\nHost: 127.0.0.1\r\n')).closed;
    // Answered after both connected: the server has taken them.
    expect((await h.send('GET', '/healthz', {}, '')).status).toBe(200);
    const started = Date.now();
    await h.server.close(10_000);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect([await ahead, await slow]).toEqual([0, 0]);
  });

  it('after the drain timeout, a request still arriving is cut off and close() resolves', async () => {
    const h = await startServer();
    const s = await h.sign({ target: CREATE, body: '{"Description":"never finished"}' });
    const cut = new Promise<string>((resolve) => {
      const r = httpRequest({ host: '127.0.0.1', port: h.port, method: 'POST', path: s.path, headers: s.headers }, () => resolve('answered'));
      r.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
      r.write('{"Desc');
    });
    while (h.server.inFlight === 0) await new Promise((w) => setTimeout(w, 5));
    const started = Date.now();
    await h.server.close(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(150);
    expect(h.server.inFlight).toBe(0);
    expect(await cut).toBe('ECONNRESET');
    expect(h.log.at(-1)).toMatchObject({ operation: 'CreateKey', error: 'RequestAbortedException' });
  });
});
