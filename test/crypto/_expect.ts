// Assertions shared by the key-format tests.
import { expect } from 'vitest';
import { InvalidKeyError, type InvalidKeyCode } from '../../src/crypto/index.js';

/** f must throw an InvalidKeyError with this code. */
export function expectInvalidKey(f: () => unknown, code: InvalidKeyCode): void {
  let caught: unknown;
  try {
    f();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(InvalidKeyError);
  expect((caught as InvalidKeyError).code).toBe(code);
}
