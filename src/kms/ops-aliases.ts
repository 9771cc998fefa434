// Aliases: CreateAlias, UpdateAlias, DeleteAlias, ListAliases. An alias names one key in one region and
// resolves wherever a KeyId is accepted (engine.resolve).
import type { Call, Engine } from './engine.js';
import { isAliasName } from './engine.js';
import { AlreadyExistsException, InvalidAliasNameException, NotFoundException, ValidationException } from './errors.js';
import type * as T from './types.js';
import { listParams, req, show } from './validate.js';

function aliasName(v: unknown): string {
  if (typeof v !== 'string' || !isAliasName(v)) {
    throw new InvalidAliasNameException(`AliasName ${show(v)}: expected alias/ followed by 1 to 250 of [a-zA-Z0-9/_-]`);
  }
  if (v.startsWith('alias/aws/')) throw new InvalidAliasNameException(`AliasName ${v}: the alias/aws/ prefix is reserved for AWS managed keys`);
  return v;
}

export async function createAlias(e: Engine, call: Call, r: { AliasName: string; TargetKeyId: string }): Promise<Record<string, never>> {
  req(r, 'CreateAlias');
  const name = aliasName(r.AliasName);
  const entry = await e.resolve(call, r.TargetKeyId, { allowAlias: false });
  e.authorize(call, entry, 'CreateAlias');
  e.refuseStates(entry, ['PendingDeletion', 'PendingReplicaDeletion']);
  if (await e.store.getAlias(call.region, name)) throw new AlreadyExistsException(`an alias with the name ${e.aliasArn(call.region, name)} already exists`);
  const now = e.now();
  call.mutations.push({
    kind: 'putAlias', mustNotExist: true, record: { region: call.region, aliasName: name, keyId: entry.key.meta.keyId, createdAt: now, updatedAt: now },
  });
  return {};
}

export async function updateAlias(e: Engine, call: Call, r: { AliasName: string; TargetKeyId: string }): Promise<Record<string, never>> {
  req(r, 'UpdateAlias');
  const name = aliasName(r.AliasName);
  const alias = await e.store.getAlias(call.region, name);
  if (!alias) throw new NotFoundException(`alias ${e.aliasArn(call.region, name)} is not found`);
  const from = await e.resolve(call, alias.keyId, { allowAlias: false });
  e.authorize(call, from, 'UpdateAlias');
  const to = await e.resolve(call, r.TargetKeyId, { allowAlias: false });
  e.authorize(call, to, 'UpdateAlias');
  e.refuseStates(to, ['PendingDeletion', 'PendingReplicaDeletion']);
  const a = from.key.meta;
  const b = to.key.meta;
  const kind = (m: typeof a) => (m.keySpec === 'SYMMETRIC_DEFAULT' ? 'SYMMETRIC' : m.keySpec.startsWith('HMAC_') ? 'HMAC' : 'ASYMMETRIC');
  if (a.keyUsage !== b.keyUsage || kind(a) !== kind(b)) {
    throw new ValidationException(`an alias can only move to a key of the same type and usage (${kind(a)} ${a.keyUsage}, not ${kind(b)} ${b.keyUsage})`);
  }
  call.mutations.push({ kind: 'putAlias', mustNotExist: false, record: { ...alias, keyId: b.keyId, updatedAt: e.now() } });
  return {};
}

export async function deleteAlias(e: Engine, call: Call, r: { AliasName: string }): Promise<Record<string, never>> {
  req(r, 'DeleteAlias');
  const name = aliasName(r.AliasName);
  const alias = await e.store.getAlias(call.region, name);
  if (!alias) throw new NotFoundException(`alias ${e.aliasArn(call.region, name)} is not found`);
  const entry = await e.resolve(call, alias.keyId, { allowAlias: false });
  e.authorize(call, entry, 'DeleteAlias');
  call.mutations.push({ kind: 'deleteAlias', region: call.region, aliasName: name });
  return {};
}

export async function listAliases(e: Engine, call: Call, r: T.ListRequest & { KeyId?: string } = {}): Promise<T.ListAliasesResponse> {
  req(r, 'ListAliases');
  const { limit, marker } = listParams(r, 100, 50);
  e.authorizeAccount(call, 'ListAliases');
  let keyId: string | undefined;
  if (r.KeyId !== undefined) keyId = (await e.resolve(call, r.KeyId, { allowAlias: false })).key.meta.keyId;
  const page = await e.store.listAliases(call.region, keyId, limit, marker);
  const out: T.ListAliasesResponse = {
    Aliases: page.items.map((a) => ({
      AliasName: a.aliasName, AliasArn: e.aliasArn(call.region, a.aliasName), TargetKeyId: a.keyId,
      CreationDate: new Date(a.createdAt), LastUpdatedDate: new Date(a.updatedAt),
    })),
    Truncated: page.nextMarker !== undefined,
  };
  if (page.nextMarker !== undefined) out.NextMarker = page.nextMarker;
  return out;
}
