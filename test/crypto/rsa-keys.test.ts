// rsaKeys (src/crypto/rsa.ts): conversions between PKCS#1, PKCS#8, SPKI and JWK, byte for byte equal to
// node:crypto's exports at 2048/3072/4096 bits, KeyObjects in, private keys checked for consistency by
// the RSA core on import (InvalidKeyError MISMATCH), typed refusals, no change to the caller's bytes.
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign as nodeSign, type KeyObject } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { expectInvalidKey } from './_expect.js';
import { rsa, rsaKeys, type RsaJwk } from '../../src/crypto/index.js';

const same = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(Buffer.from(b));

interface Exports {
  bits: number;
  priv: KeyObject;
  pub: KeyObject;
  pkcs8: Buffer;
  pkcs1: Buffer;
  spki: Buffer;
  pub1: Buffer;
  jwk: RsaJwk;
  pubJwk: RsaJwk;
}

const KEYS: Exports[] = [2048, 3072, 4096].map((bits) => {
  const { privateKey: priv, publicKey: pub } = generateKeyPairSync('rsa', { modulusLength: bits });
  return {
    bits,
    priv,
    pub,
    pkcs8: priv.export({ format: 'der', type: 'pkcs8' }),
    pkcs1: priv.export({ format: 'der', type: 'pkcs1' }),
    spki: pub.export({ format: 'der', type: 'spki' }),
    pub1: pub.export({ format: 'der', type: 'pkcs1' }),
    jwk: priv.export({ format: 'jwk' }) as RsaJwk,
    pubJwk: pub.export({ format: 'jwk' }) as RsaJwk,
  };
});


for (const k of KEYS) {
  describe(`RSA-${k.bits} key formats against node:crypto`, () => {
    it('PKCS#8 from PKCS#8, PKCS#1, JWK and KeyObject inputs equals node', () => {
      for (const input of [k.pkcs8, k.pkcs1, k.priv, rsaKeys.fromJwk(k.jwk)]) expect(same(rsaKeys.pkcs8(input), k.pkcs8)).toBe(true);
    });

    it('PKCS#1 of private and public keys equals node', () => {
      for (const input of [k.pkcs8, k.pkcs1, k.priv]) expect(same(rsaKeys.pkcs1(input), k.pkcs1)).toBe(true);
      for (const input of [k.spki, k.pub1, k.pub]) expect(same(rsaKeys.pkcs1(input), k.pub1)).toBe(true);
    });

    it('SPKI of every input equals node', () => {
      for (const input of [k.pkcs8, k.pkcs1, k.priv, k.spki, k.pub1, k.pub]) expect(same(rsaKeys.spki(input), k.spki)).toBe(true);
    });

    it('JWK both ways equals node', () => {
      for (const input of [k.pkcs8, k.pkcs1, k.priv]) expect(rsaKeys.toJwk(input)).toEqual(k.jwk);
      for (const input of [k.spki, k.pub1, k.pub]) expect(rsaKeys.toJwk(input)).toEqual(k.pubJwk);
      expect(same(rsaKeys.fromJwk(k.jwk), k.pkcs8)).toBe(true);
      expect(same(rsaKeys.fromJwk(k.pubJwk), k.spki)).toBe(true);
    });

    it('node imports what we write and signs the same', () => {
      const priv = createPrivateKey({ key: Buffer.from(rsaKeys.pkcs1(k.pkcs8)), format: 'der', type: 'pkcs1' });
      const pub = createPublicKey({ key: Buffer.from(rsaKeys.pkcs1(k.spki)), format: 'der', type: 'pkcs1' });
      const m = Buffer.from('round trip');
      expect(same(nodeSign('sha256', m, priv), rsa.sign({ scheme: 'pkcs1', hash: 'SHA-256' }, rsaKeys.fromJwk(k.jwk), m))).toBe(true);
      expect(same(pub.export({ format: 'der', type: 'spki' }), k.spki)).toBe(true);
      expect(rsaKeys.modulusBits(k.pub)).toBe(k.bits);
    });

    it("never modifies the caller's bytes", () => {
      const copy = Buffer.from(k.pkcs8);
      rsaKeys.pkcs1(k.pkcs8);
      rsa.sign({ scheme: 'pss', hash: 'SHA-256' }, k.pkcs8, new Uint8Array(1));
      expect(same(copy, k.pkcs8)).toBe(true);
    });
  });
}

describe('rsaKeys refusals', () => {
  const k = KEYS[0]!;
  const other = KEYS[1]!;

  it('inconsistent private components: MISMATCH (checked by the core on import)', () => {
    const b64 = (s: string) => Buffer.from(s, 'base64url');
    const bump = (s: string) => {
      const x = b64(s);
      x[x.length - 1]! ^= 0x02;
      return x.toString('base64url');
    };
    for (const f of ['d', 'dp', 'dq', 'qi'] as const) {
      const bad = { ...k.jwk, [f]: bump(k.jwk[f]!) };
      expectInvalidKey(() => rsaKeys.fromJwk(bad), 'MISMATCH');
    }
    // Another key's primes, or the primes swapped without recomputing the CRT values.
    expectInvalidKey(() => rsaKeys.fromJwk({ ...k.jwk, p: other.jwk.p!, q: other.jwk.q! }), 'MISMATCH');
    expectInvalidKey(() => rsaKeys.fromJwk({ ...k.jwk, p: k.jwk.q!, q: k.jwk.p! }), 'MISMATCH');
    const badDer = rsaKeys.fromJwk(k.jwk);
    const d = Buffer.from(k.jwk.d!, 'base64url');
    const at = Buffer.from(badDer).indexOf(d);
    badDer[at + 5]! ^= 1;
    expectInvalidKey(() => rsaKeys.pkcs8(badDer), 'MISMATCH');
    expectInvalidKey(() => rsa.sign({ scheme: 'pkcs1', hash: 'SHA-256' }, badDer, new Uint8Array(1)), 'MISMATCH');
  });

  it('malformed encodings and wrong key kinds: MALFORMED', () => {
    expectInvalidKey(() => rsaKeys.pkcs8(k.spki), 'MALFORMED');
    expectInvalidKey(() => rsaKeys.pkcs8(k.pub), 'MALFORMED');
    expectInvalidKey(() => rsaKeys.pkcs1(k.pkcs8.subarray(0, 600)), 'MALFORMED');
    expectInvalidKey(() => rsaKeys.spki(Uint8Array.of(0x30, 0x00)), 'MALFORMED');
    expectInvalidKey(() => rsaKeys.spki(generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey), 'MALFORMED');
    expectInvalidKey(() => rsaKeys.spki(generateKeyPairSync('rsa-pss', { modulusLength: 2048 }).publicKey), 'MALFORMED');
    expectInvalidKey(() => rsaKeys.fromJwk({ ...k.jwk, kty: 'oct' as 'RSA' }), 'MALFORMED');
    expectInvalidKey(() => rsaKeys.fromJwk({ ...k.jwk, n: '!' }), 'MALFORMED');
  });

  it('moduli outside 1024–4096 bits: OUT_OF_RANGE', () => {
    const small = generateKeyPairSync('rsa', { modulusLength: 768 });
    expectInvalidKey(() => rsaKeys.spki(small.publicKey), 'OUT_OF_RANGE');
    expectInvalidKey(() => rsaKeys.pkcs8(small.privateKey), 'OUT_OF_RANGE');
  });

  it('wrong argument types: TypeError', () => {
    expect(() => rsaKeys.pkcs8('key' as never)).toThrow(TypeError);
    expect(() => rsaKeys.spki(null as never)).toThrow(TypeError);
    expect(() => rsaKeys.fromJwk(null as never)).toThrow(TypeError);
    expect(() => rsaKeys.toJwk({} as never)).toThrow(TypeError);
  });
});
