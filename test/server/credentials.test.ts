// Access keys in <dir>/credentials.json: created 0600 with the secret only sealed, opened by the store's
// unseal key only, bound to their principal, picked up by a running CredentialStore, zeroed on close.
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createCredential, CredentialStore, CREDENTIALS_FILE, principalFor } from '../../src/server/credentials.js';

const ALICE = 'arn:aws:iam::111122223333:user/alice';
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function dir(): string {
  const d = mkdtempSync(join(tmpdir(), 'keyward-creds-'));
  dirs.push(d);
  return d;
}
const key = (fill: number) => new Uint8Array(32).fill(fill);
const utf8 = (s: string) => new TextEncoder().encode(s);

describe('credentials', () => {
  it('creates an AWS-shaped access key whose secret is stored only sealed, in a 0600 file', async () => {
    const d = dir();
    const k = await createCredential(d, ALICE, { unsealKey: key(1) });
    expect(k.AccessKeyId).toMatch(/^AKIA[A-Z2-7]{16}$/);
    expect(k.SecretAccessKey).toMatch(/^[A-Za-z0-9+/]{40}$/);
    expect(k.Principal).toBe(ALICE);
    const path = join(d, CREDENTIALS_FILE);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const text = readFileSync(path, 'utf8');
    expect(text).toContain(k.AccessKeyId);
    expect(text).not.toContain(k.SecretAccessKey);
    expect(text).not.toContain(Buffer.from(k.SecretAccessKey).toString('base64'));
    const store = CredentialStore.open(d, { unsealKey: key(1) });
    const c = store.lookup(k.AccessKeyId)!;
    expect(c.principal).toBe(ALICE);
    expect(c.secret).toEqual(utf8(k.SecretAccessKey));
    expect(store.lookup('AKIAAAAAAAAAAAAAAAAA')).toBeUndefined();
    store.close();
    expect(c.secret.every((b) => b === 0)).toBe(true);
  });

  it('names principals: a bare user name in the account, or a full principal ARN; anything else is refused', () => {
    expect(principalFor('alice', '111122223333')).toBe(ALICE);
    expect(principalFor('arn:aws:iam::999988887777:role/ops', '111122223333')).toBe('arn:aws:iam::999988887777:role/ops');
    expect(() => principalFor('bad name', '111122223333')).toThrow(/ValidationException|expected an IAM user name/);
    expect(() => principalFor('arn:aws:iam::1:user/x', '111122223333')).toThrow(/not a valid principal ARN/);
    expect(() => principalFor('alice', '12')).toThrow(/12 digits/);
  });

  it('does not open under another unseal key, nor a record moved to another principal', async () => {
    const d = dir();
    const k = await createCredential(d, ALICE, { unsealKey: key(1) });
    expect(() => CredentialStore.open(d, { unsealKey: key(2) })).toThrow(/does not open under this store's unseal key/);
    await expect(createCredential(d, ALICE, { unsealKey: key(2) })).rejects.toThrow(/does not open/);
    const path = join(d, CREDENTIALS_FILE);
    writeFileSync(path, readFileSync(path, 'utf8').replace(ALICE, 'arn:aws:iam::111122223333:root'), { mode: 0o600 });
    expect(() => CredentialStore.open(d, { unsealKey: key(1) })).toThrow(new RegExp(`secret of ${k.AccessKeyId} does not open`));
  });

  it('refuses a file group or others may read, and a malformed one', async () => {
    const d = dir();
    await createCredential(d, ALICE, { unsealKey: key(1) });
    const path = join(d, CREDENTIALS_FILE);
    chmodSync(path, 0o644);
    expect(() => CredentialStore.open(d, { unsealKey: key(1) })).toThrow(/permissions 0644 .* too open/);
    writeFileSync(path, '{"version": 1}', { mode: 0o600 });
    chmodSync(path, 0o600);
    expect(() => CredentialStore.open(d, { unsealKey: key(1) })).toThrow(/expected \{"version": 1/);
  });

  it('an open store finds keys created after it opened; concurrent creates all land', async () => {
    const d = dir();
    const store = CredentialStore.open(d, { unsealKey: key(1) });
    expect(store.list()).toEqual([]);
    const made = await Promise.all(Array.from({ length: 8 }, (_, i) => createCredential(d, `arn:aws:iam::111122223333:user/u${i}`, { unsealKey: key(1) })));
    for (const k of made) expect(store.lookup(k.AccessKeyId)?.principal).toBe(k.Principal);
    expect(store.list()).toHaveLength(8);
    store.close();
  });
});
