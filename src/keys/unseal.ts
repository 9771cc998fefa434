// The unseal key: the 32-byte AES-256 key that seals region keys at rest in software mode. It comes from
// the environment (KEYWARD_UNSEAL_KEY, for containers and secret managers) or from <dir>/unseal.key,
// a file `keyward init` creates with mode 0600 and that is refused, as ssh refuses a private key, when
// group or others may access it. Messages name the source and what is wrong, never the key's bytes.
import { closeSync, fstatSync, fsyncSync, mkdirSync, openSync, readSync, writeSync } from 'node:fs';
import { join } from 'node:path';

/** The unseal key is missing, malformed, exposed, or does not open the store. */
export class UnsealError extends Error {
  override name = 'UnsealError';
}

export const UNSEAL_KEY_FILE = 'unseal.key';
export const UNSEAL_KEY_ENV = 'KEYWARD_UNSEAL_KEY';
export const UNSEAL_KEY_LENGTH = 32;

/**
 * Creates <dir>/unseal.key with 32 random bytes, mode 0600; creates dir (mode 0700) if needed.
 * @returns the file's path
 * @throws UnsealError when the file exists (an unseal key is never overwritten: it would orphan the store)
 */
export async function createUnsealKeyFile(dir: string): Promise<string> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const path = join(dir, UNSEAL_KEY_FILE);
  let fd: number;
  try {
    fd = openSync(path, 'wx', 0o600);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new UnsealError(`${path} already exists; refusing to overwrite an unseal key (the store it opens would be lost)`);
    }
    throw e;
  }
  const key = crypto.getRandomValues(new Uint8Array(UNSEAL_KEY_LENGTH));
  try {
    writeSync(fd, key);
    fsyncSync(fd);
  } finally {
    key.fill(0);
    closeSync(fd);
  }
  return path;
}

const HEX = /^[0-9a-fA-F]{64}$/;
// 32 bytes in base64: 43 characters plus one '=' (optional); standard or URL-safe alphabet.
const BASE64 = /^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=?$/;
const BASE64URL = /^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]=?$/;

// Buffer.from(string) may decode into Node's shared pool: copy out, then zero the pooled bytes.
function decode(v: string, encoding: BufferEncoding): Uint8Array {
  const pooled = Buffer.from(v, encoding);
  const key = new Uint8Array(pooled);
  pooled.fill(0);
  return key;
}

function fromEnv(value: string): Uint8Array {
  const v = value.trim();
  if (HEX.test(v)) return decode(v, 'hex');
  if (BASE64.test(v)) return decode(v, 'base64');
  if (BASE64URL.test(v)) return decode(v, 'base64url');
  throw new UnsealError(
    `${UNSEAL_KEY_ENV} must be 64 hex digits or the base64 of exactly ${UNSEAL_KEY_LENGTH} bytes; got ${v.length} characters that are neither`,
  );
}

function fromFile(dir: string): Uint8Array {
  const path = join(dir, UNSEAL_KEY_FILE);
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      throw new UnsealError(`no unseal key: ${path} does not exist and ${UNSEAL_KEY_ENV} is not set (run keyward init)`);
    }
    throw new UnsealError(`cannot open the unseal key ${path}: ${code ?? (e as Error).message}`);
  }
  try {
    // fstat on the open descriptor: the file checked is the file read.
    const st = fstatSync(fd);
    if (!st.isFile()) throw new UnsealError(`${path} is not a regular file`);
    if (process.platform !== 'win32' && (st.mode & 0o077) !== 0) {
      const mode = (st.mode & 0o777).toString(8).padStart(4, '0');
      throw new UnsealError(`permissions ${mode} for ${path} are too open: group or others may access the unseal key; chmod 600 it`);
    }
    if (st.size !== UNSEAL_KEY_LENGTH) {
      throw new UnsealError(`${path} holds ${st.size} bytes; an unseal key is exactly ${UNSEAL_KEY_LENGTH}`);
    }
    // One byte more than expected, so that a file that grew after fstat is caught too.
    const buf = new Uint8Array(UNSEAL_KEY_LENGTH + 1);
    let n = 0;
    for (let r; n < buf.length && (r = readSync(fd, buf, n, buf.length - n, null)) > 0; ) n += r;
    if (n !== UNSEAL_KEY_LENGTH) {
      buf.fill(0);
      throw new UnsealError(`${path} changed while being read; an unseal key is exactly ${UNSEAL_KEY_LENGTH} bytes`);
    }
    const key = buf.slice(0, UNSEAL_KEY_LENGTH);
    buf.fill(0);
    return key;
  } finally {
    closeSync(fd);
  }
}

/**
 * The unseal key: KEYWARD_UNSEAL_KEY (64 hex digits, or base64/base64url of 32 bytes) when set, else
 * <dir>/unseal.key. The caller owns the returned bytes and should wipe them once the store is open.
 * @throws UnsealError for a malformed variable, a missing, exposed or wrong-sized file
 */
export function loadUnsealKey(dir: string, env: NodeJS.ProcessEnv = process.env): Uint8Array {
  const value = env[UNSEAL_KEY_ENV];
  if (value !== undefined) {
    // Set but empty is a mistake (a template not filled in); falling back to a file would hide it.
    if (value.trim() === '') throw new UnsealError(`${UNSEAL_KEY_ENV} is set but empty`);
    return fromEnv(value);
  }
  return fromFile(dir);
}
