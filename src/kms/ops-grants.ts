// Grants: CreateGrant, ListGrants, ListRetirableGrants, RetireGrant, RevokeGrant. A grant is stored with
// its key (store grants) and joins the key's cache entry, so every change touches the key: the grantee
// can use a new grant, and no longer a retired or revoked one, from the next call on.
import { randomBytes } from 'node:crypto';
import type { GrantRecord } from '../store/types.js';
import type { Call, Engine } from './engine.js';
import {
  AccessDeniedException, InvalidGrantIdException, InvalidGrantTokenException, InvalidMarkerException, LimitExceededException, NotFoundException,
  ValidationException,
} from './errors.js';
import { grantConditionKeys, mayRetireGrant, validateGrantRequest } from './grants.js';
import { assertPrincipalArn, callerAccount } from './principal.js';
import type * as T from './types.js';
import { grantTokens, listParams, req, show } from './validate.js';

export interface CreateGrantRequest {
  KeyId: string;
  GranteePrincipal: string;
  Operations: string[];
  RetiringPrincipal?: string;
  Constraints?: T.GrantConstraints;
  GrantTokens?: string[];
  Name?: string;
}
export interface CreateGrantResponse {
  GrantToken: string;
  GrantId: string;
}
export interface ListGrantsRequest extends T.ListRequest {
  KeyId: string;
  GrantId?: string;
  GranteePrincipal?: string;
}
export interface ListRetirableGrantsRequest extends T.ListRequest {
  RetiringPrincipal: string;
}
export interface ListGrantsResponse {
  Grants: T.GrantListEntry[];
  Truncated: boolean;
  NextMarker?: string;
}
/** Names a grant by GrantToken, or by KeyId and GrantId. */
export interface RetireGrantRequest {
  GrantToken?: string;
  KeyId?: string;
  GrantId?: string;
}
export interface RevokeGrantRequest {
  KeyId: string;
  GrantId: string;
}

/** GrantRecord.grant: the GrantListEntry with its date in ms (JSON has no Date). */
interface StoredGrant extends Omit<T.GrantListEntry, 'CreationDate'> {
  CreationDate: number;
}

// AWS quotas ("Grants per KMS key", "Grants for a given principal per KMS key").
export const MAX_GRANTS_PER_KEY = 50_000;
export const MAX_GRANTS_PER_GRANTEE = 500;

const GRANT_ID = /^[0-9a-f]{64}$/;
const TOKEN_VERSION = 1;
const TOKEN_NONCE = 16;

/**
 * A grant token names its grant: base64url(version ‖ grant id ‖ random nonce). The nonce makes every
 * CreateGrant's token unique while all tokens of one grant stay interchangeable, as in AWS. A token is
 * an identifier, not a credential: RetireGrant still checks that the caller may retire the grant.
 */
function grantToken(grantId: string): string {
  return Buffer.concat([Buffer.from([TOKEN_VERSION]), Buffer.from(grantId, 'hex'), randomBytes(TOKEN_NONCE)]).toString('base64url');
}

function grantIdOfToken(token: unknown): string {
  if (typeof token !== 'string' || token.length < 1 || token.length > 8192) {
    throw new InvalidGrantTokenException('GrantToken: expected a string of 1 to 8192 characters');
  }
  const raw = /^[A-Za-z0-9_-]+$/.test(token) ? Buffer.from(token, 'base64url') : Buffer.alloc(0);
  if (raw.length !== 1 + 32 + TOKEN_NONCE || raw[0] !== TOKEN_VERSION) throw new InvalidGrantTokenException('GrantToken is not a grant token this engine issued');
  return raw.subarray(1, 33).toString('hex');
}

function grantId(v: unknown): string {
  if (typeof v !== 'string' || !GRANT_ID.test(v)) throw new InvalidGrantIdException(`GrantId ${show(v)}: expected 64 hexadecimal characters`);
  return v;
}

function stored(g: GrantRecord): StoredGrant {
  return g.grant as unknown as StoredGrant;
}

function listEntry(s: StoredGrant): T.GrantListEntry {
  return { ...s, CreationDate: new Date(s.CreationDate) };
}

/** Order-insensitive text of a constraint, so equal constraints written in another key order compare equal. */
function canonicalConstraints(c: T.GrantConstraints | undefined): string {
  if (c === undefined) return '';
  const sorted = (ec: T.EncryptionContext | undefined) => (ec === undefined ? null : Object.entries(ec).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  return JSON.stringify([sorted(c.EncryptionContextSubset), sorted(c.EncryptionContextEquals)]);
}

function sameParameters(g: StoredGrant, r: CreateGrantRequest): boolean {
  const ops = (o: readonly string[]) => [...new Set(o)].sort().join(',');
  return g.GranteePrincipal === r.GranteePrincipal && g.RetiringPrincipal === r.RetiringPrincipal
    && ops(g.Operations) === ops(r.Operations) && canonicalConstraints(g.Constraints) === canonicalConstraints(r.Constraints);
}

/**
 * A field that must be a string when present. Checked here, at the edge, so the format checks after it
 * (principal.ts, grants.ts) only ever test and describe strings: a BigInt or a null-prototype object
 * would make their regex test or JSON message throw a TypeError.
 */
function stringOrAbsent(v: unknown, field: string): void {
  if (v !== undefined && typeof v !== 'string') throw new ValidationException(`${field}: expected a string, got ${show(v)}`);
}

export async function createGrant(e: Engine, call: Call, r: CreateGrantRequest): Promise<CreateGrantResponse> {
  req(r, 'CreateGrant');
  grantTokens(r.GrantTokens);
  stringOrAbsent(r.GranteePrincipal, 'GranteePrincipal');
  stringOrAbsent(r.RetiringPrincipal, 'RetiringPrincipal');
  stringOrAbsent(r.Name, 'Name');
  if (Array.isArray(r.Operations)) r.Operations.forEach((op, i) => stringOrAbsent(op, `Operations[${i}]`));
  if (r.Constraints !== undefined && (typeof r.Constraints !== 'object' || r.Constraints === null || Array.isArray(r.Constraints))) {
    throw new ValidationException('Constraints: expected an object with EncryptionContextSubset or EncryptionContextEquals');
  }
  // The grant limits and the Name check need the key's grants as they are: take the key's lock.
  const entry = await e.resolveForUpdate(call, r.KeyId, { allowAlias: false });
  const m = entry.key.meta;
  validateGrantRequest(r, m);
  // kms:EncryptionContext:* on CreateGrant is the context of the grant's constraint (AWS condition keys).
  const constraintContext = r.Constraints?.EncryptionContextEquals ?? r.Constraints?.EncryptionContextSubset;
  e.authorize(call, entry, 'CreateGrant', grantConditionKeys(r), constraintContext, { Operations: r.Operations, Constraints: r.Constraints });
  e.refuseStates(entry, ['PendingDeletion', 'PendingReplicaDeletion']);
  const grants = entry.grants.map(stored);
  if (r.Name !== undefined) {
    const same = grants.find((g) => g.Name === r.Name && sameParameters(g, r));
    if (same) return { GrantToken: grantToken(same.GrantId), GrantId: same.GrantId };
  }
  if (grants.length >= MAX_GRANTS_PER_KEY) throw new LimitExceededException(`${m.arn} has ${MAX_GRANTS_PER_KEY} grants, the limit`);
  if (grants.filter((g) => g.GranteePrincipal === r.GranteePrincipal).length >= MAX_GRANTS_PER_GRANTEE) {
    throw new LimitExceededException(`${r.GranteePrincipal} has ${MAX_GRANTS_PER_GRANTEE} grants on ${m.arn}, the limit`);
  }
  const id = randomBytes(32).toString('hex');
  const doc: StoredGrant = {
    KeyId: m.arn, GrantId: id, CreationDate: e.now(), GranteePrincipal: r.GranteePrincipal,
    // The grant belongs to the key's account, whoever created it; that account's root may retire it.
    IssuingAccount: `arn:aws:iam::${m.account}:root`, Operations: [...r.Operations],
  };
  if (r.Name !== undefined) doc.Name = r.Name;
  if (r.RetiringPrincipal !== undefined) doc.RetiringPrincipal = r.RetiringPrincipal;
  if (r.Constraints?.EncryptionContextEquals !== undefined) doc.Constraints = { EncryptionContextEquals: { ...r.Constraints.EncryptionContextEquals } };
  if (r.Constraints?.EncryptionContextSubset !== undefined) doc.Constraints = { EncryptionContextSubset: { ...r.Constraints.EncryptionContextSubset } };
  call.mutations.push({ kind: 'putGrant', record: { region: call.region, grantId: id, keyId: m.keyId, grant: doc as unknown as Record<string, unknown> } });
  e.touch(call, call.region, m.keyId);
  return { GrantToken: grantToken(id), GrantId: id };
}

/** One page of grants, in grant id order; the marker is the last id returned. */
function pageOf(grants: StoredGrant[], limit: number, marker: string | undefined): ListGrantsResponse {
  if (marker !== undefined && !GRANT_ID.test(marker)) throw new InvalidMarkerException('Marker is not one this operation returned');
  const sorted = grants.filter((g) => marker === undefined || g.GrantId > marker).sort((a, b) => (a.GrantId < b.GrantId ? -1 : 1));
  const items = sorted.slice(0, limit);
  const out: ListGrantsResponse = { Grants: items.map(listEntry), Truncated: sorted.length > limit };
  if (out.Truncated) out.NextMarker = items[items.length - 1]!.GrantId;
  return out;
}

export async function listGrants(e: Engine, call: Call, r: ListGrantsRequest): Promise<ListGrantsResponse> {
  req(r, 'ListGrants');
  const { limit, marker } = listParams(r, 100, 50);
  const id = r.GrantId === undefined ? undefined : grantId(r.GrantId);
  stringOrAbsent(r.GranteePrincipal, 'GranteePrincipal');
  if (r.GranteePrincipal !== undefined) assertPrincipalArn(r.GranteePrincipal, 'GranteePrincipal');
  const entry = await e.resolve(call, r.KeyId, { allowAlias: false });
  e.authorize(call, entry, 'ListGrants');
  const grants = entry.grants.map(stored).filter((g) => (id === undefined || g.GrantId === id) && (r.GranteePrincipal === undefined || g.GranteePrincipal === r.GranteePrincipal));
  return pageOf(grants, limit, marker);
}

/**
 * The grants of this region whose RetiringPrincipal is the one named. An account-level permission
 * (authorizeAccount); AWS requires the principal to be in the caller's account.
 */
export async function listRetirableGrants(e: Engine, call: Call, r: ListRetirableGrantsRequest): Promise<ListGrantsResponse> {
  req(r, 'ListRetirableGrants');
  const { limit, marker } = listParams(r, 100, 50);
  stringOrAbsent(r.RetiringPrincipal, 'RetiringPrincipal');
  assertPrincipalArn(r.RetiringPrincipal, 'RetiringPrincipal');
  e.authorizeAccount(call, 'ListRetirableGrants');
  if (callerAccount(r.RetiringPrincipal) !== callerAccount(call.principal)) {
    throw new AccessDeniedException(`User: ${call.principal} may only list the retirable grants of principals in its own account`);
  }
  const grants = (await e.store.allGrants(call.region)).map(stored).filter((g) => g.RetiringPrincipal === r.RetiringPrincipal);
  return pageOf(grants, limit, marker);
}

/** The grant a RetireGrant names, with its key resolved (so the audit record names the key). */
async function grantToRetire(e: Engine, call: Call, r: RetireGrantRequest) {
  if (r.GrantToken !== undefined) {
    const id = grantIdOfToken(r.GrantToken);
    if (r.GrantId !== undefined && grantId(r.GrantId) !== id) throw new ValidationException('GrantId does not name the grant of the GrantToken');
    const rec = await e.store.getGrant(call.region, id);
    if (!rec) throw new NotFoundException(`grant ${id} does not exist`);
    const entry = await e.resolve(call, rec.keyId, { allowAlias: false });
    if (r.KeyId !== undefined && (await e.resolve(call, r.KeyId, { allowAlias: false })).key.meta.keyId !== rec.keyId) {
      throw new ValidationException('KeyId does not name the key of the GrantToken');
    }
    return { entry, grant: stored(rec) };
  }
  if (r.KeyId === undefined || r.GrantId === undefined) throw new ValidationException('RetireGrant needs a GrantToken, or both KeyId and GrantId');
  const id = grantId(r.GrantId);
  const entry = await e.resolve(call, r.KeyId, { allowAlias: false });
  const rec = await e.store.getGrant(call.region, id);
  if (!rec || rec.keyId !== entry.key.meta.keyId) throw new NotFoundException(`grant ${id} does not exist on ${entry.key.meta.arn}`);
  return { entry, grant: stored(rec) };
}

/** Deletes a grant. Who may is decided by the grant itself (mayRetireGrant), not by the key policy. */
export async function retireGrant(e: Engine, call: Call, r: RetireGrantRequest): Promise<Record<string, never>> {
  req(r, 'RetireGrant');
  const { entry, grant } = await grantToRetire(e, call, r);
  if (!mayRetireGrant(grant, call.principal)) {
    throw new AccessDeniedException(
      `User: ${call.principal} is not authorized to perform: kms:RetireGrant on grant ${grant.GrantId} of ${entry.key.meta.arn} `
      + '(only its retiring principal, its grantee when the grant allows RetireGrant, or the issuing account may)',
    );
  }
  call.mutations.push({ kind: 'deleteGrant', region: call.region, grantId: grant.GrantId });
  e.touch(call, call.region, entry.key.meta.keyId);
  return {};
}

export async function revokeGrant(e: Engine, call: Call, r: RevokeGrantRequest): Promise<Record<string, never>> {
  req(r, 'RevokeGrant');
  const id = grantId(r.GrantId);
  const entry = await e.resolve(call, r.KeyId, { allowAlias: false });
  e.authorize(call, entry, 'RevokeGrant');
  if (!entry.grants.some((g) => g.grantId === id)) throw new NotFoundException(`grant ${id} does not exist on ${entry.key.meta.arn}`);
  call.mutations.push({ kind: 'deleteGrant', region: call.region, grantId: id });
  e.touch(call, call.region, entry.key.meta.keyId);
  return {};
}
