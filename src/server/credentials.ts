// Access keys of the KMS endpoint: <dir>/credentials.json (mode 0600) maps an AccessKeyId to a principal
// ARN and its secret. SigV4 secrets are MAC keys the server must recover to verify a signature, so they
// cannot be stored hashed: each is sealed with AES-256-GCM under a key derived from the store's unseal key
// (HKDF-SHA256, info "keyward/v1/credentials"), the AAD binding the AccessKeyId and the principal, so a
// record edited to name another principal, or copied from another store, does not open.
//
// The file is not in the database on purpose: `keyward credentials create` works while `keyward serve`
// holds the store, and the server picks new keys up when it meets an AccessKeyId it does not know.
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { closeSync, fstatSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { aesGcm } from '../crypto/aes-gcm.js';
import { AuthenticationError } from '../crypto/errors.js';
import { hkdf } from '../crypto/hkdf.js';
import { loadUnsealKey } from '../keys/unseal.js';
import { ValidationException } from '../kms/errors.js';
import { assertPrincipalArn } from '../kms/principal.js';
import { createPidFile, pidIn, processAlive } from '../store/pid-file.js';

export const CREDENTIALS_FILE = 'credentials.json';
const FORMAT_VERSION = 1;
const IV_BYTES = 12;
const utf8 = new TextEncoder();
// IAM user names: letters, digits and + = , . @ _ - (IAM User Guide, "IAM identifiers"), at most 64.
const USER_NAME = /^[\w+=,.@-]{1,64}$/;
const ACCOUNT = /^\d{12}$/;

/** The credentials file is missing its key, malformed, exposed, or holds a record that does not open. */
export class CredentialError extends Error {
  override name = 'CredentialError';
}

/** A credential as the server holds it. `secret` is the UTF-8 of the secret access key. */
export interface Credential {
  readonly accessKeyId: string;
  readonly principal: string;
  readonly created: Date;
  readonly secret: Uint8Array;
}

/** What `keyward credentials create` prints, as the AWS CLI's create-access-key names it. */
export interface NewAccessKey {
  AccessKeyId: string;
  SecretAccessKey: string;
  Principal: string;
}

interface StoredRecord {
  AccessKeyId: string;
  Principal: string;
  Created: string;
  /** base64 of iv(12) ‖ AES-256-GCM(secret) ‖ tag(16). */
  SealedSecret: string;
}

interface StoredFile {
  version: number;
  credentials: StoredRecord[];
}

/**
 * A principal ARN from `name`: a full principal ARN as given, or a bare IAM user name as
 * arn:aws:iam::<account>:user/<name>.
 * @throws ValidationException for anything else
 */
export function principalFor(name: string, account: string): string {
  if (name.startsWith('arn:')) {
    assertPrincipalArn(name);
    return name;
  }
  if (!ACCOUNT.test(account)) throw new ValidationException(`account ${JSON.stringify(account)}: expected 12 digits`);
  if (!USER_NAME.test(name)) {
    throw new ValidationException(`principal ${JSON.stringify(name)}: expected an IAM user name (1 to 64 of letters, digits, + = , . @ _ -) or a principal ARN`);
  }
  return `arn:aws:iam::${account}:user/${name}`;
}

/** The sealing key of a credentials file; another file gets another key, so a record moved between files does not open. */
function credentialsKey(unsealKey: Uint8Array, file = CREDENTIALS_FILE): Uint8Array {
  const info = file === CREDENTIALS_FILE ? 'keyward/v1/credentials' : `keyward/v1/credentials/${file}`;
  return hkdf('SHA-256', unsealKey, undefined, utf8.encode(info), 32);
}

function aad(accessKeyId: string, principal: string): Uint8Array {
  return utf8.encode(`keyward/v1/credential\0${accessKeyId}\0${principal}`);
}

/** AKIA and 16 characters of the base32 alphabet, the shape of an AWS access key id. */
function newAccessKeyId(): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  const r = randomBytes(16);
  let id = 'AKIA';
  for (const b of r) id += alphabet[b & 31];
  return id;
}

/** Reads and parses the file; a missing file is an empty list. Refuses a file group or others may access. */
function readFile(path: string): { records: StoredRecord[]; stamp: string } {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { records: [], stamp: 'absent' };
    throw new CredentialError(`cannot open ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  let text: string;
  let stamp: string;
  try {
    const st = fstatSync(fd);
    if (process.platform !== 'win32' && (st.mode & 0o077) !== 0) {
      throw new CredentialError(`permissions ${(st.mode & 0o777).toString(8).padStart(4, '0')} for ${path} are too open: group or others may access the credentials; chmod 600 it`);
    }
    stamp = `${st.ino}:${st.size}:${st.mtimeMs}`;
    text = readFileSync(fd, 'utf8');
  } finally {
    closeSync(fd);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new CredentialError(`${path} is not valid JSON`);
  }
  const f = parsed as Partial<StoredFile>;
  if (typeof f !== 'object' || f === null || f.version !== FORMAT_VERSION || !Array.isArray(f.credentials)) {
    throw new CredentialError(`${path}: expected {"version": ${FORMAT_VERSION}, "credentials": [...]}`);
  }
  for (const r of f.credentials) {
    if (typeof r !== 'object' || r === null || typeof r.AccessKeyId !== 'string' || typeof r.Principal !== 'string'
      || typeof r.Created !== 'string' || typeof r.SealedSecret !== 'string') {
      throw new CredentialError(`${path}: a record lacks AccessKeyId, Principal, Created or SealedSecret`);
    }
  }
  return { records: f.credentials, stamp };
}

function openRecord(key: Uint8Array, r: StoredRecord, path: string): Credential {
  const sealed = Buffer.from(r.SealedSecret, 'base64');
  let secret: Uint8Array;
  try {
    secret = aesGcm.open(key, sealed.subarray(0, IV_BYTES), sealed.subarray(IV_BYTES), aad(r.AccessKeyId, r.Principal));
  } catch (e) {
    if (!(e instanceof AuthenticationError) && !(e instanceof RangeError)) throw e;
    throw new CredentialError(`${path}: the secret of ${r.AccessKeyId} does not open under this store's unseal key (the record was edited, or comes from another store)`);
  }
  return { accessKeyId: r.AccessKeyId, principal: r.Principal, created: new Date(r.Created), secret };
}

/** Takes <file>.lock (O_EXCL, holding the pid), waiting while another live process holds it. */
export async function lockFile(path: string): Promise<() => void> {
  const lockPath = `${path}.lock`;
  for (let attempt = 0; attempt < 200; attempt++) {
    if (createPidFile(lockPath)) return () => rmSync(lockPath, { force: true });
    const pid = pidIn(lockPath);
    if (Number.isInteger(pid) && pid > 0 && !processAlive(pid)) rmSync(lockPath, { force: true });
    else await sleep(25);
  }
  throw new CredentialError(`${lockPath} is held by another process`);
}

/**
 * Creates an access key for `principal` (a principal ARN) in <dir>/credentials.json (or <dir>/`file`: the
 * XKS proxy keeps its own), with a secret of `secretBytes` random bytes in base64 (default 30), and returns it; the
 * secret is shown only here. `unsealKey` defaults to the store's ($KEYWARD_UNSEAL_KEY or <dir>/unseal.key).
 */
export async function createCredential(
  dir: string, principal: string, opts: { unsealKey?: Uint8Array; now?: number; file?: string; secretBytes?: number } = {},
): Promise<NewAccessKey> {
  assertPrincipalArn(principal);
  const path = join(dir, opts.file ?? CREDENTIALS_FILE);
  const unsealKey = opts.unsealKey ?? loadUnsealKey(dir);
  const key = credentialsKey(unsealKey, opts.file);
  if (!opts.unsealKey) unsealKey.fill(0);
  const release = await lockFile(path);
  try {
    const { records } = readFile(path);
    // Every record must open under this unseal key before one is added: a mismatch means a wrong key.
    for (const r of records) openRecord(key, r, path).secret.fill(0);
    let accessKeyId = newAccessKeyId();
    while (records.some((r) => r.AccessKeyId === accessKeyId)) accessKeyId = newAccessKeyId();
    const raw = randomBytes(opts.secretBytes ?? 30);
    const secretAccessKey = raw.toString('base64');
    raw.fill(0);
    const secret = utf8.encode(secretAccessKey);
    const iv = randomBytes(IV_BYTES);
    const sealed = aesGcm.seal(key, iv, secret, aad(accessKeyId, principal));
    secret.fill(0);
    records.push({
      AccessKeyId: accessKeyId, Principal: principal, Created: new Date(opts.now ?? Date.now()).toISOString(),
      SealedSecret: Buffer.concat([iv, sealed]).toString('base64'),
    });
    const tmp = `${path}.${process.pid}.tmp`;
    const fd = openSync(tmp, 'w', 0o600);
    try {
      writeSync(fd, `${JSON.stringify({ version: FORMAT_VERSION, credentials: records } satisfies StoredFile, null, 2)}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
    return { AccessKeyId: accessKeyId, SecretAccessKey: secretAccessKey, Principal: principal };
  } finally {
    key.fill(0);
    release();
  }
}

/**
 * The access keys of a store, opened in memory for the server. A lookup of an AccessKeyId it does not
 * hold re-reads the file when it changed, so keys created while the server runs work at once.
 */
export class CredentialStore {
  private byId = new Map<string, Credential>();
  private stamp = '';

  private constructor(
    private readonly path: string,
    private key: Uint8Array,
  ) {}

  /**
   * Opens <dir>/credentials.json, or <dir>/`file` (absent: no keys yet). `unsealKey` defaults to the store's.
   * @throws CredentialError for an exposed or malformed file, or a record that does not open
   */
  static open(dir: string, opts: { unsealKey?: Uint8Array; file?: string } = {}): CredentialStore {
    const unsealKey = opts.unsealKey ?? loadUnsealKey(dir);
    const store = new CredentialStore(join(dir, opts.file ?? CREDENTIALS_FILE), credentialsKey(unsealKey, opts.file));
    if (!opts.unsealKey) unsealKey.fill(0);
    try {
      store.reload();
    } catch (e) {
      store.close();
      throw e;
    }
    return store;
  }

  /** The credential of `accessKeyId`, or undefined. @throws CredentialError when a changed file does not load */
  lookup(accessKeyId: string): Credential | undefined {
    const hit = this.byId.get(accessKeyId);
    if (hit !== undefined) return hit;
    if (this.changed()) this.reload();
    return this.byId.get(accessKeyId);
  }

  /** The access keys without their secrets. */
  list(): { AccessKeyId: string; Principal: string; Created: Date }[] {
    return [...this.byId.values()].map((c) => ({ AccessKeyId: c.accessKeyId, Principal: c.principal, Created: c.created }));
  }

  /** Zeroes every secret and the sealing key. */
  close(): void {
    for (const c of this.byId.values()) c.secret.fill(0);
    this.byId.clear();
    this.key.fill(0);
  }

  private changed(): boolean {
    try {
      const st = statSync(this.path);
      return `${st.ino}:${st.size}:${st.mtimeMs}` !== this.stamp;
    } catch {
      return this.stamp !== 'absent';
    }
  }

  private reload(): void {
    const { records, stamp } = readFile(this.path);
    const next = new Map<string, Credential>();
    try {
      for (const r of records) {
        const held = this.byId.get(r.AccessKeyId);
        next.set(r.AccessKeyId, held && held.principal === r.Principal ? held : openRecord(this.key, r, this.path));
      }
    } catch (e) {
      for (const c of next.values()) if (!this.byId.has(c.accessKeyId)) c.secret.fill(0);
      throw e;
    }
    for (const [id, c] of this.byId) if (next.get(id) !== c) c.secret.fill(0);
    this.byId = next;
    this.stamp = stamp;
  }
}
