// Engine-level crash durability: a child process (crash-child.mjs, on the compiled dist/) runs concurrent
// CreateKey, RotateKeyOnDemand, Encrypt, GenerateDataKey and CreateAlias calls against one store and
// prints a line per acknowledged result; this test SIGKILLs it at random moments, round after round on the
// same directory, and after every kill opens the store itself (through the stale lock the killed process
// left) and holds it to everything acknowledged so far. `npm test` builds dist/ first; locally run
// `npm run build:ts` before this file.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { Keyward } from '../../src/kms/keyward.js';
import { ACCOUNT } from './_engine.js';

const DIST = resolve(import.meta.dirname, '../../dist/src/kms/keyward.js');
const CHILD = join(import.meta.dirname, 'crash-child.mjs');

interface Sealed {
  keyId: string;
  blob: string;
  pt: string;
  ctx: Record<string, string>;
}

type Ack =
  | { op: 'opening' }
  | { op: 'ready'; pid: number }
  | { op: 'key'; keyId: string }
  | { op: 'rot'; keyId: string }
  | ({ op: 'enc' | 'gdk' } & Sealed)
  | { op: 'alias'; name: string; keyId: string }
  | { op: 'error'; name: string; message: string };

/** Everything the children acknowledged, across rounds. */
class Acknowledged {
  readonly keys = new Set<string>();
  readonly rotations = new Map<string, number>();
  readonly sealed: Sealed[] = [];
  readonly aliases = new Map<string, string>();
  readonly counts = { key: 0, rot: 0, enc: 0, gdk: 0, alias: 0 };

  add(a: Exclude<Ack, { op: 'opening' | 'ready' | 'error' }>): void {
    this.counts[a.op]++;
    switch (a.op) {
      case 'key': this.keys.add(a.keyId); break;
      case 'rot': this.rotations.set(a.keyId, (this.rotations.get(a.keyId) ?? 0) + 1); break;
      case 'enc': case 'gdk': this.sealed.push(a); break;
      case 'alias': this.aliases.set(a.name, a.keyId); break;
    }
  }
}

interface Round {
  pid: number | undefined;
  acks: Exclude<Ack, { op: 'opening' | 'ready' | 'error' }>[];
}

/**
 * Runs one child until it is killed: `killAfterReady` rounds wait for the first acknowledgement and then
 * kill within `windowMs`; the others kill within `windowMs` of the start of Keyward.open (an open of an
 * existing store takes some tens of milliseconds here), so the kill lands in the open or just after it.
 */
async function runChild(dir: string, round: number, killAfterReady: boolean, windowMs: number): Promise<Round> {
  const proc = spawn(process.execPath, [CHILD, pathToFileURL(DIST).href, dir, String(round), ACCOUNT], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, KEYWARD_UNSEAL_KEY: undefined },
  });
  let out = '';
  let errOut = '';
  let pid: number | undefined;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) => proc.on('exit', (code, signal) => res({ code, signal })));
  proc.stderr.on('data', (d: Buffer) => (errOut += d));
  // Resolves once stdout holds `n` whole lines: opening, ready, first acknowledgement.
  const waiters: { n: number; res: () => void }[] = [];
  const linesOut = () => out.split('\n').length - 1;
  proc.stdout.on('data', (d: Buffer) => {
    out += d;
    if (pid === undefined && linesOut() >= 2) pid = (JSON.parse(out.split('\n')[1]!) as { pid: number }).pid;
    for (const w of waiters) if (linesOut() >= w.n) w.res();
  });
  const lines = (n: number) =>
    new Promise<void>((res, rej) => {
      if (linesOut() >= n) res();
      else waiters.push({ n, res });
      void exited.then(({ code, signal }) => rej(new Error(`child exited (${code ?? signal}) after ${linesOut()} lines: ${errOut}${out.slice(-2000)}`)));
    });
  if (killAfterReady) {
    await lines(3);
    // While the child holds the store, nobody else may open it.
    await expect(Keyward.open({ dir, account: ACCOUNT, maintenanceIntervalMs: 0 })).rejects.toThrow(`open in process ${proc.pid}`);
  } else {
    await lines(1);
  }
  await new Promise((r) => setTimeout(r, Math.random() * windowMs));
  proc.kill('SIGKILL');
  const { code, signal } = await exited;
  expect(signal, `child exited on its own (${code}): ${errOut}${out.slice(-2000)}`).toBe('SIGKILL');
  // Only whole lines count: a line is written after its call was acknowledged, and the kill may cut the last.
  const acks: Round['acks'] = [];
  for (const a of out.split('\n').slice(0, -1).map((l) => JSON.parse(l) as Ack)) {
    if (a.op === 'error') throw new Error(`child failed: ${a.name}: ${a.message}`);
    if (a.op !== 'opening' && a.op !== 'ready') acks.push(a);
  }
  return { pid, acks };
}

/** Runs fn over items with up to 256 calls in flight (the group commit batches them); returns the problems found. */
async function each<T>(items: Iterable<T>, fn: (item: T) => Promise<string | undefined>): Promise<string[]> {
  const all = [...items];
  const problems: string[] = [];
  for (let i = 0; i < all.length; i += 256) {
    for (const p of await Promise.all(all.slice(i, i + 256).map(fn))) if (p !== undefined) problems.push(p);
  }
  return problems;
}

const failure = (what: string) => (e: Error) => `${what}: ${e.name}: ${e.message}`;

/** Opens the store after a kill and checks every acknowledged key, rotation and alias, the given blobs, and the audit chain. */
async function verify(dir: string, acked: Acknowledged, sealed: Sealed[]): Promise<string[]> {
  const kw = await Keyward.open({ dir, account: ACCOUNT, maintenanceIntervalMs: 0 });
  try {
    const problems = [
      ...(await each(acked.keys, (keyId) =>
        kw.describeKey({ KeyId: keyId }).then(({ KeyMetadata: m }) => (m.KeyState === 'Enabled' ? undefined : `key ${keyId} is ${m.KeyState}`), failure(`key ${keyId}`)),
      )),
      ...(await each(acked.rotations, ([keyId, n]) =>
        kw.listKeyRotations({ KeyId: keyId }).then(
          ({ Rotations }) => (Rotations.length >= n ? undefined : `key ${keyId}: ${n} rotations acknowledged, ${Rotations.length} in the store`),
          failure(`rotations of ${keyId}`),
        ),
      )),
      ...(await each(acked.aliases, ([name, keyId]) =>
        kw.describeKey({ KeyId: name }).then(
          ({ KeyMetadata: m }) => (m.KeyId === keyId ? undefined : `alias ${name} resolves to ${m.KeyId}, not ${keyId}`),
          failure(`alias ${name}`),
        ),
      )),
      ...(await each(sealed, (s) => {
        const what = `blob ${s.ctx.round}/${s.ctx.n} of ${s.keyId}`;
        return kw.decrypt({ CiphertextBlob: Buffer.from(s.blob, 'base64'), EncryptionContext: s.ctx }).then((r) => {
          if (Buffer.from(r.Plaintext).toString('base64') !== s.pt) return `${what} decrypts to other bytes`;
          return r.KeyId.endsWith(`:key/${s.keyId}`) ? undefined : `${what} names ${r.KeyId}`;
        }, failure(what));
      })),
    ];
    const audit = await kw.verifyAudit();
    if (!audit.ok) problems.push(`audit log: ${JSON.stringify(audit)}`);
    return problems;
  } finally {
    await kw.close();
  }
}

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('Keyward: crash durability', () => {
  it('keeps every acknowledged key, rotation, ciphertext and alias when the engine is SIGKILLed at random moments', async () => {
    expect(existsSync(DIST), `${DIST} is missing: run npm run build:ts`).toBe(true);
    const dir = mkdtempSync(join(tmpdir(), 'keyward-crash-'));
    dirs.push(dir);
    const acked = new Acknowledged();
    const start = Date.now();
    let staleLocks = 0;
    // 8 rounds at least, up to 15 while the test stays well inside its budget on a busy machine.
    const lock = join(dir, 'keyward.lock');
    let childTookStaleLock = 0;
    let unchecked = new Set<Sealed>();
    for (let round = 0; round < 8 || (round < 15 && Date.now() - start < 22_000); round++) {
      // Every fourth round is killed during open (from round 3 on, so the store exists), the others while calls are in flight.
      const duringOpen = round % 4 === 3;
      const staleBefore = existsSync(lock);
      const r = await runChild(dir, round, !duringOpen, duringOpen ? 60 : 1200);
      for (const a of r.acks) acked.add(a);
      if (!duringOpen) expect(r.acks.length, `round ${round} acknowledged nothing`).toBeGreaterThan(0);
      if (staleBefore && r.pid !== undefined) childTookStaleLock++;

      // A killed owner leaves its lock file behind; the next open must see its pid is dead and take the store.
      if (r.pid !== undefined) {
        expect(readFileSync(lock, 'utf8')).toBe(String(r.pid));
        staleLocks++;
      }
      for (const a of r.acks) if (a.op === 'enc' || a.op === 'gdk') unchecked.add(a);
      // After rounds 1, 6 and 11 the next child, not this test, is the one to open over the stale lock.
      if (round % 5 === 1) continue;
      // The blobs acknowledged since the last check, and a sample of the earlier ones; every blob once more after the last round.
      const older = acked.sealed.filter((s) => !unchecked.has(s) && Math.random() < 0.05);
      const problems = await verify(dir, acked, [...unchecked, ...older]);
      expect(problems.slice(0, 10), `after round ${round} (${problems.length} problems)`).toEqual([]);
      expect(existsSync(lock)).toBe(false);
      unchecked = new Set();
    }
    expect(await verify(dir, acked, acked.sealed)).toEqual([]);
    expect(staleLocks).toBeGreaterThanOrEqual(6);
    expect(childTookStaleLock, 'a child opened the store over a dead owner\'s lock').toBeGreaterThan(0);
    for (const [op, n] of Object.entries(acked.counts)) expect(n, `acknowledged ${op} calls`).toBeGreaterThan(0);
    expect(Math.max(...acked.rotations.values()), 'some key was rotated more than once').toBeGreaterThan(1);
    // The rounds stop adding after 22 s; the margin is for a busy machine's slower rounds and checks.
  }, 120_000);
});
