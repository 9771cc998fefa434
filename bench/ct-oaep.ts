// Timing-leak check of EME-OAEP decoding (src/crypto/_rsa-pad.ts), after dudect and noble-curves'
// benchmark/ct.ts: `node dist/bench/ct-oaep.js [samples]`. The three padding failures of RFC 8017
// §7.1.2 (Y ≠ 0, lHash mismatch, no 0x01 separator) are timed against each other in random order and
// compared with Welch's t-test; |t| above 10 is reported as a leak. Two deliberately early-exit decoders
// are the positive controls: they must show a leak, or the measurement cannot see one and proves nothing.
// Exit code 1 if the control is not detected or the real decoder leaks.
import { randomBytes } from 'node:crypto';
import { emeOaepDecode, emeOaepEncode, mgf1, RSA_HASH, type RsaHashName } from '../src/crypto/_rsa-pad.js';

const HASH = 'SHA-256';
const K = 256;
const H_LEN = RSA_HASH[HASH].len;
const LABEL = new Uint8Array(0);
const samples = Number(process.argv[2] ?? 50000);

/** An encoded message whose unmasked DB and first byte are given. */
function encoded(db: Uint8Array, y: number): Uint8Array {
  const seed = randomBytes(H_LEN);
  const dbMask = mgf1(HASH, seed, db.length);
  const maskedDb = db.map((b, i) => b ^ dbMask[i]!);
  const seedMask = mgf1(HASH, maskedDb, H_LEN);
  const em = new Uint8Array(K);
  em[0] = y;
  em.set(seed.map((b, i) => b ^ seedMask[i]!), 1);
  em.set(maskedDb, 1 + H_LEN);
  return em;
}

function goodDb(): Uint8Array {
  const db = new Uint8Array(K - H_LEN - 1);
  db.set(RSA_HASH[HASH].digest(LABEL));
  db[db.length - 33] = 0x01;
  db.set(randomBytes(32), db.length - 32);
  return db;
}

const CLASSES = {
  'Y ≠ 0': () => encoded(goodDb(), 1 + (randomBytes(1)[0]! % 255)),
  'lHash mismatch': () => encoded(goodDb().map((b, i) => (i === 0 ? b ^ 0x80 : b)), 0),
  'no separator': () => encoded(goodDb().map((b, i, a) => (i === a.length - 33 ? 0 : b)), 0),
} as const;
type ClassName = keyof typeof CLASSES;

/** The positive control: returns as soon as Y ≠ 0, before any unmasking (what §7.1.2 forbids). */
function decodeUnsafe(hash: RsaHashName, mgfHash: RsaHashName, label: Uint8Array, em: Uint8Array): Uint8Array | null {
  if (em[0] !== 0) return null;
  return emeOaepDecode(hash, mgfHash, label, em);
}

/**
 * The subtle control: unmasks exactly as emeOaepDecode does, then compares lHash and scans for the
 * separator with early exits, as a naive decoder would. Its timing differs between classes only by a
 * few hundred loop iterations, out of the same two MGF1 passes and hashes.
 */
function decodeScanUnsafe(hash: RsaHashName, mgfHash: RsaHashName, label: Uint8Array, em: Uint8Array): Uint8Array | null {
  const hLen = RSA_HASH[hash].len;
  const lHash = RSA_HASH[hash].digest(label);
  const maskedDb = em.subarray(1 + hLen);
  const seed = mgf1(mgfHash, maskedDb, hLen).map((b, i) => b ^ em[1 + i]!);
  const db = mgf1(mgfHash, seed, maskedDb.length).map((b, i) => b ^ maskedDb[i]!);
  if (em[0] !== 0) return null;
  for (let i = 0; i < hLen; i++) if (db[i] !== lHash[i]) return null;
  let i = hLen;
  while (i < db.length && db[i] === 0) i++;
  return i < db.length && db[i] === 1 ? db.slice(i + 1) : null;
}

/** Welch's t between the timings of two classes, measured in random interleaved order. */
function tTest(decode: typeof emeOaepDecode, a: ClassName, b: ClassName): number {
  const inputs = [Array.from({ length: 64 }, CLASSES[a]), Array.from({ length: 64 }, CLASSES[b])];
  const times: number[][] = [[], []];
  for (let i = 0; i < 2000; i++) decode(HASH, HASH, LABEL, inputs[i & 1]![i % 64]!);
  for (let i = 0; i < 2 * samples; i++) {
    const c = Math.random() < 0.5 ? 0 : 1;
    const em = inputs[c]![i % 64]!;
    const t0 = process.hrtime.bigint();
    decode(HASH, HASH, LABEL, em);
    times[c]!.push(Number(process.hrtime.bigint() - t0));
  }
  // Drop the slowest 10% of each class (GC pauses, interrupts), as dudect crops.
  const stats = times.map((t) => {
    const kept = t.sort((x, y) => x - y).slice(0, Math.floor(t.length * 0.9));
    const mean = kept.reduce((s, x) => s + x, 0) / kept.length;
    const variance = kept.reduce((s, x) => s + (x - mean) ** 2, 0) / (kept.length - 1);
    return { mean, variance, n: kept.length };
  });
  const [x, y] = stats as [(typeof stats)[0], (typeof stats)[0]];
  return (x.mean - y.mean) / Math.sqrt(x.variance / x.n + y.variance / y.n);
}

// Sanity: the classes really are the failures they are named after, and a valid EM decodes.
for (const name of Object.keys(CLASSES) as ClassName[]) {
  if (emeOaepDecode(HASH, HASH, LABEL, CLASSES[name]()) !== null) throw new Error(`${name} decoded`);
}
if (emeOaepDecode(HASH, HASH, LABEL, encoded(goodDb(), 0))?.length !== 32) throw new Error('a valid encoded message did not decode');
// Reject emeOaepEncode drift: its output must decode here too.
if (emeOaepDecode(HASH, HASH, LABEL, emeOaepEncode(HASH, HASH, LABEL, Uint8Array.of(1), randomBytes(H_LEN), K))?.[0] !== 1) {
  throw new Error('emeOaepEncode output did not decode');
}

const LEAK = 10;
const control = tTest(decodeUnsafe, 'Y ≠ 0', 'lHash mismatch');
console.log(`positive control (early exit on Y ≠ 0): Y ≠ 0 vs lHash mismatch  t = ${control.toFixed(1)}`);
const subtle = tTest(decodeScanUnsafe, 'lHash mismatch', 'no separator');
console.log(`positive control (early-exit lHash compare and separator scan): lHash mismatch vs no separator  t = ${subtle.toFixed(1)}`);
let ok = Math.abs(control) > LEAK && Math.abs(subtle) > LEAK;
if (!ok) console.log('  a control was not detected: this run cannot see such a leak');
const pairs: [ClassName, ClassName][] = [
  ['Y ≠ 0', 'lHash mismatch'],
  ['Y ≠ 0', 'no separator'],
  ['lHash mismatch', 'no separator'],
];
for (const [a, b] of pairs) {
  const t = tTest(emeOaepDecode, a, b);
  const leak = Math.abs(t) > LEAK;
  ok &&= !leak;
  console.log(`emeOaepDecode: ${a} vs ${b}  t = ${t.toFixed(1)}${leak ? '  LEAK' : ''}`);
}
console.log(`${samples} samples per class and pair; |t| > ${LEAK} counts as a leak`);
process.exit(ok ? 0 : 1);
