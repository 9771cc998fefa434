// AWS KMS exceptions. Each class's `name` is the exception name AWS KMS returns, so a server maps an
// error to the wire (`__type`) one to one and an embedding service can branch on `err.name`.

/** The base of every engine error: `name` is the AWS exception name, `httpStatus` what the server sends. */
export class KmsError extends Error {
  readonly httpStatus: number = 400;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

function define(name: string, httpStatus = 400): typeof KmsError {
  const cls = class extends KmsError {
    override readonly name = name;
    override readonly httpStatus = httpStatus;
  };
  Object.defineProperty(cls, 'name', { value: name });
  return cls;
}

export const NotFoundException = define('NotFoundException');
export const DisabledException = define('DisabledException');
export const KMSInvalidStateException = define('KMSInvalidStateException');
export const InvalidCiphertextException = define('InvalidCiphertextException');
export const IncorrectKeyException = define('IncorrectKeyException');
export const InvalidKeyUsageException = define('InvalidKeyUsageException');
export const KMSInvalidSignatureException = define('KMSInvalidSignatureException');
export const KMSInvalidMacException = define('KMSInvalidMacException');
export const AccessDeniedException = define('AccessDeniedException');
export const ValidationException = define('ValidationException');
export const InvalidArnException = define('InvalidArnException');
export const InvalidAliasNameException = define('InvalidAliasNameException');
export const AlreadyExistsException = define('AlreadyExistsException');
export const InvalidGrantTokenException = define('InvalidGrantTokenException');
export const InvalidGrantIdException = define('InvalidGrantIdException');
export const InvalidMarkerException = define('InvalidMarkerException');
export const MalformedPolicyDocumentException = define('MalformedPolicyDocumentException');
export const TagException = define('TagException');
export const UnsupportedOperationException = define('UnsupportedOperationException');
export const InvalidImportTokenException = define('InvalidImportTokenException');
export const ExpiredImportTokenException = define('ExpiredImportTokenException');
export const IncorrectKeyMaterialException = define('IncorrectKeyMaterialException');
export const LimitExceededException = define('LimitExceededException');
export const DependencyTimeoutException = define('DependencyTimeoutException', 503);
export const KMSInternalException = define('KMSInternalException', 500);
