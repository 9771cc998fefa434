export * from './crypto/index.js';
export { Keyward, type KeywardOptions } from './kms/keyward.js';
export * from './kms/errors.js';
export type {
  CreateKeyRequest, DecryptRequest, DecryptResponse, EncryptRequest, EncryptResponse, EncryptionAlgorithm, EncryptionContext,
  GenerateDataKeyPairRequest, GenerateDataKeyPairResponse, GenerateDataKeyRequest, GenerateDataKeyResponse, GrantListEntry, KeyMetadata,
  KeySpec, KeyState, KeyUsage, ReEncryptRequest, ReEncryptResponse, SignRequest, SignResponse, Tag, VerifyRequest, VerifyResponse,
} from './kms/types.js';
