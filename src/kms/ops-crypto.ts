// Cryptographic operations: Encrypt, Decrypt, ReEncrypt, GenerateDataKey(Pair)(WithoutPlaintext), Sign,
// Verify, GetPublicKey, GenerateMac, VerifyMac, GenerateRandom. Symmetric work goes through the key
// hierarchy (derived per-call keys, the self-describing blob); asymmetric and HMAC work through the
// provider with the CMK's backing key handle. Every authentication failure is InvalidCiphertextException
// and returns nothing.
import type { AsymmetricKeySpec, KeyHandle } from '../crypto/provider.js';
import { AuthenticationError, DecryptionError } from '../crypto/errors.js';
import { BlobFormatError, parseBlob, type CiphertextBlob } from '../keys/blob.js';
import type { Call, Engine } from './engine.js';
import {
  IncorrectKeyException, InvalidCiphertextException, InvalidKeyUsageException, KMSInvalidMacException, KMSInvalidSignatureException,
  KMSInvalidStateException, UnsupportedOperationException, ValidationException,
} from './errors.js';
import { currentVersion, encryptionAlgorithms, macAlgorithms, oaepMaxPlaintext, providerSpec, signingAlgorithms, type LoadedKey } from './model.js';
import type * as T from './types.js';
import { bytes, context, grantTokens, oneOf, optInt, optOneOf, req } from './validate.js';

type Entry = Awaited<ReturnType<Engine['resolve']>>;

const ASYMMETRIC_SPECS: readonly AsymmetricKeySpec[] = [
  'RSA_2048', 'RSA_3072', 'RSA_4096', 'ECC_NIST_P256', 'ECC_NIST_P384', 'ECC_NIST_P521', 'ECC_SECG_P256K1',
];
const ENCRYPTION_ALGORITHMS: readonly T.EncryptionAlgorithm[] = ['SYMMETRIC_DEFAULT', 'RSAES_OAEP_SHA_1', 'RSAES_OAEP_SHA_256'];
const SIGNING_ALGORITHMS: readonly T.SigningAlgorithm[] = [...signingAlgorithms('RSA_2048'), 'ECDSA_SHA_256', 'ECDSA_SHA_384', 'ECDSA_SHA_512'];
const MAC_ALGORITHMS: readonly T.MacAlgorithm[] = ['HMAC_SHA_256', 'HMAC_SHA_384', 'HMAC_SHA_512'];
const MAX_MESSAGE = 4096;

function requireUsage(entry: Entry, usage: T.KeyUsage, op: string): void {
  const m = entry.key.meta;
  if (m.keyUsage !== usage) throw new InvalidKeyUsageException(`${m.arn} key usage is ${m.keyUsage} which is not valid for ${op}.`);
}

function requireSymmetric(entry: Entry, op: string): void {
  const m = entry.key.meta;
  if (m.keySpec !== 'SYMMETRIC_DEFAULT') throw new InvalidKeyUsageException(`${op} needs a symmetric encryption KMS key; ${m.arn} is ${m.keySpec}.`);
}

function current(entry: Entry) {
  const v = currentVersion(entry.key);
  if (!v) throw new KMSInvalidStateException(`${entry.key.meta.arn} has no key material.`);
  return v;
}

/** The backing key handle of the key's current version. */
async function backingHandle(e: Engine, k: LoadedKey): Promise<KeyHandle> {
  const v = currentVersion(k);
  if (!v) throw new KMSInvalidStateException(`${k.meta.arn} has no key material.`);
  return e.hierarchy.backingKey(v, providerSpec(k.meta.keySpec), k.meta.account);
}

/** Symmetric encryption of up to 4096 bytes (or a data key) under the key's current version. */
async function sealSymmetric(e: Engine, entry: Entry, plaintext: Uint8Array, ctx: T.EncryptionContext | undefined): Promise<Uint8Array> {
  return e.hierarchy.encrypt(current(entry), entry.key.meta.account, plaintext, ctx);
}

export async function encrypt(e: Engine, call: Call, r: T.EncryptRequest): Promise<T.EncryptResponse> {
  req(r, 'Encrypt');
  const plaintext = bytes(r.Plaintext, 'Plaintext', 1, MAX_MESSAGE);
  const ctx = context(r.EncryptionContext);
  const alg = optOneOf(r.EncryptionAlgorithm, 'EncryptionAlgorithm', ENCRYPTION_ALGORITHMS) ?? 'SYMMETRIC_DEFAULT';
  grantTokens(r.GrantTokens);
  call.encryptionContext = ctx ?? null;
  const entry = await e.resolve(call, r.KeyId);
  e.authorize(call, entry, 'Encrypt', { 'kms:EncryptionAlgorithm': alg }, ctx);
  e.requireEnabled(entry);
  requireUsage(entry, 'ENCRYPT_DECRYPT', 'Encrypt');
  const m = entry.key.meta;
  if (!encryptionAlgorithms(m.keySpec).includes(alg)) throw new InvalidKeyUsageException(`${alg} is not valid for ${m.arn} (${m.keySpec}).`);
  let blob: Uint8Array;
  if (alg === 'SYMMETRIC_DEFAULT') {
    blob = await sealSymmetric(e, entry, plaintext, ctx);
  } else {
    if (ctx) throw new ValidationException('EncryptionContext is not supported with asymmetric KMS keys.');
    const max = oaepMaxPlaintext(m.keySpec, alg);
    if (plaintext.length > max) throw new ValidationException(`Plaintext: ${plaintext.length} bytes exceeds ${max} for ${m.keySpec} with ${alg}`);
    blob = await e.provider.encryptAsymmetric(await backingHandle(e, entry.key), alg, plaintext);
  }
  return { CiphertextBlob: blob, KeyId: m.arn, EncryptionAlgorithm: alg };
}

/** Decrypts a blob for Decrypt and ReEncrypt; the caller names the permission (Decrypt or ReEncryptFrom). */
async function openBlob(
  e: Engine, call: Call, action: string, blobBytes: Uint8Array, keyIdParam: string | undefined, ctx: T.EncryptionContext | undefined,
  alg: T.EncryptionAlgorithm,
): Promise<{ entry: Entry; plaintext: Uint8Array }> {
  if (alg !== 'SYMMETRIC_DEFAULT') {
    if (keyIdParam === undefined) throw new ValidationException(`KeyId is required with ${alg}`);
    if (ctx) throw new ValidationException('EncryptionContext is not supported with asymmetric KMS keys.');
    const entry = await e.resolve(call, keyIdParam);
    e.authorize(call, entry, action, { 'kms:EncryptionAlgorithm': alg });
    e.requireEnabled(entry);
    requireUsage(entry, 'ENCRYPT_DECRYPT', action);
    if (!encryptionAlgorithms(entry.key.meta.keySpec).includes(alg)) throw new InvalidKeyUsageException(`${alg} is not valid for ${entry.key.meta.arn}.`);
    try {
      return { entry, plaintext: await e.provider.decryptAsymmetric(await backingHandle(e, entry.key), alg, blobBytes) };
    } catch (err) {
      if (err instanceof DecryptionError) throw new InvalidCiphertextException('the ciphertext is invalid for this key and algorithm');
      throw err;
    }
  }
  let blob: CiphertextBlob;
  try {
    blob = parseBlob(blobBytes);
  } catch (err) {
    if (err instanceof BlobFormatError) throw new InvalidCiphertextException('the ciphertext is not a Keyward symmetric ciphertext blob');
    throw err;
  }
  const entry = await e.resolve(call, blob.keyId, { allowAlias: false });
  if (keyIdParam !== undefined) {
    const named = await e.resolve({ ...call, touched: new Set() }, keyIdParam);
    if (named.key.meta.keyId !== entry.key.meta.keyId) {
      throw new IncorrectKeyException('the key ID in the request does not identify the KMS key that encrypted the ciphertext');
    }
  }
  e.authorize(call, entry, action, { 'kms:EncryptionAlgorithm': alg }, ctx);
  e.requireEnabled(entry);
  requireSymmetric(entry, action);
  const version = entry.key.versions.find((v) => v.version === blob.backingVersion);
  if (!version) throw new InvalidCiphertextException('the ciphertext refers to key material this key does not have');
  try {
    return { entry, plaintext: await e.hierarchy.decrypt(blob, version, entry.key.meta.account, ctx) };
  } catch (err) {
    if (err instanceof AuthenticationError) throw new InvalidCiphertextException('the ciphertext or encryption context is invalid');
    throw err;
  }
}

export async function decrypt(e: Engine, call: Call, r: T.DecryptRequest): Promise<T.DecryptResponse> {
  req(r, 'Decrypt');
  const blob = bytes(r.CiphertextBlob, 'CiphertextBlob', 1, 6144);
  const ctx = context(r.EncryptionContext);
  const alg = optOneOf(r.EncryptionAlgorithm, 'EncryptionAlgorithm', ENCRYPTION_ALGORITHMS) ?? 'SYMMETRIC_DEFAULT';
  grantTokens(r.GrantTokens);
  call.encryptionContext = ctx ?? null;
  const { entry, plaintext } = await openBlob(e, call, 'Decrypt', blob, r.KeyId, ctx, alg);
  return { KeyId: entry.key.meta.arn, Plaintext: plaintext, EncryptionAlgorithm: alg };
}

export async function reEncrypt(e: Engine, call: Call, r: T.ReEncryptRequest): Promise<T.ReEncryptResponse> {
  req(r, 'ReEncrypt');
  const blob = bytes(r.CiphertextBlob, 'CiphertextBlob', 1, 6144);
  const srcCtx = context(r.SourceEncryptionContext, 'SourceEncryptionContext');
  const dstCtx = context(r.DestinationEncryptionContext, 'DestinationEncryptionContext');
  const srcAlg = optOneOf(r.SourceEncryptionAlgorithm, 'SourceEncryptionAlgorithm', ENCRYPTION_ALGORITHMS) ?? 'SYMMETRIC_DEFAULT';
  const dstAlg = optOneOf(r.DestinationEncryptionAlgorithm, 'DestinationEncryptionAlgorithm', ENCRYPTION_ALGORITHMS) ?? 'SYMMETRIC_DEFAULT';
  grantTokens(r.GrantTokens);
  call.encryptionContext = dstCtx ?? null;
  const src = await openBlob(e, call, 'ReEncryptFrom', blob, r.SourceKeyId, srcCtx, srcAlg);
  try {
    const dst = await e.resolve(call, r.DestinationKeyId);
    e.authorize(call, dst, 'ReEncryptTo', { 'kms:EncryptionAlgorithm': dstAlg }, dstCtx);
    e.requireEnabled(dst);
    requireUsage(dst, 'ENCRYPT_DECRYPT', 'ReEncrypt');
    const m = dst.key.meta;
    if (!encryptionAlgorithms(m.keySpec).includes(dstAlg)) throw new InvalidKeyUsageException(`${dstAlg} is not valid for ${m.arn}.`);
    let out: Uint8Array;
    if (dstAlg === 'SYMMETRIC_DEFAULT') {
      out = await sealSymmetric(e, dst, src.plaintext, dstCtx);
    } else {
      if (dstCtx) throw new ValidationException('DestinationEncryptionContext is not supported with asymmetric KMS keys.');
      const max = oaepMaxPlaintext(m.keySpec, dstAlg);
      if (src.plaintext.length > max) throw new ValidationException(`the plaintext (${src.plaintext.length} bytes) exceeds ${max} for ${m.keySpec} with ${dstAlg}`);
      out = await e.provider.encryptAsymmetric(await backingHandle(e, dst.key), dstAlg, src.plaintext);
    }
    return {
      CiphertextBlob: out, SourceKeyId: src.entry.key.meta.arn, KeyId: m.arn, SourceEncryptionAlgorithm: srcAlg, DestinationEncryptionAlgorithm: dstAlg,
    };
  } finally {
    src.plaintext.fill(0);
  }
}

function dataKeyLength(r: T.GenerateDataKeyRequest): number {
  const n = optInt(r.NumberOfBytes, 'NumberOfBytes', 1, 1024);
  const spec = optOneOf(r.KeySpec, 'KeySpec', ['AES_128', 'AES_256'] as const);
  if ((n === undefined) === (spec === undefined)) throw new ValidationException('specify exactly one of KeySpec and NumberOfBytes');
  return n ?? (spec === 'AES_128' ? 16 : 32);
}

async function dataKey(e: Engine, call: Call, r: T.GenerateDataKeyRequest, action: string): Promise<T.GenerateDataKeyResponse> {
  req(r, action);
  const length = dataKeyLength(r);
  const ctx = context(r.EncryptionContext);
  grantTokens(r.GrantTokens);
  call.encryptionContext = ctx ?? null;
  const entry = await e.resolve(call, r.KeyId);
  e.authorize(call, entry, action, {}, ctx);
  e.requireEnabled(entry);
  requireSymmetric(entry, action);
  const { plaintext, blob } = await e.hierarchy.generateDataKey(current(entry), entry.key.meta.account, length, ctx);
  return { CiphertextBlob: blob, Plaintext: plaintext, KeyId: entry.key.meta.arn };
}

export async function generateDataKey(e: Engine, call: Call, r: T.GenerateDataKeyRequest): Promise<T.GenerateDataKeyResponse> {
  return dataKey(e, call, r, 'GenerateDataKey');
}

export async function generateDataKeyWithoutPlaintext(e: Engine, call: Call, r: T.GenerateDataKeyRequest): Promise<T.GenerateDataKeyWithoutPlaintextResponse> {
  const { Plaintext, ...rest } = await dataKey(e, call, r, 'GenerateDataKeyWithoutPlaintext');
  Plaintext.fill(0);
  return rest;
}

async function dataKeyPair(e: Engine, call: Call, r: T.GenerateDataKeyPairRequest, action: string): Promise<T.GenerateDataKeyPairResponse> {
  req(r, action);
  const spec = oneOf(r.KeyPairSpec, 'KeyPairSpec', ASYMMETRIC_SPECS);
  const ctx = context(r.EncryptionContext);
  grantTokens(r.GrantTokens);
  call.encryptionContext = ctx ?? null;
  const entry = await e.resolve(call, r.KeyId);
  e.authorize(call, entry, action, { 'kms:DataKeyPairSpec': spec }, ctx);
  e.requireEnabled(entry);
  requireSymmetric(entry, action);
  const pair = await e.provider.generateKeyPairBytes(spec);
  const blob = await sealSymmetric(e, entry, pair.privateKey, ctx);
  return { PrivateKeyCiphertextBlob: blob, PrivateKeyPlaintext: pair.privateKey, PublicKey: pair.publicKey, KeyId: entry.key.meta.arn, KeyPairSpec: spec };
}

export async function generateDataKeyPair(e: Engine, call: Call, r: T.GenerateDataKeyPairRequest): Promise<T.GenerateDataKeyPairResponse> {
  return dataKeyPair(e, call, r, 'GenerateDataKeyPair');
}

export async function generateDataKeyPairWithoutPlaintext(
  e: Engine, call: Call, r: T.GenerateDataKeyPairRequest,
): Promise<T.GenerateDataKeyPairWithoutPlaintextResponse> {
  const { PrivateKeyPlaintext, ...rest } = await dataKeyPair(e, call, r, 'GenerateDataKeyPairWithoutPlaintext');
  PrivateKeyPlaintext.fill(0);
  return rest;
}

function signParams(e: Engine, call: Call, r: T.SignRequest, op: string) {
  req(r, op);
  const message = bytes(r.Message, 'Message', 1, MAX_MESSAGE);
  const messageType = optOneOf(r.MessageType, 'MessageType', ['RAW', 'DIGEST'] as const) ?? 'RAW';
  const alg = oneOf(r.SigningAlgorithm, 'SigningAlgorithm', SIGNING_ALGORITHMS);
  grantTokens(r.GrantTokens);
  return async () => {
    const entry = await e.resolve(call, r.KeyId);
    e.authorize(call, entry, op, { 'kms:SigningAlgorithm': alg, 'kms:MessageType': messageType });
    e.requireEnabled(entry);
    requireUsage(entry, 'SIGN_VERIFY', op);
    const m = entry.key.meta;
    if (!signingAlgorithms(m.keySpec).includes(alg)) throw new InvalidKeyUsageException(`${alg} is not valid for ${m.arn} (${m.keySpec}).`);
    if (messageType === 'DIGEST') {
      const want = Number(alg.slice(-3)) / 8;
      if (message.length !== want) throw new ValidationException(`Message: a ${alg} digest is ${want} bytes, got ${message.length}`);
    }
    return { entry, message, messageType, alg, handle: await backingHandle(e, entry.key) };
  };
}

export async function sign(e: Engine, call: Call, r: T.SignRequest): Promise<T.SignResponse> {
  const { entry, message, messageType, alg, handle } = await signParams(e, call, r, 'Sign')();
  const signature = await e.provider.sign(handle, alg, message, messageType);
  return { KeyId: entry.key.meta.arn, Signature: signature, SigningAlgorithm: alg };
}

export async function verify(e: Engine, call: Call, r: T.VerifyRequest): Promise<T.VerifyResponse> {
  const load = signParams(e, call, r, 'Verify');
  const signature = bytes(r.Signature, 'Signature', 1, 6144);
  const { entry, message, messageType, alg, handle } = await load();
  if (!(await e.provider.verify(handle, alg, message, messageType, signature))) {
    throw new KMSInvalidSignatureException('the signature does not verify with this key, message and algorithm');
  }
  return { KeyId: entry.key.meta.arn, SignatureValid: true, SigningAlgorithm: alg };
}

export async function getPublicKey(e: Engine, call: Call, r: T.KeyIdRequest & { GrantTokens?: string[] }): Promise<T.GetPublicKeyResponse> {
  req(r, 'GetPublicKey');
  grantTokens(r.GrantTokens);
  const entry = await e.resolve(call, r.KeyId);
  e.authorize(call, entry, 'GetPublicKey');
  e.requireEnabled(entry);
  const m = entry.key.meta;
  if (m.keySpec === 'SYMMETRIC_DEFAULT' || m.keySpec.startsWith('HMAC_')) {
    throw new UnsupportedOperationException(`${m.arn} is not an asymmetric KMS key.`);
  }
  const out: T.GetPublicKeyResponse = {
    KeyId: m.arn, PublicKey: await e.provider.publicKey(await backingHandle(e, entry.key)), CustomerMasterKeySpec: m.keySpec, KeySpec: m.keySpec, KeyUsage: m.keyUsage,
  };
  if (m.keyUsage === 'ENCRYPT_DECRYPT') out.EncryptionAlgorithms = encryptionAlgorithms(m.keySpec);
  else out.SigningAlgorithms = signingAlgorithms(m.keySpec);
  return out;
}

async function macParams(e: Engine, call: Call, r: T.GenerateMacRequest, op: string) {
  req(r, op);
  const message = bytes(r.Message, 'Message', 1, MAX_MESSAGE);
  const alg = oneOf(r.MacAlgorithm, 'MacAlgorithm', MAC_ALGORITHMS);
  grantTokens(r.GrantTokens);
  const entry = await e.resolve(call, r.KeyId);
  e.authorize(call, entry, op, { 'kms:MacAlgorithm': alg });
  e.requireEnabled(entry);
  requireUsage(entry, 'GENERATE_VERIFY_MAC', op);
  if (!macAlgorithms(entry.key.meta.keySpec).includes(alg)) throw new InvalidKeyUsageException(`${alg} is not valid for ${entry.key.meta.arn}.`);
  return { entry, message, alg, handle: await backingHandle(e, entry.key) };
}

export async function generateMac(e: Engine, call: Call, r: T.GenerateMacRequest): Promise<T.GenerateMacResponse> {
  const { entry, message, alg, handle } = await macParams(e, call, r, 'GenerateMac');
  return { KeyId: entry.key.meta.arn, Mac: await e.provider.mac(handle, alg, message), MacAlgorithm: alg };
}

export async function verifyMac(e: Engine, call: Call, r: T.VerifyMacRequest): Promise<T.VerifyMacResponse> {
  const mac = bytes(r?.Mac, 'Mac', 1, 64);
  const { entry, message, alg, handle } = await macParams(e, call, r, 'VerifyMac');
  if (!(await e.provider.verifyMac(handle, alg, message, mac))) throw new KMSInvalidMacException('the MAC does not verify');
  return { KeyId: entry.key.meta.arn, MacValid: true, MacAlgorithm: alg };
}

export async function generateRandom(e: Engine, call: Call, r: { NumberOfBytes?: number } = {}): Promise<{ Plaintext: Uint8Array }> {
  req(r, 'GenerateRandom');
  const n = optInt(r.NumberOfBytes, 'NumberOfBytes', 1, 1024);
  if (n === undefined) throw new ValidationException('NumberOfBytes is required');
  e.authorizeAccount(call, 'GenerateRandom');
  return { Plaintext: await e.provider.random(n) };
}

