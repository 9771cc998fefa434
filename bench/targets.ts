// Performance targets of the foundation issue, checked against one run's rows (ratios from that run).
import type { Row } from './harness.js';

export interface TargetResult {
  target: string;
  measured: string;
  met: boolean;
}

type Check = (find: (suite: string, size: number, impl: string) => Row) => TargetResult;

const WASM = 'keyward-wasm';

export const targets: Check[] = [
  (find) => {
    const r = find('aes-256-gcm-seal', 65536, WASM);
    return { target: 'AES-256-GCM seal, 64 KiB: ≥ 100 MB/s', measured: `${r.mbPerSec.toFixed(1)} MB/s`, met: r.mbPerSec >= 100 };
  },
  (find) => {
    const r = find('aes-256-gcm-seal', 65536, WASM);
    const n = find('aes-256-gcm-seal', 65536, '@noble/ciphers');
    const x = r.opsPerSec / n.opsPerSec;
    return { target: 'AES-256-GCM seal, 64 KiB: ≥ 3× @noble/ciphers', measured: `${x.toFixed(2)}×`, met: x >= 3 };
  },
  (find) => {
    const r = find('aes-256-gcm-seal', 32, WASM);
    const n = find('aes-256-gcm-seal', 32, 'node:crypto');
    const x = r.opsPerSec / n.opsPerSec;
    return { target: 'AES-256-GCM seal, 32 B: more ops/s than node:crypto', measured: `${x.toFixed(2)}×`, met: x > 1 };
  },
  (find) => {
    const r = find('sha256', 65536, WASM);
    return { target: 'SHA-256, 64 KiB: ≥ 200 MB/s', measured: `${r.mbPerSec.toFixed(1)} MB/s`, met: r.mbPerSec >= 200 };
  },
  (find) => {
    const r = find('sha256', 64, WASM);
    const n = find('sha256', 64, 'node:crypto');
    const x = r.opsPerSec / n.opsPerSec;
    return { target: 'SHA-256, 64 B: more ops/s than node:crypto', measured: `${x.toFixed(2)}×`, met: x > 1 };
  },
];

/** Evaluates the targets whose rows are present (a partial run checks what it measured). */
export function checkTargets(rows: Row[]): TargetResult[] {
  const out: TargetResult[] = [];
  for (const check of targets) {
    try {
      out.push(
        check((suite, size, impl) => {
          const row = rows.find((r) => r.suite === suite && r.size === size && r.impl === impl);
          if (!row) throw new RangeError('not measured');
          return row;
        }),
      );
    } catch (e) {
      if (!(e instanceof RangeError)) throw e;
    }
  }
  return out;
}
