// The key hierarchy (DESIGN "Key hierarchy"): region key → domain key → CMK backing key → per-call
// derived key. Every key operation goes through the Provider, so the same code runs with keys in WASM
// memory or as non-extractable HSM objects; the one exception is the audit MAC key, held as bytes
// because the store computes the audit chain synchronously inside its transaction.
//
// What is stored, and how each token is bound (AAD = the label, then each field as u32 length ‖ UTF-8
// for strings and u32 BE for integers; see aad()):
//
//   meta 'keyward/regions'            JSON { primary, regions[] }: written last at initialize (the marker
//                                     that the store is initialized), then by addRegion through commit
//   meta 'keyward/region-key/<r>'     wrapKey(unseal key, RK_r), AAD 'keyward/v1/region-key' ‖ r; in HSM
//                                     mode (regions meta has "regionKeys": "hsm") the UTF-8 label of RK_r,
//                                     a non-extractable token key in the HSM ('keyward-rk-<r>')
//   meta 'keyward/audit-key'          iv(12) ‖ AES-256-GCM(RK_primary, audit key(32)) ‖ tag,
//                                     AAD 'keyward/v1/audit-key' ‖ primary
//   meta 'keyward/domains'            JSON [[region, domain], …]: the domains that have a domain key, for
//                                     rotation (the store has no listing of them)
//   DomainKeyRecord.token             wrapKey(RK_r, DK), AAD 'keyward/v1/domain-key' ‖ r ‖ domain ‖ version
//   KeyVersionRecord.ekt              0x01 ‖ specLen(1) ‖ spec ASCII ‖ domainLen(1) ‖ domain UTF-8 ‖
//                                     wrapKey(DK_v, backing key), AAD 'keyward/v1/ekt' ‖ region ‖ domain ‖
//                                     keyId ‖ version ‖ spec ‖ domainVersion. The EKT names its spec and
//                                     domain in the clear so that rotation can re-wrap it without engine
//                                     metadata; the AAD binds both, so editing them fails authentication.
//                                     The region is bound too: a replica's EKT is a different token,
//                                     wrapped under the target region's own domain key (rewrapForRegion).
//   HSM key reference (HKR)           an EKT's place for a CMK version held in the HSM (Origin AWS_CLOUDHSM):
//                                     0x02 ‖ specLen(1) ‖ spec ‖ domainLen(1) ‖ domain ‖ label UTF-8. Nothing
//                                     is wrapped: the backing key is a non-extractable token key whose label
//                                     must be cmkLabel(region, keyId, version), so an edited record cannot
//                                     point a key version at another token key.
//   sealSecret token                  iv(12) ‖ AES-256-GCM(DK_v, secret) ‖ tag,
//                                     AAD 'keyward/v1/secret' ‖ region ‖ domain ‖ domainVersion ‖ caller aad
//
// Domain keys are created on first use of a (region, domain), committed with audit operation
// 'CreateDomainKey'; a promise lock per (region, domain) makes concurrent first uses create one version.
// Handles are cached: region keys for the hierarchy's life, domain key versions once unwrapped, backing
// keys per (region, keyId, version) together with the EKTs known to hold them, so encrypt/decrypt touch
// neither the store nor a token once warm. A cached backing handle that must go (forget, a different
// EKT for the same version) is destroyed when the last call using it finishes.
import { randomUUID } from 'node:crypto';
import { AuthenticationError } from '../crypto/errors.js';
import { createHmacKey, type HmacKey } from '../crypto/hmac.js';
import type { KeyHandle, Provider, ProviderKeySpec } from '../crypto/provider.js';
import type { AuditEntry, DomainKeyRecord, KeyVersionRecord, Mutation, Store } from '../store/types.js';
import { IV_LENGTH, NONCE_LENGTH, TAG_LENGTH, canonicalContext, encodeBlobHeader, type CiphertextBlob } from './blob.js';
import { UNSEAL_KEY_LENGTH, UnsealError } from './unseal.js';

/** Misuse of the hierarchy: an unknown region, a malformed name, a closed hierarchy, a corrupt store. */
export class HierarchyError extends Error {
  override name = 'HierarchyError';
}

/**
 * A provider that keeps labelled, non-extractable keys on a token (Pkcs11Provider, HsmCluster): what HSM
 * mode needs for region keys and HSM-held CMKs.
 */
export interface TokenKeyProvider extends Provider {
  generateKey(spec: ProviderKeySpec, options?: { token?: boolean; label?: string; extractable?: boolean }): Promise<KeyHandle>;
  /** The token key labelled label; KeyLabelError (reason 'not-found') when the token has none. */
  openKey(label: string): KeyHandle | Promise<KeyHandle>;
  /** Destroys a token key's objects for good. */
  deleteTokenKey(key: KeyHandle): Promise<void>;
}

export function isTokenKeyProvider(p: Provider): p is TokenKeyProvider {
  const t = p as Partial<TokenKeyProvider>;
  return typeof t.openKey === 'function' && typeof t.deleteTokenKey === 'function';
}

/** The token label of a region key in HSM mode. */
export const regionKeyLabel = (region: string): string => `keyward-rk-${region}`;
/** The token label of an HSM-held CMK backing version. */
export const cmkLabel = (region: string, keyId: string, version: number): string => `keyward-cmk/${region}/${keyId}/${version}`;

export interface HierarchyOptions {
  provider: Provider;
  store: Store;
  /** Software mode: the key that seals region keys at rest. Exactly one of unsealKey and regionKeyInHsm. */
  unsealKey?: Uint8Array;
  /**
   * HSM mode: region keys are non-extractable token keys of the provider (a TokenKeyProvider), found or
   * created by label; no unseal key exists. The store records the mode and refuses to open in the other.
   */
  regionKeyInHsm?: boolean;
  /** Domain keys older than this are rotated by rotateDomainKeysIfDue. Default 24 h. */
  domainRotationMs?: number;
  /** Clock in ms since the epoch, for tests. */
  now?: () => number;
}

export const DEFAULT_DOMAIN_ROTATION_MS = 24 * 60 * 60 * 1000;
export const SYSTEM_PRINCIPAL = 'keyward:system';

const META_REGIONS = 'keyward/regions';
const META_AUDIT_KEY = 'keyward/audit-key';
const META_DOMAINS = 'keyward/domains';
const metaRegionKey = (region: string): string => `keyward/region-key/${region}`;

const utf8 = new TextEncoder();
const INFO_ENCRYPT = utf8.encode('keyward/v1/encrypt');
const EKT_FORMAT = 1;
const HKR_FORMAT = 2;
const AUDIT_KEY_LENGTH = 32;
/** EKTs remembered per warm handle: the current one and those of the last rotations. */
const MAX_EKTS_PER_HANDLE = 3;
/** AWS KMS GenerateDataKey NumberOfBytes bound. */
const MAX_DATA_KEY_BYTES = 1024;

const SPECS: readonly ProviderKeySpec[] = [
  'AES_256', 'HMAC_256', 'HMAC_384', 'HMAC_512',
  'RSA_2048', 'RSA_3072', 'RSA_4096', 'ECC_NIST_P256', 'ECC_NIST_P384', 'ECC_NIST_P521', 'ECC_SECG_P256K1',
];
const REGION = /^[a-z0-9-]{1,64}$/;
const KEY_ID = /^[0-9a-z-]{1,64}$/;
const LONE_SURROGATE = /\p{Cs}/u;
const MAX_U32 = 0xffff_ffff;

/** label ‖ each part: strings and bytes as u32 length ‖ bytes, integers as u32 BE. */
function aad(label: string, ...parts: (string | number | Uint8Array)[]): Uint8Array {
  const chunks: Uint8Array[] = [utf8.encode(`keyward/v1/${label}`)];
  for (const p of parts) {
    const b = typeof p === 'number' ? null : typeof p === 'string' ? utf8.encode(p) : p;
    const n = new Uint8Array(4);
    new DataView(n.buffer).setUint32(0, b === null ? (p as number) : b.length);
    chunks.push(n);
    if (b !== null) chunks.push(b);
  }
  return concat(...chunks);
}

function concat(...parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Whether entry was made from (or re-wrapped to) rec's EKT under rec's domain key version. */
function holds(entry: Backing, rec: KeyVersionRecord): boolean {
  for (const e of entry.ekts) if (e.domainVersion === rec.domainVersion && sameBytes(e.ekt, rec.ekt)) return true;
  return false;
}

function checkRegion(region: unknown): string {
  if (typeof region !== 'string' || !REGION.test(region)) {
    throw new HierarchyError(`region must be 1..64 characters of [a-z0-9-], got ${JSON.stringify(String(region)).slice(0, 80)}`);
  }
  return region;
}

function checkDomain(domain: unknown): string {
  if (typeof domain !== 'string' || domain.length === 0 || LONE_SURROGATE.test(domain) || utf8.encode(domain).length > 255) {
    throw new HierarchyError(`domain must be a well-formed string of 1..255 UTF-8 bytes, got ${JSON.stringify(String(domain)).slice(0, 80)}`);
  }
  return domain;
}

function checkKeyId(keyId: unknown): string {
  if (typeof keyId !== 'string' || !KEY_ID.test(keyId)) {
    throw new HierarchyError(`key id must be 1..64 characters of [0-9a-z-], got ${JSON.stringify(String(keyId)).slice(0, 80)}`);
  }
  return keyId;
}

function checkVersion(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > MAX_U32) {
    throw new HierarchyError(`${what} must be an integer in 1..${MAX_U32}, got ${String(v)}`);
  }
  return v;
}

function checkSpec(spec: unknown): ProviderKeySpec {
  if (!SPECS.includes(spec as ProviderKeySpec)) throw new HierarchyError(`unknown key spec ${String(spec)}`);
  return spec as ProviderKeySpec;
}

function encodeEkt(spec: ProviderKeySpec, domain: string, wrapped: Uint8Array): Uint8Array {
  const d = utf8.encode(domain);
  return concat(Uint8Array.of(EKT_FORMAT, spec.length), utf8.encode(spec), Uint8Array.of(d.length), d, wrapped);
}

/** @throws AuthenticationError for anything but a well-formed EKT (a tampered token is not a format error) */
function parseEkt(ekt: Uint8Array): { spec: ProviderKeySpec; domain: string; wrapped: Uint8Array } {
  const bad = (): never => {
    throw new AuthenticationError('malformed key token');
  };
  if (!(ekt instanceof Uint8Array) || ekt.length < 3 || ekt[0] !== EKT_FORMAT) bad();
  const sl = ekt[1]!;
  const dlAt = 2 + sl;
  if (ekt.length <= dlAt) bad();
  const dl = ekt[dlAt]!;
  const wrappedAt = dlAt + 1 + dl;
  if (dl === 0 || ekt.length < wrappedAt + IV_LENGTH + TAG_LENGTH) bad();
  const spec = String.fromCharCode(...ekt.subarray(2, dlAt));
  if (!SPECS.includes(spec as ProviderKeySpec)) bad();
  let domain = '';
  try {
    domain = new TextDecoder('utf-8', { fatal: true }).decode(ekt.subarray(dlAt + 1, wrappedAt));
  } catch {
    bad();
  }
  return { spec: spec as ProviderKeySpec, domain, wrapped: ekt.subarray(wrappedAt) };
}

function encodeHkr(spec: ProviderKeySpec, domain: string, label: string): Uint8Array {
  const d = utf8.encode(domain);
  return concat(Uint8Array.of(HKR_FORMAT, spec.length), utf8.encode(spec), Uint8Array.of(d.length), d, utf8.encode(label));
}

const isHkr = (ekt: Uint8Array): boolean => ekt instanceof Uint8Array && ekt[0] === HKR_FORMAT;

/** @throws AuthenticationError for anything but a well-formed HSM key reference */
function parseHkr(hkr: Uint8Array): { spec: ProviderKeySpec; domain: string; label: string } {
  const bad = (): never => {
    throw new AuthenticationError('malformed HSM key reference');
  };
  if (hkr.length < 3 || hkr[0] !== HKR_FORMAT) bad();
  const dlAt = 2 + hkr[1]!;
  if (hkr.length <= dlAt) bad();
  const labelAt = dlAt + 1 + hkr[dlAt]!;
  if (hkr.length <= labelAt) bad();
  const spec = String.fromCharCode(...hkr.subarray(2, dlAt));
  if (!SPECS.includes(spec as ProviderKeySpec)) bad();
  try {
    const dec = new TextDecoder('utf-8', { fatal: true });
    return { spec: spec as ProviderKeySpec, domain: dec.decode(hkr.subarray(dlAt + 1, labelAt)), label: dec.decode(hkr.subarray(labelAt)) };
  } catch {
    return bad();
  }
}

/** Runs async sections one after another per key; a failed section does not block the next. */
class KeyedLock {
  readonly #tails = new Map<string, Promise<void>>();

  run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.#tails.get(key) ?? Promise.resolve();
    const result = prev.then(fn);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.#tails.set(key, tail);
    void tail.then(() => {
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    });
    return result;
  }
}

interface DomainState {
  region: string;
  domain: string;
  current: number;
  currentCreatedAt: number;
  records: Map<number, DomainKeyRecord>;
  /** Unwrapped versions; a rejected unwrap is removed so that a later call retries. */
  handles: Map<number, Promise<KeyHandle>>;
}

/** A cached backing key handle and the EKTs known to hold it (a re-wrap adds one; the material is the same). */
interface Backing {
  handle: KeyHandle;
  domain: string;
  ekts: { ekt: Uint8Array; domainVersion: number }[];
  /** Calls using the handle now. */
  uses: number;
  retired: boolean;
}

/** A committed domain key rotation: the new version and the EKTs re-wrapped to it. */
interface Rotation {
  record: DomainKeyRecord;
  rewrapped: { old: KeyVersionRecord; ekt: Uint8Array }[];
}

interface RegionsMeta {
  primary: string;
  regions: string[];
  /** Present in HSM mode: region keys are token keys, the region-key entries hold their labels. */
  regionKeys?: 'hsm';
}

function parseRegionsMeta(bytes: Uint8Array): RegionsMeta {
  let m: unknown;
  try {
    m = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    throw new HierarchyError(`store meta ${META_REGIONS} is not JSON: the store is corrupt`);
  }
  const r = m as RegionsMeta;
  if (typeof r?.primary !== 'string' || !Array.isArray(r.regions) || !r.regions.includes(r.primary) || !r.regions.every((x) => typeof x === 'string' && REGION.test(x)) || (r.regionKeys !== undefined && r.regionKeys !== 'hsm')) {
    throw new HierarchyError(`store meta ${META_REGIONS} is malformed: the store is corrupt`);
  }
  return r;
}

const encodeJson = (v: unknown): Uint8Array => utf8.encode(JSON.stringify(v));

const HSM_STORE = 'this store keeps its region keys in an HSM: open it with the HSM config (Keyward.open({ hsm }), keyward --hsm or KEYWARD_HSM_CONFIG)';
const SEALED_STORE = 'this store\'s region keys are sealed under an unseal key, not held in an HSM: open it without an HSM config';

/** The mode opts ask for: the unseal key (software) or the provider's token (HSM). */
function checkMode(opts: HierarchyOptions): { unsealKey: Uint8Array; hsm: null } | { unsealKey: null; hsm: TokenKeyProvider } {
  if (opts.regionKeyInHsm !== undefined && typeof opts.regionKeyInHsm !== 'boolean') throw new HierarchyError('regionKeyInHsm must be a boolean');
  if (opts.regionKeyInHsm) {
    if (opts.unsealKey !== undefined) throw new HierarchyError('give either an unseal key or regionKeyInHsm, not both: an HSM-backed store has no unseal key');
    if (!isTokenKeyProvider(opts.provider)) throw new HierarchyError(`regionKeyInHsm needs a provider that keeps token keys (Pkcs11Provider or HsmCluster), got '${opts.provider.name}'`);
    return { unsealKey: null, hsm: opts.provider };
  }
  return { unsealKey: checkUnsealKey(opts.unsealKey), hsm: null };
}

/** UnsealError when the store was initialized in the other mode. */
function checkStoreMode(meta: RegionsMeta, hsm: boolean): void {
  if ((meta.regionKeys === 'hsm') !== hsm) throw new UnsealError(hsm ? SEALED_STORE : HSM_STORE);
}

/** The token's region key of region, created (non-extractable, labelled) when the token has none. */
async function hsmRegionKey(p: TokenKeyProvider, region: string): Promise<KeyHandle> {
  const label = regionKeyLabel(region);
  try {
    return await p.openKey(label);
  } catch (e) {
    if ((e as { reason?: unknown }).reason !== 'not-found') throw e;
  }
  return p.generateKey('AES_256', { token: true, label, extractable: false });
}

function checkUnsealKey(key: unknown): Uint8Array {
  if (!(key instanceof Uint8Array) || key.length !== UNSEAL_KEY_LENGTH) {
    throw new UnsealError(`the unseal key must be ${UNSEAL_KEY_LENGTH} bytes, got ${key instanceof Uint8Array ? key.length : typeof key}`);
  }
  return key;
}

export class KeyHierarchy {
  readonly #provider: Provider;
  readonly #store: Store;
  readonly #rotationMs: number;
  readonly #now: () => number;
  /** The unseal key's handle in software mode; null in HSM mode. */
  readonly #unseal: KeyHandle | null;
  readonly #regionKeys: Map<string, KeyHandle>;
  /** The audit key's HMAC states (the raw key is wiped once they are computed). */
  readonly #auditKey: HmacKey;
  readonly #domains = new Map<string, DomainState>();
  /** region \0 keyId → version → cached backing key. */
  readonly #backing = new Map<string, Map<number, Backing>>();
  readonly #locks = new KeyedLock();
  /** destroyKey calls in flight, awaited by close() so their errors surface there. */
  readonly #destroying = new Set<Promise<void>>();
  /** Retired backing entries still in use; close() destroys them too. */
  readonly #retiredBusy = new Set<Backing>();
  #closed = false;

  /** HMAC-SHA256 under the audit key (32 bytes), synchronous: the store computes the chain in its transaction. */
  readonly auditMac: (data: Uint8Array) => Uint8Array;

  private constructor(
    opts: HierarchyOptions,
    unseal: KeyHandle | null,
    regionKeys: Map<string, KeyHandle>,
    auditKey: Uint8Array,
  ) {
    this.#provider = opts.provider;
    this.#store = opts.store;
    this.#rotationMs = opts.domainRotationMs ?? DEFAULT_DOMAIN_ROTATION_MS;
    this.#now = opts.now ?? Date.now;
    this.#unseal = unseal;
    this.#regionKeys = regionKeys;
    this.#auditKey = createHmacKey('SHA-256', auditKey);
    auditKey.fill(0);
    this.auditMac = (data: Uint8Array): Uint8Array => {
      if (this.#closed) throw new HierarchyError('key hierarchy is closed: the audit key is wiped');
      return this.#auditKey.mac(data);
    };
  }

  /**
   * First run: creates the region key of `region` (sealed under the unseal key; in HSM mode found or
   * made in the token by label) and the audit key (sealed under the region key), written with
   * putMetaUnaudited since no audit MAC exists yet. Idempotent: on an initialized store it only checks
   * that the unseal key (or the token) opens it; a region the store lacks is added after open() by
   * addRegion, which is audited.
   * @throws UnsealError for a wrong unseal key or token, or a store initialized in the other mode
   */
  static async initialize(opts: HierarchyOptions & { region: string }): Promise<void> {
    const region = checkRegion(opts.region);
    const { provider, store } = opts;
    const existing = await store.getMeta(META_REGIONS);
    if (existing !== undefined) {
      const meta = parseRegionsMeta(existing);
      const h = await KeyHierarchy.#unsealAll(opts, meta);
      h.auditKey.fill(0);
      await KeyHierarchy.#destroyAll(provider, h.unseal ? [h.unseal, ...h.regionKeys.values()] : h.regionKeys.values());
      return;
    }
    const mode = checkMode(opts);
    const unseal = mode.unsealKey ? await provider.importKey('AES_256', mode.unsealKey) : null;
    let rk: KeyHandle | undefined;
    let auditKey: Uint8Array | undefined;
    try {
      // HSM mode: found again by label when an earlier run was cut short before the regions entry.
      rk = mode.hsm ? await hsmRegionKey(mode.hsm, region) : await provider.generateKey('AES_256');
      const sealedRk = unseal ? await provider.wrapKey(unseal, rk, aad('region-key', region)) : utf8.encode(regionKeyLabel(region));
      auditKey = await provider.random(AUDIT_KEY_LENGTH);
      const iv = await provider.random(IV_LENGTH);
      const sealedAudit = concat(iv, await provider.encrypt(rk, iv, auditKey, aad('audit-key', region)));
      // The regions entry goes last: a run cut short leaves an uninitialized store that the next run
      // initializes afresh (nothing was ever wrapped under the lost region key).
      await store.putMetaUnaudited(metaRegionKey(region), sealedRk);
      await store.putMetaUnaudited(META_AUDIT_KEY, sealedAudit);
      const meta: RegionsMeta = { primary: region, regions: [region], ...(mode.hsm ? { regionKeys: 'hsm' as const } : {}) };
      await store.putMetaUnaudited(META_REGIONS, encodeJson(meta));
    } finally {
      auditKey?.fill(0);
      await KeyHierarchy.#destroyAll(provider, [unseal, rk].filter((h): h is KeyHandle => h !== undefined && h !== null));
    }
  }

  /**
   * Opens an initialized store: unseals (or, in HSM mode, finds in the token) every region key, opens the
   * audit key, and hands the audit MAC to the store.
   * @throws UnsealError when the store is not initialized, was initialized in the other mode, or the
   *   unseal key or token does not open it
   */
  static async open(opts: HierarchyOptions): Promise<KeyHierarchy> {
    const ms = opts.domainRotationMs;
    if (ms !== undefined && (typeof ms !== 'number' || !(ms > 0))) {
      throw new HierarchyError(`domainRotationMs must be a positive number of milliseconds, got ${String(ms)}`);
    }
    const existing = await opts.store.getMeta(META_REGIONS);
    if (existing === undefined) throw new UnsealError('the store is not initialized: run keyward init first');
    const meta = parseRegionsMeta(existing);
    const h = await KeyHierarchy.#unsealAll(opts, meta);
    const hierarchy = new KeyHierarchy(opts, h.unseal, h.regionKeys, h.auditKey);
    opts.store.setAuditMac(hierarchy.auditMac);
    return hierarchy;
  }

  /** 'hsm' or 'sealed' for an initialized store (how its region keys are kept), undefined for a fresh one. */
  static async storeMode(store: Store): Promise<'hsm' | 'sealed' | undefined> {
    const existing = await store.getMeta(META_REGIONS);
    if (existing === undefined) return undefined;
    return parseRegionsMeta(existing).regionKeys === 'hsm' ? 'hsm' : 'sealed';
  }

  static async #unsealAll(
    opts: HierarchyOptions,
    meta: RegionsMeta,
  ): Promise<{ unseal: KeyHandle | null; regionKeys: Map<string, KeyHandle>; auditKey: Uint8Array }> {
    const { provider, store } = opts;
    // The store's mode first: opening an HSM store without the HSM names the HSM, not the unseal key.
    checkStoreMode(meta, opts.regionKeyInHsm === true);
    const mode = checkMode(opts);
    const unseal = mode.unsealKey ? await provider.importKey('AES_256', mode.unsealKey) : null;
    const regionKeys = new Map<string, KeyHandle>();
    try {
      for (const region of meta.regions) {
        regionKeys.set(region, await KeyHierarchy.#openRegionKey(provider, store, unseal, region));
      }
      const sealedAudit = await store.getMeta(META_AUDIT_KEY);
      if (sealedAudit === undefined || sealedAudit.length < IV_LENGTH + AUDIT_KEY_LENGTH + TAG_LENGTH) {
        throw new HierarchyError(`store meta ${META_AUDIT_KEY} is missing or truncated: the store is corrupt`);
      }
      let auditKey: Uint8Array;
      try {
        auditKey = await provider.decrypt(
          regionKeys.get(meta.primary)!,
          sealedAudit.subarray(0, IV_LENGTH),
          sealedAudit.subarray(IV_LENGTH),
          aad('audit-key', meta.primary),
        );
      } catch (e) {
        if (e instanceof AuthenticationError) {
          // A token key of the right label that is not this store's: another token, or a re-created key.
          if (unseal === null) throw new UnsealError(`the HSM's region key '${regionKeyLabel(meta.primary)}' does not open this store: is this the token it was initialized with?`);
          // The region key opened, so the unseal key is right: the token itself was altered.
          throw new AuthenticationError(`store meta ${META_AUDIT_KEY} does not open under the region key: the store was altered`);
        }
        throw e;
      }
      return { unseal, regionKeys, auditKey };
    } catch (e) {
      await KeyHierarchy.#destroyAll(provider, unseal ? [unseal, ...regionKeys.values()] : regionKeys.values());
      throw e;
    }
  }

  /** The region key of region: unsealed (software mode) or the token key the store names (HSM mode). */
  static async #openRegionKey(provider: Provider, store: Store, unseal: KeyHandle | null, region: string): Promise<KeyHandle> {
    const sealed = await store.getMeta(metaRegionKey(region));
    if (sealed === undefined) throw new HierarchyError(`store meta ${metaRegionKey(region)} is missing: the store is corrupt`);
    if (unseal === null) {
      const label = new TextDecoder().decode(sealed);
      if (label !== regionKeyLabel(region)) throw new HierarchyError(`store meta ${metaRegionKey(region)} names token key '${label.slice(0, 80)}', not '${regionKeyLabel(region)}': the store is corrupt`);
      try {
        return await (provider as TokenKeyProvider).openKey(label);
      } catch (e) {
        if ((e as { reason?: unknown }).reason === 'not-found') throw new UnsealError(`the region key '${label}' is not on this HSM token: is this the token the store was initialized with?`);
        throw e;
      }
    }
    try {
      return await provider.unwrapKey(unseal, 'AES_256', sealed, aad('region-key', region));
    } catch (e) {
      if (e instanceof AuthenticationError) throw new UnsealError('unseal key does not open this store');
      throw e;
    }
  }

  static async #destroyAll(provider: Provider, handles: Iterable<KeyHandle>): Promise<void> {
    const results = await Promise.allSettled([...handles].map((h) => provider.destroyKey(h)));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }

  /** Whether the provider keeps token keys, so CMKs can be held in the HSM (Origin AWS_CLOUDHSM). */
  get holdsTokenKeys(): boolean {
    return isTokenKeyProvider(this.#provider);
  }

  /** The regions whose region keys are open, the primary (initialized) one first. */
  regions(): string[] {
    return [...this.#regionKeys.keys()];
  }

  /**
   * A new region with its own region key, sealed under the unseal key (HSM mode: a token key found or
   * made by label, the store keeping its label) and committed with audit operation
   * 'AddRegion'. Idempotent: a region the store already has is only opened.
   */
  async addRegion(region: string): Promise<void> {
    this.#live();
    checkRegion(region);
    await this.#locks.run('regions', async () => {
      const stored = await this.#store.getMeta(META_REGIONS);
      if (stored === undefined) throw new HierarchyError(`store meta ${META_REGIONS} disappeared: the store is corrupt`);
      const meta = parseRegionsMeta(stored);
      if (meta.regions.includes(region)) {
        if (!this.#regionKeys.has(region)) {
          this.#regionKeys.set(region, await KeyHierarchy.#openRegionKey(this.#provider, this.#store, this.#unseal, region));
        }
        return;
      }
      const unseal = this.#unseal;
      const rk = unseal ? await this.#provider.generateKey('AES_256') : await hsmRegionKey(this.#provider as TokenKeyProvider, region);
      try {
        const sealed = unseal ? await this.#provider.wrapKey(unseal, rk, aad('region-key', region)) : utf8.encode(regionKeyLabel(region));
        const next: RegionsMeta = { ...meta, regions: [...meta.regions, region] };
        await this.#store.commit(
          [
            { kind: 'putMeta', name: metaRegionKey(region), value: sealed },
            { kind: 'putMeta', name: META_REGIONS, value: encodeJson(next) },
          ],
          this.#auditEntry('AddRegion', region),
        );
      } catch (e) {
        await this.#provider.destroyKey(rk);
        throw e;
      }
      this.#regionKeys.set(region, rk);
    });
  }

  /**
   * A new backing key version for a CMK, generated in the provider or imported from `material` (raw for
   * AES/HMAC, PKCS#8 for asymmetric; the caller still owns and wipes it), wrapped as an EKT under the
   * current domain key of (region, domain). With inHsm the key is instead generated as a non-extractable
   * token key labelled cmkLabel(region, keyId, version) and the record holds only an HSM key reference.
   * Not committed: the caller commits the returned record.
   */
  async newBackingKey(a: {
    region: string;
    domain: string;
    keyId: string;
    version: number;
    spec: ProviderKeySpec;
    rotationType: string;
    material?: Uint8Array;
    inHsm?: boolean;
  }): Promise<KeyVersionRecord> {
    this.#live();
    const region = this.#knownRegion(a.region);
    const domain = checkDomain(a.domain);
    const keyId = checkKeyId(a.keyId);
    const version = checkVersion(a.version, 'backing version');
    const spec = checkSpec(a.spec);
    if (typeof a.rotationType !== 'string') throw new HierarchyError('rotationType must be a string');
    const state = await this.#domain(region, domain);
    const domainVersion = state.current;
    if (a.inHsm) {
      if (a.material !== undefined) throw new HierarchyError('an HSM-held backing key is generated in the HSM, not imported');
      const handle = await this.#newTokenKey(region, keyId, version, spec);
      const ekt = encodeHkr(spec, domain, cmkLabel(region, keyId, version));
      this.#cache(region, keyId, version, { handle, domain, ekts: [{ ekt, domainVersion }], uses: 0, retired: false });
      return { region, keyId, version, domainVersion, ekt, createdAt: this.#now(), rotationType: a.rotationType };
    }
    const dk = await this.#domainKey(state, domainVersion);
    const handle = a.material === undefined ? await this.#provider.generateKey(spec) : await this.#provider.importKey(spec, a.material);
    let ekt: Uint8Array;
    try {
      const wrapped = await this.#provider.wrapKey(dk, handle, aad('ekt', region, domain, keyId, version, spec, domainVersion));
      ekt = encodeEkt(spec, domain, wrapped);
    } catch (e) {
      await this.#provider.destroyKey(handle);
      throw e;
    }
    // Cached at once: a new key is usually used next. Should the caller's commit fail and the version be
    // made again, the new EKT differs and replaces this entry.
    this.#cache(region, keyId, version, { handle, domain, ekts: [{ ekt, domainVersion }], uses: 0, retired: false });
    return { region, keyId, version, domainVersion, ekt, createdAt: this.#now(), rotationType: a.rotationType };
  }

  /** The provider as a TokenKeyProvider, or HierarchyError naming what needed it. */
  #tokenProvider(what: string): TokenKeyProvider {
    if (!isTokenKeyProvider(this.#provider)) throw new HierarchyError(`${what} needs an HSM provider (Pkcs11Provider or HsmCluster), not '${this.#provider.name}'`);
    return this.#provider;
  }

  /**
   * A new non-extractable token key for a CMK version. A key already carrying the label is the orphan of
   * a call whose commit failed (the store lacks the version): it is deleted and the key made afresh.
   */
  async #newTokenKey(region: string, keyId: string, version: number, spec: ProviderKeySpec): Promise<KeyHandle> {
    const p = this.#tokenProvider('an HSM-held CMK (Origin AWS_CLOUDHSM)');
    const label = cmkLabel(region, keyId, version);
    try {
      return await p.generateKey(spec, { token: true, label, extractable: false });
    } catch (e) {
      if ((e as { reason?: unknown }).reason !== 'exists') throw e;
    }
    if ((await this.#store.keyVersions(region, keyId)).some((r) => r.version === version)) {
      throw new HierarchyError(`key ${keyId} version ${version} exists already in ${region}`);
    }
    await p.deleteTokenKey(await p.openKey(label));
    return p.generateKey(spec, { token: true, label, extractable: false });
  }

  /**
   * Deletes the token keys of a destroyed HSM-held CMK's versions (DeleteKey). Versions that are not HSM
   * references, and labels the token no longer has, are skipped.
   */
  async deleteHsmKeys(region: string, keyId: string, versions: readonly KeyVersionRecord[]): Promise<void> {
    this.#live();
    this.forget(region, keyId);
    const hsm = versions.filter((r) => isHkr(r.ekt));
    if (hsm.length === 0) return;
    const p = this.#tokenProvider('deleting HSM-held keys');
    for (const r of hsm) {
      let h: KeyHandle;
      try {
        h = await p.openKey(cmkLabel(region, keyId, r.version));
      } catch (e) {
        if ((e as { reason?: unknown }).reason === 'not-found') continue;
        throw e;
      }
      await p.deleteTokenKey(h);
    }
  }

  /**
   * The usable handle of a backing version (cached; unwraps the EKT under domain key version
   * rec.domainVersion). Valid until forget()/close(); do not destroy it.
   * @throws AuthenticationError for a tampered EKT, or one that does not match spec and domain
   */
  async backingKey(rec: KeyVersionRecord, spec: ProviderKeySpec, domain: string): Promise<KeyHandle> {
    this.#live();
    const b = this.#acquire(rec, spec, domain);
    const entry = b instanceof Promise ? await b : b;
    this.#release(entry);
    return entry.handle;
  }

  /**
   * Encrypts under a SYMMETRIC_DEFAULT CMK version: K = HKDF-SHA256(backing key, salt = 16 random bytes,
   * info = 'keyward/v1/encrypt'), AES-256-GCM with a random 12-byte IV, AAD = header ‖ canonical context.
   * @returns the version-1 ciphertext blob
   */
  async encrypt(rec: KeyVersionRecord, domain: string, plaintext: Uint8Array, ctx: Record<string, string> | undefined): Promise<Uint8Array> {
    this.#live();
    const context = canonicalContext(ctx);
    return this.#seal(rec, domain, await this.#provider.random(NONCE_LENGTH + IV_LENGTH), plaintext, context);
  }

  /**
   * GenerateDataKey in one step: numberOfBytes random bytes and their blob, as encrypt() makes it. The
   * data key, salt and IV come from one provider.random call, which is most of a data key's cost.
   * The caller owns the plaintext and wipes it once returned.
   */
  async generateDataKey(
    rec: KeyVersionRecord,
    domain: string,
    numberOfBytes: number,
    ctx: Record<string, string> | undefined,
  ): Promise<{ plaintext: Uint8Array; blob: Uint8Array }> {
    this.#live();
    if (!Number.isInteger(numberOfBytes) || numberOfBytes < 1 || numberOfBytes > MAX_DATA_KEY_BYTES) {
      throw new RangeError(`numberOfBytes must be an integer in 1..${MAX_DATA_KEY_BYTES}, got ${String(numberOfBytes)}`);
    }
    const context = canonicalContext(ctx);
    const random = await this.#provider.random(NONCE_LENGTH + IV_LENGTH + numberOfBytes);
    const plaintext = random.slice(NONCE_LENGTH + IV_LENGTH);
    random.fill(0, NONCE_LENGTH + IV_LENGTH);
    try {
      return { plaintext, blob: await this.#seal(rec, domain, random, plaintext, context) };
    } catch (e) {
      plaintext.fill(0);
      throw e;
    }
  }

  /** encrypt() given its random bytes: salt (16) ‖ IV (12), and the encoded context. */
  async #seal(rec: KeyVersionRecord, domain: string, random: Uint8Array, plaintext: Uint8Array, context: Uint8Array): Promise<Uint8Array> {
    const b = this.#acquire(rec, 'AES_256', domain);
    const entry = b instanceof Promise ? await b : b;
    try {
      const nonce = random.subarray(0, NONCE_LENGTH);
      const iv = random.subarray(NONCE_LENGTH, NONCE_LENGTH + IV_LENGTH);
      const header = encodeBlobHeader(rec.keyId, rec.version, nonce, iv);
      const k = await this.#provider.deriveKey(entry.handle, nonce, INFO_ENCRYPT);
      let sealed: Uint8Array;
      try {
        sealed = await this.#provider.encrypt(k, iv, plaintext, context.length === 0 ? header : concat(header, context));
      } finally {
        await this.#provider.destroyKey(k);
      }
      return concat(header, sealed);
    } finally {
      this.#release(entry);
    }
  }

  /**
   * The inverse of encrypt.
   * @throws AuthenticationError for a wrong key, version, context or any altered bit; never plaintext
   */
  async decrypt(blob: CiphertextBlob, rec: KeyVersionRecord, domain: string, ctx: Record<string, string> | undefined): Promise<Uint8Array> {
    this.#live();
    if (blob.keyId !== rec.keyId || blob.backingVersion !== rec.version) throw new AuthenticationError();
    const context = canonicalContext(ctx);
    const b = this.#acquire(rec, 'AES_256', domain);
    const entry = b instanceof Promise ? await b : b;
    try {
      const k = await this.#provider.deriveKey(entry.handle, blob.nonce, INFO_ENCRYPT);
      try {
        return await this.#provider.decrypt(k, blob.iv, blob.ciphertext, context.length === 0 ? blob.header : concat(blob.header, context));
      } finally {
        await this.#provider.destroyKey(k);
      }
    } finally {
      this.#release(entry);
    }
  }

  /**
   * The same backing key version re-wrapped under the current domain key of (targetRegion, domain), for
   * ReplicateKey. Not committed; createdAt and rotationType are the source version's.
   */
  async rewrapForRegion(rec: KeyVersionRecord, spec: ProviderKeySpec, domain: string, targetRegion: string): Promise<KeyVersionRecord> {
    this.#live();
    if (isHkr(rec.ekt)) throw new HierarchyError(`key ${rec.keyId} is held in the HSM and cannot be copied to another region`);
    const region = this.#knownRegion(targetRegion);
    const state = await this.#domain(region, checkDomain(domain));
    const domainVersion = state.current;
    const dk = await this.#domainKey(state, domainVersion);
    const b = this.#acquire(rec, spec, domain);
    const entry = b instanceof Promise ? await b : b;
    try {
      const wrapped = await this.#provider.wrapKey(dk, entry.handle, aad('ekt', region, domain, rec.keyId, rec.version, spec, domainVersion));
      return { ...rec, region, domainVersion, ekt: encodeEkt(spec, domain, wrapped) };
    } finally {
      this.#release(entry);
    }
  }

  /** Seals an engine secret (the import wrapping private key) under the current domain key. */
  async sealSecret(region: string, domain: string, secret: Uint8Array, secretAad: Uint8Array): Promise<{ domainVersion: number; token: Uint8Array }> {
    this.#live();
    const state = await this.#domain(this.#knownRegion(region), checkDomain(domain));
    const domainVersion = state.current;
    const dk = await this.#domainKey(state, domainVersion);
    const iv = await this.#provider.random(IV_LENGTH);
    const sealed = await this.#provider.encrypt(dk, iv, secret, aad('secret', region, domain, domainVersion, secretAad));
    return { domainVersion, token: concat(iv, sealed) };
  }

  /** @throws AuthenticationError for a token, version or aad other than sealSecret's */
  async openSecret(region: string, domain: string, domainVersion: number, token: Uint8Array, secretAad: Uint8Array): Promise<Uint8Array> {
    this.#live();
    const state = await this.#domain(this.#knownRegion(region), checkDomain(domain));
    if (!(token instanceof Uint8Array) || token.length < IV_LENGTH + TAG_LENGTH) throw new AuthenticationError('malformed secret token');
    const dk = await this.#domainKey(state, checkVersion(domainVersion, 'domain key version'));
    return this.#provider.decrypt(dk, token.subarray(0, IV_LENGTH), token.subarray(IV_LENGTH), aad('secret', region, domain, domainVersion, secretAad));
  }

  /**
   * For every (region, domain) whose current domain key is at least domainRotationMs old: a new domain
   * key version, and every CMK EKT of that domain under an older version re-wrapped to it, in one commit
   * (audit operation 'RotateDomainKey', principal 'keyward:system'). Old versions stay: sealed secrets
   * and EKTs committed concurrently under them still open; the next rotation re-wraps such EKTs.
   * @returns the number of domains rotated
   */
  async rotateDomainKeysIfDue(): Promise<number> {
    this.#live();
    let rotated = 0;
    for (const [region, domain] of await this.#readDomainsIndex()) {
      // A region added by another engine node after this one opened is rotated by a node that has it.
      if (!this.#regionKeys.has(region)) continue;
      if (await this.#locks.run(`dk\0${region}\0${domain}`, () => this.#rotateIfDue(region, domain))) rotated++;
    }
    return rotated;
  }

  /** Drops (and destroys, once idle) the cached handles of a key: destroyed key or deleted material. */
  forget(region: string, keyId: string): void {
    const k = `${region}\0${keyId}`;
    const versions = this.#backing.get(k);
    if (versions === undefined) return;
    this.#backing.delete(k);
    for (const entry of versions.values()) this.#retire(entry);
  }

  /** Destroys every cached handle and wipes the audit key. The hierarchy is unusable afterwards. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#auditKey.destroy();
    const handles: KeyHandle[] = [...(this.#unseal ? [this.#unseal] : []), ...this.#regionKeys.values()];
    for (const versions of this.#backing.values()) for (const e of versions.values()) handles.push(e.handle);
    for (const e of this.#retiredBusy) handles.push(e.handle);
    this.#backing.clear();
    this.#retiredBusy.clear();
    this.#regionKeys.clear();
    for (const state of this.#domains.values()) {
      for (const p of state.handles.values()) {
        const h = await p.catch(() => undefined);
        if (h !== undefined) handles.push(h);
      }
    }
    this.#domains.clear();
    const pending = [...this.#destroying];
    await KeyHierarchy.#destroyAll(this.#provider, handles);
    await Promise.all(pending);
  }

  #live(): void {
    if (this.#closed) throw new HierarchyError('key hierarchy is closed');
  }

  #knownRegion(region: string): string {
    if (!this.#regionKeys.has(region)) {
      checkRegion(region);
      throw new HierarchyError(`unknown region ${region}: this store has ${this.regions().join(', ')}`);
    }
    return region;
  }

  #auditEntry(operation: string, region: string): AuditEntry {
    return {
      time: this.#now(),
      requestId: randomUUID(),
      principal: SYSTEM_PRINCIPAL,
      operation,
      region,
      keyId: null,
      encryptionContext: null,
      outcome: 'Success',
    };
  }

  async #readDomainsIndex(): Promise<[string, string][]> {
    const stored = await this.#store.getMeta(META_DOMAINS);
    if (stored === undefined) return [];
    try {
      const list = JSON.parse(new TextDecoder().decode(stored)) as unknown;
      if (Array.isArray(list) && list.every((p) => Array.isArray(p) && p.length === 2 && typeof p[0] === 'string' && typeof p[1] === 'string')) {
        return list as [string, string][];
      }
    } catch {
      // Reported below with the malformed case.
    }
    throw new HierarchyError(`store meta ${META_DOMAINS} is malformed: the store is corrupt`);
  }

  /** The loaded state of (region, domain); its first use anywhere creates domain key version 1. */
  #domain(region: string, domain: string): DomainState | Promise<DomainState> {
    const k = `${region}\0${domain}`;
    return this.#domains.get(k) ?? this.#locks.run(`dk\0${k}`, async () => this.#domains.get(k) ?? this.#loadDomain(region, domain));
  }

  /** Reads (or creates) the domain key records of (region, domain). Call under the domain's lock. */
  async #loadDomain(region: string, domain: string): Promise<DomainState> {
    const records = await this.#store.domainKeys(region, domain);
    if (records.length > 0) return this.#loaded(region, domain, records);
    // Nodes sharing a store make a domain's first key one at a time: two first uses racing on two nodes would
    // each make a version 1, and one commit would fail (the caller's CreateKey got AlreadyExistsException).
    // Under the store's lock (on a name no key has), the records are read again before any is made.
    const unlock = await this.#store.lockKey?.('*', 'domains');
    try {
      const again = await this.#store.domainKeys(region, domain);
      return again.length > 0 ? this.#loaded(region, domain, again) : await this.#createDomain(region, domain);
    } finally {
      unlock?.();
    }
  }

  #loaded(region: string, domain: string, records: DomainKeyRecord[]): DomainState {
    const state: DomainState = { region, domain, current: 0, currentCreatedAt: 0, records: new Map(), handles: new Map() };
    this.#absorb(state, records);
    this.#domains.set(`${region}\0${domain}`, state);
    return state;
  }

  /** Creates domain key version 1 of (region, domain). Call under the domain's locks. */
  async #createDomain(region: string, domain: string): Promise<DomainState> {
    const rk = this.#regionKeys.get(region)!;
    const dk = await this.#provider.generateKey('AES_256');
    let state: DomainState;
    try {
      const record: DomainKeyRecord = {
        region,
        domain,
        version: 1,
        token: await this.#provider.wrapKey(rk, dk, aad('domain-key', region, domain, 1)),
        createdAt: this.#now(),
      };
      // The index is read-modify-write: one writer at a time (the store's lock orders the nodes).
      await this.#locks.run('domains-index', async () => {
        const index = await this.#readDomainsIndex();
        if (!index.some(([r, d]) => r === region && d === domain)) index.push([region, domain]);
        await this.#store.commit(
          [
            { kind: 'putDomainKey', record },
            { kind: 'putMeta', name: META_DOMAINS, value: encodeJson(index) },
          ],
          this.#auditEntry('CreateDomainKey', region),
        );
      });
      state = { region, domain, current: 1, currentCreatedAt: record.createdAt, records: new Map([[1, record]]), handles: new Map([[1, Promise.resolve(dk)]]) };
    } catch (e) {
      await this.#provider.destroyKey(dk);
      throw e;
    }
    this.#domains.set(`${region}\0${domain}`, state);
    return state;
  }

  #absorb(state: DomainState, records: DomainKeyRecord[]): void {
    for (const r of records) {
      state.records.set(r.version, r);
      if (r.version > state.current) {
        state.current = r.version;
        state.currentCreatedAt = r.createdAt;
      }
    }
  }

  /** The handle of one domain key version, unwrapped under the region key once. */
  #domainKey(state: DomainState, version: number): Promise<KeyHandle> {
    const cached = state.handles.get(version);
    if (cached !== undefined) return cached;
    const p = (async () => {
      if (!state.records.has(version)) this.#absorb(state, await this.#store.domainKeys(state.region, state.domain));
      const record = state.records.get(version);
      if (record === undefined) throw new AuthenticationError(`domain key version ${version} of ${state.domain} in ${state.region} does not exist`);
      const rk = this.#regionKeys.get(state.region)!;
      return this.#provider.unwrapKey(rk, 'AES_256', record.token, aad('domain-key', state.region, state.domain, version));
    })();
    state.handles.set(version, p);
    p.catch(() => {
      if (state.handles.get(version) === p) state.handles.delete(version);
    });
    return p;
  }

  /**
   * The cached backing key of rec, its use count raised (pair with #release). Synchronous when warm: the
   * hot path reads no token and awaits nothing here. A record whose EKT is not one the entry was made from
   * is unwrapped afresh; only a successful unwrap replaces the entry, so a tampered record never evicts it.
   */
  #acquire(rec: KeyVersionRecord, spec: ProviderKeySpec, domain: string): Backing | Promise<Backing> {
    const entry = this.#backing.get(`${rec.region}\0${rec.keyId}`)?.get(rec.version);
    if (entry !== undefined && entry.handle.spec === spec && entry.domain === domain && holds(entry, rec)) {
      entry.uses++;
      return entry;
    }
    return this.#unwrapBacking(rec, spec, domain);
  }

  async #unwrapBacking(rec: KeyVersionRecord, spec: ProviderKeySpec, domain: string): Promise<Backing> {
    const handle = await this.#unwrapEkt(rec, spec, domain);
    const entry: Backing = { handle, domain, ekts: [{ ekt: rec.ekt.slice(), domainVersion: rec.domainVersion }], uses: 1, retired: false };
    this.#cache(rec.region, rec.keyId, rec.version, entry);
    return entry;
  }

  /** A new handle from rec's EKT; the caller owns it. */
  async #unwrapEkt(rec: KeyVersionRecord, spec: ProviderKeySpec, domain: string): Promise<KeyHandle> {
    const region = this.#knownRegion(rec.region);
    if (isHkr(rec.ekt)) {
      const ref = parseHkr(rec.ekt);
      if (ref.spec !== spec || ref.domain !== domain) throw new AuthenticationError('key reference is not for this key spec and domain');
      if (ref.label !== cmkLabel(region, rec.keyId, rec.version)) throw new AuthenticationError('key reference does not name this key version\'s token key');
      const p = this.#tokenProvider('an HSM-held CMK (Origin AWS_CLOUDHSM)');
      let h: KeyHandle;
      try {
        h = await p.openKey(ref.label);
      } catch (e) {
        if ((e as { reason?: unknown }).reason === 'not-found') throw new HierarchyError(`the HSM key '${ref.label}' of ${rec.keyId} version ${rec.version} is not on this token`);
        throw e;
      }
      if (h.spec !== spec) {
        await p.destroyKey(h);
        throw new AuthenticationError(`the token key '${ref.label}' is ${h.spec}, not ${spec}`);
      }
      return h;
    }
    const ekt = parseEkt(rec.ekt);
    if (ekt.spec !== spec || ekt.domain !== domain) throw new AuthenticationError('key token is not for this key spec and domain');
    const state = await this.#domain(region, checkDomain(domain));
    const dk = await this.#domainKey(state, rec.domainVersion);
    return this.#provider.unwrapKey(dk, spec, ekt.wrapped, aad('ekt', region, domain, rec.keyId, rec.version, spec, rec.domainVersion));
  }

  #cache(region: string, keyId: string, version: number, entry: Backing): void {
    const k = `${region}\0${keyId}`;
    let versions = this.#backing.get(k);
    if (versions === undefined) this.#backing.set(k, (versions = new Map()));
    const old = versions.get(version);
    versions.set(version, entry);
    if (old !== undefined) this.#retire(old);
  }

  #release(entry: Backing): void {
    entry.uses--;
    if (entry.retired && entry.uses === 0) {
      this.#retiredBusy.delete(entry);
      this.#destroyLater(entry.handle);
    }
  }

  #retire(entry: Backing): void {
    if (entry.retired) return;
    entry.retired = true;
    if (entry.uses === 0) this.#destroyLater(entry.handle);
    else this.#retiredBusy.add(entry);
  }

  #destroyLater(handle: KeyHandle): void {
    // After close() every handle is destroyed already.
    if (this.#closed) return;
    const p = this.#provider.destroyKey(handle);
    this.#destroying.add(p);
    const done = (): void => void this.#destroying.delete(p);
    p.then(done, done);
  }

  /** One domain's rotation; runs under that domain's lock. */
  async #rotateIfDue(region: string, domain: string): Promise<boolean> {
    const k = `${region}\0${domain}`;
    const state = this.#domains.get(k) ?? (await this.#loadDomain(region, domain));
    // Another engine node may have rotated since this one loaded the domain.
    this.#absorb(state, await this.#store.domainKeys(region, domain));
    if (this.#now() - state.currentCreatedAt < this.#rotationMs) return false;

    const version = state.current + 1;
    const dk = await this.#provider.generateKey('AES_256');
    let done: Rotation | null;
    try {
      done = await this.#rotateTo(state, dk, version);
    } catch (e) {
      await this.#provider.destroyKey(dk);
      throw e;
    }
    if (done === null) {
      await this.#provider.destroyKey(dk);
      return false;
    }
    state.records.set(version, done.record);
    state.handles.set(version, Promise.resolve(dk));
    state.current = version;
    state.currentCreatedAt = done.record.createdAt;
    // A warm handle stays warm for the old record (an engine may still hold it) and the new one.
    for (const { old, ekt } of done.rewrapped) {
      const entry = this.#backing.get(`${region}\0${old.keyId}`)?.get(old.version);
      if (entry !== undefined && holds(entry, old)) {
        entry.ekts.push({ ekt, domainVersion: version });
        if (entry.ekts.length > MAX_EKTS_PER_HANDLE) entry.ekts.shift();
      }
    }
    return true;
  }

  /**
   * Commits domain key `version` (dk) and the domain's EKTs re-wrapped to it.
   * @returns what was committed, or null when another engine node made that version meanwhile
   */
  async #rotateTo(state: DomainState, dk: KeyHandle, version: number): Promise<Rotation | null> {
    const { region, domain } = state;
    const record: DomainKeyRecord = {
      region,
      domain,
      version,
      token: await this.#provider.wrapKey(this.#regionKeys.get(region)!, dk, aad('domain-key', region, domain, version)),
      createdAt: this.#now(),
    };
    let rewrapped: Rotation['rewrapped'] = [];
    for (const key of await this.#store.allKeys()) {
      if (key.region !== region) continue;
      for (const rec of await this.#store.keyVersions(region, key.keyId)) {
        // An HSM key reference wraps nothing under the domain key.
        if (rec.domainVersion >= version || isHkr(rec.ekt)) continue;
        let parsed: ReturnType<typeof parseEkt>;
        try {
          parsed = parseEkt(rec.ekt);
        } catch {
          throw new AuthenticationError(`key token of ${key.keyId} version ${rec.version} is malformed; domain ${domain} not rotated`);
        }
        if (parsed.domain !== domain) continue;
        rewrapped.push({ old: rec, ekt: await this.#rewrap(rec, parsed.spec, domain, dk, version) });
      }
    }
    // Re-read just before committing, as the puts below are upserts. A domain key version another node
    // made meanwhile would be overwritten, orphaning its EKTs: that node has rotated, this one steps back.
    // A key version deleted or replaced meanwhile (DeleteImportedKeyMaterial) must not come back. This
    // narrows the races to the commit itself; closing them needs insert-only domain keys and a conditional
    // key-version update in the store.
    const latest = await this.#store.domainKeys(region, domain);
    if (latest.some((r) => r.version >= version)) {
      this.#absorb(state, latest);
      return null;
    }
    const current = await this.#stillCurrent(region, rewrapped.map((r) => r.old));
    rewrapped = rewrapped.filter((r) => current.has(r.old));
    const mutations: Mutation[] = [
      { kind: 'putDomainKey', record },
      ...rewrapped.map(({ old, ekt }): Mutation => ({ kind: 'putKeyVersion', record: { ...old, domainVersion: version, ekt } })),
    ];
    await this.#store.commit(mutations, this.#auditEntry('RotateDomainKey', region));
    return { record, rewrapped };
  }

  /** Those of recs whose stored version still has the same EKT. */
  async #stillCurrent(region: string, recs: KeyVersionRecord[]): Promise<Set<KeyVersionRecord>> {
    const byKey = new Map<string, KeyVersionRecord[]>();
    for (const r of recs) byKey.set(r.keyId, [...(byKey.get(r.keyId) ?? []), r]);
    const current = new Set<KeyVersionRecord>();
    for (const [keyId, mine] of byKey) {
      const stored = await this.#store.keyVersions(region, keyId);
      for (const r of mine) if (stored.some((s) => s.version === r.version && sameBytes(s.ekt, r.ekt))) current.add(r);
    }
    return current;
  }

  /**
   * rec's backing key wrapped under dk (domain key `version`): through the warm handle when there is one,
   * else through a handle unwrapped for this and destroyed, so rotation does not fill the cache.
   */
  async #rewrap(rec: KeyVersionRecord, spec: ProviderKeySpec, domain: string, dk: KeyHandle, version: number): Promise<Uint8Array> {
    const entry = this.#backing.get(`${rec.region}\0${rec.keyId}`)?.get(rec.version);
    const warm = entry !== undefined && entry.handle.spec === spec && entry.domain === domain && holds(entry, rec) ? entry : undefined;
    if (warm) warm.uses++;
    const handle = warm?.handle ?? (await this.#unwrapEkt(rec, spec, domain));
    try {
      const wrapped = await this.#provider.wrapKey(dk, handle, aad('ekt', rec.region, domain, rec.keyId, rec.version, spec, version));
      return encodeEkt(spec, domain, wrapped);
    } finally {
      if (warm) this.#release(warm);
      else await this.#provider.destroyKey(handle);
    }
  }
}
