// The self-contained HTML report: the machine, the HSM and the settings, then per suite a bar chart of
// ops/s per operation and provider and the table of every number; for the hsm suite, throughput and
// latency against concurrency per operation, where the HSM's saturation shows as the knee of the curves.
// No scripts, fonts or images are fetched: the charts are inline SVG.
import { fmt, fmtLatency, formatSize, isError, type MeasuredRow, type Report, type Row } from './report.js';
import { barChart, esc, lineChart, type Series } from './svg.js';

const COLORS: Record<string, string> = { wasm: '#3b6fd8', node: '#2e9e5b', pkcs11: '#e07b00', direct: '#7f8c8d' };
const EXTRA = ['#8e44ad', '#c0392b', '#16a085', '#b7950b'];

function colorOf(providers: string[]): (name: string) => string {
  return (name) => COLORS[name] ?? EXTRA[providers.filter((p) => !(p in COLORS)).indexOf(name) % EXTRA.length] ?? '#555';
}

const caseLabel = (r: Row) => `${r.op} ${formatSize(r.size)}${r.concurrency > 1 ? ` ×${r.concurrency}` : ''}`;

function rowTable(rows: Row[], baseline: string): string {
  const head = ['operation', 'size', 'provider', 'in flight', 'ops/s', 'MB/s', 'p50', 'p99', `vs ${baseline}`].map((h) => `<th>${esc(h)}</th>`).join('');
  const body = rows.map((r) => {
    const k = [r.op, formatSize(r.size), r.provider, String(r.concurrency)].map((c) => `<td>${esc(c)}</td>`).join('');
    if (isError(r)) return `<tr class="error">${k}<td colspan="5">error (not timed): ${esc(r.error)}</td></tr>`;
    const v = [fmt(r.opsPerSec), fmt(r.mbPerSec, 2), fmtLatency(r.p50us), fmtLatency(r.p99us), r.ratio === null ? '-' : `${fmt(r.ratio, 2)}×`];
    return `<tr>${k}${v.map((c) => `<td class="num">${esc(c)}</td>`).join('')}</tr>`;
  });
  return `<table><thead><tr>${head}</tr></thead><tbody>${body.join('')}</tbody></table>`;
}

function suiteBars(suite: string, rows: Row[], color: (n: string) => string): string {
  const groups: { label: string; rows: Row[] }[] = [];
  for (const r of rows) {
    const label = caseLabel(r);
    const g = groups.find((x) => x.label === label);
    if (g) g.rows.push(r);
    else groups.push({ label, rows: [r] });
  }
  return barChart(`${suite}: operations per second`, groups.map((g) => ({
    label: g.label,
    bars: g.rows.map((r) => isError(r)
      ? { name: r.provider, color: color(r.provider), value: null, label: 'error: not timed (see the table)' }
      : { name: r.provider, color: color(r.provider), value: r.opsPerSec, label: `${fmt(r.opsPerSec)} ops/s${r.ratio === null ? '' : ` (${fmt(r.ratio, 2)}×)`}` }),
  })));
}

function hsmCurves(rows: Row[], providers: string[], color: (n: string) => string): string {
  const out: string[] = [];
  for (const op of [...new Set(rows.map((r) => `${r.op}\u0000${r.size}`))]) {
    const [name, size] = op.split('\u0000') as [string, string];
    const of = rows.filter((r): r is MeasuredRow => r.op === name && String(r.size) === size && !isError(r));
    if (of.length === 0) continue;
    const per = (p: string) => of.filter((r) => r.provider === p).sort((a, b) => a.concurrency - b.concurrency);
    const present = providers.filter((p) => per(p).length > 0);
    const thr: Series[] = present.map((p) => ({ name: p, color: color(p), points: per(p).map((r) => ({ x: r.concurrency, y: r.opsPerSec })) }));
    const lat: Series[] = present.flatMap((p) => [
      { name: `${p} p50`, color: color(p), points: per(p).map((r) => ({ x: r.concurrency, y: r.p50us / 1000 })) },
      { name: `${p} p99`, color: color(p), dashed: true, points: per(p).map((r) => ({ x: r.concurrency, y: r.p99us / 1000 })) },
    ]);
    const title = `${name} ${formatSize(Number(size))}`;
    out.push(`<div class="pair">${lineChart(`${title}: throughput`, 'ops/s', thr)}${lineChart(`${title}: latency`, 'ms per call', lat)}</div>`);
  }
  return out.join('');
}

const CSS = `body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1100px;color:#222;padding:0 1em}
h1{font-size:1.6em}h2{margin-top:2em;border-bottom:1px solid #ddd}table{border-collapse:collapse;margin:1em 0;font-size:.9em}
td,th{border:1px solid #ddd;padding:3px 8px;text-align:left}td.num{text-align:right;font-variant-numeric:tabular-nums}
tr.error td{color:#b00020}.pair{display:flex;flex-wrap:wrap;gap:16px}dl{display:grid;grid-template-columns:max-content auto;gap:2px 16px}
dt{font-weight:600}code{background:#f4f4f4;padding:1px 4px}.note{color:#555;font-size:.9em}`;

export function htmlReport(report: Report): string {
  const m = report.machine;
  const color = colorOf(report.settings.providers);
  const dl = (items: [string, string][]) => `<dl>${items.map(([k, v]) => `<dt>${esc(k)}</dt><dd>${esc(v)}</dd>`).join('')}</dl>`;
  const parts = [
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>keyward bench ${esc(report.date)}</title><style>${CSS}</style></head><body>`,
    `<h1>keyward bench</h1>`,
    `<p>Measured by <code>${esc(report.command)}</code> on ${esc(report.date)}.</p>`,
    dl([
      ['CPU', `${m.cpu} (${m.cores} cores)`], ['memory', `${m.memoryGiB} GiB`], ['platform', m.platform], ['Node', m.node], ['OpenSSL', m.openssl],
      ['load at start', m.load.toFixed(2)], ['per measurement', `${report.settings.seconds} s`], ['providers', report.settings.providers.join(', ')],
      ['baseline', report.settings.baseline],
    ]),
  ];
  if (report.hsm) {
    const h = report.hsm;
    parts.push('<h2>HSM</h2>', dl([
      ['module', h.module], ['library', `${h.library} ${h.libraryVersion}`], ['manufacturer', h.manufacturer], ['Cryptoki', h.cryptokiVersion],
      ['token', `${h.token.label} (${h.token.manufacturer} ${h.token.model}, serial ${h.token.serial})`], ['sessions', String(h.sessions)], ['calls made by', h.hotPath],
    ]));
  }
  parts.push(`<p class="note">Every provider's answers were checked against OpenSSL (node:crypto) before timing; a provider that disagreed is shown as an error and was not timed. Bars are scaled per operation: the longest is the fastest provider there; the ratio is to ${esc(report.settings.baseline)}. Latencies are single calls as their callers saw them.</p>`);
  for (const suite of report.settings.suites) {
    const rows = report.rows.filter((r) => r.suite === suite);
    if (rows.length === 0) continue;
    parts.push(`<h2 id="suite-${esc(suite)}">${esc(suite)}</h2>`);
    if (suite === 'hsm') parts.push('<p class="note">The HSM operations at rising concurrency: throughput stops growing and latency starts climbing where the device (or its sessions) saturates.</p>', hsmCurves(rows, report.settings.providers, color));
    if (suite === 'tls') parts.push('<p class="note">New TLS 1.3 handshakes per second through Keyward\'s terminator from a client process, with the certificate key held by each provider (wasm: a CMK-wrapped key pair unwrapped into memory; node: a PEM key file; pkcs11: a token key through the OpenSSL pkcs11 engine); each column first had to present its provider\'s public key. The bulk rows echo the same bytes through the terminator and, in the direct column, over plain TCP to the same backend.</p>');
    if (suite === 'server') parts.push('<p class="note">SigV4-signed requests per second to the KMS endpoint on loopback from a client process, one temporary store per provider; each endpoint first had to decrypt its own data key back to the same plaintext.</p>');
    parts.push(suiteBars(suite, rows, color), rowTable(rows, report.settings.baseline));
  }
  parts.push('</body></html>');
  return parts.join('\n') + '\n';
}
