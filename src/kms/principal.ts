// Principals: the caller ARNs Keyward accepts and how a principal named in a key policy or a grant
// matches a caller. Shared by policy.ts and grants.ts; re-exported by access.ts.
import { ValidationException } from './errors.js';
import { show } from './validate.js';

// IAM names: letters, digits and + = , . @ _ - (IAM User Guide, "IAM identifiers"); a path is
// zero or more such segments before the name.
const NAME = '[\\w+=,.@-]+';
const PARTITION = '(aws|aws-cn|aws-us-gov)';
const ACCOUNT = '(\\d{12})';
const IAM_ARN = new RegExp(`^arn:${PARTITION}:iam::${ACCOUNT}:(root|user(/${NAME})+|role(/${NAME})+)$`);
const STS_ARN = new RegExp(`^arn:${PARTITION}:sts::${ACCOUNT}:(assumed-role/${NAME}/${NAME}|federated-user/${NAME})$`);
const ROLE_ARN = new RegExp(`^arn:${PARTITION}:iam::${ACCOUNT}:role(?:/${NAME})*/(${NAME})$`);
const ASSUMED_ROLE_ARN = new RegExp(`^arn:${PARTITION}:sts::${ACCOUNT}:assumed-role/(${NAME})/${NAME}$`);
const ROOT_ARN = new RegExp(`^arn:${PARTITION}:iam::${ACCOUNT}:root$`);
const ACCOUNT_ID = /^\d{12}$/;

/**
 * True for a caller principal ARN: `arn:aws:iam::<12 digits>:root`, `…:user/[path/]name`,
 * `…:role/[path/]name`, `arn:aws:sts::<12 digits>:assumed-role/<role>/<session>` or
 * `…:federated-user/<name>` (partitions aws, aws-cn, aws-us-gov).
 */
export function isValidPrincipalArn(arn: string): boolean {
  return typeof arn === 'string' && arn.length <= 2048 && (IAM_ARN.test(arn) || STS_ARN.test(arn));
}

/** @throws ValidationException naming `what` when `arn` is not a valid principal ARN. */
export function assertPrincipalArn(arn: unknown, what = 'principal'): asserts arn is string {
  if (typeof arn !== 'string' || !isValidPrincipalArn(arn)) {
    throw new ValidationException(
      `${what} ${show(arn)} is not a valid principal ARN ` +
        '(arn:aws:iam::<account>:root|user/<name>|role/<name>, or arn:aws:sts::<account>:assumed-role/<role>/<session>)',
    );
  }
}

/** The 12-digit account of a principal ARN. @throws ValidationException for anything else. */
export function callerAccount(principalArn: string): string {
  assertPrincipalArn(principalArn);
  return principalArn.split(':')[4]!;
}

/** The account a policy principal stands for as a whole (`123456789012` or its root ARN), else undefined. */
export function accountOfRootPrincipal(principal: string): string | undefined {
  if (ACCOUNT_ID.test(principal)) return principal;
  return ROOT_ARN.exec(principal)?.[2];
}

/**
 * Whether `principal` (as written in a key policy `{"AWS": …}` or a grant's GranteePrincipal) covers
 * the caller `caller`.
 *
 * Account delegation: in AWS, an account id or `arn:aws:iam::<account>:root` in a key policy delegates
 * to that account's IAM policies. Keyward has no IAM, so such a principal means every principal of that
 * account (root, users, roles, role sessions). Name a user or role ARN to grant less.
 *
 * A role ARN also covers the sessions of that role (`arn:aws:sts::<acct>:assumed-role/<role name>/…`),
 * as it does in AWS; the session ARN carries no role path, so the role is matched by account and name.
 */
export function principalMatches(principal: string, caller: string): boolean {
  if (principal === '*') return true;
  if (principal === caller) return true;
  if (!isValidPrincipalArn(caller)) return false;
  const account = accountOfRootPrincipal(principal);
  if (account !== undefined) return caller.split(':')[4] === account;
  const role = ROLE_ARN.exec(principal);
  const session = ASSUMED_ROLE_ARN.exec(caller);
  return role !== null && session !== null && role[1] === session[1] && role[2] === session[2] && role[3] === session[3];
}
