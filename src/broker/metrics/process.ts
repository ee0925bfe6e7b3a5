/**
 * Node process metrics, once per process: two brokers embedded in one process share the process, so
 * they report the same series rather than each starting its own event-loop monitor and GC observer.
 * Created when the first HTTP endpoint starts.
 *
 * prom-client's default set (event-loop lag and its delay histogram's summary, heap and heap spaces,
 * external memory, GC durations by kind, CPU, resident memory, file descriptors, handles, start time,
 * Node version), which dashboards built for prom-client read as they are (docs/grafana/): the
 * library's own collectors, but for the CPU one, which is processCpuCollector below (see prom.ts
 * for why).
 */
import { Counter, DEFAULT_COLLECTORS_BUT_CPU, Registry } from './prom.js';

/** The event-loop delay histogram's resolution: prom-client's default, said here because it is a cost. */
const EVENT_LOOP_RESOLUTION_MS = 10;

let registry: Registry | null = null;

/** Start collecting (the event-loop delay histogram and GC observer run from here on); idempotent. */
export function startProcessMetrics(): Registry {
  if (registry === null) {
    registry = new Registry();
    processCpuCollector(registry);
    for (const collect of DEFAULT_COLLECTORS_BUT_CPU) collect(registry, { eventLoopMonitoringPrecision: EVENT_LOOP_RESOLUTION_MS });
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
