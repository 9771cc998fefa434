// Shared by the TLS tests: an echo backend, a TLS client that checks the server's certificate, and a
// round trip of random bytes through the terminator.
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import tls from 'node:tls';
import { echoBackend as benchEchoBackend } from '../../src/bench/tls.js';

/** The bench's echo backend (src/bench/tls.ts), also collecting the first chunk each connection read. */
export async function echoBackend(): Promise<{ port: number; firstChunks: Buffer[]; close: () => Promise<void> }> {
  const firstChunks: Buffer[] = [];
  const echo = await benchEchoBackend();
  echo.server.on('connection', (s) => s.once('data', (d) => firstChunks.push(Buffer.from(d))));
  return { port: echo.port, firstChunks, close: echo.close };
}

export interface Connected {
  socket: tls.TLSSocket;
  protocol: string | null;
  /** DER SPKI of the certificate the server presented. */
  peerSpki: Buffer;
}

/** A TLS connection that verifies the server's chain against `ca` (the self-signed certificates) and its name against `servername`. */
export function connect(port: number, ca: string, o: { servername?: string; version?: 'TLSv1.2' | 'TLSv1.3'; anyName?: boolean } = {}): Promise<Connected> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({
      host: '127.0.0.1', port, ca, ...(o.servername ? { servername: o.servername } : {}),
      // The chain is still verified against ca; anyName skips only the host name check (SNI tests use other names).
      ...(!o.servername || o.anyName ? { checkServerIdentity: () => undefined } : {}),
      ...(o.version ? { minVersion: o.version, maxVersion: o.version } : {}),
    }, () => {
      const spki = socket.getPeerX509Certificate()!.publicKey.export({ format: 'der', type: 'spki' });
      resolve({ socket, protocol: socket.getProtocol(), peerSpki: spki });
    });
    socket.once('error', reject);
  });
}

/** Writes `bytes` and half-closes; resolves with the sha256 of everything read until the server's end. */
export function roundTrip(socket: tls.TLSSocket, bytes: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    socket.on('data', (d: Buffer) => h.update(d));
    socket.once('end', () => resolve(h.digest('hex')));
    socket.once('error', reject);
    socket.end(bytes);
  });
}

export const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** Opens `n` connections at once, each sending its own `size` random bytes; true when every echo is intact. */
export async function concurrentEchoes(port: number, ca: string, n: number, size: number, o: { servername?: string } = {}): Promise<boolean> {
  const results = await Promise.all(Array.from({ length: n }, async () => {
    const data = randomBytes(size);
    const c = await connect(port, ca, o);
    return (await roundTrip(c.socket, data)) === sha256(data);
  }));
  return results.every(Boolean);
}

/** Runs `openssl s_client` against the port (stdin closed at once) and returns its output. */
export function sClient(port: number, args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const p = spawn('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (out += d.toString()));
    p.stdin.end('hello from s_client\n');
    p.on('close', (code) => resolve({ code, out }));
  });
}
