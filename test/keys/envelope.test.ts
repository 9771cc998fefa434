// The envelope format (src/keys/envelope.ts): round trips at the segment-size edges, every chunking of the
// input, the documented layout checked against node:crypto both ways, and every kind of damage (header,
// segments, tags, truncation, reordering, extension, wrong key) failing with EnvelopeError and releasing
// only plaintext of segments that verified before the damage.
import { createCipheriv, createDecipheriv, randomBytes, randomInt } from 'node:crypto';
import { Readable, type Transform } from 'node:stream';
import { describe, expect, it } from 'vitest';
import {
  createEnvelopeDecryptStream, createEnvelopeEncryptStream, envelopeDecrypt, envelopeEncrypt, EnvelopeError,
  MAX_SEGMENT_SIZE, parseEnvelopeHeader, type OpenDataKey,
} from '../../src/keys/envelope.js';

const KiB = 1024;
const TAG = 16;
const FIXED = 19;

interface Keys {
  key: Uint8Array;
  blob: Uint8Array;
  /** A fresh copy of the key: the envelope code takes ownership of (and zeroes) what it is given. */
  copy(): Uint8Array;
  open: OpenDataKey;
  /** Blobs openDataKey was called with. */
  asked: Uint8Array[];
}

function keys(blobLength = 118): Keys {
  const key = new Uint8Array(randomBytes(32));
  const blob = new Uint8Array(randomBytes(blobLength));
  const asked: Uint8Array[] = [];
  return {
    key, blob, asked,
    copy: () => key.slice(),
    open: async (b) => {
      asked.push(b);
      return key.slice();
    },
  };
}

/** Feeds `chunks` through `t`; returns everything emitted, and the error the stream ended with, if any. */
async function run(t: Transform, chunks: Uint8Array[]): Promise<{ out: Buffer; err: unknown }> {
  const out: Buffer[] = [];
  t.on('data', (c: Buffer) => out.push(c));
  const done = new Promise<unknown>((resolve) => {
    t.on('end', () => resolve(undefined));
    t.on('error', (e) => resolve(e));
  });
  Readable.from(chunks.map((c) => Buffer.from(c)), { objectMode: false }).pipe(t);
  const err = await done;
  return { out: Buffer.concat(out), err };
}

/** Splits `data` at random points into pieces of 0..max bytes (empty pieces included). */
function randomSplit(data: Uint8Array, max: number): Uint8Array[] {
  const parts: Uint8Array[] = [];
  for (let off = 0; off < data.length; ) {
    const n = Math.min(randomInt(0, max + 1), data.length - off);
    parts.push(data.subarray(off, off + n));
    off += n;
  }
  return parts;
}

function segmentCount(length: number, s: number): number {
  return Math.max(1, Math.ceil(length / s));
}

function envelopeLength(length: number, s: number, blobLength: number): number {
  return FIXED + blobLength + length + TAG * segmentCount(length, s);
}

function iv(prefix: Uint8Array, i: number, last: boolean): Buffer {
  const b = Buffer.alloc(12);
  b.set(prefix, 0);
  b.writeUInt32BE(i, 7);
  b[11] = last ? 1 : 0;
  return b;
}

/** An independent reader of the documented layout over node:crypto (OpenSSL). */
function nodeDecrypt(key: Uint8Array, env: Uint8Array): Buffer {
  const b = Buffer.from(env);
  expect(b.subarray(0, 5).toString('latin1')).toBe('KWENV');
  expect(b[5]).toBe(1);
  const s = b.readUInt32BE(6);
  const prefix = b.subarray(10, 17);
  const blobLength = b.readUInt16BE(17);
  const header = b.subarray(0, FIXED + blobLength);
  const out: Buffer[] = [];
  let off = header.length;
  for (let i = 0; ; i++) {
    const last = b.length - off <= s + TAG;
    const end = last ? b.length : off + s + TAG;
    const d = createDecipheriv('aes-256-gcm', key, iv(prefix, i, last));
    d.setAAD(header);
    d.setAuthTag(b.subarray(end - TAG, end));
    out.push(d.update(b.subarray(off, end - TAG)), d.final());
    off = end;
    if (last) return Buffer.concat(out);
  }
}

/** An independent writer of the documented layout over node:crypto. */
function nodeEncrypt(key: Uint8Array, blob: Uint8Array, pt: Uint8Array, s: number): Buffer {
  const prefix = randomBytes(7);
  const header = Buffer.alloc(FIXED + blob.length);
  header.write('KWENV', 0, 'latin1');
  header[5] = 1;
  header.writeUInt32BE(s, 6);
  header.set(prefix, 10);
  header.writeUInt16BE(blob.length, 17);
  header.set(blob, FIXED);
  const out: Buffer[] = [header];
  const n = segmentCount(pt.length, s);
  for (let i = 0; i < n; i++) {
    const c = createCipheriv('aes-256-gcm', key, iv(prefix, i, i === n - 1));
    c.setAAD(header);
    out.push(c.update(pt.subarray(i * s, Math.min(pt.length, (i + 1) * s))), c.final(), c.getAuthTag());
  }
  return Buffer.concat(out);
}

/** Decrypts with both the stream (in random chunks) and the one-shot helper; both must fail alike. */
async function expectRefused(k: Keys, env: Uint8Array, pt: Uint8Array, s: number, code?: string): Promise<EnvelopeError> {
  await expect(envelopeDecrypt(k.open, env)).rejects.toBeInstanceOf(EnvelopeError);
  const { out, err } = await run(createEnvelopeDecryptStream(k.open), randomSplit(env, 3 * s));
  expect(err).toBeInstanceOf(EnvelopeError);
  const e = err as EnvelopeError;
  if (code) expect(e.code).toBe(code);
  // Only whole segments that verified before the failing one came out, and they are the true plaintext.
  expect(out.length % s).toBe(0);
  if (e.segment !== undefined) expect(out.length).toBeLessThanOrEqual(e.segment * s);
  expect(out.equals(Buffer.from(pt.subarray(0, out.length)))).toBe(true);
  return e;
}

describe('envelope round trip', () => {
  const sizes = [0, 1, 64 * KiB - 1, 64 * KiB, 64 * KiB + 1, 2 * 64 * KiB, 3 * 1024 * KiB + 12345];
  for (const size of sizes) {
    it(`${size} bytes: stream and one-shot, layout readable by node:crypto`, async () => {
      const k = keys();
      const pt = new Uint8Array(randomBytes(size));
      const { out: env, err } = await run(createEnvelopeEncryptStream(k.copy(), k.blob), randomSplit(pt, 200 * KiB));
      expect(err).toBeUndefined();
      expect(env.length).toBe(envelopeLength(size, MAX_SEGMENT_SIZE, k.blob.length));
      expect(nodeDecrypt(k.key, env).equals(pt)).toBe(true);
      const back = await run(createEnvelopeDecryptStream(k.open), randomSplit(env, 200 * KiB));
      expect(back.err).toBeUndefined();
      expect(back.out.equals(pt)).toBe(true);
      expect(Buffer.from(await envelopeDecrypt(k.open, envelopeEncrypt(k.copy(), k.blob, pt))).equals(pt)).toBe(true);
      expect(Buffer.from(await envelopeDecrypt(k.open, nodeEncrypt(k.key, k.blob, pt, MAX_SEGMENT_SIZE))).equals(pt)).toBe(true);
      expect(Buffer.from(k.asked[0]!).equals(k.blob)).toBe(true);
    });
  }

  it('the header holds the blob, segment size and a fresh nonce prefix', () => {
    const k = keys(40);
    const a = parseEnvelopeHeader(envelopeEncrypt(k.copy(), k.blob, new Uint8Array(10)));
    const b = parseEnvelopeHeader(envelopeEncrypt(k.copy(), k.blob, new Uint8Array(10)));
    expect(a.segmentSize).toBe(MAX_SEGMENT_SIZE);
    expect(Buffer.from(a.dataKeyBlob).equals(k.blob)).toBe(true);
    expect(a.bytes.length).toBe(FIXED + 40);
    expect(Buffer.from(a.noncePrefix).equals(b.noncePrefix)).toBe(false);
  });

  it('small segments: node:crypto writes what we read and reads what we write, for lengths 0..100', async () => {
    const k = keys(1);
    for (const s of [1, 7, 16]) {
      for (let len = 0; len <= 100; len++) {
        const pt = new Uint8Array(randomBytes(len));
        const env = envelopeEncrypt(k.copy(), k.blob, pt, { segmentSize: s });
        expect(env.length).toBe(envelopeLength(len, s, 1));
        expect(nodeDecrypt(k.key, env).equals(pt)).toBe(true);
        expect(Buffer.from(await envelopeDecrypt(k.open, nodeEncrypt(k.key, k.blob, pt, s))).equals(pt)).toBe(true);
      }
    }
  });
});

describe('envelope streaming at every split', () => {
  const s = 16;
  const k = keys(5);
  const pt = new Uint8Array(randomBytes(3 * s + 5));
  const whole = envelopeEncrypt(k.copy(), k.blob, pt, { segmentSize: s });

  it('encryption: the plaintext cut in two at every offset, and in random pieces', async () => {
    const cuts: Uint8Array[][] = [];
    for (let i = 0; i <= pt.length; i++) cuts.push([pt.subarray(0, i), pt.subarray(i)]);
    for (let r = 0; r < 50; r++) cuts.push(randomSplit(pt, 5));
    for (const chunks of cuts) {
      const { out, err } = await run(createEnvelopeEncryptStream(k.copy(), k.blob, { segmentSize: s }), chunks);
      expect(err).toBeUndefined();
      // The nonce prefix is fresh per file, so compare lengths and node's reading, not bytes.
      expect(out.length).toBe(whole.length);
      expect(nodeDecrypt(k.key, out).equals(pt)).toBe(true);
    }
  });

  it('decryption: the envelope cut in two and in three at every offset, and in random pieces', async () => {
    const cuts: Uint8Array[][] = [];
    for (let i = 0; i <= whole.length; i++) {
      cuts.push([whole.subarray(0, i), whole.subarray(i)]);
      for (let j = i; j <= whole.length; j += 7) cuts.push([whole.subarray(0, i), whole.subarray(i, j), whole.subarray(j)]);
    }
    for (let r = 0; r < 50; r++) cuts.push(randomSplit(whole, 5));
    for (const chunks of cuts) {
      const { out, err } = await run(createEnvelopeDecryptStream(k.open), chunks);
      expect(err).toBeUndefined();
      expect(out.equals(pt)).toBe(true);
    }
  });
});

describe('envelope damage', () => {
  const s = 32;
  const blobLength = 24;
  const k = keys(blobLength);
  // 4 segments: 32, 32, 32 and 4 bytes.
  const pt = new Uint8Array(randomBytes(3 * s + 4));
  const env = envelopeEncrypt(k.copy(), k.blob, pt, { segmentSize: s });
  const H = FIXED + blobLength;
  const seg = (i: number) => env.subarray(H + i * (s + TAG), Math.min(env.length, H + (i + 1) * (s + TAG)));

  it('a flipped bit anywhere (header, each segment, each tag) fails; the segment index is the damaged one', async () => {
    for (let off = 0; off < env.length; off++) {
      const bad = env.slice();
      bad[off]! ^= 1 << (off % 8);
      const e = await expectRefused(k, bad, pt, s);
      if (off >= H) {
        expect(e.code).toBe('AUTHENTICATION_FAILED');
        expect(e.segment).toBe(Math.floor((off - H) / (s + TAG)));
      } else if (off >= 10) {
        // Nonce prefix, blob length low bits, blob: the header is every segment's AAD.
        expect(['AUTHENTICATION_FAILED', 'BAD_HEADER', 'TRUNCATED']).toContain(e.code);
      } else {
        expect(['BAD_HEADER', 'AUTHENTICATION_FAILED', 'TRUNCATED']).toContain(e.code);
      }
    }
  });

  it('header fields out of range are BAD_HEADER', async () => {
    const cases: [string, (b: Buffer) => void][] = [
      ['magic', (b) => { b[0] = 0x58; }],
      ['version', (b) => { b[5] = 2; }],
      ['segment size 0', (b) => b.writeUInt32BE(0, 6)],
      ['segment size 64 KiB + 1', (b) => b.writeUInt32BE(MAX_SEGMENT_SIZE + 1, 6)],
      ['blob length 0', (b) => b.writeUInt16BE(0, 17)],
      ['blob length 4097', (b) => b.writeUInt16BE(4097, 17)],
    ];
    for (const [, edit] of cases) {
      const bad = Buffer.from(env);
      edit(bad);
      const e = await expectRefused(k, bad, pt, s, 'BAD_HEADER');
      expect(e.message.length).toBeGreaterThan(10);
    }
    // A smaller segment size within range is well-formed, but the header is the AAD: authentication fails.
    const smaller = Buffer.from(env);
    smaller.writeUInt32BE(s - 1, 6);
    await expectRefused(k, smaller, pt, s, 'AUTHENTICATION_FAILED');
  });

  it('truncation at every length fails: inside the header, at segment boundaries and mid-segment', async () => {
    for (let len = 0; len < env.length; len++) {
      const e = await expectRefused(k, env.subarray(0, len), pt, s);
      if (len < H) expect(e.code).toBe('TRUNCATED');
      else if ((len - H) % (s + TAG) === 0 && len > H) {
        // At a boundary the previous segment is read as the last one, and it was not sealed as last.
        expect(e.code).toBe('AUTHENTICATION_FAILED');
        expect(e.segment).toBe((len - H) / (s + TAG) - 1);
      } else expect(['TRUNCATED', 'AUTHENTICATION_FAILED']).toContain(e.code);
    }
  });

  it('swapped, dropped and duplicated segments fail', async () => {
    const head = env.subarray(0, H);
    const cat = (...p: Uint8Array[]) => Buffer.concat(p.map((x) => Buffer.from(x)));
    await expectRefused(k, cat(head, seg(1), seg(0), seg(2), seg(3)), pt, s, 'AUTHENTICATION_FAILED');
    await expectRefused(k, cat(head, seg(0), seg(2), seg(1), seg(3)), pt, s, 'AUTHENTICATION_FAILED');
    await expectRefused(k, cat(head, seg(0), seg(2), seg(3)), pt, s, 'AUTHENTICATION_FAILED');
    await expectRefused(k, cat(head, seg(0), seg(1), seg(1), seg(2), seg(3)), pt, s, 'AUTHENTICATION_FAILED');
    // The last segment moved earlier: the full segments after it are not sealed as last.
    await expectRefused(k, cat(head, seg(0), seg(1), seg(2)), pt, s, 'AUTHENTICATION_FAILED');
  });

  it('appended data fails: one byte, a tag length, a whole segment, another envelope', async () => {
    const other = envelopeEncrypt(k.copy(), k.blob, pt, { segmentSize: s });
    for (const extra of [new Uint8Array(1), new Uint8Array(TAG), seg(0), seg(3), other]) {
      await expectRefused(k, Buffer.concat([env, extra]), pt, s, 'AUTHENTICATION_FAILED');
    }
  });

  it('the wrong data key fails at segment 0 and releases nothing', async () => {
    const wrong: OpenDataKey = async () => new Uint8Array(randomBytes(32));
    await expect(envelopeDecrypt(wrong, env)).rejects.toMatchObject({ code: 'AUTHENTICATION_FAILED', segment: 0 });
    const { out, err } = await run(createEnvelopeDecryptStream(wrong), [env]);
    expect(err).toMatchObject({ name: 'EnvelopeError', code: 'AUTHENTICATION_FAILED', segment: 0 });
    expect(out.length).toBe(0);
  });

  it("openDataKey's own error fails the stream as it is (the engine's InvalidCiphertextException, say)", async () => {
    class InvalidCiphertextException extends Error {
      override name = 'InvalidCiphertextException';
    }
    const refuse: OpenDataKey = async () => {
      throw new InvalidCiphertextException('wrong context');
    };
    const { out, err } = await run(createEnvelopeDecryptStream(refuse), [env]);
    expect(err).toBeInstanceOf(InvalidCiphertextException);
    expect(out.length).toBe(0);
    await expect(envelopeDecrypt(refuse, env)).rejects.toBeInstanceOf(InvalidCiphertextException);
    await expect(envelopeDecrypt(async () => new Uint8Array(16), env)).rejects.toThrow(/32-byte data key returned by openDataKey/);
  });
});

describe('envelope key hygiene and arguments', () => {
  it('zeroes the data key when the encrypt stream ends, errors or is destroyed', async () => {
    const k = keys();
    const owned = k.copy();
    await run(createEnvelopeEncryptStream(owned, k.blob), [new Uint8Array(100)]);
    expect(owned.every((b) => b === 0)).toBe(true);

    const destroyed = k.copy();
    createEnvelopeEncryptStream(destroyed, k.blob).destroy();
    expect(destroyed.every((b) => b === 0)).toBe(true);

    // A stream that errors is destroyed with the error (pipeline does this when either side fails).
    const errored = k.copy();
    const t = createEnvelopeEncryptStream(errored, k.blob);
    const failed = new Promise((resolve) => t.on('error', resolve));
    t.write(new Uint8Array(MAX_SEGMENT_SIZE + 1));
    t.destroy(new Error('the source failed'));
    expect(await failed).toMatchObject({ message: 'the source failed' });
    expect(errored.every((b) => b === 0)).toBe(true);

    const oneShot = k.copy();
    envelopeEncrypt(oneShot, k.blob, new Uint8Array(5));
    expect(oneShot.every((b) => b === 0)).toBe(true);
  });

  it('zeroes the key openDataKey returned when the decrypt stream ends or fails', async () => {
    const k = keys();
    const env = envelopeEncrypt(k.copy(), k.blob, new Uint8Array(randomBytes(70 * KiB)));
    const handed: Uint8Array[] = [];
    const open: OpenDataKey = async () => {
      const key = k.copy();
      handed.push(key);
      return key;
    };
    expect((await run(createEnvelopeDecryptStream(open), [env])).err).toBeUndefined();
    const bad = env.slice();
    bad[bad.length - 1]! ^= 1;
    expect((await run(createEnvelopeDecryptStream(open), [bad])).err).toBeInstanceOf(EnvelopeError);
    await envelopeDecrypt(open, env);
    await expect(envelopeDecrypt(open, bad)).rejects.toBeInstanceOf(EnvelopeError);
    expect(handed.length).toBe(4);
    for (const key of handed) expect(key.every((b) => b === 0)).toBe(true);
  });

  it('refuses bad arguments with TypeError or RangeError', () => {
    const k = keys();
    expect(() => createEnvelopeEncryptStream(new Uint8Array(16), k.blob)).toThrow(RangeError);
    expect(() => createEnvelopeEncryptStream('key' as unknown as Uint8Array, k.blob)).toThrow(TypeError);
    expect(() => createEnvelopeEncryptStream(k.copy(), new Uint8Array(0))).toThrow(RangeError);
    expect(() => createEnvelopeEncryptStream(k.copy(), new Uint8Array(4097))).toThrow(RangeError);
    expect(() => createEnvelopeEncryptStream(k.copy(), k.blob, { segmentSize: 0 })).toThrow(RangeError);
    expect(() => createEnvelopeEncryptStream(k.copy(), k.blob, { segmentSize: MAX_SEGMENT_SIZE + 1 })).toThrow(RangeError);
    expect(() => createEnvelopeDecryptStream(undefined as unknown as OpenDataKey)).toThrow(TypeError);
    expect(() => parseEnvelopeHeader(new Uint8Array(3))).toThrow(EnvelopeError);
  });
});
