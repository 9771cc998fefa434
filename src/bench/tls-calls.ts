// The TLS client's calls, run in the bench client process (client.ts): one new full handshake (no
// session offered, so no resumption), and a bulk echo through one connection checked byte for byte.
import { createHash, randomBytes } from 'node:crypto';
import net from 'node:net';
import tls from 'node:tls';

export type TlsVersion = 'TLSv1.2' | 'TLSv1.3';

/** One handshake with the server on the port, closed once secure. */
export function handshake(port: number, version: TlsVersion): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, minVersion: version, maxVersion: version, rejectUnauthorized: false, servername: 'localhost' }, () => {
      s.destroy();
      resolve();
    });
    s.once('error', reject);
  });
}

/** The DER SPKI of the certificate a handshake with the port presents. */
export function peerSpki(port: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, servername: 'localhost' }, () => {
      resolve(s.getPeerX509Certificate()!.publicKey.export({ format: 'der', type: 'spki' }));
      s.destroy();
    });
    s.once('error', reject);
  });
}

const payloads = new Map<number, { data: Buffer; digest: string }>();

/**
 * Sends `size` random bytes over one connection (TLS, or plain TCP) and reads the echo back at the same
 * time; rejects unless the echo is the same bytes (length and SHA-256).
 */
export function bulk(port: number, overTls: boolean, size: number): Promise<void> {
  let p = payloads.get(size);
  if (!p) {
    const data = randomBytes(size);
    p = { data, digest: createHash('sha256').update(data).digest('hex') };
    payloads.set(size, p);
  }
  const { data, digest } = p;
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    let got = 0;
    const onConnect = () => s.end(data);
    const s: net.Socket = overTls
      ? tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, servername: 'localhost' }, onConnect)
      : net.connect({ host: '127.0.0.1', port }, onConnect);
    s.on('data', (d: Buffer) => {
      got += d.length;
      h.update(d);
    });
    s.once('end', () => {
      const d = h.digest('hex');
      if (got !== data.length || d !== digest) reject(new Error(`the echo of ${data.length} bytes came back as ${got} bytes with another digest`));
      else resolve();
    });
    s.once('error', reject);
  });
}
