/** A ciphertext, tag or MAC failed verification. Carries no plaintext and no detail of what differed. */
export class AuthenticationError extends Error {
  override name = 'AuthenticationError';
  constructor(message = 'authentication failed') {
    super(message);
  }
}

/** Why a key was refused: its encoding, its curve, or its value. */
export type InvalidKeyCode = 'MALFORMED' | 'WRONG_CURVE' | 'NOT_ON_CURVE' | 'OUT_OF_RANGE' | 'MISMATCH';

/**
 * A key (public point, private scalar, SPKI/PKCS#8 DER, JWK or KeyObject) is malformed, for another
 * curve, not on the curve, out of range, or its halves do not belong together. `code` says which.
 */
export class InvalidKeyError extends Error {
  override name = 'InvalidKeyError';
  constructor(
    readonly code: InvalidKeyCode,
    message: string,
  ) {
    super(message);
  }
}

/**
 * An RSA-OAEP ciphertext could not be decrypted. Every cause (wrong length, out of range, bad padding,
 * wrong label, wrong key) gives this one error with one message, so a caller cannot become a padding
 * oracle (Manger, CRYPTO 2001; RFC 8017 §7.1.2 note).
 */
export class DecryptionError extends Error {
  override name = 'DecryptionError';
  constructor() {
    super('decryption error');
  }
}
