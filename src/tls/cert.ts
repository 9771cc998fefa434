// Certificates for keys that stay where they live: the to-be-signed bytes of a self-signed X.509 v3
// certificate or a PKCS#10 request are encoded here (with @peculiar/asn1-x509 / asn1-csr, not by hand)
// and signed by whatever holds the key: the Keyward engine's Sign (a CMK), the HSM (a token key through
// the Provider seam), or node:crypto for a key already in this process (an unwrapped data key pair).
import { createHash, createPublicKey, randomBytes, sign as nodeSign, verify as nodeVerify, type KeyObject } from 'node:crypto';
import { isIP } from 'node:net';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import {
  AlgorithmIdentifier, Attribute, AttributeTypeAndValue, AttributeValue, BasicConstraints, Certificate, ExtendedKeyUsage, Extension, Extensions,
  GeneralName, id_ce_basicConstraints, id_ce_extKeyUsage, id_ce_keyUsage, id_ce_subjectAltName, id_kp_serverAuth, KeyUsage, KeyUsageFlags,
  Name, RelativeDistinguishedName, SubjectAlternativeName, SubjectPublicKeyInfo, TBSCertificate, Validity, Version,
} from '@peculiar/asn1-x509';
import { Attributes, CertificationRequest, CertificationRequestInfo } from '@peculiar/asn1-csr';
import type { KeyHandle, Provider, SigningAlgorithm } from '../crypto/provider.js';
import type { Keyward } from '../kms/keyward.js';

/** A certificate or request that cannot be made as asked (bad subject, unsupported key, failed signature). */
export class CertificateError extends Error {
  override name = 'CertificateError';
}

/** A public key and a way to sign with its private half, wherever that is. */
export interface CertKey {
  /** DER SubjectPublicKeyInfo. */
  spki: Uint8Array;
  /** Signs the DER message (the TBS) with the algorithm; ECDSA signatures are DER, as X.509 wants them. */
  sign(message: Uint8Array, algorithm: SigningAlgorithm): Promise<Uint8Array>;
}

export interface CertSubject {
  /** The subject's CN. */
  commonName: string;
  /** subjectAltName entries: DNS names and IP addresses (default: the CN when it is a host name or an IP). */
  altNames?: string[];
}

export interface CertOptions {
  subject: CertSubject;
  /** Validity in days from notBefore (default 365). */
  days?: number;
  /** Default now. */
  notBefore?: Date;
}

interface SigAlg {
  name: SigningAlgorithm;
  oid: string;
  hash: 'sha256' | 'sha384' | 'sha512';
  /** RSA AlgorithmIdentifiers carry an explicit NULL (RFC 4055 §5); ECDSA ones carry nothing (RFC 5758 §3.2). */
  nullParams: boolean;
}

const RSA_SHA256: SigAlg = { name: 'RSASSA_PKCS1_V1_5_SHA_256', oid: '1.2.840.113549.1.1.11', hash: 'sha256', nullParams: true };
const ECDSA: Record<string, SigAlg> = {
  prime256v1: { name: 'ECDSA_SHA_256', oid: '1.2.840.10045.4.3.2', hash: 'sha256', nullParams: false },
  secp256k1: { name: 'ECDSA_SHA_256', oid: '1.2.840.10045.4.3.2', hash: 'sha256', nullParams: false },
  secp384r1: { name: 'ECDSA_SHA_384', oid: '1.2.840.10045.4.3.3', hash: 'sha384', nullParams: false },
  secp521r1: { name: 'ECDSA_SHA_512', oid: '1.2.840.10045.4.3.4', hash: 'sha512', nullParams: false },
};

/** The signature algorithm a key's certificate uses: RSA PKCS#1 v1.5 with SHA-256, ECDSA with its curve's hash. */
export function signatureAlgorithmFor(spki: Uint8Array): SigAlg {
  let key: KeyObject;
  try {
    key = createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
  } catch (e) {
    throw new CertificateError(`the public key is not a DER SubjectPublicKeyInfo: ${(e as Error).message}`);
  }
  if (key.asymmetricKeyType === 'rsa') return RSA_SHA256;
  const curve = key.asymmetricKeyDetails?.namedCurve;
  if (key.asymmetricKeyType === 'ec' && curve !== undefined && ECDSA[curve]) return ECDSA[curve]!;
  throw new CertificateError(`no certificate signature algorithm for a ${key.asymmetricKeyType ?? 'unknown'} key${curve ? ` on ${curve}` : ''} (RSA and ECDSA P-256/P-384/P-521/secp256k1 keys are supported)`);
}

function algorithmIdentifier(a: SigAlg): AlgorithmIdentifier {
  return new AlgorithmIdentifier({ algorithm: a.oid, ...(a.nullParams ? { parameters: null } : {}) });
}

function name(commonName: string): Name {
  if (typeof commonName !== 'string' || commonName.length === 0 || commonName.length > 64) {
    throw new CertificateError('expected the subject common name to be 1 to 64 characters (RFC 5280 ub-common-name)');
  }
  return new Name([new RelativeDistinguishedName([new AttributeTypeAndValue({ type: '2.5.4.3', value: new AttributeValue({ utf8String: commonName }) })])]);
}

const HOST = /^(?=.{1,253}$)(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i;

function generalNames(s: CertSubject): GeneralName[] {
  const names = s.altNames ?? (HOST.test(s.commonName) || isIP(s.commonName) !== 0 ? [s.commonName] : []);
  return names.map((n) => {
    if (isIP(n) !== 0) return new GeneralName({ iPAddress: n });
    if (HOST.test(n)) return new GeneralName({ dNSName: n });
    throw new CertificateError(`subject alternative name '${n}' is neither a DNS name nor an IP address`);
  });
}

function extension(id: string, critical: boolean, value: unknown): Extension {
  return new Extension({ extnID: id, critical, extnValue: new OctetString(AsnConvert.serialize(value)) });
}

/** A TLS server's extensions: not a CA, digitalSignature (+ keyEncipherment for RSA), serverAuth, the alt names. */
function serverExtensions(s: CertSubject, rsa: boolean): Extensions {
  const san = generalNames(s);
  return new Extensions([
    extension(id_ce_basicConstraints, true, new BasicConstraints({ cA: false })),
    extension(id_ce_keyUsage, true, new KeyUsage(KeyUsageFlags.digitalSignature | (rsa ? KeyUsageFlags.keyEncipherment : 0))),
    extension(id_ce_extKeyUsage, false, new ExtendedKeyUsage([id_kp_serverAuth])),
    ...(san.length > 0 ? [extension(id_ce_subjectAltName, false, new SubjectAlternativeName(san))] : []),
  ]);
}

async function signWith(key: CertKey, a: SigAlg, tbs: Uint8Array): Promise<ArrayBuffer> {
  let sig: Uint8Array;
  try {
    sig = await key.sign(tbs, a.name);
  } catch (e) {
    throw new CertificateError(`signing the certificate data with the key failed: ${(e as Error).name}: ${(e as Error).message}`);
  }
  // The public key must verify what the key signed: a wrong key/handle pairing is caught here, not by a client.
  const pub = createPublicKey({ key: Buffer.from(key.spki), format: 'der', type: 'spki' });
  if (!nodeVerify(a.hash, tbs, pub, sig)) throw new CertificateError('the signature made by the key does not verify under its public key');
  return Uint8Array.from(sig).buffer;
}

const pem = (label: string, der: ArrayBuffer): string =>
  `-----BEGIN ${label}-----\n${Buffer.from(der).toString('base64').replace(/.{64}/g, '$&\n').replace(/\n?$/, '\n')}-----END ${label}-----\n`;

/** A self-signed X.509 v3 TLS server certificate for the key, as PEM; the TBS is signed by the key itself. */
export async function selfSignedCertificate(key: CertKey, o: CertOptions): Promise<string> {
  const a = signatureAlgorithmFor(key.spki);
  const days = o.days ?? 365;
  if (!Number.isInteger(days) || days < 1 || days > 3650) throw new CertificateError(`expected days to be an integer in 1..3650, got ${String(o.days)}`);
  const notBefore = o.notBefore ?? new Date();
  const serial = randomBytes(16);
  serial[0]! &= 0x7f; // a positive INTEGER of at most 20 octets (RFC 5280 §4.1.2.2)
  serial[0]! |= 0x01; // and no leading zero octet to strip
  const subject = name(o.subject.commonName);
  const tbs = new TBSCertificate({
    version: Version.v3,
    serialNumber: Uint8Array.from(serial).buffer,
    signature: algorithmIdentifier(a),
    issuer: subject,
    validity: new Validity({ notBefore, notAfter: new Date(notBefore.getTime() + days * 86_400_000) }),
    subject,
    subjectPublicKeyInfo: AsnConvert.parse(Buffer.from(key.spki), SubjectPublicKeyInfo),
    extensions: serverExtensions(o.subject, a === RSA_SHA256),
  });
  const tbsDer = new Uint8Array(AsnConvert.serialize(tbs));
  const signatureValue = await signWith(key, a, tbsDer);
  return pem('CERTIFICATE', AsnConvert.serialize(new Certificate({ tbsCertificate: tbs, signatureAlgorithm: algorithmIdentifier(a), signatureValue })));
}

/** extensionRequest (PKCS#9, RFC 2985 §5.4.2): the extensions a CA is asked to put in the certificate. */
const EXTENSION_REQUEST = '1.2.840.113549.1.9.14';

/** A PKCS#10 certificate request (RFC 2986) for the key, as PEM, asking for the server extensions. */
export async function certificateRequest(key: CertKey, subject: CertSubject): Promise<string> {
  const a = signatureAlgorithmFor(key.spki);
  const info = new CertificationRequestInfo({
    version: 0,
    subject: name(subject.commonName),
    subjectPKInfo: AsnConvert.parse(Buffer.from(key.spki), SubjectPublicKeyInfo),
    attributes: new Attributes([new Attribute({ type: EXTENSION_REQUEST, values: [AsnConvert.serialize(serverExtensions(subject, a === RSA_SHA256))] })]),
  });
  const infoDer = new Uint8Array(AsnConvert.serialize(info));
  const signature = await signWith(key, a, infoDer);
  return pem('CERTIFICATE REQUEST', AsnConvert.serialize(new CertificationRequest({ certificationRequestInfo: info, signatureAlgorithm: algorithmIdentifier(a), signature })));
}

/** A CMK of the Keyward engine (SIGN_VERIFY, RSA or ECC): every signature is the engine's Sign, audited. */
export async function keywardCertKey(kw: Keyward, keyId: string): Promise<CertKey> {
  const pub = await kw.getPublicKey({ KeyId: keyId });
  if (pub.KeyUsage !== 'SIGN_VERIFY') throw new CertificateError(`key ${pub.KeyId} has key usage ${pub.KeyUsage}; a certificate needs a SIGN_VERIFY key`);
  const spki = pub.PublicKey;
  return {
    spki,
    async sign(message, algorithm) {
      // Sign takes at most 4096 bytes of message; the digest is always small enough.
      const hash = signatureAlgorithmFor(spki).hash;
      const digest = createHash(hash).update(message).digest();
      return (await kw.sign({ KeyId: pub.KeyId, Message: digest, MessageType: 'DIGEST', SigningAlgorithm: algorithm })).Signature;
    },
  };
}

/** A key of a Provider (an HSM token key through Pkcs11Provider): the signature is made by the provider. */
export async function providerCertKey(provider: Provider, key: KeyHandle): Promise<CertKey> {
  const spki = await provider.publicKey(key);
  return { spki, sign: (message, algorithm) => provider.sign(key, algorithm, message, 'RAW') };
}

/** A private key already in this process (node:crypto), e.g. an unwrapped data key pair. */
export function keyObjectCertKey(privateKey: KeyObject): CertKey {
  if (privateKey.type !== 'private') throw new CertificateError('expected a private KeyObject');
  const spki = new Uint8Array(createPublicKey(privateKey).export({ format: 'der', type: 'spki' }));
  return {
    spki,
    async sign(message) {
      return new Uint8Array(nodeSign(signatureAlgorithmFor(spki).hash, message, privateKey));
    },
  };
}
