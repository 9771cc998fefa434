// The ClientHello's server name, read from real node:tls ClientHellos (TLS 1.2 and 1.3 offers); every
// truncation and a non-TLS first record give undefined, never a throw or a wrong name.
import net from 'node:net';
import tls from 'node:tls';
import { describe, expect, it } from 'vitest';
import { serverNameOf } from '../../src/tls/client-hello.js';

/** The first bytes a node:tls client sends (its ClientHello record). */
async function clientHello(o: tls.ConnectionOptions): Promise<Buffer> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    return await new Promise<Buffer>((resolve) => {
      server.once('connection', (s) => s.once('data', (d: Buffer) => {
        resolve(d);
        s.destroy();
      }));
      tls.connect({ host: '127.0.0.1', port: (server.address() as net.AddressInfo).port, ...o }).on('error', () => undefined);
    });
  } finally {
    server.close();
  }
}

describe('serverNameOf', () => {
  it('reads the host name of TLS 1.3 and 1.2 ClientHellos, and none when no SNI is sent', async () => {
    expect(serverNameOf(await clientHello({ servername: 'www.example.test' }))).toBe('www.example.test');
    expect(serverNameOf(await clientHello({ servername: 'a.b', maxVersion: 'TLSv1.2' }))).toBe('a.b');
    expect(serverNameOf(await clientHello({}))).toBeUndefined(); // an IP address host sends no SNI
  });

  it('every truncation of a ClientHello gives undefined or the whole name, and non-handshake bytes give undefined', async () => {
    const hello = await clientHello({ servername: 'truncated.example.test' });
    for (let n = 0; n < hello.length; n++) {
      const got = serverNameOf(hello.subarray(0, n));
      if (got !== undefined) expect(got).toBe('truncated.example.test');
    }
    expect(serverNameOf(Buffer.from('GET / HTTP/1.1\r\n\r\n'))).toBeUndefined();
    const notHello = Buffer.from(hello);
    notHello[5] = 2; // a ServerHello's handshake type
    expect(serverNameOf(notHello)).toBeUndefined();
  });
});
