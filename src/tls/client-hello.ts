// The server name a TLS ClientHello asks for (RFC 6066 §3), read before the handshake starts so the
// terminator can give the connection exactly one certificate's context. Node's SNICallback instead adds
// the chosen context's certificate to the default one's (a slot per key type), so an RSA certificate for
// a name loses to an ECDSA default certificate with clients that prefer ECDSA.
import type { Socket } from 'node:net';

const MAX_RECORD = 16384 + 256;

/** The host_name of the server_name extension of the ClientHello in one TLS record, or undefined. */
export function serverNameOf(record: Uint8Array): string | undefined {
  const b = record;
  if (b.length < 5 || b[0] !== 22) return undefined; // not a handshake record
  const end = Math.min(b.length, 5 + ((b[3]! << 8) | b[4]!));
  let p = 5;
  const need = (n: number) => p + n <= end;
  if (!need(4) || b[p] !== 1) return undefined; // not a ClientHello
  p += 4 + 2 + 32; // handshake header, legacy_version, random
  if (!need(1)) return undefined;
  p += 1 + b[p]!; // legacy_session_id
  if (!need(2)) return undefined;
  p += 2 + ((b[p]! << 8) | b[p + 1]!); // cipher_suites
  if (!need(1)) return undefined;
  p += 1 + b[p]!; // legacy_compression_methods
  if (!need(2)) return undefined;
  const extEnd = Math.min(end, p + 2 + ((b[p]! << 8) | b[p + 1]!));
  p += 2;
  while (p + 4 <= extEnd) {
    const type = (b[p]! << 8) | b[p + 1]!;
    const len = (b[p + 2]! << 8) | b[p + 3]!;
    p += 4;
    if (p + len > extEnd) return undefined;
    if (type === 0) {
      // ServerNameList: length, then entries of name_type (0 = host_name) and a length-prefixed name.
      let q = p + 2;
      while (q + 3 <= p + len) {
        const nameType = b[q]!;
        const nameLen = (b[q + 1]! << 8) | b[q + 2]!;
        q += 3;
        if (q + nameLen > p + len) return undefined;
        if (nameType === 0) return Buffer.from(b.subarray(q, q + nameLen)).toString('latin1');
        q += nameLen;
      }
      return undefined;
    }
    p += len;
  }
  return undefined;
}

/**
 * Reads the first TLS record from the socket (or what arrives before it ends), puts it back for the TLS
 * layer to read, and resolves with the requested server name. Rejects if nothing arrives within timeoutMs.
 */
export function peekServerName(socket: Socket, timeoutMs: number): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let have = 0;
    const finish = (err?: Error) => {
      clearTimeout(timer);
      socket.off('data', onData).off('end', onEnd).off('error', onError);
      socket.pause();
      const head = Buffer.concat(chunks);
      if (head.length > 0) socket.unshift(head);
      if (err) reject(err);
      else resolve(serverNameOf(head));
    };
    const onData = (d: Buffer) => {
      chunks.push(d);
      have += d.length;
      const head = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
      const want = head.length >= 5 ? 5 + ((head[3]! << 8) | head[4]!) : Infinity;
      if (have >= Math.min(want, MAX_RECORD) || (head.length >= 1 && head[0] !== 22)) finish();
    };
    const onEnd = () => finish();
    const onError = (e: Error) => finish(e);
    const timer = setTimeout(() => finish(new Error(`no ClientHello within ${timeoutMs} ms`)), timeoutMs);
    socket.on('data', onData).once('end', onEnd).once('error', onError);
  });
}
