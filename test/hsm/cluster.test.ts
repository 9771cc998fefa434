// HsmCluster against three SoftHSM2 tokens: the provider conformance suite; the cluster transport key
// and ceremony-made token keys on every member, non-extractable; session keys made on one member
// reaching the others; a concurrent load with zero failed operations while one member's sessions are
// closed and its device fails (fault hook), then its return through the health check; errors that are
// not the member's pass through; a Keyward on the cluster; cluster config files.
import { chmodSync, writeFileSync } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { AuthenticationError } from '../../src/crypto/errors.js';
import type { KeyHandle, Provider } from '../../src/crypto/provider.js';
import { CLUSTER_TRANSPORT_LABEL, ClusterUnavailableError, HsmCluster, loadHsmSetup, openHsm, type HsmClusterConfig } from '../../src/hsm/cluster.js';
import { HsmConfigError, Pkcs11Error } from '../../src/hsm/errors.js';
import { Pkcs11Module, pkcs11js as P } from '../../src/hsm/pkcs11.js';
import { Keyward } from '../../src/kms/keyward.js';
import { providerConformance } from '../crypto/provider-conformance.js';
import { onEachToken, SOFTHSM_MODULE, softhsmTokens, USER_PIN } from './_softhsm.js';

const T = softhsmTokens('c1-a', 'c1-b', 'c1-c', 'c2-a', 'c2-b', 'c2-c', 'c3-a', 'c3-b', 'c3-c', 'c4-a', 'c4-b', 'lone', 'solo');
const cluster = (prefix: string, extra: Partial<HsmClusterConfig> = {}): HsmClusterConfig => ({
  members: ['a', 'b', 'c'].filter((s) => `${prefix}-${s}` in T).map((s) => (T as unknown as Record<string, HsmClusterConfig['members'][number]>)[`${prefix}-${s}`]!),
  ...extra,
});

/** A Provider whose every call waits for the cluster to open (the conformance suite's factory is synchronous). */
function deferred(open: Promise<HsmCluster>): Provider {
  return new Proxy({} as Provider, {
    get: (_t, prop) => (prop === 'name' ? 'pkcs11-cluster' : prop === 'then' ? undefined : async (...args: unknown[]) => {
      const c = (await open) as unknown as Record<string | symbol, (...a: unknown[]) => unknown>;
      return c[prop]!(...args);
    }),
  });
}

const opened: Promise<HsmCluster>[] = [];
afterAll(async () => {
  for (const c of opened) (await c).close();
});
providerConformance('HsmCluster of three SoftHSM2 tokens', () => {
  const c = HsmCluster.open(cluster('c1', { healthCheckMs: 0 }));
  opened.push(c);
  return deferred(c);
});

interface Attrs {
  extractable: boolean;
  sensitive: boolean;
  /** CKA_LOCAL: generated inside the token (C_GenerateKey/KeyPair), not imported. */
  local: boolean;
}

/** The attributes of the secret or private token keys labelled label on each token. */
function onTokens(tokens: string[], label: string): (Attrs | undefined)[] {
  return onEachToken(tokens, (s) => {
    const o = [...s.findObjects({ label, token: true, class: P.CKO_SECRET_KEY }), ...s.findObjects({ label, token: true, class: P.CKO_PRIVATE_KEY })];
    return o.length === 1 ? s.getAttributes(o[0]!, ['extractable', 'sensitive', 'local']) : undefined;
  });
}

/** C_CloseAllSessions on a token: every session this process has there (pkcs11js's and the native pool's) dies. */
function killSessions(token: string): void {
  const m = Pkcs11Module.load(SOFTHSM_MODULE);
  try {
    m.findToken(token).closeAllSessions();
  } finally {
    m.close();
  }
}

describe('keys on every member', () => {
  it('the cluster transport key and token keys are made on every member by the import ceremony, non-extractable', async () => {
    const c = await HsmCluster.open(cluster('c2', { healthCheckMs: 0 }));
    try {
      const tokens = ['c2-a', 'c2-b', 'c2-c'];
      for (const a of onTokens(tokens, CLUSTER_TRANSPORT_LABEL)) expect(a).toEqual({ extractable: false, sensitive: true, local: false });
      const aes = await c.generateKey('AES_256', { token: true, label: 'shared-aes' });
      const ec = await c.generateKey('ECC_NIST_P256', { token: true, label: 'shared-ec' });
      for (const label of ['shared-aes', 'shared-ec']) for (const a of onTokens(tokens, label)) expect(a).toEqual({ extractable: false, sensitive: true, local: false });
      await expect(c.generateKey('AES_256', { token: true, label: 'shared-aes' })).rejects.toMatchObject({ name: 'KeyLabelError', reason: 'exists' });
      await expect(c.generateKey('AES_256', { token: true, label: 'x', extractable: true })).rejects.toThrow(TypeError);

      // Whichever member runs an operation, it is the same key: every member's result opens on every other.
      const iv = randomBytes(12);
      const cts = new Set<string>();
      const sigs: Uint8Array[] = [];
      for (let i = 0; i < 6; i++) {
        cts.add(Buffer.from(await c.encrypt(aes, iv, Buffer.from('same'), new Uint8Array(0))).toString('hex'));
        sigs.push(await c.sign(ec, 'ECDSA_SHA_256', Buffer.from('m'), 'RAW'));
      }
      expect(cts.size).toBe(1);
      for (const s of sigs) expect(await c.verify(ec, 'ECDSA_SHA_256', Buffer.from('m'), 'RAW', s)).toBe(true);
      expect(c.status().every((m) => m.served > 0)).toBe(true);

      // A session key made on one member reaches the others (through the CTK) when its maker fails.
      const k = await c.generateKey('AES_256');
      const ct = await c.encrypt(k, iv, Buffer.from('moving'), new Uint8Array(0));
      for (const down of [0, 1]) {
        c.setFault(down);
        expect(Buffer.from(await c.decrypt(k, iv, ct, new Uint8Array(0))).toString()).toBe('moving');
      }
      c.setFault(0, null);
      c.setFault(1, null);
      await c.checkHealth();
      expect(c.status().map((m) => m.healthy)).toEqual([true, true, true]);

      await c.deleteTokenKey(await c.openKey('shared-aes'));
      expect(onTokens(tokens, 'shared-aes')).toEqual([undefined, undefined, undefined]);
    } finally {
      c.close();
    }
  });

  it('with one member in service, the CTK and token keys are generated inside that token, never in Keyward\'s memory', async () => {
    const generated = { extractable: false, sensitive: true, local: true };
    const solo = await HsmCluster.open({ members: [T.solo], healthCheckMs: 0 });
    try {
      expect(onTokens(['solo'], CLUSTER_TRANSPORT_LABEL)).toEqual([generated]);
      const aes = await solo.generateKey('AES_256', { token: true, label: 'solo-aes' });
      const ec = await solo.generateKey('ECC_NIST_P256', { token: true, label: 'solo-ec' });
      for (const label of ['solo-aes', 'solo-ec']) expect(onTokens(['solo'], label)).toEqual([generated]);
      await expect(solo.generateKey('AES_256', { token: true, label: 'solo-aes' })).rejects.toMatchObject({ name: 'KeyLabelError', reason: 'exists' });
      const iv = randomBytes(12);
      const ct = await solo.encrypt(aes, iv, Buffer.from('alone'), new Uint8Array(0));
      expect(Buffer.from(await solo.decrypt(aes, iv, ct, new Uint8Array(0))).toString()).toBe('alone');
      expect(await solo.verify(ec, 'ECDSA_SHA_256', Buffer.from('m'), 'RAW', await solo.sign(ec, 'ECDSA_SHA_256', Buffer.from('m'), 'RAW'))).toBe(true);
      // The member's sessions gone as a key is made: it is taken out, the caller gets the cluster's error
      // naming the member's, and after the health check the key is made.
      killSessions('solo');
      const err = await solo.generateKey('AES_256', { token: true, label: 'solo-later' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ClusterUnavailableError);
      expect((err as ClusterUnavailableError).failures.map((f) => (f.error as Pkcs11Error).ckr)).toEqual(['CKR_SESSION_HANDLE_INVALID']);
      expect(solo.status()[0]).toMatchObject({ healthy: false, outages: 1 });
      await solo.checkHealth();
      await solo.generateKey('AES_256', { token: true, label: 'solo-later' });
      expect(onTokens(['solo'], 'solo-later')).toEqual([generated]);
    } finally {
      solo.close();
    }
    // A larger cluster with all but one member out of service does the same: the others lack the key either way.
    const c = await HsmCluster.open(cluster('c2', { healthCheckMs: 0 }));
    try {
      c.setFault(1);
      c.setFault(2);
      await c.generateKey('AES_256', { token: true, label: 'made-on-a-alone' });
      expect(onTokens(['c2-a', 'c2-b', 'c2-c'], 'made-on-a-alone')).toEqual([generated, undefined, undefined]);
      c.setFault(1, null);
      c.setFault(2, null);
      await c.checkHealth();
      await c.deleteTokenKey(await c.openKey('made-on-a-alone'));
    } finally {
      c.close();
    }
  });

  it('a member out of service at a token key\'s ceremony lacks that key: it is passed over for it, not taken out', async () => {
    const c = await HsmCluster.open(cluster('c2', { healthCheckMs: 0 }));
    try {
      c.setFault(2);
      const late = await c.generateKey('AES_256', { token: true, label: 'made-without-c' });
      c.setFault(2, null);
      await c.checkHealth();
      expect(onTokens(['c2-a', 'c2-b', 'c2-c'], 'made-without-c')).toEqual([{ extractable: false, sensitive: true, local: false }, { extractable: false, sensitive: true, local: false }, undefined]);
      const outages = c.status()[2]!.outages;
      const served = c.status()[2]!.served;
      const iv = randomBytes(12);
      for (let i = 0; i < 6; i++) await c.encrypt(late, iv, Buffer.from('p'), new Uint8Array(0));
      // Member c still serves everything else, and was not taken out for lacking the key.
      for (let i = 0; i < 6; i++) await c.random(1);
      expect(c.status()[2]).toMatchObject({ healthy: true, outages });
      expect(c.status()[2]!.served).toBeGreaterThan(served);
      expect((await c.openKey('made-without-c')).spec).toBe('AES_256');
      await expect(c.openKey('nowhere')).rejects.toMatchObject({ name: 'KeyLabelError', reason: 'not-found' });
      await c.deleteTokenKey(await c.openKey('made-without-c'));
    } finally {
      c.close();
    }
  });

  it('errors that are not the member\'s pass through; with every member down the error names each failure', async () => {
    const c = await HsmCluster.open(cluster('c2', { healthCheckMs: 0 }));
    try {
      const k = await c.importKey('AES_256', randomBytes(32));
      const iv = randomBytes(12);
      const ct = await c.encrypt(k, iv, Buffer.from('x'), new Uint8Array(0));
      ct[0]! ^= 1;
      await expect(c.decrypt(k, iv, ct, new Uint8Array(0))).rejects.toBeInstanceOf(AuthenticationError);
      await expect(c.openKey('no-such-key')).rejects.toMatchObject({ name: 'KeyLabelError', reason: 'not-found' });
      expect(c.status().every((m) => m.healthy && m.outages === 0)).toBe(true);
      for (const i of [0, 1, 2]) c.setFault(i);
      const err = await c.random(4).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ClusterUnavailableError);
      expect((err as ClusterUnavailableError).failures).toHaveLength(3);
      expect((err as ClusterUnavailableError).failures.every((f) => (f.error as Pkcs11Error).ckr === 'CKR_DEVICE_ERROR')).toBe(true);
      await expect(c.random(4)).rejects.toThrow(/every member is out of service/);
      await c.checkHealth();
      expect(c.status().some((m) => m.healthy)).toBe(false);
    } finally {
      c.close();
    }
  });
});

describe('members that cannot join', () => {
  it('a member whose PIN is refused starts out of service and is not retried; one without the CTK is refused', async () => {
    const cfg = cluster('c2', { healthCheckMs: 0 });
    cfg.members[2] = { ...cfg.members[2]!, pin: '99999999' };
    const c = await HsmCluster.open(cfg);
    try {
      const bad = c.status()[2]!;
      expect(bad.healthy).toBe(false);
      expect(bad.lastError).toMatchObject({ name: 'Pkcs11Error', ckr: 'CKR_PIN_INCORRECT', method: 'C_Login' });
      await c.checkHealth();
      // The same error object: no second login was tried.
      expect(c.status()[2]!.lastError).toBe(bad.lastError);
      expect((await c.random(8)).length).toBe(8);
    } finally {
      c.close();
    }
    await expect(HsmCluster.open({ members: [T['c2-a'], T.lone], healthCheckMs: 0 })).rejects.toThrow(/lack the cluster transport key/);
  });
});

describe('failover under load', () => {
  it('keeps serving a concurrent load with zero failed operations while a member fails and comes back', async () => {
    const c = await HsmCluster.open(cluster('c3', { healthCheckMs: 100 }));
    try {
      // The hierarchy's shapes: a token root key, a session key unwrapped under it, per-call derived keys.
      const root = await c.generateKey('AES_256', { token: true, label: 'root' });
      const dk = await c.generateKey('AES_256');
      const wrapped = await c.wrapKey(root, dk, Buffer.from('dk'));
      const unwrapped = await c.unwrapKey(root, 'AES_256', wrapped, Buffer.from('dk'));
      const ec = await c.generateKey('ECC_NIST_P256', { token: true, label: 'signer' });
      const mac = await c.importKey('HMAC_256', randomBytes(32));

      let ok = 0;
      const failures: unknown[] = [];
      let stop = false;
      const one = async (i: number): Promise<void> => {
        const pt = randomBytes(16 + (i % 64));
        const iv = randomBytes(12);
        switch (i % 4) {
          case 0: {
            const ct = await c.encrypt(unwrapped, iv, pt, Buffer.from('aad'));
            expect(Buffer.from(await c.decrypt(unwrapped, iv, ct, Buffer.from('aad')))).toEqual(pt);
            break;
          }
          case 1: {
            const k: KeyHandle = await c.deriveKey(unwrapped, randomBytes(16), Buffer.from('info'));
            try {
              const ct = await c.encrypt(k, iv, pt, new Uint8Array(0));
              expect(Buffer.from(await c.decrypt(k, iv, ct, new Uint8Array(0)))).toEqual(pt);
            } finally {
              await c.destroyKey(k);
            }
            break;
          }
          case 2: {
            const sig = await c.sign(ec, 'ECDSA_SHA_256', pt, 'RAW');
            expect(await c.verify(ec, 'ECDSA_SHA_256', pt, 'RAW', sig)).toBe(true);
            break;
          }
          default: {
            const tag = await c.mac(mac, 'HMAC_SHA_256', pt);
            expect(await c.verifyMac(mac, 'HMAC_SHA_256', pt, tag)).toBe(true);
            expect(createHash('sha256').update(pt).digest().length).toBe(32);
          }
        }
      };
      const worker = async (w: number): Promise<void> => {
        for (let i = w; !stop; i += 8) {
          try {
            await one(i);
            ok++;
          } catch (e) {
            failures.push(e);
          }
        }
      };
      const workers = Array.from({ length: 8 }, (_, w) => worker(w));

      // Conditions, not fixed sleeps, so a slow machine only makes the phases longer.
      const until = (check: () => void) => vi.waitFor(check, { timeout: 15_000, interval: 20 });
      await until(() => expect(c.status()[1]!.served).toBeGreaterThan(0));
      const okAtFailure = ok;
      // Member b fails: every session this process has on it dies, and its device keeps failing.
      killSessions('c3-b');
      c.setFault(1);
      // Taken out, and the load goes on without it.
      await until(() => {
        const down = c.status()[1]!;
        expect(down.healthy).toBe(false);
        expect(down.outages).toBe(1);
        expect(ok).toBeGreaterThan(okAtFailure + 50);
      });
      const servedWhileDown = c.status()[1]!.served;
      // The device is repaired: the health check reconnects it and it takes work again.
      c.setFault(1, null);
      await until(() => {
        const back = c.status()[1]!;
        expect(back.healthy, String(back.lastError)).toBe(true);
        expect(back.served).toBeGreaterThan(servedWhileDown);
      });
      stop = true;
      await Promise.all(workers);

      expect(failures).toEqual([]);
      const back = c.status()[1]!;
      expect(back.healthy, String(back.lastError)).toBe(true);
      expect(back.served).toBeGreaterThan(servedWhileDown);
      expect(ok).toBeGreaterThan(100);
    } finally {
      c.close();
    }
  }, 30_000);
});

describe('a Keyward on a cluster and cluster config files', () => {
  it('Keyward.open({ hsm: cluster }) keeps its region key and HSM-held CMKs on every member and survives a member failure', async () => {
    const dir = join(T.dir, 'kw-cluster');
    const hsm = cluster('c4', { healthCheckMs: 0 });
    const kw = await Keyward.open({ dir, hsm, maintenanceIntervalMs: 0 });
    let blob: Uint8Array;
    let keyId: string;
    try {
      keyId = (await kw.createKey({ Origin: 'AWS_CLOUDHSM' })).KeyMetadata.KeyId;
      for (const label of ['keyward-rk-us-east-1', `keyward-cmk/us-east-1/${keyId}/1`]) {
        for (const a of onTokens(['c4-a', 'c4-b'], label)) expect(a).toEqual({ extractable: false, sensitive: true, local: false });
      }
      blob = (await kw.encrypt({ KeyId: keyId, Plaintext: Buffer.from('clustered') })).CiphertextBlob;
    } finally {
      await kw.close();
    }
    const again = await Keyward.open({ dir, hsm, maintenanceIntervalMs: 0 });
    try {
      killSessions('c4-a');
      for (let i = 0; i < 4; i++) expect(Buffer.from((await again.decrypt({ CiphertextBlob: blob })).Plaintext).toString()).toBe('clustered');
    } finally {
      await again.close();
    }
  });

  it('loads a cluster from a config file (PIN from the environment), and refuses pins and unknown fields in it', async () => {
    const file = join(T.dir, 'cluster.json');
    const pinFile = join(T.dir, 'pin');
    writeFileSync(pinFile, `${USER_PIN}\n`);
    chmodSync(pinFile, 0o600);
    writeFileSync(file, JSON.stringify({ members: [{ module: SOFTHSM_MODULE, tokenLabel: 'c4-a', pinFile }, { module: SOFTHSM_MODULE, tokenLabel: 'c4-b' }], healthCheckMs: 0 }));
    const setup = loadHsmSetup(file, { KEYWARD_HSM_PIN: USER_PIN });
    expect(setup).toEqual({ members: [{ module: SOFTHSM_MODULE, tokenLabel: 'c4-a', pinFile, sessions: 4 }, { module: SOFTHSM_MODULE, tokenLabel: 'c4-b', pin: USER_PIN, sessions: 4 }], healthCheckMs: 0 });
    expect(() => loadHsmSetup(file, {})).toThrow(HsmConfigError);
    writeFileSync(file, JSON.stringify({ members: [{ module: SOFTHSM_MODULE, tokenLabel: 'c4-a', pin: USER_PIN }] }));
    expect(() => loadHsmSetup(file, {})).toThrow(/holds a "pin"/);
    writeFileSync(file, JSON.stringify({ members: [], extra: 1 }));
    expect(() => loadHsmSetup(file, {})).toThrow(/unknown field "extra"/);
    writeFileSync(file, JSON.stringify({ members: [{ module: SOFTHSM_MODULE, tokenLabel: 'c4-a' }, { module: SOFTHSM_MODULE, tokenLabel: 'c4-a' }] }));
    expect(() => loadHsmSetup(file, { KEYWARD_HSM_PIN: USER_PIN })).toThrow(/listed twice/);
    // A single-token file is still a single token.
    writeFileSync(file, JSON.stringify({ module: SOFTHSM_MODULE, tokenLabel: 'c4-a', pinFile }));
    const single = await openHsm(file);
    expect(single.name).toBe('pkcs11');
    single.close();
  });
});
