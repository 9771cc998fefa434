// Grants (src/kms/grants.ts): operations per kind of key, the CreateGrant checks with their messages, and
// whether a grant allows a call, including encryption-context constraints and grants made through a grant.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ValidationException } from '../../src/kms/errors.js';
import {
  constraintsAllow, ENCRYPTION_CONTEXT_OPERATIONS, GRANT_OPERATIONS, grantAllows, grantOperationsFor, mayRetireGrant,
  validateGrantRequest, type GrantLike, type GrantRequest,
} from '../../src/kms/grants.js';

const ACCT = '111122223333';
const ALICE = `arn:aws:iam::${ACCT}:user/alice`;
const BOB = `arn:aws:iam::${ACCT}:user/bob`;
const ROLE = `arn:aws:iam::${ACCT}:role/app/Worker`;
const SESSION = `arn:aws:sts::${ACCT}:assumed-role/Worker/i-0abc`;
const STRANGER = `arn:aws:iam::444455556666:user/alice`;

const SYMMETRIC = { keySpec: 'SYMMETRIC_DEFAULT', keyUsage: 'ENCRYPT_DECRYPT' };
const RSA_ENCRYPT = { keySpec: 'RSA_2048', keyUsage: 'ENCRYPT_DECRYPT' };
const RSA_SIGN = { keySpec: 'RSA_3072', keyUsage: 'SIGN_VERIFY' };
const EC_SIGN = { keySpec: 'ECC_NIST_P256', keyUsage: 'SIGN_VERIFY' };
const HMAC = { keySpec: 'HMAC_256', keyUsage: 'GENERATE_VERIFY_MAC' };
const AGREEMENT = { keySpec: 'ECC_NIST_P384', keyUsage: 'KEY_AGREEMENT' };

describe('grantOperationsFor', () => {
  it('gives each kind of key its operations, and CreateGrant/RetireGrant/DescribeKey to all', () => {
    expect([...grantOperationsFor(SYMMETRIC)].sort()).toEqual([
      'CreateGrant', 'Decrypt', 'DescribeKey', 'Encrypt', 'GenerateDataKey', 'GenerateDataKeyPair',
      'GenerateDataKeyPairWithoutPlaintext', 'GenerateDataKeyWithoutPlaintext', 'ReEncryptFrom', 'ReEncryptTo', 'RetireGrant',
    ]);
    expect([...grantOperationsFor(RSA_ENCRYPT)].sort()).toEqual([
      'CreateGrant', 'Decrypt', 'DescribeKey', 'Encrypt', 'GetPublicKey', 'ReEncryptFrom', 'ReEncryptTo', 'RetireGrant',
    ]);
    for (const k of [RSA_SIGN, EC_SIGN]) {
      expect([...grantOperationsFor(k)].sort()).toEqual(['CreateGrant', 'DescribeKey', 'GetPublicKey', 'RetireGrant', 'Sign', 'Verify']);
    }
    expect([...grantOperationsFor(HMAC)].sort()).toEqual(['CreateGrant', 'DescribeKey', 'GenerateMac', 'RetireGrant', 'VerifyMac']);
    expect([...grantOperationsFor(AGREEMENT)].sort()).toEqual(['CreateGrant', 'DeriveSharedSecret', 'DescribeKey', 'GetPublicKey', 'RetireGrant']);
    expect(() => grantOperationsFor({ keySpec: 'X', keyUsage: 'WRAP' })).toThrow(/unknown key usage "WRAP"/);
  });

  it('every grant operation is valid for some kind of key', () => {
    const all = new Set([SYMMETRIC, RSA_ENCRYPT, RSA_SIGN, HMAC, AGREEMENT].flatMap((k) => [...grantOperationsFor(k)]));
    expect([...all].sort()).toEqual([...GRANT_OPERATIONS].sort());
  });
});

describe('validateGrantRequest', () => {
  const ok: GrantRequest = { GranteePrincipal: ALICE, Operations: ['Encrypt', 'Decrypt'] };
  const refuse = (req: GrantRequest, key = SYMMETRIC): string => {
    try {
      validateGrantRequest(req, key);
    } catch (e) {
      expect(e).toBeInstanceOf(ValidationException);
      return (e as Error).message;
    }
    throw new Error(`accepted ${JSON.stringify(req)}`);
  };

  it('accepts well-formed requests', () => {
    expect(() => validateGrantRequest(ok, SYMMETRIC)).not.toThrow();
    expect(() => validateGrantRequest({ ...ok, RetiringPrincipal: SESSION, Name: 'app:grant/1_a-b' }, SYMMETRIC)).not.toThrow();
    expect(() => validateGrantRequest({ GranteePrincipal: `arn:aws:iam::${ACCT}:root`, Operations: ['Sign', 'Verify'] }, EC_SIGN)).not.toThrow();
    expect(() => validateGrantRequest({ GranteePrincipal: ROLE, Operations: ['GenerateMac', 'DescribeKey'] }, HMAC)).not.toThrow();
    expect(() => validateGrantRequest({ ...ok, Constraints: { EncryptionContextSubset: { dept: 'IT' } } }, SYMMETRIC)).not.toThrow();
    expect(() => validateGrantRequest({ ...ok, Constraints: { EncryptionContextEquals: {} } }, SYMMETRIC)).not.toThrow();
    expect(() => validateGrantRequest({ ...ok, Constraints: {} }, SYMMETRIC)).not.toThrow();
    expect(() => validateGrantRequest({ GranteePrincipal: ALICE, Operations: ['CreateGrant'], Constraints: { EncryptionContextSubset: { a: 'b' } } }, SYMMETRIC)).not.toThrow();
    expect(() => validateGrantRequest({ ...ok, Constraints: { EncryptionContextSubset: Object.fromEntries([...'abcdefgh'].map((c) => [c, 'v'.repeat(384)])) } }, SYMMETRIC)).not.toThrow();
  });

  it('refuses bad principals and names', () => {
    expect(refuse({ ...ok, GranteePrincipal: 'alice' })).toMatch(/GranteePrincipal "alice" is not a valid principal ARN/);
    expect(refuse({ ...ok, GranteePrincipal: '*' })).toMatch(/GranteePrincipal "\*"/);
    expect(refuse({ ...ok, RetiringPrincipal: `arn:aws:iam::${ACCT}:group/admins` })).toMatch(/RetiringPrincipal .* is not a valid principal ARN/);
    expect(refuse({ ...ok, Name: 'has space' })).toMatch(/Name "has space" must be 1–256 characters/);
    expect(refuse({ ...ok, Name: '' })).toMatch(/Name "" must be/);
    expect(refuse({ ...ok, Name: 'x'.repeat(257) })).toMatch(/must be 1–256 characters/);
  });

  it('refuses missing, unknown and key-inappropriate operations', () => {
    expect(refuse({ ...ok, Operations: [] })).toMatch(/at least one grant operation/);
    expect(refuse({ ...ok, Operations: ['Encrypt', 'encrypt'] })).toMatch(/"encrypt" is not a grant operation/);
    expect(refuse({ ...ok, Operations: ['ReEncrypt'] })).toMatch(/"ReEncrypt" is not a grant operation/);
    expect(refuse({ ...ok, Operations: ['ListGrants'] })).toMatch(/"ListGrants" is not a grant operation/);
    expect(refuse({ ...ok, Operations: ['Sign'] })).toMatch(/grant operation Sign is not valid for a SYMMETRIC_DEFAULT key with KeyUsage ENCRYPT_DECRYPT/);
    expect(refuse({ ...ok, Operations: ['GenerateDataKey'] }, RSA_ENCRYPT)).toMatch(/GenerateDataKey is not valid for a RSA_2048 key/);
    expect(refuse({ ...ok, Operations: ['Encrypt'] }, HMAC)).toMatch(/Encrypt is not valid for a HMAC_256 key/);
    expect(refuse({ ...ok, Operations: ['Decrypt'] }, RSA_SIGN)).toMatch(/Decrypt is not valid for a RSA_3072 key with KeyUsage SIGN_VERIFY/);
    expect(refuse({ ...ok, Operations: ['GetPublicKey'] }, SYMMETRIC)).toMatch(/GetPublicKey is not valid/);
    expect(refuse({ ...ok, Operations: ['DeriveSharedSecret'] }, EC_SIGN)).toMatch(/DeriveSharedSecret is not valid/);
  });

  it('refuses both constraints, constraints on non-symmetric keys, and constraints with no operation that takes a context', () => {
    expect(refuse({ ...ok, Constraints: { EncryptionContextSubset: { a: 'b' }, EncryptionContextEquals: { a: 'b' } } }))
      .toMatch(/EncryptionContextSubset or EncryptionContextEquals, not both/);
    expect(refuse({ ...ok, Constraints: { EncryptionContextSubset: { a: 'b' } } }, RSA_ENCRYPT))
      .toMatch(/apply only to symmetric encryption keys, not to a RSA_2048 ENCRYPT_DECRYPT key/);
    expect(refuse({ GranteePrincipal: ALICE, Operations: ['GenerateMac'], Constraints: { EncryptionContextEquals: { a: 'b' } } }, HMAC))
      .toMatch(/not to a HMAC_256 GENERATE_VERIFY_MAC key/);
    expect(refuse({ GranteePrincipal: ALICE, Operations: ['Sign'], Constraints: { EncryptionContextEquals: { a: 'b' } } }, EC_SIGN))
      .toMatch(/symmetric encryption keys/);
    expect(refuse({ GranteePrincipal: ALICE, Operations: ['DescribeKey', 'RetireGrant'], Constraints: { EncryptionContextSubset: { a: 'b' } } }))
      .toMatch(/need at least one operation that takes an encryption context/);
  });

  it('refuses oversized or mistyped constraint contexts', () => {
    const nine = Object.fromEntries([...'abcdefghi'].map((c) => [c, 'v']));
    expect(refuse({ ...ok, Constraints: { EncryptionContextSubset: nine } })).toMatch(/EncryptionContextSubset has 9 pairs; the limit is 8/);
    expect(refuse({ ...ok, Constraints: { EncryptionContextEquals: { a: 'v'.repeat(385) } } })).toMatch(/EncryptionContextEquals value of "a" exceeds 384/);
    expect(refuse({ ...ok, Constraints: { EncryptionContextEquals: { a: 1 as unknown as string } } })).toMatch(/value of "a" must be a string/);
    expect(refuse({ ...ok, Constraints: { EncryptionContextSubset: { '': 'v' } } })).toMatch(/has an empty key/);
    expect(refuse({ ...ok, Constraints: { EncryptionContextSubset: ['a'] as unknown as Record<string, string> } })).toMatch(/must be a map/);
  });
});

describe('grantAllows', () => {
  const grant = (over: Partial<GrantLike> = {}): GrantLike => ({ GrantId: 'g1', GranteePrincipal: ALICE, Operations: ['Encrypt', 'Decrypt', 'DescribeKey', 'RetireGrant'], ...over });

  it('needs the grantee and a listed operation', () => {
    expect(grantAllows(grant(), { principal: ALICE, operation: 'Encrypt' })).toBe(true);
    expect(grantAllows(grant(), { principal: ALICE, operation: 'kms:Decrypt' })).toBe(true);
    expect(grantAllows(grant(), { principal: BOB, operation: 'Encrypt' })).toBe(false);
    expect(grantAllows(grant(), { principal: STRANGER, operation: 'Encrypt' })).toBe(false);
    expect(grantAllows(grant(), { principal: ALICE, operation: 'GenerateDataKey' })).toBe(false);
    expect(grantAllows(grant(), { principal: ALICE, operation: 'encrypt' })).toBe(false);
  });

  it('an account-root grantee covers that account\'s principals; a role covers its sessions', () => {
    const root = grant({ GranteePrincipal: `arn:aws:iam::${ACCT}:root` });
    expect(grantAllows(root, { principal: BOB, operation: 'Encrypt' })).toBe(true);
    expect(grantAllows(root, { principal: SESSION, operation: 'Encrypt' })).toBe(true);
    expect(grantAllows(root, { principal: STRANGER, operation: 'Encrypt' })).toBe(false);
    const role = grant({ GranteePrincipal: ROLE });
    expect(grantAllows(role, { principal: SESSION, operation: 'Encrypt' })).toBe(true);
    expect(grantAllows(role, { principal: ROLE, operation: 'Encrypt' })).toBe(true);
    expect(grantAllows(role, { principal: ALICE, operation: 'Encrypt' })).toBe(false);
    expect(grantAllows(role, { principal: `arn:aws:sts::${ACCT}:assumed-role/Other/i-0abc`, operation: 'Encrypt' })).toBe(false);
  });

  it('EncryptionContextSubset: the grant pairs must all be in the request; keys case-insensitive, values exact', () => {
    const g = grant({ Constraints: { EncryptionContextSubset: { dept: 'IT', app: 'billing' } } });
    const call = (ec?: Record<string, string>): boolean => grantAllows(g, { principal: ALICE, operation: 'Decrypt', ...(ec ? { encryptionContext: ec } : {}) });
    expect(call({ dept: 'IT', app: 'billing' })).toBe(true);
    expect(call({ app: 'billing', dept: 'IT', extra: 'x' })).toBe(true);
    expect(call({ dept: 'IT' })).toBe(false);
    expect(call({ dept: 'it', app: 'billing' })).toBe(false);
    expect(call({ DEPT: 'IT', App: 'billing' })).toBe(true);
    expect(call({})).toBe(false);
    expect(call()).toBe(false);
    const empty = grant({ Constraints: { EncryptionContextSubset: {} } });
    expect(grantAllows(empty, { principal: ALICE, operation: 'Encrypt' })).toBe(true);
    expect(grantAllows(empty, { principal: ALICE, operation: 'Encrypt', encryptionContext: { a: 'b' } })).toBe(true);
  });

  it('EncryptionContextEquals: the request context must be exactly the grant\'s', () => {
    const g = grant({ Constraints: { EncryptionContextEquals: { dept: 'IT', app: 'billing' } } });
    const call = (ec?: Record<string, string>): boolean => grantAllows(g, { principal: ALICE, operation: 'Encrypt', ...(ec ? { encryptionContext: ec } : {}) });
    expect(call({ app: 'billing', dept: 'IT' })).toBe(true);
    expect(call({ app: 'billing', Dept: 'IT' })).toBe(true);
    expect(call({ app: 'billing', dept: 'IT', extra: 'x' })).toBe(false);
    expect(call({ dept: 'IT' })).toBe(false);
    expect(call({ app: 'Billing', dept: 'IT' })).toBe(false);
    expect(call()).toBe(false);
    const empty = grant({ Constraints: { EncryptionContextEquals: {} } });
    expect(grantAllows(empty, { principal: ALICE, operation: 'Encrypt' })).toBe(true);
    expect(grantAllows(empty, { principal: ALICE, operation: 'Encrypt', encryptionContext: { a: 'b' } })).toBe(false);
  });

  it('constraints do not apply to operations without an encryption context', () => {
    const g = grant({ Constraints: { EncryptionContextEquals: { dept: 'IT' } } });
    expect(grantAllows(g, { principal: ALICE, operation: 'DescribeKey' })).toBe(true);
    expect(grantAllows(g, { principal: ALICE, operation: 'RetireGrant' })).toBe(true);
    expect(grantAllows(g, { principal: ALICE, operation: 'Encrypt' })).toBe(false);
    expect(ENCRYPTION_CONTEXT_OPERATIONS).not.toContain('DescribeKey');
  });

  it('CreateGrant through a grant: only the parent\'s operations, and an equally strict or stricter constraint', () => {
    const parent = grant({ Operations: ['CreateGrant', 'Encrypt', 'Decrypt'], Constraints: { EncryptionContextSubset: { dept: 'IT' } } });
    const create = (newGrant: Pick<GrantRequest, 'Operations' | 'Constraints'>): boolean =>
      grantAllows(parent, { principal: ALICE, operation: 'CreateGrant', newGrant });
    expect(create({ Operations: ['Decrypt'], Constraints: { EncryptionContextSubset: { dept: 'IT' } } })).toBe(true);
    expect(create({ Operations: ['Decrypt'], Constraints: { EncryptionContextSubset: { dept: 'IT', app: 'x' } } })).toBe(true);
    expect(create({ Operations: ['Decrypt'], Constraints: { EncryptionContextEquals: { dept: 'IT', app: 'x' } } })).toBe(true);
    expect(create({ Operations: ['Decrypt'] })).toBe(false);
    expect(create({ Operations: ['Decrypt'], Constraints: { EncryptionContextSubset: { app: 'x' } } })).toBe(false);
    expect(create({ Operations: ['Decrypt'], Constraints: { EncryptionContextSubset: { dept: 'HR' } } })).toBe(false);
    expect(create({ Operations: ['GenerateDataKey'], Constraints: { EncryptionContextSubset: { dept: 'IT' } } })).toBe(false);
    expect(create({ Operations: ['CreateGrant'], Constraints: { EncryptionContextSubset: { dept: 'IT' } } })).toBe(true);

    const equals = grant({ Operations: ['CreateGrant', 'Encrypt'], Constraints: { EncryptionContextEquals: { dept: 'IT' } } });
    const viaEquals = (c?: Pick<GrantRequest, 'Constraints'>['Constraints']): boolean =>
      grantAllows(equals, { principal: ALICE, operation: 'CreateGrant', newGrant: c ? { Operations: ['Encrypt'], Constraints: c } : { Operations: ['Encrypt'] } });
    expect(viaEquals({ EncryptionContextEquals: { dept: 'IT' } })).toBe(true);
    expect(viaEquals({ EncryptionContextEquals: { dept: 'IT', app: 'x' } })).toBe(false);
    expect(viaEquals({ EncryptionContextSubset: { dept: 'IT' } })).toBe(false);
    expect(viaEquals()).toBe(false);

    const free = grant({ Operations: ['CreateGrant', 'Encrypt'] });
    expect(grantAllows(free, { principal: ALICE, operation: 'CreateGrant', newGrant: { Operations: ['Encrypt'] } })).toBe(true);
    expect(grantAllows(free, { principal: ALICE, operation: 'CreateGrant', newGrant: { Operations: ['Decrypt'] } })).toBe(false);
    expect(grantAllows(free, { principal: BOB, operation: 'CreateGrant', newGrant: { Operations: ['Encrypt'] } })).toBe(false);
    expect(() => grantAllows(free, { principal: ALICE, operation: 'CreateGrant' })).toThrow(/needs newGrant/);
  });
});

describe('mayRetireGrant', () => {
  const g = { GranteePrincipal: ALICE, Operations: ['Encrypt'], RetiringPrincipal: ROLE, IssuingAccount: `arn:aws:iam::${ACCT}:root` };

  it('the retiring principal (and its role sessions), the grantee only with RetireGrant, the issuing account root', () => {
    expect(mayRetireGrant(g, ROLE)).toBe(true);
    expect(mayRetireGrant(g, SESSION)).toBe(true);
    expect(mayRetireGrant(g, ALICE)).toBe(false);
    expect(mayRetireGrant({ ...g, Operations: ['Encrypt', 'RetireGrant'] }, ALICE)).toBe(true);
    expect(mayRetireGrant(g, `arn:aws:iam::${ACCT}:root`)).toBe(true);
    expect(mayRetireGrant({ ...g, IssuingAccount: ACCT }, `arn:aws:iam::${ACCT}:root`)).toBe(true);
    expect(mayRetireGrant(g, BOB)).toBe(false);
    expect(mayRetireGrant(g, `arn:aws:iam::444455556666:root`)).toBe(false);
    expect(mayRetireGrant({ GranteePrincipal: ALICE, Operations: ['Encrypt'] }, `arn:aws:iam::${ACCT}:root`)).toBe(false);
  });
});

describe('properties', () => {
  // Keys from a small alphabet so that collisions and case differences happen often.
  const key = fc.constantFrom('a', 'b', 'c', 'A', 'B');
  const value = fc.constantFrom('x', 'y', 'X');
  const ctx = fc.dictionary(key, value, { maxKeys: 5 });
  const lower = (ec: Record<string, string>): Map<string, string[]> => {
    const m = new Map<string, string[]>();
    for (const [k, v] of Object.entries(ec)) m.set(k.toLowerCase(), [...(m.get(k.toLowerCase()) ?? []), v]);
    return m;
  };

  it('Subset holds exactly when every constraint pair has a request pair with the same key (any case) and value', () => {
    fc.assert(fc.property(ctx, ctx, (need, have) => {
      const h = lower(have);
      const want = Object.entries(need).every(([k, v]) => (h.get(k.toLowerCase()) ?? []).includes(v));
      expect(constraintsAllow({ EncryptionContextSubset: need }, have)).toBe(want);
    }), { numRuns: 2000 });
  });

  it('Equals holds for the same context in any order, and never once a pair is added or changed', () => {
    fc.assert(fc.property(fc.dictionary(fc.constantFrom('a', 'b', 'c'), value, { maxKeys: 3 }), fc.constantFrom('d', 'e'), (ec, extra) => {
      const reversed = Object.fromEntries(Object.entries(ec).reverse());
      expect(constraintsAllow({ EncryptionContextEquals: ec }, reversed)).toBe(true);
      expect(constraintsAllow({ EncryptionContextEquals: ec }, { ...ec, [extra]: 'x' })).toBe(false);
      for (const k of Object.keys(ec)) expect(constraintsAllow({ EncryptionContextEquals: ec }, { ...ec, [k]: `${ec[k]}!` })).toBe(false);
    }), { numRuns: 1000 });
  });
});
