// `keyward credentials create` and `keyward serve` as a user runs them (the built CLI): the printed key
// works through the AWS SDK, keys made while serving work at once, the access log is JSON lines on
// stdout, and SIGTERM during a request lets it finish before the process exits 0 with the store intact.
import { existsSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { CreateKeyCommand, DecryptCommand, EncryptCommand, KMSClient, ListKeysCommand } from '@aws-sdk/client-kms';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { describe, expect, it } from 'vitest';
import { keyward, ok, requireBuild, tempDirs } from '../cli/_cli.js';
import { cliSpawner, storeLocked, type Running } from '../cli/_serve.js';
import { NodeSha256 } from './_sha256.js';

requireBuild();
const tmp = tempDirs();
const cli = cliSpawner();

async function serve(dir: string): Promise<Running & { url: string; port: number }> {
  const s = await cli.ready(['--dir', dir, 'serve', '--port', '0'], { match: /listening on (http:\/\/127\.0\.0\.1:(\d+))/, stdout: 'pipe' });
  return { ...s, url: s.match[1]!, port: Number(s.match[2]) };
}

describe('the package', () => {
  it("exports the server as 'keyward/server'", async () => {
    const m = await import('keyward/server');
    expect(typeof m.KmsServer).toBe('function');
    expect(typeof m.CredentialStore.open).toBe('function');
    expect(typeof m.createCredential).toBe('function');
    expect(Object.keys(m.OPERATIONS)).toHaveLength(44);
  });
});

describe('keyward credentials and keyward serve', () => {
  it('usage: credentials needs a subcommand, a bad principal is refused, plain HTTP off loopback is refused, serve --help documents', () => {
    const dir = `${tmp()}/s`;
    ok(keyward(['--dir', dir, 'init']));
    expect(keyward(['--dir', dir, 'credentials']).status).toBe(64);
    const bad = keyward(['--dir', dir, 'credentials', 'create', '--principal', 'not a name']);
    expect([bad.status, bad.err]).toEqual([1, expect.stringMatching(/^keyward credentials create: ValidationException: principal "not a name"/)]);
    expect(keyward(['--dir', `${tmp()}/none`, 'credentials', 'create', '--principal', 'alice']).err).toMatch(/NotFoundException: no Keyward store/);
    const open = keyward(['--dir', dir, 'serve', '--host', '0.0.0.0']);
    expect([open.status, open.err]).toEqual([64, expect.stringMatching(/refusing to serve plain HTTP on 0\.0\.0\.0/)]);
    expect(keyward(['--dir', dir, 'serve', '--cert', 'c.pem']).err).toMatch(/--cert and --key go together/);
    const help = ok(keyward(['serve', '--help']));
    expect(help.out).toMatch(/Signature Version 4/);
    expect(help.out).toMatch(/\/healthz/);
    expect(help.out).toMatch(/--drain-timeout/);
  });

  it('a SIGTERM during start-up stops it gracefully: exit 0 (not killed by the signal), the store closed and unlocked', async () => {
    const dir = `${tmp()}/s`;
    ok(keyward(['--dir', dir, 'init']));
    // serve takes the store's lock file as it opens the store: after its signal handlers are installed (else
    // this test would only measure luck) and before it listens, so SIGTERM is sent while it is starting up.
    // Before the fix the process died of the signal here, leaving the lock file behind.
    const locked = storeLocked(dir);
    const s = cli.spawn(['--dir', dir, 'serve', '--port', '0']);
    await locked;
    s.child.kill('SIGTERM');
    expect(s.stderr(), 'SIGTERM sent before serve printed anything').toBe('');
    const exit = await s.exited;
    expect([exit.code, exit.signal], s.stderr()).toEqual([0, null]);
    expect(s.stderr()).toMatch(/keyward serve: SIGTERM: stopping, 0 request\(s\) in flight\nkeyward serve: stopped\n$/);
    expect(existsSync(join(dir, 'keyward.lock'))).toBe(false);
    // The store is intact and free: the next serve on it starts and stops as usual.
    const next = await cli.ready(['--dir', dir, 'serve', '--port', '0', '--quiet'], { match: /listening on http:/ });
    next.child.kill('SIGTERM');
    expect((await next.exited).code, next.stderr()).toBe(0);
    expect(ok(keyward(['--dir', dir, 'audit', 'verify'])).out).toMatch(/^audit log intact: /);
  });

  it('serves the SDK with a key from credentials create, picks up keys made while serving, logs JSON lines, stops gracefully on SIGTERM', async () => {
    const dir = `${tmp()}/s`;
    ok(keyward(['--dir', dir, 'init']));
    const alice = JSON.parse(ok(keyward(['--dir', dir, 'credentials', 'create', '--principal', 'alice'])).out) as Record<string, string>;
    expect(alice).toEqual({ AccessKeyId: expect.stringMatching(/^AKIA/), SecretAccessKey: expect.any(String), Principal: 'arn:aws:iam::000000000000:user/alice' });
    const s = await serve(dir);
    expect(s.stderr()).toMatch(/region us-east-1, account 000000000000/);
    const kms = new KMSClient({ endpoint: s.url, region: 'us-east-1', credentials: { accessKeyId: alice.AccessKeyId!, secretAccessKey: alice.SecretAccessKey! } });
    try {
      const keyId = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
      const enc = await kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('over the wire') }));
      expect(Buffer.from((await kms.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob }))).Plaintext!).toString()).toBe('over the wire');

      // A key made while the server runs (the CLI does not need the store lock) works at once.
      const ops = JSON.parse(ok(keyward(['--dir', dir, 'credentials', 'create', '--principal', 'arn:aws:iam::000000000000:role/ops'])).out) as Record<string, string>;
      const opsKms = new KMSClient({ endpoint: s.url, region: 'us-east-1', credentials: { accessKeyId: ops.AccessKeyId!, secretAccessKey: ops.SecretAccessKey! } });
      expect((await opsKms.send(new ListKeysCommand({}))).Keys).toHaveLength(1);
      opsKms.destroy();
      expect(ok(keyward(['--dir', dir, 'credentials', 'list'])).out.trim().split('\n')).toEqual([
        expect.stringMatching(new RegExp(`^${alice.AccessKeyId}  arn:aws:iam::000000000000:user/alice  `)),
        expect.stringMatching(new RegExp(`^${ops.AccessKeyId}  arn:aws:iam::000000000000:role/ops  `)),
      ]);

      // A request in flight when SIGTERM arrives is answered, then the process exits 0.
      const signer = new SignatureV4({
        credentials: { accessKeyId: alice.AccessKeyId!, secretAccessKey: alice.SecretAccessKey! }, region: 'us-east-1', service: 'kms', sha256: NodeSha256,
      });
      const body = '{"Description":"finished during shutdown"}';
      const signed = await signer.sign(new HttpRequest({
        method: 'POST', protocol: 'http:', hostname: '127.0.0.1', port: s.port, path: '/',
        headers: { host: `127.0.0.1:${s.port}`, 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'TrentService.CreateKey' }, body,
      }));
      const answered = new Promise<number>((resolve, reject) => {
        const r = httpRequest({ host: '127.0.0.1', port: s.port, method: 'POST', path: '/', headers: signed.headers }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode!));
        });
        r.on('error', reject);
        r.write(body.slice(0, 3));
        void (async () => {
          while (!s.stdout().includes('"operation":"ListKeys"')) await new Promise((w) => setTimeout(w, 10));
          // A /healthz on another connection answered after those bytes were written: the server has read
          // the request's headers (a fixed sleep here lost the race on a loaded machine, and SIGTERM found 0 in flight).
          await new Promise<void>((done, fail) => {
            const h = httpRequest({ host: '127.0.0.1', port: s.port, path: '/healthz', agent: false }, (res) => res.resume().on('end', done));
            h.on('error', fail);
            h.end();
          });
          s.child.kill('SIGTERM');
          while (!/SIGTERM: stopping, 1 request\(s\) in flight/.test(s.stderr())) await new Promise((w) => setTimeout(w, 10));
          r.end(body.slice(3));
        })().catch(reject);
      });
      expect(await answered).toBe(200);
      expect((await s.exited).code).toBe(0);
      expect(s.stderr()).toMatch(/keyward serve: stopped\n$/);
    } finally {
      kms.destroy();
    }

    const lines = s.stdout().trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.map((l) => [l.operation ?? l.path, l.status])).toEqual([
      ['CreateKey', 200], ['Encrypt', 200], ['Decrypt', 200], ['ListKeys', 200], ['/healthz', 200], ['CreateKey', 200],
    ]);
    expect(lines[3]!.principal).toBe('arn:aws:iam::000000000000:role/ops');
    expect(s.stdout()).not.toContain(alice.SecretAccessKey);
    expect(s.stdout()).not.toContain(Buffer.from('over the wire').toString('base64'));
    // The store was closed cleanly: its audit chain verifies and ends with every call, as its principal.
    expect(ok(keyward(['--dir', dir, 'audit', 'verify'])).out).toMatch(/^audit log intact: /);
    const audit = ok(keyward(['--dir', dir, '--json', 'audit', 'tail', '-n', '5'])).out.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(audit.map((r) => [r.principal, r.operation, r.outcome])).toEqual([
      ['arn:aws:iam::000000000000:user/alice', 'CreateKey', 'Success'], ['arn:aws:iam::000000000000:user/alice', 'Encrypt', 'Success'],
      ['arn:aws:iam::000000000000:user/alice', 'Decrypt', 'Success'], ['arn:aws:iam::000000000000:role/ops', 'ListKeys', 'Success'],
      ['arn:aws:iam::000000000000:user/alice', 'CreateKey', 'Success'],
    ]);
  });
});
