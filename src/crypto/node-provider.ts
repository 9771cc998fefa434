// The Provider contract on node:crypto (OpenSSL) alone: the oracle the WASM provider is tested against
// and a benchmark column. It never loads the WASM core. Where node:crypto has no call for an operation,
// the missing step is done here in plain JS over OpenSSL primitives and cross-checked by the tests:
//  - DIGEST messages: node only signs messages it hashes itself. RSA PKCS#1 v1.5 signs DigestInfo ‖ digest
//    with privateEncrypt; PSS encodes EMSA-PSS here (RFC 8017 §9.1) and applies the raw RSA operation;
//    ECDSA computes s = k⁻¹(e + r·d) mod n with BigInt and k·G from OpenSSL's ECDH.
//  - Import checks: OpenSSL does not check that a PKCS#8 key's parts belong together, so the RSA CRT
//    relations and the EC public point are checked here.
// Secret key bytes are zeroed on destroyKey; KeyObjects, the BigInt d and JWK strings used on those paths
// cannot be wiped, which is acceptable for an oracle and stated here so nobody deploys it for secrecy.
import {
  constants,
  createCipheriv,
  createDecipheriv,
  createECDH,
  createHash,
  createHmac,
  createPrivateKey,
  createPublicKey,
  generateKeyPair,
  privateDecrypt,
  privateEncrypt,
  publicDecrypt,
  publicEncrypt,
  randomFillSync,
  sign as nodeSign,
  timingSafeEqual,
  verify as nodeVerify,
  type JsonWebKey,
  type KeyObject,
} from 'node:crypto';
import { promisify } from 'node:util';
import {
  aasymmetricSpec,
  abytesArg,
  aiv,
  amac,
  aoaep,
  arandomLength,
  randomBytesPooled,
  asecretLength,
  asigning,
  aspec,
  atokenLength,
  EC_SPECS,
  handleKit,
  isRsaSpec,
  isSecretSpec,
  IV_BYTES,
  oaepLimit,
  RSA_SPEC_BITS,
  SECRET_BYTES,
  TAG_BYTES,
  type EcSpec,
  type RsaSpec,
  type Signing,
} from './_provider-common.js';
import type { HashName } from './_validate.js';
import { AuthenticationError, DecryptionError, InvalidKeyError } from './errors.js';
import type {
  AsymmetricEncryptionAlgorithm,
  AsymmetricKeySpec,
  KeyHandle,
  KeyPairBytes,
  MacAlgorithm,
  MessageType,
  Provider,
  ProviderKeySpec,
  SigningAlgorithm,
} from './provider.js';

const generateKeyPairAsync = promisify(generateKeyPair);

interface Material {
  /** Secret keys: the raw bytes. */
  key: Uint8Array | null;
  priv: KeyObject | null;
  pub: KeyObject | null;
  spki: Uint8Array | null;
  /** EC keys: the private scalar, made on the first DIGEST signature or verification. */
  d: bigint | null;
}

const kit = handleKit<Material>();
const NODE_HASH: Readonly<Record<HashName | 'SHA-1', string>> = { 'SHA-1': 'sha1', 'SHA-256': 'sha256', 'SHA-384': 'sha384', 'SHA-512': 'sha512' };

/** A Buffer's bytes as a plain Uint8Array (no copy), so both providers return the same type. */
const u8 = (b: Buffer): Uint8Array => new Uint8Array(b.buffer, b.byteOffset, b.length);
const big = (b: Uint8Array): bigint => (b.length === 0 ? 0n : BigInt(`0x${Buffer.from(b).toString('hex')}`));
const bigJwk = (s: string | undefined): bigint => big(Buffer.from(s ?? '', 'base64url'));

function modPow(b: bigint, e: bigint, m: bigint): bigint {
  let r = 1n;
  b %= m;
  for (; e > 0n; e >>= 1n) {
    if (e & 1n) r = (r * b) % m;
    b = (b * b) % m;
  }
  return r;
}

// ---- Curves: the group orders (SEC 2, FIPS 186-5) and OpenSSL names ----

interface NodeCurve {
  openssl: string;
  n: bigint;
  bits: number;
  L: number;
}

const nodeCurve = (openssl: string, bits: number, n: string): NodeCurve => ({ openssl, n: BigInt(`0x${n}`), bits, L: Math.ceil(bits / 8) });
const CURVE: Readonly<Record<EcSpec, NodeCurve>> = {
  ECC_NIST_P256: nodeCurve('prime256v1', 256, 'ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551'),
  ECC_NIST_P384: nodeCurve('secp384r1', 384, 'ffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973'),
  ECC_NIST_P521: nodeCurve(
    'secp521r1',
    521,
    '1fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffa51868783bf2f966b7fcc0148f709a5d03bb5c9b8899c47aebb6fb71e91386409',
  ),
  ECC_SECG_P256K1: nodeCurve('secp256k1', 256, 'fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141'),
};

const toFixed = (x: bigint, len: number): Buffer => Buffer.from(x.toString(16).padStart(2 * len, '0'), 'hex');

/** X‖Y of k·G from OpenSSL (k in [1, n − 1]). */
function mulG(c: NodeCurve, k: bigint): Buffer {
  const ecdh = createECDH(c.openssl);
  ecdh.setPrivateKey(toFixed(k, c.L));
  return ecdh.getPublicKey().subarray(1);
}

// ---- Key import checks ----

function asymmetricMaterial(spec: AsymmetricKeySpec, der: Uint8Array): Material {
  try {
    const priv = createPrivateKey({ key: Buffer.from(der.buffer, der.byteOffset, der.length), format: 'der', type: 'pkcs8' });
    // The JWK export makes OpenSSL derive what the DER left out; it fails for some invalid keys (d = 0).
    const jwk = priv.export({ format: 'jwk' });
    if (isRsaSpec(spec)) checkRsa(spec, priv, jwk);
    else checkEc(spec as EcSpec, priv, jwk);
    const pub = createPublicKey(priv);
    return { key: null, priv, pub, spki: u8(pub.export({ format: 'der', type: 'spki' })), d: null };
  } catch (e) {
    if (e instanceof InvalidKeyError) throw e;
    throw new InvalidKeyError('MALFORMED', `${spec}: malformed PKCS#8 private key (${(e as Error).message})`);
  }
}

function checkRsa(spec: RsaSpec, priv: KeyObject, jwk: JsonWebKey): void {
  if (priv.asymmetricKeyType !== 'rsa') throw new InvalidKeyError('MALFORMED', `${spec}: expected an RSA key, got ${priv.asymmetricKeyType}`);
  const bits = priv.asymmetricKeyDetails!.modulusLength!;
  if (bits !== RSA_SPEC_BITS[spec]) throw new InvalidKeyError('OUT_OF_RANGE', `${spec}: expected a ${RSA_SPEC_BITS[spec]}-bit modulus, got ${bits} bits`);
  const [n, e, d, p, q, dp, dq, qi] = [jwk.n, jwk.e, jwk.d, jwk.p, jwk.q, jwk.dp, jwk.dq, jwk.qi].map(bigJwk) as [bigint, bigint, bigint, bigint, bigint, bigint, bigint, bigint];
  // RFC 8017 §3.2: n = p·q, e·d ≡ 1 mod λ(n) (checked mod p − 1 and q − 1), and the CRT values.
  const ok =
    p > 1n && q > 1n && p * q === n &&
    (e * d) % (p - 1n) === 1n && (e * d) % (q - 1n) === 1n &&
    dp === d % (p - 1n) && dq === d % (q - 1n) && (qi * q) % p === 1n;
  if (!ok) throw new InvalidKeyError('MISMATCH', `${spec}: RSA private key components are inconsistent`);
}

function checkEc(spec: EcSpec, priv: KeyObject, jwk: JsonWebKey): void {
  if (priv.asymmetricKeyType !== 'ec') throw new InvalidKeyError('MALFORMED', `${spec}: expected an EC key, got ${priv.asymmetricKeyType}`);
  const c = CURVE[spec];
  const named = priv.asymmetricKeyDetails!.namedCurve;
  if (named !== c.openssl) throw new InvalidKeyError('WRONG_CURVE', `${spec}: expected a ${EC_SPECS[spec].curve} key, got a ${named} one`);
  const d = bigJwk(jwk.d);
  if (d < 1n || d >= c.n) throw new InvalidKeyError('OUT_OF_RANGE', `${spec}: ${EC_SPECS[spec].curve} private key is not in [1, n − 1]`);
  const xy = Buffer.concat([Buffer.from(jwk.x!, 'base64url'), Buffer.from(jwk.y!, 'base64url')]);
  if (!mulG(c, d).equals(xy)) throw new InvalidKeyError('MISMATCH', `${spec}: the public key in the PKCS#8 key is not that of its private key`);
}

// ---- ECDSA over a digest (FIPS 186-5 §6.4) ----

/** The integer of the leftmost n-bits of the digest (FIPS 186-5 §6.4.1 step 4). */
function digestInt(c: NodeCurve, e: Uint8Array): bigint {
  const excess = 8 * e.length - c.bits;
  return excess > 0 ? big(e) >> BigInt(excess) : big(e);
}

function intTlv(x: bigint): Buffer {
  let h = x.toString(16);
  if (h.length % 2) h = `0${h}`;
  if (parseInt(h.slice(0, 2), 16) >= 0x80) h = `00${h}`;
  const body = Buffer.from(h, 'hex');
  return Buffer.concat([Buffer.of(0x02, body.length), body]);
}

function derSig(r: bigint, s: bigint): Uint8Array {
  const body = Buffer.concat([intTlv(r), intTlv(s)]);
  const head = body.length < 0x80 ? Buffer.of(0x30, body.length) : Buffer.of(0x30, 0x81, body.length);
  return u8(Buffer.concat([head, body]));
}

/** r and s of a strictly DER-encoded signature (minimal lengths and integers), or null. */
function parseDerSig(sig: Uint8Array): [bigint, bigint] | null {
  let i = 0;
  if (sig[i++] !== 0x30) return null;
  let len = sig[i++];
  if (len === 0x81) {
    len = sig[i++];
    if (len === undefined || len < 0x80) return null;
  } else if (len === undefined || len > 0x7f) return null;
  if (i + len !== sig.length) return null;
  const int = (): bigint | null => {
    if (sig[i++] !== 0x02) return null;
    const l = sig[i++];
    if (l === undefined || l === 0 || l > 0x7f || i + l > sig.length) return null;
    const v = sig.subarray(i, i + l);
    if (v[0]! & 0x80 || (l > 1 && v[0] === 0 && !(v[1]! & 0x80))) return null;
    i += l;
    return big(v);
  };
  const r = int();
  const s = r === null ? null : int();
  return r === null || s === null || i !== sig.length ? null : [r, s];
}

function ecdsaSignDigest(c: NodeCurve, d: bigint, digest: Uint8Array): Uint8Array {
  const z = digestInt(c, digest);
  const kb = new Uint8Array(c.L);
  for (;;) {
    randomFillSync(kb);
    kb[0]! &= 0xff >>> (8 * c.L - c.bits);
    const k = big(kb);
    if (k === 0n || k >= c.n) continue;
    const r = big(mulG(c, k).subarray(0, c.L)) % c.n;
    const s = (modPow(k, c.n - 2n, c.n) * (z + r * d)) % c.n;
    if (r !== 0n && s !== 0n) return derSig(r, s);
  }
}

/**
 * ECDSA verification of a digest. R = u1·G + u2·Q is computed as (u1 + u2·d)·G: the provider holds d
 * of Q = d·G (checked at import), and OpenSSL's ECDH gives k·G but no sum of points.
 */
function ecdsaVerifyDigest(c: NodeCurve, d: bigint, digest: Uint8Array, sig: Uint8Array): boolean {
  const rs = parseDerSig(sig);
  if (rs === null) return false;
  const [r, s] = rs;
  if (r < 1n || r >= c.n || s < 1n || s >= c.n) return false;
  const w = modPow(s, c.n - 2n, c.n);
  const t = ((digestInt(c, digest) * w) % c.n + ((r * w) % c.n) * d) % c.n;
  if (t === 0n) return false;
  return big(mulG(c, t).subarray(0, c.L)) % c.n === r;
}

// ---- RSA over a digest ----

const DIGEST_INFO: Readonly<Record<HashName, Buffer>> = {
  'SHA-256': Buffer.from('3031300d060960864801650304020105000420', 'hex'),
  'SHA-384': Buffer.from('3041300d060960864801650304020205000430', 'hex'),
  'SHA-512': Buffer.from('3051300d060960864801650304020305000440', 'hex'),
};

const hashOf = (h: HashName, ...parts: Uint8Array[]): Buffer => {
  const x = createHash(NODE_HASH[h]);
  for (const p of parts) x.update(p);
  return x.digest();
};

/** MGF1 (RFC 8017 §B.2.1). */
function mgf1(h: HashName, seed: Uint8Array, len: number): Buffer {
  const out: Buffer[] = [];
  for (let i = 0, n = 0; n < len; i++) {
    const block = hashOf(h, seed, Buffer.of(i >>> 24, (i >>> 16) & 0xff, (i >>> 8) & 0xff, i & 0xff));
    out.push(block);
    n += block.length;
  }
  return Buffer.concat(out).subarray(0, len);
}

const ZEROS8 = Buffer.alloc(8);

/** EMSA-PSS-ENCODE (RFC 8017 §9.1.1) with a salt of the hash length, left-padded to k bytes. */
function pssEncode(a: Signing, mHash: Uint8Array, modBits: number): Buffer {
  const hLen = a.hashLen;
  const emBits = modBits - 1;
  const emLen = Math.ceil(emBits / 8);
  const salt = randomFillSync(Buffer.alloc(hLen));
  const H = hashOf(a.hash, ZEROS8, mHash, salt);
  const db = Buffer.alloc(emLen - hLen - 1);
  db[emLen - 2 * hLen - 2] = 0x01;
  salt.copy(db, emLen - 2 * hLen - 1);
  const mask = mgf1(a.hash, H, db.length);
  for (let i = 0; i < db.length; i++) db[i]! ^= mask[i]!;
  db[0]! &= 0xff >>> (8 * emLen - emBits);
  const em = Buffer.concat([db, H, Buffer.of(0xbc)]);
  return Buffer.concat([Buffer.alloc(Math.ceil(modBits / 8) - emLen), em]);
}

/** EMSA-PSS-VERIFY (RFC 8017 §9.1.2) with sLen = hLen; em is the k-byte output of the public operation. */
function pssVerify(a: Signing, mHash: Uint8Array, k: Buffer, modBits: number): boolean {
  const hLen = a.hashLen;
  const emBits = modBits - 1;
  const emLen = Math.ceil(emBits / 8);
  if (k.length > emLen && k[0] !== 0) return false;
  const em = k.subarray(k.length - emLen);
  if (emLen < 2 * hLen + 2 || em[emLen - 1] !== 0xbc) return false;
  const db = Buffer.from(em.subarray(0, emLen - hLen - 1));
  const H = em.subarray(emLen - hLen - 1, emLen - 1);
  const topMask = 0xff >>> (8 * emLen - emBits);
  if (db[0]! & ~topMask & 0xff) return false;
  const mask = mgf1(a.hash, H, db.length);
  for (let i = 0; i < db.length; i++) db[i]! ^= mask[i]!;
  db[0]! &= topMask;
  const ps = emLen - 2 * hLen - 2;
  for (let i = 0; i < ps; i++) if (db[i] !== 0) return false;
  if (db[ps] !== 0x01) return false;
  return hashOf(a.hash, ZEROS8, mHash, db.subarray(ps + 1)).equals(H);
}

function rsaSignDigest(a: Signing, m: Material, digest: Uint8Array, bits: number): Uint8Array {
  if (a.scheme === 'pkcs1') return u8(privateEncrypt({ key: m.priv!, padding: constants.RSA_PKCS1_PADDING }, Buffer.concat([DIGEST_INFO[a.hash], digest])));
  return u8(privateDecrypt({ key: m.priv!, padding: constants.RSA_NO_PADDING }, pssEncode(a, digest, bits)));
}

/** sig is k bytes long (verify checks). */
function rsaVerifyDigest(a: Signing, m: Material, digest: Uint8Array, sig: Uint8Array, bits: number): boolean {
  let out: Buffer;
  try {
    out =
      a.scheme === 'pkcs1'
        ? publicDecrypt({ key: m.pub!, padding: constants.RSA_PKCS1_PADDING }, sig)
        : publicEncrypt({ key: m.pub!, padding: constants.RSA_NO_PADDING }, sig);
  } catch {
    return false; // signature ≥ n, or not a PKCS#1 v1.5 block
  }
  return a.scheme === 'pkcs1' ? out.equals(Buffer.concat([DIGEST_INFO[a.hash], digest])) : pssVerify(a, digest, out, bits);
}

/** The node sign/verify options of a RAW signature. */
function rawOptions(a: Signing, key: KeyObject): Parameters<typeof nodeSign>[2] {
  if (a.kind === 'ecdsa') return { key, dsaEncoding: 'der' };
  if (a.scheme === 'pkcs1') return { key, padding: constants.RSA_PKCS1_PADDING };
  return { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST };
}

// ---- AES-GCM and HKDF ----

function gcmSeal(key: Uint8Array, iv: Uint8Array, pt: Uint8Array, aad: Uint8Array, prefix?: Uint8Array): Uint8Array {
  const c = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
  c.setAAD(aad);
  const parts = [c.update(pt), c.final(), c.getAuthTag()];
  return u8(Buffer.concat(prefix ? [prefix, ...parts] : parts));
}

function gcmOpen(key: Uint8Array, iv: Uint8Array, sealed: Uint8Array, aad: Uint8Array): Uint8Array {
  if (sealed.length < TAG_BYTES) throw new AuthenticationError();
  const d = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
  d.setAAD(aad);
  d.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
  const pt = d.update(sealed.subarray(0, sealed.length - TAG_BYTES));
  try {
    d.final();
  } catch {
    pt.fill(0);
    throw new AuthenticationError();
  }
  return u8(pt);
}

/** HKDF-SHA256 (RFC 5869) to 32 bytes, one expand block. By HMAC, because hkdfSync limits info to 1024 bytes. */
function hkdf32(ikm: Uint8Array, salt: Uint8Array, info: Uint8Array): Uint8Array {
  const prk = createHmac('sha256', salt.length > 0 ? salt : Buffer.alloc(32)).update(ikm).digest();
  const okm = createHmac('sha256', prk).update(info).update(Buffer.of(1)).digest();
  prk.fill(0);
  return new Uint8Array(okm.buffer, okm.byteOffset, 32);
}

async function generatePair(spec: AsymmetricKeySpec): Promise<{ privateKey: KeyObject; publicKey: KeyObject }> {
  return isRsaSpec(spec)
    ? generateKeyPairAsync('rsa', { modulusLength: RSA_SPEC_BITS[spec], publicExponent: 65537 })
    : generateKeyPairAsync('ec', { namedCurve: CURVE[spec as EcSpec].openssl });
}

export class NodeCryptoProvider implements Provider {
  readonly name = 'node';

  #make(spec: ProviderKeySpec, m: Material): KeyHandle {
    return kit.make(this, this.name, spec, m);
  }

  #aes(key: KeyHandle, method: string): Uint8Array {
    const m = kit.open(this, key);
    if (key.spec !== 'AES_256') throw new TypeError(`${method} needs an AES_256 key, got ${key.spec}`);
    return m.key!;
  }

  #asymmetric(key: KeyHandle, method: string): Material {
    const m = kit.open(this, key);
    if (m.priv === null) throw new TypeError(`${method} needs an RSA_* or ECC_* key, got ${key.spec}`);
    return m;
  }

  #d(m: Material): bigint {
    m.d ??= bigJwk(m.priv!.export({ format: 'jwk' }).d);
    return m.d;
  }

  async random(length: number): Promise<Uint8Array> {
    return randomBytesPooled(arandomLength(length));
  }

  async generateKey(spec: ProviderKeySpec): Promise<KeyHandle> {
    const s = aspec(spec);
    if (isSecretSpec(s)) return this.#make(s, { key: randomFillSync(new Uint8Array(SECRET_BYTES[s])), priv: null, pub: null, spki: null, d: null });
    const { privateKey, publicKey } = await generatePair(s);
    return this.#make(s, { key: null, priv: privateKey, pub: publicKey, spki: u8(publicKey.export({ format: 'der', type: 'spki' })), d: null });
  }

  async importKey(spec: ProviderKeySpec, material: Uint8Array): Promise<KeyHandle> {
    const s = aspec(spec);
    const bytes = abytesArg(material, 'material');
    if (isSecretSpec(s)) {
      asecretLength(s, bytes);
      return this.#make(s, { key: Uint8Array.from(bytes), priv: null, pub: null, spki: null, d: null });
    }
    return this.#make(s, asymmetricMaterial(s, bytes));
  }

  async destroyKey(key: KeyHandle): Promise<void> {
    const m = kit.close(this, key);
    m.key?.fill(0);
    m.priv = m.pub = null;
    m.d = null;
  }

  async wrapKey(wrappingKey: KeyHandle, key: KeyHandle, aad: Uint8Array): Promise<Uint8Array> {
    const wk = this.#aes(wrappingKey, 'wrapKey');
    const m = kit.open(this, key);
    const a = abytesArg(aad, 'aad');
    const iv = randomFillSync(new Uint8Array(IV_BYTES));
    if (m.key) return gcmSeal(wk, iv, m.key, a, iv);
    const der = m.priv!.export({ format: 'der', type: 'pkcs8' });
    try {
      return gcmSeal(wk, iv, der, a, iv);
    } finally {
      der.fill(0);
    }
  }

  async unwrapKey(wrappingKey: KeyHandle, spec: ProviderKeySpec, token: Uint8Array, aad: Uint8Array): Promise<KeyHandle> {
    const wk = this.#aes(wrappingKey, 'unwrapKey');
    const s = aspec(spec);
    const t = abytesArg(token, 'token');
    const a = abytesArg(aad, 'aad');
    atokenLength(s, t);
    const m = gcmOpen(wk, t.subarray(0, IV_BYTES), t.subarray(IV_BYTES), a);
    if (isSecretSpec(s)) return this.#make(s, { key: m, priv: null, pub: null, spki: null, d: null });
    try {
      return this.#make(s, asymmetricMaterial(s, m));
    } finally {
      m.fill(0);
    }
  }

  async deriveKey(key: KeyHandle, salt: Uint8Array, info: Uint8Array): Promise<KeyHandle> {
    const ikm = this.#aes(key, 'deriveKey');
    const okm = hkdf32(ikm, abytesArg(salt, 'salt'), abytesArg(info, 'info'));
    return this.#make('AES_256', { key: okm, priv: null, pub: null, spki: null, d: null });
  }

  async encrypt(key: KeyHandle, iv: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Promise<Uint8Array> {
    return gcmSeal(this.#aes(key, 'encrypt'), aiv(iv), abytesArg(plaintext, 'plaintext'), abytesArg(aad, 'aad'));
  }

  async decrypt(key: KeyHandle, iv: Uint8Array, ciphertext: Uint8Array, aad: Uint8Array): Promise<Uint8Array> {
    return gcmOpen(this.#aes(key, 'decrypt'), aiv(iv), abytesArg(ciphertext, 'ciphertext'), abytesArg(aad, 'aad'));
  }

  async publicKey(key: KeyHandle): Promise<Uint8Array> {
    return Uint8Array.from(this.#asymmetric(key, 'publicKey').spki!);
  }

  async sign(key: KeyHandle, algorithm: SigningAlgorithm, message: Uint8Array, messageType: MessageType): Promise<Uint8Array> {
    const m = this.#asymmetric(key, 'sign');
    const a = asigning(key.spec, algorithm, messageType, message);
    if (messageType === 'RAW') return u8(nodeSign(NODE_HASH[a.hash], message, rawOptions(a, m.priv!)));
    if (a.kind === 'ecdsa') return ecdsaSignDigest(CURVE[key.spec as EcSpec], this.#d(m), message);
    return rsaSignDigest(a, m, message, RSA_SPEC_BITS[key.spec as RsaSpec]);
  }

  async verify(key: KeyHandle, algorithm: SigningAlgorithm, message: Uint8Array, messageType: MessageType, signature: Uint8Array): Promise<boolean> {
    const m = this.#asymmetric(key, 'verify');
    const a = asigning(key.spec, algorithm, messageType, message);
    const sig = abytesArg(signature, 'signature');
    // RFC 8017 8.1.2 step 1: OpenSSL verifies a PSS signature with its leading zero byte dropped.
    if (a.kind !== 'ecdsa' && sig.length !== RSA_SPEC_BITS[key.spec as RsaSpec] / 8) return false;
    if (messageType === 'DIGEST') {
      if (a.kind === 'ecdsa') return ecdsaVerifyDigest(CURVE[key.spec as EcSpec], this.#d(m), message, sig);
      return rsaVerifyDigest(a, m, message, sig, RSA_SPEC_BITS[key.spec as RsaSpec]);
    }
    try {
      return nodeVerify(NODE_HASH[a.hash], message, rawOptions(a, m.pub!) as Parameters<typeof nodeVerify>[2], sig);
    } catch {
      return false; // OpenSSL refuses some malformed signatures by throwing
    }
  }

  async encryptAsymmetric(key: KeyHandle, algorithm: AsymmetricEncryptionAlgorithm, plaintext: Uint8Array): Promise<Uint8Array> {
    const m = this.#asymmetric(key, 'encryptAsymmetric');
    const hash = aoaep(key.spec, algorithm);
    const pt = abytesArg(plaintext, 'plaintext');
    oaepLimit(hash, RSA_SPEC_BITS[key.spec as RsaSpec], pt);
    return u8(publicEncrypt({ key: m.pub!, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: NODE_HASH[hash] }, pt));
  }

  async decryptAsymmetric(key: KeyHandle, algorithm: AsymmetricEncryptionAlgorithm, ciphertext: Uint8Array): Promise<Uint8Array> {
    const m = this.#asymmetric(key, 'decryptAsymmetric');
    const hash = aoaep(key.spec, algorithm);
    const ct = abytesArg(ciphertext, 'ciphertext');
    // RFC 8017 7.1.2 step 1: OpenSSL would take a shorter ciphertext as the same integer with its zero bytes dropped.
    if (ct.length !== RSA_SPEC_BITS[key.spec as RsaSpec] / 8) throw new DecryptionError();
    try {
      return u8(privateDecrypt({ key: m.priv!, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: NODE_HASH[hash] }, ct));
    } catch {
      throw new DecryptionError();
    }
  }

  async mac(key: KeyHandle, algorithm: MacAlgorithm, message: Uint8Array): Promise<Uint8Array> {
    const m = kit.open(this, key);
    const a = amac(key.spec, algorithm);
    return u8(createHmac(NODE_HASH[a.hash], m.key!).update(abytesArg(message, 'message')).digest());
  }

  async verifyMac(key: KeyHandle, algorithm: MacAlgorithm, message: Uint8Array, mac: Uint8Array): Promise<boolean> {
    const m = kit.open(this, key);
    const a = amac(key.spec, algorithm);
    const msg = abytesArg(message, 'message');
    const tag = abytesArg(mac, 'mac');
    if (tag.length !== a.len) return false;
    return timingSafeEqual(createHmac(NODE_HASH[a.hash], m.key!).update(msg).digest(), tag);
  }

  async generateKeyPairBytes(spec: AsymmetricKeySpec): Promise<KeyPairBytes> {
    const { privateKey, publicKey } = await generatePair(aasymmetricSpec(spec));
    return { privateKey: u8(privateKey.export({ format: 'der', type: 'pkcs8' })), publicKey: u8(publicKey.export({ format: 'der', type: 'spki' })) };
  }
}
