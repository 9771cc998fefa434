// The arguments of Store.commit, checked the same way by every store before a unit is queued.
import { validateAuditEntry } from './audit-chain.js';
import { StoreStateError, type AuditEntry, type Mutation } from './types.js';

const MUTATION_KINDS = new Set<Mutation['kind']>([
  'putMeta', 'putDomainKey', 'putKey', 'destroyKey', 'putKeyVersion', 'deleteKeyVersions', 'putAlias', 'deleteAlias',
  'putGrant', 'deleteGrant', 'putTag', 'deleteTag', 'putImportToken', 'deleteImportToken',
]);

/**
 * @throws StoreStateError for a closed store or one without its audit MAC yet; TypeError for a mutation of
 * unknown kind; the audit chain's errors for a malformed audit entry
 */
export function checkCommitArgs(closed: boolean, hasMac: boolean, mutations: readonly Mutation[], audit: AuditEntry): void {
  if (closed) throw new StoreStateError('the store is closed');
  if (!hasMac) throw new StoreStateError('commit() before setAuditMac(): the audit chain has no MAC yet');
  if (!Array.isArray(mutations)) throw new TypeError('commit expects an array of mutations');
  mutations.forEach((m, i) => {
    if (typeof m !== 'object' || m === null || !MUTATION_KINDS.has(m.kind)) {
      throw new TypeError(`mutation ${i} has an unknown kind: ${String((m as { kind?: unknown } | null)?.kind)}`);
    }
  });
  validateAuditEntry(audit);
}
