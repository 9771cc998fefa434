// keyward/server: the AWS-KMS-compatible HTTP endpoint, its SigV4 verifier and access keys, metrics, and the XKS proxy.
export { KmsServer, jsonLineLogger, DEFAULT_MAX_BODY_BYTES, type KmsServerOptions, type AccessLogEntry, type AccessLogger } from './kms-server.js';
export { CredentialStore, CredentialError, createCredential, principalFor, CREDENTIALS_FILE, type Credential, type NewAccessKey } from './credentials.js';
export { SigV4Verifier, DEFAULT_MAX_SKEW_MS, type SignedRequest, type SigV4Credential, type SigV4VerifierOptions, type Verified } from './sigv4.js';
export { OPERATIONS, type Operation, type OperationMethod } from './kms-protocol.js';
export {
  MissingAuthenticationTokenException, IncompleteSignatureException, InvalidSignatureException, UnrecognizedClientException,
  SerializationException, UnknownOperationException, RequestEntityTooLargeException, RequestAbortedException,
} from './errors.js';
export { Metrics, LATENCY_BUCKETS_S, METRICS_CONTENT_TYPE } from './metrics.js';
export { XksProxy, XksError, XKS_SERVICE, XKS_API_PATH, type XksProxyOptions, type XksErrorName, type XksOperation, type EkmMember, type XksLogFields } from './xks.js';
export {
  createXksKey, updateXksKey, setXksEnabled, readXksKeys, XksKeysError, XKS_KEYS_FILE, XKS_CREDENTIALS_FILE,
  type XksKeyRecord, type XksKeyStatus, type CreateXksKeyOptions,
} from './xks-keys.js';
