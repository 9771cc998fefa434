// The store, key and data commands of the built CLI, end to end on temporary stores: init, keys, envelope
// encryption of files and pipes, every failure leaving no output file, signatures checked by node:crypto,
// rotation and deletion.
import { createHash, createPublicKey, randomBytes, verify as nodeVerify } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseBlob } from '../../src/keys/blob.js';
import { parseEnvelopeHeader } from '../../src/keys/envelope.js';
import { Keyward } from '../../src/kms/keyward.js';
import { BIN, keyward, ok, requireBuild, tempDirs, type Result } from './_cli.js';

const SEGMENT = 65536;
const TAG = 16;

function failed(r: Result, line: RegExp): void {
  expect(r.status).toBe(1);
  expect(r.err).toMatch(line);
}

/** The files in dir, hidden ones (a leftover temporary output) included. */
const files = (dir: string) => readdirSync(dir).sort();

describe('keyward init', () => {
  requireBuild();
  const tmp = tempDirs();

  it('creates the directory 0700, unseal.key 0600, the store and the region key', () => {
    const dir = join(tmp(), 'store');
    const r = ok(keyward(['init', '--dir', dir, '--region', 'eu-west-3']));
    expect(r.out).toBe(
      `initialized a Keyward store in ${dir} (region eu-west-3, account 000000000000)\n` +
        `unseal key: ${join(dir, 'unseal.key')} (mode 0600); back it up: the store cannot be opened without it\n`,
    );
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(join(dir, 'unseal.key')).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'unseal.key')).size).toBe(32);
    expect(existsSync(join(dir, 'keyward.db'))).toBe(true);
    // The store opens in the region it was made for, and its audit log is intact.
    expect(ok(keyward(['--dir', dir, '--region', 'eu-west-3', 'audit', 'verify'])).out).toMatch(/^audit log intact: \d+ records/);
  });

  it('refuses to initialize an existing store and leaves its unseal key alone', () => {
    const dir = join(tmp(), 'store');
    ok(keyward(['init', '--dir', dir]));
    const key = readFileSync(join(dir, 'unseal.key'));
    const r = keyward(['--dir', dir, 'init']);
    failed(r, new RegExp(`^keyward init: AlreadyExistsException: ${dir} already holds a Keyward store; refusing to initialize it again`));
    expect(r.out).toBe('');
    expect(readFileSync(join(dir, 'unseal.key')).equals(key)).toBe(true);
  });

  it('with KEYWARD_UNSEAL_KEY writes no key file, and the store opens only with that key', () => {
    const dir = join(tmp(), 'store');
    const env = { KEYWARD_UNSEAL_KEY: randomBytes(32).toString('hex') };
    expect(ok(keyward(['init', '--dir', dir], '', env)).out).toMatch(/\nunseal key: from \$KEYWARD_UNSEAL_KEY\n$/);
    expect(existsSync(join(dir, 'unseal.key'))).toBe(false);
    ok(keyward(['list-keys', '--dir', dir], '', env));
    failed(keyward(['list-keys', '--dir', dir]), /^keyward list-keys: UnsealError: no unseal key: .*unseal.key does not exist and KEYWARD_UNSEAL_KEY is not set/);
  });

  it('a bad --region is refused before anything is created', () => {
    const dir = join(tmp(), 'store');
    failed(keyward(['init', '--dir', dir, '--region', 'moon']), /^keyward init: ValidationException: invalid region "moon"/);
    expect(existsSync(dir)).toBe(false);
  });

  it('commands on a directory without a store fail with NotFoundException and create nothing', () => {
    const dir = join(tmp(), 'nothing-here');
    for (const args of [['list-keys'], ['describe-key', 'alias/x'], ['audit', 'verify'], ['decrypt']]) {
      failed(keyward(['--dir', dir, ...args]), new RegExp(`^keyward ${args[0]}[a-z ]*: NotFoundException: no Keyward store in ${dir} \\(run keyward init`));
    }
    expect(existsSync(dir)).toBe(false);
  });
});

describe('keyward keys and data', () => {
  requireBuild();
  const tmp = tempDirs();
  let dir: string;
  let work: string;
  let keyId: string;
  const kw = (...args: string[]) => keyward(['--dir', dir, ...args]);
  const kwIn = (input: Uint8Array, ...args: string[]) => keyward(['--dir', dir, ...args], input);

  beforeAll(() => {
    dir = join(tmp(), 'store');
    work = tmp();
    ok(keyward(['init', '--dir', dir]));
    const created = JSON.parse(ok(kw('create-key', '--json', '--description', 'files', '--alias', 'alias/files')).out);
    keyId = created.KeyMetadata.KeyId;
    expect(created).toMatchObject({ AliasName: 'alias/files', KeyMetadata: { KeySpec: 'SYMMETRIC_DEFAULT', KeyUsage: 'ENCRYPT_DECRYPT', Description: 'files', KeyState: 'Enabled' } });
  });

  it('create-key prints the metadata; list-keys and describe-key find the key by id and alias', () => {
    const r = ok(kw('create-key', '--spec', 'HMAC_256'));
    expect(r.out).toMatch(/^AWSAccountId +000000000000\nKeyId +[0-9a-f-]{36}\n/m);
    expect(r.out).toMatch(/^KeyUsage +GENERATE_VERIFY_MAC$/m);
    const hmacId = /^KeyId +(\S+)$/m.exec(r.out)![1]!;

    const list = ok(kw('list-keys')).out.trim().split('\n');
    expect(list).toContain(`${keyId}  arn:aws:kms:us-east-1:000000000000:key/${keyId}  alias/files`);
    expect(list).toContain(`${hmacId}  arn:aws:kms:us-east-1:000000000000:key/${hmacId}`);
    const json = JSON.parse(ok(kw('list-keys', '--json')).out);
    expect(json.Keys).toContainEqual({ KeyId: keyId, KeyArn: `arn:aws:kms:us-east-1:000000000000:key/${keyId}`, Aliases: ['alias/files'] });

    const byAlias = JSON.parse(ok(kw('describe-key', 'alias/files', '--json')).out);
    expect(byAlias.KeyMetadata.KeyId).toBe(keyId);
    expect(ok(kw('describe-key', keyId)).out).toMatch(/^Description +files$/m);
    failed(kw('describe-key', 'alias/none'), /^keyward describe-key: NotFoundException: /);
    failed(kw('create-key', '--spec', 'ECC_NIST_P256', '--usage', 'ENCRYPT_DECRYPT'), /^keyward create-key: ValidationException: KeyUsage ENCRYPT_DECRYPT is not valid for KeySpec ECC_NIST_P256/);
  });

  it('encrypts a multi-MiB file into a KWENV envelope and decrypts it to identical bytes', () => {
    const pt = randomBytes(3 * 1024 * 1024 + 12345);
    const src = join(work, 'big.bin');
    writeFileSync(src, pt);
    const enc = ok(kw('encrypt', '--key', 'alias/files', '--context', 'purpose=test', '--context', 'team=kms', '--in', src, '--out', join(work, 'big.kw')));
    expect(enc.out).toBe('');
    const env = readFileSync(join(work, 'big.kw'));
    const header = parseEnvelopeHeader(env);
    expect(header.segmentSize).toBe(SEGMENT);
    expect(parseBlob(header.dataKeyBlob).keyId).toBe(keyId);
    expect(env.length).toBe(header.bytes.length + pt.length + TAG * Math.ceil(pt.length / SEGMENT));
    expect(statSync(join(work, 'big.kw')).mode & 0o777).toBe(0o600);

    // Context order on the command line does not matter; no key id is needed to decrypt.
    ok(kw('decrypt', '--context', 'team=kms', '--context', 'purpose=test', '--in', join(work, 'big.kw'), '--out', join(work, 'big.out')));
    expect(readFileSync(join(work, 'big.out')).equals(pt)).toBe(true);
  });

  it('pipes: stdin to stdout both ways, and `encrypt | decrypt` between two processes on one store', () => {
    const pt = randomBytes(200_000);
    const env = ok(kwIn(pt, 'encrypt', '--key', keyId)).stdout;
    expect(env.subarray(0, 5).toString('latin1')).toBe('KWENV');
    expect(ok(kwIn(env, 'decrypt')).stdout.equals(pt)).toBe(true);
    expect(ok(kwIn(env, 'decrypt', '--in', '-', '--out', '-')).stdout.equals(pt)).toBe(true);

    const src = join(work, 'pipe.bin');
    writeFileSync(src, pt);
    const q = (s: string) => `'${s.replace(/'/g, "'\\''")}'`;
    const node = q(process.execPath);
    const sh = spawnSync('sh', ['-c', `${node} ${q(BIN)} --dir ${q(dir)} encrypt --key alias/files < ${q(src)} | ${node} ${q(BIN)} --dir ${q(dir)} decrypt`], { maxBuffer: 1 << 24 });
    expect(sh.stderr.toString()).toBe('');
    expect(sh.status).toBe(0);
    expect(sh.stdout.equals(pt)).toBe(true);
  });

  it('a wrong or missing --context fails with InvalidCiphertextException and writes no output file', () => {
    const env = join(work, 'ctx.kw');
    ok(kwIn(randomBytes(100_000), 'encrypt', '--key', keyId, '--context', 'purpose=test', '--out', env));
    const before = files(work);
    for (const ctx of [['--context', 'purpose=prod'], [], ['--context', 'purpose=test', '--context', 'extra=1']]) {
      const r = kw('decrypt', ...ctx, '--in', env, '--out', join(work, 'ctx.out'));
      failed(r, /^keyward decrypt: InvalidCiphertextException: /);
      expect(files(work)).toEqual(before);
    }
    // On stdout nothing comes out either: the data key never opened.
    const r = kwIn(readFileSync(env), 'decrypt', '--context', 'purpose=prod');
    failed(r, /^keyward decrypt: InvalidCiphertextException: /);
    expect(r.stdout.length).toBe(0);
  });

  it('a tampered, truncated or extended file fails with InvalidCiphertextException, no output file, only verified segments on stdout', () => {
    const pt = randomBytes(20 * SEGMENT + 999);
    const src = join(work, 'tamper.kw');
    ok(kwIn(pt, 'encrypt', '--key', keyId, '--out', src));
    const env = readFileSync(src);
    const h = parseEnvelopeHeader(env).bytes.length;
    const flip = (off: number) => {
      const b = Buffer.from(env);
      b[off]! ^= 0x20;
      return b;
    };
    const cases: [string, Buffer, RegExp][] = [
      ['header (blob length)', flip(18), /^keyward decrypt: InvalidCiphertextException: /],
      ['data key blob', flip(40), /^keyward decrypt: InvalidCiphertextException: /],
      ['segment 10', flip(h + 10 * (SEGMENT + TAG) + 100), /^keyward decrypt: InvalidCiphertextException: envelope segment 10 failed authentication/],
      ['tag of segment 3', flip(h + 4 * (SEGMENT + TAG) - 1), /^keyward decrypt: InvalidCiphertextException: envelope segment 3 failed authentication/],
      ['last segment', flip(env.length - 20), /^keyward decrypt: InvalidCiphertextException: envelope segment 20 failed authentication/],
      ['cut at a segment boundary', env.subarray(0, h + 12 * (SEGMENT + TAG)), /^keyward decrypt: InvalidCiphertextException: envelope segment 11 failed authentication/],
      ['cut mid-segment', env.subarray(0, h + 12 * (SEGMENT + TAG) + 500), /^keyward decrypt: InvalidCiphertextException: envelope segment 12 failed authentication/],
      ['cut inside the header', env.subarray(0, 30), /^keyward decrypt: InvalidCiphertextException: the envelope ends inside its header/],
      ['appended bytes', Buffer.concat([env, Buffer.alloc(7)]), /^keyward decrypt: InvalidCiphertextException: envelope segment 20 failed authentication/],
      ['not an envelope', Buffer.from('hello world, this is plain text'), /^keyward decrypt: InvalidCiphertextException: not a Keyward envelope/],
    ];
    for (const [what, bad, line] of cases) {
      const file = join(work, 'bad.kw');
      writeFileSync(file, bad);
      const before = files(work);
      const r = kw('decrypt', '--in', file, '--out', join(work, 'bad.out'));
      failed(r, line);
      expect(files(work), what).toEqual(before);
      // On stdout, whole segments that verified before the damage may come out, and they are the true data.
      const s = kwIn(bad, 'decrypt');
      failed(s, line);
      expect(s.stdout.length % SEGMENT, what).toBe(0);
      expect(s.stdout.equals(pt.subarray(0, s.stdout.length)), what).toBe(true);
      const seg = /segment (\d+)/.exec(r.err);
      if (seg) expect(s.stdout.length, what).toBeLessThanOrEqual(Number(seg[1]) * SEGMENT);
    }
  });

  it('a missing input file fails before any key is used', () => {
    failed(kw('encrypt', '--key', keyId, '--in', join(work, 'absent.bin')), new RegExp(`^keyward encrypt: ENOENT: cannot read ${join(work, 'absent.bin')}: no such file or directory`));
    failed(kw('decrypt', '--in', work), /^keyward decrypt: EISDIR: /);
  });

  it('sign and verify with an ECC key; node:crypto verifies the signatures', async () => {
    const ecc = JSON.parse(ok(kw('create-key', '--spec', 'ECC_NIST_P256', '--alias', 'alias/signer', '--json')).out).KeyMetadata;
    expect(ecc.KeyUsage).toBe('SIGN_VERIFY');
    const msg = randomBytes(1000);
    const msgFile = join(work, 'msg.bin');
    writeFileSync(msgFile, msg);
    const sigFile = join(work, 'msg.sig');
    ok(kw('sign', '--key', 'alias/signer', '--algorithm', 'ECDSA_SHA_256', '--in', msgFile, '--out', sigFile));
    const sig = readFileSync(sigFile);
    expect(sig[0]).toBe(0x30); // DER SEQUENCE

    expect(ok(kw('verify', '--key', 'alias/signer', '--algorithm', 'ECDSA_SHA_256', '--signature', sigFile, '--in', msgFile)).out)
      .toBe(`signature valid (ECDSA_SHA_256, ${ecc.Arn})\n`);
    const other = Buffer.from(msg);
    other[0]! ^= 1;
    failed(kwIn(other, 'verify', '--key', ecc.KeyId, '--algorithm', 'ECDSA_SHA_256', '--signature', sigFile), /^keyward verify: KMSInvalidSignatureException: /);

    // --base64 both ways, and --digest: the input is SHA-256(message), the signature is over the message.
    const b64 = ok(kwIn(msg, 'sign', '--key', ecc.KeyId, '--algorithm', 'ECDSA_SHA_256', '--base64')).out;
    expect(b64).toMatch(/^[A-Za-z0-9+/]+=*\n$/);
    writeFileSync(join(work, 'msg.b64'), b64);
    ok(kwIn(msg, 'verify', '--key', ecc.KeyId, '--algorithm', 'ECDSA_SHA_256', '--base64', '--signature', join(work, 'msg.b64')));
    const digest = createHash('sha256').update(msg).digest();
    const digestSig = ok(kwIn(digest, 'sign', '--key', ecc.KeyId, '--algorithm', 'ECDSA_SHA_256', '--digest')).stdout;
    failed(kwIn(randomBytes(31), 'sign', '--key', ecc.KeyId, '--algorithm', 'ECDSA_SHA_256', '--digest'), /^keyward sign: ValidationException: Message: a ECDSA_SHA_256 digest is 32 bytes, got 31/);
    failed(kwIn(randomBytes(4097), 'sign', '--key', ecc.KeyId, '--algorithm', 'ECDSA_SHA_256'), /^keyward sign: ValidationException: the input is longer than 4096 bytes, the most Sign takes; hash it and pass the digest with --digest/);
    failed(kwIn(msg, 'sign', '--key', ecc.KeyId, '--algorithm', 'RSASSA_PSS_SHA_256'), /^keyward sign: InvalidKeyUsageException: RSASSA_PSS_SHA_256 is not valid/);

    const k = await Keyward.open({ dir, create: false, maintenanceIntervalMs: 0 });
    let spki: Uint8Array;
    try {
      spki = (await k.getPublicKey({ KeyId: ecc.KeyId })).PublicKey;
    } finally {
      await k.close();
    }
    const pub = createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
    expect(nodeVerify('sha256', msg, pub, sig)).toBe(true);
    expect(nodeVerify('sha256', msg, pub, Buffer.from(b64, 'base64'))).toBe(true);
    expect(nodeVerify('sha256', msg, pub, digestSig)).toBe(true);
    expect(nodeVerify('sha256', other, pub, sig)).toBe(false);
  });

  it('rotate: files encrypted before still decrypt; new files use the new key version', () => {
    const pt = randomBytes(150_000);
    const before = ok(kwIn(pt, 'encrypt', '--key', 'alias/files')).stdout;
    expect(parseBlob(parseEnvelopeHeader(before).dataKeyBlob).backingVersion).toBe(1);

    expect(ok(kw('rotate', 'alias/files')).out).toBe(`rotated arn:aws:kms:us-east-1:000000000000:key/${keyId}: new data is encrypted under a new key version; older versions still decrypt\n`);
    const after = ok(kwIn(pt, 'encrypt', '--key', 'alias/files')).stdout;
    expect(parseBlob(parseEnvelopeHeader(after).dataKeyBlob).backingVersion).toBe(2);
    expect(ok(kwIn(before, 'decrypt')).stdout.equals(pt)).toBe(true);
    expect(ok(kwIn(after, 'decrypt')).stdout.equals(pt)).toBe(true);
    expect(JSON.parse(ok(kw('rotate', keyId, '--json')).out)).toEqual({ KeyId: `arn:aws:kms:us-east-1:000000000000:key/${keyId}` });
    failed(kw('rotate', 'alias/signer'), /^keyward rotate: UnsupportedOperationException: /);
  });

  it('schedule-deletion: the key is PendingDeletion, refuses encrypt and decrypt, and says when it goes', () => {
    const id = JSON.parse(ok(kw('create-key', '--json')).out).KeyMetadata.KeyId;
    const env = ok(kwIn(randomBytes(10), 'encrypt', '--key', id)).stdout;
    const r = ok(kw('schedule-deletion', id, '--days', '7'));
    expect(r.out).toMatch(new RegExp(`^arn:aws:kms:us-east-1:000000000000:key/${id} is PendingDeletion: it will be deleted on (\\S+) \\(in 7 days\\)\\n$`));
    const when = Date.parse(/deleted on (\S+)/.exec(r.out)![1]!);
    expect(Math.abs(when - (Date.now() + 7 * 86_400_000))).toBeLessThan(120_000);
    const meta = JSON.parse(ok(kw('describe-key', id, '--json')).out).KeyMetadata;
    expect(meta).toMatchObject({ KeyState: 'PendingDeletion', Enabled: false, PendingDeletionWindowInDays: 7 });
    failed(kwIn(randomBytes(10), 'encrypt', '--key', id), /^keyward encrypt: KMSInvalidStateException: /);
    failed(kwIn(env, 'decrypt'), /^keyward decrypt: KMSInvalidStateException: /);
    failed(kw('schedule-deletion', id), /^keyward schedule-deletion: KMSInvalidStateException: /);
    const json = JSON.parse(ok(kw('schedule-deletion', 'alias/signer', '--json')).out);
    expect(json).toMatchObject({ KeyState: 'PendingDeletion', PendingWindowInDays: 30 });
  });
});
