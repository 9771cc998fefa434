// A small SVG writer and the report's two charts: grouped horizontal bars (one group per operation, each
// scaled to its own fastest provider) and lines over a log₂ axis (throughput and latency against
// concurrency). Output is plain SVG text, inlined in the HTML report, so it needs nothing at view time.

export type Attrs = Record<string, string | number | undefined>;

const ESC: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
export const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => ESC[c]!);

/** One element; children are SVG text already escaped (use text() for strings). */
export function el(name: string, attrs: Attrs, ...children: string[]): string {
  const a = Object.entries(attrs)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => ` ${k}="${esc(typeof v === 'number' ? String(Math.round(v * 100) / 100) : v!)}"`)
    .join('');
  return children.length === 0 ? `<${name}${a}/>` : `<${name}${a}>${children.join('')}</${name}>`;
}

export const text = (s: string): string => esc(s);

const FONT = 'font-family="system-ui, sans-serif"';
const svg = (cls: string, w: number, h: number, title: string, body: string[]) =>
  `<svg xmlns="http://www.w3.org/2000/svg" class="chart ${cls}" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" role="img" ${FONT} font-size="12">` +
  el('title', {}, text(title)) + body.join('') + '</svg>';

export interface Bar {
  name: string;
  color: string;
  /** null: no bar (an error); label then says why. */
  value: number | null;
  label: string;
}

export interface BarGroup {
  label: string;
  bars: Bar[];
}

const BAR_H = 14;
const BAR_GAP = 3;
const GROUP_GAP = 14;

/** Grouped horizontal bars; in each group the longest bar is that group's largest value. */
export function barChart(title: string, groups: BarGroup[]): string {
  const width = 860;
  const left = 150;
  const span = 420;
  const body: string[] = [];
  let y = 8;
  for (const g of groups) {
    body.push(el('text', { x: 0, y: y + 11, 'font-weight': 600 }, text(g.label)));
    y += BAR_H + BAR_GAP;
    const max = Math.max(0, ...g.bars.map((b) => b.value ?? 0));
    for (const b of g.bars) {
      body.push(el('text', { x: left - 6, y: y + 11, 'text-anchor': 'end' }, text(b.name)));
      if (b.value === null) {
        body.push(el('text', { class: 'bar-error', x: left, y: y + 11, fill: '#b00020' }, text(b.label)));
      } else {
        const w = max > 0 ? Math.max(1, (b.value / max) * span) : 1;
        body.push(el('rect', { class: 'bar', x: left, y, width: w, height: BAR_H, fill: b.color, 'data-value': b.value }));
        body.push(el('text', { x: left + w + 6, y: y + 11 }, text(b.label)));
      }
      y += BAR_H + BAR_GAP;
    }
    y += GROUP_GAP;
  }
  return svg('bar-chart', width, y, title, body);
}

export interface Series {
  name: string;
  color: string;
  /** Dashed (a second measure of the same provider, such as p99 beside p50). */
  dashed?: boolean;
  points: { x: number; y: number }[];
}

/** "Nice" round upper bound for an axis. */
function niceMax(v: number): number {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  return ([1, 2, 2.5, 5, 10].find((m) => m * p >= v) ?? 10) * p;
}

const short = (v: number): string => (v >= 1e6 ? `${+(v / 1e6).toFixed(1)}M` : v >= 1e3 ? `${+(v / 1e3).toFixed(1)}k` : `${+v.toFixed(2)}`);

/** Lines over x on a log₂ axis (x values ≥ 1), y linear from 0. */
export function lineChart(title: string, yLabel: string, series: Series[]): string {
  const W = 420;
  // The legend wraps to as many rows as it needs below the axis.
  const legendW = (s: Series) => 28 + s.name.length * 7;
  let rowsNeeded = 1;
  let run = 0;
  for (const s of series) {
    if (run > 0 && run + legendW(s) > W - 56) {
      rowsNeeded++;
      run = 0;
    }
    run += legendW(s);
  }
  const H = 230 + rowsNeeded * 16;
  const m = { l: 56, r: 12, t: 24, b: 40 + rowsNeeded * 16 };
  const xs = [...new Set(series.flatMap((s) => s.points.map((p) => p.x)))].sort((a, b) => a - b);
  const lx = xs.map((x) => Math.log2(x));
  const [x0, x1] = [Math.min(...lx), Math.max(...lx)];
  const yMax = niceMax(Math.max(...series.flatMap((s) => s.points.map((p) => p.y))));
  const px = (x: number) => m.l + (x1 === x0 ? (W - m.l - m.r) / 2 : ((Math.log2(x) - x0) / (x1 - x0)) * (W - m.l - m.r));
  const py = (y: number) => H - m.b - (y / yMax) * (H - m.t - m.b);
  const body: string[] = [el('text', { x: m.l, y: 14, 'font-weight': 600 }, text(title))];
  body.push(el('line', { x1: m.l, y1: H - m.b, x2: W - m.r, y2: H - m.b, stroke: '#444' }), el('line', { x1: m.l, y1: m.t, x2: m.l, y2: H - m.b, stroke: '#444' }));
  for (let i = 0; i <= 4; i++) {
    const v = (yMax * i) / 4;
    body.push(el('line', { x1: m.l, y1: py(v), x2: W - m.r, y2: py(v), stroke: '#e4e4e4' }), el('text', { x: m.l - 4, y: py(v) + 4, 'text-anchor': 'end' }, text(short(v))));
  }
  for (const x of xs) body.push(el('text', { x: px(x), y: H - m.b + 14, 'text-anchor': 'middle' }, text(String(x))));
  body.push(el('text', { x: (m.l + W - m.r) / 2, y: H - m.b + 28, 'text-anchor': 'middle' }, text('calls in flight')));
  body.push(el('text', { x: 12, y: (m.t + H - m.b) / 2, transform: `rotate(-90 12 ${(m.t + H - m.b) / 2})`, 'text-anchor': 'middle' }, text(yLabel)));
  let lx0 = m.l;
  let ly = H - m.b + 46;
  for (const s of series) {
    if (s.points.length === 0) continue;
    const d = s.points.map((p, i) => `${i === 0 ? 'M' : 'L'}${px(p.x).toFixed(1)},${py(p.y).toFixed(1)}`).join(' ');
    body.push(el('path', { class: 'series', d, fill: 'none', stroke: s.color, 'stroke-width': 2, 'stroke-dasharray': s.dashed ? '5 4' : undefined }));
    for (const p of s.points) body.push(el('circle', { cx: px(p.x), cy: py(p.y), r: 2.5, fill: s.color }));
    if (lx0 > m.l && lx0 + legendW(s) > W - m.r) {
      lx0 = m.l;
      ly += 16;
    }
    body.push(el('line', { x1: lx0, y1: ly - 4, x2: lx0 + 16, y2: ly - 4, stroke: s.color, 'stroke-width': 2, 'stroke-dasharray': s.dashed ? '5 4' : undefined }));
    body.push(el('text', { x: lx0 + 20, y: ly }, text(s.name)));
    lx0 += legendW(s);
  }
  return svg('line-chart', W, H, title, body);
}
