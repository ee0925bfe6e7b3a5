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
 * `process_cpu_seconds_total`, with its names, help and arithmetic (each scrape adds the CPU time
 * since the last), without the exemplar support that makes its collector load OpenTelemetry.
 */
function processCpuCollector(into: Registry): void {
  let last = process.cpuUsage();
  const user = new Counter({
    name: 'process_cpu_user_seconds_total',
    help: 'Total user CPU time spent in seconds.',
    registers: [into],
    collect() {
      const now = process.cpuUsage();
      const userMicros = now.user - last.user;
      const systemMicros = now.system - last.system;
      last = now;
      user.inc(userMicros / 1e6);
      system.inc(systemMicros / 1e6);
      total.inc((userMicros + systemMicros) / 1e6);
    },
  });
  const system = new Counter({ name: 'process_cpu_system_seconds_total', help: 'Total system CPU time spent in seconds.', registers: [into] });
  const total = new Counter({ name: 'process_cpu_seconds_total', help: 'Total user and system CPU time spent in seconds.', registers: [into] });
}
