/** A ciphertext, tag or MAC failed verification. Carries no plaintext and no detail of what differed. */
export class AuthenticationError extends Error {
  override name = 'AuthenticationError';
  constructor(message = 'authentication failed') {
    super(message);
  }
}
