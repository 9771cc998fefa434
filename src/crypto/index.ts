// keyward/crypto: the software crypto core (WASM), one line per primitive module.
export { AuthenticationError } from './errors.js';
export type { HashName } from './_validate.js';
