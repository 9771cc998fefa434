// keyward tls: the TLS terminator (SSL offload) in front of a backend; keyward cert: a self-signed
// certificate or a CSR for a key where it lives (a CMK, an HSM token key, a wrapped key pair).
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { AsymmetricKeySpec } from '../crypto/provider.js';
import { loadHsmConfig, type HsmConfig } from '../hsm/config.js';
import { Pkcs11Provider } from '../hsm/pkcs11-provider.js';
import type { Keyward } from '../kms/keyward.js';
import { certificateRequest, keyObjectCertKey, keywardCertKey, providerCertKey, selfSignedCertificate, type CertKey } from '../tls/cert.js';
import { createWrappedKeyPair, readWrappedKeyPair, unwrapPrivateKey } from '../tls/keypair.js';
import { TlsTerminator, type CertificateEntry, type KeySource } from '../tls/terminator.js';
import { choice, intOption, str, UsageError } from './args.js';
import { openStore, type Command } from './command.js';

export const TLS_HELP = `usage: keyward [--dir DIR] tls --listen [HOST:]PORT --backend HOST:PORT --cert FILE --key KEY
                   [--sni NAME=CERTFILE,KEY]... [--proxy-protocol] [--hsm-config FILE]
                   [--min-version 1.2|1.3] [--quiet]

Terminates TLS 1.2 and 1.3 on --listen (host default 127.0.0.1) and forwards the plaintext to --backend,
both ways (back-pressure and half-close kept). The certificate's private key KEY is one of:
  pkcs11:token=LABEL;object=LABEL   a key in the HSM, used through the OpenSSL PKCS#11 engine
                                    (libengine-pkcs11-openssl): every handshake signature is made in the
                                    HSM. Module and PIN from --hsm-config / KEYWARD_HSM_MODULE,
                                    KEYWARD_HSM_TOKEN, KEYWARD_HSM_PIN or KEYWARD_HSM_PIN_FILE
  keyward:FILE                      a key pair wrapped under a CMK (keyward cert --new-keypair FILE),
                                    unwrapped by Decrypt into this process's memory only; needs the store
  FILE                              a PEM private key file
--sni adds a certificate for a server name (*.example.com matches one label); --cert/--key answer clients
without SNI or with another name. SIGHUP reloads every certificate and key for new connections (open
ones continue); if the new ones fail to load the old ones stay and the error is printed. SIGTERM or
SIGINT stops: no new connections, open ones are ended.
--proxy-protocol sends a PROXY protocol v1 line to the backend first. Connection errors go to stderr
(not with --quiet); key material and PINs are never printed.`;

export const CERT_HELP = `usage: keyward [--dir DIR] cert (--key KEY | --hsm LABEL [--generate SPEC] | --keypair FILE |
                    --new-keypair FILE --key KEY --spec SPEC) --cn NAME [--san NAME]... [--days N]
                    [--csr] [--out FILE] [--hsm-config FILE]

A self-signed TLS server certificate (or with --csr a PKCS#10 request) whose to-be-signed bytes are signed
where the key lives:
  --key KEY                a SIGN_VERIFY CMK of the store: the engine's Sign makes the signature
  --hsm LABEL              the HSM token key labelled LABEL: the HSM signs. --generate SPEC first makes
                           it (ECC_NIST_P256, ECC_NIST_P384, RSA_2048, …): non-extractable and sensitive
  --keypair FILE           a wrapped key pair: its private key is unwrapped (Decrypt) in memory to sign
  --new-keypair FILE       first makes a key pair of SPEC wrapped under the CMK --key
                           (GenerateDataKeyPairWithoutPlaintext) and writes it to FILE (mode 0600)
--cn is the subject's common name; --san adds DNS names or IP addresses (default: the CN). The PEM goes
to --out or stdout.`;

const SPECS = ['RSA_2048', 'RSA_3072', 'RSA_4096', 'ECC_NIST_P256', 'ECC_NIST_P384', 'ECC_NIST_P521'] as const;

function hostPort(v: string, what: string, defaultHost?: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(v) ?? (defaultHost !== undefined && /^\d+$/.test(v) ? [v, undefined, defaultHost, v] : null);
  const port = m ? Number(m[3]) : NaN;
  if (!m || !Number.isInteger(port) || port > 65535) throw new UsageError(`expected ${what} as HOST:PORT${defaultHost !== undefined ? ' or PORT' : ''}, got '${v}'`);
  return { host: (m[1] ?? m[2])!, port };
}

function keySource(v: string): KeySource {
  if (v.startsWith('pkcs11:')) return { pkcs11: v };
  if (v.startsWith('keyward:')) return { keyward: resolve(v.slice('keyward:'.length)) };
  return { pemFile: resolve(v) };
}

const list = (v: unknown): string[] => (Array.isArray(v) ? (v as string[]) : typeof v === 'string' ? [v] : []);

function hsmConfig(values: Record<string, unknown>, required: boolean): HsmConfig | undefined {
  const file = str(values as never, 'hsm-config');
  if (!required && file === undefined && process.env.KEYWARD_HSM_MODULE === undefined) return undefined;
  return loadHsmConfig(file !== undefined ? { file } : {});
}

const tlsCommand: Command = {
  name: 'tls',
  help: TLS_HELP,
  options: {
    listen: { type: 'string' }, backend: { type: 'string' }, cert: { type: 'string' }, key: { type: 'string' },
    sni: { type: 'string', multiple: true }, 'proxy-protocol': { type: 'boolean' }, 'hsm-config': { type: 'string' },
    'min-version': { type: 'string' }, quiet: { type: 'boolean' },
  },
  operands: { min: 0, max: 0 },
  async run({ global: g, values }) {
    const listen = hostPort(str(values, 'listen') ?? '', '--listen', '127.0.0.1');
    const backend = hostPort(str(values, 'backend') ?? '', '--backend');
    const certFile = str(values, 'cert');
    const key = str(values, 'key');
    if (certFile === undefined || key === undefined) throw new UsageError('--cert and --key are required');
    const certificates: CertificateEntry[] = [{ certFile: resolve(certFile), key: keySource(key) }];
    for (const s of list(values.sni)) {
      const m = /^([^=]+)=([^,]+),(.+)$/.exec(s);
      if (!m) throw new UsageError(`expected --sni NAME=CERTFILE,KEY, got '${s}'`);
      certificates.push({ servername: m[1]!, certFile: resolve(m[2]!), key: keySource(m[3]!) });
    }
    const min = choice(values, 'min-version', ['1.2', '1.3'] as const);
    const needsHsm = certificates.some((c) => 'pkcs11' in c.key);
    const needsStore = certificates.some((c) => 'keyward' in c.key);
    const hsm = needsHsm ? hsmConfig(values, true) : undefined;
    const log = values.quiet === true ? () => undefined : (line: string) => process.stderr.write(`keyward tls: ${line}\n`);
    const kw: Keyward | undefined = needsStore ? await openStore(g) : undefined;
    try {
      const t = await TlsTerminator.start({
        host: listen.host, port: listen.port, backend, certificates, proxyProtocol: values['proxy-protocol'] === true,
        ...(hsm ? { hsm } : {}), ...(kw ? { keyward: kw } : {}), ...(min ? { minVersion: min === '1.3' ? 'TLSv1.3' : 'TLSv1.2' } : {}), log,
      });
      const a = t.address;
      process.stderr.write(`keyward tls: listening on ${a.address}:${a.port}, forwarding to ${backend.host}:${backend.port}; SIGHUP reloads certificates, SIGTERM or SIGINT stops\n`);
      const onHup = () => {
        t.reload().then(
          () => process.stderr.write(`keyward tls: SIGHUP: certificates reloaded (${t.connections} connection(s) open continue)\n`),
          (e: Error) => process.stderr.write(`keyward tls: SIGHUP: reload failed, the previous certificates stay: ${e.name}: ${e.message}\n`),
        );
      };
      process.on('SIGHUP', onHup);
      const signal = await Promise.race([once(process, 'SIGTERM'), once(process, 'SIGINT')]);
      process.off('SIGHUP', onHup);
      process.stderr.write(`keyward tls: ${String(signal[0] ?? 'signal')}: stopping, ${t.connections} connection(s) open\n`);
      await t.close();
      process.stderr.write('keyward tls: stopped\n');
      return 0;
    } finally {
      await kw?.close();
    }
  },
};

const certCommand: Command = {
  name: 'cert',
  help: CERT_HELP,
  options: {
    key: { type: 'string' }, hsm: { type: 'string' }, generate: { type: 'string' }, keypair: { type: 'string' }, 'new-keypair': { type: 'string' },
    spec: { type: 'string' }, cn: { type: 'string' }, san: { type: 'string', multiple: true }, days: { type: 'string' }, csr: { type: 'boolean' },
    out: { type: 'string' }, 'hsm-config': { type: 'string' },
  },
  operands: { min: 0, max: 0 },
  async run({ global: g, values }) {
    const cn = str(values, 'cn');
    if (cn === undefined) throw new UsageError('--cn NAME is required');
    const sans = list(values.san);
    const subject = { commonName: cn, ...(sans.length > 0 ? { altNames: sans } : {}) };
    const days = intOption(values, 'days', 1, 3650);
    const sources = ['hsm', 'keypair', 'new-keypair'].filter((k) => values[k] !== undefined);
    if (sources.length > 1 || (sources.length === 0 && values.key === undefined)) throw new UsageError('give one of --key, --hsm, --keypair and --new-keypair');
    if (values.generate !== undefined && values.hsm === undefined) throw new UsageError('--generate goes with --hsm');
    if (values.spec !== undefined && values['new-keypair'] === undefined) throw new UsageError('--spec goes with --new-keypair');

    const make = async (key: CertKey): Promise<string> => (values.csr === true ? certificateRequest(key, subject) : selfSignedCertificate(key, { subject, ...(days !== undefined ? { days } : {}) }));
    let pem: string;
    const hsmLabel = str(values, 'hsm');
    if (hsmLabel !== undefined) {
      const provider = new Pkcs11Provider(hsmConfig(values, true)!);
      try {
        const spec = choice(values, 'generate', SPECS);
        const handle = spec !== undefined ? await provider.generateKey(spec as AsymmetricKeySpec, { token: true, label: hsmLabel, extractable: false }) : provider.openKey(hsmLabel);
        pem = await make(await providerCertKey(provider, handle));
      } finally {
        provider.close();
      }
    } else {
      const kw = await openStore(g);
      try {
        const newPair = str(values, 'new-keypair');
        const pairFile = str(values, 'keypair');
        if (newPair !== undefined) {
          const cmk = str(values, 'key');
          const spec = choice(values, 'spec', SPECS);
          if (cmk === undefined || spec === undefined) throw new UsageError('--new-keypair needs --key CMK and --spec SPEC');
          const pair = await createWrappedKeyPair(kw, cmk, spec as AsymmetricKeySpec);
          writeFileSync(newPair, `${JSON.stringify(pair, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
          pem = await make(keyObjectCertKey(await unwrapPrivateKey(kw, pair)));
        } else if (pairFile !== undefined) {
          pem = await make(keyObjectCertKey(await unwrapPrivateKey(kw, readWrappedKeyPair(pairFile))));
        } else {
          pem = await make(await keywardCertKey(kw, str(values, 'key')!));
        }
      } finally {
        await kw.close();
      }
    }
    const out = str(values, 'out');
    if (out === undefined || out === '-') process.stdout.write(pem);
    else writeFileSync(out, pem);
    return 0;
  },
};

export const tlsCommands: readonly Command[] = [tlsCommand, certCommand];
