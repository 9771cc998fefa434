// RSA (src/crypto/rsa.ts over the WASM RSA core): Wycheproof PKCS#1 v1.5, PSS and OAEP vectors;
// node:crypto (OpenSSL) as the oracle both ways at 2048, 3072 and 4096 bits for PKCS#1 v1.5 and PSS
// with SHA-256/384/512 and OAEP with SHA-1/256/384/512 (node-forge for MGF1 hashes node cannot set);
// generated keys in node; tampering; one DecryptionError for every OAEP failure; no secret left in
// WASM memory; argument checks.
import {
  constants,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  privateDecrypt,
  publicEncrypt,
  randomBytes,
  sign as nodeSign,
  verify as nodeVerify,
  type KeyObject,
} from 'node:crypto';
import forge from 'node-forge';
import { describe, expect, it } from 'vitest';
import { emeOaepEncode, RSA_HASH, type RsaHashName } from '../../src/crypto/_rsa-pad.js';
import { mem, region, wipe } from '../../src/crypto/_wasm.js';
import { DecryptionError, InvalidKeyError, rsa, rsaKeys } from '../../src/crypto/index.js';
import { hex, loadWycheproof, type WycheproofCase } from '../vectors/wycheproof.js';

type SignHash = 'SHA-256' | 'SHA-384' | 'SHA-512';
const SIGN_HASHES: SignHash[] = ['SHA-256', 'SHA-384', 'SHA-512'];
const nodeHash = (h: RsaHashName): string => h.replace('-', '').toLowerCase();

interface TestKey {
  bits: number;
  node: KeyObject;
  nodePub: KeyObject;
  pkcs8: Uint8Array;
  pkcs1: Uint8Array;
  spki: Uint8Array;
}

function nodeKey(bits: number): TestKey {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: bits });
  return {
    bits,
    node: privateKey,
    nodePub: publicKey,
    pkcs8: privateKey.export({ format: 'der', type: 'pkcs8' }),
    pkcs1: privateKey.export({ format: 'der', type: 'pkcs1' }),
    spki: publicKey.export({ format: 'der', type: 'spki' }),
  };
}

// Generated once per file. The case counts per size shrink as private operations get dearer.
const SIZES = [
  { key: nodeKey(2048), other: nodeKey(2048), sigs: 12, verifies: 60, oaep: 8 },
  { key: nodeKey(3072), other: nodeKey(3072), sigs: 5, verifies: 30, oaep: 4 },
  { key: nodeKey(4096), other: nodeKey(4096), sigs: 3, verifies: 20, oaep: 3 },
];

const msgOf = (i: number): Uint8Array => randomBytes(i * 7);
const flip = (b: Uint8Array, bit: number): Uint8Array => {
  const c = Uint8Array.from(b);
  c[bit >> 3]! ^= 1 << (bit & 7);
  return c;
};

// ---- Wycheproof ----

interface SigGroup {
  publicKeyDer: string;
  sha: string;
  sLen?: number;
  tests: (WycheproofCase & { msg: string; sig: string })[];
}

interface OaepGroup {
  privateKeyPkcs8: string;
  sha: string;
  mgfSha: string;
  tests: (WycheproofCase & { msg: string; ct: string; label: string })[];
}

describe('Wycheproof', () => {
  // "acceptable" in the PKCS#1 v1.5 file is one case, a DigestInfo without the NULL parameters
  // (MissingNull): refused, because verification compares against the one DER encoding we would write.
  const pkcs1File = 'rsa_signature_2048_sha256_test.json';
  const pkcs1 = loadWycheproof<SigGroup>(pkcs1File);
  for (const g of pkcs1.testGroups) {
    for (const t of g.tests) {
      it(`Wycheproof/${pkcs1File}/${t.tcId}`, () => {
        const ok = rsa.verify({ scheme: 'pkcs1', hash: g.sha as SignHash }, hex(g.publicKeyDer), hex(t.msg), hex(t.sig));
        expect(ok).toBe(t.result === 'valid');
      });
    }
  }

  const pssFile = 'rsa_pss_2048_sha256_mgf1_32_test.json';
  const pss = loadWycheproof<SigGroup>(pssFile);
  for (const g of pss.testGroups) {
    for (const t of g.tests) {
      it(`Wycheproof/${pssFile}/${t.tcId}`, () => {
        const ok = rsa.verify({ scheme: 'pss', hash: g.sha as SignHash, saltLength: g.sLen! }, hex(g.publicKeyDer), hex(t.msg), hex(t.sig));
        expect(ok).toBe(t.result === 'valid');
      });
    }
  }

  const oaepFile = 'rsa_oaep_2048_sha256_mgf1sha256_test.json';
  const oaep = loadWycheproof<OaepGroup>(oaepFile);
  for (const g of oaep.testGroups) {
    const params = { scheme: 'oaep', hash: g.sha as RsaHashName, mgfHash: g.mgfSha as RsaHashName } as const;
    for (const t of g.tests) {
      it(`Wycheproof/${oaepFile}/${t.tcId}`, () => {
        const run = () => rsa.decrypt({ ...params, label: hex(t.label) }, hex(g.privateKeyPkcs8), hex(t.ct));
        if (t.result === 'valid') expect(Buffer.from(run()).toString('hex')).toBe(t.msg);
        else expect(run).toThrow(new DecryptionError());
      });
    }
  }

  it('reads every case of the three files', () => {
    const n = (f: { testGroups: { tests: unknown[] }[] }) => f.testGroups.reduce((s, g) => s + g.tests.length, 0);
    expect([n(pkcs1), n(pss), n(oaep)]).toEqual([pkcs1.numberOfTests, pss.numberOfTests, oaep.numberOfTests]);
  });
});

// ---- node:crypto both ways ----

for (const { key, other, sigs, verifies } of SIZES) {
  describe(`RSA-${key.bits} signatures against node:crypto`, () => {
    for (const hash of SIGN_HASHES) {
      const nh = nodeHash(hash);

      it(`PKCS#1 v1.5 ${hash}: byte-identical to node, verified by node (${sigs} messages)`, () => {
        for (let i = 0; i < sigs; i++) {
          const m = msgOf(i);
          const sig = rsa.sign({ scheme: 'pkcs1', hash }, i % 2 ? key.pkcs1 : key.pkcs8, m);
          expect(Buffer.from(sig).equals(nodeSign(nh, m, key.node))).toBe(true);
          expect(nodeVerify(nh, m, key.nodePub, sig)).toBe(true);
        }
      });

      it(`PKCS#1 v1.5 ${hash}: node's signatures verify here; tampering refused (${verifies} messages)`, () => {
        for (let i = 0; i < verifies; i++) {
          const m = msgOf(i);
          const sig = nodeSign(nh, m, key.node);
          const pub = [key.spki, key.nodePub, rsaKeys.pkcs1(key.spki)][i % 3]!;
          expect(rsa.verify({ scheme: 'pkcs1', hash }, pub, m, sig)).toBe(true);
          expect(rsa.verify({ scheme: 'pkcs1', hash }, pub, m, flip(sig, i * 13 % (8 * sig.length)))).toBe(false);
          expect(rsa.verify({ scheme: 'pkcs1', hash }, pub, flip(Uint8Array.of(...m, 0), i), sig)).toBe(false);
          expect(rsa.verify({ scheme: 'pkcs1', hash }, other.spki, m, sig)).toBe(false);
          expect(rsa.verify({ scheme: 'pss', hash }, pub, m, sig)).toBe(false);
        }
      });

      it(`PSS ${hash}: verified by node with the default and other salt lengths (${sigs} messages)`, () => {
        const hLen = RSA_HASH[hash].len;
        for (let i = 0; i < sigs; i++) {
          const m = msgOf(i);
          const saltLength = [hLen, 0, 20, 2 * hLen][i % 4]!;
          const params = i % 4 === 0 ? { scheme: 'pss' as const, hash } : { scheme: 'pss' as const, hash, saltLength };
          const sig = rsa.sign(params, key.pkcs8, m);
          expect(nodeVerify(nh, m, { key: key.nodePub, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength }, sig)).toBe(true);
          expect(rsa.verify({ scheme: 'pss', hash, saltLength }, key.spki, m, sig)).toBe(true);
          // Randomized: a second signature differs and verifies too.
          expect(Buffer.from(rsa.sign(params, key.pkcs8, m)).equals(Buffer.from(sig))).toBe(saltLength === 0);
        }
      });

      it(`PSS ${hash}: node's signatures verify here (salt recovered or required); tampering refused (${verifies} messages)`, () => {
        for (let i = 0; i < verifies; i++) {
          const m = msgOf(i);
          const saltLength = [RSA_HASH[hash].len, 0, 17, constants.RSA_PSS_SALTLEN_MAX_SIGN][i % 4]!;
          const sig = nodeSign(nh, m, { key: key.node, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength });
          expect(rsa.verify({ scheme: 'pss', hash }, key.nodePub, m, sig)).toBe(true);
          if (saltLength >= 0) {
            expect(rsa.verify({ scheme: 'pss', hash, saltLength }, key.spki, m, sig)).toBe(true);
            expect(rsa.verify({ scheme: 'pss', hash, saltLength: saltLength + 1 }, key.spki, m, sig)).toBe(false);
          }
          expect(rsa.verify({ scheme: 'pss', hash }, key.spki, m, flip(sig, i * 29 % (8 * sig.length)))).toBe(false);
          expect(rsa.verify({ scheme: 'pss', hash }, key.spki, Uint8Array.of(...m, 1), sig)).toBe(false);
          expect(rsa.verify({ scheme: 'pss', hash }, other.spki, m, sig)).toBe(false);
          expect(rsa.verify({ scheme: 'pkcs1', hash }, key.spki, m, sig)).toBe(false);
        }
      });
    }
  });
}

// ---- OAEP ----

const OAEP_HASHES: RsaHashName[] = ['SHA-1', 'SHA-256', 'SHA-384', 'SHA-512'];

for (const { key, other, oaep: count } of SIZES) {
  describe(`RSA-${key.bits} OAEP against node:crypto`, () => {
    const k = key.bits / 8;
    for (const hash of OAEP_HASHES) {
      const max = k - 2 * RSA_HASH[hash].len - 2;
      const lengths = [0, 1, max, ...Array.from({ length: count }, (_, i) => (i * 37) % max)];

      it(`${hash}: ciphertexts decrypt in node and node's decrypt here, with and without label (${lengths.length * 2} each way)`, () => {
        for (const [i, len] of lengths.entries()) {
          for (const label of [undefined, randomBytes(1 + i)]) {
            const m = randomBytes(len);
            const params = label ? { scheme: 'oaep' as const, hash, label } : { scheme: 'oaep' as const, hash };
            const nodeOpts = { oaepHash: nodeHash(hash), padding: constants.RSA_PKCS1_OAEP_PADDING, ...(label ? { oaepLabel: label } : {}) };
            const ct = rsa.encrypt(params, i % 2 ? key.spki : key.nodePub, m);
            expect(ct.length).toBe(k);
            expect(Buffer.from(privateDecrypt({ key: key.node, ...nodeOpts }, ct)).equals(Buffer.from(m))).toBe(true);
            const nct = publicEncrypt({ key: key.nodePub, ...nodeOpts }, m);
            expect(Buffer.from(rsa.decrypt(params, i % 2 ? key.pkcs1 : key.node, nct)).equals(Buffer.from(m))).toBe(true);
          }
        }
      });

      it(`${hash}: one byte over the limit is a RangeError`, () => {
        expect(() => rsa.encrypt({ scheme: 'oaep', hash }, key.spki, new Uint8Array(max + 1))).toThrow(RangeError);
      });

      it(`${hash}: tampered ciphertext, wrong label, wrong key and wrong hash give DecryptionError`, () => {
        const m = randomBytes(Math.min(32, max));
        const label = randomBytes(8);
        const ct = rsa.encrypt({ scheme: 'oaep', hash, label }, key.spki, m);
        const fail = (f: () => unknown) => expect(f).toThrow(new DecryptionError());
        for (let bit = 0; bit < 8 * k; bit += (8 * k) / 8 + 3) fail(() => rsa.decrypt({ scheme: 'oaep', hash, label }, key.pkcs8, flip(ct, bit)));
        fail(() => rsa.decrypt({ scheme: 'oaep', hash }, key.pkcs8, ct));
        fail(() => rsa.decrypt({ scheme: 'oaep', hash, label: flip(label, 3) }, key.pkcs8, ct));
        fail(() => rsa.decrypt({ scheme: 'oaep', hash, label }, other.pkcs8, ct));
        fail(() => rsa.decrypt({ scheme: 'oaep', hash: hash === 'SHA-1' ? 'SHA-256' : 'SHA-1', label }, key.pkcs8, ct));
      });
    }

    it('MGF1 with another hash than the label hash: interoperates with node-forge both ways', () => {
      const fKey = forge.pki.privateKeyFromPem(key.node.export({ format: 'pem', type: 'pkcs8' }) as string);
      const fPub = forge.pki.setRsaPublicKey(fKey.n, fKey.e);
      const pairs: [RsaHashName, RsaHashName][] = [['SHA-256', 'SHA-1'], ['SHA-1', 'SHA-256'], ['SHA-512', 'SHA-256']];
      for (const [hash, mgfHash] of pairs) {
        const md = () => forge.md[nodeHash(hash) as 'sha256'].create();
        const mgfMd = () => forge.md[nodeHash(mgfHash) as 'sha256'].create();
        const m = randomBytes(20);
        const ct = rsa.encrypt({ scheme: 'oaep', hash, mgfHash }, key.spki, m);
        const back = fKey.decrypt(forge.util.binary.raw.encode(ct), 'RSA-OAEP', { md: md(), mgf1: { md: mgfMd() } });
        expect(Buffer.from(back, 'binary').equals(m)).toBe(true);
        const fct = fPub.encrypt(forge.util.binary.raw.encode(m), 'RSA-OAEP', { md: md(), mgf1: { md: mgfMd() } });
        expect(Buffer.from(rsa.decrypt({ scheme: 'oaep', hash, mgfHash }, key.pkcs8, Buffer.from(fct, 'binary'))).equals(m)).toBe(true);
        expect(() => rsa.decrypt({ scheme: 'oaep', hash }, key.pkcs8, ct)).toThrow(new DecryptionError());
      }
    });
  });
}

// ---- One error for every OAEP failure ----

describe('OAEP decryption failures are indistinguishable', () => {
  const { key } = SIZES[0]!;
  const k = 256;
  const hash = 'SHA-256' as const;
  const hLen = 32;
  /** The ciphertext of an encoded message chosen here, by node's raw RSA (no padding). */
  const raw = (em: Uint8Array) => publicEncrypt({ key: key.nodePub, padding: constants.RSA_NO_PADDING }, em);
  const valid = () => emeOaepEncode(hash, hash, new Uint8Array(0), Uint8Array.of(1, 2, 3), randomBytes(hLen), k);
  /** An encoded message whose DB (unmasked) is given, so each padding defect can be built. */
  const withDb = (db: Uint8Array, y = 0) => {
    const seed = randomBytes(hLen);
    const em = emeOaepEncode(hash, hash, new Uint8Array(0), new Uint8Array(0), seed, k);
    // Rebuild from a DB of our choice: mask it as §7.1.1 does, with the same MGF1.
    const dbMask = mgf(seed, k - hLen - 1);
    const maskedDb = db.map((b, i) => b ^ dbMask[i]!);
    const seedMask = mgf(maskedDb, hLen);
    em[0] = y;
    em.set(seed.map((b, i) => b ^ seedMask[i]!), 1);
    em.set(maskedDb, 1 + hLen);
    return em;
  };
  const mgf = (seed: Uint8Array, len: number) => {
    const out = new Uint8Array(len);
    for (let c = 0, off = 0; off < len; c++, off += hLen) {
      const ctr = new Uint8Array(4);
      new DataView(ctr.buffer).setUint32(0, c);
      out.set(RSA_HASH[hash].digest(Uint8Array.of(...seed, ...ctr)).subarray(0, Math.min(hLen, len - off)), off);
    }
    return out;
  };
  const lHash = RSA_HASH[hash].digest(new Uint8Array(0));
  const goodDb = () => {
    const db = new Uint8Array(k - hLen - 1);
    db.set(lHash);
    db[db.length - 4] = 0x01;
    db.set([7, 8, 9], db.length - 3);
    return db;
  };

  it('the constructed encoded message decrypts when nothing is broken (positive control)', () => {
    expect(rsa.decrypt({ scheme: 'oaep', hash }, key.pkcs8, raw(withDb(goodDb())))).toEqual(Uint8Array.of(7, 8, 9));
    expect(rsa.decrypt({ scheme: 'oaep', hash }, key.pkcs8, raw(valid()))).toEqual(Uint8Array.of(1, 2, 3));
  });

  const cases: [string, () => Uint8Array][] = [
    ['Y ≠ 0', () => raw(withDb(goodDb(), 1))],
    ['lHash mismatch', () => raw(withDb(goodDb().map((b, i) => (i === 5 ? b ^ 1 : b))))],
    ['no 0x01 separator', () => raw(withDb(goodDb().map((b, i, a) => (i === a.length - 4 ? 0 : b))))],
    ['only zeros after lHash', () => raw(withDb(goodDb().map((b, i) => (i < hLen ? b : 0))))],
    ['nonzero byte before the separator', () => raw(withDb(goodDb().map((b, i) => (i === hLen + 3 ? 2 : b))))],
    ['separator 0x02', () => raw(withDb(goodDb().map((b, i, a) => (i === a.length - 4 ? 2 : b))))],
    ['ciphertext one byte short', () => raw(valid()).subarray(1)],
    ['ciphertext one byte long', () => Uint8Array.of(0, ...raw(valid()))],
    ['ciphertext ≥ n', () => new Uint8Array(k).fill(0xff)],
    ['ciphertext = n', () => rsaKeysModulus()],
    ['empty ciphertext', () => new Uint8Array(0)],
  ];
  const rsaKeysModulus = () => {
    const jwk = rsaKeys.toJwk(key.spki);
    return Uint8Array.from(Buffer.from(jwk.n, 'base64url'));
  };
  for (const [name, ct] of cases) {
    it(`${name}: DecryptionError('decryption error')`, () => {
      let caught: unknown;
      try {
        rsa.decrypt({ scheme: 'oaep', hash }, key.pkcs8, ct());
      } catch (e) {
        caught = e;
      }
      expect(caught).toBeInstanceOf(DecryptionError);
      expect((caught as Error).message).toBe('decryption error');
      expect((caught as Error).name).toBe('DecryptionError');
    });
  }
});

// ---- Generated keys ----

describe('rsa.generateKeyPair', () => {
  for (const bits of [2048, 3072, 4096] as const) {
    it(`${bits} bits: node imports both halves; signatures and ciphertexts cross both ways`, () => {
      const { privateKey, publicKey } = rsa.generateKeyPair(bits);
      const priv = createPrivateKey({ key: Buffer.from(privateKey), format: 'der', type: 'pkcs8' });
      const pub = createPublicKey({ key: Buffer.from(publicKey), format: 'der', type: 'spki' });
      expect(priv.asymmetricKeyDetails).toMatchObject({ modulusLength: bits, publicExponent: 65537n });
      expect(Buffer.from(createPublicKey(priv).export({ format: 'der', type: 'spki' })).equals(Buffer.from(publicKey))).toBe(true);
      const m = randomBytes(100);
      const sig = rsa.sign({ scheme: 'pkcs1', hash: 'SHA-256' }, privateKey, m);
      expect(Buffer.from(sig).equals(nodeSign('sha256', m, priv))).toBe(true);
      expect(nodeVerify('sha256', m, pub, sig)).toBe(true);
      const nsig = nodeSign('sha384', m, { key: priv, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 48 });
      expect(rsa.verify({ scheme: 'pss', hash: 'SHA-384' }, publicKey, m, nsig)).toBe(true);
      const ct = publicEncrypt({ key: pub, oaepHash: 'sha256' }, m);
      expect(Buffer.from(rsa.decrypt({ scheme: 'oaep', hash: 'SHA-256' }, privateKey, ct)).equals(m)).toBe(true);
    });
  }

  it('two key pairs differ', () => {
    const a = rsa.generateKeyPair(2048);
    const b = rsa.generateKeyPair(2048);
    expect(Buffer.from(a.publicKey).equals(Buffer.from(b.publicKey))).toBe(false);
  });

  it('refuses other sizes', () => {
    expect(() => rsa.generateKeyPair(1024 as 2048)).toThrow(RangeError);
    expect(() => rsa.generateKeyPair('2048' as unknown as 2048)).toThrow(TypeError);
  });
});

// ---- Wiping ----

describe('no secret left in WASM memory', () => {
  it('after import, signing and OAEP decryption: no prime, CRT exponent, d or plaintext (with a positive control)', () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pkcs8 = privateKey.export({ format: 'der', type: 'pkcs8' });
    const jwk = privateKey.export({ format: 'jwk' }) as Record<string, string>;
    const plaintext = randomBytes(32);
    const ct = publicEncrypt({ key: publicKey, oaepHash: 'sha256' }, plaintext);
    rsaKeys.pkcs1(pkcs8);
    rsa.sign({ scheme: 'pkcs1', hash: 'SHA-256' }, pkcs8, randomBytes(10));
    rsa.sign({ scheme: 'pss', hash: 'SHA-512' }, privateKey, randomBytes(10));
    expect(Buffer.from(rsa.decrypt({ scheme: 'oaep', hash: 'SHA-256' }, pkcs8, ct)).equals(plaintext)).toBe(true);
    const needles = [...['p', 'q', 'dp', 'dq', 'qi', 'd'].map((f) => Buffer.from(jwk[f]!, 'base64url').subarray(0, 16)), plaintext.subarray(0, 16)];
    const found = () => needles.filter((x) => Buffer.from(mem().buffer).indexOf(x) >= 0).length;
    expect(found()).toBe(0);
    // Positive control: the scan does find a needle that is in memory.
    const at = region('IN');
    mem().set(needles[0]!, at);
    expect(found()).toBe(1);
    wipe(at, 16);
  });
});

// ---- Arguments ----

describe('argument checks', () => {
  const { key } = SIZES[0]!;
  const m = new Uint8Array(3);
  const sig = rsa.sign({ scheme: 'pkcs1', hash: 'SHA-256' }, key.pkcs8, m);

  it('wrong types are TypeErrors', () => {
    const bad = (f: () => unknown) => expect(f).toThrow(TypeError);
    bad(() => rsa.sign(null as never, key.pkcs8, m));
    bad(() => rsa.sign({ scheme: 'raw' as 'pss', hash: 'SHA-256' }, key.pkcs8, m));
    bad(() => rsa.sign({ scheme: 'pkcs1', hash: 'SHA-1' as 'SHA-256' }, key.pkcs8, m));
    bad(() => rsa.sign({ scheme: 'pkcs1', hash: 'SHA-256', saltLength: 32 }, key.pkcs8, m));
    bad(() => rsa.sign({ scheme: 'pss', hash: 'SHA-256', saltLength: 1.5 }, key.pkcs8, m));
    bad(() => rsa.sign({ scheme: 'pkcs1', hash: 'SHA-256' }, 'key' as never, m));
    bad(() => rsa.sign({ scheme: 'pkcs1', hash: 'SHA-256' }, key.pkcs8, 'msg' as never));
    bad(() => rsa.verify({ scheme: 'pkcs1', hash: 'MD5' as 'SHA-1' }, key.spki, m, sig));
    bad(() => rsa.verify({ scheme: 'pkcs1', hash: 'SHA-256' }, {} as never, m, sig));
    bad(() => rsa.verify({ scheme: 'pkcs1', hash: 'SHA-256' }, key.spki, m, [1, 2] as never));
    bad(() => rsa.encrypt({ scheme: 'pkcs1' as 'oaep', hash: 'SHA-256' }, key.spki, m));
    bad(() => rsa.encrypt({ scheme: 'oaep', hash: 'SHA-256', label: 'l' as never }, key.spki, m));
    bad(() => rsa.encrypt({ scheme: 'oaep', hash: 'SHA-256', mgfHash: 'SHA-3' as 'SHA-1' }, key.spki, m));
    bad(() => rsa.decrypt({ scheme: 'oaep', hash: 'SHA-256' }, key.pkcs8, null as never));
  });

  it('malformed or mismatched keys and signatures verify as false', () => {
    const v = (pub: Uint8Array | KeyObject, s = sig) => rsa.verify({ scheme: 'pkcs1', hash: 'SHA-256' }, pub, m, s);
    expect(v(key.spki)).toBe(true);
    expect(v(key.pkcs8)).toBe(true); // a private key's public half
    expect(v(key.spki.subarray(0, 100))).toBe(false);
    expect(v(new Uint8Array(0))).toBe(false);
    expect(v(generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey)).toBe(false);
    expect(v(key.spki, sig.subarray(1))).toBe(false);
    expect(v(key.spki, Uint8Array.of(0, ...sig))).toBe(false);
    expect(v(key.spki, new Uint8Array(256).fill(0xff))).toBe(false);
    expect(v(key.spki, new Uint8Array(0))).toBe(false);
  });

  it('a too-long PSS salt is a RangeError', () => {
    expect(() => rsa.sign({ scheme: 'pss', hash: 'SHA-512', saltLength: 256 - 64 - 1 }, key.pkcs8, m)).toThrow(RangeError);
    const s = rsa.sign({ scheme: 'pss', hash: 'SHA-512', saltLength: 256 - 64 - 2 }, key.pkcs8, m);
    expect(rsa.verify({ scheme: 'pss', hash: 'SHA-512' }, key.spki, m, s)).toBe(true);
  });

  it('signing with a bad private key is an InvalidKeyError', () => {
    expect(() => rsa.sign({ scheme: 'pkcs1', hash: 'SHA-256' }, key.spki, m)).toThrow(InvalidKeyError);
    expect(() => rsa.decrypt({ scheme: 'oaep', hash: 'SHA-256' }, key.pkcs8.subarray(1), new Uint8Array(256))).toThrow(InvalidKeyError);
  });
});

// ---- Prehashed messages ----

describe('prehashed (the message is already the digest)', () => {
  const { key, other } = SIZES[0]!;
  for (const hash of SIGN_HASHES) {
    const nh = nodeHash(hash);
    it(`${hash}: PKCS#1 v1.5 of the digest is byte-identical to node's of the message; PSS both ways`, () => {
      const m = randomBytes(100);
      const digest = RSA_HASH[hash].digest(m);
      const sig = rsa.sign({ scheme: 'pkcs1', hash, prehashed: true }, key.pkcs8, digest);
      expect(Buffer.from(sig).equals(nodeSign(nh, m, key.node))).toBe(true);
      expect(rsa.verify({ scheme: 'pkcs1', hash, prehashed: true }, key.spki, digest, nodeSign(nh, m, key.node))).toBe(true);
      expect(rsa.verify({ scheme: 'pkcs1', hash, prehashed: true }, other.spki, digest, sig)).toBe(false);

      const pssOpts = { key: key.nodePub, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: RSA_HASH[hash].len };
      const pss = rsa.sign({ scheme: 'pss', hash, prehashed: true }, key.pkcs8, digest);
      expect(nodeVerify(nh, m, pssOpts, pss)).toBe(true);
      const theirs = nodeSign(nh, m, { ...pssOpts, key: key.node });
      expect(rsa.verify({ scheme: 'pss', hash, prehashed: true }, key.spki, digest, theirs)).toBe(true);
      // Without the option the digest would be hashed again.
      expect(rsa.verify({ scheme: 'pss', hash }, key.spki, digest, theirs)).toBe(false);
      expect(rsa.verify({ scheme: 'pss', hash, prehashed: true }, key.spki, flip(digest, 3), theirs)).toBe(false);
    });
  }

  it('a digest of the wrong length is a RangeError naming the expected length', () => {
    const d32 = new Uint8Array(32);
    expect(() => rsa.sign({ scheme: 'pss', hash: 'SHA-384', prehashed: true }, SIZES[0]!.key.pkcs8, d32)).toThrow(
      new RangeError('expected a 48-byte SHA-384 digest as the prehashed msg, got 32 bytes'),
    );
    expect(() => rsa.sign({ scheme: 'pkcs1', hash: 'SHA-256', prehashed: true }, SIZES[0]!.key.pkcs8, new Uint8Array(33))).toThrow(RangeError);
    expect(() => rsa.verify({ scheme: 'pkcs1', hash: 'SHA-512', prehashed: true }, SIZES[0]!.key.spki, d32, new Uint8Array(256))).toThrow(/64-byte SHA-512 digest/);
  });
});
