import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  AuditChainVerifier,
  auditHeadMac,
  auditRecordBytes,
  chainNext,
  genesisHash,
  makeAuditHeadProof,
  verifyAuditChain,
} from '../../src/store/audit-chain.js';
import type { AuditEntry, AuditRecord } from '../../src/store/types.js';

const KEY = 'audit chain test key';
const hmac = (data: Uint8Array): Uint8Array => new Uint8Array(createHmac('sha256', KEY).update(data).digest());

function entry(n: number, over: Partial<AuditEntry> = {}): AuditEntry {
  return {
    time: 1_764_000_000_000 + n,
    requestId: `req-${n}`,
    principal: 'arn:aws:iam::111122223333:user/alice',
    operation: n % 2 ? 'Encrypt' : 'Decrypt',
    region: 'us-east-1',
    keyId: n % 3 ? `key-${n}` : null,
    encryptionContext: n % 4 ? { purpose: 'test', n: String(n) } : null,
    outcome: n % 5 ? 'Success' : 'AccessDeniedException',
    ...over,
  };
}

function chain(count: number): AuditRecord[] {
  const out: AuditRecord[] = [];
  for (let n = 1; n <= count; n++) out.push(chainNext(hmac, out[out.length - 1], entry(n)));
  return out;
}

/** The encoding built independently of the Writer, field by field with Buffers. */
function referenceBytes(r: AuditEntry & { seq: number }): Buffer {
  const u32 = (n: number) => {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(n);
    return b;
  };
  const str = (s: string) => Buffer.concat([u32(Buffer.byteLength(s)), Buffer.from(s, 'utf8')]);
  const seq = Buffer.alloc(8);
  seq.writeBigUInt64BE(BigInt(r.seq));
  const time = Buffer.alloc(8);
  time.writeDoubleBE(r.time);
  const parts = [str('keyward/audit-record/v1'), seq, time, str(r.requestId), str(r.principal), str(r.operation), str(r.region)];
  parts.push(r.keyId === null ? Buffer.of(0) : Buffer.concat([Buffer.of(1), str(r.keyId)]));
  if (r.encryptionContext === null) parts.push(Buffer.of(0));
  else {
    const pairs = Object.entries(r.encryptionContext).sort((a, b) => Buffer.compare(Buffer.from(a[0]), Buffer.from(b[0])));
    parts.push(Buffer.of(1), u32(pairs.length), ...pairs.flatMap(([k, v]) => [str(k), str(v)]));
  }
  parts.push(str(r.outcome));
  return Buffer.concat(parts);
}

describe('auditRecordBytes', () => {
  it('matches an independent field-by-field encoding', () => {
    for (let n = 1; n <= 20; n++) {
      const r = { ...entry(n, { principal: `prïncipal-€-😀-${n}` }), seq: n * 1_000_003 };
      expect(Buffer.from(auditRecordBytes(r)).equals(referenceBytes(r)), `record ${n}`).toBe(true);
    }
  });

  it('encodes a seq above 2^32 in 8 bytes', () => {
    const r = { ...entry(1), seq: 2 ** 40 + 7 };
    expect(Buffer.from(auditRecordBytes(r)).equals(referenceBytes(r))).toBe(true);
  });

  it('sorts the encryption context by UTF-8 bytes, whatever the insertion order', () => {
    // U+FFFF sorts before U+10000 in UTF-8 (and code point) order but after it in UTF-16 unit order.
    const a = { ...entry(1, { encryptionContext: { '\u{10000}': 'x', '\uffff': 'y', b: '1', a: '2' } }), seq: 1 };
    const b = { ...entry(1, { encryptionContext: { a: '2', '\uffff': 'y', b: '1', '\u{10000}': 'x' } }), seq: 1 };
    expect(auditRecordBytes(a)).toEqual(auditRecordBytes(b));
    expect(Buffer.from(auditRecordBytes(a)).equals(referenceBytes(a))).toBe(true);
  });

  it('keeps field boundaries: moving a character between fields changes the bytes', () => {
    const base = { ...entry(1), seq: 1 };
    const variants: Array<AuditEntry & { seq: number }> = [
      { ...base, requestId: 'ab', principal: 'c' },
      { ...base, requestId: 'a', principal: 'bc' },
      { ...base, keyId: null },
      { ...base, keyId: '' },
      { ...base, encryptionContext: null },
      { ...base, encryptionContext: {} },
      { ...base, encryptionContext: { a: 'bc' } },
      { ...base, encryptionContext: { ab: 'c' } },
      { ...base, encryptionContext: { a: '', b: '' } },
      { ...base, seq: 2 },
      { ...base, time: base.time + 0.5 },
      { ...base, outcome: 'Success ' },
    ];
    const seen = new Set(variants.map((v) => Buffer.from(auditRecordBytes(v)).toString('hex')));
    expect(seen.size).toBe(variants.length);
  });

  it('encodes -0 as 0 (SQLite stores both as 0)', () => {
    expect(auditRecordBytes({ ...entry(1), time: -0, seq: 1 })).toEqual(auditRecordBytes({ ...entry(1), time: 0, seq: 1 }));
  });

  it('refuses what it cannot encode unambiguously, naming the field', () => {
    const base = { ...entry(1), seq: 1 };
    expect(() => auditRecordBytes({ ...base, principal: 'a\ud800b' })).toThrow(/principal contains a lone UTF-16 surrogate/);
    expect(() => auditRecordBytes({ ...base, encryptionContext: { k: '\udc00' } })).toThrow(/encryptionContext\["k"\]/);
    expect(() => auditRecordBytes({ ...base, encryptionContext: { k: 1 as unknown as string } })).toThrow(TypeError);
    expect(() => auditRecordBytes({ ...base, requestId: undefined as unknown as string })).toThrow(/requestId must be a string/);
    expect(() => auditRecordBytes({ ...base, time: Number.NaN })).toThrow(/time must be a finite number/);
    expect(() => auditRecordBytes({ ...base, seq: 0 })).toThrow(/seq must be a positive safe integer/);
    expect(() => auditRecordBytes({ ...base, seq: 1.5 })).toThrow(RangeError);
  });
});

describe('chain', () => {
  it('hash = HMAC(prevHash ‖ bytes), from 32 zero bytes, checked against node:crypto', () => {
    const records = chain(3);
    let prev = Buffer.alloc(32);
    for (const r of records) {
      const expected = createHmac('sha256', KEY).update(prev).update(referenceBytes(r)).digest();
      expect(Buffer.from(r.prevHash).equals(prev)).toBe(true);
      expect(Buffer.from(r.hash).equals(expected)).toBe(true);
      prev = expected;
    }
    expect(records.map((r) => r.seq)).toEqual([1, 2, 3]);
    expect(genesisHash()).toEqual(new Uint8Array(32));
  });

  it('head MAC = HMAC("keyward/audit-head" ‖ u64 seq ‖ hash)', () => {
    const hash = new Uint8Array(32).fill(7);
    const seq = Buffer.alloc(8);
    seq.writeBigUInt64BE(42n);
    const expected = createHmac('sha256', KEY).update('keyward/audit-head').update(seq).update(hash).digest();
    expect(Buffer.from(auditHeadMac(hmac, 42, hash)).equals(expected)).toBe(true);
  });

  it('refuses a MAC that does not return 32 bytes', () => {
    expect(() => chainNext(() => new Uint8Array(16), undefined, entry(1))).toThrow(/MAC must return 32 bytes, got 16/);
  });
});

describe('verifyAuditChain', () => {
  const records = chain(10);
  const head = makeAuditHeadProof(hmac, records[9]!);

  it('accepts an intact chain, with and without its head', () => {
    expect(verifyAuditChain(records, hmac, head)).toEqual({ ok: true, count: 10, headSeq: 10 });
    expect(verifyAuditChain(records, hmac)).toEqual({ ok: true, count: 10, headSeq: 10 });
    expect(verifyAuditChain([], hmac, null)).toEqual({ ok: true, count: 0, headSeq: 0 });
  });

  it('detects every edited field at its seq', () => {
    const edits: Array<Partial<AuditRecord>> = [
      { time: 1 },
      { requestId: 'x' },
      { principal: 'arn:aws:iam::111122223333:user/mallory' },
      { operation: 'Sign' },
      { region: 'eu-west-1' },
      { keyId: 'other' },
      { encryptionContext: { purpose: 'other' } },
      { outcome: 'Success!' },
    ];
    for (const edit of edits) {
      const tampered = records.map((r) => (r.seq === 6 ? { ...r, ...edit } : r));
      const res = verifyAuditChain(tampered, hmac, head);
      expect(res, JSON.stringify(edit)).toMatchObject({ ok: false, seq: 6 });
      expect(res.ok === false && res.reason).toMatch(/record 6: hash does not match/);
    }
  });

  it('detects an edited record whose hash was recomputed without the key at the next record', () => {
    const forged = { ...records[4]!, principal: 'mallory' };
    forged.hash = new Uint8Array(createHmac('sha256', 'guessed key').update(forged.prevHash).update(auditRecordBytes(forged)).digest());
    const res = verifyAuditChain(records.map((r) => (r.seq === 5 ? forged : r)), hmac, head);
    expect(res).toMatchObject({ ok: false, seq: 5 });
  });

  it('detects a removed record at the missing seq', () => {
    const res = verifyAuditChain(records.filter((r) => r.seq !== 4), hmac, head);
    expect(res).toMatchObject({ ok: false, seq: 4, reason: 'record 4 missing: the next record has seq 5' });
    expect(verifyAuditChain(records.slice(1), hmac, head)).toMatchObject({ ok: false, seq: 1 });
  });

  it('detects a removed record renumbered to close the gap', () => {
    const renumbered = [...records.slice(0, 3), ...records.slice(4).map((r) => ({ ...r, seq: r.seq - 1 }))];
    expect(verifyAuditChain(renumbered, hmac)).toMatchObject({ ok: false, seq: 4 });
  });

  it('detects reordered records', () => {
    const swapped = [...records];
    [swapped[6], swapped[7]] = [swapped[7]!, swapped[6]!];
    expect(verifyAuditChain(swapped, hmac, head)).toMatchObject({ ok: false, seq: 7, reason: expect.stringMatching(/missing/) });
    // Contents swapped but seq numbers kept in place, as an UPDATE of two rows would do.
    const contentSwap = records.map((r) =>
      r.seq === 7 ? { ...records[7]!, seq: 7 } : r.seq === 8 ? { ...records[6]!, seq: 8 } : r,
    );
    expect(verifyAuditChain(contentSwap, hmac, head)).toMatchObject({ ok: false, seq: 7, reason: expect.stringMatching(/prevHash/) });
  });

  it('detects a truncated tail through the head, and only through the head', () => {
    const cut = records.slice(0, 7);
    expect(verifyAuditChain(cut, hmac, head)).toMatchObject({ ok: false, seq: 8, reason: expect.stringMatching(/truncated/) });
    expect(verifyAuditChain(cut, hmac)).toEqual({ ok: true, count: 7, headSeq: 7 });
    expect(verifyAuditChain(records, hmac, null)).toMatchObject({ ok: false, seq: 10, reason: expect.stringMatching(/no head proof/) });
  });

  it('detects a forged or stale head', () => {
    const forged = { ...makeAuditHeadProof(hmac, records[6]!), seq: 10 };
    expect(verifyAuditChain(records, hmac, forged)).toMatchObject({ ok: false, seq: 10, reason: expect.stringMatching(/MAC is invalid/) });
    const stale = makeAuditHeadProof(hmac, records[6]!);
    expect(verifyAuditChain(records, hmac, stale)).toMatchObject({ ok: false, seq: 8, reason: expect.stringMatching(/beyond the head/) });
    const otherHash = { ...head, hash: records[8]!.hash };
    otherHash.headMac = auditHeadMac(hmac, 10, otherHash.hash);
    expect(verifyAuditChain(records, hmac, otherHash)).toMatchObject({ ok: false, seq: 10, reason: expect.stringMatching(/differs from the head/) });
  });

  it('fails on the first record under another MAC key', () => {
    const other = (d: Uint8Array) => new Uint8Array(createHmac('sha256', 'other').update(d).digest());
    expect(verifyAuditChain(records, other, head)).toMatchObject({ ok: false, seq: 1 });
  });

  it('verifies incrementally, page by page, with the same answer', () => {
    const v = new AuditChainVerifier(hmac);
    for (let i = 0; i < records.length; i += 3) for (const r of records.slice(i, i + 3)) expect(v.push(r)).toBeUndefined();
    expect(v.finish(head)).toEqual({ ok: true, count: 10, headSeq: 10 });
    const bad = new AuditChainVerifier(hmac);
    bad.push(records[0]!);
    expect(bad.push(records[2]!)).toMatchObject({ ok: false, seq: 2 });
    expect(bad.push(records[1]!)).toMatchObject({ ok: false, seq: 2 });
    expect(bad.finish(head)).toMatchObject({ ok: false, seq: 2 });
  });
});
