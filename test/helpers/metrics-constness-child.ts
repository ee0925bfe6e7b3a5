/**
 * Run by test/metrics-constness.test.ts in a child process with V8's natives syntax on, in one of
 * two modes (a fresh process each: once V8 has dropped the assumption, nothing deoptimizes again):
 * - `scrape`: optimizes a function that iterates an array, counts and scrapes metrics as a busy
 *   broker would (repeated error codes, hook calls, fsyncs, garbage collections, three scrapes of
 *   the broker's and its thread's series, built and copied as for the HTTP endpoint's worker) and reports whether the function is still optimized;
 * - `control`: the same function, then one write to the `value` of a `{ value, labels }` literal,
 *   and whether that deoptimized it (if not, this V8 no longer ties the two: nothing to check).
 * Prints one JSON line.
 */
import { ApiKey } from '../../src/protocol/messages/index.js';
import { BrokerMetrics } from '../../src/broker/metrics/metrics.js';

const natives = (body: string) => new Function('f', body) as (f: unknown) => number;
const prepare = natives('%PrepareFunctionForOptimization(f)');
const optimizeOnNextCall = natives('%OptimizeFunctionOnNextCall(f)');
const status = natives('return %GetOptimizationStatus(f)');
/** V8's OptimizationStatus::kOptimized. */
const OPTIMIZED = 1 << 4;

function optimized(f: (a: number[]) => number): (a: number[]) => number {
  prepare(f);
  f([1, 2, 3]);
  f([1, 2, 3]);
  optimizeOnNextCall(f);
  f([1, 2, 3]);
  return f;
}
const isOptimized = (f: unknown) => (status(f) & OPTIMIZED) !== 0;
const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});

const sum = optimized((a) => {
  let s = 0;
  for (const x of a) s += x;
  return s;
});
const before = isOptimized(sum);

if (process.argv[2] === 'control') {
  const o = { value: 0, labels: {} };
  o.value += 0.5;
  console.log(JSON.stringify({ before, after: isOptimized(sum), value: o.value }));
  process.exit(0);
}

const metrics = new BrokerMetrics();
for (let i = 0; i < 3; i++) {
  metrics.request(ApiKey.Produce, 9, { responses: [{ partitionResponses: [{ errorCode: 3 }] }] }, 0.0012, false);
  metrics.request(ApiKey.Fetch, 12, null, 0.5, true);
  metrics.hookCall('audit', 'beforeProduce', 0.00031, 'ok');
  metrics.hookCall('audit', 'beforeProduce', 0.2, 'timeout');
  metrics.fsync(0.0007);
  metrics.produced('t', 1000, 10);
  gc();
  // What the broker's thread does at a scrape: the figures built, then copied for the endpoint's worker.
  structuredClone(metrics.exposed());
  gc();
}
console.log(JSON.stringify({ before, after: isOptimized(sum) }));
