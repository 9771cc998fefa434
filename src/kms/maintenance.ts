// Scheduled work, run on open and then periodically: keys past their deletion date are destroyed,
// automatic rotations that are due happen, imported key material past ValidTo is deleted, and domain
// keys older than their period rotate (re-wrapping CMK tokens). Each change is its own audited call by
// the system principal, so a crash between two of them loses nothing that was acknowledged.
import type { Engine } from './engine.js';
import type { StoredMeta } from './model.js';
import { rotateIfDue } from './ops-rotation.js';

export async function maintain(e: Engine, system: string): Promise<void> {
  const now = e.now();
  for (const rec of await e.store.allKeys()) {
    const meta = rec.metadata as unknown as StoredMeta;
    const region = rec.region;
    if (meta.keyState === 'PendingDeletion' && (meta.deletionDate ?? Infinity) <= now) {
      const entry = await e.load(region, meta.keyId);
      if (entry) await e.destroyKey(entry.key);
      continue;
    }
    const rotation = (rec.settings as { rotation?: { enabled: boolean; nextRotation?: number } }).rotation;
    if (rotation?.enabled && (rotation.nextRotation ?? Infinity) <= now && meta.keyState === 'Enabled') {
      await e.run(system, 'RotateKey', region, async (call) => {
        call.keyId = meta.keyId;
        await e.lockKey(call, region, meta.keyId);
        const entry = await e.load(region, meta.keyId);
        if (entry) await rotateIfDue(e, call, entry.key);
      });
    }
    if (meta.origin === 'EXTERNAL' && meta.validTo !== undefined && meta.validTo <= now && meta.keyState !== 'PendingImport' && meta.keyState !== 'PendingDeletion') {
      await e.run(system, 'DeleteExpiredKeyMaterial', region, async (call) => {
        call.keyId = meta.keyId;
        await e.lockKey(call, region, meta.keyId);
        const entry = await e.load(region, meta.keyId);
        if (!entry) return;
        const m = entry.key.meta;
        if (m.validTo === undefined || m.validTo > e.now() || m.keyState === 'PendingImport' || m.keyState === 'PendingDeletion') return;
        call.mutations.push({ kind: 'deleteKeyVersions', region, keyId: m.keyId });
        const { validTo: _v, ...rest } = m;
        e.putKey(call, entry.key, { ...rest, keyState: 'PendingImport' });
        e.hierarchy.forget(region, m.keyId);
      });
    }
  }
  await e.hierarchy.rotateDomainKeysIfDue();
}
