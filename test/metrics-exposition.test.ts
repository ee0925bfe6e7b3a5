/**
 * /metrics is written on the HTTP endpoint's worker thread (src/broker/http/front-worker.ts,
 * src/broker/metrics/exposition-text.ts) from figures the broker's thread hands it: figures it cannot
 * write, or that cannot be copied to it, fail that scrape alone (500, one log line), and the next is
 * served; each endpoint has its worker, so one closing leaves the others serving.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startBroker } from '../src/broker/index.js';
import { HttpEndpoint } from '../src/broker/http/server.js';
import { createLogger } from '../src/broker/logger.js';
import type { MetricFamily } from '../src/broker/metrics/families.js';
import { parsePrometheusText } from './helpers/prometheus.js';

const quiet = () => createLogger('error', () => {});

/** An endpoint whose /metrics serves whatever `next` holds at the time of the request. */
async function endpointServing(errors: string[]) {
  let next: MetricFamily[] = [];
  const endpoint = new HttpEndpoint((m) => errors.push(m)).route('/metrics', (_req, res) => res.sendMetrics(next));
  await endpoint.listen('127.0.0.1:0');
  const scrape = async (families: MetricFamily[]) => {
    next = families;
    const res = await fetch(`${endpoint.url}/metrics`);
    return { status: res.status, contentType: res.headers.get('content-type') ?? '', text: await res.text() };
  };
  return { endpoint, scrape };
}

test('a family the worker cannot write fails that scrape alone', async () => {
  const errors: string[] = [];
  const { endpoint, scrape } = await endpointServing(errors);
  try {
    const twice: MetricFamily[] = [
      { type: 'gauge', name: 'twice', help: 'one', labelNames: [], samples: [{ labels: {}, value: 1 }] },
      { type: 'gauge', name: 'twice', help: 'two', labelNames: [], samples: [{ labels: {}, value: 2 }] },
    ];
    assert.equal((await scrape(twice)).status, 500);
    assert.equal(errors.length, 1);
    assert.match(errors[0]!, /^http GET \/metrics: .*twice/);
    const ok = await scrape([{ type: 'counter', name: 'once_total', help: 'one', labelNames: ['k'], samples: [{ labels: { k: 'v' }, value: 3 }] }]);
    assert.equal(ok.status, 200);
    const values = parsePrometheusText(ok.text);
    assert.equal(values.get('once_total{k="v"}'), 3);
    assert.ok(values.has('process_cpu_seconds_total'), 'with the process-wide series after it');
    assert.match(ok.contentType, /^text\/plain; version=0\.0\.4/);
  } finally {
    await endpoint.close();
  }
});

test('figures that cannot be copied to the worker fail that scrape alone', async () => {
  const errors: string[] = [];
  const { endpoint, scrape } = await endpointServing(errors);
  try {
    const uncopyable = [{ type: 'gauge', name: 'g', help: 'h', labelNames: [], samples: [{ labels: {}, value: 1, fn: () => 1 }] }] as unknown as MetricFamily[];
    assert.equal((await scrape(uncopyable)).status, 500);
    assert.equal(errors.length, 1);
    assert.match(errors[0]!, /could not be cloned/);
    const ok = await scrape([{ type: 'gauge', name: 'after', help: 'h', labelNames: [], samples: [{ labels: {}, value: 2 }] }]);
    assert.equal(parsePrometheusText(ok.text).get('after'), 2);
  } finally {
    await endpoint.close();
  }
});

test('each broker scrapes through its own endpoint; one closing leaves the other serving', async () => {
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
    await a.close();
    const res = await fetch(`${b.httpUrl!}/metrics`);
    assert.equal(res.status, 200);
    assert.ok(parsePrometheusText(await res.text()).has('rafka_broker_ready'));
  } finally {
    await a.close();
    await b.close();
  }
});
