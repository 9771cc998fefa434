// Keyward: the embeddable KMS. `await Keyward.open({ dir })`, then one method per AWS KMS operation in
// lowerCamelCase with AWS request/response shapes; errors are KmsError subclasses named for the AWS
// exception. Every call runs as a principal (`kw.as(arn)`), is authorized by the key's policy and
// grants, and is audited in the same transaction as the change it makes.
import { closeSync, existsSync, mkdirSync, openSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Provider } from '../crypto/provider.js';
import type { HsmCluster, HsmSetup } from '../hsm/cluster.js';
import type { Pkcs11Provider } from '../hsm/pkcs11-provider.js';
import { WasmProvider } from '../crypto/wasm-provider.js';
import { KeyHierarchy } from '../keys/hierarchy.js';
import { createUnsealKeyFile, loadUnsealKey, UnsealError, UNSEAL_KEY_ENV } from '../keys/unseal.js';
import { AuditChainVerifier, type AuditVerifyResult } from '../store/audit-chain.js';
import type { PoolConfig } from 'pg';
import { openSqliteStore } from '../store/sqlite.js';
import { createPidFile, pidIn, processAlive } from '../store/pid-file.js';
import type { AuditRecord, Store } from '../store/types.js';
import { Engine, SYSTEM_PRINCIPAL, isRegionName, type Call } from './engine.js';
import { ValidationException } from './errors.js';
import * as aliases from './ops-aliases.js';
import * as crypto from './ops-crypto.js';
import * as imports from './ops-import.js';
import * as grants from './ops-grants.js';
import * as keys from './ops-keys.js';
import * as replicate from './ops-replicate.js';
import * as rotation from './ops-rotation.js';
import { maintain } from './maintenance.js';
import type * as T from './types.js';

export interface KeywardOptions {
  /** The store directory (default `$KEYWARD_DIR` or `./.keyward`). */
  dir?: string;
  /** Default region of this handle (default `$KEYWARD_REGION` or us-east-1). */
  region?: string;
  /** The 12-digit account that owns the keys (default `$KEYWARD_ACCOUNT` or 000000000000). */
  account?: string;
  /** The crypto provider (default: the WASM software provider). */
  provider?: Provider;
  /**
   * HSM mode: a token config, a cluster config, or the path of an HSM config file. Keyward opens the
   * Pkcs11Provider (or HsmCluster) and closes it on close(); the region key is a non-extractable token
   * key, so there is no unseal key. A store initialized this way refuses to open without it.
   */
  hsm?: HsmSetup;
  /** The unseal key (software mode); default `$KEYWARD_UNSEAL_KEY` or `<dir>/unseal.key`. */
  unsealKey?: Uint8Array;
  /** Initialize an empty directory (unseal key file, region key) on first open; default true. */
  create?: boolean;
  /** The caller of this handle (default the account root). */
  principal?: string;
  /** Principals of the default key policy: administrators and users (default: the creating principal). */
  keyAdministrators?: string[];
  keyUsers?: string[];
  /** Domain key rotation period (default 24 h). */
  domainKeyRotationMs?: number;
  /** How often scheduled work runs: deletions, rotations, expiries (default 60 s; 0 = only on open and maintenance()). */
  maintenanceIntervalMs?: number;
  /** Clock, for tests. */
  now?: () => number;
  /**
   * Keep the keys in PostgreSQL instead of `<dir>/keyward.db`, shared by every engine node given the same
   * database (and the same unseal key or HSM). The unseal key and the lock file still live in `dir`, one
   * dir per node. A cached key is checked against its revision in the database on every use (one indexed
   * read), so changes made by other nodes are seen at once.
   */
  store?: { postgres: string | PoolConfig; schema?: string };
}

const STORE_FILE = 'keyward.db';
const LOCK_FILE = 'keyward.lock';

/** Stores open in this process (the lock file holds only the pid, which is the same for all of them). */
const openHere = new Set<string>();

/** One engine owns a store at a time: it caches keys and serializes changes in memory. */
function takeLock(dir: string): string {
  const path = join(dir, LOCK_FILE);
  if (openHere.has(path)) throw new ValidationException(`the store in ${dir} is already open in this process`);
  for (let attempt = 0; attempt < 2; attempt++) {
    if (createPidFile(path)) {
      openHere.add(path);
      return path;
    }
    const pid = pidIn(path);
    if (Number.isInteger(pid) && pid !== process.pid && processAlive(pid)) {
      throw new ValidationException(`the store in ${dir} is open in process ${pid}`);
    }
    rmSync(path, { force: true });
  }
  throw new ValidationException(`could not lock the store in ${dir}`);
}

function releaseLock(path: string): void {
  openHere.delete(path);
  rmSync(path, { force: true });
}

interface Shared {
  engine: Engine;
  store: Store;
  lockPath: string;
  /** The HSM provider this Keyward opened (hsm option), closed with it. */
  hsm: Pkcs11Provider | HsmCluster | undefined;
  timer: NodeJS.Timeout | undefined;
  closed: boolean;
}

export class Keyward {
  private constructor(
    private readonly shared: Shared,
    /** The caller every operation of this handle runs as. */
    readonly principal: string,
    /** The region this handle addresses. */
    readonly region: string,
  ) {}

  /** Opens (and on first use initializes) the store in `dir`. */
  static async open(opts: KeywardOptions = {}): Promise<Keyward> {
    const dir = resolve(opts.dir ?? process.env.KEYWARD_DIR ?? '.keyward');
    const region = opts.region ?? process.env.KEYWARD_REGION ?? 'us-east-1';
    const account = opts.account ?? process.env.KEYWARD_ACCOUNT ?? '000000000000';
    if (!isRegionName(region)) throw new ValidationException(`invalid region ${JSON.stringify(region)}: expected a name like us-east-1`);
    if (opts.hsm !== undefined && (opts.provider !== undefined || opts.unsealKey !== undefined)) {
      throw new ValidationException('give hsm, or a provider and/or unseal key, not both: an HSM-backed store uses the HSM provider and has no unseal key');
    }
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const lockPath = takeLock(dir);
    let store: Store | undefined;
    let hsm: Pkcs11Provider | HsmCluster | undefined;
    try {
      const pgStore = opts.store?.postgres;
      if (pgStore !== undefined) {
        // Loaded only for PostgreSQL: an embedded Keyward never loads pg.
        const { openPostgresStore } = await import('../store/postgres.js');
        store = await openPostgresStore(pgStore, opts.store?.schema !== undefined ? { schema: opts.store.schema } : {});
        if (opts.create === false && (await KeyHierarchy.storeMode(store)) === undefined) {
          throw new UnsealError('no Keyward store in the PostgreSQL database (run keyward init with it)');
        }
      } else {
        const fresh = !existsSync(join(dir, STORE_FILE));
        if (fresh && opts.create === false) throw new UnsealError(`no Keyward store in ${dir} (run keyward init)`);
        // Created 0600 before SQLite opens it: SQLite gives its -wal and -shm files the database's mode.
        if (fresh) closeSync(openSync(join(dir, STORE_FILE), 'wx', 0o600));
        store = await openSqliteStore(join(dir, STORE_FILE));
      }
      let unsealKey = opts.unsealKey;
      const mode = await KeyHierarchy.storeMode(store);
      // An HSM-backed store has no unseal key: the hierarchy then names the missing HSM config.
      if (!unsealKey && opts.hsm === undefined && mode !== 'hsm') {
        if (mode === undefined && process.env[UNSEAL_KEY_ENV] === undefined && !existsSync(join(dir, 'unseal.key'))) await createUnsealKeyFile(dir);
        unsealKey = loadUnsealKey(dir);
      }
      // Nodes sharing a store initialize it (or add a region) one at a time: two first opens racing would
      // each seal their own region key, and one node would then wrap under a key the store no longer has.
      // The HSM is opened under the same lock: two nodes opening a new cluster would each set out to make
      // its transport key, and one would fail to start (or, interleaved finely, both would make one).
      // The lock is the store's key lock on a name no key can have (no region is named '*').
      const unlockSetup = await store.lockKey?.('*', 'setup');
      let hierarchy: KeyHierarchy;
      let provider: Provider;
      try {
        // Loaded only for HSM mode: a software-only Keyward never loads the PKCS#11 bindings.
        if (opts.hsm !== undefined) hsm = await (await import('../hsm/cluster.js')).openHsm(opts.hsm);
        provider = hsm ?? opts.provider ?? new WasmProvider();
        const hopts = {
          provider, store,
          ...(hsm ? { regionKeyInHsm: true } : unsealKey ? { unsealKey } : {}),
          ...(opts.domainKeyRotationMs !== undefined ? { domainRotationMs: opts.domainKeyRotationMs } : {}),
          ...(opts.now ? { now: opts.now } : {}),
        };
        await KeyHierarchy.initialize({ ...hopts, region });
        hierarchy = await KeyHierarchy.open(hopts);
        if (!hierarchy.regions().includes(region)) await hierarchy.addRegion(region);
      } finally {
        unlockSetup?.();
      }
      const engine = new Engine({
        store, hierarchy, provider, region, account, now: opts.now ?? Date.now,
        keyAdministrators: opts.keyAdministrators ?? [], keyUsers: opts.keyUsers ?? [],
      });
      const shared: Shared = { engine, store, lockPath, hsm, timer: undefined, closed: false };
      const kw = new Keyward(shared, opts.principal ?? `arn:aws:iam::${account}:root`, region);
      await kw.maintenance();
      const every = opts.maintenanceIntervalMs ?? 60_000;
      if (every > 0) {
        shared.timer = setInterval(() => void kw.maintenance().catch(() => undefined), every);
        shared.timer.unref();
      }
      return kw;
    } catch (err) {
      await store?.close();
      hsm?.close();
      releaseLock(lockPath);
      throw err;
    }
  }

  /** The same engine, calling as another principal (an IAM ARN such as arn:aws:iam::111122223333:user/alice). */
  as(principal: string): Keyward {
    return new Keyward(this.shared, principal, this.region);
  }

  /** The same engine and principal, addressing another region of this store (multi-Region replicas live there). */
  inRegion(region: string): Keyward {
    return new Keyward(this.shared, this.principal, region);
  }

  /** The engine's account id. */
  get account(): string {
    return this.shared.engine.account;
  }

  /** Runs scheduled work now: deletions past their date, automatic rotations, expired imported material, domain key rotation. */
  async maintenance(): Promise<void> {
    this.live();
    await maintain(this.shared.engine, SYSTEM_PRINCIPAL(this.shared.engine.account));
  }

  /**
   * Checks the whole audit log: every record's MAC chain from the first, and the head proof, so an edited,
   * removed, reordered or cut-off record is found (with the seq where the chain breaks).
   */
  async verifyAudit(): Promise<AuditVerifyResult> {
    this.live();
    const { store, engine } = this.shared;
    const verifier = new AuditChainVerifier(engine.hierarchy.auditMac);
    for (let seq = 1; ; ) {
      const page = await store.readAudit(seq, 1000);
      for (const r of page) {
        const failure = verifier.push(r);
        if (failure) return failure;
      }
      if (page.length < 1000) break;
      seq = page[page.length - 1]!.seq + 1;
    }
    return verifier.finish(await store.auditHeadProof());
  }

  /** The last `n` audit records, oldest first. */
  async auditTail(n = 20): Promise<AuditRecord[]> {
    this.live();
    const head = await this.shared.store.auditHead();
    if (!head) return [];
    return this.shared.store.readAudit(Math.max(1, head.seq - n + 1), n);
  }

  /** Flushes pending commits, destroys cached key handles and releases the store. */
  async close(): Promise<void> {
    const s = this.shared;
    if (s.closed) return;
    s.closed = true;
    if (s.timer) clearInterval(s.timer);
    await s.store.close();
    try {
      await s.engine.hierarchy.close();
    } finally {
      s.hsm?.close();
      releaseLock(s.lockPath);
    }
  }

  private live(): void {
    if (this.shared.closed) throw new ValidationException('this Keyward is closed');
  }

  private op<R, Q>(operation: string, fn: (e: Engine, call: Call, r: Q) => Promise<R>, r: Q): Promise<R> {
    this.live();
    return this.shared.engine.run(this.principal, operation, this.region, (call) => fn(this.shared.engine, call, r));
  }

  // Keys
  createKey(r: T.CreateKeyRequest = {}) { return this.op('CreateKey', keys.createKey, r); }
  describeKey(r: T.KeyIdRequest & { GrantTokens?: string[] }) { return this.op('DescribeKey', keys.describeKey, r); }
  listKeys(r: T.ListRequest = {}) { return this.op('ListKeys', keys.listKeys, r); }
  enableKey(r: T.KeyIdRequest) { return this.op('EnableKey', keys.enableKey, r); }
  disableKey(r: T.KeyIdRequest) { return this.op('DisableKey', keys.disableKey, r); }
  scheduleKeyDeletion(r: T.ScheduleKeyDeletionRequest) { return this.op('ScheduleKeyDeletion', keys.scheduleKeyDeletion, r); }
  cancelKeyDeletion(r: T.KeyIdRequest) { return this.op('CancelKeyDeletion', keys.cancelKeyDeletion, r); }
  getKeyPolicy(r: T.KeyIdRequest & { PolicyName?: string }) { return this.op('GetKeyPolicy', keys.getKeyPolicy, r); }
  putKeyPolicy(r: T.KeyIdRequest & { PolicyName?: string; Policy: string; BypassPolicyLockoutSafetyCheck?: boolean }) { return this.op('PutKeyPolicy', keys.putKeyPolicy, r); }
  listKeyPolicies(r: T.KeyIdRequest) { return this.op('ListKeyPolicies', keys.listKeyPolicies, r); }
  tagResource(r: T.KeyIdRequest & { Tags: T.Tag[] }) { return this.op('TagResource', keys.tagResource, r); }
  untagResource(r: T.KeyIdRequest & { TagKeys: string[] }) { return this.op('UntagResource', keys.untagResource, r); }
  listResourceTags(r: T.KeyIdRequest & T.ListRequest) { return this.op('ListResourceTags', keys.listResourceTags, r); }

  // Aliases
  createAlias(r: { AliasName: string; TargetKeyId: string }) { return this.op('CreateAlias', aliases.createAlias, r); }
  updateAlias(r: { AliasName: string; TargetKeyId: string }) { return this.op('UpdateAlias', aliases.updateAlias, r); }
  deleteAlias(r: { AliasName: string }) { return this.op('DeleteAlias', aliases.deleteAlias, r); }
  listAliases(r: T.ListRequest & { KeyId?: string } = {}) { return this.op('ListAliases', aliases.listAliases, r); }

  // Cryptographic operations
  encrypt(r: T.EncryptRequest) { return this.op('Encrypt', crypto.encrypt, r); }
  decrypt(r: T.DecryptRequest) { return this.op('Decrypt', crypto.decrypt, r); }
  reEncrypt(r: T.ReEncryptRequest) { return this.op('ReEncrypt', crypto.reEncrypt, r); }
  generateDataKey(r: T.GenerateDataKeyRequest) { return this.op('GenerateDataKey', crypto.generateDataKey, r); }
  generateDataKeyWithoutPlaintext(r: T.GenerateDataKeyRequest) { return this.op('GenerateDataKeyWithoutPlaintext', crypto.generateDataKeyWithoutPlaintext, r); }
  generateDataKeyPair(r: T.GenerateDataKeyPairRequest) { return this.op('GenerateDataKeyPair', crypto.generateDataKeyPair, r); }
  generateDataKeyPairWithoutPlaintext(r: T.GenerateDataKeyPairRequest) { return this.op('GenerateDataKeyPairWithoutPlaintext', crypto.generateDataKeyPairWithoutPlaintext, r); }
  sign(r: T.SignRequest) { return this.op('Sign', crypto.sign, r); }
  verify(r: T.VerifyRequest) { return this.op('Verify', crypto.verify, r); }
  getPublicKey(r: T.KeyIdRequest & { GrantTokens?: string[] }) { return this.op('GetPublicKey', crypto.getPublicKey, r); }
  generateMac(r: T.GenerateMacRequest) { return this.op('GenerateMac', crypto.generateMac, r); }
  verifyMac(r: T.VerifyMacRequest) { return this.op('VerifyMac', crypto.verifyMac, r); }
  generateRandom(r: { NumberOfBytes?: number } = {}) { return this.op('GenerateRandom', crypto.generateRandom, r); }

  // Rotation
  enableKeyRotation(r: T.KeyIdRequest & { RotationPeriodInDays?: number }) { return this.op('EnableKeyRotation', rotation.enableKeyRotation, r); }
  disableKeyRotation(r: T.KeyIdRequest) { return this.op('DisableKeyRotation', rotation.disableKeyRotation, r); }
  getKeyRotationStatus(r: T.KeyIdRequest) { return this.op('GetKeyRotationStatus', rotation.getKeyRotationStatus, r); }
  rotateKeyOnDemand(r: T.KeyIdRequest) { return this.op('RotateKeyOnDemand', rotation.rotateKeyOnDemand, r); }
  listKeyRotations(r: T.KeyIdRequest & T.ListRequest) { return this.op('ListKeyRotations', rotation.listKeyRotations, r); }

  // Imported key material
  getParametersForImport(r: imports.GetParametersForImportRequest) { return this.op('GetParametersForImport', imports.getParametersForImport, r); }
  importKeyMaterial(r: imports.ImportKeyMaterialRequest) { return this.op('ImportKeyMaterial', imports.importKeyMaterial, r); }
  deleteImportedKeyMaterial(r: T.KeyIdRequest) { return this.op('DeleteImportedKeyMaterial', imports.deleteImportedKeyMaterial, r); }

  // Grants
  createGrant(r: grants.CreateGrantRequest) { return this.op('CreateGrant', grants.createGrant, r); }
  listGrants(r: grants.ListGrantsRequest) { return this.op('ListGrants', grants.listGrants, r); }
  listRetirableGrants(r: grants.ListRetirableGrantsRequest) { return this.op('ListRetirableGrants', grants.listRetirableGrants, r); }
  retireGrant(r: grants.RetireGrantRequest) { return this.op('RetireGrant', grants.retireGrant, r); }
  revokeGrant(r: grants.RevokeGrantRequest) { return this.op('RevokeGrant', grants.revokeGrant, r); }

  // Multi-Region keys
  replicateKey(r: replicate.ReplicateKeyRequest) { return this.op('ReplicateKey', replicate.replicateKey, r); }
}
