// The access decision for one call: the key policy first (an explicit Deny there cannot be overridden by a
// grant), then the key's grants (AWS KMS Developer Guide, "Determining access to an AWS KMS key", with no
// IAM policies: Keyward has none).
import { grantAllows, type GrantLike, type GrantRequest } from './grants.js';
import { explainPolicy, type AccessRequest, type PolicyDocument } from './policy.js';
import type { EncryptionContext } from './types.js';

export { assertPrincipalArn, callerAccount, isValidPrincipalArn, principalMatches } from './principal.js';

export interface AuthorizeInput {
  policy: PolicyDocument;
  /** The key's grants; only those whose grantee is the caller can count. */
  grants: readonly GrantLike[];
  request: AccessRequest;
  /** The grant operation, e.g. `Encrypt`; defaults to request.action without its `kms:` prefix. */
  operation?: string;
  /** The call's encryption context, for grant constraints. */
  encryptionContext?: EncryptionContext;
  /** For CreateGrant: the grant being created, which a grant may only narrow. */
  newGrant?: Pick<GrantRequest, 'Operations' | 'Constraints'>;
}

export interface AuthorizeResult {
  allowed: boolean;
  by: 'policy' | 'grant' | null;
  /** One line for the audit record and AccessDeniedException; never holds context values. */
  reason: string;
}

function statementName(s: { index: number; sid?: string } | undefined): string {
  if (!s) return 'the key policy';
  return s.sid === undefined ? `key policy statement ${s.index}` : `key policy statement ${s.index} (Sid ${JSON.stringify(s.sid)})`;
}

export function authorize(input: AuthorizeInput): AuthorizeResult {
  const { request } = input;
  const who = `${request.principal} for ${request.action} on ${request.resource}`;
  const policy = explainPolicy(input.policy, request);
  if (policy.decision === 'ExplicitDeny') {
    return { allowed: false, by: 'policy', reason: `${who}: explicitly denied by ${statementName(policy.statement)}` };
  }
  if (policy.decision === 'Allow') {
    return { allowed: true, by: 'policy', reason: `${who}: allowed by ${statementName(policy.statement)}` };
  }
  const operation = input.operation ?? request.action.replace(/^kms:/i, '');
  for (const grant of input.grants) {
    const call = {
      principal: request.principal,
      operation,
      ...(input.encryptionContext ? { encryptionContext: input.encryptionContext } : {}),
      ...(input.newGrant ? { newGrant: input.newGrant } : {}),
    };
    if (grantAllows(grant, call)) {
      return { allowed: true, by: 'grant', reason: `${who}: allowed by grant ${grant.GrantId ?? '(without id)'}` };
    }
  }
  return { allowed: false, by: null, reason: `${who}: no key policy statement or grant allows it` };
}
