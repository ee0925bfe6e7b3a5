/**
 * Node process metrics (prom-client's default set: event-loop lag, heap and other memory, GC
 * durations, CPU, open handles, file descriptors), once per process: two brokers embedded in one
 * process share the process, so they report the same series rather than each starting its own
 * event-loop monitor and GC observer. Created on the first scrape.
 */
import promClient from 'prom-client';

let registry: promClient.Registry | null = null;

/** Start collecting (the event-loop delay histogram and GC observer run from here on); idempotent. */
export function startProcessMetrics(): promClient.Registry {
  if (registry === null) {
    registry = new promClient.Registry();
    // 10 ms: prom-client's default resolution of the event-loop delay histogram.
    promClient.collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 10 });
  }
  return registry;
}

export function processMetricsText(): Promise<string> {
  return startProcessMetrics().metrics();
}
