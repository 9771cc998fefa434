// Key policies: the AWS key-policy JSON grammar (IAM policy language, resource-based form), parsed once
// into a checked PolicyDocument and evaluated per request: an explicit Deny wins, then any Allow, and
// without either the request is implicitly denied (AWS "Policy evaluation logic").
import { BlockList, isIP } from 'node:net';
import { MalformedPolicyDocumentException, ValidationException } from './errors.js';
import { callerAccount, isValidPrincipalArn, principalMatches } from './principal.js';

/** PutKeyPolicy's limits: 1–32768 characters of tab, LF, CR and U+0020–U+00FF (AWS KMS API Reference). */
export const POLICY_MAX_LENGTH = 32768;
const POLICY_CHARS = /^[\t\n\r\u0020-\u00FF]+$/;

/**
 * Every action the engine authorizes, as `kms:<Operation>`. ReEncrypt is authorized as ReEncryptFrom on the
 * source key and ReEncryptTo on the destination key. CreateKey, ListKeys, ListAliases, GenerateRandom and
 * ListRetirableGrants concern no single key (in AWS they are IAM-only); the engine decides which policy
 * answers for them.
 */
export const KMS_ACTIONS = [
  'kms:CancelKeyDeletion', 'kms:CreateAlias', 'kms:CreateGrant', 'kms:CreateKey', 'kms:Decrypt',
  'kms:DeleteAlias', 'kms:DeleteImportedKeyMaterial', 'kms:DescribeKey', 'kms:DisableKey',
  'kms:DisableKeyRotation', 'kms:EnableKey', 'kms:EnableKeyRotation', 'kms:Encrypt', 'kms:GenerateDataKey',
  'kms:GenerateDataKeyPair', 'kms:GenerateDataKeyPairWithoutPlaintext', 'kms:GenerateDataKeyWithoutPlaintext',
  'kms:GenerateMac', 'kms:GenerateRandom', 'kms:GetKeyPolicy', 'kms:GetKeyRotationStatus',
  'kms:GetParametersForImport', 'kms:GetPublicKey', 'kms:ImportKeyMaterial', 'kms:ListAliases',
  'kms:ListGrants', 'kms:ListKeyPolicies', 'kms:ListKeyRotations', 'kms:ListKeys', 'kms:ListResourceTags',
  'kms:ListRetirableGrants', 'kms:PutKeyPolicy', 'kms:ReEncryptFrom', 'kms:ReEncryptTo', 'kms:ReplicateKey',
  'kms:RetireGrant', 'kms:RevokeGrant', 'kms:RotateKeyOnDemand', 'kms:ScheduleKeyDeletion', 'kms:Sign',
  'kms:TagResource', 'kms:UntagResource', 'kms:UpdateAlias', 'kms:UpdateKeyDescription', 'kms:Verify',
  'kms:VerifyMac',
] as const;
export type KmsAction = (typeof KMS_ACTIONS)[number];

export type ContextValue = string | readonly string[] | boolean | number;

/** One authorization question. Condition keys in `context` are case-insensitive, like AWS condition keys. */
export interface AccessRequest {
  /** The caller's principal ARN. */
  principal: string;
  /** `kms:<Operation>`, e.g. `kms:Encrypt`. */
  action: string;
  /** The key ARN. */
  resource: string;
  /**
   * Condition keys: `kms:EncryptionContext:<k>` (one per pair), `kms:EncryptionContextKeys` (string[]),
   * `kms:KeySpec`, `kms:GrantOperations` (string[]), … `aws:PrincipalArn`, `aws:PrincipalAccount` and
   * `kms:CallerAccount` default to the values derived from `principal` when absent.
   */
  context: Readonly<Record<string, ContextValue>>;
}

export type PolicyDecision = 'Allow' | 'ExplicitDeny' | 'ImplicitDeny';

/**
 * The condition keys of an encryption context: `kms:EncryptionContext:<key>` per pair and
 * `kms:EncryptionContextKeys` (the keys). A call without an encryption context has neither key, so a
 * ForAllValues condition on them holds vacuously, as in AWS (pair it with a Null check to require a context).
 */
export function encryptionContextConditionKeys(ec: Readonly<Record<string, string>> | undefined): Record<string, ContextValue> {
  const keys = Object.keys(ec ?? {});
  if (keys.length === 0) return {};
  const out: Record<string, ContextValue> = { 'kms:EncryptionContextKeys': keys };
  for (const k of keys) out[`kms:EncryptionContext:${k}`] = ec![k]!;
  return out;
}

const STRING_OPS = ['StringEquals', 'StringNotEquals', 'StringEqualsIgnoreCase', 'StringNotEqualsIgnoreCase', 'StringLike', 'StringNotLike'] as const;
const NUMERIC_OPS = ['NumericEquals', 'NumericNotEquals', 'NumericLessThan', 'NumericLessThanEquals', 'NumericGreaterThan', 'NumericGreaterThanEquals'] as const;
const DATE_OPS = ['DateEquals', 'DateNotEquals', 'DateLessThan', 'DateLessThanEquals', 'DateGreaterThan', 'DateGreaterThanEquals'] as const;
const ARN_OPS = ['ArnEquals', 'ArnLike', 'ArnNotEquals', 'ArnNotLike'] as const;
const OTHER_OPS = ['Bool', 'BinaryEquals', 'IpAddress', 'NotIpAddress', 'Null'] as const;
export const CONDITION_OPERATORS = [...STRING_OPS, ...NUMERIC_OPS, ...DATE_OPS, ...ARN_OPS, ...OTHER_OPS] as const;
export type ConditionOperator = (typeof CONDITION_OPERATORS)[number];
const NEGATED: ReadonlySet<ConditionOperator> = new Set([
  'StringNotEquals', 'StringNotEqualsIgnoreCase', 'StringNotLike', 'NumericNotEquals', 'DateNotEquals',
  'ArnNotEquals', 'ArnNotLike', 'NotIpAddress',
]);

/** A pattern as written, split into literal text, wildcards and policy variables (`${aws:PrincipalArn}`). */
type Segment = { lit: string } | { wild: '*' | '?' } | { variable: string };

/** One condition value, pre-parsed for its operator. */
export interface ConditionValue {
  readonly raw: string;
  /** String and ARN operators. */
  readonly segments?: readonly Segment[];
  /** Numeric (the number) and Date operators (ms since the epoch). */
  readonly number?: number;
  /** IpAddress / NotIpAddress. */
  readonly net?: BlockList;
}

export interface Condition {
  /** The operator as written, e.g. `ForAnyValue:StringLikeIfExists`. */
  readonly operator: string;
  readonly base: ConditionOperator;
  readonly ifExists: boolean;
  readonly qualifier: 'ForAllValues' | 'ForAnyValue' | null;
  /** The condition key as written; it is matched case-insensitively. */
  readonly key: string;
  readonly values: readonly ConditionValue[];
}

/** A principal element: `"*"`, `{"AWS": …}` and/or `{"Service": …}`. */
export interface PrincipalSpec {
  readonly aws: readonly string[];
  readonly service: readonly string[];
}

export interface PolicyStatement {
  readonly sid?: string;
  readonly effect: 'Allow' | 'Deny';
  readonly principal?: PrincipalSpec;
  readonly notPrincipal?: PrincipalSpec;
  readonly action?: readonly string[];
  readonly notAction?: readonly string[];
  readonly resource?: readonly string[];
  readonly notResource?: readonly string[];
  readonly conditions: readonly Condition[];
}

export interface PolicyDocument {
  /** `2008-10-17` when the document names none (AWS's default); policy variables need `2012-10-17`. */
  readonly version: '2012-10-17' | '2008-10-17';
  readonly id?: string;
  readonly statements: readonly PolicyStatement[];
}

// ---------------------------------------------------------------------------------------------------
// Parsing

const STATEMENT_KEYS = new Set(['Sid', 'Effect', 'Principal', 'NotPrincipal', 'Action', 'NotAction', 'Resource', 'NotResource', 'Condition']);
const ACTION_PATTERN = /^(\*|[A-Za-z0-9-]+:[A-Za-z0-9*?]+)$/;
const SERVICE_PRINCIPAL = /^[a-z0-9][a-z0-9.-]*\.[a-z0-9.-]+$/;
const ACCOUNT_ID = /^\d{12}$/;
const CONDITION_KEY = /^[A-Za-z0-9-]+:.+$/;
const NUMBER = /^-?\d+(\.\d+)?$/;
const ISO_DATE = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/;
const EPOCH_SECONDS = /^\d+$/;
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function malformed(where: string, what: string): never {
  throw new MalformedPolicyDocumentException(where ? `${where}: ${what}` : what);
}

/**
 * Parses and checks a key policy document.
 * @throws ValidationException for a document outside PutKeyPolicy's length or character limits
 * @throws MalformedPolicyDocumentException naming the statement and the element that is wrong
 */
export function parsePolicy(json: string): PolicyDocument {
  if (typeof json !== 'string' || json.length === 0) throw new ValidationException('The key policy must be a non-empty string');
  if (json.length > POLICY_MAX_LENGTH) {
    throw new ValidationException(`The key policy is ${json.length} characters; the limit is ${POLICY_MAX_LENGTH}`);
  }
  if (!POLICY_CHARS.test(json)) {
    const at = [...json].findIndex((c) => !POLICY_CHARS.test(c));
    throw new ValidationException(`The key policy contains a character outside tab, LF, CR and U+0020–U+00FF at offset ${at}`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(json);
  } catch (e) {
    malformed('', `the policy is not valid JSON (${(e as Error).message})`);
  }
  if (!isObject(doc)) malformed('', 'the policy must be a JSON object');
  const duplicate = duplicateKey(json);
  if (duplicate !== undefined) malformed('', `the key ${JSON.stringify(duplicate)} appears twice in one JSON object`);
  for (const k of Object.keys(doc)) {
    if (k !== 'Version' && k !== 'Id' && k !== 'Statement') malformed('', `unknown policy element "${k}" (expected Version, Id, Statement)`);
  }
  let version: PolicyDocument['version'] = '2008-10-17';
  if (doc.Version !== undefined) {
    if (doc.Version !== '2012-10-17' && doc.Version !== '2008-10-17') {
      malformed('', `Version must be "2012-10-17" or "2008-10-17", got ${JSON.stringify(doc.Version)}`);
    }
    version = doc.Version;
  }
  if (doc.Id !== undefined && typeof doc.Id !== 'string') malformed('', 'Id must be a string');
  if (doc.Statement === undefined) malformed('', 'the policy has no Statement');
  const raw = Array.isArray(doc.Statement) ? doc.Statement : [doc.Statement];
  if (raw.length === 0) malformed('', 'Statement must not be empty');
  const sids = new Set<string>();
  const statements = raw.map((s, i) => {
    const st = parseStatement(s, i, version);
    if (st.sid !== undefined) {
      if (sids.has(st.sid)) malformed(`Statement[${i}]`, `duplicate Sid ${JSON.stringify(st.sid)}`);
      sids.add(st.sid);
    }
    return st;
  });
  return doc.Id === undefined ? { version, statements } : { version, id: doc.Id as string, statements };
}

/**
 * The first key repeated within one object of an already valid JSON text. JSON.parse keeps the last copy
 * silently, so `{"Effect": "Deny", "Effect": "Allow"}` would read as Allow: refuse it instead.
 */
function duplicateKey(json: string): string | undefined {
  const open: (Set<string> | null)[] = []; // one entry per open object (its keys) or array (null)
  let expectKey = false;
  for (let i = 0; i < json.length; i++) {
    const c = json[i];
    if (c === '"') {
      let j = i + 1;
      while (json[j] !== '"') j += json[j] === '\\' ? 2 : 1;
      if (expectKey) {
        const key = JSON.parse(json.slice(i, j + 1)) as string;
        const keys = open[open.length - 1]!;
        if (keys.has(key)) return key;
        keys.add(key);
        expectKey = false;
      }
      i = j;
    } else if (c === '{') {
      open.push(new Set());
      expectKey = true;
    } else if (c === '[') {
      open.push(null);
    } else if (c === '}' || c === ']') {
      open.pop();
    } else if (c === ',') {
      expectKey = open[open.length - 1] instanceof Set;
    }
  }
  return undefined;
}

function parseStatement(s: unknown, i: number, version: PolicyDocument['version']): PolicyStatement {
  let where = `Statement[${i}]`;
  if (!isObject(s)) malformed(where, 'a statement must be a JSON object');
  if (s.Sid !== undefined) {
    if (typeof s.Sid !== 'string') malformed(where, 'Sid must be a string');
    where += ` (Sid ${JSON.stringify(s.Sid)})`;
  }
  for (const k of Object.keys(s)) if (!STATEMENT_KEYS.has(k)) malformed(where, `unknown statement element "${k}"`);
  if (s.Effect !== 'Allow' && s.Effect !== 'Deny') malformed(where, `Effect must be "Allow" or "Deny", got ${JSON.stringify(s.Effect)}`);
  const pair = (a: string, b: string): void => {
    if (s[a] === undefined && s[b] === undefined) malformed(where, `the statement needs ${a} or ${b}`);
    if (s[a] !== undefined && s[b] !== undefined) malformed(where, `the statement may have ${a} or ${b}, not both`);
  };
  pair('Principal', 'NotPrincipal');
  pair('Action', 'NotAction');
  pair('Resource', 'NotResource');
  const out: {
    -readonly [K in keyof PolicyStatement]: PolicyStatement[K];
  } = { effect: s.Effect, conditions: s.Condition === undefined ? [] : parseConditions(s.Condition, where, version) };
  if (s.Sid !== undefined) out.sid = s.Sid as string;
  if (s.Principal !== undefined) out.principal = parsePrincipal(s.Principal, where, 'Principal');
  if (s.NotPrincipal !== undefined) out.notPrincipal = parsePrincipal(s.NotPrincipal, where, 'NotPrincipal');
  if (s.Action !== undefined) out.action = parseActions(s.Action, where, 'Action');
  if (s.NotAction !== undefined) out.notAction = parseActions(s.NotAction, where, 'NotAction');
  if (s.Resource !== undefined) out.resource = parseResources(s.Resource, where, 'Resource');
  if (s.NotResource !== undefined) out.notResource = parseResources(s.NotResource, where, 'NotResource');
  return out;
}

/** A string or a non-empty array of strings, as most elements allow. */
function stringList(v: unknown, where: string, element: string): string[] {
  const list = Array.isArray(v) ? v : [v];
  if (list.length === 0) malformed(where, `${element} must not be an empty list`);
  for (const x of list) {
    if (typeof x !== 'string' || x.length === 0) malformed(where, `${element} entries must be non-empty strings, got ${JSON.stringify(x)}`);
  }
  return list as string[];
}

function parsePrincipal(v: unknown, where: string, element: string): PrincipalSpec {
  if (v === '*') return { aws: ['*'], service: [] };
  if (!isObject(v)) malformed(where, `${element} must be "*" or an object such as {"AWS": "<principal ARN>"}`);
  const keys = Object.keys(v);
  if (keys.length === 0) malformed(where, `${element} must name at least one principal`);
  let aws: string[] = [];
  let service: string[] = [];
  for (const k of keys) {
    if (k === 'AWS') {
      aws = stringList(v.AWS, where, `${element}.AWS`);
      for (const p of aws) {
        if (p === '*' || ACCOUNT_ID.test(p) || isValidPrincipalArn(p)) continue;
        if (p.includes('*') || p.includes('?')) malformed(where, `${element}.AWS ${JSON.stringify(p)}: a principal ARN cannot contain wildcards (use "*" alone)`);
        malformed(where, `${element}.AWS ${JSON.stringify(p)} is not an account id, "*" or a valid principal ARN`);
      }
    } else if (k === 'Service') {
      service = stringList(v.Service, where, `${element}.Service`);
      for (const p of service) if (!SERVICE_PRINCIPAL.test(p)) malformed(where, `${element}.Service ${JSON.stringify(p)} is not a service principal name`);
    } else if (k === 'Federated' || k === 'CanonicalUser') {
      malformed(where, `${element} type "${k}" is not supported (Keyward principals are "AWS" ARNs or "Service" names)`);
    } else {
      malformed(where, `unknown ${element} type "${k}" (expected AWS or Service)`);
    }
  }
  return { aws, service };
}

function parseActions(v: unknown, where: string, element: string): string[] {
  const list = stringList(v, where, element);
  for (const a of list) {
    if (!ACTION_PATTERN.test(a)) malformed(where, `${element} ${JSON.stringify(a)} is not "*" or "<service>:<action>" (letters, digits, * and ?)`);
  }
  return list;
}

function parseResources(v: unknown, where: string, element: string): string[] {
  const list = stringList(v, where, element);
  for (const r of list) {
    if (r !== '*' && !(r.startsWith('arn:') && r.split(':').length >= 6)) {
      malformed(where, `${element} ${JSON.stringify(r)} is not "*" or an ARN (arn:partition:service:region:account:resource)`);
    }
  }
  return list;
}

const OPERATOR_NAME = /^(?:(ForAllValues|ForAnyValue):)?([A-Za-z]+?)(IfExists)?$/;

function parseConditions(v: unknown, where: string, version: PolicyDocument['version']): Condition[] {
  if (!isObject(v)) malformed(where, 'Condition must be an object of {"<operator>": {"<key>": <values>}}');
  const out: Condition[] = [];
  for (const [operator, block] of Object.entries(v)) {
    const m = OPERATOR_NAME.exec(operator);
    const base = m?.[2] as ConditionOperator | undefined;
    if (!m || !base || !(CONDITION_OPERATORS as readonly string[]).includes(base)) {
      malformed(where, `unknown condition operator "${operator}"`);
    }
    const qualifier = (m[1] ?? null) as Condition['qualifier'];
    const ifExists = m[3] !== undefined;
    if (base === 'Null' && (ifExists || qualifier)) malformed(where, `condition operator "${operator}": Null takes neither IfExists nor a set qualifier`);
    if (!isObject(block) || Object.keys(block).length === 0) {
      malformed(where, `condition operator "${operator}" must map at least one condition key to its values`);
    }
    for (const [key, raw] of Object.entries(block)) {
      const at = `condition "${operator}" key "${key}"`;
      if (!CONDITION_KEY.test(key)) malformed(where, `${at}: a condition key is "<prefix>:<name>", e.g. kms:EncryptionContext:<key>`);
      const list = Array.isArray(raw) ? raw : [raw];
      if (list.length === 0) malformed(where, `${at}: the value list must not be empty`);
      const values = list.map((x) => {
        if (typeof x !== 'string' && typeof x !== 'number' && typeof x !== 'boolean') {
          malformed(where, `${at}: values must be strings, numbers or booleans, got ${JSON.stringify(x)}`);
        }
        return parseConditionValue(base, String(x), where, at, version);
      });
      out.push({ operator, base, ifExists, qualifier, key, values });
    }
  }
  return out;
}

function parseConditionValue(base: ConditionOperator, raw: string, where: string, at: string, version: PolicyDocument['version']): ConditionValue {
  if (base.startsWith('String') || base.startsWith('Arn')) return { raw, segments: tokenize(raw, version === '2012-10-17') };
  if (base.startsWith('Numeric')) {
    if (!NUMBER.test(raw)) malformed(where, `${at}: ${JSON.stringify(raw)} is not a number`);
    return { raw, number: Number(raw) };
  }
  if (base.startsWith('Date')) {
    const t = parseDate(raw);
    if (t === undefined) malformed(where, `${at}: ${JSON.stringify(raw)} is not an ISO 8601 date or epoch seconds`);
    return { raw, number: t };
  }
  if (base === 'Bool' || base === 'Null') {
    if (!/^(true|false)$/i.test(raw)) malformed(where, `${at}: ${base} takes "true" or "false", got ${JSON.stringify(raw)}`);
    return { raw: raw.toLowerCase() };
  }
  if (base === 'IpAddress' || base === 'NotIpAddress') {
    const [addr, prefix, extra] = raw.split('/');
    const family = isIP(addr ?? '');
    const max = family === 6 ? 128 : 32;
    const bits = prefix === undefined ? max : /^\d{1,3}$/.test(prefix) ? Number(prefix) : -1;
    if (family === 0 || extra !== undefined || bits < 0 || bits > max) malformed(where, `${at}: ${JSON.stringify(raw)} is not an IP address or CIDR block`);
    const net = new BlockList();
    net.addSubnet(addr!, bits, family === 6 ? 'ipv6' : 'ipv4');
    return { raw, net };
  }
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(raw) || raw.length % 4 !== 0) malformed(where, `${at}: ${JSON.stringify(raw)} is not base64`);
  return { raw }; // BinaryEquals: base64 text, compared as written
}

function parseDate(v: string): number | undefined {
  if (EPOCH_SECONDS.test(v)) return Number(v) * 1000;
  const m = ISO_DATE.exec(v);
  if (!m) return undefined;
  // A time without a zone is UTC, as in AWS; Date.parse would take the host's zone.
  const t = Date.parse(m[1] !== undefined && m[4] === undefined ? `${v}Z` : v);
  return Number.isNaN(t) ? undefined : t;
}

/**
 * Splits a string/ARN pattern into literals, `*`/`?` wildcards and policy variables. Variables exist only in
 * Version 2012-10-17 documents; `${*}`, `${?}` and `${$}` stand for the literal characters.
 */
function tokenize(pattern: string, variables: boolean): Segment[] {
  const out: Segment[] = [];
  let lit = '';
  const flush = (): void => {
    if (lit) out.push({ lit });
    lit = '';
  };
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (variables && c === '$' && pattern[i + 1] === '{') {
      const end = pattern.indexOf('}', i + 2);
      const name = end < 0 ? '' : pattern.slice(i + 2, end);
      if (name === '*' || name === '?' || name === '$') {
        lit += name;
        i = end;
        continue;
      }
      if (/^[A-Za-z0-9-]+:[\w:/.-]+$/.test(name)) {
        flush();
        out.push({ variable: name.toLowerCase() });
        i = end;
        continue;
      }
    }
    if (c === '*' || c === '?') {
      flush();
      out.push({ wild: c });
    } else {
      lit += c;
    }
  }
  flush();
  return out;
}

// ---------------------------------------------------------------------------------------------------
// Request context

interface ContextEntry {
  values: string[];
  /** Set when the caller gave a list: such a key cannot fill a policy variable. */
  multi: boolean;
}
type Context = Map<string, ContextEntry>;

function buildContext(req: AccessRequest): Context {
  const ctx: Context = new Map();
  for (const [k, v] of Object.entries(req.context)) {
    if (v === undefined) continue;
    let entry: ContextEntry;
    if (Array.isArray(v)) entry = { values: v.map(String), multi: true };
    else if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') entry = { values: [String(v)], multi: false };
    else throw new TypeError(`context key ${k}: expected a string, string[], boolean or number`);
    const key = k.toLowerCase();
    const prior = ctx.get(key);
    // Two keys equal but for case (two encryption context keys): condition keys are case-insensitive, so both values count.
    ctx.set(key, prior ? { values: [...prior.values, ...entry.values], multi: true } : entry);
  }
  if (isValidPrincipalArn(req.principal)) {
    const account = callerAccount(req.principal);
    const defaults: [string, string][] = [['aws:principalarn', req.principal], ['aws:principalaccount', account], ['kms:calleraccount', account]];
    for (const [k, v] of defaults) if (!ctx.has(k)) ctx.set(k, { values: [v], multi: false });
  }
  return ctx;
}

/** Replaces policy variables with context values; undefined when one is absent or multi-valued (then nothing matches). */
function resolve(segments: readonly Segment[], ctx: Context): Segment[] | undefined {
  const out: Segment[] = [];
  for (const s of segments) {
    if ('variable' in s) {
      const e = ctx.get(s.variable);
      if (!e || e.multi || e.values.length !== 1) return undefined;
      out.push({ lit: e.values[0]! });
    } else {
      out.push(s);
    }
  }
  return out;
}

const escapeRe = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function exactText(segments: readonly Segment[]): string {
  return segments.map((s) => ('lit' in s ? s.lit : 'wild' in s ? s.wild : '')).join('');
}

function globRegex(segments: readonly Segment[], flags = ''): RegExp {
  const body = segments.map((s) => ('lit' in s ? escapeRe(s.lit) : 'wild' in s ? (s.wild === '*' ? '[^]*' : '[^]') : '')).join('');
  return new RegExp(`^${body}$`, flags);
}

/**
 * ARN matching (ArnEquals/ArnLike and Resource): each of the six colon-separated parts is matched on its
 * own, so a wildcard in region or account never spans a colon; in the last part (the resource, which may
 * hold colons) it may.
 */
function arnMatches(segments: readonly Segment[], value: string): boolean {
  if (!value.startsWith('arn:') || value.split(':').length < 6) return false;
  const colons = segments.reduce((n, s) => n + ('lit' in s ? s.lit.split(':').length - 1 : 0), 0);
  let part = 0;
  let body = '';
  for (const s of segments) {
    if ('lit' in s) {
      for (const ch of s.lit) {
        if (ch === ':') part++;
        body += escapeRe(ch);
      }
    } else if ('wild' in s) {
      const last = part >= 5 || part >= colons;
      body += s.wild === '*' ? (last ? '[^]*' : '[^:]*') : last ? '[^]' : '[^:]';
    }
  }
  return new RegExp(`^${body}$`).test(value);
}

// ---------------------------------------------------------------------------------------------------
// Evaluation

function compareOne(c: Condition, pv: ConditionValue, v: string, ctx: Context): boolean {
  switch (c.base) {
    case 'StringEquals': case 'StringNotEquals': case 'StringEqualsIgnoreCase': case 'StringNotEqualsIgnoreCase': {
      const segs = resolve(pv.segments!, ctx);
      if (!segs) return false;
      const text = exactText(segs);
      return c.base.includes('IgnoreCase') ? text.toLowerCase() === v.toLowerCase() : text === v;
    }
    case 'StringLike': case 'StringNotLike': {
      const segs = resolve(pv.segments!, ctx);
      return segs !== undefined && globRegex(segs).test(v);
    }
    case 'ArnEquals': case 'ArnLike': case 'ArnNotEquals': case 'ArnNotLike': {
      const segs = resolve(pv.segments!, ctx);
      return segs !== undefined && arnMatches(segs, v);
    }
    case 'NumericEquals': case 'NumericNotEquals': case 'NumericLessThan': case 'NumericLessThanEquals':
    case 'NumericGreaterThan': case 'NumericGreaterThanEquals': {
      // The request side comes from the engine, which may give any JS number (1e21, 1e-7).
      const n = v.trim() === '' ? NaN : Number(v);
      return Number.isFinite(n) && ordered(c.base.slice(7), n, pv.number!);
    }
    case 'DateEquals': case 'DateNotEquals': case 'DateLessThan': case 'DateLessThanEquals':
    case 'DateGreaterThan': case 'DateGreaterThanEquals': {
      const t = parseDate(v);
      return t !== undefined && ordered(c.base.slice(4), t, pv.number!);
    }
    case 'Bool':
      return v.toLowerCase() === pv.raw;
    case 'BinaryEquals':
      return v === pv.raw;
    case 'IpAddress': case 'NotIpAddress': {
      const family = isIP(v);
      return family !== 0 && pv.net!.check(v, family === 6 ? 'ipv6' : 'ipv4');
    }
    case 'Null':
      return false; // handled by evalCondition
  }
}

function ordered(rel: string, a: number, b: number): boolean {
  switch (rel) {
    case 'Equals': case 'NotEquals': return a === b;
    case 'LessThan': return a < b;
    case 'LessThanEquals': return a <= b;
    case 'GreaterThan': return a > b;
    default: return a >= b;
  }
}

/**
 * One condition (IAM "Condition element" and "Set operators for multivalued context keys"):
 * - a missing key: `…IfExists` → true; ForAllValues → true (vacuously); ForAnyValue → false; otherwise
 *   false, except for negated operators (StringNotEquals, ArnNotLike, …), which are true;
 * - a value matches when it matches any of the policy values; a negated operator asks that it match none;
 * - ForAllValues: every request value must match (an empty list → true); ForAnyValue: at least one
 *   (an empty list → false); without a qualifier a list counts as matching when any element does.
 * An empty list counts as missing for IfExists and Null.
 */
function evalCondition(c: Condition, ctx: Context): boolean {
  const entry = ctx.get(c.key.toLowerCase());
  const present = entry !== undefined && entry.values.length > 0;
  if (c.base === 'Null') return c.values.some((pv) => (pv.raw === 'true') === !present);
  if (entry === undefined || (!present && c.ifExists)) {
    if (c.ifExists || c.qualifier === 'ForAllValues') return true;
    if (c.qualifier === 'ForAnyValue') return false;
    return NEGATED.has(c.base);
  }
  const negated = NEGATED.has(c.base);
  const matches = (v: string): boolean => c.values.some((pv) => compareOne(c, pv, v, ctx));
  if (c.qualifier === 'ForAllValues') return entry.values.every((v) => matches(v) !== negated);
  if (c.qualifier === 'ForAnyValue') return entry.values.some((v) => matches(v) !== negated);
  return entry.values.some(matches) !== negated;
}

function principalSpecMatches(p: PrincipalSpec, caller: string): boolean {
  return p.aws.some((a) => principalMatches(a, caller)) || p.service.includes(caller);
}

// Compiled action patterns: a policy names few, and every call tests them.
const actionRegexes = new Map<string, RegExp>();

function actionMatches(patterns: readonly string[], action: string): boolean {
  return patterns.some((p) => {
    if (p === '*') return true;
    let re = actionRegexes.get(p);
    if (!re) {
      if (actionRegexes.size >= 4096) actionRegexes.clear();
      re = globRegex(tokenize(p, false), 'i');
      actionRegexes.set(p, re);
    }
    return re.test(action);
  });
}

function resourceMatches(patterns: readonly string[], resource: string, ctx: Context, version: PolicyDocument['version']): boolean {
  return patterns.some((p) => {
    if (p === '*') return true;
    const segs = resolve(tokenize(p, version === '2012-10-17'), ctx);
    return segs !== undefined && arnMatches(segs, resource);
  });
}

function statementApplies(doc: PolicyDocument, st: PolicyStatement, req: AccessRequest, ctx: Context): boolean {
  const principalOk = st.principal ? principalSpecMatches(st.principal, req.principal) : !principalSpecMatches(st.notPrincipal!, req.principal);
  const actionOk = st.action ? actionMatches(st.action, req.action) : !actionMatches(st.notAction!, req.action);
  const resourceOk = st.resource
    ? resourceMatches(st.resource, req.resource, ctx, doc.version)
    : !resourceMatches(st.notResource!, req.resource, ctx, doc.version);
  return principalOk && actionOk && resourceOk && st.conditions.every((c) => evalCondition(c, ctx));
}

export interface PolicyExplanation {
  decision: PolicyDecision;
  /** The deciding statement: the first applicable Deny, else the first applicable Allow. */
  statement?: { index: number; sid?: string };
}

/** evaluatePolicy, with the statement that decided. */
export function explainPolicy(doc: PolicyDocument, req: AccessRequest): PolicyExplanation {
  const ctx = buildContext(req);
  let allow: PolicyExplanation['statement'];
  for (let index = 0; index < doc.statements.length; index++) {
    const st = doc.statements[index]!;
    if (!statementApplies(doc, st, req, ctx)) continue;
    const ref = st.sid === undefined ? { index } : { index, sid: st.sid };
    if (st.effect === 'Deny') return { decision: 'ExplicitDeny', statement: ref };
    allow ??= ref;
  }
  return allow ? { decision: 'Allow', statement: allow } : { decision: 'ImplicitDeny' };
}

/** Explicit Deny wins over Allow; without an applicable Allow the answer is ImplicitDeny. */
export function evaluatePolicy(doc: PolicyDocument, req: AccessRequest): PolicyDecision {
  return explainPolicy(doc, req).decision;
}

// ---------------------------------------------------------------------------------------------------
// The default key policy

export const KEY_ADMIN_ACTIONS = [
  'kms:Create*', 'kms:Describe*', 'kms:Enable*', 'kms:List*', 'kms:Put*', 'kms:Update*', 'kms:Revoke*',
  'kms:Disable*', 'kms:Get*', 'kms:Delete*', 'kms:TagResource', 'kms:UntagResource', 'kms:ScheduleKeyDeletion',
  'kms:CancelKeyDeletion', 'kms:RotateKeyOnDemand',
] as const;

export const KEY_USER_ACTIONS = [
  'kms:Encrypt', 'kms:Decrypt', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:DescribeKey', 'kms:Sign',
  'kms:Verify', 'kms:GetPublicKey', 'kms:GenerateMac', 'kms:VerifyMac',
] as const;

/**
 * The console-style default key policy, with key administrators and key users kept apart.
 *
 * Unlike the AWS console it has no "Enable IAM User Permissions" statement (account root, kms:*): Keyward has
 * no IAM, so account root means every principal of the account and that statement would give everyone all
 * of the key. It also has no "Allow attachment of persistent resources" statement: its condition
 * kms:GrantIsForAWSResource is only true for calls from integrated AWS services, which never reach Keyward,
 * so the statement could never apply. Administrators create and revoke grants through kms:Create* and
 * kms:Revoke*.
 * @throws ValidationException without an administrator (nobody could ever change the policy) or for an invalid principal
 */
export function defaultKeyPolicy(opts: {
  account: string; administrators: readonly string[]; users: readonly string[];
  /** As the AWS console does, administrators of a key for imported material also get kms:ImportKeyMaterial… */
  origin?: 'AWS_KMS' | 'EXTERNAL' | 'AWS_CLOUDHSM';
  /** …and of a multi-Region key kms:ReplicateKey and kms:UpdatePrimaryRegion. */
  multiRegion?: boolean;
}): string {
  if (!ACCOUNT_ID.test(opts.account)) throw new ValidationException(`account ${JSON.stringify(opts.account)} is not a 12-digit account id`);
  if (opts.administrators.length === 0) throw new ValidationException('the default key policy needs at least one key administrator');
  for (const p of [...opts.administrators, ...opts.users]) {
    if (!isValidPrincipalArn(p) && !ACCOUNT_ID.test(p)) throw new ValidationException(`${JSON.stringify(p)} is not a valid principal ARN`);
  }
  const principal = (list: readonly string[]): { AWS: string | string[] } => ({ AWS: list.length === 1 ? list[0]! : [...list] });
  const statements: object[] = [
    {
      Sid: 'Allow access for Key Administrators', Effect: 'Allow', Principal: principal(opts.administrators),
      Action: [
        ...KEY_ADMIN_ACTIONS,
        ...(opts.origin === 'EXTERNAL' ? ['kms:ImportKeyMaterial'] : []),
        ...(opts.multiRegion ? ['kms:ReplicateKey', 'kms:UpdatePrimaryRegion'] : []),
      ],
      Resource: '*',
    },
  ];
  if (opts.users.length > 0) {
    statements.push({ Sid: 'Allow use of the key', Effect: 'Allow', Principal: principal(opts.users), Action: [...KEY_USER_ACTIONS], Resource: '*' });
  }
  return JSON.stringify({ Version: '2012-10-17', Id: `key-default-${opts.account}`, Statement: statements }, null, 2);
}
