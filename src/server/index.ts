// keyward/server: the AWS-KMS-compatible HTTP endpoint, its SigV4 verifier and its access keys.
export { KmsServer, jsonLineLogger, DEFAULT_MAX_BODY_BYTES, type KmsServerOptions, type AccessLogEntry, type AccessLogger } from './kms-server.js';
export { CredentialStore, CredentialError, createCredential, principalFor, CREDENTIALS_FILE, type Credential, type NewAccessKey } from './credentials.js';
export { SigV4Verifier, DEFAULT_MAX_SKEW_MS, type SignedRequest, type SigV4Credential, type SigV4VerifierOptions, type Verified } from './sigv4.js';
export { OPERATIONS, type Operation, type OperationMethod } from './kms-protocol.js';
export {
  MissingAuthenticationTokenException, IncompleteSignatureException, InvalidSignatureException, UnrecognizedClientException,
  SerializationException, UnknownOperationException, RequestEntityTooLargeException, RequestAbortedException,
} from './errors.js';
