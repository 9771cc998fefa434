#!/usr/bin/env node
// The `keyward` command: parses the command line, runs one command, prints failures as
// `keyward <command>: <ExceptionName>: <message>` (exit 1) and usage errors with the usage text (exit 64).
import { readFileSync } from 'node:fs';
import { selfTest } from '../crypto/selftest.js';
import { EnvelopeError } from '../keys/envelope.js';
import { globalOptions, parse, splitCommand, UsageError } from './args.js';
import { auditCommands } from './audit.js';
import { benchCommands } from './bench.js';
import type { Command } from './command.js';
import { credentialCommands } from './credentials.js';
import { dataCommands } from './data.js';
import { FileError, watchStdout } from './io.js';
import { keyCommands } from './keys.js';
import { serveCommands } from './serve.js';
import { XKS_HELP, xksCommands } from './xks.js';
import { tlsCommands } from './tls.js';

const USAGE = `usage: keyward [--dir DIR] [--region REGION] [--json] <command> [options]

store and keys:
  init                           create the store in DIR: the directory (0700), unseal.key (0600), the
                                 database and the region key; refuses a directory that holds a store.
                                 With --postgres, the database is that PostgreSQL one (refused if it
                                 holds a store already) and DIR keeps the unseal key and credentials
  create-key [--spec SPEC] [--usage USAGE] [--description TEXT] [--alias alias/NAME] [--origin ORIGIN]
                                 SPEC: SYMMETRIC_DEFAULT (default), RSA_2048, RSA_3072, RSA_4096,
                                 ECC_NIST_P256, ECC_NIST_P384, ECC_NIST_P521, ECC_SECG_P256K1, HMAC_256,
                                 HMAC_384, HMAC_512; USAGE: ENCRYPT_DECRYPT, SIGN_VERIFY,
                                 GENERATE_VERIFY_MAC (default: the spec's only usage, else ENCRYPT_DECRYPT);
                                 ORIGIN: AWS_KMS (default) or AWS_CLOUDHSM (a non-extractable key in the HSM)
  list-keys                      key ids, ARNs and aliases
  describe-key KEY               the key's metadata
  rotate KEY                     a new key version now (RotateKeyOnDemand); older versions still decrypt
  schedule-deletion KEY [--days N]
                                 delete the key after N days, 7 to 30 (default 30)

data:
  encrypt --key KEY [--context K=V]... [--in FILE|-] [--out FILE|-]
                                 encrypt any amount of data under a new data key (GenerateDataKey
                                 AES_256) in the KWENV envelope format; stdin to stdout by default
  decrypt [--context K=V]... [--in FILE|-] [--out FILE|-]
                                 decrypt an envelope (no key needed: the envelope names it); an --out file
                                 appears only once all of it verified; on stdout, verified 64 KiB segments
                                 are written as they come, so trust them only if keyward exits 0
  sign --key KEY --algorithm ALG [--digest] [--base64] [--in FILE|-] [--out FILE|-]
                                 sign a message of up to 4096 bytes, or with --digest its digest;
                                 writes the signature bytes, or with --base64 a base64 line
  verify --key KEY --algorithm ALG --signature FILE [--digest] [--base64] [--in FILE|-]
                                 exit 0 if the signature (bytes, or with --base64 base64 text) is valid
                                 for the message, 1 if it is not

server:
  serve [--port PORT] [--host HOST] [--cert FILE --key FILE] [--max-body BYTES] [--quiet]
                                 serve the AWS KMS JSON API with SigV4 authentication (HTTP on
                                 127.0.0.1:8080 by default); \`keyward serve --help\` says more
  credentials create --principal NAME
                                 a new access key for the server, printed as JSON; NAME is an IAM user
                                 name (arn:aws:iam::ACCOUNT:user/NAME) or a principal ARN
  credentials list               access key ids and their principals (no secrets)
  xks create-credentials | create-key | set-allow-list | disable-key | enable-key | disable | enable | list
                                 the XKS proxy of keyward serve: its access keys, external keys under
                                 a KMS key, allow lists, and the kill switch; \`keyward xks --help\` says more

TLS (SSL offload):
  tls --listen [HOST:]PORT --backend HOST:PORT --cert FILE --key KEY [--sni NAME=CERT,KEY]...
                                 terminate TLS 1.2/1.3 with a key in the HSM (pkcs11: URI), wrapped under
                                 a CMK (keyward:FILE) or in a PEM file, and forward plaintext to the
                                 backend; SIGHUP reloads certificates; \`keyward tls --help\` says more
  cert (--key KEY | --hsm LABEL | --keypair FILE | --new-keypair FILE --key KEY --spec SPEC) --cn NAME
                                 a self-signed certificate or (--csr) a CSR, signed where the key lives

benchmark:
  bench [--suite LIST] [--providers wasm,node,pkcs11] [--seconds S] [--html FILE]
        [--hsm CONFIG | --module PATH --token LABEL]
                                 ops/s, MB/s and latency of the WASM core, OpenSSL and your HSM on this
                                 machine (crypto, engine, TLS handshakes, the KMS endpoint), each answer
                                 checked first; \`keyward bench --help\` says more
  bench compare A.json B.json    the ratios between two reports of bench --json

audit:
  audit verify                   check the audit log's hash chain and head: exit 0 with the record count
                                 when intact, exit 1 with the first broken seq and the reason
  audit tail [-n N]              the last N records (default 20), one a line: time, principal,
                                 operation, key, outcome (JSON lines with --json)

other:
  selftest                       run the known-answer self-tests of the WASM crypto core (SHA-2, HMAC,
                                 HKDF, AES-GCM, ECDSA)
  version                        print the version
  help                           print this help

KEY is a key id, key ARN, alias name (alias/NAME) or alias ARN. ALG is one of ECDSA_SHA_256,
ECDSA_SHA_384, ECDSA_SHA_512, RSASSA_PSS_SHA_256, RSASSA_PSS_SHA_384, RSASSA_PSS_SHA_512,
RSASSA_PKCS1_V1_5_SHA_256, RSASSA_PKCS1_V1_5_SHA_384, RSASSA_PKCS1_V1_5_SHA_512.
--dir defaults to $KEYWARD_DIR, else ./.keyward; --region to $KEYWARD_REGION, else us-east-1. The unseal
key is $KEYWARD_UNSEAL_KEY when set, else DIR/unseal.key. --hsm (or $KEYWARD_HSM_CONFIG) names an HSM
config file (one token, or a cluster's "members"; PIN from $KEYWARD_HSM_PIN or a pinFile), else
$KEYWARD_HSM_MODULE, $KEYWARD_HSM_TOKEN (or _SLOT) and $KEYWARD_HSM_PIN (or _PIN_FILE) alone: init then
keeps the region key in the HSM and makes no unseal key, and every command of that store needs it.
--postgres (or $KEYWARD_POSTGRES_URL) postgresql://USER[:PASSWORD]@HOST[:PORT]/DATABASE keeps the keys in
that database (schema keyward) instead of DIR/keyward.db, one store shared by several \`keyward serve\`
nodes; every command of that store needs it, and DIR still holds the unseal key, lock and credentials.
--json prints JSON for create-key, list-keys, describe-key, rotate, schedule-deletion, verify and audit.
Exit status: 0 success; 1 failure, printed as "keyward COMMAND: ExceptionName: message"; 64 usage error.`;

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

function help(): number {
  console.log(USAGE);
  return 0;
}

const builtins: Command[] = [
  {
    name: 'selftest',
    options: {},
    operands: { min: 0, max: 0 },
    async run() {
      const results = selfTest();
      for (const r of results) console.log(`${r.ok ? 'ok  ' : 'FAIL'}  ${r.name.padEnd(24)} ${r.source}`);
      const failed = results.filter((r) => !r.ok).length;
      console.log(failed === 0 ? `\nall ${results.length} self-tests passed` : `\n${failed} of ${results.length} self-tests FAILED`);
      return failed === 0 ? 0 : 1;
    },
  },
  {
    name: 'version',
    options: {},
    operands: { min: 0, max: 0 },
    async run() {
      console.log(version());
      return 0;
    },
  },
  {
    name: 'help',
    options: {},
    operands: { min: 0, max: 0 },
    run: async () => help(),
  },
];

const COMMANDS = new Map<string, Command>(
  [...keyCommands, ...dataCommands, ...auditCommands, ...benchCommands, ...serveCommands, ...tlsCommands, ...credentialCommands, ...xksCommands, ...builtins].map((c) => [c.name, c]),
);
const ALIASES: Record<string, string> = { '--version': 'version' };

/**
 * The name and message printed for an error: the AWS exception name for engine errors and damaged
 * envelopes, the system error code (ENOENT, EPIPE, …) for I/O errors, else the error's own name.
 */
function describe(e: unknown): [string, string] {
  if (e instanceof EnvelopeError) return ['InvalidCiphertextException', e.message];
  if (e instanceof FileError) return [e.code, e.message];
  if (!(e instanceof Error)) return ['Error', String(e)];
  const code = (e as NodeJS.ErrnoException).code;
  if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) return [code, e.message.replace(`${code}: `, '')];
  return [e.name, e.message];
}

async function main(argv: string[]): Promise<number> {
  let command = 'keyward';
  try {
    const split = splitCommand(argv, ['audit', 'credentials', 'xks', 'bench'], Object.keys(ALIASES));
    const name = split.command === undefined ? undefined : (ALIASES[split.command] ?? split.command);
    if (name === undefined) {
      if (globalOptions(parse(split.leading, {}, { min: 0, max: 0 }).values).help) return help();
      throw new UsageError('no command given');
    }
    if (name === 'audit') throw new UsageError('audit needs a subcommand: verify or tail');
    if (name === 'credentials') throw new UsageError('credentials needs a subcommand: create or list');
    if (name === 'xks') {
      if (globalOptions(parse(split.rest, {}, { min: 0, max: 0 }).values).help) {
        console.log(XKS_HELP);
        return 0;
      }
      throw new UsageError('xks needs a subcommand: create-credentials, create-key, set-allow-list, disable-key, enable-key, disable, enable or list');
    }
    const cmd = COMMANDS.get(name);
    if (!cmd) throw new UsageError(`unknown command ${name}`);
    command = `keyward ${name}`;
    const { values, positionals } = parse([...split.leading, ...split.rest], cmd.options, cmd.operands);
    const global = globalOptions(values);
    if (global.help && cmd.help !== undefined) {
      console.log(cmd.help);
      return 0;
    }
    if (global.help) return help();
    return await cmd.run({ command: name, global, values, positionals });
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`${command}: ${e.message}\n\n${USAGE}\n`);
      return 64;
    }
    const [name, message] = describe(e);
    process.stderr.write(`${command}: ${name}: ${message}\n`);
    return 1;
  }
}

watchStdout();
process.exitCode = await main(process.argv.slice(2));
