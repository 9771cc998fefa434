// SSL offload: new TLS handshakes per second through `keyward tls`'s terminator (TlsTerminator), with
// the certificate's key in the HSM (SoftHSM2 through the OpenSSL PKCS#11 engine: every handshake
// signature is a C_Sign in the token) against the same kind of key in memory (a PEM key in OpenSSL),
// for ECDSA P-256 and RSA-2048, TLS 1.3 and TLS 1.2; and bulk throughput through the terminator against
// plain TCP straight to the backend.
//
// How it is measured: the client is a separate process (src/bench/client.ts, shared with `keyward bench`'s
// tls suite) so its handshake work does not share the terminator's event loop; one timed run is HANDSHAKES new full handshakes (no session
// resumption), CONCURRENCY in flight, each connection closed once secure (the terminator still opens
// a backend connection for each). ops/s is handshakes per second; latency columns are a run's time
// over HANDSHAKES (amortized, not one handshake's latency). The bulk suites send SIZE bytes over one
// connection and read the echo back at the same time; MB/s counts SIZE once per run. On this small
// shared machine client, terminator, backend and SoftHSM2 all share the same cores.
//
// Cross-validation before timing: one handshake per column, whose certificate's public key must be the
// column's key (so an HSM column really signs with the token key), and one echo checked byte for byte.
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AsymmetricKeySpec } from '../../src/crypto/provider.js';
import type { HsmConfig } from '../../src/hsm/config.js';
import { Pkcs11Provider } from '../../src/hsm/pkcs11-provider.js';
import { keyObjectCertKey, providerCertKey, selfSignedCertificate } from '../../src/tls/cert.js';
import type { KeySource, TlsTerminator } from '../../src/tls/terminator.js';
import type { Work } from '../../src/bench/client.js';
import { echoBackend, startTerminator } from '../../src/bench/tls.js';
import { peerSpki, type TlsVersion } from '../../src/bench/tls-calls.js';
import { ClientProcess } from '../../src/bench/worker.js';
import { CrossValidationError, type AsyncImpl, type AsyncSuite } from '../harness.js';

const HANDSHAKES = 32;
const CONCURRENCY = 4;
const BULK_BYTES = 8 * 1024 * 1024;
const SOFTHSM_MODULE = '/usr/lib/softhsm/libsofthsm2.so';
const TOKEN = 'bench-tls';
const PIN = '11223344';
const SUBJECT = { commonName: 'localhost' };
const KEY_SPECS = { p256: 'ECC_NIST_P256', rsa2048: 'RSA_2048' } as const satisfies Record<string, AsymmetricKeySpec>;

/**
 * What every TLS column shares: a SoftHSM2 token, an echo backend, the client process. Made on first use
 * and kept for the process's life: the pkcs11 engine initializes the module once per process, with the
 * token directory of SOFTHSM2_CONF at that moment. Its handles are unref'd so the bench can exit.
 */
interface Env {
  dir: string;
  hsm: HsmConfig;
  provider: Pkcs11Provider;
  /** The token keys, all made before the engine first lists the token's objects (libp11 lists them once). */
  hsmKeys: Record<keyof typeof KEY_SPECS, { label: string; spki: Uint8Array; pem: string }>;
  backendPort: number;
  client: ClientProcess;
}

async function makeEnv(): Promise<Env> {
  const dir = mkdtempSync(join(tmpdir(), 'keyward-bench-tls-'));
  mkdirSync(join(dir, 'tokens'));
  writeFileSync(join(dir, 'softhsm2.conf'), `directories.tokendir = ${join(dir, 'tokens')}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n`);
  process.env.SOFTHSM2_CONF = join(dir, 'softhsm2.conf');
  execFileSync('softhsm2-util', ['--init-token', '--free', '--label', TOKEN, '--pin', PIN, '--so-pin', '55667788'], { stdio: 'ignore' });
  const hsm: HsmConfig = { module: SOFTHSM_MODULE, tokenLabel: TOKEN, pin: PIN, sessions: 1 };
  const provider = new Pkcs11Provider(hsm);
  const hsmKeys = {} as Env['hsmKeys'];
  for (const key of Object.keys(KEY_SPECS) as (keyof typeof KEY_SPECS)[]) {
    const label = `bench-${key}`;
    const ck = await providerCertKey(provider, await provider.generateKey(KEY_SPECS[key], { token: true, label, extractable: false }));
    hsmKeys[key] = { label, spki: ck.spki, pem: await selfSignedCertificate(ck, { subject: SUBJECT }) };
  }
  const backend = await echoBackend();
  const client = ClientProcess.start();
  backend.server.unref();
  client.unref();
  process.once('exit', () => {
    client.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return { dir, hsm, provider, hsmKeys, backendPort: backend.port, client };
}

let env: Promise<Env> | undefined;
const shared = (): Promise<Env> => (env ??= makeEnv());

type Where = 'hsm' | 'memory';

/** A terminator whose certificate key is where the column says; returns it with the key's SPKI. */
async function terminatorFor(e: Env, where: Where, key: keyof typeof KEY_SPECS, label: string): Promise<{ t: TlsTerminator; spki: Buffer }> {
  let source: KeySource;
  let pem: string;
  let spki: Uint8Array;
  if (where === 'hsm') {
    ({ pem, spki } = e.hsmKeys[key]);
    source = { pkcs11: `pkcs11:object=${e.hsmKeys[key].label}` };
  } else {
    const { privateKey } = key === 'p256' ? generateKeyPairSync('ec', { namedCurve: 'P-256' }) : generateKeyPairSync('rsa', { modulusLength: 2048 });
    const keyFile = join(e.dir, `${label}.key`);
    writeFileSync(keyFile, privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600 });
    const ck = keyObjectCertKey(privateKey);
    pem = await selfSignedCertificate(ck, { subject: SUBJECT });
    spki = ck.spki;
    source = { pemFile: keyFile };
  }
  const t = await startTerminator({ dir: e.dir, name: label, cert: pem, key: source, backendPort: e.backendPort, hsm: e.hsm });
  return { t, spki: Buffer.from(spki) };
}

let labels = 0;

function handshakeImpl(where: Where, key: keyof typeof KEY_SPECS, version: TlsVersion): AsyncImpl {
  let e: Env | undefined;
  let t: TlsTerminator | undefined;
  const name = `${where === 'hsm' ? 'hsm (softhsm2, pkcs11 engine)' : 'memory (openssl)'}`;
  return {
    name,
    async setup() {
      e = await shared();
      const made = await terminatorFor(e, where, key, `bench-${key}-${++labels}`);
      t = made.t;
      if (!(await peerSpki(t.address.port)).equals(made.spki)) throw new CrossValidationError(`tls ${key} ${name}: the handshake presented another key's certificate`);
    },
    run: () => e!.client.batch({ kind: 'handshake', port: t!.address.port, version }, HANDSHAKES, CONCURRENCY),
    async teardown() {
      await t?.close(100);
    },
  };
}

function handshakeSuite(key: keyof typeof KEY_SPECS, version: TlsVersion): AsyncSuite {
  return {
    name: `tls-handshake-${key}-${version === 'TLSv1.3' ? 'tls13' : 'tls12'}`,
    size: 0,
    batch: HANDSHAKES,
    baseline: 'memory (openssl)',
    impls: [handshakeImpl('memory', key, version), handshakeImpl('hsm', key, version)],
  };
}

function bulkImpl(through: boolean): AsyncImpl {
  let e: Env | undefined;
  let t: TlsTerminator | undefined;
  const work = (): Work => ({ kind: 'bulk', port: through ? t!.address.port : e!.backendPort, tls: through, size: BULK_BYTES });
  return {
    name: through ? 'through the terminator (TLS 1.3, P-256 in memory)' : 'direct to the backend (TCP)',
    async setup() {
      e = await shared();
      if (through) t = (await terminatorFor(e, 'memory', 'p256', `bench-bulk-${++labels}`)).t;
      // The client checks the echo byte for byte (sha256 and length) on every run, this first one included.
      await e.client.batch(work(), 1, 1);
    },
    run: () => e!.client.batch(work(), 1, 1),
    async teardown() {
      await t?.close(100);
    },
  };
}

export const tlsSuites: AsyncSuite[] = [
  handshakeSuite('p256', 'TLSv1.3'),
  handshakeSuite('p256', 'TLSv1.2'),
  handshakeSuite('rsa2048', 'TLSv1.3'),
  handshakeSuite('rsa2048', 'TLSv1.2'),
  { name: 'tls-bulk', size: BULK_BYTES, batch: 1, baseline: 'direct to the backend (TCP)', impls: [bulkImpl(false), bulkImpl(true)] },
];
