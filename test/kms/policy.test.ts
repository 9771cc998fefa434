// Key policies (src/kms/policy.ts): the grammar and its error messages, every condition operator with the
// AWS rules for missing keys, IfExists and set qualifiers, wildcards and case rules, the default policy
// against every KMS action for several principals, and StringLike against an independent matcher.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MalformedPolicyDocumentException, ValidationException } from '../../src/kms/errors.js';
import {
  defaultKeyPolicy, encryptionContextConditionKeys, evaluatePolicy, explainPolicy, KMS_ACTIONS, parsePolicy, POLICY_MAX_LENGTH,
  type AccessRequest, type ContextValue,
} from '../../src/kms/policy.js';

const ACCT = '111122223333';
const OTHER = '444455556666';
const KEY = `arn:aws:kms:us-east-1:${ACCT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
const ALICE = `arn:aws:iam::${ACCT}:user/alice`;
const BOB = `arn:aws:iam::${ACCT}:user/bob`;
const ADMIN_ROLE = `arn:aws:iam::${ACCT}:role/ops/KeyAdmin`;
const ADMIN_SESSION = `arn:aws:sts::${ACCT}:assumed-role/KeyAdmin/session-1`;
const STRANGER = `arn:aws:iam::${OTHER}:user/alice`;

const policyOf = (statement: unknown, version = '2012-10-17'): string => JSON.stringify({ Version: version, Statement: statement });
const allow = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  Effect: 'Allow', Principal: { AWS: ALICE }, Action: 'kms:Encrypt', Resource: '*', ...extra,
});
const request = (over: Partial<AccessRequest> = {}): AccessRequest => ({
  principal: ALICE, action: 'kms:Encrypt', resource: KEY, context: {}, ...over,
});
const decide = (statement: unknown, over: Partial<AccessRequest> = {}, version?: string): string =>
  evaluatePolicy(parsePolicy(policyOf(statement, version)), request(over));

/** Allow iff the one condition holds for `context`. */
const cond = (condition: Record<string, unknown>, context: Record<string, ContextValue>): boolean =>
  decide(allow({ Condition: condition }), { context }) === 'Allow';

function malformedMessage(json: string): string {
  try {
    parsePolicy(json);
  } catch (e) {
    expect(e).toBeInstanceOf(MalformedPolicyDocumentException);
    expect((e as Error).name).toBe('MalformedPolicyDocumentException');
    return (e as Error).message;
  }
  throw new Error(`accepted: ${json}`);
}

describe('parsePolicy: valid documents', () => {
  it('accepts a single statement object, a list, an Id, and no Version (2008-10-17)', () => {
    const one = parsePolicy(JSON.stringify({ Statement: allow({ Sid: 'a' }) }));
    expect(one.version).toBe('2008-10-17');
    expect(one.statements).toHaveLength(1);
    expect(one.statements[0]).toMatchObject({ sid: 'a', effect: 'Allow', action: ['kms:Encrypt'], resource: ['*'] });
    const two = parsePolicy(JSON.stringify({ Version: '2012-10-17', Id: 'p', Statement: [allow(), { ...allow(), Effect: 'Deny' }] }));
    expect(two).toMatchObject({ version: '2012-10-17', id: 'p' });
    expect(two.statements.map((s) => s.effect)).toEqual(['Allow', 'Deny']);
  });

  it('accepts every principal form', () => {
    const doc = parsePolicy(policyOf(allow({
      Principal: { AWS: ['*', ACCT, `arn:aws:iam::${ACCT}:root`, ALICE, ADMIN_ROLE, ADMIN_SESSION], Service: 'logs.amazonaws.com' },
    })));
    expect(doc.statements[0]!.principal).toEqual({
      aws: ['*', ACCT, `arn:aws:iam::${ACCT}:root`, ALICE, ADMIN_ROLE, ADMIN_SESSION], service: ['logs.amazonaws.com'],
    });
    expect(parsePolicy(policyOf(allow({ Principal: '*' }))).statements[0]!.principal).toEqual({ aws: ['*'], service: [] });
  });

  it('accepts numbers and booleans as condition values (compared as their text)', () => {
    const doc = parsePolicy(policyOf(allow({ Condition: { NumericLessThan: { 'kms:x': 5 }, Bool: { 'kms:y': true } } })));
    expect(doc.statements[0]!.conditions.map((c) => c.values.map((v) => v.raw))).toEqual([['5'], ['true']]);
  });
});

describe('parsePolicy: malformed documents name the statement and the fault', () => {
  const cases: [string, string, RegExp][] = [
    ['not JSON', '{"Statement": [', /not valid JSON/],
    ['not an object', '[1]', /must be a JSON object/],
    ['unknown top-level element', JSON.stringify({ Statement: allow(), Foo: 1 }), /unknown policy element "Foo"/],
    ['bad Version', JSON.stringify({ Version: '2020-01-01', Statement: allow() }), /Version must be "2012-10-17" or "2008-10-17", got "2020-01-01"/],
    ['Id not a string', JSON.stringify({ Id: 3, Statement: allow() }), /Id must be a string/],
    ['no Statement', JSON.stringify({ Version: '2012-10-17' }), /has no Statement/],
    ['empty Statement', policyOf([]), /Statement must not be empty/],
    ['statement not an object', policyOf([allow(), 'x']), /^Statement\[1\]: a statement must be a JSON object/],
    ['unknown statement element', policyOf([allow({ Sid: 'S1', Effects: 'Allow' })]), /^Statement\[0\] \(Sid "S1"\): unknown statement element "Effects"/],
    ['Sid not a string', policyOf(allow({ Sid: 1 })), /Statement\[0\]: Sid must be a string/],
    ['duplicate Sid', policyOf([allow({ Sid: 'x' }), allow({ Sid: 'x' })]), /Statement\[1\]: duplicate Sid "x"/],
    ['lower-case effect', policyOf(allow({ Effect: 'allow' })), /Effect must be "Allow" or "Deny", got "allow"/],
    ['missing effect', policyOf({ Principal: '*', Action: '*', Resource: '*' }), /Effect must be "Allow" or "Deny", got undefined/],
    ['no principal', policyOf({ Effect: 'Allow', Action: '*', Resource: '*' }), /needs Principal or NotPrincipal/],
    ['both principal forms', policyOf(allow({ NotPrincipal: '*' })), /may have Principal or NotPrincipal, not both/],
    ['no action', policyOf({ Effect: 'Allow', Principal: '*', Resource: '*' }), /needs Action or NotAction/],
    ['both action forms', policyOf(allow({ NotAction: 'kms:Decrypt' })), /may have Action or NotAction, not both/],
    ['no resource', policyOf({ Effect: 'Allow', Principal: '*', Action: '*' }), /needs Resource or NotResource/],
    ['both resource forms', policyOf(allow({ NotResource: '*' })), /may have Resource or NotResource, not both/],
    ['principal string other than *', policyOf(allow({ Principal: ALICE })), /Principal must be "\*" or an object/],
    ['empty principal object', policyOf(allow({ Principal: {} })), /Principal must name at least one principal/],
    ['empty AWS list', policyOf(allow({ Principal: { AWS: [] } })), /Principal\.AWS must not be an empty list/],
    ['wildcard in a principal ARN', policyOf(allow({ Principal: { AWS: `arn:aws:iam::${ACCT}:user/*` } })), /cannot contain wildcards/],
    ['invalid principal', policyOf(allow({ Principal: { AWS: 'alice' } })), /Principal\.AWS "alice" is not an account id, "\*" or a valid principal ARN/],
    ['short account id', policyOf(allow({ Principal: { AWS: '12345' } })), /"12345" is not an account id/],
    ['non-string principal', policyOf(allow({ Principal: { AWS: [ALICE, 7] } })), /Principal\.AWS entries must be non-empty strings, got 7/],
    ['federated principal', policyOf(allow({ Principal: { Federated: 'cognito-identity.amazonaws.com' } })), /type "Federated" is not supported/],
    ['unknown principal type', policyOf(allow({ Principal: { Aws: ALICE } })), /unknown Principal type "Aws"/],
    ['bad service principal', policyOf(allow({ Principal: { Service: 'Not A Service' } })), /Principal\.Service "Not A Service" is not a service principal/],
    ['bad NotPrincipal', policyOf({ Effect: 'Deny', NotPrincipal: { AWS: 'x' }, Action: '*', Resource: '*' }), /NotPrincipal\.AWS "x"/],
    ['action without a service', policyOf(allow({ Action: 'Encrypt' })), /Action "Encrypt" is not "\*" or "<service>:<action>"/],
    ['action with a space', policyOf(allow({ Action: ['kms:Encrypt', 'kms:De crypt'] })), /Action "kms:De crypt"/],
    ['empty action list', policyOf(allow({ Action: [] })), /Action must not be an empty list/],
    ['bad NotAction', policyOf({ Effect: 'Deny', Principal: '*', NotAction: 'kms', Resource: '*' }), /NotAction "kms"/],
    ['resource not an ARN', policyOf(allow({ Resource: 'my-key' })), /Resource "my-key" is not "\*" or an ARN/],
    ['resource ARN too short', policyOf(allow({ Resource: 'arn:aws:kms:us-east-1' })), /Resource "arn:aws:kms:us-east-1"/],
    ['condition not an object', policyOf(allow({ Condition: [] })), /Condition must be an object/],
    ['unknown operator', policyOf(allow({ Condition: { StringEqual: { 'kms:x': 'a' } } })), /unknown condition operator "StringEqual"/],
    ['unknown set qualifier', policyOf(allow({ Condition: { 'ForSomeValues:StringEquals': { 'kms:x': 'a' } } })), /unknown condition operator "ForSomeValues:StringEquals"/],
    ['NullIfExists', policyOf(allow({ Condition: { NullIfExists: { 'kms:x': 'true' } } })), /Null takes neither IfExists nor a set qualifier/],
    ['ForAnyValue:Null', policyOf(allow({ Condition: { 'ForAnyValue:Null': { 'kms:x': 'true' } } })), /Null takes neither/],
    ['empty operator block', policyOf(allow({ Condition: { StringEquals: {} } })), /"StringEquals" must map at least one condition key/],
    ['condition key without prefix', policyOf(allow({ Condition: { StringEquals: { CallerAccount: ACCT } } })), /key "CallerAccount": a condition key is "<prefix>:<name>"/],
    ['empty value list', policyOf(allow({ Condition: { StringEquals: { 'kms:x': [] } } })), /key "kms:x": the value list must not be empty/],
    ['object value', policyOf(allow({ Condition: { StringEquals: { 'kms:x': { a: 1 } } } })), /values must be strings, numbers or booleans/],
    ['non-numeric Numeric value', policyOf(allow({ Condition: { NumericLessThan: { 'kms:x': 'ten' } } })), /"ten" is not a number/],
    ['bad date', policyOf(allow({ Condition: { DateLessThan: { 'aws:CurrentTime': 'tomorrow' } } })), /"tomorrow" is not an ISO 8601 date/],
    ['bad base64', policyOf(allow({ Condition: { BinaryEquals: { 'kms:b': 'not base64!' } } })), /"not base64!" is not base64/],
    ['base64 of a wrong length', policyOf(allow({ Condition: { BinaryEquals: { 'kms:b': 'QmluYXJ' } } })), /is not base64/],
    ['bad Bool', policyOf(allow({ Condition: { Bool: { 'kms:x': 'yes' } } })), /Bool takes "true" or "false", got "yes"/],
    ['bad Null value', policyOf(allow({ Condition: { Null: { 'kms:x': 'maybe' } } })), /Null takes "true" or "false"/],
    ['bad CIDR', policyOf(allow({ Condition: { IpAddress: { 'aws:SourceIp': '10.0.0.0/33' } } })), /"10\.0\.0\.0\/33" is not an IP address or CIDR block/],
    ['bad IP', policyOf(allow({ Condition: { IpAddress: { 'aws:SourceIp': 'ten' } } })), /"ten" is not an IP address/],
  ];
  for (const [name, json, message] of cases) {
    it(name, () => expect(malformedMessage(json)).toMatch(message));
  }

  it('refuses a key repeated in one object, wherever it is, however it is escaped', () => {
    const st = JSON.stringify(allow());
    expect(malformedMessage(`{"Statement": ${st.replace('"Effect":"Allow"', '"Effect":"Deny","Effect":"Allow"')}}`))
      .toMatch(/the key "Effect" appears twice in one JSON object/);
    expect(malformedMessage(`{"Statement": [${st}], "Statement": [${st}]}`)).toMatch(/"Statement" appears twice/);
    expect(malformedMessage(`{"Statement": {"Effect":"Allow","Principal":{"AWS":"${ALICE}"},"Action":"*","Resource":"*","Effec\\u0074":"Deny"}}`))
      .toMatch(/"Effect" appears twice/);
    expect(malformedMessage(policyOf(allow()).replace('"Condition"', '"x"').replace('"Resource":"*"', '"Resource":"*","Condition":{"Bool":{"kms:a":"true","kms:a":"false"}}')))
      .toMatch(/"kms:a" appears twice/);
    // The same key in sibling objects, and key-like text inside string values, are fine.
    const siblings = `{"Statement": [${st}, ${st}], "Id": "\\"Statement\\": x, {\\"Id"}`;
    expect(parsePolicy(siblings).statements).toHaveLength(2);
    expect(parsePolicy(`{"Statement": [{"Sid": "a,\\"Sid\\"", ${st.slice(1)}]}`).statements[0]!.sid).toBe('a,"Sid"');
  });

  it('refuses a policy over 32768 characters, and one with characters beyond U+00FF, as ValidationException', () => {
    const base = policyOf(allow({ Sid: '' }));
    const fill = (n: number): string => base.replace('"Sid":""', `"Sid":"${'x'.repeat(n)}"`);
    const atLimit = fill(POLICY_MAX_LENGTH - base.length);
    expect(atLimit.length).toBe(POLICY_MAX_LENGTH);
    expect(() => parsePolicy(atLimit)).not.toThrow();
    expect(() => parsePolicy(fill(POLICY_MAX_LENGTH - base.length + 1))).toThrow(ValidationException);
    expect(() => parsePolicy(fill(POLICY_MAX_LENGTH - base.length + 1))).toThrow(/32769 characters; the limit is 32768/);
    expect(() => parsePolicy(policyOf(allow({ Sid: 'café' })))).not.toThrow();
    expect(() => parsePolicy(policyOf(allow({ Sid: 'key \u{1F511}' })))).toThrow(/character outside .* at offset/);
    expect(() => parsePolicy('')).toThrow(ValidationException);
  });
});

describe('principals', () => {
  it('matches an exact ARN, "*", and every principal of an account by id or root ARN', () => {
    expect(decide(allow())).toBe('Allow');
    expect(decide(allow(), { principal: BOB })).toBe('ImplicitDeny');
    for (const p of ['*', { AWS: '*' }, { AWS: ACCT }, { AWS: `arn:aws:iam::${ACCT}:root` }]) {
      for (const caller of [ALICE, BOB, ADMIN_SESSION, `arn:aws:iam::${ACCT}:root`]) {
        expect(decide(allow({ Principal: p }), { principal: caller }), `${JSON.stringify(p)} ${caller}`).toBe('Allow');
      }
    }
    expect(decide(allow({ Principal: { AWS: ACCT } }), { principal: STRANGER })).toBe('ImplicitDeny');
    expect(decide(allow({ Principal: { AWS: `arn:aws:iam::${ACCT}:root` } }), { principal: STRANGER })).toBe('ImplicitDeny');
    expect(decide(allow({ Principal: '*' }), { principal: 'anonymous' })).toBe('Allow');
    expect(decide(allow({ Principal: { AWS: ACCT } }), { principal: 'anonymous' })).toBe('ImplicitDeny');
  });

  it('a role ARN covers its sessions (matched by account and role name), not other roles\' sessions', () => {
    const p = { AWS: ADMIN_ROLE };
    expect(decide(allow({ Principal: p }), { principal: ADMIN_ROLE })).toBe('Allow');
    expect(decide(allow({ Principal: p }), { principal: ADMIN_SESSION })).toBe('Allow');
    expect(decide(allow({ Principal: p }), { principal: `arn:aws:sts::${ACCT}:assumed-role/Other/session-1` })).toBe('ImplicitDeny');
    expect(decide(allow({ Principal: p }), { principal: `arn:aws:sts::${OTHER}:assumed-role/KeyAdmin/session-1` })).toBe('ImplicitDeny');
    expect(decide(allow({ Principal: { AWS: ADMIN_SESSION } }), { principal: ADMIN_SESSION })).toBe('Allow');
    expect(decide(allow({ Principal: { AWS: ADMIN_SESSION } }), { principal: `arn:aws:sts::${ACCT}:assumed-role/KeyAdmin/s2` })).toBe('ImplicitDeny');
  });

  it('is case-sensitive for ARNs', () => {
    expect(decide(allow({ Principal: { AWS: ALICE.replace('alice', 'Alice') } }))).toBe('ImplicitDeny');
  });

  it('a service principal matches a caller of that name only', () => {
    expect(decide(allow({ Principal: { Service: 'logs.amazonaws.com' } }), { principal: 'logs.amazonaws.com' })).toBe('Allow');
    expect(decide(allow({ Principal: { Service: 'logs.amazonaws.com' } }))).toBe('ImplicitDeny');
  });

  it('NotPrincipal applies to everyone not listed', () => {
    const deny = { Effect: 'Deny', NotPrincipal: { AWS: [ALICE] }, Action: 'kms:*', Resource: '*' };
    const doc = [allow({ Principal: '*' }), deny];
    expect(decide(doc)).toBe('Allow');
    expect(decide(doc, { principal: BOB })).toBe('ExplicitDeny');
    expect(decide([allow({ Principal: '*' }), { ...deny, NotPrincipal: { AWS: ACCT } }], { principal: BOB })).toBe('Allow');
    expect(decide([allow({ Principal: '*' }), { ...deny, NotPrincipal: { AWS: ACCT } }], { principal: STRANGER })).toBe('ExplicitDeny');
  });
});

describe('actions and resources', () => {
  it('matches action names case-insensitively, with * and ? wildcards', () => {
    expect(decide(allow({ Action: 'KMS:ENCRYPT' }))).toBe('Allow');
    expect(decide(allow({ Action: 'kms:encrypt' }), { action: 'kms:Encrypt' })).toBe('Allow');
    expect(decide(allow({ Action: 'kms:*' }), { action: 'kms:ScheduleKeyDeletion' })).toBe('Allow');
    expect(decide(allow({ Action: '*' }), { action: 'kms:Sign' })).toBe('Allow');
    expect(decide(allow({ Action: 'kms:Describe*' }), { action: 'kms:DescribeKey' })).toBe('Allow');
    expect(decide(allow({ Action: 'kms:describe*' }), { action: 'kms:DescribeKey' })).toBe('Allow');
    expect(decide(allow({ Action: 'kms:Describe*' }), { action: 'kms:Decrypt' })).toBe('ImplicitDeny');
    expect(decide(allow({ Action: 'kms:GenerateDataKey*' }), { action: 'kms:GenerateDataKey' })).toBe('Allow');
    expect(decide(allow({ Action: 'kms:GenerateDataKey*' }), { action: 'kms:GenerateDataKeyPairWithoutPlaintext' })).toBe('Allow');
    expect(decide(allow({ Action: 'kms:?ign' }), { action: 'kms:Sign' })).toBe('Allow');
    expect(decide(allow({ Action: 'kms:?ign' }), { action: 'kms:Sigh' })).toBe('ImplicitDeny');
    expect(decide(allow({ Action: 'kms:Encrypt' }), { action: 'kms:EncryptX' })).toBe('ImplicitDeny');
    expect(decide(allow({ Action: 's3:*' }), { action: 'kms:Encrypt' })).toBe('ImplicitDeny');
  });

  it('NotAction allows everything but the listed actions', () => {
    const st = { Effect: 'Allow', Principal: '*', NotAction: ['kms:ScheduleKeyDeletion', 'kms:Put*'], Resource: '*' };
    expect(decide(st, { action: 'kms:Encrypt' })).toBe('Allow');
    expect(decide(st, { action: 'kms:ScheduleKeyDeletion' })).toBe('ImplicitDeny');
    expect(decide(st, { action: 'kms:PutKeyPolicy' })).toBe('ImplicitDeny');
  });

  it('matches resources by ARN part: a wildcard spans no colon before the resource part', () => {
    expect(decide(allow({ Resource: KEY }))).toBe('Allow');
    expect(decide(allow({ Resource: `arn:aws:kms:*:${ACCT}:key/*` }))).toBe('Allow');
    expect(decide(allow({ Resource: `arn:aws:kms:us-east-?:${ACCT}:key/*` }))).toBe('Allow');
    expect(decide(allow({ Resource: `arn:aws:kms:*:${OTHER}:key/*` }))).toBe('ImplicitDeny');
    expect(decide(allow({ Resource: 'arn:aws:kms:*:*' + ':key/*' }))).toBe('Allow');
    expect(decide(allow({ Resource: `arn:aws:kms:*:${ACCT}:alias/*` }))).toBe('ImplicitDeny');
    expect(decide(allow({ Resource: KEY.toUpperCase().replace('ARN:AWS', 'arn:aws') }))).toBe('ImplicitDeny');
    expect(decide(allow({ Resource: `arn:aws:*:*:${ACCT}:key/*` }))).toBe('Allow');
    expect(decide(allow({ Resource: 'arn:aws:kms:us-east-1:1111*:*' }))).toBe('Allow');
    // "*" in the region part must not swallow ":111122223333:key" as well.
    expect(decide(allow({ Resource: 'arn:aws:kms:*:1234abcd-12ab-34cd-56ef-1234567890ab:*' }))).toBe('ImplicitDeny');
    const notResource = (r: string): Record<string, unknown> => ({ Effect: 'Allow', Principal: '*', Action: '*', NotResource: r });
    expect(decide(notResource(`arn:aws:kms:*:${OTHER}:key/*`))).toBe('Allow');
    expect(decide(notResource(KEY))).toBe('ImplicitDeny');
  });

  it('explicit deny wins over any allow; no statement means implicit deny', () => {
    const deny = { Effect: 'Deny', Principal: '*', Action: 'kms:Encrypt', Resource: '*' };
    expect(decide([allow(), deny])).toBe('ExplicitDeny');
    expect(decide([deny, allow()])).toBe('ExplicitDeny');
    expect(decide([allow({ Action: 'kms:Decrypt' })])).toBe('ImplicitDeny');
    const doc = parsePolicy(policyOf([allow({ Sid: 'A' }), allow({ Sid: 'B', Action: '*' }), { ...deny, Sid: 'D', Action: 'kms:Sign' }]));
    expect(explainPolicy(doc, request())).toEqual({ decision: 'Allow', statement: { index: 0, sid: 'A' } });
    expect(explainPolicy(doc, request({ action: 'kms:Sign' }))).toEqual({ decision: 'ExplicitDeny', statement: { index: 2, sid: 'D' } });
    expect(explainPolicy(doc, request({ principal: BOB }))).toEqual({ decision: 'ImplicitDeny' });
  });
});

describe('condition operators', () => {
  const K = 'kms:EncryptionContext:dept';

  it('string operators: exact, negated, ignore-case, like; values case-sensitive, keys not', () => {
    expect(cond({ StringEquals: { [K]: 'IT' } }, { [K]: 'IT' })).toBe(true);
    expect(cond({ StringEquals: { [K]: 'IT' } }, { [K]: 'it' })).toBe(false);
    expect(cond({ StringEquals: { 'KMS:ENCRYPTIONCONTEXT:DEPT': 'IT' } }, { [K]: 'IT' })).toBe(true);
    expect(cond({ StringEquals: { [K]: 'IT' } }, { 'kms:encryptioncontext:dept': 'IT' })).toBe(true);
    expect(cond({ StringEquals: { [K]: ['HR', 'IT'] } }, { [K]: 'IT' })).toBe(true);
    expect(cond({ StringEquals: { [K]: 'I*' } }, { [K]: 'IT' })).toBe(false);
    expect(cond({ StringEquals: { [K]: 'I*' } }, { [K]: 'I*' })).toBe(true);
    expect(cond({ StringNotEquals: { [K]: ['HR', 'IT'] } }, { [K]: 'IT' })).toBe(false);
    expect(cond({ StringNotEquals: { [K]: ['HR', 'IT'] } }, { [K]: 'OPS' })).toBe(true);
    expect(cond({ StringEqualsIgnoreCase: { [K]: 'it' } }, { [K]: 'IT' })).toBe(true);
    expect(cond({ StringEqualsIgnoreCase: { [K]: 'it' } }, { [K]: 'ITS' })).toBe(false);
    expect(cond({ StringNotEqualsIgnoreCase: { [K]: 'it' } }, { [K]: 'IT' })).toBe(false);
    expect(cond({ StringNotEqualsIgnoreCase: { [K]: 'it' } }, { [K]: 'HR' })).toBe(true);
    expect(cond({ StringLike: { [K]: 'I?-*' } }, { [K]: 'IT-north' })).toBe(true);
    expect(cond({ StringLike: { [K]: 'I?-*' } }, { [K]: 'IT' })).toBe(false);
    expect(cond({ StringLike: { [K]: 'i*' } }, { [K]: 'IT' })).toBe(false);
    expect(cond({ StringLike: { [K]: 'a.c' } }, { [K]: 'abc' })).toBe(false);
    expect(cond({ StringNotLike: { [K]: ['H*', 'I*'] } }, { [K]: 'IT' })).toBe(false);
    expect(cond({ StringNotLike: { [K]: ['H*', 'I*'] } }, { [K]: 'OPS' })).toBe(true);
  });

  it('a missing key: false for positive operators, true for negated ones, true with IfExists', () => {
    const missing = {};
    const x = (op: string): string => (op.startsWith('Arn') ? ALICE : op === 'BinaryEquals' ? 'eA==' : 'x');
    const y = (op: string): string => (op.startsWith('Arn') ? BOB : op === 'BinaryEquals' ? 'eQ==' : 'y');
    for (const op of ['StringEquals', 'StringEqualsIgnoreCase', 'StringLike', 'ArnEquals', 'ArnLike', 'BinaryEquals']) {
      expect(cond({ [op]: { [K]: x(op) } }, missing), op).toBe(false);
      expect(cond({ [`${op}IfExists`]: { [K]: x(op) } }, missing), op).toBe(true);
      expect(cond({ [`${op}IfExists`]: { [K]: x(op) } }, { [K]: x(op) }), op).toBe(true);
      expect(cond({ [`${op}IfExists`]: { [K]: x(op) } }, { [K]: y(op) }), op).toBe(false);
    }
    for (const op of ['StringNotEquals', 'StringNotEqualsIgnoreCase', 'StringNotLike', 'ArnNotEquals', 'ArnNotLike']) {
      expect(cond({ [op]: { [K]: x(op) } }, missing), op).toBe(true);
      expect(cond({ [`${op}IfExists`]: { [K]: x(op) } }, missing), op).toBe(true);
      expect(cond({ [`${op}IfExists`]: { [K]: x(op) } }, { [K]: x(op) }), op).toBe(false);
      expect(cond({ [`${op}IfExists`]: { [K]: x(op) } }, { [K]: y(op) }), op).toBe(true);
    }
    expect(cond({ NumericLessThan: { 'kms:n': 3 } }, missing)).toBe(false);
    expect(cond({ NumericNotEquals: { 'kms:n': 3 } }, missing)).toBe(true);
    expect(cond({ NumericLessThanIfExists: { 'kms:n': 3 } }, missing)).toBe(true);
    expect(cond({ Bool: { 'kms:b': 'true' } }, missing)).toBe(false);
    expect(cond({ BoolIfExists: { 'kms:b': 'true' } }, missing)).toBe(true);
    expect(cond({ DateLessThan: { 'aws:CurrentTime': '2030-01-01T00:00:00Z' } }, missing)).toBe(false);
    expect(cond({ DateNotEquals: { 'aws:CurrentTime': '2030-01-01T00:00:00Z' } }, missing)).toBe(true);
    expect(cond({ IpAddress: { 'aws:SourceIp': '10.0.0.0/8' } }, missing)).toBe(false);
    expect(cond({ NotIpAddress: { 'aws:SourceIp': '10.0.0.0/8' } }, missing)).toBe(true);
  });

  it('IfExists on a Deny: the deny applies only when the key is present and fails the test', () => {
    const deny = { Effect: 'Deny', Principal: '*', Action: '*', Resource: '*', Condition: { StringEqualsIfExists: { 'kms:KeySpec': 'SYMMETRIC_DEFAULT' } } };
    expect(decide([allow(), deny])).toBe('ExplicitDeny');
    expect(decide([allow(), deny], { context: { 'kms:KeySpec': 'RSA_2048' } })).toBe('Allow');
    expect(decide([allow(), deny], { context: { 'kms:KeySpec': 'SYMMETRIC_DEFAULT' } })).toBe('ExplicitDeny');
  });

  it('Null: true asks for an absent (or empty) key, false for a present one', () => {
    expect(cond({ Null: { [K]: 'true' } }, {})).toBe(true);
    expect(cond({ Null: { [K]: 'true' } }, { [K]: 'IT' })).toBe(false);
    expect(cond({ Null: { [K]: 'false' } }, { [K]: 'IT' })).toBe(true);
    expect(cond({ Null: { [K]: false } }, {})).toBe(false);
    expect(cond({ Null: { 'kms:EncryptionContextKeys': 'true' } }, { 'kms:EncryptionContextKeys': [] })).toBe(true);
    expect(cond({ Null: { [K]: 'FALSE' } }, { [K]: '' })).toBe(true);
  });

  it('Bool compares true/false, from booleans or strings, case-insensitively', () => {
    const key = 'kms:GrantIsForAWSResource';
    expect(cond({ Bool: { [key]: 'true' } }, { [key]: true })).toBe(true);
    expect(cond({ Bool: { [key]: 'true' } }, { [key]: false })).toBe(false);
    expect(cond({ Bool: { [key]: true } }, { [key]: 'TRUE' })).toBe(true);
    expect(cond({ Bool: { [key]: 'false' } }, { [key]: 'false' })).toBe(true);
    expect(cond({ Bool: { [key]: 'false' } }, { [key]: 'yes' })).toBe(false);
  });

  it('numeric operators', () => {
    const n = 'kms:ExpirationSeconds';
    const table: [string, number, boolean][] = [
      ['NumericEquals', 5, true], ['NumericEquals', 6, false], ['NumericNotEquals', 5, false], ['NumericNotEquals', 6, true],
      ['NumericLessThan', 6, true], ['NumericLessThan', 5, false], ['NumericLessThanEquals', 5, true], ['NumericLessThanEquals', 4, false],
      ['NumericGreaterThan', 4, true], ['NumericGreaterThan', 5, false], ['NumericGreaterThanEquals', 5, true], ['NumericGreaterThanEquals', 6, false],
    ];
    for (const [op, policy, expected] of table) {
      expect(cond({ [op]: { [n]: policy } }, { [n]: 5 }), `${op} ${policy}`).toBe(expected);
      expect(cond({ [op]: { [n]: String(policy) } }, { [n]: '5' }), `${op} "${policy}"`).toBe(expected);
    }
    expect(cond({ NumericEquals: { [n]: '5.0' } }, { [n]: 5 })).toBe(true);
    expect(cond({ NumericLessThan: { [n]: '-1.5' } }, { [n]: -2 })).toBe(true);
    expect(cond({ NumericEquals: { [n]: 5 } }, { [n]: 'five' })).toBe(false);
    expect(cond({ NumericNotEquals: { [n]: 5 } }, { [n]: 'five' })).toBe(true);
    expect(cond({ NumericGreaterThan: { [n]: '1000' } }, { [n]: 1e21 })).toBe(true);
    expect(cond({ NumericGreaterThan: { [n]: '0' } }, { [n]: 1e-7 })).toBe(true);
    expect(cond({ NumericEquals: { [n]: '0' } }, { [n]: '' })).toBe(false);
  });

  it('date operators take ISO 8601 and epoch seconds on both sides', () => {
    const t = 'aws:CurrentTime';
    expect(cond({ DateLessThan: { [t]: '2030-01-01T00:00:00Z' } }, { [t]: '2029-12-31T23:59:59Z' })).toBe(true);
    expect(cond({ DateLessThan: { [t]: '2030-01-01T00:00:00Z' } }, { [t]: '2030-01-01T00:00:00Z' })).toBe(false);
    expect(cond({ DateLessThanEquals: { [t]: '2030-01-01T00:00:00Z' } }, { [t]: '2030-01-01T00:00:00Z' })).toBe(true);
    expect(cond({ DateEquals: { [t]: '2030-01-01T00:00:00Z' } }, { [t]: 1893456000 })).toBe(true);
    expect(cond({ DateEquals: { [t]: 1893456000 } }, { [t]: '2030-01-01' })).toBe(true);
    expect(cond({ DateNotEquals: { [t]: '2030-01-01T00:00:00Z' } }, { [t]: '2030-01-01T00:00:01Z' })).toBe(true);
    expect(cond({ DateGreaterThan: { [t]: '2030-01-01T00:00:00+01:00' } }, { [t]: '2029-12-31T23:30:00Z' })).toBe(true);
    expect(cond({ DateGreaterThanEquals: { [t]: '2030-01-01' } }, { [t]: '2029-12-31' })).toBe(false);
    expect(cond({ DateLessThan: { [t]: '2030-01-01' } }, { [t]: 'not a date' })).toBe(false);
    expect(cond({ DateEquals: { [t]: '2030-01-01T00:00:00' } }, { [t]: '2030-01-01T00:00:00Z' })).toBe(true);
    expect(cond({ DateEquals: { [t]: '2030-01-01T01:00:00' } }, { [t]: '2030-01-01T02:00:00+01:00' })).toBe(true);
    expect(cond({ DateEquals: { [t]: '2030-01-01T00:00' } }, { [t]: 1893456000 })).toBe(true);
  });

  it('ARN operators compare part by part; ArnEquals takes wildcards like ArnLike', () => {
    const a = 'aws:PrincipalArn';
    for (const op of ['ArnEquals', 'ArnLike']) {
      expect(cond({ [op]: { [a]: `arn:aws:iam::${ACCT}:user/*` } }, { [a]: ALICE }), op).toBe(true);
      expect(cond({ [op]: { [a]: `arn:aws:iam::*:user/alice` } }, { [a]: STRANGER }), op).toBe(true);
      expect(cond({ [op]: { [a]: `arn:aws:iam::${ACCT}:role/*` } }, { [a]: ALICE }), op).toBe(false);
      expect(cond({ [op]: { [a]: 'arn:aws:iam::*' } }, { [a]: ALICE }), op).toBe(true);
      expect(cond({ [op]: { [a]: '*' } }, { [a]: 'not-an-arn' }), op).toBe(false);
      expect(cond({ [op]: { [a]: 'arn:aws:*:user/alice' } }, { [a]: ALICE }), op).toBe(false);
    }
    for (const op of ['ArnNotEquals', 'ArnNotLike']) {
      expect(cond({ [op]: { [a]: `arn:aws:iam::${ACCT}:*` } }, { [a]: ALICE }), op).toBe(false);
      expect(cond({ [op]: { [a]: `arn:aws:iam::${ACCT}:*` } }, { [a]: STRANGER }), op).toBe(true);
    }
  });

  it('IpAddress/NotIpAddress match IPv4 and IPv6 CIDR blocks and single addresses', () => {
    const ip = 'aws:SourceIp';
    expect(cond({ IpAddress: { [ip]: '10.0.0.0/8' } }, { [ip]: '10.1.2.3' })).toBe(true);
    expect(cond({ IpAddress: { [ip]: '10.0.0.0/8' } }, { [ip]: '11.1.2.3' })).toBe(false);
    expect(cond({ IpAddress: { [ip]: '192.0.2.1' } }, { [ip]: '192.0.2.1' })).toBe(true);
    expect(cond({ IpAddress: { [ip]: '2001:db8::/32' } }, { [ip]: '2001:db8::1' })).toBe(true);
    expect(cond({ IpAddress: { [ip]: '2001:db8::/32' } }, { [ip]: '10.1.2.3' })).toBe(false);
    expect(cond({ NotIpAddress: { [ip]: ['10.0.0.0/8', '192.168.0.0/16'] } }, { [ip]: '192.168.1.1' })).toBe(false);
    expect(cond({ NotIpAddress: { [ip]: ['10.0.0.0/8', '192.168.0.0/16'] } }, { [ip]: '8.8.8.8' })).toBe(true);
  });

  it('BinaryEquals compares the base64 text', () => {
    expect(cond({ BinaryEquals: { 'kms:b': 'QmluYXJ5' } }, { 'kms:b': 'QmluYXJ5' })).toBe(true);
    expect(cond({ BinaryEquals: { 'kms:b': 'QmluYXJ5' } }, { 'kms:b': 'qmluyxj5' })).toBe(false);
  });

  it('keys under one operator and operators in one block must all hold', () => {
    const c = { StringEquals: { 'kms:KeySpec': 'SYMMETRIC_DEFAULT', [K]: 'IT' }, Bool: { 'kms:b': 'true' } };
    expect(cond(c, { 'kms:KeySpec': 'SYMMETRIC_DEFAULT', [K]: 'IT', 'kms:b': true })).toBe(true);
    expect(cond(c, { 'kms:KeySpec': 'SYMMETRIC_DEFAULT', [K]: 'IT', 'kms:b': false })).toBe(false);
    expect(cond(c, { 'kms:KeySpec': 'SYMMETRIC_DEFAULT', 'kms:b': true })).toBe(false);
  });

  it('the caller keys default from the principal', () => {
    expect(cond({ StringEquals: { 'kms:CallerAccount': ACCT } }, {})).toBe(true);
    expect(cond({ StringEquals: { 'aws:PrincipalAccount': ACCT, 'aws:PrincipalArn': ALICE } }, {})).toBe(true);
    expect(cond({ StringEquals: { 'kms:CallerAccount': OTHER } }, {})).toBe(false);
    expect(cond({ StringEquals: { 'kms:CallerAccount': OTHER } }, { 'kms:CallerAccount': OTHER })).toBe(true);
  });
});

describe('encryptionContextConditionKeys', () => {
  it('gives one key per pair plus the key list, and nothing for no context', () => {
    expect(encryptionContextConditionKeys({ dept: 'IT', App: 'x' })).toEqual({
      'kms:EncryptionContextKeys': ['dept', 'App'], 'kms:EncryptionContext:dept': 'IT', 'kms:EncryptionContext:App': 'x',
    });
    expect(encryptionContextConditionKeys({})).toEqual({});
    expect(encryptionContextConditionKeys(undefined)).toEqual({});
  });

  it('feeds the usual encryption-context conditions', () => {
    const require = { 'ForAllValues:StringEquals': { 'kms:EncryptionContextKeys': ['dept'] }, Null: { 'kms:EncryptionContextKeys': 'false' } };
    expect(cond(require, encryptionContextConditionKeys({ dept: 'IT' }))).toBe(true);
    expect(cond(require, encryptionContextConditionKeys({ dept: 'IT', other: 'x' }))).toBe(false);
    expect(cond(require, encryptionContextConditionKeys(undefined))).toBe(false);
    expect(cond({ 'ForAllValues:StringEquals': { 'kms:EncryptionContextKeys': ['dept'] } }, encryptionContextConditionKeys(undefined))).toBe(true);
    expect(cond({ StringEquals: { 'kms:EncryptionContext:app': 'x' } }, encryptionContextConditionKeys({ App: 'x' }))).toBe(true);
  });

  it('two context keys equal but for case both count for the case-insensitive condition key', () => {
    const ctx = encryptionContextConditionKeys({ dept: 'IT', DEPT: 'HR' });
    expect(cond({ StringEquals: { 'kms:EncryptionContext:dept': 'HR' } }, ctx)).toBe(true);
    expect(cond({ StringNotEquals: { 'kms:EncryptionContext:dept': 'HR' } }, ctx)).toBe(false);
    expect(cond({ 'ForAllValues:StringEquals': { 'kms:EncryptionContext:dept': 'IT' } }, ctx)).toBe(false);
  });
});

describe('set operators on multivalued keys', () => {
  const KEYS = 'kms:EncryptionContextKeys';
  const ops = 'kms:GrantOperations';

  it('ForAllValues: every request value must match; a missing or empty key is vacuously true', () => {
    const c = { 'ForAllValues:StringEquals': { [KEYS]: ['dept', 'project'] } };
    expect(cond(c, { [KEYS]: ['dept'] })).toBe(true);
    expect(cond(c, { [KEYS]: ['dept', 'project'] })).toBe(true);
    expect(cond(c, { [KEYS]: ['dept', 'owner'] })).toBe(false);
    expect(cond(c, { [KEYS]: [] })).toBe(true);
    expect(cond(c, {})).toBe(true);
    expect(cond(c, { [KEYS]: 'dept' })).toBe(true);
  });

  it('ForAnyValue: at least one request value must match; a missing or empty key is false', () => {
    const c = { 'ForAnyValue:StringEquals': { [ops]: ['Decrypt', 'Encrypt'] } };
    expect(cond(c, { [ops]: ['Sign', 'Encrypt'] })).toBe(true);
    expect(cond(c, { [ops]: ['Sign'] })).toBe(false);
    expect(cond(c, { [ops]: [] })).toBe(false);
    expect(cond(c, {})).toBe(false);
  });

  it('negated operators under a qualifier negate per value', () => {
    const all = { 'ForAllValues:StringNotEquals': { [ops]: ['CreateGrant', 'RetireGrant'] } };
    expect(cond(all, { [ops]: ['Encrypt', 'Decrypt'] })).toBe(true);
    expect(cond(all, { [ops]: ['Encrypt', 'CreateGrant'] })).toBe(false);
    expect(cond(all, {})).toBe(true);
    const any = { 'ForAnyValue:StringNotLike': { [ops]: ['*Grant'] } };
    expect(cond(any, { [ops]: ['CreateGrant', 'Encrypt'] })).toBe(true);
    expect(cond(any, { [ops]: ['CreateGrant', 'RetireGrant'] })).toBe(false);
    expect(cond(any, {})).toBe(false);
  });

  it('IfExists with a qualifier: an absent or empty key passes', () => {
    expect(cond({ 'ForAnyValue:StringEqualsIfExists': { [ops]: 'Encrypt' } }, {})).toBe(true);
    expect(cond({ 'ForAnyValue:StringEqualsIfExists': { [ops]: 'Encrypt' } }, { [ops]: [] })).toBe(true);
    expect(cond({ 'ForAnyValue:StringEqualsIfExists': { [ops]: 'Encrypt' } }, { [ops]: ['Sign'] })).toBe(false);
  });

  it('a single-valued operator on a list matches when any element does; its negation when none does', () => {
    expect(cond({ StringEquals: { [ops]: 'Encrypt' } }, { [ops]: ['Sign', 'Encrypt'] })).toBe(true);
    expect(cond({ StringNotEquals: { [ops]: 'Encrypt' } }, { [ops]: ['Sign', 'Encrypt'] })).toBe(false);
    expect(cond({ StringNotEquals: { [ops]: 'Encrypt' } }, { [ops]: ['Sign'] })).toBe(true);
  });

  it('ForAllValues on a Deny with an empty key list does not deny', () => {
    const deny = { Effect: 'Deny', Principal: '*', Action: '*', Resource: '*', Condition: { 'ForAnyValue:StringLike': { [KEYS]: 'secret*' } } };
    expect(decide([allow(), deny], { context: { [KEYS]: ['secretA'] } })).toBe('ExplicitDeny');
    expect(decide([allow(), deny], { context: { [KEYS]: [] } })).toBe('Allow');
  });
});

describe('policy variables (Version 2012-10-17 only)', () => {
  it('substitutes context values in conditions and resources, literally', () => {
    const c = { StringEquals: { 'kms:EncryptionContext:owner': '${aws:PrincipalArn}' } };
    expect(cond(c, { 'kms:EncryptionContext:owner': ALICE })).toBe(true);
    expect(cond(c, { 'kms:EncryptionContext:owner': BOB })).toBe(false);
    expect(cond({ StringLike: { 'kms:EncryptionContext:p': 'home/${kms:EncryptionContext:user}/*' } }, {
      'kms:EncryptionContext:p': 'home/a*b/x', 'kms:EncryptionContext:user': 'a*b',
    })).toBe(true);
    expect(cond({ StringLike: { 'kms:EncryptionContext:p': 'home/${kms:EncryptionContext:user}/*' } }, {
      'kms:EncryptionContext:p': 'home/aXXb/x', 'kms:EncryptionContext:user': 'a*b',
    })).toBe(false);
    expect(decide(allow({ Resource: 'arn:aws:kms:us-east-1:${aws:PrincipalAccount}:key/*' }))).toBe('Allow');
    expect(decide(allow({ Resource: 'arn:aws:kms:us-east-1:${aws:PrincipalAccount}:key/*' }), { principal: STRANGER, context: {} })).toBe('ImplicitDeny');
  });

  it('an absent or multivalued variable matches nothing; ${*} ${?} ${$} are literal characters', () => {
    const k = 'kms:EncryptionContext:owner';
    expect(cond({ StringEquals: { [k]: '${kms:EncryptionContext:missing}' } }, { [k]: '' })).toBe(false);
    expect(cond({ StringEquals: { [k]: '${kms:EncryptionContextKeys}' } }, { [k]: 'a', 'kms:EncryptionContextKeys': ['a'] })).toBe(false);
    expect(cond({ StringLike: { [k]: 'a${*}b${?}${$}' } }, { [k]: 'a*b?$' })).toBe(true);
    expect(cond({ StringLike: { [k]: 'a${*}b' } }, { [k]: 'axxb' })).toBe(false);
  });

  it('are plain text under Version 2008-10-17', () => {
    const st = allow({ Condition: { StringEquals: { 'kms:EncryptionContext:owner': '${aws:PrincipalArn}' } } });
    expect(decide(st, { context: { 'kms:EncryptionContext:owner': ALICE } }, '2008-10-17')).toBe('ImplicitDeny');
    expect(decide(st, { context: { 'kms:EncryptionContext:owner': '${aws:PrincipalArn}' } }, '2008-10-17')).toBe('Allow');
  });
});

// Every action of the engine, written out here (not derived from the policy code) with who may call it.
const ADMIN_ALLOWED = new Set([
  'CreateAlias', 'CreateGrant', 'CreateKey', 'DescribeKey', 'EnableKey', 'EnableKeyRotation', 'ListAliases',
  'ListGrants', 'ListKeyPolicies', 'ListKeyRotations', 'ListKeys', 'ListResourceTags', 'ListRetirableGrants',
  'PutKeyPolicy', 'UpdateAlias', 'UpdateKeyDescription', 'RevokeGrant', 'DisableKey', 'DisableKeyRotation',
  'GetKeyPolicy', 'GetKeyRotationStatus', 'GetParametersForImport', 'GetPublicKey', 'DeleteAlias',
  'DeleteImportedKeyMaterial', 'TagResource', 'UntagResource', 'ScheduleKeyDeletion', 'CancelKeyDeletion', 'RotateKeyOnDemand',
]);
const USER_ALLOWED = new Set([
  'Encrypt', 'Decrypt', 'ReEncryptFrom', 'ReEncryptTo', 'GenerateDataKey', 'GenerateDataKeyWithoutPlaintext',
  'GenerateDataKeyPair', 'GenerateDataKeyPairWithoutPlaintext', 'DescribeKey', 'Sign', 'Verify', 'GetPublicKey',
  'GenerateMac', 'VerifyMac',
]);
const NOBODY = ['GenerateRandom', 'ImportKeyMaterial', 'ReplicateKey', 'RetireGrant'];

describe('the default key policy', () => {
  const json = defaultKeyPolicy({ account: ACCT, administrators: [ADMIN_ROLE], users: [ALICE, BOB] });
  const doc = parsePolicy(json);
  const CAROL = `arn:aws:iam::${ACCT}:user/carol`;

  it('lists every engine operation', () => {
    const design = [
      'CreateKey', 'DescribeKey', 'ListKeys', 'EnableKey', 'DisableKey', 'ScheduleKeyDeletion', 'CancelKeyDeletion',
      'Encrypt', 'Decrypt', 'ReEncryptFrom', 'ReEncryptTo', 'GenerateDataKey', 'GenerateDataKeyWithoutPlaintext',
      'GenerateDataKeyPair', 'GenerateDataKeyPairWithoutPlaintext', 'Sign', 'Verify', 'GetPublicKey', 'GenerateMac',
      'VerifyMac', 'GenerateRandom', 'CreateAlias', 'UpdateAlias', 'DeleteAlias', 'ListAliases', 'EnableKeyRotation',
      'DisableKeyRotation', 'GetKeyRotationStatus', 'RotateKeyOnDemand', 'ListKeyRotations', 'GetParametersForImport',
      'ImportKeyMaterial', 'DeleteImportedKeyMaterial', 'ReplicateKey', 'GetKeyPolicy', 'PutKeyPolicy', 'CreateGrant',
      'ListGrants', 'RetireGrant', 'RevokeGrant', 'ListRetirableGrants', 'TagResource', 'UntagResource',
    ];
    for (const op of design) expect(KMS_ACTIONS).toContain(`kms:${op}`);
    expect(new Set(KMS_ACTIONS).size).toBe(KMS_ACTIONS.length);
    // The matrix below covers every action exactly once.
    const covered = new Set([...ADMIN_ALLOWED, ...USER_ALLOWED, ...NOBODY]);
    expect([...covered].sort()).toEqual(KMS_ACTIONS.map((a) => a.slice(4)).sort());
  });

  it('is a valid policy with the admin and user statements apart, and no persistent-resources statement', () => {
    expect(doc.statements.map((s) => s.sid)).toEqual(['Allow access for Key Administrators', 'Allow use of the key']);
    expect(doc.statements[0]!.principal!.aws).toEqual([ADMIN_ROLE]);
    expect(doc.statements[1]!.principal!.aws).toEqual([ALICE, BOB]);
    expect(JSON.parse(json).Statement[0].Action).not.toContain('kms:Encrypt');
  });

  const principals: [string, string, ReadonlySet<string>][] = [
    ['admin role', ADMIN_ROLE, ADMIN_ALLOWED],
    ['admin role session', ADMIN_SESSION, ADMIN_ALLOWED],
    ['user alice', ALICE, USER_ALLOWED],
    ['user bob', BOB, USER_ALLOWED],
    ['same-account user not in the policy', CAROL, new Set()],
    ['account root', `arn:aws:iam::${ACCT}:root`, new Set()],
    ['other-account user with a listed name', STRANGER, new Set()],
    ['other-account admin role session', `arn:aws:sts::${OTHER}:assumed-role/KeyAdmin/s`, new Set()],
    ['anonymous', 'anonymous', new Set()],
    ['empty principal', '', new Set()],
  ];
  for (const [name, principal, allowed] of principals) {
    it(`matrix: ${name} × every KMS action`, () => {
      for (const action of KMS_ACTIONS) {
        const expected = allowed.has(action.slice(4)) ? 'Allow' : 'ImplicitDeny';
        expect(evaluatePolicy(doc, request({ principal, action })), action).toBe(expected);
        expect(evaluatePolicy(doc, request({ principal, action: action.toLowerCase() })), action.toLowerCase()).toBe(expected);
      }
    });
  }

  it('a principal who is administrator and user gets both sets', () => {
    const both = parsePolicy(defaultKeyPolicy({ account: ACCT, administrators: [ALICE], users: [ALICE] }));
    for (const action of KMS_ACTIONS) {
      const op = action.slice(4);
      const expected = ADMIN_ALLOWED.has(op) || USER_ALLOWED.has(op) ? 'Allow' : 'ImplicitDeny';
      expect(evaluatePolicy(both, request({ action })), action).toBe(expected);
    }
  });

  it('refuses no administrators, a bad account, a bad principal; omits the user statement without users', () => {
    expect(() => defaultKeyPolicy({ account: ACCT, administrators: [], users: [ALICE] })).toThrow(ValidationException);
    expect(() => defaultKeyPolicy({ account: '123', administrators: [ALICE], users: [] })).toThrow(/12-digit account id/);
    expect(() => defaultKeyPolicy({ account: ACCT, administrators: [ALICE], users: ['bob'] })).toThrow(/"bob" is not a valid principal ARN/);
    const adminsOnly = parsePolicy(defaultKeyPolicy({ account: ACCT, administrators: [ALICE, ADMIN_ROLE], users: [] }));
    expect(adminsOnly.statements.map((s) => s.sid)).toEqual(['Allow access for Key Administrators']);
  });
});

// An independent StringLike reference: dynamic programming over (pattern, value) positions.
function likeReference(pattern: string, value: string): boolean {
  const m = pattern.length;
  const n = value.length;
  let row: boolean[] = Array.from({ length: n + 1 }, (_, j) => j === 0);
  for (let i = 1; i <= m; i++) {
    const p = pattern[i - 1];
    const next: boolean[] = new Array<boolean>(n + 1).fill(false);
    next[0] = p === '*' && row[0]!;
    for (let j = 1; j <= n; j++) {
      if (p === '*') next[j] = row[j]! || next[j - 1]!;
      else next[j] = row[j - 1]! && (p === '?' || p === value[j - 1]);
    }
    row = next;
  }
  return row[n]!;
}

describe('properties', () => {
  const alphabet = fc.constantFrom('a', 'b', '.', '*', '?', '(', '\\', '\n', '$', '[', '^');
  const text = fc.string({ unit: alphabet, maxLength: 10 });
  const plain = fc.string({ unit: fc.constantFrom('a', 'b', '.', '(', '\\', '\n', '$', '[', '^', '*', '?'), maxLength: 12 });

  it('StringLike agrees with a reference glob matcher, and StringNotLike is its negation', () => {
    fc.assert(fc.property(text, plain, (pattern, value) => {
      const want = likeReference(pattern, value);
      expect(cond({ StringLike: { 'kms:x': pattern } }, { 'kms:x': value })).toBe(want);
      expect(cond({ StringNotLike: { 'kms:x': pattern } }, { 'kms:x': value })).toBe(!want);
    }), { numRuns: 2000 });
  });

  it('StringEquals is exact string equality, whatever the characters', () => {
    fc.assert(fc.property(text, plain, (a, b) => {
      expect(cond({ StringEquals: { 'kms:x': a } }, { 'kms:x': b })).toBe(a === b);
      expect(cond({ StringEquals: { 'kms:x': a } }, { 'kms:x': a })).toBe(true);
    }), { numRuns: 1000 });
  });

  it('JSON text with quotes, backslashes and braces in keys and strings is never taken for a duplicate key', () => {
    const tricky = fc.string({ unit: fc.constantFrom('"', '\\', ',', '{', '}', '[', ']', ':', 'a', ' ', 'é'), minLength: 1, maxLength: 8 });
    fc.assert(fc.property(tricky, fc.uniqueArray(tricky, { maxLength: 4 }), (sid, keys) => {
      const condition = { StringEquals: Object.fromEntries(keys.map((k) => [`kms:${k}`, k])) };
      const doc = parsePolicy(policyOf([allow({ Sid: sid, ...(keys.length ? { Condition: condition } : {}) })]));
      expect(doc.statements[0]!.sid).toBe(sid);
      expect(doc.statements[0]!.conditions.map((c) => c.key)).toEqual(keys.map((k) => `kms:${k}`));
    }), { numRuns: 1000 });
  });

  it('set qualifiers agree with every/some over the request values', () => {
    const vals = fc.array(fc.constantFrom('a', 'b', 'c', 'd'), { maxLength: 4 });
    fc.assert(fc.property(fc.uniqueArray(fc.constantFrom('a', 'b', 'c'), { minLength: 1 }), vals, (policy, request) => {
      const inPolicy = (v: string): boolean => (policy as string[]).includes(v);
      expect(cond({ 'ForAllValues:StringEquals': { 'kms:k': policy } }, { 'kms:k': request })).toBe(request.every(inPolicy));
      expect(cond({ 'ForAnyValue:StringEquals': { 'kms:k': policy } }, { 'kms:k': request })).toBe(request.some(inPolicy));
      expect(cond({ 'ForAllValues:StringNotEquals': { 'kms:k': policy } }, { 'kms:k': request })).toBe(request.every((v) => !inPolicy(v)));
      expect(cond({ 'ForAnyValue:StringNotEquals': { 'kms:k': policy } }, { 'kms:k': request })).toBe(request.some((v) => !inPolicy(v)));
    }), { numRuns: 1000 });
  });

  it('a Deny statement that applies always wins, whatever else the policy says', () => {
    const statement = fc.record({
      Effect: fc.constantFrom('Allow', 'Deny'),
      Principal: fc.constantFrom<unknown>('*', { AWS: ALICE }, { AWS: ACCT }, { AWS: BOB }),
      Action: fc.constantFrom('kms:*', 'kms:Encrypt', 'kms:Decrypt', 'kms:En*'),
      Resource: fc.constantFrom('*', KEY, `arn:aws:kms:*:${OTHER}:key/*`),
    });
    fc.assert(fc.property(fc.array(statement, { minLength: 1, maxLength: 6 }), (sts) => {
      const applies = (s: (typeof sts)[number]): boolean =>
        (s.Principal === '*' || (s.Principal as { AWS: string }).AWS !== BOB) &&
        s.Action !== 'kms:Decrypt' && s.Resource !== `arn:aws:kms:*:${OTHER}:key/*`;
      const want = sts.some((s) => applies(s) && s.Effect === 'Deny') ? 'ExplicitDeny'
        : sts.some((s) => applies(s) && s.Effect === 'Allow') ? 'Allow' : 'ImplicitDeny';
      expect(decide(sts)).toBe(want);
    }), { numRuns: 500 });
  });
});
