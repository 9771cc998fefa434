// A private, throwaway PostgreSQL server, for the test files and the load script (bench/load-kms.ts) alike:
// initdb into a temp dir, pg_ctl start on a unix socket in that dir and a free TCP port on loopback, one
// database, stopped and removed by stop(). As root the server runs as the `postgres` user (initdb refuses
// root), the temp dir chowned to it. Lives under bench/ so `npm run build` compiles it into dist for the
// load script; the tests import it from here too (test/store/_postgres.ts).
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface ThrowawayPostgres {
  /** A connection URL for the first database (keyward_test). */
  url: string;
  /** A URL for another database on the same server (created on first use). */
  database(name: string): string;
  /** Stops the server and removes its files; a second call does nothing. */
  stop(): void;
}

function binDir(): string {
  let versions: string[];
  try {
    versions = readdirSync('/usr/lib/postgresql').filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a));
  } catch {
    versions = [];
  }
  if (versions.length === 0) throw new Error('PostgreSQL server binaries not found under /usr/lib/postgresql: run scripts/system-deps.sh');
  return join('/usr/lib/postgresql', versions[0]!, 'bin');
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

export async function startPostgres(): Promise<ThrowawayPostgres> {
  const bin = binDir();
  const root = process.getuid?.() === 0;
  const dir = mkdtempSync(join(tmpdir(), 'keyward-pg-'));
  const data = join(dir, 'data');
  let user = process.env.USER ?? 'postgres';
  if (root) {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    chownSync(dir, uid, gid);
    chmodSync(dir, 0o700);
    user = 'postgres';
  }
  const run = (cmd: string, args: string[]): string =>
    root ? execFileSync('runuser', ['-u', 'postgres', '--', join(bin, cmd), ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
      : execFileSync(join(bin, cmd), args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  let started = false;
  let stopped = false;
  const stop = (): void => {
    if (stopped) return;
    stopped = true;
    try {
      if (started) run('pg_ctl', ['-D', data, '-m', 'fast', '-w', 'stop']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
  try {
    const port = await freePort();
    run('initdb', ['-D', data, '-A', 'trust', '-U', user, '--no-sync', '-E', 'UTF8']);
    // fsync stays on: the store's durability claim is tested, and its throughput measured, against a server that syncs.
    run('pg_ctl', ['-D', data, '-l', join(dir, 'log'), '-w', '-t', '30', '-o', `-k ${dir} -p ${port} -h 127.0.0.1 -c max_connections=200`, 'start']);
    started = true;
    const created = new Set<string>(['postgres']);
    const database = (name: string): string => {
      if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`bad database name ${name}`);
      if (!created.has(name)) {
        run('createdb', ['-h', dir, '-p', String(port), '-U', user, name]);
        created.add(name);
      }
      return `postgresql://${user}@127.0.0.1:${port}/${name}`;
    };
    return { url: database('keyward_test'), database, stop };
  } catch (err) {
    stop();
    throw err;
  }
}
