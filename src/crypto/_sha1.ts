// SHA-1, FIPS 180-4 §6.1 (functions §4.1.1, constants §4.2.1, initial value §5.3.1, padding §5.1.1).
// Internal: RSA-OAEP with SHA-1 (AWS KMS RSAES_OAEP_SHA_1) needs it for lHash and MGF1, and PKCS#1 v1.5
// verification of legacy SHA-1 signatures. SHA-1 is not collision resistant; nothing here signs with it.
//
// It is TypeScript rather than WASM because OAEP decoding, its only secret-input use, is done in TS
// (see _rsa-pad.ts). CT: 32-bit adds, rotations and boolean functions on int32 values; no branch or
// array index depends on message bytes, only on the (public) message length. Intermediate words and
// the padded copy of the input are zeroed before returning.

const K0 = 0x5a827999;
const K1 = 0x6ed9eba1;
const K2 = 0x8f1bbcdc;
const K3 = 0xca62c1d6;

const rotl = (x: number, n: number): number => (x << n) | (x >>> (32 - n));

/** SHA-1 digest (20 bytes) of msg. */
export function sha1(msg: Uint8Array): Uint8Array {
  // §5.1.1: message, 0x80, zeros, 64-bit big-endian bit length; a multiple of 64 bytes.
  const blocks = Math.ceil((msg.length + 9) / 64);
  const buf = new Uint8Array(blocks * 64);
  buf.set(msg);
  buf[msg.length] = 0x80;
  const dv = new DataView(buf.buffer);
  const bits = msg.length * 8;
  dv.setUint32(buf.length - 8, Math.floor(bits / 2 ** 32));
  dv.setUint32(buf.length - 4, bits >>> 0);

  const w = new Int32Array(80);
  let h0 = 0x67452301, h1 = 0xefcdab89, h2 = 0x98badcfe, h3 = 0x10325476, h4 = 0xc3d2e1f0;
  for (let off = 0; off < buf.length; off += 64) {
    for (let t = 0; t < 16; t++) w[t] = dv.getInt32(off + 4 * t);
    for (let t = 16; t < 80; t++) w[t] = rotl(w[t - 3]! ^ w[t - 8]! ^ w[t - 14]! ^ w[t - 16]!, 1);
    let a = h0, b = h1, c = h2, d = h3, e = h4;
    // §6.1.2 step 3; the round function is chosen by t, which is public.
    for (let t = 0; t < 80; t++) {
      let f: number;
      let k: number;
      if (t < 20) {
        f = d ^ (b & (c ^ d));
        k = K0;
      } else if (t < 40) {
        f = b ^ c ^ d;
        k = K1;
      } else if (t < 60) {
        f = (b & c) | (d & (b | c));
        k = K2;
      } else {
        f = b ^ c ^ d;
        k = K3;
      }
      const tmp = (rotl(a, 5) + f + e + k + w[t]!) | 0;
      e = d;
      d = c;
      c = rotl(b, 30);
      b = a;
      a = tmp;
    }
    h0 = (h0 + a) | 0;
    h1 = (h1 + b) | 0;
    h2 = (h2 + c) | 0;
    h3 = (h3 + d) | 0;
    h4 = (h4 + e) | 0;
  }
  w.fill(0);
  buf.fill(0);
  const out = new Uint8Array(20);
  const ov = new DataView(out.buffer);
  [h0, h1, h2, h3, h4].forEach((h, i) => ov.setInt32(4 * i, h));
  return out;
}
