// keyward serve: the AWS-KMS-compatible endpoint, the XKS proxy API and /metrics on one listener over the
// store of --dir, until SIGTERM or SIGINT, then a graceful stop (in-flight requests finish, the store is
// closed cleanly). Settings come from flags, KEYWARD_SERVE_* and a config file (serve-config.ts).
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { CredentialStore } from '../server/credentials.js';
import { KmsError } from '../kms/errors.js';
import { DEFAULT_MAX_BODY_BYTES, jsonLineLogger, KmsServer } from '../server/kms-server.js';
import { XksProxy } from '../server/xks.js';
import { XKS_CREDENTIALS_FILE, XksKeysError } from '../server/xks-keys.js';
import { UsageError } from './args.js';
import { openKeyward, postgresUrl, requireStore, type Command } from './command.js';
import { resolveServeConfig } from './serve-config.js';

export const SERVE_HELP = `usage: keyward [--dir DIR] [--region REGION] serve [--config FILE] [--port PORT] [--host HOST]
                     [--cert FILE --key FILE] [--max-body BYTES] [--drain-timeout SECONDS] [--quiet]
                     [--no-metrics] [--no-xks] [--xks-path-prefix PREFIX] [--xks-region REGION]
                     [--postgres URL]

Serves the AWS KMS JSON 1.1 API (POST / with X-Amz-Target: TrentService.<Operation>) over the store in
DIR, so the AWS SDKs and CLI work against it with an endpoint override. Every request must be signed
with AWS Signature Version 4 (service kms, the store's region) by an access key made with
\`keyward credentials create --principal NAME\`; it runs as that key's principal, which key policies,
grants and the audit log see. GET /healthz answers {"status":"ok"} without authentication (503 while
stopping).

The same listener serves the AWS KMS external key store (XKS) proxy API, so AWS KMS can keep an
external key store's keys in Keyward: POST PREFIX/kms/xks/v1/health and
PREFIX/kms/xks/v1/keys/ID/metadata|encrypt|decrypt, signed with SigV4 (service kms-xks-proxy) by an
access key made with \`keyward xks create-credentials\` (not a KMS access key). External keys are made
with \`keyward xks create-key\`; \`keyward xks disable\` refuses every XKS operation at once while
serving (kill switch), \`keyward xks enable\` serves them again. See \`keyward xks --help\`.

GET /metrics serves Prometheus metrics without authentication: keyward_requests_total{operation,status},
keyward_request_errors_total{operation,error}, keyward_request_duration_seconds{operation} (histogram),
keyward_requests_in_flight and keyward_hsm_member_up{member}.

Several nodes: \`--postgres URL\` (or KEYWARD_POSTGRES_URL), a global option every store command takes,
keeps the keys in that PostgreSQL database (schema keyward) instead of DIR/keyward.db, shared by every
\`keyward serve\` given the same URL: a key made through one node is usable through all, rotations and
deletions are seen by all. \`keyward --postgres URL init\` initializes the database and makes DIR with its
unseal key; \`keyward --postgres URL credentials create\`, \`create-key\` and the other commands then work on
that store. Each node keeps its own DIR with the same unseal key (unseal.key or KEYWARD_UNSEAL_KEY) and
the same credentials: copy unseal.key and credentials.json from the first node's DIR into the others'.
A serve started on an empty database initializes it as init does, under its DIR's unseal key (created
there if missing). Its first connection gives up after the URL's connect_timeout (seconds; default 10).

options (flag / environment variable / config file key):
  --config FILE            KEYWARD_SERVE_CONFIG           a JSON object of the keys below
  --port PORT              KEYWARD_SERVE_PORT  port       TCP port (default 8080; 0 picks a free one,
                                                          printed at start)
  --host HOST              KEYWARD_SERVE_HOST  host       address to listen on (default 127.0.0.1). Plain
                                                          HTTP is served on loopback only (127.0.0.0/8,
                                                          ::1, localhost); any other address needs a
                                                          certificate and key
  --cert FILE              KEYWARD_SERVE_CERT  cert       PEM certificate chain, and with
  --key FILE               KEYWARD_SERVE_KEY  key         its PEM private key: serve HTTPS
  --max-body BYTES         KEYWARD_SERVE_MAX_BODY  maxBody
                                                          largest request body (default ${DEFAULT_MAX_BODY_BYTES});
                                                          larger gets 413 (XKS: 501) and the connection
                                                          stays usable
  --drain-timeout SECONDS  KEYWARD_SERVE_DRAIN_TIMEOUT  drainTimeout
                                                          on SIGTERM/SIGINT, how long requests in flight
                                                          may take before their connections are closed
                                                          (default 30); a second signal stops at once
  --quiet                  KEYWARD_SERVE_QUIET  quiet     no access log
  --no-metrics             KEYWARD_SERVE_METRICS  metrics no GET /metrics (default: served)
  --no-xks                 KEYWARD_SERVE_XKS  xks         no XKS proxy API (default: served)
  --xks-path-prefix PREFIX KEYWARD_SERVE_XKS_PATH_PREFIX  xksPathPrefix
                                                          the path before /kms/xks/v1 (default none), e.g.
                                                          /keystores/ks1: letters, digits, / - _
  --xks-region REGION      KEYWARD_SERVE_XKS_REGION  xksRegion
                                                          the region AWS KMS signs XKS requests for
                                                          (default: the store's region)
A flag wins over its environment variable, which wins over the config file. Booleans in the environment
are true, false, 1 or 0. Example config file:
  {"port": 4566, "host": "127.0.0.1", "drainTimeout": 10, "xksPathPrefix": "/keystores/ks1"}

Access log: one JSON line per request on stdout: time, requestId, remote, method, path, operation,
principal, accessKeyId, status, error (the AWS or XKS exception name), latencyMs, and for XKS requests
xks: externalKeyId, kmsRequestId, kmsOperation, awsPrincipalArn, kmsKeyArn, kmsViaService, and why an
allow list denied it. Bodies, keys and secrets are never logged. Start and stop messages go to stderr.

environment: KEYWARD_DIR, KEYWARD_REGION, KEYWARD_ACCOUNT, KEYWARD_UNSEAL_KEY, KEYWARD_POSTGRES_URL as for
every command.

example:
  keyward init && keyward credentials create --principal alice     # prints the access key as JSON
  keyward serve --port 4566
  # or on PostgreSQL (each further node: its own DIR with copies of unseal.key and credentials.json)
  export KEYWARD_POSTGRES_URL=postgresql://keyward@db.internal/keyward
  keyward init && keyward credentials create --principal alice && keyward serve --port 4566
  AWS_ACCESS_KEY_ID=... AWS_SECRET_ACCESS_KEY=... aws kms create-key --endpoint-url http://127.0.0.1:4566 --region us-east-1`;

/** Loopback: where plain HTTP cannot be read by another machine. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

const serve: Command = {
  name: 'serve',
  help: SERVE_HELP,
  options: {
    config: { type: 'string' }, port: { type: 'string' }, host: { type: 'string' }, cert: { type: 'string' }, key: { type: 'string' },
    'max-body': { type: 'string' }, 'drain-timeout': { type: 'string' }, quiet: { type: 'boolean' },
    'no-metrics': { type: 'boolean' }, 'no-xks': { type: 'boolean' }, 'xks-path-prefix': { type: 'string' }, 'xks-region': { type: 'string' },
  },
  operands: { min: 0, max: 0 },
  async run({ global: g, values }) {
    const c = resolveServeConfig(values);
    if ((c.cert === undefined) !== (c.key === undefined)) throw new UsageError('--cert and --key go together (also as KEYWARD_SERVE_CERT and KEYWARD_SERVE_KEY, or cert and key in the config file)');
    if (c.cert === undefined && !isLoopback(c.host)) {
      throw new UsageError(`refusing to serve plain HTTP on ${c.host}: signed requests and plaintext would cross the network unencrypted; give --cert and --key, or use a loopback address`);
    }
    const tls = c.cert !== undefined ? { cert: readFileSync(c.cert), key: readFileSync(c.key!) } : undefined;
    const postgres = postgresUrl(g);
    // With PostgreSQL, DIR holds only the unseal key, the lock and the credentials: no keyward.db.
    const dir = postgres === undefined ? requireStore(g) : resolve(g.dir);

    // Caught before the store is opened: a signal during start-up then stops it as one while serving does
    // (whatever was opened is closed, the lock file removed, exit 0) instead of killing the process.
    let stopSignal: NodeJS.Signals | undefined;
    const stop = new Promise<NodeJS.Signals>((resolve) => {
      const on = (signal: NodeJS.Signals) => resolve((stopSignal ??= signal));
      process.once('SIGTERM', on).once('SIGINT', on);
    });
    // The first node on an empty database initializes it; a plain DIR must have been made by keyward init.
    const kw = await openKeyward(g, dir, { create: postgres !== undefined });
    let credentials: CredentialStore | undefined;
    let xksCredentials: CredentialStore | undefined;
    try {
      credentials = CredentialStore.open(dir);
      let xks: XksProxy | undefined;
      if (c.xks) {
        xksCredentials = CredentialStore.open(dir, { file: XKS_CREDENTIALS_FILE });
        try {
          xks = new XksProxy({ keyward: kw, dir, credentials: xksCredentials, pathPrefix: c.xksPathPrefix, ...(c.xksRegion !== undefined ? { region: c.xksRegion } : {}) });
        } catch (e) {
          if (e instanceof KmsError) throw new UsageError(e.message);
          throw e;
        }
        if (xks.keyFileError !== undefined) throw new XksKeysError(xks.keyFileError);
      }
      const server = new KmsServer({
        keyward: kw, credentials, log: c.quiet ? () => undefined : jsonLineLogger(), maxBodyBytes: c.maxBodyBytes, serveMetrics: c.metrics,
        ...(tls ? { tls } : {}), ...(xks ? { xks } : {}),
      });
      if (stopSignal === undefined) {
        const { url } = await server.listen(c.port, c.host);
        const xksNote = xks ? `; XKS proxy at ${url}${xks.basePath}${xks.disabled ? ' (disabled by the kill switch)' : ''}` : '';
        process.stderr.write(`keyward serve: listening on ${url} (region ${kw.region}, account ${kw.account})${xksNote}; SIGTERM or SIGINT stops it\n`);
      }
      const signal = await stop;
      process.stderr.write(`keyward serve: ${signal}: stopping, ${server.inFlight} request(s) in flight\n`);
      const again = () => server.server.closeAllConnections();
      process.once('SIGTERM', again).once('SIGINT', again);
      await server.close(c.drainTimeoutS * 1000);
      process.stderr.write('keyward serve: stopped\n');
      return 0;
    } finally {
      credentials?.close();
      xksCredentials?.close();
      await kw.close();
    }
  },
};

export const serveCommands: readonly Command[] = [serve];
