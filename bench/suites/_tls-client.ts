// The TLS bench's client, run in its own process (child_process.fork) so its handshake work does not
// share the terminator's event loop. The parent sends one job at a time and waits for the answer:
//   { op: 'handshakes', port, version, count, concurrency }  count new full handshakes (no resumption:
//       no session is offered), `concurrency` in flight; each connection is closed once secure
//   { op: 'bulk', port, tls, size }  one connection sends size random bytes and reads the echo back
//       (both directions at once), checking it; tls: through the terminator, else plain TCP
import { createHash, randomBytes } from 'node:crypto';
import net from 'node:net';
import tls from 'node:tls';

type Job =
  | { op: 'handshakes'; port: number; version: 'TLSv1.2' | 'TLSv1.3'; count: number; concurrency: number }
  | { op: 'bulk'; port: number; tls: boolean; size: number };

function handshake(port: number, version: 'TLSv1.2' | 'TLSv1.3'): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, minVersion: version, maxVersion: version, rejectUnauthorized: false, servername: 'localhost' }, () => {
      s.destroy();
      resolve();
    });
    s.once('error', reject);
  });
}

async function handshakes(j: Extract<Job, { op: 'handshakes' }>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < j.count) {
      next++;
      await handshake(j.port, j.version);
    }
  };
  await Promise.all(Array.from({ length: j.concurrency }, worker));
}

const payloads = new Map<number, { data: Buffer; digest: string }>();

function bulk(j: Extract<Job, { op: 'bulk' }>): Promise<void> {
  let p = payloads.get(j.size);
  if (!p) {
    const data = randomBytes(j.size);
    p = { data, digest: createHash('sha256').update(data).digest('hex') };
    payloads.set(j.size, p);
  }
  const { data, digest } = p;
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    let got = 0;
    const onConnect = () => s.end(data);
    const s: net.Socket = j.tls
      ? tls.connect({ host: '127.0.0.1', port: j.port, rejectUnauthorized: false, servername: 'localhost' }, onConnect)
      : net.connect({ host: '127.0.0.1', port: j.port }, onConnect);
    s.on('data', (d: Buffer) => {
      got += d.length;
      h.update(d);
    });
    s.once('end', () => {
      const d = h.digest('hex');
      if (got !== data.length || d !== digest) reject(new Error(`echo of ${data.length} bytes came back as ${got} bytes with another digest`));
      else resolve();
    });
    s.once('error', reject);
  });
}

process.on('message', (j: Job) => {
  const work = j.op === 'handshakes' ? handshakes(j) : bulk(j);
  work.then(() => process.send!({ ok: true }), (e: Error) => process.send!({ ok: false, error: e.message }));
});
