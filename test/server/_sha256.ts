// node:crypto SHA-256 / HMAC-SHA-256 in the shape the AWS SDK's SigV4 signer takes (its sha256 option),
// shared by the server test harnesses: the oracle signs, Keyward verifies.
import { createHash, createHmac } from 'node:crypto';

export class NodeSha256 {
  private h: ReturnType<typeof createHash> | ReturnType<typeof createHmac>;
  constructor(private readonly secret?: string | Uint8Array) {
    this.h = secret === undefined ? createHash('sha256') : createHmac('sha256', secret);
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
