/**
 * The exposition worker (src/broker/metrics/exposition.ts), behind BrokerMetrics.text(): one per
 * process; figures it cannot write fail that call alone, and the next is served. The HTTP endpoint
 * writes /metrics on a worker of its own (src/broker/http/front-worker.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startBroker } from '../src/broker/index.js';
import { createLogger } from '../src/broker/logger.js';
import { exposition } from '../src/broker/metrics/exposition.js';
import type { MetricFamily } from '../src/broker/metrics/families.js';
import { parsePrometheusText } from './helpers/prometheus.js';

const quiet = () => createLogger('error', () => {});

test('a family the worker cannot write fails that scrape alone', async () => {
  const twice: MetricFamily[] = [
    { type: 'gauge', name: 'twice', help: 'one', labelNames: [], samples: [{ labels: {}, value: 1 }] },
    { type: 'gauge', name: 'twice', help: 'two', labelNames: [], samples: [{ labels: {}, value: 2 }] },
  ];
  await assert.rejects(exposition.render(twice), /exposition worker: .*twice/);
  const ok = await exposition.render([{ type: 'counter', name: 'once_total', help: 'one', labelNames: ['k'], samples: [{ labels: { k: 'v' }, value: 3 }] }]);
  const values = parsePrometheusText(ok.text);
  assert.equal(values.get('once_total{k="v"}'), 3);
  assert.ok(values.has('process_cpu_seconds_total'), 'with the process-wide series after it');
  assert.match(ok.contentType, /^text\/plain; version=0\.0\.4/);
});

test("the HTTP endpoint writes /metrics on its own worker: scrapes over HTTP never start this one", async () => {
  await exposition.stop();
  const a = await startBroker({ port: 0, logger: quiet(), httpListener: '127.0.0.1:0' });
  const b = await startBroker({ port: 0, logger: quiet(), httpListener: '127.0.0.1:0' });
  try {
    for (const broker of [a, b]) {
      const res = await fetch(`${broker.httpUrl!}/metrics`);
      assert.equal(res.status, 200);
      const text = await res.text();
      assert.match(text, new RegExp(`rafka_broker_info\\{node_id="1",cluster_id="${broker.clusterId}"`));
      assert.ok(parsePrometheusText(text).has('process_cpu_seconds_total'), 'with the process-wide series');
    }
    assert.equal(exposition.running, false);
    // The in-process text is the same exposition, through this worker.
    const text = await a.broker.metrics!.text();
    assert.match(text, new RegExp(`rafka_broker_info\\{node_id="1",cluster_id="${a.clusterId}"`));
    assert.ok(exposition.running);
  } finally {
    await a.close();
    await b.close();
  }
  await exposition.stop();
  assert.equal(exposition.running, false);
});

test('figures that cannot be copied to the worker fail that scrape alone', async () => {
  const uncopyable = [{ type: 'gauge', name: 'g', help: 'h', labelNames: [], samples: [{ labels: {}, value: 1, fn: () => 1 }] }] as unknown as MetricFamily[];
  await assert.rejects(exposition.render(uncopyable), /could not be cloned/);
  const ok = await exposition.render([{ type: 'gauge', name: 'after', help: 'h', labelNames: [], samples: [{ labels: {}, value: 2 }] }]);
  assert.equal(parsePrometheusText(ok.text).get('after'), 2);
  await exposition.stop();
  assert.equal(exposition.running, false);
});
