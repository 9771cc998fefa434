// Errors the HTTP front end raises before the engine is involved: authentication (SigV4) and protocol
// (JSON, target, size). Like the engine's, each class's `name` is the exception name AWS returns as
// `__type` and `httpStatus` its status, so the server writes every error the same way.
import { KmsError } from '../kms/errors.js';

function define(name: string, httpStatus: number): typeof KmsError {
  const cls = class extends KmsError {
    override readonly name = name;
    override readonly httpStatus = httpStatus;
  };
  Object.defineProperty(cls, 'name', { value: name });
  return cls;
}

/** No Authorization header and no X-Amz-Algorithm query parameter. */
export const MissingAuthenticationTokenException = define('MissingAuthenticationTokenException', 403);
/** The Authorization header or query parameters lack a part, or a part is malformed. */
export const IncompleteSignatureException = define('IncompleteSignatureException', 400);
/** Well-formed, but the signature, scope or date is wrong (including "Signature expired"). */
export const InvalidSignatureException = define('InvalidSignatureException', 400);
/** The access key id is not one this server knows. */
export const UnrecognizedClientException = define('UnrecognizedClientException', 400);
/** The body is not a JSON object, or a member has the wrong JSON type for the operation. */
export const SerializationException = define('SerializationException', 400);
/** X-Amz-Target names no operation of TrentService. */
export const UnknownOperationException = define('UnknownOperationException', 400);
/** The body is larger than the server accepts. */
export const RequestEntityTooLargeException = define('RequestEntityTooLargeException', 413);
/** The connection closed before the request body ended (nobody is left to read the answer). */
export const RequestAbortedException = define('RequestAbortedException', 400);
/** A path or method the server does not serve. */
export const NotFound = define('NotFound', 404);
export const MethodNotAllowed = define('MethodNotAllowed', 405);
