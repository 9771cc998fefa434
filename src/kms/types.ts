// AWS KMS request and response shapes (PascalCase fields, Uint8Array blobs, Date timestamps), so the
// JSON server maps the wire protocol one to one. Only the fields Keyward implements are declared.
import type { AsymmetricKeySpec, MacAlgorithm, SigningAlgorithm } from '../crypto/provider.js';

export type KeySpec = 'SYMMETRIC_DEFAULT' | AsymmetricKeySpec | 'HMAC_256' | 'HMAC_384' | 'HMAC_512';
export type KeyUsage = 'ENCRYPT_DECRYPT' | 'SIGN_VERIFY' | 'GENERATE_VERIFY_MAC';
export type KeyState = 'Enabled' | 'Disabled' | 'PendingDeletion' | 'PendingImport' | 'PendingReplicaDeletion' | 'Unavailable';
/** AWS_CLOUDHSM: the backing key is a non-extractable token key in the engine's HSM (or HSM cluster). */
export type Origin = 'AWS_KMS' | 'EXTERNAL' | 'AWS_CLOUDHSM';
export type EncryptionAlgorithm = 'SYMMETRIC_DEFAULT' | 'RSAES_OAEP_SHA_1' | 'RSAES_OAEP_SHA_256';
export type EncryptionContext = Record<string, string>;
export type { MacAlgorithm, SigningAlgorithm };

export interface Tag {
  TagKey: string;
  TagValue: string;
}

export interface MultiRegionKey {
  Arn: string;
  Region: string;
}

export interface MultiRegionConfiguration {
  MultiRegionKeyType: 'PRIMARY' | 'REPLICA';
  PrimaryKey: MultiRegionKey;
  ReplicaKeys: MultiRegionKey[];
}

export interface KeyMetadata {
  AWSAccountId: string;
  KeyId: string;
  Arn: string;
  CreationDate: Date;
  Enabled: boolean;
  Description: string;
  KeyUsage: KeyUsage;
  KeyState: KeyState;
  DeletionDate?: Date;
  ValidTo?: Date;
  Origin: Origin;
  KeyManager: 'CUSTOMER';
  CustomerMasterKeySpec: KeySpec;
  KeySpec: KeySpec;
  EncryptionAlgorithms?: EncryptionAlgorithm[];
  SigningAlgorithms?: SigningAlgorithm[];
  MacAlgorithms?: MacAlgorithm[];
  MultiRegion: boolean;
  MultiRegionConfiguration?: MultiRegionConfiguration;
  PendingDeletionWindowInDays?: number;
  ExpirationModel?: 'KEY_MATERIAL_EXPIRES' | 'KEY_MATERIAL_DOES_NOT_EXPIRE';
}

export interface CreateKeyRequest {
  Policy?: string;
  Description?: string;
  KeyUsage?: KeyUsage;
  KeySpec?: KeySpec;
  CustomerMasterKeySpec?: KeySpec;
  Origin?: Origin;
  MultiRegion?: boolean;
  Tags?: Tag[];
  BypassPolicyLockoutSafetyCheck?: boolean;
}
export interface KeyIdRequest {
  KeyId: string;
}
export interface ListRequest {
  Limit?: number;
  Marker?: string;
}
export interface ListKeysResponse {
  Keys: { KeyId: string; KeyArn: string }[];
  Truncated: boolean;
  NextMarker?: string;
}
export interface ScheduleKeyDeletionRequest extends KeyIdRequest {
  PendingWindowInDays?: number;
}
export interface ScheduleKeyDeletionResponse {
  KeyId: string;
  DeletionDate: Date;
  KeyState: KeyState;
  PendingWindowInDays: number;
}

export interface EncryptRequest {
  KeyId: string;
  Plaintext: Uint8Array;
  EncryptionContext?: EncryptionContext;
  EncryptionAlgorithm?: EncryptionAlgorithm;
  GrantTokens?: string[];
}
export interface EncryptResponse {
  CiphertextBlob: Uint8Array;
  KeyId: string;
  EncryptionAlgorithm: EncryptionAlgorithm;
}
export interface DecryptRequest {
  CiphertextBlob: Uint8Array;
  KeyId?: string;
  EncryptionContext?: EncryptionContext;
  EncryptionAlgorithm?: EncryptionAlgorithm;
  GrantTokens?: string[];
}
export interface DecryptResponse {
  KeyId: string;
  Plaintext: Uint8Array;
  EncryptionAlgorithm: EncryptionAlgorithm;
}
export interface ReEncryptRequest {
  CiphertextBlob: Uint8Array;
  SourceEncryptionContext?: EncryptionContext;
  SourceKeyId?: string;
  DestinationKeyId: string;
  DestinationEncryptionContext?: EncryptionContext;
  SourceEncryptionAlgorithm?: EncryptionAlgorithm;
  DestinationEncryptionAlgorithm?: EncryptionAlgorithm;
  GrantTokens?: string[];
}
export interface ReEncryptResponse {
  CiphertextBlob: Uint8Array;
  SourceKeyId: string;
  KeyId: string;
  SourceEncryptionAlgorithm: EncryptionAlgorithm;
  DestinationEncryptionAlgorithm: EncryptionAlgorithm;
}
export interface GenerateDataKeyRequest {
  KeyId: string;
  KeySpec?: 'AES_128' | 'AES_256';
  NumberOfBytes?: number;
  EncryptionContext?: EncryptionContext;
  GrantTokens?: string[];
}
export interface GenerateDataKeyResponse {
  CiphertextBlob: Uint8Array;
  Plaintext: Uint8Array;
  KeyId: string;
}
export type GenerateDataKeyWithoutPlaintextResponse = Omit<GenerateDataKeyResponse, 'Plaintext'>;
export interface GenerateDataKeyPairRequest {
  KeyId: string;
  KeyPairSpec: AsymmetricKeySpec;
  EncryptionContext?: EncryptionContext;
  GrantTokens?: string[];
}
export interface GenerateDataKeyPairResponse {
  PrivateKeyCiphertextBlob: Uint8Array;
  PrivateKeyPlaintext: Uint8Array;
  PublicKey: Uint8Array;
  KeyId: string;
  KeyPairSpec: AsymmetricKeySpec;
}
export type GenerateDataKeyPairWithoutPlaintextResponse = Omit<GenerateDataKeyPairResponse, 'PrivateKeyPlaintext'>;

export type MessageType = 'RAW' | 'DIGEST';
export interface SignRequest {
  KeyId: string;
  Message: Uint8Array;
  MessageType?: MessageType;
  SigningAlgorithm: SigningAlgorithm;
  GrantTokens?: string[];
}
export interface SignResponse {
  KeyId: string;
  Signature: Uint8Array;
  SigningAlgorithm: SigningAlgorithm;
}
export interface VerifyRequest extends SignRequest {
  Signature: Uint8Array;
}
export interface VerifyResponse {
  KeyId: string;
  SignatureValid: boolean;
  SigningAlgorithm: SigningAlgorithm;
}
export interface GetPublicKeyResponse {
  KeyId: string;
  PublicKey: Uint8Array;
  CustomerMasterKeySpec: KeySpec;
  KeySpec: KeySpec;
  KeyUsage: KeyUsage;
  EncryptionAlgorithms?: EncryptionAlgorithm[];
  SigningAlgorithms?: SigningAlgorithm[];
}
export interface GenerateMacRequest {
  KeyId: string;
  Message: Uint8Array;
  MacAlgorithm: MacAlgorithm;
  GrantTokens?: string[];
}
export interface GenerateMacResponse {
  KeyId: string;
  Mac: Uint8Array;
  MacAlgorithm: MacAlgorithm;
}
export interface VerifyMacRequest extends GenerateMacRequest {
  Mac: Uint8Array;
}
export interface VerifyMacResponse {
  KeyId: string;
  MacValid: boolean;
  MacAlgorithm: MacAlgorithm;
}

export interface AliasListEntry {
  AliasName: string;
  AliasArn: string;
  TargetKeyId?: string;
  CreationDate?: Date;
  LastUpdatedDate?: Date;
}
export interface ListAliasesResponse {
  Aliases: AliasListEntry[];
  Truncated: boolean;
  NextMarker?: string;
}

export interface KeyRotationStatus {
  KeyId: string;
  KeyRotationEnabled: boolean;
  RotationPeriodInDays?: number;
  NextRotationDate?: Date;
  OnDemandRotationStartDate?: Date;
}
export interface RotationsListEntry {
  KeyId: string;
  RotationDate: Date;
  RotationType: 'AUTOMATIC' | 'ON_DEMAND';
}

export interface GrantConstraints {
  EncryptionContextSubset?: EncryptionContext;
  EncryptionContextEquals?: EncryptionContext;
}
export interface GrantListEntry {
  KeyId: string;
  GrantId: string;
  Name?: string;
  CreationDate: Date;
  GranteePrincipal: string;
  RetiringPrincipal?: string;
  IssuingAccount: string;
  Operations: string[];
  Constraints?: GrantConstraints;
}
