// GHASH (NIST SP 800-38D §6.4), constant-time, after BearSSL's ghash_ctmul64.c.
//
// Strategy: GF(2^128) multiplication needs carry-less 64×64 products, which WebAssembly lacks. bmul64
// emulates one with ordinary i64 multiplications "with holes": each operand is split into its four bit
// classes (bits 4i, 4i+1, 4i+2, 4i+3), each shifted down to the bits 4i, so an integer product of two
// such words holds at each bit 4i the parity of the terms that meet there (at most 15 terms meet below
// bit 60, so their sum never carries into the next kept bit; bit 60's carry leaves the word). The four
// classes are combined by a two-level Karatsuba, as BearSSL's ghash_ctmul32.c does, so one 64×64
// product costs 9 multiplications. That gives the low 64 bits of a carry-less product; the high 64 bits
// are the bit-reversed low half of the product of the bit-reversed operands. A 128×128 product is three
// 64×64 products (Karatsuba), so six bmul64 per block, then a shift-and-xor reduction modulo
// x^128 + x^7 + x^2 + x + 1. Four blocks are aggregated, (Y ⊕ X1)·H^4 ⊕ X2·H^3 ⊕ X3·H^2 ⊕ X4·H, summing
// the unreduced products and reducing once, which quarters the cost of the output bit reversals and
// the reduction. H is split and its powers precomputed once per key (ghashSetKey).
//
// CT: there are no table lookups and no branches on the data or on H: only the byte length (and so
// the number of blocks) decides control flow and addresses, so only lengths may leak. This assumes
// 64-bit multiplication runs in constant time, as it does on the x86-64 and ARMv8 cores V8 targets.
//
// Words: a 16-byte block is read big-endian as (w1, w0), w1 holding the first eight bytes. SP 800-38D
// numbers bits the other way round (bit 0 is the msb of byte 0), so the polynomial of a block is the
// 128-bit integer w1:w0 read backwards; BearSSL's shift-left-by-one after multiplication accounts for it.

const M1: u64 = 0x1111111111111111;

// The four bit classes of x (bits 4i, 4i+1, 4i+2, 4i+3), each moved down to bits 4i, combined as the
// two-level Karatsuba of BearSSL's ghash_ctmul32.c needs: a0, a1, a0^a1, a3, a4, a3^a4, a0^a3, a1^a4
// and the xor of all four.
@inline function split(k: usize, x: u64): void {
  const a0 = x & M1;
  const a1 = (x >> 1) & M1;
  const a3 = (x >> 2) & M1;
  const a4 = (x >> 3) & M1;
  store<u64>(k, a0, 0);
  store<u64>(k, a1, 8);
  store<u64>(k, a0 ^ a1, 16);
  store<u64>(k, a3, 24);
  store<u64>(k, a4, 32);
  store<u64>(k, a3 ^ a4, 40);
  store<u64>(k, a0 ^ a3, 48);
  store<u64>(k, a1 ^ a4, 56);
  store<u64>(k, a0 ^ a1 ^ a3 ^ a4, 64);
}

// Low 64 bits of the carry-less product of x and the word split at k. Each class product is an integer
// product of two words holding bits only at multiples of 4: at most 16 terms meet on a kept bit, and
// only the top one's carry (bit 64) would reach the next kept bit, so masking with M1 leaves the
// carry-less coefficients. Karatsuba over the four classes needs 9 multiplications instead of 16.
@inline function bmul64(x: u64, k: usize): u64 {
  const a0 = x & M1;
  const a1 = (x >> 1) & M1;
  const a3 = (x >> 2) & M1;
  const a4 = (x >> 3) & M1;
  let c0 = (a0 * load<u64>(k, 0)) & M1;
  let c1 = (a1 * load<u64>(k, 8)) & M1;
  let c2 = ((a0 ^ a1) * load<u64>(k, 16)) & M1;
  let c3 = (a3 * load<u64>(k, 24)) & M1;
  let c4 = (a4 * load<u64>(k, 32)) & M1;
  let c5 = ((a3 ^ a4) * load<u64>(k, 40)) & M1;
  const a6 = a0 ^ a3;
  const a7 = a1 ^ a4;
  let c6 = (a6 * load<u64>(k, 48)) & M1;
  let c7 = (a7 * load<u64>(k, 56)) & M1;
  let c8 = ((a6 ^ a7) * load<u64>(k, 64)) & M1;
  c2 ^= c0 ^ c1;
  c0 ^= (c2 << 1) ^ (c1 << 2);
  c5 ^= c3 ^ c4;
  c3 ^= (c5 << 1) ^ (c4 << 2);
  c8 ^= c6 ^ c7;
  c6 ^= (c8 << 1) ^ (c7 << 2);
  c6 ^= c0 ^ c3;
  return c0 ^ (c6 << 2) ^ (c3 << 4);
}

// Reverses the 64 bits of x.
@inline function rev64(x: u64): u64 {
  x = ((x & 0x5555555555555555) << 1) | ((x >> 1) & 0x5555555555555555);
  x = ((x & 0x3333333333333333) << 2) | ((x >> 2) & 0x3333333333333333);
  x = ((x & 0x0f0f0f0f0f0f0f0f) << 4) | ((x >> 4) & 0x0f0f0f0f0f0f0f0f);
  return bswap<u64>(x);
}

// Key words of one power of H: h0, h1, h0 ^ h1 and their bit reversals, each split for bmul64.
const W: usize = 72;
const POW: usize = 6 * W;
// A key (GHASH_KEY_SIZE bytes, caller-owned): H, H^2, H^3, H^4 in that order, then H as (w1, w0) and
// a word that is 1 once H^2..H^4 have been expanded.
const RAW: usize = 4 * POW;
export const GHASH_KEY_SIZE: i32 = <i32>RAW + 32;

// The last reduced product (w1, w0), a multi-value return; zeroed before every return.
let R1: u64 = 0;
let R0: u64 = 0;
// Padded last block and the key expanded by ghash(); wiped before it returns.
const TMP: usize = memory.data(16, 16);
const SCRATCH_KEY: usize = memory.data(GHASH_KEY_SIZE, 16);

@inline function storePow(k: usize, w1: u64, w0: u64): void {
  const r0 = rev64(w0);
  const r1 = rev64(w1);
  split(k, w0);
  split(k + W, w1);
  split(k + 2 * W, w0 ^ w1);
  split(k + 3 * W, r0);
  split(k + 4 * W, r1);
  split(k + 5 * W, r0 ^ r1);
}

// Reduces the 256-bit product v3:v2:v1:v0 (bit-reflected, not yet shifted) modulo the GCM polynomial;
// the result lands in (R1, R0).
@inline function reduce(z0: u64, z1: u64, z2: u64, z0h: u64, z1h: u64, z2h: u64): void {
  z2 ^= z0 ^ z1;
  z2h ^= z0h ^ z1h;
  z0h = rev64(z0h) >> 1;
  z1h = rev64(z1h) >> 1;
  z2h = rev64(z2h) >> 1;
  let v0 = z0;
  let v1 = z0h ^ z2;
  let v2 = z1 ^ z2h;
  let v3 = z1h;
  v3 = (v3 << 1) | (v2 >> 63);
  v2 = (v2 << 1) | (v1 >> 63);
  v1 = (v1 << 1) | (v0 >> 63);
  v0 = v0 << 1;
  v2 ^= v0 ^ (v0 >> 1) ^ (v0 >> 2) ^ (v0 >> 7);
  v1 ^= (v0 << 63) ^ (v0 << 62) ^ (v0 << 57);
  v3 ^= v1 ^ (v1 >> 1) ^ (v1 >> 2) ^ (v1 >> 7);
  v2 ^= (v1 << 63) ^ (v1 << 62) ^ (v1 << 57);
  R1 = v3;
  R0 = v2;
}

// Product of (w1, w0) and the power of H at k, reduced, into (R1, R0).
function gmul(w1: u64, w0: u64, k: usize): void {
  const r0 = rev64(w0);
  const r1 = rev64(w1);
  reduce(
    bmul64(w0, k),
    bmul64(w1, k + W),
    bmul64(w0 ^ w1, k + 2 * W),
    bmul64(r0, k + 3 * W),
    bmul64(r1, k + 4 * W),
    bmul64(r0 ^ r1, k + 5 * W),
  );
}

// Expands the 16-byte H at h (big-endian, as E_K(0^128) leaves it) into a key at key.
export function ghashSetKey(key: usize, h: usize): void {
  const h1 = bswap<u64>(load<u64>(h));
  const h0 = bswap<u64>(load<u64>(h, 8));
  storePow(key, h1, h0);
  store<u64>(key + RAW, h1, 0);
  store<u64>(key + RAW, h0, 8);
  store<u64>(key + RAW, 0, 16);
}

// H^2..H^4, computed the first time four blocks are hashed at once, so short messages never pay for them.
function expandPowers(key: usize): void {
  if (load<u64>(key + RAW, 16) != 0) return;
  let p1 = load<u64>(key + RAW, 0);
  let p0 = load<u64>(key + RAW, 8);
  for (let i: usize = 1; i < 4; i++) {
    gmul(p1, p0, key);
    p1 = R1;
    p0 = R0;
    storePow(key + i * POW, p1, p0);
  }
  store<u64>(key + RAW, 1, 16);
}

// y (16 bytes, big-endian) ← GHASH_H continued over nblocks whole blocks at src.
export function ghashBlocks(y: usize, key: usize, src: usize, nblocks: i32): void {
  let y1 = bswap<u64>(load<u64>(y));
  let y0 = bswap<u64>(load<u64>(y, 8));
  let n = nblocks;
  let p = src;
  if (n >= 4) expandPowers(key);
  const k1 = key;
  const k4 = key + 3 * POW;
  while (n >= 4) {
    // Y·H^4 ⊕ X1·H^4 ⊕ X2·H^3 ⊕ X3·H^2 ⊕ X4·H: the six Karatsuba partial products are summed unreduced.
    let z0: u64 = 0, z1: u64 = 0, z2: u64 = 0, z0h: u64 = 0, z1h: u64 = 0, z2h: u64 = 0;
    for (let i: usize = 0; i < 4; i++) {
      let w1 = bswap<u64>(load<u64>(p));
      let w0 = bswap<u64>(load<u64>(p, 8));
      if (i == 0) {
        w1 ^= y1;
        w0 ^= y0;
      }
      const k = k4 - i * POW;
      const r0 = rev64(w0);
      const r1 = rev64(w1);
      z0 ^= bmul64(w0, k);
      z1 ^= bmul64(w1, k + W);
      z2 ^= bmul64(w0 ^ w1, k + 2 * W);
      z0h ^= bmul64(r0, k + 3 * W);
      z1h ^= bmul64(r1, k + 4 * W);
      z2h ^= bmul64(r0 ^ r1, k + 5 * W);
      p += 16;
    }
    reduce(z0, z1, z2, z0h, z1h, z2h);
    y1 = R1;
    y0 = R0;
    n -= 4;
  }
  while (n > 0) {
    gmul(y1 ^ bswap<u64>(load<u64>(p)), y0 ^ bswap<u64>(load<u64>(p, 8)), key);
    y1 = R1;
    y0 = R0;
    p += 16;
    n--;
  }
  store<u64>(y, bswap<u64>(y1));
  store<u64>(y, bswap<u64>(y0), 8);
  R1 = 0;
  R0 = 0;
}

// BearSSL's br_ghash signature: y ← GHASH_H continued over len bytes at src, the last partial block
// padded with zeros. y and h are 16-byte big-endian blocks.
export function ghash(y: usize, h: usize, src: usize, len: i32): void {
  ghashSetKey(SCRATCH_KEY, h);
  const whole = len >> 4;
  ghashBlocks(y, SCRATCH_KEY, src, whole);
  const tail = len & 15;
  if (tail > 0) {
    memory.fill(TMP, 0, 16);
    memory.copy(TMP, src + (<usize>whole << 4), <usize>tail);
    ghashBlocks(y, SCRATCH_KEY, TMP, 1);
    memory.fill(TMP, 0, 16);
  }
  memory.fill(SCRATCH_KEY, 0, <usize>GHASH_KEY_SIZE);
}
