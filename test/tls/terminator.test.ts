// The TLS terminator against real clients (node:tls and Debian's openssl s_client), with each key source:
// non-extractable SoftHSM2 keys through the OpenSSL PKCS#11 engine (EC P-256 and RSA-2048), a key pair
// wrapped under a Keyward CMK, and a PEM file. Data must pass both ways intact under concurrent
// connections; SNI picks certificates; reload swaps them without dropping open connections; bad
// certificates, keys and PINs fail at start with a clear TlsConfigError; a killed backend closes the client.
import { spawn } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KeyHandle } from '../../src/crypto/provider.js';
import { Pkcs11Module, pkcs11js as P } from '../../src/hsm/pkcs11.js';
import { Pkcs11Provider } from '../../src/hsm/pkcs11-provider.js';
import { Keyward } from '../../src/kms/keyward.js';
import { keyObjectCertKey, providerCertKey, selfSignedCertificate } from '../../src/tls/cert.js';
import { createWrappedKeyPair, unwrapPrivateKey } from '../../src/tls/keypair.js';
import { proxyHeader, TlsConfigError, TlsTerminator, type CertificateEntry, type TerminatorOptions } from '../../src/tls/terminator.js';
import { SOFTHSM_MODULE, softhsmTokens, USER_PIN } from '../hsm/_softhsm.js';
import { concurrentEchoes, connect, echoBackend, roundTrip, sClient, sha256 } from './_tls.js';

const T = softhsmTokens('tls');
const dir = mkdtempSync(join(tmpdir(), 'keyward-tls-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Source {
  name: string;
  certFile: string;
  cert: string;
  spki: Buffer;
  entry: (servername?: string) => CertificateEntry;
}

let hsm: Pkcs11Provider;
let kw: Keyward;
let backend: Awaited<ReturnType<typeof echoBackend>>;
const S = {} as Record<'hsmEc' | 'hsmRsa' | 'wrapped' | 'pem', Source>;
const handles = {} as Record<'ec' | 'rsa', KeyHandle>;

async function source(name: string, cert: string, key: CertificateEntry['key'], spki: Uint8Array): Promise<Source> {
  const certFile = join(dir, `${name}.crt`);
  writeFileSync(certFile, cert);
  return { name, certFile, cert, spki: Buffer.from(spki), entry: (servername) => ({ certFile, key, ...(servername ? { servername } : {}) }) };
}

const started: TlsTerminator[] = [];
async function start(certificates: CertificateEntry[], extra: Partial<TerminatorOptions> = {}): Promise<TlsTerminator> {
  const t = await TlsTerminator.start({ port: 0, backend: { host: '127.0.0.1', port: backend.port }, certificates, hsm: T.tls, keyward: kw, ...extra });
  started.push(t);
  return t;
}

beforeAll(async () => {
  backend = await echoBackend();
  hsm = new Pkcs11Provider(T.tls);
  handles.ec = await hsm.generateKey('ECC_NIST_P256', { token: true, label: 'web-ec', extractable: false });
  handles.rsa = await hsm.generateKey('RSA_2048', { token: true, label: 'web-rsa', extractable: false });
  const subject = { commonName: 'localhost', altNames: ['localhost', '127.0.0.1'] };
  for (const [k, label] of [['ec', 'web-ec'], ['rsa', 'web-rsa']] as const) {
    const ck = await providerCertKey(hsm, handles[k]);
    S[k === 'ec' ? 'hsmEc' : 'hsmRsa'] = await source(label, await selfSignedCertificate(ck, { subject }), { pkcs11: `pkcs11:object=${label}` }, ck.spki);
  }
  kw = await Keyward.open({ dir: join(dir, 'store'), maintenanceIntervalMs: 0 });
  const cmk = (await kw.createKey({})).KeyMetadata.KeyId;
  const pair = await createWrappedKeyPair(kw, cmk, 'ECC_NIST_P256');
  const pairFile = join(dir, 'pair.json');
  writeFileSync(pairFile, JSON.stringify(pair));
  const wk = keyObjectCertKey(await unwrapPrivateKey(kw, pair));
  S.wrapped = await source('wrapped', await selfSignedCertificate(wk, { subject }), { keyward: pairFile }, wk.spki);
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const pemFile = join(dir, 'pem.key');
  writeFileSync(pemFile, privateKey.export({ format: 'pem', type: 'pkcs8' }));
  const pk = keyObjectCertKey(privateKey);
  S.pem = await source('pem', await selfSignedCertificate(pk, { subject }), { pemFile }, pk.spki);
}, 60_000);

afterAll(async () => {
  for (const t of started) await t.close(100);
  await backend?.close();
  await kw?.close();
  hsm?.close();
});

describe('each key source', () => {
  for (const name of ['hsmEc', 'hsmRsa', 'wrapped', 'pem'] as const) {
    it(`${name}: node:tls completes TLS 1.3 and 1.2 handshakes with the key's certificate, and data passes both ways`, async () => {
      const s = S[name];
      const t = await start([s.entry()]);
      for (const version of ['TLSv1.3', 'TLSv1.2'] as const) {
        const c = await connect(t.address.port, s.cert, { servername: 'localhost', version });
        expect(c.protocol).toBe(version);
        expect(c.peerSpki.equals(s.spki)).toBe(true);
        const data = randomBytes(100_000);
        expect(await roundTrip(c.socket, data)).toBe(sha256(data));
      }
      await t.close(100);
    });
  }

  it('openssl s_client verifies the chain and completes TLS 1.3 and 1.2 handshakes against the HSM keys', async () => {
    for (const s of [S.hsmEc, S.hsmRsa]) {
      const caFile = s.certFile;
      const t = await start([s.entry()]);
      for (const v of ['-tls1_3', '-tls1_2']) {
        const r = await sClient(t.address.port, [v, '-CAfile', caFile, '-verify_return_error', '-servername', 'localhost']);
        expect(r.out, r.out).toContain('Verify return code: 0 (ok)');
        expect(r.out).toMatch(new RegExp(`New, TLSv1\\.${v === '-tls1_3' ? '3' : '2'}, Cipher is (TLS_AES|ECDHE-(ECDSA|RSA))`));
      }
      await t.close(100);
    }
  });

  it('the HSM keys behind the certificates are sensitive, non-extractable token objects', async () => {
    const m = Pkcs11Module.load(SOFTHSM_MODULE);
    try {
      const s = m.findToken('tls').openSession();
      s.login(USER_PIN);
      // The private value: CKA_VALUE of an EC key, CKA_PRIVATE_EXPONENT of an RSA key.
      for (const [label, secret] of [['web-ec', 'value'], ['web-rsa', 'privateExponent']] as const) {
        const found = s.findObjects({ label, class: P.CKO_PRIVATE_KEY });
        expect(found.length).toBe(1);
        expect(s.getAttributes(found[0]!, ['token', 'sensitive', 'extractable', 'neverExtractable'])).toEqual({ token: true, sensitive: true, extractable: false, neverExtractable: true });
        let refused: unknown;
        try {
          s.getAttributes(found[0]!, [secret]);
        } catch (e) {
          refused = e;
        }
        expect(refused).toMatchObject({ ckr: 'CKR_ATTRIBUTE_SENSITIVE', method: 'C_GetAttributeValue' });
      }
      s.close();
    } finally {
      m.close();
    }
  });
});

describe('forwarding', () => {
  it('32 concurrent connections each pass 256 KiB both ways intact (HSM EC key)', async () => {
    const t = await start([S.hsmEc.entry()]);
    expect(await concurrentEchoes(t.address.port, S.hsmEc.cert, 32, 256 * 1024, { servername: 'localhost' })).toBe(true);
    await t.close(100);
  });

  it('half-close: the client ends its side and still reads everything the backend sends afterwards', async () => {
    const t = await start([S.pem.entry()]);
    const c = await connect(t.address.port, S.pem.cert, { servername: 'localhost' });
    const data = randomBytes(3 * 1024 * 1024);
    expect(await roundTrip(c.socket, data)).toBe(sha256(data));
    await t.close(100);
  });

  it('PROXY protocol v1: the backend first reads the client\'s address line', async () => {
    const t = await start([S.pem.entry()], { proxyProtocol: true });
    const c = await connect(t.address.port, S.pem.cert, { servername: 'localhost' });
    const before = backend.firstChunks.length;
    const clientPort = c.socket.localPort;
    await roundTrip(c.socket, Buffer.from('payload'));
    const first = backend.firstChunks.slice(before).map((b) => b.toString()).find((x) => x.startsWith('PROXY '));
    expect(first?.slice(0, first.indexOf('\r\n') + 2)).toBe(`PROXY TCP4 127.0.0.1 127.0.0.1 ${clientPort} ${t.address.port}\r\n`);
    expect(proxyHeader({ remoteAddress: '::1', remotePort: 5, localAddress: '::1', localPort: 443 })).toBe('PROXY TCP6 ::1 ::1 5 443\r\n');
    expect(proxyHeader({ remoteAddress: '::ffff:10.0.0.1', remotePort: 5, localAddress: '::ffff:10.0.0.2', localPort: 443 })).toBe('PROXY TCP4 10.0.0.1 10.0.0.2 5 443\r\n');
    expect(proxyHeader({})).toBe('PROXY UNKNOWN\r\n');
    await t.close(100);
  });

  it('a backend killed mid-connection gives the client a clean end, not a hang', async () => {
    const child = spawn(process.execPath, ['-e', `const s=require('net').createServer(c=>c.pipe(c)).listen(0,'127.0.0.1',()=>console.log(s.address().port))`], { stdio: ['ignore', 'pipe', 'inherit'] });
    const [line] = (await once(child.stdout!, 'data')) as [Buffer];
    const t = await TlsTerminator.start({ port: 0, backend: { host: '127.0.0.1', port: Number(line.toString().trim()) }, certificates: [S.pem.entry()] });
    started.push(t);
    const c = await connect(t.address.port, S.pem.cert, { servername: 'localhost' });
    c.socket.write('ping');
    await once(c.socket, 'data');
    const ended = once(c.socket, 'close');
    child.kill('SIGKILL');
    const t0 = Date.now();
    await ended;
    expect(Date.now() - t0).toBeLessThan(2000);
    // An unreachable backend: the client's connection is closed, not left open.
    const dead = await TlsTerminator.start({ port: 0, backend: { host: '127.0.0.1', port: Number(line.toString().trim()) }, certificates: [S.pem.entry()] });
    started.push(dead);
    const c2 = await connect(dead.address.port, S.pem.cert, { servername: 'localhost' });
    await once(c2.socket, 'close');
    await t.close(100);
  });
});

describe('certificates by SNI, and reload', () => {
  it('SNI picks the HSM RSA, HSM EC or wrapped-key certificate; no or unknown SNI gets the default', async () => {
    const t = await start([S.pem.entry(), S.hsmEc.entry('ec.test'), S.hsmRsa.entry('rsa.test'), S.wrapped.entry('*.wrapped.test')]);
    // The chain is verified against the certificate expected for the name: another one fails the handshake.
    const served = async (s: Source, servername?: string) => {
      const c = await connect(t.address.port, s.cert, servername ? { servername, anyName: true } : {}).catch((e: Error) => {
        throw new Error(`${servername ?? 'no SNI'} → ${s.name}: ${e.message}`);
      });
      c.socket.destroy();
      return c.peerSpki.equals(s.spki);
    };
    expect(await served(S.pem)).toBe(true);
    expect(await served(S.pem, 'unknown.test')).toBe(true);
    expect(await served(S.hsmEc, 'ec.test')).toBe(true);
    expect(await served(S.hsmRsa, 'rsa.test')).toBe(true);
    expect(await served(S.hsmRsa, 'RSA.test')).toBe(true);
    expect(await served(S.wrapped, 'a.wrapped.test')).toBe(true);
    expect(await served(S.pem, 'a.b.wrapped.test')).toBe(true);
    await expect(served(S.hsmEc, 'rsa.test')).rejects.toThrow(/self-signed certificate/);
    await t.close(100);
  });

  it('reload serves the new certificate to new connections while an open connection keeps working', async () => {
    const t = await start([S.pem.entry()]);
    const old = await connect(t.address.port, S.pem.cert, { servername: 'localhost' });
    await t.reload([S.hsmEc.entry()]);
    const fresh = await connect(t.address.port, S.hsmEc.cert, { servername: 'localhost' });
    expect(fresh.peerSpki.equals(S.hsmEc.spki)).toBe(true);
    const data = randomBytes(50_000);
    expect(await roundTrip(old.socket, data)).toBe(sha256(data));
    expect(await roundTrip(fresh.socket, data)).toBe(sha256(data));
    // A failed reload leaves the current certificates in service.
    await expect(t.reload([{ certFile: S.pem.certFile, key: { pkcs11: 'pkcs11:object=web-ec' } }])).rejects.toThrow(TlsConfigError);
    const still = await connect(t.address.port, S.hsmEc.cert, { servername: 'localhost' });
    expect(still.peerSpki.equals(S.hsmEc.spki)).toBe(true);
    still.socket.destroy();
    await t.close(100);
  });
});

describe('bad configuration fails at start with a clear message', () => {
  const failure = async (certificates: CertificateEntry[], extra: Partial<TerminatorOptions> = {}): Promise<Error> => {
    try {
      await start(certificates, extra);
    } catch (e) {
      return e as Error;
    }
    throw new Error('expected start to fail');
  };

  it('a certificate that is not the key\'s', async () => {
    const e = await failure([{ certFile: S.pem.certFile, key: { pkcs11: 'pkcs11:object=web-ec' } }]);
    expect(e).toBeInstanceOf(TlsConfigError);
    expect(e.message).toBe(`cannot use the certificate ${S.pem.certFile} with the HSM key pkcs11:object=web-ec: the key the pkcs11 engine loaded does not match the certificate's public key (key values mismatch): check the object label; a token key made after this process first used the engine needs a restart`);
    const e2 = await failure([{ certFile: S.hsmEc.certFile, key: { pemFile: join(dir, 'pem.key') } }]);
    expect(e2.message).toMatch(/does not match the certificate's public key/);
  });

  // A wrong PIN is tested through the CLI (cli.test.ts): in this process the engine's token session is
  // already logged in, and libp11 does not log in again.
  it('a missing HSM object names the key, never the PIN; no HSM config is refused', async () => {
    const e4 = await failure([{ certFile: S.hsmEc.certFile, key: { pkcs11: 'pkcs11:object=no-such-key' } }]);
    expect(e4).toBeInstanceOf(TlsConfigError);
    expect(e4.message).toMatch(/the HSM key pkcs11:object=no-such-key: the pkcs11 engine could not load the key/);
    expect(e4.message).not.toContain(USER_PIN);
    const e5 = await failure([{ certFile: S.hsmEc.certFile, key: { pkcs11: 'pkcs11:pin-value=1234;object=web-ec' } }]);
    expect(e5.message).toBe("the PKCS#11 URI 'pkcs11:pin-value=REDACTED;object=web-ec' holds a PIN: give it by KEYWARD_HSM_PIN or a PIN file instead");
    const e3 = await failure([S.hsmEc.entry()], { hsm: undefined as never });
    expect(e3.message).toMatch(/needs the HSM config/);
  });

  it('unreadable or non-PEM certificate and key files, a damaged wrapped key pair', async () => {
    const e = await failure([{ certFile: join(dir, 'nope.crt'), key: { pemFile: join(dir, 'pem.key') } }]);
    expect(e.message).toBe(`cannot read the certificate file ${join(dir, 'nope.crt')}: ENOENT`);
    const junk = join(dir, 'junk.crt');
    writeFileSync(junk, 'not a certificate\n');
    const e2 = await failure([{ certFile: junk, key: { pemFile: join(dir, 'pem.key') } }]);
    expect(e2).toBeInstanceOf(TlsConfigError);
    expect(e2.message).toMatch(/^cannot use the certificate .*junk\.crt with the key file .*pem\.key: /);
    const bad = join(dir, 'bad-pair.json');
    writeFileSync(bad, JSON.stringify({ format: 'keyward-wrapped-keypair/1', keyId: 'x', keyPairSpec: 'ECC_NIST_P256', publicKey: 'AA==', privateKeyCiphertextBlob: 'AAAA' }));
    const e3 = await failure([{ certFile: S.wrapped.certFile, key: { keyward: bad } }]);
    expect(e3.message).toMatch(/^cannot unwrap the wrapped key pair .*bad-pair\.json: /);
  });
});
