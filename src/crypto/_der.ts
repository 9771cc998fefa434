// A strict DER reader and a small DER writer (ITU-T X.690 §10), for the EC key formats and ECDSA
// signatures. The reader accepts only the canonical encoding: one-byte tags, definite lengths in the
// fewest bytes, minimal non-negative INTEGERs. Anything else is a DerError, which the callers turn
// into `false` (verify) or a typed key error; BER leniency is how signature malleability creeps in.

export const TAG = {
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  OID: 0x06,
  SEQUENCE: 0x30,
  CTX0: 0xa0,
  CTX1: 0xa1,
} as const;

/** Malformed or non-canonical DER. Internal: the public API reports it as a key or signature error. */
export class DerError extends Error {
  override name = 'DerError';
}

/** Reads consecutive TLVs from a byte string; every read checks it stays inside the input. */
export class DerReader {
  private pos = 0;
  constructor(private readonly buf: Uint8Array) {}

  get done(): boolean {
    return this.pos === this.buf.length;
  }

  /** The next TLV's tag, without consuming it (-1 at the end). */
  peek(): number {
    return this.done ? -1 : this.buf[this.pos]!;
  }

  /** Reads one TLV whose tag must be `tag` and returns its contents (a view, not a copy). */
  read(tag: number): Uint8Array {
    const b = this.buf;
    if (this.pos + 2 > b.length) throw new DerError('truncated');
    if (b[this.pos] !== tag) throw new DerError(`expected tag 0x${tag.toString(16)}, got 0x${b[this.pos]!.toString(16)}`);
    let len = b[this.pos + 1]!;
    let p = this.pos + 2;
    if (len & 0x80) {
      const n = len & 0x7f;
      // X.690 §10.1: definite form, fewest octets; our structures never exceed 64 KiB.
      if (n === 0 || n > 2) throw new DerError('indefinite or oversized length');
      if (p + n > b.length) throw new DerError('truncated length');
      len = 0;
      for (let i = 0; i < n; i++) len = (len << 8) | b[p + i]!;
      if (b[p] === 0 || len < 0x80) throw new DerError('non-minimal length');
      p += n;
    }
    if (p + len > b.length) throw new DerError('truncated contents');
    this.pos = p + len;
    return b.subarray(p, p + len);
  }

  /** Reads a SEQUENCE and returns a reader over its contents. */
  seq(): DerReader {
    return new DerReader(this.read(TAG.SEQUENCE));
  }

  /** Reads a non-negative minimal INTEGER and returns its magnitude without the sign byte. */
  uint(): Uint8Array {
    const v = this.read(TAG.INTEGER);
    if (v.length === 0) throw new DerError('empty INTEGER');
    if (v[0]! & 0x80) throw new DerError('negative INTEGER');
    if (v[0] === 0 && v.length > 1 && !(v[1]! & 0x80)) throw new DerError('non-minimal INTEGER');
    return v[0] === 0 && v.length > 1 ? v.subarray(1) : v;
  }

  /** Reads a BIT STRING of whole bytes (no unused bits) and returns its bytes. */
  bits(): Uint8Array {
    const v = this.read(TAG.BIT_STRING);
    if (v.length === 0 || v[0] !== 0) throw new DerError('BIT STRING with unused bits');
    return v.subarray(1);
  }

  /** Throws unless every byte has been read (no trailing data). */
  end(): void {
    if (!this.done) throw new DerError('trailing bytes');
  }
}

function lengthBytes(len: number): number[] {
  if (len < 0x80) return [len];
  if (len < 0x100) return [0x81, len];
  return [0x82, len >> 8, len & 0xff];
}

/** One TLV with the given contents. */
export function tlv(tag: number, ...parts: Uint8Array[]): Uint8Array {
  const len = parts.reduce((n, p) => n + p.length, 0);
  const head = lengthBytes(len);
  const out = new Uint8Array(1 + head.length + len);
  out[0] = tag;
  out.set(head, 1);
  let p = 1 + head.length;
  for (const part of parts) {
    out.set(part, p);
    p += part.length;
  }
  return out;
}

/** A DER INTEGER holding the unsigned big-endian magnitude x (leading zeros dropped, sign byte added). */
export function uintTlv(x: Uint8Array): Uint8Array {
  let i = 0;
  while (i < x.length - 1 && x[i] === 0) i++;
  const m = x.subarray(i);
  return m.length > 0 && m[0]! & 0x80 ? tlv(TAG.INTEGER, Uint8Array.of(0), m) : tlv(TAG.INTEGER, m.length ? m : Uint8Array.of(0));
}

/** A BIT STRING of whole bytes. */
export function bitsTlv(x: Uint8Array): Uint8Array {
  return tlv(TAG.BIT_STRING, Uint8Array.of(0), x);
}
