/**
 * Node process metrics, once per process: two brokers embedded in one process share the process, so
 * they report the same series rather than each starting its own event-loop monitor and GC observer.
 * Created when the first HTTP endpoint starts.
 *
 * prom-client's default set (event-loop lag and its delay histogram's summary, heap and heap spaces,
 * external memory, GC durations by kind, CPU, resident memory, file descriptors, handles, start time,
 * Node version), which dashboards built for prom-client read as they are (docs/grafana/): the
 * library's own collectors, but for the CPU one, which is processCpuCollector below (see prom.ts
 * for why), and the GC one, which is gcCollector below.
 */
import { constants, PerformanceObserver } from 'node:perf_hooks';
import { Counter, DEFAULT_COLLECTORS_BUT_CPU_AND_GC, Histogram, Registry } from './prom.js';

/** The event-loop delay histogram's resolution: prom-client's default, said here because it is a cost. */
const EVENT_LOOP_RESOLUTION_MS = 10;

let registry: Registry | null = null;

/** Start collecting (the event-loop delay histogram and GC observer run from here on); idempotent. */
export function startProcessMetrics(): Registry {
  if (registry === null) {
    registry = new Registry();
    processCpuCollector(registry);
    gcCollector(registry);
    for (const collect of DEFAULT_COLLECTORS_BUT_CPU_AND_GC) collect(registry, { eventLoopMonitoringPrecision: EVENT_LOOP_RESOLUTION_MS });
  }
  return registry;
}

export function processMetricsText(): Promise<string> {
  return startProcessMetrics().metrics();
}

/**
 * prom-client's `process_cpu_user_seconds_total`, `process_cpu_system_seconds_total` and
 * `process_cpu_seconds_total`, with its names, help and values, without the exemplar support that
 * makes its collector load OpenTelemetry — and without its arithmetic: prom-client adds the CPU time
 * since the last scrape to each series (`inc()`, so `value +=` on the series object), and that one
 * write deoptimized the broker's produce path (see Tally in metrics.ts). Each scrape reports
 * `process.cpuUsage()` as it is, in series made afresh: the CPU time since the process started
 * (prom-client's count starts when its collector is registered).
 */
function processCpuCollector(into: Registry): void {
  // One reading per scrape for the three series (the registry asks each in the same turn of the event
  // loop), so that the total is exactly user + system, as prom-client's is.
  let usage: NodeJS.CpuUsage | null = null;
  const read = (): NodeJS.CpuUsage => {
    if (usage === null) {
      usage = process.cpuUsage();
      setImmediate(() => (usage = null));
    }
    return usage;
  };
  new TotalCounter(into, 'process_cpu_user_seconds_total', 'Total user CPU time spent in seconds.', () => read().user / 1e6);
  new TotalCounter(into, 'process_cpu_system_seconds_total', 'Total system CPU time spent in seconds.', () => read().system / 1e6);
  new TotalCounter(into, 'process_cpu_seconds_total', 'Total user and system CPU time spent in seconds.', () => (read().user + read().system) / 1e6);
}

/** GC durations held between two scrapes before they go into the histogram at once (a named limit). */
export const GC_PENDING_MAX = 1024;
/** prom-client's buckets for nodejs_gc_duration_seconds (its DEFAULT_GC_DURATION_BUCKETS), in seconds. */
const GC_DURATION_BUCKETS = [0.001, 0.01, 0.1, 1, 2, 5];

/**
 * prom-client's `nodejs_gc_duration_seconds` (name, help, `kind` label, buckets), counting every GC.
 * prom-client's own collector observes only the first entry of each list its PerformanceObserver
 * is handed, and Node hands the GCs of one turn of the event loop as one list: a broker producing
 * at full speed had about a quarter of its GCs missing from the count and the sum (196 GCs in 145
 * lists, measured). Here each entry's kind and duration go into two typed arrays, and into the
 * histogram when it is read (a scrape) or when GC_PENDING_MAX are waiting: the observer's callback
 * allocates nothing and hashes no label per GC.
 */
function gcCollector(into: Registry): void {
  const kinds: string[] = [];
  kinds[constants.NODE_PERFORMANCE_GC_MAJOR] = 'major';
  kinds[constants.NODE_PERFORMANCE_GC_MINOR] = 'minor';
  kinds[constants.NODE_PERFORMANCE_GC_INCREMENTAL] = 'incremental';
  kinds[constants.NODE_PERFORMANCE_GC_WEAKCB] = 'weakcb';
  const pendingKind = new Uint8Array(GC_PENDING_MAX);
  const pendingSeconds = new Float64Array(GC_PENDING_MAX);
  let pending = 0;
  const flush = (): void => {
    for (let i = 0; i < pending; i++) histogram.observe({ kind: kinds[pendingKind[i]!] ?? 'unknown' }, pendingSeconds[i]!);
    pending = 0;
  };
  const histogram: Histogram<'kind'> = new Histogram({
    name: 'nodejs_gc_duration_seconds',
    help: 'Garbage collection duration by kind, one of major, minor, incremental or weakcb.',
    labelNames: ['kind'],
    buckets: GC_DURATION_BUCKETS,
    registers: [into],
    collect: flush,
  });
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      if (pending === GC_PENDING_MAX) flush();
      // Node 16 and later give the kind in `detail` (DEP0152).
      pendingKind[pending] = (entry as unknown as { detail: { kind: number } }).detail.kind;
      pendingSeconds[pending++] = entry.duration / 1000;
    }
  }).observe({ entryTypes: ['gc'] });
}

/** What a prom-client counter hands its registry: the series' names, labels and values. */
type CounterData = Awaited<ReturnType<Counter<string>['get']>>;

/** A label-less counter whose total is read at scrape time into a series made afresh. */
class TotalCounter extends Counter<string> {
  constructor(
    registry: Registry,
    private readonly metricName: string,
    private readonly helpText: string,
    private readonly total: () => number,
  ) {
    super({ name: metricName, help: helpText, registers: [registry] });
  }

  override async get(): Promise<CounterData> {
    // The registry reads `type` as the exposition's word ('counter', what prom-client's own classes
    // hold); its typings declare a numeric enum that its JavaScript does not have, hence the cast.
    return { name: this.metricName, help: this.helpText, type: 'counter', values: [{ value: this.total(), labels: {} }], aggregator: 'sum' } as unknown as CounterData;
  }
}
