// The key hierarchy in HSM mode (regionKeyInHsm) on a SoftHSM2 token, below the engine: its options,
// and the HSM key references of CMK versions held in the token: bound to their key id, version, spec
// and domain (an edited reference does not reach another token key), left alone by domain rotation,
// never copied to another region.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AuthenticationError } from '../../src/crypto/errors.js';
import { WasmProvider } from '../../src/crypto/wasm-provider.js';
import { Pkcs11Provider } from '../../src/hsm/pkcs11-provider.js';
import { cmkLabel, HierarchyError, KeyHierarchy, regionKeyLabel } from '../../src/keys/hierarchy.js';
import { openSqliteStore } from '../../src/store/sqlite.js';
import type { AuditEntry, KeyVersionRecord, Store } from '../../src/store/types.js';
import { softhsmTokens } from '../hsm/_softhsm.js';

const T = softhsmTokens('hier');
const REGION = 'us-east-1';
const DOMAIN = '111122223333';
const DAY = 86_400_000;
const provider = new Pkcs11Provider(T.hier);
const dirs: string[] = [];
afterAll(() => {
  provider.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function audit(operation: string): AuditEntry {
  return { time: 1, requestId: crypto.randomUUID(), principal: 'test', operation, region: REGION, keyId: null, encryptionContext: null, outcome: 'Success' };
}

async function freshStore(): Promise<Store> {
  const d = mkdtempSync(join(tmpdir(), 'keyward-hier-hsm-'));
  dirs.push(d);
  return openSqliteStore(join(d, 'k.db'));
}

async function commit(store: Store, rec: KeyVersionRecord): Promise<void> {
  await store.commit(
    [{ kind: 'putKey', record: { region: rec.region, keyId: rec.keyId, metadata: {}, policy: '{}', settings: {} } }, { kind: 'putKeyVersion', record: rec }],
    audit('CreateKey'),
  );
}

describe('KeyHierarchy with regionKeyInHsm', () => {
  it('checks its options: not with an unseal key, only with a provider that keeps token keys', async () => {
    const store = await freshStore();
    await expect(KeyHierarchy.initialize({ provider, store, region: REGION, regionKeyInHsm: true, unsealKey: new Uint8Array(32) })).rejects.toThrow(/not both/);
    await expect(KeyHierarchy.initialize({ provider: new WasmProvider(), store, region: REGION, regionKeyInHsm: true })).rejects.toThrow(HierarchyError);
    await store.close();
  });

  it('HSM key references are bound to their version, spec and domain; rotation leaves them; they are not replicated', async () => {
    const store = await freshStore();
    let now = Date.UTC(2026, 10, 26);
    const opts = { provider, store, regionKeyInHsm: true, now: () => now };
    await KeyHierarchy.initialize({ ...opts, region: REGION });
    expect(new TextDecoder().decode(await store.getMeta(`keyward/region-key/${REGION}`))).toBe(regionKeyLabel(REGION));
    const h = await KeyHierarchy.open(opts);
    try {
      const a = await h.newBackingKey({ region: REGION, domain: DOMAIN, keyId: 'key-a', version: 1, spec: 'AES_256', rotationType: 'CREATE', inHsm: true });
      const b = await h.newBackingKey({ region: REGION, domain: DOMAIN, keyId: 'key-b', version: 1, spec: 'AES_256', rotationType: 'CREATE', inHsm: true });
      // The reference names the label and nothing secret.
      expect(Buffer.from(a.ekt).includes(Buffer.from(cmkLabel(REGION, 'key-a', 1)))).toBe(true);
      expect(a.ekt.length).toBe(2 + 'AES_256'.length + 1 + DOMAIN.length + cmkLabel(REGION, 'key-a', 1).length);
      await commit(store, a);
      await commit(store, b);
      await expect(h.newBackingKey({ region: REGION, domain: DOMAIN, keyId: 'key-a', version: 1, spec: 'AES_256', rotationType: 'CREATE', inHsm: true, material: new Uint8Array(32) }))
        .rejects.toThrow(/generated in the HSM, not imported/);

      const blob = await h.encrypt(a, DOMAIN, new TextEncoder().encode('bound'), undefined);
      const { parseBlob } = await import('../../src/keys/blob.js');
      expect(new TextDecoder().decode(await h.decrypt(parseBlob(blob), a, DOMAIN, undefined))).toBe('bound');

      // A fresh hierarchy (nothing cached) with edited records: b's reference under a's identity, the spec
      // and domain changed, garbage.
      const cold = await KeyHierarchy.open(opts);
      try {
        await expect(cold.backingKey({ ...a, ekt: b.ekt }, 'AES_256', DOMAIN)).rejects.toBeInstanceOf(AuthenticationError);
        await expect(cold.backingKey(a, 'HMAC_256', DOMAIN)).rejects.toBeInstanceOf(AuthenticationError);
        await expect(cold.backingKey(a, 'AES_256', 'other-domain')).rejects.toBeInstanceOf(AuthenticationError);
        await expect(cold.backingKey({ ...a, ekt: Uint8Array.of(2, 200) }, 'AES_256', DOMAIN)).rejects.toBeInstanceOf(AuthenticationError);
        expect((await cold.backingKey(a, 'AES_256', DOMAIN)).spec).toBe('AES_256');

        // Domain rotation re-wraps nothing of theirs, and they still work.
        now += 2 * DAY;
        expect(await cold.rotateDomainKeysIfDue()).toBe(1);
        expect((await store.keyVersions(REGION, 'key-a'))[0]!.ekt).toEqual(a.ekt);
        expect(new TextDecoder().decode(await cold.decrypt(parseBlob(blob), a, DOMAIN, undefined))).toBe('bound');
        await cold.addRegion('eu-west-1');
        await expect(cold.rewrapForRegion(a, 'AES_256', DOMAIN, 'eu-west-1')).rejects.toThrow(/held in the HSM and cannot be copied/);

        // A version whose token key is an orphan of a failed commit is made afresh; a committed one is not.
        await cold.newBackingKey({ region: REGION, domain: DOMAIN, keyId: 'key-c', version: 1, spec: 'AES_256', rotationType: 'CREATE', inHsm: true });
        const c = await cold.newBackingKey({ region: REGION, domain: DOMAIN, keyId: 'key-c', version: 1, spec: 'AES_256', rotationType: 'CREATE', inHsm: true });
        expect(c.ekt).toBeInstanceOf(Uint8Array);
        await expect(cold.newBackingKey({ region: REGION, domain: DOMAIN, keyId: 'key-a', version: 1, spec: 'AES_256', rotationType: 'CREATE', inHsm: true }))
          .rejects.toThrow(/exists already/);

        await cold.deleteHsmKeys(REGION, 'key-a', [a]);
        await expect(cold.backingKey(a, 'AES_256', DOMAIN)).rejects.toThrow(/is not on this token/);
      } finally {
        await cold.close();
      }
    } finally {
      await h.close();
      await store.close();
    }
  });
});
