// keyward/tls: SSL offload. The TLS terminator (HSM keys through the OpenSSL PKCS#11 engine, CMK-wrapped
// key pairs, PEM keys), certificates and CSRs signed where the key lives, and wrapped key pair files.
export { TlsTerminator, TlsConfigError, proxyHeader, redactUri, DEBIAN_ENGINES_DIR, type CertificateEntry, type KeySource, type TerminatorOptions } from './terminator.js';
export {
  selfSignedCertificate, certificateRequest, keywardCertKey, providerCertKey, keyObjectCertKey, signatureAlgorithmFor, CertificateError,
  type CertKey, type CertOptions, type CertSubject,
} from './cert.js';
export { createWrappedKeyPair, readWrappedKeyPair, unwrapPrivateKey, unwrapPkcs8, pkcs8PemBuffer, KeyPairError, KEYPAIR_FORMAT, type WrappedKeyPair } from './keypair.js';
export { serverNameOf } from './client-hello.js';
