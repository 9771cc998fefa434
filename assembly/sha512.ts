// SHA-512 and SHA-384, FIPS 180-4 §6.4 and §6.5 (constants §4.2.3, initial values §5.3.4 and §5.3.5,
// padding §5.1.2). SHA-384 is the same compression with another initial value, truncated to 48 bytes.
//
// CT: no branch, loop bound or memory index depends on message bytes: the message schedule lives in
// locals and the round constants are literals. Only the message length (block count, buffered byte
// count) decides control flow, and lengths are public.
//
// A context is a fixed 200-byte record anywhere in linear memory, shared by both variants:
//   [0, 64)    H0..H7, native byte order
//   [64, 72)   bytes absorbed so far (u64: inputs stay far below 2^64 bytes)
//   [72, 200)  partial block
// The exported entry points work on SHA512_CTX and read input from IN; JS saves and restores this
// context around each call. Consumed input is wiped from IN and a finalised context is wiped.
import { IN, OUT } from './_io';
import { wipe } from './_ct';

export const SHA512_CTX_LEN: i32 = 200;
export const SHA512_CTX: usize = memory.data(SHA512_CTX_LEN, 16);

const LEN_OFF: usize = 64;
const BUF_OFF: usize = 72;
const BLOCK: i32 = 128;

// §5.3.5 (SHA-512) and §5.3.4 (SHA-384).
const IV512: usize = memory.data<u64>([
  0x6a09e667f3bcc908, 0xbb67ae8584caa73b, 0x3c6ef372fe94f82b, 0xa54ff53a5f1d36f1,
  0x510e527fade682d1, 0x9b05688c2b3e6c1f, 0x1f83d9abfb41bd6b, 0x5be0cd19137e2179,
], 16);
const IV384: usize = memory.data<u64>([
  0xcbbb9d5dc1059ed8, 0x629a292a367cd507, 0x9159015a3070dd17, 0x152fecd8f70e5939,
  0x67332667ffc00b31, 0x8eb44a8768581511, 0xdb0c2e0d64f98fa7, 0x47b5481dbefa4fa4,
], 16);

// §4.1.3 functions.
@inline function bsig0(x: u64): u64 { return rotr<u64>(x, 28) ^ rotr<u64>(x, 34) ^ rotr<u64>(x, 39); }
@inline function bsig1(x: u64): u64 { return rotr<u64>(x, 14) ^ rotr<u64>(x, 18) ^ rotr<u64>(x, 41); }
@inline function ssig0(x: u64): u64 { return rotr<u64>(x, 1) ^ rotr<u64>(x, 8) ^ (x >>> 7); }
@inline function ssig1(x: u64): u64 { return rotr<u64>(x, 19) ^ rotr<u64>(x, 61) ^ (x >>> 6); }
@inline function ch(x: u64, y: u64, z: u64): u64 { return z ^ (x & (y ^ z)); }
@inline function maj(x: u64, y: u64, z: u64): u64 { return (x & y) | (z & (x | y)); }

// Compresses n consecutive 128-byte blocks at p into the state at ctx (§6.4.2). The working variables
// and the 16-word schedule window stay in locals, so no part of the message schedule is stored in
// memory. The rounds are unrolled: the constants become immediates and the variables rotate their
// roles instead of moving (in V8, 10% faster than a loop of 16 unrolled rounds reading K from memory).
function compress(ctx: usize, p: usize, n: i32): void {
  let h0 = load<u64>(ctx, 0), h1 = load<u64>(ctx, 8), h2 = load<u64>(ctx, 16), h3 = load<u64>(ctx, 24);
  let h4 = load<u64>(ctx, 32), h5 = load<u64>(ctx, 40), h6 = load<u64>(ctx, 48), h7 = load<u64>(ctx, 56);
  for (let blk = 0; blk < n; blk++) {
    // W0..W15 in locals, big-endian words of the block (§6.4.2 step 1 for t < 16).
    let w0 = bswap<u64>(load<u64>(p, 0));
    let w1 = bswap<u64>(load<u64>(p, 8));
    let w2 = bswap<u64>(load<u64>(p, 16));
    let w3 = bswap<u64>(load<u64>(p, 24));
    let w4 = bswap<u64>(load<u64>(p, 32));
    let w5 = bswap<u64>(load<u64>(p, 40));
    let w6 = bswap<u64>(load<u64>(p, 48));
    let w7 = bswap<u64>(load<u64>(p, 56));
    let w8 = bswap<u64>(load<u64>(p, 64));
    let w9 = bswap<u64>(load<u64>(p, 72));
    let w10 = bswap<u64>(load<u64>(p, 80));
    let w11 = bswap<u64>(load<u64>(p, 88));
    let w12 = bswap<u64>(load<u64>(p, 96));
    let w13 = bswap<u64>(load<u64>(p, 104));
    let w14 = bswap<u64>(load<u64>(p, 112));
    let w15 = bswap<u64>(load<u64>(p, 120));
    let a = h0, b = h1, c = h2, d = h3, e = h4, f = h5, g = h6, h = h7;
    // Rounds 0..79 with K0..K79 of §4.2.3 as literals; from round 16 on, W(t) replaces W(t-16)
    // in its local (step 1).
    let x: u64;
    x = h + bsig1(e) + ch(e, f, g) + 0x428a2f98d728ae22 + w0; d += x; h = x + bsig0(a) + maj(a, b, c);
    x = g + bsig1(d) + ch(d, e, f) + 0x7137449123ef65cd + w1; c += x; g = x + bsig0(h) + maj(h, a, b);
    x = f + bsig1(c) + ch(c, d, e) + 0xb5c0fbcfec4d3b2f + w2; b += x; f = x + bsig0(g) + maj(g, h, a);
    x = e + bsig1(b) + ch(b, c, d) + 0xe9b5dba58189dbbc + w3; a += x; e = x + bsig0(f) + maj(f, g, h);
    x = d + bsig1(a) + ch(a, b, c) + 0x3956c25bf348b538 + w4; h += x; d = x + bsig0(e) + maj(e, f, g);
    x = c + bsig1(h) + ch(h, a, b) + 0x59f111f1b605d019 + w5; g += x; c = x + bsig0(d) + maj(d, e, f);
    x = b + bsig1(g) + ch(g, h, a) + 0x923f82a4af194f9b + w6; f += x; b = x + bsig0(c) + maj(c, d, e);
    x = a + bsig1(f) + ch(f, g, h) + 0xab1c5ed5da6d8118 + w7; e += x; a = x + bsig0(b) + maj(b, c, d);
    x = h + bsig1(e) + ch(e, f, g) + 0xd807aa98a3030242 + w8; d += x; h = x + bsig0(a) + maj(a, b, c);
    x = g + bsig1(d) + ch(d, e, f) + 0x12835b0145706fbe + w9; c += x; g = x + bsig0(h) + maj(h, a, b);
    x = f + bsig1(c) + ch(c, d, e) + 0x243185be4ee4b28c + w10; b += x; f = x + bsig0(g) + maj(g, h, a);
    x = e + bsig1(b) + ch(b, c, d) + 0x550c7dc3d5ffb4e2 + w11; a += x; e = x + bsig0(f) + maj(f, g, h);
    x = d + bsig1(a) + ch(a, b, c) + 0x72be5d74f27b896f + w12; h += x; d = x + bsig0(e) + maj(e, f, g);
    x = c + bsig1(h) + ch(h, a, b) + 0x80deb1fe3b1696b1 + w13; g += x; c = x + bsig0(d) + maj(d, e, f);
    x = b + bsig1(g) + ch(g, h, a) + 0x9bdc06a725c71235 + w14; f += x; b = x + bsig0(c) + maj(c, d, e);
    x = a + bsig1(f) + ch(f, g, h) + 0xc19bf174cf692694 + w15; e += x; a = x + bsig0(b) + maj(b, c, d);
    w0 += ssig1(w14) + w9 + ssig0(w1);
    x = h + bsig1(e) + ch(e, f, g) + 0xe49b69c19ef14ad2 + w0; d += x; h = x + bsig0(a) + maj(a, b, c);
    w1 += ssig1(w15) + w10 + ssig0(w2);
    x = g + bsig1(d) + ch(d, e, f) + 0xefbe4786384f25e3 + w1; c += x; g = x + bsig0(h) + maj(h, a, b);
    w2 += ssig1(w0) + w11 + ssig0(w3);
    x = f + bsig1(c) + ch(c, d, e) + 0x0fc19dc68b8cd5b5 + w2; b += x; f = x + bsig0(g) + maj(g, h, a);
    w3 += ssig1(w1) + w12 + ssig0(w4);
    x = e + bsig1(b) + ch(b, c, d) + 0x240ca1cc77ac9c65 + w3; a += x; e = x + bsig0(f) + maj(f, g, h);
    w4 += ssig1(w2) + w13 + ssig0(w5);
    x = d + bsig1(a) + ch(a, b, c) + 0x2de92c6f592b0275 + w4; h += x; d = x + bsig0(e) + maj(e, f, g);
    w5 += ssig1(w3) + w14 + ssig0(w6);
    x = c + bsig1(h) + ch(h, a, b) + 0x4a7484aa6ea6e483 + w5; g += x; c = x + bsig0(d) + maj(d, e, f);
    w6 += ssig1(w4) + w15 + ssig0(w7);
    x = b + bsig1(g) + ch(g, h, a) + 0x5cb0a9dcbd41fbd4 + w6; f += x; b = x + bsig0(c) + maj(c, d, e);
    w7 += ssig1(w5) + w0 + ssig0(w8);
    x = a + bsig1(f) + ch(f, g, h) + 0x76f988da831153b5 + w7; e += x; a = x + bsig0(b) + maj(b, c, d);
    w8 += ssig1(w6) + w1 + ssig0(w9);
    x = h + bsig1(e) + ch(e, f, g) + 0x983e5152ee66dfab + w8; d += x; h = x + bsig0(a) + maj(a, b, c);
    w9 += ssig1(w7) + w2 + ssig0(w10);
    x = g + bsig1(d) + ch(d, e, f) + 0xa831c66d2db43210 + w9; c += x; g = x + bsig0(h) + maj(h, a, b);
    w10 += ssig1(w8) + w3 + ssig0(w11);
    x = f + bsig1(c) + ch(c, d, e) + 0xb00327c898fb213f + w10; b += x; f = x + bsig0(g) + maj(g, h, a);
    w11 += ssig1(w9) + w4 + ssig0(w12);
    x = e + bsig1(b) + ch(b, c, d) + 0xbf597fc7beef0ee4 + w11; a += x; e = x + bsig0(f) + maj(f, g, h);
    w12 += ssig1(w10) + w5 + ssig0(w13);
    x = d + bsig1(a) + ch(a, b, c) + 0xc6e00bf33da88fc2 + w12; h += x; d = x + bsig0(e) + maj(e, f, g);
    w13 += ssig1(w11) + w6 + ssig0(w14);
    x = c + bsig1(h) + ch(h, a, b) + 0xd5a79147930aa725 + w13; g += x; c = x + bsig0(d) + maj(d, e, f);
    w14 += ssig1(w12) + w7 + ssig0(w15);
    x = b + bsig1(g) + ch(g, h, a) + 0x06ca6351e003826f + w14; f += x; b = x + bsig0(c) + maj(c, d, e);
    w15 += ssig1(w13) + w8 + ssig0(w0);
    x = a + bsig1(f) + ch(f, g, h) + 0x142929670a0e6e70 + w15; e += x; a = x + bsig0(b) + maj(b, c, d);
    w0 += ssig1(w14) + w9 + ssig0(w1);
    x = h + bsig1(e) + ch(e, f, g) + 0x27b70a8546d22ffc + w0; d += x; h = x + bsig0(a) + maj(a, b, c);
    w1 += ssig1(w15) + w10 + ssig0(w2);
    x = g + bsig1(d) + ch(d, e, f) + 0x2e1b21385c26c926 + w1; c += x; g = x + bsig0(h) + maj(h, a, b);
    w2 += ssig1(w0) + w11 + ssig0(w3);
    x = f + bsig1(c) + ch(c, d, e) + 0x4d2c6dfc5ac42aed + w2; b += x; f = x + bsig0(g) + maj(g, h, a);
    w3 += ssig1(w1) + w12 + ssig0(w4);
    x = e + bsig1(b) + ch(b, c, d) + 0x53380d139d95b3df + w3; a += x; e = x + bsig0(f) + maj(f, g, h);
    w4 += ssig1(w2) + w13 + ssig0(w5);
    x = d + bsig1(a) + ch(a, b, c) + 0x650a73548baf63de + w4; h += x; d = x + bsig0(e) + maj(e, f, g);
    w5 += ssig1(w3) + w14 + ssig0(w6);
    x = c + bsig1(h) + ch(h, a, b) + 0x766a0abb3c77b2a8 + w5; g += x; c = x + bsig0(d) + maj(d, e, f);
    w6 += ssig1(w4) + w15 + ssig0(w7);
    x = b + bsig1(g) + ch(g, h, a) + 0x81c2c92e47edaee6 + w6; f += x; b = x + bsig0(c) + maj(c, d, e);
    w7 += ssig1(w5) + w0 + ssig0(w8);
    x = a + bsig1(f) + ch(f, g, h) + 0x92722c851482353b + w7; e += x; a = x + bsig0(b) + maj(b, c, d);
    w8 += ssig1(w6) + w1 + ssig0(w9);
    x = h + bsig1(e) + ch(e, f, g) + 0xa2bfe8a14cf10364 + w8; d += x; h = x + bsig0(a) + maj(a, b, c);
    w9 += ssig1(w7) + w2 + ssig0(w10);
    x = g + bsig1(d) + ch(d, e, f) + 0xa81a664bbc423001 + w9; c += x; g = x + bsig0(h) + maj(h, a, b);
    w10 += ssig1(w8) + w3 + ssig0(w11);
    x = f + bsig1(c) + ch(c, d, e) + 0xc24b8b70d0f89791 + w10; b += x; f = x + bsig0(g) + maj(g, h, a);
    w11 += ssig1(w9) + w4 + ssig0(w12);
    x = e + bsig1(b) + ch(b, c, d) + 0xc76c51a30654be30 + w11; a += x; e = x + bsig0(f) + maj(f, g, h);
    w12 += ssig1(w10) + w5 + ssig0(w13);
    x = d + bsig1(a) + ch(a, b, c) + 0xd192e819d6ef5218 + w12; h += x; d = x + bsig0(e) + maj(e, f, g);
    w13 += ssig1(w11) + w6 + ssig0(w14);
    x = c + bsig1(h) + ch(h, a, b) + 0xd69906245565a910 + w13; g += x; c = x + bsig0(d) + maj(d, e, f);
    w14 += ssig1(w12) + w7 + ssig0(w15);
    x = b + bsig1(g) + ch(g, h, a) + 0xf40e35855771202a + w14; f += x; b = x + bsig0(c) + maj(c, d, e);
    w15 += ssig1(w13) + w8 + ssig0(w0);
    x = a + bsig1(f) + ch(f, g, h) + 0x106aa07032bbd1b8 + w15; e += x; a = x + bsig0(b) + maj(b, c, d);
    w0 += ssig1(w14) + w9 + ssig0(w1);
    x = h + bsig1(e) + ch(e, f, g) + 0x19a4c116b8d2d0c8 + w0; d += x; h = x + bsig0(a) + maj(a, b, c);
    w1 += ssig1(w15) + w10 + ssig0(w2);
    x = g + bsig1(d) + ch(d, e, f) + 0x1e376c085141ab53 + w1; c += x; g = x + bsig0(h) + maj(h, a, b);
    w2 += ssig1(w0) + w11 + ssig0(w3);
    x = f + bsig1(c) + ch(c, d, e) + 0x2748774cdf8eeb99 + w2; b += x; f = x + bsig0(g) + maj(g, h, a);
    w3 += ssig1(w1) + w12 + ssig0(w4);
    x = e + bsig1(b) + ch(b, c, d) + 0x34b0bcb5e19b48a8 + w3; a += x; e = x + bsig0(f) + maj(f, g, h);
    w4 += ssig1(w2) + w13 + ssig0(w5);
    x = d + bsig1(a) + ch(a, b, c) + 0x391c0cb3c5c95a63 + w4; h += x; d = x + bsig0(e) + maj(e, f, g);
    w5 += ssig1(w3) + w14 + ssig0(w6);
    x = c + bsig1(h) + ch(h, a, b) + 0x4ed8aa4ae3418acb + w5; g += x; c = x + bsig0(d) + maj(d, e, f);
    w6 += ssig1(w4) + w15 + ssig0(w7);
    x = b + bsig1(g) + ch(g, h, a) + 0x5b9cca4f7763e373 + w6; f += x; b = x + bsig0(c) + maj(c, d, e);
    w7 += ssig1(w5) + w0 + ssig0(w8);
    x = a + bsig1(f) + ch(f, g, h) + 0x682e6ff3d6b2b8a3 + w7; e += x; a = x + bsig0(b) + maj(b, c, d);
    w8 += ssig1(w6) + w1 + ssig0(w9);
    x = h + bsig1(e) + ch(e, f, g) + 0x748f82ee5defb2fc + w8; d += x; h = x + bsig0(a) + maj(a, b, c);
    w9 += ssig1(w7) + w2 + ssig0(w10);
    x = g + bsig1(d) + ch(d, e, f) + 0x78a5636f43172f60 + w9; c += x; g = x + bsig0(h) + maj(h, a, b);
    w10 += ssig1(w8) + w3 + ssig0(w11);
    x = f + bsig1(c) + ch(c, d, e) + 0x84c87814a1f0ab72 + w10; b += x; f = x + bsig0(g) + maj(g, h, a);
    w11 += ssig1(w9) + w4 + ssig0(w12);
    x = e + bsig1(b) + ch(b, c, d) + 0x8cc702081a6439ec + w11; a += x; e = x + bsig0(f) + maj(f, g, h);
    w12 += ssig1(w10) + w5 + ssig0(w13);
    x = d + bsig1(a) + ch(a, b, c) + 0x90befffa23631e28 + w12; h += x; d = x + bsig0(e) + maj(e, f, g);
    w13 += ssig1(w11) + w6 + ssig0(w14);
    x = c + bsig1(h) + ch(h, a, b) + 0xa4506cebde82bde9 + w13; g += x; c = x + bsig0(d) + maj(d, e, f);
    w14 += ssig1(w12) + w7 + ssig0(w15);
    x = b + bsig1(g) + ch(g, h, a) + 0xbef9a3f7b2c67915 + w14; f += x; b = x + bsig0(c) + maj(c, d, e);
    w15 += ssig1(w13) + w8 + ssig0(w0);
    x = a + bsig1(f) + ch(f, g, h) + 0xc67178f2e372532b + w15; e += x; a = x + bsig0(b) + maj(b, c, d);
    w0 += ssig1(w14) + w9 + ssig0(w1);
    x = h + bsig1(e) + ch(e, f, g) + 0xca273eceea26619c + w0; d += x; h = x + bsig0(a) + maj(a, b, c);
    w1 += ssig1(w15) + w10 + ssig0(w2);
    x = g + bsig1(d) + ch(d, e, f) + 0xd186b8c721c0c207 + w1; c += x; g = x + bsig0(h) + maj(h, a, b);
    w2 += ssig1(w0) + w11 + ssig0(w3);
    x = f + bsig1(c) + ch(c, d, e) + 0xeada7dd6cde0eb1e + w2; b += x; f = x + bsig0(g) + maj(g, h, a);
    w3 += ssig1(w1) + w12 + ssig0(w4);
    x = e + bsig1(b) + ch(b, c, d) + 0xf57d4f7fee6ed178 + w3; a += x; e = x + bsig0(f) + maj(f, g, h);
    w4 += ssig1(w2) + w13 + ssig0(w5);
    x = d + bsig1(a) + ch(a, b, c) + 0x06f067aa72176fba + w4; h += x; d = x + bsig0(e) + maj(e, f, g);
    w5 += ssig1(w3) + w14 + ssig0(w6);
    x = c + bsig1(h) + ch(h, a, b) + 0x0a637dc5a2c898a6 + w5; g += x; c = x + bsig0(d) + maj(d, e, f);
    w6 += ssig1(w4) + w15 + ssig0(w7);
    x = b + bsig1(g) + ch(g, h, a) + 0x113f9804bef90dae + w6; f += x; b = x + bsig0(c) + maj(c, d, e);
    w7 += ssig1(w5) + w0 + ssig0(w8);
    x = a + bsig1(f) + ch(f, g, h) + 0x1b710b35131c471b + w7; e += x; a = x + bsig0(b) + maj(b, c, d);
    w8 += ssig1(w6) + w1 + ssig0(w9);
    x = h + bsig1(e) + ch(e, f, g) + 0x28db77f523047d84 + w8; d += x; h = x + bsig0(a) + maj(a, b, c);
    w9 += ssig1(w7) + w2 + ssig0(w10);
    x = g + bsig1(d) + ch(d, e, f) + 0x32caab7b40c72493 + w9; c += x; g = x + bsig0(h) + maj(h, a, b);
    w10 += ssig1(w8) + w3 + ssig0(w11);
    x = f + bsig1(c) + ch(c, d, e) + 0x3c9ebe0a15c9bebc + w10; b += x; f = x + bsig0(g) + maj(g, h, a);
    w11 += ssig1(w9) + w4 + ssig0(w12);
    x = e + bsig1(b) + ch(b, c, d) + 0x431d67c49c100d4c + w11; a += x; e = x + bsig0(f) + maj(f, g, h);
    w12 += ssig1(w10) + w5 + ssig0(w13);
    x = d + bsig1(a) + ch(a, b, c) + 0x4cc5d4becb3e42b6 + w12; h += x; d = x + bsig0(e) + maj(e, f, g);
    w13 += ssig1(w11) + w6 + ssig0(w14);
    x = c + bsig1(h) + ch(h, a, b) + 0x597f299cfc657e2a + w13; g += x; c = x + bsig0(d) + maj(d, e, f);
    w14 += ssig1(w12) + w7 + ssig0(w15);
    x = b + bsig1(g) + ch(g, h, a) + 0x5fcb6fab3ad6faec + w14; f += x; b = x + bsig0(c) + maj(c, d, e);
    w15 += ssig1(w13) + w8 + ssig0(w0);
    x = a + bsig1(f) + ch(f, g, h) + 0x6c44198c4a475817 + w15; e += x; a = x + bsig0(b) + maj(b, c, d);
    h0 += a; h1 += b; h2 += c; h3 += d; h4 += e; h5 += f; h6 += g; h7 += h;
    p += <usize>BLOCK;
  }
  store<u64>(ctx, h0, 0); store<u64>(ctx, h1, 8); store<u64>(ctx, h2, 16); store<u64>(ctx, h3, 24);
  store<u64>(ctx, h4, 32); store<u64>(ctx, h5, 40); store<u64>(ctx, h6, 48); store<u64>(ctx, h7, 56);
}

function initAt(ctx: usize, iv: usize): void {
  memory.copy(ctx, iv, 64);
  memory.fill(ctx + LEN_OFF, 0, <usize>(SHA512_CTX_LEN - 64));
}

export function sha512InitAt(ctx: usize): void {
  initAt(ctx, IV512);
}

export function sha384InitAt(ctx: usize): void {
  initAt(ctx, IV384);
}

// Absorbs len bytes at p. Branches only on len and on the count of bytes absorbed before.
export function sha512UpdateAt(ctx: usize, p: usize, len: i32): void {
  if (len <= 0) return;
  const total = load<u64>(ctx + LEN_OFF);
  store<u64>(ctx + LEN_OFF, total + <u64>len);
  let fill = <i32>(total & 127);
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
  const blocks = len >> 7;
  if (blocks > 0) compress(ctx, p, blocks);
  const rest = len & 127;
  if (rest > 0) memory.copy(buf, p + <usize>(blocks << 7), <usize>rest);
}

// Pads (§5.1.2: a 128-bit big-endian bit count), writes the first outLen bytes of the digest to out
// (64 for SHA-512, 48 for SHA-384, §6.5), wipes ctx.
function finalAt(ctx: usize, out: usize, outLen: i32): void {
  const total = load<u64>(ctx + LEN_OFF);
  const fill = <i32>(total & 127);
  const buf = ctx + BUF_OFF;
  store<u8>(buf + <usize>fill, 0x80);
  if (fill >= 112) {
    memory.fill(buf + <usize>fill + 1, 0, <usize>(BLOCK - fill - 1));
    compress(ctx, buf, 1);
    memory.fill(buf, 0, 112);
  } else {
    memory.fill(buf + <usize>fill + 1, 0, <usize>(111 - fill));
  }
  store<u64>(buf + 112, bswap<u64>(total >>> 61));
  store<u64>(buf + 120, bswap<u64>(total << 3));
  compress(ctx, buf, 1);
  for (let i = 0; i < (outLen >> 3); i++) {
    const o = <usize>(i << 3);
    store<u64>(out + o, bswap<u64>(load<u64>(ctx + o)));
  }
  wipe(ctx, SHA512_CTX_LEN);
}

export function sha512FinalAt(ctx: usize, out: usize): void {
  finalAt(ctx, out, 64);
}

export function sha384FinalAt(ctx: usize, out: usize): void {
  finalAt(ctx, out, 48);
}

export function sha512Init(): void {
  sha512InitAt(SHA512_CTX);
}

export function sha384Init(): void {
  sha384InitAt(SHA512_CTX);
}

// Absorbs IN[0, len) into SHA512_CTX (either variant) and wipes it from IN.
export function sha512Update(len: i32): void {
  sha512UpdateAt(SHA512_CTX, IN, len);
  wipe(IN, len);
}

// Digest of SHA512_CTX to OUT[0, 64).
export function sha512Final(): void {
  finalAt(SHA512_CTX, OUT, 64);
}

// Digest of SHA512_CTX to OUT[0, 48).
export function sha384Final(): void {
  finalAt(SHA512_CTX, OUT, 48);
}

// One call for a message that fits in IN: the digest of IN[0, len) to OUT.
export function sha512Digest(len: i32): void {
  sha512InitAt(SHA512_CTX);
  sha512Update(len);
  finalAt(SHA512_CTX, OUT, 64);
}

export function sha384Digest(len: i32): void {
  sha384InitAt(SHA512_CTX);
  sha512Update(len);
  finalAt(SHA512_CTX, OUT, 48);
}
