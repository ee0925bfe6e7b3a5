/**
 * What the metrics endpoint loads onto the broker's thread (issue 21's overhead limit): none of
 * prom-client, which runs in the exposition worker (src/broker/metrics/exposition.ts): its classes,
 * registry and scrape path are live heap that every mark-compact of a busy broker walks. And the
 * process series are still exactly prom-client's default set, so dashboards built for prom-client
 * read them as they are.
 *
 * Its own file: the second test loads prom-client's index, which the first must not see.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { startBroker } from '../src/broker/index.js';
import { createLogger } from '../src/broker/logger.js';
import { scrape } from './helpers/prometheus.js';

const require = createRequire(import.meta.url);

/** Metric families (`# TYPE` lines) of an exposition. */
function families(text: string): Set<string> {
  return new Set([...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]!));
}

let served: Set<string>;

test("a scraped broker has loaded none of prom-client on its thread", async () => {
  const b = await startBroker({ port: 0, logger: createLogger('error', () => {}), httpListener: '127.0.0.1:0' });
  try {
    const s = await scrape(b.httpUrl!);
    served = families(s.text);
    assert.ok(served.has('rafka_broker_info') && served.has('process_cpu_seconds_total'), 'the scrape was served');
    // require.cache is this thread's (a worker has its own).
    assert.deepEqual(
      Object.keys(require.cache).filter((f) => /\/node_modules\/(prom-client|@opentelemetry|tdigest|bintrees)\//.test(f)),
      [],
    );
  } finally {
    await b.close();
  }
});

test("the process series are exactly prom-client's default set", async () => {
  const promClient = require('prom-client') as typeof import('prom-client');
  const reference = new promClient.Registry();
  promClient.collectDefaultMetrics({ register: reference });
  const expected = families(await reference.metrics());
  assert.ok(expected.size > 20, `prom-client's default set has ${expected.size} families`);
  const missing = [...expected].filter((name) => !served.has(name));
  assert.deepEqual(missing, []);
});
