/**
 * rafka_request_duration_seconds and rafka_hook_call_duration_seconds are counted in plain numbers on
 * the broker's thread (src/broker/metrics/families.ts, HistogramTally) and written out by the
 * HTTP endpoint's worker (src/broker/metrics/exposition-text.ts, SampledHistogram): the exposition must be what
 * prom-client's own Histogram writes for the same observations, bucket by bucket.
 */
import { ApiKey } from '../src/protocol/messages/index.js';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import promClient from 'prom-client';
import { BrokerMetrics } from '../src/broker/metrics/metrics.js';
import { expose } from '../src/broker/metrics/exposition-text.js';
import { parsePrometheusText } from './helpers/prometheus.js';

/** Bounds, values between them, one above the last bound, and a Produce and a Fetch version. */
const OBSERVATIONS: [string, number, number][] = [
  ['Produce', 9, 0.0001],
  ['Produce', 9, 0.00025],
  ['Produce', 9, 0.0003],
  ['Produce', 9, 0],
  ['Produce', 9, 31],
  ['Produce', 9, 2.5],
  ['Produce', 3, 0.004],
  ['Fetch', 12, 0.5],
  ['Fetch', 12, 0.49999],
];

test('request latency histogram: the same series and values as prom-client observe() gives', async () => {
  const metrics = new BrokerMetrics();
  const apiKeys: Record<string, number> = { Produce: ApiKey.Produce, Fetch: ApiKey.Fetch };
  for (const [api, version, seconds] of OBSERVATIONS) metrics.request(apiKeys[api]!, version, null, seconds, false);

  const reference = new promClient.Registry();
  const histogram = new promClient.Histogram({
    name: 'rafka_request_duration_seconds',
    help: 'reference',
    labelNames: ['api', 'version'],
    buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [reference],
  });
  for (const [api, version, seconds] of OBSERVATIONS) histogram.observe({ api, version: String(version) }, seconds);

  const only = (m: Map<string, number>) => new Map([...m].filter(([k]) => k.startsWith('rafka_request_duration_seconds')));
  const ours = only(parsePrometheusText(await expose(metrics.exposed())));
  const theirs = only(parsePrometheusText(await reference.metrics()));
  assert.equal(ours.size, 3 * (17 + 3), 'three API versions, 17 bounds + Inf, sum, count each');
  assert.deepEqual(ours, theirs);
  // A value on a bound counts in that bound's bucket (Prometheus's le).
  assert.equal(ours.get('rafka_request_duration_seconds_bucket{api="Produce",le="0.00025",version="9"}'), 3);
  assert.equal(ours.get('rafka_request_duration_seconds_bucket{api="Produce",le="30",version="9"}'), 5);
  assert.equal(ours.get('rafka_request_duration_seconds_bucket{api="Produce",le="+Inf",version="9"}'), 6);
});

test('hook call histogram: the same series and values as prom-client observe() gives', async () => {
  const metrics = new BrokerMetrics();
  const calls: [string, string, number][] = [
    ['audit', 'beforeProduce', 0.00001],
    ['audit', 'beforeProduce', 0.00002],
    ['audit', 'afterFetch', 0.7],
    ['redact', 'beforeProduce', 6],
  ];
  for (const [hook, stage, seconds] of calls) metrics.hookCall(hook, stage, seconds, 'ok');
  const reference = new promClient.Registry();
  const histogram = new promClient.Histogram({
    name: 'rafka_hook_call_duration_seconds',
    help: 'reference',
    labelNames: ['hook', 'stage'],
    buckets: [0.00001, 0.00005, 0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
    registers: [reference],
  });
  for (const [hook, stage, seconds] of calls) histogram.observe({ hook, stage }, seconds);
  const only = (m: Map<string, number>) => new Map([...m].filter(([k]) => k.startsWith('rafka_hook_call_duration_seconds')));
  const ours = only(parsePrometheusText(await expose(metrics.exposed())));
  assert.equal(ours.size, 3 * (12 + 3), 'three hook and stage pairs, 12 bounds + Inf, sum, count each');
  assert.deepEqual(ours, only(parsePrometheusText(await reference.metrics())));
});
