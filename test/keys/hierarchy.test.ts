// The key hierarchy (src/keys/hierarchy.ts) on a real SQLite store, with the same suite on WasmProvider
// and NodeCryptoProvider: initialize/open, the unseal key, encrypt/decrypt and every way a blob can be
// wrong, the construction checked against node:crypto both ways, blobs crossing providers, domain key
// rotation on a fake clock, one domain key for concurrent first uses, replicas, sealed secrets, handle
// destruction, and a scan of the database files for unwrapped key bytes.
import { createCipheriv, createDecipheriv, createHmac, generateKeyPairSync, hkdfSync, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AuthenticationError } from '../../src/crypto/errors.js';
import { NodeCryptoProvider } from '../../src/crypto/node-provider.js';
import type { Provider, ProviderKeySpec } from '../../src/crypto/provider.js';
import { WasmProvider } from '../../src/crypto/wasm-provider.js';
import { BlobFormatError, canonicalContext, parseBlob } from '../../src/keys/blob.js';
import { HierarchyError, KeyHierarchy, type HierarchyOptions } from '../../src/keys/hierarchy.js';
import { UnsealError } from '../../src/keys/unseal.js';
import { openSqliteStore } from '../../src/store/sqlite.js';
import type { AuditEntry, KeyVersionRecord, Store } from '../../src/store/types.js';

const PROVIDERS: [string, () => Provider][] = [
  ['wasm', () => new WasmProvider()],
  ['node', () => new NodeCryptoProvider()],
];
const REGION = 'us-east-1';
const REPLICA = 'eu-west-1';
const DOMAIN = '111122223333';
const DAY = 24 * 60 * 60 * 1000;
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
const uuid = (): string => crypto.randomUUID();

function audit(operation: string, region = REGION): AuditEntry {
  return { time: 1, requestId: uuid(), principal: 'test', operation, region, keyId: null, encryptionContext: null, outcome: 'Success' };
}

/** Commits a CMK record and its versions, as the engine does after newBackingKey. */
async function commitKey(store: Store, ...versions: KeyVersionRecord[]): Promise<void> {
  const { region, keyId } = versions[0]!;
  await store.commit(
    [{ kind: 'putKey', record: { region, keyId, metadata: {}, policy: '{}', settings: {} } }, ...versions.map((record) => ({ kind: 'putKeyVersion' as const, record }))],
    audit('CreateKey', region),
  );
}

async function rejectsWith(p: Promise<unknown>, cls: new (...a: never[]) => Error): Promise<Error> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(cls);
    return e as Error;
  }
  throw new Error(`expected a ${cls.name}, got a result`);
}

interface Env {
  dir: string;
  dbPath: string;
  store: Store;
  unsealKey: Uint8Array;
  clock: { t: number };
  opts(provider: Provider, extra?: Partial<HierarchyOptions>): HierarchyOptions;
}

let env: Env;
const opened: KeyHierarchy[] = [];

beforeEach(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'keyward-hierarchy-'));
  const dbPath = join(dir, 'keyward.db');
  const store = await openSqliteStore(dbPath);
  const unsealKey = new Uint8Array(randomBytes(32));
  const clock = { t: Date.UTC(2026, 10, 26) };
  env = {
    dir, dbPath, store, unsealKey, clock,
    opts: (provider, extra = {}) => ({ provider, store, unsealKey, now: () => clock.t, ...extra }),
  };
});

afterEach(async () => {
  for (const h of opened.splice(0)) await h.close();
  await env.store.close().catch(() => undefined);
  rmSync(env.dir, { recursive: true, force: true });
});

async function openNew(provider: Provider, extra?: Partial<HierarchyOptions>): Promise<KeyHierarchy> {
  await KeyHierarchy.initialize({ ...env.opts(provider, extra), region: REGION });
  const h = await KeyHierarchy.open(env.opts(provider, extra));
  opened.push(h);
  return h;
}

async function reopen(provider: Provider, extra?: Partial<HierarchyOptions>): Promise<KeyHierarchy> {
  const h = await KeyHierarchy.open(env.opts(provider, extra));
  opened.push(h);
  return h;
}

async function symmetricKey(h: KeyHierarchy, material?: Uint8Array, keyId = uuid(), region = REGION): Promise<KeyVersionRecord> {
  const rec = await h.newBackingKey({ region, domain: DOMAIN, keyId, version: 1, spec: 'AES_256', rotationType: 'CREATE', ...(material ? { material } : {}) });
  await commitKey(env.store, rec);
  return rec;
}

/** The blob construction written out with node:crypto, from known backing key material. */
function nodeEncrypt(material: Uint8Array, rec: KeyVersionRecord, plaintext: Uint8Array, ctx: Record<string, string> | undefined): Uint8Array {
  const nonce = randomBytes(16);
  const iv = randomBytes(12);
  const v = Buffer.alloc(4);
  v.writeUInt32BE(rec.version);
  const header = Buffer.concat([Buffer.of(1, rec.keyId.length), Buffer.from(rec.keyId, 'latin1'), v, nonce, iv]);
  const k = Buffer.from(hkdfSync('sha256', material, nonce, 'keyward/v1/encrypt', 32));
  const c = createCipheriv('aes-256-gcm', k, iv).setAAD(Buffer.concat([header, canonicalContext(ctx)]));
  return Buffer.concat([header, c.update(plaintext), c.final(), c.getAuthTag()]);
}

function nodeDecrypt(material: Uint8Array, blobBytes: Uint8Array, ctx: Record<string, string> | undefined): Uint8Array {
  const b = parseBlob(blobBytes);
  const k = Buffer.from(hkdfSync('sha256', material, b.nonce, 'keyward/v1/encrypt', 32));
  const d = createDecipheriv('aes-256-gcm', k, b.iv).setAAD(Buffer.concat([b.header, canonicalContext(ctx)]));
  d.setAuthTag(b.ciphertext.subarray(-16));
  return Buffer.concat([d.update(b.ciphertext.subarray(0, -16)), d.final()]);
}

describe.each(PROVIDERS)('KeyHierarchy on %s', (_name, makeProvider) => {
  describe('initialize and open', () => {
    it('round-trips: the region is open, the audit MAC is the same after reopening and is HMAC-SHA256-sized', async () => {
      const h = await openNew(makeProvider());
      expect(h.regions()).toEqual([REGION]);
      const mac = h.auditMac(utf8('chain'));
      expect(mac.length).toBe(32);
      expect(hex(h.auditMac(utf8('chain')))).toBe(hex(mac));
      expect(hex(h.auditMac(utf8('chain2')))).not.toBe(hex(mac));
      await h.close();
      // initialize again is a no-op: the same store keys, so the same audit MAC.
      await KeyHierarchy.initialize({ ...env.opts(makeProvider()), region: REGION });
      const h2 = await reopen(makeProvider());
      expect(hex(h2.auditMac(utf8('chain')))).toBe(hex(mac));
      // The store got the MAC: a commit goes through and chains.
      const rec = await env.store.commit([], audit('Probe'));
      expect(rec.hash.length).toBe(32);
    });

    it('refuses an uninitialized store and a wrong unseal key with UnsealError', async () => {
      const e1 = await rejectsWith(KeyHierarchy.open(env.opts(makeProvider())), UnsealError);
      expect(e1.message).toMatch(/not initialized/);
      await openNew(makeProvider());
      const wrong = new Uint8Array(randomBytes(32));
      const e2 = await rejectsWith(KeyHierarchy.open({ ...env.opts(makeProvider()), unsealKey: wrong }), UnsealError);
      expect(e2.message).toBe('unseal key does not open this store');
      const e3 = await rejectsWith(KeyHierarchy.initialize({ ...env.opts(makeProvider()), unsealKey: wrong, region: REGION }), UnsealError);
      expect(e3.message).toBe('unseal key does not open this store');
      await rejectsWith(KeyHierarchy.open({ ...env.opts(makeProvider()), unsealKey: new Uint8Array(31) }), UnsealError);
      await expect(KeyHierarchy.open({ ...env.opts(makeProvider()), domainRotationMs: 0 })).rejects.toThrow(/domainRotationMs must be a positive number/);
    });

    it('rejects a store whose region key token was altered', async () => {
      const h = await openNew(makeProvider());
      await h.close();
      const sealed = (await env.store.getMeta(`keyward/region-key/${REGION}`))!;
      sealed[sealed.length - 1]! ^= 1;
      await env.store.putMetaUnaudited(`keyward/region-key/${REGION}`, sealed);
      await rejectsWith(KeyHierarchy.open(env.opts(makeProvider())), UnsealError);
    });

    it('rejects a store whose audit key token was altered, naming it', async () => {
      const h = await openNew(makeProvider());
      await h.close();
      const sealed = (await env.store.getMeta('keyward/audit-key'))!;
      sealed[20]! ^= 1;
      await env.store.putMetaUnaudited('keyward/audit-key', sealed);
      const e = await rejectsWith(KeyHierarchy.open(env.opts(makeProvider())), AuthenticationError);
      expect(e.message).toMatch(/keyward\/audit-key does not open under the region key/);
    });
  });

  describe('encrypt and decrypt', () => {
    it('round-trips any length with and without a context', async () => {
      const h = await openNew(makeProvider());
      const rec = await symmetricKey(h);
      for (const n of [0, 1, 15, 16, 17, 4096]) {
        const pt = new Uint8Array(randomBytes(n));
        for (const ctx of [undefined, {}, { purpose: 'test', 'é': 'ü' }]) {
          const blob = await h.encrypt(rec, DOMAIN, pt, ctx);
          const parsed = parseBlob(blob);
          expect(parsed.keyId).toBe(rec.keyId);
          expect(parsed.backingVersion).toBe(1);
          expect(blob.length).toBe(2 + 36 + 4 + 16 + 12 + n + 16);
          expect(hex(await h.decrypt(parsed, rec, DOMAIN, ctx))).toBe(hex(pt));
        }
      }
      // Fresh salt and IV per call.
      const a = parseBlob(await h.encrypt(rec, DOMAIN, utf8('x'), undefined));
      const b = parseBlob(await h.encrypt(rec, DOMAIN, utf8('x'), undefined));
      expect(hex(a.nonce)).not.toBe(hex(b.nonce));
      expect(hex(a.iv)).not.toBe(hex(b.iv));
    });

    it('is the documented construction: node:crypto decrypts its blobs and makes blobs it decrypts', async () => {
      const h = await openNew(makeProvider());
      const material = new Uint8Array(randomBytes(32));
      const rec = await symmetricKey(h, material);
      const ctx = { b: '2', a: '1' };
      const pt = utf8('envelope encryption');
      expect(hex(nodeDecrypt(material, await h.encrypt(rec, DOMAIN, pt, ctx), ctx))).toBe(hex(pt));
      expect(hex(await h.decrypt(parseBlob(nodeEncrypt(material, rec, pt, ctx)), rec, DOMAIN, ctx))).toBe(hex(pt));
      // And a cold hierarchy (EKT unwrapped from the store) agrees.
      const cold = await reopen(makeProvider());
      const [stored] = await env.store.keyVersions(REGION, rec.keyId);
      expect(hex(await cold.decrypt(parseBlob(nodeEncrypt(material, rec, pt, ctx)), stored!, DOMAIN, ctx))).toBe(hex(pt));
    });

    it('generateDataKey: random plaintext of the size asked and its blob, in the encrypt construction', async () => {
      const h = await openNew(makeProvider());
      const material = new Uint8Array(randomBytes(32));
      const rec = await symmetricKey(h, material);
      const seen = new Set<string>();
      for (const n of [1, 16, 32, 64, 1024]) {
        const { plaintext, blob } = await h.generateDataKey(rec, DOMAIN, n, { purpose: 'dk' });
        expect(plaintext.length).toBe(n);
        seen.add(hex(plaintext));
        expect(hex(nodeDecrypt(material, blob, { purpose: 'dk' }))).toBe(hex(plaintext));
        expect(hex(await h.decrypt(parseBlob(blob), rec, DOMAIN, { purpose: 'dk' }))).toBe(hex(plaintext));
        // The salt and IV are not taken from the data key's bytes.
        const p = parseBlob(blob);
        expect(hex(plaintext)).not.toContain(hex(p.iv));
      }
      expect(seen.size).toBe(5);
      for (const n of [0, 1025, 1.5]) await expect(h.generateDataKey(rec, DOMAIN, n, undefined)).rejects.toThrow(RangeError);
    });

    it('a wrong context, key or version record gives AuthenticationError', async () => {
      const h = await openNew(makeProvider());
      const rec = await symmetricKey(h);
      const other = await symmetricKey(h);
      const ctx = { tenant: 'a' };
      const blob = parseBlob(await h.encrypt(rec, DOMAIN, utf8('secret'), ctx));
      for (const wrong of [undefined, {}, { tenant: 'b' }, { tenant: 'a', extra: '' }, { Tenant: 'a' }]) {
        await rejectsWith(h.decrypt(blob, rec, DOMAIN, wrong), AuthenticationError);
      }
      await rejectsWith(h.decrypt(blob, other, DOMAIN, ctx), AuthenticationError);
      // The record of another key, relabelled as this key: its EKT is bound to its own key id.
      await rejectsWith(h.decrypt(blob, { ...other, keyId: rec.keyId }, DOMAIN, ctx), AuthenticationError);
      // A second version of the same key.
      const v2 = await h.newBackingKey({ region: REGION, domain: DOMAIN, keyId: rec.keyId, version: 2, spec: 'AES_256', rotationType: 'ON_DEMAND' });
      await rejectsWith(h.decrypt(blob, v2, DOMAIN, ctx), AuthenticationError);
      // v2's EKT presented as version 1: the EKT binds the version.
      await rejectsWith(h.decrypt(blob, { ...v2, version: 1 }, DOMAIN, ctx), AuthenticationError);
      await rejectsWith(h.decrypt(blob, rec, '999999999999', ctx), AuthenticationError);
      expect(new TextDecoder().decode(await h.decrypt(blob, rec, DOMAIN, ctx))).toBe('secret');
    });

    it('a flipped bit anywhere in the blob never yields plaintext', async () => {
      const h = await openNew(makeProvider());
      const rec = await symmetricKey(h);
      const ctx = { k: 'v' };
      const bytes = await h.encrypt(rec, DOMAIN, utf8('0123456789abcdef!'), ctx);
      const headerEnd = 2 + 36;
      let auth = 0;
      for (let i = 0; i < bytes.length; i++) {
        for (let bit = 0; bit < 8; bit++) {
          const m = bytes.slice();
          m[i]! ^= 1 << bit;
          let blob;
          try {
            blob = parseBlob(m);
          } catch (e) {
            // Only the version, key id length and key id bytes can make a blob unparseable.
            expect(e).toBeInstanceOf(BlobFormatError);
            expect(i).toBeLessThan(headerEnd + 4);
            continue;
          }
          await rejectsWith(h.decrypt(blob, rec, DOMAIN, ctx), AuthenticationError);
          // Also with a record relabelled to whatever key id and version the altered blob names.
          await rejectsWith(h.decrypt(blob, { ...rec, keyId: blob.keyId, version: blob.backingVersion }, DOMAIN, ctx), AuthenticationError);
          auth++;
        }
      }
      // Every bit from the backing version on (nonce, IV, ciphertext, tag) reached authentication.
      expect(auth).toBeGreaterThanOrEqual((bytes.length - headerEnd - 4) * 8);
    });
  });

  it('blobs cross providers over the same store, both ways', async () => {
    const [, otherMake] = PROVIDERS.find(([n]) => n !== _name)!;
    const h = await openNew(makeProvider());
    const rec = await symmetricKey(h);
    const blob = await h.encrypt(rec, DOMAIN, utf8('from ' + _name), { c: '1' });
    const { token, domainVersion } = await h.sealSecret(REGION, DOMAIN, utf8('sealed'), utf8('aad'));
    await h.close();
    const o = await reopen(otherMake());
    const [stored] = await env.store.keyVersions(REGION, rec.keyId);
    expect(new TextDecoder().decode(await o.decrypt(parseBlob(blob), stored!, DOMAIN, { c: '1' }))).toBe('from ' + _name);
    expect(new TextDecoder().decode(await o.openSecret(REGION, DOMAIN, domainVersion, token, utf8('aad')))).toBe('sealed');
    const back = await o.encrypt(stored!, DOMAIN, utf8('back'), undefined);
    await o.close();
    const h2 = await reopen(makeProvider());
    expect(new TextDecoder().decode(await h2.decrypt(parseBlob(back), stored!, DOMAIN, undefined))).toBe('back');
  });

  describe('backing keys', () => {
    it('a tampered EKT gives AuthenticationError, cold and warm, and does not evict the good handle', async () => {
      const h = await openNew(makeProvider());
      const rec = await symmetricKey(h);
      const blob = parseBlob(await h.encrypt(rec, DOMAIN, utf8('p'), undefined));
      const cold = await reopen(makeProvider());
      for (const hier of [h, cold]) {
        for (let i = 0; i < rec.ekt.length; i++) {
          const ekt = rec.ekt.slice();
          ekt[i]! ^= 0x01;
          await rejectsWith(hier.backingKey({ ...rec, ekt }, 'AES_256', DOMAIN), AuthenticationError);
        }
        await rejectsWith(hier.backingKey({ ...rec, ekt: rec.ekt.subarray(0, 20) }, 'AES_256', DOMAIN), AuthenticationError);
        await rejectsWith(hier.backingKey({ ...rec, domainVersion: 2 }, 'AES_256', DOMAIN), AuthenticationError);
        await rejectsWith(hier.backingKey(rec, 'HMAC_256', DOMAIN), AuthenticationError);
        expect(new TextDecoder().decode(await hier.decrypt(blob, rec, DOMAIN, undefined))).toBe('p');
      }
    });

    it('generates and imports every kind of spec; asymmetric and HMAC keys work after a cold unwrap', async () => {
      const provider = makeProvider();
      const h = await openNew(provider);
      const specs: ProviderKeySpec[] = ['HMAC_256', 'HMAC_512', 'ECC_NIST_P256', 'ECC_SECG_P256K1'];
      const recs = new Map<ProviderKeySpec, KeyVersionRecord>();
      for (const spec of specs) {
        const rec = await h.newBackingKey({ region: REGION, domain: DOMAIN, keyId: uuid(), version: 1, spec, rotationType: 'CREATE' });
        await commitKey(env.store, rec);
        recs.set(spec, rec);
      }
      const ec = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
      const pkcs8 = new Uint8Array(ec.privateKey.export({ format: 'der', type: 'pkcs8' }));
      const imported = await h.newBackingKey({ region: REGION, domain: DOMAIN, keyId: uuid(), version: 1, spec: 'ECC_NIST_P256', rotationType: 'IMPORT', material: pkcs8 });
      const hmacKey = new Uint8Array(randomBytes(32));
      const importedMac = await h.newBackingKey({ region: REGION, domain: DOMAIN, keyId: uuid(), version: 1, spec: 'HMAC_256', rotationType: 'IMPORT', material: hmacKey });
      await commitKey(env.store, imported);
      await commitKey(env.store, importedMac);

      const cold = await reopen(provider);
      const msg = utf8('message');
      const p256 = await cold.backingKey(recs.get('ECC_NIST_P256')!, 'ECC_NIST_P256', DOMAIN);
      const sig = await provider.sign(p256, 'ECDSA_SHA_256', msg, 'RAW');
      expect(await provider.verify(await h.backingKey(recs.get('ECC_NIST_P256')!, 'ECC_NIST_P256', DOMAIN), 'ECDSA_SHA_256', msg, 'RAW', sig)).toBe(true);
      const hm = await cold.backingKey(recs.get('HMAC_512')!, 'HMAC_512', DOMAIN);
      expect((await provider.mac(hm, 'HMAC_SHA_512', msg)).length).toBe(64);
      // Imported material: the public key and the MAC are node's.
      const pub = await provider.publicKey(await cold.backingKey(imported, 'ECC_NIST_P256', DOMAIN));
      expect(hex(pub)).toBe(hex(ec.publicKey.export({ format: 'der', type: 'spki' })));
      const mac = await provider.mac(await cold.backingKey(importedMac, 'HMAC_256', DOMAIN), 'HMAC_SHA_256', msg);
      expect(hex(mac)).toBe(createHmac('sha256', hmacKey).update(msg).digest('hex'));
    });

    it('forget and close destroy cached handles; a closed hierarchy refuses work and its audit MAC', async () => {
      const provider = makeProvider();
      const h = await openNew(provider);
      const rec = await symmetricKey(h);
      const handle = await h.backingKey(rec, 'AES_256', DOMAIN);
      const iv = new Uint8Array(12);
      await provider.encrypt(handle, iv, utf8('x'), new Uint8Array(0));
      h.forget(REGION, rec.keyId);
      await new Promise((r) => setTimeout(r, 10));
      await expect(provider.encrypt(handle, iv, utf8('x'), new Uint8Array(0))).rejects.toThrow();
      const again = await h.backingKey(rec, 'AES_256', DOMAIN);
      await provider.encrypt(again, iv, utf8('x'), new Uint8Array(0));
      await h.close();
      await expect(provider.encrypt(again, iv, utf8('x'), new Uint8Array(0))).rejects.toThrow();
      await rejectsWith(h.encrypt(rec, DOMAIN, utf8('x'), undefined), HierarchyError);
      expect(() => h.auditMac(utf8('x'))).toThrow(HierarchyError);
    });

    it('a handle retired while a call uses it is destroyed only when the call ends', async () => {
      const provider = makeProvider();
      const h = await openNew(provider);
      const rec = await symmetricKey(h);
      const handle = await h.backingKey(rec, 'AES_256', DOMAIN);
      const pending = h.encrypt(rec, DOMAIN, utf8('in flight'), undefined);
      h.forget(REGION, rec.keyId);
      const blob = await pending;
      expect(new TextDecoder().decode(await h.decrypt(parseBlob(blob), rec, DOMAIN, undefined))).toBe('in flight');
      await new Promise((r) => setTimeout(r, 10));
      await expect(provider.encrypt(handle, new Uint8Array(12), utf8('x'), new Uint8Array(0))).rejects.toThrow();
    });

    it('refuses malformed arguments with HierarchyError', async () => {
      const h = await openNew(makeProvider());
      const base = { region: REGION, domain: DOMAIN, keyId: uuid(), version: 1, spec: 'AES_256' as ProviderKeySpec, rotationType: 'CREATE' };
      await expect(h.newBackingKey({ ...base, region: 'ap-south-9' })).rejects.toThrow(/unknown region ap-south-9: this store has us-east-1/);
      await expect(h.newBackingKey({ ...base, domain: '' })).rejects.toThrow(HierarchyError);
      await expect(h.newBackingKey({ ...base, keyId: 'Not_A_Key' })).rejects.toThrow(/key id must be/);
      await expect(h.newBackingKey({ ...base, version: 0 })).rejects.toThrow(/backing version must be/);
      await expect(h.newBackingKey({ ...base, spec: 'AES_128' as ProviderKeySpec })).rejects.toThrow(/unknown key spec AES_128/);
      await expect(h.addRegion('US_EAST')).rejects.toThrow(/region must be/);
    });
  });

  describe('domain keys', () => {
    it('concurrent first uses of a domain create one domain key version', async () => {
      const h = await openNew(makeProvider());
      const work = [
        ...Array.from({ length: 8 }, () => h.newBackingKey({ region: REGION, domain: DOMAIN, keyId: uuid(), version: 1, spec: 'AES_256', rotationType: 'CREATE' })),
        h.sealSecret(REGION, DOMAIN, utf8('s'), utf8('a')),
      ];
      const results = await Promise.all(work);
      const dks = await env.store.domainKeys(REGION, DOMAIN);
      expect(dks.map((d) => d.version)).toEqual([1]);
      for (const r of results) expect(r.domainVersion).toBe(1);
      // And one audit record says so.
      const log = await env.store.readAudit(1, 100);
      expect(log.filter((r) => r.operation === 'CreateDomainKey')).toHaveLength(1);
    });

    it('domains are separate: a record of one domain does not open under another', async () => {
      const h = await openNew(makeProvider());
      const rec = await symmetricKey(h);
      await h.sealSecret(REGION, '444455556666', utf8('s'), utf8('a'));
      await rejectsWith(h.backingKey(rec, 'AES_256', '444455556666'), AuthenticationError);
      expect((await env.store.domainKeys(REGION, '444455556666')).length).toBe(1);
    });

    it('rotate on a fake clock: a new version, old EKTs re-wrapped, old blobs and secrets still open', async () => {
      const provider = makeProvider();
      const h = await openNew(provider);
      const material = new Uint8Array(randomBytes(32));
      const rec = await symmetricKey(h, material);
      const ec = await h.newBackingKey({ region: REGION, domain: DOMAIN, keyId: uuid(), version: 1, spec: 'ECC_NIST_P256', rotationType: 'CREATE' });
      await commitKey(env.store, ec);
      const other = await h.newBackingKey({ region: REGION, domain: '444455556666', keyId: uuid(), version: 1, spec: 'AES_256', rotationType: 'CREATE' });
      await commitKey(env.store, other);
      const blob = parseBlob(await h.encrypt(rec, DOMAIN, utf8('old blob'), { a: 'b' }));
      const secret = await h.sealSecret(REGION, DOMAIN, utf8('old secret'), utf8('x'));
      const ecPub = await provider.publicKey(await h.backingKey(ec, 'ECC_NIST_P256', DOMAIN));

      env.clock.t += DAY - 1;
      expect(await h.rotateDomainKeysIfDue()).toBe(0);
      env.clock.t += 1;
      expect(await h.rotateDomainKeysIfDue()).toBe(2);
      expect(await h.rotateDomainKeysIfDue()).toBe(0);
      expect((await env.store.domainKeys(REGION, DOMAIN)).map((d) => d.version)).toEqual([1, 2]);
      const [rotated] = await env.store.keyVersions(REGION, rec.keyId);
      expect(rotated!.domainVersion).toBe(2);
      expect(hex(rotated!.ekt)).not.toBe(hex(rec.ekt));
      const [ecRotated] = await env.store.keyVersions(REGION, ec.keyId);
      expect(ecRotated!.domainVersion).toBe(2);
      const [otherRotated] = await env.store.keyVersions(REGION, other.keyId);
      expect(otherRotated!.domainVersion).toBe(2);
      const last = (await env.store.readAudit(1, 100)).filter((r) => r.operation === 'RotateDomainKey');
      expect(last).toHaveLength(2);
      expect(last[0]!.principal).toBe('keyward:system');

      // Warm: both the old and the new record work.
      for (const r of [rec, rotated!]) expect(new TextDecoder().decode(await h.decrypt(blob, r, DOMAIN, { a: 'b' }))).toBe('old blob');
      // New keys go under version 2; secrets sealed under version 1 still open.
      expect((await h.sealSecret(REGION, DOMAIN, utf8('new'), utf8('x'))).domainVersion).toBe(2);
      expect(new TextDecoder().decode(await h.openSecret(REGION, DOMAIN, secret.domainVersion, secret.token, utf8('x')))).toBe('old secret');

      // Cold: a new hierarchy unwraps the re-wrapped EKTs under version 2, and the old ones under version 1.
      const cold = await reopen(makeProvider());
      expect(new TextDecoder().decode(await cold.decrypt(blob, rotated!, DOMAIN, { a: 'b' }))).toBe('old blob');
      expect(hex(nodeDecrypt(material, await cold.encrypt(rotated!, DOMAIN, utf8('n'), undefined), undefined))).toBe(hex(utf8('n')));
      const cold2 = await reopen(makeProvider());
      expect(new TextDecoder().decode(await cold2.decrypt(blob, rec, DOMAIN, { a: 'b' }))).toBe('old blob');
      expect(hex(await provider.publicKey(await h.backingKey(ecRotated!, 'ECC_NIST_P256', DOMAIN)))).toBe(hex(ecPub));

      // A cold hierarchy that never used the domain rotates it too (EKTs unwrapped for the re-wrap only).
      env.clock.t += DAY;
      const cold3 = await reopen(makeProvider());
      expect(await cold3.rotateDomainKeysIfDue()).toBe(2);
      const [twice] = await env.store.keyVersions(REGION, rec.keyId);
      expect(twice!.domainVersion).toBe(3);
      // The hierarchy that did not rotate keeps wrapping under version 2 (still valid) until it next looks.
      expect((await h.sealSecret(REGION, DOMAIN, utf8('s'), utf8('x'))).domainVersion).toBe(2);
      expect(await h.rotateDomainKeysIfDue()).toBe(0);
      expect((await h.sealSecret(REGION, DOMAIN, utf8('s'), utf8('x'))).domainVersion).toBe(3);
      expect(new TextDecoder().decode(await h.decrypt(blob, twice!, DOMAIN, { a: 'b' }))).toBe('old blob');
    });

    it('a rotation overtaken by another node steps back instead of overwriting that node\'s domain key', async () => {
      const h2 = await openNew(makeProvider());
      const rec = await symmetricKey(h2);
      const blob = parseBlob(await h2.encrypt(rec, DOMAIN, utf8('kept'), undefined));
      // h1's store runs h2's rotation the moment h1 starts listing keys to re-wrap.
      let overtake: (() => Promise<unknown>) | undefined = () => h2.rotateDomainKeysIfDue();
      const racing = new Proxy(env.store, {
        get(target, prop) {
          if (prop === 'allKeys') {
            return async () => {
              const run = overtake;
              overtake = undefined;
              if (run) expect(await run()).toBe(1);
              return target.allKeys();
            };
          }
          const v = Reflect.get(target, prop, target) as unknown;
          return typeof v === 'function' ? v.bind(target) : v;
        },
      });
      const h1 = await reopen(makeProvider(), { store: racing });
      expect((await h1.sealSecret(REGION, DOMAIN, utf8('s'), utf8('a'))).domainVersion).toBe(1);
      env.clock.t += DAY;
      expect(await h1.rotateDomainKeysIfDue()).toBe(0);
      expect(overtake).toBeUndefined();
      const dks = await env.store.domainKeys(REGION, DOMAIN);
      expect(dks.map((d) => d.version)).toEqual([1, 2]);
      expect((await env.store.readAudit(1, 100)).filter((r) => r.operation === 'RotateDomainKey')).toHaveLength(1);
      // h1 now wraps under h2's version 2, and a cold hierarchy opens h2's re-wrapped EKT.
      expect((await h1.sealSecret(REGION, DOMAIN, utf8('s'), utf8('a'))).domainVersion).toBe(2);
      const [stored] = await env.store.keyVersions(REGION, rec.keyId);
      expect(stored!.domainVersion).toBe(2);
      const cold = await reopen(makeProvider());
      expect(new TextDecoder().decode(await cold.decrypt(blob, stored!, DOMAIN, undefined))).toBe('kept');
    });

    it('rotation does not bring back a key version deleted while it re-wraps', async () => {
      await openNew(makeProvider());
      // The store deletes the versions (DeleteImportedKeyMaterial) right after rotation has read them.
      let deleteOnce: ((keyId: string) => Promise<unknown>) | undefined = (keyId) =>
        env.store.commit([{ kind: 'deleteKeyVersions', region: REGION, keyId }], audit('DeleteImportedKeyMaterial'));
      const racing = new Proxy(env.store, {
        get(target, prop) {
          if (prop === 'keyVersions') {
            return async (region: string, keyId: string) => {
              const read = await target.keyVersions(region, keyId);
              const run = deleteOnce;
              deleteOnce = undefined;
              if (run && read.length > 0) await run(keyId);
              return read;
            };
          }
          const v = Reflect.get(target, prop, target) as unknown;
          return typeof v === 'function' ? v.bind(target) : v;
        },
      });
      const h = await reopen(makeProvider(), { store: racing, domainRotationMs: 1000 });
      const rec = await symmetricKey(h);
      const kept = await symmetricKey(h);
      env.clock.t += 1000;
      expect(await h.rotateDomainKeysIfDue()).toBe(1);
      expect(deleteOnce).toBeUndefined();
      const remaining = [...(await env.store.keyVersions(REGION, rec.keyId)), ...(await env.store.keyVersions(REGION, kept.keyId))];
      // One key's version was deleted mid-rotation and stays deleted; the other was re-wrapped.
      expect(remaining).toHaveLength(1);
      expect(remaining[0]!.domainVersion).toBe(2);
    });

    it('sealed secrets: a wrong aad, version or altered token gives AuthenticationError', async () => {
      const h = await openNew(makeProvider());
      const { domainVersion, token } = await h.sealSecret(REGION, DOMAIN, utf8('private key'), utf8('import-token-1'));
      expect(domainVersion).toBe(1);
      await rejectsWith(h.openSecret(REGION, DOMAIN, 1, token, utf8('import-token-2')), AuthenticationError);
      await rejectsWith(h.openSecret(REGION, DOMAIN, 2, token, utf8('import-token-1')), AuthenticationError);
      await rejectsWith(h.openSecret(REGION, '444455556666', 1, token, utf8('import-token-1')), AuthenticationError);
      for (let i = 0; i < token.length; i++) {
        const t = token.slice();
        t[i]! ^= 0x80;
        await rejectsWith(h.openSecret(REGION, DOMAIN, 1, t, utf8('import-token-1')), AuthenticationError);
      }
      await rejectsWith(h.openSecret(REGION, DOMAIN, 1, token.subarray(0, 27), utf8('import-token-1')), AuthenticationError);
      expect(new TextDecoder().decode(await h.openSecret(REGION, DOMAIN, 1, token, utf8('import-token-1')))).toBe('private key');
    });
  });

  describe('regions', () => {
    it('a replica region decrypts the primary region\'s blob, after reopening too', async () => {
      const h = await openNew(makeProvider());
      // Concurrent and repeated adds make one region (one AddRegion record, checked below).
      await Promise.all([h.addRegion(REPLICA), h.addRegion(REPLICA)]);
      await h.addRegion(REPLICA);
      expect(h.regions()).toEqual([REGION, REPLICA]);
      const keyId = 'mrk-' + hex(randomBytes(16));
      const rec = await symmetricKey(h, undefined, keyId);
      const replica = await h.rewrapForRegion(rec, 'AES_256', DOMAIN, REPLICA);
      expect(replica.region).toBe(REPLICA);
      expect(replica.version).toBe(1);
      expect(hex(replica.ekt)).not.toBe(hex(rec.ekt));
      await commitKey(env.store, replica);
      const blob = parseBlob(await h.encrypt(rec, DOMAIN, utf8('multi-region'), { r: '1' }));
      expect(new TextDecoder().decode(await h.decrypt(blob, replica, DOMAIN, { r: '1' }))).toBe('multi-region');
      // The region is bound: the replica's EKT presented as the primary's does not open.
      await rejectsWith(h.decrypt(blob, { ...replica, region: REGION }, DOMAIN, { r: '1' }), AuthenticationError);

      const cold = await reopen(makeProvider());
      expect(cold.regions()).toEqual([REGION, REPLICA]);
      const back = await cold.encrypt(replica, DOMAIN, utf8('from replica'), undefined);
      expect(new TextDecoder().decode(await cold.decrypt(parseBlob(back), rec, DOMAIN, undefined))).toBe('from replica');
      const log = await env.store.readAudit(1, 100);
      expect(log.filter((r) => r.operation === 'AddRegion').map((r) => r.region)).toEqual([REPLICA]);
    });
  });

  it('the store holds no unwrapped key bytes (scan of the SQLite files, with a positive control)', async () => {
    const h = await openNew(makeProvider());
    await h.addRegion(REPLICA);
    const material = new Uint8Array(randomBytes(32));
    const hmacMaterial = new Uint8Array(randomBytes(64));
    const rec = await symmetricKey(h, material, 'mrk-' + hex(randomBytes(16)));
    await commitKey(env.store, await h.rewrapForRegion(rec, 'AES_256', DOMAIN, REPLICA));
    await commitKey(env.store, await h.newBackingKey({ region: REGION, domain: DOMAIN, keyId: uuid(), version: 1, spec: 'HMAC_512', rotationType: 'IMPORT', material: hmacMaterial }));
    await h.sealSecret(REGION, DOMAIN, material, utf8('aad'));
    env.clock.t += DAY;
    // The domain in each of the two regions.
    expect(await h.rotateDomainKeysIfDue()).toBe(2);
    await h.encrypt(rec, DOMAIN, utf8('x'), undefined);
    const canary = new Uint8Array(randomBytes(32));
    await env.store.putMetaUnaudited('test/canary', canary);
    await h.close();
    await env.store.close();

    const files = ['', '-wal', '-shm'].map((s) => env.dbPath + s).filter((p) => existsSync(p));
    const image = Buffer.concat(files.map((p) => readFileSync(p)));
    expect(image.indexOf(Buffer.from(canary))).toBeGreaterThanOrEqual(0);
    for (const secret of [material, hmacMaterial, env.unsealKey]) {
      expect(image.indexOf(Buffer.from(secret))).toBe(-1);
      // Nor any 16-byte window of them.
      for (let i = 0; i + 16 <= secret.length; i += 8) expect(image.indexOf(Buffer.from(secret.subarray(i, i + 16)))).toBe(-1);
    }
  });
});
