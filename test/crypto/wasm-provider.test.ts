// WasmProvider (src/crypto/wasm-provider.ts) against the shared Provider conformance suite.
import { WasmProvider } from '../../src/crypto/index.js';
import { providerConformance } from './provider-conformance.js';

providerConformance('WasmProvider', () => new WasmProvider());
