// Raw RSA core (src/crypto/_rsa-core.ts over assembly/rsa.ts, bigint_m32.ts and montpow_m29.ts):
// RSAEP/RSADP against node:crypto (OpenSSL, RSA_NO_PADDING) for 1024/2047/2048/3072/4096-bit keys
// (montpow_m29 serves the 1024-bit primes, bigint_m32 the others), edge inputs, the fault check, the
// blinding pairs, key generation (node imports and uses the keys; FIPS 186-5 bounds) and the key
// check.
import {
  checkPrimeSync,
  constants,
  createPrivateKey,
  generatePrimeSync,
  createPublicKey,
  generateKeyPairSync,
  privateDecrypt,
  publicEncrypt,
  sign as nodeSign,
  verify as nodeVerify,
  type JsonWebKey,
} from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  clearBlindingPairs,
  modulusBytes,
  rsaCheckKey,
  rsaGenerate,
  rsaPrivateOp,
  rsaPublicOp,
  type RsaPrivateComponents,
} from '../../src/crypto/_rsa-core.js';
import { mem, region, wasm } from '../../src/crypto/_wasm.js';

const b64u = (s: string | undefined): Uint8Array => new Uint8Array(Buffer.from(s ?? '', 'base64url'));
const big = (b: Uint8Array): bigint => (b.length === 0 ? 0n : BigInt('0x' + Buffer.from(b).toString('hex')));
const bytes = (x: bigint, len: number): Uint8Array => new Uint8Array(Buffer.from(x.toString(16).padStart(2 * len, '0'), 'hex'));

function components(jwk: JsonWebKey): RsaPrivateComponents {
  return { n: b64u(jwk.n), e: b64u(jwk.e), d: b64u(jwk.d), p: b64u(jwk.p), q: b64u(jwk.q), dp: b64u(jwk.dp), dq: b64u(jwk.dq), qi: b64u(jwk.qi) };
}

function toJwk(k: RsaPrivateComponents): JsonWebKey {
  const e = (b: Uint8Array): string => Buffer.from(b).toString('base64url');
  return { kty: 'RSA', n: e(k.n), e: e(k.e), d: e(k.d), p: e(k.p), q: e(k.q), dp: e(k.dp), dq: e(k.dq), qi: e(k.qi) };
}

/** A random value below n, k bytes. */
function randomBelow(n: bigint, k: number): Uint8Array {
  for (;;) {
    const x = crypto.getRandomValues(new Uint8Array(k));
    if (big(x) < n) return x;
  }
}

interface Fixture {
  bits: number;
  key: RsaPrivateComponents;
  pem: ReturnType<typeof createPrivateKey>;
}

function fixture(bits: number): Fixture {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: bits });
  return { bits, key: components(privateKey.export({ format: 'jwk' })), pem: privateKey };
}

const SIZES = [1024, 2047, 2048, 3072, 4096];
const fixtures = SIZES.map(fixture);

describe('rsaPublicOp / rsaPrivateOp against node:crypto (RSA_NO_PADDING)', () => {
  for (const f of fixtures) {
    const k = Math.ceil(f.bits / 8);
    const n = big(f.key.n);
    const pub = createPublicKey(f.pem);
    const nodePublic = (x: Uint8Array): Uint8Array => new Uint8Array(publicEncrypt({ key: pub, padding: constants.RSA_NO_PADDING }, x));
    const nodePrivate = (x: Uint8Array): Uint8Array => new Uint8Array(privateDecrypt({ key: f.pem, padding: constants.RSA_NO_PADDING }, x));

    it(`${f.bits}-bit: modulusBytes is k`, () => {
      expect(modulusBytes(f.key)).toBe(k);
    });

    it(`${f.bits}-bit: random x both ways`, () => {
      const count = f.bits >= 4096 ? 4 : 12;
      for (let i = 0; i < count; i++) {
        const x = randomBelow(n, k);
        const c = rsaPublicOp(f.key, x);
        expect(c).toEqual(nodePublic(x));
        const m = rsaPrivateOp(f.key, x);
        expect(m).toEqual(nodePrivate(x));
        expect(rsaPublicOp(f.key, m!)).toEqual(x);
      }
    });

    it(`${f.bits}-bit: x = 0, 1, n − 1`, () => {
      for (const v of [0n, 1n, n - 1n]) {
        const x = bytes(v, k);
        expect(rsaPublicOp(f.key, x)).toEqual(nodePublic(x));
        expect(rsaPrivateOp(f.key, x)).toEqual(nodePrivate(x));
      }
    });

    it(`${f.bits}-bit: x ≥ n gives null`, () => {
      for (const v of [n, n + 1n, (1n << BigInt(8 * k)) - 1n]) {
        const x = bytes(v, k);
        expect(rsaPublicOp(f.key, x)).toBeNull();
        expect(rsaPrivateOp(f.key, x)).toBeNull();
      }
    });
  }

  it('keys of the same size used in turn (the core keeps the last modulus) give node\'s results', () => {
    const [a, b] = [fixtures[2], fixture(2048)];
    for (let i = 0; i < 6; i++) {
      const f = i % 2 === 0 ? a : b;
      const x = randomBelow(big(f.key.n), 256);
      expect(rsaPublicOp(f.key, x)).toEqual(new Uint8Array(publicEncrypt({ key: createPublicKey(f.pem), padding: constants.RSA_NO_PADDING }, x)));
      expect(rsaPrivateOp(f.key, x)).toEqual(new Uint8Array(privateDecrypt({ key: f.pem, padding: constants.RSA_NO_PADDING }, x)));
    }
  });

  it('a multiple of p (x ≡ 0 mod p) still decrypts', () => {
    const f = fixtures[2];
    const x = bytes(big(f.key.p) * 12345n, modulusBytes(f.key));
    expect(rsaPrivateOp(f.key, x)).toEqual(new Uint8Array(privateDecrypt({ key: f.pem, padding: constants.RSA_NO_PADDING }, x)));
  });

  it('dp, dq, qi (and d) are taken at the primes\' length however many leading zeros they carry; a nonzero extra byte is refused', () => {
    const f = fixtures[2];
    const pad = (b: Uint8Array, extra: number) => new Uint8Array([...new Uint8Array(extra), ...b]);
    const x = randomBelow(big(f.key.n), 256);
    const want = new Uint8Array(privateDecrypt({ key: f.pem, padding: constants.RSA_NO_PADDING }, x));
    const padded = { ...f.key, dp: pad(f.key.dp, 5), dq: pad(f.key.dq, 1), qi: pad(f.key.qi, 9), d: pad(f.key.d, 3) };
    expect(rsaPrivateOp(padded, x)).toEqual(want);
    expect(rsaCheckKey(padded)).toBe(true);
    const short = { ...f.key, dp: f.key.dp.subarray(1), dq: f.key.dq.subarray(1) };
    expect(() => rsaPrivateOp(short, x)).toThrow('RSA private operation failed its consistency check');
    // One nonzero byte above dp taken at p's length (a JWK dp is one byte short of p about one key in 215).
    const bad = { ...f.key, dp: new Uint8Array([1, ...pad(f.key.dp, f.key.p.length - f.key.dp.length)]) };
    expect(() => rsaPrivateOp(bad, x)).toThrow('RSA private key components do not fit its modulus');
    expect(rsaCheckKey(bad)).toBe(false);
  });

  it('x of the wrong length is a RangeError; non-bytes a TypeError', () => {
    const f = fixtures[2];
    expect(() => rsaPublicOp(f.key, new Uint8Array(255))).toThrow(RangeError);
    expect(() => rsaPrivateOp(f.key, new Uint8Array(257))).toThrow(RangeError);
    expect(() => rsaPublicOp(f.key, [1, 2] as unknown as Uint8Array)).toThrow(TypeError);
    expect(() => rsaPublicOp({ n: f.key.n, e: Uint8Array.of(2) }, new Uint8Array(256))).toThrow(RangeError);
    expect(() => rsaPublicOp({ n: f.key.n.subarray(0, 32), e: f.key.e }, new Uint8Array(32))).toThrow(RangeError);
  });

  it('leaves no secret in the RSA slots', () => {
    const f = fixtures[2];
    rsaPrivateOp(f.key, randomBelow(big(f.key.n), 256));
    const base = region('RSA_BUF');
    const len = region('RSA_BUF_LEN');
    expect(mem().subarray(base, base + len).every((b) => b === 0)).toBe(true);
    const out = region('OUT');
    expect(mem().subarray(out, out + 65536).every((b) => b === 0)).toBe(true);
  });
});

/** A key from two primes of the given sizes, its private values from BigInt arithmetic. */
function keyFromPrimes(pBits: number, qBits: number): RsaPrivateComponents {
  const prime = (bits: number): bigint => generatePrimeSync(bits, { bigint: true });
  const inv = (a: bigint, m: bigint): bigint => {
    let [r0, r1, s0, s1] = [a % m, m, 1n, 0n];
    while (r1 !== 0n) {
      const t = r0 / r1;
      [r0, r1, s0, s1] = [r1, r0 - t * r1, s1, s0 - t * s1];
    }
    return ((s0 % m) + m) % m;
  };
  for (;;) {
    const [p, q, e] = [prime(pBits), prime(qBits), 65537n];
    if ((p - 1n) % e === 0n || (q - 1n) % e === 0n) continue;
    const n = p * q;
    const d = inv(e, (p - 1n) * (q - 1n));
    const enc = (x: bigint): Uint8Array => bytes(x, Math.ceil(x.toString(16).length / 2));
    return { n: enc(n), e: enc(e), d: enc(d), p: enc(p), q: enc(q), dp: enc(d % (p - 1n)), dq: enc(d % (q - 1n)), qi: enc(inv(q, p)) };
  }
}

function modPow(b: bigint, e: bigint, m: bigint): bigint {
  let r = 1n;
  for (b %= m; e > 0n; e >>= 1n, b = (b * b) % m) if (e & 1n) r = (r * b) % m;
  return r;
}

describe('unbalanced primes', () => {
  for (const [pBits, qBits] of [[1536, 1024], [1024, 1536], [1100, 900]]) {
    it(`p of ${pBits} bits, q of ${qBits} bits: both operations match BigInt, the key checks out`, () => {
      const key = keyFromPrimes(pBits, qBits);
      const [n, e, d] = [big(key.n), big(key.e), big(key.d)];
      const k = modulusBytes(key);
      expect(rsaCheckKey(key)).toBe(true);
      for (let i = 0; i < 4; i++) {
        const x = randomBelow(n, k);
        expect(big(rsaPrivateOp(key, x)!)).toBe(modPow(big(x), d, n));
        expect(big(rsaPublicOp(key, x)!)).toBe(modPow(big(x), e, n));
      }
    });
  }

  it('a prime over 2176 bits is refused with a RangeError', () => {
    const key = keyFromPrimes(2304, 1024);
    expect(() => rsaPrivateOp(key, new Uint8Array(modulusBytes(key)))).toThrow(RangeError);
  });
});

describe('fault check', () => {
  const f = fixtures[2];
  const x = randomBelow(big(f.key.n), 256);

  it('a corrupted dp, dq or qi makes the private op throw', () => {
    for (const field of ['dp', 'dq', 'qi'] as const) {
      const bad = { ...f.key, [field]: f.key[field].slice() };
      bad[field][bad[field].length - 1] ^= 0x10;
      expect(() => rsaPrivateOp(bad, x)).toThrow('RSA private operation failed its consistency check');
    }
  });

  it('a p that does not divide n makes the private op throw', () => {
    const bad = { ...f.key, p: f.key.p.slice() };
    bad.p[bad.p.length - 1] ^= 0x02;
    expect(() => rsaPrivateOp(bad, x)).toThrow('RSA private operation failed its consistency check');
  });

  it('the result of a failed check is not left in WASM memory', () => {
    const bad = { ...f.key, dp: f.key.dp.slice() };
    bad.dp[0] ^= 1;
    expect(() => rsaPrivateOp(bad, x)).toThrow();
    const base = region('RSA_BUF');
    expect(mem().subarray(base, base + region('RSA_BUF_LEN')).every((b) => b === 0)).toBe(true);
  });
});

describe('blinding pairs', () => {
  const f = fixtures[0];
  const [n, e, d] = [big(f.key.n), big(f.key.e), big(f.key.d)];
  const k = modulusBytes(f.key);
  const nodePrivate = (x: Uint8Array): Uint8Array => new Uint8Array(privateDecrypt({ key: f.pem, padding: constants.RSA_NO_PADDING }, x));

  /** Fills the RSA slots of the core for the key f (and x) as _rsa-core.ts does. */
  function fill(slots: Record<number, Uint8Array>): void {
    const base = region('RSA_BUF');
    const slot = region('RSA_SLOT');
    for (const [i, v] of Object.entries(slots)) mem().set(v, base + Number(i) * slot);
  }
  const read = (i: number): Uint8Array => mem().slice(region('RSA_BUF') + i * region('RSA_SLOT'), region('RSA_BUF') + i * region('RSA_SLOT') + k);
  const { p, q, dp, dq, qi } = f.key;
  const lens = [k, f.key.e.length, p.length, q.length, dp.length, dq.length, qi.length] as const;

  it('the core makes A = r^e and AI = r⁻¹ mod n, squares them per use and unblinds to x^d', () => {
    const r = crypto.getRandomValues(new Uint8Array(k + 16));
    fill({ 0: f.key.n, 1: f.key.e, 3: p, 4: q, 5: dp, 6: dq, 7: qi, 9: r });
    expect((wasm.rsaBlinding as (...a: number[]) => number)(...lens, r.length)).toBe(1);
    let [a, ai] = [big(read(15)), big(read(16))];
    const rm = big(r) % n;
    expect(a).toBe(modPow(rm, e, n));
    expect((ai * rm) % n).toBe(1n);
    for (let i = 0; i < 3; i++) {
      const x = randomBelow(n, k);
      fill({ 8: x, 10: crypto.getRandomValues(new Uint8Array(16)) });
      expect((wasm.rsaPrivateBlinded as (...a: number[]) => number)(...lens, k)).toBe(1);
      expect(big(read(8))).toBe(modPow(big(x), d, n));
      [a, ai] = [(a * a) % n, (ai * ai) % n];
      expect([big(read(15)), big(read(16))]).toEqual([a, ai]);
    }
    (wasm.rsaClear as () => void)();
  });

  it('a key used 40 times (fresh r, then a pair, remade after 32 uses) gives node\'s results', () => {
    clearBlindingPairs();
    for (let i = 0; i < 40; i++) {
      const x = randomBelow(n, k);
      expect(rsaPrivateOp(f.key, x)).toEqual(nodePrivate(x));
    }
  });

  it('a key whose qi is wrong makes no pair, and the right key then works; a bad dp drops the pair', () => {
    clearBlindingPairs();
    const x = randomBelow(n, k);
    const badQi = { ...f.key, qi: f.key.qi.slice() };
    badQi.qi[0] ^= 1;
    for (let i = 0; i < 3; i++) expect(() => rsaPrivateOp(badQi, x)).toThrow('RSA private operation failed its consistency check');
    for (let i = 0; i < 3; i++) expect(rsaPrivateOp(f.key, x)).toEqual(nodePrivate(x));
    const badDp = { ...f.key, dp: f.key.dp.slice() };
    badDp.dp[0] ^= 1;
    expect(() => rsaPrivateOp(badDp, x)).toThrow('RSA private operation failed its consistency check');
    for (let i = 0; i < 3; i++) expect(rsaPrivateOp(f.key, x)).toEqual(nodePrivate(x));
  });
});

describe('rsaCheckKey', () => {
  it('accepts node keys of every size', () => {
    for (const f of fixtures) expect(rsaCheckKey(f.key)).toBe(true);
  });

  it('rejects each tampered component', () => {
    const f = fixtures[2];
    for (const field of ['n', 'e', 'd', 'p', 'q', 'dp', 'dq', 'qi'] as const) {
      const bad = { ...f.key, [field]: f.key[field].slice() };
      bad[field][bad[field].length - 1] ^= 0x04;
      expect(rsaCheckKey(bad), field).toBe(false);
    }
  });

  it('rejects swapped primes (qi then belongs to the other order)', () => {
    const f = fixtures[2];
    expect(rsaCheckKey({ ...f.key, p: f.key.q, q: f.key.p, dp: f.key.dq, dq: f.key.dp })).toBe(false);
  });

  it('accepts d computed mod φ(n) instead of λ(n)', () => {
    const f = fixtures[2];
    const [p, q, e] = [big(f.key.p), big(f.key.q), big(f.key.e)];
    const phi = (p - 1n) * (q - 1n);
    let [r0, r1, s0, s1] = [e, phi, 1n, 0n];
    while (r1 !== 0n) {
      const t = r0 / r1;
      [r0, r1, s0, s1] = [r1, r0 - t * r1, s1, s0 - t * s1];
    }
    const d = ((s0 % phi) + phi) % phi;
    expect(rsaCheckKey({ ...f.key, d: bytes(d, 256) })).toBe(true);
  });
});

/** FIPS 186-5 A.1.1/A.1.3 bounds on a generated key, and node:crypto accepting and using it. */
function checkGenerated(key: RsaPrivateComponents, bits: number): void {
  const [n, e, d, p, q] = [big(key.n), big(key.e), big(key.d), big(key.p), big(key.q)];
  const half = BigInt(bits / 2);
  expect(n.toString(2).length).toBe(bits);
  expect(p * q).toBe(n);
  expect(e).toBe(65537n);
  const sqrt2 = 0xb504f333f9de6484597d89b3754abe9fn; // ⌊√2·2^127⌋
  for (const r of [p, q]) {
    expect(checkPrimeSync(r, { checks: 32 })).toBe(true);
    expect(r.toString(2).length).toBe(bits / 2);
    expect(r >> (half - 128n)).toBeGreaterThanOrEqual(sqrt2);
  }
  const diff = p > q ? p - q : q - p;
  expect(diff > 1n << (half - 100n)).toBe(true);
  const gcd = (a: bigint, b: bigint): bigint => (b === 0n ? a : gcd(b, a % b));
  const lambda = ((p - 1n) * (q - 1n)) / gcd(p - 1n, q - 1n);
  expect(d > 1n << half).toBe(true);
  expect(d < lambda).toBe(true);
  expect((e * d) % lambda).toBe(1n);
  expect(big(key.dp)).toBe(d % (p - 1n));
  expect(big(key.dq)).toBe(d % (q - 1n));
  expect((big(key.qi) * q) % p).toBe(1n);
  for (const c of Object.values(key)) expect((c as Uint8Array)[0]).not.toBe(0);
  expect(rsaCheckKey(key)).toBe(true);
  const priv = createPrivateKey({ key: toJwk(key), format: 'jwk' });
  const msg = Buffer.from('keyward rsa keygen');
  const sig = nodeSign('sha256', msg, priv);
  expect(nodeVerify('sha256', msg, createPublicKey(priv), sig)).toBe(true);
  const x = randomBelow(n, bits / 8);
  expect(rsaPrivateOp(key, x)).toEqual(new Uint8Array(privateDecrypt({ key: priv, padding: constants.RSA_NO_PADDING }, x)));
}

describe('rsaGenerate', () => {
  it('2048-bit keys: FIPS 186-5 bounds, node imports them and signs/verifies, two distinct keys', () => {
    const a = rsaGenerate(2048);
    const b = rsaGenerate(2048);
    checkGenerated(a, 2048);
    checkGenerated(b, 2048);
    expect(a.n).not.toEqual(b.n);
  });

  it('3072-bit and 4096-bit keys', () => {
    checkGenerated(rsaGenerate(3072), 3072);
    checkGenerated(rsaGenerate(4096), 4096);
  });

  it('refuses other sizes', () => {
    expect(() => rsaGenerate(1024 as 2048)).toThrow(RangeError);
  });
});
