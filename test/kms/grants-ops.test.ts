// Grant operations through the public API: CreateGrant, ListGrants, ListRetirableGrants, RetireGrant,
// RevokeGrant. Keys here have a policy that names only ADMIN, so whatever ALICE, BOB or MALLORY can do
// comes from grants, and must stop the moment a grant is retired or revoked.
import { describe, expect, it } from 'vitest';
import type { Keyward } from '../../src/kms/keyward.js';
import { MAX_GRANTS_PER_GRANTEE } from '../../src/kms/ops-grants.js';
import { ACCOUNT, ADMIN, ALICE, BOB, MALLORY, ROOT, engine, rejectsWith, utf8 } from './_engine.js';

const ADMIN_ONLY = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Sid: 'admin', Effect: 'Allow', Principal: { AWS: ADMIN }, Action: 'kms:*', Resource: '*' }],
});

async function setup(spec: { KeySpec?: 'SYMMETRIC_DEFAULT' | 'HMAC_256' | 'ECC_NIST_P256'; KeyUsage?: 'ENCRYPT_DECRYPT' | 'SIGN_VERIFY' | 'GENERATE_VERIFY_MAC' } = {}) {
  const h = await engine();
  const admin = h.kw.as(ADMIN);
  const { KeyMetadata } = await admin.createKey({ Policy: ADMIN_ONLY, ...spec });
  return { h, admin, alice: h.kw.as(ALICE), bob: h.kw.as(BOB), keyId: KeyMetadata.KeyId, arn: KeyMetadata.Arn };
}

const encrypt = (kw: Keyward, KeyId: string, ctx?: Record<string, string>) =>
  kw.encrypt({ KeyId, Plaintext: utf8('granted'), ...(ctx ? { EncryptionContext: ctx } : {}) });

describe('CreateGrant', () => {
  it('lets the grantee do exactly the granted operations, at once, and nobody else', async () => {
    const { admin, alice, bob, keyId, arn } = await setup();
    await rejectsWith(encrypt(alice, keyId), 'AccessDeniedException');
    const g = await admin.createGrant({ KeyId: keyId, GranteePrincipal: ALICE, Operations: ['Encrypt', 'Decrypt'] });
    expect(g.GrantId).toMatch(/^[0-9a-f]{64}$/);
    expect(typeof g.GrantToken).toBe('string');
    const { CiphertextBlob } = await encrypt(alice, keyId);
    expect(new TextDecoder().decode((await alice.decrypt({ CiphertextBlob })).Plaintext)).toBe('granted');
    expect((await alice.encrypt({ KeyId: arn, Plaintext: utf8('x') })).KeyId).toBe(arn);
    await rejectsWith(alice.generateDataKey({ KeyId: keyId, KeySpec: 'AES_256' }), 'AccessDeniedException');
    await rejectsWith(alice.describeKey({ KeyId: keyId }), 'AccessDeniedException');
    await rejectsWith(alice.disableKey({ KeyId: keyId }), 'AccessDeniedException');
    await rejectsWith(encrypt(bob, keyId), 'AccessDeniedException');
    await rejectsWith(bob.decrypt({ CiphertextBlob }), 'AccessDeniedException');
  });

  it('applies EncryptionContextSubset and EncryptionContextEquals to Encrypt and Decrypt', async () => {
    const { admin, alice, bob, keyId } = await setup();
    await admin.createGrant({ KeyId: keyId, GranteePrincipal: ALICE, Operations: ['Encrypt', 'Decrypt'], Constraints: { EncryptionContextSubset: { dept: 'a' } } });
    await admin.createGrant({ KeyId: keyId, GranteePrincipal: BOB, Operations: ['Encrypt', 'Decrypt'], Constraints: { EncryptionContextEquals: { dept: 'a' } } });
    const wide = { dept: 'a', case: '7' };
    const blob = (await encrypt(alice, keyId, wide)).CiphertextBlob;
    expect((await alice.decrypt({ CiphertextBlob: blob, EncryptionContext: wide })).Plaintext).toEqual(utf8('granted'));
    await rejectsWith(encrypt(alice, keyId, { dept: 'b' }), 'AccessDeniedException');
    await rejectsWith(encrypt(alice, keyId), 'AccessDeniedException');
    // Constraint keys compare case-insensitively, values exactly (AWS GrantConstraints).
    await encrypt(alice, keyId, { DEPT: 'a' });
    await rejectsWith(encrypt(alice, keyId, { dept: 'A' }), 'AccessDeniedException');
    await encrypt(bob, keyId, { dept: 'a' });
    await rejectsWith(encrypt(bob, keyId, wide), 'AccessDeniedException');
    await rejectsWith(bob.decrypt({ CiphertextBlob: blob, EncryptionContext: wide }), 'AccessDeniedException');
  });

  it('returns the existing grant for the same Name and parameters, with a new interchangeable token', async () => {
    const { h, admin, keyId } = await setup();
    const req = { KeyId: keyId, GranteePrincipal: ALICE, Operations: ['Encrypt', 'Decrypt'], Name: 'app-1', Constraints: { EncryptionContextSubset: { a: '1', b: '2' } } };
    const first = await admin.createGrant(req);
    const again = await admin.createGrant({ ...req, Operations: ['Decrypt', 'Encrypt'], Constraints: { EncryptionContextSubset: { b: '2', a: '1' } } });
    expect(again.GrantId).toBe(first.GrantId);
    expect(again.GrantToken).not.toBe(first.GrantToken);
    const other = await admin.createGrant({ ...req, Operations: ['Encrypt'] });
    expect(other.GrantId).not.toBe(first.GrantId);
    const unnamed = [await admin.createGrant({ ...req, Name: undefined }), await admin.createGrant({ ...req, Name: undefined })];
    expect(unnamed[0]!.GrantId).not.toBe(unnamed[1]!.GrantId);
    expect((await admin.listGrants({ KeyId: keyId })).Grants).toHaveLength(4);
    // The issuing account's root may retire; either token names the one grant.
    await h.kw.retireGrant({ GrantToken: again.GrantToken });
    await rejectsWith(h.kw.retireGrant({ GrantToken: first.GrantToken }), 'NotFoundException');
  });

  it('makes one grant of concurrent retries with the same Name', async () => {
    const { admin, keyId } = await setup();
    const req = { KeyId: keyId, GranteePrincipal: ALICE, Operations: ['Encrypt'], Name: 'retry' };
    const results = await Promise.all(Array.from({ length: 6 }, () => admin.createGrant(req)));
    expect(new Set(results.map((r) => r.GrantId)).size).toBe(1);
    expect((await admin.listGrants({ KeyId: keyId })).Grants).toHaveLength(1);
  });

  it('lets a grant with CreateGrant delegate only what it holds, constraints no looser', async () => {
    const { admin, alice, bob, keyId } = await setup();
    await admin.createGrant({
      KeyId: keyId, GranteePrincipal: ALICE, Operations: ['Encrypt', 'Decrypt', 'CreateGrant'], Constraints: { EncryptionContextSubset: { team: 'x' } },
    });
    await rejectsWith(alice.createGrant({ KeyId: keyId, GranteePrincipal: BOB, Operations: ['Encrypt'] }), 'AccessDeniedException');
    await rejectsWith(alice.createGrant({
      KeyId: keyId, GranteePrincipal: BOB, Operations: ['Encrypt', 'GenerateDataKey'], Constraints: { EncryptionContextSubset: { team: 'x' } },
    }), 'AccessDeniedException');
    await alice.createGrant({ KeyId: keyId, GranteePrincipal: BOB, Operations: ['Encrypt'], Constraints: { EncryptionContextEquals: { team: 'x' } } });
    await encrypt(bob, keyId, { team: 'x' });
    await rejectsWith(bob.decrypt({ CiphertextBlob: (await encrypt(bob, keyId, { team: 'x' })).CiphertextBlob, EncryptionContext: { team: 'x' } }), 'AccessDeniedException');
  });

  it('gives a grantee in another account the key by its ARN', async () => {
    const { h, admin, keyId, arn } = await setup();
    const mallory = h.kw.as(MALLORY);
    await rejectsWith(encrypt(mallory, arn), 'AccessDeniedException');
    await admin.createGrant({ KeyId: keyId, GranteePrincipal: MALLORY, Operations: ['Encrypt', 'CreateGrant'] });
    expect((await encrypt(mallory, arn)).KeyId).toBe(arn);
    // A grant made by the other account still belongs to the key's account, whose root may retire it.
    const child = await mallory.createGrant({ KeyId: arn, GranteePrincipal: BOB, Operations: ['Encrypt'] });
    const listed = (await admin.listGrants({ KeyId: keyId, GrantId: child.GrantId })).Grants[0]!;
    expect(listed.IssuingAccount).toBe(`arn:aws:iam::${ACCOUNT}:root`);
    await encrypt(h.kw.as(BOB), keyId);
    await rejectsWith(h.kw.as('arn:aws:iam::999988887777:root').retireGrant({ GrantToken: child.GrantToken }), 'AccessDeniedException');
    await h.kw.retireGrant({ GrantToken: child.GrantToken });
    await rejectsWith(encrypt(h.kw.as(BOB), keyId), 'AccessDeniedException');
  });

  it('refuses bad requests, callers without kms:CreateGrant and keys pending deletion', async () => {
    const { h, admin, alice, keyId } = await setup();
    const base = { KeyId: keyId, GranteePrincipal: ALICE, Operations: ['Encrypt'] };
    await rejectsWith(admin.createGrant({ ...base, Operations: [] }), 'ValidationException');
    await rejectsWith(admin.createGrant({ ...base, Operations: ['Fly'] }), 'ValidationException');
    await rejectsWith(admin.createGrant({ ...base, Operations: ['Sign'] }), 'ValidationException');
    await rejectsWith(admin.createGrant({ ...base, GranteePrincipal: 'alice' }), 'ValidationException');
    await rejectsWith(admin.createGrant({ ...base, RetiringPrincipal: 'arn:aws:iam::1:user/x' }), 'ValidationException');
    await rejectsWith(admin.createGrant({ ...base, Name: 'has space' }), 'ValidationException');
    await rejectsWith(admin.createGrant({ ...base, Constraints: { EncryptionContextSubset: { a: '1' }, EncryptionContextEquals: { a: '1' } } }), 'ValidationException');
    await rejectsWith(admin.createGrant({ ...base, GrantTokens: ['x'.repeat(8193)] }), 'ValidationException');
    await rejectsWith(alice.createGrant(base), 'AccessDeniedException');
    await admin.createAlias({ AliasName: 'alias/granted', TargetKeyId: keyId });
    await rejectsWith(admin.createGrant({ ...base, KeyId: 'alias/granted' }), 'NotFoundException');
    await rejectsWith(admin.createGrant({ ...base, KeyId: '00000000-0000-4000-8000-000000000000' }), 'NotFoundException');
    const hmac = (await admin.createKey({ Policy: ADMIN_ONLY, KeySpec: 'HMAC_256', KeyUsage: 'GENERATE_VERIFY_MAC' })).KeyMetadata.KeyId;
    await rejectsWith(admin.createGrant({ ...base, KeyId: hmac, Operations: ['GenerateMac'], Constraints: { EncryptionContextSubset: { a: '1' } } }), 'ValidationException');
    expect((await admin.createGrant({ ...base, KeyId: hmac, Operations: ['GenerateMac', 'VerifyMac'] })).GrantId).toMatch(/^[0-9a-f]{64}$/);
    await admin.disableKey({ KeyId: keyId });
    await admin.createGrant(base);
    await admin.scheduleKeyDeletion({ KeyId: keyId, PendingWindowInDays: 7 });
    await rejectsWith(admin.createGrant(base), 'KMSInvalidStateException');
    const tail = await h.kw.auditTail(1);
    expect(tail[0]).toMatchObject({ operation: 'CreateGrant', outcome: 'KMSInvalidStateException', keyId, principal: ADMIN });
  });

  it(`refuses a grantee's grant number ${MAX_GRANTS_PER_GRANTEE + 1} on one key`, async () => {
    const { admin, keyId } = await setup();
    for (let i = 0; i < MAX_GRANTS_PER_GRANTEE; i++) await admin.createGrant({ KeyId: keyId, GranteePrincipal: ALICE, Operations: ['Encrypt'] });
    await rejectsWith(admin.createGrant({ KeyId: keyId, GranteePrincipal: ALICE, Operations: ['Decrypt'] }), 'LimitExceededException');
    await admin.createGrant({ KeyId: keyId, GranteePrincipal: BOB, Operations: ['Decrypt'] });
  }, 60_000);
});

describe('RetireGrant', () => {
  it('is allowed to the retiring principal, the grantee with RetireGrant and the issuing account root, by token or id', async () => {
    const { h, admin, alice, bob, keyId, arn } = await setup();
    const root = h.kw.as(ROOT);
    const byRetirer = await admin.createGrant({ KeyId: keyId, GranteePrincipal: ALICE, Operations: ['Encrypt'], RetiringPrincipal: BOB });
    const byGrantee = await admin.createGrant({ KeyId: keyId, GranteePrincipal: ALICE, Operations: ['Decrypt', 'RetireGrant'] });
    const byRoot = await admin.createGrant({ KeyId: keyId, GranteePrincipal: ALICE, Operations: ['DescribeKey'] });
    await encrypt(alice, keyId);
    await rejectsWith(alice.retireGrant({ GrantToken: byRetirer.GrantToken }), 'AccessDeniedException');
    await rejectsWith(admin.retireGrant({ GrantToken: byRetirer.GrantToken }), 'AccessDeniedException');
    await bob.retireGrant({ GrantToken: byRetirer.GrantToken });
    await rejectsWith(encrypt(alice, keyId), 'AccessDeniedException');

    await rejectsWith(bob.retireGrant({ KeyId: arn, GrantId: byGrantee.GrantId }), 'AccessDeniedException');
    await alice.retireGrant({ KeyId: arn, GrantId: byGrantee.GrantId });
    await rejectsWith(alice.decrypt({ CiphertextBlob: (await admin.encrypt({ KeyId: keyId, Plaintext: utf8('x') })).CiphertextBlob }), 'AccessDeniedException');

    await alice.describeKey({ KeyId: keyId });
    await root.retireGrant({ KeyId: keyId, GrantId: byRoot.GrantId });
    await rejectsWith(alice.describeKey({ KeyId: keyId }), 'AccessDeniedException');
    expect((await admin.listGrants({ KeyId: keyId })).Grants).toEqual([]);
  });

  it('answers the AWS exceptions for unknown, malformed and mismatched grants', async () => {
    const { admin, keyId } = await setup();
    const other = (await admin.createKey({ Policy: ADMIN_ONLY })).KeyMetadata.KeyId;
    const g = await admin.createGrant({ KeyId: keyId, GranteePrincipal: ALICE, Operations: ['Encrypt'], RetiringPrincipal: ADMIN });
    await rejectsWith(admin.retireGrant({}), 'ValidationException');
    await rejectsWith(admin.retireGrant({ GrantId: g.GrantId }), 'ValidationException');
    await rejectsWith(admin.retireGrant({ GrantToken: 'not-a-token' }), 'InvalidGrantTokenException');
    await rejectsWith(admin.retireGrant({ GrantToken: `${g.GrantToken}A` }), 'InvalidGrantTokenException');
    await rejectsWith(admin.retireGrant({ KeyId: keyId, GrantId: 'xyz' }), 'InvalidGrantIdException');
    await rejectsWith(admin.retireGrant({ KeyId: other, GrantId: g.GrantId }), 'NotFoundException');
    await rejectsWith(admin.retireGrant({ GrantToken: g.GrantToken, KeyId: other }), 'ValidationException');
    await rejectsWith(admin.retireGrant({ KeyId: keyId, GrantId: '0'.repeat(64) }), 'NotFoundException');
    await admin.retireGrant({ GrantToken: g.GrantToken, KeyId: keyId, GrantId: g.GrantId });
    await rejectsWith(admin.retireGrant({ GrantToken: g.GrantToken }), 'NotFoundException');
  });
});

describe('RevokeGrant', () => {
  it('needs kms:RevokeGrant in the key policy and ends the grant at once', async () => {
    const { admin, alice, keyId } = await setup();
    const g = await admin.createGrant({ KeyId: keyId, GranteePrincipal: ALICE, Operations: ['Encrypt', 'RetireGrant', 'CreateGrant'] });
    await encrypt(alice, keyId);
    await rejectsWith(alice.revokeGrant({ KeyId: keyId, GrantId: g.GrantId }), 'AccessDeniedException');
    await admin.revokeGrant({ KeyId: keyId, GrantId: g.GrantId });
    await rejectsWith(encrypt(alice, keyId), 'AccessDeniedException');
    await rejectsWith(admin.revokeGrant({ KeyId: keyId, GrantId: g.GrantId }), 'NotFoundException');
    await rejectsWith(admin.revokeGrant({ KeyId: keyId, GrantId: 'G' }), 'InvalidGrantIdException');
  });

  it('keeps grants, and their revocation, across a reopen', async () => {
    const { h, admin, keyId } = await setup();
    const g = await admin.createGrant({ KeyId: keyId, GranteePrincipal: ALICE, Operations: ['Encrypt'] });
    let kw = await h.reopen();
    await encrypt(kw.as(ALICE), keyId);
    await kw.as(ADMIN).revokeGrant({ KeyId: keyId, GrantId: g.GrantId });
    kw = await h.reopen();
    await rejectsWith(encrypt(kw.as(ALICE), keyId), 'AccessDeniedException');
  });
});

describe('ListGrants and ListRetirableGrants', () => {
  it('lists a key\'s grants in AWS shape, filtered and paged', async () => {
    const { h, admin, alice, keyId, arn } = await setup();
    h.clock.now += 1000;
    const made = [];
    for (const [grantee, ops] of [[ALICE, ['Encrypt']], [BOB, ['Decrypt']], [ALICE, ['DescribeKey']]] as const) {
      made.push(await admin.createGrant({ KeyId: keyId, GranteePrincipal: grantee, Operations: [...ops], RetiringPrincipal: BOB, Name: `n-${made.length}` }));
    }
    const all = (await admin.listGrants({ KeyId: keyId })).Grants;
    expect(all.map((g) => g.GrantId).sort()).toEqual(made.map((g) => g.GrantId).sort());
    const first = all.find((g) => g.GrantId === made[0]!.GrantId)!;
    expect(first).toEqual({
      KeyId: arn, GrantId: made[0]!.GrantId, Name: 'n-0', CreationDate: new Date(h.clock.now), GranteePrincipal: ALICE, RetiringPrincipal: BOB,
      IssuingAccount: `arn:aws:iam::${ACCOUNT}:root`, Operations: ['Encrypt'],
    });
    expect((await admin.listGrants({ KeyId: keyId, GranteePrincipal: ALICE })).Grants.map((g) => g.GranteePrincipal)).toEqual([ALICE, ALICE]);
    expect((await admin.listGrants({ KeyId: keyId, GrantId: made[1]!.GrantId })).Grants.map((g) => g.GrantId)).toEqual([made[1]!.GrantId]);
    expect((await admin.listGrants({ KeyId: keyId, GrantId: '0'.repeat(64) })).Grants).toEqual([]);

    const paged: string[] = [];
    let marker: string | undefined;
    do {
      const page = await admin.listGrants({ KeyId: keyId, Limit: 2, ...(marker ? { Marker: marker } : {}) });
      expect(page.Grants.length).toBeLessThanOrEqual(2);
      paged.push(...page.Grants.map((g) => g.GrantId));
      expect(page.Truncated).toBe(page.NextMarker !== undefined);
      marker = page.NextMarker;
    } while (marker);
    expect(paged).toEqual(all.map((g) => g.GrantId));

    await rejectsWith(admin.listGrants({ KeyId: keyId, Marker: 'bogus' }), 'InvalidMarkerException');
    await rejectsWith(admin.listGrants({ KeyId: keyId, Limit: 0 }), 'ValidationException');
    await rejectsWith(admin.listGrants({ KeyId: keyId, Limit: 101 }), 'ValidationException');
    await rejectsWith(admin.listGrants({ KeyId: keyId, GrantId: 'nope' }), 'InvalidGrantIdException');
    await rejectsWith(admin.listGrants({ KeyId: keyId, GranteePrincipal: 'bob' }), 'ValidationException');
    await rejectsWith(alice.listGrants({ KeyId: keyId }), 'AccessDeniedException');
  });

  it('lists the grants a principal may retire, across keys, only for its own account', async () => {
    const { h, admin, keyId } = await setup();
    const other = (await admin.createKey({ Policy: ADMIN_ONLY })).KeyMetadata.KeyId;
    const a = await admin.createGrant({ KeyId: keyId, GranteePrincipal: ALICE, Operations: ['Encrypt'], RetiringPrincipal: BOB });
    const b = await admin.createGrant({ KeyId: other, GranteePrincipal: ALICE, Operations: ['Decrypt'], RetiringPrincipal: BOB });
    await admin.createGrant({ KeyId: other, GranteePrincipal: BOB, Operations: ['Decrypt'], RetiringPrincipal: ALICE });
    const listed = await h.kw.as(ALICE).listRetirableGrants({ RetiringPrincipal: BOB });
    expect(listed.Grants.map((g) => g.GrantId).sort()).toEqual([a.GrantId, b.GrantId].sort());
    expect(listed.Grants.every((g) => g.RetiringPrincipal === BOB)).toBe(true);
    const page = await h.kw.listRetirableGrants({ RetiringPrincipal: BOB, Limit: 1 });
    expect(page).toMatchObject({ Truncated: true });
    const rest = await h.kw.listRetirableGrants({ RetiringPrincipal: BOB, Limit: 1, Marker: page.NextMarker! });
    expect([...page.Grants, ...rest.Grants].map((g) => g.GrantId)).toEqual(listed.Grants.map((g) => g.GrantId));
    expect(rest.Truncated).toBe(false);
    expect((await h.kw.listRetirableGrants({ RetiringPrincipal: ADMIN })).Grants).toEqual([]);
    await rejectsWith(h.kw.as(MALLORY).listRetirableGrants({ RetiringPrincipal: BOB }), 'AccessDeniedException');
    await rejectsWith(h.kw.listRetirableGrants({ RetiringPrincipal: MALLORY }), 'AccessDeniedException');
    await rejectsWith(h.kw.listRetirableGrants({ RetiringPrincipal: 'bob' }), 'ValidationException');
  });
});
