// AES-GCM (assembly/gcm.ts, src/crypto/aes-gcm.ts): Wycheproof, node:crypto (OpenSSL) in both directions,
// tampering, streaming at every split, interleaved operations, wiping, and argument checks.
import { createCipheriv, createDecipheriv, randomBytes, randomInt } from 'node:crypto';
import { Readable, type Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { gcm as nobleGcm } from '@noble/ciphers/aes.js';
import { describe, expect, it } from 'vitest';
import { aesGcm } from '../../src/crypto/aes-gcm.js';
import { AuthenticationError } from '../../src/crypto/errors.js';
import { aesGcm as fromIndex } from '../../src/crypto/index.js';
import { CHUNK, IN, OUT, mem, region, wasm } from '../../src/crypto/_wasm.js';
import { hex, loadWycheproof, toHex, type WycheproofCase } from '../vectors/wycheproof.js';

type NodeGcm = 'aes-128-gcm' | 'aes-192-gcm' | 'aes-256-gcm';
const alg = (key: Uint8Array) => `aes-${key.length * 8}-gcm` as NodeGcm;

// OpenSSL takes IVs of at most 128 bytes; longer ones are checked against @noble/ciphers (16-byte tags,
// truncated here: a shorter GCM tag is the leading bytes of the full one, SP 800-38D §5.2.1.2).
const OPENSSL_MAX_IV = 128;

function nodeSeal(key: Uint8Array, iv: Uint8Array, pt: Uint8Array, aad: Uint8Array, tagLength: number): Buffer {
  if (iv.length > OPENSSL_MAX_IV) {
    return Buffer.from(nobleGcm(key, iv, aad).encrypt(pt).subarray(0, pt.length + tagLength));
  }
  const c = createCipheriv(alg(key), key, iv, { authTagLength: tagLength });
  c.setAAD(aad);
  return Buffer.concat([c.update(pt), c.final(), c.getAuthTag()]);
}

function nodeOpen(key: Uint8Array, iv: Uint8Array, sealed: Uint8Array, aad: Uint8Array, tagLength: number): Buffer {
  if (iv.length > OPENSSL_MAX_IV) {
    expect(tagLength).toBe(16);
    return Buffer.from(nobleGcm(key, iv, aad).decrypt(sealed));
  }
  const d = createDecipheriv(alg(key), key, iv, { authTagLength: tagLength });
  d.setAAD(aad);
  d.setAuthTag(sealed.subarray(sealed.length - tagLength));
  return Buffer.concat([d.update(sealed.subarray(0, sealed.length - tagLength)), d.final()]);
}

const same = (a: Uint8Array, b: Uint8Array) => Buffer.from(a.buffer, a.byteOffset, a.length).equals(b);
const ctx = () => mem().subarray(region('GCM_CTX'), region('GCM_CTX') + region('GCM_CTX_LEN'));
const isZero = (b: Uint8Array) => b.every((x) => x === 0);

function expectAuthFail(fn: () => unknown, label: string): void {
  expect(fn, label).toThrow(AuthenticationError);
}

describe('Wycheproof aes_gcm_test.json', () => {
  interface Group {
    keySize: number;
    ivSize: number;
    tagSize: number;
    tests: (WycheproofCase & { key: string; iv: string; aad: string; msg: string; ct: string; tag: string })[];
  }
  const file = loadWycheproof<Group>('aes_gcm_test.json');
  const cases = file.testGroups.flatMap((g) => g.tests.map((t) => ({ ...t, tagLength: g.tagSize / 8 })));

  it('has every case', () => {
    expect(cases.length).toBe(file.numberOfTests);
    expect(cases.length).toBe(316);
  });

  for (const t of cases) {
    it(`Wycheproof/aes_gcm_test.json/${t.tcId}`, () => {
      const [key, iv, aad, msg] = [hex(t.key), hex(t.iv), hex(t.aad), hex(t.msg)];
      const sealed = new Uint8Array([...hex(t.ct), ...hex(t.tag)]);
      if (t.result === 'valid') {
        expect(toHex(aesGcm.seal(key, iv, msg, aad, t.tagLength))).toBe(toHex(sealed));
        expect(toHex(aesGcm.open(key, iv, sealed, aad, t.tagLength))).toBe(t.msg);
        return;
      }
      expect(t.result).toBe('invalid');
      if (iv.length === 0) {
        expect(() => aesGcm.seal(key, iv, msg, aad, t.tagLength)).toThrow(RangeError);
        expect(() => aesGcm.open(key, iv, sealed, aad, t.tagLength)).toThrow(RangeError);
      } else {
        expect(toHex(aesGcm.seal(key, iv, msg, aad, t.tagLength))).not.toBe(toHex(sealed));
        expectAuthFail(() => aesGcm.open(key, iv, sealed, aad, t.tagLength), `tcId ${t.tcId}`);
      }
    });
  }
});

describe('GCM spec (McGrew–Viega) test case 16 through the public index', () => {
  it('AES-256, 96-bit IV, AAD, 60-byte message', () => {
    const key = hex('feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308');
    const iv = hex('cafebabefacedbaddecaf888');
    const pt = hex(
      'd9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39',
    );
    const aad = hex('feedfacedeadbeeffeedfacedeadbeefabaddad2');
    const sealed =
      '522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662' +
      '76fc6ece0f4e1768cddf8853bb2d551b';
    expect(toHex(fromIndex.seal(key, iv, pt, aad))).toBe(sealed);
    expect(toHex(fromIndex.open(key, iv, hex(sealed), aad))).toBe(toHex(pt));
  });
});

describe('node:crypto (OpenSSL) cross-check, @noble/ciphers for IVs over 128 bytes', () => {
  // Lengths around AES batches (128 bytes), the eight-block first pass, and the 65536-byte I/O chunk.
  const msgLens = [
    0, 1, 15, 16, 17, 31, 32, 33, 63, 64, 65, 79, 80, 81, 95, 96, 97, 111, 112, 113, 127, 128, 129, 255, 256, 257, 1000, 1 << 20 | 13,
    4096, 65535 - 44, 65536 - 44, 65537 - 44, 65535, 65536, 65537, 2 * 65536 - 1, 2 * 65536 + 1, 3 * 65536 + 100,
  ];
  const aadLens = [0, 0, 1, 13, 16, 17, 64, 100, 65536 + 7];
  const ivLens = [1, 8, 12, 12, 12, 16, 60, 128, 1000];
  const keyLens = [16, 24, 32];

  it('seals like OpenSSL and opens what OpenSSL seals: random parameters, 400 cases', () => {
    let n = 0;
    for (let round = 0; round < 11; round++) {
      for (const msgLen of msgLens) {
        const key = randomBytes(keyLens[n % 3]!);
        const iv = randomBytes(ivLens[randomInt(ivLens.length)]!);
        const aad = randomBytes(msgLen > 70000 && n % 2 === 0 ? 0 : aadLens[randomInt(aadLens.length)]!);
        const tagLength = 12 + randomInt(5);
        const pt = randomBytes(msgLen);
        const label = `key ${key.length} iv ${iv.length} aad ${aad.length} msg ${msgLen} tag ${tagLength}`;
        const ours = aesGcm.seal(key, iv, pt, aad, tagLength);
        expect(toHex(ours), label).toBe(nodeSeal(key, iv, pt, aad, tagLength).toString('hex'));
        if (iv.length <= OPENSSL_MAX_IV || tagLength === 16) {
          expect(same(nodeOpen(key, iv, ours, aad, tagLength), pt), label).toBe(true);
        }
        const theirs = nodeSeal(key, iv, pt, aad, tagLength);
        expect(same(aesGcm.open(key, iv, theirs, aad, tagLength), pt), label).toBe(true);
        n++;
      }
    }
    expect(n).toBe(11 * msgLens.length);
  });

  it('one-shot boundary: key ‖ IV ‖ AAD ‖ message just under, at and over the 65536-byte chunk', () => {
    for (const keyLen of keyLens) {
      for (const aadLen of [0, 5]) {
        for (let d = -17; d <= 17; d++) {
          const key = randomBytes(keyLen);
          const iv = randomBytes(12);
          const aad = randomBytes(aadLen);
          const pt = randomBytes(CHUNK - keyLen - 12 - aadLen + d);
          const sealed = nodeSeal(key, iv, pt, aad, 16);
          const label = `key ${keyLen} aad ${aadLen} msg ${pt.length}`;
          expect(same(aesGcm.seal(key, iv, pt, aad), sealed), label).toBe(true);
          expect(same(aesGcm.open(key, iv, sealed, aad), pt), label).toBe(true);
        }
      }
    }
  });

  it('IVs and AAD longer than the I/O chunk (gcmIv, multi-chunk AAD), 1 MiB message', () => {
    const key = randomBytes(32);
    for (const ivLen of [CHUNK - 32, CHUNK - 31, CHUNK + 5, 3 * CHUNK + 1]) {
      const iv = randomBytes(ivLen);
      const aad = randomBytes(2 * CHUNK + 3);
      const pt = randomBytes(1 << 20);
      const sealed = nodeSeal(key, iv, pt, aad, 16);
      const ours = aesGcm.seal(key, iv, pt, aad);
      expect(same(ours, sealed), `iv ${ivLen}`).toBe(true);
      expect(same(nodeOpen(key, iv, ours, aad, 16), pt), `iv ${ivLen}`).toBe(true);
      expect(same(aesGcm.open(key, iv, sealed, aad), pt), `iv ${ivLen}`).toBe(true);
    }
  });
});

describe('tampering', () => {
  function flip(b: Uint8Array, bit: number): Uint8Array {
    const c = Uint8Array.from(b);
    c[bit >> 3]! ^= 1 << (bit & 7);
    return c;
  }

  it('every bit of ciphertext, tag, IV and AAD of small messages (96-bit and other IVs, all key sizes)', () => {
    for (const [keyLen, ivLen, msgLen, tagLength] of [
      [16, 12, 20, 16],
      [24, 7, 33, 12],
      [32, 12, 0, 13],
      [32, 16, 1, 16],
    ] as const) {
      const key = randomBytes(keyLen);
      const iv = randomBytes(ivLen);
      const aad = randomBytes(9);
      const pt = randomBytes(msgLen);
      const sealed = aesGcm.seal(key, iv, pt, aad, tagLength);
      for (let bit = 0; bit < sealed.length * 8; bit++) {
        expectAuthFail(() => aesGcm.open(key, iv, flip(sealed, bit), aad, tagLength), `sealed bit ${bit}`);
      }
      for (let bit = 0; bit < iv.length * 8; bit++) {
        expectAuthFail(() => aesGcm.open(key, flip(iv, bit), sealed, aad, tagLength), `iv bit ${bit}`);
      }
      for (let bit = 0; bit < aad.length * 8; bit++) {
        expectAuthFail(() => aesGcm.open(key, iv, sealed, flip(aad, bit), tagLength), `aad bit ${bit}`);
      }
      for (let bit = 0; bit < key.length * 8; bit += 7) {
        expectAuthFail(() => aesGcm.open(flip(key, bit), iv, sealed, aad, tagLength), `key bit ${bit}`);
      }
      expect(same(aesGcm.open(key, iv, sealed, aad, tagLength), pt)).toBe(true);
    }
  });

  it('sampled bits of a multi-chunk message, its tag, IV and AAD', () => {
    const key = randomBytes(32);
    const iv = randomBytes(12);
    const aad = randomBytes(70000);
    const pt = randomBytes(3 * CHUNK + 77);
    const sealed = aesGcm.seal(key, iv, pt, aad);
    const bits = [0, 7, CHUNK * 8, CHUNK * 8 - 1, pt.length * 8 - 1, ...Array.from({ length: 24 }, () => randomInt(sealed.length * 8))];
    for (const bit of [...bits, (sealed.length - 16) * 8, sealed.length * 8 - 1]) {
      expectAuthFail(() => aesGcm.open(key, iv, flip(sealed, bit), aad), `sealed bit ${bit}`);
    }
    for (const bit of [0, 95, randomInt(96)]) expectAuthFail(() => aesGcm.open(key, flip(iv, bit), sealed, aad), `iv bit ${bit}`);
    for (const bit of [0, aad.length * 8 - 1, randomInt(aad.length * 8)]) {
      expectAuthFail(() => aesGcm.open(key, iv, sealed, flip(aad, bit)), `aad bit ${bit}`);
    }
    expect(same(aesGcm.open(key, iv, sealed, aad), pt)).toBe(true);
  });

  it('truncated, extended or re-tagged data and a wrong tag length fail', () => {
    const key = randomBytes(16);
    const iv = randomBytes(12);
    const pt = randomBytes(40);
    const sealed = aesGcm.seal(key, iv, pt);
    expectAuthFail(() => aesGcm.open(key, iv, sealed.subarray(0, sealed.length - 1)), 'truncated');
    expectAuthFail(() => aesGcm.open(key, iv, new Uint8Array([...sealed, 0])), 'extended');
    expectAuthFail(() => aesGcm.open(key, iv, sealed, undefined, 12), 'tag read as 12 bytes');
    expectAuthFail(() => aesGcm.open(key, iv, sealed, new Uint8Array(1)), 'AAD added');
    expectAuthFail(() => aesGcm.open(key, iv, sealed.subarray(0, 15)), 'shorter than the tag');
    expectAuthFail(() => aesGcm.open(key, iv, new Uint8Array(0)), 'empty');
    const short = aesGcm.seal(key, iv, pt, undefined, 12);
    expectAuthFail(() => aesGcm.open(key, iv, short), 'a 12-byte tag read as 16');
  });

  it('a failed open writes no plaintext to WASM memory and leaves the context wiped', () => {
    const key = randomBytes(32);
    const iv = randomBytes(12);
    const pt = new Uint8Array(1000).fill(0xa5);
    const forged = aesGcm.seal(key, iv, pt);
    forged[500]! ^= 1;
    mem().fill(0, OUT, OUT + CHUNK);
    expectAuthFail(() => aesGcm.open(key, iv, forged), 'forged');
    expect(isZero(mem().subarray(OUT, OUT + CHUNK))).toBe(true);
    expect(isZero(ctx())).toBe(true);
  });

  it('one-shots and streams leave no key, plaintext or context in WASM memory', () => {
    const key = new Uint8Array(32).fill(0x11);
    const iv = randomBytes(12);
    const pt = new Uint8Array(300).fill(0x22);
    // Other tests leave public data in IN and OUT: clear both, then look for the secret bytes.
    const scrub = () => {
      mem().fill(0, IN, IN + CHUNK);
      mem().fill(0, OUT, OUT + CHUNK);
    };
    // Ciphertext bytes may equal 0x11 or 0x22, but not eight in a row (2^-64).
    const runs = [Buffer.alloc(8, 0x11), Buffer.alloc(8, 0x22)];
    const noSecret = () =>
      [mem().subarray(IN, IN + CHUNK), mem().subarray(OUT, OUT + CHUNK)].every((r) =>
        runs.every((run) => Buffer.from(r.buffer, r.byteOffset, r.length).indexOf(run) < 0),
      );
    scrub();
    const sealed = aesGcm.seal(key, iv, pt);
    expect(noSecret() && isZero(ctx()), 'seal').toBe(true);
    expect(same(aesGcm.open(key, iv, sealed), pt)).toBe(true);
    expect(noSecret() && isZero(ctx()), 'open').toBe(true);
    const big = new Uint8Array(CHUNK + 5).fill(0x22);
    const bigSealed = aesGcm.seal(key, iv, big);
    scrub();
    aesGcm.open(key, iv, bigSealed);
    expect(noSecret() && isZero(ctx()), 'multi-chunk').toBe(true);
    const e = aesGcm.createEncryptor(key, iv);
    e.update(pt);
    expect(noSecret(), 'between updates').toBe(true);
    e.final();
    expect(noSecret() && isZero(ctx()), 'encryptor').toBe(true);
  });

  it('a failed multi-chunk open zeroes the output it decrypted into', () => {
    const key = randomBytes(16);
    const iv = randomBytes(12);
    const pt = new Uint8Array(CHUNK * 2).fill(0x5a);
    const forged = aesGcm.seal(key, iv, pt);
    forged[forged.length - 1]! ^= 0x80;
    const views: Uint8Array[] = [];
    const Real = Uint8Array;
    // Capture the plaintext buffer open() allocates, to see it zeroed after the failure.
    const spy = new Proxy(Real, {
      construct(target, args: [number]) {
        const v = new target(...args);
        if (args[0] === pt.length) views.push(v);
        return v;
      },
    });
    globalThis.Uint8Array = spy;
    try {
      expectAuthFail(() => aesGcm.open(key, iv, forged), 'forged');
    } finally {
      globalThis.Uint8Array = Real;
    }
    expect(views.length).toBe(1);
    expect(isZero(views[0]!)).toBe(true);
    expect(isZero(ctx())).toBe(true);
  });
});

describe('streaming', () => {
  const split = (b: Uint8Array, cuts: number[]): Uint8Array[] => {
    const points = [0, ...cuts.sort((x, y) => x - y), b.length];
    return points.slice(1).map((end, i) => b.subarray(points[i], end));
  };
  const randomCuts = (len: number, n: number) => Array.from({ length: n }, () => randomInt(len + 1));

  function encryptParts(key: Uint8Array, iv: Uint8Array, aad: Uint8Array, parts: Uint8Array[], tagLength = 16): Buffer {
    const e = aesGcm.createEncryptor(key, iv, aad, tagLength);
    const out = parts.map((p) => e.update(p));
    return Buffer.concat([...out, e.final()]);
  }

  function decryptParts(key: Uint8Array, iv: Uint8Array, aad: Uint8Array, parts: Uint8Array[], tag: Uint8Array, tagLength = 16): Buffer {
    const d = aesGcm.createDecryptor(key, iv, aad, tagLength);
    const out = parts.map((p) => d.update(p));
    d.final(tag);
    return Buffer.concat(out);
  }

  async function through(t: Transform, parts: Uint8Array[]): Promise<Buffer> {
    const out: Buffer[] = [];
    await pipeline(Readable.from(parts.map((p) => Buffer.from(p))), t, async function* (src) {
      for await (const c of src) out.push(c as Buffer);
    });
    return Buffer.concat(out);
  }

  it('encryptor and decryptor match the one-shot form at every split offset (two and three parts)', () => {
    for (const ivLen of [12, 20]) {
      const key = randomBytes(16);
      const iv = randomBytes(ivLen);
      const aad = randomBytes(21);
      const pt = randomBytes(150);
      const sealed = Buffer.from(aesGcm.seal(key, iv, pt, aad));
      const ct = sealed.subarray(0, pt.length);
      const tag = sealed.subarray(pt.length);
      for (let i = 0; i <= pt.length; i++) {
        expect(encryptParts(key, iv, aad, split(pt, [i])).equals(sealed), `split ${i}`).toBe(true);
        expect(decryptParts(key, iv, aad, split(ct, [i]), tag).equals(pt), `split ${i}`).toBe(true);
        for (let j = i; j <= pt.length; j += 13) {
          expect(encryptParts(key, iv, aad, split(pt, [i, j])).equals(sealed), `split ${i} ${j}`).toBe(true);
        }
      }
    }
  });

  it('random split points of multi-chunk messages, all key sizes and tag lengths', () => {
    for (let round = 0; round < 12; round++) {
      const key = randomBytes([16, 24, 32][round % 3]!);
      const iv = randomBytes(round % 2 ? 12 : 1 + randomInt(80));
      const aad = randomBytes(randomInt(300));
      const tagLength = 12 + (round % 5);
      const pt = randomBytes(randomInt(3 * CHUNK));
      const sealed = Buffer.from(aesGcm.seal(key, iv, pt, aad, tagLength));
      const cuts = randomCuts(pt.length, 1 + randomInt(8));
      expect(encryptParts(key, iv, aad, split(pt, cuts), tagLength).equals(sealed)).toBe(true);
      const tag = sealed.subarray(pt.length);
      expect(decryptParts(key, iv, aad, split(sealed.subarray(0, pt.length), cuts), tag, tagLength).equals(pt)).toBe(true);
    }
  });

  it('Transform streams match the one-shot form; the open stream holds back the tag across any chunking', async () => {
    for (let round = 0; round < 10; round++) {
      const key = randomBytes(32);
      const iv = randomBytes(12);
      const aad = randomBytes(round);
      const tagLength = 12 + (round % 5);
      const pt = randomBytes(round < 5 ? round * 7 : randomInt(2 * CHUNK + 500));
      const sealed = Buffer.from(aesGcm.seal(key, iv, pt, aad, tagLength));
      const sealedByStream = await through(aesGcm.createSealStream(key, iv, aad, tagLength), split(pt, randomCuts(pt.length, 4)));
      expect(sealedByStream.equals(sealed), `round ${round}`).toBe(true);
      // Chunks smaller than the tag, and cuts inside the tag, exercise the held-back tail.
      const cuts = [...randomCuts(sealed.length, 4), sealed.length - 1, sealed.length - tagLength + 1, 3, 5];
      const opened = await through(aesGcm.createOpenStream(key, iv, aad, tagLength), split(sealed, cuts));
      expect(opened.equals(pt), `round ${round}`).toBe(true);
    }
  });

  it('an open stream errors with AuthenticationError on a tampered, truncated or short input', async () => {
    const key = randomBytes(16);
    const iv = randomBytes(12);
    const sealed = Buffer.from(aesGcm.seal(key, iv, randomBytes(3000)));
    for (const bad of [
      Buffer.concat([sealed.subarray(0, 100), Buffer.from([sealed[100]! ^ 4]), sealed.subarray(101)]),
      Buffer.concat([sealed.subarray(0, -1), Buffer.from([sealed[sealed.length - 1]! ^ 1])]),
      sealed.subarray(0, sealed.length - 1),
      sealed.subarray(0, 10),
      Buffer.alloc(0),
    ]) {
      await expect(through(aesGcm.createOpenStream(key, iv), split(bad, randomCuts(bad.length, 3)))).rejects.toThrow(
        AuthenticationError,
      );
    }
    expect(isZero(ctx())).toBe(true);
  });

  it('interleaved encryptors, decryptors, streams and one-shots do not disturb each other', async () => {
    const ops = Array.from({ length: 5 }, (_, i) => {
      const key = randomBytes([16, 24, 32][i % 3]!);
      const iv = randomBytes(i === 2 ? 33 : 12);
      const aad = randomBytes(i * 5);
      const pt = randomBytes(1000 + i * 40000);
      return { key, iv, aad, pt, sealed: Buffer.from(aesGcm.seal(key, iv, pt, aad)) };
    });
    const encs = ops.map((o) => aesGcm.createEncryptor(o.key, o.iv, o.aad));
    const decs = ops.map((o) => aesGcm.createDecryptor(o.key, o.iv, o.aad));
    const eOut: Uint8Array[][] = ops.map(() => []);
    const dOut: Uint8Array[][] = ops.map(() => []);
    const step = 777;
    for (let off = 0; ops.some((o) => off < o.pt.length); off += step) {
      ops.forEach((o, i) => {
        eOut[i]!.push(encs[i]!.update(o.pt.subarray(off, off + step)));
        dOut[i]!.push(decs[i]!.update(o.sealed.subarray(off, Math.min(off + step, o.pt.length))));
        // A one-shot in between evicts the resident operation.
        if (off % (step * 7) === 0) expect(same(aesGcm.open(o.key, o.iv, o.sealed, o.aad), o.pt)).toBe(true);
      });
    }
    ops.forEach((o, i) => {
      expect(Buffer.concat([...eOut[i]!, encs[i]!.final()]).equals(o.sealed), `encryptor ${i}`).toBe(true);
      decs[i]!.final(o.sealed.subarray(o.pt.length));
      expect(Buffer.concat(dOut[i]!).equals(o.pt), `decryptor ${i}`).toBe(true);
    });
    // Two Transform streams running concurrently.
    const [a, b] = [ops[1]!, ops[3]!];
    const [sa, sb] = await Promise.all([
      through(aesGcm.createSealStream(a.key, a.iv, a.aad), split(a.pt, randomCuts(a.pt.length, 6))),
      through(aesGcm.createOpenStream(b.key, b.iv, b.aad), split(b.sealed, randomCuts(b.sealed.length, 6))),
    ]);
    expect(sa.equals(a.sealed)).toBe(true);
    expect(sb.equals(b.pt)).toBe(true);
    expect(isZero(ctx())).toBe(true);
  });

  it('a decryptor rejects a wrong tag, a tag of the wrong length, and refuses use after final', () => {
    const key = randomBytes(16);
    const iv = randomBytes(12);
    const pt = randomBytes(64);
    const sealed = aesGcm.seal(key, iv, pt);
    const tag = sealed.subarray(64);
    const d1 = aesGcm.createDecryptor(key, iv);
    d1.update(sealed.subarray(0, 64));
    expect(() => d1.final(Uint8Array.from(tag, (x, i) => (i === 3 ? x ^ 1 : x)))).toThrow(AuthenticationError);
    expect(() => d1.update(pt)).toThrow(/already finished/);
    const d2 = aesGcm.createDecryptor(key, iv);
    d2.update(sealed.subarray(0, 64));
    expect(() => d2.final(tag.subarray(0, 12))).toThrow(AuthenticationError);
    const e = aesGcm.createEncryptor(key, iv);
    e.update(pt);
    e.destroy();
    expect(() => e.final()).toThrow(/already finished/);
    expect(isZero(ctx())).toBe(true);
  });

  it('refuses a message past 2^39 − 256 bits (the byte count is the context’s last field)', () => {
    const e = aesGcm.createEncryptor(randomBytes(16), randomBytes(12));
    e.update(new Uint8Array(1));
    const view = new DataView(mem().buffer);
    const lenAt = region('GCM_CTX') + region('GCM_CTX_LEN') - 8;
    expect(view.getBigUint64(lenAt, true)).toBe(1n);
    view.setBigUint64(lenAt, 2n ** 36n - 32n - 10n, true);
    expect(e.update(new Uint8Array(10)).length).toBe(10);
    expect(() => e.update(new Uint8Array(1))).toThrow(/exceeds the AES-GCM limit/);
    expect(isZero(ctx())).toBe(true);
    expect(() => e.final()).toThrow(/already finished/);
  });
});

describe('argument checks', () => {
  const key = new Uint8Array(16);
  const iv = new Uint8Array(12);
  it('keys', () => {
    expect(() => aesGcm.seal(new Uint8Array(15), iv, key)).toThrow(new RangeError('expected a 16, 24 or 32-byte key, got 15'));
    expect(() => aesGcm.open(new Uint8Array(33), iv, key)).toThrow(new RangeError('expected a 16, 24 or 32-byte key, got 33'));
    expect(() => aesGcm.seal('k' as unknown as Uint8Array, iv, key)).toThrow(new TypeError('expected key to be a Uint8Array, got string'));
    expect(() => aesGcm.createEncryptor(new Uint8Array(0), iv)).toThrow(RangeError);
  });
  it('IVs, AAD, messages and tag lengths', () => {
    expect(() => aesGcm.seal(key, new Uint8Array(0), key)).toThrow(new RangeError('expected an iv of at least 1 byte, got 0'));
    expect(() => aesGcm.createOpenStream(key, new Uint8Array(0))).toThrow(RangeError);
    expect(() => aesGcm.seal(key, null as unknown as Uint8Array, key)).toThrow(new TypeError('expected iv to be a Uint8Array, got null'));
    expect(() => aesGcm.seal(key, iv, key, [1] as unknown as Uint8Array)).toThrow(new TypeError('expected aad to be a Uint8Array, got Array'));
    expect(() => aesGcm.seal(key, iv, 5 as unknown as Uint8Array)).toThrow(new TypeError('expected plaintext to be a Uint8Array, got number'));
    expect(() => aesGcm.open(key, iv, {} as Uint8Array)).toThrow(new TypeError('expected sealed to be a Uint8Array, got Object'));
    for (const t of [11, 17, 0, 4, 8]) {
      expect(() => aesGcm.seal(key, iv, key, undefined, t)).toThrow(new RangeError(`expected tagLength in 12..16, got ${t}`));
      expect(() => aesGcm.createSealStream(key, iv, undefined, t)).toThrow(RangeError);
    }
    expect(() => aesGcm.open(key, iv, key, undefined, 12.5)).toThrow(new TypeError('expected tagLength to be an integer, got 12.5'));
  });
  it('the WASM core refuses a bad key length itself and leaves nothing behind', () => {
    const gcmSeal = wasm.gcmSeal as (keyLen: number, ivLen: number, aadLen: number, msgLen: number) => number;
    const gcmInit = wasm.gcmInit as (keyLen: number, ivLen: number, decrypt: number) => number;
    mem().fill(0x33, IN, IN + 64);
    expect(gcmSeal(20, 12, 0, 8)).toBe(0);
    expect(isZero(mem().subarray(IN, IN + 40))).toBe(true);
    expect(gcmInit(31, 12, 0)).toBe(0);
    expect(isZero(ctx())).toBe(true);
  });
  it('a Buffer is accepted wherever a Uint8Array is', () => {
    const k = Buffer.alloc(24, 1);
    const n = Buffer.alloc(12, 2);
    const sealed = aesGcm.seal(k, n, Buffer.from('hello'), Buffer.from('ad'));
    expect(Buffer.from(aesGcm.open(k, n, Buffer.from(sealed), Buffer.from('ad'))).toString()).toBe('hello');
  });
});
