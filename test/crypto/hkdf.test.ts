// HKDF-SHA-256/384/512 (src/crypto/hkdf.ts over assembly/hkdf.ts): Wycheproof, RFC 5869, node:crypto
// hkdfSync (OpenSSL) as the oracle, an HMAC-based reference for inputs node refuses, bounds, wiping.
import { createHmac as nodeHmac, hkdfSync, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { hkdf, hkdfExpand, hkdfExtract, type HashName } from '../../src/crypto/index.js';
import { OUT, mem, region } from '../../src/crypto/_wasm.js';
import { hex, loadWycheproof, toHex, type WycheproofCase } from '../vectors/wycheproof.js';

const HASHES: readonly HashName[] = ['SHA-256', 'SHA-384', 'SHA-512'];
const NODE_NAME: Record<HashName, string> = { 'SHA-256': 'sha256', 'SHA-384': 'sha384', 'SHA-512': 'sha512' };
const OUTPUT: Record<HashName, number> = { 'SHA-256': 32, 'SHA-384': 48, 'SHA-512': 64 };
const DATA = new Uint8Array(randomBytes(1_200_000));
const EMPTY = new Uint8Array(0);

const node = (h: HashName, ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, len: number): string =>
  Buffer.from(hkdfSync(NODE_NAME[h], ikm, salt, info, len)).toString('hex');

// RFC 5869 §2 written out over node's HMAC, for inputs hkdfSync refuses (info over 1024 bytes, a given PRK).
function referenceExpand(h: HashName, prk: Uint8Array, info: Uint8Array, len: number): string {
  let t: Uint8Array = EMPTY;
  const okm: Uint8Array[] = [];
  for (let i = 1; okm.length * OUTPUT[h] < len; i++) {
    t = nodeHmac(NODE_NAME[h], prk).update(t).update(info).update(Uint8Array.of(i)).digest();
    okm.push(t);
  }
  return Buffer.concat(okm).subarray(0, len).toString('hex');
}

function reference(h: HashName, ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, len: number): string {
  const prk = nodeHmac(NODE_NAME[h], salt.length ? salt : new Uint8Array(OUTPUT[h])).update(ikm).digest();
  return referenceExpand(h, prk, info, len);
}

interface HkdfCase extends WycheproofCase {
  ikm: string;
  salt: string;
  info: string;
  size: number;
  okm: string;
}

describe('Wycheproof', () => {
  const file = 'hkdf_sha256_test.json';
  const data = loadWycheproof<{ tests: HkdfCase[] }>(file);
  let run = 0;
  for (const group of data.testGroups) {
    for (const tc of group.tests) {
      it(`Wycheproof/${file}/${tc.tcId}`, () => {
        const derive = (): Uint8Array => hkdf('SHA-256', hex(tc.ikm), hex(tc.salt), hex(tc.info), tc.size);
        if (tc.result === 'valid') expect(toHex(derive())).toBe(tc.okm);
        else expect(derive).toThrow(RangeError);
        run++;
      });
    }
  }
  it(`runs all ${data.numberOfTests} cases`, () => expect(run).toBe(data.numberOfTests));
});

describe('RFC 5869 A.1 through extract and expand', () => {
  it('gives the PRK and OKM of the RFC', () => {
    const ikm = hex('0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b');
    const prk = hkdfExtract('SHA-256', ikm, hex('000102030405060708090a0b0c'));
    expect(toHex(prk)).toBe('077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5');
    expect(toHex(hkdfExpand('SHA-256', prk, hex('f0f1f2f3f4f5f6f7f8f9'), 42))).toBe(
      '3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865',
    );
  });
});

describe.each(HASHES)('HKDF-%s', (h) => {
  const max = 255 * OUTPUT[h];

  it('matches node:crypto hkdfSync over random ikm, salt, info and output lengths', () => {
    for (let n = 0; n < 120; n++) {
      const ikm = DATA.subarray(n, n + Math.floor(Math.random() * 300));
      const salt = DATA.subarray(2000, 2000 + Math.floor(Math.random() * 300));
      const info = DATA.subarray(4000, 4000 + Math.floor(Math.random() * 1025));
      const len = 1 + Math.floor(Math.random() * (n % 4 === 0 ? max : 3 * OUTPUT[h]));
      expect(toHex(hkdf(h, ikm, salt, info, len)), `ikm ${ikm.length}, salt ${salt.length}, info ${info.length}, L ${len}`).toBe(
        node(h, ikm, salt, info, len),
      );
    }
  });

  it('matches node:crypto at output lengths around HashLen multiples and the maximum', () => {
    const ikm = DATA.subarray(0, 32);
    const salt = DATA.subarray(32, 48);
    const info = DATA.subarray(48, 60);
    for (const len of [1, OUTPUT[h] - 1, OUTPUT[h], OUTPUT[h] + 1, 2 * OUTPUT[h], max - 1, max]) {
      expect(toHex(hkdf(h, ikm, salt, info, len)), `L ${len}`).toBe(node(h, ikm, salt, info, len));
    }
  });

  it('matches node:crypto for ikm and salt above 1 MiB (streamed; the salt is hashed as an HMAC key)', () => {
    const ikm = DATA.subarray(5, 1_100_005);
    const salt = DATA.subarray(17, 200_017);
    expect(toHex(hkdf(h, ikm, salt, DATA.subarray(0, 10), 100))).toBe(node(h, ikm, salt, DATA.subarray(0, 10), 100));
  });

  it('matches the RFC 5869 reference for info longer than the I/O region', () => {
    const info = DATA.subarray(9, 9 + 150_000);
    const ikm = DATA.subarray(0, 22);
    expect(toHex(hkdf(h, ikm, EMPTY, info, 3 * OUTPUT[h] + 5))).toBe(reference(h, ikm, EMPTY, info, 3 * OUTPUT[h] + 5));
  });

  it('treats an undefined or empty salt as HashLen zeros, and undefined info as empty', () => {
    const ikm = DATA.subarray(0, 40);
    const expected = node(h, ikm, new Uint8Array(OUTPUT[h]), EMPTY, 77);
    expect(toHex(hkdf(h, ikm, undefined, undefined, 77))).toBe(expected);
    expect(toHex(hkdf(h, ikm, EMPTY, EMPTY, 77))).toBe(expected);
    expect(toHex(hkdf(h, ikm, new Uint8Array(OUTPUT[h]), undefined, 77))).toBe(expected);
    expect(toHex(hkdfExtract(h, ikm))).toBe(toHex(hkdfExtract(h, ikm, new Uint8Array(OUTPUT[h]))));
  });

  it('composes from hkdfExtract and hkdfExpand', () => {
    const [ikm, salt, info] = [DATA.subarray(0, 50), DATA.subarray(50, 80), DATA.subarray(80, 100)];
    const prk = hkdfExtract(h, ikm, salt);
    expect(prk.length).toBe(OUTPUT[h]);
    expect(toHex(hkdfExpand(h, prk, info, 200))).toBe(toHex(hkdf(h, ikm, salt, info, 200)));
    // A PRK longer than HashLen is a valid HMAC key too.
    const longPrk = DATA.subarray(0, 200);
    expect(toHex(hkdfExpand(h, longPrk, info, 50))).toBe(referenceExpand(h, longPrk, info, 50));
  });

  it('rejects output lengths outside 1..255*HashLen', () => {
    const ikm = DATA.subarray(0, 16);
    expect(() => hkdf(h, ikm, undefined, undefined, 0)).toThrow(new RangeError(`expected length in 1..${max}, got 0`));
    expect(() => hkdf(h, ikm, undefined, undefined, max + 1)).toThrow(new RangeError(`expected length in 1..${max}, got ${max + 1}`));
    expect(() => hkdf(h, ikm, undefined, undefined, -1)).toThrow(RangeError);
    expect(() => hkdfExpand(h, new Uint8Array(OUTPUT[h]), undefined, max + 1)).toThrow(RangeError);
    expect(() => hkdf(h, ikm, undefined, undefined, 1.5)).toThrow(new TypeError('expected length to be an integer, got 1.5'));
    expect(() => hkdf(h, ikm, undefined, undefined, '32' as unknown as number)).toThrow(new TypeError('expected length to be an integer, got 32'));
  });

  it('rejects a PRK shorter than HashLen', () => {
    expect(() => hkdfExpand(h, new Uint8Array(OUTPUT[h] - 1), undefined, 32)).toThrow(
      new RangeError(`expected prk of at least ${OUTPUT[h]} bytes (the ${h} output), got ${OUTPUT[h] - 1}`),
    );
  });
});

describe('input validation', () => {
  const b = new Uint8Array(32);
  it('rejects wrong types with the argument name', () => {
    expect(() => hkdf('SHA-256', 'ikm' as unknown as Uint8Array, b, b, 32)).toThrow(new TypeError('expected ikm to be a Uint8Array, got string'));
    expect(() => hkdf('SHA-256', b, null as unknown as Uint8Array, b, 32)).toThrow(new TypeError('expected salt to be a Uint8Array, got null'));
    expect(() => hkdf('SHA-256', b, b, [] as unknown as Uint8Array, 32)).toThrow(new TypeError('expected info to be a Uint8Array, got Array'));
    expect(() => hkdfExtract('SHA-256', b, 1 as unknown as Uint8Array)).toThrow(new TypeError('expected salt to be a Uint8Array, got number'));
    expect(() => hkdfExpand('SHA-256', {} as unknown as Uint8Array, b, 32)).toThrow(new TypeError('expected prk to be a Uint8Array, got Object'));
  });

  it('rejects an unknown hash name', () => {
    expect(() => hkdf('sha-256' as HashName, b, b, b, 32)).toThrow(new TypeError("expected hash 'SHA-256', 'SHA-384' or 'SHA-512', got sha-256"));
    expect(() => hkdfExtract('MD5' as HashName, b)).toThrow(TypeError);
    expect(() => hkdfExpand('SHA-1' as HashName, b, b, 32)).toThrow(TypeError);
  });
});

describe('wiping', () => {
  // Any 8-byte run of the secret in WASM memory counts: a later call may have overwritten part of it.
  const found = (secret: Uint8Array): boolean => {
    const memory = Buffer.from(mem().buffer);
    for (let i = 0; i + 8 <= secret.length; i++) if (memory.indexOf(secret.subarray(i, i + 8)) >= 0) return true;
    return false;
  };

  it('leaves neither the PRK, the OKM nor a keyed context in WASM memory', () => {
    for (const h of HASHES) {
      const [ikm, salt, info] = [new Uint8Array(randomBytes(32)), new Uint8Array(randomBytes(16)), DATA.subarray(0, 8)];
      const okm = hkdf(h, ikm, salt, info, 3 * OUTPUT[h]);
      const prk = hkdfExtract(h, ikm, salt);
      hkdfExpand(h, prk, info, 40);
      for (const [name, secret] of [['ikm', ikm], ['prk', prk], ['okm', okm.subarray(0, 16)], ['okm tail', okm.subarray(-16)]] as const) {
        expect(found(secret), `${h}: ${name}`).toBe(false);
      }
      expect(mem().subarray(OUT, OUT + okm.length).every((x) => x === 0), `${h}: OUT`).toBe(true);
      expect(mem().subarray(region('HMAC_CTX'), region('HMAC_CTX') + 400).every((x) => x === 0), `${h}: HMAC_CTX`).toBe(true);
    }
  });
});
