// keyward bench's tls and server suites beyond the all-suites run of bench.test.ts: the HSM named by a
// config file (--hsm, $KEYWARD_HSM_CONFIG), providers that give a wrong key or a wrong data key caught
// by the cross-check and never timed, the KMS endpoint check against a server that answers wrongly, and
// the client's SigV4 signer against the AWS SDK's and Keyward's verifier.
import { writeFileSync } from 'node:fs';
import { Agent, createServer, type Server } from 'node:http';
import { createServer as netServer } from 'node:net';
import { join } from 'node:path';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { benchCases } from '../../src/bench/cases.js';
import { CrossCheckError } from '../../src/bench/check.js';
import { checkEndpoint, signedHeaders, type KmsEndpoint } from '../../src/bench/kms-calls.js';
import { isError, type MeasuredRow, type Report } from '../../src/bench/report.js';
import { runBench } from '../../src/bench/run.js';
import { ClientProcess } from '../../src/bench/worker.js';
import { NodeCryptoProvider } from '../../src/crypto/node-provider.js';
import type { AsymmetricKeySpec, KeyHandle, KeyPairBytes } from '../../src/crypto/provider.js';
import { WasmProvider } from '../../src/crypto/wasm-provider.js';
import { SigV4Verifier } from '../../src/server/sigv4.js';
import { hsmConfigFile, SOFTHSM_MODULE, softhsmTokens, USER_PIN } from '../hsm/_softhsm.js';
import { NodeSha256 } from '../server/_sha256.js';
import { keyward, requireBuild, ROOT, tempDirs } from './_cli.js';

softhsmTokens('bench-hsm');

/** The built client process module: a forked process runs JavaScript, not the TypeScript sources. */
const CLIENT = `${ROOT}dist/src/bench/client.js`;

describe('keyward bench --hsm CONFIG', () => {
  requireBuild();
  const tmp = tempDirs();

  it('takes the HSM from a config file with a PIN file, runs tls and server on it, and names a bad config', () => {
    const dir = tmp();
    const conf = hsmConfigFile(dir, 'bench-hsm');
    const r = keyward(['bench', '--hsm', conf, '--suite', 'tls,server', '--providers', 'node,pkcs11', '--seconds', '0.02', '--concurrency', '2', '--json']);
    expect(r.status, r.err).toBe(0);
    const report = JSON.parse(r.out) as Report;
    expect(report.hsm).toMatchObject({ module: SOFTHSM_MODULE, sessions: 2, token: { label: 'bench-hsm' } });
    expect(report.rows.filter(isError)).toEqual([]);
    expect(report.rows.filter((x) => x.provider === 'pkcs11').map((x) => x.op)).toEqual(['tls13-handshake-p256', 'tls13-handshake-rsa2048', 'tls13-bulk', 'server-generate-data-key', 'server-decrypt']);

    // The global form through the environment, as other commands take it.
    const env = keyward(['bench', '--suite', 'hsm', '--hsm-concurrency', '1', '--sizes', '32', '--seconds', '0.01', '--json'], undefined, { KEYWARD_HSM_CONFIG: conf });
    expect(env.status, env.err).toBe(0);
    expect((JSON.parse(env.out) as Report).settings.providers).toEqual(['wasm', 'node', 'pkcs11']);

    // A PIN in the config file is refused (and not printed); so is a config that is not there.
    const withPin = join(dir, 'pin.json');
    writeFileSync(withPin, JSON.stringify({ module: SOFTHSM_MODULE, tokenLabel: 'bench-hsm', pin: USER_PIN }));
    const bad = keyward(['bench', '--hsm', withPin, '--suite', 'aes-gcm', '--seconds', '0.01']);
    expect(bad.status).toBe(1);
    expect(bad.err).toMatch(/HsmConfigError: .*holds a "pin"/);
    expect(bad.err + bad.out).not.toContain(USER_PIN);
    const missing = keyward(['bench', '--hsm', join(dir, 'none.json'), '--suite', 'aes-gcm', '--seconds', '0.01']);
    expect(missing.status).toBe(1);
    expect(missing.err).toMatch(/HsmConfigError: cannot read the HSM config file .*none\.json: ENOENT/);
  }, 60_000);
});

/** A key pair whose public half belongs to another key pair. */
async function lie(real: KeyPairBytes, other: () => Promise<KeyPairBytes>): Promise<KeyPairBytes> {
  return { privateKey: real.privateKey, publicKey: (await other()).publicKey };
}

class LyingNode extends NodeCryptoProvider {
  override async generateKeyPairBytes(spec: AsymmetricKeySpec): Promise<KeyPairBytes> {
    return lie(await super.generateKeyPairBytes(spec), () => super.generateKeyPairBytes(spec));
  }
}

class LyingWasm extends WasmProvider {
  override async generateKeyPairBytes(spec: AsymmetricKeySpec): Promise<KeyPairBytes> {
    return lie(await super.generateKeyPairBytes(spec), () => super.generateKeyPairBytes(spec));
  }
}

/** Derives the per-call key from another salt than the one it is given: consistent with itself, wrong for everyone else. */
class BadDerive extends WasmProvider {
  override async deriveKey(key: KeyHandle, salt: Uint8Array, info: Uint8Array): Promise<KeyHandle> {
    const other = Uint8Array.from(salt);
    other[0]! ^= 1;
    return super.deriveKey(key, other, info);
  }
}

describe('the tls and server suites', () => {
  requireBuild();
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('catch a wrong certificate key and a wrong data key in the cross-check, report them and never time them', async () => {
    const measured = vi.spyOn(ClientProcess.prototype, 'measure');
    const cases = benchCases({ suites: ['tls', 'server'], sizes: [], levels: [], concurrency: 2, clientModule: CLIENT });
    const r = await runBench({
      cases, seconds: 0.02, baseline: 'node', command: 'test', suites: ['tls', 'server'],
      providers: [
        { name: 'node', provider: new NodeCryptoProvider() },
        { name: 'lying-node', provider: new LyingNode() },
        { name: 'lying-wasm', provider: new LyingWasm() },
        { name: 'bad-derive', provider: new BadDerive() },
      ],
    });
    const errors = (provider: string) => r.rows.filter((x) => x.provider === provider && isError(x)).map((x) => `${x.op}: ${isError(x) ? x.error : ''}`);
    // node (OpenSSL) is right everywhere; the direct TCP row needs no provider.
    expect(errors('node')).toEqual([]);
    expect(r.rows.filter((x) => x.op === 'tcp-bulk').map((x) => [x.provider, isError(x)])).toEqual([['direct', false]]);
    // A PEM key whose certificate OpenSSL makes from the private key: the handshake shows another public key than the provider gave.
    expect(errors('lying-node')).toEqual(['tls13-handshake-p256', 'tls13-handshake-rsa2048', 'tls13-bulk'].map((op) =>
      `${op}: CrossCheckError: ${op}: the handshake presented a certificate for another public key than the provider's; not timed`));
    // A CMK-wrapped key pair whose halves do not match is refused before any terminator serves it.
    for (const e of errors('lying-wasm')) expect(e).toMatch(/^(tls13-handshake-p256|tls13-handshake-rsa2048|tls13-bulk): CrossCheckError: \1: the key pair it made does not hold together \(.*does not belong to the file's public key\); not timed$/);
    expect(errors('lying-wasm')).toHaveLength(3);
    // Data keys node:crypto cannot open: the endpoint is never started, let alone timed.
    expect(errors('bad-derive')).toEqual(['server-generate-data-key', 'server-decrypt'].map((op) =>
      `${op}: CrossCheckError: ${op}: made a data key whose blob node:crypto cannot decrypt (InvalidCiphertextException), unlike node:crypto (OpenSSL); not timed`));
    // What each broken provider does right is timed, and only that: two client measurements (warm-up and timed) per measured row.
    const ok = r.rows.filter((x): x is MeasuredRow => !isError(x));
    expect(ok.map((x) => `${x.op}/${x.provider}`).filter((k) => !k.endsWith('/node')).sort()).toEqual([
      'server-decrypt/lying-node', 'server-decrypt/lying-wasm', 'server-generate-data-key/lying-node', 'server-generate-data-key/lying-wasm',
      'tcp-bulk/direct', 'tls13-bulk/bad-derive', 'tls13-handshake-p256/bad-derive', 'tls13-handshake-rsa2048/bad-derive',
    ]);
    expect(measured).toHaveBeenCalledTimes(2 * ok.length);
    for (const x of ok) {
      expect(x.ops).toBeGreaterThanOrEqual(1);
      expect(x.p99us).toBeGreaterThanOrEqual(x.p50us);
    }
  }, 60_000);
});

describe('runBench', () => {
  it('releases what the cases share once, after every case, and reports a failure to release without losing the report', async () => {
    const calls: string[] = [];
    const finish = async () => {
      calls.push('finish');
      throw new Error('a token key could not be deleted');
    };
    const c = (op: string) => ({
      suite: 's', op, size: 1, concurrency: 1, finish,
      prepare: async () => ({ run: async () => calls.push(op), release: async () => undefined }),
    });
    const o = { cases: [c('a'), c('b')], seconds: 0.01, baseline: 'node', command: 'test', suites: ['s'], providers: [{ name: 'node', provider: new NodeCryptoProvider() }] };
    const told: unknown[] = [];
    const r = await runBench({ ...o, onCleanupError: (e) => told.push(e) });
    expect(r.rows.map((x) => [x.op, isError(x)])).toEqual([['a', false], ['b', false]]);
    expect(calls.filter((x) => x === 'finish')).toHaveLength(1);
    expect(calls.at(-1)).toBe('finish');
    expect(told).toEqual([new Error('a token key could not be deleted')]);
    await expect(runBench(o)).rejects.toThrow('a token key could not be deleted');
  });
});

describe('the bench client process', () => {
  requireBuild();

  it("reports a failing call with its error, from the client, and fails what is pending when it exits", async () => {
    const c = ClientProcess.start(CLIENT);
    try {
      const closed = await new Promise<number>((resolve) => {
        const s = createServer();
        s.listen(0, '127.0.0.1', () => {
          const { port } = s.address() as { port: number };
          s.close(() => resolve(port));
        });
      });
      await expect(c.measure({ kind: 'handshake', port: closed, version: 'TLSv1.3' }, 0.01, 1)).rejects.toThrow(/connect ECONNREFUSED 127\.0\.0\.1:\d+ \(in the bench client process\)$/);
      // A server that takes the connection and never answers the ClientHello: the handshake waits until the client goes.
      const silent = netServer((sock) => sock.on('error', () => undefined));
      await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
      const pending = c.batch({ kind: 'handshake', port: (silent.address() as { port: number }).port, version: 'TLSv1.3' }, 1, 1);
      await new Promise((r) => setTimeout(r, 100));
      c.close();
      await expect(pending).rejects.toThrow('the bench client process exited (SIGTERM)');
      silent.close();
      await expect(c.measure({ kind: 'bulk', port: closed, tls: false, size: 1 }, 0.01, 1)).rejects.toThrow(/the bench client process exited/);
    } finally {
      c.close();
    }
  });
});

describe('the KMS endpoint check', () => {
  const ENDPOINT = { host: '127.0.0.1', region: 'us-east-1', accessKeyId: 'AKIABENCHTEST0000000', secretAccessKey: 'c2VjcmV0IGJlbmNoIGtleSBmb3IgdGVzdHMgb25seQ', keyId: '1234abcd-12ab-34cd-56ef-1234567890ab' };
  const ARN = `arn:aws:kms:us-east-1:111122223333:key/${ENDPOINT.keyId}`;
  const servers: Server[] = [];
  afterEach(async () => {
    for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
  });

  /** A fake endpoint answering GenerateDataKey and Decrypt as told. */
  async function fake(answer: (target: string, body: Record<string, unknown>) => [number, object]): Promise<KmsEndpoint> {
    const s = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const [status, json] = answer(String(req.headers['x-amz-target']), JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>);
        res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' }).end(JSON.stringify(json));
      });
    });
    servers.push(s);
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    return { ...ENDPOINT, port: (s.address() as { port: number }).port };
  }

  const key = Buffer.alloc(32, 7).toString('base64');
  const blob = Buffer.from('a blob').toString('base64');
  const answers = (decrypted: string, gen: object = { Plaintext: key, CiphertextBlob: blob, KeyId: ARN }) => (target: string): [number, object] =>
    target === 'TrentService.GenerateDataKey' ? [200, gen] : [200, { Plaintext: decrypted, KeyId: ARN }];

  const check = async (e: KmsEndpoint) => {
    const agent = new Agent({ keepAlive: true });
    try {
      await checkEndpoint(e, agent);
    } finally {
      agent.destroy();
    }
  };

  it('passes an endpoint that decrypts its own data key back, and refuses one that does not or answers malformed', async () => {
    await expect(check(await fake(answers(key)))).resolves.toBeUndefined();
    const other = Buffer.alloc(32, 8).toString('base64');
    await expect(check(await fake(answers(other)))).rejects.toThrow(new CrossCheckError("the KMS endpoint decrypted GenerateDataKey's ciphertext blob to another plaintext; not timed"));
    await expect(check(await fake(answers(key, { CiphertextBlob: blob, KeyId: ARN })))).rejects.toThrow(/without a 32-byte base64 Plaintext/);
    await expect(check(await fake(answers(key, { Plaintext: Buffer.alloc(16).toString('base64'), CiphertextBlob: blob, KeyId: ARN })))).rejects.toThrow(CrossCheckError);
    await expect(check(await fake(answers(key, { Plaintext: key, CiphertextBlob: blob, KeyId: 'arn:aws:kms:us-east-1:111122223333:key/another' })))).rejects.toThrow(/for another key/);
    await expect(check(await fake(() => [400, { __type: 'NotFoundException', message: 'no such key' }]))).rejects.toThrow('GenerateDataKey: HTTP 400 NotFoundException: no such key');
  });

  it("signs as the AWS SDK's signer does, and Keyward's verifier accepts it and refuses an altered body", async () => {
    const at = Date.UTC(2026, 10, 26, 12, 0, 0);
    const e = { ...ENDPOINT, port: 4566 };
    const body = JSON.stringify({ KeyId: e.keyId, KeySpec: 'AES_256' });
    const mine = signedHeaders(e, 'TrentService.GenerateDataKey', body, at);
    const sdk = await new SignatureV4({ credentials: { accessKeyId: e.accessKeyId, secretAccessKey: e.secretAccessKey }, region: e.region, service: 'kms', sha256: NodeSha256, uriEscapePath: true })
      .sign(new HttpRequest({
        method: 'POST', protocol: 'http:', hostname: e.host, port: e.port, path: '/', body,
        headers: { host: `${e.host}:${e.port}`, 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'TrentService.GenerateDataKey', 'x-amz-content-sha256': mine['x-amz-content-sha256']! },
      }), { signingDate: new Date(at) });
    expect(mine.authorization).toBe(sdk.headers.authorization);

    const verifier = new SigV4Verifier({ region: e.region, service: 'kms', lookup: (id) => (id === e.accessKeyId ? { secret: Buffer.from(e.secretAccessKey) } : undefined) });
    const req = (b: string) => ({ method: 'POST', url: '/', rawHeaders: Object.entries(mine).flat(), body: Buffer.from(b) });
    expect(verifier.verify(req(body), at).accessKeyId).toBe(e.accessKeyId);
    expect(() => verifier.verify(req(body.replace('AES_256', 'AES_128')), at)).toThrow(/x-amz-content-sha256 header does not match/);
  });
});
