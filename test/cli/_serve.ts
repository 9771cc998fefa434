// Long-running commands of the built CLI (keyward serve, keyward tls): spawned as a user runs them, awaited
// until they announce themselves on stderr, and killed after each test that leaves one running.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, watch } from 'node:fs';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import { BIN, cliEnv, ROOT } from './_cli.js';

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Date.now() when the process exited. */
  at: number;
}

export interface Started {
  child: ChildProcess;
  /** stdout so far ('' when it is ignored). */
  stdout: () => string;
  /** stderr so far. */
  stderr: () => string;
  exited: Promise<Exit>;
}

export interface Running extends Started {
  /** The match of the awaited pattern in stderr. */
  match: RegExpExecArray;
  /** Date.now() when the pattern was seen. */
  matchedAt: number;
}

export interface StartOptions {
  /** Variables added to an environment without KEYWARD_* ones. */
  env?: Record<string, string>;
  /** 'pipe': collect stdout (the access log); 'ignore': discard it (default). */
  stdout?: 'pipe' | 'ignore';
}

export interface CliSpawner {
  /** Spawns `keyward ARGS` and returns at once. */
  spawn(args: string[], opts?: StartOptions): Started;
  /** Spawns `keyward ARGS`; resolves once its stderr matches `match`, rejects with that stderr if it exits first. */
  ready(args: string[], opts: StartOptions & { match: RegExp }): Promise<Running>;
}

/**
 * Resolves once a keyward process takes the lock file of the store in `dir`, which it does as it starts
 * opening the store, before keyward serve listens. Call it before spawning the process.
 */
export function storeLocked(dir: string): Promise<void> {
  const watcher = watch(dir);
  return new Promise<void>((resolve, reject) => {
    watcher.on('error', reject);
    watcher.on('change', () => {
      if (!existsSync(join(dir, 'keyward.lock'))) return;
      watcher.close();
      resolve();
    });
  });
}

/** Spawns the built CLI; processes still running after a test are killed (SIGKILL). */
export function cliSpawner(): CliSpawner {
  const children: ChildProcess[] = [];
  afterEach(() => {
    for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  });
  const start = (args: string[], opts: StartOptions = {}): Started => {
    const child = spawn(process.execPath, [BIN, ...args], { env: cliEnv(opts.env), cwd: ROOT, stdio: ['ignore', opts.stdout ?? 'ignore', 'pipe'] });
    children.push(child);
    let out = '';
    let err = '';
    child.stdout?.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
    const exited = new Promise<Exit>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal, at: Date.now() })));
    return { child, stdout: () => out, stderr: () => err, exited };
  };
  return {
    spawn: start,
    ready: (args, opts) => {
      const s = start(args, opts);
      return new Promise((resolve, reject) => {
        // Registered after start's listener, so stderr() already holds the chunk.
        s.child.stderr!.on('data', () => {
          const match = opts.match.exec(s.stderr());
          if (match) resolve({ ...s, match, matchedAt: Date.now() });
        });
        void s.exited.then(({ code, signal }) => reject(new Error(`keyward ${args.join(' ')} exited (${code ?? signal}) before printing ${opts.match}: ${s.stderr()}`)));
      });
    },
  };
}
