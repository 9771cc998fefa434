// HMAC-SHA-256/384/512 (src/crypto/hmac.ts over assembly/hmac.ts): Wycheproof, node:crypto (OpenSSL)
// as the oracle over key and message lengths, streaming at every split, constant-time verify, wiping.
import { createHmac as nodeHmac, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createHmac, createHmacKey, hmac, hmacVerify, type HashName } from '../../src/crypto/index.js';
import { CHUNK, IN, mem, region } from '../../src/crypto/_wasm.js';
import { hex, loadWycheproof, toHex, type WycheproofCase } from '../vectors/wycheproof.js';

const HASHES: readonly HashName[] = ['SHA-256', 'SHA-384', 'SHA-512'];
const NODE_NAME: Record<HashName, string> = { 'SHA-256': 'sha256', 'SHA-384': 'sha384', 'SHA-512': 'sha512' };
const OUTPUT: Record<HashName, number> = { 'SHA-256': 32, 'SHA-384': 48, 'SHA-512': 64 };
const node = (h: HashName, key: Uint8Array, msg: Uint8Array): string => nodeHmac(NODE_NAME[h], key).update(msg).digest('hex');
const DATA = new Uint8Array(randomBytes(1_200_000));

interface MacCase extends WycheproofCase {
  key: string;
  msg: string;
  tag: string;
}

describe('Wycheproof', () => {
  const file = 'hmac_sha256_test.json';
  const data = loadWycheproof<{ tagSize: number; tests: MacCase[] }>(file);
  let run = 0;
  for (const group of data.testGroups) {
    for (const tc of group.tests) {
      it(`Wycheproof/${file}/${tc.tcId}`, () => {
        const [key, msg, tag] = [hex(tc.key), hex(tc.msg), hex(tc.tag)];
        // Truncated groups compare the leading tagSize bits.
        const computed = toHex(hmac('SHA-256', key, msg).subarray(0, group.tagSize / 8));
        if (tc.result === 'valid') expect(computed).toBe(tc.tag);
        else expect(computed).not.toBe(tc.tag);
        const truncated = group.tagSize / 8 < 32;
        expect(hmacVerify('SHA-256', key, msg, tag, { allowTruncated: truncated })).toBe(tc.result === 'valid');
        // Without the opt-in, a truncated tag never verifies.
        if (truncated) expect(hmacVerify('SHA-256', key, msg, tag)).toBe(false);
        run++;
      });
    }
  }
  it(`runs all ${data.numberOfTests} cases`, () => expect(run).toBe(data.numberOfTests));
});

describe.each(HASHES)('HMAC-%s', (h) => {
  const block = h === 'SHA-256' ? 64 : 128;

  it('matches node:crypto for every key length 0..200 and keys around the block size', () => {
    const lengths = [...Array.from({ length: 201 }, (_, i) => i), block - 1, block, block + 1, 2 * block, 1000];
    for (const keyLen of lengths) {
      const key = DATA.subarray(1000, 1000 + keyLen);
      const msg = DATA.subarray(keyLen, keyLen + ((keyLen * 7) % 300));
      expect(toHex(hmac(h, key, msg)), `key length ${keyLen}`).toBe(node(h, key, msg));
    }
  });

  it('matches node:crypto for keys longer than the I/O region (streamed, then hashed)', () => {
    for (const keyLen of [CHUNK, CHUNK + 1, 3 * CHUNK + 5]) {
      const key = DATA.subarray(3, 3 + keyLen);
      const msg = DATA.subarray(0, 100);
      expect(toHex(hmac(h, key, msg)), `key length ${keyLen}`).toBe(node(h, key, msg));
      expect(toHex(createHmac(h, key).update(msg).digest()), `createHmac, key length ${keyLen}`).toBe(node(h, key, msg));
    }
  });

  it('matches node:crypto at block-boundary and random message lengths up to above 1 MiB', () => {
    const lengths = [
      0, 1, 55, 56, 63, 64, 65, 111, 112, 127, 128, 129, CHUNK - 1, CHUNK, CHUNK + 1,
      ...Array.from({ length: 40 }, () => Math.floor(Math.random() * 1000)),
      ...Array.from({ length: 8 }, () => Math.floor(Math.random() * (DATA.length - 64))),
      DATA.length - 64,
    ];
    for (const len of lengths) {
      const key = DATA.subarray(len % 50, (len % 50) + 32);
      const msg = DATA.subarray(64, 64 + len);
      expect(toHex(hmac(h, key, msg)), `message length ${len}`).toBe(node(h, key, msg));
    }
  });

  it('gives the one-shot tag for a message split at every offset, and at every pair of offsets', () => {
    const key = DATA.subarray(0, 40);
    const msg = DATA.subarray(100, 400);
    const expected = toHex(hmac(h, key, msg));
    for (let i = 0; i <= msg.length; i++) {
      const got = createHmac(h, key).update(msg.subarray(0, i)).update(msg.subarray(i)).digest();
      expect(toHex(got), `split at ${i}`).toBe(expected);
    }
    const short = msg.subarray(0, 200);
    const want = Buffer.from(hmac(h, key, short));
    const failed: string[] = [];
    for (let i = 0; i <= short.length; i++) {
      for (let j = i; j <= short.length; j++) {
        const got = createHmac(h, key).update(short.subarray(0, i)).update(short.subarray(i, j)).update(short.subarray(j)).digest();
        if (!want.equals(got)) failed.push(`${i}/${j}`);
      }
    }
    expect(failed).toEqual([]);
  });

  it('verifies the full tag, a tag truncated to no less than half only on request (RFC 2104 §5), and nothing else', () => {
    const key = DATA.subarray(0, 32);
    const msg = DATA.subarray(32, 132);
    const tag = hmac(h, key, msg);
    const min = OUTPUT[h] / 2;
    const opt = { allowTruncated: true };
    expect(hmacVerify(h, key, msg, tag)).toBe(true);
    expect(hmacVerify(h, key, msg, tag, opt)).toBe(true);
    expect(hmacVerify(h, key, msg, tag.subarray(0, OUTPUT[h] - 1))).toBe(false);
    expect(hmacVerify(h, key, msg, tag.subarray(0, min))).toBe(false);
    expect(hmacVerify(h, key, msg, tag.subarray(0, min), opt)).toBe(true);
    expect(hmacVerify(h, key, msg, tag.subarray(0, min - 1), opt)).toBe(false);
    expect(hmacVerify(h, key, msg, new Uint8Array(0))).toBe(false);
    expect(hmacVerify(h, key, msg, Uint8Array.from([...tag, 0]))).toBe(false);
    for (let i = 0; i < tag.length; i++) {
      const bad = tag.slice();
      bad[i]! ^= 1 << (i % 8);
      expect(hmacVerify(h, key, msg, bad), `bit flipped in byte ${i}`).toBe(false);
    }
    expect(hmacVerify(h, DATA.subarray(1, 33), msg, tag)).toBe(false);
    expect(hmacVerify(h, key, msg.subarray(1), tag)).toBe(false);
  });

  it('refuses a second digest and an update after digest', () => {
    const mac = createHmac(h, DATA.subarray(0, 16)).update(DATA.subarray(0, 3));
    expect(mac.outputLen).toBe(OUTPUT[h]);
    mac.digest();
    expect(() => mac.digest()).toThrow(new Error(`HMAC-${h} digest(): digest() was already called; create a new HMAC`));
    expect(() => mac.update(DATA.subarray(0, 1))).toThrow(new Error(`HMAC-${h} update(): digest() was already called; create a new HMAC`));
  });
});

describe('createHmac objects', () => {
  it('stay independent when many are alive and updated in turn, with one-shot calls in between', () => {
    const cases = Array.from({ length: 9 }, (_, i) => ({
      h: HASHES[i % 3]!,
      key: DATA.subarray(5000 + i, 5000 + i + 20 * i),
      msg: DATA.subarray(i * 1000, i * 1000 + 250 + i * 29),
    }));
    const objects = cases.map(({ h, key }) => createHmac(h, key));
    for (let off = 0; off < 600; off += 17) {
      cases.forEach(({ msg }, i) => objects[i]!.update(msg.subarray(off, off + 17)));
      hmac('SHA-512', DATA.subarray(0, 200), DATA.subarray(off, off + 50));
    }
    cases.forEach(({ h, key, msg }, i) => expect(toHex(objects[i]!.digest()), `object ${i}`).toBe(node(h, key, msg)));
  });
});

describe('createHmacKey: one key, many messages', () => {
  it.each(HASHES)('HMAC-%s equals node:crypto for every message, interleaved with other HMAC use', (h) => {
    const alg = h.replace('-', '').toLowerCase();
    for (const keyLen of [0, 16, 64, 129, 200]) {
      const key = randomBytes(keyLen);
      const k = createHmacKey(h, key);
      expect(k.outputLen).toBe(nodeHmac(alg, key).digest().length);
      for (const len of [0, 1, 55, 64, 111, 128, 1000, CHUNK + 3]) {
        const msg = randomBytes(len);
        expect(toHex(k.mac(msg)), `key ${keyLen} msg ${len}`).toBe(nodeHmac(alg, key).update(msg).digest('hex'));
        hmac(h, randomBytes(32), msg);
      }
      k.destroy();
      expect(() => k.mac(new Uint8Array(1))).toThrow(/destroyed/);
    }
  });

  it('leaves no keyed state in WASM memory between calls', () => {
    const key = new Uint8Array(32).fill(0x5c);
    const k = createHmacKey('SHA-256', key);
    k.mac(new Uint8Array(10));
    const ctx = region('HMAC_CTX');
    expect(mem().subarray(ctx, ctx + 64).every((b) => b === 0)).toBe(true);
    k.destroy();
  });
});

describe('input validation', () => {
  const k = new Uint8Array(16);
  it('rejects wrong types with the argument name', () => {
    expect(() => hmac('SHA-256', 'secret' as unknown as Uint8Array, k)).toThrow(new TypeError('expected key to be a Uint8Array, got string'));
    expect(() => hmac('SHA-256', k, 42 as unknown as Uint8Array)).toThrow(new TypeError('expected msg to be a Uint8Array, got number'));
    expect(() => hmacVerify('SHA-256', k, k, 'tag' as unknown as Uint8Array)).toThrow(new TypeError('expected tag to be a Uint8Array, got string'));
    expect(() => createHmac('SHA-384', undefined as unknown as Uint8Array)).toThrow(new TypeError('expected key to be a Uint8Array, got undefined'));
    expect(() => createHmac('SHA-384', k).update([1] as unknown as Uint8Array)).toThrow(new TypeError('expected data to be a Uint8Array, got Array'));
  });

  it('rejects an unknown hash name', () => {
    const msg = "expected hash 'SHA-256', 'SHA-384' or 'SHA-512', got SHA256";
    expect(() => hmac('SHA256' as HashName, k, k)).toThrow(new TypeError(msg));
    expect(() => createHmac('SHA256' as HashName, k)).toThrow(new TypeError(msg));
    expect(() => hmacVerify('SHA256' as HashName, k, k, k)).toThrow(new TypeError(msg));
  });
});

describe('wiping', () => {
  const KEY = new Uint8Array(randomBytes(40));
  // Any 8-byte run of the secret in WASM memory counts: a later call may have overwritten part of it.
  const found = (secret: Uint8Array): boolean => {
    const memory = Buffer.from(mem().buffer);
    for (let i = 0; i + 8 <= secret.length; i++) if (memory.indexOf(secret.subarray(i, i + 8)) >= 0) return true;
    return false;
  };
  const xor = (b: Uint8Array, pad: number): Uint8Array => b.map((x) => x ^ pad);
  const zero = (name: string, len: number): boolean => mem().subarray(region(name), region(name) + len).every((b) => b === 0);

  it('leaves no key, padded key or keyed context in WASM memory', () => {
    // Positive control: the scan sees a key that is there.
    mem().set(KEY, IN);
    expect(found(KEY)).toBe(true);
    mem().fill(0, IN, IN + KEY.length);

    for (const h of HASHES) {
      hmac(h, KEY, DATA.subarray(0, 10));
      hmacVerify(h, KEY, DATA.subarray(0, 10), new Uint8Array(OUTPUT[h]));
      const mac = createHmac(h, KEY).update(DATA.subarray(0, 10));
      for (const secret of [KEY, xor(KEY, 0x36), xor(KEY, 0x5c)]) expect(found(secret), h).toBe(false);
      expect(zero('HMAC_CTX', 400), `${h}: HMAC_CTX between updates`).toBe(true);
      mac.digest();
      expect(zero('HMAC_CTX', 400), `${h}: HMAC_CTX after digest`).toBe(true);
    }
  });
});
