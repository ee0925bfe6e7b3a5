/**
 * Node process metrics, once per process: two brokers embedded in one process share the process, so
 * they report the same series rather than each starting its own event-loop monitor and GC observer.
 * Created when the first HTTP endpoint starts.
 *
 * prom-client's default set (event-loop lag and its delay histogram's summary, heap and heap spaces,
 * external memory, GC durations by kind, CPU, resident memory, file descriptors, handles, start time,
 * Node version), which dashboards built for prom-client read as they are (docs/grafana/). Measured
 * against a copy of it defined on prom-client's classes: no difference on the produce path beyond
 * run-to-run noise (bench/README.md, "Metrics overhead"), so the library's own collectors it is.
 */
import promClient from 'prom-client';

/** The event-loop delay histogram's resolution: prom-client's default, said here because it is a cost. */
const EVENT_LOOP_RESOLUTION_MS = 10;

let registry: promClient.Registry | null = null;

/** Start collecting (the event-loop delay histogram and GC observer run from here on); idempotent. */
export function startProcessMetrics(): promClient.Registry {
  if (registry === null) {
    registry = new promClient.Registry();
    promClient.collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: EVENT_LOOP_RESOLUTION_MS });
  }
  return registry;
}

export function processMetricsText(): Promise<string> {
  return startProcessMetrics().metrics();
}
