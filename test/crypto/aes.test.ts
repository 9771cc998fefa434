// assembly/aes_ct.ts through its raw exports: FIPS 197 examples, then node:crypto (OpenSSL) as the oracle.
import { createCipheriv, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { AES_KS_SIZE, CTR, DATA, KS, clear, ctr32, encryptBlocks, setKey } from '../../src/crypto/_aes.js';
import { IN, OUT, mem, wasm } from '../../src/crypto/_wasm.js';
import { hex, toHex } from '../vectors/wycheproof.js';

const KEY_LENGTHS = [16, 24, 32] as const;

function nodeEcb(key: Uint8Array, data: Uint8Array): Uint8Array {
  const c = createCipheriv(`aes-${key.length * 8}-ecb`, key, null);
  c.setAutoPadding(false);
  return new Uint8Array(Buffer.concat([c.update(data), c.final()]));
}

// OpenSSL's CTR increments all 128 bits; it agrees with inc32 as long as the low word does not wrap.
function nodeCtr(key: Uint8Array, counter: Uint8Array, data: Uint8Array): Uint8Array {
  return new Uint8Array(createCipheriv(`aes-${key.length * 8}-ctr`, key, counter).update(data));
}

// The counter block after n inc32 steps (NIST SP 800-38D §6.2).
function inc32(counter: Uint8Array, n: number): Uint8Array {
  const out = counter.slice();
  const v = new DataView(out.buffer);
  v.setUint32(12, (v.getUint32(12) + n) >>> 0);
  return out;
}

// A counter block whose low word leaves room for `blocks` increments without a 32-bit wrap.
function freshCounter(blocks: number): Uint8Array {
  const c = new Uint8Array(randomBytes(16));
  new DataView(c.buffer).setUint32(12, Math.floor(Math.random() * (2 ** 32 - blocks - 1)));
  return c;
}

// The first index >= from of needle in hay[from, to), or -1.
function indexOf(hay: Uint8Array, needle: Uint8Array, from: number, to: number): number {
  const at = Buffer.from(hay.buffer, hay.byteOffset + from, to - from).indexOf(Buffer.from(needle));
  return at < 0 ? -1 : from + at;
}

describe('aes_ct', () => {
  it('exports a schedule size that fits 15 bitsliced round keys', () => {
    expect(AES_KS_SIZE).toBe(15 * 128);
  });

  it('aesSetKey returns the round count for 16/24/32-byte keys and 0 for any other length', () => {
    expect(setKey(new Uint8Array(16))).toBe(10);
    expect(setKey(new Uint8Array(24))).toBe(12);
    expect(setKey(new Uint8Array(32))).toBe(14);
    for (const len of [0, 1, 8, 15, 17, 23, 25, 31, 33]) expect(setKey(new Uint8Array(len)), `length ${len}`).toBe(0);
  });

  // FIPS 197 Appendix C.1, C.2, C.3.
  const fips197 = [
    { key: '000102030405060708090a0b0c0d0e0f', ct: '69c4e0d86a7b0430d8cdb78070b4c55a' },
    { key: '000102030405060708090a0b0c0d0e0f1011121314151617', ct: 'dda97ca4864cdfe06eaf70a0ec0d7191' },
    { key: '000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f', ct: '8ea2b7ca516745bfeafc49904b496089' },
  ];
  for (const v of fips197) {
    it(`FIPS 197 Appendix C, AES-${v.key.length * 4}`, () => {
      const rounds = setKey(hex(v.key));
      expect(toHex(encryptBlocks(rounds, hex('00112233445566778899aabbccddeeff')))).toBe(v.ct);
    });
  }

  it('FIPS 197 example in every one of the eight lanes of a pass', () => {
    const rounds = setKey(hex(fips197[0]!.key));
    const pt = hex('00112233445566778899aabbccddeeff');
    for (let lane = 0; lane < 8; lane++) {
      const data = new Uint8Array(randomBytes(128));
      data.set(pt, lane * 16);
      expect(toHex(encryptBlocks(rounds, data).subarray(lane * 16, lane * 16 + 16)), `lane ${lane}`).toBe(fips197[0]!.ct);
    }
  });

  for (const kl of KEY_LENGTHS) {
    it(`aesEncryptBlocks matches node aes-${kl * 8}-ecb for 1..40 blocks`, () => {
      for (let n = 1; n <= 40; n++) {
        const key = new Uint8Array(randomBytes(kl));
        const data = new Uint8Array(randomBytes(16 * n));
        const rounds = setKey(key);
        expect(toHex(encryptBlocks(rounds, data)), `${n} blocks`).toBe(toHex(nodeEcb(key, data)));
      }
    });

    it(`aesCtr32 matches node aes-${kl * 8}-ctr at lengths 0..70000 and returns the next counter`, () => {
      const lengths = [...Array.from({ length: 300 }, (_, i) => i), 511, 1023, 1024, 1025, 4095, 4096, 4097, 65535, 65536, 65537, 69999, 70000];
      for (let i = 0; i < 40; i++) lengths.push(Math.floor(Math.random() * 70001));
      for (const len of lengths) {
        const key = new Uint8Array(randomBytes(kl));
        const counter = freshCounter(Math.ceil(len / 16));
        const start = counter.slice();
        const data = new Uint8Array(randomBytes(len));
        const rounds = setKey(key);
        expect(toHex(ctr32(rounds, counter, data)), `length ${len}`).toBe(toHex(nodeCtr(key, start, data)));
        expect(toHex(counter), `counter after ${len} bytes`).toBe(toHex(inc32(start, Math.ceil(len / 16))));
      }
    });

    it(`aesCtr32 (AES-${kl * 8}) continues the counter across block-aligned chunked calls`, () => {
      const key = new Uint8Array(randomBytes(kl));
      const data = new Uint8Array(randomBytes(3000));
      const start = freshCounter(200);
      const rounds = setKey(key);
      const expected = toHex(nodeCtr(key, start, data));
      for (const step of [16, 32, 48, 112, 128, 144, 256, 1008]) {
        const counter = start.slice();
        const parts: Uint8Array[] = [];
        for (let off = 0; off < data.length; off += step) parts.push(ctr32(rounds, counter, data.subarray(off, off + step)));
        expect(toHex(Buffer.concat(parts)), `chunks of ${step}`).toBe(expected);
        expect(toHex(counter)).toBe(toHex(inc32(start, Math.ceil(data.length / 16))));
      }
    });
  }

  it('aesCtr32 wraps the low 32 bits of the counter without carrying into byte 11', () => {
    const key = new Uint8Array(randomBytes(32));
    // Bytes 10 and 11 are ff, so a carry out of the low word would show.
    const blocks = [
      '0102030405060708090affff' + 'fffffffe',
      '0102030405060708090affff' + 'ffffffff',
      '0102030405060708090affff' + '00000000',
      '0102030405060708090affff' + '00000001',
    ];
    const start = hex(blocks[0]!);
    const pt = new Uint8Array(randomBytes(64));
    const ks = nodeEcb(key, hex(blocks.join('')));
    const expected = pt.map((b, i) => b ^ ks[i]!);
    const rounds = setKey(key);
    const counter = start.slice();
    const got = ctr32(rounds, counter, pt);
    expect(toHex(got)).toBe(toHex(expected));
    expect(toHex(counter)).toBe('0102030405060708090affff' + '00000002');
    // A 128-bit counter (OpenSSL's CTR) differs after the wrap: the check above can tell them apart.
    expect(toHex(got.subarray(32))).not.toBe(toHex(nodeCtr(key, start, pt).subarray(32)));
  });

  it('writes nothing for a bad key length, zero blocks or zero bytes', () => {
    const ctrFn = wasm.aesCtr32 as (ks: number, r: number, ctr: number, src: number, dst: number, len: number) => void;
    const ecbFn = wasm.aesEncryptBlocks as (ks: number, r: number, src: number, dst: number, n: number) => void;
    const setKeyFn = wasm.aesSetKey as (key: number, keyLen: number, ks: number) => number;
    const rounds = setKey(new Uint8Array(randomBytes(16)));
    const schedule = mem().slice(KS, KS + AES_KS_SIZE);
    expect(setKeyFn(DATA, 20, KS)).toBe(0);
    expect(toHex(mem().slice(KS, KS + AES_KS_SIZE))).toBe(toHex(schedule));
    const counter = new Uint8Array(randomBytes(16));
    const out = new Uint8Array(randomBytes(64));
    mem().set(counter, CTR);
    mem().set(out, OUT);
    ecbFn(KS, rounds, DATA, OUT, 0);
    ctrFn(KS, rounds, CTR, DATA, OUT, 0);
    expect(toHex(mem().slice(OUT, OUT + 64))).toBe(toHex(out));
    expect(toHex(mem().slice(CTR, CTR + 16))).toBe(toHex(counter));
  });

  it('aesCtr32 and aesEncryptBlocks give the same answer in place (src == dst)', () => {
    const ctrFn = wasm.aesCtr32 as (ks: number, r: number, ctr: number, src: number, dst: number, len: number) => void;
    const ecbFn = wasm.aesEncryptBlocks as (ks: number, r: number, src: number, dst: number, n: number) => void;
    const key = new Uint8Array(randomBytes(32));
    const rounds = setKey(key);
    for (const len of [5, 16, 100, 128, 1000, 4099]) {
      const counter = freshCounter(300);
      const data = new Uint8Array(randomBytes(len));
      mem().set(counter, CTR);
      mem().set(data, OUT);
      ctrFn(KS, rounds, CTR, OUT, OUT, len);
      expect(toHex(mem().slice(OUT, OUT + len)), `ctr ${len}`).toBe(toHex(nodeCtr(key, counter, data)));
      const blocks = data.subarray(0, len & ~15);
      mem().set(blocks, DATA);
      ecbFn(KS, rounds, DATA, DATA, blocks.length >> 4);
      expect(toHex(mem().slice(DATA, DATA + blocks.length)), `ecb ${len}`).toBe(toHex(nodeEcb(key, blocks)));
    }
  });

  it('leaves no expanded key words or keystream in WASM memory outside the caller-owned regions', () => {
    // FIPS 197 Appendix A.1: the last round key w[40..43] of the AES-128 example key.
    setKey(hex('2b7e151628aed2a6abf7158809cf4f3c'));
    const lastRoundKey = hex('d014f9a8c9ee2589e13f0cc8b6630ca6');
    const m = mem();
    const outside = (needle: Uint8Array) => {
      const inIo = (at: number) => (at >= IN && at < IN + 65536) || (at >= OUT && at < OUT + 65536);
      for (let at = indexOf(m, needle, 0, m.length); at >= 0; at = indexOf(m, needle, at + 1, m.length)) if (!inIo(at)) return at;
      return -1;
    };
    expect(outside(lastRoundKey)).toBe(-1);
    // Keystream = CTR of zeros. 100 bytes run one 8-block pass and 200 bytes one 16-block pass: the
    // blocks output may survive only in the I/O regions, the blocks computed past the end nowhere.
    const key = new Uint8Array(randomBytes(32));
    const rounds = setKey(key);
    for (const [len, pass] of [[100, 8], [200, 16]] as const) {
      const start = freshCounter(pass);
      const stream = ctr32(rounds, start.slice(), new Uint8Array(len));
      const used = Math.ceil(len / 16);
      const discarded = nodeEcb(key, Buffer.concat(Array.from({ length: pass - used }, (_, i) => inc32(start, used + i))));
      expect(outside(stream.subarray(0, 16)), `${len} bytes: first block`).toBe(-1);
      expect(outside(stream.subarray((used - 2) * 16, (used - 1) * 16)), `${len} bytes: last whole block`).toBe(-1);
      for (let i = 0; i < discarded.length; i += 16) {
        expect(indexOf(m, discarded.subarray(i, i + 16), 0, m.length), `${len} bytes: discarded block ${used + i / 16}`).toBe(-1);
      }
    }
    clear();
  });
});
