// The access decision (src/kms/access.ts): key policy first, an explicit Deny beats any grant, grants
// fill in where the policy is silent; and the principal ARN helpers.
import { describe, expect, it } from 'vitest';
import { ValidationException } from '../../src/kms/errors.js';
import { assertPrincipalArn, authorize, callerAccount, isValidPrincipalArn, principalMatches, type AuthorizeInput } from '../../src/kms/access.js';
import { grantConditionKeys, type GrantLike } from '../../src/kms/grants.js';
import { defaultKeyPolicy, parsePolicy, type AccessRequest } from '../../src/kms/policy.js';

const ACCT = '111122223333';
const KEY = `arn:aws:kms:eu-west-1:${ACCT}:key/0d0466b0-e727-4d9c-b35d-f84bb474a37f`;
const ADMIN = `arn:aws:iam::${ACCT}:role/KeyAdmin`;
const ALICE = `arn:aws:iam::${ACCT}:user/alice`;
const BOB = `arn:aws:iam::${ACCT}:user/bob`;
const MALLORY = `arn:aws:iam::999988887777:user/mallory`;

const base = defaultKeyPolicy({ account: ACCT, administrators: [ADMIN], users: [ALICE] });
const withDeny = (deny: Record<string, unknown>): string => {
  const doc = JSON.parse(base) as { Statement: unknown[] };
  doc.Statement.push({ Sid: 'Guard', Effect: 'Deny', Principal: '*', Resource: '*', ...deny });
  return JSON.stringify(doc);
};
const request = (principal: string, action: string, context: AccessRequest['context'] = {}): AccessRequest => ({ principal, action, resource: KEY, context });
const bobGrant: GrantLike = { GrantId: 'grant-bob', GranteePrincipal: BOB, Operations: ['Encrypt', 'Decrypt'], Constraints: { EncryptionContextSubset: { app: 'billing' } } };
const decide = (over: Partial<AuthorizeInput> & Pick<AuthorizeInput, 'request'>): ReturnType<typeof authorize> =>
  authorize({ policy: parsePolicy(base), grants: [bobGrant], ...over });

describe('authorize', () => {
  it('an Allow in the key policy decides, naming the statement', () => {
    expect(decide({ request: request(ALICE, 'kms:Encrypt') })).toEqual({
      allowed: true, by: 'policy',
      reason: `${ALICE} for kms:Encrypt on ${KEY}: allowed by key policy statement 1 (Sid "Allow use of the key")`,
    });
    expect(decide({ request: request(ADMIN, 'kms:ScheduleKeyDeletion') })).toMatchObject({ allowed: true, by: 'policy' });
  });

  it('where the policy is silent, a matching grant allows', () => {
    const r = decide({ request: request(BOB, 'kms:Decrypt'), encryptionContext: { app: 'billing', part: '7' } });
    expect(r).toEqual({ allowed: true, by: 'grant', reason: `${BOB} for kms:Decrypt on ${KEY}: allowed by grant grant-bob` });
  });

  it('a grant does not allow what it lacks: another operation, principal or context', () => {
    expect(decide({ request: request(BOB, 'kms:Decrypt'), encryptionContext: { app: 'payroll' } })).toEqual({
      allowed: false, by: null, reason: `${BOB} for kms:Decrypt on ${KEY}: no key policy statement or grant allows it`,
    });
    expect(decide({ request: request(BOB, 'kms:Decrypt') })).toMatchObject({ allowed: false, by: null });
    expect(decide({ request: request(BOB, 'kms:GenerateDataKey'), encryptionContext: { app: 'billing' } })).toMatchObject({ allowed: false });
    expect(decide({ request: request(MALLORY, 'kms:Decrypt'), encryptionContext: { app: 'billing' } })).toMatchObject({ allowed: false });
    expect(decide({ request: request(BOB, 'kms:PutKeyPolicy') })).toMatchObject({ allowed: false, by: null });
  });

  it('an explicit Deny in the policy beats a grant that would allow, and beats the policy\'s own Allow', () => {
    const policy = parsePolicy(withDeny({ Action: 'kms:Decrypt', Condition: { StringNotEquals: { 'kms:EncryptionContext:stage': 'prod' } } }));
    expect(authorize({ policy, grants: [bobGrant], request: request(BOB, 'kms:Decrypt'), encryptionContext: { app: 'billing' } })).toEqual({
      allowed: false, by: 'policy', reason: `${BOB} for kms:Decrypt on ${KEY}: explicitly denied by key policy statement 2 (Sid "Guard")`,
    });
    expect(authorize({ policy, grants: [], request: request(ALICE, 'kms:Decrypt') })).toMatchObject({ allowed: false, by: 'policy' });
    // With the condition satisfied the Deny does not apply and the grant counts again.
    const prod = request(BOB, 'kms:Decrypt', { 'kms:EncryptionContext:stage': 'prod', 'kms:EncryptionContext:app': 'billing' });
    expect(authorize({ policy, grants: [bobGrant], request: prod, encryptionContext: { stage: 'prod', app: 'billing' } }))
      .toMatchObject({ allowed: true, by: 'grant' });
  });

  it('tries every grant, and takes the operation from the action unless given', () => {
    const other: GrantLike = { GrantId: 'g-other', GranteePrincipal: ALICE, Operations: ['Decrypt'] };
    const signing: GrantLike = { GrantId: 'g-sign', GranteePrincipal: BOB, Operations: ['Sign'] };
    const grants = [other, bobGrant, signing];
    expect(authorize({ policy: parsePolicy(base), grants, request: request(BOB, 'kms:Sign') }).reason).toMatch(/allowed by grant g-sign$/);
    expect(authorize({ policy: parsePolicy(base), grants, request: request(BOB, 'KMS:Sign') })).toMatchObject({ allowed: true, by: 'grant' });
    expect(authorize({ policy: parsePolicy(base), grants, request: request(BOB, 'kms:Sign'), operation: 'Verify' })).toMatchObject({ allowed: false });
  });

  it('CreateGrant through a grant is checked against the grant being created', () => {
    const parent: GrantLike = { GrantId: 'g-parent', GranteePrincipal: BOB, Operations: ['CreateGrant', 'Decrypt'] };
    const input = { policy: parsePolicy(base), grants: [parent], request: request(BOB, 'kms:CreateGrant') };
    expect(authorize({ ...input, newGrant: { Operations: ['Decrypt'] } })).toMatchObject({ allowed: true, by: 'grant' });
    expect(authorize({ ...input, newGrant: { Operations: ['Encrypt'] } })).toMatchObject({ allowed: false, by: null });
  });

  it('a policy Deny on grant creation stops creation through grants too', () => {
    const policy = parsePolicy(withDeny({ Action: 'kms:CreateGrant' }));
    const parent: GrantLike = { GranteePrincipal: BOB, Operations: ['CreateGrant', 'Decrypt'] };
    expect(authorize({ policy, grants: [parent], request: request(BOB, 'kms:CreateGrant'), newGrant: { Operations: ['Decrypt'] } }))
      .toMatchObject({ allowed: false, by: 'policy' });
  });
});

describe('grant conditions in the key policy', () => {
  // A key user may create grants, but only for decryption, only to the app role, only with a context constraint.
  const policy = parsePolicy(JSON.stringify({
    Version: '2012-10-17',
    Statement: [{
      Sid: 'Delegate decryption', Effect: 'Allow', Principal: { AWS: ALICE }, Action: 'kms:CreateGrant', Resource: '*',
      Condition: {
        'ForAllValues:StringEquals': { 'kms:GrantOperations': ['Decrypt', 'DescribeKey'] },
        StringEquals: { 'kms:GranteePrincipal': `arn:aws:iam::${ACCT}:role/App` },
        StringEqualsIfExists: { 'kms:GrantConstraintType': 'EncryptionContextSubset' },
        Null: { 'kms:GrantConstraintType': 'false' },
      },
    }],
  }));
  const create = (req: Parameters<typeof grantConditionKeys>[0]): boolean =>
    authorize({ policy, grants: [], request: request(ALICE, 'kms:CreateGrant', grantConditionKeys(req)) }).allowed;
  const ok = { GranteePrincipal: `arn:aws:iam::${ACCT}:role/App`, Operations: ['Decrypt'], Constraints: { EncryptionContextSubset: { app: 'x' } } };

  it('grantConditionKeys feeds kms:GrantOperations, kms:GranteePrincipal, kms:RetiringPrincipal and kms:GrantConstraintType', () => {
    expect(grantConditionKeys({ ...ok, RetiringPrincipal: ADMIN })).toEqual({
      'kms:GrantOperations': ['Decrypt'], 'kms:GranteePrincipal': ok.GranteePrincipal, 'kms:RetiringPrincipal': ADMIN,
      'kms:GrantConstraintType': 'EncryptionContextSubset',
    });
    expect(grantConditionKeys({ GranteePrincipal: BOB, Operations: ['Encrypt'], Constraints: { EncryptionContextEquals: {} } })['kms:GrantConstraintType'])
      .toBe('EncryptionContextEquals');
    expect(grantConditionKeys({ GranteePrincipal: BOB, Operations: ['Encrypt'] })).not.toHaveProperty('kms:GrantConstraintType');
    expect(create(ok)).toBe(true);
    expect(create({ ...ok, Operations: ['Decrypt', 'DescribeKey'] })).toBe(true);
    expect(create({ ...ok, Operations: ['Decrypt', 'Encrypt'] })).toBe(false);
    expect(create({ ...ok, GranteePrincipal: BOB })).toBe(false);
    expect(create({ ...ok, Constraints: { EncryptionContextEquals: { app: 'x' } } })).toBe(false);
    expect(create({ GranteePrincipal: ok.GranteePrincipal, Operations: ['Decrypt'] })).toBe(false);
  });
});

describe('principal ARNs', () => {
  const valid = [
    `arn:aws:iam::${ACCT}:root`, ALICE, `arn:aws:iam::${ACCT}:user/division/team/alice`, ADMIN,
    `arn:aws:iam::${ACCT}:role/service-role/My.Role+x=y,z@w`, `arn:aws:sts::${ACCT}:assumed-role/KeyAdmin/session@example.com`,
    `arn:aws:sts::${ACCT}:federated-user/bob`, `arn:aws-cn:iam::${ACCT}:user/alice`, `arn:aws-us-gov:iam::${ACCT}:root`,
  ];
  const invalid = [
    '', '*', ACCT, 'alice', `arn:aws:iam::${ACCT}:user/`, `arn:aws:iam::${ACCT}:user`, `arn:aws:iam::1111:user/alice`,
    `arn:aws:iam::${ACCT}:group/admins`, `arn:aws:iam:us-east-1:${ACCT}:user/alice`, `arn:aws:sts::${ACCT}:assumed-role/KeyAdmin`,
    `arn:aws:kms:us-east-1:${ACCT}:key/abc`, `arn:aws:iam::${ACCT}:user/al ice`, `arn:aws:iam::${ACCT}:user/*`, `arn:aws:iam::${ACCT}:root/x`,
    `arn:azure:iam::${ACCT}:root`, ` ${ALICE}`,
  ];

  it('accepts IAM users, roles, root, role sessions and federated users; refuses the rest', () => {
    for (const a of valid) expect(isValidPrincipalArn(a), a).toBe(true);
    for (const a of invalid) expect(isValidPrincipalArn(a), a).toBe(false);
  });

  it('callerAccount gives the account, or throws ValidationException', () => {
    expect(callerAccount(ALICE)).toBe(ACCT);
    expect(callerAccount(`arn:aws:sts::${ACCT}:assumed-role/KeyAdmin/s`)).toBe(ACCT);
    expect(callerAccount(MALLORY)).toBe('999988887777');
    expect(() => callerAccount('alice')).toThrow(ValidationException);
    expect(() => callerAccount('alice')).toThrow(/principal "alice" is not a valid principal ARN/);
    expect(() => assertPrincipalArn(42, 'GranteePrincipal')).toThrow(/GranteePrincipal 42 is not a valid principal ARN/);
  });

  it('principalMatches: exact, "*", account delegation, role sessions', () => {
    expect(principalMatches(ALICE, ALICE)).toBe(true);
    expect(principalMatches(ALICE, BOB)).toBe(false);
    expect(principalMatches('*', 'anything')).toBe(true);
    expect(principalMatches(ACCT, BOB)).toBe(true);
    expect(principalMatches(ACCT, MALLORY)).toBe(false);
    expect(principalMatches(`arn:aws:iam::${ACCT}:root`, `arn:aws:sts::${ACCT}:assumed-role/R/s`)).toBe(true);
    expect(principalMatches(`arn:aws-cn:iam::${ACCT}:root`, `arn:aws:iam::${ACCT}:user/a`)).toBe(true);
    expect(principalMatches(ACCT, ACCT)).toBe(true);
    expect(principalMatches(ACCT, 'nobody')).toBe(false);
    expect(principalMatches(ADMIN, `arn:aws:sts::${ACCT}:assumed-role/KeyAdmin/s`)).toBe(true);
    expect(principalMatches(ADMIN, `arn:aws-cn:sts::${ACCT}:assumed-role/KeyAdmin/s`)).toBe(false);
    expect(principalMatches(`arn:aws:iam::${ACCT}:user/KeyAdmin`, `arn:aws:sts::${ACCT}:assumed-role/KeyAdmin/s`)).toBe(false);
  });
});
