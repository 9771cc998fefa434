// What every command module shares: the command shape, the parsed invocation, opening the store, output.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadHsmConfig } from '../hsm/config.js';
import type { HsmSetup } from '../hsm/cluster.js';
import { NotFoundException } from '../kms/errors.js';
import { Keyward } from '../kms/keyward.js';
import type { GlobalOptions, OptionSpec, Parsed } from './args.js';
import { checkPostgresUrl, explainPostgresError } from './postgres.js';
import { connectTimeoutOf } from '../store/postgres-url.js';

/** The engine's database file in a store directory (src/kms/keyward.ts). */
export const STORE_FILE = 'keyward.db';

export interface Invocation {
  /** The command as typed ('create-key', 'audit verify'), for messages. */
  command: string;
  global: GlobalOptions;
  values: Parsed['values'];
  positionals: string[];
}

export interface Command {
  name: string;
  options: OptionSpec;
  operands: { min: number; max: number; names?: string };
  /** What `keyward <command> --help` prints, for commands with more to say than the usage text. */
  help?: string;
  /** Resolves to the exit status. */
  run(inv: Invocation): Promise<number>;
}

/** Prints a line to stdout. */
export function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

/** Prints a value as one line of JSON (Dates as ISO strings, bytes as base64). */
export function sayJson(value: unknown): void {
  say(JSON.stringify(value, (_k, v: unknown) => (v instanceof Uint8Array ? Buffer.from(v).toString('base64') : v)));
}

/**
 * The store directory, resolved; NotFoundException when it holds no store. With --postgres the keys are in
 * the database and DIR holds only the unseal key, the lock and the credentials: it must exist (keyward init
 * --postgres made it, or the initializing node's unseal.key was copied into it).
 */
export function requireStore(g: GlobalOptions): string {
  const dir = resolve(g.dir);
  if (postgresUrl(g) !== undefined) {
    if (!existsSync(dir)) throw new NotFoundException(`no Keyward directory ${dir} for the PostgreSQL store (run keyward --postgres URL init, or copy the unseal.key of the node that did into DIR, or pass --dir)`);
    return dir;
  }
  if (!existsSync(join(dir, STORE_FILE))) throw new NotFoundException(`no Keyward store in ${dir} (run keyward init, or pass --dir)`);
  return dir;
}

/**
 * Keyward.open on `dir` with the store of the global options, a failure to reach its PostgreSQL database
 * named as such (PostgresConnectionError). The first connection waits at most the URL's connect_timeout
 * (default 10 s); with `boundEveryConnection` (one-shot commands) every one does, while keyward serve's
 * pool waits for connections as long as the system lets it, since under load it must not give up.
 */
export async function openKeyward(
  g: GlobalOptions, dir: string, opts: { create: boolean; maintenanceIntervalMs?: number; boundEveryConnection?: boolean },
): Promise<Keyward> {
  const { boundEveryConnection, ...rest } = opts;
  const so = storeOptions(g);
  const postgres = so.store?.postgres;
  const store = postgres !== undefined && boundEveryConnection
    ? { store: { postgres: { connectionString: postgres, connectionTimeoutMillis: connectTimeoutOf(postgres) } } } : {};
  try {
    return await Keyward.open({ dir, ...rest, ...so, ...store });
  } catch (e) {
    throw postgres !== undefined ? explainPostgresError(e, postgres) : e;
  }
}

/** Opens the existing store of --dir (and --postgres); a directory without one is NotFoundException (init creates it). */
export async function openStore(g: GlobalOptions): Promise<Keyward> {
  const dir = requireStore(g);
  return openKeyward(g, dir, { create: false, maintenanceIntervalMs: 0, boundEveryConnection: true });
}

/** The checked --postgres URL (or $KEYWARD_POSTGRES_URL), undefined for a store in DIR. */
export function postgresUrl(g: GlobalOptions): string | undefined {
  return g.postgres === undefined ? undefined : checkPostgresUrl(g.postgres);
}

/**
 * The Keyward.open options every command takes from the global options: the region; the HSM: the config
 * file of --hsm / $KEYWARD_HSM_CONFIG, else the environment alone when $KEYWARD_HSM_MODULE is set; and the
 * PostgreSQL database of --postgres / $KEYWARD_POSTGRES_URL.
 */
export function storeOptions(g: GlobalOptions, env: NodeJS.ProcessEnv = process.env): { region?: string; hsm?: HsmSetup; store?: { postgres: string } } {
  const hsm = g.hsm ?? (env.KEYWARD_HSM_MODULE ? loadHsmConfig({ env }) : undefined);
  const postgres = postgresUrl(g);
  return {
    ...(g.region !== undefined ? { region: g.region } : {}), ...(hsm !== undefined ? { hsm } : {}), ...(postgres !== undefined ? { store: { postgres } } : {}),
  };
}

/** Runs `fn` on the opened store and closes it whatever happens. */
export async function withStore<T>(g: GlobalOptions, fn: (kw: Keyward) => Promise<T>): Promise<T> {
  const kw = await openStore(g);
  try {
    return await fn(kw);
  } finally {
    await kw.close();
  }
}

/** `Name  value` lines, names padded to one column. */
export function table(rows: [string, string][]): string {
  const w = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join('\n');
}
