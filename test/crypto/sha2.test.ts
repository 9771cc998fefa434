// SHA-256/384/512 (src/crypto/sha2.ts over assembly/sha256.ts, assembly/sha512.ts): the FIPS 180-4
// examples, node:crypto (OpenSSL) as the oracle, streaming at every split, interleaved objects, wiping.
import { createHash as nodeHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createHash, sha256, sha384, sha512, type HashName } from '../../src/crypto/index.js';
import { CHUNK, IN, mem, region } from '../../src/crypto/_wasm.js';
import { toHex } from '../vectors/wycheproof.js';

const HASHES: readonly HashName[] = ['SHA-256', 'SHA-384', 'SHA-512'];
const ONE_SHOT: Record<HashName, (m: Uint8Array) => Uint8Array> = { 'SHA-256': sha256, 'SHA-384': sha384, 'SHA-512': sha512 };
const NODE_NAME: Record<HashName, string> = { 'SHA-256': 'sha256', 'SHA-384': 'sha384', 'SHA-512': 'sha512' };
const node = (h: HashName, m: Uint8Array): string => nodeHash(NODE_NAME[h]).update(m).digest('hex');
const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);

// Deterministic per run is not needed: every expectation is an oracle comparison, and a failure prints its length.
const DATA = new Uint8Array(randomBytes(1_200_000));

// FIPS 180-4 examples (NIST CSRC "Examples with Intermediate Values"): "abc" (one block), the 448-bit
// and 896-bit messages (two blocks for SHA-256 and SHA-512 respectively), and one million 'a'.
const M448 = 'abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq';
const M896 = 'abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu';
const MILLION_A = new Uint8Array(1_000_000).fill(0x61);
const NIST: Record<HashName, [string, Uint8Array, string][]> = {
  'SHA-256': [
    ['abc', ascii('abc'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'],
    ['448-bit', ascii(M448), '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1'],
    ['896-bit', ascii(M896), 'cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1'],
    ['one million a', MILLION_A, 'cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0'],
  ],
  'SHA-384': [
    ['abc', ascii('abc'), 'cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7'],
    ['448-bit', ascii(M448), '3391fdddfc8dc7393707a65b1b4709397cf8b1d162af05abfe8f450de5f36bc6b0455a8520bc4e6f5fe95b1fe3c8452b'],
    ['896-bit', ascii(M896), '09330c33f71147e83d192fc782cd1b4753111b173b3b05d22fa08086e3b0f712fcc7c71a557e2db966c3e9fa91746039'],
    ['one million a', MILLION_A, '9d0e1809716474cb086e834e310a4a1ced149e9c00f248527972cec5704c2a5b07b8b3dc38ecc4ebae97ddd87f3d8985'],
  ],
  'SHA-512': [
    ['abc', ascii('abc'), 'ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f'],
    ['448-bit', ascii(M448), '204a8fc6dda82f0a0ced7beb8e08a41657c16ef468b228a8279be331a703c33596fd15c13b1b07f9aa1d3bea57789ca031ad85c7a71dd70354ec631238ca3445'],
    ['896-bit', ascii(M896), '8e959b75dae313da8cf4f72814fc143f8f7779c6eb9f7fa17299aeadb6889018501d289e4900f7e4331b99dec4b5433ac7d329eeb6dd26545e96e55b874be909'],
    ['one million a', MILLION_A, 'e718483d0ce769644e2e42c7bc15b4638e1f98b13b2044285632a803afa973ebde0ff244877ea60a4cb0432ce577c31beb009c5c2c49aa2e4eadb217ad8cc09b'],
  ],
};

// Lengths around every block, padding and CHUNK boundary of both block sizes.
const BOUNDARIES = [
  0, 1, 3, 55, 56, 57, 63, 64, 65, 111, 112, 113, 119, 120, 127, 128, 129, 183, 184, 191, 192, 239, 240, 255, 256, 257,
  1000, 4096, CHUNK - 129, CHUNK - 65, CHUNK - 1, CHUNK, CHUNK + 1, CHUNK + 55, CHUNK + 64, 2 * CHUNK, 2 * CHUNK + 113,
];

function randomInt(max: number): number {
  return Math.floor(Math.random() * (max + 1));
}

describe.each(HASHES)('%s', (h) => {
  const hashOnce = ONE_SHOT[h];

  describe('FIPS 180-4 examples', () => {
    it.each(NIST[h])('%s', (_name, msg, expected) => {
      expect(toHex(hashOnce(msg))).toBe(expected);
      expect(node(h, msg)).toBe(expected);
      expect(toHex(createHash(h).update(msg).digest())).toBe(expected);
    });
  });

  it('matches node:crypto at block and chunk boundary lengths', () => {
    for (const len of BOUNDARIES) {
      const msg = DATA.subarray(7, 7 + len);
      expect(toHex(hashOnce(msg)), `length ${len}`).toBe(node(h, msg));
    }
  });

  it('matches node:crypto at random lengths from 0 to above 1 MiB', () => {
    const lengths = [
      ...Array.from({ length: 150 }, () => randomInt(3 * 128)),
      ...Array.from({ length: 60 }, () => randomInt(3 * CHUNK)),
      ...Array.from({ length: 20 }, () => randomInt(DATA.length - 64)),
      DATA.length - 64,
    ];
    for (const len of lengths) {
      const off = randomInt(63);
      const msg = DATA.subarray(off, off + len);
      expect(toHex(hashOnce(msg)), `length ${len} at offset ${off}`).toBe(node(h, msg));
    }
  });

  it('hashes a multi-MiB message in one call and streamed in odd chunks', () => {
    const big = new Uint8Array(3 * 1024 * 1024 + 5);
    for (let i = 0; i < big.length; i += DATA.length) big.set(DATA.subarray(0, Math.min(DATA.length, big.length - i)), i);
    const expected = node(h, big);
    expect(toHex(hashOnce(big))).toBe(expected);
    const hash = createHash(h);
    for (let off = 0; off < big.length; off += 100_003) hash.update(big.subarray(off, off + 100_003));
    expect(toHex(hash.digest())).toBe(expected);
  });

  it('gives the one-shot digest for a message split at every offset, and at every pair of offsets', () => {
    const msg = DATA.subarray(0, 300);
    const expected = toHex(hashOnce(msg));
    for (let i = 0; i <= msg.length; i++) {
      const got = createHash(h).update(msg.subarray(0, i)).update(msg.subarray(i)).digest();
      expect(toHex(got), `split at ${i}`).toBe(expected);
    }
    // Every three-way split of a shorter message: each buffered fill level meets each update size.
    const short = msg.subarray(0, 260);
    const want = Buffer.from(hashOnce(short));
    const failed: string[] = [];
    for (let i = 0; i <= short.length; i++) {
      for (let j = i; j <= short.length; j++) {
        const got = createHash(h).update(short.subarray(0, i)).update(short.subarray(i, j)).update(short.subarray(j)).digest();
        if (!want.equals(got)) failed.push(`${i}/${j}`);
      }
    }
    expect(failed).toEqual([]);
  });

  it('accepts a Buffer and a view with a byte offset', () => {
    const buf = Buffer.from(DATA.subarray(10, 200));
    expect(toHex(hashOnce(buf))).toBe(node(h, buf));
    const view = new Uint8Array(DATA.buffer, DATA.byteOffset + 13, 77);
    expect(toHex(hashOnce(view))).toBe(node(h, view));
  });

  it('reports its sizes', () => {
    const hash = createHash(h);
    expect(hash.outputLen).toBe(hashOnce(new Uint8Array(0)).length);
    expect(hash.blockLen).toBe(h === 'SHA-256' ? 64 : 128);
  });
});

describe('createHash objects', () => {
  it('stay independent when many are alive and updated in turn', () => {
    const msgs = Array.from({ length: 9 }, (_, i) => DATA.subarray(i * 1000, i * 1000 + 200 + i * 37));
    const objects = msgs.map((_, i) => createHash(HASHES[i % 3]!));
    for (let off = 0; off < 600; off += 13) {
      msgs.forEach((m, i) => objects[i]!.update(m.subarray(off, off + 13)));
      // A one-shot call in between uses the same WASM context.
      sha256(DATA.subarray(off, off + 100));
    }
    msgs.forEach((m, i) => expect(toHex(objects[i]!.digest()), `object ${i}`).toBe(node(HASHES[i % 3]!, m)));
  });

  it('refuse a second digest and an update after digest', () => {
    const hash = createHash('SHA-256').update(ascii('abc'));
    hash.digest();
    expect(() => hash.digest()).toThrow(new Error('SHA-256 digest(): digest() was already called; create a new hash'));
    expect(() => hash.update(ascii('x'))).toThrow(new Error('SHA-256 update(): digest() was already called; create a new hash'));
  });
});

describe('input validation', () => {
  it('rejects a message that is not a Uint8Array', () => {
    expect(() => sha256('abc' as unknown as Uint8Array)).toThrow(new TypeError('expected msg to be a Uint8Array, got string'));
    expect(() => sha384([1, 2] as unknown as Uint8Array)).toThrow(new TypeError('expected msg to be a Uint8Array, got Array'));
    expect(() => sha512(null as unknown as Uint8Array)).toThrow(new TypeError('expected msg to be a Uint8Array, got null'));
    expect(() => sha256(new Uint16Array(4) as unknown as Uint8Array)).toThrow(TypeError);
    expect(() => createHash('SHA-512').update(undefined as unknown as Uint8Array)).toThrow(
      new TypeError('expected data to be a Uint8Array, got undefined'),
    );
  });

  it('rejects an unknown hash name', () => {
    expect(() => createHash('sha256' as HashName)).toThrow(new TypeError("expected hash 'SHA-256', 'SHA-384' or 'SHA-512', got sha256"));
    expect(() => createHash('SHA-1' as HashName)).toThrow(TypeError);
  });
});

describe('wiping', () => {
  const SECRET = new Uint8Array(randomBytes(48));
  // Any 8-byte run of the secret in WASM memory counts: a later call may have overwritten part of it.
  const found = (secret: Uint8Array): boolean => {
    const memory = Buffer.from(mem().buffer);
    for (let i = 0; i + 8 <= secret.length; i++) if (memory.indexOf(secret.subarray(i, i + 8)) >= 0) return true;
    return false;
  };

  it('leaves neither the message nor a hash context in WASM memory', () => {
    // Positive control: the scan sees a secret that is there.
    mem().set(SECRET, IN);
    expect(found(SECRET)).toBe(true);
    sha256(new Uint8Array(0));
    mem().fill(0, IN, IN + SECRET.length);

    for (const h of HASHES) {
      ONE_SHOT[h](SECRET);
      expect(found(SECRET), h).toBe(false);
      createHash(h).update(SECRET);
      expect(found(SECRET), `${h} createHash`).toBe(false);
    }
    for (const [ctx, len] of [['SHA256_CTX', 'SHA256_CTX_LEN'], ['SHA512_CTX', 'SHA512_CTX_LEN']] as const) {
      const p = region(ctx);
      expect(mem().subarray(p, p + region(len)).every((b) => b === 0), ctx).toBe(true);
    }
  });
});
