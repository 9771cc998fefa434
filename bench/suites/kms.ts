// The embedded engine end to end: GenerateDataKey (AES_256) and Decrypt of a data key blob through
// Keyward's public API, with the WASM provider and with node:crypto (OpenSSL) side by side. Each column is
// a whole engine as an application runs it: its own SQLite store in a temp directory (WAL,
// synchronous=FULL, as the store always opens), the key hierarchy, the default key policy, and the audit
// log, which every call appends to in the same commit as its result.
//
// How it is measured: one timed run starts BATCH calls at once (Promise.all) and ends when the last
// resolves, so BATCH calls are in flight together, as in a busy service. The store's group commit
// writes them in few transactions with one fsync each, which is where the engine's throughput comes
// from; one call at a time would measure the fsync instead. ops/s is BATCH × runs per second; the
// latency columns are a run's time over BATCH, an amortized cost, not any one call's latency.
//
// Before timing, each column's answers are checked across providers: a data key generated under one
// provider decrypts to the same bytes under the other on the same store, both ways. After timing, the
// audit log must verify and hold a record of every timed call.
import { mkdtempSync, rmSync, statfsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NodeCryptoProvider } from '../../src/crypto/node-provider.js';
import type { Provider } from '../../src/crypto/provider.js';
import { WasmProvider } from '../../src/crypto/wasm-provider.js';
import { Keyward } from '../../src/kms/keyward.js';
import { CrossValidationError, type AsyncImpl, type AsyncSuite } from '../harness.js';

/** Calls in flight per timed run. */
export const BATCH = 256;
const DATA_KEY_BYTES = 32;
const ACCOUNT = '111122223333';
// statfs type of tmpfs: there an fsync costs nothing, and the numbers would not include durability.
const TMPFS_MAGIC = 0x01021994;

interface Column {
  name: string;
  provider: () => Provider;
}

const COLUMNS: Column[] = [
  { name: 'keyward-wasm', provider: () => new WasmProvider() },
  { name: 'node:crypto', provider: () => new NodeCryptoProvider() },
];

const same = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(Buffer.from(b));

/** An engine on a fresh store, one symmetric key in it, and a count of the calls made against it. */
class Subject {
  private dir = '';
  private kw: Keyward | undefined;
  keyId = '';
  /** Calls made by run(), warm-up included: each must have its audit record. */
  calls = 0;

  constructor(
    private readonly suite: string,
    private readonly column: Column,
  ) {}

  get engine(): Keyward {
    if (!this.kw) throw new Error(`${this.suite}: ${this.column.name} is not set up`);
    return this.kw;
  }

  private open(provider: Provider): Promise<Keyward> {
    return Keyward.open({ dir: this.dir, account: ACCOUNT, provider });
  }

  /**
   * Creates the store and key, then checks this provider against the other one on the same store: a data
   * key made under either decrypts to the same bytes under both. Leaves the store open on this column's provider.
   */
  async setup(): Promise<void> {
    if (statfsSync(tmpdir()).type === TMPFS_MAGIC) console.warn(`warning: ${tmpdir()} is tmpfs; the kms suites measure no fsync there`);
    this.dir = mkdtempSync(join(tmpdir(), 'keyward-bench-'));
    const other = COLUMNS.find((c) => c !== this.column)!;
    const fail = (what: string) => new CrossValidationError(`${this.suite}: ${this.column.name} ${what}; not timed`);

    let kw = await this.open(this.column.provider());
    this.keyId = (await kw.createKey({ Description: `bench ${this.suite}` })).KeyMetadata.KeyId;
    const mine = await kw.generateDataKey({ KeyId: this.keyId, KeySpec: 'AES_256' });
    if (mine.Plaintext.length !== DATA_KEY_BYTES) throw fail(`made a ${mine.Plaintext.length}-byte AES_256 data key`);
    if (!same((await kw.decrypt({ CiphertextBlob: mine.CiphertextBlob })).Plaintext, mine.Plaintext)) throw fail('does not decrypt its own data key');
    await kw.close();

    kw = await this.open(other.provider());
    if (!same((await kw.decrypt({ CiphertextBlob: mine.CiphertextBlob })).Plaintext, mine.Plaintext)) throw fail(`made a data key ${other.name} decrypts differently`);
    const theirs = await kw.generateDataKey({ KeyId: this.keyId, KeySpec: 'AES_256' });
    await kw.close();

    this.kw = await this.open(this.column.provider());
    if (!same((await this.kw.decrypt({ CiphertextBlob: theirs.CiphertextBlob })).Plaintext, theirs.Plaintext)) throw fail(`decrypts a data key of ${other.name} differently`);
    mine.Plaintext.fill(0);
    theirs.Plaintext.fill(0);
  }

  /** The audit log verifies and recorded every timed call; then the store is closed and removed. */
  async teardown(): Promise<void> {
    try {
      if (!this.kw) return;
      const audit = await this.kw.verifyAudit();
      if (!audit.ok) throw new Error(`${this.suite}: ${this.column.name}: the audit log does not verify: ${JSON.stringify(audit)}`);
      const head = (await this.kw.auditTail(1))[0];
      if (!head || head.seq < this.calls) {
        throw new Error(`${this.suite}: ${this.column.name}: ${this.calls} calls made, ${head?.seq ?? 0} audit records`);
      }
      await this.kw.close();
    } finally {
      if (this.dir) rmSync(this.dir, { recursive: true, force: true });
    }
  }
}

function generateDataKey(column: Column): AsyncImpl {
  const s = new Subject('kms-generate-data-key', column);
  return {
    name: column.name,
    setup: () => s.setup(),
    async run() {
      const kw = s.engine;
      const out = await Promise.all(Array.from({ length: BATCH }, () => kw.generateDataKey({ KeyId: s.keyId, KeySpec: 'AES_256' })));
      for (const r of out) r.Plaintext.fill(0);
      s.calls += BATCH;
    },
    teardown: () => s.teardown(),
  };
}

function decrypt(column: Column): AsyncImpl {
  const s = new Subject('kms-decrypt', column);
  let blobs: Uint8Array[] = [];
  return {
    name: column.name,
    async setup() {
      await s.setup();
      // BATCH distinct data key blobs, decrypted over and over: each call derives its key and opens its blob anew.
      const made = await Promise.all(Array.from({ length: BATCH }, () => s.engine.generateDataKey({ KeyId: s.keyId, KeySpec: 'AES_256' })));
      blobs = made.map((r) => r.CiphertextBlob);
      for (const r of made) r.Plaintext.fill(0);
    },
    async run() {
      const kw = s.engine;
      const out = await Promise.all(blobs.map((b) => kw.decrypt({ CiphertextBlob: b })));
      for (const r of out) r.Plaintext.fill(0);
      s.calls += BATCH;
    },
    teardown: () => s.teardown(),
  };
}

export const kmsSuites: AsyncSuite[] = [
  { name: 'kms-generate-data-key', size: DATA_KEY_BYTES, batch: BATCH, baseline: 'node:crypto', impls: COLUMNS.map(generateDataKey) },
  { name: 'kms-decrypt', size: DATA_KEY_BYTES, batch: BATCH, baseline: 'node:crypto', impls: COLUMNS.map(decrypt) },
];
