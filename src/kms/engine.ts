// The engine core shared by every operation: one call's life (request id, principal, audit entry, the
// mutations it commits), key resolution (ids, ARNs, aliases), the in-memory key cache, authorization
// through key policies and grants, key-state checks, and scheduled work (deletion, rotation, expiry).
// Operations live in ops-*.ts and see only this module; none of them touches bytes of key material.
import { randomUUID } from 'node:crypto';
import type { Provider } from '../crypto/provider.js';
import type { KeyHierarchy } from '../keys/hierarchy.js';
import type { AuditEntry, GrantRecord, Mutation, Store } from '../store/types.js';
import { ClusterUnavailableError, Pkcs11Error } from '../hsm/errors.js';
import { InvalidMarkerError, StoreConflictError } from '../store/types.js';
import { authorize, callerAccount, isValidPrincipalArn } from './access.js';
import type { GrantRequest } from './grants.js';
import {
  AccessDeniedException, AlreadyExistsException, DisabledException, InvalidMarkerException, KMSInternalException, KMSInvalidStateException, KmsError,
  NotFoundException, ValidationException,
} from './errors.js';
import { type LoadedKey, type StoredMeta, type StoredSettings } from './model.js';
import { parsePolicy, type PolicyDecision, type PolicyDocument } from './policy.js';
import type { EncryptionContext, KeyState } from './types.js';
import { show } from './validate.js';

export interface EngineOptions {
  store: Store;
  hierarchy: KeyHierarchy;
  provider: Provider;
  /** The region this engine answers for by default. */
  region: string;
  /** The 12-digit account that owns the keys (the domain of the domain keys). */
  account: string;
  now: () => number;
  /** Default key-policy principals for CreateKey without a Policy; empty means the caller. */
  keyAdministrators: string[];
  keyUsers: string[];
}

/** One operation in flight: what its audit record will say and what it will commit. */
export interface Call {
  readonly requestId: string;
  readonly principal: string;
  readonly operation: string;
  readonly region: string;
  keyId: string | null;
  encryptionContext: EncryptionContext | null;
  readonly mutations: Mutation[];
  /** Cache entries (region/keyId) to drop once the commit is durable. */
  readonly touched: Set<string>;
  /** Key locks held until the commit is durable (lockKey). */
  readonly locks: Map<string, () => void>;
}

interface CacheEntry {
  key: LoadedKey;
  policy: PolicyDocument;
  grants: GrantRecord[];
  /**
   * Policy decisions by principal and action, kept only for a policy without conditions: its answer then
   * depends on nothing else (the resource is this key), so the hot path skips evaluation.
   */
  decisions: Map<string, PolicyDecision> | undefined;
  /** The store's revision of the key when loaded (stores shared by several nodes: Store.keyRevision). */
  rev?: number;
}

const MAX_CACHED_DECISIONS = 4096;

const ACCOUNT_RE = /^\d{12}$/;
const KEY_ID_RE = /^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32})$/;
const ALIAS_RE = /^alias\/[a-zA-Z0-9/_-]{1,250}$/;

/** An AWS-style region name (us-east-1, eu-west-3, ap-southeast-2, us-gov-west-1). */
export function isRegionName(s: string): boolean {
  return /^[a-z]{2}(-[a-z]+)+-\d$/.test(s);
}

export function isKeyId(s: string): boolean {
  return KEY_ID_RE.test(s);
}

export function isAliasName(s: string): boolean {
  return ALIAS_RE.test(s);
}

export class Engine {
  readonly store: Store;
  readonly hierarchy: KeyHierarchy;
  readonly provider: Provider;
  readonly region: string;
  readonly account: string;
  readonly now: () => number;
  readonly keyAdministrators: string[];
  readonly keyUsers: string[];
  private readonly cache = new Map<string, CacheEntry>();
  /** Bumped whenever a key changes, so a load that raced a commit does not cache stale state. */
  private readonly generation = new Map<string, number>();
  private readonly locks = new Map<string, Promise<void>>();

  constructor(o: EngineOptions) {
    if (!ACCOUNT_RE.test(o.account)) throw new ValidationException(`expected a 12-digit account id, got ${JSON.stringify(o.account)}`);
    this.store = o.store;
    this.hierarchy = o.hierarchy;
    this.provider = o.provider;
    this.region = o.region;
    this.account = o.account;
    this.now = o.now;
    this.keyAdministrators = o.keyAdministrators;
    this.keyUsers = o.keyUsers;
  }

  arn(region: string, keyId: string): string {
    return `arn:aws:kms:${region}:${this.account}:key/${keyId}`;
  }

  aliasArn(region: string, aliasName: string): string {
    return `arn:aws:kms:${region}:${this.account}:${aliasName}`;
  }

  /**
   * Runs one operation: fn does the work and queues its mutations on the call; then the mutations and the
   * audit record commit together and only then does the result go out. A failure is audited too, with its
   * exception name, and rethrown as a KmsError (anything unexpected becomes KMSInternalException).
   */
  async run<T>(principal: string, operation: string, region: string, fn: (call: Call) => Promise<T>): Promise<T> {
    // A refused principal or region is still audited, under a printable stand-in for what was given.
    const validPrincipal = typeof principal === 'string' && isValidPrincipalArn(principal);
    const knownRegion = typeof region === 'string' && isRegionName(region);
    const call: Call = {
      requestId: randomUUID(), principal: validPrincipal ? principal : `invalid:${printable(principal)}`, operation,
      region: knownRegion ? region : `invalid:${printable(region)}`, keyId: null, encryptionContext: null, mutations: [], touched: new Set(), locks: new Map(),
    };
    let result: T;
    try {
      callerAccount(principal);
      if (!knownRegion) {
        throw new ValidationException(`invalid region ${show(region)}: expected a name like us-east-1`);
      }
      result = await fn(call);
      await this.store.commit(call.mutations, this.auditEntry(call, 'Success'));
    } catch (err) {
      const e = toKmsError(err);
      try {
        await this.store.commit([], this.auditEntry(call, e.name));
      } catch {
        throw new KMSInternalException('the audit log could not be written; the request was not performed');
      }
      throw e;
    } finally {
      for (const k of call.touched) this.invalidate(k);
      for (const release of call.locks.values()) release();
    }
    return result;
  }

  private auditEntry(call: Call, outcome: string): AuditEntry {
    return {
      time: this.now(), requestId: call.requestId, principal: call.principal, operation: call.operation, region: call.region,
      keyId: call.keyId, encryptionContext: call.encryptionContext, outcome,
    };
  }

  /**
   * Serializes state changes of one key (two rotations must not pick the same version number): the call
   * holds the lock until its commit is durable and the cache entry dropped, so the next holder re-reads
   * what this one wrote. Re-resolve the key after taking the lock.
   */
  async lockKey(call: Call, region: string, keyId: string): Promise<void> {
    const id = `${region}/${keyId}`;
    if (call.locks.has(id)) return;
    const prev = this.locks.get(id) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((r) => (release = r));
    const tail = prev.then(() => mine);
    this.locks.set(id, tail);
    call.locks.set(id, () => {
      release();
      if (this.locks.get(id) === tail) this.locks.delete(id);
    });
    await prev;
    // A store shared by several nodes locks the key across them too, until this call's commit is durable.
    if (this.store.lockKey) {
      const unlock = await this.store.lockKey(region, keyId);
      const local = call.locks.get(id)!;
      call.locks.set(id, () => {
        unlock();
        local();
      });
    }
  }

  invalidate(cacheId: string): void {
    this.cache.delete(cacheId);
    this.generation.set(cacheId, (this.generation.get(cacheId) ?? 0) + 1);
  }

  /** Marks a key as changed by this call: its cache entry is dropped after the commit. */
  touch(call: Call, region: string, keyId: string): void {
    call.touched.add(`${region}/${keyId}`);
  }

  /** A key with its policy and grants, from the cache or the store; undefined when absent. */
  async load(region: string, keyId: string): Promise<CacheEntry | undefined> {
    const id = `${region}/${keyId}`;
    const gen = this.generation.get(id) ?? 0;
    // Other nodes may change a shared store's keys: a cached key is used only while its revision holds.
    let rev: number | undefined;
    if (this.store.keyRevision) {
      rev = await this.store.keyRevision(region, keyId);
      if (rev === undefined) return undefined;
    }
    const hit = this.cache.get(id);
    if (hit && hit.rev === rev) return hit;
    const record = await this.store.getKey(region, keyId);
    if (!record) return undefined;
    const versions = await this.store.keyVersions(region, keyId);
    const grants: GrantRecord[] = [];
    for (let marker: string | undefined, first = true; first || marker; first = false) {
      const page = await this.store.listGrants(region, keyId, 1000, marker);
      grants.push(...page.items);
      marker = page.nextMarker;
    }
    const policy = parsePolicy(record.policy);
    const entry: CacheEntry = {
      key: { region, record, meta: record.metadata as unknown as StoredMeta, settings: record.settings as StoredSettings, versions },
      policy,
      decisions: policy.statements.every((st) => st.conditions.length === 0) ? new Map() : undefined,
      grants,
      ...(rev !== undefined ? { rev } : {}),
    };
    // The revision was read before the key: a change landing in between leaves this entry one revision
    // behind, so the next use reloads it rather than trusting newer data under an older number.
    if ((this.generation.get(id) ?? 0) === gen) this.cache.set(id, entry);
    return entry;
  }

  /**
   * Resolves a KeyId parameter: key id, key ARN, alias name or alias ARN, in the call's region. A key past
   * its deletion date is destroyed here, before anyone can use it again.
   */
  async resolve(call: Call, keyIdParam: unknown, opts: { allowAlias?: boolean } = {}): Promise<CacheEntry> {
    if (typeof keyIdParam !== 'string' || keyIdParam.length === 0 || keyIdParam.length > 2048) {
      throw new ValidationException(`KeyId must be a string of 1 to 2048 characters`);
    }
    const allowAlias = opts.allowAlias ?? true;
    let keyId: string | undefined;
    let region = call.region;
    let name = keyIdParam;
    if (name.startsWith('arn:')) {
      const m = /^arn:aws:kms:([a-z0-9-]+):(\d{12}):(key\/.+|alias\/.+)$/.exec(name);
      if (!m) throw new NotFoundException(`invalid ARN ${JSON.stringify(keyIdParam)}`);
      if (m[2] !== this.account) throw new NotFoundException(`key ${keyIdParam} is not in account ${this.account}`);
      region = m[1]!;
      if (region !== call.region) throw new NotFoundException(`key ${keyIdParam} is not in region ${call.region}`);
      name = m[3]!;
      if (name.startsWith('key/')) name = name.slice(4);
    }
    if (name.startsWith('alias/')) {
      if (!allowAlias) throw new NotFoundException(`an alias is not accepted here: ${keyIdParam}`);
      const alias = await this.store.getAlias(region, name);
      if (!alias) throw new NotFoundException(`alias ${name} is not found`);
      keyId = alias.keyId;
    } else if (isKeyId(name)) {
      keyId = name;
    } else {
      throw new NotFoundException(`invalid keyId ${JSON.stringify(keyIdParam)}`);
    }
    call.keyId = keyId;
    const entry = await this.load(region, keyId);
    if (!entry) throw new NotFoundException(`key '${this.arn(region, keyId)}' does not exist`);
    if (entry.key.meta.keyState === 'PendingDeletion' && (entry.key.meta.deletionDate ?? Infinity) <= this.now()) {
      if (!call.locks.has(`${region}/${keyId}`)) await this.destroyKey(entry.key);
      throw new NotFoundException(`key '${this.arn(region, keyId)}' does not exist`);
    }
    return entry;
  }

  /** resolve() for a state change: takes the key's lock, then reads the key afresh. */
  async resolveForUpdate(call: Call, keyIdParam: unknown, opts: { allowAlias?: boolean } = {}): Promise<CacheEntry> {
    const first = await this.resolve(call, keyIdParam, opts);
    await this.lockKey(call, call.region, first.key.meta.keyId);
    return this.resolve(call, first.key.meta.keyId, opts);
  }

  /** Destroys a key for good (its deletion date passed): a system call of its own, audited as DeleteKey. */
  async destroyKey(k: LoadedKey): Promise<void> {
    let destroyed = false;
    await this.run(SYSTEM_PRINCIPAL(this.account), 'DeleteKey', k.region, async (call) => {
      call.keyId = k.meta.keyId;
      await this.lockKey(call, k.region, k.meta.keyId);
      const fresh = await this.store.getKey(k.region, k.meta.keyId);
      if (!fresh) return;
      const meta = fresh.metadata as unknown as StoredMeta;
      if (meta.keyState !== 'PendingDeletion' || (meta.deletionDate ?? Infinity) > this.now()) return;
      call.mutations.push({ kind: 'destroyKey', region: k.region, keyId: k.meta.keyId });
      this.touch(call, k.region, k.meta.keyId);
      destroyed = true;
    });
    this.hierarchy.forget(k.region, k.meta.keyId);
    // An HSM-held key's token objects go once its deletion is committed.
    if (destroyed && k.meta.origin === 'AWS_CLOUDHSM') await this.hierarchy.deleteHsmKeys(k.region, k.meta.keyId, k.versions);
  }

  /**
   * Authorizes the call's principal for kms:<action> on a key through its policy and grants. The
   * condition context carries the caller, the key's properties and the encryption context.
   */
  authorize(
    call: Call, entry: CacheEntry, action: string, extra: Record<string, string | string[] | boolean | number> = {}, ctx?: EncryptionContext,
    newGrant?: Pick<GrantRequest, 'Operations' | 'Constraints'>,
  ): void {
    const m = entry.key.meta;
    let cacheKey: string | undefined;
    if (entry.decisions && !newGrant) {
      cacheKey = `${call.principal}\n${action}`;
      const known = entry.decisions.get(cacheKey);
      if (known === 'Allow') return;
    }
    const account = callerAccount(call.principal);
    const context: Record<string, string | string[] | boolean | number> = {
      'kms:CallerAccount': account,
      'aws:PrincipalArn': call.principal,
      'aws:PrincipalAccount': account,
      'kms:KeySpec': m.keySpec,
      'kms:KeyUsage': m.keyUsage,
      'kms:KeyOrigin': m.origin,
      'kms:MultiRegion': m.multiRegion,
      ...extra,
    };
    if (ctx) {
      context['kms:EncryptionContextKeys'] = Object.keys(ctx);
      for (const [k, v] of Object.entries(ctx)) context[`kms:EncryptionContext:${k}`] = v;
    }
    const grants = entry.grants.map((g) => g.grant);
    const decision = authorize({
      policy: entry.policy,
      grants: grants as never,
      request: { principal: call.principal, action: `kms:${action}`, resource: m.arn, context },
      operation: action,
      ...(ctx ? { encryptionContext: ctx } : {}),
      // CreateGrant through a grant: the new grant may only narrow the one that allows it.
      ...(newGrant ? { newGrant } : {}),
    });
    if (cacheKey !== undefined && decision.by === 'policy' && decision.allowed) {
      if (entry.decisions!.size >= MAX_CACHED_DECISIONS) entry.decisions!.clear();
      entry.decisions!.set(cacheKey, 'Allow');
    }
    if (!decision.allowed) {
      throw new AccessDeniedException(`User: ${call.principal} is not authorized to perform: kms:${action} on resource: ${m.arn} (${decision.reason})`);
    }
  }

  /**
   * Account-level operations (CreateKey, ListKeys, ListAliases, GenerateRandom, ListRetirableGrants) are IAM
   * permissions in AWS; Keyward has no IAM, so every principal of the engine's account may call them.
   */
  authorizeAccount(call: Call, action: string): void {
    if (callerAccount(call.principal) !== this.account) {
      throw new AccessDeniedException(`User: ${call.principal} is not authorized to perform: kms:${action} in account ${this.account}`);
    }
  }

  /** Key-state rule of a cryptographic operation: Enabled only; Disabled → DisabledException; others → KMSInvalidStateException. */
  requireEnabled(entry: CacheEntry): void {
    const { keyState, arn } = entry.key.meta;
    if (keyState === 'Enabled') return;
    if (keyState === 'Disabled') throw new DisabledException(`${arn} is disabled.`);
    throw new KMSInvalidStateException(`${arn} is ${stateText(keyState)}.`);
  }

  /** Key-state rule of a management operation that any state but the listed ones allows. */
  refuseStates(entry: CacheEntry, states: readonly KeyState[]): void {
    const { keyState, arn } = entry.key.meta;
    if (states.includes(keyState)) throw new KMSInvalidStateException(`${arn} is ${stateText(keyState)}.`);
  }

  /** Queues the key's new record on the call. */
  putKey(call: Call, k: LoadedKey, meta: StoredMeta, settings: StoredSettings = k.settings, policy = k.record.policy): void {
    call.mutations.push({
      kind: 'putKey',
      record: { region: k.region, keyId: meta.keyId, metadata: meta as unknown as Record<string, unknown>, policy, settings: settings as Record<string, unknown> },
    });
    this.touch(call, k.region, meta.keyId);
  }
}

/** A bounded, well-formed rendering of an untrusted value for the audit log (lone surrogates replaced). */
function printable(v: unknown): string {
  return show(v).replace(/[\ud800-\udfff]/gu, '\ufffd');
}

export const SYSTEM_PRINCIPAL = (account: string): string => `arn:aws:iam::${account}:role/keyward-system`;

function stateText(s: KeyState): string {
  switch (s) {
    case 'PendingDeletion': return 'pending deletion';
    case 'PendingImport': return 'pending import';
    case 'PendingReplicaDeletion': return 'pending replica deletion';
    default: return s.toLowerCase();
  }
}

/**
 * Cryptoki return values that mean the HSM (device, token, or this process's sessions with it) is gone, not
 * that the request was wrong. An invalid handle is among them: the engine passes only handles it made, so
 * one the token does not know went with its sessions (a removed and reinserted token, say).
 */
const HSM_UNAVAILABLE = new Set([
  'CKR_DEVICE_REMOVED', 'CKR_TOKEN_NOT_PRESENT', 'CKR_TOKEN_NOT_RECOGNIZED', 'CKR_DEVICE_ERROR', 'CKR_SESSION_HANDLE_INVALID', 'CKR_SESSION_CLOSED',
  'CKR_USER_NOT_LOGGED_IN', 'CKR_CRYPTOKI_NOT_INITIALIZED', 'CKR_KEY_HANDLE_INVALID', 'CKR_OBJECT_HANDLE_INVALID',
]);

/** Maps any error to the AWS exception the caller sees. Internal details stay out of the message. */
export function toKmsError(err: unknown): KmsError {
  if (err instanceof KmsError) return err;
  // AWS KMS reports a failed cryptographic operation on a key in a CloudHSM key store as KMSInvalidStateException
  // whose message names the cause; a Pkcs11Error's message names only the C_* function and the CKR_* value.
  if ((err instanceof Pkcs11Error && HSM_UNAVAILABLE.has(err.ckr)) || err instanceof ClusterUnavailableError) {
    return new KMSInvalidStateException(`the HSM is unavailable: ${err.message}`, { cause: err });
  }
  if (err instanceof StoreConflictError) return new AlreadyExistsException(err.message);
  if (err instanceof InvalidMarkerError) return new InvalidMarkerException(err.message);
  if (err instanceof RangeError) return new ValidationException(err.message);
  return new KMSInternalException('internal error', { cause: err });
}
