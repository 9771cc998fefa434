// What `keyward bench` measures: operations through the Provider interface (AES-256-GCM, ECDSA, RSA),
// the engine's GenerateDataKey and Decrypt, the HSM ops at several concurrencies, TLS handshakes through
// the terminator (tls.ts) and signed requests to the KMS endpoint (server.ts). Every operation is
// prepared per provider with the same key material and inputs, and its answers are checked before any
// timing against OpenSSL through node:crypto, the reference all providers are held to (so they agree with
// one another; the tls and server suites check what their front ends answer, as their modules say); a
// wrong answer is a CrossCheckError and the provider is not timed for that operation.
import {
  constants, createPrivateKey, createPublicKey, generateKeyPairSync, publicEncrypt, sign as nodeSign, verify as nodeVerify, type KeyObject,
} from 'node:crypto';
import type { AsymmetricKeySpec, KeyHandle, Provider, SigningAlgorithm } from '../crypto/provider.js';
import type { HsmConfig } from '../hsm/config.js';
import { same, wrong } from './check.js';
import { input } from './input.js';
import { nodeGcm } from './node-gcm.js';
import { BLOBS, dataKeyBlobs, engineOf } from './engine.js';
import type { Measurement } from './measure.js';
import { serverOps } from './server.js';
import { TlsBench } from './tls.js';
import { ClientProcess } from './worker.js';

export { CrossCheckError } from './check.js';

/** One provider's timed operation, ready to run, and what to release afterwards. */
export type Prepared =
  /** Timed here, in this process (measure.ts). */
  | { run(): Promise<unknown>; release(): Promise<void> }
  /** Timed elsewhere (a client process), which reports its own measurement. */
  | { measure(seconds: number, concurrency: number): Promise<Measurement>; release(): Promise<void> };

/** An operation of a suite at one size and concurrency. */
export interface BenchCase {
  suite: string;
  op: string;
  /** Bytes each call handles (the MB/s column). */
  size: number;
  /** Calls in flight. */
  concurrency: number;
  /** Sets the operation up on p and checks its answers; throws CrossCheckError for a wrong one. */
  prepare(p: Provider): Promise<Prepared>;
  /**
   * Set for an operation that involves no provider (plain TCP beside TLS): it runs once, under this
   * column name, instead of once per provider.
   */
  column?: string;
  /** Releases what the suite's cases share (a client process, token keys); runBench calls it once at the end. */
  finish?: () => Promise<void>;
}

export interface Op {
  op: string;
  size: number;
  prepare(p: Provider): Promise<Prepared>;
  column?: string;
}

export const SUITES = ['aes-gcm', 'ecdsa', 'rsa', 'kms', 'hsm', 'tls', 'server'] as const;
export type SuiteName = (typeof SUITES)[number];

const flip = (b: Uint8Array): Uint8Array => {
  const c = Uint8Array.from(b);
  c[c.length - 1]! ^= 1;
  return c;
};

/** Runs check on a fresh key; on any failure the key is destroyed before the error goes on. */
async function withKey(p: Provider, key: KeyHandle, check: () => Promise<void>, run: () => Promise<unknown>): Promise<Prepared> {
  try {
    await check();
  } catch (e) {
    await p.destroyKey(key);
    throw e;
  }
  return { run, release: () => p.destroyKey(key) };
}

// ---- AES-256-GCM ----

// A throwaway benchmark key and a fixed IV: every provider must produce node:crypto's exact bytes.
const AES_KEY = input(32, 7);
const IV = input(12, 8);
const AAD = input(16, 9);

const nodeSeal = nodeGcm(AES_KEY, IV, AAD).seal;

function aesOps(size: number): Op[] {
  const msg = input(size, size + 1);
  const sealed = nodeSeal(msg);
  return [
    {
      op: 'aes-gcm-encrypt', size,
      async prepare(p) {
        const key = await p.importKey('AES_256', AES_KEY);
        return withKey(p, key, async () => {
          if (!same(await p.encrypt(key, IV, msg, AAD), sealed)) throw wrong('aes-gcm-encrypt', `sealed ${size} bytes differently`);
        }, () => p.encrypt(key, IV, msg, AAD));
      },
    },
    {
      op: 'aes-gcm-decrypt', size,
      async prepare(p) {
        const key = await p.importKey('AES_256', AES_KEY);
        return withKey(p, key, async () => {
          if (!same(await p.decrypt(key, IV, sealed, AAD), msg)) throw wrong('aes-gcm-decrypt', `opened ${size} bytes differently`);
          const forged = await p.decrypt(key, IV, flip(sealed), AAD).then(() => true, () => false);
          if (forged) throw wrong('aes-gcm-decrypt', 'accepted an altered tag');
        }, () => p.decrypt(key, IV, sealed, AAD));
      },
    },
  ];
}

// ---- Signatures (ECDSA and RSA) ----

interface KeyPair {
  pkcs8: Uint8Array;
  priv: KeyObject;
  pub: KeyObject;
}

/** One key pair per spec and run, made by node:crypto on first use and imported by every provider. */
const pairs = new Map<string, KeyPair>();
function pairOf(spec: AsymmetricKeySpec): KeyPair {
  let k = pairs.get(spec);
  if (!k) {
    const { privateKey } = spec.startsWith('RSA_')
      ? generateKeyPairSync('rsa', { modulusLength: Number(spec.slice(4)) })
      : generateKeyPairSync('ec', { namedCurve: { ECC_NIST_P256: 'P-256', ECC_NIST_P384: 'P-384', ECC_NIST_P521: 'P-521', ECC_SECG_P256K1: 'secp256k1' }[spec as 'ECC_NIST_P256'] });
    const pkcs8 = privateKey.export({ format: 'der', type: 'pkcs8' });
    k = { pkcs8, priv: createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' }), pub: createPublicKey(privateKey) };
    pairs.set(spec, k);
  }
  return k;
}

interface SigSetup {
  tag: string;
  spec: AsymmetricKeySpec;
  alg: SigningAlgorithm;
  nodeHash: string;
  /** PKCS#1 v1.5 is deterministic: signatures are compared byte for byte. */
  deterministic: boolean;
}

const P256: SigSetup = { tag: 'ecdsa-p256', spec: 'ECC_NIST_P256', alg: 'ECDSA_SHA_256', nodeHash: 'sha256', deterministic: false };
const P384: SigSetup = { tag: 'ecdsa-p384', spec: 'ECC_NIST_P384', alg: 'ECDSA_SHA_384', nodeHash: 'sha384', deterministic: false };
const RSA2048: SigSetup = { tag: 'rsa2048', spec: 'RSA_2048', alg: 'RSASSA_PKCS1_V1_5_SHA_256', nodeHash: 'sha256', deterministic: true };

const MSG = input(32, 3);

function signOp(s: SigSetup): Op {
  const op = `${s.tag}-sign`;
  return {
    op, size: MSG.length,
    async prepare(p) {
      const k = pairOf(s.spec);
      const key = await p.importKey(s.spec, k.pkcs8);
      return withKey(p, key, async () => {
        const sig = await p.sign(key, s.alg, MSG, 'RAW');
        if (s.deterministic ? !same(sig, nodeSign(s.nodeHash, MSG, k.priv)) : !nodeVerify(s.nodeHash, MSG, k.pub, sig)) throw wrong(op, 'made a signature node:crypto does not accept');
      }, () => p.sign(key, s.alg, MSG, 'RAW'));
    },
  };
}

function verifyOp(s: SigSetup): Op {
  const op = `${s.tag}-verify`;
  return {
    op, size: MSG.length,
    async prepare(p) {
      const k = pairOf(s.spec);
      const sig = nodeSign(s.nodeHash, MSG, k.priv);
      const key = await p.importKey(s.spec, k.pkcs8);
      return withKey(p, key, async () => {
        if (!(await p.verify(key, s.alg, MSG, 'RAW', sig))) throw wrong(op, "refused node:crypto's signature");
        if (await p.verify(key, s.alg, flip(MSG), 'RAW', sig)) throw wrong(op, 'accepted a signature of another message');
      }, () => p.verify(key, s.alg, MSG, 'RAW', sig));
    },
  };
}

function oaepDecryptOp(): Op {
  const op = 'rsa2048-oaep-decrypt';
  const secret = input(32, 5);
  return {
    op, size: secret.length,
    async prepare(p) {
      const k = pairOf('RSA_2048');
      const ct = publicEncrypt({ key: k.pub, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, secret);
      const key = await p.importKey('RSA_2048', k.pkcs8);
      return withKey(p, key, async () => {
        if (!same(await p.decryptAsymmetric(key, 'RSAES_OAEP_SHA_256', ct), secret)) throw wrong(op, "decrypted node:crypto's ciphertext differently");
      }, () => p.decryptAsymmetric(key, 'RSAES_OAEP_SHA_256', ct));
    },
  };
}

// ---- The engine (GenerateDataKey, Decrypt) ----

function kmsOps(): Op[] {
  return [
    {
      op: 'kms-generate-data-key', size: 32,
      async prepare(p) {
        const e = await engineOf(p, 'kms-generate-data-key');
        return {
          async run() {
            (await e.kw.generateDataKey({ KeyId: e.keyId, KeySpec: 'AES_256' })).Plaintext.fill(0);
          },
          release: () => e.close(),
        };
      },
    },
    {
      op: 'kms-decrypt', size: 32,
      async prepare(p) {
        const e = await engineOf(p, 'kms-decrypt');
        try {
          const blobs = await dataKeyBlobs(e, BLOBS);
          let next = 0;
          return {
            async run() {
              (await e.kw.decrypt({ CiphertextBlob: blobs[next++ % BLOBS]! })).Plaintext.fill(0);
            },
            release: () => e.close(),
          };
        } catch (err) {
          await e.close();
          throw err;
        }
      },
    },
  ];
}

// ---- Suites ----

export interface CaseOptions {
  suites: readonly SuiteName[];
  /** AES-GCM message sizes. */
  sizes: readonly number[];
  /** Calls in flight for aes-gcm, ecdsa and rsa (undefined: 1), tls handshakes and server requests. */
  concurrency?: number;
  /** Calls in flight for kms; undefined: 64 (the store commits the calls in flight together). */
  kmsConcurrency?: number;
  /** The concurrencies of the hsm suite's curves. */
  levels: readonly number[];
  /** The HSM of the pkcs11 provider, for the tls suite's terminator (the OpenSSL pkcs11 engine logs in itself). */
  hsm?: HsmConfig;
  /** The client process's module (default: client.js beside this module, as built). */
  clientModule?: string;
}

export const DEFAULT_SIZES = [32, 1024, 65536];
export const DEFAULT_LEVELS = [1, 2, 4, 8, 16, 32, 64];
export const KMS_CONCURRENCY = 64;
/** The hsm suite's size of AES-GCM message. */
export const HSM_AES_SIZE = 1024;
/** New handshakes in flight by default: a few, as a terminator sees from several clients. */
export const TLS_CONCURRENCY = 4;
/** Requests in flight to the KMS endpoint by default (keep-alive connections of the client). */
export const SERVER_CONCURRENCY = 32;

/** The cases of the chosen suites, in the order they run. */
export function benchCases(o: CaseOptions): BenchCase[] {
  let client: ClientProcess | undefined;
  // One client process for the tls and server suites, started by the first case that needs it.
  const clientOf = () => (client ??= ClientProcess.start(o.clientModule));
  const finishers: (() => Promise<void>)[] = [];
  let finished: Promise<void> | undefined;
  // Every finisher runs even when one fails; the first failure is the one reported.
  const finish = () => (finished ??= (async () => {
    const results = await Promise.allSettled(finishers.map((f) => f()));
    client?.close();
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  })());
  const at = (suite: string, ops: Op[], concurrency: number): BenchCase[] =>
    ops.map((x) => ({ suite, op: x.op, size: x.size, concurrency, prepare: x.prepare, finish, ...(x.column ? { column: x.column } : {}) }));
  const c = o.concurrency ?? 1;
  const out: BenchCase[] = [];
  for (const s of o.suites) {
    if (s === 'aes-gcm') out.push(...at(s, o.sizes.flatMap(aesOps), c));
    if (s === 'ecdsa') out.push(...at(s, [signOp(P256), verifyOp(P256), signOp(P384), verifyOp(P384)], c));
    if (s === 'rsa') out.push(...at(s, [signOp(RSA2048), verifyOp(RSA2048), oaepDecryptOp()], c));
    if (s === 'kms') out.push(...at(s, kmsOps(), o.kmsConcurrency ?? o.concurrency ?? KMS_CONCURRENCY));
    if (s === 'hsm') {
      const ops = [aesOps(HSM_AES_SIZE)[0]!, signOp(P256), signOp(RSA2048)];
      for (const x of ops) for (const level of o.levels) out.push(...at(s, [x], level));
    }
    if (s === 'tls') {
      const t = new TlsBench(clientOf, o.hsm);
      finishers.push(() => t.close());
      out.push(...at(s, t.handshakeOps(), o.concurrency ?? TLS_CONCURRENCY), ...at(s, t.bulkOps(), 1));
    }
    if (s === 'server') out.push(...at(s, serverOps(clientOf), o.concurrency ?? SERVER_CONCURRENCY));
  }
  return out;
}
