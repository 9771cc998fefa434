// The tls suite: new TLS 1.3 handshakes per second through Keyward's terminator (TlsTerminator) with the
// certificate's key held by each provider, and bulk MB/s through it beside plain TCP to the backend.
// Where the key is, by provider (the terminator's KeySource kinds):
//   wasm    a key pair made by an engine on the WASM provider, wrapped under a CMK, unwrapped by Decrypt
//           into this process's memory only ({ keyward })
//   node    a key pair made by OpenSSL, in a 0600 PEM file OpenSSL loads ({ pemFile })
//   pkcs11  a non-extractable token key used through the OpenSSL pkcs11 engine: every handshake signature
//           is a C_Sign in the token ({ pkcs11 }); both token keys are made before the engine first lists
//           the token's objects (libp11 lists them once per process), and deleted when the run ends
// In every case the handshake signatures run on this process's event loop (OpenSSL, or OpenSSL calling the
// token); the client runs in its own process (client.ts). The cross-check before timing: a handshake's
// peer certificate must carry the provider's public key, so a column measures the key it names.
import { createPrivateKey, randomBytes, type KeyObject } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AsymmetricKeySpec, KeyHandle, Provider } from '../crypto/provider.js';
import type { HsmConfig } from '../hsm/config.js';
import type { Pkcs11KeyOptions } from '../hsm/pkcs11-provider.js';
import { Keyward } from '../kms/keyward.js';
import { keyObjectCertKey, providerCertKey, selfSignedCertificate } from '../tls/cert.js';
import { createWrappedKeyPair, KeyPairError, pkcs8PemBuffer, unwrapPrivateKey } from '../tls/keypair.js';
import { TlsTerminator, type KeySource } from '../tls/terminator.js';
import type { Op, Prepared } from './cases.js';
import { CrossCheckError, same } from './check.js';
import { ACCOUNT } from './engine.js';
import type { Work } from './client.js';
import { peerSpki, type TlsVersion } from './tls-calls.js';
import type { ClientProcess } from './worker.js';

/** Bytes one bulk call sends through (and reads back). */
export const TLS_BULK_BYTES = 4 * 2 ** 20;
const SUBJECT = { commonName: 'localhost' };
const SPECS = { p256: 'ECC_NIST_P256', rsa2048: 'RSA_2048' } as const satisfies Record<string, AsymmetricKeySpec>;
type Tag = keyof typeof SPECS;

/** A TCP backend that echoes every byte and half-closes when its peer does. */
export async function echoBackend(): Promise<{ port: number; server: net.Server; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
    s.on('error', () => undefined);
    s.pipe(s);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as net.AddressInfo).port,
    server,
    close: () => new Promise<void>((r) => {
      for (const s of sockets) s.destroy();
      server.close(() => r());
    }),
  };
}

export interface TerminatorSetup {
  /** Where the certificate file is written. */
  dir: string;
  /** The file's name (without .crt). */
  name: string;
  /** PEM certificate. */
  cert: string;
  key: KeySource;
  backendPort: number;
  hsm?: HsmConfig;
  keyward?: Keyward;
  /** The only TLS version served (default: 1.2 and 1.3). */
  version?: TlsVersion;
}

/** A terminator on a free loopback port serving one certificate, forwarding to the backend. */
export function startTerminator(o: TerminatorSetup): Promise<TlsTerminator> {
  const certFile = join(o.dir, `${o.name}.crt`);
  writeFileSync(certFile, o.cert);
  return TlsTerminator.start({
    port: 0, backend: { host: '127.0.0.1', port: o.backendPort }, certificates: [{ certFile, key: o.key }],
    ...(o.hsm ? { hsm: o.hsm } : {}), ...(o.keyward ? { keyward: o.keyward } : {}), ...(o.version ? { minVersion: o.version, maxVersion: o.version } : {}),
  });
}

/** A certificate and where its private key is, for one terminator. */
interface CertificateKey {
  cert: string;
  key: KeySource;
  /** The provider's public key (DER SPKI): what the handshake must present. */
  spki: Uint8Array;
  keyward?: Keyward;
  release(): Promise<void>;
}

/** What the tls suite needs of a PKCS#11 provider beyond the Provider interface: labelled token keys. */
interface TokenKeys {
  generateKey(spec: AsymmetricKeySpec, options: Pkcs11KeyOptions): Promise<KeyHandle>;
  deleteTokenKey(key: KeyHandle): Promise<void>;
}

const hasTokenKeys = (p: Provider): p is Provider & TokenKeys => 'deleteTokenKey' in p;

/** A self-signed certificate for a private key in this process (OpenSSL derives its public key). */
const certFor = (privateKey: KeyObject) => selfSignedCertificate(keyObjectCertKey(privateKey), { subject: SUBJECT });

/** The tls suite of one run: its operations, and the backend, directory and token keys they share. */
export class TlsBench {
  #dir: string | undefined;
  #backend: ReturnType<typeof echoBackend> | undefined;
  #tokens = new Map<Provider, Promise<Record<Tag, { label: string; spki: Uint8Array; cert: string }>>>();
  /** Token keys made, to delete at close(). */
  #made: { p: TokenKeys; key: KeyHandle; label: string }[] = [];
  #files = 0;

  constructor(
    private readonly client: () => ClientProcess,
    private readonly hsm: HsmConfig | undefined,
  ) {}

  /** New TLS 1.3 handshakes with a P-256 and with an RSA-2048 certificate key. */
  handshakeOps(): Op[] {
    return (Object.keys(SPECS) as Tag[]).map((tag) => {
      const op = `tls13-handshake-${tag}`;
      return { op, size: 0, prepare: (p: Provider) => this.#prepare(p, tag, op, (port) => ({ kind: 'handshake', port, version: 'TLSv1.3' })) };
    });
  }

  /** TLS_BULK_BYTES echoed through the terminator (P-256 certificate key), and over plain TCP straight to the backend. */
  bulkOps(): Op[] {
    const size = TLS_BULK_BYTES;
    return [
      { op: 'tls13-bulk', size, prepare: (p: Provider) => this.#prepare(p, 'p256', 'tls13-bulk', (port) => ({ kind: 'bulk', port, tls: true, size })) },
      {
        op: 'tcp-bulk', size, column: 'direct',
        prepare: async (): Promise<Prepared> => {
          const port = await this.#backendPort();
          return { measure: (s, c) => this.client().measure({ kind: 'bulk', port, tls: false, size }, s, c), release: async () => undefined };
        },
      },
    ];
  }

  /** Deletes the token keys and stops the backend; throws naming the token keys it could not delete, after trying them all. */
  async close(): Promise<void> {
    const left: string[] = [];
    for (const { p, key, label } of this.#made.splice(0)) {
      await p.deleteTokenKey(key).catch((e: Error) => left.push(`${label} (${e.name}: ${e.message})`));
    }
    await (await this.#backend)?.close();
    if (this.#dir) rmSync(this.#dir, { recursive: true, force: true });
    if (left.length > 0) throw new Error(`the tls suite could not delete its token keys ${left.join(', ')}; delete them by label`);
  }

  get #workDir(): string {
    return (this.#dir ??= mkdtempSync(join(tmpdir(), 'keyward-bench-tls-')));
  }

  async #backendPort(): Promise<number> {
    return (await (this.#backend ??= echoBackend())).port;
  }

  async #prepare(p: Provider, tag: Tag, op: string, work: (port: number) => Work): Promise<Prepared> {
    const backendPort = await this.#backendPort();
    const ck = await this.#certificateKey(p, tag, op);
    let t: TlsTerminator | undefined;
    try {
      t = await startTerminator({
        dir: this.#workDir, name: `${op}-${++this.#files}`, cert: ck.cert, key: ck.key, backendPort, version: 'TLSv1.3',
        ...(this.hsm ? { hsm: this.hsm } : {}), ...(ck.keyward ? { keyward: ck.keyward } : {}),
      });
      if (!same(ck.spki, await peerSpki(t.address.port))) {
        throw new CrossCheckError(`${op}: the handshake presented a certificate for another public key than the provider's; not timed`);
      }
    } catch (e) {
      await t?.close(100);
      await ck.release();
      throw e;
    }
    const terminator = t;
    const port = terminator.address.port;
    return {
      measure: (seconds, concurrency) => this.client().measure(work(port), seconds, concurrency),
      async release() {
        await terminator.close(100);
        await ck.release();
      },
    };
  }

  #certificateKey(p: Provider, tag: Tag, op: string): Promise<CertificateKey> {
    if (p.name === 'pkcs11') return this.#tokenKey(p, tag);
    if (p.name === 'wasm') return this.#wrappedKey(p, SPECS[tag], op);
    return this.#pemKey(p, SPECS[tag]);
  }

  /** A key pair made by the provider, its private key in a 0600 PEM file. */
  async #pemKey(p: Provider, spec: AsymmetricKeySpec): Promise<CertificateKey> {
    const pair = await p.generateKeyPairBytes(spec);
    const file = join(this.#workDir, `key-${++this.#files}.pem`);
    let privateKey: KeyObject;
    const pem = pkcs8PemBuffer(pair.privateKey);
    try {
      writeFileSync(file, pem, { mode: 0o600 });
      privateKey = createPrivateKey({ key: Buffer.from(pair.privateKey.buffer, pair.privateKey.byteOffset, pair.privateKey.length), format: 'der', type: 'pkcs8' });
    } finally {
      pem.fill(0);
      pair.privateKey.fill(0);
    }
    return { cert: await certFor(privateKey), key: { pemFile: file }, spki: pair.publicKey, release: async () => rmSync(file, { force: true }) };
  }

  /** A key pair made by an engine on the provider, wrapped under a CMK of a temporary store. */
  async #wrappedKey(p: Provider, spec: AsymmetricKeySpec, op: string): Promise<CertificateKey> {
    const dir = mkdtempSync(join(tmpdir(), 'keyward-bench-tls-kw-'));
    let kw: Keyward | undefined;
    const release = async () => {
      try {
        await kw?.close();
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    };
    try {
      kw = await Keyward.open({ dir, account: ACCOUNT, provider: p, maintenanceIntervalMs: 0 });
      const keyId = (await kw.createKey({ Description: 'keyward bench tls' })).KeyMetadata.KeyId;
      const pair = await createWrappedKeyPair(kw, keyId, spec);
      let privateKey: KeyObject;
      try {
        privateKey = await unwrapPrivateKey(kw, pair);
      } catch (e) {
        if (e instanceof KeyPairError) throw new CrossCheckError(`${op}: the key pair it made does not hold together (${e.message}); not timed`);
        throw e;
      }
      return { cert: await certFor(privateKey), key: { keyward: pair }, keyward: kw, spki: Buffer.from(pair.publicKey, 'base64'), release };
    } catch (e) {
      await release();
      throw e;
    }
  }

  /** The provider's token key of this kind; all kinds are made on the first call (see the header). */
  async #tokenKey(p: Provider, tag: Tag): Promise<CertificateKey> {
    let keys = this.#tokens.get(p);
    if (!keys) {
      keys = this.#makeTokenKeys(p);
      this.#tokens.set(p, keys);
    }
    const k = (await keys)[tag];
    return { cert: k.cert, key: { pkcs11: `pkcs11:object=${k.label}` }, spki: k.spki, release: async () => undefined };
  }

  async #makeTokenKeys(p: Provider): Promise<Record<Tag, { label: string; spki: Uint8Array; cert: string }>> {
    if (!hasTokenKeys(p)) throw new TypeError(`the ${p.name} provider cannot make labelled token keys, which the OpenSSL pkcs11 engine needs`);
    const out = {} as Record<Tag, { label: string; spki: Uint8Array; cert: string }>;
    const run = randomBytes(6).toString('hex');
    for (const tag of Object.keys(SPECS) as Tag[]) {
      const label = `keyward-bench-tls-${tag}-${run}`;
      const key = await p.generateKey(SPECS[tag], { token: true, label, extractable: false });
      this.#made.push({ p, key, label });
      // The certificate is signed in the token by the key itself; its public key is the token's.
      const ck = await providerCertKey(p, key);
      out[tag] = { label, spki: ck.spki, cert: await selfSignedCertificate(ck, { subject: SUBJECT }) };
    }
    return out;
  }
}
