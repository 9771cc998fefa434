// The Provider seam: everything above src/crypto and src/hsm reaches key material only through this
// interface, so the software core (WasmProvider), OpenSSL (NodeCryptoProvider, the test oracle and a
// benchmark column) and an HSM (Pkcs11Provider) are interchangeable. Keys are opaque handles: a
// software provider keeps bytes in this process, an HSM keeps a non-extractable object and a handle.
// Every method is async because an HSM answers from a native thread.

/** Secret key specs a provider holds as one symmetric key. */
export type SecretKeySpec = 'AES_256' | 'HMAC_256' | 'HMAC_384' | 'HMAC_512';

/** Asymmetric key specs (AWS KMS names). */
export type AsymmetricKeySpec =
  | 'RSA_2048' | 'RSA_3072' | 'RSA_4096'
  | 'ECC_NIST_P256' | 'ECC_NIST_P384' | 'ECC_NIST_P521' | 'ECC_SECG_P256K1';

export type ProviderKeySpec = SecretKeySpec | AsymmetricKeySpec;

/** AWS KMS signing algorithm names. ECDSA signatures are DER (as AWS KMS returns them). */
export type SigningAlgorithm =
  | 'RSASSA_PSS_SHA_256' | 'RSASSA_PSS_SHA_384' | 'RSASSA_PSS_SHA_512'
  | 'RSASSA_PKCS1_V1_5_SHA_256' | 'RSASSA_PKCS1_V1_5_SHA_384' | 'RSASSA_PKCS1_V1_5_SHA_512'
  | 'ECDSA_SHA_256' | 'ECDSA_SHA_384' | 'ECDSA_SHA_512';

/** AWS KMS asymmetric encryption algorithm names (RSA only). */
export type AsymmetricEncryptionAlgorithm = 'RSAES_OAEP_SHA_1' | 'RSAES_OAEP_SHA_256';

/** AWS KMS MAC algorithm names. */
export type MacAlgorithm = 'HMAC_SHA_256' | 'HMAC_SHA_384' | 'HMAC_SHA_512';

/** RAW: the provider hashes the message. DIGEST: the message is already the digest of the algorithm's hash. */
export type MessageType = 'RAW' | 'DIGEST';

/**
 * An opaque reference to a key inside one provider. Only the provider that made it may use it; other
 * providers refuse it with a TypeError.
 */
export interface KeyHandle {
  readonly provider: string;
  readonly spec: ProviderKeySpec;
}

/** A key pair made outside any handle, for GenerateDataKeyPair: PKCS#8 DER private key, SPKI DER public key. */
export interface KeyPairBytes {
  privateKey: Uint8Array;
  publicKey: Uint8Array;
}

export interface Provider {
  /** 'wasm', 'node' or 'pkcs11'; stamped on every handle the provider makes. */
  readonly name: string;

  /** length bytes from the platform CSPRNG (or the HSM's generator). */
  random(length: number): Promise<Uint8Array>;

  /** A new key of spec, generated inside the provider. */
  generateKey(spec: ProviderKeySpec): Promise<KeyHandle>;
  /**
   * A handle for material given in the clear: 32 bytes for AES_256; 32/48/64 bytes for HMAC_256/384/512
   * (AWS KMS sizes); PKCS#8 DER for asymmetric specs. The caller still owns and wipes its copy.
   * @throws RangeError for a wrong length; InvalidKeyError for malformed or mismatched asymmetric keys
   */
  importKey(spec: ProviderKeySpec, material: Uint8Array): Promise<KeyHandle>;
  /** Releases a handle: zeroes software material, destroys a session object. Using it afterwards throws. */
  destroyKey(key: KeyHandle): Promise<void>;

  /**
   * AES-256-GCM key wrap under an AES_256 wrapping key: iv (12, random) ‖ ciphertext ‖ tag (16), with aad
   * authenticated. The wrapped form of an asymmetric key is its PKCS#8 DER.
   */
  wrapKey(wrappingKey: KeyHandle, key: KeyHandle, aad: Uint8Array): Promise<Uint8Array>;
  /** @throws AuthenticationError when the token or aad was altered, or the wrapping key is not the one used */
  unwrapKey(wrappingKey: KeyHandle, spec: ProviderKeySpec, token: Uint8Array, aad: Uint8Array): Promise<KeyHandle>;
  /** HKDF-SHA256(key material as IKM, salt, info) to a new AES_256 key (per-call derived keys). */
  deriveKey(key: KeyHandle, salt: Uint8Array, info: Uint8Array): Promise<KeyHandle>;

  /** AES-256-GCM with a caller-chosen 12-byte IV: ciphertext ‖ 16-byte tag. */
  encrypt(key: KeyHandle, iv: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Promise<Uint8Array>;
  /** @throws AuthenticationError; never returns unauthenticated plaintext */
  decrypt(key: KeyHandle, iv: Uint8Array, ciphertext: Uint8Array, aad: Uint8Array): Promise<Uint8Array>;

  /** SPKI DER of an asymmetric key. */
  publicKey(key: KeyHandle): Promise<Uint8Array>;
  /** A signature by an asymmetric key; for DIGEST the message must be exactly the hash's length. */
  sign(key: KeyHandle, algorithm: SigningAlgorithm, message: Uint8Array, messageType: MessageType): Promise<Uint8Array>;
  /** false for any signature that does not verify, including malformed ones. */
  verify(key: KeyHandle, algorithm: SigningAlgorithm, message: Uint8Array, messageType: MessageType, signature: Uint8Array): Promise<boolean>;
  /** RSA-OAEP (MGF1 with the same hash) under an RSA key's public half. */
  encryptAsymmetric(key: KeyHandle, algorithm: AsymmetricEncryptionAlgorithm, plaintext: Uint8Array): Promise<Uint8Array>;
  /** @throws DecryptionError, the same for every cause */
  decryptAsymmetric(key: KeyHandle, algorithm: AsymmetricEncryptionAlgorithm, ciphertext: Uint8Array): Promise<Uint8Array>;

  /** HMAC of message under an HMAC_* key. */
  mac(key: KeyHandle, algorithm: MacAlgorithm, message: Uint8Array): Promise<Uint8Array>;
  /** Constant-time comparison of the full-length MAC. */
  verifyMac(key: KeyHandle, algorithm: MacAlgorithm, message: Uint8Array, mac: Uint8Array): Promise<boolean>;

  /** A fresh key pair returned as bytes (GenerateDataKeyPair hands the private key to the caller). */
  generateKeyPairBytes(spec: AsymmetricKeySpec): Promise<KeyPairBytes>;
}
