// `npm run bench`: runs the suites, prints a table, writes bench/results/<name>.json and .md.
//   --suite NAME[,NAME]  only these suites, or groups (kms = kms-*)   --time MS   timed ms per case (default 500)
//   --out NAME           results file name (default: latest)
//   --check              exit 1 if a performance target (bench/targets.ts) is missed
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { consoleLine, CrossValidationError, machine, markdownTable, runAsyncSuite, runSuite, type AsyncSuite, type Row, type Suite } from './harness.js';
import { ecdsaSuites } from './suites/ecdsa.js';
import { hsmSuites, type MeasuredSuite } from './suites/hsm.js';
import { kmsSuites } from './suites/kms.js';
import { rsaSuites } from './suites/rsa.js';
import { symmetricSuites } from './suites/symmetric.js';
import { tlsSuites } from './suites/tls.js';
import { checkTargets } from './targets.js';

const ALL: (Suite | AsyncSuite | MeasuredSuite)[] = [...symmetricSuites, ...ecdsaSuites, ...rsaSuites, ...kmsSuites, ...tlsSuites, ...hsmSuites];

const { values } = parseArgs({
  options: {
    suite: { type: 'string' },
    time: { type: 'string', default: '500' },
    out: { type: 'string', default: 'latest' },
    check: { type: 'boolean', default: false },
  },
});

const time = Number(values.time);
if (!Number.isFinite(time) || time <= 0) throw new RangeError(`expected --time in milliseconds, got ${values.time}`);
const wanted = values.suite?.split(',');
const named = (s: { name: string }, n: string) => s.name === n || s.name.startsWith(`${n}-`);
const unknown = wanted?.filter((n) => !ALL.some((s) => named(s, n))) ?? [];
if (unknown.length > 0) throw new RangeError(`unknown suite ${unknown.join(', ')}; suites: ${ALL.map((s) => s.name).join(', ')}`);
const suites = wanted ? ALL.filter((s) => wanted.some((n) => named(s, n))) : ALL;

const m = machine();
console.log(`keyward bench — ${m.cpu} (${m.cores} cores, ${m.memoryGiB} GiB, load ${m.load.toFixed(2)}), Node ${m.node}, OpenSSL ${m.openssl}, ${m.date}`);
console.log(`${time} ms per case; ops/s, MB/s, per-operation latency, ratio to each suite's baseline\n`);

const rows: Row[] = [];
try {
  for (const suite of suites) {
    const opts = { time, warmupTime: Math.min(200, time / 2), onRow: (r: Row) => console.log(consoleLine(r)) };
    rows.push(...('measure' in suite ? await suite.measure(opts) : 'batch' in suite ? await runAsyncSuite(suite, opts) : await runSuite(suite, opts)));
    console.log();
  }
} catch (e) {
  if (e instanceof CrossValidationError) {
    console.error(`error: ${e.message}`);
    process.exit(2);
  }
  throw e;
}

const results = checkTargets(rows);
if (results.length > 0) {
  console.log('Targets:');
  for (const t of results) console.log(`  ${t.met ? 'met   ' : 'MISSED'} ${t.target}: ${t.measured}`);
}

const baselineOf = (name: string) => ALL.find((s) => s.name === name)!.baseline;
const dir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bench', 'results');
mkdirSync(dir, { recursive: true });
// The KEYWARD_BENCH_* settings belong to the command: a run made with them is not reproduced without them.
const settings = Object.entries(process.env).filter(([k]) => k.startsWith('KEYWARD_BENCH_')).map(([k, v]) => `${k}=${v} `).sort().join('');
const command = `${settings}npm run bench -- ${process.argv.slice(2).join(' ')}`.trim();
writeFileSync(join(dir, `${values.out}.json`), JSON.stringify({ command, machine: m, timeMsPerCase: time, rows, targets: results }, null, 2) + '\n');
const md = [
  `Measured by \`${command}\` on ${m.cpu} (${m.cores} cores, ${m.memoryGiB} GiB, 1-minute load ${m.load.toFixed(2)} at the start), ${m.platform}, Node ${m.node}, OpenSSL ${m.openssl}, ${m.date.slice(0, 10)}.`,
  '',
  markdownTable(rows, baselineOf),
  '',
  ...(results.length > 0 ? ['| target | measured | met |', '|---|---:|---|', ...results.map((t) => `| ${t.target} | ${t.measured} | ${t.met ? 'yes' : 'no'} |`)] : []),
].join('\n');
writeFileSync(join(dir, `${values.out}.md`), md + '\n');
console.log(`\nwrote bench/results/${values.out}.json and .md`);
if (values.check && results.some((t) => !t.met)) process.exit(1);
