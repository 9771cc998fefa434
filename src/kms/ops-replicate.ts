// Multi-Region keys: ReplicateKey. A replica is a key of its own in another region (same key id, its own
// ARN, policy, description and tags) that shares the primary's key material: every backing version is
// re-wrapped under the replica region's domain key, so either key decrypts what the other encrypted.
// Rotation of the primary copies each new version to its replicas (ops-rotation addVersion).
import type { Call, Engine } from './engine.js';
import { AlreadyExistsException, KMSInvalidStateException, TagException, UnsupportedOperationException, ValidationException } from './errors.js';
import { keyMetadata, providerSpec, type StoredMeta, type StoredSettings } from './model.js';
import { checkPolicy, validateTags } from './ops-keys.js';
import { defaultKeyPolicy } from './policy.js';
import type * as T from './types.js';
import { optBool, optString, req, show } from './validate.js';

export interface ReplicateKeyRequest {
  KeyId: string;
  ReplicaRegion: string;
  Policy?: string;
  BypassPolicyLockoutSafetyCheck?: boolean;
  Description?: string;
  Tags?: T.Tag[];
}
export interface ReplicateKeyResponse {
  ReplicaKeyMetadata: T.KeyMetadata;
  ReplicaPolicy: string;
  ReplicaTags: T.Tag[];
}

const REGION = /^[a-z]{2}(-[a-z]+)+-\d$/;
const MAX_TAGS = 50;

export async function replicateKey(e: Engine, call: Call, r: ReplicateKeyRequest): Promise<ReplicateKeyResponse> {
  req(r, 'ReplicateKey');
  const region = r.ReplicaRegion;
  if (typeof region !== 'string' || region.length > 32 || !REGION.test(region)) {
    throw new ValidationException(`ReplicaRegion ${show(region)}: expected a region name such as eu-west-1`);
  }
  const description = optString(r.Description, 'Description', 0, 8192) ?? '';
  const bypass = optBool(r.BypassPolicyLockoutSafetyCheck, 'BypassPolicyLockoutSafetyCheck') ?? false;
  const tags = validateTags(r.Tags);
  if (tags.length > MAX_TAGS) throw new TagException(`at most ${MAX_TAGS} tags`);
  const policyParam = optString(r.Policy, 'Policy', 1, 32768);

  const entry = await e.resolveForUpdate(call, r.KeyId, { allowAlias: false });
  e.authorize(call, entry, 'ReplicateKey', { 'kms:ReplicaRegion': region });
  const primary = entry.key;
  const m = primary.meta;
  if (!m.multiRegion || !m.mrk) throw new UnsupportedOperationException(`${m.arn} is not a multi-Region key; only multi-Region primary keys can be replicated`);
  if (m.mrk.primaryRegion !== call.region) {
    throw new UnsupportedOperationException(`${m.arn} is a replica key; replicate its primary key in ${m.mrk.primaryRegion}`);
  }
  if (region === call.region) throw new ValidationException(`ReplicaRegion ${region} is the primary key's own region`);
  e.refuseStates(entry, ['PendingDeletion', 'PendingReplicaDeletion', 'Unavailable']);
  const kcv = primary.settings.kcv;
  if (m.origin === 'EXTERNAL' && kcv === undefined) {
    throw new KMSInvalidStateException(`${m.arn} has never had key material imported; import it before replicating, so every replica can only take the same material`);
  }
  // Creating a key in the replica region is an account permission (IAM kms:CreateKey in AWS).
  e.authorizeAccount(call, 'CreateKey');

  await e.lockKey(call, region, m.keyId);
  if (await e.store.getKey(region, m.keyId)) throw new AlreadyExistsException(`${e.arn(region, m.keyId)} already exists`);
  const arn = e.arn(region, m.keyId);
  let policy: string;
  if (policyParam !== undefined) {
    checkPolicy(call, policyParam, arn, bypass);
    policy = policyParam;
  } else {
    const admins = e.keyAdministrators.length > 0 ? e.keyAdministrators : [call.principal];
    const users = e.keyUsers.length > 0 ? e.keyUsers : [call.principal];
    policy = defaultKeyPolicy({ account: e.account, administrators: admins, users, origin: m.origin, multiRegion: true });
  }
  if (!e.hierarchy.regions().includes(region)) await e.hierarchy.addRegion(region);

  // Replicas removed since (destroyed after their deletion window) drop out of the set.
  const live: string[] = [];
  for (const other of m.mrk.replicaRegions) if (other !== region && (await e.store.getKey(other, m.keyId))) live.push(other);
  const replicaRegions = [...live, region];
  const mrk = { type: 'REPLICA' as const, primaryRegion: call.region, replicaRegions };

  const meta: StoredMeta = {
    keyId: m.keyId, arn, account: m.account, createdAt: e.now(), description, keyUsage: m.keyUsage, keySpec: m.keySpec,
    // A replica of imported material waits for the same material (its check value is the primary's).
    keyState: m.origin === 'EXTERNAL' ? 'PendingImport' : 'Enabled', origin: m.origin, multiRegion: true, mrk,
  };
  const settings: StoredSettings = kcv !== undefined && m.origin === 'EXTERNAL' ? { kcv } : {};
  call.mutations.push({
    kind: 'putKey', record: { region, keyId: m.keyId, metadata: meta as unknown as Record<string, unknown>, policy, settings: settings as Record<string, unknown> },
  });
  if (m.origin === 'AWS_KMS') {
    for (const v of primary.versions) {
      call.mutations.push({ kind: 'putKeyVersion', record: await e.hierarchy.rewrapForRegion(v, providerSpec(m.keySpec), m.account, region) });
    }
  }
  for (const t of tags) call.mutations.push({ kind: 'putTag', record: { region, keyId: m.keyId, tagKey: t.TagKey, tagValue: t.TagValue } });
  e.touch(call, region, m.keyId);

  // Every key of the set lists the same replicas (DescribeKey's MultiRegionConfiguration).
  e.putKey(call, primary, { ...m, mrk: { ...m.mrk, replicaRegions } });
  for (const other of live) {
    await e.lockKey(call, other, m.keyId);
    const sibling = await e.load(other, m.keyId);
    if (sibling?.key.meta.mrk) e.putKey(call, sibling.key, { ...sibling.key.meta, mrk: { ...sibling.key.meta.mrk, replicaRegions } });
  }
  return { ReplicaKeyMetadata: keyMetadata(meta, region, (rg, id) => e.arn(rg, id)), ReplicaPolicy: policy, ReplicaTags: tags };
}
