// The server test harnesses' SHA-256 for the SDK's SigV4 signer: the oracle signs, Keyward verifies.
export { NodeSha256 } from '../../bench/node-sha256.js';
