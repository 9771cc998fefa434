// The audit log's hash chain, independent of any database: the canonical bytes of a record, the chain step
// and the verifier that `keyward audit verify` runs over records read from a store.
//
//   hash_n  = mac(hash_{n-1} ‖ auditRecordBytes(record_n)),  hash_0 = 32 zero bytes
//   headMac = mac("keyward/audit-head" ‖ u64(seq) ‖ hash_seq)
//
// The chain detects an edited, removed or reordered record; the head (kept by the store in the same
// transaction as the last append) detects a truncated tail. Neither can detect a rollback of the whole
// store to an older copy: that needs the head kept somewhere the store's writer cannot reach.

import type { AuditEntry, AuditHeadProof, AuditRecord } from './types.js';

/** The chain MAC: HMAC under a key derived from the region key, 32 bytes out. */
export type AuditMac = (data: Uint8Array) => Uint8Array;

export const AUDIT_HASH_BYTES = 32;
const RECORD_DOMAIN = 'keyward/audit-record/v1';
const HEAD_DOMAIN = 'keyward/audit-head';

const utf8 = new TextEncoder();
// A lone surrogate would be written as U+FFFD, so two different strings would share one encoding.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

const EMPTY = new Uint8Array(0);

/** An all-zero 32-byte hash: the prevHash of the first record. */
export function genesisHash(): Uint8Array {
  return new Uint8Array(AUDIT_HASH_BYTES);
}

/** The UTF-8 length of a well-formed string, without encoding it. */
function utf8Length(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      // A surrogate pair is 2 UTF-16 units and 4 UTF-8 bytes.
      n += 2;
      i++;
    } else if (c >= 0x800) n += 2;
    else if (c >= 0x80) n += 1;
  }
  return n;
}

/** Fills one buffer sized up front: a record is encoded with a single allocation. */
class Writer {
  readonly out: Uint8Array;
  private readonly view: DataView;
  private at = 0;

  constructor(size: number) {
    this.out = new Uint8Array(size);
    this.view = new DataView(this.out.buffer);
  }

  u8(v: number): void {
    this.out[this.at++] = v;
  }

  u32(v: number): void {
    this.view.setUint32(this.at, v);
    this.at += 4;
  }

  /** A safe integer as 8 bytes, big-endian. */
  u64(v: number): void {
    this.view.setUint32(this.at, Math.floor(v / 0x1_0000_0000));
    this.view.setUint32(this.at + 4, v >>> 0);
    this.at += 8;
  }

  f64(v: number): void {
    this.view.setFloat64(this.at, v);
    this.at += 8;
  }

  bytes(b: Uint8Array): void {
    this.out.set(b, this.at);
    this.at += b.length;
  }

  /** u32 length, then the UTF-8 bytes; `len` is utf8Length(s). */
  str(s: string, len: number): void {
    this.u32(len);
    utf8.encodeInto(s, this.out.subarray(this.at, this.at + len));
    this.at += len;
  }

  finish(): Uint8Array {
    if (this.at !== this.out.length) throw new Error(`audit encoding wrote ${this.at} of ${this.out.length} bytes`);
    return this.out;
  }
}

function checkString(value: unknown, field: string): string {
  if (typeof value !== 'string') throw new TypeError(`audit ${field} must be a string, got ${typeof value}`);
  if (LONE_SURROGATE.test(value)) throw new RangeError(`audit ${field} contains a lone UTF-16 surrogate`);
  return value;
}

function checkSeq(seq: unknown, field = 'seq'): number {
  if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 1) {
    throw new RangeError(`audit ${field} must be a positive safe integer, got ${String(seq)}`);
  }
  return seq;
}

/** Checks what the canonical encoding needs of an entry; throws TypeError/RangeError naming the field. */
export function validateAuditEntry(entry: AuditEntry): void {
  if (typeof entry !== 'object' || entry === null) throw new TypeError('audit entry must be an object');
  if (typeof entry.time !== 'number' || !Number.isFinite(entry.time)) {
    throw new RangeError(`audit time must be a finite number, got ${String(entry.time)}`);
  }
  checkString(entry.requestId, 'requestId');
  checkString(entry.principal, 'principal');
  checkString(entry.operation, 'operation');
  checkString(entry.region, 'region');
  if (entry.keyId !== null) checkString(entry.keyId, 'keyId');
  const ec = entry.encryptionContext;
  if (ec !== null) {
    if (typeof ec !== 'object' || Array.isArray(ec)) throw new TypeError('audit encryptionContext must be an object or null');
    for (const k of Object.keys(ec)) {
      checkString(k, 'encryptionContext key');
      if (typeof ec[k] !== 'string' || LONE_SURROGATE.test(ec[k])) checkString(ec[k], `encryptionContext[${JSON.stringify(k)}]`);
    }
  }
  checkString(entry.outcome, 'outcome');
}

/** Code point order, which is the order of the strings' UTF-8 bytes. */
function compareCodePoints(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const x = a.codePointAt(i)!;
    const y = b.codePointAt(j)!;
    if (x !== y) return x - y;
    i += x > 0xffff ? 2 : 1;
    j += y > 0xffff ? 2 : 1;
  }
  return a.length - i - (b.length - j);
}

const DOMAIN_LEN = utf8Length(RECORD_DOMAIN);

/**
 * The canonical encoding of a record (without its hashes): a domain tag, then seq (u64), time (f64), and
 * every string as u32 length ‖ UTF-8; keyId and encryptionContext carry a presence byte; the context is a
 * u32 count of pairs sorted by the UTF-8 bytes of the key. Every field is length-delimited, so two
 * different records never share an encoding.
 */
export function auditRecordBytes(record: AuditEntry & { seq: number }): Uint8Array {
  validateAuditEntry(record);
  checkSeq(record.seq);
  const strings = [record.requestId, record.principal, record.operation, record.region];
  const lengths = strings.map(utf8Length);
  const keyIdLen = record.keyId === null ? 0 : utf8Length(record.keyId);
  const pairs = record.encryptionContext === null ? null : Object.entries(record.encryptionContext).sort((x, y) => compareCodePoints(x[0], y[0]));
  const pairLengths = pairs === null ? [] : pairs.map(([k, v]) => [utf8Length(k), utf8Length(v)] as const);
  const outcomeLen = utf8Length(record.outcome);

  let size = 4 + DOMAIN_LEN + 8 + 8 + 1 + 1 + 4 + outcomeLen;
  for (const n of lengths) size += 4 + n;
  if (record.keyId !== null) size += 4 + keyIdLen;
  if (pairs !== null) size += 4;
  for (const [k, v] of pairLengths) size += 8 + k + v;

  const w = new Writer(size);
  w.str(RECORD_DOMAIN, DOMAIN_LEN);
  w.u64(record.seq);
  // -0 and 0 are one time; SQLite stores both as 0.
  w.f64(record.time + 0);
  strings.forEach((s, i) => w.str(s, lengths[i]!));
  if (record.keyId === null) w.u8(0);
  else {
    w.u8(1);
    w.str(record.keyId, keyIdLen);
  }
  if (pairs === null) w.u8(0);
  else {
    w.u8(1);
    w.u32(pairs.length);
    pairs.forEach(([k, v], i) => {
      w.str(k, pairLengths[i]![0]);
      w.str(v, pairLengths[i]![1]);
    });
  }
  w.str(record.outcome, outcomeLen);
  return w.finish();
}

function callMac(mac: AuditMac, data: Uint8Array): Uint8Array {
  const out = mac(data);
  if (!(out instanceof Uint8Array) || out.length !== AUDIT_HASH_BYTES) {
    throw new RangeError(`audit MAC must return ${AUDIT_HASH_BYTES} bytes, got ${out instanceof Uint8Array ? out.length : typeof out}`);
  }
  return out;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

/** hash = mac(prevHash ‖ auditRecordBytes(record)). */
export function chainHash(mac: AuditMac, prevHash: Uint8Array, record: AuditEntry & { seq: number }): Uint8Array {
  if (prevHash.length !== AUDIT_HASH_BYTES) throw new RangeError(`prevHash must be ${AUDIT_HASH_BYTES} bytes, got ${prevHash.length}`);
  return callMac(mac, concat(prevHash, auditRecordBytes(record)));
}

/** Appends an entry after the record `prev` (undefined for the first record): the next chained record. */
export function chainNext(mac: AuditMac, prev: { seq: number; hash: Uint8Array } | undefined, entry: AuditEntry): AuditRecord {
  // Built field by field: the record holds exactly what the chain covers, nothing else the caller attached.
  const record: AuditRecord = {
    seq: prev === undefined ? 1 : prev.seq + 1,
    time: entry.time,
    requestId: entry.requestId,
    principal: entry.principal,
    operation: entry.operation,
    region: entry.region,
    keyId: entry.keyId,
    encryptionContext: entry.encryptionContext,
    outcome: entry.outcome,
    prevHash: prev === undefined ? genesisHash() : prev.hash,
    hash: EMPTY,
  };
  record.hash = chainHash(mac, record.prevHash, record);
  return record;
}

/** headMac = mac("keyward/audit-head" ‖ u64(seq) ‖ hash). */
export function auditHeadMac(mac: AuditMac, seq: number, hash: Uint8Array): Uint8Array {
  if (hash.length !== AUDIT_HASH_BYTES) throw new RangeError(`head hash must be ${AUDIT_HASH_BYTES} bytes, got ${hash.length}`);
  checkSeq(seq, 'head seq');
  const domain = utf8.encode(HEAD_DOMAIN);
  const w = new Writer(domain.length + 8 + AUDIT_HASH_BYTES);
  w.bytes(domain);
  w.u64(seq);
  w.bytes(hash);
  return callMac(mac, w.finish());
}

/** The head proof for the record `last`. */
export function makeAuditHeadProof(mac: AuditMac, last: { seq: number; hash: Uint8Array }): AuditHeadProof {
  return { seq: last.seq, hash: last.hash, headMac: auditHeadMac(mac, last.seq, last.hash) };
}

/** Equality that does not stop at the first differing byte. */
function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i]! ^ b[i]!;
  return d === 0;
}

export type AuditVerifyResult =
  | { ok: true; count: number; headSeq: number }
  | { ok: false; seq: number; reason: string };

/**
 * Verifies a chain fed one record at a time, in seq order from seq 1, so a caller can page through a
 * large log without holding it. `push` returns the first failure (and keeps returning it); `finish`
 * checks the tail against the head proof.
 */
export class AuditChainVerifier {
  private prevSeq = 0;
  private prevHash = genesisHash();
  private count = 0;
  private failure: { ok: false; seq: number; reason: string } | undefined;

  constructor(private readonly mac: AuditMac) {}

  push(record: AuditRecord): { ok: false; seq: number; reason: string } | undefined {
    if (this.failure) return this.failure;
    const expected = this.prevSeq + 1;
    if (record.seq !== expected) {
      const why = record.seq > expected ? `missing: the next record has seq ${record.seq}` : `out of order: seq ${record.seq} follows seq ${this.prevSeq}`;
      return this.fail(expected, `record ${expected} ${why}`);
    }
    if (!(record.prevHash instanceof Uint8Array) || !equalBytes(record.prevHash, this.prevHash)) {
      return this.fail(expected, `record ${expected}: prevHash does not match the hash of record ${this.prevSeq}`);
    }
    let hash: Uint8Array;
    try {
      hash = chainHash(this.mac, this.prevHash, record);
    } catch (err) {
      return this.fail(expected, `record ${expected} cannot be encoded: ${(err as Error).message}`);
    }
    if (!(record.hash instanceof Uint8Array) || !equalBytes(hash, record.hash)) {
      return this.fail(expected, `record ${expected}: hash does not match its contents (the record was altered)`);
    }
    this.prevSeq = expected;
    this.prevHash = hash;
    this.count++;
    return undefined;
  }

  /**
   * `head`: the store's head proof, checked against the last record (a truncated tail fails here);
   * `null` when the store has none, which only an empty log may have; undefined skips the tail check.
   */
  finish(head?: AuditHeadProof | null): AuditVerifyResult {
    if (this.failure) return this.failure;
    if (head === null) {
      if (this.count > 0) return this.fail(this.prevSeq, `the log has ${this.count} records but no head proof`);
    } else if (head !== undefined) {
      let expectedMac: Uint8Array;
      try {
        expectedMac = auditHeadMac(this.mac, head.seq, head.hash);
      } catch (err) {
        return this.fail(this.prevSeq + 1, `head proof is malformed: ${(err as Error).message}`);
      }
      if (!equalBytes(expectedMac, head.headMac)) return this.fail(head.seq, `head proof MAC is invalid for seq ${head.seq}`);
      if (head.seq > this.prevSeq) {
        return this.fail(this.prevSeq + 1, `log truncated: the head says seq ${head.seq}, the last record is seq ${this.prevSeq}`);
      }
      if (head.seq < this.prevSeq) {
        return this.fail(head.seq + 1, `record ${head.seq + 1} lies beyond the head (seq ${head.seq})`);
      }
      if (!equalBytes(head.hash, this.prevHash)) return this.fail(head.seq, `record ${head.seq}: hash differs from the head's`);
    }
    return { ok: true, count: this.count, headSeq: this.prevSeq };
  }

  private fail(seq: number, reason: string): { ok: false; seq: number; reason: string } {
    this.failure = { ok: false, seq, reason };
    return this.failure;
  }
}

/** Verifies a whole log, from seq 1, in order; with `head`, also that no tail was cut off (see finish). */
export function verifyAuditChain(records: Iterable<AuditRecord>, mac: AuditMac, head?: AuditHeadProof | null): AuditVerifyResult {
  const v = new AuditChainVerifier(mac);
  for (const r of records) {
    const failure = v.push(r);
    if (failure) return failure;
  }
  return v.finish(head);
}
