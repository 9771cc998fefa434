// The AWS KMS JSON 1.1 protocol over the engine: `X-Amz-Target: TrentService.<Operation>` names the
// operation, the body is its request as JSON. Blob members travel as base64 strings and timestamps as
// epoch seconds (the awsJson1_1 protocol); the engine takes and returns Uint8Array and Date, so this
// module converts at the edge, for the members each operation declares, and nothing else.
import type { Keyward } from '../kms/keyward.js';
import { SerializationException, UnknownOperationException } from './errors.js';

export const TARGET_PREFIX = 'TrentService.';

/** The Keyward methods served: one per AWS KMS operation. */
export type OperationMethod =
  | 'createKey' | 'describeKey' | 'listKeys' | 'enableKey' | 'disableKey' | 'scheduleKeyDeletion' | 'cancelKeyDeletion'
  | 'getKeyPolicy' | 'putKeyPolicy' | 'listKeyPolicies' | 'tagResource' | 'untagResource' | 'listResourceTags'
  | 'createAlias' | 'updateAlias' | 'deleteAlias' | 'listAliases'
  | 'encrypt' | 'decrypt' | 'reEncrypt' | 'generateDataKey' | 'generateDataKeyWithoutPlaintext' | 'generateDataKeyPair'
  | 'generateDataKeyPairWithoutPlaintext' | 'sign' | 'verify' | 'getPublicKey' | 'generateMac' | 'verifyMac' | 'generateRandom'
  | 'enableKeyRotation' | 'disableKeyRotation' | 'getKeyRotationStatus' | 'rotateKeyOnDemand' | 'listKeyRotations'
  | 'getParametersForImport' | 'importKeyMaterial' | 'deleteImportedKeyMaterial'
  | 'createGrant' | 'listGrants' | 'listRetirableGrants' | 'retireGrant' | 'revokeGrant' | 'replicateKey';

export interface Operation {
  method: OperationMethod;
  /** Top-level request members that are blobs (base64 on the wire). */
  blobs: readonly string[];
  /** Top-level request members that are timestamps (epoch seconds on the wire). */
  dates: readonly string[];
}

const op = (method: OperationMethod, blobs: readonly string[] = [], dates: readonly string[] = []): Operation => ({ method, blobs, dates });

/** Every operation by its AWS name. */
export const OPERATIONS: Readonly<Record<string, Operation>> = Object.freeze({
  CreateKey: op('createKey'),
  DescribeKey: op('describeKey'),
  ListKeys: op('listKeys'),
  EnableKey: op('enableKey'),
  DisableKey: op('disableKey'),
  ScheduleKeyDeletion: op('scheduleKeyDeletion'),
  CancelKeyDeletion: op('cancelKeyDeletion'),
  GetKeyPolicy: op('getKeyPolicy'),
  PutKeyPolicy: op('putKeyPolicy'),
  ListKeyPolicies: op('listKeyPolicies'),
  TagResource: op('tagResource'),
  UntagResource: op('untagResource'),
  ListResourceTags: op('listResourceTags'),
  CreateAlias: op('createAlias'),
  UpdateAlias: op('updateAlias'),
  DeleteAlias: op('deleteAlias'),
  ListAliases: op('listAliases'),
  Encrypt: op('encrypt', ['Plaintext']),
  Decrypt: op('decrypt', ['CiphertextBlob']),
  ReEncrypt: op('reEncrypt', ['CiphertextBlob']),
  GenerateDataKey: op('generateDataKey'),
  GenerateDataKeyWithoutPlaintext: op('generateDataKeyWithoutPlaintext'),
  GenerateDataKeyPair: op('generateDataKeyPair'),
  GenerateDataKeyPairWithoutPlaintext: op('generateDataKeyPairWithoutPlaintext'),
  Sign: op('sign', ['Message']),
  Verify: op('verify', ['Message', 'Signature']),
  GetPublicKey: op('getPublicKey'),
  GenerateMac: op('generateMac', ['Message']),
  VerifyMac: op('verifyMac', ['Message', 'Mac']),
  GenerateRandom: op('generateRandom'),
  EnableKeyRotation: op('enableKeyRotation'),
  DisableKeyRotation: op('disableKeyRotation'),
  GetKeyRotationStatus: op('getKeyRotationStatus'),
  RotateKeyOnDemand: op('rotateKeyOnDemand'),
  ListKeyRotations: op('listKeyRotations'),
  GetParametersForImport: op('getParametersForImport'),
  ImportKeyMaterial: op('importKeyMaterial', ['ImportToken', 'EncryptedKeyMaterial'], ['ValidTo']),
  DeleteImportedKeyMaterial: op('deleteImportedKeyMaterial'),
  CreateGrant: op('createGrant'),
  ListGrants: op('listGrants'),
  ListRetirableGrants: op('listRetirableGrants'),
  RetireGrant: op('retireGrant'),
  RevokeGrant: op('revokeGrant'),
  ReplicateKey: op('replicateKey'),
});

/** Response members that hold plaintext key material or data: zeroed once the response is written. */
const SECRET_RESPONSE_MEMBERS = ['Plaintext', 'PrivateKeyPlaintext'] as const;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** The operation an X-Amz-Target names. @throws UnknownOperationException */
export function operationOf(target: string | undefined): { name: string; operation: Operation } {
  const name = target?.startsWith(TARGET_PREFIX) ? target.slice(TARGET_PREFIX.length) : undefined;
  const operation = name !== undefined && Object.hasOwn(OPERATIONS, name) ? OPERATIONS[name] : undefined;
  if (name === undefined || operation === undefined) {
    throw new UnknownOperationException(target === undefined
      ? 'the X-Amz-Target header is missing; expected TrentService.<Operation>'
      : `unknown operation ${JSON.stringify(target.slice(0, 100))}; expected TrentService.<Operation>`);
  }
  return { name, operation };
}

const typeName = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);

/**
 * The engine request of a JSON body: blob members decoded from base64 (each a fresh Uint8Array the caller
 * wipes with wipeRequest), timestamps from epoch seconds. An empty body is `{}`.
 * @throws SerializationException for a body that is not a JSON object or a member of the wrong JSON type
 */
export function decodeRequest(operation: Operation, body: Uint8Array): Record<string, unknown> {
  let parsed: unknown = {};
  if (body.length > 0) {
    try {
      parsed = JSON.parse(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8'));
    } catch (e) {
      throw new SerializationException(`the request body is not valid JSON: ${(e as Error).message.slice(0, 200)}`);
    }
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new SerializationException(`the request body must be a JSON object, got ${typeName(parsed)}`);
  }
  const r = parsed as Record<string, unknown>;
  for (const m of operation.blobs) {
    const v = r[m];
    if (v === undefined) continue;
    if (typeof v !== 'string') throw new SerializationException(`${m}: expected a base64 string, got ${typeName(v)}`);
    if (!BASE64.test(v)) throw new SerializationException(`${m}: not valid base64`);
    // Copied out of Buffer's shared pool, so that wiping the request wipes the only copy of the bytes.
    const pooled = Buffer.from(v, 'base64');
    r[m] = new Uint8Array(pooled);
    pooled.fill(0);
  }
  for (const m of operation.dates) {
    const v = r[m];
    if (v === undefined) continue;
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new SerializationException(`${m}: expected a timestamp in epoch seconds, got ${typeName(v)}`);
    r[m] = new Date(v * 1000);
  }
  return r;
}

/** Zeroes the decoded blobs of a request (plaintext to encrypt, messages, MACs). */
export function wipeRequest(operation: Operation, request: Record<string, unknown>): void {
  for (const m of operation.blobs) {
    const v = request[m];
    if (v instanceof Uint8Array) v.fill(0);
  }
}

/** Runs the operation on the engine handle (already acting as the caller). */
export function invoke(kw: Keyward, operation: Operation, request: Record<string, unknown>): Promise<unknown> {
  return (kw[operation.method] as (r: unknown) => Promise<unknown>).call(kw, request);
}

function toWire(v: unknown): unknown {
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64');
  if (v instanceof Date) return v.getTime() / 1000;
  if (Array.isArray(v)) return v.map(toWire);
  if (v !== null && typeof v === 'object') {
    const o: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) if (x !== undefined) o[k] = toWire(x);
    return o;
  }
  return v;
}

/** The JSON body of an engine response; its plaintext members are zeroed once encoded. */
export function encodeResponse(result: unknown): string {
  const json = JSON.stringify(toWire(result ?? {}));
  if (result !== null && typeof result === 'object') {
    for (const m of SECRET_RESPONSE_MEMBERS) {
      const v = (result as Record<string, unknown>)[m];
      if (v instanceof Uint8Array) v.fill(0);
    }
  }
  return json;
}

/** The JSON body of an error: `{"__type": name, "message": …}`. */
export function encodeError(name: string, message: string): string {
  return JSON.stringify({ __type: name, message });
}
