// HMAC over SHA-256, SHA-384 and SHA-512, RFC 2104 §2 (= FIPS 198-1 §4); truncation per RFC 2104 §5.
// The hash is chosen by h = 256, 384 or 512 (its output size in bits), a public parameter.
//
// CT: the key is padded and XORed with ipad/opad in loops of the fixed block length; whether a key is
// hashed first depends only on its length (public). The key, K0, both pads, the inner digest and
// both keyed hash contexts are wiped when the operation that used them finishes. Tags are compared
// with _ct.bytesEqual, which reads every byte.
//
// An HMAC context is the inner hash context followed by the outer one, each having absorbed its
// padded-key block, so a keyed context can be saved by JS and resumed (createHmac) or copied (HKDF).
import { IN, OUT } from './_io';
import { bytesEqual, wipe } from './_ct';
import { SHA256_CTX, SHA256_CTX_LEN, sha256FinalAt, sha256InitAt, sha256UpdateAt } from './sha256';
import {
  SHA512_CTX, SHA512_CTX_LEN, sha384FinalAt, sha384InitAt, sha512FinalAt, sha512InitAt, sha512UpdateAt,
} from './sha512';

export const HMAC_CTX: usize = memory.data(2 * SHA512_CTX_LEN, 16);

// K0 and its XOR with a pad (RFC 2104 §2 steps 1-2, 5); the inner digest; a computed tag under test.
const KEY_BLOCK: usize = memory.data(128, 16);
const INNER: usize = memory.data(64, 16);
const TAG: usize = memory.data(64, 16);

@inline export function hashLen(h: i32): i32 { return h >> 3; }
@inline function blockLen(h: i32): i32 { return h == 256 ? 64 : 128; }
@inline export function hmacCtxLen(h: i32): i32 { return h == 256 ? 2 * SHA256_CTX_LEN : 2 * SHA512_CTX_LEN; }
@inline function shaCtxLen(h: i32): i32 { return h == 256 ? SHA256_CTX_LEN : SHA512_CTX_LEN; }

function hInit(h: i32, ctx: usize): void {
  if (h == 256) sha256InitAt(ctx);
  else if (h == 384) sha384InitAt(ctx);
  else sha512InitAt(ctx);
}

export function hUpdate(h: i32, ctx: usize, p: usize, len: i32): void {
  if (h == 256) sha256UpdateAt(ctx, p, len);
  else sha512UpdateAt(ctx, p, len);
}

function hFinal(h: i32, ctx: usize, out: usize): void {
  if (h == 256) sha256FinalAt(ctx, out);
  else if (h == 384) sha384FinalAt(ctx, out);
  else sha512FinalAt(ctx, out);
}

// With K0 in KEY_BLOCK: inner absorbs K0 ^ ipad, outer absorbs K0 ^ opad (steps 2, 3 and 5, 6
// up to the data), then K0 is wiped.
function keyPads(h: i32, hctx: usize): void {
  const b = blockLen(h);
  const ipad: u64 = 0x3636363636363636;
  const opad: u64 = 0x5c5c5c5c5c5c5c5c;
  for (let i = 0; i < b; i += 8) store<u64>(KEY_BLOCK + <usize>i, load<u64>(KEY_BLOCK + <usize>i) ^ ipad);
  hInit(h, hctx);
  hUpdate(h, hctx, KEY_BLOCK, b);
  for (let i = 0; i < b; i += 8) store<u64>(KEY_BLOCK + <usize>i, load<u64>(KEY_BLOCK + <usize>i) ^ (ipad ^ opad));
  const outer = hctx + <usize>shaCtxLen(h);
  hInit(h, outer);
  hUpdate(h, outer, KEY_BLOCK, b);
  wipe(KEY_BLOCK, 128);
}

// Keys the HMAC context at hctx with keyLen bytes at key (step 1: keys longer than the block are
// hashed, shorter ones zero-padded).
export function hmacKeyAt(h: i32, hctx: usize, key: usize, keyLen: i32): void {
  const b = blockLen(h);
  if (keyLen > b) {
    hInit(h, hctx);
    hUpdate(h, hctx, key, keyLen);
    hFinal(h, hctx, KEY_BLOCK);
    memory.fill(KEY_BLOCK + <usize>hashLen(h), 0, <usize>(b - hashLen(h)));
  } else {
    memory.copy(KEY_BLOCK, key, <usize>keyLen);
    memory.fill(KEY_BLOCK + <usize>keyLen, 0, <usize>(b - keyLen));
  }
  keyPads(h, hctx);
}

// Steps 4-7: finishes the inner hash, feeds it to the outer one, writes the tag to out, and wipes
// both contexts and the inner digest.
export function hmacFinalAt(h: i32, hctx: usize, out: usize): void {
  hFinal(h, hctx, INNER);
  const outer = hctx + <usize>shaCtxLen(h);
  hUpdate(h, outer, INNER, hashLen(h));
  hFinal(h, outer, out);
  wipe(INNER, 64);
}

// Keys HMAC_CTX with the key at IN[0, keyLen) (keyLen <= CHUNK) and wipes it from IN.
export function hmacInit(h: i32, keyLen: i32): void {
  hmacKeyAt(h, HMAC_CTX, IN, keyLen);
  wipe(IN, keyLen);
}

// Keys HMAC_CTX with a key longer than IN holds, which JS has streamed into the plain hash context
// of the same hash (sha256Init/sha384Init/sha512Init, then updates): its digest is K0.
export function hmacInitHashed(h: i32): void {
  hFinal(h, h == 256 ? SHA256_CTX : SHA512_CTX, KEY_BLOCK);
  memory.fill(KEY_BLOCK + <usize>hashLen(h), 0, <usize>(blockLen(h) - hashLen(h)));
  keyPads(h, HMAC_CTX);
}

// Absorbs IN[0, len) into the inner hash of HMAC_CTX and wipes it from IN.
export function hmacUpdate(h: i32, len: i32): void {
  hUpdate(h, HMAC_CTX, IN, len);
  wipe(IN, len);
}

// The tag of HMAC_CTX to OUT[0, hashLen).
export function hmacFinal(h: i32): void {
  hmacFinalAt(h, HMAC_CTX, OUT);
}

// 1 if the tag of HMAC_CTX starts with the tagLen bytes at IN (1 <= tagLen <= hashLen, checked by
// the caller), else 0. The computed tag never leaves WASM memory; it and IN[0, tagLen) are wiped.
export function hmacVerify(h: i32, tagLen: i32): u32 {
  hmacFinalAt(h, HMAC_CTX, TAG);
  const ok = bytesEqual(TAG, IN, tagLen);
  wipe(TAG, 64);
  wipe(IN, tagLen);
  return ok;
}
