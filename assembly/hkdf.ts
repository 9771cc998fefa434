// HKDF over HMAC-SHA-256/384/512, RFC 5869 §2.2 (extract) and §2.3 (expand).
//
// CT: HKDF adds no branch or index on secrets to HMAC's (see hmac.ts): the block count N, the block
// counter and the bytes copied per block depend only on the output length L, which is public.
// The PRK never leaves WASM memory on the hkdf() path; the PRK-keyed context, the working context,
// T(i) and the counter are wiped by hkdfClear, which JS calls when the derivation ends.
//
// Protocol, driven by JS so salt, IKM and info can be of any size:
//   extract: hmacInit(h, saltLen) (an empty salt keys HMAC exactly as HashLen zeros do: K0 is
//            zero-padded either way), hmacUpdate(h, len) per IKM chunk, hkdfExtract(h);
//            or, given a PRK, hmacInit(h, prkLen): HMAC_CTX is then keyed with the PRK.
//   expand:  for i = 1..N: hkdfExpandStart(h, i), hkdfExpandUpdate(h, len) per info chunk,
//            hkdfExpandEnd(h, i, off, n) appends the first n bytes of T(i) at OUT + off;
//            then JS copies OUT[0, L), wipes it, and calls hkdfClear.
import { IN, OUT } from './_io';
import { wipe } from './_ct';
import { SHA512_CTX_LEN } from './sha512';
import { HMAC_CTX, hashLen, hmacCtxLen, hmacFinalAt, hmacKeyAt, hUpdate } from './hmac';

// T(i) needs HMAC(PRK, ...) once per block: each block starts from a copy of the PRK-keyed context.
const WORK: usize = memory.data(2 * SHA512_CTX_LEN, 16);
const PRK: usize = memory.data(64, 16);
const T: usize = memory.data(64, 16);
const CTR: usize = memory.data(8, 8);

// PRK = HMAC-Hash(salt, IKM) from HMAC_CTX, which then is re-keyed with PRK for the expand step.
export function hkdfExtract(h: i32): void {
  hmacFinalAt(h, HMAC_CTX, PRK);
  hmacKeyAt(h, HMAC_CTX, PRK, hashLen(h));
  wipe(PRK, 64);
}

// Starts T(i) = HMAC(PRK, T(i-1) | info | i), with T(0) empty.
export function hkdfExpandStart(h: i32, i: i32): void {
  memory.copy(WORK, HMAC_CTX, <usize>hmacCtxLen(h));
  if (i > 1) hUpdate(h, WORK, T, hashLen(h));
}

// Absorbs the info chunk IN[0, len) into T(i) and wipes it from IN.
export function hkdfExpandUpdate(h: i32, len: i32): void {
  hUpdate(h, WORK, IN, len);
  wipe(IN, len);
}

// Finishes T(i) and copies its first n bytes to OUT + off.
export function hkdfExpandEnd(h: i32, i: i32, off: i32, n: i32): void {
  store<u8>(CTR, <u8>i);
  hUpdate(h, WORK, CTR, 1);
  hmacFinalAt(h, WORK, T);
  memory.copy(OUT + <usize>off, T, <usize>n);
}

// Wipes every key-derived value the derivation left: the PRK-keyed HMAC_CTX, T and the counter.
export function hkdfClear(): void {
  wipe(HMAC_CTX, 2 * SHA512_CTX_LEN);
  wipe(WORK, 2 * SHA512_CTX_LEN);
  wipe(T, 64);
  wipe(CTR, 8);
}
