// The ciphertext blob (src/keys/blob.ts): the version-1 layout byte by byte, every refusal, parseBlob on
// every truncation and on random bytes (only BlobFormatError ever escapes), and the canonical context.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  BLOB_VERSION, BlobFormatError, canonicalContext, encodeBlob, encodeBlobHeader, parseBlob, type CiphertextBlob,
} from '../../src/keys/blob.js';

const UUID = '1234abcd-12ab-34cd-56ef-1234567890ab';
const MRK = 'mrk-' + '0123456789abcdef'.repeat(2);
const seq = (n: number, from: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (from + i) & 0xff);
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

function sample(keyId = UUID, ctLength = 5): Omit<CiphertextBlob, 'header'> {
  return { keyId, backingVersion: 0x01020304, nonce: seq(16, 0xa0), iv: seq(12, 0xc0), ciphertext: seq(ctLength + 16, 0x10) };
}

function expectFormatError(f: () => unknown, message: RegExp): void {
  let err: unknown;
  try {
    f();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(BlobFormatError);
  expect((err as Error).message).toMatch(message);
}

describe('blob layout v1', () => {
  it('is version ‖ keyIdLen ‖ keyId ‖ backingVersion u32 BE ‖ nonce ‖ iv ‖ ct ‖ tag, byte by byte', () => {
    const b = sample();
    const bytes = encodeBlob(b);
    expect(BLOB_VERSION).toBe(1);
    expect(bytes.length).toBe(1 + 1 + 36 + 4 + 16 + 12 + 5 + 16);
    expect(bytes[0]).toBe(0x01);
    expect(bytes[1]).toBe(36);
    expect(Buffer.from(bytes.subarray(2, 38)).toString('latin1')).toBe(UUID);
    expect(hex(bytes.subarray(38, 42))).toBe('01020304');
    expect(hex(bytes.subarray(42, 58))).toBe(hex(seq(16, 0xa0)));
    expect(hex(bytes.subarray(58, 70))).toBe(hex(seq(12, 0xc0)));
    expect(hex(bytes.subarray(70))).toBe(hex(seq(21, 0x10)));
    // The same bytes written out by hand.
    const expected = '01' + '24' + Buffer.from(UUID).toString('hex') + '01020304' + hex(seq(16, 0xa0)) + hex(seq(12, 0xc0)) + hex(seq(21, 0x10));
    expect(hex(bytes)).toBe(expected);
  });

  it('parses back every field; header is everything before the ciphertext', () => {
    for (const keyId of [UUID, MRK, 'a', 'z'.repeat(64)]) {
      const b = sample(keyId, 0);
      const bytes = encodeBlob(b);
      const p = parseBlob(bytes);
      expect(p.keyId).toBe(keyId);
      expect(p.backingVersion).toBe(0x01020304);
      expect(hex(p.nonce)).toBe(hex(b.nonce));
      expect(hex(p.iv)).toBe(hex(b.iv));
      expect(hex(p.ciphertext)).toBe(hex(b.ciphertext));
      expect(hex(p.header)).toBe(hex(bytes.subarray(0, 2 + keyId.length + 32)));
      expect(hex(p.header)).toBe(hex(encodeBlobHeader(keyId, 0x01020304, b.nonce, b.iv)));
    }
  });

  it('parses from a view at an offset and returns copies', () => {
    const bytes = encodeBlob(sample());
    const padded = new Uint8Array(bytes.length + 7);
    padded.set(bytes, 3);
    const p = parseBlob(padded.subarray(3, 3 + bytes.length));
    expect(p.backingVersion).toBe(0x01020304);
    padded.fill(0);
    expect(hex(p.nonce)).toBe(hex(seq(16, 0xa0)));
  });

  it('carries the largest backing version', () => {
    const bytes = encodeBlob({ ...sample(), backingVersion: 0xffffffff });
    expect(parseBlob(bytes).backingVersion).toBe(0xffffffff);
  });
});

describe('blob refusals', () => {
  it('wrong version', () => {
    const bytes = encodeBlob(sample());
    for (const v of [0, 2, 0xff]) {
      bytes[0] = v;
      expectFormatError(() => parseBlob(bytes), new RegExp(`unknown ciphertext blob version ${v}`));
    }
  });

  it('key id length 0 or over 64', () => {
    const bytes = encodeBlob(sample());
    bytes[1] = 0;
    expectFormatError(() => parseBlob(bytes), /key id length must be 1\.\.64, got 0/);
    bytes[1] = 65;
    expectFormatError(() => parseBlob(bytes), /key id length must be 1\.\.64, got 65/);
  });

  it('key id bytes outside [0-9a-z-]', () => {
    for (const c of ['A', '_', '/', ' ', '\0', '\x7f', '\xe9', ':', '`', '{']) {
      const bytes = encodeBlob(sample());
      bytes[2 + 5] = c.charCodeAt(0);
      expectFormatError(() => parseBlob(bytes), /key id byte 5 is 0x[0-9a-f]{2}, not one of \[0-9a-z-\]/);
    }
  });

  it('backing version 0', () => {
    const bytes = encodeBlob(sample());
    bytes.fill(0, 38, 42);
    expectFormatError(() => parseBlob(bytes), /backing version 0/);
  });

  it('every truncation, including a ciphertext shorter than the tag', () => {
    const bytes = encodeBlob(sample(UUID, 0));
    for (let n = 0; n < bytes.length; n++) {
      expectFormatError(() => parseBlob(bytes.subarray(0, n)), /truncated ciphertext blob/);
    }
    expect(parseBlob(bytes).ciphertext.length).toBe(16);
  });

  it('non-bytes input', () => {
    for (const x of [undefined, null, 'AQ==', [1, 2, 3], new ArrayBuffer(80), 42]) {
      expectFormatError(() => parseBlob(x as unknown as Uint8Array), /must be a Uint8Array/);
    }
  });

  it('encodeBlob refuses fields out of range', () => {
    expectFormatError(() => encodeBlob({ ...sample(), keyId: '' }), /key id must be 1\.\.64/);
    expectFormatError(() => encodeBlob({ ...sample(), keyId: 'A'.repeat(36) }), /key id must be/);
    expectFormatError(() => encodeBlob({ ...sample(), keyId: 'a'.repeat(65) }), /key id must be/);
    expectFormatError(() => encodeBlob({ ...sample(), backingVersion: 0 }), /backing version/);
    expectFormatError(() => encodeBlob({ ...sample(), backingVersion: 2 ** 32 }), /backing version/);
    expectFormatError(() => encodeBlob({ ...sample(), backingVersion: 1.5 }), /backing version/);
    expectFormatError(() => encodeBlob({ ...sample(), nonce: new Uint8Array(15) }), /nonce must be 16 bytes, got 15/);
    expectFormatError(() => encodeBlob({ ...sample(), iv: new Uint8Array(16) }), /iv must be 12 bytes, got 16/);
    expectFormatError(() => encodeBlob({ ...sample(), ciphertext: new Uint8Array(15) }), /ciphertext must be at least 16 bytes, got 15/);
  });

  it('random bytes never throw anything but BlobFormatError (fast-check)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        try {
          const p = parseBlob(bytes);
          // Whatever parses re-encodes to the same bytes.
          expect(hex(encodeBlob(p))).toBe(hex(bytes));
        } catch (e) {
          if (!(e instanceof BlobFormatError)) throw e;
        }
      }),
      { numRuns: 20_000 },
    );
  });

  it('mutated valid blobs never throw anything but BlobFormatError, and round-trip when they parse (fast-check)', () => {
    const valid = fc
      .record({
        keyId: fc.stringMatching(/^[0-9a-z-]{1,64}$/),
        backingVersion: fc.integer({ min: 1, max: 0xffffffff }),
        nonce: fc.uint8Array({ minLength: 16, maxLength: 16 }),
        iv: fc.uint8Array({ minLength: 12, maxLength: 12 }),
        ciphertext: fc.uint8Array({ minLength: 16, maxLength: 64 }),
      })
      .map((b) => encodeBlob(b));
    fc.assert(
      fc.property(valid, fc.nat(), fc.integer({ min: 0, max: 255 }), fc.nat(), (bytes, at, value, cut) => {
        const m = bytes.slice(0, bytes.length - (cut % 4 === 0 ? cut % bytes.length : 0));
        if (m.length > 0) m[at % m.length] = value;
        try {
          expect(hex(encodeBlob(parseBlob(m)))).toBe(hex(m));
        } catch (e) {
          if (!(e instanceof BlobFormatError)) throw e;
        }
      }),
      { numRuns: 20_000 },
    );
  });
});

describe('canonicalContext', () => {
  const u32 = (n: number): string => n.toString(16).padStart(8, '0');
  const pair = (k: string, v: string): string =>
    u32(Buffer.byteLength(k)) + Buffer.from(k).toString('hex') + u32(Buffer.byteLength(v)) + Buffer.from(v).toString('hex');

  it('is empty for no context and for {}', () => {
    expect(canonicalContext(undefined).length).toBe(0);
    expect(canonicalContext({}).length).toBe(0);
  });

  it('is u32 len ‖ key ‖ u32 len ‖ value per pair, sorted by key, byte by byte', () => {
    expect(hex(canonicalContext({ b: '2', a: '1' }))).toBe(pair('a', '1') + pair('b', '2'));
    expect(hex(canonicalContext({ a: '' }))).toBe('00000001' + '61' + '00000000');
    expect(hex(canonicalContext({ '': 'x' }))).toBe('00000000' + '00000001' + '78');
    expect(hex(canonicalContext({ 'é': 'ü' }))).toBe('00000002c3a9' + '00000002c3bc');
  });

  it('does not depend on insertion order, including integer-like keys', () => {
    expect(hex(canonicalContext({ '10': 'a', '9': 'b', x: 'c' }))).toBe(hex(canonicalContext({ x: 'c', '9': 'b', '10': 'a' })));
    expect(hex(canonicalContext({ '10': 'a', '9': 'b' }))).toBe(pair('10', 'a') + pair('9', 'b'));
  });

  it('sorts by UTF-8 bytes, not by UTF-16 code units', () => {
    // U+FF61 is 0xFF61 in UTF-16 but EF BD A1 in UTF-8; U+1F600 is 0xD83D… in UTF-16 but F0 9F 98 80.
    // UTF-16 order puts the emoji first; UTF-8 order puts U+FF61 first.
    const a = '\uFF61';
    const b = '\u{1F600}';
    expect(a < b).toBe(false);
    expect(hex(canonicalContext({ [b]: '1', [a]: '2' }))).toBe(pair(a, '2') + pair(b, '1'));
  });

  it('never encodes two different contexts alike (fast-check)', () => {
    const ctx = fc.dictionary(fc.string({ maxLength: 6 }), fc.string({ maxLength: 6 }), { maxKeys: 4 });
    fc.assert(
      fc.property(ctx, ctx, (x, y) => {
        const same = JSON.stringify(Object.entries(x).sort()) === JSON.stringify(Object.entries(y).sort());
        expect(hex(canonicalContext(x)) === hex(canonicalContext(y))).toBe(same);
      }),
      { numRuns: 5_000 },
    );
  });

  it('refuses non-string values and unpaired surrogates with TypeError', () => {
    expect(() => canonicalContext({ a: 1 as unknown as string })).toThrow(/value of "a" must be a string, got number/);
    expect(() => canonicalContext({ a: '\uD800' })).toThrow(TypeError);
    expect(() => canonicalContext({ '\uDC00x': 'v' })).toThrow(/key is not well-formed Unicode/);
    expect(() => canonicalContext('a=b' as unknown as Record<string, string>)).toThrow(/must be an object of strings/);
    // A paired surrogate is fine.
    expect(canonicalContext({ a: '\u{1F600}' }).length).toBe(4 + 1 + 4 + 4);
  });
});
