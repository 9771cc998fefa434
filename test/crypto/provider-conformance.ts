// The Provider conformance suite: every provider (WASM, node, later PKCS#11) runs these same cases.
// node:crypto used directly is the oracle for every output (AES-GCM, HKDF, HMAC, signatures, OAEP,
// key encodings); tampered inputs must fail with the documented error and return nothing.
import {
  constants,
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  hkdfSync,
  privateDecrypt,
  publicEncrypt,
  randomBytes,
  sign as nodeSign,
  verify as nodeVerify,
  type KeyObject,
} from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  AuthenticationError,
  DecryptionError,
  InvalidKeyError,
  type AsymmetricKeySpec,
  type KeyHandle,
  type MacAlgorithm,
  type Provider,
  type ProviderKeySpec,
  type SecretKeySpec,
  type SigningAlgorithm,
} from '../../src/crypto/index.js';

export const SECRET_SPECS: SecretKeySpec[] = ['AES_256', 'HMAC_256', 'HMAC_384', 'HMAC_512'];
export const SECRET_LEN: Record<SecretKeySpec, number> = { AES_256: 32, HMAC_256: 32, HMAC_384: 48, HMAC_512: 64 };
export const RSA_SPECS = ['RSA_2048', 'RSA_3072', 'RSA_4096'] as const;
export const EC_SPECS = ['ECC_NIST_P256', 'ECC_NIST_P384', 'ECC_NIST_P521', 'ECC_SECG_P256K1'] as const;
export const ASYM_SPECS: AsymmetricKeySpec[] = [...RSA_SPECS, ...EC_SPECS];
const RSA_BITS = { RSA_2048: 2048, RSA_3072: 3072, RSA_4096: 4096 } as const;
const OPENSSL_CURVE = { ECC_NIST_P256: 'prime256v1', ECC_NIST_P384: 'secp384r1', ECC_NIST_P521: 'secp521r1', ECC_SECG_P256K1: 'secp256k1' } as const;
export const RSA_ALGS: SigningAlgorithm[] = [
  'RSASSA_PSS_SHA_256', 'RSASSA_PSS_SHA_384', 'RSASSA_PSS_SHA_512',
  'RSASSA_PKCS1_V1_5_SHA_256', 'RSASSA_PKCS1_V1_5_SHA_384', 'RSASSA_PKCS1_V1_5_SHA_512',
];
export const EC_ALG = { ECC_NIST_P256: 'ECDSA_SHA_256', ECC_NIST_P384: 'ECDSA_SHA_384', ECC_NIST_P521: 'ECDSA_SHA_512', ECC_SECG_P256K1: 'ECDSA_SHA_256' } as const;
export const MACS: [SecretKeySpec, MacAlgorithm, string][] = [['HMAC_256', 'HMAC_SHA_256', 'sha256'], ['HMAC_384', 'HMAC_SHA_384', 'sha384'], ['HMAC_512', 'HMAC_SHA_512', 'sha512']];

/** The algorithms a spec signs with (AWS KMS pairings). */
export const algsOf = (spec: AsymmetricKeySpec): SigningAlgorithm[] => (spec.startsWith('RSA') ? RSA_ALGS : [EC_ALG[spec as keyof typeof EC_ALG]]);
/** node's hash name of an algorithm. */
export const hashOf = (alg: SigningAlgorithm): string => `sha${alg.slice(-3)}`;
export const digest = (alg: SigningAlgorithm, m: Uint8Array): Uint8Array => createHash(hashOf(alg)).update(m).digest();

/** node verify options for a signature made under alg (PSS salt = hash length, ECDSA DER). */
export function nodeSigOptions(alg: SigningAlgorithm, key: KeyObject): Parameters<typeof nodeVerify>[2] {
  if (alg.startsWith('ECDSA')) return { key, dsaEncoding: 'der' };
  if (alg.startsWith('RSASSA_PKCS1')) return { key, padding: constants.RSA_PKCS1_PADDING };
  return { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: Number(alg.slice(-3)) / 8 };
}

export interface FixtureKey {
  pkcs8: Uint8Array;
  spki: Uint8Array;
  priv: KeyObject;
  pub: KeyObject;
}

/** Key pairs made by node, once per test file: one per asymmetric spec, and a second RSA_2048 and P-256. */
let fixtures: Record<AsymmetricKeySpec | 'RSA_2048_B' | 'ECC_NIST_P256_B', FixtureKey> | undefined;
export function fixtureKeys(): NonNullable<typeof fixtures> {
  const make = (spec: AsymmetricKeySpec): FixtureKey => {
    const { privateKey, publicKey } = spec.startsWith('RSA')
      ? generateKeyPairSync('rsa', { modulusLength: RSA_BITS[spec as keyof typeof RSA_BITS] })
      : generateKeyPairSync('ec', { namedCurve: OPENSSL_CURVE[spec as keyof typeof OPENSSL_CURVE] });
    return { pkcs8: privateKey.export({ format: 'der', type: 'pkcs8' }), spki: publicKey.export({ format: 'der', type: 'spki' }), priv: privateKey, pub: publicKey };
  };
  fixtures ??= {
    ...(Object.fromEntries(ASYM_SPECS.map((s) => [s, make(s)])) as Record<AsymmetricKeySpec, FixtureKey>),
    RSA_2048_B: make('RSA_2048'),
    ECC_NIST_P256_B: make('ECC_NIST_P256'),
  };
  return fixtures;
}

export const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
export const flip = (b: Uint8Array, bit: number): Uint8Array => {
  const c = Uint8Array.from(b);
  c[(bit >> 3) % c.length]! ^= 1 << (bit & 7);
  return c;
};

/** node's AES-256-GCM of pt: ciphertext ‖ tag. */
export function nodeSeal(key: Uint8Array, iv: Uint8Array, pt: Uint8Array, aad: Uint8Array): string {
  const c = createCipheriv('aes-256-gcm', key, iv);
  c.setAAD(aad);
  return hex(Buffer.concat([c.update(pt), c.final(), c.getAuthTag()]));
}

function nodeOpen(key: Uint8Array, iv: Uint8Array, sealed: Uint8Array, aad: Uint8Array): Buffer {
  const d = createDecipheriv('aes-256-gcm', key, iv);
  d.setAAD(aad);
  d.setAuthTag(sealed.subarray(sealed.length - 16));
  return Buffer.concat([d.update(sealed.subarray(0, sealed.length - 16)), d.final()]);
}

/** The promise rejects with an error of class C whose message matches (when given). */
async function rejects(p: Promise<unknown>, C: new (...a: never[]) => Error, message?: RegExp | string): Promise<void> {
  let caught: unknown;
  try {
    await p;
  } catch (e) {
    caught = e;
  }
  expect(caught, `expected a ${C.name}`).toBeInstanceOf(C);
  if (message !== undefined) expect((caught as Error).message).toMatch(message);
}

async function rejectsKey(p: Promise<unknown>, code: InvalidKeyError['code'], message?: RegExp): Promise<void> {
  let caught: unknown;
  try {
    await p;
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(InvalidKeyError);
  expect((caught as InvalidKeyError).code).toBe(code);
  if (message) expect((caught as Error).message).toMatch(message);
}

/** Registers the conformance suite for the providers that make() returns (a fresh instance per call). */
export function providerConformance(label: string, make: () => Provider): void {
  describe(`Provider conformance: ${label}`, () => {
    const p = make();
    const K = fixtureKeys();
    const raw = { AES_256: randomBytes(32), HMAC_256: randomBytes(32), HMAC_384: randomBytes(48), HMAC_512: randomBytes(64) };
    const h = {} as Record<ProviderKeySpec, KeyHandle>;

    beforeAll(async () => {
      for (const s of SECRET_SPECS) h[s] = await p.importKey(s, raw[s]);
      for (const s of ASYM_SPECS) h[s] = await p.importKey(s, K[s].pkcs8);
    });

    describe('random', () => {
      it('gives the asked length, fresh bytes each call, up to 65536 bytes', async () => {
        for (const n of [0, 1, 12, 32, 1024, 65536]) {
          const r = await p.random(n);
          expect(r).toBeInstanceOf(Uint8Array);
          expect(r.length).toBe(n);
        }
        const seen = new Set<string>();
        for (let i = 0; i < 100; i++) seen.add(hex(await p.random(16)));
        expect(seen.size).toBe(100);
        // Not all zero, and every byte value shows up in 64 KiB.
        expect(new Set(await p.random(65536)).size).toBe(256);
      });

      it('refuses other lengths', async () => {
        await rejects(p.random(-1), RangeError, 'expected length in 0..65536, got -1');
        await rejects(p.random(65537), RangeError, /got 65537/);
        await rejects(p.random(1.5), TypeError, /integer/);
        await rejects(p.random('8' as unknown as number), TypeError);
      });
    });

    describe('handles', () => {
      it('carry the provider name and spec, and cannot be rewritten', async () => {
        const k = await p.generateKey('AES_256');
        expect(k.provider).toBe(p.name);
        expect(k.spec).toBe('AES_256');
        expect(Object.isFrozen(k)).toBe(true);
        expect(() => {
          (k as { spec: string }).spec = 'HMAC_512';
        }).toThrow(TypeError);
        // No material among the handle's visible properties.
        expect(Object.keys(k).sort()).toEqual(['provider', 'spec']);
        expect(JSON.stringify(k)).toBe(`{"provider":"${p.name}","spec":"AES_256"}`);
      });

      it('another instance of the same provider, a look-alike object or null is refused with a TypeError', async () => {
        const other = make();
        const foreign = await other.importKey('AES_256', raw.AES_256);
        const iv = new Uint8Array(12);
        await rejects(p.encrypt(foreign, iv, new Uint8Array(1), new Uint8Array(0)), TypeError, /another/);
        await rejects(p.destroyKey(foreign), TypeError);
        await rejects(p.wrapKey(h.AES_256, foreign, new Uint8Array(0)), TypeError);
        await rejects(p.wrapKey(foreign, h.AES_256, new Uint8Array(0)), TypeError);
        const lookAlike = { provider: p.name, spec: 'AES_256' } as KeyHandle;
        await rejects(p.encrypt(lookAlike, iv, new Uint8Array(1), new Uint8Array(0)), TypeError, /handle made by this provider/);
        await rejects(p.mac(null as unknown as KeyHandle, 'HMAC_SHA_256', new Uint8Array(0)), TypeError);
        const asymForeign = await other.importKey('ECC_NIST_P256', K.ECC_NIST_P256.pkcs8);
        await rejects(p.sign(asymForeign, 'ECDSA_SHA_256', new Uint8Array(1), 'RAW'), TypeError);
        await rejects(p.publicKey(asymForeign), TypeError);
        // The foreign handle still works in its own provider.
        expect((await other.encrypt(foreign, iv, new Uint8Array(1), new Uint8Array(0))).length).toBe(17);
      });

      it('a destroyed handle is refused by every method, and cannot be destroyed twice', async () => {
        const aes = await p.importKey('AES_256', raw.AES_256);
        const mac = await p.importKey('HMAC_256', raw.HMAC_256);
        const ec = await p.importKey('ECC_NIST_P256', K.ECC_NIST_P256.pkcs8);
        const rsa = await p.importKey('RSA_2048', K.RSA_2048.pkcs8);
        for (const k of [aes, mac, ec, rsa]) await p.destroyKey(k);
        const iv = new Uint8Array(12);
        const e = new Uint8Array(0);
        const calls: Promise<unknown>[] = [
          p.encrypt(aes, iv, e, e), p.decrypt(aes, iv, new Uint8Array(16), e), p.deriveKey(aes, e, e),
          p.wrapKey(aes, h.HMAC_256, e), p.wrapKey(h.AES_256, aes, e), p.unwrapKey(aes, 'AES_256', new Uint8Array(60), e),
          p.mac(mac, 'HMAC_SHA_256', e), p.verifyMac(mac, 'HMAC_SHA_256', e, new Uint8Array(32)),
          p.sign(ec, 'ECDSA_SHA_256', e, 'RAW'), p.verify(ec, 'ECDSA_SHA_256', e, 'RAW', new Uint8Array(8)), p.publicKey(ec),
          p.encryptAsymmetric(rsa, 'RSAES_OAEP_SHA_256', e), p.decryptAsymmetric(rsa, 'RSAES_OAEP_SHA_256', new Uint8Array(256)),
          p.destroyKey(aes), p.destroyKey(rsa),
        ];
        for (const c of calls) await rejects(c, TypeError, /destroyed/);
      });
    });

    describe('generateKey', () => {
      it('makes secret keys of every spec, different each time', async () => {
        for (const s of SECRET_SPECS) {
          const a = await p.generateKey(s);
          const b = await p.generateKey(s);
          expect(a.spec).toBe(s);
          if (s === 'AES_256') {
            const iv = new Uint8Array(12);
            const pt = new Uint8Array(16);
            const e = new Uint8Array(0);
            expect(hex(await p.encrypt(a, iv, pt, e))).not.toBe(hex(await p.encrypt(b, iv, pt, e)));
          } else {
            const alg = MACS.find(([spec]) => spec === s)![1];
            const m = new Uint8Array(3);
            expect(hex(await p.mac(a, alg, m))).not.toBe(hex(await p.mac(b, alg, m)));
          }
        }
      });

      it('makes asymmetric keys of every spec: node reads the public key, and it verifies what the key signs', async () => {
        for (const s of ASYM_SPECS) {
          const k = await p.generateKey(s);
          const pub = createPublicKey({ key: Buffer.from(await p.publicKey(k)), format: 'der', type: 'spki' });
          if (s.startsWith('RSA')) expect(pub.asymmetricKeyDetails!.modulusLength).toBe(RSA_BITS[s as keyof typeof RSA_BITS]);
          else expect(pub.asymmetricKeyDetails!.namedCurve).toBe(OPENSSL_CURVE[s as keyof typeof OPENSSL_CURVE]);
          const alg = algsOf(s)[0]!;
          const msg = randomBytes(40);
          expect(nodeVerify(hashOf(alg), msg, nodeSigOptions(alg, pub), await p.sign(k, alg, msg, 'RAW'))).toBe(true);
        }
      }, 120_000);

      it('refuses unknown specs', async () => {
        await rejects(p.generateKey('SYMMETRIC_DEFAULT' as ProviderKeySpec), TypeError, /expected a key spec .*got SYMMETRIC_DEFAULT/);
      });
    });

    describe('importKey', () => {
      it('takes secret keys of the AWS KMS sizes and copies them (the caller may wipe its copy)', async () => {
        const key = Uint8Array.from(raw.AES_256);
        const k = await p.importKey('AES_256', key);
        key.fill(0);
        const iv = randomBytes(12);
        const pt = randomBytes(50);
        const aad = randomBytes(5);
        expect(hex(await p.encrypt(k, iv, pt, aad))).toBe(nodeSeal(raw.AES_256, iv, pt, aad));
        for (const [spec, alg, nh] of MACS) {
          const m = Uint8Array.from(raw[spec]);
          const mk = await p.importKey(spec, m);
          m.fill(0);
          expect(hex(await p.mac(mk, alg, pt))).toBe(createHmac(nh, raw[spec]).update(pt).digest('hex'));
        }
      });

      it('refuses secret keys of other lengths with a RangeError naming both', async () => {
        await rejects(p.importKey('AES_256', new Uint8Array(31)), RangeError, 'expected a 32-byte AES_256 key, got 31');
        await rejects(p.importKey('AES_256', new Uint8Array(16)), RangeError, /got 16/);
        await rejects(p.importKey('HMAC_384', new Uint8Array(32)), RangeError, 'expected a 48-byte HMAC_384 key, got 32');
        await rejects(p.importKey('HMAC_512', new Uint8Array(48)), RangeError, /64-byte HMAC_512/);
        await rejects(p.importKey('HMAC_256', new Uint8Array(0)), RangeError);
        await rejects(p.importKey('AES_256', 'key' as unknown as Uint8Array), TypeError, /material/);
        await rejects(p.importKey('AES_128' as ProviderKeySpec, new Uint8Array(16)), TypeError, /key spec/);
      });

      it('takes PKCS#8 keys of every asymmetric spec; publicKey is the SPKI node derives', async () => {
        for (const s of ASYM_SPECS) {
          expect(hex(await p.publicKey(h[s])), s).toBe(hex(K[s].spki));
        }
      });

      it('refuses a key of another curve, size or type with an InvalidKeyError naming the mismatch', async () => {
        await rejectsKey(p.importKey('ECC_NIST_P384', K.ECC_NIST_P256.pkcs8), 'WRONG_CURVE', /ECC_NIST_P384/);
        await rejectsKey(p.importKey('ECC_SECG_P256K1', K.ECC_NIST_P256.pkcs8), 'WRONG_CURVE');
        await rejectsKey(p.importKey('ECC_NIST_P256', K.ECC_SECG_P256K1.pkcs8), 'WRONG_CURVE');
        await rejectsKey(p.importKey('RSA_2048', K.RSA_3072.pkcs8), 'OUT_OF_RANGE', /RSA_2048: expected a 2048-bit modulus, got 3072 bits/);
        await rejectsKey(p.importKey('RSA_4096', K.RSA_2048.pkcs8), 'OUT_OF_RANGE', /got 2048 bits/);
        await rejectsKey(p.importKey('RSA_2048', K.ECC_NIST_P256.pkcs8), 'MALFORMED', /RSA_2048/);
        await rejectsKey(p.importKey('ECC_NIST_P256', K.RSA_2048.pkcs8), 'MALFORMED', /ECC_NIST_P256/);
      });

      it('refuses public keys, PKCS#1, junk and truncated DER as MALFORMED', async () => {
        const pkcs1 = K.RSA_2048.priv.export({ format: 'der', type: 'pkcs1' });
        const sec1 = K.ECC_NIST_P256.priv.export({ format: 'der', type: 'sec1' });
        const bad: [AsymmetricKeySpec, Uint8Array][] = [
          ['RSA_2048', K.RSA_2048.spki], ['ECC_NIST_P256', K.ECC_NIST_P256.spki], ['RSA_2048', pkcs1], ['ECC_NIST_P256', sec1],
          ['RSA_2048', randomBytes(100)], ['ECC_NIST_P384', new Uint8Array(0)], ['ECC_NIST_P256', K.ECC_NIST_P256.pkcs8.subarray(0, 60)],
          ['RSA_3072', K.RSA_3072.pkcs8.subarray(0, K.RSA_3072.pkcs8.length - 1)],
        ];
        for (const [s, der] of bad) await rejectsKey(p.importKey(s, der), 'MALFORMED');
      });

      it('refuses an EC key whose embedded public key is another, and an EC scalar out of range', async () => {
        const a = K.ECC_NIST_P256.pkcs8;
        const b = K.ECC_NIST_P256_B.pkcs8;
        // The last 65 bytes of node's P-256 PKCS#8 are the uncompressed public point.
        const swapped = Buffer.concat([a.subarray(0, a.length - 65), b.subarray(b.length - 65)]);
        await rejectsKey(p.importKey('ECC_NIST_P256', swapped), 'MISMATCH');
        // Without the optional public key: d = 0 and d = n are refused; a valid d is taken and its point derived.
        const n = Buffer.from('ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551', 'hex');
        for (const d of [new Uint8Array(32), n]) await expect(p.importKey('ECC_NIST_P256', rebuildEcPkcs8(d))).rejects.toBeInstanceOf(InvalidKeyError);
        const d = Buffer.from(K.ECC_NIST_P256.priv.export({ format: 'jwk' }).d!, 'base64url');
        expect(hex(await p.publicKey(await p.importKey('ECC_NIST_P256', rebuildEcPkcs8(d))))).toBe(hex(K.ECC_NIST_P256.spki));
      });

      it('refuses an RSA key whose components do not belong together as MISMATCH', async () => {
        const jwk = K.RSA_2048.priv.export({ format: 'jwk' });
        const other = K.RSA_2048_B.priv.export({ format: 'jwk' });
        const bad = createPrivateKey({ key: { ...jwk, d: other.d }, format: 'jwk' }).export({ format: 'der', type: 'pkcs8' });
        await rejectsKey(p.importKey('RSA_2048', bad), 'MISMATCH');
      });
    });

    describe('AES-256-GCM encrypt/decrypt', () => {
      it('is node AES-256-GCM, and round-trips lengths across the 64 KiB chunk boundary', async () => {
        for (const n of [0, 1, 15, 16, 17, 4096, 65536 - 60, 65536, 70000]) {
          const iv = randomBytes(12);
          const pt = randomBytes(n);
          const aad = randomBytes(n % 40);
          const ct = await p.encrypt(h.AES_256, iv, pt, aad);
          expect(hex(ct), `length ${n}`).toBe(nodeSeal(raw.AES_256, iv, pt, aad));
          expect(hex(await p.decrypt(h.AES_256, iv, ct, aad))).toBe(hex(pt));
        }
      });

      it('any altered bit of ciphertext or tag, another aad, iv or key, or truncation fails with AuthenticationError', async () => {
        const iv = randomBytes(12);
        const pt = randomBytes(40);
        const aad = randomBytes(8);
        const ct = await p.encrypt(h.AES_256, iv, pt, aad);
        for (let bit = 0; bit < 8 * ct.length; bit += 7) await rejects(p.decrypt(h.AES_256, iv, flip(ct, bit), aad), AuthenticationError);
        await rejects(p.decrypt(h.AES_256, iv, ct, flip(aad, 1)), AuthenticationError);
        await rejects(p.decrypt(h.AES_256, iv, ct, new Uint8Array(0)), AuthenticationError);
        await rejects(p.decrypt(h.AES_256, flip(iv, 5), ct, aad), AuthenticationError);
        await rejects(p.decrypt(await p.generateKey('AES_256'), iv, ct, aad), AuthenticationError);
        await rejects(p.decrypt(h.AES_256, iv, ct.subarray(0, ct.length - 1), aad), AuthenticationError);
        await rejects(p.decrypt(h.AES_256, iv, ct.subarray(0, 15), aad), AuthenticationError);
        await rejects(p.decrypt(h.AES_256, iv, new Uint8Array(0), aad), AuthenticationError);
      });

      it('checks its arguments', async () => {
        const e = new Uint8Array(0);
        await rejects(p.encrypt(h.AES_256, new Uint8Array(11), e, e), RangeError, 'expected a 12-byte iv, got 11');
        await rejects(p.decrypt(h.AES_256, new Uint8Array(16), new Uint8Array(16), e), RangeError, /12-byte iv, got 16/);
        await rejects(p.encrypt(h.HMAC_256, new Uint8Array(12), e, e), TypeError, 'encrypt needs an AES_256 key, got HMAC_256');
        await rejects(p.decrypt(h.RSA_2048, new Uint8Array(12), new Uint8Array(16), e), TypeError, /decrypt needs an AES_256 key/);
        await rejects(p.encrypt(h.AES_256, new Uint8Array(12), 'pt' as unknown as Uint8Array, e), TypeError, /plaintext/);
        await rejects(p.encrypt(h.AES_256, new Uint8Array(12), e, undefined as unknown as Uint8Array), TypeError, /aad/);
      });
    });

    describe('wrapKey/unwrapKey', () => {
      it('a token is iv ‖ AES-256-GCM(material) ‖ tag that node opens with the wrapping key; fresh iv each time', async () => {
        const aad = randomBytes(20);
        for (const s of SECRET_SPECS) {
          const t = await p.wrapKey(h.AES_256, h[s], aad);
          expect(t.length).toBe(12 + SECRET_LEN[s] + 16);
          expect(hex(nodeOpen(raw.AES_256, t.subarray(0, 12), t.subarray(12), aad))).toBe(hex(raw[s]));
          const again = await p.wrapKey(h.AES_256, h[s], aad);
          expect(hex(again.subarray(0, 12))).not.toBe(hex(t.subarray(0, 12)));
        }
        for (const s of ['RSA_2048', 'ECC_NIST_P256', 'ECC_NIST_P521'] as const) {
          const t = await p.wrapKey(h.AES_256, h[s], aad);
          const der = nodeOpen(raw.AES_256, t.subarray(0, 12), t.subarray(12), aad);
          const pub = createPublicKey(createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }));
          expect(hex(pub.export({ format: 'der', type: 'spki' }))).toBe(hex(K[s].spki));
        }
      });

      it('unwrapped keys are the wrapped ones, for every spec', async () => {
        const aad = randomBytes(3);
        const iv = randomBytes(12);
        const pt = randomBytes(33);
        for (const s of [...SECRET_SPECS, ...ASYM_SPECS]) {
          const k = await p.unwrapKey(h.AES_256, s, await p.wrapKey(h.AES_256, h[s], aad), aad);
          expect(k.spec).toBe(s);
          if (s === 'AES_256') expect(hex(await p.encrypt(k, iv, pt, aad))).toBe(nodeSeal(raw.AES_256, iv, pt, aad));
          else if (s.startsWith('HMAC')) {
            const [, alg, nh] = MACS.find(([spec]) => spec === s)!;
            expect(hex(await p.mac(k, alg, pt))).toBe(createHmac(nh, raw[s as SecretKeySpec]).update(pt).digest('hex'));
          } else {
            const alg = algsOf(s as AsymmetricKeySpec)[0]!;
            expect(hex(await p.publicKey(k))).toBe(hex(K[s as AsymmetricKeySpec].spki));
            expect(nodeVerify(hashOf(alg), pt, nodeSigOptions(alg, K[s as AsymmetricKeySpec].pub), await p.sign(k, alg, pt, 'RAW'))).toBe(true);
          }
        }
      }, 60_000);

      it('an altered token or aad, another wrapping key or a token of another length fails with AuthenticationError', async () => {
        const aad = randomBytes(10);
        const t = await p.wrapKey(h.AES_256, h.HMAC_384, aad);
        for (let bit = 0; bit < 8 * t.length; bit += 11) await rejects(p.unwrapKey(h.AES_256, 'HMAC_384', flip(t, bit), aad), AuthenticationError);
        await rejects(p.unwrapKey(h.AES_256, 'HMAC_384', t, flip(aad, 0)), AuthenticationError);
        await rejects(p.unwrapKey(await p.generateKey('AES_256'), 'HMAC_384', t, aad), AuthenticationError);
        await rejects(p.unwrapKey(h.AES_256, 'HMAC_384', t.subarray(0, t.length - 1), aad), AuthenticationError);
        await rejects(p.unwrapKey(h.AES_256, 'HMAC_384', new Uint8Array(0), aad), AuthenticationError);
        // 12 + 48 + 16 bytes is not a token of a 32-byte or 64-byte key.
        await rejects(p.unwrapKey(h.AES_256, 'AES_256', t, aad), AuthenticationError);
        await rejects(p.unwrapKey(h.AES_256, 'HMAC_512', t, aad), AuthenticationError);
        const rt = await p.wrapKey(h.AES_256, h.RSA_2048, aad);
        await rejects(p.unwrapKey(h.AES_256, 'RSA_2048', flip(rt, 8 * 200), aad), AuthenticationError);
        await rejects(p.unwrapKey(h.AES_256, 'RSA_2048', rt.subarray(0, 28), aad), AuthenticationError);
      });

      it('an authentic token of an asymmetric key unwrapped as another spec is an InvalidKeyError', async () => {
        const aad = new Uint8Array(0);
        await rejectsKey(p.unwrapKey(h.AES_256, 'ECC_NIST_P384', await p.wrapKey(h.AES_256, h.ECC_NIST_P256, aad), aad), 'WRONG_CURVE');
        await rejectsKey(p.unwrapKey(h.AES_256, 'RSA_3072', await p.wrapKey(h.AES_256, h.RSA_2048, aad), aad), 'OUT_OF_RANGE');
        await rejectsKey(p.unwrapKey(h.AES_256, 'ECC_NIST_P256', await p.wrapKey(h.AES_256, h.HMAC_512, aad), aad), 'MALFORMED');
      });

      it('checks its arguments', async () => {
        const e = new Uint8Array(0);
        await rejects(p.wrapKey(h.HMAC_256, h.AES_256, e), TypeError, 'wrapKey needs an AES_256 key, got HMAC_256');
        await rejects(p.unwrapKey(h.ECC_NIST_P256, 'AES_256', new Uint8Array(60), e), TypeError, /unwrapKey needs an AES_256 key/);
        await rejects(p.wrapKey(h.AES_256, h.AES_256, 'aad' as unknown as Uint8Array), TypeError, /aad/);
        await rejects(p.unwrapKey(h.AES_256, 'DES' as ProviderKeySpec, new Uint8Array(60), e), TypeError, /key spec/);
        await rejects(p.unwrapKey(h.AES_256, 'AES_256', null as unknown as Uint8Array, e), TypeError, /token/);
      });
    });

    describe('deriveKey', () => {
      it('is HKDF-SHA256(key, salt, info) to 32 bytes: the derived key encrypts as node does with that key', async () => {
        const iv = randomBytes(12);
        const pt = randomBytes(32);
        const aad = randomBytes(4);
        for (const [salt, info] of [[randomBytes(16), randomBytes(10)], [new Uint8Array(0), new Uint8Array(0)], [randomBytes(100), randomBytes(1000)]] as const) {
          const want = new Uint8Array(hkdfSync('sha256', raw.AES_256, salt, info, 32));
          const k = await p.deriveKey(h.AES_256, salt, info);
          expect(k.spec).toBe('AES_256');
          expect(hex(await p.encrypt(k, iv, pt, aad))).toBe(nodeSeal(want, iv, pt, aad));
        }
      });

      it('info longer than node hkdfSync takes (1024 bytes) still derives RFC 5869 keys', async () => {
        const info = randomBytes(3000);
        const salt = randomBytes(16);
        const prk = createHmac('sha256', salt).update(raw.AES_256).digest();
        const okm = createHmac('sha256', prk).update(info).update(Buffer.of(1)).digest();
        const iv = randomBytes(12);
        const pt = randomBytes(5);
        expect(hex(await p.encrypt(await p.deriveKey(h.AES_256, salt, info), iv, pt, pt))).toBe(nodeSeal(okm, iv, pt, pt));
      });

      it('derived keys differ by salt and info, and can be wrapped, destroyed and derived from', async () => {
        const iv = new Uint8Array(12);
        const pt = new Uint8Array(16);
        const e = new Uint8Array(0);
        const a = await p.deriveKey(h.AES_256, Uint8Array.of(1), Uint8Array.of(1));
        const b = await p.deriveKey(h.AES_256, Uint8Array.of(2), Uint8Array.of(1));
        const c = await p.deriveKey(h.AES_256, Uint8Array.of(1), Uint8Array.of(2));
        const outs = await Promise.all([a, b, c].map((k) => p.encrypt(k, iv, pt, e)));
        expect(new Set(outs.map(hex)).size).toBe(3);
        const t = await p.wrapKey(h.AES_256, a, e);
        expect(hex(await p.encrypt(await p.unwrapKey(h.AES_256, 'AES_256', t, e), iv, pt, e))).toBe(hex(outs[0]!));
        expect((await p.deriveKey(a, e, e)).spec).toBe('AES_256');
        await p.destroyKey(a);
        await rejects(p.encrypt(a, iv, pt, e), TypeError, /destroyed/);
      });

      it('needs an AES_256 key', async () => {
        const e = new Uint8Array(0);
        await rejects(p.deriveKey(h.HMAC_256, e, e), TypeError, 'deriveKey needs an AES_256 key, got HMAC_256');
        await rejects(p.deriveKey(h.ECC_NIST_P256, e, e), TypeError);
        await rejects(p.deriveKey(h.AES_256, 'salt' as unknown as Uint8Array, e), TypeError, /salt/);
      });
    });

    describe('sign/verify', () => {
      const msg = randomBytes(123);

      for (const s of ASYM_SPECS) {
        it(`${s}: every algorithm AWS pairs with it, RAW and DIGEST, verified by node and here; DIGEST and RAW agree`, async () => {
          for (const alg of algsOf(s)) {
            const d = digest(alg, msg);
            const opts = nodeSigOptions(alg, K[s].pub);
            const rawSig = await p.sign(h[s], alg, msg, 'RAW');
            const digSig = await p.sign(h[s], alg, d, 'DIGEST');
            for (const sig of [rawSig, digSig]) {
              expect(nodeVerify(hashOf(alg), msg, opts, sig), alg).toBe(true);
              expect(await p.verify(h[s], alg, msg, 'RAW', sig)).toBe(true);
              expect(await p.verify(h[s], alg, d, 'DIGEST', sig)).toBe(true);
            }
            const theirs = nodeSign(hashOf(alg), msg, nodeSigOptions(alg, K[s].priv) as Parameters<typeof nodeSign>[2]);
            expect(await p.verify(h[s], alg, msg, 'RAW', theirs)).toBe(true);
            expect(await p.verify(h[s], alg, d, 'DIGEST', theirs)).toBe(true);
            if (alg.startsWith('RSASSA_PKCS1')) {
              // Deterministic: byte-identical to OpenSSL.
              expect(hex(rawSig)).toBe(hex(theirs));
              expect(hex(digSig)).toBe(hex(theirs));
            }
            if (alg.startsWith('ECDSA')) expect(rawSig[0]).toBe(0x30);
            else expect(rawSig.length).toBe(RSA_BITS[s as keyof typeof RSA_BITS] / 8);
          }
        }, 60_000);
      }

      it('altered signatures and messages, other keys and malformed signatures give false', async () => {
        for (const [s, other] of [['ECC_NIST_P256', 'ECC_NIST_P256_B'], ['RSA_2048', 'RSA_2048_B']] as const) {
          const other2 = await p.importKey(s, K[other].pkcs8);
          for (const alg of algsOf(s).slice(0, 2)) {
            const sig = await p.sign(h[s], alg, msg, 'RAW');
            const d = digest(alg, msg);
            for (let bit = 0; bit < 8 * sig.length; bit += 37) expect(await p.verify(h[s], alg, msg, 'RAW', flip(sig, bit))).toBe(false);
            expect(await p.verify(h[s], alg, flip(msg, 9), 'RAW', sig)).toBe(false);
            expect(await p.verify(h[s], alg, flip(d, 9), 'DIGEST', sig)).toBe(false);
            expect(await p.verify(other2, alg, msg, 'RAW', sig)).toBe(false);
            // A RAW verification of the digest hashes it again.
            expect(await p.verify(h[s], alg, d, 'RAW', sig)).toBe(false);
            for (const junk of [new Uint8Array(0), new Uint8Array(sig.length), randomBytes(sig.length), sig.subarray(1), Uint8Array.of(...sig, 0)]) {
              expect(await p.verify(h[s], alg, msg, 'RAW', junk)).toBe(false);
              expect(await p.verify(h[s], alg, d, 'DIGEST', junk)).toBe(false);
            }
          }
        }
        // RFC 8017 8.1.2 step 1: a signature shorter than the modulus is invalid, even when it is the same integer.
        let sig: Uint8Array;
        do sig = await p.sign(h.RSA_2048, 'RSASSA_PSS_SHA_256', msg, 'RAW');
        while (sig[0] !== 0);
        expect(await p.verify(h.RSA_2048, 'RSASSA_PSS_SHA_256', msg, 'RAW', sig)).toBe(true);
        expect(await p.verify(h.RSA_2048, 'RSASSA_PSS_SHA_256', msg, 'RAW', sig.subarray(1))).toBe(false);
        expect(await p.verify(h.RSA_2048, 'RSASSA_PSS_SHA_256', digest('RSASSA_PSS_SHA_256', msg), 'DIGEST', sig.subarray(1))).toBe(false);
        // PSS and PKCS#1 v1.5 signatures are not each other's; nor SHA-256 and SHA-384.
        const pss = await p.sign(h.RSA_2048, 'RSASSA_PSS_SHA_256', msg, 'RAW');
        expect(await p.verify(h.RSA_2048, 'RSASSA_PKCS1_V1_5_SHA_256', msg, 'RAW', pss)).toBe(false);
        expect(await p.verify(h.RSA_2048, 'RSASSA_PSS_SHA_384', msg, 'RAW', pss)).toBe(false);
      }, 60_000);

      it('ECDSA: a non-minimal DER encoding of a valid signature is refused', async () => {
        const sig = await p.sign(h.ECC_NIST_P256, 'ECDSA_SHA_256', msg, 'RAW');
        const longForm = Uint8Array.of(0x30, 0x81, sig[1]!, ...sig.subarray(2));
        expect(await p.verify(h.ECC_NIST_P256, 'ECDSA_SHA_256', msg, 'RAW', longForm)).toBe(false);
        expect(await p.verify(h.ECC_NIST_P256, 'ECDSA_SHA_256', digest('ECDSA_SHA_256', msg), 'DIGEST', longForm)).toBe(false);
      });

      it('refuses pairings AWS KMS does not make, secret keys, and unknown names with a TypeError', async () => {
        await rejects(p.sign(h.ECC_NIST_P256, 'ECDSA_SHA_384', msg, 'RAW'), TypeError, 'ECDSA_SHA_384 cannot be used with key spec ECC_NIST_P256 (AWS KMS pairs ECC_NIST_P256 with ECDSA_SHA_256)');
        await rejects(p.sign(h.ECC_NIST_P521, 'ECDSA_SHA_256', msg, 'RAW'), TypeError, /pairs ECC_NIST_P521 with ECDSA_SHA_512/);
        await rejects(p.sign(h.ECC_SECG_P256K1, 'ECDSA_SHA_512', msg, 'RAW'), TypeError, /ECDSA_SHA_256/);
        await rejects(p.verify(h.ECC_NIST_P384, 'ECDSA_SHA_256', msg, 'RAW', new Uint8Array(70)), TypeError);
        await rejects(p.sign(h.RSA_2048, 'ECDSA_SHA_256', msg, 'RAW'), TypeError, /RSASSA_\* algorithms/);
        await rejects(p.sign(h.ECC_NIST_P256, 'RSASSA_PSS_SHA_256', msg, 'RAW'), TypeError);
        await rejects(p.sign(h.HMAC_256, 'ECDSA_SHA_256', msg, 'RAW'), TypeError, /sign needs an RSA_\* or ECC_\* key, got HMAC_256/);
        await rejects(p.sign(h.RSA_2048, 'RSASSA_PSS_SHA_1' as SigningAlgorithm, msg, 'RAW'), TypeError, /signing algorithm/);
        await rejects(p.sign(h.RSA_2048, 'RSASSA_PSS_SHA_256', msg, 'HASH' as 'RAW'), TypeError, /messageType/);
        await rejects(p.verify(h.RSA_2048, 'RSASSA_PSS_SHA_256', msg, 'RAW', 'sig' as unknown as Uint8Array), TypeError, /signature/);
      });

      it('a DIGEST message must be exactly the hash length (RangeError), when signing and verifying', async () => {
        await rejects(p.sign(h.ECC_NIST_P256, 'ECDSA_SHA_256', msg, 'DIGEST'), RangeError, 'expected a 32-byte SHA-256 digest as the DIGEST message of ECDSA_SHA_256, got 123 bytes');
        await rejects(p.sign(h.RSA_2048, 'RSASSA_PSS_SHA_384', new Uint8Array(32), 'DIGEST'), RangeError, /48-byte SHA-384/);
        await rejects(p.verify(h.ECC_NIST_P521, 'ECDSA_SHA_512', new Uint8Array(32), 'DIGEST', new Uint8Array(8)), RangeError, /64-byte/);
      });
    });

    describe('encryptAsymmetric/decryptAsymmetric (RSA-OAEP)', () => {
      for (const s of RSA_SPECS) {
        it(`${s}: both hashes, decrypted by node and node's decrypted here, up to the longest plaintext`, async () => {
          const k = RSA_BITS[s] / 8;
          for (const [alg, nh, hLen] of [['RSAES_OAEP_SHA_1', 'sha1', 20], ['RSAES_OAEP_SHA_256', 'sha256', 32]] as const) {
            const max = k - 2 * hLen - 2;
            for (const n of [0, 32, max]) {
              const pt = randomBytes(n);
              const ct = await p.encryptAsymmetric(h[s], alg, pt);
              expect(ct.length).toBe(k);
              expect(hex(privateDecrypt({ key: K[s].priv, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: nh }, ct))).toBe(hex(pt));
              const theirs = publicEncrypt({ key: K[s].pub, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: nh }, pt);
              expect(hex(await p.decryptAsymmetric(h[s], alg, theirs))).toBe(hex(pt));
            }
            await rejects(p.encryptAsymmetric(h[s], alg, new Uint8Array(max + 1)), RangeError, `expected plaintext of at most ${max} bytes`);
          }
        }, 60_000);
      }

      it('every failure is the one DecryptionError: tampering, the other hash, another key, wrong length', async () => {
        const pt = randomBytes(32);
        const ct = await p.encryptAsymmetric(h.RSA_2048, 'RSAES_OAEP_SHA_256', pt);
        const otherKey = await p.importKey('RSA_2048', K.RSA_2048_B.pkcs8);
        const bad = [flip(ct, 5), flip(ct, 8 * 255), ct.subarray(1), Uint8Array.of(...ct, 0), new Uint8Array(0), new Uint8Array(256).fill(0xff)];
        for (const c of bad) await rejects(p.decryptAsymmetric(h.RSA_2048, 'RSAES_OAEP_SHA_256', c), DecryptionError, 'decryption error');
        await rejects(p.decryptAsymmetric(h.RSA_2048, 'RSAES_OAEP_SHA_1', ct), DecryptionError, 'decryption error');
        await rejects(p.decryptAsymmetric(otherKey, 'RSAES_OAEP_SHA_256', ct), DecryptionError, 'decryption error');
      });

      it('a ciphertext shorter than the modulus is refused even when it is the same integer (RFC 8017 7.1.2 step 1)', async () => {
        let ct: Uint8Array;
        do ct = await p.encryptAsymmetric(h.RSA_2048, 'RSAES_OAEP_SHA_256', new Uint8Array(32));
        while (ct[0] !== 0);
        expect(hex(await p.decryptAsymmetric(h.RSA_2048, 'RSAES_OAEP_SHA_256', ct))).toBe(hex(new Uint8Array(32)));
        await rejects(p.decryptAsymmetric(h.RSA_2048, 'RSAES_OAEP_SHA_256', ct.subarray(1)), DecryptionError, 'decryption error');
      });

      it('needs an RSA key and a known algorithm', async () => {
        const e = new Uint8Array(1);
        await rejects(p.encryptAsymmetric(h.ECC_NIST_P256, 'RSAES_OAEP_SHA_256', e), TypeError, 'RSAES_OAEP_SHA_256 needs an RSA_* key, got ECC_NIST_P256');
        await rejects(p.decryptAsymmetric(h.AES_256, 'RSAES_OAEP_SHA_1', e), TypeError);
        await rejects(p.encryptAsymmetric(h.RSA_2048, 'RSAES_OAEP_SHA_384' as 'RSAES_OAEP_SHA_1', e), TypeError, /encryption algorithm/);
        await rejects(p.encryptAsymmetric(h.RSA_2048, 'RSAES_OAEP_SHA_1', [1] as unknown as Uint8Array), TypeError, /plaintext/);
      });
    });

    describe('mac/verifyMac', () => {
      for (const [spec, alg, nh] of MACS) {
        it(`${spec}: ${alg} is node's HMAC; verifyMac accepts it and nothing altered or truncated`, async () => {
          for (const n of [0, 1, 64, 200, 70000]) {
            const m = randomBytes(n);
            const tag = await p.mac(h[spec], alg, m);
            expect(hex(tag)).toBe(createHmac(nh, raw[spec]).update(m).digest('hex'));
            expect(await p.verifyMac(h[spec], alg, m, tag)).toBe(true);
          }
          const m = randomBytes(50);
          const tag = await p.mac(h[spec], alg, m);
          for (let bit = 0; bit < 8 * tag.length; bit += 13) expect(await p.verifyMac(h[spec], alg, m, flip(tag, bit))).toBe(false);
          expect(await p.verifyMac(h[spec], alg, flip(m, 3), tag)).toBe(false);
          expect(await p.verifyMac(h[spec], alg, m, tag.subarray(0, tag.length - 1))).toBe(false);
          expect(await p.verifyMac(h[spec], alg, m, tag.subarray(0, 16))).toBe(false);
          expect(await p.verifyMac(h[spec], alg, m, Uint8Array.of(...tag, 0))).toBe(false);
          expect(await p.verifyMac(h[spec], alg, m, new Uint8Array(0))).toBe(false);
          expect(await p.verifyMac(await p.generateKey(spec), alg, m, tag)).toBe(false);
        });
      }

      it('refuses a MAC algorithm that is not the key spec\'s, and non-HMAC keys', async () => {
        const m = new Uint8Array(4);
        await rejects(p.mac(h.HMAC_384, 'HMAC_SHA_256', m), TypeError, 'HMAC_SHA_256 cannot be used with key spec HMAC_384 (it needs an HMAC_256 key)');
        await rejects(p.verifyMac(h.HMAC_256, 'HMAC_SHA_512', m, new Uint8Array(64)), TypeError, /HMAC_512/);
        await rejects(p.mac(h.AES_256, 'HMAC_SHA_256', m), TypeError, /key spec AES_256/);
        await rejects(p.mac(h.RSA_2048, 'HMAC_SHA_256', m), TypeError);
        await rejects(p.mac(h.HMAC_256, 'HMAC_SHA_1' as MacAlgorithm, m), TypeError, /MAC algorithm/);
        await rejects(p.verifyMac(h.HMAC_256, 'HMAC_SHA_256', m, 'tag' as unknown as Uint8Array), TypeError, /mac/);
      });
    });

    describe('generateKeyPairBytes', () => {
      it('gives PKCS#8 and SPKI for every asymmetric spec that node reads and that match; importKey takes them', async () => {
        for (const s of ASYM_SPECS) {
          const { privateKey, publicKey } = await p.generateKeyPairBytes(s);
          const priv = createPrivateKey({ key: Buffer.from(privateKey), format: 'der', type: 'pkcs8' });
          expect(hex(createPublicKey(priv).export({ format: 'der', type: 'spki' })), s).toBe(hex(publicKey));
          if (s.startsWith('RSA')) expect(priv.asymmetricKeyDetails!.modulusLength).toBe(RSA_BITS[s as keyof typeof RSA_BITS]);
          else expect(priv.asymmetricKeyDetails!.namedCurve).toBe(OPENSSL_CURVE[s as keyof typeof OPENSSL_CURVE]);
          const k = await p.importKey(s, privateKey);
          expect(hex(await p.publicKey(k))).toBe(hex(publicKey));
        }
      }, 120_000);

      it('refuses secret specs', async () => {
        await rejects(p.generateKeyPairBytes('AES_256' as AsymmetricKeySpec), TypeError, 'expected an asymmetric key spec (RSA_* or ECC_*), got AES_256');
      });
    });

    describe('publicKey', () => {
      it('returns a copy; secret keys have none', async () => {
        const a = await p.publicKey(h.ECC_NIST_P384);
        a.fill(0);
        expect(hex(await p.publicKey(h.ECC_NIST_P384))).toBe(hex(K.ECC_NIST_P384.spki));
        await rejects(p.publicKey(h.AES_256), TypeError, 'publicKey needs an RSA_* or ECC_* key, got AES_256');
      });
    });
  });
}

/** PKCS#8 of a P-256 key with scalar d and no public key (RFC 5915 with the [1] field left out). */
function rebuildEcPkcs8(d: Uint8Array): Uint8Array {
  const ecKey = Buffer.concat([Buffer.from('30250201010420', 'hex'), d]);
  const inner = Buffer.concat([Buffer.of(0x04, ecKey.length), ecKey]);
  const alg = Buffer.from('301306072a8648ce3d020106082a8648ce3d030107', 'hex');
  const body = Buffer.concat([Buffer.from('020100', 'hex'), alg, inner]);
  return Buffer.concat([Buffer.of(0x30, body.length), body]);
}
