// Key lifecycle and metadata: CreateKey, DescribeKey, ListKeys, EnableKey, DisableKey,
// ScheduleKeyDeletion, CancelKeyDeletion, Get/PutKeyPolicy, ListKeyPolicies, Tag/UntagResource,
// ListResourceTags. States and transitions follow AWS KMS.
import { randomBytes, randomUUID } from 'node:crypto';
import type { Call, Engine } from './engine.js';
import { callerAccount } from './principal.js';
import {
  KMSInvalidStateException, MalformedPolicyDocumentException, NotFoundException, TagException,
  UnsupportedOperationException, ValidationException,
} from './errors.js';
import { KEY_SPECS, SPEC_USAGES, keyMetadata, providerSpec, type StoredMeta } from './model.js';
import { defaultKeyPolicy, evaluatePolicy, parsePolicy } from './policy.js';
import type * as T from './types.js';
import { listParams, optBool, optInt, optOneOf, optString, req, show } from './validate.js';

const MAX_TAGS = 50;

export function validateTags(tags: unknown): T.Tag[] {
  if (tags === undefined) return [];
  if (!Array.isArray(tags)) throw new TagException('Tags: expected an array of { TagKey, TagValue }');
  for (const t of tags as T.Tag[]) {
    if (typeof t !== 'object' || t === null || typeof t.TagKey !== 'string' || typeof t.TagValue !== 'string') {
      throw new TagException('Tags: each tag needs a string TagKey and TagValue');
    }
    if (t.TagKey.length < 1 || t.TagKey.length > 128) throw new TagException(`TagKey ${JSON.stringify(t.TagKey)}: length must be 1..128`);
    if (t.TagValue.length > 256) throw new TagException(`TagValue of ${JSON.stringify(t.TagKey)}: length must be 0..256`);
    if (t.TagKey.toLowerCase().startsWith('aws:')) throw new TagException(`TagKey ${JSON.stringify(t.TagKey)}: the aws: prefix is reserved`);
  }
  return tags as T.Tag[];
}

/** The lockout safety check of AWS: a new policy must still let the caller change the policy. */
export function checkPolicy(call: Call, policy: string, arn: string, bypass: boolean): void {
  const doc = parsePolicy(policy);
  if (bypass) return;
  const account = callerAccount(call.principal);
  const context = { 'kms:CallerAccount': account, 'aws:PrincipalArn': call.principal, 'aws:PrincipalAccount': account };
  if (evaluatePolicy(doc, { principal: call.principal, action: 'kms:PutKeyPolicy', resource: arn, context }) !== 'Allow') {
    throw new MalformedPolicyDocumentException(
      `the new key policy will not allow you to update the key policy in the future (set BypassPolicyLockoutSafetyCheck to override)`,
    );
  }
}

export async function createKey(e: Engine, call: Call, r: T.CreateKeyRequest = {}): Promise<{ KeyMetadata: T.KeyMetadata }> {
  req(r, 'CreateKey');
  e.authorizeAccount(call, 'CreateKey');
  if (r.KeySpec !== undefined && r.CustomerMasterKeySpec !== undefined) throw new ValidationException('specify KeySpec or CustomerMasterKeySpec, not both');
  const spec = optOneOf(r.KeySpec ?? r.CustomerMasterKeySpec, 'KeySpec', KEY_SPECS) ?? 'SYMMETRIC_DEFAULT';
  const usage = optOneOf(r.KeyUsage, 'KeyUsage', ['ENCRYPT_DECRYPT', 'SIGN_VERIFY', 'GENERATE_VERIFY_MAC'] as const) ?? 'ENCRYPT_DECRYPT';
  if (!SPEC_USAGES[spec].includes(usage)) throw new ValidationException(`KeyUsage ${usage} is not valid for KeySpec ${spec}`);
  const origin = optOneOf(r.Origin, 'Origin', ['AWS_KMS', 'EXTERNAL', 'AWS_CLOUDHSM'] as const) ?? 'AWS_KMS';
  if (origin === 'EXTERNAL' && spec !== 'SYMMETRIC_DEFAULT' && !spec.startsWith('HMAC_')) {
    throw new UnsupportedOperationException(`Origin EXTERNAL is supported for SYMMETRIC_DEFAULT and HMAC keys, not ${spec}`);
  }
  const description = optString(r.Description, 'Description', 0, 8192) ?? '';
  const multiRegion = optBool(r.MultiRegion, 'MultiRegion') ?? false;
  // Keyward's HSM key store is the one HSM (or cluster) the engine was opened with, so Origin alone
  // selects it; AWS's CustomKeyStoreId would name it, and there is only one.
  if (origin === 'AWS_CLOUDHSM') {
    if (!e.hierarchy.holdsTokenKeys) throw new UnsupportedOperationException('Origin AWS_CLOUDHSM needs an HSM-backed Keyward (opened with an HSM config); this one keeps keys in software');
    if (multiRegion) throw new UnsupportedOperationException('a key held in the HSM (Origin AWS_CLOUDHSM) cannot be a multi-Region key');
  }
  const bypass = optBool(r.BypassPolicyLockoutSafetyCheck, 'BypassPolicyLockoutSafetyCheck') ?? false;
  const tags = validateTags(r.Tags);
  if (tags.length > MAX_TAGS) throw new TagException(`at most ${MAX_TAGS} tags`);
  // A region this store has not served yet gets its region key on its first key, as Keyward.open does.
  if (!e.hierarchy.regions().includes(call.region)) await e.hierarchy.addRegion(call.region);
  const keyId = multiRegion ? `mrk-${randomBytes(16).toString('hex')}` : randomUUID();
  call.keyId = keyId;
  const arn = e.arn(call.region, keyId);
  let policy: string;
  if (r.Policy !== undefined) {
    policy = optString(r.Policy, 'Policy', 1, 32768)!;
    checkPolicy(call, policy, arn, bypass);
  } else {
    const admins = e.keyAdministrators.length > 0 ? e.keyAdministrators : [call.principal];
    const users = e.keyUsers.length > 0 ? e.keyUsers : [call.principal];
    policy = defaultKeyPolicy({ account: e.account, administrators: admins, users, origin, multiRegion });
  }
  const meta: StoredMeta = {
    keyId, arn, account: e.account, createdAt: e.now(), description, keyUsage: usage, keySpec: spec,
    keyState: origin === 'EXTERNAL' ? 'PendingImport' : 'Enabled', origin, multiRegion,
  };
  if (multiRegion) meta.mrk = { type: 'PRIMARY', primaryRegion: call.region, replicaRegions: [] };
  call.mutations.push({
    kind: 'putKey', record: { region: call.region, keyId, metadata: meta as unknown as Record<string, unknown>, policy, settings: {} },
  });
  if (origin !== 'EXTERNAL') {
    call.mutations.push({
      kind: 'putKeyVersion',
      record: await e.hierarchy.newBackingKey({
        region: call.region, domain: e.account, keyId, version: 1, spec: providerSpec(spec), rotationType: 'CREATE', inHsm: origin === 'AWS_CLOUDHSM',
      }),
    });
  }
  for (const t of tags) call.mutations.push({ kind: 'putTag', record: { region: call.region, keyId, tagKey: t.TagKey, tagValue: t.TagValue } });
  e.touch(call, call.region, keyId);
  return { KeyMetadata: keyMetadata(meta, call.region, (rg, id) => e.arn(rg, id)) };
}

export async function describeKey(e: Engine, call: Call, r: T.KeyIdRequest & { GrantTokens?: string[] }): Promise<{ KeyMetadata: T.KeyMetadata }> {
  req(r, 'DescribeKey');
  const entry = await e.resolve(call, r.KeyId);
  e.authorize(call, entry, 'DescribeKey');
  return { KeyMetadata: keyMetadata(entry.key.meta, call.region, (rg, id) => e.arn(rg, id)) };
}

export async function listKeys(e: Engine, call: Call, r: T.ListRequest = {}): Promise<T.ListKeysResponse> {
  req(r, 'ListKeys');
  const { limit, marker } = listParams(r);
  e.authorizeAccount(call, 'ListKeys');
  const page = await e.store.listKeys(call.region, limit, marker);
  const out: T.ListKeysResponse = {
    Keys: page.items.map((k) => ({ KeyId: k.keyId, KeyArn: e.arn(call.region, k.keyId) })),
    Truncated: page.nextMarker !== undefined,
  };
  if (page.nextMarker !== undefined) out.NextMarker = page.nextMarker;
  return out;
}

async function setEnabled(e: Engine, call: Call, r: T.KeyIdRequest, enable: boolean): Promise<Record<string, never>> {
  const op = enable ? 'EnableKey' : 'DisableKey';
  req(r, op);
  const fresh = await e.resolveForUpdate(call, r.KeyId);
  e.authorize(call, fresh, op);
  e.refuseStates(fresh, ['PendingDeletion', 'PendingImport', 'PendingReplicaDeletion', 'Unavailable']);
  e.putKey(call, fresh.key, { ...fresh.key.meta, keyState: enable ? 'Enabled' : 'Disabled' });
  return {};
}

export const enableKey = (e: Engine, call: Call, r: T.KeyIdRequest) => setEnabled(e, call, r, true);
export const disableKey = (e: Engine, call: Call, r: T.KeyIdRequest) => setEnabled(e, call, r, false);

const DAY = 86_400_000;

export async function scheduleKeyDeletion(e: Engine, call: Call, r: T.ScheduleKeyDeletionRequest): Promise<T.ScheduleKeyDeletionResponse> {
  req(r, 'ScheduleKeyDeletion');
  const days = optInt(r.PendingWindowInDays, 'PendingWindowInDays', 7, 30) ?? 30;
  const entry = await e.resolveForUpdate(call, r.KeyId);
  e.authorize(call, entry, 'ScheduleKeyDeletion');
  const k = entry.key;
  e.refuseStates(entry, ['PendingDeletion', 'PendingReplicaDeletion']);
  if (k.meta.mrk && k.meta.mrk.primaryRegion === call.region && k.meta.mrk.replicaRegions.length > 0) {
    throw new UnsupportedOperationException(`${k.meta.arn} is a primary multi-Region key with replicas; delete its replicas first`);
  }
  const deletionDate = e.now() + days * DAY;
  e.putKey(call, k, { ...k.meta, keyState: 'PendingDeletion', deletionDate, pendingWindowDays: days });
  return { KeyId: k.meta.arn, DeletionDate: new Date(deletionDate), KeyState: 'PendingDeletion', PendingWindowInDays: days };
}

export async function cancelKeyDeletion(e: Engine, call: Call, r: T.KeyIdRequest): Promise<{ KeyId: string }> {
  req(r, 'CancelKeyDeletion');
  const entry = await e.resolveForUpdate(call, r.KeyId);
  e.authorize(call, entry, 'CancelKeyDeletion');
  const k = entry.key;
  if (k.meta.keyState !== 'PendingDeletion') throw new KMSInvalidStateException(`${k.meta.arn} is not pending deletion.`);
  // AWS leaves a key Disabled after cancellation, or PendingImport when it has no key material.
  const { deletionDate: _d, pendingWindowDays: _p, ...rest } = k.meta;
  e.putKey(call, k, { ...rest, keyState: k.versions.length > 0 ? 'Disabled' : 'PendingImport' });
  return { KeyId: k.meta.arn };
}

function policyName(v: unknown): void {
  if (v !== undefined && v !== 'default') throw new NotFoundException(`policy ${show(v)} does not exist; the only policy name is 'default'`);
}

export async function getKeyPolicy(e: Engine, call: Call, r: T.KeyIdRequest & { PolicyName?: string }): Promise<{ Policy: string; PolicyName: string }> {
  req(r, 'GetKeyPolicy');
  policyName(r.PolicyName);
  const entry = await e.resolve(call, r.KeyId, { allowAlias: false });
  e.authorize(call, entry, 'GetKeyPolicy');
  return { Policy: entry.key.record.policy, PolicyName: 'default' };
}

export async function putKeyPolicy(
  e: Engine, call: Call, r: T.KeyIdRequest & { PolicyName?: string; Policy: string; BypassPolicyLockoutSafetyCheck?: boolean },
): Promise<Record<string, never>> {
  req(r, 'PutKeyPolicy');
  policyName(r.PolicyName);
  const policy = optString(r.Policy, 'Policy', 1, 32768);
  if (policy === undefined) throw new ValidationException('Policy is required');
  const bypass = optBool(r.BypassPolicyLockoutSafetyCheck, 'BypassPolicyLockoutSafetyCheck') ?? false;
  const entry = await e.resolveForUpdate(call, r.KeyId, { allowAlias: false });
  e.authorize(call, entry, 'PutKeyPolicy');
  e.refuseStates(entry, ['PendingReplicaDeletion', 'Unavailable']);
  checkPolicy(call, policy, entry.key.meta.arn, bypass);
  e.putKey(call, entry.key, entry.key.meta, entry.key.settings, policy);
  return {};
}

export async function listKeyPolicies(e: Engine, call: Call, r: T.KeyIdRequest): Promise<{ PolicyNames: string[]; Truncated: boolean }> {
  req(r, 'ListKeyPolicies');
  const entry = await e.resolve(call, r.KeyId, { allowAlias: false });
  e.authorize(call, entry, 'ListKeyPolicies');
  return { PolicyNames: ['default'], Truncated: false };
}

export async function tagResource(e: Engine, call: Call, r: T.KeyIdRequest & { Tags: T.Tag[] }): Promise<Record<string, never>> {
  req(r, 'TagResource');
  const tags = validateTags(r.Tags);
  if (tags.length === 0) throw new ValidationException('Tags: at least one tag is required');
  const entry = await e.resolve(call, r.KeyId, { allowAlias: false });
  e.authorize(call, entry, 'TagResource');
  e.refuseStates(entry, ['PendingDeletion', 'PendingReplicaDeletion']);
  const existing = await e.store.tags(call.region, entry.key.meta.keyId);
  const keys = new Set([...existing.map((t) => t.tagKey), ...tags.map((t) => t.TagKey)]);
  if (keys.size > MAX_TAGS) throw new TagException(`a key has at most ${MAX_TAGS} tags`);
  for (const t of tags) call.mutations.push({ kind: 'putTag', record: { region: call.region, keyId: entry.key.meta.keyId, tagKey: t.TagKey, tagValue: t.TagValue } });
  return {};
}

export async function untagResource(e: Engine, call: Call, r: T.KeyIdRequest & { TagKeys: string[] }): Promise<Record<string, never>> {
  req(r, 'UntagResource');
  if (!Array.isArray(r.TagKeys) || r.TagKeys.length === 0 || r.TagKeys.some((k) => typeof k !== 'string' || k.length < 1 || k.length > 128)) {
    throw new ValidationException('TagKeys: expected a non-empty array of tag keys (1..128 characters)');
  }
  const entry = await e.resolve(call, r.KeyId, { allowAlias: false });
  e.authorize(call, entry, 'UntagResource');
  e.refuseStates(entry, ['PendingDeletion', 'PendingReplicaDeletion']);
  for (const tagKey of r.TagKeys) call.mutations.push({ kind: 'deleteTag', region: call.region, keyId: entry.key.meta.keyId, tagKey });
  return {};
}

export async function listResourceTags(e: Engine, call: Call, r: T.KeyIdRequest & T.ListRequest): Promise<{ Tags: T.Tag[]; Truncated: boolean; NextMarker?: string }> {
  req(r, 'ListResourceTags');
  const { limit, marker } = listParams(r, 50, 50);
  const entry = await e.resolve(call, r.KeyId, { allowAlias: false });
  e.authorize(call, entry, 'ListResourceTags');
  const all = (await e.store.tags(call.region, entry.key.meta.keyId)).sort((a, b) => (a.tagKey < b.tagKey ? -1 : a.tagKey > b.tagKey ? 1 : 0));
  let start = 0;
  if (marker !== undefined) {
    start = Number.parseInt(marker, 10);
    if (!(start >= 0 && start <= all.length) || String(start) !== marker) throw new ValidationException('Marker is not one this operation returned');
  }
  const items = all.slice(start, start + limit).map((t) => ({ TagKey: t.tagKey, TagValue: t.tagValue }));
  const out: { Tags: T.Tag[]; Truncated: boolean; NextMarker?: string } = { Tags: items, Truncated: start + limit < all.length };
  if (out.Truncated) out.NextMarker = String(start + limit);
  return out;
}

