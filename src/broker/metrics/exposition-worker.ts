/**
 * The exposition worker: a thread of its own that holds prom-client and writes the figures handed to
 * it (by exposition.ts, for BrokerMetrics.scrape() and text()) in Prometheus's text format
 * (exposition-text.ts). The HTTP endpoint does not use it: its own worker writes /metrics
 * (../http/front-worker.ts).
 *
 * Messages: in `{ id, families }`, out `{ id, text, contentType }` or `{ id, error }`.
 */
import { parentPort } from 'node:worker_threads';
import type { MetricFamily } from './families.js';
import { CONTENT_TYPE, expose } from './exposition-text.js';

const port = parentPort;
if (port !== null) {
  port.on('message', (message: { id: number; families: MetricFamily[] }) => {
    expose(message.families).then(
      (text) => port.postMessage({ id: message.id, text, contentType: CONTENT_TYPE }),
      (err: unknown) => port.postMessage({ id: message.id, error: err instanceof Error ? err.message : String(err) }),
    );
  });
}
