// Properties of the engine's public edge, with fast-check: a mutated, truncated, extended, spliced, random
// or misattributed ciphertext blob never yields plaintext through Decrypt or ReEncrypt, only the AWS
// exception for it; and any request object at all (wrong types, missing fields, huge values, keys such
// as __proto__ or constructor), to every public operation, as any principal, either succeeds or rejects
// with a client-side KmsError, never another exception and never KMSInternalException, while the audit
// log keeps verifying.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { KmsError } from '../../src/kms/errors.js';
import { Keyward } from '../../src/kms/keyward.js';
import { ACCOUNT, ALICE, MALLORY, ROOT, utf8 } from './_engine.js';

const open: Keyward[] = [];
const dirs: string[] = [];
afterAll(async () => {
  for (const kw of open.splice(0)) await kw.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function newKeyward(): Promise<Keyward> {
  const dir = mkdtempSync(join(tmpdir(), 'keyward-props-'));
  dirs.push(dir);
  const kw = await Keyward.open({ dir, account: ACCOUNT, maintenanceIntervalMs: 0 });
  open.push(kw);
  return kw;
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown; sync: boolean };

/** Calls fn and captures how it ended; a synchronous throw is an outcome of its own (the API is async). */
async function outcome(fn: () => Promise<unknown>): Promise<Outcome> {
  let p: Promise<unknown>;
  try {
    p = fn();
  } catch (error) {
    return { ok: false, error, sync: true };
  }
  return p.then((value) => ({ ok: true, value }), (error: unknown) => ({ ok: false, error, sync: false }));
}

/** A request for a failure message (requests may be cyclic). */
function show(v: unknown): string {
  try {
    return String(JSON.stringify(v, (_k, x: unknown) => (x instanceof Uint8Array ? `<${x.length} bytes>` : typeof x === 'bigint' ? `${x}n` : x))).slice(0, 300);
  } catch {
    return `<${typeof v} JSON cannot show>`;
  }
}

/** Why an error is not a proper client-side rejection, or undefined when it is one. */
function improper(o: Outcome): string | undefined {
  if (o.ok) return undefined;
  const e = o.error as Error;
  if (o.sync) return `threw synchronously: ${e?.name}: ${e?.message}`;
  if (!(e instanceof KmsError)) return `rejected with a non-KmsError: ${e?.name}: ${e?.message}\n${e?.stack}`;
  if (e.name === 'KMSInternalException') return `KMSInternalException: ${e.message}; cause: ${(e.cause as Error)?.stack ?? String(e.cause)}`;
  return undefined;
}

describe('Decrypt and ReEncrypt of bad ciphertexts', () => {
  interface Fixture {
    kw: Keyward;
    keys: { a: string; b: string; rotated: string; rsa: string };
    blobs: { keyId: string; blob: Uint8Array; ctx: Record<string, string> | undefined; plaintext: Uint8Array }[];
  }
  let f: Fixture;

  beforeAll(async () => {
    const kw = await newKeyward();
    const id = async (r = {}) => (await kw.createKey(r)).KeyMetadata.KeyId;
    const keys = { a: await id(), b: await id(), rotated: await id(), rsa: await id({ KeySpec: 'RSA_2048', KeyUsage: 'ENCRYPT_DECRYPT' }) };
    const blobs: Fixture['blobs'] = [];
    const seal = async (keyId: string, plaintext: Uint8Array, ctx?: Record<string, string>) => {
      blobs.push({ keyId, plaintext, ctx, blob: (await kw.encrypt({ KeyId: keyId, Plaintext: plaintext, ...(ctx ? { EncryptionContext: ctx } : {}) })).CiphertextBlob });
    };
    await seal(keys.a, utf8('a secret of key a'), { tenant: 'acme', purpose: 'props' });
    await seal(keys.rotated, utf8('sealed under version 1'));
    await kw.rotateKeyOnDemand({ KeyId: keys.rotated });
    await kw.rotateKeyOnDemand({ KeyId: keys.rotated });
    await seal(keys.rotated, utf8('sealed under version 3'), { v: '3' });
    const dk = await kw.generateDataKey({ KeyId: keys.b, KeySpec: 'AES_256' });
    blobs.push({ keyId: keys.b, blob: dk.CiphertextBlob, ctx: undefined, plaintext: dk.Plaintext });
    f = { kw, keys, blobs };
  }, 60_000);

  interface Case {
    label: string;
    blob: Uint8Array;
    ctx: Record<string, string> | undefined;
    /** KeyId to name in the request, if any. */
    keyId?: string;
    /** The AWS exceptions this case may end in. */
    expect: string[];
  }

  const same = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(Buffer.from(b));
  const canon = (c: Record<string, string> | undefined) => JSON.stringify(Object.entries(c ?? {}).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)));

  /** Every way to spoil a good blob; each case keeps only what still differs from a valid request. */
  function cases(): fc.Arbitrary<Case> {
    const pick = fc.nat({ max: f.blobs.length - 1 }).map((i) => f.blobs[i]!);
    const ctxArb = fc.option(fc.dictionary(fc.string({ maxLength: 8 }), fc.string({ maxLength: 8 }), { maxKeys: 3 }), { nil: undefined });
    const bad = ['InvalidCiphertextException'];
    const spoiled: fc.Arbitrary<Case> = fc.oneof(
      fc.tuple(pick, fc.nat(), fc.nat({ max: 7 })).map(([g, at, bit]) => {
        const blob = g.blob.slice();
        blob[at % blob.length]! ^= 1 << bit;
        // A flip inside the key id may name a key that does not exist.
        return { label: `flip byte ${at % blob.length} bit ${bit}`, blob, ctx: g.ctx, expect: [...bad, 'NotFoundException'] };
      }),
      fc.tuple(pick, fc.nat()).map(([g, n]) => {
        const len = n % g.blob.length;
        return { label: `truncated to ${len}`, blob: g.blob.slice(0, len), ctx: g.ctx, expect: len === 0 ? ['ValidationException'] : bad };
      }),
      fc.tuple(pick, fc.uint8Array({ minLength: 1, maxLength: 64 })).map(([g, tail]) => ({
        label: `extended by ${tail.length}`, blob: Buffer.concat([g.blob, tail]), ctx: g.ctx, expect: bad,
      })),
      fc.uint8Array({ minLength: 1, maxLength: 600 }).map((blob) => ({ label: 'random bytes', blob, ctx: undefined, expect: [...bad, 'NotFoundException'] })),
      // A well-formed header of a real key over random bytes: parses, then fails authentication.
      fc.tuple(pick, fc.uint8Array({ minLength: 16, maxLength: 200 })).map(([g, body]) => ({
        label: 'real header, random body', blob: Buffer.concat([g.blob.subarray(0, 2 + g.blob[1]! + 32), body]), ctx: g.ctx, expect: bad,
      })),
      // The header of one blob with the body of another.
      fc.tuple(pick, pick).filter(([g, h]) => g !== h).map(([g, h]) => ({
        label: 'spliced', blob: Buffer.concat([g.blob.subarray(0, 2 + g.blob[1]! + 34), h.blob.subarray(2 + h.blob[1]! + 34)]), ctx: g.ctx, expect: bad,
      })),
      fc.tuple(pick, fc.constantFrom('a', 'b', 'rotated', 'rsa') as fc.Arbitrary<keyof Fixture['keys']>, fc.constantFrom('', 'arn')).map(([g, k, form]) => {
        const keyId = form === 'arn' ? `arn:aws:kms:us-east-1:${ACCOUNT}:key/${f.keys[k]}` : f.keys[k];
        return { label: `KeyId of key ${k} (${form || 'id'})`, blob: g.blob, ctx: g.ctx, keyId, expect: f.keys[k] === g.keyId ? [] : ['IncorrectKeyException'] };
      }),
      fc.tuple(pick, ctxArb).map(([g, ctx]) => ({
        label: `context ${JSON.stringify(ctx)}`, blob: g.blob, ctx,
        // An empty key is not a valid context at all.
        expect: canon(ctx) === canon(g.ctx) ? [] : Object.keys(ctx ?? {}).includes('') ? ['ValidationException'] : bad,
      })),
    );
    return spoiled.filter((c) => c.expect.length > 0 && !f.blobs.some((g) => same(g.blob, c.blob) && canon(g.ctx) === canon(c.ctx) && c.keyId === undefined));
  }

  function check(c: Case, o: Outcome): void {
    if (o.ok) throw new Error(`${c.label}: returned a result ${show(o.value)}`);
    const why = improper(o);
    if (why) throw new Error(`${c.label}: ${why}`);
    const name = (o.error as Error).name;
    if (!c.expect.includes(name)) throw new Error(`${c.label}: ${name} (${(o.error as Error).message}), expected ${c.expect.join(' or ')}`);
  }

  it('every valid blob decrypts (the control the properties below are measured against)', async () => {
    for (const g of f.blobs) {
      const r = await f.kw.decrypt({ CiphertextBlob: g.blob, ...(g.ctx ? { EncryptionContext: g.ctx } : {}), KeyId: g.keyId });
      expect(r.Plaintext).toEqual(g.plaintext);
    }
  });

  it('Decrypt: never plaintext, only the AWS exception of the spoiled blob', async () => {
    await fc.assert(
      fc.asyncProperty(cases(), async (c) => {
        const o = await outcome(() => f.kw.decrypt({ CiphertextBlob: c.blob, ...(c.ctx ? { EncryptionContext: c.ctx } : {}), ...(c.keyId ? { KeyId: c.keyId } : {}) }));
        check(c, o);
      }),
      { numRuns: 300 },
    );
  }, 60_000);

  it('ReEncrypt: never a new blob, only the AWS exception of the spoiled blob', async () => {
    await fc.assert(
      fc.asyncProperty(cases(), fc.constantFrom('a', 'b') as fc.Arbitrary<'a' | 'b'>, async (c, dst) => {
        const o = await outcome(() =>
          f.kw.reEncrypt({
            CiphertextBlob: c.blob, DestinationKeyId: f.keys[dst],
            ...(c.ctx ? { SourceEncryptionContext: c.ctx } : {}), ...(c.keyId ? { SourceKeyId: c.keyId } : {}),
          }),
        );
        check(c, o);
      }),
      { numRuns: 300 },
    );
  }, 60_000);

  it('an encryption context binds exactly: another one (keys such as __proto__ included) never opens the blob', async () => {
    // Keys are set as own properties, as JSON.parse on a server sets them, so '__proto__' is a key like any other.
    const ctxArb = fc
      .array(fc.tuple(fc.oneof(fc.string({ minLength: 1, maxLength: 6 }), fc.constantFrom('__proto__', 'constructor', 'toString')), fc.string({ maxLength: 6 })), { maxLength: 3 })
      .map((pairs) => JSON.parse(JSON.stringify(Object.fromEntries(pairs))) as Record<string, string>);
    await fc.assert(
      fc.asyncProperty(ctxArb, ctxArb, fc.uint8Array({ minLength: 1, maxLength: 64 }), async (sealCtx, openCtx, plaintext) => {
        const { CiphertextBlob } = await f.kw.encrypt({ KeyId: f.keys.a, Plaintext: plaintext, EncryptionContext: sealCtx });
        const right = await f.kw.decrypt({ CiphertextBlob, EncryptionContext: sealCtx });
        expect(right.Plaintext).toEqual(plaintext);
        if (canon(openCtx) === canon(sealCtx)) return;
        const o = await outcome(() => f.kw.decrypt({ CiphertextBlob, EncryptionContext: openCtx }));
        check({ label: `sealed with ${JSON.stringify(sealCtx)}, opened with ${JSON.stringify(openCtx)}`, blob: CiphertextBlob, ctx: openCtx, expect: ['InvalidCiphertextException'] }, o);
      }),
      { numRuns: 150 },
    );
  }, 60_000);

  it('an encryption context with a lone surrogate is refused (ValidationException): it would encode like its U+FFFD twin', async () => {
    const lone = fc
      .tuple(fc.string({ maxLength: 4 }), fc.integer({ min: 0xd800, max: 0xdfff }), fc.string({ maxLength: 4 }))
      .map(([a, c, b]) => `${a}${String.fromCharCode(c)}${b}`);
    const g = f.blobs[0]!;
    await fc.assert(
      fc.asyncProperty(lone, fc.boolean(), async (bad, inKey) => {
        const ctx = inKey ? { [bad]: 'v' } : { k: bad };
        for (const call of [
          () => f.kw.encrypt({ KeyId: f.keys.a, Plaintext: utf8('x'), EncryptionContext: ctx }),
          () => f.kw.generateDataKey({ KeyId: f.keys.a, KeySpec: 'AES_256', EncryptionContext: ctx }),
          () => f.kw.decrypt({ CiphertextBlob: g.blob, EncryptionContext: ctx }),
        ]) {
          check({ label: `context ${JSON.stringify(ctx)}`, blob: g.blob, ctx, expect: ['ValidationException'] }, await outcome(call));
        }
      }),
      { numRuns: 100 },
    );
  }, 60_000);

  it('RSAES_OAEP Decrypt of random bytes: InvalidCiphertextException, or ValidationException for an empty blob', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 0, maxLength: 600 }), fc.constantFrom('RSAES_OAEP_SHA_1', 'RSAES_OAEP_SHA_256') as fc.Arbitrary<'RSAES_OAEP_SHA_1'>, async (blob, alg) => {
        const o = await outcome(() => f.kw.decrypt({ CiphertextBlob: blob, KeyId: f.keys.rsa, EncryptionAlgorithm: alg }));
        check({ label: `${blob.length} random bytes, ${alg}`, blob, ctx: undefined, expect: blob.length === 0 ? ['ValidationException'] : ['InvalidCiphertextException'] }, o);
      }),
      { numRuns: 150 },
    );
  }, 60_000);

  it('leaves an audit log that verifies', async () => {
    expect(await f.kw.verifyAudit()).toMatchObject({ ok: true });
  });
});

describe('any request to any operation', () => {
  // The public operations: every method of Keyward but the handle's own (they take no AWS request).
  const NOT_OPERATIONS = new Set(['constructor', 'as', 'inRegion', 'maintenance', 'verifyAudit', 'auditTail', 'close', 'live', 'op']);
  const OPERATIONS = Object.getOwnPropertyNames(Keyward.prototype).filter(
    (n) => !NOT_OPERATIONS.has(n) && typeof Object.getOwnPropertyDescriptor(Keyward.prototype, n)?.value === 'function',
  );

  // Every request field of the AWS shapes the engine implements, plus keys that tempt prototype pollution.
  const FIELDS = [
    'KeyId', 'Plaintext', 'CiphertextBlob', 'EncryptionContext', 'GrantTokens', 'EncryptionAlgorithm', 'SourceKeyId', 'DestinationKeyId',
    'SourceEncryptionContext', 'DestinationEncryptionContext', 'SourceEncryptionAlgorithm', 'DestinationEncryptionAlgorithm', 'KeySpec',
    'NumberOfBytes', 'KeyPairSpec', 'Message', 'MessageType', 'SigningAlgorithm', 'Signature', 'MacAlgorithm', 'Mac', 'AliasName',
    'TargetKeyId', 'Limit', 'Marker', 'Description', 'KeyUsage', 'CustomerMasterKeySpec', 'Origin', 'MultiRegion', 'Policy', 'PolicyName',
    'BypassPolicyLockoutSafetyCheck', 'Tags', 'TagKeys', 'PendingWindowInDays', 'RotationPeriodInDays', 'GranteePrincipal',
    'RetiringPrincipal', 'Operations', 'Constraints', 'Name', 'GrantId', 'GrantToken', 'WrappingAlgorithm', 'WrappingKeySpec', 'ImportToken',
    'EncryptedKeyMaterial', 'ValidTo', 'ExpirationModel', 'ReplicaRegion',
  ];
  /** UTF-16 strings, lone surrogates included (fast-check's own string units are all well-formed). */
  const utf16 = fc.string({ unit: fc.oneof(fc.integer({ min: 0, max: 0xffff }), fc.constantFrom(0xd800, 0xdbff, 0xdc00, 0xdfff)).map((c) => String.fromCharCode(c)), maxLength: 12 });
  const CYCLIC: Record<string, unknown> = { a: 'x' };
  CYCLIC.self = CYCLIC;
  const OBJECT_PROTOTYPE = Object.getOwnPropertyNames(Object.prototype);
  const ARRAY_PROTOTYPE = Object.getOwnPropertyNames(Array.prototype);
  const SPECIAL_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'valueOf', 'hasOwnProperty', 'then'];

  interface Fixture {
    kw: Keyward;
    /** Strings worth trying in any field: ids, ARNs and aliases of real keys, grant ids and tokens, enum values. */
    strings: string[];
    blobs: Uint8Array[];
    /** A valid request per operation, which the mutating arbitrary spoils a field or three at a time. */
    valid: Record<string, Record<string, unknown>>;
    requests: number;
  }
  let f: Fixture;

  beforeAll(async () => {
    const kw = await newKeyward();
    f = { kw, strings: [], blobs: [], valid: {}, requests: 0 };
  });

  // Fresh keys of every kind for each operation, so one operation's random success (a disable, a scheduled
  // deletion, a policy) does not starve the next of keys to reach its deeper paths with.
  beforeEach(async () => {
    const { kw } = f;
    const key = async (r = {}) => (await kw.createKey(r)).KeyMetadata;
    const sym = await key();
    const ecc = await key({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' });
    const hmac = await key({ KeySpec: 'HMAC_256', KeyUsage: 'GENERATE_VERIFY_MAC' });
    const ext = await key({ Origin: 'EXTERNAL' });
    const mrk = await key({ MultiRegion: true });
    const pending = await key();
    await kw.scheduleKeyDeletion({ KeyId: pending.KeyId, PendingWindowInDays: 7 });
    const alias = `alias/props-${sym.KeyId.slice(0, 8)}`;
    await kw.createAlias({ AliasName: alias, TargetKeyId: sym.KeyId });
    const grant = await kw.createGrant({ KeyId: sym.KeyId, GranteePrincipal: ALICE, RetiringPrincipal: ALICE, Operations: ['Decrypt', 'Encrypt'] });
    const msg = utf8('message');
    f.blobs = [
      (await kw.encrypt({ KeyId: sym.KeyId, Plaintext: msg, EncryptionContext: { k: 'v' } })).CiphertextBlob,
      (await kw.generateDataKey({ KeyId: mrk.KeyId, NumberOfBytes: 32 })).CiphertextBlob,
      (await kw.sign({ KeyId: ecc.KeyId, Message: msg, SigningAlgorithm: 'ECDSA_SHA_256' })).Signature,
      (await kw.generateMac({ KeyId: hmac.KeyId, Message: msg, MacAlgorithm: 'HMAC_SHA_256' })).Mac,
      msg,
    ];
    const [blob, , signature, mac] = f.blobs as [Uint8Array, Uint8Array, Uint8Array, Uint8Array];
    const sk = { KeyId: sym.KeyId };
    f.valid = {
      createKey: { Description: 'd', KeySpec: 'SYMMETRIC_DEFAULT', KeyUsage: 'ENCRYPT_DECRYPT', Tags: [{ TagKey: 'a', TagValue: 'b' }] },
      describeKey: sk, listKeys: { Limit: 10 }, enableKey: sk, disableKey: sk, cancelKeyDeletion: { KeyId: pending.KeyId }, listKeyPolicies: sk, listResourceTags: sk,
      scheduleKeyDeletion: { ...sk, PendingWindowInDays: 7 },
      getKeyPolicy: { ...sk, PolicyName: 'default' },
      putKeyPolicy: { ...sk, PolicyName: 'default', Policy: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: ROOT }, Action: 'kms:*', Resource: '*' }] }) },
      tagResource: { ...sk, Tags: [{ TagKey: 'k', TagValue: 'v' }] },
      untagResource: { ...sk, TagKeys: ['k'] },
      createAlias: { AliasName: `${alias}-2`, TargetKeyId: sym.KeyId },
      updateAlias: { AliasName: alias, TargetKeyId: mrk.KeyId },
      deleteAlias: { AliasName: alias },
      listAliases: sk,
      encrypt: { ...sk, Plaintext: msg, EncryptionContext: { k: 'v' } },
      decrypt: { CiphertextBlob: blob, EncryptionContext: { k: 'v' } },
      reEncrypt: { CiphertextBlob: blob, SourceEncryptionContext: { k: 'v' }, DestinationKeyId: mrk.KeyId },
      generateDataKey: { ...sk, KeySpec: 'AES_256' },
      generateDataKeyWithoutPlaintext: { ...sk, KeySpec: 'AES_256' },
      generateDataKeyPair: { ...sk, KeyPairSpec: 'ECC_NIST_P256' },
      generateDataKeyPairWithoutPlaintext: { ...sk, KeyPairSpec: 'ECC_NIST_P256' },
      sign: { KeyId: ecc.KeyId, Message: msg, SigningAlgorithm: 'ECDSA_SHA_256' },
      verify: { KeyId: ecc.KeyId, Message: msg, SigningAlgorithm: 'ECDSA_SHA_256', Signature: signature },
      getPublicKey: { KeyId: ecc.KeyId },
      generateMac: { KeyId: hmac.KeyId, Message: msg, MacAlgorithm: 'HMAC_SHA_256' },
      verifyMac: { KeyId: hmac.KeyId, Message: msg, MacAlgorithm: 'HMAC_SHA_256', Mac: mac },
      generateRandom: { NumberOfBytes: 32 },
      enableKeyRotation: { ...sk, RotationPeriodInDays: 90 },
      disableKeyRotation: sk, getKeyRotationStatus: sk, rotateKeyOnDemand: sk, listKeyRotations: sk,
      createGrant: { ...sk, GranteePrincipal: ALICE, RetiringPrincipal: ALICE, Operations: ['Decrypt'], Name: 'n', Constraints: { EncryptionContextSubset: { k: 'v' } } },
      listGrants: { ...sk, GrantId: grant.GrantId, GranteePrincipal: ALICE },
      listRetirableGrants: { RetiringPrincipal: ALICE },
      retireGrant: { GrantToken: grant.GrantToken },
      revokeGrant: { ...sk, GrantId: grant.GrantId },
      // Without its WrappingKeySpec: a valid one would make every mutant that keeps it generate an RSA key pair.
      getParametersForImport: { KeyId: ext.KeyId, WrappingAlgorithm: 'RSAES_OAEP_SHA_256' },
      importKeyMaterial: { KeyId: ext.KeyId, ImportToken: new Uint8Array(32), EncryptedKeyMaterial: new Uint8Array(256), ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' },
      deleteImportedKeyMaterial: { KeyId: ext.KeyId },
      replicateKey: { KeyId: mrk.KeyId, ReplicaRegion: 'eu-west-1', Description: 'r' },
    };
    f.strings = [
      ...[sym, ecc, hmac, ext, mrk, pending].flatMap((m) => [m.KeyId, m.Arn]), alias, `arn:aws:kms:us-east-1:${ACCOUNT}:${alias}`, 'alias/missing',
      grant.GrantId, grant.GrantToken, ROOT, ALICE, MALLORY, `arn:aws:iam::${ACCOUNT}:role/keyward-system`,
      'SYMMETRIC_DEFAULT', 'ECC_NIST_P256', 'HMAC_256', 'AES_256', 'AES_128', 'ENCRYPT_DECRYPT', 'SIGN_VERIFY', 'GENERATE_VERIFY_MAC',
      'RSAES_OAEP_SHA_256', 'ECDSA_SHA_256', 'HMAC_SHA_256', 'RAW', 'DIGEST', 'AWS_KMS', 'EXTERNAL', 'default', 'Encrypt', 'Decrypt',
      'KEY_MATERIAL_DOES_NOT_EXPIRE', 'eu-west-1', 'us-east-1', '', 'x'.repeat(100_000),
    ];
  });

  /**
   * Operations whose validation (src/kms/ops-replicate.ts, work in progress) puts a BigInt or cyclic value
   * through JSON.stringify and so fails with KMSInternalException: the reproducer in 'engine bugs found
   * here' below. Their requests get every other kind of value until that is fixed.
   */
  const JSON_UNSAFE_OPS = new Set(['replicateKey']);

  /** Any value at all, weighted toward values that pass a field's first checks and reach the keys. */
  function value(depth: number, jsonSafe: boolean): fc.Arbitrary<unknown> {
    const leaves: fc.Arbitrary<unknown>[] = [
      fc.constantFrom(...f.strings),
      fc.constantFrom(...f.blobs),
      fc.string({ unit: 'binary', maxLength: 40 }),
      fc.uint8Array({ maxLength: 80 }),
      fc.constantFrom(new Uint8Array(70_000), Buffer.from('buffer'), new Uint16Array(4), new DataView(new ArrayBuffer(4)), new Date(Date.UTC(2027, 0, 1)), new Date(Number.NaN)),
      fc.integer({ min: -2, max: 2000 }),
      fc.constantFrom(0, -0, 7, 30, 32, 90, 365, Number.NaN, Infinity, -Infinity, 2 ** 53, 1e308, 0.5),
      fc.constantFrom(undefined, null, true, false),
      // Values JSON shows lossily or not at all: they must not break the messages that describe them.
      fc.constantFrom<unknown>(Symbol('s'), () => 1, Object.create(null), [, 'sparse'], ...(jsonSafe ? [] : [2n ** 64n, -1n, CYCLIC])),
      utf16,
      fc.anything({ maxDepth: 2, withNullPrototype: true, withBigInt: !jsonSafe, withDate: true, withTypedArray: true, withSparseArray: true, withBoxedValues: true }),
    ];
    if (depth > 0) {
      const v = value(depth - 1, jsonSafe);
      leaves.push(
        fc.array(v, { maxLength: 4 }),
        fc.dictionary(fc.oneof(fc.string({ maxLength: 6 }), fc.constantFrom(...SPECIAL_KEYS)), v, { maxKeys: 4 }).map(ownSpecialKeys),
        fc.record({ TagKey: v, TagValue: v }),
        fc.constantFrom(
          JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: ROOT }, Action: 'kms:*', Resource: '*' }] }),
          JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Deny', Principal: '*', Action: 'kms:*', Resource: '*' }] }),
        ),
      );
    }
    return fc.oneof(...leaves);
  }

  /** fc.dictionary builds with assignment, which sets an object's prototype for '__proto__'; JSON.parse makes it an own key, as a server would. */
  function ownSpecialKeys(o: Record<string, unknown>): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(o)) Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
    return out;
  }

  // The valid requests that cannot succeed here: no RSA wrapping key is generated (see getParametersForImport
  // below), so there is no import token to import with.
  const CONTROL_REFUSED: Record<string, string> = { getParametersForImport: 'ValidationException', importKeyMaterial: 'InvalidImportTokenException' };

  const REMOVE = Symbol('remove the field');

  /** Anything as the request; a random object of request fields; or the operation's valid request with one to three fields removed, replaced or added. */
  function request(op: string): fc.Arbitrary<unknown> {
    const v = value(1, JSON_UNSAFE_OPS.has(op));
    const valid = f.valid[op] ?? {};
    const field = fc.oneof({ weight: 5, arbitrary: fc.constantFrom(...FIELDS, ...Object.keys(valid)) }, fc.constantFrom(...SPECIAL_KEYS));
    const edit = fc.tuple(fc.oneof(fc.constantFrom(...Object.keys(valid)), field), fc.oneof({ weight: 1, arbitrary: fc.constant(REMOVE) }, { weight: 4, arbitrary: v }));
    return fc.oneof(
      { weight: 1, arbitrary: v },
      { weight: 3, arbitrary: fc.dictionary(field, v, { maxKeys: 6 }).map(ownSpecialKeys) },
      {
        weight: 6,
        arbitrary: fc.array(edit, { minLength: 1, maxLength: 3 }).map((edits) => {
          const out = ownSpecialKeys(valid);
          for (const [k, val] of edits) {
            if (val === REMOVE) delete out[k];
            else Object.defineProperty(out, k, { value: val, enumerable: true, writable: true, configurable: true });
          }
          return out;
        }),
      },
    );
  }

  const callers = () =>
    fc.oneof(
      { weight: 6, arbitrary: fc.constant(undefined) },
      fc.constantFrom(ALICE, MALLORY, `arn:aws:iam::${ACCOUNT}:role/keyward-system`, 'arn:aws:iam::1:root', '', 'x'.repeat(10_000)),
      fc.string({ unit: 'binary', maxLength: 30 }),
      fc.string({ unit: 'grapheme', maxLength: 12 }).map((s) => `arn:aws:iam::${ACCOUNT}:user/${s}`),
    );

  it('finds the operations, and has a valid request for each', () => {
    expect(Object.keys(f.valid).sort()).toEqual([...OPERATIONS].sort());
    for (const op of ['createKey', 'encrypt', 'decrypt', 'reEncrypt', 'generateDataKey', 'sign', 'verify', 'createAlias', 'rotateKeyOnDemand', 'createGrant', 'putKeyPolicy', 'tagResource']) {
      expect(OPERATIONS).toContain(op);
    }
  });

  for (const op of OPERATIONS) {
    it(`${op}: its valid request succeeds; any other succeeds or is refused with a client-side KmsError`, async () => {
      const control = await outcome(() => (f.kw as unknown as Record<string, (r: unknown) => Promise<unknown>>)[op]!(f.valid[op]));
      if (op in CONTROL_REFUSED) expect(control.ok ? 'success' : (control.error as Error).name).toBe(CONTROL_REFUSED[op]);
      else expect(control.ok, improper(control) ?? (control.ok ? '' : (control.error as Error).message)).toBe(true);
      await fc.assert(
        fc.asyncProperty(request(op), callers(), async (r, principal) => {
          const kw = principal === undefined ? f.kw : f.kw.as(principal as string);
          f.requests++;
          const o = await outcome(() => (kw as unknown as Record<string, (r: unknown) => Promise<unknown>>)[op]!(r));
          const why = improper(o);
          if (why) throw new Error(`${op}(${show(r)}) as ${show(principal ?? ROOT)}: ${why}`);
          // Nothing a request carries may reach shared prototypes.
          expect(Object.getOwnPropertyNames(Object.prototype)).toEqual(OBJECT_PROTOTYPE);
          expect(Object.getOwnPropertyNames(Array.prototype)).toEqual(ARRAY_PROTOTYPE);
        }),
        { numRuns: 100 },
      );
    }, 60_000);
  }

  it('leaves an audit log that verifies and holds a record of every request', async () => {
    expect(await f.kw.verifyAudit()).toMatchObject({ ok: true });
    const head = (await f.kw.auditTail(1))[0]!;
    expect(head.seq).toBeGreaterThanOrEqual(f.requests);
  });
});

// Bugs these properties found outside src/kms/validate.ts and ops-*.ts, reported to the lead: each is a
// minimal reproducer marked `fails`, so it passes while the bug is there and fails, asking for its `.fails`
// (and JSON_UNSAFE_OPS above) to go, once the bug is fixed.
describe('engine bugs found here', () => {
  let kw: Keyward;
  let keyId: string;
  beforeAll(async () => {
    kw = await newKeyward();
    keyId = (await kw.createKey({ MultiRegion: true })).KeyMetadata.KeyId;
  });
  const refusedProperly = async (fn: () => Promise<unknown>) => {
    const o = await outcome(fn);
    expect(o.ok).toBe(false);
    expect(improper(o)).toBeUndefined();
  };

  it('ops-replicate.ts: a BigInt ReplicaRegion is a ValidationException', async () => {
    await refusedProperly(() => kw.replicateKey({ KeyId: keyId, ReplicaRegion: 1n as never }));
  });
  it('engine.ts: a principal with a lone surrogate is refused, and the refusal is audited', async () => {
    await refusedProperly(() => kw.as(`arn:aws:iam::${ACCOUNT}:user/\ud800`).listKeys());
    const [last] = await kw.auditTail(1);
    expect(last).toMatchObject({ operation: 'ListKeys', outcome: 'ValidationException', principal: `invalid:"arn:aws:iam::${ACCOUNT}:user/\\ud800"` });
    expect((await kw.verifyAudit()).ok).toBe(true);
  });
  it('engine.ts: a principal that is not a string is refused', async () => {
    await refusedProperly(() => kw.as(1n as never).listKeys());
  });
  it('keyward.ts: a handle for a malformed region is refused; a new well-formed region gets its region key on its first key', async () => {
    await refusedProperly(() => kw.inRegion('Mars \ud800').listKeys());
    const { KeyMetadata } = await kw.inRegion('eu-west-3').createKey();
    expect(KeyMetadata.Arn).toContain(':eu-west-3:');
    expect((await kw.inRegion('eu-west-3').describeKey({ KeyId: KeyMetadata.KeyId })).KeyMetadata.KeyId).toBe(KeyMetadata.KeyId);
  });
});
