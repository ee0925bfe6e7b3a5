/**
 * Hand-rolled SVG charts: a sparkline for the overview's rates and a line chart (one line per series,
 * a legend and the largest value) for a group's lag over time. A few dozen points each: no library.
 */
import { html } from './html.js';

const COLORS = ['#2563eb', '#dc2626', '#16a34a', '#9333ea', '#ea580c', '#0891b2', '#be185d', '#4d7c0f'];

function path(points: readonly [number, number][], x0: number, x1: number, max: number, w: number, h: number): string {
  const span = Math.max(1, x1 - x0);
  return points.map(([x, y], i) => `${i === 0 ? 'M' : 'L'}${(((x - x0) / span) * w).toFixed(1)},${(h - (y / max) * (h - 2) - 1).toFixed(1)}`).join(' ');
}

export function Sparkline(props: { label: string; values: readonly number[]; format: (n: number) => string }) {
  const { values } = props;
  const w = 240;
  const h = 48;
  const max = Math.max(1, ...values);
  const last = values.length > 0 ? values[values.length - 1]! : 0;
  const pts = values.map((v, i) => [i, v] as [number, number]);
  return html`<figure class="spark" data-label=${props.label}>
    <figcaption><span>${props.label}</span> <strong class="spark-value">${props.format(last)}</strong></figcaption>
    <svg viewBox="0 0 ${w} ${h}" width=${w} height=${h} role="img" aria-label=${`${props.label}: ${props.format(last)} now, peak ${props.format(max)}`}>
      <line x1="0" y1=${h - 1} x2=${w} y2=${h - 1} class="axis" />
      ${pts.length > 1 ? html`<path d=${path(pts, 0, pts.length - 1, max, w, h)} class="spark-line" />` : null}
    </svg>
    <small>peak ${props.format(max)} · ${values.length} samples</small>
  </figure>`;
}

export interface Series {
  name: string;
  points: [number, number][];
}

/** Lines over time: x is ms since the epoch; the y axis starts at 0 and ends at the largest value. */
export function LineChart(props: { title: string; series: readonly Series[]; unit: string }) {
  const w = 640;
  const h = 200;
  const all = props.series.flatMap((s) => s.points);
  if (all.length === 0) return html`<p class="muted">No samples yet.</p>`;
  const x0 = Math.min(...all.map((p) => p[0]));
  const x1 = Math.max(...all.map((p) => p[0]));
  const max = Math.max(1, ...all.map((p) => p[1]));
  return html`<figure class="chart">
    <figcaption>${props.title}</figcaption>
    <svg viewBox="-40 -10 ${w + 50} ${h + 30}" width=${w + 50} height=${h + 30} role="img" aria-label=${props.title}>
      <line x1="0" y1=${h} x2=${w} y2=${h} class="axis" />
      <line x1="0" y1="0" x2="0" y2=${h} class="axis" />
      <text x="-6" y="4" text-anchor="end" class="tick">${max}</text>
      <text x="-6" y=${h} text-anchor="end" class="tick">0</text>
      <text x="0" y=${h + 16} class="tick">${new Date(x0).toLocaleTimeString()}</text>
      <text x=${w} y=${h + 16} text-anchor="end" class="tick">${new Date(x1).toLocaleTimeString()}</text>
      ${props.series.map(
        (s, i) => html`<path d=${path(s.points, x0, x1, max, w, h)} class="chart-line" stroke=${COLORS[i % COLORS.length]} data-series=${s.name} />`,
      )}
    </svg>
    <ul class="legend">
      ${props.series.map((s, i) => html`<li><span class="swatch" style=${{ background: COLORS[i % COLORS.length] }}></span>${s.name}: ${s.points[s.points.length - 1]?.[1] ?? '–'} ${props.unit}</li>`)}
    </ul>
  </figure>`;
}
