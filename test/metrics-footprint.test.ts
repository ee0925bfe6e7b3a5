/**
 * What the metrics endpoint loads into the broker's process (issue 21's overhead limit): prom-client's
 * registry and metric classes and its default collectors but the CPU one, not its index, whose
 * Pushgateway, Summary, cluster aggregator and OpenTelemetry import add 1.4 MB of live heap that every
 * mark-compact of a busy broker walks (src/broker/metrics/prom.ts). And the process series are still
 * exactly prom-client's default set, so dashboards built for prom-client read them as they are.
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

test('a scraped broker has loaded none of prom-client beyond its metric classes and default collectors', async () => {
  const b = await startBroker({ port: 0, logger: createLogger('error', () => {}), httpListener: '127.0.0.1:0' });
  try {
    const s = await scrape(b.httpUrl!);
    served = families(s.text);
    const loaded = Object.keys(require.cache);
    const prom = loaded.filter((f) => f.includes('/node_modules/prom-client/'));
    assert.ok(prom.some((f) => f.endsWith('/prom-client/lib/registry.js')), 'the registry is loaded');
    for (const unwanted of ['/prom-client/index.js', '/prom-client/lib/pushgateway.js', '/prom-client/lib/summary.js', '/prom-client/lib/cluster.js', '/prom-client/lib/metrics/processCpuTotal.js']) {
      assert.ok(!prom.some((f) => f.endsWith(unwanted)), `${unwanted} was loaded`);
    }
    assert.deepEqual(loaded.filter((f) => /\/node_modules\/(@opentelemetry|tdigest|bintrees)\//.test(f)), []);
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
