// The unseal key (src/keys/unseal.ts): the file's creation (mode, no overwrite), the ssh-like refusal of
// exposed files, wrong sizes, and the environment forms (hex, base64, base64url) that win over the file.
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UnsealError, createUnsealKeyFile, loadUnsealKey } from '../../src/keys/unseal.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
let root: string;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'keyward-unseal-'));
});
afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

function unsealError(f: () => unknown): UnsealError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(UnsealError);
    return e as UnsealError;
  }
  throw new Error('expected an UnsealError');
}

describe('createUnsealKeyFile', () => {
  it('creates <dir>/unseal.key: 32 random bytes, mode 0600, in a new dir of mode 0700', async () => {
    const dir = join(root, 'a', 'b');
    const path = await createUnsealKeyFile(dir);
    expect(path).toBe(join(dir, 'unseal.key'));
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    const bytes = readFileSync(path);
    expect(bytes.length).toBe(32);
    const other = readFileSync(await createUnsealKeyFile(join(root, 'c')));
    expect(hex(bytes)).not.toBe(hex(other));
    expect(hex(loadUnsealKey(dir, {}))).toBe(hex(bytes));
  });

  it('refuses to overwrite an existing key and leaves it as it was', async () => {
    const path = await createUnsealKeyFile(root);
    const before = hex(readFileSync(path));
    await expect(createUnsealKeyFile(root)).rejects.toThrow(UnsealError);
    await expect(createUnsealKeyFile(root)).rejects.toThrow(/already exists; refusing to overwrite/);
    expect(hex(readFileSync(path))).toBe(before);
  });
});

describe('loadUnsealKey from the file', () => {
  it('refuses a file group or others may access, naming the mode', async () => {
    const path = await createUnsealKeyFile(root);
    for (const mode of [0o640, 0o604, 0o620, 0o602, 0o610, 0o601, 0o644]) {
      chmodSync(path, mode);
      const e = unsealError(() => loadUnsealKey(root, {}));
      expect(e.message).toContain(`permissions 0${mode.toString(8)} for ${path} are too open`);
    }
    chmodSync(path, 0o400);
    expect(loadUnsealKey(root, {}).length).toBe(32);
  });

  it('refuses wrong sizes', () => {
    const path = join(root, 'unseal.key');
    for (const n of [0, 31, 33, 64]) {
      writeFileSync(path, new Uint8Array(n), { mode: 0o600 });
      chmodSync(path, 0o600);
      expect(unsealError(() => loadUnsealKey(root, {})).message).toBe(`${path} holds ${n} bytes; an unseal key is exactly 32`);
    }
  });

  it('says what to do when there is no key, and refuses a directory', () => {
    expect(unsealError(() => loadUnsealKey(root, {})).message).toMatch(/no unseal key: .*unseal\.key does not exist and KEYWARD_UNSEAL_KEY is not set/);
    mkdirSync(join(root, 'unseal.key'), { mode: 0o700 });
    expect(unsealError(() => loadUnsealKey(root, {})).message).toMatch(/is not a regular file/);
  });
});

describe('loadUnsealKey from KEYWARD_UNSEAL_KEY', () => {
  const key = Uint8Array.from({ length: 32 }, (_, i) => (i * 37 + 251) & 0xff);
  const b = Buffer.from(key);

  it('accepts 64 hex digits (either case), base64 with or without padding, and base64url', () => {
    for (const v of [b.toString('hex'), b.toString('hex').toUpperCase(), b.toString('base64'), b.toString('base64').replace(/=$/, ''),
      b.toString('base64url'), ` ${b.toString('hex')}\n`]) {
      expect(hex(loadUnsealKey(root, { KEYWARD_UNSEAL_KEY: v }))).toBe(hex(key));
    }
    // The sample's base64 and base64url differ, so both alphabets were exercised.
    expect(b.toString('base64url')).not.toBe(b.toString('base64').replace(/=$/, ''));
  });

  it('wins over the file', async () => {
    await createUnsealKeyFile(root);
    expect(hex(loadUnsealKey(root, { KEYWARD_UNSEAL_KEY: b.toString('hex') }))).toBe(hex(key));
  });

  it('refuses wrong lengths and alphabets without echoing the value', () => {
    const bad = [
      b.toString('hex').slice(2), b.toString('hex') + '00', b.subarray(1).toString('base64'), Buffer.concat([b, b.subarray(0, 1)]).toString('base64'),
      'g'.repeat(64), b.toString('base64').slice(0, -2) + '!=',
      // 43 base64 characters whose last one carries bits past the 32nd byte.
      b.toString('base64').slice(0, 42) + 'B=',
    ];
    for (const v of bad) {
      const e = unsealError(() => loadUnsealKey(root, { KEYWARD_UNSEAL_KEY: v }));
      expect(e.message).toBe(`KEYWARD_UNSEAL_KEY must be 64 hex digits or the base64 of exactly 32 bytes; got ${v.length} characters that are neither`);
      expect(e.message).not.toContain(v);
    }
  });

  it('refuses a set but empty variable rather than falling back to the file', async () => {
    await createUnsealKeyFile(root);
    expect(unsealError(() => loadUnsealKey(root, { KEYWARD_UNSEAL_KEY: '' })).message).toBe('KEYWARD_UNSEAL_KEY is set but empty');
  });

  it('reads process.env by default', () => {
    const saved = process.env.KEYWARD_UNSEAL_KEY;
    process.env.KEYWARD_UNSEAL_KEY = b.toString('base64');
    try {
      expect(hex(loadUnsealKey(root))).toBe(hex(key));
    } finally {
      if (saved === undefined) delete process.env.KEYWARD_UNSEAL_KEY;
      else process.env.KEYWARD_UNSEAL_KEY = saved;
    }
  });
});
