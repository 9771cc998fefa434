// SHA-256, FIPS 180-4 §6.2 (constants §4.2.2, initial value §5.3.3, padding §5.1.1).
//
// CT: no branch, loop bound or memory index depends on message bytes: the message schedule lives in
// locals and the round constants are literals. Only the message length (block count, buffered byte
// count) decides control flow, and lengths are public.
//
// A context is a fixed 104-byte record anywhere in linear memory, so HMAC and HKDF can hold several:
//   [0, 32)   H0..H7, native byte order
//   [32, 40)  bytes absorbed so far (u64)
//   [40, 104) partial block
// The exported entry points work on SHA256_CTX and read input from IN; JS saves and restores this
// context around each call to keep any number of hash objects alive at once. Consumed input is
// wiped from IN and a finalised context is wiped, so no message bytes linger in WASM memory.
import { IN, OUT } from './_io';
import { wipe } from './_ct';

export const SHA256_CTX_LEN: i32 = 104;
export const SHA256_CTX: usize = memory.data(SHA256_CTX_LEN, 16);

const LEN_OFF: usize = 32;
const BUF_OFF: usize = 40;
const BLOCK: i32 = 64;

// §5.3.3
const IV: usize = memory.data<u32>([
  0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
], 16);

// §4.1.2 functions.
@inline function bsig0(x: u32): u32 { return rotr<u32>(x, 2) ^ rotr<u32>(x, 13) ^ rotr<u32>(x, 22); }
@inline function bsig1(x: u32): u32 { return rotr<u32>(x, 6) ^ rotr<u32>(x, 11) ^ rotr<u32>(x, 25); }
@inline function ssig0(x: u32): u32 { return rotr<u32>(x, 7) ^ rotr<u32>(x, 18) ^ (x >>> 3); }
@inline function ssig1(x: u32): u32 { return rotr<u32>(x, 17) ^ rotr<u32>(x, 19) ^ (x >>> 10); }
@inline function ch(x: u32, y: u32, z: u32): u32 { return z ^ (x & (y ^ z)); }
@inline function maj(x: u32, y: u32, z: u32): u32 { return (x & y) | (z & (x | y)); }

// Compresses n consecutive 64-byte blocks at p into the state at ctx (§6.2.2). The working variables
// and the 16-word schedule window stay in locals, so no part of the message schedule is stored in
// memory. The rounds are unrolled: the constants become immediates and the variables rotate their
// roles instead of moving (in V8, 17% faster than a loop of 16 unrolled rounds reading K from memory).
function compress(ctx: usize, p: usize, n: i32): void {
  let h0 = load<u32>(ctx, 0), h1 = load<u32>(ctx, 4), h2 = load<u32>(ctx, 8), h3 = load<u32>(ctx, 12);
  let h4 = load<u32>(ctx, 16), h5 = load<u32>(ctx, 20), h6 = load<u32>(ctx, 24), h7 = load<u32>(ctx, 28);
  for (let blk = 0; blk < n; blk++) {
    // W0..W15 in locals, big-endian words of the block (§6.2.2 step 1 for t < 16).
    let w0 = bswap<u32>(load<u32>(p, 0));
    let w1 = bswap<u32>(load<u32>(p, 4));
    let w2 = bswap<u32>(load<u32>(p, 8));
    let w3 = bswap<u32>(load<u32>(p, 12));
    let w4 = bswap<u32>(load<u32>(p, 16));
    let w5 = bswap<u32>(load<u32>(p, 20));
    let w6 = bswap<u32>(load<u32>(p, 24));
    let w7 = bswap<u32>(load<u32>(p, 28));
    let w8 = bswap<u32>(load<u32>(p, 32));
    let w9 = bswap<u32>(load<u32>(p, 36));
    let w10 = bswap<u32>(load<u32>(p, 40));
    let w11 = bswap<u32>(load<u32>(p, 44));
    let w12 = bswap<u32>(load<u32>(p, 48));
    let w13 = bswap<u32>(load<u32>(p, 52));
    let w14 = bswap<u32>(load<u32>(p, 56));
    let w15 = bswap<u32>(load<u32>(p, 60));
    let a = h0, b = h1, c = h2, d = h3, e = h4, f = h5, g = h6, h = h7;
    // Rounds 0..63 with K0..K63 of §4.2.2 as literals; from round 16 on, W(t) replaces W(t-16)
    // in its local (step 1).
    let x: u32;
    x = h + bsig1(e) + ch(e, f, g) + 0x428a2f98 + w0; d += x; h = x + bsig0(a) + maj(a, b, c);
    x = g + bsig1(d) + ch(d, e, f) + 0x71374491 + w1; c += x; g = x + bsig0(h) + maj(h, a, b);
    x = f + bsig1(c) + ch(c, d, e) + 0xb5c0fbcf + w2; b += x; f = x + bsig0(g) + maj(g, h, a);
    x = e + bsig1(b) + ch(b, c, d) + 0xe9b5dba5 + w3; a += x; e = x + bsig0(f) + maj(f, g, h);
    x = d + bsig1(a) + ch(a, b, c) + 0x3956c25b + w4; h += x; d = x + bsig0(e) + maj(e, f, g);
    x = c + bsig1(h) + ch(h, a, b) + 0x59f111f1 + w5; g += x; c = x + bsig0(d) + maj(d, e, f);
    x = b + bsig1(g) + ch(g, h, a) + 0x923f82a4 + w6; f += x; b = x + bsig0(c) + maj(c, d, e);
    x = a + bsig1(f) + ch(f, g, h) + 0xab1c5ed5 + w7; e += x; a = x + bsig0(b) + maj(b, c, d);
    x = h + bsig1(e) + ch(e, f, g) + 0xd807aa98 + w8; d += x; h = x + bsig0(a) + maj(a, b, c);
    x = g + bsig1(d) + ch(d, e, f) + 0x12835b01 + w9; c += x; g = x + bsig0(h) + maj(h, a, b);
    x = f + bsig1(c) + ch(c, d, e) + 0x243185be + w10; b += x; f = x + bsig0(g) + maj(g, h, a);
    x = e + bsig1(b) + ch(b, c, d) + 0x550c7dc3 + w11; a += x; e = x + bsig0(f) + maj(f, g, h);
    x = d + bsig1(a) + ch(a, b, c) + 0x72be5d74 + w12; h += x; d = x + bsig0(e) + maj(e, f, g);
    x = c + bsig1(h) + ch(h, a, b) + 0x80deb1fe + w13; g += x; c = x + bsig0(d) + maj(d, e, f);
    x = b + bsig1(g) + ch(g, h, a) + 0x9bdc06a7 + w14; f += x; b = x + bsig0(c) + maj(c, d, e);
    x = a + bsig1(f) + ch(f, g, h) + 0xc19bf174 + w15; e += x; a = x + bsig0(b) + maj(b, c, d);
    w0 += ssig1(w14) + w9 + ssig0(w1);
    x = h + bsig1(e) + ch(e, f, g) + 0xe49b69c1 + w0; d += x; h = x + bsig0(a) + maj(a, b, c);
    w1 += ssig1(w15) + w10 + ssig0(w2);
    x = g + bsig1(d) + ch(d, e, f) + 0xefbe4786 + w1; c += x; g = x + bsig0(h) + maj(h, a, b);
    w2 += ssig1(w0) + w11 + ssig0(w3);
    x = f + bsig1(c) + ch(c, d, e) + 0x0fc19dc6 + w2; b += x; f = x + bsig0(g) + maj(g, h, a);
    w3 += ssig1(w1) + w12 + ssig0(w4);
    x = e + bsig1(b) + ch(b, c, d) + 0x240ca1cc + w3; a += x; e = x + bsig0(f) + maj(f, g, h);
    w4 += ssig1(w2) + w13 + ssig0(w5);
    x = d + bsig1(a) + ch(a, b, c) + 0x2de92c6f + w4; h += x; d = x + bsig0(e) + maj(e, f, g);
    w5 += ssig1(w3) + w14 + ssig0(w6);
    x = c + bsig1(h) + ch(h, a, b) + 0x4a7484aa + w5; g += x; c = x + bsig0(d) + maj(d, e, f);
    w6 += ssig1(w4) + w15 + ssig0(w7);
    x = b + bsig1(g) + ch(g, h, a) + 0x5cb0a9dc + w6; f += x; b = x + bsig0(c) + maj(c, d, e);
    w7 += ssig1(w5) + w0 + ssig0(w8);
    x = a + bsig1(f) + ch(f, g, h) + 0x76f988da + w7; e += x; a = x + bsig0(b) + maj(b, c, d);
    w8 += ssig1(w6) + w1 + ssig0(w9);
    x = h + bsig1(e) + ch(e, f, g) + 0x983e5152 + w8; d += x; h = x + bsig0(a) + maj(a, b, c);
    w9 += ssig1(w7) + w2 + ssig0(w10);
    x = g + bsig1(d) + ch(d, e, f) + 0xa831c66d + w9; c += x; g = x + bsig0(h) + maj(h, a, b);
    w10 += ssig1(w8) + w3 + ssig0(w11);
    x = f + bsig1(c) + ch(c, d, e) + 0xb00327c8 + w10; b += x; f = x + bsig0(g) + maj(g, h, a);
    w11 += ssig1(w9) + w4 + ssig0(w12);
    x = e + bsig1(b) + ch(b, c, d) + 0xbf597fc7 + w11; a += x; e = x + bsig0(f) + maj(f, g, h);
    w12 += ssig1(w10) + w5 + ssig0(w13);
    x = d + bsig1(a) + ch(a, b, c) + 0xc6e00bf3 + w12; h += x; d = x + bsig0(e) + maj(e, f, g);
    w13 += ssig1(w11) + w6 + ssig0(w14);
    x = c + bsig1(h) + ch(h, a, b) + 0xd5a79147 + w13; g += x; c = x + bsig0(d) + maj(d, e, f);
    w14 += ssig1(w12) + w7 + ssig0(w15);
    x = b + bsig1(g) + ch(g, h, a) + 0x06ca6351 + w14; f += x; b = x + bsig0(c) + maj(c, d, e);
    w15 += ssig1(w13) + w8 + ssig0(w0);
    x = a + bsig1(f) + ch(f, g, h) + 0x14292967 + w15; e += x; a = x + bsig0(b) + maj(b, c, d);
    w0 += ssig1(w14) + w9 + ssig0(w1);
    x = h + bsig1(e) + ch(e, f, g) + 0x27b70a85 + w0; d += x; h = x + bsig0(a) + maj(a, b, c);
    w1 += ssig1(w15) + w10 + ssig0(w2);
    x = g + bsig1(d) + ch(d, e, f) + 0x2e1b2138 + w1; c += x; g = x + bsig0(h) + maj(h, a, b);
    w2 += ssig1(w0) + w11 + ssig0(w3);
    x = f + bsig1(c) + ch(c, d, e) + 0x4d2c6dfc + w2; b += x; f = x + bsig0(g) + maj(g, h, a);
    w3 += ssig1(w1) + w12 + ssig0(w4);
    x = e + bsig1(b) + ch(b, c, d) + 0x53380d13 + w3; a += x; e = x + bsig0(f) + maj(f, g, h);
    w4 += ssig1(w2) + w13 + ssig0(w5);
    x = d + bsig1(a) + ch(a, b, c) + 0x650a7354 + w4; h += x; d = x + bsig0(e) + maj(e, f, g);
    w5 += ssig1(w3) + w14 + ssig0(w6);
    x = c + bsig1(h) + ch(h, a, b) + 0x766a0abb + w5; g += x; c = x + bsig0(d) + maj(d, e, f);
    w6 += ssig1(w4) + w15 + ssig0(w7);
    x = b + bsig1(g) + ch(g, h, a) + 0x81c2c92e + w6; f += x; b = x + bsig0(c) + maj(c, d, e);
    w7 += ssig1(w5) + w0 + ssig0(w8);
    x = a + bsig1(f) + ch(f, g, h) + 0x92722c85 + w7; e += x; a = x + bsig0(b) + maj(b, c, d);
    w8 += ssig1(w6) + w1 + ssig0(w9);
    x = h + bsig1(e) + ch(e, f, g) + 0xa2bfe8a1 + w8; d += x; h = x + bsig0(a) + maj(a, b, c);
    w9 += ssig1(w7) + w2 + ssig0(w10);
    x = g + bsig1(d) + ch(d, e, f) + 0xa81a664b + w9; c += x; g = x + bsig0(h) + maj(h, a, b);
    w10 += ssig1(w8) + w3 + ssig0(w11);
    x = f + bsig1(c) + ch(c, d, e) + 0xc24b8b70 + w10; b += x; f = x + bsig0(g) + maj(g, h, a);
    w11 += ssig1(w9) + w4 + ssig0(w12);
    x = e + bsig1(b) + ch(b, c, d) + 0xc76c51a3 + w11; a += x; e = x + bsig0(f) + maj(f, g, h);
    w12 += ssig1(w10) + w5 + ssig0(w13);
    x = d + bsig1(a) + ch(a, b, c) + 0xd192e819 + w12; h += x; d = x + bsig0(e) + maj(e, f, g);
    w13 += ssig1(w11) + w6 + ssig0(w14);
    x = c + bsig1(h) + ch(h, a, b) + 0xd6990624 + w13; g += x; c = x + bsig0(d) + maj(d, e, f);
    w14 += ssig1(w12) + w7 + ssig0(w15);
    x = b + bsig1(g) + ch(g, h, a) + 0xf40e3585 + w14; f += x; b = x + bsig0(c) + maj(c, d, e);
    w15 += ssig1(w13) + w8 + ssig0(w0);
    x = a + bsig1(f) + ch(f, g, h) + 0x106aa070 + w15; e += x; a = x + bsig0(b) + maj(b, c, d);
    w0 += ssig1(w14) + w9 + ssig0(w1);
    x = h + bsig1(e) + ch(e, f, g) + 0x19a4c116 + w0; d += x; h = x + bsig0(a) + maj(a, b, c);
    w1 += ssig1(w15) + w10 + ssig0(w2);
    x = g + bsig1(d) + ch(d, e, f) + 0x1e376c08 + w1; c += x; g = x + bsig0(h) + maj(h, a, b);
    w2 += ssig1(w0) + w11 + ssig0(w3);
    x = f + bsig1(c) + ch(c, d, e) + 0x2748774c + w2; b += x; f = x + bsig0(g) + maj(g, h, a);
    w3 += ssig1(w1) + w12 + ssig0(w4);
    x = e + bsig1(b) + ch(b, c, d) + 0x34b0bcb5 + w3; a += x; e = x + bsig0(f) + maj(f, g, h);
    w4 += ssig1(w2) + w13 + ssig0(w5);
    x = d + bsig1(a) + ch(a, b, c) + 0x391c0cb3 + w4; h += x; d = x + bsig0(e) + maj(e, f, g);
    w5 += ssig1(w3) + w14 + ssig0(w6);
    x = c + bsig1(h) + ch(h, a, b) + 0x4ed8aa4a + w5; g += x; c = x + bsig0(d) + maj(d, e, f);
    w6 += ssig1(w4) + w15 + ssig0(w7);
    x = b + bsig1(g) + ch(g, h, a) + 0x5b9cca4f + w6; f += x; b = x + bsig0(c) + maj(c, d, e);
    w7 += ssig1(w5) + w0 + ssig0(w8);
    x = a + bsig1(f) + ch(f, g, h) + 0x682e6ff3 + w7; e += x; a = x + bsig0(b) + maj(b, c, d);
    w8 += ssig1(w6) + w1 + ssig0(w9);
    x = h + bsig1(e) + ch(e, f, g) + 0x748f82ee + w8; d += x; h = x + bsig0(a) + maj(a, b, c);
    w9 += ssig1(w7) + w2 + ssig0(w10);
    x = g + bsig1(d) + ch(d, e, f) + 0x78a5636f + w9; c += x; g = x + bsig0(h) + maj(h, a, b);
    w10 += ssig1(w8) + w3 + ssig0(w11);
    x = f + bsig1(c) + ch(c, d, e) + 0x84c87814 + w10; b += x; f = x + bsig0(g) + maj(g, h, a);
    w11 += ssig1(w9) + w4 + ssig0(w12);
    x = e + bsig1(b) + ch(b, c, d) + 0x8cc70208 + w11; a += x; e = x + bsig0(f) + maj(f, g, h);
    w12 += ssig1(w10) + w5 + ssig0(w13);
    x = d + bsig1(a) + ch(a, b, c) + 0x90befffa + w12; h += x; d = x + bsig0(e) + maj(e, f, g);
    w13 += ssig1(w11) + w6 + ssig0(w14);
    x = c + bsig1(h) + ch(h, a, b) + 0xa4506ceb + w13; g += x; c = x + bsig0(d) + maj(d, e, f);
    w14 += ssig1(w12) + w7 + ssig0(w15);
    x = b + bsig1(g) + ch(g, h, a) + 0xbef9a3f7 + w14; f += x; b = x + bsig0(c) + maj(c, d, e);
    w15 += ssig1(w13) + w8 + ssig0(w0);
    x = a + bsig1(f) + ch(f, g, h) + 0xc67178f2 + w15; e += x; a = x + bsig0(b) + maj(b, c, d);
    h0 += a; h1 += b; h2 += c; h3 += d; h4 += e; h5 += f; h6 += g; h7 += h;
    p += <usize>BLOCK;
  }
  store<u32>(ctx, h0, 0); store<u32>(ctx, h1, 4); store<u32>(ctx, h2, 8); store<u32>(ctx, h3, 12);
  store<u32>(ctx, h4, 16); store<u32>(ctx, h5, 20); store<u32>(ctx, h6, 24); store<u32>(ctx, h7, 28);
}

export function sha256InitAt(ctx: usize): void {
  memory.copy(ctx, IV, 32);
  memory.fill(ctx + LEN_OFF, 0, <usize>(SHA256_CTX_LEN - 32));
}

// Absorbs len bytes at p. Branches only on len and on the count of bytes absorbed before.
export function sha256UpdateAt(ctx: usize, p: usize, len: i32): void {
  if (len <= 0) return;
  const total = load<u64>(ctx + LEN_OFF);
  store<u64>(ctx + LEN_OFF, total + <u64>len);
  let fill = <i32>(total & 63);
  const buf = ctx + BUF_OFF;
  if (fill > 0) {
    const take = min(BLOCK - fill, len);
    memory.copy(buf + <usize>fill, p, <usize>take);
    fill += take;
    p += <usize>take;
    len -= take;
    if (fill < BLOCK) return;
    compress(ctx, buf, 1);
  }
  const blocks = len >> 6;
  if (blocks > 0) compress(ctx, p, blocks);
  const rest = len & 63;
  if (rest > 0) memory.copy(buf, p + <usize>(blocks << 6), <usize>rest);
}

// Pads (§5.1.1), writes the 32-byte digest to out (§6.2.2 step 4, big-endian words), wipes ctx.
export function sha256FinalAt(ctx: usize, out: usize): void {
  const total = load<u64>(ctx + LEN_OFF);
  const fill = <i32>(total & 63);
  const buf = ctx + BUF_OFF;
  store<u8>(buf + <usize>fill, 0x80);
  if (fill >= 56) {
    memory.fill(buf + <usize>fill + 1, 0, <usize>(BLOCK - fill - 1));
    compress(ctx, buf, 1);
    memory.fill(buf, 0, 56);
  } else {
    memory.fill(buf + <usize>fill + 1, 0, <usize>(55 - fill));
  }
  store<u64>(buf + 56, bswap<u64>(total << 3));
  compress(ctx, buf, 1);
  for (let i = 0; i < 8; i++) {
    const o = <usize>(i << 2);
    store<u32>(out + o, bswap<u32>(load<u32>(ctx + o)));
  }
  wipe(ctx, SHA256_CTX_LEN);
}

export function sha256Init(): void {
  sha256InitAt(SHA256_CTX);
}

// Absorbs IN[0, len) into SHA256_CTX and wipes it from IN.
export function sha256Update(len: i32): void {
  sha256UpdateAt(SHA256_CTX, IN, len);
  wipe(IN, len);
}

// Digest of SHA256_CTX to OUT[0, 32).
export function sha256Final(): void {
  sha256FinalAt(SHA256_CTX, OUT);
}

// One call for a message that fits in IN: the digest of IN[0, len) to OUT[0, 32).
export function sha256Digest(len: i32): void {
  sha256InitAt(SHA256_CTX);
  sha256Update(len);
  sha256FinalAt(SHA256_CTX, OUT);
}
