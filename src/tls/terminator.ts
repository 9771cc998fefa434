// SSL offload: a TLS 1.2/1.3 front that terminates client connections with certificates whose private
// keys are (a) HSM objects, used through the OpenSSL PKCS#11 engine (libp11; every handshake signature is
// made in the token), (b) key pairs wrapped under a Keyward CMK, unwrapped by Decrypt into this process
// only, or (c) PEM files; and forwards the plaintext to a backend TCP address, both directions, with
// stream.pipeline (back-pressure, half-close, errors) and optionally a PROXY protocol v1 header. Several
// certificates are chosen by SNI; reload() swaps them for new connections while open ones carry on.
//
// The engine: Node's bundled OpenSSL 3 loads Debian's engine (libengine-pkcs11-openssl) from
// OPENSSL_ENGINES, and libp11 reads PKCS11_MODULE_PATH once, when the engine first loads, so one process
// serves keys of one PKCS#11 module; it also lists a token's keys once (a key made later needs a
// restart). Handshake signatures run on the event loop's thread (Node's TLS has no asynchronous
// private-key hook), so an HSM's signing latency is paid by every connection of this process.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import net, { type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { pipeline } from 'node:stream';
import tls, { type SecureContextOptions, type TLSSocket } from 'node:tls';
import { readPin, type HsmConfig } from '../hsm/config.js';
import type { Keyward } from '../kms/keyward.js';
import { peekServerName } from './client-hello.js';
import { pkcs8PemBuffer, readWrappedKeyPair, unwrapPkcs8, type WrappedKeyPair } from './keypair.js';

/** Configuration that cannot serve: unreadable or mismatched certificate, a key that does not load, a wrong PIN. */
export class TlsConfigError extends Error {
  override name = 'TlsConfigError';
}

/** Where a certificate's private key is. */
export type KeySource =
  /** An HSM private key by PKCS#11 URI (RFC 7512), e.g. pkcs11:token=keyward;object=web-ec;type=private. */
  | { pkcs11: string }
  /** A key pair wrapped under a CMK: a wrapped key pair file, or its content. */
  | { keyward: string | WrappedKeyPair }
  /** A PEM private key file. */
  | { pemFile: string };

export interface CertificateEntry {
  /** The SNI host name this certificate answers ('*.example.com' matches one label); absent: the default. */
  servername?: string;
  /** PEM certificate chain file, leaf first. */
  certFile: string;
  key: KeySource;
}

export interface TerminatorOptions {
  host?: string;
  /** 0 picks a free port. */
  port: number;
  backend: { host: string; port: number };
  /** The first entry without a servername is the default (for clients that send no SNI or an unknown name). */
  certificates: CertificateEntry[];
  /** Send `PROXY TCP4|TCP6 src dst sport dport\r\n` (PROXY protocol v1) to the backend first. */
  proxyProtocol?: boolean;
  /** The PKCS#11 module and PIN (and token label, added to URIs that name none) for pkcs11 keys. */
  hsm?: HsmConfig;
  /** The engine that unwraps keyward keys (its principal needs kms:Decrypt on the CMK). */
  keyward?: Keyward;
  minVersion?: 'TLSv1.2' | 'TLSv1.3';
  maxVersion?: 'TLSv1.2' | 'TLSv1.3';
  /** Connection events and errors, one line each; never key material. */
  log?: (line: string) => void;
}

/** Where Debian's libengine-pkcs11-openssl installs the engine for OpenSSL 3. */
export const DEBIAN_ENGINES_DIR = '/usr/lib/x86_64-linux-gnu/engines-3';

let engineModule: string | undefined;

/** Points the OpenSSL engine loader at the pkcs11 engine and libp11 at the module (once per process). */
function prepareEngine(hsm: HsmConfig | undefined): HsmConfig {
  if (!hsm) throw new TlsConfigError('a pkcs11: key needs the HSM config (module and PIN): --hsm-config FILE or KEYWARD_HSM_MODULE and KEYWARD_HSM_PIN');
  const dir = process.env.OPENSSL_ENGINES ?? DEBIAN_ENGINES_DIR;
  if (!existsSync(join(dir, 'pkcs11.so'))) {
    throw new TlsConfigError(`the OpenSSL PKCS#11 engine ${join(dir, 'pkcs11.so')} is missing: install it with \`sudo apt-get install libengine-pkcs11-openssl\` (Debian/Ubuntu) or set OPENSSL_ENGINES to the directory holding pkcs11.so`);
  }
  if (!existsSync(hsm.module)) throw new TlsConfigError(`the PKCS#11 module ${hsm.module} does not exist`);
  if (engineModule !== undefined && engineModule !== hsm.module) {
    throw new TlsConfigError(`the pkcs11 engine of this process already uses the module ${engineModule}; one process serves keys of one PKCS#11 module`);
  }
  process.env.OPENSSL_ENGINES = dir;
  process.env.PKCS11_MODULE_PATH = hsm.module;
  engineModule = hsm.module;
  return hsm;
}

/** RFC 7512 §2.3: a pchar outside the unreserved set is percent-encoded. */
const pct = (s: string): string => s.replace(/[^A-Za-z0-9\-._~]/g, (c) => [...Buffer.from(c)].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join(''));

/** A PKCS#11 URI without its PIN, for messages. */
export function redactUri(uri: string): string {
  return uri.replace(/([:;?])pin-value=[^;?]*/g, '$1pin-value=REDACTED');
}

/**
 * The URI the engine gets: type=private, the config's token when the URI names none, and pin-source, a
 * file holding the PIN. Never pin-value: libp11 prints the whole URI to stderr when a key is not found.
 * A PIN given by value is written to a 0600 file in a fresh 0700 directory, removed by the returned
 * cleanup once the engine has logged in (it reads the PIN when the key is loaded).
 */
function engineUri(uri: string, hsm: HsmConfig): { uri: string; cleanup: () => void } {
  if (!/^pkcs11:/.test(uri)) throw new TlsConfigError(`'${redactUri(uri)}' is not a PKCS#11 URI (pkcs11:token=LABEL;object=LABEL)`);
  const attrs = uri.slice('pkcs11:'.length).split('?')[0]!.split(';').filter((a) => a.length > 0);
  const has = (k: string) => attrs.some((a) => a.startsWith(`${k}=`));
  if (!has('object') && !has('id')) throw new TlsConfigError(`the PKCS#11 URI '${redactUri(uri)}' names no key: add object=LABEL (or id=)`);
  if (has('pin-value')) throw new TlsConfigError(`the PKCS#11 URI '${redactUri(uri)}' holds a PIN: give it by KEYWARD_HSM_PIN or a PIN file instead`);
  const out = [...attrs];
  if (!has('type')) out.push('type=private');
  if (!has('token') && !has('slot-id') && hsm.tokenLabel !== undefined) out.push(`token=${pct(hsm.tokenLabel)}`);
  let cleanup = () => undefined as void;
  if (!has('pin-source')) {
    let file = hsm.pinFile;
    if (file === undefined) {
      const d = mkdtempSync(join(tmpdir(), 'keyward-pin-'));
      file = join(d, 'pin');
      const pin = Buffer.from(readPin(hsm));
      try {
        writeFileSync(file, pin, { mode: 0o600 });
      } finally {
        pin.fill(0);
      }
      cleanup = () => rmSync(d, { recursive: true, force: true });
    } else {
      readPin(hsm); // checks the file's permissions and that it is not empty
    }
    out.push(`pin-source=file:${file}`);
  }
  return { uri: `pkcs11:${out.join(';')}`, cleanup };
}

function readCert(file: string): Buffer {
  let pem: Buffer;
  try {
    pem = readFileSync(file);
  } catch (e) {
    throw new TlsConfigError(`cannot read the certificate file ${file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  return pem;
}

function keyLabel(k: KeySource): string {
  if ('pkcs11' in k) return `the HSM key ${redactUri(k.pkcs11)}`;
  if ('pemFile' in k) return `the key file ${k.pemFile}`;
  return typeof k.keyward === 'string' ? `the wrapped key pair ${k.keyward}` : `the key pair wrapped under ${k.keyward.keyId}`;
}

/** One certificate's secure context; a bad certificate, key or PIN fails here, with the entry named. */
async function loadContext(e: CertificateEntry, o: TerminatorOptions): Promise<tls.SecureContext> {
  const cert = readCert(e.certFile);
  const base: SecureContextOptions = { cert, minVersion: o.minVersion ?? 'TLSv1.2', maxVersion: o.maxVersion ?? 'TLSv1.3' };
  let options: SecureContextOptions;
  let wipe = () => undefined as void;
  const k = e.key;
  if ('pkcs11' in k) {
    const engine = engineUri(k.pkcs11, prepareEngine(o.hsm));
    options = { ...base, privateKeyEngine: 'pkcs11', privateKeyIdentifier: engine.uri };
    wipe = engine.cleanup;
  } else if ('pemFile' in k) {
    let key: Buffer;
    try {
      key = readFileSync(k.pemFile);
    } catch (err) {
      throw new TlsConfigError(`cannot read the key file ${k.pemFile}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    }
    options = { ...base, key };
    wipe = () => key.fill(0);
  } else {
    if (!o.keyward) throw new TlsConfigError('a keyward key pair needs the Keyward store to unwrap it (--dir)');
    const pair = typeof k.keyward === 'string' ? readWrappedKeyPair(k.keyward) : k.keyward;
    let der: Uint8Array;
    try {
      der = await unwrapPkcs8(o.keyward, pair);
    } catch (err) {
      throw new TlsConfigError(`cannot unwrap ${keyLabel(k)}: ${(err as Error).name}: ${(err as Error).message}`);
    }
    const key = pkcs8PemBuffer(der);
    der.fill(0);
    options = { ...base, key };
    wipe = () => key.fill(0);
  }
  try {
    return tls.createSecureContext(options);
  } catch (err) {
    throw new TlsConfigError(`cannot use the certificate ${e.certFile} with ${keyLabel(k)}: ${explain(err as Error, 'pkcs11' in k)}`);
  } finally {
    // OpenSSL holds its own copy of the key now; ours is zeroed.
    wipe();
  }
}

/** OpenSSL's reason, with what it usually means here. */
function explain(err: Error, engineKey: boolean): string {
  const m = err.message.match(/error:[0-9A-F]+:[^:]*:[^:]*:([^:\n]+)/i)?.[1] ?? err.message;
  if (/key values mismatch/i.test(m)) {
    return engineKey
      // Seen with SoftHSM2: libp11 lists the token's keys once per process, and a key made after that is
      // not found by its label; the engine then hands back another key.
      ? 'the key the pkcs11 engine loaded does not match the certificate\'s public key (key values mismatch): check the object label; a token key made after this process first used the engine needs a restart'
      : 'the private key does not match the certificate\'s public key (key values mismatch)';
  }
  if (engineKey) return `the pkcs11 engine could not load the key (${m}): check the token label, the object label and the PIN`;
  if (/no start line|bad end line|PEM/i.test(m)) return `it is not PEM (${m})`;
  return m;
}

interface Loaded {
  byDefault: tls.SecureContext;
  byName: Map<string, tls.SecureContext>;
}

function servernameOf(e: CertificateEntry): string | undefined {
  if (e.servername === undefined) return undefined;
  const n = e.servername.toLowerCase();
  if (!/^(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/.test(n)) throw new TlsConfigError(`'${e.servername}' is not a host name or *.wildcard`);
  return n;
}

async function load(certificates: CertificateEntry[], o: TerminatorOptions): Promise<Loaded> {
  if (!Array.isArray(certificates) || certificates.length === 0) throw new TlsConfigError('no certificate given');
  const byName = new Map<string, tls.SecureContext>();
  let byDefault: tls.SecureContext | undefined;
  for (const e of certificates) {
    const name = servernameOf(e);
    if (name !== undefined && byName.has(name)) throw new TlsConfigError(`two certificates for the server name ${name}`);
    const context = await loadContext(e, o);
    if (name !== undefined) byName.set(name, context);
    else byDefault ??= context;
  }
  // No entry without a name: the first one also answers clients without (or with an unknown) SNI.
  return { byDefault: byDefault ?? byName.get(servernameOf(certificates[0]!)!)!, byName };
}

/** PROXY protocol v1 header (haproxy proxy-protocol.txt §2.1) for a client connection. */
export function proxyHeader(s: { remoteAddress?: string | undefined; remotePort?: number | undefined; localAddress?: string | undefined; localPort?: number | undefined }): string {
  const strip = (a: string) => a.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/, '');
  const src = s.remoteAddress === undefined ? undefined : strip(s.remoteAddress);
  const dst = s.localAddress === undefined ? undefined : strip(s.localAddress);
  if (src === undefined || dst === undefined || s.remotePort === undefined || s.localPort === undefined) return 'PROXY UNKNOWN\r\n';
  const fam = net.isIPv4(src) && net.isIPv4(dst) ? 'TCP4' : net.isIPv6(src) && net.isIPv6(dst) ? 'TCP6' : undefined;
  if (!fam) return 'PROXY UNKNOWN\r\n';
  return `PROXY ${fam} ${src} ${dst} ${s.remotePort} ${s.localPort}\r\n`;
}

/** How long a client may take to send its ClientHello and finish the handshake. */
const HANDSHAKE_MS = 10_000;

export class TlsTerminator {
  readonly #o: TerminatorOptions;
  readonly #server: net.Server;
  readonly #log: (line: string) => void;
  readonly #open = new Set<TLSSocket>();
  /** Every TCP connection, handshaking or not: what close() destroys once the grace time is over. */
  readonly #raw = new Set<net.Socket>();
  #contexts: Loaded;

  private constructor(o: TerminatorOptions, loaded: Loaded) {
    this.#o = { ...o }; // reload() replaces the certificate list in this copy, not in the caller's object
    this.#log = o.log ?? (() => undefined);
    this.#contexts = loaded;
    this.#server = net.createServer({ allowHalfOpen: true }, (raw) => this.#accept(raw));
  }

  /** Loads every certificate and key (failing with a TlsConfigError naming the bad one) and listens. */
  static async start(o: TerminatorOptions): Promise<TlsTerminator> {
    if (!o.backend || typeof o.backend.host !== 'string' || !Number.isInteger(o.backend.port) || o.backend.port < 1 || o.backend.port > 65535) {
      throw new TlsConfigError('expected the backend as { host, port } with a port in 1..65535');
    }
    const t = new TlsTerminator(o, await load(o.certificates, o));
    await new Promise<void>((resolve, reject) => {
      t.#server.once('error', reject);
      t.#server.listen(o.port, o.host ?? '127.0.0.1', () => {
        t.#server.off('error', reject);
        resolve();
      });
    });
    return t;
  }

  get address(): AddressInfo {
    return this.#server.address() as AddressInfo;
  }

  /** Open client connections. */
  get connections(): number {
    return this.#open.size;
  }

  /**
   * Loads the certificates again (from the same files, or a new list) for new connections; open ones
   * keep their session. On any error the old certificates stay in service and the error is thrown.
   */
  async reload(certificates: CertificateEntry[] = this.#o.certificates): Promise<void> {
    this.#contexts = await load(certificates, this.#o);
    this.#o.certificates = certificates;
  }

  /** Stops accepting, lets open connections end (half-closing both ways), destroys what is left after graceMs. */
  async close(graceMs = 5000): Promise<void> {
    const closed = new Promise<void>((r) => this.#server.close(() => r()));
    for (const s of this.#open) s.end();
    const timer = setTimeout(() => {
      for (const s of this.#raw) s.destroy();
    }, graceMs);
    await closed;
    clearTimeout(timer);
  }

  /** The context for a requested server name: exact, then a one-label wildcard, then the default. */
  #contextFor(name: string | undefined): tls.SecureContext {
    const { byName, byDefault } = this.#contexts;
    if (name === undefined) return byDefault;
    const n = name.toLowerCase();
    const dot = n.indexOf('.');
    return byName.get(n) ?? (dot > 0 ? byName.get(`*${n.slice(dot)}`) : undefined) ?? byDefault;
  }

  // The ClientHello is read first so the connection gets exactly one certificate's context (see client-hello.ts).
  #accept(raw: net.Socket): void {
    this.#raw.add(raw);
    raw.once('close', () => this.#raw.delete(raw));
    const peer = `${raw.remoteAddress ?? '?'}:${raw.remotePort ?? '?'}`;
    peekServerName(raw, HANDSHAKE_MS).then((name) => {
      const client = new tls.TLSSocket(raw, { isServer: true, secureContext: this.#contextFor(name) });
      // Two pipelines and this class each listen for 'close' and 'error': more than the default 10.
      client.setMaxListeners(20);
      const timer = setTimeout(() => client.destroy(), HANDSHAKE_MS);
      client.once('secure', () => {
        clearTimeout(timer);
        this.#forward(client, peer);
      });
      client.on('error', (err: Error) => {
        if (!this.#open.has(client)) this.#log(`tls ${peer} handshake failed: ${err.message.split('\n')[0]}`);
      });
      client.once('close', () => clearTimeout(timer));
    }, (err: Error) => {
      this.#log(`tls ${peer}: ${err.message}`);
      raw.destroy();
    });
  }

  #forward(client: TLSSocket, peer: string): void {
    this.#open.add(client);
    client.once('close', () => this.#open.delete(client));
    const backend = net.connect({ host: this.#o.backend.host, port: this.#o.backend.port, allowHalfOpen: true });
    backend.setNoDelay(true);
    if (this.#o.proxyProtocol) backend.write(proxyHeader(client));
    const done = (dir: string) => (err?: NodeJS.ErrnoException | null) => {
      if (!err) return;
      this.#log(`tls ${peer} ${dir}: ${err.code ?? err.message}`);
      // Either side failing ends the connection: the client is told with close_notify and FIN (not left waiting).
      backend.destroy();
      if (!client.destroyed) client.end(() => client.destroy());
    };
    pipeline(client, backend, done('client→backend'));
    pipeline(backend, client, done('backend→client'));
  }
}
