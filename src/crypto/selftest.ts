// Known-answer self-tests of the WASM core (the power-on self-tests a FIPS 140 module runs before it
// serves): published vectors, not values computed by this code, plus one forged tag that must fail.
import { aesGcm } from './aes-gcm.js';
import { ecKeys } from './_ec-keys.js';
import { ecdsa } from './ecdsa.js';
import { AuthenticationError } from './errors.js';
import { hkdf } from './hkdf.js';
import { hmac } from './hmac.js';
import { sha256, sha384, sha512 } from './sha2.js';

export interface SelfTestResult {
  name: string;
  source: string;
  ok: boolean;
}

const hex = (s: string) => Uint8Array.from(Buffer.from(s, 'hex'));
const utf8 = (s: string) => new TextEncoder().encode(s);
const eq = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(Buffer.from(b));

// The McGrew–Viega GCM specification, test case 16 (AES-256, 96-bit IV, AAD, 60-byte message).
const GCM16 = {
  key: hex('feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308'),
  iv: hex('cafebabefacedbaddecaf888'),
  pt: hex('d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39'),
  aad: hex('feedfacedeadbeeffeedfacedeadbeefabaddad2'),
  sealed: hex(
    '522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662' +
      '76fc6ece0f4e1768cddf8853bb2d551b',
  ),
};

// RFC 6979 A.2.5: P-256, SHA-256, message "sample", deterministic nonce.
const P256 = {
  d: hex('c9afa9d845ba75166b5c215767b1d6934e50c3db36e89b127b8a622b120f6721'),
  rs: hex('efd48b2aacb6a8fd1140dd9cd45e81d69d2c877b56aaf991c34d0ea84eaf3716f7cb1c942d657c41d436c7a1b6e29f65f3e900dbb9aff4064dc4ab2f843acda8'),
};

const CASES: { name: string; source: string; check: () => boolean }[] = [
  { name: 'SHA-256', source: 'FIPS 180-4 example "abc"', check: () => eq(sha256(utf8('abc')), hex('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad')) },
  {
    name: 'SHA-384',
    source: 'FIPS 180-4 example "abc"',
    check: () => eq(sha384(utf8('abc')), hex('cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7')),
  },
  {
    name: 'SHA-512',
    source: 'FIPS 180-4 example "abc"',
    check: () =>
      eq(
        sha512(utf8('abc')),
        hex('ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f'),
      ),
  },
  {
    name: 'HMAC-SHA-256',
    source: 'RFC 4231 test case 2',
    check: () => eq(hmac('SHA-256', utf8('Jefe'), utf8('what do ya want for nothing?')), hex('5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843')),
  },
  {
    name: 'HKDF-SHA-256',
    source: 'RFC 5869 test case 1',
    check: () =>
      eq(
        hkdf('SHA-256', new Uint8Array(22).fill(0x0b), hex('000102030405060708090a0b0c'), hex('f0f1f2f3f4f5f6f7f8f9'), 42),
        hex('3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865'),
      ),
  },
  { name: 'AES-256-GCM seal', source: 'GCM spec test case 16', check: () => eq(aesGcm.seal(GCM16.key, GCM16.iv, GCM16.pt, GCM16.aad), GCM16.sealed) },
  { name: 'AES-256-GCM open', source: 'GCM spec test case 16', check: () => eq(aesGcm.open(GCM16.key, GCM16.iv, GCM16.sealed, GCM16.aad), GCM16.pt) },
  {
    name: 'AES-256-GCM forged tag',
    source: 'test case 16, last tag bit flipped: must be refused',
    check: () => {
      const forged = GCM16.sealed.slice();
      forged[forged.length - 1]! ^= 1;
      try {
        aesGcm.open(GCM16.key, GCM16.iv, forged, GCM16.aad);
        return false;
      } catch (e) {
        return e instanceof AuthenticationError;
      }
    },
  },
  {
    name: 'ECDSA P-256 sign',
    source: 'RFC 6979 A.2.5 (SHA-256, "sample")',
    check: () => eq(ecdsa.sign('P-256', 'SHA-256', ecKeys.pkcs8('P-256', P256.d), utf8('sample'), { format: 'p1363', deterministic: true }), P256.rs),
  },
  {
    name: 'ECDSA P-256 verify',
    source: 'RFC 6979 A.2.5; the same signature with s flipped must be refused',
    check: () => {
      const pub = ecKeys.publicKey(ecKeys.pkcs8('P-256', P256.d));
      const forged = P256.rs.slice();
      forged[63]! ^= 1;
      const opts = { format: 'p1363' } as const;
      return ecdsa.verify('P-256', 'SHA-256', pub, utf8('sample'), P256.rs, opts) && !ecdsa.verify('P-256', 'SHA-256', pub, utf8('sample'), forged, opts);
    },
  },
];

/** Runs every known-answer test; an exception counts as a failure, never as a pass. */
export function selfTest(): SelfTestResult[] {
  return CASES.map(({ name, source, check }) => {
    let ok = false;
    try {
      ok = check();
    } catch {
      ok = false;
    }
    return { name, source, ok };
  });
}
