// HSM clusters, as CloudHSM runs them: several tokens (members; one module or several) act as one
// Provider. Each operation goes to the next healthy member in turn; a member that fails the way a
// device or its sessions fail (CKR_TOKEN_NOT_PRESENT, CKR_DEVICE_ERROR, CKR_SESSION_HANDLE_INVALID,
// CKR_USER_NOT_LOGGED_IN, …) is taken out of service and the operation is retried on another member,
// so the caller sees no error while one member still serves. A health check (every healthCheckMs, or
// checkHealth()) reconnects members out of service: new sessions and login, then a probe.
//
// How keys are present on every member:
//   Token keys (region keys, HSM-held CMKs): an import ceremony when the cluster makes them. The
//     material is generated inside a member (C_GenerateRandom, or the key pair generated in the token
//     and exported once as PKCS#8), imported as a non-extractable token object under the same label
//     on every member in service, and zeroed; it is in this process's memory only for the ceremony.
//     With one member in service there is no one to share it with: the key is generated inside that
//     token (C_GenerateKey/C_GenerateKeyPair) and never leaves it. Each member then finds the key by
//     its label. A member out of service during a ceremony lacks that key: operations with it go to
//     the members that have it (re-running a ceremony for it is not done).
//   Session keys (domain keys, unwrapped CMK backing keys, derived keys): made on one member, and each
//     remembers how to make it again anywhere: an unwrapped key is unwrapped from the same token under
//     the same wrapping key on another member; a derived key is derived again (HKDF is deterministic);
//     a generated or imported key is wrapped at birth under the cluster transport key (CTK) and that
//     wrapped token is unwrapped on the member that needs it. So a member gets a key the first time an
//     operation with it lands there, including after it reconnects (its session objects are gone).
//   The CTK: an AES-256 token key labelled 'keyward-cluster-transport', made as token keys are made
//     when the cluster is first opened with no member holding it. A member joins an existing cluster
//     only by the same ceremony (the CTK is non-extractable), which is not automated: open refuses
//     members without it while others have it. PKCS#11 has no lock across processes, so processes
//     opening a new cluster at once must take turns (Keyward.open does, under its store's setup lock).
import type {
  AsymmetricEncryptionAlgorithm, AsymmetricKeySpec, KeyHandle, KeyPairBytes, MacAlgorithm, MessageType, Provider, ProviderKeySpec, SigningAlgorithm,
} from '../crypto/provider.js';
import { aspec, handleKit, isSecretSpec, SECRET_BYTES } from '../crypto/_provider-common.js';
import { readFileSync } from 'node:fs';
import { checkHsmConfig, loadHsmConfig, type HsmConfig } from './config.js';
import { ClusterUnavailableError, HsmConfigError, KeyLabelError, Pkcs11Error } from './errors.js';
import { Pkcs11Provider, type Pkcs11KeyOptions, type Pkcs11ProviderOptions } from './pkcs11-provider.js';

// In errors.ts (which the engine maps without loading pkcs11js); exported here as before.
export { ClusterUnavailableError };

export interface HsmClusterConfig {
  /** The members, each a token as a single-HSM config names it. */
  members: HsmConfig[];
  /** Milliseconds between health checks of members out of service (default 1000; 0: only checkHealth()). */
  healthCheckMs?: number;
}

export interface MemberStatus {
  index: number;
  name: string;
  healthy: boolean;
  /** Operations this member completed. */
  served: number;
  /** Times the member was taken out of service. */
  outages: number;
  /** Why it was last taken out (a Pkcs11Error, usually). */
  lastError: unknown;
}

export const CLUSTER_TRANSPORT_LABEL = 'keyward-cluster-transport';
export const DEFAULT_HEALTH_CHECK_MS = 1000;

/** Return values that mean the member (device, token, sessions or login) failed, not the request. */
const MEMBER_FAILURES = new Set([
  'CKR_TOKEN_NOT_PRESENT', 'CKR_TOKEN_NOT_RECOGNIZED', 'CKR_DEVICE_ERROR', 'CKR_DEVICE_REMOVED', 'CKR_DEVICE_MEMORY',
  'CKR_SESSION_HANDLE_INVALID', 'CKR_SESSION_CLOSED', 'CKR_SESSION_COUNT', 'CKR_USER_NOT_LOGGED_IN',
  'CKR_CRYPTOKI_NOT_INITIALIZED', 'CKR_OBJECT_HANDLE_INVALID', 'CKR_KEY_HANDLE_INVALID', 'CKR_FUNCTION_FAILED', 'CKR_HOST_MEMORY',
]);

const utf8 = new TextEncoder();

type Recipe =
  | { kind: 'label'; label: string }
  | { kind: 'unwrap'; wk: ClusterKey; token: Uint8Array; aad: Uint8Array }
  | { kind: 'derive'; parent: ClusterKey; salt: Uint8Array; info: Uint8Array };

/** A cluster key: how to make it on a member, and the handles made so far (per member connection). */
interface ClusterKey {
  spec: ProviderKeySpec;
  recipe: Recipe;
  on: Map<Member, { gen: number; handle: Promise<KeyHandle> }>;
  destroyed: boolean;
}

interface Member {
  index: number;
  name: string;
  config: HsmConfig;
  provider: Pkcs11Provider | null;
  /** Bumped on every reconnect: handles made under an older connection are gone with its sessions. */
  gen: number;
  healthy: boolean;
  fault: Error | null;
  served: number;
  outages: number;
  lastError: unknown;
}

const kit = handleKit<ClusterKey>();

const transferAad = (spec: ProviderKeySpec): Uint8Array => utf8.encode(`keyward/cluster/v1/transfer/${spec}`);

export class HsmCluster implements Provider {
  readonly name = 'pkcs11-cluster';
  readonly #members: Member[];
  readonly #options: Pkcs11ProviderOptions;
  readonly #ctk: ClusterKey;
  #next = 0;
  #timer: NodeJS.Timeout | undefined;
  #checking: Promise<void> | null = null;
  #closed = false;

  private constructor(members: Member[], options: Pkcs11ProviderOptions) {
    this.#members = members;
    this.#options = options;
    this.#ctk = { spec: 'AES_256', recipe: { kind: 'label', label: CLUSTER_TRANSPORT_LABEL }, on: new Map(), destroyed: false };
  }

  /**
   * Connects every member (one that fails to connect starts out of service; at least one must connect)
   * and makes the cluster transport key by the import ceremony when no member has it yet.
   * @throws HsmConfigError for a bad config or members that disagree about the CTK; the connection
   *   error of the first member when none connects
   */
  static async open(config: HsmClusterConfig, options: Pkcs11ProviderOptions = {}): Promise<HsmCluster> {
    const c = checkClusterConfig(config);
    const members: Member[] = c.members.map((m, index) => ({
      index, name: `${index}:${m.tokenLabel ?? `slot ${m.slot}`}`, config: m, provider: null, gen: 0, healthy: false, fault: null, served: 0, outages: 0, lastError: null,
    }));
    for (const m of members) {
      try {
        m.provider = new Pkcs11Provider(m.config, options);
        m.healthy = true;
      } catch (e) {
        m.lastError = e;
      }
    }
    const up = members.filter((m) => m.healthy);
    if (up.length === 0) throw members[0]!.lastError;
    const cluster = new HsmCluster(members, options);
    try {
      const holders = up.filter((m) => hasLabel(m.provider!, CLUSTER_TRANSPORT_LABEL));
      if (holders.length === 0 && up.length === 1) {
        await generateToken(up[0]!.provider!, 'AES_256', CLUSTER_TRANSPORT_LABEL);
      } else if (holders.length === 0) {
        const material = await up[0]!.provider!.random(32);
        try {
          for (const m of up) await importToken(m.provider!, 'AES_256', material, CLUSTER_TRANSPORT_LABEL);
        } finally {
          material.fill(0);
        }
      } else if (holders.length < up.length) {
        const lacking = up.filter((m) => !holders.includes(m)).map((m) => m.name);
        throw new HsmConfigError('members', `members ${lacking.join(', ')} lack the cluster transport key '${CLUSTER_TRANSPORT_LABEL}' that ${holders.map((m) => m.name).join(', ')} hold: a member joins a cluster only by the key import ceremony`);
      }
    } catch (e) {
      cluster.close();
      throw e;
    }
    const every = c.healthCheckMs ?? DEFAULT_HEALTH_CHECK_MS;
    if (every > 0) {
      cluster.#timer = setInterval(() => void cluster.checkHealth(), every);
      cluster.#timer.unref();
    }
    return cluster;
  }

  /** Each member's state, for monitoring and tests. */
  status(): MemberStatus[] {
    return this.#members.map((m) => ({ index: m.index, name: m.name, healthy: m.healthy, served: m.served, outages: m.outages, lastError: m.lastError }));
  }

  /**
   * Test and drill hook: while set, every operation routed to member `index`, and every health check of
   * it, fails with `error` (default a Pkcs11Error CKR_DEVICE_ERROR), as a failed device would. null clears it.
   */
  setFault(index: number, error: Error | null = new Pkcs11Error('CKR_DEVICE_ERROR', 0x30, 'fault-injection')): void {
    const m = this.#members[index];
    if (!m) throw new RangeError(`no member ${index} in a cluster of ${this.#members.length}`);
    m.fault = error;
  }

  /**
   * Reconnects members out of service: closes the old connection, opens sessions and logs in again,
   * and probes (the CTK must be on the token). A member whose PIN was refused, or whose config is wrong,
   * is not retried. Runs one at a time; concurrent callers share the run.
   */
  checkHealth(): Promise<void> {
    if (this.#checking) return this.#checking;
    const run = async (): Promise<void> => {
      for (const m of this.#members) if (!m.healthy && !this.#closed) this.#reconnect(m);
    };
    // .finally runs after the assignment even when run() completes at once.
    this.#checking = run().finally(() => {
      this.#checking = null;
    });
    return this.#checking;
  }

  #reconnect(m: Member): void {
    if (m.fault) {
      m.lastError = m.fault;
      return;
    }
    // Retrying a refused PIN could lock the token's user, and a bad config does not heal: both wait for a new cluster.
    if (isPermanent(m.lastError)) return;
    try {
      m.provider?.close();
    } catch {
      // The old connection's sessions may be gone with the device; a new one is opened below.
    }
    m.provider = null;
    let p: Pkcs11Provider | undefined;
    try {
      p = new Pkcs11Provider(m.config, this.#options);
      if (!hasLabel(p, CLUSTER_TRANSPORT_LABEL)) throw new HsmConfigError('members', `member ${m.name} lacks the cluster transport key '${CLUSTER_TRANSPORT_LABEL}'`);
      m.provider = p;
      m.gen++;
      m.healthy = true;
    } catch (e) {
      m.lastError = e;
      try {
        p?.close();
      } catch {
        // Reported through lastError; the next check tries again.
      }
    }
  }

  /** Stops the health check and closes every member's sessions. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer) clearInterval(this.#timer);
    for (const m of this.#members) {
      m.healthy = false;
      try {
        m.provider?.close();
      } catch {
        // Closing the others matters more than one member's close failure.
      }
      m.provider = null;
    }
  }

  // ---- Routing ----

  #live(): void {
    if (this.#closed) throw new TypeError('the HSM cluster was closed');
  }

  #pick(tried: Set<Member>): Member | undefined {
    const n = this.#members.length;
    for (let i = 0; i < n; i++) {
      const m = this.#members[(this.#next + i) % n]!;
      if (m.healthy && !tried.has(m)) {
        this.#next = (this.#next + i + 1) % n;
        return m;
      }
    }
    return undefined;
  }

  #isMemberFailure(e: unknown, m: Member, gen: number): boolean {
    if (e instanceof Pkcs11Error) return MEMBER_FAILURES.has(e.ckr) || e === m.fault;
    // The member was taken out or reconnected during the call: its provider or pool was closed under it.
    return m.gen !== gen || !m.healthy;
  }

  #takeOut(m: Member, gen: number, e: unknown): void {
    if (m.gen !== gen || !m.healthy) return;
    m.healthy = false;
    m.outages++;
    m.lastError = e;
  }

  /**
   * Runs f on the next healthy member; on a member failure, takes it out and tries the next one. A member
   * that lacks a token key (it was out of service at the key's ceremony) is passed over, not taken out;
   * KeyLabelError 'not-found' only when no member has the key.
   */
  async #run<T>(operation: string, f: (p: Pkcs11Provider, m: Member) => Promise<T>): Promise<T> {
    this.#live();
    const failures: { member: string; error: unknown }[] = [];
    const tried = new Set<Member>();
    let missing: KeyLabelError | undefined;
    for (;;) {
      const m = this.#pick(tried);
      if (!m) {
        // Members that only lacked the key did not fail: with no failure, absence is the caller's error.
        if (missing && failures.length === 0) throw missing;
        throw new ClusterUnavailableError(operation, failures);
      }
      tried.add(m);
      const gen = m.gen;
      try {
        if (m.fault) throw m.fault;
        const r = await f(m.provider!, m);
        m.served++;
        return r;
      } catch (e) {
        if (e instanceof KeyLabelError && e.reason === 'not-found') {
          missing = e;
          continue;
        }
        if (!this.#isMemberFailure(e, m, gen)) throw e;
        failures.push({ member: m.name, error: e });
        this.#takeOut(m, gen, e);
      }
    }
  }

  /** The handle of k on member m, made from k's recipe the first time it is needed there. */
  #on(k: ClusterKey, m: Member): Promise<KeyHandle> {
    if (k.destroyed) return Promise.reject(new TypeError(`key handle (${k.spec}) was destroyed`));
    const got = k.on.get(m);
    if (got && got.gen === m.gen) return got.handle;
    const p = this.#make(k, m);
    k.on.set(m, { gen: m.gen, handle: p });
    p.catch(() => {
      if (k.on.get(m)?.handle === p) k.on.delete(m);
    });
    return p;
  }

  async #make(k: ClusterKey, m: Member): Promise<KeyHandle> {
    const p = m.provider!;
    const r = k.recipe;
    if (r.kind === 'label') return p.openKey(r.label);
    if (r.kind === 'unwrap') return p.unwrapKey(await this.#on(r.wk, m), k.spec, r.token, r.aad);
    return p.deriveKey(await this.#on(r.parent, m), r.salt, r.info);
  }

  #key(spec: ProviderKeySpec, recipe: Recipe, m: Member, handle: KeyHandle): KeyHandle {
    const k: ClusterKey = { spec, recipe, on: new Map([[m, { gen: m.gen, handle: Promise.resolve(handle) }]]), destroyed: false };
    return kit.make(this, this.name, spec, k);
  }

  #open(key: KeyHandle): ClusterKey {
    this.#live();
    return kit.open(this, key);
  }

  /** A session key made on one member, wrapped at birth under the CTK so that any member can have it. */
  async #transferable(operation: string, spec: ProviderKeySpec, make: (p: Pkcs11Provider) => Promise<KeyHandle>): Promise<KeyHandle> {
    return this.#run(operation, async (p, m) => {
      const h = await make(p);
      try {
        const aad = transferAad(spec);
        const token = await p.wrapKey(await this.#on(this.#ctk, m), h, aad);
        return this.#key(spec, { kind: 'unwrap', wk: this.#ctk, token, aad }, m, h);
      } catch (e) {
        await p.destroyKey(h).catch(() => undefined);
        throw e;
      }
    });
  }

  // ---- Token keys ----

  /**
   * A session key (as Provider.generateKey), or with options.token a labelled non-extractable token key
   * made on every member in service by the import ceremony, or inside the token when one member is in
   * service (see the header). A cluster's token keys are always non-extractable: extractable: true is
   * refused.
   */
  async generateKey(spec: ProviderKeySpec, options?: Pkcs11KeyOptions): Promise<KeyHandle> {
    const s = aspec(spec);
    this.#live();
    if (!options?.token) return this.#transferable('generateKey', s, (p) => p.generateKey(s, options));
    if (options.extractable === true) throw new TypeError('a cluster token key is non-extractable (extractable: true is refused)');
    const label = options.label;
    if (typeof label !== 'string' || label.length === 0) throw new TypeError('a token key needs options.label, to be found again');
    // The members in service that answer, none holding the label; one that fails to answer is taken out.
    const up: Member[] = [];
    const failures: { member: string; error: unknown }[] = [];
    for (const m of this.#members) {
      if (!m.healthy || m.fault) continue;
      const gen = m.gen;
      try {
        if (hasLabel(m.provider!, label)) throw new KeyLabelError(label, 'exists');
        up.push(m);
      } catch (e) {
        if (e instanceof KeyLabelError || !this.#isMemberFailure(e, m, gen)) throw e;
        this.#takeOut(m, gen, e);
        failures.push({ member: m.name, error: e });
      }
    }
    if (up.length === 0) throw new ClusterUnavailableError('generateKey', failures);
    if (up.length === 1) {
      const m = up[0]!;
      const gen = m.gen;
      try {
        await generateToken(m.provider!, s, label);
      } catch (e) {
        if (!this.#isMemberFailure(e, m, gen)) throw e;
        this.#takeOut(m, gen, e);
        throw new ClusterUnavailableError('generateKey', [...failures, { member: m.name, error: e }]);
      }
      return this.openKey(label);
    }
    const material = isSecretSpec(s) ? await this.random(SECRET_BYTES[s]) : (await this.generateKeyPairBytes(s as AsymmetricKeySpec)).privateKey;
    try {
      let made = 0;
      for (const m of up) {
        const gen = m.gen;
        try {
          await importToken(m.provider!, s, material, label);
          made++;
        } catch (e) {
          if (!this.#isMemberFailure(e, m, gen)) throw e;
          this.#takeOut(m, gen, e);
        }
      }
      if (made === 0) throw new ClusterUnavailableError('generateKey', []);
    } finally {
      material.fill(0);
    }
    return this.openKey(label);
  }

  /** The token key labelled label (KeyLabelError 'not-found' when the member asked has none). */
  async openKey(label: string): Promise<KeyHandle> {
    return this.#run('openKey', async (p, m) => {
      const h = p.openKey(label);
      return this.#key(h.spec, { kind: 'label', label }, m, h);
    });
  }

  /** Destroys a token key on every member in service; the handle is released. */
  async deleteTokenKey(key: KeyHandle): Promise<void> {
    const k = this.#open(key);
    if (k.recipe.kind !== 'label') throw new TypeError('deleteTokenKey needs a token key (from openKey or generateKey with token: true)');
    const label = k.recipe.label;
    await this.destroyKey(key);
    for (const m of this.#members) {
      if (!m.healthy || m.fault) continue;
      const gen = m.gen;
      try {
        if (hasLabel(m.provider!, label)) await m.provider!.deleteTokenKey(m.provider!.openKey(label));
      } catch (e) {
        if (!this.#isMemberFailure(e, m, gen)) throw e;
        this.#takeOut(m, gen, e);
      }
    }
  }

  // ---- Provider ----

  random(length: number): Promise<Uint8Array> {
    return this.#run('random', (p) => p.random(length));
  }

  importKey(spec: ProviderKeySpec, material: Uint8Array, options?: Pkcs11KeyOptions): Promise<KeyHandle> {
    if (options?.token) throw new TypeError('a cluster makes token keys with generateKey (the import ceremony), not importKey');
    return this.#transferable('importKey', spec, (p) => p.importKey(spec, material));
  }

  /** Releases the handle and destroys what it made on members in service (token keys stay on the tokens). */
  async destroyKey(key: KeyHandle): Promise<void> {
    this.#live();
    const k = kit.close(this, key);
    k.destroyed = true;
    const made = [...k.on];
    k.on.clear();
    for (const [m, { gen, handle }] of made) {
      if (m.gen !== gen || !m.healthy) continue;
      // A handle whose making failed was never there.
      const h = await handle.catch(() => undefined);
      if (h === undefined) continue;
      try {
        await m.provider!.destroyKey(h);
      } catch (e) {
        if (!this.#isMemberFailure(e, m, gen)) throw e;
      }
    }
  }

  wrapKey(wrappingKey: KeyHandle, key: KeyHandle, aad: Uint8Array): Promise<Uint8Array> {
    const wk = this.#open(wrappingKey);
    const k = this.#open(key);
    return this.#run('wrapKey', async (p, m) => p.wrapKey(await this.#on(wk, m), await this.#on(k, m), aad));
  }

  unwrapKey(wrappingKey: KeyHandle, spec: ProviderKeySpec, token: Uint8Array, aad: Uint8Array): Promise<KeyHandle> {
    const wk = this.#open(wrappingKey);
    return this.#run('unwrapKey', async (p, m) => {
      const h = await p.unwrapKey(await this.#on(wk, m), spec, token, aad);
      return this.#key(h.spec, { kind: 'unwrap', wk, token: Uint8Array.from(token), aad: Uint8Array.from(aad) }, m, h);
    });
  }

  deriveKey(key: KeyHandle, salt: Uint8Array, info: Uint8Array): Promise<KeyHandle> {
    const parent = this.#open(key);
    return this.#run('deriveKey', async (p, m) => {
      const h = await p.deriveKey(await this.#on(parent, m), salt, info);
      return this.#key('AES_256', { kind: 'derive', parent, salt: Uint8Array.from(salt), info: Uint8Array.from(info) }, m, h);
    });
  }

  encrypt(key: KeyHandle, iv: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Promise<Uint8Array> {
    const k = this.#open(key);
    return this.#run('encrypt', async (p, m) => p.encrypt(await this.#on(k, m), iv, plaintext, aad));
  }

  decrypt(key: KeyHandle, iv: Uint8Array, ciphertext: Uint8Array, aad: Uint8Array): Promise<Uint8Array> {
    const k = this.#open(key);
    return this.#run('decrypt', async (p, m) => p.decrypt(await this.#on(k, m), iv, ciphertext, aad));
  }

  publicKey(key: KeyHandle): Promise<Uint8Array> {
    const k = this.#open(key);
    return this.#run('publicKey', async (p, m) => p.publicKey(await this.#on(k, m)));
  }

  sign(key: KeyHandle, algorithm: SigningAlgorithm, message: Uint8Array, messageType: MessageType): Promise<Uint8Array> {
    const k = this.#open(key);
    return this.#run('sign', async (p, m) => p.sign(await this.#on(k, m), algorithm, message, messageType));
  }

  verify(key: KeyHandle, algorithm: SigningAlgorithm, message: Uint8Array, messageType: MessageType, signature: Uint8Array): Promise<boolean> {
    const k = this.#open(key);
    return this.#run('verify', async (p, m) => p.verify(await this.#on(k, m), algorithm, message, messageType, signature));
  }

  encryptAsymmetric(key: KeyHandle, algorithm: AsymmetricEncryptionAlgorithm, plaintext: Uint8Array): Promise<Uint8Array> {
    const k = this.#open(key);
    return this.#run('encryptAsymmetric', async (p, m) => p.encryptAsymmetric(await this.#on(k, m), algorithm, plaintext));
  }

  decryptAsymmetric(key: KeyHandle, algorithm: AsymmetricEncryptionAlgorithm, ciphertext: Uint8Array): Promise<Uint8Array> {
    const k = this.#open(key);
    return this.#run('decryptAsymmetric', async (p, m) => p.decryptAsymmetric(await this.#on(k, m), algorithm, ciphertext));
  }

  mac(key: KeyHandle, algorithm: MacAlgorithm, message: Uint8Array): Promise<Uint8Array> {
    const k = this.#open(key);
    return this.#run('mac', async (p, m) => p.mac(await this.#on(k, m), algorithm, message));
  }

  verifyMac(key: KeyHandle, algorithm: MacAlgorithm, message: Uint8Array, mac: Uint8Array): Promise<boolean> {
    const k = this.#open(key);
    return this.#run('verifyMac', async (p, m) => p.verifyMac(await this.#on(k, m), algorithm, message, mac));
  }

  generateKeyPairBytes(spec: AsymmetricKeySpec): Promise<KeyPairBytes> {
    return this.#run('generateKeyPairBytes', (p) => p.generateKeyPairBytes(spec));
  }
}

/** Connection errors the health check must not retry. */
function isPermanent(e: unknown): boolean {
  if (e instanceof HsmConfigError) return true;
  return e instanceof Pkcs11Error && e.method === 'C_Login' && ['CKR_PIN_INCORRECT', 'CKR_PIN_LOCKED', 'CKR_PIN_EXPIRED', 'CKR_PIN_INVALID', 'CKR_PIN_LEN_RANGE'].includes(e.ckr);
}

/** Whether the provider's token has a key labelled label. */
function hasLabel(p: Pkcs11Provider, label: string): boolean {
  try {
    p.openKey(label);
    return true;
  } catch (e) {
    if (e instanceof KeyLabelError && e.reason === 'not-found') return false;
    throw e;
  }
}

/**
 * A non-extractable token key generated inside the token, labelled: how the cluster makes a token key
 * when one member is in service, since no other member needs the material.
 */
async function generateToken(p: Pkcs11Provider, spec: ProviderKeySpec, label: string): Promise<void> {
  await p.destroyKey(await p.generateKey(spec, { token: true, label, extractable: false }));
}

/** One member's part of the import ceremony: a non-extractable token key of material, labelled. */
async function importToken(p: Pkcs11Provider, spec: ProviderKeySpec, material: Uint8Array, label: string): Promise<void> {
  await p.destroyKey(await p.importKey(spec, material, { token: true, label, extractable: false }));
}

function checkClusterConfig(c: HsmClusterConfig): HsmClusterConfig {
  if (typeof c !== 'object' || c === null || !Array.isArray(c.members) || c.members.length === 0) {
    throw new HsmConfigError('members', 'expected an HSM cluster config with a non-empty "members" array');
  }
  const ms = c.healthCheckMs;
  if (ms !== undefined && !(Number.isSafeInteger(ms) && ms >= 0)) throw new HsmConfigError('healthCheckMs', `expected healthCheckMs to be a non-negative integer, got ${String(ms)}`);
  const members = c.members.map((m) => checkHsmConfig(m));
  const seen = new Set<string>();
  for (const m of members) {
    const id = `${m.module}\0${m.tokenLabel ?? `#${m.slot}`}`;
    if (seen.has(id)) throw new HsmConfigError('members', `member ${m.tokenLabel ?? `slot ${m.slot}`} of ${m.module} is listed twice`);
    seen.add(id);
  }
  return { ...c, members };
}

const MEMBER_FIELDS = ['module', 'tokenLabel', 'slot', 'pinFile', 'sessions', 'gcmSessions'];

/**
 * An HSM config file: a single token (see config.ts) or a cluster, `{ "members": [ { "module",
 * "tokenLabel" | "slot", "pinFile"?, "sessions"?, "gcmSessions"? }, … ], "healthCheckMs"? }`. A member without a
 * pinFile takes KEYWARD_HSM_PIN or KEYWARD_HSM_PIN_FILE; a "pin" in the file is refused.
 */
export function loadHsmSetup(file: string, env: NodeJS.ProcessEnv = process.env): HsmConfig | HsmClusterConfig {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    // loadHsmConfig reports an unreadable or non-JSON file with the precise reason.
    return loadHsmConfig({ file, env });
  }
  if (typeof parsed !== 'object' || parsed === null || !('members' in parsed)) return loadHsmConfig({ file, env });
  const { members, healthCheckMs, ...rest } = parsed as { members: unknown; healthCheckMs?: number };
  const unknown = Object.keys(rest);
  if (unknown.length > 0) throw new HsmConfigError(unknown[0]!, `unknown field "${unknown[0]}" in the HSM cluster config file ${file} (known: members, healthCheckMs)`);
  if (!Array.isArray(members)) throw new HsmConfigError('members', `"members" in ${file} must be an array of token configs`);
  const list = members.map((m: unknown, i) => {
    if (typeof m !== 'object' || m === null || Array.isArray(m)) throw new HsmConfigError('members', `member ${i} in ${file} must be an object`);
    if ('pin' in m) throw new HsmConfigError('pin', `member ${i} in ${file} holds a "pin": put the PIN in KEYWARD_HSM_PIN or a file named by "pinFile"`);
    for (const k of Object.keys(m)) if (!MEMBER_FIELDS.includes(k)) throw new HsmConfigError(k, `unknown field "${k}" in member ${i} of ${file} (known: ${MEMBER_FIELDS.join(', ')})`);
    const c = { ...m } as HsmConfig;
    if (c.pinFile === undefined) {
      if (env.KEYWARD_HSM_PIN) c.pin = env.KEYWARD_HSM_PIN;
      else if (env.KEYWARD_HSM_PIN_FILE) c.pinFile = env.KEYWARD_HSM_PIN_FILE;
    }
    return c;
  });
  return checkClusterConfig({ members: list, ...(healthCheckMs !== undefined ? { healthCheckMs } : {}) });
}

/** A single-token config, a cluster config, or the path of a config file. */
export type HsmSetup = HsmConfig | HsmClusterConfig | string;

/** The provider for an HSM setup: a Pkcs11Provider for one token, an HsmCluster for members. */
export async function openHsm(setup: HsmSetup, options: Pkcs11ProviderOptions = {}): Promise<Pkcs11Provider | HsmCluster> {
  const c = typeof setup === 'string' ? loadHsmSetup(setup) : setup;
  if (typeof c === 'object' && c !== null && 'members' in c) return HsmCluster.open(c, options);
  return new Pkcs11Provider(c, options);
}
