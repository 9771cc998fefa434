// The HSM suites (issue 6): AES-256-GCM encrypt (32 B, 1 KiB, 64 KiB), ECDSA P-256 sign and RSA-2048 sign
// (PKCS#1 v1.5, SHA-256) on a SoftHSM2 token, through
//   pkcs11js        one synchronous call at a time on one session (the JS thread does the work),
//   native-single   the native addon's single async calls, BATCH of them in flight, spread over its pool
//                   (signing on SESSIONS sessions, AES-GCM on a pool of GCM_SESSIONS, as gcmSessions does),
//   native-batch    the native addon's batch call: BATCH inputs in one call, with the next call queued
//                   behind the one running (as a service feeding the HSM would), so the sessions do not
//                   idle while the event loop settles one batch and builds the next,
// beside the same operation in software: keyward-wasm (the WASM core) and node:crypto (OpenSSL).
// Every timed run is BATCH operations; ops/s is BATCH × runs per second (runAsyncSuite). The baseline is
// pkcs11js, so the ratio column reads "× one call at a time".
//
// Cross-validation before timing: every column processes all BATCH inputs once. AES-GCM ciphertexts
// must equal node:crypto's under the same key and IV (the HSM key is imported with known bytes, sensitive
// and non-extractable); signatures must verify in node:crypto under the signer's public key (the HSM
// keys are generated in the token; the software columns have a key of their own).
//
// hsm-event-loop: for each HSM path, the event-loop delay (perf_hooks.monitorEventLoopDelay) while that
// path keeps the HSM saturated for the timed window: its rows' p50/p99 columns are the loop's delay, its
// ops/s what the path completed meanwhile. pkcs11js yields to the loop after each call (the best a
// service can do with a synchronous binding); the native paths keep BATCH operations in flight.
//
// hsm-sessions: the native batch on pools of 1 to max(2, SESSIONS) sessions, each pool its own, for
// AES-256-GCM 1 KiB, ECDSA P-256 and RSA-2048: whether the module runs sessions in parallel, which is
// what the batch's gain over one call at a time rests on. Its rows' ratio is to one session, and their
// p50/p99 columns are the latency of one batch call (BATCH operations, one call queued behind it).
//
// hsm-kms-*: the engine end to end with a CMK held in the HSM (Origin AWS_CLOUDHSM, the region key a
// token object too), GenerateDataKey (AES_256) and Decrypt with BATCH_KMS calls in flight, beside a
// software engine (WASM provider) on its own store.
//
// The token lives in a temp dir of its own (SOFTHSM2_CONF is set before the module is first loaded in
// this process) and is removed at exit.
import { execFileSync } from 'node:child_process';
import { createHash, createPublicKey, generateKeyPairSync, sign as nodeSign, verify as nodeVerify, type KeyObject } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { quantile } from '../../src/bench/measure.js';
import { nodeGcm } from '../../src/bench/node-gcm.js';
import { aesGcm, ecdsa, rsa } from '../../src/crypto/index.js';
import type { HsmConfig } from '../../src/hsm/config.js';
import { loadNative, type NativeMechanism, type NativeSessionPool } from '../../src/hsm/native.js';
import { generateEcKeyPair, generateRsaKeyPair, Pkcs11Module, pkcs11js as P, type ObjectHandle, type Session } from '../../src/hsm/pkcs11.js';
import { Keyward } from '../../src/kms/keyward.js';
import { CrossValidationError, input, type AsyncImpl, type AsyncSuite, type Row, type RunOptions } from '../harness.js';

function envInt(name: string, fallback: number, max: number): number {
  const v = process.env[name];
  const n = v === undefined ? fallback : Number(v);
  if (!Number.isSafeInteger(n) || n < 1 || n > max) throw new RangeError(`expected ${name} to be an integer in 1..${max}, got ${v}`);
  return n;
}

/**
 * Operations per timed run, and in flight at once on the native paths (the test makes it small). A batch
 * call of 1024 keeps the pool's threads on the token longer between the event loop's turns than one of 64
 * (SoftHSM2 AES-GCM 1 KiB on one session: about 100k/s in calls of 64, 120k/s in calls of 1024).
 */
export const BATCH = envInt('KEYWARD_BENCH_HSM_BATCH', 1024, 4096);
/** Calls in flight per timed run of the engine suites. */
export const BATCH_KMS = Math.min(BATCH, 64);
/**
 * Sessions (native threads) of the addon's pool: one per core by default. A software token is bound by
 * CPU, so more sessions than cores only add contention on its locks; a network HSM would want more.
 */
export const SESSIONS = envInt('KEYWARD_BENCH_HSM_SESSIONS', availableParallelism(), 64);
/**
 * Sessions of the pool AES-GCM runs on (the config's gcmSessions): 1, since SoftHSM2 runs AES-GCM one
 * session at a time and a second only contends for its locks (hsm-sessions shows it in every run).
 */
export const GCM_SESSIONS = envInt('KEYWARD_BENCH_HSM_GCM_SESSIONS', 1, 64);

const SOFTHSM_MODULE = '/usr/lib/softhsm/libsofthsm2.so';
const TOKEN = 'keyward-bench';
const KMS_TOKEN = 'keyward-bench-kms';
const PIN = '13572468';
const TAG = 16;
// SoftHSM2 2.6 has no CKM_ECDSA_SHA256: the HSM paths hash in JS (node:crypto) and sign the digest with CKM_ECDSA.
const CKM_ECDSA = P.CKM_ECDSA;
const CKM_SHA256_RSA_PKCS = P.CKM_SHA256_RSA_PKCS;
// DER OID 1.2.840.10045.3.1.7 (prime256v1), CKA_EC_PARAMS.
const P256_OID = Uint8Array.from(Buffer.from('06082a8648ce3d030107', 'hex'));

const AES_KEY = input(32, 61);
const IV = input(12, 62);
const AAD = input(16, 63);

/** A suite that measures itself (rows it makes, not timed by the harness). */
export interface MeasuredSuite {
  name: string;
  baseline: string;
  measure(opts: RunOptions): Promise<Row[]>;
}

export interface Signer {
  /** The HSM's private key handle (pkcs11js form and the addon's number). */
  hsm: ObjectHandle;
  hsmN: number;
  hsmPub: KeyObject;
  softPkcs8: Uint8Array;
  softPriv: KeyObject;
  softPub: KeyObject;
}

export interface Env {
  dir: string;
  module: Pkcs11Module;
  session: Session;
  /** The addon's pool for signing (SESSIONS sessions) and AES-GCM's own (GCM_SESSIONS). */
  pool: NativeSessionPool;
  gcmPool: NativeSessionPool;
  /** The token's slot, for further pools (hsm-sessions). */
  slotId: number | bigint;
  aes: ObjectHandle;
  aesN: number;
  ec: Signer;
  rsa: Signer;
  kmsHsm: HsmConfig;
}

let envP: Promise<Env> | undefined;
/** The token, keys and pool every HSM suite shares, made on first use and released at process exit. */
export const env = (): Promise<Env> => (envP ??= makeEnv());

const handleNumber = (h: Buffer) => Number(h.readBigUInt64LE(0));

function makeEnv(): Promise<Env> {
  const dir = mkdtempSync(join(tmpdir(), 'keyward-bench-hsm-'));
  mkdirSync(join(dir, 'tokens'));
  writeFileSync(join(dir, 'softhsm2.conf'), `directories.tokendir = ${join(dir, 'tokens')}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n`);
  process.env.SOFTHSM2_CONF = join(dir, 'softhsm2.conf');
  for (const label of [TOKEN, KMS_TOKEN]) {
    execFileSync('softhsm2-util', ['--init-token', '--free', '--label', label, '--pin', PIN, '--so-pin', '86427531'], { stdio: 'ignore' });
  }
  const module = Pkcs11Module.load(SOFTHSM_MODULE);
  const slot = module.findToken(TOKEN);
  const session = slot.openSession();
  session.login(PIN);
  const aes = session.createObject({
    class: P.CKO_SECRET_KEY, keyType: P.CKK_AES, value: AES_KEY, token: false, private: true,
    sensitive: true, extractable: false, encrypt: true, decrypt: true,
  });
  const ecPair = generateEcKeyPair(session, P256_OID);
  const point = session.getAttributes(ecPair.publicKey, ['ecPoint']).ecPoint;
  // CKA_EC_POINT is DER OCTET STRING(04 ‖ X ‖ Y).
  const xy = point.subarray(point.length - 64);
  const ecSoft = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const rsaPair = generateRsaKeyPair(session, 2048);
  const { modulus, publicExponent } = session.getAttributes(rsaPair.publicKey, ['modulus', 'publicExponent']);
  const rsaSoft = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64url');
  const soft = (k: { privateKey: KeyObject; publicKey: KeyObject }) => ({
    softPkcs8: Uint8Array.from(k.privateKey.export({ format: 'der', type: 'pkcs8' })),
    softPriv: k.privateKey,
    softPub: k.publicKey,
  });
  const e: Env = {
    dir,
    module,
    session,
    pool: loadNative().open({ module: SOFTHSM_MODULE, slot: slot.id, pin: PIN, sessions: SESSIONS }),
    gcmPool: loadNative().open({ module: SOFTHSM_MODULE, slot: slot.id, pin: PIN, sessions: GCM_SESSIONS }),
    slotId: slot.id,
    aes,
    aesN: handleNumber(aes),
    ec: {
      hsm: ecPair.privateKey, hsmN: handleNumber(ecPair.privateKey),
      hsmPub: createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: b64(xy.subarray(0, 32)), y: b64(xy.subarray(32)) }, format: 'jwk' }),
      ...soft(ecSoft),
    },
    rsa: {
      hsm: rsaPair.privateKey, hsmN: handleNumber(rsaPair.privateKey),
      hsmPub: createPublicKey({ key: { kty: 'RSA', n: b64(modulus), e: b64(publicExponent) }, format: 'jwk' }),
      ...soft(rsaSoft),
    },
    kmsHsm: { module: SOFTHSM_MODULE, tokenLabel: KMS_TOKEN, pin: PIN, sessions: SESSIONS, gcmSessions: GCM_SESSIONS },
  };
  process.once('exit', () => {
    e.pool.close();
    e.gcmPool.close();
    e.session.close();
    e.module.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return Promise.resolve(e);
}

// ---- The operations ----

export type Path = 'pkcs11js' | 'native-single' | 'native-batch' | 'keyward-wasm' | 'node:crypto';
const PATHS: Path[] = ['pkcs11js', 'native-single', 'native-batch', 'keyward-wasm', 'node:crypto'];
const HSM_PATHS: Path[] = ['pkcs11js', 'native-single', 'native-batch'];

export interface Op {
  suite: string;
  size: number;
  pkcs11js(e: Env, m: Uint8Array): Uint8Array;
  single(e: Env, m: Uint8Array): Promise<Uint8Array>;
  batch(e: Env, ms: Uint8Array[]): Promise<Uint8Array[]>;
  wasm(e: Env, m: Uint8Array): Uint8Array;
  node(e: Env, m: Uint8Array): Uint8Array;
  /** Whether out is a right answer for m from this path. */
  check(e: Env, path: Path, m: Uint8Array, out: Uint8Array): boolean;
}

const nodeSeal = nodeGcm(AES_KEY, IV, AAD).seal;

const gcmMech = (): P.Mechanism => ({ mechanism: P.CKM_AES_GCM, parameter: { type: P.CK_PARAMS_AES_GCM, iv: Buffer.from(IV), ivBits: 96, aad: Buffer.from(AAD), tagBits: 128 } as P.GcmParams });

// The IV repeats across timed calls: every call encrypts a known message under the bench's own key, which
// is what lets the outputs be compared; a service draws a fresh IV per message.
function aesOp(size: number): Op {
  return {
    suite: 'hsm-aes-256-gcm-encrypt',
    size,
    pkcs11js: (e, m) => e.session.encrypt(gcmMech(), e.aes, m, m.length + TAG),
    single: (e, m) => e.gcmPool.aesGcmEncrypt(e.aesN, IV, AAD, m),
    batch: (e, ms) => e.gcmPool.aesGcmEncryptBatch(e.aesN, ms.map((data) => ({ iv: IV, aad: AAD, data }))),
    wasm: (_e, m) => aesGcm.seal(AES_KEY, IV, m, AAD),
    node: (_e, m) => nodeSeal(m),
    check: (_e, _p, m, out) => Buffer.from(out).equals(nodeSeal(m)),
  };
}

function signOp(suite: string, key: (e: Env) => Signer, mech: NativeMechanism, sigLen: number, soft: { wasm: (k: Signer, m: Uint8Array) => Uint8Array; dsa: 'der' | undefined }, prehash: boolean): Op {
  const pMech = { mechanism: mech.type };
  const data = prehash ? (m: Uint8Array) => createHash('sha256').update(m).digest() : (m: Uint8Array) => m;
  return {
    suite,
    size: 32,
    pkcs11js: (e, m) => e.session.sign(pMech, key(e).hsm, data(m), sigLen),
    single: (e, m) => e.pool.sign(key(e).hsmN, mech, data(m)),
    batch: (e, ms) => e.pool.signBatch(key(e).hsmN, mech, ms.map(data)),
    wasm: (e, m) => soft.wasm(key(e), m),
    node: (e, m) => nodeSign('sha256', m, key(e).softPriv),
    check: (e, path, m, out) => {
      const k = key(e);
      const hsm = HSM_PATHS.includes(path);
      // The HSM gives ECDSA as r ‖ s; the software columns DER.
      const dsaEncoding = soft.dsa === undefined ? undefined : hsm ? 'ieee-p1363' : 'der';
      return nodeVerify('sha256', m, dsaEncoding ? { key: hsm ? k.hsmPub : k.softPub, dsaEncoding } : hsm ? k.hsmPub : k.softPub, out);
    },
  };
}

const ecSign = signOp('hsm-ecdsa-p256-sign', (e) => e.ec, { type: CKM_ECDSA }, 64, {
  wasm: (k, m) => ecdsa.sign('P-256', 'SHA-256', k.softPkcs8, m, { format: 'der' }),
  dsa: 'der',
}, true);
const rsaSign = signOp('hsm-rsa2048-sign', (e) => e.rsa, { type: CKM_SHA256_RSA_PKCS }, 256, {
  wasm: (k, m) => rsa.sign({ scheme: 'pkcs1', hash: 'SHA-256' }, k.softPkcs8, m),
  dsa: undefined,
}, false);

const messages = (size: number) => Array.from({ length: BATCH }, (_, i) => input(size, 1000 + i));

async function runPath(e: Env, op: Op, path: Path, ms: Uint8Array[]): Promise<Uint8Array[]> {
  switch (path) {
    case 'pkcs11js':
      return ms.map((m) => op.pkcs11js(e, m));
    case 'native-single':
      return Promise.all(ms.map((m) => op.single(e, m)));
    case 'native-batch':
      return op.batch(e, ms);
    case 'keyward-wasm':
      return ms.map((m) => op.wasm(e, m));
    case 'node:crypto':
      return ms.map((m) => op.node(e, m));
  }
}

function impl(op: Op, path: Path): AsyncImpl {
  const ms = messages(op.size);
  let e: Env | undefined;
  // native-batch: the call queued behind the running one; each run() queues one and waits for one.
  let queued: Promise<Uint8Array[]> | undefined;
  const drain = async () => {
    const last = queued;
    queued = undefined;
    await last;
  };
  return {
    name: path,
    async setup() {
      e = await env();
      const outs = await runPath(e, op, path, ms);
      if (outs.length !== ms.length) throw new CrossValidationError(`${op.suite} @ ${op.size} B: ${path} gave ${outs.length} outputs for ${ms.length} inputs; not timed`);
      outs.forEach((out, i) => {
        if (!op.check(e!, path, ms[i]!, out)) throw new CrossValidationError(`${op.suite} @ ${op.size} B: ${path} gave a wrong output for input ${i}; not timed`);
      });
    },
    async run() {
      if (path !== 'native-batch') {
        await runPath(e!, op, path, ms);
        return;
      }
      const running = queued ?? op.batch(e!, ms);
      queued = op.batch(e!, ms);
      await running;
    },
    ...(path === 'native-batch' ? { drain } : {}),
    teardown: drain,
  };
}

const opSuite = (op: Op): AsyncSuite => ({ name: op.suite, size: op.size, batch: BATCH, baseline: 'pkcs11js', impls: PATHS.map((p) => impl(op, p)) });

// ---- Event-loop delay while the HSM is saturated ----

/** The operations of the op suites, for tests of their answers. */
export const hsmOps: Op[] = [32, 1024, 65536].map(aesOp).concat(ecSign, rsaSign);

const LOOP_OPS: Op[] = [aesOp(1024), ecSign];

/**
 * Keeps two batch calls in flight on e's pools for durationMs, as the op suites do (one running, the next
 * queued); each call's latency in µs.
 */
async function pipeBatches(e: Env, op: Op, ms: Uint8Array[], durationMs: number): Promise<number[]> {
  const end = performance.now() + durationMs;
  const latencies: number[] = [];
  const lane = async () => {
    while (performance.now() < end) {
      const t = performance.now();
      await op.batch(e, ms);
      latencies.push((performance.now() - t) * 1000);
    }
  };
  await Promise.all([lane(), lane()]);
  return latencies;
}

/** Keeps the HSM busy through path for ms milliseconds; returns the operations completed. */
async function saturate(e: Env, op: Op, path: Path, ms: Uint8Array[], durationMs: number): Promise<number> {
  const end = performance.now() + durationMs;
  let done = 0;
  if (path === 'pkcs11js') {
    for (let i = 0; performance.now() < end; i++) {
      op.pkcs11js(e, ms[i % ms.length]!);
      done++;
      await yieldToLoop();
    }
  } else if (path === 'native-batch') {
    done = (await pipeBatches(e, op, ms, durationMs)).length * ms.length;
  } else {
    // BATCH calls in flight: each one that settles starts the next until the window closes.
    const lane = async (m: Uint8Array) => {
      while (performance.now() < end) {
        await op.single(e, m);
        done++;
      }
    };
    await Promise.all(ms.map(lane));
  }
  return done;
}

/**
 * A suite measuring each op under each of columns, one row per pair; each op's rows have their ratio to
 * its first column's.
 */
function perOpSuite<C>(name: string, baseline: string, ops: Op[], columns: readonly C[], measureOne: (e: Env, op: Op, ms: Uint8Array[], column: C, opts: RunOptions) => Promise<Row>): MeasuredSuite {
  return {
    name,
    baseline,
    async measure(opts) {
      const e = await env();
      const rows: Row[] = [];
      for (const op of ops) {
        const ms = messages(op.size);
        const sized: Row[] = [];
        for (const column of columns) sized.push(await measureOne(e, op, ms, column, opts));
        for (const r of sized) {
          r.ratio = r.opsPerSec / sized[0]!.opsPerSec;
          opts.onRow?.(r);
        }
        rows.push(...sized);
      }
      return rows;
    },
  };
}

const eventLoopSuite = perOpSuite('hsm-event-loop', 'pkcs11js', LOOP_OPS, HSM_PATHS, async (e, op, ms, path, opts) => {
  await saturate(e, op, path, ms, opts.warmupTime);
  const h = monitorEventLoopDelay({ resolution: 1 });
  h.enable();
  const t0 = performance.now();
  const done = await saturate(e, op, path, ms, opts.time);
  const seconds = (performance.now() - t0) / 1000;
  h.disable();
  const opsPerSec = done / seconds;
  return {
    suite: 'hsm-event-loop', size: op.size, impl: `${path} (${op.suite.slice(4)})`, opsPerSec, mbPerSec: (opsPerSec * op.size) / 1e6,
    p50us: h.percentile(50) / 1000, p99us: h.percentile(99) / 1000, samples: h.count, ratio: 0,
  };
});

// ---- The native batch on pools of 1 to max(2, SESSIONS) sessions ----

const SCALING_OPS: Op[] = [aesOp(1024), ecSign, rsaSign];
export const SESSION_COUNTS = Array.from({ length: Math.max(2, SESSIONS) }, (_, i) => i + 1);

const sessionsSuite = perOpSuite('hsm-sessions', '1 session', SCALING_OPS, SESSION_COUNTS, async (e, op, ms, sessions, opts) => {
  const pool = loadNative().open({ module: SOFTHSM_MODULE, slot: e.slotId, pin: PIN, sessions });
  try {
    const impl = `${sessions} session${sessions === 1 ? '' : 's'} (${op.suite.slice(4)})`;
    const on = { ...e, pool, gcmPool: pool };
    const outs = await op.batch(on, ms);
    outs.forEach((out, i) => {
      if (!op.check(e, 'native-batch', ms[i]!, out)) throw new CrossValidationError(`hsm-sessions: ${impl} gave a wrong output for input ${i}; not timed`);
    });
    await pipeBatches(on, op, ms, opts.warmupTime);
    const t0 = performance.now();
    const latencies = (await pipeBatches(on, op, ms, opts.time)).sort((a, b) => a - b);
    const opsPerSec = (latencies.length * ms.length) / ((performance.now() - t0) / 1000);
    return {
      suite: 'hsm-sessions', size: op.size, impl, opsPerSec, mbPerSec: (opsPerSec * op.size) / 1e6,
      p50us: quantile(latencies, 0.5), p99us: quantile(latencies, 0.99), samples: latencies.length, ratio: 0,
    };
  } finally {
    pool.close();
  }
});

// ---- The engine with an HSM-held CMK ----

type Engine = 'keyward-hsm-cmk' | 'keyward-wasm';

class KmsSubject {
  private dir = '';
  kw: Keyward | undefined;
  keyId = '';

  constructor(
    private readonly suite: string,
    private readonly engine: Engine,
  ) {}

  async setup(): Promise<void> {
    const e = await env();
    this.dir = mkdtempSync(join(tmpdir(), 'keyward-bench-hsm-kms-'));
    const fail = (what: string) => new CrossValidationError(`${this.suite}: ${this.engine} ${what}; not timed`);
    this.kw = await Keyward.open(this.engine === 'keyward-hsm-cmk' ? { dir: this.dir, hsm: e.kmsHsm } : { dir: this.dir });
    const md = (await this.kw.createKey(this.engine === 'keyward-hsm-cmk' ? { Origin: 'AWS_CLOUDHSM', Description: `bench ${this.suite}` } : { Description: `bench ${this.suite}` })).KeyMetadata;
    if (md.Origin !== (this.engine === 'keyward-hsm-cmk' ? 'AWS_CLOUDHSM' : 'AWS_KMS')) throw fail(`made a CMK of origin ${md.Origin}`);
    this.keyId = md.KeyId;
    const dk = await this.kw.generateDataKey({ KeyId: this.keyId, KeySpec: 'AES_256' });
    if (dk.Plaintext.length !== 32) throw fail(`made a ${dk.Plaintext.length}-byte AES_256 data key`);
    const back = await this.kw.decrypt({ CiphertextBlob: dk.CiphertextBlob });
    if (!Buffer.from(back.Plaintext).equals(Buffer.from(dk.Plaintext))) throw fail('does not decrypt its own data key');
    dk.Plaintext.fill(0);
    back.Plaintext.fill(0);
  }

  async teardown(): Promise<void> {
    try {
      await this.kw?.close();
    } finally {
      if (this.dir) rmSync(this.dir, { recursive: true, force: true });
    }
  }
}

function kmsImpl(suite: string, engine: Engine, decrypt: boolean): AsyncImpl {
  const s = new KmsSubject(suite, engine);
  let blobs: Uint8Array[] = [];
  return {
    name: engine,
    async setup() {
      await s.setup();
      if (!decrypt) return;
      const made = await Promise.all(Array.from({ length: BATCH_KMS }, () => s.kw!.generateDataKey({ KeyId: s.keyId, KeySpec: 'AES_256' })));
      blobs = made.map((r) => r.CiphertextBlob);
      for (const r of made) r.Plaintext.fill(0);
    },
    async run() {
      const kw = s.kw!;
      const out = decrypt
        ? await Promise.all(blobs.map((b) => kw.decrypt({ CiphertextBlob: b })))
        : await Promise.all(Array.from({ length: BATCH_KMS }, () => kw.generateDataKey({ KeyId: s.keyId, KeySpec: 'AES_256' })));
      for (const r of out) r.Plaintext.fill(0);
    },
    teardown: () => s.teardown(),
  };
}

const ENGINES: Engine[] = ['keyward-hsm-cmk', 'keyward-wasm'];

export { PATHS, HSM_PATHS };

export const hsmSuites: (AsyncSuite | MeasuredSuite)[] = [
  ...hsmOps.map(opSuite),
  eventLoopSuite,
  sessionsSuite,
  { name: 'hsm-kms-generate-data-key', size: 32, batch: BATCH_KMS, baseline: 'keyward-wasm', impls: ENGINES.map((en) => kmsImpl('hsm-kms-generate-data-key', en, false)) },
  { name: 'hsm-kms-decrypt', size: 32, batch: BATCH_KMS, baseline: 'keyward-wasm', impls: ENGINES.map((en) => kmsImpl('hsm-kms-decrypt', en, true)) },
];
