// ECDSA (src/crypto/ecdsa.ts over the WASM EC core): RFC 6979 nonces and signatures (A.2.5–A.2.7),
// Wycheproof, node:crypto (OpenSSL) and @noble/curves as oracles both ways on all four curves,
// tampering, strict DER, low-S, argument checks.
import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, sign as nodeSign, verify as nodeVerify, type KeyObject } from 'node:crypto';
import { ecdsa as nobleEcdsa } from '@noble/curves/abstract/weierstrass.js';
import { p256, p384, p521 } from '@noble/curves/nist.js';
import { sha256 as nobleSha256, sha384 as nobleSha384, sha512 as nobleSha512 } from '@noble/hashes/sha2.js';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { CURVES, type CurveName } from '../../src/crypto/_ec-keys.js';
import { bits2int, rfc6979Nonces, scalarInRange } from '../../src/crypto/_rfc6979.js';
import { mem, region } from '../../src/crypto/_wasm.js';
import { ecdsa, ecKeys, InvalidKeyError, sha256, sha384, sha512, type HashName } from '../../src/crypto/index.js';
import { hex, loadWycheproof, toHex, type WycheproofCase } from '../vectors/wycheproof.js';

/** RFC 6979 A.2.5 (P-256), A.2.6 (P-384), A.2.7 (P-521): key x, public U, and per message and hash k, r, s. */
const RFC6979: { curve: CurveName; x: string; ux: string; uy: string; cases: [string, HashName, string, string, string][] }[] = [
  {
    curve: 'P-256',
    x: 'c9afa9d845ba75166b5c215767b1d6934e50c3db36e89b127b8a622b120f6721',
    ux: '60fed4ba255a9d31c961eb74c6356d68c049b8923b61fa6ce669622e60f29fb6',
    uy: '7903fe1008b8bc99a41ae9e95628bc64f2f1b20c2d7e9f5177a3c294d4462299',
    cases: [
      ['sample', 'SHA-256', 'a6e3c57dd01abe90086538398355dd4c3b17aa873382b0f24d6129493d8aad60', 'efd48b2aacb6a8fd1140dd9cd45e81d69d2c877b56aaf991c34d0ea84eaf3716', 'f7cb1c942d657c41d436c7a1b6e29f65f3e900dbb9aff4064dc4ab2f843acda8'],
      ['sample', 'SHA-384', '09f634b188cefd98e7ec88b1aa9852d734d0bc272f7d2a47decc6ebeb375aad4', '0eafea039b20e9b42309fb1d89e213057cbf973dc0cfc8f129edddc800ef7719', '4861f0491e6998b9455193e34e7b0d284ddd7149a74b95b9261f13abde940954'],
      ['sample', 'SHA-512', '5fa81c63109badb88c1f367b47da606da28cad69aa22c4fe6ad7df73a7173aa5', '8496a60b5e9b47c825488827e0495b0e3fa109ec4568fd3f8d1097678eb97f00', '2362ab1adbe2b8adf9cb9edab740ea6049c028114f2460f96554f61fae3302fe'],
      ['test', 'SHA-256', 'd16b6ae827f17175e040871a1c7ec3500192c4c92677336ec2537acaee0008e0', 'f1abb023518351cd71d881567b1ea663ed3efcf6c5132b354f28d3b0b7d38367', '019f4113742a2b14bd25926b49c649155f267e60d3814b4c0cc84250e46f0083'],
      ['test', 'SHA-384', '16aeffa357260b04b1dd199693960740066c1a8f3e8edd79070aa914d361b3b8', '83910e8b48bb0c74244ebdf7f07a1c5413d61472bd941ef3920e623fbccebeb6', '8ddbec54cf8cd5874883841d712142a56a8d0f218f5003cb0296b6b509619f2c'],
      ['test', 'SHA-512', '6915d11632aca3c40d5d51c08daf9c555933819548784480e93499000d9f0b7f', '461d93f31b6540894788fd206c07cfa0cc35f46fa3c91816fff1040ad1581a04', '39af9f15de0db8d97e72719c74820d304ce5226e32dedae67519e840d1194e55'],
    ],
  },
  {
    curve: 'P-384',
    x: '6b9d3dad2e1b8c1c05b19875b6659f4de23c3b667bf297ba9aa47740787137d896d5724e4c70a825f872c9ea60d2edf5',
    ux: 'ec3a4e415b4e19a4568618029f427fa5da9a8bc4ae92e02e06aae5286b300c64def8f0ea9055866064a254515480bc13',
    uy: '8015d9b72d7d57244ea8ef9ac0c621896708a59367f9dfb9f54ca84b3f1c9db1288b231c3ae0d4fe7344fd2533264720',
    cases: [
      ['sample', 'SHA-256', '180ae9f9aec5438a44bc159a1fcb277c7be54fa20e7cf404b490650a8acc414e375572342863c899f9f2edf9747a9b60', '21b13d1e013c7fa1392d03c5f99af8b30c570c6f98d4ea8e354b63a21d3daa33bde1e888e63355d92fa2b3c36d8fb2cd', 'f3aa443fb107745bf4bd77cb3891674632068a10ca67e3d45db2266fa7d1feebefdc63eccd1ac42ec0cb8668a4fa0ab0'],
      ['sample', 'SHA-384', '94ed910d1a099dad3254e9242ae85abde4ba15168eaf0ca87a555fd56d10fbca2907e3e83ba95368623b8c4686915cf9', '94edbb92a5ecb8aad4736e56c691916b3f88140666ce9fa73d64c4ea95ad133c81a648152e44acf96e36dd1e80fabe46', '99ef4aeb15f178cea1fe40db2603138f130e740a19624526203b6351d0a3a94fa329c145786e679e7b82c71a38628ac8'],
      ['sample', 'SHA-512', '92fc3c7183a883e24216d1141f1a8976c5b0dd797dfa597e3d7b32198bd35331a4e966532593a52980d0e3aaa5e10ec3', 'ed0959d5880ab2d869ae7f6c2915c6d60f96507f9cb3e047c0046861da4a799cfe30f35cc900056d7c99cd7882433709', '512c8cceee3890a84058ce1e22dbc2198f42323ce8aca9135329f03c068e5112dc7cc3ef3446defceb01a45c2667fdd5'],
      ['test', 'SHA-256', '0cfac37587532347dc3389fdc98286bba8c73807285b184c83e62e26c401c0faa48dd070ba79921a3457abff2d630ad7', '6d6defac9ab64dabafe36c6bf510352a4cc27001263638e5b16d9bb51d451559f918eedaf2293be5b475cc8f0188636b', '2d46f3becbcc523d5f1a1256bf0c9b024d879ba9e838144c8ba6baeb4b53b47d51ab373f9845c0514eefb14024787265'],
      ['test', 'SHA-384', '015ee46a5bf88773ed9123a5ab0807962d193719503c527b031b4c2d225092ada71f4a459bc0da98adb95837db8312ea', '8203b63d3c853e8d77227fb377bcf7b7b772e97892a80f36ab775d509d7a5feb0542a7f0812998da8f1dd3ca3cf023db', 'ddd0760448d42d8a43af45af836fce4de8be06b485e9b61b827c2f13173923e06a739f040649a667bf3b828246baa5a5'],
      ['test', 'SHA-512', '3780c4f67cb15518b6acae34c9f83568d2e12e47deab6c50a4e4ee5319d1e8ce0e2cc8a136036dc4b9c00e6888f66b6c', 'a0d5d090c9980faf3c2ce57b7ae951d31977dd11c775d314af55f76c676447d06fb6495cd21b4b6e340fc236584fb277', '976984e59b4c77b0e8e4460dca3d9f20e07b9bb1f63beefaf576f6b2e8b224634a2092cd3792e0159ad9cee37659c736'],
    ],
  },
  {
    curve: 'P-521',
    x: '0fad06daa62ba3b25d2fb40133da757205de67f5bb0018fee8c86e1b68c7e75caa896eb32f1f47c70855836a6d16fcc1466f6d8fbec67db89ec0c08b0e996b83538',
    ux: '1894550d0785932e00eaa23b694f213f8c3121f86dc97a04e5a7167db4e5bcd371123d46e45db6b5d5370a7f20fb633155d38ffa16d2bd761dcac474b9a2f5023a4',
    uy: '0493101c962cd4d2fddf782285e64584139c2f91b47f87ff82354d6630f746a28a0db25741b5b34a828008b22acc23f924faafbd4d33f81ea66956dfeaa2bfdfcf5',
    cases: [
      ['sample', 'SHA-256', '0edf38afcaaecab4383358b34d67c9f2216c8382aaea44a3dad5fdc9c32575761793fef24eb0fc276dfc4f6e3ec476752f043cf01415387470bcbd8678ed2c7e1a0', '1511bb4d675114fe266fc4372b87682baecc01d3cc62cf2303c92b3526012659d16876e25c7c1e57648f23b73564d67f61c6f14d527d54972810421e7d87589e1a7', '04a171143a83163d6df460aaf61522695f207a58b95c0644d87e52aa1a347916e4f7a72930b1bc06dbe22ce3f58264afd23704cbb63b29b931f7de6c9d949a7ecfc'],
      ['sample', 'SHA-384', '1546a108bc23a15d6f21872f7ded661fa8431ddbd922d0dcdb77cc878c8553ffad064c95a920a750ac9137e527390d2d92f153e66196966ea554d9adfcb109c4211', '1ea842a0e17d2de4f92c15315c63ddf72685c18195c2bb95e572b9c5136ca4b4b576ad712a52be9730627d16054ba40cc0b8d3ff035b12ae75168397f5d50c67451', '1f21a3cee066e1961025fb048bd5fe2b7924d0cd797babe0a83b66f1e35eeaf5fde143fa85dc394a7dee766523393784484bdf3e00114a1c857cde1aa203db65d61'],
      ['sample', 'SHA-512', '1dae2ea071f8110dc26882d4d5eae0621a3256fc8847fb9022e2b7d28e6f10198b1574fdd03a9053c08a1854a168aa5a57470ec97dd5ce090124ef52a2f7ecbffd3', '0c328fafcbd79dd77850370c46325d987cb525569fb63c5d3bc53950e6d4c5f174e25a1ee9017b5d450606add152b534931d7d4e8455cc91f9b15bf05ec36e377fa', '0617cce7cf5064806c467f678d3b4080d6f1cc50af26ca209417308281b68af282623eaa63e5b5c0723d8b8c37ff0777b1a20f8ccb1dccc43997f1ee0e44da4a67a'],
      ['test', 'SHA-256', '01de74955efaabc4c4f17f8e84d881d1310b5392d7700275f82f145c61e843841af09035bf7a6210f5a431a6a9e81c9323354a9e69135d44ebd2fcaa7731b909258', '00e871c4a14f993c6c7369501900c4bc1e9c7b0b4ba44e04868b30b41d8071042eb28c4c250411d0ce08cd197e4188ea4876f279f90b3d8d74a3c76e6f1e4656aa8', '0cd52dbaa33b063c3a6cd8058a1fb0a46a4754b034fcc644766ca14da8ca5ca9fde00e88c1ad60ccba759025299079d7a427ec3cc5b619bfbc828e7769bcd694e86'],
      ['test', 'SHA-384', '1f1fc4a349a7da9a9e116bfdd055dc08e78252ff8e23ac276ac88b1770ae0b5dceb1ed14a4916b769a523ce1e90ba22846af11df8b300c38818f713dadd85de0c88', '14bee21a18b6d8b3c93fab08d43e739707953244fdbe924fa926d76669e7ac8c89df62ed8975c2d8397a65a49dcc09f6b0ac62272741924d479354d74ff6075578c', '133330865c067a0eaf72362a65e2d7bc4e461e8c8995c3b6226a21bd1aa78f0ed94fe536a0dca35534f0cd1510c41525d163fe9d74d134881e35141ed5e8e95b979'],
      ['test', 'SHA-512', '16200813020ec986863bedfc1b121f605c1215645018aea1a7b215a564de9eb1b38a67aa1128b80ce391c4fb71187654aaa3431027bfc7f395766ca988c964dc56d', '13e99020abf5cee7525d16b69b229652ab6bdf2affcaef38773b4b7d08725f10cdb93482fdcc54edcee91eca4166b2a7c6265ef0ce2bd7051b7cef945babd47ee6d', '1fbd0013c674aa79cb39849527916ce301c66ea7ce8b80682786ad60f98f7e78a19ca69eff5c57400e3b3a0ad66ce0978214d13baf4e9ac60752f7b155e2de4dce3'],
    ],
  },
];

const DIGEST: Record<HashName, (m: Uint8Array) => Uint8Array> = { 'SHA-256': sha256, 'SHA-384': sha384, 'SHA-512': sha512 };
const utf8 = (s: string) => new TextEncoder().encode(s);
const pad = (h: string, L: number) => h.padStart(2 * L, '0');

describe('RFC 6979 nonces', () => {
  for (const v of RFC6979) {
    const c = CURVES[v.curve];
    for (const [msg, hash, k] of v.cases) {
      it(`${v.curve} ${hash} "${msg}": k as published`, () => {
        const nonces = rfc6979Nonces(hash, c, hex(pad(v.x, c.L)), DIGEST[hash](utf8(msg)));
        expect(toHex(nonces.next().value as Uint8Array)).toBe(pad(k, c.L));
      });
    }
  }

  it('a rejected k is followed by the next DRBG output (step h.3), each in range, all different', () => {
    const c = CURVES['P-256'];
    const seen = new Set<string>();
    let i = 0;
    for (const k of rfc6979Nonces('SHA-256', c, hex(RFC6979[0]!.x), sha256(utf8('sample')))) {
      expect(scalarInRange(k, c.nBytes)).toBe(1);
      seen.add(toHex(k));
      if (++i === 20) break;
    }
    expect(seen.size).toBe(20);
    expect(seen.has(RFC6979[0]!.cases[0]![2])).toBe(true);
  });

  it('hedging (RFC 6979 §3.6) changes k with the extra entropy, and the same entropy gives the same k', () => {
    const c = CURVES['P-384'];
    const x = hex(RFC6979[1]!.x);
    const h1 = sha384(utf8('sample'));
    const first = (extra?: Uint8Array) => toHex(rfc6979Nonces('SHA-384', c, x, h1, extra).next().value as Uint8Array);
    const a = new Uint8Array(32).fill(1);
    const b = new Uint8Array(32).fill(2);
    expect(first(a)).not.toBe(first());
    expect(first(a)).not.toBe(first(b));
    expect(first(a)).toBe(first(new Uint8Array(32).fill(1)));
    expect(first()).toBe(RFC6979[1]!.cases[1]![2]);
  });

  it('k is zeroed once the caller stops iterating', () => {
    const c = CURVES['P-256'];
    const nonces = rfc6979Nonces('SHA-256', c, hex(RFC6979[0]!.x), sha256(utf8('sample')), new Uint8Array(32));
    const k = nonces.next().value as Uint8Array;
    expect(k.some((b) => b !== 0)).toBe(true);
    nonces.return();
    expect(k.every((b) => b === 0)).toBe(true);
  });

  it('a large k is rejected at n and accepted at n - 1; zero is rejected', () => {
    for (const c of Object.values(CURVES)) {
      const n = c.nBytes;
      const nMinus1 = n.slice();
      nMinus1[c.L - 1]! -= 1;
      expect(scalarInRange(n, n)).toBe(0);
      expect(scalarInRange(nMinus1, n)).toBe(1);
      expect(scalarInRange(new Uint8Array(c.L), n)).toBe(0);
      expect(scalarInRange(new Uint8Array(c.L).fill(0xff), n)).toBe(0);
      const one = new Uint8Array(c.L);
      one[c.L - 1] = 1;
      expect(scalarInRange(one, n)).toBe(1);
    }
  });

  it('bits2int keeps the leftmost qlen bits (P-521: shifts a 66-byte string right by 7)', () => {
    const t = new Uint8Array(80).map((_, i) => (i * 37 + 11) & 0xff);
    const want = BigInt(`0x${toHex(t)}`) >> BigInt(80 * 8 - 521);
    expect(toHex(bits2int(t, 66, 521))).toBe(want.toString(16).padStart(132, '0'));
    expect(toHex(bits2int(t, 32, 256))).toBe(toHex(t.subarray(0, 32)));
    // A hash shorter than qlen is taken whole (SHA-256 on P-384).
    expect(toHex(bits2int(t.subarray(0, 32), 48, 384))).toBe('00'.repeat(16) + toHex(t.subarray(0, 32)));
  });
});

const HASHES: HashName[] = ['SHA-256', 'SHA-384', 'SHA-512'];
const NAMES = Object.keys(CURVES) as CurveName[];
const NODE_CURVE: Record<CurveName, string> = { 'P-256': 'prime256v1', 'P-384': 'secp384r1', 'P-521': 'secp521r1', secp256k1: 'secp256k1' };
const NODE_HASH: Record<HashName, string> = { 'SHA-256': 'sha256', 'SHA-384': 'sha384', 'SHA-512': 'sha512' };
// noble's HMAC-DRBG hashes with the hash its curve object was built with, so there is one per pair.
const NOBLE_HASH = { 'SHA-256': nobleSha256, 'SHA-384': nobleSha384, 'SHA-512': nobleSha512 } as const;
const NOBLE_POINT = { 'P-256': p256.Point, 'P-384': p384.Point, 'P-521': p521.Point, secp256k1: secp256k1.Point } as const;
const noble = (curve: CurveName, hash: HashName) => nobleEcdsa(NOBLE_POINT[curve], NOBLE_HASH[hash]);
const pkcs8Of = (k: KeyObject) => k.export({ format: 'der', type: 'pkcs8' });
const spkiOf = (k: KeyObject) => k.export({ format: 'der', type: 'spki' });
const nodeKeys = (curve: CurveName) => generateKeyPairSync('ec', { namedCurve: NODE_CURVE[curve] });
const fromPkcs8 = (b: Uint8Array) => createPrivateKey({ key: Buffer.from(b), format: 'der', type: 'pkcs8' });
const fromSpki = (b: Uint8Array) => createPublicKey({ key: Buffer.from(b), format: 'der', type: 'spki' });
/** The scalar d of a PKCS#8 key, via node's JWK export. */
const scalarOf = (pkcs8: Uint8Array) => Uint8Array.from(Buffer.from(fromPkcs8(pkcs8).export({ format: 'jwk' }).d!, 'base64url'));

afterEach(() => {
  vi.restoreAllMocks();
});

describe('RFC 6979 signatures (deterministic mode)', () => {
  for (const v of RFC6979) {
    const c = CURVES[v.curve];
    const privateKey = ecKeys.pkcs8(v.curve, hex(pad(v.x, c.L)));
    it(`${v.curve}: the key's public point is U`, () => {
      expect(toHex(ecKeys.publicPoint(privateKey))).toBe(`04${pad(v.ux, c.L)}${pad(v.uy, c.L)}`);
    });
    for (const [msg, hash, , r, s] of v.cases) {
      it(`${v.curve} ${hash} "${msg}": r, s as published, and they verify`, () => {
        const sig = ecdsa.sign(v.curve, hash, privateKey, utf8(msg), { format: 'p1363', deterministic: true });
        expect(toHex(sig)).toBe(pad(r, c.L) + pad(s, c.L));
        const u = hex(`04${pad(v.ux, c.L)}${pad(v.uy, c.L)}`);
        expect(ecdsa.verify(v.curve, hash, u, utf8(msg), sig, { format: 'p1363' })).toBe(true);
        expect(ecdsa.verify(v.curve, hash, u, utf8(msg === 'test' ? 'sample' : 'test'), sig, { format: 'p1363' })).toBe(false);
        const der = ecdsa.sign(v.curve, hash, privateKey, utf8(msg), { format: 'der', deterministic: true });
        expect(nodeVerify(NODE_HASH[hash], utf8(msg), fromPkcs8(privateKey), der)).toBe(true);
      });
    }
  }
});

describe('@noble/curves as oracle of the nonce (deterministic and hedged)', () => {
  for (const curve of NAMES) {
    it(`${curve}: same r‖s as noble for every hash, deterministic and with the same extra entropy`, () => {
      for (let i = 0; i < 8; i++) {
        const { privateKey } = ecdsa.generateKeyPair(curve);
        const d = scalarOf(privateKey);
        const msg = randomBytes(i * 7);
        for (const hash of HASHES) {
          const e = DIGEST[hash](msg);
          const det = ecdsa.sign(curve, hash, privateKey, msg, { format: 'p1363', deterministic: true });
          expect(toHex(det)).toBe(toHex(noble(curve, hash).sign(e, d, { prehash: false, lowS: false })));
          const extra = randomBytes(32);
          vi.spyOn(globalThis.crypto, 'getRandomValues').mockImplementationOnce(<T extends ArrayBufferView | null>(a: T): T => {
            (a as unknown as Uint8Array).set(extra);
            return a;
          });
          const hedged = ecdsa.sign(curve, hash, privateKey, msg, { format: 'p1363' });
          expect(toHex(hedged)).toBe(toHex(noble(curve, hash).sign(e, d, { prehash: false, lowS: false, extraEntropy: extra })));
          expect(toHex(hedged)).not.toBe(toHex(det));
        }
      }
    });
  }

  it('hedged signatures of one message differ from call to call; deterministic ones do not', () => {
    const { privateKey } = ecdsa.generateKeyPair('P-256');
    const msg = utf8('same message');
    const sigs = new Set(Array.from({ length: 10 }, () => toHex(ecdsa.sign('P-256', 'SHA-256', privateKey, msg, { format: 'p1363' }))));
    expect(sigs.size).toBe(10);
    const det = new Set(Array.from({ length: 3 }, () => toHex(ecdsa.sign('P-256', 'SHA-256', privateKey, msg, { format: 'p1363', deterministic: true }))));
    expect(det.size).toBe(1);
  });
});

interface SigCase extends WycheproofCase {
  msg: string;
  sig: string;
}
interface SigGroup {
  publicKeyDer: string;
  publicKey: { uncompressed: string };
  sha: HashName;
  tests: SigCase[];
}

describe('Wycheproof', () => {
  for (const [file, format] of [
    ['ecdsa_secp256r1_sha256_test.json', 'der'],
    ['ecdsa_secp256r1_sha256_p1363_test.json', 'p1363'],
  ] as const) {
    const data = loadWycheproof<SigGroup>(file);
    let run = 0;
    for (const group of data.testGroups) {
      const spki = hex(group.publicKeyDer);
      const point = hex(group.publicKey.uncompressed);
      for (const tc of group.tests) {
        it(`Wycheproof/${file}/${tc.tcId}`, () => {
          const valid = tc.result === 'valid';
          expect(ecdsa.verify('P-256', group.sha, spki, hex(tc.msg), hex(tc.sig), { format })).toBe(valid);
          expect(ecdsa.verify('P-256', group.sha, point, hex(tc.msg), hex(tc.sig), { format })).toBe(valid);
          run++;
        });
      }
    }
    it(`Wycheproof/${file}: all ${data.numberOfTests} cases ran, none acceptable`, () => {
      expect(run).toBe(data.numberOfTests);
      expect(data.testGroups.flatMap((g) => g.tests).filter((t) => t.result === 'acceptable')).toEqual([]);
    });
  }
});

describe('node:crypto (OpenSSL) as oracle, both ways', () => {
  const PER_HASH = 48;
  for (const curve of NAMES) {
    it(`${curve}: ${PER_HASH * 3 * 2} signatures made here verify in node, and as many made by node verify here`, () => {
      let checked = 0;
      for (let i = 0; i < PER_HASH; i++) {
        // Alternate who made the key pair.
        const ours = i % 2 === 0 ? ecdsa.generateKeyPair(curve) : undefined;
        const theirs = ours ? undefined : nodeKeys(curve);
        const privateKey = ours ? ours.privateKey : pkcs8Of(theirs!.privateKey);
        const publicKey = ours ? ours.publicKey : spkiOf(theirs!.publicKey);
        const nodePriv = fromPkcs8(privateKey);
        const nodePub = fromSpki(publicKey);
        for (const hash of HASHES) {
          const msg = randomBytes((i * 13) % 200);
          for (const format of ['der', 'p1363'] as const) {
            const dsaEncoding = format === 'der' ? 'der' : 'ieee-p1363';
            const sig = ecdsa.sign(curve, hash, privateKey, msg, { format });
            expect(nodeVerify(NODE_HASH[hash], msg, { key: nodePub, dsaEncoding }, sig)).toBe(true);
            expect(ecdsa.verify(curve, hash, publicKey, msg, sig, { format })).toBe(true);
            const theirSig = nodeSign(NODE_HASH[hash], msg, { key: nodePriv, dsaEncoding });
            expect(ecdsa.verify(curve, hash, publicKey, msg, theirSig, { format })).toBe(true);
            expect(ecdsa.verify(curve, hash, nodePub, msg, theirSig, { format })).toBe(true);
            // The other hash never verifies.
            const other = hash === 'SHA-256' ? 'SHA-384' : 'SHA-256';
            expect(ecdsa.verify(curve, other, publicKey, msg, theirSig, { format })).toBe(false);
            checked += 2;
          }
        }
      }
      expect(checked).toBe(PER_HASH * 3 * 2 * 2);
    });
  }

  it('KeyObjects are accepted as private and public keys', () => {
    for (const curve of NAMES) {
      const { privateKey, publicKey } = nodeKeys(curve);
      const msg = utf8('key objects');
      const sig = ecdsa.sign(curve, 'SHA-256', privateKey, msg, { format: 'der' });
      expect(ecdsa.verify(curve, 'SHA-256', publicKey, msg, sig, { format: 'der' })).toBe(true);
      // A private KeyObject verifies with its public half.
      expect(ecdsa.verify(curve, 'SHA-256', privateKey, msg, sig, { format: 'der' })).toBe(true);
      expect(() => ecdsa.sign(curve, 'SHA-256', publicKey, msg, { format: 'der' })).toThrow(InvalidKeyError);
    }
  });
});

describe('key generation', () => {
  for (const curve of NAMES) {
    it(`${curve}: node imports the pair, the halves match, and keys differ`, () => {
      const seen = new Set<string>();
      for (let i = 0; i < 20; i++) {
        const { privateKey, publicKey } = ecdsa.generateKeyPair(curve);
        const priv = fromPkcs8(privateKey);
        expect(priv.asymmetricKeyDetails?.namedCurve).toBe(NODE_CURVE[curve]);
        expect(toHex(spkiOf(createPublicKey(priv)))).toBe(toHex(publicKey));
        seen.add(toHex(privateKey));
      }
      expect(seen.size).toBe(20);
    });
  }

  it('P-521 scalars use the full 521 bits: the top byte takes both values of its one bit', () => {
    const tops = Array.from({ length: 40 }, () => {
      const d = scalarOf(ecdsa.generateKeyPair('P-521').privateKey);
      expect(d.length).toBe(66);
      return d[0]!;
    });
    expect(Math.max(...tops)).toBe(1);
    expect(Math.min(...tops)).toBe(0);
  });
});

describe('low-S', () => {
  it('secp256k1 (and P-256) with lowS: s ≤ n/2 always, node still verifies; without it high s occurs', () => {
    for (const curve of ['secp256k1', 'P-256'] as const) {
      const c = CURVES[curve];
      const { privateKey, publicKey } = ecdsa.generateKeyPair(curve);
      let high = 0;
      for (let i = 0; i < 64; i++) {
        const msg = randomBytes(16);
        const low = ecdsa.sign(curve, 'SHA-256', privateKey, msg, { format: 'p1363', lowS: true });
        expect(BigInt(`0x${toHex(low.subarray(c.L))}`) <= c.n / 2n).toBe(true);
        expect(nodeVerify('sha256', msg, { key: fromSpki(publicKey), dsaEncoding: 'ieee-p1363' }, low)).toBe(true);
        const any = ecdsa.sign(curve, 'SHA-256', privateKey, msg, { format: 'p1363', deterministic: true });
        if (BigInt(`0x${toHex(any.subarray(c.L))}`) > c.n / 2n) high++;
        // Deterministic + lowS is the deterministic signature with s negated when high.
        const detLow = ecdsa.sign(curve, 'SHA-256', privateKey, msg, { format: 'p1363', deterministic: true, lowS: true });
        expect(toHex(detLow.subarray(0, c.L))).toBe(toHex(any.subarray(0, c.L)));
      }
      expect(high).toBeGreaterThan(0);
    }
  });
});

describe('tampering and malformed input', () => {
  for (const curve of NAMES) {
    it(`${curve}: a flipped bit in the message, r, s or the public key is rejected`, () => {
      const c = CURVES[curve];
      const { privateKey } = ecdsa.generateKeyPair(curve);
      const point = ecKeys.publicPoint(privateKey);
      const msg = randomBytes(40);
      const sig = ecdsa.sign(curve, 'SHA-256', privateKey, msg, { format: 'p1363' });
      expect(ecdsa.verify(curve, 'SHA-256', point, msg, sig, { format: 'p1363' })).toBe(true);
      for (let i = 0; i < 48; i++) {
        const m = msg.slice();
        m[i % m.length]! ^= 1 << i % 8;
        expect(ecdsa.verify(curve, 'SHA-256', point, m, sig, { format: 'p1363' })).toBe(false);
        const s = sig.slice();
        const at = Math.floor((i * 2 * c.L) / 48);
        s[at]! ^= 1 << i % 8;
        expect(ecdsa.verify(curve, 'SHA-256', point, msg, s, { format: 'p1363' })).toBe(false);
        const q = point.slice();
        q[1 + Math.floor((i * 2 * c.L) / 48)]! ^= 1 << i % 8;
        expect(ecdsa.verify(curve, 'SHA-256', q, msg, sig, { format: 'p1363' })).toBe(false);
      }
      // Another key, another curve, zero r or s, r‖s ≥ n, infinity and empty points: false, no throw.
      expect(ecdsa.verify(curve, 'SHA-256', ecdsa.generateKeyPair(curve).publicKey, msg, sig, { format: 'p1363' })).toBe(false);
      const otherCurve = curve === 'P-256' ? 'secp256k1' : 'P-256';
      expect(ecdsa.verify(otherCurve, 'SHA-256', ecKeys.publicKey(privateKey), msg, sig.subarray(0, 64), { format: 'p1363' })).toBe(false);
      const zeroR = sig.slice();
      zeroR.fill(0, 0, c.L);
      expect(ecdsa.verify(curve, 'SHA-256', point, msg, zeroR, { format: 'p1363' })).toBe(false);
      const bigS = sig.slice();
      bigS.set(c.nBytes, c.L);
      expect(ecdsa.verify(curve, 'SHA-256', point, msg, bigS, { format: 'p1363' })).toBe(false);
      for (const bad of [new Uint8Array(0), Uint8Array.of(0), Uint8Array.of(4), new Uint8Array(2 * c.L + 1)]) {
        expect(ecdsa.verify(curve, 'SHA-256', bad, msg, sig, { format: 'p1363' })).toBe(false);
      }
    });
  }

  it('an off-curve point, a compressed key and an SPKI of the wrong curve behave', () => {
    const { privateKey, publicKey } = ecdsa.generateKeyPair('P-384');
    const msg = utf8('points');
    const sig = ecdsa.sign('P-384', 'SHA-384', privateKey, msg, { format: 'der' });
    const compressed = ecKeys.publicPoint(publicKey, { compressed: true });
    expect(compressed.length).toBe(49);
    expect(ecdsa.verify('P-384', 'SHA-384', compressed, msg, sig, { format: 'der' })).toBe(true);
    const off = ecKeys.publicPoint(publicKey);
    off[96]! ^= 1;
    expect(ecdsa.verify('P-384', 'SHA-384', off, msg, sig, { format: 'der' })).toBe(false);
    expect(ecdsa.verify('P-256', 'SHA-384', publicKey, msg, sig, { format: 'der' })).toBe(false);
  });

  it('DER signatures are parsed strictly; garbage never throws', () => {
    const { privateKey, publicKey } = ecdsa.generateKeyPair('P-256');
    const msg = utf8('der');
    const der = ecdsa.sign('P-256', 'SHA-256', privateKey, msg, { format: 'der' });
    expect(ecdsa.verify('P-256', 'SHA-256', publicKey, msg, der, { format: 'der' })).toBe(true);
    const h = toHex(der);
    const bad = [
      h + '00', // trailing byte
      '3081' + h.slice(2, 4) + h.slice(4), // long-form length where short fits
      h.slice(0, -2), // truncated
      '31' + h.slice(2), // SET, not SEQUENCE
    ];
    for (const b of bad) expect(ecdsa.verify('P-256', 'SHA-256', publicKey, msg, hex(b), { format: 'der' }), b).toBe(false);
    expect(ecdsa.verify('P-256', 'SHA-256', publicKey, msg, ecdsa.sign('P-256', 'SHA-256', privateKey, msg, { format: 'p1363' }), { format: 'der' })).toBe(false);
    for (let i = 0; i < 200; i++) {
      const junk = randomBytes(i % 90);
      if (i % 3 === 0) junk[0] = 0x30;
      expect(ecdsa.verify('P-256', 'SHA-256', publicKey, msg, junk, { format: 'der' })).toBe(false);
      expect(ecdsa.verify('P-256', 'SHA-256', junk, msg, der, { format: 'der' })).toBe(false);
    }
  });
});

describe('arguments, errors and wiping', () => {
  const { privateKey, publicKey } = ecdsa.generateKeyPair('P-256');
  const msg = utf8('args');
  const sig = ecdsa.sign('P-256', 'SHA-256', privateKey, msg, { format: 'der' });

  it('TypeError for wrong types and unknown names, naming the argument', () => {
    expect(() => ecdsa.sign('P-192' as CurveName, 'SHA-256', privateKey, msg, { format: 'der' })).toThrow(/expected curve 'P-256'.*got P-192/);
    expect(() => ecdsa.sign('P-256', 'SHA-1' as HashName, privateKey, msg, { format: 'der' })).toThrow(TypeError);
    expect(() => ecdsa.sign('P-256', 'SHA-256', privateKey, 'text' as unknown as Uint8Array, { format: 'der' })).toThrow(/msg/);
    expect(() => ecdsa.sign('P-256', 'SHA-256', 'pem' as unknown as Uint8Array, msg, { format: 'der' })).toThrow(/expected privateKey to be a Uint8Array/);
    expect(() => ecdsa.sign('P-256', 'SHA-256', privateKey, msg, {} as never)).toThrow(/options.format/);
    expect(() => ecdsa.verify('P-256', 'SHA-256', publicKey, msg, sig, { format: 'raw' as 'der' })).toThrow(TypeError);
    expect(() => ecdsa.verify('P-256', 'SHA-256', publicKey, msg, [1, 2] as unknown as Uint8Array, { format: 'der' })).toThrow(/sig/);
    expect(() => ecdsa.verify('P-256', 'SHA-256', null as unknown as Uint8Array, msg, sig, { format: 'der' })).toThrow(/publicKey.*null/);
    expect(() => ecdsa.generateKeyPair('Curve25519' as CurveName)).toThrow(TypeError);
  });

  it('InvalidKeyError with a code for unusable private keys', () => {
    expect(() => ecdsa.sign('P-384', 'SHA-256', privateKey, msg, { format: 'der' })).toThrow(expect.objectContaining({ code: 'WRONG_CURVE' }));
    expect(() => ecdsa.sign('P-256', 'SHA-256', publicKey, msg, { format: 'der' })).toThrow(expect.objectContaining({ code: 'MALFORMED' }));
    const c = CURVES['P-256'];
    const nKey = Buffer.from(privateKey);
    const at = nKey.indexOf(Buffer.from(scalarOf(privateKey)));
    nKey.set(c.nBytes, at);
    expect(() => ecdsa.sign('P-256', 'SHA-256', nKey, msg, { format: 'der' })).toThrow(expect.objectContaining({ code: 'OUT_OF_RANGE' }));
    nKey.fill(0, at, at + 32);
    expect(() => ecdsa.sign('P-256', 'SHA-256', nKey, msg, { format: 'der' })).toThrow(expect.objectContaining({ code: 'OUT_OF_RANGE' }));
  });

  it('EC_BUF, OUT and the HMAC context hold no secret after signing (the DRBG output in OUT was k)', () => {
    for (const curve of NAMES) {
      for (const hash of HASHES) {
        const hlen = DIGEST[hash](msg).length;
        ecdsa.sign(curve, hash, ecdsa.generateKeyPair(curve).privateKey, msg, { format: 'der' });
        // OUT past the digest length may hold older (public) hashes.
        for (const [name, len] of [['EC_BUF', 1024], ['OUT', hlen], ['HMAC_CTX', 2 * 200]] as const) {
          const at = region(name);
          expect(mem().subarray(at, at + len).every((b) => b === 0), `${curve} ${hash} ${name}`).toBe(true);
        }
      }
    }
  });
});

describe('prehashed (the message is already the digest)', () => {
  for (const curve of NAMES) {
    it(`${curve}: a signature of the digest verifies in node over the message, and node's verifies as prehashed here`, () => {
      const { privateKey, publicKey } = nodeKeys(curve);
      const pkcs8 = pkcs8Of(privateKey);
      const spki = spkiOf(publicKey);
      for (const hash of HASHES) {
        const msg = randomBytes(77);
        const digest = DIGEST[hash](msg);
        for (const format of ['der', 'p1363'] as const) {
          const dsaEncoding = format === 'der' ? 'der' : 'ieee-p1363';
          const ours = ecdsa.sign(curve, hash, pkcs8, digest, { format, prehashed: true });
          expect(nodeVerify(NODE_HASH[hash], msg, { key: publicKey, dsaEncoding }, ours)).toBe(true);
          expect(ecdsa.verify(curve, hash, spki, msg, ours, { format })).toBe(true);
          const theirs = nodeSign(NODE_HASH[hash], msg, { key: privateKey, dsaEncoding });
          expect(ecdsa.verify(curve, hash, spki, digest, theirs, { format, prehashed: true })).toBe(true);
          // Without the option the digest is hashed again: another message, no match.
          expect(ecdsa.verify(curve, hash, spki, digest, theirs, { format })).toBe(false);
          const other = Uint8Array.from(digest);
          other[0]! ^= 1;
          expect(ecdsa.verify(curve, hash, spki, other, theirs, { format, prehashed: true })).toBe(false);
        }
      }
    });
  }

  it('deterministic prehashed signing equals signing the message (same RFC 6979 nonce)', () => {
    const { privateKey } = ecdsa.generateKeyPair('P-384');
    const msg = utf8('same nonce');
    const a = ecdsa.sign('P-384', 'SHA-384', privateKey, msg, { format: 'p1363', deterministic: true });
    const b = ecdsa.sign('P-384', 'SHA-384', privateKey, sha384(msg), { format: 'p1363', deterministic: true, prehashed: true });
    expect(toHex(b)).toBe(toHex(a));
  });

  it('a digest of the wrong length is a RangeError naming the expected length', () => {
    const { privateKey, publicKey } = ecdsa.generateKeyPair('P-256');
    const sig = ecdsa.sign('P-256', 'SHA-256', privateKey, sha256(utf8('x')), { format: 'der', prehashed: true });
    expect(() => ecdsa.sign('P-256', 'SHA-256', privateKey, new Uint8Array(31), { format: 'der', prehashed: true })).toThrow(
      new RangeError('expected a 32-byte SHA-256 digest as the prehashed msg, got 31 bytes'),
    );
    expect(() => ecdsa.sign('P-256', 'SHA-384', privateKey, sha256(utf8('x')), { format: 'der', prehashed: true })).toThrow(/48-byte SHA-384 digest/);
    expect(() => ecdsa.verify('P-256', 'SHA-256', publicKey, new Uint8Array(64), sig, { format: 'der', prehashed: true })).toThrow(RangeError);
  });
});
