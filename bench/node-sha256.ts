// node:crypto SHA-256 / HMAC-SHA-256 in the shape the AWS SDK's SigV4 signer takes (its sha256 option),
// for the load script and the server tests: the signer hashes with OpenSSL, Keyward verifies with its own.
import { createHash, createHmac } from 'node:crypto';

export class NodeSha256 {
  private h: ReturnType<typeof createHash> | ReturnType<typeof createHmac>;
  private readonly secret: Buffer | undefined;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.secret = secret === undefined ? undefined
      : typeof secret === 'string' ? Buffer.from(secret, 'utf8')
        : ArrayBuffer.isView(secret) ? Buffer.from(secret.buffer, secret.byteOffset, secret.byteLength) : Buffer.from(secret);
    this.h = this.secret === undefined ? createHash('sha256') : createHmac('sha256', this.secret);
  }
  update(data: string | Uint8Array): void {
    this.h.update(data);
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.h.digest());
  }
  reset(): void {
    this.h = this.secret === undefined ? createHash('sha256') : createHmac('sha256', this.secret);
  }
}
