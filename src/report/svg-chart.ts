/**
 * Tiny SVG line charts for the HTML report, drawn here so the page needs no script and no
 * network. One function, a few options: series of points, linear axes with round ticks,
 * optional custom x tick labels (the percentile chart uses a "nines" axis).
 */
export interface Series {
  name: string;
  color: string;
  points: Array<[number, number]>;
  dashed?: boolean;
  /** fill the area under the line, lightly */
  area?: boolean;
}

export interface ChartOptions {
  width?: number;
  height?: number;
  title?: string;
  xLabel?: string;
  yLabel?: string;
  /** ticks at these x values with these labels; default: round numbers */
  xTicks?: Array<{ x: number; label: string }>;
  yMin?: number;
  /** draw step lines (timelines of counts) rather than straight segments */
  step?: boolean;
  /**
   * vertical bands (phases) shaded with a label; a label too long for its band is never cut:
   * the band shows its `key` (a number the page's legend spells out) if that fits, and the
   * full label as a tooltip either way
   */
  bands?: Array<{ from: number; to: number; label: string; shade?: boolean; key?: string }>;
}

const PAD = { l: 52, r: 14, t: 26, b: 36 };
/** width of a character of a band label (9.5 px sans-serif), generously: a label drawn must fit */
const BAND_CHAR_PX = 6;

export function lineChart(series: Series[], o: ChartOptions = {}): string {
  const W = o.width ?? 520;
  const H = o.height ?? 240;
  const pts = series.flatMap((s) => s.points).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
  const head = o.title ? `<text class="ct" x="${PAD.l}" y="16">${esc(o.title)}</text>` : '';
  if (!pts.length) return svg(W, H, `${head}<text class="muted" x="${W / 2}" y="${H / 2}" text-anchor="middle">no data</text>`);
  const xs = pts.map((p) => p[0]);
  const ys = pts.map((p) => p[1]);
  let x0 = Math.min(...xs);
  let x1 = Math.max(...xs);
  if (x1 === x0) x1 = x0 + 1;
  const yTicks = niceTicks(o.yMin ?? Math.min(0, ...ys), Math.max(...ys), 5);
  const y0 = yTicks[0]!;
  const y1 = yTicks.at(-1)!;
  const iw = W - PAD.l - PAD.r;
  const ih = H - PAD.t - PAD.b;
  const sx = (x: number) => PAD.l + ((x - x0) / (x1 - x0)) * iw;
  const sy = (y: number) => PAD.t + ih - ((y - y0) / (y1 - y0 || 1)) * ih;
  const parts: string[] = [head];

  for (const b of o.bands ?? []) {
    const a = sx(Math.max(x0, b.from));
    const z = sx(Math.min(x1, b.to));
    if (z - a < 1) continue;
    const fits = (t: string) => t.length * BAND_CHAR_PX + 6 <= z - a;
    const text = fits(b.label) ? b.label : b.key && fits(b.key) ? b.key : null;
    parts.push(
      `<g class="phase"><title>${esc(b.label)}</title>` +
        `<rect class="${b.shade !== false ? 'band' : 'band clear'}" x="${f(a)}" y="${PAD.t}" width="${f(z - a)}" height="${ih}"/>` +
        (text ? `<text class="bl" x="${f(a + 3)}" y="${PAD.t + 10}">${esc(text)}</text>` : '') +
        `</g>`,
    );
  }
  for (const t of yTicks) {
    parts.push(`<line class="grid" x1="${PAD.l}" x2="${W - PAD.r}" y1="${f(sy(t))}" y2="${f(sy(t))}"/>`);
    parts.push(`<text class="tick" x="${PAD.l - 6}" y="${f(sy(t) + 4)}" text-anchor="end">${esc(short(t))}</text>`);
  }
  const xt = o.xTicks ?? niceTicks(x0, x1, 6).filter((t) => t >= x0 && t <= x1).map((x) => ({ x, label: short(x) }));
  for (const t of xt) {
    if (t.x < x0 || t.x > x1) continue;
    parts.push(`<line class="axis" x1="${f(sx(t.x))}" x2="${f(sx(t.x))}" y1="${PAD.t + ih}" y2="${PAD.t + ih + 4}"/>`);
    parts.push(`<text class="tick" x="${f(sx(t.x))}" y="${PAD.t + ih + 16}" text-anchor="middle">${esc(t.label)}</text>`);
  }
  parts.push(`<line class="axis" x1="${PAD.l}" x2="${W - PAD.r}" y1="${PAD.t + ih}" y2="${PAD.t + ih}"/>`);
  if (o.xLabel) parts.push(`<text class="al" x="${W - PAD.r}" y="${H - 4}" text-anchor="end">${esc(o.xLabel)}</text>`);
  if (o.yLabel) parts.push(`<text class="al" x="4" y="${PAD.t - 8}">${esc(o.yLabel)}</text>`);

  for (const s of series) {
    const p = s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
    if (!p.length) continue;
    let d = `M${f(sx(p[0]![0]))},${f(sy(p[0]![1]))}`;
    for (let i = 1; i < p.length; i++) {
      if (o.step) d += `H${f(sx(p[i]![0]))}`;
      d += `L${f(sx(p[i]![0]))},${f(sy(p[i]![1]))}`;
    }
    if (s.area) parts.push(`<path d="${d}L${f(sx(p.at(-1)![0]))},${f(sy(y0))}L${f(sx(p[0]![0]))},${f(sy(y0))}Z" fill="${s.color}" fill-opacity="0.12" stroke="none"/>`);
    parts.push(`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="5 4"' : ''}><title>${esc(s.name)}</title></path>`);
    if (p.length === 1) parts.push(`<circle cx="${f(sx(p[0]![0]))}" cy="${f(sy(p[0]![1]))}" r="3" fill="${s.color}"/>`);
  }
  // legend, top right
  let lx = W - PAD.r;
  for (const s of [...series].reverse()) {
    const w = s.name.length * 6.2 + 22;
    lx -= w;
    parts.push(`<line x1="${f(lx)}" x2="${f(lx + 14)}" y1="12" y2="12" stroke="${s.color}" stroke-width="3"${s.dashed ? ' stroke-dasharray="4 3"' : ''}/>`);
    parts.push(`<text class="lg" x="${f(lx + 18)}" y="16">${esc(s.name)}</text>`);
  }
  return svg(W, H, parts.join(''));
}

/** Horizontal bars with a value label; `max` sets the scale (e.g. 1 for ratios). */
export function barChart(bars: Array<{ label: string; value: number; color: string; text?: string }>, o: { width?: number; max?: number; title?: string } = {}): string {
  const W = o.width ?? 520;
  const rowH = 22;
  const top = o.title ? 24 : 6;
  const H = top + bars.length * rowH + 6;
  const labelW = Math.min(180, Math.max(40, ...bars.map((b) => b.label.length * 7 + 10)));
  const max = o.max ?? Math.max(1e-9, ...bars.map((b) => b.value));
  const iw = W - labelW - 70;
  const parts = [o.title ? `<text class="ct" x="0" y="16">${esc(o.title)}</text>` : ''];
  bars.forEach((b, i) => {
    const y = top + i * rowH;
    const w = Math.max(0, Math.min(1, b.value / max)) * iw;
    parts.push(`<text class="tick" x="${f(labelW - 6)}" y="${y + 15}" text-anchor="end">${esc(b.label)}</text>`);
    parts.push(`<rect x="${f(labelW)}" y="${y + 3}" width="${f(iw)}" height="${rowH - 8}" class="track"/>`);
    parts.push(`<rect x="${f(labelW)}" y="${y + 3}" width="${f(w)}" height="${rowH - 8}" fill="${b.color}" rx="2"/>`);
    parts.push(`<text class="tick" x="${f(labelW + iw + 6)}" y="${y + 15}">${esc(b.text ?? short(b.value))}</text>`);
  });
  return svg(W, H, parts.join(''));
}

function svg(w: number, h: number, body: string): string {
  return `<svg class="chart" viewBox="0 0 ${w} ${h}" width="${w}" height="${h}" role="img">${body}</svg>`;
}

/** Round tick values covering [lo, hi]. */
export function niceTicks(lo: number, hi: number, count: number): number[] {
  if (!(hi > lo)) hi = lo + 1;
  const raw = (hi - lo) / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const start = Math.floor(lo / step) * step;
  const out: number[] = [];
  for (let v = start; v < hi + step * 0.999; v += step) out.push(Math.round(v / step) * step);
  return out;
}

export function short(v: number): string {
  const a = Math.abs(v);
  if (a >= 1e9) return `${+(v / 1e9).toFixed(1)}G`;
  if (a >= 1e6) return `${+(v / 1e6).toFixed(1)}M`;
  if (a >= 1e4) return `${+(v / 1e3).toFixed(1)}k`;
  if (a >= 100 || Number.isInteger(v)) return String(Math.round(v));
  if (a >= 1) return String(+v.toFixed(2));
  return String(+v.toPrecision(2));
}

const f = (v: number) => (Math.round(v * 10) / 10).toString();

export function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}
