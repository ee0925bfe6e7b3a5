/**
 * The web console on the broker's HTTP endpoint: the JSON API under /api/ (api.ts) and the page at /
 * (assets.ts), with the throughput sampler behind the overview's sparklines. Imported only when an
 * endpoint starts (extension.ts), so a broker without `http.listener` loads none of it.
 */
import type { Broker } from '../broker/broker.js';
import type { HttpEndpoint } from '../broker/http/server.js';
import type { BrokerMetrics } from '../broker/metrics/metrics.js';
import { configuredAccess } from './access.js';
import { ConsoleApi } from './api.js';
import { ConsoleAssets } from './assets.js';
import { ConsoleClients } from './clients.js';
import { ThroughputSampler } from './throughput.js';

export function mountConsole(endpoint: HttpEndpoint, broker: Broker, metrics: BrokerMetrics): void {
  const clients = new ConsoleClients(broker);
  const throughput = new ThroughputSampler(metrics);
  const api = new ConsoleApi(broker, configuredAccess(broker.config.httpConsoleReadOnly, endpoint.auth), clients, throughput);
  const assets = new ConsoleAssets();
  endpoint.mount('/api/', (req, res) => api.handle(req, res), ConsoleApi.METHODS);
  endpoint.mount('/', (req, res) => assets.serve(req, res));
  throughput.start();
  endpoint.onClose(async () => {
    throughput.stop();
    await clients.close();
  });
}
