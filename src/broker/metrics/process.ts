/**
 * The broker thread's Node metrics, once per process: two brokers embedded in one process share the
 * thread, so they report the same series rather than each starting its own event-loop monitor and
 * GC observer. Started when the first HTTP endpoint starts.
 *
 * The series of prom-client's default set that describe one thread's event loop or one isolate's
 * heap and GCs — event-loop lag and its delay histogram's summary, active resources, handles and
 * requests, heap and heap spaces, external memory, GC durations by kind — with prom-client's names,
 * help and labels, so that dashboards built for prom-client read them as they are (docs/grafana/).
 * They are read here, on the broker's thread, as plain numbers (families.ts): the HTTP endpoint's
 * worker that writes them out runs prom-client on a thread of its own, whose event loop and heap are not
 * the broker's. Its process-wide series (CPU, memory, file descriptors, start time, version) it reads
 * itself (exposition-text.ts).
 */
import { constants, monitorEventLoopDelay, PerformanceObserver, type IntervalHistogram } from 'node:perf_hooks';
import { getHeapSpaceStatistics } from 'node:v8';
import { family, HistogramTally, histogramFamily, type MetricFamily } from './families.js';

/** The event-loop delay histogram's resolution: prom-client's default, said here because it is a cost. */
const EVENT_LOOP_RESOLUTION_MS = 10;
/** prom-client's buckets for nodejs_gc_duration_seconds (its DEFAULT_GC_DURATION_BUCKETS), in seconds. */
const GC_DURATION_BUCKETS = [0.001, 0.01, 0.1, 1, 2, 5];

interface ProcessReadings {
  eventLoop: IntervalHistogram;
  /** `nodejs_eventloop_lag_seconds`: measured after each scrape (a setImmediate's delay), reported by the next, as prom-client does. */
  lagSeconds: number;
  /** GC durations by kind (perf_hooks' constants), each kind a series once it has happened. */
  gc: Map<number, HistogramTally>;
}

let readings: ProcessReadings | null = null;

/** Start collecting (the event-loop delay histogram and GC observer run from here on); idempotent. */
export function startProcessMetrics(): void {
  if (readings !== null) return;
  const eventLoop = monitorEventLoopDelay({ resolution: EVENT_LOOP_RESOLUTION_MS });
  eventLoop.enable();
  readings = { eventLoop, lagSeconds: 0, gc: new Map() };
  observeGc(readings.gc);
}

/**
 * Every GC's duration into its kind's tally. prom-client's own collector observes only the first
 * entry of each list its PerformanceObserver is handed, and Node hands the GCs of one turn of the
 * event loop as one list: a broker producing at full speed had about a quarter of its GCs missing
 * from the count and the sum (196 GCs in 145 lists, measured). The callback allocates nothing once
 * each kind has been seen.
 */
function observeGc(byKind: Map<number, HistogramTally>): void {
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      // Node 16 and later give the kind in `detail` (DEP0152).
      const kind = (entry as unknown as { detail: { kind: number } }).detail.kind;
      let tally = byKind.get(kind);
      if (tally === undefined) byKind.set(kind, (tally = new HistogramTally(GC_DURATION_BUCKETS)));
      tally.observe(entry.duration / 1000);
    }
  }).observe({ entryTypes: ['gc'] });
}

const GC_KIND_NAMES = new Map<number, string>([
  [constants.NODE_PERFORMANCE_GC_MAJOR, 'major'],
  [constants.NODE_PERFORMANCE_GC_MINOR, 'minor'],
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL, 'incremental'],
  [constants.NODE_PERFORMANCE_GC_WEAKCB, 'weakcb'],
]);

/** This thread's series as they are now, in prom-client's order (starts collecting if not yet). */
export function processFamilies(): MetricFamily[] {
  startProcessMetrics();
  const r = readings!;
  const families: MetricFamily[] = [];
  const gauge = (name: string, help: string, value: number): void => {
    const f = family('gauge', name, help);
    f.samples.push({ labels: {}, value });
    families.push(f);
  };

  const h = r.eventLoop;
  gauge('nodejs_eventloop_lag_seconds', 'Lag of event loop in seconds.', r.lagSeconds);
  gauge('nodejs_eventloop_lag_min_seconds', 'The minimum recorded event loop delay.', h.min / 1e9);
  gauge('nodejs_eventloop_lag_max_seconds', 'The maximum recorded event loop delay.', h.max / 1e9);
  gauge('nodejs_eventloop_lag_mean_seconds', 'The mean of the recorded event loop delays.', h.mean / 1e9);
  gauge('nodejs_eventloop_lag_stddev_seconds', 'The standard deviation of the recorded event loop delays.', h.stddev / 1e9);
  gauge('nodejs_eventloop_lag_p50_seconds', 'The 50th percentile of the recorded event loop delays.', h.percentile(50) / 1e9);
  gauge('nodejs_eventloop_lag_p90_seconds', 'The 90th percentile of the recorded event loop delays.', h.percentile(90) / 1e9);
  gauge('nodejs_eventloop_lag_p99_seconds', 'The 99th percentile of the recorded event loop delays.', h.percentile(99) / 1e9);
  h.reset();
  const start = process.hrtime.bigint();
  setImmediate(() => (r.lagSeconds = Number(process.hrtime.bigint() - start) / 1e9));

  const byType = (name: string, help: string, types: readonly string[]): void => {
    const f = family('gauge', name, help, ['type']);
    const counts = new Map<string, number>();
    for (const t of types) counts.set(t, (counts.get(t) ?? 0) + 1);
    for (const [type, value] of counts) f.samples.push({ labels: { type }, value });
    families.push(f);
  };
  const resources = process.getActiveResourcesInfo();
  byType('nodejs_active_resources', 'Number of active resources that are currently keeping the event loop alive, grouped by async resource type.', resources);
  gauge('nodejs_active_resources_total', 'Total number of active resources.', resources.length);
  const internal = process as unknown as { _getActiveHandles(): object[]; _getActiveRequests(): object[] };
  // As prom-client: by constructor name, skipping what has none.
  const names = (list: object[]) => list.flatMap((o) => (typeof o?.constructor === 'function' ? [o.constructor.name] : []));
  const handles = names(internal._getActiveHandles());
  byType('nodejs_active_handles', 'Number of active libuv handles grouped by handle type. Every handle type is C++ class name.', handles);
  gauge('nodejs_active_handles_total', 'Total number of active handles.', handles.length);
  const requests = names(internal._getActiveRequests());
  byType('nodejs_active_requests', 'Number of active libuv requests grouped by request type. Every request type is C++ class name.', requests);
  gauge('nodejs_active_requests_total', 'Total number of active requests.', requests.length);

  const memory = process.memoryUsage();
  gauge('nodejs_heap_size_total_bytes', 'Process heap size from Node.js in bytes.', memory.heapTotal);
  gauge('nodejs_heap_size_used_bytes', 'Process heap size used from Node.js in bytes.', memory.heapUsed);
  gauge('nodejs_external_memory_bytes', 'Node.js external memory size in bytes.', memory.external);
  const spaces = getHeapSpaceStatistics();
  for (const [measure, key] of [
    ['total', 'space_size'],
    ['used', 'space_used_size'],
    ['available', 'space_available_size'],
  ] as const) {
    const f = family('gauge', `nodejs_heap_space_size_${measure}_bytes`, `Process heap space size ${measure} from Node.js in bytes.`, ['space']);
    for (const s of spaces) f.samples.push({ labels: { space: s.space_name.substring(0, Math.max(0, s.space_name.indexOf('_space'))) }, value: s[key] });
    families.push(f);
  }

  const gcSeconds = [...r.gc].map(([kind, tally]) => tally.sample({ kind: GC_KIND_NAMES.get(kind) ?? 'unknown' }));
  families.push(histogramFamily('nodejs_gc_duration_seconds', 'Garbage collection duration by kind, one of major, minor, incremental or weakcb.', ['kind'], GC_DURATION_BUCKETS, gcSeconds));
  return families;
}
