/**
 * Node process metrics, once per process: two brokers embedded in one process share the process, so
 * they report the same series rather than each starting its own event-loop monitor and GC observer.
 * Created when the first HTTP endpoint starts.
 *
 * The series are those of prom-client's default set, by the same names, labels, buckets and meaning
 * (event-loop lag and its delay histogram's summary, heap and heap spaces, external memory, GC
 * durations by kind, CPU, resident memory, open file descriptors, active resources, start time, Node
 * version), which dashboards built for prom-client read as they are (docs/grafana-dashboard.json).
 * They are defined here on prom-client's own Gauge, Counter and Histogram rather than with
 * `collectDefaultMetrics()`, because loading that collector set loads @opentelemetry/api and a dozen
 * modules (about 0.9 MB of live heap, see prom.ts for why live heap costs on the produce path) for
 * figures Node gives in one call each.
 */
import { readdirSync } from 'node:fs';
import { constants as perfConstants, monitorEventLoopDelay, PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';
import v8 from 'node:v8';
import { Counter, Gauge, Histogram, Registry } from './prom.js';

/** The event-loop delay histogram's resolution: prom-client's default. */
const EVENT_LOOP_RESOLUTION_MS = 10;
/** GC pause buckets (seconds): prom-client's defaults for nodejs_gc_duration_seconds. */
const GC_SECONDS_BUCKETS = [0.001, 0.01, 0.1, 1, 2, 5];

/** The `kind` label of a GC entry, as prom-client names them. */
const GC_KINDS = new Map<number, string>([
  [perfConstants.NODE_PERFORMANCE_GC_MAJOR, 'major'],
  [perfConstants.NODE_PERFORMANCE_GC_MINOR, 'minor'],
  [perfConstants.NODE_PERFORMANCE_GC_INCREMENTAL, 'incremental'],
  [perfConstants.NODE_PERFORMANCE_GC_WEAKCB, 'weakcb'],
]);

let registry: Registry | null = null;

/** Start collecting (the event-loop delay histogram and GC observer run from here on); idempotent. */
export function startProcessMetrics(): Registry {
  if (registry === null) registry = createProcessMetrics();
  return registry;
}

export function processMetricsText(): Promise<string> {
  return startProcessMetrics().metrics();
}

function createProcessMetrics(): Registry {
  const r = new Registry();
  const registers = [r];
  const gauge = (name: string, help: string, collect?: () => void) => new Gauge({ name, help, registers, ...(collect ? { collect } : {}) });

  // ---- CPU: counters whose totals Node keeps, advanced by the difference at each scrape ------------
  // prom-client reads each metric in the order it was registered, and a metric's collect() runs just
  // before it is read: so a collect() setting several metrics belongs to the first of them.
  let lastCpu = { user: 0, system: 0 };
  new Counter({
    name: 'process_cpu_user_seconds_total',
    help: 'Total user CPU time spent in seconds.',
    registers,
    collect() {
      const now = process.cpuUsage();
      const user = (now.user - lastCpu.user) / 1e6;
      const system = (now.system - lastCpu.system) / 1e6;
      lastCpu = now;
      this.inc(user);
      systemCounter.inc(system);
      totalCounter.inc(user + system);
    },
  });
  const systemCounter = new Counter({ name: 'process_cpu_system_seconds_total', help: 'Total system CPU time spent in seconds.', registers });
  const totalCounter = new Counter({ name: 'process_cpu_seconds_total', help: 'Total user and system CPU time spent in seconds.', registers });

  // ---- memory and handles ---------------------------------------------------------------------------
  // Floored, not rounded as prom-client does: a start time half a second in the future reads wrong.
  const startSeconds = Math.floor(Date.now() / 1000 - process.uptime());
  gauge('process_start_time_seconds', 'Start time of the process since unix epoch in seconds.').set(startSeconds);
  gauge('process_resident_memory_bytes', 'Resident memory size in bytes.', function (this: Gauge<string>) {
    this.set(process.memoryUsage.rss());
  });
  // /proc/self/fd is Linux's; elsewhere the series is left out, as prom-client does.
  if (process.platform === 'linux') {
    gauge('process_open_fds', 'Number of open file descriptors.', function (this: Gauge<string>) {
      try {
        this.set(readdirSync('/proc/self/fd').length - 1); // less the descriptor of the listing itself
      } catch {
        // The count is unavailable (a sandbox without /proc): the last one stays.
      }
    });
  }
  // One collect for the heap figures: memoryUsage() and the heap spaces read once per scrape.
  gauge('nodejs_heap_size_total_bytes', 'Process heap size from Node.js in bytes.', function (this: Gauge<string>) {
    const m = process.memoryUsage();
    this.set(m.heapTotal);
    heapUsed.set(m.heapUsed);
    external.set(m.external);
    for (const s of v8.getHeapSpaceStatistics()) {
      const space = s.space_name.replace(/_space$/, '');
      spaceTotal.set({ space }, s.space_size);
      spaceUsed.set({ space }, s.space_used_size);
      spaceAvailable.set({ space }, s.space_available_size);
    }
  });
  const heapUsed = gauge('nodejs_heap_size_used_bytes', 'Process heap size used from Node.js in bytes.');
  const external = gauge('nodejs_external_memory_bytes', 'Node.js external memory size in bytes.');
  const spaceGauge = (name: string, help: string) => new Gauge({ name, help, labelNames: ['space'], registers });
  const spaceTotal = spaceGauge('nodejs_heap_space_size_total_bytes', 'Process heap space size total from Node.js in bytes.');
  const spaceUsed = spaceGauge('nodejs_heap_space_size_used_bytes', 'Process heap space size used from Node.js in bytes.');
  const spaceAvailable = spaceGauge('nodejs_heap_space_size_available_bytes', 'Process heap space size available from Node.js in bytes.');
  gauge('nodejs_active_resources_total', 'Total number of active resources.', function (this: Gauge<string>) {
    this.set(process.getActiveResourcesInfo().length);
  });
  new Gauge({ name: 'nodejs_version_info', help: 'Node.js version info.', labelNames: ['version', 'major', 'minor', 'patch'], registers }).set(
    { version: process.version, major: String(process.versions.node.split('.')[0]), minor: String(process.versions.node.split('.')[1]), patch: String(process.versions.node.split('.')[2]) },
    1,
  );

  // ---- event loop -------------------------------------------------------------------------------------
  const delay = monitorEventLoopDelay({ resolution: EVENT_LOOP_RESOLUTION_MS });
  delay.enable();
  gauge('nodejs_eventloop_lag_seconds', 'Lag of event loop in seconds.', function (this: Gauge<string>) {
    // As prom-client: the time a setImmediate takes to run, shown at the next scrape; the delay
    // histogram's summary since the last scrape.
    const start = process.hrtime.bigint();
    setImmediate(() => this.set(Number(process.hrtime.bigint() - start) / 1e9));
    lagMin.set(delay.min / 1e9);
    lagMax.set(delay.max / 1e9);
    lagMean.set(delay.mean / 1e9);
    lagStddev.set(delay.stddev / 1e9);
    lagP50.set(delay.percentile(50) / 1e9);
    lagP90.set(delay.percentile(90) / 1e9);
    lagP99.set(delay.percentile(99) / 1e9);
    delay.reset();
  });
  const lagMin = gauge('nodejs_eventloop_lag_min_seconds', 'The minimum recorded event loop delay.');
  const lagMax = gauge('nodejs_eventloop_lag_max_seconds', 'The maximum recorded event loop delay.');
  const lagMean = gauge('nodejs_eventloop_lag_mean_seconds', 'The mean of the recorded event loop delays.');
  const lagStddev = gauge('nodejs_eventloop_lag_stddev_seconds', 'The standard deviation of the recorded event loop delays.');
  const lagP50 = gauge('nodejs_eventloop_lag_p50_seconds', 'The 50th percentile of the recorded event loop delays.');
  const lagP90 = gauge('nodejs_eventloop_lag_p90_seconds', 'The 90th percentile of the recorded event loop delays.');
  const lagP99 = gauge('nodejs_eventloop_lag_p99_seconds', 'The 99th percentile of the recorded event loop delays.');

  // ---- GC -----------------------------------------------------------------------------------------------
  const gc = new Histogram({
    name: 'nodejs_gc_duration_seconds',
    help: 'Garbage collection duration by kind, one of major, minor, incremental or weakcb.',
    labelNames: ['kind'],
    buckets: GC_SECONDS_BUCKETS,
    registers,
  });
  // One child per kind, so an observation hashes no labels.
  const byKind = new Map([...GC_KINDS].map(([k, kind]) => [k, gc.labels({ kind })]));
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const kind = (entry as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind;
      if (kind !== undefined) byKind.get(kind)?.observe(entry.duration / 1000);
    }
  }).observe({ entryTypes: ['gc'] });
  return r;
}
