// The engine the kms and server suites measure: a Keyward on a fresh temporary store using the provider
// under test, cross-checked against an engine on node:crypto over the same store before anything is timed.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NodeCryptoProvider } from '../crypto/node-provider.js';
import type { Provider } from '../crypto/provider.js';
import { Keyward } from '../kms/keyward.js';
import { same, wrong } from './check.js';

export const ACCOUNT = '111122223333';
/** Data key blobs the Decrypt operations cycle through. */
export const BLOBS = 64;

export interface BenchEngine {
  kw: Keyward;
  /** The symmetric CMK the operations use. */
  keyId: string;
  close(): Promise<void>;
}

/**
 * An engine on a fresh store in a temp directory (SQLite, audit log on, as an application runs it) using
 * provider p for its crypto, with one symmetric CMK. Checked against an engine on node:crypto on the same
 * store: a data key made by either decrypts to the same bytes under both.
 */
export async function engineOf(p: Provider, op: string): Promise<BenchEngine> {
  const dir = mkdtempSync(join(tmpdir(), 'keyward-bench-'));
  const open = (provider: Provider) => Keyward.open({ dir, account: ACCOUNT, provider, maintenanceIntervalMs: 0 });
  let kw: Keyward | undefined;
  try {
    kw = await open(p);
    const keyId = (await kw.createKey({ Description: 'keyward bench' })).KeyMetadata.KeyId;
    const mine = await kw.generateDataKey({ KeyId: keyId, KeySpec: 'AES_256' });
    await kw.close();
    kw = await open(new NodeCryptoProvider());
    // A blob node:crypto cannot open at all is a wrong answer too, not a failure of the run.
    const opened = (await kw.decrypt({ CiphertextBlob: mine.CiphertextBlob }).catch((e: Error) => {
      mine.Plaintext.fill(0);
      throw wrong(op, `made a data key whose blob node:crypto cannot decrypt (${e.name})`);
    })).Plaintext;
    const agrees = mine.Plaintext.length === 32 && same(opened, mine.Plaintext);
    opened.fill(0);
    mine.Plaintext.fill(0);
    if (!agrees) throw wrong(op, 'made a data key that decrypts differently under node:crypto');
    const theirs = await kw.generateDataKey({ KeyId: keyId, KeySpec: 'AES_256' });
    await kw.close();
    kw = await open(p);
    const back = (await kw.decrypt({ CiphertextBlob: theirs.CiphertextBlob }).catch((e: Error) => {
      theirs.Plaintext.fill(0);
      throw wrong(op, `cannot decrypt node:crypto's data key (${e.name})`);
    })).Plaintext;
    const ok = same(back, theirs.Plaintext);
    back.fill(0);
    theirs.Plaintext.fill(0);
    if (!ok) throw wrong(op, "decrypts node:crypto's data key differently");
    const engine = kw;
    return {
      kw: engine, keyId,
      async close() {
        try {
          await engine.close();
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      },
    };
  } catch (e) {
    await kw?.close().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}

/** n data key blobs under the engine's CMK, for the Decrypt operations to cycle through (plaintexts zeroed). */
export async function dataKeyBlobs(e: BenchEngine, n: number): Promise<Uint8Array[]> {
  const made = await Promise.all(Array.from({ length: n }, () => e.kw.generateDataKey({ KeyId: e.keyId, KeySpec: 'AES_256' })));
  for (const m of made) m.Plaintext.fill(0);
  return made.map((m) => m.CiphertextBlob);
}
