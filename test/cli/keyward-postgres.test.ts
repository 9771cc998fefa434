// The built CLI on a PostgreSQL store, as an operator sets one up: `keyward --postgres URL init`, keys,
// data and credentials made by the CLI against the database, then `keyward serve --postgres URL` accepting
// those credentials for SDK-signed requests, and a second node's DIR (a copy of the unseal key) seeing the
// keys the server made. With no SQLite store anywhere. Bad and unreachable URLs fail with clear messages.
import { copyFileSync, existsSync, mkdirSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { CreateKeyCommand, DecryptCommand, DescribeKeyCommand, GenerateDataKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { describe, expect, it } from 'vitest';
import { createUnsealKeyFile } from '../../src/keys/unseal.js';
import { postgresForFile } from '../store/_postgres.js';
import { keyward, ok, requireBuild, tempDirs } from './_cli.js';
import { cliSpawner, type Running } from './_serve.js';

requireBuild();
const tmp = tempDirs();
const pgOf = postgresForFile();
const cli = cliSpawner();


/** `keyward serve` with the global options `args` and no KEYWARD_* environment; resolves once it listens. */
async function serve(args: string[]): Promise<Running & { url: string }> {
  const s = await cli.ready([...args, 'serve', '--port', '0', '--quiet'], { match: /listening on (http:\/\/127\.0\.0\.1:\d+)/, stdout: 'pipe' });
  return { ...s, url: s.match[1]! };
}

describe('keyward --postgres URL: a store whose keys live in PostgreSQL', () => {
  it('init, create-key, encrypt/decrypt and credentials through the CLI; serve accepts those credentials; a second node sees the keys', async () => {
    const url = pgOf().database('cli_flow');
    const root = tmp();
    const dir = join(root, 'node-a');

    const init = ok(keyward(['--dir', dir, '--postgres', url, 'init']));
    expect(init.out).toContain(`initialized a Keyward store in the PostgreSQL database ${url} (schema keyward) with ${dir}`);
    expect(init.out).toContain(`unseal key: ${join(dir, 'unseal.key')} (mode 0600)`);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(join(dir, 'unseal.key')).mode & 0o777).toBe(0o600);
    // The keys are in the database, not in a SQLite file beside the unseal key.
    expect(existsSync(join(dir, 'keyward.db'))).toBe(false);
    const noSqlite = keyward(['--dir', dir, 'list-keys']);
    expect(noSqlite.status).toBe(1);
    expect(noSqlite.err).toContain(`keyward list-keys: NotFoundException: no Keyward store in ${dir}`);

    // The database already holds a store: a second init is refused, whatever the DIR, and makes no DIR.
    const other = join(root, 'other');
    const again = keyward(['--dir', other, '--postgres', url, 'init']);
    expect(again.status).toBe(1);
    expect(again.err).toContain(`keyward init: AlreadyExistsException: the PostgreSQL database ${url} already holds a Keyward store`);
    expect(existsSync(other)).toBe(false);

    // $KEYWARD_POSTGRES_URL serves as well as the flag; the flag may also follow the command.
    const env = { KEYWARD_POSTGRES_URL: url };
    const created = JSON.parse(ok(keyward(['--dir', dir, '--json', 'create-key', '--description', 'made by the CLI', '--alias', 'alias/cli'], '', env)).out) as {
      KeyMetadata: { KeyId: string; Description: string };
    };
    const keyId = created.KeyMetadata.KeyId;
    expect(ok(keyward(['--dir', dir, 'list-keys', '--postgres', url])).out).toContain(`${keyId}  arn:aws:kms:us-east-1:000000000000:key/${keyId}  alias/cli`);

    const plaintext = Buffer.from('stored in PostgreSQL, encrypted by the CLI\n'.repeat(100));
    const sealed = ok(keyward(['--dir', dir, 'encrypt', '--key', 'alias/cli', '--context', 'app=cli'], plaintext, env)).stdout;
    expect(sealed.includes(plaintext.subarray(0, 20))).toBe(false);
    expect(ok(keyward(['--dir', dir, 'decrypt', '--context', 'app=cli'], sealed, env)).stdout.equals(plaintext)).toBe(true);
    const wrongContext = keyward(['--dir', dir, 'decrypt', '--context', 'app=other'], sealed, env);
    expect(wrongContext.status).toBe(1);
    expect(wrongContext.err).toContain('InvalidCiphertextException');

    const cred = JSON.parse(ok(keyward(['--dir', dir, 'credentials', 'create', '--principal', 'alice'], '', env)).out) as { AccessKeyId: string; SecretAccessKey: string; Principal: string };
    expect(cred.Principal).toBe('arn:aws:iam::000000000000:user/alice');
    expect(ok(keyward(['--dir', dir, 'credentials', 'list'], '', env)).out).toContain(`${cred.AccessKeyId}  arn:aws:iam::000000000000:user/alice`);
    // Audit records of the CLI's calls went to the database's chain, which verifies.
    expect(ok(keyward(['--dir', dir, 'audit', 'verify'], '', env)).out).toMatch(/^audit log intact: \d+ records/);

    const a = await serve(['--dir', dir, '--postgres', url]);
    const client = new KMSClient({ endpoint: a.url, region: 'us-east-1', credentials: { accessKeyId: cred.AccessKeyId, secretAccessKey: cred.SecretAccessKey } });
    const nodeB = join(root, 'node-b');
    try {
      // alice may use the key the CLI made: its default policy names the account root, which (as in AWS
      // KMS) lets the account's principals in.
      expect((await client.send(new DescribeKeyCommand({ KeyId: 'alias/cli' }))).KeyMetadata!.KeyId).toBe(keyId);
      const dk = await client.send(new GenerateDataKeyCommand({ KeyId: keyId, KeySpec: 'AES_256', EncryptionContext: { app: 'sdk' } }));
      const opened = await client.send(new DecryptCommand({ CiphertextBlob: dk.CiphertextBlob, EncryptionContext: { app: 'sdk' } }));
      expect(Buffer.from(opened.Plaintext!).equals(Buffer.from(dk.Plaintext!))).toBe(true);
      const made = (await client.send(new CreateKeyCommand({ Description: 'made through serve' }))).KeyMetadata!.KeyId!;

      // A second node: its own DIR with a copy of the unseal key; the CLI there sees the server's key at once.
      mkdirSync(nodeB, { mode: 0o700 });
      copyFileSync(join(dir, 'unseal.key'), join(nodeB, 'unseal.key'));
      // (list-keys: the key's default policy names alice, its creator, not the account root the CLI runs as.)
      const listed = JSON.parse(ok(keyward(['--dir', nodeB, '--json', 'list-keys'], '', env)).out) as { Keys: { KeyId: string }[] };
      expect(listed.Keys.map((k) => k.KeyId).sort()).toEqual([keyId, made].sort());
      // And a node whose DIR has another unseal key cannot open the store.
      const stranger = join(root, 'stranger');
      await createUnsealKeyFile(stranger);
      const refused = keyward(['--dir', stranger, 'list-keys'], '', env);
      expect(refused.status).toBe(1);
      expect(refused.err).toMatch(/unseal key/);
    } finally {
      client.destroy();
      a.child.kill('SIGTERM');
    }
    expect((await a.exited).code, a.stderr()).toBe(0);
  }, 120_000);

  it('refuses an uninitialized database, a missing DIR, a malformed URL and an unreachable, silent or wrong database with clear messages', async () => {
    const root = tmp();
    const dir = join(root, 'store');
    const url = pgOf().database('cli_empty');
    mkdirSync(dir, { mode: 0o700 });

    const empty = keyward(['--dir', dir, '--postgres', url, 'create-key']);
    expect(empty.status).toBe(1);
    expect(empty.err).toContain('keyward create-key: UnsealError: no Keyward store in the PostgreSQL database');

    const missing = join(root, 'missing');
    const noDir = keyward(['--dir', missing, '--postgres', url, 'credentials', 'create', '--principal', 'alice']);
    expect(noDir.status).toBe(1);
    expect(noDir.err).toContain(`keyward credentials create: NotFoundException: no Keyward directory ${missing} for the PostgreSQL store`);
    expect(existsSync(missing)).toBe(false);

    for (const bad of ['not a url', 'mysql://user@127.0.0.1/db']) {
      const r = keyward(['--dir', dir, '--postgres', bad, 'init']);
      expect(r.status, r.err).toBe(64);
      expect(r.err).toMatch(/^keyward init: --postgres \(or \$KEYWARD_POSTGRES_URL\) (is not a URL|must be a postgresql:\/\/ or postgres:\/\/ URL, not mysql:\/\/)/);
    }

    const badTimeout = keyward(['--dir', dir, '--postgres', 'postgresql://alice@127.0.0.1/db?connect_timeout=soon', 'init']);
    expect(badTimeout.status, badTimeout.err).toBe(64);
    expect(badTimeout.err).toContain('keyward init: --postgres (or $KEYWARD_POSTGRES_URL): connect_timeout in the PostgreSQL URL must be a whole number of seconds, got "soon"');

    // Port 1 on loopback: nothing listens there. The password never appears in the message.
    const down = 'postgresql://alice:s3cret-pw@127.0.0.1:1/keyward';
    for (const args of [['init'], ['create-key'], ['serve', '--port', '0', '--quiet']]) {
      const r = keyward(['--dir', dir, '--postgres', down, ...args]);
      expect(r.status, r.err).toBe(1);
      expect(r.err).toContain(`keyward ${args[0]}: PostgresConnectionError: cannot use the PostgreSQL database postgresql://alice:***@127.0.0.1:1/keyward: connect ECONNREFUSED 127.0.0.1:1`);
      expect(r.err).not.toContain('s3cret-pw');
    }

    // A server that accepts the connection and never answers: every command, serve too, gives up after
    // the URL's connect_timeout (default 10 s) instead of hanging until the OS's connect timeout.
    const silent = createServer((sock) => sock.resume());
    try {
      await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
      const hung = `postgresql://alice:s3cret-pw@127.0.0.1:${(silent.address() as { port: number }).port}/keyward?connect_timeout=1`;
      for (const args of [['init'], ['serve', '--port', '0', '--quiet']]) {
        const t0 = performance.now();
        const r = keyward(['--dir', dir, '--postgres', hung, ...args]);
        expect(r.status, r.err).toBe(1);
        expect(performance.now() - t0).toBeLessThan(8000);
        expect(r.err).toContain(`keyward ${args[0]}: PostgresConnectionError: cannot use the PostgreSQL database ${hung.replace('s3cret-pw', '***')}: the server did not answer within the connect timeout of 1000 ms`);
      }
    } finally {
      silent.close();
    }

    // The server is up but the database does not exist (SQLSTATE 3D000).
    const noDb = pgOf().url.replace(/\/keyward_test$/, '/no_such_database');
    const r = keyward(['--dir', join(root, 'nodb'), '--postgres', noDb, 'init']);
    expect(r.status).toBe(1);
    expect(r.err).toContain(`keyward init: PostgresConnectionError: cannot use the PostgreSQL database ${noDb}: database "no_such_database" does not exist`);
  }, 60_000);
});
