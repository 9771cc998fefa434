// The built CLI as a user runs it (README walk-through): `keyward cert --hsm LABEL --generate` makes a
// non-extractable HSM key and its certificate, `keyward tls` serves it through the PKCS#11 engine,
// SIGHUP reloads without dropping an open connection, SIGTERM stops; a wrapped key pair from `keyward
// cert --new-keypair` serves the same way; a wrong PIN fails at start with a clear message.
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { softhsmTokens, USER_PIN } from '../hsm/_softhsm.js';
import { keyward, ok, requireBuild, tempDirs } from '../cli/_cli.js';
import { cliSpawner, type Running } from '../cli/_serve.js';
import { connect, echoBackend, roundTrip, sha256 } from './_tls.js';

softhsmTokens('cli');
requireBuild();
const temp = tempDirs();
const HSM_ENV = { KEYWARD_HSM_MODULE: '/usr/lib/softhsm/libsofthsm2.so', KEYWARD_HSM_TOKEN: 'cli', KEYWARD_HSM_PIN: USER_PIN };
let backend: Awaited<ReturnType<typeof echoBackend>>;
const cli = cliSpawner();

beforeAll(async () => {
  backend = await echoBackend();
});
afterAll(async () => {
  await backend.close();
});

/** Starts `keyward tls`; resolves once it prints its port. */
async function serve(args: string[], env: Record<string, string>): Promise<Running & { port: number }> {
  const s = await cli.ready(args, { match: /listening on [^\s]+:(\d+),/, env, stdout: 'pipe' });
  return { ...s, port: Number(s.match[1]) };
}

describe('keyward cert and keyward tls with an HSM key', () => {
  it('cert --hsm --generate, then tls serves the key; SIGHUP reloads with an open connection intact; SIGTERM stops', async () => {
    const d = temp();
    const certFile = join(d, 'web.crt');
    ok(keyward(['cert', '--hsm', 'web', '--generate', 'ECC_NIST_P256', '--cn', 'localhost', '--out', certFile], '', HSM_ENV));
    const cert = readFileSync(certFile, 'utf8');
    const s = await serve(['tls', '--listen', '0', '--backend', `127.0.0.1:${backend.port}`, '--cert', certFile, '--key', 'pkcs11:object=web'], HSM_ENV);
    const open = await connect(s.port, cert, { servername: 'localhost', version: 'TLSv1.3' });
    open.socket.write('ping'); // an echo proves the terminator has the connection (TLS 1.3 clients finish first)
    await once(open.socket, 'data');
    s.child.kill('SIGHUP');
    await expect.poll(() => s.stderr(), { timeout: 5000 }).toMatch(/SIGHUP: certificates reloaded \(1 connection\(s\) open continue\)/);
    const fresh = await connect(s.port, cert, { servername: 'localhost', version: 'TLSv1.2' });
    const data = randomBytes(200_000);
    expect(await roundTrip(open.socket, data)).toBe(sha256(data));
    expect(await roundTrip(fresh.socket, data)).toBe(sha256(data));
    s.child.kill('SIGTERM');
    const [code] = await once(s.child, 'exit');
    expect(code).toBe(0);
    expect(s.stderr()).toMatch(/keyward tls: stopped\n$/);
    expect(s.stderr()).not.toContain(USER_PIN);
  });

  it('a wrong PIN fails at start: exit 1, the key named, the PIN never printed', () => {
    const d = temp();
    const certFile = join(d, 'web.crt');
    ok(keyward(['cert', '--hsm', 'web2', '--generate', 'RSA_2048', '--cn', 'localhost', '--out', certFile], '', HSM_ENV));
    const r = keyward(['tls', '--listen', '0', '--backend', `127.0.0.1:${backend.port}`, '--cert', certFile, '--key', 'pkcs11:object=web2'], '', { ...HSM_ENV, KEYWARD_HSM_PIN: '11112222' });
    expect(r.status).toBe(1);
    // libp11 writes its own lines (with the URI it tried) to stderr first; the URI carries a PIN file, not the PIN.
    expect(r.err).toMatch(/\nkeyward tls: TlsConfigError: cannot use the certificate .*web\.crt with the HSM key pkcs11:object=web2: the pkcs11 engine could not load the key \(PIN incorrect\): check the token label, the object label and the PIN\n$/);
    expect(r.err).not.toContain('11112222');
    expect(r.err).not.toContain('pin-value');
  });
});

describe('keyward cert --new-keypair and keyward tls with a wrapped key', () => {
  it('the key pair file holds no private key, is 0600, and serves TLS after Decrypt in the terminator', async () => {
    const d = temp();
    ok(keyward(['--dir', d, 'init']));
    const cmk = (JSON.parse(ok(keyward(['--dir', d, '--json', 'create-key'])).out) as { KeyMetadata: { KeyId: string } }).KeyMetadata.KeyId;
    const pairFile = join(d, 'tls-pair.json');
    const certFile = join(d, 'tls.crt');
    ok(keyward(['--dir', d, 'cert', '--new-keypair', pairFile, '--key', cmk, '--spec', 'ECC_NIST_P256', '--cn', 'localhost', '--out', certFile]));
    expect(statSync(pairFile).mode & 0o777).toBe(0o600);
    const pair = JSON.parse(readFileSync(pairFile, 'utf8')) as Record<string, string>;
    expect(Object.keys(pair).sort()).toEqual(['format', 'keyId', 'keyPairSpec', 'privateKeyCiphertextBlob', 'publicKey']);
    const cert = readFileSync(certFile, 'utf8');
    const s = await serve(['--dir', d, 'tls', '--listen', '127.0.0.1:0', '--backend', `127.0.0.1:${backend.port}`, '--cert', certFile, '--key', `keyward:${pairFile}`, '--quiet'], {});
    const c = await connect(s.port, cert, { servername: 'localhost' });
    expect(c.peerSpki.equals(Buffer.from(pair.publicKey!, 'base64'))).toBe(true);
    const data = randomBytes(10_000);
    expect(await roundTrip(c.socket, data)).toBe(sha256(data));
    s.child.kill('SIGINT');
    expect((await once(s.child, 'exit'))[0]).toBe(0);
  });
});
