// Positive controls: deliberately variable-time code that the test must flag, or a run that passes
// every target proves nothing. One leaks through control flow, one through the memory hierarchy.
import { randomBytes } from 'node:crypto';
import { runnable, type CtTarget, type Runnable } from './dudect.js';

// Results are summed into a module-level sink, so no call can be optimised away.
let sink = 0;

const GUESS = new Uint8Array(randomBytes(32));

/** The comparison a tag check must not be: returns at the first differing byte. */
function earlyExitEqual(a: Uint8Array, b: Uint8Array): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Secret equal to the guess (all 32 bytes compared) vs a random secret (usually stops at byte 0). */
export const earlyExitCompare: CtTarget<Uint8Array> = {
  name: 'CONTROL early-exit byte comparison',
  classes: ['secret = guess', 'random secret'],
  input: (cls) => (cls === 0 ? GUESS.slice() : new Uint8Array(randomBytes(32))),
  call: (x) => {
    sink += earlyExitEqual(x, GUESS) ? 1 : 0;
  },
  measurements: 10_000,
  control: true,
};

// 64 MiB of u32: far beyond L1/L2 (48 KiB, 2 MiB per core here) and the TLB's reach with 4 KiB pages.
// This machine's L3 is larger still (480 MiB), so a random index costs an L3 and TLB miss, not DRAM.
const TABLE_WORDS = 1 << 24;
let table: Uint32Array | undefined;
function bigTable(): Uint32Array {
  if (!table) {
    table = new Uint32Array(TABLE_WORDS);
    // Touch every page, so the first timed reads do not fault pages in.
    for (let i = 0; i < TABLE_WORDS; i += 1024) table[i] = i;
  }
  return table;
}

/** Eight indices taken from the secret: all 0 in the fixed class, uniform in the random one. */
export const secretIndexedLookup: CtTarget<Uint32Array> = {
  name: 'CONTROL secret-indexed lookup, 64 MiB table',
  classes: ['secret = 0', 'random secret'],
  input: (cls) => {
    bigTable();
    return cls === 0 ? new Uint32Array(8) : new Uint32Array(randomBytes(32).buffer).map((w) => w & (TABLE_WORDS - 1));
  },
  call: (x) => {
    const t = table!;
    let s = 0;
    for (let i = 0; i < 8; i++) s += t[x[i]!]!;
    sink += s;
  },
  measurements: 10_000,
  control: true,
};

export const controls: Runnable[] = [runnable(earlyExitCompare), runnable(secretIndexedLookup)];
