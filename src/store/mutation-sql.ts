// How a Mutation is written, the same for both stores: which of their statements (SQLite's prepared ones and
// PostgreSQL's texts carry the same names) and its arguments in order; and the typed error for a mutation the
// database refused on a constraint.
import { StoreConflictError, StoreReferenceError, type Mutation } from './types.js';

export type WriteStatement =
  | 'putMeta' | 'putDomainKey' | 'putKey' | 'destroyKey' | 'putKeyVersion' | 'deleteKeyVersions' | 'putAlias' | 'insertAlias'
  | 'deleteAlias' | 'putGrant' | 'deleteGrant' | 'putTag' | 'deleteTag' | 'putImportToken' | 'deleteImportToken';

/** The statement that writes m and its arguments; `bytes` converts byte values to what the driver binds. */
export function writeOf(m: Mutation, bytes: (b: Uint8Array) => unknown): { statement: WriteStatement; args: unknown[] } {
  switch (m.kind) {
    case 'putMeta':
      return { statement: 'putMeta', args: [m.name, bytes(m.value)] };
    case 'putDomainKey': {
      const r = m.record;
      return { statement: 'putDomainKey', args: [r.region, r.domain, r.version, bytes(r.token), r.createdAt] };
    }
    case 'putKey': {
      const r = m.record;
      return { statement: 'putKey', args: [r.region, r.keyId, JSON.stringify(r.metadata), r.policy, JSON.stringify(r.settings)] };
    }
    case 'destroyKey':
      return { statement: 'destroyKey', args: [m.region, m.keyId] };
    case 'putKeyVersion': {
      const r = m.record;
      return { statement: 'putKeyVersion', args: [r.region, r.keyId, r.version, r.domainVersion, bytes(r.ekt), r.createdAt, r.rotationType] };
    }
    case 'deleteKeyVersions':
      return { statement: 'deleteKeyVersions', args: [m.region, m.keyId] };
    case 'putAlias': {
      const r = m.record;
      return { statement: m.mustNotExist ? 'insertAlias' : 'putAlias', args: [r.region, r.aliasName, r.keyId, r.createdAt, r.updatedAt] };
    }
    case 'deleteAlias':
      return { statement: 'deleteAlias', args: [m.region, m.aliasName] };
    case 'putGrant': {
      const r = m.record;
      return { statement: 'putGrant', args: [r.region, r.grantId, r.keyId, JSON.stringify(r.grant)] };
    }
    case 'deleteGrant':
      return { statement: 'deleteGrant', args: [m.region, m.grantId] };
    case 'putTag': {
      const r = m.record;
      return { statement: 'putTag', args: [r.region, r.keyId, r.tagKey, r.tagValue] };
    }
    case 'deleteTag':
      return { statement: 'deleteTag', args: [m.region, m.keyId, m.tagKey] };
    case 'putImportToken': {
      const r = m.record;
      return { statement: 'putImportToken', args: [r.region, r.importToken, r.keyId, bytes(r.wrappedPrivateKey), JSON.stringify(r.params), r.expiresAt] };
    }
    case 'deleteImportToken':
      return { statement: 'deleteImportToken', args: [m.region, m.importToken] };
  }
}

/**
 * The typed error for m refused on a constraint: a row naming a key that does not exist ('reference':
 * StoreReferenceError), or a domain key version or a must-not-exist alias that exists ('unique':
 * StoreConflictError). undefined when the refusal means neither (the driver's error then stands).
 */
export function constraintError(m: Mutation, violation: 'reference' | 'unique', cause: unknown): Error | undefined {
  if (violation === 'reference') {
    const ref = 'record' in m ? m.record : undefined;
    const keyId = ref && 'keyId' in ref ? ref.keyId : '?';
    return new StoreReferenceError(`${m.kind}: key ${keyId} does not exist in region ${ref?.region ?? '?'}`, { cause });
  }
  if (m.kind === 'putDomainKey') {
    const r = m.record;
    return new StoreConflictError(`domain key ${r.region}/${r.domain} version ${r.version} already exists`, { cause });
  }
  if (m.kind === 'putAlias' && m.mustNotExist) {
    return new StoreConflictError(`alias ${m.record.aliasName} already exists in region ${m.record.region}`, { cause });
  }
  return undefined;
}
