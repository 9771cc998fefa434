// Grants (AWS KMS Developer Guide, "Grants in AWS KMS"): which operations a grant may carry for each kind of
// key, the CreateGrant request checks, and whether a grant allows one call.
import { ValidationException } from './errors.js';
import { accountOfRootPrincipal, assertPrincipalArn, principalMatches } from './principal.js';
import type { EncryptionContext, GrantConstraints, KeySpec, KeyUsage } from './types.js';

export const GRANT_OPERATIONS = [
  'Decrypt', 'Encrypt', 'GenerateDataKey', 'GenerateDataKeyPair', 'GenerateDataKeyPairWithoutPlaintext',
  'GenerateDataKeyWithoutPlaintext', 'ReEncryptFrom', 'ReEncryptTo', 'Sign', 'Verify', 'GetPublicKey',
  'CreateGrant', 'RetireGrant', 'DescribeKey', 'GenerateMac', 'VerifyMac', 'DeriveSharedSecret',
] as const;
export type GrantOperation = (typeof GRANT_OPERATIONS)[number];

/** The operations that take an encryption context: the only ones a grant constraint applies to. */
export const ENCRYPTION_CONTEXT_OPERATIONS: readonly GrantOperation[] = [
  'Encrypt', 'Decrypt', 'ReEncryptFrom', 'ReEncryptTo', 'GenerateDataKey', 'GenerateDataKeyWithoutPlaintext',
  'GenerateDataKeyPair', 'GenerateDataKeyPairWithoutPlaintext',
];

const ANY_KEY: readonly GrantOperation[] = ['CreateGrant', 'RetireGrant', 'DescribeKey'];

/** The grant operations valid for a kind of key (AWS KMS Developer Guide, "Grant operations"). */
export function grantOperationsFor(key: { keySpec: KeySpec | string; keyUsage: KeyUsage | string }): readonly GrantOperation[] {
  switch (key.keyUsage) {
    case 'ENCRYPT_DECRYPT':
      return key.keySpec === 'SYMMETRIC_DEFAULT'
        ? [...ENCRYPTION_CONTEXT_OPERATIONS, ...ANY_KEY]
        : ['Encrypt', 'Decrypt', 'ReEncryptFrom', 'ReEncryptTo', 'GetPublicKey', ...ANY_KEY];
    case 'SIGN_VERIFY':
      return ['Sign', 'Verify', 'GetPublicKey', ...ANY_KEY];
    case 'GENERATE_VERIFY_MAC':
      return ['GenerateMac', 'VerifyMac', ...ANY_KEY];
    case 'KEY_AGREEMENT':
      return ['DeriveSharedSecret', 'GetPublicKey', ...ANY_KEY];
    default:
      throw new ValidationException(`unknown key usage ${JSON.stringify(key.keyUsage)}`);
  }
}

/** A grant as the access check needs it; the engine's GrantListEntry has this shape. */
export interface GrantLike {
  GrantId?: string;
  GranteePrincipal: string;
  Operations: readonly string[];
  Constraints?: GrantConstraints;
}

/** The CreateGrant request fields this module checks. */
export interface GrantRequest {
  GranteePrincipal: string;
  RetiringPrincipal?: string;
  Operations: readonly string[];
  Constraints?: GrantConstraints;
  Name?: string;
}

const GRANT_NAME = /^[a-zA-Z0-9:/_-]{1,256}$/;
const MAX_CONSTRAINT_PAIRS = 8;
const MAX_CONSTRAINT_VALUE = 384;

function checkContext(ec: unknown, what: string): void {
  if (typeof ec !== 'object' || ec === null || Array.isArray(ec)) throw new ValidationException(`${what} must be a map of strings to strings`);
  const pairs = Object.entries(ec);
  if (pairs.length > MAX_CONSTRAINT_PAIRS) throw new ValidationException(`${what} has ${pairs.length} pairs; the limit is ${MAX_CONSTRAINT_PAIRS}`);
  for (const [k, v] of pairs) {
    if (k.length === 0) throw new ValidationException(`${what} has an empty key`);
    if (typeof v !== 'string') throw new ValidationException(`${what} value of ${JSON.stringify(k)} must be a string`);
    if (v.length > MAX_CONSTRAINT_VALUE) throw new ValidationException(`${what} value of ${JSON.stringify(k)} exceeds ${MAX_CONSTRAINT_VALUE} characters`);
  }
}

/**
 * The CreateGrant checks AWS makes before anything is stored.
 * @throws ValidationException for an invalid principal or name, no or unknown operations, an operation the
 *   key cannot do, both constraints at once, or an encryption-context constraint where no operation takes one
 */
export function validateGrantRequest(req: GrantRequest, key: { keySpec: KeySpec | string; keyUsage: KeyUsage | string }): void {
  assertPrincipalArn(req.GranteePrincipal, 'GranteePrincipal');
  if (req.RetiringPrincipal !== undefined) assertPrincipalArn(req.RetiringPrincipal, 'RetiringPrincipal');
  if (req.Name !== undefined && !GRANT_NAME.test(req.Name)) {
    throw new ValidationException(`Name ${JSON.stringify(req.Name)} must be 1–256 characters of letters, digits, : / _ -`);
  }
  if (!Array.isArray(req.Operations) || req.Operations.length === 0) throw new ValidationException('Operations must list at least one grant operation');
  const valid = grantOperationsFor(key);
  for (const op of req.Operations) {
    if (!(GRANT_OPERATIONS as readonly string[]).includes(op)) {
      throw new ValidationException(`${JSON.stringify(op)} is not a grant operation (one of ${GRANT_OPERATIONS.join(', ')})`);
    }
    if (!valid.includes(op as GrantOperation)) {
      throw new ValidationException(`grant operation ${op} is not valid for a ${key.keySpec} key with KeyUsage ${key.keyUsage}`);
    }
  }
  const c = req.Constraints;
  if (c === undefined) return;
  const subset = c.EncryptionContextSubset !== undefined;
  const equals = c.EncryptionContextEquals !== undefined;
  if (subset && equals) throw new ValidationException('Constraints may hold EncryptionContextSubset or EncryptionContextEquals, not both');
  if (!subset && !equals) return;
  if (key.keyUsage !== 'ENCRYPT_DECRYPT' || key.keySpec !== 'SYMMETRIC_DEFAULT') {
    throw new ValidationException(`encryption context constraints apply only to symmetric encryption keys, not to a ${key.keySpec} ${key.keyUsage} key`);
  }
  if (!req.Operations.some((op) => op === 'CreateGrant' || ENCRYPTION_CONTEXT_OPERATIONS.includes(op as GrantOperation))) {
    throw new ValidationException('encryption context constraints need at least one operation that takes an encryption context (or CreateGrant)');
  }
  checkContext(subset ? c.EncryptionContextSubset : c.EncryptionContextEquals, subset ? 'EncryptionContextSubset' : 'EncryptionContextEquals');
}

/**
 * The condition keys a CreateGrant request brings to the key policy: kms:GrantOperations (string[]),
 * kms:GranteePrincipal, kms:RetiringPrincipal when given, and kms:GrantConstraintType when the grant has an
 * encryption-context constraint (AWS KMS Developer Guide, "AWS KMS condition keys").
 */
export function grantConditionKeys(req: GrantRequest): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {
    'kms:GrantOperations': [...req.Operations],
    'kms:GranteePrincipal': req.GranteePrincipal,
  };
  if (req.RetiringPrincipal !== undefined) out['kms:RetiringPrincipal'] = req.RetiringPrincipal;
  if (req.Constraints?.EncryptionContextEquals !== undefined) out['kms:GrantConstraintType'] = 'EncryptionContextEquals';
  else if (req.Constraints?.EncryptionContextSubset !== undefined) out['kms:GrantConstraintType'] = 'EncryptionContextSubset';
  return out;
}

/**
 * Whether every pair of `need` is in `have`. Grant constraints compare keys case-insensitively and values
 * exactly (AWS KMS API Reference, GrantConstraints).
 */
function contextIncludes(have: EncryptionContext, need: EncryptionContext): boolean {
  const entries = Object.entries(have);
  return Object.entries(need).every(([k, v]) => entries.some(([hk, hv]) => hk.toLowerCase() === k.toLowerCase() && hv === v));
}

/** Whether the request's encryption context satisfies a grant's constraints. */
export function constraintsAllow(c: GrantConstraints | undefined, ec: EncryptionContext | undefined): boolean {
  const have = ec ?? {};
  if (c?.EncryptionContextEquals !== undefined) {
    return contextIncludes(have, c.EncryptionContextEquals) && contextIncludes(c.EncryptionContextEquals, have);
  }
  if (c?.EncryptionContextSubset !== undefined) return contextIncludes(have, c.EncryptionContextSubset);
  return true;
}

/**
 * Whether a grant that allows CreateGrant lets its grantee create `child`: the child may carry only the
 * parent's operations, and an equally strict or stricter encryption context constraint (CreateGrant API
 * Reference, Constraints). Equals E is as strict as Subset S when E includes S; Subset S' is when S' ⊇ S.
 */
function childWithinParent(parent: GrantLike, child: Pick<GrantRequest, 'Operations' | 'Constraints'>): boolean {
  if (!child.Operations.every((op) => parent.Operations.includes(op))) return false;
  const p = parent.Constraints;
  const c = child.Constraints;
  if (p?.EncryptionContextEquals !== undefined) {
    const e = c?.EncryptionContextEquals;
    return e !== undefined && contextIncludes(e, p.EncryptionContextEquals) && contextIncludes(p.EncryptionContextEquals, e);
  }
  if (p?.EncryptionContextSubset !== undefined) {
    const narrower = c?.EncryptionContextEquals ?? c?.EncryptionContextSubset;
    return narrower !== undefined && contextIncludes(narrower, p.EncryptionContextSubset);
  }
  return true;
}

export interface GrantCall {
  principal: string;
  /** A grant operation, e.g. `Encrypt` (a `kms:` prefix is accepted). */
  operation: string;
  encryptionContext?: EncryptionContext;
  /** For CreateGrant: the grant being created. */
  newGrant?: Pick<GrantRequest, 'Operations' | 'Constraints'>;
}

/**
 * Whether `grant` allows the call: the caller is the grantee (principalMatches: an account root grantee
 * covers the account's principals, a role covers its sessions), the grant lists the operation, and for
 * operations that take an encryption context the constraints hold; for CreateGrant the new grant must
 * be within this one.
 * @throws TypeError when CreateGrant is asked without newGrant
 */
export function grantAllows(grant: GrantLike, call: GrantCall): boolean {
  const op = call.operation.startsWith('kms:') ? call.operation.slice(4) : call.operation;
  if (!principalMatches(grant.GranteePrincipal, call.principal)) return false;
  if (!grant.Operations.includes(op)) return false;
  if (op === 'CreateGrant') {
    if (!call.newGrant) throw new TypeError('grantAllows: a CreateGrant call needs newGrant');
    return childWithinParent(grant, call.newGrant);
  }
  if (ENCRYPTION_CONTEXT_OPERATIONS.includes(op as GrantOperation)) return constraintsAllow(grant.Constraints, call.encryptionContext);
  return true;
}

/**
 * Who may retire a grant (AWS KMS Developer Guide, "Retiring and revoking grants"): its retiring principal,
 * its grantee when the grant lists RetireGrant, and the root user of the account that issued it. Only the
 * root ARN itself counts for the last: account delegation would let every principal of the account retire
 * every grant, which AWS only allows through IAM policies Keyward does not have.
 */
export function mayRetireGrant(grant: GrantLike & { RetiringPrincipal?: string; IssuingAccount?: string }, caller: string): boolean {
  if (grant.RetiringPrincipal !== undefined && principalMatches(grant.RetiringPrincipal, caller)) return true;
  if (grant.Operations.includes('RetireGrant') && principalMatches(grant.GranteePrincipal, caller)) return true;
  if (grant.IssuingAccount === undefined) return false;
  const issuer = accountOfRootPrincipal(grant.IssuingAccount) ?? grant.IssuingAccount;
  return caller.endsWith(':root') && accountOfRootPrincipal(caller) === issuer;
}
