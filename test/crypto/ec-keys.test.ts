// EC key formats (src/crypto/_ec-keys.ts, _der.ts): SPKI, PKCS#8 (RFC 5915 inside), SEC1 points and JWK,
// byte-for-byte against node:crypto's exports in both directions, strict DER, and the typed errors.
import { createPrivateKey, createPublicKey, ECDH, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DerError, DerReader, TAG, tlv, uintTlv } from '../../src/crypto/_der.js';
import { CURVES, encodePkcs8, encodeSpki, parsePkcs8, parseSpki, type CurveName } from '../../src/crypto/_ec-keys.js';
import { ecKeys, InvalidKeyError } from '../../src/crypto/index.js';
import { hex, toHex } from '../vectors/wycheproof.js';

const NODE_CURVE: Record<CurveName, string> = { 'P-256': 'prime256v1', 'P-384': 'secp384r1', 'P-521': 'secp521r1', secp256k1: 'secp256k1' };
const NAMES = Object.keys(CURVES) as CurveName[];
const b64u = (s: string) => Uint8Array.from(Buffer.from(s, 'base64url'));

function nodePair(curve: CurveName): { priv: KeyObject; pub: KeyObject; pkcs8: Uint8Array; spki: Uint8Array; jwk: { x: string; y: string; d: string } } {
  const { privateKey: priv, publicKey: pub } = generateKeyPairSync('ec', { namedCurve: NODE_CURVE[curve] });
  return {
    priv,
    pub,
    pkcs8: priv.export({ format: 'der', type: 'pkcs8' }),
    spki: pub.export({ format: 'der', type: 'spki' }),
    jwk: priv.export({ format: 'jwk' }) as { x: string; y: string; d: string },
  };
}

const invalidKey = (code: string) => expect.objectContaining({ name: 'InvalidKeyError', code });

describe('DER reader', () => {
  it('reads short and long lengths and rejects non-minimal, indefinite, truncated and trailing data', () => {
    const long = tlv(TAG.OCTET_STRING, new Uint8Array(200));
    expect(toHex(long.subarray(0, 3))).toBe('0481c8');
    expect(new DerReader(long).read(TAG.OCTET_STRING).length).toBe(200);
    const big = tlv(TAG.OCTET_STRING, new Uint8Array(300));
    expect(toHex(big.subarray(0, 4))).toBe('0482012c');
    expect(new DerReader(big).read(TAG.OCTET_STRING).length).toBe(300);
    for (const bad of ['04810100', '0480', '048200050000000000', '0405000000', '04', '0201']) {
      expect(() => new DerReader(hex(bad)).read(bad.startsWith('02') ? TAG.INTEGER : TAG.OCTET_STRING), bad).toThrow(DerError);
    }
    const r = new DerReader(hex('0400' + '05'));
    r.read(TAG.OCTET_STRING);
    expect(() => r.end()).toThrow(DerError);
  });

  it('INTEGERs must be minimal and non-negative; uintTlv writes them so', () => {
    const int = (h: string) => toHex(new DerReader(hex(h)).uint());
    expect(int('020100')).toBe('00');
    expect(int('02020080')).toBe('80');
    expect(int('02017f')).toBe('7f');
    for (const bad of ['0200', '020180', '0202007f', '02020000', '0203ff0000']) expect(() => int(bad), bad).toThrow(DerError);
    expect(toHex(uintTlv(hex('0000ff')))).toBe('020200ff');
    expect(toHex(uintTlv(hex('0001')))).toBe('020101');
    expect(toHex(uintTlv(hex('0000')))).toBe('020100');
  });

  it('BIT STRINGs must have no unused bits', () => {
    expect(toHex(new DerReader(hex('03020004')).bits())).toBe('04');
    expect(() => new DerReader(hex('03020104')).bits()).toThrow(DerError);
    expect(() => new DerReader(hex('0300')).bits()).toThrow(DerError);
  });
});

describe('SPKI and PKCS#8 against node:crypto', () => {
  for (const curve of NAMES) {
    const c = CURVES[curve];
    it(`${curve}: parse node's exports, re-encode them byte for byte, and node reads ours`, () => {
      for (let i = 0; i < 10; i++) {
        const k = nodePair(curve);
        const spki = parseSpki(k.spki);
        expect(spki.curve).toBe(c);
        const xy = new Uint8Array([...b64u(k.jwk.x), ...b64u(k.jwk.y)]);
        expect(toHex(spki.point)).toBe('04' + toHex(xy));
        expect(toHex(encodeSpki(c, xy))).toBe(toHex(k.spki));

        const p8 = parsePkcs8(k.pkcs8);
        expect(p8.curve).toBe(c);
        expect(toHex(p8.d)).toBe(toHex(b64u(k.jwk.d)));
        expect(toHex(p8.point!)).toBe('04' + toHex(xy));
        const ours = encodePkcs8(c, p8.d, xy);
        expect(toHex(ours)).toBe(toHex(k.pkcs8));
        expect(createPrivateKey({ key: Buffer.from(ours), format: 'der', type: 'pkcs8' }).export({ format: 'jwk' })).toEqual(k.priv.export({ format: 'jwk' }));
        expect(createPublicKey({ key: Buffer.from(encodeSpki(c, xy)), format: 'der', type: 'spki' }).export({ format: 'jwk' })).toEqual(k.pub.export({ format: 'jwk' }));
      }
    });
  }

  it('accepts ECPrivateKey with [0] parameters and without the public key, and pads a short d', () => {
    const c = CURVES['P-256'];
    const d = hex('00'.repeat(3) + 'ab'.repeat(29));
    const inner = tlv(TAG.SEQUENCE, uintTlv(hex('01')), tlv(TAG.OCTET_STRING, d.subarray(3)), tlv(TAG.CTX0, c.oid));
    const der = tlv(TAG.SEQUENCE, uintTlv(hex('00')), hex('301306072a8648ce3d020106082a8648ce3d030107'), tlv(TAG.OCTET_STRING, inner));
    const p8 = parsePkcs8(der);
    expect(toHex(p8.d)).toBe(toHex(d));
    expect(p8.point).toBeUndefined();
    const node = createPrivateKey({ key: Buffer.from(der), format: 'der', type: 'pkcs8' }).export({ format: 'jwk' });
    expect(toHex(b64u(node.d!))).toBe(toHex(d));
  });

  it('refuses malformed, non-canonical, explicit-parameter and unsupported-curve keys with InvalidKeyError', () => {
    const k = nodePair('P-256');
    const spki = toHex(k.spki);
    const pkcs8 = toHex(k.pkcs8);
    const malformedSpki = [
      spki + '00', // trailing byte
      spki.slice(0, -2), // truncated
      '3081' + spki.slice(2), // length in the wrong form
      spki.replace('034200', '034201'), // unused bits in the BIT STRING
      spki.replace('06072a8648ce3d0201', '06072a8648ce3d0202'), // not id-ecPublicKey
      spki.replace('301306072a8648ce3d020106082a8648ce3d030107', '300906072a8648ce3d0201'), // no curve
    ];
    for (const bad of malformedSpki) expect(() => parseSpki(hex(bad)), bad).toThrow(invalidKey('MALFORMED'));
    // A named curve we do not support (secp224r1, 1.3.132.0.33).
    const p224 = toHex(generateKeyPairSync('ec', { namedCurve: 'secp224r1' }).publicKey.export({ format: 'der', type: 'spki' }));
    expect(() => parseSpki(hex(p224))).toThrow(invalidKey('WRONG_CURVE'));
    // Explicit parameters (a SEQUENCE in place of the named-curve OID).
    const point = parseSpki(k.spki).point;
    const ecOid = hex('06072a8648ce3d0201');
    const explicit = tlv(TAG.SEQUENCE, tlv(TAG.SEQUENCE, ecOid, tlv(TAG.SEQUENCE, uintTlv(hex('01')))), tlv(TAG.BIT_STRING, hex('00'), point));
    expect(() => parseSpki(explicit)).toThrow(invalidKey('MALFORMED'));
    expect(toHex(parseSpki(tlv(TAG.SEQUENCE, tlv(TAG.SEQUENCE, ecOid, CURVES['P-256'].oid), tlv(TAG.BIT_STRING, hex('00'), point))).point)).toBe(toHex(point));

    const malformedPkcs8 = [
      pkcs8 + '00',
      pkcs8.replace('020100', '020101'), // PKCS#8 version 1 without the v2 fields
      pkcs8.replace('046d306b020101', '046d306b020102'), // ECPrivateKey version 2
      pkcs8.replace('0420', '0421').replace('046d306b', '046d306c'), // d longer than L
    ];
    for (const bad of malformedPkcs8) expect(() => parsePkcs8(hex(bad)), bad).toThrow(InvalidKeyError);
  });
});

describe('ecKeys: JWK, SEC1 points and helpers against node:crypto', () => {
  for (const curve of NAMES) {
    it(`${curve}: toJwk/fromJwk round trip with node's JWK export, both ways, bytes and KeyObjects`, () => {
      for (let i = 0; i < 10; i++) {
        const k = nodePair(curve);
        const nodeJwk = k.priv.export({ format: 'jwk' });
        expect(ecKeys.toJwk(k.pkcs8)).toEqual(nodeJwk);
        expect(ecKeys.toJwk(k.priv)).toEqual(nodeJwk);
        expect(ecKeys.toJwk(k.spki)).toEqual(k.pub.export({ format: 'jwk' }));
        expect(ecKeys.toJwk(k.pub)).toEqual(k.pub.export({ format: 'jwk' }));
        expect(toHex(ecKeys.fromJwk(nodeJwk as never))).toBe(toHex(k.pkcs8));
        expect(toHex(ecKeys.fromJwk(k.pub.export({ format: 'jwk' }) as never))).toBe(toHex(k.spki));
        // node reads the JWK we write.
        const ours = ecKeys.toJwk(k.pkcs8);
        expect(createPrivateKey({ key: ours as never, format: 'jwk' }).export({ format: 'der', type: 'pkcs8' }).equals(k.pkcs8)).toBe(true);
      }
    });

    it(`${curve}: SEC1 points (compressed too), spki(), pkcs8(), publicKey() and curveOf() agree with node`, () => {
      const c = CURVES[curve];
      for (let i = 0; i < 10; i++) {
        const k = nodePair(curve);
        const raw = k.pub.export({ format: 'jwk' });
        const uncompressed = toHex(Uint8Array.of(4, ...b64u(raw.x!), ...b64u(raw.y!)));
        const compressed = toHex(ECDH.convertKey(hex(uncompressed), NODE_CURVE[curve], undefined, undefined, 'compressed') as Buffer);
        expect(toHex(ecKeys.publicPoint(k.spki))).toBe(uncompressed);
        expect(toHex(ecKeys.publicPoint(k.pkcs8, { compressed: true }))).toBe(compressed);
        expect(toHex(ecKeys.publicPoint(k.pub, { compressed: true }))).toBe(compressed);
        expect(toHex(ecKeys.spki(curve, hex(compressed)))).toBe(toHex(k.spki));
        expect(toHex(ecKeys.spki(curve, hex(uncompressed)))).toBe(toHex(k.spki));
        expect(toHex(ecKeys.pkcs8(curve, b64u(k.jwk.d)))).toBe(toHex(k.pkcs8));
        expect(toHex(ecKeys.publicKey(k.pkcs8))).toBe(toHex(k.spki));
        expect(toHex(ecKeys.publicKey(k.priv))).toBe(toHex(k.spki));
        expect(ecKeys.curveOf(k.spki)).toBe(curve);
        expect(ecKeys.curveOf(k.pkcs8)).toBe(curve);
        expect(c.L).toBe(b64u(raw.x!).length);
      }
    });
  }

  it('refuses inconsistent, off-curve, out-of-range and malformed JWKs and keys with the right code', () => {
    const a = nodePair('P-256');
    const b = nodePair('P-256');
    const jwk = a.priv.export({ format: 'jwk' }) as { kty: 'EC'; crv: CurveName; x: string; y: string; d: string };
    expect(() => ecKeys.fromJwk({ ...jwk, d: b.jwk.d })).toThrow(invalidKey('MISMATCH'));
    const y = b64u(jwk.y);
    y[31]! ^= 1;
    expect(() => ecKeys.fromJwk({ ...jwk, y: Buffer.from(y).toString('base64url') })).toThrow(invalidKey('NOT_ON_CURVE'));
    expect(() => ecKeys.fromJwk({ ...jwk, d: Buffer.from(CURVES['P-256'].nBytes).toString('base64url') })).toThrow(invalidKey('OUT_OF_RANGE'));
    expect(() => ecKeys.fromJwk({ ...jwk, d: 'AA'.repeat(21) + 'A' })).toThrow(invalidKey('OUT_OF_RANGE'));
    expect(() => ecKeys.fromJwk({ ...jwk, x: jwk.x + '=' })).toThrow(invalidKey('MALFORMED'));
    expect(() => ecKeys.fromJwk({ ...jwk, x: jwk.x.slice(1) })).toThrow(invalidKey('MALFORMED'));
    expect(() => ecKeys.fromJwk({ ...jwk, x: undefined as unknown as string })).toThrow(invalidKey('MALFORMED'));
    expect(() => ecKeys.fromJwk({ ...jwk, kty: 'RSA' as 'EC' })).toThrow(invalidKey('MALFORMED'));
    expect(() => ecKeys.fromJwk({ ...jwk, crv: 'P-192' as CurveName })).toThrow(invalidKey('WRONG_CURVE'));
    expect(() => ecKeys.fromJwk(null as never)).toThrow(TypeError);
    // A PKCS#8 key whose embedded public key belongs to another private key.
    const swapped = Buffer.from(a.pkcs8);
    const pubA = Buffer.from(ecKeys.publicPoint(a.spki));
    swapped.set(ecKeys.publicPoint(b.spki), swapped.indexOf(pubA));
    expect(() => ecKeys.toJwk(swapped)).toThrow(invalidKey('MISMATCH'));
    expect(() => ecKeys.pkcs8('P-256', new Uint8Array(32))).toThrow(invalidKey('OUT_OF_RANGE'));
    expect(() => ecKeys.pkcs8('P-256', new Uint8Array(31))).toThrow(invalidKey('MALFORMED'));
    expect(() => ecKeys.spki('P-384', ecKeys.publicPoint(a.spki))).toThrow(invalidKey('MALFORMED'));
    expect(() => ecKeys.publicPoint(hex('3000'))).toThrow(InvalidKeyError);
    expect(() => ecKeys.publicPoint('key' as never)).toThrow(TypeError);
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey;
    expect(() => ecKeys.publicPoint(rsa)).toThrow(invalidKey('MALFORMED'));
    expect(() => ecKeys.spki('P-256', hex('02' + 'ff'.repeat(32)))).toThrow(invalidKey('NOT_ON_CURVE'));
  });
});
