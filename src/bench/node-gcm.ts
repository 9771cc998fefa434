// node:crypto's AES-256-GCM (OpenSSL) under one key, IV and AAD: the reference every benchmark of AES-GCM
// checks its implementations against and times beside them.
import { createCipheriv, createDecipheriv } from 'node:crypto';

const TAG = 16;

export interface NodeGcm {
  /** ciphertext ‖ tag */
  seal(msg: Uint8Array): Uint8Array;
  /** The plaintext of ciphertext ‖ tag; throws when the tag does not match. */
  open(sealed: Uint8Array): Uint8Array;
}

export function nodeGcm(key: Uint8Array, iv: Uint8Array, aad: Uint8Array): NodeGcm {
  return {
    seal(msg) {
      const c = createCipheriv('aes-256-gcm', key, iv);
      c.setAAD(aad);
      return Buffer.concat([c.update(msg), c.final(), c.getAuthTag()]);
    },
    open(sealed) {
      const d = createDecipheriv('aes-256-gcm', key, iv);
      d.setAAD(aad);
      d.setAuthTag(sealed.subarray(sealed.length - TAG));
      return Buffer.concat([d.update(sealed.subarray(0, sealed.length - TAG)), d.final()]);
    },
  };
}
