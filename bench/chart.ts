/**
 * The comparison as a picture: hand-written SVG, no dependencies. One group of horizontal bars per
 * figure (each workload's throughput or p99 latency, start-up, idle and peak RSS), one bar per
 * system. Each group is scaled to its own largest value, so bars compare systems within a figure; the
 * printed value and the ratio to Apache Kafka (as shipped) give the absolute numbers. Drawn all in one
 * picture, and each workload alone (bench/README.md shows those).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { headline, type ComparisonResult, type SystemResult, type Workload } from './compare.js';

/**
 * Write `<stem>.svg` (every figure in one picture), one `<stem>-charts/<workload id>.svg` per workload
 * (what bench/README.md shows), and `<stem>.png` too when `rsvg-convert` (Debian: librsvg2-bin) is
 * installed. Returns the files written.
 */
export function writeChart(result: ComparisonResult, stem: string): string[] {
  const written = [`${stem}.svg`];
  writeFileSync(`${stem}.svg`, renderChart(result));
  const dir = `${stem}-charts`;
  mkdirSync(dir, { recursive: true });
  for (const { id, svg } of renderWorkloadCharts(result)) {
    writeFileSync(join(dir, `${id}.svg`), svg);
    written.push(join(dir, `${id}.svg`));
  }
  try {
    execFileSync('rsvg-convert', ['-o', `${stem}.png`, `${stem}.svg`], { stdio: 'ignore' });
    written.push(`${stem}.png`);
  } catch {
    // no rsvg-convert: the SVGs only
  }
  return written;
}

/** One picture per workload (its throughput, or its p99 latency) and one for start-up and memory. */
export function renderWorkloadCharts(result: ComparisonResult): { id: string; svg: string }[] {
  const all = groups(result);
  const perWorkload = result.workloads.flatMap((w) => {
    const g = all.find((x) => x.id === w.id);
    return g === undefined ? [] : [{ id: w.id, svg: renderChart(result, [g], w.label) }];
  });
  const system = all.filter((g) => g.id === undefined);
  return system.length > 0 ? [...perWorkload, { id: 'startup-memory', svg: renderChart(result, system, 'start-up and memory') }] : perWorkload;
}

const COLORS: Record<string, string> = {
  'rafka-memory': '#2b8cbe',
  'rafka-memory-wal': '#7bccc4',
  'rafka-log': '#0868ac',
  'rafka-log-interval': '#4eb3d3',
  'rafka-rocksdb': '#43a2ca',
  kafka: '#e34a33',
  'kafka-fsync': '#fdbb84',
};

interface Group {
  /** The workload's id; undefined for the start-up and memory figures. */
  id?: string;
  title: string;
  higherIsBetter: boolean;
  unit: (v: number) => string;
  values: { system: string; value: number }[];
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function fmtRate(v: number): string {
  return v >= 1e6 ? `${(v / 1e6).toFixed(2)}M rec/s` : `${(v / 1e3).toFixed(0)}k rec/s`;
}

function groups(result: ComparisonResult): Group[] {
  const measured = result.systems.filter((s): s is SystemResult & { median: NonNullable<SystemResult['median']> } => !!s.median && !s.unavailable);
  const out: Group[] = [];
  const perWorkload = (w: Workload): Group => ({
    id: w.id,
    title: w.kind === 'produce' || w.kind === 'consume' ? w.label : `${w.label}: p99`,
    higherIsBetter: w.kind === 'produce' || w.kind === 'consume',
    unit: w.kind === 'produce' || w.kind === 'consume' ? fmtRate : (v) => `${Number.isInteger(v) ? v : v.toFixed(2)} ms`,
    values: measured.flatMap((s) => {
      const v = headline(w, s.median.workloads[w.id]);
      return v === undefined ? [] : [{ system: s.name, value: v }];
    }),
  });
  for (const w of result.workloads) out.push(perWorkload(w));
  const sys = (title: string, pick: (m: NonNullable<SystemResult['median']>) => number | null | undefined, unit: (v: number) => string): Group => ({
    title,
    higherIsBetter: false,
    unit,
    values: measured.flatMap((s) => {
      const v = pick(s.median);
      return typeof v === 'number' ? [{ system: s.name, value: v }] : [];
    }),
  });
  out.push(sys('start-up: process start to first acknowledged produce', (m) => m.startToFirstProduceMs, (v) => `${Math.round(v)} ms`));
  out.push(sys('idle RSS after start-up', (m) => m.idleRssBytes, (v) => `${(v / 2 ** 20).toFixed(0)} MiB`));
  out.push(sys('peak RSS over the run', (m) => m.peakRssBytes, (v) => `${(v / 2 ** 20).toFixed(0)} MiB`));
  return out.filter((g) => g.values.length > 0);
}

export function renderChart(result: ComparisonResult, gs: readonly Group[] = groups(result), subtitle?: string): string {
  const width = 980;
  const labelW = 0;
  const barX = 150;
  const barMaxW = 560;
  const barH = 14;
  const gap = 3;
  const titleH = 20;
  const groupPad = 14;
  const top = 78;
  let y = top;
  const body: string[] = [];
  for (const g of gs) {
    body.push(`<text x="12" y="${y + 13}" class="g">${esc(g.title)} <tspan class="hint">(${g.higherIsBetter ? 'higher is better' : 'lower is better'})</tspan></text>`);
    y += titleH;
    const max = Math.max(...g.values.map((v) => v.value), 1e-9);
    const kafka = g.values.find((v) => v.system === 'kafka')?.value;
    for (const v of g.values) {
      const w = Math.max(1, (v.value / max) * barMaxW);
      const color = COLORS[v.system] ?? '#999';
      const vsKafka = kafka && v.system !== 'kafka' && kafka > 0 ? ` · ${(v.value / kafka).toFixed(2)}× Kafka` : '';
      body.push(`<text x="${barX - 6}" y="${y + barH - 3}" class="s" text-anchor="end">${esc(v.system)}</text>`);
      body.push(`<rect x="${barX}" y="${y}" width="${w.toFixed(1)}" height="${barH}" fill="${color}"/>`);
      body.push(`<text x="${barX + w + 5}" y="${y + barH - 3}" class="v">${esc(g.unit(v.value) + vsKafka)}</text>`);
      y += barH + gap;
    }
    y += groupPad;
  }
  const height = y + 10;
  const kafkaLabel = 'version' in result.kafka ? `Apache Kafka ${result.kafka.version}` : 'Apache Kafka (unavailable)';
  const load = result.loadAverage ? `, load avg ${result.loadAverage.min.toFixed(1)}–${result.loadAverage.max.toFixed(1)}` : '';
  void labelW;
  return `<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif">
<style>
  .t { font-size: 17px; font-weight: bold; fill: #222; }
  .m { font-size: 11px; fill: #555; }
  .g { font-size: 12px; font-weight: bold; fill: #222; }
  .hint { font-weight: normal; fill: #777; }
  .s { font-size: 11px; fill: #333; }
  .v { font-size: 11px; fill: #333; }
</style>
<rect width="100%" height="100%" fill="#fff"/>
<text x="12" y="26" class="t">Rafka vs ${esc(kafkaLabel)}${subtitle !== undefined ? `: ${esc(subtitle)}` : ''}${result.quick ? ' (quick smoke run)' : ''}</text>
<text x="12" y="46" class="m">${esc(`median of ${result.runs} run${result.runs > 1 ? 's' : ''} · ${result.date.slice(0, 16).replace('T', ' ')} UTC · ${result.machine}${load}`)}</text>
<text x="12" y="62" class="m">${esc("same client for every system: Kafka's ProducerPerformance / ConsumerPerformance / EndToEndLatency and FixedRateLatency (Java client); bars scaled per figure")}</text>
${body.join('\n')}
</svg>
`;
}

// `node dist/bench/chart.js bench/results/DATE.json`: draw the charts again from a saved run (its
// `comparison`), next to the JSON, without running the bench.
if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const file = process.argv[2];
  if (file === undefined) {
    console.error('usage: node dist/bench/chart.js bench/results/DATE.json');
    process.exit(2);
  }
  const saved = JSON.parse(readFileSync(file, 'utf8')) as { comparison?: ComparisonResult };
  if (saved.comparison === undefined) {
    console.error(`${file} holds no comparison with Kafka`);
    process.exit(1);
  }
  for (const f of writeChart(saved.comparison, file.replace(/\.json$/, ''))) console.log(f);
}
