/**
 * The broker under benchmark, in its own process; reports its port (and, with `--metrics`, the URL of
 * its HTTP endpoint) to the parent over IPC.
 */
import { startBroker } from '../src/broker/index.js';

// `--metrics`: the HTTP endpoint and its Prometheus metrics on (issue 21), for the overhead rows.
const metrics = process.argv.includes('--metrics');
// A benchmark's consumer group has no other member to wait for (as for Kafka in bench/compare.ts):
// without this, a client timed from its subscribe() would carry Kafka's 3 s initial rebalance delay.
const broker = await startBroker({ port: 0, logLevel: 'warn', groupInitialRebalanceDelayMs: 0, ...(metrics ? { httpListener: '127.0.0.1:0' } : {}) });
process.send?.({ port: broker.port, httpUrl: broker.httpUrl });
// The parent asks for this process's CPU time around a workload: under a loaded machine the broker's
// CPU per batch varies far less than the wall-clock throughput.
process.on('message', (m: unknown) => {
  if (m === 'cpu') process.send?.({ cpu: process.cpuUsage() });
});
process.on('SIGTERM', () => {
  void broker.close().then(() => process.exit(0));
});
