// Performance targets of the issues (foundation, ECDSA, RSA, KMS engine), checked against one run's rows:
// every ratio compares columns of the same run.
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
  // ECDSA (issue 3): bench/suites/ecdsa.ts (32-byte messages).
  (find) => {
    const r = find('ecdsa-p256-sign', 32, WASM);
    return { target: 'P-256 sign: ≥ 8,000/s', measured: `${r.opsPerSec.toFixed(0)}/s`, met: r.opsPerSec >= 8000 };
  },
  (find) => {
    const x = find('ecdsa-p256-sign', 32, WASM).opsPerSec / find('ecdsa-p256-sign', 32, '@noble/curves').opsPerSec;
    return { target: 'P-256 sign: ≥ 7× @noble/curves', measured: `${x.toFixed(1)}×`, met: x >= 7 };
  },
  (find) => {
    const r = find('ecdsa-p256-verify', 32, WASM);
    return { target: 'P-256 verify: ≥ 3,000/s', measured: `${r.opsPerSec.toFixed(0)}/s`, met: r.opsPerSec >= 3000 };
  },
  (find) => {
    const x = find('ecdsa-p384-sign', 32, WASM).opsPerSec / find('ecdsa-p384-sign', 32, 'node:crypto').opsPerSec;
    return { target: 'P-384 sign: faster than node:crypto (aim 2×)', measured: `${x.toFixed(2)}×`, met: x > 1 };
  },
  (find) => {
    const x = find('ecdsa-p521-sign', 32, WASM).opsPerSec / find('ecdsa-p521-sign', 32, 'node:crypto').opsPerSec;
    return { target: 'P-521 sign: faster than node:crypto (aim 2×)', measured: `${x.toFixed(2)}×`, met: x > 1 };
  },
  (find) => {
    const x = find('ecdsa-k256-sign', 32, WASM).opsPerSec / find('ecdsa-k256-sign', 32, '@noble/curves').opsPerSec;
    return { target: 'secp256k1 sign: ≥ 7× @noble/curves', measured: `${x.toFixed(1)}×`, met: x >= 7 };
  },
  // RSA (issue 4): bench/suites/rsa.ts (4 KiB messages, verification 32 B).
  (find) => {
    const r = find('rsa2048-sign', 4096, WASM);
    return { target: 'RSA-2048 sign (PKCS#1 v1.5 SHA-256): ≥ 300/s', measured: `${r.opsPerSec.toFixed(0)}/s`, met: r.opsPerSec >= 300 };
  },
  (find) => {
    const x = find('rsa2048-sign', 4096, WASM).opsPerSec / find('rsa2048-sign', 4096, 'node-forge').opsPerSec;
    return { target: 'RSA-2048 sign: ≥ 10× node-forge', measured: `${x.toFixed(1)}×`, met: x >= 10 };
  },
  (find) => {
    const r = find('rsa2048-verify', 32, WASM);
    return { target: 'RSA-2048 verify: ≥ 10,000/s', measured: `${r.opsPerSec.toFixed(0)}/s`, met: r.opsPerSec >= 10000 };
  },
  (find) => {
    const r = find('rsa2048-keygen', 4096, WASM);
    return { target: 'RSA-2048 key generation: median ≤ 2 s', measured: `${(r.p50us / 1e6).toFixed(2)} s (${r.samples} samples)`, met: r.p50us <= 2e6 };
  },
  (find) => {
    const r = find('rsa4096-sign', 4096, WASM);
    return { target: 'RSA-4096 sign: ≥ 25/s', measured: `${r.opsPerSec.toFixed(1)}/s`, met: r.opsPerSec >= 25 };
  },
  // KMS engine (issue 5): bench/suites/kms.ts, 256 calls in flight, audit log on, synchronous=FULL.
  (find) => {
    const r = find('kms-generate-data-key', 32, WASM);
    return { target: 'GenerateDataKey (AES_256), WASM engine: ≥ 20,000 ops/s', measured: `${r.opsPerSec.toFixed(0)} ops/s`, met: r.opsPerSec >= 20000 };
  },
  (find) => {
    const r = find('kms-decrypt', 32, WASM);
    return { target: 'Decrypt of a data key, WASM engine: ≥ 20,000 ops/s', measured: `${r.opsPerSec.toFixed(0)} ops/s`, met: r.opsPerSec >= 20000 };
  },
  // HSM (issue 6): bench/suites/hsm.ts, SoftHSM2, 64 operations per timed run.
  (find) => {
    const x = find('hsm-aes-256-gcm-encrypt', 1024, 'native-batch').opsPerSec / find('hsm-aes-256-gcm-encrypt', 1024, 'pkcs11js').opsPerSec;
    return { target: 'HSM AES-256-GCM 1 KiB: native batch ≥ 1.5× pkcs11js one at a time', measured: `${x.toFixed(2)}×`, met: x >= 1.5 };
  },
  (find) => {
    const x = find('hsm-ecdsa-p256-sign', 32, 'native-batch').opsPerSec / find('hsm-ecdsa-p256-sign', 32, 'pkcs11js').opsPerSec;
    return { target: 'HSM ECDSA P-256 sign: native batch ≥ 1.5× pkcs11js one at a time', measured: `${x.toFixed(2)}×`, met: x >= 1.5 };
  },
  ...(['native-single', 'native-batch'] as const).flatMap((path) =>
    (['aes-256-gcm-encrypt', 'ecdsa-p256-sign'] as const).map((op): Check => (find) => {
      const r = find('hsm-event-loop', op === 'ecdsa-p256-sign' ? 32 : 1024, `${path} (${op})`);
      return { target: `event-loop p99 < 20 ms while ${path} saturates the HSM (${op})`, measured: `${(r.p99us / 1000).toFixed(1)} ms`, met: r.p99us < 20000 };
    }),
  ),
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
