/**
 * A scrape's figures (families.ts) in Prometheus's text format, written with prom-client, then the
 * process-wide series that read the same from any thread: CPU time, resident and virtual memory, open
 * and maximum file descriptors, start time, Node version. Loaded only on the HTTP endpoint's worker
 * thread (../http/front-worker.ts): the broker's own isolate never loads prom-client, whose classes,
 * registry and the compiled code of its scrape path are live heap that every mark-compact of a busy broker walks (bench/README.md,
 * "Session 13").
 *
 * Each call gets a fresh registry filled from the families: series made afresh, never added to
 * (metrics.ts, LabelCount, for why that mattered on the broker's isolate; here it keeps each scrape
 * the figures it was handed and nothing older).
 */
import type { HistogramSample, MetricFamily } from './families.js';
import { Counter, Gauge, Histogram, PROCESS_WIDE_COLLECTORS, Registry } from './prom.js';

/** What a prom-client histogram hands its registry: the series' names, labels and values. */
type HistogramData = Awaited<ReturnType<Histogram<string>['get']>>;

/**
 * A histogram whose series are a family's samples (bucket counts kept by the broker as plain
 * numbers): the exposition prom-client's own Histogram gives, cumulative `_bucket` series with `le`,
 * then `_sum` and `_count`, per label set.
 */
class SampledHistogram extends Histogram<string> {
  constructor(
    registry: Registry,
    private readonly family: Extract<MetricFamily, { type: 'histogram' }>,
  ) {
    super({ name: family.name, help: family.help, labelNames: [...family.labelNames], buckets: [...family.bounds], registers: [registry] });
  }

  override async get(): Promise<HistogramData> {
    const { name, help, bounds, samples } = this.family;
    const values: HistogramData['values'] = [];
    for (const s of samples) pushHistogramSample(values, name, bounds, s);
    // The registry reads `type` as the exposition's word ('histogram', what prom-client's own classes
    // hold); its typings declare a numeric enum that its JavaScript does not have, hence the cast.
    return { name, help, type: 'histogram', values, aggregator: 'sum' } as unknown as HistogramData;
  }

  /** What the registry reads for the text format (prom-client prefers it to get()). */
  getForPromString(): Promise<HistogramData> {
    return this.get();
  }
}

function pushHistogramSample(values: HistogramData['values'], name: string, bounds: readonly number[], s: HistogramSample): void {
  let cumulative = 0;
  for (let i = 0; i < bounds.length; i++) {
    cumulative += s.buckets[i]!;
    values.push({ metricName: `${name}_bucket`, labels: { le: bounds[i]!, ...s.labels }, value: cumulative });
  }
  values.push({ metricName: `${name}_bucket`, labels: { le: '+Inf', ...s.labels }, value: s.count });
  values.push({ metricName: `${name}_sum`, labels: s.labels, value: s.sum });
  values.push({ metricName: `${name}_count`, labels: s.labels, value: s.count });
}

/**
 * prom-client's `process_cpu_user_seconds_total`, `process_cpu_system_seconds_total` and
 * `process_cpu_seconds_total` (names, help), from one `process.cpuUsage()` — the whole process's,
 * whichever thread asks — as it is: the CPU time since the process started. prom-client's own
 * collector counts from its registration (here, the first scrape) and loads the OpenTelemetry API
 * for exemplars we never enable.
 */
function cpuFamilies(): MetricFamily[] {
  const { user, system } = process.cpuUsage();
  const counter = (name: string, help: string, micros: number): MetricFamily => ({ type: 'counter', name, help, labelNames: [], samples: [{ labels: {}, value: micros / 1e6 }] });
  return [
    counter('process_cpu_user_seconds_total', 'Total user CPU time spent in seconds.', user),
    counter('process_cpu_system_seconds_total', 'Total system CPU time spent in seconds.', system),
    counter('process_cpu_seconds_total', 'Total user and system CPU time spent in seconds.', user + system),
  ];
}

/** The registry of the process-wide series, made once. */
const processWide = new Registry();
for (const collect of PROCESS_WIDE_COLLECTORS) collect(processWide, {});

/** `families` in the text format, then the process-wide series. */
export async function expose(families: readonly MetricFamily[]): Promise<string> {
  const registry = new Registry();
  for (const f of [...families, ...cpuFamilies()]) {
    if (f.type === 'histogram') {
      new SampledHistogram(registry, f);
    } else if (f.type === 'gauge') {
      const g = new Gauge({ name: f.name, help: f.help, labelNames: [...f.labelNames], registers: [registry] });
      for (const s of f.samples) g.set(s.labels, s.value);
    } else {
      const c = new Counter({ name: f.name, help: f.help, labelNames: [...f.labelNames], registers: [registry] });
      for (const s of f.samples) c.inc(s.labels, s.value);
    }
  }
  return (await registry.metrics()) + (await processWide.metrics());
}

export const CONTENT_TYPE = processWide.contentType;

