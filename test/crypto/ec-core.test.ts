// The WASM EC core (assembly/ec.ts, ecdsa.ts, ecdh.ts) called through EC_BUF, against node:crypto
// (OpenSSL) as the oracle, for P-256, P-384, P-521 and secp256k1: public keys, ECDH, signatures both
// ways, tampering, invalid points and scalars, decompression.
import { ECDH, createECDH, createHash, createPrivateKey, createPublicKey, randomBytes, sign as nodeSign, verify as nodeVerify } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { mem, region, wasm } from '../../src/crypto/_wasm.js';
import { hex, loadWycheproof, type WycheproofCase } from '../vectors/wycheproof.js';

type Fn = (...args: number[]) => number;
const core = wasm as Record<string, Fn>;
const BUF = region('EC_BUF');
const [A, B, C, D] = [BUF, BUF + 136, BUF + 272, BUF + 408];

interface CurveCase {
  id: number;
  name: string;
  ossl: string;
  L: number;
  hash: string;
  p: bigint;
  n: bigint;
}
const CURVES: CurveCase[] = [
  { id: 0, name: 'P-256', ossl: 'prime256v1', L: 32, hash: 'sha256', p: 2n ** 256n - 2n ** 224n + 2n ** 192n + 2n ** 96n - 1n, n: 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n },
  { id: 1, name: 'P-384', ossl: 'secp384r1', L: 48, hash: 'sha384', p: 2n ** 384n - 2n ** 128n - 2n ** 96n + 2n ** 32n - 1n, n: 0xffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973n },
  { id: 2, name: 'P-521', ossl: 'secp521r1', L: 66, hash: 'sha512', p: 2n ** 521n - 1n, n: 0x1fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffa51868783bf2f966b7fcc0148f709a5d03bb5c9b8899c47aebb6fb71e91386409n },
  { id: 3, name: 'secp256k1', ossl: 'secp256k1', L: 32, hash: 'sha256', p: 2n ** 256n - 2n ** 32n - 977n, n: 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n },
];

const be = (x: bigint, L: number): Buffer => Buffer.from(x.toString(16).padStart(2 * L, '0'), 'hex');
const num = (b: Uint8Array): bigint => BigInt(`0x${Buffer.from(b).toString('hex') || '0'}`);
const put = (at: number, x: Uint8Array): number => {
  mem().set(x, at);
  return at;
};
const get = (at: number, len: number): Buffer => Buffer.from(mem().slice(at, at + len));

// A random scalar in [1, n − 1].
function scalar(c: CurveCase): Buffer {
  for (;;) {
    const d = randomBytes(c.L);
    if (c.id === 2) d[0]! &= 1;
    const v = num(d);
    if (v > 0n && v < c.n) return d;
  }
}

const publicKey = (c: CurveCase, d: Uint8Array): Buffer | null =>
  core.ecPublicKey!(c.id, put(B, d), D) === 1 ? get(D, 2 * c.L) : null;
const signRaw = (c: CurveCase, d: Uint8Array, k: Uint8Array, e: Uint8Array): Buffer | null =>
  core.ecdsaSign!(c.id, put(A, d), put(B, k), put(C, e), e.length, D) === 1 ? get(D, 2 * c.L) : null;
const verifyRaw = (c: CurveCase, q: Uint8Array, e: Uint8Array, sig: Uint8Array): boolean =>
  core.ecdsaVerify!(c.id, put(A, q), put(C, e), e.length, put(D, sig)) === 1;
const ecdhRaw = (c: CurveCase, d: Uint8Array, q: Uint8Array): Buffer | null =>
  core.ecdh!(c.id, put(B, d), put(A, q), D) === 1 ? get(D, c.L) : null;
const pointValid = (c: CurveCase, q: Uint8Array): boolean => core.ecPointValid!(c.id, put(A, q)) === 1;
const decompress = (c: CurveCase, x: Uint8Array, yOdd: number): Buffer | null =>
  core.ecDecompress!(c.id, put(A, x), yOdd, D) === 1 ? get(D, 2 * c.L) : null;

function nodeKeyPair(c: CurveCase): { d: Buffer; q: Buffer } {
  const e = createECDH(c.ossl);
  e.generateKeys();
  return { d: e.getPrivateKey().length === c.L ? e.getPrivateKey() : Buffer.concat([Buffer.alloc(c.L - e.getPrivateKey().length), e.getPrivateKey()]), q: e.getPublicKey().subarray(1) };
}
const jwk = (c: CurveCase, q: Uint8Array) =>
  createPublicKey({
    key: { kty: 'EC', crv: c.name, x: Buffer.from(q.subarray(0, c.L)).toString('base64url'), y: Buffer.from(q.subarray(c.L)).toString('base64url') },
    format: 'jwk',
  });

for (const c of CURVES) {
  describe(c.name, () => {
    it('public keys match node:crypto for random d, d = 1, 2 and n − 1', () => {
      const ds = [be(1n, c.L), be(2n, c.L), be(c.n - 1n, c.L), be(c.n - 2n, c.L)];
      for (let i = 0; i < 40; i++) ds.push(scalar(c));
      for (const d of ds) {
        const want = createECDH(c.ossl).setPrivateKey(d).getPublicKey().subarray(1);
        expect(publicKey(c, d)?.toString('hex')).toBe(want.toString('hex'));
      }
    });

    it('public keys match node:crypto for d on the fixed-base digit boundaries (2^(7i)·j, n − 2^(7i)·j, top window 15)', () => {
      // The 256-bit curves add Jacobian points without the exceptional cases, on the argument that the
      // 7-bit signed digits never make them arise: these d put the digits at their extremes.
      const ds: bigint[] = [];
      for (let i = 0n; 7n * i < BigInt(8 * c.L); i++) {
        for (const j of [1n, 63n, 64n, 65n, 127n]) ds.push(j << (7n * i), c.n - (j << (7n * i)));
      }
      let all64 = 0n;
      for (let i = 0n; 7n * i < BigInt(8 * c.L); i++) all64 += 64n << (7n * i);
      ds.push(all64 % c.n, c.n - (all64 % c.n), (15n << BigInt(8 * c.L - 4)) + num(randomBytes(c.L)) % (1n << BigInt(8 * c.L - 4)));
      for (const d of ds.filter((x) => x > 0n && x < c.n)) {
        const want = createECDH(c.ossl).setPrivateKey(be(d, c.L)).getPublicKey().subarray(1);
        expect(publicKey(c, be(d, c.L))?.toString('hex')).toBe(want.toString('hex'));
      }
    });

    it('refuses d = 0, n, n + 1 and 2^(8L) − 1, zeroing the output', () => {
      for (const d of [0n, c.n, c.n + 1n, 2n ** BigInt(8 * c.L) - 1n]) {
        mem().fill(0xaa, D, D + 2 * c.L);
        expect(publicKey(c, be(d, c.L))).toBeNull();
        expect(get(D, 2 * c.L).every((b) => b === 0)).toBe(true);
      }
    });

    it('ECDH agrees with node:crypto computeSecret', () => {
      for (let i = 0; i < 20; i++) {
        const alice = createECDH(c.ossl);
        alice.generateKeys();
        const bob = nodeKeyPair(c);
        const want = alice.computeSecret(Buffer.concat([Buffer.of(4), bob.q]));
        const d = be(num(alice.getPrivateKey()), c.L);
        expect(ecdhRaw(c, d, bob.q)?.toString('hex')).toBe(want.toString('hex'));
      }
    });

    it('ECDH refuses bad scalars, off-curve points and coordinates ≥ p', () => {
      const { q } = nodeKeyPair(c);
      const d = scalar(c);
      expect(ecdhRaw(c, d, q)).not.toBeNull();
      for (const bad of [0n, c.n]) expect(ecdhRaw(c, be(bad, c.L), q)).toBeNull();
      const off = Buffer.from(q);
      off[2 * c.L - 1]! ^= 1;
      expect(ecdhRaw(c, d, off)).toBeNull();
      expect(ecdhRaw(c, d, Buffer.alloc(2 * c.L))).toBeNull();
      // x + p: the same residue as a valid x, but not a canonical coordinate.
      const x = num(q.subarray(0, c.L));
      if (x + c.p < 2n ** BigInt(8 * c.L)) expect(ecdhRaw(c, d, Buffer.concat([be(x + c.p, c.L), q.subarray(c.L)]))).toBeNull();
    });

    it('signatures made here verify in node:crypto, and node signatures verify here', () => {
      const { d, q } = nodeKeyPair(c);
      expect(publicKey(c, d)?.toString('hex')).toBe(q.toString('hex'));
      const key = jwk(c, q);
      for (let i = 0; i < 25; i++) {
        const msg = randomBytes(1 + i);
        const e = createHash(c.hash).update(msg).digest();
        const sig = signRaw(c, d, scalar(c), e);
        expect(sig).not.toBeNull();
        expect(nodeVerify(c.hash, msg, { key, dsaEncoding: 'ieee-p1363' }, sig!)).toBe(true);
        expect(verifyRaw(c, q, e, sig!)).toBe(true);
      }
      const priv = nodePrivate(c, d, q);
      for (let i = 0; i < 25; i++) {
        const msg = randomBytes(40);
        const sig = nodeSign(c.hash, msg, { key: priv, dsaEncoding: 'ieee-p1363' });
        expect(verifyRaw(c, q, createHash(c.hash).update(msg).digest(), sig)).toBe(true);
      }
    });

    it('bits2int: hashes longer and shorter than n, checked by node:crypto', () => {
      const { d, q } = nodeKeyPair(c);
      const key = jwk(c, q);
      for (const h of ['sha1', 'sha224', 'sha256', 'sha384', 'sha512']) {
        const msg = randomBytes(33);
        const e = createHash(h).update(msg).digest();
        const sig = signRaw(c, d, scalar(c), e)!;
        expect(nodeVerify(h, msg, { key, dsaEncoding: 'ieee-p1363' }, sig), h).toBe(true);
        expect(verifyRaw(c, q, e, sig), h).toBe(true);
      }
    });

    it('tampered r, s, e and Q are rejected; r, s outside [1, n − 1] are rejected', () => {
      const { d, q } = nodeKeyPair(c);
      const e = createHash(c.hash).update('message').digest();
      const sig = signRaw(c, d, scalar(c), e)!;
      expect(verifyRaw(c, q, e, sig)).toBe(true);
      for (const i of [0, c.L - 1, c.L, 2 * c.L - 1]) {
        const t = Buffer.from(sig);
        t[i]! ^= 0x10;
        expect(verifyRaw(c, q, e, t)).toBe(false);
      }
      const e2 = Buffer.from(e);
      e2[5]! ^= 1;
      expect(verifyRaw(c, q, e2, sig)).toBe(false);
      expect(verifyRaw(c, nodeKeyPair(c).q, e, sig)).toBe(false);
      const offQ = Buffer.from(q);
      offQ[c.L]! ^= 4;
      expect(verifyRaw(c, offQ, e, sig)).toBe(false);
      const r = sig.subarray(0, c.L);
      const s = sig.subarray(c.L);
      for (const bad of [0n, c.n, c.n + num(r)]) {
        if (bad < 2n ** BigInt(8 * c.L)) {
          expect(verifyRaw(c, q, e, Buffer.concat([be(bad, c.L), s]))).toBe(false);
          expect(verifyRaw(c, q, e, Buffer.concat([r, be(bad, c.L)]))).toBe(false);
        }
      }
      // −s is the other valid signature (the group has no preferred s here).
      expect(verifyRaw(c, q, e, Buffer.concat([r, be(c.n - num(s), c.L)]))).toBe(true);
    });

    it('signing refuses d or k outside [1, n − 1] and accepts the edges 1 and n − 1', () => {
      const e = createHash(c.hash).update('edge').digest();
      for (const d of [1n, c.n - 1n]) {
        const q = publicKey(c, be(d, c.L))!;
        for (const k of [1n, 2n, c.n - 1n]) {
          const sig = signRaw(c, be(d, c.L), be(k, c.L), e);
          expect(sig).not.toBeNull();
          expect(nodeVerify(c.hash, Buffer.from('edge'), { key: jwk(c, q), dsaEncoding: 'ieee-p1363' }, sig!)).toBe(true);
        }
      }
      const k = scalar(c);
      for (const bad of [0n, c.n, c.n + 1n]) {
        expect(signRaw(c, be(bad, c.L), k, e)).toBeNull();
        expect(signRaw(c, scalar(c), be(bad, c.L), e)).toBeNull();
      }
    });

    it('point validation: on-curve points pass, others and coordinates ≥ p fail', () => {
      for (let i = 0; i < 10; i++) expect(pointValid(c, nodeKeyPair(c).q)).toBe(true);
      const { q } = nodeKeyPair(c);
      const y = num(q.subarray(c.L));
      expect(pointValid(c, Buffer.concat([q.subarray(0, c.L), be(c.p - y, c.L)]))).toBe(true);
      expect(pointValid(c, Buffer.concat([q.subarray(0, c.L), be((y + 1n) % c.p, c.L)]))).toBe(false);
      expect(pointValid(c, Buffer.alloc(2 * c.L))).toBe(false);
      if (y + c.p < 2n ** BigInt(8 * c.L)) expect(pointValid(c, Buffer.concat([q.subarray(0, c.L), be(y + c.p, c.L)]))).toBe(false);
      expect(pointValid(c, Buffer.concat([be(c.p, c.L), q.subarray(c.L)]))).toBe(false);
    });

    it('decompression round-trips with node compressed points; x ≥ p and non-residues are refused, as node refuses them', () => {
      let x = 0n;
      for (let i = 0; i < 20; i++) {
        const e = createECDH(c.ossl);
        e.generateKeys();
        const comp = e.getPublicKey(null, 'compressed');
        const full = e.getPublicKey().subarray(1);
        expect(decompress(c, comp.subarray(1), comp[0]! & 1)?.toString('hex')).toBe(full.toString('hex'));
        x = num(comp.subarray(1));
      }
      // x values after the last point's, until both an x on the curve and one off it have been seen (each is about even odds).
      const seen = new Set<boolean>();
      for (let i = 0; i < 200 && seen.size < 2; i++) {
        x = (x + 1n) % c.p;
        const ours = decompress(c, be(x, c.L), 0);
        let theirs: string | null;
        try {
          theirs = ECDH.convertKey(Buffer.concat([Buffer.of(2), be(x, c.L)]), c.ossl, undefined, undefined, 'uncompressed').subarray(1).toString('hex');
        } catch {
          theirs = null;
        }
        expect(ours?.toString('hex') ?? null).toBe(theirs);
        seen.add(ours === null);
      }
      expect(seen.size).toBe(2);
      expect(decompress(c, be(c.p, c.L), 0)).toBeNull();
    });

    it('decompression agrees with node:crypto at extreme x (carries through every reduction path)', () => {
      const top = 2n ** BigInt(8 * c.L);
      const xs = [0n, 1n, 2n, 3n, c.p - 1n, c.p - 2n, c.p - 3n, c.p >> 1n, (c.p >> 1n) + 1n, c.n - 1n, c.n, c.n + 1n];
      for (let i = 0n; i < 32n; i++) xs.push(2n ** (8n * BigInt(c.L) - 1n - i * 7n) - 1n, (top - 1n) >> i);
      let both = 0;
      for (const x of xs.filter((v) => v < c.p)) {
        for (const odd of [0, 1]) {
          let want: string | null = null;
          try {
            want = (ECDH.convertKey(Buffer.concat([Buffer.of(2 + odd), be(x, c.L)]), c.ossl, undefined, 'hex', 'uncompressed') as string).slice(2);
          } catch {
            want = null;
          }
          expect(decompress(c, be(x, c.L), odd)?.toString('hex') ?? null, `x = ${x.toString(16)}`).toBe(want);
          if (want) both++;
        }
      }
      expect(both).toBeGreaterThan(10);
    });
  });
}

const nodePrivate = (c: CurveCase, d: Uint8Array, q: Uint8Array) =>
  createPrivateKey({
    key: {
      kty: 'EC',
      crv: c.name,
      d: Buffer.from(d).toString('base64url'),
      x: Buffer.from(q.subarray(0, c.L)).toString('base64url'),
      y: Buffer.from(q.subarray(c.L)).toString('base64url'),
    },
    format: 'jwk',
  });

describe('Wycheproof at the core: P-256 P1363 signatures (incl. k·G with a large x-coordinate)', () => {
  const file = 'ecdsa_secp256r1_sha256_p1363_test.json';
  const data = loadWycheproof<{ publicKey: { uncompressed: string }; tests: (WycheproofCase & { msg: string; sig: string })[] }>(file);
  const c = CURVES[0]!;
  for (const g of data.testGroups) {
    const q = hex(g.publicKey.uncompressed).subarray(1);
    for (const tc of g.tests) {
      it(`Wycheproof/${file}/${tc.tcId}`, () => {
        const sig = hex(tc.sig);
        const e = createHash('sha256').update(hex(tc.msg)).digest();
        // The core takes exactly 2L signature bytes and a 2L-byte point; other lengths never reach it.
        const ok = sig.length === 2 * c.L && q.length === 2 * c.L && verifyRaw(c, q, e, sig);
        expect(ok, tc.comment).toBe(tc.result === 'valid');
      });
    }
  }
});

describe('wiping', () => {
  // Limbs are little-endian u32s: a value sits in memory as its big-endian bytes reversed.
  const le = (x: bigint, L: number): Buffer => Buffer.from(be(x, L)).reverse();
  const modInv = (a: bigint, m: bigint): bigint => {
    let [r0, r1, s0, s1] = [a % m, m, 1n, 0n];
    while (r1 !== 0n) {
      const q = r0 / r1;
      [r0, r1, s0, s1] = [r1, r0 - q * r1, s1, s0 - q * s1];
    }
    return ((s0 % m) + m) % m;
  };
  const found = (needle: Buffer): boolean => Buffer.from(mem().buffer).indexOf(needle.subarray(0, 12)) >= 0;

  for (const c of CURVES) {
    it(`${c.name}: d, k and k⁻¹ (plain and Montgomery) are gone from WASM memory after sign, ECDH and public key`, () => {
      const d = scalar(c);
      const k = scalar(c);
      const e = createHash(c.hash).update('wipe').digest();
      const { q } = nodeKeyPair(c);
      const R = 2n ** BigInt(32 * Math.ceil(c.L / 4));
      const kinv = modInv(num(k), c.n);
      const secrets = [le(num(d), c.L), le(num(k), c.L), le(kinv, c.L), le((kinv * R) % c.n, c.L), le((num(k) * R) % c.n, c.L)];
      const clean = (): boolean => {
        mem().fill(0, BUF, BUF + 1024); // the caller's inputs in EC_BUF are the caller's to wipe
        return secrets.every((x) => !found(x));
      };
      expect(signRaw(c, d, k, e)).not.toBeNull();
      expect(clean(), 'after ecdsaSign').toBe(true);
      expect(ecdhRaw(c, d, q)).not.toBeNull();
      expect(clean(), 'after ecdh').toBe(true);
      expect(publicKey(c, d)).not.toBeNull();
      expect(clean(), 'after ecPublicKey').toBe(true);
      // Positive control: the search finds a value that is there.
      mem().set(secrets[2]!, BUF);
      expect(found(secrets[2]!)).toBe(true);
      mem().fill(0, BUF, BUF + 1024);
    });
  }
});
