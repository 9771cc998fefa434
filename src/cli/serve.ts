// keyward serve: the AWS-KMS-compatible endpoint over the store of --dir, until SIGTERM or SIGINT, then a
// graceful stop (in-flight requests finish, the store is closed cleanly).
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { Keyward } from '../kms/keyward.js';
import { CredentialStore } from '../server/credentials.js';
import { DEFAULT_MAX_BODY_BYTES, jsonLineLogger, KmsServer } from '../server/kms-server.js';
import { intOption, str, UsageError } from './args.js';
import { requireStore, type Command } from './command.js';

export const SERVE_HELP = `usage: keyward [--dir DIR] [--region REGION] serve [--port PORT] [--host HOST]
                     [--cert FILE --key FILE] [--max-body BYTES] [--drain-timeout SECONDS] [--quiet]

Serves the AWS KMS JSON 1.1 API (POST / with X-Amz-Target: TrentService.<Operation>) over the store in
DIR, so the AWS SDKs and CLI work against it with an endpoint override. Every request must be signed
with AWS Signature Version 4 (service kms, the store's region) by an access key made with
\`keyward credentials create --principal NAME\`; it runs as that key's principal, which key policies,
grants and the audit log see. GET /healthz answers {"status":"ok"} without authentication (503 while
stopping).

options:
  --port PORT            TCP port (default 8080; 0 picks a free one, printed at start)
  --host HOST            address to listen on (default 127.0.0.1). Plain HTTP is served on loopback
                         only (127.0.0.0/8, ::1, localhost); any other address needs --cert and --key
  --cert FILE --key FILE PEM certificate chain and private key: serve HTTPS
  --max-body BYTES       largest request body (default ${DEFAULT_MAX_BODY_BYTES}); larger gets 413
                         RequestEntityTooLargeException and the connection stays usable
  --drain-timeout SECONDS
                         on SIGTERM/SIGINT, how long requests in flight may take to finish before
                         their connections are closed (default 30); a second signal stops at once
  --quiet                no access log

Access log: one JSON line per request on stdout: time, requestId, remote, method, path, operation,
principal, accessKeyId, status, error (the AWS exception name), latencyMs. Bodies, keys and secrets are
never logged. Start and stop messages go to stderr.

environment: KEYWARD_DIR, KEYWARD_REGION, KEYWARD_ACCOUNT, KEYWARD_UNSEAL_KEY as for every command.

example:
  keyward init && keyward credentials create --principal alice     # prints the access key as JSON
  keyward serve --port 4566
  AWS_ACCESS_KEY_ID=... AWS_SECRET_ACCESS_KEY=... aws kms create-key --endpoint-url http://127.0.0.1:4566 --region us-east-1`;

/** Loopback: where plain HTTP cannot be read by another machine. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

const serve: Command = {
  name: 'serve',
  help: SERVE_HELP,
  options: {
    port: { type: 'string' }, host: { type: 'string' }, cert: { type: 'string' }, key: { type: 'string' },
    'max-body': { type: 'string' }, 'drain-timeout': { type: 'string' }, quiet: { type: 'boolean' },
  },
  operands: { min: 0, max: 0 },
  async run({ global: g, values }) {
    const port = intOption(values, 'port', 0, 65535) ?? 8080;
    const host = str(values, 'host') ?? '127.0.0.1';
    const certFile = str(values, 'cert');
    const keyFile = str(values, 'key');
    if ((certFile === undefined) !== (keyFile === undefined)) throw new UsageError('--cert and --key go together');
    if (certFile === undefined && !isLoopback(host)) {
      throw new UsageError(`refusing to serve plain HTTP on ${host}: signed requests and plaintext would cross the network unencrypted; give --cert and --key, or use a loopback address`);
    }
    const maxBodyBytes = intOption(values, 'max-body', 1024, 64 * 1024 * 1024) ?? DEFAULT_MAX_BODY_BYTES;
    const drainMs = (intOption(values, 'drain-timeout', 0, 3600) ?? 30) * 1000;
    const tls = certFile !== undefined ? { cert: readFileSync(certFile), key: readFileSync(keyFile!) } : undefined;
    const dir = requireStore(g);

    const kw = await Keyward.open({ dir, create: false, ...(g.region !== undefined ? { region: g.region } : {}) });
    let credentials: CredentialStore | undefined;
    try {
      credentials = CredentialStore.open(dir);
      const server = new KmsServer({
        keyward: kw, credentials, log: values.quiet === true ? () => undefined : jsonLineLogger(), maxBodyBytes, ...(tls ? { tls } : {}),
      });
      const { url } = await server.listen(port, host);
      process.stderr.write(`keyward serve: listening on ${url} (region ${kw.region}, account ${kw.account}); SIGTERM or SIGINT stops it\n`);
      const signal = await Promise.race([once(process, 'SIGTERM'), once(process, 'SIGINT')]);
      process.stderr.write(`keyward serve: ${String(signal[0] ?? 'signal')}: stopping, ${server.inFlight} request(s) in flight\n`);
      const again = () => server.server.closeAllConnections();
      process.once('SIGTERM', again).once('SIGINT', again);
      await server.close(drainMs);
      process.stderr.write('keyward serve: stopped\n');
      return 0;
    } finally {
      credentials?.close();
      await kw.close();
    }
  },
};

export const serveCommands: readonly Command[] = [serve];
