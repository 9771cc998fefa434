// Key rotation: EnableKeyRotation, DisableKeyRotation, GetKeyRotationStatus, RotateKeyOnDemand,
// ListKeyRotations, and the automatic rotation the maintenance sweep runs. Rotation adds a backing
// version; every older version keeps decrypting (blobs name their version). A multi-Region primary's new
// version is copied to its replicas in the same commit, so replicas keep decrypting what it encrypts.
import type { Call, Engine } from './engine.js';
import { DisabledException, LimitExceededException, UnsupportedOperationException, ValidationException } from './errors.js';
import { currentVersion, type LoadedKey } from './model.js';
import type * as T from './types.js';
import { listParams, optInt, req } from './validate.js';

const DAY = 86_400_000;
const DEFAULT_PERIOD_DAYS = 365;
const MAX_ON_DEMAND = 10;

function requireRotatable(k: LoadedKey): void {
  const m = k.meta;
  // Keys held in the HSM rotate too (AWS does not rotate custom key store keys): each version is its own token key.
  if (m.keySpec !== 'SYMMETRIC_DEFAULT' || m.origin === 'EXTERNAL') {
    throw new UnsupportedOperationException(`${m.arn}: only symmetric keys with generated (AWS_KMS or AWS_CLOUDHSM) key material rotate (this is ${m.keySpec}, ${m.origin})`);
  }
  if (m.mrk && m.mrk.type === 'REPLICA') throw new UnsupportedOperationException(`${m.arn} is a replica; rotate its primary key`);
}

/** Queues a new backing version (and its replica copies) on the call. */
export async function addVersion(e: Engine, call: Call, k: LoadedKey, rotationType: 'AUTOMATIC' | 'ON_DEMAND'): Promise<void> {
  const version = (currentVersion(k)?.version ?? 0) + 1;
  const rec = await e.hierarchy.newBackingKey({
    region: k.region, domain: k.meta.account, keyId: k.meta.keyId, version, spec: 'AES_256', rotationType, inHsm: k.meta.origin === 'AWS_CLOUDHSM',
  });
  call.mutations.push({ kind: 'putKeyVersion', record: rec });
  for (const region of k.meta.mrk?.replicaRegions ?? []) {
    call.mutations.push({ kind: 'putKeyVersion', record: await e.hierarchy.rewrapForRegion(rec, 'AES_256', k.meta.account, region) });
    e.touch(call, region, k.meta.keyId);
  }
  e.touch(call, k.region, k.meta.keyId);
}

export async function enableKeyRotation(e: Engine, call: Call, r: T.KeyIdRequest & { RotationPeriodInDays?: number }): Promise<Record<string, never>> {
  req(r, 'EnableKeyRotation');
  const days = optInt(r.RotationPeriodInDays, 'RotationPeriodInDays', 90, 2560) ?? DEFAULT_PERIOD_DAYS;
  const entry = await e.resolveForUpdate(call, r.KeyId, { allowAlias: false });
  e.authorize(call, entry, 'EnableKeyRotation');
  if (entry.key.meta.keyState === 'Disabled') throw new DisabledException(`${entry.key.meta.arn} is disabled.`);
  e.refuseStates(entry, ['PendingDeletion', 'PendingImport', 'PendingReplicaDeletion', 'Unavailable']);
  requireRotatable(entry.key);
  const k = entry.key;
  e.putKey(call, k, k.meta, { ...k.settings, rotation: { enabled: true, periodDays: days, nextRotation: e.now() + days * DAY } });
  return {};
}

export async function disableKeyRotation(e: Engine, call: Call, r: T.KeyIdRequest): Promise<Record<string, never>> {
  req(r, 'DisableKeyRotation');
  const entry = await e.resolveForUpdate(call, r.KeyId, { allowAlias: false });
  e.authorize(call, entry, 'DisableKeyRotation');
  if (entry.key.meta.keyState === 'Disabled') throw new DisabledException(`${entry.key.meta.arn} is disabled.`);
  e.refuseStates(entry, ['PendingDeletion', 'PendingImport', 'PendingReplicaDeletion', 'Unavailable']);
  requireRotatable(entry.key);
  const k = entry.key;
  const periodDays = k.settings.rotation?.periodDays ?? DEFAULT_PERIOD_DAYS;
  e.putKey(call, k, k.meta, { ...k.settings, rotation: { enabled: false, periodDays } });
  return {};
}

export async function getKeyRotationStatus(e: Engine, call: Call, r: T.KeyIdRequest): Promise<T.KeyRotationStatus> {
  req(r, 'GetKeyRotationStatus');
  const entry = await e.resolve(call, r.KeyId, { allowAlias: false });
  e.authorize(call, entry, 'GetKeyRotationStatus');
  e.refuseStates(entry, ['PendingImport', 'Unavailable']);
  const { rotation, lastOnDemandRotation } = entry.key.settings;
  const out: T.KeyRotationStatus = { KeyId: entry.key.meta.arn, KeyRotationEnabled: rotation?.enabled ?? false };
  if (rotation?.enabled) {
    out.RotationPeriodInDays = rotation.periodDays;
    if (rotation.nextRotation !== undefined) out.NextRotationDate = new Date(rotation.nextRotation);
  }
  if (lastOnDemandRotation !== undefined) out.OnDemandRotationStartDate = new Date(lastOnDemandRotation);
  return out;
}

export async function rotateKeyOnDemand(e: Engine, call: Call, r: T.KeyIdRequest): Promise<{ KeyId: string }> {
  req(r, 'RotateKeyOnDemand');
  const entry = await e.resolveForUpdate(call, r.KeyId, { allowAlias: false });
  e.authorize(call, entry, 'RotateKeyOnDemand');
  e.requireEnabled(entry);
  requireRotatable(entry.key);
  const k = entry.key;
  const count = k.settings.onDemandRotations ?? 0;
  if (count >= MAX_ON_DEMAND) throw new LimitExceededException(`${k.meta.arn} has been rotated on demand ${MAX_ON_DEMAND} times, the limit`);
  await addVersion(e, call, k, 'ON_DEMAND');
  e.putKey(call, k, k.meta, { ...k.settings, onDemandRotations: count + 1, lastOnDemandRotation: e.now() });
  return { KeyId: k.meta.arn };
}

export async function listKeyRotations(
  e: Engine, call: Call, r: T.KeyIdRequest & T.ListRequest,
): Promise<{ Rotations: T.RotationsListEntry[]; Truncated: boolean; NextMarker?: string }> {
  req(r, 'ListKeyRotations');
  const { limit, marker } = listParams(r, 1000, 100);
  const entry = await e.resolve(call, r.KeyId, { allowAlias: false });
  e.authorize(call, entry, 'ListKeyRotations');
  requireRotatable(entry.key);
  const rotations = entry.key.versions
    .filter((v) => v.rotationType === 'AUTOMATIC' || v.rotationType === 'ON_DEMAND')
    .sort((a, b) => a.version - b.version)
    .map((v) => ({ KeyId: entry.key.meta.arn, RotationDate: new Date(v.createdAt), RotationType: v.rotationType as 'AUTOMATIC' | 'ON_DEMAND' }));
  let start = 0;
  if (marker !== undefined) {
    start = Number.parseInt(marker, 10);
    if (String(start) !== marker || start < 0 || start > rotations.length) throw new ValidationException('Marker is not one this operation returned');
  }
  const out: { Rotations: T.RotationsListEntry[]; Truncated: boolean; NextMarker?: string } = {
    Rotations: rotations.slice(start, start + limit), Truncated: start + limit < rotations.length,
  };
  if (out.Truncated) out.NextMarker = String(start + limit);
  return out;
}

/** The sweep's automatic rotation of one key whose date has come; audited as RotateKey by the system. */
export async function rotateIfDue(e: Engine, call: Call, k: LoadedKey): Promise<boolean> {
  const rot = k.settings.rotation;
  if (!rot?.enabled || rot.nextRotation === undefined || rot.nextRotation > e.now() || k.meta.keyState !== 'Enabled') return false;
  await addVersion(e, call, k, 'AUTOMATIC');
  e.putKey(call, k, k.meta, { ...k.settings, rotation: { ...rot, nextRotation: e.now() + rot.periodDays * DAY } });
  return true;
}
