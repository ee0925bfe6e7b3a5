/**
 * prom-client's registry and metric classes, loaded from their own files rather than from the
 * package's index. The index also loads the Pushgateway (node:http, node:https, node:zlib), Summary
 * (tdigest, bintrees), the cluster aggregator, every default collector and, through the CPU
 * collector, the OpenTelemetry API: 1.7 MB of live heap against 0.34 MB for these four files
 * (measured after full GCs, Node 20; when these ran on the broker's thread, the index made its
 * mark-compacts ~25 % longer, bench/README.md, "Metrics overhead", session 9). Loaded by the
 * HTTP endpoint's worker only (exposition-text.ts), where those megabytes would be the worker's
 * memory for nothing it uses, and where the default set could not be taken whole anyway (half of
 * it would describe the worker's own thread). The classes are the library's own; only the way in
 * differs. prom-client is pinned (package.json), so these paths are fixed for the build.
 */
import { createRequire } from 'node:module';
import type promClient from 'prom-client';

const require = createRequire(import.meta.url);

export const Registry = require('prom-client/lib/registry.js') as typeof promClient.Registry;
export const Counter = require('prom-client/lib/counter.js') as typeof promClient.Counter;
export const Gauge = require('prom-client/lib/gauge.js') as typeof promClient.Gauge;
export const Histogram = require('prom-client/lib/histogram.js') as typeof promClient.Histogram;
export type Registry = promClient.Registry;
export type Counter<L extends string> = promClient.Counter<L>;
export type Gauge<L extends string> = promClient.Gauge<L>;
export type Histogram<L extends string> = promClient.Histogram<L>;

/**
 * prom-client's default collectors (lib/defaultMetrics.js's list) whose figures are the whole
 * process's, the same read from any thread: the endpoint's worker runs them. Each is a
 * `(registry, config) => void` that registers its series. The others describe one thread's event
 * loop or one isolate's heap and GCs, the broker's, and are read on its thread as plain numbers
 * (process.ts); the CPU one is the worker's own (it would load the OpenTelemetry API).
 */
export type DefaultCollector = (registry: Registry, config: object) => void;
export const PROCESS_WIDE_COLLECTORS: readonly DefaultCollector[] = ['processStartTime', 'osMemoryHeap', 'processOpenFileDescriptors', 'processMaxFileDescriptors', 'version'].map(
  (name) => require(`prom-client/lib/metrics/${name}.js`) as DefaultCollector,
);
