/**
 * The four prom-client classes the broker uses, loaded from their own modules rather than from the
 * package's index. The index also loads the Summary (tdigest, bintrees), the Pushgateway (node:https,
 * node:url), the cluster aggregator (node:cluster) and every default process collector, one of which
 * loads @opentelemetry/api: about 1.3 MB of live heap kept for the process's life. On the produce path
 * the broker's major GCs come at a pace set by the record bytes it keeps, not by its heap, so every
 * one of them marks that extra heap. (GC marking is most of what metrics cost the produce path under
 * valgrind; this cut is a small part of it: bench/README.md, "Metrics overhead".)
 *
 * prom-client 15 has no `exports` map, so these paths are the package's own files; the version is
 * pinned exactly in package.json, and test/metrics-http.test.ts checks the exposition they produce.
 */
import { createRequire } from 'node:module';
import type promClient from 'prom-client';

const require = createRequire(import.meta.url);

export const Registry: typeof promClient.Registry = require('prom-client/lib/registry');
export const Counter: typeof promClient.Counter = require('prom-client/lib/counter');
export const Gauge: typeof promClient.Gauge = require('prom-client/lib/gauge');
export const Histogram: typeof promClient.Histogram = require('prom-client/lib/histogram');

export type Registry = promClient.Registry;
export type Counter<L extends string> = promClient.Counter<L>;
export type Gauge<L extends string> = promClient.Gauge<L>;
export type Histogram<L extends string> = promClient.Histogram<L>;
