// Two `keyward serve` processes (the built CLI) on one PostgreSQL store, each with its own dir holding the
// same unseal key and credentials: a key created through one is usable through the other at once.
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { CreateKeyCommand, DecryptCommand, DescribeKeyCommand, EncryptCommand, KMSClient, ListKeysCommand, ScheduleKeyDeletionCommand } from '@aws-sdk/client-kms';
import { describe, expect, it } from 'vitest';
import { createUnsealKeyFile } from '../../src/keys/unseal.js';
import { createCredential } from '../../src/server/credentials.js';
import { requireBuild, tempDirs } from '../cli/_cli.js';
import { cliSpawner, storeLocked, type Running } from '../cli/_serve.js';
import { postgresForFile } from '../store/_postgres.js';

requireBuild();
const tmp = tempDirs();
const ACCOUNT = '000000000000';
const serverOf = postgresForFile();
const cli = cliSpawner();


async function serve(dir: string, postgres: string): Promise<Running & { url: string }> {
  const s = await cli.ready(['--dir', dir, 'serve', '--port', '0', '--quiet', '--postgres', postgres], { match: /listening on (http:\/\/127\.0\.0\.1:\d+)/, stdout: 'pipe' });
  return { ...s, url: s.match[1]! };
}

describe('two keyward serve processes on one PostgreSQL store', () => {
  it('a key created through one node is usable, and its deletion seen, through the other', async () => {
    const root = tmp();
    const [dirA, dirB] = [join(root, 'a'), join(root, 'b')];
    // Node a, started first, initializes the empty database; node b gets the same unseal key and credentials.
    mkdirSync(dirA, { mode: 0o700 });
    await createUnsealKeyFile(dirA);
    const cred = await createCredential(dirA, `arn:aws:iam::${ACCOUNT}:user/alice`);
    const a = await serve(dirA, serverOf().url);
    mkdirSync(dirB, { mode: 0o700 });
    for (const f of ['unseal.key', 'credentials.json']) copyFileSync(join(dirA, f), join(dirB, f));
    const b = await serve(dirB, serverOf().url);
    // A node whose DIR has another unseal key cannot open the shared store (and does not re-initialize it).
    const stranger = join(root, 'c');
    await createUnsealKeyFile(stranger);
    await expect(serve(stranger, serverOf().url)).rejects.toThrow(/unseal key/);
    const client = (url: string) =>
      new KMSClient({ endpoint: url, region: 'us-east-1', credentials: { accessKeyId: cred.AccessKeyId, secretAccessKey: cred.SecretAccessKey } });
    const [ka, kb] = [client(a.url), client(b.url)];
    try {
      const { KeyMetadata } = await ka.send(new CreateKeyCommand({ Description: 'made through node a' }));
      const KeyId = KeyMetadata!.KeyId!;
      expect((await kb.send(new DescribeKeyCommand({ KeyId }))).KeyMetadata!.Description).toBe('made through node a');
      expect((await kb.send(new ListKeysCommand({}))).Keys!.map((k) => k.KeyId)).toContain(KeyId);
      const { CiphertextBlob } = await kb.send(new EncryptCommand({ KeyId, Plaintext: new TextEncoder().encode('one store, two nodes') }));
      const { Plaintext } = await ka.send(new DecryptCommand({ CiphertextBlob }));
      expect(new TextDecoder().decode(Plaintext)).toBe('one store, two nodes');

      await kb.send(new ScheduleKeyDeletionCommand({ KeyId, PendingWindowInDays: 7 }));
      await expect(ka.send(new DecryptCommand({ CiphertextBlob }))).rejects.toMatchObject({ name: 'KMSInvalidStateException' });
    } finally {
      ka.destroy();
      kb.destroy();
      a.child.kill('SIGTERM');
      b.child.kill('SIGTERM');
    }
    expect([(await a.exited).code, (await b.exited).code], a.stderr() + b.stderr()).toEqual([0, 0]);
  }, 60_000);

  it('a SIGTERM while it opens the store stops it before it listens: exit 0, nothing left open or locked', async () => {
    const dir = join(tmp(), 'n');
    mkdirSync(dir, { mode: 0o700 });
    await createUnsealKeyFile(dir);
    const url = serverOf().database('startup_signal');
    // The lock is taken before the database is reached: the signal comes during that connection and the
    // store's initialization (round trips to PostgreSQL), so serve must not listen at all.
    const locked = storeLocked(dir);
    const s = cli.spawn(['--dir', dir, 'serve', '--port', '0', '--postgres', url]);
    await locked;
    s.child.kill('SIGTERM');
    const exit = await s.exited;
    expect([exit.code, exit.signal], s.stderr()).toEqual([0, null]);
    expect(s.stderr()).toBe('keyward serve: SIGTERM: stopping, 0 request(s) in flight\nkeyward serve: stopped\n');
    expect(existsSync(join(dir, 'keyward.lock'))).toBe(false);
    const next = await serve(dir, url);
    next.child.kill('SIGTERM');
    expect((await next.exited).code, next.stderr()).toBe(0);
  }, 60_000);
});
