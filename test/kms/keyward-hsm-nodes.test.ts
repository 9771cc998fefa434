// Several Keyward nodes on one PostgreSQL store and one new HSM cluster, opened at the same moment, as a
// fleet starting for the first time does: the cluster transport key and the region key are made once, on
// every member, and each node opens what the other encrypts.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { CLUSTER_TRANSPORT_LABEL, HsmCluster } from '../../src/hsm/cluster.js';
import { pkcs11js as P } from '../../src/hsm/pkcs11.js';
import { Keyward } from '../../src/kms/keyward.js';
import { onEachToken, softhsmTokens } from '../hsm/_softhsm.js';
import { postgresForFile } from '../store/_postgres.js';

const T = softhsmTokens('n-a', 'n-b');
const pgOf = postgresForFile();

/** How many secret keys labelled label each token holds. */
const countOn = (tokens: string[], label: string): number[] => onEachToken(tokens, (s) => s.findObjects({ label, token: true, class: P.CKO_SECRET_KEY }).length);

describe('Keyward nodes opening one new HSM cluster at once', () => {
  it('make the transport key once on each member, and serve each other\'s ciphertexts', async () => {
    const hsm = { members: [T['n-a'], T['n-b']], healthCheckMs: 0 };
    const dirs = [0, 1].map(() => mkdtempSync(join(tmpdir(), 'keyward-hsm-node-')));
    // Each node waits at the cluster's door until the other arrives (or 500 ms pass), so that unless
    // something serializes them both set out to make the transport key: one then fails to start
    // (KeyLabelError 'exists'), or, interleaved more finely across processes, both make one.
    const open = HsmCluster.open.bind(HsmCluster);
    let arrived = 0;
    let bothArrived!: () => void;
    const both = new Promise<void>((resolve) => (bothArrived = resolve));
    const spy = vi.spyOn(HsmCluster, 'open').mockImplementation(async (...args) => {
      if (++arrived === 2) bothArrived();
      await Promise.race([both, new Promise((resolve) => setTimeout(resolve, 500))]);
      return open(...args);
    });
    const nodes = await Promise.all(dirs.map((dir) => Keyward.open({ dir, hsm, store: { postgres: pgOf().url }, maintenanceIntervalMs: 0 })));
    spy.mockRestore();
    try {
      expect(arrived).toBe(2);
      expect(countOn(['n-a', 'n-b'], CLUSTER_TRANSPORT_LABEL)).toEqual([1, 1]);
      const keyId = (await nodes[0]!.createKey({ Origin: 'AWS_CLOUDHSM' })).KeyMetadata.KeyId;
      const blob = (await nodes[0]!.encrypt({ KeyId: keyId, Plaintext: Buffer.from('fleet') })).CiphertextBlob;
      expect(Buffer.from((await nodes[1]!.decrypt({ CiphertextBlob: blob })).Plaintext).toString()).toBe('fleet');
    } finally {
      for (const n of nodes) await n.close();
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
    }
  }, 60_000);
});
