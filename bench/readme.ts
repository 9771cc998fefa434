// The README's benchmark tables, generated from committed results files of real runs:
//   node dist/bench/readme.js bench/results/<name>.json [more.json …]
// prints, per file, the command and machine that produced it, a table with one row per suite and size and
// one column per implementation (plus keyward's ratio to each), and the targets with their verdicts.
import { readFileSync } from 'node:fs';
import type { Machine, Row } from './harness.js';

interface Results {
  command: string;
  machine: Machine & { load?: number };
  rows: Row[];
  targets?: { target: string; measured: string; met: boolean }[];
}

const KEYWARD = 'keyward-wasm';
const REFERENCE = 'node:crypto';
const PUBLIC_KEY = /^(ecdsa|ecdh|rsa|kms|hsm|tls)/;

function rate(r: Row): string {
  if (r.size >= 65536 && !PUBLIC_KEY.test(r.suite)) return `${r.mbPerSec.toLocaleString('en-US', { maximumFractionDigits: 0 })} MB/s`;
  return `${r.opsPerSec.toLocaleString('en-US', { maximumFractionDigits: r.opsPerSec >= 100 ? 0 : 1 })}/s`;
}

function size(r: Row): string {
  if (/^(ecdsa|ecdh|kms)/.test(r.suite) || /(verify|keygen)$/.test(r.suite)) return '—';
  const msg = r.suite.startsWith('rsa') ? ' msg' : '';
  if (r.size >= 1 << 20) return `${r.size >> 20} MiB${msg}`;
  if (r.size >= 1024) return `${r.size >> 10} KiB${msg}`;
  return `${r.size} B`;
}

function cell(r: Row | undefined): string {
  if (!r) return '—';
  return r.suite.endsWith('keygen') ? `median ${(r.p50us / 1e6).toFixed(2)} s` : rate(r);
}

function table(file: string): string {
  const d = JSON.parse(readFileSync(file, 'utf8')) as Results;
  // Peers of one family that never meet in a row share a column (@noble/hashes, /ciphers, /curves → @noble).
  const families = new Map<string, Set<string>>();
  for (const r of d.rows) {
    const f = r.impl.includes('/') ? r.impl.slice(0, r.impl.indexOf('/')) : r.impl;
    families.set(f, (families.get(f) ?? new Set()).add(r.impl));
  }
  const meet = (f: Set<string>) => [...new Set(d.rows.map((r) => `${r.suite}\u0000${r.size}`))]
    .some((k) => d.rows.filter((r) => `${r.suite}\u0000${r.size}` === k && f.has(r.impl)).length > 1);
  for (const [f, members] of families) {
    if (members.size < 2 || meet(members)) continue;
    const label = `${f} (${[...members].map((m) => m.slice(f.length + 1)).join(', ')})`;
    d.rows = d.rows.map((r) => (members.has(r.impl) ? { ...r, impl: label } : r));
  }
  const impls = [...new Set(d.rows.map((r) => r.impl))];
  const peers = impls.filter((i) => i !== KEYWARD && i !== REFERENCE);
  const cols = [KEYWARD, REFERENCE, ...peers].filter((i) => impls.includes(i));
  const others = cols.filter((i) => i !== KEYWARD);
  const m = d.machine;
  const when = `${m.date.slice(0, 10)} ${m.date.slice(11, 16)} UTC`;
  const load = m.load === undefined ? '' : `, 1-minute load ${m.load.toFixed(2)} at the start`;
  const out = [`From \`${d.command}\` (\`${file}\`), ${m.cpu}, ${m.cores} cores, Node ${m.node}, OpenSSL ${m.openssl}, ${when}${load}:`, ''];
  const head = ['suite', 'size', ...cols, ...others.map((o) => `keyward ÷ ${o === REFERENCE ? 'node' : o.replace(/ \(.*\)$/, '')}`)];
  out.push(`| ${head.join(' | ')} |`, `|---|---:|${'---:|'.repeat(head.length - 2)}`);
  const keys = [...new Map(d.rows.map((r) => [`${r.suite}\u0000${r.size}`, r])).keys()];
  for (const k of keys) {
    const rows = new Map(d.rows.filter((r) => `${r.suite}\u0000${r.size}` === k).map((r) => [r.impl, r]));
    const first = rows.values().next().value!;
    const w = rows.get(KEYWARD);
    const ratios = others.map((o) => {
      const r = rows.get(o);
      if (!w || !r) return '—';
      return `${(w.opsPerSec / r.opsPerSec).toFixed(o === REFERENCE ? 2 : 1)}×`;
    });
    out.push(`| ${[first.suite, size(first), ...cols.map((c) => cell(rows.get(c))), ...ratios].join(' | ')} |`);
  }
  if (d.targets && d.targets.length > 0) {
    out.push('', '| target | measured | met |', '|---|---:|---|');
    for (const t of d.targets) out.push(`| ${t.target} | ${t.measured} | ${t.met ? 'yes' : '**no**'} |`);
  }
  return out.join('\n');
}

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error('usage: node dist/bench/readme.js bench/results/<name>.json [more.json …]');
  process.exit(64);
}
console.log(files.map(table).join('\n\n'));
