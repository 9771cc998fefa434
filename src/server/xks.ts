// The AWS KMS External Key Store (XKS) proxy API, version 1 (aws/aws-kms-xksproxy-api-spec), over keys
// kept by Keyward (src/server/xks-keys.ts):
//
//   POST {prefix}/kms/xks/v1/health                       GetHealthStatus
//   POST {prefix}/kms/xks/v1/keys/{externalKeyId}/metadata GetKeyMetadata
//   POST {prefix}/kms/xks/v1/keys/{externalKeyId}/encrypt  Encrypt (AES-256-GCM)
//   POST {prefix}/kms/xks/v1/keys/{externalKeyId}/decrypt  Decrypt
//
// Every request is SigV4-signed with the service name kms-xks-proxy and the proxy's own access keys;
// errors are {"errorName", "errorMessage"} with the spec's statuses. Order per request: path, method,
// body, signature, kill switch, JSON, key, allow lists, key status, crypto.
//
// The AES-GCM AAD is, as the spec recommends, u16be(len AAD) ‖ AAD ‖ u8(len metadata) ‖ metadata, where
// the ciphertextMetadata this proxy returns names the format and the key version that encrypted, so a
// key can gain versions without old ciphertexts losing theirs.
import { timingSafeEqual } from 'node:crypto';
import type { KeyHandle, Provider } from '../crypto/provider.js';
import { AuthenticationError } from '../crypto/errors.js';
import { sha256 } from '../crypto/sha2.js';
import { WasmProvider } from '../crypto/wasm-provider.js';
import { KmsError, ValidationException } from '../kms/errors.js';
import type { Keyward } from '../kms/keyward.js';
import type { Credential } from './credentials.js';
import { SigV4Verifier } from './sigv4.js';
import { EXTERNAL_KEY_ID, readXksKeys, setXksEnabled, xksBlobContext, type XksKeyRecord, type XksKeysFile } from './xks-keys.js';

/** The SigV4 service name AWS KMS signs XKS requests with (spec, Appendix A). */
export const XKS_SERVICE = 'kms-xks-proxy';
export const XKS_API_PATH = '/kms/xks/v1';
/** XKS spec: the proxy must take 4300 bytes of plaintext and 8192 of AAD; larger is refused as unsupported. */
export const MAX_PLAINTEXT_BYTES = 65_536;
const MAX_AAD_BYTES = 65_535;
const MAX_METADATA_STRING = 2048;
const IV_BYTES = 12;
const TAG_BYTES = 16;
/** ciphertextMetadata: 'K' 'W', format 1, u16be key version. */
const METADATA_MAGIC = [0x4b, 0x57, 0x01] as const;
const METADATA_BYTES = 5;
const XKS_PATH_PREFIX = /^(\/[A-Za-z0-9_-]+)*$/;
/** How long a handle taken out of the cache lives on for requests still using it. */
const RETIRE_MS = 10_000;

/** An XKS error: `name` is the spec's errorName, `status` its HTTP status. */
export class XksError extends Error {
  constructor(
    override readonly name: XksErrorName,
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export type XksErrorName =
  | 'ValidationException' | 'InvalidStateException' | 'InvalidCiphertextException' | 'InvalidKeyUsageException'
  | 'AuthenticationFailedException' | 'AccessDeniedException' | 'KeyNotFoundException' | 'InvalidUriPathException'
  | 'ThrottlingException' | 'UnsupportedOperationException' | 'DependencyTimeoutException' | 'InternalException'
  | 'MethodNotAllowed';

const STATUS: Record<XksErrorName, number> = {
  ValidationException: 400, InvalidStateException: 400, InvalidCiphertextException: 400, InvalidKeyUsageException: 400,
  AuthenticationFailedException: 401, AccessDeniedException: 403, KeyNotFoundException: 404, InvalidUriPathException: 404,
  MethodNotAllowed: 405, ThrottlingException: 429, UnsupportedOperationException: 501, DependencyTimeoutException: 503,
  InternalException: 500,
};

function fail(name: XksErrorName, message: string): XksError {
  return new XksError(name, STATUS[name], message);
}

/** The operations, as the access log and metrics name them. */
export type XksOperation = 'XksGetHealthStatus' | 'XksGetKeyMetadata' | 'XksEncrypt' | 'XksDecrypt';
const KEY_OPERATIONS: Record<string, XksOperation> = { metadata: 'XksGetKeyMetadata', encrypt: 'XksEncrypt', decrypt: 'XksDecrypt' };

/** The requestMetadata fields the access log keeps (spec: log them, kmsRequestId above all). */
export interface XksLogFields {
  externalKeyId?: string;
  kmsRequestId?: string;
  kmsOperation?: string;
  awsPrincipalArn?: string;
  kmsKeyArn?: string;
  kmsViaService?: string;
  /** Why an allow list refused the request. */
  denied?: string;
}

export interface XksRequest {
  method: string;
  /** Path and query, as received. */
  url: string;
  path: string;
  rawHeaders: readonly string[];
  /** The size-limited body (rejects with a KmsError past the limit or on a lost connection). */
  readBody(): Promise<Buffer>;
}

export interface XksOutcome {
  status: number;
  body: string;
  operation?: XksOperation;
  error?: string;
  principal?: string;
  accessKeyId?: string;
  xks: XksLogFields;
}

/** An external key manager member as GetHealthStatus reports it. */
export interface EkmMember {
  id: string;
  model: string;
  healthStatus: 'ACTIVE' | 'DEGRADED' | 'UNAVAILABLE';
}

export interface XksProxyOptions {
  keyward: Keyward;
  /** The store directory (xks-keys.json lives there). */
  dir: string;
  /** The proxy's access keys (a CredentialStore over xks-credentials.json). */
  credentials: { lookup(accessKeyId: string): Credential | undefined };
  /** The optional path prefix before /kms/xks/v1, e.g. /keystores/abc (spec: letters, digits, / - _). */
  pathPrefix?: string;
  /** The region AWS KMS puts in the credential scope (default: the engine's). */
  region?: string;
  /** Where the AES-GCM work runs (default: the WASM provider); key material is imported into it. */
  provider?: Provider;
  /** How long an unwrapped key version is kept before the CMK is asked again (default 60 s). */
  keyCacheMs?: number;
  /** The members GetHealthStatus reports (default: this process, as the provider). */
  fleet?: () => EkmMember[];
  maxSkewMs?: number;
  now?: () => number;
}

interface Loaded {
  handle: KeyHandle;
  until: number;
}

const b64 = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64');
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function optString(o: Record<string, unknown>, name: string, where: string): string | undefined {
  const v = o[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw fail('ValidationException', `${where}${name} must be a string`);
  if (v.length > MAX_METADATA_STRING) throw fail('ValidationException', `${where}${name} is longer than ${MAX_METADATA_STRING} characters`);
  return v;
}

function reqString(o: Record<string, unknown>, name: string, where: string): string {
  const v = optString(o, name, where);
  if (v === undefined || v === '') throw fail('ValidationException', `${where}${name} is required`);
  return v;
}

/** Strict base64 (RFC 4648 §4, padded) of at most `max` bytes; an over-long value is UnsupportedOperation (spec). */
function optBase64(o: Record<string, unknown>, name: string, max: number): Uint8Array | undefined {
  const v = o[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw fail('ValidationException', `${name} must be a base64 string`);
  if (!BASE64.test(v)) throw fail('ValidationException', `${name} is not valid base64`);
  const bytes = Buffer.from(v, 'base64');
  if (bytes.length > max) throw fail('UnsupportedOperationException', `${name} is ${bytes.length} bytes; this proxy takes at most ${max}`);
  return bytes;
}

function reqBase64(o: Record<string, unknown>, name: string, max: number): Uint8Array {
  const v = optBase64(o, name, max);
  if (v === undefined) throw fail('ValidationException', `${name} is required`);
  return v;
}

/** u16be(len aad) ‖ aad ‖ u8(len metadata) ‖ metadata (spec, Encrypt: ciphertextMetadata). */
function gcmAad(aad: Uint8Array, metadata: Uint8Array): Uint8Array {
  const out = new Uint8Array(2 + aad.length + 1 + metadata.length);
  out[0] = aad.length >>> 8;
  out[1] = aad.length & 0xff;
  out.set(aad, 2);
  out[2 + aad.length] = metadata.length;
  out.set(metadata, 3 + aad.length);
  return out;
}

function metadataFor(version: number): Uint8Array {
  return Uint8Array.of(...METADATA_MAGIC, version >>> 8, version & 0xff);
}

/** The key version a ciphertextMetadata names, or undefined when it is not one this proxy wrote. */
function versionOf(metadata: Uint8Array): number | undefined {
  if (metadata.length !== METADATA_BYTES || METADATA_MAGIC.some((b, i) => metadata[i] !== b)) return undefined;
  return (metadata[3]! << 8) | metadata[4]!;
}

/** Printable ASCII under 512 characters (spec: errorMessage). */
function errorBody(name: string, message: string): string {
  return JSON.stringify({ errorName: name, errorMessage: message.replace(/[^\x20-\x7e]/g, '?').slice(0, 500) });
}

/** The XKS proxy API over the keys of one store; `handle` serves one request, never throws. */
export class XksProxy {
  /** {prefix}/kms/xks/v1 */
  readonly basePath: string;
  private readonly verifier: SigV4Verifier<Credential>;
  private readonly provider: Provider;
  private readonly now: () => number;
  private readonly keyCacheMs: number;
  private keys: XksKeysFile = { version: 1, disabled: false, keys: [] };
  private stamp = '';
  /** Why xks-keys.json could not be read at the last look (the proxy then serves nothing). */
  private loadError: string | undefined;
  private readonly loaded = new Map<string, Loaded>();
  /** Handles taken out of the cache; destroyed a little later, since a request may still be using one. */
  private readonly retired = new Set<KeyHandle>();
  private healthKey: Promise<KeyHandle> | undefined;

  constructor(private readonly opts: XksProxyOptions) {
    const prefix = opts.pathPrefix ?? '';
    if (!XKS_PATH_PREFIX.test(prefix) || prefix.length + XKS_API_PATH.length > 128) {
      throw new ValidationException(`XKS path prefix ${JSON.stringify(prefix.slice(0, 140))}: expected '' or /segments of A-Z a-z 0-9 _ -, with /kms/xks/v1 at most 128 characters`);
    }
    this.basePath = `${prefix}${XKS_API_PATH}`;
    this.provider = opts.provider ?? new WasmProvider();
    this.now = opts.now ?? Date.now;
    this.keyCacheMs = opts.keyCacheMs ?? 60_000;
    this.verifier = new SigV4Verifier({
      region: opts.region ?? opts.keyward.region, service: XKS_SERVICE, lookup: (id) => opts.credentials.lookup(id),
      ...(opts.maxSkewMs !== undefined ? { maxSkewMs: opts.maxSkewMs } : {}),
    });
    this.refresh();
  }

  /** True for a path this proxy serves (anything under {prefix}/kms/xks/v1). */
  owns(path: string): boolean {
    return path === this.basePath || path.startsWith(`${this.basePath}/`);
  }

  /** Why the key file cannot be read, if it cannot (the proxy then refuses everything). */
  get keyFileError(): string | undefined {
    this.refresh();
    return this.loadError;
  }

  /** The kill switch's state, as last read from the store directory (true also when the file cannot be read). */
  get disabled(): boolean {
    this.refresh();
    return this.keys.disabled;
  }

  /** The kill switch: refuses every XKS operation at once (persisted, so a restart keeps it). */
  async disable(): Promise<void> {
    await setXksEnabled(this.opts.dir, false);
    this.refresh();
    this.forget();
  }

  /** Serves XKS requests again. */
  async enable(): Promise<void> {
    await setXksEnabled(this.opts.dir, true);
    this.refresh();
  }

  /** Releases every unwrapped key and the signing-key cache (call once no request runs). */
  async close(): Promise<void> {
    this.forget();
    const retired = [...this.retired];
    this.retired.clear();
    for (const h of retired) await this.provider.destroyKey(h);
    const h = await this.healthKey?.catch(() => undefined);
    this.healthKey = undefined;
    if (h) await this.provider.destroyKey(h);
    this.verifier.clear();
  }

  async handle(req: XksRequest): Promise<XksOutcome> {
    const out: XksOutcome = { status: 200, body: '', xks: {} };
    try {
      out.body = await this.serve(req, out);
    } catch (e) {
      const err = e instanceof XksError ? e
        : e instanceof KmsError && e.name === 'RequestEntityTooLargeException' ? fail('UnsupportedOperationException', e.message)
          : e instanceof KmsError && e.name === 'RequestAbortedException' ? fail('ValidationException', e.message)
            : fail('InternalException', 'internal error');
      out.status = err.status;
      out.error = err.name;
      out.body = errorBody(err.name, err.message);
    }
    return out;
  }

  private async serve(req: XksRequest, out: XksOutcome): Promise<string> {
    const rest = req.path.slice(this.basePath.length);
    let externalKeyId: string | undefined;
    if (rest === '/health') out.operation = 'XksGetHealthStatus';
    else {
      const m = /^\/keys\/([^/]+)\/(metadata|encrypt|decrypt)$/.exec(rest);
      if (!m) throw fail('InvalidUriPathException', `no XKS API at ${req.path.slice(0, 200)}`);
      out.operation = KEY_OPERATIONS[m[2]!]!;
      externalKeyId = m[1]!;
      out.xks.externalKeyId = externalKeyId.slice(0, 200);
    }
    // Spec: every XKS API is POST; a GET at one of their URIs is 405.
    if (req.method !== 'POST') throw fail('MethodNotAllowed', `${req.method} ${req.path.slice(0, 200)}: the XKS API takes POST`);
    if (req.url.length !== req.path.length) throw fail('InvalidUriPathException', 'the XKS API takes no query string');
    const body = await req.readBody();
    let parsed: unknown;
    try {
      try {
        const auth = this.verifier.verify({ method: 'POST', url: req.url, rawHeaders: req.rawHeaders, body }, this.now());
        out.principal = auth.credential.principal;
        out.accessKeyId = auth.accessKeyId;
      } catch (e) {
        if (e instanceof KmsError) throw fail('AuthenticationFailedException', e.message);
        throw e;
      }
      if (this.disabled) {
        throw fail('InvalidStateException', this.loadError !== undefined
          ? 'the proxy cannot read its key file; nothing is served until it is fixed'
          : 'the external key store is disabled at the proxy (kill switch)');
      }
      try {
        parsed = JSON.parse(body.toString('utf8'));
      } catch {
        parsed = undefined;
      }
    } finally {
      body.fill(0);
    }
    const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
    const rmRaw = isObject(parsed) ? parsed.requestMetadata : undefined;
    if (out.operation === 'XksGetHealthStatus') {
      // Spec: ValidationException is not among GetHealthStatus's errors; its metadata is only logged.
      if (isObject(rmRaw)) {
        if (typeof rmRaw.kmsRequestId === 'string') out.xks.kmsRequestId = rmRaw.kmsRequestId.slice(0, MAX_METADATA_STRING);
        if (typeof rmRaw.kmsOperation === 'string') out.xks.kmsOperation = rmRaw.kmsOperation.slice(0, MAX_METADATA_STRING);
      }
      return this.health();
    }
    if (!isObject(parsed)) throw fail('ValidationException', 'the body must be a JSON object');
    if (!isObject(rmRaw)) throw fail('ValidationException', 'requestMetadata is required and must be an object');
    const w = 'requestMetadata.';
    const meta = {
      awsPrincipalArn: reqString(rmRaw, 'awsPrincipalArn', w),
      kmsOperation: reqString(rmRaw, 'kmsOperation', w),
      kmsRequestId: reqString(rmRaw, 'kmsRequestId', w),
      // Spec: required for Encrypt and Decrypt; GetKeyMetadata has it for DescribeKey, not CreateKey.
      kmsKeyArn: out.operation === 'XksGetKeyMetadata' ? optString(rmRaw, 'kmsKeyArn', w) : reqString(rmRaw, 'kmsKeyArn', w),
      kmsViaService: optString(rmRaw, 'kmsViaService', w),
    };
    for (const f of ['awsSourceVpc', 'awsSourceVpce'] as const) optString(rmRaw, f, w);
    Object.assign(out.xks, Object.fromEntries(Object.entries(meta).filter(([, v]) => v !== undefined)));

    if (!EXTERNAL_KEY_ID.test(externalKeyId!)) throw fail('KeyNotFoundException', 'an external key id is 1 to 128 of A-Z a-z 0-9 . _ -');
    const key = this.keys.keys.find((k) => k.ExternalKeyId === externalKeyId);
    if (!key) throw fail('KeyNotFoundException', `no external key ${externalKeyId}`);
    this.authorize(key, meta.awsPrincipalArn, meta.kmsKeyArn, out);
    if (out.operation === 'XksGetKeyMetadata') {
      return JSON.stringify({ keySpec: 'AES_256', keyUsage: ['ENCRYPT', 'DECRYPT'], keyStatus: key.Status });
    }
    if (key.Status !== 'ENABLED') throw fail('InvalidStateException', `the external key ${externalKeyId} is disabled`);
    const alg = reqString(parsed, 'encryptionAlgorithm', '');
    if (alg !== 'AES_GCM') throw fail('UnsupportedOperationException', `encryptionAlgorithm ${JSON.stringify(alg.slice(0, 40))} is not supported; v1 is AES_GCM`);
    return out.operation === 'XksEncrypt' ? this.encrypt(key, parsed) : this.decrypt(key, parsed);
  }

  /** The per-key allow lists: an empty list does not restrict. */
  private authorize(key: XksKeyRecord, principal: string, kmsKeyArn: string | undefined, out: XksOutcome): void {
    let denied: string | undefined;
    if (key.AllowedPrincipals.length > 0 && !key.AllowedPrincipals.includes(principal)) {
      denied = `awsPrincipalArn ${principal} is not in the allow list of ${key.ExternalKeyId}`;
    } else if (key.AllowedKmsKeyArns.length > 0 && kmsKeyArn !== undefined && !key.AllowedKmsKeyArns.includes(kmsKeyArn)) {
      denied = `kmsKeyArn ${kmsKeyArn} is not in the allow list of ${key.ExternalKeyId}`;
    } else if (key.AllowedKmsKeyArns.length > 0 && kmsKeyArn === undefined && out.operation !== 'XksGetKeyMetadata') {
      denied = `no kmsKeyArn, and ${key.ExternalKeyId} allows only listed KMS keys`;
    }
    if (denied !== undefined) {
      out.xks.denied = denied;
      throw fail('AccessDeniedException', 'the request metadata is not authorized for this external key');
    }
  }

  private async encrypt(key: XksKeyRecord, r: Record<string, unknown>): Promise<string> {
    const plaintext = reqBase64(r, 'plaintext', MAX_PLAINTEXT_BYTES);
    try {
      const aad = optBase64(r, 'additionalAuthenticatedData', MAX_AAD_BYTES) ?? new Uint8Array(0);
      const cdivAlg = optString(r, 'ciphertextDataIntegrityValueAlgorithm', '');
      if (cdivAlg !== undefined && cdivAlg !== 'SHA_256') {
        throw fail('UnsupportedOperationException', `ciphertextDataIntegrityValueAlgorithm ${JSON.stringify(cdivAlg.slice(0, 40))} is not supported; v1 is SHA_256`);
      }
      const version = key.Versions.reduce((a, v) => (v.Version > a.Version ? v : a));
      const handle = await this.keyVersion(key, version.Version);
      const metadata = metadataFor(version.Version);
      const iv = await this.provider.random(IV_BYTES);
      const fullAad = gcmAad(aad, metadata);
      const sealed = await this.provider.encrypt(handle, iv, plaintext, fullAad);
      const ciphertext = sealed.subarray(0, sealed.length - TAG_BYTES);
      const tag = sealed.subarray(sealed.length - TAG_BYTES);
      const response: Record<string, string> = {
        ciphertext: b64(ciphertext), ciphertextMetadata: b64(metadata), initializationVector: b64(iv), authenticationTag: b64(tag),
      };
      if (cdivAlg !== undefined) {
        // Spec, Appendix C: the CDIV over what is returned is computed first, then the output is decrypted
        // and compared, so a corruption after the hash cannot go unnoticed.
        const concat = new Uint8Array(aad.length + metadata.length + iv.length + sealed.length);
        concat.set(aad);
        concat.set(metadata, aad.length);
        concat.set(iv, aad.length + metadata.length);
        concat.set(sealed, aad.length + metadata.length + iv.length);
        response.ciphertextDataIntegrityValue = b64(sha256(concat));
        let check: Uint8Array;
        try {
          check = await this.provider.decrypt(handle, iv, sealed, fullAad);
        } catch (e) {
          if (e instanceof AuthenticationError) throw fail('InternalException', 'the encryption did not verify');
          throw e;
        }
        const same = check.length === plaintext.length && timingSafeEqual(check, plaintext);
        check.fill(0);
        if (!same) throw fail('InternalException', 'the encryption did not verify');
      }
      return JSON.stringify(response);
    } finally {
      plaintext.fill(0);
    }
  }

  private async decrypt(key: XksKeyRecord, r: Record<string, unknown>): Promise<string> {
    const ciphertext = reqBase64(r, 'ciphertext', MAX_PLAINTEXT_BYTES);
    const iv = reqBase64(r, 'initializationVector', 16);
    const tag = reqBase64(r, 'authenticationTag', TAG_BYTES);
    const aad = optBase64(r, 'additionalAuthenticatedData', MAX_AAD_BYTES) ?? new Uint8Array(0);
    const metadata = optBase64(r, 'ciphertextMetadata', 20);
    if (iv.length !== IV_BYTES && iv.length !== 16) throw fail('InvalidCiphertextException', `initializationVector is ${iv.length} bytes; AES_GCM takes 12 or 16`);
    if (tag.length !== TAG_BYTES) throw fail('InvalidCiphertextException', `authenticationTag is ${tag.length} bytes; expected 16`);
    if (metadata === undefined) throw fail('InvalidCiphertextException', 'ciphertextMetadata is missing; every ciphertext of this proxy has one');
    const version = versionOf(metadata);
    if (version === undefined || iv.length !== IV_BYTES || !key.Versions.some((v) => v.Version === version)) {
      // This proxy only ever writes 12-byte IVs and its own metadata: anything else is not its ciphertext.
      throw fail('InvalidCiphertextException', 'the ciphertext, initialization vector, additional authenticated data or authentication tag is invalid');
    }
    const handle = await this.keyVersion(key, version);
    const sealed = new Uint8Array(ciphertext.length + TAG_BYTES);
    sealed.set(ciphertext);
    sealed.set(tag, ciphertext.length);
    let plaintext: Uint8Array;
    try {
      plaintext = await this.provider.decrypt(handle, iv, sealed, gcmAad(aad, metadata));
    } catch (e) {
      if (e instanceof AuthenticationError) {
        throw fail('InvalidCiphertextException', 'the ciphertext, initialization vector, additional authenticated data or authentication tag is invalid');
      }
      throw e;
    }
    try {
      return JSON.stringify({ plaintext: b64(plaintext) });
    } finally {
      plaintext.fill(0);
    }
  }

  /** Deep health: one AES-GCM round trip through the provider with a test key (spec: not a customer key). */
  private async health(): Promise<string> {
    this.healthKey ??= this.provider.generateKey('AES_256');
    let healthy = false;
    try {
      const h = await this.healthKey;
      const iv = await this.provider.random(IV_BYTES);
      const probe = Uint8Array.of(1, 2, 3, 4);
      const back = await this.provider.decrypt(h, iv, await this.provider.encrypt(h, iv, probe, probe), probe);
      healthy = back.length === 4 && back.every((b, i) => b === probe[i]);
    } catch {
      this.healthKey = undefined;
    }
    const fleet = this.opts.fleet?.() ?? [{ id: `keyward-${process.pid}`, model: `Keyward ${this.provider.name} provider`, healthStatus: 'ACTIVE' as const }];
    const members = healthy ? fleet : fleet.map((m) => ({ ...m, healthStatus: 'UNAVAILABLE' as const }));
    if (members.length === 0) throw fail('InternalException', 'no external key manager is configured');
    return JSON.stringify({
      xksProxyFleetSize: 1, xksProxyVendor: 'Keyward', xksProxyModel: 'Keyward XKS Proxy 1', ekmVendor: 'Keyward', ekmFleetDetails: members.slice(0, 10),
    });
  }

  /** The handle of a key version: unwrapped by the engine (as the key's creator), kept for keyCacheMs. */
  private async keyVersion(key: XksKeyRecord, version: number): Promise<KeyHandle> {
    const id = `${key.ExternalKeyId}\0${version}`;
    const now = this.now();
    const hit = this.loaded.get(id);
    if (hit && hit.until > now) return hit.handle;
    if (hit) {
      this.loaded.delete(id);
      this.retire(hit.handle);
    }
    const v = key.Versions.find((x) => x.Version === version)!;
    let material: Uint8Array;
    try {
      const r = await this.opts.keyward.as(key.Principal).decrypt({
        CiphertextBlob: Buffer.from(v.Blob, 'base64'), KeyId: key.WrappingKeyArn, EncryptionContext: xksBlobContext(key.ExternalKeyId, version),
      });
      material = r.Plaintext;
    } catch (e) {
      if (!(e instanceof KmsError)) throw e;
      // The CMK holding the material is disabled, pending deletion, gone or no longer lets its creator decrypt.
      if (e.name === 'NotFoundException') throw fail('KeyNotFoundException', `the key protecting ${key.ExternalKeyId} no longer exists`);
      throw fail('InvalidStateException', `the key protecting ${key.ExternalKeyId} cannot be used: ${e.name}`);
    }
    try {
      const handle = await this.provider.importKey('AES_256', material);
      // A concurrent request may have loaded it meanwhile: keep one handle.
      const raced = this.loaded.get(id);
      if (raced && raced.until > now) {
        await this.provider.destroyKey(handle);
        return raced.handle;
      }
      this.loaded.set(id, { handle, until: now + this.keyCacheMs });
      return handle;
    } finally {
      material.fill(0);
    }
  }

  /** Re-reads xks-keys.json when it changed (a stat per request: the CLI's kill switch acts at once). */
  private refresh(): void {
    let next: { file: XksKeysFile; stamp: string };
    try {
      next = readXksKeys(this.opts.dir);
    } catch (e) {
      // An unreadable or malformed file fails closed: nothing is served until it is fixed.
      this.keys = { version: 1, disabled: true, keys: [] };
      this.stamp = '';
      this.loadError = (e as Error).message;
      return;
    }
    this.loadError = undefined;
    if (next.stamp === this.stamp) return;
    this.keys = next.file;
    this.stamp = next.stamp;
  }

  /** Drops every cached handle (the kill switch): each is destroyed once requests using it are done. */
  private forget(): void {
    for (const l of this.loaded.values()) this.retire(l.handle);
    this.loaded.clear();
  }

  private retire(handle: KeyHandle): void {
    this.retired.add(handle);
    setTimeout(() => {
      if (this.retired.delete(handle)) void this.provider.destroyKey(handle).catch(() => undefined);
    }, RETIRE_MS).unref();
  }
}
