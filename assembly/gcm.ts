// AES-GCM, NIST SP 800-38D: GCM-AE (§7.1) and GCM-AD (§7.2) over aes_ct (bitsliced AES) and
// ghash_ctmul64, one-shot (gcmSeal, gcmOpen) or incremental (gcmInit, gcmIv, gcmAad, gcmUpdate, gcmFinal).
//
// CT: AES and GHASH are constant-time; everything here branches and indexes only on lengths (key, IV,
// AAD, message, tag) and on the public outcome of the tag check. Tags are compared with bytesEqual.
//
// All state lives in GCM_CTX (key schedule, GHASH key powers, accumulator, E(J0), counter, unused
// keystream, partial GHASH block, lengths), so JS can save and restore it to run several operations
// interleaved. gcmFinal, gcmClear and the one-shots wipe it (also when the tag does not match).
//
// The first AES pass of an operation computes eight blocks together (one bitsliced pass costs the same
// for one block or eight): with a 96-bit IV, H = E(0^128), E(J0) and six keystream blocks; with any
// other IV, a pass for H (J0 depends on it), then E(J0) and seven keystream blocks. Messages that fit
// need no further AES call.
import { IN, OUT } from './_io';
import { bytesEqual } from './_ct';
import { AES_KS_SIZE, aesCtr32, aesEncryptBlocks, aesSetKey } from './aes_ct';
import { GHASH_KEY_SIZE, ghashBlocks, ghashSetKey } from './ghash_ctmul64';

const KS_OFF: usize = 0;
const GK_OFF: usize = KS_OFF + <usize>AES_KS_SIZE;
const Y_OFF: usize = GK_OFF + <usize>GHASH_KEY_SIZE; // GHASH accumulator, big-endian
const EJ0_OFF: usize = Y_OFF + 16; // E(J0), masks the tag (§7.1 step 6)
const CTR_OFF: usize = EJ0_OFF + 16; // next unused counter block
const KSB_OFF: usize = CTR_OFF + 16; // keystream computed ahead; bytes [ksPos, ksEnd) are unused
const GB_OFF: usize = KSB_OFF + 128; // partial GHASH input block, gbLen bytes
const LEN_OFF: usize = GB_OFF + 16; // GHASH length block scratch, then the 32-bit fields below
const ROUNDS_OFF: usize = LEN_OFF + 16;
const KSPOS_OFF: usize = ROUNDS_OFF + 4;
const KSEND_OFF: usize = ROUNDS_OFF + 8;
const GBLEN_OFF: usize = ROUNDS_OFF + 12;
const PHASE_OFF: usize = ROUNDS_OFF + 16;
const DECRYPT_OFF: usize = ROUNDS_OFF + 20;
const IVLEN_OFF: usize = ROUNDS_OFF + 24; // u64 byte counts
const AADLEN_OFF: usize = IVLEN_OFF + 8;
const MSGLEN_OFF: usize = IVLEN_OFF + 16; // last field: the limit test in aes-gcm.test.ts sets it

export const GCM_CTX_LEN: i32 = <i32>(MSGLEN_OFF + 8);
export const GCM_CTX: usize = memory.data(GCM_CTX_LEN, 16);

const KS: usize = GCM_CTX + KS_OFF;
const GK: usize = GCM_CTX + GK_OFF;
const Y: usize = GCM_CTX + Y_OFF;
const EJ0: usize = GCM_CTX + EJ0_OFF;
const CTR: usize = GCM_CTX + CTR_OFF;
const KSB: usize = GCM_CTX + KSB_OFF;
const GB: usize = GCM_CTX + GB_OFF;
const LENB: usize = GCM_CTX + LEN_OFF;

// Phases of an operation: absorbing a non-96-bit IV into J0, then AAD, then the message.
const PHASE_IV: i32 = 0;
const PHASE_AAD: i32 = 1;
const PHASE_DATA: i32 = 2;

// §5.2.1.1: len(P) ≤ 2^39 − 256 bits.
const MAX_MSG: u64 = (<u64>1 << 36) - 32;

// A computed tag under test in gcmOpen / gcmFinal; wiped after the comparison.
const TAG: usize = memory.data(16, 16);

@inline function geti(off: usize): i32 { return load<i32>(GCM_CTX + off); }
@inline function seti(off: usize, v: i32): void { store<i32>(GCM_CTX + off, v); }
@inline function get64(off: usize): u64 { return load<u64>(GCM_CTX + off); }
@inline function set64(off: usize, v: u64): void { store<u64>(GCM_CTX + off, v); }

// dst = src with its last 32 bits, a big-endian counter, increased by k mod 2^32 (inc32, §6.2).
@inline function inc32(dst: usize, src: usize, k: u32): void {
  v128.store(dst, v128.load(src));
  store<u32>(dst, bswap<u32>(bswap<u32>(load<u32>(src, 12)) + k), 12);
}

// Slots start..7 of KSB ← J0 + 1, J0 + 2, …: the counter blocks that share a pass with H or E(J0).
function counters(j0: usize, start: usize): void {
  for (let s = start; s < 8; s++) inc32(KSB + (s << 4), j0, <u32>(s - start + 1));
}

// GHASH over len bytes, keeping a partial block in GB until it fills or padGhash() pads it (§6.4).
function absorb(src: usize, len: i32): void {
  let p = src;
  let left = len;
  let gb = geti(GBLEN_OFF);
  if (gb > 0) {
    const take = min(16 - gb, left);
    memory.copy(GB + <usize>gb, p, <usize>take);
    gb += take;
    p += <usize>take;
    left -= take;
    if (gb < 16) {
      seti(GBLEN_OFF, gb);
      return;
    }
    ghashBlocks(Y, GK, GB, 1);
  }
  const whole = left >> 4;
  if (whole > 0) ghashBlocks(Y, GK, p, whole);
  p += <usize>whole << 4;
  left &= 15;
  memory.copy(GB, p, <usize>left);
  seti(GBLEN_OFF, left);
}

function padGhash(): void {
  const gb = geti(GBLEN_OFF);
  if (gb > 0) {
    memory.fill(GB + <usize>gb, 0, 16 - <usize>gb);
    ghashBlocks(Y, GK, GB, 1);
    seti(GBLEN_OFF, 0);
  }
}

// Absorbs the length block [a]64 ‖ [b]64 (in bits).
function ghashLengths(aBytes: u64, bBytes: u64): void {
  store<u64>(LENB, bswap<u64>(aBytes << 3));
  store<u64>(LENB, bswap<u64>(bBytes << 3), 8);
  ghashBlocks(Y, GK, LENB, 1);
}

// dst = src ⊕ keystream (GCTR, §6.5): unused keystream first, whole blocks by aesCtr32, and a last
// partial block from a fresh keystream block whose rest stays for the next call.
function ctr(src: usize, dst: usize, len: i32): void {
  const rounds = geti(ROUNDS_OFF);
  let pos = geti(KSPOS_OFF);
  const end = geti(KSEND_OFF);
  let off: usize = 0;
  let left = len;
  let take = min(end - pos, left);
  while (take >= 16) {
    v128.store(dst + off, v128.xor(v128.load(src + off), v128.load(KSB + <usize>pos)));
    off += 16;
    pos += 16;
    take -= 16;
    left -= 16;
  }
  while (take > 0) {
    store<u8>(dst + off, load<u8>(src + off) ^ load<u8>(KSB + <usize>pos));
    off++;
    pos++;
    take--;
    left--;
  }
  seti(KSPOS_OFF, pos);
  if (left == 0) return;
  const whole = left & ~15;
  if (whole > 0) aesCtr32(KS, rounds, CTR, src + off, dst + off, whole);
  off += <usize>whole;
  left -= whole;
  if (left == 0) return;
  memory.fill(KSB, 0, 16);
  aesCtr32(KS, rounds, CTR, KSB, KSB, 16);
  for (let i = 0; i < left; i++) {
    store<u8>(dst + off + <usize>i, load<u8>(src + off + <usize>i) ^ load<u8>(KSB + <usize>i));
  }
  seti(KSPOS_OFF, left);
  seti(KSEND_OFF, 16);
}

// Key setup and, for a 96-bit IV, J0 = IV ‖ 0^31 ‖ 1 (§7.1 step 2). Returns the AES rounds, 0 for a bad
// key length (the context is then left wiped).
function start(key: usize, keyLen: i32, iv: usize, ivLen: i32, decrypt: i32): i32 {
  // The key schedule and GHASH key are overwritten below; the rest starts from zero.
  memory.fill(Y, 0, <usize>GCM_CTX_LEN - Y_OFF);
  const rounds = aesSetKey(key, keyLen, KS);
  if (rounds == 0) {
    clear();
    return 0;
  }
  seti(ROUNDS_OFF, rounds);
  seti(DECRYPT_OFF, decrypt);
  if (ivLen == 12) {
    // One pass: 0^128, J0, J0 + 1 .. J0 + 6 → H, E(J0), six keystream blocks.
    memory.copy(KSB + 16, iv, 12);
    store<u32>(KSB + 16, bswap<u32>(1), 12);
    counters(KSB + 16, 2);
    inc32(CTR, KSB + 16, 7);
    aesEncryptBlocks(KS, rounds, KSB, KSB, 8);
    ghashSetKey(GK, KSB);
    v128.store(EJ0, v128.load(KSB, 16));
    v128.store(KSB, i64x2.splat(0));
    v128.store(KSB, i64x2.splat(0), 16);
    seti(KSPOS_OFF, 32);
    seti(KSEND_OFF, 128);
    seti(PHASE_OFF, PHASE_AAD);
  } else {
    // J0 = GHASH(IV ‖ 0^s ‖ 0^64 ‖ [len(IV)]64) (§7.1 step 2), absorbed from here and gcmIv.
    aesEncryptBlocks(KS, rounds, KSB, KSB, 1);
    ghashSetKey(GK, KSB);
    v128.store(KSB, i64x2.splat(0));
    seti(PHASE_OFF, PHASE_IV);
    absorb(iv, ivLen);
    set64(IVLEN_OFF, <u64>ivLen);
  }
  return rounds;
}

// Ends the IV phase: J0 from GHASH, then one pass J0 .. J0 + 7 → E(J0), seven keystream blocks.
function toAad(): void {
  if (geti(PHASE_OFF) != PHASE_IV) return;
  padGhash();
  ghashLengths(0, get64(IVLEN_OFF));
  v128.store(KSB, v128.load(Y));
  v128.store(Y, i64x2.splat(0));
  counters(KSB, 1);
  inc32(CTR, KSB, 8);
  aesEncryptBlocks(KS, geti(ROUNDS_OFF), KSB, KSB, 8);
  v128.store(EJ0, v128.load(KSB));
  v128.store(KSB, i64x2.splat(0));
  seti(KSPOS_OFF, 16);
  seti(KSEND_OFF, 128);
  seti(PHASE_OFF, PHASE_AAD);
}

// Ends the AAD phase: its last block is padded (§7.1 step 5, u = 0^v).
function toData(): void {
  toAad();
  if (geti(PHASE_OFF) != PHASE_AAD) return;
  padGhash();
  seti(PHASE_OFF, PHASE_DATA);
}

function aad(p: usize, len: i32): void {
  toAad();
  absorb(p, len);
  set64(AADLEN_OFF, get64(AADLEN_OFF) + <u64>len);
}

// Counts len more message bytes; false past the §5.2.1.1 limit (nothing is processed then).
function countMsg(len: i32): bool {
  const total = get64(MSGLEN_OFF) + <u64>len;
  if (total > MAX_MSG) return false;
  set64(MSGLEN_OFF, total);
  return true;
}

// The full 16-byte tag T = GHASH(…) ⊕ E(J0) (§7.1 steps 5-6) into out.
function computeTag(out: usize): void {
  toData();
  padGhash();
  ghashLengths(get64(AADLEN_OFF), get64(MSGLEN_OFF));
  v128.store(out, v128.xor(v128.load(Y), v128.load(EJ0)));
}

function clear(): void {
  memory.fill(GCM_CTX, 0, <usize>GCM_CTX_LEN);
}

// --- Incremental interface over IN / OUT -----------------------------------------------------------

// Starts an operation: IN holds the key (keyLen bytes) then the first ivLen bytes of the IV. ivLen == 12
// means a 96-bit IV; any other IV may continue with gcmIv. decrypt = 1 for GCM-AD. Returns the AES
// rounds, 0 for a bad key length.
export function gcmInit(keyLen: i32, ivLen: i32, decrypt: i32): i32 {
  return start(IN, keyLen, IN + <usize>keyLen, ivLen, decrypt);
}

// More IV bytes (len at IN) after gcmInit with ivLen != 12.
export function gcmIv(len: i32): void {
  absorb(IN, len);
  set64(IVLEN_OFF, get64(IVLEN_OFF) + <u64>len);
}

// AAD bytes (len at IN); only before the first gcmUpdate.
export function gcmAad(len: i32): void {
  aad(IN, len);
}

// len message bytes at IN → len output bytes at OUT. GHASH reads the ciphertext: OUT when encrypting,
// IN when decrypting. Returns 1, or 0 (nothing done) if the message would pass 2^39 − 256 bits.
export function gcmUpdate(len: i32): i32 {
  toData();
  if (!countMsg(len)) return 0;
  if (geti(DECRYPT_OFF) != 0) {
    absorb(IN, len);
    ctr(IN, OUT, len);
  } else {
    ctr(IN, OUT, len);
    absorb(OUT, len);
  }
  return 1;
}

// Ends the operation and wipes the context. Encrypting: the 16-byte tag goes to OUT (callers truncate,
// §5.2.1.2) and the result is 1. Decrypting: 1 if the tagLen bytes at IN equal the tag's first tagLen
// bytes, else 0.
export function gcmFinal(tagLen: i32): i32 {
  let ok: i32 = 1;
  if (geti(DECRYPT_OFF) != 0) {
    computeTag(TAG);
    ok = <i32>bytesEqual(TAG, IN, tagLen);
    v128.store(TAG, i64x2.splat(0));
  } else {
    computeTag(OUT);
  }
  clear();
  return ok;
}

// Abandons an operation: wipes the context.
export function gcmClear(): void {
  clear();
}

// --- One-shot interface ------------------------------------------------------------------------------

// GCM-AE (§7.1). IN: key ‖ IV ‖ AAD ‖ plaintext, wiped on return; OUT: ciphertext ‖ 16-byte tag. The
// caller keeps the input within CHUNK bytes (then the output fits too: key and IV take at least 17).
// Returns the AES rounds, 0 for a bad key length.
export function gcmSeal(keyLen: i32, ivLen: i32, aadLen: i32, msgLen: i32): i32 {
  const iv = IN + <usize>keyLen;
  const a = iv + <usize>ivLen;
  const m = a + <usize>aadLen;
  const rounds = start(IN, keyLen, iv, ivLen, 0);
  if (rounds != 0) {
    aad(a, aadLen);
    toData();
    countMsg(msgLen);
    ctr(m, OUT, msgLen);
    absorb(OUT, msgLen);
    computeTag(OUT + <usize>msgLen);
    clear();
  }
  memory.fill(IN, 0, m + <usize>msgLen - IN);
  return rounds;
}

// GCM-AD (§7.2). IN: key ‖ IV ‖ AAD ‖ ciphertext ‖ tag (tagLen bytes), the key wiped on return. The
// tag is checked over the ciphertext first and the plaintext is written to OUT only if it matches:
// returns 1, or 0 for a mismatch or a bad key length (OUT untouched).
export function gcmOpen(keyLen: i32, ivLen: i32, aadLen: i32, ctLen: i32, tagLen: i32): i32 {
  const iv = IN + <usize>keyLen;
  const a = iv + <usize>ivLen;
  const c = a + <usize>aadLen;
  let ok: i32 = 0;
  if (start(IN, keyLen, iv, ivLen, 1) != 0) {
    aad(a, aadLen);
    toData();
    countMsg(ctLen);
    absorb(c, ctLen);
    computeTag(TAG);
    ok = <i32>bytesEqual(TAG, c + <usize>ctLen, tagLen);
    v128.store(TAG, i64x2.splat(0));
    if (ok != 0) ctr(c, OUT, ctLen);
    clear();
  }
  memory.fill(IN, 0, <usize>keyLen);
  return ok;
}
