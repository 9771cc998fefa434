// keyward/crypto: the software crypto core (WASM), one line per primitive module.
export { AuthenticationError } from './errors.js';
export type { HashName } from './_validate.js';
export { sha256, sha384, sha512, createHash, type Hash } from './sha2.js';
export { hmac, hmacVerify, createHmac, createHmacKey, type Hmac, type HmacKey } from './hmac.js';
export { hkdf, hkdfExtract, hkdfExpand } from './hkdf.js';
export { aesGcm, type GcmEncryptor, type GcmDecryptor } from './aes-gcm.js';
export { InvalidKeyError, type InvalidKeyCode } from './errors.js';
export { ecdsa, type EcKeyPair, type SignOptions, type VerifyOptions, type SignatureFormat } from './ecdsa.js';
export { ecdh } from './ecdh.js';
export { ecKeys, type CurveName, type EcJwk, type KeyInput } from './_ec-keys.js';
export { selfTest, type SelfTestResult } from './selftest.js';
export { DecryptionError } from './errors.js';
export {
  rsa, rsaKeys, type RsaBits, type RsaHashName, type RsaJwk, type RsaKeyInput, type RsaKeyPair, type RsaOaepParams, type RsaSignParams, type RsaVerifyParams,
} from './rsa.js';
export type {
  Provider, KeyHandle, KeyPairBytes, ProviderKeySpec, SecretKeySpec, AsymmetricKeySpec, SigningAlgorithm, AsymmetricEncryptionAlgorithm, MacAlgorithm, MessageType,
} from './provider.js';
export { WasmProvider } from './wasm-provider.js';
export { NodeCryptoProvider } from './node-provider.js';
