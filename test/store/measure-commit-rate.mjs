// Measures the group commit: audit-only units from many concurrent callers against a SQLite file
// (WAL, synchronous=FULL), the chain MAC being HMAC-SHA256. Not a test: run it by hand and read the number.
//   node test/store/measure-commit-rate.mjs [callers=1000] [seconds=5]

import { createHmac, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileStore } from './compile-store.mjs';

const callers = Number(process.argv[2] ?? 1000);
const seconds = Number(process.argv[3] ?? 5);
const { openSqliteStore } = await import(compileStore());

const dir = mkdtempSync(join(tmpdir(), 'keyward-commit-rate-'));
const store = await openSqliteStore(join(dir, 'store.db'));
const macKey = randomBytes(32);
store.setAuditMac((data) => createHmac('sha256', macKey).update(data).digest());

let done = 0;
let stop = false;
const entry = (n) => ({
  time: Date.now(),
  requestId: `req-${n}`,
  principal: 'arn:aws:iam::111122223333:user/bench',
  operation: 'Encrypt',
  region: 'us-east-1',
  keyId: '1234abcd-12ab-34cd-56ef-1234567890ab',
  encryptionContext: { purpose: 'bench', n: String(n) },
  outcome: 'Success',
});

async function caller() {
  while (!stop) {
    await store.commit([], entry(done));
    done++;
  }
}

const start = process.hrtime.bigint();
const cpu0 = process.cpuUsage();
setTimeout(() => (stop = true), seconds * 1000);
await Promise.all(Array.from({ length: callers }, caller));
const elapsed = Number(process.hrtime.bigint() - start) / 1e9;
const cpu = process.cpuUsage(cpu0);
const cpuPerCommit = (cpu.user + cpu.system) / done;
const { transactions, largestBatch } = store.stats;
await store.close();
rmSync(dir, { recursive: true, force: true });

console.log(
  `${callers} callers, ${elapsed.toFixed(2)} s: ${done} commits, ${Math.round(done / elapsed)} commits/s, ` +
    `${transactions} transactions (${(done / transactions).toFixed(1)} units each on average, largest ${largestBatch}); ` +
    `${cpuPerCommit.toFixed(1)} µs CPU per commit (a ceiling of ${Math.round(1e6 / cpuPerCommit)} commits/s on one free core)`,
);
