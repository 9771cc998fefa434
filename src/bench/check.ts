// The cross-check's verdict, shared by every suite of `keyward bench`: a provider whose answer disagrees
// with the reference is reported with a CrossCheckError and never timed.

/** A provider gave an answer that disagrees with the reference; it is reported, not timed. */
export class CrossCheckError extends Error {
  override name = 'CrossCheckError';
}

export const same = (a: Uint8Array, b: Uint8Array): boolean => Buffer.from(a.buffer, a.byteOffset, a.length).equals(b);

/** The row names the provider; the message says what it got wrong. */
export const wrong = (op: string, what: string): CrossCheckError => new CrossCheckError(`${op}: ${what}, unlike node:crypto (OpenSSL); not timed`);
